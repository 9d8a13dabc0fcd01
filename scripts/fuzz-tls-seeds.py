#!/usr/bin/python3
"""Seeds for fuzz_tls: the first bytes real clients send (openssl s_client
offering TLS 1.2 only, TLS 1.3, and ALPN), caught on a loopback listener into
the fuzzer's working corpus: no binary file is kept in the repository.
Usage: scripts/fuzz-tls-seeds.py DIR (does nothing if DIR holds seeds)."""
import os
import socket
import subprocess
import sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
if os.path.exists(os.path.join(d, "hello-tls13")):
    sys.exit(0)
for name, args in (("hello-tls12", ["-tls1_2"]), ("hello-tls13", ["-tls1_3"]),
                   ("hello-alpn", ["-alpn", "h2,http/1.1", "-servername", "localhost"])):
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(10)
        port = srv.getsockname()[1]
        client = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
                                  + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        conn, _ = srv.accept()
        conn.settimeout(10)
        data = b""
        # One TLS record: a 5-byte header, then its announced length.
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            part = conn.recv(65536)
            if not part:
                break
            data += part
        conn.close()
        client.kill()
        client.wait()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

#!/usr/bin/python3
"""A real client over TLS for the TLS test: Python's ssl and websockets.

Registers two users over https:// (urllib), logs both in, opens a wss://
session for each, sends a direct message from the first to the second and
waits for its acknowledgement and for the second's "message" event. Prints
"ok SEQ" on success; any failure exits non-zero with the reason on stderr.
Every wait is bounded by TIMEOUT seconds.

Usage: wss_client.py HOST:PORT CA_FILE PREFIX
"""
import asyncio
import json
import ssl
import sys
import urllib.request

import websockets

TIMEOUT = 20


def post(base, ctx, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=TIMEOUT) as r:
        return json.loads(r.read())


def account(base, ctx, name):
    password = "correct horse battery"  # test_tls.c records it for logscan_check
    user = post(base, ctx, "/v1/auth/register", {"username": name, "password": password})
    login = post(base, ctx, "/v1/auth/login",
                 {"username": name, "password": password, "device_name": "wss"})
    return user["user_id"], login["access_token"]


async def next_frame(ws, want):
    """The next frame for which want(frame) holds (others are skipped)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if want(frame):
            return frame


async def exchange(hostport, ctx, a, b):
    url = "wss://%s/v1/ws" % hostport
    async with websockets.connect(url, ssl=ctx, open_timeout=TIMEOUT,
                                  extra_headers={"Authorization": "Bearer " + b[1]}) as wb:
        async with websockets.connect(url, ssl=ctx, open_timeout=TIMEOUT,
                                      extra_headers={"Authorization": "Bearer " + a[1]}) as wa:
            await wa.send(json.dumps({"id": 1, "type": "send", "to": b[0],
                                      "client_msg_id": "tls-1", "text": "over TLS"}))
            ack = await next_frame(wa, lambda f: f.get("id") == 1)
            if not ack.get("ok"):
                raise SystemExit("send refused: %r" % ack)
            ev = await next_frame(wb, lambda f: f.get("event") == "message")
            msg = ev["message"]
            if msg["text"] != "over TLS" or msg["message_id"] != ack["message_id"]:
                raise SystemExit("wrong message: %r (ack %r)" % (ev, ack))
            return ack["seq"]


def main():
    hostport, ca, prefix = sys.argv[1:4]
    ctx = ssl.create_default_context(cafile=ca)
    base = "https://" + hostport
    a = account(base, ctx, prefix + "_a")
    b = account(base, ctx, prefix + "_b")
    seq = asyncio.run(exchange(hostport, ctx, a, b))
    print("ok", seq)


if __name__ == "__main__":
    main()

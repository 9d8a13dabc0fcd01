#!/usr/bin/env bash
# What `make install` installs, checked with the tools an operator's system
# uses (CTest: packaging_install).
#
#   test-install.sh BUILD_DIR
#
# Installs BUILD_DIR into a temporary DESTDIR, then checks:
#   - every file is where the docs say (docs/operations.md, "Installing");
#   - man(1) renders magpie.1 without a warning, and it lists every
#     configuration key `magpie serve --help` lists;
#   - the installed config files are accepted by `magpie serve`, and the
#     example (every key commented out) gives exactly the defaults;
#   - `systemd-analyze verify` accepts the unit without a word;
#   - the installed binary, started with NOTIFY_SOCKET as systemd would,
#     says READY=1 once it listens and STOPPING=1 on SIGTERM, then exits 0.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/magpie-install-test.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
fail() {
    echo "test-install: FAIL: $*" >&2
    exit 1
}

# The install prefix the build was configured with.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[[ -n $prefix ]] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
dest=$tmp/root
DESTDIR=$dest cmake --install "$build" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    fail "cmake --install failed"
}
etc=$prefix/etc
[[ $prefix == /usr ]] && etc=/etc
bin=$dest$prefix/bin/magpie
for f in "$bin" "$dest$prefix/share/man/man1/magpie.1" \
    "$dest$prefix/share/doc/magpie/magpie.conf.example" \
    "$dest$prefix/lib/systemd/system/magpie.service" \
    "$dest$prefix/lib/sysusers.d/magpie.conf" "$dest$etc/magpie/magpie.conf"; do
    [[ -f $f ]] || fail "not installed: ${f#"$dest"}"
done
[[ -x $bin ]] || fail "the binary is not executable"
"$bin" version | grep -q '^magpie ' || fail "the installed binary does not run"

# An operator's edited config survives a reinstall.
echo "; edited" >>"$dest$etc/magpie/magpie.conf"
DESTDIR=$dest cmake --install "$build" >/dev/null 2>&1
tail -n 1 "$dest$etc/magpie/magpie.conf" | grep -qx "; edited" ||
    fail "a reinstall overwrote $etc/magpie/magpie.conf"

# ---- the man page ----
man_out=$tmp/man.txt
MANWIDTH=100 man --warnings=all -l "$dest$prefix/share/man/man1/magpie.1" \
    >"$man_out" 2>"$tmp/man.err" || fail "man could not render magpie.1"
[[ ! -s $tmp/man.err ]] || { cat "$tmp/man.err" >&2; fail "man warns about magpie.1"; }
"$bin" serve --help | sed -n '/^Configuration keys/,$ s/^  --\([a-z_0-9]*\) .*/\1/p' >"$tmp/keys"
[[ $(wc -l <"$tmp/keys") -gt 50 ]] || fail "serve --help lists too few keys"
while read -r key; do
    grep -q -- "--$key VALUE" "$man_out" || fail "the man page does not list --$key"
done <"$tmp/keys"

# ---- the config files ----
"$bin" serve --print-config >"$tmp/defaults"
"$bin" serve --config "$dest$prefix/share/doc/magpie/magpie.conf.example" --print-config \
    >"$tmp/example" || fail "magpie serve refuses magpie.conf.example"
cmp -s "$tmp/defaults" "$tmp/example" || {
    diff "$tmp/defaults" "$tmp/example" >&2 || true
    fail "magpie.conf.example does not give the defaults"
}
"$bin" serve --config "$dest$etc/magpie/magpie.conf" --print-config >"$tmp/etc" ||
    fail "magpie serve refuses the installed magpie.conf"
grep -qx "data = /var/lib/magpie" "$tmp/etc" || fail "the installed magpie.conf does not put data in /var/lib/magpie"

# ---- the systemd unit ----
unit=$dest$prefix/lib/systemd/system/magpie.service
grep -qx "ExecStart=$prefix/bin/magpie serve --config $etc/magpie/magpie.conf" "$unit" ||
    fail "ExecStart does not name the installed binary and config"
# verify checks that ExecStart's binary exists and that the man page of
# Documentation= opens: point both into DESTDIR.
sed "s|^ExecStart=$prefix/bin/magpie|ExecStart=$bin|" "$unit" >"$tmp/magpie.service"
MANPATH=$dest$prefix/share/man SYSTEMD_LOG_LEVEL=notice \
    systemd-analyze verify "$tmp/magpie.service" >"$tmp/verify.out" 2>&1 || {
    cat "$tmp/verify.out" >&2
    fail "systemd-analyze verify refuses the unit"
}
[[ ! -s $tmp/verify.out ]] || { cat "$tmp/verify.out" >&2; fail "systemd-analyze verify warns"; }
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"

# ---- sd_notify, as systemd would see it ----
python3 - "$bin" "$tmp" <<'EOF' || fail "the server's sd_notify messages are wrong"
import os, signal, socket, subprocess, sys, time
binary, tmp = sys.argv[1], sys.argv[2]
path = os.path.join(tmp, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
env = dict(os.environ, NOTIFY_SOCKET=path)
proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data",
                         os.path.join(tmp, "data"), "--log_level", "warn"],
                        env=env, stderr=subprocess.PIPE, text=True)

def wait_for(word, seconds):
    deadline = time.monotonic() + seconds
    got = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(msg)
        if word in msg.split("\n"):
            return msg
    print("no %s within %d s; got %r; exit status %r" % (word, seconds, got, proc.poll()),
          file=sys.stderr)
    proc.kill()
    print(proc.stderr.read()[-4000:], file=sys.stderr)
    sys.exit(1)

ready = wait_for("READY=1", 60)
assert "STATUS=listening on 127.0.0.1:" in ready, ready
proc.send_signal(signal.SIGTERM)
wait_for("STOPPING=1", 30)
try:
    rc = proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    print("the server did not exit within 60 s of SIGTERM", file=sys.stderr)
    sys.exit(1)
if rc != 0:
    print("exit status %d: %s" % (rc, proc.stderr.read()), file=sys.stderr)
    sys.exit(1)
EOF

echo "test-install: ok (prefix $prefix)"

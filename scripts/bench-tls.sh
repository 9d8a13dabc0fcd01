#!/usr/bin/env bash
# `make bench-tls`: what TLS costs. Builds Release and makes a throwaway
# certificate chain (scripts/test-certs.sh), then for a plain server and for
# one with tls_cert, each on a fresh data directory:
#
#   connect   CONNECT_N authenticated WebSockets opened and held: the
#             server's memory per idle connection (ws:// against wss://)
#   direct    `magpie bench direct`, DIRECT_PAIRS pairs as fast as the
#             window allows: messages/s and latency (ws:// against wss://)
#
# and on the TLS server `openssl s_time` for HANDSHAKE_SECONDS each: full
# handshakes a second (TLS 1.3 and 1.2) and resumed ones (TLS 1.2 session
# ids). Results (tables + JSON) go to $OUT; every server is stopped.
set -euo pipefail

BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench-tls-results}
CONNECT_N=${CONNECT_N:-2000}
DIRECT_PAIRS=${DIRECT_PAIRS:-100}
DIRECT_SECONDS=${DIRECT_SECONDS:-10}
DIRECT_WINDOW=${DIRECT_WINDOW:-16}
HANDSHAKE_SECONDS=${HANDSHAKE_SECONDS:-10}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/bench-lib.sh
bench_build
mkdir -p "$OUT"

work=$(mktemp -d /tmp/magpie-bench-tls.XXXXXX)
pid=
trap bench_cleanup EXIT INT TERM
scripts/test-certs.sh "$work/certs" localhost
export SSL_CERT_FILE=$work/certs/ca.pem # the bench's client trusts the test root

summary=$OUT/summary.txt
{
    echo "magpie bench-tls, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(openssl version)"
    echo
} | tee "$summary"

status=0
bench() { # name, url, args...
    local name=$1 url=$2
    shift 2
    echo "\$ magpie bench $* --url $url" | tee -a "$summary"
    if "$bin" bench "$@" --url "$url" --json "$OUT/$name.json" | tee -a "$summary"; then
        :
    else
        echo "bench-tls: $name exited $?" | tee -a "$summary"
        status=1
    fi
    echo | tee -a "$summary"
}

for mode in plain tls; do
    if [[ $mode == tls ]]; then
        start_server tls --tls_cert "$work/certs/chain.pem" --tls_key "$work/certs/key.pem"
        url=https://localhost:$port
    else
        start_server plain
        url=http://127.0.0.1:$port
    fi
    # Handshakes first, on the fresh server: after the message benchmark the
    # server still has work of its own for a while (a WAL checkpoint), which
    # would be counted as the handshakes' CPU.
    if [[ $mode == tls ]]; then
        for args in "-tls1_3 -new" "-tls1_2 -new" "-tls1_2 -reuse"; do
            echo "\$ openssl s_time -connect localhost:$port $args -time $HANDSHAKE_SECONDS" | tee -a "$summary"
            # The server's CPU time around the run: its cost per handshake, which
            # s_time's own figures (one connection at a time, client CPU) do not say.
            cpu0=$(server_cpu_ticks)
            # shellcheck disable=SC2086
            openssl s_time -connect "localhost:$port" -CAfile "$work/certs/ca.pem" $args \
                -time "$HANDSHAKE_SECONDS" >"$work/s_time.out" 2>&1 || status=1
            cpu1=$(server_cpu_ticks)
            grep -E "connections in" "$work/s_time.out" | tee -a "$summary"
            n=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' "$work/s_time.out")
            awk -v n="${n:-0}" -v t="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
                if (n > 0) printf "server CPU: %.3f ms per connection (%.0f a second per core)\n",
                    t * 1000 / hz / n, (t > 0 ? n * hz / t : 0) }' | tee -a "$summary"
            echo | tee -a "$summary"
        done
    fi
    bench "$mode-connect" "$url" connect --setup --users-prefix c_ --connections "$CONNECT_N" \
        --duration 3 --server-pid "$pid"
    bench "$mode-direct" "$url" direct --setup --users-prefix d_ --pairs "$DIRECT_PAIRS" \
        --duration "$DIRECT_SECONDS" --window "$DIRECT_WINDOW"
    stop_server
done
echo "bench-tls: results in $OUT (summary.txt and one JSON per run)" >&2
exit $status

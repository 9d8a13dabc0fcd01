#!/usr/bin/env bash
# The standard benchmark suite behind `make bench`: builds Release, starts a
# fresh server on a free port with a temporary data dir, runs each scenario of
# `magpie bench`, writes the results (tables + JSON) to $OUT, then stops the
# server by pid and removes the data dir. Sizes are variables: the full
# targets (19,000 connections, 2 processes) are too much for a quick run.
set -euo pipefail

BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench-results}
CONNECT_N=${CONNECT_N:-2000}          # connect: connections (target: 19000)
CONNECT_PROCS=${CONNECT_PROCS:-1}     # connect: client processes (19000 needs 2)
CONNECT_SOURCES=${CONNECT_SOURCES:-}  # e.g. 127.0.0.2-127.0.0.20 for many connections
CONNECT_RAMP=${CONNECT_RAMP:-2000}    # connect: new connections per second
DIRECT_PAIRS=${DIRECT_PAIRS:-20}      # direct: user pairs
DIRECT_SECONDS=${DIRECT_SECONDS:-5}   # direct: measured seconds
DIRECT_WINDOW=${DIRECT_WINDOW:-16}    # direct: sends in flight per connection
DIRECT_RATE=${DIRECT_RATE:-}          # direct at a fixed rate; empty: half the measured max
HISTORY_PAIRS=${HISTORY_PAIRS:-10}    # history, sync: pairs (both users read)
HISTORY_SECONDS=${HISTORY_SECONDS:-3}
BENCH_PROCS=${BENCH_PROCS:-1}         # client processes for direct/history/sync
GROUP_MEMBERS=${GROUP_MEMBERS:-200}   # group: members (target: 10000, registration ~90 ms each)
GROUP_ONLINE=${GROUP_ONLINE:-}        # group: members online besides the sender (empty: all)
GROUP_RATE=${GROUP_RATE:-10}          # group: messages per second
GROUP_SECONDS=${GROUP_SECONDS:-5}
DATABASE_URL=${DATABASE_URL:-}        # a PostgreSQL database to run on (empty: SQLite in the data dir)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "bench: building Release into $BUILD" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target magpie >/dev/null
bin=$BUILD/magpie
mkdir -p "$OUT"

data=$(mktemp -d /tmp/magpie-bench-data.XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT INT TERM

# Limits per user and per IP are for people, not for a load generator: the
# connect scenario opens thousands of connections from one address and
# hundreds of WebSockets per user (loopback is not exempt from the caps), and
# its setup registers every user from 127.0.0.1.
db_flags=()
[[ -n $DATABASE_URL ]] && db_flags=(--database postgres --database_url "$DATABASE_URL")
t0=$(date +%s%N)
"$bin" serve --listen 127.0.0.1:0 --data "$data" --log_level warn "${db_flags[@]}" \
    --send_rate 1000000 --send_burst 1000000 --login_rate 1000000 --register_rate 1000000 \
    --max_connections 0 --max_connections_per_ip 0 --max_ws_per_user 0 --max_ws_per_device 0 \
    2>"$data/server.log" &
pid=$!
port=
for _ in $(seq 1000); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/server.log" | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$data/server.log" >&2; echo "bench: server died" >&2; exit 1; }
    sleep 0.01
done
t1=$(date +%s%N)
[[ -n $port ]] || { echo "bench: server did not start" >&2; exit 1; }
url=http://127.0.0.1:$port
idle_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
summary=$OUT/summary.txt
{
    echo "magpie bench suite, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "kernel: $(uname -r); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "database: $([[ -n $DATABASE_URL ]] && echo PostgreSQL || echo SQLite)"
    echo "server: $url pid $pid; start to listening: $(( (t1 - t0) / 1000000 )) ms" \
         "(polled every 10 ms); idle RSS: ${idle_kb} KiB"
    echo
} | tee "$summary"

status=0
run() { # name, args...
    local name=$1; shift
    echo "\$ magpie bench $*" | tee -a "$summary"
    if "$bin" bench "$@" --url "$url" --json "$OUT/$name.json" | tee -a "$summary"; then
        :
    else
        local rc=$?
        echo "bench: $name exited $rc" | tee -a "$summary"
        status=1
    fi
    echo | tee -a "$summary"
}

src=()
[[ -n $CONNECT_SOURCES ]] && src=(--source-ips "$CONNECT_SOURCES")
run connect connect --setup --users-prefix c_ --connections "$CONNECT_N" \
    --procs "$CONNECT_PROCS" --ramp "$CONNECT_RAMP" --duration 3 --server-pid "$pid" "${src[@]}"
run direct-max direct --setup --users-prefix d_ --pairs "$DIRECT_PAIRS" \
    --duration "$DIRECT_SECONDS" --window "$DIRECT_WINDOW" --procs "$BENCH_PROCS"
if [[ -z $DIRECT_RATE ]]; then
    max=$(sed -n 's/.*"delivered": \([0-9.]*\).*/\1/p' "$OUT/direct-max.json" | tail -1)
    DIRECT_RATE=$(awk -v m="${max:-0}" 'BEGIN { r = int(m / 2); print (r < 100 ? 100 : r) }')
fi
run direct-rate direct --users-prefix d_ --pairs "$DIRECT_PAIRS" --duration "$DIRECT_SECONDS" \
    --rate "$DIRECT_RATE" --window 64 --procs "$BENCH_PROCS"
run history history --setup --users-prefix h_ --pairs "$HISTORY_PAIRS" \
    --duration "$HISTORY_SECONDS" --procs "$BENCH_PROCS"
run sync sync --setup --users-prefix y_ --pairs "$HISTORY_PAIRS" --seed 500 --limit 200 \
    --duration "$HISTORY_SECONDS" --procs "$BENCH_PROCS"
online=()
[[ -n $GROUP_ONLINE ]] && online=(--online "$GROUP_ONLINE")
run group group --setup --users-prefix g_ --members "$GROUP_MEMBERS" "${online[@]}" \
    --rate "$GROUP_RATE" --duration "$GROUP_SECONDS" --procs 2

echo "bench: results in $OUT (summary.txt and one JSON per scenario)" >&2
exit $status

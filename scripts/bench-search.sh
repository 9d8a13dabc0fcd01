#!/usr/bin/env bash
# The search benchmark behind `make bench-search`: what full-text search
# costs (docs/performance.md "Search"). Builds Release, then against fresh
# servers on free loopback ports with temporary data dirs:
#   1. search_index = on: `magpie bench search` seeds one conversation of
#      $SEED messages and $CONVS conversations of $PER_CONV, then times each
#      query; the database size is read after the server stopped;
#   2. the same with search_index = off (scan path, and the size without the
#      index);
#   3. the durable send rate (`magpie bench direct`) with the index on and
#      off, $RATE_RUNS runs each, alternating.
# Every server is stopped by pid; the data dirs are removed.
set -euo pipefail

BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench-search}
SEED=${SEED:-1000000}      # messages in the big conversation
CONVS=${CONVS:-1000}       # other conversations
PER_CONV=${PER_CONV:-1000} # messages in each
QUERIES=${QUERIES:-200}    # runs of each query
WINDOW=${WINDOW:-256}      # sends in flight while seeding
RATE_PAIRS=${RATE_PAIRS:-20}
RATE_SECONDS=${RATE_SECONDS:-5}
RATE_RUNS=${RATE_RUNS:-3}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "bench-search: building Release into $BUILD" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target magpie >/dev/null
bin=$BUILD/magpie
mkdir -p "$OUT"
summary=$OUT/summary.txt

data=
pid=
stop() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    if [[ -n $pid ]]; then wait "$pid" 2>/dev/null || true; fi
    pid=
}
cleanup() {
    stop
    if [[ -n $data ]]; then rm -rf "$data"; fi
}
trap cleanup EXIT INT TERM

start() { # search_index
    data=$(mktemp -d /tmp/magpie-bench-search.XXXXXX)
    "$bin" serve --listen 127.0.0.1:0 --data "$data" --log_level warn --search_index "$1" \
        --send_rate 1000000 --send_burst 1000000 --login_rate 1000000 --register_rate 1000000 \
        --max_connections_per_ip 0 --max_ws_per_user 0 --max_ws_per_device 0 2>"$data/server.log" &
    pid=$!
    port=
    for _ in $(seq 1000); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/server.log" | head -1)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$data/server.log" >&2; exit 1; }
        sleep 0.01
    done
    [[ -n $port ]] || { echo "bench-search: server did not start" >&2; exit 1; }
    url=http://127.0.0.1:$port
}

finish() { # label: stops the server, records the files' sizes, removes the data
    stop
    local bytes index
    bytes=$(du -cb "$data"/magpie.db* | tail -1 | cut -f1)
    # The index's own file (search.db, with its WAL when one is left).
    index=$(du -cb "$data"/search.db* | tail -1 | cut -f1)
    echo "$1: database $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }')," \
        "search index $(awk -v b="$index" 'BEGIN { printf "%.1f MiB", b / 1048576 }')" \
        | tee -a "$summary"
    rm -rf "$data"
    data=
}

{
    echo "magpie search benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg);" \
         "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
} | tee "$summary"

for idx in on off; do
    start "$idx"
    echo "\$ magpie bench search --seed $SEED --convs $CONVS --per-conv $PER_CONV" \
         "--queries $QUERIES --window $WINDOW   (search_index = $idx)" | tee -a "$summary"
    "$bin" bench search --url "$url" --setup --users-prefix s_ --seed "$SEED" --convs "$CONVS" \
        --per-conv "$PER_CONV" --queries "$QUERIES" --window "$WINDOW" --server-pid "$pid" \
        --no-progress \
        | tee -a "$summary"
    finish "search_index = $idx"
    echo | tee -a "$summary"
done

for run in $(seq "$RATE_RUNS"); do
    for idx in on off; do
        start "$idx"
        rate=$("$bin" bench direct --url "$url" --setup --users-prefix d_ --pairs "$RATE_PAIRS" \
            --duration "$RATE_SECONDS" --no-progress --json "$OUT/direct-$idx-$run.json" \
            >/dev/null && sed -n 's/.*"delivered": \([0-9.]*\).*/\1/p' \
            "$OUT/direct-$idx-$run.json" | tail -1)
        echo "durable sends, search_index = $idx, run $run: $rate delivered/s" | tee -a "$summary"
        finish "  after the run"
    done
done
echo "bench-search: results in $summary" >&2

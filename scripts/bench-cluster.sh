#!/usr/bin/env bash
# `make bench-cluster`: what a cluster costs per message. Builds Release,
# starts a throwaway cluster (scripts/cluster.sh: PostgreSQL, nats-server,
# NODES nodes, haproxy) on free ports, and runs `magpie bench direct`:
#
#   one-node     every WebSocket on node 1: PostgreSQL, no delivery crosses
#                NATS (the other nodes idle)
#   cross-node   the WebSockets spread over the nodes in turn, so the two
#                users of every pair sit on different nodes: every delivery
#                crosses NATS
#   via-haproxy  every WebSocket through the load balancer (where a person
#                connects): pairs land where haproxy puts them
#
# each as fast as the window allows, then one-node and cross-node again at a
# fixed rate (half of one-node's maximum) for the latency at a steady load.
# Results (tables + JSON) go to $OUT; the cluster is stopped at the end.
set -euo pipefail

BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench-cluster-results}
NODES=${NODES:-3}
PAIRS=${PAIRS:-20}       # user pairs
SECONDS_=${SECONDS_:-5}  # measured seconds per run
WINDOW=${WINDOW:-16}     # sends in flight per connection
RATE=${RATE:-}           # the fixed rate; empty: half of one-node's maximum

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "bench-cluster: building Release into $BUILD" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target magpie >/dev/null
bin=$BUILD/magpie
mkdir -p "$OUT"

work=$(mktemp -d /tmp/magpie-bench-cluster.XXXXXX)
ready=$work/ready
cluster_pid=
cleanup() {
    if [[ -n $cluster_pid ]] && kill -0 "$cluster_pid" 2>/dev/null; then
        kill -TERM "$cluster_pid" 2>/dev/null || true
        for _ in $(seq 600); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$cluster_pid" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Limits per user and per IP are for people, not for a load generator (as in
# scripts/bench.sh).
PORT=0 NODES=$NODES BIN=$bin READY_FILE=$ready \
    EXTRA_FLAGS="--log_level warn --send_rate 1000000 --send_burst 1000000 --login_rate 1000000 --register_rate 1000000 --max_connections 0 --max_connections_per_ip 0 --max_ws_per_user 0 --max_ws_per_device 0" \
    scripts/cluster.sh >"$work/cluster.out" 2>&1 &
cluster_pid=$!
for _ in $(seq 1200); do
    [[ -f $ready ]] && break
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/cluster.out" >&2; echo "bench-cluster: the cluster did not start" >&2; exit 1; }
    sleep 0.1
done
[[ -f $ready ]] || { cat "$work/cluster.out" >&2; echo "bench-cluster: the cluster was not ready within 120 s" >&2; exit 1; }
get() { sed -n "s/^$1=//p" "$ready"; }
lb=$(get url)
nodes=()
for ((i = 1; i <= NODES; i++)); do nodes+=("$(get "node${i}_url")"); done
all=$(IFS=,; echo "${nodes[*]}")

summary=$OUT/summary.txt
{
    echo "magpie bench-cluster, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $NODES nodes on PostgreSQL 15 + nats-server, haproxy at $lb"
    echo
} | tee "$summary"

status=0
run() { # name, url, args...
    local name=$1 url=$2
    shift 2
    echo "\$ magpie bench direct --url $url $*" | tee -a "$summary"
    if "$bin" bench direct --url "$url" "$@" --json "$OUT/$name.json" | tee -a "$summary"; then
        :
    else
        echo "bench-cluster: $name exited $?" | tee -a "$summary"
        status=1
    fi
    echo | tee -a "$summary"
}

common=(--pairs "$PAIRS" --duration "$SECONDS_")
run one-node "${nodes[0]}" --setup --users-prefix o_ "${common[@]}" --window "$WINDOW"
run cross-node "$all" --setup --users-prefix x_ "${common[@]}" --window "$WINDOW"
run via-haproxy "$lb" --setup --users-prefix h_ "${common[@]}" --window "$WINDOW"
if [[ -z $RATE ]]; then
    max=$(sed -n 's/.*"delivered": \([0-9.]*\).*/\1/p' "$OUT/one-node.json" | tail -1)
    RATE=$(awk -v m="${max:-0}" 'BEGIN { r = int(m / 2); print (r < 50 ? 50 : r) }')
fi
run one-node-rate "${nodes[0]}" --users-prefix o_ "${common[@]}" --rate "$RATE" --window 64
run cross-node-rate "$all" --users-prefix x_ "${common[@]}" --rate "$RATE" --window 64

echo "bench-cluster: results in $OUT (summary.txt and one JSON per run)" >&2
exit $status

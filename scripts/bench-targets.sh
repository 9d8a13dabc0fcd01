#!/usr/bin/env bash
# `make bench-targets`: the workloads of the second performance pass
# (docs/performance.md, "Targets of the second pass"), each against its
# target, on one fresh Release server (limits lifted, SQLite):
#
#   direct-100    100 pairs, window 16, as fast as possible, DIRECT_SECONDS
#   direct-1000   1,000 pairs, window 4
#   direct-half   100 pairs at half of direct-100's rate (window 64)
#   connect       CONNECT_N idle authenticated WebSockets: server RSS per one
#   group         one group of GROUP_MEMBERS, all online: send -> last device
#   direct-mixed  direct-100 again while other clients page history, search,
#                 upload files and send to the big group (below); its rate as
#                 a share of direct-100's
#
# Users are made once per workload with --setup --accounts, so the measured
# runs log in by refresh token (no argon2id in the figures). The server's CPU
# time is read from /proc around each measured direct run and divided by the
# messages delivered. The search indexer runs behind the sends at a lower
# priority, so most of its work for a run comes after it: after each direct
# run the script waits until the indexer is idle and reports the CPU per
# message again with that catch-up included (and every run starts with the
# index caught up). Results
# (tables + JSON) go to $OUT; the server is stopped and its data removed.
set -euo pipefail
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench-targets-results}
DIRECT_SECONDS=${DIRECT_SECONDS:-20}
CONNECT_N=${CONNECT_N:-2000}
GROUP_MEMBERS=${GROUP_MEMBERS:-1000} # the target is at 10,000 (~16 min to register)
GROUP_SECONDS=${GROUP_SECONDS:-10}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/bench-lib.sh
bench_build
mkdir -p "$OUT"
work=$(mktemp -d /tmp/magpie-bench-targets.XXXXXX)
pid=
trap bench_cleanup EXIT INT TERM
start_server targets
url=http://127.0.0.1:$port
hz=$(getconf CLK_TCK)

summary=$OUT/summary.txt
table=$work/table
{
    echo "magpie bench-targets, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
} | tee "$summary"

# field FILE AWK-PATTERN COLUMN: one column of the first matching line.
field() { awk -v c="$3" "$2 { print \$c; exit }" "$1"; }

status=0
# measure NAME args...: one `magpie bench` run; its output in $work/NAME.out
# and the server's CPU ticks spent during it in cpu_ticks.
measure() {
    local name=$1
    shift
    echo "\$ magpie bench $*" | tee -a "$summary"
    local c0 t0
    c0=$(server_cpu_ticks)
    server_thread_ticks >"$work/$name.threads0"
    t0=$(date +%s.%N)
    if ! "$bin" bench "$@" --no-progress --url "$url" --json "$OUT/$name.json" \
        >"$work/$name.out" 2>&1; then
        echo "bench-targets: $name failed" | tee -a "$summary"
        status=1
    fi
    cpu_ticks=$(($(server_cpu_ticks) - c0))
    server_thread_ticks >"$work/$name.threads1"
    local secs
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    tee -a "$summary" <"$work/$name.out"
    echo "  server CPU by thread (share of one core over the run, set-up included):" \
        "$(thread_cpu_share "$work/$name.threads0" "$work/$name.threads1" "$secs")" |
        tee -a "$summary"
    echo | tee -a "$summary"
}

# direct NAME args...: a measured direct run; appends its table rows.
direct() {
    local name=$1
    shift
    measure "$name" direct "$@"
    local o=$work/$name.out
    local n rate p50 p99
    n=$(field "$o" '/^  delivered/' 2)
    rate=$(field "$o" '/^  delivered/' 3)
    p50=$(field "$o" '/^  send->delivery/' 3)
    p99=$(field "$o" '/^  send->delivery/' 5)
    local us all c1 t1 catchup=
    us=$(awk -v t="$cpu_ticks" -v n="${n:-0}" -v hz="$hz" \
        'BEGIN { printf("%.1f", (n > 0 ? t * 1e6 / hz / n : 0)) }')
    if [[ $name != direct-mixed ]]; then # during the mixed run other clients still send
        c1=$(server_cpu_ticks)
        t1=$(date +%s)
        wait_index_idle
        all=$(awk -v t="$((cpu_ticks + $(server_cpu_ticks) - c1))" -v n="${n:-0}" -v hz="$hz" \
            'BEGIN { printf("%.1f", (n > 0 ? t * 1e6 / hz / n : 0)) }')
        echo "  the search index caught up $(($(date +%s) - t1)) s after the run:" \
            "server CPU $all µs per message with it" | tee -a "$summary"
        catchup=" ($all with the index's catch-up)"
    fi
    echo "$name|$rate delivered, p50 $p50 ms, p99 $p99 ms, server CPU $us µs/msg$catchup" >>"$table"
    last_rate=${rate%/s}
}

direct_setup() { # prefix pairs accounts
    "$bin" bench direct --no-progress --setup --users-prefix "$1" --pairs "$2" --duration 1 \
        --accounts "$3" --url "$url" >/dev/null 2>&1 ||
        { echo "bench-targets: setup of $2 pairs failed" >&2; exit 1; }
}

# First, on the fresh server: after the message runs its RSS moves by
# megabytes on its own (the writer's page cache, the WAL index).
measure connect connect --setup --users-prefix c_ --connections "$CONNECT_N" --duration 3 \
    --server-pid "$pid"
echo "connect|$(field "$work/connect.out" '/server RSS per conn/' 5) B per idle WebSocket ($CONNECT_N held)" >>"$table"

direct_setup p_ 100 "$work/acc100"
direct direct-100 --users-prefix p_ --pairs 100 --window 16 --duration "$DIRECT_SECONDS" \
    --accounts "$work/acc100"
half=$(awk -v r="${last_rate:-0}" 'BEGIN { h = int(r / 2); print (h < 100 ? 100 : h) }')
direct direct-half --users-prefix p_ --pairs 100 --window 64 --rate "$half" \
    --duration "$DIRECT_SECONDS" --accounts "$work/acc100"
direct_setup k_ 1000 "$work/acc1000"
direct direct-1000 --users-prefix k_ --pairs 1000 --window 4 --duration "$DIRECT_SECONDS" \
    --accounts "$work/acc1000"

measure group group --setup --users-prefix g_ --members "$GROUP_MEMBERS" --rate 10 \
    --duration "$GROUP_SECONDS" --procs 2 --accounts "$work/accg"
echo "group|send -> last device p50 $(field "$work/group.out" '/send->last device/' 4) ms, p99 $(field "$work/group.out" '/send->last device/' 6) ms ($GROUP_MEMBERS members, all online)" >>"$table"

# ---- mixed load -----------------------------------------------------------------
# While direct-mixed runs, in the background: 10 pairs paging history (50
# per page, MIX_READS/s), the big group at MIX_GROUP_RATE messages/s, a
# search client (it seeds its conversations, then queries them), and a
# client uploading 1 MiB files one after another. The direct run starts once
# the history and group clients report progress; the search client's
# seeding (~3,000 sends, a fraction of a second) comes before that. The
# search client queries until it is stopped after the direct run, so it
# reports no figures; the others' results are in $OUT/mix-*.
MIX_READS=${MIX_READS:-500}
MIX_GROUP_RATE=${MIX_GROUP_RATE:-5}
mix_seconds=$((DIRECT_SECONDS + 30))
"$bin" bench history --no-progress --setup --users-prefix h_ --pairs 10 --seed 1 --duration 1 \
    --accounts "$work/acch" --url "$url" >/dev/null 2>&1 ||
    { echo "bench-targets: setup of the history users failed" >&2; exit 1; }
token=$(register_token "$url" mixup bench-password-1)
[[ -n $token ]] || { echo "bench-targets: login of the upload user failed" >&2; exit 1; }
head -c 1048576 /dev/urandom >"$work/upload.bin"

mix_pids=()
"$bin" bench search --users-prefix s_ --setup --seed 2000 --convs 10 --per-conv 100 \
    --queries 1000000 --url "$url" >"$OUT/mix-search.txt" 2>&1 &
mix_pids+=($!)
"$bin" bench history --users-prefix h_ --pairs 10 --seed 50 --limit 50 --rate "$MIX_READS" \
    --window 4 --duration "$mix_seconds" --accounts "$work/acch" --url "$url" \
    >"$OUT/mix-history.txt" 2>"$work/mix-history.err" &
mix_pids+=($!)
"$bin" bench group --users-prefix g_ --members "$GROUP_MEMBERS" --rate "$MIX_GROUP_RATE" \
    --duration "$mix_seconds" --procs 2 --accounts "$work/accg" --url "$url" \
    >"$OUT/mix-group.txt" 2>"$work/mix-group.err" &
mix_pids+=($!)
(
    n=0
    while [[ ! -e $work/mix-stop ]]; do
        curl -sS -o /dev/null -X POST -T "$work/upload.bin" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/octet-stream' "$url/v1/files?name=mix.bin" && n=$((n + 1))
    done
    echo "uploads of 1 MiB completed: $n" >"$OUT/mix-uploads.txt"
) &
mix_pids+=($!)
# Wait (at most 5 minutes) until history reads and group deliveries flow:
# their progress lines count them.
flowing() { grep -qE "reads [1-9]" "$work/mix-history.err" 2>/dev/null &&
    grep -qE "delivered [1-9]" "$work/mix-group.err" 2>/dev/null; }
for _ in $(seq 3000); do flowing && break; sleep 0.1; done
if flowing; then
    direct direct-mixed --users-prefix p_ --pairs 100 --window 16 --duration "$DIRECT_SECONDS" \
        --accounts "$work/acc100"
else
    echo "bench-targets: the mixed load did not start" | tee -a "$summary"
    status=1
fi
touch "$work/mix-stop"
# The history and group clients end by themselves; the search client may
# still be querying: it is stopped.
kill "${mix_pids[0]}" 2>/dev/null || true
for p in "${mix_pids[@]}"; do wait "$p" 2>/dev/null || true; done
alone=$(awk -F'|' '$1 == "direct-100" { split($2, a, " "); print a[1] + 0 }' "$table")
mixed=$(awk -F'|' '$1 == "direct-mixed" { split($2, a, " "); print a[1] + 0 }' "$table")
share=$(awk -v a="${alone:-0}" -v m="${mixed:-0}" 'BEGIN { printf("%.0f", (a > 0 ? 100 * m / a : 0)) }')
sed -i "s/^direct-mixed|\(.*\)/direct-mixed|\1; $share % of direct-100's rate/" "$table"
{
    echo "mixed load, alongside direct-mixed:"
    echo "  history: $(grep -m1 '^  history read ' "$OUT/mix-history.txt" || echo 'no result')"
    echo "  group:   $(grep -m1 'send->last device' "$OUT/mix-group.txt" || echo 'no result')"
    echo "  uploads: $(cat "$OUT/mix-uploads.txt" 2>/dev/null || echo 'no result')"
    echo "  search:  queried throughout, stopped after the direct run"
    echo
} | tee -a "$summary"

{
    echo "workload | measured | target"
    echo "---|---|---"
    while IFS='|' read -r name got; do
        case $name in
        direct-100) goal="≥ 150,000/s; p99 ≤ 15 ms; ≤ 8 µs/msg" ;;
        direct-half) goal="p99 ≤ 5 ms (at $half/s)" ;;
        direct-1000) goal="≥ 120,000/s" ;;
        connect) goal="≤ 512 B" ;;
        group) goal="≤ 50 ms at 10,000 members" ;;
        direct-mixed) goal="≥ 80 % of direct-100's rate" ;;
        *) goal="" ;;
        esac
        echo "$name | $got | $goal"
    done <"$table"
} | tee -a "$summary"
echo "bench-targets: results in $OUT (summary.txt and one JSON per run)" >&2
exit $status

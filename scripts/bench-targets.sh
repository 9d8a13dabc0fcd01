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
# The upload limits are lifted too: at the defaults (30 uploads a minute, 1
# GiB kept per user) the mixed load's uploads would be refused with 429 and
# 413, and the load would be the refusals, not the files.
start_server targets --upload_rate 1000000 --upload_burst 1000000 --upload_quota 0
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
# While direct-mixed runs, in the background, each at a fixed rate so that
# the load has the same size however fast the server answers it: 10 pairs
# paging history (50 per page, MIX_READS/s), the big group at MIX_GROUP_RATE
# messages/s, a search client (it seeds its conversations, then runs
# MIX_SEARCHES queries a second, one in flight) and one `curl` uploading
# MIX_UPLOADS files of 1 MiB a second over one connection. The direct run
# starts once the history and group clients report progress; the search
# client's seeding (~3,000 sends, a fraction of a second) comes before that.
# The search client and `curl` run until they are stopped after the direct
# run; what the server answered during it is read from its /metrics before
# and after. The others' results are in $OUT/mix-*.
MIX_READS=${MIX_READS:-500}
MIX_GROUP_RATE=${MIX_GROUP_RATE:-5}
MIX_SEARCHES=${MIX_SEARCHES:-200}
MIX_UPLOADS=${MIX_UPLOADS:-20}
mix_seconds=$((DIRECT_SECONDS + 30))
"$bin" bench history --no-progress --setup --users-prefix h_ --pairs 10 --seed 1 --duration 1 \
    --accounts "$work/acch" --url "$url" >/dev/null 2>&1 ||
    { echo "bench-targets: setup of the history users failed" >&2; exit 1; }
token=$(register_token "$url" mixup bench-password-1)
[[ -n $token ]] || { echo "bench-targets: login of the upload user failed" >&2; exit 1; }
head -c 1048576 /dev/urandom >"$work/upload.bin"

mix_pids=()
"$bin" bench search --users-prefix s_ --setup --seed 2000 --convs 10 --per-conv 100 \
    --queries 1000000 --rate "$MIX_SEARCHES" --url "$url" >"$OUT/mix-search.txt" 2>&1 &
search_pid=$!
"$bin" bench history --users-prefix h_ --pairs 10 --seed 50 --limit 50 --rate "$MIX_READS" \
    --window 4 --duration "$mix_seconds" --accounts "$work/acch" --url "$url" \
    >"$OUT/mix-history.txt" 2>"$work/mix-history.err" &
mix_pids+=($!)
"$bin" bench group --users-prefix g_ --members "$GROUP_MEMBERS" --rate "$MIX_GROUP_RATE" \
    --duration "$mix_seconds" --procs 2 --accounts "$work/accg" --url "$url" \
    >"$OUT/mix-group.txt" 2>"$work/mix-group.err" &
mix_pids+=($!)
# One process, one connection, a new upload every 1/MIX_UPLOADS s (the
# glob only makes the URLs many); each status code on a line of its own.
curl -sS --rate "$MIX_UPLOADS/s" -X POST -T "$work/upload.bin" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
    -w '%{stderr}%{http_code}\n' "$url/v1/files?name=mix.bin&n=[1-1000000]" \
    >/dev/null 2>"$work/mix-uploads.codes" &
upload_pid=$!
# Wait (at most 5 minutes) until history reads and group deliveries flow:
# their progress lines count them.
flowing() { grep -qE "reads [1-9]" "$work/mix-history.err" 2>/dev/null &&
    grep -qE "delivered [1-9]" "$work/mix-group.err" 2>/dev/null; }
for _ in $(seq 3000); do flowing && break; sleep 0.1; done
if flowing; then
    curl -sS "$url/metrics" >"$work/mix-metrics.0"
    mix_t0=$(date +%s.%N)
    direct direct-mixed --users-prefix p_ --pairs 100 --window 16 --duration "$DIRECT_SECONDS" \
        --accounts "$work/acc100"
    mix_t1=$(date +%s.%N)
    curl -sS "$url/metrics" >"$work/mix-metrics.1"
else
    echo "bench-targets: the mixed load did not start" | tee -a "$summary"
    status=1
fi
# The history and group clients end by themselves; the search client and
# the uploads are stopped.
kill "$search_pid" "$upload_pid" 2>/dev/null || true
for p in "${mix_pids[@]}" "$search_pid" "$upload_pid"; do wait "$p" 2>/dev/null || true; done
# mix_counts: searches, history pages and uploads per second the server
# answered during direct-mixed (its /metrics counters before and after).
mix_counts() {
    [[ -s $work/mix-metrics.0 && -s $work/mix-metrics.1 ]] || { echo "no /metrics"; return; }
    awk -v s="$(awk -v a="$mix_t0" -v b="$mix_t1" 'BEGIN { print b - a }')" '
        FNR == 1 { f++ }
        /^magpie_ws_requests_total\{type="search"\}/ { k = "searches" }
        /^magpie_ws_requests_total\{type="history"\}/ { k = "history pages" }
        /^magpie_http_requests_total\{route="\/v1\/files",status="201"\}/ { k = "uploads stored" }
        /^magpie_http_requests_total\{route="\/v1\/files",status="4/ { k = "uploads refused" }
        k != "" { v[k, f] += $2; keys[k] = 1; k = "" }
        END {
            n = split("searches,history pages,uploads stored,uploads refused", o, ",")
            for (i = 1; i <= n; i++)
                if (o[i] in keys)
                    printf("%s%s %.0f/s", m++ ? ", " : "", o[i], (v[o[i], 2] - v[o[i], 1]) / s)
        }' "$work/mix-metrics.0" "$work/mix-metrics.1"
}
alone=$(awk -F'|' '$1 == "direct-100" { split($2, a, " "); print a[1] + 0 }' "$table")
mixed=$(awk -F'|' '$1 == "direct-mixed" { split($2, a, " "); print a[1] + 0 }' "$table")
share=$(awk -v a="${alone:-0}" -v m="${mixed:-0}" 'BEGIN { printf("%.0f", (a > 0 ? 100 * m / a : 0)) }')
sed -i "s/^direct-mixed|\(.*\)/direct-mixed|\1; $share % of direct-100's rate/" "$table"
{
    echo "mixed load, alongside direct-mixed:"
    echo "  history: $(grep -m1 '^  history read ' "$OUT/mix-history.txt" || echo 'no result')"
    echo "  group:   $(grep -m1 'send->last device' "$OUT/mix-group.txt" || echo 'no result')"
    echo "  during direct-mixed, as the server counted them: $(mix_counts)"
    echo "  uploads, all of the load: $(sort "$work/mix-uploads.codes" | uniq -c |
        awk '{ printf("%s%s x %s", n++ ? ", " : "", $1, $2) }') (HTTP status)"
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

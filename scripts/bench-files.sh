#!/usr/bin/env bash
# The file benchmark behind `make bench-files` (docs/performance.md "Files"):
# upload and download throughput and the server's memory while it moves
# large files. Builds Release, then against a fresh server on a free loopback
# port with a temporary data dir:
#   1. one plain upload of $BIG_MIB MiB (random bytes, so no media
#      processing), with the server's RSS sampled every 20 ms;
#   2. one download of that file;
#   3. $PAR parallel downloads of a $PAR_MIB MiB file, RSS sampled again.
# Throughputs are curl's own (bytes over the transfer's wall time). The
# server is stopped by pid; the data dir and the generated files are removed.
set -euo pipefail

BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench-files}
BIG_MIB=${BIG_MIB:-1024}
PAR=${PAR:-100}
PAR_MIB=${PAR_MIB:-32}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/bench-lib.sh
echo "bench-files: building Release into $BUILD" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target magpie >/dev/null
bin=$BUILD/magpie
mkdir -p "$OUT"
summary=$OUT/summary.txt

data=$(mktemp -d /tmp/magpie-bench-files.XXXXXX)
pid=
sampler=
stop() {
    if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=; fi
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
    rm -rf "$data"
}
trap cleanup EXIT INT TERM

"$bin" serve --listen 127.0.0.1:0 --data "$data/db" --log_level warn --max_upload 8g \
    --upload_quota 0 --upload_rate 1000000 --upload_burst 1000000 --register_rate 1000000 \
    --login_rate 1000000 --max_connections_per_ip 0 2>"$data/server.log" &
pid=$!
port=
for _ in $(seq 1000); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/server.log" | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$data/server.log" >&2; exit 1; }
    sleep 0.01
done
[[ -n $port ]] || { echo "bench-files: server did not start" >&2; exit 1; }
url=http://127.0.0.1:$port

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status"; }
# Samples the server's RSS into $1 until killed.
sample() { while :; do rss_kib >>"$1"; sleep 0.02; done; }
peak() { sort -n "$1" | tail -1; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
rate() { awk -v b="$1" 'BEGIN { printf "%.0f MB/s", b / 1e6 }'; }

token=$(register_token "$url" bench bench-password)
[[ -n $token ]] || { echo "bench-files: login failed" >&2; exit 1; }
auth="Authorization: Bearer $token"

upload() { # FILE NAME -> prints "file_id speed_bytes_per_s"
    curl -sS -X POST -T "$1" -H "$auth" -H 'Content-Type: application/octet-stream' \
        -o "$data/upload.json" -w '%{speed_upload}' "$url/v1/files?name=$2" >"$data/speed"
    local id
    id=$(sed -n 's/.*"file_id":"\([0-9]*\)".*/\1/p' "$data/upload.json")
    [[ -n $id ]] || { cat "$data/upload.json" >&2; exit 1; }
    echo "$id $(cat "$data/speed")"
}

{
    echo "magpie file benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg);" \
         "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
} | tee "$summary"

head -c "$((BIG_MIB * 1048576))" /dev/urandom >"$data/big.bin"
base=$(rss_kib)
: >"$data/rss-up"
sample "$data/rss-up" & sampler=$!
read -r big_id up_speed < <(upload "$data/big.bin" big.bin)
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=
echo "upload of $BIG_MIB MiB: $(rate "$up_speed"); server RSS $(mib "$base") before," \
     "peak $(mib "$(peak "$data/rss-up")") during" | tee -a "$summary"

down_speed=$(curl -sS -H "$auth" -o "$data/big.out" -w '%{speed_download}' "$url/v1/files/$big_id")
cmp -s "$data/big.bin" "$data/big.out" || { echo "bench-files: download differs" >&2; exit 1; }
echo "download of $BIG_MIB MiB: $(rate "$down_speed")" | tee -a "$summary"
rm -f "$data/big.bin" "$data/big.out"

head -c "$((PAR_MIB * 1048576))" /dev/urandom >"$data/par.bin"
read -r par_id _ < <(upload "$data/par.bin" par.bin)
base=$(rss_kib)
: >"$data/rss-down"
sample "$data/rss-down" & sampler=$!
start_ns=$(date +%s%N)
pids=()
for _ in $(seq "$PAR"); do
    curl -sS -H "$auth" -o /dev/null "$url/v1/files/$par_id" &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[[ $failed -eq 0 ]] || { echo "bench-files: $failed downloads failed" >&2; exit 1; }
end_ns=$(date +%s%N)
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=
total=$((PAR * PAR_MIB * 1048576))
secs=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
echo "$PAR parallel downloads of $PAR_MIB MiB: $secs s, $(rate "$(awk -v t="$total" -v s="$secs" 'BEGIN { print t / s }')") in all;" \
     "server RSS $(mib "$base") before, peak $(mib "$(peak "$data/rss-down")") during" | tee -a "$summary"
echo "bench-files: results in $summary" >&2

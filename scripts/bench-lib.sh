# Shared by the benchmark scripts (sourced, not run): a Release build, a
# server with the per-person limits lifted on a free loopback port, its CPU
# time, and its stop by pid. The caller sets BUILD and `work` (a scratch
# directory it owns) and calls bench_cleanup from its EXIT trap.

# bench_build: configures and builds the magpie binary (Release) into
# $BUILD; sets bin.
bench_build() {
    echo "$(basename "$0"): building Release into $BUILD" >&2
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" --target magpie >/dev/null
    bin=$BUILD/magpie
}

# start_server NAME [flags...]: a server on a free port with its data in
# $work/NAME; sets pid and port. Limits per user and per IP are for people,
# not for a load generator: thousands of connections and registrations come
# from one address.
start_server() {
    local name=$1
    shift
    mkdir -p "$work/$name"
    "$bin" serve --listen 127.0.0.1:0 --data "$work/$name" --log_level warn \
        --send_rate 1000000 --send_burst 1000000 --login_rate 1000000 --register_rate 1000000 \
        --max_connections 0 --max_connections_per_ip 0 --max_ws_per_user 0 \
        --max_ws_per_device 0 "$@" 2>"$work/$name/server.log" &
    pid=$!
    port=
    for _ in $(seq 1000); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name/server.log" | head -1)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$work/$name/server.log" >&2; exit 1; }
        sleep 0.01
    done
    [[ -n $port ]] || { echo "$(basename "$0"): server did not start" >&2; exit 1; }
}

# stop_server: SIGTERM, then SIGKILL after 10 s; waits for the pid.
stop_server() {
    if [[ -n ${pid:-} ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=
}

bench_cleanup() {
    stop_server
    rm -rf "$work"
}

# utime + stime of the server, in clock ticks.
server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }

# server_thread_ticks: "NAME TICKS" per thread of the server, summed by name
# (the threads name themselves: mp-writer, mp-checkpoint, mp-indexer, mp-reader, mp-pool,
# mp-bus; the main thread, the event loop, is "loop").
server_thread_ticks() {
    local t tid
    for t in /proc/"$pid"/task/*; do
        tid=${t##*/}
        # comm may hold spaces: the fields after the ")" are the stat's own.
        { [ "$tid" = "$pid" ] && echo loop || cat "$t/comm"; } 2>/dev/null | tr -d '\n'
        echo " $(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
    done | awk 'NF == 2 { s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort
}

# indexer_ticks: CPU ticks of the search indexer's thread (mp-indexer), 0
# when there is none.
indexer_ticks() {
    server_thread_ticks | awk '$1 == "mp-indexer" { n = $2 } END { print n + 0 }'
}

# wait_index_idle: returns once the indexer has used no CPU for two seconds
# in a row (it has caught up with what was sent), or after 10 minutes.
wait_index_idle() {
    local prev=-1 cur i
    cur=$(indexer_ticks)
    for i in $(seq 300); do
        [[ $cur == "$prev" ]] && return 0
        prev=$cur
        sleep 2
        cur=$(indexer_ticks)
    done
    echo "$(basename "$0"): the search index did not catch up within 10 minutes" >&2
}

# thread_cpu_share BEFORE AFTER SECONDS: "loop 32 %, mp-writer 93 %, ..." from
# two server_thread_ticks snapshots: each name's CPU as a share of one core.
thread_cpu_share() {
    awk -v secs="$3" -v hz="$(getconf CLK_TCK)" '
        FNR == NR { b[$1] = $2; next }
        { d = $2 - b[$1]; if (d > 0) out = out sep $1 " " int(d * 100 / hz / secs + 0.5) " %"; sep = ", " }
        END { print out }' "$1" "$2"
}

# register_token URL USER PASSWORD: registers USER over HTTP and prints an
# access token for it (empty when the login fails). One argon2id hash each.
register_token() {
    local body
    body=$(printf '{"username":"%s","password":"%s"}' "$2" "$3")
    curl -sS -o /dev/null -H 'Content-Type: application/json' -d "$body" "$1/v1/auth/register"
    curl -sS -H 'Content-Type: application/json' -d "$body" "$1/v1/auth/login" |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

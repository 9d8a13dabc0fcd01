#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the end-to-end tests (the CTest
# fixture `pg`, see docs/testing.md).
#
#   pg-test-server.sh start DIR   initdb into DIR, start on 127.0.0.1:<free port>
#                                 and a unix socket, wait until it accepts
#                                 connections; writes DIR/url (libpq URL of the
#                                 `postgres` database) and DIR/pid
#   pg-test-server.sh restart DIR fast shutdown by pid, then start postgres
#                                 again on the same port and data directory,
#                                 wait until it accepts connections; updates
#                                 DIR/pid (a test that restarts its database)
#   pg-test-server.sh stop DIR    fast shutdown by pid (then SIGKILL), remove DIR
#                                 (the server's log is kept as DIR.log)
#
# initdb and postgres refuse to run as root: as root (CI, `make test`) they run
# as `nobody`. A failed start stops what it started and leaves no process.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
START_TIMEOUT_S=${PG_TEST_START_TIMEOUT:-60}
STOP_TIMEOUT_S=${PG_TEST_STOP_TIMEOUT:-30}
# Below Linux's ephemeral range (32768-60999): the servers the tests start on
# port 0 and every client socket take their ports there, never here.
PORT_LO=${PG_TEST_PORT_LO:-20000}
PORT_HI=${PG_TEST_PORT_HI:-32767}
PORT_TRIES=20
MARKER=.magpie-pg-test

die() {
    echo "pg-test-server: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|restart|stop DIR" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
[[ -n $dir ]] || usage
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac

# Who runs initdb and postgres, and how.
as_user=()
run_uid=$(id -u)
run_gid=$(id -g)
if [[ $run_uid -eq 0 ]]; then
    run_uid=$(id -u nobody) || die "running as root and there is no user 'nobody' to run postgres as"
    run_gid=$(id -g nobody)
    # setpriv execs (no extra process), so $! below is the postmaster's pid.
    as_user=(setpriv --reuid="$run_uid" --regid="$run_gid" --clear-groups)
fi
run() { "${as_user[@]}" env -i PATH=/usr/bin:/bin LC_ALL=C "$@"; }

# Is pid a live postmaster (a reused pid is not ours; a zombie waiting for
# its parent to reap it has exited)?
is_postmaster() {
    local pid=$1 comm stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]] || return 1
    [[ $comm == postgres || $comm == postmaster ]]
}

# Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit), a
# bounded wait, then SIGKILL to the postmaster's children (each backend is in
# a session of its own, so not a process group) and to the postmaster.
stop_pid() {
    local pid=$1 i
    is_postmaster "$pid" || return 0
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
        is_postmaster "$pid" || return 0
        sleep 0.1
    done
    echo "pg-test-server: postgres $pid did not stop within ${STOP_TIMEOUT_S} s; killing it" >&2
    kill -STOP "$pid" 2>/dev/null || true # no new children meanwhile
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        is_postmaster "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# Removes DIR, and the cluster directory when it lives outside it; only what
# this script made (the marker file says so).
remove_dir() {
    local d=$1 cl
    [[ -d $d ]] || return 0
    [[ -e $d/$MARKER ]] || die "$d was not made by this script; not removing it"
    cl=$(cat "$d/cluster_dir" 2>/dev/null || true)
    if [[ -n $cl && $cl != "$d"/* && -e $cl/$MARKER ]]; then
        rm -rf -- "$cl"
    fi
    rm -rf -- "$d"
}

do_stop() {
    [[ -d $dir ]] || return 0
    local pid cl
    pid=$(cat "$dir/pid" 2>/dev/null || true)
    if [[ -n $pid ]] && ! stop_pid "$pid"; then
        die "postgres $pid is still running; $dir kept"
    fi
    # The server's log outlives the cluster, for a look after failed tests.
    cl=$(cat "$dir/cluster_dir" 2>/dev/null || true)
    if [[ -n $cl && -f $cl/postgres.log ]]; then
        cp "$cl/postgres.log" "$dir.log" || true
    fi
    remove_dir "$dir"
}

# ---- start ----

pid=
cluster=
started_ok=0
on_exit() {
    [[ $started_ok -eq 1 ]] && return
    if [[ -n $pid ]]; then
        stop_pid "$pid" || true
    fi
    if [[ -n $cluster && -f $cluster/postgres.log ]]; then
        echo "pg-test-server: start failed; the end of postgres.log:" >&2
        tail -n 30 "$cluster/postgres.log" >&2 || true
    fi
    remove_dir "$dir" 2>/dev/null || true
}

# Can the runner user create files in d (every parent traversable)?
usable_by_runner() {
    run test -w "$1" -a -x "$1" 2>/dev/null
}

# Starts postgres on $cluster/data and port $1 and waits until it accepts
# connections: returns 0 with $pid set, or 1 (pid empty) when it exited.
launch_on() {
    local port=$1 i
    # Its own session (setsid execs: same pid) so that nothing here or in
    # CTest signals it by process group. No inherited stdout/stderr: CTest
    # waits for those to close.
    (cd "$cluster" && exec setsid "${as_user[@]}" env -i PATH=/usr/bin:/bin LC_ALL=C \
        "$PG_BIN/postgres" -D "$cluster/data" -p "$port" -k "$cluster" \
        </dev/null >>"$cluster/postgres.log" 2>&1) &
    pid=$!
    for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if pg_isready -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 1; then
            return 0
        fi
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        die "postgres did not accept connections within ${START_TIMEOUT_S} s"
    fi
    wait "$pid" 2>/dev/null || true
    pid=
    return 1
}

# Checks that postmaster.pid names the process we started.
check_pidfile() {
    local pm
    pm=$(head -n 1 "$cluster/data/postmaster.pid" 2>/dev/null || true)
    [[ $pm == "$pid" ]] || die "postmaster.pid says '$pm', started $pid"
}

do_start() {
    [[ -x $PG_BIN/initdb && -x $PG_BIN/postgres ]] ||
        die "no PostgreSQL 15 in $PG_BIN (Debian: apt-get install postgresql-15)"
    command -v pg_isready >/dev/null || die "pg_isready not found (Debian: postgresql-client-15)"
    # A cluster left behind by an interrupted run (its stop never ran).
    do_stop
    trap on_exit EXIT
    mkdir -p "$dir"
    touch "$dir/$MARKER"

    # The cluster goes into DIR/cluster when the runner user can use it and
    # the socket path fits in sun_path (107 bytes); otherwise into /tmp.
    cluster=$dir/cluster
    mkdir -p "$cluster"
    chown "$run_uid:$run_gid" "$cluster"
    if ! usable_by_runner "$cluster" || ((${#cluster} + 16 > 100)); then
        rm -rf -- "$cluster"
        cluster=$(mktemp -d /tmp/magpie-pg-XXXXXX)
        chown "$run_uid:$run_gid" "$cluster"
        usable_by_runner "$cluster" || die "uid $run_uid cannot write to $cluster"
        echo "pg-test-server: cluster in $cluster ($dir/cluster is not usable by uid $run_uid or too long)" >&2
    fi
    touch "$cluster/$MARKER"
    echo "$cluster" >"$dir/cluster_dir"

    # --no-sync: only initdb's own files go unsynced (a throwaway cluster that
    # a machine crash would lose anyway); the server below keeps fsync on.
    if ! (cd "$cluster" && run "$PG_BIN/initdb" -D "$cluster/data" -U postgres -A trust \
        -E UTF8 --locale=C --no-sync --no-instructions) >"$cluster/initdb.log" 2>&1; then
        cat "$cluster/initdb.log" >&2
        die "initdb failed"
    fi
    # Settings for tests. Durability as in production: an acked message must
    # survive kill -9 in the tests too. Two tests in parallel, each with a few
    # servers of ~4 connections, plus restarts (old backends linger a moment).
    cat >>"$cluster/data/postgresql.conf" <<'EOF'

# ---- magpie e2e tests (scripts/pg-test-server.sh) ----
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 64MB
fsync = on
synchronous_commit = on
full_page_writes = on
log_min_messages = warning
log_connections = off
log_disconnections = off
EOF

    local port tries
    for ((tries = 1; tries <= PORT_TRIES; tries++)); do
        port=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
        # Skip ports someone listens on; a race with another taker is caught
        # below when postgres cannot bind, and we try another.
        if [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then
            continue
        fi
        : >"$cluster/postgres.log"
        chown "$run_uid:$run_gid" "$cluster/postgres.log"
        launch_on "$port" && break
        if grep -q "Address already in use" "$cluster/postgres.log"; then
            echo "pg-test-server: port $port taken, trying another" >&2
            continue
        fi
        die "postgres exited at start"
    done
    [[ -n $pid ]] || die "no free port after $PORT_TRIES tries"
    check_pidfile

    echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/url.tmp"
    mv "$dir/url.tmp" "$dir/url"
    echo "$pid" >"$dir/pid"
    started_ok=1
    echo "pg-test-server: PostgreSQL $pid on 127.0.0.1:$port and $cluster/.s.PGSQL.$port ($dir/url)"
}

# ---- restart ----

# The same cluster on the same port: what a database restart looks like to
# the clients (their connections drop; new ones succeed on the same URL).
do_restart() {
    [[ -e $dir/$MARKER ]] || die "$dir was not made by this script"
    local old port url
    old=$(cat "$dir/pid" 2>/dev/null || true)
    cluster=$(cat "$dir/cluster_dir" 2>/dev/null || true)
    url=$(cat "$dir/url" 2>/dev/null || true)
    [[ -n $cluster && -d $cluster/data ]] || die "$dir has no cluster"
    port=${url##*:}
    port=${port%%/*}
    [[ $port =~ ^[0-9]+$ ]] || die "no port in $dir/url ('$url')"
    stop_pid "$old" || die "postgres $old did not stop"
    trap 'if [[ $started_ok -ne 1 && -n $pid ]]; then stop_pid "$pid" || true; fi' EXIT
    launch_on "$port" || die "postgres exited at restart (see $cluster/postgres.log)"
    check_pidfile
    echo "$pid" >"$dir/pid.tmp"
    mv "$dir/pid.tmp" "$dir/pid"
    started_ok=1
    echo "pg-test-server: PostgreSQL restarted as $pid on 127.0.0.1:$port"
}

case $cmd in
start) do_start ;;
restart) do_restart ;;
stop) do_stop ;;
*) usage ;;
esac

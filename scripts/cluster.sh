#!/usr/bin/env bash
# A throwaway Magpie cluster on this machine (`make cluster`, docs/cluster.md):
# PostgreSQL 15 (scripts/pg-test-server.sh), a nats-server, NODES `magpie
# serve` nodes on one database and one token-signing secret, and haproxy in
# front of them (TCP, health checks on /readyz). Everything listens on
# 127.0.0.1 and lives in one temporary directory; Ctrl-C (or SIGTERM) stops
# every process by pid and removes the directory.
#
#   scripts/cluster.sh [--ready-file FILE]
#
# Environment:
#   BIN          the magpie binary (default build/magpie)
#   NODES        how many nodes (default 3)
#   PORT         haproxy's port (default 8080); the nodes take PORT+1..PORT+NODES.
#                PORT=0: free ports for all of them
#   NATS_PORT    nats-server's port (default: a free one)
#   EXTRA_FLAGS  more flags for every `magpie serve` (split on spaces)
#   READY_FILE   same as --ready-file: once everything is up, FILE gets
#                key=value lines (url, node<i>_url, node<i>_pid, haproxy_pid,
#                nats_pid, nats_url, pg_pid, database_url, dir, logs)
#   KEEP=1       keep the temporary directory (data, logs; PostgreSQL's as pg.log)
#   START_TIMEOUT  seconds each step may take to get ready (default 60)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/build/magpie}
NODES=${NODES:-3}
PORT=${PORT:-8080}
NATS_PORT=${NATS_PORT:-}
EXTRA_FLAGS=${EXTRA_FLAGS:-}
READY_FILE=${READY_FILE:-}
KEEP=${KEEP:-0}
START_TIMEOUT=${START_TIMEOUT:-60}
STOP_TIMEOUT=15 # seconds a node or haproxy gets to stop before SIGKILL
# Where free ports are looked for when PORT=0 (haproxy only: the nodes and
# nats-server pick their own): below Linux's ephemeral range, where client
# sockets never take them.
PORT_LO=20000
PORT_HI=32767

say() { echo "cluster: $*" >&2; }
die() {
    say "$*"
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

while [[ $# -gt 0 ]]; do
    case $1 in
    --ready-file)
        [[ $# -ge 2 ]] || usage
        READY_FILE=$2
        shift 2
        ;;
    -h | --help) usage 0 ;;
    *) usage ;;
    esac
done

[[ $NODES =~ ^[1-9][0-9]?$ ]] || die "NODES must be 1..99, not '$NODES'"
if ! [[ $PORT =~ ^(0|[1-9][0-9]*)$ ]] || ((PORT != 0 && PORT + NODES > 65535)); then
    die "PORT must be 0 or a port with room for $NODES nodes above it, not '$PORT'"
fi
[[ -z $NATS_PORT || $NATS_PORT =~ ^[1-9][0-9]*$ ]] || die "NATS_PORT must be a port, not '$NATS_PORT'"
[[ -x $BIN ]] || die "no magpie binary at $BIN (make build, or set BIN)"
command -v nats-server >/dev/null || die "nats-server not found (Debian: apt-get install nats-server)"
command -v haproxy >/dev/null || die "haproxy not found (Debian: apt-get install haproxy)"
command -v curl >/dev/null || die "curl not found (Debian: apt-get install curl)"
read -ra extra <<<"$EXTRA_FLAGS"
if [[ -n $READY_FILE ]]; then
    case $READY_FILE in /*) ;; *) READY_FILE=$PWD/$READY_FILE ;; esac
    rm -f -- "$READY_FILE"
fi

is_listened() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
if ((PORT != 0)); then
    for ((p = PORT; p <= PORT + NODES; p++)); do
        ! is_listened "$p" || die "port $p is taken (choose another PORT, or PORT=0 for free ports)"
    done
fi

# ---- stopping ----------------------------------------------------------------

dir=
haproxy_pid=
nats_pid=
node_pid=()
pg_started=0
tick=

# Is pid still running (not a zombie)? Every process started here is
# disowned as soon as it starts: bash still reaps it, but prints no
# "Killed" line when someone kills a node by hand.
alive() {
    local pid=$1 stat
    [[ -n $pid ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# SIGTERM to each pid, a bounded wait for all of them, then SIGKILL.
stop_pids() {
    local pid i left
    for pid in "$@"; do
        if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        left=0
        for pid in "$@"; do
            alive "$pid" && left=1
        done
        ((left)) || break
        sleep 0.1
    done
    for pid in "$@"; do
        if alive "$pid"; then
            say "pid $pid did not stop within ${STOP_TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for ((i = 0; i < 50; i++)); do
        left=0
        for pid in "$@"; do
            alive "$pid" && left=1
        done
        ((left)) || return 0
        sleep 0.1
    done
    say "still running after SIGKILL: $*"
    return 1
}

cleanup() {
    local rc=$?
    trap '' INT TERM HUP
    [[ -n $READY_FILE ]] && rm -f -- "$READY_FILE"
    if [[ -n $tick ]]; then
        disown "$tick" 2>/dev/null || true
        kill "$tick" 2>/dev/null || true
    fi
    [[ -n $dir ]] || exit "$rc"
    say "stopping"
    # The balancer first (no new connections), then the nodes (each says
    # goodbye on NATS and closes its sessions), then what they depend on.
    local all=1
    if [[ -n $haproxy_pid ]]; then stop_pids "$haproxy_pid" || all=0; fi
    if ((${#node_pid[@]})); then stop_pids "${node_pid[@]}" || all=0; fi
    if [[ -n $nats_pid ]]; then stop_pids "$nats_pid" || all=0; fi
    if ((pg_started)); then
        "$root/scripts/pg-test-server.sh" stop "$dir/pg" >/dev/null || all=0
    fi
    if ((!all)); then
        rc=1
        say "something did not stop; kept $dir"
    elif [[ $KEEP == 1 ]]; then
        say "kept $dir (logs in $dir/logs)"
    else
        rm -rf -- "$dir"
    fi
    say "stopped"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# What went wrong at start: the end of a log.
show_log() {
    say "the end of $1:"
    tail -n 20 "$1" >&2 || true
}

# ---- starting ------------------------------------------------------------------

dir=$(mktemp -d "${TMPDIR:-/tmp}/magpie-cluster.XXXXXX")
# Traversable (not listable) by others: as root, PostgreSQL runs as nobody
# and keeps its cluster under $dir/pg.
chmod 711 "$dir"
mkdir -p "$dir/logs" "$dir/files"
logs=$dir/logs
t_start=$(date +%s%N)

say "starting PostgreSQL"
pg_started=1
"$root/scripts/pg-test-server.sh" start "$dir/pg" >"$logs/pg-start.log" 2>&1 ||
    { show_log "$logs/pg-start.log"; die "PostgreSQL did not start"; }
database_url=$(cat "$dir/pg/url")
pg_pid=$(cat "$dir/pg/pid")

say "starting nats-server"
# Its own session (setsid execs: same pid), like every process started here:
# Ctrl-C reaches this script alone, which stops them in order.
setsid nats-server -a 127.0.0.1 -p "${NATS_PORT:--1}" </dev/null >"$logs/nats.log" 2>&1 &
nats_pid=$!
disown "$nats_pid"
nats_url=
for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if grep -q 'Server is ready' "$logs/nats.log"; then
        nats_url=nats://$(sed -n 's/.*Listening for client connections on \([0-9.:]*\).*/\1/p' "$logs/nats.log" | head -n 1)
        break
    fi
    alive "$nats_pid" || break
    sleep 0.1
done
[[ $nats_url == nats://127.0.0.1:* ]] || { show_log "$logs/nats.log"; die "nats-server did not get ready"; }

# One token-signing secret for every node (the format the server creates:
# 32 random bytes, mode 0600), in place before they start: a token one node
# signs is good on all of them.
(umask 077 && head -c 32 /dev/urandom >"$dir/jwt.secret")
say "starting $NODES nodes"
for ((i = 1; i <= NODES; i++)); do
    mkdir -m 700 "$dir/node$i"
    cp -p "$dir/jwt.secret" "$dir/node$i/jwt.secret"
    listen=127.0.0.1:$((PORT == 0 ? 0 : PORT + i))
    # The nodes start together; the migration's advisory lock lets one of
    # them create the tables while the others wait.
    setsid "$BIN" serve --listen "$listen" --data "$dir/node$i" --node_id "$i" \
        --database postgres --database_url "$database_url" \
        --bus nats --nats_url "$nats_url" --files_dir "$dir/files" "${extra[@]}" \
        </dev/null >"$logs/node$i.log" 2>&1 &
    node_pid[i]=$!
    disown "${node_pid[i]}"
done
node_url=()
for ((i = 1; i <= NODES; i++)); do
    port=
    for ((t = 0; t < START_TIMEOUT * 10; t++)); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$logs/node$i.log" | head -n 1)
        [[ -n $port ]] && break
        alive "${node_pid[i]}" || break
        sleep 0.1
    done
    [[ -n $port ]] || { show_log "$logs/node$i.log"; die "node $i did not start"; }
    node_url[i]=http://127.0.0.1:$port
done
# Ready = its store answers (what haproxy checks too).
wait_ready() {
    local url=$1 pid=$2 t
    for ((t = 0; t < START_TIMEOUT * 10; t++)); do
        curl -fs -o /dev/null --max-time 2 "$url/readyz" && return 0
        [[ -z $pid ]] || alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}
for ((i = 1; i <= NODES; i++)); do
    wait_ready "${node_url[i]}" "${node_pid[i]}" ||
        { show_log "$logs/node$i.log"; die "node $i (${node_url[i]}) did not get ready"; }
done

# haproxy in TCP mode: HTTP and WebSocket pass through as they are. A node
# that fails two health checks (1 s apart) gets no new connections; one
# success brings it back.
write_haproxy_cfg() {
    local port=$1 i
    {
        cat <<EOF
global
    log stderr format raw local0 notice

defaults
    mode tcp
    log global
    option dontlognull
    # a connection refused by a node that is down but not yet marked so
    # is tried again on another one
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    # an idle WebSocket (the clients ping every 30 s or so) stays open
    timeout tunnel 1h

frontend magpie
    bind 127.0.0.1:$port
    default_backend nodes

backend nodes
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host 127.0.0.1 hdr Connection close
    http-check expect status 200
    default-server check inter 1s fall 2 rise 1
EOF
        for ((i = 1; i <= NODES; i++)); do
            echo "    server node$i ${node_url[i]#http://}"
        done
    } >"$dir/haproxy.cfg"
}
say "starting haproxy"
lb_port=
for ((tries = 0; tries < 20; tries++)); do
    if ((PORT != 0)); then
        p=$PORT
    else
        p=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
        is_listened "$p" && continue
    fi
    write_haproxy_cfg "$p"
    haproxy -c -q -f "$dir/haproxy.cfg" >"$logs/haproxy.log" 2>&1 ||
        { show_log "$logs/haproxy.log"; die "haproxy refused its configuration ($dir/haproxy.cfg)"; }
    # -db: in the foreground, not daemonised, so that its pid is ours to stop.
    setsid haproxy -db -f "$dir/haproxy.cfg" </dev/null >>"$logs/haproxy.log" 2>&1 &
    haproxy_pid=$!
    disown "$haproxy_pid"
    for ((t = 0; t < START_TIMEOUT * 10; t++)); do
        is_listened "$p" && alive "$haproxy_pid" && { lb_port=$p; break; }
        alive "$haproxy_pid" || break
        sleep 0.1
    done
    [[ -n $lb_port ]] && break
    if alive "$haproxy_pid" || ((PORT != 0)) || ! grep -q 'cannot bind' "$logs/haproxy.log"; then
        show_log "$logs/haproxy.log"
        die "haproxy did not start"
    fi
    haproxy_pid= # lost a race for port $p: another one
done
[[ -n $lb_port ]] || die "haproxy found no free port"
url=http://127.0.0.1:$lb_port
wait_ready "$url" "$haproxy_pid" || { show_log "$logs/haproxy.log"; die "$url/readyz does not answer 200"; }
t_ready=$(date +%s%N)

# ---- running -------------------------------------------------------------------

if [[ -n $READY_FILE ]]; then
    {
        echo "url=$url"
        for ((i = 1; i <= NODES; i++)); do
            echo "node${i}_url=${node_url[i]}"
            echo "node${i}_pid=${node_pid[i]}"
        done
        echo "haproxy_pid=$haproxy_pid"
        echo "nats_pid=$nats_pid"
        echo "nats_url=$nats_url"
        echo "pg_pid=$pg_pid"
        echo "database_url=$database_url"
        echo "dir=$dir"
        echo "logs=$logs"
    } >"$READY_FILE.tmp"
    mv -- "$READY_FILE.tmp" "$READY_FILE"
fi

{
    echo
    echo "Magpie cluster ready in $(((t_ready - t_start) / 1000000)) ms:"
    echo "  $url/   web client and API, through haproxy to $NODES nodes"
    echo "          magpie register --url $url alice; magpie chat --url $url"
    for ((i = 1; i <= NODES; i++)); do
        echo "  node $i:   ${node_url[i]}  pid ${node_pid[i]}"
    done
    echo "  haproxy:  pid $haproxy_pid, config $dir/haproxy.cfg"
    echo "  NATS:     $nats_url  pid $nats_pid"
    echo "  database: $database_url  pid $pg_pid"
    echo "  data:     $dir"
    echo "  logs:     $logs/ (node<i>.log, nats.log, haproxy.log)"
    echo "Ctrl-C stops everything and removes $dir$([[ $KEEP == 1 ]] && echo ' (KEEP=1: kept)')."
    echo
} >&2

# Waits for a signal (`wait` returns at once then, and the trap runs); says
# when a process exits on its own (a node killed by hand: haproxy takes it
# out within about 2 s).
gone=()
while :; do
    sleep 1 >/dev/null 2>&1 &
    tick=$!
    wait "$tick" || true
    tick=
    for ((i = 1; i <= NODES; i++)); do
        if [[ -z ${gone[i]:-} ]] && ! alive "${node_pid[i]}"; then
            gone[i]=1
            say "node $i (pid ${node_pid[i]}) exited; see $logs/node$i.log"
        fi
    done
    alive "$haproxy_pid" || { show_log "$logs/haproxy.log"; die "haproxy exited"; }
    alive "$nats_pid" || { show_log "$logs/nats.log"; die "nats-server exited"; }
done

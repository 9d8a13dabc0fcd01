#!/usr/bin/env bash
# Proves scripts/cluster.sh (`make cluster`) end to end, with real processes
# on loopback:
#   - the cluster gets ready and haproxy answers /readyz;
#   - two users registered through haproxy talk across nodes: a message
#     sent through node 1 is read through node 2 (one database), with a token
#     signed by node 2 that node 3 accepts (one token-signing secret);
#   - a node killed with -9 is taken out by haproxy's health check and the
#     balancer keeps answering;
#   - SIGINT stops everything the script started and removes its directory.
#
#   test-cluster.sh MAGPIE_BINARY
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -eq 1 ]] || {
    echo "usage: $0 MAGPIE_BINARY" >&2
    exit 2
}
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
READY_S=120 # the whole cluster up (an ASan build on a loaded machine)
FAILOVER_S=15
STOP_S=60

tmp=$(mktemp -d /tmp/magpie-test-cluster.XXXXXX)
cpid=
fail() {
    echo "test-cluster: $*" >&2
    if [[ -f $tmp/cluster.out ]]; then
        echo "test-cluster: cluster.sh said:" >&2
        cat "$tmp/cluster.out" >&2
    fi
    exit 1
}

# Only on failure is anything left to stop: cluster.sh by SIGTERM, then by
# pid whatever it started and did not stop.
cleanup() {
    local rc=$? i pid
    if [[ -n $cpid ]] && kill -0 "$cpid" 2>/dev/null; then
        kill -TERM "$cpid" 2>/dev/null || true
        for ((i = 0; i < STOP_S * 10; i++)); do
            kill -0 "$cpid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$cpid" 2>/dev/null || true
    fi
    if [[ -f $tmp/ready.copy ]]; then
        while read -r pid; do
            kill -KILL "$pid" 2>/dev/null || true
        done < <(sed -n 's/^[a-z0-9_]*_pid=//p' "$tmp/ready.copy")
        dir=$(sed -n 's/^dir=//p' "$tmp/ready.copy")
        [[ $dir == /tmp/magpie-cluster.* ]] && rm -rf -- "$dir"
    fi
    rm -rf -- "$tmp"
    exit "$rc"
}
trap cleanup EXIT

# A process that exited but is not reaped yet (a zombie) does not run.
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)

# Job control: the script gets a process group of its own and, unlike a
# plain background job, does not start with SIGINT ignored (the signal
# Ctrl-C sends, which this test sends by pid).
set -m
PORT=0 NODES=3 BIN=$bin READY_FILE=$tmp/ready "$root/scripts/cluster.sh" \
    </dev/null >"$tmp/cluster.out" 2>&1 &
cpid=$!
set +m

for ((i = 0; i < READY_S * 10; i++)); do
    [[ -f $tmp/ready ]] && break
    kill -0 "$cpid" 2>/dev/null || fail "cluster.sh exited before it was ready"
    sleep 0.1
done
[[ -f $tmp/ready ]] || fail "not ready within ${READY_S}s"
cp "$tmp/ready" "$tmp/ready.copy"
get() { sed -n "s/^$1=//p" "$tmp/ready"; }
url=$(get url)
node1=$(get node1_url) node2=$(get node2_url) node3=$(get node3_url)
dir=$(get dir)
logs=$(get logs)
pids=()
for k in node1_pid node2_pid node3_pid haproxy_pid nats_pid pg_pid; do
    p=$(get $k)
    if ! [[ $p =~ ^[0-9]+$ ]] || ! running "$p"; then
        fail "$k '$p' is not a running process"
    fi
    pids+=("$p")
done
[[ $url == http://127.0.0.1:* && $node1 != "$url" && $node2 != "$node1" ]] || fail "odd URLs in the ready file"
[[ -d $dir ]] || fail "no directory $dir"
echo "test-cluster: ready in $(($(ms) - t0)) ms: $url"

# ---- through haproxy; across nodes ----

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/readyz")
[[ $code == 200 ]] || fail "GET $url/readyz: $code"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
pw='correct horse battery'
for u in alice bob; do
    code=$(curl -s -o "$tmp/reg.json" -w '%{http_code}' --max-time 10 -X POST "$url/v1/auth/register" \
        -H 'Content-Type: application/json' -d "{\"username\":\"$u\",\"password\":\"$pw\"}")
    [[ $code == 201 ]] || fail "register $u through haproxy: $code $(cat "$tmp/reg.json")"
done

# alice sends through node 1 with the command-line client.
export XDG_CONFIG_HOME=$tmp/config
echo "$pw" >"$tmp/pw"
"$bin" login --url "$node1" --password-file "$tmp/pw" alice >/dev/null || fail "alice: login on node 1"
text="across the cluster $RANDOM$RANDOM"
"$bin" send --url "$node1" --timeout 20 @bob "$text" || fail "alice: send on node 1"

# bob reads it through node 2, and node 3 accepts node 2's token.
curl -fsS --max-time 10 -X POST "$node2/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"bob\",\"password\":\"$pw\"}" >"$tmp/login.json" || fail "bob: login on node 2"
token=$(json 'd["access_token"]' <"$tmp/login.json")
auth=(-H "Authorization: Bearer $token")
curl -fsS --max-time 10 "${auth[@]}" "$node2/v1/conversations" >"$tmp/convs.json" ||
    fail "bob: conversations on node 2"
conv=$(json '[c["conversation_id"] for c in d["conversations"] if c["kind"] == "direct" and c["peer"]["username"] == "alice"][0]' <"$tmp/convs.json") ||
    fail "bob has no conversation with alice on node 2: $(cat "$tmp/convs.json")"
curl -fsS --max-time 10 "${auth[@]}" "$node2/v1/conversations/$conv/messages?limit=10" >"$tmp/msgs.json" ||
    fail "bob: history on node 2"
got=$(json '"\n".join(m.get("text", "") for m in d["messages"])' <"$tmp/msgs.json")
grep -qxF -- "$text" <<<"$got" || fail "node 2 does not have alice's message: $(cat "$tmp/msgs.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${auth[@]}" "$node3/v1/me")
[[ $code == 200 ]] || fail "node 3 refuses node 2's access token: $code"
echo "test-cluster: a message sent through node 1 read through node 2; node 3 takes node 2's token"

# ---- a node killed: haproxy routes around it ----

t1=$(ms)
kill -KILL "$(get node2_pid)"
down=0
for ((i = 0; i < FAILOVER_S * 10; i++)); do
    if grep -q 'nodes/node2 is DOWN' "$logs/haproxy.log"; then
        down=1
        break
    fi
    sleep 0.1
done
((down)) || fail "haproxy did not mark node 2 down within ${FAILOVER_S}s: $(cat "$logs/haproxy.log")"
echo "test-cluster: haproxy marked node 2 down $(($(ms) - t1)) ms after kill -9"
# More requests than nodes, each on a new connection: every one must be
# served, so none goes to the dead node.
for ((i = 0; i < 9; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/readyz")
    [[ $code == 200 ]] || fail "GET $url/readyz after node 2 died: $code"
done
kill -0 "$cpid" 2>/dev/null || fail "cluster.sh exited when a node died"

# ---- SIGINT stops everything ----

t2=$(ms)
kill -INT "$cpid"
for ((i = 0; i < STOP_S * 10; i++)); do
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$cpid" 2>/dev/null && fail "cluster.sh still runs ${STOP_S}s after SIGINT"
rc=0
wait "$cpid" || rc=$?
cpid=
[[ $rc == 130 ]] || fail "cluster.sh exited $rc after SIGINT, not 130"
echo "test-cluster: stopped $(($(ms) - t2)) ms after SIGINT"
for p in "${pids[@]}"; do
    ! running "$p" || fail "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) still runs"
done
left=$(pgrep -af -- "$dir" || true)
[[ -z $left ]] || fail "processes left: $left"
[[ ! -e $dir ]] || fail "$dir was not removed"
[[ ! -e $tmp/ready ]] || fail "the ready file was not removed"
grep -q 'cluster: stopped' "$tmp/cluster.out" || fail "no 'stopped' from cluster.sh"
rm -f "$tmp/ready.copy"
echo "test-cluster: ok in $(($(ms) - t0)) ms"

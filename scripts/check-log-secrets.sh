#!/usr/bin/env bash
# The end of the e2e run's "no secrets in logs" check (CTest: logscan_start
# empties DIR before the first e2e test, logscan_check runs this after the
# last; docs/testing.md). While the tests ran, the harness appended every line
# every server wrote to DIR/server.log, and every password and token it sent
# or received to DIR/secrets.txt. No line of the first may hold any of the
# second.
# Usage: scripts/check-log-secrets.sh start|check DIR
set -euo pipefail
mode=$1
dir=$2
logs=$dir/server.log
secrets=$dir/secrets.txt
if [[ $mode == start ]]; then
    mkdir -p "$dir"
    : >"$logs"
    : >"$secrets"
    exit 0
fi
nsecrets=$(sort -u "$secrets" | wc -l)
nlines=$(wc -l <"$logs")
# Guards against a check that compares nothing: the fixture runs only with
# e2e tests, whose servers always log; and a run that registered accounts
# used passwords, which the harness must have recorded.
if [[ $nlines -eq 0 ]]; then
    echo "logscan: no server log line was collected (MAGPIE_TEST_LOGS)" >&2
    exit 1
fi
if [[ $nsecrets -eq 0 ]] && grep -q "POST /v1/auth/register 201" "$logs"; then
    echo "logscan: accounts were registered but no secret was recorded (MAGPIE_TEST_SECRETS)" >&2
    exit 1
fi
sort -u "$secrets" >"$dir/secrets.sorted"
if grep -F -n -f "$dir/secrets.sorted" "$logs" >"$dir/leaks.txt"; then
    echo "logscan: $(wc -l <"$dir/leaks.txt") server log lines hold a secret the tests used:" >&2
    head -20 "$dir/leaks.txt" >&2
    exit 1
fi
echo "logscan: $nlines server log lines, $nsecrets distinct secrets used by the tests: none appears"

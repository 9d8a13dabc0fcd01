#!/usr/bin/env bash
# Shows that scripts/check-layers.sh fails when it should: on a copy of the
# tree, an upward include (util including net) and a stale exception must
# each make it fail, and the untouched copy must pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/src" "$root/scripts" "$tmp/"

"$tmp/scripts/check-layers.sh" "$tmp" >/dev/null

echo '#include "net/server.h"' >>"$tmp/src/util/clock.c"
if "$tmp/scripts/check-layers.sh" "$tmp" 2>"$tmp/err"; then
    echo "test-check-layers: an upward include (util -> net) was not caught" >&2
    exit 1
fi
grep -q 'src/util/clock.c: #include "net/server.h"' "$tmp/err"
cp "$root/src/util/clock.c" "$tmp/src/util/clock.c"

echo 'src/util/clock.c: #include "chat/chat.h"' >>"$tmp/scripts/layers-exceptions.txt"
if "$tmp/scripts/check-layers.sh" "$tmp" 2>"$tmp/err"; then
    echo "test-check-layers: a stale exception was not caught" >&2
    exit 1
fi
grep -q 'stale exception' "$tmp/err"
echo "test-check-layers: ok"

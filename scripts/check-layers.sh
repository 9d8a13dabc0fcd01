#!/usr/bin/env bash
# Checks that includes between the folders of src/ point one way, down the
# layers of docs/architecture.md:
#   util <- config, proto <- store | net | mail | bus | blobs | media <- core
#   <- auth, chat, groups, people, files, web <- admin <- app
#   util <- client <- bench <- cli (which may also start the server: app)
#   util <- client <- remote <- tui <- cli (the command-line client)
# An include of a folder not in the including folder's allowed list fails,
# unless the exact line is listed in scripts/layers-exceptions.txt (known
# debts, to be paid off); an exception that no longer occurs fails too, so
# the list only shrinks. Usage: scripts/check-layers.sh [REPO_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
exceptions=scripts/layers-exceptions.txt
[ -f "$exceptions" ] || exceptions=/dev/null

# One pass: every '#include "folder/..."' line of every source file, as
# "FILE: LINE", checked by awk against the table below.
find src -name '*.[ch]' -print0 | sort -z | xargs -0 grep -H '^#include "[a-z_]*/' |
    sed 's/:#include/: #include/' |
    awk -v exceptions="$exceptions" '
BEGIN {
    allow["util"] = ""
    allow["config"] = "util"
    allow["proto"] = "util"
    allow["store"] = "util proto"
    allow["net"] = "util config proto"
    allow["bus"] = "util proto"
    allow["core"] = "util config proto store net mail bus"
    allow["auth"] = "util config proto store net mail core"
    allow["chat"] = "util config proto store net core"
    allow["groups"] = "util config proto store net core chat"
    allow["people"] = "util config proto store net core"
    allow["mail"] = "util config proto"
    allow["blobs"] = "util"
    allow["media"] = "util"
    allow["files"] = "util config proto store net core blobs media"
    allow["web"] = "util config proto net"
    allow["admin"] = "util config proto store net core mail auth chat"
    allow["app"] = "util config proto store net core mail bus blobs media auth chat groups people files web admin"
    allow["client"] = "util proto"
    allow["bench"] = "util proto client"
    allow["remote"] = "util proto client"
    allow["tui"] = "util proto client remote"
    allow["cli"] = "util config proto client bench remote tui app"
    allow["main.c"] = "util config proto client bench remote tui app cli"
    while ((getline line < exceptions) > 0)
        if (line != "" && line !~ /^#/)
            excepted[line] = 1
    fail = 0
}
{
    file = $0; sub(/: #include.*/, "", file)
    dir = file; sub(/^src\//, "", dir); sub(/\/.*/, "", dir)
    target = $0; sub(/.*#include "/, "", target); sub(/\/.*/, "", target)
    if (target == dir)
        next
    if (!(dir in allow)) {
        if (!(dir in told))
            print "check-layers: src/" dir " has no place in the layers (add it to scripts/check-layers.sh and docs/architecture.md)" > "/dev/stderr"
        told[dir] = 1
        fail = 1
        next
    }
    if (index(" " allow[dir] " ", " " target " "))
        next
    if ($0 in excepted) {
        seen[$0] = 1
        next
    }
    print "check-layers: " $0 " -- src/" dir " may not include src/" target " (not below it)" > "/dev/stderr"
    fail = 1
}
END {
    for (line in excepted)
        if (!(line in seen)) {
            print "check-layers: stale exception (remove it from scripts/layers-exceptions.txt): " line > "/dev/stderr"
            fail = 1
        }
    if (!fail)
        print "check-layers: ok"
    exit fail
}'

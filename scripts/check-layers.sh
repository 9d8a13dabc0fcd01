#!/usr/bin/env bash
# Checks that includes between the folders of src/ point one way, down the
# layers of docs/architecture.md:
#   util <- config, proto <- store | net <- core <- auth, chat, groups <- app
#   util <- client <- bench <- cli (which may also start the server: app)
# An include of a folder not in the including folder's allowed list fails,
# unless the exact line is listed in scripts/layers-exceptions.txt (known
# debts, to be paid off); an exception that no longer occurs fails too, so
# the list only shrinks. Usage: scripts/check-layers.sh [REPO_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
exceptions="$root/scripts/layers-exceptions.txt"

allowed() {
    case $1 in
    util) echo "" ;;
    config | proto) echo "util" ;;
    store) echo "util proto" ;;
    net) echo "util config proto" ;;
    core) echo "util config proto store net" ;;
    auth | chat) echo "util config proto store net core" ;;
    groups) echo "util config proto store net core chat" ;;
    app) echo "util config proto store net core auth chat groups" ;;
    client) echo "util proto" ;;
    bench) echo "util proto client" ;;
    cli) echo "util config proto client bench app" ;;
    main.c) echo "util config proto client bench app cli" ;;
    *) echo "?" ;;
    esac
}

fail=0
seen=$(mktemp)
trap 'rm -f "$seen"' EXIT
cd "$root"
while IFS= read -r -d '' f; do
    dir=${f#src/}
    dir=${dir%%/*}
    ok=$(allowed "$dir")
    if [ "$ok" = "?" ]; then
        echo "check-layers: $f: folder src/$dir has no place in the layers (add it to scripts/check-layers.sh and docs/architecture.md)" >&2
        fail=1
        continue
    fi
    while IFS= read -r inc; do
        target=${inc#*\"}
        target=${target%%/*}
        [ "$target" = "$dir" ] && continue
        case " $ok " in *" $target "*) continue ;; esac
        line="$f: $inc"
        if [ -f "$exceptions" ] && grep -qxF "$line" "$exceptions"; then
            echo "$line" >>"$seen"
            continue
        fi
        echo "check-layers: $line — src/$dir may not include src/$target (it is not below it)" >&2
        fail=1
    done < <(grep -h '^#include "[a-z_]*/' "$f" || true)
done < <(find src -name '*.[ch]' -print0 | sort -z)

if [ -f "$exceptions" ]; then
    while IFS= read -r line; do
        case $line in '' | '#'*) continue ;; esac
        if ! grep -qxF "$line" "$seen"; then
            echo "check-layers: stale exception (remove it from scripts/layers-exceptions.txt): $line" >&2
            fail=1
        fi
    done <"$exceptions"
fi
[ $fail -eq 0 ] && echo "check-layers: ok"
exit $fail

#!/usr/bin/env bash
# Run every benchmark script bench/*.sh (except this one) in turn; exit
# non-zero if any failed.  Each prints its own figures.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for b in "$here"/*.sh; do
    [[ $(basename "$b") == run.sh ]] && continue
    echo "== $(basename "$b")"
    bash "$b" || rc=1
done
exit $rc

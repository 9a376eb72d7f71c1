#!/usr/bin/env bash
# An exec adapter is never shown a cut request.  crash-midwrite SIGKILLs the
# worker in the middle of its 256 KiB update: were the adapter's stdin
# closed with the worker, it would read half a line, then EOF, and a
# Python adapter would die on a JSONDecodeError that its log criteria
# (log_never=Traceback) report as the store's fault.  The keeper holds a
# copy of the adapter's stdin and kills the group before that copy closes,
# as a crash does.  The adapter (cutline_adapter.py, a correct store) logs
# CUT-REQUEST when shown one (and dies on a BrokenPipeError when its
# stdout is closed under it).  Before the fix 1-3 of crash-midwrite's 20
# kills a run cut a line; --set kills=40 --until-fail 5 gives 200 (before the fix: 3 of 4 runs FAILED).  A normal stop
# must still close the adapter's stdin (clean-exit lines).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/torn-exec-cutline-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
torn_copy "${TORN_BIN:-$root/torn}" "$tmp" && torn=$tmp/torn
bad_show=$tmp/last.out
adapter="exec:/usr/bin/python3 $root/tests/integration/cutline_adapter.py $tmp/exits"

run_expect 0 'PASS' "crash-midwrite: no adapter shown a cut request (200 kills)" \
    --target "$adapter" --target-opt 'log_never=CUT-REQUEST|Traceback' \
    --scenario crash-midwrite --set kills=40 --until-fail 5
exits=$(grep -c clean-exit "$tmp/exits" 2>/dev/null)
check "a normal stop still closes the adapter's stdin (${exits:-0} clean exits)" \
    test "${exits:-0}" -ge 3
finish exec-cutline

#!/usr/bin/env bash
# `torn check` process start-up (printed, never asserted): the wall time of
# checking a 20-operation history, median of RUNS (default 300) runs started
# with posix_spawn, for the front torn (harness/cli/front.c: links libc,
# libm, cJSON) and for torn-engine, the binary with every library, running
# the same check (what `torn check` cost before the split).  Goal (issue
# 18): under 2 ms.  Also the shared libraries each one loads.
# Environment: TORN_BIN (the front; its torn-engine beside it), RUNS.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
torn=${TORN_BIN:-$root/build/torn}
engine=$(dirname "$(readlink -f "$torn")")/torn-engine
runs=${RUNS:-300}
tmp=$(mktemp -d /tmp/torn-bench-startup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
[[ -x $torn && -x $engine ]] || { echo "bench/startup.sh: $torn or $engine missing (make)"; exit 2; }
"$torn" gen-history --ops 20 --seed 1 >"$tmp/h.jsonl" 2>/dev/null ||
    { echo "bench/startup.sh: gen-history failed"; exit 2; }

# median_ms BIN: the median wall time of BIN check HISTORY, in ms.
median_ms() {
    python3 - "$1" "$tmp/h.jsonl" "$runs" <<'PY'
import os, sys, time
binary, hist, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
null = os.open(os.devnull, os.O_WRONLY)
acts = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    pid = os.posix_spawn(binary, [binary, "check", hist], os.environ, file_actions=acts)
    _, status = os.waitpid(pid, 0)
    times.append(time.perf_counter() - t0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("check exited %d" % os.waitstatus_to_exitcode(status))
times.sort()
print("%.2f" % (1000 * times[len(times) // 2]))
PY
}

libs() { ldd "$1" 2>/dev/null | grep -c '=>'; }
front=$(median_ms "$torn") || exit 1
full=$(median_ms "$engine") || exit 1
printf 'torn check start-up (20-op history, median of %d): %s ms, %d shared libraries; goal < 2 ms: %s\n' \
    "$runs" "$front" "$(libs "$torn")" "$(awk -v f="$front" 'BEGIN { print (f < 2 ? "met" : "NOT met") }')"
printf 'same check by torn-engine (every library, as before the split): %s ms, %d shared libraries\n' \
    "$full" "$(libs "$engine")"

#!/usr/bin/env bash
# Schedule-fuzzing speed (issue 6), printed, never asserted:
#   1. in-process: schedules per CPU second of the simulator on the seed
#      schedules (torn replay --repeat), independent of machine load;
#   2. AFL++ persistent mode: execs/s of build-fuzz/afl/fuzz-schedule under
#      afl-fuzz for FUZZ_BENCH_S seconds (default 30) on FUZZ_BENCH_JOBS
#      instances (default: one per core), strategy durable so no
#      crash (and re-fork) slows it; goal >= 10,000/s on a 2-core machine.
#      Wall-clock: the load average is printed beside it.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
torn=${TORN_BIN:-$root/torn}
secs=${FUZZ_BENCH_S:-30}
jobs=${FUZZ_BENCH_JOBS:-$(nproc)}   # one afl-fuzz instance per core (-M + -S)
echo "schedule simulator, in-process (per CPU second):"
for f in "$root"/fuzz/corpus/schedule/* "$root"/fuzz/regress/schedule/*; do
    printf '  %-28s %s\n' "$(basename "$f")" \
        "$("$torn" replay --schedule "$f" --strategy durable --repeat 20000 | head -1)"
done
if ! command -v afl-fuzz >/dev/null; then
    echo "AFL++ not installed: persistent-mode figure skipped (scripts/deps.sh installs afl++)"
    exit 0
fi
out=$(mktemp -d /tmp/torn-fuzz-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
AFL_NO_UI=1 "$torn" fuzz schedule --strategy durable --time "$secs" --jobs "$jobs" --quiet --no-color \
    --out "$out/afl" --json "$out/r.json" >"$out/log" 2>&1
python3 - "$out/r.json" "$secs" "$(cut -d' ' -f1-3 /proc/loadavg)" "$jobs" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["results"][0]["metrics"]
print("AFL++ persistent mode, fuzz-schedule (durable), %s instance(s), %s s: %.0f execs/s "
      "in all (%d execs), "
      "corpus %d, stability %.2f%%, crashes %d; load average %s; goal 10000/s"
      % (sys.argv[4], sys.argv[2], m["execs_per_s"], m["execs"], m["corpus"], m["stability_pct"],
         m["crashes"], sys.argv[3]))
PY

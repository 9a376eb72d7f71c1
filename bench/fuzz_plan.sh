#!/usr/bin/env bash
# Fault-plan fuzzing speed on a real target, printed, never asserted, for
# both engines of `torn fuzz --target exec:... --scenario power-loss` on
# examples/adapters/jobstore.py:
# - AFL++ (--engine afl, when afl-fuzz and afl-clang-fast are installed):
#   execs/s on --mode durable (no finding: it runs FUZZ_PLAN_BENCH_S
#   seconds, default 60), and the time and executions to the first failing
#   plan of --mode lazy-sync (the demo bug the default run misses);
# - torn's own loop (--engine torn): execs/s on --mode durable, and the time
#   --mode naive takes to its first failing plan.
# Wall-clock: an AFL++ execution is one crash state of a real run, one of
# the loop a whole sweep (torn-fs, a Python adapter per crash state); the
# load average is printed beside each figure.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
torn=${TORN_BIN:-$root/torn}
secs=${FUZZ_PLAN_BENCH_S:-60}
if [ ! -e /dev/fuse ]; then
    echo "fault-plan fuzzing: /dev/fuse missing (torn-fs), skipped"
    exit 0
fi
out=$(mktemp -d /tmp/torn-fuzz-plan-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
export TORN_ROOT=$root
store="python3 $root/examples/adapters/jobstore.py"
load() { cut -d' ' -f1-3 /proc/loadavg; }
campaign() {  # NAME ENGINE MODE: one campaign, its JSON in $out/NAME.json, the load after it
    local afl=()
    [ "$2" = afl ] && afl=(--out "$out/$1.afl")   # AFL++'s output, removed with $out
    "$torn" fuzz --engine "$2" --target "exec:$store --mode $3" --scenario power-loss --seed 1 \
        --time "$secs" --exec-timeout 120 "${afl[@]}" --quiet --json "$out/$1.json" >/dev/null 2>&1
    load >"$out/$1.load"
}
if command -v afl-fuzz >/dev/null && command -v afl-clang-fast >/dev/null; then
    campaign afl-durable afl durable
    campaign afl-lazy afl lazy-sync
else
    echo "fault-plan fuzzing, AFL++: afl-fuzz/afl-clang-fast not installed, skipped"
fi
campaign loop-durable torn durable
campaign loop-naive torn naive
python3 - "$out" <<'PY'
import json, os, sys
def get(name):
    p = os.path.join(sys.argv[1], name + ".json")
    if not os.path.exists(p):
        return None, ""
    rs = json.load(open(p))["results"]
    return rs[0], open(os.path.join(sys.argv[1], name + ".load")).read().strip()
for engine, durable, found in (("AFL++", "afl-durable", "afl-lazy"), ("own loop", "loop-durable", "loop-naive")):
    d, dl = get(durable)
    if d:
        m = d["metrics"]
        print(f"fault-plan fuzzing ({engine}), jobstore.py --mode durable: {m['execs']:.0f} execs in "
              f"{d['duration_s']:.1f} s = {m['execs_per_s']:.3f} execs/s, corpus {m['corpus']:.0f} (load {dl})")
    f, fl = get(found)
    if f:
        m = f["metrics"]
        first = m.get("time_to_first_crash_s")
        when = f", first failing plan after {first:.1f} s" if first is not None and first >= 0 else ""
        print(f"fault-plan fuzzing ({engine}), jobstore.py --mode {found.split('-')[1].replace('lazy', 'lazy-sync')}: "
              f"{f['verdict']} after {m['execs']:.0f} execs, {f['duration_s']:.1f} s{when} (load {fl})")
PY

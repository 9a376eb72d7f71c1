#!/usr/bin/env bash
# Fault-plan fuzzing speed on a real target, printed, never asserted:
# executions per second of `torn fuzz --target exec:... --scenario
# power-loss` on examples/adapters/jobstore.py --mode durable (no finding, so
# the loop runs for FUZZ_PLAN_BENCH_S seconds, default 60), and the time
# --mode naive takes to its first failing plan.  Wall-clock: each execution
# is a whole power-loss run (torn-fs, a Python adapter per crash state); the
# load average is printed beside it.
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
store="python3 $root/examples/adapters/jobstore.py"
"$torn" fuzz --target "exec:$store --mode durable" --scenario power-loss --seed 1 --time "$secs" \
    --quiet --json "$out/durable.json" >/dev/null 2>&1
"$torn" fuzz --target "exec:$store --mode naive" --scenario power-loss --seed 1 --time "$secs" \
    --quiet --json "$out/naive.json" >/dev/null 2>&1
python3 - "$out" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/durable.json"))["results"][0]
n = json.load(open(sys.argv[1] + "/naive.json"))["results"][0]
m = d["metrics"]
print(f"fault-plan fuzzing, jobstore.py --mode durable: {m['execs']:.0f} execs in {d['duration_s']:.1f} s "
      f"= {m['execs_per_s']:.3f} execs/s, corpus {m['corpus']:.0f}, signatures {m['signatures']:.0f}, "
      f"errors {m['exec_errors']:.0f} (load {sys.argv[2]})")
print(f"fault-plan fuzzing, jobstore.py --mode naive: {n['verdict']} after {n['metrics']['execs']:.0f} "
      f"execs, {n['duration_s']:.1f} s")
PY

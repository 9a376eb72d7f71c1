#!/usr/bin/env bash
# Fault-plan fuzzing of a real target, torn's own loop (torn fuzz --engine torn --target ... --scenario
# power-loss): each execution a real power-loss run of
# examples/adapters/jobstore.py on torn-fs under a plan torn's loop chooses.
# - the broken mode (naive: json.dump in place, no fsync) is found within
#   10 executions: exit 1, the violation names the plan, and the replay
#   command it prints FAILS again on its own;
# - the fixed mode (durable) is not: exit 0 after 40 s of plans under a busy
#   loop on each core, executions done, none errored;
# - no --scenario: exit 2, one line.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/failover_common.sh"                 # with_hogs
. "$(dirname "$0")/fs_common.sh" torn-fuzz-plan-test   # TORN, ROOT, SEED, work, check
echo "seed $SEED"
if ! command -v python3 >/dev/null || [ ! -e /dev/fuse ]; then
    echo "SKIP fault-plan fuzzing: needs python3 and /dev/fuse (torn-fs)"
    echo "0 passed, 0 failed"
    exit 0
fi
store="python3 $ROOT/examples/adapters/jobstore.py"
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print($2)" "$1" 2>/dev/null; }

"$TORN" fuzz --engine torn --target "exec:$store --mode naive" --scenario power-loss --seed "$SEED" --execs 10 \
    --time 200 --quiet --json "$work/naive.json" >"$work/naive.out" 2>&1
rc=$?
check "naive: a plan FAILS within 10 executions: exit 1 (got $rc)" test "$rc" = 1
[ "$rc" = 1 ] || cat "$work/naive.out"
replay=$(json "$work/naive.json" "r['violations'][0]['evidence'].split('; replay: ')[1]")
names_plan() { [[ $replay == "torn run "*" --seed "[0-9]*" --set "* ]]; }
check "  the violation names a plan and its replay command" names_plan
(cd "$work" && eval "\"$TORN\" ${replay#torn } --quiet --repro-runs 0") >"$work/replay.out" 2>&1
rc=$?
check "  the replay command FAILS on its own: exit 1 (got $rc)" test "$rc" = 1

with_hogs "$TORN" fuzz --engine torn --target "exec:$store --mode durable" --scenario power-loss --seed "$SEED" \
    --time 40 --quiet --json "$work/durable.json" >"$work/durable.out" 2>&1
rc=$?
check "durable: no plan FAILS in 40 s under a busy loop on each core: exit 0 (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/durable.out"
check "  executions done, none errored" \
    test "$(json "$work/durable.json" "int(r['metrics']['execs'] >= 1 and r['metrics']['exec_errors'] == 0)")" = 1

"$TORN" fuzz --target "exec:$store" >"$work/bad.out" 2>"$work/bad.err"
rc=$?
check "no --scenario: exit 2 and one line" bash -c "test $rc = 2 && test \$(wc -l <'$work/bad.err') = 1"
finish

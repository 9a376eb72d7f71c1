#!/usr/bin/env bash
# AFL++ chooses the fault plans (torn fuzz --engine afl --target ...
# --scenario power-loss): afl-fuzz runs build-fuzz/afl/fuzz-plan, whose
# input bytes decode into one power-loss crash state of a real run of
# examples/adapters/jobstore.py on torn-fs, with coverage of torn's own code.
# - the demo bug (--mode lazy-sync: from version 5 on nothing is fsynced)
#   PASSES the default power-loss run (3 updates, every cut point), and
#   AFL++ finds a failing plan within its budget (the bug needs 4 or more
#   updates and a cut at operation 26 or later);
#   the crash's replay command (in the report) FAILS on its own, and
#   `torn fuzz --report DIR` reads the campaign back with that command;
# - the fixed mode (durable) has no crash in 10 s of plans under a busy loop
#   on each core, executions done.
# - --engine afl without AFL++ on PATH: exit 2, one line.
# Without afl-fuzz/afl-clang-fast: one SKIP line.  Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/failover_common.sh"                  # with_hogs
. "$(dirname "$0")/fs_common.sh" torn-fuzz-plan-afl-test # TORN, ROOT, SEED, work, check
echo "seed $SEED"
if ! command -v python3 >/dev/null || [ ! -e /dev/fuse ] || ! command -v afl-fuzz >/dev/null ||
        ! command -v afl-clang-fast >/dev/null; then
    echo "SKIP AFL++ fault-plan fuzzing: needs python3, /dev/fuse, afl-fuzz and afl-clang-fast"
    echo "0 passed, 0 failed"
    exit 0
fi
store="python3 $ROOT/examples/adapters/jobstore.py"
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print($2)" "$1" 2>/dev/null; }
export TORN_ROOT=$ROOT   # the harness is built from (and found in) this tree

(cd "$work" && "$TORN" run --target "exec:$store --mode lazy-sync" --scenario power-loss \
    --seed "$SEED" --quiet) >"$work/default.out" 2>&1
rc=$?
check "lazy-sync: the default power-loss run PASSES (got $rc)" test "$rc" = 0

# A failing plan needs 4+ updates and a cut at operation 26 or later; from
# the seed plans (1-8 updates, cut at operation 1) one mutated byte gets
# there: AFL++ found it after 25-75 executions (19-53 s at load 9-12) in
# each of 6 campaigns here, one under a busy loop per core; the budget is 600
# executions or 200 s (about 300 executions at this machine's 1.5/s under
# load; the whole test stays within its 300 s in the worst case).
"$TORN" fuzz --engine afl --target "exec:$store --mode lazy-sync" --scenario power-loss \
    --seed "$SEED" --execs 600 --time 200 --exec-timeout 60 --out "$work/afl" --quiet \
    --json "$work/lazy.json" >"$work/lazy.out" 2>&1
rc=$?
check "lazy-sync: AFL++ finds a failing plan: exit 1 (got $rc)" test "$rc" = 1
[ "$rc" = 1 ] || cat "$work/lazy.out"
check "  the crash is in AFL++'s crashes/" bash -c "ls '$work'/afl/main/crashes/id:* >/dev/null"
replay=$(json "$work/lazy.json" "r[1]['violations'][0]['evidence'].split('reproduce: ')[1]")
names_plan() { [[ $replay == "torn run "*" --set state=op"[0-9]*/m* ]]; }
check "  the report names the plan's replay command ($replay)" names_plan
(cd "$work" && eval "\"$TORN\" ${replay#torn } --quiet") >"$work/replay.out" 2>&1
rc=$?
check "  the replay command FAILS on its own: exit 1 (got $rc)" test "$rc" = 1
"$TORN" fuzz --report "$work/afl" --quiet --json "$work/report.json" >"$work/report.out" 2>&1
rc=$?
check "  torn fuzz --report DIR: exit 1 with the same replay command (got $rc)" \
    test "$rc" = 1 -a "$(json "$work/report.json" "r[1]['violations'][0]['evidence'].split('reproduce: ')[1]")" = "$replay"

with_hogs "$TORN" fuzz --engine afl --target "exec:$store --mode durable" --scenario power-loss \
    --seed "$SEED" --time 10 --exec-timeout 60 --out "$work/afl-durable" --quiet \
    --json "$work/durable.json" >"$work/durable.out" 2>&1
rc=$?
check "durable: no crash in 10 s under a busy loop on each core: exit 0 (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/durable.out"
check "  executions done" test "$(json "$work/durable.json" "int(r[0]['metrics']['execs'] >= 1)")" = 1

PATH=/usr/sbin:/sbin "$TORN" fuzz --engine afl --target "exec:$store" --scenario power-loss \
    >"$work/noafl.out" 2>"$work/noafl.err"
rc=$?
check "--engine afl without AFL++: exit 2 and one line" \
    bash -c "test $rc = 2 && test \$(wc -l <'$work/noafl.err') = 1"
finish

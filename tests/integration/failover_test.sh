#!/usr/bin/env bash
# The failover scenario on real servers (torn starts a Redis primary, a
# replica of it through a delayed link, crashes the primary cut off from its
# replica and promotes the replica):
# - without WAIT it FAILS for the right reason (also with
#   min-replicas-to-write 1, which does not make a write wait): acknowledged writes absent on
#   the promoted replica (criterion acknowledged-survives-failover, the seq
#   the replica holds is below the acknowledged ones, lost writes counted);
# - with WAIT 1 after each write it PASSES, with every planned failover done
#   and writes acknowledged (also under a busy loop on each core: this
#   script runs the PASS case with one);
# - a target it cannot run on is exit 2 with one line; nothing is left
#   running or on disk.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/failover_common.sh"
. "$(dirname "$0")/fs_common.sh" torn-failover-test # TORN, SEED, work, check
mkdir "$work/tmp"
export TMPDIR=$work/tmp
echo "seed $SEED"
if ! command -v redis-server >/dev/null; then
    echo "SKIP failover: redis-server not installed (scripts/deps.sh installs redis-server)"
    echo "0 passed, 0 failed"
    exit 0
fi
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

# --- without WAIT: acknowledged writes lost on failover ----------------------
"$TORN" run --target redis --scenario failover --seed "$SEED" --until-fail 3 --quiet \
    --json "$work/async.json" >"$work/async.out" 2>"$work/async.err"
rc=$?
check "no WAIT: exit 1 (got $rc)" test "$rc" = 1
check "no WAIT: FAIL, acknowledged writes absent on the promoted replica" lost_for_reason "$work/async.json"

# --- min-replicas-to-write 1 refuses writes without a replica, but does not make
# them wait for it: still FAIL, for the same reason ----------------------------
"$TORN" run --target redis --scenario failover --seed "$SEED" --set min_replicas_to_write=1 \
    --until-fail 3 --quiet --json "$work/minrep.json" >"$work/minrep.out" 2>"$work/minrep.err"
rc=$?
check "min-replicas-to-write 1: exit 1 (got $rc)" test "$rc" = 1
check "min-replicas-to-write 1: FAIL, acknowledged writes absent on the promoted replica" \
    lost_for_reason "$work/minrep.json"

# --- WAIT 1 after each write: nothing acknowledged is lost, under CPU load -----
with_hogs "$TORN" run --target redis --scenario failover --seed "$SEED" --set wait_replicas=1 --quiet \
    --json "$work/wait.json" >"$work/wait.out" 2>"$work/wait.err"
rc=$?
check "WAIT 1: exit 0 under a busy loop on each core (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/wait.out" "$work/wait.err"
check "WAIT 1: 4 failovers, writes acknowledged, none lost" none_lost "$work/wait.json" 4 8

# --- refused targets ------------------------------------------------------------
"$TORN" run --target file --scenario failover >"$work/bad.out" 2>"$work/bad.err"
rc=$?
check "failover on a file target: exit 2" test "$rc" = 2
check "  one line naming what it needs" grep -q 'failover needs a Redis or Postgres primary' "$work/bad.out" "$work/bad.err"
"$TORN" run --target redis --scenario failover --set wait_replicas=2 >"$work/bad.out" 2>"$work/bad.err"
rc=$?
check "wait_replicas=2 (one replica): exit 2, one line" bash -c "test $rc = 2 &&
    test \$(wc -l <'$work/bad.err') = 1 && grep -q wait_replicas '$work/bad.err'"

# --- SIGINT mid-failover: exit 2, every server and link stopped -------------------
"$TORN" run --target redis --scenario failover --set cycles=1000 --set wait_replicas=1 --quiet \
    --json "$work/int.json" >"$work/int.out" 2>"$work/int.err" &
torn_pid=$!
for _ in $(seq 100); do ls -d "$work"/tmp/torn-run-*/torn-redis-* >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
kill -INT "$torn_pid"
wait "$torn_pid"
rc=$?
check "SIGINT mid-failover: exit 2 (got $rc), the report says interrupted" bash -c "test $rc = 2 &&
    python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[\"interrupted\"]' '$work/int.json'"
check "  no server directory left in its run directory" bash -c "! ls -d '$work'/tmp/torn-run-*/torn-redis-* 2>/dev/null | grep -q ."

# --- nothing left behind --------------------------------------------------------
check "no server or link process left" bash -c "! ps -eo args | grep -v grep | grep -q '$work'"
check "no run directory left by the passing run" bash -c "test -z \"\$(ls '$work/tmp' | grep -v '^torn-run-' ; ls -d '$work'/tmp/torn-run-*/torn-redis-* 2>/dev/null)\""

finish

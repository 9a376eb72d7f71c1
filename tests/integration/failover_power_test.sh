#!/usr/bin/env bash
# The failover scenario with the primary's power cut (--set cut=power): the
# managed Postgres primary keeps its data directory on torn-fs (power
# model); at the crash its torn-fs freezes, the primary is SIGKILLed and the
# power cut drops everything it had not fsynced; the standby is promoted.
# - asynchronous replication FAILS for the right reason (committed writes
#   absent on the promoted standby), the cut done once per failover, in the
#   power model's state (nothing unsynced kept);
# - synchronous replication (wait_replicas=1: remote_apply) PASSES, with a
#   busy loop on each core;
# - an unknown cut: exit 2 naming the two;
# - no torn-fs mount and no postgres process left.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/failover_common.sh"
. "$(dirname "$0")/fs_common.sh" torn-failover-power-test # TORN, SEED, work, check
pg_failover_setup "failover with a power cut"
if [ ! -e /dev/fuse ]; then
    echo "SKIP failover with a power cut: /dev/fuse missing (torn-fs)"
    echo "0 passed, 0 failed"
    exit 0
fi
cut_done() {  # JSON: one power cut per failover, the power model's crash state
    python3 - "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["results"][0]["metrics"]
assert m["primary_power_cuts"] == m["failovers"] >= 1, m
assert m["primary_power_cut"].startswith("m0:dnone:0 ") and "model=power" in m["primary_power_cut"], m
PY
}

"$TORN" run --target postgres --scenario failover --seed "$SEED" --set cycles=1 --set cut=power \
    --until-fail 3 --repro-runs 0 --quiet --json "$work/async.json" >"$work/async.out" 2>"$work/async.err"
rc=$?
check "asynchronous standby, primary's power cut: exit 1 (got $rc)" test "$rc" = 1
[ "$rc" = 1 ] || cat "$work/async.out" "$work/async.err"
check "  FAIL, committed writes absent on the promoted standby" lost_for_reason "$work/async.json"
check "  the primary's power was cut (torn-fs, nothing unsynced kept)" cut_done "$work/async.json"

with_hogs "$TORN" run --target postgres --scenario failover --seed "$SEED" --set cycles=1 \
    --set cut=power --set wait_replicas=1 --quiet --json "$work/sync.json" >"$work/sync.out" 2>"$work/sync.err"
rc=$?
check "synchronous standby (remote_apply), power cut: exit 0 under a busy loop on each core (got $rc)" \
    test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/sync.out" "$work/sync.err"
check "  the failover done, writes committed, none lost" none_lost "$work/sync.json" 1 2
check "  the primary's power was cut" cut_done "$work/sync.json"

"$TORN" run --target postgres --scenario failover --set cut=flood --quiet >"$work/bad.out" 2>"$work/bad.err"
rc=$?
check "cut=flood: exit 2 naming kill or power (got $rc)" \
    bash -c "test $rc = 2 && grep -q 'kill or power' '$work/bad.err' '$work/bad.out'"
check "no torn-fs mount left" test "$(awk -v w="$work" 'index($2, w) == 1' /proc/mounts | wc -l)" = 0
check "no postgres or link process left" bash -c "! ps -eo args | grep -v grep | grep -q '$work'"

finish

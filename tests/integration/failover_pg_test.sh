#!/usr/bin/env bash
# The failover scenario on a managed Postgres primary and streaming standby
# (a pg_basebackup of the primary, streaming through a delayed link; the
# primary crashes cut off from it, pg_promote() promotes the standby):
# - asynchronous replication FAILS for the right reason: acknowledged
#   (committed) writes absent on the promoted standby;
# - synchronous replication (synchronous_standby_names='*',
#   synchronous_commit=remote_apply: --set wait_replicas=1) PASSES, with a
#   busy loop on each core;
# - nothing is left running.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/failover_common.sh"
. "$(dirname "$0")/fs_common.sh" torn-failover-pg-test # TORN, SEED, work, check
pg_failover_setup "failover on Postgres"

"$TORN" run --target postgres --scenario failover --seed "$SEED" --set cycles=1 --until-fail 3 \
    --repro-runs 0 --quiet --json "$work/async.json" >"$work/async.out" 2>"$work/async.err"
rc=$?
check "asynchronous standby: exit 1 (got $rc)" test "$rc" = 1
[ "$rc" = 1 ] || cat "$work/async.out" "$work/async.err"
check "asynchronous standby: FAIL, committed writes absent on the promoted standby" lost_for_reason "$work/async.json"

with_hogs "$TORN" run --target postgres --scenario failover --seed "$SEED" --set cycles=1 --set wait_replicas=1 \
    --quiet --json "$work/sync.json" >"$work/sync.out" 2>"$work/sync.err"
rc=$?
check "synchronous standby (remote_apply): exit 0 under a busy loop on each core (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/sync.out" "$work/sync.err"
check "synchronous standby: the failover done, writes committed, none lost" none_lost "$work/sync.json" 1 2
check "no postgres or link process left" bash -c "! ps -eo args | grep -v grep | grep -q '$work'"

finish

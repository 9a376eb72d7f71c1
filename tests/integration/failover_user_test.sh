#!/usr/bin/env bash
# The failover scenario on replicated sets the user runs: real redis-server
# and postgres processes this script starts on loopback (failover_cluster.sh:
# a primary, a standby replicating from it through a delayed link), which torn
# did not start and reaches as --target redis://... / postgres://... with
# --target-opt standby=HOST:PORT; torn crashes the primary and promotes the
# standby only through the commands it is given (crash=, promote=; rebuild=
# brings a fresh set up after each failover), as with Sentinel or Patroni.
# - Redis without WAIT and Postgres with an asynchronous standby FAIL for the
#   right reason (acknowledged writes absent on the promoted standby);
# - Redis with WAIT 1 and Postgres with a synchronous standby (remote_apply)
#   PASS, under a busy loop on each core;
# - a crash command that leaves the primary up is an ERROR (exit 2) naming
#   it, not a hang; a missing command or cycles > 1 without rebuild is an
#   ERROR (exit 2) naming what is needed; nothing is left running.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/failover_common.sh"
. "$(dirname "$0")/fs_common.sh" torn-failover-user-test # TORN, SEED, work, check
export TORN_BIN=$TORN
CLUSTER=$(cd "$(dirname "$0")" && pwd)/failover_cluster.sh
echo "seed $SEED"

# run_on KIND MODE NAME [torn run options...]: torn against the set in
# $work/KIND-MODE; its exit code.
run_on() {
    local kind=$1 mode=$2 name=$3 dir=$work/$1-$2 url P L S
    shift 3
    read -r P L S <"$dir/ports"
    if [ "$kind" = redis ]; then url="redis://:s3cret@127.0.0.1:$P"; else url="postgres://postgres@127.0.0.1:$P/postgres"; fi
    "$TORN" run --target "$url" --scenario failover --seed "$SEED" --repro-runs 0 --quiet \
        --target-opt "standby=127.0.0.1:$S" --target-opt "crash=$CLUSTER $dir $kind $mode crash" \
        --target-opt "promote=$CLUSTER $dir $kind $mode promote" \
        --target-opt "rebuild=$CLUSTER $dir $kind $mode rebuild" \
        --json "$work/$name.json" "$@" >"$work/$name.out" 2>"$work/$name.err"
}
start_set() {  # start_set KIND MODE
    mkdir -p "$work/$1-$2" && chmod 711 "$work/$1-$2" &&
        "$CLUSTER" "$work/$1-$2" "$1" "$2" start >>"$work/cluster.log" 2>&1
}
stop_set() { "$CLUSTER" "$work/$1-$2" "$1" "$2" stop >>"$work/cluster.log" 2>&1; }

if command -v redis-server >/dev/null && start_set redis async; then
    run_on redis async r-async --set cycles=1 --until-fail 3
    rc=$?
    check "redis, no WAIT: exit 1 (got $rc)" test "$rc" = 1
    [ "$rc" = 1 ] || cat "$work/r-async.out" "$work/r-async.err"
    check "redis, no WAIT: FAIL, acknowledged writes absent on the promoted standby" lost_for_reason "$work/r-async.json"
    with_hogs run_on redis async r-wait --set cycles=2 --set wait_replicas=1
    rc=$?
    check "redis, WAIT 1: exit 0 under a busy loop on each core (got $rc)" test "$rc" = 0
    [ "$rc" = 0 ] || cat "$work/r-wait.out" "$work/r-wait.err"
    check "redis, WAIT 1: 2 failovers, writes acknowledged, none lost" none_lost "$work/r-wait.json" 2 2
    # a crash command that crashes nothing: an ERROR naming it, within bounds
    read -r P L S <"$work/redis-async/ports"
    SECONDS=0
    "$TORN" run --target "redis://:s3cret@127.0.0.1:$P" --scenario failover --quiet \
        --set cycles=1 --target-opt "standby=127.0.0.1:$S" --target-opt crash=true \
        --target-opt promote=true >"$work/nocrash.out" 2>&1
    rc=$?
    check "crash command leaving the primary up: exit 2 (got $rc) in ${SECONDS}s" \
        bash -c "test $rc = 2 && test $SECONDS -lt 60"
    check "  the error says the primary still answers" grep -q 'still answers' "$work/nocrash.out"
    "$TORN" run --target "redis://:s3cret@127.0.0.1:$P" --scenario failover --set cycles=1 \
        --target-opt "standby=127.0.0.1:$S" --target-opt crash=true >"$work/bad.out" 2>&1
    rc=$?
    check "no promote command: ERROR, exit 2 (got $rc), naming what it needs" bash -c "test $rc = 2 &&
        grep -q 'promote=COMMAND' '$work/bad.out'"
    "$TORN" run --target "redis://:s3cret@127.0.0.1:$P" --scenario failover --set cycles=2 \
        --target-opt "standby=127.0.0.1:$S" --target-opt crash=true --target-opt promote=true \
        >"$work/bad.out" 2>&1
    rc=$?
    check "cycles=2 without rebuild: ERROR, exit 2 (got $rc), naming what it needs" bash -c "test $rc = 2 &&
        grep -q 'rebuild=COMMAND' '$work/bad.out'"
    stop_set redis async
else
    echo "SKIP failover on a Redis set you run: redis-server missing or the set did not start"
fi

if ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1 && start_set postgres async; then
    run_on postgres async p-async --set cycles=1 --until-fail 3
    rc=$?
    check "postgres, asynchronous standby: exit 1 (got $rc)" test "$rc" = 1
    [ "$rc" = 1 ] || cat "$work/p-async.out" "$work/p-async.err"
    check "postgres, asynchronous standby: FAIL, committed writes absent on the promoted standby" \
        lost_for_reason "$work/p-async.json"
    stop_set postgres async
    if start_set postgres sync; then
        with_hogs run_on postgres sync p-sync --set cycles=1
        rc=$?
        check "postgres, synchronous standby (remote_apply): exit 0 under a busy loop on each core (got $rc)" test "$rc" = 0
        [ "$rc" = 0 ] || cat "$work/p-sync.out" "$work/p-sync.err"
        check "postgres, synchronous standby: the failover done, writes committed, none lost" \
            none_lost "$work/p-sync.json" 1 2
        stop_set postgres sync
    else
        check "postgres synchronous set started" false
    fi
else
    echo "SKIP failover on a Postgres set you run: pg_basebackup missing or the set did not start"
fi
check "nothing of the sets left running" bash -c "! ps -eo args | grep -v grep | grep -q '$work'"
finish

#!/usr/bin/env bash
# The failover scenario's correct twins under load, many failovers in a row:
# managed Redis with WAIT 1 (3 runs of 20 failovers, 4 writers) and Postgres
# with a synchronous standby (remote_apply; 2 runs of 3 failovers), every run
# PASS with writes acknowledged and none lost while a busy loop runs on
# every core.  And the broken side stays broken: one async Redis failover
# and one async Postgres failover each FAIL.  Prints each run's figures.
. "$(dirname "$0")/lib.sh"
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
figures() {  # JSON report -> verdict and failover figures
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"][0]; m = r["metrics"]
print("%s failovers=%d acked=%d lost=%d unconfirmed=%d" % (r["verdict"], m.get("failovers", 0),
      m.get("acknowledged_writes", 0), m.get("lost_acknowledged_writes", 0), m.get("unconfirmed_writes", 0)))' "$1" 2>/dev/null
}
run() {  # name want-exit target cycles extra-args...
    local name=$1 want=$2 target=$3 cycles=$4 out=$work/$1.json t0=$SECONDS; shift 4
    "$TORN" run --quiet --target "$target" --scenario failover --set cycles="$cycles" \
        --seed "$seed" --repro-runs 0 --json "$out" "$@" >"$work/$name.err" 2>&1
    local rc=$? got
    got=$(figures "$out")
    echo "  $name ($((SECONDS - t0)) s): exit $rc, $got"
    check "$name: exit $want" test "$rc" = "$want"
}

cpu_hog_start
for n in 1 2 3; do
    run "redis-wait-$n" 0 redis 20 --set wait_replicas=1 --set workers=4
    seed=$((seed + 1))
done
for n in 1 2; do
    run "postgres-sync-$n" 0 postgres 3 --set wait_replicas=1
    seed=$((seed + 1))
done
run redis-async 1 redis 1
run postgres-async 1 postgres 1
cpu_hog_stop
finish

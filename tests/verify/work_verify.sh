#!/usr/bin/env bash
# The minimum-work rules (harness/core/work.h) never turn a correct store's PASS
# into ERROR under load: file:durable's default scenario set, power-loss
# and io-errors included, four runs with different seeds while a busy loop
# runs on every core, every scenario PASS with its work counters reported.
# And the opposite side: file:naive still FAILS (a shortfall never hides a
# violation).  Prints each run's time and work figures (~3-5 min in all).
. "$(dirname "$0")/lib.sh"
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
summary() {  # JSON report -> "scenario=VERDICT[work figures]" per result
    python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    w = r.get("work") or {}
    print("%s=%s%s" % (r["scenario"], r["verdict"],
          "" if not w else "(" + ",".join("%s:%d" % kv for kv in w.items()) + ")"))' "$1" 2>/dev/null
}

cpu_hog_start
for n in 1 2 3 4; do
    out=$work/durable-$n.json t0=$SECONDS
    "$TORN" run --quiet --target file:durable --scenario crash-midwrite \
        --scenario concurrent-updaters --scenario corrupt-read --scenario optimistic-lock \
        --scenario state-transition --scenario power-loss --scenario io-errors \
        --seed $((seed + n)) --json "$out" >"$work/durable-$n.err" 2>&1
    rc=$?
    got=$(summary "$out")
    echo "  file:durable run $n ($((SECONDS - t0)) s):"
    sed 's/^/    /' <<<"$got"
    [[ $rc -eq 0 && $(grep -c '=PASS' <<<"$got") -eq 7 ]] &&
        ok "file:durable run $n under a CPU hog: 7 of 7 PASS, none short of work" ||
        { bad "file:durable run $n: exit $rc"; grep -E '^(ERROR|  \[)' "$work/durable-$n.err" | head -3; }
done
out=$work/naive.json
"$TORN" run --quiet --target file:naive --scenario crash-midwrite --scenario concurrent-updaters \
    --seed "$seed" --json "$out" >/dev/null 2>&1
rc=$?
got=$(summary "$out")
[[ $rc -eq 1 && $(grep -c '=FAIL' <<<"$got") -eq 2 ]] &&
    ok "file:naive under a CPU hog still FAILS crash-midwrite and concurrent-updaters" ||
    bad "file:naive: exit $rc, $got"
cpu_hog_stop
finish

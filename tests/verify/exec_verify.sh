#!/usr/bin/env bash
# The exec target's default set with the real default parameters, under a
# CPU hog on every core: a default run of examples/adapters/jobstore.py
# --mode naive FAILS (power-loss and io-errors included: the two that catch
# a missing directory fsync and an ignored fsync error), and --mode durable
# PASSES all eight scenarios, two runs in a row (~4 min in all).  Prints each run's time.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
store() { echo "exec:$PY $ROOT/examples/adapters/jobstore.py --mode $1"; }

cpu_hog_start
run() {  # mode n
    local out=$work/$1-$2.json t0=$SECONDS
    "$TORN" run --quiet --target "$(store "$1")" --seed $((seed + $2)) --json "$out" \
        --run-dir "$work/r-$1-$2" >"$work/$1-$2.err" 2>&1
    got=$(verdicts "$out")
    echo "  --mode $1 run $2 ($((SECONDS - t0)) s): $got"
}
run naive 0
[[ $got == *"power-loss=FAIL"* && $got == *"io-errors=FAIL"* && $(wc -w <<<"$got") == 8 ]] &&
    ok "default run of --mode naive FAILS power-loss and io-errors" ||
    bad "default run of --mode naive: $got"
for n in 1 2; do
    run durable "$n"
    [[ $(wc -w <<<"$got") == 8 && $got != *"=FAIL"* && $got != *"=ERROR"* ]] &&
        ok "default run $n of --mode durable PASSES all 8 scenarios under a CPU hog" ||
        { bad "default run $n of --mode durable: $got"; grep -E '^(ERROR|  \[)' "$work/durable-$n.err" | head -3; }
done
cpu_hog_stop
finish

#!/usr/bin/env bash
# --duration holds under load: every scenario the file target can run, with
# delays and counts far beyond --duration 3 (100 s kill delays, 100,000
# kills/updates/rounds, io-errors' full fault sweep), ends within
# 3 s + one operation's timeout (5 s) + 10 s of slack for a loaded 2-core
# machine, under a CPU hog on every core, three seeds each.  Prints each
# run's time.
. "$(dirname "$0")/lib.sh"
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
cases=(
    "crash-midwrite --set min_delay_ms=100000 --set max_delay_ms=100000 --set kills=100000"
    "concurrent-updaters --set updates=1000000"
    "optimistic-lock --set rounds=100000"
    "state-transition --set rounds=100000"
)
[[ -c /dev/fuse ]] && cases+=("io-errors --set max_nth=10000" "power-loss --set updates=10000")
cpu_hog_start
for c in "${cases[@]}"; do
    for n in 0 1 2; do
        t0=$SECONDS
        # shellcheck disable=SC2086
        timeout -k 5 120 "$TORN" run --quiet --scenario $c --duration 3 --seed $((seed + n)) \
            --run-dir "$work/r-$n" >"$work/out" 2>&1
        rc=$? took=$((SECONDS - t0))
        ((rc <= 2 && took <= 18)) && ok "$c --duration 3, seed $((seed + n)): $took s (exit $rc)" ||
            bad "$c --duration 3, seed $((seed + n)): $took s, exit $rc: $(tail -2 "$work/out")"
        rm -rf "$work/r-$n"
    done
done
cpu_hog_stop
finish

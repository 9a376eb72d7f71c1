#!/usr/bin/env bash
# The seeds' contracts, invariants, log and layout criteria never raise a
# false alarm: the correct reference service (examples/research-service/
# contracts.json, with status == processing_state added for state-transition
# and --lock-read-ms for safe-read-http) PASSES every scenario that exercises
# them, RUNS times in a row (default 5) under a CPU hog on every core.  Prints
# each run's time.
. "$(dirname "$0")/lib.sh"
RUNS=${CONTRACTS_RUNS:-5}
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
rs=${RS_BIN:-$ROOT/build/research-service}
spec() {  # NAME MIRROR(0|1) SERVICE-ARGS...: the shipped spec, this binary, those arguments
    local name=$1 mirror=$2; shift 2
    python3 - "$ROOT/examples/research-service/contracts.json" "$rs" "$mirror" "$@" \
        >"$work/$name.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["service"]["command"][0] = sys.argv[2]
m["service"]["command"] += sys.argv[4:]
if sys.argv[3] == "1":  # seed 002's pair: the records state-transition moves
    m["invariants"]["status-mirrors-state"] = {"then": {"/status": {"same_as": "/processing_state"}}}
print(json.dumps(m))
PY
}
spec good 0
spec mirror 1
spec lock 0 --lock-read-ms 150
small=(--set workers=4 --set updates=10 --set payload_len=65536)
cases=(
    "good --scenario optimistic-lock --scenario corrupt-read --scenario legacy-record"
    "mirror --scenario state-transition"
    "good --scenario event-before-persist --scenario concurrent-updaters ${small[*]}"
    "lock --scenario safe-read-http"
)
cpu_hog_start
for c in "${cases[@]}"; do
    name=${c%% *} args=${c#* }
    for ((n = 0; n < RUNS; n++)); do
        t0=$SECONDS
        # shellcheck disable=SC2086
        timeout -k 5 200 "$TORN" run --quiet --no-color --repro-runs 0 --target http \
            --target-spec "$work/$name.json" $args --seed $((seed + n)) >"$work/out" 2>&1
        rc=$? took=$((SECONDS - t0))
        ((rc == 0)) && ok "$name $args, seed $((seed + n)): PASS ($took s)" ||
            bad "$name $args, seed $((seed + n)): exit $rc ($took s): $(grep -E '^\s+\[|criteria' "$work/out" | head -3)"
    done
done
cpu_hog_stop
finish

#!/usr/bin/env bash
# The seeds' contracts, invariants, log and layout criteria never raise a
# false alarm: the correct reference service (examples/research-service/
# contracts.json, with status == processing_state added for state-transition,
# --lock-read-ms and a retry budget for safe-read-http, seed 001's missing
# answer, a second read path; the file target's layout; the jobstore
# adapter's layout, second read path and invariants) PASSES every scenario
# that exercises them, RUNS times in a row (default 5) under a CPU hog on
# every core.  Prints each run's time.
. "$(dirname "$0")/lib.sh"
RUNS=${CONTRACTS_RUNS:-5}
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
rs=${RS_BIN:-$ROOT/build/research-service}
spec() {  # NAME EDIT SERVICE-ARGS...: the shipped spec, this binary, those arguments, EDIT (python on m)
    local name=$1 edit=$2; shift 2
    python3 - "$ROOT/examples/research-service/contracts.json" "$rs" "$edit" "$@" \
        >"$work/$name.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["service"]["command"][0] = sys.argv[2]
m["service"]["command"] += sys.argv[4:]
exec(sys.argv[3])
print(json.dumps(m))
PY
}
spec good ''
# seed 002's pair: the records state-transition moves
spec mirror 'm["invariants"]["status-mirrors-state"] = {"then": {"/status": {"same_as": "/processing_state"}}}'
spec lock 'm["retries"] = {"header": "X-Retries", "max": 4}' --lock-read-ms 150
spec missing 'm["missing"] = "unknown"' --missing unknown
spec index 'm["read_also"] = {"path": "/index/{id}", "agree": {"/status": "/status", "/version": "/version", "/_updated_at": "/_updated_at"}}' --index
small=(--set workers=4 --set updates=10 --set payload_len=65536)
cases=(
    "good --scenario optimistic-lock --scenario corrupt-read --scenario legacy-record"
    "mirror --scenario state-transition"
    "good --scenario event-before-persist --scenario concurrent-updaters ${small[*]}"
    "lock --scenario safe-read-http"
    "missing --scenario corrupt-read"
    "index --scenario concurrent-updaters --scenario safe-read-http ${small[*]}"
)
# pass WHAT ARGS...: torn run ARGS PASSES RUNS times in a row (seeds seed..).
pass() {
    local what=$1; shift
    for ((n = 0; n < RUNS; n++)); do
        t0=$SECONDS
        timeout -k 5 200 "$TORN" run --quiet --no-color --repro-runs 0 "$@" --seed $((seed + n)) \
            >"$work/out" 2>&1
        rc=$? took=$((SECONDS - t0))
        ((rc == 0)) && ok "$what, seed $((seed + n)): PASS ($took s)" ||
            bad "$what, seed $((seed + n)): exit $rc ($took s): $(grep -E '^\s+\[|criteria' "$work/out" | head -3)"
    done
}
cpu_hog_start
for c in "${cases[@]}"; do
    name=${c%% *} args=${c#* }
    # shellcheck disable=SC2086
    pass "$name $args" --target http --target-spec "$work/$name.json" $args
done
# The file target's layout and an exec adapter's layout, second read path
# and invariants file (contracts_exec_test.sh's correct twins).
pass "file:durable layout=1" --target file:durable --target-opt layout=1 \
    --scenario concurrent-updaters --scenario crash-midwrite --set updates=20
pass "jobstore durable --index locked, layout, read_also, invariants" \
    --target "exec:python3 -S $ROOT/examples/adapters/jobstore.py --mode durable --index locked" \
    --target-opt layout=1 --target-opt read_also=status,version,_updated_at \
    --target-opt "invariants=$ROOT/examples/adapters/invariants.json" \
    --scenario concurrent-updaters --scenario optimistic-lock --set updates=20
cpu_hog_stop
finish

#!/usr/bin/env bash
# The reference research service, correct modes, default runs under a CPU
# hog on every core (where false alarms live): started by torn from
# examples/research-service/managed.json (--persist durable: every scenario
# the HTTP target can run, crash of the service itself, torn-fs, corrupt
# files, dual writes), and `--mode atomic` running at an address through
# research.json (WebSocket events) and research-sse.json (SSE).  Every run
# must PASS with zero FAIL and zero ERROR; --persist naive must FAIL under the
# same load.
# HTTP_VERIFY_RUNS consecutive runs of each (default 20, the issue's count),
# taken in turn (run 1 of each, then run 2, ...), and none started after
# HTTP_VERIFY_BUDGET_S (default 600 s) or make verify's TORN_VERIFY_DEADLINE
# less 15 minutes (gallery_verify.sh, last, needs about 10 for its 20 runs on
# a quiet machine, and stops 4 minutes before the deadline).
# A loop cut short by the budget passes with the runs it did and its line says
# how many fitted; a FAIL or ERROR in any run fails.  Measured on a clean
# clone at load 2-3: one default run takes 3-6 s under the hog.
. "$(dirname "$0")/lib.sh"
RS=${RS_BIN:-$ROOT/build/research-service}
runs=${HTTP_VERIFY_RUNS:-20}
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed, $runs runs of each"
DEADLINE=$(($(date +%s) + ${HTTP_VERIFY_BUDGET_S:-600}))
if [[ -n ${TORN_VERIFY_DEADLINE:-} ]] && ((TORN_VERIFY_DEADLINE - 900 < DEADLINE)); then
    DEADLINE=$((TORN_VERIFY_DEADLINE - 900))
fi
[[ -x $RS ]] || { bad "research-service not built ($RS): run make"; finish; exit 1; }
managed() {  # PERSIST: managed.json with this binary and that --persist mode
    sed -e "s#\"build/research-service\"#\"$RS\"#" -e "s#\"--persist\", \"durable\"#\"--persist\", \"$1\"#" \
        "$ROOT/examples/research-service/managed.json" >"$work/managed-$1.json"
    echo "$work/managed-$1.json"
}
# run NAME N ARGS...: one default run; its verdicts in $got
run() {
    local name=$1 n=$2 out=$work/$1-$2.json t0=$SECONDS
    shift 2
    "$TORN" run --quiet --seed $((seed + n)) --json "$out" --run-dir "$work/r-$name-$n" "$@" \
        >"$work/$name-$n.err" 2>&1
    got=$(verdicts "$out")
    echo "  $name run $n ($((SECONDS - t0)) s): $got"
}
declare -A done_runs=() failed=()
# try NAME N ARGS...: run N of NAME unless that loop failed already.
try() {
    local name=$1 n=$2
    [[ -n ${failed[$name]:-} ]] && return
    run "$@"
    if [[ -n $got && $got != *"=FAIL"* && $got != *"=ERROR"* ]]; then
        done_runs[$name]=$n
        rm -rf "$work/r-$name-$n"
    else
        failed[$name]=1
        bad "$name run $n under a CPU hog: $got"
        grep -E '^(ERROR|  \[)' "$work/$name-$n.err" | head -3
    fi
}

cpu_hog_start
spec=$(managed durable)
run naive 0 --target http --target-spec "$(managed naive)"
[[ $got == *"crash-midwrite=FAIL"* && $got == *"power-loss=FAIL"* ]] &&
    ok "--persist naive FAILS crash-midwrite and power-loss under the same load" ||
    bad "--persist naive: $got"

mkdir -p "$work/store"
"$RS" --port 0 --dir "$work/store" --mode atomic --persist durable --quiet >"$work/rs.out" 2>&1 &
rs_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/rs.out" && break; sleep 0.05; done
url="http://127.0.0.1:$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/rs.out")"
for ((n = 1; n <= runs; n++)); do
    (($(date +%s) >= DEADLINE)) && break
    try managed "$n" --target http --target-spec "$spec"
    for s in research research-sse; do
        try "$s" "$n" --target "$url" --target-spec "$ROOT/examples/research-service/$s.json"
    done
done
kill "$rs_pid" 2>/dev/null
wait "$rs_pid" 2>/dev/null
cpu_hog_stop
for name in managed research research-sse; do
    [[ -n ${failed[$name]:-} ]] && continue
    d=${done_runs[$name]:-0}
    if ((d == runs)); then
        ok "$name: $runs consecutive default runs PASS every scenario under a CPU hog"
    elif ((d > 0)); then
        ok "$name: $d of $runs consecutive default runs fit in the time budget, each PASSES every scenario under a CPU hog"
    else
        bad "$name: not one default run fit in the time budget"
    fi
done
finish

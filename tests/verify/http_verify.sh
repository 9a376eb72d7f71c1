#!/usr/bin/env bash
# The reference research service, correct modes, default runs under a CPU
# hog on every core (where false alarms live): started by torn from
# examples/research-service/managed.json (--persist durable: every scenario
# the HTTP target can run, crash of the service itself, torn-fs, corrupt
# files, dual writes), and running at an address through research.json
# (WebSocket events) and research-sse.json (SSE).  Every run must PASS with
# zero FAIL and zero ERROR; --persist naive must FAIL under the same load.
# HTTP_VERIFY_RUNS runs of each (default 2, ~10 min under the hog; 20 take
# ~80 min).  Measured with 1: managed 117 s, naive 81 s, research 68 s,
# research-sse 52 s (2 cores, both hogged, load ~8).
. "$(dirname "$0")/lib.sh"
RS=${RS_BIN:-$ROOT/build/research-service}
runs=${HTTP_VERIFY_RUNS:-2}
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed, $runs runs of each"
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
all_pass() {  # NAME N: the last run PASSED everything it ran
    if [[ -n $got && $got != *"=FAIL"* && $got != *"=ERROR"* ]]; then
        ok "$1 run $2 PASSES every scenario under a CPU hog"
    else
        bad "$1 run $2: $got"
        grep -E '^(ERROR|  \[)' "$work/$1-$2.err" | head -3
    fi
}

cpu_hog_start
spec=$(managed durable)
for ((n = 1; n <= runs; n++)); do
    run managed "$n" --target http --target-spec "$spec"
    all_pass managed "$n"
done
run naive 0 --target http --target-spec "$(managed naive)"
[[ $got == *"crash-midwrite=FAIL"* && $got == *"power-loss=FAIL"* ]] &&
    ok "--persist naive FAILS crash-midwrite and power-loss under the same load" ||
    bad "--persist naive: $got"

mkdir -p "$work/store"
"$RS" --port 0 --dir "$work/store" --mode atomic --persist durable --quiet >"$work/rs.out" 2>&1 &
rs_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/rs.out" && break; sleep 0.05; done
url="http://127.0.0.1:$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/rs.out")"
for s in research research-sse; do
    for ((n = 1; n <= runs; n++)); do
        run "$s" "$n" --target "$url" --target-spec "$ROOT/examples/research-service/$s.json"
        all_pass "$s" "$n"
    done
done
kill "$rs_pid" 2>/dev/null
wait "$rs_pid" 2>/dev/null
cpu_hog_stop
finish

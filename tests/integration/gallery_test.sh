#!/usr/bin/env bash
# The gallery (examples/gallery/): stores and services torn's authors did not
# shape around torn.  Every bug mode FAILS the scenario that reaches its bug,
# with default parameters, naming the expected criterion (exit 1); the fixed
# modes PASS the scenarios that catch the most bugs (their 20 default runs
# under CPU load are tests/verify/gallery_verify.sh, make verify).  Two cases
# run at a time.  A case whose scenario torn cannot run on that target yet is
# a SKIP line naming the missing feature, not a failure (none today).
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-gallery-test
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
# -S: no site-packages hooks (a third of every start here); the gallery is
# standard library only, and torn restarts an adapter or service many times.
PYS="$PY -S"
G=$ROOT/examples/gallery
echo "seed $SEED (set TORN_TEST_SEED to repeat)"

# kind (exec: jobfiles.py, sqlite: jobsdb.py, http: research_http.py on a port
# we start it on, managed: research_http.py started by torn from
# research_http_managed.json with the mode put in its command) mode scenario
# criterion-or-PASS [what torn needs before it can reach the bug]; "a|b" when
# either names the bug (guard-claim-only: a forbidden transition accepted is
# invalid-rejected from a live state, terminal-stays from a terminal one, and
# which states the seeded probes start from decides which: a CI run's first
# failing attempt had only terminal-stays; sqlite two-commits: each of its
# two transactions adds a version, so a killed update of unknown outcome
# leaves one version too many, no-phantom-write, or the results without
# their status, no-intermediate-state, and a run stops at the first seen:
# 1 of 6 runs of seed 202 under load named only no-phantom-write; a lost
# update, no-lost-update, whose writer had read an older version sends the
# version back, monotonic-reads, which a reader may see first: a full
# make test saw it once for sqlite default-isolation).  Longest
# scenarios first, so that the two lanes finish together.  The managed service
# stores through jobfiles.py's code: each of its store bugs is asserted through
# exec, and torn's service path once per scenario, except dual-write: torn's
# service kill lands between the two writes of research_http.py's
# two-step-batch in only some runs (5 seeds in a row missed it, 03:15), so that
# bug is asserted through exec only (reported to the HTTP target's owner).
cases=(
    "exec no-fsync power-loss no-lost-write"
    "exec no-dir-fsync power-loss no-lost-write"
    "sqlite synchronous-off power-loss no-lost-write"
    "managed no-dir-fsync power-loss no-lost-write"
    "exec thread-lock concurrent-updaters no-lost-update|monotonic-reads"
    "exec early-unlock concurrent-updaters no-lost-update|monotonic-reads"
    "sqlite default-isolation concurrent-updaters no-lost-update|monotonic-reads"
    "http early-unlock concurrent-updaters no-lost-update|monotonic-reads"
    "exec two-writes crash-midwrite no-intermediate-state"
    "sqlite two-commits crash-midwrite no-intermediate-state|no-phantom-write"
    "managed two-writes crash-midwrite no-intermediate-state"
    "exec fsync-error-ignored io-errors no-lost-write"
    "sqlite commit-error-ignored io-errors no-lost-write"
    "managed fsync-error-ignored io-errors no-lost-write"
    "exec two-step-batch dual-write both-or-neither"
    "sqlite two-commit-batch dual-write both-or-neither"
    "sqlite counter-in-python dual-write counter-matches-membership"
    "exec fixed dual-write PASS"
    "sqlite fixed dual-write PASS"
    "managed fixed dual-write PASS"
    "exec guard-claim-only state-transition invalid-rejected|terminal-stays"
    "sqlite transition-select state-transition single-claim"
    "http guard-claim-only state-transition invalid-rejected|terminal-stays"
    "sqlite fixed state-transition PASS"
    "exec no-bak corrupt-read recover-last-known-good"
    "exec bak-reset-version corrupt-read no-wrong-record"
    "exec lenient-retry corrupt-read no-wrong-record"
    "exec cas-toctou optimistic-lock one-winner-per-round"
    "exec protected-field optimistic-lock protected-fields"
    "sqlite select-then-update optimistic-lock one-winner-per-round"
    "sqlite protected-field optimistic-lock protected-fields"
    "http emit-first event-before-persist read-after-event"
    "http tracker-race event-before-persist read-after-event"
    "http stale-cache event-before-persist read-after-event"
    "http failed-two-writes event-before-persist failed-half-written"
    "http cas-toctou optimistic-lock one-winner-per-round"
    "http protected-field optimistic-lock protected-fields"
    "managed bak-reset-version corrupt-read no-wrong-record"
    "exec fixed corrupt-read PASS"
    "exec fixed optimistic-lock PASS"
    "http fixed event-before-persist PASS"
    "managed fixed corrupt-read PASS"
)

# Start research_http.py on a free port; prints "PID PORT".
start_service() {  # mode dir
    $PYS "$G/research_http.py" --port 0 --data-dir "$2" --mode "$1" >"$2.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 150; i++)); do
        grep -q '^listening on' "$2.log" 2>/dev/null && break
        sleep 0.1
    done
    echo "$pid $(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$2.log")"
}

# The criteria of a JSON report's FAIL results, one per line.
criteria() {
    "$PY" -c 'import json,sys
r = json.load(open(sys.argv[1]))
print("\n".join(sorted({v["criterion"] for x in r["results"] if x["verdict"] == "FAIL"
                        for v in x["violations"]})))
print("verdicts:", " ".join(x["verdict"] for x in r["results"]))' "$1" 2>/dev/null
}

# One case: writes "ok|FAIL|SKIP text" to $work/res-N.
run_case() {  # n kind mode scenario criterion needs...
    local n=$1 kind=$2 mode=$3 sc=$4 want=$5; shift 5
    local needs="$*" tag="$kind $mode: $sc" out=$work/c$n.json err=$work/c$n.err
    local target pid="" port rc got t=$SECONDS
    local -a spec=()
    if [[ $kind == exec ]]; then
        target="exec:$PYS $G/jobfiles.py --mode $mode"
    elif [[ $kind == sqlite ]]; then
        target="exec:$PYS $G/jobsdb.py --mode $mode"
    elif [[ $kind == managed ]]; then
        target=http
        "$PY" -c 'import json, sys
s = json.load(open(sys.argv[1]))
cmd = s["service"]["command"]
cmd[cmd.index("--mode") + 1] = sys.argv[4]
cmd[:2] = [sys.argv[2], "-S", sys.argv[3]]
json.dump(s, open(sys.argv[5], "w"))' "$G/research_http_managed.json" "$PY" "$G/research_http.py" \
            "$mode" "$work/spec$n.json"
        spec=(--target-spec "$work/spec$n.json")
    else
        read -r pid port < <(start_service "$mode" "$work/svc$n")
        target=http://127.0.0.1:$port
        spec=(--target-spec "$G/research_http.json")
    fi
    # A bug mode may escape one run by chance (the OS decides where a kill
    # lands): it must be found within 5 runs of the same seed, as a user's
    # "torn run --until-fail" would (seen: sqlite two-commit-batch passed one
    # run of dual-write on a CI clone).  A fixed mode gets exactly one run.
    local -a again=()
    [[ $want != PASS ]] && again=(--until-fail 5)
    timeout -k 5 150 "$TORN" run --quiet --target "$target" "${spec[@]}" --scenario "$sc" \
        --seed "$SEED" --json "$out" --run-dir "$work/r$n" --repro-runs 0 "${again[@]}" \
        >/dev/null 2>"$err"
    rc=$?
    [[ -n $pid ]] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    got=$(criteria "$out")
    t=$((SECONDS - t))
    if [[ -n $needs && ( $rc -eq 2 || $got == *"verdicts: ERROR"* ) ]]; then
        echo "SKIP $tag: torn cannot reach this bug yet, it needs $needs ($(head -c 160 "$err" | tr '\n' ' '))" >"$work/res-$n"
    elif [[ $want == PASS && $rc -eq 0 ]] && grep -qx "verdicts: PASS" <<<"$got"; then
        echo "ok   $tag PASSES (${t} s)" >"$work/res-$n"
    elif [[ $want != PASS && $rc -eq 1 ]] && grep -qxE -- "($want)" <<<"$got"; then
        echo "ok   $tag FAILS naming $want (${t} s)" >"$work/res-$n"
    else
        echo "FAIL $tag (seed $SEED): want $([[ $want == PASS ]] && echo "PASS, exit 0" || echo "exit 1 naming $want"), got exit $rc, criteria: $(tr '\n' ' ' <<<"$got") $(head -c 300 "$err")" >"$work/res-$n"
    fi
}

# A case that cannot start within the time budget (tests/run.sh stops the
# script at 300 s) is a FAIL saying so, not a silent timeout.
BUDGET_S=$(( ${GALLERY_TEST_BUDGET_S:-260} * ${TORN_TEST_TIME_SCALE:-1} ))
t0=$(date +%s)
running=0
for i in "${!cases[@]}"; do
    if [[ ${cases[$i]} != *"${GALLERY_ONLY:-}"* ]]; then
        continue
    elif (($(date +%s) - t0 > BUDGET_S)); then
        echo "FAIL ${cases[$i]}: not started, the test's ${BUDGET_S} s budget is spent (machine overloaded?)" >"$work/res-$i"
        cat "$work/res-$i"
        continue
    fi
    # shellcheck disable=SC2086
    { run_case "$i" ${cases[$i]}; cat "$work/res-$i"; } &
    running=$((running + 1))
    if ((running >= 2)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

for i in "${!cases[@]}"; do
    [[ -e $work/res-$i ]] || continue
    case $(cat "$work/res-$i") in
        ok*) pass=$((pass + 1)) ;;
        SKIP*) ;;
        *) fail=$((fail + 1)) ;;
    esac
done
finish "" " ($(($(date +%s) - t0)) s)"

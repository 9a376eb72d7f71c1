#!/usr/bin/env bash
# Integration tests of replay lines you can trust: --until-fail reproduces a
# file:naive concurrency failure and names the attempt; a failure whose
# interleaving the OS decides prints its measured reproduction rate and
# --until-fail; a scenario that replays exactly keeps a plain replay line;
# torn check judges a saved history the same way every time.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-replay-test  # TORN, SEED, work, ok/bad/check
echo "seed $SEED"
field() {  # JSON report, Python expression over r (its first result)
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["results"][0]
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# --until-fail: state-transition on file:naive fails only on some runs (two
# racers must overlap); repeated with one seed it fails within 30 attempts.
# 100 rounds, not the default 20: with 20, under a busy loop per core, 3 of
# 12 seeds passed all 30 attempts (racers run one after another); with 100
# every one of 12 seeds failed by its 4th attempt, loaded or idle.
until_args=(--target file:naive --scenario state-transition --set rounds=100 --seed "$SEED" --until-fail 30)
"$TORN" run --no-color "${until_args[@]}" \
    --json "$work/until.json" >"$work/until.out" 2>"$work/until.err"
rc=$?
attempt=$(field "$work/until.json" 'r["attempt"]')
[[ $rc -eq 1 && "$(field "$work/until.json" 'r["verdict"], r["attempts_max"]')" == "('FAIL', 30)" ]] &&
    grep -q "^FAIL state-transition x file:naive: .*(seed $SEED, attempt $attempt of at most 30)$" "$work/until.out" &&
    grep -q "failed on attempt $attempt of at most 30 with the same seed" "$work/until.out" &&
    [[ $(grep -c "PASS on attempt" "$work/until.err") -eq $((attempt - 1)) ]] &&
    ok "--until-fail 30: exit 1 at the first FAIL (attempt $attempt), reported as such" ||
    { bad "--until-fail: exit $rc, attempt '$attempt'"; tail -5 "$work/until.out"; }
# Its history holds the reported attempt only.
"$TORN" run --quiet "${until_args[@]}" --history "$work/until.jsonl" >/dev/null 2>&1
check "--until-fail: the history holds one attempt" \
    test "$(grep -c '"scenario-start"' "$work/until.jsonl")" -eq 1

# --until-fail on a correct store: every attempt passes, exit 0.
"$TORN" run --quiet --target file:durable --scenario state-transition --seed "$SEED" \
    --set rounds=4 --until-fail 2 --json "$work/pass.json" >/dev/null 2>&1
rc=$?
[[ $rc -eq 0 && "$(field "$work/pass.json" 'r["verdict"], r["attempt"]')" == "('PASS', 2)" ]] &&
    ok "--until-fail 2 on file:durable: both attempts pass, exit 0" ||
    bad "--until-fail on durable: exit $rc, $(field "$work/pass.json" 'r["verdict"], r.get("attempt")')"

# Without it: the replay line of a concurrency FAIL says how often it
# reproduced in re-runs with the same seed (1 to 3 of them: at most 5 s of
# re-running), and carries --until-fail.
"$TORN" run --no-color --target file:naive --scenario concurrent-updaters --seed "$SEED" \
    --set updates=10 --set payload_len=4096 --json "$work/rate.json" >"$work/rate.out" 2>/dev/null
rc=$?
line=$(grep '^  replay' "$work/rate.out")
[[ $rc -eq 1 ]] && [[ "$line" =~ ^\ \ replay\ \(reproduced\ in\ [0-3]\ of\ [1-3]\ re-runs\ with\ the\ same\ seed\;\ the\ OS\ decides\ the\ interleaving\):\ torn\ run\ .*--seed\ $SEED\ --until-fail\ 20 ]] &&
    [[ "$(field "$work/rate.json" '1 <= r["reproduced"]["runs"] <= 3, r["replay_exact"]')" == "(True, False)" ]] &&
    ok "a concurrency FAIL's replay line states its reproduction rate: ${line%%:*}" ||
    bad "rate: exit $rc, line '$line'"
check "--repro-runs 0: no re-runs, an honest note" bash -c \
    "'$TORN' run --no-color --target file:naive --scenario concurrent-updaters --seed $SEED \
     --set updates=10 --repro-runs 0 2>/dev/null | grep -q '^  replay (the OS decides the interleaving: one run may not reproduce it): '"

# corrupt-read replays exactly: a plain replay line, and it reproduces.
"$TORN" run --no-color --target file:naive --scenario corrupt-read --seed "$SEED" \
    >"$work/exact.out" 2>/dev/null
rc=$?
line=$(grep '^  replay' "$work/exact.out")
[[ $rc -eq 1 && "$line" =~ ^\ \ replay:\ torn\ run\ --target\ \'?file:naive\'?\ --scenario\ corrupt-read\ --seed\ $SEED$ ]] &&
    ok "corrupt-read: a plain replay line" || bad "exact: exit $rc, line '$line'"
eval "\"$TORN\" ${line#  replay: torn } --quiet" >/dev/null 2>&1
check "corrupt-read: the replay line reproduces the FAIL" test $? -eq 1

# torn check re-judges a saved history exactly (only its timing line differs).
"$TORN" run --quiet --target file:naive --scenario concurrent-updaters --seed "$SEED" \
    --set updates=10 --repro-runs 0 --history "$work/h.jsonl" >/dev/null 2>&1
for i in 1 2; do
    "$TORN" check "$work/h.jsonl" --model version 2>&1 | grep -v ' s cpu' >"$work/check$i.out"
    echo "${PIPESTATUS[0]}" >>"$work/check.rc"
done
[[ "$(tr '\n' ' ' <"$work/check.rc")" == "1 1 " ]] && cmp -s "$work/check1.out" "$work/check2.out" &&
    ok "torn check: the same verdict and counterexamples twice" || bad "torn check differs"

# Bad values: one line naming the option and its range, exit 2 (a build
# without --until-fail also exits 2, saying the option is unknown).
for v in 0 1.5 x; do
    "$TORN" run --until-fail "$v" >/dev/null 2>"$work/bad.err"
    rc=$?
    [[ $rc -eq 2 && $(wc -l <"$work/bad.err") -eq 1 ]] &&
        grep -qF -- "--until-fail: expected an integer from 1 to" "$work/bad.err" &&
        ok "--until-fail $v: exit 2, one line" || bad "--until-fail $v: exit $rc"
done

finish

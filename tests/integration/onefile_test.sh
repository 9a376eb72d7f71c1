#!/usr/bin/env bash
# corrupt-read on a store that keeps every record in ONE file
# (examples/adapters/onefile.py): the damage of each case is put back before
# the next case and the next scenario, so the scenarios after it find the
# store intact (before, every later scenario of the run ended in ERROR
# "db.json unreadable"); a flipped byte is made inside the payload of every
# record in the file, so the record read back is among those hit.  The
# fixed mode (checksum, db.json.bak) PASSES corrupt-read, then
# optimistic-lock and state-transition in the same run; no-checksum FAILS
# corrupt-read naming no-wrong-record (the flipped payload served) and
# recover-last-known-good (no copy kept), while the same run's later
# scenarios still PASS.  Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-onefile-test
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
echo "seed $SEED (set TORN_TEST_SEED to repeat)"
store() { echo "exec:$PY -S $ROOT/examples/adapters/onefile.py --mode $1"; }

# The criteria a JSON report's FAIL of SCENARIO names, space-separated.
criteria() {  # report scenario
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(sorted({v["criterion"] for x in r["results"] if x["scenario"] == sys.argv[2]
                       for v in x["violations"]})))' "$1" "$2" 2>/dev/null
}

# The store rewrites every record, twice and with fsyncs, under one lock: at
# load 21 one compare-and-set waited over 5 s, so the limit is generous.
three=(--scenario corrupt-read --scenario optimistic-lock --scenario state-transition
    --timeout-ms 30000)
"$TORN" run --quiet --target "$(store fixed)" "${three[@]}" --seed "$SEED" --all-violations \
    --json "$work/fixed.json" --run-dir "$work/rf" >"$work/fixed.out" 2>&1
rc=$?
bad_show=$work/fixed.out
[[ $rc -eq 0 && $(verdict "$work/fixed.json" corrupt-read) == PASS &&
    $(verdict "$work/fixed.json" optimistic-lock) == PASS &&
    $(verdict "$work/fixed.json" state-transition) == PASS ]] &&
    ok "onefile fixed: corrupt-read (all six cases), then optimistic-lock and state-transition PASS in one run" ||
    bad "onefile fixed: want exit 0 and three PASS, got exit $rc"

"$TORN" run --quiet --target "$(store no-checksum)" "${three[@]}" --seed "$SEED" --all-violations \
    --json "$work/nock.json" --run-dir "$work/rn" >"$work/nock.out" 2>&1
rc=$?
bad_show=$work/nock.out
got=$(criteria "$work/nock.json" corrupt-read)
[[ $rc -eq 1 && $got == *no-wrong-record* && $got == *recover-last-known-good* ]] &&
    ok "onefile no-checksum: corrupt-read FAILS naming no-wrong-record and recover-last-known-good" ||
    bad "onefile no-checksum: want exit 1 naming both, got exit $rc, criteria: $got"
grep -q 'bitflip.*payload digest mismatch' "$work/nock.out" &&
    ok "onefile no-checksum: the flipped byte hit the record read back (digest mismatch)" ||
    bad "onefile no-checksum: no bitflip digest mismatch in the report"
[[ $(verdict "$work/nock.json" optimistic-lock) == PASS &&
    $(verdict "$work/nock.json" state-transition) == PASS ]] &&
    ok "onefile no-checksum: the damage was put back: optimistic-lock and state-transition PASS after it" ||
    bad "onefile no-checksum: later scenarios: $(verdict "$work/nock.json" optimistic-lock) $(verdict "$work/nock.json" state-transition)"
bad_show=""
finish

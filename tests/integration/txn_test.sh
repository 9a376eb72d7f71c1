#!/usr/bin/env bash
# Transactional checkers (list-append, rw-register; Elle's method): one
# history per anomaly in tests/histories/txn/, MODEL-ANOMALY-bad.edn must
# FAIL naming ANOMALY and MODEL-ANOMALY-ok.edn (its twin with the anomaly
# removed) must PASS; torn's JSON form of a history judges the same; a
# generated 20k-transaction valid history PASSES and one with an aborted
# write leaking into reads FAILS with G1a.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
TORN_BIN=${TORN_BIN:-$root/torn}
dir=$root/tests/histories/txn
tmp=$(mktemp -d /tmp/torn-txn.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

for f in "$dir"/*.edn; do
    name=$(basename "$f" .edn)
    model=list-append
    [[ $name == rw-* ]] && model=rw-register
    anomaly=${name#*-}
    anomaly=${anomaly%-*}
    "$TORN_BIN" check --model "$model" "$f" >"$tmp/out" 2>&1
    rc=$?
    if [[ $name == *-bad ]]; then
        if [[ $rc -eq 1 ]] && grep -q "^violation [0-9]*: $anomaly:" "$tmp/out"; then
            ok "$name: FAIL with $anomaly"
        else
            bad "$name: exit $rc, want 1 naming $anomaly"; head -5 "$tmp/out"
        fi
    else
        [[ $rc -eq 0 ]] && ok "$name: PASS" || { bad "$name: exit $rc, want 0"; head -5 "$tmp/out"; }
    fi
done

# Elle's published history with its stated answer: G2-item, and no G-single
"$TORN_BIN" check "$dir/elle/si-without-g-single.edn" >"$tmp/out" 2>&1
rc=$?
kinds=$(sed -n 's/^violation [0-9]*: \([^:]*\):.*/\1/p' "$tmp/out" | sort -u | tr '\n' ' ')
[[ $rc -eq 1 && $kinds == "G2-item " ]] && ok "Elle's si-without-g-single: G2-item only, as Elle states" ||
    { bad "si-without-g-single: exit $rc, anomalies '$kinds', want 'G2-item '"; head -5 "$tmp/out"; }

# torn's own JSON form (keywords as strings) judges the same; the model is guessed
cat >"$tmp/g.jsonl" <<'JSON'
{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["r","y",null]]}
{"type":"invoke","process":1,"f":"txn","value":[["append","x",1],["append","y",1]]}
{"type":"ok","process":1,"f":"txn","value":[["append","x",1],["append","y",1]]}
{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["r","y",[1]]]}
JSON
"$TORN_BIN" check "$tmp/g.jsonl" >"$tmp/out" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "model list-append" "$tmp/out" && grep -q "G-single" "$tmp/out" &&
    ok "torn JSON list-append history: model guessed, G-single" ||
    { bad "torn JSON form: exit $rc"; cat "$tmp/g.jsonl"; head -5 "$tmp/out"; }

if command -v python3 >/dev/null; then
    python3 "$root/bench/gen_txn.py" 20000 --seed 7 >"$tmp/v.edn"
    python3 "$root/bench/gen_txn.py" 20000 --seed 7 --anomaly g1a >"$tmp/a.edn"
    "$TORN_BIN" check "$tmp/v.edn" >"$tmp/out" 2>&1 && ok "20k generated transactions PASS" ||
        { bad "20k generated: exit $?"; head -5 "$tmp/out"; }
    "$TORN_BIN" check "$tmp/a.edn" >"$tmp/out" 2>&1
    rc=$?
    [[ $rc -eq 1 ]] && grep -q "^violation 1: G1a:" "$tmp/out" && ok "injected aborted read FAILS with G1a" ||
        { bad "g1a injection: exit $rc"; head -5 "$tmp/out"; }
    python3 "$root/bench/gen_txn.py" 20000 --seed 7 --model rw-register >"$tmp/r.edn"
    "$TORN_BIN" check "$tmp/r.edn" >"$tmp/out" 2>&1 && ok "20k generated rw-register transactions PASS" ||
        { bad "20k rw-register: exit $?"; head -5 "$tmp/out"; }
fi

# an ok transaction without its value cannot be judged (its reads would look empty)
printf '{"type":"invoke","process":0,"f":"txn","value":[["r","x",null]]}\n{"type":"ok","process":0,"f":"txn"}\n' >"$tmp/nv.jsonl"
"$TORN_BIN" check --model list-append "$tmp/nv.jsonl" >"$tmp/out" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "nv.jsonl:2: an ok txn needs its value" "$tmp/out" && ok "an ok txn without a value is an input error naming its line" ||
    { bad "ok txn without value: exit $rc"; cat "$tmp/out"; }

finish

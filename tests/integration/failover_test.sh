#!/usr/bin/env bash
# The failover scenario on real servers (torn starts a Redis primary, a
# replica of it through a delayed link, crashes the primary cut off from its
# replica and promotes the replica):
# - without WAIT it FAILS for the right reason: acknowledged writes absent on
#   the promoted replica (criterion acknowledged-survives-failover, the seq
#   the replica holds is below the acknowledged ones, lost writes counted);
# - with WAIT 1 after each write it PASSES, with every planned failover done
#   and writes acknowledged (also under a busy loop on each core: this
#   script runs the PASS case with one);
# - a target it cannot run on is exit 2 with one line; nothing is left
#   running or on disk.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-failover-test # TORN, SEED, work, check
mkdir "$work/tmp"
export TMPDIR=$work/tmp
echo "seed $SEED"
if ! command -v redis-server >/dev/null; then
    echo "SKIP failover: redis-server not installed (scripts/deps.sh installs redis-server)"
    echo "0 passed, 0 failed"
    exit 0
fi
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

# --- without WAIT: acknowledged writes lost on failover ----------------------
"$TORN" run --target redis --scenario failover --seed "$SEED" --until-fail 3 --quiet \
    --json "$work/async.json" >"$work/async.out" 2>"$work/async.err"
rc=$?
check "no WAIT: exit 1 (got $rc)" test "$rc" = 1
check "no WAIT: FAIL, acknowledged writes absent on the promoted replica" python3 - "$work/async.json" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))["results"][0]
assert r["verdict"] == "FAIL", r["verdict"]
vs = [v for v in r["violations"] if v["criterion"] == "acknowledged-survives-failover"]
assert vs, r["violations"][:3]
for v in vs:
    m = re.search(r"(\d+) acknowledged writes absent on the promoted replica \(seq (\d+)\.\.(\d+) "
                  r"acknowledged by the primary, the promoted replica holds (?:no record, )?seq (\d+)\)",
                  v["evidence"])
    assert m, v["evidence"]
    lost, first, last, held = map(int, m.groups())
    assert held < first <= last and lost == last - held, v["evidence"]
assert r["metrics"]["lost_acknowledged_writes"] > 0, r["metrics"]
assert {v["criterion"] for v in r["violations"]} == {"acknowledged-survives-failover"}, r["violations"]
PY

# --- WAIT 1 after each write: nothing acknowledged is lost, under CPU load -----
hogs=()
for _ in 1 2; do (while :; do :; done) & hogs+=($!); done
"$TORN" run --target redis --scenario failover --seed "$SEED" --set wait_replicas=1 --quiet \
    --json "$work/wait.json" >"$work/wait.out" 2>"$work/wait.err"
rc=$?
kill "${hogs[@]}" 2>/dev/null
wait "${hogs[@]}" 2>/dev/null
check "WAIT 1: exit 0 under a busy loop on each core (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/wait.out" "$work/wait.err"
check "WAIT 1: 4 failovers, writes acknowledged, none lost" python3 - "$work/wait.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
m = r["metrics"]
assert r["verdict"] == "PASS" and m["failovers"] == 4, (r["verdict"], m)
assert m["acknowledged_writes"] >= 8 and m["lost_acknowledged_writes"] == 0, m
PY

# --- refused targets ------------------------------------------------------------
"$TORN" run --target file --scenario failover >"$work/bad.out" 2>"$work/bad.err"
rc=$?
check "failover on a file target: exit 2" test "$rc" = 2
check "  one line naming what it needs" grep -q 'failover needs a managed Redis' "$work/bad.out" "$work/bad.err"
"$TORN" run --target redis --scenario failover --set wait_replicas=2 >"$work/bad.out" 2>"$work/bad.err"
rc=$?
check "wait_replicas=2 (one replica): exit 2, one line" bash -c "test $rc = 2 &&
    test \$(wc -l <'$work/bad.err') = 1 && grep -q wait_replicas '$work/bad.err'"

# --- nothing left behind --------------------------------------------------------
check "no server or link process left" bash -c "! ps -eo args | grep -v grep | grep -q '$work'"
check "no run directory left by the passing run" bash -c "test -z \"\$(ls '$work/tmp' | grep -v '^torn-run-' ; ls -d '$work'/tmp/torn-run-*/torn-redis-* 2>/dev/null)\""

finish

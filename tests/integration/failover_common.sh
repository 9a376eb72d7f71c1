# Shared by the failover tests and the fault-plan fuzzing tests (sourced, not run).
# lost_for_reason JSON: the report's one result FAILED only for
# acknowledged-survives-failover, each violation's numbers consistent: the
# seq the promoted node holds is below the first acknowledged one it lacks,
# and the count is the difference; lost writes counted in the metrics.
lost_for_reason() {
    python3 - "$1" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))["results"][0]
assert r["verdict"] == "FAIL", r["verdict"]
vs = [v for v in r["violations"] if v["criterion"] == "acknowledged-survives-failover"]
assert vs and {v["criterion"] for v in r["violations"]} == {"acknowledged-survives-failover"}, \
    r["violations"][:3]
for v in vs:
    m = re.search(r"(\d+) acknowledged writes absent on the promoted replica \(seq (\d+)\.\.(\d+) "
                  r"acknowledged by the primary, the promoted replica holds (?:no record, )?seq (\d+)\)",
                  v["evidence"])
    assert m, v["evidence"]
    lost, first, last, held = map(int, m.groups())
    assert held < first <= last and lost == last - held, v["evidence"]
assert r["metrics"]["lost_acknowledged_writes"] > 0, r["metrics"]
PY
}
# none_lost JSON FAILOVERS MIN_ACKED: PASS, every planned failover done,
# at least MIN_ACKED writes acknowledged, none lost.
none_lost() {
    python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
m = r["metrics"]
assert r["verdict"] == "PASS" and m["failovers"] == int(sys.argv[2]), (r["verdict"], m)
assert m["acknowledged_writes"] >= int(sys.argv[3]) and m["lost_acknowledged_writes"] == 0, m
PY
}
# with_hogs CMD...: run CMD with a busy loop on each of 2 cores; its exit code.
with_hogs() {
    local hogs=() rc
    for _ in 1 2; do (while :; do :; done) & hogs+=($!); done
    "$@"
    rc=$?
    kill "${hogs[@]}" 2>/dev/null
    wait "${hogs[@]}" 2>/dev/null
    return $rc
}
# pg_failover_setup WHAT: a TMPDIR the unprivileged postgres user can
# traverse, the seed printed; without pg_basebackup one SKIP line naming WHAT
# and the closing line, then exit 0.  After fs_common.sh (work, SEED).
pg_failover_setup() {
    mkdir "$work/tmp"
    chmod 711 "$work/tmp"
    export TMPDIR=$work/tmp
    echo "seed $SEED"
    if ! ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1 && ! command -v pg_basebackup >/dev/null; then
        echo "SKIP $1: pg_basebackup not installed (scripts/deps.sh installs postgresql)"
        echo "0 passed, 0 failed"
        exit 0
    fi
}

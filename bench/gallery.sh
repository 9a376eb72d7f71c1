#!/usr/bin/env bash
# How long a plain default run takes to find each gallery bug
# (examples/gallery/): for every bug mode, `torn run --seed 1` with the
# default scenario set and parameters, timed from its start until torn prints
# the FAIL of the scenario that reaches the bug; torn is then interrupted
# (SIGINT: it writes its partial report) and the report must name the
# expected criterion.  Prints one row per mode, then the counts found and
# found within the issue's goal of 30 s, with the load average.
#
#   bench/gallery.sh                 all 46 modes, one at a time
#   GALLERY_ONLY=two-writes bench/gallery.sh    the rows containing that text
#   GALLERY_SEED=2 bench/gallery.sh  another seed
#
# One run at a time (a time is the figure).  Each run is bounded: 120 s, then
# the row says "not found".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TORN=${TORN_BIN:-$ROOT/build/torn}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
G=$ROOT/examples/gallery
SEED=${GALLERY_SEED:-1}
LIMIT=${GALLERY_LIMIT_S:-120}
work=$(mktemp -d /tmp/torn-bench-gallery.XXXXXX)
svc_pid=""
cleanup() {
    [[ -n $svc_pid ]] && kill "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kind mode scenario criterion (a|b: either names the bug); kinds as in
# tests/integration/gallery_test.sh: exec (jobfiles.py), sqlite (jobsdb.py),
# managed (research_http.py started by torn), http (at an address).
cases=(
    "exec no-fsync io-errors no-lost-write"
    "exec no-dir-fsync io-errors no-lost-write"
    "exec fsync-error-ignored io-errors no-lost-write"
    "exec thread-lock concurrent-updaters no-lost-update|monotonic-reads"
    "exec early-unlock concurrent-updaters no-lost-update|monotonic-reads"
    "exec no-bak corrupt-read recover-last-known-good"
    "exec bak-reset-version corrupt-read no-wrong-record"
    "exec lenient-retry corrupt-read no-wrong-record"
    "exec two-writes crash-midwrite no-intermediate-state"
    "exec cas-toctou optimistic-lock one-winner-per-round"
    "exec protected-field optimistic-lock protected-fields"
    "exec guard-claim-only state-transition invalid-rejected|terminal-stays"
    "exec two-step-batch dual-write both-or-neither"
    "sqlite default-isolation concurrent-updaters no-lost-update|monotonic-reads"
    "sqlite select-then-update optimistic-lock one-winner-per-round"
    "sqlite protected-field optimistic-lock protected-fields"
    "sqlite transition-select state-transition single-claim"
    "sqlite two-commits crash-midwrite no-intermediate-state|no-phantom-write"
    "sqlite two-commit-batch dual-write both-or-neither"
    "sqlite counter-in-python dual-write counter-matches-membership"
    "sqlite synchronous-off io-errors no-lost-write"
    "sqlite commit-error-ignored io-errors no-lost-write"
    "managed emit-first event-before-persist read-after-event"
    "managed tracker-race event-before-persist read-after-event"
    "managed stale-cache event-before-persist read-after-event"
    "managed failed-two-writes event-before-persist failed-half-written"
    "managed early-unlock concurrent-updaters no-lost-update|monotonic-reads"
    "managed cas-toctou optimistic-lock one-winner-per-round"
    "managed protected-field optimistic-lock protected-fields"
    "managed guard-claim-only state-transition invalid-rejected|terminal-stays"
    "managed two-writes crash-midwrite no-intermediate-state"
    "managed no-fsync io-errors no-lost-write"
    "managed no-dir-fsync io-errors no-lost-write"
    "managed fsync-error-ignored io-errors no-lost-write"
    "managed no-bak corrupt-read recover-last-known-good"
    "managed bak-reset-version corrupt-read no-wrong-record"
    "managed lenient-retry corrupt-read no-wrong-record"
    "managed two-step-batch dual-write both-or-neither"
    "http emit-first event-before-persist read-after-event"
    "http tracker-race event-before-persist read-after-event"
    "http stale-cache event-before-persist read-after-event"
    "http failed-two-writes event-before-persist failed-half-written"
    "http early-unlock concurrent-updaters no-lost-update|monotonic-reads"
    "http cas-toctou optimistic-lock one-winner-per-round"
    "http protected-field optimistic-lock protected-fields"
    "http guard-claim-only state-transition invalid-rejected|terminal-stays"
)

# The criteria the (partial) JSON report names for SCENARIO, one per line.
criteria_of() {  # report scenario
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("\n".join(sorted({v["criterion"] for x in r["results"]
                        if x["scenario"] == sys.argv[2] and x["verdict"] == "FAIL"
                        for v in x["violations"]})))' "$1" "$2" 2>/dev/null
}

# Start research_http.py on a free port: sets svc_pid and svc_port.
start_service() {  # mode
    local d=$work/svc-$1 i
    mkdir -p "$d"
    "$PY" -S "$G/research_http.py" --port 0 --data-dir "$d" --mode "$1" >"$d.log" 2>&1 &
    svc_pid=$!
    for ((i = 0; i < 150; i++)); do
        grep -q '^listening on' "$d.log" 2>/dev/null && break
        sleep 0.1
    done
    svc_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$d.log")
}

# One mode: prints its table row; returns 0 when found naming the criterion,
# and sets $found_s.
measure() {  # n kind mode scenario criterion
    local n=$1 kind=$2 mode=$3 sc=$4 want=$5 target pid t0 line now got="" rep
    local -a spec=()
    rep=$work/r$n.json
    found_s=""
    case $kind in
        exec) target="exec:$PY -S $G/jobfiles.py --mode $mode" ;;
        sqlite) target="exec:$PY -S $G/jobsdb.py --mode $mode" ;;
        managed)
            target=http
            "$PY" -c 'import json, sys
s = json.load(open(sys.argv[1]))
cmd = s["service"]["command"]
cmd[cmd.index("--mode") + 1] = sys.argv[4]
cmd[:2] = [sys.argv[2], "-S", sys.argv[3]]
json.dump(s, open(sys.argv[5], "w"))' "$G/research_http_managed.json" "$PY" "$G/research_http.py" \
                "$mode" "$work/spec$n.json"
            spec=(--target-spec "$work/spec$n.json") ;;
        http)
            start_service "$mode"
            target=http://127.0.0.1:$svc_port
            spec=(--target-spec "$G/research_http.json") ;;
    esac
    t0=$(date +%s%N)
    coproc TORNRUN { exec timeout -k 5 "$LIMIT" "$TORN" run --no-color --seed "$SEED" \
        --target "$target" "${spec[@]}" --json "$rep" --run-dir "$work/run$n" 2>&1; }
    pid=$TORNRUN_PID
    while IFS= read -r line <&"${TORNRUN[0]}"; do
        if [[ $line == "torn: $sc x "*": FAIL"* ]]; then
            now=$(date +%s%N)
            found_s=$(( (now - t0) / 100000000 ))
            kill -INT "$pid" 2>/dev/null
            break
        fi
    done
    # Drain until torn has written its report and exited.
    cat <&"${TORNRUN[0]}" >/dev/null 2>&1
    wait "$pid" 2>/dev/null
    if [[ -n $svc_pid ]]; then
        kill "$svc_pid" 2>/dev/null
        wait "$svc_pid" 2>/dev/null
        svc_pid=""
    fi
    rm -rf "$work/run$n"
    [[ -n $found_s ]] && got=$(criteria_of "$rep" "$sc")
    if [[ -n $found_s ]] && grep -qxE -- "($want)" <<<"$got"; then
        found_s="$((found_s / 10)).$((found_s % 10))"
        printf '| %-8s | %-20s | %-44s | %6s s | %s\n' "$kind" "$mode" "$sc: ${want//|/ or }" "$found_s" \
            "$( (( ${found_s%.*} < 30 )) && echo "yes |" || echo "NO |")"
        return 0
    fi
    printf '| %-8s | %-20s | %-44s | %8s | %s\n' "$kind" "$mode" "$sc: ${want//|/ or }" "-" \
        "not found naming it (criteria: $(tr '\n' ' ' <<<"$got")) |"
    found_s=""
    return 1
}

[[ -x $TORN ]] || { echo "bench/gallery.sh: $TORN is not built (make)" >&2; exit 2; }
echo "gallery bugs, plain default run (--seed $SEED), time until the FAIL naming the criterion; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '| %-8s | %-20s | %-44s | %8s | %s\n' kind mode "scenario: criterion" "found" "< 30 s |" \
    --- --- --- --- "--- |"
total=0 found=0 fast=0
for i in "${!cases[@]}"; do
    [[ ${cases[$i]} == *"${GALLERY_ONLY:-}"* ]] || continue
    total=$((total + 1))
    # shellcheck disable=SC2086
    if measure "$i" ${cases[$i]}; then
        found=$((found + 1))
        ((${found_s%.*} < 30)) && fast=$((fast + 1))
    fi
done
echo "found $found of $total naming their criterion, $fast within 30 s (goal: all); load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# The seeds' store-layout and read-path criteria on the file target and on
# exec adapters (the HTTP target's are in contracts_test.sh): seed 001's
# "only {id}.json and {id}.json.bak after a write" (--target-opt layout=1)
# and seed 003's "old and new structure agree at every moment"
# (--target-opt read_also=FIELDS), each broken on purpose by a variant that
# must FAIL with that criterion only while the correct one PASSES.
#
# Robustness: a straytmp / leave-tmp / bad-time write breaks its criterion
# every time; the late index lags each of the 160 updates by 50 ms while
# readers poll (17 to 79 disagreements a run), asked for with --until-fail 3.
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/torn-contracts-exec-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
torn_copy "${TORN_BIN:-$root/torn}" "$tmp" && torn=$tmp/torn
bad_show=$tmp/last.out   # bad shows the last torn run's output

# only CRITERION: the FAIL broke CRITERION and nothing else.
only() {
    local broken
    broken=$(grep -o '^  \[[a-z-]*\]' "$tmp/last.out" | sort -u | tr -d ' []' | tr '\n' ' ')
    if [[ $broken == "$1 " ]]; then ok "  ... and only $1"; else
        bad "  ... broke '$broken', wanted only '$1'"; fi
}

# The file target's store layout (--target-opt layout=1): after each
# scenario only <id>.json, <id>.json.bak and <id>.lock may remain; durable
# removes the temps of writers killed mid-write when a store opens (so
# crash-midwrite leaves none), straytmp leaves each write's temp behind.
file_run() {  # RC PATTERN WHAT STRATEGY SCENARIO...
    local want=$1 pat=$2 what=$3 strategy=$4; shift 4
    local args=() s
    for s in "$@"; do args+=(--scenario "$s"); done
    run_expect "$want" "$pat" "$what" --target "file:$strategy" --target-opt layout=1 \
        "${args[@]}" --set updates=20
}
file_run 0 'torn: 2 PASS' "file:durable with layout=1 PASSES concurrent-updaters and crash-midwrite" \
    durable concurrent-updaters crash-midwrite
file_run 1 'store-layout.*concurrent-updaters.json.tmp .*left behind' \
    "file:straytmp (each write's temp left as <id>.json.tmp) FAILS store-layout" \
    straytmp concurrent-updaters
only store-layout

# Exec adapters: the store layout (--target-opt layout=1: the data directory
# holds only what the adapter's files reply declares and keeps) and two read
# paths (--target-opt read_also=FIELDS: op read_also beside read).  The
# jobstore adapter's --index locked writes its status index under the
# record's lock, --index late 50 ms after it (17 to 79 disagreements in
# each of 6 runs here; --until-fail 3 all the same); --mode leave-tmp leaves
# each write's temp behind.
J=$root/examples/adapters/jobstore.py
exec_run() {  # RC PATTERN WHAT ADAPTER-ARGS [MORE-ARGS]
    run_expect "$1" "$2" "$3" --target "exec:python3 -S $J $4" --target-opt layout=1 \
        --target-opt read_also=status,version,_updated_at --scenario concurrent-updaters \
        --set updates=20 "${@:5}"
}
exec_run 0 '"read_paths_compared":[[:space:]]*[1-9]' \
    "jobstore durable --index locked PASSES layout and read_also with reads compared" \
    "--mode durable --index locked" --json -
exec_run 1 'read-paths-agree.*read_also path is behind' \
    "jobstore --index late (index written after the record) FAILS read-paths-agree" \
    "--mode durable --index late" --until-fail 3
only read-paths-agree
exec_run 1 'store-layout.*concurrent-updaters.json.tmp .*left behind' \
    "jobstore --mode leave-tmp FAILS store-layout" "--mode leave-tmp --index locked"
only store-layout

# Record invariants for exec adapters (--target-opt invariants=FILE, the
# language of an HTTP spec's "invariants"): every record a reply carries is
# judged; jobstore --mode bad-time writes _updated_at without T and zone.
inv=$root/examples/adapters/invariants.json
inv_run() {  # RC PATTERN WHAT MODE
    run_expect "$1" "$2" "$3" --target "exec:python3 -S $J --mode $4" \
        --target-opt "invariants=$inv" --scenario concurrent-updaters --scenario optimistic-lock \
        --set updates=20
}
inv_run 0 'torn: 2 PASS' "jobstore durable PASSES the invariants file on every record" durable
inv_run 1 'invariant-updated-at-iso.*expected {"format":"iso8601"' \
    "jobstore bad-time (_updated_at without T and zone) FAILS invariant-updated-at-iso" bad-time
only invariant-updated-at-iso
printf '{"invariants": {"x": {"then": {"/t": {"format": "rfc822"}}}}}' >"$tmp/badinv.json"
timeout -k 2 20 "$torn" run --quiet --no-color --target "exec:true" \
    --target-opt "invariants=$tmp/badinv.json" --scenario crash-midwrite >"$tmp/last.out" 2>&1
rc=$? n=$(wc -l <"$tmp/last.out")
if [[ $rc == 2 && $n == 1 ]] && grep -q "target spec $tmp/badinv.json: field invariants.x.then./t.format" "$tmp/last.out"; then
    ok "a malformed invariants file: exit 2, one line naming the file and the field"
else
    bad "a malformed invariants file: wanted exit 2 and one line, got exit $rc, $n lines"
fi

finish

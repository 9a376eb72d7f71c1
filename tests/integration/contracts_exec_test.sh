#!/usr/bin/env bash
# The seeds' store-layout and read-path criteria on the file target and on
# exec adapters (the HTTP target's are in contracts_test.sh): seed 001's
# "only {id}.json and {id}.json.bak after a write" (--target-opt layout=1)
# and seed 003's "old and new structure agree at every moment"
# (--target-opt read_also=FIELDS), each broken on purpose by a variant that
# must FAIL with that criterion only while the correct one PASSES.
#
# Robustness: a straytmp / leave-tmp write leaves its temp every time, and
# the late index lags each of the ~20 x 10 updates by 10 ms while readers
# poll (hundreds of disagreements a run): neither depends on timing luck.
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/torn-contracts-exec-test.XXXXXX)
cp "${TORN_BIN:-$root/torn}" "$tmp/torn" && torn=$tmp/torn
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
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
    timeout -k 2 120 "$torn" run --quiet --no-color --repro-runs 0 --target "file:$strategy" \
        --target-opt layout=1 "${args[@]}" --set updates=20 >"$tmp/last.out" 2>&1
    local rc=$?
    if [[ $rc == "$want" ]] && grep -q -- "$pat" "$tmp/last.out"; then ok "$what (exit $rc)"; else
        bad "$what: wanted exit $want and '$pat', got exit $rc"; fi
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
# record's lock, --index late 10 ms after it (hundreds of disagreements a
# run); --mode leave-tmp leaves each write's temp behind.
J=$root/examples/adapters/jobstore.py
exec_run() {  # RC PATTERN WHAT ADAPTER-ARGS [--json -]
    timeout -k 2 150 "$torn" run --quiet --no-color --repro-runs 0 --target "exec:python3 -S $J $4" \
        --target-opt layout=1 --target-opt read_also=status,version,_updated_at \
        --scenario concurrent-updaters --set updates=20 "${@:5}" >"$tmp/last.out" 2>&1
    local rc=$?
    if [[ $rc == "$1" ]] && grep -q -- "$2" "$tmp/last.out"; then ok "$3 (exit $rc)"; else
        bad "$3: wanted exit $1 and '$2', got exit $rc"; fi
}
exec_run 0 '"read_paths_compared":[[:space:]]*[1-9]' \
    "jobstore durable --index locked PASSES layout and read_also with reads compared" \
    "--mode durable --index locked" --json -
exec_run 1 'read-paths-agree.*read_also path is behind' \
    "jobstore --index late (index written after the record) FAILS read-paths-agree" \
    "--mode durable --index late"
only read-paths-agree
exec_run 1 'store-layout.*concurrent-updaters.json.tmp .*left behind' \
    "jobstore --mode leave-tmp FAILS store-layout" "--mode leave-tmp --index locked"
only store-layout

finish

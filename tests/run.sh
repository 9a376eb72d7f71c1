#!/usr/bin/env bash
# Run every unit-test binary in the given directories, then every
# integration script tests/integration/*_test.sh, each with a time limit.
# Every program prints "N passed, N failed" last; this sums them and
# closes with the same line.  Exit 1 if anything failed.
#
# With TORN_TEST_SUITE=verify it runs tests/verify/*_verify.sh instead (the
# repetition proofs of `make verify`, 1500 s each, 28 min in all: see below).
#
# Environment: TORN_BIN (the torn binary integration tests use),
# TORN_TEST_ONLY (a substring: run only matching tests), TORN_TEST_TIME_SCALE
# (multiply every time limit: `make SANITIZE=1 test` sets 3).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export TORN_BIN=${TORN_BIN:-$root/torn}
export TORN_ROOT=$root
total_pass=0
total_fail=0
failed_names=()

run_one() {  # name limit_s cmd...
    local name=$1 limit=$2; shift 2
    if [[ -n "${TORN_TEST_ONLY:-}" && "$name" != *"$TORN_TEST_ONLY"* ]]; then
        return
    fi
    local out rc start end
    limit=$((limit * ${TORN_TEST_TIME_SCALE:-1}))
    out=$(mktemp /tmp/torn-test-out.XXXXXX)
    start=$(date +%s)
    timeout -k 5 "$limit" "$@" >"$out" 2>&1
    rc=$?
    end=$(date +%s)
    local line
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    local p=0 f=0
    if [[ -n "$line" ]]; then
        p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z_-]+: )?[0-9]+ passed, ([0-9]+) failed.*/\2/' <<<"$line")
    fi
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        f=1   # crashed, timed out or failed without saying so
    fi
    if [[ $f -ne 0 ]]; then
        echo "--- $name: FAILED (exit $rc, $((end - start)) s)"
        tail -40 "$out" | sed 's/^/    /'
        failed_names+=("$name")
    else
        echo "--- $name: $p passed ($((end - start)) s)"
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    rm -f "$out"
}

for dir in "$@"; do
    [[ -d "$dir" ]] || continue
    for bin in "$dir"/*_test; do
        [[ -x "$bin" ]] || continue
        run_one "$(basename "$(dirname "$dir")")/$(basename "$bin")" 120 "$bin"
    done
done

if [[ "${TORN_TEST_SUITE:-test}" == verify ]]; then
    # The proofs share one budget (TORN_VERIFY_BUDGET_S, default 28 min, so
    # make verify stays under 30): TORN_VERIFY_DEADLINE (epoch seconds) tells
    # a script that repeats runs when to stop starting new ones.  The
    # fixed-size proofs run first; gallery_verify.sh, which fills the time
    # that is left, runs last.
    export TORN_VERIFY_DEADLINE=$(($(date +%s) + ${TORN_VERIFY_BUDGET_S:-1680}))
    scripts=()
    for s in "$here"/verify/*_verify.sh; do
        [[ $s == */gallery_verify.sh ]] || scripts+=("$s")
    done
    [[ -e "$here/verify/gallery_verify.sh" ]] && scripts+=("$here/verify/gallery_verify.sh")
    limit=1500
else
    scripts=("$here"/integration/*_test.sh) limit=300
fi
for script in "${scripts[@]}"; do
    [[ -e "$script" ]] || continue
    run_one "$(basename "$script")" "$limit" bash "$script"
done

if ((${#failed_names[@]})); then
    echo "failed: ${failed_names[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]

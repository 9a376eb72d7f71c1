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
# (multiply every time limit: `make SANITIZE=1 test` sets 3), TORN_TEST_JOBS
# (integration scripts run at once, default 2; 1 = one after another).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export TORN_BIN=${TORN_BIN:-$root/torn}
export TORN_ROOT=$root
total_pass=0
total_fail=0
failed_names=()

resdir=$(mktemp -d /tmp/torn-test-res.XXXXXX)
trap 'rm -rf "$resdir"' EXIT

# Run one test program: its output in $resdir/NAME.out, "rc seconds" in
# $resdir/NAME.res.  Safe to call from several lanes at once.
exec_one() {  # name limit_s cmd...
    local name=${1//\//__} limit=$2; shift 2
    local start rc
    limit=$((limit * ${TORN_TEST_TIME_SCALE:-1}))
    start=$(date +%s)
    timeout -k 5 "$limit" "$@" >"$resdir/$name.out" 2>&1
    rc=$?
    echo "$rc $(($(date +%s) - start))" >"$resdir/$name.res"
}

# "P F" of a finished program: its closing "N passed, N failed" line; a
# program that exited non-zero without counting a failure counts one.
counts_of() {  # name
    local line p=0 f=0 rc secs k=${1//\//__}
    read -r rc secs <"$resdir/$k.res"
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$resdir/$k.out" | tail -1)
    if [[ -n "$line" ]]; then
        p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z_-]+: )?[0-9]+ passed, ([0-9]+) failed.*/\2/' <<<"$line")
    fi
    [[ $rc -ne 0 && $f -eq 0 ]] && f=1   # crashed, timed out or failed without saying so
    echo "$p $f $rc $secs"
}

# The one line a finished program gets (written in one piece: lanes share
# the terminal), and with tail=1 the end of a failed program's output.
summary_of() {  # name [tail]
    local p f rc secs
    read -r p f rc secs < <(counts_of "$1")
    if [[ $f -ne 0 ]]; then
        echo "--- $1: FAILED (exit $rc, $secs s)"
        if [[ ${2:-0} == 1 ]]; then
            # Every FAIL line wherever it is, then the end of the output.
            grep -E '^ *(FAIL|not ok) ' "$resdir/${1//\//__}.out" | head -20 | sed 's/^/    /'
            tail -40 "$resdir/${1//\//__}.out" | sed 's/^/    /'
        fi
    else
        echo "--- $1: $p passed ($secs s)"
        # A repetition proof's lines say how many runs it fitted: keep them.
        if [[ "${TORN_TEST_SUITE:-test}" == verify ]]; then
            grep -E '^ok ' "$resdir/${1//\//__}.out" | sed 's/^/    /'
        fi
    fi
    return 0
}

# Add a finished program to the totals.
tally() {  # name
    local p f rc secs
    read -r p f rc secs < <(counts_of "$1")
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    ((f)) && failed_names+=("$1")
    return 0
}

selected() { [[ -z "${TORN_TEST_ONLY:-}" || "$1" == *"$TORN_TEST_ONLY"* ]]; }

run_one() {  # name limit_s cmd...: one program, in order, reported at once
    selected "$1" || return 0
    exec_one "$@"
    summary_of "$1" 1
    tally "$1"
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
if [[ "${TORN_TEST_SUITE:-test}" == verify || ${TORN_TEST_JOBS:-2} -le 1 ]]; then
    for script in "${scripts[@]}"; do
        [[ -e "$script" ]] || continue
        run_one "$(basename "$script")" "$limit" bash "$script"
    done
else
    # Integration scripts run in TORN_TEST_JOBS lanes (default 2: most of
    # their time is spent waiting on servers, kills and timeouts, and every
    # test must hold under CPU load anyway).  A lane is a list of scripts run
    # one after another: the scripts that start PostgreSQL share one lane,
    # since redis_pg_test counts SysV segments left by dead servers machine-
    # wide.  Longest lanes start first; each script's line is printed when it
    # ends, the failures' output and the totals at the end, in name order.
    pg_lane="" lanes=() rest=()
    for script in "${scripts[@]}"; do
        name=$(basename "$script")
        selected "$name" || continue
        if grep -q 'initdb\|pg_ctl\|--target postgres\|postgres:' "$script"; then
            pg_lane+="$name "
        else
            rest+=("$name")
        fi
    done
    [[ -n $pg_lane ]] && lanes+=("$pg_lane")
    slow=" gallery_test.sh http_test.sh contracts_test.sh core_test.sh exec_test.sh fresh_machine_test.sh fs_test.sh fuzz_test.sh gate_test.sh "
    for name in "${rest[@]}"; do [[ $slow == *" $name "* ]] && lanes+=("$name"); done
    for name in "${rest[@]}"; do [[ $slow == *" $name "* ]] || lanes+=("$name"); done
    running=0
    for lane in "${lanes[@]}"; do
        if ((running >= ${TORN_TEST_JOBS:-2})); then
            wait -n
            running=$((running - 1))
        fi
        (for name in $lane; do
            exec_one "$name" "$limit" bash "$here/integration/$name"
            summary_of "$name"
        done) &
        running=$((running + 1))
    done
    wait
    for script in "${scripts[@]}"; do
        name=$(basename "$script")
        [[ -e "$resdir/$name.res" ]] || continue
        tally "$name"
    done
    for name in "${failed_names[@]}"; do summary_of "$name" 1; done
fi

if ((${#failed_names[@]})); then
    echo "failed: ${failed_names[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]

#!/usr/bin/env bash
# Fuzzing (issue 6): replay the seed corpora and fuzz/regress/ through every
# harness (plain cc, no AFL++ needed); prove the schedule checker flags the
# naive and rename strategies and passes durable on the same schedules, and
# that `torn replay --schedule` explains it; then, with AFL++: a ~1 s smoke
# campaign per harness through `torn fuzz`, the fuzzer finding the naive and
# rename violations from a trivial seed within 20 s each, and durable none.
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
bindir=$(dirname "$(readlink -f "$torn")")/fuzz   # ./torn is a link into build/
harnesses=(schedule spec target_spec record file_read http_body http_events history exec_reply proxy_toxic params edn gate)
tmp=$(mktemp -d /tmp/torn-fuzz-test.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/lib.sh"
skip=0

# ---- replay: seed corpora and regression inputs, no AFL++ needed
for h in "${harnesses[@]}"; do
    dirs=("$root/fuzz/corpus/$h")
    [[ -d "$root/fuzz/regress/$h" ]] && dirs+=("$root/fuzz/regress/$h")
    if [[ ! -x "$bindir/replay-$h" ]]; then
        bad "replay-$h not built (make fuzz-replay)"
    elif "$bindir/replay-$h" "${dirs[@]}" >"$tmp/replay.out" 2>&1; then
        ok "replay $h: $(tail -1 "$tmp/replay.out")"
    else
        bad "replay $h"; tail -5 "$tmp/replay.out"
    fi
done

# ---- regression inputs again under ASan/UBSan (clang's UBSan also catches
# out-of-range float casts, the bugs the fuzzer found in record.c/exec.c),
# when the AFL++ ASan build exists (make fuzz-asan); make test replays them
# under ASan/UBSan through the libFuzzer build instead (libfuzzer_test.sh)
asan=$root/build-fuzz/asan
for h in "${harnesses[@]}"; do
    [[ -d "$root/fuzz/regress/$h" && -x "$asan/fuzz-$h" ]] || continue
    n=0 badf=
    for f in "$root/fuzz/regress/$h"/*; do
        n=$((n + 1))
        "$asan/fuzz-$h" <"$f" >"$tmp/asan.out" 2>&1 || badf=$f
    done
    [[ -z "$badf" ]] && ok "ASan/UBSan replay $h: $n regression input(s)" ||
        { bad "ASan/UBSan replay $h: $badf"; tail -3 "$tmp/asan.out"; }
done

# ---- the schedule checker: broken strategies FAIL, durable PASSES
reg=$root/fuzz/regress/schedule
for s in naive rename nocheck; do
    for f in "$reg"/"$s"-*; do
        expect_rc "replay $(basename "$f") --strategy $s finds the violation" 1 \
            "$torn" replay --schedule "$f" --strategy "$s"
        grep -q '^VIOLATION lost-write\|^VIOLATION unreadable' "$tmp/out" && grep -q 'acknowledged' "$tmp/out" &&
            ok "  explained step by step ($(grep -c '^ ' "$tmp/out") lines)" || bad "  no explanation"
        expect_rc "replay $(basename "$f") --strategy durable holds" 0 \
            "$torn" replay --schedule "$f" --strategy durable
    done
done
grep -q 'POWER CUT' <("$torn" replay --schedule "$reg/rename-violation" --strategy rename) &&
    ok "rename violation needs the power cut" || bad "rename account lacks the power cut"
expect_rc "replay: missing file" 2 "$torn" replay --schedule "$tmp/nope"
expect_rc "replay: unknown strategy" 2 "$torn" replay --schedule "$reg/naive-violation" --strategy bogus
expect_rc "replay: no --schedule" 2 "$torn" replay
expect_rc "fuzz: unknown harness" 2 "$torn" fuzz nosuch --time 1
expect_rc "fuzz: --strategy on a parser harness" 2 "$torn" fuzz record --strategy naive
expect_rc "fuzz: bad --time" 2 "$torn" fuzz record --time zero

# ---- AFL++ campaigns
if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
    skip=$((skip + 1))
    echo "SKIP AFL++ campaigns: afl-fuzz/afl-clang-fast not installed (scripts/deps.sh installs afl++)"
else
    export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
    # Smoke: every harness ~1 s, two at a time; none may crash or hang.
    smoke() {
        "$torn" fuzz "$1" --time 1 --quiet --no-color --out "$tmp/smoke-$1" \
            --json "$tmp/smoke-$1.json" >"$tmp/smoke-$1.log" 2>&1
        echo $? >"$tmp/smoke-$1.rc"
    }
    for ((i = 0; i < ${#harnesses[@]}; i += 2)); do
        smoke "${harnesses[i]}" & pids+=($!)
        [[ -n "${harnesses[i + 1]:-}" ]] && { smoke "${harnesses[i + 1]}" & pids+=($!); }
        wait
    done
    pids=()
    for h in "${harnesses[@]}"; do
        rc=$(cat "$tmp/smoke-$h.rc" 2>/dev/null || echo none)
        eps=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["results"][0]["metrics"]; print("%.0f execs/s, corpus %d" % (m["execs_per_s"], m["corpus"]))' \
            "$tmp/smoke-$h.json" 2>/dev/null)
        # A "hang" is an input afl-fuzz saw run past its 1 s hang timeout:
        # on a loaded machine a starved process does that too.  One that the
        # plain replay build finishes within 10 s was load, not a hang (said
        # on the ok line); one that still hangs, and any crash, FAILs.
        slow=0 hung=""
        if [[ $rc == 1 && -n "$eps" ]] && ! ls "$tmp/smoke-$h"/*/crashes/id:* >/dev/null 2>&1; then
            for f in "$tmp/smoke-$h"/*/hangs/id:*; do
                [[ -e $f ]] || continue
                if timeout 10 "$bindir/replay-$h" "$f" >/dev/null 2>&1; then slow=$((slow + 1)); else hung=$f; fi
            done
            [[ -z $hung && $slow -gt 0 ]] && rc=0
        fi
        if [[ $rc == 0 && -n "$eps" ]]; then
            ok "afl-fuzz smoke $h: $eps$( ((slow)) && echo ", $slow input(s) past afl's hang timeout that replay in < 10 s (load)")"
        else
            bad "afl-fuzz smoke $h: exit $rc${hung:+, hangs on replay: $hung}"; tail -5 "$tmp/smoke-$h.log"
        fi
    done

    # Schedule fuzzing from a trivial seed (one worker, updates only).
    mkdir -p "$tmp/seed"
    cp "$root/fuzz/corpus/schedule/one-worker" "$tmp/seed/"
    for s in naive rename; do
        start=$(date +%s)
        AFL_BENCH_UNTIL_CRASH=1 "$torn" fuzz schedule --strategy "$s" --time 20 --corpus "$tmp/seed" \
            --out "$tmp/sched-$s" --quiet --no-color --json "$tmp/sched-$s.json" \
            --junit "$tmp/sched-$s.xml" >"$tmp/sched-$s.log" 2>&1
        rc=$?
        crash=$(ls "$tmp/sched-$s"/main/crashes/id:* 2>/dev/null | head -1)
        if [[ $rc -eq 1 && -n "$crash" ]]; then
            ok "schedule fuzzing finds the $s violation in $(($(date +%s) - start)) s"
        else
            bad "schedule fuzzing: no $s violation (exit $rc)"; tail -5 "$tmp/sched-$s.log"; continue
        fi
        grep -q '<failure' "$tmp/sched-$s.xml" && grep -q "$(basename "$crash" | cut -c1-9)" "$tmp/sched-$s.xml" &&
            ok "  JUnit: the crash is a failed testcase naming the reproducer" || bad "  JUnit lacks the crash"
        expect_rc "  torn replay explains the $s finding" 1 "$torn" replay --schedule "$crash" --strategy "$s"
        grep -q '^VIOLATION' "$tmp/out" || bad "  replay printed no VIOLATION line"
    done
    "$torn" fuzz schedule --strategy durable --time 4 --quiet --no-color --out "$tmp/sched-durable" \
        --json "$tmp/sched-durable.json" >"$tmp/sched-durable.log" 2>&1
    rc=$?
    execs=$(python3 -c 'import json,sys; print("%d" % json.load(open(sys.argv[1]))["results"][0]["metrics"]["execs"])' \
        "$tmp/sched-durable.json" 2>/dev/null)
    [[ $rc -eq 0 && ${execs:-0} -gt 0 ]] && ok "schedule fuzzing: durable holds ($execs schedules)" ||
        { bad "schedule fuzzing: durable exit $rc"; tail -5 "$tmp/sched-durable.log"; }
fi

finish fuzz ", $skip skipped"

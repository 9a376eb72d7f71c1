#!/usr/bin/env bash
# The libFuzzer builds of the fuzz harnesses (make fuzz-libfuzzer,
# build-fuzz/libfuzzer/fuzz-<name>: clang -fsanitize=fuzzer,address,undefined):
# - each runs its seed corpus and regression inputs once, every input
#   executed, no crash, leak or sanitizer report;
# - the schedule harness under libFuzzer finds the naive strategy's lost
#   write from a trivial seed (within 60 s; about 1 s here), torn replay
#   explains the crash file it wrote, and durable holds for 20000 runs.
# Without clang's fuzzer runtime: one SKIP line, not a failure.
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
lf=$root/build-fuzz/libfuzzer
# Every harness the build knows (mk/fuzz.mk), so a new one is covered at once.
read -ra harnesses <<<"$(sed -n 's/^FUZZ_HARNESSES := //p' "$root/mk/fuzz.mk")"
tmp=$(mktemp -d /tmp/torn-libfuzzer-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

cc=${LIBFUZZER_CC:-clang}
if ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
        "$cc" -fsanitize=fuzzer -x c -o "$tmp/probe" - 2>/dev/null; then
    echo "SKIP libFuzzer builds: $cc cannot link a libFuzzer target (Debian: clang-14 libclang-rt-14-dev; scripts/deps.sh)"
    echo "libfuzzer: 0 passed, 0 failed, 1 skipped"
    exit 0
fi

# ---- every harness over its seed corpus and regression inputs, once
for h in "${harnesses[@]}"; do
    files=("$root/fuzz/corpus/$h"/*)
    [[ -d "$root/fuzz/regress/$h" ]] && files+=("$root/fuzz/regress/$h"/*)
    if [[ ! -x "$lf/fuzz-$h" ]]; then
        bad "libFuzzer $h: $lf/fuzz-$h not built (make fuzz-libfuzzer)"
        continue
    fi
    (cd "$tmp" && timeout 120 "$lf/fuzz-$h" "${files[@]}") >"$tmp/$h.out" 2>&1
    rc=$?
    ran=$(grep -c '^Running: ' "$tmp/$h.out")
    if [[ $rc -eq 0 && $ran -eq ${#files[@]} ]] && ! grep -q 'ERROR: \|runtime error' "$tmp/$h.out"; then
        ok "libFuzzer $h: ${#files[@]} seed and regression inputs, each run once"
    else
        bad "libFuzzer $h: exit $rc, $ran of ${#files[@]} inputs run"
        tail -5 "$tmp/$h.out"
    fi
done

# ---- the schedule harness finds naive's lost write; durable holds
if [[ -x "$lf/fuzz-schedule" ]]; then
    mkdir -p "$tmp/seed" "$tmp/art"
    cp "$root/fuzz/corpus/schedule/one-worker" "$tmp/seed/"
    start=$(date +%s)
    TORN_SCHEDULE_STRATEGY=naive timeout 90 "$lf/fuzz-schedule" -max_total_time=60 -seed=1 \
        -artifact_prefix="$tmp/art/" "$tmp/seed" >"$tmp/naive.out" 2>&1
    rc=$?
    crash=$(ls "$tmp"/art/crash-* 2>/dev/null | head -1)
    if [[ $rc -ne 0 && -n "$crash" ]] && grep -q 'lost-write\|unreadable' "$tmp/naive.out"; then
        ok "libFuzzer schedule finds the naive violation in $(($(date +%s) - start)) s (exit $rc)"
        "$torn" replay --schedule "$crash" --strategy naive >"$tmp/replay.out" 2>&1
        rc=$?
        [[ $rc -eq 1 ]] && grep -q '^VIOLATION' "$tmp/replay.out" &&
            ok "  torn replay explains libFuzzer's crash file" || bad "  torn replay: exit $rc"
    else
        bad "libFuzzer schedule: no naive violation (exit $rc)"
        tail -5 "$tmp/naive.out"
    fi
    cp "$root/fuzz/corpus/schedule"/* "$tmp/seed/"
    TORN_SCHEDULE_STRATEGY=durable timeout 120 "$lf/fuzz-schedule" -runs=20000 -seed=1 \
        -artifact_prefix="$tmp/art/durable-" "$tmp/seed" >"$tmp/durable.out" 2>&1
    rc=$?
    [[ $rc -eq 0 ]] && ok "libFuzzer schedule: durable holds for 20000 runs" ||
        { bad "libFuzzer schedule: durable exit $rc"; tail -5 "$tmp/durable.out"; }
fi

finish libfuzzer

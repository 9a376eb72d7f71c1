#!/usr/bin/env bash
# The HTML, Prometheus, TAP and Markdown reports of real runs: the HTML page
# renders in headless Chromium (screenshot + parsed DOM), `prove` accepts the
# TAP, every Prometheus line parses, and `torn check` finds the broken store's
# violations in the recorded history.
set -u
TORN_BIN=${TORN_BIN:-$(dirname "$0")/../torn}
tmp=$(mktemp -d /tmp/torn-reports.XXXXXX)
trap 'rm -rf "$tmp"' EXIT   # chromium runs under timeout -k, which reaps it
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"

"$TORN_BIN" run --target file:naive --scenario concurrent-updaters --duration 1 --seed "$seed" \
    --quiet --history "$tmp/h.jsonl" --html "$tmp/a.html" --prom "$tmp/a.prom" --tap "$tmp/a.tap" \
    --markdown "$tmp/a.md" >"$tmp/run.out" 2>&1
rc=$?
[[ $rc -eq 1 ]] && ok "naive store fails (exit 1)" || { bad "naive run exit $rc"; tail "$tmp/run.out"; }
"$TORN_BIN" run --target file:durable --scenario concurrent-updaters --duration 1 --seed "$seed" \
    --quiet --tap "$tmp/b.tap" --prom "$tmp/b.prom" >"$tmp/run2.out" 2>&1
rc=$?
[[ $rc -eq 0 ]] && ok "durable store passes (exit 0)" || { bad "durable run exit $rc"; tail "$tmp/run2.out"; }

# TAP: prove parses both; the passing one passes.
if command -v prove >/dev/null; then
    prove -e cat "$tmp/b.tap" >"$tmp/prove.out" 2>&1 && ok "prove accepts the passing TAP" ||
        { bad "prove on passing TAP"; cat "$tmp/prove.out"; }
    prove -e cat "$tmp/a.tap" >"$tmp/prove.out" 2>&1
    grep -q "Parse errors" "$tmp/prove.out" && bad "prove parse errors: $(cat "$tmp/prove.out")" ||
        ok "prove parses the failing TAP"
else
    echo "SKIP: prove not installed"
fi

# Prometheus text format, line by line.
python3 - "$tmp/a.prom" "$tmp/b.prom" <<'PY' && ok "prometheus exposition parses" || bad "prometheus format"
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.e+Inf-]+$')
for path in sys.argv[1:]:
    seen_types = set()
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        if line.startswith("# TYPE "):
            seen_types.add(line.split()[2]); continue
        if line.startswith("# HELP "):
            continue
        assert sample.match(line), f"{path}:{n}: {line}"
    assert "torn_violations_total" in seen_types and "torn_op_latency_seconds" in seen_types
PY
grep -q 'outcome="fail"} 1' "$tmp/a.prom" && ok "runs counted by outcome" || bad "run outcome counter"

# Markdown summary.
grep -q "| concurrent-updaters | file:naive | ❌ FAIL |" "$tmp/a.md" && ok "markdown table row" ||
    bad "markdown row: $(head -8 "$tmp/a.md")"

# The history the run recorded, checked by the version-order checker.
"$TORN_BIN" check --quiet --model version "$tmp/h.jsonl" >"$tmp/check.out" 2>&1
rc=$?
[[ $rc -eq 1 ]] && ok "torn check finds the naive store's violations in its history" ||
    { bad "torn check on run history: exit $rc"; head "$tmp/check.out"; }

# HTML in headless Chromium.
if command -v chromium >/dev/null; then
    chrome() {
        timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$tmp/profile" "$@" 2>"$tmp/chrome.err"
    }
    chrome --window-size=1100,2400 --screenshot="$tmp/shot.png" "file://$tmp/a.html" >/dev/null
    rc=$?
    size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
    if [[ $rc -eq 0 && $size -gt 20000 ]] && ! grep -qi "render\|crash" "$tmp/chrome.err"; then
        ok "chromium renders the report ($size byte screenshot)"
    else
        bad "chromium render: exit $rc, screenshot $size bytes"; tail -5 "$tmp/chrome.err"
    fi
    chrome --dump-dom "file://$tmp/a.html" >"$tmp/dom.html"
    svgs=$(grep -o "<svg" "$tmp/dom.html" | wc -l)
    if grep -q 'id="end"' "$tmp/dom.html" && grep -q 'id="matrix"' "$tmp/dom.html" && [[ $svgs -ge 3 ]]; then
        ok "parsed DOM is complete ($svgs svg drawings)"
    else
        bad "parsed DOM incomplete ($svgs svgs)"
    fi
else
    echo "SKIP: chromium not installed"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]

#!/usr/bin/env bash
# The release gate (harness/gate/): budgets, suite files, baselines, torn
# diff, --dry-run.  Each budget kind FAILS when its limit is below (or at)
# the observed figure and PASSES when above, on the file target and on the
# reference service torn starts itself; a baseline FAILS a release slowed
# by --update-delay-ms and PASSES an unchanged rerun; every malformed suite
# field is refused with one line naming file, path and field; --dry-run
# touches nothing (sentinels).  Limits are set far from what is observed
# (1 ns against ms, 1 h against ms, a 300 ms slowdown against a 100 ms
# allowance): the verdicts hold on a loaded machine.
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
rs=${RS_BIN:-$root/build/research-service}
tmp=$(mktemp -d /tmp/torn-gate-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# expect EXIT WHAT ARGS...: torn exits EXIT (output in $tmp/out, $tmp/err).
expect() {
    local want=$1 what=$2; shift 2
    timeout -k 5 120 "$torn" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [[ $rc -eq $want ]]; then ok "$what (exit $rc)"; else
        bad "$what: exit $rc, want $want; $(tail -3 "$tmp/err" "$tmp/out" | tr '\n' ' ' | cut -c1-400)"; fi
}
# jq-less JSON checks: py EXPR FILE -> prints EXPR's value (d = the report).
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[2])); print($1)" "$2" "$2" 2>/dev/null; }

# ---- budgets on the file target: every kind, PASS above, FAIL below/at
small=(--set payload_len=1024 --set updates=10 --workers 2 --seed 5 --repro-runs 0 --quiet)
fileargs=(run --scenario concurrent-updaters --scenario optimistic-lock "${small[@]}")
above=(--budget 'update.p50<3600s' --budget 'update.p90<3600s' --budget 'update.p95<3600s'
       --budget 'update.p99<3600s' --budget 'update.p999<3600s' --budget 'update.max<3600s'
       --budget 'update.mean<3600s' --budget 'update_if_version.fail_rate<=100%'
       --budget 'update.info_rate<=0%' --budget '*.error_rate<100%'
       --budget 'concurrent-updaters:read.throughput>0.001/s')
below=(--budget 'update.p50<1ns' --budget 'update.p90<1ns' --budget 'update.p95<1ns'
       --budget 'update.p99<1ns' --budget 'update.p999<1ns' --budget 'update.max<1ns'
       --budget 'update.mean<1ns' --budget 'update_if_version.fail_rate<0.001%'
       --budget 'update.info_rate<0%' --budget 'optimistic-lock:*.error_rate<0.001%'
       --budget 'concurrent-updaters:read.throughput>1000000000/s')
expect 0 "file: 11 budgets of every kind above the observed figures PASS" \
    "${fileargs[@]}" "${above[@]}" --json "$tmp/above.json"
n=$(py 'sum(1 for r in d["results"] for c in r.get("gate",{}).get("checks",[]) if c["held"] and "margin" in c)' "$tmp/above.json")
[[ $n -ge 11 ]] && ok "every passing budget is reported held with its margin ($n checks)" \
    || bad "held checks with margin: $n, want >= 11"
grep -q '^  held   concurrent-updaters x file:durable: update p99 ' "$tmp/out" \
    && ok "the terminal shows passing budgets with their margin" || bad "no 'held' line: $(head -5 "$tmp/out")"
expect 1 "file: the same 11 budgets below the observed figures FAIL" \
    "${fileargs[@]}" "${below[@]}" --json "$tmp/below.json" --junit "$tmp/below.xml" \
    --markdown "$tmp/below.md"
for k in p50 p90 p95 p99 p999 max mean fail_rate info_rate error_rate throughput; do
    c=$(py "sum(1 for r in d['results'] for v in r['violations'] if v['criterion']=='budget:$k' and v['kind']=='budget')" "$tmp/below.json")
    [[ ${c:-0} -ge 1 ]] && ok "budget:$k is a violation of kind budget" || bad "no budget:$k violation"
done
grep -q '\[budget:p99\] t=[0-9.]*s: update p99 [0-9.]* [mu]*s > 1 ns (budget update.p99<1ns, margin -' "$tmp/out" \
    && ok "terminal: [budget:p99] update p99 X ms > limit" || bad "terminal line: $(grep budget:p99 "$tmp/out" | head -1)"
grep -q '<failure type="budget"' "$tmp/below.xml" && ok "JUnit failure type=budget" || bad "JUnit type"
grep -q '^| concurrent-updaters | budget | update.p99&lt;1ns | [0-9.]* ms | 1e-06 ms | -[0-9.]* ms | \*\*broken\*\* |$' "$tmp/below.md" \
    && ok "Markdown: each check with observed, limit, margin" || bad "markdown checks: $(grep -m2 'p99' "$tmp/below.md")"
py 'all(c["margin"] <= 0 for r in d["results"] for c in r["gate"]["checks"] if not c["held"])' "$tmp/below.json" |
    grep -q True && ok "broken budgets carry observed, limit and a negative margin" || bad "margins"
expect 1 "a correctness violation stays kind correctness (file:naive crash-midwrite)" \
    run --target file:naive --scenario crash-midwrite --seed 3 --until-fail 10 --repro-runs 0 --quiet \
    --budget 'update.p99<3600s' --json "$tmp/naive.json"
py '[v["kind"] for r in d["results"] for v in r["violations"]][0]' "$tmp/naive.json" | grep -qx correctness \
    && ok "JSON kind correctness" || bad "kind of a torn write: $(py '[v["kind"] for r in d["results"] for v in r["violations"]]' "$tmp/naive.json")"
expect 2 "a budget no scenario measures is a configuration error" \
    run --scenario optimistic-lock --workers 2 --seed 5 --quiet --budget 'dual_write.p99<1s'
grep -q "budget 'dual_write.p99<1s' judged no result" "$tmp/err" && ok "... saying which" || bad "$(cat "$tmp/err")"

# ---- the reference service torn starts itself: budgets and a baseline
if [[ ! -x $rs ]]; then
    bad "research-service not built ($rs): run make"
else
    sed -e "s#\"build/research-service\"#\"$rs\"#" "$root/examples/research-service/managed.json" >"$tmp/m.json"
    sed -e 's#"--quiet"#"--quiet", "--update-delay-ms", "300"#' "$tmp/m.json" >"$tmp/slow.json"
    svc=(run --target http --target-spec "$tmp/m.json" --scenario concurrent-updaters "${small[@]}")
    expect 0 "service: budgets above PASS (the run becomes the baseline)" "${svc[@]}" \
        --budget 'update.p99<3600s' --budget '*.error_rate<=0%' --budget 'read.throughput>0.001/s' \
        --json "$tmp/base.json"
    expect 1 "service: budgets below FAIL" "${svc[@]}" --budget 'update.p99<1ns' \
        --budget 'read.throughput>1000000000/s' --budget '*.error_rate<0%'
    for k in p99 throughput error_rate; do
        grep -q "\[budget:$k\]" "$tmp/out" && ok "service: [budget:$k] reported" || bad "service budget:$k"
    done
    allow=(--allow 'p50=100% or 100ms' --allow p99=off)
    expect 0 "baseline: an unchanged rerun PASSES" "${svc[@]}" --baseline "$tmp/base.json" "${allow[@]}" \
        --json "$tmp/same.json"
    expect 1 "baseline: the service slowed by 300 ms per update FAILS" \
        run --target http --target-spec "$tmp/slow.json" --scenario concurrent-updaters "${small[@]}" \
        --baseline "$tmp/base.json" "${allow[@]}" --json "$tmp/slow-report.json" --junit "$tmp/slow.xml"
    grep -q '\[regression:p50\] t=[0-9.]*s: update p50 ' "$tmp/out" && ok "... as [regression:p50] on update" \
        || bad "regression line: $(grep -i regress "$tmp/out" | head -2)"
    grep -q '<failure type="regression"' "$tmp/slow.xml" && ok "JUnit failure type=regression" || bad "JUnit regression type"
    expect 1 "torn diff: the slowed report regressed" diff "${allow[@]}" "$tmp/base.json" "$tmp/slow-report.json"
    grep -q 'update .*p50 .*REGRESSED' "$tmp/out" && ok "torn diff marks update p50 REGRESSED" || bad "$(cat "$tmp/out")"
    expect 0 "torn diff: the unchanged rerun did not" diff "${allow[@]}" "$tmp/base.json" "$tmp/same.json"
    expect 1 "torn diff --markdown" diff --markdown "${allow[@]}" "$tmp/base.json" "$tmp/slow-report.json"
    grep -q '^| concurrent-updaters | update | p50 | .* | \*\*REGRESSED\*\* |$' "$tmp/out" \
        && ok "... a Markdown table row" || bad "markdown: $(head -8 "$tmp/out")"
    # observability (seed 000): the counter against the jobs torn saw finish
    sed -e 's#"--quiet"#"--quiet", "--fail-every", "4"#' "$tmp/m.json" >"$tmp/obs.json"
    sed -e 's#"--quiet"#"--quiet", "--break", "count-early"#' "$tmp/obs.json" >"$tmp/early.json"
    obs=(run --target http --scenario event-before-persist --set jobs=16 --seed 5 --repro-runs 0 --quiet)
    expect 0 "observability: atomic service, its counter rose by the completions torn saw: PASS" \
        "${obs[@]}" --target-spec "$tmp/obs.json" --json "$tmp/obs-report.json"
    py '[c["held"] for r in d["results"] for c in r["gate"]["checks"] if c["kind"]=="observability"]' \
        "$tmp/obs-report.json" | grep -qx '\[True, True\]' && ok "... completed and failed counters both checked" \
        || bad "observability checks: $(py '[c["text"] for r in d["results"] for c in r["gate"]["checks"]]' "$tmp/obs-report.json")"
    expect 1 "observability: --break count-early (counted before the final write) FAILS" \
        "${obs[@]}" --target-spec "$tmp/early.json"
    grep -q '\[counter-matches-observed\] .*research_finalized_total{status="completed"} rose by 16, torn saw 12' \
        "$tmp/out" && ok "... the completed counter rose by 16 for 12 completions" \
        || bad "count-early line: $(grep -i counter "$tmp/out" | head -2)"
fi
expect 2 "torn diff: not a report" diff "$tmp/m.json" "$tmp/m.json"

# ---- suite files: a good one runs, every malformed field is one line
cat >"$tmp/good.json" <<JSON
{"name": "gate test", "targets": ["file"],
 "scenarios": [{"scenario": "concurrent-updaters", "name": "updaters-2",
                "params": {"workers": 2, "updates": 10, "payload_len": 1024}}],
 "seed": 9, "budgets": ["update.p99<3600s", "*.error_rate<=0%"],
 "reports": {"json": "$tmp/suite.json"}, "limits": {"timeout_ms": 4000}}
JSON
expect 0 "torn suite check: a good suite" suite check "$tmp/good.json"
grep -q "ok (1 target(s), 1 scenario(s), 2 budget(s)" "$tmp/out" && ok "... says what it holds" || bad "$(cat "$tmp/out")"
expect 0 "torn run --suite runs it" run --suite "$tmp/good.json" --quiet
py 'd["results"][0]["scenario"], len(d["results"][0]["gate"]["checks"]), d["seed"]' "$tmp/suite.json" |
    grep -qx "updaters-2 2 9" && ok "... its name, budgets, seed and report" || bad "suite report: $(py 'd["results"][0]["scenario"]' "$tmp/suite.json")"
expect 1 "a --budget on the command line overrides the suite's same figure" \
    run --suite "$tmp/good.json" --quiet --budget 'update.p99<1ns'
printf '{"scenarios": [{"scenario": "concurrent-updaters", "params": {"workers": 2, "updates": 10, "payload_len": 1024}}], "seeds": [5, 6, 7], "reports": {"json": "%s/seeds.json"}}' "$tmp" >"$tmp/seeds-suite.json"
expect 0 "a suite's seeds: the plan once per seed" run --suite "$tmp/seeds-suite.json" --quiet
py '[r["seed"] for r in d["results"]]' "$tmp/seeds.json" | grep -qx '\[5, 6, 7\]' && ok "... results with seeds 5, 6, 7" \
    || bad "seeds: $(py '[r["seed"] for r in d["results"]]' "$tmp/seeds.json")"
expect 0 "--seed overrides the suite's seed" run --suite "$tmp/good.json" --quiet --seed 11 --json "$tmp/s11.json"
py 'd["seed"]' "$tmp/s11.json" | grep -qx 11 && ok "... seed 11 in the report" || bad "seed override"
# file content | message the one line must contain
while IFS='|' read -r body want; do
    printf '%s\n' "$body" >"$tmp/badsuite.json"
    timeout 20 "$torn" suite check "$tmp/badsuite.json" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [[ $rc -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -qF -- "$want" "$tmp/err" &&
        grep -qF "$tmp/badsuite.json" "$tmp/err"; then ok "refused: $(cut -c1-150 "$tmp/err")"
    else bad "suite $body: exit $rc, want 2 and one line with '$want': $(cat "$tmp/err")"; fi
done <<'CASES'
{"targets": "file"}|targets: expected an array of strings
{"targets": ["nosuch:x"]}|targets[0]:
{"scenarios": []}|scenarios: expected a non-empty array
{"scenarios": ["no-such-scenario"]}|scenarios[0]: unknown scenario 'no-such-scenario'
{"scenarios": [{"scenario": "concurrent-updaters", "params": {"wokers": 2}}]}|scenarios[0].params: scenario concurrent-updaters has no parameter "wokers"
{"scenarios": [{"scenario": "concurrent-updaters", "params": {"workers": 0}}]}|scenarios[0].params: parameter "workers"
{"scenarios": [{"scenario": "concurrent-updaters", "extra": 1}]}|scenarios[0].extra: unknown field
{"scenarios": [{"params": {}}]}|scenarios[0].scenario: expected a scenario name
{"budgets": ["update.p99 500ms"]}|budgets[0]: 'update.p99500ms': no comparison
{"budgets": ["update.p98<500ms"]}|budgets[0]: 'update.p98<500ms': unknown metric 'p98'
{"budgets": ["updat.p99<500ms"]}|budgets[0]: 'updat.p99<500ms': unknown operation 'updat'
{"budgets": ["update.p99<500"]}|budgets[0]: 'update.p99<500': limit
{"budgets": ["update.throughput<5/s"]}|budgets[0]: 'update.throughput<5/s': throughput takes > or >=
{"budgets": ["*.p99<5ms"]}|budgets[0]: '*.p99<5ms': latency budgets name one operation
{"budgets": [3]}|budgets[0]: expected a non-empty string
{"baseline": {"report": "/nonexistent/old.json"}}|baseline.report: baseline /nonexistent/old.json: no such file
{"baseline": "old.json"}|baseline: expected {"report"
{"reports": {"xml": "x"}}|reports.xml: unknown reporter
{"reports": {"json": "/nonexistent-dir/r.json"}}|reports.json:
{"limits": {"workers": 0}}|limits.workers
{"limits": {"duration": 5}}|limits.duration: unknown field
{"seed": -1}|seed
{"seed": 1, "seed": 2}|seed
{"seed": 1, "seeds": [2]}|seeds: give "seed" or "seeds", not both
{"seeds": [1, -2]}|seeds[1]
{"colour": 1}|colour: unknown field
{"target_spec": "/nonexistent/spec.json"}|target_spec: /nonexistent/spec.json: no such file
{"target_opts": {"k": 1}}|target_opts.k: expected a string
[1]|(top): expected an object
{"targets": ["file"]} trailing|suite
CASES
printf '{"read": {"path": "/r/{id}"}, "metrics": {"path": "/metrics", "counters": {"x{a=b}": "y"}}}' >"$tmp/badspec.json"
printf '{"targets": ["http://127.0.0.1:9"], "target_spec": "%s"}' "$tmp/badspec.json" >"$tmp/badsuite.json"
expect 2 "a target spec's malformed metrics series" suite check "$tmp/badsuite.json"
grep -q "target_spec: target spec .*badspec.json: field metrics.counters: 'x{a=b}': expected a series" "$tmp/err" \
    && [[ $(wc -l <"$tmp/err") -eq 1 ]] && ok "... one line naming the field" || bad "$(cat "$tmp/err")"
printf '{"reports": {"json": "%s/r.json"}, "baseline": {"report": "%s/below.json", "allow": {"p99": "20 percent"}}}\n' "$tmp" "$tmp" >"$tmp/badsuite.json"
expect 2 "an allowance that is not an amount" suite check "$tmp/badsuite.json"
grep -qF "baseline.allow.p99" "$tmp/err" && ok "... naming baseline.allow.p99" || bad "$(cat "$tmp/err")"
expect 2 "torn run --suite refuses a bad suite before anything runs" run --suite "$tmp/badsuite.json"
[[ ! -e $tmp/r.json ]] && ok "... and writes no report" || bad "a report was written"
expect 2 "--budget syntax errors are usage errors" run --budget 'update.p99>5ms'
grep -q "p99 takes < or <=" "$tmp/err" && ok "... naming the direction" || bad "$(cat "$tmp/err")"

# ---- soak: rounds until the time is up, bounded results, --stop-on-fail
# (5 s: a round takes 0.5-1 s idle, up to 2.1 s seen at load average 28, and
# two must fit: with 3 s, one round over 3 s on a slower machine left one)
expect 0 "--soak 5s runs the plan in rounds" run --scenario concurrent-updaters "${small[@]}" \
    --soak 5s --json "$tmp/soak.json"
rounds=$(grep -c 'torn: soak round' "$tmp/err")
[[ $rounds -ge 2 ]] && grep -q 'VmRSS [0-9]* KiB ([0-9]* at start)' "$tmp/err" \
    && ok "... $rounds rounds, each with a progress line and the memory" || bad "soak lines: $(cat "$tmp/err")"
py 'len(d["results"]), d["results"][0]["metrics"]["soak_rounds"] == d["results"][0]["metrics"]["soak_pass"] >= 2' \
    "$tmp/soak.json" | grep -qx '1 True' && ok "... one result kept, with the cumulative figures" \
    || bad "soak report: $(py 'len(d["results"])' "$tmp/soak.json")"
t0=$(date +%s)
expect 1 "--soak --stop-on-fail stops at the first FAIL (file:naive, torn writes)" \
    run --target file:naive --scenario crash-midwrite --seed 3 --until-fail 10 --repro-runs 0 \
    --quiet --soak 120s --stop-on-fail
(( $(date +%s) - t0 < 100 )) && grep -q 'soak stopped at the first FAIL' "$tmp/err" \
    && ok "... long before the soak time" || bad "stop-on-fail: $(tail -2 "$tmp/err")"
expect 2 "--stop-on-fail without --soak is refused" run --stop-on-fail
expect 2 "a bad --soak is refused" run --soak 5x

# ---- --dry-run touches nothing: no data, no report, no run dir, no service
mkdir -p "$tmp/rd"
cat >"$tmp/sentinel-spec.json" <<JSON
{"service": {"command": ["/bin/sh", "-c", "touch $tmp/service-started; sleep 30"],
             "ready": {"path": "/health", "timeout_ms": 2000}},
 "read": {"method": "GET", "path": "/r/{id}"}, "update": {"method": "PATCH", "path": "/r/{id}"}}
JSON
cat >"$tmp/dry.json" <<JSON
{"targets": ["file:$tmp/data-dir", "http"], "target_spec": "$tmp/sentinel-spec.json",
 "scenarios": ["crash-midwrite", {"scenario": "concurrent-updaters", "params": {"duration_s": 7}}],
 "budgets": ["update.p99<500ms"], "reports": {"json": "$tmp/dry-report.json", "junit": "$tmp/dry.xml"}}
JSON
expect 0 "--dry-run prints the plan" run --suite "$tmp/dry.json" --dry-run --run-dir "$tmp/rd" --history "$tmp/h.jsonl"
grep -q 'would start: /bin/sh -c touch' "$tmp/out" && grep -q 'update.p99<500ms' "$tmp/out" &&
    grep -q '"duration_s":7' "$tmp/out" && grep -q -- '--json .*dry-report.json' "$tmp/out" &&
    ok "... targets, the service command, scenarios with params, budgets, reports" || bad "plan: $(cat "$tmp/out")"
sleep 0.3
left=$(ls -A "$tmp/rd")
[[ ! -e $tmp/data-dir && ! -e $tmp/dry-report.json && ! -e $tmp/dry.xml && ! -e $tmp/h.jsonl &&
   ! -e $tmp/service-started && -z $left ]] \
    && ok "--dry-run created no data dir, report, history, run dir, and started no service" \
    || bad "--dry-run touched something: $(ls "$tmp") / rd: $left"

finish

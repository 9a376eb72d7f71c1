#!/usr/bin/env bash
# torn's command line as the usual tools expect it:
# - a report to "-" is the only thing on stdout (torn run --json - | jq,
#   --tap - through prove and strict tap-parser, torn check --json - | jq,
#   also with --quiet);
#   the results table and notes go to stderr; two reports on "-" exit 2;
# - every command's --help exits 0 on stdout, `torn help CMD` is CMD's help,
#   -V/--version;
# - colour: --color=always colours a pipe, --color=never and NO_COLOR and
#   TERM=dumb keep a terminal plain (a real pty from script(1)), a bad
#   --color value exits 2;
# - TORN_JSON (and the other report paths), TORN_TIMEOUT_MS, TORN_RUN_DIR
#   are defaults the options override; a bad value exits 2 naming it;
# - the front and the engine (harness/cli/front.c): torn check loads
#   neither libpq nor libcurl nor libfuse3; another command runs in the
#   same process (same pid: the exec keeps it), its exit status and
#   signals unchanged; a copy of torn without torn-engine beside it exits 2
#   with one line naming torn-engine.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-cli-test # TORN, work, check; children killed on exit
mkdir "$work/tmp"
export TMPDIR=$work/tmp
unset GITHUB_ACTIONS NO_COLOR CI
here=$(cd "$(dirname "$0")" && pwd)
quick=(--target file:durable --scenario crash-midwrite --duration 0.5 --seed 7)

# --- a report to "-" is all stdout carries -------------------------------------
for q in "" --quiet; do
    "$TORN" run "${quick[@]}" $q --json - >"$work/out" 2>"$work/err"
    rc=$?
    # (the verdict is beside the point: ERROR under heavy load is fine here)
    check "run --json - $q: stdout is one JSON document jq parses (exit $rc)" \
        bash -c "test $rc != 1 && jq -e '.results | length == 1' '$work/out' >/dev/null"
    check "run --json - $q: the results table went to stderr" grep -q 'crash-midwrite  ' "$work/err"
done
"$TORN" run "${quick[@]}" --tap - >"$work/tap" 2>"$work/err"
check "run --tap -: every stdout line is TAP (version, plan, points, YAML)" \
    bash -c "! grep -vEq '^(TAP version 13|1\\.\\.[0-9]+|(not )?ok [0-9]+ .*|  .*|#.*)$' '$work/tap'"
printf '#!/bin/sh\ncat %s\n' "$work/tap" >"$work/tap.t"
chmod +x "$work/tap.t"
check "run --tap -: prove accepts it (no unknown lines)" \
    bash -c "prove -e sh '$work/tap.t' >'$work/prove' 2>&1 && ! grep -qi 'unknown' '$work/prove'"
# Strict tap-parser (npm; SKIP when node, npm or the registry are missing):
# no Non-TAP data, the plan, and each failed point's YAML diagnostics, on a
# run with a failing and a passing point; a non-TAP line is caught.
if command -v node >/dev/null && command -v npm >/dev/null && mkdir "$work/npm" &&
    (cd "$work/npm" && timeout 90 npm install --no-audit --no-fund --silent tap-parser \
        >"$work/npm.log" 2>&1); then
    strict() { NODE_PATH=$work/npm/node_modules node "$here/tap_strict.js" "$1" >"$work/strict" 2>&1; }
    "$TORN" run --target file:naive --target file:durable --scenario crash-midwrite --duration 0.5 \
        --seed 7 --quiet --tap - >"$work/tap2" 2>/dev/null
    check "run --tap -: strict tap-parser finds no Non-TAP data, a plan, diagnostics ($(strict "$work/tap2"; tail -1 "$work/strict"))" \
        strict "$work/tap2"
    { head -2 "$work/tap2"; echo "crash-midwrite  file:naive  FAIL"; tail -n +3 "$work/tap2"; } >"$work/tap3"
    check "strict tap-parser rejects a results-table line among the TAP" bash -c "! NODE_PATH='$work/npm/node_modules' node '$here/tap_strict.js' '$work/tap3' >/dev/null"
else
    echo "SKIP strict tap-parser: node/npm or the npm registry unavailable"
fi
"$TORN" run "${quick[@]}" --csv - 2>/dev/null >"$work/csv"
check "run --csv -: Python's csv reader takes it; p50 <= p99 <= max on every row" python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert rows and rows[0]["scenario"] == "crash-midwrite", rows
for r in rows:
    if r["p50_ms"]:
        assert float(r["p50_ms"]) <= float(r["p99_ms"]) <= float(r["max_ms"]), r' "$work/csv"
"$TORN" run "${quick[@]}" --json - --tap - >"$work/out" 2>"$work/err"
rc=$?
check "run --json - --tap -: exit 2, one line naming both, nothing on stdout" \
    bash -c "test $rc = 2 && grep -q 'one report at most may go to stdout' '$work/err' && ! test -s '$work/out'"
"$TORN" gen-history --ops 200 --clients 2 --keys 2 --seed 5 >"$work/h.jsonl" 2>/dev/null
for q in "" --quiet; do
    "$TORN" check "$work/h.jsonl" $q --json - >"$work/out" 2>"$work/err"
    rc=$?
    check "check --json - $q: exit 0 and stdout is JSON jq parses" \
        bash -c "test $rc = 0 && jq -e . '$work/out' >/dev/null"
    [[ -z $q ]] && check "check --json -: the human lines went to stderr" grep -q 'model' "$work/err"
done

# --- every environment variable torn reads is in README's table -----------------
# (those the sources read by name, and the TORN_* that torn run --help lists)
envs=$( { grep -rhoE 'getenv\("[A-Z_]+"\)' "$ROOT"/harness "$ROOT"/targets "$ROOT"/reports \
            "$ROOT"/scenarios | sed -E 's/getenv\("([A-Z_]+)"\)/\1/'
          "$TORN" run --help | grep -oE '\bTORN_[A-Z_]+'; } | sort -u)
sed -n '/^## Environment variables/,/^## Exit codes/p' "$ROOT/README.md" >"$work/env.md"
undocumented=""
for v in $envs; do grep -qw -- "$v" "$work/env.md" || undocumented+=" $v"; done
check "README's environment table names all $(wc -w <<<"$envs") variables torn reads (missing:${undocumented:- none})" \
    test -z "$undocumented"

# --- help and version ---------------------------------------------------------
for c in run list check gen-history fs proxy fuzz replay; do
    "$TORN" "$c" --help >"$work/out" 2>"$work/err"
    rc=$?
    check "torn $c --help: exit 0, usage on stdout, nothing on stderr" \
        bash -c "test $rc = 0 && grep -q 'usage' '$work/out' && ! test -s '$work/err'"
done
check "torn help run prints run's help" bash -c "'$TORN' help run | head -1 | grep -q '^usage: torn run'"
check "torn help nosuch exits 2" bash -c "'$TORN' help nosuch 2>/dev/null; test \$? = 2"
check "torn -V and --version print the version" \
    bash -c "'$TORN' -V | grep -Eq '^torn [0-9]+\\.' && test \"\$('$TORN' -V)\" = \"\$('$TORN' --version)\""

# --- colour ----------------------------------------------------------------------
esc=$'\033['
"$TORN" run "${quick[@]}" --color=always >"$work/out" 2>/dev/null
check "--color=always colours a pipe" grep -qF "$esc" "$work/out"
"$TORN" run "${quick[@]}" >"$work/out" 2>/dev/null
check "auto: a pipe gets no colour" bash -c "! grep -qF '$esc' '$work/out'"
pty() {  # run torn on a pseudo-terminal, environment $1, options after
    local envs=$1; shift
    script -qec "env $envs '$TORN' run ${*}" /dev/null >"$work/pty" 2>&1 </dev/null
}
pty "TERM=xterm" "${quick[*]}"
check "auto: a terminal gets colour" grep -qF "$esc" "$work/pty"
pty "TERM=dumb" "${quick[*]}"
check "TERM=dumb: a terminal gets no colour in the table" bash -c "grep -qF 'crash-midwrite  ' '$work/pty' && ! grep -F 'crash-midwrite  ' '$work/pty' | grep -qF '$esc'"
pty "TERM=xterm NO_COLOR=1" "${quick[*]}"
check "NO_COLOR=1: a terminal gets no colour in the table" bash -c "grep -qF 'crash-midwrite  ' '$work/pty' && ! grep -F 'crash-midwrite  ' '$work/pty' | grep -qF '$esc'"
pty "TERM=xterm" "${quick[*]} --color=never"
check "--color=never: a terminal gets no colour" bash -c "grep -qF 'crash-midwrite  ' '$work/pty' && ! grep -F 'crash-midwrite  ' '$work/pty' | grep -qF '$esc'"
"$TORN" run "${quick[@]}" --color=sometimes >/dev/null 2>"$work/err"
rc=$?
check "--color=sometimes: exit 2 naming --color" bash -c "test $rc = 2 && grep -q -- '--color' '$work/err'"

# --- TORN_* environment variables ----------------------------------------------
mkdir "$work/rd"
TORN_JSON=$work/env.json TORN_TIMEOUT_MS=1234 TORN_RUN_DIR=$work/rd "$TORN" run "${quick[@]}" --keep \
    >/dev/null 2>&1
check "TORN_JSON writes the JSON report, TORN_TIMEOUT_MS reaches the replay command" \
    bash -c "jq -e '.results[0].replay | test(\"--timeout-ms 1234\")' '$work/env.json' >/dev/null"
check "TORN_RUN_DIR: the run directory is made inside it" bash -c "ls -d '$work'/rd/torn-run-* >/dev/null"
TORN_JSON=$work/env2.json "$TORN" run "${quick[@]}" --json "$work/cli.json" >/dev/null 2>&1
check "--json overrides TORN_JSON (only the option's file is written)" \
    bash -c "test -s '$work/cli.json' && ! test -e '$work/env2.json'"
TORN_TIMEOUT_MS=soon "$TORN" run "${quick[@]}" >/dev/null 2>"$work/err"
rc=$?
check "TORN_TIMEOUT_MS=soon: exit 2 naming the variable" bash -c "test $rc = 2 && grep -q TORN_TIMEOUT_MS '$work/err'"
check "torn run --help documents the variables" \
    bash -c "'$TORN' run --help | grep -q TORN_TIMEOUT_MS && '$TORN' run --help | grep -q TORN_JUNIT"

# --- the front and the engine -----------------------------------------------------------
"$TORN" gen-history --ops 20 --seed 1 >"$work/h.jsonl" 2>/dev/null
check "torn check links neither libpq, libcurl nor libfuse3 (ldd)" \
    bash -c "! ldd '$TORN' | grep -Eq 'libpq|libcurl|libfuse3'"
check "torn check runs in the front (exit 0 on a valid history)" "$TORN" check --quiet "$work/h.jsonl"
"$TORN" run --target file:durable --scenario concurrent-updaters --duration 20 \
    --set updates=100000 --run-dir "$work" >"$work/sig.out" 2>&1 &
tp=$!
for _ in $(seq 50); do [[ $(readlink /proc/$tp/exe 2>/dev/null) == */torn-engine ]] && break; sleep 0.1; done
check "another command: the engine runs in torn's own process (pid $tp is torn-engine)" \
    bash -c "[[ \$(readlink /proc/$tp/exe) == */torn-engine ]]"
sleep 1
kill -INT $tp
wait $tp
rc=$?
check "SIGINT reaches the engine: its report says interrupted, exit 2 (got $rc)" \
    bash -c "test $rc = 2 && grep -q 'interrupted by SIGINT' '$work/sig.out'"
mkdir "$work/lone"
cp "$(readlink -f "$TORN")" "$work/lone/torn"
"$work/lone/torn" list >"$work/lone.out" 2>"$work/lone.err"
rc=$?
check "a copy of torn without torn-engine: exit 2, one line naming torn-engine (exit $rc)" \
    bash -c "test $rc = 2 && test \$(wc -l <'$work/lone.err') = 1 && grep -q torn-engine '$work/lone.err'"
check "... and it still checks a history" "$work/lone/torn" check --quiet "$work/h.jsonl"

finish

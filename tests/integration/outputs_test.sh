#!/usr/bin/env bash
# What torn writes and prints, under attack and under interruption:
# - SIGINT mid-run: every report format says interrupted, with exit code 2;
# - a report that cannot be written is exit 2 (a directory, a path replaced
#   during the run);
# - as root, with an attacker running as nobody: planted symlinks in a
#   sticky world-writable directory are replaced, never followed; a
#   non-sticky 0777 directory is refused; a root-owned victim file is never
#   overwritten; --run-dir keeps the mode of what it is given and does not
#   follow nobody's symlink;
# - a sentinel password (two targets) never appears in any output, report,
#   the history or /proc/PID/cmdline of torn and its workers;
# - replay and command lines pasted into sh give back the same arguments;
# - an adapter's error text with newlines, escape sequences and HTML reaches
#   no terminal, annotation or report raw;
# - --history-max bounds the history and the reports say what was dropped.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-outputs-test # TORN, work (0711: nobody traverses it),
                                                   # check; every child killed on exit
mkdir "$work/tmp"
export TMPDIR=$work/tmp # torn's run directories too: removed with $work
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# Wait (at most 20 s) until history $1 has 20 lines: the scenario is running.
running() { for _ in $(seq 200); do (($(cat "$1" 2>/dev/null | wc -l) >= 20)) && return; sleep 0.1; done; }

# --- SIGINT mid-run: every format says interrupted, exit 2 ----------------------
d=$work/int
mkdir "$d"
export GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$d/summary.md
# (updates=100000: the run lasts its 20 s, whatever the machine's speed: the
# default 12 per worker ended before the SIGINT on an idle machine)
"$TORN" run --target file:durable --scenario concurrent-updaters --duration 20 --seed 1 --quiet \
    --set updates=100000 --json "$d/r.json" --junit "$d/r.xml" --tap "$d/r.tap" --html "$d/r.html" \
    --markdown "$d/r.md" --prom "$d/r.prom" --history "$d/h.jsonl" >"$d/out" 2>"$d/err" &
torn_pid=$!
running "$d/h.jsonl"
sleep 0.3
kill -INT "$torn_pid"
wait "$torn_pid"
rc=$?
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY
check "SIGINT mid-run exits 2 (got $rc)" test $rc = 2
check "JSON: interrupted, exit_code 2, the result ERROR" test \
    "$(json "$d/r.json" 'd["interrupted"], d["exit_code"], d["interruption"], d["results"][0]["verdict"]')" \
    = "True 2 interrupted by SIGINT ERROR"
check "JUnit: an <error> for the scenario and for the run, errors=\"2\"" python3 -c '
import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1]); s = d.getElementsByTagName("testsuites")[0]
errs = [e.getAttribute("message") for e in d.getElementsByTagName("error")]
assert s.getAttribute("errors") == "2", s.getAttribute("errors")
assert any("interrupted by SIGINT" in e and "exit code 2" in e for e in errs), errs' "$d/r.xml"
check "TAP: no 'ok' point, a 'not ok' saying interrupted, prove fails it" bash -c "
    ! grep -q '^ok ' '$d/r.tap' && grep -q '^not ok 2 - torn run interrupted by SIGINT' '$d/r.tap' &&
    ! prove -e cat '$d/r.tap' >/dev/null 2>&1"
check "HTML: interrupted by SIGINT, exit 2" bash -c "grep -q 'interrupted by SIGINT' '$d/r.html' && grep -q 'exit 2' '$d/r.html'"
check "Markdown: interrupted, exit code 2, ERROR row" bash -c "
    grep -q 'interrupted by SIGINT' '$d/r.md' && grep -q 'exit code 2' '$d/r.md' && grep -q 'ERROR |' '$d/r.md'"
check "Prometheus: torn_run_interrupted 1, torn_run_exit_code 2" bash -c "
    grep -qx 'torn_run_interrupted 1' '$d/r.prom' && grep -qx 'torn_run_exit_code 2' '$d/r.prom'"
check "GitHub: an ::error annotation and the step summary say interrupted" bash -c "
    grep -q '^::error title=torn run::torn run interrupted by SIGINT' '$d/out' &&
    grep -q 'interrupted by SIGINT' '$d/summary.md'"

# --- a report that cannot be written is exit 2 ---------------------------------
d=$work/unwritable
mkdir -p "$d/adir"
"$TORN" run --target file:durable --scenario corrupt-read --quiet --json "$d/adir" >"$d/out" 2>&1
rc=$?
check "--json DIR: exit 2 before running, one line naming it (got $rc)" bash -c "
    test $rc = 2 && grep -q 'json report $d/adir: is a directory' '$d/out' && ! grep -q SCENARIO '$d/out'"
# A FIFO is refused up front; a symlink of our own to a file is followed.
mkfifo "$d/fifo"
"$TORN" run --target file:durable --scenario corrupt-read --quiet --json "$d/fifo" >"$d/out3" 2>&1
check "--json FIFO: exit 2, not a regular file" bash -c "
    test $? = 2 && grep -q 'fifo: not a regular file' '$d/out3'"
ln -s real.json "$d/mine.json"
"$TORN" run --target file:durable --scenario corrupt-read --quiet --json "$d/mine.json" >/dev/null 2>&1
check "--json through our own symlink writes its target" \
    test -L "$d/mine.json" -a "$(json "$d/real.json" 'd["exit_code"]')" = 0
# The report's directory disappears during the run: the final write fails.
mkdir "$d/sub"
"$TORN" run --target file:durable --scenario concurrent-updaters --duration 2 --quiet \
    --json "$d/sub/gone.json" --junit "$d/ok.xml" --history "$d/h.jsonl" >"$d/out2" 2>&1 &
torn_pid=$!
running "$d/h.jsonl"
rm -rf "$d/sub"
wait "$torn_pid"
rc=$?
check "a report unwritable after the run: exit 2 (got $rc), said on stderr" bash -c "
    test $rc = 2 && grep -q 'gone.json' '$d/out2'"
check "... and the report that was written says so (run-level <error>)" \
    grep -q 'a report could not be written (exit code 2)' "$d/ok.xml"

# --- output files as root: planted symlinks, shared directories ----------------
if [[ $(id -u) = 0 ]] && as_nobody true 2>/dev/null; then
    victim=$work/victim
    echo "root's precious file" >"$victim"
    chmod 0644 "$victim"
    sticky=$work/sticky
    open=$work/open
    mkdir "$sticky" "$open"
    chmod 1777 "$sticky"
    chmod 0777 "$open"
    for f in r.json r.xml r.html r.tap r.md r.prom h.jsonl; do
        as_nobody ln -s "$victim" "$sticky/$f"
        as_nobody ln -s "$victim" "$open/$f"
    done
    "$TORN" run --target file:durable --scenario corrupt-read --quiet --json "$sticky/r.json" \
        --junit "$sticky/r.xml" --html "$sticky/r.html" --tap "$sticky/r.tap" --markdown "$sticky/r.md" \
        --prom "$sticky/r.prom" --history "$sticky/h.jsonl" >"$work/sticky.out" 2>&1
    rc=$?
    check "sticky 1777 dir with nobody's symlinks: the run works (exit $rc)" test $rc = 0
    check "... the victim is untouched" grep -qx "root's precious file" "$victim"
    check "... each report replaced the symlink by a root-owned regular file" bash -c "
        for f in r.json r.xml r.html r.tap r.md r.prom h.jsonl; do
            test -f '$sticky/'\$f -a ! -L '$sticky/'\$f -a \$(stat -c %u '$sticky/'\$f) = 0 || exit 1
        done"
    check "... no temporary file left behind" bash -c "! ls -A '$sticky' | grep -q tmp"
    "$TORN" run --target file:durable --scenario corrupt-read --quiet --json "$open/r.json" \
        >"$work/open.out" 2>&1
    rc=$?
    check "non-sticky 0777 dir: refused, exit 2 (got $rc), saying why" bash -c "
        test $rc = 2 && grep -q 'writable by every user and has no sticky bit' '$work/open.out'"
    "$TORN" run --target file:durable --scenario corrupt-read --quiet --history "$open/h.jsonl" \
        >"$work/open2.out" 2>&1
    check "non-sticky 0777 dir: --history refused too" test $? = 2
    check "... the victim is untouched" grep -qx "root's precious file" "$victim"
    as_nobody mkdir "$sticky/nobodys"
    "$TORN" run --target file:durable --scenario corrupt-read --quiet \
        --json "$sticky/nobodys/r.json" >"$work/owned.out" 2>&1
    check "a directory another user owns: refused, exit 2" bash -c "
        test $? = 2 && grep -q 'belongs to uid' '$work/owned.out'"

    # --run-dir: torn's own subdirectory; the given one keeps its mode.
    rd=$work/rd
    mkdir "$rd"
    chmod 0755 "$rd"
    "$TORN" run --target file:durable --scenario corrupt-read --quiet --json "$work/rd.json" \
        --run-dir "$rd" >/dev/null 2>&1
    sub=$(json "$work/rd.json" 'd["run_dir"]')
    check "--run-dir DIR keeps DIR's mode 755 (now $(stat -c %a "$rd"))" test "$(stat -c %a "$rd")" = 755
    check "... torn worked in its own fresh subdirectory ($sub)" bash -c "
        [[ '$sub' == '$rd'/torn-run-* ]] && test -d '$sub'"
    "$TORN" run --target file:durable --scenario corrupt-read --quiet --run-dir "$sticky" \
        >/dev/null 2>&1
    check "--run-dir on a sticky 1777 dir (like /tmp) keeps mode 1777" test "$(stat -c %a "$sticky")" = 1777
    target_dir=$work/precious-dir
    mkdir "$target_dir"
    chmod 0755 "$target_dir"
    as_nobody ln -s "$target_dir" "$sticky/runs"
    "$TORN" run --target file:durable --scenario corrupt-read --quiet --run-dir "$sticky/runs" \
        >"$work/rdlink.out" 2>&1
    rc=$?
    check "--run-dir through nobody's symlink: refused (exit $rc), nothing created behind it" bash -c "
        test $rc = 2 && grep -q 'symbolic link owned by uid' '$work/rdlink.out' &&
        test -z \"\$(ls -A '$target_dir')\" && test \$(stat -c %a '$target_dir') = 755"
else
    echo "SKIP: the root/nobody attacks need root and setpriv"
fi

# --- a sentinel password never shows ---------------------------------------------
redis_start "$work" --requirepass 'ab@cdSENTINEL'
port=$redis_port
d=$work/secret
mkdir "$d"
export GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$d/summary.md
"$TORN" run --target "redis://:ab%40cdSENTINEL@127.0.0.1:$port/0?strategy=lua" \
    --target "redis://:ab%40cdSENTINEL@127.0.0.1:$port/1?strategy=get-set" \
    --scenario optimistic-lock --scenario concurrent-updaters --duration 1 \
    --json "$d/r.json" --junit "$d/r.xml" --html "$d/r.html" --tap "$d/r.tap" --markdown "$d/r.md" \
    --prom "$d/r.prom" --history "$d/h.jsonl" --keep >"$d/out" 2>"$d/err" &
torn_pid=$!
: >"$d/cmdlines"
# From 0.2 s on: between exec and torn's first statement the kernel shows the
# arguments as given, as for any program (README, Safety).
sleep 0.2
for _ in $(seq 40); do
    for p in $torn_pid $(pgrep -P "$torn_pid" 2>/dev/null); do
        { tr '\0' ' ' <"/proc/$p/cmdline" && echo; } >>"$d/cmdlines" 2>/dev/null
    done
    sleep 0.05
done
wait "$torn_pid"
rc=$?
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY
n_cmd=$(grep -c . "$d/cmdlines")
run_dir=$(json "$d/r.json" 'd["run_dir"]')
check "the password run worked (exit $rc: get-set fails, lua passes)" test $rc = 1
check "the sentinel is in no output, report, history or cmdline ($n_cmd cmdlines read)" bash -c "
    test $n_cmd -gt 1 && test -d '$run_dir' && ! grep -l SENTINEL '$d'/* && ! grep -rl SENTINEL '$run_dir'"
check "... and both targets show as ***" test \
    "$(grep -o 'redis://:\*\*\*@' "$d/r.json" | sort -u)" = "redis://:***@"
kill "$redis_pid" 2>/dev/null

# A libpq key=value target with a quoted password (nothing listens on port 1).
"$TORN" run --target "postgres:host=127.0.0.1 port=1 password='a bSENTINEL2'" \
    --scenario optimistic-lock --quiet --json "$d/pg.json" --timeout-ms 500 >"$d/pg.out" 2>&1
pg_cmd=$(json "$d/pg.json" 'd["command"]')
pg_target=$(sh -c "torn() { printf '%s' \"\$3\"; }; $pg_cmd")
check "a quoted libpq password: in no output or report; the command parses back ($pg_target)" \
    test "$(grep -l SENTINEL2 "$d/pg.out" "$d/pg.json")$pg_target" = \
    "postgres:host=127.0.0.1 port=1 password=***"
# A password given as --target-opt password=... : the replay and the command
# say 'password=***' (docs/redis-postgres.md used to list this as a gap).
"$TORN" run --target "postgres:host=127.0.0.1 port=1" --target-opt password=cSENTINEL3 \
    --scenario optimistic-lock --quiet --json "$d/pg3.json" --timeout-ms 500 >"$d/pg3.out" 2>&1
check "--target-opt password=: in no output or report, the command says 'password=***'" bash -c "
    ! grep -l SENTINEL3 '$d/pg3.out' '$d/pg3.json' && grep -qF \"password=***\" '$d/pg3.json'"
check "... and docs/redis-postgres.md no longer lists it as a known gap" \
    bash -c "! grep -qi 'known gap' '$ROOT/docs/redis-postgres.md'"

# --- replay and command lines are shell-safe --------------------------------------
d=$work/replay
mkdir "$d"
tgt="exec:/bin/sh -c 'x && echo never'"
"$TORN" run --target "$tgt" --scenario crash-midwrite --seed 9 --set "kills=1" \
    --timeout-ms 500 --quiet --json "$d/r.json" >/dev/null 2>&1
replay=$(json "$d/r.json" 'd["results"][0]["replay"]')
command=$(json "$d/r.json" 'd["command"]')
# sh runs the line with torn() printing its arguments, one per line.
args_of() { sh -c "torn() { printf '%s\n' \"\$@\"; }; $1"; }
got=$(args_of "$replay" | sed -n 3p)
check "the replay line pasted into sh gives --target exactly (got [$got])" test "$got" = "$tgt"
want=$(printf '%s\n' run --target "$tgt" --scenario crash-midwrite --seed 9 --set kills=1 \
    --timeout-ms 500 --quiet --json "$d/r.json")
check "the JSON command pasted into sh gives the same argv" test "$(args_of "$command")" = "$want"
check "the pasted replay never runs what the target quoted (no 'never')" \
    test -z "$(sh -c "torn() { :; }; $replay" 2>&1)"

# --- target text with control characters and HTML ------------------------------------
d=$work/ctl
mkdir "$d"
cat >"$d/evil.py" <<'PY'
import json, sys
text = "boom\n::error::forged\r\x1b[31mRED\x1b]0;pwned\x07<script>alert(1)</script><img src=x onerror=alert(1)>`x`|y"
for line in sys.stdin:
    req = json.loads(line)
    print(json.dumps({"in_reply_to": req["id"], "ok": False,
                      "error": {"code": "io", "definite": True, "text": text}}), flush=True)
PY
export GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$d/summary.md
"$TORN" run --target "exec:python3 $d/evil.py" --scenario crash-midwrite --set kills=1 --quiet \
    --json "$d/r.json" --junit "$d/r.xml" --html "$d/r.html" --tap "$d/r.tap" --markdown "$d/r.md" \
    >"$d/out" 2>"$d/err"
rc=$?
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY
check "the adapter's error ends the run in an error (exit $rc)" test $rc = 2
check "its text reached the report (neutralised)" grep -q 'boom\\\\n::error::forged' "$d/r.json"
check "no forged workflow command: every line starting :: is torn's" bash -c "
    ! grep -q '^::error::forged' '$d/out' '$d/err' && ! grep -q '^::' '$d/err'"
check "no raw ESC, BEL or CR in stdout, stderr or any report" bash -c "
    ! grep -lP '[\\x1b\\x07\\r]' '$d/out' '$d/err' '$d'/r.* '$d/summary.md'"
check "no <script> or <img in HTML, Markdown, step summary or JUnit" bash -c "
    ! grep -l '<script>\\|<img' '$d/r.html' '$d/r.md' '$d/summary.md' '$d/r.xml'"
check "the JUnit report is well-formed XML" python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$d/r.xml"
check "Markdown: table rows keep 8 cell borders; target text is in <pre>, never bare" python3 -c '
import re, sys
text = open(sys.argv[1]).read()
rows = [l for l in text.splitlines() if l.startswith("|")]
assert rows and all(len(re.findall(r"(?<!\\)\|", l)) == 8 for l in rows), rows
bare = re.sub(r"<pre>.*?</pre>", "", text, flags=re.S)
assert "boom" not in bare and "onerror" not in bare, bare' "$d/r.md"

# torn check prints keys and operation names from a history file: neutralised.
cat >"$d/evil.jsonl" <<'EOF'
{"type":"invoke","process":1,"f":"write","key":"k\u001b]0;pwned\u0007\n::error::x","value":1,"time":1}
{"type":"ok","process":1,"f":"write","key":"k\u001b]0;pwned\u0007\n::error::x","value":1,"time":2}
{"type":"invoke","process":2,"f":"read","key":"k\u001b]0;pwned\u0007\n::error::x","value":null,"time":3}
{"type":"ok","process":2,"f":"read","key":"k\u001b]0;pwned\u0007\n::error::x","value":5,"time":4}
EOF
"$TORN" check "$d/evil.jsonl" --model cas-register >"$d/check.out" 2>&1
check "torn check: a key with ESC, BEL and a newline is printed escaped" bash -c "
    grep -qF 'k\\x1b]0;pwned\\x07\\n::error::x' '$d/check.out' && ! grep -qP '[\\x1b\\x07]' '$d/check.out' &&
    ! grep -q '^::error' '$d/check.out'"

# --- the history cap ------------------------------------------------------------------
d=$work/cap
mkdir "$d"
"$TORN" run --target file:durable --scenario concurrent-updaters --duration 1 --quiet \
    --history "$d/h.jsonl" --history-max 0.01 --json "$d/r.json" --prom "$d/r.prom" >"$d/out" 2>&1
rc=$?
size=$(stat -c %s "$d/h.jsonl")
dropped=$(json "$d/r.json" 'd["history_events_dropped"]')
# (exit 2 only if the loaded machine made too few updates: never for the cap)
check "--history-max 0.01: run works (exit $rc), history $size bytes <= 10485 + its closing note" \
    bash -c "test $rc = 0 -o \( $rc = 2 -a -z \"\$(grep -i 'history.*not written' '$d/out')\" \) &&
             test $size -le 10600"
check "... $dropped events dropped, said in JSON, the result metrics, Prometheus, terminal" bash -c "
    test '${dropped:-0}' -gt 0 &&
    test \"\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"results\"][0][\"metrics\"][\"history_events_dropped\"])' '$d/r.json')\" = '$dropped' &&
    grep -qx 'torn_history_events_dropped $dropped' '$d/r.prom' && grep -q 'history reached its cap' '$d/out'"
check "... the capped history ends with a note and still reads (torn check)" bash -c "
    tail -1 '$d/h.jsonl' | grep -q '^# torn: history capped' &&
    '$TORN' check '$d/h.jsonl' >/dev/null 2>&1; test \$? -ne 2"

finish outputs

#!/usr/bin/env bash
# `make install PREFIX=...` into a temp prefix, as a packager or a user would:
# the binary (the front, and the engine it runs from PREFIX/libexec/torn/bin)
# runs and carries no path of the build tree; a man page per
# command (generated from --help: every option line of `torn run --help`
# is on torn-run(1)) renders with `man -l` without warnings; the bash
# completion, sourced by bash, completes commands, options and scenario
# names, and so do the zsh and fish ones run by those shells (when they
# exist: scripts/deps.sh installs both); docs,
# examples and scenario specs are there and an installed spec runs;
# `torn fuzz` from the install runs a campaign from the kit make install
# put beside it (with AFL++; else it says what it needs) and honours
# TORN_ROOT; `make uninstall` leaves the prefix empty.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-install-test # TORN, ROOT, work, check; cleanup on exit
prefix=$work/prefix
make -C "$ROOT" --no-print-directory install PREFIX="$prefix" >"$work/install.log" 2>&1
rc=$?
check "make install PREFIX=... exits 0" test $rc = 0
[[ $rc = 0 ]] || tail -20 "$work/install.log"
t=$prefix/bin/torn

# --- the binary ------------------------------------------------------------------
check "the installed torn runs (--version)" bash -c "'$t' --version | grep -q '^torn '"
check "the installed binaries (torn, libexec/torn/bin/torn-engine) carry no path of the build tree ($ROOT)" \
    bash -c "! grep -qF '$ROOT' '$t' '$prefix/libexec/torn/bin/torn-engine'"
check "the installed torn runs its installed engine (torn list)" \
    bash -c "'$t' list | grep -q '^TARGETS'"
check "scenario specs are installed" test -f "$prefix/share/torn/scenarios/crash-midwrite.json"
(cd "$work" && "$t" run --scenario "$prefix/share/torn/scenarios/crash-midwrite.json" --duration 1 \
    --seed 3 --quiet --run-dir "$work" >"$work/spec.out" 2>&1)
check "an installed scenario spec loads and runs (its table line; ERROR is load, not the spec)" \
    grep -Eq 'crash-midwrite +file:durable +(PASS|ERROR)' "$work/spec.out"

# --- man pages -----------------------------------------------------------------------
man1=$prefix/share/man/man1
cmds=$("$t" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
missing=""
for c in $cmds; do [[ -f $man1/torn-$c.1 ]] || missing+=" $c"; done
check "a man page per command: torn.1 and torn-{$(echo $cmds | tr ' ' ,)}.1 (missing:${missing:- none})" \
    bash -c "test -f '$man1/torn.1' && test -z '$missing'"
warn=0
for p in "$man1"/*.1; do
    MANWIDTH=100 LC_ALL=C.UTF-8 man --warnings -l "$p" >"$work/page" 2>"$work/page.err" \
        && grep -q '^NAME' "$work/page" && ! test -s "$work/page.err" || { warn=1; echo "  $p:"; head -3 "$work/page.err"; }
done
check "every page renders with man -l, no warnings" test $warn = 0
MANWIDTH=200 man -l "$man1/torn-run.1" 2>/dev/null >"$work/run.page"
lost=""
while read -r opt; do grep -qF -- "$opt" "$work/run.page" || lost+=" $opt"; done \
    < <("$t" run --help | sed -nE 's/^ *(-h, )?(--[a-z][a-z0-9-]*).*/\2/p')
check "torn-run(1) has every option of torn run --help (lost:${lost:- none})" test -z "$lost"
check "man finds them under the prefix (man -M PREFIX/share/man torn-proxy)" \
    bash -c "man -M '$prefix/share/man' torn-proxy 2>/dev/null | grep -q -- '--toxic'"

# --- completions -------------------------------------------------------------------------
comp() {  # WORDS...: what the installed bash completion offers for the last word
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _torn; echo "${COMPREPLY[*]}"' \
        _ "$prefix/share/bash-completion/completions/torn" "$@" 2>&1
}
check "bash completion: torn ru -> run" test "$(comp torn ru)" = run
check "bash completion: torn run --until -> --until-fail" test "$(comp torn run --until)" = --until-fail
check "bash completion: torn run --scenario crash -> crash-midwrite" \
    test "$(comp torn run --scenario crash)" = crash-midwrite
check "bash completion: torn proxy --to -> --toxic" test "$(comp torn proxy --to)" = --toxic
check "bash completion: torn help pro -> proxy" test "$(comp torn help pro)" = proxy
# The installed _torn run by zsh with the words of a command line (words,
# CURRENT, PREFIX as compsys sets them); compadd stands in for compsys and
# keeps what matches PREFIX, as compsys would show it.
zcomp() {  # FILE WORDS...
    zsh -f -c 'compadd() { while (($#)) && [[ $1 != -- ]]; do shift; done; shift
                  local m; for m in "$@"; do [[ $m == "$PREFIX"* ]] && print -r -- $m; done; }
               _files() { :; }
               f=$1; shift; words=("$@"); CURRENT=$#words; PREFIX=${words[CURRENT]}; source $f' \
        _ "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'
}
zsh_completion() {
    check "zsh completion: torn ru -> run" test "$(zcomp "$1" torn ru)" = run
    check "zsh completion: torn run --until -> --until-fail" \
        test "$(zcomp "$1" torn run --until)" = --until-fail
    check "zsh completion: torn run --scenario crash -> crash-midwrite" \
        test "$(zcomp "$1" torn run --scenario crash)" = crash-midwrite
    check "zsh completion: torn proxy --to -> --toxic" test "$(zcomp "$1" torn proxy --to)" = --toxic
    check "zsh completion: torn run --color a -> auto always" \
        test "$(zcomp "$1" torn run --color a)" = "auto always"
}
for sh in zsh fish; do
    f=$prefix/share/zsh/site-functions/_torn
    [[ $sh == fish ]] && f=$prefix/share/fish/vendor_completions.d/torn.fish
    if command -v $sh >/dev/null; then
        check "$sh completion parses ($sh -n)" $sh -n "$f"
        [[ $sh == zsh ]] && zsh_completion "$f"
        [[ $sh == fish ]] && check "fish completion: torn pro -> proxy, torn run --sce -> --scenario" \
            bash -c "fish -c \"source '$f'; complete -C 'torn pro'; complete -C 'torn run --sce'\" | cut -f1 | tr '\n' ' ' | grep -qx 'proxy --scenario '"
    else
        check "$sh completion installed ($sh not here: SKIP its syntax check)" test -s "$f"
    fi
done

# --- docs and examples ---------------------------------------------------------------
doc=$prefix/share/doc/torn
check "README, docs and examples under share/doc/torn" \
    bash -c "test -f '$doc/README.md' && test -f '$doc/docs/reports.md' && test -f '$doc/docs/img/html-report.png' && test -f '$doc/examples/gallery/README.md'"

# --- torn fuzz from an install -----------------------------------------------------------
# With AFL++ here, make install put the fuzzing kit in PREFIX/libexec/torn:
# the installed torn fuzzes from it without TORN_ROOT (a real 2 s
# afl-fuzz campaign, its report counting executions).  Without AFL++ it
# says what it needs.
if command -v afl-fuzz >/dev/null && command -v afl-clang-fast >/dev/null; then
    (cd "$work" && env -u TORN_ROOT AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 \
        AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 "$t" fuzz spec --time 2 --quiet --no-color \
        --out "$work/fuzz-out" --json "$work/fuzz.json" >"$work/fuzz.out" 2>&1)
    rc=$?
    execs=$(python3 -c 'import json,sys; print("%d" % json.load(open(sys.argv[1]))["results"][0]["metrics"]["execs"])' \
        "$work/fuzz.json" 2>/dev/null)
    check "torn fuzz spec from the install, no TORN_ROOT: a campaign ran (exit $rc, ${execs:-no} execs)" \
        bash -c "test $rc = 0 && test ${execs:-0} -gt 0"
    check "the kit is inside the prefix (no path of the build tree in the fuzz log)" \
        bash -c "grep -q '$prefix/libexec/torn' '$work/fuzz.json' && ! grep -qF '$ROOT/' '$work/fuzz.json'"
    (cd "$work" && env -u TORN_ROOT "$t" fuzz spec --asan --time 1 >"$work/fuzz.out" 2>&1)
    rc=$?
    check "torn fuzz --asan from the install: exit 2 saying the kit has no ASan build" \
        bash -c "test $rc = 2 && grep -q 'not installed' '$work/fuzz.out' && grep -q 'TORN_ROOT' '$work/fuzz.out'"
else
    echo "SKIP torn fuzz campaign from the install: AFL++ not installed"
fi
# An install made where AFL++ is missing (AFL_CC names no compiler): it goes
# on without the kit, says so, and that torn fuzz says what it needs.
make -C "$ROOT" --no-print-directory install PREFIX="$work/prefix2" AFL_CC=no-such-afl-cc \
    >"$work/install2.log" 2>&1
rc=$?
(cd "$work" && env -u TORN_ROOT "$work/prefix2/bin/torn" fuzz spec --time 1 >"$work/fuzz.out" 2>&1)
rc2=$?
check "install without AFL++: exit 0, no kit, said; its torn fuzz exits 2 naming the kit, AFL++ and TORN_ROOT" \
    bash -c "test $rc = 0 && grep -q 'torn fuzz not installed' '$work/install2.log' && ! test -e '$work/prefix2/libexec/torn/fuzz' && test $rc2 = 2 && grep -q 'fuzzing kit' '$work/fuzz.out' && grep -q 'TORN_ROOT' '$work/fuzz.out' && grep -q 'AFL' '$work/fuzz.out'"
make -C "$ROOT" --no-print-directory uninstall PREFIX="$work/prefix2" >/dev/null 2>&1
(cd "$work" && TORN_ROOT=$ROOT "$t" fuzz no-such-harness >"$work/fuzz.out" 2>&1)
check "torn fuzz with TORN_ROOT finds the harnesses there" grep -qF "$ROOT/fuzz/no-such-harness.c" "$work/fuzz.out"

# --- uninstall ---------------------------------------------------------------------------
make -C "$ROOT" --no-print-directory uninstall PREFIX="$prefix" >"$work/uninstall.log" 2>&1
rc=$?
left=$(find "$prefix" -mindepth 1 2>/dev/null | head -5)
check "make uninstall exits 0 and leaves nothing under the prefix (${left:-empty})" \
    bash -c "test $rc = 0 && test -z '$left'"

finish

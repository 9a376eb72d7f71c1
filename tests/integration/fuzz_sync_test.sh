#!/usr/bin/env bash
# torn fuzz --sync-dir DIR --role main|secondary --name N: one AFL++
# campaign over several machines through one shared directory.
# - bad combinations are exit 2 with one line (role without sync dir, bad
#   role, bad name, --out with --sync-dir);
# - with AFL++: a "main" machine (1 instance) and a "secondary" machine (2)
#   sharing a directory run as -M hostA-m and -S hostB-s1, -S hostB-s2
#   (afl-fuzz's own command lines), each machine's report covering its own
#   instances, and `torn fuzz --report DIR` folds all three into one report.
#   Syncing itself is AFL++'s (its sync of -S from every instance in the
#   directory).
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
tmp=$(mktemp -d /tmp/torn-fuzz-sync-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

refuse() {  # what expected-text args...
    local what=$1 want=$2; shift 2
    "$torn" fuzz schedule --time 1 "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [[ $rc -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q -- "$want" "$tmp/err"; then
        ok "$what: exit 2, one line"
    else
        bad "$what: exit $rc"; cat "$tmp/err"
    fi
}
refuse "--role without --sync-dir" "go together" --role main
refuse "--sync-dir without --role" "go together" --sync-dir "$tmp/s"
refuse "a bad role" "--role: main or secondary" --sync-dir "$tmp/s" --role boss
refuse "a name with a slash" "--name" --sync-dir "$tmp/s" --role main --name a/b
refuse "--out with --sync-dir" "not with --out" --sync-dir "$tmp/s" --role main --out "$tmp/o"
refuse "--report of a missing directory" "not a directory" --report "$tmp/nope"
refuse "--report with --out" "reads a campaign" --report "$tmp" --out "$tmp/o"

if ! command -v afl-fuzz >/dev/null; then
    echo "SKIP two-machine campaign: afl-fuzz not installed"
else
    export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
    mkdir "$tmp/sync"
    timeout 150 "$torn" fuzz schedule --sync-dir "$tmp/sync" --role main --name hostA --time 3 \
        --quiet --json "$tmp/a.json" >"$tmp/a.out" 2>&1 &
    a=$!
    timeout 150 "$torn" fuzz schedule --sync-dir "$tmp/sync" --role secondary --name hostB \
        --jobs 2 --time 3 --quiet --json "$tmp/b.json" >"$tmp/b.out" 2>&1
    rc_b=$?
    wait $a
    rc_a=$?
    [[ $rc_a -eq 0 && $rc_b -eq 0 ]] && ok "both machines' campaigns ran (exit $rc_a, $rc_b)" ||
        { bad "campaigns: exit $rc_a, $rc_b"; tail -3 "$tmp/a.out" "$tmp/b.out"; }
    for inst in "hostA-m:-M" "hostB-s1:-S" "hostB-s2:-S"; do
        name=${inst%%:*} flag=${inst#*:}
        grep -q -- "-o $tmp/sync $flag $name " "$tmp/sync/$name/fuzzer_stats" 2>/dev/null &&
            ok "instance $name runs as afl-fuzz $flag $name in the shared directory" ||
            bad "instance $name: no fuzzer_stats with $flag $name"
    done
    python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["results"][0]["metrics"]
b = json.load(open(sys.argv[2]))["results"][0]["metrics"]
assert a["instances"] == 1 and b["instances"] == 2, (a, b)
assert a["execs"] > 0 and b["execs"] > 0, (a, b)' "$tmp/a.json" "$tmp/b.json" &&
        ok "each report covers its own machine's instances (1 and 2)" ||
        bad "reports do not cover their own instances"
    "$torn" fuzz schedule --report "$tmp/sync" --quiet --json "$tmp/all.json" >"$tmp/all.out" 2>&1
    rc=$?
    python3 -c '
import json, sys
a, b, t = (json.load(open(p))["results"][0]["metrics"] for p in sys.argv[1:4])
assert t["instances"] == 3 and t["execs"] == a["execs"] + b["execs"], (a, b, t)' \
        "$tmp/a.json" "$tmp/b.json" "$tmp/all.json" && [[ $rc -eq 0 ]] &&
        ok "--report folds the 3 instances of both machines into one report (execs add up)" ||
        { bad "--report: exit $rc"; tail -3 "$tmp/all.out"; }
fi

finish fuzz-sync

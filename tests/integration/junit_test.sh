#!/usr/bin/env bash
# The JUnit report and GitHub annotations of real runs, as CI tools read them:
# - two runs (three targets; corrupt-read fails deterministically on
#   file:naive and file:rename) give reports whose suites are named per target
#   and run, so the two merged into one <testsuites> (as junit-report-merger
#   does) still have one <properties> per suite and distinct names;
# - Jenkins' JUnit schema (tests/data/junit-jenkins.xsd, vendored with its
#   licence; TORN_JUNIT_XSD names another such as junit-10.xsd of Jenkins'
#   xunit plugin): xmllint validates both reports, their merge, torn merge's
#   and torn fuzz's JUnit, and rejects
#   the two mistakes torn once made (`skipped` on <testsuites>, a suite with
#   two <properties>); the rules of junit-10 that torn's report touches are
#   also checked one by one (attributes <testsuites> may carry, required
#   attributes, one <properties> per suite, time format);
# - classnames carry no dot of a target URL (Jenkins splits at the last dot);
# - with GITHUB_ACTIONS=true: one ::error per failing scenario x target, each
#   with the seed and its replay command.
# Closes with "N passed, N failed".
set -u
data=$(cd "$(dirname "$0")/../data" && pwd)
. "$(dirname "$0")/fs_common.sh" torn-junit-test # TORN, work, check; cleanup on exit
mkdir "$work/tmp"
export TMPDIR=$work/tmp
cd "$work" || exit 1
for run in a b; do
    GITHUB_ACTIONS=true "$TORN" run --target file:naive --target file:rename --target file:durable \
        --scenario corrupt-read --duration 1 --seed "$SEED" --quiet --junit "$run.xml" --json "$run.json" \
        >"$run.out" 2>&1
    echo "run $run: exit $? (seed $SEED)"
done
check "corrupt-read fails on file:naive and file:rename, passes on file:durable" \
    bash -c "grep -Eq 'corrupt-read +file:naive +FAIL' a.out && grep -Eq 'corrupt-read +file:rename +FAIL' a.out && grep -Eq 'corrupt-read +file:durable +PASS' a.out"

# --- merge, as junit-report-merger: every <testsuite> of both under one root ----------
python3 - a.xml b.xml merged.xml <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.Element("testsuites")
for p in sys.argv[1:3]:
    root.extend(ET.parse(p).getroot().findall("testsuite"))
ET.ElementTree(root).write(sys.argv[3], encoding="UTF-8", xml_declaration=True)
PY
check "merged: six suites with six distinct names" \
    test "$(python3 -c 'import sys,xml.etree.ElementTree as E; n=[s.get("name") for s in E.parse("merged.xml").getroot()]; print(len(n), len(set(n)))')" = "6 6"

# --- the schema ------------------------------------------------------------------------
xsd=${TORN_JUNIT_XSD:-$data/junit-jenkins.xsd}
validate() { xmllint --noout --schema "$xsd" "$1" 2>"$1.xsd.err" || { cat "$1.xsd.err"; false; }; }
# torn's other JUnit writers: torn merge of the two runs' JSON, and a torn
# fuzz campaign (when AFL++ is here).
"$TORN" merge a.json b.json --junit torn-merge.xml >/dev/null 2>&1
junits=(a.xml merged.xml torn-merge.xml)
if command -v afl-fuzz >/dev/null && command -v afl-clang-fast >/dev/null; then
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 "$TORN" fuzz spec \
        --time 1 --quiet --no-color --out "$work/fuzz" --junit fuzz.xml >fuzz.out 2>&1
    if [[ -s fuzz.xml ]]; then junits+=(fuzz.xml); else echo "SKIP torn fuzz JUnit: no report ($(tail -1 fuzz.out))"; fi
fi
if command -v xmllint >/dev/null && [[ -r $xsd ]]; then
    for f in "${junits[@]}"; do
        check "xmllint --schema $(basename "$xsd") $f" validate "$f"
    done
    sed '0,/<testsuites /s//<testsuites skipped="0" /' a.xml >bad-skipped.xml
    python3 - a.xml bad-props.xml <<'PY'
import sys, xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
suite = tree.getroot().find("testsuite")
suite.insert(1, suite.find("properties"))   # the same block twice, as one-name merges gave
tree.write(sys.argv[2], encoding="UTF-8", xml_declaration=True)
PY
    for f in bad-skipped.xml bad-props.xml; do
        check "the schema rejects $f" bash -c "! xmllint --noout --schema '$xsd' '$f' 2>/dev/null"
    done
else
    # libxml2-utils is a dependency (scripts/deps.sh): a machine without it
    # cannot vouch for the report.
    check "xmllint (libxml2-utils) and $xsd present" false
fi
for f in "${junits[@]}"; do
    check "$f follows the schema's rules torn's report touches" python3 - "$f" <<'PY'
import re, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
time = re.compile(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$")
assert root.tag == "testsuites"
assert set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}, root.attrib
assert all(c.tag == "testsuite" for c in root), [c.tag for c in root]
for s in root:
    assert {"name", "tests", "failures", "errors"} <= set(s.attrib), s.attrib
    assert set(s.attrib) <= {"name", "tests", "failures", "errors", "group", "time", "skipped",
                             "timestamp", "hostname", "id", "package", "file", "log", "url"}, s.attrib
    assert time.match(s.get("time", "")), s.get("time")
    assert len(s.findall("properties")) == 1, s.get("name")
    for p in s.iter("property"):
        assert set(p.attrib) == {"name", "value"}, p.attrib
    for tc in s.findall("testcase"):
        assert "name" in tc.attrib and set(tc.attrib) <= {"name", "time", "classname", "group"}, tc.attrib
        assert all(c.tag in ("skipped", "error", "failure", "system-out", "system-err") for c in tc)
        assert "." not in tc.get("classname", "").split("torn.", 1)[-1], tc.get("classname")
PY
done

# --- GitHub annotations ------------------------------------------------------------------
for t in naive rename; do
    check "an ::error for corrupt-read on file:$t with seed and replay" \
        grep -Eq "^::error title=torn corrupt-read on file%3A$t%3A .*%0Aseed: $SEED%0Areplay: torn run --target file:$t --scenario corrupt-read" a.out
done
check "every ::error carries a replay command" \
    bash -c "test \$(grep -c '^::error' a.out) -ge 2 && ! grep '^::error' a.out | grep -qv '%0Areplay: '"

finish

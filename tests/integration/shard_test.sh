#!/usr/bin/env bash
# Sharded runs (torn run --shard I/N) and torn merge:
# - the shards of a run (N = 3 and 5) cover every entry (target x scenario)
#   exactly once, each shard the entries k with k mod N = I - 1;
# - torn merge of the shards has the unsharded run's results in its order,
#   with its verdicts and exit code, in JSON, JUnit and Markdown; the merged
#   JSON holds every shard result unchanged (latency histograms included);
# - a shard with no entry is an empty PASS run; bad --shard values and bad
#   merges (a missing or repeated shard, shards of two runs, not a report,
#   no input) are exit 2 with one line, and write no report.
# The scenarios are ones whose verdict the seed decides (corrupt-read,
# power-loss, io-errors; without /dev/fuse the last two are ERROR in every
# run alike), so sharded and unsharded runs must agree.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-shard-test # TORN, SEED, work, check
mkdir "$work/tmp"
export TMPDIR=$work/tmp
d=$work
echo "seed $SEED"
plan=(--target file:naive --target file:rename --target file:durable
      --scenario corrupt-read --scenario power-loss --scenario io-errors --seed "$SEED" --quiet)

"$TORN" run "${plan[@]}" --json "$d/all.json" >/dev/null 2>"$d/all.err"
all_rc=$?
check "the unsharded run has a verdict (exit $all_rc)" test "$all_rc" -le 2
for n in 3 5; do
    for i in $(seq 1 $n); do
        "$TORN" run "${plan[@]}" --shard "$i/$n" --json "$d/s$n-$i.json" >/dev/null 2>&1
    done
    check "N=$n: each shard runs entries k with k mod $n = I-1, together every entry once" \
        python3 - "$d/all.json" "$n" "$d"/s$n-*.json <<'PY'
import json, sys
all_, n, shards = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3:]
want = [(r["entry"], r["target"], r["scenario"]) for r in all_["results"]]
assert [e for e, _, _ in want] == list(range(len(want))), want
got = []
for p in shards:
    s = json.load(open(p)); sh = s["shard"]
    es = [(r["entry"], r["target"], r["scenario"]) for r in s["results"]]
    assert sh["count"] == n and sh["entries_total"] == len(want), (p, sh)
    assert all(e % n == sh["index"] - 1 for e, _, _ in es), (p, es)
    assert sh["entries"] == len(es), (p, sh, es)
    got += es
assert sorted(got) == want, (sorted(got), want)
PY
    "$TORN" merge "$d"/s$n-*.json --json "$d/m$n.json" --junit "$d/m$n.xml" \
        --markdown "$d/m$n.md" >"$d/m$n.out" 2>"$d/m$n.err"
    rc=$?
    check "N=$n: merge exits as the unsharded run ($rc = $all_rc)" test "$rc" = "$all_rc"
    check "N=$n: merged JSON = the unsharded run's results, order and verdicts; shard results unchanged" \
        python3 - "$d/all.json" "$d/m$n.json" "$d"/s$n-*.json <<'PY'
import json, sys
a, m = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
key = lambda r: (r["entry"], r["target"], r["scenario"], r["verdict"])
assert [key(r) for r in m["results"]] == [key(r) for r in a["results"]], \
    ([key(r) for r in m["results"]], [key(r) for r in a["results"]])
assert m["summary"] == a["summary"] and m["exit_code"] == a["exit_code"], (m["summary"], a["summary"])
src = {r["entry"]: r for p in sys.argv[3:] for r in json.load(open(p))["results"]}
for r in m["results"]:
    assert r == src[r["entry"]], r["entry"]
assert "shard" not in m
PY
    check "N=$n: JUnit and Markdown have every entry" python3 - "$d/m$n.xml" "$d/m$n.md" "$d/all.json" <<'PY'
import json, sys, xml.dom.minidom as x
n = len(json.load(open(sys.argv[3]))["results"])
assert len(x.parse(sys.argv[1]).getElementsByTagName("testcase")) == n
md = open(sys.argv[2]).read()
rows = [l for l in md.splitlines() if l.startswith("| ") and " | file:" in l]
assert len(rows) == n, rows
PY
done
check "merge prints the table with every result" test "$(grep -cE ' (PASS|FAIL|ERROR) ' "$d/m3.out")" -ge 9

# A suite file's entries shard the same way (torn run --suite FILE --shard I/N).
cat >"$d/suite.json" <<EOF
{"name": "shard-suite", "targets": ["file:naive", "file:durable"], "seed": $SEED,
 "scenarios": ["corrupt-read", {"scenario": "io-errors", "name": "io-errors-b"}, "power-loss"]}
EOF
"$TORN" run --suite "$d/suite.json" --quiet --json "$d/su-all.json" >/dev/null 2>&1
for i in 1 2; do
    "$TORN" run --suite "$d/suite.json" --shard "$i/2" --quiet --json "$d/su-$i.json" >/dev/null 2>&1
done
"$TORN" merge "$d/su-1.json" "$d/su-2.json" --json "$d/su-m.json" >/dev/null 2>&1
check "a suite's 6 entries: shards 1/2 and 2/2 merge to the unsharded suite run's results" python3 - \
    "$d/su-all.json" "$d/su-m.json" "$d/su-1.json" "$d/su-2.json" <<'PY'
import json, sys
a, m, s1, s2 = (json.load(open(p)) for p in sys.argv[1:5])
key = lambda r: (r["entry"], r["target"], r["scenario"], r["verdict"])
assert len(a["results"]) == 6 and [key(r) for r in m["results"]] == [key(r) for r in a["results"]]
assert [r["entry"] for r in s1["results"]] == [0, 2, 4] and [r["entry"] for r in s2["results"]] == [1, 3, 5]
PY

# A shard without entries: 9 entries, shard 10 of 10.
"$TORN" run "${plan[@]}" --shard 10/10 --json "$d/empty.json" >/dev/null 2>&1
rc=$?
check "a shard with no entry exits 0 with no result" bash -c "test $rc = 0 &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"results\"] == [] and d[\"shard\"][\"entries\"] == 0' '$d/empty.json'"

# Bad --shard: one line, exit 2, nothing run.
for bad in 0/3 4/3 3 x/3 1/0 1/x 1/3/4 -1/3 1/100001 ""; do
    "$TORN" run --target file:durable --shard "$bad" --json "$d/bad.json" >"$d/bad.out" 2>"$d/bad.err"
    rc=$?
    check "--shard '$bad': exit 2, one line naming --shard" bash -c "test $rc = 2 &&
        test \$(wc -l <'$d/bad.err') = 1 && grep -q -- '--shard' '$d/bad.err' &&
        ! test -s '$d/bad.out' && ! test -e '$d/bad.json'"
done

# Bad merges: one line, exit 2, no report written.
echo '{"tool": "other"}' >"$d/notrep.json"
echo '{"tool": "torn", "results": [' >"$d/trunc.json"
badmerge() {  # what expected-text files...
    local what=$1 want=$2; shift 2
    rm -f "$d/bm.json"
    "$TORN" merge "$@" --json "$d/bm.json" >"$d/bm.out" 2>"$d/bm.err"
    local rc=$?
    check "merge $what: exit 2, one line ('$want'), no report" bash -c "test $rc = 2 &&
        test \$(wc -l <'$d/bm.err') = 1 && grep -q -- '$want' '$d/bm.err' && ! test -e '$d/bm.json'"
}
badmerge "with a shard missing" "shard 2/3 is missing" "$d/s3-1.json" "$d/s3-3.json"
badmerge "with a shard twice" "are both shard 1/3" "$d/s3-1.json" "$d/s3-1.json" "$d/s3-2.json" "$d/s3-3.json"
badmerge "of shards of two runs" "not shards of one run" "$d/s3-1.json" "$d/s5-2.json" "$d/s3-3.json"
badmerge "of a shard and an unsharded run" "report but" "$d/s3-1.json" "$d/all.json"
badmerge "of a file that is not a report" "notrep.json: not a torn JSON report" "$d/notrep.json"
badmerge "of truncated JSON" "trunc.json" "$d/trunc.json"
badmerge "of a missing file" "nope.json" "$d/nope.json"
badmerge "of nothing" "give the JSON reports"
mutate() {  # in out python-statement on d (the report)
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(d, open(sys.argv[2], "w"))' "$@"
}
mutate "$d/all.json" "$d/verdict.json" 'd["results"][1]["verdict"] = "MAYBE"'
badmerge "of a report with a bad verdict" 'verdict.json: results\[1\]: "verdict" must be' "$d/verdict.json"
mutate "$d/all.json" "$d/nohdr.json" 'd["results"][0]["latency"]["update"].pop("hdr")'
badmerge "of a report without histograms" 'nohdr.json: results\[0\].latency.update.hdr' "$d/nohdr.json"
"$TORN" merge "$d/all.json" "$d/all.json" --json "$d/twice.json" >/dev/null 2>&1
check "unsharded reports are concatenated (2 x 9 results)" python3 -c '
import json, sys; assert len(json.load(open(sys.argv[1]))["results"]) == 18' "$d/twice.json"

finish

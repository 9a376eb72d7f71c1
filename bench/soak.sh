#!/usr/bin/env bash
# A 10-minute soak (torn run --soak, harness/gate/soak.h) of the file store:
# crash-midwrite and concurrent-updaters in rounds back to back.  Prints the
# first and last progress lines: rounds, verdicts, and torn's resident
# memory (VmRSS) at start and at the end, which must stay flat (pruned
# results, capped history), and its course at each tenth of the rounds.
# SOAK=90s for a shorter run.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
torn=${TORN_BIN:-$here/torn}
tmp=$(mktemp -d /tmp/torn-soak-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$torn" run --target file:durable --scenario crash-midwrite --scenario concurrent-updaters \
    --set payload_len=65536 --soak "${SOAK:-10m}" --history-max 64 --quiet --run-dir "$tmp" \
    --json "$tmp/soak.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
grep 'soak for' "$tmp/err"
grep 'soak round' "$tmp/err" | tail -1
# The memory's course, not only its ends: VmRSS after the first round and
# at each tenth of the rounds (flat = it stops growing after warm-up).
python3 - "$tmp/err" <<'PY'
import re, sys
rss = [(int(m.group(1)), int(m.group(2))) for m in
       re.finditer(r"soak round (\d+) done .*VmRSS (\d+) KiB", open(sys.argv[1]).read())]
if rss:
    pick = sorted({0, len(rss) - 1} | {len(rss) * k // 10 for k in range(1, 10)})
    print("VmRSS KiB after round:", ", ".join("%d: %d" % rss[i] for i in pick if i < len(rss)))
PY
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("results kept in the report:", len(d["results"]), "verdicts:", [r["verdict"] for r in d["results"]])' "$tmp/soak.json" 2>/dev/null
echo "soak exit $rc"
[[ $rc -eq 0 ]]

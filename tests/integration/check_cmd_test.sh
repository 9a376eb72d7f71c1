#!/usr/bin/env bash
# `torn check` and `torn gen-history` from the command line: exit codes
# (0 valid, 1 violation, 2 bad input, 3 unknown), one-line errors naming
# FILE:LINE, --json output, determinism of the generator.
set -u
TORN_BIN=${TORN_BIN:-$(dirname "$0")/../../torn}
tmp=$(mktemp -d /tmp/torn-check-cmd.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"   # ok, bad, expect_rc (into $tmp/out, $tmp/err)

seed=${TORN_TEST_SEED:-$((RANDOM + 1))}
echo "seed $seed"
"$TORN_BIN" gen-history --ops 3000 --clients 8 --keys 4 --seed "$seed" >"$tmp/good.jsonl" 2>/dev/null
"$TORN_BIN" gen-history --ops 3000 --clients 8 --keys 4 --seed "$seed" --violation stale \
    >"$tmp/stale.jsonl" 2>/dev/null
"$TORN_BIN" gen-history --ops 3000 --clients 8 --keys 4 --seed "$seed" >"$tmp/good2.jsonl" 2>/dev/null
if cmp -s "$tmp/good.jsonl" "$tmp/good2.jsonl"; then ok "gen-history is deterministic"; else
    bad "gen-history differs for one seed"; fi

expect_rc "valid generated history" 0 "$TORN_BIN" check "$tmp/good.jsonl"
grep -q "model cas-register" "$tmp/out" && ok "model guessed from operations" || bad "model guess"
expect_rc "stale read found" 1 "$TORN_BIN" check --model cas-register "$tmp/stale.jsonl"
grep -q "counterexample" "$tmp/out" && ok "counterexample printed" || bad "no counterexample"
ncx=$(awk '/counterexample/{c=1;next} c&&/^    p/{n++} END{print n+0}' "$tmp/out")
[[ $ncx -ge 2 && $ncx -le 12 ]] && ok "counterexample is small ($ncx ops)" || bad "counterexample has $ncx ops"

expect_rc "json report" 1 "$TORN_BIN" check --quiet --json "$tmp/r.json" "$tmp/stale.jsonl"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verdict"]=="invalid" and d["violations"][0]["ops"], d' \
    "$tmp/r.json" && ok "json verdict and ops" || bad "json content"

# --html: the page of a failing check draws its counterexample; a passing
# check's page says valid and draws none; history text is escaped.
expect_rc "html page of a violation" 1 "$TORN_BIN" check --quiet --html "$tmp/r.html" "$tmp/stale.jsonl"
grep -q 'badge FAIL">INVALID' "$tmp/r.html" && grep -q '<svg class="timeline"' "$tmp/r.html" &&
    grep -q 'badge FAIL">stale-read\|badge FAIL">not-linearizable' "$tmp/r.html" &&
    ok "html: INVALID, the violation and its timeline" || bad "html of a violation: $(head -c 300 "$tmp/r.html")"
expect_rc "html page of a valid history" 0 "$TORN_BIN" check --quiet --html "$tmp/g.html" "$tmp/good.jsonl"
grep -q 'badge PASS">valid' "$tmp/g.html" && ! grep -q '<svg' "$tmp/g.html" &&
    ok "html: valid, nothing drawn" || bad "html of a valid history"
printf '%s\n' '{"type":"invoke","process":1,"f":"write","value":"<script>x</script>","time":1}' \
    '{"type":"ok","process":1,"f":"write","value":"<script>x</script>","time":2}' \
    '{"type":"invoke","process":2,"f":"read","time":3}' \
    '{"type":"ok","process":2,"f":"read","value":"</svg><b>","time":4}' >"$tmp/xss.jsonl"
expect_rc "html of hostile values" 1 "$TORN_BIN" check --quiet --html "$tmp/x.html" "$tmp/xss.jsonl"
! grep -q '<script\|</svg><b>' "$tmp/x.html" && grep -q '&lt;/svg&gt;&lt;b&gt;' "$tmp/x.html" &&
    ok "html: history text escaped" || bad "html: history text not escaped"
expect_rc "html to an unwritable path" 2 "$TORN_BIN" check --quiet --html "$tmp/no/such/dir/r.html" "$tmp/good.jsonl"
[[ $(wc -l <"$tmp/err") -eq 1 ]] && ok "unwritable html: one error line" || bad "unwritable html: $(cat "$tmp/err")"

printf '{"type":"invoke","process":1,"f":"read","time":1}\n{"type":"ok","process":1,"f":"read","value":1,"time":' \
    >"$tmp/trunc.jsonl"
expect_rc "truncated line" 2 "$TORN_BIN" check "$tmp/trunc.jsonl"
grep -q "trunc.jsonl:2:" "$tmp/err" && [[ $(wc -l <"$tmp/err") -eq 1 ]] && ok "one error line with file:line" ||
    bad "error line: $(cat "$tmp/err")"
expect_rc "missing file" 2 "$TORN_BIN" check "$tmp/nope.jsonl"
expect_rc "unknown model" 2 "$TORN_BIN" check --model nonsense "$tmp/good.jsonl"
expect_rc "model that does not fit" 2 "$TORN_BIN" check --model register "$tmp/good.jsonl"
expect_rc "bad option" 2 "$TORN_BIN" check --frobnicate "$tmp/good.jsonl"
head -c 3000 /dev/urandom >"$tmp/noise.bin"
expect_rc "binary noise" 2 "$TORN_BIN" check "$tmp/noise.bin"

"$TORN_BIN" gen-history --ops 4000 --clients 40 --values 3 --info-rate 0.3 --seed "$seed" \
    >"$tmp/hard.jsonl" 2>/dev/null
"$TORN_BIN" check --quiet --time-limit 0.01 "$tmp/hard.jsonl" >"$tmp/out" 2>&1
rc=$?
[[ $rc -eq 3 || $rc -eq 0 ]] && ok "time bound gives unknown or valid (exit $rc)" || bad "time bound: exit $rc"

"$TORN_BIN" gen-history --model version --ops 2000 --keys 3 --seed "$seed" >"$tmp/v.jsonl" 2>/dev/null
"$TORN_BIN" gen-history --model version --ops 2000 --keys 3 --seed "$seed" --violation lost-update \
    >"$tmp/vl.jsonl" 2>/dev/null
expect_rc "version model valid" 0 "$TORN_BIN" check "$tmp/v.jsonl"
expect_rc "version model lost update" 1 "$TORN_BIN" check --model version "$tmp/vl.jsonl"
expect_rc "transitions valid" 0 "$TORN_BIN" check --model transitions "$tmp/v.jsonl"
echo '{"queued":[],"running":[]}' >"$tmp/table.json"
# A fixed seed: some generated histories never contain "queued" (seed 26348),
# and then a table that makes it terminal is rightly not violated.
"$TORN_BIN" gen-history --model version --ops 2000 --keys 3 --seed 1 >"$tmp/vq.jsonl" 2>/dev/null
expect_rc "custom table: queued is terminal" 1 "$TORN_BIN" check --model transitions \
    --transitions "$tmp/table.json" "$tmp/vq.jsonl"
echo '{"queued":"running"}' >"$tmp/badtable.json"
expect_rc "malformed table" 2 "$TORN_BIN" check --model transitions --transitions "$tmp/badtable.json" "$tmp/v.jsonl"

printf 'INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t2\n' \
    >"$tmp/j.log"
expect_rc "jepsen log, garbage read" 1 "$TORN_BIN" check --format jepsen "$tmp/j.log"


# ---- what Jepsen writes, from a file and from stdin
cat >"$tmp/history.edn" <<'EDN'
{:index 0, :time 1000, :type :invoke, :process 0, :f :write, :value 3}
{:index 1, :time 2000, :type :ok, :process 0, :f :write, :value 3}
{:index 2, :time 2500, :type :info, :process :nemesis, :f :start-partition, :value nil}
{:index 3, :time 2600, :type :info, :process :nemesis, :f :start-partition,
 :value [:isolated {"n1" #{"n2" "n3"}}]}
{:index 4, :time 3000, :type :invoke, :process 1, :f :read, :value nil}
{:index 5, :time 4000, :type :ok, :process 1, :f :read, :value 3}
EDN
expect_rc "history.edn with nemesis ops" 0 "$TORN_BIN" check --model register "$tmp/history.edn"
grep -q "2 operations, 2 events" "$tmp/out" && ok "nemesis ops are events" || bad "nemesis: $(head -1 "$tmp/out")"
sed '$ s/:value 3}$/:value 4}/' "$tmp/history.edn" >"$tmp/history-bad.edn"
expect_rc "history.edn, read of a value never written" 1 "$TORN_BIN" check --model register - <"$tmp/history-bad.edn"
printf '[{:process 0 :type :invoke :f :write :value 1}\n {:process 0 :type :ok :f :write :value 1}\n' |
    expect_rc "unclosed vector on stdin" 2 "$TORN_BIN" check -
grep -q "^torn check: stdin:3: " "$tmp/err" && ok "stdin error names the line" || bad "stdin error: $(cat "$tmp/err")"
printf 'INFO [2024-01-01 00:00:00,000] jepsen test - starting\nINFO [2024-01-01 00:00:01,000] jepsen worker 0 - jepsen.util 0\t:invoke\t:write\t1\nINFO [2024-01-01 00:00:01,001] jepsen worker 0 - jepsen.util 0\t:ok\t:write\t1\n' \
    >"$tmp/new.log"
expect_rc "new jepsen.log generation" 0 "$TORN_BIN" check --model register "$tmp/new.log"
grep -q "skipped 1 log lines" "$tmp/err" && ok "skipped log lines counted" || bad "skip count: $(cat "$tmp/err")"

# ---- verdict work is deterministic: same failing keys and counterexamples
kv=$(dirname "$0")/../anchors/porcupine-kv/c10-bad.txt
if [[ -f $kv ]]; then
    "$TORN_BIN" check --model kv "$kv" 2>&1 | grep -v "cpu" >"$tmp/d1"
    "$TORN_BIN" check --model kv "$kv" 2>&1 | grep -v "cpu" >"$tmp/d2"
    cmp -s "$tmp/d1" "$tmp/d2" && ok "two checks of c10-bad print the same violations" || bad "c10-bad differs"
fi

# ---- --export jepsen: what torn exports, torn (and Jepsen's tools) read back with the same verdict
printf '{"type":"invoke","process":0,"f":"write","value":1234567890123456789,"time":1}\n{"type":"ok","process":0,"f":"write","value":1234567890123456789,"time":2}\n{"type":"invoke","process":1,"f":"read","time":3}\n{"type":"ok","process":1,"f":"read","value":1234567890123456700,"time":4}\n' \
    >"$tmp/big.jsonl"
expect_rc "a big integer read back wrong" 1 "$TORN_BIN" check --model register "$tmp/big.jsonl"
"$TORN_BIN" check --export jepsen "$tmp/big.jsonl" >"$tmp/big.edn" 2>"$tmp/err"
grep -q ":value 1234567890123456700}" "$tmp/big.edn" && ok "export keeps exact numbers" || bad "export: $(cat "$tmp/big.edn")"
expect_rc "exported big-integer history still INVALID" 1 "$TORN_BIN" check --model register "$tmp/big.edn"
txn=$(dirname "$0")/../histories/txn/append-G-single-bad.edn
if [[ -f $txn ]]; then
    "$TORN_BIN" check --export jepsen "$txn" >"$tmp/t.edn"
    grep -q '\[:append "x" 1\]' "$tmp/t.edn" && ok "export writes micro-operations as keywords" || bad "txn export: $(head -2 "$tmp/t.edn")"
    expect_rc "exported txn history: G-single again" 1 "$TORN_BIN" check "$tmp/t.edn"
fi
if [[ -f $kv ]]; then
    "$TORN_BIN" check --export jepsen "$kv" >"$tmp/kv.edn"
    expect_rc "exported c10-bad still INVALID" 1 "$TORN_BIN" check --model kv "$tmp/kv.edn"
    [[ $(grep -c "^violation" "$tmp/out") -eq $(grep -c "^violation" "$tmp/d1") ]] &&
        ok "exported c10-bad fails on as many keys" || bad "c10-bad export: $(grep -c "^violation" "$tmp/out") violations"
fi

# ---- Knossos's own data/ files (a list after a comment, a vector), with the verdicts their folders state
kn=$(dirname "$0")/../histories/knossos
expect_rc "Knossos rethink-fail-minimal (bad/)" 1 "$TORN_BIN" check --model cas-register "$kn/rethink-fail-minimal-bad.edn"
expect_rc "Knossos cas-register-bug (good/)" 0 "$TORN_BIN" check --model cas-register "$kn/cas-register-bug-ok.edn"

finish

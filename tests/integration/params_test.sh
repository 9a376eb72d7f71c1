#!/usr/bin/env bash
# Parameters and numbers: every bad value is refused before anything runs
# with one line naming the parameter and its range (exit 2), the same strict
# number rules everywhere (CLI, --set, spec files, target ?k=v, torn check,
# gen-history, torn proxy, torn fuzz), duplicate JSON keys refused, a UTF-8
# BOM accepted, and --duration honoured by scenarios whose delays or loops
# used to run far past it.  Each refusal case ran (or crashed, or said the
# wrong thing) before the strict parser; the table says what it must say now.
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
tmp=$(mktemp -d /tmp/torn-params-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# refused "WANT" ARGS...: exit 2 within 15 s (a refusal runs nothing; the
# bound only catches a run that started anyway, loaded machine or not),
# stderr contains WANT, nothing ran (no results table on stdout).
refused() {
    local want=$1; shift
    local t0 t1 rc
    t0=$(date +%s%N)
    timeout -k 2 20 "$torn" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    if [[ $rc -eq 2 ]] && grep -qF -- "$want" "$tmp/err" && ((ms < 15000)) &&
        ! grep -q 'PASS\|FAIL' "$tmp/out"; then
        ok "$* -> exit 2: $(head -1 "$tmp/err" | cut -c1-110)"
    else
        bad "$*: exit $rc in $ms ms, want 2 and '$want'; got: $(head -3 "$tmp/err")"
    fi
}

# ---- scenario parameters: declared ranges, strict numbers
cm=(run --scenario crash-midwrite --run-dir "$tmp/rd")
refused "--set payload_len: expected an integer from 1 to 8388608, got '-1'" "${cm[@]}" --set payload_len=-1
refused "--set payload_len: expected an integer from 1 to 8388608, got '-5'" "${cm[@]}" --set payload_len=-5
refused "got '4294967296'" "${cm[@]}" --set payload_len=4294967296
refused "--set payload_len: expected an integer" run --scenario concurrent-updaters --set payload_len=-1
refused "--set kills: expected an integer from 1 to 100000, got '0x10'" "${cm[@]}" --set kills=0x10
refused "--set kills: expected an integer from 1 to 100000, got '1.5'" "${cm[@]}" --set kills=1.5
refused "--set kills: expected an integer from 1 to 100000, got '1=2'" "${cm[@]}" --set kills=1=2
refused "--set kills: expected an integer from 1 to 100000, got '0'" "${cm[@]}" --set kills=0
refused "got '12abc'" "${cm[@]}" --set kills=12abc
refused "--set duration_s: expected a number from 0 to 86400, got '1e400'" "${cm[@]}" --set duration_s=1e400
refused "--set max_delay_ms: expected a number from 0 to 3600000, got '-1'" "${cm[@]}" --set max_delay_ms=-1 --duration 3
refused "--set max_delay_ms: expected a number" "${cm[@]}" --set max_delay_ms=nan
refused "--set updates: expected an integer from 1 to 1000000, got '-1'" run --scenario concurrent-updaters --set updates=-1
refused "--set rounds: expected an integer from 1 to 100000, got '-3'" run --scenario optimistic-lock --set rounds=-3
refused "--set rounds: expected an integer" run --scenario state-transition --set rounds=0
refused "--set max_nth: expected an integer from 1 to 10000, got '100000'" run --scenario io-errors --set max_nth=100000
refused "--set faults must be an array, not a number" run --scenario io-errors --set faults=3
refused "--workers: expected an integer from 1 to 64, got '256'" run --workers 256
refused "--workers: expected an integer from 1 to 64, got '100'" run --scenario optimistic-lock --workers 100
refused "--workers: expected an integer from 1 to 256, got '1.5'" run --workers 1.5

# ---- the run's own options
refused "--seed: expected an integer from 0 to 18446744073709551615, got '0x10'" run --seed 0x10
refused "--seed: expected an integer" run --seed -1
refused "--duration: expected a number from 0 to 86400, got 'inf'" run --duration inf
refused "--rate: expected a number" run --rate nan --scenario concurrent-updaters
refused "--timeout-ms: expected an integer from 1 to 3600000, got '1.5'" run --timeout-ms 1.5

# ---- spec files: ranges, fractions, duplicate keys, BOM
printf '{"scenario": "crash-midwrite", "params": {"kills": 5, "kills": 0}}' >"$tmp/dup.json"
refused "scenario spec $tmp/dup.json: key \"kills\" appears twice in one object" run --scenario "$tmp/dup.json"
printf '{"scenario": "crash-midwrite", "params": {"kills": 1.5}}' >"$tmp/frac.json"
refused "$tmp/frac.json: parameter \"kills\": expected an integer from 1 to 100000, got '1.5'" run --scenario "$tmp/frac.json"
printf '{"scenario": "crash-midwrite"} x' >"$tmp/trail.json"
refused "$tmp/trail.json:1: text after the JSON value" run --scenario "$tmp/trail.json"
# A BOM is skipped: the file is read, and its bad value is what is refused.
printf '\xef\xbb\xbf{"scenario": "crash-midwrite", "params": {"payload_len": -1}}\n' >"$tmp/bom.json"
refused "$tmp/bom.json: parameter \"payload_len\": expected an integer from 1" run --scenario "$tmp/bom.json"
printf '{"a": 1, "a": 2}' >"$tmp/tspec.json"
refused "target spec $tmp/tspec.json: key \"a\" appears twice" run --target http://127.0.0.1:9 --target-spec "$tmp/tspec.json"

# ---- target ?k=v: checked before the run (retry_ms=-5 was a false FAIL
# [never-hang] after 12 s, retries=-1 said "no such record")
refused "parameter retry_ms: expected an integer from 0 to 60000, got '-5'" run --target 'file:naive?retry_ms=-5' --scenario corrupt-read
refused "parameter retries: expected an integer from 1 to 1000, got '-1'" run --target 'file:naive?retries=-1' --scenario corrupt-read
refused "parameter chunk: expected an integer from 1 to 1073741824, got '0x10'" run --target-opt chunk=0x10 --scenario corrupt-read
refused "parameter retries: expected an integer from 1 to 100000, got '1.5'" run --target 'redis:watch?retries=1.5'
refused "parameter retries: expected an integer from 1 to 100000, got '-1'" run --target 'postgres:guarded?retries=-1'

# ---- other commands
"$torn" gen-history --ops 20 --seed 3 >"$tmp/h.jsonl" 2>/dev/null
refused "--time-limit: expected a number from 0 to 604800, got '1e12'" check "$tmp/h.jsonl" --time-limit 1e12
refused "--mem-limit: expected a number" check "$tmp/h.jsonl" --mem-limit -1
refused "missing value for --time-limit" check "$tmp/h.jsonl" --time-limit
printf '{"A": ["B"], "A": []}' >"$tmp/tr.json"
refused "key \"A\" appears twice" check "$tmp/h.jsonl" --transitions "$tmp/tr.json"
refused "--ops: expected an integer from 1 to 1000000000, got '1.5'" gen-history --ops 1.5
refused "--seed: expected an integer" gen-history --seed 0x10
refused "--duration: expected a number from 0 to 86400, got '1e400'" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --duration 1e400
refused "--schedule: expected a number" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --schedule 5m
refused "attribute latency: expected an integer" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --toxic latency=1.5
refused "toxicity: expected a number from 0 to 1, got '2'" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --toxic latency=5~2
refused "--seed: expected an integer" proxy --api 127.0.0.1:0 --seed 1e3
refused "--jobs: expected an integer from 1 to 64, got '0'" fuzz params --jobs 0
refused "--time: expected a number from 1 to 604800, got 'inf'" fuzz params --time inf

refused "--api '127.0.0.1:abc': port must be a number 0..65535" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --api 127.0.0.1:abc
refused "--api '127.0.0.1:1.5': port must be a number" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --api 127.0.0.1:1.5
# The proxy API's request bodies are strict JSON too (a key given twice was
# silently the last one: latency 6 instead of 5).
"$torn" proxy --name p1 --listen 127.0.0.1:0 --upstream 127.0.0.1:9 --api 127.0.0.1:0 \
    >"$tmp/px.out" 2>&1 &
px=$!
for _ in $(seq 100); do grep -q '^api listening' "$tmp/px.out" && break; sleep 0.1; done
api="http://127.0.0.1:$(sed -n 's/^api listening on [0-9.]*:\([0-9]*\).*/\1/p' "$tmp/px.out")"
got=$(curl -s -m 10 -w ' %{http_code}' -X POST -d '{"type":"latency","attributes":{"latency":5,"latency":6}}' \
    "$api/proxies/p1/toxics")
[[ $got == *'key \"latency\" appears twice'*' 400' ]] && ok "proxy API: a duplicate key in a body -> 400 ($got)" ||
    bad "proxy API duplicate key: $got"
got=$(curl -s -m 10 -w ' %{http_code}' -X POST -d '{"type":"latency","attributes":{"latency":5}}' \
    "$api/proxies/p1/toxics")
[[ $got == *'"latency":5'*' 200' ]] && ok "proxy API: the same body without the duplicate is taken" ||
    bad "proxy API good body: $got"
kill "$px" 2>/dev/null
wait "$px" 2>/dev/null
# The Redis database number of a URL path (99999999999 wrapped to a
# negative int and ran).
refused "target redis://127.0.0.1:1/99999999999: bad host, port or database number" run --target redis://127.0.0.1:1/99999999999 --scenario optimistic-lock
refused "target redis://127.0.0.1:1/1x: bad host, port or database number" run --target redis://127.0.0.1:1/1x --scenario optimistic-lock

# ---- torn-fs control commands: the same strict numbers (nth=0x10 was "bad
# rule argument", nth=1.5 became 1, times=-1 became for ever, freeze abc
# and wait abc became 0, a state m2x:dbogus:1 cut as m2:dnone)
if [[ -c /dev/fuse ]] && mkdir "$tmp/fb" "$tmp/fm" &&
    "$torn" fs mount "$tmp/fb" "$tmp/fm" >/dev/null 2>&1; then
    trap '"$torn" fs umount "$tmp/fm" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
    fsctl=(fs ctl "$tmp/fm")
    refused "rule nth=N: expected an integer from 1 to 1000000000000, got '0x10'" "${fsctl[@]}" rule write EIO nth=0x10
    refused "rule nth=N: expected an integer from 1 to 1000000000000, got '1.5'" "${fsctl[@]}" rule write EIO nth=1.5
    refused "rule times=K: expected an integer from 0 to 1000000000000, got '-1'" "${fsctl[@]}" rule write EIO times=-1
    refused "freeze N: expected an integer from 0 to 1000000000000, got 'abc'" "${fsctl[@]}" freeze abc
    refused "wait MS: expected an integer from 0 to 3600000, got '1e3'" "${fsctl[@]}" wait 1e3
    refused "cut meta=K: expected an integer" fs cut "$tmp/fm" meta=2x
    refused "cut data=SPEC:ARG: expected an integer" fs cut "$tmp/fm" data=pfx:1.5
    refused "cut torn SEED: expected an integer" fs cut "$tmp/fm" torn 0x10
    refused "state 'm2:dbogus:1': unknown data spec 'bogus'" fs cut "$tmp/fm" state=m2:dbogus:1
    refused "state: kept namespace operations m<K>: expected an integer" fs cut "$tmp/fm" state=m2x:dnone:0
    if out=$("$torn" "${fsctl[@]}" rule write EIO nth=3 times=2 2>&1) && [[ $out == *"nth=3 times=2"* ]]; then
        ok "a good rule is still taken ($out)"
    else
        bad "rule write EIO nth=3 times=2: $out"
    fi
    "$torn" fs umount "$tmp/fm" >/dev/null 2>&1
    # power-loss --set state=ID is checked with the same grammar before any cut.
    for st in "op0x5/m2:dnone:0" "op5/m2x:dnone:0" "op5/m2:dbogus:0"; do
        timeout -k 2 60 "$torn" run --quiet --target file:durable --scenario power-loss \
            --set "state=$st" --run-dir "$tmp/rd" >"$tmp/out" 2>&1
        rc=$?
        if [[ $rc -eq 2 ]] && grep -q "ERROR power-loss.*\(expected an integer\|unknown data spec\)" "$tmp/out"; then
            ok "power-loss --set state=$st: exit 2, $(grep -o 'state[^:]*: .*' "$tmp/out" | head -1 | cut -c1-90)"
        else
            bad "power-loss --set state=$st: exit $rc: $(grep -v '^$' "$tmp/out" | tail -2)"
        fi
    done
else
    echo "skip torn-fs control commands: no /dev/fuse"
fi

# ---- a UTF-8 BOM before a history works in auto mode as with --format torn
printf '\xef\xbb\xbf' | cat - "$tmp/h.jsonl" >"$tmp/hb.jsonl"
if "$torn" check "$tmp/hb.jsonl" --quiet >"$tmp/out" 2>"$tmp/err"; then
    ok "torn check: a BOM history is read in auto mode ($(cat "$tmp/out"))"
else
    bad "torn check BOM history: $(cat "$tmp/err")"
fi

# ---- --duration holds within one operation's timeout (default 5 s): a
# 100 s kill delay and io-errors' long fault sweep used to run 60-100+ s.
# The 40 s bound leaves a loaded machine room for start-up and clean-up.
bounded() {  # what limit_s args...
    local what=$1 limit=$2; shift 2
    local t0 t1 rc
    t0=$(date +%s)
    timeout -k 5 120 "$torn" run --quiet --run-dir "$tmp/run-$pass" "$@" >"$tmp/out" 2>&1
    rc=$?
    t1=$(date +%s)
    if ((rc <= 2 && t1 - t0 <= limit)); then
        ok "$what: $((t1 - t0)) s (bound $limit s, exit $rc)"
    else
        bad "$what: $((t1 - t0)) s, exit $rc (bound $limit s)"; tail -5 "$tmp/out"
    fi
}
bounded "crash-midwrite, 100 s kill delay, --duration 3" 40 --scenario crash-midwrite \
    --set min_delay_ms=100000 --set max_delay_ms=100000 --duration 3
if [[ -c /dev/fuse ]]; then
    bounded "io-errors, max_nth=10000, --duration 3" 40 --scenario io-errors \
        --set max_nth=10000 --duration 3
else
    echo "skip io-errors --duration: no /dev/fuse"
fi

# ---- --skip: leaves scenarios out; a name that is none, or nothing left, is exit 2
refused "--skip nope: no scenario of that name" run --skip nope --run-dir "$tmp/rd"
refused "--skip leaves no scenario to run" "${cm[@]}" --skip crash-midwrite
all=$("$torn" list 2>/dev/null | awk '/^SCENARIOS/{s=1; next} s && /^  [a-z]/{print $1}')
skips=()
for s in $all; do [[ $s == corrupt-read ]] || skips+=(--skip "$s"); done
"$torn" run --quiet --target file:durable "${skips[@]}" --json "$tmp/skip.json" --run-dir "$tmp/rd" \
    >"$tmp/out" 2>&1
rc=$?
got=$(python3 -c 'import json, sys
print(" ".join(r["scenario"] for r in json.load(open(sys.argv[1]))["results"]))' "$tmp/skip.json" 2>/dev/null)
[[ $rc -eq 0 && $got == corrupt-read ]] &&
    ok "a default run with every scenario but corrupt-read skipped runs corrupt-read alone" ||
    bad "--skip all but corrupt-read: exit $rc, ran: $got"

finish

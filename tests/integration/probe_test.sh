#!/usr/bin/env bash
# Integration tests of torn run --probe (staging safety): it reads records
# that exist on a store torn must not change, and nothing else reaches the
# store.  A real exec adapter (examples/adapters/jobstore.py) on a data
# directory the test fills first; the store's files are compared byte for
# byte before and after.  Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TORN=${TORN_BIN:-$ROOT/torn}
tmp=$(mktemp -d /tmp/torn-probe-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
data=$tmp/data
mkdir -p "$data"
for m in durable naive; do
    eval "store_$m=\"exec:python3 -S $ROOT/examples/adapters/jobstore.py --mode $m --dir $data\""
done
digest() { (cd "$data" && sha256sum -- * 2>/dev/null | sha256sum); }

# The records a release left: written by an ordinary run on the same directory.
"$TORN" run --quiet --target "$store_durable" --scenario concurrent-updaters --seed 1 \
    --set workers=2 --set updates=3 --timeout-ms 10000 --run-dir "$tmp" >"$tmp/seed.out" 2>&1
check "the store holds a record to probe" test -s "$data/concurrent-updaters.json"
before=$(digest)

expect_rc "--probe reads an existing record 20 times: PASS" 0 \
    "$TORN" run --no-color --probe --target "$store_durable" --set ids=concurrent-updaters \
    --set reads=20 --timeout-ms 10000 --json "$tmp/pass.json" --run-dir "$tmp"
check "... 20 reads made, counted as work" \
    test "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["work"]["reads"])' "$tmp/pass.json")" = 20
check "... and the store's files are byte for byte unchanged" test "$(digest)" = "$before"

expect_rc "--probe of a record that is not there: FAIL" 1 \
    "$TORN" run --no-color --probe --target "$store_durable" --set ids=concurrent-updaters,gone \
    --set reads=2 --timeout-ms 10000 --repro-runs 0 --run-dir "$tmp"
check "... naming probe-present and the id" grep -q "probe-present.*gone" "$tmp/out"
check "... the store unchanged" test "$(digest)" = "$before"

# A damaged record: the naive store has no backup to fall back on.
cp "$data/concurrent-updaters.json" "$tmp/saved.json"
printf '{"version": 3, "pay' >"$data/concurrent-updaters.json"
damaged=$(digest)
expect_rc "--probe of a damaged record on a store without fallback: FAIL" 1 \
    "$TORN" run --no-color --probe --target "$store_naive" --set ids=concurrent-updaters \
    --set reads=2 --timeout-ms 10000 --repro-runs 0 --run-dir "$tmp"
check "... naming probe-read" grep -q "probe-read" "$tmp/out"
check "... and torn repaired nothing" test "$(digest)" = "$damaged"
cp "$tmp/saved.json" "$data/concurrent-updaters.json"

expect_rc "--probe with a scenario that writes: usage error" 2 \
    "$TORN" run --probe --target "$store_durable" --scenario crash-midwrite
check "... saying --probe runs only the probe scenario" \
    grep -q -- "--probe runs only the probe scenario, not 'crash-midwrite'" "$tmp/err"
expect_rc "--probe without --target: usage error" 2 "$TORN" run --probe
check "... asking for --target" grep -q -- "give --target" "$tmp/err"
expect_rc "--probe without ids: exit 2" 2 \
    "$TORN" run --no-color --probe --target "$store_durable" --run-dir "$tmp"
check "... saying how to name them" grep -q -- "--set ids=ID" "$tmp/out"
check "nothing changed the store" test "$(digest)" = "$before"
finish

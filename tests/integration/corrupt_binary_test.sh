#!/usr/bin/env bash
# corrupt-read's bitflip on a binary data file: binhdr_adapter.py keeps each
# record behind 128 KiB of NUL bytes, without a checksum.  The flip must land
# in the "payload" string behind the NULs (a search that stopped at the first
# NUL flipped a header byte instead: bitflip PASSED having tested nothing,
# as it did on SQLite databases), so the read returns a record whose payload
# no longer matches its digest: no-wrong-record at the bitflip case.
# Deterministic: no race.
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/torn-corrupt-binary-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
torn_copy "${TORN_BIN:-$root/torn}" "$tmp" && torn=$tmp/torn
bad_show=$tmp/last.out

run_expect 1 "\[no-wrong-record\] corrupt-read-bitflip" \
    "bitflip reaches a payload behind NUL bytes (no checksum: no-wrong-record)" \
    --target "exec:/usr/bin/python3 $root/tests/integration/binhdr_adapter.py" \
    --scenario corrupt-read --all-violations
finish corrupt-binary

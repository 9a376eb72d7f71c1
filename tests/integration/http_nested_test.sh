#!/usr/bin/env bash
# An HTTP service whose answers keep the version beside the record,
# {"data": RECORD, "meta": {"version": N}} (nested_service.py, quoted ETags,
# If-Match "N", 412 when stale): the spec says record "/data" and version
# "/meta/version", a field pointer not found in the record being looked up
# from the answer's root.  Before that, such a correct service could not be
# described: with record "" its patch fields sat under /data and
# concurrent-updaters FAILED "acknowledged updates lost", crash-midwrite
# "no-phantom-write".  The correct service must PASS the four record
# scenarios (also under load); the twin that ignores If-Match FAILS
# optimistic-lock in every round (all racers win).  A service answering its
# writes 201/204 with no body cannot be judged (the checkers need the record
# a write produced): the ERROR says so instead of "body is not JSON".
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/torn-http-nested-test.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
torn_copy "${TORN_BIN:-$root/torn}" "$tmp" && torn=$tmp/torn
bad_show=$tmp/last.out
here=$root/tests/integration

serve() {  # ARG...: a fresh service on a free port; sets port
    port=$(free_port)
    python3 "$here/nested_service.py" "$port" "$@" &
    pids+=($!)
    for _ in $(seq 50); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' \
            "$port" 2>/dev/null && return 0
        sleep 0.1
    done
    bad "nested_service.py did not listen on $port"
}

serve
run_expect 0 '4 PASS, 0 FAIL, 0 ERROR' "version beside the record: a correct service PASSES" \
    --target "http://127.0.0.1:$port" --target-spec "$here/nested_spec.json" \
    --scenario concurrent-updaters --scenario crash-midwrite --scenario optimistic-lock \
    --scenario state-transition
serve --ignore-if-match
run_expect 1 'one-winner-per-round' "the twin that ignores If-Match FAILS optimistic-lock" \
    --target "http://127.0.0.1:$port" --target-spec "$here/nested_spec.json" \
    --scenario optimistic-lock
serve --empty-writes
run_expect 2 'HTTP 201 with an empty body: torn needs the record in the answer' \
    "a write answered 201 with no body: the error says what torn needs" \
    --target "http://127.0.0.1:$port" --target-spec "$here/nested_spec.json" \
    --scenario optimistic-lock
finish http-nested

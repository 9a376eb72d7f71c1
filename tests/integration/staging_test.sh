#!/usr/bin/env bash
# Staging safety: the run-wide caps (--max-ops, --max-rate, a suite's
# limits.max_ops / max_rate; core/throttle.h).  A plan that would send over
# 400 operations sends about 50 under --max-ops 50 (the count includes the
# closing read), stops as SIGINT does (exit 2, the scenario ERROR "stopped
# at the run-wide cap", the next scenario never starts), while the same plan
# without the cap sends them all; --max-rate spaces the operations of 4
# worker processes (a lower bound on the time, never an upper one); the
# dry run and a suite show and take the caps.  Clean-up on an HTTP service
# (targets/http/http_cleanup.c): against a reference service the test
# starts itself (its records are files in a directory the test reads), a
# spec without "delete" leaves the jobs and the record torn created and
# lists them; with "delete" none is left; a "delete" the service refuses
# leaves them, named, with the error.
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
tmp=$(mktemp -d /tmp/torn-staging-test.XXXXXX)
svc_pid=""
trap '[[ -n $svc_pid ]] && kill "$svc_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# sent: the number in "torn: ... N target operations sent in all" on stderr.
sent() { grep -o '[0-9]* target operations sent in all' "$tmp/err" | tail -1 | cut -d' ' -f1; }
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$2" 2>/dev/null; }

plan=(run --quiet --repro-runs 0 --run-dir "$tmp" --scenario concurrent-updaters
      --scenario optimistic-lock --workers 2 --seed 5 --set updates=200 --set readers=0
      --set payload_len=64)

expect_rc "uncapped (a rate cap far above): the plan sends its 400 updates" 0 \
    timeout -k 5 120 "$torn" "${plan[@]}" --max-rate 10000000
n=$(sent)
[[ ${n:-0} -ge 402 ]] && ok "uncapped: $n target operations sent" || bad "uncapped: sent '$n'"

expect_rc "--max-ops 50: the run stops at the cap (exit 2)" 2 \
    timeout -k 5 120 "$torn" "${plan[@]}" --max-ops 50 --json "$tmp/cap.json"
n=$(sent)
grep -q '^torn: stopped at the operation cap: [0-9]* target operations sent in all (--max-ops 50' "$tmp/err" \
    && [[ ${n:-0} -ge 50 && ${n:-999} -le 56 ]] \
    && ok "--max-ops 50: $n sent (the cap, then the in-flight updates and the closing read)" \
    || bad "--max-ops 50: sent '$n'; $(cat "$tmp/err")"
[[ $(py '[(r["scenario"], r["verdict"]) for r in d["results"]]' "$tmp/cap.json") == "[('concurrent-updaters', 'ERROR')]" ]] \
    && ok "the capped scenario is ERROR and optimistic-lock never started" \
    || bad "results: $(py '[(r["scenario"], r["verdict"]) for r in d["results"]]' "$tmp/cap.json")"
py 'd["results"][0]["error"]' "$tmp/cap.json" | grep -q '^stopped at the run-wide cap of 50 target operations (--max-ops)' \
    && ok "... saying the cap stopped it" || bad "error: $(py 'd["results"][0].get("error")' "$tmp/cap.json")"
[[ $(py 'd["interrupted"]' "$tmp/cap.json") == True ]] && ok "the report is marked interrupted" || bad "not interrupted"

# 4 worker processes, 5 updates each, at most 20 operations/s run-wide:
# 22 operations (reset, 20 updates, the closing read) cannot take under 1.05 s.
expect_rc "--max-rate 20 over 4 workers" 0 timeout -k 5 120 "$torn" run --quiet --run-dir "$tmp" \
    --scenario concurrent-updaters --workers 4 --set updates=5 --set readers=0 --set payload_len=64 \
    --seed 5 --max-rate 20 --json "$tmp/rate.json"
n=$(sent)
d=$(py 'd["results"][0]["duration_s"]' "$tmp/rate.json")
python3 -c "import sys; n, d = int(sys.argv[1]), float(sys.argv[2]); sys.exit(not (n >= 22 and d >= (n - 1) / 20 * 0.98))" \
    "${n:-0}" "${d:-0}" && ok "--max-rate 20: $n operations over $d s, spaced run-wide" \
    || bad "--max-rate 20: $n operations in $d s"

expect_rc "--dry-run shows both caps" 0 "$torn" run --dry-run --scenario concurrent-updaters \
    --max-ops 1000 --max-rate 50
grep -q '^operation cap: torn stops after 1000 target operations in all (--max-ops)$' "$tmp/out" &&
    grep -q '^rate cap: at most 50 target operations/s run-wide (--max-rate)$' "$tmp/out" \
    && ok "... as two plan lines" || bad "dry run: $(grep cap "$tmp/out")"
expect_rc "--dry-run without caps says so" 0 "$torn" run --dry-run --scenario concurrent-updaters
grep -q '^operation cap: none' "$tmp/out" && ok "... 'operation cap: none'" || bad "$(grep cap "$tmp/out")"

cat >"$tmp/suite.json" <<JSON
{"targets": ["file"], "scenarios": ["concurrent-updaters"], "seed": 5,
 "limits": {"workers": 2, "max_ops": 30, "max_rate": 100000}}
JSON
expect_rc "a suite's limits.max_ops caps the run" 2 timeout -k 5 120 "$torn" run --suite "$tmp/suite.json" \
    --quiet --run-dir "$tmp" --set updates=200 --set readers=0 --set payload_len=64
grep -q '^torn: stopped at the operation cap: [0-9]* target operations sent in all (--max-ops 30, --max-rate 100000/s' \
    "$tmp/err" && ok "... with both caps from the suite" || bad "suite caps: $(cat "$tmp/err")"
for bad_limit in '"max_ops": 0' '"max_ops": 1.5' '"max_rate": -1' '"max_rate": "fast"'; do
    printf '{"targets": ["file"], "scenarios": ["concurrent-updaters"], "limits": {%s}}\n' "$bad_limit" \
        >"$tmp/bad.json"
    expect_rc "suite limits {$bad_limit} refused" 2 "$torn" suite check "$tmp/bad.json"
    [[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "limits.max_" "$tmp/err" \
        && ok "... in one line naming the field" || bad "refusal: $(cat "$tmp/err")"
done

rs=${RS_BIN:-$root/build/research-service}
if [[ ! -x $rs ]]; then
    bad "research-service not built ($rs): run make"
    finish
    exit
fi
mkdir -p "$tmp/data"
"$rs" --port 0 --dir "$tmp/data" --quiet >"$tmp/svc.out" 2>&1 &
svc_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/svc.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/svc.out" | head -1)
python3 - "$root/examples/research-service/managed.json" "$tmp" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("service", "files", "delete"):
    s.pop(k, None)
json.dump(s, open(sys.argv[2] + "/nodel.json", "w"))
s["delete"] = {"method": "DELETE", "path": "/research/{id}"}
json.dump(s, open(sys.argv[2] + "/del.json", "w"))
s["delete"] = {"method": "PUT", "path": "/research/{id}"}   # 422: no body
json.dump(s, open(sys.argv[2] + "/refused.json", "w"))
s["delete"] = {"path": "research/{id}"}
json.dump(s, open(sys.argv[2] + "/badpath.json", "w"))
PY
records() { find "$tmp/data" -name '*.json' | wc -l; }
http=(run --quiet --repro-runs 0 --run-dir "$tmp" --target "http://127.0.0.1:$port"
      --scenario event-before-persist --scenario concurrent-updaters --set jobs=4 --workers 2
      --set updates=5 --seed 5)
left_line='^torn: http target http://127.0.0.1:[0-9]*: 5 records torn created are left (the spec has no "delete" endpoint): r[0-9]*-[0-9a-f]*, .*concurrent-updaters'
expect_rc "http without a delete endpoint" 0 timeout -k 5 120 "$torn" "${http[@]}" --target-spec "$tmp/nodel.json"
grep -q "$left_line" "$tmp/err" && [[ $(records) -eq 5 ]] \
    && ok "... the 4 jobs and the record are left on the service and listed by id" \
    || bad "no delete: $(records) records left; $(cat "$tmp/err")"
rm -f "$tmp"/data/*
expect_rc "http with a delete endpoint" 0 timeout -k 5 120 "$torn" "${http[@]}" --target-spec "$tmp/del.json"
grep -q '^torn: http target http://127.0.0.1:[0-9]*: deleted 5 of 5 records torn created (DELETE /research/{id})$' \
    "$tmp/err" && [[ $(records) -eq 0 ]] && ok "... every one deleted, none left on the service" \
    || bad "delete: $(records) records left; $(cat "$tmp/err")"
rm -f "$tmp"/data/*
expect_rc "http with a delete the service refuses" 0 timeout -k 5 120 "$torn" "${http[@]}" \
    --target-spec "$tmp/refused.json"
grep -q '^torn: http target .*: deleted 0 of 5 records torn created (PUT /research/{id}); left: .*concurrent-updaters.* (last error: .*422' \
    "$tmp/err" && [[ $(records) -eq 5 ]] && ok "... all 5 left, named, with the service's answer" \
    || bad "refused delete: $(records) records left; $(cat "$tmp/err")"
expect_rc "a delete path that is not a path is refused" 2 "$torn" "${http[@]}" --target-spec "$tmp/badpath.json"
[[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -q 'delete.path' "$tmp/err" && ok "... in one line naming delete.path" \
    || bad "bad delete path: $(cat "$tmp/err")"

finish

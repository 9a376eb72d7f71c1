#!/usr/bin/env bash
# Integration test for the HTTP target, the reference research service and
# the fault proxy (issue 4).  Starts a real redis-server, `torn proxy` between
# the service and Redis (with its Toxiproxy-compatible API), and the service
# in each finalize mode; proves two-writes and emit-first FAIL
# event-before-persist with a stale read reported while atomic PASSES over
# several seeds; shows the proxy's latency and reset are observable; and
# that a down / HTML / silent / hung service or a bad spec gives exit 2 or a
# reported violation with a clear line, never a hang.
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/torn-http-test.XXXXXX)
# Private copies (torn_copy below): the shared tree may be relinked while this runs.
cp "${RS_BIN:-$root/build/research-service}" "$tmp/research-service" 2>/dev/null
rs=$tmp/research-service
spec=$root/examples/research-service/research.json
. "$root/tests/integration/lib.sh"
torn_copy "${TORN_BIN:-$root/torn}" "$tmp" && torn=$tmp/torn
pids=()

cleanup() {
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bad_show=$tmp/last.out   # bad shows the last torn run's output

# start NAME CMD...: run in the background, wait (5 s max) for a
# "listening on" line in NAME.out; the pid goes into $last_pid.
start() {
    local name=$1; shift
    # Remove the last run's output first: the background job truncates it
    # only when it gets to run, and until then the wait below would read
    # the previous program's port (a stopped service: "cannot connect").
    rm -f "$tmp/$name.out" "$tmp/$name.err"
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    last_pid=$!
    pids+=("$last_pid")
    for _ in $(seq 100); do
        grep -Eq 'listening on [0-9.]+:[0-9]+( |$)' "$tmp/$name.out" 2>/dev/null && return 0
        kill -0 "$last_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "could not start $name: $(cat "$tmp/$name.err")"
    return 1
}
port_of() {  # NAME [api]: the port printed by NAME
    if [[ ${2:-} == api ]]; then
        sed -n 's/^api listening on [0-9.]*:\([0-9]*\).*/\1/p' "$tmp/$1.out" | head -1
    else
        grep -v '^api' "$tmp/$1.out" | sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' | head -1
    fi
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# run_torn EXPECTED_RC[|RC2] PATTERN DESCRIPTION ARGS...: run torn (30 s max, or
# MAX_MS milliseconds when set: a bounded failure must also be a fast one).
run_torn() {
    local want=$1 pat=$2 what=$3; shift 3
    local t0 ms max=${MAX_MS:-30000}
    t0=$(date +%s%3N)
    timeout -k 2 30 "$torn" run --quiet --no-color "$@" >"$tmp/last.out" 2>&1
    local rc=$?
    ms=$(($(date +%s%3N) - t0))
    if [[ "|$want|" == *"|$rc|"* && $ms -le $max ]] && grep -q -- "$pat" "$tmp/last.out"; then
        ok "$what (exit $rc, $ms ms)"
    else
        bad "$what: wanted exit $want and '$pat' within $max ms, got exit $rc after $ms ms"
    fi
}

if [[ ! -x $rs ]]; then
    echo "FAIL research-service not built ($rs): run make"
    echo "0 passed, 1 failed"
    exit 1
fi

# --- Redis, and torn proxy between the service and Redis ---
redis_start "$tmp/redis"
rport=$redis_port
pids+=("$redis_pid")
start proxy "$torn" proxy --name store --listen 127.0.0.1:0 --upstream "127.0.0.1:$rport" \
    --api 127.0.0.1:0 || { echo "0 passed, 1 failed"; exit 1; }
pport=$(port_of proxy)
api="http://127.0.0.1:$(port_of proxy api)"
echo "redis :$rport, proxy :$pport, proxy API $api"

service() {  # MODE [extra args]: (re)start the service through the proxy
    [[ -n ${svc_pid:-} ]] && stop "$svc_pid"
    local mode=$1; shift
    start svc "$rs" --port 0 --mode "$mode" --redis "127.0.0.1:$pport" --quiet "$@" || return 1
    svc_pid=$last_pid
    svc="http://127.0.0.1:$(port_of svc)"
}
common=(--scenario event-before-persist --target-spec "$spec" --set "toxiproxy=$api"
        --set proxy=store --set store_latency_ms=2)

# --- the seed 000 bug, both variants, and the fix ---
service two-writes
run_torn 1 'read-after-event' "two-writes FAILS event-before-persist (seed 1)" \
    --target "$svc" "${common[@]}" --seed 1
service emit-first
run_torn 1 'read-after-event' "emit-first FAILS event-before-persist (seed 1)" \
    --target "$svc" "${common[@]}" --seed 1
service atomic
for seed in 1 2 3; do
    run_torn 0 'PASS' "atomic PASSES event-before-persist (seed $seed)" \
        --target "$svc" "${common[@]}" --seed "$seed"
done
service atomic --fail-every 3
run_torn 0 'PASS' "atomic PASSES with failing jobs and store resets (seed 4)" \
    --target "$svc" "${common[@]}" --seed 4 --set store_reset_every=4

# --- the same over Server-Sent Events ---
sse=(--target-spec "$root/examples/research-service/research-sse.json")
service emit-first
run_torn 1 'read-after-event' "emit-first FAILS over SSE (seed 6)" \
    --target "$svc" "${common[@]}" "${sse[@]}" --seed 6
service atomic
run_torn 0 'PASS' "atomic PASSES over SSE (seed 6)" --target "$svc" "${common[@]}" "${sse[@]}" --seed 6

# --- seed 001: polling GET /jobs/{id} while the store is slow and reset ---
jobs_spec=$root/examples/research-service/jobs.json
srh=(--scenario safe-read-http --target-spec "$jobs_spec" --set "toxiproxy=$api" --set proxy=store
     --set store_latency_ms=1 --set store_reset_every_ms=100 --set job_timeout_ms=1500)
service atomic
# A job that meets resets at its finalize write retries every 100 ms: on a
# loaded machine one took 1.6 s, so the passing case gets 4 s (the failing
# two-writes case below keeps 1.5 s: its jobs never finish at all).
run_torn 0 'PASS' "safe read PASSES safe-read-http under resets (seed 5)" \
    --target "$svc" "${srh[@]}" --set job_timeout_ms=4000 --seed 5
service atomic --unsafe-read
run_torn 1 'no-5xx' "read that 500s on store errors FAILS safe-read-http (seed 5)" \
    --target "$svc" "${srh[@]}" --seed 5
service two-writes
# Its jobs stay "processing" only when the left-running tracker's last flush
# lands after the finalize writes: a race every job has a chance of losing,
# so 32 jobs and up to 10 runs (one CI run of 8 jobs saw every job finish).
run_torn 1 'reaches-terminal' "two-writes jobs never finish: safe-read-http FAILS (seed 5, --until-fail 10)" \
    --target "$svc" "${srh[@]}" --set jobs=32 --seed 5 --until-fail 10

# --- the record scenarios through the service's PATCH/If-Match/transition endpoints ---
service atomic
run_torn 0 'PASS' "atomic: optimistic-lock, state-transition, concurrent-updaters PASS (seed 7)" \
    --target "$svc" --target-spec "$spec" --scenario optimistic-lock --scenario state-transition \
    --scenario concurrent-updaters --set payload_len=1024 --set updates=10 --seed 7
service two-writes
run_torn 1 'one-winner-per-round' "plain read-modify-write FAILS optimistic-lock (seed 7)" \
    --target "$svc" --target-spec "$spec" --scenario optimistic-lock --seed 7 --all-violations
run_torn 1 'single-claim' "plain read-modify-write FAILS state-transition (seed 7)" \
    --target "$svc" --target-spec "$spec" --scenario state-transition --seed 7 --all-violations
run_torn 1 'no-lost-update' "plain read-modify-write FAILS concurrent-updaters (seed 7)" \
    --target "$svc" --target-spec "$spec" --scenario concurrent-updaters --set payload_len=1024 \
    --set updates=10 --seed 7 --all-violations

# --- crash-midwrite through both specs: a killed client's PATCH the service
# applies after torn's post-kill read is an update of unknown outcome, not a
# phantom (it FAILED no-phantom-write on most seeds over SSE under load) ---
service atomic
for s in research.json research-sse.json; do
    for seed in 1 2 3; do
        run_torn 0 'PASS' "atomic PASSES crash-midwrite via $s (seed $seed)" \
            --target "$svc" --target-spec "$root/examples/research-service/$s" \
            --scenario crash-midwrite --seed "$seed"
    done
done

# --- proxy faults are observable ---
ping_ms() {  # PORT: round trip of a Redis PING through it, in ms, or "reset"
    python3 - "$1" <<'PY'
import socket, sys, time
t = time.monotonic()
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    t = time.monotonic()
    s.sendall(b"PING\r\n")
    data = s.recv(64)
    print("reset" if not data else int((time.monotonic() - t) * 1000))
except (ConnectionResetError, BrokenPipeError):
    print("reset")
PY
}
curl -s -X POST "$api/populate" \
    -d "[{\"name\":\"lat\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$rport\"}]" \
    >"$tmp/populate.json"
lport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["proxies"][0]["listen"].split(":")[1])' "$tmp/populate.json")
base=$(ping_ms "$lport")
curl -s -X POST "$api/proxies/lat/toxics" \
    -d '{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":150,"jitter":0}}' >/dev/null
slow=$(ping_ms "$lport")
if [[ $base =~ ^[0-9]+$ && $slow =~ ^[0-9]+$ && $slow -ge 140 && $((slow - base)) -ge 100 ]]; then
    ok "proxy latency observable: PING ${base} ms -> ${slow} ms with latency=150ms"
else
    bad "proxy latency: PING ${base} ms -> ${slow} ms with latency=150ms"
fi
curl -s -X DELETE "$api/proxies/lat/toxics/slow" >/dev/null
curl -s -X POST "$api/proxies/lat/toxics" \
    -d '{"type":"reset_peer","attributes":{"timeout":0}}' >/dev/null
r=$(ping_ms "$lport")
[[ $r == reset ]] && ok "proxy reset_peer observable: connection reset" \
    || bad "proxy reset_peer: got '$r', wanted a reset"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/reset")
r=$(ping_ms "$lport")
[[ $code == 204 && $r =~ ^[0-9]+$ ]] && ok "proxy /reset clears toxics (PING ${r} ms)" \
    || bad "proxy /reset: HTTP $code, PING '$r'"

# Toxiproxy API shapes: get/update a toxic, 409 on a duplicate, delete the proxy.
curl -s -X POST "$api/proxies/lat/toxics" \
    -d '{"name":"bw","type":"bandwidth","attributes":{"rate":10}}' >/dev/null
dup=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/proxies/lat/toxics" \
    -d '{"name":"bw","type":"bandwidth","attributes":{"rate":10}}')
upd=$(curl -s -X POST "$api/proxies/lat/toxics/bw" -d '{"attributes":{"rate":98}}')
# newer Toxiproxy clients update a toxic with PATCH
upd=$upd$(curl -s -X PATCH "$api/proxies/lat/toxics/bw" -d '{"attributes":{"rate":99}}')
got=$(curl -s "$api/proxies/lat/toxics/bw")
del=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/proxies/lat")
gone=$(curl -s -o /dev/null -w '%{http_code}' "$api/proxies/lat")
if [[ $dup == 409 && $upd == *'"rate":98'*'"rate":99'* && $got == *'"rate":99'* && $del == 204 && $gone == 404 ]]
then ok "proxy API: toxic get/update (POST and PATCH), 409 duplicate, proxy delete 204 then 404"
else bad "proxy API: dup $dup, update '$upd', get '$got', delete $del, after $gone"; fi

# The seeded schedule takes the same decisions for the same seed.
sched() {
    timeout 5 "$torn" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$rport" --toxic latency=5 \
        --toxic reset_peer~0.5 --schedule 100ms --seed "$1" --duration 0.75 2>&1 >/dev/null |
        sed 's/t=[0-9.]*s//'
}
s1=$(sched 7); s2=$(sched 7)
[[ -n $s1 && $s1 == "$s2" && $(wc -l <<<"$s1") -ge 5 ]] && ok "proxy schedule is deterministic per seed" \
    || bad "proxy schedule: '$s1' vs '$s2'"

# --- the proxy between torn and the service ---
service atomic
up=${svc#http://}
start front "$torn" proxy --name front --listen 127.0.0.1:0 --upstream "$up" \
    --toxic latency=5ms,jitter=2ms --toxic slicer=64,size_variation=32,delay=50 --seed 3
run_torn 0 'PASS' "atomic PASSES with latency and sliced writes between torn and the service" \
    --target "http://127.0.0.1:$(port_of front)" "${common[@]}" --seed 8
start hole "$torn" proxy --name hole --listen 127.0.0.1:0 --upstream "$up" --toxic timeout=0
MAX_MS=3000 run_torn 2 'no answer in time' "blackhole between torn and the service: exit 2, bounded" \
    --target "http://127.0.0.1:$(port_of hole)" "${common[@]}" --seed 8 --timeout-ms 800

# --- the other criteria each FAIL a broken service (checkers proven both ways) ---
# (--all-violations: two-writes also breaks read-after-event, which a run
# that stops at its first violation may meet first: a clean clone did.)
service two-writes --fail-every 2
run_torn 1 'failed-half-written' "failure path in two writes FAILS failed-half-written (seed 9)" \
    --target "$svc" "${common[@]}" --set jobs=8 --seed 9 --all-violations
# A fake SSE service whose record is completed with results, but whose
# version goes back (or rises while _updated_at goes back) between reads.
cat >"$tmp/fake_sse.py" <<'PY'
import itertools, json, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
mode, reads = sys.argv[1], itertools.count()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, obj, ctype="application/json"):
        b = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "giant":
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                self.wfile.write(b'{"x":"')
                for _ in range(1100):
                    self.wfile.write(b"y" * 65536)
            except OSError:
                pass
            return
        self.reply(200, {"research_id": "j%d" % next(reads)})
    def do_GET(self):
        if self.path.startswith("/events/") and mode in ("endless", "garbage"):
            # one endless line, or bytes that never form an event: torn must
            # cap its buffer and say so, not grow until the machine swaps
            self.send_response(200); self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunk = b"x" * 65536 if mode == "endless" else bytes(range(11, 256)) * 256
            self.wfile.write(b"data: ")
            try:
                for _ in range(400):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if self.path.startswith("/events/") and mode == "close-early":
            self.send_response(200); self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"type":"RESEARCH_PROGRESS"}\n\n'); self.wfile.flush()
            time.sleep(0.015)   # then the stream breaks, 15 ms in
            return
        if self.path.startswith("/events/"):
            self.reply(200, 'data: {"type":"RESEARCH_COMPLETED"}\n\n', "text/event-stream")
            return
        n = next(reads)
        if mode == "stall" and n == 1:
            # serve the stale state at once, answer 40 ms later
            body = {"status": "running", "version": 1, "_updated_at": "2026-01-01T00:00:00"}
            time.sleep(0.04)
            self.reply(200, body)
            return
        v, t = {"version-back": (4 + n % 2, n), "updated-back": (n, 1000 - n)}.get(mode, (n, n))
        self.reply(200, {"status": "completed", "results": ["r"], "version": v,
                         "_updated_at": "2026-01-01T00:%02d:%02d" % divmod(t % 3600, 60)})
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
PY
declare -A fake_want=([version-back]="1 went from 5 back to 4" [updated-back]="1 _updated_at went back"
    [both-rise]="0 PASS")
for m in version-back updated-back both-rise; do
    start fake python3 "$tmp/fake_sse.py" "$m" || continue
    run_torn ${fake_want[$m]%% *} "${fake_want[$m]#* }" "fake SSE service, $m: ${fake_want[$m]#* }" \
        --target "http://127.0.0.1:$(port_of fake)" --scenario event-before-persist \
        --target-spec "$root/examples/research-service/research-sse.json" --set jobs=1 \
        --set reread_ms=400
    stop "$last_pid"
done

# A stale read is timed from its start, not from its (stalled) answer.
start fake python3 "$tmp/fake_sse.py" stall && {
    run_torn 1 'read-after-event' "fake SSE service, stale read answered 40 ms late: FAIL" \
        --target "http://127.0.0.1:$(port_of fake)" --scenario event-before-persist \
        --target-spec "$root/examples/research-service/research-sse.json" --set jobs=1 \
        --set reread_ms=30 --json "$tmp/stall.json"
    w=$(python3 -c 'import json,re,sys
v=json.load(open(sys.argv[1]))["results"][0]["violations"][0]["evidence"]
m=re.search(r"read started \+([0-9.]+) ms \(answered \+([0-9.]+) ms\)", v)
print("%s %s" % (m.group(1), m.group(2)) if m else v)' "$tmp/stall.json" 2>&1)
    read -r st an <<<"$w"
    if [[ $st =~ ^[0-9.]+$ ]] && python3 -c "import sys; sys.exit(not (float('$an') - float('$st') >= 35))"; then
        ok "stale window timed from the read's start (+$st ms, answered +$an ms)"
    else
        bad "stale read timing: $w"
    fi
    stop "$last_pid"
}

# An event stream that never ends an event is capped (1 MiB) with a clear
# line, not buffered byte by byte until memory runs out (was ~3 GB/worker).
sse_spec=(--scenario event-before-persist --target-spec "$root/examples/research-service/research-sse.json"
          --set jobs=1 --set workers=1 --set reread_ms=30 --set event_timeout_ms=4000 --repro-runs 0)
for m in endless garbage; do
    start fake python3 "$tmp/fake_sse.py" "$m" || continue
    # exit 1 (terminal-event) when the stream opened first, 2 when it failed
    # while subscribing: either way one line naming the limit
    MAX_MS=4000 run_torn "1|2" "SSE event over 1048576 bytes: refused" \
        "SSE stream, $m: capped at 1 MiB with a clear line" \
        --target "http://127.0.0.1:$(port_of fake)" "${sse_spec[@]}"
    stop "$last_pid"
done
# A channel that fails at once is reported as a failure, not as a 4 s silence.
start fake python3 "$tmp/fake_sse.py" close-early && {
    MAX_MS=3000 run_torn 1 "event channel .* failed [0-9]* ms after subscribing" \
        "event channel failing at once: reported as a channel failure" \
        --target "http://127.0.0.1:$(port_of fake)" "${sse_spec[@]}"
    grep -q "no terminal event within" "$tmp/last.out" && bad "channel failure called a timeout"
    stop "$last_pid"
}
start fake python3 "$tmp/fake_sse.py" giant && {
    MAX_MS=8000 run_torn 2 "response body over 67108864 bytes" "giant body: a clear line, exit 2" \
        --target "http://127.0.0.1:$(port_of fake)" "${sse_spec[@]}"
    stop "$last_pid"
}

# --- spec URLs stay on the target; header templates cannot inject ---
nowhere=$(free_port)
echo '{"read":{"path":"file:///etc/shadow"}}' >"$tmp/file.json"
run_torn 2 "field read.path: must start with / or be an http" "spec path file:///etc/shadow refused" \
    --target "http://127.0.0.1:$nowhere" --scenario crash-midwrite --target-spec "$tmp/file.json"
grep -q 'root:' "$tmp/last.out" && bad "file content printed"
echo '{"read":{"path":"http://10.0.0.1/r/{id}"},"reset":{"path":"/r/{id}"},"update":{"path":"/r/{id}"}}' \
    >"$tmp/remote.json"
run_torn 2 "field read.path: spec URL outside the target's origin: host '10.0.0.1' is not a loopback" \
    "spec URL on another host refused without --allow-remote" \
    --target "http://127.0.0.1:$nowhere" --scenario crash-midwrite --target-spec "$tmp/remote.json"
echo '{"read":{"path":"@10.0.0.1/r/{id}"}}' >"$tmp/at.json"
run_torn 2 "field read.path" "spec path '@host/...' (userinfo trick) refused" \
    --target "http://127.0.0.1:$nowhere" --scenario crash-midwrite --target-spec "$tmp/at.json"
printf '%s' '{"read":{"path":"/r/{id}","headers":{"X-A":"a\r\nX-Evil: 1"}}}' >"$tmp/crlf.json"
run_torn 2 "crlf.json: field read.headers.X-A: contains a CR or LF" "CR/LF in a header template refused" \
    --target "http://127.0.0.1:$nowhere" --scenario crash-midwrite --target-spec "$tmp/crlf.json"

# --- a service torn starts itself (spec "service"), crashed and restarted ---
managed() {  # PERSIST: the shipped managed.json with this binary and --persist mode
    sed -e "s#\"build/research-service\"#\"$rs\"#" -e "s#\"--persist\", \"durable\"#\"--persist\", \"$1\"#" \
        "$root/examples/research-service/managed.json" >"$tmp/managed-$1.json"
    echo "$tmp/managed-$1.json"
}
m_durable=$(managed durable); m_fsync=$(managed fsync); m_naive=$(managed naive)
run_torn 0 'PASS' "managed service, durable files: crash-midwrite kills and restarts it, PASS" \
    --target http --target-spec "$m_durable" --scenario crash-midwrite --seed 3 --run-dir "$tmp/rd1"
hist=$(find "$tmp/rd1" -name 'history*.jsonl' 2>/dev/null | head -1)   # the run dir may be a subdirectory
grep -q "service-kill" "$hist" 2>/dev/null && grep -q "service-restart" "$hist" \
    && ok "the history shows the service killed and restarted" || bad "no service-kill in the history"
pgrep -f "$tmp/rd1" >/dev/null && bad "the service outlived torn" || ok "no service left after the run"
sed -e 's/"--mode", "atomic"/"--mode", "two-writes"/' "$m_durable" >"$tmp/managed-tw.json"
m_tw=$tmp/managed-tw.json
# exit | pattern | spec | scenario | what
while IFS='|' read -r want pat mspec scen what; do
    run_torn "$want" "$pat" "$what" --target http --target-spec "${!mspec}" --scenario "$scen" \
        --seed 3 --repro-runs 0
done <<'CASES'
1|no-torn-write|m_naive|crash-midwrite|service writing in place, killed mid-write: crash-midwrite FAILS (torn record)
0|PASS|m_durable|corrupt-read|checksum and .bak: corrupt-read through HTTP PASSES
1|recover-last-known-good|m_fsync|corrupt-read|no .bak and no checksum: corrupt-read FAILS
0|PASS|m_durable|power-loss|data dir on torn-fs, directory fsync: power-loss PASSES
1|no-lost-write|m_fsync|power-loss|no directory fsync: power-loss FAILS (the rename is lost with the power)
0|PASS|m_durable|io-errors|errors checked, directory fsync: io-errors PASSES
1|no-lost-write|m_fsync|io-errors|no directory fsync: io-errors FAILS
0|PASS|m_durable|dual-write|dual-write through spec endpoints, one write per member: PASS
CASES
# The window between the service's two writes is a few microseconds when its
# data sits on tmpfs: where a SIGKILL lands is the OS's choice, so this case
# asks for the first violation in up to 20 attempts of the same seed (on a
# quiet CI machine 8 kills of one run all missed the window).
run_torn 1 'both-or-neither' "dual-write as two writes, service killed between them: FAIL (--until-fail 20)" \
    --target http --target-spec "$m_tw" --scenario dual-write --seed 3 --repro-runs 0 --until-fail 20
cat >"$tmp/never.json" <<'JSON'
{"service": {"command": ["bash", "-c", "sleep 9.8765 & sleep 9.8766", "{port}"],
             "ready": {"path": "/", "timeout_ms": 600}},
 "read": {"path": "/r/{id}"}, "reset": {"path": "/r/{id}"}, "update": {"path": "/r/{id}"}}
JSON
MAX_MS=3000 run_torn 2 'service on 127.0.0.1:[0-9]* not accepting connections after 600 ms' \
    "a service that never becomes ready: exit 2 after the ready timeout" \
    --target http --target-spec "$tmp/never.json" --scenario crash-midwrite
pgrep -f 'sleep 9.876' >/dev/null && bad "its processes are left running" \
    || ok "no process of the never-ready service is left (its process group was killed)"
# A SIGKILLed torn (a CI timeout) leaves nothing the service started behind.
sed -e "s#\"command\": \[\"$rs\"#\"command\": [\"bash\", \"-c\", \"sleep 9.7532 \& exec \\\\\"\$0\\\\\" \\\\\"\$@\\\\\"\", \"$rs\"#" \
    "$m_durable" >"$tmp/kids.json"
"$torn" run --quiet --target http --target-spec "$tmp/kids.json" --scenario concurrent-updaters \
    >/dev/null 2>&1 &
tpid=$!
for _ in $(seq 100); do pgrep -f 'sleep 9.7532' >/dev/null && break; sleep 0.1; done
pgrep -f 'sleep 9.7532' >/dev/null || bad "the service's own child never started"
kill -9 "$tpid"; wait "$tpid" 2>/dev/null
for _ in $(seq 30); do pgrep -f 'sleep 9.7532' >/dev/null || break; sleep 0.1; done
pgrep -f 'sleep 9.7532' >/dev/null && bad "a process the service started outlived a SIGKILLed torn" \
    || ok "SIGKILL of torn: the service's whole process group is gone (its keeper)"
run_torn 2 'field service: torn starts this service itself' "spec service plus an address: exit 2" \
    --target "http://127.0.0.1:$(free_port)" --target-spec "$m_durable" --scenario crash-midwrite
run_torn 2 'or a "service" in the spec' "no address and no service: exit 2" \
    --target http --target-spec "$spec" --scenario crash-midwrite

# --- bad services and specs: exit 2 or a violation, never a hang ---
dead=$(free_port)
run_torn 2 'cannot connect' "service down: exit 2 naming the address" \
    --target "http://127.0.0.1:$dead" --scenario event-before-persist --target-spec "$spec"
service atomic --misbehave html
run_torn 2 'not JSON' "HTML instead of JSON: exit 2" \
    --target "$svc" --scenario event-before-persist --target-spec "$spec" --set jobs=2
MAX_MS=3000 run_torn 2 'not JSON' "HTML instead of JSON to a write: record scenario exits 2 at setup" \
    --target "$svc" --scenario concurrent-updaters --target-spec "$spec" --set updates=2
# 8 jobs on 2 workers: one event timeout per worker, not one per job (was
# 4 in a row); a hung service: one request timeout, not 5 retried ones.
# (--repro-runs 0: the time bound is for one run, not the re-runs that
# measure how often a FAIL reproduces.)
# One timeout per worker is counted, not timed (2500 ms ended at 2565 under
# a busy loop per core): with --all-violations every job torn waited on is a
# violation, 2 here, and the old bug's 8; the time bound only catches a hang.
service atomic --misbehave no-events
MAX_MS=10000 run_torn 1 'terminal-event' "service never sends the event: violation" \
    --target "$svc" --scenario event-before-persist --target-spec "$spec" --set jobs=8 \
    --set workers=2 --set event_timeout_ms=800 --repro-runs 0 --all-violations
n=$(grep -c '^  \[terminal-event\] ' "$tmp/last.out")
((n >= 1 && n <= 2)) && ok "... one event timeout per worker, not per job ($n for 2 workers, 8 jobs)" ||
    bad "... $n event timeouts for 2 workers and 8 jobs (want 1 or 2)"
# 3500 ms: one 800 ms timeout took 842 ms idle, and the sibling case above
# 2565 ms under load; 5 retried ones would need at least 4000.
service atomic --misbehave hang
MAX_MS=3500 run_torn 2 'no answer in time' "hung service: exit 2 after one request timeout" \
    --target "$svc" --scenario event-before-persist --target-spec "$spec" --set jobs=2 \
    --timeout-ms 800
echo '{"create":{"path":"/research"},"read":{"path":"/r/{id}"}}' >"$tmp/bad.json"
run_torn 2 "bad.json: field create.id: missing" "spec without create.id: exit 2 naming it" \
    --target "$svc" --scenario event-before-persist --target-spec "$tmp/bad.json"
echo '{"create":{"path":"/research","id":"/id"},"read":{"path":"/r/{id}","record":"x"}}' \
    >"$tmp/bad2.json"
run_torn 2 "field read.record: not a JSON pointer" "spec with a bad pointer: exit 2 naming it" \
    --target "$svc" --scenario event-before-persist --target-spec "$tmp/bad2.json"
timeout 5 "$torn" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic warp=9 \
    >"$tmp/last.out" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "unknown type" "$tmp/last.out" && ok "torn proxy: bad --toxic exits 2" \
    || bad "torn proxy bad --toxic: exit $rc"
timeout 5 "$torn" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:99999 --duration 1 \
    >"$tmp/last.out" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "port must be a number 0..65535" "$tmp/last.out" \
    && ok "torn proxy: port 99999 exits 2 (getaddrinfo would wrap it)" \
    || bad "torn proxy --upstream 127.0.0.1:99999: exit $rc"

finish

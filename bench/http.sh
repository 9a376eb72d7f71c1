#!/usr/bin/env bash
# torn's HTTP request rate against the reference research service, side by
# side with wrk on the same endpoint (GET /jobs/{id}) and the same number of
# connections.  torn: safe-read-http with poll_ms=0, one keep-alive
# connection per worker process, every answer parsed and checked; wrk: the
# raw request rate.  Prints both and the ratio (goal: >= 0.9).  On this
# shared 2-core machine the two share the CPU with the service and with
# the neighbours, so torn and wrk run REPEAT times in turn and the best of
# each counts (the range beside it); each one's CPU time per request
# (user + system, /usr/bin/time), which the load changes far less, is
# printed too.
# Environment: CONNS (default 4), SECS (default 3), REPEAT (default 3),
# TORN_BIN, RS_BIN.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
torn=${TORN_BIN:-$root/build/torn}
rs=${RS_BIN:-$root/build/research-service}
conns=${CONNS:-4}
secs=${SECS:-3}
repeat=${REPEAT:-3}
tmp=$(mktemp -d /tmp/torn-bench-http.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for bin in "$torn" "$rs"; do
    [[ -x $bin ]] || { echo "bench/http.sh: $bin missing (make)"; exit 2; }
done
command -v wrk >/dev/null || { echo "bench/http.sh: wrk not installed (scripts/deps.sh)"; exit 2; }

# Jobs that stay running for one measurement (each torn run and each wrk
# run asks for new ones), file store (no Redis).
"$rs" --port 0 --dir "$tmp/store" --mode atomic --steps 1 --worker-delay-ms $((secs * 1000 + 500)) \
    --tracker-ms 50 --quiet >"$tmp/svc.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'listening on' "$tmp/svc.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$tmp/svc.out")
[[ -n $port ]] || { echo "bench/http.sh: service did not start"; exit 2; }
url=http://127.0.0.1:$port

# torn: one job per worker, polled back to back until the job ends
# (about secs s).  Prints "RATE CPU_US_PER_REQUEST".
torn_run() {
    /usr/bin/time -o "$tmp/time" -f '%U %S' "$torn" run --quiet --no-color --target "$url" \
        --target-spec "$root/examples/research-service/jobs.json" --scenario safe-read-http \
        --set jobs="$conns" --workers "$conns" --set poll_ms=0 \
        --set job_timeout_ms=$((secs * 1000 + 5000)) --json "$tmp/torn.json" >/dev/null 2>&1
    python3 - "$tmp/torn.json" "$tmp/time" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
n = r["latency"]["read"]["ok"] + r["latency"]["read"]["fail"]
u, s = open(sys.argv[2]).read().split()[-2:]  # after any 'exited with' line
print(f'{n / r["duration_s"]:.0f} {(float(u) + float(s)) * 1e6 / n:.1f}')
PY
}

# wrk: the same endpoint on a running job, same connections, secs s.
wrk_run() {
    local id
    id=$(curl -s -X POST "$url/research" -d '{"query":"bench"}' |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["research_id"])')
    /usr/bin/time -o "$tmp/time" -f '%U %S' wrk -t $((conns < 2 ? conns : 2)) -c "$conns" \
        -d "${secs}s" "$url/jobs/$id" >"$tmp/wrk.out" 2>/dev/null
    python3 - "$tmp/wrk.out" "$tmp/time" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
n = int(re.search(r"(\d+) requests in", t).group(1))
rate = float(re.search(r"Requests/sec:\s*([\d.]+)", t).group(1))
u, s = open(sys.argv[2]).read().split()[-2:]  # after any 'exited with' line
print(f"{rate:.0f} {(float(u) + float(s)) * 1e6 / n:.1f}")
PY
}

torn_runs=() wrk_runs=()
for ((i = 0; i < repeat; i++)); do
    torn_runs+=("$(torn_run)")
    wrk_runs+=("$(wrk_run)")
done
python3 - "$conns" "$secs" "$repeat" "${torn_runs[@]}" -- "${wrk_runs[@]}" <<'PY' ||
import statistics, sys
conns, secs, repeat = sys.argv[1:4]
rest = sys.argv[4:]
cut = rest.index("--")
def runs(xs):
    return [tuple(float(v) for v in x.split()) for x in xs if len(x.split()) == 2]
t, w = runs(rest[:cut]), runs(rest[cut + 1:])
if not t or not w:
    sys.exit(1)
def line(name, rs, what):
    rates = sorted(r for r, _ in rs)
    cpu = statistics.median(c for _, c in rs)
    print(f"  {name:5} {rates[-1]:10.0f} req/s (runs {rates[0]:.0f}-{rates[-1]:.0f}) "
          f"{cpu:5.1f} µs CPU per request{what}")
    return rates[-1], cpu
print(f"http GET /jobs/{{id}}, {conns} connections, best of {repeat} runs of about {secs} s, in turn")
tr, tc = line("torn", t, " (parsed and checked)")
wr, wc = line("wrk", w, "")
print(f"  ratio {tr / wr:10.2f} (goal >= 0.9); CPU per request wrk/torn {wc / tc:.2f}")
PY
    { echo "bench/http.sh: a measurement failed"; exit 2; }

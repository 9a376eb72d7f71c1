#!/usr/bin/env bash
# torn's HTTP request rate against the reference research service, side by
# side with wrk on the same endpoint (GET /jobs/{id}) and the same number of
# connections.  torn: safe-read-http with poll_ms=0, one keep-alive
# connection per worker process, every answer parsed and checked; wrk: the
# raw request rate.  Prints both and the ratio (goal: >= 0.9).
# Environment: CONNS (default 4), SECS (default 3), TORN_BIN, RS_BIN.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
torn=${TORN_BIN:-$root/build/torn}
rs=${RS_BIN:-$root/build/research-service}
conns=${CONNS:-4}
secs=${SECS:-3}
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

# Jobs that stay running for the whole measurement, file store (no Redis).
"$rs" --port 0 --dir "$tmp/store" --mode atomic --steps 1 --worker-delay-ms $((secs * 1000 + 500)) \
    --tracker-ms 50 --quiet >"$tmp/svc.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'listening on' "$tmp/svc.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$tmp/svc.out")
[[ -n $port ]] || { echo "bench/http.sh: service did not start"; exit 2; }
url=http://127.0.0.1:$port

# torn: one job per worker, polled back to back until the job ends.
"$torn" run --quiet --no-color --target "$url" \
    --target-spec "$root/examples/research-service/jobs.json" --scenario safe-read-http \
    --set jobs="$conns" --workers "$conns" --set poll_ms=0 \
    --set job_timeout_ms=$((secs * 1000 + 5000)) --json "$tmp/torn.json" >/dev/null 2>&1
torn_rate=$(python3 - "$tmp/torn.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
n = r["latency"]["read"]["ok"] + r["latency"]["read"]["fail"]
print(f'{n / r["duration_s"]:.0f}')
PY
)

# wrk: the same endpoint on a running job, same connections.
id=$(curl -s -X POST "$url/research" -d '{"query":"bench"}' |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["research_id"])')
wrk_rate=$(wrk -t $((conns < 2 ? conns : 2)) -c "$conns" -d "${secs}s" "$url/jobs/$id" 2>/dev/null |
           sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
[[ -n $torn_rate && -n $wrk_rate ]] || { echo "bench/http.sh: a measurement failed"; exit 2; }
ratio=$(python3 -c "print(f'{$torn_rate / $wrk_rate:.2f}')")
printf 'http GET /jobs/{id}, %d connections, %d s\n' "$conns" "$secs"
printf '  torn  %10.0f req/s (parsed and checked)\n' "$torn_rate"
printf '  wrk   %10.0f req/s\n' "$wrk_rate"
printf '  ratio %10s (goal >= 0.9)\n' "$ratio"

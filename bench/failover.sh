#!/usr/bin/env bash
# The failover scenario's cost, printed, not asserted: seconds per failover
# cycle (start a Redis primary and replica, replicate, write, crash, promote,
# check, stop) without and with WAIT 1, and without WAIT with the primary's
# power cut on torn-fs (cut=power, when /dev/fuse is there), acknowledged
# writes per second and the promotion time.
set -u
TORN=${TORN_BIN:-$(cd "$(dirname "$0")/.." && pwd)/torn}
CYCLES=${TORN_BENCH_FAILOVER_CYCLES:-10}
if ! command -v redis-server >/dev/null; then echo "failover: SKIP (no redis-server)"; exit 0; fi
work=$(mktemp -d /tmp/torn-bench-failover.XXXXXX)
trap 'rm -rf "$work"' EXIT
modes=(async wait)
[ -e /dev/fuse ] && modes+=(power)
for mode in "${modes[@]}"; do
    set_wait=()
    [[ $mode == wait ]] && set_wait=(--set wait_replicas=1)
    [[ $mode == power ]] && set_wait=(--set cut=power)
    "$TORN" run --target redis --scenario failover --seed 1 --set cycles="$CYCLES" "${set_wait[@]}" \
        --repro-runs 0 --quiet --json "$work/$mode.json" >/dev/null 2>&1
    python3 - "$work/$mode.json" "$mode" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
m, n = r["metrics"], max(r["metrics"]["failovers"], 1)
print("failover %-5s %s: %d cycles in %.1f s = %.2f s/cycle; %d writes acknowledged (%.0f/s), "
      "%d lost; promotion max %.1f ms" % (sys.argv[2], r["verdict"], m["failovers"], r["duration_s"],
      r["duration_s"] / n, m["acknowledged_writes"], m["acknowledged_writes"] / r["duration_s"],
      m["lost_acknowledged_writes"], m["max_promotion_ms"]))
PY
done

#!/usr/bin/env bash
# `torn proxy --api` behaves as Toxiproxy for Toxiproxy's own clients:
# the npm package toxiproxy-node-client (installed into a temp directory;
# SKIP line when node/npm or the registry are unavailable) drives the API
# against a real redis-server (toxiproxy_client.js): toxics reach live
# connections at once (latency, update, removal, timeout on an idle
# connection), 409 for a second unnamed toxic of a type, unknown attributes
# ignored, a disabled proxy refuses connections, updates move upstream and
# listen.  Without the client, curl checks 409 and ECONNREFUSED the way the
# client calls the API.  Always: command-line toxics are named
# TYPE_STREAM, bare --api means 127.0.0.1:8474, --config FILE creates the
# proxies of a Toxiproxy config (a bad one exits 2 naming the file);
# GET /metrics serves Toxiproxy's proxy metrics under its names and labels.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-toxiproxy-test # TORN, work, check; children killed on exit
here=$(cd "$(dirname "$0")" && pwd)
# start NAME CMD...: run in the background until "api listening on" (5 s).
start() {
    local name=$1; shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    for _ in $(seq 100); do
        grep -q 'listening on' "$work/$name.out" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
api_port() { sed -n 's/^api listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/$1.out" | head -1; }

redis_start "$work/redis"
rport=$redis_port
start api "$TORN" proxy --api 127.0.0.1:0 || { echo "FAIL torn proxy --api did not start"; }
api="http://127.0.0.1:$(api_port api)"

# --- the real client ---------------------------------------------------------------
client=""
if command -v node >/dev/null && command -v npm >/dev/null; then
    mkdir "$work/npm"
    if (cd "$work/npm" && timeout 90 npm install --no-audit --no-fund --silent \
            toxiproxy-node-client >"$work/npm.log" 2>&1); then
        client=$work/npm/node_modules
    fi
fi
if [[ -n $client ]]; then
    echo "toxiproxy-node-client $(node -p "require('$client/toxiproxy-node-client/package.json').version")"
    NODE_PATH=$client timeout 60 node "$here/toxiproxy_client.js" "$api" "$rport" >"$work/node.out" 2>&1
    cat "$work/node.out"
    pass=$((pass + $(grep -c '^ok ' "$work/node.out")))
    fail=$((fail + $(grep -c '^FAIL ' "$work/node.out")))
    grep -Eq '^[0-9]+ passed, 0 failed' "$work/node.out" || grep -q '^FAIL' "$work/node.out" \
        || bad "toxiproxy-node-client script ended without its count"
else
    echo "SKIP toxiproxy-node-client: node/npm missing or the npm registry unreachable ($(tail -1 "$work/npm.log" 2>/dev/null)); curl checks only"
    # What the client sends: POST JSON bodies, one request each.
    post() { curl -s -o "$work/body" -w '%{http_code}' -H 'Content-Type: application/json' -X POST "$api$1" -d "$2"; }
    post /proxies "{\"name\":\"r\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$rport\"}" >/dev/null
    pport=$(jq -r '.listen' "$work/body" | sed 's/.*://')
    check "curl: first unnamed latency toxic 200" test "$(post /proxies/r/toxics '{"type":"latency","attributes":{"latency":1}}')" = 200
    check "curl: second unnamed latency toxic 409" test "$(post /proxies/r/toxics '{"type":"latency","attributes":{"latency":2}}')" = 409
    check "curl: an unknown attribute is ignored (200)" test "$(post /proxies/r/toxics '{"type":"bandwidth","attributes":{"rate":9,"burst":1}}')" = 200
    post /proxies/r '{"enabled":false}' >/dev/null
    redis-cli -p "$pport" ping >"$work/refused" 2>&1
    check "curl: a disabled proxy refuses connections" grep -qi 'refused' "$work/refused"
fi

# --- the command line ----------------------------------------------------------------
start cli "$TORN" proxy --name cli --listen 127.0.0.1:0 --upstream "127.0.0.1:$rport" \
    --toxic latency=5 --toxic reset_peer=1000@upstream --toxic slicer=8#sl --api 127.0.0.1:0
names=$(curl -s "http://127.0.0.1:$(api_port cli)/proxies/cli/toxics" | jq -r '[.[].name] | sort | join(",")')
check "--toxic names like Toxiproxy: latency_downstream, reset_peer_upstream, #NAME kept ($names)" \
    test "$names" = "latency_downstream,reset_peer_upstream,sl"
timeout 5 "$TORN" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$rport" --toxic latency=5 \
    --toxic latency=9 --duration 1 >/dev/null 2>"$work/dup.err"
rc=$?
check "two --toxic latency on one stream: exit 2 naming latency_downstream" \
    bash -c "test $rc = 2 && grep -q latency_downstream '$work/dup.err'"
timeout 5 "$TORN" proxy --api --duration 0.3 >"$work/default.out" 2>&1
check "bare --api: 127.0.0.1:8474, Toxiproxy's default (or says that port is taken)" \
    grep -Eq 'api listening on 127.0.0.1:8474|127.0.0.1:8474' "$work/default.out"

# --- a Toxiproxy config file at start-up (toxiproxy-server -config) -----------------
p1=$(free_port)
p2=$(free_port)
cat >"$work/config.json" <<CFG
[{"name": "redis_a", "listen": "127.0.0.1:$p1", "upstream": "127.0.0.1:$rport"},
 {"name": "redis_b", "listen": "127.0.0.1:$p2", "upstream": "127.0.0.1:$rport", "enabled": false}]
CFG
start cfg "$TORN" proxy --api 127.0.0.1:0 --config "$work/config.json"
listed=$(curl -s "http://127.0.0.1:$(api_port cfg)/proxies" | jq -r '[.[] | "\(.name)=\(.enabled)"] | sort | join(",")')
check "--config: both proxies created ($listed)" test "$listed" = "redis_a=true,redis_b=false"
check "--config: redis_a forwards (PING through it)" bash -c "redis-cli -p $p1 ping | grep -q PONG"
check "--config: the disabled redis_b refuses connections" \
    bash -c "! redis-cli -p $p2 ping 2>&1 | grep -q PONG"
# /metrics under Toxiproxy's names and labels; a limit_data toxic of 3 bytes
# downstream lets 3 of PONG's 7 bytes through: received counts them all,
# sent only what passed.
curl -s -X POST -d '{"type":"limit_data","stream":"downstream","attributes":{"bytes":3}}' \
    "http://127.0.0.1:$(api_port cfg)/proxies/redis_a/toxics" >/dev/null
redis-cli -p "$p1" ping >/dev/null 2>&1
curl -s "http://127.0.0.1:$(api_port cfg)/metrics" >"$work/metrics"
check "GET /metrics: toxiproxy_proxy_{received,sent}_bytes_total {direction,listener,proxy,upstream} as Toxiproxy names them; limit_data shows as received > sent downstream" \
    python3 - "$work/metrics" "127.0.0.1:$p1" "127.0.0.1:$rport" <<'PY'
import re, sys
sample = re.compile(r'^[a-z_]+\{([a-z]+="[^"]*",?)+\} [0-9]+$')
vals, types = {}, {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        types[line.split()[2]] = line.split()[3]
    if line.startswith("# "):
        continue
    assert sample.match(line), line
    name, v = line.rsplit(" ", 1)
    vals[name] = int(v)
for m in ("toxiproxy_proxy_received_bytes_total", "toxiproxy_proxy_sent_bytes_total",
          "torn_proxy_connections_total"):
    assert types.get(m) == "counter", (m, types)
def get(m, d):
    return vals[f'{m}{{direction="{d}",listener="{sys.argv[2]}",proxy="redis_a",upstream="{sys.argv[3]}"}}']
rx = {d: get("toxiproxy_proxy_received_bytes_total", d) for d in ("upstream", "downstream")}
tx = {d: get("toxiproxy_proxy_sent_bytes_total", d) for d in ("upstream", "downstream")}
print("   received", rx, "sent", tx)
assert vals['torn_proxy_connections_total{proxy="redis_a"}'] >= 2, vals
assert rx["upstream"] == tx["upstream"] > 0 and tx["downstream"] > 0
assert rx["downstream"] - tx["downstream"] == 4, (rx, tx)
PY
if command -v promtool >/dev/null; then
    check "promtool check metrics accepts GET /metrics" bash -c "promtool check metrics <'$work/metrics'"
else
    echo "SKIP promtool check of GET /metrics: promtool (Debian prometheus) not installed"
fi
echo '[{"name": "x", "listen": "127.0.0.1:0"}]' >"$work/bad.json"
timeout 5 "$TORN" proxy --api 127.0.0.1:0 --config "$work/bad.json" >/dev/null 2>"$work/bad.err"
rc=$?
check "--config without an upstream: exit 2 naming the file and the proxy" \
    bash -c "test $rc = 2 && grep -q 'bad.json: proxy x: missing required field: upstream' '$work/bad.err'"

disown -a   # killed on exit by fs_common.sh, without bash's "Killed" lines
finish

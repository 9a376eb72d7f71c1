#!/usr/bin/env bash
# torn's Redis and Postgres drivers side by side with the servers' own
# benchmark tools, on the same server, operation and client count:
#   Redis     torn update, strategy merged (one GET + one SET of the JSON
#             record) vs redis-benchmark GET and SET with the same value
#             size, combined as one GET+SET pair per operation
#   Postgres  torn update, strategy guarded (one UPDATE ... RETURNING, the
#             extended protocol) vs pgbench -M extended running the same
#             statement on a same-shaped table
# Prints ops/s of each and the ratio torn/tool (goal >= 1.0: the harness
# must not be the bottleneck).  Measured, never asserted.  On a shared
# machine one run of each says more about the neighbours than about the
# drivers, so torn and the tool run REPEAT times in turn and the best of
# each counts (the range is printed beside it).  The Postgres server runs
# with synchronous_commit=off by default: with it on, every commit of
# either client waits for an fsync of the shared disk and the ratio
# measures the disk (PG_SYNC=on measures it so).
# Environment: BENCH_SECONDS (default 3), BENCH_CLIENTS (default "1 4"),
# REPEAT (default 3), PG_SYNC (default off).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/.." && pwd)
BENCH=${TORN_REDIS_PG_BENCH:-$root_dir/build/bench/redis_pg_bench}
SECS=${BENCH_SECONDS:-3}
CLIENTS=${BENCH_CLIENTS:-1 4}
REPEAT=${REPEAT:-3}
PG_SYNC=${PG_SYNC:-off}
# Work directories of SIGKILLed earlier runs (their servers died with them).
for d in /tmp/torn-bench-redispg.*; do
    [[ -f "$d/owner.pid" ]] && ! kill -0 "$(cat "$d/owner.pid")" 2>/dev/null && rm -rf "$d"
done
work=$(mktemp -d /tmp/torn-bench-redispg.XXXXXX)
chmod 0711 "$work"
echo $$ >"$work/owner.pid"
pids=()
cleanup() {
    # A fast shutdown first: a SIGKILLed postmaster leaves its SysV shared
    # memory segment behind.
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
    for _ in $(seq 30); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in redis-server redis-benchmark; do
    command -v "$tool" >/dev/null || { echo "redis_pg: $tool not found (apt install redis-server redis-tools)"; exit 2; }
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$pgbin/pgbench" ]] || { echo "redis_pg: pgbench not found (apt install postgresql)"; exit 2; }
[[ -x "$BENCH" ]] || { echo "redis_pg: $BENCH missing (make bench builds it)"; exit 2; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Servers die with this script (parent-death signal).  A prefix, not a
# function: a backgrounded function is a subshell, and $! would be it.
as_pg=(setpriv --pdeathsig KILL --)
[[ $(id -u) -eq 0 ]] &&
    as_pg=(setpriv --pdeathsig KILL --reuid=postgres --regid=postgres --clear-groups --)

RP=$(free_port)
setpriv --pdeathsig KILL -- redis-server --port "$RP" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
    --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
PP=$(free_port)
mkdir "$work/pg"
[[ $(id -u) -eq 0 ]] && chown postgres "$work/pg"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U torn --auth=trust --locale=C -E UTF8 --no-sync \
    >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log"; exit 2; }
"${as_pg[@]}" "$pgbin/postgres" -D "$work/pg/data" -p "$PP" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories= -c synchronous_commit="$PG_SYNC" >"$work/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    redis-cli -p "$RP" ping >/dev/null 2>&1 && "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$PP" && break
    sleep 0.1
done
psql_() { "$pgbin/psql" -X -q -t -A -h 127.0.0.1 -p "$PP" -U torn -d postgres -c "$1"; }

# The tool's copy of torn's table and statement (see targets/postgres.c).
psql_ "CREATE SCHEMA pgb;
       CREATE TABLE pgb.records (id text PRIMARY KEY, version bigint NOT NULL, data jsonb NOT NULL);
       INSERT INTO pgb.records VALUES ('bench', 1,
         '{\"id\":\"bench\",\"version\":1,\"created_at\":\"2026-01-01T00:00:00.000Z\",\"_updated_at\":\"2026-01-01T00:00:00.000Z\"}');"
cat >"$work/update.sql" <<'EOF'
UPDATE pgb.records SET version = version + 1, data = data || ('{"status":"running","seq":1}'::jsonb - '{id,created_at,version,_updated_at}'::text[]) || jsonb_build_object('version', version + 1, '_updated_at', now()::text) WHERE id = 'bench' RETURNING data::text;
EOF

ratio() { python3 -c "a, b = float('$1' or 0), float('$2' or 0); print('%.2f' % (a / b) if b else 'n/a')"; }
# Each measurement prints "RATE CPU": operations per second and the
# client's CPU time (user + system, /usr/bin/time) per operation in µs,
# which the neighbours' load changes far less than the rate.
cpu_us() {  # TIME_FILE OPS: the CPU time in the file (its last line) per operation, in µs
    tail -1 "$1" | awk -v n="$2" '{ printf "%.1f", (n > 0 ? ($1 + $2) * 1e6 / n : 0) }'
}
torn_rate() {
    local out ops
    out=$(/usr/bin/time -o "$work/time" -f '%U %S' "$BENCH" "$@")
    ops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$out")
    echo "$(sed -n 's/^ops_per_s=\([0-9.]*\).*/\1/p' <<<"$out") $(cpu_us "$work/time" "${ops:-0}")"
}
# redis-benchmark's GET and SET rates combined as one GET+SET pair per
# operation (its CPU per pair: per request, twice); as many requests as
# about SECS seconds at 50k/s per client.
redis_pair() {
    local out get set_ n=$(($1 * 50000 * SECS / 2))
    out=$(/usr/bin/time -o "$work/time" -f '%U %S' redis-benchmark -p "$RP" -c "$1" -n "$n" -d "$2" \
          -t get,set -q 2>/dev/null | tr '\r' '\n')
    get=$(sed -n 's/^GET: \([0-9.]*\) requests.*/\1/p' <<<"$out")
    set_=$(sed -n 's/^SET: \([0-9.]*\) requests.*/\1/p' <<<"$out")
    echo "$(python3 -c "g, s = float('${get:-0}' or 0), float('${set_:-0}' or 0); print('%.0f' % (1 / (1 / g + 1 / s)) if g and s else 0)") $(cpu_us "$work/time" "$n")"
}
pg_tps() {
    local out
    out=$(/usr/bin/time -o "$work/time" -f '%U %S' "$pgbin/pgbench" -n -M extended -h 127.0.0.1 \
          -p "$PP" -U torn -c "$1" -j "$1" -T "$SECS" -f "$work/update.sql" postgres 2>/dev/null)
    echo "$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out") $(cpu_us "$work/time" "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")")"
}
# best_of: run the torn command and the tool command (the arrays torn_cmd
# and tool_cmd) REPEAT times in turn; sets torn_best and tool_best (the
# best rate), torn_range and tool_range, torn_cpu and tool_cpu (the
# median CPU µs per operation).
best_of() {
    local a=() b=() i
    for ((i = 0; i < REPEAT; i++)); do
        a+=("$("${torn_cmd[@]}")")
        b+=("$("${tool_cmd[@]}")")
    done
    read -r torn_best torn_range torn_cpu < <(summary "${a[@]}")
    read -r tool_best tool_range tool_cpu < <(summary "${b[@]}")
}
summary() {  # "RATE CPU"...: best rate, range, median CPU
    python3 - "$@" <<'PY'
import statistics, sys
runs = [[float(x or 0) for x in (a.split() + ["0", "0"])[:2]] for a in sys.argv[1:]]
rates = sorted(r for r, _ in runs)
print("%.0f %.0f-%.0f %.1f" % (rates[-1], rates[0], rates[-1], statistics.median(c for _, c in runs)))
PY
}
row() {  # STORE CLIENTS TORN_LABEL TOOL_LABEL
    printf '%-8s %-3s %-34s %7s (%11s) %6s  %-32s %7s (%11s) %6s  %5s  %s\n' "$1" "$2" "$3" \
        "$torn_best" "$torn_range" "$torn_cpu" "$4" "$tool_best" "$tool_range" "$tool_cpu" \
        "$(ratio "$torn_best" "$tool_best")" "$(ratio "$tool_cpu" "$torn_cpu")"
}

echo "best of $REPEAT runs of ${SECS} s each, in turn (range in brackets); postgres synchronous_commit=$PG_SYNC"
echo "cpu: the client's CPU µs per operation (median); ratio: torn/tool rate, goal >= 1.0;"
echo "cpu ratio: tool/torn CPU per operation (above 1: torn's client spends less than the tool's)"
printf '%-8s %-3s %-34s %7s %13s %6s  %-32s %7s %13s %6s  %5s  %s\n' store c torn "ops/s" "" cpu \
    tool "ops/s" "" cpu ratio "cpu ratio"
for c in $CLIENTS; do
    # Value size of torn's record after one update (the JSON it SETs).
    size=$(printf '%s' '{"id":"bench","version":2,"created_at":"2026-01-01T00:00:00.000Z","_updated_at":"2026-01-01T00:00:00.000Z","status":"running","seq":12345}' | wc -c)
    torn_cmd=(torn_rate "redis://127.0.0.1:$RP/0?strategy=merged" "$c" "$SECS" "torn_bench")
    tool_cmd=(redis_pair "$c" "$size")
    best_of
    row redis "$c" "update merged (GET+SET)" "redis-benchmark GET+SET pair"

    torn_cmd=(torn_rate "postgres://torn@127.0.0.1:$PP/postgres?strategy=guarded" "$c" "$SECS" "torn_bench")
    tool_cmd=(pg_tps "$c")
    best_of
    row postgres "$c" "update guarded (UPDATE..RETURNING)" "pgbench -M extended, same UPDATE"
done

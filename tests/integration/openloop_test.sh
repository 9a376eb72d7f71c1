#!/usr/bin/env bash
# Open loop (--rate) beyond concurrent-updaters: the job scenarios
# (event-before-persist, safe-read-http) and the write streams of
# durability, failover and dual-write pace their workers (torn_ctx_pace) and
# report corrected and uncorrected percentiles.
#
# Coordinated omission, shown without timing luck: one worker at 2 jobs/s
# against the reference service torn starts.  The slow release
# (--worker-delay-ms 400: a job takes over 1.2 s) cannot keep the schedule,
# so each job starts later than it was due by at least 0.7 s more than the
# one before: the corrected create p90 exceeds a 2 s budget (FAIL), while
# the closed-loop run of the same release, which waits for each job before
# issuing the next, PASSES that budget (the backlog is hidden).  The normal
# release (a job takes about 0.35 s, within the 0.5 s period) PASSES in open
# loop.  Then every write-stream scenario, run with --rate, is labelled
# open-loop and has one open-loop sample per operation it issued.
# Environment: TORN_BIN, TORN_ROOT (set by tests/run.sh).
set -u
root=${TORN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
torn=${TORN_BIN:-$root/torn}
rs=${RS_BIN:-$root/build/research-service}
tmp=$(mktemp -d /tmp/torn-openloop-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# run WANT WHAT ARGS...: torn run ARGS exits WANT; report in $tmp/r.json.
run() {
    rm -f "$tmp/r.json"
    expect_rc "$2" "$1" timeout -k 5 120 "$torn" run --quiet --repro-runs 0 --run-dir "$tmp/run" \
        "${@:3}" --json "$tmp/r.json"
}
# figures OP: "loop n_open n_ops late corrected_p90_ms uncorrected_p90_ms" of the report's
# first result (n_open 0 when it has no open-loop samples of OP).
figures() {
    python3 - "$tmp/r.json" "$1" <<'PY' 2>/dev/null
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
op = sys.argv[2]
lat = r["latency"].get(op, {})
ol = r.get("open_loop", {}).get("latency", {}).get(op)
n_ops = lat.get("ok", 0) + lat.get("fail", 0) + lat.get("info", 0)
if ol:
    c, u = ol["corrected"], ol["uncorrected"]
    keys = ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns", "min_ns"]
    assert all(c[k] >= u[k] for k in keys), "corrected below uncorrected"
    print(r["latency_loop"], ol["n"], n_ops, ol["late"], round(c["p90_ns"] / 1e6), round(u["p90_ns"] / 1e6))
else:
    print(r["latency_loop"], 0, n_ops, 0, 0, 0)
PY
}

if [[ ! -x $rs ]]; then
    bad "research-service not built ($rs): run make"
else
    sed -e "s#\"build/research-service\"#\"$rs\"#" "$root/examples/research-service/managed.json" >"$tmp/m.json"
    sed -e 's#"--quiet"#"--quiet", "--worker-delay-ms", "400"#' "$tmp/m.json" >"$tmp/slow.json"
    for sc in event-before-persist safe-read-http; do
        args=(--target http --scenario "$sc" --seed 7 --workers 1 --set jobs=6 --budget 'create.p90<2s')
        run 0 "$sc: normal release, open loop at 2 jobs/s, create p90 < 2 s PASSES" \
            --target-spec "$tmp/m.json" "${args[@]}" --rate 2
        read -r loop n_ol n_ops late c90 u90 <<<"$(figures create)"
        echo "   normal: $loop, $n_ol open-loop creates of $n_ops, $late late, p90 corrected $c90 ms, uncorrected $u90 ms"
        [[ $loop == open-loop && $n_ol -eq 6 && $n_ops -ge 6 ]] \
            && ok "$sc: labelled open-loop, one open-loop sample per job" || bad "$sc: figures '$loop $n_ol $n_ops'"
        run 1 "$sc: slow release, open loop: its backlog breaks create p90 < 2 s (FAIL)" \
            --target-spec "$tmp/slow.json" "${args[@]}" --rate 2
        read -r loop n_ol n_ops late c90 u90 <<<"$(figures create)"
        echo "   slow:   $loop, $n_ol open-loop creates, $late late, p90 corrected $c90 ms, uncorrected $u90 ms"
        grep -q '\[budget:p90\] t=[0-9.]*s: create p90 ' "$tmp/out" && [[ ${late:-0} -ge 4 && ${c90:-0} -gt 2000 ]] \
            && ok "$sc: [budget:p90] on the corrected create p90; $late of 6 jobs started late" \
            || bad "$sc: slow open loop: late $late, corrected p90 $c90 ms; $(grep budget "$tmp/out" | head -2)"
        run 0 "$sc: slow release, closed loop: the same budget PASSES (coordinated omission)" \
            --target-spec "$tmp/slow.json" "${args[@]}"
        read -r loop n_ol _ <<<"$(figures create)"
        [[ $loop == closed-loop && $n_ol -eq 0 ]] && ok "$sc: closed loop labelled so, no open-loop figures" \
            || bad "$sc: closed loop figures '$loop $n_ol'"
    done
    run 0 "dual-write: open loop at 100/s on the reference service" \
        --target http --target-spec "$tmp/m.json" --scenario dual-write --seed 7 --set rounds=3 --rate 100
    read -r loop n_ol n_ops _ <<<"$(figures dual_write)"
    [[ $loop == open-loop && $n_ol -ge 10 && $n_ol -eq $n_ops ]] \
        && ok "dual-write: every dual write is an open-loop sample ($n_ol of $n_ops)" \
        || bad "dual-write: figures '$loop $n_ol $n_ops'"
fi

# Redis (durability, failover): the writers' updates are paced.
if command -v redis-server >/dev/null; then
    for sc in durability failover; do
        # a Redis without persistence may lose acknowledged writes: exit 1 is fine here
        [[ $sc == durability ]] && extra=(--set rounds=2) || extra=(--set cycles=1)
        timeout -k 5 120 "$torn" run --quiet --repro-runs 0 --run-dir "$tmp/run" --target redis \
            --scenario "$sc" --seed 7 "${extra[@]}" --rate 200 --json "$tmp/r.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        read -r loop n_ol n_ops _ <<<"$(figures update)"
        [[ $rc -le 1 && $loop == open-loop && $n_ol -ge 10 && $n_ol -eq $n_ops ]] \
            && ok "$sc: exit $rc, every update an open-loop sample ($n_ol of $n_ops)" \
            || bad "$sc: exit $rc, figures '$loop $n_ol $n_ops'; $(tail -2 "$tmp/err")"
    done
else
    echo "   (redis-server not installed: durability and failover skipped)"
fi

# A rate far above what the store can do is not an error: overdue
# operations are issued at once, never skipped (pace.h).
run 0 "concurrent-updaters at 1e6/s: every update issued" --target file:durable \
    --scenario concurrent-updaters --seed 7 --workers 2 --set updates=20 --set readers=0 \
    --set payload_len=64 --rate 1000000
read -r loop n_ol n_ops _ <<<"$(figures update)"
[[ $n_ol -eq 40 && $n_ops -eq 40 ]] && ok "40 of 40 updates issued and sampled" || bad "figures '$loop $n_ol $n_ops'"

finish

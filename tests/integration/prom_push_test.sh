#!/usr/bin/env bash
# torn run --prom-push URL against a real Prometheus Pushgateway (Debian's
# prometheus-pushgateway; SKIP line without it): the gateway serves the run's
# metrics under job="torn"; a second run replaces the group (PUT); a remote
# gateway is refused up front (exit 2, nothing run); a gateway that is down
# is an unwritable report: exit 2, and the JSON report says why.
# Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-prom-push-test # TORN, work, check; cleanup on exit
mkdir "$work/tmp"
export TMPDIR=$work/tmp
if ! command -v prometheus-pushgateway >/dev/null; then
    echo "SKIP prometheus-pushgateway not installed (Debian package prometheus-pushgateway)"
    echo "0 passed, 0 failed"
    exit 0
fi
gp=$(free_port)
prometheus-pushgateway --web.listen-address="127.0.0.1:$gp" >"$work/gateway.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gp/-/ready" >/dev/null && break; sleep 0.1; done
gw=http://127.0.0.1:$gp

"$TORN" run --scenario crash-midwrite --duration 0.5 --seed 1 --quiet --prom-push "$gw" >"$work/a.out" 2>&1
rc=$?
curl -s "$gw/metrics" >"$work/m1"
check "a pushed run: exit $rc, the gateway serves torn_op_latency_seconds for crash-midwrite under job=torn" \
    bash -c "test $rc != 1 && grep -q '^torn_op_latency_seconds_bucket{.*job=\"torn\".*scenario=\"crash-midwrite\"' '$work/m1'"
"$TORN" run --scenario corrupt-read --duration 0.5 --seed 1 --quiet --prom-push "$gw/" >"$work/b.out" 2>&1
curl -s "$gw/metrics" >"$work/m2"
check "a second push replaces the group (PUT): corrupt-read there, crash-midwrite gone" \
    bash -c "grep -q 'scenario=\"corrupt-read\"' '$work/m2' && ! grep -q 'scenario=\"crash-midwrite\"' '$work/m2'"
t0=$(date +%s%N)
"$TORN" run --scenario crash-midwrite --duration 5 --prom-push http://192.0.2.1:9091 >"$work/c.out" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "a remote gateway is refused up front: exit 2 naming --prom-push, nothing run ($ms ms)" \
    bash -c "test $rc = 2 && grep -q -- '--prom-push' '$work/c.out' && ! grep -q 'crash-midwrite  ' '$work/c.out'"
dead=$(free_port)
"$TORN" run --scenario crash-midwrite --duration 0.5 --seed 1 --quiet --prom-push "http://127.0.0.1:$dead" \
    --json "$work/d.json" >"$work/d.out" 2>&1
rc=$?
check "a gateway that is down: exit 2, the JSON report's report_error names the push" \
    bash -c "test $rc = 2 && jq -e '.exit_code == 2 and (.report_error | test(\"prom-push\"))' '$work/d.json' >/dev/null"
check "a bad URL is a usage error" \
    bash -c "'$TORN' run --prom-push ftp://127.0.0.1/x >/dev/null 2>&1; test \$? = 2"

disown -a
finish

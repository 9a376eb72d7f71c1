# Shared helpers of the repetition proofs (tests/verify/*_verify.sh).
# Source it; it sets TORN, ROOT and a private scratch directory $work
# (removed on exit), and brings tests/integration/lib.sh's helpers (ok, bad,
# check, verdict, free_port, procs_in, left_segments, mounts_under, and
# finish, the closing line).
#
# cpu_hog_start: one busy loop per core (the load under which false alarms
# live); cpu_hog_stop kills exactly those loops, by pid.  Both are safe to
# call twice; the exit trap stops the hog too.
set -u
ROOT=${TORN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TORN=${TORN_BIN:-$ROOT/torn}
work=$(mktemp -d /tmp/torn-verify.XXXXXX)
. "$ROOT/tests/integration/lib.sh"
HOG_PIDS=()

cpu_hog_start() {
    local i n
    n=$(nproc 2>/dev/null || echo 2)
    for ((i = 0; i < n; i++)); do
        ( trap - TERM; while :; do :; done ) &
        HOG_PIDS+=($!)
    done
}

cpu_hog_stop() {
    local p
    for p in "${HOG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    HOG_PIDS=()
}

verify_cleanup() {
    cpu_hog_stop
    rm -rf "$work"
}
trap verify_cleanup EXIT
trap 'exit 130' INT TERM

# verdicts FILE: "scenario=VERDICT" of every result of a JSON report.
verdicts() {
    python3 -c 'import json,sys
print(" ".join("%s=%s" % (r["scenario"], r["verdict"]) for r in json.load(open(sys.argv[1]))["results"]))' "$1" 2>/dev/null
}

# Shared by tests/integration/fs_test.sh, fs_durability_test.sh, exec_test.sh, outputs_test.sh (sourced,
# not run): a work directory that is unmounted before it is removed (never
# rm -rf through a live torn-fs mount), the pass/fail counters, verdict().
# (and work_test.sh)
# Usage: . fs_common.sh PREFIX   (sets TORN, SEED, work)
TORN=${TORN_BIN:-./torn}
ROOT=${TORN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SEED=${TORN_TEST_SEED:-$(( (RANDOM << 15 | RANDOM) % 100000 + 1 ))}
work=$(mktemp -d "/tmp/$1.XXXXXX")
chmod 711 "$work"   # unprivileged managed servers (postgres) must traverse it
kill_tree() {  # SIGKILL every descendant of pid $1 (ours only, by pid)
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        kill_tree "$c"
        kill -9 "$c" 2>/dev/null
    done
}
fs_cleanup() {
    kill_tree $$
    for m in $(awk -v w="$work" 'index($2, w) == 1 { print $2 }' /proc/mounts); do
        "$TORN" fs umount "$m" >/dev/null 2>&1 || umount -l "$m" 2>/dev/null
    done
    rm -rf "$work"
}
trap fs_cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
verdict() {  # JSON report -> verdict of its first result
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["verdict"])' "$1" 2>/dev/null
}
mounts_under() { awk -v w="$1" 'index($2, w) == 1 && $3 == "fuse.torn"' /proc/mounts | wc -l; }

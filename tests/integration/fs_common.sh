# Shared by the integration scripts that may leave torn-fs mounts or child
# processes behind (fs_test.sh, fs_durability_test.sh, exec_test.sh,
# outputs_test.sh, work_test.sh, gallery_test.sh, replay_test.sh,
# cli_conventions_test.sh; sourced,
# not run): lib.sh's helpers, and a work directory that is unmounted before
# it is removed (never rm -rf through a live torn-fs mount).
# Usage: . fs_common.sh PREFIX   (sets TORN, ROOT, SEED, work)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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

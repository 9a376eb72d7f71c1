#!/usr/bin/env bash
# torn-fs figures, printed, not asserted:
#   - sequential write throughput (1 MiB writes, then one fsync) into the
#     backing directory directly and through torn-fs, and the ratio;
#   - the same with an overwrite of the already-synced file (torn-fs must
#     save the durable bytes of every page it overwrites);
#   - crash states checked per second by power-loss (boundary and sweep) on
#     file:durable.
set -u
TORN=${TORN_BIN:-$(cd "$(dirname "$0")/.." && pwd)/torn}
MB=${TORN_BENCH_FS_MB:-256}
if [[ ! -c /dev/fuse ]]; then echo "fs: SKIP (no /dev/fuse)"; exit 0; fi
work=$(mktemp -d /tmp/torn-bench-fs.XXXXXX)
cleanup() {
    "$TORN" fs umount "$work/mnt" >/dev/null 2>&1 || umount -l "$work/mnt" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/backing" "$work/mnt" "$work/plain"
"$TORN" fs mount --model power "$work/backing" "$work/mnt" >/dev/null || exit 1

mbps() {  # file -> MB/s of writing $MB MiB with 1 MiB writes and a final fsync
    python3 - "$1" "$MB" <<'PY'
import os, sys, time
path, mb = sys.argv[1], int(sys.argv[2])
buf = os.urandom(1 << 20)
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
t = time.monotonic()
for _ in range(mb):
    os.write(fd, buf)
os.fsync(fd)
os.close(fd)
print("%.0f" % (mb / (time.monotonic() - t)))
PY
}
plain=$(mbps "$work/plain/f")
through=$(mbps "$work/mnt/f")
plain2=$(mbps "$work/plain/f")      # overwrite of a synced file
through2=$(mbps "$work/mnt/f")
echo "fs: sequential write $MB MiB: backing $plain MB/s, through torn-fs $through MB/s ($(( through * 100 / (plain > 0 ? plain : 1) ))%)"
echo "fs: overwrite of a synced file: backing $plain2 MB/s, through torn-fs $through2 MB/s ($(( through2 * 100 / (plain2 > 0 ? plain2 : 1) ))%)"
"$TORN" fs umount "$work/mnt" >/dev/null

for mode in boundary sweep; do
    "$TORN" run --quiet --target file:durable --scenario power-loss --seed 1 --set mode=$mode \
        --json "$work/$mode.json" --run-dir "$work/r-$mode" >/dev/null 2>&1
    python3 - "$work/$mode.json" "$mode" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["results"][0]["metrics"]
print("fs: power-loss %s on file:durable: %d crash states at %d cut points, %.1f crash states/s"
      % (sys.argv[2], m.get("crash_states", 0), m.get("cut_points", 0), m.get("crash_states_per_s", 0)))
PY
done

#!/usr/bin/env bash
# Integration tests of torn-fs (FUSE power loss / I/O faults): the `torn fs`
# command on a real mount, the power-loss and io-errors self-test matrix
# (file:naive and file:rename FAIL power-loss, file:durable PASSES;
# file:nocheck FAILS io-errors), the ALICE-style sweep, replay of a crash
# state, artifacts, bad input, no mount left behind on any path
# (including torn SIGKILLed mid-run and its whole process group SIGKILLed),
# a file replaced by rename (or unlinked) while being read never gives ESTALE,
# concurrent-updaters on torn-fs PASSES on correct stores (C and Python),
# and, as root, that another user (nobody) can neither control a mount nor
# use it.  Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-fs-test
if [[ ! -c /dev/fuse ]]; then
    echo "SKIP: /dev/fuse does not exist; torn-fs tests need FUSE"
    echo "0 passed, 0 failed"
    exit 0
fi
echo "seed $SEED (set TORN_TEST_SEED to repeat)"

evidence() {  # FILE -> every violation's evidence, one per line
    python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    for v in r.get("violations", []): print(v.get("criterion"), v.get("evidence"))' "$1" 2>/dev/null
}

# --- torn fs on its own -----------------------------------------------------
b=$work/backing; m=$work/mnt
mkdir -p "$b" "$m"
"$TORN" fs mount --model power "$b" "$m" >"$work/mount.out" 2>&1
check "torn fs mount exits 0" test $? = 0
check "the mount is listed in /proc/mounts" test "$(mounts_under "$m")" = 1
python3 - "$m" <<'EOF'
import os, sys
d = sys.argv[1]
def put(name, data, sync):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    if sync: os.fsync(fd)
    os.close(fd)
def fsync_dir():
    fd = os.open(d, os.O_RDONLY); os.fsync(fd); os.close(fd)
put("durable.json", b'{"v":1}', True); fsync_dir()
put("durable.json.tmp", b'{"v":2}', False)
os.rename(os.path.join(d, "durable.json.tmp"), os.path.join(d, "durable.json"))
put("never-synced", b"x", False)
EOF
check "live view shows the unsynced rename" grep -q '"v":2' "$m/durable.json"
"$TORN" fs status "$m" >"$work/status.out" 2>&1
check "torn fs status reports pending namespace operations" grep -q "pending_meta=[1-9]" "$work/status.out"
"$TORN" fs cut "$m" >"$work/cut.out" 2>&1
check "torn fs cut exits 0 and prints the crash state" grep -q "state=m0:dnone" "$work/cut.out"
check "power cut: the unsynced rename is undone" grep -q '"v":1' "$m/durable.json"
check "power cut: the never-synced file is gone" test ! -e "$m/never-synced"
check "power cut: the backing directory holds the surviving state" grep -q '"v":1' "$b/durable.json"
check "the control file is hidden from listings" bash -c "! ls -a '$m' | grep -q torn"
"$TORN" fs umount "$m" >/dev/null 2>&1
check "torn fs umount exits 0" test $? = 0
check "no mount left after torn fs umount" test "$(mounts_under "$m")" = 0

# --- a cut restores overwritten synced data byte for byte --------------------
# The durable bytes of overwritten pages are saved (one copy per run of
# pages new to the undo log, into slots reused after each fsync): a file
# synced at an unaligned size, a page overwritten, then a large overwrite
# across it and past the end, a truncate and a rewrite, must come back
# exactly as synced; after a second fsync and more overwrites (the slots
# reused), exactly as at that fsync.
"$TORN" fs mount --model power "$b" "$m" >/dev/null 2>&1
undo_step() {   # undo_step STEP: run one step of the script below on the mount
    python3 - "$m" "$work" "$1" >>"$work/undo.out" 2>&1 <<'EOF'
import hashlib, os, sys
mnt, work, step = sys.argv[1:4]
p = os.path.join(mnt, "undo.bin")
def sha():
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
def expect(name, value=None):
    q = os.path.join(work, "undo-" + name)
    if value is None:
        return open(q).read()
    open(q, "w").write(value)
if step == "1":   # synced at an unaligned size, then overwritten, truncated, rewritten
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, os.urandom(3 * 1048576 + 100)); os.fsync(fd)
    dfd = os.open(mnt, os.O_RDONLY); os.fsync(dfd); os.close(dfd)
    expect("1", sha())
    os.pwrite(fd, b"x" * 4096, 8192 * 10)
    os.pwrite(fd, os.urandom(3 * 1048576 + 5000), 100)
    os.ftruncate(fd, 1048576 + 7)
    os.pwrite(fd, os.urandom(70000), 1048576 - 3)
    os.close(fd)
elif step == "2":  # after the cut: as synced; then an fsync and more overwrites
    print("cut1", sha() == expect("1"))
    fd = os.open(p, os.O_RDWR)
    os.pwrite(fd, os.urandom(600000), 5000); os.fsync(fd)
    expect("2", sha())
    os.pwrite(fd, os.urandom(2 * 1048576), 4096); os.pwrite(fd, b"y", 3)
    os.close(fd)
else:
    print("cut2", sha() == expect("2"))
EOF
}
undo_step 1; "$TORN" fs cut "$m" >/dev/null 2>&1
undo_step 2; "$TORN" fs cut "$m" >/dev/null 2>&1
undo_step 3
check "cut after overwrites of synced data: its bytes come back ($(tr '\n' ' ' <"$work/undo.out"))" \
    grep -qx "cut1 True" "$work/undo.out"
check "cut after an fsync and more overwrites: the bytes of that fsync come back" \
    grep -qx "cut2 True" "$work/undo.out"
"$TORN" fs umount "$m" >/dev/null 2>&1

# --- cut keep / uncut: the same crash state again, and the way back ---------
# power-loss checks several crash states of one stopped writer: each is cut
# kept, checked (the check may write and fsync), and undone exactly.
"$TORN" fs mount --model power "$b" "$m" >/dev/null 2>&1
python3 "$ROOT/tests/integration/fs_uncut.py" "$TORN" "$m" >"$work/uncut.out" 2>&1
check "cut keep / uncut: back to the moment before the cut, the same state again, a normal cut alike ($(grep -c 'uncut==before same-state ok3' "$work/uncut.out") of 5 states)" \
    grep -qx "ALL OK" "$work/uncut.out"
r=$("$TORN" fs ctl "$m" uncut 2>&1)
check "uncut without a kept cut is refused ($r)" grep -q "no kept cut" <<<"$r"
"$TORN" fs ctl "$m" cut keep >/dev/null 2>&1
r=$("$TORN" fs ctl "$m" sync 2>&1)
check "sync while a cut is kept is refused ($r)" grep -q "uncut first" <<<"$r"
"$TORN" fs ctl "$m" uncut >/dev/null 2>&1
"$TORN" fs umount "$m" >/dev/null 2>&1
rm -rf "$b" && mkdir -p "$b"

# --- a file replaced by rename or unlinked stays readable ---------------------
# temp + fsync + rename over a path that always exists: every open, fstat and
# read must succeed, as on ext4 (libfuse's path API answered ESTALE for the
# node the rename replaced: a torn read on a correct store).  An unlinked
# open file keeps answering fstat and read.
"$TORN" fs mount --model power "$b" "$m" >/dev/null 2>&1
python3 "$ROOT/tests/integration/fs_rename_stress.py" "$m" 2 3 >"$work/stress.out" 2>&1
check "rename-over stress: no reader error in 2 s ($(grep -c 'errors none' "$work/stress.out") of 4 clean; $(grep -o "{.*}" "$work/stress.out" | head -1))" \
    grep -qx OK "$work/stress.out"
python3 - "$m" >"$work/unlinked.out" 2>&1 <<'EOF2'
import os, sys
p = os.path.join(sys.argv[1], "gone")
with open(p, "wb") as f:
    f.write(b"kept")
fd = os.open(p, os.O_RDONLY)
os.unlink(p)
print(os.fstat(fd).st_size, os.read(fd, 10).decode())
EOF2
check "an unlinked open file answers fstat and read ($(tr '\n' ' ' <"$work/unlinked.out"))" \
    grep -qx "4 kept" "$work/unlinked.out"
"$TORN" fs umount "$m" >/dev/null 2>&1
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
for t in file:durable "exec:$PY -S $ROOT/examples/adapters/jobstore.py --mode durable"; do
    "$TORN" run --quiet --fs torn --target "$t" --scenario concurrent-updaters --seed "$SEED" \
        --repro-runs 0 --run-dir "$work/r-cu" --json "$work/cu.json" >"$work/cu.out" 2>&1
    name=${t%% *}; [[ $t == exec:* ]] && name="exec jobstore.py --mode durable"
    check "--fs torn concurrent-updaters x $name = PASS (got $(verdict "$work/cu.json"))" \
        test "$(verdict "$work/cu.json")" = PASS
    rm -f "$work/cu.json"
done

# --- the mount and its controls are the owner's alone ------------------------
# Another local user (nobody) must not inject faults or cut the power under
# a run: the control socket checks its peer, .torn-ctl is the owner's 0600,
# and without --allow-other other users cannot use the mount at all.  (The
# abstract socket used to accept anyone: nobody injected EIO into root's
# writes and cut the power.)
if [[ $(id -u) -eq 0 ]]; then
    as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    "$TORN" fs mount --model power "$b" "$m" >/dev/null 2>&1
    dpid=$(awk -v m="$m" '$2 == m && $3 == "fuse.torn" {sub(/tornfs-/, "", $1); print $1}' /proc/mounts)
    opts=$(awk -v m="$m" '$2 == m && $3 == "fuse.torn" {print $4}' /proc/mounts)
    check "a mount has no allow_other unless asked ($opts)" test -n "$opts" -a "${opts/allow_other/}" = "$opts"
    ctl_as_nobody() {  # COMMAND -> the daemon's reply to nobody
        "${as_nobody[@]}" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect("\0tornfs-" + sys.argv[1])
    try:
        s.sendall(sys.argv[2].encode() + b"\n")
    except BrokenPipeError:
        pass  # refused before it read the command: the reply is waiting
    print(s.recv(4096).decode().strip())
except OSError as e:
    print("refused:", e)' "$dpid" "$1"
    }
    r1=$(ctl_as_nobody "rule write EIO times=0")
    r2=$(ctl_as_nobody "cut")
    check "nobody's fault rule is refused ($r1)" grep -q "^err permission denied" <<<"$r1"
    check "nobody's power cut is refused ($r2)" grep -q "^err permission denied" <<<"$r2"
    "$TORN" fs status "$m" >"$work/status2.out" 2>&1
    check "the owner's status shows no cut and no fault ($(cat "$work/status2.out"))" \
        grep -q "cuts=0 .*faults=0\|faults=0 .*cuts=0" "$work/status2.out"
    "$TORN" fs ctl "$m" rules-clear >/dev/null 2>&1
    check "the owner (root) still controls it" test $? = 0
    check "nobody cannot reach the mount (no allow_other)" \
        bash -c "! ${as_nobody[*]} ls '$m' >/dev/null 2>&1 && ! ${as_nobody[*]} stat '$m/.torn-ctl' >/dev/null 2>&1"
    "$TORN" fs umount "$m" >/dev/null 2>&1
    "$TORN" fs mount --allow-other --model power "$b" "$m" >/dev/null 2>&1
    opts=$(awk -v m="$m" '$2 == m && $3 == "fuse.torn" {print $4}' /proc/mounts)
    check "--allow-other asks for allow_other ($opts)" grep -q allow_other <<<"$opts"
    check "with --allow-other, nobody still cannot open .torn-ctl (0600, the owner's)" \
        bash -c "! ${as_nobody[*]} sh -c 'echo cut > $m/.torn-ctl' 2>/dev/null"
    "$TORN" fs umount "$m" >/dev/null 2>&1
else
    echo "skip: the torn-fs access checks need root (they run an attacker as nobody)"
fi

# --- bad input: one clear line, exit 2 ---------------------------------------
"$TORN" fs mount --model bogus "$b" "$m" >/dev/null 2>"$work/e1"
check "unknown crash model exits 2" test $? = 2
check "unknown crash model is named" grep -q "bogus" "$work/e1"
"$TORN" fs mount "$work/nonexistent" "$m" >/dev/null 2>"$work/e2"
rc=$?
check "missing backing directory exits 2 naming it" test $rc = 2 -a -n "$(grep nonexistent "$work/e2")"
"$TORN" fs cut "$work" >/dev/null 2>"$work/e3"
check "cut on a directory that is not torn-fs exits 2" test $? = 2
"$TORN" run --target file:durable --scenario power-loss --fs ext4 >/dev/null 2>"$work/e4"
check "--fs with an unknown file system exits 2" test $? = 2
"$TORN" run --target file:durable --scenario power-loss --set mode=bogus --run-dir "$work/r-bad" \
    >/dev/null 2>&1
check "power-loss with a bad mode exits 2" test $? = 2

# --- power-loss: the self-test matrix -----------------------------------------
declare -A want=([naive]=FAIL [rename]=FAIL [durable]=PASS)
for s in naive rename durable; do
    out=$work/pl-$s.json
    # (every violation: the evidence below names a lost write, which a run
    # that stops at its first violation, a torn one, may not reach)
    "$TORN" run --quiet --target "file:$s" --scenario power-loss --seed "$SEED" --json "$out" \
        --all-violations --run-dir "$work/r-pl-$s" >/dev/null 2>&1
    rc=$?
    want_rc=0; [[ ${want[$s]} == FAIL ]] && want_rc=1
    check "power-loss x file:$s = ${want[$s]} (got $(verdict "$out"), exit $rc)" \
        test "$(verdict "$out")" = "${want[$s]}" -a $rc = $want_rc
done
evidence "$work/pl-naive.json" >"$work/pl-naive-ev"
check "file:naive power-loss names a lost acknowledged write" grep -q "^no-lost-write" "$work/pl-naive-ev"
check "a violation leaves the surviving files as an artifact" \
    bash -c "ls '$work'/r-pl-naive/torn-run-*/artifacts/*/*/job-1.json >/dev/null 2>&1"

# --- the sweep finds the zero-length file of temp+rename without fsync -------
out=$work/sw-rename.json
"$TORN" run --quiet --target file:rename --scenario power-loss --seed "$SEED" --set mode=sweep \
    --set max_cut_points=8 --json "$out" --run-dir "$work/r-sw" >/dev/null 2>&1
check "sweep: file:rename FAILS" test "$(verdict "$out")" = FAIL
evidence "$out" >"$work/sw-ev"
check "sweep: an empty/unreadable record is reported" grep -q "no-torn-write.*empty" "$work/sw-ev"
out=$work/sw-durable.json
"$TORN" run --quiet --target file:durable --scenario power-loss --seed "$SEED" --set mode=sweep \
    --set max_cut_points=10 --json "$out" --run-dir "$work/r-swd" >/dev/null 2>&1
check "sweep: file:durable PASSES" test "$(verdict "$out")" = PASS

# --- replay one crash state from its id --------------------------------------
state=$(grep -o 'crash state op[0-9]*/[^:]*:[^:]*:[0-9]*' "$work/sw-ev" | head -1 | sed 's/crash state //')
check "violations carry a crash-state id ($state)" test -n "$state"
out=$work/replay.json
"$TORN" run --quiet --target file:rename --scenario power-loss --seed "$SEED" --set "state=$state" \
    --json "$out" --run-dir "$work/r-replay" >/dev/null 2>&1
check "replaying $state on file:rename FAILS again" test "$(verdict "$out")" = FAIL
evidence "$out" >"$work/replay-ev"
check "the replay reports the same crash state" grep -qF "$state" "$work/replay-ev"
# A state id replays exactly: same operations, same acknowledged versions,
# same verdict, run after run (the writer is stopped blocked in its next
# persistence request, never killed while an acknowledgement is on its way).
grep -F "crash state $state:" "$work/sw-ev" >"$work/sw-state-ev"
check "the replay's evidence is the sweep's for $state" cmp -s "$work/sw-state-ev" "$work/replay-ev"
same=0
for i in 1 2 3 4 5; do
    "$TORN" run --quiet --target file:rename --scenario power-loss --seed "$SEED" \
        --set "state=$state" --json "$work/replay-$i.json" --run-dir "$work/r-replay-$i" \
        >/dev/null 2>&1
    rc=$?
    evidence "$work/replay-$i.json" >"$work/replay-ev-$i"
    [[ $rc == 1 && $(verdict "$work/replay-$i.json") == FAIL ]] &&
        cmp -s "$work/replay-ev" "$work/replay-ev-$i" && same=$((same + 1))
done
check "5 more replays of $state: same verdict and evidence each time ($same of 5)" test $same = 5
"$TORN" run --quiet --target file:durable --scenario power-loss --seed "$SEED" --set "state=$state" \
    --json "$work/replay-d.json" --run-dir "$work/r-replay-d" >/dev/null 2>&1
check "the same crash state on file:durable PASSES" test "$(verdict "$work/replay-d.json")" = PASS

# --- io-errors ----------------------------------------------------------------
for s in nocheck durable; do
    out=$work/io-$s.json
    "$TORN" run --quiet --target "file:$s" --scenario io-errors --seed "$SEED" --json "$out" --set max_nth=2 \
        --run-dir "$work/r-io-$s" >/dev/null 2>&1
    w=PASS; [[ $s == nocheck ]] && w=FAIL
    check "io-errors x file:$s = $w (got $(verdict "$out"))" test "$(verdict "$out")" = $w
done

# --- no mount left behind, even when torn is SIGKILLed mid-run ---------------
check "no torn-fs mount left by the runs above" test "$(mounts_under "$work")" = 0
"$TORN" run --quiet --target file:durable --scenario power-loss --seed "$SEED" --set mode=sweep \
    --run-dir "$work/r-killed" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do [[ $(mounts_under "$work/r-killed") == 1 ]] && break; sleep 0.1; done
sleep 0.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
"$TORN" run --quiet --target file:durable --scenario power-loss --seed "$SEED" \
    --set max_cut_points=1 --run-dir "$work/r-after" >/dev/null 2>&1
# The killed run's daemon may still be stopping (it notices torn's death
# within 200 ms, then lets its frozen workers go): the later run, which
# takes well under a second, can end before it has unmounted.  Give it 10 s.
for _ in $(seq 100); do [[ $(mounts_under "$work/r-killed") == 0 ]] && break; sleep 0.1; done
check "after torn was SIGKILLed, a later run leaves no mount of it" \
    test "$(mounts_under "$work/r-killed")" = 0

# A CI runner's timeout SIGKILLs the whole process group: the FUSE daemon
# (in its own session) sees torn die and unmounts; no dead mount
# ("Transport endpoint is not connected") is left for a later run to clean.
# The kill comes once the mount exists (a fixed 3 s could land before torn
# mounted on a loaded machine, and then proved nothing).  Any torn run on the
# machine sweeps dead mounts, so "no mount some seconds later" proves little:
# the check is that the mount is never there without its daemon.
mkdir -p "$work/r-tk"
setsid "$TORN" run --quiet --target file:durable --scenario io-errors --seed "$SEED" \
    --set max_nth=10000 --run-dir "$work/r-tk" >/dev/null 2>&1 &
tk=$!   # setsid execs in place: torn's pid is its process group
for _ in $(seq 300); do [[ $(mounts_under "$work/r-tk") == 1 ]] && break; sleep 0.1; done
dpid=$(awk -v w="$work/r-tk" 'index($2, w) == 1 && $3 == "fuse.torn" { sub("tornfs-", "", $1); print $1 }' \
    /proc/mounts | head -1)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null); [[ -n $st && $st != Z ]]; }
sleep 0.3
kill -KILL -- "-$tk" 2>/dev/null
{ wait "$tk"; } 2>/dev/null   # (no "Killed" line)
rc=$?
orphan=0
for _ in $(seq 200); do
    [[ $(mounts_under "$work/r-tk") == 0 ]] && break
    if ! alive "${dpid:-0}" && [[ $(mounts_under "$work/r-tk") != 0 ]]; then orphan=1; break; fi
    sleep 0.05
done
check "SIGKILL of the process group while mounted (exit $rc, daemon ${dpid:-none}): the daemon unmounts, no dead mount" \
    test -n "$dpid" -a $rc = 137 -a $orphan = 0 -a "$(mounts_under "$work/r-tk")" = 0

# Two torn-fs runs with the same --run-dir (both keep it: it was given); the
# second used to fail with "torn-fs directories in DIR: File exists".
for i in 1 2; do
    "$TORN" run --quiet --target file:durable --scenario io-errors --seed "$SEED" \
        --set max_nth=2 --run-dir "$work/r-same" >"$work/same-$i.out" 2>&1
    rc=$?
    check "torn-fs run $i in the same --run-dir works (exit $rc$(grep -m1 -o 'torn-fs.*\|^ERROR .*' "$work/same-$i.out" | sed 's/^/: /'))" \
        test $rc = 0
done
check "no torn-fs mount left at all" test "$(mounts_under "$work")" = 0

finish

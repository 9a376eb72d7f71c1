#!/usr/bin/env bash
# Integration tests of work evidence (harness/core/work.h): a scenario that did
# too little work is ERROR (exit 2) naming what fell short, never PASS.
# Real workers really killed (as an OOM killer would), a real adapter that
# really crashes, a real full tmpfs.  Closes with "N passed, N failed".
set -u
. "$(dirname "$0")/fs_common.sh" torn-work-test  # TORN, ROOT, work (unmounted on exit), ok/bad
# field FILE EXPR: a Python expression over r, the first result of a JSON report
field() {
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["results"][0]
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
expect() {  # what rc want_rc out_file pattern...
    local what=$1 rc=$2 want=$3 out=$4; shift 4
    if [[ $rc -ne $want ]]; then
        bad "$what: exit $rc, want $want"; tail -5 "$out"; return
    fi
    for p in "$@"; do
        grep -qF -- "$p" "$out" || { bad "$what: no '$p' in the output"; tail -5 "$out"; return; }
    done
    ok "$what"
}

# --- a PASS carries its work counters ------------------------------------
"$TORN" run --quiet --target file:durable --scenario concurrent-updaters --seed 1 \
    --set updates=5 --set payload_len=1024 --json "$work/pass.json" >"$work/pass.out" 2>&1
rc=$?
[[ $rc -eq 0 && "$(field "$work/pass.json" 'r["work"]["updates_acked"], r["work"]["updates_planned"], r["work"]["readers_reading"]')" == "(40, 40, 2)" ]] &&
    ok "a PASS reports its work (40 of 40 updates acknowledged, 2 readers read)" ||
    bad "pass run: exit $rc, work $(field "$work/pass.json" 'r.get("work")')"

# --- every worker SIGKILLed at ~2 s, as an OOM killer would -------------
"$TORN" run --no-color --target file:durable --scenario concurrent-updaters --seed 1 \
    --set updates=100000 --set payload_len=4096 --json "$work/oom.json" >"$work/oom.out" 2>&1 &
tp=$!
# ~2 s after the workers exist (a loaded machine may take longer than 2 s
# to fork them: a kill before that killed nothing and the run went on).
for _ in $(seq 300); do [[ -n "$(ps -o pid= --ppid "$tp")" ]] && break; sleep 0.1; done
sleep 2
for _ in $(seq 50); do  # all 10 workers started (a loaded machine may need longer)
    [[ $(ps -o pid= --ppid "$tp" | wc -l) -ge 10 ]] && break
    sleep 0.2
done
kids=$(ps -o pid= --ppid "$tp")
for k in $kids; do kill -9 "$k" 2>/dev/null; done
wait "$tp"
rc=$?
expect "workers killed from outside: ERROR naming the shortfall and the deaths" $rc 2 \
    "$work/oom.out" "of 800000 planned updates acknowledged (minimum 400000)" \
    "workers died (" "killed by SIGKILL)"
[[ "$(field "$work/oom.json" 'r["verdict"], r["work"]["updates_acked"] < 400000')" == "('ERROR', True)" ]] &&
    ok "workers killed: JSON verdict ERROR with the work counters" ||
    bad "workers killed: JSON $(field "$work/oom.json" 'r["verdict"], r.get("work")')"

# --- every writer's adapter crashes on its first update ------------------
cat >"$work/crashy.py" <<PY
import os, signal, sys
sys.path.insert(0, "$ROOT/examples/adapters")
import jobstore
def crash(self, key, patch, extra=()):
    os.kill(os.getpid(), signal.SIGSEGV)
jobstore.Store.update_fields = crash
jobstore.main()
PY
py=$(python3 -c "import sys; print(sys.executable)")  # not a pyenv shim: its start-up is slow
timeout -k 2 120 "$TORN" run --no-color --target "exec:$py $work/crashy.py" \
    --scenario concurrent-updaters --seed 1 --set updates=3 --set payload_len=1024 \
    --json "$work/crashy.json" >"$work/crashy.out" 2>&1
expect "adapters crashing on every update: ERROR, 0 acknowledged" $? 2 "$work/crashy.out" \
    "0 of 24 planned updates acknowledged (minimum 12)" "24 unknown" "SIGSEGV"

# --- workers that cannot start: torn's own adapter works, every worker's
# exits at once; each worker exits 2 and the report quotes the first one.
cat >"$work/once.py" <<PY
import os, sys
sys.path.insert(0, "$ROOT/examples/adapters")
# torn starts an adapter through a helper process: the one that opened the
# target is the grandparent.  The first instance is torn's own; later ones
# opened by another process are the workers'.
with open("/proc/%d/stat" % os.getppid()) as f:
    opener = f.read().rsplit(")", 1)[1].split()[1]
marker = os.path.join(os.environ["TORN_DATA_DIR"], "torn-pid")
try:
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, opener.encode())
    os.close(fd)
except FileExistsError:
    if open(marker).read() != opener:
        sys.exit(1)
import jobstore
jobstore.main()
PY
timeout -k 2 120 "$TORN" run --no-color --target "exec:$py $work/once.py" \
    --scenario concurrent-updaters --seed 1 --set updates=3 --set payload_len=1024 \
    >"$work/once.out" 2>&1
expect "workers exiting non-zero: ERROR quoting the first one's reason" $? 2 "$work/once.out" \
    "10 of 10 workers died (10 exited 2); worker " "exec adapter"

# --- the run directory on a full tmpfs ------------------------------------
mkdir -p "$work/mnt"
if mount -t tmpfs -o size=2m tmpfs "$work/mnt" 2>/dev/null; then
    mnt=$work/mnt
    head -c 1900000 /dev/zero >"$mnt/fill" 2>/dev/null
    "$TORN" run --no-color --target file:durable --scenario concurrent-updaters --seed 1 \
        --run-dir "$mnt/a" --json "$work/full.json" >"$work/full.out" 2>&1
    expect "full disk: concurrent-updaters ERROR, updates and history named" $? 2 \
        "$work/full.out" "0 of 96 planned updates acknowledged (minimum 48)" \
        "No space left on device" "events not written"
    rm -rf "$mnt/a"
    "$TORN" run --no-color --target file:durable --scenario crash-midwrite --seed 1 \
        --run-dir "$mnt/b" >"$work/full2.out" 2>&1
    expect "full disk: crash-midwrite ERROR" $? 2 "$work/full2.out" "No space left on device"
    umount "$mnt"
else
    echo "skip full-disk cases: cannot mount a tmpfs (not root?)"
fi

finish

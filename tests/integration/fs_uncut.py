#!/usr/bin/env python3
"""torn-fs `cut keep` / `uncut` on a live mount (fs_test.sh).

usage: fs_uncut.py TORN MOUNTPOINT

Makes a durable base and unsynced changes of every kind (overwrite, create,
mkdir, rename over a file, unlink, hard link, truncate), then for several
crash states: `cut keep STATE`, a check that writes (creates, fsyncs,
overwrites, unlinks, renames), `uncut`: the tree (names, modes, sizes, link
counts, inode numbers, contents) must be exactly as before the cut, and the
same state cut again must look exactly as the first time.  Last, a normal cut
of a state must look like its kept twin.  Prints one line per state and
"ALL OK" or "BAD".
"""
import hashlib, os, subprocess, sys
torn, mnt = sys.argv[1], sys.argv[2]
def ctl(cmd):
    r = subprocess.run([torn, "fs", "ctl", mnt] + cmd.split(), capture_output=True, text=True)
    return r.stdout.strip() + r.stderr.strip()
def snap():
    out = []
    for root, dirs, files in os.walk(mnt):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(root, n); st = os.lstat(p)
            h = ""
            if os.path.isfile(p) and not os.path.islink(p):
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()[:12]
            out.append((p[len(mnt):], oct(st.st_mode), st.st_size, st.st_nlink, st.st_ino, h))
    return out
def put(name, data, sync=False, mode="wb"):
    with open(os.path.join(mnt, name), mode) as f:
        f.write(data)
        if sync: f.flush(); os.fsync(f.fileno())
def dsync(d=""):
    fd = os.open(os.path.join(mnt, d), os.O_RDONLY); os.fsync(fd); os.close(fd)
# durable base
os.mkdir(os.path.join(mnt, "d")); put("a", os.urandom(10000), True); put("d/b", b"bee" * 3000, True)
put("gone", b"g", True); dsync(); dsync("d")
# unsynced changes of every kind
put("a", os.urandom(20000), mode="r+b")
put("new", os.urandom(9000)); os.mkdir(os.path.join(mnt, "nd")); put("nd/x", b"x" * 5000)
os.rename(os.path.join(mnt, "new"), os.path.join(mnt, "d/b"))
os.unlink(os.path.join(mnt, "gone")); os.link(os.path.join(mnt, "a"), os.path.join(mnt, "hl"))
put("d/c", os.urandom(4097)); os.truncate(os.path.join(mnt, "a"), 5000)
pre = snap()
bad = 0
for state in ["meta=0 data=none", "meta=2 data=pfx:1", "meta=all data=all", "torn 7", "meta=4 data=drop:1"]:
    r1 = ctl("cut keep " + state)
    sid = r1.split("state=")[1].split()[0] if "state=" in r1 else r1
    kept = snap()
    # a check that writes: creates, fsyncs, overwrites, unlinks, renames
    put("check", b"c" * 7000, True); dsync()
    if os.path.exists(os.path.join(mnt, "a")): put("a", b"Z" * 30000, True, "r+b")
    if os.path.exists(os.path.join(mnt, "d/b")): os.unlink(os.path.join(mnt, "d/b")); dsync("d")
    if os.path.exists(os.path.join(mnt, "nd")): os.rename(os.path.join(mnt, "nd"), os.path.join(mnt, "nd2"))
    r2 = ctl("uncut")
    back = snap()
    ok1 = back == pre
    r3 = ctl("cut state=" + sid + " keep")
    again = snap()
    ok2 = again == kept
    ctl("uncut")
    ok3 = snap() == pre
    print(state, sid, "uncut==before" if ok1 else "UNCUT DIFFERS", "same-state" if ok2 else "STATE DIFFERS", "ok3" if ok3 else "BAD3", r2)
    if not (ok1 and ok2 and ok3):
        bad += 1
        for x, y in zip(back, pre):
            if x != y: print("  ", x, y)
        if len(back) != len(pre): print("  lens", len(back), len(pre), set(back) ^ set(pre))
        for x, y in zip(again, kept):
            if x != y: print("  k", x, y)
        if len(again) != len(kept): print("  klens", set(again) ^ set(kept))
# final: a normal cut of one state equals its kept twin
r = ctl("cut keep meta=2 data=pfx:1"); kept = snap(); ctl("uncut")
r = ctl("cut meta=2 data=pfx:1"); normal = snap()
norm = [e[:4] + e[5:] for e in normal]; kep = [e[:4] + e[5:] for e in kept]
print("normal cut == kept cut" if norm == kep else "NORMAL DIFFERS %s" % (set(norm) ^ set(kep)))
print("BAD" if bad or norm != kep else "ALL OK")

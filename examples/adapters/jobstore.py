#!/usr/bin/env python3
"""A JSON-file job store (seed 001) as a torn exec adapter.

    torn run --target exec:'python3 examples/adapters/jobstore.py --mode naive'
    torn run --target exec:'python3 examples/adapters/jobstore.py --mode durable'

--mode naive      open(path, "w") and json.dump in place: no lock, no fsync,
                  no backup (the seed's code before the fix); dual writes
                  go to two files one after the other, unlocked
--mode durable    flock, write a temp file, flush + fsync, keep the previous
                  version as KEY.json.bak, os.replace, fsync the directory;
                  every record carries a checksum and a read falls back to
                  the .bak when the main copy is damaged; errors are
                  reported, never swallowed; a dual write replaces one file
                  holding both structures (both or neither)
--mode bak-reset  durable, but a record restored from the .bak restarts at
                  version 1 (a version/content pair never written: caught by
                  corrupt-read's no-wrong-record)
--mode dual-split durable, but a dual write updates the two structures in two
                  files, one after the other: a crash between them leaves
                  one without the other (caught by dual-write's
                  both-or-neither)
--mode leave-tmp  durable, but every write also leaves its temp behind as
                  KEY.json.tmp (caught by --target-opt layout=1)
--mode bad-time   durable, but _updated_at is "YYYY-MM-DD HH:MM:SS", no T, no
                  zone (caught by --target-opt invariants=invariants.json)
--mode lazy-sync  durable for a record's first three updates, then a "warmed-up"
                  fast path from version 5 on: no fsync of the temp, none of
                  the directory.  An acknowledged version from then on lives
                  in the page cache only, so power-loss FAILS it only when a
                  plan runs 4 or more updates and cuts the power after the
                  4th update's last operation (cut point 26 or later: 7 per
                  careful update, 5 per lazy one); the default power-loss
                  run (3 updates, all careful) PASSES it (the demo of
                  fault-plan fuzzing: torn fuzz --target ... --scenario
                  power-loss finds it)

Every careful mode removes, when it starts, the temps (KEY.json.tmp.PID) of
writers no longer alive: a writer killed between its write and its rename
left them, and the main file or its .bak still holds the record (seed 001:
a .tmp only during a write).

--index locked    keep a status index beside each record (KEY.status:
                  status, version, _updated_at), written under the record's
                  lock with the record, and answer op read_also from it (a
                  second read path that must agree with read: seed 003)
--index late      the same, but the index is written 50 ms after the record,
                  outside the lock (caught by --target-opt read_also=...)

--without OPS   (a test fixture) answer "unsupported" to these ops
                (comma-separated, e.g. files,dual_read)

--stall-reads N (a test fixture) every Nth read sleeps 10 s before answering;
                N = -1: only the first read of the run, whichever adapter
                process makes it (a marker file in --dir)

--fail-every N  (a test fixture) apply every Nth update_fields, then report it
                as failed anyway: with --claim-definite the error says "definite"
                (did not happen: a lie torn must catch), otherwise "indefinite"
                (may have happened: allowed)

Protocol (docs/exec-protocol.md): one JSON request per line on stdin, one
JSON reply per line on stdout; the data lives in $TORN_DATA_DIR.
"""
import argparse
import datetime
import fcntl
import hashlib
import json
import os
import sys
import time

PROTECTED = ("id", "created_at", "version", "_updated_at")


def now_iso():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class StoreError(Exception):
    def __init__(self, code, text, definite):
        super().__init__(text)
        self.code, self.text, self.definite = code, text, definite


class Store:
    def __init__(self, directory, mode, index="none"):
        self.dir = directory
        self.mode = mode
        self.index = index
        if self.careful():
            self.remove_dead_temps()

    def remove_dead_temps(self):
        """Recovery: the temps of writers no longer alive go."""
        try:
            names = os.listdir(self.dir)
        except OSError:
            return
        for name in names:
            _, dot, pid = name.rpartition(".tmp.")
            if not dot or not pid.isdigit():
                continue
            if alive(int(pid)):
                continue  # its write may be under way
            try:
                os.unlink(os.path.join(self.dir, name))
            except OSError:
                pass

    def path(self, key):
        if not key or "/" in key or key.startswith("."):
            raise StoreError("bad_key", "bad key %r" % key, True)
        return os.path.join(self.dir, key + ".json")

    def stamp(self):
        if self.mode == "bad-time":  # the fixture's bug: not ISO-8601
            return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return now_iso()

    def careful(self):
        return self.mode != "naive"

    def read_file(self, path, key, what):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise StoreError("not_found", "no record %s" % key, True)
        except OSError as e:
            raise StoreError("io", "read %s: %s" % (key, e), True)
        try:
            rec = json.loads(data)
        except ValueError:
            raise StoreError("corrupt", "%s is not valid JSON (%d bytes)" % (what, len(data)), True)
        if not isinstance(rec, dict):
            raise StoreError("corrupt", "%s is not an object" % what, True)
        if self.careful() and rec.pop("_checksum", None) != checksum(rec):
            raise StoreError("corrupt", "%s: checksum mismatch" % what, True)
        return rec

    def load(self, key):
        path = self.path(key)
        try:
            return self.read_file(path, key, key + ".json")
        except StoreError as e:
            if not self.careful() or e.code not in ("corrupt", "not_found"):
                raise
            main_error = e
        try:
            rec = self.read_file(path + ".bak", key, key + ".json.bak")
        except StoreError as e:
            if e.code == "not_found" and main_error.code == "not_found":
                raise
            raise StoreError("corrupt", "%s; %s" % (main_error.text, e.text), True)
        if self.mode == "bak-reset":
            rec["version"] = 1  # restored from the backup: a new history starts
        return rec

    def files(self, key):
        name = os.path.basename(self.path(key))
        keep = ["*.lock", "*.status"] if self.index != "none" else ["*.lock"]
        if not self.careful():
            return {"main": name, "keep": keep}
        return {"main": name, "backups": [name + ".bak"],
                "temps": [name + ".tmp.*", name + ".bak.tmp.*"], "keep": keep}

    def save(self, key, rec, path=None, backup=True):
        path = path or self.path(key)
        if self.careful():
            rec = dict(rec, _checksum=checksum(rec))
        data = json.dumps(rec, separators=(",", ":")).encode()
        if self.mode == "naive":
            try:
                with open(path, "wb") as f:
                    f.write(data)
            except OSError as e:
                raise StoreError("io", "write %s: %s" % (path, e), False)
            return
        tmp = "%s.tmp.%d" % (path, os.getpid())
        # the fixture's bug: from version 5 on, nothing is fsynced
        lazy = self.mode == "lazy-sync" and int(rec.get("version", 0)) >= 5
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if not lazy:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise StoreError("io", "write %s: %s" % (tmp, e), True)
        if backup:
            keep_backup(path)
        if self.mode == "leave-tmp":  # the fixture's bug: the temp stays too
            try:
                if os.path.exists(path + ".tmp"):
                    os.unlink(path + ".tmp")
                os.link(tmp, path + ".tmp")
            except OSError:
                pass  # another writer's stray took the name meanwhile
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise StoreError("io", "rename %s: %s" % (tmp, e), True)
        if lazy:
            return
        try:
            dfd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as e:
            # Renamed but maybe not durable: it may or may not have happened.
            raise StoreError("io", "fsync %s: %s" % (self.dir, e), False)

    def locked(self, key):
        if self.mode == "naive":
            return None
        self.path(key)  # validates the key
        fd = os.open(os.path.join(self.dir, key + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def rmw(self, key, fn):
        lock = self.locked(key)
        try:
            rec = self.load(key)
            won = fn(rec)
            if won:
                rec["version"] = int(rec.get("version", 0)) + 1
                rec["_updated_at"] = self.stamp()
                self.save(key, rec)
                self.index_locked(key, rec)
        finally:
            if lock is not None:
                os.close(lock)
        if won:
            self.index_late(key, rec)
        return won, rec

    # --- the status index (--index), a second read path (seed 003) --------

    def write_index(self, key, rec):
        summary = {k: rec[k] for k in ("id", "status", "version", "_updated_at") if k in rec}
        path = self.path(key)[:-len(".json")] + ".status"
        tmp = "%s.tmp.%d" % (path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(summary, f, separators=(",", ":"))
        os.replace(tmp, path)

    def index_locked(self, key, rec):
        """Under the record's lock, with the record (--index locked)."""
        if self.index == "locked":
            self.write_index(key, rec)

    def index_late(self, key, rec):
        """After the lock, 50 ms later (--index late: the fixture's bug)."""
        if self.index == "late":
            time.sleep(0.05)
            self.write_index(key, rec)

    def read_also(self, key):
        if self.index == "none":
            raise StoreError("unsupported", "no status index (start with --index)", True)
        lock = self.locked(key)
        try:
            path = self.path(key)[:-len(".json")] + ".status"
            try:
                with open(path) as f:
                    return json.load(f)
            except FileNotFoundError:
                raise StoreError("not_found", "no index entry %s" % key, True)
            except ValueError:
                raise StoreError("corrupt", "index entry %s is not JSON" % key, True)
        finally:
            if lock is not None:
                os.close(lock)

    # --- operations -------------------------------------------------------

    def reset(self, key, initial):
        t = self.stamp()
        rec = {"id": key, "version": 1, "created_at": t, "_updated_at": t}
        for k, v in (initial or {}).items():
            if k not in PROTECTED:
                rec[k] = v
        lock = self.locked(key)
        try:
            try:
                os.unlink(self.path(key) + ".bak")  # a backup of a previous life
            except FileNotFoundError:
                pass
            self.save(key, rec, backup=False)
            self.index_locked(key, rec)
        finally:
            if lock is not None:
                os.close(lock)
        self.index_late(key, rec)
        return rec

    def update_fields(self, key, patch, extra=()):
        def apply(rec):
            for k, v in patch.items():
                if k not in PROTECTED and k not in extra:
                    rec[k] = v
            return True
        return self.rmw(key, apply)[1]

    def update_if_version(self, key, patch, expected):
        def apply(rec):
            if rec.get("version") != expected:
                return False
            for k, v in patch.items():
                if k not in PROTECTED and k != "processing_state":
                    rec[k] = v
            return True
        return self.rmw(key, apply)

    def transition(self, key, frm, to):
        def apply(rec):
            if rec.get("status") not in frm:
                return False
            rec["status"] = to
            return True
        return self.rmw(key, apply)


    # --- dual writes (seed 003): a member's amount in two structures ------

    def dual_paths(self, group):
        base = self.path("dual-" + group)[:-len(".json")]
        return base + ".json", base + ".a.json", base + ".b.json"

    def dual_load(self, path, group, empty):
        try:
            return self.read_file(path, group, os.path.basename(path))
        except StoreError as e:
            if e.code == "not_found" or (e.code == "corrupt" and not self.careful()):
                return empty  # naive: an unreadable file starts over (the seed's bug)
            raise

    def dual_write(self, group, member, amount):
        one, a_path, b_path = self.dual_paths(group)
        lock = self.locked("dual-" + group)
        try:
            if self.mode in ("durable", "bak-reset", "leave-tmp", "bad-time", "lazy-sync"):
                # Both structures in one file, replaced at once.
                st = self.dual_load(one, group, {"a": {}, "b": {}, "count": 0, "total": 0})
                st["a"][member] = amount
                st["b"][member] = amount
                st["count"], st["total"] = len(st["b"]), sum(st["a"].values())
                self.save(group, st, path=one, backup=False)
                return
            a = self.dual_load(a_path, group, {"members": {}, "total": 0})
            b = self.dual_load(b_path, group, {"members": {}, "count": 0})
            a["members"][member] = amount
            a["total"] = sum(a["members"].values())
            self.save(group, a, path=a_path, backup=False)
            b["members"][member] = amount
            b["count"] = len(b["members"])
            self.save(group, b, path=b_path, backup=False)
        finally:
            if lock is not None:
                os.close(lock)

    def dual_read(self, group):
        one, a_path, b_path = self.dual_paths(group)
        if self.mode in ("durable", "bak-reset", "leave-tmp", "bad-time", "lazy-sync"):
            return self.dual_load(one, group, {"a": {}, "b": {}, "count": 0, "total": 0})
        a = self.dual_load(a_path, group, {"members": {}, "total": 0})
        b = self.dual_load(b_path, group, {"members": {}, "count": 0})
        return {"a": a["members"], "b": b["members"], "count": b["count"], "total": a["total"]}


def alive(pid):
    """Whether pid runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def checksum(rec):
    body = json.dumps(rec, separators=(",", ":"), sort_keys=True).encode()
    return hashlib.sha256(body).hexdigest()


def keep_backup(path):
    """The current version becomes PATH.bak, atomically (never no .bak)."""
    tmp = "%s.bak.tmp.%d" % (path, os.getpid())
    try:
        os.unlink(tmp)
    except OSError:
        pass
    try:
        os.link(path, tmp)
    except OSError:
        return  # no current version yet (or a failing disk: the write goes on)
    try:
        os.replace(tmp, path + ".bak")
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class Liar:
    """Fails every nth update after applying it; stalls every mth read (10 s)
    (test fixture)."""
    def __init__(self, every, definite, stall_every=0, marker=None):
        self.every, self.definite, self.n = every, definite, 0
        self.stall_every, self.reads, self.marker = stall_every, 0, marker

    def stall(self):
        self.reads += 1
        if self.stall_every < 0:
            try:  # the first read of all processes: whoever creates the marker
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                return
            time.sleep(10)
        elif self.stall_every and self.reads % self.stall_every == 0:
            time.sleep(10)

    def check(self, op):
        if op != "update_fields" or not self.every:
            return
        self.n += 1
        if self.n % self.every == 0:
            raise StoreError("io", "update %d applied, reported as failed" % self.n, self.definite)


def handle(store, req, liar=None, without=()):
    op, key = req.get("op"), req.get("key")
    if op in without:
        raise StoreError("unsupported", "unknown op %r" % op, True)
    if op == "hello":
        return {}
    if op == "reset":
        return {"record": store.reset(key, req.get("initial"))}
    if op == "update_fields":
        rec = store.update_fields(key, req.get("patch") or {})
        if liar:
            liar.check(op)
        return {"record": rec}
    if op == "read":
        if liar:
            liar.stall()
        return {"record": store.load(key)}
    if op == "update_if_version":
        won, rec = store.update_if_version(key, req.get("patch") or {}, req.get("expected_version"))
        return {"won": won, "record": rec}
    if op == "transition":
        won, rec = store.transition(key, req.get("from") or [], req.get("to"))
        return {"won": won, "record": rec}
    if op == "files":
        return {"files": store.files(key)}
    if op == "read_also":
        return {"record": store.read_also(key)}
    if op == "dual_write":
        store.dual_write(req.get("group"), req.get("member"), req.get("amount"))
        return {}
    if op == "dual_read":
        return {"state": store.dual_read(req.get("group"))}
    raise StoreError("unsupported", "unknown op %r" % op, True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("naive", "durable", "bak-reset", "dual-split", "leave-tmp",
                                       "bad-time", "lazy-sync"),
                    default="durable")
    ap.add_argument("--index", choices=("none", "locked", "late"), default="none")
    ap.add_argument("--dir", default=os.environ.get("TORN_DATA_DIR", "."))
    ap.add_argument("--fail-every", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--claim-definite", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stall-reads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--without", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    store = Store(args.dir, args.mode, args.index)
    liar = Liar(args.fail_every, args.claim_definite, args.stall_reads,
                os.path.join(args.dir, ".stalled-once"))
    for line in sys.stdin:
        if not line.endswith("\n"):
            break  # the input ended inside a request: the sender died, nobody to answer
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            print("jobstore: ignoring a non-JSON request line", file=sys.stderr)
            continue
        reply = {"in_reply_to": req.get("id")}
        try:
            reply.update(handle(store, req, liar, args.without.split(",")))
            reply["ok"] = True
        except StoreError as e:
            reply["ok"] = False
            reply["error"] = {"code": e.code, "definite": e.definite, "text": e.text}
        except OSError as e:
            reply["ok"] = False
            reply["error"] = {"code": "io", "definite": False, "text": str(e)}
        try:
            sys.stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            os._exit(0)  # torn stopped listening (it gave up waiting): nobody to answer


if __name__ == "__main__":
    main()

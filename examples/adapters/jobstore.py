#!/usr/bin/env python3
"""A JSON-file job store (seed 001) as a torn exec adapter.

    torn run --target exec:'python3 examples/adapters/jobstore.py --mode naive'
    torn run --target exec:'python3 examples/adapters/jobstore.py --mode durable'

--mode naive    open(path, "w") and json.dump in place: no lock, no fsync
                (the seed's code before the fix)
--mode durable  flock, write a temp file, flush + fsync, os.replace, fsync
                the directory; errors are reported, never swallowed

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
import json
import os
import sys

PROTECTED = ("id", "created_at", "version", "_updated_at")


def now_iso():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class StoreError(Exception):
    def __init__(self, code, text, definite):
        super().__init__(text)
        self.code, self.text, self.definite = code, text, definite


class Store:
    def __init__(self, directory, mode):
        self.dir = directory
        self.mode = mode

    def path(self, key):
        if not key or "/" in key or key.startswith("."):
            raise StoreError("bad_key", "bad key %r" % key, True)
        return os.path.join(self.dir, key + ".json")

    def load(self, key):
        try:
            with open(self.path(key), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise StoreError("not_found", "no record %s" % key, True)
        except OSError as e:
            raise StoreError("io", "read %s: %s" % (key, e), True)
        try:
            rec = json.loads(data)
        except ValueError:
            raise StoreError("corrupt", "%s.json is not valid JSON (%d bytes)" % (key, len(data)), True)
        if not isinstance(rec, dict):
            raise StoreError("corrupt", "%s.json is not an object" % key, True)
        return rec

    def save(self, key, rec):
        path = self.path(key)
        data = json.dumps(rec, separators=(",", ":")).encode()
        if self.mode == "naive":
            try:
                with open(path, "wb") as f:
                    f.write(data)
            except OSError as e:
                raise StoreError("io", "write %s: %s" % (path, e), False)
            return
        tmp = "%s.tmp.%d" % (path, os.getpid())
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise StoreError("io", "write %s: %s" % (tmp, e), True)
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise StoreError("io", "rename %s: %s" % (tmp, e), True)
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
                rec["_updated_at"] = now_iso()
                self.save(key, rec)
            return won, rec
        finally:
            if lock is not None:
                os.close(lock)

    # --- operations -------------------------------------------------------

    def reset(self, key, initial):
        t = now_iso()
        rec = {"id": key, "version": 1, "created_at": t, "_updated_at": t}
        for k, v in (initial or {}).items():
            if k not in PROTECTED:
                rec[k] = v
        lock = self.locked(key)
        try:
            self.save(key, rec)
        finally:
            if lock is not None:
                os.close(lock)
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


class Liar:
    """Fails every nth update after applying it (test fixture)."""
    def __init__(self, every, definite):
        self.every, self.definite, self.n = every, definite, 0

    def check(self, op):
        if op != "update_fields" or not self.every:
            return
        self.n += 1
        if self.n % self.every == 0:
            raise StoreError("io", "update %d applied, reported as failed" % self.n, self.definite)


def handle(store, req, liar=None):
    op, key = req.get("op"), req.get("key")
    if op == "reset":
        return {"record": store.reset(key, req.get("initial"))}
    if op == "update_fields":
        rec = store.update_fields(key, req.get("patch") or {})
        if liar:
            liar.check(op)
        return {"record": rec}
    if op == "read":
        return {"record": store.load(key)}
    if op == "update_if_version":
        won, rec = store.update_if_version(key, req.get("patch") or {}, req.get("expected_version"))
        return {"won": won, "record": rec}
    if op == "transition":
        won, rec = store.transition(key, req.get("from") or [], req.get("to"))
        return {"won": won, "record": rec}
    raise StoreError("unsupported", "unknown op %r" % op, True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("naive", "durable"), default="durable")
    ap.add_argument("--dir", default=os.environ.get("TORN_DATA_DIR", "."))
    ap.add_argument("--fail-every", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--claim-definite", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    store = Store(args.dir, args.mode)
    liar = Liar(args.fail_every, args.claim_definite)
    for line in sys.stdin:
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
            reply.update(handle(store, req, liar))
            reply["ok"] = True
        except StoreError as e:
            reply["ok"] = False
            reply["error"] = {"code": e.code, "definite": e.definite, "text": e.text}
        except OSError as e:
            reply["ok"] = False
            reply["error"] = {"code": "io", "definite": False, "text": str(e)}
        sys.stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

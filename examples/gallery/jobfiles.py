#!/usr/bin/env python3
"""jobfiles: a JSON-file job store (seed 001) spoken to over torn's exec protocol.

    torn run --target exec:'/usr/bin/python3 examples/gallery/jobfiles.py --mode fixed'

The store is what a small back end keeps when it has no database yet: one JSON
file per job under a data directory, written by several worker processes at
once.  The fixed mode does what seed 001's post-mortem promised:

  * every write is a per-job flock, a checksummed temp file, flush + fsync,
    os.replace over the job file, and an fsync of the directory;
  * the previous job file is kept as JOB.json.bak (a hard link, renamed into
    place before the new file replaces the old one): the last known good copy;
  * a read retries the job file a few times, then falls back to the .bak, and
    says "corrupt" rather than return something it cannot vouch for;
  * a compare-and-set (seed 002) and a state transition check and write under
    the same lock; protected fields are never taken from a patch;
  * an update that sets status and results is one write (seed 000).

Each --mode other than "fixed" is one plausible mistake, small enough to pass a
casual unit test (see examples/gallery/README.md for which torn scenario and
criterion catch which):

  no-fsync             temp file renamed into place without fsync
  no-dir-fsync         file fsynced, directory never fsynced after the rename
  fsync-error-ignored  an fsync error is logged and the write acknowledged
  thread-lock          threading.Lock instead of flock: fine in one process only
  early-unlock         lock held for the read-merge, released before the write
  no-bak               no last-known-good copy: a damaged file is just "corrupt"
  bak-reset-version    recovery re-creates the job from the .bak (version 1)
  lenient-retry        the last retry accepts a file whose checksum is wrong
  two-writes           results, then status: two writes (seed 000's two calls)
  cas-toctou           compare-and-set checks the version before taking the lock
  protected-field      compare-and-set lets processing_state through
  guard-claim-only     only the claim checks the current state; others just write
  two-step-batch       a batch completion goes to the batch file, then to the
                       completions directory: two writes, no intent (seed 003)

Batches (seed 003's dual write): a player's completion is recorded twice, in
the batch file (players: member -> amount, plus the completed_count and
total_predictions counters) and as one file per member in the batch's
completions directory (the "new structure" being migrated to).  The fixed mode
writes an intent file first and rolls it forward on the next access, so a
crash between the two writes never leaves one without the other.

Protocol: docs/exec-protocol.md (one JSON request per line on stdin, one reply
per line on stdout).  Data: $TORN_DATA_DIR (or --dir).  Logs go to stderr.
"""
import argparse
import datetime
import fcntl
import hashlib
import json
import os
import sys
import threading
import time

MODES = ("fixed", "no-fsync", "no-dir-fsync", "fsync-error-ignored", "thread-lock",
         "early-unlock", "no-bak", "bak-reset-version", "lenient-retry", "two-writes",
         "cas-toctou", "protected-field", "guard-claim-only", "two-step-batch")

PROTECTED = ("id", "created_at", "version", "_updated_at")
READ_RETRIES = 3
READ_RETRY_S = 0.02


def log(msg):
    print("jobfiles[%d]: %s" % (os.getpid(), msg), file=sys.stderr, flush=True)


def now_iso():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond


class StoreError(Exception):
    """code: the protocol's error code; definite: True when nothing changed."""
    def __init__(self, code, text, definite):
        super().__init__(text)
        self.code, self.text, self.definite = code, text, definite


class NotIntact(ValueError):
    pass


def encode(job):
    """A job file: the job's JSON, a newline, the SHA-256 of that JSON in hex."""
    body = json.dumps(job, separators=(",", ":")).encode()
    return body + b"\n" + hashlib.sha256(body).hexdigest().encode() + b"\n"


def decode(data, check=True):
    if not data:
        raise NotIntact("empty file")
    body, _, digest = data.rstrip(b"\n").rpartition(b"\n")
    if check and hashlib.sha256(body).hexdigest().encode() != digest:
        raise NotIntact("checksum mismatch (%d bytes)" % len(data))
    job = json.loads(body if body else data)  # ValueError on a partial file
    if not isinstance(job, dict):
        raise NotIntact("not a job object")
    return job


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JobStore:
    def __init__(self, root, mode):
        self.root = root
        self.mode = mode
        self.thread_locks = {}
        if not os.path.isdir(root):
            os.makedirs(root, exist_ok=True)
            fsync_dir(os.path.dirname(root))  # the new directory's entry, too

    # --- files ------------------------------------------------------------

    def path(self, job_id, suffix=".json"):
        if not isinstance(job_id, str) or not job_id or "/" in job_id or job_id.startswith("."):
            raise StoreError("bad_key", "bad job id %r" % (job_id,), True)
        return os.path.join(self.root, job_id + suffix)

    def data_files(self, job_id):
        """Every file that holds a copy of the job, main copy first."""
        return [self.path(job_id), self.path(job_id, ".json.bak")]

    def files(self, job_id):
        """The exec protocol's data-file declaration, relative to the data directory."""
        main_file, bak = self.data_files(job_id)
        rel = lambda p: os.path.relpath(p, os.path.dirname(self.root))
        return {"main": rel(main_file), "backups": [] if self.mode == "no-bak" else [rel(bak)],
                "temps": [rel(main_file) + ".tmp.*", rel(bak) + ".tmp"]}

    def record_completion(self, batch_id, member, amount):
        BatchStore(self).record_completion(batch_id, member, amount)

    def read_batch(self, batch_id):
        return BatchStore(self).read_batch(batch_id)

    def lock(self, job_id):
        """An exclusive lock on the job, shared by every process of the store."""
        if self.mode == "thread-lock":
            # BUG: a lock object per process.  The unit tests ran the workers as
            # threads of one process, where this is all it takes.
            lk = self.thread_locks.setdefault(job_id, threading.Lock())
            lk.acquire()
            return lk.release
        fd = os.open(self.path(job_id, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return lambda: os.close(fd)

    def write_file(self, path, data):
        tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self.mode != "no-fsync":  # BUG (no-fsync): "rename is atomic, that is enough"
                try:
                    os.fsync(fd)
                except OSError as e:
                    if self.mode != "fsync-error-ignored":
                        raise
                    # BUG: a flaky disk should not fail the job; the page cache has it.
                    log("fsync %s failed (%s), continuing" % (tmp, e))
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        os.close(fd)
        return tmp

    def save(self, job_id, job, keep_backup=True):
        """Replace the job file atomically and durably; keep the old one as .bak."""
        path, bak = self.data_files(job_id)
        try:
            tmp = self.write_file(path, encode(job))
        except OSError as e:
            raise StoreError("io", "write %s: %s" % (path, e), True)
        try:
            if keep_backup and self.mode != "no-bak" and os.path.exists(path):
                if os.path.exists(bak + ".tmp"):
                    os.unlink(bak + ".tmp")
                os.link(path, bak + ".tmp")
                os.replace(bak + ".tmp", bak)
            elif not keep_backup and os.path.exists(bak):
                os.unlink(bak)
            os.replace(tmp, path)
        except OSError as e:
            raise StoreError("io", "rename %s: %s" % (tmp, e), True)
        if self.mode != "no-dir-fsync":  # BUG (no-dir-fsync): the file was fsynced...
            try:
                fsync_dir(self.root)
            except OSError as e:
                if self.mode != "fsync-error-ignored":
                    # Renamed, maybe not durable: it may or may not have happened.
                    raise StoreError("io", "fsync %s: %s" % (self.root, e), False)
                log("fsync %s failed (%s), continuing" % (self.root, e))

    def read_file(self, path, lenient=False):
        with open(path, "rb") as f:
            return decode(f.read(), check=not lenient)

    def get_job(self, job_id):
        """The job, from its file or its last known good copy; never garbage."""
        path, bak = self.data_files(job_id)
        problem = None
        for attempt in range(READ_RETRIES):
            last = attempt == READ_RETRIES - 1
            try:
                # BUG (lenient-retry): checksum mismatches were seen "during deploys";
                # on the last attempt a file that parses is good enough.
                return self.read_file(path, lenient=last and self.mode == "lenient-retry")
            except FileNotFoundError:
                problem = "missing"
                break
            except (OSError, ValueError) as e:
                problem = str(e) or type(e).__name__
                if not last:
                    time.sleep(READ_RETRY_S)
        if self.mode != "no-bak":
            try:
                job = self.read_file(bak)
                log("%s: %s, using %s" % (path, problem, bak))
                if self.mode == "bak-reset-version":
                    # BUG: the recovered job is rebuilt through the constructor
                    # used for new jobs, which (rightly, for those) starts at 1.
                    return self.new_job(job_id, job)
                return job
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as e:
                problem += "; backup: %s" % e
        if problem == "missing":
            raise StoreError("not_found", "no job %s" % job_id, True)
        raise StoreError("corrupt", "job %s unreadable: %s" % (job_id, problem), True)

    # --- operations ---------------------------------------------------------

    def new_job(self, job_id, fields):
        t = now_iso()
        job = {"id": job_id, "version": 1, "created_at": t, "_updated_at": t}
        job.update({k: v for k, v in (fields or {}).items() if k not in PROTECTED})
        return job

    def create_job(self, job_id, fields):
        job = self.new_job(job_id, fields)
        unlock = self.lock(job_id)
        try:
            self.save(job_id, job, keep_backup=False)
        finally:
            unlock()
        return job

    def modify(self, job_id, change):
        """Read, change (returns False to leave the job alone), write: under the lock."""
        unlock = self.lock(job_id)
        try:
            job = self.get_job(job_id)
            if self.mode == "early-unlock":
                # BUG: "the lock protects the read; the write is atomic anyway".
                unlock()
                unlock = lambda: None
            if not change(job):
                return False, job
            job["version"] = int(job.get("version", 0)) + 1
            job["_updated_at"] = now_iso()
            self.save(job_id, job)
            return True, job
        finally:
            unlock()

    def update_fields(self, job_id, patch):
        patch = {k: v for k, v in patch.items() if k not in PROTECTED}
        if self.mode == "two-writes" and "status" in patch and len(patch) > 1:
            return self.finish_in_two_writes(job_id, patch)
        return self.modify(job_id, lambda job: job.update(patch) or True)[1]

    def finish_in_two_writes(self, job_id, patch):
        """BUG (seed 000): the results are saved, then the status that announces
        them; one version, one lock, but two files written one after the other."""
        status = patch.pop("status")
        unlock = self.lock(job_id)
        try:
            job = self.get_job(job_id)
            job.update(patch)
            job["version"] = int(job.get("version", 0)) + 1
            job["_updated_at"] = now_iso()
            self.save(job_id, job)
            job["status"] = status
            self.save(job_id, job)
            return job
        finally:
            unlock()

    def update_with_version(self, job_id, patch, expected):
        patch = {k: v for k, v in patch.items() if k not in PROTECTED}
        if self.mode != "protected-field":
            # BUG (protected-field): forgotten; "reviewers never send it anyway".
            patch.pop("processing_state", None)
        if self.mode == "cas-toctou":
            # BUG: check, then write; the write re-reads but no longer compares.
            job = self.get_job(job_id)
            if job.get("version") != expected:
                return False, job
            return self.modify(job_id, lambda job: job.update(patch) or True)

        def guarded(job):
            if job.get("version") != expected:
                return False
            job.update(patch)
            return True
        return self.modify(job_id, guarded)

    def transition_state(self, job_id, from_states, to_state, claim_states=("PROCESSING",)):
        def guarded(job):
            if self.mode == "guard-claim-only" and to_state not in claim_states:
                # BUG: "only the claim is contested; after it the worker owns the job".
                job["status"] = to_state
                return True
            if job.get("status") not in from_states:
                return False
            job["status"] = to_state
            return True
        return self.modify(job_id, guarded)


class BatchStore:
    """Seed 003: a completion lives in the batch file AND the completions directory."""
    def __init__(self, jobs):
        self.jobs = jobs  # the file helpers (atomic durable writes, locks)
        self.root = os.path.join(os.path.dirname(jobs.root), "batches")
        if not os.path.isdir(self.root):
            os.makedirs(self.root, exist_ok=True)
            fsync_dir(os.path.dirname(self.root))

    def paths(self, batch_id):
        base = self.jobs.path(batch_id, "")  # validates the id
        name = os.path.basename(base)
        return (os.path.join(self.root, name + ".json"),
                os.path.join(self.root, name + ".completions"),
                os.path.join(self.root, name + ".intent"))

    def put(self, path, obj):
        """One atomic, durable JSON file."""
        tmp = self.jobs.write_file(path, json.dumps(obj).encode())
        os.replace(tmp, path)
        fsync_dir(os.path.dirname(path))

    @staticmethod
    def get(path, default=None):
        try:
            with open(path, "rb") as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return default

    def locked(self, batch_id, fn):
        fd = os.open(os.path.join(self.root, os.path.basename(self.jobs.path(batch_id, ".lock"))),
                     os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.roll_forward(batch_id)
            return fn()
        finally:
            os.close(fd)

    def roll_forward(self, batch_id):
        """Finish a completion whose intent was written but not (fully) applied."""
        doc_path, comp_dir, intent_path = self.paths(batch_id)
        intent = self.get(intent_path)
        if intent is None:
            return
        self.apply(batch_id, intent)
        os.unlink(intent_path)
        fsync_dir(self.root)

    def apply(self, batch_id, intent):
        doc_path, comp_dir, _ = self.paths(batch_id)
        self.put(doc_path, intent["batch"])
        if not os.path.isdir(comp_dir):
            os.mkdir(comp_dir)
            fsync_dir(self.root)
        self.put(os.path.join(comp_dir, intent["member"] + ".json"),
                 {"player": intent["member"], "predictions": intent["amount"]})

    def record_completion(self, batch_id, member, amount):
        if not isinstance(member, str) or not member or "/" in member or member.startswith("."):
            raise StoreError("bad_key", "bad member %r" % (member,), True)
        doc_path, _, intent_path = self.paths(batch_id)

        def record():
            doc = self.get(doc_path, {"players": {}, "completed_count": 0, "total_predictions": 0})
            old = doc["players"].get(member)
            doc["players"][member] = amount
            doc["completed_count"] += 0 if old is not None else 1
            doc["total_predictions"] += amount - (old or 0)
            intent = {"member": member, "amount": amount, "batch": doc}
            if self.jobs.mode == "two-step-batch":
                # BUG (seed 003): old structure, then new structure, nothing
                # to tie them together if the process dies in between.
                return self.apply(batch_id, intent)
            self.put(intent_path, intent)
            self.apply(batch_id, intent)
            os.unlink(intent_path)
        self.locked(batch_id, record)

    def read_batch(self, batch_id):
        doc_path, comp_dir, _ = self.paths(batch_id)

        def read():
            doc = self.get(doc_path, {"players": {}, "completed_count": 0, "total_predictions": 0})
            completions = {}
            for name in sorted(os.listdir(comp_dir)) if os.path.isdir(comp_dir) else ():
                if name.endswith(".json"):
                    c = self.get(os.path.join(comp_dir, name))
                    if c is not None:
                        completions[c["player"]] = c["predictions"]
            return {"a": doc["players"], "b": completions,
                    "count": doc["completed_count"], "total": doc["total_predictions"]}
        return self.locked(batch_id, read)


# --- the exec protocol (docs/exec-protocol.md) ---------------------------------

def op_reset(store, req):
    return {"record": store.create_job(req.get("key"), req.get("initial"))}


def op_read(store, req):
    return {"record": store.get_job(req.get("key"))}


def op_update_fields(store, req):
    return {"record": store.update_fields(req.get("key"), req.get("patch") or {})}


def op_update_if_version(store, req):
    won, job = store.update_with_version(req.get("key"), req.get("patch") or {},
                                         req.get("expected_version"))
    return {"won": won, "record": job}


def op_transition(store, req):
    won, job = store.transition_state(req.get("key"), req.get("from") or [], req.get("to"))
    return {"won": won, "record": job}


def op_files(store, req):
    return {"files": store.files(req.get("key"))}


def op_dual_write(store, req):
    store.record_completion(req.get("group"), req.get("member"), req.get("amount"))
    return {}


def op_dual_read(store, req):
    return {"state": store.read_batch(req.get("group"))}


OPS = {
    "files": op_files,
    "dual_write": op_dual_write,
    "dual_read": op_dual_read,
    "reset": op_reset,
    "read": op_read,
    "update_fields": op_update_fields,
    "update_if_version": op_update_if_version,
    "transition": op_transition,
}


def reply_to(store, req):
    reply = {"in_reply_to": req.get("id")}
    handler = OPS.get(req.get("op"))
    try:
        if handler is None:
            raise StoreError("unsupported", "unknown op %r" % (req.get("op"),), True)
        reply.update(handler(store, req))
        reply["ok"] = True
    except StoreError as e:
        reply.update(ok=False, error={"code": e.code, "definite": e.definite, "text": e.text})
    except OSError as e:
        reply.update(ok=False, error={"code": "io", "definite": False, "text": str(e)})
    return reply


def serve(store, rfile, wfile):
    for line in rfile:
        if not line.endswith("\n"):
            break  # the input ended inside a request (the sender died): nothing to answer
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            log("ignoring a request line that is not JSON")
            continue
        if not isinstance(req, dict):
            log("ignoring a request that is not an object")
            continue
        wfile.write(json.dumps(reply_to(store, req), separators=(",", ":")) + "\n")
        wfile.flush()


def adapter_main(doc, modes, make_store):
    """An exec adapter's command line (--mode, --dir), then serve stdin/stdout.
    make_store(data_dir, mode) builds the store the requests go to."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(doc.splitlines()[2:]))
    ap.add_argument("--mode", choices=modes, default="fixed")
    ap.add_argument("--dir", default=os.environ.get("TORN_DATA_DIR"),
                    help="data directory (default: $TORN_DATA_DIR)")
    args = ap.parse_args()
    if not args.dir:
        ap.error("no data directory: set TORN_DATA_DIR or pass --dir")
    serve(make_store(args.dir, args.mode), sys.stdin, sys.stdout)


def main():
    adapter_main(__doc__, MODES, lambda d, mode: JobStore(os.path.join(d, "jobs"), mode))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A small correct exec adapter (one JSON file per record: flock, temp file,
fsync, rename, directory fsync) that says on stderr when it is shown a cut
request: a last line without its newline, then EOF.  torn must never show it
one (a crash kills the store, it does not hand it half a request), also when
it kills a writer in the middle of a 256 KiB crash-midwrite patch.  At a
clean EOF it appends "clean-exit" to the file named by its argument: a normal
stop still closes its stdin."""
import datetime, fcntl, json, os, sys, time

D = os.environ["TORN_DATA_DIR"]


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def load(key):
    try:
        with open(os.path.join(D, key + ".json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def store(rec):
    path = os.path.join(D, rec["id"] + ".json")
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(rec, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(D, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return rec


def do(q):
    key = q.get("key", "")
    if q["op"] == "hello":
        return {}
    if q["op"] == "read":
        rec = load(key)
        if rec is None:
            raise LookupError(key)
        return {"record": rec}
    lock = open(os.path.join(D, "store.lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if q["op"] == "reset":
            t = now()
            rec = dict(q.get("initial") or {})
            rec.update(id=key, version=1, created_at=t, _updated_at=t)
            return {"record": store(rec)}
        if q["op"] == "update_fields":
            rec = load(key)
            if rec is None:
                raise LookupError(key)
            rec.update({k: v for k, v in q["patch"].items()
                        if k not in ("id", "created_at", "version", "_updated_at")})
            rec["version"] += 1
            rec["_updated_at"] = now()
            time.sleep(0.005)  # a store's work: a kill often falls in it
            return {"record": store(rec)}
    finally:
        lock.close()
    raise NotImplementedError(q["op"])


for line in sys.stdin:
    if not line.endswith("\n"):
        sys.stderr.write("CUT-REQUEST: %d bytes, then EOF\n" % len(line))
        sys.exit(3)
    q = json.loads(line)
    try:
        rep = {"in_reply_to": q["id"], "ok": True, **do(q)}
    except LookupError:
        rep = {"in_reply_to": q["id"], "ok": False,
               "error": {"code": "not_found", "definite": True, "text": "no record"}}
    except NotImplementedError:
        rep = {"in_reply_to": q["id"], "ok": False,
               "error": {"code": "unsupported", "definite": True, "text": q["op"]}}
    sys.stdout.write(json.dumps(rep) + "\n")
    sys.stdout.flush()
with open(sys.argv[1], "a") as f:
    f.write("clean-exit\n")

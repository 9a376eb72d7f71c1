#!/usr/bin/env python3
"""A store that keeps EVERY record in one JSON file, as a torn exec adapter.

    torn run --target exec:'python3 examples/adapters/onefile.py --mode fixed'

Many small stores look like this (one db.json, an SQLite file): a damaged
file hits every record at once, so torn must put back what corrupt-read
damaged before the next case and the next scenario (it does).

--mode fixed        flock on db.lock; the whole file rewritten as a temp,
                    fsync, the previous file kept as db.json.bak (itself
                    written as a temp and renamed), os.replace, directory
                    fsync; the file carries a SHA-256 of its records and a
                    read falls back to db.json.bak when db.json is missing or
                    fails its checksum; errors are reported, never swallowed
--mode no-checksum  the same without the checksum and the .bak: a damaged
                    file is "corrupt" for every record, and a flipped byte
                    inside a still-valid JSON file is served as the record
                    (corrupt-read: no-wrong-record, recover-last-known-good)

Data: $TORN_DATA_DIR/db.json (+ db.json.bak, db.lock).  Standard library only.
"""
import argparse
import datetime
import fcntl
import hashlib
import json
import os
import sys

D = os.environ.get("TORN_DATA_DIR", ".")
DB = os.path.join(D, "db.json")
BAK = DB + ".bak"
LOCK = os.path.join(D, "db.lock")
EMPTY = {"records": {}, "groups": {}}


class Corrupt(Exception):
    pass


class Missing(Exception):
    pass


def now():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def digest(body):
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def parse(path, checked):
    """The database in path; Missing when absent, Corrupt when unreadable."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise Missing(path)
    try:
        doc = json.loads(raw)
        body = doc["body"]
    except (ValueError, KeyError, TypeError):
        raise Corrupt("%s is not a database" % os.path.basename(path))
    if checked and doc.get("sha256") != digest(body):
        raise Corrupt("%s fails its checksum" % os.path.basename(path))
    return body


def load(mode):
    """The last intact database (db.json, then db.json.bak in fixed mode)."""
    checked = mode == "fixed"
    try:
        return parse(DB, checked)
    except (Missing, Corrupt) as first:
        if not checked:
            if isinstance(first, Missing):
                return json.loads(json.dumps(EMPTY))
            raise
        try:
            return parse(BAK, checked)
        except Missing:
            if isinstance(first, Missing):
                return json.loads(json.dumps(EMPTY))
            raise first
        except Corrupt:
            raise first


def write_durably(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fsync_dir():
    fd = os.open(D, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(mode, body):
    doc = {"body": body}
    if mode == "fixed":
        doc["sha256"] = digest(body)
        try:
            with open(DB, "rb") as f:
                old = f.read()
            parse(DB, True)  # keep only an intact file as last-known-good
            write_durably(BAK, old)
        except (Missing, Corrupt, FileNotFoundError):
            pass
    write_durably(DB, json.dumps(doc).encode())
    fsync_dir()


class Locked:
    def __enter__(self):
        self.fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        os.close(self.fd)


def apply(mode, req):
    op = req["op"]
    if op == "hello":
        return {}
    if op == "files":
        if mode == "fixed":
            return {"files": {"main": "db.json", "backups": ["db.json.bak"],
                              "temps": ["db.json.tmp", "db.json.bak.tmp"], "keep": ["db.lock"]}}
        return {"files": {"main": "db.json", "temps": ["db.json.tmp"], "keep": ["db.lock"]}}
    if op not in ("read", "reset", "update_fields", "update_if_version", "transition",
                  "dual_write", "dual_read"):
        raise NotImplementedError(op)
    with Locked():
        body = load(mode)
        recs = body["records"]
        if op == "dual_read":
            return {"state": body["groups"].get(req["group"], {"a": {}, "b": {}, "count": 0, "total": 0})}
        if op == "dual_write":
            g = body["groups"].setdefault(req["group"], {"a": {}, "b": {}, "count": 0, "total": 0})
            if req["member"] not in g["b"]:
                g["count"] += 1
                g["total"] += req["amount"]
                g["a"][req["member"]] = req["amount"]
                g["b"][req["member"]] = req["amount"]
                save(mode, body)
            return {}
        key = req["key"]
        if op == "reset":
            t = now()
            rec = dict(req.get("initial") or {})
            rec.update({"id": key, "version": 1, "created_at": t, "_updated_at": t})
            recs[key] = rec
            save(mode, body)
            return {"record": rec}
        rec = recs.get(key)
        if rec is None:
            raise KeyError(key)
        if op == "read":
            return {"record": rec}
        if op == "update_if_version" and rec["version"] != req["expected_version"]:
            return {"won": False, "record": rec}
        if op == "transition":
            if rec.get("status") not in req["from"]:
                return {"won": False, "record": rec}
            patch = {"status": req["to"]}
        else:
            patch = {k: v for k, v in req["patch"].items()
                     if k not in ("id", "created_at", "version", "_updated_at")
                     and not (op == "update_if_version" and k == "processing_state")}
        rec = dict(rec, **patch)
        rec["version"] += 1
        rec["_updated_at"] = now()
        recs[key] = rec
        save(mode, body)
        return {"record": rec} if op == "update_fields" else {"won": True, "record": rec}


def error(rid, code, definite, text):
    return {"in_reply_to": rid, "ok": False,
            "error": {"code": code, "definite": definite, "text": text}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["fixed", "no-checksum"], default="fixed")
    mode = ap.parse_args().mode
    for line in sys.stdin:
        req = json.loads(line)
        rid = req.get("id")
        try:
            out = {"in_reply_to": rid, "ok": True}
            out.update(apply(mode, req))
        except KeyError as e:
            out = error(rid, "not_found", True, "no record %s" % e)
        except Corrupt as e:
            out = error(rid, "corrupt", True, str(e))
        except NotImplementedError as e:
            out = error(rid, "unsupported", True, "op %s" % e)
        except OSError as e:
            # the rename or the directory fsync may have failed after the
            # new file was in place: the write may have happened
            out = error(rid, "io", False, str(e))
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A one-file-per-record exec adapter whose files are binary: a 128 KiB
header of NUL bytes, then the record as JSON, no checksum, no backup.
corrupt-read's bitflip must reach the "payload" string behind the NULs (the
read then returns a record whose payload no longer matches its digest:
no-wrong-record), not flip a header byte that no read looks at."""
import datetime, json, os, sys

D = os.environ["TORN_DATA_DIR"]
HDR = b"\0" * 131072


def path(key):
    return os.path.join(D, key + ".bin")


def load(key):
    with open(path(key), "rb") as f:
        data = f.read()
    return json.loads(data[len(HDR):])


def store(rec):
    tmp = path(rec["id"]) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(HDR + json.dumps(rec).encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path(rec["id"]))
    return {"record": rec}


def do(q):
    op, key = q["op"], q.get("key", "")
    if op == "hello":
        return {}
    if op == "files":
        return {"files": {"main": key + ".bin", "temps": [key + ".bin.tmp"]}}
    if op == "reset":
        t = datetime.datetime.now(datetime.timezone.utc).isoformat()
        return store(dict(q.get("initial") or {}, id=key, version=1, created_at=t, _updated_at=t))
    rec = load(key)
    if op == "read":
        return {"record": rec}
    if op == "update_fields":
        rec.update({k: v for k, v in q["patch"].items()
                    if k not in ("id", "created_at", "version", "_updated_at")})
        rec["version"] += 1
        return store(rec)
    raise NotImplementedError


for line in sys.stdin:
    q = json.loads(line)
    try:
        rep = {"in_reply_to": q["id"], "ok": True, **do(q)}
    except FileNotFoundError:
        rep = {"in_reply_to": q["id"], "ok": False,
               "error": {"code": "not_found", "definite": True, "text": "no record"}}
    except ValueError:
        rep = {"in_reply_to": q["id"], "ok": False,
               "error": {"code": "corrupt", "definite": True, "text": "not JSON"}}
    except NotImplementedError:
        rep = {"in_reply_to": q["id"], "ok": False,
               "error": {"code": "unsupported", "definite": True, "text": q["op"]}}
    sys.stdout.write(json.dumps(rep) + "\n")
    sys.stdout.flush()

#!/usr/bin/env python3
"""A small record API over SQLite, shaped unlike torn's reference service.

    python3 examples/http/items.py --port 8099 --db /tmp/items.db [--mode MODE]
    torn run --target http://127.0.0.1:8099 --target-spec examples/http/items.json

Routes (threaded server, one SQLite connection per thread, WAL,
synchronous=FULL, every read-modify-write in BEGIN IMMEDIATE):
  PUT    /items/{id}            body: initial fields -> the record, version 1
  PATCH  /items/{id}            body: a patch; with If-Match: VERSION it is a
                                compare-and-set: 412 when stale (as most
                                APIs answer a failed precondition)
  POST   /items/{id}/state      {"from": [...], "to": S}: 409 when refused
  GET    /items/{id}            the record, or 404
  DELETE /items/{id}

The two "not applied" answers differ (412 and 409): items.json gives
update_if_version and transition each its own stale_status.

--mode fixed       (default) a request body shorter than its Content-Length
                   (the client died while sending it) is refused
--mode short-body  such a body is read as the empty patch {}: a client killed
                   mid-request bumps the version with nothing changed, a
                   version no update produced (torn: crash-midwrite,
                   no-phantom-write)
"""
import argparse, json, sqlite3, sys, threading, datetime
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

ap = argparse.ArgumentParser(description="a small record API over SQLite (examples/http)")
ap.add_argument("--port", type=int, default=8099, help="0: any free port (printed)")
ap.add_argument("--db", default="items.db")
ap.add_argument("--mode", choices=["fixed", "short-body"], default="fixed")
ARGS = ap.parse_args()
DB = ARGS.db
init = sqlite3.connect(DB)
init.execute("PRAGMA journal_mode=WAL")
init.execute("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
init.commit(); init.close()
local = threading.local()


def db():
    if not hasattr(local, "c"):
        local.c = sqlite3.connect(DB, timeout=30, isolation_level=None)
        local.c.execute("PRAGMA synchronous=FULL")
    return local.c


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        if len(data) != n and ARGS.mode == "fixed":
            raise ConnectionError("short body")
        return json.loads(data or b"{}")

    def parts(self):
        p = self.path.strip("/").split("/")
        return p

    def do_GET(self):
        p = self.parts()
        if len(p) == 2 and p[0] == "items":
            r = db().execute("SELECT doc FROM items WHERE id=?", (p[1],)).fetchone()
            return self.send(200, json.loads(r[0])) if r else self.send(404, {"error": "not found"})
        self.send(404, {"error": "no route"})

    def do_DELETE(self):
        p = self.parts()
        if len(p) != 2 or p[0] != "items":
            return self.send(404, {"error": "no route"})
        db().execute("DELETE FROM items WHERE id=?", (p[1],))
        self.send(200, {})

    def do_PUT(self):
        p = self.parts()
        b = self.body()
        t = now()
        doc = dict(b)
        doc.update({"id": p[1], "version": 1, "created_at": t, "_updated_at": t})
        db().execute("INSERT OR REPLACE INTO items VALUES (?,?)", (p[1], json.dumps(doc)))
        self.send(200, doc)

    def do_PATCH(self):
        p = self.parts()
        b = self.body()
        c = db()
        c.execute("BEGIN IMMEDIATE")
        try:
            r = c.execute("SELECT doc FROM items WHERE id=?", (p[1],)).fetchone()
            if not r:
                c.execute("ROLLBACK")
                return self.send(404, {"error": "not found"})
            doc = json.loads(r[0])
            im = self.headers.get("If-Match")
            if im is not None and str(doc["version"]) != im.strip('"'):
                c.execute("ROLLBACK")
                return self.send(412, {"error": "stale", "current": doc})
            for k, v in b.items():
                if k in ("id", "version", "created_at", "_updated_at"):
                    continue
                if im is not None and k == "processing_state":
                    continue
                doc[k] = v
            doc["version"] += 1
            doc["_updated_at"] = now()
            c.execute("UPDATE items SET doc=? WHERE id=?", (json.dumps(doc), p[1]))
            c.execute("COMMIT")
        except Exception:
            c.execute("ROLLBACK")
            raise
        self.send(200, doc)

    def do_POST(self):
        p = self.parts()
        if len(p) != 3 or p[2] != "state":
            return self.send(404, {"error": "no route"})
        b = self.body()
        c = db()
        c.execute("BEGIN IMMEDIATE")
        r = c.execute("SELECT doc FROM items WHERE id=?", (p[1],)).fetchone()
        if not r:
            c.execute("ROLLBACK")
            return self.send(404, {"error": "not found"})
        doc = json.loads(r[0])
        if doc.get("status") not in b["from"]:
            c.execute("ROLLBACK")
            return self.send(409, {"error": "refused", "current": doc})
        doc["status"] = b["to"]
        doc["version"] += 1
        doc["_updated_at"] = now()
        c.execute("UPDATE items SET doc=? WHERE id=?", (json.dumps(doc), p[1]))
        c.execute("COMMIT")
        self.send(200, doc)


ThreadingHTTPServer.daemon_threads = True
s = ThreadingHTTPServer(("127.0.0.1", ARGS.port), H)
print("listening on 127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()

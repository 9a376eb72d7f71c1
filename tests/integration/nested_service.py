#!/usr/bin/env python3
"""An HTTP service shaped unlike torn's own examples: each answer is
{"data": RECORD, "meta": {"version": N, "updated_at": ...}} (the version
beside the record, not in it), ETags are quoted strings ("7"), a
compare-and-set is PATCH with If-Match: "7" (412 when stale), a refused
transition is 409, a create is 201.  In memory, one lock.
Usage: nested_service.py PORT [--ignore-if-match] [--empty-writes]
(--ignore-if-match, the broken twin, applies every conditional PATCH:
optimistic-lock must FAIL; --empty-writes answers writes 201/204 with no
body, which torn cannot judge: its error must say so)."""
import json, sys, threading, datetime
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

LOCK = threading.Lock()
DB = {}
RESERVED = ("id", "created_at", "version", "_updated_at")

def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, body=None, etag=None):
        if "--empty-writes" in sys.argv and self.command != "GET" and code < 300:
            code, body = (201 if self.command == "PUT" else 204), None
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        if etag is not None: self.send_header("ETag", '"%d"' % etag)
        if body is not None: self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        if len(data) != n:  # the client died mid-request: apply nothing
            raise ConnectionError("short body")
        return json.loads(data)
    def parts(self):
        return [p for p in self.path.split("?")[0].split("/") if p]
    def view(self, k):
        r = DB[k]; d = dict(r["data"]); d["id"] = k
        return {"data": d, "meta": {"version": r["version"], "updated_at": r["updated_at"], "created_at": r["created_at"]}}
    def do_GET(self):
        p = self.parts()
        if len(p) == 2 and p[0] == "things":
            with LOCK:
                if p[1] not in DB: return self.send(404, {"error": "no such thing"})
                v = self.view(p[1]); return self.send(200, v, v["meta"]["version"])
        self.send(404, {"error": "no route"})
    def do_PUT(self):
        p = self.parts(); b = self.body()
        with LOCK:
            t = now()
            DB[p[1]] = {"data": {k: v for k, v in b.items() if k not in RESERVED}, "version": 1, "updated_at": t, "created_at": t}; out = self.view(p[1])
        self.send(201, out, 1)
    def do_PATCH(self):
        p = self.parts(); b = self.body(); im = self.headers.get("If-Match")
        with LOCK:
            r = DB.get(p[1])
            if r is None: return self.send(404, {"error": "no such thing"})
            if im is not None and "--ignore-if-match" not in sys.argv:
                if im.strip() != '"%d"' % r["version"]:
                    return self.send(412, {"error": "stale"})
                b.pop("processing_state", None)
            r["data"].update({k: v for k, v in b.items() if k not in RESERVED})
            r["version"] += 1; r["updated_at"] = now(); v = r["version"]; out = self.view(p[1])
        self.send(200, out, v)
    def do_POST(self):
        p = self.parts(); b = self.body()
        with LOCK:
            r = DB.get(p[1])
            if r is None: return self.send(404, {"error": "no such thing"})
            if r["data"].get("status") not in b["from"]: return self.send(409, {"error": "refused"})
            r["data"]["status"] = b["to"]; r["version"] += 1; r["updated_at"] = now(); v = r["version"]; out = self.view(p[1])
        self.send(200, out, v)
    def do_DELETE(self):
        with LOCK: DB.pop(self.parts()[1], None)
        self.send(204)

class S(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, *a):  # a client torn killed mid-request
        pass

S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()

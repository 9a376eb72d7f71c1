#!/usr/bin/env python3
"""research_http: a small research-job service (seed 000) over HTTP, with SSE events.

    python3 examples/gallery/research_http.py --port 8080 --data-dir /tmp/research --mode fixed
    torn run --target http://127.0.0.1:8080 --target-spec examples/gallery/research_http.json

A client starts a research job, follows its progress as Server-Sent Events and
reads the result once the job completes.  The jobs are kept as JSON files by
the same store module the team's workers use (jobfiles.py, next to this file).

Routes (examples/gallery/research_http.json describes them for torn):
  POST  /research                    {"query": ...} -> 202 {"research_id", "status": "queued"}
  GET   /research/{id}               the job record, 404 when unknown
  GET   /research/{id}/events        SSE: RESEARCH_PROGRESS..., RESEARCH_COMPLETED|RESEARCH_FAILED
  PUT   /research/{id}               create or replace a record (admin/testing)
  PATCH /research/{id}               merge fields (one write); with If-Match: only if the
                                     version matches, else 409 {"error_code": "STALE_WRITE"}
  POST  /research/{id}/transition    {"from": [...], "to": ...}: 409 when the state is not in from
  POST  /batches/{id}/completions    {"player", "predictions"}: seed 003's dual write
  GET   /batches/{id}                {"players", "completions", "completed_count", "total_predictions"}
  GET   /health

A job runs in a thread: a few research steps, each announced as a progress
event; a progress tracker persists {status: processing, progress} in the
background; then the results and status "completed" are stored in one write
and only then is RESEARCH_COMPLETED sent.  Queries the engine cannot answer
(every --fail-every-th job) end as {status: failed, error} and RESEARCH_FAILED.

--mode fixed is correct.  Service bugs (seed 000):
  emit-first          the completion event is sent, then the result is stored
  tracker-race        the tracker is told to stop but not waited for; its last
                      (debounced) flush can land after completion
  stale-cache         a read cache kept fresh by the progress writes, not by
                      the final write
  failed-two-writes   the failure path stores the status, sends the event, then
                      stores the error
Store bugs (the jobfiles.py mode of the same name, see its --help):
  early-unlock, cas-toctou, protected-field, guard-claim-only, two-writes,
  no-fsync, no-dir-fsync, fsync-error-ignored, no-bak, bak-reset-version,
  lenient-retry, two-step-batch
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jobfiles import BatchStore, JobStore, StoreError  # noqa: E402

SERVICE_MODES = ("emit-first", "tracker-race", "stale-cache", "failed-two-writes")
STORE_MODES = ("early-unlock", "cas-toctou", "protected-field", "guard-claim-only", "two-writes",
               "no-fsync", "no-dir-fsync", "fsync-error-ignored", "no-bak",
               "bak-reset-version", "lenient-retry", "two-step-batch")
MODES = ("fixed",) + SERVICE_MODES + STORE_MODES
TERMINAL = ("RESEARCH_COMPLETED", "RESEARCH_FAILED")


class Events:
    """Per-job event log; subscribers get every event from the first one."""
    def __init__(self):
        self.cond = threading.Condition()
        self.log = {}

    def publish(self, job_id, event):
        with self.cond:
            self.log.setdefault(job_id, []).append(event)
            self.cond.notify_all()

    def wait(self, job_id, seen, timeout):
        with self.cond:
            self.cond.wait_for(lambda: len(self.log.get(job_id, ())) > seen, timeout)
            return list(self.log.get(job_id, ())[seen:])


class ReadCache:
    """stale-cache mode: job records cached for ttl seconds to spare the disk."""
    def __init__(self, ttl):
        self.ttl, self.lock, self.items = ttl, threading.Lock(), {}

    def get(self, job_id):
        with self.lock:
            hit = self.items.get(job_id)
            return hit[1] if hit and time.monotonic() - hit[0] < self.ttl else None

    def put(self, job_id, job):
        """Keep the newest version (writes of several threads finish in any order)."""
        with self.lock:
            old = self.items.get(job_id)
            if (old is None or old[1].get("created_at") != job.get("created_at")
                    or old[1].get("version", 0) <= job.get("version", 0)):
                self.items[job_id] = (time.monotonic(), job)


class Research:
    """The application: jobs, their worker threads, their events."""
    def __init__(self, store, mode, steps, step_ms, tracker_ms, fail_every):
        self.store, self.mode = store, mode
        self.batches = BatchStore(store)
        self.events = Events()
        self.cache = ReadCache(0.5) if mode == "stale-cache" else None
        self.steps, self.step_s, self.tracker_s = steps, step_ms / 1000, tracker_ms / 1000
        self.fail_every = fail_every
        self.counter_lock = threading.Lock()
        self.started = 0

    def saved(self, job):
        """Every write path calls this with the record it stored."""
        if self.cache:
            self.cache.put(job["id"], job)
        return job

    def get(self, job_id):
        if self.cache:
            hit = self.cache.get(job_id)
            if hit is not None:
                return hit
        job = self.store.get_job(job_id)
        if self.cache:
            self.cache.put(job_id, job)
        return job

    def submit(self, query):
        with self.counter_lock:
            self.started += 1
            n = self.started
        job_id = "r%d-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000000, n)
        self.saved(self.store.create_job(job_id, {"status": "queued", "query": query, "progress": 0}))
        will_fail = self.fail_every > 0 and n % self.fail_every == 0
        threading.Thread(target=self.run_job, args=(job_id, query, will_fail), daemon=True).start()
        return job_id

    def run_job(self, job_id, query, will_fail):
        tracker = Tracker(self, job_id)
        tracker.start()
        for step in range(1, self.steps + 1):
            time.sleep(self.step_s)
            tracker.progress = step * 100 // (self.steps + 1)
            self.events.publish(job_id, {"type": "RESEARCH_PROGRESS", "research_id": job_id,
                                         "progress": tracker.progress})
        tracker.stop.set()
        if self.mode != "tracker-race":
            tracker.join()  # BUG (tracker-race): not waited for
        try:
            if will_fail:
                self.fail(job_id, "search backend timed out for %r" % query)
            else:
                self.complete(job_id, {"summary": "findings for %r" % query,
                                       "sources": ["https://example.org/%d" % i for i in range(3)]})
        except (StoreError, OSError) as e:
            # Nothing persisted: no event either; the job stays as it was.
            print("research: job %s: %s" % (job_id, e), file=sys.stderr, flush=True)

    def complete(self, job_id, results):
        done = {"type": "RESEARCH_COMPLETED", "research_id": job_id}
        if self.mode == "emit-first":
            # BUG: "the UI should not wait for the disk".
            self.events.publish(job_id, done)
        job = self.store.update_fields(job_id, {"results": results, "status": "completed",
                                                "progress": 100})
        if self.mode != "stale-cache":
            self.saved(job)  # BUG (stale-cache): the final write skips the cache
        if self.mode != "emit-first":
            self.events.publish(job_id, done)

    def fail(self, job_id, error):
        failed = {"type": "RESEARCH_FAILED", "research_id": job_id, "error": error}
        if self.mode == "failed-two-writes":
            # BUG: the status first (the UI shows "failed" sooner), the error after.
            self.saved(self.store.update_fields(job_id, {"status": "failed"}))
            self.events.publish(job_id, failed)
            self.saved(self.store.update_fields(job_id, {"error": error}))
            return
        self.saved(self.store.update_fields(job_id, {"status": "failed", "error": error}))
        self.events.publish(job_id, failed)


class Tracker(threading.Thread):
    """Persists the job's progress every tracker_ms (debounced), until stopped."""
    def __init__(self, app, job_id):
        super().__init__(daemon=True)
        self.app, self.job_id = app, job_id
        self.stop = threading.Event()
        self.progress = 0

    def run(self):
        while not self.stop.is_set():
            pending = {"status": "processing", "progress": self.progress}
            time.sleep(self.app.tracker_s)
            if self.stop.is_set() and self.app.mode != "tracker-race":
                break  # BUG (tracker-race): the flush below goes ahead anyway
            self.app.saved(self.app.store.update_fields(self.job_id, pending))


ROUTES = []


def route(method, pattern):
    def register(fn):
        ROUTES.append((method, re.compile("^" + pattern + "$"), fn))
        return fn
    return register


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app = None  # set in main()

    def log_message(self, fmt, *args):  # quiet: torn sends thousands of requests
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self, required=True):
        """The request's JSON object ({} for an absent optional one).  A body
        cut short (the client went away) is never taken for an empty one:
        nothing is applied."""
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n > 0 else b""
        if len(data) < n:
            raise ConnectionAbortedError("body cut off at %d of %d bytes" % (len(data), n))
        if not data:
            if required:
                raise ValueError("a JSON object body is required")
            return {}
        obj = json.loads(data)
        if not isinstance(obj, dict):
            raise ValueError("the body is not a JSON object")
        return obj

    def dispatch(self, method):
        path = self.path.split("?", 1)[0]
        for m, rx, fn in ROUTES:
            match = rx.match(path)
            if m == method and match:
                break
        else:
            return self.send_json(404, {"error": "no route %s %s" % (method, path)})
        try:
            return fn(self, *match.groups())
        except ConnectionAbortedError:
            self.close_connection = True  # nobody to answer
            return None
        except ValueError as e:
            return self.send_json(400, {"error": str(e)})
        except StoreError as e:
            status = {"not_found": 404, "bad_key": 400}.get(e.code, 500)
            return self.send_json(status, {"error": e.text, "code": e.code})
        except OSError as e:
            return self.send_json(500, {"error": str(e)})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")


@route("GET", "/health")
def health(h):
    h.send_json(200, {"ok": True})


@route("POST", "/research")
def create(h):
    query = h.body(required=False).get("query", "")
    h.send_json(202, {"research_id": h.app.submit(str(query)), "status": "queued"})


@route("GET", "/research/([^/]+)")
def read(h, job_id):
    h.send_json(200, h.app.get(job_id))


@route("PUT", "/research/([^/]+)")
def reset(h, job_id):
    h.send_json(200, h.app.saved(h.app.store.create_job(job_id, h.body(required=False))))


@route("PATCH", "/research/([^/]+)")
def patch(h, job_id):
    fields = h.body()
    expected = h.headers.get("If-Match")
    if expected is None:
        return h.send_json(200, h.app.saved(h.app.store.update_fields(job_id, fields)))
    won, job = h.app.store.update_with_version(job_id, fields, int(expected.strip('"')))
    if not won:
        return h.send_json(409, {"error_code": "STALE_WRITE",
                                 "current_version": job.get("version")})
    h.send_json(200, h.app.saved(job))


@route("POST", "/research/([^/]+)/transition")
def transition(h, job_id):
    b = h.body()
    won, job = h.app.store.transition_state(job_id, list(b.get("from") or []), b.get("to"))
    if not won:
        return h.send_json(409, {"error_code": "INVALID_TRANSITION", "status": job.get("status")})
    h.send_json(200, h.app.saved(job))


@route("GET", "/research/([^/]+)/events")
def events(h, job_id):
    h.app.store.path(job_id)  # validates the id
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream")
    h.send_header("Cache-Control", "no-cache")
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
    seen, deadline = 0, time.monotonic() + 60
    while time.monotonic() < deadline:
        for ev in h.app.events.wait(job_id, seen, 1.0):
            seen += 1
            h.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n")
            h.wfile.flush()
            if ev["type"] in TERMINAL:
                return


@route("POST", "/batches/([^/]+)/completions")
def batch_complete(h, batch_id):
    b = h.body()
    h.app.batches.record_completion(batch_id, b.get("player"), b.get("predictions"))
    h.send_json(200, {"ok": True})


@route("GET", "/batches/([^/]+)")
def batch_read(h, batch_id):
    s = h.app.batches.read_batch(batch_id)
    h.send_json(200, {"players": s["a"], "completions": s["b"],
                      "completed_count": s["count"], "total_predictions": s["total"]})


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--mode", choices=MODES, default="fixed")
    ap.add_argument("--port", type=int, default=8080, help="0: any free port (printed)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--steps", type=int, default=3, help="progress events per job")
    ap.add_argument("--step-ms", type=int, default=15)
    ap.add_argument("--tracker-ms", type=int, default=10)
    ap.add_argument("--fail-every", type=int, default=4, help="every Nth job fails (0: none)")
    args = ap.parse_args()
    store_mode = args.mode if args.mode in STORE_MODES else "fixed"
    store = JobStore(os.path.join(args.data_dir, "jobs"), store_mode)
    Handler.app = Research(store, args.mode, args.steps, args.step_ms, args.tracker_ms,
                           args.fail_every)
    srv = Server((args.host, args.port), Handler)
    print("listening on %s:%d" % srv.server_address[:2], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

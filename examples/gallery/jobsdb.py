#!/usr/bin/env python3
"""jobsdb: an SQLite job and batch store (seeds 002 and 003) over torn's exec protocol.

    torn run --target exec:'/usr/bin/python3 examples/gallery/jobsdb.py --mode fixed'

The next step up from a directory of JSON files: one SQLite database
($TORN_DATA_DIR/jobs.db) shared by every worker process.  A job is a row
(id, version, status, processing_state, the rest as a JSON document); a batch
(seed 003) is a row of counters plus two structures that must agree: the
batch_players table (the old structure) and the completions table (the new
one being migrated to).

--mode fixed is correct: WAL with synchronous=FULL, and the directory fsynced once
the database and its WAL exist (SQLite never does that for the database file:
without it a power cut soon after creation loses it); every read-modify-write is
one BEGIN IMMEDIATE transaction; a compare-and-set is one guarded
UPDATE ... WHERE version = ? (seed 002) whose row count decides; a transition
is UPDATE ... WHERE status IN (...); a completion writes both structures and
the counters in one transaction; an error on COMMIT is reported.

Bug modes, each a mistake that passes a casual test:
  default-isolation     Python's sqlite3 defaults: the SELECT runs outside the
                        transaction that the UPDATE opens (read-modify-write race)
  select-then-update    compare-and-set: SELECT the version, compare, UPDATE by id
  protected-field       compare-and-set lets processing_state through the patch
  transition-select     transition: SELECT the status, check, UPDATE by id
  two-commits           results, then status, in two transactions (seed 000)
  two-commit-batch      old structure committed, then the new one (seed 003)
  counter-in-python     batch counters read, incremented in Python, written back
  synchronous-off       PRAGMA synchronous=OFF: "WAL makes it safe anyway"
  commit-error-ignored  an error on COMMIT is logged, the write acknowledged
"""
import json
import os
import sqlite3
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jobfiles import PROTECTED, StoreError, adapter_main, fsync_dir, log, now_iso  # noqa: E402

MODES = ("fixed", "default-isolation", "select-then-update", "protected-field",
         "transition-select", "two-commits", "two-commit-batch", "counter-in-python",
         "synchronous-off", "commit-error-ignored")

JOURNAL = "WAL"
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, version INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, status TEXT,
    processing_state TEXT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY,
    completed_count INTEGER NOT NULL DEFAULT 0, total_predictions INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS batch_players (batch_id TEXT, player TEXT, predictions INTEGER,
    PRIMARY KEY (batch_id, player));
CREATE TABLE IF NOT EXISTS completions (batch_id TEXT, player TEXT, predictions INTEGER,
    completed_at TEXT, PRIMARY KEY (batch_id, player));
"""


def row_to_job(row):
    job_id, version, created, updated, status, pstate, doc = row
    job = json.loads(doc)
    job.update(id=job_id, version=version, created_at=created, _updated_at=updated)
    if status is not None:
        job["status"] = status
    if pstate is not None:
        job["processing_state"] = pstate
    return job


def job_to_row(job):
    doc = {k: v for k, v in job.items()
           if k not in PROTECTED and k not in ("status", "processing_state")}
    return (job["id"], job["version"], job["created_at"], job["_updated_at"],
            job.get("status"), job.get("processing_state"), json.dumps(doc))


class JobsDB:
    def __init__(self, path, mode):
        self.path, self.mode, self.conn = path, mode, None

    @property
    def db(self):
        """The connection, opened on first use and again after an error."""
        if self.conn is None:
            fresh = not (os.path.exists(self.path) and os.path.exists(self.path + "-wal"))
            if self.mode == "default-isolation":
                # BUG: the module's default isolation_level: a transaction begins
                # only before the first INSERT/UPDATE, after our SELECT.
                conn = sqlite3.connect(self.path, timeout=10)
            else:
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            try:
                conn.execute("PRAGMA page_size=65536")  # a job in one page (new databases)
                conn.execute("PRAGMA journal_mode=%s" % JOURNAL)
                conn.execute("PRAGMA synchronous=%s"
                             % ("OFF" if self.mode == "synchronous-off" else "FULL"))
                conn.executescript(SCHEMA)
                if fresh:
                    # SQLite never fsyncs the directory for the database file
                    # it creates: make its name (and the new WAL's) durable.
                    fsync_dir(os.path.dirname(self.path))
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        return self.conn

    def drop(self):
        """Forget the connection after an error; the next operation reopens."""
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
            self.conn = None

    # --- transactions -------------------------------------------------------

    def begin(self):
        if self.mode != "default-isolation":
            self.db.execute("BEGIN IMMEDIATE")

    def commit(self):
        try:
            self.db.commit() if self.mode == "default-isolation" else self.db.execute("COMMIT")
        except sqlite3.Error as e:
            if self.mode == "commit-error-ignored":
                # BUG: "the WAL will retry it"; the write is acknowledged anyway.
                log("commit failed (%s), continuing" % e)
                return
            self.rollback()
            raise StoreError("io", "commit: %s" % e, False)

    def rollback(self):
        try:
            self.db.rollback() if self.mode == "default-isolation" else self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def tx(self, fn):
        """fn() inside one write transaction; errors before COMMIT roll it back."""
        try:
            self.begin()
            result = fn()
        except sqlite3.Error as e:
            self.rollback()
            raise StoreError("io", str(e), True)
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return result

    # --- jobs -----------------------------------------------------------------

    def fetch(self, job_id):
        row = self.db.execute("SELECT id, version, created_at, updated_at, status, "
                              "processing_state, doc FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise StoreError("not_found", "no job %s" % job_id, True)
        return row_to_job(row)

    def store(self, job):
        self.db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)", job_to_row(job))

    def get_job(self, job_id):
        try:
            return self.fetch(job_id)
        except sqlite3.Error as e:
            raise StoreError("io", str(e), True)

    def create_job(self, job_id, fields):
        t = now_iso()
        job = {"id": job_id, "version": 1, "created_at": t, "_updated_at": t}
        job.update({k: v for k, v in (fields or {}).items() if k not in PROTECTED})
        self.tx(lambda: self.store(job))
        return job

    def merged(self, job, patch):
        job.update(patch)
        job["version"] += 1
        job["_updated_at"] = now_iso()
        self.store(job)
        return job

    def update_fields(self, job_id, patch):
        patch = {k: v for k, v in patch.items() if k not in PROTECTED}
        if self.mode == "two-commits" and "status" in patch and len(patch) > 1:
            # BUG (seed 000): save_results(), then set_status().
            status = patch.pop("status")
            self.tx(lambda: self.merged(self.fetch(job_id), patch))
            patch = {"status": status}
        return self.tx(lambda: self.merged(self.fetch(job_id), patch))

    def update_with_version(self, job_id, patch, expected):
        patch = {k: v for k, v in patch.items() if k not in PROTECTED}
        if self.mode != "protected-field":
            patch.pop("processing_state", None)  # BUG (protected-field): forgotten
        if self.mode == "select-then-update":
            # BUG (seed 002 before the fix): check, then write by id.
            job = self.get_job(job_id)
            if job["version"] != expected:
                return False, job
            return True, self.tx(lambda: self.merged(self.fetch(job_id), patch))

        def guarded():
            job = self.fetch(job_id)
            new = dict(job, **patch)
            new["version"] = job["version"] + 1
            new["_updated_at"] = now_iso()
            row = job_to_row(new)
            n = self.db.execute("UPDATE jobs SET version = version + 1, updated_at = ?, status = ?, "
                                "processing_state = ?, doc = ? WHERE id = ? AND version = ?",
                                (row[3], row[4], row[5], row[6], job_id, expected)).rowcount
            return (True, new) if n == 1 else (False, job)
        return self.tx(guarded)

    def transition_state(self, job_id, from_states, to_state):
        from_states = [s for s in from_states if isinstance(s, str)]
        if self.mode == "transition-select":
            # BUG: read the state, decide, then UPDATE ... WHERE id = ?
            job = self.get_job(job_id)
            if job.get("status") not in from_states:
                return False, job
            return True, self.tx(lambda: self.merged(self.fetch(job_id), {"status": to_state}))

        def guarded():
            marks = ",".join("?" * len(from_states)) or "NULL"
            n = self.db.execute("UPDATE jobs SET status = ?, version = version + 1, updated_at = ? "
                                "WHERE id = ? AND status IN (%s)" % marks,
                                [to_state, now_iso(), job_id] + from_states).rowcount
            return n == 1, self.fetch(job_id)
        return self.tx(guarded)

    # --- batches (seed 003) ---------------------------------------------------

    def files(self, job_id):
        raise StoreError("unsupported", "one SQLite database, no per-record files", True)

    def record_completion(self, batch_id, player, predictions):
        """A player's completion (again: the new count replaces the old one)."""
        if not isinstance(player, str) or not isinstance(predictions, int):
            raise StoreError("bad_request", "player must be a string, predictions an integer", True)
        counters = None
        if self.mode == "counter-in-python":
            # BUG: the batch is loaded first, its counters changed in Python and
            # saved with the rest (an ORM's batch.save()).
            counters = self.db.execute("SELECT completed_count, total_predictions FROM batches "
                                       "WHERE id = ?", (batch_id,)).fetchone() or (0, 0)

        def old_structure():
            old = self.db.execute("SELECT predictions FROM batch_players WHERE batch_id = ? "
                                  "AND player = ?", (batch_id, player)).fetchone()
            dc, dt = (0, predictions - old[0]) if old else (1, predictions)
            self.db.execute("INSERT OR REPLACE INTO batch_players VALUES (?, ?, ?)",
                            (batch_id, player, predictions))
            self.db.execute("INSERT OR IGNORE INTO batches (id) VALUES (?)", (batch_id,))
            if counters is not None:
                self.db.execute("UPDATE batches SET completed_count = ?, total_predictions = ? "
                                "WHERE id = ?", (counters[0] + dc, counters[1] + dt, batch_id))
            else:
                self.db.execute("UPDATE batches SET completed_count = completed_count + ?, "
                                "total_predictions = total_predictions + ? WHERE id = ?",
                                (dc, dt, batch_id))

        def new_structure():
            self.db.execute("INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?)",
                            (batch_id, player, predictions, now_iso()))
        if self.mode == "two-commit-batch":
            # BUG (seed 003): two writes, two transactions.
            self.tx(old_structure)
            self.tx(new_structure)
        else:
            self.tx(lambda: (old_structure(), new_structure()))

    def read_batch(self, batch_id):
        rows = lambda sql: {p: n for p, n in self.db.execute(sql, (batch_id,))}
        self.db.execute("BEGIN")  # one snapshot for the three reads
        try:
            a = rows("SELECT player, predictions FROM batch_players WHERE batch_id = ?")
            b = rows("SELECT player, predictions FROM completions WHERE batch_id = ?")
            c = self.db.execute("SELECT completed_count, total_predictions FROM batches "
                                "WHERE id = ?", (batch_id,)).fetchone() or (0, 0)
        finally:
            self.rollback()
        return {"a": a, "b": b, "count": c[0], "total": c[1]}


class Adapter:
    """The store as the protocol sees it: a database error is an io error reply
    (the operation did not happen: COMMIT errors are classified in commit())."""
    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        method = getattr(self.store, name)

        def call(*args):
            try:
                return method(*args)
            except sqlite3.Error as e:
                self.store.drop()
                raise StoreError("io", "%s: %s" % (name, e), True)
        return call


def main():
    adapter_main(__doc__, MODES,
                 lambda d, mode: Adapter(JobsDB(os.path.join(d, "jobs.db"), mode)))


if __name__ == "__main__":
    main()

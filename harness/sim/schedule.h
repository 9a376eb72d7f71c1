/* torn: schedule fuzzing of the file-store strategies against a simulated
 * disk (seed 001's torn and lost records, explored schedule by schedule).
 *
 * A schedule is a byte string.  It decodes into: how many logical workers
 * run, the write chunk size, the payload size, and then one event per byte:
 * which worker takes its next step (one operation boundary: a lock, a read,
 * one write(2) chunk, an fsync, a link, a rename, ...), a fault armed for
 * the next matching disk operation, a process crash, a power cut, or a torn
 * power cut (a prefix of the pending namespace operations and any mix of the
 * unsynced file data survive).  Format: docs/fuzzing.md and the
 * comment above decode_event() in schedule.c.
 *
 * The schedule runs deterministically, in-process, in microseconds, against
 * a model of a disk with a page cache (per-file cached vs durable bytes, a
 * directory whose entries become durable only when the directory is
 * fsynced, in journal order, like torn-fs's power model), driven by faithful
 * models of targets/file.c's strategies naive / rename / durable / nocheck.
 * After every read, crash and at the end, the checker reads the record the
 * way the strategy does and requires: the read succeeds, the record is
 * complete (its payload digest matches), and no acknowledged write is lost
 * (every worker's field is at least its last acknowledged value).
 */
#ifndef TORN_SCHEDULE_H
#define TORN_SCHEDULE_H

#include <stddef.h>
#include <stdio.h>

enum torn_sched_strategy {
    TORN_SCHED_NAIVE,      /* O_TRUNC in place, no lock */
    TORN_SCHED_RENAME,     /* lock, temp file, rename; no fsync */
    TORN_SCHED_DURABLE,    /* + fsync, .bak, dir fsync, verified read with fallback */
    TORN_SCHED_NOCHECK     /* durable, ignoring write/fsync errors */
};

/* Name <-> strategy; parse returns 0, or -1 for an unknown name. */
const char *torn_sched_strategy_name(enum torn_sched_strategy s);
int torn_sched_strategy_parse(const char *name, enum torn_sched_strategy *out);

/* What one run found. */
struct torn_sched_result {
    int violated;              /* 1 when a criterion broke */
    char criterion[32];        /* "lost-write", "torn-record", "unreadable" */
    char evidence[400];        /* one line a person can act on */
    size_t steps;              /* operation boundaries executed */
    size_t acked;              /* updates acknowledged */
    size_t crashes;            /* process crashes and power cuts */
};

/* Run the schedule buf[0..len) with strategy s.  trace (may be NULL, which
 * is what the fuzzer uses) receives a readable step-by-step account.
 * Returns 1 on a violation (res says which), 0 when every check held.  Never
 * fails: every byte string is a valid schedule.  Not thread-safe (one
 * simulated disk per process). */
int torn_sched_run(const unsigned char *buf, size_t len, enum torn_sched_strategy s,
                   FILE *trace, struct torn_sched_result *res);


#endif

/* research-service: a small reference service reproducing seed 000's app
 * (POST /research, a background worker with progress events and a
 * finalize step, GET /research/results/{id}, WS /ws/research/{id}) and
 * seed 001's safe-read contract (GET /jobs/{id} never answers 5xx).  torn
 * drives it through its HTTP target; the finalize mode decides whether the
 * seed's bug is present.  Shared declarations of the service's modules. */
#ifndef RS_SVC_H
#define RS_SVC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum rs_mode {
    RS_TWO_WRITES,   /* results, then status, then event; tracker not stopped (seed bug) */
    RS_EMIT_FIRST,   /* event first, then the writes */
    RS_ATOMIC        /* one merged guarded write, event only after it succeeded */
};

/* How the file store writes a record (--persist). */
enum rs_persist {
    RS_PERSIST_FSYNC,   /* temp file, fsync, rename (no directory fsync, no .bak) */
    RS_PERSIST_NAIVE,   /* in place: truncate, then 4 KiB writes (seed 001's bug) */
    RS_PERSIST_DURABLE  /* checksummed temp file, fsync, .bak of the previous
                           version, rename, fsync the directory; reads verify
                           and fall back to the .bak (seed 001's fix) */
};

enum rs_misbehave {
    RS_OK,
    RS_HTML,         /* every answer is an HTML page */
    RS_NO_EVENTS,    /* WebSocket accepted, terminal event never sent */
    RS_HANG          /* requests are never answered (until shutdown) */
};

/* Contracts a --break mode violates on purpose (test fixtures: each must
 * make torn report the contract it breaks). */
enum rs_break {
    RS_BREAK_STALE_BODY = 1u << 0,    /* 409 {"detail":"stale"}: no error_code, no version */
    RS_BREAK_STALE_ECHO = 1u << 1,    /* current_review_version echoes If-Match */
    RS_BREAK_REFUSED_BODY = 1u << 2,  /* refused transition without error_code */
    RS_BREAK_NOT_FOUND_BODY = 1u << 3, /* 404 without error_code */
    RS_BREAK_UNKNOWN_BODY = 1u << 4,  /* unrecoverable read without "error" */
    RS_BREAK_FINALIZE_LOG = 1u << 5,  /* no structured line on a final persist */
    RS_BREAK_LEGACY_VERSION = 1u << 6, /* a record without version keeps none */
    RS_BREAK_LEAVE_TMP = 1u << 7,     /* a stray .tmp copy left after each write */
    RS_BREAK_STATE_SPLIT = 1u << 8,   /* a transition sets status, not processing_state */
    RS_BREAK_UPDATED_AT_FORMAT = 1u << 9, /* _updated_at "YYYY-MM-DD HH:MM:SS", no zone */
    RS_BREAK_UPDATED_AT_BACK = 1u << 10, /* every even version's _updated_at 5 s early */
    RS_BREAK_RESULTS_LATE = 1u << 11, /* status completed, event, results 50 ms later */
    RS_BREAK_COUNT_EARLY = 1u << 12,  /* research_finalized_total{status="completed"}
                                         counted when the research ends, before the
                                         final write: a job that then fails is
                                         counted completed and failed */
    RS_BREAK_INDEX_LATE = 1u << 13,   /* the status index updated 15 ms after the write */
    RS_BREAK_RETRY_BUDGET = 1u << 14  /* the safe read tries 12 times, not 5 */
};

struct rs_opts {
    int port;
    enum rs_mode mode;
    const char *redis_host;     /* NULL: file store */
    int redis_port;
    const char *prefix;         /* Redis key prefix */
    const char *dir;            /* file store directory */
    int persist;                /* file store: RS_PERSIST_* */
    int unsafe_read;            /* GET /jobs/{id} answers 500 on store errors */
    int worker_delay_ms;        /* between progress steps */
    int update_delay_ms;        /* added to every PATCH and transition: a
                                   slower release, for baseline tests */
    int steps;                  /* progress events per job */
    int tracker_ms;             /* progress tracker flush period */
    int fail_every;             /* every Nth job fails (0: never) */
    int store_timeout_ms;
    enum rs_misbehave misbehave;
    int quiet;
    unsigned breaks;            /* enum rs_break bits (--break) */
    int lock_read_ms;           /* a record's safe reads fail this long after
                                   each write of it (a held file lock) */
    int index;                  /* --index: GET /index/{id}, the status index */
    int missing_unknown;        /* --missing unknown: GET /jobs/{id} of a job
                                   that does not exist answers 200 and the
                                   unknown dict (seed 001's text), not 404 */
};

extern struct rs_opts rs_opt;

/* ---- store (store.c): records are JSON text keyed by id ---- */

/* 0 and a malloc'd *json_out; 1 not found; -1 error (why filled). */
int rs_store_get(const char *id, char **json_out, char *why, size_t why_len);
/* Write the whole record text.  0 or -1. */
int rs_store_set(const char *id, const char *json, char *why, size_t why_len);
/* Remove the record (DELETE /research/{id}).  0 removed, 1 no such
 * record, -1 error (why filled). */
int rs_store_delete(const char *id, char *why, size_t why_len);
/* Merge patch into the record and write it back.  guarded = 1: as one
 * atomic step (WATCH/MULTI/EXEC, or under a lock for files); 0: plain
 * read-modify-write that can lose concurrent updates.  expect_version >= 0:
 * only if the record has that version (returns 2 when stale); from/n_from:
 * only if status is one of them (returns 2 otherwise).  *rec_out (may be
 * NULL) gets the new record, caller cJSON_Deletes.  1 not found, -1 error. */
int rs_store_update(const char *id, const struct cJSON *patch, int guarded,
                    long long expect_version, const char *const *from, size_t n_from,
                    struct cJSON **rec_out, char *why, size_t why_len);
/* 1 while id's "file lock" is held (--lock-read-ms after its last write). */
int rs_store_locked(const char *id);
/* Record helpers. */
struct cJSON *rs_record_new(const char *id, const struct cJSON *initial);
/* protect: also refuse processing_state (seed 002's guarded updates). */
void rs_record_merge(struct cJSON *rec, const struct cJSON *patch, int protect);

/* ---- the status index (index.c, --index) ---- */

/* Around every store write of id: begin takes the index's lock (unless
 * --break index-late), end puts the record's summary when written and
 * releases it.  No-ops without --index. */
void rs_index_write_begin(void);
void rs_index_write_end(const char *id, const char *json, int written);
/* id's summary (malloc'd JSON text): 0, 1 not found, -1 error (why). */
int rs_index_get(const char *id, char **summary_out, char *why, size_t why_len);

/* ---- dual writes (groups.c, seed 003) ---- */

/* Record that member of group completed with amount, in both structures
 * (one write in --mode atomic, two otherwise).  0 or -1 (why filled). */
int rs_group_add(const char *group, const char *member, double amount, char *why,
                 size_t why_len);
/* {"records": {member: amount}, "total", "members": {member: amount}, "count"},
 * or NULL (why filled). */
struct cJSON *rs_group_read(const char *group, char *why, size_t why_len);

/* ---- jobs and events (jobs.c) ---- */

struct rs_ws;
struct rs_job;

/* Start a job for `query`: writes the queued record and starts its
 * worker.  0 and the id (36 bytes max) or -1. */
int rs_job_start(const struct cJSON *input, char id_out[48], char *why, size_t why_len);
/* The live job with id, or NULL. */
struct rs_job *rs_job_find(const char *id);
/* A subscriber: send(sub, text) delivers one event, 0 or -1. */
typedef int (*rs_send_fn)(void *sub, const char *text);
/* Attach/detach a subscriber (WebSocket or SSE); attach replays a terminal
 * event already sent. */
void rs_job_attach(struct rs_job *j, void *sub, rs_send_fn send);
void rs_job_detach(struct rs_job *j, void *sub);

/* ---- seed 000's counter (jobs.c) ---- */

/* research_finalized_total{status} in the Prometheus text format (GET
 * /metrics); *out malloc'd, caller frees; NULL on ENOMEM. */
char *rs_metrics_text(void);

/* ---- WebSocket (ws.c) ---- */

/* Sec-WebSocket-Accept for key into out (29 bytes incl. NUL). */
void rs_ws_accept_key(const char *key, char out[64]);
/* Serve an upgraded socket until the peer closes or shutdown. */
void rs_ws_serve(struct rs_job *j, int fd);
/* Send a text message; 0 or -1 (connection gone). Thread-safe. */
int rs_ws_send(struct rs_ws *ws, const char *text);
/* Ask every connection to close (shutdown). */
void rs_ws_shutdown_all(void);

/* ---- Server-Sent Events (sse.c) ---- */

struct MHD_Connection;
/* Queue a text/event-stream response streaming j's events; MHD result. */
int rs_sse_respond(struct MHD_Connection *c, struct rs_job *j);

void rs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rs_iso_now(char buf[40]);
/* Now shifted by ms (whole seconds), as rs_iso_now (test fixtures). */
void rs_iso_shift(char buf[40], int ms);
void rs_sleep_ms(int ms);
int rs_stopping(void);

#endif

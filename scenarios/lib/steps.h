/* torn: the steps scenarios are made of (not a plug point): one record
 * operation timed and written to the history by one rule (torn_step_run),
 * the writer's self-checking patch, an announced update a crash may cut,
 * killing and restarting a managed service, and the ledger that judges a
 * record read back after a fault (struct torn_ledger). */
#ifndef TORN_SCENARIOS_LIB_STEPS_H
#define TORN_SCENARIOS_LIB_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;
struct torn_ctx;
struct torn_msg;
struct torn_err;
struct torn_target;

/* The writer patch for sequence number seq: {"status", "results":{"seq"},
 * "seq", "payload", "payload_digest"} plus, when counter is non-NULL,
 * counter: count.  NULL on ENOMEM. */
struct cJSON *torn_step_patch(const struct torn_ctx *ctx, long long seq, size_t payload_len,
                              const char *counter, long long count);

/* One record operation of target.h as a value (like core/recop.h). */
enum torn_step_kind { TORN_STEP_UPDATE, TORN_STEP_READ, TORN_STEP_CAS, TORN_STEP_TRANSITION };
struct torn_step {
    enum torn_step_kind kind;
    const char *id;                  /* the record */
    const struct cJSON *patch;       /* UPDATE, CAS */
    long long expected;              /* CAS: expected version */
    const char *const *from;         /* TRANSITION: allowed current states */
    size_t n_from;
    const char *to;                  /* TRANSITION: the new status */
};

/* Perform s on t the way every scenario records an operation, so all
 * histories follow one rule: an "invoke" history line (process ctx->slot,
 * f "update" | "read" | "cas" | "transition"; value {"seq"} of an update's
 * patch, {"expected_version"} of a CAS), the call through its torn_target_*
 * wrapper, its latency and outcome in this process's stats slot, then one
 * completion line:
 *   ok    it happened (an update or read that succeeded, a CAS or
 *         transition that won); value {"version","seq","status"} of the
 *         record returned, never the payload;
 *   fail  it definitely did not happen: refused (stale version, status not
 *         in from) or an error that is not indefinite; value {"error",
 *         "text"} for an error, none for a refusal;
 *   info  an indefinite error (timeout, cut connection): it may have
 *         happened; value {"error","text"}.
 * The stats count as the history does, except that a read answered
 * TORN_E_NOTFOUND or TORN_E_CORRUPT is a served read (the scenario judges
 * the answer).  Returns the wrapper's code; *won_out (may be NULL) is 1 for
 * a successful update/read or a won CAS/transition, else 0; *rec_out (may
 * be NULL, else the caller frees it) takes the record the slot returned. */
int torn_step_run(struct torn_ctx *ctx, struct torn_target *t, const struct torn_step *s,
                  int *won_out, struct cJSON **rec_out, struct torn_err *err);

/* torn_step_run of an UPDATE / a READ of record id. */
int torn_step_update(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                     const struct cJSON *patch, struct cJSON **rec_out, struct torn_err *err);
int torn_step_read(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                   struct cJSON **rec_out, struct torn_err *err);

/* A failed read after a crash, by what it is: rc TORN_E_NOTFOUND is a lost
 * record ("no-lost-write", "missing"), TORN_E_TIMEOUT a read that never
 * answered ("never-hang", "unanswered": a hang, not a torn record),
 * anything else an unreadable one ("no-torn-write", "unreadable").  Sets
 * *criterion and *what to static strings. */
void torn_step_read_failure(int rc, const char **criterion, const char **what);

/* A target whose writes happen in a service it manages (TORN_CAP_SERVICE,
 * e.g. an HTTP service torn started): the service is the writer a crash
 * must hit.  kill: SIGKILL it (nowait: without reaping, for a service that
 * may be blocked in a frozen torn-fs request until the power cut); restart:
 * start it again on its data and wait until it answers.  Both are no-ops
 * returning 0 for other targets. */
int torn_step_kill_service(struct torn_ctx *ctx, int nowait, struct torn_err *err);
int torn_step_restart_service(struct torn_ctx *ctx, struct torn_err *err);

/* Messages of the single-writer scenarios (crash-midwrite, power-loss). */
enum { TORN_STEP_MSG_ATTEMPT = 1, TORN_STEP_MSG_ACK, TORN_STEP_MSG_FAIL };

/* One announced update of a writer child: send ATTEMPT (a = seq), run
 * torn_step_update with torn_step_patch(seq, payload_len), then send ACK (b =
 * version) or FAIL (b = code, c = 1 if indefinite, text = error).  The
 * parent can thus tell an attempt cut off by a kill from one never made.
 * Returns the update's code. */
int torn_step_update_announced(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                               int wfd, int worker, long long seq, size_t payload_len,
                               int step_status, struct torn_err *err);

/* With step_status, the patch's status is torn_step_status(seq) instead
 * of "running": "running" for odd seq, "processing" for even, so a record
 * whose status is not the one of its own seq was written in parts (seed
 * 000: results written, status not yet). */
const char *torn_step_status(long long seq);

/* What the parent knows of one record that announced updates write
 * (crash-midwrite): the uncertain-operation model of every single-record
 * fault scenario.  An update whose outcome torn did not see (the writer was
 * killed with it in flight, or it failed indefinitely: a timeout, a cut
 * connection, an adapter that died) is PENDING: it may take effect at any
 * later moment, also after the read that follows the kill (an HTTP server
 * or a Postgres backend outlives its killed client and applies the request
 * it had already received).  A read judged against the ledger therefore
 * accepts a record at version v written by update s when s is pending and
 * v is at most the highest known version + the number of pending updates;
 * a pending update seen applied is no longer pending. */
#define TORN_LEDGER_SEQS 256
struct torn_ledger {
    long long version;        /* highest version known to exist: acknowledged or read back */
    long long seq;            /* seq of the update that wrote it (0: a reset, no update) */
    long long acked_version;  /* highest acknowledged version */
    long long attempt;        /* seq of the update in flight now, -1: none */
    long long n_pending;      /* updates whose outcome was never seen */
    long long pending[TORN_LEDGER_SEQS];   /* their seqs (the first ones if more) */
    long long def_failed[64]; /* seqs of updates that failed DEFINITELY */
    int n_def_failed;
    long long n_acks, n_fails, n_late; /* n_late: pending updates later seen applied */
    char last_fail[192];
};

/* After a reset to `version` (no update's seq).  Pending updates stay
 * pending: they may still land on the fresh record. */
void torn_ledger_reset(struct torn_ledger *l, long long version);
/* Learn from a writer's ATTEMPT / ACK / FAIL message. */
void torn_ledger_take(struct torn_ledger *l, const struct torn_msg *m);
/* The writer is dead and its messages drained: an update it had in flight
 * becomes pending. */
void torn_ledger_cut(struct torn_ledger *l);
/* 1 when the store said update seq failed definitely. */
int torn_ledger_failed_definitely(const struct torn_ledger *l, long long seq);
/* Judge a record read back after a fault.  0: consistent (the ledger now
 * knows its version).  1: a violation; *crit is the criterion
 * (no-torn-write, no-intermediate-state, no-lost-write, no-phantom-write)
 * and why the evidence.  With step_status, a record's status must be
 * torn_step_status(seq). */
int torn_ledger_judge(struct torn_ledger *l, const struct cJSON *rec, int step_status,
                      const char **crit, char *why, size_t len);

/* Short description of a record for evidence: "version 41, seq 40, 262144
 * payload bytes, status running". */
void torn_step_describe_record(const struct cJSON *rec, char *buf, size_t len);

#endif

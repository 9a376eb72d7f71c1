/* torn: the steps scenarios are made of (see steps.h). */
#include "steps.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/history.h"
#include "proc/proc.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

cJSON *torn_step_patch(const struct torn_ctx *ctx, long long seq, size_t payload_len,
                       const char *counter, long long count)
{
    cJSON *patch = torn_payload_patch(ctx->seed, seq, payload_len), *results;

    if (!patch)
        return NULL;
    cJSON_AddStringToObject(patch, "status", "running");
    results = cJSON_AddObjectToObject(patch, "results");
    if (results)
        cJSON_AddNumberToObject(results, "seq", (double)seq);
    if (counter)
        cJSON_AddNumberToObject(patch, counter, (double)count);
    return patch;
}

void torn_step_read_failure(int rc, const char **criterion, const char **what)
{
    *criterion = rc == TORN_E_NOTFOUND  ? "no-lost-write"
                 : rc == TORN_E_TIMEOUT ? "never-hang"
                                        : "no-torn-write";
    *what = rc == TORN_E_NOTFOUND ? "missing" : rc == TORN_E_TIMEOUT ? "unanswered" : "unreadable";
}

int torn_step_kill_service(struct torn_ctx *ctx, int nowait, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    cJSON *args;
    int rc;

    if (!torn_target_caps_of(t, TORN_CAP_SERVICE, NULL, 0))
        return TORN_OK;
    args = nowait ? cJSON_Parse("{\"reap\": false}") : NULL;
    rc = torn_target_fault(t, TORN_FAULT_SERVER_KILL, args, err);
    cJSON_Delete(args);
    torn_history_log_add(ctx->history, "fault", 0, "service-kill", NULL, NULL, 0);
    return rc;
}

int torn_step_restart_service(struct torn_ctx *ctx, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    uint64_t t0 = torn_now_ns();
    int rc;

    if (!torn_target_caps_of(t, TORN_CAP_SERVICE, NULL, 0))
        return TORN_OK;
    rc = torn_target_fault(t, TORN_FAULT_SERVER_RESTART, NULL, err);
    torn_ctx_op(ctx, TORN_OP_RECOVER, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
    torn_history_log_add(ctx->history, "fault", 0, "service-restart", NULL, NULL, 0);
    return rc;
}

/* History value of an operation: small fields only, never the payload. */
static cJSON *hist_value(const cJSON *rec)
{
    cJSON *v = cJSON_CreateObject();
    const char *status = torn_record_str(rec, "status");

    if (!v)
        return NULL;
    if (torn_record_version(rec) >= 0)
        cJSON_AddNumberToObject(v, "version", (double)torn_record_version(rec));
    if (cJSON_GetObjectItemCaseSensitive(rec, "seq"))
        cJSON_AddNumberToObject(v, "seq", (double)torn_record_int(rec, "seq", -1));
    if (status)
        cJSON_AddStringToObject(v, "status", status);
    return v;
}

static const struct {
    const char *f;       /* history name */
    enum torn_op op;     /* stats slot */
} step_kinds[] = {
    [TORN_STEP_UPDATE] = {"update", TORN_OP_UPDATE},
    [TORN_STEP_READ] = {"read", TORN_OP_READ},
    [TORN_STEP_CAS] = {"cas", TORN_OP_CAS},
    [TORN_STEP_TRANSITION] = {"transition", TORN_OP_TRANSITION},
};

static void hist_invoke(struct torn_ctx *ctx, const struct torn_step *s)
{
    cJSON *v = NULL;

    if (!ctx->history)
        return;
    if (s->kind == TORN_STEP_UPDATE && (v = cJSON_CreateObject()))
        cJSON_AddNumberToObject(v, "seq", (double)torn_record_int(s->patch, "seq", -1));
    else if (s->kind == TORN_STEP_CAS && (v = cJSON_CreateObject()))
        cJSON_AddNumberToObject(v, "expected_version", (double)s->expected);
    torn_history_log_add(ctx->history, "invoke", ctx->slot, step_kinds[s->kind].f, s->id, v, 0);
    cJSON_Delete(v);
}

/* The one rule: ok = it happened, fail = it definitely did not (refused, or
 * a definite error), info = unknown (an indefinite error). */
static void hist_done(struct torn_ctx *ctx, const struct torn_step *s, int rc, int won,
                      const struct torn_err *err, const cJSON *rec)
{
    const char *type = rc ? (err->indefinite ? "info" : "fail") : won ? "ok" : "fail";
    cJSON *v = NULL;

    if (!ctx->history)
        return;
    if (rc == 0 && won) {
        v = hist_value(rec);
    } else if (rc && (v = cJSON_CreateObject())) {
        cJSON_AddStringToObject(v, "error", torn_strerror(rc));
        cJSON_AddStringToObject(v, "text", err->msg);
    }
    torn_history_log_add(ctx->history, type, ctx->slot, step_kinds[s->kind].f, s->id, v, 0);
    cJSON_Delete(v);
}

/* Stats outcome: as the history's, except that a read answered "missing"
 * or "corrupt" is a served read (the store answered; the scenario judges
 * the answer). */
static enum torn_outcome step_outcome(const struct torn_step *s, int rc, int won,
                                      const struct torn_err *err)
{
    if (rc == 0)
        return won ? TORN_OUT_OK : TORN_OUT_FAIL;
    if (s->kind == TORN_STEP_READ && (rc == TORN_E_NOTFOUND || rc == TORN_E_CORRUPT))
        return TORN_OUT_OK;
    return err->indefinite ? TORN_OUT_INFO : TORN_OUT_FAIL;
}

static int step_call(struct torn_target *t, const struct torn_step *s, int *won, cJSON **rec,
                     struct torn_err *err)
{
    switch (s->kind) {
    case TORN_STEP_UPDATE:
        return torn_target_update(t, s->id, s->patch, rec, err);
    case TORN_STEP_READ:
        return torn_target_read(t, s->id, rec, err);
    case TORN_STEP_CAS:
        return torn_target_update_if_version(t, s->id, s->patch, s->expected, won, rec, err);
    case TORN_STEP_TRANSITION:
        return torn_target_transition(t, s->id, s->from, s->n_from, s->to, won, rec, err);
    }
    return torn_err_set(err, TORN_E_UNSUPPORTED, "no such step kind %d", (int)s->kind);
}

int torn_step_run(struct torn_ctx *ctx, struct torn_target *t, const struct torn_step *s,
                  int *won_out, cJSON **rec_out, struct torn_err *err)
{
    cJSON *rec = NULL;
    int won = 1, rc;
    uint64_t t0;

    hist_invoke(ctx, s);
    t0 = torn_now_ns();
    rc = step_call(t, s, &won, &rec, err);
    if (rc)
        won = 0;
    torn_ctx_op(ctx, step_kinds[s->kind].op, step_outcome(s, rc, won, err),
                torn_now_ns() - t0);
    hist_done(ctx, s, rc, won, err, rec);
    if (won_out)
        *won_out = won;
    if (rec_out)
        *rec_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

int torn_step_update(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                     const cJSON *patch, cJSON **rec_out, struct torn_err *err)
{
    struct torn_step s = {.kind = TORN_STEP_UPDATE, .id = id, .patch = patch};

    return torn_step_run(ctx, t, &s, NULL, rec_out, err);
}

int torn_step_read(struct torn_ctx *ctx, struct torn_target *t, const char *id, cJSON **rec_out,
                   struct torn_err *err)
{
    struct torn_step s = {.kind = TORN_STEP_READ, .id = id};

    return torn_step_run(ctx, t, &s, NULL, rec_out, err);
}

void torn_step_describe_record(const cJSON *rec, char *buf, size_t len)
{
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(rec, "payload");
    const char *status = torn_record_str(rec, "status");

    snprintf(buf, len, "version %lld, seq %lld, %zu payload bytes, status %s",
             torn_record_version(rec), torn_record_int(rec, "seq", -1),
             cJSON_IsString(payload) ? strlen(payload->valuestring) : (size_t)0,
             status ? status : "(none)");
}

const char *torn_step_status(long long seq)
{
    return seq % 2 ? "running" : "processing";
}

int torn_step_update_announced(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                               int wfd, int worker, long long seq, size_t payload_len,
                               int step_status, struct torn_err *err)
{
    cJSON *patch = torn_step_patch(ctx, seq, payload_len, NULL, 0), *rec = NULL;
    int rc;

    if (patch && step_status)
        cJSON_ReplaceItemInObjectCaseSensitive(patch, "status",
                                               cJSON_CreateString(torn_step_status(seq)));
    torn_msg_post(wfd, TORN_STEP_MSG_ATTEMPT, worker, seq, 0, 0, NULL);
    torn_err_clear(err);
    rc = patch ? torn_step_update(ctx, t, id, patch, &rec, err) : TORN_E_NOMEM;
    if (rc == 0)
        torn_msg_post(wfd, TORN_STEP_MSG_ACK, worker, seq, torn_record_version(rec), 0, NULL);
    else
        torn_msg_post(wfd, TORN_STEP_MSG_FAIL, worker, seq, rc, err->indefinite, err->msg);
    cJSON_Delete(patch);
    cJSON_Delete(rec);
    return rc;
}

/* ---- the uncertain-operation ledger ---- */

void torn_ledger_reset(struct torn_ledger *l, long long version)
{
    l->version = l->acked_version = version;
    l->seq = 0;
    l->attempt = -1;
}

static void ledger_pend(struct torn_ledger *l, long long seq)
{
    if (l->n_pending < TORN_LEDGER_SEQS)
        l->pending[l->n_pending] = seq;
    l->n_pending++;
}

/* 1 (and no longer pending) if seq was pending. */
static int ledger_landed(struct torn_ledger *l, long long seq)
{
    long long n = l->n_pending < TORN_LEDGER_SEQS ? l->n_pending : TORN_LEDGER_SEQS;

    for (long long i = 0; i < n; i++)
        if (l->pending[i] == seq) {
            l->pending[i] = l->pending[n - 1];
            l->n_pending--;
            return 1;
        }
    return 0;
}

void torn_ledger_take(struct torn_ledger *l, const struct torn_msg *m)
{
    if (m->type == TORN_STEP_MSG_ATTEMPT) {
        l->attempt = m->a;
    } else if (m->type == TORN_STEP_MSG_ACK) {
        l->attempt = -1;
        l->n_acks++;
        if (m->b > l->acked_version)
            l->acked_version = m->b;
        if (m->b > l->version) {
            l->version = m->b;
            l->seq = m->a;
        }
    } else if (m->type == TORN_STEP_MSG_FAIL) {
        l->attempt = -1;
        l->n_fails++;
        snprintf(l->last_fail, sizeof l->last_fail, "%s", m->text);
        if (m->c)
            ledger_pend(l, m->a);
        else if (l->n_def_failed < (int)(sizeof l->def_failed / sizeof l->def_failed[0]))
            l->def_failed[l->n_def_failed++] = m->a;
    }
}

void torn_ledger_cut(struct torn_ledger *l)
{
    if (l->attempt >= 0)
        ledger_pend(l, l->attempt);
    l->attempt = -1;
}

int torn_ledger_failed_definitely(const struct torn_ledger *l, long long seq)
{
    for (int i = 0; i < l->n_def_failed; i++)
        if (l->def_failed[i] == seq)
            return 1;
    return 0;
}

/* The version/seq part of the judgement: the criterion broken, or NULL. */
static const char *ledger_order(struct torn_ledger *l, long long v, long long seq,
                                const char *desc, char *why, size_t len)
{
    long long stored = l->n_pending < TORN_LEDGER_SEQS ? l->n_pending : TORN_LEDGER_SEQS;
    int pending = 0;

    if (v < l->version) {
        snprintf(why, len, "version %lld (seq %lld) %s, read back %s", l->version, l->seq,
                 l->version == l->acked_version ? "acknowledged" : "read back before", desc);
        return "no-lost-write";
    }
    if (torn_ledger_failed_definitely(l, seq)) {
        snprintf(why, len, "the store said update seq %lld definitely failed, yet read back %s",
                 seq, desc);
        return "no-phantom-write";
    }
    if (seq == l->seq && v == l->version)
        return NULL;
    for (long long i = 0; i < stored && !pending; i++)
        pending = l->pending[i] == seq;
    if (v > l->version + l->n_pending || (seq == l->seq && v != l->version) ||
        (!pending && stored == l->n_pending && seq != l->seq)) {
        snprintf(why, len,
                 "highest known version %lld (seq %lld), %lld update(s) of unknown outcome "
                 "that may still land%s, read back %s: a version no update of torn's can "
                 "have produced",
                 l->version, l->seq, l->n_pending,
                 pending ? "" : ", none of them this seq", desc);
        return "no-phantom-write";
    }
    if (ledger_landed(l, seq))
        l->n_late++;
    l->version = v;
    l->seq = seq;
    return NULL;
}

int torn_ledger_judge(struct torn_ledger *l, const cJSON *rec, int step_status,
                      const char **crit, char *why, size_t len)
{
    char desc[160], torn_why[200];
    long long seq = torn_record_int(rec, "seq", 0);
    const char *status = torn_record_str(rec, "status");

    torn_step_describe_record(rec, desc, sizeof desc);
    if (!torn_record_intact(rec, torn_why, sizeof torn_why)) {
        snprintf(why, len, "record read back is torn (%s): %s", desc, torn_why);
        *crit = "no-torn-write";
        return 1;
    }
    if (step_status && seq > 0 && (!status || strcmp(status, torn_step_status(seq)) != 0)) {
        /* Results of write seq are there, its status is not: a write
         * applied in parts (seed 000's two calls). */
        snprintf(why, len,
                 "the record holds write %lld's results but status '%s', not '%s': the write "
                 "was applied in parts (%s)",
                 seq, status ? status : "(none)", torn_step_status(seq), desc);
        *crit = "no-intermediate-state";
        return 1;
    }
    *crit = ledger_order(l, torn_record_version(rec), seq, desc, why, len);
    return *crit != NULL;
}

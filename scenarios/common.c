/* torn: helpers shared by scenarios. */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "history.h"
#include "proc.h"
#include "record.h"
#include "scenario.h"
#include "target.h"
#include "util.h"

cJSON *torn_sc_patch(const struct torn_ctx *ctx, long long seq, size_t payload_len,
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

int torn_sc_open(struct torn_ctx *ctx, struct torn_err *err)
{
    return torn_target_open(ctx->target, err);
}

int torn_sc_service_kill(struct torn_ctx *ctx, int nowait, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    cJSON *args = nowait ? cJSON_Parse("{\"reap\": false}") : NULL;
    int rc;

    if (!torn_target_caps_of(t, TORN_CAP_SERVICE, NULL, 0))
        return TORN_OK;
    rc = t->ops->fault(t, TORN_FAULT_SERVER_KILL, args, err);
    cJSON_Delete(args);
    torn_history_add(ctx->history, "fault", 0, "service-kill", NULL, NULL, 0);
    return rc;
}

int torn_sc_service_restart(struct torn_ctx *ctx, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    uint64_t t0 = torn_now_ns();
    int rc;

    if (!torn_target_caps_of(t, TORN_CAP_SERVICE, NULL, 0))
        return TORN_OK;
    rc = t->ops->fault(t, TORN_FAULT_SERVER_RESTART, NULL, err);
    torn_ctx_op(ctx, TORN_OP_RECOVER, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
    torn_history_add(ctx->history, "fault", 0, "service-restart", NULL, NULL, 0);
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

static void hist_done(struct torn_ctx *ctx, const char *f, const char *id, int rc,
                      const struct torn_err *err, const cJSON *rec)
{
    cJSON *v;

    if (!ctx->history)
        return;
    if (rc == 0) {
        v = hist_value(rec);
        torn_history_add(ctx->history, "ok", ctx->slot, f, id, v, 0);
    } else {
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "error", torn_strerror(rc));
        cJSON_AddStringToObject(v, "text", err->msg);
        torn_history_add(ctx->history, err->indefinite ? "info" : "fail", ctx->slot, f, id, v, 0);
    }
    cJSON_Delete(v);
}

int torn_sc_update(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                   const cJSON *patch, cJSON **rec_out, struct torn_err *err)
{
    cJSON *rec = NULL, *inv = NULL;
    uint64_t t0;
    int rc;

    if (ctx->history) {
        inv = cJSON_CreateObject();
        cJSON_AddNumberToObject(inv, "seq", (double)torn_record_int(patch, "seq", -1));
        torn_history_add(ctx->history, "invoke", ctx->slot, "update", id, inv, 0);
        cJSON_Delete(inv);
    }
    t0 = torn_now_ns();
    rc = t->ops->update(t, id, patch, &rec, err);
    torn_ctx_op(ctx, TORN_OP_UPDATE,
                rc == 0 ? TORN_OUT_OK : err->indefinite ? TORN_OUT_INFO : TORN_OUT_FAIL,
                torn_now_ns() - t0);
    hist_done(ctx, "update", id, rc, err, rec);
    if (rec_out)
        *rec_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

int torn_sc_read(struct torn_ctx *ctx, struct torn_target *t, const char *id, cJSON **rec_out,
                 struct torn_err *err)
{
    cJSON *rec = NULL;
    uint64_t t0;
    int rc;

    torn_history_add(ctx->history, "invoke", ctx->slot, "read", id, NULL, 0);
    t0 = torn_now_ns();
    rc = t->ops->read(t, id, &rec, err);
    torn_ctx_op(ctx, TORN_OP_READ,
                rc == 0 || rc == TORN_E_NOTFOUND || rc == TORN_E_CORRUPT ? TORN_OUT_OK
                : err->indefinite                                       ? TORN_OUT_INFO
                                                                        : TORN_OUT_FAIL,
                torn_now_ns() - t0);
    hist_done(ctx, "read", id, rc, err, rec);
    if (rec_out)
        *rec_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

void torn_sc_describe(const cJSON *rec, char *buf, size_t len)
{
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(rec, "payload");
    const char *status = torn_record_str(rec, "status");

    snprintf(buf, len, "version %lld, seq %lld, %zu payload bytes, status %s",
             torn_record_version(rec), torn_record_int(rec, "seq", -1),
             cJSON_IsString(payload) ? strlen(payload->valuestring) : (size_t)0,
             status ? status : "(none)");
}

const char *torn_sc_step_status(long long seq)
{
    return seq % 2 ? "running" : "processing";
}

int torn_sc_update_announced(struct torn_ctx *ctx, struct torn_target *t, const char *id,
                             int wfd, int worker, long long seq, size_t payload_len,
                             int step_status, struct torn_err *err)
{
    cJSON *patch = torn_sc_patch(ctx, seq, payload_len, NULL, 0), *rec = NULL;
    int rc;

    if (patch && step_status)
        cJSON_ReplaceItemInObjectCaseSensitive(patch, "status",
                                               cJSON_CreateString(torn_sc_step_status(seq)));
    torn_msg_post(wfd, TORN_SC_MSG_ATTEMPT, worker, seq, 0, 0, NULL);
    torn_err_clear(err);
    rc = patch ? torn_sc_update(ctx, t, id, patch, &rec, err) : TORN_E_NOMEM;
    if (rc == 0)
        torn_msg_post(wfd, TORN_SC_MSG_ACK, worker, seq, torn_record_version(rec), 0, NULL);
    else
        torn_msg_post(wfd, TORN_SC_MSG_FAIL, worker, seq, rc, err->indefinite, err->msg);
    cJSON_Delete(patch);
    cJSON_Delete(rec);
    return rc;
}

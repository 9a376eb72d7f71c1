/* torn: legacy-record (seed 000: "increment version, initialize to 1 if
 * missing").  A store in service holds records an older release wrote,
 * without version or _updated_at.  The scenario plants `records` such
 * records through the target's plant slot, then writes each through
 * update (update_fields) twice and reads it back.
 *
 * Violations:
 *   legacy-version      the first write did not give version 1, the second
 *                       not 2, or a read returned another version than the
 *                       write before it;
 *   legacy-updated-at   a write left no ISO-8601 _updated_at;
 *   legacy-fields       a field of the legacy record the patch did not
 *                       touch was lost or changed (a rewrite from a
 *                       template instead of a merge).
 * One process, no race: the seed decides everything, one replay
 * reproduces the verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/record.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"
#include "lib/steps.h"

/* The record as an older release left it: no version, no _updated_at. */
static cJSON *legacy_record(const struct torn_ctx *ctx, const char *id, long long i)
{
    cJSON *r = cJSON_CreateObject();
    char q[96];
    snprintf(q, sizeof q, "legacy job %lld seed %llu", i, (unsigned long long)ctx->seed);
    cJSON_AddStringToObject(r, "id", id);
    cJSON_AddStringToObject(r, "status", "queued");
    cJSON_AddStringToObject(r, "created_at", "2024-01-02T03:04:05.000Z");
    cJSON_AddStringToObject(r, "query", q);
    return r;
}

/* What a write answered (rec) against the version it must carry.  Each
 * violation names this process: its last operation, the write, broke it. */
static void judge_write(struct torn_ctx *ctx, const char *id, const cJSON *legacy,
                        const cJSON *rec, long long want, const char *which)
{
    double t_s = torn_ctx_elapsed(ctx);
    long long v = torn_record_version(rec);
    const char *up = torn_record_str(rec, "_updated_at");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(rec, "query");
    if (v != want)
        torn_result_violation_op(ctx->result, "legacy-version", id, t_s, ctx->slot,
                                 "the %s write of a record planted without version answered "
                                 "version %lld (%s), want %lld",
                                 which, v, v < 0 ? "none" : "a number", want);
    if (!up || torn_iso8601_ms(up) < 0)
        torn_result_violation_op(ctx->result, "legacy-updated-at", id, t_s, ctx->slot,
                                 "the %s write left _updated_at %s, not an ISO-8601 time", which,
                                 up ? up : "absent");
    if (!q || !cJSON_Compare(q, cJSON_GetObjectItemCaseSensitive(legacy, "query"), 1))
        torn_result_violation_op(ctx->result, "legacy-fields", id, t_s, ctx->slot,
                                 "the %s write lost the legacy record's query field", which);
}

/* One record: plant, write, read, write.  0, or a torn code (ERROR). */
static int one(struct torn_ctx *ctx, long long i, long long *writes, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    char id[48];
    snprintf(id, sizeof id, "legacy-record-%lld", i);
    cJSON *legacy = legacy_record(ctx, id, i), *patch = cJSON_CreateObject(), *rec = NULL;
    int rc = legacy && patch ? torn_target_plant(t, id, legacy, err)
                             : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (int w = 1; rc == 0 && w <= 2; w++) {
        cJSON_DeleteItemFromObjectCaseSensitive(patch, "step");
        cJSON_AddNumberToObject(patch, "step", w);
        rc = torn_step_update(ctx, t, id, patch, &rec, err);
        if (rc)
            break;
        ++*writes;
        judge_write(ctx, id, legacy, rec, w, w == 1 ? "first" : "second");
        long long wrote = torn_record_version(rec);
        cJSON_Delete(rec);
        rec = NULL;
        if ((rc = torn_step_read(ctx, t, id, &rec, err)) == 0 && torn_record_version(rec) != wrote)
            torn_result_violation_op(ctx->result, "legacy-version", id, torn_ctx_elapsed(ctx),
                                     ctx->slot, "after the write that answered version %lld a read returned "
                                  "version %lld",
                                  wrote, torn_record_version(rec));
        cJSON_Delete(rec);
        rec = NULL;
    }
    cJSON_Delete(legacy);
    cJSON_Delete(patch);
    return rc;
}

static int legacy_run(struct torn_ctx *ctx, struct torn_err *err)
{
    long long n = torn_param_int(ctx, "records"), planted = 0, writes = 0;
    int rc = torn_target_open(ctx->target, err);
    for (long long i = 0; rc == 0 && i < n && !torn_ctx_expired(ctx); i++, planted++)
        rc = one(ctx, i, &writes, err);
    torn_target_close(ctx->target);
    torn_work_set(ctx->result, "records_planned", n);
    torn_work_set(ctx->result, "records", planted);
    torn_work_set(ctx->result, "writes", writes);
    return rc;
}

static const struct torn_work_need work[] = {
    {"records", "records_planned", 1.0, 1, "legacy records planted and written"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/legacy-record.json, their
 * only source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_legacy_record[];

const struct torn_scenario_ops torn_scenario_legacy_record = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "legacy-record",
    .summary = "a record an older release left without version gets version 1 on its first "
               "write, then 2 (seed 000)",
    .needs = TORN_CAP_PLANT | TORN_CAP_UPDATE | TORN_CAP_READ,
    .defaults = torn_defaults_legacy_record, /* scenarios/legacy-record.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("records", 1, 100000),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = legacy_run,
    .flags = TORN_SCENARIO_REPLAYS_EXACTLY,
    .work = work,
};

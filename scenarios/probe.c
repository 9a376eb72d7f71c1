/* torn: probe (torn run --probe): read records that already exist on a
 * service or store torn must not change (staging, production), and judge
 * only what reading can show.  Each id of `ids` (comma-separated, the
 * records as the target names them) is read `reads` times, interval_ms
 * apart, through the target's read slot and so through everything a read
 * already checks there: an HTTP spec's response contracts and record
 * invariants, an exec adapter's invariants (--target-opt invariants=FILE),
 * budgets on the read latency (--budget read.p99<...).  The runner arms
 * torn_target_read_only first: a write, damage or fault anywhere is refused
 * before it reaches the target.
 *
 * Violations:
 *   probe-present   a listed record answered "not found";
 *   probe-read      a read failed otherwise (an error answer, an unreadable
 *                   or torn record, a timeout).
 * Work: every planned read made (a stop or the duration may cut it short:
 * ERROR, never PASS on fewer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"
#include "lib/steps.h"

#define MAX_IDS 64
#define MAX_ID_LEN 200

/* Split ids at commas into out (trimmed, non-empty); the count, or a
 * negative torn code naming the problem. */
static int split_ids(const char *ids, char out[][MAX_ID_LEN + 1], struct torn_err *err)
{
    int n = 0;

    for (const char *p = ids ? ids : ""; *p;) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if (n == MAX_IDS || (size_t)(b - a) > MAX_ID_LEN)
                return torn_err_set(err, TORN_E_CONFIG,
                                    "probe: --set ids takes at most %d ids of at most %d bytes",
                                    MAX_IDS, MAX_ID_LEN);
            memcpy(out[n], a, (size_t)(b - a));
            out[n++][b - a] = 0;
        }
        p += len + (p[len] == ',');
    }
    if (!n)
        return torn_err_set(err, TORN_E_CONFIG,
                            "probe: name the records to read: --set ids=ID[,ID...] (as the "
                            "target names them)");
    return n;
}

/* One read of id, judged: a failed read is a violation (probe-present once
 * per id, probe-read each time), never an error of the run. */
static void probe_one(struct torn_ctx *ctx, const char *id, long long *missing)
{
    struct torn_err err;
    cJSON *rec = NULL;
    int rc;

    torn_err_clear(&err);
    rc = torn_step_read(ctx, ctx->target, id, &rec, &err);
    if (rc == TORN_E_NOTFOUND) {
        if (!(*missing)++)
            torn_result_violation_op(ctx->result, "probe-present", id, torn_ctx_elapsed(ctx),
                                     ctx->slot, "record %s answered not found: %s", id,
                                     err.msg[0] ? err.msg : "no such record");
    } else if (rc) {
        torn_result_violation_op(ctx->result, "probe-read", id, torn_ctx_elapsed(ctx), ctx->slot,
                                 "read of %s failed: %s", id, err.msg);
    }
    cJSON_Delete(rec);
}

static int probe_run(struct torn_ctx *ctx, struct torn_err *err)
{
    char ids[MAX_IDS][MAX_ID_LEN + 1]; /* 13 KB */
    long long reads = torn_param_int(ctx, "reads"), done = 0;
    long long missing[MAX_IDS] = {0};
    double gap_ms = torn_param_num(ctx, "interval_ms");
    int n = split_ids(torn_param_str(ctx, "ids"), ids, err), rc;

    if (n < 0)
        return n;
    if ((rc = torn_target_open(ctx->target, err)) != 0)
        return rc;
    for (long long r = 0; r < reads && !torn_ctx_expired(ctx) && !torn_stop_requested(); r++) {
        for (int i = 0; i < n && !torn_stop_requested(); i++, done++)
            probe_one(ctx, ids[i], &missing[i]);
        if (gap_ms > 0 && r + 1 < reads)
            torn_sleep_ns((uint64_t)(gap_ms * 1e6));
    }
    torn_target_close(ctx->target);
    torn_work_set(ctx->result, "reads_planned", reads * n);
    torn_work_set(ctx->result, "reads", done);
    return TORN_OK;
}

static const struct torn_work_need work[] = {
    {"reads", "reads_planned", 1.0, 1, "planned reads made"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/probe.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_probe[];

const struct torn_scenario_ops torn_scenario_probe = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "probe",
    .summary = "read existing records only (torn run --probe: no write, damage or fault "
               "reaches the target); every listed record present and readable",
    .needs = TORN_CAP_READ,
    .defaults = torn_defaults_probe, /* scenarios/probe.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("reads", 1, 1000000),
        TORN_PARAM_REAL("interval_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = probe_run,
    .flags = TORN_SCENARIO_REPLAYS_EXACTLY, /* the data decides, no race */
    .work = work,
};

/* torn: io-errors.  The target keeps its data on torn-fs.  For every fault
 * kind ("fsync EIO", "write EIO", "write ENOSPC", ...) and every n in
 * 1..max_nth, a writer applies n patches while torn-fs fails the nth
 * matching operation once (so the fault lands in the last update, which no
 * later update can paper over; payload_len stays below one 4 KiB write) (an fsync failure under the fsync-fail model also
 * marks the dirty pages clean: the data is gone although the next fsync
 * "succeeds", the fsyncgate behaviour).  A store must report the failure to
 * its caller and never acknowledge a write that did not persist:
 *   - read back at once, the record is complete, at least the last
 *     acknowledged version, and shows no update that failed definitely;
 *   - after a power cut, the same holds (no acknowledged write lost).
 * A store that ignores write/fsync return values FAILS (file:nocheck).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "lib/power.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

static int io_run(struct torn_ctx *ctx, struct torn_err *err)
{
    const cJSON *kinds = torn_param(ctx, "faults"), *k;
    const char *path = torn_param_str(ctx, "path");
    long long max_nth = torn_param_int(ctx, "max_nth");
    struct torn_power_cycle c;
    long long cycles = 0, faults = 0, bad = 0, acks = 0, fails = 0, faulted = 0;
    char rule[160];
    int rc = torn_power_need_fs(ctx, "io-errors", err);

    if (rc)
        return rc;
    if (!cJSON_IsArray(kinds) || cJSON_GetArraySize(kinds) == 0)
        return torn_err_set(err, TORN_E_CONFIG,
                            "io-errors: faults must be a non-empty array like [\"fsync EIO\"]");
    memset(&c, 0, sizeof c);
    c.payload_len = (size_t)torn_param_int(ctx, "payload_len");
    c.model = torn_param_str(ctx, "model");
    c.cut = "";
    c.check_live = 1;
    cJSON_ArrayForEach(k, kinds) {
        if (!cJSON_IsString(k))
            return torn_err_set(err, TORN_E_CONFIG, "io-errors: faults entries must be strings");
        for (long long n = 1; n <= max_nth && !torn_ctx_expired(ctx); n++) {
            snprintf(rule, sizeof rule, "%s nth=%lld times=1%s%s", k->valuestring, n,
                     path && *path ? " path=" : "", path && *path ? path : "");
            c.updates = n;
            c.rules[0] = rule;
            c.rules[1] = NULL;
            if ((rc = torn_power_run_cycle(ctx, &c, err)) != 0)
                return rc;
            cycles++;
            faults += (long long)c.faults;
            faulted += c.faults > 0;
            acks += c.ledger.n_acks;
            fails += c.ledger.n_fails;
            rc = torn_power_check(ctx, &c, "after I/O errors and a power cut", err);
            if (rc < 0)
                return rc;
            bad += rc + c.live_bad;
        }
    }
    torn_result_metric(ctx->result, "cycles", (double)cycles);
    torn_result_metric(ctx->result, "faults_injected", (double)faults);
    torn_result_metric(ctx->result, "acknowledged_writes", (double)acks);
    torn_result_metric(ctx->result, "failed_writes", (double)fails);
    torn_result_metric(ctx->result, "damaged_states", (double)bad);
    torn_result_metric_str(ctx->result, "model", c.model);
    torn_work_set(ctx->result, "cycles", cycles);
    torn_work_set(ctx->result, "cycles_faulted", faulted);
    torn_work_set(ctx->result, "writes_acked", acks);
    if (faults == 0)
        return torn_err_set(err, TORN_E_REMOTE,
                            "io-errors: no fault rule ever matched an operation of the store "
                            "(check faults/path; is the store's data under TORN_DATA_DIR? "
                            "--skip io-errors leaves this scenario out)");
    return TORN_OK;
}

/* Each cycle means something when its fault landed (its last update is
 * the faulted one, so with max_nth=1 no update is acknowledged, rightly:
 * the reset record is the acknowledged baseline). */
static const struct torn_work_need work[] = {
    {"cycles_faulted", "cycles", 0.5, 1, "cycles had their I/O fault injected"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/io-errors.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_io_errors[];

const struct torn_scenario_ops torn_scenario_io_errors = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "io-errors",
    .summary = "EIO/ENOSPC on write and fsync (torn-fs); failures reported, nothing acked lost",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET | TORN_CAP_FS_DATA,
    .defaults = torn_defaults_io_errors, /* scenarios/io-errors.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD), TORN_PARAM_INT("max_nth", 1, 10000),
        {NULL, 0, 0, 0}},
    .run = io_run,
    .flags = TORN_SCENARIO_NEEDS_FS | TORN_SCENARIO_REPLAYS_EXACTLY, /* one writer, the Nth op */
    .work = work,
};

/* torn: power-loss.  The target keeps its data on torn-fs.  A writer applies
 * `updates` self-checking patches; torn cuts the power exactly after the
 * 1st, 2nd, ... persistence operation (write, fsync, rename, ...), SQLite's
 * do_ioerr_test loop, until the writer finishes before the cut point.
 *
 *   mode "boundary": at each cut point, the model's crash (power: only what
 *                    was fsynced / committed by a directory fsync survives)
 *                    plus `torn_per_point` seeded torn cuts (a random subset
 *                    of unsynced pages, a random prefix of the unsynced
 *                    namespace operations);
 *   mode "sweep":    ALICE's enumeration at each cut point: nothing kept,
 *                    everything kept, each prefix of the unsynced namespace
 *                    operations without their data, all of them with a
 *                    partial prefix of the unsynced pages, and all but one
 *                    unsynced page.
 *
 * After every crash state the record must read back complete, at least the
 * last acknowledged version and at most one more.  Each state has an id
 * "op<N>/m<K>:d<spec>:<arg>"; `--set state=ID` re-materialises just that one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/parse.h"
#include "lib/power.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/target.h"
#include "fs/tornfs.h"
#include "core/util.h"
#include "core/work.h"

/* Crash states to try at one cut point, given what was unsynced there. */
static size_t sweep_states(const struct torn_power_cycle *probe, char states[][48], size_t max)
{
    size_t n = 0;
    uint64_t m = probe->pending_meta, p = probe->dirty_pages;

#define ADD(...)                                              \
    do {                                                      \
        if (n < max)                                          \
            snprintf(states[n++], sizeof states[0], __VA_ARGS__); \
    } while (0)
    ADD("meta=0 data=none");
    if (m || p)
        ADD("meta=all data=all");
    for (uint64_t k = 1; k <= m; k++)
        ADD("meta=%llu data=none", (unsigned long long)k);
    for (uint64_t k = 1; k < p && k <= 4; k++)
        ADD("meta=all data=pfx:%llu", (unsigned long long)(k * p / 5 ? k * p / 5 : k));
    for (uint64_t k = 0; p > 1 && k < 3; k++)
        ADD("meta=all data=drop:%llu", (unsigned long long)(k * (p - 1) / 2));
#undef ADD
    return n;
}

/* "op17/m2:dpfx:3" -> freeze 17, cut "state=m2:dpfx:3"; both parts checked
 * strictly before anything runs. */
static int parse_state(const char *s, struct torn_power_cycle *c, char *cut, size_t len,
                       struct torn_err *err)
{
    const char *slash = strchr(s, '/');
    char op[32];
    long long n;
    struct torn_fs_state st;

    if (strncmp(s, "op", 2) != 0 || !slash || (size_t)(slash - s) >= sizeof op + 2)
        return torn_err_set(err, TORN_E_CONFIG,
                            "power-loss: state '%s' is not a crash-state id (op<N>/m<K>:d<spec>:<arg>)",
                            s);
    snprintf(op, sizeof op, "%.*s", (int)(slash - s - 2), s + 2);
    if (torn_parse_int("power-loss: state op<N>", op, 1, TORN_FS_COUNT_MAX, &n, err) < 0 ||
        torn_fs_state_parse(slash + 1, &st, err) < 0)
        return TORN_E_CONFIG;
    c->freeze_at = (uint64_t)n;
    snprintf(cut, len, "state=%s", slash + 1);
    return TORN_OK;
}

/* Check the crash state just cut (c->state): 0, or a negative torn_code. */
static int check_state(struct torn_ctx *ctx, struct torn_power_cycle *c, long long *n_states,
                       long long *n_bad, struct torn_err *err)
{
    int rc;

    (*n_states)++;
    rc = torn_power_check(ctx, c, "after power cut", err);
    if (rc < 0)
        return rc;
    if (rc && !*n_bad)
        torn_result_metric_str(ctx->result, "first_failing_state", c->state);
    *n_bad += rc;
    return 0;
}

/* Run the writer to cut point c->freeze_at, cut with c->cut and check: 1
 * when the writer finished before the cut point, else as check_state. */
static int one_state(struct torn_ctx *ctx, struct torn_power_cycle *c, long long *n_states,
                     long long *n_bad, struct torn_err *err)
{
    int rc = torn_power_run_cycle(ctx, c, err);
    if (rc)
        return rc;
    if (!c->frozen)
        return 1;   /* the writer finished before the cut point */
    return check_state(ctx, c, n_states, n_bad, err);
}

/* The other crash states of one cut point (states[1..n-1]; states[0] was
 * cut by one_state, kept when n > 1).  Each is cut from the same stopped
 * writer (torn_power_recut: the disk is put back, then cut again), the last
 * one not kept; a target whose writes happen in a service runs the writer
 * again for each (its service is restarted and killed with every boot). */
static int other_states(struct torn_ctx *ctx, struct torn_power_cycle *c, char states[][48],
                        size_t n, long long *n_states, long long *n_bad, struct torn_err *err)
{
    char last[96];
    int rc;

    for (size_t i = 1; i < n; i++) {
        int recut = c->kept;
        c->cut = states[i];
        c->keep = recut && i + 1 < n;
        rc = recut ? torn_power_recut(ctx, c, err) : torn_power_run_cycle(ctx, c, err);
        if (rc == 0 && (recut || c->frozen))
            rc = check_state(ctx, c, n_states, n_bad, err);
        if (rc < 0)
            return rc;
    }
    if (!c->kept)
        return 0;
    /* Only one state at this point, and it was kept: cut it for good. */
    snprintf(last, sizeof last, "state=%s", strchr(c->state, '/') ? strchr(c->state, '/') + 1 : "");
    c->cut = last;
    c->keep = 0;
    return torn_power_recut(ctx, c, err);
}

/* rc, after taking back a kept cut a failed step left (best effort): the
 * mount may serve another scenario, whose `sync` a kept cut would refuse. */
static int drop_kept(struct torn_ctx *ctx, struct torn_power_cycle *c, int rc)
{
    char reply[128];

    if (c->kept)
        (void)torn_fs_ctlf(ctx->fs, reply, sizeof reply, NULL, "uncut");
    c->kept = 0;
    return rc;
}

static int power_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct torn_power_cycle c;
    const char *mode = torn_param_str(ctx, "mode"), *state = torn_param_str(ctx, "state");
    long long max_points = torn_param_int(ctx, "max_cut_points");
    long long torn_per = torn_param_int(ctx, "torn_per_point");
    long long n_states = 0, n_bad = 0, points = 0;
    char cut[128], states[32][48];
    uint64_t t0 = torn_now_ns();
    int rc = torn_power_need_fs(ctx, "power-loss", err), sweep;
    int reuse = !torn_target_caps_of(ctx->target, TORN_CAP_SERVICE, NULL, 0);

    if (rc)
        return rc;
    memset(&c, 0, sizeof c);
    c.updates = torn_param_int(ctx, "updates");
    c.payload_len = (size_t)torn_param_int(ctx, "payload_len");
    c.model = torn_param_str(ctx, "model");
    if (strcmp(c.model, "power") && strcmp(c.model, "process") && strcmp(c.model, "fsync-fail"))
        return torn_err_set(err, TORN_E_CONFIG,
                            "power-loss: model must be power, process or fsync-fail, not '%s'",
                            c.model);
    if (strcmp(mode, "boundary") && strcmp(mode, "sweep"))
        return torn_err_set(err, TORN_E_CONFIG,
                            "power-loss: mode must be boundary or sweep, not '%s'", mode);
    sweep = strcmp(mode, "sweep") == 0;
    if (state && *state) {
        if ((rc = parse_state(state, &c, cut, sizeof cut, err)) != 0)
            return rc;
        c.cut = cut;
        rc = one_state(ctx, &c, &n_states, &n_bad, err);
        torn_work_set(ctx->result, "crash_states", n_states); /* one state, no sweep */
        if (rc == 1)
            return torn_err_set(err, TORN_E_CONFIG, "power-loss: the writer finished before "
                                "persistence operation %llu", (unsigned long long)c.freeze_at);
        return rc;
    }
    for (uint64_t op = 1; !torn_stop_requested(); op++) {
        size_t n = 1;
        if ((max_points > 0 && points >= max_points) || torn_ctx_expired(ctx))
            break;
        c.freeze_at = op;
        c.cut = "";
        c.keep = reuse;
        rc = one_state(ctx, &c, &n_states, &n_bad, err);
        if (rc == 1)
            break;
        if (rc)
            return drop_kept(ctx, &c, rc);
        points++;
        if (sweep)
            n = sweep_states(&c, states, 32);
        else
            for (long long k = 0; k < torn_per && n < 32; k++, n++)
                snprintf(states[n], sizeof states[n], "torn %llu",
                         (unsigned long long)torn_seed_derive(ctx->seed, "torn") + op * 131 + (uint64_t)k);
        /* states[0] (the model's crash) was just done */
        if ((rc = other_states(ctx, &c, states, n, &n_states, &n_bad, err)) < 0)
            return drop_kept(ctx, &c, rc);
    }
    torn_result_metric(ctx->result, "cut_points", (double)points);
    torn_result_metric(ctx->result, "crash_states", (double)n_states);
    torn_result_metric(ctx->result, "damaged_states", (double)n_bad);
    torn_result_metric(ctx->result, "crash_states_per_s",
                       (double)n_states / ((double)(torn_now_ns() - t0) / 1e9 + 1e-9));
    torn_result_metric_str(ctx->result, "model", c.model);
    torn_result_metric_str(ctx->result, "mode", mode);
    torn_work_set(ctx->result, "crash_states", n_states);
    torn_work_set(ctx->result, "writes_acked", c.total_acks);
    torn_work_set(ctx->result, "sweeps", 1);
    torn_work_set(ctx->result, "sweeps_acked", c.total_acks > 0);
    if (points == 0)
        return torn_err_set(err, TORN_E_REMOTE,
                            "power-loss: the writer did no persistence operation at all on "
                            "torn-fs (is the store's data under TORN_DATA_DIR? --skip "
                            "power-loss leaves this scenario out)");
    return TORN_OK;
}

/* A sweep means something when writes were acknowledged before its cuts
 * (a one-state replay, state=ID, is judged on that state alone). */
static const struct torn_work_need work[] = {
    {"crash_states", NULL, 0, 1, "crash states checked"},
    {"sweeps_acked", "sweeps", 1.0, 1, "sweeps had a write acknowledged before a cut"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/power-loss.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_power_loss[];

const struct torn_scenario_ops torn_scenario_power_loss = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "power-loss",
    .summary = "cut power (torn-fs) after every persistence operation; no torn or lost write",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET | TORN_CAP_FS_DATA,
    .defaults = torn_defaults_power_loss, /* scenarios/power-loss.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("updates", 1, 10000), TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_INT("torn_per_point", 0, 32), TORN_PARAM_INT("max_cut_points", 0, 1000000),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = power_run,
    .flags = TORN_SCENARIO_NEEDS_FS | TORN_SCENARIO_REPLAYS_EXACTLY, /* cuts only a blocked writer */
    .work = work,
};

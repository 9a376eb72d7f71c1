/* torn: durability.  Writers stream acknowledged updates (each one record
 * of their own, so only durability is judged, not concurrency) while the
 * SERVER itself is SIGKILLed at a seeded moment (torn_target_fault
 * TORN_FAULT_SERVER_KILL), then restarted on the same data directory
 * (TORN_FAULT_SERVER_RESTART).  Acceptance: every acknowledged write is
 * readable after the restart ("acknowledged-durable"), and the record read
 * back is intact.  The result reports how many acknowledged writes were
 * lost and the window: how long before the crash the oldest lost write had
 * been acknowledged.
 *
 * With --fs torn (the server's data directory on torn-fs, see tornfs.h)
 * the crash is a power cut: after the SIGKILL torn-fs drops everything the
 * server had not fsynced (the records' baseline is made durable first).
 * Redis appendfsync everysec may then lose about a second of acknowledged
 * writes, appendfsync always must not; Postgres fsync=off may lose
 * committed data, the defaults must not.
 *
 * Ground truth (the servers' documentation): Postgres with
 * synchronous_commit=off may lose the last commits on a crash, with it on it
 * must not; Redis without persistence loses everything on restart, with
 * appendonly yes + appendfsync always it must not.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/steps.h"
#include "core/err.h"
#include "core/pace.h"
#include "core/history.h"
#include "proc/proc.h"
#include "lib/race.h"
#include "lib/acks.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "fs/tornfs.h"
#include "core/util.h"
#include "core/work.h"

enum { MSG_ACK = 1, MSG_FAIL, MSG_READY };

#define MAX_WORKERS TORN_ACKS_MAX

static void record_id(char *buf, size_t len, int worker)
{
    snprintf(buf, len, "durability-w%d", worker);
}

/* A writer: seq 1, 2, ... on its own record until the server goes away. */
static int writer(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    size_t payload_len = (size_t)torn_param_int(ctx, "payload_len");
    char id[64];

    struct torn_msg ready = {.type = MSG_READY, .worker = (uint32_t)index};
    struct torn_pace pace;

    (void)argp;
    record_id(id, sizeof id, index);
    torn_ctx_pace_init(ctx, &pace, (int)torn_param_int(ctx, "workers"), index);
    for (long long seq = 1; torn_ctx_pace(ctx, &pace); seq++) {
        cJSON *patch = torn_payload_patch(ctx->seed, seq, payload_len);
        struct torn_err err;
        struct torn_msg m;
        int rc;

        torn_err_clear(&err);
        rc = patch ? torn_step_update(ctx, t, id, patch, NULL, &err) : TORN_E_NOMEM;
        cJSON_Delete(patch);
        memset(&m, 0, sizeof m);
        m.type = rc ? MSG_FAIL : MSG_ACK;
        m.worker = (uint32_t)index;
        m.a = seq;
        m.t_ns = torn_now_ns();
        if (rc)
            snprintf(m.text, sizeof m.text, "%.191s", err.msg);
        torn_msg_send(wfd, &m);
        if (seq == 1)  /* the server answered: the kill delay counts from here */
            torn_msg_send(wfd, &ready);
        if (rc)
            return 0; /* the server is gone: nothing more to acknowledge */
    }
    return 0;
}

/* Writer acknowledgements (lib/acks.h); the other messages carry nothing to keep. */
static void acks_note(void *arg, const struct torn_msg *m)
{
    if (m->type == MSG_ACK)
        torn_acks_note(arg, (int)m->worker, m->a, m->t_ns);
}

struct totals {
    long long acked, lost, rounds;
    double max_window_ms, recover_ms;
};

static int reset_records(struct torn_ctx *ctx, int n, struct torn_err *err)
{
    char id[64];
    int rc;

    if ((rc = torn_target_open(ctx->target, err)) != 0)
        return rc;
    for (int w = 0; w < n && !rc; w++) {
        record_id(id, sizeof id, w);
        rc = torn_target_reset(ctx->target, id, NULL, NULL, err);
    }
    torn_target_close(ctx->target);
    return rc;
}

/* After the restart: compare each record with what was acknowledged. */
static int judge(struct torn_ctx *ctx, int n, long long round, const struct torn_acks *a,
                 uint64_t t_kill, struct totals *tot, struct torn_err *err)
{
    char id[64], why[160];
    int rc;

    if ((rc = torn_target_open(ctx->target, err)) != 0)
        return rc;
    for (int w = 0; w < n; w++) {
        cJSON *rec = NULL;
        long long found = 0, lost;
        record_id(id, sizeof id, w);
        rc = torn_step_read(ctx, ctx->target, id, &rec, err);
        if (rc && rc != TORN_E_NOTFOUND && rc != TORN_E_CORRUPT)
            break;
        if (rc == TORN_E_CORRUPT || (rec && !torn_record_intact(rec, why, sizeof why)))
            torn_result_violation(ctx->result, "no-torn-write", id, torn_ctx_elapsed(ctx),
                                  "round %lld: record unreadable after the server crash: %s",
                                  round, rc ? err->msg : why);
        found = rec ? torn_record_int(rec, "seq", 0) : 0;
        cJSON_Delete(rec);
        rc = TORN_OK;
        tot->acked += a->acked[w];
        lost = a->acked[w] - found;
        if (lost <= 0)
            continue;
        /* t_kill is taken once the server is dead: every ack is stamped before. */
        double window = torn_acks_window_ms(a, w, found, t_kill);
        tot->lost += lost;
        if (window > tot->max_window_ms)
            tot->max_window_ms = window;
        torn_result_violation(ctx->result, "acknowledged-durable", id, torn_ctx_elapsed(ctx),
                              "round %lld: %lld acknowledged writes lost by the server crash "
                              "(seq %lld..%lld acknowledged, %s after restart); the oldest "
                              "was acknowledged %.1f ms before the crash",
                              round, lost, found + 1, a->acked[w],
                              found ? "earlier seq read" : "record missing", window);
    }
    torn_target_close(ctx->target);
    return rc;
}

/* One round: writers run, the server is killed, writers are collected,
 * the server restarts, the records are judged. */
static int one_round(struct torn_ctx *ctx, long long round, struct totals *tot,
                     struct torn_err *err)
{
    int n = (int)torn_param_int(ctx, "workers");
    double min_ms = torn_param_num(ctx, "min_delay_ms"), max_ms = torn_param_num(ctx, "max_delay_ms");
    struct torn_child kids[MAX_WORKERS];
    struct torn_acks a;
    struct torn_msg m;
    uint64_t t_kill, t0;
    int rc, started = 0;

    memset(&a, 0, sizeof a);
    if ((rc = reset_records(ctx, n, err)) != 0)
        return rc;
    if (ctx->fs && (rc = torn_fs_ctl(torn_fs_mountpoint(ctx->fs), "sync", NULL, 0, err)) != 0)
        return rc;   /* the baseline survives any cut */
    for (int w = 0; w < n && !rc; w++)
        if ((rc = torn_child_spawn(ctx, w, 1, writer, NULL, &kids[w], err)) == 0)
            started++;
    if (!rc)
        rc = torn_wait_ready(kids, started, MSG_READY, ctx->timeout_ms, acks_note, &a, err);
    torn_drain_until(kids, started,
                     torn_ctx_until(ctx, (uint64_t)((min_ms + torn_rng_double(&ctx->rng) *
                                                               (max_ms - min_ms)) * 1e6)),
                     acks_note, &a);
    if (!rc)
        rc = torn_target_fault(ctx->target, TORN_FAULT_SERVER_KILL, NULL, err);
    t_kill = torn_now_ns(); /* the server is certainly dead now */
    torn_history_log_add(ctx->history, "fault", 0, "server-kill", NULL, NULL, t_kill);
    if (!rc && ctx->fs) {   /* and then the power goes */
        rc = torn_fs_ctl(torn_fs_mountpoint(ctx->fs), "cut", NULL, 0, err);
        torn_history_log_add(ctx->history, "fault", 0, "power-cut", NULL, NULL, 0);
    }
    for (int w = 0; rc && w < started; w++)
        torn_proc_signal(kids[w].pid, SIGKILL); /* no crash happened: stop them here */
    for (int w = 0; w < started; w++) {
        while (torn_msg_recv(kids[w].fd, &m, ctx->timeout_ms, NULL) == 1)
            acks_note(&a, &m);
        torn_child_wait(&kids[w], ctx->timeout_ms, NULL, NULL);
    }
    t0 = torn_now_ns();
    if (!rc)
        rc = torn_target_fault(ctx->target, TORN_FAULT_SERVER_RESTART, NULL, err);
    torn_ctx_op(ctx, TORN_OP_RECOVER, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
    torn_history_log_add(ctx->history, "fault", 0, "server-restart", NULL, NULL, 0);
    if ((double)(torn_now_ns() - t0) / 1e6 > tot->recover_ms)
        tot->recover_ms = (double)(torn_now_ns() - t0) / 1e6;
    if (!rc)
        rc = judge(ctx, started, round, &a, t_kill, tot, err);
    torn_acks_free(&a);
    return rc;
}

static int durability_run(struct torn_ctx *ctx, struct torn_err *err)
{
    long long rounds = torn_param_int(ctx, "rounds"), workers = torn_param_int(ctx, "workers");
    struct totals tot = {0};
    int rc = TORN_OK;

    if (workers < 1 || workers > MAX_WORKERS)
        return torn_err_set(err, TORN_E_CONFIG, "durability: workers must be 1..%d",
                            MAX_WORKERS);
    for (long long r = 1; r <= rounds && !rc && !torn_stop_requested(); r++) {
        if (torn_ctx_expired(ctx))
            break;
        rc = one_round(ctx, r, &tot, err);
        tot.rounds++;
    }
    if (!rc && tot.acked == 0)
        rc = torn_err_set(err, TORN_E_REMOTE,
                          "durability: no write was acknowledged before the crashes (raise "
                          "min_delay_ms?)");
    torn_result_metric(ctx->result, "server_crashes", (double)tot.rounds);
    torn_result_metric(ctx->result, "acknowledged_writes", (double)tot.acked);
    torn_result_metric(ctx->result, "lost_acknowledged_writes", (double)tot.lost);
    torn_result_metric(ctx->result, "loss_window_ms", tot.max_window_ms);
    torn_result_metric(ctx->result, "max_recovery_ms", tot.recover_ms);
    torn_work_set(ctx->result, "crashes_planned", rounds);
    torn_work_set(ctx->result, "crashes", tot.rounds);
    torn_work_set(ctx->result, "writes_acked", tot.acked);
    torn_work_deadline(ctx);
    return rc;
}

static const struct torn_work_need work[] = {
    {"crashes", "crashes_planned", 0.5, 1, "planned server crashes done"},
    {"writes_acked", NULL, 0, 1, "writes acknowledged before the crashes"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/durability.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_durability[];

const struct torn_scenario_ops torn_scenario_durability = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "durability",
    .summary = "SIGKILL the server itself during acknowledged writes, restart; nothing acked lost",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET | TORN_CAP_FAULT,
    .defaults = torn_defaults_durability, /* scenarios/durability.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("rounds", 1, 10000), TORN_PARAM_INT("workers", 1, MAX_WORKERS),
        TORN_PARAM_REAL("min_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("max_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION), TORN_PARAM_REAL("rate", 0, 1e7),
        {NULL, 0, 0, 0}},
    .run = durability_run,
    .work = work,
};

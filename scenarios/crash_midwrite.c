/* torn: crash-midwrite.  A writer child streams update_fields on one record
 * and acknowledges each success to the parent through a pipe; the parent
 * SIGKILLs it at seeded random moments, many times.  The delay counts from
 * the writer's first answer (its target is ready: an adapter started, a
 * connection made), never from fork, and its window widens to two updates
 * of the target's measured speed when those are longer (lib/speed.h), so
 * the kills fall at every point of an update on a slow target too.  After each kill a fresh reader checks
 * the record against the ledger (common.h): it parses and its payload
 * digest matches (no torn write), it holds one write's results with that
 * write's status, its version is at least the highest known one (no
 * acknowledged write lost), and it was written by an acknowledged update or
 * one whose outcome torn never saw, which may land at ANY later time (a
 * server outlives its killed client): a version beyond the known one + the
 * updates still pending is a phantom write. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/speed.h"
#include "lib/steps.h"
#include "core/err.h"
#include "core/history.h"
#include "proc/proc.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

enum {
    MSG_ATTEMPT = TORN_STEP_MSG_ATTEMPT,
    MSG_ACK = TORN_STEP_MSG_ACK,
    MSG_FAIL = TORN_STEP_MSG_FAIL
};

static const char *const KEY = "crash-midwrite";

struct writer_arg {
    long long seq0;
    size_t payload_len;
};

/* The writer: update until killed.  Never returns on its own unless the
 * target fails repeatedly (then it reports and exits). */
static int writer(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    struct writer_arg *a = argp;
    struct torn_err err;
    int failures = 0;

    for (long long seq = a->seq0;; seq++) {
        int rc = torn_step_update_announced(ctx, t, KEY, wfd, index, seq, a->payload_len, 1, &err);

        if (rc && ++failures > 100)
            return 3;
    }
}

/* Check the record after kill number k; returns 1 if it was damaged (the
 * caller then resets it so later kills are judged on their own). */
static int check_after_kill(struct torn_ctx *ctx, struct torn_target *t, int k, double kill_s,
                            struct torn_ledger *l)
{
    struct torn_err err;
    cJSON *rec = NULL;
    const char *crit;
    char why[512];
    int rc, bad;

    torn_err_clear(&err);
    rc = torn_step_read(ctx, t, KEY, &rec, &err);
    if (rc) {
        const char *how;
        torn_step_read_failure(rc, &crit, &how);
        torn_result_violation(ctx->result, crit, KEY, kill_s,
                              "version %lld acknowledged, record read back %s after kill #%d at "
                              "t=%.2f s: %s",
                              l->acked_version, how, k, kill_s, err.msg);
        return 1;
    }
    bad = torn_ledger_judge(l, rec, 1, &crit, why, sizeof why);
    if (bad)
        torn_result_violation(ctx->result, crit, KEY, kill_s, "after kill #%d at t=%.2f s: %s", k,
                              kill_s, why);
    cJSON_Delete(rec);
    return bad;
}

static int reset_record(struct torn_ctx *ctx, struct torn_target *t, struct torn_ledger *l,
                        struct torn_err *err)
{
    cJSON *rec = NULL;
    uint64_t t0 = torn_now_ns();
    int rc = torn_target_reset(t, KEY, NULL, &rec, err);

    torn_ctx_op(ctx, TORN_OP_RESET, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
    torn_ledger_reset(l, rc ? 0 : torn_record_version(rec));
    cJSON_Delete(rec);
    return rc;
}

/* What the writer reported: to the ledger, and its updates' durations. */
static void take(struct torn_ledger *l, struct torn_speed *sp, const struct torn_msg *m)
{
    torn_ledger_take(l, m);
    if (m->type == MSG_ATTEMPT)
        torn_speed_start(sp, 0, m->t_ns);
    else
        torn_speed_answer(sp, 0, m->t_ns);
}

/* Wait (bounded) for the writer's first answer, acknowledged or not: the
 * kill delay counts from there, so a target that is slow to start (an
 * interpreter, a connection) is never killed before it could write.
 * 0 when it answered, 1 when not within the timeout. */
static int await_ready(struct torn_ctx *ctx, const struct torn_child *child,
                       struct torn_ledger *l)
{
    uint64_t deadline = torn_now_ns() + (uint64_t)ctx->timeout_ms * 1000000ULL;
    struct torn_msg m;

    while (torn_now_ns() < deadline) {
        int left = (int)((deadline - torn_now_ns()) / 1000000ULL) + 1;
        if (torn_msg_recv(child->fd, &m, left, NULL) != 1)
            return 1;
        torn_ledger_take(l, &m); /* untimed: a fresh writer's first update is a cold one */
        if (m.type != MSG_ATTEMPT)
            return 0;
    }
    return 1;
}

/* One writer life: spawn, wait until it answered once, let it run for a
 * seeded delay (drawn now: the writer's speed is known best), SIGKILL it,
 * collect what it reported.  *unready is set when its first update got no
 * answer within the timeout. */
static int one_kill(struct torn_ctx *ctx, struct torn_ledger *l, struct torn_speed *sp,
                    struct writer_arg *wa, double *kill_s, int *unready, struct torn_err *err)
{
    double min_ms = torn_param_num(ctx, "min_delay_ms"), max_ms = torn_param_num(ctx, "max_delay_ms");
    uint64_t delay_ns;
    struct torn_child child;
    struct torn_msg m;
    int rc;

    if ((rc = torn_child_spawn(ctx, 0, 1, writer, wa, &child, err)) != 0)
        return rc;
    *unready = await_ready(ctx, &child, l);
    delay_ns = (uint64_t)(torn_speed_delay_ms(sp, &ctx->rng, min_ms, max_ms) * 1e6);
    if (!*unready)
        torn_ctx_sleep(ctx, delay_ns); /* cut at the deadline: --duration holds */
    *kill_s = torn_ctx_elapsed(ctx);
    rc = torn_step_kill_service(ctx, 0, err); /* a service is the writer: crash it first */
    torn_proc_signal(child.pid, SIGKILL);
    torn_history_log_add(ctx->history, "fault", 0, "kill", KEY, NULL, 0);
    while (torn_msg_recv(child.fd, &m, ctx->timeout_ms, NULL) == 1)
        take(l, sp, &m);
    torn_speed_start(sp, 0, 0); /* the update it was killed in never answers */
    torn_child_wait(&child, ctx->timeout_ms, NULL, NULL);
    torn_ledger_cut(l);
    return rc ? rc : torn_step_restart_service(ctx, err);
}

struct tally {
    long long planned, done, damaged, unready, cycles_acked;
    int time_limited;
    struct torn_speed speed;  /* the writer's updates, timed */
};

/* Metrics, work evidence, and the ERROR when no update ever completed. */
static int report(struct torn_ctx *ctx, const struct torn_ledger *l, const struct tally *n,
                  struct torn_err *err)
{
    char speed[256];

    torn_result_metric(ctx->result, "kills", (double)n->done);
    torn_result_metric(ctx->result, "acknowledged_writes", (double)l->n_acks);
    torn_result_metric(ctx->result, "failed_writes", (double)l->n_fails);
    torn_result_metric(ctx->result, "damaged_after_kill", (double)n->damaged);
    torn_result_metric(ctx->result, "indefinite_writes_pending", (double)l->n_pending);
    torn_result_metric(ctx->result, "indefinite_writes_landed_late", (double)l->n_late);
    torn_result_metric(ctx->result, "writer_never_answered", (double)n->unready);
    torn_work_set(ctx->result, "kills_planned", n->planned);
    torn_work_set(ctx->result, "kills", n->done);
    torn_work_set(ctx->result, "cycles_acked", n->cycles_acked);
    torn_work_set(ctx->result, "writes_acked", l->n_acks);
    torn_work_set(ctx->result, "time_limited", n->time_limited);
    torn_speed_report(&n->speed, ctx->result);
    torn_speed_describe(&n->speed, torn_param_num(ctx, "min_delay_ms"), speed, sizeof speed);
    if (l->n_fails)
        torn_work_hint(ctx->result, "%lld writes acknowledged, %lld failed (last: %s)%s%s",
                       l->n_acks, l->n_fails, l->last_fail, speed[0] ? "; " : "", speed);
    else if (speed[0])
        torn_work_hint(ctx->result, "%lld writes acknowledged; %s", l->n_acks, speed);
    if (l->n_acks || !n->done)
        return TORN_OK;
    if (n->unready == n->done)
        return torn_err_set(err, TORN_E_TIMEOUT,
                            "crash-midwrite: the writer's first update got no answer within "
                            "--timeout-ms %d in any of %lld cycles: the target is too slow to "
                            "start or to write (raise --timeout-ms)",
                            ctx->timeout_ms, n->done);
    return torn_err_set(err, TORN_E_REMOTE,
                        "crash-midwrite: the writer never completed an update in %lld cycles%s%s",
                        n->done, l->last_fail[0] ? ": " : "", l->last_fail);
}

static int crash_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    struct writer_arg wa = {0, (size_t)torn_param_int(ctx, "payload_len")};
    struct torn_ledger *l = calloc(1, sizeof *l);
    struct tally n = {.planned = torn_param_int(ctx, "kills")};
    int rc;

    if (!l)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if ((rc = torn_target_open(ctx->target, err)) != 0 || (rc = reset_record(ctx, t, l, err)) != 0)
        goto out;
    torn_target_close(t);
    for (long long k = 1; k <= n.planned && !torn_stop_requested(); k++) {
        long long acks = l->n_acks;
        double kill_s;
        int slow;

        if (torn_ctx_expired(ctx)) {
            n.time_limited = !torn_stop_requested();
            break;
        }
        wa.seq0 = k * 1000000;
        if ((rc = one_kill(ctx, l, &n.speed, &wa, &kill_s, &slow, err)) != 0)
            goto out;
        n.unready += slow;
        n.cycles_acked += l->n_acks > acks;
        n.done++;
        if ((rc = torn_target_open(ctx->target, err)) != 0)
            goto out;
        if (check_after_kill(ctx, t, (int)k, kill_s, l)) {
            n.damaged++;
            rc = reset_record(ctx, t, l, err);
        }
        torn_target_close(t);
        if (rc)
            goto out;
    }
    rc = report(ctx, l, &n, err);
out:
    free(l);
    return rc;
}

/* A kill means something when the record held acknowledged writes. */
static const struct torn_work_need work[] = {
    {"kills", "kills_planned", 0.5, 2, "planned kills landed"},
    {"cycles_acked", "kills", 0.25, 1, "kills followed an acknowledged write"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/crash-midwrite.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_crash_midwrite[];

const struct torn_scenario_ops torn_scenario_crash_midwrite = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "crash-midwrite",
    .summary = "SIGKILL a writer mid-update many times; no torn, lost or phantom write",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET,
    .defaults = torn_defaults_crash_midwrite, /* scenarios/crash-midwrite.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("kills", 1, 100000), TORN_PARAM_REAL("min_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("max_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = crash_run,
    .work = work,
};

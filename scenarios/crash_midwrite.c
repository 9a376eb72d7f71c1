/* torn: crash-midwrite.  A writer child streams update_fields on one record
 * and acknowledges each success to the parent through a pipe; the parent
 * SIGKILLs it at seeded random moments, many times (the delay counts from the writer's first attempt).  After each kill a fresh
 * reader checks: the record parses and its payload digest matches (no torn
 * write), its version is at least the last acknowledged one (no acknowledged
 * write lost) and at most one more (no phantom write). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "err.h"
#include "history.h"
#include "proc.h"
#include "record.h"
#include "scenario.h"
#include "target.h"
#include "util.h"
#include "work.h"

enum { MSG_ATTEMPT = TORN_SC_MSG_ATTEMPT, MSG_ACK = TORN_SC_MSG_ACK, MSG_FAIL = TORN_SC_MSG_FAIL };

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
        int rc = torn_sc_update_announced(ctx, t, KEY, wfd, index, seq, a->payload_len, 1, &err);

        if (rc && ++failures > 100)
            return 3;
    }
}

struct cycle {
    long long acked_version;   /* highest acknowledged version so far */
    long long acked_seq;
    int in_flight;             /* an attempt was sent without its answer */
    long long n_acks, n_fails;
    char last_fail[192];
};

static void absorb(struct cycle *c, const struct torn_msg *m)
{
    if (m->type == MSG_ATTEMPT) {
        c->in_flight = 1;
    } else if (m->type == MSG_ACK) {
        c->in_flight = 0;
        c->n_acks++;
        if (m->b > c->acked_version) {
            c->acked_version = m->b;
            c->acked_seq = m->a;
        }
    } else if (m->type == MSG_FAIL) {
        /* A failed update may still have happened (indefinite). */
        c->n_fails++;
        snprintf(c->last_fail, sizeof c->last_fail, "%s", m->text);
    }
}

static void drain(int fd, struct cycle *c, int timeout_ms)
{
    struct torn_msg m;

    while (torn_msg_recv(fd, &m, timeout_ms, NULL) == 1)
        absorb(c, &m);
}

/* Check the record after kill number k; returns 1 if it was damaged (the
 * caller then resets it so later kills are judged on their own). */
static int check_after_kill(struct torn_ctx *ctx, struct torn_target *t, int k, double kill_s,
                            struct cycle *c)
{
    struct torn_err err;
    cJSON *rec = NULL;
    char why[256], desc[160];
    const char *status;
    long long v, seq;
    int rc;

    torn_err_clear(&err);
    rc = torn_sc_read(ctx, t, KEY, &rec, &err);
    if (rc) {
        torn_result_violation(ctx->result, rc == TORN_E_NOTFOUND ? "no-lost-write" : "no-torn-write",
                              KEY, kill_s,
                              "version %lld acknowledged, record read back %s after kill #%d at "
                              "t=%.2f s: %s",
                              c->acked_version, rc == TORN_E_NOTFOUND ? "missing" : "unreadable", k,
                              kill_s, err.msg);
        return 1;
    }
    v = torn_record_version(rec);
    torn_sc_describe(rec, desc, sizeof desc);
    if (!torn_record_intact(rec, why, sizeof why)) {
        torn_result_violation(ctx->result, "no-torn-write", KEY, kill_s,
                              "record read back after kill #%d at t=%.2f s is torn (%s): %s", k,
                              kill_s, desc, why);
        cJSON_Delete(rec);
        return 1;
    }
    seq = torn_record_int(rec, "seq", 0);
    status = torn_record_str(rec, "status");
    if (seq > 0 && (!status || strcmp(status, torn_sc_step_status(seq)) != 0)) {
        /* Results of write seq are there, its status is not: a write applied
         * in parts (seed 000's two calls). */
        torn_result_violation(ctx->result, "no-intermediate-state", KEY, kill_s,
                              "after kill #%d at t=%.2f s the record holds write %lld's results "
                              "but status '%s', not '%s': the write was applied in parts (%s)",
                              k, kill_s, seq, status ? status : "(none)",
                              torn_sc_step_status(seq), desc);
        cJSON_Delete(rec);
        return 1;
    }
    if (v < c->acked_version) {
        torn_result_violation(ctx->result, "no-lost-write", KEY, kill_s,
                              "version %lld (seq %lld) acknowledged, read back %s after kill #%d "
                              "at t=%.2f s",
                              c->acked_version, c->acked_seq, desc, k, kill_s);
        cJSON_Delete(rec);
        return 1;
    }
    if (v > c->acked_version + (c->in_flight ? 1 : 0)) {
        torn_result_violation(ctx->result, "no-phantom-write", KEY, kill_s,
                              "last acknowledged version %lld%s, read back %s after kill #%d",
                              c->acked_version, c->in_flight ? " (+1 in flight)" : "", desc, k);
        cJSON_Delete(rec);
        return 1;
    }
    /* An in-flight write that landed was observed: later reads must not go
     * below it either, and the next writer builds on it. */
    c->acked_version = v;
    c->acked_seq = torn_record_int(rec, "seq", c->acked_seq);
    c->in_flight = 0;
    cJSON_Delete(rec);
    return 0;
}

static int reset_record(struct torn_ctx *ctx, struct torn_target *t, struct cycle *c,
                        struct torn_err *err)
{
    cJSON *rec = NULL;
    uint64_t t0 = torn_now_ns();
    int rc = t->ops->reset(t, KEY, NULL, &rec, err);

    torn_ctx_op(ctx, TORN_OP_RESET, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
    c->acked_version = rc ? 0 : torn_record_version(rec);
    c->acked_seq = 0;
    c->in_flight = 0;
    cJSON_Delete(rec);
    return rc;
}

static int crash_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    long long kills = torn_param_int(ctx, "kills");
    double min_ms = torn_param_num(ctx, "min_delay_ms"), max_ms = torn_param_num(ctx, "max_delay_ms");
    struct writer_arg wa = {0, (size_t)torn_param_int(ctx, "payload_len")};
    struct cycle c;
    long long done = 0, damaged = 0, total_acks = 0, cycles_acked = 0;
    int time_limited = 0;
    int rc;

    memset(&c, 0, sizeof c);
    if ((rc = torn_sc_open(ctx, err)) != 0 || (rc = reset_record(ctx, t, &c, err)) != 0)
        return rc;
    torn_target_close(t);
    for (long long k = 1; k <= kills && !torn_stop_requested(); k++) {
        struct torn_child child;
        uint64_t delay_ns;
        double kill_s;

        if (torn_ctx_expired(ctx)) {
            time_limited = !torn_stop_requested();
            break;
        }
        wa.seq0 = k * 1000000;
        delay_ns = (uint64_t)((min_ms + torn_rng_double(&ctx->rng) * (max_ms - min_ms)) * 1e6);
        if ((rc = torn_child_spawn(ctx, 0, 1, writer, &wa, &child, err)) != 0)
            return rc;
        /* The delay counts from the writer's first attempt, not from fork:
         * start-up time must not decide where the kill lands. */
        {
            struct torn_msg first;
            if (torn_msg_recv(child.fd, &first, ctx->timeout_ms, NULL) == 1)
                absorb(&c, &first);
        }
        torn_ctx_sleep(ctx, delay_ns); /* cut at the deadline: --duration holds */
        kill_s = torn_ctx_elapsed(ctx);
        rc = torn_sc_service_kill(ctx, 0, err); /* a service is the writer: crash it first */
        torn_proc_signal(child.pid, SIGKILL);
        torn_history_add(ctx->history, "fault", 0, "kill", KEY, NULL, 0);
        drain(child.fd, &c, ctx->timeout_ms);
        torn_child_wait(&child, ctx->timeout_ms, NULL, NULL);
        if (rc || (rc = torn_sc_service_restart(ctx, err)) != 0)
            return rc;
        total_acks += c.n_acks;
        cycles_acked += c.n_acks > 0;
        c.n_acks = 0;
        done++;
        if ((rc = torn_sc_open(ctx, err)) != 0)
            return rc;
        if (check_after_kill(ctx, t, (int)k, kill_s, &c)) {
            damaged++;
            if ((rc = reset_record(ctx, t, &c, err)) != 0) {
                torn_target_close(t);
                return rc;
            }
        }
        torn_target_close(t);
    }
    torn_result_metric(ctx->result, "kills", (double)done);
    torn_result_metric(ctx->result, "acknowledged_writes", (double)total_acks);
    torn_result_metric(ctx->result, "failed_writes", (double)c.n_fails);
    torn_result_metric(ctx->result, "damaged_after_kill", (double)damaged);
    torn_work_set(ctx->result, "kills_planned", kills);
    torn_work_set(ctx->result, "kills", done);
    torn_work_set(ctx->result, "cycles_acked", cycles_acked);
    torn_work_set(ctx->result, "writes_acked", total_acks);
    torn_work_set(ctx->result, "time_limited", time_limited);
    if (c.n_fails)
        torn_work_hint(ctx->result, "%lld writes acknowledged, %lld failed (last: %s)", total_acks,
                       c.n_fails, c.last_fail);
    if (total_acks == 0 && done > 0)
        return torn_err_set(err, TORN_E_REMOTE,
                            "crash-midwrite: the writer never completed an update in %lld "
                            "cycles%s%s (raise max_delay_ms?)",
                            done, c.last_fail[0] ? ": " : "", c.last_fail);
    return TORN_OK;
}

/* A kill means something when the record held acknowledged writes. */
static const struct torn_work_need work[] = {
    {"kills", "kills_planned", 0.5, 2, "planned kills landed"},
    {"cycles_acked", "kills", 0.25, 1, "kills followed an acknowledged write"},
    {NULL, NULL, 0, 0, NULL},
};

const struct torn_scenario_ops torn_scenario_crash_midwrite = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "crash-midwrite",
    .summary = "SIGKILL a writer mid-update many times; no torn, lost or phantom write",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET,
    .defaults = "{\"kills\": 40, \"min_delay_ms\": 0, \"max_delay_ms\": 40, "
                "\"payload_len\": 262144, \"duration_s\": 20}",
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("kills", 1, 100000), TORN_PARAM_REAL("min_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("max_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = crash_run,
    .work = work,
};

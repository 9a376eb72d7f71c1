/* torn: concurrent-updaters.  W worker processes (like W service instances)
 * each perform K update_fields on one record, each setting its own counter
 * field c<w> to its number of updates so far; R reader processes poll
 * meanwhile.  Checks: every read parses and is intact (no torn read), each
 * reader sees non-decreasing versions (monotonic reads), every acknowledged
 * increment is present at the end (no lost update), and the final version is
 * 1 + the number of acknowledged updates.
 *
 * With rate > 0 (torn run --rate OPS) the updaters run open loop: their
 * updates are due at fixed intervals (rate per second over all updaters, see
 * pace.h) and each is also measured from when it was due, so a stall of the
 * target shows in the corrected percentiles (result.h, torn_openloop).
 * Readers always poll closed loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/steps.h"
#include "core/err.h"
#include "core/pace.h"
#include "proc/proc.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

enum { MSG_ATTEMPT = 100, MSG_ACK = 1, MSG_FAIL, MSG_INFO, MSG_TORN_READ, MSG_BAD_COUNT, MSG_REGRESS, MSG_REGRESS_COUNT, MSG_READS, MSG_READ_TIMEOUT, MSG_READING };

static const char *const KEY = "concurrent-updaters";

struct params {
    long long updates;
    size_t payload_len;
    int n_workers;
    double rate;             /* open-loop updates/s over all updaters; 0 closed loop */
    volatile int *done;      /* shared flag: workers finished (readers stop) */
};

static int updater(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    struct params *p = argp;
    char counter[32];

    struct torn_pace pace;

    snprintf(counter, sizeof counter, "c%d", index);
    torn_ctx_pace_init(ctx, &pace, p->n_workers, index);
    for (long long i = 1; i <= p->updates && !torn_stop_requested(); i++) {
        struct torn_err err;
        long long seq = (long long)index * 1000000 + i;
        cJSON *patch, *rec = NULL;
        int rc;

        /* Built before the wait, so an update starts as soon as it is due. */
        patch = torn_step_patch(ctx, seq, p->payload_len, counter, i);
        if (!torn_ctx_pace(ctx, &pace)) {
            cJSON_Delete(patch);
            break;
        }
        torn_err_clear(&err);
        torn_msg_post(wfd, MSG_ATTEMPT, index, i, 0, 0, NULL);
        rc = patch ? torn_step_update(ctx, t, KEY, patch, &rec, &err) : TORN_E_NOMEM;
        if (rc == 0)
            torn_msg_post(wfd, MSG_ACK, index, i, torn_record_version(rec), 0, NULL);
        else
            torn_msg_post(wfd, err.indefinite ? MSG_INFO : MSG_FAIL, index, i, rc, 0, err.msg);
        cJSON_Delete(patch);
        cJSON_Delete(rec);
    }
    return 0;
}

static int reader(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    struct params *p = argp;
    long long last = 0, reads = 0, bad = 0, regress = 0;
    char why[256], desc[160], text[420];

    /* At least one read, even when the updaters finish before this reader
     * starts: a reader that never read would be judged as missing work. */
    while (reads == 0 || (!*p->done && !torn_stop_requested())) {
        struct torn_err err;
        cJSON *rec = NULL;
        int rc;

        torn_err_clear(&err);
        rc = torn_step_read(ctx, t, KEY, &rec, &err);
        if (reads++ == 0) /* this reader works, even if it is killed before the end */
            torn_msg_post(wfd, MSG_READING, index - p->n_workers, 0, 0, 0, NULL);
        /* Every bad read is counted; the first few carry evidence.  A read
         * that timed out saw nothing: not a torn read, an unknown one. */
        if (rc == TORN_E_TIMEOUT) {
            torn_msg_post(wfd, MSG_READ_TIMEOUT, index - p->n_workers, last, rc, 0, err.msg);
        } else if (rc) {
            torn_msg_post(wfd, bad++ < 3 ? MSG_TORN_READ : MSG_BAD_COUNT, index - p->n_workers,
                          last, rc, 0, err.msg);
        } else if (!torn_record_intact(rec, why, sizeof why)) {
            torn_step_describe_record(rec, desc, sizeof desc);
            snprintf(text, sizeof text, "%s: %s", desc, why);
            torn_msg_post(wfd, bad++ < 3 ? MSG_TORN_READ : MSG_BAD_COUNT, index - p->n_workers,
                          last, 0, 0, text);
        } else {
            long long v = torn_record_version(rec);
            if (v < last) {
                torn_step_describe_record(rec, desc, sizeof desc);
                torn_msg_post(wfd, regress++ < 3 ? MSG_REGRESS : MSG_REGRESS_COUNT,
                              index - p->n_workers, last, v, 0, desc);
            }
            if (v > last)
                last = v;
        }
        cJSON_Delete(rec);
    }
    torn_msg_post(wfd, MSG_READS, index - p->n_workers, reads, last, 0, NULL);
    return 0;
}

struct tally {
    long long *acked;       /* per worker: highest acknowledged count */
    long long *attempted;   /* per worker: highest count attempted (incl. fail/info) */
    long long n_ack, n_fail, n_info, n_reads, torn_reads, hidden_torn, regressions, hidden_regress;
    long long read_timeouts; /* reads that got no answer in time: indefinite */
    long long n_reading;    /* readers that made at least one read */
    int time_limited;       /* cut off at duration_s */
    char last_err[192];     /* the last failed or unknown update's error */
    int n_workers;          /* reader r is history process n_workers + r + 1 */
};

static void absorb(struct torn_ctx *ctx, const struct torn_msg *m, struct tally *ty)
{
    double t_s = (double)(m->t_ns - ctx->t0_ns) / 1e9;

    switch (m->type) {
    case MSG_ATTEMPT:
        /* Until its answer arrives it may have happened (a worker killed at
         * the time limit never answers). */
        if (m->a > ty->attempted[m->worker])
            ty->attempted[m->worker] = m->a;
        break;
    case MSG_ACK:
        ty->n_ack++;
        if (m->a > ty->acked[m->worker])
            ty->acked[m->worker] = m->a;
        if (m->a > ty->attempted[m->worker])
            ty->attempted[m->worker] = m->a;
        break;
    case MSG_FAIL:
    case MSG_INFO:
        m->type == MSG_FAIL ? ty->n_fail++ : ty->n_info++;
        snprintf(ty->last_err, sizeof ty->last_err, "%s", m->text);
        if (m->a > ty->attempted[m->worker])
            ty->attempted[m->worker] = m->a;
        break;
    case MSG_TORN_READ:
        ty->torn_reads++;
        torn_result_violation_op(ctx->result, "no-torn-read", KEY, t_s,
                                 ty->n_workers + (int)m->worker + 1,
                              "reader %u (last saw version %lld) got %s: %s",
                              m->worker,
                              (long long)m->a,
                              m->b ? "an unreadable record" : "a torn record", m->text);
        break;
    case MSG_BAD_COUNT:
        ty->torn_reads++;
        ty->hidden_torn++;
        break;
    case MSG_REGRESS:
        ty->regressions++;
        torn_result_violation_op(ctx->result, "monotonic-reads", KEY, t_s,
                                 ty->n_workers + (int)m->worker + 1,
                              "reader %u saw version %lld, then %s", m->worker, (long long)m->a,
                              m->text);
        break;
    case MSG_REGRESS_COUNT:
        ty->regressions++;
        ty->hidden_regress++;
        break;
    case MSG_READS: ty->n_reads += m->a; break;
    case MSG_READ_TIMEOUT:
        if (!ty->read_timeouts++)
            torn_result_metric_str(ctx->result, "first_read_timeout", m->text);
        break;
    case MSG_READING: ty->n_reading++; break;
    }
}

/* At the time limit: kill every child, then read what each sent before it
 * died (an attempt announced but never answered may have happened; losing
 * the announcement would make its write look like a phantom). */
static void cut_off(struct torn_ctx *ctx, struct torn_child *ch, int n_all, struct tally *ty)
{
    struct torn_msg m;

    for (int i = 0; i < n_all; i++) {
        if (ch[i].pid > 0)
            torn_proc_kill(ch[i].pid);
        ch[i].pid = 0;
    }
    for (int i = 0; i < n_all; i++) {
        while (ch[i].fd >= 0 && torn_msg_recv(ch[i].fd, &m, 0, NULL) == 1)
            absorb(ctx, &m, ty);
        torn_child_kill(&ch[i]); /* closes the pipe */
    }
}

/* Collect messages from every child until all pipes reach EOF; when the
 * updaters are done, raise the flag that stops the readers. */
static void collect(struct torn_ctx *ctx, struct torn_child *ch, int n_upd, int n_all,
                    volatile int *done, struct tally *ty)
{
    int open_upd = n_upd, open_all = n_all;

    while (open_all > 0) {
        for (int i = 0; i < n_all; i++) {
            struct torn_msg m;
            int r;

            if (ch[i].fd < 0)
                continue;
            while ((r = torn_msg_recv(ch[i].fd, &m, 1, NULL)) == 1)
                absorb(ctx, &m, ty);
            if (r == 0 || r == TORN_E_IO) {
                torn_child_wait(&ch[i], ctx->timeout_ms, NULL, NULL);
                open_all--;
                if (i < n_upd && --open_upd == 0)
                    *done = 1;
            }
        }
        if (torn_ctx_expired(ctx)) {
            ty->time_limited = !torn_stop_requested();
            *done = 1;
            cut_off(ctx, ch, n_all, ty);
            break;
        }
    }
}

static void final_check(struct torn_ctx *ctx, int n_workers, const struct tally *ty,
                        struct torn_err *err)
{
    cJSON *rec = NULL;
    char why[256], desc[160], name[32];
    int rc;

    rc = torn_step_read(ctx, ctx->target, KEY, &rec, err);
    if (rc) {
        torn_result_violation(ctx->result, "no-lost-update", KEY, torn_ctx_elapsed(ctx),
                              "%lld updates acknowledged, final record unreadable: %s", ty->n_ack,
                              err->msg);
        return;
    }
    torn_step_describe_record(rec, desc, sizeof desc);
    if (!torn_record_intact(rec, why, sizeof why))
        torn_result_violation(ctx->result, "no-torn-write", KEY, torn_ctx_elapsed(ctx),
                              "final record is torn (%s): %s", desc, why);
    for (int w = 0; w < n_workers; w++) {
        long long got;

        snprintf(name, sizeof name, "c%d", w);
        got = torn_record_int(rec, name, 0);
        if (got < ty->acked[w])
            torn_result_violation(ctx->result, "no-lost-update", KEY, torn_ctx_elapsed(ctx),
                                  "worker %d had %lld updates acknowledged, final record has %s "
                                  "= %lld: %lld acknowledged update%s lost",
                                  w, ty->acked[w], name, got, ty->acked[w] - got,
                                  ty->acked[w] - got == 1 ? "" : "s");
        else if (got > ty->attempted[w])
            torn_result_violation(ctx->result, "no-phantom-write", KEY, torn_ctx_elapsed(ctx),
                                  "worker %d attempted %lld updates, final record has %s = %lld",
                                  w, ty->attempted[w], name, got);
    }
    {
        long long v = torn_record_version(rec), lo = 1 + ty->n_ack, unanswered = 0;
        long long hi;

        for (int w = 0; w < n_workers; w++)
            unanswered += ty->attempted[w] - ty->acked[w];
        hi = lo + ty->n_info + unanswered; /* unknown and never-answered updates */
        if (v < lo || v > hi)
            torn_result_violation(ctx->result, "version-counts-writes", KEY,
                                  torn_ctx_elapsed(ctx),
                                  "final version %lld, expected %lld (1 + %lld acknowledged "
                                  "updates%s)",
                                  v, lo, ty->n_ack,
                                  hi > lo ? ", plus up to the unknown ones" : "");
    }
    cJSON_Delete(rec);
}

/* Work evidence (work.h): the updates the verdict rests on, and readers
 * that really read. */
static void record_work(struct torn_ctx *ctx, const struct params *p, int n_r,
                        const struct tally *ty)
{
    long long planned = p->updates * p->n_workers;
    double by_rate = p->rate * torn_param_num(ctx, "duration_s") * 0.9;

    if (p->rate > 0 && by_rate < (double)planned) /* open loop: none due after the deadline */
        planned = (long long)by_rate;
    torn_work_set(ctx->result, "updates_planned", planned);
    torn_work_set(ctx->result, "updates_acked", ty->n_ack);
    torn_work_set(ctx->result, "updates_failed", ty->n_fail);
    torn_work_set(ctx->result, "updates_unknown", ty->n_info);
    torn_work_set(ctx->result, "readers_planned", n_r);
    torn_work_set(ctx->result, "readers_reading", ty->n_reading);
    torn_work_set(ctx->result, "reads", ty->n_reads);
    torn_work_set(ctx->result, "time_limited", ty->time_limited);
    if (ty->n_fail || ty->n_info)
        torn_work_hint(ctx->result, "%lld updates failed, %lld unknown (last: %s)", ty->n_fail,
                       ty->n_info, ty->last_err);
}

static const struct torn_work_need work[] = {
    {"updates_acked", "updates_planned", 0.5, 16, "planned updates acknowledged"},
    {"readers_reading", "readers_planned", 1.0, 1, "readers made a read"},
    {NULL, NULL, 0, 0, NULL},
};

static int concurrent_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct params p;
    int n_w = (int)torn_param_int(ctx, "workers"), n_r = (int)torn_param_int(ctx, "readers");
    struct torn_child *ch;
    struct tally ty;
    volatile int *done;
    int rc;

    if (n_w < 1 || n_r < 0 || n_w + n_r > TORN_MAX_SLOTS - 1)
        return torn_err_set(err, TORN_E_CONFIG,
                            "concurrent-updaters: workers (1..) + readers must be at most %d",
                            TORN_MAX_SLOTS - 1);
    p.updates = torn_param_int(ctx, "updates");
    p.payload_len = (size_t)torn_param_int(ctx, "payload_len");
    p.n_workers = n_w;
    p.rate = torn_param_num(ctx, "rate");
    done = torn_shared_flag();
    if (!done)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    p.done = done;
    memset(&ty, 0, sizeof ty);
    ty.n_workers = n_w;
    ch = calloc((size_t)(n_w + n_r), sizeof *ch);
    ty.acked = calloc((size_t)n_w, sizeof *ty.acked);
    ty.attempted = calloc((size_t)n_w, sizeof *ty.attempted);
    if (!ch || !ty.acked || !ty.attempted) {
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = torn_target_open(ctx->target, err)) != 0)
        goto out;
    rc = torn_target_reset(ctx->target, KEY, NULL, NULL, err);
    torn_target_close(ctx->target);
    if (rc)
        goto out;
    for (int i = 0; i < n_w + n_r; i++)
        ch[i].fd = -1;
    for (int i = 0; i < n_w + n_r && rc == 0; i++)
        rc = torn_child_spawn(ctx, i, 1, i < n_w ? updater : reader, &p, &ch[i], err);
    if (rc == 0) {
        collect(ctx, ch, n_w, n_w + n_r, done, &ty);
        if ((rc = torn_target_open(ctx->target, err)) == 0) {
            final_check(ctx, n_w, &ty, err);
            torn_target_close(ctx->target);
        }
    }
    torn_result_metric(ctx->result, "acknowledged_updates", (double)ty.n_ack);
    torn_result_metric(ctx->result, "failed_updates", (double)ty.n_fail);
    torn_result_metric(ctx->result, "unknown_updates", (double)ty.n_info);
    torn_result_metric(ctx->result, "reads", (double)ty.n_reads);
    torn_result_metric(ctx->result, "torn_reads", (double)ty.torn_reads);
    torn_result_metric(ctx->result, "read_timeouts", (double)ty.read_timeouts);
    record_work(ctx, &p, n_r, &ty);
    if (ty.hidden_torn)
        torn_result_violation(ctx->result, "no-torn-read", KEY, torn_ctx_elapsed(ctx),
                              "%lld torn or unreadable reads in all (of %lld reads); the first "
                              "few of each reader are listed",
                              ty.torn_reads, ty.n_reads);
    if (ty.hidden_regress)
        torn_result_violation(ctx->result, "monotonic-reads", KEY, torn_ctx_elapsed(ctx),
                              "%lld reads went back in version in all; the first few of each "
                              "reader are listed",
                              ty.regressions);
out:
    for (int i = 0; ch && i < n_w + n_r; i++)
        if (ch[i].pid > 0)
            torn_child_kill(&ch[i]);
    free(ch);
    free(ty.acked);
    free(ty.attempted);
    torn_shared_flag_free(done);
    return rc;
}

/* The parameters and their defaults: scenarios/concurrent-updaters.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_concurrent_updaters[];

const struct torn_scenario_ops torn_scenario_concurrent_updaters = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "concurrent-updaters",
    .summary = "W processes update one record, readers poll; no lost update, no torn read",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET,
    .defaults = torn_defaults_concurrent_updaters, /* scenarios/concurrent-updaters.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("workers", 1, 128), TORN_PARAM_INT("updates", 1, 1000000),
        TORN_PARAM_INT("readers", 0, 128), TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION), TORN_PARAM_REAL("rate", 0, 1e7),
        {NULL, 0, 0, 0}},
    .run = concurrent_run,
    .work = work,
};

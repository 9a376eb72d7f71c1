/* torn: event-before-persist (seed 000).  M jobs are submitted to a
 * service through W worker processes; each worker subscribes to a job's
 * events before it can complete, and the moment the completion event
 * arrives reads the job, then keeps re-reading for a short window.
 *
 * Violations: a read after RESEARCH_COMPLETED that is not completed with
 * results (read-after-event), a read after the failure event that is not
 * failed with an error (failed-half-written), version going backwards or
 * _updated_at not advancing with it (version-monotonic), and a job that
 * never sends a terminal event (terminal-event).  Reported: the
 * distribution of the stale-read window (how long after the event a read
 * could still be stale) and the event-to-read latency (TORN_OP_EVENT).
 *
 * To widen race windows it can put latency on the service's store
 * connection and reset it for some jobs, through a Toxiproxy-compatible
 * API (`torn proxy --api`, or a real Toxiproxy): params toxiproxy, proxy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/steps.h"
#include "core/err.h"
#include "core/hdr.h"
#include "core/pace.h"
#include "lib/jobs.h"
#include "core/history.h"
#include "proc/proc.h"
#include "proxy/proxy.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

enum { MSG_JOB = 1, MSG_VIOLATION, MSG_ERROR, MSG_READ_ERRORS };
enum { EV_NONE, EV_COMPLETED, EV_FAILED };
enum { V_READ_AFTER_EVENT, V_FAILED_HALF, V_VERSION, V_TERMINAL, V_COUNT };

static const char *const criteria[V_COUNT] = {"read-after-event", "failed-half-written",
                                              "version-monotonic", "terminal-event"};

struct ebp {
    long long jobs;
    int workers;
    int reread_ms, reread_interval_ms, event_timeout_ms;
    const char *completed, *failed;   /* record status values */
    const char *api, *proxy;          /* Toxiproxy-compatible control API or "" */
    long long reset_every;
    int reset_ms;
};

/* What one job's re-reads saw. */
struct watch {
    int kind;                 /* EV_COMPLETED / EV_FAILED */
    uint64_t t_event;
    long long reads, stale, errors, last_version;
    uint64_t first_stale_ns, last_stale_ns; /* from the event to a stale read's START */
    uint64_t first_stale_end_ns;            /* ... and to the first one's answer */
    char last_updated[40];
    char first_bad[120];      /* description of the first stale read */
    int ended_ok;             /* the last read was the terminal state */
    int version_bad;
};

static int has(const cJSON *rec, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    return v && !cJSON_IsNull(v);
}

/* Is rec the state the event promised? */
static int consistent(const struct ebp *p, const struct watch *w, const cJSON *rec)
{
    const char *st = torn_record_str(rec, "status");
    if (w->kind == EV_COMPLETED)
        return st && strcmp(st, p->completed) == 0 && has(rec, "results");
    return st && strcmp(st, p->failed) == 0 && has(rec, "error");
}

/* The stale read, naming the field the event promised: results after a
 * completion event, error after a failure event. */
static void describe(const struct watch *w, const cJSON *rec, int rc, const struct torn_err *err,
                     char *buf, size_t len)
{
    const char *st = torn_record_str(rec, "status");
    const char *field = w->kind == EV_COMPLETED ? "results" : "error";
    if (rc)
        snprintf(buf, len, "read failed: %.90s", err->msg);
    else
        snprintf(buf, len, "status %s, %s %s, version %lld", st ? st : "(none)",
                 has(rec, field) ? "with" : "no", field, torn_record_version(rec));
}

/* Check version/_updated_at monotonicity across this job's reads. */
static void check_versions(struct watch *w, const cJSON *rec, int index, int wfd, const char *id)
{
    long long v = torn_record_version(rec);
    const char *upd = torn_record_str(rec, "_updated_at");
    char text[192];
    if (v >= 0 && w->last_version >= 0 && !w->version_bad) {
        if (v < w->last_version) {
            snprintf(text, sizeof text, "%s: version went from %lld back to %lld", id,
                     w->last_version, v);
            torn_msg_post(wfd, MSG_VIOLATION, index, V_VERSION, 0, 0, text);
            w->version_bad = 1;
        } else if (v > w->last_version && upd && w->last_updated[0] &&
                   strcmp(upd, w->last_updated) < 0) {
            snprintf(text, sizeof text, "%s: version rose to %lld but _updated_at went back "
                                        "from %s to %s", id, v, w->last_updated, upd);
            torn_msg_post(wfd, MSG_VIOLATION, index, V_VERSION, 0, 0, text);
            w->version_bad = 1;
        }
    }
    if (v >= 0)
        w->last_version = v;
    if (upd)
        snprintf(w->last_updated, sizeof w->last_updated, "%s", upd);
}

/* Read right after the event, then again for reread_ms, at least twice
 * (version-monotonic needs two reads, however slow one is). */
static void reread(struct torn_ctx *ctx, struct torn_target *t, const struct ebp *p,
                   struct watch *w, const char *id, int index, int wfd)
{
    uint64_t end = w->t_event + (uint64_t)p->reread_ms * 1000000u;
    do {
        struct torn_err err;
        cJSON *rec = NULL;
        torn_err_clear(&err);
        /* A read is timed from its start: the service may serve it at once
         * and stall its answer, and what it saw is as old as its start. */
        uint64_t start = torn_now_ns();
        int rc = torn_step_read(ctx, t, id, &rec, &err);
        uint64_t now = torn_now_ns();
        if (w->reads++ == 0)
            torn_ctx_op(ctx, TORN_OP_EVENT, TORN_OUT_OK, start - w->t_event);
        int ok = rc == 0 && consistent(p, w, rec);
        if (rc == 0)
            check_versions(w, rec, index, wfd, id);
        if (rc && rc != TORN_E_NOTFOUND) {
            w->errors++;   /* unknown, not stale: the safe-read scenario judges errors */
        } else if (!ok) {
            if (!w->stale++) {
                w->first_stale_ns = start - w->t_event;
                w->first_stale_end_ns = now - w->t_event;
                describe(w, rec, rc, &err, w->first_bad, sizeof w->first_bad);
            }
            w->last_stale_ns = start - w->t_event;
        }
        if (!rc || rc == TORN_E_NOTFOUND)
            w->ended_ok = ok;
        cJSON_Delete(rec);
        if (torn_now_ns() < end && p->reread_interval_ms > 0)
            torn_sleep_ns((uint64_t)p->reread_interval_ms * 1000000u);
    } while ((torn_now_ns() < end || w->reads < 2) && !torn_stop_requested());
}

static void report_job(const struct ebp *p, const struct watch *w, const char *id, int index,
                       int wfd)
{
    char text[320]; /* torn_msg_post keeps what fits (191) */
    if (w->stale) {
        snprintf(text, sizeof text,
                 "%.40s: %s, then a read started +%.1f ms (answered +%.1f ms) got %.60s; "
                 "%lld/%lld reads stale, last started +%.1f ms%s",
                 id, w->kind == EV_COMPLETED ? "completed event" : "failed event",
                 w->first_stale_ns / 1e6, w->first_stale_end_ns / 1e6, w->first_bad, w->stale,
                 w->reads, w->last_stale_ns / 1e6, w->ended_ok ? "" : ", stale to the end");
        torn_msg_post(wfd, MSG_VIOLATION, index,
             w->kind == EV_COMPLETED ? V_READ_AFTER_EVENT : V_FAILED_HALF, 0, 0, text);
    }
    (void)p;
    if (w->errors)
        torn_msg_post(wfd, MSG_READ_ERRORS, index, w->errors, 0, 0, id);
    torn_msg_post(wfd, MSG_JOB, index, w->kind, w->stale, w->stale ? (long long)(w->last_stale_ns / 1000) : -1,
         id);
}

/* Briefly reset the store connection through the proxy's control API. */
static void store_reset(struct torn_ctx *ctx, const struct ebp *p)
{
    struct torn_err err;
    if (torn_jobs_toxic(ctx, p->api, p->proxy, "torn-ebp-reset", "reset_peer", "timeout", 0, 0, 1,
                        &err) == 0) {
        torn_sleep_ns((uint64_t)p->reset_ms * 1000000u);
        torn_jobs_toxic(ctx, p->api, p->proxy, "torn-ebp-reset", "reset_peer", "timeout", 0, 0, 0,
                        &err);
    }
}

/* Wait for the job's terminal event: EV_* or a negative code (err set). */
static int wait_terminal(struct torn_ctx *ctx, struct torn_target *t, const struct ebp *p,
                         struct torn_sub *sub, long long jobno, uint64_t *t_out,
                         struct torn_err *err)
{
    int resets = p->api[0] && p->reset_every > 0 && jobno % p->reset_every == 0;
    uint64_t deadline = torn_now_ns() + (uint64_t)p->event_timeout_ms * 1000000u;
    for (;;) {
        cJSON *ev = NULL;
        uint64_t now = torn_now_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000);
        int rc = torn_target_next_event(t, sub, left, &ev, err);
        if (rc)
            return rc;
        const char *type = torn_record_str(ev, "type");
        *t_out = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "t_ns"));
        torn_history_log_add(ctx->history, "notify", ctx->slot, "event", NULL,
                             cJSON_GetObjectItemCaseSensitive(ev, "raw"), *t_out);
        int kind = !type                            ? EV_NONE
                   : strcmp(type, "completed") == 0 ? EV_COMPLETED
                   : strcmp(type, "failed") == 0    ? EV_FAILED
                                                    : EV_NONE;
        cJSON_Delete(ev);
        if (kind != EV_NONE)
            return kind;
        if (resets) {
            store_reset(ctx, p);
            resets = 0;
        }
    }
}

/* One job: create, subscribe, wait, re-read, report.  0 (1 when the job
 * never sent its terminal event), or a negative code when the service
 * cannot be driven at all (fatal). */
static int one_job(struct torn_ctx *ctx, struct torn_target *t, const struct ebp *p,
                   long long jobno, int index, int wfd)
{
    struct torn_err err;
    struct torn_sub *sub = NULL;
    char *id = NULL, text[192];
    cJSON *input = cJSON_CreateObject();
    struct watch w;
    memset(&w, 0, sizeof w);
    w.last_version = -1;
    torn_err_clear(&err);
    snprintf(text, sizeof text, "torn event-before-persist job %lld seed %llu", jobno,
             (unsigned long long)ctx->seed);
    cJSON_AddStringToObject(input, "query", text);
    int rc = torn_jobs_create(ctx, t, input, &id, &err);
    cJSON_Delete(input);
    if (rc == 0)
        rc = torn_target_subscribe(t, id, &sub, &err);
    if (rc == 0) {
        rc = wait_terminal(ctx, t, p, sub, jobno, &w.t_event, &err);
        if (rc == TORN_E_TIMEOUT || rc == TORN_E_PROTOCOL) {
            /* A channel that failed is not one that stayed silent. */
            if (rc == TORN_E_PROTOCOL)
                snprintf(text, sizeof text, "%s: no terminal event: %.150s", id, err.msg);
            else
                snprintf(text, sizeof text, "%s: no terminal event within %d ms (%.120s)", id,
                         p->event_timeout_ms, err.msg);
            torn_msg_post(wfd, MSG_VIOLATION, index, V_TERMINAL, 0, 0, text);
            torn_msg_post(wfd, MSG_JOB, index, EV_NONE, 0, -1, id);
            rc = 1;
        } else if (rc > 0) {
            w.kind = rc;
            reread(ctx, t, p, &w, id, index, wfd);
            report_job(p, &w, id, index, wfd);
            rc = 0;
        }
    }
    torn_target_unsubscribe(t, sub);
    if (rc < 0 && rc != TORN_E_INTERRUPTED)
        torn_msg_post(wfd, MSG_ERROR, index, rc, 0, 0, err.msg);
    free(id);
    return rc;
}

/* A worker stops at a fatal error, and also after a job that never sent
 * its terminal event: a service that sends no events would otherwise cost
 * event_timeout_ms per job (16 jobs, 4 workers: 4 timeouts in a row); the
 * violation is already reported. */
static int worker(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *arg)
{
    const struct ebp *p = arg;
    struct torn_pace pace;
    torn_ctx_pace_init(ctx, &pace, p->workers, index);
    for (long long j = index; j < p->jobs && !torn_ctx_expired(ctx); j += p->workers) {
        if (!torn_ctx_pace(ctx, &pace))
            break;
        int rc = one_job(ctx, t, p, j + 1, index, wfd);
        if (rc != 0)
            return rc < 0 ? 2 : 0;
    }
    return 0;
}

/* ---- parent ---- */

struct tally {
    long long jobs, completed, failed, silent, stale_jobs, stale_reads, read_errors;
    struct torn_hdr window;   /* stale-read window per stale job, in us */
    int error_code;
    char error[256];
};

static void absorb(struct torn_ctx *ctx, const struct torn_msg *m, void *arg)
{
    struct tally *ty = arg;
    double t_s = (double)(m->t_ns - ctx->t0_ns) / 1e9;
    if (m->type == MSG_JOB) {
        ty->jobs++;
        ty->completed += m->a == EV_COMPLETED;
        ty->failed += m->a == EV_FAILED;
        ty->silent += m->a == EV_NONE;
        ty->stale_reads += m->b;
        if (m->c >= 0) {
            ty->stale_jobs++;
            torn_hdr_add(&ty->window, (uint64_t)m->c);
        }
    } else if (m->type == MSG_VIOLATION && m->a >= 0 && m->a < V_COUNT) {
        const char *key = m->text;
        char id[48];
        snprintf(id, sizeof id, "%.*s", (int)strcspn(key, ":"), key);
        torn_result_violation(ctx->result, criteria[m->a], id, t_s, "%s", m->text);
    } else if (m->type == MSG_READ_ERRORS) {
        ty->read_errors += m->a;
    } else if (m->type == MSG_ERROR && !ty->error_code) {
        ty->error_code = (int)m->a;
        snprintf(ty->error, sizeof ty->error, "%s", m->text);
    }
}

static void metrics(struct torn_ctx *ctx, const struct tally *ty)
{
    struct torn_result *r = ctx->result;
    torn_result_metric(r, "jobs", (double)ty->jobs);
    torn_result_metric(r, "completed_events", (double)ty->completed);
    torn_result_metric(r, "failed_events", (double)ty->failed);
    torn_result_metric(r, "jobs_without_terminal_event", (double)ty->silent);
    torn_result_metric(r, "jobs_with_stale_reads", (double)ty->stale_jobs);
    torn_result_metric(r, "stale_reads", (double)ty->stale_reads);
    torn_result_metric(r, "read_errors_after_event", (double)ty->read_errors);
    if (ty->window.n) {
        torn_result_metric(r, "stale_window_ms_p50", torn_hdr_quantile(&ty->window, 0.5) / 1e3);
        torn_result_metric(r, "stale_window_ms_p90", torn_hdr_quantile(&ty->window, 0.9) / 1e3);
        torn_result_metric(r, "stale_window_ms_max", torn_hdr_quantile(&ty->window, 1.0) / 1e3);
    }
}

/* Put latency on the store connection for the whole run (when asked). */
static int store_latency(struct torn_ctx *ctx, const struct ebp *p, int on, struct torn_err *err)
{
    long long lat = torn_param_int(ctx, "store_latency_ms");
    if (lat <= 0)
        return 0;
    return torn_jobs_toxic(ctx, p->api, p->proxy, "torn-ebp-latency", "latency", "latency", lat,
                           torn_param_int(ctx, "store_jitter_ms"), on, err);
}

static int ebp_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct ebp p = {
        .jobs = torn_param_int(ctx, "jobs"),
        .workers = (int)torn_param_int(ctx, "workers"),
        .reread_ms = (int)torn_param_int(ctx, "reread_ms"),
        .reread_interval_ms = (int)torn_param_int(ctx, "reread_interval_ms"),
        .event_timeout_ms = (int)torn_param_int(ctx, "event_timeout_ms"),
        .completed = torn_param_str(ctx, "completed_status"),
        .failed = torn_param_str(ctx, "failed_status"),
        .api = torn_param_str(ctx, "toxiproxy"),
        .proxy = torn_param_str(ctx, "proxy"),
        .reset_every = torn_param_int(ctx, "store_reset_every"),
        .reset_ms = (int)torn_param_int(ctx, "store_reset_ms"),
    };
    if (p.workers < 1 || p.workers > TORN_MAX_SLOTS - 1 || p.jobs < 1)
        return torn_err_set(err, TORN_E_CONFIG,
                            "event-before-persist: workers must be 1..%d and jobs >= 1",
                            TORN_MAX_SLOTS - 1);
    if (p.workers > p.jobs)
        p.workers = (int)p.jobs;
    struct torn_child ch[TORN_MAX_SLOTS];
    struct tally ty;
    memset(&ty, 0, sizeof ty);
    torn_hdr_init(&ty.window);
    int rc = store_latency(ctx, &p, 1, err);
    for (int i = 0; i < p.workers; i++)
        ch[i].fd = -1, ch[i].pid = 0;
    int spawned = 0;
    for (; rc == 0 && spawned < p.workers; spawned++)
        rc = torn_child_spawn(ctx, spawned, 1, worker, &p, &ch[spawned], err);
    torn_jobs_collect(ctx, ch, spawned, absorb, NULL, &ty);
    struct torn_err err2;
    store_latency(ctx, &p, 0, &err2);
    metrics(ctx, &ty);
    torn_work_set(ctx->result, "jobs_planned", p.jobs);
    torn_work_set(ctx->result, "completed_events", ty.completed);
    if (rc == 0 && ty.error_code)
        rc = torn_err_set(err, ty.error_code, "%s", ty.error);
    return rc;
}

/* Its criteria judge reads after completion events: none, nothing judged
 * (jobs that never sent one are violations of their own). */
static const struct torn_work_need work[] = {
    {"completed_events", NULL, 0, 1, "completion events received"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/event-before-persist.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_event_before_persist[];

const struct torn_scenario_ops torn_scenario_event_before_persist = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "event-before-persist",
    .summary = "jobs announce completion only after it is readable (seed 000)",
    .needs = TORN_CAP_JOBS | TORN_CAP_READ,
    .defaults = torn_defaults_event_before_persist, /* scenarios/event-before-persist.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("jobs", 1, 100000), TORN_PARAM_INT("workers", 1, TORN_PARAM_MAX_WORKERS),
        TORN_PARAM_INT("reread_ms", 0, TORN_PARAM_MAX_MS), TORN_PARAM_INT("reread_interval_ms", 0, 60000),
        TORN_PARAM_INT("event_timeout_ms", 1, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("store_latency_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("store_jitter_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("store_reset_every", 0, 1000000),
        TORN_PARAM_INT("store_reset_ms", 0, TORN_PARAM_MAX_MS), TORN_PARAM_REAL("rate", 0, 1e7),
        {NULL, 0, 0, 0}},
    .run = ebp_run,
    .work = work,
};

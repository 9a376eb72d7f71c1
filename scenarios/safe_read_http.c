/* torn: safe-read-http (seed 001, "never 500 the UI").  W worker processes
 * each start jobs on a service and poll GET /jobs/{id} (the spec's read
 * endpoint) until the job is terminal, while the parent disturbs the store
 * through a Toxiproxy-compatible API: latency all along, and a connection
 * reset every reset_every_ms.
 *
 * Violations: a poll answered with a 5xx (no-5xx), a body that is not JSON
 * (parsable-json), no answer within the timeout (answers-in-time), and a
 * job that does not reach a terminal status within job_timeout_ms
 * (reaches-terminal: seed 001's "jobs never finish").  An error object with
 * status "unknown" is the contract's graceful answer, not a violation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/pace.h"
#include "lib/jobs.h"
#include "proc/proc.h"
#include "core/record.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

enum { MSG_VIOLATION = 1, MSG_JOB, MSG_ERROR };
enum { V_5XX, V_JSON, V_TIME, V_TERMINAL, V_COUNT };

static const char *const criteria[V_COUNT] = {"no-5xx", "parsable-json", "answers-in-time",
                                              "reaches-terminal"};

struct srh {
    long long jobs;
    int workers, poll_ms, job_timeout_ms;
    char terminal[8][32];
    int n_terminal;
    const char *api, *proxy;
    int reset_every_ms, reset_ms;
    uint64_t next_reset, reset_off;   /* parent's disturbance clock */
    long long n_resets, polls, unknown, done;
    int error_code;
    char error[256];
};

static int is_terminal(const struct srh *p, const char *st)
{
    for (int i = 0; st && i < p->n_terminal; i++)
        if (strcmp(st, p->terminal[i]) == 0)
            return 1;
    return 0;
}

/* One poll: 1 terminal, 0 not yet; violations posted. */
static int poll_once(struct torn_ctx *ctx, struct torn_target *t, const struct srh *p,
                     const char *id, int index, int wfd, long long *unknown)
{
    struct torn_err err;
    cJSON *rec = NULL;
    char text[192];
    torn_err_clear(&err);
    uint64_t t0 = torn_now_ns();
    int rc = torn_target_read(t, id, &rec, &err);
    const char *st = rc == 0 ? torn_record_str(rec, "status") : NULL;
    int terminal = is_terminal(p, st), v = -1;
    torn_ctx_op(ctx, TORN_OP_READ, rc == 0 ? TORN_OUT_OK : TORN_OUT_FAIL, torn_now_ns() - t0);
    if (rc == TORN_E_REMOTE)
        v = V_5XX;
    else if (rc == TORN_E_PROTOCOL)
        v = V_JSON;
    else if (rc == TORN_E_TIMEOUT || rc == TORN_E_IO)
        v = V_TIME;
    /* a job torn created read as not-found is unknown too (the spec's
     * "missing": "unknown" reads seed 001's unknown dict so) */
    *unknown += (st && strcmp(st, "unknown") == 0) || rc == TORN_E_NOTFOUND;
    if (v >= 0) {
        snprintf(text, sizeof text, "%s: %.170s", id, err.msg);
        torn_msg_post(wfd, MSG_VIOLATION, index, v, 0, 0, text);
    }
    cJSON_Delete(rec);
    return terminal;
}

static int one_job(struct torn_ctx *ctx, struct torn_target *t, const struct srh *p,
                   long long jobno, int index, int wfd)
{
    struct torn_err err;
    char *id = NULL, text[192];
    cJSON *input = cJSON_CreateObject();
    snprintf(text, sizeof text, "torn safe-read-http job %lld seed %llu", jobno,
             (unsigned long long)ctx->seed);
    cJSON_AddStringToObject(input, "query", text);
    uint64_t t0 = torn_now_ns();
    int rc = torn_jobs_create(ctx, t, input, &id, &err);
    cJSON_Delete(input);
    if (rc) {
        if (rc != TORN_E_INTERRUPTED)
            torn_msg_post(wfd, MSG_ERROR, index, rc, 0, 0, err.msg);
        return rc;
    }
    long long polls = 0, unknown = 0;
    int terminal = 0;
    uint64_t deadline = t0 + (uint64_t)p->job_timeout_ms * 1000000u;
    while (!terminal && torn_now_ns() < deadline && !torn_stop_requested()) {
        terminal = poll_once(ctx, t, p, id, index, wfd, &unknown);
        polls++;
        if (!terminal && p->poll_ms > 0)   /* nanosleep(0) would still cost the timer slack */
            torn_sleep_ns((uint64_t)p->poll_ms * 1000000u);
    }
    if (!terminal && !torn_stop_requested()) {
        snprintf(text, sizeof text, "%s: not terminal after %d ms (%lld polls)", id,
                 p->job_timeout_ms, polls);
        torn_msg_post(wfd, MSG_VIOLATION, index, V_TERMINAL, 0, 0, text);
    }
    torn_msg_post(wfd, MSG_JOB, index, terminal, polls, unknown, id);
    free(id);
    return 0;
}

static int worker(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *arg)
{
    const struct srh *p = arg;
    struct torn_pace pace;
    torn_ctx_pace_init(ctx, &pace, p->workers, index);
    for (long long j = index; j < p->jobs && !torn_ctx_expired(ctx); j += p->workers) {
        if (!torn_ctx_pace(ctx, &pace))
            break;
        if (one_job(ctx, t, p, j + 1, index, wfd) != 0)
            return 2;
    }
    return 0;
}

static void absorb(struct torn_ctx *ctx, const struct torn_msg *m, void *arg)
{
    struct srh *p = arg;
    double t_s = (double)(m->t_ns - ctx->t0_ns) / 1e9;
    char id[48];
    snprintf(id, sizeof id, "%.*s", (int)strcspn(m->text, ":"), m->text);
    if (m->type == MSG_VIOLATION && m->a >= 0 && m->a < V_COUNT)
        torn_result_violation(ctx->result, criteria[m->a], id, t_s, "%s", m->text);
    else if (m->type == MSG_JOB) {
        p->done += m->a;
        p->polls += m->b;
        p->unknown += m->c;
    } else if (m->type == MSG_ERROR && !p->error_code) {
        p->error_code = (int)m->a;
        snprintf(p->error, sizeof p->error, "%s", m->text);
    }
}

/* Parent clock: a reset_peer toxic for reset_ms every reset_every_ms. */
static void disturb(struct torn_ctx *ctx, void *arg)
{
    struct srh *p = arg;
    struct torn_err err;
    uint64_t now = torn_now_ns();
    if (!p->api[0] || p->reset_every_ms <= 0)
        return;
    if (p->reset_off && now >= p->reset_off) {
        torn_jobs_toxic(ctx, p->api, p->proxy, "torn-srh-reset", "reset_peer", "timeout", 0, 0, 0,
                        &err);
        p->reset_off = 0;
    }
    if (now >= p->next_reset) {
        if (torn_jobs_toxic(ctx, p->api, p->proxy, "torn-srh-reset", "reset_peer", "timeout", 0, 0,
                            1, &err) == 0)
            p->n_resets++;
        p->reset_off = now + (uint64_t)p->reset_ms * 1000000u;
        p->next_reset = now + (uint64_t)p->reset_every_ms * 1000000u;
    }
}

static int parse_terminal(struct srh *p, const char *list, struct torn_err *err)
{
    const char *s = list;
    while (*s && p->n_terminal < 8) {
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= sizeof p->terminal[0])
            return torn_err_set(err, TORN_E_CONFIG, "safe-read-http: bad terminal list '%s'",
                                list);
        snprintf(p->terminal[p->n_terminal++], sizeof p->terminal[0], "%.*s", (int)n, s);
        s += n + (s[n] == ',');
    }
    return p->n_terminal ? 0 : torn_err_set(err, TORN_E_CONFIG, "safe-read-http: empty terminal");
}

static int srh_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct srh p = {
        .jobs = torn_param_int(ctx, "jobs"),
        .workers = (int)torn_param_int(ctx, "workers"),
        .poll_ms = (int)torn_param_int(ctx, "poll_ms"),
        .job_timeout_ms = (int)torn_param_int(ctx, "job_timeout_ms"),
        .api = torn_param_str(ctx, "toxiproxy"),
        .proxy = torn_param_str(ctx, "proxy"),
        .reset_every_ms = (int)torn_param_int(ctx, "store_reset_every_ms"),
        .reset_ms = (int)torn_param_int(ctx, "store_reset_ms"),
    };
    int rc = parse_terminal(&p, torn_param_str(ctx, "terminal"), err);
    if (!rc && (p.workers < 1 || p.workers > TORN_MAX_SLOTS - 1 || p.jobs < 1))
        rc = torn_err_set(err, TORN_E_CONFIG, "safe-read-http: workers 1..%d, jobs >= 1",
                          TORN_MAX_SLOTS - 1);
    if (rc)
        return rc;
    if (p.workers > p.jobs)
        p.workers = (int)p.jobs;
    long long lat = torn_param_int(ctx, "store_latency_ms");
    if (lat > 0)
        rc = torn_jobs_toxic(ctx, p.api, p.proxy, "torn-srh-latency", "latency", "latency", lat, 0,
                             1, err);
    struct torn_child ch[TORN_MAX_SLOTS];
    int spawned = 0;
    for (int i = 0; i < p.workers; i++)
        ch[i].fd = -1, ch[i].pid = 0;
    p.next_reset = torn_now_ns() + (uint64_t)p.reset_every_ms * 1000000u;
    for (; rc == 0 && spawned < p.workers; spawned++)
        rc = torn_child_spawn(ctx, spawned, 1, worker, &p, &ch[spawned], err);
    torn_jobs_collect(ctx, ch, spawned, absorb, disturb, &p);
    struct torn_err e2;
    torn_jobs_toxic(ctx, p.api, p.proxy, "torn-srh-reset", "reset_peer", "timeout", 0, 0, 0, &e2);
    if (lat > 0)
        torn_jobs_toxic(ctx, p.api, p.proxy, "torn-srh-latency", "latency", "latency", 0, 0, 0,
                        &e2);
    torn_result_metric(ctx->result, "jobs_terminal", (double)p.done);
    torn_result_metric(ctx->result, "polls", (double)p.polls);
    torn_result_metric(ctx->result, "unknown_answers", (double)p.unknown);
    torn_result_metric(ctx->result, "store_resets", (double)p.n_resets);
    torn_work_set(ctx->result, "jobs_planned", p.jobs);
    torn_work_set(ctx->result, "jobs_terminal", p.done);
    torn_work_set(ctx->result, "polls", p.polls);
    if (rc == 0 && p.error_code)
        rc = torn_err_set(err, p.error_code, "%s", p.error);
    return rc;
}

static const struct torn_work_need work[] = {
    {"jobs_terminal", "jobs_planned", 0.5, 1, "jobs polled to a terminal state"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/safe-read-http.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_safe_read_http[];

const struct torn_scenario_ops torn_scenario_safe_read_http = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "safe-read-http",
    .summary = "polling a job never gets a 5xx or broken JSON, and every job ends (seed 001)",
    .needs = TORN_CAP_JOBS | TORN_CAP_READ,
    .defaults = torn_defaults_safe_read_http, /* scenarios/safe-read-http.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("jobs", 1, 100000), TORN_PARAM_INT("workers", 1, TORN_PARAM_MAX_WORKERS),
        TORN_PARAM_INT("poll_ms", 0, 60000), TORN_PARAM_INT("job_timeout_ms", 1, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("store_latency_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("store_reset_every_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("store_reset_ms", 0, TORN_PARAM_MAX_MS), TORN_PARAM_REAL("rate", 0, 1e7),
        {NULL, 0, 0, 0}},
    .run = srh_run,
    .work = work,
};

/* Unit tests: the open-loop schedule (pace.h), the open-loop latency pair in
 * a result (result.h), and how the reporters label closed/open loop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/pace.h"
#include "core/scenario.h"
#include "proc/proc.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"

static void test_schedule_spacing(void)
{
    struct torn_pace p;
    uint64_t due, now;

    /* 1000 ops/s over 4 workers: worker 1 is due at 1, 5, 9 ms. */
    torn_pace_init(&p, 1000, 4, 1, 0);
    for (uint64_t k = 0; k < 3; k++) {
        CHECK(torn_pace_next(&p, &due) == 1, "op %llu handed out", (unsigned long long)k);
        now = torn_now_ns();
        CHECK(due == p.base_ns + 1000000 + k * 4000000, "op %llu due at +%llu ns",
              (unsigned long long)k, (unsigned long long)(due - p.base_ns));
        CHECK(now >= due, "op %llu returned %llu ns before it was due", (unsigned long long)k,
              (unsigned long long)(due - now));
    }
}

static void test_overdue_not_skipped(void)
{
    struct torn_pace p;
    uint64_t due, t0;

    /* A worker 1 s behind issues every overdue op at once, none skipped. */
    torn_pace_init(&p, 100, 1, 0, 0);
    p.base_ns -= 1000000000ull;
    t0 = torn_now_ns();
    for (int k = 0; k < 50; k++)
        CHECK(torn_pace_next(&p, &due) == 1 && due == p.base_ns + (uint64_t)k * 10000000,
              "overdue op %d", k);
    CHECK(torn_now_ns() - t0 < 200000000ull, "overdue ops did not wait (%llu ns)",
          (unsigned long long)(torn_now_ns() - t0));
}

static void test_deadline(void)
{
    struct torn_pace p;
    uint64_t due;
    int n = 0;

    torn_pace_init(&p, 1000, 1, 0, 0);
    p.deadline_ns = p.base_ns + 2500000; /* ops due at 0, 1, 2 ms; not 3 */
    while (n < 10 && torn_pace_next(&p, &due) == 1)
        n++;
    CHECK(n == 3, "%d ops before the deadline, want 3", n);
}

static void test_result_pair(void)
{
    struct torn_result *r = torn_result_new();
    uint64_t seed = torn_now_ns();
    struct torn_rng rng;
    static const double qs[] = {0, 0.5, 0.9, 0.99, 0.999, 1};

    printf("seed %llu\n", (unsigned long long)seed);
    torn_rng_seed(&rng, seed);
    torn_result_openloop_op(r, TORN_OP_UPDATE, 1, 2, 3);
    CHECK(!r->openloop && !torn_result_openloop_has(r, TORN_OP_UPDATE), "closed loop by default");
    CHECK(torn_result_openloop(r, 50) == 0 && r->openloop->rate == 50, "open loop at 50 ops/s");
    torn_result_openloop_op(r, TORN_OP_UPDATE, 100, 150, 1150);
    CHECK(r->openloop->uncorrected[TORN_OP_UPDATE].max == 1000 &&
              r->openloop->corrected[TORN_OP_UPDATE].max == 1050 &&
              r->openloop->n_late[TORN_OP_UPDATE] == 0,
          "one op: uncorrected from start, corrected from due");
    torn_result_openloop_op(r, TORN_OP_UPDATE, 0, 5000000, 6000000);
    CHECK(r->openloop->n_late[TORN_OP_UPDATE] == 1, "started 5 ms late counts as late");
    CHECK(torn_result_openloop_has(r, TORN_OP_UPDATE) && !torn_result_openloop_has(r, TORN_OP_READ),
          "only recorded ops have open-loop figures");
    /* Any mix of service times and lateness: corrected dominates. */
    for (int i = 0; i < 20000; i++) {
        uint64_t due = torn_rng_next(&rng) % 1000000000ull;
        uint64_t late = torn_rng_next(&rng) % 4 ? 0 : torn_rng_next(&rng) % 2000000000ull;
        uint64_t svc = torn_rng_next(&rng) % 50000000ull;
        torn_result_openloop_op(r, TORN_OP_UPDATE, due, due + late, due + late + svc);
    }
    for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
        uint64_t u = torn_hdr_quantile(&r->openloop->uncorrected[TORN_OP_UPDATE], qs[q]);
        uint64_t c = torn_hdr_quantile(&r->openloop->corrected[TORN_OP_UPDATE], qs[q]);
        CHECK(c >= u, "q%g: corrected %llu < uncorrected %llu", qs[q], (unsigned long long)c,
              (unsigned long long)u);
    }
    torn_result_free(r);
}

/* Render rep with the named reporter into a string (caller frees). */
static char *render(const char *name, const struct torn_report *rep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const struct torn_reporter_ops *ops = torn_reporter_find(name);

    if (f && ops)
        ops->write(f, rep, NULL);
    if (f)
        fclose(f);
    return buf;
}

static void test_reports_label_loops(void)
{
    struct torn_result *closed = torn_result_new(), *open = torn_result_new();
    struct torn_result *results[2] = {closed, open};
    struct torn_report rep;
    static const char *const names[] = {"terminal", "json", "html", "prom", "markdown"};

    memset(&rep, 0, sizeof rep);
    rep.tool_version = "test";
    rep.results = results;
    rep.n_results = 2;
    closed->scenario = strdup("crash-midwrite");
    open->scenario = strdup("concurrent-updaters");
    closed->target = strdup("file:durable");
    open->target = strdup("file:durable");
    closed->driver = strdup("file");
    open->driver = strdup("file");
    closed->strategy = strdup("durable");
    open->strategy = strdup("durable");
    for (int i = 0; i < 10; i++) {
        torn_hdr_add(&closed->ops[TORN_OP_UPDATE].hdr, 1000000);
        closed->ops[TORN_OP_UPDATE].n_ok++;
        torn_hdr_add(&open->ops[TORN_OP_UPDATE].hdr, 1000000);
        open->ops[TORN_OP_UPDATE].n_ok++;
    }
    torn_result_openloop(open, 25);
    for (int i = 0; i < 10; i++)
        torn_result_openloop_op(open, TORN_OP_UPDATE, 0, (uint64_t)i * 100000000, (uint64_t)i * 100000000 + 1000000);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *out = render(names[i], &rep);
        CHECK(out && strstr(out, "closed-loop"), "%s labels closed-loop figures", names[i]);
        CHECK(out && (strstr(out, "open-loop") || strstr(out, "open_loop")) &&
                  strstr(out, "corrected"),
              "%s shows open-loop corrected figures", names[i]);
        free(out);
    }
    torn_result_free(closed);
    torn_result_free(open);
}

/* A context as the runner makes one, with params {"rate": rate} (rate < 0:
 * no such parameter) and fresh shared stats. */
static int ctx_with_rate(struct torn_ctx *ctx, double rate)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->params = cJSON_CreateObject();
    if (rate >= 0)
        cJSON_AddNumberToObject((cJSON *)ctx->params, "rate", rate);
    ctx->t0_ns = torn_now_ns();
    ctx->slot = 3;
    return torn_stats_new(&ctx->stats, NULL);
}

static uint64_t merged_samples(const struct torn_ctx *ctx, struct torn_result *r)
{
    torn_result_openloop(r, 1);
    return torn_stats_merge_openloop(ctx->stats, r->openloop);
}

/* torn_ctx_pace + torn_ctx_op: the first operation after each pace is one
 * open-loop sample (a second operation of the same step is not), measured
 * from when it was due; closed loop adds none. */
static void test_ctx_pace_samples(void)
{
    struct torn_ctx ctx;
    struct torn_pace p;
    struct torn_result *r = torn_result_new();
    int n = 0;

    CHECK(ctx_with_rate(&ctx, 200) == 0, "stats mapped");
    torn_ctx_pace_init(&ctx, &p, 2, 1);
    while (n < 4 && torn_ctx_pace(&ctx, &p) == 1) {
        CHECK(ctx.due_ns != 0, "op %d has a due time", n);
        if (n == 2) /* this one starts 20 ms late: its corrected latency shows it */
            torn_sleep_ns(20000000);
        torn_ctx_op(&ctx, TORN_OP_UPDATE, TORN_OUT_OK, 1000000);
        CHECK(ctx.due_ns == 0, "op %d took the due time", n);
        torn_ctx_op(&ctx, TORN_OP_READ, TORN_OUT_OK, 1000000); /* not paced */
        n++;
    }
    CHECK(merged_samples(&ctx, r) == 4, "4 open-loop samples (got %llu)",
          (unsigned long long)r->openloop->corrected[TORN_OP_UPDATE].n);
    CHECK(r->openloop->corrected[TORN_OP_READ].n == 0, "the unpaced reads are not samples");
    CHECK(r->openloop->corrected[TORN_OP_UPDATE].max >= 20000000 &&
              r->openloop->uncorrected[TORN_OP_UPDATE].max < 20000000,
          "a late start shows in corrected only (corrected max %llu ns, uncorrected %llu ns)",
          (unsigned long long)r->openloop->corrected[TORN_OP_UPDATE].max,
          (unsigned long long)r->openloop->uncorrected[TORN_OP_UPDATE].max);
    CHECK(r->openloop->n_late[TORN_OP_UPDATE] >= 1, "the late one is counted late");
    torn_stats_free(ctx.stats);
    cJSON_Delete((cJSON *)ctx.params);
    torn_result_free(r);

    for (int rate = -1; rate <= 0; rate++) { /* no parameter, rate 0: closed loop */
        r = torn_result_new();
        CHECK(ctx_with_rate(&ctx, rate) == 0, "stats mapped");
        torn_ctx_pace_init(&ctx, &p, 1, 0);
        for (n = 0; n < 3; n++) {
            CHECK(torn_ctx_pace(&ctx, &p) == 1 && ctx.due_ns == 0, "closed loop: op %d at once", n);
            torn_ctx_op(&ctx, TORN_OP_UPDATE, TORN_OUT_OK, 1000);
        }
        CHECK(merged_samples(&ctx, r) == 0, "closed loop (rate %d): no open-loop sample", rate);
        torn_stats_free(ctx.stats);
        cJSON_Delete((cJSON *)ctx.params);
        torn_result_free(r);
    }
}

static const struct torn_test tests[] = {
    {"ctx_pace_samples", test_ctx_pace_samples},
    {"schedule_spacing", test_schedule_spacing},
    {"overdue_not_skipped", test_overdue_not_skipped},
    {"deadline", test_deadline},
    {"result_pair", test_result_pair},
    {"reports_label_loops", test_reports_label_loops},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

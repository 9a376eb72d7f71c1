/* Unit tests: the release gate's budget grammar, allowances and the
 * baseline comparison (harness/gate/). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/hdr.h"
#include "core/result.h"
#include "gate/baseline.h"
#include "gate/budget.h"
#include "gate/gate.h"
#include "gate/prom.h"

static void test_budget_parse(void)
{
    static const struct {
        const char *text;
        const char *scenario;
        int op, metric, floor, incl;
        double limit;
    } ok[] = {
        {"update.p99<500ms", NULL, TORN_OP_UPDATE, TORN_M_P99, 0, 0, 500e6},
        {" update . p99.9 <= 1s ", NULL, TORN_OP_UPDATE, TORN_M_P999, 0, 1, 1e9},
        {"dual-write:dual_write.fail_rate<0.1%", "dual-write", TORN_OP_DUAL_WRITE,
         TORN_M_FAIL_RATE, 0, 0, 0.001},
        {"*.error_rate<0.01", NULL, -1, TORN_M_ERROR_RATE, 0, 0, 0.01},
        {"read.throughput>=50/s", NULL, TORN_OP_READ, TORN_M_THROUGHPUT, 1, 1, 50},
        {"event.max<250us", NULL, TORN_OP_EVENT, TORN_M_MAX, 0, 0, 250e3},
    };
    static const char *const bad[] = {
        "update.p99", "update.p99<", "update.p99<5", "update.p99>5ms", "p99<5ms", ":update.p99<5ms",
        "nope.p99<5ms", "update.p42<5ms", "*.p99<5ms", "update.fail_rate<2", "update.throughput<5",
        "update.p99<-5ms", "update.p99<5msx", "update.p99<1e400ms",
    };
    struct torn_budget b;
    struct torn_err err;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int rc = torn_budget_parse(ok[i].text, "t", &b, &err);
        CHECK(rc == 0, "%s: %s", ok[i].text, err.msg);
        if (rc)
            continue;
        CHECK(b.op == ok[i].op && (int)b.metric == ok[i].metric && b.floor == ok[i].floor &&
                  b.inclusive == ok[i].incl && fabs(b.limit - ok[i].limit) < 1e-9 * ok[i].limit,
              "%s: op %d metric %d floor %d incl %d limit %g", ok[i].text, b.op, b.metric,
              b.floor, b.inclusive, b.limit);
        CHECK((!b.scenario && !ok[i].scenario) ||
                  (b.scenario && ok[i].scenario && !strcmp(b.scenario, ok[i].scenario)),
              "%s: scenario %s", ok[i].text, b.scenario ? b.scenario : "(none)");
        torn_budget_clear(&b);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        torn_err_clear(&err);
        CHECK(torn_budget_parse(bad[i], "--budget", &b, &err) != 0 &&
                  strstr(err.msg, "--budget") && !strchr(err.msg, '\n'),
              "'%s' accepted or badly worded: %s", bad[i], err.msg);
    }
}

/* A result with n updates of lat_ns each (f of them failed), over dur s. */
static struct torn_result *result_with(uint64_t lat_ns, int n, int f, double dur)
{
    struct torn_result *r = torn_result_new();

    r->scenario = strdup("s");
    r->target = strdup("file:durable");
    r->driver = strdup("file");
    r->strategy = strdup("durable");
    r->duration_s = dur;
    torn_hdr_init(&r->ops[TORN_OP_UPDATE].hdr);
    for (int i = 0; i < n; i++)
        torn_hdr_add(&r->ops[TORN_OP_UPDATE].hdr, lat_ns);
    r->ops[TORN_OP_UPDATE].n_ok = (uint64_t)(n - f);
    r->ops[TORN_OP_UPDATE].n_fail = (uint64_t)f;
    return r;
}

static void test_budget_judge(void)
{
    struct torn_result *r = result_with(600000000, 100, 10, 10); /* 600 ms, 10 % failed */
    struct torn_budget b;
    struct torn_err err;
    cJSON *checks = cJSON_CreateArray();
    const cJSON *c;

    torn_budget_parse("update.p99<500ms", "t", &b, &err);
    torn_budget_judge(&b, r, checks);
    torn_budget_clear(&b);
    CHECK(r->verdict == TORN_FAIL && r->n_violations == 1 &&
              !strcmp(r->violations[0].criterion, "budget:p99") &&
              !strncmp(r->violations[0].evidence, "update p99 6", 12) &&
              strstr(r->violations[0].evidence, " ms > 500 ms"),
          "p99 600 ms over 500: %s", r->n_violations ? r->violations[0].evidence : "none");
    c = cJSON_GetArrayItem(checks, 0);
    CHECK(c && cJSON_GetObjectItem(c, "margin")->valuedouble < -90 &&
              cJSON_IsFalse(cJSON_GetObjectItem(c, "held")),
          "margin of the broken budget");
    torn_budget_parse("update.throughput>5/s", "t", &b, &err);
    torn_budget_judge(&b, r, checks);
    torn_budget_clear(&b);
    c = cJSON_GetArrayItem(checks, 1);
    CHECK(c && cJSON_IsTrue(cJSON_GetObjectItem(c, "held")) &&
              fabs(cJSON_GetObjectItem(c, "margin")->valuedouble - 5) < 1e-9,
          "10 ops/s over a floor of 5: margin 5");
    torn_budget_parse("update.fail_rate<=10%", "t", &b, &err);
    torn_budget_judge(&b, r, checks);
    torn_budget_clear(&b);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 2), "held")),
          "10 %% failed, budget <= 10 %%: held");
    torn_budget_parse("other:update.p99<1ms", "t", &b, &err);
    torn_budget_judge(&b, r, checks);
    CHECK(cJSON_GetArraySize(checks) == 3 && b.n_judged == 0, "another scenario's budget");
    torn_budget_clear(&b);
    cJSON_Delete(checks);
    torn_result_free(r);
}

struct tally {
    int rows, regressed;
};

static int count(void *arg, const struct torn_cmp *c)
{
    struct tally *t = arg;
    t->rows++;
    t->regressed += c->regressed;
    return 0;
}

static void test_baseline(void)
{
    struct torn_result *old_r = result_with(10000000, 100, 0, 10);   /* 10 ms */
    struct torn_result *same = result_with(14000000, 100, 0, 10);    /* +4 ms: < 10 ms */
    struct torn_result *slow = result_with(40000000, 100, 0, 10);    /* +30 ms */
    struct torn_allow allow[TORN_M_COUNT];
    struct torn_figs fo, fs, fw;
    struct tally t1 = {0, 0}, t2 = {0, 0};
    struct torn_err err;

    torn_allow_defaults(allow);
    torn_figs_from_result(old_r, &fo);
    torn_figs_from_result(same, &fs);
    torn_figs_from_result(slow, &fw);
    torn_baseline_compare(&fo, &fs, allow, count, &t1);
    torn_baseline_compare(&fo, &fw, allow, count, &t2);
    CHECK(t1.rows == 3 && t1.regressed == 0, "unchanged: %d rows %d regressed", t1.rows,
          t1.regressed);
    CHECK(t2.rows == 3 && t2.regressed == 2, "slowed: %d rows %d regressed", t2.rows,
          t2.regressed);
    CHECK(torn_allow_parse("p99=300% or 5ms", "--allow", allow, &err) == 0 &&
              allow[TORN_M_P99].rel == 3 && allow[TORN_M_P99].abs == 5e6,
          "p99=200%% or 5ms: %s", err.msg);
    CHECK(torn_allow_parse("p50=off", "--allow", allow, &err) == 0 && !allow[TORN_M_P50].on,
          "off");
    CHECK(torn_allow_parse("error_rate=0.5%", "--allow", allow, &err) == 0 &&
              fabs(allow[TORN_M_ERROR_RATE].abs - 0.005) < 1e-12,
          "rates in points");
    t2 = (struct tally){0, 0};
    torn_baseline_compare(&fo, &fw, allow, count, &t2);
    CHECK(t2.rows == 2 && t2.regressed == 0, "p99 may triple: %d rows %d regressed", t2.rows,
          t2.regressed);
    CHECK(torn_allow_parse("p99=20% and 5ms", "--allow", allow, &err) == TORN_E_USAGE,
          "'and' refused");
    CHECK(torn_allow_parse("p42=1ms", "--allow", allow, &err) == TORN_E_USAGE, "bad metric");
    CHECK(torn_allow_parse("error_rate=1% or 2%", "--allow", allow, &err) == TORN_E_USAGE,
          "a rate takes one amount");
    torn_result_free(old_r);
    torn_result_free(same);
    torn_result_free(slow);
}

static void test_prom(void)
{
    static const char page[] =
        "# HELP research_finalized_total Jobs.\n"
        "# TYPE research_finalized_total counter\n"
        "research_finalized_total{status=\"completed\"} 12\n"
        "research_finalized_total{status=\"failed\",shard=\"a\"} 3 1700000000000\r\n"
        "research_finalized_total{shard=\"b\", status=\"failed\",} 1e0\n"
        "research_finalized_total_created{status=\"completed\"} 1.7e9\n"
        "other{status=\"completed\"} 99\n"
        "  \n"
        "esc{v=\"a\\\"b\\\\c\\nd\"} +Inf\n"
        "nan_metric NaN";
    static const char *const bad[] = {
        "x{status=\"a\" 1\n", "x{status=a} 1\n", "x 1 2 3\n", "x\n", "x{} one\n",
        "1x 1\n", "x{9=\"a\"} 1\n", "x{a=\"\\q\"} 1\n", "<html>\n",
    };
    struct torn_prom_sample sel;
    struct torn_err err;
    double sum;
    size_t n;

    CHECK(torn_prom_selector("research_finalized_total{status=\"completed\"}", "t", &sel, &err) ==
              0 && torn_prom_sum(page, sizeof page - 1, &sel, "page", &sum, &n, &err) == 0 &&
              sum == 12 && n == 1,
          "completed: %g in %zu samples (%s)", sum, n, err.msg);
    CHECK(torn_prom_selector("research_finalized_total{status=\"failed\"}", "t", &sel, &err) ==
              0 && torn_prom_sum(page, sizeof page - 1, &sel, "page", &sum, &n, &err) == 0 &&
              sum == 4 && n == 2,
          "failed over two shards: %g in %zu (%s)", sum, n, err.msg);
    CHECK(torn_prom_selector("esc{v=\"a\\\"b\\\\c\\nd\"}", "t", &sel, &err) == 0 &&
              torn_prom_sum(page, sizeof page - 1, &sel, "page", &sum, &n, &err) == 0 &&
              n == 1 && isinf(sum),
          "escaped label value: %zu (%s)", n, err.msg);
    CHECK(torn_prom_selector("absent", "t", &sel, &err) == 0 &&
              torn_prom_sum(page, sizeof page - 1, &sel, "page", &sum, &n, &err) == 0 && n == 0 &&
              sum == 0,
          "absent series: 0");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        torn_prom_selector("x", "t", &sel, &err);
        CHECK(torn_prom_sum(bad[i], strlen(bad[i]), &sel, "page", &sum, &n, &err) ==
                  TORN_E_CONFIG && strstr(err.msg, "line 1"),
              "bad page %zu accepted: %s", i, err.msg);
    }
    CHECK(torn_prom_selector("x{a=\"1\"} 3", "sel", &sel, &err) == TORN_E_CONFIG,
          "a selector with a value");
}

static const struct torn_test tests[] = {
    {"prom", test_prom},
    {"budget_parse", test_budget_parse},
    {"budget_judge", test_budget_judge},
    {"baseline", test_baseline},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

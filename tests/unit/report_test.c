/* Unit tests: the JSON and JUnit writers on a hand-built report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"

static struct torn_result *mk(const char *scenario, enum torn_verdict v)
{
    struct torn_result *r = torn_result_new();

    r->scenario = strdup(scenario);
    r->target = strdup("file:naive");
    r->driver = strdup("file");
    r->strategy = strdup("naive");
    r->seed = 42;
    r->duration_s = 1.25;
    r->replay = strdup("torn run --target 'file:naive' --scenario x --seed 42");
    torn_hdr_add(&r->ops[TORN_OP_UPDATE].hdr, 1000000);
    r->ops[TORN_OP_UPDATE].n_ok = 1;
    if (v == TORN_FAIL)
        torn_result_violation(r, "no-torn-write", "job<&>\"1\"", 0.41,
                              "version 41 acknowledged, record read back empty (0 bytes) "
                              "<after> kill & \"quote\"\x01");
    if (v == TORN_ERROR)
        torn_result_error(r, -3, "redis-server not found <install redis-server>");
    return r;
}

static char *render(const char *name, struct torn_report *rep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    torn_reporter_find(name)->write(f, rep, NULL);
    fclose(f);
    return buf;
}

static void fill(struct torn_report *rep, struct torn_result **rs)
{
    memset(rep, 0, sizeof *rep);
    rep->tool_version = "test";
    strcpy(rep->started_at, "2026-11-23T00:00:00.000Z");
    rep->seed = 42;
    rep->command = "torn run";
    rs[0] = mk("crash-midwrite", TORN_PASS);
    rs[1] = mk("concurrent-updaters", TORN_FAIL);
    rs[2] = mk("corrupt-read", TORN_ERROR);
    rep->results = rs;
    rep->n_results = 3;
}

static void test_json(void)
{
    struct torn_report rep;
    struct torn_result *rs[3];
    char *text;
    cJSON *j, *results, *v;

    fill(&rep, rs);
    text = render("json", &rep);
    j = cJSON_Parse(text);
    CHECK(j != NULL, "JSON report parses");
    results = cJSON_GetObjectItem(j, "results");
    CHECK(cJSON_GetArraySize(results) == 3, "three results");
    CHECK(cJSON_GetObjectItem(j, "exit_code")->valueint == 1, "exit code 1 with a FAIL");
    v = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(results, 1), "violations"), 0);
    CHECK(v && strstr(cJSON_GetObjectItem(v, "evidence")->valuestring, "version 41"),
          "violation evidence kept");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(results, 0), "latency"),
                              "update") != NULL,
          "latency per op");
    cJSON_Delete(j);
    free(text);
    for (int i = 0; i < 3; i++)
        torn_result_free(rs[i]);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_junit(void)
{
    struct torn_report rep;
    struct torn_result *rs[3];
    char *x;

    fill(&rep, rs);
    x = render("junit", &rep);
    CHECK(count(x, "<testcase ") == 3, "one testcase per result");
    CHECK(count(x, "<failure ") == 1 && count(x, "</failure>") == 1, "one failure");
    CHECK(count(x, "<error ") == 1, "one error");
    CHECK(!strstr(x, "job<&>") && strstr(x, "job&lt;&amp;&gt;&quot;1&quot;"), "escaped key");
    CHECK(!strchr(x, '\x01'), "control bytes removed");
    CHECK(strstr(x, "replay (the OS decides the interleaving: one run may not reproduce it): "
                    "torn run --target &apos;file:naive&apos;") != NULL,
          "replay command, and how far it can be trusted, in the failure body");
    free(x);
    for (int i = 0; i < 3; i++)
        torn_result_free(rs[i]);
}

/* Jenkins' schema and merging: a suite per target named with the run's
 * start, no skipped on <testsuites>, classnames without the URL's dots,
 * the run's own errors in a suite of their own. */
static void test_junit_suites(void)
{
    struct torn_report rep;
    struct torn_result *rs[4];
    char *x;

    fill(&rep, rs);
    free(rs[2]->target);
    rs[2]->target = strdup("http://127.0.0.1:28099");
    rs[3] = mk("crash-midwrite", TORN_PASS);
    free(rs[3]->target);
    rs[3]->target = strdup("http://127.0.0.1:28099");
    rep.n_results = 4;
    rep.interrupted = 1;
    rep.signal = 2;
    x = render("junit", &rep);
    CHECK(count(x, "<testsuite ") == 3, "a suite per target and one for the run: %d",
          count(x, "<testsuite "));
    CHECK(strstr(x, "<testsuite name=\"torn file:naive 2026-11-23T00:00:00.000Z\" tests=\"2\" "
                    "failures=\"1\" errors=\"0\"") != NULL,
          "suite named by target and run start, its own counts");
    CHECK(strstr(x, "<testsuite name=\"torn http://127.0.0.1:28099 2026-11-23T00:00:00.000Z\" "
                    "tests=\"2\" failures=\"0\" errors=\"1\"") != NULL,
          "the http target's suite");
    CHECK(count(x, "<properties>") == 3, "one <properties> per suite");
    CHECK(strstr(x, "classname=\"torn.http://127_0_0_1:28099\"") &&
              !strstr(x, "classname=\"torn.http://127.0"),
          "no dot of the URL in a classname (Jenkins splits at the last dot)");
    CHECK(strstr(x, "<testsuites name=\"torn\" tests=\"5\" failures=\"1\" errors=\"2\" time=") != NULL,
          "testsuites: the totals, the interruption counted");
    {
        const char *ts = strstr(x, "<testsuites"), *end = strchr(ts, '>');
        CHECK(!memmem(ts, (size_t)(end - ts), "skipped", 7), "no skipped attribute on <testsuites>");
    }
    CHECK(strstr(x, "<testsuite name=\"torn run 2026-11-23T00:00:00.000Z\" tests=\"1\" "
                    "failures=\"0\" errors=\"1\"") != NULL,
          "the interruption in a suite of its own");
    free(x);
    for (int i = 0; i < 4; i++)
        torn_result_free(rs[i]);
}

/* CSV: a header and one row per result x operation with samples, RFC 4180
 * quoting, formulas defused, control characters neutralised. */
static void test_csv(void)
{
    struct torn_report rep;
    struct torn_result *rs[3];
    char *x;

    fill(&rep, rs);
    free(rs[1]->target);
    rs[1]->target = strdup("=HYPERLINK(\"http://x\",\"a,b\")\n");
    x = render("csv", &rep);
    CHECK(strstr(x, "started_at,seed,scenario,target,verdict,violations,operation,loop,ok,") == x,
          "header first");
    CHECK(count(x, "\r\n") == 4, "header and one row per result with an update: %d",
          count(x, "\r\n"));
    CHECK(strstr(x, "2026-11-23T00:00:00.000Z,42,crash-midwrite,file:naive,PASS,0,update,closed,1,0,0,"
                    "0.800,1.000") != NULL,
          "a row: counts, ops/s, mean 1 ms: %s", x);
    CHECK(strstr(x, ",\"'=HYPERLINK(\"\"http://x\"\",\"\"a,b\"\")\\n\",FAIL,1,") != NULL,
          "formula defused, quotes doubled, field quoted, newline neutralised: %s", x);
    free(x);
    for (int i = 0; i < 3; i++)
        torn_result_free(rs[i]);
}

static void test_violation_cap(void)
{
    struct torn_result *r = torn_result_new();

    for (int i = 0; i < 1000; i++)
        torn_result_violation(r, "flood", NULL, 0, "n %d", i);
    torn_result_violation(r, "rare", NULL, 0, "the one that matters");
    CHECK(r->n_violations_total == 1001, "all counted");
    CHECK(r->n_violations == TORN_MAX_VIOLATIONS_PER_CRITERION + 1,
          "a flood does not hide another criterion (%zu kept)", r->n_violations);
    CHECK(strcmp(r->violations[r->n_violations - 1].criterion, "rare") == 0, "rare kept");
    torn_result_free(r);
}

static void test_atomic_report(void)
{
    struct torn_report rep;
    struct torn_result *rs[3];
    char dir[] = "/tmp/torn-unit-XXXXXX", path[128];
    char *buf;
    size_t len;

    fill(&rep, rs);
    mkdtemp(dir);
    snprintf(path, sizeof path, "%s/r.json", dir);
    CHECK(torn_report_write_file(torn_reporter_find("json"), path, &rep, NULL) == 0, "write");
    CHECK(torn_read_file(path, &buf, &len, NULL) == 0 && len > 10, "report on disk");
    free(buf);
    snprintf(path, sizeof path, "%s/none/r.json", dir);
    CHECK(torn_report_write_file(torn_reporter_find("json"), path, &rep, NULL) != 0,
          "missing directory is an error");
    torn_rmtree(dir);
    for (int i = 0; i < 3; i++)
        torn_result_free(rs[i]);
}

static const struct torn_test tests[] = {
    {"json", test_json},
    {"junit", test_junit},
    {"junit_suites", test_junit_suites},
    {"csv", test_csv},
    {"violation_cap", test_violation_cap},
    {"atomic_report", test_atomic_report},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

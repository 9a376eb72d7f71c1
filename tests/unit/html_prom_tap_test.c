/* Unit tests: the HTML, Prometheus, TAP and Markdown reporters and the
 * GitHub Actions annotations, on a hand-built report with a history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "reports/json_read.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"

static char hist_path[] = "/tmp/torn-html-test-XXXXXX";

static const char history[] =
    "{\"type\":\"fault\",\"process\":0,\"f\":\"scenario-start\",\"time\":1000}\n"
    "{\"type\":\"invoke\",\"process\":1,\"f\":\"update\",\"key\":\"job<1>\",\"value\":{\"seq\":1},"
    "\"time\":2000}\n"
    "{\"type\":\"invoke\",\"process\":2,\"f\":\"read\",\"key\":\"job<1>\",\"time\":2500}\n"
    "{\"type\":\"ok\",\"process\":1,\"f\":\"update\",\"key\":\"job<1>\",\"value\":{\"version\":2},"
    "\"time\":3000}\n"
    "{\"type\":\"fault\",\"process\":0,\"f\":\"kill\",\"time\":3200}\n"
    "{\"type\":\"ok\",\"process\":2,\"f\":\"read\",\"key\":\"job<1>\",\"value\":{\"version\":1},"
    "\"time\":4000}\n"
    "{\"type\":\"fault\",\"process\":0,\"f\":\"scenario-start\",\"time\":5000}\n"
    "{\"type\":\"fault\",\"process\":0,\"f\":\"scenario-start\",\"time\":6000}\n";

static struct torn_result *mk(const char *scenario, const char *target, enum torn_verdict v)
{
    struct torn_result *r = torn_result_new();

    r->scenario = strdup(scenario);
    r->target = strdup(target);
    r->driver = strdup("file");
    r->strategy = strdup("naive");
    r->seed = 7;
    r->duration_s = 2;
    r->replay = strdup("torn run --scenario x --seed 7");
    for (uint64_t i = 1; i <= 1000; i++)
        torn_hdr_add(&r->ops[TORN_OP_UPDATE].hdr, i * 1000);
    r->ops[TORN_OP_UPDATE].n_ok = 1000;
    torn_hdr_add(&r->ops[TORN_OP_READ].hdr, 5000);
    r->ops[TORN_OP_READ].n_ok = 1;
    r->ops[TORN_OP_READ].n_info = 2;
    if (v == TORN_FAIL) {
        torn_result_violation(r, "stale-read", "job<1>", 0.000001,
                              "a read returned version 1 <script>alert(1)</script>\n"
                              "  p1 update (line 2,4)\n  p2 read (line 3,6)");
        torn_result_violation(r, "no-torn-read", "job<1>", 0.000002, "torn \"record\"|x");
        torn_result_violation(r, "no-torn-read", "job<1>", 0.000002, "torn \"record\"|x");
    }
    if (v == TORN_ERROR)
        torn_result_error(r, -3, "redis-server: not found");
    if (v == TORN_SKIP)
        r->verdict = TORN_SKIP;
    return r;
}

static void fill(struct torn_report *rep, struct torn_result **rs)
{
    memset(rep, 0, sizeof *rep);
    rep->tool_version = "test";
    strcpy(rep->started_at, "2026-11-23T00:00:00.000Z");
    rep->seed = 7;
    rep->command = "torn run --html r.html";
    rep->history_path = hist_path;
    rs[0] = mk("crash-midwrite", "file:naive", TORN_FAIL);
    rs[1] = mk("crash-midwrite", "file:durable", TORN_PASS);
    rs[2] = mk("corrupt-read", "file:naive", TORN_ERROR);
    rs[3] = mk("corrupt-read", "file:durable", TORN_SKIP);
    rep->results = rs;
    rep->n_results = 4;
}

static void done(struct torn_report *rep)
{
    for (size_t i = 0; i < rep->n_results; i++)
        torn_result_free(rep->results[i]);
}

static char *render(const char *name, const struct torn_report *rep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = torn_reporter_find(name)->write(f, rep, NULL);

    fclose(f);
    CHECK(rc == 0, "%s writer returned %d", name, rc);
    return buf;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_html(void)
{
    struct torn_report rep;
    struct torn_result *rs[4];
    char *h;

    fill(&rep, rs);
    h = render("html", &rep);
    CHECK(!strncmp(h, "<!DOCTYPE html>", 15) && strstr(h, "</html>\n"), "document shape");
    CHECK(!strstr(h, "<script>") && strstr(h, "&lt;script&gt;"), "evidence escaped");
    CHECK(!strstr(h, "http://") && !strstr(h, "https://") && !strstr(h, "src="),
          "self-contained: no external references");
    CHECK(strstr(h, "id=\"matrix\"") && strstr(h, "class=\"FAIL\"") && strstr(h, "class=\"PASS\"") &&
              strstr(h, "class=\"ERROR\"") && strstr(h, "class=\"SKIP\""),
          "matrix has every verdict");
    CHECK(count(h, "<svg") >= 5, "svg drawings: %zu", count(h, "<svg"));
    CHECK(strstr(h, "class=\"timeline\""), "counterexample timeline drawn from (line N)");
    CHECK(strstr(h, "id=\"timeline\""), "run timeline drawn");
    CHECK(strstr(h, "&times;2"), "identical violations collapsed");
    CHECK(strstr(h, "class=\"fault\""), "fault marker");
    CHECK(strstr(h, "closed-loop"), "closed-loop latency labelled");
    free(h);

    rep.history_path = "/nonexistent/torn-history.jsonl";
    h = render("html", &rep);
    CHECK(strstr(h, "Timelines left out") && strstr(h, "</html>"), "missing history noted");
    free(h);
    done(&rep);
}

/* The first violation's process after a JSON report is written and read. */
static int json_process(const struct torn_report *rep)
{
    char *j = render("json", rep);
    cJSON *doc = cJSON_Parse(j);
    struct torn_result *back = NULL;
    int p = -2;

    if (doc && torn_json_result_read(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "results"), 0),
                                     "r", &back, NULL) == 0 && back->n_violations)
        p = back->violations[0].process;
    torn_result_free(back);
    cJSON_Delete(doc);
    free(j);
    return p;
}

/* The operation that broke the rule is outlined, and the reads that
 * observed it.  Evidence naming lines: the latest named op shows it (here
 * p2's read, which observed p1's update).  A violation naming a process
 * (no lines): that process's last op at or before its time (p1's update at
 * t = 3.5 us, 4500 ns on the history's clock), and the read of the key that
 * began after it and ended by then. */
static void test_html_roles(void)
{
    struct torn_report rep;
    struct torn_result *rs[4];
    char *h;

    fill(&rep, rs);
    h = render("html", &rep);
    CHECK(strstr(h, "<g><title>broke the rule: p1   update") &&
              strstr(h, "<rect class=\"ok broke\""), "evidence: the write outlined");
    CHECK(strstr(h, "<g><title>observed it: p2   read") && strstr(h, "<rect class=\"ok seen\""),
          "evidence: the read that saw it outlined");
    CHECK(strstr(h, "<span class=\"role-broke\">") && strstr(h, "<span class=\"role-seen\">"),
          "legend names both");
    CHECK(strstr(h, "the scenario names no single operation for it"),
          "a violation without lines or process: context only, said so");
    free(h);
    CHECK(json_process(&rep) == -1, "no process: -1 through JSON");
    done(&rep);

    fill(&rep, rs);
    for (size_t i = 0; i < 4; i++)   /* one result, a violation naming p1 */
        torn_result_free(rs[i]);
    rep.n_results = 1;
    rs[0] = mk("crash-midwrite", "file:naive", TORN_PASS);
    torn_result_violation_op(rs[0], "acknowledged-durable", "job<1>", 0.0000035, 1, "lost");
    h = render("html", &rep);
    CHECK(count(h, "<rect class=\"ok broke\"") == 1 &&
              strstr(h, "<g><title>broke the rule: p1   update"),
          "named process: its write outlined");
    CHECK(count(h, "<rect class=\"ok seen\"") == 1 &&
              strstr(h, "<g><title>observed it: p2   read"),
          "named process: the read after it outlined");
    free(h);
    CHECK(json_process(&rep) == 1, "process kept through JSON");
    done(&rep);
}

/* Every sample line: name{labels} value; histogram buckets cumulative. */
static void test_prom(void)
{
    struct torn_report rep;
    struct torn_result *rs[4];
    char *p, *line, *save = NULL;
    unsigned long long last = 0;
    int bad = 0, buckets = 0, inf_ok = 0;

    fill(&rep, rs);
    p = render("prom", &rep);
    CHECK(strstr(p, "# TYPE torn_op_latency_seconds histogram"), "histogram type");
    CHECK(strstr(p, "torn_violations_total{scenario=\"crash-midwrite\",target=\"file:naive\","
                    "driver=\"file\",strategy=\"naive\",criterion=\"no-torn-read\"} 2"),
          "violations by criterion");
    CHECK(strstr(p, "key=") == NULL, "no unbounded key labels");
    for (line = strtok_r(p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7))
            continue;
        char *brace = strchr(line, '{'), *close = strrchr(line, '}');
        char *sp = strrchr(line, ' ');
        if (!sp || (brace && (!close || close > sp)) || sp[1] == '\0')
            bad++;
        int series = strstr(line, "op=\"update\"") && strstr(line, "target=\"file:naive\"") &&
                     strstr(line, "scenario=\"crash-midwrite\"");
        if (strstr(line, "_bucket{") && series) {
            unsigned long long v = strtoull(sp + 1, NULL, 10);
            bad += v < last;
            last = v;
            buckets++;
            if (strstr(line, "le=\"+Inf\"") && v == 1000)
                inf_ok = 1;
        }
        if (strstr(line, "_count{") && series)
            CHECK(!strcmp(sp + 1, "1000"), "count %s", sp + 1);
    }
    CHECK(bad == 0, "%d malformed or non-cumulative lines", bad);
    CHECK(buckets == 26 && inf_ok, "buckets %d, +Inf = count: %d", buckets, inf_ok);
    free(p);
    done(&rep);
}

static void test_tap(void)
{
    struct torn_report rep;
    struct torn_result *rs[4];
    char *t;

    fill(&rep, rs);
    t = render("tap", &rep);
    CHECK(!strncmp(t, "TAP version 13\n1..4\n", 20), "TAP 13 header and plan");
    CHECK(strstr(t, "not ok 1 - crash-midwrite on file:naive\n  ---\n"), "failing point + YAML");
    CHECK(strstr(t, "ok 2 - crash-midwrite on file:durable\n"), "passing point");
    CHECK(strstr(t, "not ok 3 - ") && strstr(t, "severity: error"), "error point");
    CHECK(strstr(t, "ok 4 - corrupt-read on file:durable # SKIP"), "skip directive");
    CHECK(strstr(t, "\\n  p1 update (line 2,4)") && strstr(t, "\\\"record\\\""),
          "YAML strings escaped");
    free(t);
    done(&rep);
}

static void test_markdown_github(void)
{
    struct torn_report rep;
    struct torn_result *rs[4];
    char summary[] = "/tmp/torn-gh-summary-XXXXXX";
    char *m, *buf = NULL, *sum;
    size_t len = 0;
    FILE *f;
    int fd = mkstemp(summary);

    fill(&rep, rs);
    m = render("markdown", &rep);
    CHECK(strstr(m, "| Scenario | Target | Verdict |") && strstr(m, "torn \"record\"\\|x") == NULL,
          "markdown table");
    CHECK(strstr(m, "<details>"), "failure details");
    free(m);

    unsetenv("GITHUB_ACTIONS");
    f = open_memstream(&buf, &len);
    CHECK(torn_report_github(f, &rep) == 0, "no-op outside Actions");
    fclose(f);
    CHECK(len == 0, "nothing printed outside Actions");
    free(buf);

    setenv("GITHUB_ACTIONS", "true", 1);
    setenv("GITHUB_STEP_SUMMARY", summary, 1);
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK(torn_report_github(f, &rep) == 0, "annotations");
    fclose(f);
    CHECK(count(buf, "::error title=") == 4, "one annotation per violation and error: %zu",
          count(buf, "::error title="));
    /* Evidence is neutralised when it is recorded (a newline becomes the two
     * characters \n), so no line of it can start a workflow command; the
     * annotation escapes what is left (':' in properties). */
    CHECK(strstr(buf, "\\n  p1 update") && !strstr(buf, "\n  p1 update") &&
              strstr(buf, "file%3Anaive"),
          "workflow escaping");
    free(buf);
    CHECK(torn_read_file(summary, &sum, &len, NULL) == 0 && strstr(sum, "| Scenario |"),
          "step summary appended");
    free(sum);
    unsetenv("GITHUB_ACTIONS");
    unsetenv("GITHUB_STEP_SUMMARY");
    if (fd >= 0)
        close(fd);
    unlink(summary);
    done(&rep);
}

static void setup(void)
{
    int fd = mkstemp(hist_path);

    if (fd < 0 || write(fd, history, sizeof history - 1) != (ssize_t)(sizeof history - 1))
        perror("history");
    if (fd >= 0)
        close(fd);
}

static void cleanup(void)
{
    unlink(hist_path);
}

/* Annotations: one for every failing scenario x target even when the
 * first has more violations than GitHub shows, each with seed and replay;
 * ERRORs titled with scenario, target and ERROR. */
static void test_github_each_failing(void)
{
    struct torn_report rep;
    struct torn_result *rs[5];
    char *buf = NULL;
    size_t len = 0;
    int n, with_replay;
    FILE *f;

    memset(&rep, 0, sizeof rep);
    strcpy(rep.started_at, "2026-11-23T00:00:00.000Z");
    rs[0] = mk("crash-midwrite", "file:naive", TORN_FAIL);
    for (int i = 0; i < 20; i++)
        torn_result_violation(rs[0], "no-lost-update", NULL, 1, "lost %d", i);
    rs[1] = mk("concurrent-updaters", "file:naive", TORN_FAIL);
    rs[2] = mk("corrupt-read", "file:naive", TORN_ERROR);
    rs[3] = mk("optimistic-lock", "http://127.0.0.1:28099", TORN_FAIL);
    rs[4] = mk("crash-midwrite", "file:durable", TORN_PASS);
    rep.results = rs;
    rep.n_results = 5;
    setenv("GITHUB_ACTIONS", "true", 1);
    unsetenv("GITHUB_STEP_SUMMARY");
    f = open_memstream(&buf, &len);
    torn_report_github(f, &rep);
    fclose(f);
    unsetenv("GITHUB_ACTIONS");
    n = count(buf, "\n");
    with_replay = count(buf, "%0Aseed: 7%0Areplay: torn run --scenario x");
    CHECK(n == 10, "as many annotations as GitHub shows: %d", n);
    CHECK(with_replay == n, "every annotation carries seed and replay (%d of %d)", with_replay, n);
    CHECK(strstr(buf, "title=torn concurrent-updaters on file%3Anaive%3A stale-read") &&
              strstr(buf, "title=torn optimistic-lock on http%3A//127.0.0.1%3A28099%3A "
                          "stale-read") &&
              strstr(buf, "title=torn corrupt-read on file%3Anaive%3A ERROR::redis-server"),
          "one for each failing scenario x target, the ERROR named: %s", buf);
    CHECK(!strstr(buf, "crash-midwrite on file%3Adurable"), "none for a pass");
    free(buf);
    for (int i = 0; i < 5; i++)
        torn_result_free(rs[i]);
}

static const struct torn_test tests[] = {
    {"github_each_failing", test_github_each_failing},
    {"setup", setup},
    {"html", test_html},
    {"html-roles", test_html_roles},
    {"prom", test_prom},
    {"tap", test_tap},
    {"markdown_github", test_markdown_github},
    {"cleanup", cleanup},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

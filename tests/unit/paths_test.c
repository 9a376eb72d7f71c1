/* Unit tests of the read-path comparison (core/paths.h) and of counts
 * folded from the findings file (core/finding.h): each disagreement is a
 * finding, each agreement none, and every compared pair adds 1 to the
 * metric read_paths_compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/finding.h"
#include "core/paths.h"
#include "core/result.h"
#include "core/util.h"

static char dir[64];

/* Judge main record text a against second-path text b (NULL: not found),
 * b read first when first; the findings this posted (0 or 1). */
static int disagreements(const char *a, const char *b, int first)
{
    cJSON *agree = cJSON_Parse("{\"/version\":\"/v\",\"/status\":\"/s\"}");
    cJSON *ra = cJSON_Parse(a), *rb = b ? cJSON_Parse(b) : NULL;
    struct torn_result *r = torn_result_new();
    long long mark = torn_findings_mark(dir);
    torn_paths_judge(dir, agree, "/version", "job-1", ra, rb, first, "GET /index/job-1");
    torn_findings_fold(dir, mark, r, 0);
    int n = (int)r->n_violations;
    torn_result_free(r);
    cJSON_Delete(agree);
    cJSON_Delete(ra);
    cJSON_Delete(rb);
    return n;
}

static void test_judge(void)
{
    const char *v2 = "{\"version\":2,\"status\":\"running\"}";
    CHECK(disagreements(v2, "{\"v\":2,\"s\":\"running\"}", 0) == 0, "same version, same fields");
    CHECK(disagreements(v2, "{\"v\":2,\"s\":\"done\"}", 0) == 1, "same version, a field differs");
    CHECK(disagreements(v2, "{\"v\":1,\"s\":\"queued\"}", 0) == 1, "second read after, behind");
    CHECK(disagreements(v2, "{\"v\":3,\"s\":\"done\"}", 0) == 0, "second read after, newer");
    CHECK(disagreements(v2, "{\"v\":3,\"s\":\"done\"}", 1) == 1, "second read first, main behind");
    CHECK(disagreements(v2, "{\"v\":1,\"s\":\"queued\"}", 1) == 0, "second read first, older");
    CHECK(disagreements(v2, NULL, 0) == 1, "not found just after the record was read");
    CHECK(disagreements(v2, NULL, 1) == 0, "not found before: the record may not have existed");
    CHECK(disagreements(v2, "{\"s\":\"running\"}", 0) == 1, "no version on the second path");
    CHECK(disagreements("{\"status\":\"unknown\",\"version\":2}", "{\"v\":1}", 0) == 0,
          "the main path's unknown answer is not compared");
    CHECK(disagreements("{\"status\":\"running\"}", "{\"v\":1}", 0) == 0,
          "a main record without version is not compared");
}

static void test_counts(void)
{
    struct torn_result *r = torn_result_new();
    long long mark = torn_findings_mark(dir);
    torn_finding_count(dir, "retries", 0);
    torn_finding_count(dir, "retries", 4);
    torn_finding_count(dir, "retries", 3);
    torn_finding_count(dir, "retried_answers", 1);
    torn_findings_fold(dir, mark, r, 0);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->metrics, "retries");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(r->metrics, "retried_answers");
    CHECK(cJSON_IsNumber(m) && m->valuedouble == 7, "retries summed to 7");
    CHECK(cJSON_IsNumber(n) && n->valuedouble == 1, "retried_answers 1");
    CHECK(r->n_violations == 0, "counts are not violations");
    torn_result_free(r);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/torn-paths-test.XXXXXX");
    if (!mkdtemp(dir))
        dir[0] = 0;
}

static void test_all(void)
{
    setup();
    CHECK(dir[0], "mkdtemp");
    if (!dir[0])
        return;
    test_judge();
    test_counts();
    torn_rmtree(dir);
}

static const struct torn_test tests[] = {
    {"paths_and_counts", test_all},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

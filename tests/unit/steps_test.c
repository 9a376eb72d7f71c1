/* Unit tests of torn_step_run (scenarios/lib/steps.h): every record
 * operation ends in the history by one rule, whatever its kind: ok when it
 * happened, fail when it was refused or failed definitely, info when an
 * indefinite error leaves its outcome unknown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/history.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "scenarios/lib/steps.h"

/* What the fake store answers next: 0 won, 1 refused, or a torn_code. */
static int answer;

static int fake_result(const char *id, int *won_out, cJSON **record_out, struct torn_err *err)
{
    if (answer < 0) {
        torn_err_set(err, answer, "fake store: %s", torn_strerror(answer));
        return answer;
    }
    if (won_out)
        *won_out = answer == 0;
    if (record_out) {
        *record_out = torn_record_new(id, NULL);
        cJSON_SetNumberValue(cJSON_GetObjectItem(*record_out, "version"), 7);
    }
    return 0;
}

static int fake_cas(struct torn_target *t, const char *id, const cJSON *patch, long long expected,
                    int *won_out, cJSON **record_out, struct torn_err *err)
{
    (void)t;
    (void)patch;
    (void)expected;
    return fake_result(id, won_out, record_out, err);
}

static int fake_transition(struct torn_target *t, const char *id, const char *const *from,
                           size_t n_from, const char *to, int *won_out, cJSON **record_out,
                           struct torn_err *err)
{
    (void)t;
    (void)from;
    (void)n_from;
    (void)to;
    return fake_result(id, won_out, record_out, err);
}

static int fake_update(struct torn_target *t, const char *id, const cJSON *patch,
                       cJSON **record_out, struct torn_err *err)
{
    (void)t;
    (void)patch;
    return fake_result(id, NULL, record_out, err);
}

/* The completion type of the last line of the history at path. */
static void last_type(const char *path, char *out, size_t len)
{
    char line[1024] = "", prev[1024] = "";
    FILE *f = fopen(path, "r");
    cJSON *j;

    out[0] = '\0';
    while (f && fgets(line, sizeof line, f))
        memcpy(prev, line, sizeof prev);
    if (f)
        fclose(f);
    j = cJSON_Parse(prev);
    if (cJSON_IsString(cJSON_GetObjectItem(j, "type")))
        snprintf(out, len, "%s", cJSON_GetObjectItem(j, "type")->valuestring);
    cJSON_Delete(j);
}

static void test_one_rule(void)
{
    static const struct torn_target_ops fake = {
        .version = TORN_TARGET_OPS_V1, .name = "fake", .update = fake_update,
        .update_if_version = fake_cas, .transition = fake_transition};
    static const struct {
        enum torn_step_kind kind;
        int answer;
        const char *want;
    } cases[] = {
        {TORN_STEP_CAS, 0, "ok"},
        {TORN_STEP_CAS, 1, "fail"},
        {TORN_STEP_CAS, TORN_E_REMOTE, "fail"},
        {TORN_STEP_CAS, TORN_E_TIMEOUT, "info"},
        {TORN_STEP_TRANSITION, 0, "ok"},
        {TORN_STEP_TRANSITION, 1, "fail"},
        {TORN_STEP_TRANSITION, TORN_E_REMOTE, "fail"},
        {TORN_STEP_TRANSITION, TORN_E_TIMEOUT, "info"},
        {TORN_STEP_UPDATE, 0, "ok"},
        {TORN_STEP_UPDATE, TORN_E_REMOTE, "fail"},
        {TORN_STEP_UPDATE, TORN_E_TIMEOUT, "info"},
    };
    struct torn_target tg = {.ops = &fake};
    struct torn_ctx ctx;
    struct torn_err err;
    char dir[] = "/tmp/torn-steps-XXXXXX", path[64], type[16];
    const char *from[] = {"PENDING"};

    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/h.jsonl", dir);
    memset(&ctx, 0, sizeof ctx);
    CHECK(torn_history_log_open(path, 0, &ctx.history, &err) == 0, "history: %s", err.msg);
    for (size_t i = 0; ctx.history && i < sizeof cases / sizeof cases[0]; i++) {
        struct torn_step s = {.kind = cases[i].kind, .id = "r", .expected = 1,
                              .from = from, .n_from = 1, .to = "DONE"};
        int won = -1, rc;

        answer = cases[i].answer;
        torn_err_clear(&err);
        rc = torn_step_run(&ctx, &tg, &s, &won, NULL, &err);
        last_type(path, type, sizeof type);
        CHECK(!strcmp(type, cases[i].want), "case %zu: ended '%s', want '%s'", i, type,
              cases[i].want);
        CHECK(rc == (answer < 0 ? answer : 0) && won == (answer == 0),
              "case %zu: rc %d won %d", i, rc, won);
    }
    torn_history_log_close(ctx.history);
    unlink(path);
    rmdir(dir);
}

static const struct torn_test tests[] = {
    {"one_rule", test_one_rule},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

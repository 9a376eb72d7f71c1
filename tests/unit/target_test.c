/* torn: the target plug point's own rules: every registered driver and
 * scenario declares the version this torn knows, a driver or scenario of
 * another version is refused with one line, and the operation wrappers turn
 * a missing slot into TORN_E_UNSUPPORTED with cleared out-parameters. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/scenario.h"
#include "core/target.h"

static void test_registered_versions(void)
{
    size_t n;
    const struct torn_target_ops *const *tg = torn_targets(&n);

    for (size_t i = 0; i < n; i++)
        CHECK(tg[i]->version == TORN_TARGET_OPS_V1, "target %s: version %d", tg[i]->name,
              tg[i]->version);
    const struct torn_scenario_ops *const *sc = torn_scenarios(&n);
    for (size_t i = 0; i < n; i++)
        CHECK(sc[i]->version == TORN_SCENARIO_OPS_V1, "scenario %s: version %d", sc[i]->name,
              sc[i]->version);
}

static int open_nothing(struct torn_target *t, struct torn_err *err)
{
    (void)t;
    (void)err;
    return 0;
}

static void close_nothing(struct torn_target *t)
{
    (void)t;
}

static void test_unknown_version_refused(void)
{
    static const struct torn_target_ops future = {
        .version = TORN_TARGET_OPS_V1 + 1, .name = "future",
        .open = open_nothing, .close = close_nothing};
    static const struct torn_scenario_ops sc_future = {
        .version = TORN_SCENARIO_OPS_V1 + 1, .name = "future-scenario", .defaults = "{}"};
    struct torn_target_cfg cfg = {.uri = "future:", .display = "future:", .strategy = ""};
    struct torn_target *t = (struct torn_target *)1;
    struct torn_err err;
    cJSON *out = NULL;

    CHECK(torn_target_new(&future, &cfg, &t, &err) == TORN_E_CONFIG && t == NULL,
          "a driver of an unknown version is refused");
    CHECK(strstr(err.msg, "future") && strstr(err.msg, "version 2") && !strchr(err.msg, '\n'),
          "one line naming the driver and its version: %s", err.msg);
    CHECK(torn_params_merge(&sc_future, NULL, NULL, NULL, 0, &out, &err) == TORN_E_CONFIG &&
              out == NULL,
          "a scenario of an unknown version is refused");
    CHECK(strstr(err.msg, "future-scenario") && strstr(err.msg, "version 2"), "names it: %s",
          err.msg);
}

static void test_missing_slot(void)
{
    static const struct torn_target_ops bare = {
        .version = TORN_TARGET_OPS_V1, .name = "bare", .open = open_nothing,
        .close = close_nothing};
    struct torn_target_cfg cfg = {.uri = "bare:", .display = "bare:", .strategy = ""};
    struct torn_target *t = NULL;
    struct torn_err err;
    cJSON *rec = (cJSON *)1;
    char *id = (char *)1;
    int won = 7;

    CHECK(torn_target_new(&bare, &cfg, &t, &err) == 0, "new: %s", err.msg);
    if (!t)
        return;
    CHECK(torn_target_read(t, "r", &rec, &err) == TORN_E_UNSUPPORTED && rec == NULL,
          "read without a slot: unsupported, record cleared");
    CHECK(strstr(err.msg, "bare") && strstr(err.msg, "read"), "names target and slot: %s",
          err.msg);
    rec = (cJSON *)1;
    CHECK(torn_target_update_if_version(t, "r", NULL, 1, &won, &rec, &err) ==
                  TORN_E_UNSUPPORTED &&
              won == 0 && rec == NULL,
          "update_if_version without a slot: won and record cleared");
    CHECK(torn_target_create(t, NULL, &id, &err) == TORN_E_UNSUPPORTED && id == NULL,
          "create without a slot: id cleared");
    CHECK(torn_target_fault(t, TORN_FAULT_SERVER_KILL, NULL, &err) == TORN_E_UNSUPPORTED,
          "fault without a slot");
    torn_target_unsubscribe(t, NULL); /* a no-op, never a crash */
    torn_target_free(t);
}

static int driver_calls;

static int count_update(struct torn_target *t, const char *id, const cJSON *patch,
                        cJSON **rec_out, struct torn_err *err)
{
    (void)t, (void)id, (void)patch, (void)rec_out, (void)err;
    return ++driver_calls, 0;
}

static int count_read(struct torn_target *t, const char *id, cJSON **rec_out,
                      struct torn_err *err)
{
    (void)t, (void)id, (void)rec_out, (void)err;
    return ++driver_calls, 0;
}

static int count_fault(struct torn_target *t, enum torn_fault kind, const cJSON *args,
                       struct torn_err *err)
{
    (void)t, (void)kind, (void)args, (void)err;
    return ++driver_calls, 0;
}

/* --probe: a write or fault never reaches the driver; a read does. */
static void test_read_only(void)
{
    static const struct torn_target_ops counting = {
        .version = TORN_TARGET_OPS_V1, .name = "counting", .open = open_nothing,
        .close = close_nothing, .reset = count_update, .update = count_update,
        .read = count_read, .fault = count_fault};
    struct torn_target_cfg cfg = {.uri = "counting:", .display = "counting:", .strategy = ""};
    struct torn_target *t = NULL;
    struct torn_err err;
    cJSON *rec = (cJSON *)1;

    CHECK(torn_target_new(&counting, &cfg, &t, &err) == 0, "new: %s", err.msg);
    if (!t)
        return;
    torn_target_read_only(1);
    CHECK(torn_target_update(t, "r", NULL, &rec, &err) == TORN_E_CONFIG && rec == NULL,
          "update refused, record cleared");
    CHECK(strstr(err.msg, "--probe") && strstr(err.msg, "update"), "says why: %s", err.msg);
    CHECK(torn_target_reset(t, "r", NULL, NULL, &err) == TORN_E_CONFIG, "reset refused");
    CHECK(torn_target_fault(t, TORN_FAULT_SERVER_KILL, NULL, &err) == TORN_E_CONFIG,
          "fault refused");
    CHECK(driver_calls == 0, "no write reached the driver: %d calls", driver_calls);
    CHECK(torn_target_read(t, "r", &rec, &err) == 0 && driver_calls == 1, "a read passes");
    torn_target_read_only(0);
    CHECK(torn_target_update(t, "r", NULL, &rec, &err) == 0 && driver_calls == 2,
          "off again: the update reaches the driver");
    torn_target_free(t);
}

static const struct torn_test tests[] = {
    {"read_only", test_read_only},
    {"registered_versions", test_registered_versions},
    {"unknown_version_refused", test_unknown_version_refused},
    {"missing_slot", test_missing_slot},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

/* Unit tests of harness/core/recop.c: the client-side record operations every
 * read-decide-write strategy of the Redis and Postgres drivers uses, and the
 * managed-server parameter plumbing. */
#include "core/recop.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/record.h"
#include "core/target.h"

static cJSON *fresh(void)
{
    cJSON *init = cJSON_Parse("{\"status\":\"PENDING\",\"processing_state\":\"EXTRACTED\"}");
    cJSON *rec = torn_record_new("job-1", init);

    cJSON_Delete(init);
    return rec;
}

static void test_update(void)
{
    cJSON *rec = fresh(), *patch = cJSON_Parse("{\"results\":{\"n\":1},\"status\":\"DONE\","
                                              "\"version\":99,\"processing_state\":\"X\"}");
    struct torn_recop op = {.kind = TORN_RECOP_UPDATE, .patch = patch};

    CHECK(torn_recop_apply(rec, &op) == 1, "update applies");
    CHECK(torn_record_version(rec) == 2, "version +1, not the patch's 99: %lld",
          torn_record_version(rec));
    CHECK(strcmp(torn_record_str(rec, "status"), "DONE") == 0, "status merged");
    CHECK(strcmp(torn_record_str(rec, "processing_state"), "X") == 0,
          "update_fields may set processing_state");
    cJSON_Delete(rec);
    cJSON_Delete(patch);
}

static void test_cas(void)
{
    cJSON *rec = fresh(), *patch = cJSON_Parse("{\"note\":\"a\",\"id\":\"evil\",\"created_at\":"
                                              "\"x\",\"processing_state\":\"HIJACKED\"}");
    struct torn_recop op = {.kind = TORN_RECOP_CAS, .patch = patch, .expected = 2};

    CHECK(torn_recop_apply(rec, &op) == 0, "stale version refused");
    CHECK(torn_record_version(rec) == 1, "refused leaves the record");
    op.expected = 1;
    CHECK(torn_recop_apply(rec, &op) == 1, "current version applies");
    CHECK(strcmp(torn_record_str(rec, "id"), "job-1") == 0, "id protected");
    CHECK(strcmp(torn_record_str(rec, "processing_state"), "EXTRACTED") == 0,
          "processing_state protected");
    CHECK(strcmp(torn_record_str(rec, "note"), "a") == 0, "other fields applied");
    op.expected = 2;
    op.unguarded = 1;
    CHECK(torn_recop_apply(rec, &op) == 1 &&
              strcmp(torn_record_str(rec, "processing_state"), "HIJACKED") == 0,
          "the unguarded (seed 002 before the fix) variant lets processing_state through");
    cJSON_Delete(rec);
    cJSON_Delete(patch);
}

static void test_transition(void)
{
    const char *from[] = {"PENDING", "RETRY"};
    struct torn_recop op = {
        .kind = TORN_RECOP_TRANSITION, .from = from, .n_from = 2, .to = "PROCESSING"};
    cJSON *rec = fresh();
    char *js;

    CHECK(torn_recop_apply(rec, &op) == 1, "PENDING -> PROCESSING");
    CHECK(strcmp(torn_record_str(rec, "status"), "PROCESSING") == 0, "status set");
    CHECK(torn_recop_apply(rec, &op) == 0, "PROCESSING is not in from: refused");
    CHECK(torn_record_version(rec) == 2, "one version per applied transition");
    js = torn_recop_patch_json(&op);
    CHECK(js && strcmp(js, "{\"status\":\"PROCESSING\"}") == 0, "patch json: %s", js);
    free(js);
    js = torn_recop_from_json(&op);
    CHECK(js && strcmp(js, "[\"PENDING\",\"RETRY\"]") == 0, "from json: %s", js);
    free(js);
    cJSON_Delete(rec);
}

static void test_settings(void)
{
    static const char *const persist[] = {"appendonly", NULL};
    static const char *const known[] = {"dual", NULL};
    struct torn_kv params[] = {{"appendonly", "yes"}, {"server.maxmemory", "10mb"},
                               {"dual", "atomic"}};
    struct torn_target_cfg cfg = {.display = "redis", .params = params, .n_params = 3};
    struct torn_kv out[4];
    struct torn_err err = {0};
    int atomic = 0;

    CHECK(torn_managed_settings(&cfg, persist, out, 4, &err) == 0, "settings: %s", err.msg);
    CHECK(out[0].key && strcmp(out[0].key, "appendonly") == 0 && out[1].key &&
              strcmp(out[1].key, "maxmemory") == 0 && !out[2].key,
          "persistence keys and server.* pass through, nothing else");
    CHECK(torn_target_check_params(&cfg, known, persist, NULL, &err) == 0, "known params");
    CHECK(torn_dual_mode(&cfg, 0, &atomic, &err) == 0 && atomic == 1, "dual=atomic");
    cfg.location = "127.0.0.1:6379";
    CHECK(torn_managed_settings(&cfg, persist, out, 4, &err) == TORN_E_CONFIG,
          "server settings with an address are refused");
    params[2].value = "sometimes";
    CHECK(torn_dual_mode(&cfg, 0, &atomic, &err) == TORN_E_CONFIG, "bad dual value refused");
    params[2].key = "bogus";
    CHECK(torn_target_check_params(&cfg, known, persist, NULL, &err) == TORN_E_CONFIG &&
              strstr(err.msg, "bogus"),
          "unknown parameter named: %s", err.msg);
}

static void test_fault_needs_managed(void)
{
    struct torn_err err = {0};

    CHECK(torn_managed_fault(NULL, "redis://x", TORN_FAULT_SERVER_KILL, &err) ==
              TORN_E_UNSUPPORTED,
          "no managed server: unsupported");
    CHECK(torn_managed_fault(NULL, "redis://x", TORN_FAULT_POWER_CUT, &err) ==
              TORN_E_UNSUPPORTED,
          "power cut is not a server fault");
}

static const struct torn_test tests[] = {
    {"update", test_update},
    {"cas", test_cas},
    {"transition", test_transition},
    {"settings", test_settings},
    {"fault_needs_managed", test_fault_needs_managed},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

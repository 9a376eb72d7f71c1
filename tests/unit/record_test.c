/* Unit tests: record model, payload digests, safe parse. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/record.h"

static void test_new_and_apply(void)
{
    cJSON *init = cJSON_Parse("{\"status\":\"PENDING\",\"version\":99,\"id\":\"evil\"}");
    cJSON *rec = torn_record_new("job-1", init);
    cJSON *patch = cJSON_Parse("{\"status\":\"DONE\",\"id\":\"x\",\"created_at\":\"x\","
                               "\"version\":7,\"processing_state\":\"P\"}");
    const char *created = torn_record_str(rec, "created_at");
    char *created_copy = strdup(created);

    CHECK(torn_record_version(rec) == 1, "new record has version 1");
    CHECK(strcmp(torn_record_str(rec, "id"), "job-1") == 0, "initial cannot set id");
    CHECK(strcmp(torn_record_str(rec, "status"), "PENDING") == 0, "initial fields copied");
    CHECK(torn_record_apply(rec, patch, 0) == 0, "apply");
    CHECK(torn_record_version(rec) == 2, "version bumped to 2, got %lld", torn_record_version(rec));
    CHECK(strcmp(torn_record_str(rec, "id"), "job-1") == 0, "patch cannot change id");
    CHECK(strcmp(torn_record_str(rec, "created_at"), created_copy) == 0, "created_at protected");
    CHECK(strcmp(torn_record_str(rec, "status"), "DONE") == 0, "status merged");
    CHECK(torn_record_str(rec, "processing_state") != NULL, "processing_state allowed without PROTECT");
    cJSON_DeleteItemFromObject(rec, "processing_state");
    CHECK(torn_record_apply(rec, patch, TORN_APPLY_PROTECT) == 0, "apply protected");
    CHECK(torn_record_str(rec, "processing_state") == NULL, "processing_state refused with PROTECT");
    CHECK(torn_record_version(rec) == 3, "version 3");
    CHECK(strlen(torn_record_str(rec, "_updated_at")) == 24, "ISO timestamp with ms: %s",
          torn_record_str(rec, "_updated_at"));
    free(created_copy);
    cJSON_Delete(init);
    cJSON_Delete(patch);
    cJSON_Delete(rec);
}

static void test_payload_deterministic(void)
{
    char *a = torn_payload_new(42, 7, 1000), *b = torn_payload_new(42, 7, 1000);
    char *c = torn_payload_new(42, 8, 1000);

    CHECK(strcmp(a, b) == 0, "same seed+seq, same payload");
    CHECK(strcmp(a, c) != 0, "other seq, other payload");
    CHECK(strlen(a) == 1000, "length");
    free(a);
    free(b);
    free(c);
}

static void test_digest_detects_damage(void)
{
    cJSON *rec = torn_record_new("r", NULL), *patch = torn_payload_patch(1, 5, 4096);
    char why[200];
    cJSON *p;

    torn_record_apply(rec, patch, 0);
    CHECK(torn_record_intact(rec, why, sizeof why) == 1, "fresh record intact");
    p = cJSON_GetObjectItem(rec, "payload");
    p->valuestring[100] = p->valuestring[100] == 'A' ? 'B' : 'A';
    CHECK(torn_record_intact(rec, why, sizeof why) == 0, "flipped byte detected");
    CHECK(strstr(why, "digest mismatch") != NULL, "why: %s", why);
    p->valuestring[100] = p->valuestring[100] == 'A' ? 'B' : 'A';
    cJSON_ReplaceItemInObject(rec, "seq", cJSON_CreateNumber(6));
    CHECK(torn_record_intact(rec, why, sizeof why) == 0, "payload of another seq detected");
    cJSON_Delete(rec);
    cJSON_Delete(patch);
}

static void test_parse_typed_errors(void)
{
    static const char *const bad[] = {"", "{\"id\":\"x\",\"vers", "[1,2]", "{\"version\":1}",
                                      "{\"id\":\"x\"}", "\xff\xfe garbage"};
    cJSON *rec;
    char why[200];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = torn_record_parse(bad[i], strlen(bad[i]), &rec, why, sizeof why);
        CHECK(rc == TORN_E_CORRUPT && rec == NULL, "case %zu: rc %d", i, rc);
        CHECK(why[0] != '\0', "case %zu has a reason", i);
    }
    CHECK(torn_record_parse("{\"id\":\"x\",\"version\":3}", 23, &rec, why, sizeof why) == 0,
          "good record parses");
    cJSON_Delete(rec);
}

static const struct torn_test tests[] = {
    {"new_and_apply", test_new_and_apply},
    {"payload_deterministic", test_payload_deterministic},
    {"digest_detects_damage", test_digest_detects_damage},
    {"parse_typed_errors", test_parse_typed_errors},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

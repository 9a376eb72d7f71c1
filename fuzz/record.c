/* Fuzz harness: records read back from any target (torn_record_parse).
 * Invariant: an accepted record is an object with a string id, a version
 * >= 1 and an intact payload (digest matches); a refused one is
 * TORN_E_CORRUPT with a reason. */
#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "core/record.h"

int fuzz_init(void)
{
    return 0;
}

int fuzz_one(const uint8_t *data, size_t len)
{
    cJSON *rec = NULL;
    char why[160] = "";
    int rc = torn_record_parse((const char *)data, len, &rec, why, sizeof why);

    if (rc == TORN_OK) {
        if (!rec || !cJSON_IsObject(rec) || !torn_record_str(rec, "id") ||
            torn_record_version(rec) < 1 || !torn_record_intact(rec, NULL, 0))
            fuzz_fail("torn_record_parse accepted an invalid record");
    } else if (rc != TORN_E_CORRUPT || rec || !why[0]) {
        fuzz_fail("torn_record_parse: rc %d, record %p, why '%s'", rc, (void *)rec, why);
    }
    cJSON_Delete(rec);
    return 0;
}

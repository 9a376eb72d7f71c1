/* Fuzz harness: HTTP response bodies (targets/http/http.c http_body_record: JSON,
 * then the spec's record and field pointers).  Byte 0 picks the spec (see
 * http_common.c).  Invariant: a record is an object with an id; anything
 * else is TORN_E_PROTOCOL with a message. */
#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "http_common.h"

static struct http_spec specs[2];

int fuzz_init(void)
{
    return fuzz_http_specs(specs);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    const struct http_spec *sp = &specs[len ? data[0] & 1 : 0];
    cJSON *rec = NULL;
    struct torn_err err = {0};
    int rc = http_body_record(sp, (const char *)data + (len ? 1 : 0), len ? len - 1 : 0, "r1",
                              &rec, &err);

    if (rc == TORN_OK) {
        if (!cJSON_IsObject(rec) || !cJSON_GetObjectItemCaseSensitive(rec, "id"))
            fuzz_fail("http_body_record returned a record without an id");
    } else if (rec || rc != TORN_E_PROTOCOL || !err.msg[0]) {
        fuzz_fail("http_body_record: rc %d, record %p, msg '%s'", rc, (void *)rec, err.msg);
    }
    cJSON_Delete(rec);
    return 0;
}

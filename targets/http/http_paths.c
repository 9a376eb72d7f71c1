/* torn HTTP target: two read paths agree (the spec's "read_also").  Seed
 * 003's migration reads a batch from the old structure or the new one
 * behind a flag, and both must agree at every moment; a service with a
 * status index, a list endpoint or a cache beside its record has the same
 * duty.  The spec names the second path:
 *
 *   "read_also": {"method": "GET", "path": "/index/{id}", "record": "",
 *                 "agree": {"/status": "/status", "/version": "/version"},
 *                 "by": "/version"}
 *
 * Every record torn reads through "read" is read through "read_also" too,
 * alternately just after and just before (http.c), and compared
 * (core/paths.h): the keys of "agree" are pointers into the record torn
 * reads (read.fields mapped to their canonical names: /status,
 * /version...), the values pointers into the second answer's record
 * (read_also.record).  "by" (default /version, a key of "agree") orders
 * the two answers. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"

static int pfail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

int http_spec_paths(const cJSON *spec, const char *file, struct http_spec *sp,
                    struct torn_err *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(spec, "read_also");
    if (!sp->read_also.present)
        return 0;
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(o, "record");
    const cJSON *agree = cJSON_GetObjectItemCaseSensitive(o, "agree");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(o, "by");
    if (rec && (!cJSON_IsString(rec) || !torn_json_pointer_valid(rec->valuestring)))
        return pfail(err, file, "read_also.record", "not a JSON pointer (\"\" or \"/a/b\")");
    sp->also_record_ptr = rec ? rec->valuestring : "";
    if (!cJSON_IsObject(agree) || !agree->child)
        return pfail(err, file, "read_also.agree",
                     "must be a non-empty object of record pointer: second answer's pointer");
    for (const cJSON *e = agree->child; e; e = e->next) {
        char field[160];
        snprintf(field, sizeof field, "read_also.agree.%.80s", e->string);
        if (!*e->string || !torn_json_pointer_valid(e->string))
            return pfail(err, file, field, "not a JSON pointer (\"/a/b\", RFC 6901)");
        if (!cJSON_IsString(e) || !torn_json_pointer_valid(e->valuestring))
            return pfail(err, file, field, "must be a JSON pointer into the second answer");
    }
    if (by && !cJSON_IsString(by))
        return pfail(err, file, "read_also.by", "must be a key of read_also.agree");
    sp->also_by = by ? by->valuestring : "/version";
    if (!cJSON_GetObjectItemCaseSensitive(agree, sp->also_by))
        return pfail(err, file, "read_also.by",
                     "must be a key of read_also.agree (default \"/version\")");
    sp->also_agree = agree;
    return 0;
}

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
 * alternately just after and just before (http.c), and compared: the keys
 * of "agree" are pointers into the record torn reads (read.fields mapped
 * to their canonical names: /status, /version...), the values pointers
 * into the second answer's record (read_also.record).  "by" (default
 * /version, a key of "agree") orders the two answers.
 *
 * Method: both paths are views of one record, so a read that starts after
 * another one ended never sees an older "by": the path read second must
 * answer a "by" at least the first's, and the same "by" with every agreed
 * field equal.  Concurrent writes make the second one newer, never older,
 * so a correct service passes under any load; a path updated late (or
 * early) is caught in the window between its two writes.  The main path's
 * own non-answers (seed 001's "unknown" dict, a record without "by") are
 * not compared; a 404 from the second path read after the main one found
 * the record is a disagreement.  A broken agreement is a finding
 * "read-paths-agree"; the count of compared pairs is the scenario's metric
 * read_paths_compared. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"

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
    if (rec && (!cJSON_IsString(rec) || !http_pointer_valid(rec->valuestring)))
        return pfail(err, file, "read_also.record", "not a JSON pointer (\"\" or \"/a/b\")");
    sp->also_record_ptr = rec ? rec->valuestring : "";
    if (!cJSON_IsObject(agree) || !agree->child)
        return pfail(err, file, "read_also.agree",
                     "must be a non-empty object of record pointer: second answer's pointer");
    for (const cJSON *e = agree->child; e; e = e->next) {
        char field[160];
        snprintf(field, sizeof field, "read_also.agree.%.80s", e->string);
        if (!*e->string || !http_pointer_valid(e->string))
            return pfail(err, file, field, "not a JSON pointer (\"/a/b\", RFC 6901)");
        if (!cJSON_IsString(e) || !http_pointer_valid(e->valuestring))
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

/* The first agreed field that differs between a and b, printed into why. */
static void compare_fields(const struct http_spec *sp, const cJSON *a, const cJSON *b,
                           char *why, size_t len)
{
    for (const cJSON *e = sp->also_agree->child; e; e = e->next) {
        const cJSON *x = http_pointer(a, e->string), *y = http_pointer(b, e->valuestring);
        if ((!x && !y) || (x && y && cJSON_Compare(x, y, 1)))
            continue;
        char *xs = x ? cJSON_PrintUnformatted(x) : NULL, *ys = y ? cJSON_PrintUnformatted(y) : NULL;
        snprintf(why, len, "%s is %.100s on the read path but %s is %.100s on read_also",
                 e->string, xs ? xs : "absent", e->valuestring, ys ? ys : "absent");
        free(xs);
        free(ys);
        return;
    }
}

void http_paths_judge(const struct http_spec *sp, const char *log_dir, const char *id,
                      const cJSON *rec, const cJSON *also, int also_first, const char *also_url)
{
    static unsigned long posted;   /* per process: a flood is counted by the first ones */
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
    const cJSON *va = http_pointer(rec, sp->also_by);
    char why[400] = "";
    if (!cJSON_IsNumber(va) || (cJSON_IsString(st) && strcmp(st->valuestring, "unknown") == 0))
        return;   /* the main path gave no record to compare */
    if (!also && also_first)
        return;   /* read before the record may have existed */
    const char *bp = cJSON_GetObjectItemCaseSensitive(sp->also_agree, sp->also_by)->valuestring;
    const cJSON *vb = also ? http_pointer(also, bp) : NULL;
    if (!also)
        snprintf(why, sizeof why, "read_also answered 404 after the read path answered %s %.0f",
                 sp->also_by, va->valuedouble);
    else if (!cJSON_IsNumber(vb))
        snprintf(why, sizeof why, "read_also's answer has no number at %s", bp);
    else if (also_first ? va->valuedouble < vb->valuedouble : vb->valuedouble < va->valuedouble)
        snprintf(why, sizeof why, "%s path is behind: read_also answered %s %.0f %s the read path "
                 "answered %.0f",
                 also_first ? "the read" : "the read_also", bp, vb->valuedouble,
                 also_first ? "just before" : "just after", va->valuedouble);
    else if (va->valuedouble == vb->valuedouble)
        compare_fields(sp, rec, also, why, sizeof why);
    torn_finding_count(log_dir, "read_paths_compared", 1);
    if (!why[0] || posted >= HTTP_MAX_FINDINGS)
        return;
    posted++;
    torn_finding_post(log_dir, "read-paths-agree", id, "GET %s disagrees with the read path: %s",
                      also_url, why);
}

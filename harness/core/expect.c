/* torn: expectations on a JSON document (expect.h). */
#include "expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "jsonptr.h"
#include "record.h"

static const char *const types[] = {"string", "integer", "number", "boolean",
                                    "object", "array",   "null",   NULL};
static const char *const cmps[] = {"eq", "ne", "gt", "ge", "lt", "le", NULL};

static int cfail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return i;
    return -1;
}

/* One expectation: a literal (string, number, boolean, null), or an object
 * of "type", "present", comparisons eq/ne/gt/ge/lt/le, "same_as" (another
 * pointer of the same document), "format": "iso8601", "skew_ms" (an
 * ISO-8601 time no later than torn's clock plus that many ms). */
int torn_expect_parse(const cJSON *x, const char *file, const char *field, struct torn_err *err)
{
    char sub[320];
    if (!cJSON_IsObject(x))
        return cJSON_IsArray(x) ? cfail(err, file, field,
                                        "must be a value to equal, or an object of type, "
                                        "present, eq, ne, gt, ge, lt, le, same_as, format, "
                                        "skew_ms")
                                : 0;
    for (const cJSON *c = x->child; c; c = c->next) {
        snprintf(sub, sizeof sub, "%s.%s", field, c->string);
        if (strcmp(c->string, "type") == 0) {
            if (!cJSON_IsString(c) || in_list(c->valuestring, types) < 0)
                return cfail(err, file, sub,
                             "must be one of string, integer, number, boolean, object, array, "
                             "null");
        } else if (strcmp(c->string, "present") == 0) {
            if (!cJSON_IsBool(c))
                return cfail(err, file, sub, "must be true or false");
        } else if (strcmp(c->string, "same_as") == 0) {
            if (!cJSON_IsString(c) || !*c->valuestring || !torn_json_pointer_valid(c->valuestring))
                return cfail(err, file, sub, "must be a JSON pointer (\"/a/b\")");
        } else if (strcmp(c->string, "format") == 0) {
            if (!cJSON_IsString(c) || strcmp(c->valuestring, "iso8601") != 0)
                return cfail(err, file, sub, "must be \"iso8601\"");
        } else if (strcmp(c->string, "skew_ms") == 0) {
            if (!cJSON_IsNumber(c) || c->valuedouble < 0)
                return cfail(err, file, sub, "must be a number of milliseconds >= 0");
        } else if (in_list(c->string, cmps) >= 0) {
            int ord = in_list(c->string, cmps) >= 2;
            if (ord && !cJSON_IsNumber(c) &&
                !(cJSON_IsString(c) && strcmp(c->valuestring, "{version}") == 0))
                return cfail(err, file, sub, "must be a number or \"{version}\"");
            if (cJSON_IsObject(c) || cJSON_IsArray(c))
                return cfail(err, file, sub, "must be a string, number, boolean or null");
        } else {
            return cfail(err, file, sub,
                         "unknown key (type, present, eq, ne, gt, ge, lt, le, same_as, format, "
                         "skew_ms)");
        }
    }
    return 0;
}

/* ---- judging ---- */

static int type_ok(const cJSON *v, const char *type)
{
    if (strcmp(type, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(type, "integer") == 0)
        return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
    if (strcmp(type, "number") == 0)
        return cJSON_IsNumber(v);
    if (strcmp(type, "boolean") == 0)
        return cJSON_IsBool(v);
    if (strcmp(type, "object") == 0)
        return cJSON_IsObject(v);
    if (strcmp(type, "array") == 0)
        return cJSON_IsArray(v);
    return cJSON_IsNull(v);
}

/* The value an expectation compares with: "{id}" and "{version}" are the
 * request's; other values stand for themselves.  *tmp to free. */
static const cJSON *resolve(const cJSON *x, const struct torn_expect_ctx *a, cJSON **tmp)
{
    *tmp = NULL;
    if (cJSON_IsString(x) && strcmp(x->valuestring, "{id}") == 0 && a->id)
        return *tmp = cJSON_CreateString(a->id);
    if (cJSON_IsString(x) && strcmp(x->valuestring, "{version}") == 0 && a->version >= 0)
        return *tmp = cJSON_CreateNumber((double)a->version);
    return x;
}

/* One comparison of v with x; 1 holds. */
static int cmp_ok(const cJSON *v, const char *op, const cJSON *x, const struct torn_expect_ctx *a)
{
    cJSON *tmp;
    const cJSON *want = resolve(x, a, &tmp);
    int ok;
    if (strcmp(op, "eq") == 0 || strcmp(op, "ne") == 0) {
        ok = v && want && cJSON_Compare(v, want, 1);
        ok = op[0] == 'e' ? ok : !ok;
    } else if (!cJSON_IsNumber(v) || !cJSON_IsNumber(want)) {
        ok = 0;
    } else {
        double d = v->valuedouble, w = want->valuedouble;
        ok = strcmp(op, "gt") == 0 ? d > w : strcmp(op, "ge") == 0 ? d >= w
           : strcmp(op, "lt") == 0 ? d < w : d <= w;
    }
    cJSON_Delete(tmp);
    return ok;
}

/* One key k of an expectation object holds for v (present) in doc. */
static int key_ok(const cJSON *doc, const cJSON *v, const cJSON *k, const struct torn_expect_ctx *a)
{
    if (strcmp(k->string, "type") == 0)
        return type_ok(v, k->valuestring);
    if (strcmp(k->string, "present") == 0)
        return 1;
    if (strcmp(k->string, "same_as") == 0) {
        const cJSON *o = torn_json_pointer(doc, k->valuestring);
        return o && cJSON_Compare(v, o, 1);
    }
    if (strcmp(k->string, "format") == 0)
        return cJSON_IsString(v) && torn_iso8601_ms(v->valuestring) >= 0;
    if (strcmp(k->string, "skew_ms") == 0) {   /* not in torn's future beyond the skew */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long t = cJSON_IsString(v) ? torn_iso8601_ms(v->valuestring) : -1;
        long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        return t >= 0 && (double)(t - now) <= k->valuedouble;
    }
    return cmp_ok(v, k->string, k, a);
}

/* The expectation x at ptr against doc: "" holds, else why not. */
void torn_expect_judge(const cJSON *doc, const char *ptr, const cJSON *x,
                       const struct torn_expect_ctx *a, char *why, size_t len)
{
    const cJSON *v = torn_json_pointer(doc, ptr);
    char *got = v ? cJSON_PrintUnformatted(v) : NULL, *want = cJSON_PrintUnformatted(x);
    int ok = 1;
    if (!cJSON_IsObject(x)) {
        ok = cmp_ok(v, "eq", x, a);
    } else {
        const cJSON *present = cJSON_GetObjectItemCaseSensitive(x, "present");
        if (!v && !cJSON_IsFalse(present))
            ok = 0;
        else if (v && cJSON_IsFalse(present))
            ok = 0;
        for (const cJSON *c = x->child; ok && v && c; c = c->next)
            ok = key_ok(doc, v, c, a);
    }
    if (ok)
        why[0] = 0;
    else
        snprintf(why, len, "%s: expected %.120s, got %.120s", ptr, want ? want : "?",
                 got ? got : "nothing (absent)");
    free(got);
    free(want);
}

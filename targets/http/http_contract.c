/* torn HTTP target: response contracts (the spec's "responses").  The
 * seeds' clients relied on exact answers, not only on the data: a stale
 * write is a 409 whose body carries error_code "STALE_WRITE" and the
 * current version "for client reconciliation" (seed 002); a read that
 * cannot recover is a 200 {"id", "status": "unknown", "error"}, never a
 * 500 (seed 001).  A spec states, per outcome, the status an answer must
 * have and what its body must hold at JSON pointers; every answer torn gets
 * is classified and held to its outcome's contract, and a mismatch is a
 * violation "contract-<outcome>" posted as a finding (core/finding.h)
 * quoting the request, the broken expectation and the body.
 *
 * Outcomes (how an answer is classified):
 *   stale      the stale status answering update_if_version
 *   refused    the stale status answering transition
 *   not_found  a 404 answering any record operation; with the spec's
 *              "missing": "unknown" a 404 answering read breaks it (seed
 *              001's text: a missing job answers 200 and the unknown dict)
 *   unknown    read answered with a 5xx, or a 2xx whose record status is
 *              "unknown" (seed 001's unrecoverable read)
 *   success    any other 2xx answering a record operation
 * Format and examples: docs/http-target.md "Response contracts". */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/record.h"

const char *const http_outcome_names[HTTP_OUT_COUNT] = {"success", "stale", "refused",
                                                        "not_found", "unknown"};

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
int http_expect_parse(const cJSON *x, const char *file, const char *field, struct torn_err *err)
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

static int parse_contract(const cJSON *c, const char *file, int o, struct http_spec *sp,
                          struct torn_err *err)
{
    char field[200];
    const char *name = http_outcome_names[o];
    snprintf(field, sizeof field, "responses.%s", name);
    if (!cJSON_IsObject(c))
        return cfail(err, file, field, "must be an object with status and/or body");
    for (const cJSON *k = c->child; k; k = k->next)
        if (strcmp(k->string, "status") != 0 && strcmp(k->string, "body") != 0) {
            snprintf(field, sizeof field, "responses.%s.%s", name, k->string);
            return cfail(err, file, field, "unknown key (status, body)");
        }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "status");
    snprintf(field, sizeof field, "responses.%s.status", name);
    if (st && (o == HTTP_OUT_STALE || o == HTTP_OUT_REFUSED || o == HTTP_OUT_NOT_FOUND))
        return cfail(err, file, field,
                     "this outcome is recognised by its status (stale_status, or 404); only "
                     "success and unknown declare one");
    if (st && (!cJSON_IsNumber(st) || st->valuedouble != (double)(int)st->valuedouble ||
               st->valueint < 100 || st->valueint > 599))
        return cfail(err, file, field, "must be an HTTP status code (100..599)");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(c, "body");
    snprintf(field, sizeof field, "responses.%s.body", name);
    if (body && !cJSON_IsObject(body))
        return cfail(err, file, field, "must be an object of JSON pointer: expectation");
    for (const cJSON *e = body ? body->child : NULL; e; e = e->next) {
        snprintf(field, sizeof field, "responses.%s.body.%.80s", name, e->string);
        if (!torn_json_pointer_valid(e->string) || !*e->string)
            return cfail(err, file, field, "not a JSON pointer (\"/a/b\", RFC 6901)");
        int rc = http_expect_parse(e, file, field, err);
        if (rc)
            return rc;
    }
    sp->contract[o] = c;
    sp->contract_status[o] = st ? st->valueint : 0;
    sp->contract_body[o] = body;
    return 0;
}

int http_spec_contracts(const cJSON *spec, const char *file, struct http_spec *sp,
                        struct torn_err *err)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(spec, "responses");
    const cJSON *missing = cJSON_GetObjectItemCaseSensitive(spec, "missing");
    if (missing && (!cJSON_IsString(missing) || (strcmp(missing->valuestring, "unknown") != 0 &&
                                                 strcmp(missing->valuestring, "not_found") != 0)))
        return cfail(err, file, "missing",
                     "must be \"not_found\" (a 404, the default) or \"unknown\" (200 and the "
                     "unknown dict, seed 001's text)");
    sp->missing_unknown = missing && strcmp(missing->valuestring, "unknown") == 0;
    if (!rs)
        return 0;
    if (!cJSON_IsObject(rs))
        return cfail(err, file, "responses", "must be an object (outcome: contract)");
    for (const cJSON *c = rs->child; c; c = c->next) {
        char field[120];
        int o = 0;
        while (o < HTTP_OUT_COUNT && strcmp(c->string, http_outcome_names[o]) != 0)
            o++;
        snprintf(field, sizeof field, "responses.%.80s", c->string);
        if (o == HTTP_OUT_COUNT)
            return cfail(err, file, field,
                         "not an outcome (success, stale, refused, not_found, unknown)");
        int rc = parse_contract(c, file, o, sp, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- judging an answer ---- */

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
static const cJSON *resolve(const cJSON *x, const struct http_answer *a, cJSON **tmp)
{
    *tmp = NULL;
    if (cJSON_IsString(x) && strcmp(x->valuestring, "{id}") == 0 && a->id)
        return *tmp = cJSON_CreateString(a->id);
    if (cJSON_IsString(x) && strcmp(x->valuestring, "{version}") == 0 && a->version >= 0)
        return *tmp = cJSON_CreateNumber((double)a->version);
    return x;
}

/* One comparison of v with x; 1 holds. */
static int cmp_ok(const cJSON *v, const char *op, const cJSON *x, const struct http_answer *a)
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
static int key_ok(const cJSON *doc, const cJSON *v, const cJSON *k, const struct http_answer *a)
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
void http_expect_judge(const cJSON *doc, const char *ptr, const cJSON *x,
                       const struct http_answer *a, char *why, size_t len)
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

enum http_outcome http_outcome_of(const struct http_spec *sp, const struct http_answer *a)
{
    if (a->op == HTTP_OP_UNJUDGED)
        return HTTP_OUT_COUNT;   /* not a record operation */
    if (a->status == sp->stale_status && a->op == HTTP_OP_CAS)
        return HTTP_OUT_STALE;
    if (a->status == sp->stale_status && a->op == HTTP_OP_TRANSITION)
        return HTTP_OUT_REFUSED;
    if (a->status == 404)
        return HTTP_OUT_NOT_FOUND;
    if (a->op == HTTP_OP_READ && a->status >= 500)
        return HTTP_OUT_UNKNOWN;
    if (a->status < 200 || a->status > 299)
        return HTTP_OUT_COUNT;   /* an error: no contract, judged as before */
    if (a->op == HTTP_OP_READ) {
        const char *sptr = sp->field_ptr[0] ? sp->field_ptr[0] : "/status";
        const cJSON *st = torn_json_pointer(torn_json_pointer(a->doc, sp->record_ptr), sptr);
        if (cJSON_IsString(st) && strcmp(st->valuestring, "unknown") == 0)
            return HTTP_OUT_UNKNOWN;
    }
    return HTTP_OUT_SUCCESS;
}

/* Body for the evidence: its first bytes, printable. */
static void snippet(const struct http_answer *a, char *out, size_t len)
{
    size_t i = 0;
    for (; a->body && i < a->len && i + 1 < len; i++)
        out[i] = (a->body[i] >= 32 && a->body[i] < 127) ? a->body[i] : ' ';
    out[i] = 0;
}

void http_contract_judge(const struct http_spec *sp, const char *log_dir,
                         const struct http_answer *a)
{
    static unsigned long posted;   /* per process: a flood is counted by the first ones */
    enum http_outcome o = http_outcome_of(sp, a);
    char why[300] = "", body[200];
    int missing_404 = o == HTTP_OUT_NOT_FOUND && a->op == HTTP_OP_READ && sp->missing_unknown;
    if (o == HTTP_OUT_COUNT || (!sp->contract[o] && !missing_404) || posted >= HTTP_MAX_FINDINGS)
        return;
    if (missing_404)
        snprintf(why, sizeof why,
                 "expected HTTP 200 and the unknown answer for a missing record (the spec's "
                 "\"missing\": \"unknown\"), got 404");
    else if (sp->contract_status[o] && a->status != sp->contract_status[o])
        snprintf(why, sizeof why, "expected HTTP %ld, got %ld", sp->contract_status[o],
                 a->status);
    else if (sp->contract_body[o] && sp->contract_body[o]->child && !a->doc)
        snprintf(why, sizeof why, "the body is not JSON");
    for (const cJSON *e = sp->contract_body[o] ? sp->contract_body[o]->child : NULL;
         !why[0] && e; e = e->next)
        http_expect_judge(a->doc, e->string, e, a, why, sizeof why);
    if (!why[0])
        return;
    snippet(a, body, sizeof body);
    char criterion[40];
    snprintf(criterion, sizeof criterion, "contract-%s", http_outcome_names[o]);
    for (char *c = criterion; *c; c++)
        *c = *c == '_' ? '-' : *c;
    posted++;
    torn_finding_post(log_dir, criterion, a->id,
                      "contract responses.%s broken by %s %s: %s; HTTP %ld body: %s",
                      http_outcome_names[o], a->method, a->url, why, a->status, body);
}

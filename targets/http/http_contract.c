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
#include "core/expect.h"
#include "core/finding.h"
#include "core/record.h"

const char *const http_outcome_names[HTTP_OUT_COUNT] = {"success", "stale", "refused",
                                                        "not_found", "unknown"};

static int cfail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
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
        int rc = torn_expect_parse(e, file, field, err);
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

enum http_outcome http_outcome_of(const struct http_spec *sp, const struct http_answer *a)
{
    if (a->op == HTTP_OP_UNJUDGED)
        return HTTP_OUT_COUNT;   /* not a record operation */
    if (a->op == HTTP_OP_CAS && a->status == http_stale_status(sp, &sp->cas))
        return HTTP_OUT_STALE;
    if (a->op == HTTP_OP_TRANSITION && a->status == http_stale_status(sp, &sp->transition))
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
        torn_expect_judge(a->doc, e->string, e, &a->x, why, sizeof why);
    if (!why[0])
        return;
    snippet(a, body, sizeof body);
    char criterion[40];
    snprintf(criterion, sizeof criterion, "contract-%s", http_outcome_names[o]);
    for (char *c = criterion; *c; c++)
        *c = *c == '_' ? '-' : *c;
    posted++;
    torn_finding_post(log_dir, criterion, a->x.id,
                      "contract responses.%s broken by %s %s: %s; HTTP %ld body: %s",
                      http_outcome_names[o], a->method, a->url, why, a->status, body);
}

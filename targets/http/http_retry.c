/* torn HTTP target: retries counted (the spec's "retries").  Seed 001's
 * safe read tries the main file 5 times before it falls back; seed 003's
 * transactions retry up to 5 times on contention.  A retry hides a problem
 * from the client until the budget runs out, so how many a service needed
 * is a figure to watch and its bound a criterion.  A service that reports
 * them in a response header is described so:
 *
 *   "retries": {"header": "X-Retries", "max": 4}
 *
 * Every answer to a record operation carrying the header is counted: the
 * scenario's metrics "retries" (their sum) and "retried_answers" (answers
 * with at least one); an answer over "max" (or whose header is not a
 * count) is a finding "retry-budget" quoting the request.  An answer
 * without the header reports nothing and counts nothing. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"

static int rfail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

int http_spec_retries(const cJSON *spec, const char *file, struct http_spec *sp,
                      struct torn_err *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(spec, "retries");
    if (!o)
        return 0;
    if (!cJSON_IsObject(o))
        return rfail(err, file, "retries", "must be an object with header and max");
    for (const cJSON *k = o->child; k; k = k->next)
        if (strcmp(k->string, "header") != 0 && strcmp(k->string, "max") != 0) {
            char field[120];
            snprintf(field, sizeof field, "retries.%.80s", k->string);
            return rfail(err, file, field, "unknown key (header, max)");
        }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "header");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(o, "max");
    if (!cJSON_IsString(h) || !*h->valuestring || strlen(h->valuestring) > 64 ||
        strpbrk(h->valuestring, " :\r\n"))
        return rfail(err, file, "retries.header",
                     "must be a response header's name (\"X-Retries\")");
    if (max && (!cJSON_IsNumber(max) || max->valuedouble < 0 ||
                max->valuedouble != (double)(long)max->valuedouble))
        return rfail(err, file, "retries.max", "must be a whole number >= 0");
    sp->retry_header = h->valuestring;
    sp->retry_max = max ? (long)max->valuedouble : -1;
    return 0;
}

void http_retries_judge(const struct http_spec *sp, const char *log_dir, const char *method,
                        const char *url, const char *id, const char *value)
{
    static unsigned long posted;   /* per process: a flood is counted by the first ones */
    char *end = NULL;
    long n = value ? strtol(value, &end, 10) : -1;
    int bad = value && (!*value || *end || n < 0);
    if (!value)
        return;
    if (!bad) {
        torn_finding_count(log_dir, "retries", (double)n);
        if (n > 0)
            torn_finding_count(log_dir, "retried_answers", 1);
    }
    if ((!bad && (sp->retry_max < 0 || n <= sp->retry_max)) || posted >= HTTP_MAX_FINDINGS)
        return;
    posted++;
    if (bad)
        torn_finding_post(log_dir, "retry-budget", id, "%s %s: header %s is \"%.40s\", not a count",
                          method, url, sp->retry_header, value);
    else
        torn_finding_post(log_dir, "retry-budget", id,
                          "%s %s: the service retried %ld times (header %s), over the spec's "
                          "budget of %ld (retries.max)",
                          method, url, n, sp->retry_header, sp->retry_max);
}

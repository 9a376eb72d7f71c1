/* torn: scenario results. */
#include "result.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "text.h"
#include "util.h"

struct torn_result *torn_result_new(void)
{
    struct torn_result *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->verdict = TORN_PASS;
    r->metrics = cJSON_CreateObject();
    for (int i = 0; i < TORN_OP_COUNT; i++)
        torn_hdr_init(&r->ops[i].hdr);
    if (!r->metrics) {
        free(r);
        return NULL;
    }
    return r;
}

void torn_result_free(struct torn_result *r)
{
    if (!r)
        return;
    free(r->scenario);
    free(r->scenario_spec);
    free(r->target);
    free(r->driver);
    free(r->strategy);
    cJSON_Delete(r->params);
    free(r->error);
    for (size_t i = 0; i < r->n_violations; i++) {
        free(r->violations[i].criterion);
        free(r->violations[i].key);
        free(r->violations[i].evidence);
    }
    free(r->violations);
    cJSON_Delete(r->metrics);
    free(r->replay);
    cJSON_Delete(r->work);
    free(r->work_hint);
    free(r->work_note);
    free(r->openloop);
    cJSON_Delete(r->gate);
    free(r);
}

/* Count one more violation of criterion in metrics; returns the new count. */
static double count_criterion(struct torn_result *r, const char *criterion)
{
    cJSON *by = cJSON_GetObjectItemCaseSensitive(r->metrics, "violations_by_criterion"), *n;

    if (!by)
        by = cJSON_AddObjectToObject(r->metrics, "violations_by_criterion");
    if (!by)
        return 0;
    n = cJSON_GetObjectItemCaseSensitive(by, criterion);
    if (!n)
        n = cJSON_AddNumberToObject(by, criterion, 0);
    if (!n)
        return 0;
    cJSON_SetNumberValue(n, n->valuedouble + 1);
    return n->valuedouble;
}

static void add_violation(struct torn_result *r, const char *criterion, const char *key,
                          double t_s, int process, const char *fmt, va_list ap)
{
    struct torn_violation *v;
    char *text = NULL;

    if (r->verdict != TORN_ERROR)
        r->verdict = TORN_FAIL;
    r->n_violations_total++;
    if (count_criterion(r, criterion) > TORN_MAX_VIOLATIONS_PER_CRITERION ||
        r->n_violations >= TORN_MAX_VIOLATIONS_KEPT)
        return;
    v = realloc(r->violations, (r->n_violations + 1) * sizeof *v);
    if (!v)
        return;
    r->violations = v;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    v = &r->violations[r->n_violations++];
    /* Evidence and keys quote the target: neutralised once, here, for every
     * report and the terminal (util.h). */
    v->criterion = torn_strdup(criterion);
    v->key = torn_text_safe(key);
    v->evidence = torn_text_safe(text);
    free(text);
    v->t_s = t_s;
    v->process = process < 0 ? -1 : process;
}

void torn_result_violation(struct torn_result *r, const char *criterion, const char *key,
                           double t_s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_violation(r, criterion, key, t_s, -1, fmt, ap);
    va_end(ap);
}

void torn_result_violation_op(struct torn_result *r, const char *criterion, const char *key,
                              double t_s, int process, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_violation(r, criterion, key, t_s, process, fmt, ap);
    va_end(ap);
}

void torn_result_error(struct torn_result *r, int code, const char *msg)
{
    r->verdict = TORN_ERROR;
    r->error_code = code;
    free(r->error);
    r->error = torn_text_safe(msg);
}

void torn_result_metric(struct torn_result *r, const char *name, double value)
{
    cJSON_DeleteItemFromObject(r->metrics, name);
    cJSON_AddNumberToObject(r->metrics, name, value);
}

void torn_result_metric_str(struct torn_result *r, const char *name, const char *value)
{
    cJSON_DeleteItemFromObject(r->metrics, name);
    char *safe = torn_text_safe(value);

    cJSON_AddStringToObject(r->metrics, name, safe ? safe : "");
    free(safe);
}

void torn_result_replay_note(const struct torn_result *r, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (r->replay_exact)
        return;
    if (r->attempt > 0)
        snprintf(buf, len, "failed on attempt %d of at most %d with the same seed; the OS decides "
                 "the interleaving", r->attempt, r->attempts_max);
    else if (r->repro_runs > 0)
        snprintf(buf, len, "reproduced in %d of %d re-runs with the same seed; the OS decides the "
                 "interleaving", r->repro_fails, r->repro_runs);
    else
        snprintf(buf, len, "the OS decides the interleaving: one run may not reproduce it");
}

const char *torn_verdict_name(enum torn_verdict v)
{
    switch (v) {
    case TORN_PASS: return "PASS";
    case TORN_FAIL: return "FAIL";
    case TORN_ERROR: return "ERROR";
    case TORN_SKIP: return "SKIP";
    }
    return "?";
}

const char *torn_criterion_kind(const char *criterion)
{
    if (criterion && strncmp(criterion, "budget:", 7) == 0)
        return "budget";
    if (criterion && strncmp(criterion, "regression:", 11) == 0)
        return "regression";
    return "correctness";
}

const char *torn_op_name(enum torn_op op)
{
    switch (op) {
    case TORN_OP_RESET: return "reset";
    case TORN_OP_UPDATE: return "update";
    case TORN_OP_READ: return "read";
    case TORN_OP_CAS: return "update_if_version";
    case TORN_OP_TRANSITION: return "transition";
    case TORN_OP_DUAL_WRITE: return "dual_write";
    case TORN_OP_DUAL_READ: return "dual_read";
    case TORN_OP_CREATE: return "create";
    case TORN_OP_EVENT: return "event";
    case TORN_OP_RECOVER: return "recover";
    case TORN_OP_COUNT: break;
    }
    return "?";
}

double torn_result_ops_per_s(const struct torn_result *r)
{
    uint64_t n = 0;

    if (r->duration_s <= 0)
        return 0;
    for (int i = 0; i < TORN_OP_COUNT; i++) {
        if (i == TORN_OP_RESET || i == TORN_OP_RECOVER)
            continue;
        n += r->ops[i].n_ok + r->ops[i].n_fail + r->ops[i].n_info;
    }
    return (double)n / r->duration_s;
}

int torn_result_openloop(struct torn_result *r, double rate)
{
    if (!r->openloop) {
        r->openloop = calloc(1, sizeof *r->openloop);
        if (!r->openloop)
            return TORN_E_NOMEM;
        for (int i = 0; i < TORN_OP_COUNT; i++) {
            torn_hdr_init(&r->openloop->uncorrected[i]);
            torn_hdr_init(&r->openloop->corrected[i]);
        }
    }
    r->openloop->rate = rate;
    return TORN_OK;
}

void torn_openloop_sample(struct torn_hdr *uncorrected, struct torn_hdr *corrected,
                         uint64_t *late, uint64_t due_ns, uint64_t start_ns, uint64_t end_ns)
{
    /* Clocks are monotonic; the guards only keep a confused caller from
     * recording a wrapped-around value. */
    if (start_ns < due_ns)
        start_ns = due_ns;
    if (end_ns < start_ns)
        end_ns = start_ns;
    torn_hdr_add(uncorrected, end_ns - start_ns);
    torn_hdr_add(corrected, end_ns - due_ns);
    if (start_ns - due_ns > TORN_OPENLOOP_LATE_NS)
        (*late)++;
}

void torn_result_openloop_op(struct torn_result *r, enum torn_op op, uint64_t due_ns,
                             uint64_t start_ns, uint64_t end_ns)
{
    struct torn_openloop *ol = r->openloop;

    if (!ol || op < 0 || op >= TORN_OP_COUNT)
        return;
    torn_openloop_sample(&ol->uncorrected[op], &ol->corrected[op], &ol->n_late[op], due_ns,
                         start_ns, end_ns);
}

int torn_result_openloop_has(const struct torn_result *r, enum torn_op op)
{
    return r->openloop && op >= 0 && op < TORN_OP_COUNT && r->openloop->corrected[op].n > 0;
}

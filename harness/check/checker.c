/* torn: check results: violations, printing, JSON, folding into a run's
 * result (the checker table is harness/core/registry_checkers.c; `torn
 * check` is harness/cli/cmd_check.c). */
#include "checker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/history.h"
#include "core/text.h"
#include "history_read.h"
#include "value.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/util.h"

/* ---- results ---- */

void torn_check_result_init(struct torn_check_result *res)
{
    memset(res, 0, sizeof *res);
    res->verdict = TORN_CHECK_VALID;
}

void torn_check_result_free(struct torn_check_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_violations; i++) {
        struct torn_check_violation *v = &res->violations[i];
        free(v->criterion);
        free(v->key);
        free(v->message);
        free(v->ops);
        free(v->events);
    }
    free(res->violations);
    free(res->unknown_reason);
    free(res->partial);
    memset(res, 0, sizeof *res);
}

static size_t *copy_idx(const size_t *a, size_t n)
{
    size_t *c = malloc((n ? n : 1) * sizeof *c);

    if (c && n)
        memcpy(c, a, n * sizeof *c);
    return c;
}

int torn_check_violation(struct torn_check_result *res, const char *criterion, const char *key,
                         const size_t *ops, size_t n_ops, const size_t *events, size_t n_events,
                         const char *fmt, ...)
{
    struct torn_check_violation *v;
    va_list ap;
    char msg[1024];

    res->verdict = TORN_CHECK_INVALID;
    res->n_violations_total++;
    if (res->n_violations >= TORN_CHECK_MAX_KEPT)
        return TORN_OK;
    v = realloc(res->violations, (res->n_violations + 1) * sizeof *v);
    if (!v)
        return TORN_E_NOMEM;
    res->violations = v;
    v = &v[res->n_violations];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memset(v, 0, sizeof *v);
    v->criterion = torn_strdup(criterion);
    v->key = torn_text_safe(key);      /* keys and messages quote the history: */
    v->message = torn_text_safe(msg);  /* neutralised (util.h) */
    v->ops = copy_idx(ops, n_ops);
    v->n_ops = n_ops;
    v->events = copy_idx(events, n_events);
    v->n_events = n_events;
    if (!v->criterion || !v->message || (key && !v->key) || !v->ops || !v->events) {
        free(v->criterion);
        free(v->key);
        free(v->message);
        free(v->ops);
        free(v->events);
        return TORN_E_NOMEM;
    }
    res->n_violations++;
    return TORN_OK;
}

/* ---- describing operations ---- */

static uint64_t hist_t0(const struct torn_hist *h)
{
    uint64_t t0 = UINT64_MAX;

    if (h->n_ops)
        t0 = h->ops[0].t_invoke;
    if (h->n_events && h->events[0].t < t0)
        t0 = h->events[0].t;
    return t0 == UINT64_MAX ? 0 : t0;
}

/* s (a canonical text: exact numbers, as the checkers compare them) in
 * buf, cut with "..." when longer. */
static void put_text(const char *s, char *buf, size_t len)
{
    if (strlen(s) >= len && len > 4)
        snprintf(buf, len, "%.*s...", (int)(len - 4), s);
    else
        snprintf(buf, len, "%s", s);
}

static void value_text(const cJSON *v, char *buf, size_t len)
{
    char *s;

    if (!v) {
        snprintf(buf, len, "-");
        return;
    }
    if (!(s = torn_value_text(v))) {
        snprintf(buf, len, "?");
        return;
    }
    put_text(s, buf, len);
    free(s);
}

/* value_text of a history value id ("-" for none), without a tree. */
static void id_text(const struct torn_hist *h, uint32_t id, char *buf, size_t len)
{
    if (id == TORN_HIST_NONE)
        snprintf(buf, len, "-");
    else
        put_text(torn_hist_value_text(h, id), buf, len);
}

static void time_text(const struct torn_hist *h, uint64_t t, char *buf, size_t len)
{
    if (t == TORN_HIST_NEVER)
        snprintf(buf, len, "never");
    else if (h->clockless)
        snprintf(buf, len, "#%llu", (unsigned long long)t);
    else
        snprintf(buf, len, "%.3f ms", (double)(t - hist_t0(h)) / 1e6);
}

void torn_check_describe_op(const struct torn_hist *h, size_t i, char *buf, size_t len)
{
    const struct torn_hop *op = &h->ops[i];
    const char *key = torn_hist_key(h, op->key_id);
    char in[96], out[96], t1[32], t2[32];

    id_text(h, op->input_id, in, sizeof in);
    id_text(h, op->output_id, out, sizeof out);
    time_text(h, op->t_invoke, t1, sizeof t1);
    time_text(h, op->t_complete, t2, sizeof t2);
    snprintf(buf, len, "p%-3lld %-8s %s%s%s %s -> %-4s %s  [%s .. %s]  (line %u%s%.0u)",
             op->process, torn_hist_f(h, op), key ? "key=" : "", key ? key : "", key ? " " : "", in,
             torn_hist_outcome_name(op->outcome), op->output_id != TORN_HIST_NONE ? out : "", t1,
             t2, op->line_invoke, op->line_complete ? "," : "", op->line_complete);
}

static void describe_event(const struct torn_hist *h, size_t i, char *buf, size_t len)
{
    const struct torn_hevent *e = &h->events[i];
    char v[96], t[32];

    value_text(e->value, v, sizeof v);
    time_text(h, e->t, t, sizeof t);
    snprintf(buf, len, "%-6s %s %s%s %s  [%s]  (line %zu)", e->notify ? "notify" : "FAULT",
             e->f ? e->f : "", e->key ? "key=" : "", e->key ? e->key : "", e->value ? v : "", t,
             e->line);
}

static const char *verdict_word(enum torn_check_verdict v)
{
    switch (v) {
    case TORN_CHECK_VALID:
        return "valid";
    case TORN_CHECK_INVALID:
        return "INVALID";
    case TORN_CHECK_UNKNOWN:
        return "unknown";
    }
    return "?";
}

/* Ops and events of a violation merged in time order, one line each. */
/* An operation or event line: keys and names come from the history file. */
static void safe_line(FILE *f, const char *line)
{
    fputs("    ", f);
    torn_fput_safe(f, line);
    fputc('\n', f);
}

static void print_counterexample(FILE *f, const struct torn_hist *h,
                                 const struct torn_check_violation *v, size_t max_lines)
{
    size_t i = 0, j = 0, shown = 0;
    char line[512];

    while ((i < v->n_ops || j < v->n_events) && shown < max_lines) {
        int take_op = j >= v->n_events ||
                      (i < v->n_ops && h->ops[v->ops[i]].t_invoke <= h->events[v->events[j]].t);
        if (take_op)
            torn_check_describe_op(h, v->ops[i++], line, sizeof line);
        else
            describe_event(h, v->events[j++], line, sizeof line);
        safe_line(f, line);
        shown++;
    }
    if (i < v->n_ops || j < v->n_events)
        fprintf(f, "    ... %zu more\n", v->n_ops - i + v->n_events - j);
}

void torn_check_print(FILE *f, const struct torn_hist *h, const struct torn_check_result *res)
{
    fprintf(f, "%s: %zu operations on %zu key%s\n", verdict_word(res->verdict),
            res->n_ops_checked, res->n_keys, res->n_keys == 1 ? "" : "s");
    for (size_t k = 0; k < res->n_violations; k++) {
        const struct torn_check_violation *v = &res->violations[k];
        fprintf(f, "violation %zu: %s: %s\n", k + 1, v->criterion, v->message);
        if (v->n_ops || v->n_events) {
            fprintf(f, "  counterexample (%s):\n",
                    h->clockless ? "#N = line number" : "times since the first event");
            print_counterexample(f, h, v, k < 5 ? 40 : 8);
        }
    }
    if (res->n_violations_total > res->n_violations)
        fprintf(f, "... and %zu more violations\n", res->n_violations_total - res->n_violations);
    if (res->n_keys_unsearched)
        fprintf(f, "stopped at the first failing key: %zu other key%s not searched (--all-keys "
                   "searches every key)\n", res->n_keys_unsearched,
                res->n_keys_unsearched == 1 ? "" : "s");
    if (res->verdict == TORN_CHECK_UNKNOWN) {
        char line[512];
        fprintf(f, "unknown: %s\n", res->unknown_reason ? res->unknown_reason : "bound reached");
        for (size_t i = 0; i < res->n_partial && i < 20; i++) {
            torn_check_describe_op(h, res->partial[i], line, sizeof line);
            safe_line(f, line);
        }
        if (res->n_partial > 20)
            fprintf(f, "    ... %zu more in the partial linearization\n", res->n_partial - 20);
    }
}

static cJSON *op_json(const struct torn_hist *h, size_t i)
{
    const struct torn_hop *op = &h->ops[i];
    const cJSON *in, *out;
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "index", (double)i);
    cJSON_AddNumberToObject(o, "process", (double)op->process);
    cJSON_AddStringToObject(o, "f", torn_hist_f(h, op));
    if (op->key_id != TORN_HIST_NONE)
        cJSON_AddStringToObject(o, "key", torn_hist_key(h, op->key_id));
    if (torn_hist_tree(h, op->input_id, &in) != TORN_OK ||
        torn_hist_tree(h, op->output_id, &out) != TORN_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    if (in)
        cJSON_AddItemToObject(o, "input", cJSON_Duplicate(in, 1));
    cJSON_AddStringToObject(o, "outcome", torn_hist_outcome_name(op->outcome));
    if (out)
        cJSON_AddItemToObject(o, "output", cJSON_Duplicate(out, 1));
    cJSON_AddNumberToObject(o, "invoke", (double)op->t_invoke);
    if (op->t_complete != TORN_HIST_NEVER)
        cJSON_AddNumberToObject(o, "complete", (double)op->t_complete);
    cJSON_AddNumberToObject(o, "line", (double)op->line_invoke);
    return o;
}

static cJSON *event_json(const struct torn_hist *h, size_t i)
{
    const struct torn_hevent *e = &h->events[i];
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "type", e->notify ? "notify" : "fault");
    if (e->f)
        cJSON_AddStringToObject(o, "f", e->f);
    if (e->key)
        cJSON_AddStringToObject(o, "key", e->key);
    if (e->value)
        cJSON_AddItemToObject(o, "value", cJSON_Duplicate(e->value, 1));
    cJSON_AddNumberToObject(o, "time", (double)e->t);
    cJSON_AddNumberToObject(o, "line", (double)e->line);
    return o;
}

cJSON *torn_check_json(const struct torn_hist *h, const struct torn_check_result *res,
                       const char *model)
{
    cJSON *o = cJSON_CreateObject(), *vs, *p;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "history", h->name);
    if (model)
        cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "verdict",
                            res->verdict == TORN_CHECK_VALID     ? "valid"
                            : res->verdict == TORN_CHECK_INVALID ? "invalid"
                                                                 : "unknown");
    cJSON_AddNumberToObject(o, "operations", (double)res->n_ops_checked);
    cJSON_AddNumberToObject(o, "keys", (double)res->n_keys);
    cJSON_AddNumberToObject(o, "keys_unsearched", (double)res->n_keys_unsearched);
    cJSON_AddNumberToObject(o, "violations_total", (double)res->n_violations_total);
    cJSON_AddNumberToObject(o, "states", (double)res->n_states);
    cJSON_AddNumberToObject(o, "mem_peak_bytes", (double)res->mem_peak);
    cJSON_AddNumberToObject(o, "elapsed_s", res->elapsed_s);
    cJSON_AddBoolToObject(o, "clockless", h->clockless);
    if (res->unknown_reason)
        cJSON_AddStringToObject(o, "unknown_reason", res->unknown_reason);
    vs = cJSON_AddArrayToObject(o, "violations");
    for (size_t k = 0; vs && k < res->n_violations; k++) {
        const struct torn_check_violation *v = &res->violations[k];
        cJSON *vj = cJSON_CreateObject(), *ops, *evs;
        if (!vj)
            break;
        cJSON_AddStringToObject(vj, "criterion", v->criterion);
        if (v->key)
            cJSON_AddStringToObject(vj, "key", v->key);
        cJSON_AddStringToObject(vj, "message", v->message);
        ops = cJSON_AddArrayToObject(vj, "ops");
        for (size_t i = 0; ops && i < v->n_ops; i++)
            cJSON_AddItemToArray(ops, op_json(h, v->ops[i]));
        evs = cJSON_AddArrayToObject(vj, "events");
        for (size_t i = 0; evs && i < v->n_events; i++)
            cJSON_AddItemToArray(evs, event_json(h, v->events[i]));
        cJSON_AddItemToArray(vs, vj);
    }
    if (res->n_partial) {
        p = cJSON_AddArrayToObject(o, "partial_linearization");
        for (size_t i = 0; p && i < res->n_partial; i++)
            cJSON_AddItemToArray(p, cJSON_CreateNumber((double)res->partial[i]));
    }
    return o;
}

void torn_check_to_result(const struct torn_check_result *res, const struct torn_hist *h,
                          struct torn_result *r, uint64_t t0_ns)
{
    for (size_t k = 0; k < res->n_violations; k++) {
        const struct torn_check_violation *v = &res->violations[k];
        size_t cap = 256 + v->n_ops * 200, len = 0;
        char *ev = malloc(cap), line[512];
        uint64_t t = v->n_ops ? h->ops[v->ops[0]].t_invoke
                     : v->n_events ? h->events[v->events[0]].t : t0_ns;
        if (!ev)
            return;
        len += (size_t)snprintf(ev, cap, "%s", v->message);
        for (size_t i = 0; i < v->n_ops && i < 20 && len < cap; i++) {
            torn_check_describe_op(h, v->ops[i], line, sizeof line);
            len += (size_t)snprintf(ev + len, cap - len, "\n  %s", line);
        }
        torn_result_violation(r, v->criterion, v->key,
                              !h->clockless && t >= t0_ns ? (double)(t - t0_ns) / 1e9 : 0.0, "%s",
                              ev);
        free(ev);
    }
    for (size_t k = res->n_violations; k < res->n_violations_total; k++)
        torn_result_violation(r, "checker", NULL, 0.0, "further violation (not kept)");
}

/* ---- for scenarios ---- */

/* Drop operations invoked and events before t0 (another scenario's); their
 * values stay in the history's table until torn_hist_free. */
static void keep_since(struct torn_hist *h, uint64_t t0)
{
    size_t k = 0;

    for (size_t i = 0; i < h->n_ops; i++)
        if (h->ops[i].t_invoke >= t0)
            h->ops[k++] = h->ops[i];
    h->n_ops = k;
    k = 0;
    for (size_t i = 0; i < h->n_events; i++)
        if (h->events[i].t >= t0)
            h->events[k++] = h->events[i];
    h->n_events = k;
}

int torn_check_ctx(struct torn_ctx *ctx, const char *model, const struct torn_check_opts *opts,
                   struct torn_err *err)
{
    const struct torn_checker_ops *ops = torn_checker_find(model);
    const char *path = torn_history_log_path(ctx->history);
    struct torn_check_opts dflt;
    struct torn_check_result res;
    struct torn_hist *h;
    char name[64];
    int rc;

    if (!ops)
        return torn_err_set(err, TORN_E_CONFIG, "unknown checker model %s", model);
    if (!path)
        return torn_err_set(err, TORN_E_UNSUPPORTED, "no history recorded: nothing to check");
    if (!opts) {
        memset(&dflt, 0, sizeof dflt);
        dflt.time_limit_s = 30;
        dflt.mem_limit = (size_t)1 << 30;
        opts = &dflt;
    }
    rc = torn_hist_read(path, TORN_HIST_TORN, &h, err);
    if (rc != TORN_OK)
        return rc;
    keep_since(h, ctx->t0_ns);
    torn_check_result_init(&res);
    rc = ops->check(h, opts, &res, err);
    if (rc == TORN_OK) {
        torn_check_to_result(&res, h, ctx->result, ctx->t0_ns);
        snprintf(name, sizeof name, "check_%s_ops", model);
        torn_result_metric(ctx->result, name, (double)res.n_ops_checked);
        if (res.verdict == TORN_CHECK_UNKNOWN) {
            snprintf(name, sizeof name, "check_%s_unknown", model);
            torn_result_metric_str(ctx->result, name,
                                   res.unknown_reason ? res.unknown_reason : "bound reached");
        }
        rc = (int)res.verdict;
    }
    torn_check_result_free(&res);
    torn_hist_free(h);
    return rc;
}

/* torn: budgets (see budget.h). */
#include "gate/budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/hdr.h"
#include "core/parse.h"
#include "core/result.h"
#include "gate/checks.h"

static const struct torn_unit lat_units[] = {
    {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {NULL, 0}};
static const struct torn_unit rate_units[] = {{"%", 0.01}, {"", 1}, {NULL, 0}};
static const struct torn_unit tput_units[] = {{"/s", 1}, {"", 1}, {NULL, 0}};

void torn_budget_clear(struct torn_budget *b)
{
    free(b->text);
    free(b->scenario);
    memset(b, 0, sizeof *b);
}

/* text without blanks, or NULL (ENOMEM). */
static char *squeeze(const char *text)
{
    char *s = malloc(strlen(text) + 1), *w = s;

    for (; s && *text; text++)
        if (*text != ' ' && *text != '\t')
            *w++ = *text;
    if (s)
        *w = '\0';
    return s;
}

/* The comparison in s: its position and length, floor and inclusive. */
static const char *find_cmp(const char *s, size_t *len, int *floor, int *incl)
{
    const char *c = strpbrk(s, "<>");

    if (!c)
        return NULL;
    *floor = *c == '>';
    *incl = c[1] == '=';
    *len = *incl ? 2 : 1;
    return c;
}

/* SCENARIO:OP.METRIC (before the comparison) into b. */
static int parse_selector(const char *s, size_t len, const char *what, struct torn_budget *b,
                          struct torn_err *err)
{
    const char *colon = memchr(s, ':', len), *op, *dot;

    if (colon) {
        b->scenario = strndup(s, (size_t)(colon - s));
        if (!b->scenario || !b->scenario[0])
            return torn_err_set(err, TORN_E_USAGE, "%s: '%s': empty scenario name before ':'",
                                what, b->text);
        op = colon + 1;
    } else {
        op = s;
    }
    dot = memchr(op, '.', len - (size_t)(op - s));
    if (!dot)
        return torn_err_set(err, TORN_E_USAGE,
                            "%s: '%s': expected [SCENARIO:]OP.METRIC before the comparison "
                            "(update.p99<500ms)", what, b->text);
    b->op = dot - op == 1 && *op == '*' ? -1 : torn_op_parse(op, (size_t)(dot - op));
    if (b->op < 0 && !(dot - op == 1 && *op == '*'))
        return torn_err_set(err, TORN_E_USAGE,
                            "%s: '%s': unknown operation '%.*s' (update, read, "
                            "update_if_version, transition, dual_write, dual_read, create, "
                            "event, reset, recover, *)", what, b->text, (int)(dot - op), op);
    if (torn_metric_parse(dot + 1, len - (size_t)(dot + 1 - s), &b->metric))
        return torn_err_set(err, TORN_E_USAGE, "%s: '%s': unknown metric '%.*s' (%s)", what,
                            b->text, (int)(len - (size_t)(dot + 1 - s)), dot + 1,
                            torn_metric_names());
    return 0;
}

/* The comparison direction and value fit the metric. */
static int parse_limit(const char *v, const char *what, struct torn_budget *b,
                       struct torn_err *err)
{
    char sub[320];
    int lat = torn_metric_is_latency(b->metric), rate = torn_metric_is_rate(b->metric);

    if (b->floor != (b->metric == TORN_M_THROUGHPUT))
        return torn_err_set(err, TORN_E_USAGE, "%s: '%s': %s takes %s", what, b->text,
                            torn_metric_name(b->metric),
                            b->floor ? "< or <= (a ceiling)" : "> or >= (a floor)");
    if (b->op < 0 && lat)
        return torn_err_set(err, TORN_E_USAGE,
                            "%s: '%s': latency budgets name one operation, not *", what,
                            b->text);
    snprintf(sub, sizeof sub, "%s: '%s': limit", what, b->text);
    return torn_parse_real_unit(sub, v, lat ? lat_units : rate ? rate_units : tput_units, 0,
                                lat ? 1e13 : rate ? 1 : 1e9, &b->limit, err);
}

int torn_budget_parse(const char *text, const char *what, struct torn_budget *b,
                      struct torn_err *err)
{
    const char *c;
    size_t clen;
    int rc;

    memset(b, 0, sizeof *b);
    if (!(b->text = squeeze(text)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    c = find_cmp(b->text, &clen, &b->floor, &b->inclusive);
    if (!c)
        rc = torn_err_set(err, TORN_E_USAGE,
                          "%s: '%s': no comparison (expected e.g. update.p99<500ms, "
                          "*.error_rate<0.1%%, update.throughput>50/s)", what, b->text);
    else if ((rc = parse_selector(b->text, (size_t)(c - b->text), what, b, err)) == 0)
        rc = parse_limit(c + clen, what, b, err);
    if (rc)
        torn_budget_clear(b);
    return rc;
}

int torn_budget_same(const struct torn_budget *a, const struct torn_budget *b)
{
    return a->op == b->op && a->metric == b->metric &&
           ((!a->scenario && !b->scenario) ||
            (a->scenario && b->scenario && strcmp(a->scenario, b->scenario) == 0));
}

/* Counts of every operation kind but reset and recover, into op slot
 * TORN_OP_RESET of f (the `*` pseudo-operation). */
static void sum_ops(struct torn_figs *f)
{
    struct torn_opfig all = {0};

    for (int op = 0; op < TORN_OP_COUNT; op++) {
        if (op == TORN_OP_RESET || op == TORN_OP_RECOVER)
            continue;
        all.n_ok += f->op[op].n_ok;
        all.n_fail += f->op[op].n_fail;
        all.n_info += f->op[op].n_info;
    }
    f->op[TORN_OP_RESET] = all;
}

/* b's figure on r (NAN: nothing to judge) and which loop it came from. */
static double observe(const struct torn_budget *b, const struct torn_result *r,
                      const char **loop)
{
    struct torn_figs f;
    int op = b->op < 0 ? TORN_OP_RESET : b->op;

    *loop = "closed-loop";
    if (torn_metric_is_latency(b->metric) && b->op >= 0 &&
        torn_result_openloop_has(r, (enum torn_op)b->op)) {
        const struct torn_hdr *h = &r->openloop->corrected[b->op];
        double q = torn_metric_quantile(b->metric);
        *loop = "open-loop, from due time";
        if (!h->n)
            return NAN;
        return q < 0 ? torn_hdr_mean(h) : (double)torn_hdr_quantile(h, q);
    }
    torn_figs_from_result(r, &f);
    if (b->op < 0)
        sum_ops(&f);
    return torn_figs_value(&f, (enum torn_op)op, b->metric);
}

/* The budget names r's scenario (or every scenario). */
static int applies(const struct torn_budget *b, const struct torn_result *r)
{
    return !b->scenario || strcmp(b->scenario, r->scenario) == 0;
}

int torn_budget_judge(struct torn_budget *b, struct torn_result *res, cJSON *checks)
{
    const char *loop, *opname = b->op < 0 ? "all operations" : torn_op_name((enum torn_op)b->op);
    char obs[48], lim[48], mar[48], text[400];
    double v, margin;
    int held;

    if (!applies(b, res) || res->verdict == TORN_ERROR || res->verdict == TORN_SKIP)
        return 0;
    v = observe(b, res, &loop);
    if (isnan(v)) {
        if (b->scenario)
            torn_result_error(res, TORN_E_CONFIG, "budget cannot be judged: the scenario did "
                                                  "no operation it measures");
        return 0;
    }
    b->n_judged++;
    margin = b->floor ? v - b->limit : b->limit - v;
    held = b->inclusive ? margin >= 0 : margin > 0;
    torn_metric_fmt(b->metric, v, obs, sizeof obs);
    torn_metric_fmt(b->metric, b->limit, lim, sizeof lim);
    torn_metric_fmt(b->metric, margin, mar, sizeof mar);
    snprintf(text, sizeof text, "%s %s %s %s %s (budget %s, margin %s, %s)", opname,
             torn_metric_name(b->metric), obs,
             held ? (b->floor ? ">=" : "<=") : (b->floor ? "<" : ">"), lim, b->text, mar, loop);
    if (torn_gate_check(checks, "budget", torn_metric_name(b->metric), b->text, b->op,
                        b->metric, loop, v, b->limit, margin, held, text))
        return TORN_E_NOMEM;
    if (!held) {
        char crit[48];
        snprintf(crit, sizeof crit, "budget:%s", torn_metric_name(b->metric));
        torn_result_violation(res, crit, NULL, res->duration_s, "%s", text);
    }
    return 0;
}

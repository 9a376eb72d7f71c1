/* torn: baselines (see baseline.h). */
#include "gate/baseline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

void torn_allow_defaults(struct torn_allow allow[TORN_M_COUNT])
{
    memset(allow, 0, TORN_M_COUNT * sizeof *allow);
    allow[TORN_M_P50] = (struct torn_allow){1, 0.25, 10e6};
    allow[TORN_M_P99] = (struct torn_allow){1, 0.25, 10e6};
    allow[TORN_M_ERROR_RATE] = (struct torn_allow){1, 0, 0.01};
}

/* One part of an allowance: "20%" (relative; for rates percentage points)
 * or an absolute amount with the metric's unit. */
static int allow_part(enum torn_metric m, const char *s, const char *what, struct torn_allow *a,
                      struct torn_err *err)
{
    static const struct torn_unit lat[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
                                           {NULL, 0}};
    static const struct torn_unit tput[] = {{"/s", 1}, {NULL, 0}};
    static const struct torn_unit pct[] = {{"%", 0.01}, {NULL, 0}};
    size_t len = strlen(s);
    char sub[320];

    snprintf(sub, sizeof sub, "%s: allowance '%s'", what, s);
    if (torn_metric_is_rate(m))
        return torn_parse_real_unit(sub, s, pct, 0, 1, &a->abs, err);
    if (len && s[len - 1] == '%')
        return torn_parse_real_unit(sub, s, pct, 0, 100, &a->rel, err);
    return torn_parse_real_unit(sub, s, torn_metric_is_latency(m) ? lat : tput, 0, 1e13,
                                &a->abs, err);
}

int torn_allow_parse_value(enum torn_metric m, const char *text, const char *what,
                           struct torn_allow *a, struct torn_err *err)
{
    char *copy = strdup(text), *part, *save = NULL;
    int rc = 0, n = 0;

    if (!copy)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    memset(a, 0, sizeof *a);
    if (strcmp(text, "off") == 0) {
        free(copy);
        return 0;
    }
    a->on = 1;
    for (part = strtok_r(copy, " ", &save); part && !rc; part = strtok_r(NULL, " ", &save)) {
        if (n % 2 == 1) { /* the word between two amounts */
            if (strcmp(part, "or") != 0)
                rc = torn_err_set(err, TORN_E_USAGE, "%s: '%s': expected 'or' between two "
                                  "amounts (20%% or 5ms)", what, text);
        } else {
            rc = allow_part(m, part, what, a, err);
        }
        n++;
    }
    if (!rc && (n == 0 || n % 2 == 0))
        rc = torn_err_set(err, TORN_E_USAGE, "%s: '%s': expected AMOUNT [or AMOUNT] (20%% or "
                          "5ms, 0.5%% for rates, off)", what, text);
    if (!rc && torn_metric_is_rate(m) && n > 1)
        rc = torn_err_set(err, TORN_E_USAGE, "%s: '%s': a rate takes one amount (percentage "
                          "points)", what, text);
    free(copy);
    return rc;
}

int torn_allow_parse(const char *text, const char *what, struct torn_allow allow[TORN_M_COUNT],
                     struct torn_err *err)
{
    const char *eq = strchr(text, '=');
    enum torn_metric m;

    if (!eq || torn_metric_parse(text, (size_t)(eq - text), &m))
        return torn_err_set(err, TORN_E_USAGE, "%s: '%s': expected METRIC=ALLOWANCE with "
                            "METRIC one of %s (p99=20%% or 5ms)", what, text,
                            torn_metric_names());
    return torn_allow_parse_value(m, eq + 1, what, &allow[m], err);
}

int torn_baseline_load(const char *path, cJSON **doc_out, struct torn_err *err)
{
    char *buf, what[320];
    size_t len;
    int rc;

    *doc_out = NULL;
    rc = torn_read_file(path, &buf, &len, err);
    if (rc)
        return torn_err_set(err, TORN_E_CONFIG, "baseline %s: %s", path,
                            rc == TORN_E_NOTFOUND ? "no such file" : err->msg);
    snprintf(what, sizeof what, "baseline %s", path);
    rc = torn_parse_json(what, buf, len, doc_out, err);
    free(buf);
    if (rc)
        return rc;
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*doc_out, "results"))) {
        cJSON_Delete(*doc_out);
        *doc_out = NULL;
        return torn_err_set(err, TORN_E_CONFIG,
                            "baseline %s: not a torn JSON report (no \"results\" array)", path);
    }
    return 0;
}

static int same_str(const cJSON *o, const char *key, const char *v)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(s) && v && strcmp(s->valuestring, v) == 0;
}

const cJSON *torn_baseline_match(const cJSON *doc, const struct torn_figs *f)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "results"))
    {
        if (same_str(r, "scenario", f->scenario) && same_str(r, "driver", f->driver) &&
            same_str(r, "strategy", f->strategy))
            return r;
    }
    return NULL;
}

int torn_baseline_compare(const struct torn_figs *old_f, const struct torn_figs *new_f,
                          const struct torn_allow allow[TORN_M_COUNT],
                          int (*fn)(void *arg, const struct torn_cmp *row), void *arg)
{
    for (int op = 0; op < TORN_OP_COUNT; op++) {
        if (torn_figs_ops(old_f, (enum torn_op)op) <= 0 ||
            torn_figs_ops(new_f, (enum torn_op)op) <= 0)
            continue;
        for (int m = 0; m < TORN_M_COUNT; m++) {
            struct torn_cmp c = {(enum torn_op)op, (enum torn_metric)m, 0, 0, 0, 0};
            double worse;
            int rc;
            if (!allow[m].on)
                continue;
            c.old_v = torn_figs_value(old_f, c.op, c.metric);
            c.new_v = torn_figs_value(new_f, c.op, c.metric);
            if (isnan(c.old_v) || isnan(c.new_v))
                continue;
            worse = m == TORN_M_THROUGHPUT ? c.old_v - c.new_v : c.new_v - c.old_v;
            c.allowed = fmax(allow[m].rel * c.old_v, allow[m].abs);
            c.regressed = worse > c.allowed;
            if ((rc = fn(arg, &c)) != 0)
                return rc;
        }
    }
    return 0;
}

void torn_cmp_describe(const struct torn_cmp *c, const struct torn_allow *a, char *buf,
                       size_t len)
{
    char o[48], n[48], d[48], al[48];
    double delta = c->new_v - c->old_v;

    torn_metric_fmt(c->metric, c->old_v, o, sizeof o);
    torn_metric_fmt(c->metric, c->new_v, n, sizeof n);
    torn_metric_fmt(c->metric, fabs(delta), d, sizeof d);
    torn_metric_fmt(c->metric, c->allowed, al, sizeof al);
    snprintf(buf, len, "%s %s %s -> %s (%s%s; may %s %s%s)", torn_op_name(c->op),
             torn_metric_name(c->metric), o, n, delta < 0 ? "-" : "+", d,
             c->metric == TORN_M_THROUGHPUT ? "fall" : "rise", al,
             a->rel > 0 && a->abs > 0 ? ", the larger of its % and amount" : "");
}

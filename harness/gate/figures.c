/* torn: the release gate's figures (see figures.h). */
#include "gate/figures.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/hdr.h"

static const struct {
    const char *name;
    double q;               /* quantile; 1 = max, -1 = mean, 0 = not a latency */
    const char *json;       /* key in a JSON report's latency object, or NULL */
} metrics[TORN_M_COUNT] = {
    [TORN_M_P50] = {"p50", 0.5, "p50_ns"},     [TORN_M_P90] = {"p90", 0.9, "p90_ns"},
    [TORN_M_P95] = {"p95", 0.95, NULL},        [TORN_M_P99] = {"p99", 0.99, "p99_ns"},
    [TORN_M_P999] = {"p999", 0.999, "p999_ns"}, [TORN_M_MAX] = {"max", 1.0, "max_ns"},
    [TORN_M_MEAN] = {"mean", -1, "mean_ns"},   [TORN_M_FAIL_RATE] = {"fail_rate", 0, NULL},
    [TORN_M_INFO_RATE] = {"info_rate", 0, NULL}, [TORN_M_ERROR_RATE] = {"error_rate", 0, NULL},
    [TORN_M_THROUGHPUT] = {"throughput", 0, NULL},
};

int torn_metric_is_latency(enum torn_metric m)
{
    return m <= TORN_M_MEAN;
}

int torn_metric_is_rate(enum torn_metric m)
{
    return m >= TORN_M_FAIL_RATE && m <= TORN_M_ERROR_RATE;
}

double torn_metric_quantile(enum torn_metric m)
{
    return torn_metric_is_latency(m) ? metrics[m].q : 0;
}

const char *torn_metric_name(enum torn_metric m)
{
    return m < TORN_M_COUNT ? metrics[m].name : "?";
}

const char *torn_metric_names(void)
{
    return "p50, p90, p95, p99, p999 (p99.9), max, mean, fail_rate, info_rate, error_rate, "
           "throughput";
}

int torn_metric_parse(const char *s, size_t len, enum torn_metric *out)
{
    if (len == 5 && strncmp(s, "p99.9", 5) == 0) {
        *out = TORN_M_P999;
        return 0;
    }
    for (int m = 0; m < TORN_M_COUNT; m++)
        if (strlen(metrics[m].name) == len && strncmp(s, metrics[m].name, len) == 0) {
            *out = (enum torn_metric)m;
            return 0;
        }
    return -1;
}

int torn_op_parse(const char *s, size_t len)
{
    for (int op = 0; op < TORN_OP_COUNT; op++) {
        const char *n = torn_op_name((enum torn_op)op);
        if (strlen(n) == len && strncmp(s, n, len) == 0)
            return op;
    }
    return -1;
}

void torn_figs_from_result(const struct torn_result *r, struct torn_figs *f)
{
    memset(f, 0, sizeof *f);
    f->scenario = r->scenario;
    f->target = r->target;
    f->driver = r->driver;
    f->strategy = r->strategy;
    f->duration_s = r->duration_s;
    for (int op = 0; op < TORN_OP_COUNT; op++) {
        const struct torn_opstats *s = &r->ops[op];
        f->op[op].n_ok = (double)s->n_ok;
        f->op[op].n_fail = (double)s->n_fail;
        f->op[op].n_info = (double)s->n_info;
        for (int m = 0; m <= TORN_M_MEAN; m++)
            f->op[op].lat[m] = metrics[m].q < 0 ? torn_hdr_mean(&s->hdr)
                                                : (double)torn_hdr_quantile(&s->hdr, metrics[m].q);
    }
}

/* A number field of o, or TORN_E_CONFIG naming it. */
static int num(const cJSON *o, const char *key, const char *what, double *out,
               struct torn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsNumber(v))
        return torn_err_set(err, TORN_E_CONFIG, "%s: field %s: expected a number", what, key);
    *out = v->valuedouble;
    return 0;
}

static int str(const cJSON *o, const char *key, const char *what, const char **out,
               struct torn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsString(v))
        return torn_err_set(err, TORN_E_CONFIG, "%s: field %s: expected a string", what, key);
    *out = v->valuestring;
    return 0;
}

static int opfig_from_json(const cJSON *o, const char *what, struct torn_opfig *f,
                           struct torn_err *err)
{
    int rc = num(o, "ok", what, &f->n_ok, err);

    if (!rc)
        rc = num(o, "fail", what, &f->n_fail, err);
    if (!rc)
        rc = num(o, "info", what, &f->n_info, err);
    for (int m = 0; !rc && m <= TORN_M_MEAN; m++) {
        f->lat[m] = NAN;
        if (metrics[m].json)
            rc = num(o, metrics[m].json, what, &f->lat[m], err);
    }
    return rc;
}

int torn_figs_from_json(const cJSON *res, const char *what, struct torn_figs *f,
                        struct torn_err *err)
{
    const cJSON *lat, *o;
    char sub[400];
    int rc;

    memset(f, 0, sizeof *f);
    if (!cJSON_IsObject(res))
        return torn_err_set(err, TORN_E_CONFIG, "%s: expected an object", what);
    if ((rc = str(res, "scenario", what, &f->scenario, err)) ||
        (rc = str(res, "target", what, &f->target, err)) ||
        (rc = str(res, "driver", what, &f->driver, err)) ||
        (rc = str(res, "strategy", what, &f->strategy, err)) ||
        (rc = num(res, "duration_s", what, &f->duration_s, err)))
        return rc;
    lat = cJSON_GetObjectItemCaseSensitive(res, "latency");
    if (!cJSON_IsObject(lat))
        return torn_err_set(err, TORN_E_CONFIG, "%s: field latency: expected an object", what);
    cJSON_ArrayForEach(o, lat)
    {
        int op = torn_op_parse(o->string, strlen(o->string));
        if (op < 0)
            continue; /* an operation kind of a newer torn: not compared */
        snprintf(sub, sizeof sub, "%s.latency.%s", what, o->string);
        if (!cJSON_IsObject(o))
            return torn_err_set(err, TORN_E_CONFIG, "%s: expected an object", sub);
        if ((rc = opfig_from_json(o, sub, &f->op[op], err)) != 0)
            return rc;
    }
    return 0;
}

double torn_figs_ops(const struct torn_figs *f, enum torn_op op)
{
    return f->op[op].n_ok + f->op[op].n_fail + f->op[op].n_info;
}

double torn_figs_value(const struct torn_figs *f, enum torn_op op, enum torn_metric m)
{
    const struct torn_opfig *o = &f->op[op];
    double n = torn_figs_ops(f, op);

    if (n <= 0)
        return NAN;
    switch (m) {
    case TORN_M_FAIL_RATE: return o->n_fail / n;
    case TORN_M_INFO_RATE: return o->n_info / n;
    case TORN_M_ERROR_RATE: return (o->n_fail + o->n_info) / n;
    case TORN_M_THROUGHPUT: return f->duration_s > 0 ? n / f->duration_s : NAN;
    default: return o->n_ok > 0 ? o->lat[m] : NAN;
    }
}

const char *torn_metric_unit(enum torn_metric m)
{
    return torn_metric_is_latency(m) ? "ms" : torn_metric_is_rate(m) ? "%" : "ops/s";
}

double torn_metric_in_unit(enum torn_metric m, double v)
{
    return torn_metric_is_latency(m) ? v / 1e6 : torn_metric_is_rate(m) ? v * 100 : v;
}

void torn_metric_fmt(enum torn_metric m, double v, char *buf, size_t len)
{
    double x = torn_metric_in_unit(m, v);
    const char *u = torn_metric_unit(m);

    if (isnan(v)) {
        snprintf(buf, len, "-");
        return;
    }
    if (torn_metric_is_latency(m) && fabs(v) < 1e6 && v != 0) { /* under 1 ms: us or ns */
        x = fabs(v) < 1e3 ? v : v / 1e3;
        u = fabs(v) < 1e3 ? "ns" : "us";
    }
    /* 612 ms, 0.412 ms, 1234 ops/s: three digits, never an exponent */
    snprintf(buf, len, fabs(x) >= 100 || x == 0 ? "%.0f %s" : "%.3g %s", x, u);
}

/* torn: suite files (see suite.h): loading and checking. */
#include "gate/suite.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "core/report.h"
#include "core/scenario.h"
#include "core/util.h"
#include "gate/baseline.h"
#include "gate/budget.h"
#include "gate/observe.h"
#include "run/target_uri.h"

/* One line "suite FILE: PATH: message" into err; returns TORN_E_CONFIG. */
__attribute__((format(printf, 4, 5))) static int bad(const struct torn_suite *s,
                                                     struct torn_err *err, const char *at,
                                                     const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return torn_err_set(err, TORN_E_CONFIG, "suite %s: %s: %s", s->path, at, msg);
}

/* An error a checker already worded (budget, URI, parameter): prefixed. */
static int wrap(const struct torn_suite *s, struct torn_err *err, const char *at)
{
    char msg[256];

    snprintf(msg, sizeof msg, "%s", err->msg);
    return torn_err_set(err, TORN_E_CONFIG, "suite %s: %s: %s", s->path, at, msg);
}

/* An error whose message already names the place: "suite FILE: " before. */
static int prefix(const struct torn_suite *s, struct torn_err *err)
{
    char msg[256];

    snprintf(msg, sizeof msg, "%s", err->msg);
    return torn_err_set(err, TORN_E_CONFIG, "suite %s: %s", s->path, msg);
}

/* v must be an array of strings; their pointers into *out. */
static int strings(struct torn_suite *s, const cJSON *v, const char *at, const char ***out,
                   size_t *n, struct torn_err *err)
{
    const cJSON *e;
    char sub[64];

    if (!cJSON_IsArray(v))
        return bad(s, err, at, "expected an array of strings");
    *out = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof **out);
    if (!*out)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(e, v)
    {
        snprintf(sub, sizeof sub, "%s[%zu]", at, *n);
        if (!cJSON_IsString(e) || !e->valuestring[0])
            return bad(s, err, sub, "expected a non-empty string");
        (*out)[(*n)++] = e->valuestring;
    }
    return 0;
}

static int targets(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    int rc = strings(s, v, "targets", &s->targets, &s->n_targets, err);
    char at[64];

    for (size_t i = 0; rc == 0 && i < s->n_targets; i++) {
        struct torn_target_cfg cfg;
        memset(&cfg, 0, sizeof cfg);
        snprintf(at, sizeof at, "targets[%zu]", i);
        if ((rc = torn_target_uri_parse(s->targets[i], &cfg, err)) != 0)
            rc = wrap(s, err, at);
        torn_target_uri_free(&cfg);
    }
    return rc;
}

static int target_opts(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    const cJSON *e;
    char at[300];

    if (!cJSON_IsObject(v))
        return bad(s, err, "target_opts", "expected an object of strings");
    s->target_opts = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *s->target_opts);
    if (!s->target_opts)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(e, v)
    {
        snprintf(at, sizeof at, "target_opts.%s", e->string);
        if (!cJSON_IsString(e))
            return bad(s, err, at, "expected a string");
        s->target_opts[s->n_target_opts++] = (struct torn_kv){e->string, e->valuestring};
    }
    return 0;
}

/* The target spec must read and parse, and its "metrics" (observe.h) be
 * right; the HTTP target checks the rest when the run starts. */
static int json_file(struct torn_suite *s, const char *path, const char *at,
                     struct torn_err *err)
{
    char *buf;
    size_t len;
    cJSON *doc = NULL;
    struct torn_observe *obs = NULL;
    int rc = torn_read_file(path, &buf, &len, err);

    if (rc)
        return bad(s, err, at, "%s: %s", path, rc == TORN_E_NOTFOUND ? "no such file" : err->msg);
    rc = torn_parse_json(path, buf, len, &doc, err);
    if (!rc)
        rc = torn_observe_new(doc, path, &obs, err);
    torn_observe_free(obs);
    free(buf);
    cJSON_Delete(doc);
    return rc ? wrap(s, err, at) : 0;
}

/* Only the listed keys in object v. */
static int known_keys(struct torn_suite *s, const cJSON *v, const char *at,
                      const char *const *keys, struct torn_err *err)
{
    const cJSON *e;
    char sub[300], list[256] = "";

    cJSON_ArrayForEach(e, v)
    {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], e->string) != 0; i++)
            ;
        if (keys[i])
            continue;
        for (i = 0; keys[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     keys[i]);
        snprintf(sub, sizeof sub, "%s%s%s", at, at[0] ? "." : "", e->string);
        return bad(s, err, sub, "unknown field (known: %s)", list);
    }
    return 0;
}

/* The scenario's parameters merge with its defaults (names, types, ranges). */
static int check_params(struct torn_suite *s, const char *name, const cJSON *params,
                        const char *at, struct torn_err *err)
{
    const struct torn_scenario_ops *ops = torn_scenario_find(name);
    cJSON *out = NULL;
    int rc;

    if (!ops)
        return bad(s, err, at, "unknown scenario '%s' (see `torn list`)", name);
    rc = torn_params_merge(ops, params, at, NULL, 0, &out, err);
    cJSON_Delete(out);
    return rc ? prefix(s, err) : 0;
}

static int inline_scenario(struct torn_suite *s, const cJSON *e, size_t i, const char *at,
                           struct torn_err *err)
{
    static const char *const keys[] = {"scenario", "name", "params", NULL};
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "scenario");
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(e, "params");
    char sub[128];
    int rc;

    if ((rc = known_keys(s, e, at, keys, err)) != 0)
        return rc;
    snprintf(sub, sizeof sub, "%s.scenario", at);
    if (!cJSON_IsString(name))
        return bad(s, err, sub, "expected a scenario name (string)");
    snprintf(sub, sizeof sub, "%s.name", at);
    if (label && (!cJSON_IsString(label) || !label->valuestring[0]))
        return bad(s, err, sub, "expected a non-empty string");
    snprintf(sub, sizeof sub, "%s.params", at);
    if (params && !cJSON_IsObject(params))
        return bad(s, err, sub, "expected an object");
    if ((rc = check_params(s, name->valuestring, params, sub, err)) != 0)
        return rc;
    s->scenarios[i] = label ? label->valuestring : name->valuestring;
    s->specs[i] = cJSON_Duplicate(e, 1);
    return s->specs[i] ? 0 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

/* A name, or a spec file (a '/' or .json, as with --scenario). */
static int named_scenario(struct torn_suite *s, const char *arg, size_t i, const char *at,
                          struct torn_err *err)
{
    size_t len = strlen(arg);
    cJSON *spec = NULL;
    const char *name = arg;
    int rc = 0;

    if (strchr(arg, '/') || (len > 5 && strcmp(arg + len - 5, ".json") == 0)) {
        if ((rc = torn_spec_load(arg, &spec, &name, err)) != 0)
            return wrap(s, err, at);
    }
    rc = check_params(s, name, cJSON_GetObjectItemCaseSensitive(spec, "params"), at, err);
    cJSON_Delete(spec);
    s->scenarios[i] = arg;
    return rc;
}

static int scenarios(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    const cJSON *e;
    size_t n = (size_t)cJSON_GetArraySize(v);
    char at[64];
    int rc = 0;

    if (!cJSON_IsArray(v) || n == 0)
        return bad(s, err, "scenarios", "expected a non-empty array of names, spec files or "
                   "{\"scenario\", \"params\"} objects");
    s->scenarios = calloc(n + 1, sizeof *s->scenarios);
    s->specs = calloc(n + 1, sizeof *s->specs);
    if (!s->scenarios || !s->specs)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(e, v)
    {
        size_t i = s->n_scenarios++;
        snprintf(at, sizeof at, "scenarios[%zu]", i);
        if (cJSON_IsString(e) && e->valuestring[0])
            rc = named_scenario(s, e->valuestring, i, at, err);
        else if (cJSON_IsObject(e))
            rc = inline_scenario(s, e, i, at, err);
        else
            rc = bad(s, err, at, "expected a scenario name, a spec file or an object");
        if (rc)
            return rc;
    }
    return 0;
}

static int budgets(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    int rc = strings(s, v, "budgets", &s->budgets, &s->n_budgets, err);
    char at[64];

    for (size_t i = 0; rc == 0 && i < s->n_budgets; i++) {
        struct torn_budget b;
        snprintf(at, sizeof at, "budgets[%zu]", i);
        if ((rc = torn_budget_parse(s->budgets[i], at, &b, err)) != 0)
            rc = prefix(s, err);
        else
            torn_budget_clear(&b);
    }
    return rc;
}

static int baseline(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    static const char *const keys[] = {"report", "allow", NULL};
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(v, "report"), *a, *e;
    cJSON *doc = NULL;
    char at[300];
    int rc;

    if (!cJSON_IsObject(v))
        return bad(s, err, "baseline", "expected {\"report\": FILE, \"allow\": {...}}");
    if ((rc = known_keys(s, v, "baseline", keys, err)) != 0)
        return rc;
    if (!cJSON_IsString(rep) || !rep->valuestring[0])
        return bad(s, err, "baseline.report", "expected the path of a torn --json report");
    if ((rc = torn_baseline_load(rep->valuestring, &doc, err)) != 0)
        return wrap(s, err, "baseline.report");
    cJSON_Delete(doc);
    s->baseline = rep->valuestring;
    a = cJSON_GetObjectItemCaseSensitive(v, "allow");
    if (a && !cJSON_IsObject(a))
        return bad(s, err, "baseline.allow", "expected an object {\"p99\": \"20%% or 5ms\"}");
    cJSON_ArrayForEach(e, a)
    {
        enum torn_metric m;
        struct torn_allow al;
        snprintf(at, sizeof at, "baseline.allow.%s", e->string);
        if (torn_metric_parse(e->string, strlen(e->string), &m))
            return bad(s, err, at, "unknown metric (%s)", torn_metric_names());
        if (!cJSON_IsString(e))
            return bad(s, err, at, "expected a string (\"20%% or 5ms\", \"off\")");
        if (torn_allow_parse_value(m, e->valuestring, at, &al, err))
            return prefix(s, err);
    }
    s->allow = (cJSON *)a;
    return 0;
}

/* "json, junit, ...": the reporters that write files, into buf. */
static const char *reporter_names(char *buf, size_t len)
{
    size_t n, used = 0;
    const struct torn_reporter_ops *const *reps = torn_reporters(&n);

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w;
        if (!reps[i]->option)
            continue;
        w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", reps[i]->name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

static int reports(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    const cJSON *e;
    char at[300], what[64], list[160];

    if (!cJSON_IsObject(v))
        return bad(s, err, "reports", "expected an object {\"json\": FILE, ...}");
    cJSON_ArrayForEach(e, v)
    {
        const struct torn_reporter_ops *ops = torn_reporter_find(e->string);
        snprintf(at, sizeof at, "reports.%s", e->string);
        if (!ops || !ops->option)
            return bad(s, err, at, "unknown reporter (%s)", reporter_names(list, sizeof list));
        if (!cJSON_IsString(e) || !e->valuestring[0])
            return bad(s, err, at, "expected a path (\"-\" = stdout)");
        snprintf(what, sizeof what, "%s report", ops->option);
        if (strcmp(e->valuestring, "-") != 0 && torn_outfile_check(e->valuestring, what, err))
            return wrap(s, err, at);
        if (s->n_reports == 16)
            return bad(s, err, at, "more than 16 reports");
        s->reports[s->n_reports++] = (struct torn_report_req){ops, e->valuestring};
    }
    return 0;
}

/* limits.NAME as a number in [lo, hi] (integer when integer). */
static int limit(struct torn_suite *s, const cJSON *v, const char *name, int integer, double lo,
                 double hi, double *out, struct torn_err *err)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, name);
    char at[64];

    if (!e)
        return 0;
    snprintf(at, sizeof at, "limits.%s", name);
    if (torn_parse_json_num(at, e, integer, lo, hi, err))
        return prefix(s, err);
    *out = e->valuedouble;
    return 1;
}

static int limits(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    static const char *const keys[] = {"duration_s", "workers", "rate", "max_ops",
                                       "max_rate", "timeout_ms",
                                       "until_fail", "history_max_mib", "soak_s",
                                       "stop_on_fail", NULL};
    const cJSON *sof = cJSON_GetObjectItemCaseSensitive(v, "stop_on_fail");
    double d;
    int rc;

    if (!cJSON_IsObject(v))
        return bad(s, err, "limits", "expected an object");
    if ((rc = known_keys(s, v, "limits", keys, err)) != 0)
        return rc;
    if ((rc = limit(s, v, "duration_s", 0, 0, TORN_PARAM_MAX_DURATION, &d, err)) < 0)
        return rc;
    s->duration_s = rc ? d : -1;
    if ((rc = limit(s, v, "workers", 1, 1, 256, &d, err)) < 0)
        return rc;
    s->workers = rc ? (long long)d : 0;
    if ((rc = limit(s, v, "rate", 0, 0.001, 1e7, &d, err)) < 0)
        return rc;
    s->rate = rc ? d : 0;
    if ((rc = limit(s, v, "max_ops", 1, 1, 1e12, &d, err)) < 0)
        return rc;
    s->max_ops = rc ? (long long)d : 0;
    if ((rc = limit(s, v, "max_rate", 0, 0.001, 1e7, &d, err)) < 0)
        return rc;
    s->max_rate = rc ? d : 0;
    if ((rc = limit(s, v, "timeout_ms", 1, 1, 3600000, &d, err)) < 0)
        return rc;
    s->timeout_ms = rc ? (int)d : 0;
    if ((rc = limit(s, v, "until_fail", 1, 1, 10000, &d, err)) < 0)
        return rc;
    s->until_fail = rc ? (int)d : 0;
    if ((rc = limit(s, v, "history_max_mib", 0, 0.01, 1048576, &d, err)) < 0)
        return rc;
    s->history_max = rc ? (uint64_t)(d * 1048576) : 0;
    if ((rc = limit(s, v, "soak_s", 0, 1, 30 * 86400.0, &d, err)) < 0)
        return rc;
    s->soak_s = rc ? d : 0;
    if (sof && !cJSON_IsBool(sof))
        return bad(s, err, "limits.stop_on_fail", "expected true or false");
    s->stop_on_fail = cJSON_IsTrue(sof);
    return 0;
}

static int seeds(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    const cJSON *e;
    char at[64];

    if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v) || cJSON_GetArraySize(v) > 1000)
        return bad(s, err, "seeds", "expected an array of 1 to 1000 seeds");
    if (!(s->seeds = calloc((size_t)cJSON_GetArraySize(v), sizeof *s->seeds)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(e, v)
    {
        snprintf(at, sizeof at, "seeds[%zu]", s->n_seeds);
        if (torn_parse_json_num(at, e, 1, 0, 9007199254740991.0, err))
            return prefix(s, err);
        s->seeds[s->n_seeds++] = (uint64_t)e->valuedouble;
    }
    return 0;
}

static int seed(struct torn_suite *s, const cJSON *v, struct torn_err *err)
{
    if (torn_parse_json_num("seed", v, 1, 0, 9007199254740991.0, err))
        return prefix(s, err);
    s->seed = (uint64_t)v->valuedouble;
    s->has_seed = 1;
    return 0;
}

/* Every field of the top-level object, in the file's order. */
static int fields(struct torn_suite *s, struct torn_err *err)
{
    static const char *const keys[] = {"name", "targets", "target_spec", "target_opts",
                                       "scenarios", "seed", "seeds", "budgets", "baseline",
                                       "reports",
                                       "limits", NULL};
    const cJSON *e;
    int rc;

    if (!cJSON_IsObject(s->doc))
        return bad(s, err, "(top)", "expected an object");
    if ((rc = known_keys(s, s->doc, "", keys, err)) != 0)
        return rc;
    cJSON_ArrayForEach(e, s->doc)
    {
        const char *k = e->string;
        if (strcmp(k, "name") == 0)
            rc = cJSON_IsString(e) ? (s->name = e->valuestring, 0)
                                   : bad(s, err, k, "expected a string");
        else if (strcmp(k, "targets") == 0)
            rc = targets(s, e, err);
        else if (strcmp(k, "target_spec") == 0)
            rc = cJSON_IsString(e) ? (s->target_spec = e->valuestring, json_file(s, e->valuestring, k, err))
                                   : bad(s, err, k, "expected a path");
        else if (strcmp(k, "target_opts") == 0)
            rc = target_opts(s, e, err);
        else if (strcmp(k, "scenarios") == 0)
            rc = scenarios(s, e, err);
        else if (strcmp(k, "seed") == 0)
            rc = seed(s, e, err);
        else if (strcmp(k, "seeds") == 0)
            rc = seeds(s, e, err);
        else if (strcmp(k, "budgets") == 0)
            rc = budgets(s, e, err);
        else if (strcmp(k, "baseline") == 0)
            rc = baseline(s, e, err);
        else if (strcmp(k, "reports") == 0)
            rc = reports(s, e, err);
        else
            rc = limits(s, e, err);
        if (rc)
            return rc;
    }
    return 0;
}

int torn_suite_load(const char *path, struct torn_suite **out, struct torn_err *err)
{
    struct torn_suite *s = calloc(1, sizeof *s);
    char *buf = NULL, what[320];
    size_t len;
    int rc;

    *out = NULL;
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    s->duration_s = -1;
    rc = torn_read_file(path, &buf, &len, err);
    if (rc) {
        rc = torn_err_set(err, TORN_E_CONFIG, "suite %s: %s", path,
                          rc == TORN_E_NOTFOUND ? "no such file" : err->msg);
    } else {
        snprintf(what, sizeof what, "suite %s", path);
        rc = torn_parse_json(what, buf, len, &s->doc, err);
    }
    free(buf);
    if (!rc)
        rc = fields(s, err);
    if (!rc && s->has_seed && s->n_seeds)
        rc = bad(s, err, "seeds", "give \"seed\" or \"seeds\", not both");
    if (rc) {
        torn_suite_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void torn_suite_free(struct torn_suite *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->specs && i < s->n_scenarios; i++)
        cJSON_Delete(s->specs[i]);
    free(s->specs);
    free(s->seeds);
    free(s->scenarios);
    free(s->targets);
    free(s->budgets);
    free(s->target_opts);
    cJSON_Delete(s->doc);
    free(s->path);
    free(s);
}

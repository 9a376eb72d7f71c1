/* torn: torn run's gate options (--suite, --budget, --baseline, --allow,
 * --dry-run) and how a suite file fills what the command line left unset
 * (see suite.h). */
#include "gate/suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"
#include "gate/gate.h"
#include "gate/observe.h"

static int push(const char ***arr, size_t *n, const char *v)
{
    const char **p = realloc(*arr, (*n + 1) * sizeof *p);

    if (!p) {
        fprintf(stderr, "torn run: out of memory\n");
        return -1;
    }
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

/* --soak DURATION: 90s, 10m, 24h (a bare number is seconds). */
static int soak_opt(struct torn_gate_cli *c, const char *arg)
{
    static const struct torn_unit units[] = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400},
                                             {"", 1}, {NULL, 0}};
    struct torn_err err;

    if (torn_parse_real_unit("--soak", arg, units, 1, 30 * 86400.0, &c->soak_s, &err) == 0)
        return 0;
    fprintf(stderr, "torn run: %s\n", err.msg);
    return -1;
}

int torn_gate_cli_opt(struct torn_gate_cli *c, int which, const char *arg)
{
    switch (which) {
    case 0: c->suite = arg; return 0;
    case 1: return push(&c->budgets, &c->n_budgets, arg);
    case 2: c->baseline = arg; return 0;
    case 3: return push(&c->allows, &c->n_allows, arg);
    case 4: c->dry_run = 1; return 0;
    case 5: return soak_opt(c, arg);
    default: c->stop_on_fail = 1; return 0;
    }
}

/* A copy of a suite's list (the runner's options own their arrays). */
static int copy_list(const char *const *from, size_t n, const char ***to, size_t *n_to)
{
    if (!n)
        return 0;
    if (!(*to = calloc(n, sizeof **to)))
        return -1;
    memcpy(*to, from, n * sizeof *from);
    *n_to = n;
    return 0;
}

/* The suite's reports whose reporter the command line did not ask for. */
static void add_reports(const struct torn_suite *s, struct torn_run_opts *o)
{
    size_t n_cli = o->n_reports;

    for (size_t i = 0; i < s->n_reports && o->n_reports < 16; i++) {
        size_t j;
        for (j = 0; j < n_cli && o->reports[j].ops != s->reports[i].ops; j++)
            ;
        if (j == n_cli)
            o->reports[o->n_reports++] = s->reports[i];
    }
}

/* Values the command line left unset, from the suite. */
static int fill_opts(const struct torn_suite *s, struct torn_run_opts *o)
{
    if (!o->n_targets && copy_list(s->targets, s->n_targets, &o->targets, &o->n_targets))
        return -1;
    if (!o->n_scenarios) {
        if (copy_list(s->scenarios, s->n_scenarios, &o->scenarios, &o->n_scenarios))
            return -1;
        o->scenario_specs = s->specs;
    }
    if (!o->target_spec)
        o->target_spec = s->target_spec;
    if (!o->n_target_opts) {
        o->target_opts = s->target_opts;
        o->n_target_opts = s->n_target_opts;
    }
    if (!o->seed_given && (s->has_seed || s->n_seeds)) {
        o->seed = s->n_seeds ? s->seeds[0] : s->seed;
        o->seed_given = 2; /* 2: from the suite, so its other seeds apply */
    }
    if (o->duration_s < 0)
        o->duration_s = s->duration_s;
    if (o->workers <= 0)
        o->workers = s->workers;
    if (o->rate <= 0)
        o->rate = s->rate;
    if (o->max_ops <= 0)
        o->max_ops = s->max_ops;
    if (o->max_rate <= 0)
        o->max_rate = s->max_rate;
    if (o->timeout_ms == TORN_DEFAULT_TIMEOUT_MS && s->timeout_ms)
        o->timeout_ms = s->timeout_ms;
    if (!o->until_fail)
        o->until_fail = s->until_fail;
    if (!o->history_max)
        o->history_max = s->history_max;
    add_reports(s, o);
    o->suite_path = s->path;
    return 0;
}

/* The suite's gate, then the command line's on top. */
static int build_gate(struct torn_gate_cli *c, struct torn_err *err)
{
    const struct torn_suite *s = c->loaded;
    const cJSON *a;
    char what[320];
    int rc = 0;

    for (size_t i = 0; s && !rc && i < s->n_budgets; i++) {
        snprintf(what, sizeof what, "suite %s: budgets[%zu]", s->path, i);
        rc = torn_gate_add_budget(c->gate, s->budgets[i], what, err);
    }
    for (size_t i = 0; !rc && i < c->n_budgets; i++)
        rc = torn_gate_add_budget(c->gate, c->budgets[i], "--budget", err);
    if (!rc && (c->baseline || (s && s->baseline)))
        rc = torn_gate_set_baseline(c->gate, c->baseline ? c->baseline : s->baseline, err);
    const cJSON *allow = s ? s->allow : NULL;
    cJSON_ArrayForEach(a, allow)
    {
        enum torn_metric m;
        if (rc || torn_metric_parse(a->string, strlen(a->string), &m))
            break;
        snprintf(what, sizeof what, "suite %s: baseline.allow.%s", s->path, a->string);
        rc = torn_allow_parse_value(m, a->valuestring, what, &c->gate->allow[m], err);
    }
    for (size_t i = 0; !rc && i < c->n_allows; i++)
        rc = torn_gate_allow(c->gate, c->allows[i], "--allow", err);
    if (!rc && c->n_allows && !c->baseline && !(s && s->baseline))
        rc = torn_err_set(err, TORN_E_USAGE, "--allow: needs a baseline (--baseline FILE)");
    return rc;
}

/* The target spec's "metrics" (observe.h) into *out (NULL when none).  A
 * spec that cannot be read is left to the runner, which says so. */
static int load_observe(const char *spec_path, struct torn_observe **out, struct torn_err *err)
{
    char *buf;
    size_t len;
    cJSON *spec = NULL;
    struct torn_err ignored;
    int rc = 0;

    *out = NULL;
    if (!spec_path || torn_read_file(spec_path, &buf, &len, &ignored) != 0)
        return 0;
    if (torn_parse_json(spec_path, buf, len, &spec, &ignored) == 0)
        rc = torn_observe_new(spec, spec_path, out, err);
    cJSON_Delete(spec);
    free(buf);
    return rc;
}

int torn_gate_cli_apply(struct torn_gate_cli *c, struct torn_run_opts *o)
{
    struct torn_observe *obs = NULL;
    struct torn_err err;
    int rc = 0;

    torn_err_clear(&err);
    if (c->suite)
        rc = torn_suite_load(c->suite, &c->loaded, &err);
    if (!rc && c->loaded && fill_opts(c->loaded, o))
        rc = torn_err_set(&err, TORN_E_NOMEM, "out of memory");
    if (!rc)
        rc = load_observe(o->target_spec, &obs, &err);
    if (!c->soak_s && c->loaded)
        c->soak_s = c->loaded->soak_s;
    c->stop_on_fail |= c->loaded && c->loaded->stop_on_fail;
    if (!rc && c->stop_on_fail && !c->soak_s)
        rc = torn_err_set(&err, TORN_E_USAGE, "--stop-on-fail: only with --soak DURATION");
    if (!rc && (c->loaded || c->n_budgets || c->baseline || c->n_allows || obs || c->soak_s)) {
        if (!(c->gate = torn_gate_new()))
            rc = torn_err_set(&err, TORN_E_NOMEM, "out of memory");
        else if (!(rc = build_gate(c, &err)))
            o->gate = c->gate;
    }
    if (c->gate && c->loaded && c->loaded->n_seeds && o->seed_given == 2) {
        c->gate->seeds = c->loaded->seeds; /* the suite outlives the run */
        c->gate->n_seeds = c->loaded->n_seeds;
        c->gate->seed_slot = &o->seed;
    }
    if (c->gate) {
        c->gate->observe = obs;
        c->gate->soak.duration_s = c->soak_s;
        c->gate->soak.stop_on_fail = c->stop_on_fail;
    }
    else
        torn_observe_free(obs);
    if (!rc)
        return 0;
    fprintf(stderr, "torn run: %s\n", err.msg);
    return 2;
}

void torn_gate_cli_free(struct torn_gate_cli *c)
{
    free(c->budgets);
    free(c->allows);
    torn_gate_free(c->gate);
    torn_suite_free(c->loaded);
    memset(c, 0, sizeof *c);
}

/* torn: torn run --dry-run: the plan, printed, with nothing touched (see
 * suite.h).  It reads only what torn run reads before it starts anything
 * (scenario specs, the target spec); no directory is made, no target set
 * up, no service started, no report written. */
#include "gate/suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/text.h"
#include "core/parse.h"
#include "core/report.h"
#include "core/scenario.h"
#include "core/util.h"
#include "gate/gate.h"

/* The soft overrides the runner derives from --workers/--duration/--rate
 * (torn_params_merge's "?name" form), after the --set ones. */
static size_t soft_sets(const struct torn_run_opts *o, struct torn_kv *kv, char buf[3][64])
{
    size_t n = 0;

    if (o->workers > 0) {
        snprintf(buf[0], 64, "%lld", o->workers);
        kv[n++] = (struct torn_kv){"?workers", buf[0]};
    }
    if (o->duration_s >= 0) {
        snprintf(buf[1], 64, "%g", o->duration_s);
        kv[n++] = (struct torn_kv){"?duration_s", buf[1]};
    }
    if (o->rate > 0) {
        snprintf(buf[2], 64, "%.17g", o->rate);
        kv[n++] = (struct torn_kv){"?rate", buf[2]};
    }
    return n;
}

/* One scenario: its effective parameters; adds its time bound to *bound_s
 * (or counts it in *unbounded).  0, or 2 after printing the error. */
static int plan_scenario(const struct torn_run_opts *o, size_t i, FILE *f, double *bound_s,
                         int *unbounded)
{
    const char *arg = o->scenarios[i], *name = arg;
    const cJSON *ispec = o->scenario_specs ? o->scenario_specs[i] : NULL;
    cJSON *spec = NULL, *params = NULL;
    struct torn_kv *kv = calloc(o->n_sets + 3, sizeof *kv);
    char buf[3][64], *text = NULL;
    struct torn_err err;
    size_t n = 0, len = strlen(arg);
    const struct torn_scenario_ops *ops;
    int rc = 0;

    torn_err_clear(&err);
    if (ispec)
        name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ispec, "scenario"));
    else if ((strchr(arg, '/') || (len > 5 && strcmp(arg + len - 5, ".json") == 0)) &&
             (rc = torn_spec_load(arg, &spec, &name, &err)) != 0)
        goto out;
    if (!kv || !(ops = torn_scenario_find(name ? name : ""))) {
        rc = torn_err_set(&err, TORN_E_USAGE, "unknown scenario '%s' (see `torn list`)", arg);
        goto out;
    }
    for (; n < o->n_sets; n++)
        kv[n] = o->sets[n];
    n += soft_sets(o, kv + n, buf);
    rc = torn_params_merge(ops, cJSON_GetObjectItemCaseSensitive(ispec ? ispec : spec, "params"),
                           arg, kv, n, &params, &err);
    if (rc)
        goto out;
    text = cJSON_PrintUnformatted(params);
    fprintf(f, "  %s", arg);
    if (strcmp(arg, ops->name) != 0)
        fprintf(f, " (%s)", ops->name);
    fputs("\n    params ", f);
    torn_fput_safe(f, text ? text : "?");
    fputc('\n', f);
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(params, "duration_s");
        if (cJSON_IsNumber(d) && d->valuedouble > 0)
            *bound_s += d->valuedouble;
        else
            (*unbounded)++;
    }
out:
    if (rc)
        fprintf(stderr, "torn run: %s\n", err.msg);
    free(text);
    free(kv);
    cJSON_Delete(params);
    cJSON_Delete(spec);
    return rc ? 2 : 0;
}

/* A managed service's command line, from the target spec (nothing run). */
static void plan_service(const char *spec_path, FILE *f)
{
    char *buf;
    size_t len;
    cJSON *spec = NULL;
    const cJSON *a, *cmd;
    struct torn_err err;

    if (!spec_path || torn_read_file(spec_path, &buf, &len, &err))
        return;
    if (torn_parse_json(spec_path, buf, len, &spec, &err) == 0) {
        cmd = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "service"),
                                               "command");
        if (cJSON_IsArray(cmd)) {
            fputs("    would start:", f);
            cJSON_ArrayForEach(a, cmd)
            {
                fputc(' ', f);
                torn_fput_safe(f, cJSON_IsString(a) ? a->valuestring : "?");
            }
            fputc('\n', f);
        }
    }
    cJSON_Delete(spec);
    free(buf);
}

static void plan_gate(const struct torn_run_opts *o, FILE *f)
{
    const struct torn_gate *g = o->gate;

    for (size_t i = 0; g && i < g->n_budgets; i++)
        fprintf(f, "%s  %s\n", i ? "" : "budgets:\n", g->budgets[i].text);
    if (g && g->baseline_path) {
        fputs("baseline: ", f);
        torn_fput_safe(f, g->baseline_path);
        fputs(" (regressions beyond:", f);
        for (int m = 0; m < TORN_M_COUNT; m++)
            if (g->allow[m].on)
                fprintf(f, " %s %g%%/%g%s", torn_metric_name((enum torn_metric)m),
                        g->allow[m].rel * 100,
                        torn_metric_in_unit((enum torn_metric)m, g->allow[m].abs),
                        torn_metric_unit((enum torn_metric)m));
        fputs(")\n", f);
    }
    if (g && g->observe)
        fputs("observability: the target spec's metrics endpoint is scraped before and after "
              "each scenario (read only)\n", f);
    if (g && g->soak.duration_s > 0)
        fprintf(f, "soak: rounds of the whole plan for %.0f s%s\n", g->soak.duration_s,
                g->soak.stop_on_fail ? ", stopping at the first FAIL" : "");
    for (size_t i = 0; i < o->n_reports; i++) {
        fprintf(f, "%s  %s ", i ? "" : "reports (written at the end and after each scenario):\n",
                o->reports[i].ops->option);
        torn_fput_safe(f, o->reports[i].path);
        fputc('\n', f);
    }
}

int torn_gate_dry_run(const struct torn_run_opts *o, FILE *f)
{
    static const char *const dflt[] = {"file"};
    const char *const *tg = o->n_targets ? o->targets : dflt;
    size_t n_tg = o->n_targets ? o->n_targets : 1;
    double bound = 0;
    int unbounded = 0;

    fputs("torn run --dry-run: the plan; nothing was started, written or contacted\n", f);
    if (o->suite_path) {
        fputs("suite: ", f);
        torn_fput_safe(f, o->suite_path);
        fputc('\n', f);
    }
    fprintf(f, "seed: %llu\ntargets (data in a fresh run directory; Redis/Postgres keys under a "
               "fresh torn_<random> namespace):\n", (unsigned long long)o->seed);
    for (size_t i = 0; i < n_tg; i++) {
        char *red = torn_redact(tg[i]);
        fputs("  ", f);
        torn_fput_safe(f, red ? red : "***");
        fputc('\n', f);
        free(red);
        plan_service(o->target_spec, f);
    }
    if (!o->n_scenarios)
        fputs("scenarios: the standard set (`torn list`)\n", f);
    else
        fputs("scenarios:\n", f);
    for (size_t i = 0; i < o->n_scenarios; i++)
        if (plan_scenario(o, i, f, &bound, &unbounded))
            return 2;
    fprintf(f, "loop: %s\n", o->rate > 0 ? "open, at the rate given" : "closed");
    fprintf(f, "operations: %s\n", "as each scenario's params say (workers, jobs, rounds)");
    if (o->max_ops > 0)
        fprintf(f, "operation cap: torn stops after %lld target operations in all (--max-ops)\n",
                o->max_ops);
    else
        fputs("operation cap: none (--max-ops N sets one)\n", f);
    if (o->max_rate > 0)
        fprintf(f, "rate cap: at most %g target operations/s run-wide (--max-rate)\n", o->max_rate);
    else
        fputs("rate cap: none (--max-rate OPS sets one)\n", f);
    plan_gate(o, f);
    if (o->n_scenarios)
        fprintf(f, "time: at most %.0f s of scenario time x %zu target(s)%s%s\n", bound, n_tg,
                o->until_fail > 1 ? " x --until-fail attempts" : "",
                unbounded ? ", plus scenarios bounded by their work, not by time" : "");
    return 0;
}

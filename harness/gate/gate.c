/* torn: the release gate (see gate.h). */
#include "gate/gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/result.h"
#include "core/util.h"
#include "gate/observe.h"

struct torn_gate *torn_gate_new(void)
{
    struct torn_gate *g = calloc(1, sizeof *g);

    if (g)
        torn_allow_defaults(g->allow);
    return g;
}

void torn_gate_free(struct torn_gate *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_budgets; i++)
        torn_budget_clear(&g->budgets[i]);
    free(g->budgets);
    free(g->baseline_path);
    cJSON_Delete(g->baseline);
    torn_observe_free(g->observe);
    torn_soak_clear(&g->soak);
    free(g);
}

int torn_gate_add_budget(struct torn_gate *g, const char *text, const char *what,
                         struct torn_err *err)
{
    struct torn_budget b, *p;
    int rc = torn_budget_parse(text, what, &b, err);

    if (rc)
        return rc;
    for (size_t i = 0; i < g->n_budgets; i++)
        if (torn_budget_same(&g->budgets[i], &b)) {
            torn_budget_clear(&g->budgets[i]);
            g->budgets[i] = b;
            return 0;
        }
    p = realloc(g->budgets, (g->n_budgets + 1) * sizeof *p);
    if (!p) {
        torn_budget_clear(&b);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    g->budgets = p;
    g->budgets[g->n_budgets++] = b;
    return 0;
}

int torn_gate_set_baseline(struct torn_gate *g, const char *path, struct torn_err *err)
{
    cJSON *doc;
    int rc = torn_baseline_load(path, &doc, err);

    if (rc)
        return rc;
    cJSON_Delete(g->baseline);
    free(g->baseline_path);
    g->baseline = doc;
    g->baseline_path = strdup(path);
    return g->baseline_path ? 0 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

int torn_gate_allow(struct torn_gate *g, const char *text, const char *what,
                    struct torn_err *err)
{
    return torn_allow_parse(text, what, g->allow, err);
}

void torn_gate_start(struct torn_gate *g, struct torn_target *t, struct torn_result *res)
{
    (void)res;
    if (g && g->observe)
        torn_observe_start(g->observe, t);
}

/* One baseline comparison row into the result's checks. */
struct cmp_arg {
    const struct torn_gate *g;
    struct torn_result *res;
    cJSON *checks;
};

static int on_cmp(void *arg, const struct torn_cmp *c)
{
    struct cmp_arg *a = arg;
    char text[400], crit[48];

    torn_cmp_describe(c, &a->g->allow[c->metric], text, sizeof text);
    if (torn_gate_check(a->checks, "regression", torn_metric_name(c->metric), a->g->baseline_path,
                        (int)c->op, c->metric, NULL, c->new_v, c->old_v + (c->metric ==
                        TORN_M_THROUGHPUT ? -c->allowed : c->allowed),
                        c->allowed - (c->metric == TORN_M_THROUGHPUT ? c->old_v - c->new_v
                                                                    : c->new_v - c->old_v),
                        !c->regressed, text))
        return -1;
    snprintf(crit, sizeof crit, "regression:%s", torn_metric_name(c->metric));
    if (c->regressed)
        torn_result_violation(a->res, crit, NULL, a->res->duration_s, "%s against %s", text,
                              a->g->baseline_path);
    return 0;
}

static void judge_baseline(const struct torn_gate *g, struct torn_result *res, cJSON *checks)
{
    struct torn_figs now, old;
    struct torn_err err;
    const cJSON *o;
    struct cmp_arg a = {g, res, checks};

    torn_figs_from_result(res, &now);
    o = torn_baseline_match(g->baseline, &now);
    if (!o || torn_figs_from_json(o, g->baseline_path, &old, &err) != 0)
        return; /* nothing to compare with: a new scenario */
    torn_baseline_compare(&old, &now, g->allow, on_cmp, &a);
}

void torn_gate_judge(struct torn_gate *g, struct torn_target *t, struct torn_result *res)
{
    cJSON *checks;

    if (!g || res->verdict == TORN_ERROR || res->verdict == TORN_SKIP || res->interrupted)
        return;
    if (!(checks = torn_gate_checks(res)))
        return;
    for (size_t i = 0; i < g->n_budgets; i++)
        torn_budget_judge(&g->budgets[i], res, checks);
    if (g->baseline)
        judge_baseline(g, res, checks);
    if (g->observe)
        torn_observe_judge(g->observe, t, res, checks);
}

size_t torn_gate_finish(const struct torn_gate *g, FILE *f)
{
    size_t n = 0;

    for (size_t i = 0; g && i < g->n_budgets; i++) {
        if (g->budgets[i].n_judged)
            continue;
        fprintf(f, "torn: budget '%s' judged no result: no scenario%s%s did that operation "
                   "(exit 2)\n", g->budgets[i].text, g->budgets[i].scenario ? " named " : "",
                g->budgets[i].scenario ? g->budgets[i].scenario : "");
        n++;
    }
    return n;
}

void torn_gate_replay_args(const struct torn_gate *g, FILE *f)
{
    for (size_t i = 0; g && i < g->n_budgets; i++) {
        fputs(" --budget ", f);
        torn_shell_quote(f, g->budgets[i].text);
    }
    if (!g || !g->baseline_path)
        return;
    struct torn_allow dflt[TORN_M_COUNT];

    torn_allow_defaults(dflt);
    fputs(" --baseline ", f);
    torn_shell_quote(f, g->baseline_path);
    for (int m = 0; m < TORN_M_COUNT; m++) {
        char a[96];
        if (!g->allow[m].on && !dflt[m].on)
            continue;
        if (!g->allow[m].on) {
            snprintf(a, sizeof a, "%s=off", torn_metric_name((enum torn_metric)m));
        } else {
            double abs = torn_metric_in_unit((enum torn_metric)m, g->allow[m].abs);
            snprintf(a, sizeof a, "%s=%.6g%% or %.6g%s", torn_metric_name((enum torn_metric)m),
                     g->allow[m].rel * 100, abs,
                     torn_metric_is_latency((enum torn_metric)m) ? "ms"
                     : torn_metric_is_rate((enum torn_metric)m) ? "%" : "/s");
            if (torn_metric_is_rate((enum torn_metric)m))
                snprintf(a, sizeof a, "%s=%.6g%%", torn_metric_name((enum torn_metric)m), abs);
        }
        fputs(" --allow ", f);
        torn_shell_quote(f, a);
    }
}

void torn_gate_run_begin(struct torn_gate *g)
{
    if (g)
        torn_soak_begin(&g->soak, stderr);
}

int torn_gate_run_again(struct torn_gate *g, struct torn_report *rep)
{
    int again;

    if (!g)
        return 0;
    again = torn_soak_round(&g->soak, rep, stderr);
    if (!g->n_seeds || !g->seed_slot)
        return again;
    g->seed_round++;
    if (g->soak.duration_s <= 0) /* without a soak: each seed once */
        again = g->seed_round < g->n_seeds && !torn_stop_requested();
    if (again) {
        *g->seed_slot = g->seeds[g->seed_round % g->n_seeds];
        fprintf(stderr, "torn: next seed %llu (%zu of %zu)\n", (unsigned long long)*g->seed_slot,
                g->seed_round % g->n_seeds + 1, g->n_seeds);
    }
    return again;
}

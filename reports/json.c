/* torn: the JSON reporter: everything, machine-readable. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/hdr_json.h"
#include "core/report.h"
#include "core/result.h"

/* min, mean, p50..p999, max of h into o. */
static void quantiles(cJSON *o, const struct torn_hdr *h)
{
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}};

    cJSON_AddNumberToObject(o, "min_ns", h->n ? (double)h->min : 0);
    cJSON_AddNumberToObject(o, "mean_ns", torn_hdr_mean(h));
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        char key[16];
        snprintf(key, sizeof key, "%s_ns", qs[i].name);
        cJSON_AddNumberToObject(o, key, (double)torn_hdr_quantile(h, qs[i].q));
    }
    cJSON_AddNumberToObject(o, "max_ns", (double)h->max);
    cJSON_AddItemToObject(o, "hdr", torn_hdr_to_json(h)); /* exact, for torn merge */
}

/* loop: "closed-loop", or "open-loop-uncorrected" for an op that also has
 * open-loop figures (the same measurement from actual start). */
static cJSON *latency(const struct torn_opstats *s, const char *loop)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "loop", loop);
    cJSON_AddNumberToObject(o, "ok", (double)s->n_ok);
    cJSON_AddNumberToObject(o, "fail", (double)s->n_fail);
    cJSON_AddNumberToObject(o, "info", (double)s->n_info);
    quantiles(o, &s->hdr);
    return o;
}

/* "open_loop": {"rate_ops_per_s", "latency": {op: {"late", "uncorrected",
 * "corrected"}}}: the same operations from actual start and from due time. */
static void open_loop(cJSON *o, const struct torn_result *r)
{
    cJSON *ol, *ops;

    if (!r->openloop)
        return;
    ol = cJSON_AddObjectToObject(o, "open_loop");
    cJSON_AddNumberToObject(ol, "rate_ops_per_s", r->openloop->rate);
    ops = cJSON_AddObjectToObject(ol, "latency");
    for (int i = 0; i < TORN_OP_COUNT; i++) {
        cJSON *op;
        if (!torn_result_openloop_has(r, (enum torn_op)i))
            continue;
        op = cJSON_AddObjectToObject(ops, torn_op_name((enum torn_op)i));
        cJSON_AddNumberToObject(op, "n", (double)r->openloop->corrected[i].n);
        cJSON_AddNumberToObject(op, "late", (double)r->openloop->n_late[i]);
        quantiles(cJSON_AddObjectToObject(op, "uncorrected"), &r->openloop->uncorrected[i]);
        quantiles(cJSON_AddObjectToObject(op, "corrected"), &r->openloop->corrected[i]);
    }
}

static cJSON *result_json(const struct torn_result *r)
{
    cJSON *o = cJSON_CreateObject(), *vs, *ops;

    cJSON_AddStringToObject(o, "scenario", r->scenario);
    if (r->scenario_spec)
        cJSON_AddStringToObject(o, "scenario_spec", r->scenario_spec);
    cJSON_AddStringToObject(o, "target", r->target);
    cJSON_AddStringToObject(o, "driver", r->driver);
    cJSON_AddStringToObject(o, "strategy", r->strategy);
    cJSON_AddStringToObject(o, "verdict", torn_verdict_name(r->verdict));
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    if (r->error)
        cJSON_AddStringToObject(o, "error", r->error);
    cJSON_AddBoolToObject(o, "interrupted", r->interrupted);
    if (r->stopped_at_violation)
        cJSON_AddBoolToObject(o, "stopped_at_violation", 1);
    cJSON_AddNumberToObject(o, "entry", (double)r->entry);
    cJSON_AddNumberToObject(o, "started_s", r->started_s);
    cJSON_AddNumberToObject(o, "duration_s", r->duration_s);
    cJSON_AddNumberToObject(o, "ops_per_s", torn_result_ops_per_s(r));
    if (r->params)
        cJSON_AddItemToObject(o, "params", cJSON_Duplicate(r->params, 1));
    if (r->metrics)
        cJSON_AddItemToObject(o, "metrics", cJSON_Duplicate(r->metrics, 1));
    if (r->gate)
        cJSON_AddItemToObject(o, "gate", cJSON_Duplicate(r->gate, 1));
    if (r->work)
        cJSON_AddItemToObject(o, "work", cJSON_Duplicate(r->work, 1));
    if (r->work_note)
        cJSON_AddStringToObject(o, "work_note", r->work_note);
    cJSON_AddNumberToObject(o, "violations_total", (double)r->n_violations_total);
    vs = cJSON_AddArrayToObject(o, "violations");
    for (size_t i = 0; i < r->n_violations; i++) {
        const struct torn_violation *v = &r->violations[i];
        cJSON *vj = cJSON_CreateObject();
        cJSON_AddStringToObject(vj, "criterion", v->criterion ? v->criterion : "");
        cJSON_AddStringToObject(vj, "kind", torn_criterion_kind(v->criterion));
        if (v->key)
            cJSON_AddStringToObject(vj, "key", v->key);
        cJSON_AddNumberToObject(vj, "t_s", v->t_s);
        if (v->process >= 0)
            cJSON_AddNumberToObject(vj, "process", v->process);
        cJSON_AddStringToObject(vj, "evidence", v->evidence ? v->evidence : "");
        cJSON_AddItemToArray(vs, vj);
    }
    cJSON_AddStringToObject(o, "latency_loop", r->openloop ? "open-loop" : "closed-loop");
    ops = cJSON_AddObjectToObject(o, "latency");
    for (int i = 0; i < TORN_OP_COUNT; i++) {
        const struct torn_opstats *s = &r->ops[i];
        if (s->n_ok || s->n_fail || s->n_info)
            cJSON_AddItemToObject(ops, torn_op_name(i),
                                  latency(s, torn_result_openloop_has(r, (enum torn_op)i)
                                                 ? "open-loop-uncorrected"
                                                 : "closed-loop"));
    }
    open_loop(o, r);
    if (r->replay) {
        cJSON_AddStringToObject(o, "replay", r->replay);
        cJSON_AddBoolToObject(o, "replay_exact", r->replay_exact);
    }
    if (r->repro_runs) {
        cJSON *rp = cJSON_AddObjectToObject(o, "reproduced");
        cJSON_AddNumberToObject(rp, "failed", r->repro_fails);
        cJSON_AddNumberToObject(rp, "runs", r->repro_runs);
    }
    if (r->attempts_max) {
        cJSON_AddNumberToObject(o, "attempt", r->attempt);
        cJSON_AddNumberToObject(o, "attempts_max", r->attempts_max);
    }
    return o;
}

static int json_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    cJSON *root = cJSON_CreateObject(), *results;
    size_t pass, fail, error, skip;
    char *text;

    if (!root)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    torn_report_counts(rep, &pass, &fail, &error, &skip);
    cJSON_AddStringToObject(root, "tool", "torn");
    cJSON_AddStringToObject(root, "version", rep->tool_version);
    cJSON_AddStringToObject(root, "started_at", rep->started_at);
    cJSON_AddNumberToObject(root, "duration_s", rep->duration_s);
    cJSON_AddNumberToObject(root, "seed", (double)rep->seed);
    cJSON_AddStringToObject(root, "command", rep->command ? rep->command : "");
    if (rep->run_dir)
        cJSON_AddStringToObject(root, "run_dir", rep->run_dir);
    if (rep->history_path)
        cJSON_AddStringToObject(root, "history", rep->history_path);
    cJSON_AddNumberToObject(root, "history_cap_bytes", (double)rep->history_cap);
    cJSON_AddNumberToObject(root, "history_events_dropped", (double)rep->history_dropped);
    cJSON_AddBoolToObject(root, "interrupted", rep->interrupted);
    if (rep->interrupted)
        cJSON_AddStringToObject(root, "interruption", torn_report_interruption(rep));
    if (rep->report_error)
        cJSON_AddStringToObject(root, "report_error", rep->report_error);
    cJSON_AddNumberToObject(root, "exit_code", torn_report_exit_code(rep));
    if (rep->shard_index) {
        cJSON *sh = cJSON_AddObjectToObject(root, "shard");
        cJSON_AddNumberToObject(sh, "index", rep->shard_index);
        cJSON_AddNumberToObject(sh, "count", rep->shard_count);
        cJSON_AddNumberToObject(sh, "entries", (double)rep->shard_entries);
        cJSON_AddNumberToObject(sh, "entries_total", (double)rep->shard_entries_total);
    }
    cJSON *sum = cJSON_AddObjectToObject(root, "summary");
    cJSON_AddNumberToObject(sum, "pass", (double)pass);
    cJSON_AddNumberToObject(sum, "fail", (double)fail);
    cJSON_AddNumberToObject(sum, "error", (double)error);
    cJSON_AddNumberToObject(sum, "skip", (double)skip);
    results = cJSON_AddArrayToObject(root, "results");
    for (size_t i = 0; i < rep->n_results; i++)
        cJSON_AddItemToArray(results, result_json(rep->results[i]));
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return 0;
}

const struct torn_reporter_ops torn_reporter_json = {
    TORN_REPORTER_OPS_V1, "json", "--json", "full results as JSON", json_write,
};

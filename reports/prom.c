/* torn: the Prometheus reporter (`--prom FILE`): text exposition format
 * 0.0.4, for a node-exporter textfile collector or a Pushgateway.
 *
 *   torn_scenario_runs_total{scenario,target,driver,strategy,outcome}
 *   torn_violations_total{scenario,target,driver,strategy,criterion}
 *   torn_operations_total{scenario,target,driver,strategy,op,outcome}
 *   torn_op_latency_seconds_bucket/_sum/_count{...,op,le}   (closed loop)
 *   torn_op_open_loop_latency_seconds_...{...,op,correction,le}  (--rate only)
 *   torn_scenario_duration_seconds, torn_ops_per_second     (gauges)
 *   torn_run_info{version,seed} 1, torn_run_interrupted
 * Histogram buckets are a fixed 1-2.5-5 ladder from 1 us to 100 s, each
 * count summed from the torn_hdr buckets that end at or below the bound (so
 * within the histogram's 1/32 resolution).
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/hdr.h"
#include "core/report.h"
#include "core/result.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *name, const char *v, int comma)
{
    fprintf(f, "%s%s=\"", comma ? "," : "", name);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc('\\', f), fputc(*p, f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void result_labels(FILE *f, const struct torn_result *r)
{
    label(f, "scenario", r->scenario, 0);
    label(f, "target", r->target, 1);
    label(f, "driver", r->driver, 1);
    label(f, "strategy", r->strategy, 1);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const double ladder[] = {
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
    1e-2, 2.5e-2, 5e-2, 0.1,  0.25,   0.5,  1,    2.5,    5,    10,   25,     50, 100,
};

/* "metric_suffix{scenario=..,op=..[,correction=..]" (braces left open). */
static void series(FILE *f, const char *metric, const char *suffix, const struct torn_result *r,
                   enum torn_op op, const char *correction)
{
    fprintf(f, "%s_%s{", metric, suffix);
    result_labels(f, r);
    label(f, "op", torn_op_name(op), 1);
    if (correction)
        label(f, "correction", correction, 1);
}

/* One histogram series of h: cumulative _bucket on the ladder, _sum, _count. */
static void histogram(FILE *f, const char *metric, const struct torn_result *r, enum torn_op op,
                      const char *correction, const struct torn_hdr *h)
{
    uint64_t cum = 0;
    unsigned b = 0;

    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++) {
        uint64_t bound_ns = (uint64_t)(ladder[i] * 1e9 + 0.5);
        for (; b < TORN_HDR_BUCKETS && torn_hdr_bucket_hi(b) <= bound_ns; b++)
            cum += h->counts[b];
        series(f, metric, "bucket", r, op, correction);
        fprintf(f, ",le=\"%g\"} %llu\n", ladder[i], (unsigned long long)cum);
    }
    series(f, metric, "bucket", r, op, correction);
    fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->n);
    series(f, metric, "sum", r, op, correction);
    fprintf(f, "} %.9f\n", (double)h->sum / 1e9);
    series(f, metric, "count", r, op, correction);
    fprintf(f, "} %llu\n", (unsigned long long)h->n);
}

static void runs(FILE *f, const struct torn_report *rep)
{
    header(f, "torn_scenario_runs_total", "counter",
           "Scenario runs by outcome (pass, fail, error, skip).");
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        for (int v = TORN_PASS; v <= TORN_SKIP; v++) {
            char name[16];
            snprintf(name, sizeof name, "%s", torn_verdict_name((enum torn_verdict)v));
            for (char *p = name; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            fputs("torn_scenario_runs_total{", f);
            result_labels(f, r);
            label(f, "outcome", name, 1);
            fprintf(f, "} %d\n", r->verdict == (enum torn_verdict)v);
        }
    }
}

/* Distinct criteria of r's kept violations, each counted; the rest of
 * n_violations_total (not kept) goes to criterion "other". */
static void violations(FILE *f, const struct torn_report *rep)
{
    header(f, "torn_violations_total", "counter",
           "Acceptance-criterion violations found, by criterion.");
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        size_t counted = 0;
        for (size_t k = 0; k < r->n_violations; k++) {
            const char *c = r->violations[k].criterion ? r->violations[k].criterion : "unknown";
            size_t n = 0, seen = 0;
            for (size_t j = 0; j < k && !seen; j++)
                seen = r->violations[j].criterion && !strcmp(r->violations[j].criterion, c);
            if (seen)
                continue;
            for (size_t j = k; j < r->n_violations; j++)
                n += r->violations[j].criterion && !strcmp(r->violations[j].criterion, c);
            counted += n;
            fputs("torn_violations_total{", f);
            result_labels(f, r);
            label(f, "criterion", c, 1);
            fprintf(f, "} %zu\n", n);
        }
        if (r->n_violations_total > counted || r->n_violations_total == 0) {
            fputs("torn_violations_total{", f);
            result_labels(f, r);
            label(f, "criterion", r->n_violations_total ? "other" : "none", 1);
            fprintf(f, "} %zu\n", r->n_violations_total - counted);
        }
    }
}

/* --rate runs: the same operations from actual start and from due time. */
static void open_loop(FILE *f, const struct torn_report *rep)
{
    int any = 0;

    for (size_t i = 0; i < rep->n_results; i++)
        any |= rep->results[i]->openloop != NULL;
    if (!any)
        return;
    header(f, "torn_op_open_loop_latency_seconds", "histogram",
           "Open-loop (--rate) latency: correction=\"uncorrected\" from actual start, "
           "\"corrected\" from when the operation was due (coordinated omission).");
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            if (!torn_result_openloop_has(r, (enum torn_op)op))
                continue;
            histogram(f, "torn_op_open_loop_latency_seconds", r, (enum torn_op)op, "uncorrected",
                      &r->openloop->uncorrected[op]);
            histogram(f, "torn_op_open_loop_latency_seconds", r, (enum torn_op)op, "corrected",
                      &r->openloop->corrected[op]);
        }
    }
}

static void operations(FILE *f, const struct torn_report *rep)
{
    header(f, "torn_operations_total", "counter",
           "Operations by kind and Jepsen outcome (ok, fail = did not happen, info = unknown).");
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            const struct torn_opstats *s = &r->ops[op];
            const uint64_t n[3] = {s->n_ok, s->n_fail, s->n_info};
            static const char *const names[3] = {"ok", "fail", "info"};
            if (!s->n_ok && !s->n_fail && !s->n_info)
                continue;
            for (int k = 0; k < 3; k++) {
                fputs("torn_operations_total{", f);
                result_labels(f, r);
                label(f, "op", torn_op_name((enum torn_op)op), 1);
                label(f, "outcome", names[k], 1);
                fprintf(f, "} %llu\n", (unsigned long long)n[k]);
            }
        }
    }
    header(f, "torn_op_latency_seconds", "histogram",
           "Latency of completed operations, closed-loop (from actual start).");
    for (size_t i = 0; i < rep->n_results; i++)
        for (int op = 0; op < TORN_OP_COUNT; op++)
            if (rep->results[i]->ops[op].hdr.n)
                histogram(f, "torn_op_latency_seconds", rep->results[i], (enum torn_op)op, NULL,
                          &rep->results[i]->ops[op].hdr);
    open_loop(f, rep);
}

static void gauges(FILE *f, const struct torn_report *rep)
{
    header(f, "torn_scenario_duration_seconds", "gauge", "Wall time of each scenario.");
    for (size_t i = 0; i < rep->n_results; i++) {
        fputs("torn_scenario_duration_seconds{", f);
        result_labels(f, rep->results[i]);
        fprintf(f, "} %.6f\n", rep->results[i]->duration_s);
    }
    header(f, "torn_ops_per_second", "gauge", "Operations per second over each scenario.");
    for (size_t i = 0; i < rep->n_results; i++) {
        fputs("torn_ops_per_second{", f);
        result_labels(f, rep->results[i]);
        fprintf(f, "} %.3f\n", torn_result_ops_per_s(rep->results[i]));
    }
    header(f, "torn_run_info", "gauge", "The torn version and seed of this run.");
    fputs("torn_run_info{", f);
    label(f, "version", rep->tool_version, 0);
    fprintf(f, ",seed=\"%llu\"} 1\n", (unsigned long long)rep->seed);
    header(f, "torn_run_interrupted", "gauge", "1 if SIGINT/SIGTERM stopped the run.");
    fprintf(f, "torn_run_interrupted %d\n", rep->interrupted ? 1 : 0);
    header(f, "torn_run_exit_code", "gauge",
           "0 pass, 1 violation, 2 error (also: interrupted, a report not written).");
    fprintf(f, "torn_run_exit_code %d\n", torn_report_exit_code(rep));
    header(f, "torn_history_events_dropped", "gauge",
           "Events left out of the history by its size cap (--history-max).");
    fprintf(f, "torn_history_events_dropped %llu\n", (unsigned long long)rep->history_dropped);
}

static int prom_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    runs(f, rep);
    violations(f, rep);
    operations(f, rep);
    gauges(f, rep);
    if (ferror(f))
        return torn_err_set(err, TORN_E_IO, "prometheus report: write failed");
    return TORN_OK;
}

const struct torn_reporter_ops torn_reporter_prom = {
    TORN_REPORTER_OPS_V1, "prom", "--prom",
    "Prometheus text exposition (textfile collector / Pushgateway)", prom_write};

/* torn: the figures the release gate judges, one name for each everywhere.
 *
 * Budgets (budget.h), baselines (baseline.h) and `torn diff` speak of the
 * same metrics of one operation kind of one result:
 *   p50 p90 p95 p99 p999 (also written p99.9) max mean   latency, ns
 *   fail_rate    definite failures / operations          (Jepsen :fail)
 *   info_rate    indefinite outcomes / operations        (Jepsen :info)
 *   error_rate   both / operations
 *   throughput   operations per second of the scenario's duration
 * A figure comes either from a result in memory (this run) or from a
 * result object of a torn JSON report (a baseline); both give the same
 * numbers for the same run, because the JSON report is written from the
 * same histograms (closed-loop, or open-loop measured from actual start).
 * p95 is not in JSON reports: NAN there.  Thread-safe, no allocation
 * except where said.
 */
#ifndef TORN_GATE_FIGURES_H
#define TORN_GATE_FIGURES_H

#include <stddef.h>

#include "core/result.h"

struct cJSON;
struct torn_err;

enum torn_metric {
    TORN_M_P50, TORN_M_P90, TORN_M_P95, TORN_M_P99, TORN_M_P999, TORN_M_MAX, TORN_M_MEAN,
    TORN_M_FAIL_RATE, TORN_M_INFO_RATE, TORN_M_ERROR_RATE, TORN_M_THROUGHPUT,
    TORN_M_COUNT
};

/* Whether m is a latency (ns), a rate (fraction 0..1) or a throughput. */
int torn_metric_is_latency(enum torn_metric m);
int torn_metric_is_rate(enum torn_metric m);
/* The quantile a latency metric is (1 = max), -1 for mean, 0 otherwise. */
double torn_metric_quantile(enum torn_metric m);
/* Canonical name ("p99", "error_rate"); static. */
const char *torn_metric_name(enum torn_metric m);
/* Parse a name (also "p99.9"); 0, or -1 when unknown. */
int torn_metric_parse(const char *s, size_t len, enum torn_metric *out);
/* The names, comma-separated, for messages; static. */
const char *torn_metric_names(void);

/* One operation kind of one result. */
struct torn_opfig {
    double n_ok, n_fail, n_info;
    double lat[TORN_M_MEAN + 1];   /* ns, by enum torn_metric */
};

/* One result: who it is, and its figures per operation kind. */
struct torn_figs {
    const char *scenario, *target, *driver, *strategy; /* borrowed */
    double duration_s;
    struct torn_opfig op[TORN_OP_COUNT];
};

/* Figures of r (borrows r's strings). */
void torn_figs_from_result(const struct torn_result *r, struct torn_figs *f);
/* Figures of one element of a JSON report's "results" (borrows its
 * strings); TORN_E_CONFIG naming what (a file and index) when a field is
 * missing or of the wrong type. */
int torn_figs_from_json(const struct cJSON *res, const char *what, struct torn_figs *f,
                        struct torn_err *err);

/* Operations of any outcome of op in f. */
double torn_figs_ops(const struct torn_figs *f, enum torn_op op);
/* Value of m for op in f (NAN when op has no operations, or a latency when
 * none completed). */
double torn_figs_value(const struct torn_figs *f, enum torn_op op, enum torn_metric m);

/* v of metric m for people: "612 ms", "0.31 %", "1.2e+03 ops/s". */
void torn_metric_fmt(enum torn_metric m, double v, char *buf, size_t len);
/* Unit word of m in reports: "ms", "%", "ops/s"; and v in that unit. */
const char *torn_metric_unit(enum torn_metric m);
double torn_metric_in_unit(enum torn_metric m, double v);

/* Operation kind by name (torn_op_name), or -1. */
int torn_op_parse(const char *s, size_t len);

#endif

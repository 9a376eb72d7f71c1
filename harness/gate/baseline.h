/* torn: baselines: this run against a previous report, regressions as
 * violations.
 *
 * `torn run --baseline OLD.json` compares every result with the result of
 * OLD.json (a torn --json report) that has the same scenario, driver and
 * strategy (the target text can differ: a managed service's port does), per
 * operation kind, on the metrics that have an allowance.  `torn diff OLD
 * NEW` prints the same comparison of two reports.
 *
 * An allowance says how far a figure may move the wrong way (up for
 * latency and rates, down for throughput) before it is a regression:
 *
 *     p99=20% or 5ms     may rise 20 % of the old value, or 5 ms, whichever
 *                        is more
 *     p50=10ms           by 10 ms
 *     error_rate=0.5%    by 0.5 percentage points (rates: points only)
 *     throughput=25%     may fall 25 % (or N/s)
 *     p999=off           not compared
 *
 * Defaults (each replaced by an allowance for the same metric): p50 and p99
 * 25 % or 10 ms, error_rate 1 point.  Latency is compared on the same
 * figures on both sides: the JSON report's "latency" (closed-loop, or
 * open-loop from actual start).  A metric missing on either side (no
 * completed operation) is not compared.
 */
#ifndef TORN_GATE_BASELINE_H
#define TORN_GATE_BASELINE_H

#include "gate/figures.h"

struct cJSON;
struct torn_err;

struct torn_allow {
    int on;              /* compared at all */
    double rel;          /* fraction of the old value, or 0 */
    double abs;          /* in the metric's base unit (ns, fraction, ops/s) */
};

/* The defaults above, by metric. */
void torn_allow_defaults(struct torn_allow allow[TORN_M_COUNT]);
/* "METRIC=ALLOWANCE" into allow[METRIC]; TORN_E_USAGE naming what. */
int torn_allow_parse(const char *text, const char *what, struct torn_allow allow[TORN_M_COUNT],
                     struct torn_err *err);
/* ALLOWANCE text ("20% or 5ms", "off") of metric m into *a. */
int torn_allow_parse_value(enum torn_metric m, const char *text, const char *what,
                           struct torn_allow *a, struct torn_err *err);

/* Read and check a torn JSON report (an object with a "results" array);
 * *doc_out is the caller's (cJSON_Delete).  TORN_E_CONFIG naming path. */
int torn_baseline_load(const char *path, struct cJSON **doc_out, struct torn_err *err);
/* The result of doc like f (same scenario, driver, strategy), or NULL. */
const struct cJSON *torn_baseline_match(const struct cJSON *doc, const struct torn_figs *f);

/* One compared figure. */
struct torn_cmp {
    enum torn_op op;
    enum torn_metric metric;
    double old_v, new_v;     /* base units */
    double allowed;          /* how far it may move the wrong way */
    int regressed;
};
/* For every operation kind both have and every metric allow has on: call
 * fn(arg, row); stops at and returns fn's first non-zero answer. */
int torn_baseline_compare(const struct torn_figs *old_f, const struct torn_figs *new_f,
                          const struct torn_allow allow[TORN_M_COUNT],
                          int (*fn)(void *arg, const struct torn_cmp *row), void *arg);
/* "update p99 12.1 ms -> 61 ms (+404 %, allowed +20 % or 5 ms)"; buf is
 * always NUL-terminated. */
void torn_cmp_describe(const struct torn_cmp *c, const struct torn_allow *a, char *buf,
                       size_t len);

#endif

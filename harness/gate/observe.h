/* torn: observability criteria: a service's counters against what torn saw.
 *
 * An HTTP target spec may name its Prometheus text endpoint and the
 * counters that must move exactly as the scenario observed (seed 000:
 * research_finalized_total{status} rises by one per job finalized):
 *
 *   "metrics": {"path": "/metrics",
 *               "unseen": "jobs_without_terminal_event",
 *               "counters": {
 *                 "research_finalized_total{status=\"completed\"}": "completed_events",
 *                 "research_finalized_total{status=\"failed\"}": "failed_events"}}
 *
 * Each counter maps a series selector (prom.h) to a figure of the
 * scenario's metrics (the JSON report's "metrics").  torn scrapes the
 * endpoint before and after every scenario run; for a result that has the
 * figure, the series' rise (summed over matching samples; absent = 0) must
 * equal it (or exceed it by at most the "unseen" figure: outcomes torn
 * did not see, which the service may rightly have counted), else a violation "counter-matches-observed" (kind correctness):
 * a counter bumped before the record was written, for a job that then
 * failed, rises by more than the completions torn saw.  A result without
 * the figure is not judged (its scenario does not count that).  An endpoint
 * that cannot be read, or answers something that is not the exposition
 * format, makes the result an ERROR: no evidence is no PASS.  Only what a
 * scenario saw end to end is compared, so a counter that runs ahead during
 * the run and is right at the end is not caught by this check.
 */
#ifndef TORN_GATE_OBSERVE_H
#define TORN_GATE_OBSERVE_H

struct cJSON;
struct torn_err;
struct torn_result;
struct torn_target;
struct torn_observe;

/* From a target spec (spec_path names it in messages): *out NULL when it
 * has no "metrics"; TORN_E_CONFIG with one line naming the field. */
int torn_observe_new(const struct cJSON *spec, const char *spec_path, struct torn_observe **out,
                     struct torn_err *err);
void torn_observe_free(struct torn_observe *o);

/* Scrape before a scenario run / after it, judging res into checks. */
void torn_observe_start(struct torn_observe *o, struct torn_target *t);
void torn_observe_judge(struct torn_observe *o, struct torn_target *t, struct torn_result *res,
                        struct cJSON *checks);

#endif

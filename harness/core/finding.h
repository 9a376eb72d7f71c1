/* torn: findings, violations a TARGET observes (not the scenario driving
 * it): a response that breaks the spec's contract, a record that breaks a
 * declared invariant, a forbidden line in a service's log.  Any process
 * may post one (forked workers included): each is one JSON line appended
 * with one write(2) to FILE in the run's log directory (cfg->log_dir,
 * torn's own, never on torn-fs), opened O_APPEND|O_NOFOLLOW.  The runner
 * marks the file's length before a scenario and, once every worker is
 * gone, folds what was posted after the mark into that scenario's result
 * as violations (torn_findings_fold), so they count, are reported and
 * fail the run like the scenario's own.
 *
 * Line format: {"criterion":..., "key":..., "t_ns": torn_now_ns(),
 * "evidence":...}.  Unreadable lines are skipped (a process killed mid-line
 * cannot leave one: a line is one write).  A count a target keeps across
 * its workers (retries the service reported, records read through two
 * paths) is a line {"metric": NAME, "add": N}: the fold sums each NAME into
 * the result's metrics.
 */
#ifndef TORN_FINDING_H
#define TORN_FINDING_H

#include <stddef.h>
#include <stdint.h>

struct torn_result;

#define TORN_FINDINGS_FILE "findings.jsonl"

/* Post one finding under log_dir (NULL: a no-op).  criterion is the
 * violation's short id ("contract-stale"), key the record or NULL,
 * evidence printf-style.  Returns 0, or -1 when it could not be written
 * (the poster has nothing better to do with that: findings are evidence,
 * never control flow). */
int torn_finding_post(const char *log_dir, const char *criterion, const char *key,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Add n to the scenario's metric name (summed over every process by
 * torn_findings_fold; n = 0 makes the metric appear at 0).  0 or -1. */
int torn_finding_count(const char *log_dir, const char *name, double n);

/* Append text (one or more whole lines) to log_dir/name with one
 * write(2), creating it (O_APPEND|O_NOFOLLOW): a side file a target keeps
 * next to its findings, e.g. what its workers saw happen.  0 or -1. */
int torn_finding_note(const char *log_dir, const char *name, const char *text);

/* Read the log at path from *off to its last whole line, advancing *off:
 * a line containing one of never[0..n_never) (fixed strings) is posted as
 * a finding "log-forbidden" under log_dir quoting it; each line (NUL-
 * terminated, without its newline) also goes to each(line, arg) when each
 * is not NULL.  A missing file is no lines. */
void torn_log_scan(const char *log_dir, const char *path, long long *off,
                   const char *const *never, size_t n_never,
                   void (*each)(const char *line, void *arg), void *arg);

/* Length of log_dir's findings file now (0 when absent): a mark. */
long long torn_findings_mark(const char *log_dir);

/* Add every finding posted after mark to r as a violation, its time
 * relative to t0_ns (the scenario's start), and every count to r's
 * metrics (the first TORN_FINDING_METRICS names). */
#define TORN_FINDING_METRICS 16
void torn_findings_fold(const char *log_dir, long long mark, struct torn_result *r,
                        uint64_t t0_ns);

#endif

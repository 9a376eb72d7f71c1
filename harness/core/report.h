/* torn: the reporter plug point.
 *
 * A reporter renders a whole run (every result) into one output: the
 * terminal table, JSON, JUnit XML, HTML, Prometheus text, TAP.  Each lives in
 * reports/<name>.c, exports one `const struct torn_reporter_ops`, and is
 * listed in harness/core/registry.c with the command-line option that selects it.
 * File reporters are written atomically by the runner (temp + fsync +
 * rename), and also on SIGINT/SIGTERM, with report->interrupted set.
 */
#ifndef TORN_REPORT_H
#define TORN_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct torn_err;
struct torn_result;

#define TORN_REPORTER_OPS_V1 1

struct torn_report {
    const char *tool_version;     /* TORN_VERSION */
    char started_at[32];          /* ISO-8601 UTC wall clock */
    double duration_s;
    uint64_t seed;                /* the run seed */
    const char *command;          /* the command line, passwords redacted */
    const char *run_dir;          /* where artifacts and the history are */
    const char *history_path;     /* or NULL */
    int interrupted;              /* SIGINT/SIGTERM stopped the run */
    int signal;                   /* the signal that stopped it, or 0 */
    const char *report_error;     /* a report file could not be written (the
                                     run then exits 2), or NULL */
    uint64_t history_cap;         /* bytes the history may hold, 0 unknown */
    uint64_t history_dropped;     /* events left out of it by that cap */
    unsigned shard_index;         /* torn run --shard I/N: I (from 1), or 0 */
    unsigned shard_count;         /* N */
    size_t shard_entries;         /* entries (target x scenario) of this shard */
    size_t shard_entries_total;   /* entries of the whole run, all shards */
    int color;                    /* terminal: ANSI colours allowed */
    int quiet;                    /* terminal: only the summary */
    struct torn_result **results; /* in run order */
    size_t n_results;
};

struct torn_reporter_ops {
    int version;                  /* TORN_REPORTER_OPS_V1 */
    const char *name;             /* "terminal", "json", "junit", ... */
    const char *option;           /* "--json"; NULL for the terminal */
    const char *summary;          /* for --help */
    /* Render rep into f.  Return 0 or a negative torn_code. */
    int (*write)(FILE *f, const struct torn_report *rep, struct torn_err *err);
};

/* Write rep with ops to path atomically (path "-" = stdout). */
int torn_report_write_file(const struct torn_reporter_ops *ops, const char *path,
                           const struct torn_report *rep, struct torn_err *err);

/* Helpers shared by reporters. */
/* Exit code a run with these results should have: 2 if a report could not
 * be written; else 1 if any FAIL; else 2 if any ERROR or the run was
 * interrupted; else 0.  Every report states this code. */
int torn_report_exit_code(const struct torn_report *rep);
/* "interrupted by SIGINT" (or SIGTERM, or "a signal") for an interrupted
 * run; "" otherwise.  Static storage. */
const char *torn_report_interruption(const struct torn_report *rep);
/* Problems of the run itself, which every report shows besides the results
 * (JUnit <error>, TAP `not ok`, ...): the interruption, a report that could
 * not be written.  Fills msgs with one line each; returns how many. */
#define TORN_REPORT_RUN_ERRORS_MAX 2
size_t torn_report_run_errors(const struct torn_report *rep,
                              char msgs[TORN_REPORT_RUN_ERRORS_MAX][320]);
/* Counts of each verdict. */
void torn_report_counts(const struct torn_report *rep, size_t *pass, size_t *fail,
                        size_t *error, size_t *skip);
/* Write s neutralised (torn_fput_safe: no control character) and XML/HTML
 * escaped; for text and attribute values. */
void torn_xml_escape(FILE *f, const char *s);

/* GitHub Actions (reports/markdown.c).  When the environment has
 * GITHUB_ACTIONS=true: print `::error` workflow commands for the first
 * violations and errors (GitHub shows at most 10 per step) to out, and
 * append the Markdown summary (the --markdown report) to the file named by
 * $GITHUB_STEP_SUMMARY.  Otherwise do nothing.  The runner calls it once
 * after writing the reports.  Returns 0, or -1 if the step summary could not
 * be appended (a warning, not a failure). */
int torn_report_github(FILE *out, const struct torn_report *rep);

/* Prometheus Pushgateway (reports/prom_push.c).  Check url ("http://HOST:
 * PORT", the gateway; loopback unless allow_remote) before a run:
 * TORN_E_USAGE / TORN_E_CONFIG naming it.  Push rep's Prometheus text (the
 * --prom report) to url's group /metrics/job/torn (or the /metrics/job/
 * path url names) with PUT, waiting at most timeout_ms: 0, or an error
 * naming the URL and the HTTP status. */
int torn_report_prom_push_check(const char *url, int allow_remote, struct torn_err *err);
int torn_report_prom_push(const char *url, const struct torn_report *rep, int timeout_ms,
                          struct torn_err *err);

/* Registry (harness/core/registry.c). */
const struct torn_reporter_ops *torn_reporter_find(const char *name);
const struct torn_reporter_ops *const *torn_reporters(size_t *n_out);

#endif

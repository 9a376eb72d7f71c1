/* torn: reading a JSON report (reports/json.c) back into results, for
 * `torn merge`.
 *
 * A report read back renders as the run that wrote it: identity, verdict,
 * error, every kept violation, parameters, metrics, work counters, replay
 * line, per-operation counts and exact latency histograms (the "hdr"
 * object of every latency figure, hdr_json.h), open-loop figures.  What a
 * report does not carry (the scenario's work hint, the error's torn_code)
 * is left empty.
 */
#ifndef TORN_JSON_READ_H
#define TORN_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct torn_err;
struct torn_result;

/* The report-level fields `torn merge` needs. */
struct torn_json_report {
    struct cJSON *root;           /* the whole document (owned) */
    char started_at[32];
    double duration_s;
    uint64_t seed;
    int interrupted;
    char *report_error;           /* or NULL (owned) */
    uint64_t history_dropped;
    unsigned shard_index, shard_count; /* 0/0: not a shard's report */
    size_t shard_entries, shard_entries_total;
    struct torn_result **results; /* owned, in file order */
    size_t n_results;
};

/* Read the JSON report at path (strict JSON: parse.h) into *out.  0, or a
 * negative torn_code with one line in err naming the file and the field
 * (TORN_E_IO unreadable, TORN_E_CONFIG not a torn JSON report).  *out is
 * zeroed first; free it with torn_json_report_free on every path. */
int torn_json_report_read(const char *path, struct torn_json_report *out, struct torn_err *err);
void torn_json_report_free(struct torn_json_report *r);

/* One element of "results" into a new result (*out, freed by the caller
 * with torn_result_free).  what names it in messages. */
int torn_json_result_read(const struct cJSON *o, const char *what, struct torn_result **out,
                          struct torn_err *err);

#endif

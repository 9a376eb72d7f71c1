/* torn: record invariants as data.  What must hold of every record a
 * store hands out: seed 002's transition sets status and processing_state
 * together, seed 000's completed record carries its results, its
 * _updated_at is an ISO-8601 time set on every write and does not go back
 * while version rises.
 *
 *   "invariants": {
 *     "NAME": {"when": {pointer: expectation...}, "then": {pointer: expectation...}},
 *     "NAME": {"ordered": {"time": pointer, "by": pointer}}
 *   }
 *
 * A "when"/"then" invariant holds when some "when" expectation fails (or
 * there is none) or every "then" expectation holds; expectations are
 * expect.h's, pointers are into the record.  An "ordered" invariant
 * compares each record with the last one this process saw of the same id:
 * when "by" rose, the ISO-8601 time at "time" must not have gone back.  A
 * broken invariant is a finding "invariant-NAME" (finding.h).
 *
 * Used by the HTTP target (the spec's "invariants", judged on every record
 * a 2xx answers a record operation with, not seed 001's "unknown" dict)
 * and the exec target (--target-opt invariants=FILE, every record a reply
 * carries). */
#ifndef TORN_INVARIANT_H
#define TORN_INVARIANT_H

#include <stddef.h>

#include "expect.h"

struct cJSON;
struct torn_err;

#define TORN_INV_SLOTS 64          /* records "ordered" remembers, hashed by id */
#define TORN_INV_MAX_FINDINGS 1000 /* findings one process posts */

struct torn_inv_ord {
    int set;
    char id[64];
    double by;                     /* the "by" value (version) last seen */
    long long time_ms;             /* its "time" */
    char time_text[40];
};

/* What one process remembers while judging (zero it first). */
struct torn_inv_state {
    struct torn_inv_ord ord[TORN_INV_SLOTS];
    unsigned long n_posted;
};

/* Parse the "invariants" object iv of file: 0, or TORN_E_CONFIG "target
 * spec FILE: field invariants.NAME...: why". */
int torn_invariants_parse(const struct cJSON *iv, const char *file, struct torn_err *err);

/* Judge record rec against every invariant of iv (parsed), posting each
 * broken one as a finding "invariant-NAME" under log_dir; ctx gives the
 * record's id and "{version}", what names the answer in the evidence
 * ("GET URL", "the adapter's read"). */
void torn_invariants_judge(const struct cJSON *iv, struct torn_inv_state *st,
                           const char *log_dir, const struct cJSON *rec,
                           const struct torn_expect_ctx *ctx, const char *what);

#endif

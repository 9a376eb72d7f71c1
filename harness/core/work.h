/* torn: evidence that a scenario did its work.
 *
 * A PASS means something only when the scenario did the work its criteria
 * judge: a lost-update check over 0 acknowledged updates, or a crash check
 * after kills that landed on an idle writer, holds trivially.  So each
 * scenario declares, as data next to it (torn_scenario_ops.work), the
 * counters that measure its work and the minimum of each, and sets those
 * counters while it runs (torn_work_set).  After the scenario the runner
 * judges them (torn_work_judge) together with two facts it knows itself:
 * workers that died on their own (proc.h, torn_deaths) and history lines
 * that could not be written.  Any of them turns a PASS into ERROR, with one
 * line naming what fell short and what torn saw go wrong:
 *
 *   concurrent-updaters: 0 of 200 planned updates acknowledged (minimum
 *   100): 8 of 10 workers died (8 killed by SIGSEGV)
 *
 * A FAIL stays FAIL (its violations were seen; too little work cannot undo
 * them) and carries the same line as a note.  The counters go into every
 * report ("work" in --json).
 */
#ifndef TORN_WORK_H
#define TORN_WORK_H

#include <stddef.h>

struct torn_ctx;
struct torn_result;
struct torn_deaths;

/* One minimum.  A scenario's table ends with an entry whose counter is
 * NULL.  The minimum is
 *   - planned set: ceil(fraction * work[planned]), but when the scenario
 *     reports that its time limit cut it short (work["time_limited"] != 0),
 *     min(that, floor): the time the user allowed decides how much could be
 *     done, and floor is the least that still makes the verdict mean
 *     something;
 *   - planned NULL: floor.
 * Never more than work[planned].  A counter the scenario never set counts
 * as 0, so a forgotten counter errs on the side of ERROR. */
struct torn_work_need {
    const char *counter;     /* "updates_acked" */
    const char *planned;     /* "updates_planned", or NULL */
    double fraction;         /* of planned, 0..1 */
    long long floor;         /* see above */
    const char *what;        /* how the line names it: "planned updates
                                acknowledged" gives "0 of 200 planned updates
                                acknowledged (minimum 100)"; without planned,
                                "0 reads (minimum 1)" */
};

/* Set / add to / read a work counter of r (kept in r->work; get returns 0
 * for a counter never set).  Parent process only.  Set and add ignore
 * allocation failure (the counter then reads 0: an ERROR, never a PASS). */
void torn_work_set(struct torn_result *r, const char *counter, long long n);
void torn_work_add(struct torn_result *r, const char *counter, long long n);
long long torn_work_get(const struct torn_result *r, const char *counter);
/* Set work["time_limited"] of ctx->result: 1 when the scenario's deadline
 * (ctx->deadline_ns, from duration_s / --duration) has passed, not counting
 * a stop request.  Call where the scenario stops. */
void torn_work_deadline(const struct torn_ctx *ctx);
/* What the scenario saw that explains a shortfall, in its own words ("146
 * of 148 updates failed: write: No space left on device"); appended to the
 * shortfall line.  The last call wins; NULL clears. */
void torn_work_hint(struct torn_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Judge r's work after its scenario ran (verdict PASS or FAIL; otherwise a
 * no-op): needs (may be NULL), d (workers that died, may be NULL),
 * history_problem (why history lines were lost during the scenario, or
 * NULL).  A shortfall sets r->verdict ERROR (TORN_E_NOWORK, or
 * TORN_E_CRASHED / TORN_E_IO when only workers died / only the history
 * failed) with the line as r->error; on a FAIL the line goes to
 * r->work_note.  Returns 1 when something fell short, else 0. */
int torn_work_judge(struct torn_result *r, const struct torn_work_need *needs,
                    const struct torn_deaths *d, const char *history_problem);

#endif

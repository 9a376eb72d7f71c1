/* torn: the release gate: budgets, a baseline and counter checks judged on
 * every result of a run, on top of the scenarios' own criteria.
 *
 * The runner calls torn_gate_start before each scenario run and
 * torn_gate_judge after it (re-runs included, so --until-fail and the
 * reproduction count see budget breaches like any violation).  Each check
 * lands in res->gate as {"checks": [...]}, every one of them, held or not:
 *
 *   {"kind": "budget"|"regression"|"observability", "criterion": "p99",
 *    "name": "update.p99<500ms", "op": "update", "metric": "p99",
 *    "loop": "closed-loop", "observed": 612.0, "limit": 500.0,
 *    "margin": -112.0, "unit": "ms", "held": false,
 *    "text": "update p99 612 ms > 500 ms (...)"}
 *
 * (observed, limit and margin in unit; margin > 0 is headroom.)  A check
 * not held is also a violation "KIND:CRITERION" on the result, so exit
 * codes stay 0/1/2 and reports tell the kinds apart
 * (torn_criterion_kind).  Not thread-safe: the runner's thread only.
 */
#ifndef TORN_GATE_H
#define TORN_GATE_H

#include <stddef.h>
#include <stdio.h>

#include "gate/baseline.h"
#include "gate/budget.h"
#include "gate/checks.h"
#include "gate/soak.h"

struct cJSON;
struct torn_err;
struct torn_result;
struct torn_target;
struct torn_observe;
struct torn_report;

struct torn_gate {
    struct torn_budget *budgets;
    size_t n_budgets;
    char *baseline_path;          /* --baseline, or NULL */
    struct cJSON *baseline;       /* its report */
    struct torn_allow allow[TORN_M_COUNT];
    struct torn_observe *observe; /* counter checks (observe.h), or NULL */
    struct torn_soak soak;        /* --soak (soak.h); duration_s 0 = one round */
    const uint64_t *seeds;        /* a suite's "seeds": round k runs with seeds[k
                                     mod n], written to *seed_slot (the run
                                     options' seed); NULL one seed */
    size_t n_seeds, seed_round;
    uint64_t *seed_slot;
};

/* New empty gate (default allowances); NULL on ENOMEM. */
struct torn_gate *torn_gate_new(void);
/* Free; NULL is a no-op. */
void torn_gate_free(struct torn_gate *g);

/* Add a budget (budget.h syntax); one judging the same figure as an
 * earlier one replaces it.  what names its origin for messages. */
int torn_gate_add_budget(struct torn_gate *g, const char *text, const char *what,
                         struct torn_err *err);
/* Load path as the baseline (replacing an earlier one). */
int torn_gate_set_baseline(struct torn_gate *g, const char *path, struct torn_err *err);
/* An allowance "METRIC=AMOUNT [or AMOUNT]" (baseline.h). */
int torn_gate_allow(struct torn_gate *g, const char *text, const char *what,
                    struct torn_err *err);

/* Runner hooks; g NULL is a no-op. */
void torn_gate_start(struct torn_gate *g, struct torn_target *t, struct torn_result *res);
void torn_gate_judge(struct torn_gate *g, struct torn_target *t, struct torn_result *res);
/* Around the runner's rounds: begin before the first; again after each,
 * 1 when another round should run (--soak, soak.h).  g NULL: one round. */
void torn_gate_run_begin(struct torn_gate *g);
int torn_gate_run_again(struct torn_gate *g, struct torn_report *rep);

/* After the run: a budget that judged no result is a configuration
 * mistake (a misspelt scenario, an operation no scenario does): one line
 * each on f; returns how many. */
size_t torn_gate_finish(const struct torn_gate *g, FILE *f);

/* The options that give a replay the same gate (" --budget 'X'",
 * " --baseline F", " --allow ..."), shell-quoted, onto f; g NULL: nothing. */
void torn_gate_replay_args(const struct torn_gate *g, FILE *f);

#endif

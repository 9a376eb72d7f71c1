/* torn: budgets, performance figures as acceptance criteria.
 *
 * A budget is one line of text, on the command line (--budget) or in a
 * suite file (suite.h):
 *
 *     [SCENARIO:]OP.METRIC CMP VALUE[UNIT]
 *
 *   update.p99<500ms                      every scenario's update p99
 *   concurrent-updaters:update.p99.9<=1s  one scenario's
 *   *.error_rate<0.1%                     all operations of a scenario
 *   dual_write.fail_rate<0.1%             definite failures only
 *   update.info_rate<1%                   indefinite outcomes only
 *   update.throughput>50/s                a floor
 *
 * OP is an operation kind (`update`, `read`, `update_if_version`,
 * `transition`, `dual_write`, `dual_read`, `create`, `event`, `reset`,
 * `recover`) or `*` (rates and throughput only: every kind but reset and
 * recover).  METRIC is one of figures.h.  Latency budgets take `<` or `<=`
 * and a unit (ns, us, ms, s); rates `<`/`<=` and a fraction or a percentage
 * (0.001 or 0.1%); throughput `>`/`>=` and ops/s (`/s` optional).
 *
 * Latency is judged on the open-loop figures measured from the due time
 * (corrected for coordinated omission) when the run had --rate for that
 * operation, else on the closed-loop ones; the check says which.  A result
 * whose scenario never did OP is not judged, unless the budget names that
 * scenario: then the budget cannot be checked and the result is an ERROR
 * (too little work is never a PASS).
 */
#ifndef TORN_GATE_BUDGET_H
#define TORN_GATE_BUDGET_H

#include <stddef.h>

#include "gate/figures.h"

struct cJSON;
struct torn_err;
struct torn_result;

struct torn_budget {
    char *text;           /* as written, spaces removed */
    char *scenario;       /* NULL = every scenario */
    int op;               /* enum torn_op, or -1 for `*` */
    enum torn_metric metric;
    int floor;            /* 1: observed must stay above (throughput) */
    int inclusive;        /* <= or >= */
    double limit;         /* ns, fraction or ops/s */
    size_t n_judged;      /* results judged so far */
};

/* Parse text into b (b's strings allocated: torn_budget_clear).  what
 * names where it came from ("--budget", "suite.json: budgets[2]"); errors
 * are TORN_E_USAGE with one line naming it and the part that is wrong. */
int torn_budget_parse(const char *text, const char *what, struct torn_budget *b,
                      struct torn_err *err);
void torn_budget_clear(struct torn_budget *b);

/* Whether a and b judge the same figure (scenario, op, metric): a later
 * one replaces an earlier one (the command line overrides the suite). */
int torn_budget_same(const struct torn_budget *a, const struct torn_budget *b);

/* Judge b on res: nothing when it does not apply; else a check in
 * checks (gate.h's form) and, when broken, a violation
 * "budget:METRIC" on res.  0, or TORN_E_NOMEM. */
int torn_budget_judge(struct torn_budget *b, struct torn_result *res, struct cJSON *checks);

#endif

/* torn: the gate's check records, res->gate's "checks" array (the form is
 * described in gate.h).  The bottom of harness/gate/: budget.c, gate.c and
 * whatever else judges a figure append their checks here, so none of them
 * needs gate.c to record one. */
#ifndef TORN_GATE_CHECKS_H
#define TORN_GATE_CHECKS_H

#include "gate/figures.h"

struct cJSON;
struct torn_result;

/* Append a check to checks (the form in gate.h).  op < 0 = every operation.
 * Values in base units (ns, fraction, ops/s); converted to unit here.
 * 0, or -1 on ENOMEM. */
int torn_gate_check(struct cJSON *checks, const char *kind, const char *criterion,
                    const char *name, int op, enum torn_metric m, const char *loop,
                    double observed, double limit, double margin, int held, const char *text);
/* res->gate's "checks" array, created when missing; NULL on ENOMEM. */
struct cJSON *torn_gate_checks(struct torn_result *res);

#endif

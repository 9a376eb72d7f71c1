/* torn: the run-wide operation cap and rate cap (torn run --max-ops N,
 * --max-rate OPS; a suite's limits.max_ops, limits.max_rate): staging
 * safety, so that a pre-deploy run pointed at a shared staging service
 * cannot flood it, whatever its scenarios, workers and rounds.
 *
 * Every request torn sends to a target goes through torn_throttle_take
 * first (target.c: reset, update, read, update_if_version, transition,
 * dual_write, dual_read, create, subscribe; not the waits for an event on
 * a subscription, nor the local test fixtures corrupt, plant and fault).
 * The counters live in one MAP_SHARED page made before any worker process
 * forks, so every process of every scenario and target draws on the same
 * budget.
 *
 *   rate: operations are spaced at least 1/max_rate s apart run-wide (no
 *         burst: a quiet second saves nothing up).  A caller waits its
 *         turn; the wait is not part of the operation's latency (see
 *         torn_throttle_waited_ns) but is part of an open-loop operation's
 *         corrected latency (it started late).
 *   ops:  when max_ops operations have been sent, torn requests a stop in
 *         every process (torn_stop_requested), as SIGINT does: no new
 *         operation, round, job or scenario starts, the results so far are
 *         kept and the run ends interrupted (exit 2).  The operations then
 *         under way and the scenarios' closing reads (a bounded wind-down:
 *         about one read per record) are still sent, rate-capped, so that
 *         no verdict is drawn from a read torn refused to make;
 *         torn_throttle_used counts them too.
 *
 * Single run per process; not for threads (processes share the page).
 */
#ifndef TORN_THROTTLE_H
#define TORN_THROTTLE_H

#include <stdint.h>

struct torn_err;

/* Arm the caps (max_ops 0 = no cap on the count, max_rate 0 = none; both
 * 0 disarms).  Call before forking workers.  TORN_E_NOMEM when the shared
 * page cannot be mapped.  Calling again resets the counters. */
int torn_throttle_init(long long max_ops, double max_rate, struct torn_err *err);
/* Before sending one operation: wait for its turn under the rate cap and
 * count it.  0: send it.  TORN_E_INTERRUPTED (err filled, a definite "not
 * sent") only when a stop was requested while waiting.  A no-op returning
 * 0 when no cap is armed. */
int torn_throttle_take(struct torn_err *err);
/* Nanoseconds this process waited in torn_throttle_take since the last
 * call (then reset): torn_ctx_op subtracts it from a latency. */
uint64_t torn_throttle_waited_ns(void);
/* Operations sent run-wide so far; the caps (0 = none). */
long long torn_throttle_used(void);
long long torn_throttle_max_ops(void);
double torn_throttle_max_rate(void);
/* 1 when the operation cap was reached (the run was stopped by it). */
int torn_throttle_capped(void);

#endif

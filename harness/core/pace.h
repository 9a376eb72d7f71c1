/* torn: an open-loop schedule (torn run --rate OPS).
 *
 * W workers share a total rate of R operations per second: worker i's k-th
 * operation is due at base + (i + k*W) / R seconds, so together they issue
 * one operation every 1/R s.  A worker that falls behind (the target
 * stalled) issues its overdue operations at once, never skips them: each is
 * then measured from when it was due (see torn_openloop in result.h).
 * A rate of 0 is the closed loop: every operation is due at once.
 * Plain data, one per worker process; not thread-safe.
 */
#ifndef TORN_PACE_H
#define TORN_PACE_H

#include <stdint.h>

struct torn_pace {
    uint64_t base_ns;      /* torn_now_ns() when the schedule starts */
    uint64_t offset_ns;    /* this worker's phase: index / rate */
    uint64_t period_ns;    /* between two of this worker's operations: W / rate;
                              0: closed loop */
    uint64_t deadline_ns;  /* no operation is due at or after this; 0 = none */
    uint64_t k;            /* operations handed out so far */
};

/* Start a schedule now for worker index of n_workers sharing rate ops/s
 * (n_workers >= 1, 0 <= index < n_workers; rate <= 0: closed loop).
 * deadline_ns (absolute, torn_now_ns clock) ends an open-loop schedule; 0
 * for none. */
void torn_pace_init(struct torn_pace *p, double rate, int n_workers, int index,
                    uint64_t deadline_ns);
/* Wait until the next operation is due (returns at once when it is already
 * overdue) and store its due time in *due_out (0 in closed loop).  Returns
 * 1 when an operation is due, 0 when the schedule is over (the next one
 * would be due at or after the deadline) or a stop was requested
 * (torn_stop_requested; checked at least every 50 ms while waiting). */
int torn_pace_next(struct torn_pace *p, uint64_t *due_out);

#endif

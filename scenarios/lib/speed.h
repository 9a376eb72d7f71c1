/* torn: how long the target takes to answer an update, measured from the
 * workers' own messages, and kill delays scaled to it, for the scenarios
 * that SIGKILL writers at a seeded moment (crash-midwrite, dual-write);
 * not a plug point.
 *
 * A kill drawn uniformly from a fixed min..max delay lands at every point
 * of an update only on a target whose update takes about max or less.  A
 * store that needs 80 ms for one durable update (an interpreter under
 * load) killed 0..40 ms after it answered once is always killed in the
 * first half of its next update, so a bug between its two writes late in
 * the update is never reached; a store that answers in 50 us is killed at
 * a uniform point of some update either way.  So every update is announced
 * (a message stamped when sent, before the call) and answered (stamped
 * after), torn_speed keeps the durations of the recent ones, and
 * torn_speed_delay_ms draws from min..max widened to min + two median
 * updates when that is longer: then a kill is equally likely at every point
 * of an update on a slow target and a fast one.  The draw is the
 * scenario's seeded rng's (one per delay, always, so a seed replays its
 * decisions); the width is a measurement, like where a kill lands.  Parent
 * process only; not thread-safe.
 */
#ifndef TORN_SCENARIOS_LIB_SPEED_H
#define TORN_SCENARIOS_LIB_SPEED_H

#include <stddef.h>
#include <stdint.h>

struct torn_result;
struct torn_rng;

#define TORN_SPEED_RECENT 16  /* durations the median is taken over */
#define TORN_SPEED_WORKERS 64 /* writers one struct torn_speed follows */

struct torn_speed {
    uint64_t open_ns[TORN_SPEED_WORKERS]; /* per writer: when its update in
                                             flight was announced, 0 none */
    uint64_t dur_ns[TORN_SPEED_RECENT];   /* recent update durations, a ring */
    int n_dur, next;
    long long n_updates;                  /* updates measured in all */
    long long n_delays, n_widened;        /* delays drawn; from a widened window */
    double widest_ms;                     /* the largest window end used */
};

/* Writer w announced an update / got its answer (acknowledged or failed)
 * at t_ns (torn_now_ns clock, struct torn_msg.t_ns; 0 = not stamped,
 * ignored).  An answer without an announcement, or a w outside
 * 0..TORN_SPEED_WORKERS-1, is ignored. */
void torn_speed_start(struct torn_speed *s, int w, uint64_t t_ns);
void torn_speed_answer(struct torn_speed *s, int w, uint64_t t_ns);

/* The median of the recent update durations in ms; 0 before any. */
double torn_speed_median_ms(const struct torn_speed *s);

/* A delay in ms, uniform over min_ms..hi with hi = max_ms, or min_ms + 2 x
 * the median update when that is larger; one draw of rng. */
double torn_speed_delay_ms(struct torn_speed *s, struct torn_rng *rng, double min_ms,
                           double max_ms);

/* Metrics into r: update_ms_median, updates_timed, kill_delay_ms_max,
 * kill_delays_widened. */
void torn_speed_report(const struct torn_speed *s, struct torn_result *r);

/* "updates took 83.1 ms (median of the last 16), so the kills were drawn
 * from 0..166 ms after the writers' first answer" into buf, for a work
 * hint; "" before any update was measured. */
void torn_speed_describe(const struct torn_speed *s, double min_ms, char *buf, size_t len);

#endif

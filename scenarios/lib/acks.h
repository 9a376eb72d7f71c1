/* torn: acknowledged writes per writer, for the scenarios that crash a
 * server under writers and then count what an acknowledgement promised
 * but the restarted (or promoted) server lacks: durability and failover
 * (not a plug point).
 *
 * Writer w writes seq 1, 2, ... on its own record; the parent notes each
 * acknowledgement (seq, the writer's clock at the ack) as its message
 * arrives.  After the crash, a record holding seq found < acked[w] lost
 * the writes found+1..acked[w]; the loss window is how long before the
 * crash the oldest of them was acknowledged.  Not thread-safe: the
 * parent's thread only.
 */
#ifndef TORN_SCENARIOS_LIB_ACKS_H
#define TORN_SCENARIOS_LIB_ACKS_H

#include <stdint.h>

#define TORN_ACKS_MAX 64   /* writers one struct torn_acks follows */

struct torn_acks {
    long long acked[TORN_ACKS_MAX];   /* highest acknowledged seq, 0 none */
    uint64_t *t_ack[TORN_ACKS_MAX];   /* t_ack[w][seq]: when seq was acknowledged */
    long long cap[TORN_ACKS_MAX];
};

/* Note that writer w's seq was acknowledged at t_ns (torn_now_ns clock).
 * A w outside 0..TORN_ACKS_MAX-1 is ignored; out of memory drops the note
 * (a seq whose time was never noted reads as acknowledged at 0). */
void torn_acks_note(struct torn_acks *a, int w, long long seq, uint64_t t_ns);

/* Milliseconds from the acknowledgement of writer w's seq found+1 (the
 * oldest lost write; found < a->acked[w]) to t_crash, at least 0 (the
 * clocks of writer and parent are the same, but clamp anyway). */
double torn_acks_window_ms(const struct torn_acks *a, int w, long long found, uint64_t t_crash);

/* Free the ack times and zero a. */
void torn_acks_free(struct torn_acks *a);

#endif

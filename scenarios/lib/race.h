/* torn: racing worker processes for the optimistic-lock and state-transition
 * scenarios (not a plug point).
 *
 * N worker processes each open their own connection to the target and wait
 * on a private command pipe.  A round sends one command to every worker
 * with a common start time a few milliseconds ahead; each worker sleeps
 * until that instant, so their operations hit the store together, does its
 * operation and answers on its report pipe.  The parent collects one answer
 * per worker, each wait bounded by the timeout.
 */
#ifndef TORN_SCENARIOS_LIB_RACE_H
#define TORN_SCENARIOS_LIB_RACE_H

#include "proc/proc.h"

struct torn_ctx;
struct torn_err;
struct torn_target;

#define TORN_RACE_MAX 64
#define TORN_RACE_QUIT 0xffffffffu   /* command type that ends a worker */

/* One worker's operation for command cmd: fill reply (type, a..c, text);
 * ctx, t, index as in torn_child_fn.  Return 0 to go on, non-zero to exit
 * with that status. */
typedef int (*torn_race_fn)(struct torn_ctx *ctx, struct torn_target *t, int index,
                            const struct torn_msg *cmd, struct torn_msg *reply, void *arg);

struct torn_race {
    int n;                               /* workers started */
    struct torn_child kids[TORN_RACE_MAX];
    int cmd_fd[TORN_RACE_MAX];           /* parent's write end of each command pipe */
    torn_race_fn fn;
    void *arg;
};

/* Start n workers (ctx->target must be closed).  On error every worker
 * already started is killed. */
int torn_race_start(struct torn_ctx *ctx, int n, torn_race_fn fn, void *arg,
                    struct torn_race *r, struct torn_err *err);
/* Send cmd to every worker (start time = now + 5 ms) and collect their
 * replies into replies[0..n) (replies[i] from worker i).  TORN_E_TIMEOUT or
 * TORN_E_CRASHED when a worker does not answer in timeout_ms. */
int torn_race_round(struct torn_race *r, const struct torn_msg *cmd, struct torn_msg *replies,
                    int timeout_ms, struct torn_err *err);
/* Tell the workers to quit, wait (bounded), kill stragglers, close pipes. */
void torn_race_stop(struct torn_race *r, int timeout_ms);

/* Until torn_now_ns() >= until_ns, read the report pipes of kids[0..n) and
 * hand every message to note(arg, msg).  Workers block once a pipe holds
 * ~270 unread messages, so a parent that waits while workers report must
 * wait with this, not with a sleep.  Returns early on a stop request. */
void torn_drain_until(struct torn_child *kids, int n, uint64_t until_ns,
                      void (*note)(void *arg, const struct torn_msg *m), void *arg);

/* Read the report pipes of kids[0..n) until every worker has sent one
 * message of type ready_type (fault scenarios' workers send it once their
 * target answered a first operation), passing other messages to note.  So
 * a seeded "kill after X ms" counts from when the target really serves
 * them, not from fork, a connection handshake or an interpreter start.
 * 0, or TORN_E_TIMEOUT / TORN_E_CRASHED with err set. */
int torn_wait_ready(struct torn_child *kids, int n, uint32_t ready_type, int timeout_ms,
                    void (*note)(void *arg, const struct torn_msg *m), void *arg,
                    struct torn_err *err);

/* When a worker's reply (field a) carries an error that says the store is
 * unreachable or hung rather than wrong (TORN_E_CONNECT, TORN_E_TIMEOUT,
 * TORN_E_AUTH, TORN_E_IO, TORN_E_INTERRUPTED), return that code with the
 * worker's text in err: the scenario stops with an ERROR (exit 2) instead
 * of calling it a violation.  0 otherwise. */
int torn_race_unreachable(const struct torn_msg *replies, int n, struct torn_err *err);

#endif

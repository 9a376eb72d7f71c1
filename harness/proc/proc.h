/* torn: worker processes, their report pipes, shared-memory statistics, and
 * the registry that guarantees every child torn starts is reaped on every
 * exit path (normal end, error, SIGINT/SIGTERM, torn itself killed: children
 * get PR_SET_PDEATHSIG=SIGKILL).
 */
#ifndef TORN_PROC_H
#define TORN_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/result.h"

struct torn_ctx;
struct torn_err;
struct torn_target;

/* ---- registry of live children ---- */

/* Remember pid; torn_proc_reap_all() will SIGKILL and reap it. */
void torn_proc_track(pid_t pid);
/* Forget pid (after it has been reaped). */
void torn_proc_untrack(pid_t pid);
/* Wait up to timeout_ms for pid (polling waitpid WNOHANG with short sleeps,
 * so it never blocks forever).  0 and *status_out when it exited,
 * TORN_E_TIMEOUT when still running.  Untracks it when reaped. */
int torn_proc_wait(pid_t pid, int timeout_ms, int *status_out, struct torn_err *err);
/* SIGKILL pid and reap it (bounded).  Untracks it. */
void torn_proc_kill(pid_t pid);
/* SIGTERM then, after grace_ms, SIGKILL every tracked child and reap them. */
void torn_proc_reap_all(int grace_ms);
/* Send sig to pid as a deliberate fault (a writer killed mid-write): its
 * death is then not reported as a worker dying on its own.  Returns kill(2)'s
 * result. */
int torn_proc_signal(pid_t pid, int sig);

/* 1 when pid runs no more code and holds nothing: gone, or a zombie not yet
 * reaped (a zombie has already closed its files, dropped its locks and
 * unmapped its memory). */
int torn_proc_gone(pid_t pid);
/* SIGKILL root (a tracked worker) and every process descended from it, found
 * in /proc: an exec adapter, the adapter's own children, a keeper.  The
 * descendants (not root) are stored in out (at most max) for
 * torn_proc_wait_gone; returns how many.  A power cut kills every process
 * at once: a grandchild that outlived the cut by a few milliseconds would
 * still hold its locks, mappings and cached state over the cut data. */
int torn_proc_kill_tree(pid_t root, pid_t *out, int max);
/* Wait until every pid is gone (torn_proc_gone), at most timeout_ms: 0, or
 * TORN_E_TIMEOUT naming the first still running. */
int torn_proc_wait_gone(const pid_t *pids, int n, int timeout_ms, struct torn_err *err);
/* Call first thing in a forked child: die with the parent, default signal
 * dispositions, empty registry (the child owns none of the parent's). */
void torn_proc_child_init(void);
/* "exited 3", "killed by SIGKILL", ... */
void torn_proc_describe(int status, char *buf, size_t len);

/* ---- workers that died on their own ----
 *
 * Every worker (torn_child_spawn) reaped with a non-zero exit status or
 * killed by a signal torn did not send (torn_proc_kill, torn_proc_signal,
 * torn_proc_reap_all) is counted, so a scenario whose workers segfaulted or
 * were killed by the OOM killer is never judged as if they had worked.
 * Parent process only; the runner resets it before each scenario. */
#define TORN_DEATH_KINDS 4
struct torn_deaths {
    int n_workers;                 /* workers spawned since the reset */
    int n_died;                    /* of those, died on their own */
    int n_kinds;                   /* distinct ways, at most TORN_DEATH_KINDS */
    struct {
        char how[40];              /* "killed by SIGSEGV", "exited 2" */
        int n;
    } kind[TORN_DEATH_KINDS];      /* further kinds are counted in n_died only */
    char first_words[160];         /* what the first worker that could not
                                      start said ("worker 1: exec adapter did
                                      not reply ..."), or "" */
};
void torn_proc_deaths_reset(void);
/* Copy of the counts since the last reset. */
void torn_proc_deaths(struct torn_deaths *out);
/* "8 of 8 workers died (8 killed by SIGSEGV)" into buf, with first_words
 * after it ("; worker 1: ..."); "" when none died. */
void torn_proc_deaths_describe(const struct torn_deaths *d, char *buf, size_t len);

/* ---- shared-memory statistics ---- */

#define TORN_MAX_SLOTS 257   /* slot 0 = parent, 1..256 = workers */

/* Per-process latency/outcome slots in one MAP_SHARED mapping; survives a
 * worker being SIGKILLed (what it recorded so far stays). */
struct torn_stats;
int  torn_stats_new(struct torn_stats **out, struct torn_err *err);
void torn_stats_free(struct torn_stats *s);
void torn_stats_record(struct torn_stats *s, int slot, enum torn_op op,
                       enum torn_outcome out, uint64_t ns);
/* Record one open-loop operation of this slot (torn_ctx_pace): monotonic
 * ns when it was due, when it started and when it ended, as
 * torn_result_openloop_op does in one process. */
void torn_stats_record_due(struct torn_stats *s, int slot, enum torn_op op, uint64_t due_ns,
                           uint64_t start_ns, uint64_t end_ns);
/* Add every slot into ops[TORN_OP_COUNT]. */
void torn_stats_merge(const struct torn_stats *s, struct torn_opstats *ops);
/* Add every slot's open-loop samples into ol (torn_result_openloop made
 * it); returns how many operations were added. */
uint64_t torn_stats_merge_openloop(const struct torn_stats *s, struct torn_openloop *ol);
/* Zero every slot. */
void torn_stats_clear(struct torn_stats *s);

/* An int in MAP_SHARED memory, 0, that forked children see change (e.g. a
 * "stop now" flag); NULL on failure.  Free with torn_shared_flag_free. */
volatile int *torn_shared_flag(void);
void torn_shared_flag_free(volatile int *flag);

/* ---- worker children with a report pipe ---- */

/* A fixed-size message; one write(2) each (< PIPE_BUF, so atomic even when
 * many workers share a pipe).  Zero it before filling (memset or = {0}).  Meaning of type and a..c is the scenario's. */
struct torn_msg {
    uint32_t type;
    uint32_t worker;
    int64_t a, b, c;
    uint64_t t_ns;        /* torn_now_ns() when sent */
    char text[192];       /* optional evidence, NUL-terminated ("" if none) */
};

struct torn_child {
    pid_t pid;            /* 0 when not running */
    int fd;               /* parent's read end of the child's pipe, -1 closed */
    int index;            /* worker number given to spawn */
};

/* The body of a worker.  Runs in the child with t = the child's own OPEN
 * copy of the target (NULL when spawned with open_target = 0), wfd = write
 * end of the report pipe.  The return value becomes the exit status. */
typedef int (*torn_child_fn)(struct torn_ctx *ctx, struct torn_target *t, int index,
                             int wfd, void *arg);

/* Fork a worker.  In the child: torn_proc_child_init, ctx->slot = index + 1,
 * open the target if open_target (exit 2 with a line on stderr if that
 * fails), run fn, close, _exit.  In the parent: track it, fill *out.
 * ctx->target must be closed. */
int torn_child_spawn(struct torn_ctx *ctx, int index, int open_target, torn_child_fn fn,
                     void *arg, struct torn_child *out, struct torn_err *err);
/* Send a message from a worker; 0 or TORN_E_IO. */
int torn_msg_send(int wfd, const struct torn_msg *m);
/* Build and send one message stamped now, with evidence text (truncated to
 * fit; NULL for none); 0 or TORN_E_IO. */
int torn_msg_post(int wfd, uint32_t type, int worker, long long a, long long b, long long c,
                  const char *text);
/* Receive one message within timeout_ms: 1 got one, 0 EOF (all writers
 * gone), TORN_E_TIMEOUT, TORN_E_IO. */
int torn_msg_recv(int fd, struct torn_msg *m, int timeout_ms, struct torn_err *err);
/* SIGKILL (if running), reap, close fd. */
void torn_child_kill(struct torn_child *c);
/* Wait (bounded) for a child to exit on its own; on timeout SIGKILL it and
 * return TORN_E_TIMEOUT.  Closes fd.  *status_out may be NULL. */
int torn_child_wait(struct torn_child *c, int timeout_ms, int *status_out, struct torn_err *err);

#endif

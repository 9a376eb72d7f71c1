/* torn: the outcome of one scenario against one target.
 *
 * A result is filled by the runner (identity, timing, merged latency) and by
 * the scenario (violations, metrics).  Reporters read it.  Ownership: every
 * pointer inside belongs to the result; torn_result_free releases it all.
 */
#ifndef TORN_RESULT_H
#define TORN_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "hdr.h"

struct cJSON;

enum torn_verdict {
    TORN_PASS,     /* every acceptance criterion held */
    TORN_FAIL,     /* at least one violation */
    TORN_ERROR,    /* the scenario could not run to a verdict (see error) */
    TORN_SKIP      /* not applicable (e.g. target lacks an operation) */
};

/* Operation kinds latency is kept for. */
enum torn_op {
    TORN_OP_RESET,
    TORN_OP_UPDATE,
    TORN_OP_READ,
    TORN_OP_CAS,
    TORN_OP_TRANSITION,
    TORN_OP_DUAL_WRITE,
    TORN_OP_DUAL_READ,
    TORN_OP_CREATE,
    TORN_OP_EVENT,        /* event-to-read or job-to-event latency */
    TORN_OP_RECOVER,      /* time to recover after a fault */
    TORN_OP_COUNT
};

/* How one operation ended, Jepsen's vocabulary. */
enum torn_outcome {
    TORN_OUT_OK,          /* happened */
    TORN_OUT_FAIL,        /* definitely did not happen (incl. stale CAS) */
    TORN_OUT_INFO         /* unknown: timeout, crash */
};

struct torn_opstats {
    uint64_t n_ok, n_fail, n_info;
    struct torn_hdr hdr;           /* latency in ns of completed operations */
};

struct torn_violation {
    char *criterion;    /* short id of the broken acceptance criterion,
                           e.g. "no-torn-write", "no-lost-update" */
    char *key;          /* record/key involved, or NULL */
    char *evidence;     /* one or a few lines a person can act on */
    double t_s;         /* seconds since the scenario started */
    int process;        /* history process of the one operation whose answer
                           shows the violation (the read that saw it, or the
                           write that broke it): that process's last
                           operation on key invoked at or before t_s; -1:
                           none named (a count, a final-state check, or a
                           scenario that does not say) */
};

#define TORN_MAX_VIOLATIONS_KEPT 200      /* in all */
#define TORN_MAX_VIOLATIONS_PER_CRITERION 20

struct torn_result {
    char *scenario;            /* scenario name (or spec name) */
    char *scenario_spec;       /* path of the spec file, or NULL */
    char *target;              /* display form of the target (no password) */
    char *driver;              /* "file" */
    char *strategy;            /* "durable" */
    uint64_t seed;             /* the run seed given to --seed */
    struct cJSON *params;      /* effective parameters */
    enum torn_verdict verdict;
    char *error;               /* why, when verdict == TORN_ERROR */
    int error_code;            /* torn_code of that error */
    struct torn_violation *violations;  /* first TORN_MAX_VIOLATIONS_KEPT */
    size_t n_violations;       /* kept */
    size_t n_violations_total; /* found */
    struct torn_opstats ops[TORN_OP_COUNT];
    double started_s;          /* seconds since the run started */
    double duration_s;
    struct cJSON *metrics;     /* scenario-specific figures, an object */
    char *replay;              /* command that replays this result (with
                                  --until-fail N unless replay_exact) */
    int replay_exact;          /* the scenario's seed decides everything, so
                                  one run of replay reproduces the verdict */
    int repro_runs, repro_fails; /* not exact, after a FAIL: re-runs with the
                                    same seed, and how many of them failed */
    int attempt, attempts_max; /* torn run --until-fail N: the attempt this
                                  result is from, and N; 0 without it */
    int interrupted;           /* stopped by SIGINT/SIGTERM */
    int stopped_at_violation;  /* the scenario ended its plan at its first
                                  violation (scenario.h, torn_ctx_violated):
                                  a FAIL that did less than planned on
                                  purpose; --all-violations runs it all */
    size_t entry;              /* its number among the run's entries (target
                                  x scenario, run/shard.h), for torn merge */
    struct cJSON *work;        /* work counters (work.h), an object, or NULL
                                  when the scenario set none */
    char *work_hint;           /* the scenario's explanation of a shortfall */
    char *work_note;           /* on a FAIL: what fell short (work.h) */
    struct torn_openloop *openloop; /* open-loop latency (torn run --rate), or
                                       NULL: every figure in ops[] is then
                                       closed-loop */
    struct cJSON *gate;        /* release-gate checks (harness/gate/gate.h):
                                  {"checks": [{kind, criterion, observed,
                                  limit, margin, held, text, ...}]}, or NULL */
};

/* New empty result (verdict PASS, metrics = {}); NULL on ENOMEM. */
struct torn_result *torn_result_new(void);
/* Free; NULL is a no-op. */
void torn_result_free(struct torn_result *r);

/* Record a violation and set verdict FAIL.  criterion and key are copied;
 * key may be NULL.  Keeps the first TORN_MAX_VIOLATIONS_PER_CRITERION of
 * each criterion (TORN_MAX_VIOLATIONS_KEPT in all), so a flood of one kind
 * never hides another; counts every one, also per criterion in
 * metrics["violations_by_criterion"]. */
void torn_result_violation(struct torn_result *r, const char *criterion, const char *key,
                           double t_s, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same, naming the history process (ctx->slot of the worker) whose
 * last operation on key invoked at or before t_s shows the violation; the
 * HTML report marks it and the write or reads around it.  process -1 is
 * torn_result_violation. */
void torn_result_violation_op(struct torn_result *r, const char *criterion, const char *key,
                              double t_s, int process, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Mark the result ERROR with a message (copied). */
void torn_result_error(struct torn_result *r, int code, const char *msg);
/* Set metrics[name] = number / string. */
void torn_result_metric(struct torn_result *r, const char *name, double value);
void torn_result_metric_str(struct torn_result *r, const char *name, const char *value);

/* How far r->replay can be trusted, for the "replay" line: "" when it
 * replays exactly, else e.g. "reproduced in 2 of 3 re-runs with the same
 * seed; the OS decides the interleaving".  Always NUL-terminated. */
void torn_result_replay_note(const struct torn_result *r, char *buf, size_t len);

/* What a violation's criterion is about, for pipelines that treat them
 * differently (JSON "kind", JUnit failure type): "budget" for "budget:...",
 * "regression" for "regression:...", else "correctness".  Static. */
const char *torn_criterion_kind(const char *criterion);

/* Static names. */
const char *torn_verdict_name(enum torn_verdict v);   /* "PASS", ... */
const char *torn_op_name(enum torn_op op);            /* "update", ... */

/* Operations per second over the whole scenario: ok+fail+info of every op
 * kind but RESET and RECOVER, divided by duration. */
double torn_result_ops_per_s(const struct torn_result *r);

/* ---- open-loop latency (torn run --rate OPS) ----
 *
 * Closed loop (the default), each worker issues its next operation when the
 * previous one returns, and latency is measured from the actual start: when
 * the target stalls, the workers stall with it and the operations that would
 * have waited are never issued, so the percentiles hide the stall
 * ("coordinated omission").  Open loop, operations are due at fixed
 * intervals (rate ops/s over all workers) and each is measured twice on the
 * same samples: from its actual start (uncorrected, the service time) and
 * from its intended start on the schedule (corrected, what a client arriving
 * at that moment would have waited: wrk2's method).  Since an operation never
 * starts before it is due, corrected >= uncorrected for every operation and
 * so for every percentile. */
#define TORN_OPENLOOP_LATE_NS 1000000ull /* an operation started later than
                                           this after it was due is late */
struct torn_openloop {
    double rate;                              /* scheduled ops/s, all workers */
    struct torn_hdr uncorrected[TORN_OP_COUNT]; /* end - actual start, ns */
    struct torn_hdr corrected[TORN_OP_COUNT];   /* end - intended start, ns */
    uint64_t n_late[TORN_OP_COUNT];           /* started over 1 ms after due */
};

/* Mark r as an open-loop run at rate ops/s (allocates r->openloop, freed by
 * torn_result_free); 0, or TORN_E_NOMEM. */
int torn_result_openloop(struct torn_result *r, double rate);
/* Record one open-loop operation of kind op, given monotonic nanoseconds
 * (torn_now_ns) when it was due, when it actually started and when it
 * ended.  A no-op unless torn_result_openloop was called.  Not thread-safe
 * (the scenario's parent process records what its workers report). */
void torn_result_openloop_op(struct torn_result *r, enum torn_op op, uint64_t due_ns,
                             uint64_t start_ns, uint64_t end_ns);
/* One open-loop sample into two histograms and a late count (the rule
 * torn_result_openloop_op and the shared-memory slots of proc.h share). */
void torn_openloop_sample(struct torn_hdr *uncorrected, struct torn_hdr *corrected,
                         uint64_t *late, uint64_t due_ns, uint64_t start_ns, uint64_t end_ns);
/* Whether op has open-loop samples in r. */
int torn_result_openloop_has(const struct torn_result *r, enum torn_op op);

#endif

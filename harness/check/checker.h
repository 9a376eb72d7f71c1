/* torn: the checker plug point.
 *
 * A checker reads a recorded history (history_read.h) and decides whether it
 * satisfies a consistency model: linearizable register / CAS register /
 * key-value map, version order, event ordering, state transitions.  Each
 * checker lives in harness/check/<name>.c, exports one
 * `const struct torn_checker_ops`, and is listed in the checker table of
 * harness/core/registry_checkers.c (torn_checker_find).  Scenarios call
 * them on the history they recorded:
 *
 *   struct torn_check_result res;
 *   torn_check_result_init(&res);
 *   rc = torn_checker_find("version")->check(hist, &opts, &res, err);
 *   torn_check_to_result(&res, hist, ctx->result, ctx->t0_ns);
 *   torn_check_result_free(&res);
 *
 * A violation carries a minimal counterexample: the few operations involved
 * (indices into hist->ops, in time order) and any related fault/notify
 * events, which torn_check_print shows with their times.
 */
#ifndef TORN_CHECKER_H
#define TORN_CHECKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;
struct torn_err;
struct torn_hist;
struct torn_result;

#define TORN_CHECKER_OPS_V1 1

enum torn_check_verdict {
    TORN_CHECK_VALID,     /* the history satisfies the model */
    TORN_CHECK_INVALID,   /* at least one violation (see violations) */
    TORN_CHECK_UNKNOWN    /* the time or memory bound was reached first */
};

struct torn_check_opts {
    double time_limit_s;          /* 0 = no limit; search checkers give up with UNKNOWN */
    size_t mem_limit;             /* bytes of search memory, 0 = no limit */
    const struct cJSON *transitions; /* state-transition table (check_transitions), or NULL
                                        for the built-in job table */
    const char *status_field;     /* field holding the state, NULL = "status" */
    int no_minimize;              /* 1: report the first failing window unshrunk */
    int first_failure;            /* 1: the linearizability checkers stop searching keys
                                     once one fails (torn check's default; --all-keys
                                     clears it); 0: every key */
};

struct torn_check_violation {
    char *criterion;              /* "not-linearizable", "stale-read", ... */
    char *key;                    /* or NULL */
    char *message;                /* one line a person can act on */
    size_t *ops;                  /* counterexample: indices into hist->ops, by invoke time */
    size_t n_ops;
    size_t *events;               /* related indices into hist->events */
    size_t n_events;
};

#define TORN_CHECK_MAX_KEPT 100

struct torn_check_result {
    enum torn_check_verdict verdict;
    struct torn_check_violation *violations;  /* the first TORN_CHECK_MAX_KEPT */
    size_t n_violations;          /* kept */
    size_t n_violations_total;    /* found */
    char *unknown_reason;         /* when UNKNOWN: which bound, on which key */
    size_t *partial;              /* when UNKNOWN (or INVALID, linearizability): the
                                     longest partial linearization found, op indices in
                                     linearization order */
    size_t n_partial;
    size_t n_ops_checked;         /* operations the model looked at */
    size_t n_keys;                /* partitions */
    size_t n_keys_unsearched;     /* keys left unsearched after the first failure
                                     (opts.first_failure) */
    uint64_t n_states;            /* search states explored (search checkers) */
    size_t mem_peak;              /* bytes of search memory at the peak */
    double elapsed_s;
};

struct torn_checker_ops {
    int version;                  /* TORN_CHECKER_OPS_V1 */
    const char *name;             /* the --model name: "register", "version", ... */
    const char *summary;          /* one line for --help */
    /* Check h.  Returns 0 when a verdict (VALID/INVALID/UNKNOWN) was reached
     * and written to res (initialised by the caller), or a negative torn_code
     * when the history cannot be checked with this model (e.g. TORN_E_CONFIG:
     * an operation the model does not know; err->msg names FILE:LINE). */
    int (*check)(const struct torn_hist *h, const struct torn_check_opts *opts,
                 struct torn_check_result *res, struct torn_err *err);
};

/* The checker table (harness/core/registry_checkers.c): the checker called
 * name, or NULL (also when its version is not TORN_CHECKER_OPS_V1); every checker. */
const struct torn_checker_ops *torn_checker_find(const char *name);
const struct torn_checker_ops *const *torn_checkers(size_t *n_out);

/* The transactional model of a history whose operations are all `txn`
 * ("list-append" when a micro-operation appends, "rw-register" when one
 * writes), or NULL when it is not one (check/txn.c). */
const char *torn_check_txn_model(const struct torn_hist *h);

/* Result lifecycle: init to VALID and empty; free everything inside (the
 * struct itself belongs to the caller). */
void torn_check_result_init(struct torn_check_result *res);
void torn_check_result_free(struct torn_check_result *res);

/* Record a violation (copies criterion, key, the message and the arrays) and
 * set INVALID.  Keeps the first TORN_CHECK_MAX_KEPT, counts all.  Returns 0
 * or TORN_E_NOMEM. */
int torn_check_violation(struct torn_check_result *res, const char *criterion, const char *key,
                         const size_t *ops, size_t n_ops, const size_t *events, size_t n_events,
                         const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Print the verdict, every kept violation and its counterexample (each
 * operation with process, f, input, outcome, output, invoke/complete times
 * relative to the first event, and file lines) to f. */
void torn_check_print(FILE *f, const struct torn_hist *h, const struct torn_check_result *res);
/* The same as a JSON object (caller cJSON_Deletes); NULL on ENOMEM. */
struct cJSON *torn_check_json(const struct torn_hist *h, const struct torn_check_result *res,
                              const char *model);
/* Copy the violations into a scenario result (criterion, key, evidence =
 * message plus the counterexample on one line each op; t_s from t0_ns).
 * UNKNOWN adds nothing (a scenario decides what an unknown means). */
void torn_check_to_result(const struct torn_check_result *res, const struct torn_hist *h,
                          struct torn_result *r, uint64_t t0_ns);
/* One line describing op i: "p3 cas [1 4] -> ok  t=1.204-1.209 ms  (lines 12,15)". */
void torn_check_describe_op(const struct torn_hist *h, size_t i, char *buf, size_t len);

struct torn_ctx;
/* For scenarios: check the part of the run history this scenario recorded
 * (operations invoked and events at or after ctx->t0_ns, read back from
 * ctx->history's file once the workers are done) with the named model, copy
 * the violations into ctx->result, and record metrics check_<model>_ops and,
 * when the bound was reached, check_<model>_unknown.  opts NULL = a 30 s,
 * 1 GiB bound.  Returns the verdict (enum torn_check_verdict, >= 0) or a
 * negative torn_code (TORN_E_UNSUPPORTED when the run records no history). */
int torn_check_ctx(struct torn_ctx *ctx, const char *model, const struct torn_check_opts *opts,
                   struct torn_err *err);


#endif

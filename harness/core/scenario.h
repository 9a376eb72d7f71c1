/* torn: the scenario plug point.
 *
 * A scenario drives a target under a fault and checks acceptance criteria.
 * Each lives in scenarios/<name>.c and exports one
 * `const struct torn_scenario_ops`, listed in harness/core/registry.c; its
 * documented, user-editable parameter file is scenarios/<name>.json.
 *
 * The runner gives the scenario a context: the target (set up, CLOSED), the
 * merged parameters, a seed, a result to fill, the history log.  The
 * scenario opens the target itself (or forks workers that do, see proc.h),
 * and must return within its duration plus a bounded grace even when the
 * target hangs: every wait has a timeout (ctx->timeout_ms).
 *
 * Determinism: every random decision comes from ctx->rng or from generators
 * seeded from ctx->seed, so the same seed takes the same decisions.
 */
#ifndef TORN_SCENARIO_H
#define TORN_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "util.h"

struct cJSON;
struct torn_err;
struct torn_target;
struct torn_history_log;
struct torn_stats;
struct torn_fs;
struct torn_kv;
struct torn_work_need;
struct torn_pace;

#define TORN_SCENARIO_OPS_V1 1

struct torn_ctx {
    struct torn_target *target;   /* set up and closed; open it to use it */
    const struct cJSON *params;   /* effective parameters (object), validated
                                     against the scenario's defaults */
    uint64_t seed;                /* this scenario's seed (derived from the
                                     run seed and the scenario name) */
    struct torn_rng rng;          /* seeded from seed */
    struct torn_result *result;   /* fill violations and metrics here */
    struct torn_history_log *history; /* event log, may be NULL */
    const char *run_dir;          /* where artifacts go (exists) */
    int timeout_ms;               /* bound on any single wait */
    int quiet;                    /* no progress output */
    uint64_t t0_ns;               /* torn_now_ns() when the scenario started */
    struct torn_stats *stats;     /* shared-memory latency slots (proc.h) */
    int slot;                     /* this process's stats slot: 0 parent,
                                     1.. workers; set by torn_child_spawn */
    struct torn_fs *fs;           /* torn-fs mounted under the target's data
                                     (--fs torn, or a scenario flagged
                                     TORN_SCENARIO_NEEDS_FS), else NULL; see
                                     tornfs.h.  Parent process only. */
    uint64_t deadline_ns;         /* torn_now_ns() after which the scenario
                                     starts no new work: t0 + its duration_s
                                     parameter, or + --duration for one
                                     without; 0 = none.  See torn_ctx_sleep. */
    int stop_at_violation;        /* 1 (torn run's default): once the result
                                     holds a violation the verdict is FAIL
                                     whatever follows, so torn_ctx_expired
                                     ends the scenario's plan there; 0 with
                                     --all-violations (run the whole plan
                                     and count every violation) */
    uint64_t due_ns;              /* open loop: when this process's current
                                     operation was due (torn_ctx_pace); the
                                     next torn_ctx_op takes it and clears
                                     it.  0: closed loop. */
};

/* torn_scenario_ops.flags */
enum {
    TORN_SCENARIO_NEEDS_FS = 1u << 0, /* the runner mounts torn-fs over the
                                         run directory before target setup */
    TORN_SCENARIO_REPLAYS_EXACTLY = 1u << 1 /* the seed decides every event the
                                         verdict rests on (no race the OS
                                         schedules), so one replay run
                                         reproduces it; without this flag the
                                         replay line carries --until-fail and
                                         a measured reproduction rate */
};

/* A numeric parameter's kind and allowed range, declared by the scenario
 * next to its defaults and enforced when parameters are merged, before
 * anything runs: a value outside is refused with one line naming the
 * parameter and the range (exit 2).  Counts that must do work have min 1. */
struct torn_param_range {
    const char *name;
    int integer;                  /* 1: integers only; 0: any finite number */
    double min, max;
};
#define TORN_PARAM_INT(name, lo, hi) {(name), 1, (lo), (hi)}
#define TORN_PARAM_REAL(name, lo, hi) {(name), 0, (lo), (hi)}
/* Shared bounds: a record payload (bytes), a delay (ms), a duration (s, 0 =
 * none), processes of one scenario (stats slots: workers + readers <= 256). */
#define TORN_PARAM_MAX_PAYLOAD (8 * 1024 * 1024)
#define TORN_PARAM_MAX_MS 3600000
#define TORN_PARAM_MAX_DURATION 86400
#define TORN_PARAM_MAX_WORKERS 64

struct torn_scenario_ops {
    int version;                  /* TORN_SCENARIO_OPS_V1; torn_params_merge,
                                     which a run calls for every scenario
                                     before any starts, refuses any other */
    const char *name;             /* "crash-midwrite" */
    const char *summary;          /* one line for `torn list` */
    unsigned needs;               /* enum torn_cap bits the target must have */
    const char *defaults;         /* JSON object text: every parameter and its
                                     default; unknown parameters are refused */
    /* Run to a verdict.  Return 0 when a verdict was reached (PASS/FAIL in
     * ctx->result), a negative torn_code when the scenario could not run
     * (the runner reports ERROR, exit 2).  Violations are never errors. */
    int (*run)(struct torn_ctx *ctx, struct torn_err *err);
    unsigned flags;               /* TORN_SCENARIO_* bits; 0 for most */
    const struct torn_param_range *ranges; /* every number in defaults:
                                     kind and range; ends with {NULL} */
    const struct torn_work_need *work; /* the work that makes a verdict mean
                                     something, ended by a NULL counter
                                     (work.h); the runner turns a shortfall
                                     into ERROR.  NULL: none declared. */
};

/* Parameters, read from ctx->params (validated, so present and typed). */
long long torn_param_int(const struct torn_ctx *ctx, const char *name);
double torn_param_num(const struct torn_ctx *ctx, const char *name);
const char *torn_param_str(const struct torn_ctx *ctx, const char *name);
const struct cJSON *torn_param(const struct torn_ctx *ctx, const char *name);

/* Seconds since the scenario started. */
double torn_ctx_elapsed(const struct torn_ctx *ctx);
/* 1 when ctx->deadline_ns has passed, a stop was requested, or
 * torn_ctx_violated says so: where a scenario starts no new cycle, round or
 * job. */
int torn_ctx_expired(const struct torn_ctx *ctx);
/* 1 when ctx->stop_at_violation is set and ctx->result already holds a
 * violation; it then marks the result stopped_at_violation (the plan was
 * cut short on purpose, and the reports say so).  For a scenario whose loop
 * has no time limit to check. */
int torn_ctx_violated(const struct torn_ctx *ctx);
/* Sleep ns, cut short at ctx->deadline_ns (or a stop request): a delay
 * never carries a scenario past its --duration.  Returns 1 if cut. */
int torn_ctx_sleep(const struct torn_ctx *ctx, uint64_t ns);
/* torn_now_ns() + ns, but no later than ctx->deadline_ns (when set): the
 * end of a wait that must not outlive the scenario. */
uint64_t torn_ctx_until(const struct torn_ctx *ctx, uint64_t ns);
/* Record latency and outcome of one operation into this process's slot.
 * Safe in forked workers (shared memory, one slot per process).  When
 * ctx->due_ns is set (open loop), the operation is also recorded as an
 * open-loop sample due then, started ns before now (proc.h,
 * torn_stats_record_due), and due_ns is cleared.  Time the process spent
 * waiting for its turn under --max-rate (throttle.h) since the last call is
 * taken off ns: it is torn's wait, not the target's. */
void torn_ctx_op(struct torn_ctx *ctx, enum torn_op op, enum torn_outcome out, uint64_t ns);

/* Open loop for any scenario with a steady operation stream and a "rate"
 * parameter (torn run --rate): a worker process index of n_workers starts
 * its schedule with torn_ctx_pace_init (rate: the parameter, 0 or absent =
 * closed loop; no operation due in the last tenth of the time up to
 * ctx->deadline_ns, so the last ones can finish), then calls
 * torn_ctx_pace before each of its operations: it waits until the
 * operation is due and sets ctx->due_ns, so the operation's first
 * torn_ctx_op (the step that starts it) is measured both from its start and
 * from when it was due.  torn_ctx_pace returns 1 when an operation may
 * start, 0 when the schedule is over or a stop was requested (closed loop:
 * 1 at once unless a stop was requested).  The runner adds the samples to
 * the result's open-loop figures (result.h, struct torn_openloop). */
void torn_ctx_pace_init(const struct torn_ctx *ctx, struct torn_pace *p, int n_workers,
                        int index);
int torn_ctx_pace(struct torn_ctx *ctx, struct torn_pace *p);

/* Merge parameters of scenario s (TORN_E_CONFIG when s->version is not
 * TORN_SCENARIO_OPS_V1): its defaults, then the spec's params
 * (spec_path names them in messages), then overrides (--set, and the
 * "?name" soft ones from --workers, --duration, --rate, which apply only
 * where the scenario has the parameter).  Names must exist, types match,
 * numbers are parsed strictly (parse.h) and checked against s->ranges.
 * TORN_E_CONFIG naming where a bad value came from; *out is a new object
 * the caller frees. */
int torn_params_merge(const struct torn_scenario_ops *s, const struct cJSON *spec_params,
                      const char *spec_path, const struct torn_kv *sets, size_t n_sets,
                      struct cJSON **out, struct torn_err *err);
/* The declared range of numeric parameter name of s, or NULL. */
const struct torn_param_range *torn_param_range_find(const struct torn_scenario_ops *s,
                                                     const char *name);
/* Load a scenario spec file {"scenario": name, "params": {...}} (strict
 * JSON, see torn_parse_json); *name_out points into *spec_out. */
int torn_spec_load(const char *path, struct cJSON **spec_out, const char **name_out,
                   struct torn_err *err);

/* Registry (harness/core/registry.c). */
const struct torn_scenario_ops *torn_scenario_find(const char *name);
const struct torn_scenario_ops *const *torn_scenarios(size_t *n_out);

#endif

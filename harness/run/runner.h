/* torn: the runner: builds targets and scenario contexts from options, runs
 * every scenario against every target, writes reports atomically (after each
 * scenario, and on SIGINT/SIGTERM), and reaps every child on every path. */
#ifndef TORN_RUNNER_H
#define TORN_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "core/target.h"
#include "run/shard.h"

struct cJSON;
struct torn_err;
struct torn_gate;
struct torn_reporter_ops;

struct torn_report_req {
    const struct torn_reporter_ops *ops;
    const char *path;            /* "-" = stdout */
};

/* --repro-runs when not given: after a FAIL of a scenario that does not
 * replay exactly, re-run it this many times with the same seed (within
 * TORN_REPRO_BUDGET_S of re-running) to print how often it reproduces. */
#define TORN_DEFAULT_REPRO_RUNS 3
#define TORN_REPRO_BUDGET_S 5.0
/* What the replay line of such a scenario adds: --until-fail N. */
#define TORN_REPLAY_UNTIL_FAIL 20

/* --timeout-ms when not given. */
#define TORN_DEFAULT_TIMEOUT_MS 5000

struct torn_run_opts {
    const char **targets;        /* URIs; none = "file" */
    size_t n_targets;
    const char **scenarios;      /* names or spec paths; none = the standard set */
    size_t n_scenarios;
    const char **skips;          /* --skip: scenario names left out */
    size_t n_skips;
    const struct torn_kv *target_opts; /* --target-opt k=v */
    size_t n_target_opts;
    const struct torn_kv *sets;  /* --set k=v scenario parameter overrides */
    size_t n_sets;
    const char *target_spec;     /* --target-spec FILE */
    uint64_t seed;
    int seed_given;
    double duration_s;           /* < 0: scenario default */
    long long workers;           /* <= 0: scenario default */
    struct torn_report_req reports[16];
    size_t n_reports;
    const char *history_path;    /* NULL: run_dir/history.jsonl */
    uint64_t history_max;        /* --history-max: cap in bytes, 0 = default */
    const char *run_dir;         /* where torn makes its own fresh run
                                    directory; NULL: $TMPDIR or /tmp */
    int allow_remote;
    int timeout_ms;              /* default TORN_DEFAULT_TIMEOUT_MS */
    int quiet;
    int color;
    int keep;                    /* keep the run dir even when all passed */
    const char *command_line;    /* for reports: redacted and shell-quoted
                                    (torn_command_line) */
    const char *fs;              /* --fs torn[:MODEL]: torn-fs under every
                                    target's data (see tornfs.h), or NULL */
    int until_fail;              /* --until-fail N: run each scenario again
                                    with the same seed while it passes, at
                                    most N attempts; 0 one run */
    int repro_runs;              /* --repro-runs N (see above); 0 none */
    int all_violations;          /* --all-violations: a scenario runs its
                                    whole plan after a violation (counting
                                    them all); default: it stops at the
                                    first (scenario.h, stop_at_violation) */
    double rate;                 /* --rate OPS: open loop at OPS operations/s
                                    over all workers, where a scenario supports
                                    it (parameter "rate"); <= 0 closed loop */
    long long max_ops;           /* --max-ops N: the run stops after N target
                                    operations in all (throttle.h); 0 none */
    double max_rate;             /* --max-rate OPS: run-wide, at most OPS
                                    target operations/s; 0 none */
    struct torn_shard shard;     /* --shard I/N (shard.h); index 0 = all */
    struct torn_gate *gate;      /* release gate (gate/gate.h): budgets, a
                                    baseline, counters, judged on every
                                    result; NULL none */
    const char *suite_path;      /* --suite FILE: replay lines rerun it */
    struct cJSON *const *scenario_specs; /* parallel to scenarios, or NULL:
                                    an inline spec {"scenario", "params"}
                                    (a suite file's), scenarios[i] its label */
    const char *prom_push;       /* --prom-push URL: a Pushgateway, or NULL */
};

/* Run; returns the process exit code (0 pass, 1 violation, 2 error). */
int torn_run(const struct torn_run_opts *o);
/* 1 if a report goes to stdout ("-"): then stdout carries only that report,
 * and the results table, annotations and notes go to stderr. */
int torn_run_stdout_taken(const struct torn_run_opts *o);


#endif

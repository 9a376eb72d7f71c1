/* torn: suite files: a release gate checked into the user's repository.
 *
 * One JSON object (strict JSON like scenario specs: a key given twice,
 * text after the value, an unknown field are refused), every field
 * optional:
 *
 *   {
 *     "name": "research-service pre-deploy",
 *     "targets": ["http"],                       target URIs (--target)
 *     "target_spec": "examples/research-service/managed.json",
 *     "target_opts": {"k": "v"},                 (--target-opt k=v)
 *     "scenarios": [                             names, spec files, or
 *       "crash-midwrite",                        inline specs
 *       {"scenario": "concurrent-updaters", "name": "updaters-8",
 *        "params": {"workers": 8, "duration_s": 10}}
 *     ],
 *     "seed": 42,                                or "seeds": [1, 2, 3]: the
 *                                                whole plan once per seed
 *     "budgets": ["update.p99<500ms", "*.error_rate<0.1%"],    (budget.h)
 *     "baseline": {"report": "last-release.json",
 *                  "allow": {"p99": "20% or 5ms"}},           (baseline.h)
 *     "reports": {"json": "torn.json", "junit": "torn.xml"},  reporter: path
 *     "limits": {"duration_s": 10, "workers": 4, "rate": 200,
 *                "timeout_ms": 5000, "until_fail": 3, "history_max_mib": 64}
 *   }
 *
 * Paths are relative to the directory torn runs in (the repository root in
 * a pipeline), like every other path torn is given.  Every error is one
 * line naming the file, the path inside it and the field:
 *   suite ci/torn.json: scenarios[1].params: parameter "wokers": ...
 * Command-line options override the file: --target/--scenario replace its
 * lists, --seed/--duration/--workers/--rate/... its values, a --budget on
 * the same figure replaces its budget, --baseline its baseline, a report
 * option for the same reporter its path.
 */
#ifndef TORN_GATE_SUITE_H
#define TORN_GATE_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "run/runner.h"

struct cJSON;
struct torn_err;
struct torn_gate;

struct torn_suite {
    char *path;
    struct cJSON *doc;           /* the file; the strings below point in it */
    const char *name;
    const char **targets;
    size_t n_targets;
    const char *target_spec;
    struct torn_kv *target_opts;
    size_t n_target_opts;
    const char **scenarios;      /* labels: the name or spec path, or the
                                    inline spec's "name" or "scenario" */
    struct cJSON **specs;        /* inline specs, parallel; NULL entries */
    size_t n_scenarios;
    uint64_t seed;
    int has_seed;
    uint64_t *seeds;             /* "seeds": the plan once per seed, or NULL */
    size_t n_seeds;
    const char **budgets;
    size_t n_budgets;
    const char *baseline;
    struct cJSON *allow;         /* {"metric": "allowance"}, or NULL */
    struct torn_report_req reports[16];
    size_t n_reports;
    double duration_s;           /* < 0: not set */
    long long workers;           /* 0: not set */
    double rate;                 /* 0: not set */
    long long max_ops;           /* 0: not set */
    double max_rate;             /* 0: not set */
    int timeout_ms, until_fail;  /* 0: not set */
    uint64_t history_max;        /* bytes, 0: not set */
    double soak_s;               /* 0: not set */
    int stop_on_fail;
};

/* Load and check path entirely without touching anything it names but
 * reading its files (scenario specs, target spec, baseline): scenario
 * names and parameters, target URIs, budgets, allowances, reporter names
 * and whether report paths could be written.  *out is the caller's
 * (torn_suite_free).  TORN_E_CONFIG with one line. */
int torn_suite_load(const char *path, struct torn_suite **out, struct torn_err *err);
void torn_suite_free(struct torn_suite *s);

/* What `torn run` was given about the gate on its command line. */
struct torn_gate_cli {
    const char *suite;
    const char **budgets, **allows;
    size_t n_budgets, n_allows;
    const char *baseline;
    int dry_run;
    double soak_s;               /* --soak, 0 none */
    int stop_on_fail;
    struct torn_suite *loaded;   /* set by torn_gate_cli_apply */
    struct torn_gate *gate;      /* idem */
};

/* Record one of torn run's gate options (0 suite, 1 budget, 2 baseline,
 * 3 allow, 4 dry-run, 5 soak, 6 stop-on-fail); 0, or -1 after printing
 * the error. */
int torn_gate_cli_opt(struct torn_gate_cli *c, int which, const char *arg);
/* Load the suite (if any) and the gate, and fill what the command line
 * left unset in o (see above).  0, or 2 after printing one line. */
int torn_gate_cli_apply(struct torn_gate_cli *c, struct torn_run_opts *o);
void torn_gate_cli_free(struct torn_gate_cli *c);

/* torn run --dry-run: print the plan of o to f (targets, scenarios and
 * their effective parameters, keys, rates, budgets, baseline, reports,
 * the longest it can take) and touch nothing.  0, or 2 after printing
 * one line (a bad scenario parameter). */
int torn_gate_dry_run(const struct torn_run_opts *o, FILE *f);

#endif

/* torn: `torn run` and `torn list`. */
#include "command.h"
#include "args.h"
#include "color.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/report.h"
#include "run/runner.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "gate/suite.h"

enum {
    OPT_TARGET = 256, OPT_TARGET_SPEC, OPT_TARGET_OPT, OPT_SCENARIO, OPT_SEED, OPT_DURATION,
    OPT_WORKERS, OPT_SET, OPT_ALLOW_REMOTE, OPT_TIMEOUT, OPT_HISTORY, OPT_QUIET, OPT_NO_COLOR,
    OPT_KEEP, OPT_RUN_DIR, OPT_HELP, OPT_FS, OPT_RATE, OPT_MAX_OPS, OPT_MAX_RATE,
    OPT_UNTIL_FAIL, OPT_REPRO_RUNS, OPT_HISTORY_MAX, OPT_COLOR, OPT_PROM_PUSH, OPT_SHARD,
    OPT_ALL_VIOLATIONS, OPT_PROBE, OPT_SKIP,
    OPT_SUITE, OPT_BUDGET, OPT_BASELINE, OPT_ALLOW, OPT_DRY_RUN, OPT_SOAK, OPT_STOP_ON_FAIL,
    /* (the gate's, in this order: gate/suite.h) */
    OPT_REPORTER /* + index of the reporter */
};

/* The environment variable naming a reporter's path: --json -> TORN_JSON. */
static void report_env_name(const struct torn_reporter_ops *ops, char *buf, size_t len)
{
    size_t i = 0;

    for (const char *p = "TORN_"; *p && i + 1 < len; p++)
        buf[i++] = *p;
    for (const char *p = ops->option + 2; *p && i + 1 < len; p++)
        buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[i] = 0;
}

static void run_usage(FILE *f)
{
    size_t n;
    const struct torn_reporter_ops *const *reps = torn_reporters(&n);

    fputs("usage: torn run [options]\n"
          "\n"
          "Run scenarios against targets and check their acceptance criteria.\n"
          "With no options: the standard scenarios against the embedded file store\n"
          "(strategy durable) in a fresh temporary directory.\n"
          "\n"
          "  --target URI          target to test (repeatable; default: file). Forms:\n"
          "                          NAME[:STRATEGY]            file:naive, redis:watch\n"
          "                          NAME:LOCATION[?k=v&...]    file:/data/jobs?strategy=rename\n"
          "                          URL[?strategy=S&k=v]       redis://127.0.0.1:6379/0?strategy=lua\n"
          "                        `torn list` shows targets and strategies\n"
          "  --target-spec FILE    target description (HTTP targets)\n"
          "  --target-opt K=V      extra target parameter (repeatable)\n"
          "  --scenario NAME|FILE  scenario name or JSON spec file (repeatable)\n"
          "  --skip NAME           leave scenario NAME out of the run (repeatable), e.g.\n"
          "                        power-loss and io-errors for a store whose data does\n"
          "                        not live under TORN_DATA_DIR\n"
          "  --seed N              seed for every random decision (default: random, printed)\n"
          "  --duration S          bound every scenario to S seconds (0 = no bound): no\n"
          "                        new cycle, round or job after it, delays cut at it;\n"
          "                        default: each scenario's duration_s\n"
          "  --workers N           concurrent workers, where the scenario has them\n"
          "  --rate OPS            open loop: OPS operations/s over all workers, each\n"
          "                        measured also from when it was due (coordinated\n"
          "                        omission corrected); where the scenario has it\n"
          "                        (concurrent-updaters, durability, failover,\n"
          "                        dual-write, event-before-persist, safe-read-http);\n"
          "                        default closed loop\n"
          "  --max-ops N           staging safety: after N target operations in all\n"
          "                        (every scenario, worker, target, round) torn stops\n"
          "                        as on SIGINT: no new work, the closing reads still\n"
          "                        run, results so far kept, exit 2\n"
          "  --max-rate OPS        staging safety: at most OPS target operations/s\n"
          "                        run-wide, whatever --rate and --workers say\n"
          "  --set K=V             override a scenario parameter (repeatable); numbers\n"
          "                        are checked against its range: `torn list --params`\n"
          "  --until-fail N        run each scenario again with the same seed while it\n"
          "                        passes, at most N attempts; exit 1 at the first FAIL\n"
          "                        (its attempt is reported), 0 when none failed\n"
          "  --probe               only read records that exist (--set ids=ID,...) on the\n"
          "                        --target: the probe scenario; every write, damage or\n"
          "                        fault torn would send is refused before the target\n"
          "  --all-violations      a scenario runs its whole plan after a violation and\n"
          "                        reports every one; default: it stops at the first\n"
          "                        (the verdict is FAIL either way; its note says so)\n"
          "  --repro-runs N        after a FAIL whose interleaving the OS decides, re-run\n"
          "                        it N times with the same seed (default 3, at most 5 s\n"
          "                        of re-runs) and print how often it reproduced\n"
          "  --timeout-ms N        bound on every network or child wait (default 5000)\n"
          "  --allow-remote        allow non-loopback targets (refused by default)\n"
          "  --prom-push URL       push the Prometheus report (--prom) to a Pushgateway\n"
          "                        (http://HOST:9091; group /metrics/job/torn) at the end;\n"
          "                        loopback unless --allow-remote; a failed push exits 2\n"
          "  --history FILE        write the event history here (default: run dir)\n"
          "  --history-max MIB     cap on the history (default 256); later events are\n"
          "                        dropped, counted and reported\n"
          "  --run-dir DIR         torn makes its own fresh directory (data, history,\n"
          "                        artifacts) inside DIR (default: $TMPDIR or /tmp)\n"
          "  --keep                keep the run directory even when everything passed\n"
          "  --fs torn[:MODEL]     put every target's data on torn-fs (power loss, I/O\n"
          "                        faults; MODEL process|power|fsync-fail; automatic for\n"
          "                        power-loss and io-errors)\n"
          "  --shard I/N           run only shard I of N: entry k (target x scenario,\n"
          "                        in run order) runs in shard k mod N + 1; give every\n"
          "                        shard the same --seed, merge with `torn merge`\n"
          "  --suite FILE          a suite file: targets, scenarios, budgets, baseline,\n"
          "                        reports, limits (README \"Pre-deploy verification\");\n"
          "                        the options here override it\n"
          "  --budget EXPR         a performance budget judged like any criterion\n"
          "                        (repeatable): update.p99<500ms, *.error_rate<0.1%,\n"
          "                        concurrent-updaters:update.throughput>50/s\n"
          "  --baseline FILE       compare with a previous --json report: a regression\n"
          "                        beyond its allowance is a violation\n"
          "  --allow M=AMOUNT      allowance for --baseline (repeatable): p99=20% or 5ms,\n"
          "                        error_rate=0.5%, p50=off (default p50, p99 25% or\n"
          "                        10ms, error_rate 1 point)\n"
          "  --dry-run             print the plan and touch nothing\n"
          "  --soak DURATION       run the plan in rounds until DURATION (90s, 10m, 24h)\n"
          "                        is up; keeps every FAIL/ERROR and the last round,\n"
          "                        prints a line with VmRSS after each round\n"
          "  --stop-on-fail        with --soak: stop after the round of the first FAIL\n"
          "  --quiet               only the results table\n"
          "  --color[=WHEN]        ANSI colours: auto (default: only on a terminal, not\n"
          "                        with NO_COLOR set, TERM=dumb or CI set), always, never\n"
          "  --no-color            same as --color=never\n",
          f);
    for (size_t i = 0; i < n; i++)
        if (reps[i]->option) {
            char opt[32];
            snprintf(opt, sizeof opt, "%s FILE", reps[i]->option);
            fprintf(f, "  %-21s %s (\"-\" = stdout)\n", opt, reps[i]->summary);
        }
    fputs("                        A report to \"-\" is the only thing on stdout: the results\n"
          "                        table and every other line go to stderr (one report at\n"
          "                        most may go to \"-\")\n"
          "  -h, --help            this help\n"
          "\n"
          "Environment (the options override it):\n"
          "  TORN_TIMEOUT_MS       default of --timeout-ms\n"
          "  TORN_RUN_DIR          default of --run-dir\n"
          "  TORN_PROM_PUSH        default of --prom-push\n",
          f);
    for (size_t i = 0; i < n; i++)
        if (reps[i]->option) {
            char name[40];
            report_env_name(reps[i], name, sizeof name);
            fprintf(f, "  %-21s as %s FILE\n", name, reps[i]->option);
        }
    fputs("  NO_COLOR              no colours with --color=auto; also TERM=dumb, CI\n"
          "  TMPDIR                where run directories go without --run-dir\n"
          "\n"
          "Exit status: 0 every acceptance criterion held, 1 a violation was found,\n"
          "2 usage, configuration or environment error.\n",
          f);
}

static int push(const char ***arr, size_t *n, const char *v)
{
    const char **p = realloc(*arr, (*n + 1) * sizeof *p);

    if (!p)
        return -1;
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

static int push_kv(struct torn_kv **arr, size_t *n, const char *opt, const char *arg)
{
    const char *eq = strchr(arg, '=');
    struct torn_kv *p;

    if (!eq || eq == arg) {
        fprintf(stderr, "torn run: %s expects KEY=VALUE, got '%s'\n", opt, arg);
        return -1;
    }
    p = realloc(*arr, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    p[*n].key = strndup(arg, (size_t)(eq - arg));
    p[*n].value = strdup(eq + 1);
    (*n)++;
    *arr = p;
    return 0;
}

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s)
            s = 0;
        close(fd);
    }
    if (!s)
        s = torn_now_ns() ^ ((uint64_t)getpid() << 32);
    return s % 1000000000000ull; /* short enough to type */
}

static void free_kvs(struct torn_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((void *)kv[i].key);
        free((void *)kv[i].value);
    }
    free(kv);
}

struct cli {
    struct torn_run_opts o;
    struct option longopts[64];
    struct torn_kv *topts, *sets;
    size_t n_topts, n_sets;
    enum torn_color_mode color;
    struct torn_gate_cli gate;
    int probe;
};

/* --probe: the probe scenario only, on targets the user named, with every
 * write refused (torn_target_read_only); 0, or 2 after one line. */
static int probe_plan(struct torn_run_opts *o)
{
    for (size_t i = 0; i < o->n_scenarios; i++)
        if (strcmp(o->scenarios[i], "probe") != 0) {
            fprintf(stderr, "torn run: --probe runs only the probe scenario, not '%s'\n",
                    o->scenarios[i]);
            return 2;
        }
    if (!o->n_targets) {
        fputs("torn run: --probe reads a store or service you name: give --target\n", stderr);
        return 2;
    }
    if (!o->n_scenarios && push(&o->scenarios, &o->n_scenarios, "probe") != 0) {
        fputs("torn run: out of memory\n", stderr);
        return 2;
    }
    torn_target_read_only(1);
    return 0;
}

static void build_longopts(struct cli *c)
{
    static const struct option fixed[] = {
        {"target", required_argument, NULL, OPT_TARGET},
        {"target-spec", required_argument, NULL, OPT_TARGET_SPEC},
        {"target-opt", required_argument, NULL, OPT_TARGET_OPT},
        {"scenario", required_argument, NULL, OPT_SCENARIO},
        {"skip", required_argument, NULL, OPT_SKIP},
        {"seed", required_argument, NULL, OPT_SEED},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"max-ops", required_argument, NULL, OPT_MAX_OPS},
        {"max-rate", required_argument, NULL, OPT_MAX_RATE},
        {"until-fail", required_argument, NULL, OPT_UNTIL_FAIL},
        {"repro-runs", required_argument, NULL, OPT_REPRO_RUNS},
        {"all-violations", no_argument, NULL, OPT_ALL_VIOLATIONS},
        {"set", required_argument, NULL, OPT_SET},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"history-max", required_argument, NULL, OPT_HISTORY_MAX},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"color", optional_argument, NULL, OPT_COLOR},
        {"prom-push", required_argument, NULL, OPT_PROM_PUSH},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"fs", required_argument, NULL, OPT_FS},
        {"run-dir", required_argument, NULL, OPT_RUN_DIR},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"help", no_argument, NULL, OPT_HELP},
        {"suite", required_argument, NULL, OPT_SUITE},
        {"budget", required_argument, NULL, OPT_BUDGET},
        {"baseline", required_argument, NULL, OPT_BASELINE},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"probe", no_argument, NULL, OPT_PROBE},
        {"soak", required_argument, NULL, OPT_SOAK},
        {"stop-on-fail", no_argument, NULL, OPT_STOP_ON_FAIL},
    };
    size_t n = sizeof fixed / sizeof fixed[0], nr;
    const struct torn_reporter_ops *const *reps = torn_reporters(&nr);

    memcpy(c->longopts, fixed, sizeof fixed);
    for (size_t i = 0; i < nr && n < 63; i++) {
        if (!reps[i]->option)
            continue;
        c->longopts[n++] = (struct option){reps[i]->option + 2, required_argument, NULL,
                                           OPT_REPORTER + (int)i};
    }
    memset(&c->longopts[n], 0, sizeof c->longopts[n]);
}

/* One option; 0 ok, -1 usage error (already printed), 1 help printed. */
static int handle_opt(struct cli *c, int opt, const char *arg)
{
    struct torn_run_opts *o = &c->o;
    size_t nr;
    const struct torn_reporter_ops *const *reps = torn_reporters(&nr);
    struct torn_err err;
    double d;

    switch (opt) {
    case OPT_TARGET: return push(&o->targets, &o->n_targets, arg);
    case OPT_TARGET_SPEC: o->target_spec = arg; return 0;
    case OPT_TARGET_OPT: return push_kv(&c->topts, &c->n_topts, "--target-opt", arg);
    case OPT_SET: return push_kv(&c->sets, &c->n_sets, "--set", arg);
    case OPT_SCENARIO: return push(&o->scenarios, &o->n_scenarios, arg);
    case OPT_SKIP: return push(&o->skips, &o->n_skips, arg);
    case OPT_SEED:
        if (torn_arg_u64("run", "--seed", arg, &o->seed))
            return -1;
        o->seed_given = 1;
        return 0;
    case OPT_DURATION:
        if (torn_arg_number("run", "--duration", arg, 0, TORN_PARAM_MAX_DURATION, 0, &d))
            return -1;
        o->duration_s = d;
        return 0;
    case OPT_WORKERS:
        if (torn_arg_number("run", "--workers", arg, 1, 256, 1, &d))
            return -1;
        o->workers = (long long)d;
        return 0;
    case OPT_RATE:
        if (torn_arg_number("run", "--rate", arg, 0.001, 1e7, 0, &d))
            return -1;
        o->rate = d;
        return 0;
    case OPT_MAX_OPS:
        if (torn_arg_number("run", "--max-ops", arg, 1, 1e12, 1, &d))
            return -1;
        o->max_ops = (long long)d;
        return 0;
    case OPT_MAX_RATE:
        if (torn_arg_number("run", "--max-rate", arg, 0.001, 1e7, 0, &d))
            return -1;
        o->max_rate = d;
        return 0;
    case OPT_UNTIL_FAIL:
    case OPT_REPRO_RUNS:
        if (torn_arg_number("run", opt == OPT_UNTIL_FAIL ? "--until-fail" : "--repro-runs", arg,
                            opt == OPT_UNTIL_FAIL ? 1 : 0, 10000, 1, &d))
            return -1;
        *(opt == OPT_UNTIL_FAIL ? &o->until_fail : &o->repro_runs) = (int)d;
        return 0;
    case OPT_TIMEOUT:
        if (torn_arg_number("run", "--timeout-ms", arg, 1, 3600000, 1, &d))
            return -1;
        o->timeout_ms = (int)d;
        return 0;
    case OPT_ALLOW_REMOTE: o->allow_remote = 1; return 0;
    case OPT_ALL_VIOLATIONS: o->all_violations = 1; return 0;
    case OPT_PROBE: c->probe = 1; return 0;
    case OPT_HISTORY: o->history_path = arg; return 0;
    case OPT_HISTORY_MAX:
        if (torn_arg_number("run", "--history-max", arg, 0.01, 1048576, 0, &d))
            return -1;
        o->history_max = (uint64_t)(d * 1048576);
        return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
    case OPT_NO_COLOR: c->color = TORN_COLOR_NEVER; return 0;
    case OPT_COLOR: return torn_color_parse("run", arg, &c->color);
    case OPT_KEEP: o->keep = 1; return 0;
    case OPT_FS: o->fs = arg; return 0;
    case OPT_RUN_DIR: o->run_dir = arg; return 0;
    case OPT_PROM_PUSH: o->prom_push = arg; return 0;
    case OPT_SHARD:
        if (torn_shard_parse(arg, &o->shard, &err)) {
            fprintf(stderr, "torn run: %s\n", err.msg);
            return -1;
        }
        return 0;
    case OPT_HELP: run_usage(stdout); return 1;
    case OPT_SUITE: case OPT_BUDGET: case OPT_BASELINE: case OPT_ALLOW: case OPT_DRY_RUN:
    case OPT_SOAK: case OPT_STOP_ON_FAIL:
        return torn_gate_cli_opt(&c->gate, opt - OPT_SUITE, arg);
    default:
        if (opt >= OPT_REPORTER && opt < OPT_REPORTER + (int)nr && o->n_reports < 16) {
            o->reports[o->n_reports++] = (struct torn_report_req){reps[opt - OPT_REPORTER], arg};
            return 0;
        }
        fprintf(stderr, "torn run: unknown option (see `torn run --help`)\n");
        return -1;
    }
}

/* Defaults from the environment (TORN_TIMEOUT_MS, TORN_RUN_DIR, TORN_JSON,
 * TORN_JUNIT, ...), before the options, which override them.  Returns how
 * many reports it requested (the first ones), or -1 after printing an
 * error naming the variable. */
static int env_defaults(struct cli *c)
{
    size_t nr;
    const struct torn_reporter_ops *const *reps = torn_reporters(&nr);
    const char *v = getenv("TORN_TIMEOUT_MS");
    char name[64];
    double d;
    int n = 0;

    if (v && *v) {
        if (torn_arg_number("run", "TORN_TIMEOUT_MS", v, 1, 3600000, 1, &d))
            return -1;
        c->o.timeout_ms = (int)d;
    }
    if ((v = getenv("TORN_RUN_DIR")) && *v)
        c->o.run_dir = v;
    if ((v = getenv("TORN_PROM_PUSH")) && *v)
        c->o.prom_push = v;
    for (size_t i = 0; i < nr; i++) {
        if (!reps[i]->option)
            continue;
        report_env_name(reps[i], name, sizeof name);
        if ((v = getenv(name)) && *v && c->o.n_reports < 16) {
            c->o.reports[c->o.n_reports++] = (struct torn_report_req){reps[i], v};
            n++;
        }
    }
    return n;
}

/* A report asked for on the command line replaces the environment's. */
static void env_reports_overridden(struct torn_run_opts *o, size_t n_env)
{
    size_t k = 0;

    for (size_t i = 0; i < o->n_reports; i++) {
        int dup = 0;
        for (size_t j = n_env; i < n_env && j < o->n_reports; j++)
            dup |= o->reports[j].ops == o->reports[i].ops;
        if (!dup)
            o->reports[k++] = o->reports[i];
    }
    o->n_reports = k;
}

int torn_cmd_run(int argc, char **argv)
{
    struct cli c;
    int opt, rc, n_env;

    /* Passwords in arguments: invisible in /proc/PID/cmdline from here on
     * (forked workers included); the options keep pointing at copies. */
    torn_scrub_argv(argc, argv);
    memset(&c, 0, sizeof c);
    c.o.duration_s = -1;
    c.o.timeout_ms = TORN_DEFAULT_TIMEOUT_MS;
    c.o.repro_runs = TORN_DEFAULT_REPRO_RUNS;
    build_longopts(&c);
    optind = 1;
    opterr = 0;
    rc = n_env = env_defaults(&c);
    rc = rc < 0 ? -1 : 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "h", c.longopts, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            fprintf(stderr, "torn run: %s '%s' (see `torn run --help`)\n",
                    opt == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            rc = -1;
        } else {
            rc = handle_opt(&c, opt == 'h' ? OPT_HELP : opt, optarg);
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "torn run: unexpected argument '%s' (see `torn run --help`)\n",
                argv[optind]);
        rc = -1;
    }
    if (rc == 0) {
        env_reports_overridden(&c.o, (size_t)n_env);
        c.o.target_opts = c.topts;
        c.o.n_target_opts = c.n_topts;
        c.o.sets = c.sets;
        c.o.n_sets = c.n_sets;
        rc = torn_gate_cli_apply(&c.gate, &c.o); /* the suite fills what is unset */
        if (rc == 0 && c.probe)
            rc = probe_plan(&c.o);
        if (rc == 0 && !c.o.seed_given)
            c.o.seed = random_seed();
        /* The results table goes where the human text goes (runner.h). */
        c.o.color = torn_color_wanted(c.color, torn_run_stdout_taken(&c.o) ? STDERR_FILENO
                                                                           : STDOUT_FILENO);
        if (rc == 0 && c.gate.dry_run) {
            rc = torn_gate_dry_run(&c.o, stdout);
        } else if (rc == 0) {
            c.o.command_line = torn_command_line(argc, argv);
            rc = torn_run(&c.o);
            free((void *)c.o.command_line);
        }
    } else {
        rc = rc > 0 ? 0 : 2;
    }
    free(c.o.targets);
    free(c.o.scenarios);
    free(c.o.skips);
    free_kvs(c.topts, c.n_topts);
    free_kvs(c.sets, c.n_sets);
    torn_gate_cli_free(&c.gate);
    return rc;
}

/* `torn list --params`: every scenario's parameters, defaults and ranges. */
static void list_params(void)
{
    size_t n;
    const struct torn_scenario_ops *const *sc = torn_scenarios(&n);

    for (size_t i = 0; i < n; i++) {
        cJSON *d = cJSON_Parse(sc[i]->defaults ? sc[i]->defaults : "{}");
        const cJSON *f;

        printf("%s%s\n", i ? "\n" : "", sc[i]->name);
        cJSON_ArrayForEach(f, d)
        {
            const struct torn_param_range *r = torn_param_range_find(sc[i], f->string);
            char *v = cJSON_PrintUnformatted(f);

            if (r)
                printf("  %-22s %-12.60s %s %.17g..%.17g\n", f->string, v ? v : "?",
                       r->integer ? "integer" : "number", r->min, r->max);
            else
                printf("  %-22s %.60s\n", f->string, v ? v : "?");
            free(v);
        }
        cJSON_Delete(d);
    }
}

int torn_cmd_list(int argc, char **argv)
{
    size_t n;
    const struct torn_target_ops *const *tg = torn_targets(&n);
    const struct torn_scenario_ops *const *sc;
    char caps[256];

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("usage: torn list [--params]\n\nPrint the targets with their strategies, then the "
             "scenarios with what they need.\n--params: each scenario's parameters (--set "
             "NAME=VALUE), their defaults and\nthe ranges numbers must lie in.");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--params") == 0) {
        list_params();
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "torn list: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    puts("TARGETS (--target NAME[:STRATEGY]; first strategy is the default)");
    for (size_t i = 0; i < n; i++) {
        printf("  %-10s %s\n", tg[i]->name, tg[i]->summary);
        for (const struct torn_strategy *s = tg[i]->strategies; s && s->name; s++)
            printf("      %-16s %s\n", s->name, s->summary);
    }
    puts("\nSCENARIOS (--scenario NAME, or a JSON spec file like scenarios/NAME.json)");
    sc = torn_scenarios(&n);
    for (size_t i = 0; i < n; i++) {
        torn_caps_describe(sc[i]->needs, caps, sizeof caps);
        printf("  %-22s %s\n  %-22s needs: %s\n", sc[i]->name, sc[i]->summary, "", caps);
    }
    return 0;
}

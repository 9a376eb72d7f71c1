/* torn: `torn replay --schedule FILE`, a fuzzed schedule rerun step by step
 * against the simulated disk (harness/sim/schedule.h). */
#include "command.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "args.h"
#include "core/err.h"
#include "core/util.h"
#include "sim/schedule.h"

#define SCHED_MAX_INPUT (1u << 20) /* larger than any schedule the harness decodes */

/* --repeat: n silent runs, rate per CPU second (the machine may be shared). */
static void bench(const char *buf, size_t len, enum torn_sched_strategy strat, long n)
{
    struct torn_sched_result res;
    struct timespec a, b;
    double cpu;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (long i = 0; i < n; i++)
        torn_sched_run((const unsigned char *)buf, len, strat, NULL, &res);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    cpu = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%ld runs of %zu steps in %.3f CPU s: %.0f schedules per CPU second\n", n, res.steps,
           cpu, cpu > 0 ? (double)n / cpu : 0);
}

static int replay_usage(FILE *f)
{
    fputs("usage: torn replay --schedule FILE [--strategy naive|rename|durable|nocheck]\n"
          "                   [--quiet] [--repeat N]\n\n"
          "Decode a schedule (an input of the fuzz/schedule harness, e.g. an AFL++ crash\n"
          "file) and rerun it against the simulated disk, printing each step: which worker\n"
          "did what, where a crash, power cut or fault happened, and what the checker read\n"
          "back.  --strategy defaults to $TORN_SCHEDULE_STRATEGY, else durable; use the\n"
          "strategy the fuzzer ran with.  --quiet prints only the verdict.  --repeat N\n"
          "reruns it N times without output and prints schedules per CPU second.\n"
          "Exit: 1 a violation, 0 every check held, 2 bad input.\n",
          f);
    return f == stdout ? 0 : 2;
}

struct replay_args {
    const char *path, *strat_name;
    int quiet;
    long repeat;
};

/* 0 parsed, 1 help printed, -1 error printed. */
static int replay_args(int argc, char **argv, struct replay_args *a)
{
    static const struct option lo[] = {
        {"schedule", 1, 0, 'f'}, {"strategy", 1, 0, 's'}, {"quiet", 0, 0, 'q'},
        {"repeat", 1, 0, 'r'},   {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    double d;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': replay_usage(stdout); return 1;
        case 'f': a->path = optarg; break;
        case 's': a->strat_name = optarg; break;
        case 'q': a->quiet = 1; break;
        case 'r':
            if (torn_arg_number("replay", "--repeat", optarg, 1, 1e9, 1, &d))
                return -1;
            a->repeat = (long)d;
            a->quiet = 1;
            break;
        default:
            fprintf(stderr, "torn replay: unknown or incomplete option '%s'\n", argv[optind - 1]);
            replay_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "torn replay: unknown or incomplete option '%s'\n", argv[optind]);
        replay_usage(stderr);
        return -1;
    }
    return 0;
}

int torn_cmd_replay(int argc, char **argv)
{
    struct replay_args a = {NULL, getenv("TORN_SCHEDULE_STRATEGY"), 0, 0};
    enum torn_sched_strategy strat = TORN_SCHED_DURABLE;
    struct torn_sched_result res;
    struct torn_err err = {0};
    char *buf = NULL;
    size_t len = 0;
    int rc = replay_args(argc, argv, &a);
    const char *path = a.path, *strat_name = a.strat_name;

    if (rc)
        return rc > 0 ? 0 : 2;
    if (!path) {
        fprintf(stderr, "torn replay: --schedule FILE is required\n");
        return replay_usage(stderr);
    }
    if (strat_name && *strat_name && torn_sched_strategy_parse(strat_name, &strat) != 0) {
        fprintf(stderr, "torn replay: unknown strategy '%s' (naive, rename, durable, nocheck)\n",
                strat_name);
        return 2;
    }
    if (torn_read_file(path, &buf, &len, &err) != 0) {
        fprintf(stderr, "torn replay: %s: %s\n", path,
                err.code == TORN_E_NOTFOUND ? "no such file" : err.msg);
        return 2;
    }
    if (len > SCHED_MAX_INPUT) {
        fprintf(stderr, "torn replay: %s: %zu bytes is not a schedule (at most %u)\n", path, len,
                SCHED_MAX_INPUT);
        free(buf);
        return 2;
    }
    if (a.repeat > 0)
        bench(buf, len, strat, a.repeat);
    torn_sched_run((const unsigned char *)buf, len, strat, a.quiet ? NULL : stdout, &res);
    free(buf);
    if (res.violated)
        printf("VIOLATION %s (strategy %s, %s): %s\n", res.criterion,
               torn_sched_strategy_name(strat), path, res.evidence);
    else
        printf("PASS (strategy %s, %s): %zu steps, %zu update(s) acknowledged, %zu crash(es), "
               "every check held\n",
               torn_sched_strategy_name(strat), path, res.steps, res.acked, res.crashes);
    return res.violated ? 1 : 0;
}

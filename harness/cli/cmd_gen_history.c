/* torn: `torn gen-history`, a CAS-register or versioned history with a known
 * answer on stdout (harness/check/gen.h). */
#include "command.h"

#include <getopt.h>
#include <stdio.h>

#include "args.h"
#include "check/gen.h"
#include "core/err.h"

static int gen_usage(FILE *f)
{
    fputs("usage: torn gen-history [--ops N] [--clients N] [--keys N] [--seed N]\n"
          "       [--model cas|version] [--values N] [--info-rate P]\n"
          "       [--violation none|garbage|stale|lost-update]  > history.jsonl\n",
          f);
    return f == stdout ? 0 : 2;
}

/* One option into o; 0, or -1 after printing the error. */
static int gen_opt(struct torn_gen_opts *o, int c, const char *v)
{
    static const char *const name[] = {['o'] = "--ops", ['c'] = "--clients", ['k'] = "--keys",
                                       ['V'] = "--values", ['i'] = "--info-rate"};
    double d;

    switch (c) {
    case 'm': o->model = v; return 0;
    case 'v': o->violation = v; return 0;
    case 's': return torn_arg_u64("gen-history", "--seed", v, &o->seed);
    case 'i':
        if (torn_arg_number("gen-history", name[c], v, 0, 1, 0, &d))
            return -1;
        o->info_rate = d;
        return 0;
    }
    /* the integer options */
    if (torn_arg_number("gen-history", name[c], v, c == 'V' ? 0 : 1,
                        c == 'c' ? 4096 : c == 'k' ? 1e7 : 1e9, 1, &d))
        return -1;
    if (c == 'o')
        o->n_ops = (size_t)d;
    else if (c == 'c')
        o->n_clients = (int)d;
    else if (c == 'k')
        o->n_keys = (int)d;
    else
        o->values = (int)d;
    return 0;
}

/* 0 parsed, 1 help printed, -1 error printed. */
static int gen_args(int argc, char **argv, struct torn_gen_opts *o)
{
    static const struct option lo[] = {
        {"ops", 1, 0, 'o'},   {"clients", 1, 0, 'c'},   {"keys", 1, 0, 'k'},
        {"seed", 1, 0, 's'},  {"model", 1, 0, 'm'},     {"values", 1, 0, 'V'},
        {"info-rate", 1, 0, 'i'}, {"violation", 1, 0, 'v'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == 'h')
            return gen_usage(stdout), 1;
        if (c == '?' || c == ':') {
            fprintf(stderr, "torn gen-history: %s %s (see --help)\n",
                    c == ':' ? "missing value for" : "bad option", argv[optind - 1]);
            return -1;
        }
        if (gen_opt(o, c, optarg))
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "torn gen-history: bad option %s (see --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

int torn_cmd_gen_history(int argc, char **argv)
{
    struct torn_gen_opts o;
    struct torn_err err;
    int rc;

    torn_gen_defaults(&o);
    if ((rc = gen_args(argc, argv, &o)) != 0)
        return rc > 0 ? 0 : 2;
    fprintf(stderr, "torn gen-history: seed %llu, %zu ops, %d clients, %d keys, model %s, "
            "violation %s\n", (unsigned long long)o.seed, o.n_ops, o.n_clients, o.n_keys,
            o.model, o.violation);
    if (torn_gen_history(stdout, &o, &err) != TORN_OK) {
        fprintf(stderr, "torn gen-history: %s\n", err.msg);
        return 2;
    }
    return 0;
}

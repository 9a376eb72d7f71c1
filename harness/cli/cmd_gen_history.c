/* torn: `torn gen-history`, a CAS-register or versioned history with a known
 * answer on stdout (harness/check/gen.h). */
#include "command.h"

#include <stdio.h>
#include <string.h>

#include "check/gen.h"
#include "core/err.h"
#include "core/parse.h"

/* A number option through the strict parser (parse.h); -1 after printing. */
static int num_arg(const char *opt, const char *val, int integer, double lo, double hi,
                   double *out)
{
    struct torn_err err;

    if (torn_parse_number(opt, val, integer, lo, hi, out, &err) == 0)
        return 0;
    fprintf(stderr, "torn gen-history: %s\n", err.msg);
    return -1;
}

int torn_cmd_gen_history(int argc, char **argv)
{
    struct torn_gen_opts o;
    struct torn_err err;
    double d;

    torn_gen_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: torn gen-history [--ops N] [--clients N] [--keys N] [--seed N]\n"
                   "       [--model cas|version] [--values N] [--info-rate P]\n"
                   "       [--violation none|garbage|stale|lost-update]  > history.jsonl\n");
            return 0;
        }
        i++;
        if (!strcmp(a, "--model") && v)
            o.model = v;
        else if (!strcmp(a, "--violation") && v)
            o.violation = v;
        else if (!strcmp(a, "--ops") && !num_arg(a, v, 1, 1, 1e9, &d))
            o.n_ops = (size_t)d;
        else if (!strcmp(a, "--clients") && !num_arg(a, v, 1, 1, 4096, &d))
            o.n_clients = (int)d;
        else if (!strcmp(a, "--keys") && !num_arg(a, v, 1, 1, 1e7, &d))
            o.n_keys = (int)d;
        else if (!strcmp(a, "--values") && !num_arg(a, v, 1, 0, 1e9, &d))
            o.values = (int)d;
        else if (!strcmp(a, "--info-rate") && !num_arg(a, v, 0, 0, 1, &d))
            o.info_rate = d;
        else if (!strcmp(a, "--seed")) {
            if (torn_parse_u64(a, v, &o.seed, &err)) {
                fprintf(stderr, "torn gen-history: %s\n", err.msg);
                return 2;
            }
        } else {
            if (strcmp(a, "--ops") && strcmp(a, "--clients") && strcmp(a, "--keys") &&
                strcmp(a, "--values") && strcmp(a, "--info-rate") && strcmp(a, "--seed"))
                fprintf(stderr, "torn gen-history: bad option %s (see --help)\n", a);
            return 2;
        }
    }
    fprintf(stderr, "torn gen-history: seed %llu, %zu ops, %d clients, %d keys, model %s, "
            "violation %s\n", (unsigned long long)o.seed, o.n_ops, o.n_clients, o.n_keys,
            o.model, o.violation);
    if (torn_gen_history(stdout, &o, &err) != TORN_OK) {
        fprintf(stderr, "torn gen-history: %s\n", err.msg);
        return 2;
    }
    return 0;
}

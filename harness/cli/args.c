/* torn: command-line values of the sub-commands (see args.h). */
#include "args.h"

#include <stdio.h>

#include "core/err.h"
#include "core/parse.h"

int torn_arg_number(const char *cmd, const char *opt, const char *val, double lo, double hi,
                    int integer, double *out)
{
    struct torn_err err;

    if (torn_parse_number(opt, val, integer, lo, hi, out, &err) == 0)
        return 0;
    fprintf(stderr, "torn %s: %s\n", cmd, err.msg);
    return -1;
}

int torn_arg_u64(const char *cmd, const char *opt, const char *val, uint64_t *out)
{
    struct torn_err err;

    if (torn_parse_u64(opt, val, out, &err) == 0)
        return 0;
    fprintf(stderr, "torn %s: %s\n", cmd, err.msg);
    return -1;
}

/* torn: command-line values of the sub-commands, through core/parse.h's
 * strict rules (whole string, finite, in range), with the one-line error
 * every command prints the same way: "torn CMD: OPTION: why" on stderr. */
#ifndef TORN_ARGS_H
#define TORN_ARGS_H

#include <stdint.h>

/* val of option opt of `torn cmd` as a number in [lo, hi] (an integer when
 * integer != 0) into *out: 0, or -1 after printing the error. */
int torn_arg_number(const char *cmd, const char *opt, const char *val, double lo, double hi,
                    int integer, double *out);
/* val as a seed (decimal, 0..UINT64_MAX): 0, or -1 after printing. */
int torn_arg_u64(const char *cmd, const char *opt, const char *val, uint64_t *out);

#endif

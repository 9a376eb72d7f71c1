/* torn: `torn suite check FILE`: validate a suite file (gate/suite.h)
 * without touching anything it names beyond reading its files. */
#include "command.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "gate/suite.h"

static void suite_usage(FILE *f)
{
    fputs("usage: torn suite check FILE\n"
          "\n"
          "Check a suite file: every field, scenario name and parameter, target URI,\n"
          "budget, baseline allowance, reporter and report path, without starting,\n"
          "creating or contacting anything.  Prints one line: 'ok' with what it holds,\n"
          "or the first error naming the file, the path inside it and the field.\n"
          "Run it with `torn run --suite FILE` (README \"Pre-deploy verification\").\n"
          "\n"
          "Exit status: 0 valid, 2 invalid or unreadable.\n",
          f);
}

int torn_cmd_suite(int argc, char **argv)
{
    struct torn_suite *s;
    struct torn_err err;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        suite_usage(stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        suite_usage(stderr);
        return 2;
    }
    torn_err_clear(&err);
    if (torn_suite_load(argv[2], &s, &err) != 0) {
        fprintf(stderr, "torn suite: %s\n", err.msg);
        return 2;
    }
    printf("torn suite: %s: ok (%zu target(s), %zu scenario(s), %zu budget(s)%s, %zu "
           "report(s))\n",
           s->path, s->n_targets ? s->n_targets : 1, s->n_scenarios, s->n_budgets,
           s->baseline ? ", a baseline" : "", s->n_reports);
    torn_suite_free(s);
    return 0;
}

/* torn-engine: entry point, dispatching to sub-commands
 * (harness/core/registry.c).  The torn binary users run is the front
 * (harness/cli/front.c): it runs `torn check` itself and execs this program,
 * argv unchanged, for everything else. */
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "core/version.h"

static void usage(FILE *f)
{
    size_t n;
    const struct torn_command *const *cmds = torn_commands(&n);

    fputs("usage: torn COMMAND [options]\n\n"
          "torn verifies atomic-write guarantees: it drives a store under faults (crashes,\n"
          "power loss, I/O errors, concurrent updaters, network faults), records what it\n"
          "saw, checks acceptance criteria, and reports pass/fail with latency figures.\n\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
    fputs("\n`torn COMMAND --help` (or `torn help COMMAND`) for a command's options.\n"
          "`torn --version` (-V) prints the version.\n"
          "Exit status: 0 all acceptance held, 1 violation found, 2 usage/config/environment.\n",
          f);
}

int main(int argc, char **argv)
{
    const struct torn_command *cmd;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 && argc > 2) {
        /* `torn help run` = `torn run --help` */
        char help[] = "--help", *args[] = {argv[2], help, NULL};

        cmd = torn_command_find(argv[2]);
        if (!cmd) {
            fprintf(stderr, "torn help: unknown command '%s' (see `torn --help`)\n", argv[2]);
            return 2;
        }
        return cmd->main(2, args);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
        strcmp(argv[1], "version") == 0) {
        printf("torn %s\n", TORN_VERSION);
        return 0;
    }
    cmd = torn_command_find(argv[1]);
    if (!cmd) {
        fprintf(stderr, "torn: unknown command '%s' (see `torn --help`)\n", argv[1]);
        return 2;
    }
    return cmd->main(argc - 1, argv + 1);
}

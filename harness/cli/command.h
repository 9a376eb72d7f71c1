/* torn: the sub-command plug point (`torn run`, `torn list`, `torn check`,
 * `torn fs`, `torn proxy`, `torn fuzz`, `torn replay`).  Each command is a
 * function with main()'s signature returning the process exit code (0 ok,
 * 1 violation found, 2 usage/config/environment error).  Listed in
 * harness/core/registry.c. */
#ifndef TORN_COMMAND_H
#define TORN_COMMAND_H

#include <stddef.h>

struct torn_command {
    const char *name;       /* "run" */
    const char *summary;    /* one line for `torn --help` */
    int (*main)(int argc, char **argv);   /* argv[0] is the command name */
};

const struct torn_command *torn_command_find(const char *name);
const struct torn_command *const *torn_commands(size_t *n_out);

/* Built-in commands (harness/cli/cmd_run.c). */
int torn_cmd_run(int argc, char **argv);
int torn_cmd_list(int argc, char **argv);
/* harness/cli/cmd_merge.c */
int torn_cmd_merge(int argc, char **argv);

#define TORN_VERSION "0.1.0"

#endif

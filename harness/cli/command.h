/* torn: the sub-command plug point (`torn run`, `torn list`, `torn check`,
 * `torn merge`, `torn gen-history`, `torn fs`, `torn proxy`, `torn fuzz`, `torn replay`).
 * Each command is a function with main()'s signature returning the process
 * exit code (0 ok, 1 violation found, 2 usage/config/environment error; `torn
 * check` also 3, unknown), in its own harness/cli/cmd_<name>.c, and listed in
 * harness/core/registry.c. */
#ifndef TORN_COMMAND_H
#define TORN_COMMAND_H

#include <stddef.h>

#define TORN_COMMAND_V1 1

struct torn_command {
    int version;            /* TORN_COMMAND_V1; append fields, never reorder */
    const char *name;       /* "run" */
    const char *summary;    /* one line for `torn --help` */
    int (*main)(int argc, char **argv);   /* argv[0] is the command name */
};

/* The command called name, or NULL when there is none or its version is not
 * one this build knows (main.c then says "unknown command"). */
const struct torn_command *torn_command_find(const char *name);
/* Every registered command, in `torn --help` order; *n_out gets the count. */
const struct torn_command *const *torn_commands(size_t *n_out);

/* The built-in commands, one file each under harness/cli/. */
int torn_cmd_run(int argc, char **argv);          /* cmd_run.c */
int torn_cmd_list(int argc, char **argv);         /* cmd_run.c */
int torn_cmd_merge(int argc, char **argv);        /* cmd_merge.c */
int torn_cmd_check(int argc, char **argv);        /* cmd_check.c */
int torn_cmd_gen_history(int argc, char **argv);  /* cmd_gen_history.c */
int torn_cmd_fs(int argc, char **argv);           /* cmd_fs.c */
int torn_cmd_proxy(int argc, char **argv);        /* cmd_proxy.c */
int torn_cmd_fuzz(int argc, char **argv);         /* cmd_fuzz.c */
int torn_cmd_fuzz_plan(int argc, char **argv);    /* cmd_fuzz_plan.c: fuzz --target */
/* 1 when prog is an executable in $PATH (cmd_fuzz.c). */
int torn_fuzz_in_path(const char *prog);
int torn_cmd_replay(int argc, char **argv);       /* cmd_replay.c */
int torn_cmd_suite(int argc, char **argv);        /* cmd_suite.c */
int torn_cmd_diff(int argc, char **argv);         /* cmd_diff.c */

#endif

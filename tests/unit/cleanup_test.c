/* Unit tests: the exit-time clean-up registry (core/cleanup.h), in forked
 * children that really exit: an entry runs at exit of the process that
 * added it, not when removed, and never in a forked child that inherited it
 * (the check the torn-fs copy of this registry lacked). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/cleanup.h"
#include "core/err.h"

static int mark_fd = -1;
static char A[] = "a", B[] = "b", P[] = "p";

/* Writes its one-letter arg to the pipe: the parent reads what ran. */
static void mark(void *arg)
{
    (void)!write(mark_fd, arg, 1);
}

/* Run body in a child that exits through exit(); returns what it marked. */
static void run_child(void (*body)(void), char *out, size_t len)
{
    int fds[2];
    ssize_t n;
    pid_t pid;

    if (pipe(fds) != 0)
        abort();
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        mark_fd = fds[1];
        body();
        exit(0);
    }
    close(fds[1]);
    waitpid(pid, NULL, 0);
    n = read(fds[0], out, len - 1);
    out[n > 0 ? n : 0] = 0;
    close(fds[0]);
}

static void add_a_remove_b(void)
{
    torn_cleanup_add(mark, A);
    torn_cleanup_add(mark, B);
    torn_cleanup_add(mark, A); /* twice: once */
    torn_cleanup_remove(mark, B);
}

static void test_runs_what_is_left(void)
{
    char got[16];

    run_child(add_a_remove_b, got, sizeof got);
    CHECK(strcmp(got, "a") == 0, "at exit ran '%s', want 'a'", got);
}

/* The process adds "p", forks a grandchild that exits (it must run
 * nothing), then exits itself (runs "p"). */
static void parent_then_fork(void)
{
    pid_t pid;

    torn_cleanup_add(mark, P);
    pid = fork();
    if (pid == 0)
        exit(0);
    waitpid(pid, NULL, 0);
    (void)!write(mark_fd, "|", 1);
}

static void test_forked_child_runs_none(void)
{
    char got[16];

    run_child(parent_then_fork, got, sizeof got);
    CHECK(strcmp(got, "|p") == 0, "marks '%s', want '|p' (the fork ran nothing)", got);
}

static void fill(void)
{
    static char slots[TORN_CLEANUP_MAX + 1];
    int rc = 0;

    for (size_t i = 0; i <= TORN_CLEANUP_MAX; i++)
        rc = torn_cleanup_add(mark, &slots[i]);
    (void)!write(mark_fd, rc == TORN_E_NOMEM ? "F" : "?", 1);
    for (size_t i = 0; i < TORN_CLEANUP_MAX; i++)
        torn_cleanup_remove(mark, &slots[i]);
}

static void test_full_says_so(void)
{
    char got[16];

    run_child(fill, got, sizeof got);
    CHECK(strcmp(got, "F") == 0, "a full registry: '%s', want TORN_E_NOMEM", got);
}

static const struct torn_test tests[] = {
    {"runs_what_is_left", test_runs_what_is_left},
    {"forked_child_runs_none", test_forked_child_runs_none},
    {"full_says_so", test_full_says_so},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

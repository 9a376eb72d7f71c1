/* Fault-plan harness: AFL++ chooses the fault plan of one real run.
 *
 * Each input's bytes decode into a plan (cli/fault_plan.h: the seed, and for
 * power-loss the updates and the crash state of one power cut, for
 * crash-midwrite the kills and their delays), and the plan runs as a whole
 * `torn run` of the campaign's scenario against its real target, in a child
 * of this process: torn's own code (runner, scenario, torn-fs, target
 * driver, checkers) compiled into this binary by afl-clang-fast, so the
 * coverage AFL++ sees is which crash states, recovery paths and checker
 * branches that run reached (a forked child writes the same shared map).
 * A plan that FAILS aborts here, and AFL++ keeps it in crashes/; a run that
 * ended in ERROR (a cut point past the writer's last operation, a target
 * that would not start) is no finding.
 *
 * Environment (`torn fuzz --target URI --scenario NAME` sets both):
 *   TORN_PLAN_CONF          the campaign's torn-plan.json (target,
 *                           scenario, the user's --set)
 *   TORN_PLAN_EXEC_TIMEOUT  one run's limit in seconds (default 600); past
 *                           it the run is interrupted like Ctrl-C
 *   TORN_PLAN_WORK          a private directory for the runs (their JSON
 *                           results and run directories, removed after
 *                           each run); default a new one in /tmp, removed
 *                           at a normal exit
 *   TORN_PLAN_VERBOSE=1     the run's output on stderr (default: discarded)
 * Run by hand on a saved input (build-fuzz/afl/fuzz-plan < FILE) it prints
 * the plan's replay command and, when it FAILS, aborts. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/command.h"
#include "cli/fault_plan.h"
#include "core/util.h"
#include "fuzz.h"

static struct torn_plan_base base;
static double exec_timeout_s = 600;
static char work[PATH_MAX], json[PATH_MAX + 32], runs[PATH_MAX + 32], own[48];

static void remove_own(void)
{
    if (own[0])
        torn_rmtree(own);
}

int fuzz_init(void)
{
    const char *conf = getenv("TORN_PLAN_CONF"), *t = getenv("TORN_PLAN_EXEC_TIMEOUT");
    const char *w = getenv("TORN_PLAN_WORK");

    if (!conf || torn_plan_base_load(&base, conf) != 0) {
        fprintf(stderr, "fuzz-plan: TORN_PLAN_CONF must name a campaign's %s (torn fuzz "
                        "--target URI --scenario NAME writes it into its output directory)\n",
                TORN_PLAN_CONF);
        return 1;
    }
    if (t && atof(t) > 0)
        exec_timeout_s = atof(t);
    if (!w || !*w || strlen(w) >= sizeof work) {
        snprintf(own, sizeof own, "/tmp/torn-fuzz-plan-run-XXXXXX");
        if (!mkdtemp(own)) {
            fprintf(stderr, "fuzz-plan: cannot make a temp directory\n");
            return 1;
        }
        atexit(remove_own);
        w = own;
    }
    snprintf(work, sizeof work, "%s", w);
    snprintf(json, sizeof json, "%s/run-%d.json", work, (int)getpid());
    snprintf(runs, sizeof runs, "%s/runs-%d", work, (int)getpid());
    return 0;
}

/* The run in a child: its own process group (interrupted as a whole), and
 * interrupted too when this process dies (afl-fuzz SIGKILLs a hung one):
 * torn run then unmounts torn-fs and stops the target as on Ctrl-C. */
static pid_t start_run(char **argv, int argc)
{
    pid_t parent = getpid(), pid = fork();

    if (pid != 0)
        return pid;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGINT);
    if (getppid() != parent)
        _exit(2);
    close(198), close(199); /* AFL++'s fork-server pipes: not the run's */
    if (!getenv("TORN_PLAN_VERBOSE")) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0)
            dup2(null, 0), dup2(null, 1), dup2(null, 2);
    }
    _exit(torn_cmd_run(argc - 1, argv + 1));
}

/* The run's exit code, or -1 when it outlived the limit (interrupted). */
static int wait_run(pid_t pid)
{
    struct timespec nap = {0, 20 * 1000 * 1000};
    double waited = 0;
    int status = 0, stopping = 0;

    while (waitpid(pid, &status, WNOHANG) == 0) {
        nanosleep(&nap, NULL);
        waited += 0.02;
        if (!stopping && waited > exec_timeout_s)
            stopping = 1, kill(-pid, SIGINT);
        else if (stopping && waited > exec_timeout_s + 30)
            kill(-pid, SIGKILL);
    }
    return stopping || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct torn_plan p;
    char *argv[TORN_PLAN_ARGV], seed[24], *replay;
    int argc, rc;
    pid_t pid;

    torn_plan_decode(&base, data, len, &p);
    mkdir(runs, 0700);
    argc = torn_plan_argv(&base, &p, runs, json, argv, seed);
    replay = torn_plan_replay(&base, &p);
    if ((pid = start_run(argv, argc)) < 0) {
        free(replay);
        return 0;
    }
    rc = wait_run(pid);
    torn_rmtree(runs); /* the replay makes its own again */
    if (getenv("TORN_PLAN_VERBOSE") || !getenv("__AFL_SHM_ID"))
        fprintf(stderr, "fuzz-plan: exit %d: %s\n", rc, replay ? replay : "");
    if (rc == 1)
        fuzz_fail("the plan FAILED; replay: %s", replay ? replay : "(out of memory)");
    free(replay);
    return 0;
}

/* Unit tests: work evidence (work.h), the count of workers that died on
 * their own (proc.h), with real forked children really killed, and what a
 * replay line says about how far it can be trusted (result.h). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "proc/proc.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/work.h"

static int body(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *arg)
{
    (void)ctx, (void)t, (void)wfd, (void)arg;
    if (index == 1)
        return 3;
    if (index == 2)
        raise(SIGUSR1); /* not SIGSEGV: ASan would catch it and exit 1 */
    if (index == 3)
        pause(); /* killed by the parent, on purpose */
    return 0;
}

static void test_deaths_counted(void)
{
    struct torn_ctx ctx;
    struct torn_child ch[4];
    struct torn_deaths d;
    char buf[200];

    memset(&ctx, 0, sizeof ctx);
    torn_proc_deaths_reset();
    for (int i = 0; i < 4; i++)
        CHECK(torn_child_spawn(&ctx, i, 0, body, NULL, &ch[i], NULL) == 0, "spawn %d", i);
    for (int i = 0; i < 3; i++)
        torn_child_wait(&ch[i], 5000, NULL, NULL);
    torn_child_kill(&ch[3]);
    torn_proc_deaths(&d);
    torn_proc_deaths_describe(&d, buf, sizeof buf);
    CHECK(d.n_workers == 4 && d.n_died == 2, "4 workers, 2 died: %d, %d", d.n_workers, d.n_died);
    CHECK(strcmp(buf, "2 of 4 workers died (1 exited 3, 1 killed by SIGUSR1)") == 0, "%s", buf);
}

static void test_signal_not_counted(void)
{
    struct torn_ctx ctx;
    struct torn_child c;
    struct torn_deaths d;

    memset(&ctx, 0, sizeof ctx);
    torn_proc_deaths_reset();
    CHECK(torn_child_spawn(&ctx, 3, 0, body, NULL, &c, NULL) == 0, "spawn");
    torn_proc_signal(c.pid, SIGKILL); /* a deliberate fault */
    torn_child_wait(&c, 5000, NULL, NULL);
    torn_proc_deaths(&d);
    CHECK(d.n_workers == 1 && d.n_died == 0, "a kill torn sent is no death: %d", d.n_died);
}

/* How many processes have parent ppid (from /proc/PID/stat, parsed after the
 * last ')': comm may hold spaces). */
static int children_of(pid_t ppid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        char path[300], buf[512], *p;
        int pp = 0;
        FILE *f;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "re")))
            continue;
        p = fgets(buf, sizeof buf, f);
        fclose(f);
        if (p && (p = strrchr(buf, ')')) && sscanf(p + 1, " %*c %d", &pp) == 1 && pp == ppid)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* A worker that starts a process tree the way an exec adapter does (its own
 * process group, no death signal): sh, which starts two sleeps. */
static int tree_body(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *arg)
{
    pid_t pid = fork();
    (void)ctx, (void)t, (void)index, (void)arg;
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, 0);
        execl("/bin/sh", "sh", "-c", "sleep 60 & sleep 61 & wait", (char *)NULL);
        _exit(127);
    }
    /* Wait (5 s at most) until sh has started its two sleeps: a fixed
     * 200 ms was a guess that a loaded machine need not meet. */
    for (int i = 0; i < 500 && children_of(pid) < 2; i++)
        usleep(10000);
    torn_msg_post(wfd, 1, 0, pid, 0, 0, NULL);
    pause();
    return 0;
}

static void test_kill_tree(void)
{
    struct torn_ctx ctx;
    struct torn_child c;
    struct torn_msg m;
    struct torn_err err;
    pid_t kids[16];
    int n;

    memset(&ctx, 0, sizeof ctx);
    CHECK(torn_child_spawn(&ctx, 0, 0, tree_body, NULL, &c, NULL) == 0, "spawn");
    CHECK(torn_msg_recv(c.fd, &m, 5000, NULL) == 1, "the worker started its tree");
    n = torn_proc_kill_tree(c.pid, kids, 16);
    CHECK(n == 3, "sh and two sleeps found: %d", n);
    torn_child_wait(&c, 5000, NULL, NULL);
    CHECK(torn_proc_wait_gone(kids, n, 5000, &err) == 0, "all gone: %s", err.msg);
    for (int i = 0; i < n; i++)
        CHECK(torn_proc_gone(kids[i]), "pid %d gone", (int)kids[i]);
    CHECK(torn_proc_gone(c.pid), "the worker is gone");
    CHECK(torn_proc_kill_tree(0, kids, 16) == 0, "no root, nothing killed");
}

static const struct torn_work_need needs[] = {
    {"acked", "planned", 0.5, 4, "planned updates acknowledged"},
    {"reads", NULL, 0, 1, "reads"},
    {NULL, NULL, 0, 0, NULL},
};

static struct torn_result *result(long long planned, long long acked, long long reads)
{
    struct torn_result *r = torn_result_new();

    r->scenario = strdup("s");
    torn_work_set(r, "planned", planned);
    torn_work_set(r, "acked", acked);
    torn_work_set(r, "reads", reads);
    return r;
}

static void test_shortfall(void)
{
    struct torn_result *r = result(200, 0, 5);
    struct torn_deaths d;

    memset(&d, 0, sizeof d);
    d.n_workers = d.n_died = 8;
    d.n_kinds = 1;
    d.kind[0].n = 8;
    strcpy(d.kind[0].how, "killed by SIGSEGV");
    CHECK(torn_work_judge(r, needs, &d, NULL) == 1, "short");
    CHECK(r->verdict == TORN_ERROR && r->error_code == TORN_E_NOWORK, "ERROR");
    CHECK(r->error && strcmp(r->error, "s: 0 of 200 planned updates acknowledged (minimum 100): "
                                       "8 of 8 workers died (8 killed by SIGSEGV)") == 0,
          "%s", r->error);
    torn_result_free(r);

    r = result(200, 100, 0);
    torn_work_hint(r, "no space");
    CHECK(torn_work_judge(r, needs, NULL, NULL) == 1 && r->verdict == TORN_ERROR, "no reads");
    CHECK(strcmp(r->error, "s: 0 reads (minimum 1); no space") == 0, "%s", r->error);
    torn_result_free(r);

    r = result(200, 100, 1);
    CHECK(torn_work_judge(r, needs, NULL, NULL) == 0 && r->verdict == TORN_PASS, "enough");
    torn_result_free(r);

    /* Cut off by its time limit: the floor is enough. */
    r = result(200, 4, 1);
    torn_work_set(r, "time_limited", 1);
    CHECK(torn_work_judge(r, needs, NULL, NULL) == 0 && r->verdict == TORN_PASS, "floor");
    torn_result_free(r);
    r = result(200, 3, 1);
    torn_work_set(r, "time_limited", 1);
    CHECK(torn_work_judge(r, needs, NULL, NULL) == 1 && strstr(r->error, "in the time limit"),
          "below the floor: %s", r->error ? r->error : "(none)");
    torn_result_free(r);
}

static void test_fail_keeps_fail(void)
{
    struct torn_result *r = result(200, 0, 0);

    torn_result_violation(r, "no-lost-update", NULL, 0, "lost");
    CHECK(torn_work_judge(r, needs, NULL, "history h: 3 events not written") == 1, "short");
    CHECK(r->verdict == TORN_FAIL && r->work_note && !r->error, "FAIL stays, with a note");
    CHECK(strstr(r->work_note, "history h: 3 events not written") != NULL, "%s", r->work_note);
    torn_result_free(r);

    /* Only the history failed: ERROR as an I/O problem. */
    r = result(200, 200, 1);
    CHECK(torn_work_judge(r, needs, NULL, "history h: lost") == 1, "history");
    CHECK(r->verdict == TORN_ERROR && r->error_code == TORN_E_IO, "code %d", r->error_code);
    torn_result_free(r);
}

static void test_replay_note(void)
{
    struct torn_result *r = torn_result_new();
    char note[200];

    r->replay_exact = 1;
    torn_result_replay_note(r, note, sizeof note);
    CHECK(note[0] == '\0', "exact: a plain replay line, got '%s'", note);
    r->replay_exact = 0;
    torn_result_replay_note(r, note, sizeof note);
    CHECK(strstr(note, "one run may not reproduce it") != NULL, "not measured: %s", note);
    r->repro_runs = 3;
    r->repro_fails = 1;
    torn_result_replay_note(r, note, sizeof note);
    CHECK(strcmp(note, "reproduced in 1 of 3 re-runs with the same seed; the OS decides the "
                       "interleaving") == 0, "measured: %s", note);
    r->attempt = 4;
    r->attempts_max = 20;
    torn_result_replay_note(r, note, sizeof note);
    CHECK(strstr(note, "failed on attempt 4 of at most 20") == note, "--until-fail: %s", note);
    torn_result_free(r);
}

static const struct torn_test tests[] = {
    {"replay_note", test_replay_note},
    {"deaths_counted", test_deaths_counted},
    {"signal_not_counted", test_signal_not_counted},
    {"kill_tree", test_kill_tree},
    {"shortfall", test_shortfall},
    {"fail_keeps_fail", test_fail_keeps_fail},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

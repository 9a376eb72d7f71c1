/* torn: child processes, report pipes, shared statistics. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "core/err.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

/* ---- registry ---- */

#define MAX_TRACKED 1024
enum { TRACK_WORKER = 1, TRACK_KILLED = 2 };
static pid_t tracked[MAX_TRACKED];
static unsigned char tracked_flags[MAX_TRACKED];
static size_t n_tracked;
static struct torn_deaths deaths;
/* A worker that cannot open its target says why here (shared memory, the
 * first one wins), so the parent's death report can quote it. */
struct last_words {
    int taken;
    char text[160];
};
static struct last_words *last_words;

static size_t find_tracked(pid_t pid)
{
    for (size_t i = 0; i < n_tracked; i++)
        if (tracked[i] == pid)
            return i;
    return MAX_TRACKED;
}

void torn_proc_track(pid_t pid)
{
    if (pid <= 0 || find_tracked(pid) != MAX_TRACKED)
        return;
    if (n_tracked < MAX_TRACKED) {
        tracked_flags[n_tracked] = 0;
        tracked[n_tracked++] = pid;
    }
}

void torn_proc_untrack(pid_t pid)
{
    size_t i = find_tracked(pid);

    if (i == MAX_TRACKED)
        return;
    n_tracked--;
    tracked[i] = tracked[n_tracked];
    tracked_flags[i] = tracked_flags[n_tracked];
}

static void mark(pid_t pid, unsigned char flag)
{
    size_t i = find_tracked(pid);

    if (i != MAX_TRACKED)
        tracked_flags[i] |= flag;
}

/* pid was reaped with status: count a worker that died on its own, then
 * forget pid. */
static void reaped(pid_t pid, int status)
{
    size_t i = find_tracked(pid);
    char how[40];
    int k;

    if (i != MAX_TRACKED && (tracked_flags[i] & TRACK_WORKER) &&
        !(tracked_flags[i] & TRACK_KILLED) && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        deaths.n_died++;
        torn_proc_describe(status, how, sizeof how);
        for (k = 0; k < deaths.n_kinds && strcmp(deaths.kind[k].how, how) != 0; k++)
            ;
        if (k == deaths.n_kinds && k < TORN_DEATH_KINDS)
            snprintf(deaths.kind[deaths.n_kinds++].how, sizeof deaths.kind[0].how, "%s", how);
        if (k < deaths.n_kinds)
            deaths.kind[k].n++;
    }
    torn_proc_untrack(pid);
}

void torn_proc_deaths_reset(void)
{
    memset(&deaths, 0, sizeof deaths);
    if (!last_words) {
        void *p = mmap(NULL, sizeof *last_words, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        last_words = p == MAP_FAILED ? NULL : p;
    }
    if (last_words)
        memset(last_words, 0, sizeof *last_words);
}

void torn_proc_deaths(struct torn_deaths *out)
{
    *out = deaths;
    if (deaths.n_died && last_words && __atomic_load_n(&last_words->taken, __ATOMIC_SEQ_CST))
        snprintf(out->first_words, sizeof out->first_words, "%s", last_words->text);
}

/* In a worker about to exit: leave why for the parent (first one only). */
static void say_last_words(int index, const char *why)
{
    int zero = 0;

    if (last_words && __atomic_compare_exchange_n(&last_words->taken, &zero, 1, 0,
                                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        snprintf(last_words->text, sizeof last_words->text, "worker %d: %.140s", index, why);
}

void torn_proc_deaths_describe(const struct torn_deaths *d, char *buf, size_t len)
{
    size_t used;

    buf[0] = '\0';
    if (!d->n_died || len == 0)
        return;
    snprintf(buf, len, "%d of %d worker%s died (", d->n_died, d->n_workers,
             d->n_workers == 1 ? "" : "s");
    for (int k = 0; k < d->n_kinds; k++) {
        used = strlen(buf);
        snprintf(buf + used, len - used, "%s%d %s", k ? ", " : "", d->kind[k].n, d->kind[k].how);
    }
    used = strlen(buf);
    snprintf(buf + used, len - used, ")%s%s", d->first_words[0] ? "; " : "", d->first_words);
}

int torn_proc_signal(pid_t pid, int sig)
{
    mark(pid, TRACK_KILLED);
    return kill(pid, sig);
}

/* Reap pid if it has already exited (counting how); 1 when it had. */
static int reap_if_exited(pid_t pid)
{
    int status;

    if (waitpid(pid, &status, WNOHANG) != pid)
        return 0;
    reaped(pid, status);
    return 1;
}

int torn_proc_wait(pid_t pid, int timeout_ms, int *status_out, struct torn_err *err)
{
    uint64_t deadline = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    uint64_t nap = 200000; /* 0.2 ms, growing to 10 ms */
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            reaped(pid, status);
            if (status_out)
                *status_out = status;
            return TORN_OK;
        }
        if (r < 0 && errno != EINTR) {
            torn_proc_untrack(pid);
            return torn_err_sys(err, TORN_E_IO, errno, "waitpid %ld", (long)pid);
        }
        if (torn_now_ns() >= deadline)
            return torn_err_set(err, TORN_E_TIMEOUT, "process %ld still running after %d ms",
                                (long)pid, timeout_ms);
        torn_sleep_ns(nap);
        if (nap < 10000000)
            nap *= 2;
    }
}

/* The state letter and parent of pid from /proc/PID/stat ("PID (comm) S
 * PPID ..."; comm may hold spaces and parentheses: parse after the last
 * ')'); 0, or -1 when pid is gone. */
static int stat_of(pid_t pid, char *state, pid_t *ppid)
{
    char path[64], buf[512], *p;
    int pp = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "re")))
        return -1;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!p || !(p = strrchr(buf, ')')) || sscanf(p + 1, " %c %d", state, &pp) != 2)
        return -1;
    *ppid = (pid_t)pp;
    return 0;
}

int torn_proc_gone(pid_t pid)
{
    char st;
    pid_t pp;

    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 1;
    if (stat_of(pid, &st, &pp) != 0)
        return 1;
    return st == 'Z' || st == 'X';
}

static int in_set(const pid_t *set, int n, pid_t pid)
{
    for (int i = 0; i < n; i++)
        if (set[i] == pid)
            return 1;
    return 0;
}

/* Add to out[*n] every live process whose parent is root or already in out;
 * 1 when one was added. */
static int add_children(pid_t root, pid_t *out, int *n, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int added = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) && *n < max) {
        char st, *end;
        pid_t pp, pid = (pid_t)strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == root || in_set(out, *n, pid) ||
            stat_of(pid, &st, &pp) != 0 || st == 'Z' || st == 'X')
            continue;
        if (pp == root || in_set(out, *n, pp)) {
            out[(*n)++] = pid;
            added = 1;
        }
    }
    closedir(d);
    return added;
}

int torn_proc_kill_tree(pid_t root, pid_t *out, int max)
{
    int n = 0, stopped = 0;

    if (root <= 0)
        return 0;
    /* Stopped first, the tree cannot grow while it is read; a child forked
     * between two reads is found by the next one (bounded rounds). */
    kill(root, SIGSTOP);
    for (int round = 0; round < 8 && add_children(root, out, &n, max); round++)
        for (; stopped < n; stopped++)
            kill(out[stopped], SIGSTOP);
    torn_proc_signal(root, SIGKILL);
    for (int i = 0; i < n; i++)
        kill(out[i], SIGKILL);
    return n;
}

int torn_proc_wait_gone(const pid_t *pids, int n, int timeout_ms, struct torn_err *err)
{
    uint64_t deadline = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;

    for (int i = 0; i < n; i++)
        while (!torn_proc_gone(pids[i])) {
            if (torn_now_ns() > deadline)
                return torn_err_set(err, TORN_E_TIMEOUT,
                                    "process %d (started by a killed worker) still runs "
                                    "%d ms after SIGKILL", (int)pids[i], timeout_ms);
            usleep(1000);
        }
    return TORN_OK;
}

void torn_proc_kill(pid_t pid)
{
    if (pid <= 0 || reap_if_exited(pid))
        return;
    torn_proc_signal(pid, SIGKILL);
    /* SIGKILL cannot be caught; the wait is bounded only against a stuck
     * uninterruptible sleep (e.g. a hung FUSE mount). */
    if (torn_proc_wait(pid, 10000, NULL, NULL) != 0)
        torn_proc_untrack(pid);
}

void torn_proc_reap_all(int grace_ms)
{
    uint64_t deadline;

    if (!n_tracked)
        return;
    for (size_t i = 0; i < n_tracked;)  /* those already dead died on their own */
        i += !reap_if_exited(tracked[i]);
    for (size_t i = 0; i < n_tracked; i++)
        torn_proc_signal(tracked[i], SIGTERM);
    deadline = torn_now_ns() + (uint64_t)grace_ms * 1000000ull;
    while (n_tracked && torn_now_ns() < deadline) {
        for (size_t i = 0; i < n_tracked;) {
            pid_t pid = tracked[i];
            if (waitpid(pid, NULL, WNOHANG) == pid)
                torn_proc_untrack(pid);
            else
                i++;
        }
        if (n_tracked)
            torn_sleep_ns(5000000);
    }
    while (n_tracked)
        torn_proc_kill(tracked[n_tracked - 1]);
}

void torn_proc_child_init(void)
{
    n_tracked = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
}

void torn_proc_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by %s%s", sigabbrev_np(WTERMSIG(status)) ? "SIG" : "",
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "a signal");
    else
        snprintf(buf, len, "status %d", status);
}

/* ---- shared statistics ---- */

/* One slot's open-loop samples of one operation kind (struct torn_openloop). */
struct torn_olstats {
    uint64_t late;
    struct torn_hdr uncorrected, corrected;
};

struct torn_stats {
    struct torn_opstats slot[TORN_MAX_SLOTS][TORN_OP_COUNT];
    struct torn_olstats ol[TORN_MAX_SLOTS][TORN_OP_COUNT];
};

int torn_stats_new(struct torn_stats **out, struct torn_err *err)
{
    void *p = mmap(NULL, sizeof(struct torn_stats), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    *out = NULL;
    if (p == MAP_FAILED)
        return torn_err_sys(err, TORN_E_NOMEM, errno, "mmap statistics");
    *out = p;
    torn_stats_clear(*out);
    return TORN_OK;
}

void torn_stats_free(struct torn_stats *s)
{
    if (s)
        munmap(s, sizeof *s);
}

void torn_stats_clear(struct torn_stats *s)
{
    /* Touch only slots that were used, so untouched pages stay unmapped. */
    for (int i = 0; i < TORN_MAX_SLOTS; i++)
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            struct torn_opstats *o = &s->slot[i][op];
            struct torn_olstats *l = &s->ol[i][op];
            if (o->n_ok || o->n_fail || o->n_info || o->hdr.n)
                memset(o, 0, sizeof *o);
            if (l->corrected.n) {
                torn_hdr_init(&l->uncorrected);
                torn_hdr_init(&l->corrected);
                l->late = 0;
            }
        }
}

void torn_stats_record(struct torn_stats *s, int slot, enum torn_op op, enum torn_outcome out,
                       uint64_t ns)
{
    struct torn_opstats *o;

    if (!s || slot < 0 || slot >= TORN_MAX_SLOTS || op >= TORN_OP_COUNT)
        return;
    o = &s->slot[slot][op];
    if (o->hdr.n == 0 && o->hdr.min == 0)
        o->hdr.min = UINT64_MAX;
    switch (out) {
    case TORN_OUT_OK: o->n_ok++; break;
    case TORN_OUT_FAIL: o->n_fail++; break;
    case TORN_OUT_INFO: o->n_info++; break;
    }
    if (out != TORN_OUT_INFO)
        torn_hdr_add(&o->hdr, ns);
}

void torn_stats_merge(const struct torn_stats *s, struct torn_opstats *ops)
{
    for (int i = 0; i < TORN_MAX_SLOTS; i++)
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            const struct torn_opstats *o = &s->slot[i][op];
            if (!o->n_ok && !o->n_fail && !o->n_info)
                continue;
            ops[op].n_ok += o->n_ok;
            ops[op].n_fail += o->n_fail;
            ops[op].n_info += o->n_info;
            torn_hdr_merge(&ops[op].hdr, &o->hdr);
        }
}

void torn_stats_record_due(struct torn_stats *s, int slot, enum torn_op op, uint64_t due_ns,
                           uint64_t start_ns, uint64_t end_ns)
{
    struct torn_olstats *l;

    if (!s || slot < 0 || slot >= TORN_MAX_SLOTS || op >= TORN_OP_COUNT)
        return;
    l = &s->ol[slot][op];
    if (l->corrected.n == 0) { /* zeroed memory: set min as torn_hdr_init does */
        torn_hdr_init(&l->uncorrected);
        torn_hdr_init(&l->corrected);
    }
    torn_openloop_sample(&l->uncorrected, &l->corrected, &l->late, due_ns, start_ns, end_ns);
}

uint64_t torn_stats_merge_openloop(const struct torn_stats *s, struct torn_openloop *ol)
{
    uint64_t n = 0;

    for (int i = 0; i < TORN_MAX_SLOTS; i++)
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            const struct torn_olstats *l = &s->ol[i][op];
            if (!l->corrected.n)
                continue;
            torn_hdr_merge(&ol->uncorrected[op], &l->uncorrected);
            torn_hdr_merge(&ol->corrected[op], &l->corrected);
            ol->n_late[op] += l->late;
            n += l->corrected.n;
        }
    return n;
}

volatile int *torn_shared_flag(void)
{
    void *p = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void torn_shared_flag_free(volatile int *flag)
{
    if (flag)
        munmap((void *)flag, sizeof(int));
}

/* ---- workers ---- */

int torn_child_spawn(struct torn_ctx *ctx, int index, int open_target, torn_child_fn fn,
                     void *arg, struct torn_child *out, struct torn_err *err)
{
    int fds[2];
    pid_t pid;

    out->pid = 0;
    out->fd = -1;
    out->index = index;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "pipe");
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return torn_err_sys(err, TORN_E_ENV, e, "fork");
    }
    if (pid == 0) {
        struct torn_err cerr;
        int rc;

        torn_proc_child_init();
        close(fds[0]);
        ctx->slot = index + 1;
        torn_err_clear(&cerr);
        if (open_target && torn_target_open(ctx->target, &cerr) != 0) {
            fprintf(stderr, "torn: worker %d: %s\n", index, cerr.msg);
            say_last_words(index, cerr.msg);
            _exit(2);
        }
        rc = fn(ctx, open_target ? ctx->target : NULL, index, fds[1], arg);
        if (open_target)
            torn_target_close(ctx->target);
        _exit(rc & 0xff);
    }
    close(fds[1]);
    torn_proc_track(pid);
    mark(pid, TRACK_WORKER);
    deaths.n_workers++;
    out->pid = pid;
    out->fd = fds[0];
    return TORN_OK;
}

int torn_msg_send(int wfd, const struct torn_msg *m)
{
    ssize_t n;

    do {
        n = write(wfd, m, sizeof *m);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *m ? TORN_OK : TORN_E_IO;
}

int torn_msg_post(int wfd, uint32_t type, int worker, long long a, long long b, long long c,
                  const char *text)
{
    struct torn_msg m;

    memset(&m, 0, sizeof m);
    m.type = type;
    m.worker = (uint32_t)worker;
    m.a = a;
    m.b = b;
    m.c = c;
    m.t_ns = torn_now_ns();
    if (text)
        snprintf(m.text, sizeof m.text, "%.191s", text);
    return torn_msg_send(wfd, &m);
}

int torn_msg_recv(int fd, struct torn_msg *m, int timeout_ms, struct torn_err *err)
{
    size_t got = 0;
    uint64_t deadline = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;

    while (got < sizeof *m) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = torn_now_ns();
        int wait_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull);
        int r = poll(&p, 1, wait_ms);
        ssize_t n;

        if (r < 0 && errno == EINTR) {
            if (torn_stop_requested())
                return torn_err_set(err, TORN_E_INTERRUPTED, "interrupted");
            continue;
        }
        if (r < 0)
            return torn_err_sys(err, TORN_E_IO, errno, "poll");
        if (r == 0)
            return torn_err_set(err, TORN_E_TIMEOUT, "no message from worker within %d ms",
                                timeout_ms);
        n = read(fd, (char *)m + got, sizeof *m - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return torn_err_sys(err, TORN_E_IO, errno, "read from worker");
        if (n == 0)
            return 0; /* EOF; a partial message from a killed writer is dropped */
        got += (size_t)n;
    }
    return 1;
}

void torn_child_kill(struct torn_child *c)
{
    if (c->pid > 0)
        torn_proc_kill(c->pid);
    c->pid = 0;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int torn_child_wait(struct torn_child *c, int timeout_ms, int *status_out, struct torn_err *err)
{
    int rc = TORN_OK, status = 0;

    if (c->pid > 0) {
        rc = torn_proc_wait(c->pid, timeout_ms, &status, err);
        if (rc == TORN_E_TIMEOUT) {
            torn_proc_kill(c->pid);
            status = SIGKILL; /* as if killed */
        }
        c->pid = 0;
    }
    if (status_out)
        *status_out = status;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return rc;
}

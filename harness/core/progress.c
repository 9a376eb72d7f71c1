/* torn: the live progress line. */
#include "progress.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "proc/proc.h"
#include "result.h"
#include "util.h"

struct torn_progress {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;                        /* under mu */
    int drawn;                       /* the line is on the screen */
    char label[160];
    double total_s;
    uint64_t t0_ns;
    const struct torn_stats *stats;
    const struct torn_result *res;
    struct torn_opstats ops[TORN_OP_COUNT]; /* scratch for the merge */
};

int torn_progress_wanted(int quiet)
{
    const char *term = getenv("TERM");

    return !quiet && isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

static void put(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, s, len);
        if (w <= 0)
            return; /* a progress line is not worth retrying for */
        s += w;
        len -= (size_t)w;
    }
}

/* Operations so far: every outcome of every kind but reset/recover, as
 * torn_result_ops_per_s counts them. */
static unsigned long long ops_so_far(struct torn_progress *p)
{
    unsigned long long n = 0;

    memset(p->ops, 0, sizeof p->ops);
    torn_stats_merge(p->stats, p->ops);
    for (int i = 0; i < TORN_OP_COUNT; i++)
        if (i != TORN_OP_RESET && i != TORN_OP_RECOVER)
            n += p->ops[i].n_ok + p->ops[i].n_fail + p->ops[i].n_info;
    return n;
}

static void draw(struct torn_progress *p, double elapsed)
{
    char line[320], total[32] = "";
    struct winsize ws;
    size_t cols = 80, len;
    unsigned long long n_ops = p->stats ? ops_so_far(p) : 0;
    size_t n_viol = __atomic_load_n(&p->res->n_violations_total, __ATOMIC_RELAXED);
    int w;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 8)
        cols = ws.ws_col;
    if (p->total_s > 0)
        snprintf(total, sizeof total, " / %.0fs", p->total_s);
    /* "\r" + erase to end of line, then the text; never wider than the
     * terminal, or the next "\r" would only return to the wrapped part. */
    w = snprintf(line, sizeof line, "\r\033[Ktorn: %s  %.1fs%s  %llu ops  %zu violation%s",
                 p->label, elapsed, total, n_ops, n_viol, n_viol == 1 ? "" : "s");
    if (w < 0)
        return;
    len = (size_t)w < sizeof line ? (size_t)w : sizeof line - 1;
    if (len > cols - 1 + 4)   /* 4 bytes of "\r\033[K" take no column */
        len = cols - 1 + 4;
    put(line, len);
    p->drawn = 1;
}

static void *loop(void *arg)
{
    struct torn_progress *p = arg;
    struct timespec next;

    pthread_mutex_lock(&p->mu);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!p->stop) {
        double elapsed;

        next.tv_nsec += TORN_PROGRESS_PERIOD_MS * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &next);
        elapsed = (double)(torn_now_ns() - p->t0_ns) / 1e9;
        if (!p->stop && elapsed >= TORN_PROGRESS_AFTER_S)
            draw(p, elapsed);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct torn_progress *torn_progress_start(int quiet, const char *label, double total_s,
                                          const struct torn_stats *stats,
                                          const struct torn_result *res)
{
    struct torn_progress *p;
    pthread_condattr_t ca;
    sigset_t all, old;
    int rc;

    if (!torn_progress_wanted(quiet) || !res)
        return NULL;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total_s = total_s;
    p->t0_ns = torn_now_ns();
    p->stats = stats;
    p->res = res;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* The thread inherits this mask: signals stay with the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&p->thread, NULL, loop, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void torn_progress_stop(struct torn_progress *p)
{
    static const char clear[] = "\r\033[K";

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (p->drawn)
        put(clear, sizeof clear - 1);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

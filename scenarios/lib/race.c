/* torn: racing worker processes (see race.h). */
#include "race.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/scenario.h"
#include "core/util.h"

/* Read ends of the command pipes, valid in the parent until every worker
 * has been forked (a forked worker uses its own). */
static int cmd_rd[TORN_RACE_MAX];

static int race_worker(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd,
                       void *argp)
{
    struct torn_race *r = argp;
    struct torn_msg cmd, reply;

    for (;;) {
        int got = torn_msg_recv(cmd_rd[index], &cmd, 60000, NULL);
        uint64_t now;
        int rc;

        if (got == TORN_E_TIMEOUT)
            continue; /* the parent is thinking; it kills us if it dies */
        if (got != 1 || cmd.type == TORN_RACE_QUIT)
            return 0;
        now = torn_now_ns();
        if (cmd.t_ns > now)
            torn_sleep_ns(cmd.t_ns - now); /* everyone starts at the same instant */
        memset(&reply, 0, sizeof reply);
        reply.worker = (uint32_t)index;
        rc = r->fn(ctx, t, index, &cmd, &reply, r->arg);
        reply.t_ns = torn_now_ns();
        if (torn_msg_send(wfd, &reply) != 0 || rc)
            return rc;
    }
}

int torn_race_start(struct torn_ctx *ctx, int n, torn_race_fn fn, void *arg,
                    struct torn_race *r, struct torn_err *err)
{
    int fds[TORN_RACE_MAX][2], rc = TORN_OK;

    memset(r, 0, sizeof *r);
    r->fn = fn;
    r->arg = arg;
    if (n < 1 || n > TORN_RACE_MAX)
        return torn_err_set(err, TORN_E_CONFIG, "workers must be 1..%d, not %d", TORN_RACE_MAX,
                            n);
    for (int i = 0; i < n; i++) {
        if (pipe2(fds[i], O_CLOEXEC) != 0) {
            rc = torn_err_sys(err, TORN_E_ENV, errno, "pipe");
            for (int j = 0; j < i; j++)
                close(fds[j][0]), close(fds[j][1]);
            return rc;
        }
        cmd_rd[i] = fds[i][0];
        r->cmd_fd[i] = fds[i][1];
    }
    for (int i = 0; i < n && !rc; i++) {
        rc = torn_child_spawn(ctx, i, 1, race_worker, r, &r->kids[i], err);
        if (!rc)
            r->n = i + 1;
    }
    for (int i = 0; i < n; i++)
        close(fds[i][0]);
    for (int i = r->n; i < n; i++)
        close(fds[i][1]);
    if (rc)
        torn_race_stop(r, 0);
    return rc;
}

int torn_race_round(struct torn_race *r, const struct torn_msg *cmd, struct torn_msg *replies,
                    int timeout_ms, struct torn_err *err)
{
    struct torn_msg c = *cmd;

    c.t_ns = torn_now_ns() + 5000000ull;
    for (int i = 0; i < r->n; i++)
        if (torn_msg_send(r->cmd_fd[i], &c) != 0)
            return torn_err_set(err, TORN_E_CRASHED, "worker %d is gone", i);
    for (int i = 0; i < r->n; i++) {
        int got = torn_msg_recv(r->kids[i].fd, &replies[i], timeout_ms, NULL);
        if (got == 1)
            continue;
        if (got == TORN_E_TIMEOUT)
            return torn_err_set(err, TORN_E_TIMEOUT, "worker %d did not answer within %d ms", i,
                                timeout_ms);
        return torn_err_set(err, TORN_E_CRASHED,
                            "worker %d exited (could it open the target? see stderr)", i);
    }
    return TORN_OK;
}

void torn_race_stop(struct torn_race *r, int timeout_ms)
{
    struct torn_msg quit;

    memset(&quit, 0, sizeof quit);
    quit.type = TORN_RACE_QUIT;
    for (int i = 0; i < r->n; i++)
        torn_msg_send(r->cmd_fd[i], &quit);
    for (int i = 0; i < r->n; i++) {
        close(r->cmd_fd[i]);
        torn_child_wait(&r->kids[i], timeout_ms > 0 ? timeout_ms : 1, NULL, NULL);
    }
    r->n = 0;
}

void torn_drain_until(struct torn_child *kids, int n, uint64_t until_ns,
                      void (*note)(void *arg, const struct torn_msg *m), void *arg)
{
    struct pollfd pfd[TORN_RACE_MAX];
    unsigned char eof[TORN_RACE_MAX] = {0};
    struct torn_msg m;

    if (n > TORN_RACE_MAX)
        n = TORN_RACE_MAX;
    for (;;) {
        uint64_t now = torn_now_ns();
        int live = 0;

        if (now >= until_ns || torn_stop_requested())
            return;
        for (int i = 0; i < n; i++) {
            pfd[i].fd = eof[i] ? -1 : kids[i].fd; /* -1 is ignored by poll */
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
            live += pfd[i].fd >= 0;
        }
        if (!live) {
            torn_sleep_ns(until_ns - now);
            return;
        }
        if (poll(pfd, (nfds_t)n, (int)((until_ns - now) / 1000000ull) + 1) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            /* POLLHUP with no data left: the writer is gone. */
            if (torn_msg_recv(kids[i].fd, &m, 100, NULL) == 1)
                note(arg, &m);
            else
                eof[i] = 1;
        }
    }
}

int torn_wait_ready(struct torn_child *kids, int n, uint32_t ready_type, int timeout_ms,
                    void (*note)(void *arg, const struct torn_msg *m), void *arg,
                    struct torn_err *err)
{
    struct torn_msg m;

    for (int i = 0; i < n; i++) {
        for (;;) {
            int got = torn_msg_recv(kids[i].fd, &m, timeout_ms, NULL);
            if (got == TORN_E_TIMEOUT)
                return torn_err_set(err, TORN_E_TIMEOUT, "worker %d not ready within %d ms", i,
                                    timeout_ms);
            if (got != 1)
                return torn_err_set(err, TORN_E_CRASHED,
                                    "worker %d exited before it was ready (could it open the "
                                    "target? see stderr)",
                                    i);
            if (m.type == ready_type)
                break;
            note(arg, &m);
        }
    }
    return TORN_OK;
}

int torn_race_unreachable(const struct torn_msg *replies, int n, struct torn_err *err)
{
    for (int i = 0; i < n; i++) {
        switch (replies[i].a) {
        case TORN_E_CONNECT:
        case TORN_E_TIMEOUT:
        case TORN_E_AUTH:
        case TORN_E_IO:
        case TORN_E_INTERRUPTED:
            return torn_err_set(err, (int)replies[i].a, "worker %d: %s", i, replies[i].text);
        default:
            break;
        }
    }
    return TORN_OK;
}

/* torn-fs control: the command language (docs/torn-fs.md), answered on the
 * abstract unix socket "tornfs-<pid>" by a thread of its own (so control
 * never waits for a FUSE worker blocked behind a freeze) and through the
 * .torn-ctl file at the mount root. */
#include "fs/tornfs_int.h"

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void status_line(char *reply, size_t len)
{
    uint64_t dirty = 0, lost = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            for (size_t i = 0; i < n->cap; i++)
                if (n->tab[i].pgno) {
                    dirty++;
                    lost += n->tab[i].lost != 0;
                }
    snprintf(reply, len,
             "ok ops=%llu frozen=%d blocked=%d freeze_at=%llu pending_meta=%zu dirty_pages=%llu "
             "lost_pages=%llu cuts=%llu faults=%llu model=%s pid=%ld",
             (unsigned long long)torn_fsd.ops, torn_fsd.frozen, torn_fsd.blocked,
             (unsigned long long)torn_fsd.freeze_at, torn_fsd.n_mops, (unsigned long long)dirty,
             (unsigned long long)lost, (unsigned long long)torn_fsd.cuts,
             (unsigned long long)torn_fsd.faults, torn_fs_model_name(torn_fsd.model),
             (long)getpid());
}

static void log_lines(char *reply, size_t len)
{
    size_t off = (size_t)snprintf(reply, len, "ok pending_meta=%zu", torn_fsd.n_mops);
    for (size_t i = 0; i < torn_fsd.n_mops && off < len; i++)
        off += (size_t)snprintf(reply + off, len - off, " | %s %s%s%s",
                                torn_fsd_mop_names[torn_fsd.mops[i].kind],
                                torn_fsd.mops[i].a, torn_fsd.mops[i].b ? " -> " : "",
                                torn_fsd.mops[i].b ? torn_fsd.mops[i].b : "");
}

static int errno_parse(const char *s)
{
    static const struct {
        const char *name;
        int e;
    } t[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
             {"EFBIG", EFBIG}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcasecmp(s, t[i].name) == 0)
            return t[i].e;
    return 0;
}

/* The one number argument of a control command (strict, in [lo, hi]); on
 * error reply is "err <what>: expected ...". */
static int ctl_number(const char *what, const char *arg, long long lo, long long hi,
                      long long *out, char *reply, size_t len)
{
    struct torn_err e = {0};
    char buf[64];
    size_t n;

    arg = arg ? arg + strspn(arg, " \t") : "";   /* blanks separate words */
    n = strlen(arg);
    while (n && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
        n--;
    snprintf(buf, sizeof buf, "%.*s", (int)n, arg);
    if (torn_parse_int(what, n < sizeof buf ? buf : arg, lo, hi, out, &e) == 0)
        return 0;
    snprintf(reply, len, "err %s", e.msg);
    return -1;
}

/* rule OP ERR [path=GLOB] [nth=N] [times=K] */
static void add_rule(char *args, char *reply, size_t len)
{
    static const char *const ops[] = {"write", "fsync", "rename", "create", "unlink",
                                      "truncate", "mkdir", "fsyncdir", "any"};
    struct rule r = {.nth = 1, .times = 1};
    char *op = strtok(args, " \t"), *er = strtok(NULL, " \t");
    size_t i;

    if (!op || !er) {
        snprintf(reply, len, "err usage: rule OP ERR [path=GLOB] [nth=N] [times=K]");
        return;
    }
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0]) {
        snprintf(reply, len, "err unknown rule op '%s' (write|fsync|fsyncdir|rename|create|"
                             "unlink|truncate|mkdir|any)", op);
        return;
    }
    snprintf(r.op, sizeof r.op, "%s", op);
    r.err = errno_parse(er);
    if (!r.err) {
        snprintf(reply, len, "err unknown error '%s' (EIO|ENOSPC|EDQUOT|EROFS|EFBIG)", er);
        return;
    }
    for (char *tok = strtok(NULL, " \t"); tok; tok = strtok(NULL, " \t")) {
        long long v = 0;
        if (strncmp(tok, "path=", 5) == 0) {
            snprintf(r.glob, sizeof r.glob, "%s", tok + 5);
        } else if (strncmp(tok, "nth=", 4) == 0) {
            if (ctl_number("rule nth=N", tok + 4, 1, TORN_FS_COUNT_MAX, &v, reply, len) < 0)
                return;
            r.nth = (uint64_t)v;
        } else if (strncmp(tok, "times=", 6) == 0) {
            if (ctl_number("rule times=K", tok + 6, 0, TORN_FS_COUNT_MAX, &v, reply, len) < 0)
                return;
            r.times = (uint64_t)v;
        } else {
            snprintf(reply, len, "err bad rule argument '%.60s'", tok);
            return;
        }
    }
    if (torn_fsd.n_rules == MAX_RULES) {
        snprintf(reply, len, "err at most %d rules", MAX_RULES);
        return;
    }
    torn_fsd.rules[torn_fsd.n_rules++] = r;
    snprintf(reply, len, "ok rule %zu: %s %s path=%s nth=%llu times=%llu", torn_fsd.n_rules,
             r.op, er, r.glob[0] ? r.glob : "*", (unsigned long long)r.nth,
             (unsigned long long)r.times);
}

/* wait MS: until frozen or MS elapsed.  Called with mu held. */
static void wait_frozen(long ms, char *reply, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!torn_fsd.frozen)
        if (pthread_cond_timedwait(&torn_fsd.cv, &torn_fsd.mu, &ts) == ETIMEDOUT)
            break;
    snprintf(reply, len, "ok frozen=%d ops=%llu", torn_fsd.frozen,
             (unsigned long long)torn_fsd.ops);
}

/* 1 when the client of control connection conn hung up (-1: a .torn-ctl
 * file, never). */
static int peer_gone(int conn)
{
    struct pollfd p = {.fd = conn, .events = POLLRDHUP};

    return conn >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* wait-blocked MS: until a request waits behind the freeze (the program
 * reached its next persistence operation and runs no more code), MS
 * elapsed, or the client hung up (checked every 2 ms: a client that saw
 * its program finish instead closes the connection, and the control
 * thread must not stay blocked for MS).  Called with mu held. */
static void wait_blocked(int conn, long ms, char *reply, size_t len)
{
    uint64_t end = torn_now_ns() + (uint64_t)ms * 1000000ULL;

    while (!(torn_fsd.frozen && torn_fsd.blocked > 0) && !peer_gone(conn)) {
        uint64_t now = torn_now_ns(), step = 2000000ULL;
        struct timespec ts;
        if (now >= end)
            break;
        if (end - now < step)
            step = end - now;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)step;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        (void)pthread_cond_timedwait(&torn_fsd.cv, &torn_fsd.mu, &ts);
    }
    snprintf(reply, len, "ok frozen=%d blocked=%d ops=%llu", torn_fsd.frozen, torn_fsd.blocked,
             (unsigned long long)torn_fsd.ops);
}

/* Run one command line; conn is the control connection it came on (-1 for
 * the .torn-ctl file). */
static void run_command(char *line, int conn, char *reply, size_t len)
{
    char *args, *cmd = strtok_r(line, " \t\r\n", &args);
    enum torn_fs_model m;

    if (!cmd) {
        snprintf(reply, len, "err empty command");
        return;
    }
    if (args)
        args[strcspn(args, "\r\n")] = 0;
    pthread_mutex_lock(&torn_fsd.mu);
    if (strcmp(cmd, "status") == 0) {
        status_line(reply, len);
    } else if (strcmp(cmd, "log") == 0) {
        log_lines(reply, len);
    } else if (strcmp(cmd, "model") == 0) {
        if (args && torn_fs_model_parse(args, &m, NULL) == 0) {
            torn_fsd.model = m;
            snprintf(reply, len, "ok model=%s", torn_fs_model_name(m));
        } else {
            snprintf(reply, len, "err model must be process|power|fsync-fail");
        }
    } else if (strcmp(cmd, "sync") == 0) {
        if (torn_fsd.kept.on) {
            snprintf(reply, len, "err a kept cut is pending: uncut first");
        } else {
            torn_fsd_mops_commit(torn_fsd.n_mops);
            torn_fsd_nodes_clear();
            snprintf(reply, len, "ok synced");
        }
    } else if (strcmp(cmd, "counter-reset") == 0) {
        torn_fsd.ops = 0;
        torn_fsd.freeze_at = 0;
        snprintf(reply, len, "ok ops=0");
    } else if (strcmp(cmd, "freeze") == 0) {
        long long n;
        if (ctl_number("freeze N", args, 0, TORN_FS_COUNT_MAX, &n, reply, len) == 0) {
            torn_fsd.freeze_at = (uint64_t)n;
            if (torn_fsd.freeze_at && torn_fsd.ops >= torn_fsd.freeze_at)
                torn_fsd.frozen = 1;
            snprintf(reply, len, "ok freeze_at=%llu", (unsigned long long)torn_fsd.freeze_at);
        }
    } else if (strcmp(cmd, "thaw") == 0) {
        torn_fsd.frozen = 0;
        torn_fsd.freeze_at = 0;
        pthread_cond_broadcast(&torn_fsd.cv);
        snprintf(reply, len, "ok thawed");
    } else if (strcmp(cmd, "wait") == 0) {
        long long ms;
        if (ctl_number("wait MS", args, 0, TORN_FS_WAIT_MAX_MS, &ms, reply, len) == 0)
            wait_frozen((long)ms, reply, len);
    } else if (strcmp(cmd, "wait-blocked") == 0) {
        long long ms;
        if (ctl_number("wait-blocked MS", args, 0, TORN_FS_WAIT_MAX_MS, &ms, reply, len) == 0)
            wait_blocked(conn, (long)ms, reply, len);
    } else if (strcmp(cmd, "cut") == 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", args ? args : "");
        torn_fsd_cut(buf, reply, len);
    } else if (strcmp(cmd, "uncut") == 0) {
        torn_fsd_uncut(reply, len);
    } else if (strcmp(cmd, "rule") == 0) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", args ? args : "");
        add_rule(buf, reply, len);
    } else if (strcmp(cmd, "rules-clear") == 0) {
        torn_fsd.n_rules = 0;
        snprintf(reply, len, "ok rules cleared");
    } else {
        snprintf(reply, len, "err unknown command '%s' (status|model|sync|counter-reset|freeze|"
                             "thaw|wait|wait-blocked|cut|uncut|rule|rules-clear|log)", cmd);
    }
    pthread_mutex_unlock(&torn_fsd.mu);
}

/* 1 when the peer of control connection c may command this file system:
 * the daemon's own user or root.  The abstract socket's name is public
 * (the pid is in /proc/mounts) and abstract sockets have no file
 * permissions, so without this any local user could inject faults or cut
 * the power under another user's run. */
static int peer_allowed(int c)
{
    struct ucred cred;
    socklen_t len = sizeof cred;

    return getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred &&
           (cred.uid == 0 || cred.uid == geteuid());
}

/* One command per connection: read a line (5 s limit), run it, answer one
 * line.  A dedicated thread, so control works even when every FUSE worker
 * is blocked behind a freeze. */
static void *ctl_thread(void *arg)
{
    (void)arg;
    for (;;) {
        char line[1024], reply[REPLY_MAX];
        struct timeval tv = {5, 0};
        size_t n = 0, len;
        int c = accept4(torn_fsd.lfd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        if (!peer_allowed(c)) {
            static const char no[] = "err permission denied: not the mount's owner\n";
            (void)!write(c, no, sizeof no - 1);
            close(c);
            continue;
        }
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        while (n < sizeof line - 1) {
            ssize_t r = read(c, line + n, sizeof line - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            if (memchr(line, '\n', n))
                break;
        }
        line[n] = 0;
        run_command(line, c, reply, sizeof reply - 1);
        len = strlen(reply);
        reply[len++] = '\n';
        (void)!write(c, reply, len);
        close(c);
    }
}

int torn_fsd_ctl_listen(int ready_fd)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, TORN_FS_SOCK_FMT, (long)getpid());
    pthread_t th;

    torn_fsd.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (torn_fsd.lfd < 0 ||
        bind(torn_fsd.lfd, (struct sockaddr *)&a,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0 ||
        listen(torn_fsd.lfd, 16) < 0 || pthread_create(&th, NULL, ctl_thread, NULL) != 0) {
        torn_fsd_ready(ready_fd, "cannot create the control socket: %s", strerror(errno));
        return -1;
    }
    pthread_detach(th);
    return 0;
}

int torn_fsd_ctl_read(struct ofile *o, char *buf, size_t size, off_t off)
{
    if (o->reply_len == 0) {
        char line[] = "status";
        run_command(line, -1, o->reply, sizeof o->reply - 1);
        o->reply_len = strlen(o->reply);
        o->reply[o->reply_len++] = '\n';
    }
    if (off >= (off_t)o->reply_len)
        return 0;
    if (size > o->reply_len - (size_t)off)
        size = o->reply_len - (size_t)off;
    memcpy(buf, o->reply + off, size);
    return (int)size;
}

int torn_fsd_ctl_write(struct ofile *o, const char *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n' || o->cmd_len == sizeof o->cmd - 1) {
            o->cmd[o->cmd_len] = 0;
            run_command(o->cmd, -1, o->reply, sizeof o->reply - 1);
            o->reply_len = strlen(o->reply);
            o->reply[o->reply_len++] = '\n';
            o->cmd_len = 0;
        } else {
            o->cmd[o->cmd_len++] = buf[i];
        }
    }
    return (int)size;
}

/* torn-fs, the controlling side: mount/unmount a daemon, send control
 * commands, clean stale mounts (`torn fs` is harness/cli/cmd_fs.c). */
#include "tornfs.h"

#include "core/cleanup.h"
#include "core/err.h"
#include "core/parse.h"
#include "proc/proc.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct torn_fs {
    char *backing;
    char *mountpoint;
    pid_t pid;
    int detached;
};

const char *torn_fs_mountpoint(const struct torn_fs *fs)
{
    return fs->mountpoint;
}

const char *torn_fs_backing(const struct torn_fs *fs)
{
    return fs->backing;
}

pid_t torn_fs_pid(const struct torn_fs *fs)
{
    return fs->pid;
}

int torn_fs_available(void)
{
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* 1 if pid runs (exists and is not a zombie). */
static int pid_alive(pid_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    if (kill(pid, 0) != 0 && errno != EPERM)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    p = p ? strrchr(buf, ')') : NULL;
    return !(p && (p[2] == 'Z' || p[2] == 'X'));
}

/* Is the mount at mnt ours and its daemon alive?  Reads /proc/mounts only.
 * Returns the daemon pid (0 when mnt is not a torn-fs mount). */
static pid_t mount_owner(const char *mnt, int *alive_out)
{
    FILE *f = fopen("/proc/mounts", "re");
    char dev[256], dir[PATH_MAX], type[64];
    char real[PATH_MAX];
    pid_t pid = 0;

    *alive_out = 0;
    if (!realpath(mnt, real))
        snprintf(real, sizeof real, "%s", mnt);
    if (!f)
        return 0;
    while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
        long p;
        if (strcmp(type, "fuse.torn") != 0 || strcmp(dir, real) != 0)
            continue;
        if (sscanf(dev, "tornfs-%ld", &p) == 1) {
            pid = (pid_t)p;
            *alive_out = pid_alive(pid);
        }
    }
    fclose(f);
    return pid;
}

int torn_fs_clean_stale(void)
{
    FILE *f = fopen("/proc/mounts", "re");
    char dev[256], dir[PATH_MAX], type[64];
    int n = 0;

    if (!f)
        return 0;
    while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
        long p;
        if (strcmp(type, "fuse.torn") != 0 || sscanf(dev, "tornfs-%ld", &p) != 1)
            continue;
        if (pid_alive((pid_t)p))
            continue;   /* a live daemon (ours or another run's) */
        if (umount2(dir, MNT_DETACH) == 0)
            n++;
    }
    fclose(f);
    return n;
}

static void unmount_at_exit(void *arg);

/* Read the daemon's one readiness line within timeout_ms. */
static int read_ready(int fd, char *line, size_t len, int timeout_ms)
{
    size_t got = 0;
    uint64_t deadline = torn_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
    while (got < len - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = torn_now_ns();
        ssize_t n;
        if (now >= deadline)
            return TORN_E_TIMEOUT;
        if (poll(&p, 1, (int)((deadline - now) / 1000000ULL) + 1) <= 0)
            continue;
        n = read(fd, line + got, len - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(line, '\n', got))
            break;
    }
    line[got] = 0;
    line[strcspn(line, "\n")] = 0;
    return got ? 0 : TORN_E_CRASHED;
}

static void daemon_child(const char *backing, const char *mnt, enum torn_fs_model model,
                         unsigned flags, int wfd, pid_t parent)
{
    int rc;
    if (flags & TORN_FS_DETACH) {
        setsid();
        if (fork() > 0)   /* the grandchild serves; nobody waits for it */
            _exit(0);
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            if (nul > 2)
                close(nul);
        }
    } else {
        torn_proc_child_init();
        /* Out of torn's process group: a group SIGKILL must not take the
         * daemon down with its mount in place.  It stops (unmounting) when
         * torn dies: SIGTERM from the parent-death signal, and its own
         * watch of its parent (torn_fs_serve). */
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
    }
    if (chdir("/") < 0)
        _exit(2);
    rc = torn_fs_serve(backing, mnt, model, flags, wfd, flags & TORN_FS_DETACH ? 0 : parent);
    _exit(rc);
}

int torn_fs_mount(const char *backing, const char *mountpoint, enum torn_fs_model model,
                  unsigned flags, struct torn_fs **out, struct torn_err *err)
{
    struct torn_fs *fs = NULL;
    int p[2] = {-1, -1}, rc, alive;
    char line[300];
    struct stat st;
    pid_t pid, parent = getpid();

    *out = NULL;
    torn_fs_clean_stale();
    if (!torn_fs_available())
        return torn_err_sys(err, TORN_E_ENV, errno, "torn-fs needs FUSE: cannot open /dev/fuse");
    if (stat(backing, &st) < 0 || !S_ISDIR(st.st_mode))
        return torn_err_set(err, TORN_E_CONFIG, "torn-fs backing %s is not a directory", backing);
    if (stat(mountpoint, &st) < 0 || !S_ISDIR(st.st_mode))
        return torn_err_set(err, TORN_E_CONFIG, "torn-fs mount point %s is not a directory",
                            mountpoint);
    if (mount_owner(mountpoint, &alive) && alive)
        return torn_err_set(err, TORN_E_ENV, "a torn-fs is already mounted at %s", mountpoint);
    fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->backing = realpath(backing, NULL)) ||
        !(fs->mountpoint = realpath(mountpoint, NULL))) {
        rc = torn_err_sys(err, TORN_E_NOMEM, errno, "torn-fs: cannot resolve paths");
        goto fail;
    }
    fs->detached = (flags & TORN_FS_DETACH) != 0;
    if (pipe2(p, O_CLOEXEC) < 0) {
        rc = torn_err_sys(err, TORN_E_IO, errno, "pipe");
        goto fail;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        rc = torn_err_sys(err, TORN_E_IO, errno, "fork");
        goto fail;
    }
    if (pid == 0) {
        close(p[0]);
        daemon_child(fs->backing, fs->mountpoint, model, flags, p[1], parent);
    }
    close(p[1]);
    p[1] = -1;
    if (!fs->detached)
        torn_proc_track(pid);
    rc = read_ready(p[0], line, sizeof line, 5000);
    close(p[0]);
    p[0] = -1;
    if (fs->detached) {
        int status;
        (void)waitpid(pid, &status, 0);   /* the intermediate child */
    }
    if (rc == 0 && strcmp(line, "ok") != 0) {
        rc = torn_err_set(err, TORN_E_ENV, "torn-fs: %s", line);
    } else if (rc < 0) {
        rc = torn_err_set(err, rc == TORN_E_TIMEOUT ? TORN_E_TIMEOUT : TORN_E_ENV,
                          "torn-fs daemon did not mount %s within 5 s", fs->mountpoint);
    }
    if (rc < 0) {
        if (!fs->detached)
            torn_proc_kill(pid);
        goto fail;
    }
    fs->pid = fs->detached ? mount_owner(fs->mountpoint, &alive) : pid;
    if (!fs->detached) {
        torn_proc_untrack(pid);
        (void)torn_cleanup_add(unmount_at_exit, fs);
    }
    *out = fs;
    return 0;
fail:
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    if (fs) {
        free(fs->backing);
        free(fs->mountpoint);
        free(fs);
    }
    return rc;
}

/* Stop the daemon serving mnt (pid; child: it is our child, reap it) and
 * make sure the mount is gone. */
static void stop_daemon(const char *mnt, pid_t pid, int child)
{
    int alive, status;

    if (pid > 0 && kill(pid, SIGTERM) == 0) {
        int gone = 0;
        for (int i = 0; i < 500 && !gone; i++) {
            if (child)
                gone = waitpid(pid, &status, WNOHANG) == pid;
            else
                gone = !pid_alive(pid);   /* a zombie counts as gone */
            if (!gone)
                usleep(10000);
        }
        if (!gone) {
            kill(pid, SIGKILL);
            if (child)
                (void)waitpid(pid, &status, 0);
        }
    }
    if (mount_owner(mnt, &alive))
        (void)umount2(mnt, MNT_DETACH);
}

/* Mounts of this process's own daemons are unmounted at exit (core/cleanup.h):
 * the daemons are kept out of the proc.h registry because the runner reaps
 * that after every scenario while a mount may serve several. */
static void unmount_at_exit(void *arg)
{
    struct torn_fs *fs = arg;

    stop_daemon(fs->mountpoint, fs->pid, 1);
}

void torn_fs_unmount(struct torn_fs *fs)
{
    if (!fs)
        return;
    torn_cleanup_remove(unmount_at_exit, fs);
    stop_daemon(fs->mountpoint, fs->pid, !fs->detached);
    free(fs->backing);
    free(fs->mountpoint);
    free(fs);
}

/* 1 when the server end of fd is daemon pid run by us or root: an abstract
 * name can be taken by anyone, and a fake daemon could forge cut results. */
static int peer_is_daemon(int fd, pid_t pid)
{
    struct ucred cred;
    socklen_t len = sizeof cred;

    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred &&
           cred.pid == pid && (cred.uid == 0 || cred.uid == geteuid());
}

/* Connect to the control socket of daemon pid and send cmd (one line): the
 * connected descriptor, whose reply ctl_reply reads, or a negative
 * torn_code.  `wait MS` and `wait-blocked MS` take up to MS to answer: the
 * receive timeout grows by MS (a bad MS is the daemon's to refuse). */
static int ctl_send(pid_t pid, const char *cmd, struct torn_err *err)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, TORN_FS_SOCK_FMT, (long)pid);
    const char *ms = strncmp(cmd, "wait ", 5) == 0           ? cmd + 5
                     : strncmp(cmd, "wait-blocked ", 13) == 0 ? cmd + 13
                                                              : NULL;
    long long wait_ms = 0;
    struct timeval tv = {10, 0};
    size_t clen = strlen(cmd);
    int fd;

    if (clen >= 1000)
        return torn_err_set(err, TORN_E_USAGE, "torn-fs command too long");
    if (ms && torn_parse_int("wait MS", ms, 0, TORN_FS_WAIT_MAX_MS, &wait_ms, NULL) == 0)
        tv.tv_sec += (time_t)(wait_ms / 1000);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return torn_err_sys(err, TORN_E_IO, errno, "socket");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a,
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0) {
        int e = errno;
        close(fd);
        return torn_err_sys(err, TORN_E_IO, e, "torn-fs daemon %ld: control socket", (long)pid);
    }
    if (!peer_is_daemon(fd, pid)) {
        close(fd);
        return torn_err_set(err, TORN_E_IO,
                            "torn-fs daemon %ld: its control socket is held by another "
                            "process or user; not sending '%s'", (long)pid, cmd);
    }
    {
        char line[1024];
        memcpy(line, cmd, clen);
        line[clen] = '\n';
        if (write(fd, line, clen + 1) != (ssize_t)(clen + 1)) {
            int e = errno;
            close(fd);
            return torn_err_sys(err, TORN_E_IO, e, "torn-fs daemon %ld: send", (long)pid);
        }
    }
    return fd;
}

/* Read the one reply line to cmd from fd (closed here) into reply, without
 * "ok "/"err ": 0 on "ok", TORN_E_REMOTE on "err" (err->msg has the
 * daemon's message), TORN_E_TIMEOUT / TORN_E_PROTOCOL without a line. */
static int ctl_reply(int fd, pid_t pid, const char *cmd, char *reply, size_t reply_len,
                     struct torn_err *err)
{
    char buf[8192];
    size_t got = 0;

    while (got < sizeof buf - 1) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (memchr(buf, '\n', got))
            break;
    }
    close(fd);
    buf[got] = 0;
    if (!memchr(buf, '\n', got))
        return torn_err_set(err, got ? TORN_E_PROTOCOL : TORN_E_TIMEOUT,
                            "torn-fs daemon %ld: no reply to '%s'", (long)pid, cmd);
    buf[strcspn(buf, "\n")] = 0;
    if (strncmp(buf, "ok", 2) == 0) {
        if (reply_len)
            snprintf(reply, reply_len, "%s", buf[2] == ' ' ? buf + 3 : buf + 2);
        return 0;
    }
    if (reply_len)
        snprintf(reply, reply_len, "%s", strncmp(buf, "err ", 4) == 0 ? buf + 4 : buf);
    return torn_err_set(err, TORN_E_REMOTE, "torn-fs: %s",
                        strncmp(buf, "err ", 4) == 0 ? buf + 4 : buf);
}

int torn_fs_ctl(const char *mountpoint, const char *cmd, char *reply, size_t reply_len,
                struct torn_err *err)
{
    int alive, fd;
    pid_t pid;

    if (reply_len)
        reply[0] = 0;
    pid = mount_owner(mountpoint, &alive);
    if (!pid || !alive)
        return torn_err_set(err, TORN_E_IO, "%s is not a live torn-fs mount", mountpoint);
    if ((fd = ctl_send(pid, cmd, err)) < 0)
        return fd;
    return ctl_reply(fd, pid, cmd, reply, reply_len, err);
}

/* The daemon of fs.  A daemon this process started is its child: its pid
 * cannot name another process before it is reaped (at unmount), so it is
 * used as it is, without reading /proc/mounts (that took most of a control
 * round trip); a detached one is looked up like any mount. */
static pid_t fs_daemon(const struct torn_fs *fs)
{
    int alive;
    pid_t pid;

    if (!fs->detached)
        return fs->pid;
    pid = mount_owner(fs->mountpoint, &alive);
    return alive ? pid : 0;
}

int torn_fs_ctl_start(struct torn_fs *fs, const char *cmd, struct torn_err *err)
{
    pid_t pid = fs_daemon(fs);

    if (!pid)
        return torn_err_set(err, TORN_E_IO, "%s is not a live torn-fs mount", fs->mountpoint);
    return ctl_send(pid, cmd, err);
}

int torn_fs_ctl_finish(struct torn_fs *fs, int fd, const char *cmd, char *reply,
                       size_t reply_len, struct torn_err *err)
{
    if (reply_len)
        reply[0] = 0;
    return ctl_reply(fd, fs->pid, cmd, reply, reply_len, err);
}

int torn_fs_ctlf(struct torn_fs *fs, char *reply, size_t reply_len, struct torn_err *err,
                 const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    int fd;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if ((fd = torn_fs_ctl_start(fs, cmd, err)) < 0) {
        if (reply_len)
            reply[0] = 0;
        return fd;
    }
    return torn_fs_ctl_finish(fs, fd, cmd, reply, reply_len, err);
}

/* The unsigned value of key=N in a status line, 0 when absent. */
static uint64_t field(const char *line, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = line; (p = strstr(p, key)); p += k)
        if ((p == line || p[-1] == ' ') && p[k] == '=')
            return strtoull(p + k + 1, NULL, 10);
    return 0;
}

int torn_fs_status_get(struct torn_fs *fs, struct torn_fs_status *st, struct torn_err *err)
{
    char reply[512];
    const char *m;
    int rc = torn_fs_ctlf(fs, reply, sizeof reply, err, "status");
    if (rc < 0)
        return rc;
    st->ops = field(reply, "ops");
    st->frozen = (int)field(reply, "frozen");
    st->blocked = (int)field(reply, "blocked");
    st->freeze_at = field(reply, "freeze_at");
    st->pending_meta = field(reply, "pending_meta");
    st->dirty_pages = field(reply, "dirty_pages");
    st->lost_pages = field(reply, "lost_pages");
    st->cuts = field(reply, "cuts");
    st->faults = field(reply, "faults");
    m = strstr(reply, "model=");
    st->model = TORN_FS_POWER;
    if (m) {
        char name[32];
        sscanf(m + 6, "%31s", name);
        (void)torn_fs_model_parse(name, &st->model, NULL);
    }
    return 0;
}

int torn_fs_umount_path(const char *mnt, char *real, size_t real_len, struct torn_err *err)
{
    int alive;
    pid_t pid = mount_owner(mnt, &alive);

    if (!pid)
        return torn_err_set(err, TORN_E_CONFIG, "%s is not a torn-fs mount", mnt);
    if (!realpath(mnt, real) || strlen(real) >= real_len)
        snprintf(real, real_len, "%s", mnt);
    stop_daemon(real, alive ? pid : 0, 0);
    if (mount_owner(real, &alive))
        return torn_err_set(err, TORN_E_IO, "%s is still mounted", real);
    return 0;
}

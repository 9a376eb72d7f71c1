/* torn: managed redis-server and postgres instances (see server.h). */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "core/cleanup.h"
#include "core/err.h"
#include "proc/proc.h"
#include "core/target.h"
#include "core/text.h"
#include "core/util.h"

#define PG_ROLE "torn"
#define PG_DB "postgres"
#define MAX_ARGS 96

static unsigned server_counter;

static void kill_tree(pid_t pid, int timeout_ms);
static void keeper_stop(struct torn_server *srv);
static void remove_dir(const struct torn_server *srv);

/* A running server is deliberately NOT left in the proc.h registry: the
 * runner reaps that registry after every scenario, and a managed server
 * outlives scenarios (it belongs to the target's setup/teardown).  It still
 * cannot outlive torn: PR_SET_PDEATHSIG kills it when torn dies, and this
 * exit handler (core/cleanup.h) crashes and removes it when torn exits
 * without a teardown. */
static void crash_at_exit(void *arg)
{
    struct torn_server *srv = arg;

    kill_tree(srv->pid, 2000);
    keeper_stop(srv);
    remove_dir(srv);
}

const char *torn_server_kind_name(enum torn_server_kind kind)
{
    switch (kind) {
    case TORN_SERVER_REDIS: return "redis-server";
    case TORN_SERVER_POSTGRES: return "postgres";
    case TORN_SERVER_COMMAND: return "service";
    }
    return "server";
}

/* Debian package that ships prog, for the "install it" hint. */
static const char *package_of(const char *prog)
{
    if (strcmp(prog, "redis-server") == 0)
        return "redis-server";
    if (strncmp(prog, "redis-", 6) == 0)
        return "redis-tools";
    if (strcmp(prog, "pgbench") == 0 || strcmp(prog, "psql") == 0)
        return "postgresql-client";
    return "postgresql";
}

static int is_postgres_prog(const char *prog)
{
    return strcmp(package_of(prog), "redis-server") != 0 &&
           strcmp(package_of(prog), "redis-tools") != 0;
}

/* Highest-versioned /usr/lib/postgresql/<v>/bin/prog, or NULL. */
static char *find_debian_pg(const char *prog)
{
    char *pattern = torn_asprintf("/usr/lib/postgresql/*/bin/%s", prog), *best = NULL;
    glob_t g;

    if (!pattern)
        return NULL;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (access(g.gl_pathv[i], X_OK) == 0 &&
                (!best || strverscmp(g.gl_pathv[i], best) > 0)) {
                free(best);
                best = strdup(g.gl_pathv[i]);
            }
        globfree(&g);
    }
    free(pattern);
    return best;
}

static char *find_on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy, *save = NULL, *found = NULL;

    copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    if (!copy)
        return NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *cand = torn_asprintf("%s/%s", *d ? d : ".", prog);
        if (cand && access(cand, X_OK) == 0)
            found = cand;
        else
            free(cand);
    }
    free(copy);
    return found;
}

int torn_server_find_bin(const char *prog, char **path_out, struct torn_err *err)
{
    char *p = NULL;

    /* Debian's /usr/bin/pgbench etc. are pg_wrapper scripts that want a
     * configured cluster; the real programs live in /usr/lib/postgresql. */
    if (is_postgres_prog(prog))
        p = find_debian_pg(prog);
    if (!p)
        p = find_on_path(prog);
    *path_out = p;
    if (!p)
        return torn_err_set(err, TORN_E_ENV,
                            "%s not found on PATH%s; install the Debian package '%s'", prog,
                            is_postgres_prog(prog) ? " or in /usr/lib/postgresql/*/bin" : "",
                            package_of(prog));
    return TORN_OK;
}

/* ---- small helpers ---- */

static uint64_t deadline_after(int ms)
{
    return torn_now_ns() + (uint64_t)(ms > 0 ? ms : 1) * 1000000ull;
}

/* The most telling line of the server log, for error messages: the last
 * Postgres "FATAL:" line, else the last non-empty line (Redis prints its
 * complaint last). */
static void log_tail(const char *path, char *buf, size_t len)
{
    char *text = NULL, *save = NULL, *best = NULL, *last = NULL;
    size_t n = 0;

    snprintf(buf, len, "(no log output)");
    if (!path || torn_read_file(path, &text, &n, NULL) != 0)
        return;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (strspn(line, " \t") == strlen(line))
            continue;
        last = line;
        if (strstr(line, "FATAL:"))
            best = line;
    }
    if (best || last)
        snprintf(buf, len, "%s", best ? strstr(best, "FATAL:") : last);
    free(text);
}

/* 1 when the server log mentions needle. */
static int log_contains(const char *path, const char *needle)
{
    char *text = NULL;
    size_t n = 0;
    int found;

    if (torn_read_file(path, &text, &n, NULL) != 0)
        return 0;
    found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void free_argv(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Append a copy of s to the NULL-terminated argv (capacity MAX_ARGS). */
static int push_arg(char **argv, const char *s)
{
    size_t i = 0;

    while (argv[i])
        i++;
    if (i + 1 >= MAX_ARGS)
        return TORN_E_CONFIG;
    argv[i] = strdup(s);
    return argv[i] ? TORN_OK : TORN_E_NOMEM;
}

/* ---- running programs as the server user ---- */

/* In a forked child: own process group, log on stdout/stderr, no inherited
 * descriptors, unprivileged user when asked, die with torn.  Never
 * returns on failure: _exit(127) with a line in the log. */
static void child_prepare(const struct torn_server *srv, pid_t parent)
{
    int fd, nul;

    torn_proc_child_init();
    setpgid(0, 0);
    nul = open("/dev/null", O_RDONLY);
    fd = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (nul < 0 || fd < 0)
        _exit(127);
    dup2(nul, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (srv->lock_fd >= 0 && dup2(srv->lock_fd, 3) == 3) {
        /* The server inherits the owner lock: its directory is not stale
         * while any of its processes lives (see sweep_stale). */
        fcntl(3, F_SETFD, 0);
        close_range(4, ~0u, 0);
    } else {
        close_range(3, ~0u, 0);
    }
    if (srv->drop_privileges) {
        if (setgroups(0, NULL) != 0 || setgid(srv->gid) != 0 || setuid(srv->uid) != 0) {
            dprintf(2, "torn: cannot switch to uid %ld: %s\n", (long)srv->uid,
                    strerror(errno));
            _exit(127);
        }
        /* A credential change clears the parent-death signal: set it again. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
    if (getppid() != parent)
        _exit(127);
}

/* Fork and exec argv as the server user; the child is tracked. */
static int spawn(const struct torn_server *srv, char *const *argv, pid_t *pid_out,
                 struct torn_err *err)
{
    pid_t parent = getpid(), pid;

    *pid_out = 0;
    pid = fork();
    if (pid < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "fork %s", argv[0]);
    if (pid == 0) {
        child_prepare(srv, parent);
        execv(argv[0], argv);
        dprintf(2, "torn: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with a kill of the group */
    torn_proc_track(pid);
    *pid_out = pid;
    return TORN_OK;
}

/* A user's program (TORN_SERVER_COMMAND) may start processes of its own,
 * which the parent-death signal does not reach.  A keeper, in its own
 * session (a SIGKILL of torn's whole process group misses it), holds the
 * read end of a pipe only torn writes to: when torn dies, even by SIGKILL,
 * it reads EOF and SIGKILLs the server's process group.  torn stops the
 * keeper before it ends or loses the group itself (keeper_stop). */
static void keeper_start(struct torn_server *srv)
{
    int p[2];
    pid_t k;
    char c;

    if (srv->kind != TORN_SERVER_COMMAND || srv->pid <= 0 || pipe2(p, O_CLOEXEC) != 0)
        return;
    k = fork();
    if (k == 0) {
        setsid();
        if (dup2(p[0], 0) != 0)
            _exit(1);
        close_range(1, ~0u, 0);
        while (read(0, &c, 1) < 0 && errno == EINTR)
            ;
        kill(-srv->pid, SIGKILL);
        _exit(0);
    }
    close(p[0]);
    if (k < 0) {
        close(p[1]);
        return;
    }
    srv->keeper = k;
    srv->keeper_fd = p[1];
}

static void keeper_stop(struct torn_server *srv)
{
    if (srv->keeper <= 0)
        return;
    kill(srv->keeper, SIGKILL);
    waitpid(srv->keeper, NULL, 0);
    close(srv->keeper_fd);
    srv->keeper = 0;
    srv->keeper_fd = -1;
}

/* Direct children of pid, from /proc (at most max); returns the count. */
static size_t list_children(pid_t pid, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max) {
        char path[300], buf[512], *rp;
        long ppid = 0;
        FILE *f;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')) &&
            sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)pid)
            out[n++] = (pid_t)atol(e->d_name);
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Crash the server: freeze it, SIGKILL its children (Postgres backends put
 * themselves in their own sessions, so a process-group kill would miss
 * them) and then itself, and reap everything.  torn is a child subreaper
 * while it runs servers, so the orphaned children come back to torn and are
 * reaped here rather than lingering as zombies. */
static void kill_tree(pid_t pid, int timeout_ms)
{
    pid_t kids[512];
    size_t n;

    if (pid <= 0)
        return;
    kill(pid, SIGSTOP); /* no new children, no reaction to their deaths */
    n = list_children(pid, kids, sizeof kids / sizeof kids[0]);
    for (size_t i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    kill(pid, SIGKILL);
    kill(-pid, SIGKILL); /* its process group too: a service's helpers */
    torn_proc_kill(pid);
    for (size_t i = 0; i < n; i++) {
        uint64_t deadline = deadline_after(timeout_ms);
        while (waitpid(kids[i], NULL, WNOHANG) == 0 && torn_now_ns() < deadline)
            torn_sleep_ns(1000000);
    }
}

/* ---- readiness ---- */

/* 1 ready, 0 not yet. */
static int redis_ready(const struct torn_server *srv)
{
    struct timeval tv = {0, 300000};
    redisContext *c = redisConnectWithTimeout(srv->host, srv->port, tv);
    redisReply *r;
    int ok = 0;

    if (!c)
        return 0;
    if (!c->err && redisSetTimeout(c, tv) == REDIS_OK) {
        r = redisCommand(c, "AUTH %s", srv->password);
        if (r)
            freeReplyObject(r);
        r = redisCommand(c, "PING");
        /* LOADING (AOF/RDB replay) is an error reply: not ready yet. */
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

static int postgres_ready(const struct torn_server *srv)
{
    char port[16];
    /* Every option that picks where and how to connect is explicit, so no
     * PGHOSTADDR / PGSSLMODE in the environment can redirect or break it. */
    const char *const keys[] = {"host",   "hostaddr", "port",    "user",           "dbname",
                                "sslmode", "gssencmode", "connect_timeout", NULL};
    const char *vals[] = {srv->host, srv->host, port, srv->user, srv->dbname,
                          "disable", "disable", "2", NULL};

    snprintf(port, sizeof port, "%d", srv->port);
    return PQpingParams(keys, vals, 0) == PQPING_OK;
}

/* Wait until the server answers, it dies, or timeout. */
static int wait_ready(struct torn_server *srv, struct torn_err *err)
{
    uint64_t deadline = deadline_after(srv->timeout_ms);
    char tail[200];
    int status;

    for (;;) {
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            char how[64];
            torn_proc_untrack(srv->pid);
            kill(-srv->pid, SIGKILL); /* what it started, before its keeper goes */
            srv->pid = 0;
            keeper_stop(srv);
            torn_proc_describe(status, how, sizeof how);
            log_tail(srv->log_path, tail, sizeof tail);
            return torn_err_set(err, TORN_E_CRASHED, "%s %s during start: %s",
                                torn_server_kind_name(srv->kind), how, tail);
        }
        if (srv->kind == TORN_SERVER_REDIS      ? redis_ready(srv)
            : srv->kind == TORN_SERVER_POSTGRES ? postgres_ready(srv)
                                                : srv->ready(srv, srv->ready_arg))
            return TORN_OK;
        if (torn_stop_requested())
            return torn_err_set(err, TORN_E_INTERRUPTED, "interrupted while starting %s",
                                torn_server_kind_name(srv->kind));
        if (torn_now_ns() >= deadline) {
            log_tail(srv->log_path, tail, sizeof tail);
            return torn_err_set(err, TORN_E_TIMEOUT,
                                "%s on 127.0.0.1:%d not accepting connections after %d ms: %s",
                                torn_server_kind_name(srv->kind), srv->port, srv->timeout_ms,
                                tail);
        }
        torn_sleep_ns(20000000);
    }
}

/* ---- command lines ---- */

static int redis_argv(struct torn_server *srv, const struct torn_kv *settings)
{
    char port[16];
    int rc = 0;

    snprintf(port, sizeof port, "%d", srv->port);
    /* The config file (requirepass: see write_secrets) must come first. */
    const char *base[] = {srv->bin, srv->conf_path, "--port", port, "--bind", srv->host, "--dir",
                          srv->data_dir, "--daemonize", "no", "--logfile", "",
                          "--appendonly", "no", "--save", "", NULL};
    for (size_t i = 0; base[i] && !rc; i++)
        rc = push_arg(srv->argv, base[i]);
    /* Later directives override earlier ones: the caller's settings win. */
    for (size_t i = 0; settings && settings[i].key && !rc; i++) {
        char *opt = torn_asprintf("--%s", settings[i].key);
        rc = opt ? push_arg(srv->argv, opt) : TORN_E_NOMEM;
        if (!rc)
            rc = push_arg(srv->argv, settings[i].value ? settings[i].value : "");
        free(opt);
    }
    return rc;
}

static int postgres_argv(struct torn_server *srv, const struct torn_kv *settings)
{
    char port[16];
    int rc = 0;

    snprintf(port, sizeof port, "%d", srv->port);
    const char *base[] = {srv->bin, "-D", srv->data_dir, "-p", port,
                          "-c", "listen_addresses=127.0.0.1",
                          "-c", "unix_socket_directories=",
                          "-c", "shared_buffers=16MB",
                          "-c", "max_connections=200",
                          NULL};
    for (size_t i = 0; base[i] && !rc; i++)
        rc = push_arg(srv->argv, base[i]);
    for (size_t i = 0; settings && settings[i].key && !rc; i++) {
        char *opt = torn_asprintf("%s=%s", settings[i].key,
                                  settings[i].value ? settings[i].value : "");
        rc = opt ? push_arg(srv->argv, "-c") : TORN_E_NOMEM;
        if (!rc)
            rc = push_arg(srv->argv, opt);
        free(opt);
    }
    return rc;
}

/* ---- Postgres specifics: user, initdb ---- */

/* Decide who runs Postgres; fill uid/gid/drop_privileges. */
static int postgres_user(struct torn_server *srv, struct torn_err *err)
{
    struct passwd *pw;

    srv->uid = getuid();
    srv->gid = getgid();
    if (geteuid() != 0)
        return TORN_OK;
    pw = getpwnam("postgres");
    if (!pw || pw->pw_uid == 0)
        return torn_err_set(err, TORN_E_ENV,
                            "postgres refuses to run as root and there is no unprivileged "
                            "'postgres' system user to run it as; create one "
                            "(adduser --system --group postgres) or run torn as a normal user");
    srv->uid = pw->pw_uid;
    srv->gid = pw->pw_gid;
    srv->drop_privileges = 1;
    return TORN_OK;
}

/* Can the server user reach and write dir?  Checked in a child as that user
 * so the message is clear before initdb fails obscurely. */
static int check_access(const struct torn_server *srv, const char *dir, struct torn_err *err)
{
    pid_t pid, parent = getpid();
    int status = 0;

    if (!srv->drop_privileges)
        return TORN_OK;
    pid = fork();
    if (pid < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "fork");
    if (pid == 0) {
        child_prepare(srv, parent);
        _exit(access(dir, W_OK | X_OK) == 0 ? 0 : 1);
    }
    torn_proc_track(pid);
    if (torn_proc_wait(pid, srv->timeout_ms, &status, err) != 0) {
        torn_proc_kill(pid);
        return err ? err->code : TORN_E_TIMEOUT;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return torn_err_set(err, TORN_E_ENV,
                            "postgres runs as the 'postgres' user (torn is root) but that user "
                            "cannot reach %s: make every directory above it traversable "
                            "(chmod o+x) or run torn as a normal user",
                            dir);
    return TORN_OK;
}

/* Wait for a helper program (initdb, pg_basebackup) spawned as the server's
 * user: 0 when it exited 0; in slices, so an interrupt does not wait for it.
 * On a timeout or interrupt its whole process group is killed and reaped
 * (initdb's own postgres children would go on writing into the data
 * directory while it is removed); a failure quotes the log's last line. */
int torn_server_wait_tool(pid_t pid, const char *log_path, const char *what, int timeout_ms,
                          struct torn_err *err)
{
    char how[64], tail[200];
    int status = 0;

    for (uint64_t deadline = deadline_after(timeout_ms);;) {
        if (torn_proc_wait(pid, 50, &status, NULL) == 0)
            break;
        if (torn_stop_requested() || torn_now_ns() >= deadline) {
            kill(-pid, SIGKILL);
            torn_proc_kill(pid);
            for (int i = 0; i < 200 && kill(-pid, 0) == 0; i++) {
                while (waitpid(-pid, NULL, WNOHANG) > 0)   /* we are their subreaper */
                    ;
                usleep(2000);
            }
            return torn_stop_requested()
                       ? torn_err_set(err, TORN_E_INTERRUPTED, "interrupted while %s ran", what)
                       : torn_err_set(err, TORN_E_TIMEOUT, "%s did not finish in time", what);
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return TORN_OK;
    torn_proc_describe(status, how, sizeof how);
    log_tail(log_path, tail, sizeof tail);
    torn_text_safe_inplace(tail, sizeof tail);
    return torn_err_set(err, TORN_E_ENV, "%s %s: %s", what, how, tail);
}

int torn_server_run_tool(const struct torn_server *srv, const char *prog,
                         const char *const *args, int timeout_ms, struct torn_err *err)
{
    char *bin = NULL, *argv[32] = {0};
    size_t n = 0;
    pid_t pid;
    int rc = torn_server_find_bin(prog, &bin, err);

    if (rc)
        return rc;
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *)args[i]; /* execv's prototype is not const-correct */
    rc = spawn(srv, argv, &pid, err);
    if (!rc)
        rc = torn_server_wait_tool(pid, srv->log_path, prog, timeout_ms, err);
    free(bin);
    return rc;
}

static int run_initdb(struct torn_server *srv, struct torn_err *err)
{
    char *initdb = NULL, *pwfile = NULL, *argv[16] = {0};
    pid_t pid;
    int rc;

    rc = torn_server_find_bin("initdb", &initdb, err);
    if (rc)
        return rc;
    pwfile = torn_asprintf("--pwfile=%s", srv->conf_path);
    if (!pwfile) {
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
        goto out;
    }
    /* SCRAM for every connection (there is no Unix socket: TCP only). */
    const char *args[] = {initdb, "-D", srv->data_dir, "-U", PG_ROLE, "--auth=scram-sha-256",
                          pwfile, "-E", "UTF8", "--locale=C", "--no-sync", NULL};
    for (size_t i = 0; args[i]; i++)
        argv[i] = (char *)args[i]; /* execv's prototype is not const-correct */
    rc = spawn(srv, argv, &pid, err);
    if (!rc)
        rc = torn_server_wait_tool(pid, srv->log_path, "initdb", srv->timeout_ms + 30000, err);
out:
    unlink(srv->conf_path); /* the role has its password: no copy left behind */
    free(pwfile);
    free(initdb);
    return rc;
}

/* ---- life cycle ---- */

static void server_free(struct torn_server *srv)
{
    if (!srv)
        return;
    if (srv->lock_fd >= 0)
        close(srv->lock_fd);
    free(srv->dir);
    free(srv->data_dir);
    free(srv->log_path);
    free(srv->conf_path);
    free(srv->bin);
    free_argv(srv->argv);
    free(srv);
}

/* ---- stale directories of a SIGKILLed torn ---- */

/* 1 when name is "torn-redis-<pid>-<n>" or "torn-pg-<pid>-<n>". */
static int is_server_dir_name(const char *name)
{
    const char *p = strncmp(name, "torn-redis-", 11) == 0 ? name + 11
                    : strncmp(name, "torn-pg-", 8) == 0  ? name + 8
                    : strncmp(name, "torn-svc-", 9) == 0 ? name + 9
                                                         : NULL;
    size_t n;

    if (!p || !(n = strspn(p, "0123456789")) || p[n] != '-')
        return 0;
    p += n + 1;
    n = strspn(p, "0123456789");
    return n > 0 && p[n] == '\0';
}

/* 1 when the SysV segment described by one /proc/sysvipc/shm line was left
 * by a Postgres of this data directory: Postgres keys its segment by the
 * data directory's inode number (sysv_shmem.c starts its search for a free
 * key there and counts up), the server user owns and created it, it was
 * created after the server directory was (born), nothing is attached and
 * its creator is gone.  Another cluster's segment fails at least one test:
 * a live one is attached, and its key follows another directory. */
/* 1 when the segment is one of this data directory's (see below); *left
 * says whether it was left (nothing attached, creator gone) or is still
 * held, e.g. by a SIGKILLed backend that has not finished exiting. */
static int is_left_segment(const char *line, key_t base, uid_t uid, time_t born, int *id_out,
                           int *left)
{
    long long ctime_s;
    unsigned long nattch;
    unsigned cpid, owner, creator;
    int key, id;

    if (sscanf(line, "%d %d %*o %*u %u %*u %lu %u %*u %u %*u %*u %*u %lld", &key, &id, &cpid,
               &nattch, &owner, &creator, &ctime_s) != 7)
        return 0;
    *id_out = id;
    if (!(key >= (int)base && key - (int)base < 16 && owner == uid && creator == uid &&
          ctime_s >= (long long)born))
        return 0;
    *left = nattch == 0 && torn_proc_gone((pid_t)cpid);
    return 1;
}

/* Remove the SysV shared memory segments that SIGKILLed Postgres processes
 * of server_dir/data (a crashed postmaster, an interrupted initdb's
 * bootstrap backend) left behind: Postgres removes a stale segment only
 * when it starts again on the same directory, which a removed directory
 * never does.  uid: the server user. */
static void drop_pg_segments(const char *server_dir, uid_t uid)
{
    char *data = torn_asprintf("%s/data", server_dir), *lock = torn_asprintf("%s/owner.lock", server_dir);
    char line[512];
    struct stat st, lk;
    FILE *f = NULL;

    if (!data || !lock || stat(data, &st) != 0 || !(f = fopen("/proc/sysvipc/shm", "re")))
        goto out;
    /* The owner lock is never written: its mtime is the directory's birth. */
    if (stat(lock, &lk) != 0)
        lk.st_mtime = 0;
    /* A segment still attached belongs to a killed process that is still
     * exiting (an interrupted initdb's bootstrap backend is not torn's child
     * and nobody waits for it): look again for up to 2 s, since after the
     * directory is gone nobody ever would. */
    for (int round = 0; round < 40; round++) {
        int held = 0;

        rewind(f);
        while (fgets(line, sizeof line, f)) {
            struct shmid_ds ds;
            int id, left = 0;

            if (!is_left_segment(line, (key_t)st.st_ino, uid, lk.st_mtime, &id, &left))
                continue;
            if (!left)
                held++;
            else if (shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0 &&
                     ds.shm_perm.__key - (key_t)st.st_ino < 16)
                shmctl(id, IPC_RMID, NULL);
        }
        if (!held)
            break;
        usleep(50000);
    }
out:
    if (f)
        fclose(f);
    free(lock);
    free(data);
}

/* Remove srv's directory, and the shared memory its killed processes left. */
static void remove_dir(const struct torn_server *srv)
{
    if (!srv->dir)
        return;
    if (srv->kind == TORN_SERVER_POSTGRES)
        drop_pg_segments(srv->dir, srv->uid);
    torn_rmtree(srv->dir);
}

/* Remove dir/name if it is a server directory of ours whose owner lock
 * nobody holds: torn and its server are gone. */
static void sweep_one(const char *dir, const char *name)
{
    char *path = torn_asprintf("%s/%s", dir, name);
    char *lock = path ? torn_asprintf("%s/owner.lock", path) : NULL;
    struct stat st;
    int fd;

    if (lock && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
        (fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            char *data = torn_asprintf("%s/data", path);
            if (data && strncmp(name, "torn-pg-", 8) == 0 &&
                lstat(data, &st) == 0) /* its owner: the server user */
                drop_pg_segments(path, st.st_uid);
            free(data);
            torn_rmtree(path);
        }
        close(fd);
    }
    free(lock);
    free(path);
}

/* Once per process: sweep <parent of dir>/<any>/torn-{redis,pg}-P-N. */
static void sweep_stale(const char *dir)
{
    static int swept;
    char *parent = strdup(dir), *slash;
    DIR *top;
    struct dirent *e;

    if (swept++ || !parent)
        goto out;
    slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, strlen(parent) + 1, ".");
    else
        slash[slash == parent] = '\0'; /* "/x" -> "/" */
    if (!(top = opendir(parent)))
        goto out;
    while ((e = readdir(top))) {
        char *sub;
        DIR *d;
        struct dirent *f;

        if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
            continue;
        sub = torn_asprintf("%s/%s", parent, e->d_name);
        d = sub ? opendir(sub) : NULL;
        while (d && (f = readdir(d)))
            if (is_server_dir_name(f->d_name))
                sweep_one(sub, f->d_name);
        if (d)
            closedir(d);
        free(sub);
    }
    closedir(top);
out:
    free(parent);
}

/* The owner lock (see sweep_stale); best effort: without it the directory
 * is simply never swept. */
static void take_owner_lock(struct torn_server *srv)
{
    char *lock = torn_asprintf("%s/owner.lock", srv->dir);

    if (lock)
        srv->lock_fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (srv->lock_fd >= 0 && flock(srv->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        close(srv->lock_fd);
        srv->lock_fd = -1;
    }
    if (lock && srv->lock_fd < 0)
        unlink(lock);
    free(lock);
}

/* Create dir, data_dir, log path; chown to the server user. */
static int make_dirs(struct torn_server *srv, const char *parent, struct torn_err *err)
{
    sweep_stale(parent);
    srv->dir = torn_asprintf("%s/torn-%s-%ld-%u", parent,
                             srv->kind == TORN_SERVER_REDIS      ? "redis"
                             : srv->kind == TORN_SERVER_POSTGRES ? "pg"
                                                                 : "svc",
                             (long)getpid(), server_counter++);
    srv->data_dir = srv->dir ? torn_asprintf("%s/data", srv->dir) : NULL;
    if (!srv->log_path)
        srv->log_path = srv->dir ? torn_asprintf("%s/server.log", srv->dir) : NULL;
    if (!srv->data_dir || !srv->log_path)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (mkdir(srv->dir, 0711) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "cannot create %s", srv->dir);
    take_owner_lock(srv);
    if (mkdir(srv->data_dir, 0700) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "cannot create %s", srv->data_dir);
    if (srv->drop_privileges && chown(srv->data_dir, srv->uid, srv->gid) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "cannot chown %s to the postgres user",
                            srv->data_dir);
    return TORN_OK;
}

/* A fresh random password for srv (32 hex digits, 128 bits) and the file
 * that hands it to the server without a command line: redis.conf
 * (requirepass) or initdb's password file.  0600, created exclusively
 * (never through a planted link), owned by the server user. */
static int write_secrets(struct torn_server *srv, struct torn_err *err)
{
    unsigned char raw[16];
    char *text;
    int fd, rc = TORN_OK;
    ssize_t len;

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return torn_err_sys(err, TORN_E_ENV, errno, "no random bytes for the server password");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(srv->password + 2 * i, 3, "%02x", raw[i]);
    srv->conf_path = torn_asprintf("%s/%s", srv->dir,
                                   srv->kind == TORN_SERVER_REDIS ? "redis.conf" : "pwfile");
    text = torn_asprintf("%s%s\n", srv->kind == TORN_SERVER_REDIS ? "requirepass " : "",
                         srv->password);
    if (!srv->conf_path || !text) {
        free(text);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    fd = open(srv->conf_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    len = (ssize_t)strlen(text);
    if (fd < 0 || write(fd, text, (size_t)len) != len ||
        (srv->drop_privileges && fchown(fd, srv->uid, srv->gid) != 0))
        rc = torn_err_sys(err, TORN_E_ENV, errno, "cannot write %s", srv->conf_path);
    if (fd >= 0)
        close(fd);
    explicit_bzero(text, (size_t)len);
    free(text);
    return rc;
}

/* Start the prepared command line and wait until it answers. */
static int launch(struct torn_server *srv, struct torn_err *err)
{
    int rc;

    if (torn_stop_requested()) /* e.g. SIGINT while initdb ran */
        return torn_err_set(err, TORN_E_INTERRUPTED, "interrupted before starting %s",
                            torn_server_kind_name(srv->kind));
    rc = spawn(srv, srv->argv, &srv->pid, err);
    if (!rc)
        keeper_start(srv);
    if (!rc)
        rc = wait_ready(srv, err);
    if (!rc) {
        torn_proc_untrack(srv->pid); /* see crash_at_exit */
        (void)torn_cleanup_add(crash_at_exit, srv);
    }
    return rc;
}

static int prepare(struct torn_server *srv, const char *dir, const struct torn_kv *settings,
                   struct torn_err *err)
{
    int rc;

    snprintf(srv->host, sizeof srv->host, "127.0.0.1");
    snprintf(srv->user, sizeof srv->user, PG_ROLE);
    snprintf(srv->dbname, sizeof srv->dbname, PG_DB);
    srv->uid = getuid();
    srv->gid = getgid();
    if (srv->kind == TORN_SERVER_POSTGRES && (rc = postgres_user(srv, err)) != 0)
        return rc;
    rc = torn_server_find_bin(srv->kind == TORN_SERVER_REDIS ? "redis-server" : "postgres",
                              &srv->bin, err);
    if (rc)
        return rc;
    if ((rc = make_dirs(srv, dir, err)) != 0 || (rc = write_secrets(srv, err)) != 0)
        return rc;
    if ((rc = check_access(srv, srv->data_dir, err)) != 0)
        return rc;
    if ((rc = torn_free_port(&srv->port, err)) != 0)
        return rc;
    srv->argv = calloc(MAX_ARGS, sizeof *srv->argv);
    if (!srv->argv)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = srv->kind == TORN_SERVER_REDIS ? redis_argv(srv, settings) : postgres_argv(srv, settings);
    if (rc)
        return torn_err_set(err, rc, "too many server settings");
    /* Children orphaned by a killed server must come back to torn to be
     * reaped (see kill_tree). */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    return srv->kind == TORN_SERVER_POSTGRES ? run_initdb(srv, err) : TORN_OK;
}

int torn_server_start(enum torn_server_kind kind, const char *dir, const struct torn_kv *settings,
                      int timeout_ms, struct torn_server **out, struct torn_err *err)
{
    struct torn_server *srv = calloc(1, sizeof *srv);
    int rc;

    *out = NULL;
    if (!srv)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    srv->kind = kind;
    srv->lock_fd = -1;
    srv->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    rc = prepare(srv, dir, settings, err);
    for (int attempt = 0; !rc; attempt++) {
        rc = launch(srv, err);
        if (rc != TORN_E_CRASHED || attempt >= 2 ||
            !log_contains(srv->log_path, "Address already in use"))
            break;
        /* Lost the port to someone else between choosing and binding it. */
        rc = torn_free_port(&srv->port, err);
        if (!rc) {
            char **old = srv->argv;
            srv->argv = calloc(MAX_ARGS, sizeof *srv->argv);
            free_argv(old);
            rc = !srv->argv ? TORN_E_NOMEM
                 : kind == TORN_SERVER_REDIS ? redis_argv(srv, settings)
                                             : postgres_argv(srv, settings);
        }
    }
    if (rc) {
        /* Never ready: nothing to flush, and a SIGINT sent right after the
         * fork could land before the exec and be lost, leaving a graceful
         * stop to wait its whole timeout.  SIGKILL cannot be lost. */
        torn_server_kill(srv);
        torn_server_stop(srv);
        return rc;
    }
    *out = srv;
    return TORN_OK;
}

int torn_server_running(struct torn_server *srv)
{
    if (!srv || srv->pid <= 0)
        return 0;
    if (waitpid(srv->pid, NULL, WNOHANG) == srv->pid) {
        torn_proc_untrack(srv->pid);
        kill(-srv->pid, SIGKILL);
        srv->pid = 0;
        keeper_stop(srv);
        return 0;
    }
    return 1;
}

void torn_server_kill(struct torn_server *srv)
{
    pid_t pid;

    if (!srv || srv->pid <= 0)
        return;
    pid = srv->pid;
    srv->pid = 0;
    kill_tree(pid, srv->timeout_ms);
    keeper_stop(srv);
}

void torn_server_kill_nowait(struct torn_server *srv)
{
    pid_t kids[512];
    size_t n;

    if (!srv || srv->pid <= 0)
        return;
    n = list_children(srv->pid, kids, sizeof kids / sizeof kids[0]);
    for (size_t i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    kill(srv->pid, SIGKILL);
    kill(-srv->pid, SIGKILL);
}

/* argv of cmd with {port} and {data_dir} substituted, argv[0] resolved. */
static int command_argv(struct torn_server *srv, const struct torn_server_command *cmd,
                        struct torn_err *err)
{
    char port[16];
    int rc = 0;

    snprintf(port, sizeof port, "%d", srv->port);
    for (size_t i = 0; cmd->argv[i] && !rc; i++) {
        char *a = torn_strdup(cmd->argv[i]), *at;
        while (a && ((at = strstr(a, "{port}")) || (at = strstr(a, "{data_dir}")))) {
            int is_port = strncmp(at, "{port}", 6) == 0;
            char *b = torn_asprintf("%.*s%s%s", (int)(at - a), a, is_port ? port : srv->data_dir,
                                    at + (is_port ? 6 : 10));
            free(a);
            a = b;
        }
        if (i == 0 && a && !strchr(a, '/')) {
            char *found = find_on_path(a);
            if (!found)
                rc = torn_err_set(err, TORN_E_ENV, "service command '%s' not found on PATH", a);
            free(a);
            a = found;
        }
        if (!rc)
            rc = a ? push_arg(srv->argv, a) : TORN_E_NOMEM;
        free(a);
    }
    if (rc == TORN_E_CONFIG)
        return torn_err_set(err, rc, "service command: more than %d arguments", MAX_ARGS - 2);
    return rc == TORN_E_NOMEM ? torn_err_set(err, rc, "out of memory") : rc;
}

int torn_server_start_command(const char *dir, const struct torn_server_command *cmd,
                              int timeout_ms, struct torn_server **out, struct torn_err *err)
{
    struct torn_server *srv = calloc(1, sizeof *srv);
    int rc;

    *out = NULL;
    if (!srv)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    srv->kind = TORN_SERVER_COMMAND;
    srv->lock_fd = -1;
    srv->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    srv->ready = cmd->ready;
    srv->ready_arg = cmd->ready_arg;
    srv->stop_timeout_ms = cmd->stop_timeout_ms;
    snprintf(srv->host, sizeof srv->host, "127.0.0.1");
    srv->uid = getuid();
    srv->gid = getgid();
    srv->log_path = cmd->log_path ? torn_strdup(cmd->log_path) : NULL;
    rc = make_dirs(srv, dir, err);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* A port lost to someone else between choosing and binding it: the
     * program exits saying so; try another one (twice). */
    for (int attempt = 0; !rc && attempt < 3; attempt++) {
        free_argv(srv->argv);
        srv->argv = calloc(MAX_ARGS, sizeof *srv->argv);
        rc = srv->argv ? torn_free_port(&srv->port, err)
                       : torn_err_set(err, TORN_E_NOMEM, "out of memory");
        if (!rc)
            rc = command_argv(srv, cmd, err);
        if (!rc)
            rc = launch(srv, err);
        if (rc != TORN_E_CRASHED || !log_contains(srv->log_path, "in use"))
            break;
        if (attempt < 2) {
            torn_err_clear(err);
            rc = 0;
        }
    }
    if (rc) {
        torn_server_kill(srv);
        torn_server_stop(srv);
        return rc;
    }
    *out = srv;
    return TORN_OK;
}

int torn_server_restart(struct torn_server *srv, struct torn_err *err)
{
    uint64_t deadline;
    int rc;

    if (!srv)
        return torn_err_set(err, TORN_E_CONFIG, "no managed server to restart");
    torn_server_kill(srv);
    deadline = deadline_after(srv->timeout_ms);
    /* Postgres refuses to start while a dying backend still holds the old
     * shared memory; that clears within moments, so retry until the bound. */
    for (;;) {
        rc = launch(srv, err);
        if (rc != TORN_E_CRASHED || torn_now_ns() >= deadline)
            return rc;
        torn_sleep_ns(100000000);
    }
}

void torn_server_stop(struct torn_server *srv)
{
    int sig;

    if (!srv)
        return;
    if (srv->pid > 0) {
        sig = srv->kind == TORN_SERVER_POSTGRES ? SIGINT : SIGTERM;
        kill(srv->kind == TORN_SERVER_COMMAND ? -srv->pid : srv->pid, sig);
        if (torn_proc_wait(srv->pid,
                           srv->stop_timeout_ms > 0 ? srv->stop_timeout_ms : srv->timeout_ms, NULL,
                           NULL) == 0) {
            if (srv->kind == TORN_SERVER_COMMAND)
                kill(-srv->pid, SIGKILL); /* what a user's program left in its group */
            srv->pid = 0; /* a clean shutdown waited for its own children */
        } else {
            torn_server_kill(srv);
        }
    }
    keeper_stop(srv);
    remove_dir(srv);
    torn_cleanup_remove(crash_at_exit, srv);
    server_free(srv);
}

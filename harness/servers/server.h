/* torn: managed database servers (redis-server, postgres) for targets and
 * tests.
 *
 * torn starts its own real server when the user names a target without an
 * address (`--target redis`, `--target postgres`), and other parts reuse it
 * (the FUSE durability work, the HTTP reference service's Redis):
 *
 *   torn_server_start()    find the binary, create a data directory under
 *                          `dir`, pick a free loopback port, apply the
 *                          persistence settings, start the server in its own
 *                          process group and wait (bounded) until it accepts
 *                          connections
 *   torn_server_kill()     SIGKILL the whole server (a crash: nothing flushed)
 *   torn_server_restart()  start it again on the same data directory and port
 *   torn_server_stop()     stop (graceful, then SIGKILL), remove its directory,
 *                          free the handle
 *
 * A server can never outlive torn: it dies with torn (PR_SET_PDEATHSIG set
 * after any privilege drop), and an exit handler crashes and removes every
 * server still running when torn exits without stopping it.  Only the
 * directory of a SIGKILLed torn stays behind; the next torn_server_start
 * removes it: every server directory holds an owner.lock that torn and the
 * server keep flock'ed while either lives, and a start sweeps the
 * directories next to `dir` (<parent of dir>/<any>/torn-{redis,pg}-P-N,
 * owned by torn's user) whose lock nobody holds any more.  Helper
 * programs (initdb) are in the harness/proc/proc.h registry while they run; a
 * running server is not, because the runner reaps that registry after each
 * scenario and a managed server belongs to the target's setup/teardown.
 * While it runs servers torn is a child subreaper (PR_SET_CHILD_SUBREAPER),
 * so the children a crashed server leaves behind (Postgres backends) are
 * reaped by torn_server_kill instead of lingering as zombies.
 *
 * Postgres refuses to run as root: when torn is root, initdb and postgres run
 * as the `postgres` system user (setgid/setuid in the forked child), the data
 * directory is chown'ed to it, and every directory above it must be
 * traversable by it (the runner's run dir is mode 0711).  When that is
 * impossible the start fails with TORN_E_ENV and a line saying why.
 *
 * Only torn can use a managed server: it listens on 127.0.0.1 only and asks
 * every connection for `password`, a random secret made for this server
 * alone (Redis: requirepass in a 0600 config file; Postgres: SCRAM-SHA-256
 * for every connection, set by initdb from a 0600 password file that is
 * removed at once; no Unix socket).  The secret is never on a command line,
 * in the environment, a log or a report: other local users see the port
 * and cannot use it.
 *
 * A handle is plain heap data: after fork() the child may read host/port but
 * must never kill, restart or stop the server (the parent owns it).  Not
 * thread-safe.
 */
#ifndef TORN_SERVER_H
#define TORN_SERVER_H

#include <sys/types.h>

struct torn_err;
struct torn_kv;

enum torn_server_kind {
    TORN_SERVER_REDIS,      /* redis-server (Debian: redis-server) */
    TORN_SERVER_POSTGRES,   /* initdb + postgres (Debian: postgresql) */
    TORN_SERVER_COMMAND     /* the user's own program (an HTTP service):
                               torn_server_start_command */
};

struct torn_server {
    enum torn_server_kind kind;
    pid_t pid;              /* server (postmaster) pid, 0 when not running;
                               also its process group id */
    int port;               /* TCP port on 127.0.0.1, fixed for the handle's life */
    char host[16];          /* "127.0.0.1" */
    char *dir;              /* the server's own directory (data + log), owned */
    char *data_dir;         /* the data directory inside dir, owned */
    char *log_path;         /* server log (stdout+stderr), owned */
    char *conf_path;        /* Redis: redis.conf (0600, holds requirepass);
                               Postgres: initdb's password file, removed
                               after initdb; owned */
    char *bin;              /* absolute path of the server binary, owned */
    char **argv;            /* full command line used for (re)starts, owned */
    uid_t uid;              /* user the server runs as */
    gid_t gid;
    int drop_privileges;    /* 1 when torn is root and runs it as uid/gid */
    int timeout_ms;         /* bound for starts and stops */
    char user[64];          /* Postgres role to connect as ("torn") */
    char password[40];      /* random per server (hex): Redis requirepass,
                               the Postgres role's SCRAM password; never
                               printed, never on a command line */
    char dbname[64];        /* Postgres database ("postgres") */
    int lock_fd;            /* flock'ed dir/owner.lock, -1 if none: held by
                               torn and inherited by the server (fd 3) */
    int (*ready)(const struct torn_server *srv, void *arg); /* COMMAND: 1 ready */
    void *ready_arg;
    int stop_timeout_ms;    /* COMMAND: SIGTERM, then SIGKILL after this */
    pid_t keeper;           /* COMMAND: kills the group if torn dies, 0 none */
    int keeper_fd;          /* its pipe's write end (valid while keeper > 0) */
};

/* A program to run as a managed server (TORN_SERVER_COMMAND). */
struct torn_server_command {
    const char *const *argv;   /* NULL-ended; in every argument "{port}" becomes
                                  the port and "{data_dir}" the data directory.
                                  argv[0] without a '/' is looked up on PATH */
    const char *log_path;      /* stdout+stderr (appended); NULL: in its dir */
    int (*ready)(const struct torn_server *srv, void *arg); /* 1 ready, 0 not
                                  yet; polled every 20 ms until timeout_ms */
    void *ready_arg;
    int stop_timeout_ms;       /* grace after SIGTERM (0: timeout_ms) */
};

/* Start a server of `kind` in a new directory under `dir` (which must exist;
 * the server's directory is created inside it, named after the kind and a
 * counter).  `settings` is an array of {key, value} ended by {NULL, NULL}, or
 * NULL for the defaults:
 *   Redis:    any redis.conf directive, e.g. appendonly yes, appendfsync
 *             always, save "" (default: appendonly no, save "" - no
 *             persistence at all, the fastest and the least durable).
 *   Postgres: any postgresql.conf setting, e.g. fsync, synchronous_commit,
 *             full_page_writes (defaults are Postgres's own).
 * Waits up to timeout_ms for the server to accept connections.
 * Returns 0 and *out (free with torn_server_stop), or a negative torn_code
 * with *out NULL and everything it created removed:
 *   TORN_E_ENV      binary missing (the message names the Debian package),
 *                   root without a `postgres` user, directory not writable
 *   TORN_E_TIMEOUT  not accepting connections in time
 *   TORN_E_CRASHED  the server exited during start (the message quotes the
 *                   last line of its log)
 */
int torn_server_start(enum torn_server_kind kind, const char *dir, const struct torn_kv *settings,
                      int timeout_ms, struct torn_server **out, struct torn_err *err);

/* Start cmd as a managed server in a new directory under `dir`, its
 * own process group, on a free loopback port, and poll cmd->ready until it
 * answers (bounded by timeout_ms).  Same results as torn_server_start;
 * TORN_E_ENV when argv[0] is not found.  Restart, kill and stop work as for
 * the other kinds; stop sends SIGTERM to the whole process group. */
int torn_server_start_command(const char *dir, const struct torn_server_command *cmd,
                              int timeout_ms, struct torn_server **out, struct torn_err *err);

/* SIGKILL the server and every process of its group (Postgres backends
 * too), and reap it.  Nothing is flushed: this is a crash.  No-op when not
 * running. */
void torn_server_kill(struct torn_server *srv);

/* Send SIGKILL to every process of the server and return at once, without
 * reaping: for a server that may be blocked in a frozen torn-fs request,
 * which cannot finish dying before the power cut answers it.  The next
 * kill, restart or stop reaps it.  No-op when not running. */
void torn_server_kill_nowait(struct torn_server *srv);

/* Start a killed or stopped server again on the same data directory and
 * port, and wait until it accepts connections (Redis has loaded its AOF/RDB,
 * Postgres has finished crash recovery).  Kills it first if still running.
 * 0 or a negative torn_code as for torn_server_start. */
int torn_server_restart(struct torn_server *srv, struct torn_err *err);

/* Stop the server (SIGTERM for Redis, SIGINT "fast shutdown" for Postgres;
 * SIGKILL of the group after timeout_ms), remove its directory and free
 * srv.  NULL is a no-op.  Only the process that started the server may call
 * it. */
void torn_server_stop(struct torn_server *srv);

/* 1 when the server process is alive (reaps it if it died). */
int torn_server_running(struct torn_server *srv);

/* Run the server-side program prog (found as torn_server_find_bin does) with
 * args (NULL-ended, without argv[0]) as the server's user, in its own
 * process group, output appended to the server's log, environment
 * inherited; wait at most timeout_ms.  0 when it exited 0; TORN_E_ENV
 * quoting the log's last line, TORN_E_TIMEOUT, TORN_E_INTERRUPTED (its
 * process group is then killed).  For pg_basebackup into a data directory. */
int torn_server_run_tool(const struct torn_server *srv, const char *prog,
                         const char *const *args, int timeout_ms, struct torn_err *err);

/* Wait for a helper program pid that runs in its own process group (pid is
 * its id) and writes to log_path: 0 when it exited 0; in slices, so an
 * interrupt does not wait for it.  On a timeout or interrupt the whole group
 * is killed and reaped.  TORN_E_ENV naming `what`, how it ended and the
 * log's last line (neutralised), TORN_E_TIMEOUT, TORN_E_INTERRUPTED. */
int torn_server_wait_tool(pid_t pid, const char *log_path, const char *what, int timeout_ms,
                          struct torn_err *err);

/* Name for messages: "redis-server" or "postgres". */
const char *torn_server_kind_name(enum torn_server_kind kind);

/* Absolute path of a server-side program ("redis-server", "postgres",
 * "initdb", "pgbench", "redis-benchmark") found on PATH or in Debian's
 * /usr/lib/postgresql/<version>/bin (highest version first); malloc'd, the
 * caller frees.  TORN_E_ENV naming the Debian package when not found. */
int torn_server_find_bin(const char *prog, char **path_out, struct torn_err *err);

#endif

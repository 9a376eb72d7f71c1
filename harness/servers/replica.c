/* torn: a managed replicated store and its failover (see replica.h). */
#include "replica.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/text.h"
#include "core/util.h"
#include "proc/proc.h"
#include "proxy/proxy.h"
#include "core/parse.h"
#include "fs/tornfs.h"
#include "targets/redis_url.h"
#include "server.h"

struct torn_replica_conn {
    redisContext *c;          /* Redis, or NULL */
    PGconn *pg;               /* Postgres, or NULL */
};

/* ------------------------------------------------------------ clients */

static redisReply *expect(struct torn_replica_conn *c, redisReply *r, int type, const char *what,
                          struct torn_err *err);

static int conn_err(redisContext *c, const char *what, struct torn_err *err)
{
    /* hiredis reports a read timeout as an I/O error with EAGAIN. */
    int code = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                   ? TORN_E_TIMEOUT
                   : TORN_E_CONNECT;
    return torn_err_set(err, code, "%s: %s", what, c->errstr[0] ? c->errstr : "connection lost");
}

static int redis_open(const struct torn_replica_node *n, int timeout_ms,
                      struct torn_replica_conn **out, struct torn_err *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct torn_replica_conn *k = calloc(1, sizeof *k);
    redisReply *r = NULL;
    int rc = TORN_OK;

    *out = NULL;
    if (!k)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    k->c = redisConnectWithTimeout(n->host, n->port, tv);
    if (!k->c || k->c->err || redisSetTimeout(k->c, tv) != REDIS_OK)
        rc = k->c ? conn_err(k->c, "redis-server", err)
                  : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    else if (n->password[0] &&
             !(r = n->user[0] ? redisCommand(k->c, "AUTH %s %s", n->user, n->password)
                              : redisCommand(k->c, "AUTH %s", n->password)))
        rc = conn_err(k->c, "redis-server AUTH", err);
    else if (r && r->type != REDIS_REPLY_STATUS)
        rc = torn_err_set(err, TORN_E_AUTH, "redis-server %s:%d refused the password", n->host,
                          n->port);
    if (r)
        freeReplyObject(r);
    r = NULL;
    if (!rc && n->db && !(r = expect(k, redisCommand(k->c, "SELECT %d", n->db),
                                     REDIS_REPLY_STATUS, "SELECT", err)))
        rc = err ? err->code : TORN_E_REMOTE;
    if (r)
        freeReplyObject(r);
    if (rc) {
        torn_replica_close(k);
        return rc;
    }
    *out = k;
    return TORN_OK;
}

/* ------------------------------------------------------- Postgres client */

static int pg_open(const struct torn_replica_node *n, int timeout_ms,
                   struct torn_replica_conn **out, struct torn_err *err)
{
    char port[16], secs[16];
    const char *keys[12], *vals[12];
    struct torn_replica_conn *k = calloc(1, sizeof *k);
    int i = 0;

    *out = NULL;
    if (!k)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(secs, sizeof secs, "%d", timeout_ms / 1000 > 2 ? timeout_ms / 1000 : 2);
    if (n->conninfo) { /* the user's address first: host and port override it */
        keys[i] = "dbname", vals[i++] = n->conninfo;
    } else { /* torn's own server: loopback, no TLS to negotiate */
        keys[i] = "hostaddr", vals[i++] = n->host;
        keys[i] = "user", vals[i++] = n->user;
        keys[i] = "password", vals[i++] = n->password;
        keys[i] = "dbname", vals[i++] = n->dbname;
        keys[i] = "sslmode", vals[i++] = "disable";
        keys[i] = "gssencmode", vals[i++] = "disable";
    }
    keys[i] = "host", vals[i++] = n->host;
    keys[i] = "port", vals[i++] = port;
    keys[i] = "connect_timeout", vals[i++] = secs;
    keys[i] = "application_name", vals[i++] = "torn";
    keys[i] = vals[i] = NULL;
    k->pg = PQconnectdbParams(keys, vals, n->conninfo != NULL);
    if (!k->pg || PQstatus(k->pg) != CONNECTION_OK) {
        const char *m = k->pg ? PQerrorMessage(k->pg) : "out of memory";
        int code = strstr(m, "password") ? TORN_E_AUTH : TORN_E_CONNECT;
        torn_err_set(err, code, "postgres %s:%d: %.*s", n->host, n->port,
                     (int)strcspn(m, "\n"), m);
        torn_replica_close(k);
        return code;
    }
    *out = k;
    return TORN_OK;
}

/* Run sql with params; *res_out (may be NULL) gets the result, the caller
 * PQclears it.  A lost connection is TORN_E_CONNECT (the statement's outcome
 * is unknown), an error the server reported TORN_E_REMOTE. */
static int pg_exec(struct torn_replica_conn *c, const char *sql, int n, const char *const *params,
                   PGresult **res_out, struct torn_err *err)
{
    /* Without parameters the simple protocol: sql may hold several statements. */
    PGresult *r = n ? PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0) : PQexec(c->pg, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

    if (res_out)
        *res_out = NULL;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (res_out)
            *res_out = r;
        else
            PQclear(r);
        return TORN_OK;
    }
    const char *m = PQerrorMessage(c->pg);
    int code = PQstatus(c->pg) == CONNECTION_BAD ? TORN_E_CONNECT : TORN_E_REMOTE;
    torn_err_set(err, code, "postgres: %.*s", (int)strcspn(m, "\n"), m);
    PQclear(r);
    return code;
}

/* The first column of the first row of sql into buf ("" when no row). */
static int pg_value(struct torn_replica_conn *c, const char *sql, char *buf, size_t len,
                    struct torn_err *err)
{
    PGresult *r = NULL;
    int rc = pg_exec(c, sql, 0, NULL, &r, err);

    if (!rc)
        snprintf(buf, len, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return rc;
}

static int conn_open(enum torn_server_kind kind, const struct torn_replica_node *n,
                     int timeout_ms, struct torn_replica_conn **out, struct torn_err *err)
{
    return kind == TORN_SERVER_POSTGRES ? pg_open(n, timeout_ms, out, err)
                                        : redis_open(n, timeout_ms, out, err);
}

int torn_replica_connect(const struct torn_replica_set *s, int node, int timeout_ms,
                         struct torn_replica_conn **out, struct torn_err *err)
{
    return conn_open(s->kind, &s->node[node ? 1 : 0], timeout_ms, out, err);
}

void torn_replica_close(struct torn_replica_conn *c)
{
    if (!c)
        return;
    if (c->c)
        redisFree(c->c);
    if (c->pg)
        PQfinish(c->pg);
    free(c);
}

/* A reply of the wanted type, or an error (the reply freed). */
static redisReply *expect(struct torn_replica_conn *c, redisReply *r, int type, const char *what,
                          struct torn_err *err)
{
    if (!r) {
        conn_err(c->c, what, err);
        return NULL;
    }
    if (r->type == type)
        return r;
    torn_err_set(err, TORN_E_REMOTE, "%s: %s", what,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return NULL;
}

int torn_replica_put(struct torn_replica_conn *c, const char *key, const char *value,
                     int wait_replicas, int wait_timeout_ms, int *replicated_out,
                     struct torn_err *err)
{
    const char *const params[] = {key, value};
    redisReply *r;

    *replicated_out = -1;
    if (c->pg)
        return pg_exec(c, "INSERT INTO torn_failover (k, v) VALUES ($1, $2) "
                          "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                       2, params, NULL, err);
    r = expect(c, redisCommand(c->c, "SET %s %s", key, value), REDIS_REPLY_STATUS,
                           "SET", err);
    if (!r)
        return err ? err->code : TORN_E_REMOTE;
    freeReplyObject(r);
    if (wait_replicas <= 0)
        return TORN_OK;
    r = expect(c, redisCommand(c->c, "WAIT %d %d", wait_replicas, wait_timeout_ms),
               REDIS_REPLY_INTEGER, "WAIT", err);
    if (!r)
        return err ? err->code : TORN_E_REMOTE;
    *replicated_out = (int)r->integer;
    freeReplyObject(r);
    return TORN_OK;
}

static int pg_get(struct torn_replica_conn *c, const char *key, char **value_out,
                  size_t *len_out, struct torn_err *err)
{
    PGresult *r = NULL;
    int rc = pg_exec(c, "SELECT v FROM torn_failover WHERE k = $1", 1, &key, &r, err);

    if (!rc && PQntuples(r) == 0)
        rc = torn_err_set(err, TORN_E_NOTFOUND, "%s: no such row", key);
    if (!rc && !(*value_out = strdup(PQgetvalue(r, 0, 0))))
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (!rc)
        *len_out = strlen(*value_out);
    PQclear(r);
    return rc;
}

int torn_replica_get(struct torn_replica_conn *c, const char *key, char **value_out,
                     size_t *len_out, struct torn_err *err)
{
    redisReply *r;

    *value_out = NULL;
    if (c->pg)
        return pg_get(c, key, value_out, len_out, err);
    r = redisCommand(c->c, "GET %s", key);
    if (r && r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return torn_err_set(err, TORN_E_NOTFOUND, "%s: no such key", key);
    }
    if (!(r = expect(c, r, REDIS_REPLY_STRING, "GET", err)))
        return err ? err->code : TORN_E_REMOTE;
    *value_out = malloc(r->len + 1);
    if (*value_out) {
        memcpy(*value_out, r->str, r->len);
        (*value_out)[r->len] = '\0';
        *len_out = r->len;
    }
    freeReplyObject(r);
    return *value_out ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

/* INFO replication of srv contains every one of needles. */
static int info_has(const struct torn_replica_node *n, const char *const *needles, char *state,
                    size_t state_len)
{
    struct torn_replica_conn *c = NULL;
    redisReply *r;
    int ok = 0;

    if (conn_open(TORN_SERVER_REDIS, n, 500, &c, NULL) != 0)
        return 0;
    r = redisCommand(c->c, "INFO replication");
    if (r && r->type == REDIS_REPLY_STRING) {
        ok = 1;
        for (size_t i = 0; needles[i]; i++)
            ok &= strstr(r->str, needles[i]) != NULL;
        /* the first lines after the header, for a timeout message */
        snprintf(state, state_len, "%.200s", r->str);
        torn_text_safe_inplace(state, state_len);
    }
    if (r)
        freeReplyObject(r);
    torn_replica_close(c);
    return ok;
}

static int wait_info(const struct torn_replica_node *n, const char *const *needles, int timeout_ms,
                     const char *what, struct torn_err *err)
{
    uint64_t until = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char state[256] = "no answer";

    while (!info_has(n, needles, state, sizeof state)) {
        if (torn_now_ns() > until || torn_stop_requested())
            return torn_err_set(err, TORN_E_TIMEOUT, "%s within %d ms (INFO replication: %s)",
                                what, timeout_ms, state);
        torn_sleep_ns(20000000);
    }
    return TORN_OK;
}

/* ------------------------------------------------------------ the link */

/* In the link child: a proxy from a free loopback port to the primary, the
 * port written to wfd, then wait to be killed. */
static void link_main(int wfd, int primary_port, int latency_ms)
{
    char upstream[32];
    struct torn_proxy *p = NULL;
    struct torn_err err;
    const char *addr;

    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", primary_port);
    if (torn_proxy_new("replication", "127.0.0.1:0", upstream, 1, 0, &p, &err) != 0)
        _exit(2);
    if (latency_ms > 0) {
        cJSON *t = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(t, "attributes");
        cJSON_AddStringToObject(t, "type", "latency");
        cJSON_AddStringToObject(t, "stream", "downstream");
        cJSON_AddNumberToObject(a, "latency", latency_ms);
        if (torn_proxy_toxic_add(p, t, NULL, &err) != 0)
            _exit(2);
        cJSON_Delete(t);
    }
    addr = strrchr(torn_proxy_listen_addr(p), ':');
    if (!addr || write(wfd, addr + 1, strlen(addr + 1)) <= 0)
        _exit(2);
    close(wfd);
    for (;;)
        pause();
}

static int link_start(struct torn_replica_set *s, int latency_ms, struct torn_err *err)
{
    int fds[2];
    char buf[16] = "";
    struct pollfd pfd;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "pipe");
    if ((pid = fork()) < 0) {
        close(fds[0]), close(fds[1]);
        return torn_err_sys(err, TORN_E_ENV, errno, "fork");
    }
    if (pid == 0) {
        torn_proc_child_init();
        close(fds[0]);
        link_main(fds[1], s->primary->port, latency_ms);
    }
    torn_proc_track(pid);
    s->link_pid = pid;
    close(fds[1]);
    pfd = (struct pollfd){.fd = fds[0], .events = POLLIN};
    if (poll(&pfd, 1, s->timeout_ms) == 1 && read(fds[0], buf, sizeof buf - 1) > 0)
        s->link_port = atoi(buf);
    close(fds[0]);
    if (s->link_port <= 0)
        return torn_err_set(err, TORN_E_ENV, "the replication link (a torn proxy) did not start");
    return TORN_OK;
}

/* ------------------------------------------------------------ the set */

/* The replica: masterauth and REPLICAOF through the link, then wait until
 * it has synchronised. */
static int follow(struct torn_replica_set *s, struct torn_err *err)
{
    static const char *const synced[] = {"master_link_status:up", "master_sync_in_progress:0",
                                         NULL};
    struct torn_replica_conn *c = NULL;
    redisReply *r;
    int rc = conn_open(s->kind, &s->node[1], s->timeout_ms, &c, err);

    if (!rc && (r = expect(c, redisCommand(c->c, "CONFIG SET masterauth %s",
                                           s->node[0].password),
                           REDIS_REPLY_STATUS, "CONFIG SET masterauth", err)))
        freeReplyObject(r);
    else if (!rc)
        rc = err ? err->code : TORN_E_REMOTE;
    if (!rc && (r = expect(c, redisCommand(c->c, "REPLICAOF 127.0.0.1 %d", s->link_port),
                           REDIS_REPLY_STATUS, "REPLICAOF", err)))
        freeReplyObject(r);
    else if (!rc)
        rc = err ? err->code : TORN_E_REMOTE;
    torn_replica_close(c);
    return rc ? rc : wait_info(&s->node[1], synced, s->timeout_ms,
                               "the replica did not synchronise with the primary", err);
}

/* How to reach torn's own server srv. */
static void node_of(const struct torn_server *srv, struct torn_replica_node *n)
{
    memset(n, 0, sizeof *n);
    snprintf(n->host, sizeof n->host, "%s", srv->host);
    n->port = srv->port;
    if (srv->kind == TORN_SERVER_POSTGRES) /* Redis: requirepass, the default user */
        snprintf(n->user, sizeof n->user, "%s", srv->user);
    snprintf(n->password, sizeof n->password, "%s", srv->password);
    snprintf(n->dbname, sizeof n->dbname, "%s", srv->dbname);
}

/* ------------------------------------------------------ Postgres standby */

/* Run sql on srv (one connection). */
static int pg_run(const struct torn_replica_node *n, int timeout_ms, const char *sql, char *buf,
                  size_t len, struct torn_err *err)
{
    struct torn_replica_conn *c = NULL;
    int rc = pg_open(n, timeout_ms, &c, err);

    if (!rc)
        rc = pg_value(c, sql, buf, len, err);
    torn_replica_close(c);
    return rc;
}

/* Poll sql on srv until it answers want. */
static int pg_wait(const struct torn_replica_node *n, int timeout_ms, const char *sql,
                   const char *want, const char *what, struct torn_err *err)
{
    uint64_t until = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char got[64] = "";
    struct torn_err last = {0};

    while (pg_run(n, timeout_ms, sql, got, sizeof got, &last) != 0 || strcmp(got, want) != 0) {
        if (torn_now_ns() > until || torn_stop_requested())
            return torn_err_set(err, TORN_E_TIMEOUT, "%s within %d ms (%s: '%s'%s%s)", what,
                                timeout_ms, sql, got, last.msg[0] ? "; " : "", last.msg);
        torn_sleep_ns(50000000);
    }
    return TORN_OK;
}

/* A 0600 file owned by srv's user in srv's directory. */
static int write_private(const struct torn_server *srv, const char *path, const char *text,
                         int append, struct torn_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_EXCL),
                  0600);
    ssize_t len = (ssize_t)strlen(text);
    int rc = TORN_OK;

    if (fd < 0 || write(fd, text, (size_t)len) != len ||
        (srv->drop_privileges && fchown(fd, srv->uid, srv->gid) != 0))
        rc = torn_err_sys(err, TORN_E_ENV, errno, "cannot write %s", path);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The standby's data directory: a base backup of the primary, set to
 * stream from it through the link. */
static int pg_basebackup(struct torn_replica_set *s, struct torn_err *err)
{
    const struct torn_server *p = s->primary, *r = s->replica;
    char port[16], *pass = torn_asprintf("%s/pgpass", r->dir);
    char *line = torn_asprintf("127.0.0.1:%d:*:%s:%s\n", p->port, p->user, p->password);
    char *conninfo = torn_asprintf("primary_conninfo = 'host=127.0.0.1 port=%d user=%s "
                                   "password=%s application_name=torn_standby'\n",
                                   s->link_port, p->user, p->password);
    char *sig = torn_asprintf("%s/standby.signal", r->data_dir);
    char *autoconf = torn_asprintf("%s/postgresql.auto.conf", r->data_dir);
    int rc = pass && line && conninfo && sig && autoconf ? write_private(r, pass, line, 0, err)
                                                         : torn_err_set(err, TORN_E_NOMEM, "out of memory");

    snprintf(port, sizeof port, "%d", p->port);
    const char *args[] = {"-h", "127.0.0.1", "-p", port, "-U", p->user, "-D", r->data_dir, "-X",
                          "stream", "--checkpoint=fast", "--no-sync", "-w", NULL};
    if (!rc) {
        setenv("PGPASSFILE", pass, 1); /* a path, not the secret */
        rc = torn_server_run_tool(r, "pg_basebackup", args, s->timeout_ms + 30000, err);
        unsetenv("PGPASSFILE");
    }
    if (pass)
        unlink(pass);
    if (!rc && !(rc = write_private(r, sig, "", 0, err)))
        rc = write_private(r, autoconf, conninfo, 1, err);
    if (line)
        explicit_bzero(line, strlen(line));
    if (conninfo)
        explicit_bzero(conninfo, strlen(conninfo));
    free(pass), free(line), free(conninfo), free(sig), free(autoconf);
    return rc;
}

/* Start a standby: a server is made (initdb), stopped, its data replaced by
 * a base backup of the primary, started again as a standby of it; then wait
 * until it streams. */
static int pg_follow(struct torn_replica_set *s, const char *dir, struct torn_err *err)
{
    struct torn_server *r;
    int rc = torn_server_start(TORN_SERVER_POSTGRES, dir, NULL, s->timeout_ms, &s->replica, err);
    char buf[8];

    if (rc)
        return rc;
    r = s->replica;
    torn_server_kill(r);
    torn_rmtree(r->data_dir);
    if (mkdir(r->data_dir, 0700) != 0 ||
        (r->drop_privileges && chown(r->data_dir, r->uid, r->gid) != 0))
        return torn_err_sys(err, TORN_E_ENV, errno, "cannot make %s", r->data_dir);
    /* The table first, without waiting for a standby that does not exist yet. */
    if ((rc = pg_run(&s->node[0], s->timeout_ms,
                     "SET synchronous_commit = local; CREATE TABLE torn_failover "
                     "(k text PRIMARY KEY, v text NOT NULL); SELECT 1",
                     buf, sizeof buf, err)) ||
        (rc = pg_basebackup(s, err)))
        return rc;
    memcpy(r->password, s->primary->password, sizeof r->password); /* its roles now */
    node_of(r, &s->node[1]);
    if ((rc = torn_server_restart(r, err)) != 0)
        return rc;
    return pg_wait(&s->node[0], s->timeout_ms,
                   "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", "1",
                   "the standby did not stream from the primary", err);
}

/* ------------------------------------------------------ a user-run set */

/* A command's time limit: a rebuild makes servers (initdb, a base backup:
 * minutes on a loaded machine), a crash or promotion is one request. */
static int cmd_timeout_ms(const struct torn_replica_set *s, const char *what)
{
    int floor_ms = strcmp(what, "rebuild") == 0 ? TORN_REPLICA_REBUILD_MS : TORN_REPLICA_CMD_MS;

    return s->timeout_ms > floor_ms ? s->timeout_ms : floor_ms;
}

/* Run one of the user's commands (see replica.h). */
static int run_cmd(const struct torn_replica_set *s, const char *what, const char *cmd,
                   struct torn_err *err)
{
    char primary[300], standby[300], name[64];
    int fd = open(s->user->log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    pid_t pid;

    if (fd < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "cannot open %s", s->user->log_path);
    snprintf(primary, sizeof primary, "%s:%d", s->node[0].host, s->node[0].port);
    snprintf(standby, sizeof standby, "%s:%d", s->node[1].host, s->node[1].port);
    if ((pid = fork()) < 0) {
        close(fd);
        return torn_err_sys(err, TORN_E_ENV, errno, "fork");
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        torn_proc_child_init();
        setpgid(0, 0);
        if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        setenv("TORN_PRIMARY", primary, 1);
        setenv("TORN_STANDBY", standby, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: the group exists before any kill of it */
    close(fd);
    torn_proc_track(pid);
    snprintf(name, sizeof name, "failover: the %s command", what);
    return torn_server_wait_tool(pid, s->user->log_path, name, cmd_timeout_ms(s, what), err);
}

/* The crash command, then wait until the primary no longer answers. */
static int user_crash(struct torn_replica_set *s, struct torn_err *err)
{
    uint64_t until = torn_now_ns() + (uint64_t)s->timeout_ms * 1000000ull;
    struct torn_replica_conn *c = NULL;
    int rc = run_cmd(s, "crash", s->user->crash_cmd, err);

    while (!rc && (rc = conn_open(s->kind, &s->node[0], 1000, &c, NULL)) == 0) {
        torn_replica_close(c);
        if (torn_now_ns() > until)
            return torn_err_set(err, TORN_E_ENV, "failover: the primary %s:%d still answers "
                                "%d ms after the crash command", s->node[0].host,
                                s->node[0].port, s->timeout_ms);
        torn_sleep_ns(20000000);
    }
    return rc == TORN_E_CONNECT || rc == TORN_E_TIMEOUT ? TORN_OK : rc;
}

/* HOST:PORT (an IPv6 host in brackets) into n->host, n->port. */
static int parse_hostport(const char *text, const char *what, struct torn_replica_node *n,
                          struct torn_err *err)
{
    const char *colon = strrchr(text, ':');
    long long port = 0;
    size_t len = colon ? (size_t)(colon - text) : 0;

    if (len > 1 && text[0] == '[' && text[len - 1] == ']')
        text++, len -= 2;
    if (!colon || !len || len >= sizeof n->host ||
        torn_parse_int(what, colon + 1, 1, 65535, &port, NULL) != 0)
        return torn_err_set(err, TORN_E_CONFIG, "failover: %s must be HOST:PORT", what);
    memcpy(n->host, text, len);
    n->host[len] = '\0';
    n->port = (int)port;
    return TORN_OK;
}

/* The primary's address (the user's own, for libpq to expand). */
static int pg_user_node(struct torn_replica_set *s, const struct torn_replica_user *u,
                        struct torn_err *err)
{
    char *msg = NULL;
    PQconninfoOption *opts;

    s->conninfo = strstr(u->location, "://") || strchr(u->location, '=')
                      ? torn_strdup(u->location)
                      : torn_asprintf("postgresql://%s", u->location);
    if (!s->conninfo)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (!(opts = PQconninfoParse(s->conninfo, &msg))) {
        PQfreemem(msg);
        return torn_err_set(err, TORN_E_CONFIG, "target %s: not a Postgres address", u->display);
    }
    s->node[0].port = 5432;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            snprintf(s->node[0].host, sizeof s->node[0].host, "%s", o->val);
        else if (strcmp(o->keyword, "port") == 0)
            s->node[0].port = atoi(o->val);
    }
    PQconninfoFree(opts);
    s->node[0].conninfo = s->node[1].conninfo = s->conninfo;
    return TORN_OK;
}

static int user_nodes(struct torn_replica_set *s, const struct torn_replica_user *u,
                      struct torn_err *err)
{
    struct torn_redis_url url;
    struct torn_replica_node *n = &s->node[0];
    int rc;

    if (!u->standby || !u->crash_cmd || !u->promote_cmd)
        return torn_err_set(err, TORN_E_CONFIG, "failover on a set you run (target %s) needs "
                            "--target-opt standby=HOST:PORT, crash=COMMAND and promote=COMMAND",
                            u->display);
    if (u->kind == TORN_SERVER_POSTGRES)
        rc = pg_user_node(s, u, err);
    else if (!(rc = torn_redis_url_parse(u->location, u->display, &url, err))) {
        snprintf(n->host, sizeof n->host, "%s", url.host);
        snprintf(n->user, sizeof n->user, "%s", url.user);
        snprintf(n->password, sizeof n->password, "%s", url.pass);
        n->port = url.port, n->db = url.db;
        explicit_bzero(&url, sizeof url);
    }
    if (!rc && !n->host[0])
        rc = torn_err_set(err, TORN_E_CONFIG, "target %s: failover needs the primary's host "
                          "and port", u->display);
    if (!rc) {
        s->node[1] = s->node[0];
        rc = parse_hostport(u->standby, "standby", &s->node[1], err);
    }
    for (int i = 0; i < 2 && !rc; i++)
        rc = torn_require_loopback(s->node[i].host, u->allow_remote,
                                   i ? u->standby : u->display, err);
    return rc;
}

/* The standby replicates: Redis says its link is up and synchronised;
 * Postgres, the table created on the primary is there on the standby. */
static int user_ready(struct torn_replica_set *s, struct torn_err *err)
{
    static const char *const synced[] = {"role:slave", "master_link_status:up",
                                         "master_sync_in_progress:0", NULL};
    char buf[8];
    int rc;

    if (s->kind == TORN_SERVER_REDIS)
        return wait_info(&s->node[1], synced, s->timeout_ms,
                         "failover: the standby does not replicate from the primary", err);
    if ((rc = pg_wait(&s->node[1], s->timeout_ms, "SELECT pg_is_in_recovery()", "t",
                      "failover: the standby is not a standby", err)) ||
        (rc = pg_run(&s->node[0], s->timeout_ms,
                     "CREATE TABLE IF NOT EXISTS torn_failover (k text PRIMARY KEY, "
                     "v text NOT NULL); SELECT 1", buf, sizeof buf, err)))
        return rc;
    return pg_wait(&s->node[1], s->timeout_ms,
                   "SELECT to_regclass('torn_failover') IS NOT NULL", "t",
                   "failover: the standby does not replicate from the primary", err);
}

int torn_replica_set_attach(const struct torn_replica_user *u, struct torn_replica_set **out,
                            struct torn_err *err)
{
    struct torn_replica_set *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    s->kind = u->kind;
    s->user = u;
    s->timeout_ms = u->timeout_ms > 0 ? u->timeout_ms : 10000;
    rc = user_nodes(s, u, err);
    if (!rc)
        rc = user_ready(s, err);
    if (rc) {
        torn_replica_set_stop(s);
        return rc;
    }
    *out = s;
    return TORN_OK;
}

int torn_replica_set_rebuild(struct torn_replica_set *s, struct torn_err *err)
{
    return s->user && s->user->rebuild_cmd ? run_cmd(s, "rebuild", s->user->rebuild_cmd, err)
                                           : TORN_OK;
}

/* torn-fs (power model) over dir/primary-fs.data at dir/primary-fs, where
 * the primary's directory goes (*mnt, malloc'd).  Root's mount is open to
 * the `postgres` user a managed Postgres runs as (under the files'
 * permissions), as torn run --fs torn does. */
static int mount_primary_fs(struct torn_replica_set *s, const char *dir, char **mnt,
                            struct torn_err *err)
{
    char *backing = torn_asprintf("%s/primary-fs.data", dir);
    int rc = TORN_OK;

    *mnt = torn_asprintf("%s/primary-fs", dir);
    if (!backing || !*mnt)
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    else if ((mkdir(backing, 0711) != 0 && errno != EEXIST) ||
             (mkdir(*mnt, 0711) != 0 && errno != EEXIST))
        rc = torn_err_sys(err, TORN_E_ENV, errno, "cannot make %s", *mnt);
    else
        rc = torn_fs_mount(backing, *mnt, TORN_FS_POWER,
                           geteuid() == 0 && s->kind == TORN_SERVER_POSTGRES ? TORN_FS_ALLOW_OTHER
                                                                              : 0,
                           &s->fs, err);
    free(backing);
    return rc;
}

int torn_replica_set_start(const char *dir, const struct torn_replica_opts *o,
                           struct torn_replica_set **out, struct torn_err *err)
{
    struct torn_replica_set *s = calloc(1, sizeof *s);
    char *pdir = NULL;
    int rc;

    *out = NULL;
    if (!s)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    s->kind = o->kind;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    rc = o->power_cut ? mount_primary_fs(s, dir, &pdir, err) : 0;
    if (!rc)
        rc = torn_server_start(o->kind, pdir ? pdir : dir, o->settings, s->timeout_ms,
                               &s->primary, err);
    free(pdir);
    if (!rc)
        node_of(s->primary, &s->node[0]);
    if (!rc)
        rc = link_start(s, o->link_latency_ms, err);
    if (!rc && o->kind == TORN_SERVER_POSTGRES)
        rc = pg_follow(s, dir, err);
    else if (!rc && !(rc = torn_server_start(TORN_SERVER_REDIS, dir, NULL, s->timeout_ms,
                                             &s->replica, err))) {
        node_of(s->replica, &s->node[1]);
        rc = follow(s, err);
    }
    if (rc) {
        torn_replica_set_stop(s);
        return rc;
    }
    *out = s;
    return TORN_OK;
}

/* The primary's power goes: its torn-fs freezes (no further write or
 * fsync of it lands), the primary dies (SIGKILL; a process blocked in a
 * frozen request runs no more code), then the cut drops everything it had
 * not fsynced (the power model's crash) and answers those requests. */
static int power_cut(struct torn_replica_set *s, struct torn_err *err)
{
    char reply[256] = "";
    const char *state;
    int rc = torn_fs_ctlf(s->fs, reply, 128, err, "freeze 1");

    torn_server_kill_nowait(s->primary);
    if (!rc)
        rc = torn_fs_ctlf(s->fs, reply, 128, err, "cut");
    torn_server_kill(s->primary);
    torn_fs_ctlf(s->fs, reply + 128, 128, NULL, "thaw");
    state = strstr(reply, "state=");
    snprintf(s->cut_state, sizeof s->cut_state, "%s", state ? state + 6 : "done");
    return rc;
}

int torn_replica_set_crash(struct torn_replica_set *s, struct torn_err *err)
{
    if (s->user)
        return user_crash(s, err);
    if (s->link_pid > 0)
        torn_proc_kill(s->link_pid);
    s->link_pid = 0;
    if (s->fs)
        return power_cut(s, err);
    torn_server_kill(s->primary);
    return TORN_OK;
}

static int pg_promote(struct torn_replica_set *s, struct torn_err *err)
{
    char ok[8] = "";
    int rc = s->user ? run_cmd(s, "promote", s->user->promote_cmd, err)
                     : pg_run(&s->node[1], s->timeout_ms, "SELECT pg_promote(true, 60)", ok,
                              sizeof ok, err);

    if (!rc && !s->user && strcmp(ok, "t") != 0)
        rc = torn_err_set(err, TORN_E_REMOTE, "pg_promote() answered '%s'", ok);
    if (!rc)
        rc = pg_wait(&s->node[1], s->timeout_ms, "SELECT pg_is_in_recovery()", "f",
                     "the standby did not become primary", err);
    s->promoted = rc == 0;
    return rc;
}

int torn_replica_set_promote(struct torn_replica_set *s, struct torn_err *err)
{
    static const char *const primary[] = {"role:master", NULL};
    struct torn_replica_conn *c = NULL;
    redisReply *r;
    int rc;

    if (s->kind == TORN_SERVER_POSTGRES)
        return pg_promote(s, err);
    if (s->user)
        rc = run_cmd(s, "promote", s->user->promote_cmd, err);
    else if (!(rc = conn_open(s->kind, &s->node[1], s->timeout_ms, &c, err)) &&
             (r = expect(c, redisCommand(c->c, "REPLICAOF NO ONE"), REDIS_REPLY_STATUS,
                         "REPLICAOF NO ONE", err)))
        freeReplyObject(r);
    else if (!rc)
        rc = err ? err->code : TORN_E_REMOTE;
    torn_replica_close(c);
    if (!rc)
        rc = wait_info(&s->node[1], primary, s->timeout_ms, "the replica did not become primary",
                       err);
    s->promoted = rc == 0;
    return rc;
}

void torn_replica_set_stop(struct torn_replica_set *s)
{
    if (!s)
        return;
    if (s->link_pid > 0)
        torn_proc_kill(s->link_pid);
    torn_server_stop(s->primary);
    torn_server_stop(s->replica);
    torn_fs_unmount(s->fs);
    free(s->conninfo);
    explicit_bzero(s->node, sizeof s->node);
    free(s);
}

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
#include "server.h"

struct torn_replica_conn {
    redisContext *c;          /* Redis, or NULL */
    PGconn *pg;               /* Postgres, or NULL */
};

/* ------------------------------------------------------------ clients */

static int conn_err(redisContext *c, const char *what, struct torn_err *err)
{
    /* hiredis reports a read timeout as an I/O error with EAGAIN. */
    int code = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                   ? TORN_E_TIMEOUT
                   : TORN_E_CONNECT;
    return torn_err_set(err, code, "%s: %s", what, c->errstr[0] ? c->errstr : "connection lost");
}

static int redis_open(const struct torn_server *srv, int timeout_ms,
                      struct torn_replica_conn **out, struct torn_err *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct torn_replica_conn *k = calloc(1, sizeof *k);
    redisReply *r = NULL;
    int rc = TORN_OK;

    *out = NULL;
    if (!k)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    k->c = redisConnectWithTimeout(srv->host, srv->port, tv);
    if (!k->c || k->c->err || redisSetTimeout(k->c, tv) != REDIS_OK)
        rc = k->c ? conn_err(k->c, "redis-server", err)
                  : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    else if (!(r = redisCommand(k->c, "AUTH %s", srv->password)))
        rc = conn_err(k->c, "redis-server AUTH", err);
    else if (r->type != REDIS_REPLY_STATUS)
        rc = torn_err_set(err, TORN_E_AUTH, "redis-server %s:%d refused the password", srv->host,
                          srv->port);
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

static int pg_open(const struct torn_server *srv, int timeout_ms, struct torn_replica_conn **out,
                   struct torn_err *err)
{
    char port[16], secs[16];
    const char *const keys[] = {"host", "hostaddr", "port", "user", "password", "dbname",
                                "connect_timeout", "sslmode", "gssencmode", NULL};
    const char *vals[10];
    struct torn_replica_conn *k = calloc(1, sizeof *k);

    *out = NULL;
    if (!k)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    snprintf(port, sizeof port, "%d", srv->port);
    snprintf(secs, sizeof secs, "%d", timeout_ms / 1000 > 2 ? timeout_ms / 1000 : 2);
    const char *v[] = {srv->host, srv->host, port, srv->user, srv->password, srv->dbname, secs,
                       "disable", "disable", NULL};
    memcpy(vals, v, sizeof v);
    k->pg = PQconnectdbParams(keys, vals, 0);
    if (!k->pg || PQstatus(k->pg) != CONNECTION_OK) {
        const char *m = k->pg ? PQerrorMessage(k->pg) : "out of memory";
        int code = strstr(m, "password") ? TORN_E_AUTH : TORN_E_CONNECT;
        torn_err_set(err, code, "postgres %s:%d: %.*s", srv->host, srv->port,
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

static int conn_open(const struct torn_server *srv, int timeout_ms, struct torn_replica_conn **out,
                     struct torn_err *err)
{
    return srv->kind == TORN_SERVER_POSTGRES ? pg_open(srv, timeout_ms, out, err)
                                             : redis_open(srv, timeout_ms, out, err);
}

int torn_replica_connect(const struct torn_replica_set *s, int node, int timeout_ms,
                         struct torn_replica_conn **out, struct torn_err *err)
{
    return conn_open(node ? s->replica : s->primary, timeout_ms, out, err);
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
static int info_has(const struct torn_server *srv, const char *const *needles, char *state,
                    size_t state_len)
{
    struct torn_replica_conn *c = NULL;
    redisReply *r;
    int ok = 0;

    if (conn_open(srv, 500, &c, NULL) != 0)
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

static int wait_info(const struct torn_server *srv, const char *const *needles, int timeout_ms,
                     const char *what, struct torn_err *err)
{
    uint64_t until = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char state[256] = "no answer";

    while (!info_has(srv, needles, state, sizeof state)) {
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
    int rc = conn_open(s->replica, s->timeout_ms, &c, err);

    if (!rc && (r = expect(c, redisCommand(c->c, "CONFIG SET masterauth %s",
                                           s->primary->password),
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
    return rc ? rc : wait_info(s->replica, synced, s->timeout_ms,
                               "the replica did not synchronise with the primary", err);
}

/* ------------------------------------------------------ Postgres standby */

/* Run sql on srv (one connection). */
static int pg_run(const struct torn_server *srv, int timeout_ms, const char *sql, char *buf,
                  size_t len, struct torn_err *err)
{
    struct torn_replica_conn *c = NULL;
    int rc = pg_open(srv, timeout_ms, &c, err);

    if (!rc)
        rc = pg_value(c, sql, buf, len, err);
    torn_replica_close(c);
    return rc;
}

/* Poll sql on srv until it answers want. */
static int pg_wait(const struct torn_server *srv, int timeout_ms, const char *sql,
                   const char *want, const char *what, struct torn_err *err)
{
    uint64_t until = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char got[64] = "";
    struct torn_err last = {0};

    while (pg_run(srv, timeout_ms, sql, got, sizeof got, &last) != 0 || strcmp(got, want) != 0) {
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
    if ((rc = pg_run(s->primary, s->timeout_ms,
                     "SET synchronous_commit = local; CREATE TABLE torn_failover "
                     "(k text PRIMARY KEY, v text NOT NULL); SELECT 1",
                     buf, sizeof buf, err)) ||
        (rc = pg_basebackup(s, err)))
        return rc;
    memcpy(r->password, s->primary->password, sizeof r->password); /* its roles now */
    if ((rc = torn_server_restart(r, err)) != 0)
        return rc;
    return pg_wait(s->primary, s->timeout_ms,
                   "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", "1",
                   "the standby did not stream from the primary", err);
}

int torn_replica_set_start(const char *dir, const struct torn_replica_opts *o,
                           struct torn_replica_set **out, struct torn_err *err)
{
    struct torn_replica_set *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    s->kind = o->kind;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    rc = torn_server_start(o->kind, dir, o->settings, s->timeout_ms, &s->primary, err);
    if (!rc)
        rc = link_start(s, o->link_latency_ms, err);
    if (!rc && o->kind == TORN_SERVER_POSTGRES)
        rc = pg_follow(s, dir, err);
    else if (!rc && !(rc = torn_server_start(TORN_SERVER_REDIS, dir, NULL, s->timeout_ms,
                                             &s->replica, err)))
        rc = follow(s, err);
    if (rc) {
        torn_replica_set_stop(s);
        return rc;
    }
    *out = s;
    return TORN_OK;
}

void torn_replica_set_crash(struct torn_replica_set *s)
{
    if (s->link_pid > 0)
        torn_proc_kill(s->link_pid);
    s->link_pid = 0;
    torn_server_kill(s->primary);
}

static int pg_promote(struct torn_replica_set *s, struct torn_err *err)
{
    char ok[8] = "";
    int rc = pg_run(s->replica, s->timeout_ms, "SELECT pg_promote(true, 60)", ok, sizeof ok, err);

    if (!rc && strcmp(ok, "t") != 0)
        rc = torn_err_set(err, TORN_E_REMOTE, "pg_promote() answered '%s'", ok);
    if (!rc)
        rc = pg_wait(s->replica, s->timeout_ms, "SELECT pg_is_in_recovery()", "f",
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
    rc = conn_open(s->replica, s->timeout_ms, &c, err);

    if (!rc && (r = expect(c, redisCommand(c->c, "REPLICAOF NO ONE"), REDIS_REPLY_STATUS,
                           "REPLICAOF NO ONE", err)))
        freeReplyObject(r);
    else if (!rc)
        rc = err ? err->code : TORN_E_REMOTE;
    torn_replica_close(c);
    if (!rc)
        rc = wait_info(s->replica, primary, s->timeout_ms, "the replica did not become primary",
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
    free(s);
}

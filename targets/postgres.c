/* torn: the Postgres target (libpq).
 *
 * Everything lives in the schema named cfg->ns, created by setup and
 * dropped by teardown; every session runs with search_path = that schema
 * only, so no statement can reach a table outside it:
 *   records(id text PRIMARY KEY, version bigint, data jsonb)  the job records
 *   dual_a(grp, member, amount), dual_meta.total              structure A
 *   dual_b(grp, member, amount), dual_meta.count              structure B
 *
 * Location: NULL = a managed postgres started in setup (settings from the
 * parameters fsync, synchronous_commit, full_page_writes, server.<name>),
 * else a postgres:// URL, a libpq conninfo string ("host=... dbname=..."),
 * or HOST[:PORT][/DB].  Parameters that are libpq keywords (sslmode, ...)
 * are passed to libpq.
 *
 * Strategies, each what teams really ship (seed 002; guarded is the default):
 *   guarded        one UPDATE ... WHERE id AND version/status guard,
 *                  version = version + 1, RETURNING; the row count decides
 *   serializable   SELECT + UPDATE in a SERIALIZABLE transaction, retried
 *                  (bounded) on serialization failures (40001, 40P01)
 *   select-update  SELECT, decide in the client, UPDATE by id: TOCTOU race;
 *                  like seed 002's code before the fix it also lets a patch
 *                  change processing_state
 * Dual writes: dual=separate (two autocommit statements) or dual=atomic
 * (one transaction); the default follows the strategy (select-update
 * separate, the others atomic).
 *
 * Every wait is bounded by cfg->timeout_ms: connections are made with
 * PQconnectStartParams/PQconnectPoll and queries sent asynchronously and
 * polled, so a hung server gives TORN_E_CONNECT / TORN_E_TIMEOUT in time.
 */
#include "core/target.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "core/err.h"
#include "core/recop.h"
#include "core/record.h"
#include "servers/server.h"
#include "core/util.h"

/* Same order as pg_strategies; [0] is the default: a correct one. */
enum pg_strategy { S_GUARDED, S_SERIALIZABLE, S_SELECT_UPDATE };

static const struct torn_strategy pg_strategies[] = {
    {"guarded", "one UPDATE ... WHERE id AND version ... RETURNING; row count decides"},
    {"serializable", "SELECT + UPDATE at SERIALIZABLE, bounded retries on 40001"},
    {"select-update", "SELECT, then UPDATE by id (seed 002's TOCTOU race)"},
    {NULL, NULL},
};

static const char *const pg_known[] = {"dual", "retries", TORN_FAILOVER_PARAMS, NULL};
static const char *const pg_persist[] = {"fsync", "synchronous_commit", "full_page_writes", NULL};

#define MAX_SETTINGS 32
#define MAX_CONN_KEYS 48

struct pg_priv {
    PGconn *c;
    struct torn_server *srv;     /* managed server; owned by the setup process */
    enum pg_strategy strategy;
    int dual_atomic;
    int retries;
    int timeout_ms;
    int created_schema;          /* teardown drops only what setup created */
    char schema_q[160];          /* the schema as a quoted identifier */
    char port[16];               /* managed server */
    char appname[64];            /* "torn/<client pid>/<ns>": whose session */
};

static struct pg_priv *P(struct torn_target *t)
{
    return t->priv;
}

/* ------------------------------------------------------------ config */

static int is_libpq_keyword(const char *key)
{
    PQconninfoOption *opts = PQconndefaults();
    int found = 0;

    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            found = 1;
    PQconninfoFree(opts);
    return found;
}

/* The location as something libpq's expand_dbname understands. */
static char *location_conninfo(const char *loc)
{
    if (strstr(loc, "://") || strchr(loc, '='))
        return strdup(loc);
    return torn_asprintf("postgresql://%s", loc); /* HOST[:PORT][/DB] */
}

/* Connection keywords for t: (managed) host/port/user/dbname or
 * (external) the location to expand, then libpq parameters.  The strings
 * point into cfg, priv or loc_out (which the caller frees). */
static int conn_params(const struct torn_target_cfg *cfg, const struct pg_priv *p,
                       const struct torn_server *srv, const char **keys, const char **vals,
                       char **loc_out)
{
    int n = 0;

    *loc_out = NULL;
    if (srv) {
        keys[n] = "host", vals[n++] = srv->host;
        /* Explicit, so no PGHOSTADDR / PGSSLMODE default can redirect or
         * break it (PGSERVICE is refused by pg_check). */
        keys[n] = "hostaddr", vals[n++] = srv->host;
        keys[n] = "sslmode", vals[n++] = "disable";
        keys[n] = "gssencmode", vals[n++] = "disable";
        keys[n] = "port", vals[n++] = p->port;
        keys[n] = "user", vals[n++] = srv->user;
        keys[n] = "dbname", vals[n++] = srv->dbname;
        keys[n] = "password", vals[n++] = srv->password; /* only torn knows it */
    } else {
        *loc_out = location_conninfo(cfg->location);
        if (!*loc_out)
            return TORN_E_NOMEM;
        keys[n] = "dbname", vals[n++] = *loc_out;
    }
    keys[n] = "application_name", vals[n++] = p->appname[0] ? p->appname : "torn";
    keys[n] = "client_encoding", vals[n++] = "UTF8";
    for (size_t i = 0; i < cfg->n_params && n < MAX_CONN_KEYS - 1; i++)
        if (is_libpq_keyword(cfg->params[i].key))
            keys[n] = cfg->params[i].key, vals[n++] = cfg->params[i].value;
    keys[n] = vals[n] = NULL;
    return TORN_OK;
}

/* Every host the connection could use must be loopback (or --allow-remote). */
static int check_hosts(const struct torn_target_cfg *cfg, struct torn_err *err)
{
    const char *keys[MAX_CONN_KEYS], *vals[MAX_CONN_KEYS];
    char *loc = NULL, *msg = NULL;
    PQconninfoOption *opts = NULL;
    struct pg_priv none = {0};
    int rc = conn_params(cfg, &none, NULL, keys, vals, &loc);

    if (rc == 0) {
        opts = PQconninfoParse(loc, &msg);
        if (!opts)
            rc = torn_err_set(err, TORN_E_CONFIG, "target %s: not a Postgres address: %s",
                              cfg->display, msg ? msg : "out of memory");
    }
    for (PQconninfoOption *o = opts; !rc && o && o->keyword; o++) {
        const char *v = o->val;
        for (int i = 1; keys[i]; i++) /* later parameters override the location */
            if (strcmp(keys[i], o->keyword) == 0)
                v = vals[i];
        if (strcmp(o->keyword, "service") == 0) {
            /* libpq reads a service's host from pg_service.conf only while
             * it connects: too late to refuse a remote one. */
            if (!v || !*v)
                v = getenv("PGSERVICE");
            if (v && *v && !cfg->allow_remote)
                rc = torn_err_set(err, TORN_E_CONFIG,
                                  "target %s: service '%s' (pg_service.conf, or PGSERVICE) "
                                  "hides its host from torn's loopback check; give host and "
                                  "port instead, or pass --allow-remote",
                                  cfg->display, v);
            continue;
        }
        if (strcmp(o->keyword, "host") != 0 && strcmp(o->keyword, "hostaddr") != 0)
            continue;
        if (!v || !*v)
            v = getenv(strcmp(o->keyword, "host") == 0 ? "PGHOST" : "PGHOSTADDR");
        char *list = strdup(v ? v : ""), *save = NULL;
        for (char *h = strtok_r(list, ",", &save); !rc && h; h = strtok_r(NULL, ",", &save))
            rc = torn_require_loopback(h, cfg->allow_remote, cfg->display, err);
        free(list);
    }
    PQconninfoFree(opts);
    PQfreemem(msg);
    free(loc);
    return rc;
}

static int pg_strategy_of(const char *name)
{
    for (int i = 0; pg_strategies[i].name; i++)
        if (strcmp(pg_strategies[i].name, name) == 0)
            return i;
    return -1;
}

static int pg_check(const struct torn_target_cfg *cfg, struct torn_err *err)
{
    struct torn_kv settings[MAX_SETTINGS];
    long long retries;
    int atomic, rc;

    if (pg_strategy_of(cfg->strategy) < 0)
        return torn_err_set(err, TORN_E_CONFIG, "target %s: unknown strategy '%s'",
                            cfg->display, cfg->strategy);
    if ((rc = torn_target_check_params(cfg, pg_known, pg_persist, is_libpq_keyword, err)) ||
        (rc = torn_managed_settings(cfg, pg_persist, settings, MAX_SETTINGS, err)) ||
        (rc = torn_dual_mode(cfg, 1, &atomic, err)) ||
        (rc = torn_target_param_int(cfg, "retries", 50, 1, 100000, &retries, err)))
        return rc;
    if (!cfg->location && getenv("PGSERVICE") && *getenv("PGSERVICE"))
        return torn_err_set(err, TORN_E_CONFIG,
                            "target %s: PGSERVICE=%s is set, and libpq would apply that "
                            "service to torn's own managed postgres too; unset PGSERVICE",
                            cfg->display, getenv("PGSERVICE"));
    return cfg->location ? check_hosts(cfg, err) : TORN_OK;
}

/* ------------------------------------------------------------ connection */

static void drop(struct pg_priv *p)
{
    if (p->c)
        PQfinish(p->c);
    p->c = NULL;
}

static uint64_t deadline_of(const struct pg_priv *p)
{
    return torn_now_ns() + (uint64_t)p->timeout_ms * 1000000ull;
}

/* Wait for the connection's socket; 1 ready, 0 timed out. */
static int wait_socket(PGconn *c, int for_write, uint64_t deadline)
{
    struct pollfd pfd = {.fd = PQsocket(c), .events = for_write ? POLLOUT : POLLIN};

    for (;;) {
        uint64_t now = torn_now_ns();
        int ms, r;
        if (now >= deadline)
            return 0;
        ms = (int)((deadline - now) / 1000000ull) + 1;
        r = poll(&pfd, 1, ms);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1; /* let libpq report the socket error */
    }
}

/* First line of libpq's message, for a one-line error. */
static const char *first_line(const char *msg, char *buf, size_t len)
{
    size_t n = strcspn(msg ? msg : "", "\n");

    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), msg ? msg : "");
    return buf;
}

static int conn_error(struct torn_target *t, PGconn *c, const char *why, struct torn_err *err)
{
    char line[200];
    const char *msg = why ? why : first_line(PQerrorMessage(c), line, sizeof line);
    int auth = strstr(msg, "password") || strstr(msg, "authentication") ||
               strstr(msg, "role") != NULL;

    return torn_err_set(err, auth ? TORN_E_AUTH : TORN_E_CONNECT, "postgres %s: %s",
                        t->cfg.display, msg);
}

static int set_search_path(struct torn_target *t, struct torn_err *err);

/* Server notices ("drop cascades to ...") are not torn's output. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_connect(struct torn_target *t, struct torn_err *err)
{
    struct pg_priv *p = P(t);
    const char *keys[MAX_CONN_KEYS], *vals[MAX_CONN_KEYS];
    uint64_t deadline = deadline_of(p);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    char *loc = NULL;
    int rc;

    drop(p);
    /* The process that owns the connection is in its name (pg_stat_activity). */
    snprintf(p->appname, sizeof p->appname, "torn/%ld/%s", (long)getpid(),
             t->cfg.ns ? t->cfg.ns : "torn");
    if (conn_params(&t->cfg, p, p->srv, keys, vals, &loc) != 0)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    p->c = PQconnectStartParams(keys, vals, 1);
    free(loc);
    if (!p->c)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (PQstatus(p->c) == CONNECTION_BAD) {
        rc = conn_error(t, p->c, NULL, err);
        drop(p);
        return rc;
    }
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            rc = conn_error(t, p->c, NULL, err);
            drop(p);
            return rc;
        }
        if (!wait_socket(p->c, st == PGRES_POLLING_WRITING, deadline)) {
            char why[96];
            snprintf(why, sizeof why, "no answer within %d ms while connecting", p->timeout_ms);
            rc = conn_error(t, p->c, why, err);
            if (err)
                err->code = rc = TORN_E_CONNECT;
            drop(p);
            return rc;
        }
        st = PQconnectPoll(p->c);
    }
    PQsetnonblocking(p->c, 1);
    PQsetNoticeProcessor(p->c, ignore_notice, NULL);
    return p->schema_q[0] ? set_search_path(t, err) : TORN_OK;
}

/* Run one statement (params: n >= 0 values; n < 0: a parameterless script)
 * and wait for its result within the timeout.  NULL with err set when the
 * connection failed or timed out (then it is dropped: the statement may or
 * may not have run, err->indefinite = 1). */
static PGresult *q(struct torn_target *t, const char *sql, int n, const char *const *vals,
                   struct torn_err *err)
{
    struct pg_priv *p = P(t);
    uint64_t deadline = deadline_of(p);
    PGresult *res, *last = NULL;
    int sent, f;

    if (!p->c && pg_connect(t, err) != 0)
        return NULL;
    sent = n < 0 ? PQsendQuery(p->c, sql) : PQsendQueryParams(p->c, sql, n, NULL, vals, NULL,
                                                                 NULL, 0);
    if (!sent)
        goto broken;
    while ((f = PQflush(p->c)) == 1)
        if (!wait_socket(p->c, 1, deadline))
            goto timeout;
    if (f < 0)
        goto broken;
    for (;;) {
        while (PQisBusy(p->c)) {
            if (!wait_socket(p->c, 0, deadline))
                goto timeout;
            if (!PQconsumeInput(p->c))
                goto broken;
        }
        res = PQgetResult(p->c);
        if (!res)
            break;
        PQclear(last);
        last = res;
    }
    if (last && PQresultStatus(last) == PGRES_FATAL_ERROR && PQstatus(p->c) == CONNECTION_BAD) {
        PQclear(last);
        goto broken;
    }
    return last;
timeout:
    PQclear(last);
    torn_err_set(err, TORN_E_TIMEOUT, "postgres %s: no answer within %d ms", t->cfg.display,
                 p->timeout_ms);
    drop(p);
    return NULL;
broken:
    PQclear(last);
    conn_error(t, p->c, NULL, err);
    if (err)
        err->indefinite = 1; /* the statement may have run before the break */
    drop(p);
    return NULL;
}

/* SQLSTATE of a failed result, "" when none. */
static const char *sqlstate(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    return s ? s : "";
}

static int is_serialization_failure(const PGresult *r)
{
    return strcmp(sqlstate(r), "40001") == 0 || strcmp(sqlstate(r), "40P01") == 0;
}

/* Check a result; frees it on error.  want: PGRES_COMMAND_OK/TUPLES_OK. */
static int res_ok(struct torn_target *t, PGresult *r, ExecStatusType want, const char *what,
                  struct torn_err *err)
{
    char line[200];

    if (!r)
        return err ? err->code : TORN_E_CONNECT;
    if (PQresultStatus(r) == want)
        return TORN_OK;
    torn_err_set(err, TORN_E_REMOTE, "postgres %s: %s: %s%s%s", t->cfg.display, what,
                 first_line(PQresultErrorMessage(r), line, sizeof line),
                 sqlstate(r)[0] ? " SQLSTATE " : "", sqlstate(r));
    PQclear(r);
    return TORN_E_REMOTE;
}

/* Run a statement expecting no rows. */
static int exec_cmd(struct torn_target *t, const char *sql, int n, const char *const *vals,
                    const char *what, struct torn_err *err)
{
    PGresult *r = q(t, sql, n, vals, err);
    int rc = res_ok(t, r, PGRES_COMMAND_OK, what, err);

    if (!rc)
        PQclear(r);
    return rc;
}

static int set_search_path(struct torn_target *t, struct torn_err *err)
{
    const char *vals[1] = {P(t)->schema_q};
    PGresult *r = q(t, "SELECT pg_catalog.set_config('search_path', $1, false)", 1, vals, err);
    int rc = res_ok(t, r, PGRES_TUPLES_OK, "set search_path", err);

    if (!rc)
        PQclear(r);
    return rc;
}

/* A SIGKILLed client's last statement keeps running on its backend and may
 * commit after the kill: that is an operation of unknown outcome like any
 * other, which the scenarios' ledger allows to land at any later time
 * (scenarios/lib/steps.h), so open waits for nothing. */
static int pg_open(struct torn_target *t, struct torn_err *err)
{
    return pg_connect(t, err);
}

static void pg_close(struct torn_target *t)
{
    drop(P(t));
}

static const char schema_sql[] =
    "CREATE TABLE records (id text PRIMARY KEY, version bigint NOT NULL, data jsonb NOT NULL);"
    "CREATE TABLE dual_a (grp text, member text, amount bigint NOT NULL,"
    "                     PRIMARY KEY (grp, member));"
    "CREATE TABLE dual_b (grp text, member text, amount bigint NOT NULL,"
    "                     PRIMARY KEY (grp, member));"
    "CREATE TABLE dual_meta (grp text PRIMARY KEY, total bigint NOT NULL DEFAULT 0,"
    "                        count bigint NOT NULL DEFAULT 0);";

static int create_schema(struct torn_target *t, struct torn_err *err)
{
    struct pg_priv *p = P(t);
    char *quoted, *sql;
    int rc;
    const char *ns = t->cfg.ns ? t->cfg.ns : "torn";

    quoted = PQescapeIdentifier(p->c, ns, strlen(ns));
    if (!quoted)
        return torn_err_set(err, TORN_E_NOMEM, "cannot quote the schema name");
    snprintf(p->schema_q, sizeof p->schema_q, "%s", quoted);
    PQfreemem(quoted);
    sql = torn_asprintf("CREATE SCHEMA %s", p->schema_q);
    if (!sql)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = exec_cmd(t, sql, 0, NULL, "create schema", err);
    free(sql);
    if (rc)
        return rc;
    p->created_schema = 1;
    if ((rc = set_search_path(t, err)) != 0)
        return rc;
    return exec_cmd(t, schema_sql, -1, NULL, "create tables", err);
}

static int pg_setup(struct torn_target *t, struct torn_err *err)
{
    struct pg_priv *p = P(t);
    const struct torn_target_cfg *cfg = &t->cfg;
    struct torn_kv settings[MAX_SETTINGS];
    long long retries = 50;
    int rc;

    p->strategy = (enum pg_strategy)pg_strategy_of(cfg->strategy);
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    if ((rc = torn_dual_mode(cfg, p->strategy != S_SELECT_UPDATE, &p->dual_atomic, err)) ||
        (rc = torn_target_param_int(cfg, "retries", 50, 1, 100000, &retries, err)) ||
        (rc = torn_managed_settings(cfg, pg_persist, settings, MAX_SETTINGS, err)))
        return rc;
    p->retries = retries > 0 ? (int)retries : 1;
    if (cfg->location) {
        if ((rc = check_hosts(cfg, err)) != 0)
            return rc;
    } else {
        rc = torn_server_start(TORN_SERVER_POSTGRES, cfg->run_dir, settings,
                               p->timeout_ms > 30000 ? p->timeout_ms : 30000, &p->srv, err);
        if (rc)
            return rc;
        snprintf(p->port, sizeof p->port, "%d", p->srv->port);
    }
    if ((rc = pg_connect(t, err)) == 0)
        rc = create_schema(t, err);
    drop(p);
    return rc;
}

static void pg_teardown(struct torn_target *t)
{
    struct pg_priv *p = P(t);
    char *sql;

    drop(p);
    if (p->srv) {
        torn_server_stop(p->srv); /* its data goes with it */
        p->srv = NULL;
        return;
    }
    if (!p->created_schema)
        return;
    sql = torn_asprintf("DROP SCHEMA %s CASCADE", p->schema_q);
    p->schema_q[0] = '\0'; /* connect without the search_path */
    if (sql)
        exec_cmd(t, sql, 0, NULL, "drop schema", NULL);
    free(sql);
    p->created_schema = 0;
    drop(p);
}

/* ------------------------------------------------------------ records */

/* Parse a returned data::text; TORN_E_CORRUPT when it is not a record. */
static int parse_row(const char *id, const char *text, cJSON **rec_out, struct torn_err *err)
{
    char why[160];

    if (torn_record_parse(text, strlen(text), rec_out, why, sizeof why) != 0)
        return torn_err_set(err, TORN_E_CORRUPT, "postgres record %s: %s", id, why);
    return TORN_OK;
}

/* The record's current row (tuple result of a data::text query). */
static int one_record(struct torn_target *t, PGresult *r, const char *id, cJSON **rec_out,
                      struct torn_err *err)
{
    int rc = res_ok(t, r, PGRES_TUPLES_OK, "select", err);

    *rec_out = NULL;
    if (rc)
        return rc;
    if (PQntuples(r) == 0)
        rc = torn_err_set(err, TORN_E_NOTFOUND, "postgres record %s does not exist", id);
    else
        rc = parse_row(id, PQgetvalue(r, 0, 0), rec_out, err);
    PQclear(r);
    return rc;
}

static int select_record(struct torn_target *t, const char *id, const char *sql, cJSON **rec_out,
                         struct torn_err *err)
{
    const char *vals[1] = {id};

    return one_record(t, q(t, sql, 1, vals, err), id, rec_out, err);
}

static const char sql_read[] = "SELECT data::text FROM records WHERE id = $1";
static const char sql_write[] = "UPDATE records SET version = $2, data = $3::jsonb WHERE id = $1";

/* Write back a record decided in the client (select-update, serializable). */
static int write_record(struct torn_target *t, const char *id, const cJSON *rec,
                        struct torn_err *err)
{
    char version[32], *json = cJSON_PrintUnformatted(rec);
    const char *vals[3] = {id, version, json};
    int rc;

    if (!json)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    snprintf(version, sizeof version, "%lld", torn_record_version(rec));
    rc = exec_cmd(t, sql_write, 3, vals, "update", err);
    free(json);
    return rc;
}

/* Seed 002's "before": SELECT, decide in the client, UPDATE by id alone. */
static int select_update(struct torn_target *t, const char *id, const struct torn_recop *op,
                         int *won_out, cJSON **record_out, struct torn_err *err)
{
    cJSON *rec;
    int rc, won;

    if ((rc = select_record(t, id, sql_read, &rec, err)) != 0)
        return rc;
    won = torn_recop_apply(rec, op);
    if (won < 0 || (won && (rc = write_record(t, id, rec, err)) != 0)) {
        cJSON_Delete(rec);
        return won < 0 ? torn_err_set(err, won, "out of memory") : rc;
    }
    torn_recop_finish(rec, won, won_out, record_out);
    return TORN_OK;
}

/* One attempt of the serializable transaction: 1 retry, 0 done, <0 error. */
static int serializable_once(struct torn_target *t, const char *id, const struct torn_recop *op,
                             int *won_out, cJSON **record_out, struct torn_err *err)
{
    const char *vals[1] = {id};
    PGresult *r;
    cJSON *rec = NULL;
    int rc, won = 0;

    if ((rc = exec_cmd(t, "BEGIN ISOLATION LEVEL SERIALIZABLE", 0, NULL, "begin", err)) != 0)
        return rc;
    r = q(t, sql_read, 1, vals, err);
    if (r && is_serialization_failure(r))
        goto retry_r;
    if ((rc = one_record(t, r, id, &rec, err)) != 0)
        goto rollback;
    won = torn_recop_apply(rec, op);
    if (won < 0) {
        rc = torn_err_set(err, won, "out of memory");
        goto rollback;
    }
    if (won) {
        char version[32], *json = cJSON_PrintUnformatted(rec);
        const char *wv[3] = {id, version, json};
        snprintf(version, sizeof version, "%lld", torn_record_version(rec));
        r = json ? q(t, sql_write, 3, wv, err) : NULL;
        free(json);
        if (r && is_serialization_failure(r))
            goto retry_r;
        if ((rc = res_ok(t, r, PGRES_COMMAND_OK, "update", err)) != 0)
            goto rollback;
        PQclear(r);
    }
    r = q(t, "COMMIT", 0, NULL, err);
    if (r && is_serialization_failure(r))
        goto retry_r; /* the commit itself lost: nothing was written */
    if ((rc = res_ok(t, r, PGRES_COMMAND_OK, "commit", err)) != 0)
        goto rollback;
    PQclear(r);
    torn_recop_finish(rec, won, won_out, record_out);
    return 0;
retry_r:
    PQclear(r);
    cJSON_Delete(rec);
    exec_cmd(t, "ROLLBACK", 0, NULL, "rollback", NULL);
    return 1;
rollback:
    cJSON_Delete(rec);
    if (P(t)->c)
        exec_cmd(t, "ROLLBACK", 0, NULL, "rollback", NULL);
    return rc;
}

static int serializable(struct torn_target *t, const char *id, const struct torn_recop *op,
                        int *won_out, cJSON **record_out, struct torn_err *err)
{
    struct pg_priv *p = P(t);

    for (int attempt = 0; attempt < p->retries; attempt++) {
        int rc = serializable_once(t, id, op, won_out, record_out, err);
        if (rc <= 0)
            return rc;
        torn_sleep_ns(100000ull * (uint64_t)(attempt + 1)); /* back off, let the winner commit */
    }
    return torn_err_set(err, TORN_E_REMOTE,
                        "postgres record %s: serialization failure %d times in a row", id,
                        p->retries);
}

static const char sql_guarded_update[] =
    "UPDATE records SET version = version + 1,"
    " data = data || ($2::jsonb - '{id,created_at,version,_updated_at}'::text[])"
    "        || jsonb_build_object('version', version + 1, '_updated_at', $3::text)"
    " WHERE id = $1 RETURNING data::text";
static const char sql_guarded_cas[] =
    "UPDATE records SET version = version + 1,"
    " data = data || ($2::jsonb - '{id,created_at,version,_updated_at,processing_state}'::text[])"
    "        || jsonb_build_object('version', version + 1, '_updated_at', $3::text)"
    " WHERE id = $1 AND version = $4::bigint RETURNING data::text";
static const char sql_guarded_transition[] =
    "UPDATE records SET version = version + 1,"
    " data = data || jsonb_build_object('status', $2::text, 'version', version + 1,"
    "                                   '_updated_at', $3::text)"
    " WHERE id = $1 AND data->>'status' IN (SELECT jsonb_array_elements_text($4::jsonb))"
    " RETURNING data::text";

/* Seed 002's fix: one guarded UPDATE; zero rows means stale (or missing:
 * a follow-up SELECT tells which, purely for the answer). */
static int guarded(struct torn_target *t, const char *id, const struct torn_recop *op,
                   int *won_out, cJSON **record_out, struct torn_err *err)
{
    static const char *const sqls[] = {sql_guarded_update, sql_guarded_cas,
                                       sql_guarded_transition};
    char now[32], expected[32], *arg2, *arg4 = NULL;
    const char *vals[4];
    PGresult *r;
    cJSON *rec = NULL;
    int rc;

    torn_iso_now(now);
    snprintf(expected, sizeof expected, "%lld", op->expected);
    arg2 = op->kind == TORN_RECOP_TRANSITION ? strdup(op->to) : torn_recop_patch_json(op);
    if (op->kind == TORN_RECOP_TRANSITION)
        arg4 = torn_recop_from_json(op);
    if (!arg2 || (op->kind == TORN_RECOP_TRANSITION && !arg4)) {
        free(arg2);
        free(arg4);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    vals[0] = id, vals[1] = arg2, vals[2] = now;
    vals[3] = op->kind == TORN_RECOP_TRANSITION ? arg4 : expected;
    r = q(t, sqls[op->kind], op->kind == TORN_RECOP_UPDATE ? 3 : 4, vals, err);
    free(arg2);
    free(arg4);
    if ((rc = res_ok(t, r, PGRES_TUPLES_OK, "guarded update", err)) != 0)
        return rc;
    if (PQntuples(r) == 1) {
        rc = parse_row(id, PQgetvalue(r, 0, 0), &rec, err);
        PQclear(r);
        if (!rc)
            torn_recop_finish(rec, 1, won_out, record_out);
        return rc;
    }
    PQclear(r);
    if ((rc = select_record(t, id, sql_read, &rec, err)) != 0)
        return rc;
    torn_recop_finish(rec, 0, won_out, record_out);
    return TORN_OK;
}

static int run_op(struct torn_target *t, const char *id, const struct torn_recop *op,
                  int *won_out, cJSON **record_out, struct torn_err *err)
{
    if (record_out)
        *record_out = NULL;
    if (won_out)
        *won_out = 0;
    switch (P(t)->strategy) {
    case S_SELECT_UPDATE: {
        /* Seed 002 before its fix: the patch was not sanitized of
         * processing_state either. */
        struct torn_recop loose = *op;
        loose.unguarded = 1;
        return select_update(t, id, &loose, won_out, record_out, err);
    }
    case S_GUARDED:
        return guarded(t, id, op, won_out, record_out, err);
    case S_SERIALIZABLE:
        return serializable(t, id, op, won_out, record_out, err);
    }
    return TORN_E_CONFIG;
}

static int pg_reset(struct torn_target *t, const char *id, const cJSON *initial,
                    cJSON **record_out, struct torn_err *err)
{
    cJSON *rec = torn_record_new(id, initial);
    char *json = rec ? cJSON_PrintUnformatted(rec) : NULL;
    const char *vals[2] = {id, json};
    int rc;

    if (record_out)
        *record_out = NULL;
    if (!json) {
        cJSON_Delete(rec);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    rc = exec_cmd(t,
                  "INSERT INTO records (id, version, data) VALUES ($1, 1, $2::jsonb)"
                  " ON CONFLICT (id) DO UPDATE SET version = 1, data = EXCLUDED.data",
                  2, vals, "reset", err);
    free(json);
    if (rc) {
        cJSON_Delete(rec);
        return rc;
    }
    torn_recop_finish(rec, 1, NULL, record_out);
    return TORN_OK;
}

static int pg_update(struct torn_target *t, const char *id, const cJSON *patch,
                     cJSON **record_out, struct torn_err *err)
{
    struct torn_recop op = {.kind = TORN_RECOP_UPDATE, .patch = patch};

    return run_op(t, id, &op, NULL, record_out, err);
}

static int pg_read(struct torn_target *t, const char *id, cJSON **record_out,
                   struct torn_err *err)
{
    return select_record(t, id, sql_read, record_out, err);
}

static int pg_cas(struct torn_target *t, const char *id, const cJSON *patch,
                  long long expected_version, int *won_out, cJSON **record_out,
                  struct torn_err *err)
{
    struct torn_recop op = {.kind = TORN_RECOP_CAS, .patch = patch, .expected = expected_version};

    return run_op(t, id, &op, won_out, record_out, err);
}

static int pg_transition(struct torn_target *t, const char *id, const char *const *from,
                         size_t n_from, const char *to, int *won_out, cJSON **record_out,
                         struct torn_err *err)
{
    struct torn_recop op = {
        .kind = TORN_RECOP_TRANSITION, .from = from, .n_from = n_from, .to = to};

    return run_op(t, id, &op, won_out, record_out, err);
}

/* ------------------------------------------------------------ dual write */

static const char sql_dual_a[] =
    "WITH a AS (INSERT INTO dual_a (grp, member, amount) VALUES ($1, $2, $3::bigint))"
    " INSERT INTO dual_meta AS m (grp, total) VALUES ($1, $3::bigint)"
    " ON CONFLICT (grp) DO UPDATE SET total = m.total + EXCLUDED.total";
static const char sql_dual_b[] =
    "WITH b AS (INSERT INTO dual_b (grp, member, amount) VALUES ($1, $2, $3::bigint))"
    " INSERT INTO dual_meta AS m (grp, count) VALUES ($1, 1)"
    " ON CONFLICT (grp) DO UPDATE SET count = m.count + 1";

static int pg_dual_write(struct torn_target *t, const char *group, const char *member,
                         long long amount, struct torn_err *err)
{
    struct pg_priv *p = P(t);
    char amt[32];
    const char *vals[3] = {group, member, amt};
    int rc;

    snprintf(amt, sizeof amt, "%lld", amount);
    if (p->dual_atomic && (rc = exec_cmd(t, "BEGIN", 0, NULL, "begin", err)) != 0)
        return rc;
    if ((rc = exec_cmd(t, sql_dual_a, 3, vals, "dual write A", err)) == 0 &&
        (rc = exec_cmd(t, sql_dual_b, 3, vals, "dual write B", err)) == 0 && p->dual_atomic)
        rc = exec_cmd(t, "COMMIT", 0, NULL, "commit", err);
    if (rc && p->dual_atomic && p->c)
        exec_cmd(t, "ROLLBACK", 0, NULL, "rollback", NULL);
    return rc;
}

static int pg_dual_read(struct torn_target *t, const char *group, cJSON **state_out,
                        struct torn_err *err)
{
    const char *vals[1] = {group};
    PGresult *r;
    cJSON *st;
    int rc;

    *state_out = NULL;
    /* One statement: both structures from one snapshot. */
    r = q(t,
          "SELECT coalesce((SELECT jsonb_object_agg(member, amount) FROM dual_a"
          "                 WHERE grp = $1), '{}')::text,"
          "       coalesce((SELECT jsonb_object_agg(member, amount) FROM dual_b"
          "                 WHERE grp = $1), '{}')::text,"
          "       coalesce((SELECT count FROM dual_meta WHERE grp = $1), 0),"
          "       coalesce((SELECT total FROM dual_meta WHERE grp = $1), 0)",
          1, vals, err);
    if ((rc = res_ok(t, r, PGRES_TUPLES_OK, "dual read", err)) != 0)
        return rc;
    st = cJSON_CreateObject();
    if (st && PQntuples(r) == 1) {
        cJSON_AddItemToObject(st, "a", cJSON_Parse(PQgetvalue(r, 0, 0)));
        cJSON_AddItemToObject(st, "b", cJSON_Parse(PQgetvalue(r, 0, 1)));
        cJSON_AddNumberToObject(st, "count", strtod(PQgetvalue(r, 0, 2), NULL));
        cJSON_AddNumberToObject(st, "total", strtod(PQgetvalue(r, 0, 3), NULL));
    }
    PQclear(r);
    if (!st)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    *state_out = st;
    return TORN_OK;
}

static int pg_fault(struct torn_target *t, enum torn_fault kind, const cJSON *args,
                    struct torn_err *err)
{
    (void)args;
    drop(P(t)); /* the connection does not survive a server crash */
    return torn_managed_fault(P(t)->srv, t->cfg.display, kind, err);
}

const struct torn_target_ops torn_target_postgres = {
    .version = TORN_TARGET_OPS_V1,
    .name = "postgres",
    .summary = "Postgres via libpq, records as JSONB: managed postgres, or postgres://... / conninfo",
    .strategies = pg_strategies,
    .size = sizeof(struct pg_priv),
    .check = pg_check,
    .setup = pg_setup,
    .teardown = pg_teardown,
    .open = pg_open,
    .close = pg_close,
    .reset = pg_reset,
    .update = pg_update,
    .read = pg_read,
    .update_if_version = pg_cas,
    .transition = pg_transition,
    .dual_write = pg_dual_write,
    .dual_read = pg_dual_read,
    .fault = pg_fault,
};

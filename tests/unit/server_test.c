/* Unit tests of harness/servers/server.c against real redis-server and postgres:
 * start, answer, crash (SIGKILL), restart on the same data and port, stop
 * and clean up, missing binaries named with their package. */
#include "servers/server.h"

#include <dirent.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/err.h"
#include "proc/proc.h"
#include "core/target.h"
#include "core/util.h"

static char base[64];

static void make_base(void)
{
    if (base[0])
        return;
    snprintf(base, sizeof base, "/tmp/torn-server-test.XXXXXX");
    if (!mkdtemp(base))
        base[0] = '\0';
    chmod(base, 0711);
}

/* cmd on a fresh connection that authenticates with pw first (NULL: not at all). */
static redisReply *redis_cmd_pw(const struct torn_server *s, const char *pw, const char *cmd)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    redisReply *r = NULL;

    if (c && !c->err) {
        redisSetTimeout(c, tv);
        r = pw ? redisCommand(c, "AUTH %s", pw) : NULL;
        if (r)
            freeReplyObject(r);
        r = redisCommand(c, cmd);
    }
    if (c)
        redisFree(c);
    return r;
}

static redisReply *redis_cmd(const struct torn_server *s, const char *cmd)
{
    return redis_cmd_pw(s, s->password, cmd);
}

/* 1 when any process's command line or environment holds secret. */
static int secret_in_proc(const char *secret)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;

    while (d && !found && (e = readdir(d))) {
        const char *const files[] = {"cmdline", "environ"};
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        for (size_t i = 0; i < 2 && !found; i++) {
            char path[300], *buf = NULL;
            size_t len = 0;
            snprintf(path, sizeof path, "/proc/%s/%s", e->d_name, files[i]);
            if (torn_read_file(path, &buf, &len, NULL) == 0)
                found = memmem(buf, len, secret, strlen(secret)) != NULL;
            free(buf);
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* 1 when path is a regular file of mode 0600. */
static int private_file(const char *dir, const char *name)
{
    char *path = torn_asprintf("%s/%s", dir, name);
    struct stat st;
    int ok = path && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600;

    free(path);
    return ok;
}

static int dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_redis_persistence(void)
{
    const struct torn_kv durable[] = {{"appendonly", "yes"}, {"appendfsync", "always"},
                                      {NULL, NULL}};
    struct torn_server *s = NULL;
    struct torn_err err = {0};
    redisReply *r;
    int port, rc;
    char *dir;

    make_base();
    rc = torn_server_start(TORN_SERVER_REDIS, base, durable, 10000, &s, &err);
    CHECK(rc == 0 && s, "start redis: %s", err.msg);
    if (!s)
        return;
    port = s->port;
    r = redis_cmd_pw(s, NULL, "SET k v");
    CHECK(r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0,
          "a connection without the password is refused: %s", r ? r->str : "no reply");
    freeReplyObject(r);
    r = redis_cmd_pw(s, "wrong", "SET k v");
    CHECK(r && r->type == REDIS_REPLY_ERROR, "a wrong password is refused");
    freeReplyObject(r);
    CHECK(strlen(s->password) == 32 && private_file(s->dir, "redis.conf"),
          "a 128-bit password in a 0600 redis.conf");
    CHECK(!secret_in_proc(s->password), "the password is in no command line or environment");
    r = redis_cmd(s, "SET k v");
    CHECK(r && r->type == REDIS_REPLY_STATUS, "SET");
    freeReplyObject(r);
    torn_server_kill(s);
    CHECK(!torn_server_running(s), "killed");
    rc = torn_server_restart(s, &err);
    CHECK(rc == 0 && s->port == port, "restart: %s", err.msg);
    r = redis_cmd(s, "GET k");
    CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "v") == 0,
          "appendfsync always keeps an acknowledged SET across SIGKILL");
    freeReplyObject(r);
    dir = strdup(s->dir);
    torn_server_stop(s);
    CHECK(!dir_exists(dir), "stop removes %s", dir);
    free(dir);
}

static void test_redis_volatile(void)
{
    struct torn_server *s = NULL;
    struct torn_err err = {0};
    redisReply *r;

    make_base();
    CHECK(torn_server_start(TORN_SERVER_REDIS, base, NULL, 10000, &s, &err) == 0,
          "start: %s", err.msg);
    if (!s)
        return;
    freeReplyObject(redis_cmd(s, "SET k v"));
    torn_server_kill(s);
    CHECK(torn_server_restart(s, &err) == 0, "restart: %s", err.msg);
    r = redis_cmd(s, "GET k");
    CHECK(r && r->type == REDIS_REPLY_NIL, "default (no persistence) loses the key");
    freeReplyObject(r);
    torn_server_stop(s);
}

static int pg_count_pw(const struct torn_server *s, const char *pw, const char *sql)
{
    char port[16], *conninfo;
    PGconn *c;
    PGresult *res;
    int n = -1;

    snprintf(port, sizeof port, "%d", s->port);
    conninfo = torn_asprintf("host=%s port=%d user=%s dbname=%s password=%s connect_timeout=5",
                             s->host, s->port, s->user, s->dbname, pw);
    c = PQconnectdb(conninfo);
    free(conninfo);
    if (PQstatus(c) == CONNECTION_OK) {
        res = PQexec(c, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            n = atoi(PQgetvalue(res, 0, 0));
        else if (PQresultStatus(res) == PGRES_COMMAND_OK)
            n = 0;
        PQclear(res);
    }
    PQfinish(c);
    return n;
}

static int pg_count(const struct torn_server *s, const char *sql)
{
    return pg_count_pw(s, s->password, sql);
}

static void test_postgres(void)
{
    const struct torn_kv settings[] = {{"synchronous_commit", "on"}, {NULL, NULL}};
    struct torn_server *s = NULL;
    struct torn_err err = {0};
    char *dir;
    int rc;

    make_base();
    rc = torn_server_start(TORN_SERVER_POSTGRES, base, settings, 20000, &s, &err);
    CHECK(rc == 0 && s, "start postgres: %s", err.msg);
    if (!s)
        return;
    CHECK(pg_count_pw(s, "", "SELECT 1") < 0 && pg_count_pw(s, "wrong", "SELECT 1") < 0,
          "connections without the password are refused");
    CHECK(!dir_exists(s->conf_path), "initdb's password file is removed");
    CHECK(!secret_in_proc(s->password), "the password is in no command line or environment");
    CHECK(pg_count(s, "CREATE TABLE t AS SELECT 42 AS x") == 0, "create table");
    torn_server_kill(s);
    rc = torn_server_restart(s, &err);
    CHECK(rc == 0, "restart after SIGKILL: %s", err.msg);
    CHECK(pg_count(s, "SELECT x FROM t") == 42, "committed row survives a crash");
    dir = strdup(s->dir);
    torn_server_stop(s);
    CHECK(!dir_exists(dir), "stop removes %s", dir);
    free(dir);
}

static void test_missing_binary(void)
{
    struct torn_err err = {0};
    char *p = (char *)"x";

    CHECK(torn_server_find_bin("redis-nonexistent-torn", &p, &err) == TORN_E_ENV && !p,
          "missing binary is TORN_E_ENV");
    CHECK(strstr(err.msg, "redis-tools") != NULL, "names the package: %s", err.msg);
}

static void test_cleanup(void)
{
    torn_proc_reap_all(1000);
    if (base[0])
        CHECK(rmdir(base) == 0, "every server directory was removed from %s", base);
}

static const struct torn_test tests[] = {
    {"redis_persistence", test_redis_persistence},
    {"redis_volatile", test_redis_volatile},
    {"postgres", test_postgres},
    {"missing_binary", test_missing_binary},
    {"cleanup", test_cleanup},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

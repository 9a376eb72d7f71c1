/* Hermitage (Martin Kleppmann, https://github.com/ept/hermitage) on a real
 * managed Postgres, judged by torn's transactional checker: each test's
 * fixed interleaving of two sessions runs at read committed, repeatable
 * read and serializable; what the sessions read, wrote and whether they
 * committed is recorded as an rw-register history and checked
 * (check/txn.c).  The verdicts must match Hermitage's published PostgreSQL
 * table: an anomaly Hermitage calls possible at a level is found there
 * (named), one it calls prevented is not found.
 *
 * Hermitage's table `test (id, value)` holds (1, 10), (2, 20), which are
 * the histories' initial state (a read of them is a read of nil).  The
 * tests: the item ones, G0, G1a, G1b, G1c, P4 (lost update), G-single (read
 * skew), G2-item (write skew); OTV (three sessions); and the predicate ones,
 * PMP (read and write predicates), G-single with predicate reads and with a
 * write predicate, G2 (anti-dependency cycles over inserts, and Fekete et
 * al.'s read-only anomaly with three sessions).  A predicate
 * SELECT is run as a scan of the whole table and filtered here: every row's
 * value (or its absence: nil) is recorded as a read, so the checker sees
 * what the predicate was evaluated over.  The table has no index on value,
 * so Postgres runs Hermitage's predicate SELECTs as the same sequential
 * scan, with the same snapshot and (serializable) the same relation-level
 * predicate lock.  UPDATE and DELETE with a predicate record the rows they
 * changed (RETURNING): a read of the old value and a write of the new one
 * (a deleted row's: -1).  Written values are unique per key, as the
 * checker needs (Hermitage's P4 writes 11 twice; here the second writer
 * writes 12).  A step Hermitage marks "blocks" is sent and left pending;
 * the session's next step first waits for it.
 *
 * The same item tests (those without a read after a write in one
 * transaction) run on a managed Redis, a transaction being GETs, then SETs
 * queued in MULTI, then EXEC: without WATCH (lost update, read skew and
 * write skew possible: MULTI/EXEC is atomic but does not isolate what was
 * read before it) and with WATCH on the keys from the start and a
 * read-only transaction validated by an empty MULTI/EXEC (all prevented:
 * EXEC answers nil when a watched key changed, the transaction aborts). */
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "check/checker.h"
#include "check/history_read.h"
#include "core/err.h"
#include "core/util.h"
#include "proc/proc.h"
#include "servers/server.h"

/* SCAN reads the whole table (Hermitage's predicate SELECTs, evaluated by
 * the client: see the header); INSERT adds row key; ADD is UPDATE SET value
 * = value + val on every row (key 0) or on row key; SET_EQ is UPDATE SET value = val WHERE value =
 * key's initial value; DEL_EQ is DELETE WHERE value = val. */
enum act { BEGIN, READ, WRITE, COMMIT, ABORT, SCAN, INSERT, ADD, SET_EQ, DEL_EQ };

struct step {
    int s;            /* session 1, 2 or 3 */
    enum act act;
    int key, val;     /* READ key; WRITE/INSERT key val; ADD key val; SET_EQ key val; DEL_EQ val */
    int blocks;       /* Hermitage: this statement blocks (on a row lock) */
};

#define N_SESS 3
#define N_ROWS 4      /* ids 1, 2 (the setup's) and 3, 4 (the predicate tests' inserts) */

struct test {
    const char *name;       /* Hermitage's */
    const char *anomaly;    /* torn's criterion when it happens */
    int possible[3];        /* Hermitage, PostgreSQL: RC, RR, SER; -1 not run at that level */
    struct step steps[16];
};

#define B(s) {s, BEGIN, 0, 0, 0}
#define R(s, k) {s, READ, k, 0, 0}
#define W(s, k, v) {s, WRITE, k, v, 0}
#define WB(s, k, v) {s, WRITE, k, v, 1}
#define C(s) {s, COMMIT, 0, 0, 0}
#define A(s) {s, ABORT, 0, 0, 0}
#define SCAN(s) {s, SCAN, 0, 0, 0}
#define INS(s, k, v) {s, INSERT, k, v, 0}
#define ADD(s, d) {s, ADD, 0, d, 0}
#define ADD_ROW(s, k, d) {s, ADD, k, d, 0}
#define SET_EQ(s, k, v) {s, SET_EQ, k, v, 0}
#define DEL_EQ(s, v) {s, DEL_EQ, 0, v, 0}
#define DEL_EQB(s, v) {s, DEL_EQ, 0, v, 1}

static const struct test tests[] = {
    {"G0 write cycles", "G0", {0, 0, 0},
     {B(1), B(2), W(1, 1, 11), WB(2, 1, 12), W(1, 2, 21), C(1), W(2, 2, 22), C(2)}},
    {"G1a aborted reads", "G1a", {0, 0, 0},
     {B(1), B(2), W(1, 1, 101), R(2, 1), R(2, 2), A(1), R(2, 1), R(2, 2), C(2)}},
    {"G1b intermediate reads", "G1b", {0, 0, 0},
     {B(1), B(2), W(1, 1, 101), R(2, 1), W(1, 1, 11), C(1), R(2, 1), C(2)}},
    {"G1c circular information flow", "G1c", {0, 0, 0},
     {B(1), B(2), W(1, 1, 11), W(2, 2, 22), R(1, 2), R(2, 1), C(1), C(2)}},
    {"P4 lost update", "lost-update", {1, 0, 0},
     {B(1), B(2), R(1, 1), R(2, 1), W(1, 1, 11), WB(2, 1, 12), C(1), C(2)}},
    {"G-single read skew", "G-single", {1, 0, 0},
     {B(1), B(2), R(1, 1), R(2, 1), R(2, 2), W(2, 1, 12), W(2, 2, 18), C(2), R(1, 2), C(1)}},
    {"G2-item write skew", "G2-item", {1, 1, 0},
     {B(1), B(2), R(1, 1), R(1, 2), R(2, 1), R(2, 2), W(2, 1, 11), W(1, 2, 21), C(1), C(2)}},
    /* The predicate tests and OTV.  A predicate read is recorded as a read of
     * every row, so torn names what Hermitage calls PMP and G2 by the item
     * anomaly their recorded reads make: G-single and G2-item. */
    {"OTV observed transaction vanishes", "G-single", {0, 0, 0},
     {B(1), B(2), B(3), W(1, 1, 11), W(1, 2, 19), WB(2, 1, 12), C(1), R(3, 1), W(2, 2, 18),
      R(3, 2), C(2), R(3, 2), R(3, 1), C(3)}},
    {"PMP predicate-many-preceders", "G-single", {1, 0, 0},
     {B(1), B(2), SCAN(1), INS(2, 3, 30), C(2), SCAN(1), C(1)}},
    /* At read committed the DELETE's predicate misses row 1 (Hermitage:
     * possible), but a DELETE that deletes nothing leaves no read to record:
     * run at the two levels where it fails. */
    {"PMP write predicates", "G-single", {-1, 0, 0},
     {B(1), B(2), ADD(1, 10), DEL_EQB(2, 20), C(1), SCAN(2), C(2)}},
    {"G-single predicate reads", "G-single", {1, 0, 0},
     {B(1), B(2), SCAN(1), SET_EQ(2, 1, 12), C(2), SCAN(1), C(1)}},
    {"G-single write predicate", "G-single", {-1, 0, 0},
     {B(1), B(2), R(1, 1), SCAN(2), W(2, 1, 12), W(2, 2, 18), C(2), DEL_EQ(1, 20), C(1)}},
    {"G2 anti-dependency cycles", "G2-item", {1, 1, 0},
     {B(1), B(2), SCAN(1), SCAN(2), INS(1, 3, 30), INS(2, 4, 42), C(1), C(2)}},
    /* Fekete et al.'s read-only anomaly: T3 sees T2's write but not T1's,
     * T1 read before T2 wrote -- two anti-dependencies. */
    {"G2 Fekete's read-only anomaly", "G2-item", {1, 1, 0},
     {B(1), SCAN(1), B(2), ADD_ROW(2, 2, 5), C(2), B(3), SCAN(3), C(3), W(1, 1, 0), C(1)}},
};

/* The setup's rows (Hermitage's): a read of one is a read of the initial
 * state (nil), which every write follows in the version order. */
static const int initial[N_ROWS + 1] = {0, 10, 20, 0, 0};

static const char *const levels[] = {"read committed", "repeatable read", "serializable"};

/* One session's transaction as it is recorded. */
struct rec {
    char mops[1024];      /* its micro-operations, JSON */
    size_t mlen;
    uint64_t t0, t1;      /* begin, end */
    int committed;
};

struct sess {
    PGconn *c;
    int pending;          /* a statement sent, its result not read */
    enum act pending_act;
    int pending_key;
    struct step pending_step;
    int failed;           /* the transaction hit an error: it aborts */
    int done;             /* COMMIT (or ABORT) answered */
    struct rec rec;
};

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;      /* "table test does not exist, skipping" and the like */
}

static PGconn *connect_to(const struct torn_server *srv)
{
    char port[16];
    const char *keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", NULL};
    const char *vals[] = {srv->host, port, srv->user, srv->password, srv->dbname, "10", NULL};
    PGconn *c;

    snprintf(port, sizeof port, "%d", srv->port);
    c = PQconnectdbParams(keys, vals, 0);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static void add_mop(struct rec *s, const char *f, int key, int val)
{
    char v[16];

    if (*f == 'r' && key >= 1 && key <= N_ROWS && val == initial[key])
        snprintf(v, sizeof v, "null");
    else
        snprintf(v, sizeof v, "%d", val);
    s->mlen += (size_t)snprintf(s->mops + s->mlen, sizeof s->mops - s->mlen, "%s[\"%s\",%d,%s]",
                                s->mlen ? "," : "", f, key, v);
}

/* The rows a statement returned, as micro-operations (the statement's
 * column 0 is the id, column 1 the value; st->act says which). */
static void add_rows(struct rec *rec, const struct step *st, PGresult *r)
{
    int seen[N_ROWS + 1] = {0};

    for (int i = 0; i < PQntuples(r); i++) {
        int k = atoi(PQgetvalue(r, i, 0)), v = atoi(PQgetvalue(r, i, 1));
        if (k < 1 || k > N_ROWS)
            continue;
        seen[k] = 1;
        if (st->act == SCAN) {
            add_mop(rec, "r", k, v);
        } else if (st->act == ADD) {               /* RETURNING the new value */
            add_mop(rec, "r", k, v - st->val);
            add_mop(rec, "w", k, v);
        } else if (st->act == SET_EQ) {
            add_mop(rec, "r", k, initial[st->key]);
            add_mop(rec, "w", k, st->val);
        } else if (st->act == DEL_EQ) {            /* a deleted row's tombstone: -1 */
            add_mop(rec, "r", k, v);
            add_mop(rec, "w", k, -1);
        }
    }
    for (int k = 1; st->act == SCAN && k <= N_ROWS; k++)
        if (!seen[k])
            add_mop(rec, "r", k, initial[k]);      /* absent: not inserted yet (nil) */
}

/* Wait up to ms for the pending statement's result; 1 done, 0 still pending. */
static int collect(struct sess *s, int ms)
{
    uint64_t end = torn_now_ns() + (uint64_t)ms * 1000000ULL;
    PGresult *r;

    while (PQisBusy(s->c)) {
        uint64_t now = torn_now_ns();
        if (now >= end)
            return 0;
        fd_set fds;
        struct timeval tv = {0, (long)((end - now) / 1000 > 100000 ? 100000 : (end - now) / 1000)};
        FD_ZERO(&fds);
        FD_SET(PQsocket(s->c), &fds);
        select(PQsocket(s->c) + 1, &fds, NULL, NULL, &tv);
        if (!PQconsumeInput(s->c))
            break;
    }
    while ((r = PQgetResult(s->c)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR) {
            s->failed = 1;
        } else if (s->pending_act == READ && st == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            add_mop(&s->rec, "r", s->pending_key, atoi(PQgetvalue(r, 0, 0)));
        } else if (st == PGRES_TUPLES_OK) {
            add_rows(&s->rec, &s->pending_step, r);
        } else if (s->pending_act == COMMIT && st == PGRES_COMMAND_OK) {
            s->rec.committed = !strcmp(PQcmdStatus(r), "COMMIT");
        }
        PQclear(r);
    }
    if (s->pending_act == COMMIT || s->pending_act == ABORT) {
        s->done = 1;
        s->rec.t1 = torn_now_ns();
    }
    s->pending = 0;
    return 1;
}

/* Run one step: wait for the session's blocked statement first, then send. */
static void run_step(struct sess *ss, const struct step *st, const char *level)
{
    struct sess *s = &ss[st->s - 1];
    char sql[160];

    if (s->pending)
        collect(s, 10000);
    if (s->done)
        return;
    if (s->failed && st->act != COMMIT && st->act != ABORT)
        return;
    switch (st->act) {
    case BEGIN:
        snprintf(sql, sizeof sql, "BEGIN ISOLATION LEVEL %s", level);
        s->rec.t0 = torn_now_ns();
        break;
    case READ:
        snprintf(sql, sizeof sql, "SELECT value FROM test WHERE id = %d", st->key);
        break;
    case WRITE:
        snprintf(sql, sizeof sql, "UPDATE test SET value = %d WHERE id = %d", st->val, st->key);
        add_mop(&s->rec, "w", st->key, st->val);
        break;
    case SCAN:
        snprintf(sql, sizeof sql, "SELECT id, value FROM test ORDER BY id");
        break;
    case INSERT:
        snprintf(sql, sizeof sql, "INSERT INTO test (id, value) VALUES (%d, %d)", st->key,
                 st->val);
        add_mop(&s->rec, "w", st->key, st->val);
        break;
    case ADD:
        if (st->key)
            snprintf(sql, sizeof sql,
                     "UPDATE test SET value = value + %d WHERE id = %d RETURNING id, value",
                     st->val, st->key);
        else
            snprintf(sql, sizeof sql, "UPDATE test SET value = value + %d RETURNING id, value",
                     st->val);
        break;
    case SET_EQ:
        snprintf(sql, sizeof sql, "UPDATE test SET value = %d WHERE value = %d RETURNING id, value",
                 st->val, initial[st->key]);
        break;
    case DEL_EQ:
        snprintf(sql, sizeof sql, "DELETE FROM test WHERE value = %d RETURNING id, value", st->val);
        break;
    case COMMIT:
    case ABORT:
        snprintf(sql, sizeof sql, "%s", st->act == COMMIT && !s->failed ? "COMMIT" : "ROLLBACK");
        break;
    }
    s->pending = PQsendQuery(s->c, sql);
    s->pending_act = st->act;
    s->pending_key = st->key;
    s->pending_step = *st;
    if (s->pending)
        collect(s, st->blocks ? 300 : 10000);
}

/* The recorded history as torn JSON lines: the sessions' transactions with
 * their times and outcomes (a session that never began has t0 0).  The
 * setup's rows are the initial state, so it is no transaction here. */
static char *history(const struct rec *ss)
{
    char *h = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&h, &len);

    if (!f)
        return NULL;
    for (int i = 0; i < N_SESS; i++)
        if (ss[i].t0)
            fprintf(f, "{\"type\":\"invoke\",\"process\":%d,\"f\":\"txn\",\"time\":%llu,"
                       "\"value\":[%s]}\n", i + 1, (unsigned long long)ss[i].t0, ss[i].mops);
    for (int i = 0; i < N_SESS; i++)
        if (ss[i].t0)
            fprintf(f, "{\"type\":\"%s\",\"process\":%d,\"f\":\"txn\",\"time\":%llu,"
                       "\"value\":[%s]}\n", ss[i].committed ? "ok" : "fail", i + 1,
                    (unsigned long long)ss[i].t1, ss[i].mops);
    fclose(f);
    return h;
}

/* Does the checker name anomaly in this history?  -1 on an input error. */
static int found(const char *text, const char *anomaly, char *all, size_t all_len)
{
    struct torn_hist *h = NULL;
    struct torn_check_result res;
    struct torn_check_opts o = {.time_limit_s = 10};
    struct torn_err err;
    int hit = -1;

    torn_check_result_init(&res);
    all[0] = '\0';
    if (torn_hist_parse(text, strlen(text), "hermitage.jsonl", TORN_HIST_TORN, &h, &err) ==
            TORN_OK &&
        torn_checker_find("rw-register")->check(h, &o, &res, &err) == TORN_OK) {
        hit = 0;
        for (size_t i = 0; i < res.n_violations; i++) {
            hit |= !strcmp(res.violations[i].criterion, anomaly);
            size_t n = strlen(all);
            snprintf(all + n, all_len - n, "%s%s", n ? " " : "", res.violations[i].criterion);
        }
    } else {
        fprintf(stderr, "check: %s\n", err.msg);
    }
    torn_check_result_free(&res);
    torn_hist_free(h);
    return hit;
}

/* Check the recorded transactions and compare with want (1: the anomaly
 * is possible, so torn must name it). */
static void judge(const struct rec *recs, const struct test *t, const char *where, int want)
{
    char all[256] = "";
    char *text = history(recs);
    int hit = text ? found(text, t->anomaly, all, sizeof all) : -1, began = 0, committed = 0;

    for (int i = 0; i < N_SESS; i++) {
        began += recs[i].t0 != 0;
        committed += recs[i].committed;
    }
    CHECK(began >= 2 && committed >= 1, "%s at %s: the sessions did their work (%d began, "
          "%d committed)", t->name, where, began, committed);

    CHECK(hit == want, "%s at %s: want %s, torn found [%s]\n%s", t->name, where,
          want ? "possible" : "prevented", all, text ? text : "");
    printf("%-32s %-16s %-9s torn: %s\n", t->name, where, want ? "possible" : "prevented",
           all[0] ? all : "-");
    free(text);
}

/* OTV as it would look: T3 reads T1's write of row 1, then row 2 as it was
 * before T1 (the initial state) -- torn must name it (G-single: T3 read a
 * version T1 overwrote, and read from T1); its twin, reading T1's row 2,
 * must pass.  Postgres prevents OTV at every level, so only a made-up
 * history shows the checker can see it. */
static void test_otv_twins(void)
{
    static const char *const t3[] = {"[[\"r\",1,11],[\"r\",2,null]]", "[[\"r\",1,11],[\"r\",2,19]]"};
    char text[512], all[64];

    for (int bad = 0; bad < 2; bad++) {
        const char *v = t3[!bad];
        snprintf(text, sizeof text,
                 "{\"type\":\"invoke\",\"process\":1,\"f\":\"txn\",\"value\":[[\"w\",1,11],[\"w\",2,19]]}\n"
                 "{\"type\":\"ok\",\"process\":1,\"f\":\"txn\",\"value\":[[\"w\",1,11],[\"w\",2,19]]}\n"
                 "{\"type\":\"invoke\",\"process\":3,\"f\":\"txn\",\"value\":%s}\n"
                 "{\"type\":\"ok\",\"process\":3,\"f\":\"txn\",\"value\":%s}\n", v, v);
        CHECK(found(text, "G-single", all, sizeof all) == bad, "OTV %s: torn found [%s]",
              bad ? "happened" : "twin", all);
    }
}

static struct torn_server *srv;
static char base[64];

static void run_test(const struct test *t, int level)
{
    struct sess ss[N_SESS];
    PGconn *setup = connect_to(srv);
    int ok = 1;

    memset(ss, 0, sizeof ss);
    CHECK(setup && exec_ok(setup, "DROP TABLE IF EXISTS test") &&
              exec_ok(setup, "CREATE TABLE test (id int primary key, value int)") &&
              exec_ok(setup, "INSERT INTO test (id, value) VALUES (1, 10), (2, 20)"),
          "%s: setup", t->name);
    for (int i = 0; i < N_SESS; i++)
        ok &= (ss[i].c = connect_to(srv)) != NULL;
    if (setup && ok) {
        struct rec recs[N_SESS];
        for (size_t i = 0; i < sizeof t->steps / sizeof *t->steps && t->steps[i].s; i++)
            run_step(ss, &t->steps[i], levels[level]);
        for (int i = 0; i < N_SESS; i++) {
            if (ss[i].pending)
                collect(&ss[i], 10000);
            recs[i] = ss[i].rec;
        }
        judge(recs, t, levels[level], t->possible[level]);
    }
    for (int i = 0; i < N_SESS; i++)
        PQfinish(ss[i].c);
    PQfinish(setup);
}

/* Start a managed server of kind in a fresh directory as srv; 0 or -1. */
static int start(enum torn_server_kind kind)
{
    struct torn_err err = {0};

    snprintf(base, sizeof base, "/tmp/torn-hermitage.XXXXXX");
    if (!mkdtemp(base)) {
        CHECK(0, "mkdtemp");
        return -1;
    }
    chmod(base, 0711);
    CHECK(torn_server_start(kind, base, NULL, 30000, &srv, &err) == 0 && srv, "start %s: %s",
          torn_server_kind_name(kind), err.msg);
    return srv ? 0 : -1;
}

static void stop(void)
{
    torn_server_stop(srv);
    srv = NULL;
    torn_proc_reap_all(1000);
    rmdir(base);
}

static void test_hermitage(void)
{
    if (start(TORN_SERVER_POSTGRES) < 0)
        return;
    for (size_t t = 0; t < sizeof tests / sizeof *tests; t++)
        for (int level = 0; level < 3; level++)
            if (tests[t].possible[level] >= 0)
                run_test(&tests[t], level);
    stop();
}

/* ---- Redis: MULTI/EXEC, with and without WATCH ---- */

struct redis_case {
    const struct test *t;
    int possible[2];              /* without WATCH, with WATCH */
};

static const struct redis_case redis_cases[] = {
    {&tests[1], {0, 0}},          /* G1a: DISCARD leaves nothing */
    {&tests[2], {0, 0}},          /* G1b: EXEC applies both SETs at once */
    {&tests[4], {1, 0}},          /* P4 */
    {&tests[5], {1, 0}},          /* G-single */
    {&tests[6], {1, 0}},          /* G2-item */
};

struct rsess {
    redisContext *c;
    int in_multi;
    struct rec rec;
};

static redisContext *redis_connect(void)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(srv->host, srv->port, tv);
    redisReply *r;

    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    r = redisCommand(c, "AUTH %s", srv->password);
    if (r)
        freeReplyObject(r);
    return c;
}

/* A command whose reply only matters as an error; 1 ok. */
static int rcmd(redisContext *c, const char *fmt, int a, int b)
{
    redisReply *r = redisCommand(c, fmt, a, b);
    int ok = r && r->type != REDIS_REPLY_ERROR;

    if (r)
        freeReplyObject(r);
    return ok;
}

static void redis_step(struct rsess *ss, const struct step *st, int watch)
{
    struct rsess *s = &ss[st->s - 1];
    redisReply *r;

    switch (st->act) {
    case BEGIN:
        s->rec.t0 = torn_now_ns();
        if (watch)
            rcmd(s->c, "WATCH %d %d", 1, 2);
        break;
    case READ:
        r = redisCommand(s->c, "GET %d", st->key);
        if (r && r->type == REDIS_REPLY_STRING)
            add_mop(&s->rec, "r", st->key, atoi(r->str));
        if (r)
            freeReplyObject(r);
        break;
    case WRITE:
        if (!s->in_multi)
            s->in_multi = rcmd(s->c, "MULTI", 0, 0);
        rcmd(s->c, "SET %d %d", st->key, st->val);
        add_mop(&s->rec, "w", st->key, st->val);
        break;
    case COMMIT:
        if (!s->in_multi && watch)        /* validate a read-only transaction */
            s->in_multi = rcmd(s->c, "MULTI", 0, 0);
        if (s->in_multi) {
            r = redisCommand(s->c, "EXEC");
            s->rec.committed = r && r->type == REDIS_REPLY_ARRAY;   /* nil: a watched key changed */
            if (r)
                freeReplyObject(r);
        } else {
            s->rec.committed = 1;
        }
        s->rec.t1 = torn_now_ns();
        break;
    case ABORT:
        if (s->in_multi)
            rcmd(s->c, "DISCARD", 0, 0);
        else if (watch)
            rcmd(s->c, "UNWATCH", 0, 0);
        s->rec.t1 = torn_now_ns();
        break;
    case SCAN:
    case INSERT:
    case ADD:
    case SET_EQ:
    case DEL_EQ:
        break;            /* the predicate tests run on Postgres only */
    }
}

static void run_redis_case(const struct redis_case *rc, int watch)
{
    struct rsess rs[2];
    redisContext *setup = redis_connect();

    memset(rs, 0, sizeof rs);
    CHECK(setup && rcmd(setup, "SET 1 %d", 10, 0) && rcmd(setup, "SET 2 %d", 20, 0),
          "redis setup");
    for (int i = 0; i < 2; i++)
        rs[i].c = redis_connect();
    if (setup && rs[0].c && rs[1].c) {
        const struct test *t = rc->t;
        for (size_t i = 0; i < sizeof t->steps / sizeof *t->steps && t->steps[i].s; i++)
            redis_step(rs, &t->steps[i], watch);
        const struct rec recs[N_SESS] = {rs[0].rec, rs[1].rec};
        judge(recs, t, watch ? "WATCH+MULTI/EXEC" : "MULTI/EXEC", rc->possible[watch]);
    }
    for (int i = 0; i < 2; i++)
        if (rs[i].c)
            redisFree(rs[i].c);
    if (setup)
        redisFree(setup);
}

static void test_redis(void)
{
    if (start(TORN_SERVER_REDIS) < 0)
        return;
    for (size_t i = 0; i < sizeof redis_cases / sizeof *redis_cases; i++)
        for (int watch = 0; watch < 2; watch++)
            run_redis_case(&redis_cases[i], watch);
    stop();
}

static const struct torn_test table[] = {
    {"otv_twins", test_otv_twins},
    {"hermitage", test_hermitage},
    {"redis", test_redis},
    {NULL, NULL},
};

TORN_TEST_MAIN(table)

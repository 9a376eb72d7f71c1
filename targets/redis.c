/* torn: the Redis target (hiredis).
 *
 * Records are JSON strings under "<ns>:rec:<id>"; dual-write groups are a
 * record hash "<ns>:dual:<g>:rec" (member -> amount) with its running sum
 * "<ns>:dual:<g>:total", and a membership sorted set "<ns>:dual:<g>:members"
 * (score = amount) with its counter "<ns>:dual:<g>:count".  Nothing outside
 * "<ns>:" is ever read or written; teardown deletes "<ns>:*".
 *
 * Location: NULL = a managed redis-server started in setup (persistence
 * from the parameters appendonly, appendfsync, save, server.<directive>),
 * else redis://[[USER]:PASS@]HOST[:PORT][/DB] or HOST[:PORT][/DB].
 *
 * Strategies, each what teams really ship (the first, watch, is the default):
 *   watch       WATCH/GET/MULTI/SET/EXEC, retried on conflict (bounded)
 *   lua         the merge done server-side by one EVALSHA
 *   two-writes  seed 000's bug: results, then status, two GET/merge/SET calls
 *   get-set     the generic store helper: GET, merge in the client, SET
 *   merged      seed 000's fallback fix: the merged record in ONE SET (the
 *               value is atomic; the read-modify-write is still racy)
 * Dual writes: dual=separate (two MULTI blocks, one per structure) or
 * dual=atomic (one MULTI); the default follows the strategy (watch and lua
 * atomic, the others separate).
 */
#include "core/target.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/recop.h"
#include "core/record.h"
#include "servers/server.h"
#include "targets/redis_url.h"
#include "core/util.h"

/* Same order as redis_strategies; [0] is the default: a correct one. */
enum redis_strategy { S_WATCH, S_LUA, S_TWO_WRITES, S_GET_SET, S_MERGED };

static const struct torn_strategy redis_strategies[] = {
    {"watch", "WATCH/MULTI/EXEC with bounded retries"},
    {"lua", "server-side merge with EVALSHA"},
    {"two-writes", "SET results, then SET status (seed 000's bug): intermediate state visible"},
    {"get-set", "GET, merge in the client, SET: read-modify-write race"},
    {"merged", "one SET of the merged record: atomic value, racy read-modify-write"},
    {NULL, NULL},
};

static const char *const redis_known[] = {"dual", "retries", TORN_FAILOVER_PARAMS, NULL};
static const char *const redis_persist[] = {"appendonly", "appendfsync", "save", NULL};

#define MAX_SETTINGS 32

struct redis_priv {
    redisContext *c;
    struct torn_server *srv;     /* managed server; owned by the setup process */
    char host[256];
    int port;
    int db;
    char user[128];
    char pass[256];              /* never printed */
    char prefix[80];             /* "<ns>:" */
    enum redis_strategy strategy;
    int dual_atomic;
    int retries;
    int timeout_ms;
    char sha[48];                /* SHA1 of the loaded Lua script */
    int reached;                 /* setup connected: teardown may clean up */
};

/* The Lua twin of torn_recop_apply: ARGV = mode, patch JSON, now, and the
 * expected version (cas) or the from-list JSON (transition).  Returns
 * {-1} missing, {-2} not a record, {0, current} refused, {1, new} applied. */
static const char lua_script[] =
    "local raw = redis.call('GET', KEYS[1])\n"
    "if not raw then return {-1} end\n"
    "local ok, rec = pcall(cjson.decode, raw)\n"
    "if not ok or type(rec) ~= 'table' then return {-2} end\n"
    "local mode = ARGV[1]\n"
    "if mode == 'cas' and tonumber(rec['version']) ~= tonumber(ARGV[4]) then\n"
    "  return {0, raw} end\n"
    "if mode == 'transition' then\n"
    "  local hit = false\n"
    "  for _, s in ipairs(cjson.decode(ARGV[4])) do\n"
    "    if rec['status'] == s then hit = true end end\n"
    "  if not hit then return {0, raw} end\n"
    "end\n"
    "local skip = {id = true, created_at = true, version = true, _updated_at = true}\n"
    "if mode == 'cas' then skip['processing_state'] = true end\n"
    "for k, v in pairs(cjson.decode(ARGV[2])) do\n"
    "  if not skip[k] then rec[k] = v end end\n"
    "rec['version'] = (tonumber(rec['version']) or 0) + 1\n"
    "rec['_updated_at'] = ARGV[3]\n"
    "local out = cjson.encode(rec)\n"
    "redis.call('SET', KEYS[1], out)\n"
    "return {1, out}\n";

/* ------------------------------------------------------------ config */

static int redis_strategy_of(const char *name)
{
    for (int i = 0; redis_strategies[i].name; i++)
        if (strcmp(redis_strategies[i].name, name) == 0)
            return i;
    return -1;
}

static int redis_check(const struct torn_target_cfg *cfg, struct torn_err *err)
{
    struct torn_kv settings[MAX_SETTINGS];
    struct torn_redis_url rc;
    long long retries;
    int atomic, r;

    if (redis_strategy_of(cfg->strategy) < 0)
        return torn_err_set(err, TORN_E_CONFIG, "target %s: unknown strategy '%s'",
                            cfg->display, cfg->strategy);
    if ((r = torn_target_check_params(cfg, redis_known, redis_persist, NULL, err)) ||
        (r = torn_managed_settings(cfg, redis_persist, settings, MAX_SETTINGS, err)) ||
        (r = torn_dual_mode(cfg, 1, &atomic, err)) ||
        (r = torn_target_param_int(cfg, "retries", 100, 1, 100000, &retries, err)))
        return r;
    if (!cfg->location)
        return TORN_OK;
    if ((r = torn_redis_url_parse(cfg->location, cfg->display, &rc, err)) != 0)
        return r;
    return torn_require_loopback(rc.host, cfg->allow_remote, cfg->display, err);
}

/* ------------------------------------------------------------ connection */

static struct redis_priv *P(struct torn_target *t)
{
    return t->priv;
}

static void drop(struct redis_priv *p)
{
    if (p->c)
        redisFree(p->c);
    p->c = NULL;
}

/* Turn a failed context into an error; the context is unusable after it.
 * sent: the request may have reached the server (indefinite outcome). */
static int ctx_error(struct torn_target *t, const char *what, int sent, struct torn_err *err)
{
    struct redis_priv *p = P(t);
    /* hiredis 0.14 reports a socket timeout as an I/O error with the
     * strerror text of EAGAIN (reads) or ETIMEDOUT (connect). */
    int timeout = p->c && p->c->err == REDIS_ERR_IO &&
                  (strstr(p->c->errstr, "temporarily unavailable") ||
                   strstr(p->c->errstr, "timed out"));
    int rc;

    if (timeout)
        rc = torn_err_set(err, TORN_E_TIMEOUT, "redis %s:%d: %s: no answer within %d ms",
                          p->host, p->port, what, p->timeout_ms);
    else
        rc = torn_err_set(err, TORN_E_CONNECT, "redis %s:%d: %s: %s", p->host, p->port, what,
                          p->c ? p->c->errstr : "out of memory");
    if (err)
        err->indefinite = sent;
    drop(p);
    return rc;
}

/* An error reply as a torn error (NOAUTH/WRONGPASS as TORN_E_AUTH). */
static int reply_error(struct torn_target *t, const redisReply *r, const char *what,
                       struct torn_err *err)
{
    struct redis_priv *p = P(t);
    const char *msg = r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply";
    int auth = strncmp(msg, "NOAUTH", 6) == 0 || strncmp(msg, "WRONGPASS", 9) == 0 ||
               strstr(msg, "invalid password") || strstr(msg, "invalid username");

    return torn_err_set(err, auth ? TORN_E_AUTH : r && r->type == REDIS_REPLY_ERROR
                                                      ? TORN_E_REMOTE
                                                      : TORN_E_PROTOCOL,
                        "redis %s:%d: %s: %s%s", p->host, p->port, what, msg,
                        auth ? " (check the password in the target address)" : "");
}

static int redis_connect(struct torn_target *t, struct torn_err *err);

/* Run one command; NULL with err set when the connection failed (the reply
 * may still be an error reply: check r->type). */
static redisReply *cmd(struct torn_target *t, struct torn_err *err, const char *fmt, ...)
{
    struct redis_priv *p = P(t);
    redisReply *r;
    va_list ap;

    if (!p->c && redis_connect(t, err) != 0)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(p->c, fmt, ap);
    va_end(ap);
    if (!r) {
        char what[16];
        snprintf(what, sizeof what, "%.*s", (int)strcspn(fmt, " "), fmt);
        ctx_error(t, what, 1, err);
    }
    return r;
}

/* Send n pipelined commands (already appended) and collect the replies
 * into rs[0..n).  0, or an error with every rs[i] NULL. */
static int pipeline_replies(struct torn_target *t, redisReply **rs, int n, struct torn_err *err)
{
    struct redis_priv *p = P(t);

    for (int i = 0; i < n; i++)
        rs[i] = NULL;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(p->c, &r) != REDIS_OK) {
            for (int j = 0; j < i; j++) {
                freeReplyObject(rs[j]);
                rs[j] = NULL;
            }
            return ctx_error(t, "pipeline", 1, err);
        }
        rs[i] = r;
    }
    return TORN_OK;
}

static void free_replies(redisReply **rs, int n)
{
    for (int i = 0; i < n; i++)
        if (rs[i])
            freeReplyObject(rs[i]);
}

/* Expect a status/integer reply; frees it. */
static int expect_ok(struct torn_target *t, redisReply *r, const char *what, struct torn_err *err)
{
    int rc = TORN_OK;

    if (!r)
        return err ? err->code : TORN_E_CONNECT;
    if (r->type == REDIS_REPLY_ERROR)
        rc = reply_error(t, r, what, err);
    freeReplyObject(r);
    return rc;
}

static int redis_connect(struct torn_target *t, struct torn_err *err)
{
    struct redis_priv *p = P(t);
    struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
    int rc;

    drop(p);
    p->c = redisConnectWithTimeout(p->host, p->port, tv);
    if (!p->c || p->c->err) {
        rc = ctx_error(t, "connect", 0, err);
        if (err)
            err->code = rc = TORN_E_CONNECT;
        return rc;
    }
    if (redisSetTimeout(p->c, tv) != REDIS_OK)
        return ctx_error(t, "set timeout", 0, err);
    if (p->pass[0] &&
        (rc = expect_ok(t, p->user[0] ? cmd(t, err, "AUTH %s %s", p->user, p->pass)
                                      : cmd(t, err, "AUTH %s", p->pass),
                        "AUTH", err)) != 0)
        goto fail;
    if (p->db && (rc = expect_ok(t, cmd(t, err, "SELECT %d", p->db), "SELECT", err)) != 0)
        goto fail;
    if ((rc = expect_ok(t, cmd(t, err, "PING"), "PING", err)) != 0)
        goto fail;
    return TORN_OK;
fail:
    /* Nothing was written: a failure while connecting is definite, and a
     * server that never answers is "cannot connect", not an indefinite op. */
    if (err) {
        err->indefinite = 0;
        if (err->code == TORN_E_TIMEOUT)
            err->code = rc = TORN_E_CONNECT;
    }
    drop(p);
    return rc;
}

static int redis_open(struct torn_target *t, struct torn_err *err)
{
    return redis_connect(t, err);
}

static void redis_close(struct torn_target *t)
{
    drop(P(t));
}

static int redis_setup(struct torn_target *t, struct torn_err *err)
{
    struct redis_priv *p = P(t);
    const struct torn_target_cfg *cfg = &t->cfg;
    struct torn_kv settings[MAX_SETTINGS];
    struct torn_redis_url conf;
    long long retries = 100;
    int rc;

    p->strategy = (enum redis_strategy)redis_strategy_of(cfg->strategy);
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    snprintf(p->prefix, sizeof p->prefix, "%s:", cfg->ns ? cfg->ns : "torn");
    if ((rc = torn_dual_mode(cfg, p->strategy == S_WATCH || p->strategy == S_LUA,
                             &p->dual_atomic, err)) ||
        (rc = torn_target_param_int(cfg, "retries", 100, 1, 100000, &retries, err)) ||
        (rc = torn_managed_settings(cfg, redis_persist, settings, MAX_SETTINGS, err)))
        return rc;
    p->retries = retries > 0 ? (int)retries : 1;
    if (cfg->location) {
        if ((rc = torn_redis_url_parse(cfg->location, cfg->display, &conf, err)) ||
            (rc = torn_require_loopback(conf.host, cfg->allow_remote, cfg->display, err)))
            return rc;
        snprintf(p->host, sizeof p->host, "%s", conf.host);
        snprintf(p->user, sizeof p->user, "%s", conf.user);
        snprintf(p->pass, sizeof p->pass, "%s", conf.pass);
        p->port = conf.port;
        p->db = conf.db;
    } else {
        rc = torn_server_start(TORN_SERVER_REDIS, cfg->run_dir, settings,
                               p->timeout_ms > 10000 ? p->timeout_ms : 10000, &p->srv, err);
        if (rc)
            return rc;
        snprintf(p->host, sizeof p->host, "%s", p->srv->host);
        snprintf(p->pass, sizeof p->pass, "%s", p->srv->password); /* only torn knows it */
        p->port = p->srv->port;
    }
    /* Fail here, before any scenario, when the server cannot be used. */
    rc = redis_connect(t, err);
    p->reached = rc == 0;
    drop(p);
    return rc;
}

/* Delete every key under the run's prefix (external servers only). */
static void delete_namespace(struct torn_target *t)
{
    struct torn_err err = {0};
    char pattern[96], cursor[32] = "0";

    snprintf(pattern, sizeof pattern, "%s*", P(t)->prefix);
    do {
        redisReply *r = cmd(t, &err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r)
                freeReplyObject(r);
            return;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            expect_ok(t, cmd(t, &err, "UNLINK %s", r->element[1]->element[i]->str), "UNLINK",
                      &err);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static void redis_teardown(struct torn_target *t)
{
    struct redis_priv *p = P(t);

    if (p->srv) {
        drop(p);
        torn_server_stop(p->srv); /* its data goes with it */
        p->srv = NULL;
        return;
    }
    if (p->reached)
        delete_namespace(t);
    drop(p);
}

/* ------------------------------------------------------------ records */

static int rec_key(struct torn_target *t, const char *id, char *key, size_t len,
                   struct torn_err *err)
{
    int n = snprintf(key, len, "%srec:%s", P(t)->prefix, id);

    if (n < 0 || (size_t)n >= len)
        return torn_err_set(err, TORN_E_CONFIG, "record id too long: %.40s...", id);
    return TORN_OK;
}

/* Parse a stored value; TORN_E_CORRUPT with the reason when it is not an
 * intact record. */
static int parse_value(const char *key, const char *buf, size_t len, cJSON **rec_out,
                       struct torn_err *err)
{
    char why[160];

    if (torn_record_parse(buf, len, rec_out, why, sizeof why) != 0)
        return torn_err_set(err, TORN_E_CORRUPT, "redis key %s: %s", key, why);
    return TORN_OK;
}

static int get_record(struct torn_target *t, const char *key, cJSON **rec_out,
                      struct torn_err *err)
{
    redisReply *r = cmd(t, err, "GET %s", key);
    int rc;

    *rec_out = NULL;
    if (!r)
        return err ? err->code : TORN_E_CONNECT;
    if (r->type == REDIS_REPLY_NIL)
        rc = torn_err_set(err, TORN_E_NOTFOUND, "redis key %s does not exist", key);
    else if (r->type == REDIS_REPLY_STRING)
        rc = parse_value(key, r->str, r->len, rec_out, err);
    else
        rc = reply_error(t, r, "GET", err);
    freeReplyObject(r);
    return rc;
}

static int set_record(struct torn_target *t, const char *key, const cJSON *rec,
                      struct torn_err *err)
{
    char *json = cJSON_PrintUnformatted(rec);
    int rc;

    if (!json)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = expect_ok(t, cmd(t, err, "SET %s %s", key, json), "SET", err);
    free(json);
    return rc;
}

/* GET, decide and merge in the client, SET (two-writes, get-set, merged). */
static int rmw_plain(struct torn_target *t, const char *key, const struct torn_recop *op,
                     int *won_out, cJSON **record_out, struct torn_err *err)
{
    cJSON *rec;
    int rc, won;

    if ((rc = get_record(t, key, &rec, err)) != 0)
        return rc;
    won = torn_recop_apply(rec, op);
    if (won < 0 || (won && (rc = set_record(t, key, rec, err)) != 0)) {
        cJSON_Delete(rec);
        return won < 0 ? torn_err_set(err, won, "out of memory") : rc;
    }
    torn_recop_finish(rec, won, won_out, record_out);
    return TORN_OK;
}

/* Seed 000's bug: every field but status in one store call, then status in
 * a second one; a crash between them leaves results without status. */
static int two_writes(struct torn_target *t, const char *key, const struct torn_recop *op,
                      cJSON **record_out, struct torn_err *err)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(op->patch, "status");
    struct torn_recop first = *op, second = *op;
    cJSON *rest, *only;
    int rc;

    if (!status || cJSON_GetArraySize(op->patch) < 2)
        return rmw_plain(t, key, op, NULL, record_out, err);
    rest = cJSON_Duplicate(op->patch, 1);
    only = cJSON_CreateObject();
    if (!rest || !only || !cJSON_AddItemToObject(only, "status", cJSON_Duplicate(status, 1))) {
        cJSON_Delete(rest);
        cJSON_Delete(only);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(rest, "status");
    first.patch = rest;
    second.patch = only;
    rc = rmw_plain(t, key, &first, NULL, NULL, err);
    if (rc == 0)
        rc = rmw_plain(t, key, &second, NULL, record_out, err);
    cJSON_Delete(rest);
    cJSON_Delete(only);
    return rc;
}

/* WATCH the key, read and decide, then MULTI/SET/EXEC; EXEC returns nil
 * when another client wrote the key in between: read again (bounded). */
static int rmw_watch(struct torn_target *t, const char *key, const struct torn_recop *op,
                     int *won_out, cJSON **record_out, struct torn_err *err)
{
    struct redis_priv *p = P(t);
    redisReply *rs[3];
    cJSON *rec;
    char *json;
    int rc, won;

    for (int attempt = 0; attempt < p->retries; attempt++) {
        if ((rc = expect_ok(t, cmd(t, err, "WATCH %s", key), "WATCH", err)) ||
            (rc = get_record(t, key, &rec, err))) {
            if (p->c)
                expect_ok(t, cmd(t, NULL, "UNWATCH"), "UNWATCH", NULL);
            return rc;
        }
        won = torn_recop_apply(rec, op);
        if (won <= 0) {
            expect_ok(t, cmd(t, NULL, "UNWATCH"), "UNWATCH", NULL);
            if (won < 0) {
                cJSON_Delete(rec);
                return torn_err_set(err, won, "out of memory");
            }
            torn_recop_finish(rec, 0, won_out, record_out);
            return TORN_OK;
        }
        json = cJSON_PrintUnformatted(rec);
        if (!json) {
            cJSON_Delete(rec);
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
        redisAppendCommand(p->c, "MULTI");
        redisAppendCommand(p->c, "SET %s %s", key, json);
        redisAppendCommand(p->c, "EXEC");
        free(json);
        if ((rc = pipeline_replies(t, rs, 3, err)) != 0) {
            cJSON_Delete(rec);
            return rc;
        }
        if (rs[2]->type == REDIS_REPLY_ARRAY) {
            free_replies(rs, 3);
            torn_recop_finish(rec, 1, won_out, record_out);
            return TORN_OK;
        }
        rc = rs[2]->type == REDIS_REPLY_NIL ? 0 : reply_error(t, rs[2], "EXEC", err);
        free_replies(rs, 3);
        cJSON_Delete(rec);
        if (rc)
            return rc;
        torn_sleep_ns(10000ull * (uint64_t)(attempt + 1)); /* let the winner finish */
    }
    return torn_err_set(err, TORN_E_REMOTE, "redis key %s: WATCH conflict %d times in a row",
                        key, p->retries);
}

static int load_script(struct torn_target *t, struct torn_err *err)
{
    struct redis_priv *p = P(t);
    redisReply *r = cmd(t, err, "SCRIPT LOAD %s", lua_script);
    int rc = TORN_OK;

    if (!r)
        return err ? err->code : TORN_E_CONNECT;
    if (r->type == REDIS_REPLY_STRING)
        snprintf(p->sha, sizeof p->sha, "%s", r->str);
    else
        rc = reply_error(t, r, "SCRIPT LOAD", err);
    freeReplyObject(r);
    return rc;
}

/* One EVALSHA does read, decide, merge and write on the server. */
static int rmw_lua(struct torn_target *t, const char *key, const struct torn_recop *op,
                   int *won_out, cJSON **record_out, struct torn_err *err)
{
    static const char *const modes[] = {"update", "cas", "transition"};
    struct redis_priv *p = P(t);
    char *patch = torn_recop_patch_json(op), *arg4 = NULL, now[32], expected[32];
    redisReply *r = NULL;
    cJSON *rec = NULL;
    int rc = TORN_OK;

    snprintf(expected, sizeof expected, "%lld", op->expected);
    arg4 = op->kind == TORN_RECOP_TRANSITION ? torn_recop_from_json(op) : strdup(expected);
    torn_iso_now(now);
    if (!patch || !arg4) {
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
        goto out;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!p->sha[0] && (rc = load_script(t, err)) != 0)
            goto out;
        r = cmd(t, err, "EVALSHA %s 1 %s %s %s %s %s", p->sha, key, modes[op->kind], patch,
                now, arg4);
        if (!r) {
            rc = err ? err->code : TORN_E_CONNECT;
            goto out;
        }
        if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
            break;
        freeReplyObject(r); /* a restarted server forgot the script */
        r = NULL;
        p->sha[0] = '\0';
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        rc = reply_error(t, r, "EVALSHA", err);
        goto out;
    }
    if (r->element[0]->integer == -1) {
        rc = torn_err_set(err, TORN_E_NOTFOUND, "redis key %s does not exist", key);
    } else if (r->element[0]->integer == -2 || r->elements < 2) {
        rc = torn_err_set(err, TORN_E_CORRUPT, "redis key %s: not a JSON record", key);
    } else if ((rc = parse_value(key, r->element[1]->str, r->element[1]->len, &rec, err)) ==
               0) {
        torn_recop_finish(rec, (int)r->element[0]->integer, won_out, record_out);
    }
out:
    if (r)
        freeReplyObject(r);
    free(patch);
    free(arg4);
    return rc;
}

static int run_op(struct torn_target *t, const char *id, const struct torn_recop *op,
                  int *won_out, cJSON **record_out, struct torn_err *err)
{
    char key[512];
    int rc;

    if (record_out)
        *record_out = NULL;
    if (won_out)
        *won_out = 0;
    if ((rc = rec_key(t, id, key, sizeof key, err)) != 0)
        return rc;
    switch (P(t)->strategy) {
    case S_TWO_WRITES:
        if (op->kind == TORN_RECOP_UPDATE)
            return two_writes(t, key, op, record_out, err);
        return rmw_plain(t, key, op, won_out, record_out, err);
    case S_GET_SET:
    case S_MERGED:
        return rmw_plain(t, key, op, won_out, record_out, err);
    case S_WATCH:
        return rmw_watch(t, key, op, won_out, record_out, err);
    case S_LUA:
        return rmw_lua(t, key, op, won_out, record_out, err);
    }
    return TORN_E_CONFIG;
}

static int redis_reset(struct torn_target *t, const char *id, const cJSON *initial,
                       cJSON **record_out, struct torn_err *err)
{
    cJSON *rec;
    char key[512];
    int rc;

    if (record_out)
        *record_out = NULL;
    if ((rc = rec_key(t, id, key, sizeof key, err)) != 0)
        return rc;
    if (!(rec = torn_record_new(id, initial)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if ((rc = set_record(t, key, rec, err)) != 0) {
        cJSON_Delete(rec);
        return rc;
    }
    torn_recop_finish(rec, 1, NULL, record_out);
    return TORN_OK;
}

static int redis_update(struct torn_target *t, const char *id, const cJSON *patch,
                        cJSON **record_out, struct torn_err *err)
{
    struct torn_recop op = {.kind = TORN_RECOP_UPDATE, .patch = patch};

    return run_op(t, id, &op, NULL, record_out, err);
}

static int redis_read(struct torn_target *t, const char *id, cJSON **record_out,
                      struct torn_err *err)
{
    char key[512];
    cJSON *rec;
    int rc;

    *record_out = NULL;
    if ((rc = rec_key(t, id, key, sizeof key, err)) || (rc = get_record(t, key, &rec, err)))
        return rc;
    *record_out = rec;
    return TORN_OK;
}

static int redis_cas(struct torn_target *t, const char *id, const cJSON *patch,
                     long long expected_version, int *won_out, cJSON **record_out,
                     struct torn_err *err)
{
    struct torn_recop op = {.kind = TORN_RECOP_CAS, .patch = patch, .expected = expected_version};

    return run_op(t, id, &op, won_out, record_out, err);
}

static int redis_transition(struct torn_target *t, const char *id, const char *const *from,
                            size_t n_from, const char *to, int *won_out, cJSON **record_out,
                            struct torn_err *err)
{
    struct torn_recop op = {
        .kind = TORN_RECOP_TRANSITION, .from = from, .n_from = n_from, .to = to};

    return run_op(t, id, &op, won_out, record_out, err);
}

/* ------------------------------------------------------------ dual write */

static int dual_keys(struct torn_target *t, const char *group, char keys[4][384],
                     struct torn_err *err)
{
    static const char *const names[4] = {"rec", "total", "members", "count"};

    for (int i = 0; i < 4; i++) {
        int n = snprintf(keys[i], 384, "%sdual:%s:%s", P(t)->prefix, group, names[i]);
        if (n < 0 || n >= 384)
            return torn_err_set(err, TORN_E_CONFIG, "group name too long");
    }
    return TORN_OK;
}

/* Send the pipelined MULTI ... EXEC just appended (n commands in all) and
 * check that EXEC ran every command. */
static int exec_block(struct torn_target *t, int n, struct torn_err *err)
{
    redisReply *rs[8];
    redisReply *ex;
    int rc;

    if ((rc = pipeline_replies(t, rs, n, err)) != 0)
        return rc;
    ex = rs[n - 1];
    if (ex->type != REDIS_REPLY_ARRAY)
        rc = reply_error(t, ex, "EXEC", err);
    for (size_t i = 0; !rc && i < ex->elements; i++)
        if (ex->element[i]->type == REDIS_REPLY_ERROR)
            rc = reply_error(t, ex->element[i], "EXEC", err);
    free_replies(rs, n);
    return rc;
}

static int redis_dual_write(struct torn_target *t, const char *group, const char *member,
                            long long amount, struct torn_err *err)
{
    struct redis_priv *p = P(t);
    char keys[4][384];
    int rc;

    if ((rc = dual_keys(t, group, keys, err)) != 0)
        return rc;
    if (!p->c && (rc = redis_connect(t, err)) != 0)
        return rc;
    /* Structure A: the record hash and its running sum. */
    redisAppendCommand(p->c, "MULTI");
    redisAppendCommand(p->c, "HSET %s %s %lld", keys[0], member, amount);
    redisAppendCommand(p->c, "INCRBY %s %lld", keys[1], amount);
    if (!p->dual_atomic) {
        redisAppendCommand(p->c, "EXEC");
        if ((rc = exec_block(t, 4, err)) != 0)
            return rc;
        redisAppendCommand(p->c, "MULTI");
    }
    /* Structure B: the membership set and its counter. */
    redisAppendCommand(p->c, "ZADD %s %lld %s", keys[2], amount, member);
    redisAppendCommand(p->c, "INCR %s", keys[3]);
    redisAppendCommand(p->c, "EXEC");
    return exec_block(t, p->dual_atomic ? 6 : 4, err);
}

/* Reply array [k1, v1, k2, v2...] into {k: number}. */
static cJSON *pairs_object(const redisReply *r)
{
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; o && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        cJSON_AddNumberToObject(o, r->element[i]->str, strtod(r->element[i + 1]->str, NULL));
    return o;
}

static double num_reply(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? strtod(r->str, NULL) : 0;
}

static int redis_dual_read(struct torn_target *t, const char *group, cJSON **state_out,
                           struct torn_err *err)
{
    struct redis_priv *p = P(t);
    char keys[4][384];
    redisReply *rs[6], *ex;
    cJSON *st;
    int rc;

    *state_out = NULL;
    if ((rc = dual_keys(t, group, keys, err)) != 0)
        return rc;
    if (!p->c && (rc = redis_connect(t, err)) != 0)
        return rc;
    /* One MULTI: both structures from the same instant. */
    redisAppendCommand(p->c, "MULTI");
    redisAppendCommand(p->c, "HGETALL %s", keys[0]);
    redisAppendCommand(p->c, "ZRANGE %s 0 -1 WITHSCORES", keys[2]);
    redisAppendCommand(p->c, "GET %s", keys[1]);
    redisAppendCommand(p->c, "GET %s", keys[3]);
    redisAppendCommand(p->c, "EXEC");
    if ((rc = pipeline_replies(t, rs, 6, err)) != 0)
        return rc;
    ex = rs[5];
    if (ex->type != REDIS_REPLY_ARRAY || ex->elements != 4) {
        rc = reply_error(t, ex, "EXEC", err);
        free_replies(rs, 6);
        return rc;
    }
    st = cJSON_CreateObject();
    if (st) {
        cJSON_AddItemToObject(st, "a", pairs_object(ex->element[0]));
        cJSON_AddItemToObject(st, "b", pairs_object(ex->element[1]));
        cJSON_AddNumberToObject(st, "count", num_reply(ex->element[3]));
        cJSON_AddNumberToObject(st, "total", num_reply(ex->element[2]));
    }
    free_replies(rs, 6);
    if (!st)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    *state_out = st;
    return TORN_OK;
}

static int redis_fault(struct torn_target *t, enum torn_fault kind, const cJSON *args,
                       struct torn_err *err)
{
    (void)args;
    drop(P(t)); /* the connection does not survive a server crash */
    return torn_managed_fault(P(t)->srv, t->cfg.display, kind, err);
}

const struct torn_target_ops torn_target_redis = {
    .version = TORN_TARGET_OPS_V1,
    .name = "redis",
    .summary = "Redis via hiredis: managed redis-server, or redis://[:PASS@]HOST:PORT[/DB]",
    .strategies = redis_strategies,
    .size = sizeof(struct redis_priv),
    .check = redis_check,
    .setup = redis_setup,
    .teardown = redis_teardown,
    .open = redis_open,
    .close = redis_close,
    .reset = redis_reset,
    .update = redis_update,
    .read = redis_read,
    .update_if_version = redis_cas,
    .transition = redis_transition,
    .dual_write = redis_dual_write,
    .dual_read = redis_dual_read,
    .fault = redis_fault,
};

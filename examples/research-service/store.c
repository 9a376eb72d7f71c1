/* research-service store: Redis (hiredis, one connection per thread) or a
 * directory of JSON files.  Records are whole JSON documents; every write
 * bumps version and _updated_at (seed 000's contract). */
#include "svc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;

static void conn_free(void *p)
{
    redisFree(p);
}

static void conn_key_init(void)
{
    pthread_key_create(&conn_key, conn_free);
}

/* This thread's Redis connection, connecting (again) when needed. */
static redisContext *conn_get(char *why, size_t why_len)
{
    pthread_once(&conn_once, conn_key_init);
    redisContext *c = pthread_getspecific(conn_key);
    if (c && c->err) {
        redisFree(c);
        c = NULL;
        pthread_setspecific(conn_key, NULL);
    }
    if (c)
        return c;
    struct timeval tv = {rs_opt.store_timeout_ms / 1000, (rs_opt.store_timeout_ms % 1000) * 1000};
    c = redisConnectWithTimeout(rs_opt.redis_host, rs_opt.redis_port, tv);
    if (!c || c->err) {
        snprintf(why, why_len, "redis %s:%d: %s", rs_opt.redis_host, rs_opt.redis_port,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    pthread_setspecific(conn_key, c);
    return c;
}

/* Drop this thread's connection after an error (a reply may be pending). */
static void conn_drop(void)
{
    redisContext *c = pthread_getspecific(conn_key);
    redisFree(c);
    pthread_setspecific(conn_key, NULL);
}

/* Run a command; NULL (why filled, connection dropped) on transport or
 * server error. */
static redisReply *rcmd(char *why, size_t why_len, const char *fmt, ...)
{
    redisContext *c = conn_get(why, why_len);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        snprintf(why, why_len, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
        conn_drop();
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, why_len, "redis: %s", r->str);
        freeReplyObject(r);
        conn_drop();
        return NULL;
    }
    return r;
}

static char *key_of(const char *id)
{
    size_t n = strlen(rs_opt.prefix) + strlen(id) + 2;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s%s", rs_opt.prefix, id);
    return k;
}

static char *path_of(const char *id, const char *suffix)
{
    size_t n = strlen(rs_opt.dir) + strlen(id) + strlen(suffix) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s.json%s", rs_opt.dir, id, suffix);
    return p;
}

static int valid_id(const char *id)
{
    if (!*id || strlen(id) > 40)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int file_get(const char *id, char **json_out, char *why, size_t why_len)
{
    char *path = path_of(id, "");
    FILE *f = path ? fopen(path, "rb") : NULL;
    int rc = 0;
    if (!f) {
        rc = errno == ENOENT ? 1 : -1;
        snprintf(why, why_len, "%s: %s", path ? path : id, strerror(errno));
        free(path);
        return rc;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = -1;
                break;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0);
    fclose(f);
    free(path);
    if (rc) {
        free(buf);
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    buf[len] = 0;
    *json_out = buf;
    return 0;
}

/* Naive in-place write (what seed 001 had before its fix) or temp file,
 * fsync and rename (what it has after). */
static int file_set(const char *id, const char *json, char *why, size_t why_len)
{
    char tmpsfx[48];
    snprintf(tmpsfx, sizeof tmpsfx, ".tmp.%lx", (unsigned long)pthread_self());
    char *path = path_of(id, ""), *tmp = path_of(id, tmpsfx);
    const char *dst = rs_opt.file_naive ? path : tmp;
    int rc = -1, fd = (path && tmp) ? open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    size_t len = strlen(json);
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", dst ? dst : id, strerror(errno));
        goto out;
    }
    if (write(fd, json, len) != (ssize_t)len || fsync(fd) != 0) {
        snprintf(why, why_len, "%s: write: %s", dst, strerror(errno));
        close(fd);
        goto out;
    }
    close(fd);
    if (!rs_opt.file_naive && rename(tmp, path) != 0) {
        snprintf(why, why_len, "rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(path);
    free(tmp);
    return rc;
}

int rs_store_get(const char *id, char **json_out, char *why, size_t why_len)
{
    *json_out = NULL;
    if (!valid_id(id)) {
        snprintf(why, why_len, "bad id");
        return 1;
    }
    if (!rs_opt.redis_host)
        return file_get(id, json_out, why, why_len);
    char *k = key_of(id);
    redisReply *r = k ? rcmd(why, why_len, "GET %s", k) : NULL;
    free(k);
    if (!r)
        return -1;
    int rc = 1;
    if (r->type == REDIS_REPLY_STRING) {
        *json_out = strndup(r->str, r->len);
        rc = *json_out ? 0 : -1;
    } else {
        snprintf(why, why_len, "not found");
    }
    freeReplyObject(r);
    return rc;
}

int rs_store_set(const char *id, const char *json, char *why, size_t why_len)
{
    if (!valid_id(id)) {
        snprintf(why, why_len, "bad id");
        return -1;
    }
    if (!rs_opt.redis_host)
        return file_set(id, json, why, why_len);
    char *k = key_of(id);
    redisReply *r = k ? rcmd(why, why_len, "SET %s %s", k, json) : NULL;
    free(k);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

void rs_record_merge(struct cJSON *rec, const struct cJSON *patch, int protect)
{
    static const char *const skip[] = {"id", "created_at", "version", "_updated_at"};
    for (const cJSON *f = patch ? patch->child : NULL; f; f = f->next) {
        int protected_field = protect && strcmp(f->string, "processing_state") == 0;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
            protected_field |= strcmp(f->string, skip[i]) == 0;
        if (protected_field)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(rec, f->string);
        cJSON_AddItemToObject(rec, f->string, cJSON_Duplicate(f, 1));
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "version");
    double nv = cJSON_IsNumber(v) ? v->valuedouble + 1 : 1;
    char now[40];
    rs_iso_now(now);
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "version");
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "_updated_at");
    cJSON_AddNumberToObject(rec, "version", nv);
    cJSON_AddStringToObject(rec, "_updated_at", now);
}

struct cJSON *rs_record_new(const char *id, const struct cJSON *initial)
{
    cJSON *rec = cJSON_CreateObject();
    char now[40];
    rs_iso_now(now);
    cJSON_AddStringToObject(rec, "id", id);
    cJSON_AddStringToObject(rec, "created_at", now);
    rs_record_merge(rec, initial, 0);   /* version 1 */
    return rec;
}

/* Decide whether the guarded conditions hold for rec: 0 yes, 2 no. */
static int conditions_hold(const cJSON *rec, long long expect_version, const char *const *from,
                           size_t n_from)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "version");
    if (expect_version >= 0 && (!cJSON_IsNumber(v) || (long long)v->valuedouble != expect_version))
        return 2;
    if (!from)
        return 0;
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "status"));
    for (size_t i = 0; i < n_from; i++)
        if (st && strcmp(st, from[i]) == 0)
            return 0;
    return 2;
}

/* Read, check, merge: 0 with *rec_out, 1 not found, 2 stale, -1 error. */
static int load_merge(const char *id, const cJSON *patch, int protect, long long expect_version,
                      const char *const *from, size_t n_from, cJSON **rec_out, char *why,
                      size_t why_len)
{
    char *cur = NULL;
    int rc = rs_store_get(id, &cur, why, why_len);
    *rec_out = NULL;
    if (rc)
        return rc;
    cJSON *rec = cJSON_Parse(cur);
    free(cur);
    if (!cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        snprintf(why, why_len, "record %s is not a JSON object", id);
        return -1;
    }
    rc = conditions_hold(rec, expect_version, from, n_from);
    if (rc) {
        *rec_out = rec;
        return rc;
    }
    rs_record_merge(rec, patch, protect);
    *rec_out = rec;
    return 0;
}

/* One WATCH/MULTI/EXEC attempt: 0 done, 3 conflict (retry), else as
 * rs_store_update. */
static int redis_guarded_once(const char *id, const char *k, const cJSON *patch,
                              long long expect_version, const char *const *from, size_t n_from,
                              cJSON **rec_out, char *why, size_t why_len)
{
    redisReply *r = rcmd(why, why_len, "WATCH %s", k);
    if (!r)
        return -1;
    freeReplyObject(r);
    int rc = load_merge(id, patch, expect_version >= 0, expect_version, from, n_from, rec_out,
                        why, why_len);
    if (rc) {
        if ((r = rcmd(why, why_len, "UNWATCH")))
            freeReplyObject(r);
        return rc;
    }
    char *text = cJSON_PrintUnformatted(*rec_out);
    redisContext *c = conn_get(why, why_len);
    if (!text || !c) {
        free(text);
        return -1;
    }
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "SET %s %s", k, text);
    redisAppendCommand(c, "EXEC");
    free(text);
    int conflict = 0;
    for (int i = 0; i < 3; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            snprintf(why, why_len, "redis: %s", c->errstr);
            conn_drop();
            return -1;
        }
        r = reply;
        if (i == 2 && r->type == REDIS_REPLY_NIL)
            conflict = 1;
        freeReplyObject(r);
    }
    return conflict ? 3 : 0;
}

int rs_store_update(const char *id, const struct cJSON *patch, int guarded,
                    long long expect_version, const char *const *from, size_t n_from,
                    struct cJSON **rec_out, char *why, size_t why_len)
{
    cJSON *rec = NULL;
    int rc;
    if (!guarded || !rs_opt.redis_host) {
        if (guarded)
            pthread_mutex_lock(&file_lock);
        rc = load_merge(id, patch, guarded && expect_version >= 0, expect_version, from, n_from,
                        &rec, why, why_len);
        if (rc == 0) {
            char *text = cJSON_PrintUnformatted(rec);
            rc = text ? rs_store_set(id, text, why, why_len) : -1;
            free(text);
        }
        if (guarded)
            pthread_mutex_unlock(&file_lock);
    } else {
        char *k = key_of(id);
        rc = k ? 3 : -1;
        for (int attempt = 0; rc == 3 && attempt < 50; attempt++) {
            cJSON_Delete(rec);
            rec = NULL;
            rc = redis_guarded_once(id, k, patch, expect_version, from, n_from, &rec, why,
                                    why_len);
        }
        if (rc == 3) {
            snprintf(why, why_len, "too many write conflicts");
            rc = -1;
        }
        free(k);
    }
    if (rec_out && (rc == 0 || rc == 2))
        *rec_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

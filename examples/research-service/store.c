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
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
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

/* Whole file at path: 0 and *buf_out, 1 missing, -1 error (why filled). */
static int load_file(const char *path, char **buf_out, size_t *len_out, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    *buf_out = NULL;
    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? 1 : -1;
    }
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(why, why_len, "out of memory");
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = 0;
    *buf_out = buf;
    *len_out = len;
    return 0;
}

/* FNV-1a 64 of the record text: the durable mode's checksum. */
static uint64_t fnv64(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

#define TRAILER "\n#fnv64=%016llx len=%zu\n"

/* A durable-mode file: the record text, then TRAILER.  0 with the record
 * text in *json_out (trailer cut off), -1 damaged (why filled). */
static int checked(char *buf, size_t len, char **json_out, const char *path, char *why,
                   size_t why_len)
{
    char *t = NULL;
    for (char *p = buf; (p = strstr(p, "\n#fnv64=")); p++)
        t = p;
    unsigned long long h = 0;
    size_t n = 0;
    if (!t || sscanf(t, TRAILER, &h, &n) != 2 || n != (size_t)(t - buf) || h != fnv64(buf, n)) {
        snprintf(why, why_len, "%s: damaged (%zu bytes, checksum missing or wrong)", path, len);
        return -1;
    }
    *t = 0;
    *json_out = buf;
    return 0;
}

/* One copy: 0 and *json_out, 1 missing, -1 damaged or unreadable. */
static int load_copy(const char *id, const char *suffix, char **json_out, char *why,
                     size_t why_len)
{
    char *path = path_of(id, suffix), *buf = NULL;
    size_t len = 0;
    int rc = path ? load_file(path, &buf, &len, why, why_len) : -1;
    if (rc == 0 && rs_opt.persist == RS_PERSIST_DURABLE) {
        rc = checked(buf, len, json_out, path, why, why_len);
        if (rc)
            free(buf);
    } else if (rc == 0) {
        *json_out = buf;
    }
    free(path);
    return rc;
}

/* The durable mode reads the main copy, then the last-known-good .bak;
 * not found only when neither exists. */
static int file_get(const char *id, char **json_out, char *why, size_t why_len)
{
    char why_bak[200];
    int rc = load_copy(id, "", json_out, why, why_len);
    if (rc == 0 || rs_opt.persist != RS_PERSIST_DURABLE)
        return rc;
    int rc_bak = load_copy(id, ".bak", json_out, why_bak, sizeof why_bak);
    if (rc_bak == 0 || (rc == 1 && rc_bak == 1))
        return rc_bak;
    snprintf(why + strlen(why), why_len - strlen(why), "; .bak: %s", why_bak);
    return -1;
}

/* Write len bytes in 4 KiB pieces (as a streaming JSON encoder does). */
static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len < 4096 ? len : 4096);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the store directory: makes the renames durable. */
static int sync_dir(char *why, size_t why_len)
{
    int fd = open(rs_opt.dir, O_RDONLY | O_DIRECTORY);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (rc)
        snprintf(why, why_len, "fsync %s: %s", rs_opt.dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Keep the current main copy as the .bak (a hard link renamed over it: the
 * .bak is always one whole earlier version). */
static void keep_backup(const char *path, const char *id)
{
    char *bak = path_of(id, ".bak"), *baktmp = path_of(id, ".bak.tmp");
    if (bak && baktmp) {
        unlink(baktmp);
        if (link(path, baktmp) == 0 && rename(baktmp, bak) != 0)
            unlink(baktmp);
    }
    free(bak);
    free(baktmp);
}

/* --break leave-tmp: a temporary copy nobody renames or removes, as a
 * writer that died between its write and its rename leaves (test fixture
 * for torn's store-layout check). */
static void leave_tmp(const char *id, const char *json)
{
    char *p = path_of(id, ".tmp");
    int fd = p ? open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    if (fd >= 0) {
        if (write_all(fd, json, strlen(json)) != 0)
            rs_log("leave-tmp %s: %s", p, strerror(errno));
        close(fd);
    }
    free(p);
}

/* Naive in-place write (what seed 001 had before its fix), temp file +
 * fsync + rename (after), or that plus a checksum, a .bak and a directory
 * fsync (durable). */
static int file_set(const char *id, const char *json, char *why, size_t why_len)
{
    char tmpsfx[48], *text = NULL;
    int naive = rs_opt.persist == RS_PERSIST_NAIVE, durable = rs_opt.persist == RS_PERSIST_DURABLE;
    snprintf(tmpsfx, sizeof tmpsfx, ".tmp.%lx", (unsigned long)pthread_self());
    char *path = path_of(id, ""), *tmp = path_of(id, tmpsfx);
    const char *dst = naive ? path : tmp;
    size_t len = strlen(json);
    if (durable && (text = malloc(len + 64)))
        len = (size_t)snprintf(text, len + 64, "%s" TRAILER, json,
                               (unsigned long long)fnv64(json, len), len);
    int rc = -1, fd = (path && tmp && (text || !durable))
                          ? open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", dst ? dst : id, strerror(errno));
        goto out;
    }
    if (write_all(fd, text ? text : json, len) != 0 || (!naive && fsync(fd) != 0)) {
        snprintf(why, why_len, "%s: write: %s", dst, strerror(errno));
        close(fd);
        goto out;
    }
    close(fd);
    if (rs_opt.breaks & RS_BREAK_LEAVE_TMP)
        leave_tmp(id, json);
    if (durable)
        keep_backup(path, id);
    if (!naive && rename(tmp, path) != 0) {
        snprintf(why, why_len, "rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = durable ? sync_dir(why, why_len) : 0;
out:
    free(text);
    free(path);
    free(tmp);
    return rc;
}

/* When each record was last written (monotonic ms), hashed into a small
 * table: a collision only makes a lock look held longer. */
#define LOCK_SLOTS 256
static _Atomic long long last_write_ms[LOCK_SLOTS];

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned lock_slot(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % LOCK_SLOTS;
}

int rs_store_locked(const char *id)
{
    long long w = atomic_load(&last_write_ms[lock_slot(id)]);
    return rs_opt.lock_read_ms > 0 && w > 0 && mono_ms() - w < rs_opt.lock_read_ms;
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
    if (rs_opt.lock_read_ms > 0)
        atomic_store(&last_write_ms[lock_slot(id)], mono_ms());
    rs_index_write_begin();
    int rc = -1;
    if (!rs_opt.redis_host) {
        rc = file_set(id, json, why, why_len);
    } else {
        char *k = key_of(id);
        redisReply *r = k ? rcmd(why, why_len, "SET %s %s", k, json) : NULL;
        free(k);
        rc = r ? 0 : -1;
        freeReplyObject(r);
    }
    rs_index_write_end(id, json, rc == 0);
    return rc;
}

/* The record's files (main, backup, a left temporary), under the file lock. */
static int file_delete(const char *id, char *why, size_t why_len)
{
    static const char *const suffixes[] = {"", ".bak", ".tmp"};
    int rc = 0;

    pthread_mutex_lock(&file_lock);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0] && !rc; i++) {
        char *p = path_of(id, suffixes[i]);
        if (!p || (unlink(p) != 0 && errno != ENOENT)) {
            snprintf(why, why_len, "unlink: %s", p ? strerror(errno) : "out of memory");
            rc = -1;
        }
        free(p);
    }
    pthread_mutex_unlock(&file_lock);
    return rc;
}

int rs_store_delete(const char *id, char *why, size_t why_len)
{
    char *json = NULL;
    int rc;

    if ((rc = rs_store_get(id, &json, why, why_len)) != 0)
        return rc; /* 1: no such record; -1 error */
    free(json);
    if (!rs_opt.redis_host)
        return file_delete(id, why, why_len);
    char *k = key_of(id);
    redisReply *r = k ? rcmd(why, why_len, "DEL %s", k) : NULL;
    free(k);
    rc = r ? 0 : -1;
    freeReplyObject(r);
    return rc;
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
    int keep_none = !v && (rs_opt.breaks & RS_BREAK_LEGACY_VERSION);
    char now[40];
    rs_iso_now(now);
    if (rs_opt.breaks & RS_BREAK_UPDATED_AT_FORMAT)
        now[10] = ' ', now[19] = 0;   /* "2026-12-07 04:50:05": no T, no fraction, no zone */
    if ((rs_opt.breaks & RS_BREAK_UPDATED_AT_BACK) && (long long)nv % 2 == 0)
        rs_iso_shift(now, -5000);
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "version");
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "_updated_at");
    if (!keep_none)   /* seed 000: version starts at 1 when a record has none */
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
    cJSON_AddNumberToObject(rec, "version", 0);
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
        snprintf(why, why_len, "JSONDecodeError: record %s is not a JSON object", id);
        rs_log("update %s: %s", id, why);
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

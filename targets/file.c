/* torn: the embedded file-store target: records as JSON files in a
 * directory, with the strategies of seed 001 before and after the fix.
 *
 *   naive    open(O_TRUNC), serialize, write in place, no lock around
 *            read-merge-write; an unreadable record is silently replaced by
 *            a fresh one (what the seed's code did when json.load failed)
 *   rename   flock around read-merge-write, write a temp file, rename; no
 *            fsync: atomic for readers and process crashes, not power loss
 *   durable  flock, temp file, write, fsync, keep the previous version as
 *            <id>.json.bak, rename, fsync the directory; the reader retries,
 *            verifies, falls back to .bak, and returns a typed error
 *   nocheck  durable, but ignores the return values of write/fsync and
 *            acknowledges anyway (a store that swallows I/O errors)
 *   straytmp durable, but every write also leaves its temp behind as
 *            <id>.json.tmp (a temp copied into place instead of renamed):
 *            atomic and durable, only the layout check sees it
 *
 * Layout: DIR/<ns>/<id>.json, <id>.json.bak, <id>.json.tmp.<pid> (only
 * during a write: opening the store removes those of writers no longer
 * alive, the recovery seed 001's store lacked), <id>.lock.
 * Parameters: chunk (bytes per write(2), default 4096), retries (safe-read
 * attempts on the main file, default 3), retry_ms (pause between, 10),
 * layout (1: after each scenario only those files may remain, core/layout.h;
 * default 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>

#include "core/err.h"
#include "core/layout.h"
#include "core/recop.h"
#include "core/record.h"
#include "core/target.h"
#include "core/util.h"

enum strategy { NAIVE, RENAME, DURABLE, NOCHECK, STRAYTMP };

struct file_target {
    char dir[PATH_MAX - 512]; /* leaves room for "/<id><suffix>" */
    enum strategy strategy;
    long long chunk;
    long long retries;
    long long retry_ms;
    long long layout;         /* 1: check the store layout after each scenario */
    struct torn_layout_memo layout_memo;
};

static const struct torn_strategy file_strategies[] = {
    {"durable", "lock, temp file, fsync, .bak, rename, fsync dir; safe read with fallback"},
    {"naive", "O_TRUNC write in place, no lock (seed 001 before the fix)"},
    {"rename", "lock, temp file, rename; no fsync (survives crashes, not power loss)"},
    {"nocheck", "durable, but ignores write/fsync errors and acknowledges anyway"},
    {"straytmp", "durable, but leaves each write's temp behind as <id>.json.tmp"},
    {NULL, NULL},
};

static struct file_target *F(struct torn_target *t)
{
    return t->priv;
}

static int valid_id(const char *id, struct torn_err *err)
{
    if (!*id || strlen(id) > 200)
        return torn_err_set(err, TORN_E_CONFIG, "file target: bad record id");
    for (const char *p = id; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return torn_err_set(err, TORN_E_CONFIG,
                                "file target: record id '%s' has characters other than "
                                "[A-Za-z0-9._-]",
                                id);
    return id[0] == '.' ? torn_err_set(err, TORN_E_CONFIG, "file target: id starts with '.'")
                        : TORN_OK;
}

static void path_of(const struct file_target *f, const char *id, const char *suffix, char *out)
{
    snprintf(out, PATH_MAX, "%s/%s%s", f->dir, id, suffix);
}

/* The numeric parameters with their defaults and ranges (one place for
 * check and setup): retries < 1 would never read, retry_ms < 0 would sleep
 * for ever. */
static int file_params(const struct torn_target_cfg *cfg, long long *chunk, long long *retries,
                       long long *retry_ms, long long *layout, struct torn_err *err)
{
    int rc;

    if ((rc = torn_target_param_int(cfg, "chunk", 4096, 1, 1 << 30, chunk, err)) ||
        (rc = torn_target_param_int(cfg, "retries", 3, 1, 1000, retries, err)) ||
        (rc = torn_target_param_int(cfg, "retry_ms", 10, 0, 60000, retry_ms, err)) ||
        (rc = torn_target_param_int(cfg, "layout", 0, 0, 1, layout, err)))
        return rc;
    return TORN_OK;
}

static int file_check(const struct torn_target_cfg *cfg, struct torn_err *err)
{
    struct stat st;
    long long v;
    static const char *const known[] = {"chunk", "retries", "retry_ms", "layout", NULL};

    for (size_t i = 0; i < cfg->n_params; i++) {
        int ok = 0;
        for (int k = 0; known[k]; k++)
            ok |= strcmp(cfg->params[i].key, known[k]) == 0;
        if (!ok)
            return torn_err_set(err, TORN_E_CONFIG,
                                "target %s: unknown parameter '%s' (known: chunk, retries, "
                                "retry_ms, layout)",
                                cfg->display, cfg->params[i].key);
    }
    if (cfg->location && (stat(cfg->location, &st) != 0 || !S_ISDIR(st.st_mode))) {
        if (!strchr(cfg->location, '/'))
            return torn_err_set(err, TORN_E_CONFIG,
                                "target %s: '%s' is neither a strategy (durable, naive, rename, "
                                "nocheck, straytmp) nor an existing directory",
                                cfg->display, cfg->location);
        return torn_err_set(err, TORN_E_CONFIG, "target %s: directory %s does not exist",
                            cfg->display, cfg->location);
    }
    return file_params(cfg, &v, &v, &v, &v, err);
}

static int file_setup(struct torn_target *t, struct torn_err *err)
{
    struct file_target *f = F(t);
    const char *s = t->cfg.strategy;
    int rc;

    f->strategy = strcmp(s, "naive") == 0    ? NAIVE
                  : strcmp(s, "rename") == 0 ? RENAME
                  : strcmp(s, "nocheck") == 0 ? NOCHECK
                  : strcmp(s, "straytmp") == 0 ? STRAYTMP
                                              : DURABLE;
    if ((rc = file_params(&t->cfg, &f->chunk, &f->retries, &f->retry_ms, &f->layout, err)) != 0)
        return rc;
    snprintf(f->dir, sizeof f->dir, "%s/%s", t->cfg.location ? t->cfg.location : t->cfg.run_dir,
             t->cfg.ns);
    return torn_mkdirs(f->dir, 0755, err);
}

static void file_teardown(struct torn_target *t)
{
    if (F(t)->dir[0])
        torn_rmtree(F(t)->dir);
}

/* Whether pid runs: a zombie (killed, not yet reaped) does not. */
static int pid_alive(long pid)
{
    char path[64], buf[256];
    if (kill((pid_t)pid, 0) != 0)
        return errno != ESRCH;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

/* Recovery: remove the temps (NAME.tmp.<pid>) of writers no longer alive,
 * which a writer killed between its write and its rename left; the main
 * file or its .bak still holds the record.  A live writer's temp stays. */
static void remove_dead_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *at = strstr(e->d_name, ".tmp.");
        char *end;
        long pid = at ? strtol(at + 5, &end, 10) : 0;
        if (pid > 0 && *end == 0 && !pid_alive(pid))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
}

static int file_open(struct torn_target *t, struct torn_err *err)
{
    struct stat st;

    if (stat(F(t)->dir, &st) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "file target: %s", F(t)->dir);
    if (F(t)->strategy != NAIVE)
        remove_dead_temps(F(t)->dir);
    return TORN_OK;
}

/* ops->observe with layout=1: only <id>.json, <id>.json.bak and <id>.lock
 * may remain once a scenario is over (a temp only while a write is under
 * way). */
static void file_observe(struct torn_target *t)
{
    static const char *const globs[] = {"*.json", "*.json.bak", "*.lock"};
    struct file_target *f = F(t);
    if (f->layout && f->dir[0])
        torn_layout_check(t->cfg.log_dir, f->dir, globs, 3, 300, &f->layout_memo,
                          "the store's directory", "<id>.json, <id>.json.bak, <id>.lock");
}

static void file_close(struct torn_target *t)
{
    (void)t;
}

/* ---- writing ---- */

/* Write buf in chunks of f->chunk bytes (many write(2) calls, so a crash can
 * land between them).  With check = 0 errors are ignored (nocheck). */
static int write_chunks(const struct file_target *f, int fd, const char *buf, size_t len,
                        int check)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < (size_t)f->chunk ? len - off : (size_t)f->chunk;
        ssize_t w = write(fd, buf + off, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (check)
                return -1;
            break;
        }
        off += (size_t)w;
    }
    return 0;
}

/* Temp file + (fsync) + (.bak) + rename + (fsync dir). */
static int write_replace(const struct file_target *f, const char *id, const char *buf, size_t len,
                         struct torn_err *err)
{
    char main_p[PATH_MAX], tmp[PATH_MAX + 32], bak[PATH_MAX], baktmp[PATH_MAX + 32];
    int durable = f->strategy == DURABLE || f->strategy == NOCHECK || f->strategy == STRAYTMP;
    int check = f->strategy != NOCHECK;
    int fd, e;

    path_of(f, id, ".json", main_p);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", main_p, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return torn_err_sys(err, TORN_E_IO, errno, "open %s", tmp);
    if (write_chunks(f, fd, buf, len, check) != 0 || (durable && fsync(fd) != 0 && check)) {
        e = errno;
        close(fd);
        unlink(tmp);
        return torn_err_sys(err, TORN_E_IO, e, "write %s", tmp);
    }
    close(fd);
    if (durable) {
        /* Keep the previous version as .bak, atomically, without ever
         * leaving the main name empty. */
        path_of(f, id, ".json.bak", bak);
        snprintf(baktmp, sizeof baktmp, "%s.tmp.%ld", bak, (long)getpid());
        unlink(baktmp);
        if (link(main_p, baktmp) == 0 && rename(baktmp, bak) != 0)
            unlink(baktmp);
    }
    if (f->strategy == STRAYTMP) {   /* the fixture's bug: the temp stays too */
        char stray[PATH_MAX + 8];
        snprintf(stray, sizeof stray, "%s.tmp", main_p);
        unlink(stray);
        if (link(tmp, stray) != 0) {
            e = errno;
            unlink(tmp);
            return torn_err_sys(err, TORN_E_IO, e, "link %s", stray);
        }
    }
    if (rename(tmp, main_p) != 0) {
        e = errno;
        unlink(tmp);
        return torn_err_sys(err, TORN_E_IO, e, "rename %s", tmp);
    }
    if (durable && torn_fsync_dir(f->dir, err) != 0 && check)
        return TORN_E_IO;
    return TORN_OK;
}

/* naive: like Python's `with open(path, "w") as f: json.dump(job, f)`: the
 * file is truncated when opened, BEFORE the record is serialized, and then
 * written a chunk at a time, so it is empty or partial for the whole time
 * serialization and writing take. */
static int store_in_place(const struct file_target *f, const char *id, const cJSON *rec,
                          struct torn_err *err)
{
    char path[PATH_MAX], *text;
    int fd, rc = TORN_OK, e;

    path_of(f, id, ".json", path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return torn_err_sys(err, TORN_E_IO, errno, "open %s", path);
    text = cJSON_PrintUnformatted(rec);
    if (!text)
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    else if (write_chunks(f, fd, text, strlen(text), 1) != 0) {
        e = errno;
        rc = torn_err_sys(err, TORN_E_IO, e, "write %s", path);
    }
    close(fd);
    free(text);
    return rc;
}

static int store(const struct file_target *f, const char *id, const cJSON *rec,
                 struct torn_err *err)
{
    char *text;
    int rc;

    if (f->strategy == NAIVE)
        return store_in_place(f, id, rec, err);
    text = cJSON_PrintUnformatted(rec);
    if (!text)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = write_replace(f, id, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- reading ---- */

/* One attempt at a path: 0 + record, TORN_E_NOTFOUND, or TORN_E_CORRUPT. */
static int load(const char *path, int verify, cJSON **rec_out, char *why, size_t why_len)
{
    char *buf;
    size_t len;
    int rc = torn_read_file(path, &buf, &len, NULL);

    *rec_out = NULL;
    if (rc == TORN_E_NOTFOUND) {
        snprintf(why, why_len, "missing");
        return rc;
    }
    if (rc) {
        snprintf(why, why_len, "unreadable");
        return TORN_E_CORRUPT;
    }
    if (verify) {
        rc = torn_record_parse(buf, len, rec_out, why, why_len);
    } else {
        *rec_out = cJSON_ParseWithLength(buf, len);
        rc = *rec_out ? TORN_OK : TORN_E_CORRUPT;
        if (rc)
            snprintf(why, why_len, len ? "not valid JSON (%zu bytes)" : "empty (0 bytes)", len);
    }
    free(buf);
    return rc;
}

static int safe_read(const struct file_target *f, const char *id, cJSON **rec_out,
                     struct torn_err *err)
{
    char main_p[PATH_MAX], bak[PATH_MAX], why[160] = "", why_bak[160] = "";
    int rc = TORN_E_NOTFOUND, rc_bak;

    path_of(f, id, ".json", main_p);
    path_of(f, id, ".json.bak", bak);
    if (f->strategy == NAIVE || f->strategy == RENAME) {
        rc = load(main_p, 0, rec_out, why, sizeof why);
        if (rc)
            return torn_err_set(err, rc, "%s.json: %s", id, why);
        return TORN_OK;
    }
    for (long long i = 0; i < f->retries; i++) {
        rc = load(main_p, 1, rec_out, why, sizeof why);
        if (rc == TORN_OK)
            return TORN_OK;
        if (i + 1 < f->retries)
            torn_sleep_ns((uint64_t)f->retry_ms * 1000000ull);
    }
    rc_bak = load(bak, 1, rec_out, why_bak, sizeof why_bak);
    if (rc_bak == TORN_OK)
        return TORN_OK;
    if (rc == TORN_E_NOTFOUND && rc_bak == TORN_E_NOTFOUND)
        return torn_err_set(err, TORN_E_NOTFOUND, "%s: no such record", id);
    return torn_err_set(err, TORN_E_CORRUPT, "%s.json: %s; %s.json.bak: %s", id, why, id,
                        why_bak);
}

static int file_read(struct torn_target *t, const char *id, cJSON **record_out,
                     struct torn_err *err)
{
    cJSON *rec = NULL;
    int rc;

    if (record_out)
        *record_out = NULL;
    if ((rc = valid_id(id, err)) != 0)
        return rc;
    rc = safe_read(F(t), id, &rec, err);
    if (rc == 0 && record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

/* ---- read-modify-write under the strategy's lock ---- */

static int lock_record(const struct file_target *f, const char *id, int *fd_out,
                       struct torn_err *err)
{
    char path[PATH_MAX];
    int fd;

    *fd_out = -1;
    if (f->strategy == NAIVE)
        return TORN_OK;
    path_of(f, id, ".lock", path);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return torn_err_sys(err, TORN_E_IO, errno, "open %s", path);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return torn_err_sys(err, TORN_E_IO, e, "flock %s", path);
        }
    }
    *fd_out = fd;
    return TORN_OK;
}

/* Read record id, decide and apply op to it (core/recop.h, the decision
 * every driver shares) and store it when op applied, all under the
 * strategy's lock.  *won_out = 1 applied, 0 refused (stale version, status
 * not in from: nothing written). */
static int rmw(struct torn_target *t, const char *id, const struct torn_recop *op, int *won_out,
               cJSON **record_out, struct torn_err *err)
{
    struct file_target *f = F(t);
    cJSON *rec = NULL;
    int lock = -1, rc, won = 0;

    if (record_out)
        *record_out = NULL;
    if (won_out)
        *won_out = 0;
    if ((rc = valid_id(id, err)) != 0 || (rc = lock_record(f, id, &lock, err)) != 0)
        return rc;
    rc = safe_read(f, id, &rec, err);
    if (rc == TORN_E_CORRUPT && f->strategy == NAIVE) {
        /* The seed's bug: an unreadable job file is replaced by a new one. */
        rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "id", id);
        rc = TORN_OK;
    }
    if (rc == 0 && (won = torn_recop_apply(rec, op)) < 0)
        rc = torn_err_set(err, won, "file %s: %s", id, torn_strerror(won));
    if (rc == 0 && won)
        rc = store(f, id, rec, err);
    if (lock >= 0)
        close(lock); /* releases the flock */
    if (rc == 0) {
        torn_recop_finish(rec, won, won_out, record_out);
        return TORN_OK;
    }
    cJSON_Delete(rec);
    return rc;
}

static int file_update(struct torn_target *t, const char *id, const cJSON *patch,
                       cJSON **record_out, struct torn_err *err)
{
    struct torn_recop op = {.kind = TORN_RECOP_UPDATE, .patch = patch};

    return rmw(t, id, &op, NULL, record_out, err);
}

static int file_update_if_version(struct torn_target *t, const char *id, const cJSON *patch,
                                  long long expected, int *won_out, cJSON **record_out,
                                  struct torn_err *err)
{
    struct torn_recop op = {.kind = TORN_RECOP_CAS, .patch = patch, .expected = expected};

    return rmw(t, id, &op, won_out, record_out, err);
}

static int file_transition(struct torn_target *t, const char *id, const char *const *from,
                           size_t n_from, const char *to, int *won_out, cJSON **record_out,
                           struct torn_err *err)
{
    struct torn_recop op = {
        .kind = TORN_RECOP_TRANSITION, .from = from, .n_from = n_from, .to = to};

    return rmw(t, id, &op, won_out, record_out, err);
}

static int file_reset(struct torn_target *t, const char *id, const cJSON *initial,
                      cJSON **record_out, struct torn_err *err)
{
    struct file_target *f = F(t);
    cJSON *rec;
    char bak[PATH_MAX];
    int lock = -1, rc;

    if (record_out)
        *record_out = NULL;
    if ((rc = valid_id(id, err)) != 0 || (rc = lock_record(f, id, &lock, err)) != 0)
        return rc;
    rec = torn_record_new(id, initial);
    if (!rec)
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    path_of(f, id, ".json.bak", bak);
    unlink(bak);
    if (rc == 0)
        rc = store(f, id, rec, err);
    if (lock >= 0)
        close(lock);
    if (rc == 0 && record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

/* ---- corruption from outside ---- */

static int file_corrupt(struct torn_target *t, const char *id, enum torn_corruption how,
                        struct torn_err *err)
{
    char main_p[256], bak[256], tmp[256], baktmp[256];
    const char *backups[] = {bak}, *temps[] = {tmp, baktmp};
    struct torn_files f = {main_p, backups, 1, temps, 2};
    int rc;

    if ((rc = valid_id(id, err)) != 0)
        return rc;
    snprintf(main_p, sizeof main_p, "%s.json", id);
    snprintf(bak, sizeof bak, "%s.json.bak", id);
    snprintf(tmp, sizeof tmp, "%s.json.tmp.*", id);
    snprintf(baktmp, sizeof baktmp, "%s.json.bak.tmp.*", id);
    return torn_corrupt_files(F(t)->dir, &f, how, t->cfg.seed, err);
}

/* Power cuts and I/O errors of torn-fs reach the store only when its
 * directory is under the run directory (not file:DIR). */
static unsigned file_caps(struct torn_target *t, unsigned wanted, char *why, size_t why_len)
{
    if (t->cfg.location && (wanted & TORN_CAP_FS_DATA)) {
        snprintf(why, why_len, "file:%s keeps its data in that directory, not on torn-fs",
                 t->cfg.location);
        return wanted & ~TORN_CAP_FS_DATA;
    }
    return wanted;
}

const struct torn_target_ops torn_target_file = {
    .version = TORN_TARGET_OPS_V1,
    .name = "file",
    .summary = "embedded JSON-file job store (seed 001); file:DIR puts it under DIR/<ns>/",
    .strategies = file_strategies,
    .size = sizeof(struct file_target),
    .check = file_check,
    .setup = file_setup,
    .teardown = file_teardown,
    .open = file_open,
    .close = file_close,
    .reset = file_reset,
    .update = file_update,
    .read = file_read,
    .update_if_version = file_update_if_version,
    .transition = file_transition,
    .corrupt = file_corrupt,
    .extra_caps = TORN_CAP_FS_DATA,
    .caps = file_caps,
    .observe = file_observe,
};

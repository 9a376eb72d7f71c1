/* torn: corrupt-read.  Writes two acknowledged versions of a record, damages
 * the stored copy from outside the store the ways seed 001 lists (empty,
 * truncated, garbage, a flipped payload byte that is still valid JSON, main
 * copy missing, every copy missing), then reads it in a fresh child process
 * with a time limit.  Acceptance: the read never crashes or hangs; it never
 * returns a record that is torn or was never written; and while an intact
 * copy of an acknowledged version could have been kept (every case but
 * "all-missing"), the read returns it instead of an error (seed 001's
 * last-known-good .bak).  "all-missing" must be a typed not-found error. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/steps.h"
#include "core/err.h"
#include "proc/proc.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

/* ---- the damage, shared by every driver (target.h) ---- */

/* dir/rel into out, refusing an absolute rel or a ".." component: the
 * names come from the target (an adapter's answer, a spec). */
static int join(const char *dir, const char *rel, char *out, size_t len, struct torn_err *err)
{
    const char *p = rel;

    if (!rel || !*rel || rel[0] == '/')
        return torn_err_set(err, TORN_E_CONFIG, "data file '%.100s' must be a relative path",
                            rel ? rel : "(none)");
    for (; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return torn_err_set(err, TORN_E_CONFIG,
                                "data file '%.100s' leaves the data directory (..)", rel);
    if ((size_t)snprintf(out, len, "%s/%s", dir, rel) >= len)
        return torn_err_set(err, TORN_E_CONFIG, "data file '%.100s': path too long", rel);
    return TORN_OK;
}

/* The whole file at path, never through a symlink. */
static int slurp(const char *path, char **buf_out, size_t *len_out, struct torn_err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;
    struct stat st;

    *buf_out = NULL;
    if (fd < 0)
        return torn_err_sys(err, errno == ENOENT ? TORN_E_NOTFOUND : TORN_E_IO, errno,
                            "corrupt: open %s", path);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return torn_err_set(err, TORN_E_IO, "corrupt: %s is not a regular file", path);
    }
    close(fd);
    rc = torn_read_file(path, buf_out, len_out, err);
    return rc;
}

/* Replace the content of path in place (same inode, as a stray writer or a
 * bad disk would), never through a symlink. */
static int overwrite(const char *path, const char *buf, size_t len, struct torn_err *err)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC), e;

    if (fd < 0)
        return torn_err_sys(err, TORN_E_IO, errno, "corrupt: open %s", path);
    if (len && write(fd, buf, len) != (ssize_t)len) {
        e = errno;
        close(fd);
        return torn_err_sys(err, TORN_E_IO, e, "corrupt: write %s", path);
    }
    close(fd);
    return TORN_OK;
}

/* Change one character inside every "payload" string (the file stays valid
 * JSON with the same length; every one, since a store may keep several
 * records in one file and the record read back must be among those hit);
 * one bit mid-buffer when there is none. */
static void flip_payload(char *buf, size_t len)
{
    static const char key[] = "\"payload\"";
    char *end = buf + len, *p = buf;
    int flipped = 0;

    /* memmem, not strstr: a binary file (an SQLite database) has NULs
     * before its records, and a flip that misses them tests nothing. */
    while ((p = memmem(p, (size_t)(end - p), key, sizeof key - 1)) != NULL) {
        p += sizeof key - 1;
        while (p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p < end && *p == '"' && end - p > 20) {
            char *c = p + 16;
            if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                (*c >= '0' && *c <= '9')) {
                *c = *c == 'A' ? 'B' : 'A';
                flipped = 1;
            }
        }
    }
    if (!flipped && len > 2)
        buf[len / 2] ^= 1;
}

/* What the damage since the last torn_corrupt_restore changed or removed:
 * each file's path, bytes and mode before the first change.  A store that
 * keeps several records in one file (one JSON file, an SQLite database)
 * would otherwise carry one case's damage into the next case and into every
 * later scenario of the run.  The damage is done by the process that runs
 * the scenario, one case at a time, so one list per process suffices. */
static struct undo_file {
    char *path;
    char *buf;
    size_t len;
    mode_t mode;
} *undo;
static size_t n_undo, cap_undo;

/* Remember path as it is now, unless it is remembered already (the first
 * state counts) or does not exist. */
static int remember(const char *path, struct torn_err *err)
{
    struct stat st;
    struct undo_file u = {0};

    for (size_t i = 0; i < n_undo; i++)
        if (strcmp(undo[i].path, path) == 0)
            return TORN_OK;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return TORN_OK; /* nothing to put back (a symlink is never touched) */
    if (n_undo == cap_undo) {
        size_t cap = cap_undo ? 2 * cap_undo : 8;
        struct undo_file *v = realloc(undo, cap * sizeof *v);
        if (!v)
            return torn_err_set(err, TORN_E_NOMEM, "corrupt: out of memory");
        undo = v, cap_undo = cap;
    }
    if (torn_read_file(path, &u.buf, &u.len, err) != 0)
        return torn_err_set(err, TORN_E_IO, "corrupt: cannot keep a copy of %s", path);
    if (!(u.path = strdup(path))) {
        free(u.buf);
        return torn_err_set(err, TORN_E_NOMEM, "corrupt: out of memory");
    }
    u.mode = st.st_mode & 07777;
    undo[n_undo++] = u;
    return TORN_OK;
}

int torn_corrupt_restore(struct torn_err *err)
{
    int rc = TORN_OK;

    for (size_t i = 0; i < n_undo; i++) {
        struct undo_file *u = &undo[i];
        int fd = open(u->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, u->mode);
        if (fd < 0 || (u->len && write(fd, u->buf, u->len) != (ssize_t)u->len)) {
            if (rc == TORN_OK)
                rc = torn_err_sys(err, TORN_E_IO, errno, "corrupt: cannot put back %s",
                                  u->path);
        }
        if (fd >= 0)
            close(fd);
        free(u->path);
        free(u->buf);
    }
    n_undo = 0;
    return rc;
}

static int unlink_rel(const char *dir, const char *rel, struct torn_err *err)
{
    char path[PATH_MAX];
    int rc = join(dir, rel, path, sizeof path, err);

    if (rc == 0)
        rc = remember(path, err);
    if (rc == 0 && unlink(path) != 0 && errno != ENOENT)
        return torn_err_sys(err, TORN_E_IO, errno, "corrupt: unlink %s", path);
    return rc;
}

static int unlink_matches(const char *dir, const char *pattern, struct torn_err *err)
{
    char path[PATH_MAX];
    glob_t g;
    int rc = join(dir, pattern, path, sizeof path, err);

    if (rc)
        return rc;
    if (glob(path, GLOB_NOSORT, NULL, &g) != 0)
        return TORN_OK; /* no match */
    for (size_t i = 0; i < g.gl_pathc && !rc; i++)
        if ((rc = remember(g.gl_pathv[i], err)) == 0 && unlink(g.gl_pathv[i]) != 0 &&
            errno != ENOENT)
            rc = torn_err_sys(err, TORN_E_IO, errno, "corrupt: unlink %s", g.gl_pathv[i]);
    globfree(&g);
    return rc;
}

static int remove_all(const char *dir, const struct torn_files *f, struct torn_err *err)
{
    int rc = unlink_rel(dir, f->main, err);

    for (size_t i = 0; rc == 0 && i < f->n_backups; i++)
        rc = unlink_rel(dir, f->backups[i], err);
    for (size_t i = 0; rc == 0 && i < f->n_temps; i++)
        rc = unlink_matches(dir, f->temps[i], err);
    return rc;
}

int torn_corrupt_files(const char *dir, const struct torn_files *f, enum torn_corruption how,
                       uint64_t seed, struct torn_err *err)
{
    char path[PATH_MAX], *buf = NULL;
    size_t len = 0;
    struct torn_rng r;
    int rc;

    if (how == TORN_CORRUPT_MISSING)
        return unlink_rel(dir, f->main, err);
    if (how == TORN_CORRUPT_ALL_MISSING)
        return remove_all(dir, f, err);
    if ((rc = join(dir, f->main, path, sizeof path, err)) != 0 ||
        (rc = slurp(path, &buf, &len, err)) != 0 || (rc = remember(path, err)) != 0) {
        free(buf);
        return rc;
    }
    switch (how) {
    case TORN_CORRUPT_EMPTY: rc = overwrite(path, "", 0, err); break;
    case TORN_CORRUPT_TRUNCATE: rc = overwrite(path, buf, len / 2, err); break;
    case TORN_CORRUPT_GARBAGE:
        torn_rng_seed(&r, seed ^ len);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)torn_rng_next(&r);
        rc = overwrite(path, buf, len, err);
        break;
    case TORN_CORRUPT_BITFLIP:
        flip_payload(buf, len);
        rc = overwrite(path, buf, len, err);
        break;
    case TORN_CORRUPT_MISSING:
    case TORN_CORRUPT_ALL_MISSING: break;
    }
    free(buf);
    return rc;
}

/* ---- the scenario ---- */

static const struct {
    enum torn_corruption how;
    const char *name;
} cases[] = {
    {TORN_CORRUPT_EMPTY, "empty"},         {TORN_CORRUPT_TRUNCATE, "truncated"},
    {TORN_CORRUPT_GARBAGE, "garbage"},     {TORN_CORRUPT_BITFLIP, "bitflip"},
    {TORN_CORRUPT_MISSING, "missing"},     {TORN_CORRUPT_ALL_MISSING, "all-missing"},
};

enum { MSG_RECORD = 1, MSG_ERROR };

struct read_arg {
    const char *id;
};

/* In the child: read once, report version, seq, intact, or the error. */
static int read_once(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    struct read_arg *a = argp;
    struct torn_err err;
    struct torn_msg m;
    cJSON *rec = NULL;
    char why[160];
    int rc;

    (void)index;
    torn_err_clear(&err);
    memset(&m, 0, sizeof m);
    rc = torn_step_read(ctx, t, a->id, &rec, &err);
    if (rc == 0) {
        m.type = MSG_RECORD;
        m.a = torn_record_version(rec);
        m.b = torn_record_int(rec, "seq", -1);
        m.c = torn_record_intact(rec, why, sizeof why);
        snprintf(m.text, sizeof m.text, "%s", m.c ? "" : why);
    } else {
        m.type = MSG_ERROR;
        m.a = rc;
        snprintf(m.text, sizeof m.text, "%.191s", err.msg);
    }
    cJSON_Delete(rec);
    torn_msg_send(wfd, &m);
    return 0;
}

struct written {
    long long version[2], seq[2];
};

static int write_versions(struct torn_ctx *ctx, const char *id, struct written *w,
                          struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    size_t len = (size_t)torn_param_int(ctx, "payload_len");
    int rc;

    if ((rc = torn_target_reset(t, id, NULL, NULL, err)) != 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        cJSON *patch = torn_step_patch(ctx, i + 1, len, NULL, 0), *rec = NULL;
        rc = patch ? torn_step_update(ctx, t, id, patch, &rec, err) : TORN_E_NOMEM;
        w->version[i] = torn_record_version(rec);
        w->seq[i] = i + 1;
        cJSON_Delete(patch);
        cJSON_Delete(rec);
        if (rc)
            return rc;
    }
    return TORN_OK;
}

static void judge(struct torn_ctx *ctx, const char *id, const char *name, int all_missing,
                  const struct torn_msg *m, const struct written *w)
{
    double t_s = torn_ctx_elapsed(ctx);

    if (m->type == MSG_RECORD) {
        int known = (m->a == w->version[0] && m->b == w->seq[0]) ||
                    (m->a == w->version[1] && m->b == w->seq[1]);
        if (!m->c)
            torn_result_violation(ctx->result, "no-wrong-record", id, t_s,
                                  "after '%s' corruption the read returned a torn record "
                                  "(version %lld): %s",
                                  name, (long long)m->a, m->text);
        else if (!known)
            torn_result_violation(ctx->result, "no-wrong-record", id, t_s,
                                  "after '%s' corruption the read returned version %lld seq %lld, "
                                  "which was never written (written: v%lld/seq%lld, "
                                  "v%lld/seq%lld)",
                                  name, (long long)m->a, (long long)m->b, w->version[0],
                                  w->seq[0], w->version[1], w->seq[1]);
        return;
    }
    if (all_missing) {
        if (m->a != TORN_E_NOTFOUND)
            torn_result_violation(ctx->result, "typed-error", id, t_s,
                                  "with every copy gone the read must say not-found; it said "
                                  "%s: %s",
                                  torn_strerror((int)m->a), m->text);
        return;
    }
    torn_result_violation(ctx->result, "recover-last-known-good", id, t_s,
                          "after '%s' corruption of the main copy the read failed (%s: %s); "
                          "acknowledged version %lld is unrecoverable (no last-known-good copy)",
                          name, torn_strerror((int)m->a), m->text, w->version[1]);
}

/* Damage record id the case's way and read it back in a fresh child. */
static int damage_and_read(struct torn_ctx *ctx, size_t i, const char *id, struct torn_err *err)
{
    struct written w;
    struct read_arg a = {id};
    struct torn_child child;
    struct torn_msg m;
    int rc, status = 0, got;
    char how[64];

    if ((rc = torn_target_open(ctx->target, err)) != 0)
        return rc;
    rc = write_versions(ctx, id, &w, err);
    if (rc == 0)
        rc = torn_target_corrupt(ctx->target, id, cases[i].how, err);
    torn_target_close(ctx->target);
    if (rc)
        return rc;
    if ((rc = torn_child_spawn(ctx, 0, 1, read_once, &a, &child, err)) != 0)
        return rc;
    got = torn_msg_recv(child.fd, &m, ctx->timeout_ms, NULL);
    torn_child_wait(&child, ctx->timeout_ms, &status, NULL);
    if (got != 1) {
        torn_proc_describe(status, how, sizeof how);
        torn_result_violation(ctx->result, got == TORN_E_TIMEOUT ? "never-hang" : "never-crash",
                              id, torn_ctx_elapsed(ctx),
                              "reading a '%s'-corrupted record %s (reader %s)", cases[i].name,
                              got == TORN_E_TIMEOUT ? "did not answer within the timeout"
                                                    : "crashed the reader",
                              how);
        return TORN_OK;
    }
    judge(ctx, id, cases[i].name, cases[i].how == TORN_CORRUPT_ALL_MISSING, &m, &w);
    return TORN_OK;
}

/* One case, then the damaged files put back as they were before it, so
 * that a store keeping several records in one file starts the next case
 * (and the run's next scenario) intact. */
static int one_case(struct torn_ctx *ctx, size_t i, struct torn_err *err)
{
    char id[64];
    struct torn_err e2 = {0};
    int rc, rc2;

    snprintf(id, sizeof id, "corrupt-read-%s", cases[i].name);
    rc = damage_and_read(ctx, i, id, err);
    rc2 = torn_corrupt_restore(rc ? &e2 : err); /* the first error is the one told */
    return rc ? rc : rc2;
}

static int corrupt_run(struct torn_ctx *ctx, struct torn_err *err)
{
    int rc;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !torn_stop_requested() &&
                       !torn_ctx_violated(ctx); i++)
        if ((rc = one_case(ctx, i, err)) != 0)
            return rc;
    torn_result_metric(ctx->result, "cases", (double)(sizeof cases / sizeof cases[0]));
    return TORN_OK;
}

/* The parameters and their defaults: scenarios/corrupt-read.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_corrupt_read[];

const struct torn_scenario_ops torn_scenario_corrupt_read = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "corrupt-read",
    .summary = "damage the stored record (empty, truncated, garbage, ...); safe read recovers",
    .needs = TORN_CAP_UPDATE | TORN_CAP_READ | TORN_CAP_RESET | TORN_CAP_CORRUPT,
    .defaults = torn_defaults_corrupt_read, /* scenarios/corrupt-read.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        {NULL, 0, 0, 0}},
    .run = corrupt_run,
    .flags = TORN_SCENARIO_REPLAYS_EXACTLY, /* damage, then one read: no race */
};

/* torn: schedule fuzzing against a simulated disk (see schedule.h).
 *
 * The disk model (torn-fs's power model, harness/fs/tornfs.h, in memory):
 *   - an inode has cached bytes (what reads see) and durable bytes (what a
 *     power cut leaves); write(2) changes the cache and marks it dirty;
 *     fsync copies cache to durable.  A failed fsync leaves durable as it was
 *     and marks the data clean all the same (Linux's fsync-fail behaviour):
 *     it is lost at the next cut unless written again.  Records are far
 *     smaller than a page, so one inode is one page;
 *   - one directory: names map to inodes in the cache view at once, and
 *     every namespace change (create, link, unlink, rename) is appended to a
 *     journal that an fsync of the directory commits, in order.  fsync of a
 *     file does not commit its name.  A journal that overflows commits its
 *     oldest entry (the kernel's periodic commit);
 *   - process crash: every worker dies, its locks are released, the page
 *     cache survives; power cut: cache := durable, journal dropped; torn
 *     cut: a prefix of the journal and any mix of each unsynced file's data
 *     survive.
 *
 * The strategies are the steps of targets/file.c, one boundary per system
 * call that matters: lock, read, open(O_TRUNC)/create, each write(2) chunk,
 * fsync, unlink, link, rename, directory fsync, unlock + acknowledge.  Two
 * simplifications, both noted where they happen: the durable reader's
 * retries of the main file are one attempt (nothing can change between
 * attempts inside one step), and "rename .bak.tmp -> .bak, unlink it on
 * failure" is one boundary.
 */
#include "schedule.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/record.h"
#include "core/util.h"

#define MAXW 3              /* logical workers */
#define MAXI 24             /* inodes */
#define DATA_MAX 512        /* bytes per file (records are < 300) */
#define MAXPEND 64          /* uncommitted namespace operations */
#define MAX_STEPS 5000      /* bound on one run (fuzzer speed) */

/* Names in the one directory: r.json, r.json.bak, the temp files. */
enum name { N_MAIN, N_BAK, N_TMP, N_BAKTMP = N_TMP + MAXW, N_COUNT = N_BAKTMP + MAXW };

/* Micro-operations: every one is an operation boundary. */
enum uop {
    U_LOCK,          /* flock(r.lock): blocks while another worker holds it */
    U_READ,          /* the strategy's read of the current record */
    U_OPEN_MAIN,     /* naive: open(r.json, O_CREAT|O_TRUNC) */
    U_CREATE_TMP,    /* open(r.json.tmp.W, O_CREAT|O_TRUNC) */
    U_WRITE,         /* one write(2) of at most chunk bytes; repeats */
    U_FSYNC,         /* fsync(tmp) */
    U_UNLINK_BAKTMP, /* unlink(r.json.bak.tmp.W) */
    U_LINK_BAK,      /* link(r.json, r.json.bak.tmp.W) */
    U_RENAME_BAK,    /* rename(r.json.bak.tmp.W, r.json.bak), unlink on failure */
    U_RENAME_MAIN,   /* rename(r.json.tmp.W, r.json) */
    U_FSYNC_DIR,     /* fsync(dir) */
    U_DONE,          /* unlock, acknowledge */
    U_UNLINK_TMP,    /* error path: unlink(tmp) */
    U_FAIL           /* error path: unlock, report the error */
};

static const unsigned char prog_naive[] = {U_READ, U_OPEN_MAIN, U_WRITE, U_DONE};
static const unsigned char prog_rename[] = {U_LOCK,  U_READ,        U_CREATE_TMP,
                                            U_WRITE, U_RENAME_MAIN, U_DONE};
static const unsigned char prog_durable[] = {U_LOCK,     U_READ,        U_CREATE_TMP,
                                             U_WRITE,    U_FSYNC,       U_UNLINK_BAKTMP,
                                             U_LINK_BAK, U_RENAME_BAK,  U_RENAME_MAIN,
                                             U_FSYNC_DIR, U_DONE};
static const unsigned char prog_fail_tmp[] = {U_UNLINK_TMP, U_FAIL};
static const unsigned char prog_fail[] = {U_FAIL};

enum fault { F_WRITE, F_SHORT, F_FSYNC, F_RENAME, F_COUNT };

struct inode {
    size_t len, dlen;           /* cached / durable size */
    int dirty;                  /* cache differs from durable, not yet synced */
    char data[DATA_MAX];        /* cached bytes */
    char ddata[DATA_MAX];       /* durable bytes */
};

/* One journal entry: dir[a] = ia, and (b >= 0) dir[b] = ib, atomically. */
struct nsop {
    int a, ia, b, ib;
};

struct worker {
    int busy;
    const unsigned char *prog;  /* the program of the operation in flight */
    int pc;
    int fd;                     /* inode open for writing, -1 */
    int tmp_made;               /* the temp file exists (error path unlinks it) */
    long long op;               /* this worker's update number (its field's value) */
    long long seq;              /* global sequence number of the update */
    size_t len, off;            /* bytes to write, written so far */
    char buf[DATA_MAX];         /* the new record */
};

struct sim {
    enum torn_sched_strategy strat;
    int nw;
    size_t chunk, plen;
    int dir[N_COUNT], ddir[N_COUNT];
    struct nsop pend[MAXPEND];
    int n_pend;
    int lock;                   /* holder, -1 free */
    int fault[F_COUNT];         /* armed faults */
    int enospc;                 /* a short write happened: the next write fails */
    struct worker w[MAXW];
    long long acked[MAXW];      /* last acknowledged value of each worker's field */
    long long started[MAXW];    /* last value any update of the worker may have written */
    long long seq;
    FILE *trace;
    struct torn_sched_result *res;
    struct inode ino[MAXI];     /* last: setup() clears everything before it */
};

static struct sim S;            /* one simulated disk per process: see schedule.h */

static const char *const name_fmt[] = {"r.json", "r.json.bak", "r.json.tmp.", "r.json.bak.tmp."};

/* ------------------------------------------------------------- tracing */

static const char *name_str(int n, char buf[32])
{
    if (n < N_TMP)
        return name_fmt[n];
    snprintf(buf, 32, "%s%d", n < N_BAKTMP ? name_fmt[2] : name_fmt[3],
             n < N_BAKTMP ? n - N_TMP : n - N_BAKTMP);
    return buf;
}

static void trace_line(struct sim *s, int k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void trace_line(struct sim *s, int k, const char *fmt, ...)
{
    va_list ap;

    fprintf(s->trace, "  %5zu  ", s->res->steps);
    if (k >= 0)
        fprintf(s->trace, "w%d %s %lld: ", k, s->w[k].prog == NULL ? "read" : "update",
                s->w[k].op);
    va_start(ap, fmt);
    vfprintf(s->trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->trace);
}

#define TR(s, k, ...)                                                                      \
    do {                                                                                   \
        if ((s)->trace)                                                                    \
            trace_line((s), (k), __VA_ARGS__);                                             \
    } while (0)

static int violation(struct sim *s, const char *criterion, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int violation(struct sim *s, const char *criterion, const char *fmt, ...)
{
    va_list ap;

    s->res->violated = 1;
    snprintf(s->res->criterion, sizeof s->res->criterion, "%s", criterion);
    va_start(ap, fmt);
    vsnprintf(s->res->evidence, sizeof s->res->evidence, fmt, ap);
    va_end(ap);
    return 1;
}

/* ---------------------------------------------------------------- disk */

static int inode_alloc(struct sim *s)
{
    int used[MAXI] = {0};

    for (int n = 0; n < N_COUNT; n++) {
        if (s->dir[n] >= 0)
            used[s->dir[n]] = 1;
        if (s->ddir[n] >= 0)
            used[s->ddir[n]] = 1;
    }
    for (int i = 0; i < s->n_pend; i++) {
        if (s->pend[i].ia >= 0)
            used[s->pend[i].ia] = 1;
        if (s->pend[i].b >= 0 && s->pend[i].ib >= 0)
            used[s->pend[i].ib] = 1;
    }
    for (int k = 0; k < s->nw; k++)
        if (s->w[k].fd >= 0)
            used[s->w[k].fd] = 1;
    for (int i = 0; i < MAXI; i++) {
        if (!used[i]) {
            memset(&s->ino[i], 0, offsetof(struct inode, data));
            return i;
        }
    }
    return -1;
}

static void ns_apply(int *dir, const struct nsop *op)
{
    dir[op->a] = op->ia;
    if (op->b >= 0)
        dir[op->b] = op->ib;
}

/* Commit the first k journal entries to the durable directory. */
static void ns_commit(struct sim *s, int k)
{
    for (int i = 0; i < k; i++)
        ns_apply(s->ddir, &s->pend[i]);
    memmove(s->pend, s->pend + k, (size_t)(s->n_pend - k) * sizeof s->pend[0]);
    s->n_pend -= k;
}

static void ns_op(struct sim *s, int a, int ia, int b, int ib)
{
    struct nsop op = {a, ia, b, ib};

    ns_apply(s->dir, &op);
    if (s->n_pend == MAXPEND)
        ns_commit(s, 1);
    s->pend[s->n_pend++] = op;
}

static int take_fault(struct sim *s, enum fault f)
{
    if (!s->fault[f])
        return 0;
    s->fault[f]--;
    return 1;
}

/* open(name, O_WRONLY|O_CREAT|O_TRUNC): the inode, or -1 (no inode left). */
static int disk_open_trunc(struct sim *s, int name)
{
    int i = s->dir[name];

    if (i < 0) {
        if ((i = inode_alloc(s)) < 0)
            return -1;
        ns_op(s, name, i, -1, 0);
    }
    if (s->ino[i].len)
        s->ino[i].dirty = 1;
    s->ino[i].len = 0;
    return i;
}

/* write(2) at off: bytes written, or -1 (EIO / ENOSPC). */
static long disk_write(struct sim *s, int i, size_t off, const char *buf, size_t n)
{
    struct inode *in = &s->ino[i];

    if (s->enospc || take_fault(s, F_WRITE)) {
        s->enospc = 0;
        return -1;
    }
    if (take_fault(s, F_SHORT) && n > 1) {
        n /= 2;
        s->enospc = 1;
    }
    if (off + n > DATA_MAX)
        return -1;
    memcpy(in->data + off, buf, n);
    if (off + n > in->len)
        in->len = off + n;
    in->dirty = 1;
    return (long)n;
}

static int disk_fsync(struct sim *s, int i)
{
    struct inode *in = &s->ino[i];

    in->dirty = 0;   /* also on failure: Linux marks the pages clean */
    if (take_fault(s, F_FSYNC))
        return -1;
    memcpy(in->ddata, in->data, in->len);
    in->dlen = in->len;
    return 0;
}

static int disk_fsync_dir(struct sim *s)
{
    if (take_fault(s, F_FSYNC))
        return -1;
    ns_commit(s, s->n_pend);
    return 0;
}

/* link(a, b) or rename(a, b): 0, or -1 (a missing, or an armed fault). */
static int disk_link(struct sim *s, int a, int b, int is_rename)
{
    int i = s->dir[a];

    if (i < 0 || take_fault(s, F_RENAME))
        return -1;
    ns_op(s, b, i, is_rename ? a : -1, -1);
    return 0;
}

static void disk_unlink(struct sim *s, int name)
{
    if (s->dir[name] >= 0)
        ns_op(s, name, -1, -1, 0);
}

/* ----------------------------------------------------------- the record */

/* One attempt at a name: 0 + record, TORN_E_NOTFOUND or TORN_E_CORRUPT. */
static int load(struct sim *s, int name, int verify, cJSON **rec, char *why, size_t why_len)
{
    int i = s->dir[name];
    const struct inode *in;

    *rec = NULL;
    if (i < 0) {
        snprintf(why, why_len, "missing");
        return TORN_E_NOTFOUND;
    }
    in = &s->ino[i];
    if (verify)
        return torn_record_parse(in->data, in->len, rec, why, why_len);
    *rec = cJSON_ParseWithLength(in->data, in->len);
    if (*rec)
        return TORN_OK;
    snprintf(why, why_len, in->len ? "not valid JSON (%zu bytes)" : "empty (0 bytes)", in->len);
    return TORN_E_CORRUPT;
}

/* The strategy's read (targets/file.c safe_read). */
static int sim_read(struct sim *s, cJSON **rec, char *why, size_t why_len)
{
    char why_bak[96];
    int rc, rc_bak;

    if (s->strat == TORN_SCHED_NAIVE || s->strat == TORN_SCHED_RENAME)
        return load(s, N_MAIN, 0, rec, why, why_len);
    rc = load(s, N_MAIN, 1, rec, why, why_len);   /* file.c retries: see the top */
    if (rc == TORN_OK)
        return rc;
    rc_bak = load(s, N_BAK, 1, rec, why_bak, sizeof why_bak);
    if (rc_bak == TORN_OK)
        return rc_bak;
    snprintf(why + strlen(why), why_len - strlen(why), "; r.json.bak: %s", why_bak);
    return rc == TORN_E_NOTFOUND && rc_bak == TORN_E_NOTFOUND ? rc : TORN_E_CORRUPT;
}

static long long field(const cJSON *rec, int k)
{
    static const char *const names[MAXW] = {"w0", "w1", "w2"};

    return torn_record_int(rec, names[k], 0);
}

static char *put_str(char *p, const char *str, size_t len)
{
    memcpy(p, str, len);
    return p + len;
}

static char *put_int(char *p, long long v)
{
    char t[24];
    int i = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

    if (v < 0)
        *p++ = '-';
    do
        t[i++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    while (i)
        *p++ = t[--i];
    return p;
}

#define PUT(p, lit) put_str((p), (lit), sizeof(lit) - 1)

/* The record text with version, every worker's field (k's set to val), and
 * a self-checking payload for seq (hand-formatted: this is the hot path of
 * the fuzzer, and the text is at most ~260 bytes < DATA_MAX). */
static size_t record_text(struct sim *s, const cJSON *old, int k, long long val, long long seq,
                          char *out)
{
    static const char *const wf[MAXW] = {",\"w0\":", ",\"w1\":", ",\"w2\":"};
    long long v = old ? torn_record_version(old) : 0;
    char *payload = torn_payload_new(0, seq, s->plen), digest[17], *p = out;
    size_t plen = payload ? s->plen : 0;

    p = PUT(p, "{\"id\":\"r\",\"version\":");
    p = put_int(p, v < 1 ? 1 : v + 1);
    for (int j = 0; j < s->nw; j++) {
        p = put_str(p, wf[j], 6);
        p = put_int(p, j == k ? val : old ? field(old, j) : 0);
    }
    torn_payload_digest(payload ? payload : "", plen, seq, digest);
    p = PUT(p, ",\"seq\":");
    p = put_int(p, seq);
    p = PUT(p, ",\"payload\":\"");
    p = put_str(p, payload ? payload : "", plen);
    p = PUT(p, "\",\"payload_digest\":\"");
    p = put_str(p, digest, 16);
    p = PUT(p, "\"}");
    free(payload);
    return (size_t)(p - out);
}

/* Read as a user would and check: readable, complete, no acknowledged write
 * lost, nothing invented.  Returns 1 on a violation. */
static int check(struct sim *s, const char *when)
{
    char why[200] = "", idle[200];
    cJSON *rec = NULL;
    int rc = sim_read(s, &rec, why, sizeof why), bad = 0;

    if (rc != TORN_OK) {
        TR(s, -1, "check %s: read r.json -> %s (%s)", when, torn_strerror(rc), why);
        return violation(s, "unreadable",
                         "%s: reading the record failed (%s: %s) although it was created "
                         "durably and %zu update(s) were acknowledged",
                         when, torn_strerror(rc), why, s->res->acked);
    }
    if (!torn_record_intact(rec, why, sizeof why)) {
        bad = violation(s, "torn-record", "%s: the read returned a torn record: %s", when, why);
    }
    for (int k = 0; !bad && k < s->nw; k++) {
        long long v = field(rec, k);
        if (v < s->acked[k])
            bad = violation(s, "lost-write",
                            "%s: worker %d's acknowledged update %lld is gone: the record "
                            "(version %lld) has w%d=%lld",
                            when, k, s->acked[k], torn_record_version(rec), k, v);
        else if (v > s->started[k])
            bad = violation(s, "phantom-write",
                            "%s: the record has w%d=%lld but worker %d never wrote past %lld",
                            when, k, v, k, s->started[k]);
    }
    if (s->trace) {
        int n = 0;
        for (int k = 0; k < s->nw; k++)
            n += snprintf(idle + n, sizeof idle - (size_t)n, " w%d=%lld (acked %lld)", k,
                          field(rec, k), s->acked[k]);
        TR(s, -1, "check %s: version %lld,%s%s", when, torn_record_version(rec), idle,
           bad ? "" : ": ok");
    }
    cJSON_Delete(rec);
    return bad;
}

/* ---------------------------------------------------------- the workers */

static const unsigned char *program(const struct sim *s)
{
    switch (s->strat) {
    case TORN_SCHED_NAIVE: return prog_naive;
    case TORN_SCHED_RENAME: return prog_rename;
    case TORN_SCHED_DURABLE:
    case TORN_SCHED_NOCHECK: return prog_durable;
    }
    return prog_durable;
}

static int checks_errors(const struct sim *s)
{
    return s->strat != TORN_SCHED_NOCHECK;
}

/* Switch worker k to its error path. */
static void fail(struct sim *s, int k)
{
    struct worker *w = &s->w[k];

    w->fd = -1;   /* close */
    w->prog = w->tmp_made ? prog_fail_tmp : prog_fail;
    w->pc = 0;
}

static void finish(struct sim *s, int k)
{
    s->w[k].busy = 0;
    s->w[k].fd = -1;
    if (s->lock == k)
        s->lock = -1;
}

/* U_READ of an update: read, merge, build the new record.  The seed's naive
 * code replaces an unreadable record with a fresh one. */
static void step_read(struct sim *s, int k)
{
    struct worker *w = &s->w[k];
    char why[200] = "";
    cJSON *rec = NULL;
    int rc = sim_read(s, &rec, why, sizeof why);

    if (rc == TORN_E_CORRUPT && s->strat == TORN_SCHED_NAIVE) {
        TR(s, k, "read r.json: %s -> starts over from a fresh record (the seed's bug)", why);
        rc = TORN_OK;
    } else if (rc != TORN_OK) {
        TR(s, k, "read r.json: %s (%s) -> error", torn_strerror(rc), why);
        fail(s, k);
        cJSON_Delete(rec);
        return;
    } else {
        TR(s, k, "read r.json: version %lld", torn_record_version(rec));
    }
    w->len = record_text(s, rec, k, w->op, w->seq, w->buf);
    w->off = 0;
    w->pc++;
    cJSON_Delete(rec);
}

static void step_write(struct sim *s, int k)
{
    struct worker *w = &s->w[k];
    size_t n = w->len - w->off < s->chunk ? w->len - w->off : s->chunk;
    long got = disk_write(s, w->fd, w->off, w->buf + w->off, n);
    char nb[32];

    if (got < 0) {
        TR(s, k, "write [%zu, %zu) -> EIO/ENOSPC%s", w->off, w->off + n,
           checks_errors(s) ? "" : " (ignored)");
        if (checks_errors(s))
            fail(s, k);
        else
            w->pc++;   /* nocheck: write_chunks gives up and reports success */
        return;
    }
    TR(s, k, "write %s [%zu, %zu) of %zu bytes", name_str(w->tmp_made ? N_TMP + k : N_MAIN, nb),
       w->off, w->off + (size_t)got, w->len);
    w->off += (size_t)got;
    if (w->off == w->len)
        w->pc++;
}


/* A disk call that may fail: trace it, then continue or take the error path
 * (nocheck ignores the failures file.c's nocheck ignores: fsync). */
static void outcome(struct sim *s, int k, int rc, int ignorable, const char *what)
{
    struct worker *w = &s->w[k];

    TR(s, k, "%s%s", what, rc == 0 ? "" : ignorable && !checks_errors(s) ? " -> EIO (ignored)"
                                                                           : " -> EIO");
    if (rc != 0 && !(ignorable && !checks_errors(s)))
        fail(s, k);
    else
        w->pc++;
}

static void step_names(struct sim *s, int k, enum uop op)
{
    struct worker *w = &s->w[k];
    int tmp = N_TMP + k, baktmp = N_BAKTMP + k, rc;
    char what[48];

    switch (op) {
    case U_UNLINK_BAKTMP:
        disk_unlink(s, baktmp);
        TR(s, k, "unlink r.json.bak.tmp.%d", k);
        w->pc++;
        break;
    case U_LINK_BAK:
        rc = disk_link(s, N_MAIN, baktmp, 0);
        TR(s, k, "link r.json -> r.json.bak.tmp.%d%s", k, rc ? " -> failed, no .bak this time" : "");
        w->pc += rc ? 2 : 1;   /* file.c: link() == 0 && rename() ... */
        break;
    case U_RENAME_BAK:
        rc = disk_link(s, baktmp, N_BAK, 1);
        if (rc)
            disk_unlink(s, baktmp);
        TR(s, k, "rename r.json.bak.tmp.%d -> r.json.bak%s", k, rc ? " -> EIO, unlinked" : "");
        w->pc++;
        break;
    case U_RENAME_MAIN:
        snprintf(what, sizeof what, "rename r.json.tmp.%d -> r.json", k);
        outcome(s, k, disk_link(s, tmp, N_MAIN, 1), 0, what);
        if (w->prog != prog_fail_tmp)
            w->tmp_made = 0;
        break;
    case U_UNLINK_TMP:
        disk_unlink(s, tmp);
        w->tmp_made = 0;
        TR(s, k, "unlink r.json.tmp.%d (error path)", k);
        w->pc++;
        break;
    default:
        break;
    }
}

/* Execute worker k's next boundary.  0 when it is blocked on the lock. */
static int step(struct sim *s, int k)
{
    struct worker *w = &s->w[k];
    enum uop op = (enum uop)w->prog[w->pc];
    char what[48];

    switch (op) {
    case U_LOCK:
        if (s->lock >= 0 && s->lock != k)
            return 0;
        s->lock = k;
        TR(s, k, "lock r.lock");
        w->pc++;
        break;
    case U_READ: step_read(s, k); break;
    case U_OPEN_MAIN:
    case U_CREATE_TMP:
        w->fd = disk_open_trunc(s, op == U_OPEN_MAIN ? N_MAIN : N_TMP + k);
        w->tmp_made = op == U_CREATE_TMP;
        snprintf(what, sizeof what, op == U_OPEN_MAIN ? "open r.json O_TRUNC"
                                                      : "create r.json.tmp.%d O_TRUNC", k);
        outcome(s, k, w->fd < 0 ? -1 : 0, 0, what);
        break;
    case U_WRITE: step_write(s, k); break;
    case U_FSYNC:
        snprintf(what, sizeof what, "fsync r.json.tmp.%d", k);
        outcome(s, k, disk_fsync(s, w->fd), 1, what);
        break;
    case U_FSYNC_DIR: outcome(s, k, disk_fsync_dir(s), 1, "fsync directory"); break;
    case U_DONE:
        s->acked[k] = w->op;
        s->res->acked++;
        TR(s, k, "acknowledged (w%d=%lld)", k, w->op);
        finish(s, k);
        break;
    case U_FAIL:
        TR(s, k, "failed: reported as an error, not acknowledged");
        finish(s, k);
        break;
    default: step_names(s, k, op); break;
    }
    s->res->steps++;
    return 1;
}

/* Start an operation on idle worker k: a read (checked at once) or an
 * update.  Returns 1 on a violation. */
static int start(struct sim *s, int k, int read)
{
    struct worker *w = &s->w[k];

    if (read) {
        char when[64];
        w->prog = NULL;
        snprintf(when, sizeof when, "read by worker %d", k);
        s->res->steps++;
        return check(s, when);
    }
    memset(w, 0, offsetof(struct worker, buf));
    w->busy = 1;
    w->fd = -1;
    w->prog = program(s);
    w->op = ++s->started[k];
    w->seq = ++s->seq;
    return 0;
}

static int runnable(const struct sim *s, int k)
{
    const struct worker *w = &s->w[k];

    return !w->busy || w->prog[w->pc] != U_LOCK || s->lock < 0 || s->lock == k;
}

/* Byte b < 0xE0: worker b % nw steps (the next runnable one if it waits
 * for the lock).  Returns 1 on a violation. */
static int schedule_step(struct sim *s, unsigned char b)
{
    for (int i = 0; i < s->nw; i++) {
        int k = (b + i) % s->nw;
        if (!runnable(s, k))
            continue;
        if (!s->w[k].busy) {
            int read = (b >> 4) % 4 == 3;
            if (start(s, k, read) || read)
                return s->res->violated;
        }
        if (step(s, k))
            return 0;
    }
    return 0;
}

static void kill_workers(struct sim *s)
{
    for (int k = 0; k < s->nw; k++) {
        if (s->w[k].busy)
            TR(s, k, "killed in flight (its outcome is unknown)");
        s->w[k].busy = 0;
        s->w[k].fd = -1;
    }
    s->lock = -1;
    s->enospc = 0;
    s->res->crashes++;
}

/* Byte choice for one unsynced inode in a torn cut. */
static void torn_data(struct inode *in, unsigned char c)
{
    size_t keep;

    switch (c % 3) {
    case 0: return;                      /* durable bytes */
    case 1:                              /* cached bytes reached the disk */
        memcpy(in->ddata, in->data, in->len);
        in->dlen = in->len;
        return;
    default:                             /* a prefix of the new over the old */
        keep = (size_t)(c / 3) * in->len / 85;
        memcpy(in->ddata, in->data, keep);
        if (in->dlen < keep)
            in->dlen = keep;
        return;
    }
}

/* Power cut: everything not durable is lost; torn (with the bytes at
 * *p..end) keeps a prefix of the journal and some unsynced data first. */
static void power_cut(struct sim *s, int torn, const unsigned char **p, const unsigned char *end)
{
    int kept = 0, lost = s->n_pend, dirty = 0;

    if (torn && *p < end) {
        kept = *(*p)++ % (s->n_pend + 1);
        ns_commit(s, kept);
    }
    for (int i = 0; i < MAXI; i++) {
        struct inode *in = &s->ino[i];
        if (!in->dirty)
            continue;
        dirty++;
        if (torn && *p < end)
            torn_data(in, *(*p)++);
        memcpy(in->data, in->ddata, in->dlen);
        in->len = in->dlen;
        in->dirty = 0;
    }
    s->n_pend = 0;
    memcpy(s->dir, s->ddir, sizeof s->dir);
    TR(s, -1, "%s: %d of %d uncommitted namespace operation(s) kept, %d unsynced file(s) %s",
       torn ? "TORN POWER CUT" : "POWER CUT", kept, lost, dirty,
       torn ? "kept in part or not at all" : "lost");
    kill_workers(s);
}

static void setup(struct sim *s, const unsigned char *buf, size_t len,
                  enum torn_sched_strategy strat, FILE *trace, struct torn_sched_result *res)
{
    memset(s, 0, offsetof(struct sim, ino));
    for (int i = 0; i < MAXI; i++)
        memset(&s->ino[i], 0, offsetof(struct inode, data));
    memset(res, 0, sizeof *res);
    s->strat = strat;
    s->nw = len > 0 ? 1 + buf[0] % MAXW : 2;
    s->chunk = len > 1 ? 8 + buf[1] % 57 : 16;
    s->plen = len > 2 ? buf[2] % 64 : 24;
    s->trace = trace;
    s->res = res;
    s->lock = -1;
    for (int n = 0; n < N_COUNT; n++)
        s->dir[n] = s->ddir[n] = -1;
    for (int k = 0; k < MAXW; k++)
        s->w[k].fd = -1;
    /* The record, created and made durable before the schedule starts. */
    memset(&s->ino[0], 0, offsetof(struct inode, data));
    s->ino[0].len = s->ino[0].dlen = record_text(s, NULL, -1, 0, 0, s->ino[0].data);
    memcpy(s->ino[0].ddata, s->ino[0].data, s->ino[0].len);
    s->dir[N_MAIN] = s->ddir[N_MAIN] = 0;
}

/* Decode and run one event; *p advances.  Returns 1 on a violation, -1 at
 * the end of the schedule (0xFF), 0 otherwise.
 *   0x00-0xDF  worker b % workers takes its next step; an idle worker starts
 *              an operation first: a read when (b >> 4) % 4 == 3, else an
 *              update.  A worker waiting for the lock passes to the next.
 *   0xE0-0xEF  arm a fault for the next matching disk call, (b & 3): 0 write
 *              EIO, 1 short write then ENOSPC, 2 fsync EIO (file or
 *              directory; the dirty data is dropped), 3 link/rename EIO
 *   0xF0-0xF7  process crash: every worker dies, the page cache survives
 *   0xF8-0xFD  power cut
 *   0xFE       torn power cut, reading more bytes: K keeps the first
 *              K % (pending + 1) namespace operations, then one byte per
 *              unsynced file: % 3 == 0 durable bytes, 1 cached bytes, 2 the
 *              first (b / 3) * len / 85 cached bytes over the durable ones
 *   0xFF       end of the schedule */
static int decode_event(struct sim *s, const unsigned char **p, const unsigned char *end)
{
    unsigned char b = *(*p)++;

    if (b < 0xE0)
        return schedule_step(s, b);
    if (b < 0xF0) {
        static const char *const names[] = {"write EIO", "short write + ENOSPC", "fsync EIO",
                                            "link/rename EIO"};
        s->fault[b & 3]++;
        TR(s, -1, "FAULT armed: %s on the next such call", names[b & 3]);
        return 0;
    }
    if (b == 0xFF)
        return -1;
    if (b < 0xF8) {
        TR(s, -1, "PROCESS CRASH: every worker killed, page cache kept");
        kill_workers(s);
        return check(s, "after the process crash");
    }
    power_cut(s, b == 0xFE, p, end);
    return check(s, b == 0xFE ? "after the torn power cut" : "after the power cut");
}

/* Run every operation in flight to its end, workers in turn. */
static void drain(struct sim *s)
{
    for (int busy = 1; busy && s->res->steps < MAX_STEPS;) {
        busy = 0;
        for (int k = 0; k < s->nw; k++) {
            if (s->w[k].busy) {
                busy = 1;
                if (runnable(s, k))
                    step(s, k);
            }
        }
    }
}

const char *torn_sched_strategy_name(enum torn_sched_strategy s)
{
    switch (s) {
    case TORN_SCHED_NAIVE: return "naive";
    case TORN_SCHED_RENAME: return "rename";
    case TORN_SCHED_DURABLE: return "durable";
    case TORN_SCHED_NOCHECK: return "nocheck";
    }
    return "?";
}

int torn_sched_strategy_parse(const char *name, enum torn_sched_strategy *out)
{
    for (int i = TORN_SCHED_NAIVE; i <= TORN_SCHED_NOCHECK; i++) {
        if (strcmp(name, torn_sched_strategy_name((enum torn_sched_strategy)i)) == 0) {
            *out = (enum torn_sched_strategy)i;
            return 0;
        }
    }
    return -1;
}

int torn_sched_run(const unsigned char *buf, size_t len, enum torn_sched_strategy strat,
                   FILE *trace, struct torn_sched_result *res)
{
    struct sim *s = &S;
    const unsigned char *p = buf + (len < 3 ? len : 3), *end = buf + len;
    int rc = 0;

    setup(s, buf, len, strat, trace, res);
    TR(s, -1, "schedule: strategy %s, %d worker(s), write chunk %zu bytes, payload %zu bytes, "
       "%zu event byte(s)", torn_sched_strategy_name(strat), s->nw, s->chunk, s->plen,
       (size_t)(end - p));
    while (p < end && rc == 0 && res->steps < MAX_STEPS)
        rc = decode_event(s, &p, end);
    if (rc <= 0) {
        TR(s, -1, "end of schedule: operations in flight run to completion");
        drain(s);
        check(s, "at the end");
    }
    return res->violated;
}

/* torn-fs crash cut: choose which unsynced pieces survive (a prefix of the
 * namespace operations, a subset of the pages), put the backing directory
 * in exactly that state, and name it with a state id that reproduces it. */
#include "fs/tornfs_int.h"

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct piece {
    struct fnode *n;
    struct pent *e;
};

static int piece_cmp(const void *a, const void *b)
{
    const struct piece *x = a, *y = b;
    return x->e->seq < y->e->seq ? -1 : x->e->seq > y->e->seq;
}

/* Write all of buf at off: 0, or -errno (-EIO for a write that makes no
 * progress). */
static int pwrite_all(int fd, const unsigned char *buf, size_t len, off_t off)
{
    while (len) {
        ssize_t w = pwrite(fd, buf, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? neg_errno() : -EIO;
        buf += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Restore one file: dropped pages get their durable bytes (or zeros when
 * they were beyond the durable size), the size becomes the durable size
 * extended to the end of the last kept page beyond it.  0, or -1 with why
 * naming the step that failed: the file is then in no state the cut names
 * (SQLite's writeListSync: a write that fails is reported, never skipped). */
static int node_restore(struct fnode *n, const unsigned char *keep_of, const struct piece *ps,
                        size_t n_ps, char *why, size_t why_len)
{
    struct stat st;
    off_t size;
    static const unsigned char zeros[PAGE];
    int rc = 0;

    if (fstat(n->fd, &st) < 0) {
        snprintf(why, why_len, "inode %llu: fstat: %s", (unsigned long long)n->ino,
                 strerror(errno));
        return -1;
    }
    size = n->durable;
    for (size_t i = 0; i < n_ps; i++)
        if (ps[i].n == n && keep_of[i] && (off_t)((ps[i].e->pgno - 1) * PAGE) >= n->durable) {
            off_t end = (off_t)(ps[i].e->pgno * PAGE);
            if (end > st.st_size)
                end = st.st_size;
            if (end > size)
                size = end;
        }
    if (ftruncate(n->fd, size) < 0) {
        snprintf(why, why_len, "inode %llu: truncate to %lld bytes: %s",
                 (unsigned long long)n->ino, (long long)size, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n_ps && rc == 0; i++) {
        const struct pent *e = ps[i].e;
        off_t off = (off_t)((e->pgno - 1) * PAGE);
        if (ps[i].n != n || keep_of[i] || off >= size)
            continue;
        if (e->len) {
            unsigned char buf[PAGE];
            rc = torn_fsd_slot_read(n, e->slot, buf, e->len);
            if (rc == 0)
                rc = pwrite_all(n->fd, buf, e->len, off);
        } else
            rc = pwrite_all(n->fd, zeros, (size_t)(size - off < (off_t)PAGE ? size - off : PAGE),
                            off);
        if (rc < 0)
            snprintf(why, why_len, "inode %llu: restoring page %llu: %s",
                     (unsigned long long)n->ino, (unsigned long long)(e->pgno - 1), strerror(-rc));
    }
    return rc < 0 ? -1 : 0;
}

/* The names of enum torn_fs_data, in its order. */
static const char *const data_names[] = {"none", "all", "rand", "pfx", "drop"};

/* v -> *out: 0, or -1 when v names no data spec. */
static int data_spec_parse(const char *v, enum torn_fs_data *out)
{
    for (size_t i = 0; i < sizeof data_names / sizeof data_names[0]; i++)
        if (strcmp(v, data_names[i]) == 0) {
            *out = (enum torn_fs_data)i;
            return 0;
        }
    return -1;
}

void torn_fs_state_format(const struct torn_fs_state *st, char *buf, size_t len)
{
    char m[24];
    if (st->meta < 0)
        snprintf(m, sizeof m, "all");
    else
        snprintf(m, sizeof m, "%lld", st->meta);
    snprintf(buf, len, "m%s:d%s:%llu", m, data_names[st->data], (unsigned long long)st->arg);
}

int torn_fs_state_parse(const char *id, struct torn_fs_state *st, struct torn_err *err)
{
    char buf[96], *d = NULL, *arg = NULL;

    if (snprintf(buf, sizeof buf, "%s", id) >= (int)sizeof buf || buf[0] != 'm' ||
        !(d = strchr(buf, ':')) || d[1] != 'd' || !(arg = strchr(d + 1, ':')))
        return torn_err_set(err, TORN_E_CONFIG, "state '%.80s': expected "
                            "m<K|all>:d<none|all|rand|pfx|drop>:<arg>", id);
    *d = *arg = 0;
    if (data_spec_parse(d + 2, &st->data) < 0)
        return torn_err_set(err, TORN_E_CONFIG, "state '%.80s': unknown data spec '%.20s' "
                            "(none|all|rand|pfx|drop)", id, d + 2);
    st->meta = -1;
    if (strcmp(buf + 1, "all") != 0 &&
        torn_parse_int("state: kept namespace operations m<K>", buf + 1, 0, TORN_FS_COUNT_MAX,
                       &st->meta, err) < 0)
        return TORN_E_CONFIG;
    return torn_parse_u64("state: data argument", arg + 1, &st->arg, err);
}

/* One argument of `cut` into c: state=ID, torn [SEED] (takes the next token
 * from *save), meta=all|none|K, data=SPEC[:ARG]. */
static int cut_arg(char *tok, char **save, struct torn_fs_state *c, struct torn_err *e)
{
    if (strncmp(tok, "state=", 6) == 0)
        return torn_fs_state_parse(tok + 6, c, e);
    if (strcmp(tok, "torn") == 0) {
        char *s = strtok_r(NULL, " \t", save);
        struct torn_rng r;
        c->arg = 1;
        if (s && torn_parse_u64("cut torn SEED", s, &c->arg, e) < 0)
            return TORN_E_CONFIG;
        torn_rng_seed(&r, c->arg);
        c->meta = (long long)torn_rng_below(&r, torn_fsd.n_mops + 1);
        c->data = TORN_FS_DATA_RAND;
        return 0;
    }
    if (strncmp(tok, "meta=", 5) == 0) {
        c->meta = strcmp(tok + 5, "all") == 0 ? -1 : 0;
        if (strcmp(tok + 5, "all") == 0 || strcmp(tok + 5, "none") == 0)
            return 0;
        return torn_parse_int("cut meta=K", tok + 5, 0, TORN_FS_COUNT_MAX, &c->meta, e);
    }
    if (strncmp(tok, "data=", 5) == 0) {
        char *v = tok + 5, *colon = strchr(v, ':');
        if (colon) {
            *colon = 0;
            if (torn_parse_u64("cut data=SPEC:ARG", colon + 1, &c->arg, e) < 0)
                return TORN_E_CONFIG;
        }
        if (data_spec_parse(v, &c->data) < 0)
            return torn_err_set(e, TORN_E_CONFIG, "unknown data spec '%.40s' "
                                "(none|all|rand:S|pfx:K|drop:K)", v);
        return 0;
    }
    return torn_err_set(e, TORN_E_CONFIG, "unknown cut argument '%.60s'", tok);
}

static int parse_cut(char *args, struct torn_fs_state *c, int *keep, char *why, size_t why_len)
{
    int process = torn_fsd.model == TORN_FS_PROCESS;
    struct torn_err e = {0};
    char *save = NULL;

    c->meta = process ? -1 : 0;
    c->data = process ? TORN_FS_DATA_ALL : TORN_FS_DATA_NONE;
    c->arg = 0;
    *keep = 0;
    for (char *tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
        if (strcmp(tok, "keep") == 0)
            *keep = 1;
        else if (cut_arg(tok, &save, c, &e) < 0) {
            snprintf(why, why_len, "%s", e.msg);
            return -1;
        }
    return 0;
}

static int keep_piece(const struct torn_fs_state *c, size_t i, const struct pent *e,
                      struct torn_rng *r)
{
    if (torn_fsd.model == TORN_FS_PROCESS && c->meta < 0 && c->data == TORN_FS_DATA_ALL)
        return 1;
    if (e->lost && torn_fsd.model != TORN_FS_PROCESS)
        return 0;
    switch (c->data) {
    case TORN_FS_DATA_NONE:
        return 0;
    case TORN_FS_DATA_ALL:
        return 1;
    case TORN_FS_DATA_RAND:
        return (int)(torn_rng_next(r) & 1);
    case TORN_FS_DATA_PFX:
        return i < c->arg;
    case TORN_FS_DATA_DROP:
        return i != c->arg;
    }
    return 0;
}

/* The unsynced pages in the order first dirtied (*ps_out, calloc'd; NULL
 * when out of memory) and their number. */
static struct piece *pieces(size_t *n_out)
{
    struct piece *ps;
    size_t n_ps = 0;

    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            n_ps += n->n;
    if (!(ps = calloc(n_ps + 1, sizeof *ps)))
        return NULL;
    n_ps = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            for (size_t i = 0; i < n->cap; i++)
                if (n->tab[i].pgno)
                    ps[n_ps++] = (struct piece){n, &n->tab[i]};
    qsort(ps, n_ps, sizeof *ps, piece_cmp);
    *n_out = n_ps;
    return ps;
}

/* Before a kept cut changes n: its size and the bytes of each of its dirty
 * pages (in table order, into the slots after the undo log's), for uncut. */
static int node_keep(struct fnode *n, char *why, size_t why_len)
{
    struct stat st;
    uint32_t k = n->slots;
    int rc = 0;

    if (fstat(n->fd, &st) < 0)
        rc = neg_errno();
    for (size_t i = 0; i < n->cap && rc == 0; i++) {
        off_t off = (off_t)((n->tab[i].pgno - 1) * PAGE);
        if (!n->tab[i].pgno || off >= st.st_size)
            continue;
        rc = torn_fsd_save_bytes(n, off, k++, (size_t)(st.st_size - off < (off_t)PAGE
                                                            ? st.st_size - off : PAGE));
    }
    if (rc < 0) {
        snprintf(why, why_len, "inode %llu: keeping its bytes for uncut: %s",
                 (unsigned long long)n->ino, strerror(-rc));
        return -1;
    }
    n->redo_size = st.st_size;
    return 0;
}

/* uncut: n's size and bytes as node_keep saw them. */
static int node_redo(struct fnode *n, char *why, size_t why_len)
{
    uint32_t k = n->slots;
    int rc = ftruncate(n->fd, n->redo_size) < 0 ? neg_errno() : 0;

    for (size_t i = 0; i < n->cap && rc == 0; i++) {
        off_t off = (off_t)((n->tab[i].pgno - 1) * PAGE);
        unsigned char buf[PAGE];
        size_t len;
        if (!n->tab[i].pgno || off >= n->redo_size)
            continue;
        len = n->redo_size - off < (off_t)PAGE ? (size_t)(n->redo_size - off) : PAGE;
        rc = torn_fsd_slot_read(n, k++, buf, len);
        if (rc == 0)
            rc = pwrite_all(n->fd, buf, len, off);
    }
    n->redo_size = -1;
    if (rc < 0) {
        snprintf(why, why_len, "inode %llu: uncut: %s", (unsigned long long)n->ino, strerror(-rc));
        return -1;
    }
    return 0;
}

/* What a cut did, for its reply. */
struct cut_done {
    size_t kept_pages, n_pages, meta_keep, n_mops;
};

/* Put the backing directory in crash state c: unsynced pages restored but
 * those c keeps, pending namespace operations undone newest first down to
 * the first c keeps.  kept: reversibly (node_keep, created entries parked).
 * Every step is tried even after one failed (the disk comes as close to
 * the state as it can), but one failure makes it an error: -1, why set. */
static int cut_apply(const struct torn_fs_state *c, int kept, struct cut_done *d, char *why,
                     size_t why_len)
{
    struct piece *ps;
    unsigned char *keep;
    struct torn_rng r;
    char failed[512];

    why[0] = 0;
    memset(d, 0, sizeof *d);
    ps = pieces(&d->n_pages);
    keep = calloc(d->n_pages + 1, 1);
    if (!ps || !keep) {
        free(ps);
        free(keep);
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    torn_rng_seed(&r, c->arg);
    for (size_t i = 0; i < d->n_pages; i++) {
        keep[i] = (unsigned char)keep_piece(c, i, ps[i].e, &r);
        d->kept_pages += keep[i];
    }
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            if (((kept && node_keep(n, failed, sizeof failed) < 0) ||
                 node_restore(n, keep, ps, d->n_pages, failed, sizeof failed) < 0) && !why[0])
                snprintf(why, why_len, "%s", failed);
    d->n_mops = torn_fsd.n_mops;
    d->meta_keep = (c->meta < 0 || (size_t)c->meta > d->n_mops) ? d->n_mops : (size_t)c->meta;
    for (size_t i = d->n_mops; i > d->meta_keep; i--)
        if (torn_fsd_mop_undo(&torn_fsd.mops[i - 1], kept, failed, sizeof failed) < 0 &&
            !why[0])
            snprintf(why, why_len, "%s", failed);
    free(ps);
    free(keep);
    return why[0] ? -1 : 0;
}

/* The logs after a cut: the surviving namespace operations commit, the
 * pages are forgotten; a kept cut sets the whole log aside for uncut. */
static void cut_settle(const struct cut_done *d, int kept)
{
    if (kept) {
        torn_fsd.kept.on = 1;
        memcpy(torn_fsd.kept.nodes, torn_fsd.nodes, sizeof torn_fsd.nodes);
        memset(torn_fsd.nodes, 0, sizeof torn_fsd.nodes);
        torn_fsd.kept.mops = torn_fsd.mops;
        torn_fsd.kept.n_mops = torn_fsd.n_mops;
        torn_fsd.kept.cap_mops = torn_fsd.cap_mops;
        torn_fsd.kept.meta_keep = d->meta_keep;
        torn_fsd.mops = NULL;
        torn_fsd.n_mops = torn_fsd.cap_mops = 0;
        return;
    }
    for (size_t i = d->meta_keep; i < torn_fsd.n_mops; i++)
        torn_fsd_mop_free(&torn_fsd.mops[i]);
    torn_fsd.n_mops = d->meta_keep;
    torn_fsd_mops_commit(torn_fsd.n_mops);
    torn_fsd_nodes_clear();
}

/* Perform a cut; reply gets "ok state=... kept_meta=a/b kept_pages=c/d", or
 * "err ..." (-1) when the arguments are wrong or the state could not be
 * produced (the cut still happened: waiting writers get EIO, the logs are
 * cleared, the disk holds whatever the failed restore left).  `cut keep
 * ...` makes the same state and keeps what it takes to come back (uncut):
 * until then fsync and fsyncdir make nothing durable, so that uncut can
 * undo every change made to the state (a check's reads, a recovery's
 * writes). */
int torn_fsd_cut(char *args, char *reply, size_t len)
{
    struct torn_fs_state c;
    struct cut_done d;
    int kept, rc;
    char why[512], id[96];

    if (parse_cut(args, &c, &kept, why, sizeof why) < 0) {
        snprintf(reply, len, "err %s", why);
        return -1;
    }
    if (torn_fsd.kept.on) {
        snprintf(reply, len, "err a kept cut is pending: uncut first");
        return -1;
    }
    rc = cut_apply(&c, kept, &d, why, sizeof why);
    torn_fs_state_format(&c, id, sizeof id);
    if (rc < 0)
        snprintf(reply, len, "err cut: state %s not produced: %s", id, why);
    else
        snprintf(reply, len, "ok state=%s kept_meta=%zu/%zu kept_pages=%zu/%zu model=%s%s", id,
                 d.meta_keep, d.n_mops, d.kept_pages, d.n_pages,
                 torn_fs_model_name(torn_fsd.model), kept ? " kept=1" : "");
    cut_settle(&d, kept && rc == 0);
    torn_fsd.cuts++;
    torn_fsd.gen++;
    torn_fsd.frozen = 0;
    torn_fsd.freeze_at = 0;
    pthread_cond_broadcast(&torn_fsd.cv);
    return rc;
}

/* Back to the moment before the kept cut: everything changed since it is
 * undone (as a cut that keeps nothing would: it all counts as unsynced
 * while a cut is kept), the operations the cut undid are done again in
 * their order, the files get their bytes and sizes back, and the undo log
 * is the one before the cut. */
int torn_fsd_uncut(char *reply, size_t len)
{
    struct torn_fs_state none = {0, TORN_FS_DATA_NONE, 0};
    struct cut_done d;
    size_t from;
    char why[512], failed[512];

    if (!torn_fsd.kept.on) {
        snprintf(reply, len, "err no kept cut to undo");
        return -1;
    }
    (void)cut_apply(&none, 0, &d, why, sizeof why);
    cut_settle(&d, 0);
    free(torn_fsd.mops);
    memcpy(torn_fsd.nodes, torn_fsd.kept.nodes, sizeof torn_fsd.nodes);
    torn_fsd.mops = torn_fsd.kept.mops;
    torn_fsd.n_mops = torn_fsd.kept.n_mops;
    torn_fsd.cap_mops = torn_fsd.kept.cap_mops;
    from = torn_fsd.kept.meta_keep;
    memset(&torn_fsd.kept, 0, sizeof torn_fsd.kept);
    for (size_t i = from; i < torn_fsd.n_mops; i++)
        if (torn_fsd_mop_redo(&torn_fsd.mops[i], failed, sizeof failed) < 0 && !why[0])
            snprintf(why, sizeof why, "%s", failed);
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            if (n->redo_size >= 0 && node_redo(n, failed, sizeof failed) < 0 && !why[0])
                snprintf(why, sizeof why, "%s", failed);
    if (why[0]) {
        snprintf(reply, len, "err uncut: %s", why);
        return -1;
    }
    snprintf(reply, len, "ok uncut pending_meta=%zu", torn_fsd.n_mops);
    return 0;
}

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
            rc = torn_fsd_page_durable(n, e, buf);
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

static int parse_cut(char *args, struct torn_fs_state *c, char *why, size_t why_len)
{
    int process = torn_fsd.model == TORN_FS_PROCESS;
    struct torn_err e = {0};
    char *save = NULL;

    c->meta = process ? -1 : 0;
    c->data = process ? TORN_FS_DATA_ALL : TORN_FS_DATA_NONE;
    c->arg = 0;
    for (char *tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
        if (cut_arg(tok, &save, c, &e) < 0) {
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

/* Perform a cut; reply gets "ok state=... kept_meta=a/b kept_pages=c/d", or
 * "err ..." (-1) when the arguments are wrong or the state could not be
 * produced (the cut still happened: waiting writers get EIO, the logs are
 * cleared, the disk holds whatever the failed restore left). */
int torn_fsd_cut(char *args, char *reply, size_t len)
{
    struct torn_fs_state c;
    struct piece *ps = NULL;
    unsigned char *keep = NULL;
    size_t n_ps = 0, kept = 0, meta_keep;
    struct torn_rng r;
    char why[512], failed[512], id[96];

    if (parse_cut(args, &c, why, sizeof why) < 0) {
        snprintf(reply, len, "err %s", why);
        return -1;
    }
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            n_ps += n->n;
    ps = calloc(n_ps + 1, sizeof *ps);
    keep = calloc(n_ps + 1, 1);
    if (!ps || !keep) {
        free(ps);
        free(keep);
        snprintf(reply, len, "err out of memory");
        return -1;
    }
    n_ps = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            for (size_t i = 0; i < n->cap; i++)
                if (n->tab[i].pgno)
                    ps[n_ps++] = (struct piece){n, &n->tab[i]};
    qsort(ps, n_ps, sizeof *ps, piece_cmp);
    torn_rng_seed(&r, c.arg);
    for (size_t i = 0; i < n_ps; i++) {
        keep[i] = (unsigned char)keep_piece(&c, i, ps[i].e, &r);
        kept += keep[i];
    }
    /* Every step is tried even after one failed (the disk comes as close to
     * the state as it can), but one failure makes the cut an error. */
    why[0] = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = torn_fsd.nodes[b]; n; n = n->next)
            if (node_restore(n, keep, ps, n_ps, failed, sizeof failed) < 0 && !why[0])
                snprintf(why, sizeof why, "%s", failed);
    meta_keep = (c.meta < 0 || (size_t)c.meta > torn_fsd.n_mops) ? torn_fsd.n_mops : (size_t)c.meta;
    torn_fs_state_format(&c, id, sizeof id);
    snprintf(reply, len, "ok state=%s kept_meta=%zu/%zu kept_pages=%zu/%zu model=%s", id,
             meta_keep, torn_fsd.n_mops, kept, n_ps, torn_fs_model_name(torn_fsd.model));
    for (size_t i = torn_fsd.n_mops; i > meta_keep; i--)
        if (torn_fsd_mop_undo(&torn_fsd.mops[i - 1], failed, sizeof failed) < 0 && !why[0])
            snprintf(why, sizeof why, "%s", failed);
    if (why[0])
        snprintf(reply, len, "err cut: state %s not produced: %s", id, why);
    for (size_t i = meta_keep; i < torn_fsd.n_mops; i++)
        torn_fsd_mop_free(&torn_fsd.mops[i]);
    torn_fsd.n_mops = meta_keep;
    torn_fsd_mops_commit(torn_fsd.n_mops);
    torn_fsd_nodes_clear();
    free(ps);
    free(keep);
    torn_fsd.cuts++;
    torn_fsd.gen++;
    torn_fsd.frozen = 0;
    torn_fsd.freeze_at = 0;
    pthread_cond_broadcast(&torn_fsd.cv);
    return why[0] ? -1 : 0;
}

/* torn-fs daemon: the FUSE operations (served through libfuse's low-level API,
 * see "kernel node ids"), the undo log and the control file.
 * See tornfs.h for the model.  Locking: one mutex `mu` serializes every
 * persistence operation together with its undo bookkeeping, so the undo log
 * always matches the backing directory; reads and stats run unlocked. */
#define FUSE_USE_VERSION 312
#include "tornfs.h"

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_RULES 32
#define REPLY_MAX 8192

/* One unsynced page of a file. */
struct pent {
    uint64_t pgno;          /* page number + 1; 0 = empty hash slot */
    uint64_t seq;           /* global order of first dirtying, for cut specs */
    unsigned char *data;    /* durable bytes (len), NULL beyond durable size */
    uint32_t len;
    int lost;               /* a failed fsync marked it clean (fsync-fail) */
};

/* A file with unsynced data, keyed by backing (dev, ino). */
struct fnode {
    dev_t dev;
    ino_t ino;
    int fd;                 /* O_RDWR on the backing inode, for restores */
    off_t durable;          /* size at the last fsync */
    struct pent *tab;       /* open addressing on pgno */
    size_t cap, n;
    struct fnode *next;
};

enum mop_kind { M_CREATE, M_MKDIR, M_UNLINK, M_RMDIR, M_RENAME, M_EXCHANGE };
static const char *const mop_names[] = {"create", "mkdir", "unlink", "rmdir", "rename",
                                        "exchange"};

/* One pending namespace operation and how to undo it. */
struct mop {
    enum mop_kind kind;
    char *a, *b;            /* paths relative to the backing root */
    char *trash;            /* parked replaced/removed entry, or NULL */
};

struct rule {
    char op[16];            /* write|fsync|rename|create|unlink|truncate|any */
    int err;                /* EIO, ENOSPC, ... */
    char glob[256];         /* fnmatch pattern on "/path"; "" = any */
    uint64_t nth, times;    /* fire on matches nth .. nth+times-1 (times 0 = forever) */
    uint64_t hits;
};

/* The open-file handle behind fi->fh. */
struct ofile {
    int fd;                 /* backing descriptor, -1 for the control file */
    dev_t dev;
    ino_t ino;
    int ctl;
    char cmd[512];
    size_t cmd_len;
    char reply[REPLY_MAX];
    size_t reply_len;
};

#define NBUCKETS 1024

struct fsd {
    int bfd;                /* backing root */
    int tfd;                /* BACKING/.tornfs/trash */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum torn_fs_model model;
    uint64_t ops, freeze_at, gen, seq, trash_seq, cuts, faults;
    int frozen;
    int blocked;              /* persistence requests waiting behind the freeze */
    struct fnode *nodes[NBUCKETS];
    struct mop *mops;
    size_t n_mops, cap_mops;
    struct rule rules[MAX_RULES];
    size_t n_rules;
    struct fuse_session *se;  /* to notice shutdown while frozen */
    int lfd;                  /* control socket (abstract "tornfs-<pid>") */
    pthread_t main_thread;    /* runs the FUSE loop: woken by SIGTERM to stop */
};

static struct fsd D;

/* ---------- helpers ---------- */

static void ready(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "/a/b" -> "a/b", "/" -> "." */
static const char *rel(const char *path)
{
    return (path[0] == '/' && path[1]) ? path + 1 : ".";
}

static int is_private(const char *path)
{
    size_t n = strlen(TORN_FS_PRIVATE);
    return path && path[0] == '/' && strncmp(path + 1, TORN_FS_PRIVATE, n) == 0 &&
           (path[1 + n] == 0 || path[1 + n] == '/');
}

static int is_ctl(const char *path)
{
    return path && path[0] == '/' && strcmp(path + 1, TORN_FS_CTL) == 0;
}

static int neg_errno(void)
{
    return -(errno ? errno : EIO);
}

/* Parent directory of a relative path ("a/b" -> "a", "b" -> "."), in buf. */
static void parent_of(const char *r, char *buf, size_t len)
{
    const char *s = strrchr(r, '/');
    if (!s)
        snprintf(buf, len, ".");
    else
        snprintf(buf, len, "%.*s", (int)(s - r), r);
}

static __thread uid_t T_uid;   /* the caller of the request being served */
static __thread gid_t T_gid;

/* Give a new entry to the calling user (the daemon runs as root). */
static void chown_to_caller(const char *r)
{
    if (T_uid != 0 || T_gid != 0)
        (void)fchownat(D.bfd, r, T_uid, T_gid, AT_SYMLINK_NOFOLLOW);
}

/* ---------- the page undo log ---------- */

static struct fnode *node_find(dev_t dev, ino_t ino)
{
    for (struct fnode *n = D.nodes[ino % NBUCKETS]; n; n = n->next)
        if (n->dev == dev && n->ino == ino)
            return n;
    return NULL;
}

/* The node of an open backing fd, created with durable = current size. */
static struct fnode *node_get(int fd, dev_t dev, ino_t ino)
{
    struct fnode *n = node_find(dev, ino);
    char proc[64];
    struct stat st;

    if (n)
        return n;
    if (fstat(fd, &st) < 0)
        return NULL;
    n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    n->fd = open(proc, O_RDWR | O_CLOEXEC);
    if (n->fd < 0) {
        free(n);
        return NULL;
    }
    n->dev = dev;
    n->ino = ino;
    n->durable = st.st_size;
    n->next = D.nodes[ino % NBUCKETS];
    D.nodes[ino % NBUCKETS] = n;
    return n;
}

static struct pent *pent_slot(struct pent *tab, size_t cap, uint64_t key)
{
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (cap - 1);
    while (tab[i].pgno && tab[i].pgno != key)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int pent_grow(struct fnode *n)
{
    size_t cap = n->cap ? n->cap * 2 : 64;
    struct pent *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -ENOMEM;
    for (size_t i = 0; i < n->cap; i++)
        if (n->tab[i].pgno)
            *pent_slot(tab, cap, n->tab[i].pgno) = n->tab[i];
    free(n->tab);
    n->tab = tab;
    n->cap = cap;
    return 0;
}

/* Note that page pg of n is about to change: remember its durable bytes the
 * first time since the last fsync; a lost page becomes dirty again. */
static int page_touch(struct fnode *n, uint64_t pg, const unsigned char *pre, size_t pre_len)
{
    struct pent *e;

    if ((n->n + 1) * 4 > n->cap * 3 && pent_grow(n) < 0)
        return -ENOMEM;
    e = pent_slot(n->tab, n->cap, pg + 1);
    if (e->pgno) {
        e->lost = 0;
        return 0;
    }
    e->pgno = pg + 1;
    e->seq = ++D.seq;
    e->lost = 0;
    e->data = NULL;
    e->len = 0;
    if ((off_t)(pg * PAGE) < n->durable) {
        off_t left = n->durable - (off_t)(pg * PAGE);
        uint32_t len = left < (off_t)PAGE ? (uint32_t)left : PAGE;
        ssize_t got;
        e->data = malloc(len);
        if (!e->data) {
            e->pgno = 0;
            return -ENOMEM;
        }
        if (pre && pre_len >= len) {   /* the caller read the range already */
            memcpy(e->data, pre, len);
            got = (ssize_t)len;
        } else {
            got = pread(n->fd, e->data, len, (off_t)(pg * PAGE));
        }
        /* Durable bytes that cannot be read cannot be restored: refuse the
         * change (the operation fails with EIO) rather than log less. */
        if (got != (ssize_t)len) {
            free(e->data);
            e->data = NULL;
            e->pgno = 0;
            return got < 0 ? neg_errno() : -EIO;
        }
        e->len = len;
    }
    n->n++;
    return 0;
}

/* Touch every page of [off, off+len).  The durable bytes of the pages are
 * read with one pread for the whole range (up to 1 MiB at a time), not one
 * per page: overwrites of synced data stay fast.  The read goes to one
 * scratch buffer kept for the daemon's life (callers hold D.mu): a fresh
 * 1 MiB malloc/free between the per-page mallocs fragmented the heap and
 * _int_malloc's bin scans took half the time of an overwrite. */
static int range_touch(struct fnode *n, off_t off, off_t len)
{
    static unsigned char *scratch;
    uint64_t first, last;
    unsigned char *buf = NULL;
    ssize_t got = 0;

    if (len <= 0)
        return 0;
    first = (uint64_t)off / PAGE;
    last = (uint64_t)(off + len - 1) / PAGE;
    if ((off_t)(first * PAGE) < n->durable && last - first < 256) {
        size_t want = (size_t)(last - first + 1) * PAGE;
        if (!scratch)
            scratch = malloc(256 * PAGE);
        buf = scratch;
        if (buf)
            got = pread(n->fd, buf, want, (off_t)(first * PAGE));
        if (got < 0)
            got = 0;
    }
    for (uint64_t pg = first; pg <= last; pg++) {
        size_t at = (size_t)(pg - first) * PAGE;
        int rc = buf ? page_touch(n, pg, buf + at, (size_t)got > at ? (size_t)got - at : 0)
                     : page_touch(n, pg, NULL, 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void node_free(struct fnode *n)
{
    for (size_t i = 0; i < n->cap; i++)
        free(n->tab[i].data);
    free(n->tab);
    if (n->fd >= 0)
        close(n->fd);
    free(n);
}

/* fsync of n succeeded: every dirty page is durable, lost ones stay lost. */
static void node_sync(struct fnode *n)
{
    struct stat st;
    size_t kept = 0;

    for (size_t i = 0; i < n->cap; i++) {
        struct pent *e = &n->tab[i];
        if (!e->pgno)
            continue;
        if (e->lost) {
            kept++;
            continue;
        }
        free(e->data);
        memset(e, 0, sizeof *e);
    }
    if (kept) {     /* rehash the survivors */
        struct pent *old = n->tab;
        size_t cap = n->cap;
        n->tab = NULL;
        n->cap = 0;
        n->n = 0;
        while (n->cap < kept * 2 + 64)
            if (pent_grow(n) < 0)
                break;
        for (size_t i = 0; i < cap; i++)
            if (old[i].pgno) {
                *pent_slot(n->tab, n->cap, old[i].pgno) = old[i];
                n->n++;
            }
        free(old);
    } else {
        n->n = 0;
    }
    if (fstat(n->fd, &st) == 0)
        n->durable = st.st_size;
}

/* A failed fsync under fsync-fail: the dirty pages are "written" and lost. */
static void node_lose(struct fnode *n)
{
    for (size_t i = 0; i < n->cap; i++)
        if (n->tab[i].pgno)
            n->tab[i].lost = 1;
}

static void nodes_clear(void)
{
    for (size_t b = 0; b < NBUCKETS; b++) {
        struct fnode *n = D.nodes[b];
        while (n) {
            struct fnode *next = n->next;
            node_free(n);
            n = next;
        }
        D.nodes[b] = NULL;
    }
}

/* ---------- the namespace log ---------- */

static int mop_add(enum mop_kind kind, const char *a, const char *b, const char *trash)
{
    struct mop *m;
    if (D.n_mops == D.cap_mops) {
        size_t cap = D.cap_mops ? D.cap_mops * 2 : 64;
        struct mop *p = realloc(D.mops, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        D.mops = p;
        D.cap_mops = cap;
    }
    m = &D.mops[D.n_mops];
    m->kind = kind;
    m->a = strdup(a);
    m->b = b ? strdup(b) : NULL;
    m->trash = trash ? strdup(trash) : NULL;
    if (!m->a || (b && !m->b) || (trash && !m->trash)) {
        free(m->a);
        free(m->b);
        free(m->trash);
        return -ENOMEM;
    }
    D.n_mops++;
    return 0;
}

/* A fresh name in the trash directory. */
static void trash_name(char *buf, size_t len)
{
    snprintf(buf, len, "%llu", (unsigned long long)++D.trash_seq);
}

/* Forget a parked entry for good (its operation committed). */
static void trash_drop(const char *t)
{
    struct stat st;
    if (fstatat(D.tfd, t, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        (void)unlinkat(D.tfd, t, AT_REMOVEDIR);
        return;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
        struct fnode **pp = &D.nodes[st.st_ino % NBUCKETS];
        while (*pp) {
            if ((*pp)->dev == st.st_dev && (*pp)->ino == st.st_ino) {
                struct fnode *n = *pp;
                *pp = n->next;
                node_free(n);
                break;
            }
            pp = &(*pp)->next;
        }
    }
    (void)unlinkat(D.tfd, t, 0);
}

static void mop_free(struct mop *m)
{
    free(m->a);
    free(m->b);
    free(m->trash);
}

/* Commit the first k pending operations. */
static void mops_commit(size_t k)
{
    if (k == 0)   /* also: D.mops may still be NULL, and memmove(NULL, ...) is undefined */
        return;
    for (size_t i = 0; i < k; i++) {
        if (D.mops[i].trash)
            trash_drop(D.mops[i].trash);
        mop_free(&D.mops[i]);
    }
    memmove(D.mops, D.mops + k, (D.n_mops - k) * sizeof *D.mops);
    D.n_mops -= k;
}

/* Undo one pending namespace operation.  0, or -1 with why naming it: the
 * namespace is then in no state a cut names. */
static int mop_undo(const struct mop *m, char *why, size_t why_len)
{
    int rc = 0;

    switch (m->kind) {
    case M_CREATE:
        rc = unlinkat(D.bfd, m->a, 0);
        break;
    case M_MKDIR:
        rc = unlinkat(D.bfd, m->a, AT_REMOVEDIR);
        break;
    case M_UNLINK:
    case M_RMDIR:
        rc = renameat(D.tfd, m->trash, D.bfd, m->a);
        break;
    case M_RENAME:
        rc = renameat(D.bfd, m->b, D.bfd, m->a);
        if (rc == 0 && m->trash)
            rc = renameat(D.tfd, m->trash, D.bfd, m->b);
        break;
    case M_EXCHANGE:
        rc = renameat2(D.bfd, m->a, D.bfd, m->b, RENAME_EXCHANGE);
        break;
    }
    if (rc == 0)
        return 0;
    snprintf(why, why_len, "undoing %s %.200s%s%.200s: %s", mop_names[m->kind], m->a,
             m->b ? " -> " : "", m->b ? m->b : "", strerror(errno));
    return -1;
}

static int mop_touches(const struct mop *m, const char *dir)
{
    char p[PATH_MAX];
    parent_of(m->a, p, sizeof p);
    if (strcmp(p, dir) == 0)
        return 1;
    if (m->b) {
        parent_of(m->b, p, sizeof p);
        if (strcmp(p, dir) == 0)
            return 1;
    }
    return 0;
}

/* fsync of directory dir: commit up to the last pending op touching it. */
static void mops_commit_dir(const char *dir)
{
    size_t last = 0;
    for (size_t i = 0; i < D.n_mops; i++)
        if (mop_touches(&D.mops[i], dir))
            last = i + 1;
    mops_commit(last);
}

/* ---------- operation bracket: freeze, counting, fault rules ---------- */

static int rule_fires(const char *op, const char *path)
{
    for (size_t i = 0; i < D.n_rules; i++) {
        struct rule *r = &D.rules[i];
        if (strcmp(r->op, "any") != 0 && strcmp(r->op, op) != 0)
            continue;
        if (r->glob[0] && fnmatch(r->glob, path ? path : "", 0) != 0)
            continue;
        r->hits++;
        if (r->hits >= r->nth && (r->times == 0 || r->hits < r->nth + r->times)) {
            D.faults++;
            return -r->err;
        }
    }
    return 0;
}

/* Enter a persistence operation: wait while frozen (EIO if a cut happened
 * meanwhile: that disk is gone), count it, apply fault rules.  On return 0
 * or a fault, mu is HELD; op_end releases it.  *fault_out gets the injected
 * error (0 none). */
/* Wait on cv for at most 100 ms (so a frozen request notices shutdown:
 * libfuse joins its workers with cancellation disabled). */
static void cv_wait_100ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&D.cv, &D.mu, &ts);
}

static int op_begin(const char *op, const char *path, int *fault_out)
{
    uint64_t g;
    int waited;

    pthread_mutex_lock(&D.mu);
    g = D.gen;
    /* `blocked` tells the caller the program reached the request after the
     * freeze point and runs no more code: the crash point is then exact in
     * what the program did too (acknowledgements sent), not just in the
     * operations the file system saw. */
    waited = D.frozen;
    D.blocked += waited;
    while (D.frozen && !(D.se && fuse_session_exited(D.se)))
        cv_wait_100ms();
    D.blocked -= waited;
    if (g != D.gen || D.frozen) {
        pthread_mutex_unlock(&D.mu);
        return -EIO;
    }
    D.ops++;
    *fault_out = rule_fires(op, path);
    return 0;
}

static int op_end(int rc)
{
    if (D.freeze_at && D.ops >= D.freeze_at && !D.frozen) {
        D.frozen = 1;
        pthread_cond_broadcast(&D.cv);
    }
    pthread_mutex_unlock(&D.mu);
    return rc;
}

#define OP_BEGIN(name, path)                      \
    int fault_ = 0;                               \
    do {                                          \
        int brc_ = op_begin(name, path, &fault_); \
        if (brc_ < 0)                             \
            return brc_;                          \
        if (fault_)                               \
            return op_end(fault_);                \
    } while (0)

/* ---------- cut ---------- */

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
        if (e->data)
            rc = pwrite_all(n->fd, e->data, e->len, off);
        else
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
        c->meta = (long long)torn_rng_below(&r, D.n_mops + 1);
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
    int process = D.model == TORN_FS_PROCESS;
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

static int keep_piece(const struct torn_fs_state *c, size_t i, const struct pent *e, struct torn_rng *r)
{
    if (D.model == TORN_FS_PROCESS && c->meta < 0 && c->data == TORN_FS_DATA_ALL)
        return 1;
    if (e->lost && D.model != TORN_FS_PROCESS)
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
static int do_cut(char *args, char *reply, size_t len)
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
        for (struct fnode *n = D.nodes[b]; n; n = n->next)
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
        for (struct fnode *n = D.nodes[b]; n; n = n->next)
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
        for (struct fnode *n = D.nodes[b]; n; n = n->next)
            if (node_restore(n, keep, ps, n_ps, failed, sizeof failed) < 0 && !why[0])
                snprintf(why, sizeof why, "%s", failed);
    meta_keep = (c.meta < 0 || (size_t)c.meta > D.n_mops) ? D.n_mops : (size_t)c.meta;
    torn_fs_state_format(&c, id, sizeof id);
    snprintf(reply, len, "ok state=%s kept_meta=%zu/%zu kept_pages=%zu/%zu model=%s", id,
             meta_keep, D.n_mops, kept, n_ps, torn_fs_model_name(D.model));
    for (size_t i = D.n_mops; i > meta_keep; i--)
        if (mop_undo(&D.mops[i - 1], failed, sizeof failed) < 0 && !why[0])
            snprintf(why, sizeof why, "%s", failed);
    if (why[0])
        snprintf(reply, len, "err cut: state %s not produced: %s", id, why);
    for (size_t i = meta_keep; i < D.n_mops; i++)
        mop_free(&D.mops[i]);
    D.n_mops = meta_keep;
    mops_commit(D.n_mops);
    nodes_clear();
    free(ps);
    free(keep);
    D.cuts++;
    D.gen++;
    D.frozen = 0;
    D.freeze_at = 0;
    pthread_cond_broadcast(&D.cv);
    return why[0] ? -1 : 0;
}

/* ---------- control commands ---------- */

static void status_line(char *reply, size_t len)
{
    uint64_t dirty = 0, lost = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct fnode *n = D.nodes[b]; n; n = n->next)
            for (size_t i = 0; i < n->cap; i++)
                if (n->tab[i].pgno) {
                    dirty++;
                    lost += n->tab[i].lost != 0;
                }
    snprintf(reply, len,
             "ok ops=%llu frozen=%d blocked=%d freeze_at=%llu pending_meta=%zu dirty_pages=%llu "
             "lost_pages=%llu cuts=%llu faults=%llu model=%s pid=%ld",
             (unsigned long long)D.ops, D.frozen, D.blocked, (unsigned long long)D.freeze_at,
             D.n_mops,
             (unsigned long long)dirty, (unsigned long long)lost, (unsigned long long)D.cuts,
             (unsigned long long)D.faults, torn_fs_model_name(D.model), (long)getpid());
}

static void log_lines(char *reply, size_t len)
{
    size_t off = (size_t)snprintf(reply, len, "ok pending_meta=%zu", D.n_mops);
    for (size_t i = 0; i < D.n_mops && off < len; i++)
        off += (size_t)snprintf(reply + off, len - off, " | %s %s%s%s", mop_names[D.mops[i].kind],
                                D.mops[i].a, D.mops[i].b ? " -> " : "",
                                D.mops[i].b ? D.mops[i].b : "");
}

static int errno_parse(const char *s)
{
    static const struct {
        const char *name;
        int e;
    } t[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
             {"EFBIG", EFBIG}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcasecmp(s, t[i].name) == 0)
            return t[i].e;
    return 0;
}

/* The one number argument of a control command (strict, in [lo, hi]); on
 * error reply is "err <what>: expected ...". */
static int ctl_number(const char *what, const char *arg, long long lo, long long hi,
                      long long *out, char *reply, size_t len)
{
    struct torn_err e = {0};
    char buf[64];
    size_t n;

    arg = arg ? arg + strspn(arg, " \t") : "";   /* blanks separate words */
    n = strlen(arg);
    while (n && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
        n--;
    snprintf(buf, sizeof buf, "%.*s", (int)n, arg);
    if (torn_parse_int(what, n < sizeof buf ? buf : arg, lo, hi, out, &e) == 0)
        return 0;
    snprintf(reply, len, "err %s", e.msg);
    return -1;
}

/* rule OP ERR [path=GLOB] [nth=N] [times=K] */
static void add_rule(char *args, char *reply, size_t len)
{
    static const char *const ops[] = {"write", "fsync", "rename", "create", "unlink",
                                      "truncate", "mkdir", "fsyncdir", "any"};
    struct rule r = {.nth = 1, .times = 1};
    char *op = strtok(args, " \t"), *er = strtok(NULL, " \t");
    size_t i;

    if (!op || !er) {
        snprintf(reply, len, "err usage: rule OP ERR [path=GLOB] [nth=N] [times=K]");
        return;
    }
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0]) {
        snprintf(reply, len, "err unknown rule op '%s' (write|fsync|fsyncdir|rename|create|"
                             "unlink|truncate|mkdir|any)", op);
        return;
    }
    snprintf(r.op, sizeof r.op, "%s", op);
    r.err = errno_parse(er);
    if (!r.err) {
        snprintf(reply, len, "err unknown error '%s' (EIO|ENOSPC|EDQUOT|EROFS|EFBIG)", er);
        return;
    }
    for (char *tok = strtok(NULL, " \t"); tok; tok = strtok(NULL, " \t")) {
        long long v = 0;
        if (strncmp(tok, "path=", 5) == 0) {
            snprintf(r.glob, sizeof r.glob, "%s", tok + 5);
        } else if (strncmp(tok, "nth=", 4) == 0) {
            if (ctl_number("rule nth=N", tok + 4, 1, TORN_FS_COUNT_MAX, &v, reply, len) < 0)
                return;
            r.nth = (uint64_t)v;
        } else if (strncmp(tok, "times=", 6) == 0) {
            if (ctl_number("rule times=K", tok + 6, 0, TORN_FS_COUNT_MAX, &v, reply, len) < 0)
                return;
            r.times = (uint64_t)v;
        } else {
            snprintf(reply, len, "err bad rule argument '%.60s'", tok);
            return;
        }
    }
    if (D.n_rules == MAX_RULES) {
        snprintf(reply, len, "err at most %d rules", MAX_RULES);
        return;
    }
    D.rules[D.n_rules++] = r;
    snprintf(reply, len, "ok rule %zu: %s %s path=%s nth=%llu times=%llu", D.n_rules, r.op, er,
             r.glob[0] ? r.glob : "*", (unsigned long long)r.nth, (unsigned long long)r.times);
}

/* wait MS: until frozen or MS elapsed.  Called with mu held. */
static void wait_frozen(long ms, char *reply, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!D.frozen)
        if (pthread_cond_timedwait(&D.cv, &D.mu, &ts) == ETIMEDOUT)
            break;
    snprintf(reply, len, "ok frozen=%d ops=%llu", D.frozen, (unsigned long long)D.ops);
}

static void run_command(char *line, char *reply, size_t len)
{
    char *args, *cmd = strtok_r(line, " \t\r\n", &args);
    enum torn_fs_model m;

    if (!cmd) {
        snprintf(reply, len, "err empty command");
        return;
    }
    if (args)
        args[strcspn(args, "\r\n")] = 0;
    pthread_mutex_lock(&D.mu);
    if (strcmp(cmd, "status") == 0) {
        status_line(reply, len);
    } else if (strcmp(cmd, "log") == 0) {
        log_lines(reply, len);
    } else if (strcmp(cmd, "model") == 0) {
        if (args && torn_fs_model_parse(args, &m, NULL) == 0) {
            D.model = m;
            snprintf(reply, len, "ok model=%s", torn_fs_model_name(m));
        } else {
            snprintf(reply, len, "err model must be process|power|fsync-fail");
        }
    } else if (strcmp(cmd, "sync") == 0) {
        mops_commit(D.n_mops);
        nodes_clear();
        snprintf(reply, len, "ok synced");
    } else if (strcmp(cmd, "counter-reset") == 0) {
        D.ops = 0;
        D.freeze_at = 0;
        snprintf(reply, len, "ok ops=0");
    } else if (strcmp(cmd, "freeze") == 0) {
        long long n;
        if (ctl_number("freeze N", args, 0, TORN_FS_COUNT_MAX, &n, reply, len) == 0) {
            D.freeze_at = (uint64_t)n;
            if (D.freeze_at && D.ops >= D.freeze_at)
                D.frozen = 1;
            snprintf(reply, len, "ok freeze_at=%llu", (unsigned long long)D.freeze_at);
        }
    } else if (strcmp(cmd, "thaw") == 0) {
        D.frozen = 0;
        D.freeze_at = 0;
        pthread_cond_broadcast(&D.cv);
        snprintf(reply, len, "ok thawed");
    } else if (strcmp(cmd, "wait") == 0) {
        long long ms;
        if (ctl_number("wait MS", args, 0, TORN_FS_WAIT_MAX_MS, &ms, reply, len) == 0)
            wait_frozen((long)ms, reply, len);
    } else if (strcmp(cmd, "cut") == 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", args ? args : "");
        do_cut(buf, reply, len);
    } else if (strcmp(cmd, "rule") == 0) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", args ? args : "");
        add_rule(buf, reply, len);
    } else if (strcmp(cmd, "rules-clear") == 0) {
        D.n_rules = 0;
        snprintf(reply, len, "ok rules cleared");
    } else {
        snprintf(reply, len, "err unknown command '%s' (status|model|sync|counter-reset|freeze|"
                             "thaw|wait|cut|rule|rules-clear|log)", cmd);
    }
    pthread_mutex_unlock(&D.mu);
}

/* ---------- the control socket ---------- */

/* 1 when the peer of control connection c may command this file system:
 * the daemon's own user or root.  The abstract socket's name is public
 * (the pid is in /proc/mounts) and abstract sockets have no file
 * permissions, so without this any local user could inject faults or cut
 * the power under another user's run. */
static int peer_allowed(int c)
{
    struct ucred cred;
    socklen_t len = sizeof cred;

    return getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred &&
           (cred.uid == 0 || cred.uid == geteuid());
}

/* One command per connection: read a line (5 s limit), run it, answer one
 * line.  A dedicated thread, so control works even when every FUSE worker
 * is blocked behind a freeze. */
static void *ctl_thread(void *arg)
{
    (void)arg;
    for (;;) {
        char line[1024], reply[REPLY_MAX];
        struct timeval tv = {5, 0};
        size_t n = 0, len;
        int c = accept4(D.lfd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        if (!peer_allowed(c)) {
            static const char no[] = "err permission denied: not the mount's owner\n";
            (void)!write(c, no, sizeof no - 1);
            close(c);
            continue;
        }
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        while (n < sizeof line - 1) {
            ssize_t r = read(c, line + n, sizeof line - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            if (memchr(line, '\n', n))
                break;
        }
        line[n] = 0;
        run_command(line, reply, sizeof reply - 1);
        len = strlen(reply);
        reply[len++] = '\n';
        (void)!write(c, reply, len);
        close(c);
    }
}

static int ctl_listen(int ready_fd)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, TORN_FS_SOCK_FMT, (long)getpid());
    pthread_t th;

    D.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (D.lfd < 0 ||
        bind(D.lfd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0 ||
        listen(D.lfd, 16) < 0 || pthread_create(&th, NULL, ctl_thread, NULL) != 0) {
        ready(ready_fd, "cannot create the control socket: %s", strerror(errno));
        return -1;
    }
    pthread_detach(th);
    return 0;
}

/* ---------- FUSE operations ---------- */

static struct ofile *OF(struct fuse_file_info *fi)
{
    return (struct ofile *)(uintptr_t)fi->fh;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (is_ctl(path)) {
        /* The mount's owner's alone (default_permissions enforces it). */
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        st->st_uid = geteuid();
        st->st_gid = getegid();
        return 0;
    }
    if (is_private(path))
        return -ENOENT;
    if (fi && OF(fi) && OF(fi)->fd >= 0)
        return fstat(OF(fi)->fd, st) < 0 ? neg_errno() : 0;
    return fstatat(D.bfd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
    ssize_t n;
    if (is_private(path))
        return -ENOENT;
    n = readlinkat(D.bfd, rel(path), buf, size - 1);
    if (n < 0)
        return neg_errno();
    buf[n] = 0;
    return 0;
}

static int new_entry_done(int rc, const char *path, enum mop_kind kind)
{
    if (rc < 0)
        return op_end(neg_errno());
    chown_to_caller(rel(path));
    rc = mop_add(kind, rel(path), NULL, NULL);
    return op_end(rc);
}

static int fs_mknod(const char *path, mode_t mode, dev_t dev)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("create", path);
    return new_entry_done(mknodat(D.bfd, rel(path), mode, dev), path, M_CREATE);
}

static int fs_mkdir(const char *path, mode_t mode)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("mkdir", path);
    return new_entry_done(mkdirat(D.bfd, rel(path), mode), path, M_MKDIR);
}

static int fs_symlink(const char *target, const char *path)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("create", path);
    return new_entry_done(symlinkat(target, D.bfd, rel(path)), path, M_CREATE);
}

static int fs_link(const char *from, const char *to)
{
    if (is_private(from) || is_private(to) || is_ctl(to))
        return -EPERM;
    OP_BEGIN("create", to);
    return new_entry_done(linkat(D.bfd, rel(from), D.bfd, rel(to), 0), to, M_CREATE);
}

/* unlink/rmdir: park the entry in the trash so a cut can bring it back. */
static int remove_entry(const char *path, const char *op, enum mop_kind kind)
{
    char t[32];
    int rc;
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN(op, path);
    if (kind == M_RMDIR) {   /* rmdir's checks: must be an empty directory */
        struct stat st;
        int dfd;
        DIR *dir;
        struct dirent *de;
        int n = 0;
        if (fstatat(D.bfd, rel(path), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return op_end(neg_errno());
        if (!S_ISDIR(st.st_mode))
            return op_end(-ENOTDIR);
        dfd = openat(D.bfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return op_end(neg_errno());
        dir = fdopendir(dfd);
        if (!dir) {
            close(dfd);
            return op_end(-EIO);
        }
        while ((de = readdir(dir)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                n++;
        closedir(dir);
        if (n)
            return op_end(-ENOTEMPTY);
    } else {
        struct stat st;
        if (fstatat(D.bfd, rel(path), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return op_end(neg_errno());
        if (S_ISDIR(st.st_mode))
            return op_end(-EISDIR);
    }
    trash_name(t, sizeof t);
    if (renameat(D.bfd, rel(path), D.tfd, t) < 0)
        return op_end(neg_errno());
    rc = mop_add(kind, rel(path), NULL, t);
    return op_end(rc);
}

static int fs_unlink(const char *path)
{
    return remove_entry(path, "unlink", M_UNLINK);
}

static int fs_rmdir(const char *path)
{
    return remove_entry(path, "unlink", M_RMDIR);
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
    char t[32];
    struct stat st;
    int have_to;

    if (is_private(from) || is_private(to) || is_ctl(from) || is_ctl(to))
        return -EPERM;
    OP_BEGIN("rename", to);
    if (flags & RENAME_EXCHANGE) {
        if (renameat2(D.bfd, rel(from), D.bfd, rel(to), RENAME_EXCHANGE) < 0)
            return op_end(neg_errno());
        return op_end(mop_add(M_EXCHANGE, rel(from), rel(to), NULL));
    }
    if (fstatat(D.bfd, rel(from), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return op_end(neg_errno());
    have_to = fstatat(D.bfd, rel(to), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (have_to && (flags & RENAME_NOREPLACE))
        return op_end(-EEXIST);
    if (have_to) {
        /* Park the replaced entry: a hard link keeps the replacement atomic
         * for files; a (necessarily empty) directory is moved first. */
        trash_name(t, sizeof t);
        if (S_ISDIR(st.st_mode)) {
            if (renameat(D.bfd, rel(to), D.tfd, t) < 0)
                return op_end(neg_errno());
        } else if (linkat(D.bfd, rel(to), D.tfd, t, 0) < 0) {
            return op_end(neg_errno());
        }
    }
    if (renameat(D.bfd, rel(from), D.bfd, rel(to)) < 0) {
        int e = neg_errno();
        if (have_to)
            (void)renameat(D.tfd, t, D.bfd, rel(to));
        return op_end(e);
    }
    return op_end(mop_add(M_RENAME, rel(from), rel(to), have_to ? t : NULL));
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    if (fi && OF(fi)->fd >= 0)
        return fchmod(OF(fi)->fd, mode) < 0 ? neg_errno() : 0;
    return fchmodat(D.bfd, rel(path), mode, 0) < 0 ? neg_errno() : 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    if (fi && OF(fi)->fd >= 0)
        return fchown(OF(fi)->fd, uid, gid) < 0 ? neg_errno() : 0;
    return fchownat(D.bfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
}

/* Truncate fd to size, keeping the undo log. Called inside OP_BEGIN. */
static int truncate_fd(int fd, off_t size)
{
    struct stat st;
    struct fnode *n;
    int rc;

    if (fstat(fd, &st) < 0)
        return neg_errno();
    if (!S_ISREG(st.st_mode))
        return ftruncate(fd, size) < 0 ? neg_errno() : 0;
    n = node_get(fd, st.st_dev, st.st_ino);
    if (!n)
        return -ENOMEM;
    if (size < st.st_size && size < n->durable) {
        off_t end = st.st_size < n->durable ? n->durable : st.st_size;
        rc = range_touch(n, size, end - size);
        if (rc < 0)
            return rc;
    }
    return ftruncate(fd, size) < 0 ? neg_errno() : 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    int fd, rc;
    if (is_private(path) || is_ctl(path))
        return is_ctl(path) ? 0 : -EPERM;
    OP_BEGIN("truncate", path);
    if (fi && OF(fi)->fd >= 0)
        return op_end(truncate_fd(OF(fi)->fd, size));
    fd = openat(D.bfd, rel(path), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return op_end(neg_errno());
    rc = truncate_fd(fd, size);
    close(fd);
    return op_end(rc);
}

static int ofile_new(int fd, struct fuse_file_info *fi)
{
    struct ofile *o = calloc(1, sizeof *o);
    struct stat st;
    if (!o) {
        close(fd);
        return -ENOMEM;
    }
    o->fd = fd;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        o->dev = st.st_dev;
        o->ino = st.st_ino;
    }
    fi->fh = (uint64_t)(uintptr_t)o;
    return 0;
}

static int ctl_open(struct fuse_file_info *fi)
{
    int rc = ofile_new(-1, fi);
    if (rc < 0)
        return rc;
    OF(fi)->ctl = 1;
    fi->direct_io = 1;
    fi->nonseekable = 0;
    return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    int fd, flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
    if (is_ctl(path))
        return ctl_open(fi);
    if (is_private(path))
        return -ENOENT;
    if (flags & O_TRUNC) {   /* only when the kernel passes O_TRUNC through */
        int rc;
        OP_BEGIN("truncate", path);
        fd = openat(D.bfd, rel(path), (flags & ~O_TRUNC) | O_CLOEXEC);
        if (fd < 0)
            return op_end(neg_errno());
        rc = truncate_fd(fd, 0);
        if (rc < 0) {
            close(fd);
            return op_end(rc);
        }
        op_end(0);
    } else {
        fd = openat(D.bfd, rel(path), flags | O_CLOEXEC);
        if (fd < 0)
            return neg_errno();
    }
    return ofile_new(fd, fi);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd, flags = fi->flags | O_CLOEXEC;
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("create", path);
    fd = openat(D.bfd, rel(path), (flags | O_CREAT | O_EXCL) & ~O_TRUNC, mode);
    if (fd >= 0) {
        int rc;
        chown_to_caller(rel(path));
        rc = mop_add(M_CREATE, rel(path), NULL, NULL);
        if (rc < 0) {
            close(fd);
            (void)unlinkat(D.bfd, rel(path), 0);
            return op_end(rc);
        }
    } else if (errno == EEXIST && !(fi->flags & O_EXCL)) {
        fd = openat(D.bfd, rel(path), (flags & ~(O_CREAT | O_TRUNC)));
        if (fd >= 0 && (fi->flags & O_TRUNC)) {
            int rc = truncate_fd(fd, 0);
            if (rc < 0) {
                close(fd);
                return op_end(rc);
            }
        }
    }
    if (fd < 0)
        return op_end(neg_errno());
    op_end(0);
    return ofile_new(fd, fi);
}

static int ctl_read(struct ofile *o, char *buf, size_t size, off_t off)
{
    if (o->reply_len == 0) {
        char line[] = "status";
        run_command(line, o->reply, sizeof o->reply - 1);
        o->reply_len = strlen(o->reply);
        o->reply[o->reply_len++] = '\n';
    }
    if (off >= (off_t)o->reply_len)
        return 0;
    if (size > o->reply_len - (size_t)off)
        size = o->reply_len - (size_t)off;
    memcpy(buf, o->reply + off, size);
    return (int)size;
}

static int ctl_write(struct ofile *o, const char *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n' || o->cmd_len == sizeof o->cmd - 1) {
            o->cmd[o->cmd_len] = 0;
            run_command(o->cmd, o->reply, sizeof o->reply - 1);
            o->reply_len = strlen(o->reply);
            o->reply[o->reply_len++] = '\n';
            o->cmd_len = 0;
        } else {
            o->cmd[o->cmd_len++] = buf[i];
        }
    }
    return (int)size;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    ssize_t n;
    (void)path;
    if (OF(fi)->ctl)
        return ctl_read(OF(fi), buf, size, off);
    n = pread(OF(fi)->fd, buf, size, off);
    return n < 0 ? neg_errno() : (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct ofile *o = OF(fi);
    struct fnode *n;
    ssize_t w;
    int rc;

    if (o->ctl)
        return ctl_write(o, buf, size);
    OP_BEGIN("write", path);
    if (fi->flags & O_APPEND) {
        struct stat st;
        if (fstat(o->fd, &st) < 0)
            return op_end(neg_errno());
        off = st.st_size;
    }
    n = node_get(o->fd, o->dev, o->ino);
    if (!n)
        return op_end(-ENOMEM);
    rc = range_touch(n, off, (off_t)size);
    if (rc < 0)
        return op_end(rc);
    w = (fi->flags & O_APPEND) ? write(o->fd, buf, size) : pwrite(o->fd, buf, size, off);
    return op_end(w < 0 ? neg_errno() : (int)w);
}

static int fs_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return fstatvfs(D.bfd, st) < 0 ? neg_errno() : 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
    struct ofile *o = OF(fi);
    (void)path;
    if (o->fd >= 0)
        close(o->fd);
    free(o);
    return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct ofile *o = OF(fi);
    struct fnode *n;
    (void)datasync;
    if (o->ctl)
        return 0;
    {
        int fault_ = 0, brc_ = op_begin("fsync", path, &fault_);
        if (brc_ < 0)
            return brc_;
        n = node_find(o->dev, o->ino);
        if (fault_) {
            if (n && D.model == TORN_FS_FSYNC_FAIL)
                node_lose(n);
            return op_end(fault_);
        }
    }
    if (n)
        node_sync(n);
    return op_end(0);
}

static int fs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    char r[PATH_MAX];
    (void)datasync;
    (void)fi;
    OP_BEGIN("fsyncdir", path);
    snprintf(r, sizeof r, "%s", rel(path));
    mops_commit_dir(r);
    return op_end(0);
}

struct odir {
    DIR *d;
    int root;
};

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
    int fd;
    struct odir *o;
    if (is_private(path))
        return -ENOENT;
    o = calloc(1, sizeof *o);
    if (!o)
        return -ENOMEM;
    fd = openat(D.bfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        free(o);
        return neg_errno();
    }
    o->d = fdopendir(fd);
    if (!o->d) {
        close(fd);
        free(o);
        return -ENOMEM;
    }
    o->root = strcmp(path, "/") == 0;
    fi->fh = (uint64_t)(uintptr_t)o;
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct odir *o = (struct odir *)(uintptr_t)fi->fh;
    struct dirent *de;
    (void)flags;
    (void)path;
    if (off == 0)
        rewinddir(o->d);
    else
        seekdir(o->d, off);
    while ((de = readdir(o->d))) {
        struct stat st = {0};
        if (o->root && strcmp(de->d_name, TORN_FS_PRIVATE) == 0)
            continue;
        st.st_ino = de->d_ino;
        st.st_mode = (mode_t)(DTTOIF(de->d_type));
        if (fill(buf, de->d_name, &st, telldir(o->d), 0))
            break;
    }
    return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
    struct odir *o = (struct odir *)(uintptr_t)fi->fh;
    (void)path;
    closedir(o->d);
    free(o);
    return 0;
}

static int fs_access(const char *path, int mask)
{
    if (is_ctl(path))
        return 0;
    if (is_private(path))
        return -ENOENT;
    return faccessat(D.bfd, rel(path), mask, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    if (is_ctl(path))
        return 0;
    if (is_private(path))
        return -ENOENT;
    if (fi && OF(fi)->fd >= 0)
        return futimens(OF(fi)->fd, tv) < 0 ? neg_errno() : 0;
    return utimensat(D.bfd, rel(path), tv, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
}

static int fs_fallocate(const char *path, int mode, off_t off, off_t len,
                        struct fuse_file_info *fi)
{
    struct ofile *o = OF(fi);
    struct fnode *n;
    int rc;
    if (o->ctl)
        return -EOPNOTSUPP;
    OP_BEGIN("write", path);
    n = node_get(o->fd, o->dev, o->ino);
    if (!n)
        return op_end(-ENOMEM);
    if (mode & ~FALLOC_FL_KEEP_SIZE) {   /* punch/zero/collapse change bytes */
        struct stat st;
        off_t end = fstat(o->fd, &st) == 0 ? st.st_size : off + len;
        rc = range_touch(n, off, end - off);
        if (rc < 0)
            return op_end(rc);
    }
    return op_end(fallocate(o->fd, mode, off, len) < 0 ? neg_errno() : 0);
}

static off_t fs_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
    off_t r;
    (void)path;
    if (OF(fi)->ctl)
        return off;
    r = lseek(OF(fi)->fd, off, whence);
    return r < 0 ? neg_errno() : r;
}

/* ---------- kernel node ids (low-level FUSE) ----------
 *
 * torn-fs serves the low-level API so that it, not libfuse, decides what a
 * node id names.  A node normally names a path and is resolved afresh on
 * every request (a power cut may change what a path holds).  When a rename
 * replaces a name, or an unlink removes it, the node the kernel may still
 * hold is DETACHED: it keeps an O_PATH descriptor of the inode it named, so
 * a GETATTR (fstat) or OPEN that the kernel sends on it acts on that file,
 * as on ext4.  (libfuse's path API answered those with ESTALE.)  A node
 * lives until the kernel forgets its last lookup. */

struct lnode {
    struct lnode *id_next, *path_next;
    uint64_t id, nlookup;
    char *path;   /* "/a/b"; a detached node keeps its last name */
    int dfd;      /* detached: O_PATH descriptor of its inode; else -1 */
    int hashed;   /* reachable by path (not detached) */
};

static struct {
    pthread_mutex_t mu;
    struct lnode *by_id[NBUCKETS], *by_path[NBUCKETS];
    uint64_t next_id;
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .next_id = FUSE_ROOT_ID};

static size_t path_hash(const char *p)
{
    size_t h = 5381;
    while (*p)
        h = h * 33 + (unsigned char)*p++;
    return h % NBUCKETS;
}

static struct lnode *ln_by_id(uint64_t id)
{
    for (struct lnode *n = L.by_id[id % NBUCKETS]; n; n = n->id_next)
        if (n->id == id)
            return n;
    return NULL;
}

static struct lnode *ln_by_path(const char *p)
{
    for (struct lnode *n = L.by_path[path_hash(p)]; n; n = n->path_next)
        if (strcmp(n->path, p) == 0)
            return n;
    return NULL;
}

static void ln_unhash_path(struct lnode *n)
{
    struct lnode **pp = &L.by_path[path_hash(n->path)];
    while (*pp && *pp != n)
        pp = &(*pp)->path_next;
    if (*pp)
        *pp = n->path_next;
    n->path_next = NULL;
    n->hashed = 0;
}

static void ln_hash_path(struct lnode *n)
{
    size_t h = path_hash(n->path);
    n->path_next = L.by_path[h];
    L.by_path[h] = n;
    n->hashed = 1;
}

/* The node named path, created if needed, with one more lookup; 0 if out
 * of memory.  The root is FUSE_ROOT_ID. */
static uint64_t ln_enter(const char *path)
{
    struct lnode *n;
    uint64_t id = 0;
    pthread_mutex_lock(&L.mu);
    n = ln_by_path(path);
    if (!n && (n = calloc(1, sizeof *n)) != NULL) {
        n->path = strdup(path);
        if (!n->path) {
            free(n);
            n = NULL;
        } else {
            n->id = strcmp(path, "/") == 0 ? FUSE_ROOT_ID : ++L.next_id;
            n->dfd = -1;
            n->id_next = L.by_id[n->id % NBUCKETS];
            L.by_id[n->id % NBUCKETS] = n;
            ln_hash_path(n);
        }
    }
    if (n) {
        n->nlookup++;
        id = n->id;
    }
    pthread_mutex_unlock(&L.mu);
    return id;
}

static void ln_free(struct lnode *n)
{
    struct lnode **pp = &L.by_id[n->id % NBUCKETS];
    while (*pp && *pp != n)
        pp = &(*pp)->id_next;
    if (*pp)
        *pp = n->id_next;
    if (n->dfd >= 0)
        close(n->dfd);
    if (n->hashed)
        ln_unhash_path(n);
    free(n->path);
    free(n);
}

static void ln_forget(uint64_t id, uint64_t count)
{
    struct lnode *n;
    pthread_mutex_lock(&L.mu);
    n = ln_by_id(id);
    if (n && id != FUSE_ROOT_ID) {
        n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
        if (n->nlookup == 0)
            ln_free(n);
    }
    pthread_mutex_unlock(&L.mu);
}

/* Path of node id (a copy) and, for a detached node, a duplicate of its
 * descriptor in *dfd (else -1).  Also records the caller's ids. */
static int ln_get(fuse_req_t req, uint64_t id, char **path, int *dfd)
{
    const struct fuse_ctx *c = fuse_req_ctx(req);
    struct lnode *n;
    int rc = 0;
    T_uid = c ? c->uid : 0;
    T_gid = c ? c->gid : 0;
    *path = NULL;
    *dfd = -1;
    pthread_mutex_lock(&L.mu);
    n = ln_by_id(id);
    if (!n || (!n->hashed && n->dfd < 0))   /* its inode could not be kept */
        rc = -ESTALE;
    else if (!(*path = strdup(n->path)))
        rc = -ENOMEM;
    else if (n->dfd >= 0 && (*dfd = fcntl(n->dfd, F_DUPFD_CLOEXEC, 0)) < 0)
        rc = neg_errno();
    pthread_mutex_unlock(&L.mu);
    if (rc < 0) {
        free(*path);
        *path = NULL;
    }
    return rc;
}

/* The name path is gone (unlinked or replaced): its node, if any, keeps
 * fd (O_PATH of the inode it named; -1: none could be taken, the node is
 * stale); returns fd if no node took it. */
static int ln_detach_locked(const char *path, int fd)
{
    struct lnode *n = ln_by_path(path);
    if (n && n->id != FUSE_ROOT_ID) {
        ln_unhash_path(n);
        n->dfd = fd;
        fd = -1;
    }
    return fd;
}

static void ln_detach(const char *path, int fd)
{
    pthread_mutex_lock(&L.mu);
    fd = ln_detach_locked(path, fd);
    pthread_mutex_unlock(&L.mu);
    if (fd >= 0)
        close(fd);
}

/* Rename from -> to in the table: the node named from and every node
 * below it.  An entry that cannot be renamed (no memory) keeps its name. */
static void ln_move_locked(const char *from, const char *to)
{
    size_t fl = strlen(from);
    struct lnode *moved = NULL, *n, *next;
    for (size_t b = 0; b < NBUCKETS; b++) {
        struct lnode **pp = &L.by_path[b];
        while ((n = *pp)) {
            if (strncmp(n->path, from, fl) == 0 && (!n->path[fl] || n->path[fl] == '/')) {
                *pp = n->path_next;
                n->path_next = moved;
                moved = n;
            } else {
                pp = &n->path_next;
            }
        }
    }
    for (n = moved; n; n = next) {
        char *p = torn_asprintf("%s%s", to, n->path + fl);
        next = n->path_next;
        if (p) {
            free(n->path);
            n->path = p;
        }
        ln_hash_path(n);
    }
}

/* A rename done in the backing directory, in the table at once: the node
 * replaced at to (if any) keeps fd; exchange swaps the two names. */
static void ln_rename(const char *from, const char *to, int fd, int exchange)
{
    pthread_mutex_lock(&L.mu);
    if (exchange) {
        ln_move_locked(from, "\001");
        ln_move_locked(to, from);
        ln_move_locked("\001", to);
    } else {
        fd = ln_detach_locked(to, fd);
        ln_move_locked(from, to);
    }
    pthread_mutex_unlock(&L.mu);
    if (fd >= 0)
        close(fd);
}

static void ln_clear(void)
{
    pthread_mutex_lock(&L.mu);
    for (size_t b = 0; b < NBUCKETS; b++)
        while (L.by_id[b])
            ln_free(L.by_id[b]);
    pthread_mutex_unlock(&L.mu);
}

/* ---------- low-level FUSE requests -> the path operations above ---------- */

/* A request's node: path (malloc'd) and, if detached, dfd (else -1). */
struct lq {
    char *path;
    int dfd;
};

static int lq_get(fuse_req_t req, fuse_ino_t ino, struct lq *q)
{
    int rc = ln_get(req, ino, &q->path, &q->dfd);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    return rc;
}

static void lq_done(struct lq *q)
{
    if (q->dfd >= 0)
        close(q->dfd);
    free(q->path);
}

/* parent's path + "/" + name (malloc'd), or NULL after replying an error.
 * A removed (detached) directory has no entries to reach. */
static char *lq_child(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct lq q;
    char *p = NULL;
    if (lq_get(req, parent, &q) < 0)
        return NULL;
    if (q.dfd >= 0)
        fuse_reply_err(req, ENOENT);
    else if (!(p = torn_asprintf("%s/%s", strcmp(q.path, "/") ? q.path : "", name)))
        fuse_reply_err(req, ENOMEM);
    lq_done(&q);
    return p;
}

static void reply_rc(fuse_req_t req, int rc)
{
    fuse_reply_err(req, rc < 0 ? -rc : 0);
}

/* Answer an entry request for path (one more lookup of its node). */
static void reply_entry_of(fuse_req_t req, const char *path, struct fuse_file_info *fi)
{
    struct fuse_entry_param e;
    int rc;
    memset(&e, 0, sizeof e);
    rc = fs_getattr(path, &e.attr, fi);
    if (rc < 0) {
        if (fi)
            fs_release(path, fi);
        fuse_reply_err(req, -rc);
        return;
    }
    e.ino = ln_enter(path);
    if (!e.ino) {
        if (fi)
            fs_release(path, fi);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if ((fi ? fuse_reply_create(req, &e, fi) : fuse_reply_entry(req, &e)) != 0) {
        if (fi)   /* the caller went away: nothing holds the node or file */
            fs_release(path, fi);
        ln_forget(e.ino, 1);
    }
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    char *p = lq_child(req, parent, name);
    if (p)
        reply_entry_of(req, p, NULL);
    free(p);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    ln_forget(ino, nlookup);
    fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
    for (size_t i = 0; i < count; i++)
        ln_forget(f[i].ino, f[i].nlookup);
    fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct lq q;
    struct stat st;
    int rc;
    if (lq_get(req, ino, &q) < 0)
        return;
    if (!fi && q.dfd >= 0)
        rc = fstat(q.dfd, &st) < 0 ? neg_errno() : 0;
    else
        rc = fs_getattr(q.path, &st, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, 0);
    lq_done(&q);
}

static int setattr_times(const char *path, const struct stat *a, int set,
                         struct fuse_file_info *fi)
{
    struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (set & FUSE_SET_ATTR_ATIME_NOW)
        tv[0].tv_nsec = UTIME_NOW;
    else if (set & FUSE_SET_ATTR_ATIME)
        tv[0] = a->st_atim;
    if (set & FUSE_SET_ATTR_MTIME_NOW)
        tv[1].tv_nsec = UTIME_NOW;
    else if (set & FUSE_SET_ATTR_MTIME)
        tv[1] = a->st_mtim;
    return fs_utimens(path, tv, fi);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a, int set,
                       struct fuse_file_info *fi)
{
    struct lq q;
    int rc = 0;
    if (lq_get(req, ino, &q) < 0)
        return;
    if (q.dfd >= 0 && !fi)   /* its name is gone; only an open file reaches it */
        rc = -ESTALE;
    if (!rc && (set & FUSE_SET_ATTR_MODE))
        rc = fs_chmod(q.path, a->st_mode, fi);
    if (!rc && (set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
        rc = fs_chown(q.path, (set & FUSE_SET_ATTR_UID) ? a->st_uid : (uid_t)-1,
                      (set & FUSE_SET_ATTR_GID) ? a->st_gid : (gid_t)-1, fi);
    if (!rc && (set & FUSE_SET_ATTR_SIZE))
        rc = fs_truncate(q.path, a->st_size, fi);
    if (!rc && (set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
        rc = setattr_times(q.path, a, set, fi);
    lq_done(&q);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        ll_getattr(req, ino, fi);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct lq q;
    char buf[PATH_MAX + 1];
    int rc;
    if (lq_get(req, ino, &q) < 0)
        return;
    rc = fs_readlink(q.path, buf, sizeof buf);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_readlink(req, buf);
    lq_done(&q);
}

/* mknod/mkdir/symlink/link: rc of the operation on path, then the entry. */
static void new_entry_reply(fuse_req_t req, char *path, int rc)
{
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        reply_entry_of(req, path, NULL);
    free(path);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev)
{
    char *p = lq_child(req, parent, name);
    if (p)
        new_entry_reply(req, p, fs_mknod(p, mode, rdev));
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    char *p = lq_child(req, parent, name);
    if (p)
        new_entry_reply(req, p, fs_mkdir(p, mode));
}

static void ll_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
    char *p = lq_child(req, parent, name);
    if (p)
        new_entry_reply(req, p, fs_symlink(target, p));
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
    struct lq q;
    char *p;
    if (lq_get(req, ino, &q) < 0)
        return;
    if (q.dfd >= 0) {
        fuse_reply_err(req, ENOENT);
    } else if ((p = lq_child(req, parent, name)) != NULL) {
        new_entry_reply(req, p, fs_link(q.path, p));
    }
    lq_done(&q);
}

/* O_PATH descriptor of the inode at path (-1 if none): taken before the
 * name goes, for the node the kernel may still hold. */
static int inode_ref(const char *path)
{
    return openat(D.bfd, rel(path), O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static void ll_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int dir)
{
    char *p = lq_child(req, parent, name);
    int fd, rc;
    if (!p)
        return;
    fd = inode_ref(p);
    rc = dir ? fs_rmdir(p) : fs_unlink(p);
    if (rc == 0)
        ln_detach(p, fd);
    else if (fd >= 0)
        close(fd);
    reply_rc(req, rc);
    free(p);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    ll_remove(req, parent, name, 0);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    ll_remove(req, parent, name, 1);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    char *from = lq_child(req, parent, name), *to;
    int fd = -1, rc;
    if (!from)
        return;
    to = lq_child(req, newparent, newname);
    if (!to) {
        free(from);
        return;
    }
    if (!(flags & RENAME_EXCHANGE))
        fd = inode_ref(to);
    rc = fs_rename(from, to, flags);
    if (rc == 0)
        ln_rename(from, to, fd, (flags & RENAME_EXCHANGE) != 0);
    else if (fd >= 0)
        close(fd);
    reply_rc(req, rc);
    free(from);
    free(to);
}

/* Open the inode a detached node names (its name was replaced or removed
 * after the kernel looked it up: on ext4 the open would have got it). */
static int open_detached(int dfd, struct fuse_file_info *fi)
{
    char p[64];
    int fd;
    snprintf(p, sizeof p, "/proc/self/fd/%d", dfd);
    fd = open(p, (fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_CLOEXEC);
    return fd < 0 ? neg_errno() : ofile_new(fd, fi);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct lq q;
    int rc;
    if (lq_get(req, ino, &q) < 0)
        return;
    rc = q.dfd >= 0 ? open_detached(q.dfd, fi) : fs_open(q.path, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) != 0)
        fs_release(q.path, fi);
    lq_done(&q);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    char *p = lq_child(req, parent, name);
    int rc;
    if (!p)
        return;
    rc = fs_create(p, mode, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        reply_entry_of(req, p, fi);
    free(p);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    char *buf = malloc(size ? size : 1);
    int n;
    (void)ino;
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    n = fs_read(NULL, buf, size, off, fi);
    if (n < 0)
        fuse_reply_err(req, -n);
    else
        fuse_reply_buf(req, buf, (size_t)n);
    free(buf);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct lq q;
    int n;
    if (lq_get(req, ino, &q) < 0)
        return;
    n = fs_write(q.path, buf, size, off, fi);
    if (n < 0)
        fuse_reply_err(req, -n);
    else
        fuse_reply_write(req, (size_t)n);
    lq_done(&q);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs st;
    int rc = fs_statfs("/", &st);
    (void)ino;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_statfs(req, &st);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    reply_rc(req, fs_release(NULL, fi));
}

/* fsync or fsyncdir (sync) of node ino. */
static void ll_sync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi,
                    int (*sync)(const char *, int, struct fuse_file_info *))
{
    struct lq q;
    if (lq_get(req, ino, &q) < 0)
        return;
    reply_rc(req, sync(q.path, datasync, fi));
    lq_done(&q);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    ll_sync(req, ino, datasync, fi, fs_fsync);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct lq q;
    int rc;
    if (lq_get(req, ino, &q) < 0)
        return;
    rc = q.dfd >= 0 ? -ENOENT : fs_opendir(q.path, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) != 0)
        fs_releasedir(q.path, fi);
    lq_done(&q);
}

struct dirbuf {
    fuse_req_t req;
    char *p;
    size_t size, len;
};

static int dir_fill(void *b, const char *name, const struct stat *st, off_t off,
                    enum fuse_fill_dir_flags flags)
{
    struct dirbuf *d = b;
    size_t need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
    (void)flags;
    if (d->len + need > d->size)
        return 1;
    fuse_add_direntry(d->req, d->p + d->len, d->size - d->len, name, st, off);
    d->len += need;
    return 0;
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct dirbuf d = {req, malloc(size ? size : 1), size, 0};
    int rc;
    (void)ino;
    if (!d.p) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    rc = fs_readdir(NULL, &d, dir_fill, off, fi, 0);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_buf(req, d.p, d.len);
    free(d.p);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    reply_rc(req, fs_releasedir(NULL, fi));
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    ll_sync(req, ino, datasync, fi, fs_fsyncdir);
}

static void ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct lq q;
    if (lq_get(req, ino, &q) < 0)
        return;
    reply_rc(req, q.dfd >= 0 ? (faccessat(q.dfd, "", mask, AT_EMPTY_PATH) < 0 ? neg_errno() : 0)
                             : fs_access(q.path, mask));
    lq_done(&q);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    struct lq q;
    if (lq_get(req, ino, &q) < 0)
        return;
    reply_rc(req, fs_fallocate(q.path, mode, off, len, fi));
    lq_done(&q);
}

static void ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
    off_t r = fs_lseek(NULL, off, whence, fi);
    (void)ino;
    if (r < 0)
        fuse_reply_err(req, (int)-r);
    else
        fuse_reply_lseek(req, r);
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
    /* Every name and attribute is asked again (entries and attributes are
     * answered with timeout 0) after a cut may have changed it; the kernel
     * must not buffer writes (write-through), and an open drops cached
     * pages (keep_cache 0). */
    (void)userdata;
    conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC |
                              FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
}

static const struct fuse_lowlevel_ops ll_ops = {
    .init = ll_init,
    .lookup = ll_lookup,
    .forget = ll_forget,
    .forget_multi = ll_forget_multi,
    .getattr = ll_getattr,
    .setattr = ll_setattr,
    .readlink = ll_readlink,
    .mknod = ll_mknod,
    .mkdir = ll_mkdir,
    .unlink = ll_unlink,
    .rmdir = ll_rmdir,
    .symlink = ll_symlink,
    .rename = ll_rename,
    .link = ll_link,
    .open = ll_open,
    .read = ll_read,
    .write = ll_write,
    .statfs = ll_statfs,
    .release = ll_release,
    .fsync = ll_fsync,
    .opendir = ll_opendir,
    .readdir = ll_readdir,
    .releasedir = ll_releasedir,
    .fsyncdir = ll_fsyncdir,
    .access = ll_access,
    .create = ll_create,
    .fallocate = ll_fallocate,
    .lseek = ll_lseek,
};

/* ---------- serving ---------- */

const char *torn_fs_model_name(enum torn_fs_model m)
{
    switch (m) {
    case TORN_FS_PROCESS:
        return "process";
    case TORN_FS_POWER:
        return "power";
    case TORN_FS_FSYNC_FAIL:
        return "fsync-fail";
    }
    return "?";
}

int torn_fs_model_parse(const char *s, enum torn_fs_model *out, struct torn_err *err)
{
    if (strcmp(s, "process") == 0)
        *out = TORN_FS_PROCESS;
    else if (strcmp(s, "power") == 0)
        *out = TORN_FS_POWER;
    else if (strcmp(s, "fsync-fail") == 0)
        *out = TORN_FS_FSYNC_FAIL;
    else
        return torn_err_set(err, TORN_E_CONFIG,
                            "unknown torn-fs crash model '%s' (process|power|fsync-fail)", s);
    return 0;
}

static void ready(int fd, const char *fmt, ...)
{
    char line[300];
    va_list ap;
    int n;
    if (fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(fd, line, (size_t)n);
}

/* Create BACKING/.tornfs/trash afresh (a previous daemon's leftovers are
 * entries that were unlinked: gone for good). */
static int private_dirs(const char *backing, int ready_fd)
{
    char *priv = torn_asprintf("%s/%s", backing, TORN_FS_PRIVATE);
    char *trash = torn_asprintf("%s/%s/trash", backing, TORN_FS_PRIVATE);
    int rc = -1;
    if (!priv || !trash)
        goto out;
    torn_rmtree(priv);
    if (mkdir(priv, 0700) < 0 || mkdir(trash, 0700) < 0) {
        ready(ready_fd, "cannot create %s: %s", trash, strerror(errno));
        goto out;
    }
    D.tfd = open(trash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = D.tfd < 0 ? -1 : 0;
out:
    free(priv);
    free(trash);
    return rc;
}

/* Stop when parent is gone: it was reparented away from it, however parent
 * died (the parent-death signal alone misses a parent whose forking thread
 * ended first).  Checked every 200 ms.  The FUSE loop runs in the main
 * thread: a SIGTERM there ends it like a `torn fs umount`, and the unmount
 * is lazy (the dead programs may still hold files). */
static void *parent_thread(void *arg)
{
    pid_t parent = (pid_t)(intptr_t)arg;

    while (getppid() == parent)
        torn_sleep_ns(200000000);
    pthread_kill(D.main_thread, SIGTERM);
    return NULL;
}

static int watch_parent(pid_t parent, int ready_fd)
{
    pthread_t th;

    D.main_thread = pthread_self();
    if (parent <= 0)
        return 0;
    if (pthread_create(&th, NULL, parent_thread, (void *)(intptr_t)parent) != 0) {
        ready(ready_fd, "cannot start the parent watcher: %s", strerror(errno));
        return -1;
    }
    pthread_detach(th);
    return 0;
}

/* Set up D and the backing directory.  0, or -1 after telling ready_fd. */
static int serve_init(const char *backing, enum torn_fs_model model, int ready_fd)
{
    memset(&D, 0, sizeof D);
    pthread_mutex_init(&D.mu, NULL);
    pthread_cond_init(&D.cv, NULL);
    D.model = model;
    D.bfd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (D.bfd < 0) {
        ready(ready_fd, "cannot open backing directory %s: %s", backing, strerror(errno));
        return -1;
    }
    if (private_dirs(backing, ready_fd) < 0)
        return -1;
    if (!ln_enter("/")) {
        ready(ready_fd, "out of memory");
        return -1;
    }
    return 0;
}

/* Answer ready_fd "ok" and serve until unmounted or told to stop: 0 after a
 * clean end of the loop, 1 if it failed, -1 before it started. */
static int serve_loop(struct fuse_session *se, int ready_fd)
{
    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    int rc;

    if (!lc) {
        ready(ready_fd, "out of memory");
        return -1;
    }
    ready(ready_fd, "ok");
    if (ready_fd >= 0)
        close(ready_fd);
    fuse_loop_cfg_set_idle_threads(lc, 8);
    fuse_loop_cfg_set_max_threads(lc, 64);
    rc = fuse_session_loop_mt(se, lc) == 0 ? 0 : 1;
    fuse_loop_cfg_destroy(lc);
    return rc;
}

int torn_fs_serve(const char *backing, const char *mountpoint, enum torn_fs_model model,
                  unsigned flags, int ready_fd, pid_t parent)
{
    char fsname[64], *priv;
    char *argv[8];
    int argc = 0, rc = -1, mounted = 0, handlers = 0;
    struct fuse_args args;
    struct fuse_session *se;

    if (serve_init(backing, model, ready_fd) < 0)
        return 2;
    snprintf(fsname, sizeof fsname, "-ofsname=tornfs-%ld,subtype=torn", (long)getpid());
    argv[argc++] = (char *)"tornfs";
    argv[argc++] = fsname;
    /* Other users (a Postgres run as `postgres` by root) reach the mount
     * only when asked, and then under the backing files' permissions. */
    argv[argc++] = (char *)(flags & TORN_FS_ALLOW_OTHER ? "-oallow_other,default_permissions"
                                                        : "-odefault_permissions");
    argv[argc] = NULL;
    args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
    se = fuse_session_new(&args, &ll_ops, sizeof ll_ops, NULL);
    if (!se) {
        ready(ready_fd, "fuse_session_new failed");
        goto unwind;
    }
    if (fuse_session_mount(se, mountpoint) != 0) {
        ready(ready_fd, "cannot mount torn-fs at %s (is /dev/fuse usable?)", mountpoint);
        goto unwind;
    }
    mounted = 1;
    if (fuse_set_signal_handlers(se) != 0) {
        ready(ready_fd, "cannot install signal handlers");
        goto unwind;
    }
    handlers = 1;
    D.se = se;
    if (ctl_listen(ready_fd) == 0 && watch_parent(parent, ready_fd) == 0)
        rc = serve_loop(se, ready_fd);
unwind:
    if (handlers)
        fuse_remove_signal_handlers(se);
    if (mounted)
        fuse_session_unmount(se);
    if (se)
        fuse_session_destroy(se);
    ln_clear();
    if (rc < 0)
        return 2;
    /* A clean shutdown keeps everything: drop the parked entries. */
    priv = torn_asprintf("%s/%s", backing, TORN_FS_PRIVATE);
    if (priv)
        torn_rmtree(priv);
    free(priv);
    return rc;
}

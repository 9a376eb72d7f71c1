/* torn-fs undo log: for every file with unsynced data, the durable bytes of
 * each page changed since its last fsync and its durable size; the pending
 * namespace operations in order, with the entries they replaced or removed
 * parked in BACKING/.tornfs/trash until they commit. */
#include "fs/tornfs_int.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const torn_fsd_mop_names[] = {"create", "mkdir", "unlink", "rmdir", "rename",
                                         "exchange"};

/* Parent directory of a relative path ("a/b" -> "a", "b" -> "."), in buf. */
static void parent_of(const char *r, char *buf, size_t len)
{
    const char *s = strrchr(r, '/');
    if (!s)
        snprintf(buf, len, ".");
    else
        snprintf(buf, len, "%.*s", (int)(s - r), r);
}

struct fnode *torn_fsd_node_find(dev_t dev, ino_t ino)
{
    for (struct fnode *n = torn_fsd.nodes[ino % NBUCKETS]; n; n = n->next)
        if (n->dev == dev && n->ino == ino)
            return n;
    return NULL;
}

/* The node of an open backing fd, created with durable = current size. */
struct fnode *torn_fsd_node_get(int fd, dev_t dev, ino_t ino)
{
    struct fnode *n = torn_fsd_node_find(dev, ino);
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
    n->ufd = -1;
    n->redo_size = -1;
    n->durable = st.st_size;
    n->next = torn_fsd.nodes[ino % NBUCKETS];
    torn_fsd.nodes[ino % NBUCKETS] = n;
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

/* A new entry for page pg of n (first dirtied now), its durable bytes to be
 * in slot slot of n->ufd; NULL when out of memory. */
static struct pent *page_add(struct fnode *n, uint64_t pg, uint32_t slot)
{
    struct pent *e;

    if ((n->n + 1) * 4 > n->cap * 3 && pent_grow(n) < 0)
        return NULL;
    e = pent_slot(n->tab, n->cap, pg + 1);
    e->pgno = pg + 1;
    e->seq = ++torn_fsd.seq;
    e->lost = 0;
    e->slot = slot;
    e->len = 0;
    if ((off_t)(pg * PAGE) < n->durable) {
        off_t left = n->durable - (off_t)(pg * PAGE);
        e->len = left < (off_t)PAGE ? (uint32_t)left : PAGE;
    }
    n->n++;
    return e;
}

/* Copy len bytes of n at file offset off into ufd at slot: the
 * kernel copies them (sendfile), no page passes through this process and
 * no memory is allocated per page: the slots of a memfd are reused after
 * each fsync.  The old design (a malloc'd copy of every page) spent a third
 * of an overwrite in page faults.  0, or -errno (-EIO for a short copy:
 * durable bytes that cannot be read cannot be restored). */
int torn_fsd_save_bytes(struct fnode *n, off_t off, uint32_t slot, size_t len)
{
    off_t in = off;

    if (n->ufd < 0 && (n->ufd = memfd_create("tornfs-undo", MFD_CLOEXEC)) < 0)
        return neg_errno();
    if (lseek(n->ufd, (off_t)slot * PAGE, SEEK_SET) < 0)
        return neg_errno();
    while (len) {
        ssize_t got = sendfile(n->ufd, n->fd, &in, len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? neg_errno() : -EIO;
        len -= (size_t)got;
    }
    return 0;
}

int torn_fsd_slot_read(const struct fnode *n, uint32_t slot, unsigned char *buf, size_t len)
{
    ssize_t got = n->ufd < 0 ? -1 : pread(n->ufd, buf, len, (off_t)slot * PAGE);
    if (got == (ssize_t)len)
        return 0;
    return got < 0 && n->ufd >= 0 ? neg_errno() : -EIO;
}

/* The entry of page pg of n, or NULL when it is not logged. */
static struct pent *logged(struct fnode *n, uint64_t pg)
{
    struct pent *e = n->cap ? pent_slot(n->tab, n->cap, pg + 1) : NULL;
    return e && e->pgno ? e : NULL;
}

/* A run of durable bytes to save: file offset (-1: none yet), first slot,
 * length. */
struct run {
    off_t off;
    uint32_t slot;
    size_t len;
};

static int run_flush(struct fnode *n, struct run *r)
{
    int rc = r->off < 0 ? 0 : torn_fsd_save_bytes(n, r->off, r->slot, r->len);
    r->off = -1;
    r->len = 0;
    return rc;
}

/* Touch every page of [off, off+len): the first time since the last fsync
 * a page changes, its durable bytes are saved.  The pages new to the log
 * get consecutive slots, so the durable bytes of consecutive new pages are
 * saved with one copy, and all of them before any entry is made: a copy
 * that fails leaves the log as it was (the change must then not be made).
 * 0, or -errno. */
int torn_fsd_range_touch(struct fnode *n, off_t off, off_t len)
{
    struct run r = {-1, 0, 0};
    uint64_t first, last, k = 0, pg;
    int rc;

    if (len <= 0)
        return 0;
    first = (uint64_t)off / PAGE;
    last = (uint64_t)(off + len - 1) / PAGE;
    if (last - first >= UINT32_MAX - (uint64_t)n->slots)
        return -EFBIG;
    for (pg = first; pg <= last; pg++) {
        off_t at = (off_t)(pg * PAGE);
        if (logged(n, pg)) {        /* an already logged page ends a run */
            if ((rc = run_flush(n, &r)) < 0)
                return rc;
            continue;
        }
        if (at < n->durable) {
            if (r.off < 0) {
                r.off = at;
                r.slot = n->slots + (uint32_t)k;
            }
            r.len += n->durable - at < (off_t)PAGE ? (size_t)(n->durable - at) : PAGE;
        }
        k++;
    }
    if ((rc = run_flush(n, &r)) < 0)
        return rc;
    for (pg = first; pg <= last; pg++) {
        struct pent *e = logged(n, pg);
        if (e) {
            e->lost = 0;            /* a lost page becomes dirty again */
            continue;
        }
        if (!page_add(n, pg, n->slots))
            return -ENOMEM;
        n->slots++;
    }
    return 0;
}

static void node_free(struct fnode *n)
{
    free(n->tab);
    if (n->fd >= 0)
        close(n->fd);
    if (n->ufd >= 0)
        close(n->ufd);
    free(n);
}

/* fsync of n succeeded: every dirty page is durable, lost ones stay lost. */
void torn_fsd_node_sync(struct fnode *n)
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
    } else {        /* no saved bytes left: the slots (the memfd's pages) are reused */
        n->n = 0;
        n->slots = 0;
    }
    if (fstat(n->fd, &st) == 0)
        n->durable = st.st_size;
}

/* A failed fsync under fsync-fail: the dirty pages are "written" and lost. */
void torn_fsd_node_lose(struct fnode *n)
{
    for (size_t i = 0; i < n->cap; i++)
        if (n->tab[i].pgno)
            n->tab[i].lost = 1;
}

void torn_fsd_nodes_clear(void)
{
    for (size_t b = 0; b < NBUCKETS; b++) {
        struct fnode *n = torn_fsd.nodes[b];
        while (n) {
            struct fnode *next = n->next;
            node_free(n);
            n = next;
        }
        torn_fsd.nodes[b] = NULL;
    }
}

int torn_fsd_mop_add(enum mop_kind kind, const char *a, const char *b, const char *trash)
{
    struct mop *m;
    if (torn_fsd.n_mops == torn_fsd.cap_mops) {
        size_t cap = torn_fsd.cap_mops ? torn_fsd.cap_mops * 2 : 64;
        struct mop *p = realloc(torn_fsd.mops, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        torn_fsd.mops = p;
        torn_fsd.cap_mops = cap;
    }
    m = &torn_fsd.mops[torn_fsd.n_mops];
    m->kind = kind;
    m->a = strdup(a);
    m->b = b ? strdup(b) : NULL;
    m->trash = trash ? strdup(trash) : NULL;
    m->kept = NULL;
    if (!m->a || (b && !m->b) || (trash && !m->trash)) {
        free(m->a);
        free(m->b);
        free(m->trash);
        return -ENOMEM;
    }
    torn_fsd.n_mops++;
    return 0;
}

/* Links the trash holds, per inode: what getattr hides, so that an unlinked
 * or replaced file shows one link fewer than the backing directory has and a
 * parked directory none, as on ext4.  Its own lock: getattr runs without mu. */
struct parked {
    dev_t dev;
    ino_t ino;
    nlink_t n;
    struct parked *next;
};
static struct parked *parked_tab[NBUCKETS];
static pthread_mutex_t parked_mu = PTHREAD_MUTEX_INITIALIZER;

/* The trash holds one link more (delta 1) or fewer (-1) to st's inode.  Out
 * of memory, the link is not hidden (getattr shows the backing count). */
static void parked_note(const struct stat *st, int delta)
{
    struct parked **pp = &parked_tab[st->st_ino % NBUCKETS], *p;

    pthread_mutex_lock(&parked_mu);
    while ((p = *pp) && !(p->dev == st->st_dev && p->ino == st->st_ino))
        pp = &p->next;
    if (!p && delta > 0 && (p = calloc(1, sizeof *p)) != NULL) {
        p->dev = st->st_dev;
        p->ino = st->st_ino;
        p->next = parked_tab[st->st_ino % NBUCKETS];
        parked_tab[st->st_ino % NBUCKETS] = p;
        pp = &parked_tab[st->st_ino % NBUCKETS];
    }
    if (p && delta > 0) {
        p->n++;
    } else if (p && --p->n == 0) {
        *pp = p->next;
        free(p);
    }
    pthread_mutex_unlock(&parked_mu);
}

void torn_fsd_parked_hide(struct stat *st)
{
    pthread_mutex_lock(&parked_mu);
    for (const struct parked *p = parked_tab[st->st_ino % NBUCKETS]; p; p = p->next)
        if (p->dev == st->st_dev && p->ino == st->st_ino) {
            st->st_nlink = S_ISDIR(st->st_mode) || p->n >= st->st_nlink ? 0 : st->st_nlink - p->n;
            break;
        }
    pthread_mutex_unlock(&parked_mu);
}

int torn_fsd_park(const char *r, const struct stat *st, int keep, char *t, size_t t_len)
{
    int rc;

    snprintf(t, t_len, "%llu", (unsigned long long)++torn_fsd.trash_seq);
    rc = keep && !S_ISDIR(st->st_mode) ? linkat(torn_fsd.bfd, r, torn_fsd.tfd, t, 0)
                                       : renameat(torn_fsd.bfd, r, torn_fsd.tfd, t);
    if (rc < 0)
        return neg_errno();
    parked_note(st, 1);
    return 0;
}

int torn_fsd_unpark(const char *t, const char *r)
{
    struct stat st;
    int have = fstatat(torn_fsd.tfd, t, &st, AT_SYMLINK_NOFOLLOW) == 0;

    if (renameat(torn_fsd.tfd, t, torn_fsd.bfd, r) < 0)
        return -1;
    if (have)
        parked_note(&st, -1);
    return 0;
}

/* Forget a parked entry for good (its operation committed). */
static void trash_drop(const char *t)
{
    struct stat st;
    if (fstatat(torn_fsd.tfd, t, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    parked_note(&st, -1);
    if (S_ISDIR(st.st_mode)) {
        (void)unlinkat(torn_fsd.tfd, t, AT_REMOVEDIR);
        return;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
        struct fnode **pp = &torn_fsd.nodes[st.st_ino % NBUCKETS];
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
    (void)unlinkat(torn_fsd.tfd, t, 0);
}

void torn_fsd_mop_free(struct mop *m)
{
    free(m->a);
    free(m->b);
    free(m->trash);
    free(m->kept);
}

/* Commit the first k pending operations. */
void torn_fsd_mops_commit(size_t k)
{
    if (k == 0)   /* also: torn_fsd.mops may still be NULL, and memmove(NULL, ...) is undefined */
        return;
    for (size_t i = 0; i < k; i++) {
        if (torn_fsd.mops[i].trash)
            trash_drop(torn_fsd.mops[i].trash);
        torn_fsd_mop_free(&torn_fsd.mops[i]);
    }
    memmove(torn_fsd.mops, torn_fsd.mops + k, (torn_fsd.n_mops - k) * sizeof *torn_fsd.mops);
    torn_fsd.n_mops -= k;
}

/* Park entry r in the trash under name t again (the name it had there
 * before a kept cut brought it back): 0, or -1 with errno. */
static int repark(const char *r, const char *t)
{
    struct stat st;

    if (fstatat(torn_fsd.bfd, r, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        renameat(torn_fsd.bfd, r, torn_fsd.tfd, t) < 0)
        return -1;
    parked_note(&st, 1);
    return 0;
}

/* Undo a create or mkdir for a kept cut: park the entry (its inode and
 * data kept for the redo) instead of removing it. */
static int undo_create_kept(struct mop *m)
{
    char t[32];
    struct stat st;
    int rc;

    if (fstatat(torn_fsd.bfd, m->a, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if ((rc = torn_fsd_park(m->a, &st, 0, t, sizeof t)) < 0) {
        errno = -rc;
        return -1;
    }
    free(m->kept);
    if (!(m->kept = strdup(t))) {
        (void)torn_fsd_unpark(t, m->a);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* why = "VERB KIND A -> B: strerror(errno)"; -1. */
static int mop_failed(const struct mop *m, const char *verb, char *why, size_t why_len)
{
    snprintf(why, why_len, "%s %s %.200s%s%.200s: %s", verb, torn_fsd_mop_names[m->kind], m->a,
             m->b ? " -> " : "", m->b ? m->b : "", strerror(errno));
    return -1;
}

/* Undo one pending namespace operation (kept: reversibly, for a kept cut).
 * 0, or -1 with why naming it: the namespace is then in no state a cut
 * names. */
int torn_fsd_mop_undo(struct mop *m, int kept, char *why, size_t why_len)
{
    int rc = 0;

    switch (m->kind) {
    case M_CREATE:
        rc = kept ? undo_create_kept(m) : unlinkat(torn_fsd.bfd, m->a, 0);
        break;
    case M_MKDIR:
        rc = kept ? undo_create_kept(m) : unlinkat(torn_fsd.bfd, m->a, AT_REMOVEDIR);
        break;
    case M_UNLINK:
    case M_RMDIR:
        rc = torn_fsd_unpark(m->trash, m->a);
        break;
    case M_RENAME:
        rc = renameat(torn_fsd.bfd, m->b, torn_fsd.bfd, m->a);
        if (rc == 0 && m->trash)
            rc = torn_fsd_unpark(m->trash, m->b);
        break;
    case M_EXCHANGE:
        rc = renameat2(torn_fsd.bfd, m->a, torn_fsd.bfd, m->b, RENAME_EXCHANGE);
        break;
    }
    return rc == 0 ? 0 : mop_failed(m, "undoing", why, why_len);
}

/* Do again an operation a kept cut undid (uncut): 0, or -1 with why. */
int torn_fsd_mop_redo(struct mop *m, char *why, size_t why_len)
{
    int rc = 0;

    switch (m->kind) {
    case M_CREATE:
    case M_MKDIR:
        rc = m->kept ? torn_fsd_unpark(m->kept, m->a) : (errno = ENOENT, -1);
        free(m->kept);
        m->kept = NULL;
        break;
    case M_UNLINK:
    case M_RMDIR:
        rc = repark(m->a, m->trash);
        break;
    case M_RENAME:
        rc = m->trash ? repark(m->b, m->trash) : 0;
        if (rc == 0)
            rc = renameat(torn_fsd.bfd, m->a, torn_fsd.bfd, m->b);
        break;
    case M_EXCHANGE:   /* its own inverse */
        return torn_fsd_mop_undo(m, 1, why, why_len);
    }
    return rc == 0 ? 0 : mop_failed(m, "redoing", why, why_len);
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
void torn_fsd_mops_commit_dir(const char *dir)
{
    size_t last = 0;
    for (size_t i = 0; i < torn_fsd.n_mops; i++)
        if (mop_touches(&torn_fsd.mops[i], dir))
            last = i + 1;
    torn_fsd_mops_commit(last);
}

/* torn-fs on libfuse's low-level API: it, not libfuse, decides what a
 * kernel node id names (see "Kernel node ids" below), and each request is
 * served by the path operation of ops.c for the path its node names. */
#include "fs/tornfs_int.h"

#include "core/util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct fuse_operations *const fsops = &torn_fsd_path_ops;

/* Kernel node ids.
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
uint64_t torn_fsd_ln_enter(const char *path)
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
    torn_fsd_set_caller(c ? c->uid : 0, c ? c->gid : 0);
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

void torn_fsd_ln_clear(void)
{
    pthread_mutex_lock(&L.mu);
    for (size_t b = 0; b < NBUCKETS; b++)
        while (L.by_id[b])
            ln_free(L.by_id[b]);
    pthread_mutex_unlock(&L.mu);
}

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
    rc = fsops->getattr(path, &e.attr, fi);
    if (rc < 0) {
        if (fi)
            fsops->release(path, fi);
        fuse_reply_err(req, -rc);
        return;
    }
    e.ino = torn_fsd_ln_enter(path);
    if (!e.ino) {
        if (fi)
            fsops->release(path, fi);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if ((fi ? fuse_reply_create(req, &e, fi) : fuse_reply_entry(req, &e)) != 0) {
        if (fi)   /* the caller went away: nothing holds the node or file */
            fsops->release(path, fi);
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
    if (!fi && q.dfd >= 0) {
        rc = fstat(q.dfd, &st) < 0 ? neg_errno() : 0;
        torn_fsd_parked_hide(&st);
    } else
        rc = fsops->getattr(q.path, &st, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, 0);
    lq_done(&q);
}

/* Open the inode a detached node names (its name was replaced or removed
 * after the kernel looked it up: on ext4 the open would have got it). */
static int open_detached(int dfd, struct fuse_file_info *fi)
{
    char p[64];
    int fd;
    snprintf(p, sizeof p, "/proc/self/fd/%d", dfd);
    fd = open(p, (fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_CLOEXEC);
    return fd < 0 ? neg_errno() : torn_fsd_ofile_new(fd, fi);
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
    return fsops->utimens(path, tv, fi);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a, int set,
                       struct fuse_file_info *fi)
{
    struct fuse_file_info own = {.flags = (set & FUSE_SET_ATTR_SIZE) ? O_WRONLY : O_RDONLY};
    struct fuse_file_info *f = fi;
    struct lq q;
    int rc = 0;
    if (lq_get(req, ino, &q) < 0)
        return;
    /* Its name is gone (unlinked or replaced while open: fchmod, fchown,
     * futimens come without a file handle): change the inode through a
     * descriptor of its own, as ext4 would, not ESTALE. */
    if (q.dfd >= 0 && !fi) {
        rc = open_detached(q.dfd, &own);
        f = rc == 0 ? &own : NULL;
    }
    if (!rc && (set & FUSE_SET_ATTR_MODE))
        rc = fsops->chmod(q.path, a->st_mode, f);
    if (!rc && (set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
        rc = fsops->chown(q.path, (set & FUSE_SET_ATTR_UID) ? a->st_uid : (uid_t)-1,
                          (set & FUSE_SET_ATTR_GID) ? a->st_gid : (gid_t)-1, f);
    if (!rc && (set & FUSE_SET_ATTR_SIZE))
        rc = fsops->truncate(q.path, a->st_size, f);
    if (!rc && (set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
        rc = setattr_times(q.path, a, set, f);
    if (f == &own)
        fsops->release(q.path, &own);
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
    rc = fsops->readlink(q.path, buf, sizeof buf);
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
        new_entry_reply(req, p, fsops->mknod(p, mode, rdev));
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    char *p = lq_child(req, parent, name);
    if (p)
        new_entry_reply(req, p, fsops->mkdir(p, mode));
}

static void ll_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
    char *p = lq_child(req, parent, name);
    if (p)
        new_entry_reply(req, p, fsops->symlink(target, p));
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
        new_entry_reply(req, p, fsops->link(q.path, p));
    }
    lq_done(&q);
}

/* O_PATH descriptor of the inode at path (-1 if none): taken before the
 * name goes, for the node the kernel may still hold. */
static int inode_ref(const char *path)
{
    return openat(torn_fsd.bfd, rel(path), O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static void ll_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int dir)
{
    char *p = lq_child(req, parent, name);
    int fd, rc;
    if (!p)
        return;
    fd = inode_ref(p);
    rc = dir ? fsops->rmdir(p) : fsops->unlink(p);
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
    rc = fsops->rename(from, to, flags);
    if (rc == 0)
        ln_rename(from, to, fd, (flags & RENAME_EXCHANGE) != 0);
    else if (fd >= 0)
        close(fd);
    reply_rc(req, rc);
    free(from);
    free(to);
}


static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct lq q;
    int rc;
    if (lq_get(req, ino, &q) < 0)
        return;
    rc = q.dfd >= 0 ? open_detached(q.dfd, fi) : fsops->open(q.path, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) != 0)
        fsops->release(q.path, fi);
    lq_done(&q);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    char *p = lq_child(req, parent, name);
    int rc;
    if (!p)
        return;
    rc = fsops->create(p, mode, fi);
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
    n = fsops->read(NULL, buf, size, off, fi);
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
    n = fsops->write(q.path, buf, size, off, fi);
    if (n < 0)
        fuse_reply_err(req, -n);
    else
        fuse_reply_write(req, (size_t)n);
    lq_done(&q);
}

static void ll_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv, off_t off,
                         struct fuse_file_info *fi)
{
    struct lq q;
    int n;
    if (lq_get(req, ino, &q) < 0)
        return;
    n = fsops->write_buf(q.path, bufv, off, fi);
    if (n < 0)
        fuse_reply_err(req, -n);
    else
        fuse_reply_write(req, (size_t)n);
    lq_done(&q);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs st;
    int rc = fsops->statfs("/", &st);
    (void)ino;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_statfs(req, &st);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    reply_rc(req, fsops->release(NULL, fi));
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
    ll_sync(req, ino, datasync, fi, fsops->fsync);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct lq q;
    int rc;
    if (lq_get(req, ino, &q) < 0)
        return;
    rc = q.dfd >= 0 ? -ENOENT : fsops->opendir(q.path, fi);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) != 0)
        fsops->releasedir(q.path, fi);
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
    rc = fsops->readdir(NULL, &d, dir_fill, off, fi, 0);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_buf(req, d.p, d.len);
    free(d.p);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    reply_rc(req, fsops->releasedir(NULL, fi));
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    ll_sync(req, ino, datasync, fi, fsops->fsyncdir);
}

static void ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct lq q;
    if (lq_get(req, ino, &q) < 0)
        return;
    reply_rc(req, q.dfd >= 0 ? (faccessat(q.dfd, "", mask, AT_EMPTY_PATH) < 0 ? neg_errno() : 0)
                             : fsops->access(q.path, mask));
    lq_done(&q);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    struct lq q;
    if (lq_get(req, ino, &q) < 0)
        return;
    reply_rc(req, fsops->fallocate(q.path, mode, off, len, fi));
    lq_done(&q);
}

static void ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
    off_t r = fsops->lseek(NULL, off, whence, fi);
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
    /* Writes reach ll_write_buf still in the pipe libfuse splices each
     * request into, and go on into the backing file by splice (one copy
     * fewer).  A request must fit that pipe with its header: pipes hold at
     * most 1 MiB without CAP_SYS_RESOURCE (fs.pipe-max-size), and libfuse's
     * 1 MiB + 4 KiB default made it fall back to read(2).  512 KiB keeps
     * the requests aligned: the daemon spent 20 % less CPU a byte written
     * (perf, 512 MiB in 1 MiB writes). */
    conn->max_write = 512u * 1024u;
}

const struct fuse_lowlevel_ops torn_fsd_ll_ops = {
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
    .write_buf = ll_write_buf,   /* with it libfuse splices requests off /dev/fuse */
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

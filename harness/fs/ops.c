/* torn-fs path operations: each persistence operation runs inside the
 * bracket (wait while frozen, count, apply fault rules, hold mu), applies
 * itself to the backing directory at once and logs how to undo it. */
#include "fs/tornfs_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static __thread uid_t T_uid;   /* the caller of the request being served */
static __thread gid_t T_gid;

/* Give a new entry to the calling user (the daemon runs as root). */
static void chown_to_caller(const char *r)
{
    if (T_uid != 0 || T_gid != 0)
        (void)fchownat(torn_fsd.bfd, r, T_uid, T_gid, AT_SYMLINK_NOFOLLOW);
}

void torn_fsd_set_caller(uid_t uid, gid_t gid)
{
    T_uid = uid;
    T_gid = gid;
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

/* The error the first rule matching (op, path) injects now, or 0. */
static int rule_fires(const char *op, const char *path)
{
    for (size_t i = 0; i < torn_fsd.n_rules; i++) {
        struct rule *r = &torn_fsd.rules[i];
        if (strcmp(r->op, "any") != 0 && strcmp(r->op, op) != 0)
            continue;
        if (r->glob[0] && fnmatch(r->glob, path ? path : "", 0) != 0)
            continue;
        r->hits++;
        if (r->hits >= r->nth && (r->times == 0 || r->hits < r->nth + r->times)) {
            torn_fsd.faults++;
            return -r->err;
        }
    }
    return 0;
}

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
    (void)pthread_cond_timedwait(&torn_fsd.cv, &torn_fsd.mu, &ts);
}

/* Enter a persistence operation: wait while frozen (EIO if a cut happened
 * meanwhile: that disk is gone), count it, apply fault rules.  On return 0
 * or a fault, mu is HELD; op_end releases it.  *fault_out gets the injected
 * error (0 none). */
static int op_begin(const char *op, const char *path, int *fault_out)
{
    uint64_t g;
    int waited;

    pthread_mutex_lock(&torn_fsd.mu);
    g = torn_fsd.gen;
    /* `blocked` tells the caller the program reached the request after the
     * freeze point and runs no more code: the crash point is then exact in
     * what the program did too (acknowledgements sent), not just in the
     * operations the file system saw. */
    waited = torn_fsd.frozen;
    torn_fsd.blocked += waited;
    if (waited)   /* wakes `wait-blocked` */
        pthread_cond_broadcast(&torn_fsd.cv);
    while (torn_fsd.frozen && !(torn_fsd.se && fuse_session_exited(torn_fsd.se)))
        cv_wait_100ms();
    torn_fsd.blocked -= waited;
    if (g != torn_fsd.gen || torn_fsd.frozen) {
        pthread_mutex_unlock(&torn_fsd.mu);
        return -EIO;
    }
    torn_fsd.ops++;
    *fault_out = rule_fires(op, path);
    return 0;
}

static int op_end(int rc)
{
    if (torn_fsd.freeze_at && torn_fsd.ops >= torn_fsd.freeze_at && !torn_fsd.frozen) {
        torn_fsd.frozen = 1;
        pthread_cond_broadcast(&torn_fsd.cv);
    }
    pthread_mutex_unlock(&torn_fsd.mu);
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

static struct ofile *OF(struct fuse_file_info *fi)
{
    return (struct ofile *)(uintptr_t)fi->fh;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    int rc;

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
        rc = fstat(OF(fi)->fd, st);
    else
        rc = fstatat(torn_fsd.bfd, rel(path), st, AT_SYMLINK_NOFOLLOW);
    if (rc < 0)
        return neg_errno();
    torn_fsd_parked_hide(st);
    return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
    ssize_t n;
    if (is_private(path))
        return -ENOENT;
    n = readlinkat(torn_fsd.bfd, rel(path), buf, size - 1);
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
    rc = torn_fsd_mop_add(kind, rel(path), NULL, NULL);
    return op_end(rc);
}

static int fs_mknod(const char *path, mode_t mode, dev_t dev)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("create", path);
    return new_entry_done(mknodat(torn_fsd.bfd, rel(path), mode, dev), path, M_CREATE);
}

static int fs_mkdir(const char *path, mode_t mode)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("mkdir", path);
    return new_entry_done(mkdirat(torn_fsd.bfd, rel(path), mode), path, M_MKDIR);
}

static int fs_symlink(const char *target, const char *path)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("create", path);
    return new_entry_done(symlinkat(target, torn_fsd.bfd, rel(path)), path, M_CREATE);
}

static int fs_link(const char *from, const char *to)
{
    if (is_private(from) || is_private(to) || is_ctl(to))
        return -EPERM;
    OP_BEGIN("create", to);
    return new_entry_done(linkat(torn_fsd.bfd, rel(from), torn_fsd.bfd, rel(to), 0), to, M_CREATE);
}

/* unlink/rmdir: park the entry in the trash so a cut can bring it back. */
/* 1 if directory r (relative to the backing root) holds no entry, 0 if it
 * does, -errno if it cannot be read. */
static int dir_empty(const char *r)
{
    int fd = openat(torn_fsd.bfd, r, O_RDONLY | O_DIRECTORY | O_CLOEXEC), empty = 1;
    struct dirent *e;
    DIR *dir;

    if (fd < 0)
        return neg_errno();
    dir = fdopendir(fd);
    if (!dir) {
        int rc = neg_errno();
        close(fd);
        return rc;
    }
    while (empty && (e = readdir(dir)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(dir);
    return empty;
}

static int remove_entry(const char *path, const char *op, enum mop_kind kind)
{
    char t[32];
    struct stat st;
    int rc;
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN(op, path);
    if (fstatat(torn_fsd.bfd, rel(path), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return op_end(neg_errno());
    if (kind == M_RMDIR) {   /* rmdir's checks: must be an empty directory */
        if (!S_ISDIR(st.st_mode))
            return op_end(-ENOTDIR);
        if ((rc = dir_empty(rel(path))) <= 0)
            return op_end(rc < 0 ? rc : -ENOTEMPTY);
    } else if (S_ISDIR(st.st_mode)) {
        return op_end(-EISDIR);
    }
    if ((rc = torn_fsd_park(rel(path), &st, 0, t, sizeof t)) < 0)
        return op_end(rc);
    rc = torn_fsd_mop_add(kind, rel(path), NULL, t);
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
    struct stat sf, st;
    int have_to, rc;

    if (is_private(from) || is_private(to) || is_ctl(from) || is_ctl(to))
        return -EPERM;
    OP_BEGIN("rename", to);
    if (flags & RENAME_EXCHANGE) {
        if (renameat2(torn_fsd.bfd, rel(from), torn_fsd.bfd, rel(to), RENAME_EXCHANGE) < 0)
            return op_end(neg_errno());
        return op_end(torn_fsd_mop_add(M_EXCHANGE, rel(from), rel(to), NULL));
    }
    if (fstatat(torn_fsd.bfd, rel(from), &sf, AT_SYMLINK_NOFOLLOW) < 0)
        return op_end(neg_errno());
    have_to = fstatat(torn_fsd.bfd, rel(to), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (have_to && (flags & RENAME_NOREPLACE))
        return op_end(-EEXIST);
    if (have_to && sf.st_dev == st.st_dev && sf.st_ino == st.st_ino)
        return op_end(0);   /* two names of one inode: rename(2) does nothing */
    if (have_to && S_ISDIR(st.st_mode)) {
        /* The kernel never sees a directory parked away, so its refusals are
         * made here. */
        if (!S_ISDIR(sf.st_mode))
            return op_end(-EISDIR);
        if ((rc = dir_empty(rel(to))) <= 0)
            return op_end(rc < 0 ? rc : -ENOTEMPTY);
    }
    /* Park the replaced entry: a hard link keeps the replacement atomic for
     * files; an empty directory is moved first. */
    if (have_to && (rc = torn_fsd_park(rel(to), &st, 1, t, sizeof t)) < 0)
        return op_end(rc);
    if (renameat(torn_fsd.bfd, rel(from), torn_fsd.bfd, rel(to)) < 0) {
        int e = neg_errno();
        if (have_to)
            (void)torn_fsd_unpark(t, rel(to));
        return op_end(e);
    }
    return op_end(torn_fsd_mop_add(M_RENAME, rel(from), rel(to), have_to ? t : NULL));
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    if (fi && OF(fi)->fd >= 0)
        return fchmod(OF(fi)->fd, mode) < 0 ? neg_errno() : 0;
    return fchmodat(torn_fsd.bfd, rel(path), mode, 0) < 0 ? neg_errno() : 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    if (fi && OF(fi)->fd >= 0)
        return fchown(OF(fi)->fd, uid, gid) < 0 ? neg_errno() : 0;
    return fchownat(torn_fsd.bfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
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
    n = torn_fsd_node_get(fd, st.st_dev, st.st_ino);
    if (!n)
        return -ENOMEM;
    if (size < st.st_size && size < n->durable) {
        off_t end = st.st_size < n->durable ? n->durable : st.st_size;
        rc = torn_fsd_range_touch(n, size, end - size);
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
    fd = openat(torn_fsd.bfd, rel(path), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return op_end(neg_errno());
    rc = truncate_fd(fd, size);
    close(fd);
    return op_end(rc);
}

int torn_fsd_ofile_new(int fd, struct fuse_file_info *fi)
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
    int rc = torn_fsd_ofile_new(-1, fi);
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
        fd = openat(torn_fsd.bfd, rel(path), (flags & ~O_TRUNC) | O_CLOEXEC);
        if (fd < 0)
            return op_end(neg_errno());
        rc = truncate_fd(fd, 0);
        if (rc < 0) {
            close(fd);
            return op_end(rc);
        }
        op_end(0);
    } else {
        fd = openat(torn_fsd.bfd, rel(path), flags | O_CLOEXEC);
        if (fd < 0)
            return neg_errno();
    }
    return torn_fsd_ofile_new(fd, fi);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd, flags = fi->flags | O_CLOEXEC;
    if (is_private(path) || is_ctl(path))
        return -EPERM;
    OP_BEGIN("create", path);
    fd = openat(torn_fsd.bfd, rel(path), (flags | O_CREAT | O_EXCL) & ~O_TRUNC, mode);
    if (fd >= 0) {
        int rc;
        chown_to_caller(rel(path));
        rc = torn_fsd_mop_add(M_CREATE, rel(path), NULL, NULL);
        if (rc < 0) {
            close(fd);
            (void)unlinkat(torn_fsd.bfd, rel(path), 0);
            return op_end(rc);
        }
    } else if (errno == EEXIST && !(fi->flags & O_EXCL)) {
        fd = openat(torn_fsd.bfd, rel(path), (flags & ~(O_CREAT | O_TRUNC)));
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
    return torn_fsd_ofile_new(fd, fi);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    ssize_t n;
    (void)path;
    if (OF(fi)->ctl)
        return torn_fsd_ctl_read(OF(fi), buf, size, off);
    n = pread(OF(fi)->fd, buf, size, off);
    return n < 0 ? neg_errno() : (int)n;
}

/* Log in the undo log what writing size bytes at off of o changes: 0 or
 * -errno (the write must then not be made). */
static int log_write(struct ofile *o, off_t off, size_t size)
{
    struct fnode *n = torn_fsd_node_get(o->fd, o->dev, o->ino);
    return n ? torn_fsd_range_touch(n, off, (off_t)size) : -ENOMEM;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct ofile *o = OF(fi);
    ssize_t w;
    int rc;

    if (o->ctl)
        return torn_fsd_ctl_write(o, buf, size);
    OP_BEGIN("write", path);
    if (fi->flags & O_APPEND) {
        struct stat st;
        if (fstat(o->fd, &st) < 0)
            return op_end(neg_errno());
        off = st.st_size;
    }
    if ((rc = log_write(o, off, size)) < 0)
        return op_end(rc);
    w = (fi->flags & O_APPEND) ? write(o->fd, buf, size) : pwrite(o->fd, buf, size, off);
    return op_end(w < 0 ? neg_errno() : (int)w);
}

/* A write whose bytes may still be in the kernel's pipe (libfuse spliced
 * the request off /dev/fuse): they are spliced on into the backing file, so
 * the daemon never copies them (sequential writes were 40-80 % of the
 * backing directory's speed with the extra copy).  The control file and
 * O_APPEND writes (splice refuses O_APPEND files) take them into memory
 * and go through fs_write. */
static int fs_write_buf(const char *path, struct fuse_bufvec *src, off_t off,
                        struct fuse_file_info *fi)
{
    size_t size = fuse_buf_size(src);
    struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
    struct ofile *o = OF(fi);
    ssize_t w;
    int rc;

    if (o->ctl || (fi->flags & O_APPEND)) {
        char *mem = malloc(size ? size : 1);
        if (!mem)
            return -ENOMEM;
        dst.buf[0].mem = mem;
        w = fuse_buf_copy(&dst, src, 0);
        rc = w < 0 ? (int)w : fs_write(path, mem, (size_t)w, off, fi);
        free(mem);
        return rc;
    }
    OP_BEGIN("write", path);
    if ((rc = log_write(o, off, size)) < 0)
        return op_end(rc);
    dst.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    dst.buf[0].fd = o->fd;
    dst.buf[0].pos = off;
    w = fuse_buf_copy(&dst, src, 0);
    return op_end((int)w);
}

static int fs_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return fstatvfs(torn_fsd.bfd, st) < 0 ? neg_errno() : 0;
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
        n = torn_fsd_node_find(o->dev, o->ino);
        if (fault_) {
            if (n && torn_fsd.model == TORN_FS_FSYNC_FAIL)
                torn_fsd_node_lose(n);
            return op_end(fault_);
        }
    }
    if (n && !torn_fsd.kept.on)   /* a kept cut: nothing becomes durable until uncut */
        torn_fsd_node_sync(n);
    return op_end(0);
}

static int fs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    char r[PATH_MAX];
    (void)datasync;
    (void)fi;
    OP_BEGIN("fsyncdir", path);
    snprintf(r, sizeof r, "%s", rel(path));
    if (!torn_fsd.kept.on)
        torn_fsd_mops_commit_dir(r);
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
    fd = openat(torn_fsd.bfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
    return faccessat(torn_fsd.bfd, rel(path), mask, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    if (is_ctl(path))
        return 0;
    if (is_private(path))
        return -ENOENT;
    if (fi && OF(fi)->fd >= 0)
        return futimens(OF(fi)->fd, tv) < 0 ? neg_errno() : 0;
    return utimensat(torn_fsd.bfd, rel(path), tv, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
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
    n = torn_fsd_node_get(o->fd, o->dev, o->ino);
    if (!n)
        return op_end(-ENOMEM);
    if (mode & ~FALLOC_FL_KEEP_SIZE) {   /* punch/zero/collapse change bytes */
        struct stat st;
        off_t end = fstat(o->fd, &st) == 0 ? st.st_size : off + len;
        rc = torn_fsd_range_touch(n, off, end - off);
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

/* Mirrors torn_fsd_ll_ops (lowlevel.c) slot for slot, deliberately: each
 * low-level request is served by the path operation of the same name. */
const struct fuse_operations torn_fsd_path_ops = {
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .symlink = fs_symlink,
    .link = fs_link,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .rename = fs_rename,
    .chmod = fs_chmod,
    .chown = fs_chown,
    .truncate = fs_truncate,
    .open = fs_open,
    .create = fs_create,
    .read = fs_read,
    .write = fs_write,
    .write_buf = fs_write_buf,
    .statfs = fs_statfs,
    .release = fs_release,
    .fsync = fs_fsync,
    .fsyncdir = fs_fsyncdir,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .releasedir = fs_releasedir,
    .access = fs_access,
    .utimens = fs_utimens,
    .fallocate = fs_fallocate,
    .lseek = fs_lseek,
};

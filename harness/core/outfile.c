/* torn: output files another local user cannot redirect (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

#define MAX_LINK_HOPS 40

/* path made absolute (against the working directory) and lexically
 * normalised: no "", "." or ".." components, no trailing '/'.  malloc'd. */
static char *normalise(const char *path)
{
    char *abs = NULL, *out, *save = NULL;
    size_t n = 0;

    if (path[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        abs = cwd ? torn_asprintf("%s/%s", cwd, path) : NULL;
        free(cwd);
    } else {
        abs = strdup(path);
    }
    out = abs ? malloc(strlen(abs) + 2) : NULL;
    if (!out) {
        free(abs);
        return NULL;
    }
    out[0] = '\0';
    for (char *c = strtok_r(abs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            while (n && out[n - 1] != '/')
                n--;
            if (n)
                n--;
            out[n] = '\0';
            continue;
        }
        n += (size_t)sprintf(out + n, "/%s", c);
    }
    if (!n)
        strcpy(out, "/");
    free(abs);
    return out;
}

static uint64_t random64(void)
{
    uint64_t v;

    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = torn_seed_derive(torn_now_ns() ^ (uint64_t)getpid(), "outfile");
    return v;
}

/* Whether another user could rename or replace entries of the directory
 * open on fd (see outfile.h); TORN_E_ENV with the reason if so. */
static int check_trusted(int fd, const char *name, struct torn_err *err)
{
    struct stat st;
    uid_t me = geteuid();
    int sticky;

    if (fstat(fd, &st) != 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "directory %s", name);
    sticky = (st.st_mode & S_ISVTX) != 0;
    if (st.st_uid != me && st.st_uid != 0)
        return torn_err_set(err, TORN_E_ENV,
                            "directory %s belongs to uid %u, not to torn's user (uid %u) or "
                            "root: its owner could redirect or replace torn's files; refusing",
                            name, (unsigned)st.st_uid, (unsigned)me);
    if ((st.st_mode & S_IWOTH) && !sticky)
        return torn_err_set(err, TORN_E_ENV,
                            "directory %s is writable by every user and has no sticky bit: "
                            "another user could redirect or replace torn's files; refusing",
                            name);
    if ((st.st_mode & S_IWGRP) && !sticky && st.st_gid != getegid() && st.st_gid != 0)
        return torn_err_set(err, TORN_E_ENV,
                            "directory %s is writable by group %u and has no sticky bit: "
                            "another user could redirect or replace torn's files; refusing",
                            name, (unsigned)st.st_gid);
    return TORN_OK;
}

/* The path to walk after meeting symlink comp (ending at comp_end in norm)
 * whose target is link: the target spliced in place of the link. */
static char *splice_link(const char *norm, const char *comp, const char *comp_end,
                         const char *link)
{
    const char *rest = comp_end;

    if (link[0] == '/')
        return torn_asprintf("%s%s", link, rest);
    return torn_asprintf("%.*s%s%s", (int)(comp - norm), norm, link, rest);
}

/* One step of the walk: open component comp (len bytes) of dir fd.  Returns
 * the new fd, or -1 with *err set, or -2 when comp is a symlink that may be
 * followed (its target in *link_out). */
static int step(int fd, const char *comp, const char *shown, int create_mode, char **link_out,
                struct torn_err *err)
{
    struct stat st;
    int created = 0, tries = 0, nfd;

    while (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT || create_mode <= 0 || tries++ > 3) {
            torn_err_sys(err, TORN_E_ENV, errno, "directory %s", shown);
            return -1;
        }
        if (mkdirat(fd, comp, 0700) == 0)
            created = 1;
        else if (errno != EEXIST) {
            torn_err_sys(err, TORN_E_ENV, errno, "cannot create directory %s", shown);
            return -1;
        }
    }
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n;
        if (st.st_uid != geteuid() && st.st_uid != 0) {
            torn_err_set(err, TORN_E_ENV,
                         "%s is a symbolic link owned by uid %u, another user: torn does not "
                         "follow it",
                         shown, (unsigned)st.st_uid);
            return -1;
        }
        n = readlinkat(fd, comp, buf, sizeof buf - 1);
        if (n < 0) {
            torn_err_sys(err, TORN_E_ENV, errno, "readlink %s", shown);
            return -1;
        }
        buf[n] = '\0';
        *link_out = strdup(buf);
        return *link_out ? -2 : -1;
    }
    nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0) {
        torn_err_sys(err, TORN_E_ENV, errno, "directory %s", shown);
        return -1;
    }
    if (created && fchmod(nfd, (mode_t)create_mode) != 0) {
        torn_err_sys(err, TORN_E_ENV, errno, "chmod %s", shown);
        close(nfd);
        return -1;
    }
    if (check_trusted(nfd, shown, err) != 0) {
        close(nfd);
        return -1;
    }
    return nfd;
}

/* Walk norm from "/"; 0 with *fd_out, 1 with *next_out (a symlink met:
 * walk that path instead), or a negative code. */
static int walk_once(const char *norm, int create_mode, int *fd_out, char **next_out,
                     struct torn_err *err)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *c = norm;

    if (fd < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "open /");
    if (check_trusted(fd, "/", err) != 0) {
        close(fd);
        return TORN_E_ENV;
    }
    while (*c == '/' && c[1]) {
        const char *end = strchr(c + 1, '/');
        char *comp, *shown, *link = NULL;
        int nfd;

        end = end ? end : c + strlen(c);
        comp = strndup(c + 1, (size_t)(end - c - 1));
        shown = strndup(norm, (size_t)(end - norm));
        nfd = comp && shown ? step(fd, comp, shown, create_mode, &link, err)
                            : torn_err_set(err, TORN_E_NOMEM, "out of memory");
        free(comp);
        free(shown);
        close(fd);
        if (nfd == -2) {
            *next_out = splice_link(norm, c + 1, end, link);
            free(link);
            return *next_out ? 1 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
        if (nfd < 0)
            return err && err->code ? err->code : TORN_E_ENV;
        fd = nfd;
        c = end;
    }
    *fd_out = fd;
    return TORN_OK;
}

/* torn_dir_open_safe, also returning the resolved path. */
static int dir_open(const char *path, int create_mode, int *fd_out, char **resolved_out,
                    struct torn_err *err)
{
    char *cur = normalise(path);
    int rc = TORN_E_ENV;

    *fd_out = -1;
    torn_err_clear(err);
    for (int hops = 0; cur && hops <= MAX_LINK_HOPS; hops++) {
        char *next = NULL, *norm = cur;
        rc = walk_once(norm, create_mode, fd_out, &next, err);
        if (rc <= 0) {
            if (rc == 0 && resolved_out)
                *resolved_out = norm;
            else
                free(norm);
            return rc;
        }
        cur = normalise(next);
        free(next);
        free(norm);
    }
    free(cur);
    return cur ? torn_err_set(err, TORN_E_ENV, "directory %s: too many symbolic links", path)
               : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

int torn_dir_open_safe(const char *path, int create_mode, int *fd_out, struct torn_err *err)
{
    return dir_open(path, create_mode, fd_out, NULL, err);
}

/* Split path into its directory (malloc'd) and final name (points into
 * path); the name must be a plain file name. */
static int split(const char *path, char **dir_out, const char **base_out, struct torn_err *err)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;

    *dir_out = NULL;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return torn_err_set(err, TORN_E_ENV, "%s: is a directory, not a file name", path);
    *dir_out = !slash ? strdup(".") : slash == path ? strdup("/")
                                                    : strndup(path, (size_t)(slash - path));
    *base_out = base;
    return *dir_out ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

/* What is at base in dirfd already: 0 nothing, a regular file, or a
 * symlink another user owns (replaced by the rename, never followed); 1 a
 * symlink of torn's user or root, followed like one on the way (its target
 * in *next_out); or an error: a directory, a device, FIFO or socket. */
static int check_final(int dirfd, const char *dir, const char *base, const char *path,
                       char **next_out, struct torn_err *err)
{
    struct stat st;
    char buf[4096];
    ssize_t n;

    if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode))
        return TORN_OK;
    if (S_ISDIR(st.st_mode))
        return torn_err_set(err, TORN_E_ENV, "%s: is a directory, not a file name", path);
    if (!S_ISLNK(st.st_mode))
        return torn_err_set(err, TORN_E_ENV,
                            "%s: not a regular file (a device, FIFO or socket); \"-\" writes "
                            "to stdout",
                            path);
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return TORN_OK;
    n = readlinkat(dirfd, base, buf, sizeof buf - 1);
    if (n < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "readlink %s", path);
    buf[n] = '\0';
    *next_out = buf[0] == '/' ? strdup(buf) : torn_asprintf("%s/%s", dir, buf);
    return *next_out ? 1 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

/* Open of's trusted directory and check its final name, following the
 * final symlinks check_final allows; *base_out: the name (malloc'd). */
static int open_final(struct torn_outfile *of, const char *path, char **base_out,
                      struct torn_err *err)
{
    char *cur = strdup(path), *dir = NULL, *next = NULL;
    const char *base = NULL;
    int rc = cur ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");

    for (int hops = 0; rc == 0; hops++) {
        if (hops > MAX_LINK_HOPS) {
            rc = torn_err_set(err, TORN_E_ENV, "%s: too many symbolic links", path);
            break;
        }
        if ((rc = split(cur, &dir, &base, err)) != 0 ||
            (rc = torn_dir_open_safe(dir, 0, &of->dirfd, err)) != 0)
            break;
        rc = check_final(of->dirfd, dir, base, path, &next, err);
        free(dir);
        dir = NULL;
        if (rc != 1)
            break;
        close(of->dirfd);
        of->dirfd = -1;
        free(cur);
        cur = next;
        rc = TORN_OK;
    }
    free(dir);
    if (rc == 0 && !(*base_out = strdup(base)))
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    free(cur);
    return rc;
}

int torn_outfile_open(struct torn_outfile *of, const char *path, int mode, struct torn_err *err)
{
    int rc;

    memset(of, 0, sizeof *of);
    of->dirfd = of->fd = -1;
    rc = open_final(of, path, &of->base, err);
    if (rc == 0 && !(of->path = strdup(path)))
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (rc) {
        torn_outfile_close(of);
        return rc;
    }
    for (int i = 0; of->fd < 0 && i < 16; i++) {
        snprintf(of->tmp, sizeof of->tmp, ".%.40s.%016llx.tmp", of->base,
                 (unsigned long long)random64());
        of->fd = openat(of->dirfd, of->tmp,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        if (of->fd < 0 && errno != EEXIST)
            break;
    }
    if (of->fd < 0) {
        int e = errno;
        of->tmp[0] = '\0';
        torn_outfile_close(of);
        return torn_err_sys(err, TORN_E_ENV, e, "cannot write %s", path);
    }
    if (fchmod(of->fd, (mode_t)mode) != 0) { /* exactly mode, whatever the umask */
        int e = errno;
        torn_outfile_close(of);
        return torn_err_sys(err, TORN_E_ENV, e, "cannot write %s", path);
    }
    return TORN_OK;
}

int torn_outfile_write(struct torn_outfile *of, const void *buf, size_t len, struct torn_err *err)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(of->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return torn_err_sys(err, TORN_E_IO, errno, "cannot write %s", of->path);
        p += n;
        len -= (size_t)n;
    }
    return TORN_OK;
}

int torn_outfile_publish(struct torn_outfile *of, struct torn_err *err)
{
    if (fsync(of->fd) != 0)
        return torn_err_sys(err, TORN_E_IO, errno, "cannot write %s", of->path);
    if (renameat(of->dirfd, of->tmp, of->dirfd, of->base) != 0)
        return torn_err_sys(err, TORN_E_IO, errno, "cannot rename into %s", of->path);
    of->published = 1;
    if (fsync(of->dirfd) != 0)
        return torn_err_sys(err, TORN_E_IO, errno, "fsync the directory of %s", of->path);
    return TORN_OK;
}

void torn_outfile_close(struct torn_outfile *of)
{
    if (of->fd >= 0)
        close(of->fd);
    if (!of->published && of->tmp[0] && of->dirfd >= 0)
        unlinkat(of->dirfd, of->tmp, 0);
    if (of->dirfd >= 0)
        close(of->dirfd);
    free(of->path);
    free(of->base);
    memset(of, 0, sizeof *of);
    of->dirfd = of->fd = -1;
}

int torn_outfile_append(const char *path, int *fd_out, struct torn_err *err)
{
    char *dir;
    const char *base = NULL;
    int dfd, rc = split(path, &dir, &base, err);

    *fd_out = -1;
    if (rc)
        return rc;
    rc = torn_dir_open_safe(dir, 0, &dfd, err);
    free(dir);
    if (rc)
        return rc;
    *fd_out = openat(dfd, base, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (*fd_out < 0)
        rc = torn_err_sys(err, TORN_E_ENV, errno, "cannot append to %s", path);
    close(dfd);
    return rc;
}

int torn_outfile_check(const char *path, const char *what, struct torn_err *err)
{
    struct torn_outfile of;
    int rc = torn_outfile_open(&of, path, 0600, err);

    torn_outfile_close(&of);
    if (rc && err && what) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        torn_err_set(err, rc, "%s %.200s", what, msg);
    }
    return rc;
}

int torn_outdir_make(const char *parent, int parent_mode, const char *prefix, int mode,
                     char **path_out, struct torn_err *err)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char *resolved = NULL, name[96];
    int dfd, fd = -1, rc, e = EEXIST;

    *path_out = NULL;
    rc = dir_open(parent, parent_mode, &dfd, &resolved, err);
    if (rc)
        return rc;
    for (int i = 0; i < 32 && e == EEXIST; i++) {
        uint64_t r = random64();
        int n = snprintf(name, sizeof name, "%.60s", prefix);
        for (int k = 0; k < 6; k++, r /= 62)
            name[n + k] = chars[r % 62];
        name[n + 6] = '\0';
        e = mkdirat(dfd, name, 0700) == 0 ? 0 : errno;
    }
    if (e == 0)
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (e || fd < 0 || fchmod(fd, (mode_t)mode) != 0) {
        rc = torn_err_sys(err, TORN_E_ENV, e ? e : errno, "cannot create a directory in %s",
                          resolved);
    } else {
        *path_out = torn_asprintf("%s%s%s", resolved, strcmp(resolved, "/") ? "/" : "", name);
        rc = *path_out ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    if (fd >= 0)
        close(fd);
    close(dfd);
    free(resolved);
    return rc;
}

int torn_write_file_atomic(const char *path, const void *buf, size_t len, struct torn_err *err)
{
    struct torn_outfile of;
    int rc = torn_outfile_open(&of, path, 0644, err);

    if (rc == 0)
        rc = torn_outfile_write(&of, buf, len, err);
    if (rc == 0)
        rc = torn_outfile_publish(&of, err);
    torn_outfile_close(&of);
    return rc;
}

int torn_write_atomic_with(const char *path, int (*fn)(FILE *f, void *arg, struct torn_err *err),
                           void *arg, struct torn_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc;

    if (!f)
        return torn_err_sys(err, TORN_E_NOMEM, errno, "open_memstream");
    rc = fn(f, arg, err);
    if (fclose(f) != 0 && rc == 0)
        rc = torn_err_sys(err, TORN_E_IO, errno, "cannot render %s", path);
    if (rc == 0)
        rc = torn_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

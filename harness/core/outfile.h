/* torn: output files another local user cannot redirect.
 *
 * torn runs as root on shared machines.  Every file it writes (reports, the
 * history, `torn check --json`, artifacts) and the run directory go through
 * this module, which closes the classic /tmp attacks:
 *
 *   - the directory is opened one component at a time from "/" with
 *     O_NOFOLLOW; a symbolic link on the way is followed only when root or
 *     torn's own user owns it (a link planted by another user is refused,
 *     as fs.protected_symlinks would in a sticky directory);
 *   - every directory on the way must be "trusted": owned by torn's user or
 *     root, and not writable by others unless it has the sticky bit (a
 *     group-writable one only for torn's or root's group).  Otherwise torn
 *     refuses with one line saying which directory and why: another user
 *     could rename or replace what torn writes there;
 *   - a file is written to a temporary name created exclusively in that
 *     directory (openat O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, random name,
 *     mode 0644 or as asked) and renamed into place with renameat on the
 *     directory descriptor: a symlink at the final name that another user
 *     owns is replaced, never followed (one of torn's user or root is
 *     followed, checked like one on the way); a directory, device, FIFO or
 *     socket there is refused;
 *   - a fresh directory (the run directory) is made with mkdirat under a
 *     random name, 0700, and only a directory torn created is ever chmod'ed.
 *
 * Paths are resolved lexically ("." and ".." removed) after a relative path
 * is made absolute with the working directory.
 */
#ifndef TORN_OUTFILE_H
#define TORN_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

struct torn_err;

/* Open directory path for writing into, as described above.  create_mode
 * > 0: missing components are created with that mode (and are then ours).
 * *fd_out: an O_DIRECTORY descriptor (O_CLOEXEC), caller closes.  Errors:
 * TORN_E_ENV with one line naming the directory and the reason. */
int torn_dir_open_safe(const char *path, int create_mode, int *fd_out, struct torn_err *err);

/* One file being written (see the Method above).  Fields are private. */
struct torn_outfile {
    int dirfd;            /* the trusted directory */
    int fd;               /* the temporary file, then the published one */
    char *path;           /* as given, for messages */
    char *base;           /* final name inside dirfd */
    char tmp[96];         /* temporary name inside dirfd */
    int published;        /* renamed into place */
};

/* Create the temporary file for path (mode: permission bits, e.g. 0644).
 * On error nothing is left behind and of needs no close. */
int torn_outfile_open(struct torn_outfile *of, const char *path, int mode, struct torn_err *err);
/* Write all of buf. */
int torn_outfile_write(struct torn_outfile *of, const void *buf, size_t len, struct torn_err *err);
/* fsync the file, rename it to its final name, fsync the directory.  The
 * descriptor stays open (a history keeps appending to it). */
int torn_outfile_publish(struct torn_outfile *of, struct torn_err *err);
/* Close; an unpublished temporary file is removed.  Safe to call twice. */
void torn_outfile_close(struct torn_outfile *of);

/* Open path for appending (created 0644 when missing) through a trusted
 * directory, never following a symlink at path ($GITHUB_STEP_SUMMARY).
 * *fd_out: O_WRONLY|O_APPEND|O_CLOEXEC, caller closes. */
int torn_outfile_append(const char *path, int *fd_out, struct torn_err *err);

/* Whether path could be written (its directory is trusted and writable, and
 * path is not a directory), creating nothing: the up-front check for report
 * options.  what names the option in the message ("--json report"). */
int torn_outfile_check(const char *path, const char *what, struct torn_err *err);

/* Make a fresh directory <parent>/<prefix>XXXXXX (parent opened with
 * torn_dir_open_safe, created with parent_mode when missing), mode 0700,
 * then set to mode (e.g. 0711 so unprivileged managed servers can traverse
 * it).  *path_out: its absolute path, caller frees. */
int torn_outdir_make(const char *parent, int parent_mode, const char *prefix, int mode,
                     char **path_out, struct torn_err *err);

/* Write a file atomically and safely (as above: a trusted directory, an
 * exclusive temporary file, fsync, renameat, fsync of the directory).
 * Readers see the old or the new content, never a mix. */
int torn_write_file_atomic(const char *path, const void *buf, size_t len, struct torn_err *err);
/* Same, with the content produced by fn into a FILE* (reports). */
int torn_write_atomic_with(const char *path, int (*fn)(FILE *f, void *arg, struct torn_err *err),
                           void *arg, struct torn_err *err);

#endif

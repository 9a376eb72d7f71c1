/* torn-fs daemon internals, shared by the files of harness/fs/ that make
 * the daemon (not by client.c, not by anything outside harness/fs/):
 *   state.c    the daemon state torn_fsd, model names, the ready line
 *   undo.c     the undo log: unsynced pages per file, pending namespace ops
 *   cut.c      a power cut: which pieces survive, the restore, state ids
 *   ctl.c      control commands, the control socket and the .torn-ctl file
 *   ops.c      the persistence bracket (freeze, counting, fault rules) and
 *              the path operations, as a libfuse struct fuse_operations
 *   lowlevel.c kernel node ids, libfuse's low-level requests -> ops.c
 *   serve.c    the daemon's life: set-up, the FUSE loop, teardown
 * See tornfs.h for the model.  Locking: one mutex torn_fsd.mu serializes
 * every persistence operation together with its undo bookkeeping, so the
 * undo log always matches the backing directory; reads and stats run
 * unlocked.  Every function here that touches torn_fsd expects mu held
 * unless it says otherwise. */
#ifndef TORN_TORNFS_INT_H
#define TORN_TORNFS_INT_H

#define FUSE_USE_VERSION 312
#include "fs/tornfs.h"

#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PAGE 4096u
#define MAX_RULES 32
#define REPLY_MAX 8192
#define NBUCKETS 1024

/* One unsynced page of a file. */
struct pent {
    uint64_t pgno;          /* page number + 1; 0 = empty hash slot */
    uint64_t seq;           /* global order of first dirtying, for cut specs */
    uint32_t slot;          /* where its durable bytes are in the node's ufd */
    uint32_t len;           /* durable bytes (0: the page was beyond the durable size) */
    int lost;               /* a failed fsync marked it clean (fsync-fail) */
};

/* A file with unsynced data, keyed by backing (dev, ino). */
struct fnode {
    dev_t dev;
    ino_t ino;
    int fd;                 /* O_RDWR on the backing inode, for restores */
    int ufd;                /* memfd holding the durable bytes of its dirty
                               pages, PAGE bytes a slot; -1 until one is needed */
    uint32_t slots;         /* slots of ufd in use */
    off_t durable;          /* size at the last fsync */
    off_t redo_size;        /* a kept cut: the size before it (-1: none); the
                               bytes of its dirty pages then are in ufd from
                               slot `slots` on, in table order */
    struct pent *tab;       /* open addressing on pgno */
    size_t cap, n;
    struct fnode *next;
};

enum mop_kind { M_CREATE, M_MKDIR, M_UNLINK, M_RMDIR, M_RENAME, M_EXCHANGE };

/* One pending namespace operation and how to undo it. */
struct mop {
    enum mop_kind kind;
    char *a, *b;            /* paths relative to the backing root */
    char *trash;            /* parked replaced/removed entry, or NULL */
    char *kept;             /* a kept cut parked the entry it created here */
};

/* A fault rule (`rule OP ERR ...`). */
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

/* The daemon: its backing directory, the undo log, the freeze point and
 * counters, the fault rules. */
struct torn_fsd {
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
    struct {                  /* a kept cut (`cut keep ...`) until `uncut`:
                                 the undo log as it was before it, and how
                                 to do the cut's changes again */
        int on;
        struct fnode *nodes[NBUCKETS];
        struct mop *mops;
        size_t n_mops, cap_mops, meta_keep;
    } kept;
    struct fuse_session *se;  /* to notice shutdown while frozen */
    int lfd;                  /* control socket (abstract "tornfs-<pid>") */
    pthread_t main_thread;    /* runs the FUSE loop: woken by SIGTERM to stop */
};

/* The daemon's one state (state.c). */
extern struct torn_fsd torn_fsd;
/* Names of enum mop_kind, in its order (undo.c). */
extern const char *const torn_fsd_mop_names[];

/* "/a/b" -> "a/b", "/" -> "." */
static inline const char *rel(const char *path)
{
    return (path[0] == '/' && path[1]) ? path + 1 : ".";
}

/* -errno of the call that just failed (-EIO when it left errno 0). */
static inline int neg_errno(void)
{
    return -(errno ? errno : EIO);
}

/* ---- undo.c: the undo log ---- */
/* The node of (dev, ino), or NULL. */
struct fnode *torn_fsd_node_find(dev_t dev, ino_t ino);
/* The node of an open backing fd, created with durable = current size;
 * NULL when it cannot be made. */
struct fnode *torn_fsd_node_get(int fd, dev_t dev, ino_t ino);
/* Log the durable bytes of every page of [off, off+len) not logged since
 * the last fsync: 0, or -errno (the change must then not be made). */
int torn_fsd_range_touch(struct fnode *n, off_t off, off_t len);
/* Copy len bytes of n's file at off into slots slot.. of n->ufd: 0, or
 * -errno. */
int torn_fsd_save_bytes(struct fnode *n, off_t off, uint32_t slot, size_t len);
/* Read len (at most PAGE) bytes of slot of n->ufd into buf: 0, or -errno. */
int torn_fsd_slot_read(const struct fnode *n, uint32_t slot, unsigned char *buf, size_t len);
/* fsync of n succeeded / failed under fsync-fail (its dirty pages lost). */
void torn_fsd_node_sync(struct fnode *n);
void torn_fsd_node_lose(struct fnode *n);
/* Forget every node (after a cut or `sync`). */
void torn_fsd_nodes_clear(void);
/* Log a namespace operation (paths relative to the backing root; trash: the
 * parked entry it replaced or removed, or NULL): 0 or -ENOMEM. */
int torn_fsd_mop_add(enum mop_kind kind, const char *a, const char *b, const char *trash);
void torn_fsd_mop_free(struct mop *m);
/* Undo one pending namespace operation (kept: reversibly, the entry it
 * created parked, for a kept cut): 0, or -1 with why naming it. */
int torn_fsd_mop_undo(struct mop *m, int kept, char *why, size_t why_len);
/* Do again an operation a kept cut undid: 0, or -1 with why naming it. */
int torn_fsd_mop_redo(struct mop *m, char *why, size_t why_len);
/* Commit the first k pending operations / up to the last touching dir. */
void torn_fsd_mops_commit(size_t k);
void torn_fsd_mops_commit_dir(const char *dir);
/* Park the entry r (st: its lstat) in the trash under a fresh name, into t:
 * moved there, or with keep (a rename is about to replace r atomically)
 * linked there, a directory always moved.  0, or -errno. */
int torn_fsd_park(const char *r, const struct stat *st, int keep, char *t, size_t t_len);
/* Move parked entry t back to r: 0, or -1 with errno. */
int torn_fsd_unpark(const char *t, const char *r);
/* Hide from st (a stat of an entry or inode torn-fs serves) the links the
 * trash holds.  Safe without mu. */
void torn_fsd_parked_hide(struct stat *st);

/* ---- cut.c ---- */
/* Perform `cut ARGS` (args is modified); reply gets "ok state=..." or "err
 * ..." (then -1).  The cut happens even when its state cannot be produced. */
int torn_fsd_cut(char *args, char *reply, size_t len);
/* Perform `uncut`: back to the moment before the kept cut.  0, or -1 with
 * reply "err ...". */
int torn_fsd_uncut(char *reply, size_t len);

/* ---- ctl.c ---- */
/* Read from / write to the .torn-ctl file of open file o (mu NOT held). */
int torn_fsd_ctl_read(struct ofile *o, char *buf, size_t size, off_t off);
int torn_fsd_ctl_write(struct ofile *o, const char *buf, size_t size);
/* Listen on the control socket and start its thread: 0, or -1 after
 * telling ready_fd why. */
int torn_fsd_ctl_listen(int ready_fd);

/* ---- ops.c ---- */
/* The path operations (libfuse's high-level signatures; lowlevel.c calls
 * them with the path a node id names). */
extern const struct fuse_operations torn_fsd_path_ops;
/* The user and group whose request this thread serves (new entries are
 * given to them). */
void torn_fsd_set_caller(uid_t uid, gid_t gid);
/* Wrap backing descriptor fd (-1 for the control file) into fi->fh: 0, or
 * -ENOMEM (fd closed). */
int torn_fsd_ofile_new(int fd, struct fuse_file_info *fi);

/* ---- lowlevel.c ---- */
extern const struct fuse_lowlevel_ops torn_fsd_ll_ops;
/* Enter path into the node table: its id, or 0 when out of memory. */
uint64_t torn_fsd_ln_enter(const char *path);
/* Free every node (at teardown). */
void torn_fsd_ln_clear(void);

/* ---- state.c ---- */
/* Tell the mounting process: one line to ready_fd ("ok" or why not); a no-op
 * for fd -1. */
void torn_fsd_ready(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

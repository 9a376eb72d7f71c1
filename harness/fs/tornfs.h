/* torn-fs: a fault-injecting FUSE file system that models a volatile disk
 * cache (power loss, fsync failures, I/O errors) over a backing directory.
 *
 * Model.  Every operation is applied to the backing directory at once (so
 * reads are a plain pass-through and large writes run near the backing
 * disk's speed) and torn-fs keeps an UNDO log of what is not yet durable:
 *   - data: for every page (4 KiB) written or truncated since the file's
 *     last fsync, the durable bytes of that page (copied by the kernel into
 *     a memfd of the file's), and the file's durable size;
 *   - namespace: every create, mkdir, symlink, link, unlink, rmdir and rename
 *     since it was covered by a directory fsync.  Namespace operations commit
 *     in order, like a journal: fsync of directory D makes durable every
 *     pending namespace operation up to the last one that touched D.  fsync
 *     of a FILE does not make its name durable (POSIX; ALICE's model), which
 *     is what finds the "directory never fsynced" bug.  Unlinked or
 *     replaced entries are parked in BACKING/.tornfs/trash until then.
 * A power cut replays the undo log: unsynced pages get their durable bytes
 * back, files their durable size, pending namespace operations are undone
 * newest first.  A torn cut keeps a subset of the unsynced pieces: any
 * subset of pages, a prefix of the namespace operations.  A kept cut
 * (`cut keep`) makes the same state and keeps the way back: `uncut` undoes
 * everything done since (fsync commits nothing meanwhile), redoes what the
 * cut undid and restores the undo log, for another cut of the same moment.
 *
 * Crash models (one code path, chosen per mount or per run):
 *   process     a cut keeps everything write() returned (the page cache
 *               survives a process crash).
 *   power       a cut keeps only fsynced data and committed names.
 *   fsync-fail  like power, and an fsync failed by a fault rule marks the
 *               dirty pages clean: they are lost at the cut even when a later
 *               fsync "succeeds" (Linux ext4/XFS, "Can Applications Recover
 *               from fsync Failures?", ATC'20).
 *
 * Persistence operations (write, truncate, fallocate, create, mkdir,
 * symlink, link, unlink, rmdir, rename, fsync, fsyncdir) are numbered 1, 2,
 * ... since the last counter reset; `freeze N` blocks every persistence
 * operation after the Nth until the next cut (those then fail with EIO), so
 * a crash point is exact and reproducible (SQLite's do_ioerr_test).
 *
 * Control.  A control thread listens on the abstract unix socket
 * "tornfs-<daemon pid>" (one command line per connection, one reply line),
 * so control never waits for a FUSE worker.  For shells, the mount root also
 * holds a hidden virtual file `.torn-ctl`: write one command line, then read
 * the reply from offset 0 of the same descriptor; a fresh descriptor reads
 * the status.  Commands (docs/torn-fs.md):
 *   status | model M | sync | counter-reset | freeze N | thaw | wait MS |
 *   wait-blocked MS |
 *   cut [keep] [meta=all|none|K] [data=all|none|rand:SEED|pfx:K|drop:K] |
 *   cut [keep] torn SEED | cut [keep] state=ID | uncut |
 *   rule OP ERR [path=GLOB] [nth=N] [times=K] | rules-clear | log
 * Replies are one line starting "ok" or "err".
 *
 * Only the mount's owner (the user who mounted it) and root may control it:
 * the control socket checks its peer (SO_PEERCRED), `.torn-ctl` is 0600 and
 * the owner's, and other users cannot use the mount at all unless
 * TORN_FS_ALLOW_OTHER asks for it (then under the files' permissions).
 *
 * The daemon is a child process (never a thread of the caller, so the caller
 * may fork freely) in its own session, so a signal to torn's process group
 * (Ctrl-C, `timeout -s KILL` of a CI runner) does not kill it with its mount
 * still in place.  It unmounts itself on SIGTERM, which it also receives
 * when its parent dies (PR_SET_PDEATHSIG), and when it sees it has been
 * reparented (its parent is gone, however it died); mounts whose
 * daemon is gone (a SIGKILLed daemon) are found by their fsname
 * "tornfs-<pid>" and lazily unmounted by torn_fs_clean_stale(), which every
 * run calls first.
 *
 * torn-fs never fsyncs the backing store: it is a test file system.
 */
#ifndef TORN_TORNFS_H
#define TORN_TORNFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct torn_err;
struct torn_fs;

enum torn_fs_model {
    TORN_FS_PROCESS,
    TORN_FS_POWER,
    TORN_FS_FSYNC_FAIL
};

/* "process", "power", "fsync-fail". */
const char *torn_fs_model_name(enum torn_fs_model m);
/* Parse a model name; TORN_E_CONFIG naming it when unknown. */
int torn_fs_model_parse(const char *s, enum torn_fs_model *out, struct torn_err *err);

/* Largest count a control command takes (freeze N, rule nth=/times=, cut
 * meta=K, a state's m<K>): far beyond any run, printable as digits. */
#define TORN_FS_COUNT_MAX 1000000000000LL
/* Longest `wait MS` a control command may ask for (one hour). */
#define TORN_FS_WAIT_MAX_MS 3600000

/* Which unsynced pages a cut keeps. */
enum torn_fs_data {
    TORN_FS_DATA_NONE,  /* "none": no unsynced page */
    TORN_FS_DATA_ALL,   /* "all": every one (lost pages excepted, but under process) */
    TORN_FS_DATA_RAND,  /* "rand": a random subset, seeded by arg */
    TORN_FS_DATA_PFX,   /* "pfx": the first arg, in the order first dirtied */
    TORN_FS_DATA_DROP   /* "drop": all but the arg-th */
};

/* A cut's crash state: how many pending namespace operations survive (-1 =
 * all), which unsynced pages (data, with arg: the seed of rand, K of pfx:K
 * and drop:K). */
struct torn_fs_state {
    long long meta;
    enum torn_fs_data data;
    uint64_t arg;
};
/* Parse a state id as a cut prints it, "m<K|all>:d<none|all|rand|pfx|drop>:<arg>"
 * ("m2:dpfx:3"), with the strict numbers of parse.h: 0, or TORN_E_CONFIG and
 * one line naming the part that is wrong. */
int torn_fs_state_parse(const char *id, struct torn_fs_state *st, struct torn_err *err);
/* The id of st, as torn_fs_state_parse reads it, into buf (64 bytes hold any). */
void torn_fs_state_format(const struct torn_fs_state *st, char *buf, size_t len);

/* Name of the control file at the mount root. */
#define TORN_FS_CTL ".torn-ctl"
/* Abstract unix socket of the daemon's control thread (pid = daemon). */
#define TORN_FS_SOCK_FMT "tornfs-%ld"
/* Name of torn-fs's private directory inside the backing directory. */
#define TORN_FS_PRIVATE ".tornfs"

enum {
    TORN_FS_DETACH = 1u << 0,      /* daemon survives its parent (torn fs mount) */
    TORN_FS_ALLOW_OTHER = 1u << 1  /* users other than the caller (and root) may
                                      use the mount, under the files'
                                      permissions (FUSE allow_other); off by
                                      default: the mount is the caller's */
};

/* Mount torn-fs over backing (an existing directory) at mountpoint (an
 * existing, empty directory) with model, served by a forked daemon.  Returns
 * when the mount answers, or an error within ~5 s (TORN_E_ENV when FUSE is
 * not available: err says why).  Without TORN_FS_DETACH the daemon is
 * tracked by proc.h and dies (unmounting) with the caller.  *out is NULL on
 * error; free with torn_fs_unmount. */
int torn_fs_mount(const char *backing, const char *mountpoint, enum torn_fs_model model,
                  unsigned flags, struct torn_fs **out, struct torn_err *err);
/* Unmount (the daemon keeps everything as it is: a clean shutdown), reap the
 * daemon, free fs.  Never leaves the mount behind: falls back to SIGKILL and a
 * lazy unmount.  NULL is a no-op. */
void torn_fs_unmount(struct torn_fs *fs);
/* The mount point / backing directory / daemon pid of fs. */
const char *torn_fs_mountpoint(const struct torn_fs *fs);
const char *torn_fs_backing(const struct torn_fs *fs);
pid_t torn_fs_pid(const struct torn_fs *fs);

/* Send one control command to the torn-fs mounted at mountpoint and copy the
 * reply line (without "ok "/"err ") into reply.  0 on "ok", TORN_E_REMOTE on
 * "err" (err->msg has the daemon's message), TORN_E_IO when the control file
 * cannot be used (not a torn-fs mount). */
int torn_fs_ctl(const char *mountpoint, const char *cmd, char *reply, size_t reply_len,
                struct torn_err *err);
/* Send cmd to the daemon of fs and return at once: the connected control
 * socket (readable when the reply came: poll it), whose reply
 * torn_fs_ctl_finish reads and closes, or a negative torn_code.  Closing
 * it unread abandons the command (a `wait-blocked` then ends within 2 ms).
 * A daemon this process started is addressed by its pid, without a look at
 * /proc/mounts. */
int torn_fs_ctl_start(struct torn_fs *fs, const char *cmd, struct torn_err *err);
/* The reply to cmd on fd (from torn_fs_ctl_start; closed here), as
 * torn_fs_ctl returns it. */
int torn_fs_ctl_finish(struct torn_fs *fs, int fd, const char *cmd, char *reply,
                       size_t reply_len, struct torn_err *err);
/* torn_fs_ctl with a printf-style command on fs (torn_fs_ctl_start, then
 * torn_fs_ctl_finish). */
int torn_fs_ctlf(struct torn_fs *fs, char *reply, size_t reply_len, struct torn_err *err,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Parsed `status` reply. */
struct torn_fs_status {
    uint64_t ops;            /* persistence operations since the counter reset */
    int frozen;              /* 1: blocked after the freeze point */
    int blocked;             /* requests waiting behind the freeze (the program
                                reached its next persistence operation) */
    uint64_t freeze_at;      /* 0: no freeze point armed */
    uint64_t pending_meta;   /* namespace operations not yet committed */
    uint64_t dirty_pages;    /* unsynced pages (lost ones included) */
    uint64_t lost_pages;     /* pages a failed fsync marked clean */
    uint64_t cuts;           /* cuts so far */
    uint64_t faults;         /* fault-rule errors returned so far */
    enum torn_fs_model model;
};
int torn_fs_status_get(struct torn_fs *fs, struct torn_fs_status *st, struct torn_err *err);

/* Lazily unmount every torn-fs mount whose daemon is dead.  Returns the
 * number removed.  Never blocks on a dead mount (reads /proc/mounts only). */
int torn_fs_clean_stale(void);

/* 1 if /dev/fuse exists and can be opened. */
int torn_fs_available(void);

/* The daemon body (harness/fs/serve.c): serve backing at mountpoint until
 * SIGTERM, unmount, or the death of process parent (0: not watched; the
 * daemon's parent, which it must not outlive).  flags: TORN_FS_ALLOW_OTHER.
 * ready_fd (or -1) receives "ok\n" once mounted, or one error line.
 * Returns 0 after a clean unmount. */
int torn_fs_serve(const char *backing, const char *mountpoint, enum torn_fs_model model,
                  unsigned flags, int ready_fd, pid_t parent);

/* Stop the torn-fs daemon serving mountpoint mnt (any process's) and wait
 * until it is unmounted.  real (real_len bytes, PATH_MAX is enough) receives
 * the resolved mountpoint.  0, TORN_E_CONFIG (not a torn-fs mount) or
 * TORN_E_IO (still mounted after the daemon was stopped).  `torn fs umount`
 * is harness/cli/cmd_fs.c. */
int torn_fs_umount_path(const char *mnt, char *real, size_t real_len, struct torn_err *err);

#endif

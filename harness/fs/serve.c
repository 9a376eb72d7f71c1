/* torn-fs daemon life: open the backing directory, mount, answer the
 * mounting process, serve until unmounted, SIGTERM or the parent's death,
 * then unmount and clean up. */
#include "fs/tornfs_int.h"

#include "core/err.h"
#include "core/util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        torn_fsd_ready(ready_fd, "cannot create %s: %s", trash, strerror(errno));
        goto out;
    }
    torn_fsd.tfd = open(trash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = torn_fsd.tfd < 0 ? -1 : 0;
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
    pthread_kill(torn_fsd.main_thread, SIGTERM);
    return NULL;
}

static int watch_parent(pid_t parent, int ready_fd)
{
    pthread_t th;

    torn_fsd.main_thread = pthread_self();
    if (parent <= 0)
        return 0;
    if (pthread_create(&th, NULL, parent_thread, (void *)(intptr_t)parent) != 0) {
        torn_fsd_ready(ready_fd, "cannot start the parent watcher: %s", strerror(errno));
        return -1;
    }
    pthread_detach(th);
    return 0;
}

/* Set up torn_fsd and the backing directory.  0, or -1 after telling ready_fd. */
static int serve_init(const char *backing, enum torn_fs_model model, int ready_fd)
{
    memset(&torn_fsd, 0, sizeof torn_fsd);
    pthread_mutex_init(&torn_fsd.mu, NULL);
    pthread_cond_init(&torn_fsd.cv, NULL);
    torn_fsd.model = model;
    torn_fsd.bfd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (torn_fsd.bfd < 0) {
        torn_fsd_ready(ready_fd, "cannot open backing directory %s: %s", backing, strerror(errno));
        return -1;
    }
    if (private_dirs(backing, ready_fd) < 0)
        return -1;
    if (!torn_fsd_ln_enter("/")) {
        torn_fsd_ready(ready_fd, "out of memory");
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
        torn_fsd_ready(ready_fd, "out of memory");
        return -1;
    }
    torn_fsd_ready(ready_fd, "ok");
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
    se = fuse_session_new(&args, &torn_fsd_ll_ops, sizeof torn_fsd_ll_ops, NULL);
    if (!se) {
        torn_fsd_ready(ready_fd, "fuse_session_new failed");
        goto unwind;
    }
    if (fuse_session_mount(se, mountpoint) != 0) {
        torn_fsd_ready(ready_fd, "cannot mount torn-fs at %s (is /dev/fuse usable?)", mountpoint);
        goto unwind;
    }
    mounted = 1;
    if (fuse_set_signal_handlers(se) != 0) {
        torn_fsd_ready(ready_fd, "cannot install signal handlers");
        goto unwind;
    }
    handlers = 1;
    torn_fsd.se = se;
    if (torn_fsd_ctl_listen(ready_fd) == 0 && watch_parent(parent, ready_fd) == 0)
        rc = serve_loop(se, ready_fd);
unwind:
    if (handlers)
        fuse_remove_signal_handlers(se);
    if (mounted)
        fuse_session_unmount(se);
    if (se)
        fuse_session_destroy(se);
    torn_fsd_ln_clear();
    if (rc < 0)
        return 2;
    /* A clean shutdown keeps everything: drop the parked entries. */
    priv = torn_asprintf("%s/%s", backing, TORN_FS_PRIVATE);
    if (priv)
        torn_rmtree(priv);
    free(priv);
    return rc;
}

/* torn: `torn fs mount|cut|umount|ctl|status|clean`, torn-fs from the
 * command line (harness/fs/tornfs.h, docs/torn-fs.md). */
#include "command.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "fs/tornfs.h"

static int usage(FILE *f)
{
    fprintf(f,
            "usage: torn fs mount [--model process|power|fsync-fail] [--allow-other] [--foreground]\n"
            "                     BACKING MOUNTPOINT\n"
            "       torn fs cut MOUNTPOINT [meta=all|none|K] [data=all|none|rand:S|pfx:K|drop:K]\n"
            "       torn fs cut MOUNTPOINT torn SEED | state=ID\n"
            "       torn fs ctl MOUNTPOINT COMMAND...   (status, sync, freeze N, rule ..., log)\n"
            "       torn fs status MOUNTPOINT\n"
            "       torn fs umount MOUNTPOINT\n"
            "       torn fs clean                       (remove stale torn-fs mounts)\n"
            "See docs/torn-fs.md.\n");
    return f == stdout ? 0 : 2;
}

static int cmd_mount(int argc, char **argv)
{
    enum torn_fs_model model = TORN_FS_POWER;
    unsigned flags = TORN_FS_DETACH;
    int fg = 0, i;
    struct torn_err err = {0};
    struct torn_fs *fs;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--foreground") == 0) {
            fg = 1;
        } else if (strcmp(argv[i], "--allow-other") == 0) {
            flags |= TORN_FS_ALLOW_OTHER;
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            if (torn_fs_model_parse(argv[++i], &model, &err) < 0) {
                fprintf(stderr, "torn fs mount: %s\n", err.msg);
                return 2;
            }
        } else {
            return usage(stderr);
        }
    }
    if (argc - i != 2)
        return usage(stderr);
    torn_fs_clean_stale();
    if (fg) {
        struct stat st;
        if (!torn_fs_available()) {
            fprintf(stderr, "torn fs mount: cannot open /dev/fuse: %s\n", strerror(errno));
            return 2;
        }
        if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode) || stat(argv[i + 1], &st) < 0 ||
            !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "torn fs mount: %s and %s must be directories\n", argv[i],
                    argv[i + 1]);
            return 2;
        }
        return torn_fs_serve(argv[i], argv[i + 1], model, flags, STDERR_FILENO, 0);
    }
    if (torn_fs_mount(argv[i], argv[i + 1], model, flags, &fs, &err) < 0) {
        fprintf(stderr, "torn fs mount: %s\n", err.msg);
        return 2;
    }
    printf("torn-fs: %s mounted at %s, model %s, daemon pid %ld\n", torn_fs_backing(fs),
           torn_fs_mountpoint(fs), torn_fs_model_name(model), (long)torn_fs_pid(fs));
    free((void *)torn_fs_backing(fs));
    free((void *)torn_fs_mountpoint(fs));
    free(fs);
    return 0;
}

/* Join argv[from..] with spaces into buf. */
static void join(char *buf, size_t len, int argc, char **argv, int from)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = from; i < argc && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i > from ? " " : "", argv[i]);
}

static int cmd_ctl(const char *mnt, const char *cmd)
{
    char reply[8192];
    struct torn_err err = {0};
    if (torn_fs_ctl(mnt, cmd, reply, sizeof reply, &err) < 0) {
        fprintf(stderr, "torn fs: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", reply);
    return 0;
}

int torn_cmd_fs(int argc, char **argv)
{
    char cmd[1024];
    const char *sub = argc > 1 ? argv[1] : "";

    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0)
        return usage(stdout);
    if (strcmp(sub, "mount") == 0)
        return cmd_mount(argc - 1, argv + 1);
    if (strcmp(sub, "clean") == 0) {
        printf("removed %d stale torn-fs mount(s)\n", torn_fs_clean_stale());
        return 0;
    }
    if (argc < 3)
        return usage(stderr);
    if (strcmp(sub, "umount") == 0 || strcmp(sub, "unmount") == 0) {
        char real[PATH_MAX];
        struct torn_err err = {0};
        if (torn_fs_umount_path(argv[2], real, sizeof real, &err) < 0) {
            fprintf(stderr, "torn fs umount: %s\n", err.msg);
            return 2;
        }
        printf("torn-fs at %s unmounted\n", real);
        return 0;
    }
    if (strcmp(sub, "status") == 0)
        return cmd_ctl(argv[2], "status");
    if (strcmp(sub, "cut") == 0) {
        char args[900];
        join(args, sizeof args, argc, argv, 3);
        snprintf(cmd, sizeof cmd, "cut %s", args);
        return cmd_ctl(argv[2], cmd);
    }
    if (strcmp(sub, "ctl") == 0 && argc > 3) {
        join(cmd, sizeof cmd, argc, argv, 3);
        return cmd_ctl(argv[2], cmd);
    }
    return usage(stderr);
}

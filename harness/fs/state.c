/* torn-fs daemon state, the bottom of harness/fs/'s daemon files: the one
 * struct torn_fsd every other file works on, the crash model's names, and
 * the line the daemon sends to the mounting process.  Uses nothing of the
 * other files, so undo.c, cut.c, ctl.c, ops.c, lowlevel.c and serve.c can
 * all build on it without a circle. */
#include "fs/tornfs_int.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct torn_fsd torn_fsd;

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

void torn_fsd_ready(int fd, const char *fmt, ...)
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

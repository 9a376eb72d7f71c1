/* torn: the front binary, `torn` itself.  `torn check` runs here: this
 * program links only what checking a history needs (libc, libm, cJSON), so
 * a checker run starts in about a millisecond instead of loading the 40-odd
 * libraries of the drivers, torn-fs and the proxy (libpq, hiredis, libcurl,
 * libfuse3, libwebsockets, libmicrohttpd, OpenSSL...).  Every other command
 * (and --help, --version, unknown ones) is the engine's, harness/cli/main.c:
 * the front execv()s it with argv unchanged, so the engine keeps this
 * process's pid, signals and exit status, and prints what it always did.
 *
 * The engine is torn-engine beside this binary (the build tree: build/torn,
 * build/torn-engine), else PREFIX/libexec/torn/bin/torn-engine for an
 * installed PREFIX/bin/torn (mk/install.mk).  Without it: one line, exit 2. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "command.h"

#define ENGINE "torn-engine"

/* This program's file, symbolic links resolved (the clone's ./torn link
 * finds build/torn-engine), into exe; *dir_len gets the length of its
 * directory.  0, or -1 with errno. */
static int self_path(char *exe, size_t len, size_t *dir_len)
{
    ssize_t n = readlink("/proc/self/exe", exe, len - 1);
    char *slash;

    if (n <= 0)
        return -1;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash) {
        errno = EINVAL;
        return -1;
    }
    *dir_len = (size_t)(slash - exe);
    return 0;
}

/* execv the engine with argv; returns only when that failed, with the exit
 * code after printing one line. */
static int run_engine(char **argv)
{
    static const char *const places[] = {"/" ENGINE, "/../libexec/torn/bin/" ENGINE};
    const char *cmd = argv[1] ? argv[1] : "";
    char exe[PATH_MAX], path[PATH_MAX + 64], failed[PATH_MAX + 64] = "";
    size_t dir_len;
    int saved = ENOENT;

    if (self_path(exe, sizeof exe, &dir_len) != 0) {
        fprintf(stderr, "torn: cannot find its own file (/proc/self/exe): %s\n",
                strerror(errno));
        return 2;
    }
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        snprintf(path, sizeof path, "%.*s%s", (int)dir_len, exe, places[i]);
        execv(path, argv);
        if (errno != ENOENT && !failed[0]) {
            saved = errno;
            memcpy(failed, path, sizeof failed);
        }
    }
    if (saved != ENOENT)
        fprintf(stderr, "torn: cannot run '%s': %s: %s\n", cmd, failed, strerror(saved));
    else
        fprintf(stderr,
                "torn: cannot run '%s': %s is neither beside %s nor in %.*s/../libexec/torn/bin "
                "(a copy of torn needs %s beside it)\n",
                cmd, ENGINE, exe, (int)dir_len, exe, ENGINE);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return torn_cmd_check(argc - 1, argv + 1);
    return run_engine(argv);
}

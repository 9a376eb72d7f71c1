/* Plain-cc driver for one harness (see fuzz.h): feeds each FILE argument,
 * or every file in each DIRECTORY argument, to fuzz_one.  Used by `make
 * test` to replay fuzz/regress/<harness>/ and the seed corpora without
 * AFL++.  A broken invariant aborts (exit by SIGABRT); otherwise it prints
 * "N passed, 0 failed" and exits 0.  Bad arguments exit 2. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "fuzz.h"
#include "core/util.h"

static int run_file(const char *path, int *n)
{
    char *buf;
    size_t len;
    struct torn_err err = {0};

    if (torn_read_file(path, &buf, &len, &err) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, err.msg);
        return -1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    fuzz_one((const unsigned char *)buf, len);
    free(buf);
    (*n)++;
    return 0;
}

static int run_dir(const char *dir, int *n)
{
    struct dirent **names;
    int m = scandir(dir, &names, NULL, alphasort), rc = 0;

    if (m < 0) {
        fprintf(stderr, "replay: %s: cannot list\n", dir);
        return -1;
    }
    for (int i = 0; i < m; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            run_file(path, n) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int n = 0, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (fuzz_init() != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            rc = 2;
        } else if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &n) : run_file(argv[i], &n)) {
            rc = 2;
        }
    }
    printf("%d passed, 0 failed\n", n);
    return rc;
}

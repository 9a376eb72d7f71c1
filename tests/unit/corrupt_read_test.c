/* Unit tests of torn_corrupt_files (scenarios/corrupt_read.c): each kind of
 * damage does exactly what corrupt-read promises, on real files in a
 * private temporary directory, and names from a target (an exec adapter's
 * "files" answer, an HTTP spec) never reach outside the directory or
 * through a symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/target.h"
#include "core/util.h"

static char dir[64];
static const char REC[] = "{\"id\":\"j\",\"version\":3,\"payload\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ\"}";

static void put(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The file's bytes (malloc'd, NUL-terminated) or NULL if it is missing;
 * kept until the next call, which frees it. */
static char *get(const char *name, size_t *len)
{
    static char *last;
    char path[128];

    free(last);
    last = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (torn_read_file(path, &last, len, NULL) != 0)
        last = NULL;
    return last;
}

static int exists(const char *name)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static void fresh(void)
{
    snprintf(dir, sizeof dir, "/tmp/torn-corrupt-test.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    put("j.json", REC);
    put("j.json.bak", REC);
    put("j.json.tmp.123", REC);
    put("other.json", REC);
}

static const char *const backups[] = {"j.json.bak"}, *const temps[] = {"j.json.tmp.*"};
static const struct torn_files files = {"j.json", backups, 1, temps, 1};

static int damage(enum torn_corruption how)
{
    struct torn_err err;

    torn_err_clear(&err);
    return torn_corrupt_files(dir, &files, how, 42, &err);
}

static void test_rewrites(void)
{
    size_t len, n_diff = 0;
    char *b = NULL;
    cJSON *j;

    fresh();
    CHECK(damage(TORN_CORRUPT_EMPTY) == 0 && (b = get("j.json", &len)) && len == 0, "empty");
    put("j.json", REC);
    CHECK(damage(TORN_CORRUPT_TRUNCATE) == 0 && (b = get("j.json", &len)) &&
              len == strlen(REC) / 2 && memcmp(b, REC, len) == 0,
          "truncate keeps the first half");
    put("j.json", REC);
    CHECK(damage(TORN_CORRUPT_GARBAGE) == 0 && (b = get("j.json", &len)) && len == strlen(REC) &&
              memcmp(b, REC, len) != 0,
          "garbage: same length, other bytes");
    put("j.json", REC);
    CHECK(damage(TORN_CORRUPT_BITFLIP) == 0 && (b = get("j.json", &len)) && len == strlen(REC),
          "bitflip keeps the length");
    for (size_t i = 0; b && i < len; i++)
        n_diff += b[i] != REC[i];
    j = b ? cJSON_Parse(b) : NULL;
    CHECK(n_diff == 1 && j && strstr(b, "\"payload\":\"") &&
              strcmp(cJSON_GetObjectItem(j, "payload")->valuestring,
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 0,
          "bitflip changes one payload character and stays valid JSON (%zu bytes differ)", n_diff);
    cJSON_Delete(j);
    CHECK((b = get("j.json.bak", &len)) && strcmp(b, REC) == 0, "the backup is untouched");
    get("", &len); /* frees the last copy */
    torn_rmtree(dir);
}

static void test_removals(void)
{
    fresh();
    CHECK(damage(TORN_CORRUPT_MISSING) == 0 && !exists("j.json") && exists("j.json.bak") &&
              exists("j.json.tmp.123"),
          "missing removes the main copy only");
    put("j.json", REC);
    CHECK(damage(TORN_CORRUPT_ALL_MISSING) == 0 && !exists("j.json") && !exists("j.json.bak") &&
              !exists("j.json.tmp.123") && exists("other.json"),
          "all-missing removes main, backups and temp matches, nothing else");
    CHECK(damage(TORN_CORRUPT_EMPTY) == TORN_E_NOTFOUND, "a missing main copy is not found");
    torn_rmtree(dir);
}

static void test_confined(void)
{
    static const char *const out[] = {"../x"};
    struct torn_files abs = {"/etc/passwd", NULL, 0, NULL, 0};
    struct torn_files up = {"sub/../../j.json", NULL, 0, NULL, 0};
    struct torn_files bak_up = {"j.json", out, 1, NULL, 0};
    struct torn_files link = {"link.json", NULL, 0, NULL, 0};
    char target[128], path[128];
    size_t len;
    char *b = NULL;

    fresh();
    CHECK(torn_corrupt_files(dir, &abs, TORN_CORRUPT_EMPTY, 1, NULL) == TORN_E_CONFIG,
          "an absolute path is refused");
    CHECK(torn_corrupt_files(dir, &up, TORN_CORRUPT_MISSING, 1, NULL) == TORN_E_CONFIG,
          "a .. component is refused");
    CHECK(torn_corrupt_files(dir, &bak_up, TORN_CORRUPT_ALL_MISSING, 1, NULL) == TORN_E_CONFIG,
          "a backup outside the directory is refused");
    snprintf(target, sizeof target, "%s/other.json", dir);
    snprintf(path, sizeof path, "%s/link.json", dir);
    CHECK(symlink(target, path) == 0, "symlink: %s", strerror(errno));
    CHECK(torn_corrupt_files(dir, &link, TORN_CORRUPT_EMPTY, 1, NULL) != 0 &&
              (b = get("other.json", &len)) && strcmp(b, REC) == 0,
          "a symlinked main copy is not followed");
    get("", &len);
    torn_rmtree(dir);
}

static const struct torn_test tests[] = {
    {"rewrites", test_rewrites},
    {"removals", test_removals},
    {"confined", test_confined},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

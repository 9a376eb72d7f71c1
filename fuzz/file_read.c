/* Fuzz harness: the file store's safe reader (targets/file.c, durable
 * strategy) on arbitrary file contents.  Byte 0 picks the layout: 0 the
 * rest is r.json; 1 the rest is r.json.bak; 2 r.json is the first half and
 * r.json.bak the second; 3 neither exists.  Invariant: the read returns an
 * intact record (digest matches) or TORN_E_CORRUPT / TORN_E_NOTFOUND (only
 * NOTFOUND when neither file exists); never anything else. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "core/record.h"
#include "core/target.h"
#include "core/util.h"

extern const struct torn_target_ops torn_target_file;

static char run_dir[64], main_p[256], bak_p[256];
static struct torn_target *t;

static void cleanup(void)
{
    if (t) {
        torn_target_close(t);
        torn_target_teardown(t);
        torn_target_free(t);
    }
    rmdir(run_dir);
}

int fuzz_init(void)
{
    static const struct torn_kv params[] = {{"retries", "1"}, {"retry_ms", "0"}};
    struct torn_target_cfg cfg = {
        .uri = "file:durable", .display = "file:durable", .driver = "file",
        .strategy = "durable", .params = params, .n_params = 2, .run_dir = run_dir,
        .ns = "torn_fuzz", .timeout_ms = 1000};
    struct torn_err err = {0};

    snprintf(run_dir, sizeof run_dir, "/tmp/torn-fuzz-file-XXXXXX");
    if (!mkdtemp(run_dir)) {
        perror("fuzz/file_read: mkdtemp");
        return 1;
    }
    atexit(cleanup);
    if (torn_target_new(&torn_target_file, &cfg, &t, &err) || torn_target_setup(t, &err) ||
        torn_target_open(t, &err)) {
        fprintf(stderr, "fuzz/file_read: %s\n", err.msg);
        return 1;
    }
    snprintf(main_p, sizeof main_p, "%s/torn_fuzz/r.json", run_dir);
    snprintf(bak_p, sizeof bak_p, "%s/torn_fuzz/r.json.bak", run_dir);
    return 0;
}

static void put(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) != 0)
        fuzz_fail("cannot write %s", path);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    int mode = len ? data[0] % 4 : 3, rc;
    size_t n = len ? len - 1 : 0, half = n / 2;
    cJSON *rec = NULL;
    struct torn_err err = {0};

    unlink(main_p);
    unlink(bak_p);
    if (mode == 0 || mode == 2)
        put(main_p, data + 1, mode == 0 ? n : half);
    if (mode == 1 || mode == 2)
        put(bak_p, data + 1 + (mode == 1 ? 0 : half), mode == 1 ? n : n - half);
    rc = torn_target_read(t, "r", &rec, &err);
    if (rc == TORN_OK) {
        char why[160];
        if (!rec || !torn_record_str(rec, "id") || torn_record_version(rec) < 1 ||
            !torn_record_intact(rec, why, sizeof why))
            fuzz_fail("safe read returned a record that is not intact");
    } else if (rec || (rc != TORN_E_CORRUPT && rc != TORN_E_NOTFOUND) ||
               (rc == TORN_E_NOTFOUND) != (mode == 3) || !err.msg[0]) {
        fuzz_fail("safe read: mode %d, rc %d (%s), record %p", mode, rc, err.msg, (void *)rec);
    }
    cJSON_Delete(rec);
    return 0;
}

/* Unit tests: the shard rule (run/shard.h) and the exact JSON form of a
 * latency histogram (core/hdr_json.h) that torn merge reads back. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/hdr.h"
#include "core/hdr_json.h"
#include "run/shard.h"

static void test_parse(void)
{
    static const char *const bad[] = {"", "3", "0/3", "4/3", "1/0", "x/3", "1/x", "1/3/4",
                                      "-1/3", "1/100001", " 1/3", "1/3 ", "0x1/3", NULL};
    struct torn_shard s = {0, 0};
    struct torn_err err;

    CHECK(torn_shard_parse("2/3", &s, &err) == 0 && s.index == 2 && s.count == 3, "2/3");
    CHECK(torn_shard_parse("1/1", &s, &err) == 0 && s.index == 1 && s.count == 1, "1/1");
    for (int i = 0; bad[i]; i++)
        CHECK(torn_shard_parse(bad[i], &s, &err) == TORN_E_USAGE, "'%s' refused", bad[i]);
}

/* Every entry in exactly one shard, sizes as torn_shard_size says. */
static void test_partition(void)
{
    for (unsigned n = 1; n <= 7; n++)
        for (size_t entries = 0; entries <= 20; entries++) {
            size_t sizes = 0;
            for (unsigned i = 1; i <= n; i++) {
                struct torn_shard s = {i, n};
                size_t mine = 0;
                for (size_t k = 0; k < entries; k++)
                    mine += (size_t)torn_shard_owns(&s, k);
                CHECK(mine == torn_shard_size(&s, entries), "%u/%u of %zu", i, n, entries);
                sizes += mine;
            }
            for (size_t k = 0; k < entries; k++) {
                unsigned owners = 0;
                for (unsigned i = 1; i <= n; i++) {
                    struct torn_shard s = {i, n};
                    owners += (unsigned)torn_shard_owns(&s, k);
                }
                CHECK(owners == 1, "entry %zu of N=%u in %u shards", k, n, owners);
            }
            CHECK(sizes == entries, "N=%u: %zu of %zu", n, sizes, entries);
        }
}

static void test_hdr_roundtrip(void)
{
    struct torn_hdr *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    struct torn_err err;
    cJSON *o;

    torn_hdr_init(a);
    for (uint64_t v = 1; v < 5000000000ull; v = v * 3 + 7)
        torn_hdr_add(a, v);
    o = torn_hdr_to_json(a);
    CHECK(o && torn_hdr_from_json(o, "h", b, &err) == 0, "read back");
    CHECK(memcmp(a, b, sizeof *a) == 0, "exact");
    cJSON_ReplaceItemInObject(o, "n", cJSON_CreateNumber((double)a->n + 1));
    CHECK(torn_hdr_from_json(o, "h", b, &err) == TORN_E_CONFIG, "counts != n refused");
    cJSON_Delete(o);
    torn_hdr_init(a);
    o = torn_hdr_to_json(a);
    CHECK(torn_hdr_from_json(o, "h", b, &err) == 0 && memcmp(a, b, sizeof *a) == 0, "empty");
    cJSON_Delete(o);
    o = cJSON_Parse("{\"n\":1,\"min\":1,\"max\":1,\"sum\":1,\"buckets\":[[99999,1]]}");
    CHECK(torn_hdr_from_json(o, "h", b, &err) == TORN_E_CONFIG, "index out of range refused");
    cJSON_Delete(o);
    CHECK(torn_hdr_from_json(NULL, "h", b, &err) == TORN_E_CONFIG, "missing refused");
    free(a);
    free(b);
}

static const struct torn_test tests[] = {
    {"parse", test_parse},
    {"partition", test_partition},
    {"hdr_roundtrip", test_hdr_roundtrip},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

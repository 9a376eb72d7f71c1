/* Unit tests: the log-linear histogram. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "core/hdr.h"
#include "core/util.h"

static int within(uint64_t got, uint64_t want, double rel)
{
    double d = (double)got - (double)want;
    return (d < 0 ? -d : d) <= rel * (double)want + 1;
}

static void test_exact_small(void)
{
    struct torn_hdr h;

    torn_hdr_init(&h);
    for (uint64_t v = 0; v < 32; v++)
        torn_hdr_add(&h, v);
    CHECK(h.n == 32, "n=%llu", (unsigned long long)h.n);
    CHECK(h.min == 0 && h.max == 31, "min %llu max %llu", (unsigned long long)h.min,
          (unsigned long long)h.max);
    CHECK(torn_hdr_quantile(&h, 0.5) == 16, "p50=%llu", (unsigned long long)torn_hdr_quantile(&h, 0.5));
}

static void test_bucket_bounds(void)
{
    /* Every value lies inside its bucket, and buckets are contiguous. */
    uint64_t vals[] = {31, 32, 33, 63, 64, 1000, 123456789, 1ull << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        unsigned b = torn_hdr_index(vals[i]);
        CHECK(b < TORN_HDR_BUCKETS, "bucket %u out of range", b);
        CHECK(torn_hdr_bucket_lo(b) <= vals[i] && vals[i] <= torn_hdr_bucket_hi(b),
              "%llu not in bucket %u [%llu,%llu]", (unsigned long long)vals[i], b,
              (unsigned long long)torn_hdr_bucket_lo(b), (unsigned long long)torn_hdr_bucket_hi(b));
    }
    for (unsigned b = 0; b + 1 < TORN_HDR_BUCKETS - 1; b++)
        if (torn_hdr_bucket_hi(b) + 1 != torn_hdr_bucket_lo(b + 1)) {
            CHECK(0, "gap between bucket %u and %u", b, b + 1);
            break;
        }
}

/* Quantiles of a uniform 1..1e6 distribution within the promised ~3%. */
static void test_quantile_precision(void)
{
    struct torn_hdr h;
    struct torn_rng r;
    uint64_t seed = 7;
    static const double qs[] = {0.5, 0.9, 0.99, 0.999};

    torn_rng_seed(&r, seed);
    torn_hdr_init(&h);
    for (int i = 0; i < 200000; i++)
        torn_hdr_add(&h, 1 + torn_rng_below(&r, 1000000));
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        uint64_t want = (uint64_t)(qs[i] * 1000000), got = torn_hdr_quantile(&h, qs[i]);
        CHECK(within(got, want, 0.04), "seed %llu q=%.3f got %llu want ~%llu",
              (unsigned long long)seed, qs[i], (unsigned long long)got, (unsigned long long)want);
    }
    CHECK(torn_hdr_quantile(&h, 1.0) == h.max, "p100 is max");
}

static void test_merge(void)
{
    struct torn_hdr a, b;

    torn_hdr_init(&a);
    torn_hdr_init(&b);
    for (int i = 1; i <= 100; i++)
        torn_hdr_add(i <= 50 ? &a : &b, (uint64_t)i * 1000);
    torn_hdr_merge(&a, &b);
    CHECK(a.n == 100 && a.min == 1000 && a.max == 100000, "merged n/min/max");
    CHECK(within(torn_hdr_quantile(&a, 0.5), 50000, 0.04), "merged p50 %llu",
          (unsigned long long)torn_hdr_quantile(&a, 0.5));
    CHECK(a.sum == 5050ull * 1000, "sum exact");
}

static void test_empty(void)
{
    struct torn_hdr h;

    torn_hdr_init(&h);
    CHECK(torn_hdr_quantile(&h, 0.99) == 0 && torn_hdr_mean(&h) == 0, "empty histogram is zero");
}

static const struct torn_test tests[] = {
    {"exact_small", test_exact_small},
    {"bucket_bounds", test_bucket_bounds},
    {"quantile_precision", test_quantile_precision},
    {"merge", test_merge},
    {"empty", test_empty},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

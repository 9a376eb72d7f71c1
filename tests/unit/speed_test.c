/* Unit tests: kill delays scaled to the target's measured update time
 * (scenarios/lib/speed.h), and a scenario's stop at its first violation
 * (scenario.h, torn_ctx_violated / torn_ctx_expired). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/util.h"
#include "scenarios/lib/speed.h"

static const uint64_t MS = 1000000;

static void test_median_of_answered(void)
{
    struct torn_speed s;

    memset(&s, 0, sizeof s);
    CHECK(torn_speed_median_ms(&s) == 0, "no update timed: median 0");
    torn_speed_answer(&s, 0, 5 * MS); /* an answer never announced */
    torn_speed_start(&s, 1, 10 * MS);
    torn_speed_start(&s, 99, 10 * MS); /* a writer out of range */
    torn_speed_answer(&s, 99, 20 * MS);
    CHECK(s.n_updates == 0, "unannounced and out-of-range answers ignored (%lld)", s.n_updates);
    torn_speed_answer(&s, 1, 30 * MS);
    torn_speed_start(&s, 0, 40 * MS);
    torn_speed_answer(&s, 0, 44 * MS);
    torn_speed_start(&s, 2, 50 * MS);
    torn_speed_answer(&s, 2, 56 * MS);
    torn_speed_answer(&s, 2, 90 * MS); /* a second answer to one announcement */
    CHECK(s.n_updates == 3, "3 updates timed (got %lld)", s.n_updates);
    CHECK(torn_speed_median_ms(&s) == 6, "median of 20, 4, 6 ms is 6 (got %g)",
          torn_speed_median_ms(&s));
    for (int i = 0; i < 40; i++) { /* the ring keeps the recent ones */
        torn_speed_start(&s, 3, (uint64_t)(100 + i) * MS);
        torn_speed_answer(&s, 3, (uint64_t)(100 + i) * MS + MS / 2);
    }
    CHECK(torn_speed_median_ms(&s) == 0.5, "median of the last 16 (got %g)",
          torn_speed_median_ms(&s));
}

static void test_window_widens(void)
{
    struct torn_speed s;
    struct torn_rng a, b;
    double lo = 1e9, hi = 0;

    memset(&s, 0, sizeof s);
    torn_rng_seed(&a, 7);
    torn_rng_seed(&b, 7);
    /* Fast target (2 ms updates): the given 0..40 ms window stands. */
    for (int i = 0; i < 5; i++) {
        torn_speed_start(&s, 0, (uint64_t)i * 10 * MS);
        torn_speed_answer(&s, 0, (uint64_t)i * 10 * MS + 2 * MS);
    }
    for (int i = 0; i < 200; i++) {
        double d = torn_speed_delay_ms(&s, &a, 0, 40);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo >= 0 && hi <= 40 && hi > 30, "fast target: delays in 0..40 ms (%g..%g)", lo, hi);
    CHECK(s.n_widened == 0 && s.widest_ms == 40, "not widened (%lld, %g)", s.n_widened,
          s.widest_ms);
    /* Slow target (100 ms updates): 10 + 2 x 100 ms. */
    for (int i = 0; i < 16; i++) {
        torn_speed_start(&s, 0, (uint64_t)(1000 + i * 200) * MS);
        torn_speed_answer(&s, 0, (uint64_t)(1100 + i * 200) * MS);
    }
    lo = 1e9, hi = 0;
    for (int i = 0; i < 200; i++) {
        double d = torn_speed_delay_ms(&s, &a, 10, 40);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo >= 10 && hi <= 210 && hi > 150, "slow target: delays in 10..210 ms (%g..%g)", lo,
          hi);
    CHECK(s.n_widened == 200 && s.widest_ms == 210, "widened (%lld, %g)", s.n_widened,
          s.widest_ms);
    /* One rng draw per delay, whatever the width: a seed replays. */
    for (int i = 0; i < 400; i++)
        torn_rng_double(&b);
    CHECK(torn_rng_double(&a) == torn_rng_double(&b), "one draw per delay");
}

static void test_describe(void)
{
    struct torn_speed s;
    struct torn_rng rng;
    char buf[256];

    memset(&s, 0, sizeof s);
    torn_speed_describe(&s, 0, buf, sizeof buf);
    CHECK(buf[0] == 0, "nothing measured: empty (%s)", buf);
    torn_speed_start(&s, 0, 1 * MS);
    torn_speed_answer(&s, 0, 81 * MS);
    torn_rng_seed(&rng, 1);
    torn_speed_delay_ms(&s, &rng, 0, 40);
    torn_speed_describe(&s, 0, buf, sizeof buf);
    CHECK(strstr(buf, "80.0 ms") && strstr(buf, "0..160 ms"), "names the speed and window: %s",
          buf);
}

static void test_stop_at_violation(void)
{
    struct torn_result *r = torn_result_new();
    struct torn_ctx ctx;

    memset(&ctx, 0, sizeof ctx);
    ctx.result = r;
    ctx.stop_at_violation = 1;
    CHECK(!torn_ctx_expired(&ctx) && !r->stopped_at_violation, "no violation: goes on");
    torn_result_violation(r, "no-lost-write", "k", 0.5, "lost");
    ctx.stop_at_violation = 0;
    CHECK(!torn_ctx_expired(&ctx) && !torn_ctx_violated(&ctx) && !r->stopped_at_violation,
          "--all-violations: goes on after a violation");
    ctx.stop_at_violation = 1;
    CHECK(torn_ctx_violated(&ctx) && torn_ctx_expired(&ctx) && r->stopped_at_violation,
          "a violation ends the plan and is marked");
    torn_result_free(r);
}

static const struct torn_test tests[] = {
    {"median_of_answered", test_median_of_answered},
    {"window_widens", test_window_widens},
    {"describe", test_describe},
    {"stop_at_violation", test_stop_at_violation},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

/* Unit tests: the run-wide operation and rate caps (core/throttle.h) and
 * how torn_ctx_op keeps the rate cap's wait out of a latency. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/err.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/throttle.h"
#include "core/util.h"
#include "proc/proc.h"

static void test_no_caps(void)
{
    CHECK(torn_throttle_init(0, 0, NULL) == 0, "disarmed");
    for (int i = 0; i < 5; i++)
        CHECK(torn_throttle_take(NULL) == 0, "take %d", i);
    CHECK(!torn_stop_requested() && !torn_throttle_capped(), "no stop without a cap");
}

/* The count cap stops the run at N (every process sees it); operations
 * after it (the wind-down) are still sent and counted. */
static void test_ops_cap(void)
{
    CHECK(torn_throttle_init(3, 0, NULL) == 0, "armed");
    for (int i = 0; i < 2; i++)
        CHECK(torn_throttle_take(NULL) == 0 && !torn_stop_requested(), "op %d of 3: no stop", i + 1);
    CHECK(torn_throttle_take(NULL) == 0, "op 3 sent");
    CHECK(torn_stop_requested() && torn_throttle_capped(), "the third op stops the run");
    CHECK(torn_throttle_take(NULL) == 0 && torn_throttle_used() == 4,
          "a wind-down op is sent and counted (used %lld)", torn_throttle_used());
    CHECK(torn_throttle_init(0, 0, NULL) == 0 && !torn_stop_requested(), "disarming forgets the stop");
}

/* Forked processes draw on one count. */
static void test_shared_by_processes(void)
{
    pid_t kids[3];

    CHECK(torn_throttle_init(1000, 0, NULL) == 0, "armed");
    for (int k = 0; k < 3; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            for (int i = 0; i < 10; i++)
                torn_throttle_take(NULL);
            _exit(0);
        }
    }
    for (int k = 0; k < 3; k++)
        if (kids[k] > 0)
            waitpid(kids[k], NULL, 0);
    CHECK(torn_throttle_used() == 30, "3 processes x 10 ops = %lld counted", torn_throttle_used());
    torn_throttle_init(0, 0, NULL);
}

/* 20 ops/s: five operations span at least 4 periods (200 ms), however
 * fast the machine; the waits are handed to torn_ctx_op, which takes them
 * off the latency it records. */
static void test_rate_cap(void)
{
    uint64_t t0, waited;
    struct torn_ctx ctx;
    struct torn_result *r = torn_result_new();

    CHECK(torn_throttle_init(0, 20, NULL) == 0, "armed");
    torn_throttle_waited_ns();
    t0 = torn_now_ns();
    for (int i = 0; i < 5; i++)
        CHECK(torn_throttle_take(NULL) == 0, "take %d", i);
    CHECK(torn_now_ns() - t0 >= 199000000ull, "5 ops at 20/s took %.0f ms (>= 200)",
          (double)(torn_now_ns() - t0) / 1e6);
    waited = torn_throttle_waited_ns();
    CHECK(waited >= 150000000ull, "the waits are counted (%.0f ms)", (double)waited / 1e6);
    CHECK(torn_throttle_waited_ns() == 0, "and handed out once");

    memset(&ctx, 0, sizeof ctx);
    CHECK(torn_stats_new(&ctx.stats, NULL) == 0, "stats");
    torn_throttle_take(NULL);
    t0 = torn_now_ns();
    torn_throttle_take(NULL); /* waits about 50 ms */
    torn_ctx_op(&ctx, TORN_OP_UPDATE, TORN_OUT_OK, torn_now_ns() - t0 + 1000000);
    torn_stats_merge(ctx.stats, r->ops);
    CHECK(r->ops[TORN_OP_UPDATE].hdr.n == 1 && r->ops[TORN_OP_UPDATE].hdr.max < 5000000,
          "the recorded latency leaves out the cap's wait (%.1f ms recorded)",
          (double)r->ops[TORN_OP_UPDATE].hdr.max / 1e6);
    torn_stats_free(ctx.stats);
    torn_result_free(r);
    torn_throttle_init(0, 0, NULL);
}

static const struct torn_test tests[] = {
    {"no_caps", test_no_caps},
    {"ops_cap", test_ops_cap},
    {"shared_by_processes", test_shared_by_processes},
    {"rate_cap", test_rate_cap},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

/* Unit tests of the schedule simulator (harness/sim/schedule.c): the checker
 * fails the broken strategies and passes durable, exhaustively over every
 * crash point and torn-cut choice of small schedules. */
#include <string.h>

#include "check.h"
#include "sim/schedule.h"

static int run(const unsigned char *buf, size_t len, enum torn_sched_strategy s,
               struct torn_sched_result *res)
{
    return torn_sched_run(buf, len, s, NULL, res);
}

/* Header (1 + w workers, chunk 8 + c, payload p) followed by n steps of
 * worker 0 and then the event byte ev (0 = none). */
static size_t build(unsigned char *buf, int w, int c, int p, int n, unsigned char ev)
{
    size_t len = 0;

    buf[len++] = (unsigned char)w;
    buf[len++] = (unsigned char)c;
    buf[len++] = (unsigned char)p;
    for (int i = 0; i < n; i++)
        buf[len++] = 0;
    if (ev)
        buf[len++] = ev;
    return len;
}

static void test_quiet_schedules_pass(void)
{
    static const unsigned char empty[1] = {0};
    unsigned char buf[64];
    struct torn_sched_result res;
    size_t len = build(buf, 0, 8, 16, 40, 0);

    for (int s = TORN_SCHED_NAIVE; s <= TORN_SCHED_NOCHECK; s++) {
        CHECK(run(empty, 0, (enum torn_sched_strategy)s, &res) == 0, "empty input, %d", s);
        CHECK(run(empty, 1, (enum torn_sched_strategy)s, &res) == 0, "one byte, %d", s);
        CHECK(run(buf, len, (enum torn_sched_strategy)s, &res) == 0 && res.acked >= 2,
              "one worker, updates only, strategy %d: %s", s, res.evidence);
    }
}

static void test_naive_lost_update(void)
{
    /* two workers alternate: both read version 1, both write */
    static const unsigned char buf[] = {1, 8, 16, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    struct torn_sched_result res;

    CHECK(run(buf, sizeof buf, TORN_SCHED_NAIVE, &res) == 1 &&
              strcmp(res.criterion, "lost-write") == 0,
          "naive interleaving: %s", res.criterion);
    for (int s = TORN_SCHED_RENAME; s <= TORN_SCHED_NOCHECK; s++)
        CHECK(run(buf, sizeof buf, (enum torn_sched_strategy)s, &res) == 0,
              "strategy %d holds under the lock: %s", s, res.evidence);
}

/* A crash or cut after every possible step of one worker's updates. */
static void test_every_crash_point(void)
{
    static const unsigned char evs[] = {0xF0, 0xF8};
    unsigned char buf[64];
    struct torn_sched_result res;
    int naive = 0, rename = 0, durable = 0, nocheck = 0;

    for (int n = 0; n < 40; n++) {
        for (size_t e = 0; e < sizeof evs; e++) {
            size_t len = build(buf, 0, 8, 16, n, evs[e]);
            naive += run(buf, len, TORN_SCHED_NAIVE, &res);
            rename += run(buf, len, TORN_SCHED_RENAME, &res);
            durable += run(buf, len, TORN_SCHED_DURABLE, &res);
            nocheck += run(buf, len, TORN_SCHED_NOCHECK, &res);
        }
    }
    CHECK(naive > 0, "naive never broke under crashes and power cuts");
    CHECK(rename > 0, "rename never broke under power cuts");
    CHECK(durable == 0, "durable broke %d time(s)", durable);
    CHECK(nocheck == 0, "nocheck broke %d time(s) without faults", nocheck);
}

/* Torn cuts: every cut point, journal prefix and data choice. */
static void test_torn_cuts(void)
{
    unsigned char buf[64];
    struct torn_sched_result res;
    int rename = 0, durable = 0, runs = 0;

    for (int n = 0; n < 36; n++) {
        for (int k = 0; k < 8; k++) {
            for (int d = 0; d < 9; d++) {
                size_t len = build(buf, 0, 8, 16, n, 0xFE);
                buf[len++] = (unsigned char)k;
                buf[len++] = (unsigned char)(d * 28 + d % 3);   /* each choice, prefixes */
                buf[len++] = (unsigned char)(d * 11);
                runs++;
                rename += run(buf, len, TORN_SCHED_RENAME, &res);
                if (run(buf, len, TORN_SCHED_DURABLE, &res) && durable++ == 0)
                    CHECK(0, "durable broke (n %d, k %d, d %d): %s", n, k, d, res.evidence);
            }
        }
    }
    CHECK(rename > 0, "rename survived %d torn cuts", runs);
    CHECK(durable == 0, "durable broke %d of %d torn cuts", durable, runs);
}

/* Faults: every fault kind armed before every step. */
static void test_faults(void)
{
    unsigned char buf[80];
    struct torn_sched_result res;
    int nocheck = 0, durable = 0;

    for (int n = 0; n < 30; n++) {
        for (int f = 0; f < 4; f++) {
            for (int cut = 0; cut < 2; cut++) {
                size_t len = build(buf, 0, 8, 16, n, (unsigned char)(0xE0 + f));
                for (int i = 0; i < 30; i++)
                    buf[len++] = 0;
                if (cut)
                    buf[len++] = 0xF8;
                nocheck += run(buf, len, TORN_SCHED_NOCHECK, &res);
                durable += run(buf, len, TORN_SCHED_DURABLE, &res);
            }
        }
    }
    CHECK(nocheck > 0, "nocheck never broke under write/fsync faults");
    CHECK(durable == 0, "durable broke %d time(s) under faults", durable);
}

static void test_deterministic(void)
{
    static const unsigned char buf[] = {2, 3, 9, 0, 1, 2, 0x31, 0xE1, 0, 1, 2, 0, 1, 2,
                                        0xFE, 1, 5, 0, 1, 2, 0xF0, 0, 0, 0, 2, 2};
    struct torn_sched_result a, b;

    for (int s = TORN_SCHED_NAIVE; s <= TORN_SCHED_NOCHECK; s++) {
        int ra = run(buf, sizeof buf, (enum torn_sched_strategy)s, &a);
        int rb = run(buf, sizeof buf, (enum torn_sched_strategy)s, &b);
        CHECK(ra == rb && a.steps == b.steps && a.acked == b.acked &&
                  strcmp(a.evidence, b.evidence) == 0,
              "strategy %d: two runs differ", s);
    }
}

static void test_strategy_names(void)
{
    enum torn_sched_strategy s;

    CHECK(torn_sched_strategy_parse("rename", &s) == 0 && s == TORN_SCHED_RENAME, "rename");
    CHECK(torn_sched_strategy_parse("bogus", &s) == -1, "bogus refused");
    CHECK(strcmp(torn_sched_strategy_name(TORN_SCHED_NOCHECK), "nocheck") == 0, "name");
}

static const struct torn_test tests[] = {
    {"quiet_schedules_pass", test_quiet_schedules_pass},
    {"naive_lost_update", test_naive_lost_update},
    {"every_crash_point", test_every_crash_point},
    {"torn_cuts", test_torn_cuts},
    {"faults", test_faults},
    {"deterministic", test_deterministic},
    {"strategy_names", test_strategy_names},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

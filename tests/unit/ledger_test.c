/* Unit tests of the uncertain-operation ledger (scenarios/lib/steps.h): an
 * update whose outcome torn never saw may land at any later time and is no
 * phantom when it does; lost, phantom, definitely-failed-yet-applied and
 * torn records are still caught. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "scenarios/lib/steps.h"
#include "proc/proc.h"
#include "core/record.h"

static void msg(struct torn_ledger *l, uint32_t type, long long a, long long b, long long c)
{
    struct torn_msg m;

    memset(&m, 0, sizeof m);
    m.type = type;
    m.a = a;
    m.b = b;
    m.c = c;
    torn_ledger_take(l, &m);
}

/* The record update seq leaves at version v (seq 0: a fresh reset). */
static cJSON *rec_of(long long seq, long long v)
{
    cJSON *r = seq ? torn_payload_patch(7, seq, 64) : cJSON_CreateObject();

    cJSON_AddNumberToObject(r, "version", (double)v);
    if (seq)
        cJSON_AddStringToObject(r, "status", torn_step_status(seq));
    return r;
}

/* Judge the record (seq, v); returns the criterion or "" when fine. */
static const char *judge(struct torn_ledger *l, long long seq, long long v)
{
    static char crit[64];
    const char *c = NULL;
    char why[512];
    cJSON *r = rec_of(seq, v);

    crit[0] = 0;
    if (torn_ledger_judge(l, r, 1, &c, why, sizeof why))
        snprintf(crit, sizeof crit, "%s", c);
    cJSON_Delete(r);
    return crit;
}

/* One writer life: updates first..last acknowledged at versions v0+1..,
 * then one more attempted and cut off by the kill. */
static void life(struct torn_ledger *l, long long first, long long last, long long v0)
{
    for (long long s = first; s <= last; s++) {
        msg(l, TORN_STEP_MSG_ATTEMPT, s, 0, 0);
        msg(l, TORN_STEP_MSG_ACK, s, v0 + 1 + (s - first), 0);
    }
    msg(l, TORN_STEP_MSG_ATTEMPT, last + 1, 0, 0);
    torn_ledger_cut(l);
}

static void test_late_landing(void)
{
    struct torn_ledger l;

    memset(&l, 0, sizeof l);
    torn_ledger_reset(&l, 1);
    life(&l, 100, 101, 1);        /* acked v2, v3; 102 in flight */
    CHECK(!strcmp(judge(&l, 101, 3), ""), "in-flight write not landed yet: %s", judge(&l, 101, 3));
    /* 102 lands after that read; the next writer's 200 is acked at v5,
     * 201 in flight: the next read may show 201 at v6. */
    life(&l, 200, 200, 4);
    CHECK(!strcmp(judge(&l, 201, 6), ""), "late write + in-flight: %s", judge(&l, 201, 6));
    CHECK(l.n_late == 1 && l.n_pending == 1, "late %lld pending %lld", l.n_late, l.n_pending);
    /* The late write itself may be the one read back (it landed last). */
    life(&l, 300, 300, 6);        /* acked v7, 301 in flight */
    CHECK(!strcmp(judge(&l, 102, 8), ""), "a pending write of an old life: %s", judge(&l, 102, 8));
}

static void test_violations(void)
{
    struct torn_ledger l;
    cJSON *r;
    const char *c = NULL;
    char why[512];

    memset(&l, 0, sizeof l);
    torn_ledger_reset(&l, 1);
    life(&l, 100, 104, 1);        /* acked up to v6, 105 in flight */
    CHECK(!strcmp(judge(&l, 103, 5), "no-lost-write"), "older write: %s", judge(&l, 103, 5));
    CHECK(!strcmp(judge(&l, 105, 8), "no-phantom-write"), "two past: %s", judge(&l, 105, 8));
    CHECK(!strcmp(judge(&l, 104, 7), "no-phantom-write"), "version bump without a write: %s",
          judge(&l, 104, 7));
    CHECK(!strcmp(judge(&l, 999, 7), "no-phantom-write"), "seq never sent: %s",
          judge(&l, 999, 7));
    msg(&l, TORN_STEP_MSG_ATTEMPT, 106, 0, 0);
    msg(&l, TORN_STEP_MSG_FAIL, 106, -5, 0);  /* definitely failed */
    CHECK(!strcmp(judge(&l, 106, 7), "no-phantom-write"), "definite failure applied: %s",
          judge(&l, 106, 7));
    msg(&l, TORN_STEP_MSG_ATTEMPT, 107, 0, 0);
    msg(&l, TORN_STEP_MSG_FAIL, 107, -5, 1);  /* indefinite: may land */
    CHECK(!strcmp(judge(&l, 107, 8), ""), "indefinite failure landed: %s", judge(&l, 107, 8));
    r = rec_of(108, 9);
    cJSON_ReplaceItemInObjectCaseSensitive(r, "payload", cJSON_CreateString("x"));
    CHECK(torn_ledger_judge(&l, r, 1, &c, why, sizeof why) && !strcmp(c, "no-torn-write"),
          "torn: %s", c ? c : "(none)");
    cJSON_Delete(r);
    r = rec_of(108, 9);
    cJSON_ReplaceItemInObjectCaseSensitive(r, "status", cJSON_CreateString("running"));
    CHECK(torn_ledger_judge(&l, r, 1, &c, why, sizeof why) &&
              !strcmp(c, "no-intermediate-state"),
          "parts: %s", c ? c : "(none)");
    cJSON_Delete(r);
}

static const struct torn_test tests[] = {
    {"late_landing", test_late_landing},
    {"violations", test_violations},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

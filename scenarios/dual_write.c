/* torn: dual-write (seed 003).  Each operation records that `member` of a
 * group completed with an amount in TWO structures that must agree (the
 * target's dual_write: Redis record hash + membership set and counters;
 * Postgres two tables).  Writers stream such operations and are SIGKILLed
 * at seeded moments, between and during writes, several times (the delay
 * counts from their first answers and its window widens to two of the
 * target's measured updates when those are longer: lib/speed.h).  Then every
 * group is read back (dual_read) and checked:
 *   both-or-neither            each member is in both structures, with the
 *                              same amount, or in neither
 *   acknowledged-kept          every acknowledged operation is in both
 *   no-phantom                 nothing that was never attempted appears
 *   counter-matches-membership count == members of B, total == sum over A
 *   readable-after-crash       the store can read both structures back (a
 *                              read it answers with an error: 5xx, corrupt)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/speed.h"
#include "lib/steps.h"
#include "core/err.h"
#include "core/pace.h"
#include "core/history.h"
#include "proc/proc.h"
#include "lib/race.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

enum { MSG_ATTEMPT = 1, MSG_ACK, MSG_FAIL, MSG_READY };

#define MAX_WORKERS 64
#define MAX_GROUPS 64

struct dw_arg {
    long long round;
    long long groups;
};

static void member_name(char *buf, size_t len, long long round, long long worker, long long i)
{
    snprintf(buf, len, "r%lld-w%lld-%lld", round, worker, i);
}

static long long amount_of(const struct torn_ctx *ctx, const char *member)
{
    return 1 + (long long)(torn_seed_derive(ctx->seed, member) % 1000);
}

/* A writer: dual writes until killed; every attempt and outcome goes to
 * the parent (a = operation number, b = amount). */
static int writer(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    const struct dw_arg *a = argp;
    struct torn_msg ready = {.type = MSG_READY, .worker = (uint32_t)index};
    int failures = 0;
    struct torn_pace pace;

    torn_ctx_pace_init(ctx, &pace, (int)torn_param_int(ctx, "workers"), index);
    for (long long i = 0; torn_ctx_pace(ctx, &pace); i++) {
        struct torn_msg m;
        struct torn_err err;
        char member[64], group[32];
        uint64_t t0;
        int rc;

        member_name(member, sizeof member, a->round, index, i);
        snprintf(group, sizeof group, "g%lld", (i + index) % a->groups);
        memset(&m, 0, sizeof m);
        m.type = MSG_ATTEMPT;
        m.worker = (uint32_t)index;
        m.a = i;
        m.b = amount_of(ctx, member);
        m.t_ns = torn_now_ns();
        torn_msg_send(wfd, &m);
        torn_err_clear(&err);
        t0 = torn_now_ns();
        rc = torn_target_dual_write(t, group, member, m.b, &err);
        torn_ctx_op(ctx, TORN_OP_DUAL_WRITE,
                    rc ? (err.indefinite ? TORN_OUT_INFO : TORN_OUT_FAIL) : TORN_OUT_OK,
                    torn_now_ns() - t0);
        m.type = rc ? MSG_FAIL : MSG_ACK;
        if (rc)
            snprintf(m.text, sizeof m.text, "%.191s", err.msg);
        m.t_ns = torn_now_ns();
        torn_msg_send(wfd, &m);
        if (i == 0)  /* the target answered once: the kill delay counts from here */
            torn_msg_send(wfd, &ready);
        if (rc && ++failures > 50)
            return 3;
    }
    return 0;
}

/* What the parent learned of one round: per worker, the highest operation
 * attempted and the acknowledged ones. */
struct ledger {
    long long attempted[MAX_WORKERS]; /* -1 = none */
    unsigned char *acked[MAX_WORKERS];
    long long cap[MAX_WORKERS];
    long long n_acks, n_fails;
    char last_fail[192];
    struct torn_speed *speed; /* the writers' updates, timed (all rounds) */
};

static void ledger_note(void *arg, const struct torn_msg *m)
{
    struct ledger *l = arg;
    int w = (int)m->worker;

    if (w < 0 || w >= MAX_WORKERS)
        return;
    if (m->type == MSG_ATTEMPT && m->a > 0) /* a writer's first update is a cold one */
        torn_speed_start(l->speed, w, m->t_ns);
    else if (m->type == MSG_ACK || m->type == MSG_FAIL)
        torn_speed_answer(l->speed, w, m->t_ns);
    if (m->type == MSG_ATTEMPT && m->a > l->attempted[w])
        l->attempted[w] = m->a;
    if (m->type == MSG_FAIL) {
        l->n_fails++;
        snprintf(l->last_fail, sizeof l->last_fail, "%s", m->text);
    }
    if (m->type != MSG_ACK)
        return;
    if (m->a >= l->cap[w]) {
        long long cap = (m->a + 1) * 2;
        unsigned char *p = realloc(l->acked[w], (size_t)cap);
        if (!p)
            return;
        memset(p + l->cap[w], 0, (size_t)(cap - l->cap[w]));
        l->acked[w] = p;
        l->cap[w] = cap;
    }
    l->acked[w][m->a] = 1;
    l->n_acks++;
}

static void ledger_free(struct ledger *l)
{
    for (int w = 0; w < MAX_WORKERS; w++)
        free(l->acked[w]);
}

/* One round: start writers, let them run for a seeded delay, kill them all
 * at once, collect what they reported.  l->speed must be set. */
static int one_round(struct torn_ctx *ctx, long long round, struct ledger *l,
                     struct torn_err *err)
{
    int n = (int)torn_param_int(ctx, "workers");
    double min_ms = torn_param_num(ctx, "min_delay_ms"), max_ms = torn_param_num(ctx, "max_delay_ms");
    struct dw_arg arg = {round, torn_param_int(ctx, "groups")};
    struct torn_child kids[MAX_WORKERS];
    struct torn_msg m;
    int rc = TORN_OK, started = 0;

    for (int w = 0; w < MAX_WORKERS; w++)
        l->attempted[w] = -1;
    for (int w = 0; w < n && !rc; w++)
        if ((rc = torn_child_spawn(ctx, w, 1, writer, &arg, &kids[w], err)) == 0)
            started++;
    if (!rc)
        rc = torn_wait_ready(kids, started, MSG_READY, ctx->timeout_ms, ledger_note, l, err);
    torn_drain_until(kids, started,
                     torn_ctx_until(ctx, (uint64_t)(torn_speed_delay_ms(l->speed, &ctx->rng,
                                                                        min_ms, max_ms) * 1e6)),
                     ledger_note, l);
    if (!rc)   /* a service doing the writes is crashed with its writers */
        rc = torn_step_kill_service(ctx, 0, err);
    for (int w = 0; w < started; w++)
        torn_proc_signal(kids[w].pid, SIGKILL);
    torn_history_log_add(ctx->history, "fault", 0, "kill-writers", NULL, NULL, 0);
    for (int w = 0; w < started; w++) {
        while (torn_msg_recv(kids[w].fd, &m, ctx->timeout_ms, NULL) == 1)
            ledger_note(l, &m);
        torn_child_wait(&kids[w], ctx->timeout_ms, NULL, NULL);
        torn_speed_start(l->speed, w, 0); /* killed in it: never answered */
    }
    return rc ? rc : torn_step_restart_service(ctx, err);
}

/* Check one structure's members against the other and the ledger. */
static void check_side(struct torn_ctx *ctx, const char *group, const cJSON *mine,
                       const cJSON *other, const char *side, const char *other_side,
                       long long round_max)
{
    const cJSON *e;
    double t_s = torn_ctx_elapsed(ctx);

    cJSON_ArrayForEach(e, mine)
    {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(other, e->string);
        long long r, w, i;

        if (sscanf(e->string, "r%lld-w%lld-%lld", &r, &w, &i) != 3 || r < 1 || r > round_max)
            torn_result_violation(ctx->result, "no-phantom", group, t_s,
                                  "structure %s holds member '%s' that was never written", side,
                                  e->string);
        if (!o)
            torn_result_violation(ctx->result, "both-or-neither", group, t_s,
                                  "member %s is in structure %s (amount %g) but not in %s: a "
                                  "writer died between the two writes",
                                  e->string, side, e->valuedouble, other_side);
        else if (side[0] == 'A' && o->valuedouble != e->valuedouble)
            torn_result_violation(ctx->result, "both-or-neither", group, t_s,
                                  "member %s has amount %g in A but %g in B", e->string,
                                  e->valuedouble, o->valuedouble);
    }
}

static void check_group(struct torn_ctx *ctx, const char *group, const cJSON *st,
                        long long rounds_done)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "a");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(st, "b"), *e;
    double count = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "count"));
    double total = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "total")), sum = 0;
    double t_s = torn_ctx_elapsed(ctx);
    const char *unreadable = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "unreadable"));

    if (unreadable) {
        torn_result_violation(ctx->result, "readable-after-crash", group, t_s,
                              "after the writers were killed the group cannot be read back: %s",
                              unreadable);
        return;
    }
    check_side(ctx, group, a, b, "A", "B", rounds_done);
    check_side(ctx, group, b, a, "B", "A", rounds_done);
    cJSON_ArrayForEach(e, a) sum += e->valuedouble;
    if (count != (double)cJSON_GetArraySize(b))
        torn_result_violation(ctx->result, "counter-matches-membership", group, t_s,
                              "counter says %g members, structure B holds %d", count,
                              cJSON_GetArraySize(b));
    if (total != sum)
        torn_result_violation(ctx->result, "counter-matches-membership", group, t_s,
                              "running total says %g, the amounts in structure A sum to %g",
                              total, sum);
}

/* Every acknowledged operation of round r must be in both structures. */
static void check_acked(struct torn_ctx *ctx, long long round, const struct ledger *l,
                        cJSON *const *states, long long groups)
{
    char member[64], group[32];

    for (int w = 0; w < MAX_WORKERS; w++)
        for (long long i = 0; i < l->cap[w]; i++) {
            long long g = (i + w) % groups;
            if (!l->acked[w] || !l->acked[w][i])
                continue;
            member_name(member, sizeof member, round, w, i);
            if (cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(states[g], "a"), member) &&
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(states[g], "b"), member))
                continue;
            snprintf(group, sizeof group, "g%lld", g);
            torn_result_violation(ctx->result, "acknowledged-kept", group,
                                  torn_ctx_elapsed(ctx),
                                  "acknowledged dual write %s is missing from %s", member,
                                  "structure A or B");
        }
}

/* Read every group; the killed writers' last statements may still be
 * landing, so read until two reads 100 ms apart agree (bounded). */
static int read_groups(struct torn_ctx *ctx, cJSON **states, long long groups,
                       struct torn_err *err)
{
    uint64_t deadline = torn_now_ns() + 3000000000ull;
    int rc, stable = 0;

    while (!stable) {
        stable = 1;
        for (long long g = 0; g < groups; g++) {
            char group[32];
            cJSON *st = NULL;
            snprintf(group, sizeof group, "g%lld", g);
            uint64_t t0 = torn_now_ns();
            rc = torn_target_dual_read(ctx->target, group, &st, err);
            if (rc == TORN_E_REMOTE || rc == TORN_E_CORRUPT) {   /* not a protocol error */
                /* The store answers but cannot read its own structures back
                 * (judged by check_group if it stays so): holding nothing. */
                st = cJSON_Parse("{\"a\":{},\"b\":{},\"count\":0,\"total\":0}");
                cJSON_AddStringToObject(st, "unreadable", err->msg);
                torn_err_clear(err);
            } else if (rc) {
                return rc;
            }
            torn_ctx_op(ctx, TORN_OP_DUAL_READ, rc ? TORN_OUT_FAIL : TORN_OUT_OK,
                        torn_now_ns() - t0);
            if (!states[g] || !cJSON_Compare(states[g], st, 1))
                stable = 0;
            cJSON_Delete(states[g]);
            states[g] = st;
        }
        if (!stable && torn_now_ns() > deadline)
            break;
        if (!stable)
            torn_sleep_ns(100000000ull);
    }
    return TORN_OK;
}

static int dual_write_run(struct torn_ctx *ctx, struct torn_err *err)
{
    long long rounds = torn_param_int(ctx, "rounds"), groups = torn_param_int(ctx, "groups");
    struct ledger *ledgers = NULL;
    struct torn_speed speed;
    char why_short[256];
    cJSON *states[MAX_GROUPS] = {0};
    long long r, acks = 0, rounds_acked = 0;
    int rc = TORN_OK;

    if (groups < 1 || groups > MAX_GROUPS || torn_param_int(ctx, "workers") < 1 ||
        torn_param_int(ctx, "workers") > MAX_WORKERS || rounds < 1)
        return torn_err_set(err, TORN_E_CONFIG,
                            "dual-write: groups must be 1..%d, workers 1..%d, rounds >= 1",
                            MAX_GROUPS, MAX_WORKERS);
    if (!(ledgers = calloc((size_t)rounds + 1, sizeof *ledgers)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    memset(&speed, 0, sizeof speed);
    for (r = 1; r <= rounds && !rc && !torn_stop_requested(); r++) {
        if (torn_ctx_expired(ctx))
            break;
        ledgers[r].speed = &speed;
        rc = one_round(ctx, r, &ledgers[r], err);
        acks += ledgers[r].n_acks;
        rounds_acked += ledgers[r].n_acks > 0;
    }
    if (!rc && (rc = torn_target_open(ctx->target, err)) == 0) {
        rc = read_groups(ctx, states, groups, err);
        torn_target_close(ctx->target);
    }
    for (long long g = 0; !rc && g < groups; g++) {
        char group[32];
        snprintf(group, sizeof group, "g%lld", g);
        check_group(ctx, group, states[g], r - 1);
    }
    for (long long k = 1; !rc && k < r; k++)
        check_acked(ctx, k, &ledgers[k], states, groups);
    if (!rc && acks == 0) {
        const char *why = "";
        for (long long k = 1; k < r; k++)
            if (ledgers[k].last_fail[0])
                why = ledgers[k].last_fail;
        rc = torn_err_set(err, TORN_E_REMOTE, "dual-write: no write was ever acknowledged%s%s",
                          why[0] ? ": " : "", why);
    }
    torn_result_metric(ctx->result, "rounds", (double)(r - 1));
    torn_result_metric(ctx->result, "acknowledged_writes", (double)acks);
    torn_work_set(ctx->result, "rounds_planned", rounds);
    torn_work_set(ctx->result, "rounds", r - 1);
    torn_work_set(ctx->result, "rounds_acked", rounds_acked);
    torn_work_set(ctx->result, "writes_acked", acks);
    torn_work_deadline(ctx);
    torn_speed_report(&speed, ctx->result);
    torn_speed_describe(&speed, torn_param_num(ctx, "min_delay_ms"), why_short, sizeof why_short);
    if (why_short[0])
        torn_work_hint(ctx->result, "%lld writes acknowledged; %s", acks, why_short);
    for (long long k = 0; k <= rounds; k++)
        ledger_free(&ledgers[k]);
    free(ledgers);
    for (long long g = 0; g < MAX_GROUPS; g++)
        cJSON_Delete(states[g]);
    return rc;
}

static const struct torn_work_need work[] = {
    {"rounds", "rounds_planned", 0.5, 2, "planned rounds of kills run"},
    {"rounds_acked", "rounds", 0.5, 1, "rounds had a write acknowledged"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/dual-write.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_dual_write[];

const struct torn_scenario_ops torn_scenario_dual_write = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "dual-write",
    .summary = "writers of two structures SIGKILLed mid-operation; both-or-neither, counters match",
    .needs = TORN_CAP_DUAL,
    .defaults = torn_defaults_dual_write, /* scenarios/dual-write.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("rounds", 1, 100000), TORN_PARAM_INT("workers", 1, MAX_WORKERS),
        TORN_PARAM_INT("groups", 1, MAX_GROUPS), TORN_PARAM_REAL("min_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("max_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION), TORN_PARAM_REAL("rate", 0, 1e7),
        {NULL, 0, 0, 0}},
    .run = dual_write_run,
    .work = work,
};

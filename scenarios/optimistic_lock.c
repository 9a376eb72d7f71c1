/* torn: optimistic-lock (seed 002).  Every round, `workers` racers call
 * update_if_version on one record with the same expected version at the
 * same instant.  Acceptance: exactly one wins per round, the others are told
 * "stale" (never an error, never two winners), the version rises by exactly
 * one per round and the record carries the winner's patch, and patches that
 * try to set protected fields (id, created_at, version, processing_state)
 * never change them.  A read after the round older than an acknowledged win
 * is reported as a stale read (no-stale-read), and the round is judged on a
 * re-read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/steps.h"
#include "core/err.h"
#include "core/history.h"
#include "lib/race.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"

static const char *const KEY = "optimistic-lock";
static const char *const PROCESSING_STATE = "EXTRACTED";

enum { CMD_CAS = 1 };

/* The next name of the comma-separated list at *l into f; 0 at its end. */
static int next_field(const char **l, char *f, size_t len)
{
    size_t n;

    while (**l == ',' || **l == ' ')
        (*l)++;
    if (!**l)
        return 0;
    n = strcspn(*l, ", ");
    snprintf(f, len, "%.*s", (int)n, *l);
    *l += n;
    return 1;
}

/* The racer's patch: a self-checking payload, who wrote it, and (when
 * hostile) attempts to overwrite every protected field. */
static cJSON *racer_patch(const struct torn_ctx *ctx, long long round, int index, int hostile)
{
    long long seq = round * 1000 + index;
    cJSON *p = torn_payload_patch(ctx->seed, seq, (size_t)torn_param_int(ctx, "payload_len"));

    if (!p)
        return NULL;
    cJSON_AddNumberToObject(p, "winner", index);
    cJSON_AddNumberToObject(p, "round", (double)round);
    if (hostile) {
        char f[64];
        cJSON_AddNumberToObject(p, "version", 999999);
        for (const char *l = torn_param_str(ctx, "protected"); next_field(&l, f, sizeof f);)
            if (strcmp(f, "version") != 0)
                cJSON_AddStringToObject(p, f, strcmp(f, "created_at") == 0
                                                  ? "1970-01-01T00:00:00.000Z" : "HIJACKED");
    }
    return p;
}

/* In a worker: one compare-and-set.  reply a = 1 won / 0 stale / <0 error,
 * b = version of the returned record. */
static int racer(struct torn_ctx *ctx, struct torn_target *t, int index,
                 const struct torn_msg *cmd, struct torn_msg *reply, void *arg)
{
    cJSON *patch = racer_patch(ctx, cmd->a, index, (int)cmd->c), *rec = NULL;
    struct torn_step cas = {.kind = TORN_STEP_CAS, .id = KEY, .patch = patch, .expected = cmd->b};
    struct torn_err err;
    int won = 0, rc;

    (void)arg;
    torn_err_clear(&err);
    rc = patch ? torn_step_run(ctx, t, &cas, &won, &rec, &err)
               : torn_err_set(&err, TORN_E_NOMEM, "out of memory");
    reply->type = CMD_CAS;
    reply->a = rc ? rc : won;
    reply->b = rec ? torn_record_version(rec) : -1;
    reply->c = rc && err.indefinite; /* may have been applied */
    if (rc)
        snprintf(reply->text, sizeof reply->text, "%.191s", err.msg);
    cJSON_Delete(patch);
    cJSON_Delete(rec);
    return 0;
}

struct tally {
    long long wins, stale, errors, double_wins, bad_versions, protected_broken;
    long long rounds_won;   /* rounds with at least one winner */
};

/* The version after a round: +1 with a winner, +0 without, or +1 when a
 * racer's call failed indefinitely (it may have been applied: Jepsen's
 * :info).  0 (and a violation recorded) when it is none of these. */
static int judge_version(struct torn_ctx *ctx, long long round, long long expected,
                         const struct torn_msg *replies, int n, int winners, int winner,
                         const cJSON *after)
{
    long long v = torn_record_version(after);
    int maybe = 0;

    for (int i = 0; i < n; i++)
        maybe += replies[i].a < 0 && replies[i].c;
    if (v == expected + (winners ? 1 : 0) || (!winners && maybe && v == expected + 1))
        return 1;
    if (winners == 1 && v == expected)
        torn_result_violation(ctx->result, "version-plus-one", KEY, torn_ctx_elapsed(ctx),
                              "round %lld: racer %d won on version %lld (its write returned "
                              "version %lld), yet the record still reads version %lld after "
                              "re-reads: the winning write was lost",
                              round, winner, expected, (long long)replies[winner].b, v);
    else
        torn_result_violation(ctx->result, "version-plus-one", KEY, torn_ctx_elapsed(ctx),
                              "round %lld: version went from %lld to %lld with %d winner(s)%s",
                              round, expected, v, winners,
                              maybe ? " and calls of unknown outcome" : "");
    return 0;
}

/* Judge the replies of one round against the record read afterwards. */
/* Every field of the "protected" parameter (version is judged by the
 * version rule) is unchanged from before the round: neither set, dropped
 * nor altered. */
static void judge_protected(struct torn_ctx *ctx, long long round, const cJSON *before,
                            const cJSON *after, struct tally *tl)
{
    char f[64];

    for (const char *l = torn_param_str(ctx, "protected"); next_field(&l, f, sizeof f);) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(before, f);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(after, f);
        if (strcmp(f, "version") == 0 || (!a && !b) || (a && b && cJSON_Compare(a, b, 1)))
            continue;
        char *at = a ? cJSON_PrintUnformatted(a) : NULL, *bt = b ? cJSON_PrintUnformatted(b) : NULL;
        tl->protected_broken++;
        torn_result_violation(ctx->result, "protected-fields", KEY, torn_ctx_elapsed(ctx),
                              "round %lld: protected field %s changed from %.80s to %.80s", round,
                              f, at ? at : "(none)", bt ? bt : "(none)");
        free(at);
        free(bt);
    }
}

static void judge_round(struct torn_ctx *ctx, long long round, long long expected,
                        const struct torn_msg *replies, int n, const cJSON *before,
                        const cJSON *after, struct tally *tl)
{
    double t_s = torn_ctx_elapsed(ctx);
    int winners = 0, winner = -1, errors = 0;
    char why[160];

    for (int i = 0; i < n; i++) {
        if (replies[i].a < 0) {
            errors++;
            tl->errors++;
            torn_result_violation(ctx->result, "stale-not-error", KEY, t_s,
                                  "round %lld: racer %d got an error instead of won/stale: %s",
                                  round, i, replies[i].text);
        } else if (replies[i].a == 1) {
            winners++;
            winner = i;
        } else {
            tl->stale++;
        }
    }
    tl->wins += winners;
    tl->rounds_won += winners > 0;
    if (winners > 1) {
        tl->double_wins++;
        torn_result_violation(ctx->result, "one-winner-per-round", KEY, t_s,
                              "round %lld: %d racers all won update_if_version(expected "
                              "version %lld); the record kept only one of their patches",
                              round, winners, expected);
    } else if (winners == 0 && errors == 0) {
        torn_result_violation(ctx->result, "one-winner-per-round", KEY, t_s,
                              "round %lld: nobody won although version %lld was current", round,
                              expected);
    }
    if (!after)
        return;
    if (!judge_version(ctx, round, expected, replies, n, winners, winner, after))
        tl->bad_versions++;
    else if (winners == 1 && torn_record_int(after, "winner", -1) != winner) {
        torn_result_violation(ctx->result, "winner-visible", KEY, t_s,
                              "round %lld: racer %d won but the record holds racer %lld's patch",
                              round, winner, torn_record_int(after, "winner", -1));
    }
    if (!torn_record_intact(after, why, sizeof why))
        torn_result_violation(ctx->result, "no-torn-write", KEY, t_s, "round %lld: %s", round,
                              why);
    judge_protected(ctx, round, before, after, tl);
}

/* The version the round's acknowledged wins put the record at, or -1. */
static long long won_version(const struct torn_msg *replies, int n)
{
    long long v = -1;

    for (int i = 0; i < n; i++)
        if (replies[i].a == 1 && replies[i].b > v)
            v = replies[i].b;
    return v;
}

/* Read the record after a round.  A read that started after a win was
 * acknowledged and returns an older version is a STALE READ (reported as
 * no-stale-read with its start and answer times), not a concurrency
 * violation: re-read (5 times, 20 ms apart) and judge the round on the
 * newest state seen. */
static int read_after(struct torn_ctx *ctx, long long round, long long want, cJSON **rec_out,
                      struct torn_err *err)
{
    double t0 = torn_ctx_elapsed(ctx), t1;
    long long first;
    int rc = torn_step_read(ctx, ctx->target, KEY, rec_out, err);

    t1 = torn_ctx_elapsed(ctx);
    if (rc || want < 0 || (first = torn_record_version(*rec_out)) >= want)
        return rc;
    for (int i = 0; i < 5 && !rc && torn_record_version(*rec_out) < want; i++) {
        torn_sleep_ns(20000000);
        cJSON_Delete(*rec_out);
        *rec_out = NULL;
        rc = torn_step_read(ctx, ctx->target, KEY, rec_out, err);
    }
    if (!rc && torn_record_version(*rec_out) >= want)
        torn_result_violation(ctx->result, "no-stale-read", KEY, t0,
                              "round %lld: a read started at t=%.3f s (answered t=%.3f s) "
                              "returned version %lld after a win producing version %lld was "
                              "acknowledged; a re-read returned version %lld: a stale read",
                              round, t0, t1, first, want, torn_record_version(*rec_out));
    return rc;
}

static int reset_record(struct torn_ctx *ctx, cJSON **rec_out, struct torn_err *err)
{
    cJSON *initial = cJSON_CreateObject();
    int rc;

    if (!initial)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    cJSON_AddStringToObject(initial, "status", "PENDING");
    cJSON_AddStringToObject(initial, "processing_state", PROCESSING_STATE);
    rc = torn_target_reset(ctx->target, KEY, initial, rec_out, err);
    cJSON_Delete(initial);
    return rc;
}

static int rounds(struct torn_ctx *ctx, struct torn_race *race, const cJSON *first,
                  struct tally *tl, struct torn_err *err)
{
    long long n_rounds = torn_param_int(ctx, "rounds"), every = torn_param_int(ctx, "hostile_every");
    struct torn_msg cmd, replies[TORN_RACE_MAX];
    cJSON *before = cJSON_Duplicate(first, 1), *after = NULL;
    long long r;
    int rc = TORN_OK;

    for (r = 1; r <= n_rounds && !torn_stop_requested() && before; r++) {
        if (torn_ctx_expired(ctx))
            break;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = CMD_CAS;
        cmd.a = r;
        cmd.b = torn_record_version(before);
        cmd.c = every > 0 && r % every == 0;
        if ((rc = torn_race_round(race, &cmd, replies, ctx->timeout_ms * 2, err)) != 0 ||
            (rc = torn_race_unreachable(replies, race->n, err)) != 0)
            break;
        rc = read_after(ctx, r, won_version(replies, race->n), &after, err);
        judge_round(ctx, r, cmd.b, replies, race->n, first, rc ? NULL : after, tl);
        if (rc)
            break;
        cJSON_Delete(before);
        before = after;
        after = NULL;
    }
    torn_result_metric(ctx->result, "rounds", (double)(r - 1));
    torn_work_set(ctx->result, "rounds_planned", n_rounds);
    torn_work_set(ctx->result, "rounds", r - 1);
    torn_work_deadline(ctx);
    cJSON_Delete(before);
    return rc;
}

static int optimistic_lock_run(struct torn_ctx *ctx, struct torn_err *err)
{
    struct torn_race race;
    struct tally tl = {0};
    cJSON *first = NULL;
    int rc;

    if ((rc = torn_target_open(ctx->target, err)) != 0 ||
        (rc = reset_record(ctx, &first, err)) != 0)
        return rc;
    torn_target_close(ctx->target);
    rc = torn_race_start(ctx, (int)torn_param_int(ctx, "workers"), racer, NULL, &race, err);
    if (rc == 0 && (rc = torn_target_open(ctx->target, err)) == 0) {
        rc = rounds(ctx, &race, first, &tl, err);
        torn_target_close(ctx->target);
    }
    torn_race_stop(&race, ctx->timeout_ms);
    cJSON_Delete(first);
    torn_result_metric(ctx->result, "wins", (double)tl.wins);
    torn_result_metric(ctx->result, "stale", (double)tl.stale);
    torn_result_metric(ctx->result, "errors", (double)tl.errors);
    torn_result_metric(ctx->result, "rounds_with_several_winners", (double)tl.double_wins);
    torn_work_set(ctx->result, "rounds_won", tl.rounds_won);
    if (tl.errors)
        torn_work_hint(ctx->result, "%lld compare-and-set calls ended in an error", tl.errors);
    return rc;
}

static const struct torn_work_need work[] = {
    {"rounds", "rounds_planned", 0.5, 4, "planned rounds raced"},
    {"rounds_won", "rounds", 0.5, 2, "rounds had a winner"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/optimistic-lock.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_optimistic_lock[];

const struct torn_scenario_ops torn_scenario_optimistic_lock = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "optimistic-lock",
    .summary = "racers CAS one record on the same version; exactly one wins per round",
    .needs = TORN_CAP_CAS | TORN_CAP_READ | TORN_CAP_RESET,
    .defaults = torn_defaults_optimistic_lock, /* scenarios/optimistic-lock.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("rounds", 1, 100000), TORN_PARAM_INT("workers", 1, TORN_RACE_MAX),
        TORN_PARAM_INT("hostile_every", 0, 100000),
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = optimistic_lock_run,
    .work = work,
};

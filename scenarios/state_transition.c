/* torn: state-transition (seed 002).  A job record moves through the
 * allowed-transition table of the scenario's parameters.  Each round:
 *   claim  every racer tries initial -> claim (PENDING -> PROCESSING) at the
 *          same instant: exactly one may win, the rest are refused (never
 *          an error);
 *   walk   `walk_steps` times, every racer tries a seeded random transition
 *          (from = the states the table allows into it): the wins, ordered
 *          by the version they produced, must form a valid path of the
 *          table with one version per step, and nothing leaves a terminal
 *          state (one with no outgoing transitions);
 *   probe  one transition the table forbids from the current state (e.g.
 *          PROCESSING -> VALIDATED) must be refused and change nothing.
 */
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

static const char *const KEY = "state-transition";

enum { CMD_CLAIM = 1, CMD_WALK };

#define MAX_STATES 32

struct table {
    int n;
    const char *name[MAX_STATES];   /* point into ctx->params */
    unsigned allowed[MAX_STATES];   /* bit j: state i -> state j allowed */
    int initial, claim;
};

static int state_index(struct table *tb, const char *name, int add)
{
    for (int i = 0; i < tb->n; i++)
        if (strcmp(tb->name[i], name) == 0)
            return i;
    if (!add || tb->n == MAX_STATES)
        return -1;
    tb->name[tb->n] = name;
    return tb->n++;
}

static int parse_table(const struct torn_ctx *ctx, struct table *tb, struct torn_err *err)
{
    const cJSON *tr = torn_param(ctx, "transitions"), *from, *to;

    memset(tb, 0, sizeof *tb);
    if (!cJSON_IsObject(tr))
        return torn_err_set(err, TORN_E_CONFIG,
                            "state-transition: parameter transitions must be an object "
                            "{\"STATE\": [\"NEXT\", ...]}");
    cJSON_ArrayForEach(from, tr)
    {
        int i = state_index(tb, from->string, 1);
        if (i < 0 || !cJSON_IsArray(from))
            return torn_err_set(err, TORN_E_CONFIG,
                                "state-transition: transitions.%s must be an array of states "
                                "(at most %d states)",
                                from->string, MAX_STATES);
        cJSON_ArrayForEach(to, from)
        {
            int j = cJSON_IsString(to) ? state_index(tb, to->valuestring, 1) : -1;
            if (j < 0)
                return torn_err_set(err, TORN_E_CONFIG,
                                    "state-transition: transitions.%s holds a non-string or too "
                                    "many states",
                                    from->string);
            tb->allowed[i] |= 1u << j;
        }
    }
    tb->initial = state_index(tb, torn_param_str(ctx, "initial"), 0);
    tb->claim = state_index(tb, torn_param_str(ctx, "claim"), 0);
    if (tb->initial < 0 || tb->claim < 0 || !(tb->allowed[tb->initial] & (1u << tb->claim)))
        return torn_err_set(err, TORN_E_CONFIG,
                            "state-transition: initial '%s' -> claim '%s' must be a transition "
                            "of the table",
                            torn_param_str(ctx, "initial"), torn_param_str(ctx, "claim"));
    return TORN_OK;
}

/* The states the table allows into `to`. */
static size_t preds(const struct table *tb, int to, const char **out)
{
    size_t n = 0;

    for (int i = 0; i < tb->n; i++)
        if (tb->allowed[i] & (1u << to))
            out[n++] = tb->name[i];
    return n;
}

/* One transition (torn_step_run: timed, in the history); from = preds(to)
 * unless given. */
static int try_transition(struct torn_ctx *ctx, struct torn_target *t, const struct table *tb,
                          const char *const *from, size_t n_from, int to, int *won, cJSON **rec,
                          struct torn_err *err)
{
    const char *pred[MAX_STATES];
    struct torn_step step = {.kind = TORN_STEP_TRANSITION, .id = KEY, .to = tb->name[to]};

    if (!from) {
        n_from = preds(tb, to, pred);
        from = pred;
    }
    step.from = from;
    step.n_from = n_from;
    return torn_step_run(ctx, t, &step, won, rec, err);
}

/* In a worker: the claim (only initial -> claim), or a seeded random walk
 * step.  reply a = 1 won / 0 refused / <0 error, b = version, c = to. */
static int racer(struct torn_ctx *ctx, struct torn_target *t, int index,
                 const struct torn_msg *cmd, struct torn_msg *reply, void *arg)
{
    const struct table *tb = arg;
    const char *from[1] = {tb->name[tb->initial]};
    struct torn_err err;
    cJSON *rec = NULL;
    int won = 0, rc, to = tb->claim;

    torn_err_clear(&err);
    if (cmd->type == CMD_CLAIM) {
        rc = try_transition(ctx, t, tb, from, 1, to, &won, &rec, &err);
    } else {
        char what[64];
        snprintf(what, sizeof what, "walk-%lld-%lld-%d", (long long)cmd->a, (long long)cmd->b,
                 index);
        to = (int)(torn_seed_derive(ctx->seed, what) % (uint64_t)tb->n);
        rc = try_transition(ctx, t, tb, NULL, 0, to, &won, &rec, &err);
    }
    reply->type = cmd->type;
    reply->a = rc ? rc : won;
    reply->b = rec ? torn_record_version(rec) : -1;
    reply->c = to;
    if (rc)
        snprintf(reply->text, sizeof reply->text, "%.191s", err.msg);
    cJSON_Delete(rec);
    return 0;
}

/* Errors in replies are violations ("refused, never an error"). */
static int count_wins(struct torn_ctx *ctx, const struct torn_msg *rs, int n, long long round)
{
    int wins = 0;

    for (int i = 0; i < n; i++) {
        if (rs[i].a < 0)
            torn_result_violation(ctx->result, "refused-not-error", KEY, torn_ctx_elapsed(ctx),
                                  "round %lld: racer %d got an error instead of won/refused: %s",
                                  round, i, rs[i].text);
        else if (rs[i].a == 1)
            wins++;
    }
    return wins;
}

static int cmp_version(const void *a, const void *b)
{
    const struct torn_msg *x = a, *y = b;
    return (x->b > y->b) - (x->b < y->b);
}

/* The state the last acknowledged wins left the record in. */
struct known {
    int state;
    long long version;
};

/* A win that did not produce version + 1: name what happened. */
static void bad_version(struct torn_ctx *ctx, const struct table *tb, long long round,
                        const struct torn_msg *w, const struct torn_msg *prev, long long version)
{
    double t_s = torn_ctx_elapsed(ctx);

    if (prev && prev->b == w->b)
        torn_result_violation(ctx->result, "one-transition-per-version", KEY, t_s,
                              "round %lld: racers %u and %u both won (to %s and to %s), both "
                              "producing version %lld: two transitions won from the same state",
                              round, prev->worker, w->worker, tb->name[prev->c], tb->name[w->c],
                              (long long)w->b);
    else
        torn_result_violation(ctx->result, "one-transition-per-version", KEY, t_s,
                              "round %lld: racer %u's transition to %s produced version %lld "
                              "from version %lld: one transition must add exactly one version",
                              round, w->worker, tb->name[w->c], (long long)w->b, version);
}

/* The wins of one walk step, in version order, must be a valid path from
 * the state (status, version) the step started in; *k is updated to where
 * they left it. */
static void judge_walk(struct torn_ctx *ctx, const struct table *tb, long long round,
                       const struct torn_msg *rs, int n, struct known *kn)
{
    struct torn_msg wins[TORN_RACE_MAX];
    double t_s = torn_ctx_elapsed(ctx);
    int k = 0, state = kn->state;
    long long version = kn->version;

    for (int i = 0; i < n; i++)
        if (rs[i].a == 1)
            wins[k++] = rs[i];
    qsort(wins, (size_t)k, sizeof wins[0], cmp_version);
    for (int i = 0; i < k; i++) {
        int to = (int)wins[i].c;
        if (wins[i].b > kn->version) {
            kn->version = wins[i].b;
            kn->state = to;
        }
        if (wins[i].b != version + 1) {
            bad_version(ctx, tb, round, &wins[i], i ? &wins[i - 1] : NULL, version);
            continue;
        } else if (!tb->allowed[state]) {
            torn_result_violation(ctx->result, "terminal-stays", KEY, t_s,
                                  "round %lld: terminal state %s changed to %s", round,
                                  tb->name[state], tb->name[to]);
        } else if (!(tb->allowed[state] & (1u << to))) {
            torn_result_violation(ctx->result, "valid-transitions", KEY, t_s,
                                  "round %lld: %s -> %s won, the table does not allow it", round,
                                  tb->name[state], tb->name[to]);
        }
        state = to;
        version = wins[i].b;
    }
}

/* Read the record: its status index and version (-1 on error). */
static int current(struct torn_ctx *ctx, const struct table *tb, int *state, long long *version,
                   struct torn_err *err)
{
    cJSON *rec = NULL;
    const char *s;
    int rc = torn_step_read(ctx, ctx->target, KEY, &rec, err);

    *state = -1;
    *version = -1;
    if (rc)
        return rc;
    s = torn_record_str(rec, "status");
    *state = s ? state_index((struct table *)tb, s, 0) : -1;
    *version = torn_record_version(rec);
    cJSON_Delete(rec);
    if (*state < 0)
        return torn_err_set(err, TORN_E_CORRUPT, "record status '%s' is not in the table",
                            s ? s : "(none)");
    return TORN_OK;
}

/* Read the record's state into *kn.  A read older than what acknowledged
 * wins already produced is a STALE READ: reported as such (no-stale-read,
 * with its start and answer times; `when` says which read) and *kn keeps
 * the acknowledged state, so what follows is judged from it and no stale
 * read passes for a concurrency violation. */
static int read_known(struct torn_ctx *ctx, const struct table *tb, const char *when,
                      struct known *kn, struct torn_err *err)
{
    double t0 = torn_ctx_elapsed(ctx), t1;
    long long v;
    int s, rc = current(ctx, tb, &s, &v, err);

    t1 = torn_ctx_elapsed(ctx);
    if (rc)
        return rc;
    if (v < kn->version)
        torn_result_violation(ctx->result, "no-stale-read", KEY, t0,
                              "%s: a read started at t=%.3f s (answered t=%.3f s) returned %s "
                              "version %lld, after a transition to %s producing version %lld "
                              "was acknowledged: a stale read",
                              when, t0, t1, tb->name[s], v, tb->name[kn->state], kn->version);
    else {
        kn->state = s;
        kn->version = v;
    }
    return TORN_OK;
}

/* A transition the table forbids from the current state must be refused. */
static int probe(struct torn_ctx *ctx, const struct table *tb, long long round, struct known *kn,
                 struct torn_err *err)
{
    struct known before;
    int won = 0, rc, to = -1, s;
    uint64_t pick = torn_rng_next(&ctx->rng);
    const char *tmp[MAX_STATES];
    char when[64];

    snprintf(when, sizeof when, "round %lld, before the forbidden probe", round);
    if ((rc = read_known(ctx, tb, when, kn, err)) != 0)
        return rc;
    before = *kn;
    s = before.state;
    for (int i = 0; i < tb->n && to < 0; i++) {
        int j = (int)((pick + (uint64_t)i) % (uint64_t)tb->n);
        if (j != s && !(tb->allowed[s] & (1u << j)) && preds(tb, j, tmp) > 0)
            to = j;
    }
    if (to < 0)
        return TORN_OK; /* every state is reachable from here */
    if ((rc = try_transition(ctx, ctx->target, tb, NULL, 0, to, &won, NULL, err)) != 0) {
        if (rc == TORN_E_CONNECT || rc == TORN_E_TIMEOUT || rc == TORN_E_AUTH)
            return rc; /* the store is unreachable, not wrong */
        torn_result_violation(ctx->result, "refused-not-error", KEY, torn_ctx_elapsed(ctx),
                              "round %lld: forbidden %s -> %s gave an error: %s", round,
                              tb->name[s], tb->name[to], err->msg);
        return TORN_OK;
    }
    snprintf(when, sizeof when, "round %lld, after the forbidden probe", round);
    if ((rc = read_known(ctx, tb, when, kn, err)) != 0)
        return rc;
    if (won || kn->state != s || kn->version != before.version)
        torn_result_violation(ctx->result, tb->allowed[s] ? "invalid-rejected" : "terminal-stays",
                              KEY, torn_ctx_elapsed(ctx),
                              "round %lld: forbidden %s -> %s was %s (now %s, version %lld)",
                              round, tb->name[s], tb->name[to], won ? "accepted" : "refused",
                              tb->name[kn->state], kn->version);
    return TORN_OK;
}

static int one_round(struct torn_ctx *ctx, struct torn_race *race, const struct table *tb,
                     long long round, long long *claims, struct torn_err *err)
{
    struct torn_msg cmd, rs[TORN_RACE_MAX];
    cJSON *initial = cJSON_CreateObject();
    struct known kn = {tb->initial, -1};
    char when[64];
    int rc, wins;

    cJSON_AddStringToObject(initial, "status", tb->name[tb->initial]);
    rc = torn_target_reset(ctx->target, KEY, initial, NULL, err);
    cJSON_Delete(initial);
    memset(&cmd, 0, sizeof cmd);
    cmd.type = CMD_CLAIM;
    cmd.a = round;
    if (rc || (rc = torn_race_round(race, &cmd, rs, ctx->timeout_ms * 2, err)) != 0 ||
        (rc = torn_race_unreachable(rs, race->n, err)) != 0)
        return rc;
    wins = count_wins(ctx, rs, race->n, round);
    *claims += wins;
    for (int i = 0; i < race->n; i++)
        if (rs[i].a == 1 && rs[i].b > kn.version) {
            kn.version = rs[i].b;
            kn.state = tb->claim;
        }
    if (wins != 1)
        torn_result_violation(ctx->result, "single-claim", KEY, torn_ctx_elapsed(ctx),
                              "round %lld: %d racers claimed %s -> %s (exactly one may)", round,
                              wins, tb->name[tb->initial], tb->name[tb->claim]);
    for (long long step = 1; step <= torn_param_int(ctx, "walk_steps"); step++) {
        snprintf(when, sizeof when, "round %lld, step %lld", round, step);
        if ((rc = read_known(ctx, tb, when, &kn, err)) != 0)
            return rc;
        cmd.type = CMD_WALK;
        cmd.b = step;
        if ((rc = torn_race_round(race, &cmd, rs, ctx->timeout_ms * 2, err)) != 0 ||
            (rc = torn_race_unreachable(rs, race->n, err)) != 0)
            return rc;
        count_wins(ctx, rs, race->n, round);
        judge_walk(ctx, tb, round, rs, race->n, &kn);
    }
    return probe(ctx, tb, round, &kn, err);
}

static int state_transition_run(struct torn_ctx *ctx, struct torn_err *err)
{
    long long n_rounds = torn_param_int(ctx, "rounds"), claims = 0, r = 0;
    struct torn_race race;
    struct table tb;
    int rc;

    if ((rc = parse_table(ctx, &tb, err)) != 0)
        return rc;
    rc = torn_race_start(ctx, (int)torn_param_int(ctx, "workers"), racer, &tb, &race, err);
    if (rc == 0 && (rc = torn_target_open(ctx->target, err)) == 0) {
        for (r = 1; r <= n_rounds && !rc && !torn_stop_requested(); r++) {
            if (torn_ctx_expired(ctx))
                break;
            rc = one_round(ctx, &race, &tb, r, &claims, err);
        }
        torn_target_close(ctx->target);
    }
    torn_race_stop(&race, ctx->timeout_ms);
    torn_result_metric(ctx->result, "rounds", (double)(r > 0 ? r - 1 : 0));
    torn_result_metric(ctx->result, "claims_won", (double)claims);
    torn_work_set(ctx->result, "rounds_planned", n_rounds);
    torn_work_set(ctx->result, "rounds", r > 0 ? r - 1 : 0);
    torn_work_set(ctx->result, "claims_won", claims);
    torn_work_deadline(ctx);
    return rc;
}

static const struct torn_work_need work[] = {
    {"rounds", "rounds_planned", 0.5, 4, "planned rounds raced"},
    {"claims_won", "rounds", 0.5, 2, "rounds had a claim won"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/state-transition.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_state_transition[];

const struct torn_scenario_ops torn_scenario_state_transition = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "state-transition",
    .summary = "racers claim PENDING->PROCESSING and walk the transition table; one claim wins",
    .needs = TORN_CAP_TRANSITION | TORN_CAP_READ | TORN_CAP_RESET,
    .defaults = torn_defaults_state_transition, /* scenarios/state-transition.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("rounds", 1, 100000), TORN_PARAM_INT("workers", 1, TORN_RACE_MAX),
        TORN_PARAM_INT("walk_steps", 0, 1000),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION),
        {NULL, 0, 0, 0}},
    .run = state_transition_run,
    .work = work,
};

/* torn: failover.  The most common way an acknowledged write is lost in
 * production: the primary acknowledged it, died, and a replica that never
 * received it was promoted.
 *
 * Each cycle torn starts its own replicated store (harness/servers/replica.h:
 * a Redis primary and a replica of it on loopback, the replication stream
 * delayed by link_latency_ms, as over a real network).  Writers stream
 * acknowledged updates, each to a record of its own (the record model: seq,
 * payload, digest), written as one SET, followed by WAIT wait_replicas
 * wait_timeout_ms when wait_replicas > 0: a write is acknowledged when SET
 * succeeded and, with WAIT, that many replicas confirmed it; a WAIT that
 * answers fewer is an unconfirmed write (not acknowledged, its outcome
 * unknown).  At a seeded moment (min..max_delay_ms after every writer's
 * first answer) the primary crashes cut off from its replica (the link dies
 * with it: bytes in flight are lost), and torn promotes the replica
 * (REPLICAOF NO ONE), as Sentinel or an operator would.  cut=power (a set
 * torn starts): the primary keeps its data on torn-fs (power model) and its
 * power is cut instead: frozen, SIGKILLed, and everything it had not
 * fsynced dropped (harness/servers/replica.h).  The verdicts are the same
 * as a SIGKILL's: what the promoted replica holds is decided by what reached
 * it before the crash, not by what the old primary's disk kept; the cut
 * matters to an old primary brought back as a replica (pg_rewind), which
 * this scenario does not do.
 *
 * A set the user runs (--target redis://... / postgres://... with the
 * target parameters standby, crash, promote and rebuild; replica.h's
 * torn_replica_set_attach): the same cycle on servers torn did not start,
 * the primary crashed and the standby promoted by the user's commands;
 * after each failover the rebuild command brings a fresh set up (without
 * one, only cycles=1).  Synchronous replication is then the servers' own
 * setting: wait_replicas on such a Postgres and min_replicas_to_write are
 * refused, link_latency_ms does not apply.
 *
 * Acceptance, read on the promoted node: every acknowledged write is there
 * ("acknowledged-survives-failover": the record holds a seq >= the highest
 * acknowledged), no record holds a seq no writer sent ("no-phantom-write"),
 * and every record is intact ("no-torn-write").  The result reports how many
 * acknowledged writes were lost and the window: how long before the crash
 * the oldest lost one had been acknowledged.
 *
 * min_replicas_to_write 1 (Redis: min-replicas-to-write 1,
 * min-replicas-max-lag 10) makes the primary refuse writes while no replica
 * is connected and recent; it does not make a write wait for the replica,
 * so it still FAILS: it bounds how long a partitioned primary accepts
 * writes, not what a failover loses.
 *
 * Ground truth (Redis's documentation, "Replication" and WAIT): replication
 * is asynchronous, so a primary acknowledges writes its replicas have not
 * received and a failover loses them: FAIL without WAIT.  WAIT 1 returns
 * once one replica has acknowledged the write, so with a single replica,
 * the one promoted, no acknowledged write is lost: PASS.  This does not make
 * Redis strongly consistent (WAIT's own words): with several replicas the
 * promoted one may not be the one that acknowledged, and a replica that
 * acknowledged may still lose the write if it restarts without persistence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/pace.h"
#include "core/history.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"
#include "core/work.h"
#include "fs/tornfs.h"
#include "lib/acks.h"
#include "lib/race.h"
#include "proc/proc.h"
#include "servers/replica.h"

enum { MSG_ACK = 1, MSG_UNCONFIRMED, MSG_FAIL, MSG_READY };

#define MAX_WRITERS TORN_ACKS_MAX

/* The run's namespace in the key: a set the user runs may hold other runs'. */
static void record_key(const struct torn_ctx *ctx, char *buf, size_t len, int writer)
{
    snprintf(buf, len, "%s:failover:w%d", ctx->target->cfg.ns, writer);
}

/* The record a writer stores for seq: version = seq, self-checking payload. */
static char *record_text(const struct torn_ctx *ctx, int writer, long long seq)
{
    cJSON *patch = torn_payload_patch(ctx->seed, seq, (size_t)torn_param_int(ctx, "payload_len"));
    char key[64], *text = NULL;
    cJSON *rec;

    record_key(ctx, key, sizeof key, writer);
    rec = patch ? torn_record_new(key, patch) : NULL;
    if (rec) {
        cJSON_ReplaceItemInObjectCaseSensitive(rec, "version", cJSON_CreateNumber((double)seq));
        text = cJSON_PrintUnformatted(rec);
    }
    cJSON_Delete(rec);
    cJSON_Delete(patch);
    return text;
}

/* A writer: seq 1, 2, ... on its own record, until the primary is gone. */
static int writer(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *arg)
{
    const struct torn_replica_set *set = arg;
    int want = (int)torn_param_int(ctx, "wait_replicas");
    int wait_ms = (int)torn_param_int(ctx, "wait_timeout_ms");
    struct torn_replica_conn *c = NULL;
    struct torn_err err;
    char key[64];
    struct torn_pace pace;

    (void)t;
    record_key(ctx, key, sizeof key, index);
    if (torn_replica_connect(set, 0, ctx->timeout_ms, &c, &err) != 0) {
        torn_msg_post(wfd, MSG_FAIL, index, 0, 0, 0, err.msg);
        return 0;
    }
    torn_ctx_pace_init(ctx, &pace, (int)torn_param_int(ctx, "workers"), index);
    for (long long seq = 1; torn_ctx_pace(ctx, &pace); seq++) {
        char *text = record_text(ctx, index, seq);
        int replicated = -1, rc;
        uint64_t t0 = torn_now_ns();
        torn_err_clear(&err);
        rc = text ? torn_replica_put(c, key, text, want, wait_ms, &replicated, &err)
                  : torn_err_set(&err, TORN_E_NOMEM, "out of memory");
        free(text);
        torn_ctx_op(ctx, TORN_OP_UPDATE,
                    rc || (replicated >= 0 && replicated < want) ? TORN_OUT_INFO : TORN_OUT_OK,
                    torn_now_ns() - t0);
        torn_msg_post(wfd, rc ? MSG_FAIL : replicated >= 0 && replicated < want ? MSG_UNCONFIRMED
                                                                                : MSG_ACK,
                      index, seq, replicated, 0, rc ? err.msg : NULL);
        if (seq == 1)  /* the primary answered: the crash delay counts from here */
            torn_msg_post(wfd, MSG_READY, index, 0, 0, 0, NULL);
        if (rc)
            break;     /* the primary is gone */
    }
    torn_replica_close(c);
    return 0;
}

/* What the writers reported in one cycle. */
struct acks {
    struct torn_acks ack;              /* acknowledged seqs and when (lib/acks.h) */
    long long sent[MAX_WRITERS];       /* highest seq sent at all */
    long long n_unconfirmed;
};

static void note(void *arg, const struct torn_msg *m)
{
    struct acks *a = arg;
    int w = (int)m->worker;

    if (w < 0 || w >= MAX_WRITERS || m->type == MSG_READY)
        return;
    if (m->a > a->sent[w])
        a->sent[w] = m->a;
    a->n_unconfirmed += m->type == MSG_UNCONFIRMED;
    if (m->type == MSG_ACK)
        torn_acks_note(&a->ack, w, m->a, m->t_ns);
}

struct totals {
    long long cycles, acked, lost, unconfirmed, power_cuts;
    double max_window_ms, promote_ms;
};

/* The seq writer w's record holds on the promoted node: 0 when absent, -1
 * when torn (a violation is recorded). */
static long long promoted_seq(struct torn_ctx *ctx, struct torn_replica_conn *c, int w,
                              long long cycle, struct torn_err *err)
{
    char key[64], why[160], *buf = NULL;
    size_t len = 0;
    cJSON *rec = NULL;
    long long seq;
    int rc;

    record_key(ctx, key, sizeof key, w);
    if ((rc = torn_replica_get(c, key, &buf, &len, err)) == TORN_E_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    rc = torn_record_parse(buf, len, &rec, why, sizeof why);
    free(buf);
    if (rc) {
        torn_result_violation(ctx->result, "no-torn-write", key, torn_ctx_elapsed(ctx),
                              "cycle %lld: the promoted replica holds a torn record: %s", cycle,
                              why);
        return -1;
    }
    seq = torn_record_int(rec, "seq", 0);
    cJSON_Delete(rec);
    return seq;
}

/* Every acknowledged write must be on the promoted node. */
static int judge(struct torn_ctx *ctx, const struct torn_replica_set *set, int n, long long cycle,
                 const struct acks *a, uint64_t t_crash, struct totals *tot, struct torn_err *err)
{
    struct torn_replica_conn *c = NULL;
    char key[64];
    int rc = torn_replica_connect(set, 1, ctx->timeout_ms, &c, err);

    for (int w = 0; w < n && !rc; w++) {
        long long found = promoted_seq(ctx, c, w, cycle, err), lost;
        double window;
        if (found < -1)
            rc = (int)found;
        if (found < 0)
            continue;
        record_key(ctx, key, sizeof key, w);
        tot->acked += a->ack.acked[w];
        if (found > a->sent[w])
            torn_result_violation(ctx->result, "no-phantom-write", key, torn_ctx_elapsed(ctx),
                                  "cycle %lld: the promoted replica holds seq %lld, but the "
                                  "writer sent only up to seq %lld", cycle, found, a->sent[w]);
        if ((lost = a->ack.acked[w] - found) <= 0)
            continue;
        window = torn_acks_window_ms(&a->ack, w, found, t_crash);
        tot->lost += lost;
        tot->max_window_ms = window > tot->max_window_ms ? window : tot->max_window_ms;
        torn_result_violation(ctx->result, "acknowledged-survives-failover", key,
                              torn_ctx_elapsed(ctx),
                              "cycle %lld: %lld acknowledged writes absent on the promoted "
                              "replica (seq %lld..%lld acknowledged by the primary, the promoted "
                              "replica holds %s%lld); the oldest was acknowledged %.1f ms before "
                              "the primary crashed", cycle, lost, found + 1, a->ack.acked[w],
                              found ? "seq " : "no record, seq ", found, window);
    }
    torn_replica_close(c);
    return rc;
}

/* Writers run against the primary until it crashes; they are collected. */
static int write_then_crash(struct torn_ctx *ctx, struct torn_replica_set *set, int n,
                            struct acks *a, uint64_t *t_crash, struct torn_err *err)
{
    double min_ms = torn_param_num(ctx, "min_delay_ms"), max_ms = torn_param_num(ctx, "max_delay_ms");
    struct torn_child kids[MAX_WRITERS];
    struct torn_msg m;
    int rc = TORN_OK, started = 0;

    for (int w = 0; w < n && !rc; w++)
        if ((rc = torn_child_spawn(ctx, w, 0, writer, set, &kids[w], err)) == 0)
            started++;
    if (!rc)
        rc = torn_wait_ready(kids, started, MSG_READY, ctx->timeout_ms, note, a, err);
    if (!rc)
        torn_drain_until(kids, started,
                         torn_ctx_until(ctx, (uint64_t)((min_ms + torn_rng_double(&ctx->rng) *
                                                                   (max_ms - min_ms)) * 1e6)),
                         note, a);
    if (!rc)
        rc = torn_replica_set_crash(set, err);
    else
        torn_replica_set_crash(set, NULL);
    *t_crash = torn_now_ns(); /* the primary is certainly dead now */
    torn_history_log_add(ctx->history, "fault", 0, set->fs ? "primary-power-cut" : "primary-crash",
                         NULL, NULL, *t_crash);
    for (int w = 0; w < started; w++) {
        if (rc) { /* the primary may still answer them: never wait on that */
            torn_child_kill(&kids[w]);
            continue;
        }
        while (torn_msg_recv(kids[w].fd, &m, ctx->timeout_ms, NULL) == 1)
            note(a, &m);
        torn_child_wait(&kids[w], ctx->timeout_ms, NULL, NULL);
    }
    return rc;
}

/* The replicated store of one cycle: torn's own, fresh, or the user's
 * (u, filled from the target's parameters). */
static int open_set(struct torn_ctx *ctx, struct torn_replica_user *u, const char *log,
                    struct torn_replica_set **set, struct torn_err *err)
{
    /* Redis: a replica's first sync starts at once.  Postgres with
     * wait_replicas: the standby is synchronous, a commit returns once the
     * standby has applied it. */
    static const struct torn_kv redis[] = {{"repl-diskless-sync-delay", "0"}, {NULL, NULL}};
    static const struct torn_kv redis_min[] = {{"repl-diskless-sync-delay", "0"},
                                               {"min-replicas-to-write", "1"},
                                               {"min-replicas-max-lag", "10"},
                                               {NULL, NULL}};
    static const struct torn_kv pg_sync[] = {{"synchronous_standby_names", "*"},
                                             {"synchronous_commit", "remote_apply"},
                                             {NULL, NULL}};
    const struct torn_target_cfg *cfg = &ctx->target->cfg;
    int pg = strcmp(cfg->driver, "redis") != 0;
    struct torn_replica_opts o = {
        pg ? TORN_SERVER_POSTGRES : TORN_SERVER_REDIS,
        pg ? (torn_param_int(ctx, "wait_replicas") ? pg_sync : NULL)
           : (torn_param_int(ctx, "min_replicas_to_write") ? redis_min : redis),
        (int)torn_param_int(ctx, "link_latency_ms"),
        ctx->timeout_ms > 10000 ? ctx->timeout_ms : 10000,
        strcmp(torn_param_str(ctx, "cut"), "power") == 0};

    if (!cfg->location)
        return torn_replica_set_start(ctx->run_dir, &o, set, err);
    *u = (struct torn_replica_user){o.kind, cfg->location, cfg->display,
                                    torn_target_param(cfg, "standby"),
                                    torn_target_param(cfg, "crash"),
                                    torn_target_param(cfg, "promote"),
                                    torn_target_param(cfg, "rebuild"), log,
                                    cfg->allow_remote, o.timeout_ms};
    return torn_replica_set_attach(u, set, err);
}

/* One cycle: a replicated store, writes, crash, promotion, judgement; a set
 * the user runs is rebuilt after it (its rebuild command). */
static int one_cycle(struct torn_ctx *ctx, long long cycle, struct totals *tot,
                     struct torn_err *err)
{
    char *log = torn_asprintf("%s/failover-commands.log", ctx->target->cfg.log_dir);
    int n = (int)torn_param_int(ctx, "workers");
    struct torn_replica_user u;
    struct torn_replica_set *set = NULL;
    struct acks a;
    uint64_t t_crash = 0, t0;
    int rc;

    memset(&a, 0, sizeof a);
    memset(&u, 0, sizeof u);
    if (!log)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if ((rc = open_set(ctx, &u, log, &set, err)) != 0) {
        free(log);
        return rc;
    }
    rc = write_then_crash(ctx, set, n, &a, &t_crash, err);
    t0 = torn_now_ns();
    if (!rc)
        rc = torn_replica_set_promote(set, err);
    if (set->cut_state[0]) {
        tot->power_cuts++;
        torn_result_metric_str(ctx->result, "primary_power_cut", set->cut_state);
    }
    torn_ctx_op(ctx, TORN_OP_RECOVER, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
    torn_history_log_add(ctx->history, "fault", 0, "promote-replica", NULL, NULL, 0);
    if ((double)(torn_now_ns() - t0) / 1e6 > tot->promote_ms)
        tot->promote_ms = (double)(torn_now_ns() - t0) / 1e6;
    if (!rc)
        rc = judge(ctx, set, n, cycle, &a, t_crash, tot, err);
    if (!rc)
        rc = torn_replica_set_rebuild(set, err);
    tot->unconfirmed += a.n_unconfirmed;
    torn_replica_set_stop(set);
    torn_acks_free(&a.ack);
    free(log);
    return rc;
}

/* What a failover on a set the user runs cannot do. */
static int check_user_set(struct torn_ctx *ctx, struct torn_err *err)
{
    const struct torn_target_cfg *cfg = &ctx->target->cfg;

    if (torn_param_int(ctx, "cycles") > 1 && !torn_target_param(cfg, "rebuild"))
        return torn_err_set(err, TORN_E_CONFIG, "failover: cycles > 1 on a set you run needs "
                            "--target-opt rebuild=COMMAND (a fresh primary and standby after "
                            "each failover)");
    if (torn_param_int(ctx, "min_replicas_to_write"))
        return torn_err_set(err, TORN_E_CONFIG, "failover: min_replicas_to_write is set on a "
                            "server torn starts; on yours, set min-replicas-to-write yourself");
    if (strcmp(torn_param_str(ctx, "cut"), "power") == 0)
        return torn_err_set(err, TORN_E_CONFIG, "failover: cut=power puts the primary's data "
                            "on torn-fs: only for a set torn starts (--target redis / postgres); "
                            "on yours, cut its power with your crash= command");
    if (torn_param_int(ctx, "wait_replicas") && strcmp(cfg->driver, "redis") != 0)
        return torn_err_set(err, TORN_E_CONFIG, "failover: wait_replicas on a Postgres you "
                            "run: make its standby synchronous yourself "
                            "(synchronous_standby_names, synchronous_commit = remote_apply)");
    return TORN_OK;
}

static int failover_run(struct torn_ctx *ctx, struct torn_err *err)
{
    const struct torn_target_cfg *cfg = &ctx->target->cfg;
    long long cycles = torn_param_int(ctx, "cycles");
    struct totals tot = {0};
    int rc = TORN_OK;

    if (strcmp(cfg->driver, "redis") != 0 && strcmp(cfg->driver, "postgres") != 0)
        return torn_err_set(err, TORN_E_CONFIG, "failover needs a Redis or Postgres primary "
                            "and standby: --target redis / postgres (torn starts them), or "
                            "redis://... / postgres://... with --target-opt standby=HOST:PORT, "
                            "crash=COMMAND, promote=COMMAND (a set you run)");
    if (cfg->location && (rc = check_user_set(ctx, err)) != 0)
        return rc;
    if (torn_param_int(ctx, "min_replicas_to_write") && strcmp(cfg->driver, "redis") != 0)
        return torn_err_set(err, TORN_E_CONFIG, "failover: min_replicas_to_write is a Redis "
                            "setting (Postgres: wait_replicas=1 makes the standby synchronous)");
    if (strcmp(torn_param_str(ctx, "cut"), "kill") && strcmp(torn_param_str(ctx, "cut"), "power"))
        return torn_err_set(err, TORN_E_CONFIG, "failover: cut must be kill or power, not '%s'",
                            torn_param_str(ctx, "cut"));
    if (strcmp(torn_param_str(ctx, "cut"), "power") == 0 && !torn_fs_available())
        return torn_err_set(err, TORN_E_ENV, "failover: cut=power needs torn-fs (/dev/fuse "
                            "and CAP_SYS_ADMIN; in a container: --device /dev/fuse "
                            "--cap-add SYS_ADMIN)");
    if (torn_param_num(ctx, "max_delay_ms") < torn_param_num(ctx, "min_delay_ms"))
        return torn_err_set(err, TORN_E_CONFIG, "failover: max_delay_ms is below min_delay_ms");
    for (long long i = 1; i <= cycles && !rc && !torn_ctx_expired(ctx); i++) {
        rc = one_cycle(ctx, i, &tot, err);
        tot.cycles += rc == 0;
    }
    const struct {
        const char *name;
        double value;
    } metrics[] = {{"failovers", (double)tot.cycles},
                   {"acknowledged_writes", (double)tot.acked},
                   {"lost_acknowledged_writes", (double)tot.lost},
                   {"unconfirmed_writes", (double)tot.unconfirmed},
                   {"loss_window_ms", tot.max_window_ms},
                   {"max_promotion_ms", tot.promote_ms},
                   {"primary_power_cuts", (double)tot.power_cuts}};
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        torn_result_metric(ctx->result, metrics[i].name, metrics[i].value);
    torn_work_set(ctx->result, "failovers_planned", cycles);
    torn_work_set(ctx->result, "failovers", tot.cycles);
    torn_work_set(ctx->result, "writes_acked", tot.acked);
    torn_work_deadline(ctx);
    return rc;
}

static const struct torn_work_need work[] = {
    {"failovers", "failovers_planned", 0.5, 1, "planned failovers done"},
    {"writes_acked", NULL, 0, 1, "writes acknowledged before the crashes"},
    {NULL, NULL, 0, 0, NULL},
};

/* The parameters and their defaults: scenarios/failover.json, their only
 * source, compiled in by mk/scenarios.mk. */
extern const char torn_defaults_failover[];

const struct torn_scenario_ops torn_scenario_failover = {
    .version = TORN_SCENARIO_OPS_V1,
    .name = "failover",
    .summary = "crash a replicated primary during acknowledged writes, promote the replica; "
               "nothing acked lost",
    .needs = 0,
    .defaults = torn_defaults_failover, /* scenarios/failover.json */
    .ranges = (const struct torn_param_range[]){
        TORN_PARAM_INT("cycles", 1, 10000), TORN_PARAM_INT("workers", 1, MAX_WRITERS),
        TORN_PARAM_REAL("min_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_REAL("max_delay_ms", 0, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("link_latency_ms", 0, 60000), TORN_PARAM_INT("wait_replicas", 0, 1),
        TORN_PARAM_INT("wait_timeout_ms", 1, TORN_PARAM_MAX_MS),
        TORN_PARAM_INT("min_replicas_to_write", 0, 1),
        TORN_PARAM_INT("payload_len", 1, TORN_PARAM_MAX_PAYLOAD),
        TORN_PARAM_REAL("duration_s", 0, TORN_PARAM_MAX_DURATION), TORN_PARAM_REAL("rate", 0, 1e7),
        {NULL, 0, 0, 0}},
    .run = failover_run,
    .work = work,
};

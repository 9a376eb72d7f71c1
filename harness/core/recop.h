/* torn: what the record drivers share (not a plug point).
 *
 * - recop: the three record operations (update, compare-and-set on version,
 *   guarded status transition) as one value, checked and applied in the
 *   client.  Strategies that read, decide and write from the client (the
 *   file store under its lock, Redis get-set/watch, Postgres
 *   select-update/serializable) all go through torn_recop_apply, so they
 *   differ only in how they read and write, which is exactly what the
 *   scenarios compare.  (The Redis Lua script and the Postgres guarded
 *   UPDATE decide on the server: their twins of it are in those drivers.)
 * - managed-server parameters and faults, common to both drivers.
 */
#ifndef TORN_RECOP_H
#define TORN_RECOP_H

#include <stddef.h>

struct cJSON;
struct torn_err;
struct torn_kv;
struct torn_server;
struct torn_target_cfg;
enum torn_fault;

enum torn_recop_kind {
    TORN_RECOP_UPDATE,       /* update_fields: merge patch, version+1 */
    TORN_RECOP_CAS,          /* same iff version == expected, protected fields kept */
    TORN_RECOP_TRANSITION    /* status = to iff status is in from[] */
};

struct torn_recop {
    enum torn_recop_kind kind;
    const struct cJSON *patch;   /* UPDATE, CAS */
    long long expected;          /* CAS */
    const char *const *from;     /* TRANSITION */
    size_t n_from;
    const char *to;
    int unguarded;               /* CAS: let processing_state through, as
                                    seed 002's code did before its fix */
};

/* Decide and apply op to rec in place.  Returns 1 applied (version+1,
 * fresh _updated_at), 0 refused (stale version, status not in from: rec
 * unchanged), or a negative torn_code (TORN_E_NOMEM). */
int torn_recop_apply(struct cJSON *rec, const struct torn_recop *op);

/* The patch a server-side implementation merges for op, as JSON text
 * (malloc'd, caller frees): the patch for UPDATE/CAS, {"status": to} for a
 * TRANSITION.  NULL on ENOMEM. */
char *torn_recop_patch_json(const struct torn_recop *op);

/* The from-list of a TRANSITION as a JSON array text (malloc'd). */
char *torn_recop_from_json(const struct torn_recop *op);

/* Finish a slot call: *won_out (may be NULL) = won, *record_out (may be
 * NULL) takes rec (else rec is freed). */
void torn_recop_finish(struct cJSON *rec, int won, int *won_out, struct cJSON **record_out);

/* ---- managed servers ---- */

/* Server settings for a managed server from the target's parameters: the
 * keys in `persist` (e.g. appendonly, appendfsync, save) plus any
 * "server.<setting>" parameter.  out has room for max entries incl. the
 * {NULL,NULL} end; the strings point into cfg.  TORN_E_CONFIG when such a
 * parameter is given together with an address (it would be ignored). */
int torn_managed_settings(const struct torn_target_cfg *cfg, const char *const *persist,
                          struct torn_kv *out, size_t max, struct torn_err *err);

/* The parameters of the failover scenario on a replicated set the user runs
 * (scenarios/failover.c): the standby's HOST:PORT and the user's crash,
 * promote and rebuild commands; a Redis or Postgres target accepts them. */
#define TORN_FAILOVER_PARAMS "standby", "crash", "promote", "rebuild"

/* Refuse parameters that are neither in `known`, nor in `persist`, nor
 * "server.*", unless accept(key) says yes (may be NULL). */
int torn_target_check_params(const struct torn_target_cfg *cfg, const char *const *known,
                             const char *const *persist, int (*accept)(const char *key),
                             struct torn_err *err);

/* ops->fault for a managed server: SERVER_KILL and SERVER_RESTART; other
 * kinds and external servers are TORN_E_UNSUPPORTED. */
int torn_managed_fault(struct torn_server *srv, const char *display, enum torn_fault kind,
                       struct torn_err *err);

/* The dual-write mode: 1 atomic, 0 separate, from the "dual" parameter or
 * else the strategy's default (dflt_atomic).  TORN_E_CONFIG on a bad value. */
int torn_dual_mode(const struct torn_target_cfg *cfg, int dflt_atomic, int *atomic_out,
                   struct torn_err *err);

#endif

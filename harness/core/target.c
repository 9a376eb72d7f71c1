/* torn: target handles. */
#include "target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "parse.h"
#include "throttle.h"

int torn_target_new(const struct torn_target_ops *ops, const struct torn_target_cfg *cfg,
                    struct torn_target **out, struct torn_err *err)
{
    struct torn_target *t;
    int rc;

    *out = NULL;
    if (ops->version != TORN_TARGET_OPS_V1)
        return torn_err_set(err, TORN_E_CONFIG,
                            "target driver %s: plug-point version %d, this torn knows %d "
                            "(rebuild the driver against harness/core/target.h)",
                            ops->name, ops->version, TORN_TARGET_OPS_V1);
    if (ops->check && (rc = ops->check(cfg, err)) != 0)
        return rc;
    t = calloc(1, sizeof *t);
    if (!t)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    t->ops = ops;
    t->cfg = *cfg;
    if (ops->size) {
        t->priv = calloc(1, ops->size);
        if (!t->priv) {
            free(t);
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
    }
    *out = t;
    return TORN_OK;
}

int torn_target_dup(const struct torn_target *t, struct torn_target **out, struct torn_err *err)
{
    struct torn_target *c;

    *out = NULL;
    c = malloc(sizeof *c);
    if (!c)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    *c = *t;
    c->is_open = 0;
    c->is_setup = 0; /* a copy never tears down */
    c->priv = NULL;
    if (t->ops->size) {
        c->priv = malloc(t->ops->size);
        if (!c->priv) {
            free(c);
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
        memcpy(c->priv, t->priv, t->ops->size);
    }
    *out = c;
    return TORN_OK;
}

void torn_target_free(struct torn_target *t)
{
    if (!t)
        return;
    free(t->priv);
    free(t);
}

int torn_target_setup(struct torn_target *t, struct torn_err *err)
{
    int rc = t->ops->setup ? t->ops->setup(t, err) : TORN_OK;

    t->is_setup = 1; /* teardown runs even after a partial setup */
    return rc;
}

void torn_target_teardown(struct torn_target *t)
{
    if (t->is_open)
        torn_target_close(t);
    if (t->is_setup && t->ops->teardown)
        t->ops->teardown(t);
    t->is_setup = 0;
}

int torn_target_open(struct torn_target *t, struct torn_err *err)
{
    int rc = t->ops->open(t, err);

    t->is_open = 1; /* close must accept a half-opened target */
    if (rc != 0)
        torn_target_close(t);
    return rc;
}

void torn_target_close(struct torn_target *t)
{
    if (t->is_open)
        t->ops->close(t);
    t->is_open = 0;
}

/* ---- operation wrappers: one route for every call into a driver ----
 * They look alike on purpose (duplicates lists them as boilerplate): one
 * per slot, each with its slot's exact signature, so a caller's mistake is
 * a compile error, not a cast. */

static int no_slot(const struct torn_target *t, const char *slot, struct torn_err *err)
{
    return torn_err_set(err, TORN_E_UNSUPPORTED, "target %s has no %s operation", t->ops->name,
                        slot);
}

/* torn run --probe: every slot that writes, damages or kills refuses. */
static int read_only;

void torn_target_read_only(int on)
{
    read_only = on;
}

static int no_write(const struct torn_target *t, const char *slot, struct torn_err *err)
{
    return torn_err_set(err, TORN_E_CONFIG,
                        "--probe only reads: target %s's %s operation refused (torn sends no "
                        "write, damage or fault in probe mode)",
                        t->ops->name, slot);
}

#define READ_ONLY_GUARD(t, slot, err)          \
    do {                                       \
        if (read_only)                         \
            return no_write((t), (slot), (err)); \
    } while (0)

/* The run-wide caps (throttle.h) before a request to the target: wait for
 * its turn; return at once when the run was stopped while waiting. */
#define TAKE_TURN(err)                       \
    do {                                     \
        int turn_rc_ = torn_throttle_take(err); \
        if (turn_rc_)                        \
            return turn_rc_;                 \
    } while (0)

/* Clear *p when the caller passed it; the slot fills it otherwise. */
#define CLEAR_OUT(p)  \
    do {              \
        if (p)        \
            *(p) = 0; \
    } while (0)

int torn_target_reset(struct torn_target *t, const char *id, const cJSON *initial,
                      cJSON **record_out, struct torn_err *err)
{
    CLEAR_OUT(record_out);
    if (!t->ops->reset)
        return no_slot(t, "reset", err);
    READ_ONLY_GUARD(t, "reset", err);
    TAKE_TURN(err);
    return t->ops->reset(t, id, initial, record_out, err);
}

int torn_target_update(struct torn_target *t, const char *id, const cJSON *patch,
                       cJSON **record_out, struct torn_err *err)
{
    CLEAR_OUT(record_out);
    if (!t->ops->update)
        return no_slot(t, "update", err);
    READ_ONLY_GUARD(t, "update", err);
    TAKE_TURN(err);
    return t->ops->update(t, id, patch, record_out, err);
}

int torn_target_read(struct torn_target *t, const char *id, cJSON **record_out,
                     struct torn_err *err)
{
    CLEAR_OUT(record_out);
    if (!t->ops->read)
        return no_slot(t, "read", err);
    TAKE_TURN(err);
    return t->ops->read(t, id, record_out, err);
}

int torn_target_update_if_version(struct torn_target *t, const char *id, const cJSON *patch,
                                  long long expected_version, int *won_out, cJSON **record_out,
                                  struct torn_err *err)
{
    CLEAR_OUT(record_out);
    CLEAR_OUT(won_out);
    if (!t->ops->update_if_version)
        return no_slot(t, "update_if_version", err);
    READ_ONLY_GUARD(t, "update_if_version", err);
    TAKE_TURN(err);
    return t->ops->update_if_version(t, id, patch, expected_version, won_out, record_out, err);
}

int torn_target_transition(struct torn_target *t, const char *id, const char *const *from,
                           size_t n_from, const char *to, int *won_out, cJSON **record_out,
                           struct torn_err *err)
{
    CLEAR_OUT(record_out);
    CLEAR_OUT(won_out);
    if (!t->ops->transition)
        return no_slot(t, "transition", err);
    READ_ONLY_GUARD(t, "transition", err);
    TAKE_TURN(err);
    return t->ops->transition(t, id, from, n_from, to, won_out, record_out, err);
}

int torn_target_corrupt(struct torn_target *t, const char *id, enum torn_corruption how,
                        struct torn_err *err)
{
    if (!t->ops->corrupt)
        return no_slot(t, "corrupt", err);
    READ_ONLY_GUARD(t, "corrupt", err);
    return t->ops->corrupt(t, id, how, err);
}

int torn_target_dual_write(struct torn_target *t, const char *group, const char *member,
                           long long amount, struct torn_err *err)
{
    if (!t->ops->dual_write)
        return no_slot(t, "dual_write", err);
    READ_ONLY_GUARD(t, "dual_write", err);
    TAKE_TURN(err);
    return t->ops->dual_write(t, group, member, amount, err);
}

int torn_target_dual_read(struct torn_target *t, const char *group, cJSON **state_out,
                          struct torn_err *err)
{
    CLEAR_OUT(state_out);
    if (!t->ops->dual_read)
        return no_slot(t, "dual_read", err);
    TAKE_TURN(err);
    return t->ops->dual_read(t, group, state_out, err);
}

int torn_target_create(struct torn_target *t, const cJSON *input, char **id_out,
                       struct torn_err *err)
{
    CLEAR_OUT(id_out);
    if (!t->ops->create)
        return no_slot(t, "create", err);
    READ_ONLY_GUARD(t, "create", err);
    TAKE_TURN(err);
    return t->ops->create(t, input, id_out, err);
}

int torn_target_subscribe(struct torn_target *t, const char *id, struct torn_sub **sub_out,
                          struct torn_err *err)
{
    CLEAR_OUT(sub_out);
    if (!t->ops->subscribe)
        return no_slot(t, "subscribe", err);
    TAKE_TURN(err);
    return t->ops->subscribe(t, id, sub_out, err);
}

int torn_target_next_event(struct torn_target *t, struct torn_sub *sub, int timeout_ms,
                           cJSON **event_out, struct torn_err *err)
{
    CLEAR_OUT(event_out);
    if (!t->ops->next_event)
        return no_slot(t, "next_event", err);
    return t->ops->next_event(t, sub, timeout_ms, event_out, err);
}

void torn_target_unsubscribe(struct torn_target *t, struct torn_sub *sub)
{
    if (sub && t->ops->unsubscribe)
        t->ops->unsubscribe(t, sub);
}

int torn_target_fault(struct torn_target *t, enum torn_fault kind, const cJSON *args,
                      struct torn_err *err)
{
    if (!t->ops->fault)
        return no_slot(t, "fault", err);
    READ_ONLY_GUARD(t, "fault", err);
    return t->ops->fault(t, kind, args, err);
}

void torn_target_observe(struct torn_target *t)
{
    if (t->ops->observe)
        t->ops->observe(t);
}

int torn_target_plant(struct torn_target *t, const char *id, const cJSON *record,
                      struct torn_err *err)
{
    if (!t->ops->plant)
        return no_slot(t, "plant", err);
    READ_ONLY_GUARD(t, "plant", err);
    return t->ops->plant(t, id, record, err);
}

unsigned torn_target_caps(const struct torn_target_ops *ops)
{
    unsigned c = 0;

    if (ops->update)
        c |= TORN_CAP_UPDATE;
    if (ops->read)
        c |= TORN_CAP_READ;
    if (ops->update_if_version)
        c |= TORN_CAP_CAS;
    if (ops->transition)
        c |= TORN_CAP_TRANSITION;
    if (ops->reset)
        c |= TORN_CAP_RESET;
    if (ops->corrupt)
        c |= TORN_CAP_CORRUPT;
    if (ops->dual_write && ops->dual_read)
        c |= TORN_CAP_DUAL;
    if (ops->create && ops->subscribe && ops->next_event)
        c |= TORN_CAP_JOBS;
    if (ops->fault)
        c |= TORN_CAP_FAULT;
    if (ops->plant)
        c |= TORN_CAP_PLANT;
    return c | ops->extra_caps;
}

unsigned torn_target_caps_of(struct torn_target *t, unsigned wanted, char *why, size_t why_len)
{
    unsigned have = torn_target_caps(t->ops) & wanted;
    char scratch[8];

    if (!why || !why_len) {
        why = scratch;
        why_len = sizeof scratch;
    }
    why[0] = '\0';
    if (t->ops->caps && have)
        have &= t->ops->caps(t, have, why, why_len);
    return have;
}

void torn_caps_describe(unsigned caps, char *buf, size_t len)
{
    static const char *const names[] = {"update",  "read",       "update_if_version",
                                        "transition", "reset",   "corrupt",
                                        "dual_write/dual_read", "create/subscribe/next_event",
                                        "fault", "data files on torn-fs",
                                        "a service torn starts", "plant (legacy records)"};
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(caps & (1u << i)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= len - used)
            return;
        used += (size_t)n;
    }
}

const char *torn_target_param(const struct torn_target_cfg *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_params; i++)
        if (strcmp(cfg->params[i].key, key) == 0)
            return cfg->params[i].value;
    return NULL;
}

int torn_target_param_int(const struct torn_target_cfg *cfg, const char *key, long long dflt,
                          long long lo, long long hi, long long *out, struct torn_err *err)
{
    const char *v = torn_target_param(cfg, key);
    char what[320];

    *out = dflt;
    if (!v)
        return TORN_OK;
    snprintf(what, sizeof what, "target %s: parameter %s", cfg->display, key);
    return torn_parse_int(what, v, lo, hi, out, err);
}

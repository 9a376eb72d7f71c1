/* torn: target handles. */
#include "target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "parse.h"

int torn_target_new(const struct torn_target_ops *ops, const struct torn_target_cfg *cfg,
                    struct torn_target **out, struct torn_err *err)
{
    struct torn_target *t;
    int rc;

    *out = NULL;
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

/* torn: parsing --target URIs (see target_uri.h). */
#include "target_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

/* The parts of a URI before the driver resolves them; each malloc'd or NULL. */
struct uri_parts {
    char *driver, *location, *strategy;
};

static int nomem(struct torn_err *err)
{
    return torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

/* s[0..n) as a new string, or NULL (ENOMEM) — s == NULL too. */
static char *dup_n(const char *s, size_t n)
{
    return s ? strndup(s, n) : NULL;
}

static int add_param(struct torn_target_cfg *cfg, const char *k, size_t klen, const char *v,
                     size_t vlen)
{
    struct torn_kv *p = realloc((void *)cfg->params, (cfg->n_params + 1) * sizeof *p);
    char *key, *value;

    if (!p)
        return TORN_E_NOMEM;
    cfg->params = p;
    key = strndup(k, klen);
    value = strndup(v, vlen);
    if (!key || !value) {
        free(key);
        free(value);
        return TORN_E_NOMEM;
    }
    p[cfg->n_params].key = key;
    p[cfg->n_params].value = value;
    cfg->n_params++;
    return TORN_OK;
}

/* Split the query "k=v&k2=v2" into params, taking "strategy" out into
 * parts->strategy. */
static int parse_query(const char *uri, const char *q, struct torn_target_cfg *cfg,
                       struct uri_parts *parts, struct torn_err *err)
{
    while (*q) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));

        if (!eq || eq == q)
            return torn_err_set(err, TORN_E_CONFIG,
                                "target '%s': parameter '%.*s' is not key=value", uri,
                                (int)(end - q), q);
        if ((size_t)(eq - q) == 8 && strncmp(q, "strategy", 8) == 0) {
            free(parts->strategy);
            if (!(parts->strategy = dup_n(eq + 1, (size_t)(end - eq - 1))))
                return nomem(err);
        } else if (add_param(cfg, q, (size_t)(eq - q), eq + 1, (size_t)(end - eq - 1)) != 0) {
            return nomem(err);
        }
        q = amp ? amp + 1 : end;
    }
    return TORN_OK;
}

static const char *scheme_driver(const char *scheme, size_t len)
{
    static const struct {
        const char *scheme, *driver;
    } map[] = {{"redis", "redis"},       {"rediss", "redis"}, {"postgres", "postgres"},
               {"postgresql", "postgres"}, {"http", "http"},   {"https", "http"},
               {"file", "file"}};

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].scheme) == len && strncmp(map[i].scheme, scheme, len) == 0)
            return map[i].driver;
    return NULL;
}

/* SCHEME://REST[?query]; sep points at "://". */
static int split_url(const char *uri, const char *sep, struct torn_target_cfg *cfg,
                     struct uri_parts *parts, struct torn_err *err)
{
    const char *d = scheme_driver(uri, (size_t)(sep - uri));
    const char *q = strchr(sep + 3, '?');
    const char *from = d && strcmp(d, "file") == 0 ? sep + 3 : uri; /* file://DIR: DIR */

    if (!d)
        return torn_err_set(err, TORN_E_CONFIG, "target '%.*s://...': unknown scheme",
                            (int)(sep - uri), uri);
    parts->driver = strdup(d);
    parts->location = dup_n(from, q ? (size_t)(q - from) : strlen(from));
    if (!parts->driver || !parts->location)
        return nomem(err);
    return q ? parse_query(uri, q + 1, cfg, parts, err) : TORN_OK;
}

/* NAME[:LOCATION-OR-STRATEGY][?query]; exec's location is taken whole. */
static int split_name(const char *uri, struct torn_target_cfg *cfg, struct uri_parts *parts,
                      struct torn_err *err)
{
    size_t n = strcspn(uri, ":?");
    const char *rest = uri + n, *q = NULL;

    if (!(parts->driver = dup_n(uri, n)))
        return nomem(err);
    if (*rest == ':') {
        rest++;
        q = strcmp(parts->driver, "exec") == 0 ? NULL : strchr(rest, '?');
        if (!(parts->location = dup_n(rest, q ? (size_t)(q - rest) : strlen(rest))))
            return nomem(err);
    } else if (*rest == '?') {
        q = rest;
    }
    return q ? parse_query(uri, q + 1, cfg, parts, err) : TORN_OK;
}

static int strategy_known(const struct torn_target_ops *ops, const char *s)
{
    for (const struct torn_strategy *st = ops->strategies; st && st->name; st++)
        if (strcmp(st->name, s) == 0)
            return 1;
    return 0;
}

/* The strategy names of ops, or (ops NULL) every target name. */
static void known_names(char *buf, size_t len, const struct torn_target_ops *ops)
{
    size_t used = 0, n;
    const struct torn_target_ops *const *all = torn_targets(&n);

    buf[0] = '\0';
    if (!ops) {
        for (size_t i = 0; i < n; i++)
            torn_list_add(buf, len, &used, all[i]->name);
        return;
    }
    for (const struct torn_strategy *st = ops->strategies; st && st->name; st++)
        torn_list_add(buf, len, &used, st->name);
}

/* Settle parts->strategy against ops: "file:naive" names a strategy (only
 * in the short form, without ?strategy=), "file:/some/dir" a location; none
 * given is the first strategy (or "default" for a target without any). */
static int resolve_strategy(const struct torn_target_ops *ops, int url, struct uri_parts *parts,
                            struct torn_err *err)
{
    char names[512];

    if (parts->location && !*parts->location) {
        free(parts->location);
        parts->location = NULL;
    }
    if (parts->location && !url && !parts->strategy && strategy_known(ops, parts->location)) {
        parts->strategy = parts->location;
        parts->location = NULL;
    }
    if (!parts->strategy) {
        const char *dflt = ops->strategies && ops->strategies[0].name ? ops->strategies[0].name
                                                                       : "default";
        if (!(parts->strategy = strdup(dflt)))
            return nomem(err);
    }
    if (ops->strategies && ops->strategies[0].name && !strategy_known(ops, parts->strategy)) {
        known_names(names, sizeof names, ops);
        return torn_err_set(err, TORN_E_CONFIG, "target '%s': unknown strategy '%s' (known: %s)",
                            parts->driver, parts->strategy, names);
    }
    return TORN_OK;
}

int torn_target_uri_parse(const char *uri, struct torn_target_cfg *cfg, struct torn_err *err)
{
    const struct torn_target_ops *ops = NULL;
    const char *sep = strstr(uri, "://");
    struct uri_parts parts = {NULL, NULL, NULL};
    char names[512];
    int rc;

    memset(cfg, 0, sizeof *cfg);
    rc = sep ? split_url(uri, sep, cfg, &parts, err) : split_name(uri, cfg, &parts, err);
    if (rc == TORN_OK && !(ops = torn_target_find(parts.driver))) {
        known_names(names, sizeof names, NULL);
        rc = torn_err_set(err, TORN_E_CONFIG, "unknown target '%s' (known: %s)", parts.driver,
                          names);
    }
    if (rc == TORN_OK)
        rc = resolve_strategy(ops, sep != NULL, &parts, err);
    if (rc == TORN_OK) {
        cfg->driver = ops->name;
        cfg->strategy = parts.strategy;
        cfg->location = parts.location;
        parts.strategy = parts.location = NULL;
    }
    free(parts.driver);
    free(parts.strategy);
    free(parts.location);
    if (rc)
        torn_target_uri_free(cfg);
    return rc;
}

void torn_target_uri_free(struct torn_target_cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_params; i++) {
        free((void *)cfg->params[i].key);
        free((void *)cfg->params[i].value);
    }
    free((void *)cfg->params);
    free((void *)cfg->strategy);
    free((void *)cfg->location);
    cfg->params = NULL;
    cfg->n_params = 0;
    cfg->strategy = cfg->location = NULL;
}

/* torn: client-side record operations and managed-server plumbing shared by
 * the Redis and Postgres drivers (see recop.h). */
#include "recop.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "record.h"
#include "servers/server.h"
#include "target.h"

static int status_in(const cJSON *rec, const char *const *from, size_t n_from)
{
    const char *status = torn_record_str(rec, "status");

    for (size_t i = 0; status && i < n_from; i++)
        if (from[i] && strcmp(status, from[i]) == 0)
            return 1;
    return 0;
}

int torn_recop_apply(cJSON *rec, const struct torn_recop *op)
{
    cJSON *patch;
    int rc;

    switch (op->kind) {
    case TORN_RECOP_UPDATE:
        rc = torn_record_apply(rec, op->patch, 0);
        return rc ? rc : 1;
    case TORN_RECOP_CAS:
        if (torn_record_version(rec) != op->expected)
            return 0;
        rc = torn_record_apply(rec, op->patch, op->unguarded ? 0 : TORN_APPLY_PROTECT);
        return rc ? rc : 1;
    case TORN_RECOP_TRANSITION:
        if (!status_in(rec, op->from, op->n_from))
            return 0;
        patch = cJSON_CreateObject();
        if (!patch || !cJSON_AddStringToObject(patch, "status", op->to)) {
            cJSON_Delete(patch);
            return TORN_E_NOMEM;
        }
        rc = torn_record_apply(rec, patch, 0);
        cJSON_Delete(patch);
        return rc ? rc : 1;
    }
    return TORN_E_CONFIG;
}

char *torn_recop_patch_json(const struct torn_recop *op)
{
    cJSON *patch;
    char *s;

    if (op->kind != TORN_RECOP_TRANSITION)
        return op->patch ? cJSON_PrintUnformatted(op->patch) : strdup("{}");
    patch = cJSON_CreateObject();
    if (!patch || !cJSON_AddStringToObject(patch, "status", op->to)) {
        cJSON_Delete(patch);
        return NULL;
    }
    s = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    return s;
}

char *torn_recop_from_json(const struct torn_recop *op)
{
    cJSON *arr = cJSON_CreateArray();
    char *s;

    for (size_t i = 0; arr && i < op->n_from; i++)
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(op->from[i]))) {
            cJSON_Delete(arr);
            return NULL;
        }
    s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

void torn_recop_finish(cJSON *rec, int won, int *won_out, cJSON **record_out)
{
    if (won_out)
        *won_out = won;
    if (record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
}

/* ---- managed servers ---- */

static int in_list(const char *key, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return 1;
    return 0;
}

static int is_server_key(const char *key)
{
    return strncmp(key, "server.", 7) == 0 && key[7];
}

int torn_managed_settings(const struct torn_target_cfg *cfg, const char *const *persist,
                          struct torn_kv *out, size_t max, struct torn_err *err)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg->n_params; i++) {
        const char *key = cfg->params[i].key;
        int server_key = is_server_key(key);

        if (!server_key && !in_list(key, persist))
            continue;
        if (cfg->location)
            return torn_err_set(err, TORN_E_CONFIG,
                                "target %s: parameter %s sets up a managed server, but an "
                                "address was given (configure that server yourself)",
                                cfg->display, key);
        if (n + 1 >= max)
            return torn_err_set(err, TORN_E_CONFIG, "target %s: too many server settings",
                                cfg->display);
        out[n].key = server_key ? key + 7 : key;
        out[n].value = cfg->params[i].value;
        n++;
    }
    out[n].key = out[n].value = NULL;
    return TORN_OK;
}

int torn_target_check_params(const struct torn_target_cfg *cfg, const char *const *known,
                             const char *const *persist, int (*accept)(const char *key),
                             struct torn_err *err)
{
    for (size_t i = 0; i < cfg->n_params; i++) {
        const char *key = cfg->params[i].key;

        if (in_list(key, known) || in_list(key, persist) || is_server_key(key) ||
            (accept && accept(key)))
            continue;
        return torn_err_set(err, TORN_E_CONFIG, "target %s: unknown parameter '%s'",
                            cfg->display, key);
    }
    return TORN_OK;
}

int torn_managed_fault(struct torn_server *srv, const char *display, enum torn_fault kind,
                       struct torn_err *err)
{
    if (kind != TORN_FAULT_SERVER_KILL && kind != TORN_FAULT_SERVER_RESTART)
        return torn_err_set(err, TORN_E_UNSUPPORTED, "target %s: no such fault here", display);
    if (!srv)
        return torn_err_set(err, TORN_E_UNSUPPORTED,
                            "target %s: server faults need a managed server (give no address)",
                            display);
    if (kind == TORN_FAULT_SERVER_KILL) {
        torn_server_kill(srv);
        return TORN_OK;
    }
    return torn_server_restart(srv, err);
}

int torn_dual_mode(const struct torn_target_cfg *cfg, int dflt_atomic, int *atomic_out,
                   struct torn_err *err)
{
    const char *v = torn_target_param(cfg, "dual");

    *atomic_out = dflt_atomic;
    if (!v)
        return TORN_OK;
    if (strcmp(v, "atomic") == 0)
        *atomic_out = 1;
    else if (strcmp(v, "separate") == 0)
        *atomic_out = 0;
    else
        return torn_err_set(err, TORN_E_CONFIG,
                            "target %s: dual=%s: expected 'separate' or 'atomic'", cfg->display,
                            v);
    return TORN_OK;
}

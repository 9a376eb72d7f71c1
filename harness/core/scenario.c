/* torn: scenario context helpers and scenario parameters. */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "history.h"
#include "pace.h"
#include "throttle.h"
#include "parse.h"
#include "proc/proc.h"
#include "target.h"

const cJSON *torn_param(const struct torn_ctx *ctx, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(ctx->params, name);
}

long long torn_param_int(const struct torn_ctx *ctx, const char *name)
{
    const cJSON *v = torn_param(ctx, name);

    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

double torn_param_num(const struct torn_ctx *ctx, const char *name)
{
    const cJSON *v = torn_param(ctx, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

const char *torn_param_str(const struct torn_ctx *ctx, const char *name)
{
    const cJSON *v = torn_param(ctx, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double torn_ctx_elapsed(const struct torn_ctx *ctx)
{
    return (double)(torn_now_ns() - ctx->t0_ns) / 1e9;
}

int torn_ctx_violated(const struct torn_ctx *ctx)
{
    if (!ctx->stop_at_violation || !ctx->result || !ctx->result->n_violations_total)
        return 0;
    ctx->result->stopped_at_violation = 1;
    return 1;
}

int torn_ctx_expired(const struct torn_ctx *ctx)
{
    return torn_stop_requested() || (ctx->deadline_ns && torn_now_ns() >= ctx->deadline_ns) ||
           torn_ctx_violated(ctx);
}

int torn_ctx_sleep(const struct torn_ctx *ctx, uint64_t ns)
{
    uint64_t now = torn_now_ns();

    if (ctx->deadline_ns && now + ns > ctx->deadline_ns) {
        if (now < ctx->deadline_ns)
            torn_sleep_ns(ctx->deadline_ns - now);
        return 1;
    }
    torn_sleep_ns(ns);
    return torn_stop_requested();
}

uint64_t torn_ctx_until(const struct torn_ctx *ctx, uint64_t ns)
{
    uint64_t until = torn_now_ns() + ns;

    return ctx->deadline_ns && until > ctx->deadline_ns ? ctx->deadline_ns : until;
}

void torn_ctx_op(struct torn_ctx *ctx, enum torn_op op, enum torn_outcome out, uint64_t ns)
{
    uint64_t waited = torn_throttle_waited_ns(); /* --max-rate: not the target's time */

    ns = ns > waited ? ns - waited : 0;
    torn_stats_record(ctx->stats, ctx->slot, op, out, ns);
    if (ctx->due_ns) {
        uint64_t end = torn_now_ns();

        torn_stats_record_due(ctx->stats, ctx->slot, op, ctx->due_ns, end - ns, end);
        ctx->due_ns = 0;
    }
}

void torn_ctx_pace_init(const struct torn_ctx *ctx, struct torn_pace *p, int n_workers,
                        int index)
{
    uint64_t end = ctx->deadline_ns;

    /* A tenth of the time limit is left for the last operations to finish. */
    if (end > ctx->t0_ns)
        end = ctx->t0_ns + (end - ctx->t0_ns) / 10 * 9;
    torn_pace_init(p, torn_param_num(ctx, "rate"), n_workers, index, end);
}

int torn_ctx_pace(struct torn_ctx *ctx, struct torn_pace *p)
{
    return torn_pace_next(p, &ctx->due_ns);
}

/* ---------------------------------------------------------- parameters */

int torn_spec_load(const char *path, cJSON **spec_out, const char **name_out, struct torn_err *err)
{
    char *buf, what[320];
    size_t len;
    cJSON *spec, *name, *params;
    int rc;

    *spec_out = NULL;
    *name_out = NULL;
    rc = torn_read_file(path, &buf, &len, err);
    if (rc == TORN_E_NOTFOUND)
        return torn_err_set(err, TORN_E_CONFIG, "scenario spec %s: no such file", path);
    if (rc)
        return TORN_E_CONFIG;
    snprintf(what, sizeof what, "scenario spec %s", path);
    rc = torn_parse_json(what, buf, len, &spec, err);
    free(buf);
    if (rc)
        return rc;
    name = cJSON_GetObjectItemCaseSensitive(spec, "scenario");
    params = cJSON_GetObjectItemCaseSensitive(spec, "params");
    if (!cJSON_IsObject(spec) || !cJSON_IsString(name)) {
        cJSON_Delete(spec);
        return torn_err_set(err, TORN_E_CONFIG,
                            "scenario spec %s: field \"scenario\" (string) is required", path);
    }
    if (params && !cJSON_IsObject(params)) {
        cJSON_Delete(spec);
        return torn_err_set(err, TORN_E_CONFIG,
                            "scenario spec %s: field \"params\" must be an object", path);
    }
    *spec_out = spec;
    *name_out = name->valuestring;
    return TORN_OK;
}

const struct torn_param_range *torn_param_range_find(const struct torn_scenario_ops *s,
                                                     const char *name)
{
    for (const struct torn_param_range *r = s->ranges; r && r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "null";
}

/* A number's range check; a number without a declared range is the
 * scenario author's mistake, refused so that tests show it at once. */
static int check_number(const struct torn_scenario_ops *s, const char *what, const char *name,
                        const cJSON *v, struct torn_err *err)
{
    const struct torn_param_range *r = torn_param_range_find(s, name);

    if (!r)
        return torn_err_set(err, TORN_E_CONFIG,
                            "scenario %s: numeric parameter \"%s\" has no declared range",
                            s->name, name);
    return torn_parse_json_num(what, v, r->integer, r->min, r->max, err);
}

static int no_param(const struct torn_scenario_ops *s, const char *where, const char *name,
                    struct torn_err *err)
{
    return torn_err_set(err, TORN_E_CONFIG, "%s: scenario %s has no parameter \"%s\"", where,
                        s->name, name);
}

/* Replace out[name] (which exists) by value after checking its type and
 * range; what names the value's origin in messages.  Takes value. */
static int override(const struct torn_scenario_ops *s, cJSON *out, const char *what,
                    const char *name, cJSON *value, struct torn_err *err)
{
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(out, name);
    int rc = TORN_OK;

    if (strcmp(json_kind(cur), json_kind(value)) != 0)
        rc = torn_err_set(err, TORN_E_CONFIG, "%s must be %s, not %s", what, json_kind(cur),
                          json_kind(value));
    else if (cJSON_IsNumber(value))
        rc = check_number(s, what, name, value, err);
    if (rc) {
        cJSON_Delete(value);
        return rc;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(out, name, value);
    return TORN_OK;
}

/* The value of a --set for parameter name, typed after its default: a
 * number by the strict parser within its range, a string as given (or a
 * JSON string literal), anything else as strict JSON text. */
static int set_value(const struct torn_scenario_ops *s, const cJSON *cur, const char *where,
                     const char *name, const char *text, cJSON **v_out, struct torn_err *err)
{
    const struct torn_param_range *r = torn_param_range_find(s, name);
    double d;
    int rc;

    *v_out = NULL;
    if (cJSON_IsNumber(cur) && !r)
        return check_number(s, where, name, cur, err);
    if (cJSON_IsNumber(cur)) {
        if ((rc = torn_parse_number(where, text, r->integer, r->min, r->max, &d, err)) != 0)
            return rc;
    } else if (cJSON_IsString(cur)) {
        if (text[0] == '"' && torn_parse_json(where, text, strlen(text), v_out, NULL) == 0 &&
            cJSON_IsString(*v_out))
            return TORN_OK;
        cJSON_Delete(*v_out);
        *v_out = cJSON_CreateString(text);
        return *v_out ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    } else {
        return torn_parse_json(where, text, strlen(text), v_out, err);
    }
    *v_out = cJSON_CreateNumber(d);
    return *v_out ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

static int merge_sets(const struct torn_scenario_ops *s, cJSON *p, const struct torn_kv *sets,
                      size_t n_sets, struct torn_err *err)
{
    for (size_t i = 0; i < n_sets; i++) {
        /* "?name" (from --workers, --duration) applies only where it exists. */
        int soft = sets[i].key[0] == '?', rc;
        const char *name = sets[i].key + soft;
        const cJSON *cur = cJSON_GetObjectItemCaseSensitive(p, name);
        cJSON *v;
        char where[160];

        if (soft && !cur)
            continue;
        if (soft)
            snprintf(where, sizeof where, "--%s",
                     strcmp(name, "duration_s") == 0 ? "duration" : name);
        else
            snprintf(where, sizeof where, "--set %s", name);
        if (!cur)
            return no_param(s, where, name, err);
        if ((rc = set_value(s, cur, where, name, sets[i].value, &v, err)) != 0 ||
            (rc = override(s, p, where, name, v, err)) != 0)
            return rc;
    }
    return TORN_OK;
}

int torn_params_merge(const struct torn_scenario_ops *s, const cJSON *spec_params,
                      const char *spec_path, const struct torn_kv *sets, size_t n_sets,
                      cJSON **out, struct torn_err *err)
{
    cJSON *p = cJSON_Parse(s->defaults ? s->defaults : "{}");
    const cJSON *f;
    int rc = TORN_OK;

    *out = NULL;
    if (s->version != TORN_SCENARIO_OPS_V1) {
        cJSON_Delete(p);
        return torn_err_set(err, TORN_E_CONFIG,
                            "scenario %s: plug-point version %d, this torn knows %d (rebuild "
                            "the scenario against harness/core/scenario.h)",
                            s->name, s->version, TORN_SCENARIO_OPS_V1);
    }
    if (!p)
        return torn_err_set(err, TORN_E_CONFIG, "scenario %s: built-in defaults are not JSON",
                            s->name);
    cJSON_ArrayForEach(f, p)   /* the declaration itself: caught by every test */
        if (cJSON_IsNumber(f) && (rc = check_number(s, s->name, f->string, f, err)) != 0)
            goto fail;
    cJSON_ArrayForEach(f, spec_params)
    {
        const char *where = spec_path ? spec_path : "spec";
        char what[320];

        snprintf(what, sizeof what, "%s: parameter \"%s\"", where, f->string);
        if (!cJSON_GetObjectItemCaseSensitive(p, f->string))
            rc = no_param(s, where, f->string, err);
        else
            rc = override(s, p, what, f->string, cJSON_Duplicate(f, 1), err);
        if (rc)
            goto fail;
    }
    if ((rc = merge_sets(s, p, sets, n_sets, err)) != 0)
        goto fail;
    *out = p;
    return TORN_OK;
fail:
    cJSON_Delete(p);
    return rc;
}

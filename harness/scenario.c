/* torn: scenario context helpers. */
#include "scenario.h"

#include <cjson/cJSON.h>

#include "history.h"
#include "proc.h"

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

void torn_ctx_op(struct torn_ctx *ctx, enum torn_op op, enum torn_outcome out, uint64_t ns)
{
    torn_stats_record(ctx->stats, ctx->slot, op, out, ns);
}

/* torn: helpers shared by the job scenarios (see jobs_common.h). */
#include "jobs.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "proc/proc.h"
#include "proxy/proxy.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

void torn_jobs_collect(struct torn_ctx *ctx, struct torn_child *ch, int n,
                       void (*absorb)(struct torn_ctx *ctx, const struct torn_msg *m, void *arg),
                       void (*tick)(struct torn_ctx *ctx, void *arg), void *arg)
{
    int open_n = 0;
    for (int i = 0; i < n; i++)
        open_n += ch[i].fd >= 0;
    while (open_n > 0) {
        for (int i = 0; i < n; i++) {
            struct torn_msg m;
            int r = 0;
            if (ch[i].fd < 0)
                continue;
            while ((r = torn_msg_recv(ch[i].fd, &m, 5 / n + 1, NULL)) == 1)
                absorb(ctx, &m, arg);
            if (r == 0 || r == TORN_E_IO) {
                torn_child_wait(&ch[i], ctx->timeout_ms, NULL, NULL);
                open_n--;
            }
        }
        if (tick)
            tick(ctx, arg);
        if (torn_stop_requested())
            for (int i = 0; i < n; i++)
                if (ch[i].fd >= 0) {
                    torn_child_kill(&ch[i]);
                    open_n--;
                }
    }
}

int torn_jobs_toxic(struct torn_ctx *ctx, const char *api, const char *proxy, const char *name,
                    const char *type, const char *attr, long long value, long long jitter, int on,
                    struct torn_err *err)
{
    if (!api || !*api)
        return 0;
    if (!on)
        return torn_toxiproxy_remove(api, proxy, name, ctx->timeout_ms, err);
    cJSON *tox = cJSON_CreateObject(), *a = cJSON_CreateObject();
    cJSON_AddStringToObject(tox, "name", name);
    cJSON_AddStringToObject(tox, "type", type);
    cJSON_AddStringToObject(tox, "stream", "downstream");
    cJSON_AddNumberToObject(a, attr, (double)value);
    if (jitter > 0)
        cJSON_AddNumberToObject(a, "jitter", (double)jitter);
    cJSON_AddItemToObject(tox, "attributes", a);
    int rc = torn_toxiproxy_add(api, proxy, tox, ctx->timeout_ms, err);
    cJSON_Delete(tox);
    return rc;
}

int torn_jobs_create(struct torn_ctx *ctx, struct torn_target *t, const cJSON *input,
                     char **id_out, struct torn_err *err)
{
    int rc = TORN_E_IO;
    for (int attempt = 0; rc && attempt < 5 && !torn_stop_requested(); attempt++) {
        torn_err_clear(err);
        uint64_t t0 = torn_now_ns();
        rc = torn_target_create(t, input, id_out, err);
        torn_ctx_op(ctx, TORN_OP_CREATE, rc ? TORN_OUT_FAIL : TORN_OUT_OK, torn_now_ns() - t0);
        /* Not on a timeout: a hung service would cost 5 timeouts, and a
         * create that timed out may have happened (indefinite). */
        if (rc != TORN_E_REMOTE && rc != TORN_E_IO)
            break;
        if (rc)
            torn_sleep_ns(50 * 1000000ULL);
    }
    return rc;
}

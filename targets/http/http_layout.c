/* torn HTTP target: the store-layout invariant (the spec's "layout").  Seed
 * 001: after a write only {id}.json and {id}.json.bak may remain, a .tmp
 * only while a write is under way.  For a service torn starts, after each
 * scenario (ops->observe) every regular file in its data directory must
 * match files.main or files.backup ({id} standing for any name) or one of
 * layout.also; the check itself (a stray is one that stays unchanged over
 * settle_ms) is core/layout.h's. */
#include "http_int.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/layout.h"
#include "core/target.h"
#include "servers/server.h"

static int lyfail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

int http_spec_layout(const cJSON *spec, const char *file, struct http_spec *sp,
                     struct torn_err *err)
{
    const cJSON *ly = cJSON_GetObjectItemCaseSensitive(spec, "layout"), *e;
    if (!ly)
        return 0;
    if (!cJSON_IsObject(ly))
        return lyfail(err, file, "layout", "must be an object (also, settle_ms)");
    if (!sp->svc_command || !sp->file_main)
        return lyfail(err, file, "layout",
                      "needs a \"service\" torn starts and its \"files\" (main, backup)");
    for (const cJSON *k = ly->child; k; k = k->next)
        if (strcmp(k->string, "also") != 0 && strcmp(k->string, "settle_ms") != 0) {
            char field[100];
            snprintf(field, sizeof field, "layout.%.60s", k->string);
            return lyfail(err, file, field, "unknown key (also, settle_ms)");
        }
    const cJSON *also = cJSON_GetObjectItemCaseSensitive(ly, "also");
    if (also && (!cJSON_IsArray(also) || cJSON_GetArraySize(also) > HTTP_LAYOUT_ALSO))
        return lyfail(err, file, "layout.also",
                      "must be an array of at most 16 \"{data_dir}/...\" patterns");
    cJSON_ArrayForEach(e, also) if (!cJSON_IsString(e) ||
                                    strncmp(e->valuestring, "{data_dir}/", 11) != 0 ||
                                    strstr(e->valuestring, "..")) return lyfail(
        err, file, "layout.also", "every entry must be a glob \"{data_dir}/...\" without ..");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ly, "settle_ms");
    if (st && (!cJSON_IsNumber(st) || st->valuedouble < 0 || st->valuedouble > 60000))
        return lyfail(err, file, "layout.settle_ms", "must be a number of ms in 0..60000");
    sp->layout = ly;
    sp->layout_settle_ms = st ? st->valueint : 300;
    return 0;
}

/* A files.* template as a glob relative to the data directory: {id} -> *. */
static void glob_of(const char *tmpl, char *out, size_t len)
{
    const char *at = strstr(tmpl, "{id}");
    if (at)
        snprintf(out, len, "%.*s*%s", (int)(at - tmpl - 11), tmpl + 11, at + 4);
    else
        snprintf(out, len, "%s", tmpl + 11);
}

void http_layout_observe(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    char g[2 + HTTP_LAYOUT_ALSO][300];
    const char *globs[2 + HTTP_LAYOUT_ALSO];
    size_t n = 0;
    const cJSON *e;
    if (!p->sp.layout || !p->srv || !p->srv->data_dir)
        return;
    glob_of(p->sp.file_main, g[n], sizeof g[n]);
    n++;
    glob_of(p->sp.file_backup ? p->sp.file_backup : p->sp.file_main, g[n], sizeof g[n]);
    n++;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p->sp.layout, "also"))
    {
        if (n < 2 + HTTP_LAYOUT_ALSO)
            glob_of(e->valuestring, g[n++], sizeof g[0]);
    }
    for (size_t i = 0; i < n; i++)
        globs[i] = g[i];
    torn_layout_check(t->cfg.log_dir, p->srv->data_dir, globs, n, p->sp.layout_settle_ms,
                      &p->layout_memo, "the service's data directory",
                      "files.main, files.backup, layout.also");
}

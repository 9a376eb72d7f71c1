/* torn HTTP target: a service torn starts itself (the spec's "service"),
 * the files it keeps a record in ("files", for corrupt-read), and its
 * dual-write endpoints ("dual_write", "dual_read").  The process itself is
 * a managed server of kind TORN_SERVER_COMMAND (harness/servers/server.h): same
 * start, readiness wait, crash, restart and stop as torn's own Redis and
 * Postgres, so crash-midwrite, power-loss and io-errors crash it the way
 * they crash those (ops->fault). */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http_int.h"
#include "core/recop.h"
#include "servers/server.h"
#include "core/target.h"
#include "core/util.h"

#define MAX_SERVICE_ARGS 64

static int fail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

/* A positive number of milliseconds at o.name, or dflt when absent. */
static int spec_ms(const cJSON *o, const char *file, const char *field, const char *name,
                   int dflt, int *out, struct torn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *out = dflt;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < 1 || v->valuedouble > 600000)
        return fail(err, file, field, "must be a whole number of milliseconds, 1..600000");
    *out = (int)v->valuedouble;
    return 0;
}

static int spec_command(const cJSON *svc, const char *file, struct http_spec *sp,
                        struct torn_err *err)
{
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(svc, "command"), *a;
    int n = 0;
    if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) == 0)
        return fail(err, file, "service.command",
                    "must be a non-empty array of strings (argv, no shell), e.g. "
                    "[\"python3\", \"app.py\", \"--port\", \"{port}\"]");
    cJSON_ArrayForEach(a, cmd)
    {
        if (!cJSON_IsString(a) || !*a->valuestring)
            return fail(err, file, "service.command", "every argument must be a non-empty string");
        n++;
    }
    if (n > MAX_SERVICE_ARGS)
        return fail(err, file, "service.command", "more than 64 arguments");
    sp->svc_command = cmd;
    return 0;
}

static int spec_ready(const cJSON *svc, const char *file, struct http_spec *sp,
                      struct torn_err *err)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(svc, "ready");
    sp->svc_ready_path = "/";
    sp->svc_ready_ms = 0;
    if (cJSON_IsString(r))
        sp->svc_ready_path = r->valuestring;
    else if (cJSON_IsObject(r)) {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(r, "path");
        if (path && !cJSON_IsString(path))
            return fail(err, file, "service.ready.path", "must be a string");
        if (path)
            sp->svc_ready_path = path->valuestring;
        int rc = spec_ms(r, file, "service.ready.timeout_ms", "timeout_ms", 0, &sp->svc_ready_ms,
                         err);
        if (rc)
            return rc;
    } else if (r) {
        return fail(err, file, "service.ready", "must be a path or {\"path\", \"timeout_ms\"}");
    }
    if (sp->svc_ready_path[0] != '/' || strpbrk(sp->svc_ready_path, " \r\n"))
        return fail(err, file, "service.ready.path", "must be a path starting with /");
    return 0;
}

/* A file template: "{data_dir}/..." naming the record by {id}, no "..". */
static int spec_file(const cJSON *files, const char *file, const char *name, int required,
                     const char **out, struct torn_err *err)
{
    char field[32];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(files, name);
    snprintf(field, sizeof field, "files.%s", name);
    *out = NULL;
    if (!v)
        return required ? fail(err, file, field, "missing") : 0;
    if (!cJSON_IsString(v) || strncmp(v->valuestring, "{data_dir}/", 11) != 0 ||
        !strstr(v->valuestring, "{id}") || strstr(v->valuestring, "/../") ||
        strstr(v->valuestring, "/./"))
        return fail(err, file, field,
                    "must be a path template \"{data_dir}/...{id}...\" inside the service's data "
                    "directory (no . or .. components)");
    *out = v->valuestring;
    return 0;
}

/* dual_read's pointers to structure A, B and the counters. */
static int spec_dual(const cJSON *spec, const char *file, struct http_spec *sp,
                     struct torn_err *err)
{
    static const char *const names[4] = {"a", "b", "count", "total"};
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(spec, "dual_read");
    if (sp->dual_write.present != sp->dual_read.present)
        return fail(err, file, sp->dual_write.present ? "dual_read" : "dual_write",
                    "dual_write and dual_read go together");
    for (int i = 0; sp->dual_read.present && i < 4; i++) {
        char field[32];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(dr, names[i]);
        snprintf(field, sizeof field, "dual_read.%s", names[i]);
        sp->dual_ptr[i] = NULL;
        if (!v && i < 2)
            return fail(err, file, field, "missing (JSON pointer of an object member -> amount)");
        if (v && (!cJSON_IsString(v) || !torn_json_pointer_valid(v->valuestring)))
            return fail(err, file, field, "not a JSON pointer (\"\" or \"/a/b\", RFC 6901)");
        if (v)
            sp->dual_ptr[i] = v->valuestring;
    }
    return 0;
}

int http_spec_service(const cJSON *spec, const char *file, struct http_spec *sp,
                      struct torn_err *err)
{
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(spec, "service");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(spec, "files");
    int rc = 0;
    if (svc && !cJSON_IsObject(svc))
        return fail(err, file, "service", "must be an object with a \"command\"");
    if (svc && !(rc = spec_command(svc, file, sp, err)) && !(rc = spec_ready(svc, file, sp, err)))
        rc = spec_ms(svc, file, "service.stop_timeout_ms", "stop_timeout_ms", 5000,
                     &sp->svc_stop_ms, err);
    if (!rc && files && !svc)
        rc = fail(err, file, "files",
                  "needs a \"service\": torn damages files only in the data directory it gave "
                  "the service it started");
    if (!rc && files && !cJSON_IsObject(files))
        rc = fail(err, file, "files", "must be an object {\"main\": ..., \"backup\": ...}");
    if (!rc && files)
        rc = spec_file(files, file, "main", 1, &sp->file_main, err);
    if (!rc && files)
        rc = spec_file(files, file, "backup", 0, &sp->file_backup, err);
    if (!rc)
        rc = spec_dual(spec, file, sp, err);
    return rc;
}

/* ---- the service process ---- */

/* Readiness: any HTTP answer below 500 on the ready path. */
static int service_ready(const struct torn_server *srv, void *arg)
{
    const struct http_priv *p = arg;
    char url[300];
    long code = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv->port, p->sp.svc_ready_path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_discard);
    int ok = curl_easy_perform(c) == CURLE_OK &&
             curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0 &&
             code < 500;
    curl_easy_cleanup(c);
    return ok;
}

int http_service_start(struct torn_target *t, struct torn_err *err)
{
    static unsigned n_logs;
    struct http_priv *p = t->priv;
    const char *argv[MAX_SERVICE_ARGS + 1];
    const cJSON *a;
    size_t n = 0;
    cJSON_ArrayForEach(a, p->sp.svc_command) argv[n++] = a->valuestring;
    argv[n] = NULL;
    char *log = torn_asprintf("%s/service-%u.log", t->cfg.log_dir ? t->cfg.log_dir : t->cfg.run_dir,
                              ++n_logs);
    struct torn_server_command cmd = {
        .argv = argv, .log_path = log, .ready = service_ready, .ready_arg = p,
        .stop_timeout_ms = p->sp.svc_stop_ms};
    int timeout = p->sp.svc_ready_ms ? p->sp.svc_ready_ms
                  : t->cfg.timeout_ms > 10000 ? t->cfg.timeout_ms : 10000;
    int rc = log ? torn_server_start_command(t->cfg.run_dir, &cmd, timeout, &p->srv, err)
                 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    free(log);
    if (rc == 0)
        snprintf(p->base, sizeof p->base, "http://127.0.0.1:%d", p->srv->port);
    return rc;
}

void http_service_stop(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    torn_server_stop(p->srv);
    p->srv = NULL;
}

int http_service_fault(struct torn_target *t, enum torn_fault kind, const cJSON *args,
                       struct torn_err *err)
{
    struct http_priv *p = t->priv;
    if (kind == TORN_FAULT_SERVER_KILL && p->srv &&
        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(args, "reap"))) {
        torn_server_kill_nowait(p->srv);
        return TORN_OK;
    }
    return torn_managed_fault(p->srv, t->cfg.display, kind, err);
}

/* ---- files: corrupt-read on the service's own data ---- */

/* tmpl ("{data_dir}/...{id}...") with {id} substituted, relative to the
 * data directory; malloc'd or NULL. */
static char *file_path(const char *tmpl, const char *id)
{
    const char *at = strstr(tmpl, "{id}");
    return torn_asprintf("%.*s%s%s", (int)(at - tmpl - 11), tmpl + 11, id, at + 4);
}

int http_service_corrupt(struct torn_target *t, const char *id, enum torn_corruption how,
                         struct torn_err *err)
{
    struct http_priv *p = t->priv;
    if (!p->srv || !p->sp.file_main)
        return torn_err_set(err, TORN_E_UNSUPPORTED,
                            "target %s: corrupt needs a spec with \"service\" and \"files\"",
                            t->cfg.display);
    if (!*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return torn_err_set(err, TORN_E_CONFIG, "record id '%s' cannot name a file", id);
    char *main_p = file_path(p->sp.file_main, id);
    char *bak = p->sp.file_backup ? file_path(p->sp.file_backup, id) : NULL;
    const char *baks[1] = {bak};
    struct torn_files f = {.main = main_p, .backups = baks, .n_backups = bak ? 1 : 0};
    int rc = !main_p || (p->sp.file_backup && !bak)
                 ? torn_err_set(err, TORN_E_NOMEM, "out of memory")
                 : torn_corrupt_files(p->srv->data_dir, &f, how, t->cfg.seed, err);
    free(main_p);
    free(bak);
    return rc;
}

unsigned http_service_caps(const struct http_spec *sp)
{
    unsigned c = TORN_CAP_READ;
    c |= sp->update.present ? TORN_CAP_UPDATE : 0;
    c |= sp->reset.present ? TORN_CAP_RESET : 0;
    c |= sp->cas.present ? TORN_CAP_CAS : 0;
    c |= sp->transition.present ? TORN_CAP_TRANSITION : 0;
    c |= sp->create.present && sp->events_url ? TORN_CAP_JOBS : 0;
    c |= sp->svc_command ? TORN_CAP_FAULT | TORN_CAP_SERVICE | TORN_CAP_FS_DATA : 0;
    c |= sp->svc_command && sp->file_main ? TORN_CAP_CORRUPT : 0;
    c |= sp->dual_write.present ? TORN_CAP_DUAL : 0;
    c |= sp->legacy.present ? TORN_CAP_PLANT : 0;
    return c;
}

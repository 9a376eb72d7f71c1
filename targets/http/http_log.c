/* torn HTTP target: log criteria (the spec's "log").  The seeds find their
 * bugs in logs as often as in data: seed 003 greps for "CONSISTENCY
 * MISMATCH", seed 001's symptom is "JSONDecodeError" in the service's log,
 * and seed 000's fix logs a structured line {research_id, version,
 * size_bytes} on every final persist.  torn reads the output it sees (the
 * stdout and stderr of a service it started, or a log file the spec names)
 * after each scenario, once the work is quiet (ops->observe), and posts as
 * findings (core/finding.h):
 *   log-forbidden  a line containing one of "never" (quoted);
 *   log-finalize   a job torn saw complete or fail (its terminal event)
 *                  without a JSON line whose "id" pointer is the job's id
 *                  and whose "version" pointer is an integer >= 1.
 * Workers note the jobs whose terminal event they received in
 * {log_dir}/http-terminal.ids; the runner's process reads both files from
 * where the previous scenario's observation stopped. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/target.h"
#include "core/util.h"
#include "servers/server.h"

#define TERMINAL_IDS "http-terminal.ids"
#define LOG_GRACE_MS 500   /* a finalize line may follow the event it announces */

static int lfail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

static int spec_never(const cJSON *lg, const char *file, struct http_spec *sp,
                      struct torn_err *err)
{
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(lg, "never"), *e;
    sp->log_never = nv;
    if (nv && (!cJSON_IsArray(nv) || cJSON_GetArraySize(nv) > HTTP_LOG_NEVER))
        return lfail(err, file, "log.never",
                     "must be an array of at most 32 strings (fixed text)");
    cJSON_ArrayForEach(e, nv) if (!cJSON_IsString(e) || !*e->valuestring) return lfail(
        err, file, "log.never", "every entry must be a non-empty string");
    return 0;
}

static int spec_finalize(const cJSON *lg, const char *file, struct http_spec *sp,
                         struct torn_err *err)
{
    const cJSON *pf = cJSON_GetObjectItemCaseSensitive(lg, "per_finalization");
    if (!pf)
        return 0;
    if (!cJSON_IsObject(pf))
        return lfail(err, file, "log.per_finalization",
                     "must be an object {\"id\": pointer, \"version\": pointer}");
    static const char *const keys[2] = {"id", "version"};
    for (int i = 0; i < 2; i++) {
        char field[64];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(pf, keys[i]);
        snprintf(field, sizeof field, "log.per_finalization.%s", keys[i]);
        if (!cJSON_IsString(v) || !*v->valuestring || !torn_json_pointer_valid(v->valuestring))
            return lfail(err, file, field, "missing, or not a JSON pointer (\"/a/b\")");
        sp->log_final_ptr[i] = v->valuestring;
    }
    for (const cJSON *k = pf->child; k; k = k->next)
        if (strcmp(k->string, "id") != 0 && strcmp(k->string, "version") != 0) {
            char field[120];
            snprintf(field, sizeof field, "log.per_finalization.%.60s", k->string);
            return lfail(err, file, field, "unknown key (id, version)");
        }
    if (!sp->events_url)
        return lfail(err, file, "log.per_finalization",
                     "needs \"events\": a finalization is a terminal event torn received");
    return 0;
}

int http_spec_log(const cJSON *spec, const char *file, struct http_spec *sp,
                  struct torn_err *err)
{
    const cJSON *lg = cJSON_GetObjectItemCaseSensitive(spec, "log");
    if (!lg)
        return 0;
    if (!cJSON_IsObject(lg))
        return lfail(err, file, "log", "must be an object (path, never, per_finalization)");
    for (const cJSON *k = lg->child; k; k = k->next)
        if (strcmp(k->string, "path") && strcmp(k->string, "never") &&
            strcmp(k->string, "per_finalization")) {
            char field[120];
            snprintf(field, sizeof field, "log.%.60s", k->string);
            return lfail(err, file, field, "unknown key (path, never, per_finalization)");
        }
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(lg, "path");
    if (path && (!cJSON_IsString(path) ||
                 (strncmp(path->valuestring, "{data_dir}/", 11) != 0 && path->valuestring[0] != '/')))
        return lfail(err, file, "log.path",
                     "must be an absolute path or start with {data_dir}/");
    if (path && strncmp(path->valuestring, "{data_dir}/", 11) == 0 && !sp->svc_command)
        return lfail(err, file, "log.path", "{data_dir} needs a \"service\" torn starts");
    if (!path && !sp->svc_command)
        return lfail(err, file, "log",
                     "torn sees no output of a service it did not start: give log.path");
    sp->log_path = path ? path->valuestring : NULL;
    sp->log_on = 1;
    int rc = spec_never(lg, file, sp, err);
    return rc ? rc : spec_finalize(lg, file, sp, err);
}

/* ---- workers: which jobs ended ---- */

void http_log_subscribed(struct http_priv *p, const struct torn_sub *sub, const char *id)
{
    if (!p->sp.log_final_ptr[0] || !sub || !id)
        return;
    size_t i = p->n_subs++ % HTTP_LOG_SUBS;
    p->subs[i].sub = sub;
    snprintf(p->subs[i].id, sizeof p->subs[i].id, "%s", id);
}

void http_log_event(struct torn_target *t, const struct torn_sub *sub, const cJSON *ev)
{
    struct http_priv *p = t->priv;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    if (!p->sp.log_final_ptr[0] || !cJSON_IsString(type) ||
        (strcmp(type->valuestring, "completed") != 0 && strcmp(type->valuestring, "failed") != 0))
        return;
    for (size_t i = 0; i < HTTP_LOG_SUBS; i++)
        if (p->subs[i].sub == sub) {
            char line[80];
            snprintf(line, sizeof line, "%s\n", p->subs[i].id);
            torn_finding_note(t->cfg.log_dir, TERMINAL_IDS, line);
            p->subs[i].sub = NULL;   /* one finalization per job */
            return;
        }
}

/* ---- the runner's process: reading the log ---- */

/* The log file to read: the spec's path, or the started service's log. */
static char *log_file(const struct http_priv *p)
{
    if (p->sp.log_path && strncmp(p->sp.log_path, "{data_dir}/", 11) == 0)
        return p->srv ? torn_asprintf("%s/%s", p->srv->data_dir, p->sp.log_path + 11) : NULL;
    if (p->sp.log_path)
        return torn_strdup(p->sp.log_path);
    return p->srv && p->srv->log_path ? torn_strdup(p->srv->log_path) : NULL;
}

/* A JSON line with the finalization's id and an integer version >= 1:
 * seen[id] = version. */
static void note_final(const struct http_spec *sp, const char *line, cJSON *seen)
{
    const char *brace = strchr(line, '{');
    cJSON *o = brace ? cJSON_Parse(brace) : NULL;
    const cJSON *id = torn_json_pointer(o, sp->log_final_ptr[0]);
    const cJSON *v = torn_json_pointer(o, sp->log_final_ptr[1]);
    char num[32];
    if (cJSON_IsNumber(id))
        snprintf(num, sizeof num, "%.0f", id->valuedouble);
    const char *ids = cJSON_IsString(id) ? id->valuestring : cJSON_IsNumber(id) ? num : NULL;
    if (ids && cJSON_IsNumber(v) && v->valuedouble >= 1 &&
        v->valuedouble == (double)(long long)v->valuedouble &&
        !cJSON_GetObjectItemCaseSensitive(seen, ids))
        cJSON_AddNumberToObject(seen, ids, v->valuedouble);
    cJSON_Delete(o);
}

/* torn_log_scan's per-line callback: finalize lines into seen. */
struct final_scan {
    const struct http_spec *sp;
    cJSON *seen;
};

static void on_line(const char *line, void *arg)
{
    struct final_scan *fs = arg;
    if (fs->sp->log_final_ptr[0])
        note_final(fs->sp, line, fs->seen);
}

/* Scan path from *off: forbidden lines posted, finalize lines into seen. */
static void scan_log(struct torn_target *t, const char *path, long long *off, cJSON *seen)
{
    struct http_priv *p = t->priv;
    const char *never[HTTP_LOG_NEVER];
    size_t n = 0;
    const cJSON *e;
    struct final_scan fs = {&p->sp, seen};
    cJSON_ArrayForEach(e, p->sp.log_never) if (n < HTTP_LOG_NEVER) never[n++] = e->valuestring;
    torn_log_scan(t->cfg.log_dir, path, off, never, n, on_line, &fs);
}

/* Ids of jobs that ended since the last observation, as a cJSON array. */
static cJSON *ended_jobs(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    char *path = torn_asprintf("%s/%s", t->cfg.log_dir, TERMINAL_IDS);
    cJSON *ids = cJSON_CreateArray();
    FILE *f = path ? fopen(path, "re") : NULL;
    char line[128];
    if (f && fseeko(f, (off_t)p->ids_off, SEEK_SET) == 0)
        while (fgets(line, sizeof line, f) && strchr(line, '\n')) {
            p->ids_off += (long long)strlen(line);
            line[strcspn(line, "\n")] = 0;
            cJSON_AddItemToArray(ids, cJSON_CreateString(line));
        }
    if (f)
        fclose(f);
    free(path);
    return ids;
}

static int all_seen(const cJSON *ids, const cJSON *seen)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, ids) if (!cJSON_GetObjectItemCaseSensitive(seen, e->valuestring)) return 0;
    return 1;
}

void http_log_observe(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    char *path = p->sp.log_on ? log_file(p) : NULL;
    cJSON *seen = cJSON_CreateObject(), *ids = path ? ended_jobs(t) : NULL;
    const cJSON *e;
    if (!path || !seen || !ids)
        goto out;
    scan_log(t, path, &p->log_off, seen);
    for (int waited = 0; waited < LOG_GRACE_MS && !all_seen(ids, seen); waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        scan_log(t, path, &p->log_off, seen);
    }
    cJSON_ArrayForEach(e, ids) if (!cJSON_GetObjectItemCaseSensitive(seen, e->valuestring))
        torn_finding_post(t->cfg.log_dir, "log-finalize", e->valuestring,
                          "job %s ended (torn received its terminal event) but %s has no JSON "
                          "line with %s == \"%s\" and an integer %s >= 1 (within %d ms)",
                          e->valuestring, path, p->sp.log_final_ptr[0], e->valuestring,
                          p->sp.log_final_ptr[1], LOG_GRACE_MS);
out:
    cJSON_Delete(ids);
    cJSON_Delete(seen);
    free(path);
}

/* torn HTTP target: staging clean-up.  A pre-deploy run against a shared
 * service must not leave its test records behind: every record torn
 * creates there (a job through the spec's "create", a record through
 * "reset") is noted by id in {log_dir}/http-created-<hash of the target>.ids
 * by the process that created it (one line, one write(2) with O_APPEND, so
 * workers may note concurrently).  At teardown the runner's process sends
 * the spec's "delete" endpoint once for each id (a 2xx or 404 answer means
 * gone) under the run-wide rate cap (throttle.h), and prints one line:
 *   torn: http target http://...: deleted 16 of 16 records torn created (DELETE /research/{id})
 * naming any it could not delete; a spec without "delete" gets
 *   torn: http target http://...: 16 records torn created are left (the spec has no "delete" endpoint): a, b, ...
 * Ids come from the service, so they are neutralised before printing.  A
 * service torn started itself ("service" in the spec) is skipped: its data
 * directory is torn's own and goes with the run. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/target.h"
#include "core/text.h"
#include "core/util.h"

#define MAX_ID 200   /* longer ids are not noted (no endpoint takes them) */

/* The notes file of this target: one per target URI in a run. */
static void notes_name(const struct torn_target *t, char *buf, size_t len)
{
    const char *d = t->cfg.display ? t->cfg.display : "http";
    snprintf(buf, len, "http-created-%016llx.ids",
             (unsigned long long)torn_fnv1a(TORN_FNV_INIT, d, strlen(d)));
}

void http_created_note(struct torn_target *t, const char *id)
{
    char name[64], line[MAX_ID + 2];

    if (!t->cfg.log_dir || !id || !*id || strlen(id) > MAX_ID || strchr(id, '\n'))
        return;
    notes_name(t, name, sizeof name);
    snprintf(line, sizeof line, "%s\n", id);
    torn_finding_note(t->cfg.log_dir, name, line);
}

/* The noted ids, each once, in the order first noted: an object used as a
 * set.  NULL when none (or no file). */
static cJSON *noted_ids(const struct torn_target *t)
{
    char name[64], line[MAX_ID + 2];
    cJSON *ids = NULL;
    FILE *f;

    notes_name(t, name, sizeof name);
    char *path = t->cfg.log_dir ? torn_asprintf("%s/%s", t->cfg.log_dir, name) : NULL;
    f = path ? fopen(path, "re") : NULL;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line || (!ids && !(ids = cJSON_CreateObject())))
            continue;
        if (!cJSON_GetObjectItemCaseSensitive(ids, line))
            cJSON_AddTrueToObject(ids, line);
    }
    if (f)
        fclose(f);
    free(path);
    return ids;
}

/* "a, b, c" of the ids (or of those whose value is false), on f. */
static void put_ids(FILE *f, const cJSON *ids, int only_left)
{
    const char *sep = "";

    for (const cJSON *e = ids->child; e; e = e->next)
        if (!only_left || cJSON_IsFalse(e)) {
            fputs(sep, f);
            torn_fput_safe(f, e->string);
            sep = ", ";
        }
}

void http_cleanup(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    cJSON *ids = noted_ids(t);
    int n = cJSON_GetArraySize(ids), gone = 0;
    struct torn_err err;

    if (p->srv || !ids || !n) { /* a service torn started: its data goes with the run */
        cJSON_Delete(ids);
        return;
    }
    fputs("torn: http target ", stderr);
    torn_fput_safe(stderr, t->cfg.display ? t->cfg.display : "http");
    if (!p->sp.del.present) {
        fprintf(stderr, ": %d record%s torn created %s left (the spec has no \"delete\" "
                        "endpoint): ", n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
        put_ids(stderr, ids, 0);
        fputc('\n', stderr);
        cJSON_Delete(ids);
        return;
    }
    torn_err_clear(&err);
    for (cJSON *e = ids->child; e; e = e->next) {
        int rc = http_delete_one(t, e->string, &err);
        gone += rc == 0;
        if (rc)
            e->type = cJSON_False; /* left */
    }
    fprintf(stderr, ": deleted %d of %d record%s torn created (%s ", gone, n, n == 1 ? "" : "s",
            p->sp.del.method);
    torn_fput_safe(stderr, p->sp.del.path);
    fputc(')', stderr);
    if (gone < n) {
        fputs("; left: ", stderr);
        put_ids(stderr, ids, 1);
        fputs(" (last error: ", stderr);
        torn_fput_safe(stderr, err.msg);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
    cJSON_Delete(ids);
}

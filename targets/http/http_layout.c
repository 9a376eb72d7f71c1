/* torn HTTP target: the store-layout invariant (the spec's "layout").  Seed
 * 001: after a write only {id}.json and {id}.json.bak may remain, a .tmp
 * only while a write is under way.  For a service torn starts, after each
 * scenario (ops->observe) every regular file in its data directory must
 * match files.main or files.backup ({id} standing for any name) or one of
 * layout.also; a file that matches none and stays unchanged (same inode,
 * size and modification time) over settle_ms is a stray left behind: a
 * finding "store-layout" naming it.  A file that changes or goes meanwhile
 * belongs to a write still under way and is not judged. */
#include "http_int.h"

#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/target.h"
#include "servers/server.h"

#define LAYOUT_MAX_STRAYS 64

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
    if (also && !cJSON_IsArray(also))
        return lyfail(err, file, "layout.also", "must be an array of \"{data_dir}/...\" patterns");
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

static int declared(const struct http_spec *sp, const char *rel)
{
    char g[300];
    const cJSON *e;
    glob_of(sp->file_main, g, sizeof g);
    if (fnmatch(g, rel, FNM_PATHNAME) == 0)
        return 1;
    glob_of(sp->file_backup ? sp->file_backup : sp->file_main, g, sizeof g);
    if (fnmatch(g, rel, FNM_PATHNAME) == 0)
        return 1;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sp->layout, "also"))
    {
        glob_of(e->valuestring, g, sizeof g);
        if (fnmatch(g, rel, FNM_PATHNAME) == 0)
            return 1;
    }
    return 0;
}

struct stray {
    char rel[256];
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* nftw has no user argument: the walk in progress (observe runs in the
 * runner's one thread). */
static struct {
    const struct http_spec *sp;
    size_t root_len;
    struct stray *out;
    size_t n;
} walk;

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    const char *rel = path + walk.root_len + (path[walk.root_len] == '/');
    if (flag != FTW_F || !S_ISREG(st->st_mode) || declared(walk.sp, rel) ||
        walk.n == LAYOUT_MAX_STRAYS)
        return 0;
    struct stray *s = &walk.out[walk.n++];
    snprintf(s->rel, sizeof s->rel, "%s", rel);
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->mtime = st->st_mtim;
    return 0;
}

static size_t strays(const struct http_spec *sp, const char *dir, struct stray *out)
{
    walk.sp = sp;
    walk.root_len = strlen(dir);
    walk.out = out;
    walk.n = 0;
    nftw(dir, visit, 16, FTW_PHYS);
    return walk.n;
}

/* Was s reported after an earlier scenario (same inode, unchanged)?  If
 * not, remember it: a leftover counts against the scenario that left it. */
static int reported(struct http_priv *p, const struct stray *s)
{
    for (size_t i = 0; i < p->n_layout_seen && i < HTTP_LAYOUT_SEEN; i++)
        if (p->layout_seen[i].ino == (unsigned long long)s->ino &&
            p->layout_seen[i].mtime_ns ==
                (long long)s->mtime.tv_sec * 1000000000LL + s->mtime.tv_nsec)
            return 1;
    size_t k = p->n_layout_seen++ % HTTP_LAYOUT_SEEN;
    p->layout_seen[k].ino = (unsigned long long)s->ino;
    p->layout_seen[k].mtime_ns = (long long)s->mtime.tv_sec * 1000000000LL + s->mtime.tv_nsec;
    return 0;
}

void http_layout_observe(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    struct stray a[LAYOUT_MAX_STRAYS], b[LAYOUT_MAX_STRAYS];
    if (!p->sp.layout || !p->srv || !p->srv->data_dir)
        return;
    size_t na = strays(&p->sp, p->srv->data_dir, a);
    if (na == 0)
        return;
    struct timespec ts = {p->sp.layout_settle_ms / 1000,
                          (long)(p->sp.layout_settle_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    size_t nb = strays(&p->sp, p->srv->data_dir, b);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(a[i].rel, b[j].rel) == 0 && a[i].ino == b[j].ino &&
                a[i].size == b[j].size && a[i].mtime.tv_sec == b[j].mtime.tv_sec &&
                a[i].mtime.tv_nsec == b[j].mtime.tv_nsec && !reported(p, &a[i]))
                torn_finding_post(t->cfg.log_dir, "store-layout", NULL,
                                  "%s (%lld bytes) in the service's data directory matches no "
                                  "declared file (files.main, files.backup, layout.also) and "
                                  "stayed unchanged for %d ms after the scenario: left behind",
                                  a[i].rel, (long long)a[i].size, p->sp.layout_settle_ms);
}

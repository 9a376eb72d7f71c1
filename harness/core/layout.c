/* torn: the store-layout invariant (layout.h). */
#include "layout.h"

#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "finding.h"

#define LAYOUT_MAX_STRAYS 64

struct stray {
    char rel[256];
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* nftw has no user argument: the walk in progress. */
static struct {
    const char *const *globs;
    size_t n_globs;
    size_t root_len;
    struct stray *out;
    size_t n;
} walk;

static int declared(const char *rel)
{
    for (size_t i = 0; i < walk.n_globs; i++)
        if (fnmatch(walk.globs[i], rel, FNM_PATHNAME) == 0)
            return 1;
    return 0;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    const char *rel = path + walk.root_len + (path[walk.root_len] == '/');
    if (flag != FTW_F || !S_ISREG(st->st_mode) || declared(rel) || walk.n == LAYOUT_MAX_STRAYS)
        return 0;
    struct stray *s = &walk.out[walk.n++];
    snprintf(s->rel, sizeof s->rel, "%s", rel);
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->mtime = st->st_mtim;
    return 0;
}

static size_t strays(const char *dir, const char *const *globs, size_t n_globs, struct stray *out)
{
    walk.globs = globs;
    walk.n_globs = n_globs;
    walk.root_len = strlen(dir);
    walk.out = out;
    walk.n = 0;
    nftw(dir, visit, 16, FTW_PHYS);
    return walk.n;
}

/* Was s reported after an earlier scenario (same inode, unchanged)?  If
 * not, remember it. */
static int reported(struct torn_layout_memo *m, const struct stray *s)
{
    long long mt = (long long)s->mtime.tv_sec * 1000000000LL + s->mtime.tv_nsec;
    for (size_t i = 0; i < m->n && i < TORN_LAYOUT_SEEN; i++)
        if (m->seen[i].ino == (unsigned long long)s->ino && m->seen[i].mtime_ns == mt)
            return 1;
    size_t k = m->n++ % TORN_LAYOUT_SEEN;
    m->seen[k].ino = (unsigned long long)s->ino;
    m->seen[k].mtime_ns = mt;
    return 0;
}

static int same(const struct stray *a, const struct stray *b)
{
    return strcmp(a->rel, b->rel) == 0 && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

void torn_layout_check(const char *log_dir, const char *dir, const char *const *globs,
                       size_t n_globs, int settle_ms, struct torn_layout_memo *memo,
                       const char *where, const char *decl)
{
    struct stray a[LAYOUT_MAX_STRAYS], b[LAYOUT_MAX_STRAYS];
    size_t na = strays(dir, globs, n_globs, a);
    if (na == 0)
        return;
    struct timespec ts = {settle_ms / 1000, (long)(settle_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    size_t nb = strays(dir, globs, n_globs, b);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (same(&a[i], &b[j]) && !reported(memo, &a[i]))
                torn_finding_post(log_dir, "store-layout", NULL,
                                  "%s (%lld bytes) in %s matches no declared file (%s) and "
                                  "stayed unchanged for %d ms after the scenario: left behind",
                                  a[i].rel, (long long)a[i].size, where, decl, settle_ms);
}

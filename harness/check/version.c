/* torn: the version-order checker.
 *
 * For histories whose records carry a version stamp (record.h: +1 on every
 * successful write), consistency can be decided in one pass per key,
 * O(n log n), without a search:
 *   duplicate-version   two acknowledged writes committed the same version;
 *   lost-update         ordered by version, an acknowledged write was based
 *                       on a version older than the acknowledged write just
 *                       before it (it did not see it: two writes that read
 *                       the same version both "won");
 *   version-regress     a write committed a version not above its base;
 *   garbage-read        a read returned a version no write produced or
 *                       could have produced (every write adds one, so k
 *                       writes of unknown version begun before the read
 *                       ended explain at most k versions above the highest
 *                       known one);
 *   future-read         a read returned a version whose only writers began
 *                       after the read ended;
 *   stale-read          a read returned a version older than one already
 *                       acknowledged (by a write or a read) before it began.
 * `info` writes are treated as may-have-happened: they explain reads but are
 * never required to have happened.  Versions below the first written one
 * are the pre-existing state and are not garbage.
 */
#include "checker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "core/err.h"
#include "core/search.h"
#include "history_read.h"
#include "core/util.h"

struct vw {
    long long version;
    uint64_t t;          /* invoke (writers) or acknowledgement (acks) time */
    size_t idx;          /* into hist->ops */
    const struct torn_vop *vop;
};

static int cmp_vw_version(const void *a, const void *b)
{
    const struct vw *x = a, *y = b;

    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_vw_time(const void *a, const void *b)
{
    const struct vw *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct kctx {
    const struct torn_hist *h;
    const struct torn_vkey *k;
    struct torn_check_result *res;
    struct vw *writers;    /* versioned writes, ok or info, by version */
    size_t n_writers;
    struct vw *acks;       /* acknowledged versions, by time */
    size_t n_acks;
    long long *ack_max;    /* prefix max of acks[].version ... */
    size_t *ack_arg;       /* ... and the ack holding it */
    uint64_t *unknown;     /* invoke times of writes of unknown version, sorted */
    size_t n_unknown;
};

/* Record a violation involving ops a and b (the same op when a == b). */
static int violation2(struct kctx *c, const char *crit, size_t a, size_t b, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int violation2(struct kctx *c, const char *crit, size_t a, size_t b, const char *fmt, ...)
{
    size_t ops[2] = {a < b ? a : b, a < b ? b : a};
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return torn_check_violation(c->res, crit, c->k->key, ops, a == b ? 1 : 2, NULL, 0, "%s", msg);
}

/* Acknowledged writes in version order form a chain. */
/* All acknowledged writes of the version at writers[i] (a run in version
 * order) as one duplicate-version violation; returns the run's end. */
static size_t duplicates(struct kctx *c, size_t i, int *rc)
{
    size_t ops[8], n = 0, j;

    for (j = i; j < c->n_writers && c->writers[j].version == c->writers[i].version; j++)
        if (c->h->ops[c->writers[j].idx].outcome == TORN_OUT_OK && n < 8)
            ops[n++] = c->writers[j].idx;
    if (n > 1) {
        size_t total = 0;
        for (size_t k = i; k < j; k++)
            total += c->h->ops[c->writers[k].idx].outcome == TORN_OUT_OK;
        *rc = torn_check_violation(c->res, "duplicate-version", c->k->key, ops, n, NULL, 0,
                                   "%zu acknowledged writes all committed version %lld", total,
                                   c->writers[i].version);
    }
    return j;
}

/* Acknowledged writes in version order form a chain. */
static int check_chain(struct kctx *c)
{
    const struct vw *prev = NULL;
    int rc = TORN_OK;

    for (size_t i = 0, next; i < c->n_writers && rc == TORN_OK; i = next) {
        const struct vw *w = NULL;
        next = duplicates(c, i, &rc);
        for (size_t j = i; j < next && !w; j++)      /* the run's first acknowledged write */
            if (c->h->ops[c->writers[j].idx].outcome == TORN_OUT_OK)
                w = &c->writers[j];
        if (!w)
            continue;
        const struct torn_vop *o = w->vop;
        if (rc == TORN_OK && o->base >= 0 && o->version <= o->base)
            rc = violation2(c, "version-regress", w->idx, w->idx,
                            "a write committed version %lld on top of version %lld", o->version,
                            o->base);
        else if (rc == TORN_OK && prev && o->base >= 0 && o->base < prev->version)
            rc = violation2(c, "lost-update", prev->idx, w->idx,
                            "the write of version %lld was based on version %lld and overwrote "
                            "an acknowledged write it never saw",
                            w->version, o->base);
        prev = w;
    }
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* A version key (long long) against a writer's version. */
static int cmp_v_vw(const void *key, const void *elem)
{
    long long v = *(const long long *)key, w = ((const struct vw *)elem)->version;

    return v < w ? -1 : v > w;
}

/* Index of the first writer with version >= v. */
static size_t lower_bound_version(const struct kctx *c, long long v)
{
    return torn_lower_bound(c->writers, c->n_writers, sizeof *c->writers, &v, cmp_v_vw);
}

/* Number of sorted times t[0..n) at or before limit. */
static size_t count_before(const uint64_t *t, size_t n, uint64_t limit)
{
    return torn_upper_bound(t, n, sizeof *t, &limit, cmp_u64);
}

/* A time key against an acknowledgement's time. */
static int cmp_t_vw(const void *key, const void *elem)
{
    uint64_t t = *(const uint64_t *)key, e = ((const struct vw *)elem)->t;
    return (t > e) - (t < e);
}

/* Number of acks acknowledged strictly before t. */
static size_t acks_before(const struct kctx *c, uint64_t t)
{
    return torn_lower_bound(c->acks, c->n_acks, sizeof *c->acks, &t, cmp_t_vw);
}

static int check_read(struct kctx *c, const struct torn_vop *o)
{
    const struct torn_hop *op = &c->h->ops[o->idx];
    long long v = o->version;
    size_t i = lower_bound_version(c, v), n;

    if (i < c->n_writers && c->writers[i].version == v) {
        if (c->writers[i].t > op->t_complete)
            return violation2(c, "future-read", o->idx, c->writers[i].idx,
                              "a read returned version %lld before any write of it began", v);
    } else if (c->n_writers && v > c->writers[0].version) {
        /* Every write adds one: writes of unknown version begun before the read
         * ended can explain versions up to the highest known plus their number. */
        size_t unknown = count_before(c->unknown, c->n_unknown, op->t_complete);
        long long top = c->writers[c->n_writers - 1].version;
        if (!unknown || v > top + (long long)unknown)
            return violation2(c, "garbage-read", o->idx, o->idx,
                              "a read returned version %lld, which no write produced (highest "
                              "written: %lld, writes of unknown version before it: %zu)",
                              v, top, unknown);
    }
    n = acks_before(c, op->t_invoke);
    if (n && c->ack_max[n - 1] > v)
        return violation2(c, "stale-read", c->ack_arg[n - 1], o->idx,
                          "a read returned version %lld although version %lld was acknowledged "
                          "before it began",
                          v, c->ack_max[n - 1]);
    return TORN_OK;
}

/* Sort base by cmp (a total order, so any sort gives this result).
 * Acknowledgements come nearly in time order and writes nearly in version
 * order (a client's few concurrent neighbours apart): insertion sort moves
 * each a few places, inline, where qsort would compare each 20 times; past
 * 16 moves an element on average the input is not nearly sorted and qsort
 * sorts what is left (nothing was half moved: still a permutation). */
static void sort_nearly(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    char *b = base, tmp[sizeof(struct vw)];
    size_t moves = 0, budget = 16 * n;

    if (size > sizeof tmp) {
        qsort(base, n, size, cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        while (j > 0 && cmp(b + (j - 1) * size, b + i * size) > 0)
            j--;
        if (j == i)
            continue;
        if ((moves += i - j) > budget) {
            qsort(base, n, size, cmp);
            return;
        }
        memcpy(tmp, b + i * size, size);
        memmove(b + (j + 1) * size, b + j * size, (i - j) * size);
        memcpy(b + j * size, tmp, size);
    }
}

static int collect(struct kctx *c)
{
    const struct torn_vkey *k = c->k;

    c->writers = malloc((k->n_ops + 1) * sizeof *c->writers);
    c->acks = malloc((k->n_ops + 1) * sizeof *c->acks);
    c->ack_max = malloc((k->n_ops + 1) * sizeof *c->ack_max);
    c->ack_arg = malloc((k->n_ops + 1) * sizeof *c->ack_arg);
    c->unknown = malloc((k->n_ops + 1) * sizeof *c->unknown);
    if (!c->writers || !c->acks || !c->ack_max || !c->ack_arg || !c->unknown)
        return TORN_E_NOMEM;
    for (size_t i = 0; i < k->n_ops; i++) {
        const struct torn_vop *o = &k->ops[i];
        const struct torn_hop *op = &c->h->ops[o->idx];
        if (op->outcome == TORN_OUT_FAIL)
            continue;
        if (o->is_write && o->version < 0)
            c->unknown[c->n_unknown++] = op->t_invoke;
        if (o->is_write && o->version >= 0)
            c->writers[c->n_writers++] = (struct vw){o->version, op->t_invoke, o->idx, o};
        if (op->outcome == TORN_OUT_OK && o->version >= 0)
            c->acks[c->n_acks++] = (struct vw){o->version, op->t_complete, o->idx, o};
    }
    sort_nearly(c->writers, c->n_writers, sizeof *c->writers, cmp_vw_version);
    sort_nearly(c->unknown, c->n_unknown, sizeof *c->unknown, cmp_u64);
    sort_nearly(c->acks, c->n_acks, sizeof *c->acks, cmp_vw_time);
    for (size_t i = 0; i < c->n_acks; i++) {
        int keep = i && c->ack_max[i - 1] >= c->acks[i].version;
        c->ack_max[i] = keep ? c->ack_max[i - 1] : c->acks[i].version;
        c->ack_arg[i] = keep ? c->ack_arg[i - 1] : c->acks[i].idx;
    }
    return TORN_OK;
}

static int check_key(const struct torn_hist *h, const struct torn_vkey *k,
                     struct torn_check_result *res)
{
    struct kctx c;
    int rc;

    memset(&c, 0, sizeof c);
    c.h = h;
    c.k = k;
    c.res = res;
    rc = collect(&c);
    if (rc == TORN_OK)
        rc = check_chain(&c);
    for (size_t i = 0; i < k->n_ops && rc == TORN_OK; i++) {
        const struct torn_vop *o = &k->ops[i];
        if (!o->is_write && o->version >= 0 && h->ops[o->idx].outcome == TORN_OUT_OK)
            rc = check_read(&c, o);
    }
    free(c.writers);
    free(c.acks);
    free(c.ack_max);
    free(c.ack_arg);
    free(c.unknown);
    return rc;
}

static int check_version(const struct torn_hist *h, const struct torn_check_opts *opts,
                         struct torn_check_result *res, struct torn_err *err)
{
    struct torn_vindex x;
    struct torn_vkey k;
    uint64_t t0 = torn_now_ns();
    int rc;

    rc = torn_vindex_build(h, opts->status_field, &x, err);
    if (rc != TORN_OK)
        return rc;
    if (h->n_ops && !x.versioned) {
        torn_vindex_free(&x);
        return torn_err_set(err, TORN_E_CONFIG,
                            "%s: no operation carries a \"version\" (use --model register, "
                            "cas-register or kv for histories without versions)",
                            h->name);
    }
    /* one key's operations at a time, in torn_vkeys_build's key order */
    for (size_t s = 0; s < x.n_slots && rc == TORN_OK; s++) {
        if (x.start[s + 1] == x.start[s])
            continue;
        if ((rc = torn_vindex_key(&x, s, &k, err)) != TORN_OK)
            break;
        rc = check_key(h, &k, res);
        if (rc != TORN_OK)
            rc = torn_err_set(err, rc, "out of memory");
        free(k.ops);
    }
    res->n_ops_checked = h->n_ops;
    res->n_keys = x.n_keys;
    res->elapsed_s = (double)(torn_now_ns() - t0) / 1e9;
    torn_vindex_free(&x);
    return rc;
}

const struct torn_checker_ops torn_checker_version = {
    TORN_CHECKER_OPS_V1, "version",
    "version-stamped records: no duplicate version, lost update, stale, garbage or future read",
    check_version};

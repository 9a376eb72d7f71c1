/* torn: the event-ordering checker.
 *
 * A completion notification (a `notify` line, e.g. a WebSocket
 * RESEARCH_COMPLETED event) must follow the durable write it announces:
 *   event-before-write       the event names version v, but every write of v
 *                            began after the event;
 *   event-without-write      no write produced version v (and no write of
 *                            unknown version began before the event);
 *   event-for-aborted-write  the only write of version v failed;
 *   event-not-readable       a read that began after the event returned an
 *                            older version (or, for events that carry only
 *                            a status, a status not reachable from the
 *                            announced one in the transition table);
 *   event-out-of-order       a key's events announce versions out of order.
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

struct rd {
    uint64_t t;          /* invoke time */
    long long version;
    int state;
    size_t idx;
};

static int cmp_rd(const void *a, const void *b)
{
    const struct rd *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct ectx {
    const struct torn_hist *h;
    const struct torn_vkey *k;
    const struct torn_ttable *tt;
    struct torn_check_result *res;
    struct rd *reads;          /* ok reads by invoke time */
    size_t n_reads;
    size_t *suffix_min;        /* index into reads of the min version in reads[i..] */
    uint64_t last_read_of[TORN_TTABLE_MAX];  /* latest invoke of a read per status, +1 */
    size_t last_read_idx[TORN_TTABLE_MAX];
};

static int report(struct ectx *c, const char *crit, size_t ev, const size_t *ops, size_t n_ops,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int report(struct ectx *c, const char *crit, size_t ev, const size_t *ops, size_t n_ops,
                  const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return torn_check_violation(c->res, crit, c->k->key, ops, n_ops, &ev, 1, "%s", msg);
}

static int collect_reads(struct ectx *c)
{
    const struct torn_vkey *k = c->k;

    c->reads = malloc((k->n_ops + 1) * sizeof *c->reads);
    c->suffix_min = malloc((k->n_ops + 1) * sizeof *c->suffix_min);
    if (!c->reads || !c->suffix_min)
        return TORN_E_NOMEM;
    for (size_t i = 0; i < k->n_ops; i++) {
        const struct torn_vop *o = &k->ops[i];
        const struct torn_hop *op = &c->h->ops[o->idx];
        if (o->is_write || op->outcome != TORN_OUT_OK)
            continue;
        int st = torn_ttable_state(c->tt, o->status);
        c->reads[c->n_reads++] = (struct rd){op->t_invoke, o->version, st, o->idx};
        if (st >= 0 && op->t_invoke + 1 > c->last_read_of[st]) {
            c->last_read_of[st] = op->t_invoke + 1;
            c->last_read_idx[st] = o->idx;
        }
    }
    qsort(c->reads, c->n_reads, sizeof *c->reads, cmp_rd);
    for (size_t i = c->n_reads; i-- > 0;) {
        size_t best = i;
        if (i + 1 < c->n_reads) {
            size_t m = c->suffix_min[i + 1];
            if (c->reads[i].version < 0 ||
                (c->reads[m].version >= 0 && c->reads[m].version < c->reads[i].version))
                best = m;
        }
        c->suffix_min[i] = best;
    }
    return TORN_OK;
}

/* A time key (uint64_t) against a read's invoke time. */
static int cmp_t_rd(const void *key, const void *elem)
{
    uint64_t t = *(const uint64_t *)key, u = ((const struct rd *)elem)->t;

    return t < u ? -1 : t > u;
}

/* The first read that began after t, or n_reads. */
static size_t first_read_after(const struct ectx *c, uint64_t t)
{
    return torn_upper_bound(c->reads, c->n_reads, sizeof *c->reads, &t, cmp_t_rd);
}

/* Was version v written before t?  Reports the violation when not. */
static int check_writer(struct ectx *c, const struct torn_hevent *e, size_t ev, long long v)
{
    size_t later = SIZE_MAX, failed = SIZE_MAX;
    int unknown_before = 0;

    for (size_t i = 0; i < c->k->n_ops; i++) {
        const struct torn_vop *o = &c->k->ops[i];
        const struct torn_hop *op = &c->h->ops[o->idx];
        if (!o->is_write)
            continue;
        if (o->version < 0 && op->outcome != TORN_OUT_FAIL && op->t_invoke <= e->t)
            unknown_before = 1;
        if (o->version != v)
            continue;
        if (op->outcome == TORN_OUT_FAIL)
            failed = o->idx;
        else if (op->t_invoke <= e->t)
            return TORN_OK;
        else if (later == SIZE_MAX)
            later = o->idx;
    }
    if (later != SIZE_MAX)
        return report(c, "event-before-write", ev, &later, 1,
                      "the event announced version %lld before its write began", v);
    if (failed != SIZE_MAX)
        return report(c, "event-for-aborted-write", ev, &failed, 1,
                      "the event announced version %lld, whose write failed", v);
    if (!unknown_before)
        return report(c, "event-without-write", ev, NULL, 0,
                      "the event announced version %lld, which no write produced", v);
    return TORN_OK;
}

static int check_event(struct ectx *c, const struct torn_vevent *ve, long long *prev_v)
{
    const struct torn_hevent *e = &c->h->events[ve->idx];
    size_t first = first_read_after(c, e->t);
    int rc = TORN_OK;

    if (ve->version >= 0) {
        if (*prev_v > ve->version)
            rc = report(c, "event-out-of-order", ve->idx, NULL, 0,
                        "the event announced version %lld after one announced %lld",
                        ve->version, *prev_v);
        else
            *prev_v = ve->version;
        if (rc == TORN_OK)
            rc = check_writer(c, e, ve->idx, ve->version);
        if (rc == TORN_OK && first < c->n_reads) {
            const struct rd *r = &c->reads[c->suffix_min[first]];
            if (r->version >= 0 && r->version < ve->version)
                rc = report(c, "event-not-readable", ve->idx, &r->idx, 1,
                            "a read after the event for version %lld returned version %lld",
                            ve->version, r->version);
        }
        return rc;
    }
    int st = torn_ttable_state(c->tt, ve->status);
    for (size_t s = 0; ve->status && s < torn_ttable_count(c->tt) && rc == TORN_OK; s++)
        if (c->last_read_of[s] > e->t + 1 && !torn_ttable_reaches(c->tt, st, (int)s))
            rc = report(c, "event-not-readable", ve->idx, &c->last_read_idx[s], 1,
                        "a read after the \"%s\" event returned status \"%s\"", ve->status,
                        torn_ttable_name(c->tt, (int)s));
    return rc;
}

static int check_key(const struct torn_hist *h, const struct torn_vkey *k,
                     const struct torn_ttable *tt, struct torn_check_result *res)
{
    struct ectx *c = calloc(1, sizeof *c);
    long long prev_v = -1;
    int rc;

    if (!c)
        return TORN_E_NOMEM;
    c->h = h;
    c->k = k;
    c->tt = tt;
    c->res = res;
    rc = collect_reads(c);
    for (size_t i = 0; i < k->n_events && rc == TORN_OK; i++)
        rc = check_event(c, &k->events[i], &prev_v);
    free(c->reads);
    free(c->suffix_min);
    free(c);
    return rc;
}

static int check_events(const struct torn_hist *h, const struct torn_check_opts *opts,
                        struct torn_check_result *res, struct torn_err *err)
{
    struct torn_vkeys keys;
    struct torn_ttable *tt;
    uint64_t t0 = torn_now_ns();
    size_t n_events = 0;
    int rc;

    rc = torn_ttable_new(opts->transitions, &tt, err);
    if (rc != TORN_OK)
        return rc;
    rc = torn_vkeys_build(h, opts->status_field, &keys, err);
    if (rc != TORN_OK) {
        torn_ttable_free(tt);
        return rc;
    }
    for (size_t i = 0; i < keys.n_keys && rc == TORN_OK; i++) {
        n_events += keys.keys[i].n_events;
        if (keys.keys[i].n_events)
            rc = check_key(h, &keys.keys[i], tt, res);
    }
    res->n_ops_checked = keys.n_ops + n_events;
    res->n_keys = keys.n_keys;
    res->elapsed_s = (double)(torn_now_ns() - t0) / 1e9;
    torn_vkeys_free(&keys);
    torn_ttable_free(tt);
    return rc == TORN_OK ? TORN_OK : torn_err_set(err, rc, "out of memory");
}

const struct torn_checker_ops torn_checker_events = {
    TORN_CHECKER_OPS_V1, "events",
    "every notify event follows the durable write it announces; per-key versions in order",
    check_events};

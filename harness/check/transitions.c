/* torn: the state-transition checker and transition tables.
 *
 * Along each key's version chain every change of status must be allowed by
 * the declared table, and a terminal status never changes:
 *   unknown-status          a status the table does not list;
 *   inconsistent-version    two observations of one version disagree;
 *   terminal-state-changed  a terminal status was followed by another;
 *   illegal-transition      consecutive versions v, v+1 whose statuses are
 *                           not an allowed change, or versions further
 *                           apart whose statuses are not reachable.
 * Observations without a version are checked in real time instead: a read
 * that began after another was acknowledged must see a status reachable
 * from it.
 */
#include "checker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "keys.h"
#include "core/err.h"
#include "history_read.h"
#include "core/util.h"

struct torn_ttable {
    size_t n;
    char *names[TORN_TTABLE_MAX];
    unsigned char edge[TORN_TTABLE_MAX][TORN_TTABLE_MAX];
    unsigned char reach[TORN_TTABLE_MAX][TORN_TTABLE_MAX];
    unsigned char terminal[TORN_TTABLE_MAX];
};

static const char default_table[] =
    "{\"created\":[\"pending\",\"queued\",\"running\",\"processing\",\"in_progress\","
    "\"cancelled\",\"failed\"],"
    "\"pending\":[\"queued\",\"running\",\"processing\",\"in_progress\",\"cancelled\",\"failed\"],"
    "\"queued\":[\"running\",\"processing\",\"in_progress\",\"cancelled\",\"failed\"],"
    "\"running\":[\"completed\",\"done\",\"succeeded\",\"failed\",\"cancelled\"],"
    "\"processing\":[\"completed\",\"done\",\"succeeded\",\"failed\",\"cancelled\"],"
    "\"in_progress\":[\"completed\",\"done\",\"succeeded\",\"failed\",\"cancelled\"],"
    "\"completed\":[],\"done\":[],\"succeeded\":[],\"failed\":[],\"cancelled\":[]}";

int torn_ttable_state(const struct torn_ttable *t, const char *s)
{
    for (size_t i = 0; s && i < t->n; i++)
        if (!strcmp(t->names[i], s))
            return (int)i;
    return -1;
}

size_t torn_ttable_count(const struct torn_ttable *t)
{
    return t->n;
}

const char *torn_ttable_name(const struct torn_ttable *t, int a)
{
    return a >= 0 && (size_t)a < t->n ? t->names[a] : "?";
}

static int add_state(struct torn_ttable *t, const char *s, struct torn_err *err)
{
    int i = torn_ttable_state(t, s);

    if (i >= 0)
        return i;
    if (t->n >= TORN_TTABLE_MAX)
        return torn_err_set(err, TORN_E_CONFIG, "transition table: more than %d states",
                            TORN_TTABLE_MAX);
    if (!(t->names[t->n] = strdup(s)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    return (int)t->n++;
}

static int fill(struct torn_ttable *t, const cJSON *table, struct torn_err *err)
{
    const cJSON *st, *to;

    if (!cJSON_IsObject(table))
        return torn_err_set(err, TORN_E_CONFIG,
                            "transition table: not an object of state -> [next states]");
    cJSON_ArrayForEach(st, table) {
        int a = add_state(t, st->string, err);
        if (a < 0)
            return a;
        if (!cJSON_IsArray(st))
            return torn_err_set(err, TORN_E_CONFIG,
                                "transition table: \"%s\" must map to an array of states",
                                st->string);
        cJSON_ArrayForEach(to, st) {
            int b;
            if (!cJSON_IsString(to))
                return torn_err_set(err, TORN_E_CONFIG,
                                    "transition table: \"%s\" lists a non-string", st->string);
            if ((b = add_state(t, to->valuestring, err)) < 0)
                return b;
            t->edge[a][b] = 1;
        }
    }
    return TORN_OK;
}

int torn_ttable_new(const cJSON *table, struct torn_ttable **out, struct torn_err *err)
{
    struct torn_ttable *t = calloc(1, sizeof *t);
    cJSON *dflt = NULL;
    int rc;

    *out = NULL;
    if (!t)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (!table && !(table = dflt = cJSON_Parse(default_table))) {
        free(t);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    rc = fill(t, table, err);
    cJSON_Delete(dflt);
    if (rc != TORN_OK) {
        torn_ttable_free(t);
        return rc;
    }
    for (size_t a = 0; a < t->n; a++) {
        t->edge[a][a] = 1;
        memcpy(t->reach[a], t->edge[a], t->n);
        t->terminal[a] = 1;
        for (size_t b = 0; b < t->n; b++)
            if (b != a && t->edge[a][b])
                t->terminal[a] = 0;
    }
    for (size_t k = 0; k < t->n; k++)          /* transitive closure (Warshall) */
        for (size_t a = 0; a < t->n; a++)
            if (t->reach[a][k])
                for (size_t b = 0; b < t->n; b++)
                    t->reach[a][b] |= t->reach[k][b];
    *out = t;
    return TORN_OK;
}

void torn_ttable_free(struct torn_ttable *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t);
}

int torn_ttable_allows(const struct torn_ttable *t, int a, int b)
{
    return a == b || (a >= 0 && b >= 0 && t->edge[a][b]);
}

int torn_ttable_reaches(const struct torn_ttable *t, int a, int b)
{
    return a == b || (a >= 0 && b >= 0 && t->reach[a][b]);
}

int torn_ttable_terminal(const struct torn_ttable *t, int a)
{
    return a >= 0 && t->terminal[a];
}

/* ---- the checker ---- */

struct obs {
    long long version;
    uint64_t t;          /* acknowledgement (or event) time */
    uint64_t t_begin;    /* invoke time (reads) or event time */
    int state;
    const char *status;
    size_t idx;
    int is_event;
};

static int cmp_obs_version(const void *a, const void *b)
{
    const struct obs *x = a, *y = b;

    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int cmp_obs_time(const void *a, const void *b)
{
    const struct obs *x = a, *y = b;

    return x->t < y->t ? -1 : x->t > y->t;
}

static int cmp_obs_begin(const void *a, const void *b)
{
    const struct obs *x = *(struct obs *const *)a, *y = *(struct obs *const *)b;

    return x->t_begin < y->t_begin ? -1 : x->t_begin > y->t_begin;
}

struct tctx {
    const struct torn_hist *h;
    const struct torn_vkey *k;
    const struct torn_ttable *tt;
    struct torn_check_result *res;
};

static int report(struct tctx *c, const char *crit, const struct obs *a, const struct obs *b,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int report(struct tctx *c, const char *crit, const struct obs *a, const struct obs *b,
                  const char *fmt, ...)
{
    size_t ops[2], evs[2], n_ops = 0, n_evs = 0;
    const struct obs *both[2] = {a, b};
    char msg[512];
    va_list ap;

    for (int i = 0; i < 2; i++) {
        if (!both[i] || (i == 1 && b == a))
            continue;
        if (both[i]->is_event)
            evs[n_evs++] = both[i]->idx;
        else
            ops[n_ops++] = both[i]->idx;
    }
    if (n_ops == 2 && ops[0] > ops[1]) {
        size_t x = ops[0];
        ops[0] = ops[1];
        ops[1] = x;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return torn_check_violation(c->res, crit, c->k->key, ops, n_ops, evs, n_evs, "%s", msg);
}

static int check_chain(struct tctx *c, struct obs *o, size_t n)
{
    const struct torn_ttable *tt = c->tt;
    int rc = TORN_OK;

    qsort(o, n, sizeof *o, cmp_obs_version);
    for (size_t i = 1; i < n && rc == TORN_OK; i++) {
        const struct obs *p = &o[i - 1], *q = &o[i];
        if (p->version == q->version) {
            if (strcmp(p->status, q->status))
                rc = report(c, "inconsistent-version", p, q,
                            "version %lld was seen with status \"%s\" and \"%s\"", p->version,
                            p->status, q->status);
        } else if (p->state != q->state && torn_ttable_terminal(tt, p->state)) {
            rc = report(c, "terminal-state-changed", p, q,
                        "terminal status \"%s\" (version %lld) became \"%s\" (version %lld)",
                        p->status, p->version, q->status, q->version);
        } else if (q->version == p->version + 1 ? !torn_ttable_allows(tt, p->state, q->state)
                                                : !torn_ttable_reaches(tt, p->state, q->state)) {
            rc = report(c, "illegal-transition", p, q,
                        "status \"%s\" (version %lld) cannot become \"%s\" (version %lld)",
                        p->status, p->version, q->status, q->version);
        }
    }
    return rc;
}

/* Without versions: a read that began after others were acknowledged must
 * see a status reachable from each of theirs. */
static int check_realtime(struct tctx *c, struct obs *o, size_t n)
{
    struct obs **by_begin = malloc((n + 1) * sizeof *by_begin);
    const struct obs *seen[TORN_TTABLE_MAX] = {0};
    size_t j = 0;
    int rc = TORN_OK;

    if (!by_begin)
        return TORN_E_NOMEM;
    qsort(o, n, sizeof *o, cmp_obs_time);              /* o by acknowledgement */
    for (size_t i = 0; i < n; i++)
        by_begin[i] = &o[i];
    qsort(by_begin, n, sizeof *by_begin, cmp_obs_begin);
    for (size_t i = 0; i < n && rc == TORN_OK; i++) {
        const struct obs *q = by_begin[i];
        for (; j < n && o[j].t < q->t_begin; j++)
            if (o[j].state >= 0)
                seen[o[j].state] = &o[j];
        for (size_t s = 0; s < torn_ttable_count(c->tt) && rc == TORN_OK; s++)
            if (seen[s] && !torn_ttable_reaches(c->tt, (int)s, q->state))
                rc = report(c, "illegal-transition", seen[s], q,
                            "status \"%s\" was seen after \"%s\" had been acknowledged",
                            q->status, seen[s]->status);
    }
    free(by_begin);
    return rc;
}

static int check_key(struct tctx *c)
{
    const struct torn_vkey *k = c->k;
    struct obs *v = malloc((k->n_ops + k->n_events + 1) * sizeof *v);
    struct obs *u = malloc((k->n_ops + k->n_events + 1) * sizeof *u);
    size_t nv = 0, nu = 0;
    int rc = TORN_OK;

    if (!v || !u) {
        free(v);
        free(u);
        return TORN_E_NOMEM;
    }
    for (size_t i = 0; i < k->n_ops + k->n_events && rc == TORN_OK; i++) {
        struct obs ob;
        if (i < k->n_ops) {
            const struct torn_vop *o = &k->ops[i];
            const struct torn_hop *op = &c->h->ops[o->idx];
            if (op->outcome != TORN_OUT_OK || !o->status)
                continue;
            ob = (struct obs){o->version, op->t_complete, op->t_invoke, 0, o->status, o->idx, 0};
        } else {
            const struct torn_vevent *e = &k->events[i - k->n_ops];
            if (!e->status)
                continue;
            uint64_t t = c->h->events[e->idx].t;
            ob = (struct obs){e->version, t, t, 0, e->status, e->idx, 1};
        }
        ob.state = torn_ttable_state(c->tt, ob.status);
        if (ob.state < 0) {
            rc = report(c, "unknown-status", &ob, &ob,
                        "status \"%s\" is not in the transition table", ob.status);
            continue;
        }
        if (ob.version >= 0)
            v[nv++] = ob;
        else
            u[nu++] = ob;
    }
    if (rc == TORN_OK)
        rc = check_chain(c, v, nv);
    if (rc == TORN_OK)
        rc = check_realtime(c, u, nu);
    free(v);
    free(u);
    return rc;
}

static int check_transitions(const struct torn_hist *h, const struct torn_check_opts *opts,
                             struct torn_check_result *res, struct torn_err *err)
{
    struct torn_vkeys keys;
    struct torn_ttable *tt;
    uint64_t t0 = torn_now_ns();
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
        struct tctx c = {h, &keys.keys[i], tt, res};
        rc = check_key(&c);
    }
    res->n_ops_checked = keys.n_ops;
    res->n_keys = keys.n_keys;
    res->elapsed_s = (double)(torn_now_ns() - t0) / 1e9;
    torn_vkeys_free(&keys);
    torn_ttable_free(tt);
    return rc == TORN_OK ? TORN_OK : torn_err_set(err, rc, "out of memory");
}

const struct torn_checker_ops torn_checker_transitions = {
    TORN_CHECKER_OPS_V1, "transitions",
    "every status change along a key's versions is allowed; terminal states never change",
    check_transitions};

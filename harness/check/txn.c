/* torn: transactional checkers, Elle's way (Kingsbury & Alvaro, "Elle:
 * Inferring Isolation Anomalies from Experimental Observations", VLDB 2020;
 * anomaly names from Adya's thesis).
 *
 * A transaction is one operation whose value is a list of micro-operations
 * [f key value] (Jepsen/Elle `:f :txn`, or torn JSON with the same shape):
 *   list-append:  [append k v]  [r k [v1 v2 ...]]   (nil = empty list)
 *   rw-register:  [w k v]       [r k v]             (nil = the initial state)
 * Only an `ok` transaction's reads are observations; a `fail` one did not
 * happen (an observation of its write is G1a); an `info` one may have.
 * Written values must be unique per key, so a value read names its writer.
 *
 * Method.  Per key, a version order is inferred: for list-append the longest
 * read (every other read must be a prefix of it: else incompatible-order);
 * for rw-register, a transaction that read v1 and then wrote v2 orders
 * v1 < v2, and the initial state precedes every write.  From it, Adya's
 * dependency graph over transactions: ww (installed the next version), wr
 * (read the version it installed), rw (read a version another overwrote).
 * Strongly connected components (Tarjan) locate cycles, and a breadth-first
 * search gives the shortest cycle of each kind, which is the evidence:
 *   G0        a cycle of ww edges only (dirty write)
 *   G1c       a cycle of ww and wr edges (circular information flow)
 *   G-single  a cycle with exactly one rw edge (read skew)
 *   G2-item   a cycle with two or more rw edges (write skew)
 * and, without a cycle: G1a (a read of an aborted write), G1b (a read of a
 * value its writer overwrote in the same transaction), lost-update (two
 * committed transactions read one version of a key and both wrote it),
 * duplicate-elements, incompatible-order, garbage-read (a value nobody
 * wrote).  Every step is linear in the history but the BFS, which runs once
 * per component and kind.
 */
#include "checker.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/search.h"
#include "core/util.h"
#include "history_read.h"
#include "intern.h"
#include "value.h"

enum { E_WW = 1, E_WR = 2, E_RW = 4, E_RT = 8 };
enum { M_APPEND, M_RW };

struct mop {
    int write;            /* append / w */
    uint32_t key;         /* key id (intern) */
    int64_t val;          /* write: (key,value) id; read (rw-register): id or -1 nil */
    uint32_t *list;       /* list-append read: (key,value) ids; n_list of them */
    size_t n_list;
    int external;         /* a read before the transaction wrote this key */
};

struct txn {
    size_t op;            /* index into hist->ops */
    int outcome;          /* TORN_OUT_* */
    struct mop *mops;
    size_t n_mops;
};

struct edge {
    uint32_t a, b;
    uint8_t type;
    uint32_t key;
};

struct tx {
    const struct torn_hist *h;
    int model;
    struct torn_intern *keys, *vals;  /* keys; "key\x1fvalue" pairs */
    struct torn_vbuf buf;
    struct txn *t;
    size_t n_t;
    /* by (key,value) id */
    uint32_t *writer;     /* txn index + 1, 0 none */
    uint32_t *wkey;       /* its key */
    uint8_t *wfinal;      /* 1: the writer's last write of that key */
    size_t cap_v;
    struct edge *e;
    size_t n_e, cap_e;
    struct torn_check_result *res;
    struct torn_err *err;
};

/* ---- reading the transactions ---- */

static int nomem(struct tx *X)
{
    return torn_err_set(X->err, TORN_E_NOMEM, "out of memory");
}

static int bad_txn(struct tx *X, size_t op, const char *what)
{
    const struct torn_hop *o = &X->h->ops[op];

    return torn_err_set(X->err, TORN_E_CONFIG, "%s:%u: %s (a %s transaction is a list of %s)",
                        X->h->name, o->line_complete ? o->line_complete : o->line_invoke, what,
                        X->model == M_APPEND ? "list-append" : "rw-register",
                        X->model == M_APPEND ? "[append k v] and [r k list]" : "[w k v] and [r k v]");
}

/* The id of the canonical text of v, in table t. */
static int64_t text_id(struct tx *X, struct torn_intern *t, const cJSON *v, int64_t key)
{
    X->buf.len = 0;
    if (key >= 0) {
        const char *k = torn_intern_str(X->keys, key);
        struct torn_vbuf *b = &X->buf;
        size_t n = strlen(k);
        if (b->cap < n + 2) {
            char *s = realloc(b->s, n + 64);
            if (!s)
                return -1;
            b->s = s;
            b->cap = n + 64;
        }
        memcpy(b->s, k, n);
        b->s[n] = '\x1f';
        b->s[n + 1] = '\0';
        b->len = n + 1;
    }
    if (torn_value_canon(v, &X->buf) < 0)
        return -1;
    return torn_intern_id(t, X->buf.s, X->buf.len);
}

static int grow_vals(struct tx *X, size_t id)
{
    size_t cap = X->cap_v ? X->cap_v : 1024;

    if (id < X->cap_v)
        return 0;
    while (cap <= id)
        cap *= 2;
    uint32_t *w = realloc(X->writer, cap * sizeof *w);
    if (w)
        X->writer = w;
    uint32_t *k = w ? realloc(X->wkey, cap * sizeof *k) : NULL;
    if (k)
        X->wkey = k;
    uint8_t *f = k ? realloc(X->wfinal, cap) : NULL;
    if (!f)
        return -1;
    X->wfinal = f;
    memset(X->writer + X->cap_v, 0, (cap - X->cap_v) * sizeof *w);
    X->cap_v = cap;
    return 0;
}

/* Parse one micro-operation m (an array [f k v]) of transaction ti. */
static int parse_mop(struct tx *X, size_t ti, const cJSON *m, struct mop *out)
{
    const cJSON *f = cJSON_GetArrayItem(m, 0), *k = cJSON_GetArrayItem(m, 1),
                *v = cJSON_GetArrayItem(m, 2);
    int64_t key;

    memset(out, 0, sizeof *out);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 3 || !cJSON_IsString(f))
        return bad_txn(X, X->t[ti].op, "a micro-operation is not [f key value]");
    out->write = !strcmp(f->valuestring, X->model == M_APPEND ? "append" : "w");
    if (!out->write && strcmp(f->valuestring, "r"))
        return bad_txn(X, X->t[ti].op, "unknown micro-operation");
    if ((key = text_id(X, X->keys, k, -1)) < 0)
        return nomem(X);
    out->key = (uint32_t)key;
    out->val = -1;
    if (out->write || (X->model == M_RW && !cJSON_IsNull(v))) {
        if ((out->val = text_id(X, X->vals, v, key)) < 0 || grow_vals(X, (size_t)out->val) < 0)
            return nomem(X);
        if (out->write) {
            size_t id = (size_t)out->val;
            if (X->writer[id] && X->writer[id] != ti + 1)
                return bad_txn(X, X->t[ti].op, "a value written twice to one key (values "
                                               "must be unique per key)");
            X->writer[id] = (uint32_t)ti + 1;
            X->wkey[id] = (uint32_t)key;
        }
        return TORN_OK;
    }
    if (X->model == M_RW || cJSON_IsNull(v))
        return TORN_OK;
    if (!cJSON_IsArray(v))
        return bad_txn(X, X->t[ti].op, "a list-append read returns a list");
    out->n_list = (size_t)cJSON_GetArraySize(v);
    if (!(out->list = malloc((out->n_list + 1) * sizeof *out->list)))
        return nomem(X);
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        int64_t id = text_id(X, X->vals, e, key);
        if (id < 0 || grow_vals(X, (size_t)id) < 0)
            return nomem(X);
        out->list[i] = (uint32_t)id;
    }
    return TORN_OK;
}

/* Which writes are a writer's last of their key, and which reads external. */
static void mark_finals(struct tx *X, struct txn *t)
{
    for (size_t i = 0; i < t->n_mops; i++) {
        struct mop *m = &t->mops[i];
        int later = 0, earlier = 0;
        for (size_t j = 0; j < t->n_mops; j++) {
            if (t->mops[j].write && t->mops[j].key == m->key) {
                later |= j > i;
                earlier |= j < i;
            }
        }
        if (m->write)
            X->wfinal[m->val] = !later;
        else
            m->external = !earlier;
    }
}

static int parse_txns(struct tx *X)
{
    const struct torn_hist *h = X->h;

    X->t = calloc(h->n_ops + 1, sizeof *X->t);
    if (!X->t)
        return nomem(X);
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *o = &h->ops[i];
        struct txn *t = &X->t[X->n_t];
        int has_out = o->output_id != TORN_HIST_NONE;
        const cJSON *v;
        if (torn_hist_tree(h, o->outcome == TORN_OUT_OK && has_out ? o->output_id : o->input_id,
                           &v) != TORN_OK)
            return nomem(X);
        if (strcmp(torn_hist_f(h, o), "txn"))
            return bad_txn(X, i, "operation is not a txn");
        if (o->outcome == TORN_OUT_OK && !has_out)   /* its reads would look empty */
            return bad_txn(X, i, "an ok txn needs its value: what its reads returned");
        if (!cJSON_IsArray(v))
            return bad_txn(X, i, "a txn's value is not a list");
        t->op = i;
        t->outcome = o->outcome;
        t->n_mops = (size_t)cJSON_GetArraySize(v);
        if (!(t->mops = calloc(t->n_mops + 1, sizeof *t->mops)))
            return nomem(X);
        X->n_t++;
        size_t j = 0;
        for (const cJSON *m = v->child; m; m = m->next, j++) {
            int rc = parse_mop(X, X->n_t - 1, m, &t->mops[j]);
            if (rc != TORN_OK)
                return rc;
        }
        mark_finals(X, t);
    }
    return TORN_OK;
}

/* ---- anomalies without a cycle, and the edges ---- */

static int add_edge(struct tx *X, uint32_t a, uint32_t b, int type, uint32_t key)
{
    if (a == b)
        return TORN_OK;
    if (X->n_e == X->cap_e) {
        size_t cap = X->cap_e ? X->cap_e * 2 : 1024;
        struct edge *e = realloc(X->e, cap * sizeof *e);
        if (!e)
            return nomem(X);
        X->e = e;
        X->cap_e = cap;
    }
    X->e[X->n_e++] = (struct edge){a, b, (uint8_t)type, key};
    return TORN_OK;
}

/* Record an anomaly between transactions (txn indices), message fmt. */
static int report(struct tx *X, const char *criterion, uint32_t key, const uint32_t *tx, size_t n,
                  const char *msg)
{
    size_t ops[64];
    const char *k = torn_intern_str(X->keys, key);

    n = n < 64 ? n : 64;
    for (size_t i = 0; i < n; i++)
        ops[i] = X->t[tx[i]].op;
    for (size_t i = 1; i < n; i++)          /* by invoke time, the checker.h contract */
        for (size_t j = i; j > 0 && ops[j - 1] > ops[j]; j--) {
            size_t s = ops[j];
            ops[j] = ops[j - 1];
            ops[j - 1] = s;
        }
    if (torn_check_violation(X->res, criterion, k, ops, n, NULL, 0, "%s", msg) < 0)
        return nomem(X);
    return TORN_OK;
}

/* The value text of a (key,value) id, after the key. */
static const char *val_text(const struct tx *X, uint32_t id)
{
    const char *s = torn_intern_str(X->vals, id), *sep = strchr(s, '\x1f');

    return sep ? sep + 1 : s;
}

/* A read of id by txn r: G1a, G1b, garbage.  Returns the writer + 1 or 0. */
static int check_read_of(struct tx *X, uint32_t r, uint32_t key, uint32_t id, int last)
{
    uint32_t w = X->writer[id];
    char msg[400];
    uint32_t pair[2] = {w - 1, r};

    if (!w) {
        snprintf(msg, sizeof msg, "a read of key %.60s saw %.60s, which no "
                 "transaction wrote", torn_intern_str(X->keys, key), val_text(X, id));
        return report(X, "garbage-read", key, &r, 1, msg);
    }
    if (X->t[w - 1].outcome == TORN_OUT_FAIL) {
        snprintf(msg, sizeof msg, "aborted read: a read of key %.60s saw %.60s, written "
                 "by a transaction that failed", torn_intern_str(X->keys, key), val_text(X, id));
        return report(X, "G1a", key, pair, 2, msg);
    }
    if (last && !X->wfinal[id] && w - 1 != r) {
        snprintf(msg, sizeof msg, "intermediate read: a read of key %.60s saw %.60s, which "
                 "its writer overwrote in the same transaction", torn_intern_str(X->keys, key),
                 val_text(X, id));
        return report(X, "G1b", key, pair, 2, msg);
    }
    return TORN_OK;
}

/* ---- per key ---- */

/* One micro-operation, for grouping by key. */
struct ref {
    uint32_t key, t, m;
};

static int cmp_ref(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->m < y->m ? -1 : x->m > y->m;
}

/* Does txn t write key after micro-operation m? */
static int writes_after(const struct txn *t, size_t m, uint32_t key)
{
    for (size_t j = m + 1; j < t->n_mops; j++)
        if (t->mops[j].write && t->mops[j].key == key)
            return 1;
    return 0;
}

/* An ok transaction's read that observes the database (not its own write). */
static const struct mop *obs_read(const struct tx *X, const struct ref *r)
{
    const struct txn *t = &X->t[r->t];
    const struct mop *m = &t->mops[r->m];

    return !m->write && m->external && t->outcome == TORN_OUT_OK ? m : NULL;
}

/* lost-update: two ok transactions read one version (ver, -1 = initial)
 * of key and both wrote it.  pairs: (version, txn) of such transactions. */
struct vt {
    int64_t ver;
    uint32_t t;
};

static int cmp_vt(const void *a, const void *b)
{
    const struct vt *x = a, *y = b;

    if (x->ver != y->ver)
        return x->ver < y->ver ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int lost_updates(struct tx *X, uint32_t key, struct vt *p, size_t n)
{
    char msg[300];
    uint32_t tx[64];

    size_t m = 0;

    qsort(p, n, sizeof *p, cmp_vt);
    for (size_t i = 0; i < n; i++)      /* a transaction that read the key twice counts once */
        if (!m || cmp_vt(&p[m - 1], &p[i]))
            p[m++] = p[i];
    n = m;
    for (size_t i = 0, j; i < n; i = j) {
        size_t k = 0;
        for (j = i; j < n && p[j].ver == p[i].ver; j++)
            if (k < 64)
                tx[k++] = p[j].t;
        if (j - i < 2)
            continue;
        snprintf(msg, sizeof msg, "%zu committed transactions read the same version "
                 "of key %.60s (%s) and each wrote it: all but one update is lost",
                 j - i, torn_intern_str(X->keys, key),
                 p[i].ver < 0 ? "the initial state" : val_text(X, (uint32_t)p[i].ver));
        int rc = report(X, "lost-update", key, tx, k, msg);
        if (rc != TORN_OK)
            return rc;
    }
    return TORN_OK;
}

/* list-append: the longest read is the version order of the key. */
static int key_append(struct tx *X, const struct ref *g, size_t n, int32_t *pos, struct vt *vt)
{
    uint32_t key = g[0].key;
    const struct mop *longest = NULL;
    uint32_t longest_t = 0;
    size_t n_vt = 0;
    int rc = TORN_OK, incompatible = 0;
    char msg[300];

    for (size_t i = 0; i < n; i++) {
        const struct mop *m = obs_read(X, &g[i]);
        if (m && (!longest || m->n_list > longest->n_list)) {
            longest = m;
            longest_t = g[i].t;
        }
    }
    for (size_t i = 0; longest && i < longest->n_list; i++) {
        if (pos[longest->list[i]] >= 0) {
            snprintf(msg, sizeof msg, "a read of key %.60s holds %.60s twice",
                     torn_intern_str(X->keys, key), val_text(X, longest->list[i]));
            for (size_t j = 0; j < i; j++)
                pos[longest->list[j]] = -1;
            return report(X, "duplicate-elements", key, &longest_t, 1, msg);
        }
        pos[longest->list[i]] = (int32_t)i;
        uint32_t w0 = i ? X->writer[longest->list[i - 1]] : 0, w1 = X->writer[longest->list[i]];
        if (w0 && w1 && (rc = add_edge(X, w0 - 1, w1 - 1, E_WW, key)) != TORN_OK)
            return rc;
    }
    size_t len = longest ? longest->n_list : 0;
    for (size_t i = 0; i < n && rc == TORN_OK; i++) {
        const struct mop *m = obs_read(X, &g[i]);
        uint32_t r = g[i].t;
        if (!m)
            continue;
        for (size_t j = 0; j < m->n_list && rc == TORN_OK; j++) {
            if (!incompatible && (size_t)pos[m->list[j]] != j) {
                incompatible = 1;
                uint32_t two[2] = {r, longest_t};
                snprintf(msg, sizeof msg, "a read of key %.60s is not a "
                         "prefix of the longest read (element %zu is %.60s)",
                         torn_intern_str(X->keys, key), j, val_text(X, m->list[j]));
                rc = report(X, "incompatible-order", key, two, 2, msg);
            }
            if (rc == TORN_OK)
                rc = check_read_of(X, r, key, m->list[j], j + 1 == m->n_list);
        }
        if (rc != TORN_OK)
            break;
        if (m->n_list && X->writer[m->list[m->n_list - 1]])
            rc = add_edge(X, X->writer[m->list[m->n_list - 1]] - 1, r, E_WR, key);
        if (rc == TORN_OK && m->n_list < len && X->writer[longest->list[m->n_list]])
            rc = add_edge(X, r, X->writer[longest->list[m->n_list]] - 1, E_RW, key);
        for (size_t j = 0; rc == TORN_OK && m->n_list >= len && j < n; j++) {
            const struct mop *w = &X->t[g[j].t].mops[g[j].m];   /* appends nobody read */
            if (w->write && pos[w->val] < 0 && X->t[g[j].t].outcome != TORN_OUT_FAIL)
                rc = add_edge(X, r, g[j].t, E_RW, key);
        }
        if (writes_after(&X->t[r], g[i].m, key))
            vt[n_vt++] = (struct vt){m->n_list ? (int64_t)m->list[m->n_list - 1] : -1, r};
    }
    for (size_t i = 0; longest && i < longest->n_list; i++)
        pos[longest->list[i]] = -1;
    return rc == TORN_OK ? lost_updates(X, key, vt, n_vt) : rc;
}

/* rw-register: a transaction that read v1 and then wrote v2 orders v1 < v2;
 * the initial state precedes every write. */
static int key_register(struct tx *X, const struct ref *g, size_t n, struct vt *vt)
{
    uint32_t key = g[0].key;
    size_t n_vt = 0;
    int rc = TORN_OK;

    for (size_t i = 0; i < n; i++) {      /* read v1, then wrote: T follows v1's writer */
        const struct mop *m = obs_read(X, &g[i]);
        if (m && writes_after(&X->t[g[i].t], g[i].m, key))
            vt[n_vt++] = (struct vt){m->val, g[i].t};
    }
    qsort(vt, n_vt, sizeof *vt, cmp_vt);
    for (size_t i = 0; i < n_vt && rc == TORN_OK; i++)
        if (vt[i].ver >= 0 && X->writer[vt[i].ver])
            rc = add_edge(X, X->writer[vt[i].ver] - 1, vt[i].t, E_WW, key);
    for (size_t i = 0; i < n && rc == TORN_OK; i++) {
        const struct mop *m = obs_read(X, &g[i]);
        if (!m)
            continue;
        if (m->val >= 0 && (rc = check_read_of(X, g[i].t, key, (uint32_t)m->val, 1)) == TORN_OK &&
            X->writer[m->val])
            rc = add_edge(X, X->writer[m->val] - 1, g[i].t, E_WR, key);
        for (size_t j = 0; j < n_vt && rc == TORN_OK; j++)   /* overwritten by a later writer */
            if (vt[j].ver == m->val)
                rc = add_edge(X, g[i].t, vt[j].t, E_RW, key);
        for (size_t j = 0; m->val < 0 && j < n && rc == TORN_OK; j++) {
            const struct txn *w = &X->t[g[j].t];
            if (w->mops[g[j].m].write && w->outcome != TORN_OUT_FAIL)
                rc = add_edge(X, g[i].t, g[j].t, E_RW, key);
        }
    }
    return rc == TORN_OK ? lost_updates(X, key, vt, n_vt) : rc;
}

static int per_key(struct tx *X)
{
    size_t n = 0, k = 0;
    struct ref *refs;
    int32_t *pos = NULL;
    struct vt *vt = NULL;
    int rc = TORN_OK;

    for (size_t i = 0; i < X->n_t; i++)
        n += X->t[i].n_mops;
    refs = malloc((n + 1) * sizeof *refs);
    vt = malloc((n + 1) * sizeof *vt);
    pos = malloc((torn_intern_count(X->vals) + 1) * sizeof *pos);
    if (!refs || !vt || !pos) {
        rc = nomem(X);
        goto out;
    }
    for (size_t i = 0; i < torn_intern_count(X->vals); i++)
        pos[i] = -1;
    for (size_t i = 0; i < X->n_t; i++)
        for (size_t j = 0; j < X->t[i].n_mops; j++)
            refs[k++] = (struct ref){X->t[i].mops[j].key, (uint32_t)i, (uint32_t)j};
    qsort(refs, n, sizeof *refs, cmp_ref);
    for (size_t i = 0, j; i < n && rc == TORN_OK; i = j) {
        for (j = i; j < n && refs[j].key == refs[i].key; j++)
            ;
        rc = X->model == M_APPEND ? key_append(X, refs + i, j - i, pos, vt)
                                  : key_register(X, refs + i, j - i, vt);
    }
out:
    free(refs);
    free(pos);
    free(vt);
    return rc;
}

/* ---- the graph: components and shortest cycles ---- */

struct graph {
    size_t n;
    size_t *off;          /* edges of node a: e[off[a] .. off[a+1]) */
    const struct edge *e; /* sorted by a */
    uint32_t *comp;       /* component of each node under the last scc() mask */
    /* scratch */
    uint32_t *index, *low, *stack, *cs;
    size_t *it;
    uint8_t *on;
    uint32_t *prev;       /* BFS: the edge index that reached a node + 1, 0 unseen */
    uint32_t *queue;
};

static int cmp_edge(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;

    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

/* Tarjan's algorithm, iterative, over the edges whose type is in mask. */
static void scc(struct graph *G, int mask)
{
    uint32_t next = 1, sp = 0, csp = 0, n_comp = 0;

    memset(G->index, 0, G->n * sizeof *G->index);
    memset(G->on, 0, G->n);
    for (uint32_t root = 0; root < G->n; root++) {
        if (G->index[root])
            continue;
        G->cs[csp++] = root;
        G->index[root] = G->low[root] = next++;
        G->stack[sp++] = root;
        G->on[root] = 1;
        G->it[root] = G->off[root];
        while (csp) {
            uint32_t v = G->cs[csp - 1];
            if (G->it[v] < G->off[v + 1]) {
                const struct edge *e = &G->e[G->it[v]++];
                uint32_t w = e->b;
                if (!(e->type & mask))
                    continue;
                if (!G->index[w]) {
                    G->index[w] = G->low[w] = next++;
                    G->stack[sp++] = w;
                    G->on[w] = 1;
                    G->it[w] = G->off[w];
                    G->cs[csp++] = w;
                } else if (G->on[w] && G->index[w] < G->low[v]) {
                    G->low[v] = G->index[w];
                }
                continue;
            }
            csp--;
            if (csp && G->low[v] < G->low[G->cs[csp - 1]])
                G->low[G->cs[csp - 1]] = G->low[v];
            if (G->low[v] == G->index[v]) {
                uint32_t w;
                do {
                    w = G->stack[--sp];
                    G->on[w] = 0;
                    G->comp[w] = n_comp;
                } while (w != v);
                n_comp++;
            }
        }
    }
}

/* Shortest path from src to dst over mask edges inside comp (of the
 * component array c): fills path with edge indices, returns its length, 0
 * if none. */
static size_t bfs(struct graph *G, const uint32_t *c, uint32_t src, uint32_t dst, int mask,
                  uint32_t *path, size_t max)
{
    size_t head = 0, tail = 0, len = 0;
    uint32_t seen_mark = UINT32_MAX;

    G->queue[tail++] = src;
    G->prev[src] = seen_mark;
    while (head < tail) {
        uint32_t v = G->queue[head++];
        for (size_t i = G->off[v]; i < G->off[v + 1]; i++) {
            const struct edge *e = &G->e[i];
            if (!(e->type & mask) || c[e->b] != c[src] || G->prev[e->b])
                continue;
            G->prev[e->b] = (uint32_t)i + 1;
            if (e->b == dst)
                goto found;
            G->queue[tail++] = e->b;
        }
    }
    for (size_t i = 0; i < tail; i++)     /* prev is all zero between searches */
        G->prev[G->queue[i]] = 0;
    return 0;
found:
    for (uint32_t v = dst; v != src && len < max; v = G->e[G->prev[v] - 1].a)
        path[len++] = G->prev[v] - 1;
    for (size_t i = 0; i < tail; i++)
        G->prev[G->queue[i]] = 0;
    G->prev[dst] = 0;
    for (size_t i = 0; i < len / 2; i++) {
        uint32_t t = path[i];
        path[i] = path[len - 1 - i];
        path[len - 1 - i] = t;
    }
    return len;
}

static const char *edge_name(int type)
{
    return type == E_WW ? "ww" : type == E_WR ? "wr" : type == E_RW ? "rw" : "realtime";
}

/* Report the cycle of edge indices cyc[0..n) as criterion. */
static int report_cycle(struct tx *X, struct graph *G, const char *criterion, const char *what,
                        const uint32_t *cyc, size_t n)
{
    char msg[1024];
    size_t len;
    uint32_t tx[64];

    size_t k = 0, n_tx = 0;

    for (size_t i = 0; i < n; i++)     /* the real-time chain's nodes are not transactions */
        n_tx += G->e[cyc[i]].a < X->n_t;
    len = (size_t)snprintf(msg, sizeof msg, "%s, a cycle of %zu transactions:", what, n_tx);
    for (size_t i = 0; i < n && len < sizeof msg; i++) {
        const struct edge *e = &G->e[cyc[i]];
        if (e->a >= X->n_t)
            continue;
        const struct torn_hop *o = &X->h->ops[X->t[e->a].op];
        if (k < 64)
            tx[k++] = e->a;
        len += (size_t)snprintf(msg + len, sizeof msg - len, " p%lld(line %u) -%s%s%.30s->",
                                o->process, o->line_invoke, edge_name(e->type),
                                e->type == E_RT ? "" : " ",
                                e->type == E_RT ? "" : torn_intern_str(X->keys, e->key));
    }
    if (len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, " back to the first");
    return report(X, criterion, G->e[cyc[0]].key, tx, k, msg);
}

/* Name a cycle found through a real-time edge by the dependencies in it. */
static const char *realtime_kind(const struct graph *G, const uint32_t *cyc, size_t n)
{
    int wr = 0, rw = 0;

    for (size_t i = 0; i < n; i++) {
        wr += G->e[cyc[i]].type == E_WR;
        rw += G->e[cyc[i]].type == E_RW;
    }
    return rw > 1 ? "G2-item-realtime" : rw ? "G-single-realtime" : wr ? "G1c-realtime"
                                                                     : "G0-realtime";
}

/* Searches a component may spend looking for its shortest cycle of one
 * kind (a bound in work, not time: the same evidence on every run). */
#define MAX_TRIES_PER_COMP 1000

struct cand {
    uint32_t comp, edge;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;

    if (x->comp != y->comp)
        return x->comp < y->comp ? -1 : 1;
    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

/* Per component of c not yet in done: each edge of type first (a -> b)
 * inside it, closed by the shortest path b -> a over mask, is a cycle; the
 * shortest of them is reported and marks the component done. */
static int cycles_through(struct tx *X, struct graph *G, const uint32_t *c, uint8_t *done,
                          int first, int mask, const char *criterion, const char *what)
{
    uint32_t cyc[256], best[256];
    size_t n_c = 0, n_e = G->off[G->n];
    struct cand *cd = malloc((n_e + 1) * sizeof *cd);
    int rc = TORN_OK;

    if (!cd)
        return nomem(X);
    for (size_t i = 0; i < n_e; i++) {
        const struct edge *e = &G->e[i];
        if ((e->type & first) && c[e->a] == c[e->b] && !done[c[e->a]])
            cd[n_c++] = (struct cand){c[e->a], (uint32_t)i};
    }
    if (n_c)
        qsort(cd, n_c, sizeof *cd, cmp_cand);
    for (size_t i = 0, j; i < n_c && rc == TORN_OK; i = j) {
        size_t n_best = 0, tries = 0;
        for (j = i; j < n_c && cd[j].comp == cd[i].comp; j++) {
            const struct edge *e = &G->e[cd[j].edge];
            if (tries++ >= MAX_TRIES_PER_COMP || n_best == 2)
                continue;          /* two transactions: nothing is shorter */
            size_t n = bfs(G, c, e->b, e->a, mask, cyc + 1, 255);
            if (n && (!n_best || n + 1 < n_best)) {
                cyc[0] = cd[j].edge;
                n_best = n + 1;
                memcpy(best, cyc, n_best * sizeof *best);
            }
        }
        if (n_best) {
            done[cd[i].comp] = 1;
            rc = report_cycle(X, G, criterion ? criterion : realtime_kind(G, best, n_best),
                              what, best, n_best);
        }
    }
    free(cd);
    return rc;
}

/* Real-time order as edges, in O(n log n) instead of one edge per ordered
 * pair: the ok transactions, by completion time, feed a chain of extra
 * nodes V_0 -> V_1 -> ...: T_i -> V_i, and V_j -> T for the last V_j
 * completed before T was invoked.  A path from T1 to T2 through the chain
 * exists exactly when T1 completed before T2 began.  (Each process runs one
 * operation at a time, so process order is part of real-time order.)
 * Returns the number of chain nodes. */
struct tc {
    uint64_t t;
    uint32_t tx;
};

static int cmp_tc(const void *a, const void *b)
{
    const struct tc *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->tx < y->tx ? -1 : x->tx > y->tx;
}

static int add_realtime(struct tx *X, size_t *n_v_out)
{
    struct tc *c = malloc((X->n_t + 1) * sizeof *c);
    size_t n_c = 0;
    int rc = TORN_OK;

    *n_v_out = 0;
    if (!c)
        return nomem(X);
    for (size_t i = 0; i < X->n_t; i++)
        if (X->t[i].outcome == TORN_OUT_OK)
            c[n_c++] = (struct tc){X->h->ops[X->t[i].op].t_complete, (uint32_t)i};
    if (n_c)
        qsort(c, n_c, sizeof *c, cmp_tc);
    uint32_t v0 = (uint32_t)X->n_t;
    for (size_t i = 0; i < n_c && rc == TORN_OK; i++) {
        rc = add_edge(X, c[i].tx, v0 + (uint32_t)i, E_RT, UINT32_MAX);
        if (rc == TORN_OK && i)
            rc = add_edge(X, v0 + (uint32_t)i - 1, v0 + (uint32_t)i, E_RT, UINT32_MAX);
    }
    for (size_t i = 0; i < X->n_t && rc == TORN_OK; i++) {
        uint64_t inv = X->h->ops[X->t[i].op].t_invoke;
        /* the first completion at or after inv (tx 0 sorts first) */
        size_t lo = torn_lower_bound(c, n_c, sizeof *c, &(struct tc){.t = inv}, cmp_tc);
        if (lo)
            rc = add_edge(X, v0 + (uint32_t)lo - 1, (uint32_t)i, E_RT, UINT32_MAX);
    }
    free(c);
    *n_v_out = n_c;
    return rc;
}

static int find_cycles(struct tx *X)
{
    struct graph G;
    uint32_t *c_ww = NULL, *c_wwr = NULL, *c_all = NULL, *c_rt = NULL;
    uint8_t *done = NULL;
    size_t n_v, n, m = 0;
    int rc = add_realtime(X, &n_v);

    if (rc != TORN_OK)
        return rc;
    n = X->n_t + n_v;
    memset(&G, 0, sizeof G);
    if (X->n_e)
        qsort(X->e, X->n_e, sizeof *X->e, cmp_edge);
    for (size_t i = 0; i < X->n_e; i++)      /* drop duplicate edges */
        if (!m || cmp_edge(&X->e[m - 1], &X->e[i]))
            X->e[m++] = X->e[i];
    X->n_e = m;
    G.n = n;
    G.e = X->e;
    G.off = calloc(n + 2, sizeof *G.off);
    G.index = malloc((n + 1) * sizeof *G.index);
    G.low = malloc((n + 1) * sizeof *G.low);
    G.stack = malloc((n + 1) * sizeof *G.stack);
    G.cs = malloc((n + 1) * sizeof *G.cs);
    G.it = malloc((n + 1) * sizeof *G.it);
    G.on = malloc(n + 1);
    G.prev = calloc(n + 1, sizeof *G.prev);
    G.queue = malloc((n + 1) * sizeof *G.queue);
    c_ww = malloc((n + 1) * sizeof *c_ww);
    c_wwr = malloc((n + 1) * sizeof *c_wwr);
    c_all = malloc((n + 1) * sizeof *c_all);
    c_rt = malloc((n + 1) * sizeof *c_rt);
    done = malloc(n + 1);
    if (!done || !c_rt || !G.off || !G.index || !G.low || !G.stack || !G.cs || !G.it || !G.on || !G.prev ||
        !G.queue || !c_ww || !c_wwr || !c_all) {
        rc = nomem(X);
        goto out;
    }
    for (size_t i = 0; i < X->n_e; i++)
        G.off[X->e[i].a + 1]++;
    for (size_t i = 0; i < n; i++)
        G.off[i + 1] += G.off[i];
    memset(done, 0, n + 1);
    G.comp = c_ww;
    scc(&G, E_WW);
    G.comp = c_wwr;
    scc(&G, E_WW | E_WR);
    G.comp = c_all;
    scc(&G, E_WW | E_WR | E_RW);
    G.comp = c_rt;
    scc(&G, E_WW | E_WR | E_RW | E_RT);
    /* G0 and G1c: one per component of their graph.  G-single: an rw edge
     * closed by a path without rw; G2-item: in components with no G-single,
     * an rw edge closed by any path (so it holds two rw edges or more). */
    rc = cycles_through(X, &G, c_ww, done, E_WW, E_WW, "G0", "dirty write");
    memset(done, 0, n + 1);
    if (rc == TORN_OK)
        rc = cycles_through(X, &G, c_wwr, done, E_WR, E_WW | E_WR, "G1c",
                            "circular information flow");
    memset(done, 0, n + 1);
    if (rc == TORN_OK)
        rc = cycles_through(X, &G, c_all, done, E_RW, E_WW | E_WR, "G-single",
                            "read skew (one anti-dependency)");
    if (rc == TORN_OK)
        rc = cycles_through(X, &G, c_all, done, E_RW, E_WW | E_WR | E_RW, "G2-item",
                            "write skew (two or more anti-dependencies)");
    /* Strict serializability: cycles that need real-time order, named by
     * the dependencies they hold (Elle's -realtime anomalies). */
    memset(done, 0, n + 1);
    if (rc == TORN_OK)
        rc = cycles_through(X, &G, c_rt, done, E_RT, E_WW | E_WR | E_RW | E_RT, NULL,
                            "against real-time order");
out:
    free(G.off);
    free(G.index);
    free(G.low);
    free(G.stack);
    free(G.cs);
    free(G.it);
    free(G.on);
    free(G.prev);
    free(G.queue);
    free(c_ww);
    free(c_wwr);
    free(c_all);
    free(c_rt);
    free(done);
    return rc;
}

/* ---- the checkers ---- */

static int check_txn(int model, const struct torn_hist *h, const struct torn_check_opts *opts,
                     struct torn_check_result *res, struct torn_err *err)
{
    struct tx X;
    uint64_t t0 = torn_now_ns();
    int rc;

    (void)opts;
    memset(&X, 0, sizeof X);
    X.h = h;
    X.model = model;
    X.res = res;
    X.err = err;
    X.keys = torn_intern_new();
    X.vals = torn_intern_new();
    rc = X.keys && X.vals ? parse_txns(&X) : nomem(&X);
    if (rc == TORN_OK)
        rc = per_key(&X);
    if (rc == TORN_OK)
        rc = find_cycles(&X);
    res->n_ops_checked = X.n_t;
    res->n_keys = X.keys ? torn_intern_count(X.keys) : 0;
    res->elapsed_s = (double)(torn_now_ns() - t0) / 1e9;
    for (size_t i = 0; i < X.n_t; i++) {
        for (size_t j = 0; j < X.t[i].n_mops; j++)
            free(X.t[i].mops[j].list);
        free(X.t[i].mops);
    }
    free(X.t);
    free(X.writer);
    free(X.wkey);
    free(X.wfinal);
    free(X.e);
    free(X.buf.s);
    torn_intern_free(X.keys);
    torn_intern_free(X.vals);
    return rc;
}

static int check_append(const struct torn_hist *h, const struct torn_check_opts *opts,
                        struct torn_check_result *res, struct torn_err *err)
{
    return check_txn(M_APPEND, h, opts, res, err);
}

static int check_rw(const struct torn_hist *h, const struct torn_check_opts *opts,
                    struct torn_check_result *res, struct torn_err *err)
{
    return check_txn(M_RW, h, opts, res, err);
}

const char *torn_check_txn_model(const struct torn_hist *h)
{
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *o = &h->ops[i];
        const cJSON *v = torn_hist_value(h, o->input_id != TORN_HIST_NONE ? o->input_id
                                                                           : o->output_id);
        if (strcmp(torn_hist_f(h, o), "txn"))
            return NULL;
        for (const cJSON *m = cJSON_IsArray(v) ? v->child : NULL; m; m = m->next) {
            const cJSON *f = cJSON_GetArrayItem(m, 0);
            if (cJSON_IsString(f) && !strcmp(f->valuestring, "append"))
                return "list-append";
            if (cJSON_IsString(f) && !strcmp(f->valuestring, "w"))
                return "rw-register";
        }
    }
    return h->n_ops ? "list-append" : NULL;
}

const struct torn_checker_ops torn_checker_list_append = {
    TORN_CHECKER_OPS_V1, "list-append",
    "transactions of [append k v] / [r k list] (Elle): G0 G1a G1b G1c G-single G2-item, "
    "lost updates", check_append};
const struct torn_checker_ops torn_checker_rw_register = {
    TORN_CHECKER_OPS_V1, "rw-register",
    "transactions of [w k v] / [r k v] (Elle): G0 G1a G1b G1c G-single G2-item, lost updates",
    check_rw};

/* torn: linearizability checker for register, CAS-register and key-value
 * models.
 *
 * Wing & Gong's search with Lowe's memoisation, as in Porcupine: the call and
 * return entries of every operation of one key sit in a doubly linked list
 * in time order; the search walks it, linearizing a call when the model
 * allows it and the (linearized set, state) pair is new, and backtracks when
 * it reaches the return of an operation it has not linearized.  Keys are
 * independent (P-compositionality), so each key is searched alone.
 *
 * The linearized set is stored compactly: the operations with a known
 * outcome are numbered by call time, and a set is (m = the first one not
 * linearized, the bits from m to the highest linearized one), which stays a
 * few words wide however long the history is; operations with an unknown
 * outcome (`info`: they may take effect at any later time, or never) have a
 * bitset of their own.  Every step checks a time and memory bound and gives
 * up with UNKNOWN plus the longest partial linearization.
 *
 * A failing key is shrunk to a small counterexample with moves that keep it
 * non-linearizable only if the whole history is: truncating at a time
 * (operations still open at that time lose their outcome), dropping reads,
 * and dropping writes whose value nobody observes.
 */
#include "checker.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "intern.h"
#include "core/err.h"
#include "core/search.h"
#include "history_read.h"
#include "value.h"
#include "core/util.h"

enum model { M_REGISTER, M_CAS, M_KV };
enum lkind { L_READ, L_WRITE, L_CAS, L_APPEND };

#define NEVER UINT64_MAX

struct lop {
    size_t idx;          /* index into hist->ops */
    int kind;            /* enum lkind */
    int known;           /* 1: ok (outcome known), 0: info */
    int64_t a, b;        /* read: value read; write/append: value; cas: expected, new */
    uint64_t call, ret;  /* ret NEVER for info */
    uint32_t slot;       /* definite: rank by call; info: info number */
};

struct node {
    struct node *prev, *next;
    struct node *match;  /* call <-> return */
    struct lop *op;
    int is_ret;
};

/* Cache of seen (set, state): open addressing over offsets into an arena. */
struct cache {
    uint64_t *slots;     /* arena offset + 1, 0 = empty */
    uint64_t *hashes;
    size_t n_slots, n;
    uint64_t *arena;     /* entries: [len][state][m][words...] */
    size_t arena_len, arena_cap;
};

struct lin {
    const struct torn_hist *h;
    const struct torn_check_opts *opts;
    struct torn_intern *vals;     /* values and states, as canonical text */
    int64_t initial;
    enum model model;
    uint64_t deadline_ns;         /* 0 = none: the outer safety limit (wall time) */
    uint64_t state_limit;         /* states count that ends this slice of work, 0 = none:
                                     the verdict's bound, the same on every run */
    size_t mem_limit;
    uint64_t states;
    size_t mem_peak;
    int out_of_bounds;            /* 1 time, 2 memory, 3 state budget */
    int n_shrunk;                 /* keys shrunk so far */
    int64_t *memo;                /* by history value id: [3 id] its value id, [3 id + 1],
                                     [3 id + 2] a cas pair's; -3 not yet */
    struct torn_vbuf text;        /* scratch for canonical texts */
    const char *last_f;           /* the last f seen by convert, and its kind */
    int last_kind;
};

/* The search over one set of operations. */
struct search {
    struct lop **ops;             /* the operations, any order */
    size_t n, n_def, n_info;
    size_t *best;                 /* longest partial linearization (hist indices) */
    size_t n_best;
};

enum { S_LINEARIZABLE, S_NOT, S_UNKNOWN, S_NOMEM };

/* Work bounds in search states, so that the verdict, the failing keys and
 * the counterexample are the same on every run whatever the machine's load
 * (wall time is only the outer safety limit, --time-limit).  Keys are
 * searched in rounds: each gets SLICE_STATES (x4 per round) so one hard key
 * cannot starve the easy ones; the seventh round is unbounded. */
#define SLICE_STATES 25000ULL
#define SHRINK_STATES_FIRST 600000ULL
#define SHRINK_STATES_NEXT 150000ULL
/* A shrink candidate may take twice the states of the proof that its
 * truncated start fails, plus this many. */
#define SHRINK_CANDIDATE_STATES 10000ULL
/* The shrink's budget: this many times the states of the key's failing
 * search, plus SHRINK_CANDIDATE_STATES. */
#define SHRINK_SEARCHES 8ULL

/* ---- values ---- */

/* The id of a value's canonical text (value.h: the one equality of every
 * checker).  The key-value model's values are strings, taken as they are
 * (append concatenates them). */
static int64_t value_id(struct lin *L, const cJSON *v)
{
    if (L->model == M_KV) {
        const char *s = cJSON_IsString(v) ? v->valuestring : "";
        if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
            return -2;
        return torn_intern_id(L->vals, s, strlen(s));
    }
    L->text.len = 0;
    if (torn_value_canon(v, &L->text) < 0)
        return TORN_E_NOMEM;
    return torn_intern_id(L->vals, L->text.s, L->text.len);
}

static int64_t append_id(struct lin *L, int64_t state, int64_t suffix)
{
    size_t l1 = torn_intern_len(L->vals, state), l2 = torn_intern_len(L->vals, suffix);
    char stackbuf[512];
    char *buf = l1 + l2 <= sizeof stackbuf ? stackbuf : malloc(l1 + l2);
    int64_t id;

    if (!buf)
        return TORN_E_NOMEM;
    memcpy(buf, torn_intern_str(L->vals, state), l1);
    memcpy(buf + l1, torn_intern_str(L->vals, suffix), l2);
    /* FNV-1a is streaming: hash the suffix alone onto the state's hash
     * (the states grow with the history; hashing them whole was 85 % of
     * kv c50-bad's time). */
    id = torn_intern_id_hashed(L->vals, buf, l1 + l2,
                               torn_fnv1a(torn_intern_hash(L->vals, state), buf + l1, l2));
    if (buf != stackbuf)
        free(buf);
    return id;
}

/* The model: 1 and *next if op may take effect in state, 0 if not, TORN_E_NOMEM. */
static int step(struct lin *L, int64_t state, const struct lop *op, int64_t *next)
{
    switch (op->kind) {
    case L_READ:
        *next = state;
        return !op->known || state == op->a;
    case L_WRITE:
        *next = op->a;
        return 1;
    case L_CAS:
        if (state == op->a) {
            *next = op->b;
            return 1;
        }
        *next = state;        /* unknown outcome: it may have failed */
        return !op->known;
    case L_APPEND:
        *next = append_id(L, state, op->a);
        return *next < 0 ? TORN_E_NOMEM : 1;
    }
    return 0;
}

/* ---- converting the history ---- */

static int kind_of(enum model m, const char *f)
{
    if (!strcmp(f, "read") || !strcmp(f, "get"))
        return L_READ;
    if (!strcmp(f, "write") || !strcmp(f, "put"))
        return L_WRITE;
    if (m == M_CAS && !strcmp(f, "cas"))
        return L_CAS;
    if (m == M_KV && !strcmp(f, "append"))
        return L_APPEND;
    return -1;
}

static const char *model_ops(enum model m)
{
    return m == M_REGISTER ? "read, write" : m == M_CAS ? "read, write, cas"
                                                        : "get/read, put/write, append";
}

/* value_id of history value hid (TORN_HIST_NONE: absent) or, part 1 or 2,
 * of its first or second array element.  A register compares canonical
 * texts, and an element of an array's text is its own canonical text: no
 * tree (a history of a million distinct values builds none); a kv checker
 * and a set's element need the tree. */
static int64_t value_id_hist(struct lin *L, uint32_t hid, int part)
{
    const char *t = torn_hist_value_text(L->h, hid);
    size_t len = torn_hist_value_len(L->h, hid);
    struct torn_vspan kv[2];
    const cJSON *v;

    if (L->model != M_KV && !part)
        return torn_intern_id(L->vals, t, len);
    if (L->model != M_KV && torn_value_canon_items(t, len, kv, 2) == 2)
        return torn_intern_id(L->vals, kv[part - 1].s, kv[part - 1].len);
    if (torn_hist_tree(L->h, hid, &v) != TORN_OK)
        return TORN_E_NOMEM;
    return value_id(L, part ? cJSON_GetArrayItem(v, part - 1) : v);
}

/* value_id_hist, computed once per distinct value. */
static int64_t value_id_of(struct lin *L, uint32_t hid, int part)
{
    int64_t *m;

    if (hid == TORN_HIST_NONE || !L->memo)
        return value_id_hist(L, hid, part);
    m = &L->memo[3 * (size_t)hid + (size_t)part];
    if (*m == -3)
        *m = value_id_hist(L, hid, part);
    return *m;
}

/* Is history value hid an array (or set) of two: 1, 0, TORN_E_NOMEM. */
static int is_pair(struct lin *L, uint32_t hid)
{
    const char *t = torn_hist_value_text(L->h, hid);
    struct torn_vspan kv[2];
    const cJSON *in;

    if (t[0] != '#')    /* not a set: the text says */
        return torn_value_canon_items(t, torn_hist_value_len(L->h, hid), kv, 2) == 2;
    if (torn_hist_tree(L->h, hid, &in) != TORN_OK)
        return TORN_E_NOMEM;
    return cJSON_IsArray(in) && in->child && in->child->next && !in->child->next->next;
}

/* Fill o from hist op i.  Returns 1 when it takes part, 0 when it cannot
 * have had an effect (fail; a read that did not complete ok), <0 error. */
static int convert(struct lin *L, size_t i, struct lop *o, struct torn_err *err)
{
    const struct torn_hop *hop = &L->h->ops[i];
    int pair;

    memset(o, 0, sizeof *o);
    o->idx = i;
    if (torn_hist_f(L->h, hop) != L->last_f) {      /* f strings are interned: few distinct pointers */
        L->last_f = torn_hist_f(L->h, hop);
        L->last_kind = kind_of(L->model, torn_hist_f(L->h, hop));
    }
    o->kind = L->last_kind;
    if (o->kind < 0)
        return torn_err_set(err, TORN_E_CONFIG,
                            "%s:%u: operation \"%s\" is not part of this model (%s)",
                            L->h->name, hop->line_invoke, torn_hist_f(L->h, hop), model_ops(L->model));
    if (hop->outcome == TORN_OUT_FAIL || (o->kind == L_READ && hop->outcome != TORN_OUT_OK))
        return 0;
    o->known = hop->outcome == TORN_OUT_OK;
    o->call = hop->t_invoke;
    o->ret = o->known ? hop->t_complete : NEVER;
    if (o->kind == L_READ) {
        o->a = value_id_of(L, hop->output_id, 0);
    } else if (o->kind == L_CAS) {
        if ((pair = is_pair(L, hop->input_id)) < 0)
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        if (!pair)
            return torn_err_set(err, TORN_E_CONFIG,
                                "%s:%u: cas needs value [expected, new]", L->h->name,
                                hop->line_invoke);
        o->a = value_id_of(L, hop->input_id, 1);
        o->b = value_id_of(L, hop->input_id, 2);
    } else {
        o->a = value_id_of(L, hop->input_id, 0);
    }
    if (o->a == -2 || o->b == -2)
        return torn_err_set(err, TORN_E_CONFIG, "%s:%u: key-value values must be strings",
                            L->h->name, hop->line_invoke);
    if (o->a < 0 || o->b < 0)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    return 1;
}

/* ---- the cache of (linearized set, state) ---- */

static void cache_free(struct cache *c)
{
    free(c->slots);
    free(c->hashes);
    free(c->arena);
    memset(c, 0, sizeof *c);
}

static int cache_grow(struct cache *c)
{
    size_t n_slots = c->n_slots ? c->n_slots * 2 : 1024;
    uint64_t *slots = calloc(n_slots, sizeof *slots), *hashes = calloc(n_slots, sizeof *hashes);

    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return TORN_E_NOMEM;
    }
    for (size_t i = 0; i < c->n_slots; i++) {
        if (!c->slots[i])
            continue;
        size_t j = c->hashes[i] & (n_slots - 1);
        while (slots[j])
            j = (j + 1) & (n_slots - 1);
        slots[j] = c->slots[i];
        hashes[j] = c->hashes[i];
    }
    free(c->slots);
    free(c->hashes);
    c->slots = slots;
    c->hashes = hashes;
    c->n_slots = n_slots;
    return 0;
}

/* Insert key[0..len); 1 if new, 0 if present, TORN_E_NOMEM. */
static int cache_insert(struct cache *c, const uint64_t *key, size_t len)
{
    uint64_t hash = torn_fnv1a(TORN_FNV_INIT, key, len * sizeof *key);
    size_t i;

    if ((c->n + 1) * 2 > c->n_slots && cache_grow(c) < 0)
        return TORN_E_NOMEM;
    for (i = hash & (c->n_slots - 1); c->slots[i]; i = (i + 1) & (c->n_slots - 1)) {
        const uint64_t *e = c->arena + c->slots[i] - 1;
        if (c->hashes[i] == hash && e[0] == len && !memcmp(e + 1, key, len * sizeof *key))
            return 0;
    }
    if (c->arena_len + len + 1 > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap * 2 : 4096;
        while (cap < c->arena_len + len + 1)
            cap *= 2;
        uint64_t *a = realloc(c->arena, cap * sizeof *a);
        if (!a)
            return TORN_E_NOMEM;
        c->arena = a;
        c->arena_cap = cap;
    }
    c->arena[c->arena_len] = len;
    memcpy(c->arena + c->arena_len + 1, key, len * sizeof *key);
    c->slots[i] = c->arena_len + 1;
    c->hashes[i] = hash;
    c->arena_len += len + 1;
    c->n++;
    return 1;
}

static size_t cache_bytes(const struct cache *c)
{
    return c->n_slots * 2 * sizeof(uint64_t) + c->arena_cap * sizeof(uint64_t);
}

/* The common key -- no `info` operation linearized, state and m below 2^32,
 * every linearized definite operation within 64 above m -- is two words,
 * (state << 32 | m + 1, window of bits m+1 .. m+64), kept inline: a 16-byte
 * slot instead of an arena entry, a slot and a hash (70-90 bytes).  A set
 * always takes the same form, so this cache and the general one never hold
 * the same set.  The slots are split into one small table per 64 values of
 * m: the search moves slowly along m, so the tables it touches stay in the
 * processor cache instead of one random miss per state in a table of
 * hundreds of MiB. */
struct cblock {
    uint64_t *slots;     /* pairs; [0] == 0: empty */
    uint32_t n_slots, n; /* n_slots a power of two (0: not allocated) */
};

struct ccache {
    struct cblock *blocks;   /* by m >> 6 */
    size_t n_blocks;
    size_t bytes;
};

static uint64_t ckey_hash(uint64_t k0, uint64_t k1)
{
    uint64_t x = k0 ^ (k1 * 0x9E3779B97F4A7C15ULL);

    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 29;
    return x;
}

static int cblock_resize(struct cblock *b, uint32_t n_slots)
{
    uint64_t *slots = calloc(n_slots, 2 * sizeof *slots);

    if (!slots)
        return TORN_E_NOMEM;
    for (uint32_t i = 0; i < b->n_slots; i++) {
        uint64_t k0 = b->slots[2 * i], k1 = b->slots[2 * i + 1];
        if (!k0)
            continue;
        size_t j = ckey_hash(k0, k1) & (n_slots - 1);
        while (slots[2 * j])
            j = (j + 1) & (n_slots - 1);
        slots[2 * j] = k0;
        slots[2 * j + 1] = k1;
    }
    free(b->slots);
    b->slots = slots;
    b->n_slots = n_slots;
    return 0;
}

static int ccache_init(struct ccache *c, size_t n_def)
{
    memset(c, 0, sizeof *c);
    c->n_blocks = (n_def >> 6) + 2;
    c->blocks = calloc(c->n_blocks, sizeof *c->blocks);
    c->bytes = c->n_blocks * sizeof *c->blocks;
    return c->blocks ? 0 : -1;
}

/* Insert (m, k1); 1 if new, 0 if present, TORN_E_NOMEM. */
static int ccache_insert(struct ccache *c, uint64_t state, size_t m, uint64_t k1)
{
    struct cblock *b = &c->blocks[m >> 6];
    uint64_t k0 = state << 32 | (m + 1);
    size_t i, mask;

    if ((b->n + 1) * 4 > b->n_slots * 3) {
        uint32_t old = b->n_slots, n_slots = old ? old * 2 : 64;
        if (n_slots == 0 || cblock_resize(b, n_slots) < 0)
            return TORN_E_NOMEM;
        c->bytes += (size_t)(n_slots - old) * 2 * sizeof(uint64_t);
    }
    mask = b->n_slots - 1;
    for (i = ckey_hash(k0, k1) & mask; b->slots[2 * i]; i = (i + 1) & mask)
        if (b->slots[2 * i] == k0 && b->slots[2 * i + 1] == k1)
            return 0;
    b->slots[2 * i] = k0;
    b->slots[2 * i + 1] = k1;
    b->n++;
    return 1;
}

static void ccache_free(struct ccache *c)
{
    for (size_t i = 0; c->blocks && i < c->n_blocks; i++)
        free(c->blocks[i].slots);
    free(c->blocks);
    memset(c, 0, sizeof *c);
}

/* ---- the search ---- */

struct frame {
    struct node *call;
    int64_t state;
    int forced;          /* the only choice at its position (allowed_read) */
};

struct run {
    struct lin *L;
    struct search *S;
    uint64_t *def_bits, *info_bits;   /* linearized sets */
    size_t m, top;                     /* first unlinearized definite; highest linearized + 1 */
    uint64_t *key;                     /* scratch */
    size_t n_info_lin;                 /* info operations linearized */
    struct cache cache;
    struct ccache ccache;
    struct frame *stack;
    size_t sp, best_valid;
};

#define BIT(b, i) (((b)[(i) >> 6] >> ((i) & 63)) & 1)

static size_t make_key(struct run *r, int64_t state)
{
    size_t n = 0, info_words = (r->S->n_info + 63) / 64;

    r->key[n++] = (uint64_t)state;
    r->key[n++] = r->m;
    for (size_t w = 0; w < info_words; w++)
        r->key[n++] = r->info_bits[w];
    if (r->top > r->m)
        for (size_t w = r->m >> 6; w <= (r->top - 1) >> 6; w++)
            r->key[n++] = r->def_bits[w];
    return n;
}

/* Remember (the linearized set, state); 1 if new, 0 if seen, TORN_E_NOMEM. */
static int remember(struct run *r, int64_t state)
{
    if (r->n_info_lin == 0 && state >= 0 && state < ((int64_t)1 << 32) &&
        r->m + 1 < ((size_t)1 << 32) && r->top <= r->m + 65) {
        size_t b = r->m + 1, w = b >> 6, sh = b & 63;
        uint64_t win = r->def_bits[w] >> sh;
        if (sh && r->top > (w + 1) << 6)
            win |= r->def_bits[w + 1] << (64 - sh);
        return ccache_insert(&r->ccache, (uint64_t)state, r->m, win);
    }
    return cache_insert(&r->cache, r->key, make_key(r, state));
}

static void mark(struct run *r, const struct lop *op)
{
    if (!op->known) {
        r->info_bits[op->slot >> 6] |= 1ULL << (op->slot & 63);
        r->n_info_lin++;
        return;
    }
    r->def_bits[op->slot >> 6] |= 1ULL << (op->slot & 63);
    if (op->slot >= r->top)
        r->top = op->slot + 1;
    while (r->m < r->S->n_def && BIT(r->def_bits, r->m))
        r->m++;
}

static void unmark(struct run *r, const struct lop *op)
{
    if (!op->known) {
        r->info_bits[op->slot >> 6] &= ~(1ULL << (op->slot & 63));
        r->n_info_lin--;
        return;
    }
    r->def_bits[op->slot >> 6] &= ~(1ULL << (op->slot & 63));
    if (op->slot < r->m)
        r->m = op->slot;
    while (r->top > r->m && !BIT(r->def_bits, r->top - 1))
        r->top--;
}

static void lift(struct node *call)
{
    struct node *ret = call->match;

    call->prev->next = call->next;
    if (call->next)
        call->next->prev = call->prev;
    ret->prev->next = ret->next;
    if (ret->next)
        ret->next->prev = ret->prev;
}

static void unlift(struct node *call)
{
    struct node *ret = call->match;

    ret->prev->next = ret;
    if (ret->next)
        ret->next->prev = ret;
    call->prev->next = call;
    if (call->next)
        call->next->prev = call;
}

static int cmp_call(const void *a, const void *b)
{
    const struct lop *x = *(struct lop *const *)a, *y = *(struct lop *const *)b;

    if (x->call != y->call)
        return x->call < y->call ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorting through pointers is cache-hostile at a million operations: sort
 * (key, pointer) pairs instead, the key holding everything the order needs. */
struct skey {
    uint64_t t;
    uint64_t tie;         /* (is_ret << 63) | index, or index */
    void *p;
};

static int cmp_skey(const void *a, const void *b)
{
    const struct skey *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

/* The call and return entries in time order, calls before returns at equal
 * times (concurrent), ties by history index.  nodes[2i] and nodes[2i+1] are
 * the call and return of the i-th operation by call time, so the calls are
 * in order already: sort the returns alone (usually nearly in order) and
 * merge.  0 or TORN_E_NOMEM. */
static int order_entries(struct node *nodes, size_t n, struct node **order)
{
    struct skey *k = malloc((n + 1) * sizeof *k);
    size_t i = 0, j = 0, o = 0, sorted = 1;

    if (!k)
        return TORN_E_NOMEM;
    for (size_t x = 0; x < n; x++) {
        struct node *t = &nodes[2 * x + 1];
        k[x] = (struct skey){t->op->ret, t->op->idx, t};
        if (x && cmp_skey(&k[x - 1], &k[x]) > 0)
            sorted = 0;
    }
    if (!sorted)
        qsort(k, n, sizeof *k, cmp_skey);
    while (i < n || j < n) {
        if (j >= n || (i < n && nodes[2 * i].op->call <= k[j].t))
            order[o++] = &nodes[2 * i++];
        else
            order[o++] = k[j++].p;
    }
    free(k);
    return 0;
}

/* Operations by call time (then history index); falls back to the pointer
 * sort when out of memory. */
static void sort_by_call(struct lop **ops, size_t n)
{
    struct skey *k;
    size_t sorted = 1;

    while (sorted < n && cmp_call(&ops[sorted - 1], &ops[sorted]) <= 0)   /* often already */
        sorted++;
    if (sorted >= n)
        return;
    k = malloc((n + 1) * sizeof *k);
    if (!k) {
        qsort(ops, n, sizeof *ops, cmp_call);
        return;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (struct skey){ops[i]->call, ops[i]->idx, ops[i]};
    qsort(k, n, sizeof *k, cmp_skey);
    for (size_t i = 0; i < n; i++)
        ops[i] = k[i].p;
    free(k);
}

static uint64_t now_ns(void)
{
    return torn_now_ns();
}

static int over_bounds(struct run *r)
{
    struct lin *L = r->L;
    size_t mem = cache_bytes(&r->cache) + r->ccache.bytes +
                 torn_intern_bytes(L->vals);

    if (mem > L->mem_peak)
        L->mem_peak = mem;
    if (L->mem_limit && mem > L->mem_limit) {
        L->out_of_bounds = 2;
        return 1;
    }
    if (L->state_limit && L->states >= L->state_limit) {
        L->out_of_bounds = 3;
        return 1;
    }
    if (L->deadline_ns && now_ns() > L->deadline_ns) {
        L->out_of_bounds = 1;
        return 1;
    }
    return 0;
}

/* Has the current budget (states or the outer wall limit) run out? */
static int spent(const struct lin *L)
{
    return (L->state_limit && L->states >= L->state_limit) ||
           (L->deadline_ns && now_ns() > L->deadline_ns);
}

/* Remember the stack if it is the longest partial linearization so far. */
static int note_best(struct run *r)
{
    struct search *S = r->S;

    if (r->sp <= S->n_best)
        return 0;
    for (size_t i = r->best_valid; i < r->sp; i++)
        S->best[i] = r->stack[i].call->op->idx;
    S->n_best = r->sp;
    r->best_valid = r->sp;
    return 0;
}

/* A read the state allows among the calls before the first return (the
 * operations that may come next), or NULL.  Linearizing such a read first is
 * never worse than any other choice: it leaves the state as it is, and every
 * operation that must precede it (returned before it was called) is already
 * linearized, so in any linearization from here it can move to the front.
 * So it is the only branch to try: if it fails, the position fails. */
static struct node *allowed_read(struct node *head, int64_t state)
{
    for (struct node *e = head->next; e && !e->is_ret; e = e->next)
        if (e->op->kind == L_READ && (!e->op->known || e->op->a == state))
            return e;
    return NULL;
}

/* Undo the last linearization and every forced one below it; *entry_out is
 * where the scan resumes.  0, or S_NOT when nothing is left to undo. */
static int backtrack(struct run *r, int64_t *state, struct node **entry_out)
{
    struct frame *fr;

    do {
        if (r->sp == 0)
            return S_NOT;
        fr = &r->stack[--r->sp];
        if (r->best_valid > r->sp)
            r->best_valid = r->sp;
        unmark(r, fr->call->op);
        *state = fr->state;
        unlift(fr->call);
    } while (fr->forced);
    *entry_out = fr->call->next;
    return 0;
}

static int walk(struct run *r, struct node *head)
{
    struct node *entry = head->next, *forced;
    int64_t state = r->L->initial, next;
    uint64_t iter = 0;
    int new_pos = 1;      /* entry is the head of a position not scanned yet */

    while (head->next) {
        if ((++iter & 1023) == 0 && over_bounds(r))
            return S_UNKNOWN;
        forced = new_pos ? allowed_read(head, state) : NULL;
        new_pos = 0;
        if (forced)
            entry = forced;
        if (!entry->is_ret) {
            const struct lop *op = entry->op;
            int ok = step(r->L, state, op, &next);
            if (ok < 0)
                return S_NOMEM;
            if (ok) {
                mark(r, op);
                int fresh = remember(r, next);
                if (fresh < 0)
                    return S_NOMEM;
                if (fresh) {
                    r->L->states++;
                    r->stack[r->sp].call = entry;
                    r->stack[r->sp].forced = forced != NULL;
                    r->stack[r->sp++].state = state;
                    note_best(r);
                    state = next;
                    lift(entry);
                    entry = head->next;
                    new_pos = 1;
                    continue;
                }
                unmark(r, op);
            }
            if (!forced) {
                entry = entry->next;
                continue;
            }
        }
        if (backtrack(r, &state, &entry) == S_NOT)
            return S_NOT;
    }
    return S_LINEARIZABLE;
}

/* Search S; returns S_*. */
static int search_run(struct lin *L, struct search *S)
{
    struct run r;
    struct node *nodes = NULL, **order = NULL, head;
    size_t n = S->n, words_def = (S->n_def + 63) / 64 + 1, words_info = (S->n_info + 63) / 64 + 1;
    size_t n_vals = torn_intern_count(L->vals);   /* states made below are dropped after */
    int rc = S_NOMEM;

    memset(&r, 0, sizeof r);
    memset(&head, 0, sizeof head);
    r.L = L;
    r.S = S;
    S->n_best = 0;
    free(S->best);
    S->best = malloc((n + 1) * sizeof *S->best);
    nodes = malloc((2 * n + 1) * sizeof *nodes);   /* every field set below */
    order = malloc((2 * n + 1) * sizeof *order);
    r.def_bits = calloc(words_def + 2, sizeof *r.def_bits);   /* + the window's reach */
    r.info_bits = calloc(words_info, sizeof *r.info_bits);
    r.key = malloc((words_def + words_info + 4) * sizeof *r.key);
    r.stack = malloc((n + 1) * sizeof *r.stack);
    if (!S->best || !nodes || !order || !r.def_bits || !r.info_bits || !r.key || !r.stack)
        goto out;
    if (ccache_init(&r.ccache, S->n_def) < 0)
        goto out;
    /* Number definite operations by call time, info ones apart. */
    sort_by_call(S->ops, n);
    for (size_t i = 0, d = 0, k = 0; i < n; i++)
        S->ops[i]->slot = (uint32_t)(S->ops[i]->known ? d++ : k++);
    for (size_t i = 0; i < n; i++) {
        struct node *c = &nodes[2 * i], *t = &nodes[2 * i + 1];
        c->op = t->op = S->ops[i];
        c->is_ret = 0;
        t->is_ret = 1;
        c->match = t;
        t->match = c;
        order[2 * i] = c;
        order[2 * i + 1] = t;
    }
    if (order_entries(nodes, n, order) < 0)
        goto out;
    struct node *prev = &head;
    for (size_t i = 0; i < 2 * n; i++) {
        prev->next = order[i];
        order[i]->prev = prev;
        prev = order[i];
    }
    prev->next = NULL;
    rc = walk(&r, &head);
out:
    over_bounds(&r);
    torn_intern_truncate(L->vals, n_vals);
    free(nodes);
    free(order);
    free(r.def_bits);
    free(r.info_bits);
    free(r.key);
    free(r.stack);
    cache_free(&r.cache);
    ccache_free(&r.ccache);
    return rc;
}

/* ---- shrinking a failing key to a counterexample ---- */

/* The operations of set[0..n) truncated at time tau: those called before it;
 * those still open at tau lose their outcome (reads drop out).  Fills
 * out (caller-provided lops, n of them) and ptrs; returns the count. */
static size_t truncate_at(struct lop *const *set, size_t n, uint64_t tau, struct lop *out,
                          struct lop **ptrs)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        const struct lop *o = set[i];
        if (o->call >= tau)
            continue;
        out[k] = *o;
        if (o->known && o->ret > tau) {
            if (o->kind == L_READ)
                continue;
            out[k].known = 0;
            out[k].ret = NEVER;
        }
        ptrs[k] = &out[k];
        k++;
    }
    return k;
}

static int check_set(struct lin *L, struct lop **ops, size_t n)
{
    struct search S;
    int rc;

    memset(&S, 0, sizeof S);
    S.ops = ops;
    S.n = n;
    for (size_t i = 0; i < n; i++) {
        if (ops[i]->known)
            S.n_def++;
        else
            S.n_info++;
    }
    rc = search_run(L, &S);
    free(S.best);
    return rc;
}

/* Is value v observed by an operation of set other than skip? */
static int observed(struct lop *const *set, size_t n, int64_t v, const struct lop *skip)
{
    for (size_t i = 0; i < n; i++) {
        const struct lop *o = set[i];
        if (o == skip)
            continue;
        if ((o->kind == L_READ && o->known && o->a == v) || (o->kind == L_CAS && o->a == v))
            return 1;
    }
    return 0;
}

/* May op be dropped without making a linearizable history non-linearizable? */
static int droppable(const struct lin *L, struct lop *const *set, size_t n, const struct lop *o)
{
    if (o->kind == L_READ)
        return 1;
    if (L->model == M_KV || o->kind == L_APPEND)
        return 0;
    return !observed(set, n, o->kind == L_CAS ? o->b : o->a, o) && o->a != L->initial &&
           (o->kind != L_CAS || o->b != L->initial);
}

/* Try dropping candidates in chunks (ddmin-like); keep drops that leave the
 * set non-linearizable.  A candidate whose search takes more than cap
 * states is kept out of the shrink (dropping an operation can widen the
 * search enormously: kv c50-bad's 23-operation candidate took 447k states
 * where its 29-operation parent took 59k); until is the whole shrink's
 * bound (L->states).  set is compacted in place; returns the new n. */
static size_t shrink_pass(struct lin *L, struct lop **set, size_t n, struct lop **tmp,
                          uint64_t cap, uint64_t until)
{
    for (size_t chunk = n / 2 ? n / 2 : 1;; chunk /= 2) {
        for (size_t start = 0; start < n;) {
            size_t k = 0, dropped = 0;
            for (size_t i = 0; i < n; i++) {
                if (i >= start && i < start + chunk && droppable(L, set, n, set[i])) {
                    dropped++;
                    continue;
                }
                tmp[k++] = set[i];
            }
            if (L->states >= until || spent(L))
                return n;
            L->state_limit = L->states + cap < until ? L->states + cap : until;
            if (dropped && check_set(L, tmp, k) == S_NOT) {
                memcpy(set, tmp, k * sizeof *set);
                n = k;
            } else {
                start += chunk;
            }
            L->state_limit = until;
        }
        if (chunk == 1)
            return n;
    }
}

/* One step of the truncation search: is ops truncated after the mid-th call
 * non-linearizable?  Moves *lo or *hi; S_* of the search (S_UNKNOWN: the
 * budget ran out).  *proof gets the states a failing truncation took. */
static int truncation_step(struct lin *L, struct lop **ops, size_t n, size_t mid, size_t *lo,
                           size_t *hi, uint64_t *proof, struct lop *trunc, struct lop **set)
{
    size_t kk = truncate_at(ops, n, ops[mid - 1]->call + 1, trunc, set);
    uint64_t before = L->states;
    int s = check_set(L, set, kk);

    if (s == S_NOT) {
        *hi = mid;
        *proof = L->states - before;
    } else if (s == S_LINEARIZABLE) {
        *lo = mid;
    }
    return s;
}

/* Shrink the failing key ops[0..n) to a counterexample in *cx_out (history
 * indices).  longest is the key's longest partial linearization and
 * searched the states its failing search took: the truncation search tries
 * just after the longest partial linearization first (where the failing
 * search got stuck: right for kv c50-bad and etcd_099, two searches instead
 * of eight), and the budget is a multiple of searched (a key that failed
 * fast gets a short shrink), at most SHRINK_STATES_FIRST or, after the
 * first failing key, SHRINK_STATES_NEXT. */
static int shrink(struct lin *L, struct lop **ops, size_t n, size_t longest, uint64_t searched,
                  size_t **cx_out, size_t *n_cx)
{
    struct lop *trunc = malloc((n + 1) * sizeof *trunc);
    struct lop **set = malloc((n + 1) * sizeof *set), **tmp = malloc((n + 1) * sizeof *tmp);
    size_t lo = 0, hi = n, k = n;
    uint64_t saved_limit = L->state_limit, proof = 0;
    int rc = -1;

    *cx_out = NULL;
    *n_cx = 0;
    if (!trunc || !set || !tmp)
        goto out;
    sort_by_call(ops, n);
    /* The earliest call time tau (ops[hi-1]->call + 1) at which truncation
     * fails; the set at hi is known to fail (the whole key's did). */
    if (!L->opts->no_minimize) {
        /* A budget of search states, not time: the same counterexample
         * comes out on every run. */
        uint64_t most = L->n_shrunk++ ? SHRINK_STATES_NEXT : SHRINK_STATES_FIRST;
        uint64_t budget = SHRINK_SEARCHES * searched + SHRINK_CANDIDATE_STATES;
        L->state_limit = L->states + (budget < most ? budget : most);
        int s = S_LINEARIZABLE;
        /* Gallop from the guess (steps 1, 2, 4, ... away from it) until the
         * answer changes, then bisect between. */
        for (size_t g = longest + 1, step = 1; s != S_UNKNOWN && lo < g && g < hi; step *= 2) {
            s = truncation_step(L, ops, n, g, &lo, &hi, &proof, trunc, set);
            g = s == S_NOT ? (g > lo + step ? g - step : lo) : g + step;
        }
        while (s != S_UNKNOWN && lo + 1 < hi)
            s = truncation_step(L, ops, n, (lo + hi) / 2, &lo, &hi, &proof, trunc, set);
    }
    k = truncate_at(ops, n, hi < n ? ops[hi - 1]->call + 1 : NEVER, trunc, set);
    if (!L->opts->no_minimize) {
        uint64_t until = L->state_limit, cap = 2 * proof + SHRINK_CANDIDATE_STATES;
        k = shrink_pass(L, set, k, tmp, cap, until);
        k = shrink_pass(L, set, k, tmp, cap, until);
    }
    *cx_out = malloc((k + 1) * sizeof **cx_out);
    if (!*cx_out)
        goto out;
    sort_by_call(set, k);
    for (size_t i = 0; i < k; i++)
        (*cx_out)[i] = set[i]->idx;
    *n_cx = k;
    rc = 0;
out:
    L->state_limit = saved_limit;
    L->out_of_bounds = 0;
    free(trunc);
    free(set);
    free(tmp);
    return rc;
}

/* ---- per key ---- */

struct part {
    const char *key;
    struct lop **ops;
    size_t n, cap;
    int decided;         /* a violation was found without searching */
};

static int cmp_part(const void *a, const void *b)
{
    const struct part *x = a, *y = b;

    if (!x->key || !y->key)
        return !x->key ? (y->key ? -1 : 0) : 1;   /* empty and keyless partitions first */
    return strcmp(x->key, y->key);
}

/* Add op to the partition of its key: partition key_id + 1, 0 for no key
 * (the history numbers its strings densely). */
static int part_add(struct part **parts, size_t *n_parts, const struct torn_hist *h,
                    const struct torn_hop *hop, struct lop *op)
{
    const char *key = torn_hist_key(h, hop->key_id);
    size_t slot = key ? (size_t)hop->key_id + 1 : 0;
    struct part *p;

    if (slot >= *n_parts) {
        struct part *np = realloc(*parts, (slot + 1) * sizeof *np);
        if (!np)
            return TORN_E_NOMEM;
        memset(np + *n_parts, 0, (slot + 1 - *n_parts) * sizeof *np);
        *parts = np;
        *n_parts = slot + 1;
    }
    p = &(*parts)[slot];
    p->key = key;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct lop **no = realloc(p->ops, cap * sizeof *no);
        if (!no)
            return TORN_E_NOMEM;
        p->ops = no;
        p->cap = cap;
    }
    p->ops[p->n++] = op;
    return 0;
}

/* Partitions with room for exactly their operations (one counting pass
 * instead of a copy at every doubling).  0 or TORN_E_NOMEM. */
static int presize_parts(const struct torn_hist *h, const struct lop *lops, size_t n_l,
                         struct part **parts, size_t *n_parts)
{
    size_t n = h->n_strs + 1;
    struct part *p = calloc(n, sizeof *p);

    if (!p)
        return TORN_E_NOMEM;
    *parts = p;
    *n_parts = n;
    for (size_t i = 0; i < n_l; i++) {
        uint32_t k = h->ops[lops[i].idx].key_id;
        if (k == TORN_HIST_NONE || k < h->n_strs)   /* else part_add grows the array */
            p[k == TORN_HIST_NONE ? 0 : (size_t)k + 1].cap++;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i].cap && !(p[i].ops = malloc(p[i].cap * sizeof *p[i].ops)))
            return TORN_E_NOMEM;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int in_sorted(const int64_t *v, size_t n, int64_t x)
{
    return bsearch(&x, v, n, sizeof *v, cmp_i64) != NULL;
}

/* Values written exactly once make some violations provable without a
 * search (as in Knossos/Elle): if the only write W of v completed before
 * another write W2 began, and W2 completed before a read R of v began, then
 * R is stale (v can never come back); if W began after R ended, R read the
 * future.  The initial value counts as written at time 0 when no operation
 * writes it.  Sound for any history; finds nothing when values repeat.
 * Returns the number of violations recorded (at most 3), or <0. */
struct wv {
    int64_t value;
    const struct lop *op;   /* NULL: the initial value */
};

static int cmp_wv(const void *a, const void *b)
{
    const struct wv *x = a, *y = b;

    return x->value < y->value ? -1 : x->value > y->value;
}

static int unique_value_checks(struct lin *L, struct part *p, struct torn_check_result *res)
{
    struct wv *w = malloc((p->n + 2) * sizeof *w);
    struct skey *eff = malloc((p->n + 1) * sizeof *eff);   /* effective writes by return */
    uint64_t *max_call = malloc((p->n + 1) * sizeof *max_call);
    size_t *arg = malloc((p->n + 1) * sizeof *arg);
    size_t n_w = 0, n_e = 0;
    int found = 0, rc = 0;

    if (!w || !eff || !max_call || !arg) {
        rc = TORN_E_NOMEM;
        goto out;
    }
    w[n_w++] = (struct wv){L->initial, NULL};
    for (size_t i = 0; i < p->n; i++) {
        const struct lop *o = p->ops[i];
        if (o->kind != L_WRITE && o->kind != L_CAS)
            continue;
        w[n_w++] = (struct wv){o->kind == L_CAS ? o->b : o->a, o};
        if (o->known)
            eff[n_e++] = (struct skey){o->ret, o->call, (void *)o};
    }
    qsort(w, n_w, sizeof *w, cmp_wv);
    qsort(eff, n_e, sizeof *eff, cmp_skey);
    for (size_t i = 0; i < n_e; i++) {
        int keep = i && max_call[i - 1] >= eff[i].tie;
        max_call[i] = keep ? max_call[i - 1] : eff[i].tie;
        arg[i] = keep ? arg[i - 1] : i;
    }
    for (size_t i = 0; i < p->n && found < 3 && rc >= 0; i++) {
        const struct lop *r = p->ops[i], *wo;
        const struct wv key = {.value = r->a};
        size_t first, end;
        uint64_t w_ret;
        if (r->kind != L_READ || !r->known)
            continue;
        first = torn_lower_bound(w, n_w, sizeof *w, &key, cmp_wv);   /* the writers of r->a */
        end = torn_upper_bound(w, n_w, sizeof *w, &key, cmp_wv);
        if (end - first != 1)
            continue;                           /* written twice (or never): search decides */
        wo = w[first].op;
        if (wo && wo->call > r->ret) {
            size_t ops[2] = {r->idx, wo->idx};
            found++;
            rc = torn_check_violation(res, "not-linearizable", p->key, ops, 2, NULL, 0,
                                      "%s%s: a read returned %s before the only write of it began",
                                      p->key ? "key " : "history", p->key ? p->key : "",
                                      torn_intern_str(L->vals, r->a));
            continue;
        }
        w_ret = wo ? wo->ret : 0;
        if (wo && !wo->known)
            continue;
        /* effective writes returned before r began (tie 0 sorts first) */
        size_t n = torn_lower_bound(eff, n_e, sizeof *eff, &(struct skey){.t = r->call}, cmp_skey);
        if (n && max_call[n - 1] > w_ret) {
            const struct lop *w2 = eff[arg[n - 1]].p;
            size_t ops[3], k = 0;
            if (wo)
                ops[k++] = wo->idx;
            ops[k++] = w2->idx;
            ops[k++] = r->idx;
            found++;
            rc = torn_check_violation(
                res, "not-linearizable", p->key, ops, k, NULL, 0,
                "%s%s: a read returned %s although %s was overwritten by a write that completed "
                "before the read began (and %s is written only once)",
                p->key ? "key " : "history", p->key ? p->key : "", torn_intern_str(L->vals, r->a),
                torn_intern_str(L->vals, r->a), torn_intern_str(L->vals, r->a));
        }
    }
out:
    free(w);
    free(eff);
    free(max_call);
    free(arg);
    return rc < 0 ? rc : found;
}

/* Before searching a register key: (1) a read of a value that no operation
 * writes is a violation on its own; (2) an `info` write or cas whose new
 * value nobody observes (no read returns it, no cas expects it) can be taken
 * as never having happened -- linearizing it last has that effect -- so it
 * leaves the search, which would otherwise double for each such operation. */
static int prepare_part(struct lin *L, struct part *p, struct torn_check_result *res)
{
    int64_t *written = malloc((p->n + 1) * sizeof *written);
    int64_t *seen = malloc((p->n + 1) * sizeof *seen);
    size_t n_w = 0, n_s = 0, k = 0;
    int rc = TORN_OK;

    if (!written || !seen) {
        free(written);
        free(seen);
        return TORN_E_NOMEM;
    }
    written[n_w++] = L->initial;
    for (size_t i = 0; i < p->n; i++) {
        const struct lop *o = p->ops[i];
        if (o->kind == L_WRITE)
            written[n_w++] = o->a;
        else if (o->kind == L_CAS)
            written[n_w++] = o->b;
        if ((o->kind == L_READ && o->known) || o->kind == L_CAS)
            seen[n_s++] = o->a;
    }
    qsort(written, n_w, sizeof *written, cmp_i64);
    qsort(seen, n_s, sizeof *seen, cmp_i64);
    for (size_t i = 0; i < p->n && rc == TORN_OK; i++) {
        const struct lop *o = p->ops[i];
        if (o->kind == L_READ && o->known && !in_sorted(written, n_w, o->a)) {
            p->decided = 1;
            rc = torn_check_violation(
                res, "not-linearizable", p->key, &o->idx, 1, NULL, 0,
                "%s%s: a read returned %s, which no operation wrote", p->key ? "key " : "history",
                p->key ? p->key : "", torn_intern_str(L->vals, o->a));
        }
    }
    if (!p->decided && rc == TORN_OK) {
        int found = unique_value_checks(L, p, res);
        if (found < 0)
            rc = found;
        else if (found > 0)
            p->decided = 1;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct lop *o = p->ops[i];
        int64_t v = o->kind == L_CAS ? o->b : o->a;
        if (!o->known && o->kind != L_READ && !in_sorted(seen, n_s, v))
            continue;
        p->ops[k++] = o;
    }
    p->n = k;
    free(written);
    free(seen);
    return rc;
}

/* Search one key for at most budget more states (0 = unbounded).  Returns S_LINEARIZABLE,
 * S_NOT (violation recorded), S_UNKNOWN (bound reached; when final, the
 * reason and partial linearization are recorded) or a negative torn_code. */
static int check_part(struct lin *L, struct part *p, uint64_t budget, int final,
                      struct torn_check_result *res, struct torn_err *err)
{
    struct search S;
    int s;

    memset(&S, 0, sizeof S);
    S.ops = p->ops;
    S.n = p->n;
    for (size_t i = 0; i < p->n; i++) {
        if (p->ops[i]->known)
            S.n_def++;
        else
            S.n_info++;
    }
    L->state_limit = budget ? L->states + budget : 0;
    L->out_of_bounds = 0;
    uint64_t searched = L->states;
    s = search_run(L, &S);
    searched = L->states - searched;
    L->state_limit = 0;
    if (s == S_NOMEM) {
        free(S.best);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory checking key %s",
                            p->key ? p->key : "(none)");
    }
    if ((s == S_UNKNOWN && final) || s == S_NOT) {
        free(res->partial);
        res->partial = S.best;
        res->n_partial = S.n_best;
        S.best = NULL;
    }
    free(S.best);
    if (s == S_UNKNOWN && final) {
        free(res->unknown_reason);
        res->unknown_reason = torn_asprintf(
            "%s bound reached on key %s after %llu states; longest partial linearization: %zu of "
            "%zu operations",
            L->out_of_bounds == 2 ? "memory" : "time", p->key ? p->key : "(none)",
            (unsigned long long)L->states, res->n_partial, p->n);
    }
    if (s == S_NOT) {
        size_t *cx, n_cx, longest = res->n_partial;
        if (shrink(L, p->ops, p->n, longest, searched, &cx, &n_cx) < 0)
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        int rc = torn_check_violation(
            res, "not-linearizable", p->key, cx, n_cx, NULL, 0,
            "%s%s: no order of the %zu operations below is consistent with a %s (the longest "
            "partial linearization of the key's %zu operations has %zu)",
            p->key ? "key " : "history", p->key ? p->key : "", n_cx,
            L->model == M_KV ? "key-value map" : L->model == M_CAS ? "CAS register" : "register",
            p->n, longest);
        free(cx);
        if (rc < 0)
            return torn_err_set(err, rc, "out of memory");
    }
    return s;
}

/* Check every key in rounds with a per-key time slice that quadruples each
 * round, so one hard key cannot hide an easy violation in another.  Stops
 * once a round found a violation (the verdict cannot change any more). */
static int check_parts(struct lin *L, struct part *parts, size_t n_parts,
                       struct torn_check_result *res, struct torn_err *err)
{
    int *done = calloc(n_parts + 1, sizeof *done);
    uint64_t slice = SLICE_STATES;
    size_t nonempty = 0;
    int rc = TORN_OK, pending = 1;

    if (!done)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n_parts; i++) {
        if (L->model != M_KV && parts[i].n && prepare_part(L, &parts[i], res) < 0) {
            free(done);
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
        done[i] = parts[i].decided || parts[i].n == 0;
        nonempty += !done[i];
    }
    for (int round = 0; pending && res->verdict != TORN_CHECK_INVALID; round++, slice *= 4) {
        int final = nonempty == 1 || round >= 6;
        pending = 0;
        for (size_t i = 0; i < n_parts; i++) {
            if (done[i] || parts[i].n == 0)
                continue;
            if (L->opts->first_failure && res->verdict == TORN_CHECK_INVALID) {
                res->n_keys_unsearched++;
                continue;
            }
            /* A key gets at least 4 states per operation, so a large, easy
             * key finishes in the first round instead of restarting. */
            uint64_t key_slice = slice > 4ULL * parts[i].n ? slice : 4ULL * parts[i].n;
            int s = check_part(L, &parts[i], final ? 0 : key_slice, final, res, err);
            if (s < 0) {
                rc = s;
                goto out;
            }
            if (s == S_UNKNOWN && !final && L->out_of_bounds == 3) {
                pending = 1;
                continue;
            }
            done[i] = 1;
            if (s == S_UNKNOWN && res->verdict == TORN_CHECK_VALID)
                res->verdict = TORN_CHECK_UNKNOWN;
        }
    }
out:
    free(done);
    return rc;
}

static int check_model(enum model model, const struct torn_hist *h,
                       const struct torn_check_opts *opts, struct torn_check_result *res,
                       struct torn_err *err)
{
    struct lin L;
    struct lop *lops = malloc((h->n_ops + 1) * sizeof *lops);   /* convert fills each */
    struct part *parts = NULL;
    size_t n_parts = 0, n_l = 0;
    uint64_t t0 = now_ns();
    int rc = TORN_OK;

    memset(&L, 0, sizeof L);
    L.h = h;
    L.opts = opts;
    L.model = model;
    L.vals = torn_intern_new();
    L.mem_limit = opts->mem_limit;
    if (opts->time_limit_s > 0)
        L.deadline_ns = t0 + (uint64_t)(opts->time_limit_s * 1e9);
    if (!lops || !L.vals) {
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
        goto out;
    }
    L.memo = malloc((3 * h->n_values + 1) * sizeof *L.memo);   /* NULL: no memo, slower */
    for (size_t i = 0; L.memo && i < 3 * h->n_values; i++)
        L.memo[i] = -3;
    L.initial = model == M_KV ? torn_intern_id(L.vals, "", 0) : torn_intern_id(L.vals, "null", 4);
    for (size_t i = 0; i < h->n_ops; i++) {
        int c = convert(&L, i, &lops[n_l], err);
        if (c < 0) {
            rc = c;
            goto out;
        }
        n_l += (size_t)c;
    }
    if (presize_parts(h, lops, n_l, &parts, &n_parts) < 0) {
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_l; i++)
        if (part_add(&parts, &n_parts, h, &h->ops[lops[i].idx], &lops[i]) < 0) {
            rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
            goto out;
        }
    if (n_parts)
        qsort(parts, n_parts, sizeof *parts, cmp_part);
    res->n_ops_checked = n_l;
    for (size_t i = 0; i < n_parts; i++)
        res->n_keys += parts[i].n > 0;
    rc = check_parts(&L, parts, n_parts, res, err);
out:
    res->n_states += L.states;
    res->mem_peak = L.mem_peak;
    res->elapsed_s = (double)(now_ns() - t0) / 1e9;
    for (size_t i = 0; i < n_parts; i++)
        free(parts[i].ops);
    free(parts);
    free(lops);
    torn_intern_free(L.vals);
    free(L.text.s);
    free(L.memo);
    return rc;
}

static int check_register(const struct torn_hist *h, const struct torn_check_opts *opts,
                          struct torn_check_result *res, struct torn_err *err)
{
    return check_model(M_REGISTER, h, opts, res, err);
}

static int check_cas(const struct torn_hist *h, const struct torn_check_opts *opts,
                     struct torn_check_result *res, struct torn_err *err)
{
    return check_model(M_CAS, h, opts, res, err);
}

static int check_kv(const struct torn_hist *h, const struct torn_check_opts *opts,
                    struct torn_check_result *res, struct torn_err *err)
{
    return check_model(M_KV, h, opts, res, err);
}

const struct torn_checker_ops torn_checker_register = {
    TORN_CHECKER_OPS_V1, "register",
    "linearizable read/write register per key (initial value null)", check_register};
const struct torn_checker_ops torn_checker_cas_register = {
    TORN_CHECKER_OPS_V1, "cas-register",
    "linearizable read/write/cas [expected new] register per key (initial null)", check_cas};
const struct torn_checker_ops torn_checker_kv = {
    TORN_CHECKER_OPS_V1, "kv",
    "linearizable key-value map of strings: get/put/append per key (initial \"\")", check_kv};

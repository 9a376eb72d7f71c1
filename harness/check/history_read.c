/* torn: history reader: torn JSON Lines and Jepsen log / EDN lines. */
#include "history_read.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "edn.h"
#include "jsonl_scan.h"
#include "intern.h"
#include "value.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

/* Ten million operations are 480 MB at 48 bytes: keep it that size. */
_Static_assert(sizeof(long long) != 8 || sizeof(struct torn_hop) == 48,
               "struct torn_hop grew: a 10M-operation history must fit in 600 MiB");

/* Canonical texts live in blocks of an arena: one allocation per 1 MiB, not
 * one per value, and one free each at the end. */
struct tblock {
    struct tblock *next;
    size_t used, cap;
    char data[];
};

/* Distinct values by canonical text (value.h: equal values share an id):
 * open addressing over ids.  A value read by the scanner (jsonl_scan.h) is
 * stored as its text alone; its tree is built when a checker first asks
 * for it (torn_hist_tree), so a history of a million distinct integers
 * builds no tree for a checker that compares texts. */
struct vtab {
    cJSON **vals;         /* by id; owned; NULL until built (lazy) */
    const char **texts;   /* by id: canonical text, NUL-terminated, in blocks */
    uint32_t *lens;       /* by id: its length */
    uint64_t *hashes;     /* by id */
    struct tblock *blocks;
    struct torn_vbuf scratch;
    size_t n, cap;
    uint32_t *slots;      /* id + 1, 0 = empty */
    size_t n_slots;       /* power of two */
};

struct torn_hist_strs {
    struct torn_intern *tab;
    struct vtab values;
};

/* One parsed line before pairing. */
struct raw {
    int kind;             /* RK_* */
    long long process;
    const char *f;
    const char *key;
    uint32_t key_id;
    uint32_t value;       /* interned value id, TORN_HIST_NONE */
    int has_time;
    uint64_t t;
};

enum { RK_INVOKE, RK_OK, RK_FAIL, RK_INFO, RK_FAULT, RK_NOTIFY, RK_SKIP };

static const char *const kind_names[] = {"invoke", "ok", "fail", "info", "fault", "notify"};

/* Pairing state: process -> index of its open operation + 1 (0: none).
 * Open addressing; entries are never removed (a process keeps its slot). */
struct pmap {
    long long *proc;
    size_t *idx;
    unsigned char *used;
    size_t cap;           /* power of two */
    size_t n;             /* distinct processes */
};

struct parser {
    struct torn_hist *h;
    struct torn_err *err;
    size_t cap_ops, cap_events;
    struct pmap open;
    int clock_known;      /* 0 undecided, 1 times present, -1 times absent */
    size_t line;
    enum torn_hist_format fmt;  /* AUTO until the first line that is not blank */
    char *copy;           /* a NUL-terminated copy of a Jepsen line */
    size_t copy_cap;
    struct vtab raw;      /* the scanner's cache: a value's bytes as written -> */
    uint32_t *raw_ids;    /* ... the id torn_jl_canon's text got (by raw id) */
    const char *hint_s;   /* a value the scanner offered and the cache knew, */
    size_t hint_len;
    uint32_t hint_id;     /* ... and its id (raw_known) */
    const char **fmap;    /* interned f pointers (open addressing, NULL empty) -> */
    uint16_t *fmap_id;    /* ... their f_id */
    size_t fmap_cap;      /* power of two, at least twice h->n_fs */
    int null_f;           /* an operation without f was met: its f_id is */
    uint16_t null_f_id;
    struct scache {       /* f and key bytes -> interned string, direct-mapped */
        const char *str;  /* interned (NUL-terminated), NULL = empty entry */
        size_t len;
        uint32_t id;
    } strs[512];
};

static int use_scanner = 1;

void torn_hist_set_scanner(int on)
{
    use_scanner = on;
}

const char *torn_hist_outcome_name(enum torn_outcome o)
{
    switch (o) {
    case TORN_OUT_OK:
        return "ok";
    case TORN_OUT_FAIL:
        return "fail";
    case TORN_OUT_INFO:
        return "info";
    }
    return "?";
}

/* ---- building the history ---- */

static int bad(struct parser *p, const char *fmt, const char *what)
{
    return torn_err_set(p->err, TORN_E_CONFIG, "%s:%zu: %s%s", p->h->name, p->line, fmt,
                        what ? what : "");
}

/* The interned copy of s[0..len) (and its id), or NULL on ENOMEM. */
static const char *intern_n(struct parser *p, const char *s, size_t len, uint32_t *id_out)
{
    int64_t id = torn_intern_id(p->h->strs->tab, s, len);

    if (id < 0 || id >= (int64_t)TORN_HIST_NONE)
        return NULL;
    if (id_out)
        *id_out = (uint32_t)id;
    return torn_intern_str(p->h->strs->tab, id);
}

static const char *intern(struct parser *p, const char *s, uint32_t *id_out)
{
    return s ? intern_n(p, s, strlen(s), id_out) : NULL;
}

/* ---- values, interned by structure ---- */

static void vtab_free(struct vtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        cJSON_Delete(t->vals[i]);
    while (t->blocks) {
        struct tblock *next = t->blocks->next;
        free(t->blocks);
        t->blocks = next;
    }
    free(t->vals);
    free(t->texts);
    free(t->lens);
    free(t->scratch.s);
    free(t->hashes);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int vtab_rehash(struct vtab *t, size_t n_slots)
{
    uint32_t *slots = calloc(n_slots, sizeof *slots);

    if (!slots)
        return TORN_E_NOMEM;
    for (size_t id = 0; id < t->n; id++) {
        size_t i = t->hashes[id] & (n_slots - 1);
        while (slots[i])
            i = (i + 1) & (n_slots - 1);
        slots[i] = (uint32_t)id + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 0;
}

/* The table's hash: eight bytes a step (FNV-1a's byte a step was a tenth
 * of the reading), mixed so the low bits the table indexes by depend on
 * every byte. */
static uint64_t vtab_hash(const char *text, size_t len)
{
    uint64_t hash = 0x9E3779B97F4A7C15ULL ^ len, w;

    for (; len >= 8; text += 8, len -= 8) {
        memcpy(&w, text, 8);
        hash = (hash ^ w) * 0xBF58476D1CE4E5B9ULL;
        hash ^= hash >> 31;
    }
    w = 0;
    memcpy(&w, text, len);
    hash = (hash ^ w) * 0x94D049BB133111EBULL;
    hash ^= hash >> 29;             /* the table indexes by the low bits */
    hash *= 0xBF58476D1CE4E5B9ULL;
    return hash ^ (hash >> 32);
}

/* The id of the value whose canonical text is text[0..len), or -1; *slot_out
 * = where it would go (the caller made room). */
static int64_t vtab_find(const struct vtab *t, const char *text, size_t len, uint64_t hash,
                         size_t *slot_out)
{
    size_t i = 0;

    for (i = t->n_slots ? hash & (t->n_slots - 1) : 0; t->n_slots && t->slots[i];
         i = (i + 1) & (t->n_slots - 1)) {
        uint32_t id = t->slots[i] - 1;
        if (t->hashes[id] == hash && t->lens[id] == len && !memcmp(t->texts[id], text, len))
            return id;
    }
    *slot_out = i;
    return -1;
}

/* Room in the slots for one more value; 0 or TORN_E_NOMEM. */
static int vtab_room(struct vtab *t)
{
    if ((t->n + 1) * 2 <= t->n_slots)
        return 0;
    if (t->n + 1 >= TORN_HIST_NONE)
        return TORN_E_NOMEM;
    return vtab_rehash(t, t->n_slots ? t->n_slots * 2 : 1024);
}

/* A copy of text[0..len) and its NUL in the arena; NULL on ENOMEM. */
static const char *vtab_copy(struct vtab *t, const char *text, size_t len)
{
    struct tblock *b = t->blocks;
    char *c;

    if (len >= UINT32_MAX)
        return NULL;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > ((size_t)1 << 20) ? len + 1 : (size_t)1 << 20;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = t->blocks;
        t->blocks = b;
    }
    c = b->data + b->used;
    memcpy(c, text, len);
    c[len] = '\0';
    b->used += len + 1;
    return c;
}

/* Room in the arrays by id for one more value; 0 or TORN_E_NOMEM. */
static int vtab_grow(struct vtab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    cJSON **vals;
    const char **texts;
    uint32_t *lens;
    uint64_t *hashes;

    if (t->n < t->cap)
        return 0;
    if ((vals = realloc(t->vals, cap * sizeof *vals)))
        t->vals = vals;
    if ((texts = realloc(t->texts, cap * sizeof *texts)))
        t->texts = texts;
    if ((lens = realloc(t->lens, cap * sizeof *lens)))
        t->lens = lens;
    if ((hashes = realloc(t->hashes, cap * sizeof *hashes)))
        t->hashes = hashes;
    if (!vals || !texts || !lens || !hashes)
        return TORN_E_NOMEM;
    t->cap = cap;
    return 0;
}

/* Store a new value (tree v, NULL: built when asked for) of canonical text
 * text[0..len) at slot (from vtab_find, after vtab_room): its id, or
 * TORN_E_NOMEM (v is left to the caller). */
static int64_t vtab_add(struct vtab *t, cJSON *v, const char *text, size_t len, uint64_t hash,
                        size_t slot)
{
    const char *copy;

    if (vtab_grow(t) < 0 || !(copy = vtab_copy(t, text, len)))
        return TORN_E_NOMEM;
    t->texts[t->n] = copy;
    t->lens[t->n] = (uint32_t)len;
    t->vals[t->n] = v;
    t->hashes[t->n] = hash;
    t->slots[slot] = (uint32_t)t->n + 1;
    return (int64_t)t->n++;
}

/* The id of v (detached, owned by the caller until this returns): an equal
 * value already stored keeps its id and v is deleted, else v is stored.
 * TORN_HIST_NONE for NULL; TORN_E_NOMEM when out of memory (v deleted). */
static int64_t vtab_take(struct vtab *t, cJSON *v)
{
    uint64_t hash;
    int64_t found;
    size_t i = 0;

    if (!v)
        return TORN_HIST_NONE;
    v->next = v->prev = NULL;
    t->scratch.len = 0;
    if (torn_value_canon(v, &t->scratch) < 0 || vtab_room(t) < 0)
        goto nomem;
    hash = vtab_hash(t->scratch.s, t->scratch.len);
    if ((found = vtab_find(t, t->scratch.s, t->scratch.len, hash, &i)) >= 0) {
        if (!t->vals[found])     /* the scanner's value gets this tree for free */
            t->vals[found] = v;
        else
            cJSON_Delete(v);
        return found;
    }
    if ((found = vtab_add(t, v, t->scratch.s, t->scratch.len, hash, i)) >= 0)
        return found;
nomem:
    cJSON_Delete(v);
    return TORN_E_NOMEM;
}

int torn_hist_tree(const struct torn_hist *h, uint32_t id, const struct cJSON **out)
{
    struct vtab *t = &h->strs->values;

    *out = NULL;
    if (id >= t->n)             /* TORN_HIST_NONE */
        return TORN_OK;
    /* A scanner's text is JSON whose numbers are integers of at most 15
     * digits: cJSON reads it exactly, no number text to attach. */
    if (!t->vals[id] && !(t->vals[id] = cJSON_ParseWithLength(t->texts[id], t->lens[id])))
        return TORN_E_NOMEM;
    *out = t->vals[id];
    return TORN_OK;
}

const struct cJSON *torn_hist_value(const struct torn_hist *h, uint32_t id)
{
    const cJSON *v;

    return torn_hist_tree(h, id, &v) == TORN_OK ? v : NULL;
}

const char *torn_hist_value_text(const struct torn_hist *h, uint32_t id)
{
    return id < h->strs->values.n ? h->strs->values.texts[id] : "null";
}

size_t torn_hist_value_len(const struct torn_hist *h, uint32_t id)
{
    return id < h->strs->values.n ? h->strs->values.lens[id] : 4;
}

/* Store v as r->value; 0 or TORN_E_NOMEM. */
static int take_value(struct parser *p, struct raw *r, cJSON *v)
{
    int64_t id = vtab_take(&p->h->strs->values, v);

    if (id < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    r->value = (uint32_t)id;
    return TORN_OK;
}

/* The slot of proc, claimed when new (the caller reserved room). */
static size_t *pmap_slot(struct pmap *m, long long proc)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)((uint64_t)proc * 0x9E3779B97F4A7C15ULL >> 20) & mask;

    while (m->used[i] && m->proc[i] != proc)
        i = (i + 1) & mask;
    if (!m->used[i]) {
        m->used[i] = 1;
        m->proc[i] = proc;
        m->idx[i] = 0;
        m->n++;
    }
    return &m->idx[i];
}

/* Room for one more process. */
static int pmap_reserve(struct pmap *m)
{
    struct pmap n;

    if ((m->n + 1) * 2 <= m->cap)
        return 0;
    memset(&n, 0, sizeof n);
    n.cap = m->cap ? m->cap * 2 : 64;
    n.proc = calloc(n.cap, sizeof *n.proc);
    n.idx = calloc(n.cap, sizeof *n.idx);
    n.used = calloc(n.cap, 1);
    if (!n.proc || !n.idx || !n.used) {
        free(n.proc);
        free(n.idx);
        free(n.used);
        return TORN_E_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i])
            *pmap_slot(&n, m->proc[i]) = m->idx[i];
    free(m->proc);
    free(m->idx);
    free(m->used);
    *m = n;
    return 0;
}

/* A hint for a large array (len >= 4 MiB): back it with transparent huge
 * pages where the kernel offers them on request.  A million-operation
 * history touches hundreds of MiB; with 4 KiB pages the page faults cost
 * as much CPU as the parsing.  Ignored where unsupported. */
static void huge_pages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;

    if (p && len >= ((size_t)4 << 20) && a < (uintptr_t)p + len)
        madvise((void *)a, ((uintptr_t)p + len - a) & ~(uintptr_t)4095, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}

static void *grow_array(void *a, size_t *cap, size_t need, size_t size)
{
    void *n;

    if (need <= *cap)
        return a;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    n = realloc(a, c * size);
    if (n) {
        *cap = c;
        huge_pages(n, c * size);
    }
    return n;
}

static int add_event(struct parser *p, struct raw *r)
{
    struct torn_hist *h = p->h;
    struct torn_hevent *e;
    struct torn_hevent *ev = grow_array(h->events, &p->cap_events, h->n_events + 1, sizeof *ev);

    if (!ev)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    h->events = ev;
    e = &ev[h->n_events++];
    e->notify = r->kind == RK_NOTIFY;
    e->process = r->process;
    e->f = r->f;
    e->key = r->key;
    e->key_id = r->key ? r->key_id : TORN_HIST_NONE;
    if (torn_hist_tree(h, r->value, &e->value) != TORN_OK)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    e->t = r->t;
    e->line = p->line;
    return TORN_OK;
}

/* Room in fmap for one more name; 0 or TORN_E_NOMEM. */
static int fmap_room(struct parser *p)
{
    size_t cap = p->fmap_cap ? p->fmap_cap * 2 : 64;
    const char **map;
    uint16_t *ids;

    if ((p->h->n_fs + 1) * 2 <= p->fmap_cap)
        return TORN_OK;
    map = calloc(cap, sizeof *map);
    ids = calloc(cap, sizeof *ids);
    if (!map || !ids) {
        free(map);
        free(ids);
        return TORN_E_NOMEM;
    }
    for (size_t i = 0; i < p->fmap_cap; i++) {
        size_t j = ((uintptr_t)p->fmap[i] >> 3) & (cap - 1);
        if (!p->fmap[i])
            continue;
        while (map[j])
            j = (j + 1) & (cap - 1);
        map[j] = p->fmap[i];
        ids[j] = p->fmap_id[i];
    }
    free(p->fmap);
    free(p->fmap_id);
    p->fmap = map;
    p->fmap_id = ids;
    p->fmap_cap = cap;
    return TORN_OK;
}

/* A new name f (NULL: none) in h->fs: 0 and *id_out, or the error. */
static int f_add(struct parser *p, const char *f, uint16_t *id_out)
{
    struct torn_hist *h = p->h;
    const char **fs;

    if (h->n_fs > UINT16_MAX)
        return bad(p, "more than 65536 distinct operation names (f)", NULL);
    if (!(fs = realloc(h->fs, (h->n_fs + 1) * sizeof *fs)))
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    h->fs = fs;
    fs[h->n_fs] = f;
    *id_out = (uint16_t)h->n_fs++;
    return TORN_OK;
}

/* The f_id of an interned name f (NULL: an operation without one),
 * added when new. */
static int f_id_of(struct parser *p, const char *f, uint16_t *id_out)
{
    size_t j;
    int rc;

    if (!f) {
        if (!p->null_f && (rc = f_add(p, NULL, &p->null_f_id)) != TORN_OK)
            return rc;
        p->null_f = 1;
        *id_out = p->null_f_id;
        return TORN_OK;
    }
    if (fmap_room(p) < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    for (j = ((uintptr_t)f >> 3) & (p->fmap_cap - 1); p->fmap[j]; j = (j + 1) & (p->fmap_cap - 1))
        if (p->fmap[j] == f) {
            *id_out = p->fmap_id[j];
            return TORN_OK;
        }
    if ((rc = f_add(p, f, id_out)) != TORN_OK)
        return rc;
    p->fmap[j] = f;
    p->fmap_id[j] = *id_out;
    return TORN_OK;
}

static int add_invoke(struct parser *p, struct raw *r)
{
    struct torn_hist *h = p->h;
    struct torn_hop *op, *ops;
    size_t *slot;
    uint16_t f_id;
    int rc;

    if (pmap_reserve(&p->open) < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    if ((rc = f_id_of(p, r->f, &f_id)) != TORN_OK)
        return rc;
    ops = grow_array(h->ops, &p->cap_ops, h->n_ops + 1, sizeof *ops);
    if (!ops)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    h->ops = ops;
    slot = pmap_slot(&p->open, r->process);
    /* A still-open previous operation of this process stays INFO. */
    op = &ops[h->n_ops++];
    memset(op, 0, sizeof *op);
    op->process = r->process;
    op->f_id = f_id;
    op->key_id = r->key ? r->key_id : TORN_HIST_NONE;
    op->input_id = r->value;
    op->output_id = TORN_HIST_NONE;
    op->outcome = TORN_OUT_INFO;
    op->t_invoke = r->t;
    op->t_complete = TORN_HIST_NEVER;
    op->line_invoke = (uint32_t)p->line;     /* take() keeps p->line in range */
    *slot = h->n_ops;
    return TORN_OK;
}

static int add_completion(struct parser *p, struct raw *r)
{
    struct torn_hop *op;
    size_t *slot;
    char what[96];

    if (pmap_reserve(&p->open) < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    slot = pmap_slot(&p->open, r->process);
    if (*slot == 0) {
        snprintf(what, sizeof what, "%s of process %lld without an open invoke",
                 kind_names[r->kind], r->process);
        return bad(p, what, NULL);
    }
    op = &p->h->ops[*slot - 1];
    if (r->f && torn_hist_f(p->h, op) && r->f != torn_hist_f(p->h, op)) {
        snprintf(what, sizeof what, "completion f \"%.20s\" does not match invoke f \"%.20s\" (line %u)",
                 r->f, torn_hist_f(p->h, op), op->line_invoke);
        return bad(p, what, NULL);
    }
    if (r->t < op->t_invoke)
        return bad(p, "completion time is before its invoke", NULL);
    op->outcome = r->kind == RK_OK ? TORN_OUT_OK : r->kind == RK_FAIL ? TORN_OUT_FAIL
                                                                      : TORN_OUT_INFO;
    op->output_id = r->value;
    op->t_complete = r->t;
    op->line_complete = (uint32_t)p->line;
    if (r->key && op->key_id == TORN_HIST_NONE)
        op->key_id = r->key_id;
    *slot = 0;   /* no open operation */
    return TORN_OK;
}

static int kind_of_n(const char *s, size_t len)
{
    int k;

    switch (len) {      /* one comparison, not one per name */
    case 2:
        k = RK_OK;
        break;
    case 4:
        k = s[0] == 'f' ? RK_FAIL : RK_INFO;
        break;
    case 5:
        k = RK_FAULT;
        break;
    case 6:
        k = s[0] == 'i' ? RK_INVOKE : RK_NOTIFY;
        break;
    default:
        return -1;
    }
    return !memcmp(s, kind_names[k], len) ? k : -1;
}

static int kind_of(const char *s)
{
    return kind_of_n(s, strlen(s));
}

/* The fields of o, each the first member of its name, in one pass over the
 * members (a line has a handful; five lookups by name cost five passes). */
struct fields {
    cJSON *type, *proc, *f, *key, *time, *value;
};

static void find_fields(cJSON *o, struct fields *fl)
{
    memset(fl, 0, sizeof *fl);
    for (cJSON *c = o->child; c; c = c->next) {
        const char *n = c->string;
        cJSON **slot = NULL;
        if (!n)
            continue;
        switch (n[0]) {
        case 't':
            slot = !strcmp(n, "type") ? &fl->type : !strcmp(n, "time") ? &fl->time : NULL;
            break;
        case 'p':
            slot = !strcmp(n, "process") ? &fl->proc : NULL;
            break;
        case 'f':
            slot = !n[1] ? &fl->f : NULL;
            break;
        case 'k':
            slot = !strcmp(n, "key") ? &fl->key : NULL;
            break;
        case 'v':
            slot = !strcmp(n, "value") ? &fl->value : NULL;
            break;
        default:
            break;
        }
        if (slot && !*slot)
            *slot = c;
    }
}

/* The process of an operation: an integer; a name (Jepsen's :nemesis) makes
 * the line a fault event.  0 or the error. */
static int process_of(struct parser *p, const cJSON *proc, struct raw *r)
{
    long long x;

    if (cJSON_IsString(proc)) {
        r->process = -1;
        if (r->kind != RK_NOTIFY)
            r->kind = RK_FAULT;     /* :nemesis :info lines are faults on the timeline */
        return TORN_OK;
    }
    if (!proc && r->kind >= RK_FAULT)
        return TORN_OK;
    if (torn_value_int64(proc, &x) < 0)
        return bad(p, "field \"process\" must be an integer (or a name such as nemesis)", NULL);
    r->process = x;
    return TORN_OK;
}

/* The key's text: a string as it is, anything else its canonical text. */
static int key_of(struct parser *p, const cJSON *key, struct raw *r)
{
    char *txt;

    if (!key || cJSON_IsNull(key))
        return TORN_OK;
    if (cJSON_IsString(key)) {
        r->key = intern(p, key->valuestring, &r->key_id);
    } else {
        if (!(txt = torn_value_text(key)))
            return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
        r->key = intern(p, txt, &r->key_id);
        free(txt);
    }
    return r->key ? TORN_OK : torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
}

/* Fill r from a parsed object (torn JSON or an EDN map: same field names). */
static int raw_from_object(struct parser *p, cJSON *o, struct raw *r)
{
    struct fields fl;
    const char *dup;
    int rc;

    memset(r, 0, sizeof *r);
    r->value = TORN_HIST_NONE;
    if (!cJSON_IsObject(o))
        return bad(p, "not an operation (a map with type, process, f, value)", NULL);
    if ((dup = torn_value_dup_key(o)))   /* which one would count? */
        return bad(p, "a key given twice in one object: ", dup);
    find_fields(o, &fl);
    if (!cJSON_IsString(fl.type) || (r->kind = kind_of(fl.type->valuestring)) < 0)
        return bad(p, "field \"type\" must be one of invoke, ok, fail, info, fault, notify", NULL);
    if ((rc = process_of(p, fl.proc, r)) != TORN_OK)
        return rc;
    if (fl.f && !cJSON_IsString(fl.f))
        return bad(p, "field \"f\" must be a string", NULL);
    if (!fl.f && r->kind == RK_INVOKE)
        return bad(p, "an invoke needs field \"f\"", NULL);
    if (fl.time) {
        if (torn_value_uint64(fl.time, &r->t) < 0)
            return bad(p, "field \"time\" must be a non-negative integer number of nanoseconds",
                       NULL);
        r->has_time = 1;
    }
    r->f = fl.f ? intern(p, fl.f->valuestring, NULL) : NULL;
    if (fl.f && !r->f)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    if ((rc = key_of(p, fl.key, r)) != TORN_OK)
        return rc;
    return fl.value ? take_value(p, r, cJSON_DetachItemViaPointer(o, fl.value)) : TORN_OK;
}

/* After "jepsen.util", the separator of either log generation:
 * `jepsen.util - 3 ...` (old), `jepsen.util 3 ...` (new), `jepsen.util: 3`. */
static const char *after_util(const char *s)
{
    s += strlen("jepsen.util");
    if ((*s == '-' || *s == ':') && isspace((unsigned char)s[1]))
        s++;
    else if (*s == ' ' && s[1] == '-' && isspace((unsigned char)s[2]))
        s += 2;
    return s;
}

/* `PROCESS :type :f VALUE` (tab- or space-separated, as Jepsen logs and
 * history.txt write it) into r. */
static int raw_from_columns(struct parser *p, const char *s, struct raw *r)
{
    cJSON *proc = NULL, *type = NULL, *f = NULL;
    int rc = TORN_OK;

    proc = torn_edn_parse(s, &s);
    if (proc)
        type = torn_edn_parse(s, &s);
    if (type)
        f = torn_edn_parse(s, &s);
    if (!f || !cJSON_IsString(type) || !cJSON_IsString(f)) {
        rc = bad(p, "expected `PROCESS :type :f VALUE`", NULL);
        goto out;
    }
    if ((r->kind = kind_of(type->valuestring)) < 0 || r->kind >= RK_FAULT) {
        rc = bad(p, "unknown operation type :", type->valuestring);
        goto out;
    }
    if ((rc = process_of(p, proc, r)) != TORN_OK)
        goto out;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (*s) {
        cJSON *v = torn_edn_parse(s, &s);
        if (!v) {
            rc = bad(p, "cannot parse the value: ", s);
            goto out;
        }
        if ((rc = take_value(p, r, v)) != TORN_OK)
            goto out;
    }
    if (!(r->f = intern(p, f->valuestring, NULL)))
        rc = torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
out:
    cJSON_Delete(proc);
    cJSON_Delete(type);
    cJSON_Delete(f);
    return rc;
}

/* Does s start with `PROCESS :type ` (blanks first allowed), whatever the
 * blanks between the columns?  Jepsen separates them with tabs; copies that
 * passed through an editor or a web page (Porcupine's etcd_100..102) have
 * runs of spaces. */
static int columns_ahead(const char *s)
{
    static const char *const types[] = {":invoke", ":ok", ":fail", ":info"};

    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s) && *s != ':')
        return 0;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s != ' ' && *s != '\t')
        return 0;
    while (*s == ' ' || *s == '\t')
        s++;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        size_t n = strlen(types[i]);
        if (!strncmp(s, types[i], n) && (s[n] == ' ' || s[n] == '\t'))
            return 1;
    }
    return 0;
}

/* One line of a Jepsen log or history.txt (leading blanks removed): an
 * operation after "jepsen.util" (`PROCESS :type :f VALUE`, tab-separated as
 * jepsen.util/log-op writes it, or space-separated), a history.txt line (it
 * starts with the process), an EDN map, or log chatter (skipped, counted). */
static int raw_from_log(struct parser *p, const char *line, struct raw *r)
{
    const char *s = strstr(line, "jepsen.util");
    cJSON *o;
    int rc;

    memset(r, 0, sizeof *r);
    r->value = TORN_HIST_NONE;
    if (s && columns_ahead(after_util(s)))
        return raw_from_columns(p, after_util(s), r);
    if (columns_ahead(line))
        return raw_from_columns(p, line, r);
    if (line[0] == '{') {
        const char *end;
        o = torn_edn_parse(line, &end);
        if (!o || *end) {
            cJSON_Delete(o);
            return bad(p, "malformed EDN map (a map over several lines needs an EDN file: "
                          "start it with { or [)", NULL);
        }
        rc = raw_from_object(p, o, r);
        cJSON_Delete(o);
        return rc;
    }
    r->kind = RK_SKIP;
    p->h->n_skipped++;
    return TORN_OK;
}

/* cJSON keeps no number text: give each number node, in document order,
 * the exact text of the next number token outside strings of line. */
static int attach_numbers(struct parser *p, cJSON *v, const char **s, const char *end)
{
    for (; v; v = v->next) {
        if (cJSON_IsNumber(v)) {
            const char *t = *s, *e;
            int in_str = 0;
            for (; t < end; t++) {
                if (in_str) {
                    if (*t == '\\')
                        t++;
                    else if (*t == '"')
                        in_str = 0;
                } else if (*t == '"') {
                    in_str = 1;
                } else if (*t == '-' || isdigit((unsigned char)*t)) {
                    break;
                }
            }
            for (e = t; e < end && strchr("+-.eE0123456789", *e); e++)
                ;
            int rc = t < end ? torn_value_number_attach(v, t, (size_t)(e - t)) : -1;
            if (rc == -2)
                return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
            if (rc < 0)
                return bad(p, "a number torn cannot read exactly", NULL);
            *s = e;
        } else if (v->child && attach_numbers(p, v->child, s, end) != TORN_OK) {
            return p->err ? p->err->code : TORN_E_CONFIG;
        }
    }
    return TORN_OK;
}

/* ---- the fast path: torn's own lines (jsonl_scan.h) ---- */

/* The id of a value whose canonical text text[0..len) the scanner vouches
 * for: found, or stored without a tree (built when a checker asks,
 * torn_hist_tree).  TORN_E_NOMEM. */
static int64_t value_by_text(struct vtab *t, const char *text, size_t len)
{
    uint64_t hash = vtab_hash(text, len);
    size_t slot;
    int64_t got;

    if (vtab_room(t) < 0)
        return TORN_E_NOMEM;
    if ((got = vtab_find(t, text, len, hash, &slot)) >= 0)
        return got;
    return vtab_add(t, NULL, text, len, hash, slot);
}

#define RAW_MAX 256   /* a longer value is not cached by its bytes */

/* The id the same bytes got before (the raw cache), or -1. */
static int64_t raw_find(struct parser *p, const struct torn_jl_field *v, uint64_t hash)
{
    size_t slot;
    int64_t i = p->raw.n_slots ? vtab_find(&p->raw, v->s, v->len, hash, &slot) : -1;

    return i < 0 ? -1 : (int64_t)p->raw_ids[i];
}

/* torn_jl_known_fn over the raw cache: the id is kept for fast_value. */
static int raw_known(void *ctx, const char *s, size_t len)
{
    struct parser *p = ctx;
    struct torn_jl_field v = {.kind = TORN_JL_OTHER, .s = s, .len = len};
    int64_t id = len && len <= RAW_MAX ? raw_find(p, &v, vtab_hash(s, len)) : -1;

    if (id < 0)
        return 0;
    p->hint_s = s;
    p->hint_len = len;
    p->hint_id = (uint32_t)id;
    return 1;
}

/* Remember that v's bytes are value id; a cache, so failing is no error. */
static void raw_add(struct parser *p, const struct torn_jl_field *v, uint64_t hash, uint32_t id)
{
    size_t slot, cap = p->raw.cap;
    int64_t i;

    if (vtab_room(&p->raw) < 0 || vtab_find(&p->raw, v->s, v->len, hash, &slot) >= 0 ||
        (i = vtab_add(&p->raw, NULL, v->s, v->len, hash, slot)) < 0)
        return;
    if (p->raw.cap != cap) {
        uint32_t *ids = realloc(p->raw_ids, p->raw.cap * sizeof *ids);
        if (!ids) {      /* forget the entry: nothing points to an unset id */
            p->raw.slots[slot] = 0;
            p->raw.n--;
            return;
        }
        p->raw_ids = ids;
    }
    p->raw_ids[i] = id;
}

/* A scanned value that is not a scalar (an array or object, v->kind
 * OTHER): its canonical text when simple (torn_jl_canon), else its tree
 * (cJSON, exact numbers).  1 and *id; 0 when the general reader must read
 * the line; TORN_E_NOMEM. */
static int other_value(struct parser *p, const struct torn_jl_field *v, uint32_t *id)
{
    struct vtab *t = &p->h->strs->values;
    const char *end = NULL, *s = v->s;
    cJSON *tree;
    int64_t got;
    int rc;

    t->scratch.len = 0;
    if ((rc = torn_jl_canon(v, &t->scratch)) < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    if (rc == 1) {
        if ((got = value_by_text(t, t->scratch.s, t->scratch.len)) < 0)
            return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
        *id = (uint32_t)got;
        return 1;
    }
    if (v->len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        return 0;    /* cJSON skips a byte order mark where a document starts, not here */
    tree = cJSON_ParseWithLengthOpts(s, v->len, &end, 0);
    if (!tree || end != v->s + v->len || attach_numbers(p, tree, &s, end) != TORN_OK ||
        torn_value_dup_key(tree)) {
        cJSON_Delete(tree);
        return 0;    /* the general reader says what is wrong */
    }
    if ((got = vtab_take(t, tree)) < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    *id = (uint32_t)got;
    return 1;
}

/* The value id of a scanned value.  A scalar the scanner read (null, an
 * integer, a plain string with its quotes) is written in canonical form
 * already; an array or object is looked up by its bytes in the raw cache
 * first (the same bytes always give the same value), then by other_value.
 * 1 and *id; 0 when the general reader must read the line; TORN_E_NOMEM. */
static int fast_value(struct parser *p, const struct torn_jl_field *v, uint32_t *id)
{
    int q = v->kind == TORN_JL_STR;
    uint64_t hash = 0;
    int64_t got;
    int rc;

    *id = TORN_HIST_NONE;
    if (v->kind == TORN_JL_ABSENT)
        return 1;
    if (v->kind != TORN_JL_OTHER) {
        if ((got = value_by_text(&p->h->strs->values, v->s - q, v->len + 2 * (size_t)q)) < 0)
            return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
        *id = (uint32_t)got;
        return 1;
    }
    if (v->s == p->hint_s && v->len == p->hint_len) {   /* raw_known found it */
        *id = p->hint_id;
        return 1;
    }
    if (v->len <= RAW_MAX && (got = raw_find(p, v, hash = vtab_hash(v->s, v->len))) >= 0) {
        *id = (uint32_t)got;
        return 1;
    }
    if ((rc = other_value(p, v, id)) == 1 && v->len <= RAW_MAX)
        raw_add(p, v, hash, *id);
    return rc;
}

/* intern_n through the direct-mapped cache: the few f and key strings of a
 * history are looked up in the table once, not on every line. */
static const char *intern_cached(struct parser *p, const char *s, size_t len, uint32_t *id_out)
{
    /* "read", "k17": the length and three bytes tell them apart */
    size_t slot = len ? ((len * 31 + (unsigned char)s[0]) * 31 + (unsigned char)s[len / 2]) * 31 +
                            (unsigned char)s[len - 1]
                      : 0;
    struct scache *c = &p->strs[(slot ^ slot >> 9) & (sizeof p->strs / sizeof *p->strs - 1)];
    uint32_t id;

    if (!c->str || c->len != len || memcmp(c->str, s, len)) {
        const char *str = intern_n(p, s, len, &id);
        if (!str)
            return NULL;
        c->str = str;
        c->len = len;
        c->id = id;
    }
    if (id_out)
        *id_out = c->id;
    return c->str;
}

/* r from a line the scanner reads and whose fields need no judgement (a
 * type torn knows, an integer process, a string f, a string or null key, a
 * non-negative time): 1; 0 for the general reader; TORN_E_NOMEM. */
static int fast_line(struct parser *p, const char *buf, size_t n, struct raw *r)
{
    struct torn_jl_line l;
    uint32_t value;
    int kind, rc;

    p->hint_s = NULL;
    if (!torn_jl_scan_known(buf, n, &l, raw_known, p) || l.type.kind != TORN_JL_STR ||
        (kind = kind_of_n(l.type.s, l.type.len)) < 0 || l.process.kind != TORN_JL_INT ||
        !(l.f.kind == TORN_JL_STR || (l.f.kind == TORN_JL_ABSENT && kind != RK_INVOKE)) ||
        !(l.key.kind == TORN_JL_STR || l.key.kind == TORN_JL_NULL ||
          l.key.kind == TORN_JL_ABSENT) ||
        !(l.time.kind == TORN_JL_ABSENT || (l.time.kind == TORN_JL_INT && l.time.num >= 0)))
        return 0;
    if ((rc = fast_value(p, &l.value, &value)) <= 0)
        return rc;
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->process = l.process.num;
    r->value = value;
    r->has_time = l.time.kind == TORN_JL_INT;
    r->t = r->has_time ? (uint64_t)l.time.num : 0;
    if ((l.f.kind == TORN_JL_STR && !(r->f = intern_cached(p, l.f.s, l.f.len, NULL))) ||
        (l.key.kind == TORN_JL_STR &&
         !(r->key = intern_cached(p, l.key.s, l.key.len, &r->key_id))))
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    return 1;
}

static int parse_line(struct parser *p, const char *line, size_t len, struct raw *r)
{
    const char *s = line;
    cJSON *o;
    int rc;

    if (p->fmt != TORN_HIST_TORN)
        return raw_from_log(p, line, r);
    o = cJSON_ParseWithLength(line, len);
    if (!o)
        return bad(p, "malformed JSON", NULL);
    rc = attach_numbers(p, o, &s, line + len);
    if (rc == TORN_OK)
        rc = raw_from_object(p, o, r);
    cJSON_Delete(o);
    return rc;
}

static int take(struct parser *p, struct raw *r)
{
    if (r->kind == RK_SKIP)
        return TORN_OK;
    if (p->line >= UINT32_MAX)      /* operations keep 32-bit line numbers */
        return bad(p, "more lines than torn reads (4294967294)", NULL);
    if (p->clock_known == 0)
        p->clock_known = r->has_time ? 1 : -1;
    else if ((p->clock_known > 0) != (r->has_time != 0))
        return bad(p, "either every line has \"time\" or none has", NULL);
    if (!r->has_time)
        r->t = p->line;
    if (r->kind == RK_FAULT || r->kind == RK_NOTIFY)
        return add_event(p, r);
    if (r->kind == RK_INVOKE)
        return add_invoke(p, r);
    return add_completion(p, r);
}

/* The first byte that is not blank, a byte order mark or a ; comment line. */
static int first_byte(const char *buf, size_t len)
{
    size_t i = torn_parse_bom(buf, len);

    while (i < len) {
        if (buf[i] == ';') {
            while (i < len && buf[i] != '\n')
                i++;
        } else if (isspace((unsigned char)buf[i])) {
            i++;
        } else {
            return (unsigned char)buf[i];
        }
    }
    return -1;
}

/* torn JSON when a map's first key is quoted, EDN forms when the input
 * starts with a collection, else Jepsen log lines. */
static enum torn_hist_format guess(const char *buf, size_t len)
{
    size_t i = torn_parse_bom(buf, len);
    int c = first_byte(buf, len);

    if (c == '{') {
        while (i < len && buf[i] != '{')
            i++;
        for (i++; i < len && isspace((unsigned char)buf[i]);)
            i++;
        return i < len && buf[i] == '"' ? TORN_HIST_TORN : TORN_HIST_EDN;
    }
    return c == '[' || c == '(' || c == '#' ? TORN_HIST_EDN : TORN_HIST_JEPSEN;
}

static int cmp_op(const void *a, const void *b)
{
    const struct torn_hop *x = a, *y = b;

    if (x->t_invoke != y->t_invoke)
        return x->t_invoke < y->t_invoke ? -1 : 1;
    return x->line_invoke < y->line_invoke ? -1 : x->line_invoke > y->line_invoke;
}

static int cmp_event(const void *a, const void *b)
{
    const struct torn_hevent *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* One line buf[0..n) (n > 0, blanks around it removed, not a comment). */
static int parse_one(struct parser *p, const char *buf, size_t n)
{
    struct raw r;
    int rc;

    if (memchr(buf, '\0', n))
        return bad(p, "NUL byte in line", NULL);
    if (p->fmt == TORN_HIST_TORN) {
        /* torn's own lines by the scanner, the rest by cJSON (in place:
         * it takes a length). */
        rc = use_scanner ? fast_line(p, buf, n, &r) : 0;
        rc = rc == 1 ? TORN_OK : rc == 0 ? parse_line(p, buf, n, &r) : rc;
    } else {
        if (n + 1 > p->copy_cap) {
            char *nb = realloc(p->copy, n + 1);
            if (!nb)
                return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
            p->copy = nb;
            p->copy_cap = n + 1;
        }
        memcpy(p->copy, buf, n);
        p->copy[n] = '\0';
        rc = parse_line(p, p->copy, n, &r);
    }
    return rc == TORN_OK ? take(p, &r) : rc;
}

/* Parse the complete lines of buf[0..len), and the last one too when final
 * (end of input); *used_out = the bytes consumed (the rest is a partial line). */
static int parse_lines(struct parser *p, const char *buf, size_t len, int final, size_t *used_out)
{
    size_t pos = 0;
    int rc = TORN_OK;

    while (pos < len && rc == TORN_OK) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - pos, lead = 0;

        if (!nl && !final)
            break;
        p->line++;
        if (p->line == 1) { /* a UTF-8 byte order mark is not part of the first line */
            size_t bom = torn_parse_bom(buf + pos, n);
            pos += bom;
            n -= bom;
        }
        while (n && isspace((unsigned char)buf[pos + n - 1]))
            n--;
        while (lead < n && isspace((unsigned char)buf[pos + lead]))
            lead++;     /* an indented line is read like any other */
        if (n > lead && buf[pos + lead] != '#' && !(p->fmt != TORN_HIST_TORN && buf[pos + lead] == ';'))
            rc = parse_one(p, buf + pos + lead, n - lead);
        pos = end + 1;
    }
    *used_out = pos < len ? pos : len;
    return rc;
}

/* One operation map of an EDN file read at line. */
static int take_form(struct parser *p, cJSON *o, size_t line)
{
    struct raw r;
    int rc;

    p->line = line;
    rc = raw_from_object(p, o, &r);
    cJSON_Delete(o);
    return rc == TORN_OK ? take(p, &r) : rc;
}

static int edn_error(struct parser *p, const struct torn_edn *r)
{
    if (r->nomem)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    p->line = r->err_line;
    return bad(p, r->msg, NULL);
}

/* An EDN file: operation maps one after another (Jepsen's history.edn), or
 * all inside one vector or list (Knossos's data/), over any lines. */
static int parse_forms(struct parser *p, const char *buf, size_t len)
{
    struct torn_edn r;
    size_t skip = torn_parse_bom(buf, len), line;
    int wrapped, c, rc = TORN_OK;
    cJSON *o;

    torn_edn_init(&r, buf + skip, len - skip);
    c = torn_edn_peek(&r);
    wrapped = c == '[' ? ']' : c == '(' ? ')' : 0;   /* the closing byte */
    if (wrapped)
        r.pos++;
    while (rc == TORN_OK) {
        c = torn_edn_peek(&r);
        if (wrapped && c == wrapped) {
            r.pos++;
            wrapped = 0;
            if (torn_edn_peek(&r) >= 0) {
                p->line = r.line;
                return bad(p, "text after the vector of operations", NULL);
            }
            break;
        }
        if (!(o = torn_edn_read(&r, &line)))
            break;
        rc = take_form(p, o, line);
    }
    if (rc == TORN_OK && r.msg[0])
        return edn_error(p, &r);
    if (rc == TORN_OK && wrapped) {
        p->line = r.line;
        return bad(p, "the vector of operations is not closed", NULL);
    }
    p->line = r.line;
    return rc;
}

/* Parse buf[0..len) (all of it when final) in p's format, guessed from buf
 * when AUTO.  EDN is read as forms, so it waits for the whole input. */
static int parse_buf(struct parser *p, const char *buf, size_t len, int final, size_t *used_out)
{
    if (p->fmt == TORN_HIST_AUTO || p->fmt == TORN_HIST_JEPSEN) {
        if (first_byte(buf, len) < 0 && !final) {
            *used_out = 0;
            return TORN_OK;
        }
        enum torn_hist_format g = guess(buf, len);
        p->fmt = p->fmt == TORN_HIST_AUTO || g != TORN_HIST_TORN ? g : TORN_HIST_JEPSEN;
    }
    if (p->fmt != TORN_HIST_EDN)
        return parse_lines(p, buf, len, final, used_out);
    *used_out = final ? len : 0;
    return final ? parse_forms(p, buf, len) : TORN_OK;
}

/* ---- jepsen.independent: [k v] values become per-key operations ---- */

/* Value id as a pair [k v]: 1 (k, v set), 0 absent or null, -1 anything
 * else, TORN_E_NOMEM. */
static int pair_of(const struct torn_hist *h, uint32_t id, const cJSON **k, const cJSON **v)
{
    const cJSON *x;

    if (torn_hist_tree(h, id, &x) != TORN_OK)
        return TORN_E_NOMEM;
    if (!x || cJSON_IsNull(x))
        return 0;
    if (!cJSON_IsArray(x) || (x->type & TORN_VALUE_SET) || !x->child || !x->child->next ||
        x->child->next->next)
        return -1;
    *k = x->child;
    *v = x->child->next;
    return 1;
}

/* pair_of by the canonical text (no tree): kv[0], kv[1] the texts of k, v. */
static int pair_text(const struct torn_hist *h, uint32_t id, struct torn_vspan kv[2])
{
    const char *t = torn_hist_value_text(h, id);

    if (!strcmp(t, "null"))
        return 0;
    return torn_value_canon_items(t, torn_hist_value_len(h, id), kv, 2) == 2 ? 1 : -1;
}

static int span_is(const struct torn_vspan *a, const char *s, size_t len)
{
    return a->len == len && !memcmp(a->s, s, len);
}

/* Jepsen's independent histories: no :key, every value a pair [k v] (the
 * same k at invoke and completion), and reads invoked with [k nil].  A
 * plain register whose values happen to be pairs does not read [k nil].
 * Equal values have equal canonical texts: no tree is needed. */
static int is_independent(const struct torn_hist *h)
{
    int keyed_read = 0;

    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *op = &h->ops[i];
        struct torn_vspan in[2], out[2];
        int a, b;
        if (op->key_id != TORN_HIST_NONE || (a = pair_text(h, op->input_id, in)) < 0 ||
            (b = pair_text(h, op->output_id, out)) < 0 || (!a && !b) ||
            (a && b && !span_is(&in[0], out[0].s, out[0].len)))
            return 0;
        const char *f = torn_hist_f(h, op);
        if (a && span_is(&in[1], "null", 4) && f && (!strcmp(f, "read") || !strcmp(f, "get")))
            keyed_read = 1;
    }
    return keyed_read;
}

/* Store a copy of v; its id in *id.  0 or TORN_E_NOMEM. */
static int take_copy(struct parser *p, const cJSON *v, uint32_t *id)
{
    struct raw r = {.value = TORN_HIST_NONE};
    cJSON *c = cJSON_Duplicate(v, 1);
    int rc;

    if (!c)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    rc = take_value(p, &r, c);
    *id = r.value;
    return rc;
}

static int split_independent(struct parser *p)
{
    struct torn_hist *h = p->h;

    for (size_t i = 0; i < h->n_ops; i++) {
        struct torn_hop *op = &h->ops[i];
        const cJSON *k = NULL, *v = NULL, *k2, *v2;
        struct raw r;
        int rc = TORN_OK;

        memset(&r, 0, sizeof r);
        /* is_independent saw only pairs and nulls: pair_of is 1 or 0 here */
        if ((rc = pair_of(h, op->input_id, &k, &v)) > 0)
            rc = take_copy(p, v, &op->input_id);
        if (rc >= 0 && (rc = pair_of(h, op->output_id, &k2, &v2)) > 0) {
            k = k2;
            rc = take_copy(p, v2, &op->output_id);
        }
        if (rc >= 0 && (rc = key_of(p, k, &r)) == TORN_OK)
            op->key_id = r.key ? r.key_id : TORN_HIST_NONE;
        if (rc < 0)
            return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");  /* the only error */
    }
    h->independent = 1;
    return TORN_OK;
}

static int parser_begin(struct parser *p, const char *name, enum torn_hist_format fmt,
                        struct torn_err *err)
{
    struct torn_hist *h;

    memset(p, 0, sizeof *p);
    p->err = err;
    p->fmt = fmt;
    h = calloc(1, sizeof *h);
    if (!h || !(h->strs = calloc(1, sizeof *h->strs)) || !(h->strs->tab = torn_intern_new()) ||
        !(h->name = strdup(name ? name : "history"))) {
        torn_hist_free(h);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    p->h = h;
    return TORN_OK;
}

/* Sort by cmp unless already in order (torn writes invokes in time order). */
static void sort_if_needed(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *b = base;

    for (size_t i = 1; i < n; i++)
        if (cmp(b + (i - 1) * size, b + i * size) > 0) {
            qsort(base, n, size, cmp);
            return;
        }
}

/* Finish after rc (the parse result): *out gets the history or NULL. */
static int parser_end(struct parser *p, int rc, struct torn_hist **out)
{
    struct torn_hist *h = p->h;

    free(p->open.proc);
    free(p->open.idx);
    free(p->open.used);
    free(p->copy);
    free(p->fmap);
    free(p->fmap_id);
    vtab_free(&p->raw);
    free(p->raw_ids);
    if (rc == TORN_OK && h->n_ops == 0 && h->n_events == 0)
        rc = torn_err_set(p->err, TORN_E_CONFIG, "%s: no operations found (is it a %s history?)",
                          h->name, p->fmt == TORN_HIST_TORN ? "torn JSON-lines" : "Jepsen");
    if (rc == TORN_OK && is_independent(h))
        rc = split_independent(p);
    if (rc != TORN_OK) {
        torn_hist_free(h);
        return rc;
    }
    h->clockless = p->clock_known <= 0;
    h->n_values = h->strs->values.n;
    h->n_strs = torn_intern_count(h->strs->tab);
    sort_if_needed(h->ops, h->n_ops, sizeof *h->ops, cmp_op);
    sort_if_needed(h->events, h->n_events, sizeof *h->events, cmp_event);
    *out = h;
    return TORN_OK;
}

int torn_hist_parse(const char *buf, size_t len, const char *name, enum torn_hist_format fmt,
                    struct torn_hist **out, struct torn_err *err)
{
    struct parser p;
    size_t used;
    int rc;

    *out = NULL;
    if ((rc = parser_begin(&p, name, fmt, err)) != TORN_OK)
        return rc;
    rc = parse_buf(&p, buf, len, 1, &used);
    return parser_end(&p, rc, out);
}

#define READ_CHUNK ((size_t)1 << 20)

/* Read fd in chunks and parse the lines as they come: the history's memory
 * is the operations, not the file (a 10M-operation file is 2 GB). */
static int parse_fd(struct parser *p, int fd, const char *path)
{
    size_t cap = READ_CHUNK, have = 0, used;
    char *buf = malloc(cap);
    int rc = TORN_OK, eof = 0;

    if (!buf)
        return torn_err_set(p->err, TORN_E_NOMEM, "%s: out of memory", path);
    while (rc == TORN_OK && !eof) {
        if (cap - have < READ_CHUNK / 2) {      /* a line longer than the buffer */
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = torn_err_set(p->err, TORN_E_NOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = torn_err_sys(p->err, TORN_E_IO, errno, "read %s", path);
            break;
        }
        eof = n == 0;
        have += (size_t)n;
        rc = parse_buf(p, buf, have, eof, &used);
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    return rc;
}

/* Room for the operations a regular file of this size may hold (torn's
 * lines are ~80 bytes, two per operation), so the array is not copied at
 * every doubling; untouched room costs no memory.  A hint: errors ignored. */
static void reserve_ops(struct parser *p, int fd)
{
    struct stat st;
    size_t n;
    struct torn_hop *ops;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < ((off_t)1 << 20))
        return;
    n = (size_t)st.st_size / 128;
    ops = grow_array(NULL, &p->cap_ops, n, sizeof *ops);
    if (ops)
        p->h->ops = ops;
}

int torn_hist_read(const char *path, enum torn_hist_format fmt, struct torn_hist **out,
                   struct torn_err *err)
{
    struct parser p;
    int fd, rc, e;

    *out = NULL;
    fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
    if (fd < 0) {
        e = errno;
        return torn_err_sys(err, e == ENOENT ? TORN_E_NOTFOUND : TORN_E_IO, e, "%s", path);
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    rc = parser_begin(&p, strcmp(path, "-") ? path : "stdin", fmt, err);
    if (rc == TORN_OK) {
        reserve_ops(&p, fd);
        rc = parser_end(&p, parse_fd(&p, fd, path), out);
    }
    close(fd);
    return rc;
}

const char *torn_hist_key(const struct torn_hist *h, uint32_t key_id)
{
    return key_id == TORN_HIST_NONE ? NULL : torn_intern_str(h->strs->tab, key_id);
}

void torn_hist_free(struct torn_hist *h)
{
    if (!h)
        return;
    free(h->ops);
    free(h->fs);
    free(h->events);
    if (h->strs) {
        torn_intern_free(h->strs->tab);
        vtab_free(&h->strs->values);
    }
    free(h->strs);
    free(h->name);
    free(h);
}

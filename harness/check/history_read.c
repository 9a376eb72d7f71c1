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

#include "intern.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

/* Distinct values by structure: open addressing over ids. */
struct vtab {
    cJSON **vals;         /* by id; owned */
    uint64_t *hashes;     /* by id */
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
};

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

/* ---- EDN (the subset Jepsen histories use) ---- */

static const char *edn_ws(const char *s)
{
    while (*s && (isspace((unsigned char)*s) || *s == ','))
        s++;
    return s;
}

static int edn_delim(char c)
{
    return c == '\0' || isspace((unsigned char)c) || c == ',' || strchr("()[]{}\"", c);
}

static cJSON *edn_string(const char *s, const char **end)
{
    size_t cap = 32, n = 0;
    char *buf = malloc(cap);
    cJSON *v;

    if (!buf)
        return NULL;
    for (s++; *s && *s != '"'; s++) {
        char c = *s;
        if (c == '\\') {
            s++;
            c = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s;
            if (!*s)
                break;
        }
        if (n + 2 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        buf[n++] = c;
    }
    if (*s != '"') {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    v = cJSON_CreateString(buf);
    free(buf);
    *end = s + 1;
    return v;
}

static cJSON *edn_atom(const char *s, const char **end)
{
    const char *e = s;
    char tok[128];
    size_t len;

    while (!edn_delim(*e))
        e++;
    len = (size_t)(e - s);
    if (len == 0 || len >= sizeof tok)
        return NULL;
    memcpy(tok, s, len);
    tok[len] = '\0';
    *end = e;
    if (strcmp(tok, "nil") == 0)
        return cJSON_CreateNull();
    if (strcmp(tok, "true") == 0)
        return cJSON_CreateTrue();
    if (strcmp(tok, "false") == 0)
        return cJSON_CreateFalse();
    if (tok[0] == ':')
        return len > 1 ? cJSON_CreateString(tok + 1) : NULL;
    if (isdigit((unsigned char)tok[0]) || ((tok[0] == '-' || tok[0] == '+') && len > 1)) {
        char *ep;
        errno = 0;
        double d = strtod(tok, &ep);
        if (*ep == 'N' || *ep == 'M')   /* bigint / bigdecimal suffix */
            ep++;
        if (*ep || errno)
            return NULL;
        return cJSON_CreateNumber(d);
    }
    return cJSON_CreateString(tok);     /* a symbol */
}

static cJSON *edn_value(const char *s, const char **end, int depth);

/* A vector, list, map or (set = 1, s at its '{') set. */
static cJSON *edn_coll(const char *s, const char **end, int depth, int set)
{
    char close = *s == '[' ? ']' : *s == '(' ? ')' : '}';
    int map = *s == '{' && !set;
    cJSON *c = map ? cJSON_CreateObject() : cJSON_CreateArray();

    if (!c)
        return NULL;
    s = edn_ws(s + 1);
    while (*s && *s != close) {
        cJSON *k = NULL, *v;
        if (map) {
            k = edn_value(s, &s, depth + 1);
            if (!k || !(cJSON_IsString(k) || cJSON_IsNumber(k)))
                goto bad_k;
            s = edn_ws(s);
        }
        v = edn_value(s, &s, depth + 1);
        if (!v)
            goto bad_k;
        if (map) {
            char num[32];
            const char *name = k->valuestring;
            if (!name) {
                snprintf(num, sizeof num, "%.17g", k->valuedouble);
                name = num;
            }
            cJSON_AddItemToObject(c, name, v);
            cJSON_Delete(k);
        } else {
            cJSON_AddItemToArray(c, v);
        }
        s = edn_ws(s);
        continue;
    bad_k:
        cJSON_Delete(k);
        cJSON_Delete(c);
        return NULL;
    }
    if (*s != close) {
        cJSON_Delete(c);
        return NULL;
    }
    *end = s + 1;
    return c;
}

static cJSON *edn_value(const char *s, const char **end, int depth)
{
    if (depth > 64)
        return NULL;
    s = edn_ws(s);
    if (*s == '#' && s[1] == '{')       /* a set: read as an array */
        return edn_coll(s + 1, end, depth, 1);
    if (*s == '"')
        return edn_string(s, end);
    if (*s == '[' || *s == '(' || *s == '{')
        return edn_coll(s, end, depth, 0);
    if (!*s || strchr(")]}", *s))
        return NULL;
    return edn_atom(s, end);
}

cJSON *torn_edn_parse(const char *s, const char **end_out)
{
    const char *end = s;
    cJSON *v = edn_value(s, &end, 0);

    if (v && end_out)
        *end_out = end;
    return v;
}

/* ---- building the history ---- */

static int bad(struct parser *p, const char *fmt, const char *what)
{
    return torn_err_set(p->err, TORN_E_CONFIG, "%s:%zu: %s%s", p->h->name, p->line, fmt,
                        what ? what : "");
}

static const char *intern(struct parser *p, const char *s, uint32_t *id_out)
{
    int64_t id;

    if (!s)
        return NULL;
    id = torn_intern_id(p->h->strs->tab, s, strlen(s));
    if (id < 0 || id >= (int64_t)TORN_HIST_NONE)
        return NULL;
    if (id_out)
        *id_out = (uint32_t)id;
    return torn_intern_str(p->h->strs->tab, id);
}

/* ---- values, interned by structure ---- */

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDULL;
}

static uint64_t str_hash(uint64_t h, const char *s)
{
    return s ? torn_fnv1a(h, s, strlen(s)) : mix(h, 1);
}

/* A hash of v's type, numbers (bit for bit), strings, member names and
 * order; depth is bounded by the parsers (cJSON 1000, EDN 64). */
static uint64_t value_hash(const cJSON *v, uint64_t h)
{
    uint64_t bits;

    for (; v; v = v->next) {
        h = mix(h, (uint64_t)(v->type & 0xFF));
        h = str_hash(h, v->string);
        if (cJSON_IsNumber(v)) {
            double d = v->valuedouble;
            memcpy(&bits, &d, sizeof bits);
            h = mix(h, bits);
        } else if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
            h = str_hash(h, v->valuestring);
        } else if (v->child) {
            h = mix(value_hash(v->child, h), 2);
        }
    }
    return h;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Equal in type, number bits, strings, member names and order (siblings too). */
static int value_same(const cJSON *a, const cJSON *b)
{
    for (; a && b; a = a->next, b = b->next) {
        if ((a->type & 0xFF) != (b->type & 0xFF) || !same_str(a->string, b->string))
            return 0;
        if (cJSON_IsNumber(a)) {
            if (memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0)
                return 0;
        } else if (cJSON_IsString(a) || cJSON_IsRaw(a)) {
            if (!same_str(a->valuestring, b->valuestring))
                return 0;
        } else if (!value_same(a->child, b->child)) {
            return 0;
        }
    }
    return !a && !b;
}

static void vtab_free(struct vtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        cJSON_Delete(t->vals[i]);
    free(t->vals);
    free(t->hashes);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int vtab_rehash(struct vtab *t, size_t n_slots)
{
    uint32_t *slots = calloc(n_slots, sizeof *slots);

    if (!slots)
        return -1;
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

/* The id of v (detached, owned by the caller until this returns): an equal
 * value already stored keeps its id and v is deleted, else v is stored.
 * TORN_HIST_NONE for NULL; -1 on ENOMEM (v deleted). */
static int64_t vtab_take(struct vtab *t, cJSON *v)
{
    uint64_t hash;
    size_t i;

    if (!v)
        return TORN_HIST_NONE;
    v->next = v->prev = NULL;
    hash = value_hash(v, 0x1234567);
    hash ^= hash >> 29;             /* the table indexes by the low bits */
    hash *= 0xBF58476D1CE4E5B9ULL;
    hash ^= hash >> 32;
    if ((t->n + 1) * 2 > t->n_slots && (t->n + 1 >= TORN_HIST_NONE ||
                                        vtab_rehash(t, t->n_slots ? t->n_slots * 2 : 1024) < 0))
        goto nomem;
    for (i = hash & (t->n_slots - 1); t->slots[i]; i = (i + 1) & (t->n_slots - 1)) {
        uint32_t id = t->slots[i] - 1;
        if (t->hashes[id] == hash && value_same(t->vals[id], v)) {
            cJSON_Delete(v);
            return id;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        cJSON **vals = realloc(t->vals, cap * sizeof *vals);
        uint64_t *hashes = vals ? realloc(t->hashes, cap * sizeof *hashes) : NULL;
        if (vals)
            t->vals = vals;
        if (!hashes)
            goto nomem;
        t->hashes = hashes;
        t->cap = cap;
    }
    t->vals[t->n] = v;
    t->hashes[t->n] = hash;
    t->slots[i] = (uint32_t)t->n + 1;
    return (int64_t)t->n++;
nomem:
    cJSON_Delete(v);
    return -1;
}

const struct cJSON *torn_hist_value(const struct torn_hist *h, uint32_t id)
{
    return id < h->n_values ? h->strs->values.vals[id] : NULL;
}

/* The (stable) tree of a value id, NULL for TORN_HIST_NONE. */
static const cJSON *vptr(const struct torn_hist *h, uint32_t id)
{
    return id == TORN_HIST_NONE ? NULL : h->strs->values.vals[id];
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
        return -1;
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
    e->value = vptr(h, r->value);
    e->t = r->t;
    e->line = p->line;
    return TORN_OK;
}

static int add_invoke(struct parser *p, struct raw *r)
{
    struct torn_hist *h = p->h;
    struct torn_hop *op, *ops;
    size_t *slot;

    if (pmap_reserve(&p->open) < 0)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    ops = grow_array(h->ops, &p->cap_ops, h->n_ops + 1, sizeof *ops);
    if (!ops)
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    h->ops = ops;
    slot = pmap_slot(&p->open, r->process);
    /* A still-open previous operation of this process stays INFO. */
    op = &ops[h->n_ops++];
    memset(op, 0, sizeof *op);
    op->process = r->process;
    op->f = r->f;
    op->key = r->key;
    op->key_id = r->key ? r->key_id : TORN_HIST_NONE;
    op->input_id = r->value;
    op->input = vptr(h, r->value);
    op->output_id = TORN_HIST_NONE;
    op->outcome = TORN_OUT_INFO;
    op->t_invoke = r->t;
    op->t_complete = TORN_HIST_NEVER;
    op->line_invoke = p->line;
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
    if (r->f && op->f && r->f != op->f) {
        snprintf(what, sizeof what, "completion f \"%.20s\" does not match invoke f \"%.20s\" (line %zu)",
                 r->f, op->f, op->line_invoke);
        return bad(p, what, NULL);
    }
    if (r->t < op->t_invoke)
        return bad(p, "completion time is before its invoke", NULL);
    op->outcome = r->kind == RK_OK ? TORN_OUT_OK : r->kind == RK_FAIL ? TORN_OUT_FAIL
                                                                      : TORN_OUT_INFO;
    op->output_id = r->value;
    op->output = vptr(p->h, r->value);
    op->t_complete = r->t;
    op->line_complete = p->line;
    if (r->key && !op->key) {
        op->key = r->key;
        op->key_id = r->key_id;
    }
    *slot = 0;   /* no open operation */
    return TORN_OK;
}

static int kind_of(const char *s)
{
    for (int k = 0; k < (int)(sizeof kind_names / sizeof *kind_names); k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
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

/* Fill r from a parsed object (torn JSON or an EDN map: same field names). */
static int raw_from_object(struct parser *p, cJSON *o, struct raw *r)
{
    struct fields fl;
    char num[32];

    memset(r, 0, sizeof *r);
    r->value = TORN_HIST_NONE;
    if (!cJSON_IsObject(o))
        return bad(p, "not a JSON object", NULL);
    find_fields(o, &fl);
    if (!cJSON_IsString(fl.type) || (r->kind = kind_of(fl.type->valuestring)) < 0)
        return bad(p, "field \"type\" must be one of invoke, ok, fail, info, fault, notify", NULL);
    if (cJSON_IsNumber(fl.proc)) {
        double d = fl.proc->valuedouble;
        if (d != floor(d) || fabs(d) > 9e15)
            return bad(p, "field \"process\" must be an integer", NULL);
        r->process = (long long)d;
    } else if (cJSON_IsString(fl.proc) && r->kind >= RK_FAULT) {
        r->process = -1;                 /* e.g. Jepsen's :nemesis */
    } else if (fl.proc || r->kind < RK_FAULT) {
        return bad(p, "field \"process\" must be an integer", NULL);
    }
    if (fl.f && !cJSON_IsString(fl.f))
        return bad(p, "field \"f\" must be a string", NULL);
    if (!fl.f && r->kind == RK_INVOKE)
        return bad(p, "an invoke needs field \"f\"", NULL);
    if (fl.key && !(cJSON_IsString(fl.key) || cJSON_IsNumber(fl.key) || cJSON_IsNull(fl.key)))
        return bad(p, "field \"key\" must be a string or a number", NULL);
    if (cJSON_IsNumber(fl.key))
        snprintf(num, sizeof num, "%.17g", fl.key->valuedouble);
    if (fl.time) {
        if (!cJSON_IsNumber(fl.time) || fl.time->valuedouble < 0 ||
            fl.time->valuedouble > 1.8e19)
            return bad(p, "field \"time\" must be a non-negative number of nanoseconds", NULL);
        r->has_time = 1;
        r->t = (uint64_t)fl.time->valuedouble;
    }
    r->f = fl.f ? intern(p, fl.f->valuestring, NULL) : NULL;
    r->key = cJSON_IsString(fl.key)   ? intern(p, fl.key->valuestring, &r->key_id)
             : cJSON_IsNumber(fl.key) ? intern(p, num, &r->key_id)
                                      : NULL;
    if ((fl.f && !r->f) || ((cJSON_IsString(fl.key) || cJSON_IsNumber(fl.key)) && !r->key))
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    return fl.value ? take_value(p, r, cJSON_DetachItemViaPointer(o, fl.value)) : TORN_OK;
}

/* `INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]` */
static int raw_from_log(struct parser *p, const char *line, struct raw *r)
{
    const char *s = strstr(line, "jepsen.util - ");
    cJSON *proc = NULL, *type = NULL, *f = NULL;
    int rc = TORN_OK;

    memset(r, 0, sizeof *r);
    r->value = TORN_HIST_NONE;
    if (!s) {
        r->kind = RK_SKIP;   /* other log lines (start-up, nemesis chatter) */
        return TORN_OK;
    }
    s += strlen("jepsen.util - ");
    proc = torn_edn_parse(s, &s);
    if (proc)
        type = torn_edn_parse(s, &s);
    if (type)
        f = torn_edn_parse(s, &s);
    if (!f || !cJSON_IsString(type) || !cJSON_IsString(f)) {
        rc = bad(p, "expected `PROCESS :type :f VALUE` after \"jepsen.util - \"", NULL);
        goto out;
    }
    if ((r->kind = kind_of(type->valuestring)) < 0 || r->kind >= RK_FAULT) {
        rc = bad(p, "unknown operation type :", type->valuestring);
        goto out;
    }
    if (cJSON_IsNumber(proc)) {
        if (proc->valuedouble != floor(proc->valuedouble) || fabs(proc->valuedouble) > 9e15) {
            rc = bad(p, "the process must be an integer", NULL);   /* found by fuzzing */
            goto out;
        }
        r->process = (long long)proc->valuedouble;
    } else {
        r->process = -1;     /* :nemesis: a fault */
        r->kind = RK_FAULT;
    }
    s = edn_ws(s);
    if (*s) {
        cJSON *v = torn_edn_parse(s, &s);
        if (!v) {
            rc = bad(p, "cannot parse the value: ", s);
            goto out;
        }
        if ((rc = take_value(p, r, v)) != TORN_OK)
            goto out;
    }
    r->f = intern(p, f->valuestring, NULL);
    if (!r->f)
        rc = torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
out:
    cJSON_Delete(proc);
    cJSON_Delete(type);
    cJSON_Delete(f);
    return rc;
}

static int parse_line(struct parser *p, enum torn_hist_format fmt, const char *line, size_t len,
                      struct raw *r)
{
    cJSON *o;
    int rc;

    if (fmt == TORN_HIST_JEPSEN && line[0] != '{')
        return raw_from_log(p, line, r);
    if (fmt == TORN_HIST_JEPSEN) {
        const char *end;
        o = torn_edn_parse(line, &end);
        if (!o || *edn_ws(end)) {
            cJSON_Delete(o);
            return bad(p, "malformed EDN map", NULL);
        }
    } else {
        o = cJSON_ParseWithLength(line, len);
        if (!o)
            return bad(p, "malformed JSON", NULL);
    }
    rc = raw_from_object(p, o, r);
    cJSON_Delete(o);
    return rc;
}

static int take(struct parser *p, struct raw *r)
{
    if (r->kind == RK_SKIP)
        return TORN_OK;
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

static enum torn_hist_format guess(const char *buf, size_t len)
{
    size_t i = 0;

    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i < len && buf[i] == '{') {
        i++;
        while (i < len && isspace((unsigned char)buf[i]))
            i++;
        return i < len && buf[i] == ':' ? TORN_HIST_JEPSEN : TORN_HIST_TORN;
    }
    return TORN_HIST_JEPSEN;
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

/* One line buf[0..n) (n > 0, trailing blanks removed, not a comment). */
static int parse_one(struct parser *p, const char *buf, size_t n)
{
    struct raw r;
    int rc;

    if (memchr(buf, '\0', n))
        return bad(p, "NUL byte in line", NULL);
    if (p->fmt == TORN_HIST_AUTO)
        p->fmt = guess(buf, n);
    if (p->fmt == TORN_HIST_TORN) {
        /* cJSON takes a length: parse in place. */
        rc = parse_line(p, p->fmt, buf, n, &r);
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
        rc = parse_line(p, p->fmt, p->copy, n, &r);
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
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - pos;

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
        if (n && buf[pos] != '#')
            rc = parse_one(p, buf + pos, n);
        pos = end + 1;
    }
    *used_out = pos < len ? pos : len;
    return rc;
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
    if (rc == TORN_OK && h->n_ops == 0 && h->n_events == 0)
        rc = torn_err_set(p->err, TORN_E_CONFIG, "%s: no operations found (is it a %s history?)",
                          h->name, p->fmt == TORN_HIST_TORN ? "torn JSON-lines" : "Jepsen");
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
    rc = parse_lines(&p, buf, len, 1, &used);
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
        rc = parse_lines(p, buf, have, eof, &used);
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
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        return torn_err_sys(err, e == ENOENT ? TORN_E_NOTFOUND : TORN_E_IO, e, "%s", path);
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    rc = parser_begin(&p, path, fmt, err);
    if (rc == TORN_OK) {
        reserve_ops(&p, fd);
        rc = parser_end(&p, parse_fd(&p, fd, path), out);
    }
    close(fd);
    return rc;
}

void torn_hist_free(struct torn_hist *h)
{
    if (!h)
        return;
    free(h->ops);
    free(h->events);
    if (h->strs) {
        torn_intern_free(h->strs->tab);
        vtab_free(&h->strs->values);
    }
    free(h->strs);
    free(h->name);
    free(h);
}

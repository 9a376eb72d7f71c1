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

#include "check_intern.h"
#include "err.h"
#include "util.h"

struct torn_hist_strs {
    struct torn_intern *tab;
};

/* One parsed line before pairing. */
struct raw {
    int kind;             /* RK_* */
    long long process;
    const char *f;
    const char *key;
    cJSON *value;         /* owned until moved into an op/event */
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

static const char *intern(struct parser *p, const char *s)
{
    int64_t id;

    if (!s)
        return NULL;
    id = torn_intern_id(p->h->strs->tab, s, strlen(s));
    return id < 0 ? NULL : torn_intern_str(p->h->strs->tab, id);
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

static void *grow_array(void *a, size_t *cap, size_t need, size_t size)
{
    void *n;

    if (need <= *cap)
        return a;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    n = realloc(a, c * size);
    if (n)
        *cap = c;
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
    e->value = r->value;
    e->t = r->t;
    e->line = p->line;
    r->value = NULL;
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
    op->input = r->value;
    op->outcome = TORN_OUT_INFO;
    op->t_invoke = r->t;
    op->t_complete = TORN_HIST_NEVER;
    op->line_invoke = p->line;
    r->value = NULL;
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
    op->output = r->value;
    op->t_complete = r->t;
    op->line_complete = p->line;
    if (r->key && !op->key)
        op->key = r->key;
    r->value = NULL;
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

/* Fill r from a parsed object (torn JSON or an EDN map: same field names). */
static int raw_from_object(struct parser *p, cJSON *o, struct raw *r)
{
    cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    cJSON *proc = cJSON_GetObjectItemCaseSensitive(o, "process");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "f");
    cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
    cJSON *time = cJSON_GetObjectItemCaseSensitive(o, "time");
    char num[32];

    memset(r, 0, sizeof *r);
    if (!cJSON_IsObject(o))
        return bad(p, "not a JSON object", NULL);
    if (!cJSON_IsString(type) || (r->kind = kind_of(type->valuestring)) < 0)
        return bad(p, "field \"type\" must be one of invoke, ok, fail, info, fault, notify", NULL);
    if (cJSON_IsNumber(proc)) {
        if (proc->valuedouble != floor(proc->valuedouble) || fabs(proc->valuedouble) > 9e15)
            return bad(p, "field \"process\" must be an integer", NULL);
        r->process = (long long)proc->valuedouble;
    } else if (cJSON_IsString(proc) && r->kind >= RK_FAULT) {
        r->process = -1;                 /* e.g. Jepsen's :nemesis */
    } else if (proc || r->kind < RK_FAULT) {
        return bad(p, "field \"process\" must be an integer", NULL);
    }
    if (f && !cJSON_IsString(f))
        return bad(p, "field \"f\" must be a string", NULL);
    if (!f && r->kind == RK_INVOKE)
        return bad(p, "an invoke needs field \"f\"", NULL);
    if (key && !(cJSON_IsString(key) || cJSON_IsNumber(key) || cJSON_IsNull(key)))
        return bad(p, "field \"key\" must be a string or a number", NULL);
    if (cJSON_IsNumber(key))
        snprintf(num, sizeof num, "%.17g", key->valuedouble);
    if (time) {
        if (!cJSON_IsNumber(time) || time->valuedouble < 0 || time->valuedouble > 1.8e19)
            return bad(p, "field \"time\" must be a non-negative number of nanoseconds", NULL);
        r->has_time = 1;
        r->t = (uint64_t)time->valuedouble;
    }
    r->f = f ? intern(p, f->valuestring) : NULL;
    r->key = cJSON_IsString(key) ? intern(p, key->valuestring)
             : cJSON_IsNumber(key) ? intern(p, num) : NULL;
    if ((f && !r->f) || (cJSON_IsString(key) && !r->key))
        return torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
    r->value = cJSON_DetachItemFromObjectCaseSensitive(o, "value");
    return TORN_OK;
}

/* `INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]` */
static int raw_from_log(struct parser *p, const char *line, struct raw *r)
{
    const char *s = strstr(line, "jepsen.util - ");
    cJSON *proc = NULL, *type = NULL, *f = NULL;
    int rc = TORN_OK;

    memset(r, 0, sizeof *r);
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
        r->value = torn_edn_parse(s, &s);
        if (!r->value) {
            rc = bad(p, "cannot parse the value: ", s);
            goto out;
        }
    }
    r->f = intern(p, f->valuestring);
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

static int parse_all(struct parser *p, const char *buf, size_t len, enum torn_hist_format fmt)
{
    size_t pos = 0;
    char *line = NULL;
    size_t line_cap = 0;
    int rc = TORN_OK;

    while (pos < len && rc == TORN_OK) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - pos;
        struct raw r;

        memset(&r, 0, sizeof r);
        p->line++;
        while (n && isspace((unsigned char)buf[pos + n - 1]))
            n--;
        if (n == 0 || buf[pos] == '#') {
            pos = end + 1;
            continue;
        }
        if (memchr(buf + pos, '\0', n)) {
            rc = bad(p, "NUL byte in line", NULL);
            break;
        }
        if (fmt == TORN_HIST_TORN) {
            /* cJSON takes a length: parse in place (the buffer may be a mapping). */
            rc = parse_line(p, fmt, buf + pos, n, &r);
        } else {
            if (n + 1 > line_cap) {
                char *nb = realloc(line, line_cap = n + 1);
                if (!nb) {
                    rc = torn_err_set(p->err, TORN_E_NOMEM, "out of memory");
                    break;
                }
                line = nb;
            }
            memcpy(line, buf + pos, n);
            line[n] = '\0';
            rc = parse_line(p, fmt, line, n, &r);
        }
        if (rc == TORN_OK)
            rc = take(p, &r);
        cJSON_Delete(r.value);
        pos = end + 1;
    }
    free(line);
    return rc;
}

int torn_hist_parse(const char *buf, size_t len, const char *name, enum torn_hist_format fmt,
                    struct torn_hist **out, struct torn_err *err)
{
    struct parser p;
    struct torn_hist *h;
    int rc;

    *out = NULL;
    memset(&p, 0, sizeof p);
    h = calloc(1, sizeof *h);
    if (!h || !(h->strs = calloc(1, sizeof *h->strs)) || !(h->strs->tab = torn_intern_new()) ||
        !(h->name = strdup(name ? name : "history"))) {
        torn_hist_free(h);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    p.h = h;
    p.err = err;
    if (fmt == TORN_HIST_AUTO)
        fmt = guess(buf, len);
    rc = parse_all(&p, buf, len, fmt);
    free(p.open.proc);
    free(p.open.idx);
    free(p.open.used);
    if (rc == TORN_OK && h->n_ops == 0 && h->n_events == 0)
        rc = torn_err_set(err, TORN_E_CONFIG, "%s: no operations found (is it a %s history?)",
                          h->name, fmt == TORN_HIST_TORN ? "torn JSON-lines" : "Jepsen");
    if (rc != TORN_OK) {
        torn_hist_free(h);
        return rc;
    }
    h->clockless = p.clock_known <= 0;
    if (h->n_ops)
        qsort(h->ops, h->n_ops, sizeof *h->ops, cmp_op);
    if (h->n_events)
        qsort(h->events, h->n_events, sizeof *h->events, cmp_event);
    *out = h;
    return TORN_OK;
}

/* Map a regular file read-only (no copy of a large history); 0 and
 * *map_out/len_out, or -1 (caller falls back to reading). */
static int map_file(const char *path, const char **map_out, size_t *len_out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *m;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        return -1;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    *map_out = m;
    *len_out = (size_t)st.st_size;
    return 0;
}

int torn_hist_read(const char *path, enum torn_hist_format fmt, struct torn_hist **out,
                   struct torn_err *err)
{
    const char *map;
    char *buf;
    size_t len;
    int rc;

    *out = NULL;
    if (map_file(path, &map, &len) == 0) {
        rc = torn_hist_parse(map, len, path, fmt, out, err);
        munmap((void *)map, len);
        return rc;
    }
    rc = torn_read_file(path, &buf, &len, err);
    if (rc != TORN_OK)
        return rc;
    rc = torn_hist_parse(buf, len, path, fmt, out, err);
    free(buf);
    return rc;
}

void torn_hist_free(struct torn_hist *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_ops; i++) {
        cJSON_Delete(h->ops[i].input);
        cJSON_Delete(h->ops[i].output);
    }
    for (size_t i = 0; i < h->n_events; i++)
        cJSON_Delete(h->events[i].value);
    free(h->ops);
    free(h->events);
    if (h->strs)
        torn_intern_free(h->strs->tab);
    free(h->strs);
    free(h->name);
    free(h);
}

/* torn: one-pass scanner for torn's history lines (see jsonl_scan.h). */
#include "jsonl_scan.h"

#include <string.h>

#include "value.h"

static const char *blank(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    return s;
}

/* Bytes that end a plain string's run: '"', '\\' and the control bytes. */
static const unsigned char stops[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

/* A string without escapes or control bytes at s: the byte after its
 * closing quote, or NULL. */
static const char *plain_string(const char *s, const char *e, struct torn_jl_field *f)
{
    const char *t;

    if (s >= e || *s != '"')
        return NULL;
    for (t = s + 1; t < e && !stops[(unsigned char)*t]; t++)
        ;
    if (t >= e || *t != '"')
        return NULL;
    f->kind = TORN_JL_STR;
    f->s = s + 1;
    f->len = (size_t)(t - s - 1);
    return t + 1;
}

/* An integer of 1-15 digits, optional '-', no leading zero, not -0, not
 * followed by a fraction or exponent: exact as a double, its own canonical
 * text.  The byte after it, or NULL. */
static const char *plain_int(const char *s, const char *e, struct torn_jl_field *f)
{
    const char *t = s + (s < e && *s == '-');
    long long n = 0;
    size_t digits = 0;

    if (t >= e || *t < '0' || *t > '9' || (*t == '0' && t > s))
        return NULL;
    for (; t < e && *t >= '0' && *t <= '9' && digits <= 15; t++, digits++)
        n = n * 10 + (*t - '0');
    if (digits > 15 || (digits > 1 && s[*s == '-'] == '0'))
        return NULL;
    if (t < e && (*t == '.' || *t == 'e' || *t == 'E' || (*t >= '0' && *t <= '9')))
        return NULL;
    f->kind = TORN_JL_INT;
    f->s = s;
    f->len = (size_t)(t - s);
    f->num = *s == '-' ? -n : n;
    return t;
}

/* Any other JSON value's extent: up to the ',' or '}' that ends it at
 * depth 0 (strings and nesting skipped).  Its syntax is checked later by
 * the reader that parses it. */
static const char *other_value(const char *s, const char *e, struct torn_jl_field *f)
{
    /* 1 a quote, 2 an opening bracket, 3 a closing one, 4 a comma */
    static const unsigned char marks[256] = {['"'] = 1, ['['] = 2, ['{'] = 2,
                                             [']'] = 3, ['}'] = 3, [','] = 4};
    const char *t = s, *end;
    int depth = 0;

    for (; t < e; t++) {
        unsigned char m = marks[(unsigned char)*t];
        if (!m)
            continue;
        if (m == 1) {
            for (t++; t < e && *t != '"'; t++)
                if (*t == '\\')
                    t++;
            if (t >= e)
                return NULL;
        } else if (m == 2) {
            depth++;
        } else if (m == 3) {
            if (depth-- == 0)
                break;
        } else if (depth == 0) {
            break;
        }
    }
    if (depth > 0 || t >= e)
        return NULL;
    for (end = t; end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r');)
        end--;
    if (end == s)
        return NULL;
    f->kind = TORN_JL_OTHER;
    f->s = s;
    f->len = (size_t)(end - s);
    return t;
}

static const char *value_at(const char *s, const char *e, struct torn_jl_field *f)
{
    const char *t;

    if (e - s >= 4 && !memcmp(s, "null", 4)) {
        t = s + 4;
        if (t < e && *t != ',' && *t != '}' && *t != ']' && *t != ' ' && *t != '\t' &&
            *t != '\r')
            return NULL;
        f->kind = TORN_JL_NULL;
        f->s = s;
        f->len = 4;
        return t;
    }
    if ((t = plain_string(s, e, f)) || (t = plain_int(s, e, f)))
        return t;
    return other_value(s, e, f);
}

/* The field a member name stands for, or NULL. */
static struct torn_jl_field *field_of(struct torn_jl_line *l, const char *n, size_t len)
{
    switch (len) {
    case 1:
        return *n == 'f' ? &l->f : NULL;
    case 3:
        return !memcmp(n, "key", 3) ? &l->key : NULL;
    case 4:
        return !memcmp(n, "type", 4) ? &l->type : !memcmp(n, "time", 4) ? &l->time : NULL;
    case 5:
        return !memcmp(n, "value", 5) ? &l->value : NULL;
    case 7:
        return !memcmp(n, "process", 7) ? &l->process : NULL;
    default:
        return NULL;
    }
}

/* s past the literal l, or NULL when s does not start with it. */
#define PAST(s, e, l) \
    ((size_t)((e) - (s)) >= sizeof(l) - 1 && !memcmp((s), (l), sizeof(l) - 1) ? (s) + sizeof(l) - 1 \
                                                                             : NULL)

/* A member "name": written as torn writes it (PAST), its value read into
 * f by value_at (OTHER only when other is set): 1 read (*s moved on), 0
 * absent (*s kept), -1 not a line for this reader. */
static int writer_member(const char **s, const char *e, const char *name, size_t n,
                         struct torn_jl_field *f, int other)
{
    const char *t = *s;

    if ((size_t)(e - t) < n || memcmp(t, name, n))
        return 0;
    if (!(t = value_at(t + n, e, f)) || (f->kind == TORN_JL_OTHER && !other))
        return -1;
    *s = t;
    return 1;
}

/* Where a line ending `,"time":DIGITS}` has its time member, if after s;
 * else NULL.  Read from the end: the bytes before it are not looked at. */
static const char *time_from_end(const char *s, const char *e)
{
    const char *q = e - 1;

    if (e - s < 10 || *q != '}')
        return NULL;
    while (q > s && q[-1] >= '0' && q[-1] <= '9')
        q--;
    if (q == e - 1 || q - s < 8 || memcmp(q - 8, ",\"time\":", 8))
        return NULL;
    return q - 8;
}

/* The value member in writer order: as writer_member, but an array or
 * object followed by the time member is first offered to known with the
 * extent read from the line's end.  known says yes only for bytes it saw
 * read before as one whole value, and such bytes end exactly there when
 * read again (the extent scan stops at the first ',' outside strings and
 * brackets after them), so nothing is taken on trust. */
static int writer_value(const char **s, const char *e, struct torn_jl_field *f,
                        torn_jl_known_fn known, void *ctx)
{
    const char *t = *s, *end;

    if ((size_t)(e - t) < 9 || memcmp(t, ",\"value\":", 9))
        return 0;
    t += 9;
    if (known && t < e && (*t == '[' || *t == '{') && (end = time_from_end(t, e)) &&
        known(ctx, t, (size_t)(end - t))) {
        f->kind = TORN_JL_OTHER;
        f->s = t;
        f->len = (size_t)(end - t);
        *s = end;
        return 1;
    }
    return writer_member(s, e, ",\"value\":", 9, f, 1);
}

/* A line exactly as torn's writers print it (cJSON_PrintUnformatted,
 * gen-history): no blanks, the members in the order type, process, f, key,
 * value, time, the last four each optional.  What it accepts is a subset of
 * what the general loop accepts, read by the same functions into the same
 * fields, without the name lookups and blank skipping.  1, or 0 (out
 * partly filled) to let the general loop read it. */
static int writer_order(const char *s, const char *e, struct torn_jl_line *out,
                        torn_jl_known_fn known, void *ctx)
{
    if (!(s = PAST(s, e, "{\"type\":")) || !(s = value_at(s, e, &out->type)) ||
        out->type.kind == TORN_JL_OTHER || !(s = PAST(s, e, ",\"process\":")) ||
        !(s = value_at(s, e, &out->process)) || out->process.kind == TORN_JL_OTHER ||
        writer_member(&s, e, ",\"f\":", 5, &out->f, 0) < 0 ||
        writer_member(&s, e, ",\"key\":", 7, &out->key, 0) < 0 ||
        writer_value(&s, e, &out->value, known, ctx) < 0 ||
        writer_member(&s, e, ",\"time\":", 8, &out->time, 0) < 0)
        return 0;
    return e - s == 1 && *s == '}';
}

int torn_jl_scan(const char *line, size_t len, struct torn_jl_line *out)
{
    return torn_jl_scan_known(line, len, out, NULL, NULL);
}

int torn_jl_scan_known(const char *line, size_t len, struct torn_jl_line *out,
                       torn_jl_known_fn known, void *ctx)
{
    const char *s = line, *e = line + len;
    struct torn_jl_field name, *f;

    memset(out, 0, sizeof *out);
    if (writer_order(s, e, out, known, ctx))
        return 1;
    memset(out, 0, sizeof *out);
    s = blank(s, e);
    if (s >= e || *s != '{')
        return 0;
    s = blank(s + 1, e);
    for (;;) {
        if (!(s = plain_string(s, e, &name)) || !(f = field_of(out, name.s, name.len)) ||
            f->kind != TORN_JL_ABSENT)
            return 0;
        s = blank(s, e);
        if (s >= e || *s != ':')
            return 0;
        s = blank(s + 1, e);
        if (!(s = value_at(s, e, f)) || (f->kind == TORN_JL_OTHER && f != &out->value))
            return 0;
        s = blank(s, e);
        if (s < e && *s == ',') {
            s = blank(s + 1, e);
            continue;
        }
        if (s >= e || *s != '}')
            return 0;
        return blank(s + 1, e) == e;
    }
}

/* The canonical text of a scanned scalar appended to b: 0 or -1 ENOMEM. */
static int put_scalar(const struct torn_jl_field *f, struct torn_vbuf *b)
{
    if (f->kind == TORN_JL_STR)
        return torn_vbuf_put(b, "\"", 1) < 0 || torn_vbuf_put(b, f->s, f->len) < 0 ||
                       torn_vbuf_put(b, "\"", 1) < 0
                   ? -1
                   : 0;
    return torn_vbuf_put(b, f->s, f->len);
}

/* One simple scalar at s, its canonical text appended: the byte after it. */
static const char *canon_scalar(const char *s, const char *e, struct torn_vbuf *b, int *nomem)
{
    struct torn_jl_field f;
    const char *t = value_at(s, e, &f);

    if (!t || f.kind == TORN_JL_OTHER)
        return NULL;
    *nomem = put_scalar(&f, b) < 0;
    return t;
}

/* A flat object's members as canonical pieces `"name":value`, sorted (value.h
 * compares objects as sets of members).  Small objects only: up to 16
 * members in 512 bytes; a repeated name is left to the tree (refused there). */
#define FLAT_MAX 16
struct flat {
    char text[512];
    size_t len, n;
    size_t off[FLAT_MAX], plen[FLAT_MAX], nlen[FLAT_MAX];  /* piece; name with quotes */
};

static int flat_cmp(const struct flat *o, size_t a, size_t b)
{
    size_t n = o->plen[a] < o->plen[b] ? o->plen[a] : o->plen[b];
    int c = memcmp(o->text + o->off[a], o->text + o->off[b], n);

    return c ? c : o->plen[a] < o->plen[b] ? -1 : o->plen[a] > o->plen[b];
}

/* One member at s into o: the byte after it, or NULL. */
static const char *flat_member(struct flat *o, const char *s, const char *e)
{
    struct torn_jl_field name, v;
    size_t need;

    if (o->n == FLAT_MAX || !(s = plain_string(s, e, &name)))
        return NULL;
    s = blank(s, e);
    if (s >= e || *s != ':')
        return NULL;
    if (!(s = value_at(blank(s + 1, e), e, &v)) || v.kind == TORN_JL_OTHER)
        return NULL;
    need = name.len + 3 + v.len + 2;
    if (o->len + need > sizeof o->text)
        return NULL;
    o->off[o->n] = o->len;
    o->nlen[o->n] = name.len + 2;
    o->text[o->len++] = '"';
    memcpy(o->text + o->len, name.s, name.len);
    o->len += name.len;
    memcpy(o->text + o->len, "\":", 2);
    o->len += 2;
    if (v.kind == TORN_JL_STR)
        o->text[o->len++] = '"';
    memcpy(o->text + o->len, v.s, v.len);
    o->len += v.len;
    if (v.kind == TORN_JL_STR)
        o->text[o->len++] = '"';
    o->plen[o->n] = o->len - o->off[o->n];
    o->n++;
    return blank(s, e);
}

/* Sort o's pieces (insertion: a handful) and append `{p1,p2,...}` to b:
 * 1, 0 a name given twice, -1 ENOMEM. */
static int flat_put(struct flat *o, struct torn_vbuf *b)
{
    size_t order[FLAT_MAX];

    for (size_t i = 0; i < o->n; i++) {
        size_t j = i;
        for (; j > 0 && flat_cmp(o, order[j - 1], i) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (size_t i = 1; i < o->n; i++)
        if (o->nlen[order[i]] == o->nlen[order[i - 1]] &&
            !memcmp(o->text + o->off[order[i]], o->text + o->off[order[i - 1]],
                    o->nlen[order[i]]))
            return 0;
    if (torn_vbuf_put(b, "{", 1) < 0)
        return -1;
    for (size_t i = 0; i < o->n; i++)
        if ((i && torn_vbuf_put(b, ",", 1) < 0) ||
            torn_vbuf_put(b, o->text + o->off[order[i]], o->plen[order[i]]) < 0)
            return -1;
    return torn_vbuf_put(b, "}", 1) < 0 ? -1 : 1;
}

static int canon_object(const char *s, const char *e, struct torn_vbuf *b)
{
    struct flat o;

    o.len = o.n = 0;
    s = blank(s + 1, e);
    while (s && s < e && *s != '}') {
        if (o.n && (*s != ',' || (s = blank(s + 1, e)) >= e))
            return 0;
        s = flat_member(&o, s, e);
    }
    return s && s + 1 == e && *s == '}' ? flat_put(&o, b) : 0;
}

int torn_jl_canon(const struct torn_jl_field *v, struct torn_vbuf *b)
{
    const char *s = v->s, *e = v->s + v->len;
    size_t mark = b->len;
    int nomem = 0, rc;

    if (v->kind != TORN_JL_OTHER)
        return v->kind == TORN_JL_ABSENT ? 0 : put_scalar(v, b) < 0 ? -1 : 1;
    if (*s == '{') {
        if ((rc = canon_object(s, e, b)) == 1)
            return 1;
        goto undo;
    }
    if (*s != '[')
        return 0;
    s = blank(s + 1, e);
    if (torn_vbuf_put(b, "[", 1) < 0)
        return -1;
    for (int first = 1; s < e && *s != ']'; first = 0) {
        if ((!first && (*s != ',' || (s = blank(s + 1, e)) >= e)) ||
            (!first && torn_vbuf_put(b, ",", 1) < 0) ||
            !(s = canon_scalar(s, e, b, &nomem)) || nomem)
            break;
        s = blank(s, e);
    }
    if (!nomem && s && s + 1 == e && *s == ']' && torn_vbuf_put(b, "]", 1) == 0)
        return 1;
    rc = nomem ? -1 : 0;
undo:
    b->len = mark;
    if (b->s)
        b->s[mark] = '\0';
    return rc;
}

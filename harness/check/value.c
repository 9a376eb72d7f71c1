/* torn: value equality by canonical text (see value.h). */
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- the buffer ---- */

static int vb_room(struct torn_vbuf *b, size_t more)
{
    size_t cap;
    char *s;

    if (b->len + more + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (!(s = realloc(b->s, cap)))
        return -1;
    b->s = s;
    b->cap = cap;
    return 0;
}

int torn_vbuf_put(struct torn_vbuf *b, const char *s, size_t n)
{
    if (vb_room(b, n) < 0)
        return -1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

static int vb_str(struct torn_vbuf *b, const char *s)
{
    return torn_vbuf_put(b, s, strlen(s));
}

static int vb_zeros(struct torn_vbuf *b, long long n)
{
    for (; n > 0; n--)
        if (torn_vbuf_put(b, "0", 1) < 0)
            return -1;
    return 0;
}

/* ---- numbers ---- */

/* The decimal digits of a number and its exponent: value = digits * 10^exp. */
struct dec {
    int neg;
    char *digits;          /* no leading or trailing zeros; "" for zero */
    size_t n;
    long long exp;
};

/* Parse text[0..len) into d (digits malloc'd).  0, -1 syntax, -2 ENOMEM. */
static int dec_parse(const char *t, size_t len, struct dec *d)
{
    size_t i = 0, i0, il, f0 = 0, fl = 0, k = 0;
    long long e = 0;

    memset(d, 0, sizeof *d);
    if (i < len && (t[i] == '-' || t[i] == '+'))
        d->neg = t[i++] == '-';
    for (i0 = i; i < len && isdigit((unsigned char)t[i]);)
        i++;
    il = i - i0;
    if (i < len && t[i] == '.') {
        for (f0 = ++i; i < len && isdigit((unsigned char)t[i]);)
            i++;
        fl = i - f0;
    }
    if (il + fl == 0)
        return -1;
    if (i < len && (t[i] == 'e' || t[i] == 'E')) {
        int eneg = 0;
        size_t e0;
        if (++i < len && (t[i] == '+' || t[i] == '-'))
            eneg = t[i++] == '-';
        for (e0 = i; i < len && isdigit((unsigned char)t[i]); i++)
            if (i - e0 < 10)    /* more digits are refused below: no overflow */
                e = e * 10 + (t[i] - '0');
        if (i == e0 || i - e0 > 9)
            return -1;
        e = eneg ? -e : e;
    }
    if (i < len && (t[i] == 'N' || t[i] == 'M'))
        i++;
    if (i != len || !(d->digits = malloc(il + fl + 1)))
        return i != len ? -1 : -2;
    for (size_t j = 0; j < il + fl; j++) {
        char c = j < il ? t[i0 + j] : t[f0 + j - il];
        if (k || c != '0')
            d->digits[k++] = c;
    }
    d->exp = e - (long long)fl;
    while (k && d->digits[k - 1] == '0') {
        k--;
        d->exp++;
    }
    d->digits[k] = '\0';
    d->n = k;
    if (!k)
        d->neg = 0;
    return 0;
}

/* Write d in the canonical form of value.h. */
static int dec_write(const struct dec *d, struct torn_vbuf *b)
{
    long long p = (long long)d->n + d->exp;   /* digits before the point */
    char e[32];

    if (!d->n)
        return torn_vbuf_put(b, "0", 1);
    if (d->neg && torn_vbuf_put(b, "-", 1) < 0)
        return -1;
    if (d->exp >= 0 && d->exp <= 20)
        return torn_vbuf_put(b, d->digits, d->n) < 0 ? -1 : vb_zeros(b, d->exp);
    if (d->exp < 0 && p > -20) {
        if (p > 0)
            return torn_vbuf_put(b, d->digits, (size_t)p) < 0 || torn_vbuf_put(b, ".", 1) < 0
                       ? -1
                       : torn_vbuf_put(b, d->digits + p, d->n - (size_t)p);
        return torn_vbuf_put(b, "0.", 2) < 0 || vb_zeros(b, -p) < 0 ? -1 : torn_vbuf_put(b, d->digits, d->n);
    }
    snprintf(e, sizeof e, "e%+lld", p - 1);
    if (torn_vbuf_put(b, d->digits, 1) < 0 || (d->n > 1 && (torn_vbuf_put(b, ".", 1) < 0 ||
                                                      torn_vbuf_put(b, d->digits + 1, d->n - 1) < 0)))
        return -1;
    return vb_str(b, e);
}

/* Canonical text of text[0..len) appended to b: 0, -1 syntax, -2 ENOMEM. */
static int number_canon(const char *text, size_t len, struct torn_vbuf *b)
{
    struct dec d;
    int rc = dec_parse(text, len, &d);

    if (rc == 0 && dec_write(&d, b) < 0)
        rc = -2;
    free(d.digits);
    return rc;
}

/* Is the double of this token exact?  Plain integers of up to 15 digits. */
static int double_exact(const char *t, size_t len)
{
    size_t i = len && (t[0] == '-' || t[0] == '+'), digits = 0;

    for (; i < len; i++) {
        if (isdigit((unsigned char)t[i]))
            digits++;
        else if (!(i + 1 == len && t[i] == 'N'))
            return 0;
    }
    return digits > 0 && digits <= 15;
}

int torn_value_number_attach(cJSON *num, const char *text, size_t len)
{
    struct torn_vbuf b = {0};
    int rc;

    if (double_exact(text, len))
        return 0;
    if ((rc = number_canon(text, len, &b)) < 0) {
        free(b.s);
        return rc;
    }
    free(num->valuestring);
    num->valuestring = b.s;
    return 0;
}

cJSON *torn_value_number_new(const char *text, size_t len, int *nomem_out)
{
    char tmp[64], *copy = len < sizeof tmp ? tmp : malloc(len + 1);
    cJSON *num = NULL;
    int rc;

    *nomem_out = 0;
    if (!copy) {
        *nomem_out = 1;
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (len && (copy[len - 1] == 'N' || copy[len - 1] == 'M'))
        copy[len - 1] = '\0';
    num = cJSON_CreateNumber(strtod(copy, NULL));
    if (copy != tmp)
        free(copy);
    if (!num) {
        *nomem_out = 1;
        return NULL;
    }
    rc = torn_value_number_attach(num, text, len);
    if (rc < 0) {
        cJSON_Delete(num);
        *nomem_out = rc == -2;
        return NULL;
    }
    return num;
}

static int number_of(const cJSON *v, struct torn_vbuf *b)
{
    char buf[40];
    double d = v->valuedouble;

    if (v->valuestring)
        return vb_str(b, v->valuestring);
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(buf, sizeof buf, "%lld", (long long)d);
        return vb_str(b, buf);
    }
    if (!isfinite(d))
        return vb_str(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    snprintf(buf, sizeof buf, "%.17g", d);
    return number_canon(buf, strlen(buf), b) < 0 ? -1 : 0;
}

/* ---- strings and collections ---- */

static int string_of(const char *s, struct torn_vbuf *b)
{
    char esc[8];

    if (torn_vbuf_put(b, "\"", 1) < 0)
        return -1;
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c && c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (torn_vbuf_put(b, run, (size_t)(s - run)) < 0)
            return -1;
        if (!c)
            break;
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        if (vb_str(b, esc) < 0)
            return -1;
        run = s + 1;
    }
    return torn_vbuf_put(b, "\"", 1);
}

/* One member's text in a scratch buffer, for sorting. */
struct piece {
    size_t off, len;
};

static int cmp_piece(const void *a, const void *b, void *base)
{
    const struct piece *x = a, *y = b;
    const char *s = base;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(s + x->off, s + y->off, n);

    return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

/* An object's members ("key":value) or a set's elements, sorted by text. */
static int sorted_of(const cJSON *v, int object, struct torn_vbuf *b)
{
    struct torn_vbuf scratch = {0};
    struct piece *pc;
    size_t n = 0, k = 0;
    int rc = -1;

    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    if (!(pc = malloc((n + 1) * sizeof *pc)))
        return -1;
    for (const cJSON *c = v->child; c; c = c->next, k++) {
        pc[k].off = scratch.len;
        if (object && (string_of(c->string ? c->string : "", &scratch) < 0 ||
                       torn_vbuf_put(&scratch, ":", 1) < 0))
            goto out;
        if (torn_value_canon(c, &scratch) < 0)
            goto out;
        pc[k].len = scratch.len - pc[k].off;
    }
    qsort_r(pc, n, sizeof *pc, cmp_piece, scratch.s);
    if (vb_str(b, object ? "{" : "#{") < 0)
        goto out;
    for (k = 0; k < n; k++)
        if ((k && torn_vbuf_put(b, ",", 1) < 0) || torn_vbuf_put(b, scratch.s + pc[k].off, pc[k].len) < 0)
            goto out;
    rc = torn_vbuf_put(b, "}", 1);
out:
    free(pc);
    free(scratch.s);
    return rc;
}

int torn_value_canon(const cJSON *v, struct torn_vbuf *b)
{
    if (!v || cJSON_IsNull(v))
        return vb_str(b, "null");
    if (cJSON_IsBool(v))
        return vb_str(b, cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v))
        return number_of(v, b);
    if (cJSON_IsString(v) || cJSON_IsRaw(v))
        return string_of(v->valuestring ? v->valuestring : "", b);
    if (cJSON_IsObject(v) || (v->type & TORN_VALUE_SET))
        return sorted_of(v, cJSON_IsObject(v), b);
    if (torn_vbuf_put(b, "[", 1) < 0)
        return -1;
    for (const cJSON *c = v->child; c; c = c->next)
        if ((c != v->child && torn_vbuf_put(b, ",", 1) < 0) || torn_value_canon(c, b) < 0)
            return -1;
    return torn_vbuf_put(b, "]", 1);
}

char *torn_value_text(const cJSON *v)
{
    struct torn_vbuf b = {0};

    if (torn_value_canon(v, &b) < 0) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* The end of the element of a canonical text at s (before e): the ',' or
 * the closing bracket after it at depth 0, or e when unbalanced.  Strings
 * are JSON-quoted (string_of), so a '"' inside one follows a backslash. */
static const char *canon_element_end(const char *s, const char *e)
{
    int depth = 0;

    for (; s < e; s++) {
        if (*s == '"') {
            for (s++; s < e && *s != '"'; s++)
                if (*s == '\\')
                    s++;
        } else if (*s == '[' || *s == '{') {
            depth++;
        } else if (*s == ']' || *s == '}') {
            if (depth-- == 0)
                return s;
        } else if (*s == ',' && depth == 0) {
            return s;
        }
    }
    return e;
}

int torn_value_canon_items(const char *text, size_t len, struct torn_vspan *items, size_t max)
{
    const char *s = text + 1, *e = text + len;
    int n = 0;

    if (len < 2 || text[0] != '[' || e[-1] != ']')
        return -1;
    if (len == 2)
        return 0;
    for (;; n++) {
        const char *end = canon_element_end(s, e);
        if (end >= e || end == s)
            return -1;
        if ((size_t)n < max)
            items[n] = (struct torn_vspan){s, (size_t)(end - s)};
        if (*end != ',')
            return end + 1 == e ? n + 1 : -1;
        s = end + 1;
    }
}

int torn_value_equal(const cJSON *a, const cJSON *b)
{
    char *x = torn_value_text(a), *y = torn_value_text(b);
    int eq = x && y ? strcmp(x, y) == 0 : -1;

    free(x);
    free(y);
    return eq;
}

/* ---- duplicate member names ---- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name given twice among o's members, or NULL (also on ENOMEM for a big
 * object: then nothing is claimed). */
static const char *dup_in(const cJSON *o)
{
    const char *names[64], **all = names, *dup = NULL;
    size_t n = 0, i = 0;

    for (const cJSON *c = o->child; c; c = c->next)
        n++;
    if (n <= 8) {           /* an operation line: pairs are cheaper than a sort */
        for (const cJSON *c = o->child; c; c = c->next)
            for (const cJSON *d = c->next; d; d = d->next)
                if (c->string && d->string && !strcmp(c->string, d->string))
                    return d->string;
        return NULL;
    }
    if (n > 64 && !(all = malloc(n * sizeof *all)))
        return NULL;
    for (const cJSON *c = o->child; c; c = c->next)
        all[i++] = c->string ? c->string : "";
    qsort(all, n, sizeof *all, cmp_name);
    for (i = 1; i < n && !dup; i++)
        if (!strcmp(all[i - 1], all[i]))
            dup = all[i];
    if (all != names)
        free(all);
    return dup;
}

const char *torn_value_dup_key(const cJSON *v)
{
    const char *d;

    if (!v)
        return NULL;
    if (cJSON_IsObject(v) && (d = dup_in(v)))
        return d;
    for (const cJSON *c = v->child; c; c = c->next)
        if ((d = torn_value_dup_key(c)))
            return d;
    return NULL;
}

/* ---- integers ---- */

int torn_value_int64(const cJSON *v, long long *out)
{
    double d;

    if (!cJSON_IsNumber(v))
        return -1;
    if (v->valuestring) {
        char *end;
        errno = 0;
        long long x = strtoll(v->valuestring, &end, 10);
        if (errno || *end || end == v->valuestring)
            return -1;
        *out = x;
        return 0;
    }
    d = v->valuedouble;
    if (d != floor(d) || fabs(d) >= 9007199254740992.0)
        return -1;
    *out = (long long)d;
    return 0;
}

int torn_value_uint64(const cJSON *v, uint64_t *out)
{
    long long x;

    if (cJSON_IsNumber(v) && v->valuestring && v->valuestring[0] != '-') {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v->valuestring, &end, 10);
        if (errno || *end || end == v->valuestring)
            return -1;
        *out = u;
        return 0;
    }
    if (torn_value_int64(v, &x) < 0 || x < 0)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

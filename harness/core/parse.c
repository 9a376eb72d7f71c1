/* torn: strict parsing of numbers and JSON files (see parse.h). */
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the digits at s. */
static size_t digits(const char *s)
{
    size_t n = 0;

    while (is_digit(s[n]))
        n++;
    return n;
}

/* Length of the strict number at the start of s (0: none); real allows a
 * fraction and an exponent. */
static size_t scan_number(const char *s, int real)
{
    size_t n = (s[0] == '+' || s[0] == '-'), d = digits(s + n);

    if (!d)
        return 0;
    n += d;
    if (!real)
        return n;
    if (s[n] == '.') {
        if (!(d = digits(s + n + 1)))
            return 0;
        n += 1 + d;
    }
    if (s[n] == 'e' || s[n] == 'E') {
        size_t sign = (s[n + 1] == '+' || s[n + 1] == '-');
        if (!(d = digits(s + n + 1 + sign)))
            return 0;
        n += 1 + sign + d;
    }
    return n;
}

/* The user's text, shortened, control characters as '?', for a message. */
static void show(const char *s, char out[48])
{
    size_t i = 0;

    for (; s && s[i] && i < 40; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s && s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* A bound as people write it: 3600000, not 3.6e+06. */
static void bound(double v, char out[32])
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, 32, "%.0f", v);
    else
        snprintf(out, 32, "%g", v);
}

static int range_err(const char *what, const char *kind, double lo, double hi, const char *got,
                     struct torn_err *err)
{
    char a[32], b[32], g[48];

    bound(lo, a);
    bound(hi, b);
    show(got, g);
    return torn_err_set(err, TORN_E_CONFIG, "%s: expected %s from %s to %s, got '%s'", what, kind,
                        a, b, g);
}

int torn_parse_int(const char *what, const char *s, long long lo, long long hi,
                   long long *out, struct torn_err *err)
{
    size_t n = s ? scan_number(s, 0) : 0;
    long long v;
    char *end;

    if (!n || s[n])
        return range_err(what, "an integer", (double)lo, (double)hi, s, err);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || v < lo || v > hi)
        return range_err(what, "an integer", (double)lo, (double)hi, s, err);
    *out = v;
    return TORN_OK;
}

int torn_parse_u64(const char *what, const char *s, uint64_t *out, struct torn_err *err)
{
    size_t n = s && s[0] != '+' && s[0] != '-' ? scan_number(s, 0) : 0;
    unsigned long long v;
    char *end;
    char g[48];

    errno = 0;
    v = n && !s[n] ? strtoull(s, &end, 10) : 0;
    if (!n || s[n] || errno) {
        show(s, g);
        return torn_err_set(err, TORN_E_CONFIG,
                            "%s: expected an integer from 0 to 18446744073709551615, got '%s'",
                            what, g);
    }
    *out = v;
    return TORN_OK;
}

int torn_parse_number(const char *what, const char *s, int integer, double lo, double hi,
                      double *out, struct torn_err *err)
{
    long long i;
    int rc;

    if (!integer)
        return torn_parse_real(what, s, lo, hi, out, err);
    if ((rc = torn_parse_int(what, s, (long long)lo, (long long)hi, &i, err)) == 0)
        *out = (double)i;
    return rc;
}

/* The real number at s, exactly n characters long; 0 or -1. */
static int real_of(const char *s, size_t n, double *out)
{
    char buf[64], *end;

    if (n >= sizeof buf) { /* long digit strings: strtod still reads them whole */
        errno = 0;
        *out = strtod(s, &end);
        return (size_t)(end - s) == n && isfinite(*out) ? 0 : -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    /* ERANGE for underflow is fine (1e-400 is 0); overflow is inf. */
    return *end == '\0' && isfinite(*out) ? 0 : -1;
}

int torn_parse_real(const char *what, const char *s, double lo, double hi, double *out,
                    struct torn_err *err)
{
    static const struct torn_unit bare[] = {{"", 1}, {NULL, 0}};

    return torn_parse_real_unit(what, s, bare, lo, hi, out, err);
}

int torn_parse_real_unit(const char *what, const char *s, const struct torn_unit *units,
                         double lo, double hi, double *out, struct torn_err *err)
{
    size_t n = s ? scan_number(s, 1) : 0;
    double v;

    if (n && real_of(s, n, &v) == 0)
        for (const struct torn_unit *u = units; u->suffix; u++)
            if (strcmp(s + n, u->suffix) == 0) {
                v *= u->scale;
                if (!(v >= lo && v <= hi))
                    break;
                *out = v;
                return TORN_OK;
            }
    if (units[0].suffix && units[0].suffix[0]) {
        char kind[96];
        size_t used = (size_t)snprintf(kind, sizeof kind, "a number (unit");
        for (const struct torn_unit *u = units; u->suffix && used < sizeof kind; u++)
            used += (size_t)snprintf(kind + used, sizeof kind - used, "%s%s",
                                     u == units ? " " : "|", u->suffix[0] ? u->suffix : "none");
        if (used < sizeof kind)
            snprintf(kind + used, sizeof kind - used, ")");
        return range_err(what, kind, lo, hi, s, err);
    }
    return range_err(what, "a number", lo, hi, s, err);
}

int torn_parse_json_num(const char *what, const cJSON *v, int integer, double lo, double hi,
                        struct torn_err *err)
{
    char got[48];
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;

    if (cJSON_IsNumber(v) && isfinite(d) && (!integer || d == floor(d)) && d >= lo && d <= hi)
        return TORN_OK;
    if (cJSON_IsNumber(v))
        snprintf(got, sizeof got, "%.17g", d);
    else
        snprintf(got, sizeof got, "a non-number");
    return range_err(what, integer ? "an integer" : "a number", lo, hi, got, err);
}

size_t torn_parse_bom(const char *buf, size_t len)
{
    return len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first duplicate key among o's direct children, or NULL. */
static const char *dup_in_object(const cJSON *o)
{
    const char *small[64], **keys = small, *dup = NULL;
    size_t n = 0, cap = sizeof small / sizeof small[0];
    const cJSON *c;

    for (c = o->child; c; c = c->next)
        if (c->string && n++ == cap)
            break;
    if (n > cap) {
        for (n = 0, c = o->child; c; c = c->next)
            n++;
        keys = malloc(n * sizeof *keys);
        if (!keys)
            return NULL; /* out of memory: the caller's parse still fails later */
    }
    n = 0;
    for (c = o->child; c; c = c->next)
        if (c->string)
            keys[n++] = c->string;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            dup = keys[i];
    if (keys != small)
        free(keys);
    return dup;
}

const char *torn_json_dup_key(const cJSON *root)
{
    const char *dup = NULL;

    if (!root)
        return NULL;
    if (cJSON_IsObject(root))
        dup = dup_in_object(root);
    for (const cJSON *c = root->child; c && !dup; c = c->next)
        dup = torn_json_dup_key(c);
    return dup;
}

int torn_parse_json(const char *what, const char *buf, size_t len, cJSON **out,
                    struct torn_err *err)
{
    size_t skip = torn_parse_bom(buf, len), line = 1;
    const char *end = NULL, *dup;
    cJSON *j;

    *out = NULL;
    j = cJSON_ParseWithLengthOpts(buf + skip, len - skip, &end, 0);
    if (j && end)
        while (end < buf + len && *end && strchr(" \t\r\n", *end))
            end++;
    if (!j || !end || end < buf + len) {
        for (const char *p = buf; end && p < end && p < buf + len; p++)
            line += *p == '\n';
        cJSON_Delete(j);
        return torn_err_set(err, TORN_E_CONFIG, "%s:%zu: %s", what, line,
                            j ? "text after the JSON value" : "malformed JSON");
    }
    if ((dup = torn_json_dup_key(j)) != NULL) {
        char k[48];
        show(dup, k);
        torn_err_set(err, TORN_E_CONFIG, "%s: key \"%s\" appears twice in one object", what, k);
        cJSON_Delete(j);
        return TORN_E_CONFIG;
    }
    *out = j;
    return TORN_OK;
}

/* torn: the EDN reader (see edn.h). */
#include "edn.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "value.h"

void torn_edn_init(struct torn_edn *r, const char *s, size_t len)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->len = len;
    r->line = 1;
}

static cJSON *fail(struct torn_edn *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static cJSON *fail(struct torn_edn *r, const char *fmt, ...)
{
    va_list ap;

    if (r->msg[0])
        return NULL;          /* keep the first (innermost) error */
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->err_line = r->line;
    return NULL;
}

static cJSON *nomem(struct torn_edn *r)
{
    r->nomem = 1;
    return fail(r, "out of memory");
}

static cJSON *made(struct torn_edn *r, cJSON *v)
{
    return v ? v : nomem(r);
}

static int at(const struct torn_edn *r, size_t i)
{
    return r->pos + i < r->len ? (unsigned char)r->s[r->pos + i] : -1;
}

int torn_edn_peek(struct torn_edn *r)
{
    for (;;) {
        int c = at(r, 0);
        if (c == ';') {
            while (at(r, 0) >= 0 && at(r, 0) != '\n')
                r->pos++;
            continue;
        }
        if (c < 0 || !(isspace(c) || c == ','))
            return c;
        r->line += c == '\n';
        r->pos++;
    }
}

/* A byte that ends a token. */
static int delim(int c)
{
    return c <= 0 || isspace(c) || c == ',' || c == ';' || strchr("()[]{}\"", c);
}

/* ---- strings and characters ---- */

static int put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Four hex digits at s (n bytes available) or -1. */
static long hex4(const char *s, size_t n)
{
    long v = 0;

    if (n < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)s[i];
        if (!isxdigit(c))
            return -1;
        v = v * 16 + (isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
    }
    return v;
}

/* The escape after a backslash at pos; appends to out, advances pos. */
static int escape(struct torn_edn *r, char *out, size_t *n)
{
    static const char from[] = "trnbf\"\\", to[] = "\t\r\n\b\f\"\\";
    int c = at(r, 0);
    const char *p = c > 0 ? strchr(from, c) : NULL;
    long cp;

    if (p) {
        out[(*n)++] = to[p - from];
        r->pos++;
        return 0;
    }
    if (c == 'u' && (cp = hex4(r->s + r->pos + 1, r->len - r->pos - 1)) > 0) {
        *n += (size_t)put_utf8(out + *n, (unsigned)cp);
        r->pos += 5;
        return 0;
    }
    fail(r, "bad escape in string");
    return -1;
}

static cJSON *string(struct torn_edn *r)
{
    size_t start_line = r->line, n = 0, bound = 0;
    char *buf, *tmp;
    cJSON *v;

    /* The decoded text is never longer than the source up to the closing quote. */
    for (size_t i = r->pos + 1; i < r->len && r->s[i] != '"'; i++, bound++)
        if (r->s[i] == '\\' && i + 1 < r->len) {
            i++;
            bound++;
        }
    if (!(buf = malloc(bound + 1)))
        return nomem(r);
    for (r->pos++;;) {
        int c = at(r, 0);
        if (c < 0) {
            free(buf);
            r->line = start_line;
            return fail(r, "string not closed");
        }
        r->pos++;
        if (c == '"')
            break;
        if (c == '\\') {
            if (escape(r, buf, &n) < 0) {
                free(buf);
                return NULL;
            }
            continue;
        }
        if (c == '\0') {
            free(buf);
            return fail(r, "NUL byte in string");
        }
        r->line += c == '\n';
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    tmp = realloc(buf, n + 1);
    v = cJSON_CreateString(tmp ? tmp : buf);
    free(tmp ? tmp : buf);
    return v ? v : nomem(r);
}

/* \c, \newline, \space, \tab, \return, \uXXXX */
static cJSON *character(struct torn_edn *r)
{
    static const char *const names[] = {"newline", "\n", "space", " ", "tab", "\t",
                                        "return", "\r", "backspace", "\b", "formfeed", "\f"};
    size_t start = ++r->pos, len;
    char out[8] = {0};
    cJSON *v;

    if (at(r, 0) < 0)
        return fail(r, "character literal at end of input");
    r->pos++;                      /* the first byte, even a delimiter: \( */
    while (!delim(at(r, 0)))
        r->pos++;
    len = r->pos - start;
    if (len == 1) {
        out[0] = r->s[start];
    } else if (r->s[start] == 'u' && len == 5 && hex4(r->s + start + 1, 4) > 0) {
        put_utf8(out, (unsigned)hex4(r->s + start + 1, 4));
    } else {
        for (size_t i = 0; i < sizeof names / sizeof *names; i += 2)
            if (strlen(names[i]) == len && !memcmp(names[i], r->s + start, len))
                out[0] = names[i + 1][0];
        if (!out[0])
            return fail(r, "unknown character literal \\%.*s", (int)(len > 20 ? 20 : len),
                        r->s + start);
    }
    if (out[0] == '\0')
        return fail(r, "NUL character literal");
    v = cJSON_CreateString(out);
    return v ? v : nomem(r);
}

/* ---- atoms ---- */

static cJSON *atom(struct torn_edn *r)
{
    size_t start = r->pos, len;
    const char *t = r->s + start;
    char *name;
    cJSON *v;
    int oom;

    while (!delim(at(r, 0)))
        r->pos++;
    len = r->pos - start;
    if (len == 0)          /* a byte that starts nothing (NUL): never loop on it */
        return fail(r, "unexpected byte 0x%02x", (unsigned char)t[0]);
    if (len == 3 && !memcmp(t, "nil", 3))
        return made(r, cJSON_CreateNull());
    if (len == 4 && !memcmp(t, "true", 4))
        return made(r, cJSON_CreateTrue());
    if (len == 5 && !memcmp(t, "false", 5))
        return made(r, cJSON_CreateFalse());
    if (isdigit((unsigned char)t[0]) ||
        ((t[0] == '-' || t[0] == '+') && len > 1 && isdigit((unsigned char)t[1]))) {
        v = torn_value_number_new(t, len, &oom);
        return v ? v : oom ? nomem(r)
                           : fail(r, "bad number %.*s", (int)(len > 40 ? 40 : len), t);
    }
    if (t[0] == ':' && (len == 1 || t[1] == ':' || t[1] == '/'))
        return fail(r, "bad keyword %.*s", (int)(len > 40 ? 40 : len), t);
    if (memchr(t, '\0', len))
        return fail(r, "NUL byte in a symbol");
    if (!(name = malloc(len + 1)))
        return nomem(r);
    memcpy(name, t, len);
    name[len] = '\0';
    v = cJSON_CreateString(name + (t[0] == ':'));
    free(name);
    return v ? v : nomem(r);
}

/* ---- collections ---- */

static cJSON *form(struct torn_edn *r, int depth);

/* The member name of a map key (keyword/string: itself, else its canonical
 * text), malloc'd; NULL on ENOMEM. */
static char *key_name(const cJSON *k)
{
    return cJSON_IsString(k) ? strdup(k->valuestring) : torn_value_text(k);
}

static int add_member(struct torn_edn *r, cJSON *map, cJSON *k, cJSON *v)
{
    char *name = key_name(k);

    cJSON_Delete(k);
    if (!name) {
        cJSON_Delete(v);
        nomem(r);
        return -1;
    }
    if (cJSON_GetObjectItemCaseSensitive(map, name)) {
        fail(r, "key %.40s given twice in a map", name);
        free(name);
        cJSON_Delete(v);
        return -1;
    }
    cJSON_AddItemToObject(map, name, v);
    free(name);
    return 0;
}

/* A collection; pos at its opening byte ('[', '(', '{', or the '{' of #{). */
static cJSON *coll(struct torn_edn *r, int depth, int set)
{
    int open = at(r, 0), close = open == '[' ? ']' : open == '(' ? ')' : '}';
    int map = open == '{' && !set;
    size_t start_line = r->line;
    cJSON *c = map ? cJSON_CreateObject() : cJSON_CreateArray();

    if (!c)
        return nomem(r);
    if (set)
        c->type |= TORN_VALUE_SET;
    r->pos++;
    for (;;) {
        int nx = torn_edn_peek(r);
        cJSON *k = NULL, *v;
        if (nx == close)
            break;
        if (nx < 0) {
            cJSON_Delete(c);
            r->line = start_line;
            return fail(r, "'%c' not closed", open);
        }
        if (map && !(k = form(r, depth + 1)))
            goto bad;
        if (map && torn_edn_peek(r) == close) {
            cJSON_Delete(k);
            fail(r, "a map needs a value for every key");
            goto bad;
        }
        if (!(v = form(r, depth + 1))) {
            cJSON_Delete(k);
            goto bad;
        }
        if (map ? add_member(r, c, k, v) < 0 : !cJSON_AddItemToArray(c, v))
            goto bad;
    }
    r->pos++;
    return c;
bad:
    cJSON_Delete(c);
    return NULL;
}

/* After '#': a set, a discard, a symbolic value or a tagged literal. */
static cJSON *dispatch(struct torn_edn *r, int depth)
{
    int c = at(r, 1);

    if (c == '{') {
        r->pos++;
        return coll(r, depth, 1);
    }
    if (c == '#')
        return atom(r);               /* ##Inf ##-Inf ##NaN as symbols */
    if (c == '_') {                   /* #_ form: read and drop it, then the next */
        cJSON *skip;
        r->pos += 2;
        if (!(skip = form(r, depth + 1)))
            return r->msg[0] ? NULL : fail(r, "#_ at end of input");
        cJSON_Delete(skip);
        return form(r, depth);
    }
    if (c < 0 || delim(c) || isdigit(c))
        return fail(r, "bad # dispatch");
    while (!delim(at(r, 0)))          /* #tag (or #:ns before a map): dropped */
        r->pos++;
    if (torn_edn_peek(r) < 0)
        return fail(r, "tag without a value");
    return form(r, depth + 1);
}

static cJSON *form(struct torn_edn *r, int depth)
{
    int c;

    if (depth > TORN_EDN_MAX_DEPTH)
        return fail(r, "nested deeper than %d", TORN_EDN_MAX_DEPTH);
    c = torn_edn_peek(r);
    switch (c) {
    case -1:
        return fail(r, "unexpected end of input");
    case '"':
        return string(r);
    case '[':
    case '(':
    case '{':
        return coll(r, depth, 0);
    case '#':
        return dispatch(r, depth);
    case '\\':
        return character(r);
    case ')':
    case ']':
    case '}':
        return fail(r, "unexpected '%c'", c);
    default:
        return atom(r);
    }
}

cJSON *torn_edn_read(struct torn_edn *r, size_t *line_out)
{
    r->msg[0] = '\0';
    r->nomem = 0;
    if (torn_edn_peek(r) < 0)
        return NULL;
    if (line_out)
        *line_out = r->line;
    return form(r, 0);
}

cJSON *torn_edn_parse(const char *s, const char **end_out)
{
    struct torn_edn r;
    cJSON *v;

    torn_edn_init(&r, s, strlen(s));
    v = torn_edn_read(&r, NULL);
    if (v && end_out)
        *end_out = s + r.pos;
    return v;
}

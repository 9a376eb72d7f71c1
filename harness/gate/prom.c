/* torn: the Prometheus text format parser (see prom.h). */
#include "gate/prom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define LINE_MAX_LEN 4096

static int name_start(int c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int name_char(int c, int colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

static const char *blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A name at *p into out; NULL when there is none or it is too long. */
static const char *name(const char *p, int colon, char out[TORN_PROM_MAX_TEXT])
{
    size_t n = 0;

    if (!name_start(*p, colon))
        return NULL;
    while (name_char(p[n], colon))
        if (++n >= TORN_PROM_MAX_TEXT)
            return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n;
}

/* A quoted label value at *p (escapes \\ \" \n) into out. */
static const char *quoted(const char *p, char out[TORN_PROM_MAX_TEXT])
{
    size_t n = 0;

    if (*p++ != '"')
        return NULL;
    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            c = *++p == 'n' ? '\n' : *p;
            if (c != '\n' && c != '\\' && c != '"')
                return NULL;
        }
        if (n + 1 >= TORN_PROM_MAX_TEXT)
            return NULL;
        out[n++] = c;
    }
    out[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

/* '{' label, ... '}' into s (p at '{'). */
static const char *labels(const char *p, struct torn_prom_sample *s)
{
    p = blanks(p + 1);
    while (*p != '}') {
        if (s->n_labels == TORN_PROM_MAX_LABELS)
            return NULL;
        if (!(p = name(p, 0, s->lname[s->n_labels])))
            return NULL;
        p = blanks(p);
        if (*p++ != '=')
            return NULL;
        if (!(p = quoted(blanks(p), s->lvalue[s->n_labels++])))
            return NULL;
        p = blanks(p);
        if (*p == ',')
            p = blanks(p + 1);
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

/* name[{labels}] at p into s; the rest of the line. */
static const char *series(const char *p, struct torn_prom_sample *s)
{
    memset(s, 0, sizeof *s);
    if (!(p = name(blanks(p), 1, s->name)))
        return NULL;
    p = blanks(p);
    return *p == '{' ? labels(p, s) : p;
}

static int value(const char *p, double *out)
{
    char *end;

    p = blanks(p);
    if (strncmp(p, "+Inf", 4) == 0 || strncmp(p, "-Inf", 4) == 0 || strncmp(p, "NaN", 3) == 0) {
        *out = p[0] == 'N' ? NAN : p[0] == '-' ? -INFINITY : INFINITY;
        end = (char *)p + (p[0] == 'N' ? 3 : 4);
    } else {
        if (!*p || !(*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9')))
            return -1;
        *out = strtod(p, &end);
        if (end == p)
            return -1;
    }
    p = blanks(end);
    if (*p == '-')
        p++;
    while (*p >= '0' && *p <= '9') /* an optional timestamp */
        p++;
    return *blanks(p) ? -1 : 0;
}

int torn_prom_selector(const char *text, const char *what, struct torn_prom_sample *sel,
                       struct torn_err *err)
{
    const char *p = series(text, sel);

    if (!p || *blanks(p))
        return torn_err_set(err, TORN_E_CONFIG,
                            "%s: '%s': expected a series like name{label=\"value\"}", what, text);
    return 0;
}

static int matches(const struct torn_prom_sample *s, const struct torn_prom_sample *sel)
{
    if (strcmp(s->name, sel->name) != 0)
        return 0;
    for (size_t i = 0; i < sel->n_labels; i++) {
        size_t j;
        for (j = 0; j < s->n_labels; j++)
            if (!strcmp(s->lname[j], sel->lname[i]) && !strcmp(s->lvalue[j], sel->lvalue[i]))
                break;
        if (j == s->n_labels)
            return 0;
    }
    return 1;
}

int torn_prom_sum(const char *text, size_t len, const struct torn_prom_sample *sel,
                  const char *what, double *sum_out, size_t *n_out, struct torn_err *err)
{
    char line[LINE_MAX_LEN];
    struct torn_prom_sample *s = malloc(sizeof *s);
    size_t lineno = 0, off = 0;
    int rc = 0;

    *sum_out = 0;
    *n_out = 0;
    if (!s)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    while (off < len && !rc) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        const char *p;
        double v;
        lineno++;
        if (n >= sizeof line || memchr(text + off, '\0', n)) {
            rc = torn_err_set(err, TORN_E_CONFIG, "%s: line %zu: not the Prometheus text "
                              "format (a NUL byte or over %d bytes)", what, lineno, LINE_MAX_LEN);
            break;
        }
        memcpy(line, text + off, n);
        line[n] = '\0';
        off += n + 1;
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        p = blanks(line);
        if (!*p || *p == '#')
            continue;
        if (!(p = series(p, s)) || value(p, &v) != 0) {
            for (char *c = line; *c; c++) /* the page's text, neutralised */
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?';
            rc = torn_err_set(err, TORN_E_CONFIG, "%s: line %zu: not the Prometheus text "
                              "format: '%.60s'", what, lineno, line);
        } else if (matches(s, sel)) {
            *sum_out += v;
            (*n_out)++;
        }
    }
    free(s);
    return rc;
}

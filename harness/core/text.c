/* torn: neutralising text from targets before it is shown (see text.h).
 * Below err.c (which neutralises every error message), so it uses no torn
 * module and reports nothing: on ENOMEM it degrades, never fails. */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Length of the UTF-8 sequence at p (1..4) and its code point, or 0 when
 * p does not start a valid, shortest-form sequence. */
static int utf8_seq(const unsigned char *p, uint32_t *cp)
{
    int n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    uint32_t c = n == 4 ? p[0] & 7u : n == 3 ? p[0] & 15u : p[0] & 31u;

    if (p[0] >= 0xf8)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3fu);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (n == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    *cp = c;
    return n;
}

/* Code points that reorder or break lines on display: C1 controls (0x9b
 * is CSI to some terminals), line/paragraph separators, bidi overrides
 * ("Trojan Source"). */
static int cp_unsafe(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

void torn_fput_safe(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    uint32_t cp;
    int n;

    while (*p) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            fputc('\\', f);
            fputc(*p == '\n' ? 'n' : *p == '\r' ? 'r' : 't', f);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\x%02x", *p++);
        } else if (*p < 0x80) {
            fputc(*p++, f);
        } else if ((n = utf8_seq(p, &cp)) == 0) {
            fprintf(f, "\\x%02x", *p++);
        } else if (cp_unsafe(cp)) {
            fprintf(f, "\\u%04x", (unsigned)cp);
            p += n;
        } else {
            fwrite(p, 1, (size_t)n, f);
            p += n;
        }
    }
}

char *torn_text_safe(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = s ? open_memstream(&buf, &len) : NULL;

    if (!f)
        return NULL;
    torn_fput_safe(f, s);
    fclose(f);
    return buf;
}

void torn_text_safe_inplace(char *s, size_t size)
{
    char *t = torn_text_safe(s);

    if (t) {
        snprintf(s, size, "%s", t);
        free(t);
        return;
    }
    for (unsigned char *p = (unsigned char *)s; *p; p++) /* ENOMEM: blunt but safe */
        if (*p < 0x20 || *p >= 0x7f)
            *p = '?';
}

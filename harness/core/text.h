/* torn: text neutralising, the lowest module (err.c uses it for every
 * message; it uses nothing of torn's). */
#ifndef TORN_TEXT_H
#define TORN_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Text from a target (adapter error messages, HTTP bodies, record values)
 * is neutralised before it is printed anywhere: every control character is
 * written as a visible escape (\n, \r, \t, \x1b), and so are bytes that are
 * not UTF-8, C1 controls, line separators and bidi overrides (\u202e), so it
 * can never move the cursor, recolour or retitle a terminal, forge a new
 * line (a fake `::error::` workflow command), or reorder what is shown.
 * This is the one neutralising function; format escapers (XML/HTML,
 * Markdown, GitHub workflow commands) run on its output.
 * torn_fput_safe writes to f; torn_text_safe returns a malloc'd copy (NULL
 * for NULL or on ENOMEM); torn_text_safe_inplace rewrites the string in the buffer s
 * of size bytes (truncating). */
void torn_fput_safe(FILE *f, const char *s);
char *torn_text_safe(const char *s);
void torn_text_safe_inplace(char *s, size_t size);

#endif

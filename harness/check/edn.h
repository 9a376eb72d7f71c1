/* torn: a small EDN reader (https://github.com/edn-format/edn), enough for
 * every history Jepsen, Knossos and Elle write, producing cJSON trees:
 *
 *   nil true false      -> null, true, false
 *   42 -7N 1.5 1e3 2.0M -> numbers, exact (value.h: the text is kept when a
 *                          double is not exact; N and M suffixes accepted)
 *   "a\"b\n\u00e9"      -> strings (escapes \t \r \n \b \f \" \\ \uXXXX)
 *   :ok :jepsen/nemesis -> strings without the colon ("ok", "jepsen/nemesis")
 *   foo  ##Inf          -> symbols as strings ("foo", "##Inf")
 *   \a \newline \u00e9  -> characters as one-character strings
 *   [..] (..)           -> arrays
 *   #{..}               -> arrays flagged TORN_VALUE_SET (order does not count)
 *   {k v ..}            -> objects; a keyword or string key is the member
 *                          name, any other key its canonical text (value.h);
 *                          a key given twice is an error
 *   #tag value          -> value (the tag is dropped: #inst "..." is the string,
 *                          #jepsen.history.Op{..} the map); #_ form is skipped
 *   ; comment, commas   -> whitespace
 * Nesting is bounded (TORN_EDN_MAX_DEPTH).  Not thread-safe per reader.
 */
#ifndef TORN_CHECK_EDN_H
#define TORN_CHECK_EDN_H

#include <stddef.h>

struct cJSON;

#define TORN_EDN_MAX_DEPTH 64

/* A reader over s[0..len) (not necessarily NUL-terminated). */
struct torn_edn {
    const char *s;
    size_t len, pos;
    size_t line;          /* 1-based line of pos */
    int nomem;            /* set when an error is ENOMEM */
    char msg[160];        /* the error, "" if none */
    size_t err_line;      /* the line of the error */
};

/* Start reading s[0..len) at line 1. */
void torn_edn_init(struct torn_edn *r, const char *s, size_t len);

/* Skip whitespace, commas and comments; the next byte, or -1 at the end. */
int torn_edn_peek(struct torn_edn *r);

/* Read the next form.  Returns a new cJSON the caller deletes, or NULL: at
 * the end of input (msg empty) or on an error (msg and err_line set; nomem
 * when out of memory).  *line_out (if non-NULL) gets the form's first line. */
struct cJSON *torn_edn_read(struct torn_edn *r, size_t *line_out);

/* Parse one EDN value from the NUL-terminated s; *end_out (if non-NULL)
 * points after it.  NULL on a syntax error or ENOMEM. */
struct cJSON *torn_edn_parse(const char *s, const char **end_out);

#endif

/* torn: value equality, defined once for every checker.
 *
 * Two values read from a history are equal when their canonical texts are
 * equal.  The canonical text is JSON-like and unique per value:
 *   - numbers by their exact decimal value, never through a double:
 *     1234567890123456789 and 1234567890123456700 differ; 1, 1.0, 1e0 and
 *     10E-1 are the same number (as in JSON and Postgres jsonb numeric; Clojure
 *     would call 1 and 1.0 different, which no store torn tests reports
 *     apart); -0 is 0.  Integers print as digits, other numbers as a decimal
 *     (1.5, 0.001) or, far from 1, in scientific form (1.5e-40, 1e+25);
 *   - strings JSON-quoted ("a\"b"); EDN keywords are read as strings without
 *     the colon, so :ok equals "ok";
 *   - arrays in order ([1,2]; EDN vectors and lists alike);
 *   - objects as sets of members, whatever their order ({"a":1,"b":2} equals
 *     {"b":2,"a":1}: Postgres jsonb reorders keys);
 *   - EDN sets (#{...}) as sets: arrays flagged TORN_VALUE_SET, elements in
 *     canonical order, written #{...}.
 * A number node carries its exact text in valuestring when its double is
 * not exact (more than 15 digits, a fraction or an exponent); the readers
 * attach it with torn_value_number_*.  A node without it is exact as its
 * double.
 *
 * Not thread-safe only in the sense that a vbuf belongs to one caller; the
 * functions keep no state.
 */
#ifndef TORN_CHECK_VALUE_H
#define TORN_CHECK_VALUE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* cJSON type flag (above cJSON's own bits) on an array that is an EDN set. */
#define TORN_VALUE_SET (1 << 12)

/* A growable text buffer; zero-initialise, free s when done. */
struct torn_vbuf {
    char *s;          /* NUL-terminated while len > 0 */
    size_t len, cap;
};

/* Append s[0..n) to b (kept NUL-terminated).  0 or -1 ENOMEM. */
int torn_vbuf_put(struct torn_vbuf *b, const char *s, size_t n);

/* A new number node for the number text[0..len) (JSON or EDN syntax: sign,
 * digits, fraction, exponent, an EDN N or M suffix), with the exact text
 * attached when the double is not exact.  NULL when text is not a number or
 * its exponent is beyond +-999999999, or on ENOMEM (*nomem_out = 1). */
struct cJSON *torn_value_number_new(const char *text, size_t len, int *nomem_out);

/* Attach the exact text of num (a number node parsed by cJSON from
 * text[0..len)).  0, -1 not a number, -2 ENOMEM. */
int torn_value_number_attach(struct cJSON *num, const char *text, size_t len);

/* Append the canonical text of v to b (NULL appends "null").  0 or -1 ENOMEM. */
int torn_value_canon(const struct cJSON *v, struct torn_vbuf *b);

/* The canonical text of v, malloc'd; NULL on ENOMEM. */
char *torn_value_text(const struct cJSON *v);

/* A piece of a canonical text. */
struct torn_vspan {
    const char *s;
    size_t len;
};

/* The elements of an array's canonical text text[0..len), `[a,b,...]`
 * (each element is its own canonical text): their number, the first max of
 * them in items; -1 when text is not an array's (a set `#{...}` is not). */
int torn_value_canon_items(const char *text, size_t len, struct torn_vspan *items, size_t max);

/* 1 when a and b are equal values (NULL counts as null), 0 if not, -1 ENOMEM. */
int torn_value_equal(const struct cJSON *a, const struct cJSON *b);

/* The first member name given twice in one object anywhere inside v, or
 * NULL: such a value has no single meaning (which "a" of {"a":1,"a":2}?),
 * so readers refuse it.  Depth-first, any size. */
const char *torn_value_dup_key(const struct cJSON *v);

/* An integer number that fits: 0 and *out; -1 when v is not an integer
 * number in range (1.0 is the integer 1; 1.5 and 2^63 are not). */
int torn_value_int64(const struct cJSON *v, long long *out);
int torn_value_uint64(const struct cJSON *v, uint64_t *out);

#endif

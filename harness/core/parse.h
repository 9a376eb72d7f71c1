/* torn: strict parsing of what users type and write: numbers and JSON files.
 *
 * One parser for every number torn reads from a person (command lines,
 * --set, spec files, ?k=v of target URIs, `torn check` options, the proxy),
 * so the same text means the same thing everywhere and anything doubtful is
 * refused instead of guessed:
 *   integer  [+-]?[0-9]+                 no hex, octal, fraction, exponent
 *   real     [+-]?[0-9]+(.[0-9]+)?([eE][+-]?[0-9]+)?   finite: no inf/nan,
 *            no 1e400, no ".5", no "5."
 * No leading or trailing blanks, nothing after the number (the unit
 * variants accept only the listed suffixes).  strtod(3) and friends are
 * used only on text that already matched, so the locale and their lenient
 * prefixes ("0x", "  12abc") never decide.
 *
 * Every function returns 0 or TORN_E_CONFIG with one line in err:
 * "<what>: expected an integer from 1 to 100000, got '0x10'" (the value
 * shortened and its control characters shown as '?').  Thread-safe.
 */
#ifndef TORN_PARSE_H
#define TORN_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct torn_err;

/* s as an integer in [lo, hi]. */
int torn_parse_int(const char *what, const char *s, long long lo, long long hi,
                   long long *out, struct torn_err *err);
/* s as a decimal integer in [0, UINT64_MAX] (seeds). */
int torn_parse_u64(const char *what, const char *s, uint64_t *out, struct torn_err *err);
/* s as a finite real number in [lo, hi]. */
int torn_parse_real(const char *what, const char *s, double lo, double hi, double *out,
                    struct torn_err *err);

/* torn_parse_int (integer != 0, bounds cast to long long) or
 * torn_parse_real, the result as a double: for callers whose kind of number
 * is data (declared parameter ranges, option tables). */
int torn_parse_number(const char *what, const char *s, int integer, double lo, double hi,
                      double *out, struct torn_err *err);

/* A unit suffix and what one of it is worth ({"ms", 0.001}, {"s", 1}); a
 * table ends with {NULL, 0}.  "" is the bare number. */
struct torn_unit {
    const char *suffix;
    double scale;
};
/* s as a real number followed by one of units' suffixes, times its scale,
 * in [lo, hi] (after scaling). */
int torn_parse_real_unit(const char *what, const char *s, const struct torn_unit *units,
                         double lo, double hi, double *out, struct torn_err *err);

/* A JSON number value v (from a spec file) against the same rules: finite,
 * integral when integer, in [lo, hi]. */
int torn_parse_json_num(const char *what, const struct cJSON *v, int integer, double lo,
                        double hi, struct torn_err *err);

/* Length of a UTF-8 byte order mark at the start of buf (3 or 0): every
 * reader of user files skips it. */
size_t torn_parse_bom(const char *buf, size_t len);

/* Parse JSON text strictly: a BOM is skipped, nothing but blanks may follow
 * the value, and no object anywhere may have the same key twice (cJSON
 * would keep both and lookups would silently take the first).  what names
 * the source in messages ("scenario spec x.json").  *out is a new tree the
 * caller frees with cJSON_Delete. */
int torn_parse_json(const char *what, const char *buf, size_t len, struct cJSON **out,
                    struct torn_err *err);
/* The first key that appears twice in one object of the tree, or NULL. */
const char *torn_json_dup_key(const struct cJSON *root);

#endif

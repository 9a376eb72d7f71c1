/* torn: expectations on a JSON document, the vocabulary of the seeds'
 * exact details as data (an HTTP spec's response contracts and record
 * invariants, an exec adapter's invariants file): at a JSON pointer, a
 * value must be a literal (string, number, boolean, null: equal to it), or
 * satisfy an object of
 *   type      string integer number boolean object array null
 *   present   false: absent (true, the default: present)
 *   eq ne     equal / different (a value, "{id}" or "{version}")
 *   gt ge lt le  a number compared with a number or "{version}"
 *   same_as   equal to the value at another pointer of the same document
 *   format    "iso8601": YYYY-MM-DDTHH:MM:SS[.fff] then Z or +-HH:MM
 *   skew_ms   such a time no later than torn's clock plus that many ms
 * every key of which must hold.  Reference: docs/http-target.md. */
#ifndef TORN_EXPECT_H
#define TORN_EXPECT_H

#include <stddef.h>

struct cJSON;
struct torn_err;

/* What "{id}" and "{version}" stand for while judging. */
struct torn_expect_ctx {
    const char *id;                /* the record's id, or NULL */
    long long version;             /* the version the request expected, or -1 */
};

/* Parse expectation x found at field of file: 0, or TORN_E_CONFIG "target
 * spec FILE: field FIELD: why". */
int torn_expect_parse(const struct cJSON *x, const char *file, const char *field,
                      struct torn_err *err);
/* Judge the value at ptr in doc against x: why[0] == 0 when it holds, else
 * why not ("PTR: expected X, got Y"). */
void torn_expect_judge(const struct cJSON *doc, const char *ptr, const struct cJSON *x,
                       const struct torn_expect_ctx *a, char *why, size_t len);

#endif

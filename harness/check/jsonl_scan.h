/* torn: a one-pass scanner for the lines torn's history writer produces,
 * `{"type":"ok","process":3,"f":"cas","key":"k1","value":[1,2],"time":77}`.
 *
 * It is the history reader's fast path: no tree, no allocation, each byte
 * looked at once.  It accepts only what it can read without doubt -- one
 * flat object whose members are among type, process, f, key, value, time,
 * each at most once, strings without escapes or control bytes, integers of
 * at most 15 digits without a sign, fraction, exponent or leading zero,
 * blanks only space/tab/CR -- and says "not mine" (0) for anything else, so
 * the general reader (cJSON, history_read.c) keeps every other input and
 * every error message exactly as before.  The value itself may be any JSON:
 * the scanner only finds its extent (torn_jl_canon then says whether it is
 * simple enough to intern without a tree).
 *
 * Pure functions, no state, thread-safe.
 */
#ifndef TORN_CHECK_JSONL_SCAN_H
#define TORN_CHECK_JSONL_SCAN_H

#include <stddef.h>

struct torn_vbuf;

enum torn_jl_kind {
    TORN_JL_ABSENT,   /* member not in the line */
    TORN_JL_NULL,     /* null */
    TORN_JL_INT,      /* an integer as defined above: num */
    TORN_JL_STR,      /* a plain string: s[0..len) without the quotes */
    TORN_JL_OTHER     /* any other JSON value (value only): s[0..len) is its text */
};

struct torn_jl_field {
    enum torn_jl_kind kind;
    const char *s;    /* STR: the bytes inside the quotes; OTHER/INT/NULL: the token */
    size_t len;
    long long num;    /* INT */
};

struct torn_jl_line {
    struct torn_jl_field type, process, f, key, value, time;
};

/* Scan line[0..len) (no NUL inside).  1: *out filled; 0: not a line this
 * scanner reads (the caller uses the general reader); never an error. */
int torn_jl_scan(const char *line, size_t len, struct torn_jl_line *out);

/* A caller's set of values already read: 1 when s[0..len) are the exact
 * bytes of a value member this scanner read before (its extent) and the
 * caller accepted, 0 otherwise. */
typedef int (*torn_jl_known_fn)(void *ctx, const char *s, size_t len);

/* torn_jl_scan, where a line in the writers' order ending with the time
 * member offers its array or object value to known first, its extent read
 * from the line's end; a yes skips the scan of the value's bytes (the
 * same bytes end the same way).  The result is torn_jl_scan's. */
int torn_jl_scan_known(const char *line, size_t len, struct torn_jl_line *out,
                       torn_jl_known_fn known, void *ctx);

/* The canonical text (value.h) of a simple value -- null, an integer, a
 * plain string, an array of those, or a small object whose members are
 * those -- appended to b.  1 written, 0 not
 * simple (b unchanged), -1 ENOMEM. */
int torn_jl_canon(const struct torn_jl_field *v, struct torn_vbuf *b);

#endif

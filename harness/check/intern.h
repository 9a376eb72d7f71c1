/* torn: a string interning table (used by the history reader and the
 * checkers): each distinct byte string gets a small dense id, 0, 1, 2, ...,
 * so checkers compare and hash values as integers.
 *
 * Ownership: the table owns copies of every string; pointers returned by
 * torn_intern_str stay valid until torn_intern_free.  Not thread-safe.
 */
#ifndef TORN_CHECK_INTERN_H
#define TORN_CHECK_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct torn_intern;

/* New empty table; NULL on ENOMEM. */
struct torn_intern *torn_intern_new(void);
/* Free; NULL is a no-op. */
void torn_intern_free(struct torn_intern *t);
/* The id of s[0..len), adding it when new; -1 on ENOMEM. */
int64_t torn_intern_id(struct torn_intern *t, const char *s, size_t len);
/* torn_intern_id with the string's hash given: hash must be
 * torn_fnv1a(TORN_FNV_INIT, s, len).  FNV-1a runs over the bytes in order,
 * so the hash of a concatenation a + b is torn_fnv1a(torn_intern_hash(a),
 * b): a caller that appends to long strings hashes only the suffix. */
int64_t torn_intern_id_hashed(struct torn_intern *t, const char *s, size_t len, uint64_t hash);
/* The hash of an id's string (TORN_FNV_INIT, the empty string's, if out of range). */
uint64_t torn_intern_hash(const struct torn_intern *t, int64_t id);
/* The id of s[0..len) or -1 when absent (never adds). */
int64_t torn_intern_find(const struct torn_intern *t, const char *s, size_t len);
/* The NUL-terminated string of an id (NULL if out of range), and its length. */
const char *torn_intern_str(const struct torn_intern *t, int64_t id);
size_t torn_intern_len(const struct torn_intern *t, int64_t id);
/* Forget every string with id >= n (ids below stay valid): a checker
 * drops the states one search made before the next. */
void torn_intern_truncate(struct torn_intern *t, size_t n);
/* Number of strings, and bytes held (for memory bounds). */
size_t torn_intern_count(const struct torn_intern *t);
size_t torn_intern_bytes(const struct torn_intern *t);

#endif

/* torn: a history seen through version stamps, grouped by key: the common
 * input of the version-order, event-ordering and state-transition checkers.
 *
 * What is read from each operation (docs/history-format.md):
 *   version  the completion value's "version" (an integer >= 0): the version
 *            a write committed or a read returned.  A read that returned
 *            null or {"found":false} saw the key absent: version 0.  For a
 *            write that failed or whose outcome is unknown, the invoke
 *            value's "version" (the version it would create), if given.
 *   base     the version a write was based on: the invoke value's "base",
 *            "expected_version" or "expected" (a CAS precondition), else the
 *            completion value's "base".  -1 when not known.
 *   status   the completion (or, for notify, the event) value's status field
 *            (a string), or NULL.
 * Operations named "read" or "get" are reads; every other one is a write.
 */
#ifndef TORN_CHECK_KEYS_H
#define TORN_CHECK_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct torn_err;
struct torn_hist;

struct torn_vop {
    size_t idx;            /* into hist->ops */
    int is_write;
    long long version;     /* -1 unknown */
    long long base;        /* -1 unknown */
    const char *status;    /* points into the history's values, or NULL */
};

struct torn_vevent {
    size_t idx;            /* into hist->events (notify only) */
    long long version;     /* -1 unknown */
    const char *status;
};

struct torn_vkey {
    const char *key;       /* NULL for operations without a key */
    struct torn_vop *ops;  /* in invoke order */
    size_t n_ops;
    struct torn_vevent *events;  /* notify events of this key, in time order */
    size_t n_events;
};

struct torn_vkeys {
    struct torn_vkey *keys;
    size_t n_keys;
    size_t n_ops;          /* operations that took part */
};

/* Group h by key.  status_field NULL means "status".  0 or TORN_E_NOMEM /
 * TORN_E_CONFIG ("FILE:LINE: version must be a non-negative integer"). */
int torn_vkeys_build(const struct torn_hist *h, const char *status_field, struct torn_vkeys *out,
                     struct torn_err *err);
void torn_vkeys_free(struct torn_vkeys *k);

/* The same grouping one key at a time, for a checker that needs one key's
 * operations at once (version order): a 10M-operation history is not held
 * twice.  torn_vindex_build reads every operation and notify event in
 * history order, so it fails exactly where torn_vkeys_build would; after
 * it, 4 bytes an operation.  Slots are 0 (no key) and key id + 1, in the
 * order torn_vkeys_build lists its keys; n_keys counts the slots with
 * operations or notify events, as torn_vkeys_build's n_keys. */
struct torn_vinfo;
struct torn_vindex {
    const struct torn_hist *h;
    const char *sf;
    size_t n_slots;
    size_t n_keys;
    size_t versioned;      /* operations with a version (>= 0) */
    size_t *start;         /* by slot: its first position in order (n_slots + 1) */
    uint32_t *order;       /* operation indices, by slot, in invoke order within one */
    unsigned char *has_event;  /* by slot */
    struct torn_vinfo *memo;    /* by value id */
};
int torn_vindex_build(const struct torn_hist *h, const char *status_field, struct torn_vindex *out,
                      struct torn_err *err);
/* Slot's operations into k (k->ops malloc'd: the caller frees it; no
 * events).  0, TORN_E_NOMEM or TORN_E_CONFIG. */
int torn_vindex_key(struct torn_vindex *x, size_t slot, struct torn_vkey *k, struct torn_err *err);
void torn_vindex_free(struct torn_vindex *x);

/* 1 if f names a read ("read", "get"). */
int torn_check_is_read(const char *f);

/* A state-transition table (check_transitions.c): a JSON object mapping each
 * state to the array of states it may change to; a state with an empty
 * array is terminal.  NULL selects the built-in job table (created, pending,
 * queued -> running/processing/in_progress -> completed, done, succeeded,
 * failed, cancelled).  At most TORN_TTABLE_MAX states. */
#define TORN_TTABLE_MAX 128
struct cJSON;
struct torn_ttable;
int torn_ttable_new(const struct cJSON *table, struct torn_ttable **out, struct torn_err *err);
void torn_ttable_free(struct torn_ttable *t);
/* State number of s, or -1 when the table does not list it. */
int torn_ttable_state(const struct torn_ttable *t, const char *s);
size_t torn_ttable_count(const struct torn_ttable *t);
/* Name of state number a (owned by the table), or "?". */
const char *torn_ttable_name(const struct torn_ttable *t, int a);
/* For state numbers: a may become b in one change (or a == b); in any
 * number of changes; a has no way out. */
int torn_ttable_allows(const struct torn_ttable *t, int a, int b);
int torn_ttable_reaches(const struct torn_ttable *t, int a, int b);
int torn_ttable_terminal(const struct torn_ttable *t, int a);

#endif

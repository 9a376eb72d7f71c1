/* torn: reading a history back (the reader side of history.h).
 *
 * These input formats become the same in-memory history
 * (docs/history-format.md):
 *   - torn's JSON Lines, written by history.c or by a user's own tool;
 *   - EDN (edn.h): operation maps `{:process 0, :type :invoke, :f :get,
 *     :key "0", :value nil}` one after another over any lines (Jepsen's
 *     history.edn, with :index, :time, :error), or all inside one vector
 *     (Knossos's data/);
 *   - Jepsen's logs, both generations (`INFO jepsen.util - 3\t:invoke\t:cas
 *     \t[1 4]`, `INFO [date] jepsen worker 0 - jepsen.util 0\t:invoke...`) and
 *     history.txt (`3\t:invoke\t:cas\t[1 4]`); other log lines are skipped
 *     and counted (n_skipped).  Without :time the line number is the time.
 * Values are interned by value.h's equality: equal values share an id.
 * An operation whose :process is a name (Jepsen's :nemesis) is a fault event.
 * A jepsen.independent history (every value a pair [k v], reads invoked
 * with [k nil], no :key) is read as per-key operations (independent = 1).
 * Invocations are paired with their completion by process: an operation is
 * an invoke plus the next ok/fail/info line of the same process.  An invoke
 * with no completion (the run was killed) is an `info` operation: it may
 * have taken effect at any later time.  A second invoke of a process whose
 * previous operation is still open closes that one as `info` too (a worker
 * that was killed and restarted under the same number).  Fault and notify
 * lines are kept separately, on the same clock.
 *
 * Ownership: a struct torn_hist owns every string and cJSON value inside it;
 * torn_hist_free releases it all.  Not thread-safe; read-only after parse.
 *
 * Memory: equal values are stored once (interned: two operations that wrote
 * the same [1 4] point to the same read-only cJSON tree, and carry the same
 * value id), strings f and key likewise, and the file is read in chunks, not
 * mapped whole; an operation costs sizeof(struct torn_hop) plus its share of
 * the distinct values.  Checkers cache what they derive from a value by its
 * id (arrays of h->n_values) instead of walking the tree for every operation.
 */
#ifndef TORN_HISTORY_READ_H
#define TORN_HISTORY_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;
struct torn_err;

enum torn_hist_format {
    TORN_HIST_AUTO,      /* guess from the first non-blank line */
    TORN_HIST_TORN,      /* JSON Lines */
    TORN_HIST_JEPSEN,    /* Jepsen: EDN if it starts with a collection, else log lines */
    TORN_HIST_EDN        /* EDN forms */
};

#define TORN_HIST_NEVER UINT64_MAX   /* t_complete of an operation that never completed */
#define TORN_HIST_NONE UINT32_MAX    /* value id of an absent value, key id of no key */

/* One operation: an invoke and its completion.  48 bytes: a 10M-operation
 * history holds ten million of them, so its name is a small index
 * (torn_hist_f), its key an id (torn_hist_key) and its values ids
 * (torn_hist_tree, torn_hist_value_text). */
struct torn_hop {
    long long process;
    uint64_t t_invoke;          /* ns (or line number for clockless formats) */
    uint64_t t_complete;        /* TORN_HIST_NEVER if it never completed */
    uint32_t line_invoke;       /* 1-based line of the invoke */
    uint32_t line_complete;     /* 1-based line of the completion, 0 if none */
    uint32_t input_id;          /* the invoke's value (< h->n_values), TORN_HIST_NONE if none */
    uint32_t output_id;         /* the completion's value, TORN_HIST_NONE if none */
    uint32_t key_id;            /* id of key (< h->n_strs), TORN_HIST_NONE if none */
    uint16_t f_id;              /* its name: h->fs[f_id] */
    uint8_t outcome;            /* enum torn_outcome: OK, FAIL (did not happen), INFO (unknown) */
};

/* A fault (kill, power cut, proxy fault) or an observed notification. */
struct torn_hevent {
    int notify;                 /* 1 notify, 0 fault */
    long long process;
    const char *f;              /* what happened: "kill", "event", ...; may be NULL */
    const char *key;            /* or NULL */
    const struct cJSON *value;  /* or NULL; shared, read-only */
    uint64_t t;                 /* same clock as operations */
    size_t line;
    uint32_t key_id;            /* id of key (< h->n_strs), TORN_HIST_NONE if NULL */
};

struct torn_hist {
    char *name;                 /* the file name used in messages */
    struct torn_hop *ops;       /* in invoke order */
    size_t n_ops;
    struct torn_hevent *events; /* in time order */
    size_t n_events;
    int clockless;              /* 1: times are line numbers */
    struct torn_hist_strs *strs;/* interned f/key strings and values */
    size_t n_values;            /* distinct values: ids 0 .. n_values-1 */
    size_t n_strs;              /* distinct f/key strings: key ids 0 .. n_strs-1 */
    const char **fs;            /* distinct operation names ("read", "cas", ...), by f_id */
    size_t n_fs;                /* at most 65536 */
    size_t n_skipped;           /* log lines that are not operations (Jepsen logs only) */
    int independent;            /* 1: read as jepsen.independent [k v] pairs */
};

/* Read and parse a history file ("-": standard input).  fmt AUTO guesses.  On error returns
 * TORN_E_CONFIG (malformed: err->msg is "FILE:LINE: what"), TORN_E_NOTFOUND,
 * TORN_E_IO or TORN_E_NOMEM and sets *out = NULL.  Caller frees *out with
 * torn_hist_free. */
int torn_hist_read(const char *path, enum torn_hist_format fmt, struct torn_hist **out,
                   struct torn_err *err);
/* Same from a buffer of len bytes; name is used in messages. */
int torn_hist_parse(const char *buf, size_t len, const char *name, enum torn_hist_format fmt,
                    struct torn_hist **out, struct torn_err *err);
/* Free; NULL is a no-op. */
void torn_hist_free(struct torn_hist *h);
/* An operation's name: "read", "write", "cas", "update", ...; owned by h. */
static inline const char *torn_hist_f(const struct torn_hist *h, const struct torn_hop *op)
{
    return h->fs[op->f_id];
}
/* The string of a key id (an operation's key_id), NULL for TORN_HIST_NONE;
 * owned by h. */
const char *torn_hist_key(const struct torn_hist *h, uint32_t key_id);
/* The tree of a value id (< h->n_values): 0 and *out (NULL for
 * TORN_HIST_NONE), or TORN_E_NOMEM.  Shared and read-only; owned by h.  A
 * value the fast reader took from torn's own lines is kept as its text, and
 * its tree is built the first time it is asked for (so this writes inside h:
 * not thread-safe).  A checker that only compares values uses the text. */
int torn_hist_tree(const struct torn_hist *h, uint32_t id, const struct cJSON **out);
/* torn_hist_tree for messages: NULL for TORN_HIST_NONE and out of memory. */
const struct cJSON *torn_hist_value(const struct torn_hist *h, uint32_t id);
/* Its canonical text (value.h), "null" for TORN_HIST_NONE; owned by h; and
 * that text's length.  Equal values have equal texts. */
const char *torn_hist_value_text(const struct torn_hist *h, uint32_t id);
size_t torn_hist_value_len(const struct torn_hist *h, uint32_t id);

/* For tests and fuzzing: 0 reads every JSON line with the general reader
 * (cJSON), 1 (the default) lets the scanner (jsonl_scan.h) take torn's own
 * lines.  Both must give the same history.  Not thread-safe. */
void torn_hist_set_scanner(int on);

/* "invoke", "ok", "fail", "info" for an outcome as history words. */
const char *torn_hist_outcome_name(enum torn_outcome o);
#endif

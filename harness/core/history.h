/* torn: the run history's writer (struct torn_history_log: a run appends to
 * its log; the reader that checkers use is struct torn_hist,
 * check/history_read.h).  One JSON object per line (JSON Lines), Jepsen's
 * model.  Each operation is an "invoke" line followed by "ok" (happened),
 * "fail" (definitely did not happen) or "info" (unknown: timeout, crash);
 * faults ("fault") and observed notifications ("notify", e.g. a WebSocket
 * completion event) go on the same monotonic clock.  Format documented in
 * docs/history-format.md:
 *   {"type":"invoke","process":3,"f":"update","key":"job-1",
 *    "value":{...},"time":123456789}
 * Written streaming with one write(2) per line on an O_APPEND descriptor, so
 * forked workers can share it and a killed run still leaves whole lines.
 *
 * Bounded: a cap on the bytes written (default TORN_HISTORY_MAX_DEFAULT),
 * counted in shared memory by every forked writer.  The file keeps a prefix
 * of the run: once a line would cross the cap, it and every later line are
 * dropped and counted (a prefix is still a valid history: an operation whose
 * completion was dropped reads as indefinite).  The file is created with
 * outfile.h (exclusive temporary file renamed into place): a planted
 * symlink is replaced, never followed.
 */
#ifndef TORN_HISTORY_H
#define TORN_HISTORY_H

#include <stdint.h>

struct cJSON;
struct torn_err;
struct torn_history_log;

#define TORN_HISTORY_MAX_DEFAULT (256ull << 20)

/* Create (or replace) path, keeping at most max_bytes (0 = the default).
 * *out NULL on error. */
int torn_history_log_open(const char *path, uint64_t max_bytes, struct torn_history_log **out,
                          struct torn_err *err);
/* Close (the parent, once): when lines were dropped, a final "# torn: ..."
 * comment line (readers skip '#' lines) says how many.  NULL is a no-op. */
void torn_history_log_close(struct torn_history_log *h);
/* Lines dropped so far because of the cap (every writer's), and the cap. */
uint64_t torn_history_log_dropped(const struct torn_history_log *h);
uint64_t torn_history_log_cap(const struct torn_history_log *h);
/* Append one event.  type: invoke|ok|fail|info|fault|notify.  key and value
 * may be NULL; value is not consumed.  time_ns is torn_now_ns(), 0 = now.
 * h NULL is a no-op returning 0.  Safe after fork. */
int torn_history_log_add(struct torn_history_log *h, const char *type, int process, const char *f,
                         const char *key, const struct cJSON *value, uint64_t time_ns);
/* How many lines could not be written whole since open, by any process
 * sharing h (forked workers included: the count is in shared memory); the
 * errno of the last failure and the file's size at the first one go to
 * *errno_out and *size_out (either may be NULL).  h NULL: 0. */
long long torn_history_log_failures(const struct torn_history_log *h, int *errno_out,
                                    long long *size_out);
/* The history's length now (a mark), and dropping everything written after
 * a mark: torn run --until-fail keeps only the attempt that stays in the
 * report.  Call only while no other process writes to h.  h NULL: 0 / no-op. */
long long torn_history_log_mark(const struct torn_history_log *h);
void torn_history_log_rewind(struct torn_history_log *h, long long mark);
/* The path it writes to. */
const char *torn_history_log_path(const struct torn_history_log *h);

#endif

/* torn: writing a history in Jepsen's EDN (`torn check --export jepsen`),
 * for Jepsen, Knossos and Elle users to feed to their own tools.
 *
 * One map per line in time order, as Jepsen's history.edn:
 *   {:index 0, :time 81234567, :type :invoke, :process 3, :f :cas, :key "job-1", :value [1 2]}
 * :type and :f are keywords (an f that is not a plain name stays a
 * string), values keep their exact numbers (value.h), objects become maps
 * with string keys, EDN sets stay sets, and in `txn` operations each
 * micro-operation's function is a keyword ([:append 5 3], as Elle reads
 * it).  Faults become `{:type :info, :process :nemesis, ...}` lines;
 * notify lines have no Jepsen form and are left out (counted).  :time is
 * omitted for clockless histories.  An operation that never completed
 * has only its invoke line, as in Jepsen.
 */
#ifndef TORN_CHECK_EXPORT_H
#define TORN_CHECK_EXPORT_H

#include <stddef.h>
#include <stdio.h>

struct torn_hist;
struct torn_err;

/* Write h to f.  *n_skipped_out (may be NULL) gets the notify lines left
 * out.  0, or TORN_E_IO (write failed) / TORN_E_NOMEM with err set. */
int torn_hist_export_jepsen(FILE *f, const struct torn_hist *h, size_t *n_skipped_out,
                            struct torn_err *err);

#endif

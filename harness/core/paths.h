/* torn: two read paths agree.  Seed 003's migration reads a batch from
 * the old structure or the new one behind a flag, and both must agree at
 * every moment; a store with a status index, a list endpoint or a cache
 * beside its record has the same duty.  A target that can read a record
 * two ways (the HTTP spec's "read_also", an exec adapter's read_also op)
 * reads it through the second path just after or just before its normal
 * read, alternately, and judges the pair here.
 *
 * Method: both paths are views of one record, so a read that starts after
 * another one ended never sees an older "by" (the version): the path read
 * second must answer a "by" at least the first's, and the same "by" with
 * every agreed field equal.  Concurrent writes make the second one newer,
 * never older, so a correct store passes under any load; a path updated
 * late (or early) is caught in the window between its two writes.  The
 * main path's own non-answers (seed 001's "unknown" dict, a record without
 * "by") are not compared; the second path's "not found" just after the
 * main one found the record is a disagreement.  A broken agreement is a
 * finding "read-paths-agree" (finding.h); each compared pair adds 1 to the
 * scenario's metric read_paths_compared.
 */
#ifndef TORN_PATHS_H
#define TORN_PATHS_H

struct cJSON;

/* Judge rec (the record the normal read returned) against also (the
 * second path's record, NULL: not found), read just before rec when
 * also_first, else just after.  agree is an object {pointer into rec:
 * pointer into also}, by one of its keys (a number: the order).
 * also_what names the second read in the evidence ("GET URL").  Findings
 * and counts go under log_dir; each process posts at most 1000. */
void torn_paths_judge(const char *log_dir, const struct cJSON *agree, const char *by,
                      const char *id, const struct cJSON *rec, const struct cJSON *also,
                      int also_first, const char *also_what);

#endif

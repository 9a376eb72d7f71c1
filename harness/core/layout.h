/* torn: the store-layout invariant of a file-backed store.  Seed 001:
 * after a write only {id}.json and {id}.json.bak may remain, a .tmp only
 * while a write is under way.  Once a scenario is over (a target's
 * observe slot), every regular file under the store's directory must match
 * one of the declared globs (relative to the directory, fnmatch with
 * FNM_PATHNAME); a file that matches none and stays unchanged (same inode,
 * size and modification time) over settle_ms is a stray left behind,
 * posted once as a finding "store-layout" (finding.h) naming it.  A file
 * that changes or goes meanwhile belongs to a write still under way and is
 * not judged.
 */
#ifndef TORN_LAYOUT_H
#define TORN_LAYOUT_H

#include <stddef.h>

#define TORN_LAYOUT_SEEN 256

/* Strays already reported (a leftover counts against the scenario that
 * left it, not every later one).  Zero it before the first check. */
struct torn_layout_memo {
    struct {
        unsigned long long ino;
        long long mtime_ns;
    } seen[TORN_LAYOUT_SEEN];
    size_t n;
};

/* Check dir against globs[0..n_globs) as above, posting findings under
 * log_dir; the evidence names the directory as where ("the service's data
 * directory") and what declares the files as decl ("files.main, ...").  Sleeps settle_ms when there is a candidate.  Not
 * thread-safe (nftw has no user argument): the runner's one thread. */
void torn_layout_check(const char *log_dir, const char *dir, const char *const *globs,
                       size_t n_globs, int settle_ms, struct torn_layout_memo *memo,
                       const char *where, const char *decl);

#endif

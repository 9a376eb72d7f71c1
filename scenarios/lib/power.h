/* torn: the crash cycle shared by power-loss and io-errors (not a plug
 * point).  One cycle on a target whose data lives on torn-fs (ctx->fs):
 *
 *   reset the record, make it durable (`sync`), reset the operation counter,
 *   arm the fault rules and/or the freeze point, run a writer child that
 *   applies `updates` self-checking patches and acknowledges each through a
 *   pipe, wait until the file system froze at the cut point (or the writer
 *   finished), SIGKILL the writer, cut with the given crash-state spec, and
 *   check what crash-midwrite checks, with the same ledger of uncertain
 *   updates (struct torn_ledger): the record reads back complete, its version
 *   is at least the last acknowledged one, any version above it was written
 *   by an update whose outcome torn did not see (one per such update), and
 *   it is not the write of an update the store said definitely failed.
 */
#ifndef TORN_SCENARIOS_LIB_POWER_H
#define TORN_SCENARIOS_LIB_POWER_H

#include <stddef.h>
#include <stdint.h>

#include "steps.h"

struct torn_ctx;
struct torn_err;

struct torn_power_cycle {
    /* in */
    long long updates;          /* patches the writer applies */
    size_t payload_len;
    const char *model;          /* "process" | "power" | "fsync-fail" */
    uint64_t freeze_at;         /* cut after this persistence op; 0 = at the end */
    const char *rules[8];       /* fault rules ("fsync EIO path=*.tmp.* nth=2"), NULL-ended */
    const char *cut;            /* cut arguments ("" = the model's default) */
    int check_live;             /* also torn_power_check before the cut when the
                                   writer finished (io-errors) */
    int keep;                   /* cut with `keep` (torn-fs keeps the way back)
                                   when the writer reached the cut point, so
                                   torn_power_recut can follow */
    /* out */
    int frozen;                 /* the freeze point was reached */
    int kept;                   /* the last cut was kept: the next cycle may
                                   only come after a cut that is not */
    uint64_t ops;               /* persistence operations the writer did */
    uint64_t pending_meta, dirty_pages, lost_pages, faults;  /* at the cut */
    struct torn_ledger ledger;  /* this cycle's writes (steps.h): acknowledged,
                                   failed definitely, or of unknown outcome
                                   (an update cut by the kill, an indefinite
                                   failure) and so free to land at any later
                                   moment before the cut.  Fresh every cycle:
                                   the cut ends every writer, so nothing of an
                                   earlier cycle can land any more. */
    long long total_acks;       /* acknowledged writes over every cycle (work.h) */
    int live_bad;               /* the check_live read found a violation */
    char state[96];             /* crash-state id "op<N>/m<K>:d<spec>:<arg>" */
};

/* Run one cycle.  0 when it ran (violations are recorded in ctx->result by
 * torn_power_check, not here); a negative torn_code when it could not. */
int torn_power_run_cycle(struct torn_ctx *ctx, struct torn_power_cycle *c, struct torn_err *err);

/* After a cycle whose cut was kept (c->kept): put the disk back as it was
 * at the cut point (`uncut`: everything the check and the booted machine
 * changed is undone, then the cut) and cut again with c->cut, kept again if
 * c->keep; the machine boots again.  Another crash state of the same
 * writer at the same point, without running it again: the state is the one
 * a fresh cycle would make (the same id replays it), and the ledger is this
 * cycle's.  0, or a negative torn_code. */
int torn_power_recut(struct torn_ctx *ctx, struct torn_power_cycle *c, struct torn_err *err);

/* Read the record back and record violations (criterion prefix `what`, e.g.
 * "after power cut").  On the first few violations the surviving directory
 * is copied to <run_dir>/artifacts/<scenario>-<state>/.  Returns 1 if a
 * violation was recorded, 0 if the state is fine, negative on error. */
int torn_power_check(struct torn_ctx *ctx, const struct torn_power_cycle *c, const char *what,
                     struct torn_err *err);

/* TORN_E_CONFIG with a clear message unless ctx->fs is set. */
int torn_power_need_fs(const struct torn_ctx *ctx, const char *scenario, struct torn_err *err);

#endif

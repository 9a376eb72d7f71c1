/* torn: sharded runs (`torn run --shard I/N`).
 *
 * The rule, which every machine of a CI matrix applies alone, without
 * talking to the others: the entries of a run are the pairs (target,
 * scenario) the runner would try, numbered 0, 1, 2, ... in run order
 * (targets in the order given, within a target the scenarios in the order
 * planned), counting only pairs the target's driver can run at all (its
 * operations cover what the scenario needs: those are the same on every
 * machine).  Shard I of N (1 <= I <= N) runs the entries k with
 * k mod N == I - 1.  So shards 1..N of the same command line (same torn
 * version, targets, scenarios) partition the entries: each runs in exactly
 * one shard, and the slices differ in size by at most one.  Every shard
 * takes the seed the command line gives (--seed), so a merged report
 * (`torn merge`) has the verdicts the unsharded run has for that seed.
 */
#ifndef TORN_SHARD_H
#define TORN_SHARD_H

#include <stddef.h>

struct torn_err;

#define TORN_SHARD_MAX 100000

struct torn_shard {
    unsigned index;              /* I, from 1; 0 = not sharded */
    unsigned count;              /* N */
};

/* Parse "I/N" (two integers by the strict grammar, 1 <= I <= N <=
 * TORN_SHARD_MAX) into *out.  0, or TORN_E_USAGE with one line in err
 * naming the value. */
int torn_shard_parse(const char *s, struct torn_shard *out, struct torn_err *err);

/* Whether entry k (from 0) belongs to shard s; always 1 when not sharded. */
int torn_shard_owns(const struct torn_shard *s, size_t k);

/* How many of n_entries entries shard s owns. */
size_t torn_shard_size(const struct torn_shard *s, size_t n_entries);

#endif

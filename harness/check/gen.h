/* torn: generated histories with known answers, for checker tests and
 * benchmarks (`torn gen-history`).
 *
 * A simulated store applies each operation atomically at a random instant
 * between its invoke and completion times, so the history is linearizable
 * (and version-consistent) by construction; then one violation of a chosen
 * kind may be injected into an operation in the second half.  Same options
 * and seed, same bytes.
 */
#ifndef TORN_CHECK_GEN_H
#define TORN_CHECK_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct torn_err;

struct torn_gen_opts {
    uint64_t seed;
    size_t n_ops;          /* operations (each an invoke and a completion line) */
    int n_clients;         /* concurrent processes, >= 1 */
    int n_keys;            /* >= 1 */
    int values;            /* cas model: written values drawn from 0..values-1; 0 = unique */
    double info_rate;      /* fraction of writes that end `info` (taking effect or not) */
    const char *model;     /* "cas": read/write/cas on integers (--model cas-register);
                              "version": read/update with version stamps (--model version) */
    const char *violation; /* "none", "garbage" (read of a value never written), "stale"
                              (read of an overwritten value; cas model needs values 0), or
                              "lost-update" (version model: a stale update that won) */
};

/* Defaults: seed 1, 1000 ops, 8 clients, 1 key, unique values, no info,
 * "cas", "none". */
void torn_gen_defaults(struct torn_gen_opts *o);
/* Write the history as torn JSON lines to f.  0, TORN_E_CONFIG (bad
 * option, or no operation to inject the violation into), TORN_E_NOMEM or
 * TORN_E_IO. */
int torn_gen_history(FILE *f, const struct torn_gen_opts *o, struct torn_err *err);


#endif

/* torn: soak runs: the whole plan again and again for a wall-clock time.
 *
 * `torn run --soak 24h` (or limits.soak_s in a suite) runs every target x
 * scenario of the plan in rounds, back to back, until the time is up (a
 * round that has started finishes: the soak ends after the first round
 * that ends past it), or at the first FAIL with --stop-on-fail, or on
 * SIGINT/SIGTERM.  Memory and disk stay bounded:
 *   - after each round the PASS results of earlier rounds are dropped; every
 *     FAIL and ERROR is kept (each with its metric "soak_round") and the
 *     last round's results stay, so a 24 h report holds the counterexamples
 *     and the latest figures, not 24 h of results;
 *   - every result of the last round carries the cumulative figures of its
 *     target x scenario: soak_rounds, soak_pass, soak_fail, soak_error,
 *     soak_ops (metrics);
 *   - the history is bounded by --history-max as in every run (later events
 *     dropped and counted).
 * Reports are flushed after every scenario (as in every run) and a progress
 * line goes to stderr after every round: round, elapsed, this round's and
 * the cumulative verdicts, and the resident memory of torn (VmRSS), so a
 * soak shows whether memory stays flat.  Not thread-safe.
 */
#ifndef TORN_GATE_SOAK_H
#define TORN_GATE_SOAK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct torn_report;

struct torn_soak_pair {
    char *key;                          /* "scenario\ttarget" */
    long long rounds, pass, fail, error;
    double ops;
};

struct torn_soak {
    double duration_s;                  /* > 0: soak for this long */
    int stop_on_fail;
    uint64_t t0_ns;                     /* when the first round began (0: not yet) */
    long long round;
    size_t round_start;                 /* first result of the current round */
    long rss0_kib;
    struct torn_soak_pair *pairs;
    size_t n_pairs;
};

/* Resident memory of this process in KiB (VmRSS), or -1. */
long torn_soak_rss_kib(void);

/* Before the first round (t0, memory at start, printed on f). */
void torn_soak_begin(struct torn_soak *s, FILE *f);
/* After a round of rep's results: tag, tally, prune, print a progress line
 * on f.  Returns 1 when another round should run. */
int torn_soak_round(struct torn_soak *s, struct torn_report *rep, FILE *f);
void torn_soak_clear(struct torn_soak *s);

#endif

/* torn: fault plans of `torn fuzz --target URI --scenario NAME`.
 *
 * A plan is one `torn run` of the scenario against the target: its seed
 * (which pages a torn cut keeps, the moments kills hit) and the scenario's
 * fault parameters as "k=v" settings.  Two engines choose plans: torn's own
 * loop (cmd_fuzz_plan.c) and AFL++, whose input bytes this file decodes
 * (fuzz/plan.c, the harness afl-fuzz runs).  Both build the run's argv and
 * its replay command here, so a plan replays the same whichever found it.
 *
 * AFL++'s bytes (missing bytes read as 0, extra bytes ignored), the plan's
 * first (where mutations matter most), then 4 bytes of seed (little endian,
 * the run's seed is 1 + that):
 *   power-loss: one crash state of one run, `--set state=op<N>/<state>`:
 *   0     updates 1-8
 *   1     the cut point N, 1 + b mod (8 x updates) (the persistence
 *         operation after which the power goes)
 *   2     namespace operations kept: 0 (half the values), all, 1
 *   3-4   unsynced pages kept: none (half the values), all, rand:SEED,
 *         pfx:K (1-4), drop:K (0-3)
 *   5-8   the seed
 *   crash-midwrite: 0 kills 1-20, 1 max_delay_ms 1-80, 2-5 the seed
 *   any other scenario: 0-3 the seed.
 * A setting the user fixed with --set is not decoded (the user's wins). */
#ifndef TORN_CLI_FAULT_PLAN_H
#define TORN_CLI_FAULT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define TORN_PLAN_SETS 16     /* --set K=V the user fixes, at most */
#define TORN_PLAN_MAX_DIMS 4  /* settings a plan decides, at most */
#define TORN_PLAN_ARGV 64     /* argv slots torn_plan_argv needs */

/* What every plan of a campaign shares. */
struct torn_plan_base {
    const char *target, *scenario;
    const char *sets[TORN_PLAN_SETS];   /* the user's --set K=V, as given */
    int n_sets;
};

/* One plan: the seed and the settings it decides ("k=v"). */
struct torn_plan {
    uint64_t seed;
    char sets[TORN_PLAN_MAX_DIMS][64];
    int n_sets;
};

/* 1 when the user fixed setting name with --set. */
int torn_plan_fixed(const struct torn_plan_base *b, const char *name);

/* AFL++'s input bytes into a plan (the layout above). */
void torn_plan_decode(const struct torn_plan_base *b, const uint8_t *data, size_t len,
                      struct torn_plan *p);

/* The argv of p's run ("torn", "run", ...), ending with --quiet --repro-runs
 * 0 --run-dir work --json json (a run whose result the caller reads, whose
 * directory it removes with work); argv needs TORN_PLAN_ARGV slots, seedbuf
 * 24 bytes.  Returns argc. */
int torn_plan_argv(const struct torn_plan_base *b, const struct torn_plan *p, const char *work,
                   const char *json, char **argv, char *seedbuf);

/* The command that replays p, shell-quoted ("torn run --target ... --seed N
 * --set ..."), malloc'd; NULL when out of memory. */
char *torn_plan_replay(const struct torn_plan_base *b, const struct torn_plan *p);

/* The campaign's description for `torn fuzz --report` (a file in the AFL++
 * output directory: target, scenario and the user's sets as JSON), written
 * and read back.  0, or -1 (read: not a fault-plan campaign). */
int torn_plan_base_save(const struct torn_plan_base *b, const char *path);
int torn_plan_base_load(struct torn_plan_base *b, const char *path);
/* Frees what torn_plan_base_load allocated. */
void torn_plan_base_free(struct torn_plan_base *b);

#define TORN_PLAN_CONF "torn-plan.json"   /* its name in the output directory */

#endif

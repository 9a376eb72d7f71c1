/* Fuzz harness: schedule fuzzing (harness/sim/schedule.h).  The input is a
 * schedule; a violation of the file store's guarantees under it aborts, so
 * AFL++ keeps it as a "crash" that `torn replay --schedule FILE --strategy
 * S` explains.  The strategy comes from $TORN_SCHEDULE_STRATEGY (default
 * durable): the fuzzer hunts the weakness of one strategy per campaign. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "sim/schedule.h"

static enum torn_sched_strategy strategy = TORN_SCHED_DURABLE;

int fuzz_init(void)
{
    const char *s = getenv("TORN_SCHEDULE_STRATEGY");

    if (s && *s && torn_sched_strategy_parse(s, &strategy) != 0) {
        fprintf(stderr, "fuzz/schedule: unknown TORN_SCHEDULE_STRATEGY '%s' (naive, rename, "
                        "durable, nocheck)\n", s);
        return 1;
    }
    return 0;
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct torn_sched_result res;

    if (torn_sched_run(data, len, strategy, NULL, &res))
        fuzz_fail("strategy %s: %s: %s", torn_sched_strategy_name(strategy), res.criterion,
                  res.evidence);
    return 0;
}

/* torn: open-loop schedule. */
#include "pace.h"

#include <string.h>

#include "util.h"

#define PACE_POLL_NS 50000000ull /* re-check the stop flag this often */

void torn_pace_init(struct torn_pace *p, double rate, int n_workers, int index,
                    uint64_t deadline_ns)
{
    double period = rate > 0 ? 1e9 / rate : 0;

    memset(p, 0, sizeof *p);
    p->base_ns = torn_now_ns();
    if (rate <= 0)
        return;
    p->offset_ns = (uint64_t)(period * index);
    p->period_ns = (uint64_t)(period * n_workers);
    if (p->period_ns == 0)
        p->period_ns = 1;
    p->deadline_ns = deadline_ns;
}

int torn_pace_next(struct torn_pace *p, uint64_t *due_out)
{
    uint64_t due = p->base_ns + p->offset_ns + p->k * p->period_ns, now;

    if (!p->period_ns) {
        *due_out = 0;
        return !torn_stop_requested();
    }
    if (p->deadline_ns && due >= p->deadline_ns)
        return 0;
    while (!torn_stop_requested() && (now = torn_now_ns()) < due)
        torn_sleep_ns(due - now < PACE_POLL_NS ? due - now : PACE_POLL_NS);
    if (torn_stop_requested())
        return 0;
    p->k++;
    *due_out = due;
    return 1;
}

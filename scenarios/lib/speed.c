/* torn: update durations and kill delays scaled to them (speed.h). */
#include "speed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "core/util.h"

void torn_speed_start(struct torn_speed *s, int w, uint64_t t_ns)
{
    if (w >= 0 && w < TORN_SPEED_WORKERS)
        s->open_ns[w] = t_ns;
}

void torn_speed_answer(struct torn_speed *s, int w, uint64_t t_ns)
{
    if (w < 0 || w >= TORN_SPEED_WORKERS || !s->open_ns[w] || t_ns < s->open_ns[w])
        return;
    s->dur_ns[s->next] = t_ns - s->open_ns[w];
    s->next = (s->next + 1) % TORN_SPEED_RECENT;
    if (s->n_dur < TORN_SPEED_RECENT)
        s->n_dur++;
    s->n_updates++;
    s->open_ns[w] = 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

double torn_speed_median_ms(const struct torn_speed *s)
{
    uint64_t d[TORN_SPEED_RECENT];

    if (!s->n_dur)
        return 0;
    memcpy(d, s->dur_ns, (size_t)s->n_dur * sizeof d[0]);
    qsort(d, (size_t)s->n_dur, sizeof d[0], cmp_u64);
    return (double)d[s->n_dur / 2] / 1e6;
}

double torn_speed_delay_ms(struct torn_speed *s, struct torn_rng *rng, double min_ms,
                           double max_ms)
{
    double u = torn_rng_double(rng), hi = max_ms, wide = min_ms + 2 * torn_speed_median_ms(s);

    if (wide > hi) {
        hi = wide;
        s->n_widened++;
    }
    if (hi > s->widest_ms)
        s->widest_ms = hi;
    s->n_delays++;
    return min_ms + u * (hi - min_ms);
}

void torn_speed_report(const struct torn_speed *s, struct torn_result *r)
{
    torn_result_metric(r, "update_ms_median", torn_speed_median_ms(s));
    torn_result_metric(r, "updates_timed", (double)s->n_updates);
    torn_result_metric(r, "kill_delay_ms_max", s->widest_ms);
    torn_result_metric(r, "kill_delays_widened", (double)s->n_widened);
}

void torn_speed_describe(const struct torn_speed *s, double min_ms, char *buf, size_t len)
{
    if (!s->n_dur) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len,
             "updates took %.1f ms (median of the last %d), so the kills were drawn from "
             "%.0f..%.0f ms after the writers' first answer",
             torn_speed_median_ms(s), s->n_dur, min_ms, s->widest_ms);
}

/* torn: acknowledged writes per writer (see acks.h). */
#include "acks.h"

#include <stdlib.h>
#include <string.h>

void torn_acks_note(struct torn_acks *a, int w, long long seq, uint64_t t_ns)
{
    if (w < 0 || w >= TORN_ACKS_MAX || seq < 0)
        return;
    if (seq >= a->cap[w]) {
        long long cap = (seq + 1) * 2;
        uint64_t *p = realloc(a->t_ack[w], (size_t)cap * sizeof *p);
        if (!p)
            return;
        memset(p + a->cap[w], 0, (size_t)(cap - a->cap[w]) * sizeof *p);
        a->t_ack[w] = p;
        a->cap[w] = cap;
    }
    a->t_ack[w][seq] = t_ns;
    if (seq > a->acked[w])
        a->acked[w] = seq;
}

double torn_acks_window_ms(const struct torn_acks *a, int w, long long found, uint64_t t_crash)
{
    uint64_t t_ack = found + 1 < a->cap[w] ? a->t_ack[w][found + 1] : 0;
    double window = ((double)t_crash - (double)t_ack) / 1e6;

    return window < 0 ? 0 : window;
}

void torn_acks_free(struct torn_acks *a)
{
    for (int w = 0; w < TORN_ACKS_MAX; w++)
        free(a->t_ack[w]);
    memset(a, 0, sizeof *a);
}

/* torn: helpers shared by the built-in reporters. */
#include "common.h"

#include <stdio.h>

int torn_report_main_op(const struct torn_result *r)
{
    int best = -1;
    uint64_t most = 0;

    for (int i = 0; i < TORN_OP_COUNT; i++) {
        if (i == TORN_OP_RESET || i == TORN_OP_RECOVER)
            continue;
        if (r->ops[i].hdr.n > most) {
            most = r->ops[i].hdr.n;
            best = i;
        }
    }
    return best;
}

void torn_report_fmt_ns(uint64_t ns, char *buf, size_t len)
{
    if (ns < 1000)
        snprintf(buf, len, "%lluns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.2fms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.2fs", (double)ns / 1e9);
}

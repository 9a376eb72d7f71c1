/* torn: helpers shared by the built-in reporters. */
#include "report_util.h"

#include <stdio.h>

#include "core/report.h"

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

const char torn_report_closed_loop_note[] =
    "Latency is closed-loop unless marked open-loop: measured from each operation's actual "
    "start, so a stalled target that delays the next request hides the stall (coordinated "
    "omission; torn run --rate measures open-loop, corrected)";

/* "p50 1.20ms p99 3.40ms max 5.00ms" */
static void quantiles(FILE *f, const struct torn_hdr *h)
{
    char p50[24], p99[24], mx[24];

    torn_report_fmt_ns(torn_hdr_quantile(h, 0.5), p50, sizeof p50);
    torn_report_fmt_ns(torn_hdr_quantile(h, 0.99), p99, sizeof p99);
    torn_report_fmt_ns(h->max, mx, sizeof mx);
    fprintf(f, "p50 %s p99 %s max %s", p50, p99, mx);
}

void torn_report_openloop_line(FILE *f, const struct torn_result *r, enum torn_op op)
{
    const struct torn_openloop *ol = r->openloop;

    fprintf(f, "open-loop %s at %g ops/s: uncorrected ", torn_op_name(op), ol->rate);
    quantiles(f, &ol->uncorrected[op]);
    fputs(" | corrected (from due time) ", f);
    quantiles(f, &ol->corrected[op]);
    fprintf(f, " (%llu of %llu started over 1ms late)", (unsigned long long)ol->n_late[op],
            (unsigned long long)ol->corrected[op].n);
}

void torn_report_replay_label(FILE *f, const struct torn_result *r, const char *word)
{
    char note[160];

    torn_result_replay_note(r, note, sizeof note);
    fputs(word, f);
    if (note[0]) {
        fputs(" (", f);
        torn_xml_escape(f, note);
        fputc(')', f);
    }
}

void torn_report_replay_html(FILE *f, const struct torn_result *r)
{
    if (!r->replay)
        return;
    torn_report_replay_label(f, r, "Replay");
    fputs(": <code>", f);
    torn_xml_escape(f, r->replay);
    fputs("</code>", f);
}

/* torn: the CSV reporter (`--csv FILE`), for dashboards and spreadsheets
 * (as k6 and hyperfine export CSV): one row per scenario x target x
 * operation kind, with counts, throughput and latency percentiles in
 * milliseconds.  Open-loop runs (--rate) add a row per operation for the
 * corrected figures (loop "open-corrected"); the plain row is then
 * "open-uncorrected".  RFC 4180: CRLF line ends, a field with a comma, a
 * quote or a line break quoted, quotes doubled.  Text from targets is
 * neutralised first, and a text field that a spreadsheet would take as a
 * formula (starting with = + - @) gets a leading ' (OWASP's CSV injection
 * advice). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hdr.h"
#include "core/report.h"
#include "core/result.h"
#include "core/text.h"

static const char header[] =
    "started_at,seed,scenario,target,verdict,violations,operation,loop,ok,fail,info,"
    "ops_per_s,mean_ms,p50_ms,p90_ms,p99_ms,p99_9_ms,max_ms,duration_s\r\n";

/* One text field, neutralised, formula-guarded and quoted as needed. */
static void field(FILE *f, const char *s)
{
    char *safe = torn_text_safe(s ? s : "");
    const char *p = safe ? safe : "";
    int formula = strchr("=+-@", *p) && *p;

    if (!formula && !strpbrk(p, ",\"\r\n")) {
        fputs(p, f);
    } else {
        fputc('"', f);
        if (formula)
            fputc('\'', f);
        for (; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    }
    free(safe);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* The figures of h; "" for each when it holds no sample. */
static void latency(FILE *f, const struct torn_hdr *h)
{
    static const double qs[] = {0.5, 0.9, 0.99, 0.999, 1.0};

    if (!h->n) {
        fputs(",,,,,,", f);
        return;
    }
    fprintf(f, ",%.6f", torn_hdr_mean(h) / 1e6);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        fprintf(f, ",%.6f", ms(torn_hdr_quantile(h, qs[i])));
}

static void row(FILE *f, const struct torn_report *rep, const struct torn_result *r, int op,
                const char *loop, const struct torn_hdr *h)
{
    const struct torn_opstats *s = &r->ops[op];
    uint64_t n = s->n_ok + s->n_fail + s->n_info;

    field(f, rep->started_at);
    fprintf(f, ",%llu,", (unsigned long long)r->seed);
    field(f, r->scenario);
    fputc(',', f);
    field(f, r->target);
    fprintf(f, ",%s,%zu,%s,%s,%llu,%llu,%llu,%.3f", torn_verdict_name(r->verdict),
            r->n_violations_total, torn_op_name((enum torn_op)op), loop,
            (unsigned long long)s->n_ok, (unsigned long long)s->n_fail,
            (unsigned long long)s->n_info, r->duration_s > 0 ? (double)n / r->duration_s : 0);
    latency(f, h);
    fprintf(f, ",%.3f\r\n", r->duration_s);
}

static int csv_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    fputs(header, f);
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            const struct torn_opstats *s = &r->ops[op];
            int open = torn_result_openloop_has(r, (enum torn_op)op);
            if (!s->hdr.n && !s->n_fail && !s->n_info)
                continue;
            row(f, rep, r, op, open ? "open-uncorrected" : "closed", &s->hdr);
            if (open)
                row(f, rep, r, op, "open-corrected", &r->openloop->corrected[op]);
        }
    }
    if (ferror(f))
        return torn_err_set(err, TORN_E_IO, "csv report: write failed");
    return TORN_OK;
}

const struct torn_reporter_ops torn_reporter_csv = {
    TORN_REPORTER_OPS_V1, "csv", "--csv",
    "CSV: per scenario x target x operation counts, ops/s, latency percentiles (ms)", csv_write,
};

/* torn: the terminal reporter: a results table, then every failure with its
 * evidence and the command that replays it. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "report_util.h"
#include "core/report.h"
#include "core/result.h"
#include "core/text.h"
#include "core/util.h"

#define MAX_SHOWN 3 /* violations printed per criterion; the JSON report has more */

static const char *paint(const struct torn_report *rep, enum torn_verdict v)
{
    if (!rep->color)
        return "";
    switch (v) {
    case TORN_PASS: return "\033[32m";
    case TORN_FAIL: return "\033[1;31m";
    case TORN_ERROR: return "\033[33m";
    case TORN_SKIP: return "\033[2m";
    }
    return "";
}

static void row(FILE *f, const struct torn_report *rep, const struct torn_result *r)
{
    int op = torn_report_main_op(r);
    char p50[24] = "-", p99[24] = "-", mx[24] = "-";
    unsigned long long n = 0;

    if (op >= 0) {
        const struct torn_opstats *s = &r->ops[op];
        torn_report_fmt_ns(torn_hdr_quantile(&s->hdr, 0.5), p50, sizeof p50);
        torn_report_fmt_ns(torn_hdr_quantile(&s->hdr, 0.99), p99, sizeof p99);
        torn_report_fmt_ns(s->hdr.max, mx, sizeof mx);
    }
    for (int i = 0; i < TORN_OP_COUNT; i++)
        n += r->ops[i].n_ok + r->ops[i].n_fail + r->ops[i].n_info;
    fprintf(f, "%-22s %-26s %s%-5s%s %5zu %8llu %8.0f %-17s %8s %8s %8s %6.1fs\n", r->scenario,
            r->target, paint(rep, r->verdict), torn_verdict_name(r->verdict),
            rep->color ? "\033[0m" : "", r->n_violations_total, n, torn_result_ops_per_s(r),
            op >= 0 ? torn_op_name(op) : "-", p50, p99, mx, r->duration_s);
}

static void details(FILE *f, const struct torn_report *rep, const struct torn_result *r)
{
    const cJSON *by, *c;

    if (r->verdict == TORN_ERROR) {
        fprintf(f, "\n%sERROR%s %s x %s: %s\n", paint(rep, r->verdict),
                rep->color ? "\033[0m" : "", r->scenario, r->target,
                r->error ? r->error : "unknown error");
        return;
    }
    if (r->verdict != TORN_FAIL)
        return;
    fprintf(f, "\n%sFAIL%s %s x %s: %zu violation%s (seed %llu", paint(rep, r->verdict),
            rep->color ? "\033[0m" : "", r->scenario, r->target, r->n_violations_total,
            r->n_violations_total == 1 ? "" : "s", (unsigned long long)r->seed);
    if (r->attempts_max)
        fprintf(f, ", attempt %d of at most %d", r->attempt, r->attempts_max);
    fputs(")\n", f);
    /* Up to MAX_SHOWN per criterion, so one flood never hides another. */
    for (size_t i = 0; i < r->n_violations; i++) {
        const struct torn_violation *v = &r->violations[i];
        size_t same = 0;
        for (size_t j = 0; j < i; j++)
            same += strcmp(r->violations[j].criterion, v->criterion) == 0;
        if (same >= MAX_SHOWN)
            continue;
        fprintf(f, "  [%s]%s%s t=%.3fs: %s\n", v->criterion, v->key ? " " : "",
                v->key ? v->key : "", v->t_s, v->evidence ? v->evidence : "");
    }
    by = cJSON_GetObjectItemCaseSensitive(r->metrics, "violations_by_criterion");
    if (by && (r->n_violations_total > r->n_violations || cJSON_GetArraySize(by) > 1)) {
        fputs("  criteria broken:", f);
        cJSON_ArrayForEach(c, by)
        fprintf(f, " %s x%.0f", c->string, c->valuedouble);
        fputs(" (details in --json)\n", f);
    }
    if (r->work_note)
        fprintf(f, "  note: %s\n", r->work_note);
    if (r->replay) {
        char note[160];
        torn_result_replay_note(r, note, sizeof note);
        fprintf(f, "  replay%s%s%s: %s\n", note[0] ? " (" : "", note, note[0] ? ")" : "",
                r->replay);
    }
}

/* Under the table: how latency was measured, then each open-loop result's
 * uncorrected and corrected figures side by side. */
static void open_loop(FILE *f, const struct torn_report *rep)
{
    if (!rep->n_results)
        return;
    fprintf(f, "P50/P99/MAX: closed-loop latency of the main op (from actual start)%s\n",
            rep->quiet ? "" : "; --rate OPS for open-loop, corrected figures");
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            if (!torn_result_openloop_has(r, (enum torn_op)op))
                continue;
            fprintf(f, "  %s x %s: ", r->scenario, r->target);
            torn_report_openloop_line(f, r, (enum torn_op)op);
            fputc('\n', f);
        }
    }
}

/* Under the table: every release-gate check (budgets, baseline, counters)
 * of each result, held or not, with its margin (r->gate, gate.h). */
static void gate_checks(FILE *f, const struct torn_report *rep)
{
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        const cJSON *c, *checks = cJSON_GetObjectItemCaseSensitive(r->gate, "checks");

        cJSON_ArrayForEach(c, checks)
        {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");
            int held = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "held"));
            fprintf(f, "  %s %s x %s: ", held ? "held  " : "BROKEN", r->scenario, r->target);
            torn_fput_safe(f, cJSON_IsString(text) ? text->valuestring : "?");
            fputc('\n', f);
        }
    }
}

static int terminal_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    size_t pass, fail, error, skip;

    (void)err;
    fprintf(f, "\n%-22s %-26s %-5s %5s %8s %8s %-17s %8s %8s %8s %7s\n", "SCENARIO", "TARGET",
            "RESULT", "VIOL", "OPS", "OPS/S", "MAIN OP", "P50", "P99", "MAX", "TIME");
    for (size_t i = 0; i < rep->n_results; i++)
        row(f, rep, rep->results[i]);
    open_loop(f, rep);
    gate_checks(f, rep);
    for (size_t i = 0; i < rep->n_results; i++)
            details(f, rep, rep->results[i]);
    torn_report_counts(rep, &pass, &fail, &error, &skip);
    fprintf(f, "\ntorn: %zu PASS, %zu FAIL, %zu ERROR%s (seed %llu, %.1f s)%s\n", pass, fail,
            error, skip ? ", some skipped" : "", (unsigned long long)rep->seed, rep->duration_s,
            rep->interrupted ? " -- INTERRUPTED, results are partial" : "");
    if (rep->history_dropped)
        fprintf(f, "torn: the history reached its cap (%llu bytes, --history-max): %llu later "
                   "events were not recorded\n",
                (unsigned long long)rep->history_cap, (unsigned long long)rep->history_dropped);
    if (rep->report_error)
        fprintf(f, "torn: a report could not be written (exit 2): %s\n", rep->report_error);
    return 0;
}

const struct torn_reporter_ops torn_reporter_terminal = {
    TORN_REPORTER_OPS_V1, "terminal", NULL, "results table on stdout", terminal_write,
};

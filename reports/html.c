/* torn: the HTML reporter (`--html FILE`): one self-contained page, inline
 * CSS and SVG, no script and no network.
 *
 *   - the pass/fail matrix (scenario x target), each cell linking to its result;
 *   - the run timeline from the history: p50/p99 latency over time per
 *     operation, fault markers (kills, power cuts, proxy faults) and
 *     scenario starts on the same axis;
 *   - per result: the latency table and histogram (closed loop: measured
 *     from each operation's actual start), the violations with their
 *     evidence, and for evidence that names history lines ("(line N,M)", as
 *     checkers write it) the counterexample drawn as a timeline of the
 *     processes involved, like Jepsen's timeline.html.
 * The history is optional: without it (or when it is unreadable or larger
 * than HTML_HISTORY_MAX) the page says so and leaves those drawings out.
 *
 * torn_html_check (reports/html.h) writes the page of one `torn check`: the
 * verdict, each violation with its counterexample drawn the same way, and
 * the longest partial linearization of a failing linearizability key.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "check/checker.h"
#include "html.h"
#include "report_util.h"
#include "core/err.h"
#include "core/hdr.h"
#include "check/history_read.h"
#include "core/report.h"
#include "core/result.h"

#define HTML_HISTORY_MAX (512LL * 1024 * 1024)
#define SVG_W 900

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;"
    "color:#1d232b;background:#f6f7f9}"
    "header{background:#1d232b;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}"
    "header .meta{color:#b9c1cc;font-size:13px}main{padding:10px 28px 40px;max-width:1100px}"
    "h2{font-size:18px;margin:28px 0 10px}h3{font-size:15px;margin:18px 0 6px}"
    "section.result{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:6px 18px 14px;"
    "margin:16px 0}table{border-collapse:collapse;margin:6px 0}"
    "td,th{border:1px solid #dde1e6;padding:4px 10px;text-align:left;vertical-align:top}"
    "th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".PASS{background:#d9f2e0;color:#135c2b}.FAIL{background:#fbdada;color:#8a1111}"
    ".ERROR{background:#fde9c8;color:#7a4a00}.SKIP{background:#e8eaed;color:#555}"
    "table.matrix td{text-align:center;min-width:110px}table.matrix a{color:inherit;"
    "text-decoration:none;font-weight:600}.badge{display:inline-block;padding:1px 8px;"
    "border-radius:10px;font-weight:600;font-size:12px}"
    "pre{background:#f3f4f6;padding:8px 10px;border-radius:4px;white-space:pre-wrap;"
    "font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:4px 0 10px}"
    ".note{color:#5b6573;font-size:13px}svg{background:#fff;border:1px solid #e3e6ea;"
    "border-radius:4px;display:block;margin:6px 0 12px;max-width:100%;height:auto}"
    "svg text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#333}"
    "svg .ok{fill:#9fe0b2;stroke:#2e8b57}svg .fail{fill:#f4b6b6;stroke:#b22222}"
    "svg .info{fill:#ffe79a;stroke:#b8860b}svg .fault{stroke:#d0021b;stroke-dasharray:4 3}"
    "svg .start{stroke:#4a6fa5;stroke-dasharray:2 4}svg .axis{stroke:#98a1ad}"
    "svg .grid{stroke:#eceff2}svg rect.broke{stroke:#6a1b9a;stroke-width:3.5}"
    "svg rect.seen{stroke:#0b57d0;stroke-width:3;stroke-dasharray:6 3}"
    ".swatch.broke{border:3px solid #6a1b9a}.swatch.seen{border:3px dashed #0b57d0}"
    ".legend span{display:inline-block;margin-right:14px}"
    ".swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;"
    "vertical-align:-1px}";

/* Palette for per-operation series. */
static const char *const series_color[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                           "#ff7f0e", "#8c564b"};

/* ---- header and matrix ---- */

static void page_header(FILE *f, const struct torn_report *rep)
{
    size_t pass, fail, error, skip, n_run;
    char msgs[TORN_REPORT_RUN_ERRORS_MAX][320];

    torn_report_counts(rep, &pass, &fail, &error, &skip);
    fputs("<header><h1>torn report: ", f);
    fprintf(f, "%zu passed, %zu failed, %zu errors, %zu skipped%s</h1><div class=\"meta\">", pass,
            fail, error, skip, rep->interrupted ? " (interrupted)" : "");
    fputs("torn ", f);
    torn_xml_escape(f, rep->tool_version);
    fprintf(f, " &middot; started %s &middot; %.1f s &middot; seed %llu &middot; exit %d<br>",
            rep->started_at, rep->duration_s, (unsigned long long)rep->seed,
            torn_report_exit_code(rep));
    n_run = torn_report_run_errors(rep, msgs);
    for (size_t i = 0; i < n_run; i++) {
        fputs("<strong>", f);
        torn_xml_escape(f, msgs[i]);
        fputs("</strong><br>", f);
    }
    if (rep->history_dropped)
        fprintf(f, "history capped at %llu bytes: %llu later events dropped<br>",
                (unsigned long long)rep->history_cap, (unsigned long long)rep->history_dropped);
    fputs("<code>", f);
    torn_xml_escape(f, rep->command);
    fputs("</code>", f);
    if (rep->run_dir) {
        fputs("<br>run directory: <code>", f);
        torn_xml_escape(f, rep->run_dir);
        fputs("</code>", f);
    }
    fputs("</div></header><main>\n", f);
}

/* Index of s in names[0..n), adding it when new. */
static size_t name_index(const char **names, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], s ? s : ""))
            return i;
    names[*n] = s ? s : "";
    return (*n)++;
}

static void matrix(FILE *f, const struct torn_report *rep)
{
    size_t n = rep->n_results, n_s = 0, n_t = 0;
    const char **scen = calloc(n + 1, sizeof *scen), **targ = calloc(n + 1, sizeof *targ);

    if (!scen || !targ) {
        free(scen);
        free(targ);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        name_index(scen, &n_s, rep->results[i]->scenario);
        name_index(targ, &n_t, rep->results[i]->target);
    }
    fputs("<h2 id=\"matrix\">Pass/fail matrix</h2><table class=\"matrix\"><tr><th>scenario \\ "
          "target</th>",
          f);
    for (size_t t = 0; t < n_t; t++) {
        fputs("<th>", f);
        torn_xml_escape(f, targ[t]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (size_t s = 0; s < n_s; s++) {
        fputs("<tr><th>", f);
        torn_xml_escape(f, scen[s]);
        fputs("</th>", f);
        for (size_t t = 0; t < n_t; t++) {
            size_t found = n;
            for (size_t i = 0; i < n && found == n; i++)
                if (!strcmp(rep->results[i]->scenario ? rep->results[i]->scenario : "", scen[s]) &&
                    !strcmp(rep->results[i]->target ? rep->results[i]->target : "", targ[t]))
                    found = i;
            if (found == n) {
                fputs("<td>&mdash;</td>", f);
                continue;
            }
            const struct torn_result *r = rep->results[found];
            const char *v = torn_verdict_name(r->verdict);
            fprintf(f, "<td class=\"%s\"><a href=\"#r%zu\">%s", v, found, v);
            if (r->n_violations_total)
                fprintf(f, " &middot; %zu", r->n_violations_total);
            fputs("</a></td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    free(scen);
    free(targ);
}

/* ---- the history ---- */

struct hctx {
    struct torn_hist *h;        /* NULL: no drawings */
    char note[256];             /* why not */
    size_t *by_line;            /* op indices sorted by line_invoke */
    uint64_t t_min, t_max;      /* clock range */
};

static int cmp_line(const void *a, const void *b, void *hist)
{
    const struct torn_hist *h = hist;
    size_t x = h->ops[*(const size_t *)a].line_invoke;
    size_t y = h->ops[*(const size_t *)b].line_invoke;

    return x < y ? -1 : x > y;
}

static void load_history(const struct torn_report *rep, struct hctx *hc)
{
    struct stat st;
    struct torn_err err;

    memset(hc, 0, sizeof *hc);
    if (!rep->history_path) {
        snprintf(hc->note, sizeof hc->note, "no history was recorded");
        return;
    }
    if (stat(rep->history_path, &st) != 0 || st.st_size > HTML_HISTORY_MAX) {
        snprintf(hc->note, sizeof hc->note, "history %s %s", rep->history_path,
                 st.st_size > HTML_HISTORY_MAX ? "is too large to draw" : "is not readable");
        return;
    }
    if (torn_hist_read(rep->history_path, TORN_HIST_TORN, &hc->h, &err) != TORN_OK) {
        snprintf(hc->note, sizeof hc->note, "history not drawn: %.200s", err.msg);
        return;
    }
    hc->by_line = malloc((hc->h->n_ops + 1) * sizeof *hc->by_line);
    if (!hc->by_line) {
        torn_hist_free(hc->h);
        hc->h = NULL;
        snprintf(hc->note, sizeof hc->note, "history not drawn: out of memory");
        return;
    }
    for (size_t i = 0; i < hc->h->n_ops; i++)
        hc->by_line[i] = i;
    qsort_r(hc->by_line, hc->h->n_ops, sizeof *hc->by_line, cmp_line, hc->h);
    hc->t_min = UINT64_MAX;
    for (size_t i = 0; i < hc->h->n_ops; i++) {
        const struct torn_hop *op = &hc->h->ops[i];
        if (op->t_invoke < hc->t_min)
            hc->t_min = op->t_invoke;
        if (op->t_complete != TORN_HIST_NEVER && op->t_complete > hc->t_max)
            hc->t_max = op->t_complete;
        if (op->t_invoke > hc->t_max)
            hc->t_max = op->t_invoke;
    }
    for (size_t i = 0; i < hc->h->n_events; i++) {
        if (hc->h->events[i].t < hc->t_min)
            hc->t_min = hc->h->events[i].t;
        if (hc->h->events[i].t > hc->t_max)
            hc->t_max = hc->h->events[i].t;
    }
}

static void free_history(struct hctx *hc)
{
    torn_hist_free(hc->h);
    free(hc->by_line);
}

/* The op whose invoke is on line, or SIZE_MAX. */
static size_t op_at_line(const struct hctx *hc, size_t line)
{
    size_t lo = 0, hi = hc->h->n_ops;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t l = hc->h->ops[hc->by_line[mid]].line_invoke;
        if (l == line)
            return hc->by_line[mid];
        if (l < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* ---- drawing helpers ---- */

static void fmt_rel(uint64_t ns, char *buf, size_t len)
{
    torn_report_fmt_ns(ns, buf, len);
}

static double xscale(uint64_t t, uint64_t t0, uint64_t t1, double x0, double x1)
{
    if (t1 <= t0)
        return x0;
    return x0 + (x1 - x0) * (double)(t - t0) / (double)(t1 - t0);
}

/* A time axis from t0 to t1 at height y, gridlines up to top.  Ticks are
 * labelled with the time since base: "+1.50s" (run time, base = the run's
 * first event) or, with scenario_time, "t=0.167s" as violations are quoted
 * in the text (base = their scenario's start).  The end labels are
 * anchored inward so they are never cut at the drawing's edges. */
/* scenario_time: 0 times since base, 1 seconds since base ("t="), 2 the
 * times are history lines (a clockless history: "#line"). */
static void time_axis(FILE *f, uint64_t t0, uint64_t t1, double x0, double x1, double y,
                      double top, uint64_t base, int scenario_time)
{
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x0, y, x1,
            y);
    for (int k = 0; k <= 5; k++) {
        uint64_t t = t0 + (t1 - t0) / 5 * (uint64_t)k;
        double x = xscale(t, t0, t1, x0, x1);
        char lab[32];
        if (scenario_time == 2)
            snprintf(lab, sizeof lab, "#%llu", (unsigned long long)t);
        else if (scenario_time)
            snprintf(lab, sizeof lab, "t=%.3fs", t >= base ? (double)(t - base) / 1e9 : 0.0);
        else {
            lab[0] = '+';
            fmt_rel(t >= base ? t - base : 0, lab + 1, sizeof lab - 1);
        }
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>",
                x, top, x, y, x, y + 14, k == 0 ? "start" : k == 5 ? "end" : "middle", lab);
    }
}

/* The start of the scenario an operation at t belongs to: the last
 * scenario-start event at or before t (else t). */
static uint64_t scenario_start(const struct torn_hist *h, uint64_t t)
{
    uint64_t base = t;

    for (size_t e = 0; e < h->n_events && h->events[e].t <= t; e++)
        if (h->events[e].f && strcmp(h->events[e].f, "scenario-start") == 0)
            base = h->events[e].t;
    return base;
}

static void op_label(const struct torn_hist *h, size_t i, char *buf, size_t len)
{
    const struct torn_hop *op = &h->ops[i];
    const cJSON *vin = torn_hist_value(h, op->input_id), *vout = torn_hist_value(h, op->output_id);
    char *in = vin ? cJSON_PrintUnformatted(vin) : NULL;
    char *out = vout ? cJSON_PrintUnformatted(vout) : NULL;

    /* "f input -> output", with a cross for fail and ? for info; an
     * operation recorded without values says its outcome in words
     * ("cas -> ok", "cas x fail"), so the winners of a race read at once */
    snprintf(buf, len, "%s %.40s %s %.40s", torn_hist_f(h, op), in ? in : "",
             op->outcome == TORN_OUT_OK     ? "\xe2\x86\x92"
             : op->outcome == TORN_OUT_FAIL ? "\xe2\x9c\x97"
                                            : "?",
             out                            ? out
             : in                           ? ""
             : op->outcome == TORN_OUT_OK   ? "ok"
             : op->outcome == TORN_OUT_FAIL ? "fail"
                                            : "unknown");
    free(in);
    free(out);
}

/* ---- the counterexample timeline ---- */

/* Ops named by "(line N" in evidence, at most max. */
static size_t evidence_ops(const struct hctx *hc, const char *ev, size_t *ops, size_t max)
{
    size_t n = 0;

    for (const char *p = ev ? strstr(ev, "(line ") : NULL; p && n < max;
         p = strstr(p + 1, "(line ")) {
        size_t line = strtoul(p + 6, NULL, 10), i = op_at_line(hc, line);
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= ops[k] == i;
        if (i != SIZE_MAX && !dup)
            ops[n++] = i;
    }
    return n;
}

/* What a drawn operation did in the violation (mark_roles). */
enum { ROLE_NONE, ROLE_BROKE, ROLE_SEEN };

static void counterexample(FILE *f, const struct hctx *hc, const size_t *ops,
                           const unsigned char *role, size_t n)
{
    const struct torn_hist *h = hc->h;
    long long procs[32];
    size_t n_procs = 0;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    double x0 = 70, x1 = SVG_W - 20, lane_h = 30;

    for (size_t k = 0; k < n; k++) {
        const struct torn_hop *op = &h->ops[ops[k]];
        size_t p;
        for (p = 0; p < n_procs && procs[p] != op->process; p++)
            ;
        if (p == n_procs && n_procs < 32)
            procs[n_procs++] = op->process;
        if (op->t_invoke < t0)
            t0 = op->t_invoke;
        uint64_t end = op->t_complete == TORN_HIST_NEVER ? op->t_invoke : op->t_complete;
        if (end > t1)
            t1 = end;
    }
    uint64_t pad = (t1 - t0) / 10 + 1;
    t1 += pad;
    double height = 30 + lane_h * (double)n_procs + 26;
    fprintf(f, "<svg class=\"timeline\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
            "role=\"img\"><title>counterexample timeline</title>",
            SVG_W, height, SVG_W, height);
    for (size_t p = 0; p < n_procs; p++)
        fprintf(f, "<text x=\"8\" y=\"%.1f\">p%lld</text>", 30 + lane_h * (double)p + 17,
                procs[p]);
    for (size_t e = 0; e < h->n_events; e++) {
        const struct torn_hevent *ev = &h->events[e];
        if (ev->t < t0 || ev->t > t1)
            continue;
        double x = xscale(ev->t, t0, t1, x0, x1);
        fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"18\" x2=\"%.1f\" y2=\"%.1f\"><title>",
                ev->notify ? "start" : "fault", x, x, height - 26);
        torn_xml_escape(f, ev->notify ? "notify " : "fault ");
        torn_xml_escape(f, ev->f);
        fputs("</title></line>", f);
        fprintf(f, "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\">", x);
        torn_xml_escape(f, ev->f);
        fputs("</text>", f);
    }
    for (size_t k = 0; k < n; k++) {
        const struct torn_hop *op = &h->ops[ops[k]];
        size_t p;
        char lab[160], desc[512];
        for (p = 0; p < n_procs && procs[p] != op->process; p++)
            ;
        double xa = xscale(op->t_invoke, t0, t1, x0, x1);
        double xb = op->t_complete == TORN_HIST_NEVER ? x1 : xscale(op->t_complete, t0, t1, x0, x1);
        /* a marked outline must show; a label would hide a narrow one: after it */
        double w = xb - xa < (role[k] == ROLE_NONE ? 2 : 8) ? (role[k] == ROLE_NONE ? 2 : 8)
                                                            : xb - xa;
        double lx = role[k] != ROLE_NONE && w < 24 ? xa + w + 6 : xa + 3;
        double y = 30 + lane_h * (double)p + 3, room = SVG_W - 1 - lx; /* never past the edge */
        for (size_t j = 0; j < n; j++) {      /* the label stops at the lane's next op */
            double xj = xscale(h->ops[ops[j]].t_invoke, t0, t1, x0, x1);
            if (h->ops[ops[j]].process == op->process && xj > xa && xj - lx + 3 < room)
                room = xj - lx + 3;
        }
        op_label(h, ops[k], lab, sizeof lab);
        size_t fit = room > 10 ? (size_t)((room - 6) / 6.6) : 0;
        if (fit < strlen(lab))
            lab[fit] = '\0';   /* may cut a UTF-8 arrow: trim a partial sequence */
        for (size_t l = strlen(lab); l > 0 && ((unsigned char)lab[l - 1] & 0xC0) == 0x80; l--)
            lab[l - 1] = '\0';
        if (strlen(lab) && ((unsigned char)lab[strlen(lab) - 1] & 0xC0) == 0xC0)
            lab[strlen(lab) - 1] = '\0';
        torn_check_describe_op(h, ops[k], desc, sizeof desc);
        fprintf(f, "<g><title>%s", role[k] == ROLE_BROKE  ? "broke the rule: "
                                   : role[k] == ROLE_SEEN ? "observed it: "
                                                          : "");
        torn_xml_escape(f, desc);
        fprintf(f, "</title><rect class=\"%s%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\" rx=\"3\"/><text x=\"%.1f\" y=\"%.1f\">",
                torn_hist_outcome_name(op->outcome), role[k] == ROLE_BROKE  ? " broke"
                                                     : role[k] == ROLE_SEEN ? " seen"
                                                                            : "",
                xa, y, w, lane_h - 6, lx, y + 16);
        torn_xml_escape(f, lab);
        fputs("</text></g>", f);
    }
    time_axis(f, t0, t1, x0, x1, height - 22, 18, scenario_start(h, t0), h->clockless ? 2 : 1);
    fputs("</svg>\n", f);
}

/* ---- latency ---- */

/* Percentile cells of h: p50, p90, p99, (p99.9 when all), max. */
static void quantile_cells(FILE *f, const struct torn_hdr *h, int all)
{
    static const double qs[] = {0.5, 0.9, 0.99, 0.999, 1.0};

    for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
        if (!all && qs[q] == 0.999)
            continue;
        char b[32];
        torn_report_fmt_ns(torn_hdr_quantile(h, qs[q]), b, sizeof b);
        fprintf(f, "<td class=\"num\">%s</td>", h->n ? b : "-");
    }
}

/* Open loop (--rate): uncorrected and corrected percentiles side by side. */
static void open_loop_table(FILE *f, const struct torn_result *r)
{
    const struct torn_openloop *ol = r->openloop;

    if (!ol)
        return;
    fprintf(f, "<table class=\"openloop\"><caption>open loop at %g ops/s</caption><tr>"
            "<th rowspan=\"2\">operation</th><th rowspan=\"2\">n</th>"
            "<th rowspan=\"2\">late</th><th colspan=\"4\">uncorrected (from actual start)</th>"
            "<th colspan=\"4\">corrected (from due time)</th></tr><tr>",
            ol->rate);
    for (int k = 0; k < 2; k++)
        fputs("<th>p50</th><th>p90</th><th>p99</th><th>max</th>", f);
    fputs("</tr>\n", f);
    for (int op = 0; op < TORN_OP_COUNT; op++) {
        if (!torn_result_openloop_has(r, (enum torn_op)op))
            continue;
        fprintf(f, "<tr><td>%s</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>",
                torn_op_name((enum torn_op)op), (unsigned long long)ol->corrected[op].n,
                (unsigned long long)ol->n_late[op]);
        quantile_cells(f, &ol->uncorrected[op], 0);
        quantile_cells(f, &ol->corrected[op], 0);
        fputs("</tr>\n", f);
    }
    fputs("</table><p class=\"note\">Open loop: operations were due at fixed intervals; "
          "corrected latency counts from when each was due, so time spent waiting behind a "
          "stalled target counts (wrk2's method); late = started over 1 ms after it was "
          "due.</p>\n",
          f);
}

static void latency_table(FILE *f, const struct torn_result *r)
{
    int any = 0;

    for (int op = 0; op < TORN_OP_COUNT; op++)
        any |= r->ops[op].hdr.n || r->ops[op].n_fail || r->ops[op].n_info;
    if (!any)
        return;
    fputs("<table><tr><th>operation (closed-loop unless marked)</th><th>ok</th><th>fail</th><th>info</th>"
          "<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n",
          f);
    for (int op = 0; op < TORN_OP_COUNT; op++) {
        const struct torn_opstats *s = &r->ops[op];
        if (!s->hdr.n && !s->n_fail && !s->n_info)
            continue;
        fprintf(f, "<tr><td>%s%s</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>"
                "<td class=\"num\">%llu</td>",
                torn_op_name((enum torn_op)op),
                torn_result_openloop_has(r, (enum torn_op)op) ? " (open-loop, uncorrected)" : "",
                (unsigned long long)s->n_ok, (unsigned long long)s->n_fail,
                (unsigned long long)s->n_info);
        quantile_cells(f, &s->hdr, 1);
        fputs("</tr>\n", f);
    }
    fprintf(f, "</table><p class=\"note\">%s.</p>\n", torn_report_closed_loop_note);
    open_loop_table(f, r);
}

#define HBINS 48

/* Histogram of one op's latency: log-spaced bins between min and max. */
static void latency_histogram(FILE *f, const struct torn_hdr *h, const char *name, int color)
{
    double bins[HBINS] = {0}, top = 0;
    double lmin = log((double)(h->min ? h->min : 1)), lmax = log((double)(h->max + 1));
    double x0 = 70, x1 = SVG_W - 20, y0 = 20, y1 = 130;

    if (lmax <= lmin)
        lmax = lmin + 1;
    for (unsigned i = 0; i < TORN_HDR_BUCKETS; i++) {
        if (!h->counts[i])
            continue;
        double mid = ((double)torn_hdr_bucket_lo(i) + (double)torn_hdr_bucket_hi(i)) / 2;
        if (mid < (double)h->min)
            mid = (double)h->min;
        if (mid > (double)h->max)
            mid = (double)h->max;
        int b = (int)((log(mid > 1 ? mid : 1) - lmin) / (lmax - lmin) * HBINS);
        b = b < 0 ? 0 : b >= HBINS ? HBINS - 1 : b;
        bins[b] += (double)h->counts[i];
    }
    for (int b = 0; b < HBINS; b++)
        if (bins[b] > top)
            top = bins[b];
    fprintf(f, "<svg width=\"%d\" height=\"160\" viewBox=\"0 0 %d 160\" role=\"img\"><title>%s "
            "latency histogram</title><text x=\"8\" y=\"14\">%s latency (log scale, %llu "
            "samples)</text>",
            SVG_W, SVG_W, name, name, (unsigned long long)h->n);
    for (int b = 0; b < HBINS; b++) {
        double w = (x1 - x0) / HBINS, hh = top > 0 ? (y1 - y0) * bins[b] / top : 0;
        if (bins[b] > 0 && hh < 1)
            hh = 1;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                "<title>%.0f</title></rect>",
                x0 + w * b, y1 - hh, w - 1, hh, series_color[color % 6], bins[b]);
    }
    static const double qs[] = {0.5, 0.99};
    for (size_t q = 0; q < 2; q++) {
        uint64_t v = torn_hdr_quantile(h, qs[q]);
        double x = x0 + (x1 - x0) * (log((double)(v ? v : 1)) - lmin) / (lmax - lmin);
        char b[32];
        torn_report_fmt_ns(v, b, sizeof b);
        /* the label goes left of its line when it would pass the right edge */
        int left = x + 3 + 6.6 * (double)(strlen(b) + 4) > x1;
        fprintf(f, "<line class=\"fault\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">p%s %s</text>",
                x, y0, x, y1, left ? x - 3 : x + 3, y0 + 10 + 12 * (double)q,
                left ? "end" : "start", q ? "99" : "50", b);
    }
    /* the count axis: 0 and the tallest bin, with a title */
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>"
               "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" "
               "text-anchor=\"middle\">count</text>",
            x0 - 2, y0, x0 - 2, y1, x0 - 5, y0 + 8, top, x0 - 5, y1, (y0 + y1) / 2,
            (y0 + y1) / 2);
    char lo[32], hi[32];
    torn_report_fmt_ns(h->min, lo, sizeof lo);
    torn_report_fmt_ns(h->max, hi, sizeof hi);
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">%s</text><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"end\">%s</text></svg>\n",
            x0, y1, x1, y1, x0, y1 + 16, lo, x1, y1 + 16, hi);
}

/* ---- the run timeline: latency percentiles over time, faults ---- */

#define WINDOWS 60
#define SERIES 4

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The SERIES most frequent operation names. */
static size_t top_fs(const struct torn_hist *h, const char **fs)
{
    const char *names[64];
    size_t counts[64] = {0}, n = 0, k = 0;

    for (size_t i = 0; i < h->n_ops; i++) {
        size_t j;
        for (j = 0; j < n && names[j] != torn_hist_f(h, &h->ops[i]); j++)
            ;
        if (j == n && n < 64)
            names[n++] = torn_hist_f(h, &h->ops[i]);
        if (j < 64)
            counts[j]++;
    }
    for (; k < SERIES && k < n; k++) {
        size_t best = k;
        for (size_t j = k + 1; j < n; j++)
            if (counts[j] > counts[best])
                best = j;
        const char *tn = names[k];
        size_t tc = counts[k];
        names[k] = names[best];
        counts[k] = counts[best];
        names[best] = tn;
        counts[best] = tc;
        fs[k] = names[k];
    }
    return k;
}

/* p50 (q=0) and p99 (q=1) per window for op name fname; 0 = no data. */
static void window_quantiles(const struct hctx *hc, const char *fname,
                             uint64_t out[2][WINDOWS])
{
    const struct torn_hist *h = hc->h;
    uint64_t span = hc->t_max - hc->t_min + 1;
    size_t *count = calloc(WINDOWS, sizeof *count), *fill = calloc(WINDOWS, sizeof *fill);
    uint64_t **lat = calloc(WINDOWS, sizeof *lat);

    memset(out, 0, 2 * WINDOWS * sizeof out[0][0]);
    if (!count || !fill || !lat)
        goto out;
    for (size_t i = 0; i < h->n_ops; i++)
        if (torn_hist_f(h, &h->ops[i]) == fname && h->ops[i].t_complete != TORN_HIST_NEVER)
            count[(h->ops[i].t_invoke - hc->t_min) * WINDOWS / span]++;
    for (int w = 0; w < WINDOWS; w++)
        if (count[w] && !(lat[w] = malloc(count[w] * sizeof **lat)))
            goto out;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *op = &h->ops[i];
        if (torn_hist_f(h, op) != fname || op->t_complete == TORN_HIST_NEVER)
            continue;
        size_t w = (op->t_invoke - hc->t_min) * WINDOWS / span;
        lat[w][fill[w]++] = op->t_complete - op->t_invoke;
    }
    for (int w = 0; w < WINDOWS; w++) {
        if (!count[w])
            continue;
        qsort(lat[w], count[w], sizeof **lat, cmp_u64);
        out[0][w] = lat[w][(count[w] - 1) / 2] + 1;
        out[1][w] = lat[w][(size_t)((double)(count[w] - 1) * 0.99)] + 1;
    }
out:
    for (int w = 0; lat && w < WINDOWS; w++)
        free(lat[w]);
    free(lat);
    free(count);
    free(fill);
}

/* The run timeline's log latency axis: the ends and every power of ten
 * between them labelled (those too close to an end left out), gridlines,
 * and the axis title. */
static void log_axis(FILE *f, uint64_t lo, uint64_t hi, double llo, double lhi, double x0,
                     double x1, double y0, double y1)
{
    char lab[32];

    fprintf(f, "<text x=\"12\" y=\"%.1f\" transform=\"rotate(-90 12 %.1f)\" "
               "text-anchor=\"middle\">latency (log scale)</text>",
            (y0 + y1) / 2, (y0 + y1) / 2);
    for (double d = 1; d <= (double)hi * 10; d *= 10) {
        double y = y1 - (y1 - y0) * (log(d) - llo) / (lhi - llo);
        if (d < (double)lo || d > (double)hi || y > y1 - 16 || y < y0 + 16)
            continue;
        torn_report_fmt_ns((uint64_t)d, lab, sizeof lab);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                x0, y, x1, y, x0 - 3, y + 4, lab);
    }
    torn_report_fmt_ns(lo, lab, sizeof lab);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", x0 - 3, y1, lab);
    torn_report_fmt_ns(hi, lab, sizeof lab);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", x0 - 3, y0 + 4, lab);
}

/* Faults and scenario starts on the run timeline, each with a tooltip;
 * a scenario start also named above the plot when there is room (60 px to
 * the next start). */
static void timeline_events(FILE *f, const struct hctx *hc, double x0, double x1, double y0,
                            double y1)
{
    const struct torn_hist *h = hc->h;
    double next_x = SVG_W - 2;   /* the last name stops at the drawing's edge */

    for (size_t e = h->n_events; e-- > 0;) {   /* backwards: the room to the next start */
        const struct torn_hevent *ev = &h->events[e];
        double x = xscale(ev->t, hc->t_min, hc->t_max, x0, x1);
        int scen = ev->f && !strcmp(ev->f, "scenario-start");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev->value, "scenario"));
        const char *tgt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev->value, "target"));
        fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"><title>",
                ev->notify || scen ? "start" : "fault", x, y0, x, y1);
        torn_xml_escape(f, ev->f);
        if (scen && name) {
            fputs(": ", f);
            torn_xml_escape(f, name);
            fputs(" on ", f);
            torn_xml_escape(f, tgt ? tgt : "?");
        }
        fputs("</title></line>", f);
        if (!scen)
            continue;
        if (name && next_x - x >= 60) {   /* cut to the room: 9 px monospace ~ 5.5 px a glyph */
            char cut[64];
            snprintf(cut, sizeof cut, "%.*s", (int)((next_x - x - 6) / 5.5), name);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" style=\"font-size:9px\">", x + 2, y0 - 4);
            torn_xml_escape(f, cut);
            fputs("</text>", f);
        }
        next_x = x;
    }
}

static void run_timeline(FILE *f, const struct hctx *hc)
{
    const struct torn_hist *h = hc->h;
    const char *fs[SERIES];
    size_t n_fs = top_fs(h, fs);
    uint64_t (*q)[2][WINDOWS] = calloc(SERIES, sizeof *q);
    uint64_t lo = UINT64_MAX, hi = 0;
    double x0 = 78, x1 = SVG_W - 20, y0 = 24, y1 = 230;

    if (!q)
        return;
    for (size_t s = 0; s < n_fs; s++) {
        window_quantiles(hc, fs[s], q[s]);
        for (int k = 0; k < 2; k++)
            for (int w = 0; w < WINDOWS; w++)
                if (q[s][k][w]) {
                    lo = q[s][k][w] < lo ? q[s][k][w] : lo;
                    hi = q[s][k][w] > hi ? q[s][k][w] : hi;
                }
    }
    if (hi == 0)
        lo = 1, hi = 2;
    double llo = log((double)lo), lhi = log((double)hi) + 0.01;
    fputs("<h2 id=\"timeline\">Run timeline</h2><div class=\"legend\">", f);
    for (size_t s = 0; s < n_fs; s++) {
        fprintf(f, "<span><i class=\"swatch\" style=\"background:%s\"></i>", series_color[s]);
        torn_xml_escape(f, fs[s]);
        fputs(" p50 (thin), p99 (thick)</span>", f);
    }
    fputs("<span><i class=\"swatch\" style=\"background:#d0021b\"></i>fault</span>"
          "<span><i class=\"swatch\" style=\"background:#4a6fa5\"></i>scenario start / "
          "notify</span></div>\n",
          f);
    fprintf(f, "<svg width=\"%d\" height=\"270\" viewBox=\"0 0 %d 270\" role=\"img\"><title>latency "
            "percentiles over time</title>",
            SVG_W, SVG_W);
    for (size_t s = 0; s < n_fs; s++)
        for (int k = 0; k < 2; k++) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" points=\"",
                    series_color[s], k ? 2 : 1);
            for (int w = 0; w < WINDOWS; w++) {
                if (!q[s][k][w])
                    continue;
                double x = x0 + (x1 - x0) * (w + 0.5) / WINDOWS;
                double y = y1 - (y1 - y0) * (log((double)q[s][k][w]) - llo) / (lhi - llo);
                fprintf(f, "%.1f,%.1f ", x, y);
            }
            fputs("\"/>", f);
        }
    timeline_events(f, hc, x0, x1, y0, y1);
    log_axis(f, lo, hi, llo, lhi, x0, x1, y0, y1);
    time_axis(f, hc->t_min, hc->t_max, x0, x1, y1 + 8, y0, hc->t_min, 0);
    fputs("</svg>\n", f);
    free(q);
}

/* ---- one result ---- */

static int same_violation(const struct torn_violation *a, const struct torn_violation *b)
{
    return !strcmp(a->criterion ? a->criterion : "", b->criterion ? b->criterion : "") &&
           !strcmp(a->key ? a->key : "", b->key ? b->key : "") &&
           !strcmp(a->evidence ? a->evidence : "", b->evidence ? b->evidence : "");
}

/* When the evidence names no history lines: the CONTEXT_OPS operations on
 * the violation's key closest to its time t.  Not a proven minimal
 * counterexample, and labelled so. */
#define CONTEXT_OPS 12

/* The clock time of v: its scenario's start (scenario i starts at the i-th
 * "scenario-start" fault line of the history) plus v->t_s; 0 when unknown. */
static uint64_t violation_time(const struct torn_hist *h, size_t result_i,
                               const struct torn_violation *v, uint64_t *start_out)
{
    size_t seen = 0;

    for (size_t e = 0; e < h->n_events && seen <= result_i; e++)
        if (!h->events[e].notify && h->events[e].f && !strcmp(h->events[e].f, "scenario-start"))
            if (seen++ == result_i)
                *start_out = h->events[e].t;
    if (seen <= result_i || h->clockless)
        return 0;
    return *start_out + (uint64_t)(v->t_s * 1e9);
}

static int on_key(const struct torn_hist *h, const struct torn_hop *op, const char *key)
{
    const char *k = torn_hist_key(h, op->key_id);

    return !key || (k && !strcmp(k, key));
}

static size_t context_ops(const struct hctx *hc, uint64_t start, uint64_t t,
                          const struct torn_violation *v, size_t *ops)
{
    const struct torn_hist *h = hc->h;
    uint64_t dist[CONTEXT_OPS];
    size_t n = 0;

    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *op = &h->ops[i];
        uint64_t end = op->t_complete == TORN_HIST_NEVER ? UINT64_MAX : op->t_complete, d;
        if (op->t_invoke < start || !on_key(h, op, v->key))
            continue;
        d = t < op->t_invoke ? op->t_invoke - t : t > end ? t - end : 0;
        size_t pos = n < CONTEXT_OPS ? n++ : CONTEXT_OPS;
        if (pos == CONTEXT_OPS && d >= dist[CONTEXT_OPS - 1])
            continue;
        if (pos == CONTEXT_OPS)
            pos = CONTEXT_OPS - 1;
        while (pos > 0 && dist[pos - 1] > d) {      /* insertion into the sorted best list */
            dist[pos] = dist[pos - 1];
            ops[pos] = ops[pos - 1];
            pos--;
        }
        dist[pos] = d;
        ops[pos] = i;
    }
    return n;
}

/* ---- which operation broke the rule ---- */

static int is_read(const struct torn_hist *h, const struct torn_hop *op)
{
    const char *f = torn_hist_f(h, op);

    return f && (!strcmp(f, "read") || !strcmp(f, "get"));
}

/* The operation the scenario named for v: process v->process's last one on
 * v's key invoked at or before t; SIZE_MAX if none.  Every operation is
 * looked at: the history's order is its lines', which processes writing at
 * once may leave slightly out of time order. */
static size_t named_op(const struct torn_hist *h, const struct torn_violation *v, uint64_t t)
{
    size_t best = SIZE_MAX;

    for (size_t i = 0; v->process >= 0 && i < h->n_ops; i++)
        if (h->ops[i].t_invoke <= t && h->ops[i].process == v->process &&
            on_key(h, &h->ops[i], v->key) &&
            (best == SIZE_MAX || h->ops[i].t_invoke >= h->ops[best].t_invoke))
            best = i;
    return best;
}

/* Roles of the n drawn operations, given ops[s], the one whose answer shows
 * the violation.  A write broke the rule itself, and the drawn reads of its
 * key that began after it and ended by t_end observed it.  A read observed
 * it, and what it contradicts is the latest write of its key (not one known
 * to have failed) invoked before the read ended. */
static void mark_roles(const struct torn_hist *h, const size_t *ops, size_t n, size_t s,
                       uint64_t t_end, unsigned char *role)
{
    const struct torn_hop *so = &h->ops[ops[s]];
    size_t w = SIZE_MAX;

    memset(role, ROLE_NONE, n);
    role[s] = is_read(h, so) ? ROLE_SEEN : ROLE_BROKE;
    for (size_t k = 0; k < n; k++) {
        const struct torn_hop *op = &h->ops[ops[k]];
        if (k == s || !on_key(h, op, torn_hist_key(h, so->key_id)))
            continue;
        if (!is_read(h, so) && is_read(h, op) && op->t_invoke >= so->t_invoke &&
            op->t_complete != TORN_HIST_NEVER && op->t_complete <= t_end)
            role[k] = ROLE_SEEN;
        if (is_read(h, so) && !is_read(h, op) && op->outcome != TORN_OUT_FAIL &&
            op->t_invoke <= so->t_complete &&
            (w == SIZE_MAX || op->t_invoke > h->ops[ops[w]].t_invoke))
            w = k;
    }
    if (w != SIZE_MAX)
        role[w] = ROLE_BROKE;
}

/* The line under a violation's timeline naming what its outlines mean. */
static void roles_legend(FILE *f, const struct torn_hist *h, const size_t *ops,
                         const unsigned char *role, size_t n)
{
    static const char *const what[] = {"", "broke the rule", "observed it"};
    char desc[512];

    fputs("<p class=\"legend note\">", f);
    for (int r = ROLE_BROKE; r <= ROLE_SEEN; r++) {
        size_t count = 0;
        for (size_t k = 0; k < n; k++)
            if (role[k] == r && count++ == 0) {
                torn_check_describe_op(h, ops[k], desc, sizeof desc);
                fprintf(f, "<span class=\"role-%s\"><span class=\"swatch %s\"></span>%s: <code>",
                        r == ROLE_BROKE ? "broke" : "seen", r == ROLE_BROKE ? "broke" : "seen",
                        what[r]);
                torn_xml_escape(f, desc);
                fputs("</code>", f);
            }
        if (count > 1)
            fprintf(f, " and %zu more", count - 1);
        if (count)
            fputs("</span><br>", f);
    }
    fputs("</p>", f);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* The drawing of one violation: the operations its evidence names ("(line
 * N" as checkers write it; the latest one shows the violation), else the
 * context around its time with the operation the scenario named. */
static void violation_drawing(FILE *f, const struct hctx *hc, size_t result_i,
                              const struct torn_violation *v)
{
    size_t ops[CONTEXT_OPS > 24 ? CONTEXT_OPS + 1 : 25], n, s = SIZE_MAX, named;
    unsigned char role[sizeof ops / sizeof ops[0]];
    uint64_t start = 0, t, t_end = UINT64_MAX;

    if ((n = evidence_ops(hc, v->evidence, ops, 24)) > 0) {
        for (size_t k = 0; k < n; k++)
            if (s == SIZE_MAX || hc->h->ops[ops[k]].t_invoke > hc->h->ops[ops[s]].t_invoke)
                s = k;
    } else {
        if (!(t = violation_time(hc->h, result_i, v, &start)) ||
            !(n = context_ops(hc, start, t, v, ops)))
            return;
        named = named_op(hc->h, v, t);
        for (size_t k = 0; named != SIZE_MAX && k < n && s == SIZE_MAX; k++)
            if (ops[k] == named)
                s = k;
        if (named != SIZE_MAX && s == SIZE_MAX)
            ops[n++] = named;   /* room: CONTEXT_OPS + 1 */
        qsort(ops, n, sizeof *ops, cmp_size);
        for (size_t k = 0; named != SIZE_MAX && k < n; k++)
            if (ops[k] == named)
                s = k;
        t_end = t;
        fprintf(f, "<p class=\"note\">The %zu operations on this key closest to the violation "
                "(context from the history, not a minimal counterexample)%s:</p>", n,
                s == SIZE_MAX ? "; the scenario names no single operation for it" : "");
    }
    if (s != SIZE_MAX)
        mark_roles(hc->h, ops, n, s, t_end, role);
    else
        memset(role, ROLE_NONE, n);
    counterexample(f, hc, ops, role, n);
    if (s != SIZE_MAX)
        roles_legend(f, hc->h, ops, role, n);
}

/* open, text escaped, close. */
static void tag_text(FILE *f, const char *open, const char *text, const char *close)
{
    fputs(open, f);
    torn_xml_escape(f, text);
    fputs(close, f);
}

/* A violation's badge and key; id: its anchor, or "". */
static void violation_head(FILE *f, const char *id, const char *criterion, const char *key)
{
    fprintf(f, "<div class=\"violation\"%s%s%s>", *id ? " id=\"" : "", id, *id ? "\"" : "");
    tag_text(f, "<span class=\"badge FAIL\">", criterion, "</span> ");
    if (key)
        tag_text(f, "key <code>", key, "</code> ");
}

static void violation(FILE *f, const struct torn_result *r, size_t k, size_t repeats,
                      size_t result_i, const struct hctx *hc, int draw)
{
    const struct torn_violation *v = &r->violations[k];
    char id[48];

    snprintf(id, sizeof id, "r%zuv%zu", result_i, k);
    violation_head(f, id, v->criterion, v->key);
    fprintf(f, "at %.3f s", v->t_s);
    if (repeats > 1)
        fprintf(f, " <b>&times;%zu</b> (identical, up to %.3f s)", repeats,
                r->violations[k + repeats - 1].t_s);
    fputs("<pre>", f);
    torn_xml_escape(f, v->evidence);
    fputs("</pre>", f);
    if (hc->h && draw)
        violation_drawing(f, hc, result_i, v);
    fputs("</div>\n", f);
}

static void violations(FILE *f, const struct torn_result *r, size_t result_i,
                       const struct hctx *hc)
{
    size_t drawn = 0;

    if (!r->n_violations)
        return;
    fprintf(f, "<h3>Violations (%zu", r->n_violations_total);
    if (r->n_violations_total > r->n_violations)
        fprintf(f, ", first %zu shown", r->n_violations);
    fputs(")</h3>\n", f);
    for (size_t k = 0, rep; k < r->n_violations; k += rep) {
        for (rep = 1; k + rep < r->n_violations &&
                      same_violation(&r->violations[k], &r->violations[k + rep]);
             rep++)
            ;
        violation(f, r, k, rep, result_i, hc, drawn++ < 8);
    }
}

static void result_section(FILE *f, const struct torn_result *r, size_t i, const struct hctx *hc)
{
    const char *v = torn_verdict_name(r->verdict);

    fprintf(f, "<section class=\"result\" id=\"r%zu\"><h2><span class=\"badge %s\">%s</span> ", i,
            v, v);
    torn_xml_escape(f, r->scenario);
    fputs(" on ", f);
    torn_xml_escape(f, r->target);
    fprintf(f, "</h2><p class=\"note\">seed %llu &middot; %.2f s &middot; %.0f ops/s",
            (unsigned long long)r->seed, r->duration_s, torn_result_ops_per_s(r));
    if (r->interrupted)
        fputs(" &middot; interrupted", f);
    fputs("</p>", f);
    if (r->error) {
        fputs("<pre>", f);
        torn_xml_escape(f, r->error);
        fputs("</pre>", f);
    }
    if (r->replay) {
        fputs("<p>", f);
        torn_report_replay_html(f, r);
        fputs("</p>", f);
    }
    if (r->params || (r->metrics && cJSON_GetArraySize(r->metrics))) {
        char *p = r->params ? cJSON_PrintUnformatted(r->params) : NULL;
        char *m = r->metrics ? cJSON_PrintUnformatted(r->metrics) : NULL;
        fputs("<details><summary>parameters and metrics</summary><pre>", f);
        torn_xml_escape(f, p);
        fputs("\n", f);
        torn_xml_escape(f, m);
        fputs("</pre></details>", f);
        free(p);
        free(m);
    }
    latency_table(f, r);
    for (int op = 0; op < TORN_OP_COUNT; op++) {   /* an operation's colour is its own */
        char name[64];
        if (r->ops[op].hdr.n)
            latency_histogram(f, &r->ops[op].hdr, torn_op_name((enum torn_op)op), op);
        if (!torn_result_openloop_has(r, (enum torn_op)op))
            continue;
        snprintf(name, sizeof name, "%s open-loop corrected", torn_op_name((enum torn_op)op));
        latency_histogram(f, &r->openloop->corrected[op], name, op);
    }
    violations(f, r, i, hc);
    fputs("</section>\n", f);
}

static int html_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    struct hctx hc;

    load_history(rep, &hc);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>torn report</title><style>",
          f);
    fputs(css, f);
    fputs("</style></head><body>\n", f);
    page_header(f, rep);
    matrix(f, rep);
    if (hc.h && (hc.h->n_ops || hc.h->n_events))
        run_timeline(f, &hc);
    else
    {
        fputs("<p class=\"note\">Timelines left out: ", f);
        torn_xml_escape(f, hc.note[0] ? hc.note : "the history is empty");
        fputs(".</p>\n", f);
    }
    fputs("<h2 id=\"results\">Results</h2>\n", f);
    for (size_t i = 0; i < rep->n_results; i++)
        result_section(f, rep->results[i], i, &hc);
    fputs("<footer id=\"end\" class=\"note\">Generated by torn. Timeline colours: green ok, red "
          "fail (did not happen), yellow info (unknown outcome).</footer></main></body></html>\n",
          f);
    free_history(&hc);
    if (ferror(f))
        return torn_err_set(err, TORN_E_IO, "HTML report: write failed");
    return TORN_OK;
}

const struct torn_reporter_ops torn_reporter_html = {
    TORN_REPORTER_OPS_V1, "html", "--html",
    "one self-contained HTML page: matrix, timelines, histograms", html_write};

/* ---- `torn check --html`: the page of one check ---- */

#define CHECK_DRAWN 8         /* violations drawn as timelines; the rest are listed */
#define CHECK_OPS_DRAWN 64    /* operations drawn in one timeline */

static void check_violation(FILE *f, const struct hctx *hc, const struct torn_check_violation *v,
                            int draw)
{
    size_t n = v->n_ops < CHECK_OPS_DRAWN ? v->n_ops : CHECK_OPS_DRAWN;

    violation_head(f, "", v->criterion, v->key);
    tag_text(f, "<pre>", v->message, "</pre>");
    if (draw && n) {
        unsigned char role[CHECK_OPS_DRAWN];
        memset(role, ROLE_NONE, n);
        if (n < v->n_ops)
            fprintf(f, "<p class=\"note\">The first %zu of its %zu operations:</p>", n, v->n_ops);
        counterexample(f, hc, v->ops, role, n);
    }
    fputs("</div>\n", f);
}

/* The longest partial linearization, in order: where the search got stuck
 * is after its last operation (Porcupine's visualizer shows the same). */
static void check_partial(FILE *f, const struct torn_hist *h, const struct torn_check_result *res)
{
    char d[512];

    if (!res->n_partial)
        return;
    fprintf(f, "<details><summary>The longest partial linearization: %zu operations, in the order "
            "they take effect</summary><ol>", res->n_partial);
    for (size_t i = 0; i < res->n_partial; i++) {
        torn_check_describe_op(h, res->partial[i], d, sizeof d);
        tag_text(f, "<li><code>", d, "</code></li>");
    }
    fputs("</ol></details>\n", f);
}

int torn_html_check(FILE *f, const struct torn_hist *h, const struct torn_check_result *res,
                    const char *model, const char *path)
{
    static const char *const names[] = {"valid", "INVALID", "unknown"};
    static const char *const classes[] = {"PASS", "FAIL", "ERROR"};
    int v = res->verdict == TORN_CHECK_VALID ? 0 : res->verdict == TORN_CHECK_INVALID ? 1 : 2;
    struct hctx hc;

    memset(&hc, 0, sizeof hc);
    hc.h = (struct torn_hist *)(uintptr_t)h;    /* only read */
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>torn check</title><style>", f);
    fputs(css, f);
    fprintf(f, "</style></head><body>\n<header><h1>torn check: <span class=\"badge %s\">%s</span>"
            "</h1><div class=\"meta\">", classes[v], names[v]);
    tag_text(f, "<code>", path, "</code> &middot; model ");
    torn_xml_escape(f, model);
    fprintf(f, " &middot; %zu operations checked on %zu key%s &middot; %llu search states"
            "</div></header><main>\n", res->n_ops_checked, res->n_keys,
            res->n_keys == 1 ? "" : "s", (unsigned long long)res->n_states);
    if (res->unknown_reason)
        tag_text(f, "<pre>", res->unknown_reason, "</pre>");
    if (res->n_violations) {
        fprintf(f, "<h2>Violations (%zu", res->n_violations_total);
        if (res->n_violations_total > res->n_violations)
            fprintf(f, ", first %zu shown", res->n_violations);
        fputs(")</h2>\n", f);
    } else if (res->verdict == TORN_CHECK_VALID) {
        fputs("<p>No violation: the history is consistent with the model.</p>\n", f);
    }
    for (size_t k = 0; k < res->n_violations; k++)
        check_violation(f, &hc, &res->violations[k], k < CHECK_DRAWN);
    if (res->n_keys_unsearched)
        fprintf(f, "<p class=\"note\">Stopped at the first failing key: %zu other key%s not "
                "searched (--all-keys searches every key).</p>\n", res->n_keys_unsearched,
                res->n_keys_unsearched == 1 ? "" : "s");
    check_partial(f, h, res);
    fprintf(f, "<footer class=\"note\">Generated by torn. Timeline colours: green ok, red fail "
            "(did not happen), yellow info (unknown outcome); the axis is %s. Hover an "
            "operation for its details.</footer></main></body></html>\n",
            h->clockless ? "the history's lines (it has no times)"
                           : "seconds from the first operation drawn");
    return ferror(f) ? -1 : 0;
}

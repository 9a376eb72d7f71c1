/* torn: the Markdown reporter (`--markdown FILE`) and GitHub Actions
 * annotations (github.h). */
#include "core/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/text.h"
#include "report_util.h"
#include "core/err.h"
#include "core/outfile.h"
#include "core/result.h"
#include "core/util.h"

/* Markdown text (a table cell, a list item): neutralised (no control
 * character, so no newline), then HTML-escaped (no <script>, no <img
 * onerror>: GitHub would sanitise, other renderers may not) and with every
 * Markdown metacharacter backslash-escaped (no pipe closing a cell, no
 * backtick opening code). */
static void cell(FILE *f, const char *s)
{
    char *safe = torn_text_safe(s ? s : "");

    for (const char *p = safe ? safe : "?"; *p; p++) {
        if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '>')
            fputs("&gt;", f);
        else if (*p == '&')
            fputs("&amp;", f);
        else if (strchr("\\`*_[]|#!~", *p))
            fprintf(f, "\\%c", *p);
        else
            fputc(*p, f);
    }
    free(safe);
}

static const char *icon(enum torn_verdict v)
{
    switch (v) {
    case TORN_PASS:
        return "✅ PASS";
    case TORN_FAIL:
        return "❌ FAIL";
    case TORN_ERROR:
        return "⚠️ ERROR";
    case TORN_SKIP:
        return "⏭️ SKIP";
    }
    return "?";
}

static void table(FILE *f, const struct torn_report *rep)
{
    size_t pass, fail, error, skip, n_run;
    char msgs[TORN_REPORT_RUN_ERRORS_MAX][320];

    torn_report_counts(rep, &pass, &fail, &error, &skip);
    fprintf(f, "## torn %s: %zu passed, %zu failed, %zu errors, %zu skipped%s\n\n",
            rep->tool_version ? rep->tool_version : "", pass, fail, error, skip,
            rep->interrupted ? " (interrupted)" : "");
    fprintf(f, "Seed `%llu`, %.1f s, started %s, exit code %d.\n\n",
            (unsigned long long)rep->seed, rep->duration_s, rep->started_at,
            torn_report_exit_code(rep));
    n_run = torn_report_run_errors(rep, msgs);
    for (size_t i = 0; i < n_run; i++) {
        fputs("**⚠️ ", f);
        cell(f, msgs[i]);
        fputs("**\n\n", f);
    }
    if (rep->history_dropped)
        fprintf(f, "History capped at %llu bytes: %llu later events dropped.\n\n",
                (unsigned long long)rep->history_cap, (unsigned long long)rep->history_dropped);
    fputs("| Scenario | Target | Verdict | Violations | ops/s | p50 (closed-loop) | p99 (closed-loop) |\n"
          "|---|---|---|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        int op = torn_report_main_op(r);
        char p50[32] = "-", p99[32] = "-";
        if (op >= 0) {
            torn_report_fmt_ns(torn_hdr_quantile(&r->ops[op].hdr, 0.5), p50, sizeof p50);
            torn_report_fmt_ns(torn_hdr_quantile(&r->ops[op].hdr, 0.99), p99, sizeof p99);
        }
        fputs("| ", f);
        cell(f, r->scenario);
        fputs(" | ", f);
        cell(f, r->target);
        fprintf(f, " | %s | %zu | %.0f | %s | %s |\n", icon(r->verdict), r->n_violations_total,
                torn_result_ops_per_s(r), p50, p99);
    }
    fprintf(f, "\n%s.\n", torn_report_closed_loop_note);
    for (size_t i = 0; i < rep->n_results; i++)
        for (int op = 0; op < TORN_OP_COUNT; op++) {
            if (!torn_result_openloop_has(rep->results[i], (enum torn_op)op))
                continue;
            fputs("- ", f);
            cell(f, rep->results[i]->scenario);
            fputs(" on ", f);
            cell(f, rep->results[i]->target);
            fputs(": ", f);
            torn_report_openloop_line(f, rep->results[i], (enum torn_op)op);
            fputc('\n', f);
        }
}

static void details(FILE *f, const struct torn_report *rep)
{
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        if (r->verdict != TORN_FAIL && r->verdict != TORN_ERROR)
            continue;
        /* Raw HTML from here: every text XML-escaped, evidence in <pre>. */
        fputs("\n<details><summary>", f);
        torn_xml_escape(f, r->scenario);
        fputs(" on ", f);
        torn_xml_escape(f, r->target);
        fprintf(f, ": %s</summary>\n\n", torn_verdict_name(r->verdict));
        if (r->error) {
            fputs("<pre>", f);
            torn_xml_escape(f, r->error);
            fputs("</pre>\n\n", f);
        }
        for (size_t k = 0; k < r->n_violations && k < 10; k++) {
            const struct torn_violation *v = &r->violations[k];
            fputs("- **", f);
            cell(f, v->criterion);
            fputs("**", f);
            if (v->key) {
                fputs(" on ", f);
                cell(f, v->key);
            }
            fprintf(f, " at %.3f s\n\n<pre>", v->t_s);
            torn_xml_escape(f, v->evidence);
            fputs("</pre>\n\n", f);
        }
        if (r->replay) {
            torn_report_replay_html(f, r);
            fputc('\n', f);
        }
        fputs("\n</details>\n", f);
    }
}

/* The release gate's checks (budgets, baseline, counters: r->gate), held
 * or not, with observed value, limit and margin: a table after the results. */
static void gate_checks(FILE *f, const struct torn_report *rep)
{
    int head = 0;

    for (size_t i = 0; i < rep->n_results; i++) {
        const cJSON *c, *checks = cJSON_GetObjectItemCaseSensitive(rep->results[i]->gate, "checks");
        cJSON_ArrayForEach(c, checks)
        {
            static const char *const keys[] = {"kind", "name", "observed", "limit", "margin"};
            if (!head++)
                fputs("\n| scenario | kind | check | observed | limit | margin | |\n"
                      "|---|---|---|---:|---:|---:|---|\n", f);
            fputs("| ", f);
            cell(f, rep->results[i]->scenario);
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, keys[k]);
                const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "unit");
                fputs(" | ", f);
                if (cJSON_IsNumber(v))
                    fprintf(f, "%.6g %s", v->valuedouble, cJSON_IsString(u) ? u->valuestring : "");
                else
                    cell(f, cJSON_IsString(v) ? v->valuestring : "");
            }
            fprintf(f, " | %s |\n",
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "held")) ? "held" : "**broken**");
        }
    }
}

static int md_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    table(f, rep);
    gate_checks(f, rep);
    details(f, rep);
    if (ferror(f))
        return torn_err_set(err, TORN_E_IO, "markdown report: write failed");
    return TORN_OK;
}

const struct torn_reporter_ops torn_reporter_markdown = {
    TORN_REPORTER_OPS_V1, "markdown", "--markdown", "Markdown summary table", md_write};

/* Workflow-command escaping, on neutralised text (so no CR or LF can end
 * the command early and forge another): data escapes %, CR, LF; properties
 * also : and ,. */
static void gh_escape(FILE *f, const char *s, int property)
{
    char *safe = torn_text_safe(s ? s : "");

    for (const char *p = safe ? safe : "?"; *p; p++) {
        switch (*p) {
        case '%': fputs("%25", f); break;
        case '\r': fputs("%0D", f); break;
        case '\n': fputs("%0A", f); break;
        case ':': fputs(property ? "%3A" : ":", f); break;
        case ',': fputs(property ? "%2C" : ",", f); break;
        default: fputc(*p, f);
        }
    }
    free(safe);
}

/* GitHub shows at most this many ::error annotations of a step. */
#define GH_SHOWN 10

static int failed(const struct torn_result *r)
{
    return r->verdict == TORN_FAIL || r->verdict == TORN_ERROR;
}

/* One ::error for violation k of r (k < 0: r's ERROR), its message ending
 * with the seed and the replay command, so each annotation is actionable
 * alone. */
static void gh_annotation(FILE *out, const struct torn_result *r, long k)
{
    const struct torn_violation *v = k >= 0 ? &r->violations[k] : NULL;
    char title[320];

    if (v)
        snprintf(title, sizeof title, "torn %s on %s: %s (%zu violation%s)", r->scenario,
                 r->target, v->criterion, r->n_violations_total,
                 r->n_violations_total == 1 ? "" : "s");
    else
        snprintf(title, sizeof title, "torn %s on %s: %s", r->scenario, r->target,
                 r->verdict == TORN_ERROR ? "ERROR" : "FAIL");
    fputs("::error title=", out);
    gh_escape(out, title, 1);
    fputs("::", out);
    gh_escape(out, v ? v->evidence : r->error ? r->error : "no violation kept", 0);
    fprintf(out, "%%0Aseed: %llu", (unsigned long long)r->seed);
    if (r->replay) {
        fputs("%0Areplay: ", out);
        gh_escape(out, r->replay, 0);
    }
    fputc('\n', out);
}

/* The run's problems first; then one annotation for every failing scenario
 * x target (its first violation, or its error), so none is left without;
 * then, while fewer than GitHub shows, further violations in run order. */
int torn_report_github(FILE *out, const struct torn_report *rep)
{
    const char *gha = getenv("GITHUB_ACTIONS"), *summary = getenv("GITHUB_STEP_SUMMARY");
    size_t shown = 0, n_run;
    char msgs[TORN_REPORT_RUN_ERRORS_MAX][320];
    FILE *f;
    int fd = -1;
    int rc = 0;

    if (!gha || strcmp(gha, "true"))
        return 0;
    n_run = torn_report_run_errors(rep, msgs);
    for (size_t i = 0; i < n_run; i++, shown++) {
        fputs("::error title=torn run::", out);
        gh_escape(out, msgs[i], 0);
        fputc('\n', out);
    }
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        if (failed(r)) {
            gh_annotation(out, r, r->verdict == TORN_FAIL && r->n_violations ? 0 : -1);
            shown++;
        }
    }
    for (size_t i = 0; i < rep->n_results && shown < GH_SHOWN; i++) {
        const struct torn_result *r = rep->results[i];
        for (size_t k = 1; r->verdict == TORN_FAIL && k < r->n_violations && shown < GH_SHOWN;
             k++, shown++)
            gh_annotation(out, r, (long)k);
    }
    fflush(out);
    if (!summary || !*summary)
        return 0;
    if (torn_outfile_append(summary, &fd, NULL) != 0 || !(f = fdopen(fd, "a"))) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    md_write(f, rep, NULL);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

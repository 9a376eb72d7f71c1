/* torn: the JUnit XML reporter (GitLab, Jenkins, GitHub test reporters):
 * one <testcase> per scenario x target, <failure> with the first violation
 * as message and every kept violation plus the replay command as body. */
#include <stdio.h>

#include "report_util.h"
#include "core/report.h"
#include "core/result.h"

static void testcase(FILE *f, const struct torn_result *r)
{
    fputs("    <testcase classname=\"torn.", f);
    torn_xml_escape(f, r->target);
    fputs("\" name=\"", f);
    torn_xml_escape(f, r->scenario);
    fprintf(f, "\" time=\"%.3f\">\n", r->duration_s);
    if (r->verdict == TORN_FAIL) {
        const struct torn_violation *v = r->n_violations ? &r->violations[0] : NULL;
        fprintf(f, "      <failure type=\"%s\" message=\"%zu violation(s): ",
                v && v->criterion ? v->criterion : "violation", r->n_violations_total);
        if (v)
            torn_xml_escape(f, v->evidence);
        fputs("\">", f);
        for (size_t i = 0; i < r->n_violations; i++) {
            const struct torn_violation *w = &r->violations[i];
            fprintf(f, "[%s] ", w->criterion);
            if (w->key) {
                torn_xml_escape(f, w->key);
                fputc(' ', f);
            }
            fprintf(f, "t=%.3fs: ", w->t_s);
            torn_xml_escape(f, w->evidence);
            fputc('\n', f);
        }
        fprintf(f, "seed: %llu\n", (unsigned long long)r->seed);
        torn_report_replay_label(f, r, "replay");
        fputs(": ", f);
        torn_xml_escape(f, r->replay);
        fputs("</failure>\n", f);
    } else if (r->verdict == TORN_ERROR) {
        fputs("      <error message=\"", f);
        torn_xml_escape(f, r->error);
        fputs("\"/>\n", f);
    } else if (r->verdict == TORN_SKIP) {
        fputs("      <skipped/>\n", f);
    }
    if (r->interrupted)
        fputs("      <system-out>interrupted</system-out>\n", f);
    fputs("    </testcase>\n", f);
}

/* The run's own problems (interruption, unwritable report): one testcase
 * each with an <error>, so a CI reporter never shows an interrupted run as
 * green. */
static void run_errors(FILE *f, char msgs[][320], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputs("    <testcase classname=\"torn\" name=\"torn run\" time=\"0\">\n"
              "      <error type=\"run\" message=\"", f);
        torn_xml_escape(f, msgs[i]);
        fputs("\"/>\n    </testcase>\n", f);
    }
}

static int junit_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    size_t pass, fail, error, skip, n_run;
    char msgs[TORN_REPORT_RUN_ERRORS_MAX][320];

    (void)err;
    torn_report_counts(rep, &pass, &fail, &error, &skip);
    n_run = torn_report_run_errors(rep, msgs);
    error += n_run;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<testsuites name=\"torn\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "skipped=\"%zu\" time=\"%.3f\">\n",
            rep->n_results + n_run, fail, error, skip, rep->duration_s);
    fprintf(f, "  <testsuite name=\"torn\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "skipped=\"%zu\" time=\"%.3f\" timestamp=\"",
            rep->n_results + n_run, fail, error, skip, rep->duration_s);
    torn_xml_escape(f, rep->started_at);
    fputs("\">\n    <properties>\n", f);
    fprintf(f, "      <property name=\"seed\" value=\"%llu\"/>\n", (unsigned long long)rep->seed);
    fputs("      <property name=\"command\" value=\"", f);
    torn_xml_escape(f, rep->command);
    fprintf(f, "\"/>\n      <property name=\"interrupted\" value=\"%s\"/>\n    </properties>\n",
            rep->interrupted ? "true" : "false");
    for (size_t i = 0; i < rep->n_results; i++)
        testcase(f, rep->results[i]);
    run_errors(f, msgs, n_run);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return 0;
}

const struct torn_reporter_ops torn_reporter_junit = {
    TORN_REPORTER_OPS_V1, "junit", "--junit", "JUnit XML for CI test reporters", junit_write,
};

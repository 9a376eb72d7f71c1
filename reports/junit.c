/* torn: the JUnit XML reporter (GitLab, Jenkins, GitHub test reporters):
 * one <testsuite> per target of the run, named after the target and the
 * run's start ("torn file:durable 2026-12-07T04:31:54Z"), so reports of
 * several runs merged by a tool stay separate suites, each with one
 * <properties>; one <testcase> per scenario x target, <failure> with the
 * first violation as message and every kept violation plus the seed and
 * the replay command as body.  Valid against Jenkins' JUnit schema
 * (junit-10.xsd): no attribute <testsuites> does not have (no skipped), and
 * classnames "torn.TARGET" with the target's dots made underscores, since
 * Jenkins splits a classname at its last dot into package and class
 * ("torn.http://127.0.0.1:28099" would be package "torn.http://127.0.0"). */
#include <stdio.h>
#include <string.h>

#include "report_util.h"
#include "core/report.h"
#include "core/result.h"

/* s, XML-escaped, its dots written as underscores. */
static void undotted(FILE *f, const char *s)
{
    char buf[512];
    size_t n = strlen(s) < sizeof buf ? strlen(s) : sizeof buf - 1;

    memcpy(buf, s, n);
    buf[n] = 0;
    for (char *p = buf; (p = strchr(p, '.')) != NULL; p++)
        *p = '_';
    torn_xml_escape(f, buf);
}

static void testcase(FILE *f, const struct torn_result *r)
{
    fputs("    <testcase classname=\"torn.", f);
    undotted(f, r->target);
    fputs("\" name=\"", f);
    torn_xml_escape(f, r->scenario);
    fprintf(f, "\" time=\"%.3f\">\n", r->duration_s);
    if (r->verdict == TORN_FAIL) {
        const struct torn_violation *v = r->n_violations ? &r->violations[0] : NULL;
        /* type: what the first violation is about (correctness, budget,
         * regression), so a CI reporter can tell them apart. */
        fprintf(f, "      <failure type=\"%s\" message=\"%zu violation(s): ",
                torn_criterion_kind(v ? v->criterion : NULL), r->n_violations_total);
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

/* Counts of the results of target (all when NULL). */
static void counts(const struct torn_report *rep, const char *target, size_t c[4])
{
    memset(c, 0, 4 * sizeof c[0]);
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        if (target && strcmp(r->target, target) != 0)
            continue;
        c[0]++;
        c[1] += r->verdict == TORN_FAIL;
        c[2] += r->verdict == TORN_ERROR;
        c[3] += r->verdict == TORN_SKIP;
    }
}

/* <testsuite> of target (NULL: the run's own errors, msgs) with c = its
 * tests, failures, errors, skipped (counts()), and the run's properties. */
static void suite(FILE *f, const struct torn_report *rep, const char *target, const size_t c[4],
                  char msgs[][320], size_t n_run)
{
    double time = 0;

    for (size_t i = 0; i < rep->n_results; i++)
        if (target && strcmp(rep->results[i]->target, target) == 0)
            time += rep->results[i]->duration_s;
    fputs("  <testsuite name=\"torn ", f);
    torn_xml_escape(f, target ? target : "run");
    fputc(' ', f);
    torn_xml_escape(f, rep->started_at);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
               "time=\"%.3f\" timestamp=\"",
            target ? c[0] : n_run, target ? c[1] : 0, target ? c[2] : n_run,
            target ? c[3] : 0, target ? time : 0);
    torn_xml_escape(f, rep->started_at);
    fputs("\">\n    <properties>\n", f);
    fprintf(f, "      <property name=\"seed\" value=\"%llu\"/>\n", (unsigned long long)rep->seed);
    fputs("      <property name=\"command\" value=\"", f);
    torn_xml_escape(f, rep->command);
    fprintf(f, "\"/>\n      <property name=\"interrupted\" value=\"%s\"/>\n    </properties>\n",
            rep->interrupted ? "true" : "false");
    for (size_t i = 0; target && i < rep->n_results; i++)
        if (strcmp(rep->results[i]->target, target) == 0)
            testcase(f, rep->results[i]);
    if (!target)
        run_errors(f, msgs, n_run);
    fputs("  </testsuite>\n", f);
}

/* 1 if no result before index i has the target of result i. */
static int first_of_target(const struct torn_report *rep, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(rep->results[k]->target, rep->results[i]->target) == 0)
            return 0;
    return 1;
}

static int junit_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    size_t all[4], c[4], n_run;
    char msgs[TORN_REPORT_RUN_ERRORS_MAX][320];

    (void)err;
    counts(rep, NULL, all);
    n_run = torn_report_run_errors(rep, msgs);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<testsuites name=\"torn\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "time=\"%.3f\">\n",
            all[0] + n_run, all[1], all[2] + n_run, rep->duration_s);
    for (size_t i = 0; i < rep->n_results; i++)
        if (first_of_target(rep, i)) {
            counts(rep, rep->results[i]->target, c);
            suite(f, rep, rep->results[i]->target, c, msgs, n_run);
        }
    if (n_run)
        suite(f, rep, NULL, NULL, msgs, n_run);
    fputs("</testsuites>\n", f);
    return 0;
}

const struct torn_reporter_ops torn_reporter_junit = {
    TORN_REPORTER_OPS_V1, "junit", "--junit", "JUnit XML for CI test reporters", junit_write,
};

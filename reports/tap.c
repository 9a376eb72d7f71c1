/* torn: the TAP reporter (`--tap FILE`, "-" for stdout): TAP version 13,
 * which Debian 12's `prove` accepts (it rejects version 14).  One test point
 * per result; FAIL and ERROR are `not ok` with a YAML diagnostic block
 * (message, severity, the first violations); SKIP uses the # SKIP directive.
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/report.h"
#include "core/result.h"

/* A YAML double-quoted scalar. */
static void yq(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A test point description must not contain '#' (a directive) and stays on
 * one line. */
static void desc(FILE *f, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++)
        fputc(*p == '#' ? '_' : *p == '\n' ? ' ' : *p, f);
}

static void diagnostics(FILE *f, const struct torn_result *r)
{
    fputs("  ---\n  message: ", f);
    if (r->verdict == TORN_ERROR) {
        yq(f, r->error);
        fputs("\n  severity: error\n", f);
    } else {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu violation%s", r->n_violations_total,
                 r->n_violations_total == 1 ? "" : "s");
        yq(f, msg);
        fputs("\n  severity: fail\n", f);
    }
    fputs("  data:\n    seed: ", f);
    fprintf(f, "%llu\n    duration_s: %.3f\n", (unsigned long long)r->seed, r->duration_s);
    if (r->replay) {
        fputs("    replay: ", f);
        yq(f, r->replay);
        fputc('\n', f);
    }
    if (r->n_violations)
        fputs("    violations:\n", f);
    for (size_t i = 0; i < r->n_violations && i < 10; i++) {
        const struct torn_violation *v = &r->violations[i];
        fputs("      - criterion: ", f);
        yq(f, v->criterion);
        if (v->key) {
            fputs("\n        key: ", f);
            yq(f, v->key);
        }
        fprintf(f, "\n        t_s: %.3f\n        evidence: ", v->t_s);
        yq(f, v->evidence);
        fputc('\n', f);
    }
    fputs("  ...\n", f);
}

static int tap_write(FILE *f, const struct torn_report *rep, struct torn_err *err)
{
    char msgs[TORN_REPORT_RUN_ERRORS_MAX][320];
    size_t n_run = torn_report_run_errors(rep, msgs);

    fprintf(f, "TAP version 13\n1..%zu\n", rep->n_results + n_run);
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct torn_result *r = rep->results[i];
        int bad = r->verdict == TORN_FAIL || r->verdict == TORN_ERROR;
        fprintf(f, "%s %zu - ", bad ? "not ok" : "ok", i + 1);
        desc(f, r->scenario);
        fputs(" on ", f);
        desc(f, r->target);
        if (r->verdict == TORN_SKIP) {
            fputs(" # SKIP ", f);
            desc(f, r->error ? r->error : "not applicable");
        }
        fputc('\n', f);
        if (bad)
            diagnostics(f, r);
    }
    for (size_t i = 0; i < n_run; i++) { /* the run's own problems */
        fprintf(f, "not ok %zu - ", rep->n_results + i + 1);
        desc(f, msgs[i]);
        fputs("\n  ---\n  message: ", f);
        yq(f, msgs[i]);
        fprintf(f, "\n  severity: error\n  data:\n    exit_code: %d\n  ...\n",
                torn_report_exit_code(rep));
    }
    if (ferror(f))
        return torn_err_set(err, TORN_E_IO, "TAP report: write failed");
    return TORN_OK;
}

const struct torn_reporter_ops torn_reporter_tap = {
    TORN_REPORTER_OPS_V1, "tap", "--tap", "TAP version 13 (prove)", tap_write};

/* torn: helpers shared by reporters. */
#include "report.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "outfile.h"
#include "result.h"
#include "text.h"
#include "util.h"

struct write_arg {
    const struct torn_reporter_ops *ops;
    const struct torn_report *rep;
};

static int render(FILE *f, void *arg, struct torn_err *err)
{
    const struct write_arg *a = arg;

    return a->ops->write(f, a->rep, err);
}

int torn_report_write_file(const struct torn_reporter_ops *ops, const char *path,
                           const struct torn_report *rep, struct torn_err *err)
{
    struct write_arg a = {ops, rep};
    int rc;

    if (strcmp(path, "-") == 0) {
        rc = ops->write(stdout, rep, err);
        fflush(stdout);
        return rc;
    }
    rc = torn_write_atomic_with(path, render, &a, err);
    if (rc && err && !strstr(err->msg, path))
        torn_err_set(err, rc, "%s report %s: %s", ops->name, path, torn_strerror(rc));
    return rc;
}

void torn_report_counts(const struct torn_report *rep, size_t *pass, size_t *fail, size_t *error,
                        size_t *skip)
{
    size_t c[4] = {0, 0, 0, 0};

    for (size_t i = 0; i < rep->n_results; i++)
        c[rep->results[i]->verdict]++;
    if (pass)
        *pass = c[TORN_PASS];
    if (fail)
        *fail = c[TORN_FAIL];
    if (error)
        *error = c[TORN_ERROR];
    if (skip)
        *skip = c[TORN_SKIP];
}

int torn_report_exit_code(const struct torn_report *rep)
{
    size_t fail, error;

    torn_report_counts(rep, NULL, &fail, &error, NULL);
    if (rep->report_error)
        return 2;
    return fail ? 1 : error || rep->interrupted ? 2 : 0;
}

const char *torn_report_interruption(const struct torn_report *rep)
{
    if (!rep->interrupted)
        return "";
    return rep->signal == SIGINT    ? "interrupted by SIGINT"
           : rep->signal == SIGTERM ? "interrupted by SIGTERM"
                                    : "interrupted by a signal";
}

void torn_xml_escape(FILE *f, const char *s)
{
    char *safe = torn_text_safe(s ? s : ""); /* no control character left */

    for (const char *p = safe ? safe : "?"; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*p, f);
        }
    }
    free(safe);
}

size_t torn_report_run_errors(const struct torn_report *rep,
                              char msgs[TORN_REPORT_RUN_ERRORS_MAX][320])
{
    size_t n = 0;

    if (rep->interrupted)
        snprintf(msgs[n++], 320, "torn run %s: results are partial, exit code %d",
                 torn_report_interruption(rep), torn_report_exit_code(rep));
    if (rep->report_error)
        snprintf(msgs[n++], 320, "a report could not be written (exit code 2): %.250s",
                 rep->report_error);
    return n;
}

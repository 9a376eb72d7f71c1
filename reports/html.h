/* torn: the HTML page of one `torn check` (reports/html.c, beside the
 * `--html` reporter whose drawings it shares). */
#ifndef TORN_REPORTS_HTML_H
#define TORN_REPORTS_HTML_H

#include <stdio.h>

struct torn_check_result;
struct torn_hist;

/* Write one self-contained page (inline CSS and SVG, no script, no
 * network) for the check of h (read from path) against model: the verdict,
 * each violation with its counterexample as a timeline of the processes
 * involved (hover an operation for its details), and a failing
 * linearizability key's longest partial linearization.  0, or -1 when a
 * write to f failed. */
int torn_html_check(FILE *f, const struct torn_hist *h, const struct torn_check_result *res,
                    const char *model, const char *path);

#endif

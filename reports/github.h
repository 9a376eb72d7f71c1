/* torn: GitHub Actions integration (reports/markdown.c).
 *
 * When the environment has GITHUB_ACTIONS=true, torn_report_github prints
 * `::error` workflow commands for the first violations (GitHub shows at
 * most 10 per step) to out, and appends the Markdown summary table (the
 * --markdown report) to the file named by $GITHUB_STEP_SUMMARY.  The runner
 * calls it once after the other reports.
 */
#ifndef TORN_REPORTS_GITHUB_H
#define TORN_REPORTS_GITHUB_H

#include <stdio.h>

struct torn_report;

/* Does nothing (returns 0) unless GITHUB_ACTIONS=true.  Returns 0, or -1 if
 * the step summary could not be appended (a warning, not a failure). */
int torn_report_github(FILE *out, const struct torn_report *rep);

#endif

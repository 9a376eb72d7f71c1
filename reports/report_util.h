/* torn: helpers shared by the built-in reporters (not a plug point). */
#ifndef TORN_REPORTS_COMMON_H
#define TORN_REPORTS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/result.h"

/* The operation kind with the most completed operations, or -1 if none. */
int torn_report_main_op(const struct torn_result *r);
/* Format nanoseconds compactly ("812ns", "4.21ms", "1.50s") into buf. */
void torn_report_fmt_ns(uint64_t ns, char *buf, size_t len);

/* Open-loop comparison for op of r (torn_result_openloop_has must hold), on
 * one line without a newline: "update at 100 ops/s: uncorrected p50 ...
 * p99 ... max ... | corrected (from due time) p50 ... p99 ... max ...
 * (N of M started late)". */
void torn_report_openloop_line(FILE *f, const struct torn_result *r, enum torn_op op);
/* word, then " (how far the replay can be trusted)" when it cannot be
 * fully (torn_result_replay_note), XML-escaped: "replay (reproduced in 2 of
 * 3 re-runs ...)". */
void torn_report_replay_label(FILE *f, const struct torn_result *r, const char *word);
/* "Replay (...): <code>COMMAND</code>", HTML-escaped; nothing when r has no
 * replay command. */
void torn_report_replay_html(FILE *f, const struct torn_result *r);
/* The note that says how the figures were measured ("closed-loop: ..."),
 * one sentence without a newline. */
extern const char torn_report_closed_loop_note[];

#endif

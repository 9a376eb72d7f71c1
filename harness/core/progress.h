/* torn: the live progress line on a terminal.
 *
 * While a scenario runs longer than TORN_PROGRESS_AFTER_S, a background
 * thread redraws one line on stderr in place ("\r", at most 4 times a
 * second): scenario x target, elapsed / time limit, operations so far (from
 * the shared-memory stats every worker writes, see proc.h) and violations so
 * far.  The line is cleared when the scenario ends, before the runner prints
 * anything else.  Only when stderr is a terminal (and TERM is not "dumb")
 * and the run is not --quiet: logs and pipes never see a "\r".
 *
 * The thread blocks every signal (SIGINT/SIGTERM stay with the main thread)
 * and never touches stdio (a fork while it held the stderr lock would
 * deadlock the child): it formats into its own buffer and write(2)s.
 */
#ifndef TORN_PROGRESS_H
#define TORN_PROGRESS_H

struct torn_stats;
struct torn_result;
struct torn_progress;

#define TORN_PROGRESS_AFTER_S 2.0   /* quiet scenarios shorter than this */
#define TORN_PROGRESS_PERIOD_MS 250 /* redraw period */

/* Whether a progress line would be drawn: stderr is a tty, TERM is not
 * "dumb", and quiet is 0. */
int torn_progress_wanted(int quiet);

/* Start the line for one scenario.  label ("concurrent-updaters x
 * file:durable") is copied; total_s is the scenario's time limit (<= 0:
 * unknown, only the elapsed time is shown); stats and res must outlive
 * torn_progress_stop (read without locks: the figures are a glimpse, not a
 * count).  Returns NULL when !torn_progress_wanted(quiet) or a thread
 * cannot be started (then there is simply no progress line). */
struct torn_progress *torn_progress_start(int quiet, const char *label, double total_s,
                                          const struct torn_stats *stats,
                                          const struct torn_result *res);
/* Stop the thread, clear the line if it was drawn, free.  NULL: no-op. */
void torn_progress_stop(struct torn_progress *p);

#endif

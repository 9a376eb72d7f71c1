/* torn: helpers shared by the built-in reporters (not a plug point). */
#ifndef TORN_REPORTS_COMMON_H
#define TORN_REPORTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

/* The operation kind with the most completed operations, or -1 if none. */
int torn_report_main_op(const struct torn_result *r);
/* Format nanoseconds compactly ("812ns", "4.21ms", "1.50s") into buf. */
void torn_report_fmt_ns(uint64_t ns, char *buf, size_t len);

#endif

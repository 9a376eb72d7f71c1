/* torn: a parser of the Prometheus text exposition format (version 0.0.4),
 * enough to read counters and gauges exactly: what a metrics endpoint
 * says is evidence, so it is parsed, never searched for substrings.
 *
 * Grammar, per line (blank lines and lines starting with '#' are comments,
 * HELP and TYPE included):
 *
 *   sample  := name [ '{' [ label { ',' label } [ ',' ] ] '}' ] value [ timestamp ]
 *   name    := [a-zA-Z_:][a-zA-Z0-9_:]*
 *   label   := lname '=' '"' { char | '\\' | '\"' | '\n' } '"'
 *   lname   := [a-zA-Z_][a-zA-Z0-9_]*
 *   value   := a float (strtod's forms), or +Inf, -Inf, NaN
 *   timestamp := an integer (milliseconds; ignored)
 *
 * separated by spaces or tabs.  A line that does not parse is an error
 * naming its number: a half-written or non-Prometheus page is refused, not
 * read as zero.  Selectors use the sample syntax without the value
 * (`research_finalized_total{status="completed"}`); a sample matches when
 * its name is the selector's and it has each of the selector's labels with
 * the same value (more labels allowed).  Thread-safe; no global state.
 */
#ifndef TORN_GATE_PROM_H
#define TORN_GATE_PROM_H

#include <stddef.h>

struct torn_err;

#define TORN_PROM_MAX_LABELS 16
#define TORN_PROM_MAX_TEXT 128   /* bytes of a name or label value, NUL included */

struct torn_prom_sample {
    char name[TORN_PROM_MAX_TEXT];
    size_t n_labels;
    char lname[TORN_PROM_MAX_LABELS][TORN_PROM_MAX_TEXT];
    char lvalue[TORN_PROM_MAX_LABELS][TORN_PROM_MAX_TEXT];
    double value;
};

/* Parse a selector (a sample without value).  TORN_E_CONFIG naming what. */
int torn_prom_selector(const char *text, const char *what, struct torn_prom_sample *sel,
                       struct torn_err *err);

/* Sum of the values of the samples of text (len bytes) that match sel into
 * *sum_out, and how many matched into *n_out.  TORN_E_CONFIG naming what and
 * the line when text is not the exposition format. */
int torn_prom_sum(const char *text, size_t len, const struct torn_prom_sample *sel,
                  const char *what, double *sum_out, size_t *n_out, struct torn_err *err);

#endif

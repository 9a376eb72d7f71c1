/* torn: when the human-readable output may carry ANSI colours.
 *
 * --color=auto|always|never (default auto).  auto means colour only when the
 * stream the human text goes to is a terminal, NO_COLOR is unset or empty
 * (https://no-color.org), TERM is not "dumb" and CI is unset.  always and
 * never ignore the environment: they are an explicit request. */
#ifndef TORN_CLI_COLOR_H
#define TORN_CLI_COLOR_H

enum torn_color_mode { TORN_COLOR_AUTO, TORN_COLOR_ALWAYS, TORN_COLOR_NEVER };

/* Parse "auto", "always" or "never" (NULL, as from a bare --color, is
 * "always", like GNU ls).  0, or -1 after printing one line naming cmd. */
int torn_color_parse(const char *cmd, const char *arg, enum torn_color_mode *out);
/* 1 if text written to fd may be coloured under mode. */
int torn_color_wanted(enum torn_color_mode mode, int fd);

#endif

/* torn: the colour decision of the commands (see color.h). */
#include "color.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int torn_color_parse(const char *cmd, const char *arg, enum torn_color_mode *out)
{
    if (!arg || strcmp(arg, "always") == 0)
        *out = TORN_COLOR_ALWAYS;
    else if (strcmp(arg, "auto") == 0)
        *out = TORN_COLOR_AUTO;
    else if (strcmp(arg, "never") == 0)
        *out = TORN_COLOR_NEVER;
    else {
        fprintf(stderr, "torn %s: --color must be auto, always or never, not '%s'\n", cmd, arg);
        return -1;
    }
    return 0;
}

int torn_color_wanted(enum torn_color_mode mode, int fd)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

    if (mode != TORN_COLOR_AUTO)
        return mode == TORN_COLOR_ALWAYS;
    return isatty(fd) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0) && !getenv("CI");
}

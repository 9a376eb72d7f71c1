/* torn: minimum-work evidence (see work.h). */
#include "work.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "proc/proc.h"
#include "result.h"
#include "scenario.h"
#include "util.h"

void torn_work_set(struct torn_result *r, const char *counter, long long n)
{
    cJSON *c;

    if (!r->work && !(r->work = cJSON_CreateObject()))
        return;
    c = cJSON_GetObjectItemCaseSensitive(r->work, counter);
    if (c)
        cJSON_SetNumberValue(c, (double)n);
    else
        cJSON_AddNumberToObject(r->work, counter, (double)n);
}

long long torn_work_get(const struct torn_result *r, const char *counter)
{
    const cJSON *c = r->work ? cJSON_GetObjectItemCaseSensitive(r->work, counter) : NULL;

    return cJSON_IsNumber(c) ? (long long)c->valuedouble : 0;
}

void torn_work_add(struct torn_result *r, const char *counter, long long n)
{
    torn_work_set(r, counter, torn_work_get(r, counter) + n);
}

void torn_work_deadline(const struct torn_ctx *ctx)
{
    torn_work_set(ctx->result, "time_limited",
                  !torn_stop_requested() && ctx->deadline_ns && torn_now_ns() >= ctx->deadline_ns);
}

void torn_work_hint(struct torn_result *r, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;

    free(r->work_hint);
    r->work_hint = NULL;
    if (!fmt)
        return;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) >= 0)
        r->work_hint = text;
    va_end(ap);
}

static long long minimum(const struct torn_result *r, const struct torn_work_need *n)
{
    long long planned, min;

    if (!n->planned)
        return n->floor;
    planned = torn_work_get(r, n->planned);
    min = (long long)ceil(n->fraction * (double)planned);
    if (torn_work_get(r, "time_limited") && min > n->floor)
        min = n->floor;
    return min < planned ? min : planned;
}

/* Append the first need that fell short to f; 1 when one did. */
static int shortfall(FILE *f, const struct torn_result *r, const struct torn_work_need *needs)
{
    for (const struct torn_work_need *n = needs; n && n->counter; n++) {
        long long got = torn_work_get(r, n->counter), min = minimum(r, n);

        if (got >= min)
            continue;
        if (n->planned)
            fprintf(f, "%lld of %lld %s (minimum %lld%s)", got, torn_work_get(r, n->planned),
                    n->what, min, torn_work_get(r, "time_limited") ? " in the time limit" : "");
        else
            fprintf(f, "%lld %s (minimum %lld)", got, n->what, min);
        return 1;
    }
    return 0;
}

int torn_work_judge(struct torn_result *r, const struct torn_work_need *needs,
                    const struct torn_deaths *d, const char *history_problem)
{
    char *line = NULL, died[512] = "";
    size_t len = 0;
    FILE *f;
    int short_work, code;

    if (r->verdict != TORN_PASS && r->verdict != TORN_FAIL)
        return 0;
    if (d)
        torn_proc_deaths_describe(d, died, sizeof died);
    f = open_memstream(&line, &len);
    if (!f)
        return 0;
    fprintf(f, "%s: ", r->scenario ? r->scenario : "scenario");
    short_work = shortfall(f, r, needs);
    if (short_work && r->work_hint)
        fprintf(f, "; %s", r->work_hint);
    if (died[0])
        fprintf(f, "%s%s", short_work ? ": " : "", died);
    if (history_problem)
        fprintf(f, "%s%s", short_work || died[0] ? "; " : "", history_problem);
    fclose(f);
    if (!short_work && !died[0] && !history_problem) {
        free(line);
        return 0;
    }
    code = short_work ? TORN_E_NOWORK : died[0] ? TORN_E_CRASHED : TORN_E_IO;
    if (r->verdict == TORN_FAIL) {
        free(r->work_note);
        r->work_note = line;
    } else {
        torn_result_error(r, code, line);
        free(line);
    }
    return 1;
}

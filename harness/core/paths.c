/* torn: two read paths agree (paths.h). */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "finding.h"
#include "jsonptr.h"

#define PATHS_MAX_FINDINGS 1000   /* findings one process posts */

/* The first agreed field that differs between a and b, printed into why. */
static void compare_fields(const cJSON *agree, const cJSON *a, const cJSON *b, char *why,
                           size_t len)
{
    for (const cJSON *e = agree->child; e; e = e->next) {
        const cJSON *x = torn_json_pointer(a, e->string);
        const cJSON *y = torn_json_pointer(b, e->valuestring);
        if ((!x && !y) || (x && y && cJSON_Compare(x, y, 1)))
            continue;
        char *xs = x ? cJSON_PrintUnformatted(x) : NULL;
        char *ys = y ? cJSON_PrintUnformatted(y) : NULL;
        snprintf(why, len, "%s is %.100s on the read path but %s is %.100s on read_also",
                 e->string, xs ? xs : "absent", e->valuestring, ys ? ys : "absent");
        free(xs);
        free(ys);
        return;
    }
}

void torn_paths_judge(const char *log_dir, const cJSON *agree, const char *by, const char *id,
                      const cJSON *rec, const cJSON *also, int also_first, const char *also_what)
{
    static unsigned long posted;   /* per process: a flood is counted by the first ones */
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
    const cJSON *va = torn_json_pointer(rec, by);
    char why[400] = "";
    if (!cJSON_IsNumber(va) || (cJSON_IsString(st) && strcmp(st->valuestring, "unknown") == 0))
        return;   /* the main path gave no record to compare */
    if (!also && also_first)
        return;   /* read before the record may have existed */
    const char *bp = cJSON_GetObjectItemCaseSensitive(agree, by)->valuestring;
    const cJSON *vb = also ? torn_json_pointer(also, bp) : NULL;
    if (!also)
        snprintf(why, sizeof why, "read_also answered not found just after the read path "
                 "answered %s %.0f",
                 by, va->valuedouble);
    else if (!cJSON_IsNumber(vb))
        snprintf(why, sizeof why, "read_also's answer has no number at %s", bp);
    else if (also_first ? va->valuedouble < vb->valuedouble : vb->valuedouble < va->valuedouble)
        snprintf(why, sizeof why, "%s path is behind: read_also answered %s %.0f %s the read path "
                 "answered %.0f",
                 also_first ? "the read" : "the read_also", bp, vb->valuedouble,
                 also_first ? "just before" : "just after", va->valuedouble);
    else if (va->valuedouble == vb->valuedouble)
        compare_fields(agree, rec, also, why, sizeof why);
    torn_finding_count(log_dir, "read_paths_compared", 1);
    if (!why[0] || posted >= PATHS_MAX_FINDINGS)
        return;
    posted++;
    torn_finding_post(log_dir, "read-paths-agree", id, "%s disagrees with the read path: %s",
                      also_what, why);
}

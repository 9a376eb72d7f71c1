/* torn: the gate's check records (see checks.h). */
#include "gate/checks.h"

#include <cjson/cJSON.h>

#include "core/result.h"

cJSON *torn_gate_checks(struct torn_result *res)
{
    cJSON *checks;

    if (!res->gate && !(res->gate = cJSON_CreateObject()))
        return NULL;
    checks = cJSON_GetObjectItemCaseSensitive(res->gate, "checks");
    return checks ? checks : cJSON_AddArrayToObject(res->gate, "checks");
}

int torn_gate_check(cJSON *checks, const char *kind, const char *criterion, const char *name,
                    int op, enum torn_metric m, const char *loop, double observed, double limit,
                    double margin, int held, const char *text)
{
    cJSON *c = cJSON_CreateObject();

    if (!c)
        return -1;
    cJSON_AddStringToObject(c, "kind", kind);
    cJSON_AddStringToObject(c, "criterion", criterion);
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "op", op < 0 ? "*" : torn_op_name((enum torn_op)op));
    cJSON_AddStringToObject(c, "metric", torn_metric_name(m));
    if (loop)
        cJSON_AddStringToObject(c, "loop", loop);
    cJSON_AddNumberToObject(c, "observed", torn_metric_in_unit(m, observed));
    cJSON_AddNumberToObject(c, "limit", torn_metric_in_unit(m, limit));
    cJSON_AddNumberToObject(c, "margin", torn_metric_in_unit(m, margin));
    cJSON_AddStringToObject(c, "unit", torn_metric_unit(m));
    cJSON_AddBoolToObject(c, "held", held);
    cJSON_AddStringToObject(c, "text", text);
    cJSON_AddItemToArray(checks, c);
    return 0;
}

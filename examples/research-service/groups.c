/* research-service: seed 003's dual write.  A group's completed members
 * are kept in two structures that must agree: A, member -> amount with a
 * running total, and B, the set of members with a count.  --mode atomic
 * keeps both in one record written once; the other modes write A, then B,
 * as two records (the seed's bug: a crash between them leaves one without
 * the other). */
#include "svc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;

/* Record `key` as an object (a new empty one when missing); NULL on error. */
static cJSON *load(const char *key, char *why, size_t why_len)
{
    char *text = NULL;
    int rc = rs_store_get(key, &text, why, why_len);
    cJSON *o = rc == 1 ? cJSON_CreateObject() : rc == 0 ? cJSON_Parse(text) : NULL;
    free(text);
    if (rc == 0 && !cJSON_IsObject(o)) {
        snprintf(why, why_len, "group record %s is not a JSON object", key);
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

static int save(const char *key, const cJSON *o, char *why, size_t why_len)
{
    char *text = cJSON_PrintUnformatted(o);
    int rc = text ? rs_store_set(key, text, why, why_len) : -1;
    free(text);
    return rc;
}

/* Add member with amount to map `name` of o and bump counter `ctr` by inc. */
static void add(cJSON *o, const char *name, const char *ctr, const char *member, double amount,
                double inc)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsObject(m)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, name);
        m = cJSON_AddObjectToObject(o, name);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(m, member);
    cJSON_AddNumberToObject(m, member, amount);
    double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, ctr));
    cJSON_DeleteItemFromObjectCaseSensitive(o, ctr);
    cJSON_AddNumberToObject(o, ctr, (v == v ? v : 0) + inc);
}

static void keys(char *a, char *b, size_t len, const char *group)
{
    snprintf(a, len, "grp-%s%s", group, rs_opt.mode == RS_ATOMIC ? "" : "-a");
    snprintf(b, len, "grp-%s%s", group, rs_opt.mode == RS_ATOMIC ? "" : "-b");
}

int rs_group_add(const char *group, const char *member, double amount, char *why,
                 size_t why_len)
{
    char ka[64], kb[64];
    int rc = -1;
    keys(ka, kb, sizeof ka, group);
    pthread_mutex_lock(&group_lock);
    cJSON *a = load(ka, why, why_len);
    cJSON *b = rs_opt.mode == RS_ATOMIC ? a : load(kb, why, why_len);
    if (a && b) {
        add(a, "records", "total", member, amount, amount);
        add(b, "members", "count", member, amount, 1);
        rc = save(ka, a, why, why_len);
        if (rc == 0 && b != a)
            rc = save(kb, b, why, why_len);   /* the second write */
    }
    pthread_mutex_unlock(&group_lock);
    if (b != a)
        cJSON_Delete(b);
    cJSON_Delete(a);
    return rc;
}

cJSON *rs_group_read(const char *group, char *why, size_t why_len)
{
    char ka[64], kb[64];
    keys(ka, kb, sizeof ka, group);
    pthread_mutex_lock(&group_lock);
    cJSON *a = load(ka, why, why_len);
    cJSON *b = a && rs_opt.mode != RS_ATOMIC ? load(kb, why, why_len) : NULL;
    pthread_mutex_unlock(&group_lock);
    if (!a || (rs_opt.mode != RS_ATOMIC && !b)) {
        cJSON_Delete(a);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    const cJSON *src[4] = {a, b ? b : a, b ? b : a, a};
    const char *const names[4] = {"records", "members", "count", "total"};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(src[i], names[i]);
        cJSON_AddItemToObject(out, names[i], v ? cJSON_Duplicate(v, 1)
                                              : i < 2 ? cJSON_CreateObject()
                                                      : cJSON_CreateNumber(0));
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return out;
}

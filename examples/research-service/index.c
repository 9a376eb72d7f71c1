/* research-service: the status index, a second read path (GET
 * /index/{id}) beside the record itself (GET /jobs/{id}), enabled by
 * --index.  Seed 003's migration reads from the old structure or the new
 * one behind a flag, and both must agree at every moment: here every store
 * write updates the index under one lock held across the write and the
 * index update, and the index's readers take that lock, so a read of either
 * path that starts after a read of the other ended sees the same version
 * or a newer one.  --break index-late updates the index 15 ms after the
 * write, outside the lock (the other path is behind in that window).
 *
 * The index is a cache of summaries {id, status, processing_state,
 * version, _updated_at} in a fixed table: a miss (first read, a slot taken
 * by another id, a restarted service) loads the record from the store. */
#include "svc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_SLOTS 1024

static struct {
    char id[48];
    char *summary;   /* malloc'd JSON text */
} slots[INDEX_SLOTS];
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_of(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % INDEX_SLOTS;
}

/* The summary of a record's JSON text, malloc'd, or NULL (not an object). */
static char *summarize(const char *id, const char *json)
{
    static const char *const keep[] = {"status", "processing_state", "version", "_updated_at"};
    cJSON *rec = cJSON_Parse(json), *o = cJSON_IsObject(rec) ? cJSON_CreateObject() : NULL;
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "id", id)) {
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keep[i]);
            if (v)
                cJSON_AddItemToObject(o, keep[i], cJSON_Duplicate(v, 1));
        }
        text = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    cJSON_Delete(rec);
    return text;
}

/* Put id's summary; the caller holds index_lock. */
static void put_locked(const char *id, const char *json)
{
    char *s = summarize(id, json);
    unsigned i = slot_of(id);
    if (!s || strlen(id) >= sizeof slots[i].id) {
        free(s);
        return;
    }
    free(slots[i].summary);
    snprintf(slots[i].id, sizeof slots[i].id, "%s", id);
    slots[i].summary = s;
}

void rs_index_write_begin(void)
{
    if (rs_opt.index && !(rs_opt.breaks & RS_BREAK_INDEX_LATE))
        pthread_mutex_lock(&index_lock);
}

void rs_index_write_end(const char *id, const char *json, int written)
{
    if (!rs_opt.index)
        return;
    if (rs_opt.breaks & RS_BREAK_INDEX_LATE) {
        if (!written)
            return;
        rs_sleep_ms(15);
        pthread_mutex_lock(&index_lock);
    }
    if (written)
        put_locked(id, json);
    pthread_mutex_unlock(&index_lock);
}

int rs_index_get(const char *id, char **summary_out, char *why, size_t why_len)
{
    unsigned i = slot_of(id);
    int rc = 0;
    *summary_out = NULL;
    pthread_mutex_lock(&index_lock);
    if (!slots[i].summary || strcmp(slots[i].id, id) != 0) {
        char *json = NULL;
        rc = rs_store_get(id, &json, why, why_len);
        if (rc == 0)
            put_locked(id, json);
        free(json);
    }
    if (rc == 0 && slots[i].summary && strcmp(slots[i].id, id) == 0)
        *summary_out = strdup(slots[i].summary);
    else if (rc == 0) {
        snprintf(why, why_len, "record %s is not a JSON object", id);
        rc = -1;
    }
    pthread_mutex_unlock(&index_lock);
    return rc;
}

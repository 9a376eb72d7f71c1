/* Fuzz harness: event-channel payloads (targets/http/http_events.c): byte 0
 * picks WebSocket (one message, spec 0) or Server-Sent Events (a stream,
 * spec 1) and byte 1 the size of the pieces the stream arrives in.
 * Invariant: every queued event is {"type": completed|failed|progress|
 * invalid, "raw": ..., "t_ns": number}. */
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "http_common.h"

static struct http_spec specs[2];

int fuzz_init(void)
{
    return fuzz_http_specs(specs);
}

static void check_event(const cJSON *ev)
{
    static const char *const types[] = {"completed", "failed", "progress", "invalid"};
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    int ok = 0;

    for (int i = 0; cJSON_IsString(type) && i < 4; i++)
        ok |= strcmp(type->valuestring, types[i]) == 0;
    if (!ok || !cJSON_GetObjectItemCaseSensitive(ev, "raw") ||
        !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "t_ns")))
        fuzz_fail("malformed event from the receive path");
}

int fuzz_one(const uint8_t *data, size_t len)
{
    int sse = len > 0 && (data[0] & 1);
    size_t piece = len > 1 ? data[1] % 17 : 0, skip = len < 2 ? len : 2;
    cJSON *events = NULL, *ev;

    if (http_events_feed(&specs[sse], sse, (const char *)data + skip, len - skip, piece,
                         &events) != 0)
        return 0;
    if (!cJSON_IsArray(events))
        fuzz_fail("http_events_feed returned no array");
    if (!sse && cJSON_GetArraySize(events) != 1)
        fuzz_fail("one WebSocket message became %d events", cJSON_GetArraySize(events));
    cJSON_ArrayForEach(ev, events)
    {
        check_event(ev);
    }
    cJSON_Delete(events);
    return 0;
}

/* Fuzz harness: toxics given to the TCP fault proxy (harness/proxy/proxy.c): the
 * JSON bodies its Toxiproxy-compatible API accepts (torn_proxy_toxic_add,
 * then _update with the same object) and the command-line form
 * (torn_proxy_toxic_parse).  Byte 0 picks: even = JSON body, odd = the
 * command-line string.  Invariant: an accepted toxic is listed by
 * torn_proxy_toxics_json and removable; a refused one has a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "proxy/proxy.h"

static struct torn_proxy *proxy;

static void cleanup(void)
{
    torn_proxy_free(proxy);
}

int fuzz_init(void)
{
    struct torn_err err = {0};

    /* listens on a free loopback port; nothing ever connects */
    if (torn_proxy_new("fuzz", "127.0.0.1:0", "127.0.0.1:9", 1, 0, &proxy, &err) != 0) {
        fprintf(stderr, "fuzz/proxy_toxic: %s\n", err.msg);
        return 1;
    }
    atexit(cleanup);
    return 0;
}

static void add_json(const cJSON *toxic)
{
    cJSON *out = NULL, *list;
    struct torn_err err = {0};
    const char *name;

    if (torn_proxy_toxic_add(proxy, toxic, &out, &err) != 0) {
        if (out || !err.msg[0])
            fuzz_fail("toxic_add failed (%d) without a message or with a toxic", err.code);
        return;
    }
    name = out ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "name")) : NULL;
    if (!name)
        fuzz_fail("accepted toxic has no name");
    list = torn_proxy_toxics_json(proxy);
    if (cJSON_GetArraySize(list) < 1)
        fuzz_fail("accepted toxic is not listed");
    cJSON_Delete(list);
    cJSON *upd = NULL;
    if (torn_proxy_toxic_update(proxy, name, toxic, &upd, &err) == 0 && !upd)
        fuzz_fail("update succeeded without a toxic");
    cJSON_Delete(upd);
    if (torn_proxy_toxic_remove(proxy, name) != 0)
        fuzz_fail("accepted toxic '%s' cannot be removed", name);
    cJSON_Delete(out);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    char *s;
    cJSON *toxic = NULL;
    struct torn_err err = {0};

    if (len == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        toxic = cJSON_ParseWithLength((const char *)data + 1, len - 1);
        if (toxic)
            add_json(toxic);
    } else if ((s = malloc(len)) != NULL) {
        memcpy(s, data + 1, len - 1);
        s[len - 1] = 0;
        if (torn_proxy_toxic_parse(s, &toxic, &err) == 0) {
            if (!toxic)
                fuzz_fail("toxic_parse succeeded without a toxic");
            add_json(toxic);
        } else if (toxic || !err.msg[0]) {
            fuzz_fail("toxic_parse failed without a message");
        }
        free(s);
    }
    cJSON_Delete(toxic);
    torn_proxy_toxics_clear(proxy);
    return 0;
}

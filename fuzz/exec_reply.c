/* Fuzz harness: exec-adapter reply lines (targets/exec.c: parse_reply and
 * adapter_error through exec_reply_parse).  The input is split into lines;
 * each is a reply to request 5.  Invariant: 0 gives an object reply with
 * ok:true, 1 (a stale reply) nothing, an error a message and no reply. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"

int exec_reply_parse(const char *line, long long id, cJSON **reply_out, struct torn_err *err);

int fuzz_init(void)
{
    return 0;
}

static void one_line(const char *line)
{
    cJSON *reply = NULL;
    struct torn_err err = {0};
    int rc = exec_reply_parse(line, 5, &reply, &err);

    if (rc == 0) {
        if (!cJSON_IsObject(reply) ||
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")))
            fuzz_fail("accepted a reply that is not {ok:true}");
    } else if (reply || (rc != 1 && !err.msg[0])) {
        fuzz_fail("exec_reply_parse: rc %d, reply %p, msg '%s'", rc, (void *)reply, err.msg);
    }
    cJSON_Delete(reply);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    char *buf = malloc(len + 1), *line, *save = NULL;

    if (!buf)
        return 0;
    memcpy(buf, data, len);
    buf[len] = 0;   /* recv_line hands parse_reply NUL-terminated lines */
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        one_line(line);
    free(buf);
    return 0;
}

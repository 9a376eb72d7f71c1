/* See http_common.h. */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "http_common.h"

static const char *const spec_text[2] = {
    "{\"create\":{\"method\":\"POST\",\"path\":\"/research\",\"body\":{\"query\":\"q {n}\"},"
    "\"id\":\"/research_id\"},"
    "\"read\":{\"method\":\"GET\",\"path\":\"/research/results/{id}\",\"record\":\"\","
    "\"fields\":{\"status\":\"/status\",\"results\":\"/results\",\"version\":\"/version\","
    "\"_updated_at\":\"/_updated_at\",\"error\":\"/error\"}},"
    "\"update\":{\"method\":\"PATCH\",\"path\":\"/research/{id}\",\"body\":\"{patch}\"},"
    "\"events\":{\"kind\":\"websocket\",\"url\":\"/ws/research/{id}\",\"type\":\"/type\","
    "\"completed\":[\"RESEARCH_COMPLETED\"],\"failed\":[\"RESEARCH_FAILED\"]}}",
    "{\"create\":{\"method\":\"POST\",\"path\":\"/jobs\",\"id\":\"/job/id\"},"
    "\"read\":{\"method\":\"GET\",\"path\":\"/jobs/{id}\",\"record\":\"/data/job\","
    "\"fields\":{\"status\":\"/state/name\",\"version\":\"/meta/rev\",\"id\":\"/key\"}},"
    "\"events\":{\"kind\":\"sse\",\"url\":\"/jobs/{id}/events\",\"type\":\"/event/kind\","
    "\"completed\":[\"done\",\"ok\"],\"failed\":[\"error\"]}}",
};

static cJSON *roots[2];   /* kept for the process's life: the specs point into them */

int fuzz_http_specs(struct http_spec sp[2])
{
    for (int i = 0; i < 2; i++) {
        struct torn_err err = {0};
        if (!roots[i])
            roots[i] = cJSON_Parse(spec_text[i]);
        if (!roots[i] || http_spec_parse(roots[i], "(fuzz spec)", &sp[i], &err) != 0) {
            fprintf(stderr, "fuzz: built-in HTTP spec %d refused: %s\n", i, err.msg);
            return 1;
        }
    }
    return 0;
}

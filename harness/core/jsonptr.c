/* torn: RFC 6901 JSON pointers (jsonptr.h). */
#include "jsonptr.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

int torn_json_pointer_valid(const char *ptr)
{
    if (!ptr)
        return 0;
    if (*ptr && *ptr != '/')
        return 0;
    for (const char *p = ptr; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return 0;
    return 1;
}

const cJSON *torn_json_pointer(const cJSON *root, const char *ptr)
{
    const cJSON *cur = root;
    char tok[256];
    if (!root || !torn_json_pointer_valid(ptr))
        return NULL;
    while (cur && *ptr == '/') {
        size_t n = 0;
        for (ptr++; *ptr && *ptr != '/' && n + 1 < sizeof tok; ptr++) {
            if (*ptr == '~') {
                tok[n++] = ptr[1] == '1' ? '/' : '~';
                ptr++;
            } else {
                tok[n++] = *ptr;
            }
        }
        tok[n] = 0;
        if (cJSON_IsArray(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            cur = (*tok && !*end && i >= 0) ? cJSON_GetArrayItem(cur, (int)i) : NULL;
        } else {
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        }
    }
    return cur;
}

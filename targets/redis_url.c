/* torn: a Redis address (see redis_url.h), parsed with libcurl's URL parser. */
#include "redis_url.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

static int copy_part(CURLU *u, CURLUPart part, char *dst, size_t len)
{
    char *v = NULL;

    dst[0] = '\0';
    if (curl_url_get(u, part, &v, CURLU_URLDECODE) != CURLUE_OK || !v)
        return 0;
    snprintf(dst, len, "%s", v);
    curl_free(v);
    return 1;
}

int torn_redis_url_parse(const char *loc, const char *display, struct torn_redis_url *rc,
                         struct torn_err *err)
{
    char *url, port[16] = "", path[64];
    long long num = 0;
    CURLU *u = curl_url();
    int ok;

    memset(rc, 0, sizeof *rc);
    rc->port = 6379;
    url = strstr(loc, "://") ? strdup(loc) : torn_asprintf("redis://%s", loc);
    ok = u && url && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
    free(url);
    if (!ok) {
        curl_url_cleanup(u);
        return torn_err_set(err, TORN_E_CONFIG,
                            "target %s: not a Redis address (redis://[:PASS@]HOST:PORT[/DB])",
                            display);
    }
    copy_part(u, CURLUPART_HOST, rc->host, sizeof rc->host);
    if (rc->host[0] == '[') { /* an IPv6 literal: hiredis wants it bare */
        size_t n = strcspn(rc->host + 1, "]");
        memmove(rc->host, rc->host + 1, n);
        rc->host[n] = '\0';
    }
    copy_part(u, CURLUPART_USER, rc->user, sizeof rc->user);
    copy_part(u, CURLUPART_PASSWORD, rc->pass, sizeof rc->pass);
    if (copy_part(u, CURLUPART_PORT, port, sizeof port) &&
        torn_parse_int("port", port, 1, 65535, &num, NULL) == 0)
        rc->port = (int)num;
    else if (port[0])
        rc->port = 0;
    if (copy_part(u, CURLUPART_PATH, path, sizeof path) && path[0] == '/' && path[1]) {
        /* /DB: digits only (a database number, as redis-cli -n takes it). */
        if (torn_parse_int("database number", path + 1, 0, INT_MAX, &num, NULL) < 0)
            ok = 0;
        rc->db = (int)num;
    }
    curl_url_cleanup(u);
    if (!ok || !rc->host[0] || rc->port <= 0 || rc->port > 65535)
        return torn_err_set(err, TORN_E_CONFIG, "target %s: bad host, port or database number "
                            "(redis://[:PASS@]HOST:PORT[/DB], DB 0 to %d)", display, INT_MAX);
    return TORN_OK;
}

/* torn HTTP target, the lowest layer: URL templates and origins, growable buffers, a body-discarding write callback.  Used by
 * http.c (the ops table), http_events.c, http_service.c, http_contract.c
 * and http_log.c; it calls none of them, so they form no circle. */
#include "http_int.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"

/* ---- templates ---- */


/* Value of placeholder name (without braces) as text; NULL if unknown. */
static const char *var_text(const struct http_vars *v, const char *name, size_t len, char num[32])
{
    if (len == 2 && strncmp(name, "id", 2) == 0)
        return v->id;
    if (len == 2 && strncmp(name, "to", 2) == 0)
        return v->to;
    if (len == 7 && strncmp(name, "version", 7) == 0 && v->version >= 0) {
        snprintf(num, 32, "%lld", v->version);
        return num;
    }
    if (len == 1 && name[0] == 'n') {
        snprintf(num, 32, "%llu", (unsigned long long)v->n);
        return num;
    }
    if (len == 5 && strncmp(name, "group", 5) == 0)
        return v->group;
    if (len == 6 && strncmp(name, "member", 6) == 0)
        return v->member;
    if (len == 6 && strncmp(name, "amount", 6) == 0 && v->member && v->amount >= 0) {
        snprintf(num, 32, "%lld", v->amount);
        return num;
    }
    return NULL;
}

/* Does val hold a byte that URL escaping would change (anything but
 * RFC 3986's unreserved characters)?  Most ids do not: they are copied as
 * they are, without libcurl's allocation. */
static int needs_escape(const char *val)
{
    for (; *val; val++)
        if (!((*val >= 'a' && *val <= 'z') || (*val >= 'A' && *val <= 'Z') ||
              (*val >= '0' && *val <= '9') || strchr("-._~", *val)))
            return 1;
    return 0;
}

char *http_expand_text(const char *tmpl, const struct http_vars *v, int escape)
{
    size_t cap = strlen(tmpl) + 64, len = 0;
    char *out = malloc(cap), num[32];
    for (const char *p = tmpl; out && *p; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        const char *val = close ? var_text(v, p + 1, (size_t)(close - p - 1), num) : NULL;
        char *esc = val && escape && needs_escape(val) ? curl_easy_escape(NULL, val, 0) : NULL;
        const char *piece = esc ? esc : val;
        size_t plen = piece ? strlen(piece) : 1;
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(out);
                out = NULL;
                curl_free(esc);
                break;
            }
            out = nb;
        }
        memcpy(out + len, piece ? piece : p, plen);
        len += plen;
        if (piece)
            p = close;
        curl_free(esc);
    }
    if (out)
        out[len] = 0;
    return out;
}

char *http_expand_url(const char *base, const char *tmpl, const char *id)
{
    struct http_vars v = {.id = id, .version = -1};
    char *path = http_expand_text(tmpl, &v, 1);
    char *url = NULL;
    if (path && path[0] != '/')
        url = torn_strdup(path);
    else if (path)
        url = torn_asprintf("%s%s", base, path);
    free(path);
    return url;
}

/* "scheme://host:port" of url into out (ws counts as http, wss as https)
 * and its host into host; 0, or -1 when url is not an http(s)/ws(s) URL. */
static int url_origin(const char *url, char *out, size_t len, char *host, size_t host_len)
{
    char *scheme = NULL, *h = NULL, *port = NULL;
    int ws = strncasecmp(url, "ws://", 5) == 0 || strncasecmp(url, "wss://", 6) == 0;
    char *norm = ws ? torn_asprintf("http%s", url + 2) : torn_strdup(url);
    int rc = -1;
    CURLU *u = curl_url();
    if (u && norm && curl_url_set(u, CURLUPART_URL, norm, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
        snprintf(out, len, "%s://%s:%s", scheme, h, port);
        snprintf(host, host_len, "%s", h);
        rc = 0;
    }
    curl_free(scheme);
    curl_free(h);
    curl_free(port);
    curl_url_cleanup(u);
    free(norm);
    return rc;
}

int http_url_confine(const char *base, int allow_remote, const char *url, struct torn_err *err)
{
    char want[300], got[300], host[256], bhost[256];
    if (url_origin(url, got, sizeof got, host, sizeof host) != 0)
        return torn_err_set(err, TORN_E_CONFIG,
                            "spec URL %.200s: not an http(s)/ws(s) URL torn may request", url);
    if (url_origin(base, want, sizeof want, bhost, sizeof bhost) == 0 &&
        strcasecmp(want, got) == 0)
        return TORN_OK;
    /* Another origin than the target's: only what --target itself may be. */
    return torn_require_loopback(host, allow_remote, "spec URL outside the target's origin", err);
}

int http_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n, size_t max)
{
    if (n > max || *len > max - n)
        return TORN_E_PROTOCOL;
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return TORN_E_NOMEM;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
    return TORN_OK;
}

size_t http_discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

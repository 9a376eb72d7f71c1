/* torn HTTP target: event subscriptions.  WebSocket through the
 * libwebsockets 4.1 client (Debian's libcurl 7.88 has no ws://), Server-Sent
 * Events through libcurl's write callback on a multi handle.  Both are
 * driven only from next_event/subscribe, on the caller's thread, with every
 * wait bounded by a deadline. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http_int.h"
#include "core/parse.h"
#include "core/util.h"

#define MAX_MSG HTTP_MAX_EVENT

struct http_events {
    struct http_events_cfg cfg;    /* as the last subscribe gave it */
    struct lws_context *lws;
    lws_sorted_usec_list_t wake;   /* bounds each lws_service wait */
    CURLM *multi;
    struct torn_sub *subs;         /* live subscriptions */
};

struct torn_sub {
    struct http_events *ev;        /* NULL once the handle was closed */
    struct torn_sub *next;
    char url[320];
    int state;                     /* 0 connecting, 1 open, 2 closed */
    char why[200];                 /* why it closed or failed */
    struct lws *wsi;               /* WebSocket */
    CURL *easy;                    /* SSE */
    struct curl_slist *hdrs;
    char *buf;                     /* partial message / SSE stream */
    size_t len, cap;
    size_t scanned;                /* SSE: buf[0..scanned) holds no "\n\n" */
    uint64_t t_sub_ns, t_end_ns;   /* subscribed, closed or failed (0: not yet) */
    cJSON *queue;                  /* array of ready events */
};

/* ---- shared ---- */

static int value_in(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return 1;
    return 0;
}

/* Classify one message and queue {"type","raw","t_ns"}. */
static void deliver(struct torn_sub *s, const char *msg, size_t len)
{
    const struct http_events_cfg *cfg = &s->ev->cfg;
    cJSON *raw = cJSON_ParseWithLength(msg, len);
    const cJSON *tv = raw ? torn_json_pointer(raw, cfg->type_ptr) : NULL;
    const char *type = cJSON_IsString(tv) ? tv->valuestring : NULL;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", !raw                                            ? "invalid"
                                        : value_in(type, cfg->completed, cfg->n_completed) ? "completed"
                                        : value_in(type, cfg->failed, cfg->n_failed)       ? "failed"
                                                                                         : "progress");
    cJSON_AddItemToObject(ev, "raw", raw ? raw : cJSON_CreateString(""));
    if (!raw) {
        char *copy = strndup(msg, len < 200 ? len : 200);
        cJSON_ReplaceItemInObject(ev, "raw", cJSON_CreateString(copy ? copy : ""));
        free(copy);
    }
    cJSON_AddNumberToObject(ev, "t_ns", (double)torn_now_ns());
    cJSON_AddItemToArray(s->queue, ev);
}

/* The channel is over: remember why (the first reason wins) and when. */
static void sub_end(struct torn_sub *s, const char *why)
{
    if (!s->why[0])
        snprintf(s->why, sizeof s->why, "%s", why);
    if (!s->t_end_ns)
        s->t_end_ns = torn_now_ns();
    s->state = 2;
}

/* Append to the pending message; on overflow end the channel naming the
 * limit (what, e.g. "a WebSocket message"), -1. */
static int append(struct torn_sub *s, const void *data, size_t len, const char *what)
{
    char why[120];
    int rc = http_buf_append(&s->buf, &s->len, &s->cap, data, len, MAX_MSG);
    if (rc == 0)
        return 0;
    snprintf(why, sizeof why, rc == TORN_E_NOMEM ? "out of memory" : "%s over %u bytes: refused",
             what, (unsigned)MAX_MSG);
    sub_end(s, why);
    return -1;
}

/* ---- WebSocket ---- */

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct torn_sub *s = user;
    if (!s)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        sub_end(s, in ? (const char *)in : "connection error");
        s->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        s->state = 1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (append(s, in, len, "a WebSocket message") != 0)
            return -1;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            deliver(s, s->buf, s->len);
            s->len = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        sub_end(s, "closed by the server");
        s->wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols ws_protocols[] = {
    {"torn-events", ws_callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void wake_cb(lws_sorted_usec_list_t *sul)
{
    (void)sul;
}

static int ws_context(struct http_events *ev, struct torn_err *err)
{
    if (ev->lws)
        return 0;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    lws_set_log_level(0, NULL);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ws_protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.fd_limit_per_thread = 256;
    ev->lws = lws_create_context(&info);
    return ev->lws ? 0 : torn_err_set(err, TORN_E_ENV, "libwebsockets: cannot create a context");
}

/* Service lws for at most ms. */
static void ws_pump(struct http_events *ev, int ms)
{
    lws_sul_schedule(ev->lws, 0, &ev->wake, wake_cb, (lws_usec_t)ms * 1000);
    lws_service(ev->lws, 0);
}

static int ws_connect(struct http_events *ev, struct torn_sub *s, struct torn_err *err)
{
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *scheme = NULL;
    long long port_n = 0;
    int rc = ws_context(ev, err);
    CURLU *u = curl_url();
    if (!rc && (!u || curl_url_set(u, CURLUPART_URL, s->url, 0) != CURLUE_OK ||
                curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
                curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
                curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK))
        rc = torn_err_set(err, TORN_E_CONFIG, "event URL %s: not a valid URL", s->url);
    if (!rc && torn_parse_int("port", port, 1, 65535, &port_n, NULL) < 0)
        rc = torn_err_set(err, TORN_E_CONFIG, "event URL %s: port must be 1 to 65535", s->url);
    if (!rc && (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0))
        rc = torn_err_set(err, TORN_E_UNSUPPORTED, "event URL %s: TLS WebSocket not supported",
                          s->url);
    if (!rc) {
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        char full[400];
        snprintf(full, sizeof full, "%s%s%s", path ? path : "/", query ? "?" : "",
                 query ? query : "");
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = ev->lws;
        ci.address = host;
        ci.port = (int)port_n;
        ci.path = full;
        ci.host = host;
        ci.origin = host;
        ci.local_protocol_name = "torn-events";
        ci.userdata = s;
        ci.pwsi = &s->wsi;
        if (!lws_client_connect_via_info(&ci) && s->state != 2)
            sub_end(s, "cannot start the connection");
    }
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* ---- Server-Sent Events ---- */

/* Deliver the SSE event in ev[0..len) (LF line ends): its data lines
 * joined with LF, if any. */
static void sse_event(struct torn_sub *s, char *ev, size_t len)
{
    char *data = NULL;
    size_t dl = 0, cap = 0;
    ev[len] = 0;
    for (char *line = ev, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        if (strncmp(line, "data:", 5) != 0)
            continue;
        const char *d = line[5] == ' ' ? line + 6 : line + 5;
        if ((dl && http_buf_append(&data, &dl, &cap, "\n", 1, MAX_MSG) != 0) ||
            http_buf_append(&data, &dl, &cap, d, strlen(d), MAX_MSG) != 0)
            break;   /* cannot happen: the event itself is within MAX_MSG */
    }
    if (dl)
        deliver(s, data, dl);
    free(data);
}

/* Split complete SSE events ("\n\n"-terminated) out of s->buf, scanning
 * each byte once. */
static void sse_parse(struct torn_sub *s)
{
    size_t start = 0, i = s->scanned ? s->scanned - 1 : 0;
    for (; i + 1 < s->len; i++) {
        if (s->buf[i] != '\n' || s->buf[i + 1] != '\n')
            continue;
        sse_event(s, s->buf + start, i - start);
        start = i + 2;
        i++;
    }
    if (start) {
        memmove(s->buf, s->buf + start, s->len - start + 1);
        s->len -= start;
    }
    s->scanned = s->len;
}

static size_t sse_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct torn_sub *s = arg;
    size_t n = size * nmemb, from = 0;
    for (size_t i = 0; i <= n; i++) {   /* normalise CRLF to LF: skip every CR */
        if (i < n && data[i] != '\r')
            continue;
        if (i > from && append(s, data + from, i - from, "an SSE event"))
            return 0;
        from = i + 1;
    }
    s->state = s->state == 2 ? 2 : 1;
    sse_parse(s);
    return n;
}

static void sse_pump(struct http_events *ev, int ms)
{
    int running = 0, left;
    curl_multi_perform(ev->multi, &running);
    curl_multi_poll(ev->multi, NULL, 0, ms, NULL);
    curl_multi_perform(ev->multi, &running);
    CURLMsg *m;
    while ((m = curl_multi_info_read(ev->multi, &left))) {
        struct torn_sub *s = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (!s)
            continue;
        long code = 0;
        char why[200];
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        snprintf(why, sizeof why, "stream ended (HTTP %ld): %s", code,
                 curl_easy_strerror(m->data.result));
        sub_end(s, why);   /* keeps an earlier, more precise reason */
    }
}

static int sse_connect(struct http_events *ev, struct torn_sub *s, struct torn_err *err)
{
    if (!ev->multi && !(ev->multi = curl_multi_init()))
        return torn_err_set(err, TORN_E_NOMEM, "curl_multi_init failed");
    s->easy = curl_easy_init();
    if (!s->easy)
        return torn_err_set(err, TORN_E_NOMEM, "curl_easy_init failed");
    s->hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)ev->cfg.timeout_ms);
    curl_easy_setopt(s->easy, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_multi_add_handle(ev->multi, s->easy);
    return 0;
}

/* ---- subscriptions ---- */

static void pump(const struct torn_sub *s, int ms)
{
    if (s->easy)
        sse_pump(s->ev, ms);
    else
        ws_pump(s->ev, ms);
}

static int ms_left(uint64_t deadline)
{
    uint64_t now = torn_now_ns();
    return now >= deadline ? 0 : (int)((deadline - now) / 1000000) + 1;
}

void http_events_cfg_spec(const struct http_spec *sp, struct http_events_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = sp->events_url;
    cfg->sse = sp->events_sse;
    cfg->type_ptr = sp->type_ptr;
    cfg->completed = sp->completed;
    cfg->n_completed = sp->n_completed;
    cfg->failed = sp->failed;
    cfg->n_failed = sp->n_failed;
}

/* A new subscription to url (expanded from cfg's template), confined to
 * the target's origin; not yet connected or linked. */
static int sub_new(const struct http_events_cfg *cfg, const char *id, struct torn_sub **out,
                   struct torn_err *err)
{
    struct torn_sub *s = calloc(1, sizeof *s);
    char *url = http_expand_url(cfg->base, cfg->url, id);
    int n, rc;

    *out = NULL;
    if (!s || !url || !(s->queue = cJSON_CreateArray())) {
        free(s);
        free(url);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    n = snprintf(s->url, sizeof s->url, "%s", url);
    rc = n < 0 || (size_t)n >= sizeof s->url
             ? torn_err_set(err, TORN_E_CONFIG, "event channel %.200s...: URL too long", url)
             : http_url_confine(cfg->base, cfg->allow_remote, url, err);
    free(url);
    if (rc) {
        cJSON_Delete(s->queue);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int http_subscribe(struct http_events **evp, const struct http_events_cfg *cfg, const char *id,
                   struct torn_sub **sub_out, struct torn_err *err)
{
    struct http_events *ev;
    struct torn_sub *s;
    int rc;

    *sub_out = NULL;
    if (!cfg->url)
        return torn_err_set(err, TORN_E_UNSUPPORTED, "target spec declares no events channel");
    if (!*evp && !(*evp = calloc(1, sizeof **evp)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    ev = *evp;
    ev->cfg = *cfg;
    if ((rc = sub_new(cfg, id, &s, err)) != 0)
        return rc;
    s->ev = ev;
    s->t_sub_ns = torn_now_ns();
    s->next = ev->subs;
    ev->subs = s;
    rc = cfg->sse ? sse_connect(ev, s, err) : ws_connect(ev, s, err);
    uint64_t deadline = torn_now_ns() + (uint64_t)cfg->timeout_ms * 1000000u;
    while (!rc && s->state == 0 && ms_left(deadline) > 0 && !torn_stop_requested())
        pump(s, ms_left(deadline) < 50 ? ms_left(deadline) : 50);
    if (!rc && s->state != 1 && cJSON_GetArraySize(s->queue) == 0)
        rc = s->state == 2 ? torn_err_set(err, TORN_E_CONNECT, "event channel %s: %s", s->url,
                                          s->why)
                           : torn_err_set(err, TORN_E_TIMEOUT,
                                          "event channel %s: not open after %d ms", s->url,
                                          cfg->timeout_ms);
    if (rc) {
        http_unsubscribe(s);
        return rc;
    }
    *sub_out = s;
    return 0;
}

int http_next_event(struct torn_sub *s, int timeout_ms, cJSON **event_out, struct torn_err *err)
{
    *event_out = NULL;
    if (!s || !s->ev)
        return torn_err_set(err, TORN_E_USAGE, "next_event on a closed subscription");
    uint64_t deadline = torn_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    while (cJSON_GetArraySize(s->queue) == 0 && s->state != 2 && ms_left(deadline) > 0 &&
           !torn_stop_requested())
        pump(s, ms_left(deadline) < 100 ? ms_left(deadline) : 100);
    if (cJSON_GetArraySize(s->queue) > 0) {
        *event_out = cJSON_DetachItemFromArray(s->queue, 0);
        return 0;
    }
    if (torn_stop_requested())
        return torn_err_set(err, TORN_E_INTERRUPTED, "interrupted");
    if (s->state == 2)
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "event channel %s failed %.0f ms after subscribing: %s", s->url,
                            (double)((s->t_end_ns ? s->t_end_ns : torn_now_ns()) - s->t_sub_ns) /
                                1e6,
                            s->why);
    return torn_err_set(err, TORN_E_TIMEOUT, "event channel %s: no event within %d ms", s->url,
                        timeout_ms);
}

/* Stop the transport of s (keeps s allocated). */
static void sub_stop(struct http_events *ev, struct torn_sub *s)
{
    if (s->wsi) {
        struct lws *w = s->wsi;
        lws_set_timeout(w, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
        s->wsi = NULL;
    }
    if (s->easy) {
        curl_multi_remove_handle(ev->multi, s->easy);
        curl_easy_cleanup(s->easy);
        s->easy = NULL;
    }
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    s->state = 2;
}

void http_unsubscribe(struct torn_sub *s)
{
    if (!s)
        return;
    if (s->ev) {
        sub_stop(s->ev, s);
        for (struct torn_sub **pp = &s->ev->subs; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
    }
    cJSON_Delete(s->queue);
    free(s->buf);
    free(s);
}

void http_events_close(struct http_events **evp)
{
    struct http_events *ev = *evp;
    if (!ev)
        return;
    for (struct torn_sub *s = ev->subs; s; s = s->next) {
        sub_stop(ev, s);
        s->ev = NULL;   /* orphaned: unsubscribe only frees it */
    }
    if (ev->lws)
        lws_context_destroy(ev->lws);
    if (ev->multi)
        curl_multi_cleanup(ev->multi);
    free(ev);
    *evp = NULL;
}

/* ---- fuzzing entry point (fuzz/http_events.c) ---- */

int http_events_feed(const struct http_spec *sp, int sse, const char *data, size_t len,
                     size_t piece, cJSON **events_out)
{
    struct http_events ev;
    struct torn_sub s;

    *events_out = NULL;
    memset(&ev, 0, sizeof ev);
    memset(&s, 0, sizeof s);
    http_events_cfg_spec(sp, &ev.cfg);
    s.ev = &ev;
    if (!(s.queue = cJSON_CreateArray()))
        return TORN_E_NOMEM;
    if (!sse)
        deliver(&s, data, len);
    for (size_t off = 0; sse && off < len; off += piece ? piece : len) {
        size_t n = piece && len - off > piece ? piece : len - off;
        if (sse_write((char *)data + off, 1, n, &s) != n)
            break;
    }
    free(s.buf);
    *events_out = s.queue;
    return 0;
}

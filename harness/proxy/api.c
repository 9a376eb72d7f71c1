/* torn: the Toxiproxy-compatible control API of `torn proxy` (libmicrohttpd)
 * and a small client for it (libcurl).  Subset served:
 *   GET /version, GET /metrics, GET|POST /proxies, POST /populate, POST /reset,
 *   GET|POST|DELETE /proxies/{p}, GET|POST /proxies/{p}/toxics,
 *   GET|POST|DELETE /proxies/{p}/toxics/{t}
 * with Toxiproxy's JSON shapes and status codes (201 created, 204 deleted,
 * 404 {"error","status"}, 409 exists).
 *
 * Guards: a web page must not drive the API (a browser on the same machine
 * reaches 127.0.0.1 too): like Toxiproxy, a request whose User-Agent starts
 * with "Mozilla/" gets 403, and so does any request carrying an Origin
 * header (browsers send it on cross-site requests; API clients do not).
 * Connections are bounded (API_MAX_CONNS, epoll: no FD_SETSIZE ceiling) and
 * an idle one is closed after API_IDLE_S, so held connections cannot starve
 * the API for long (3,000 held connections used to make /version fail). */
#include "proxy.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "core/version.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

#define MAX_PROXIES 64
#define MAX_BODY (1u << 20)
#define API_MAX_CONNS 4096u    /* lowered to a quarter of RLIMIT_NOFILE */
#define API_IDLE_S 10u

struct torn_proxy_api {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    struct torn_proxy *proxies[MAX_PROXIES];
    int n;
    uint64_t seed;
    int allow_remote;
    int port;
};

struct body {
    char *buf;
    size_t len;
};

/* Send text (malloc'd, taken; NULL = empty body) as type. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, char *text,
                                  const char *type)
{
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

    cJSON_Delete(obj);
    return reply_text(c, status, text, "application/json");
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "status", status);
    return reply(c, status, o);
}

/* Label value escaped for the Prometheus text format (\\, \", \n). */
static void prom_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

/* GET /metrics, in the Prometheus text format: Toxiproxy's proxy metrics
 * under its names and labels (toxiproxy_proxy_received_bytes_total and
 * toxiproxy_proxy_sent_bytes_total {direction, listener, proxy, upstream},
 * what its -proxy-metrics flag serves), and torn's count of connections
 * accepted. */
static void metric_family(FILE *f, const char *name, const char *help,
                          const struct torn_proxy_counts *cs, const char *const *names, int n,
                          int which)
{
    static const char *const dir[2] = {"upstream", "downstream"};

    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < (which == 2 ? 1 : 2); d++) {
            const struct torn_proxy_counts *c = &cs[i];
            fprintf(f, "%s{", name);
            if (which != 2) {
                fprintf(f, "direction=\"%s\",listener=\"", dir[d]);
                prom_label(f, c->listen);
                fputs("\",", f);
            }
            fputs("proxy=\"", f);
            prom_label(f, names[i]);
            if (which != 2) {
                fputs("\",upstream=\"", f);
                prom_label(f, c->upstream);
            }
            fprintf(f, "\"} %llu\n",
                    (unsigned long long)(which == 0   ? c->received[d]
                                         : which == 1 ? c->sent[d]
                                                      : c->conns));
        }
}

static enum MHD_Result route_metrics(struct MHD_Connection *c, struct torn_proxy_api *a)
{
    struct torn_proxy_counts *cs = calloc((size_t)a->n + 1, sizeof *cs);
    const char **names = calloc((size_t)a->n + 1, sizeof *names);
    char *text = NULL;
    size_t len = 0;
    FILE *f = cs && names ? open_memstream(&text, &len) : NULL;

    if (!f) {
        free(cs);
        free(names);
        return reply_error(c, 500, "out of memory");
    }
    for (int i = 0; i < a->n; i++) {
        torn_proxy_counters(a->proxies[i], &cs[i]);
        names[i] = torn_proxy_name(a->proxies[i]);
    }
    metric_family(f, "toxiproxy_proxy_received_bytes_total",
                  "Bytes received on a proxy link, upstream = from the client.", cs, names, a->n,
                  0);
    metric_family(f, "toxiproxy_proxy_sent_bytes_total",
                  "Bytes sent on a proxy link after its toxics, upstream = to the server.", cs,
                  names, a->n, 1);
    metric_family(f, "torn_proxy_connections_total", "Connections the proxy accepted.", cs, names,
                  a->n, 2);
    free(cs);
    free(names);
    if (fclose(f) != 0) {
        free(text);
        return reply_error(c, 500, "out of memory");
    }
    return reply_text(c, 200, text, "text/plain; version=0.0.4; charset=utf-8");
}

static int find(struct torn_proxy_api *a, const char *name)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(torn_proxy_name(a->proxies[i]), name) == 0)
            return i;
    return -1;
}

static void drop(struct torn_proxy_api *a, int i)
{
    torn_proxy_free(a->proxies[i]);
    a->proxies[i] = a->proxies[--a->n];
}

/* Create proxy from {name, listen, upstream, enabled}; 0 or a status code
 * with msg. */
static unsigned create_proxy(struct torn_proxy_api *a, const cJSON *j, int replace,
                             struct torn_proxy **out, char *msg, size_t msg_len)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"));
    const char *listen = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "listen"));
    const char *up = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "upstream"));
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(j, "enabled");
    struct torn_err err;
    if (!name || !*name || !up) {
        snprintf(msg, msg_len, "missing required field: %s", !name || !*name ? "name" : "upstream");
        return 400;
    }
    int i = find(a, name);
    if (i >= 0 && !replace) {
        snprintf(msg, msg_len, "proxy already exists");
        return 409;
    }
    if (i >= 0)
        drop(a, i);
    if (a->n == MAX_PROXIES) {
        snprintf(msg, msg_len, "too many proxies");
        return 400;
    }
    if (torn_proxy_new(name, listen && *listen ? listen : "127.0.0.1:0", up, a->seed,
                       a->allow_remote, out, &err) != 0) {
        snprintf(msg, msg_len, "%s", err.msg);
        return 400;
    }
    if (cJSON_IsFalse(en))
        torn_proxy_set_enabled(*out, 0, NULL);
    a->proxies[a->n++] = *out;
    return 0;
}

/* Create (or replace) every proxy of the array body, as /populate and a
 * start-up config do; list (may be NULL) gets each one's JSON.  0, or an
 * HTTP status with msg naming the proxy. */
static unsigned populate(struct torn_proxy_api *a, const cJSON *body, cJSON *list, char *msg,
                         size_t msg_len)
{
    const cJSON *e;

    if (!cJSON_IsArray(body)) {
        snprintf(msg, msg_len, "populate: body must be an array of proxies");
        return 400;
    }
    cJSON_ArrayForEach(e, body)
    {
        struct torn_proxy *p;
        char why[200];
        unsigned st = create_proxy(a, e, 1, &p, why, sizeof why);
        if (st) {
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
            snprintf(msg, msg_len, "proxy %s: %s", name ? name : "(unnamed)", why);
            return st;
        }
        if (list)
            cJSON_AddItemToArray(list, torn_proxy_json(p, 1));
    }
    return 0;
}

static enum MHD_Result route_populate(struct MHD_Connection *c, struct torn_proxy_api *a,
                                      const cJSON *body)
{
    char msg[256];
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "proxies");
    unsigned st = populate(a, body, list, msg, sizeof msg);

    if (st) {
        cJSON_Delete(out);
        return reply_error(c, st, msg);
    }
    return reply(c, 201, out);
}

int torn_proxy_api_populate(struct torn_proxy_api *a, const cJSON *proxies, struct torn_err *err)
{
    char msg[256];
    unsigned st;

    pthread_mutex_lock(&a->mu);
    st = populate(a, proxies, NULL, msg, sizeof msg);
    pthread_mutex_unlock(&a->mu);
    return st ? torn_err_set(err, TORN_E_CONFIG, "%s", msg) : 0;
}

static enum MHD_Result route_toxic(struct MHD_Connection *c, struct torn_proxy *p,
                                   const char *method, const char *tname, const cJSON *body)
{
    struct torn_err err;
    cJSON *t = NULL;
    if (!tname && strcmp(method, "GET") == 0)
        return reply(c, 200, torn_proxy_toxics_json(p));
    if (!tname && strcmp(method, "POST") == 0) {
        /* An unnamed toxic is TYPE_STREAM: a second unnamed latency on the
         * same stream is a duplicate too (409, as Toxiproxy). */
        char n[64];
        cJSON *all = torn_proxy_toxics_json(p), *x;
        int exists = 0;
        torn_proxy_toxic_name(body, n, sizeof n);
        cJSON_ArrayForEach(x, all) exists |=
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "name")), n) == 0;
        cJSON_Delete(all);
        if (exists)
            return reply_error(c, 409, "toxic already exists");
        if (torn_proxy_toxic_add(p, body, &t, &err) != 0)
            return reply_error(c, 400, err.msg);
        return reply(c, 200, t);
    }
    if (tname && strcmp(method, "GET") == 0) {
        cJSON *all = torn_proxy_toxics_json(p), *x, *found = NULL;
        cJSON_ArrayForEach(x, all) if (!found && strcmp(cJSON_GetStringValue(
                                                     cJSON_GetObjectItemCaseSensitive(x, "name")),
                                                 tname) == 0) found = x;
        if (found)
            cJSON_DetachItemViaPointer(all, found);
        cJSON_Delete(all);
        return found ? reply(c, 200, found) : reply_error(c, 404, "toxic not found");
    }
    if (tname && (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0)) {
        int rc = torn_proxy_toxic_update(p, tname, body, &t, &err);
        return rc == 0                 ? reply(c, 200, t)
               : rc == TORN_E_NOTFOUND ? reply_error(c, 404, "toxic not found")
                                       : reply_error(c, 400, err.msg);
    }
    if (tname && strcmp(method, "DELETE") == 0)
        return torn_proxy_toxic_remove(p, tname) == 0 ? reply(c, 204, NULL)
                                                      : reply_error(c, 404, "toxic not found");
    return reply_error(c, 405, "method not allowed");
}

/* POST /proxies/{p}: listen, upstream, enabled, as Toxiproxy (other fields
 * ignored).  Disabling first, so a disabled proxy is never bound to a new
 * address; enabling last, on the new one. */
static enum MHD_Result update_proxy(struct MHD_Connection *c, struct torn_proxy *p,
                                    const cJSON *body)
{
    const char *listen = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "listen"));
    const char *up = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "upstream"));
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(body, "enabled");
    struct torn_err err;

    torn_err_clear(&err);
    if ((cJSON_IsFalse(en) && torn_proxy_set_enabled(p, 0, &err) != 0) ||
        torn_proxy_update(p, listen, up, &err) != 0 ||
        (cJSON_IsTrue(en) && torn_proxy_set_enabled(p, 1, &err) != 0))
        return reply_error(c, 400, err.msg);
    return reply(c, 200, torn_proxy_json(p, 1));
}

static enum MHD_Result route_proxy(struct MHD_Connection *c, struct torn_proxy_api *a,
                                   const char *method, const char *rest, const cJSON *body)
{
    char name[128];
    size_t n = strcspn(rest, "/");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), rest);
    int i = find(a, name);
    if (i < 0)
        return reply_error(c, 404, "proxy not found");
    struct torn_proxy *p = a->proxies[i];
    rest += n;
    if (strncmp(rest, "/toxics", 7) == 0 && (rest[7] == 0 || rest[7] == '/'))
        return route_toxic(c, p, method, rest[7] == '/' && rest[8] ? rest + 8 : NULL, body);
    if (*rest)
        return reply_error(c, 404, "not found");
    if (strcmp(method, "GET") == 0)
        return reply(c, 200, torn_proxy_json(p, 1));
    if (strcmp(method, "DELETE") == 0) {
        drop(a, i);
        return reply(c, 204, NULL);
    }
    if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0)
        return update_proxy(c, p, body);
    return reply_error(c, 405, "method not allowed");
}

static enum MHD_Result route(struct MHD_Connection *c, struct torn_proxy_api *a,
                             const char *method, const char *url, const cJSON *body)
{
    char msg[256];
    if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0)
        return route_metrics(c, a);
    if (strcmp(url, "/version") == 0)
        return reply(c, 200, cJSON_Parse("{\"version\":\"" TORN_VERSION "-torn\"}"));
    if (strcmp(url, "/reset") == 0 && strcmp(method, "POST") == 0) {
        for (int i = 0; i < a->n; i++) {
            torn_proxy_toxics_clear(a->proxies[i]);
            torn_proxy_set_enabled(a->proxies[i], 1, NULL);
        }
        return reply(c, 204, NULL);
    }
    if (strcmp(url, "/populate") == 0 && strcmp(method, "POST") == 0)
        return route_populate(c, a, body);
    if (strcmp(url, "/proxies") == 0 && strcmp(method, "GET") == 0) {
        cJSON *o = cJSON_CreateObject();
        for (int i = 0; i < a->n; i++)
            cJSON_AddItemToObject(o, torn_proxy_name(a->proxies[i]),
                                  torn_proxy_json(a->proxies[i], 1));
        return reply(c, 200, o);
    }
    if (strcmp(url, "/proxies") == 0 && strcmp(method, "POST") == 0) {
        struct torn_proxy *p;
        unsigned st = create_proxy(a, body, 0, &p, msg, sizeof msg);
        return st ? reply_error(c, st, msg) : reply(c, 201, torn_proxy_json(p, 1));
    }
    if (strncmp(url, "/proxies/", 9) == 0)
        return route_proxy(c, a, method, url + 9, body);
    return reply_error(c, 404, "not found");
}

/* Why a request is refused (a browser's), or NULL. */
static const char *refused(struct MHD_Connection *c)
{
    const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);

    if (ua && strncmp(ua, "Mozilla/", 8) == 0)
        return "User agent not allowed";
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN))
        return "cross-origin requests are not allowed";
    return NULL;
}

/* The connection bound: API_MAX_CONNS, at most a quarter of the descriptors
 * this process may open (the proxies need theirs).  Raises the soft
 * descriptor limit to the hard one first (at most 65536): the 1024 many
 * systems start with is too few for a proxy under load. */
static unsigned conn_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) {
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur / 4 >= API_MAX_CONNS)
        return API_MAX_CONNS;
    return rl.rlim_cur >= 64 ? (unsigned)(rl.rlim_cur / 4) : 16;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **con_cls)
{
    (void)version;
    struct torn_proxy_api *a = cls;
    struct body *b = *con_cls;
    if (!b) {
        const char *why = refused(c);
        if (why)
            return reply_error(c, 403, why); /* MHD discards any upload */
        *con_cls = b = calloc(1, sizeof *b);
        return b ? MHD_YES : MHD_NO;
    }
    if (*upload_len) {
        char *nb = b->len + *upload_len <= MAX_BODY ? realloc(b->buf, b->len + *upload_len + 1)
                                                    : NULL;
        if (!nb)
            return MHD_NO;
        memcpy(nb + b->len, upload, *upload_len);
        b->buf = nb;
        b->len += *upload_len;
        nb[b->len] = 0;
        *upload_len = 0;
        return MHD_YES;
    }
    /* Strict, as every JSON a person writes: a key given twice, or text
     * after the value, is refused (cJSON would silently take one). */
    cJSON *body = NULL;
    struct torn_err perr = {0};
    if (!b->len)
        body = cJSON_CreateObject();
    else if (torn_parse_json("request body", b->buf, b->len, &body, &perr) < 0)
        return reply_error(c, 400, perr.msg);
    if (!body)
        return reply_error(c, 400, "body is not valid JSON");
    pthread_mutex_lock(&a->mu);
    enum MHD_Result ret = route(c, a, method, url, body);
    pthread_mutex_unlock(&a->mu);
    cJSON_Delete(body);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct body *b = *con_cls;
    if (b) {
        free(b->buf);
        free(b);
        *con_cls = NULL;
    }
}

int torn_proxy_api_start(const char *listen, uint64_t seed, int allow_remote,
                         struct torn_proxy_api **out, struct torn_err *err)
{
    struct torn_proxy_api *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    char host[128], port_s[8];
    int rc = torn_proxy_split_addr(listen, host, sizeof host, port_s, sizeof port_s, "--api", err);
    if (rc != 0) {
        free(a);
        return rc;
    }
    int port = atoi(port_s); /* checked digits 0..65535 */
    if ((rc = torn_require_loopback(host, allow_remote, "proxy API address", err)) != 0) {
        free(a);
        return rc;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->seed = seed;
    a->allow_remote = allow_remote;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, a,
                            MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, API_IDLE_S,
                            MHD_OPTION_CONNECTION_LIMIT, conn_limit(), MHD_OPTION_END);
    if (!a->d) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return torn_err_set(err, TORN_E_ENV, "proxy API: cannot listen on 127.0.0.1:%d", port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info ? info->port : port;
    *out = a;
    return 0;
}

int torn_proxy_api_adopt(struct torn_proxy_api *a, struct torn_proxy *p, struct torn_err *err)
{
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    if (a->n == MAX_PROXIES || find(a, torn_proxy_name(p)) >= 0)
        rc = torn_err_set(err, TORN_E_CONFIG, "proxy %s: duplicate name or too many proxies",
                          torn_proxy_name(p));
    else
        a->proxies[a->n++] = p;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int torn_proxy_api_port(const struct torn_proxy_api *a)
{
    return a->port;
}

void torn_proxy_api_stop(struct torn_proxy_api *a)
{
    if (!a)
        return;
    MHD_stop_daemon(a->d);
    while (a->n > 0)
        drop(a, a->n - 1);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* ---- client ---- */

static size_t sink(char *d, size_t s, size_t n, void *arg)
{
    (void)d;
    (void)arg;
    return s * n;
}

/* One request to the control API: 0 and *status_out, or an error. */
static int api_call(const char *method, const char *url, const char *body, int timeout_ms,
                    long *status_out, struct torn_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c || !h) {
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    CURLcode cc = curl_easy_perform(c);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = torn_err_set(err, cc == CURLE_COULDNT_CONNECT ? TORN_E_CONNECT : TORN_E_IO,
                          "proxy API %s %s: %s", method, url, curl_easy_strerror(cc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status_out);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

int torn_toxiproxy_remove(const char *api, const char *proxy, const char *name, int timeout_ms,
                          struct torn_err *err)
{
    long st = 0;
    char *url = torn_asprintf("%s/proxies/%s/toxics/%s", api, proxy, name);
    int rc = url ? api_call("DELETE", url, NULL, timeout_ms, &st, err)
                 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (!rc && st != 204 && st != 200 && st != 404)
        rc = torn_err_set(err, TORN_E_REMOTE, "proxy API DELETE %s: HTTP %ld", url, st);
    free(url);
    return rc;
}

int torn_toxiproxy_add(const char *api, const char *proxy, const cJSON *toxic, int timeout_ms,
                       struct torn_err *err)
{
    long st = 0;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(toxic, "name"));
    char *url = torn_asprintf("%s/proxies/%s/toxics", api, proxy);
    char *body = cJSON_PrintUnformatted(toxic);
    int rc = url && body ? 0 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (!rc && name)   /* replace a toxic of the same name */
        rc = torn_toxiproxy_remove(api, proxy, name, timeout_ms, err);
    if (!rc)
        rc = api_call("POST", url, body, timeout_ms, &st, err);
    if (!rc && st != 200 && st != 201)
        rc = torn_err_set(err, st == 404 ? TORN_E_CONFIG : TORN_E_REMOTE,
                          "proxy API POST %s: HTTP %ld%s", url, st,
                          st == 404 ? " (no such proxy)" : "");
    free(url);
    free(body);
    return rc;
}

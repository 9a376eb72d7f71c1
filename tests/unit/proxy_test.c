/* Unit tests of the fault proxy (harness/proxy/proxy.c) against a real echo
 * server on loopback: plain forwarding, latency, limit_data, reset_after,
 * half_close, slicer, toxicity 0, toxic parsing and JSON validation. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "check.h"
#include "core/err.h"
#include "proxy/proxy.h"
#include "core/util.h"

static int echo_fd = -1, echo_port;
static volatile int echo_stop;

static void *echo_conn(void *arg)
{
    int fd = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    shutdown(fd, SHUT_WR);   /* echo our EOF after the client's */
    close(fd);
    return NULL;
}

static void *echo_main(void *arg)
{
    (void)arg;
    while (!echo_stop) {
        struct pollfd p = {echo_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(echo_fd, NULL, NULL);
        pthread_t t;
        if (fd >= 0 && pthread_create(&t, NULL, echo_conn, (void *)(long)fd) == 0)
            pthread_detach(t);
    }
    return NULL;
}

static void echo_start(pthread_t *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    echo_fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(echo_fd, (struct sockaddr *)&a, sizeof a);
    listen(echo_fd, 16);
    getsockname(echo_fd, (struct sockaddr *)&a, &len);
    echo_port = ntohs(a.sin_port);
    pthread_create(t, NULL, echo_main, NULL);
}

static struct torn_proxy *proxy_with(const char *toxic)
{
    char up[64];
    struct torn_proxy *p = NULL;
    struct torn_err err;
    snprintf(up, sizeof up, "127.0.0.1:%d", echo_port);
    if (torn_proxy_new("t", "127.0.0.1:0", up, 42, 0, &p, &err) != 0) {
        CHECK(0, "proxy_new: %s", err.msg);
        return NULL;
    }
    if (toxic) {
        cJSON *j = NULL;
        int rc = torn_proxy_toxic_parse(toxic, &j, &err);
        CHECK(rc == 0, "parse %s: %s", toxic, err.msg);
        if (rc == 0)
            CHECK(torn_proxy_toxic_add(p, j, NULL, &err) == 0, "add %s: %s", toxic, err.msg);
        cJSON_Delete(j);
    }
    return p;
}

static int dial(struct torn_proxy *p)
{
    const char *addr = torn_proxy_listen_addr(p);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send len bytes, read until len bytes, EOF or error: bytes read, or -1
 * (reset) with *reset set. */
static long round_trip(int fd, size_t len, int *reset)
{
    char *buf = malloc(len);
    size_t got = 0;
    memset(buf, 'x', len);
    *reset = 0;
    if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
        *reset = 1;
    while (!*reset && got < len) {
        ssize_t n = recv(fd, buf, len - got, 0);
        if (n < 0)
            *reset = errno == ECONNRESET;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    free(buf);
    return (long)got;
}

static void test_forward(void)
{
    struct torn_proxy *p = proxy_with(NULL);
    int fd = p ? dial(p) : -1, reset;
    CHECK(fd >= 0, "dial");
    CHECK(round_trip(fd, 100000, &reset) == 100000 && !reset, "100000 bytes echoed");
    close(fd);
    torn_proxy_free(p);
}

static void test_latency(void)
{
    struct torn_proxy *p = proxy_with("latency=100ms");
    int fd = p ? dial(p) : -1, reset;
    uint64_t t0 = torn_now_ns();
    long got = round_trip(fd, 10, &reset);
    double ms = (double)(torn_now_ns() - t0) / 1e6;
    CHECK(got == 10 && ms >= 95 && ms < 1000, "10 bytes in %.1f ms with latency 100ms", ms);
    close(fd);
    torn_proxy_free(p);
}

static void test_limit_data(void)
{
    struct torn_proxy *p = proxy_with("limit_data=1000@upstream");
    int fd = p ? dial(p) : -1, reset;
    long got = round_trip(fd, 5000, &reset);
    CHECK(got == 1000, "limit_data=1000: %ld bytes came back", got);
    close(fd);
    torn_proxy_free(p);
}

static void test_reset_after(void)
{
    struct torn_proxy *p = proxy_with("reset_after=500");
    int fd = p ? dial(p) : -1, reset;
    long got = round_trip(fd, 5000, &reset);
    CHECK(got <= 500 && reset, "reset_after=500: %ld bytes then reset=%d", got, reset);
    close(fd);
    torn_proxy_free(p);
}

static void test_half_close(void)
{
    struct torn_proxy *p = proxy_with("half_close=0@upstream");
    int fd = p ? dial(p) : -1;
    char c;
    /* The server sees EOF at once, echoes its own EOF: we read EOF. */
    ssize_t n = recv(fd, &c, 1, 0);
    CHECK(n == 0, "half_close: EOF seen (recv %zd)", n);
    close(fd);
    torn_proxy_free(p);
}

static void test_slicer_toxicity(void)
{
    struct torn_proxy *p = proxy_with("slicer=7,size_variation=3,delay=10");
    int fd = p ? dial(p) : -1, reset;
    CHECK(round_trip(fd, 3000, &reset) == 3000, "slicer delivers every byte");
    close(fd);
    torn_proxy_free(p);
    p = proxy_with("reset_peer~0");
    fd = p ? dial(p) : -1;
    CHECK(round_trip(fd, 10, &reset) == 10 && !reset, "toxicity 0: no reset");
    close(fd);
    torn_proxy_free(p);
}

static void test_parse(void)
{
    struct torn_err err;
    cJSON *j = NULL;
    CHECK(torn_proxy_toxic_parse("latency=1s,jitter=10ms@upstream~0.5#slow", &j, &err) == 0,
          "parse: %s", err.msg);
    const cJSON *a = cJSON_GetObjectItem(j, "attributes");
    CHECK(cJSON_GetObjectItem(a, "latency")->valuedouble == 1000, "1s = 1000 ms");
    CHECK(strcmp(cJSON_GetObjectItem(j, "name")->valuestring, "slow") == 0, "name");
    CHECK(strcmp(cJSON_GetObjectItem(j, "stream")->valuestring, "upstream") == 0, "stream");
    CHECK(cJSON_GetObjectItem(j, "toxicity")->valuedouble == 0.5, "toxicity");
    cJSON_Delete(j);
    CHECK(torn_proxy_toxic_parse("warp=9", &j, &err) == TORN_E_USAGE, "unknown type");
    CHECK(torn_proxy_toxic_parse("latency=fast", &j, &err) == TORN_E_USAGE, "bad value");
    CHECK(torn_proxy_toxic_parse("latency,color=3", &j, &err) == TORN_E_USAGE &&
              strstr(err.msg, "color"), "unknown attribute named: %s", err.msg);
    CHECK(torn_proxy_toxic_parse("latency~2", &j, &err) == TORN_E_USAGE, "toxicity > 1");
    struct torn_proxy *p = NULL;
    CHECK(torn_proxy_new("x", "10.0.0.1:1", "127.0.0.1:1", 1, 0, &p, &err) == TORN_E_CONFIG &&
              !p, "remote listen refused: %s", err.msg);
}

static void test_json(void)
{
    struct torn_proxy *p = proxy_with("bandwidth=100#bw");
    struct torn_err err;
    cJSON *o = torn_proxy_json(p, 1), *x = NULL;
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "toxics")) == 1, "one toxic listed");
    cJSON_Delete(o);
    cJSON *ch = cJSON_Parse("{\"attributes\":{\"rate\":5}}");
    CHECK(torn_proxy_toxic_update(p, "bw", ch, &x, &err) == 0 &&
              cJSON_GetObjectItem(cJSON_GetObjectItem(x, "attributes"), "rate")->valuedouble == 5,
          "update rate");
    cJSON_Delete(x);
    cJSON_Delete(ch);
    CHECK(torn_proxy_toxic_remove(p, "bw") == 0, "remove");
    CHECK(torn_proxy_toxic_remove(p, "bw") == TORN_E_NOTFOUND, "remove twice");
    torn_proxy_free(p);
}


static size_t discard(char *d, size_t size, size_t n, void *arg)
{
    (void)d;
    (void)arg;
    return size * n;
}

/* GET url with an optional extra header line; the HTTP status, 0 when the
 * request failed (connection refused or closed, timeout). */
static long http_get(const char *url, const char *header, long timeout_ms)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
    long status = 0;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* A web page must not drive the API: browsers' requests get 403. */
static void test_api_browser(void)
{
    struct torn_proxy_api *a = NULL;
    struct torn_err err = {0};
    char url[64];

    CHECK(torn_proxy_api_start("127.0.0.1:0", 1, 0, &a, &err) == 0, "api: %s", err.msg);
    if (!a)
        return;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/version", torn_proxy_api_port(a));
    CHECK(http_get(url, NULL, 5000) == 200, "a client without a browser's agent is served");
    CHECK(http_get(url, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", 5000) == 403,
          "a browser's User-Agent gets 403");
    CHECK(http_get(url, "Origin: http://evil.example", 5000) == 403,
          "a cross-origin request gets 403");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/reset", torn_proxy_api_port(a));
    CHECK(http_get(url, "User-Agent: Mozilla/5.0", 5000) == 403, "on every route");
    torn_proxy_api_stop(a);
}

/* 3,000 idle connections held open must not make the API fail (select()
 * stopped at FD_SETSIZE: /version got no answer at all). */
static void test_api_held(void)
{
    struct torn_proxy_api *a = NULL;
    struct torn_err err = {0};
    struct rlimit rl;
    int *held, n = 0, want;
    char url[64];

    CHECK(torn_proxy_api_start("127.0.0.1:0", 1, 0, &a, &err) == 0, "api: %s", err.msg);
    if (!a)
        return;
    getrlimit(RLIMIT_NOFILE, &rl); /* raised by the API start */
    want = rl.rlim_cur / 8 < 3000 ? (int)(rl.rlim_cur / 8) : 3000;
    held = calloc((size_t)want, sizeof *held);
    for (; held && n < want; n++) {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)torn_proxy_api_port(a))};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        held[n] = socket(AF_INET, SOCK_STREAM, 0);
        if (held[n] < 0 || connect(held[n], (struct sockaddr *)&sa, sizeof sa) != 0) {
            if (held[n] >= 0)
                close(held[n]);
            break;
        }
    }
    CHECK(n == want && want >= 1000, "%d of %d connections held open", n, want);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/version", torn_proxy_api_port(a));
    CHECK(http_get(url, NULL, 5000) == 200, "/version answers with %d idle connections held", n);
    for (int i = 0; i < n; i++)
        close(held[i]);
    free(held);
    torn_proxy_api_stop(a);
}

static const struct torn_test tests[] = {
    {"forward", test_forward},       {"latency", test_latency},
    {"limit_data", test_limit_data}, {"reset_after", test_reset_after},
    {"half_close", test_half_close}, {"slicer_toxicity", test_slicer_toxicity},
    {"parse", test_parse},           {"json", test_json},
    {"api_browser", test_api_browser}, {"api_held", test_api_held},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    pthread_t t;
    echo_start(&t);
    for (const struct torn_test *x = tests; x->name; x++) {
        if (argc > 1 && strcmp(argv[1], x->name) != 0)
            continue;
        check_current = x->name;
        x->fn();
    }
    echo_stop = 1;
    pthread_join(t, NULL);
    close(echo_fd);
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* torn: the userspace TCP fault proxy (see proxy.h). */
#include "proxy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"

#define MAX_TOXICS 32
#define CHUNK 32768
#define TICK_MS 20

struct toxic_type {
    const char *type;
    const char *attrs[3];        /* attribute names; attrs[0] is the main one */
};

static const struct toxic_type types[] = {
    {"latency", {"latency", "jitter", NULL}},
    {"bandwidth", {"rate", NULL, NULL}},
    {"slow_close", {"delay", NULL, NULL}},
    {"timeout", {"timeout", NULL, NULL}},
    {"reset_peer", {"timeout", NULL, NULL}},
    {"slicer", {"average_size", "size_variation", "delay"}},
    {"limit_data", {"bytes", NULL, NULL}},
    {"limit_time", {"time", NULL, NULL}},
    {"reset_after", {"bytes", NULL, NULL}},
    {"half_close", {"bytes", NULL, NULL}},
};
#define N_TYPES (sizeof types / sizeof types[0])

enum { T_LATENCY, T_BANDWIDTH, T_SLOW_CLOSE, T_TIMEOUT, T_RESET_PEER, T_SLICER, T_LIMIT_DATA,
       T_LIMIT_TIME, T_RESET_AFTER, T_HALF_CLOSE };

struct toxic {
    char name[64];
    int type;                    /* index into types */
    int downstream;              /* 1 server->client, 0 client->server */
    double toxicity;
    long long v[3];              /* attribute values, as types[type].attrs */
    uint64_t id;                 /* unique, seeds the per-connection roll */
    uint64_t added_ns;
};

struct conn {
    struct torn_proxy *p;
    int cfd, ufd;
    uint64_t seed, t0;
    atomic_int closing;          /* 1 close, 2 reset */
    atomic_ullong sent[2];       /* bytes forwarded: [0] upstream, [1] downstream */
    atomic_ullong received[2];   /* bytes read from the sending side, the same way */
    struct conn *next;
};

struct torn_proxy {
    char name[64];
    int allow_remote;
    atomic_int stop;             /* the proxy is being freed */
    pthread_mutex_t lmu;         /* the listener: taken before mu, never under it */
    int lfd;                     /* listening socket, -1 while disabled */
    atomic_int lstop;            /* the acceptor is to end */
    pthread_t acceptor;
    int have_acceptor;
    pthread_mutex_t mu;          /* guards everything below */
    char listen[80], upstream[160];
    char up_host[128], up_port[16];
    pthread_cond_t gone;         /* a connection ended */
    int enabled;
    struct toxic toxics[MAX_TOXICS];
    int n_toxics;
    uint64_t next_id;
    struct torn_rng rng;
    struct conn *conns;
    int n_conns;
    uint64_t n_accepted, bytes[2], bytes_in[2];   /* of the connections that ended */
};

/* ---- toxics ---- */

static int type_index(const char *t)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (strcmp(types[i].type, t) == 0)
            return (int)i;
    return -1;
}

static cJSON *toxic_json(const struct toxic *x)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", x->name);
    cJSON_AddStringToObject(o, "type", types[x->type].type);
    cJSON_AddStringToObject(o, "stream", x->downstream ? "downstream" : "upstream");
    cJSON_AddNumberToObject(o, "toxicity", x->toxicity);
    for (int i = 0; i < 3 && types[x->type].attrs[i]; i++)
        cJSON_AddNumberToObject(a, types[x->type].attrs[i], (double)x->v[i]);
    cJSON_AddItemToObject(o, "attributes", a);
    return o;
}

/* Apply attributes/toxicity from j onto x; TORN_E_CONFIG naming the field.
 * An attribute the type does not have is ignored, as Toxiproxy does (clients
 * send attributes of newer versions), unless strict (the command line, where
 * it is a typo). */
static int toxic_fields(struct toxic *x, const cJSON *j, int strict, struct torn_err *err)
{
    const cJSON *tox = cJSON_GetObjectItemCaseSensitive(j, "toxicity");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(j, "attributes"), *a;
    char what[160];
    int rc;

    snprintf(what, sizeof what, "toxic %s: toxicity", x->name);
    if (tox && (rc = torn_parse_json_num(what, tox, 0, 0, 1, err)) != 0)
        return rc;
    if (tox)
        x->toxicity = tox->valuedouble;
    if (attrs && !cJSON_IsObject(attrs))
        return torn_err_set(err, TORN_E_CONFIG, "toxic %s: attributes must be an object",
                            x->name);
    cJSON_ArrayForEach(a, attrs)
    {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (types[x->type].attrs[i] && strcmp(types[x->type].attrs[i], a->string) == 0)
                k = i;
        if (k < 0 && !strict)
            continue;
        if (k < 0)
            return torn_err_set(err, TORN_E_CONFIG, "toxic %s: unknown attribute '%s' for type %s",
                                x->name, a->string, types[x->type].type);
        snprintf(what, sizeof what, "toxic %s: attribute %s", x->name, a->string);
        if ((rc = torn_parse_json_num(what, a, 1, 0, 9e15, err)) != 0) /* 9e15: exact in a double */
            return rc;
        x->v[k] = (long long)a->valuedouble;
    }
    return 0;
}

void torn_proxy_toxic_name(const cJSON *toxic, char *buf, size_t len)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(toxic, "type"));
    const char *stream = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(toxic, "stream"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(toxic, "name"));

    if (name && *name)
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%s_%s", type ? type : "", stream ? stream : "downstream");
}

static int toxic_from_json(const cJSON *j, struct toxic *x, int strict, struct torn_err *err)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
    const char *stream = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stream"));
    memset(x, 0, sizeof *x);
    if (!cJSON_IsObject(j))
        return torn_err_set(err, TORN_E_CONFIG, "toxic: not a JSON object");
    if (!type || (x->type = type_index(type)) < 0)
        return torn_err_set(err, TORN_E_CONFIG, "toxic: field type: unknown toxic type '%s'",
                            type ? type : "(missing)");
    if (stream && strcmp(stream, "upstream") != 0 && strcmp(stream, "downstream") != 0)
        return torn_err_set(err, TORN_E_CONFIG,
                            "toxic: field stream: must be upstream or downstream, not '%s'",
                            stream);
    x->downstream = !stream || strcmp(stream, "downstream") == 0;
    x->toxicity = 1.0;
    torn_proxy_toxic_name(j, x->name, sizeof x->name);
    return toxic_fields(x, j, strict, err);
}

static int find_toxic(const struct torn_proxy *p, const char *name)
{
    for (int i = 0; i < p->n_toxics; i++)
        if (strcmp(p->toxics[i].name, name) == 0)
            return i;
    return -1;
}

int torn_proxy_toxic_add(struct torn_proxy *p, const cJSON *toxic, cJSON **toxic_out,
                         struct torn_err *err)
{
    struct toxic x;
    int rc = toxic_from_json(toxic, &x, 0, err);
    if (toxic_out)
        *toxic_out = NULL;
    if (rc)
        return rc;
    pthread_mutex_lock(&p->mu);
    int i = find_toxic(p, x.name);
    if (i < 0 && p->n_toxics == MAX_TOXICS)
        rc = torn_err_set(err, TORN_E_CONFIG, "proxy %s: too many toxics (max %d)", p->name,
                          MAX_TOXICS);
    if (!rc) {
        if (i < 0)
            i = p->n_toxics++;
        x.id = ++p->next_id;
        x.added_ns = torn_now_ns();
        p->toxics[i] = x;
        if (toxic_out)
            *toxic_out = toxic_json(&x);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int torn_proxy_toxic_update(struct torn_proxy *p, const char *name, const cJSON *changes,
                            cJSON **toxic_out, struct torn_err *err)
{
    int rc;
    if (toxic_out)
        *toxic_out = NULL;
    pthread_mutex_lock(&p->mu);
    int i = find_toxic(p, name);
    if (i < 0) {
        rc = torn_err_set(err, TORN_E_NOTFOUND, "toxic not found");
    } else {
        struct toxic x = p->toxics[i];
        rc = toxic_fields(&x, changes, 0, err);
        if (!rc) {
            p->toxics[i] = x;
            if (toxic_out)
                *toxic_out = toxic_json(&x);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int torn_proxy_toxic_remove(struct torn_proxy *p, const char *name)
{
    pthread_mutex_lock(&p->mu);
    int i = find_toxic(p, name);
    if (i >= 0) {
        memmove(&p->toxics[i], &p->toxics[i + 1], (size_t)(p->n_toxics - i - 1) * sizeof p->toxics[0]);
        p->n_toxics--;
    }
    pthread_mutex_unlock(&p->mu);
    return i >= 0 ? 0 : TORN_E_NOTFOUND;
}

void torn_proxy_toxics_clear(struct torn_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->n_toxics = 0;
    pthread_mutex_unlock(&p->mu);
}

cJSON *torn_proxy_toxics_json(struct torn_proxy *p)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n_toxics; i++)
        cJSON_AddItemToArray(a, toxic_json(&p->toxics[i]));
    pthread_mutex_unlock(&p->mu);
    return a;
}

cJSON *torn_proxy_json(struct torn_proxy *p, int with_toxics)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    pthread_mutex_lock(&p->mu);
    cJSON_AddStringToObject(o, "listen", p->listen);
    cJSON_AddStringToObject(o, "upstream", p->upstream);
    cJSON_AddBoolToObject(o, "enabled", p->enabled);
    pthread_mutex_unlock(&p->mu);
    if (with_toxics)
        cJSON_AddItemToObject(o, "toxics", torn_proxy_toxics_json(p));
    return o;
}

const char *torn_proxy_listen_addr(const struct torn_proxy *p)
{
    return p->listen;
}

const char *torn_proxy_name(const struct torn_proxy *p)
{
    return p->name;
}

void torn_proxy_counters(struct torn_proxy *p, struct torn_proxy_counts *out)
{
    pthread_mutex_lock(&p->mu);
    out->conns = p->n_accepted;
    for (int d = 0; d < 2; d++) {
        out->sent[d] = p->bytes[d];
        out->received[d] = p->bytes_in[d];
        for (struct conn *c = p->conns; c; c = c->next) {
            out->sent[d] += atomic_load(&c->sent[d]);
            out->received[d] += atomic_load(&c->received[d]);
        }
    }
    snprintf(out->listen, sizeof out->listen, "%s", p->listen);
    snprintf(out->upstream, sizeof out->upstream, "%s", p->upstream);
    pthread_mutex_unlock(&p->mu);
}

/* ---- connections ---- */

static int toxic_active(const struct conn *c, const struct toxic *x)
{
    if (x->toxicity >= 1.0)
        return 1;
    if (x->toxicity <= 0.0)
        return 0;
    uint64_t h = torn_fnv1a(c->seed, &x->id, sizeof x->id);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (double)(h >> 11) / 9007199254740992.0 < x->toxicity;
}

/* Copy the toxics that apply to this connection and direction. */
static int snapshot(struct conn *c, int down, struct toxic *out)
{
    int n = 0;
    pthread_mutex_lock(&c->p->mu);
    for (int i = 0; i < c->p->n_toxics; i++)
        if (c->p->toxics[i].downstream == down && toxic_active(c, &c->p->toxics[i]))
            out[n++] = c->p->toxics[i];
    pthread_mutex_unlock(&c->p->mu);
    return n;
}

static void conn_close(struct conn *c, int reset)
{
    int want = reset ? 2 : 1, cur = atomic_load(&c->closing);
    while (cur < want && !atomic_compare_exchange_weak(&c->closing, &cur, want))
        ;
}

static int stopping(const struct conn *c)
{
    return atomic_load(&c->closing) || atomic_load(&c->p->stop);
}

/* Sleep ms in ticks, returning early when the connection closes. */
static void nap(const struct conn *c, long long ms)
{
    uint64_t end = torn_now_ns() + (uint64_t)ms * 1000000u;
    while (!stopping(c)) {
        uint64_t now = torn_now_ns();
        if (now >= end)
            break;
        uint64_t left = end - now;
        torn_sleep_ns(left < (uint64_t)TICK_MS * 1000000u ? left : (uint64_t)TICK_MS * 1000000u);
    }
}

static int write_all(struct conn *c, int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (stopping(c))
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Connection-level toxics checked every tick: 1 = blackhole this tick. */
static int check_timers(struct conn *c, const struct toxic *tx, int n)
{
    uint64_t now = torn_now_ns();
    int blackhole = 0;
    for (int i = 0; i < n; i++) {
        uint64_t since = tx[i].added_ns > c->t0 ? tx[i].added_ns : c->t0;
        uint64_t due = since + (uint64_t)tx[i].v[0] * 1000000u;
        if (tx[i].type == T_TIMEOUT) {
            blackhole = 1;
            if (tx[i].v[0] > 0 && now >= due)
                conn_close(c, 0);
        } else if (tx[i].type == T_RESET_PEER && now >= due) {
            conn_close(c, 1);
        } else if (tx[i].type == T_LIMIT_TIME && tx[i].v[0] > 0 &&
                   now >= c->t0 + (uint64_t)tx[i].v[0] * 1000000u) {
            conn_close(c, 0);
        }
    }
    return blackhole;
}

/* Forward one chunk through latency, bandwidth and slicer toxics. */
static int forward(struct conn *c, int dst, const char *buf, size_t len, const struct toxic *tx,
                   int n, struct torn_rng *rng)
{
    const struct toxic *slicer = NULL;
    for (int i = 0; i < n; i++) {
        if (tx[i].type == T_LATENCY) {
            long long j = tx[i].v[1];
            long long d = tx[i].v[0] + (j > 0 ? (long long)torn_rng_below(rng, (uint64_t)(2 * j + 1)) - j : 0);
            nap(c, d > 0 ? d : 0);
        } else if (tx[i].type == T_BANDWIDTH && tx[i].v[0] > 0) {
            nap(c, (long long)len * 1000 / (tx[i].v[0] * 1000));
        } else if (tx[i].type == T_SLICER && tx[i].v[0] > 0) {
            slicer = &tx[i];
        }
    }
    if (!slicer)
        return write_all(c, dst, buf, len);
    while (len > 0 && !stopping(c)) {
        long long var = slicer->v[1];
        long long sz = slicer->v[0] + (var > 0 ? (long long)torn_rng_below(rng, (uint64_t)(2 * var + 1)) - var : 0);
        size_t piece = sz < 1 ? 1 : (size_t)sz > len ? len : (size_t)sz;
        if (write_all(c, dst, buf, piece) != 0)
            return -1;
        buf += piece;
        len -= piece;
        if (len && slicer->v[2] > 0)
            torn_sleep_ns((uint64_t)slicer->v[2] * 1000u);
    }
    return 0;
}

/* How much of n more bytes may pass, and what happens after: 0 nothing,
 * 1 close, 2 reset, 3 half-close. */
static size_t limits(const struct toxic *tx, int n, uint64_t total, size_t len, int *after)
{
    *after = 0;
    for (int i = 0; i < n; i++) {
        int kind = tx[i].type == T_LIMIT_DATA    ? 1
                   : tx[i].type == T_RESET_AFTER ? 2
                   : tx[i].type == T_HALF_CLOSE  ? 3
                                                 : 0;
        uint64_t lim = (uint64_t)tx[i].v[0];
        if (!kind || total + len < lim)
            continue;
        len = lim > total ? (size_t)(lim - total) : 0;
        *after = kind;
    }
    return len;
}

/* One direction of a connection.  The toxics that shape a chunk are the
 * ones in force once it is readable, not those of before the wait: a toxic
 * added while the link is idle applies to the very next bytes (Toxiproxy's
 * clients add one and at once expect the next request to be slowed or
 * blocked).  Timers are checked every tick even while nothing arrives. */
static void pump(struct conn *c, int down)
{
    int src = down ? c->ufd : c->cfd, dst = down ? c->cfd : c->ufd, ready = 0;
    struct toxic tx[MAX_TOXICS];
    struct torn_rng rng;
    char *buf = malloc(CHUNK);
    uint64_t total = 0;
    torn_rng_seed(&rng, c->seed + (uint64_t)down);
    while (buf && !stopping(c)) {
        int n = snapshot(c, down, tx), after;
        int blackhole = check_timers(c, tx, n);
        if (stopping(c))
            break;
        if (blackhole) {
            nap(c, TICK_MS);
            continue;
        }
        if (limits(tx, n, total, 1, &after) == 0 && after == 3) {
            shutdown(dst, SHUT_WR);
            break;
        }
        if (!ready) {   /* wait, then take the toxics again before reading */
            struct pollfd pfd = {src, POLLIN, 0};
            ready = poll(&pfd, 1, TICK_MS) > 0;
            continue;
        }
        ready = 0;
        ssize_t got = recv(src, buf, CHUNK, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            if (got < 0) {
                conn_close(c, errno == ECONNRESET);
                break;
            }
            for (int i = 0; i < n; i++)
                if (tx[i].type == T_SLOW_CLOSE)
                    nap(c, tx[i].v[0]);
            shutdown(dst, SHUT_WR);
            break;
        }
        atomic_fetch_add(&c->received[down], (unsigned long long)got);
        size_t len = limits(tx, n, total, (size_t)got, &after);
        if (len && forward(c, dst, buf, len, tx, n, &rng) != 0) {
            conn_close(c, 0);
            break;
        }
        total += len;
        atomic_fetch_add(&c->sent[down], len);
        if (after == 1 || after == 3) {   /* what already went the other way still drains */
            shutdown(dst, SHUT_WR);
            if (after == 1)
                shutdown(src, SHUT_RD);
            break;
        }
        if (after)
            conn_close(c, 1);
    }
    free(buf);
}

static void *pump_down(void *arg)
{
    pump(arg, 1);
    return NULL;
}

static void set_rst(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct torn_proxy *p = c->p;
    pthread_t down;
    int have_down = pthread_create(&down, NULL, pump_down, c) == 0;
    if (!have_down)
        conn_close(c, 0);
    pump(c, 0);
    if (have_down)
        pthread_join(down, NULL);
    if (atomic_load(&c->closing) == 2) {
        set_rst(c->cfd);
        set_rst(c->ufd);
    }
    close(c->cfd);
    close(c->ufd);
    pthread_mutex_lock(&p->mu);
    for (struct conn **pp = &p->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    p->n_conns--;
    for (int d = 0; d < 2; d++) {
        p->bytes[d] += atomic_load(&c->sent[d]);
        p->bytes_in[d] += atomic_load(&c->received[d]);
    }
    pthread_cond_broadcast(&p->gone);
    pthread_mutex_unlock(&p->mu);
    free(c);
    return NULL;
}

/* ---- listening and connecting ---- */

int torn_proxy_split_addr(const char *addr, char *host, size_t host_len, char *port,
                          size_t port_len, const char *what, struct torn_err *err)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1] || strlen(colon + 1) >= port_len)
        return torn_err_set(err, TORN_E_CONFIG, "%s '%s': expected HOST:PORT", what, addr);
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (*h == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= host_len)
        return torn_err_set(err, TORN_E_CONFIG, "%s '%s': host too long", what, addr);
    memcpy(host, h, hl);
    host[hl] = 0;
    /* A number 0..65535: getaddrinfo would take 99999 modulo 65536. */
    long long n;
    if (colon[1] < '0' || colon[1] > '9' || torn_parse_int(what, colon + 1, 0, 65535, &n, NULL))
        return torn_err_set(err, TORN_E_CONFIG, "%s '%s': port must be a number 0..65535",
                            what, addr);
    snprintf(port, port_len, "%lld", n);
    return 0;
}

static int connect_upstream(struct torn_proxy *p)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char host[128], port[16];
    int fd = -1;
    pthread_mutex_lock(&p->mu);   /* an update may change them */
    memcpy(host, p->up_host, sizeof host);
    memcpy(port, p->up_port, sizeof port);
    pthread_mutex_unlock(&p->mu);
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            rc = poll(&pfd, 1, 2000) == 1 &&
                         getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0
                     ? 0
                     : -1;
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static void tune(int fd)
{
    int one = 1;
    struct timeval tv = {1, 0};
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void accept_one(struct torn_proxy *p, int fd)
{
    pthread_mutex_lock(&p->mu);
    int enabled = p->enabled;
    uint64_t seed = torn_rng_next(&p->rng);
    p->n_accepted++;
    pthread_mutex_unlock(&p->mu);
    int ufd = enabled ? connect_upstream(p) : -1;
    struct conn *c = ufd >= 0 ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        set_rst(fd);   /* upstream down or proxy disabled: refuse like a dead peer */
        close(fd);
        if (ufd >= 0)
            close(ufd);
        return;
    }
    tune(fd);
    tune(ufd);
    c->p = p;
    c->cfd = fd;
    c->ufd = ufd;
    c->seed = seed;
    c->t0 = torn_now_ns();
    pthread_mutex_lock(&p->mu);
    c->next = p->conns;
    p->conns = c;
    p->n_conns++;
    pthread_mutex_unlock(&p->mu);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_main, c) != 0) {
        pthread_mutex_lock(&p->mu);
        for (struct conn **pp = &p->conns; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        p->n_conns--;
        pthread_mutex_unlock(&p->mu);
        close(fd);
        close(ufd);
        free(c);
    }
    pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
    struct torn_proxy *p = arg;
    while (!atomic_load(&p->stop) && !atomic_load(&p->lstop)) {
        struct pollfd pfd = {p->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            accept_one(p, fd);
    }
    return NULL;
}

/* Bind and listen on host:port: the socket into *fd_out and the address
 * actually bound ("127.0.0.1:PORT") into addr. */
static int listen_on(const struct torn_proxy *p, const char *host, const char *port,
                     int *fd_out, char *addr, size_t addr_len, struct torn_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return torn_err_set(err, TORN_E_CONFIG, "proxy %s: listen %s:%s: %s", p->name, host,
                            port, gai_strerror(gai));
    int one = 1, rc = 0, fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0)
        rc = torn_err_sys(err, TORN_E_ENV, errno, "proxy %s: listen on %s:%s", p->name, host,
                          port);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char hbuf[64], pbuf[16];
    if (!rc && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof hbuf, pbuf, sizeof pbuf,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(addr, addr_len, strchr(hbuf, ':') ? "[%s]:%s" : "%s:%s", hbuf, pbuf);
    freeaddrinfo(res);
    if (rc && fd >= 0)
        close(fd);
    *fd_out = rc ? -1 : fd;
    return rc;
}

/* Stop accepting and close the listening socket: a client now gets
 * ECONNREFUSED, as from a disabled Toxiproxy proxy.  Under lmu. */
static void listener_stop(struct torn_proxy *p)
{
    if (p->have_acceptor) {
        atomic_store(&p->lstop, 1);
        pthread_join(p->acceptor, NULL);
        p->have_acceptor = 0;
    }
    if (p->lfd >= 0)
        close(p->lfd);
    p->lfd = -1;
}

/* Listen on listen ("HOST:PORT", checked for loopback) and start accepting;
 * p->listen becomes the address bound.  Under lmu, the listener stopped. */
static int listener_start(struct torn_proxy *p, const char *listen, struct torn_err *err)
{
    char host[128], port[16], bound[80];
    int fd = -1;
    int rc = torn_proxy_split_addr(listen, host, sizeof host, port, sizeof port, "listen", err);
    if (!rc)
        rc = torn_require_loopback(host, p->allow_remote, "proxy listen address", err);
    if (!rc)
        rc = listen_on(p, host, port, &fd, bound, sizeof bound, err);
    if (rc)
        return rc;
    p->lfd = fd;
    pthread_mutex_lock(&p->mu);
    snprintf(p->listen, sizeof p->listen, "%s", bound);
    pthread_mutex_unlock(&p->mu);
    atomic_store(&p->lstop, 0);
    if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
        listener_stop(p);
        return torn_err_set(err, TORN_E_ENV, "proxy %s: cannot start a thread", p->name);
    }
    p->have_acceptor = 1;
    return 0;
}

/* Check upstream ("HOST:PORT") and make it where new connections go. */
static int set_upstream(struct torn_proxy *p, const char *upstream, struct torn_err *err)
{
    char host[128], port[16];
    int rc = torn_proxy_split_addr(upstream, host, sizeof host, port, sizeof port, "upstream",
                                   err);
    if (!rc)
        rc = torn_require_loopback(host, p->allow_remote, "proxy upstream", err);
    if (rc)
        return rc;
    pthread_mutex_lock(&p->mu);
    snprintf(p->upstream, sizeof p->upstream, "%s", upstream);
    memcpy(p->up_host, host, sizeof host);
    memcpy(p->up_port, port, sizeof port);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int torn_proxy_new(const char *name, const char *listen, const char *upstream, uint64_t seed,
                   int allow_remote, struct torn_proxy **out, struct torn_err *err)
{
    struct torn_proxy *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    p->lfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->lmu, NULL);
    pthread_cond_init(&p->gone, NULL);
    p->enabled = 1;
    p->allow_remote = allow_remote;
    torn_rng_seed(&p->rng, torn_seed_derive(seed, name));
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->listen, sizeof p->listen, "%s", listen);
    int rc = set_upstream(p, upstream, err);
    if (!rc) {
        pthread_mutex_lock(&p->lmu);
        rc = listener_start(p, listen, err);
        pthread_mutex_unlock(&p->lmu);
    }
    if (rc) {
        torn_proxy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Close every live connection (each pump notices within a tick). */
static void close_conns(struct torn_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    for (struct conn *c = p->conns; c; c = c->next)
        conn_close(c, 0);
    pthread_mutex_unlock(&p->mu);
}

int torn_proxy_set_enabled(struct torn_proxy *p, int enabled, struct torn_err *err)
{
    char listen[80];
    int rc = 0;

    pthread_mutex_lock(&p->lmu);
    pthread_mutex_lock(&p->mu);
    int was = p->enabled;
    p->enabled = enabled;
    snprintf(listen, sizeof listen, "%s", p->listen);
    pthread_mutex_unlock(&p->mu);
    if (!enabled) {
        listener_stop(p);
        close_conns(p);
    } else if (!was && (rc = listener_start(p, listen, err)) != 0) {
        pthread_mutex_lock(&p->mu);
        p->enabled = 0;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->lmu);
    return rc;
}

int torn_proxy_update(struct torn_proxy *p, const char *listen, const char *upstream,
                      struct torn_err *err)
{
    char old_listen[80], old_up[160];
    int rc = 0, enabled;

    pthread_mutex_lock(&p->lmu);
    pthread_mutex_lock(&p->mu);
    snprintf(old_listen, sizeof old_listen, "%s", p->listen);
    snprintf(old_up, sizeof old_up, "%s", p->upstream);
    enabled = p->enabled;
    pthread_mutex_unlock(&p->mu);
    int new_listen = listen && *listen && strcmp(listen, old_listen) != 0;
    int new_up = upstream && *upstream && strcmp(upstream, old_up) != 0;
    if (new_up)
        rc = set_upstream(p, upstream, err);
    if (!rc && new_listen && enabled) {
        listener_stop(p);
        if ((rc = listener_start(p, listen, err)) != 0) {
            struct torn_err ignored;   /* back where it was; the error is the new one's */
            listener_start(p, old_listen, &ignored);
        }
    } else if (!rc && new_listen) {   /* disabled: bound when enabled */
        pthread_mutex_lock(&p->mu);
        snprintf(p->listen, sizeof p->listen, "%s", listen);
        pthread_mutex_unlock(&p->mu);
    }
    if (rc && new_up)
        set_upstream(p, old_up, NULL);
    if (!rc && (new_listen || new_up))
        close_conns(p);   /* as Toxiproxy: the proxy restarts on the new addresses */
    pthread_mutex_unlock(&p->lmu);
    return rc;
}

void torn_proxy_free(struct torn_proxy *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->lmu);
    listener_stop(p);
    pthread_mutex_unlock(&p->lmu);
    pthread_mutex_lock(&p->mu);
    for (struct conn *c = p->conns; c; c = c->next)
        conn_close(c, 0);
    while (p->n_conns > 0)   /* pumps notice within a tick or a send timeout */
        pthread_cond_wait(&p->gone, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->lmu);
    pthread_cond_destroy(&p->gone);
    free(p);
}

/* ---- command-line toxics ---- */

/* An attribute value of --toxic: a number of ms ("50ms", "2s") or of the
 * attribute's own unit (bytes, KB/s, ...) when bare. */
static int parse_value(const char *what, const char *s, double *out, struct torn_err *err)
{
    static const struct torn_unit units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {NULL, 0}};

    return torn_parse_real_unit(what, s, units, 0, 9e15, out, err);
}

/* Cut "<sep>rest" off the end of s; returns rest or NULL. */
static char *cut_suffix(char *s, char sep)
{
    char *p = strrchr(s, sep);
    if (!p)
        return NULL;
    *p = 0;
    return p + 1;
}

int torn_proxy_toxic_parse(const char *spec, cJSON **toxic_out, struct torn_err *err)
{
    char buf[256], *save = NULL;
    int rc = 0;
    *toxic_out = NULL;
    if (strlen(spec) >= sizeof buf)
        return torn_err_set(err, TORN_E_USAGE, "--toxic '%.40s...': too long", spec);
    snprintf(buf, sizeof buf, "%s", spec);
    char *name = cut_suffix(buf, '#'), *tox = cut_suffix(buf, '~'),
         *stream = cut_suffix(buf, '@');
    cJSON *o = cJSON_CreateObject(), *attrs = cJSON_AddObjectToObject(o, "attributes");
    char *tok = strtok_r(buf, ",", &save);
    char *eq = tok ? strchr(tok, '=') : NULL;
    if (eq)
        *eq = 0;
    int ti = tok ? type_index(tok) : -1;
    if (ti < 0) {
        cJSON_Delete(o);
        return torn_err_set(err, TORN_E_USAGE,
                            "--toxic '%s': unknown type (latency, bandwidth, slow_close, timeout, "
                            "reset_peer, slicer, limit_data, limit_time, reset_after, half_close)",
                            spec);
    }
    cJSON_AddStringToObject(o, "type", tok);
    double v = 0;
    char what[300];
    struct torn_err e1;
    snprintf(what, sizeof what, "--toxic '%s'", spec);
    if (eq && parse_value(what, eq + 1, &v, &e1) == 0)
        cJSON_AddNumberToObject(attrs, types[ti].attrs[0], v);
    else if (eq)
        rc = torn_err_set(err, TORN_E_USAGE, "%s", e1.msg);
    while (!rc && (tok = strtok_r(NULL, ",", &save))) {
        eq = strchr(tok, '=');
        if (!eq) {
            rc = torn_err_set(err, TORN_E_USAGE, "--toxic '%s': expected ATTR=NUMBER, got '%s'",
                              spec, tok);
            break;
        }
        *eq = 0;
        snprintf(what, sizeof what, "--toxic '%s': %s", spec, tok);
        if (parse_value(what, eq + 1, &v, &e1) != 0) {
            rc = torn_err_set(err, TORN_E_USAGE, "%s", e1.msg);
            break;
        }
        cJSON_AddNumberToObject(attrs, tok, v);
    }
    if (!rc && stream)
        cJSON_AddStringToObject(o, "stream", stream);
    if (!rc && tox) {
        snprintf(what, sizeof what, "--toxic '%s': toxicity", spec);
        if (torn_parse_real(what, tox, 0, 1, &v, &e1) != 0)
            rc = torn_err_set(err, TORN_E_USAGE, "%s", e1.msg);
        cJSON_AddNumberToObject(o, "toxicity", v);
    }
    if (!rc && name)
        cJSON_AddStringToObject(o, "name", name);
    struct toxic x;   /* validate now, so errors name the option */
    struct torn_err e2;
    if (!rc && (rc = toxic_from_json(o, &x, 1, &e2)) != 0)
        rc = torn_err_set(err, TORN_E_USAGE, "--toxic '%s': %s", spec, e2.msg);
    if (rc)
        cJSON_Delete(o);
    else
        *toxic_out = o;
    return rc;
}

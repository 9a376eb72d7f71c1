/* research-service WebSocket: the socket MHD hands over after the 101
 * upgrade, framed with wslay; the accept key with libcrypto. */
#include "svc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define MAX_CONNS 1024

struct rs_ws {
    int fd;
    pthread_mutex_t mu;             /* guards ctx */
    wslay_event_context_ptr ctx;
    int dead;
};

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rs_ws *all[MAX_CONNS];

void rs_ws_accept_key(const char *key, char out[64])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[256];
    unsigned char sha[SHA_DIGEST_LENGTH];
    snprintf(buf, sizeof buf, "%s%s", key, guid);
    SHA1((const unsigned char *)buf, strlen(buf), sha);
    EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct rs_ws *ws = user;
    ssize_t n;
    do
        n = send(ws->fd, data, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK
                                                   : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct rs_ws *ws = user;
    ssize_t n = recv(ws->fd, buf, len, MSG_DONTWAIT);
    if (n < 0) {
        wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    (void)arg;
    (void)user;   /* clients have nothing to say; pings and closes are automatic */
}

int rs_ws_send(struct rs_ws *ws, const char *text)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    pthread_mutex_lock(&ws->mu);
    int rc = ws->dead ? -1 : 0;
    if (rc == 0 && (wslay_event_queue_msg(ws->ctx, &msg) != 0 || wslay_event_send(ws->ctx) != 0))
        rc = -1;
    if (rc)
        ws->dead = 1;
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

static void registry_set(struct rs_ws *ws, struct rs_ws *value)
{
    pthread_mutex_lock(&all_mu);
    for (int i = 0; i < MAX_CONNS; i++)
        if (all[i] == ws) {
            all[i] = value;
            break;
        }
    pthread_mutex_unlock(&all_mu);
}

void rs_ws_shutdown_all(void)
{
    pthread_mutex_lock(&all_mu);
    for (int i = 0; i < MAX_CONNS; i++)
        if (all[i])
            shutdown(all[i]->fd, SHUT_RDWR);
    pthread_mutex_unlock(&all_mu);
}

/* Read until the peer closes; wslay answers pings and close frames. */
static void serve_loop(struct rs_ws *ws)
{
    while (!rs_stopping()) {
        struct pollfd p = {ws->fd, POLLIN, 0};
        int n = poll(&p, 1, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        pthread_mutex_lock(&ws->mu);
        int bad = wslay_event_recv(ws->ctx) != 0 ||
                  (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx));
        if (!bad && wslay_event_want_write(ws->ctx))
            bad = wslay_event_send(ws->ctx) != 0;
        if (bad)
            ws->dead = 1;
        pthread_mutex_unlock(&ws->mu);
        if (bad)
            break;
    }
}

static int ws_send_cb(void *sub, const char *text)
{
    return rs_ws_send(sub, text);
}

void rs_ws_serve(struct rs_job *j, int fd)
{
    static const struct wslay_event_callbacks cb = {on_recv, on_send, NULL, NULL, NULL, NULL,
                                                    on_msg};
    struct rs_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return;
    ws->fd = fd;
    /* Blocking sends with a bound, non-blocking receives after poll. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    pthread_mutex_init(&ws->mu, NULL);
    if (wslay_event_context_server_init(&ws->ctx, &cb, ws) != 0) {
        free(ws);
        return;
    }
    registry_set(NULL, ws);
    rs_job_attach(j, ws, ws_send_cb);
    serve_loop(ws);
    rs_job_detach(j, ws);
    registry_set(ws, NULL);
    wslay_event_context_free(ws->ctx);
    pthread_mutex_destroy(&ws->mu);
    free(ws);
}

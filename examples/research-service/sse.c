/* research-service Server-Sent Events: GET /events/research/{id} streams
 * the job's events as "data: {...}\n\n" through an MHD callback response;
 * the connection's own thread waits for events (thread per connection). */
#include "svc.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rs_sse {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;                  /* pending bytes */
    size_t len;
    struct rs_job *j;
};

static int sse_send(void *sub, const char *text)
{
    struct rs_sse *s = sub;
    size_t n = strlen(text) + 9;
    pthread_mutex_lock(&s->mu);
    char *nb = realloc(s->buf, s->len + n);
    if (nb) {
        s->buf = nb;
        s->len += (size_t)snprintf(nb + s->len, n, "data: %s\n\n", text);
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return nb ? 0 : -1;
}

/* Hand MHD what is pending, waiting up to 200 ms for something. */
static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct rs_sse *s = cls;
    if (rs_stopping())
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&s->mu);
    if (s->len == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    size_t n = s->len < max ? s->len : max;
    memcpy(out, s->buf, n);
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    pthread_mutex_unlock(&s->mu);
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct rs_sse *s = cls;
    rs_job_detach(s->j, s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->buf);
    free(s);
}

int rs_sse_respond(struct MHD_Connection *c, struct rs_job *j)
{
    struct rs_sse *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->j = j;
    /* A first event, so the client sees the stream open at once. */
    sse_send(s, "{\"type\":\"SUBSCRIBED\"}");
    rs_job_attach(j, s, sse_send);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

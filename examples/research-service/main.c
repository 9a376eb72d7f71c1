/* research-service: options, HTTP routes (libmicrohttpd, one thread per
 * connection so handlers and the WebSocket loop may block), shutdown. */
#include "svc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (1u << 20)

struct rs_opts rs_opt = {
    .port = 8080, .mode = RS_ATOMIC, .prefix = "research:", .worker_delay_ms = 20, .steps = 3,
    .tracker_ms = 1, .store_timeout_ms = 2000,
};
static atomic_int stopping;

int rs_stopping(void)
{
    return atomic_load(&stopping);
}

void rs_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("research-service: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void iso_at(char buf[40], struct timespec ts)
{
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 40 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void rs_iso_now(char buf[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    iso_at(buf, ts);
}

void rs_iso_shift(char buf[40], int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    iso_at(buf, ts);
}

void rs_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !rs_stopping())
        ;
}

/* ---- responses ---- */

struct req {
    char *body;
    size_t len;
    int too_big;
};

/* Answer text with Content-Type type, and header hname: hval when hname. */
static enum MHD_Result send_text_hdr(struct MHD_Connection *c, unsigned status, const char *text,
                                     const char *type, const char *hname, const char *hval)
{
    if (rs_opt.misbehave == RS_HTML) {
        text = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>";
        type = "text/html";
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (hname)
        MHD_add_response_header(r, hname, hval);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text,
                                 const char *type)
{
    return send_text_hdr(c, status, text, type, NULL, NULL);
}

/* obj as JSON (freed), with header hname: hval when hname. */
static enum MHD_Result send_json_hdr(struct MHD_Connection *c, unsigned status, cJSON *obj,
                                     const char *hname, const char *hval)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text)
        return send_text(c, 500, "{\"detail\":\"out of memory\"}", "application/json");
    enum MHD_Result ret = send_text_hdr(c, status, text, "application/json", hname, hval);
    free(text);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *obj)
{
    return send_json_hdr(c, status, obj, NULL, NULL);
}

static enum MHD_Result send_detail(struct MHD_Connection *c, unsigned status, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", detail);
    return send_json(c, status, o);
}

/* ---- routes ---- */

static enum MHD_Result route_create(struct MHD_Connection *c, struct req *rq)
{
    cJSON *in = rq->len ? cJSON_ParseWithLength(rq->body, rq->len) : cJSON_CreateObject();
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return send_detail(c, 422, "body must be a JSON object");
    }
    char id[48], why[256];
    int rc = rs_job_start(in, id, why, sizeof why);
    cJSON_Delete(in);
    if (rc != 0)
        return send_detail(c, 500, why);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "research_id", id);
    cJSON_AddStringToObject(o, "status", "queued");
    return send_json(c, 200, o);
}

/* 404 for a record that does not exist: {"detail", "error_code": "NOT_FOUND"}. */
static enum MHD_Result send_not_found(struct MHD_Connection *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", "research not found");
    if (!(rs_opt.breaks & RS_BREAK_NOT_FOUND_BODY))
        cJSON_AddStringToObject(o, "error_code", "NOT_FOUND");
    return send_json(c, 404, o);
}

/* A plain read's answer: the JSON text (freed) for rc 0, 404 for 1, an
 * honest 500 naming why otherwise. */
static enum MHD_Result send_read(struct MHD_Connection *c, int rc, char *text, const char *why)
{
    enum MHD_Result ret = rc == 1 ? send_not_found(c)
                        : rc < 0  ? send_detail(c, 500, why)
                                  : send_text(c, 200, text, "application/json");
    free(text);
    return ret;
}

/* GET /research/results/{id}: the record as stored; errors are honest 5xx. */
static enum MHD_Result route_results(struct MHD_Connection *c, const char *id)
{
    char *text = NULL, why[256];
    int rc = rs_store_get(id, &text, why, sizeof why);
    return send_read(c, rc, text, why);
}

/* GET /index/{id} (--index): the status index's summary, the second read
 * path that must agree with GET /jobs/{id}. */
static enum MHD_Result route_index(struct MHD_Connection *c, const char *id)
{
    char *text = NULL, why[256] = "";
    if (!rs_opt.index)
        return send_detail(c, 404, "no such route (start with --index)");
    int rc = rs_index_get(id, &text, why, sizeof why);
    return send_read(c, rc, text, why);
}

/* seed 001's error dict for a read that cannot recover. */
static cJSON *unknown_job(const char *id, const char *why)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "status", "unknown");
    if (!(rs_opt.breaks & RS_BREAK_UNKNOWN_BODY))
        cJSON_AddStringToObject(o, "error", why);
    return o;
}

/* GET /jobs/{id}, seed 001's contract: try 5 times 20 ms apart (a held
 * lock, a file being replaced), then answer an error object with 200,
 * never a 500 (unless --unsafe-read); a job that does not exist is a 404
 * (--missing unknown: the unknown dict, as seed 001's text says).  The
 * answer's X-Retries header counts the tries after the first (--break
 * retry-budget: 12 tries, over the 5 of the contract). */
static enum MHD_Result route_job(struct MHD_Connection *c, const char *id)
{
    char *text = NULL, why[256] = "", retries[16];
    cJSON *rec = NULL;
    int attempt = 0, tries = (rs_opt.breaks & RS_BREAK_RETRY_BUDGET) ? 12 : 5;
    for (; attempt < tries && !rec; attempt++) {
        int rc = rs_store_locked(id) ? -1 : rs_store_get(id, &text, why, sizeof why);
        if (rc < 0 && rs_store_locked(id))
            snprintf(why, sizeof why, "record %s is locked by a writer", id);
        if (rc == 1 && rs_opt.missing_unknown)   /* seed 001's text: 200, unknown */
            return send_json(c, 200, unknown_job(id, "job file not found"));
        if (rc == 1)
            return send_not_found(c);
        if (rc == 0) {
            rec = cJSON_Parse(text);
            if (!cJSON_IsObject(rec)) {
                cJSON_Delete(rec);
                rec = NULL;
                snprintf(why, sizeof why, "JSONDecodeError: record %s is not valid JSON", id);
                rs_log("get_job %s: %s, retrying", id, why);   /* seed 001's symptom */
            }
            free(text);
        }
        if (!rec && rs_opt.unsafe_read)
            return send_detail(c, 500, why);
        if (!rec && attempt + 1 < tries)
            rs_sleep_ms(20);
    }
    snprintf(retries, sizeof retries, "%d", attempt - 1);
    return send_json_hdr(c, 200, rec ? rec : unknown_job(id, why), "X-Retries", retries);
}

/* The 409 body: a stale write (seed 002: error_code STALE_WRITE and the
 * current version "for client reconciliation"), or a refused transition
 * (INVALID_TRANSITION and the current state); the current record too. */
static cJSON *conflict_body(cJSON *rec, long long expect, int transition)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "version");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
    cJSON_AddStringToObject(o, "detail", transition ? "invalid transition" : "stale");
    if (transition && !(rs_opt.breaks & RS_BREAK_REFUSED_BODY)) {
        cJSON_AddStringToObject(o, "error_code", "INVALID_TRANSITION");
        cJSON_AddItemToObject(o, "current_state",
                              st ? cJSON_Duplicate(st, 1) : cJSON_CreateNull());
    } else if (!transition && !(rs_opt.breaks & RS_BREAK_STALE_BODY)) {
        cJSON_AddStringToObject(o, "error_code", "STALE_WRITE");
        cJSON_AddNumberToObject(o, "current_review_version",
                                (rs_opt.breaks & RS_BREAK_STALE_ECHO) ? (double)expect
                                : cJSON_IsNumber(v) ? v->valuedouble : 0);
    }
    if (rec)
        cJSON_AddItemToObject(o, "current", rec);
    return o;
}

static enum MHD_Result send_store_result(struct MHD_Connection *c, int rc, cJSON *rec,
                                         const char *why, long long expect, int transition)
{
    if (rc == 0)
        return send_json(c, 200, rec);
    if (rc == 2)
        return send_json(c, 409, conflict_body(rec, expect, transition));
    cJSON_Delete(rec);
    return rc == 1 ? send_not_found(c) : send_detail(c, 500, why);
}

/* PUT /research/{id}: create or replace (reset). */
static enum MHD_Result route_put(struct MHD_Connection *c, const char *id, cJSON *body)
{
    char why[256];
    cJSON *rec = rs_record_new(id, body);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
    if (cJSON_IsString(st) && !cJSON_GetObjectItemCaseSensitive(rec, "processing_state"))
        cJSON_AddStringToObject(rec, "processing_state", st->valuestring);   /* seed 002's pair */
    char *text = cJSON_PrintUnformatted(rec);
    int rc = text ? rs_store_set(id, text, why, sizeof why) : -1;
    free(text);
    return send_store_result(c, rc, rec, why, -1, 0);
}

/* PATCH /research/{id} (If-Match: version for compare-and-set), and
 * POST /research/{id}/transition {"from":[...],"to":...}. */
static enum MHD_Result route_patch(struct MHD_Connection *c, const char *id, cJSON *body,
                                   int transition)
{
    char why[256];
    cJSON *rec = NULL, *patch = body;
    const char *from[16];
    size_t n_from = 0;
    long long expect = -1;
    const char *im = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
    if (im)
        expect = strtoll(im[0] == '"' ? im + 1 : im, NULL, 10);
    if (transition) {
        const cJSON *f, *fr = cJSON_GetObjectItemCaseSensitive(body, "from");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(body, "to");
        if (!cJSON_IsArray(fr) || !cJSON_IsString(to))
            return send_detail(c, 422, "transition needs from (array) and to (string)");
        cJSON_ArrayForEach(f, fr) if (cJSON_IsString(f) && n_from < 16) from[n_from++] =
            f->valuestring;
        patch = cJSON_CreateObject();
        cJSON_AddStringToObject(patch, "status", to->valuestring);
        if (!(rs_opt.breaks & RS_BREAK_STATE_SPLIT))   /* seed 002: both in one statement */
            cJSON_AddStringToObject(patch, "processing_state", to->valuestring);
    }
    if (rs_opt.update_delay_ms > 0)
        rs_sleep_ms(rs_opt.update_delay_ms);
    int rc = rs_store_update(id, patch, rs_opt.mode == RS_ATOMIC, expect,
                             transition ? from : NULL, n_from, &rec, why, sizeof why);
    if (transition)
        cJSON_Delete(patch);
    return send_store_result(c, rc, rec, why, expect, transition);
}

static enum MHD_Result route_ws(struct MHD_Connection *c, const char *id);

/* POST /groups/{group}/members {"member", "amount"} (seed 003). */
static enum MHD_Result route_group_add(struct MHD_Connection *c, const char *url,
                                       struct req *rq)
{
    char group[48], why[256];
    const char *slash = strchr(url, '/');
    if (!slash || strcmp(slash, "/members") != 0 || (size_t)(slash - url) >= sizeof group)
        return send_detail(c, 404, "no such route");
    snprintf(group, sizeof group, "%.*s", (int)(slash - url), url);
    cJSON *body = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "member");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "amount");
    enum MHD_Result ret;
    if (!cJSON_IsString(m) || !cJSON_IsNumber(a))
        ret = send_detail(c, 422, "needs member (string) and amount (number)");
    else if (rs_group_add(group, m->valuestring, a->valuedouble, why, sizeof why) != 0)
        ret = send_detail(c, 500, why);
    else
        ret = send_text(c, 200, "{\"ok\":true}", "application/json");
    cJSON_Delete(body);
    return ret;
}

/* GET /groups/{group}: both structures. */
static enum MHD_Result route_group_read(struct MHD_Connection *c, const char *group)
{
    char why[256];
    cJSON *o = rs_group_read(group, why, sizeof why);
    return o ? send_json(c, 200, o) : send_detail(c, 500, why);
}

/* PUT /legacy/{id}: store the body exactly as given, as an older release
 * wrote its records (no version, no _updated_at): torn's legacy-record
 * scenario plants them here. */
static enum MHD_Result route_legacy(struct MHD_Connection *c, const char *id, struct req *rq)
{
    char why[256];
    cJSON *body = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
    char *text = cJSON_IsObject(body) ? cJSON_PrintUnformatted(body) : NULL;
    enum MHD_Result ret;
    if (!text)
        ret = send_detail(c, 422, "body must be a JSON object");
    else if (rs_store_set(id, text, why, sizeof why) != 0)
        ret = send_detail(c, 500, why);
    else
        ret = send_text(c, 200, text, "application/json");
    free(text);
    cJSON_Delete(body);
    return ret;
}

/* DELETE /research/{id}: 204 removed, 404 no such record. */
static enum MHD_Result route_delete(struct MHD_Connection *c, const char *id)
{
    char why[160];
    int rc = rs_store_delete(id, why, sizeof why);
    if (rc == 1)
        return send_detail(c, 404, "research not found");
    if (rc != 0)
        return send_detail(c, 500, why);
    return send_text(c, 204, "", "application/json");
}

static enum MHD_Result route_body(struct MHD_Connection *c, const char *method, const char *url,
                                  struct req *rq)
{
    if (strcmp(method, "PUT") == 0 && strncmp(url, "/legacy/", 8) == 0)
        return route_legacy(c, url + 8, rq);
    if (strcmp(method, "POST") == 0 && strcmp(url, "/research") == 0)
        return route_create(c, rq);
    if (strcmp(method, "POST") == 0 && strncmp(url, "/groups/", 8) == 0)
        return route_group_add(c, url + 8, rq);
    if (strncmp(url, "/research/", 10) != 0 || strncmp(url, "/research/results/", 18) == 0)
        return send_detail(c, 404, "no such route");
    char id[64];
    snprintf(id, sizeof id, "%s", url + 10);
    if (strcmp(method, "DELETE") == 0)
        return route_delete(c, id);
    char *slash = strchr(id, '/');
    int transition = slash && strcmp(slash, "/transition") == 0 && strcmp(method, "POST") == 0;
    if (slash)
        *slash = 0;
    if (slash && !transition)
        return send_detail(c, 404, "no such route");
    cJSON *body = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return send_detail(c, 422, "body must be a JSON object");
    }
    enum MHD_Result ret;
    if (strcmp(method, "PUT") == 0)
        ret = route_put(c, id, body);
    else if (strcmp(method, "PATCH") == 0 || transition)
        ret = route_patch(c, id, body, transition);
    else
        ret = send_detail(c, 405, "method not allowed");
    cJSON_Delete(body);
    return ret;
}

static enum MHD_Result route(struct MHD_Connection *c, const char *method, const char *url,
                             struct req *rq)
{
    if (rs_opt.misbehave == RS_HANG)
        while (!rs_stopping())
            rs_sleep_ms(100);
    if (strcmp(method, "GET") != 0)
        return route_body(c, method, url, rq);
    if (strncmp(url, "/research/results/", 18) == 0)
        return route_results(c, url + 18);
    if (strncmp(url, "/jobs/", 6) == 0)
        return route_job(c, url + 6);
    if (strncmp(url, "/index/", 7) == 0)
        return route_index(c, url + 7);
    if (strncmp(url, "/ws/research/", 13) == 0)
        return route_ws(c, url + 13);
    if (strncmp(url, "/events/research/", 17) == 0) {
        struct rs_job *j = rs_job_find(url + 17);
        return j ? (enum MHD_Result)rs_sse_respond(c, j)
                 : send_detail(c, 404, "research not found");
    }
    if (strncmp(url, "/groups/", 8) == 0)
        return route_group_read(c, url + 8);
    if (strcmp(url, "/health") == 0)
        return send_text(c, 200, "{\"ok\":true}", "application/json");
    if (strcmp(url, "/metrics") == 0) {
        char *text = rs_metrics_text();
        enum MHD_Result ret = text ? send_text(c, 200, text, "text/plain; version=0.0.4")
                                   : send_detail(c, 500, "out of memory");
        free(text);
        return ret;
    }
    return send_detail(c, 404, "no such route");
}

/* ---- WebSocket upgrade ---- */

static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)c;
    (void)con_cls;
    (void)extra;
    (void)extra_len;   /* clients send nothing before the 101 */
    rs_ws_serve(cls, sock);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result route_ws(struct MHD_Connection *c, const char *id)
{
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    struct rs_job *j = rs_job_find(id);
    if (!j)
        return send_detail(c, 404, "research not found");
    if (!key || !up || strcasecmp(up, "websocket") != 0 || rs_opt.misbehave == RS_HTML)
        return send_detail(c, 400, "expected a WebSocket upgrade");
    char accept[64];
    rs_ws_accept_key(key, accept);
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, j);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **con_cls)
{
    (void)cls;
    (void)version;
    struct req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        *con_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_len) {
        if (rq->len + *upload_len > MAX_BODY) {
            rq->too_big = 1;
        } else {
            char *nb = realloc(rq->body, rq->len + *upload_len + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + rq->len, upload, *upload_len);
            rq->body = nb;
            rq->len += *upload_len;
            nb[rq->len] = 0;
        }
        *upload_len = 0;
        return MHD_YES;
    }
    if (rq->too_big)
        return send_detail(c, 413, "body too large");
    return route(c, method, url, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ---- options and main ---- */

static void usage(FILE *f)
{
    fputs("usage: research-service [options]\n"
          "  --port N              listen on 127.0.0.1:N (default 8080; 0 = any free port)\n"
          "  --mode M              finalize mode: two-writes | emit-first | atomic (default)\n"
          "  --redis HOST:PORT     store records in Redis\n"
          "  --prefix P            Redis key prefix (default research:)\n"
          "  --dir DIR             store records as files in DIR (default without --redis)\n"
          "  --persist P           file writes: fsync (temp, fsync, rename; default), naive\n"
          "                        (in place, 4 KiB writes), durable (checksum, .bak, rename,\n"
          "                        directory fsync; reads verify and fall back to the .bak)\n"
          "  --file-naive          same as --persist naive\n"
          "  --unsafe-read         GET /jobs/{id} answers 500 on store errors (seed 001 before)\n"
          "  --worker-delay-ms N   delay between progress steps (default 20)\n"
          "  --update-delay-ms N   answer every update and transition N ms later (a\n"
          "                        slower release; default 0)\n"
          "  --steps N             progress events per job (default 3)\n"
          "  --tracker-ms N        progress tracker flush period (default 1)\n"
          "  --fail-every N        every Nth job fails (default 0: never)\n"
          "  --store-timeout-ms N  Redis connect/command timeout (default 2000)\n"
          "  --misbehave W         html | no-events | hang (test fixtures)\n"
          "  --index               GET /index/{id}: a status index updated with every write,\n"
          "                        a second read path (seed 003: both must agree)\n"
          "  --missing A           GET /jobs/{id} of a job that does not exist: not-found\n"
          "                        (404 NOT_FOUND, default) or unknown (200 and the unknown\n"
          "                        dict, seed 001's text)\n"
          "  --lock-read-ms N      a record's safe reads fail for N ms after each write of it\n"
          "                        (a writer's file lock; default 0)\n"
          "  --break LIST          break contracts on purpose (test fixtures), comma-separated:\n"
          "                        stale-body stale-echo refused-body not-found-body\n"
          "                        unknown-body finalize-log legacy-version leave-tmp\n"
          "                        state-split updated-at-format updated-at-back results-late\n"
          "                        count-early index-late retry-budget\n"
          "  --quiet               no diagnostic log lines (the structured finalize line stays)\n"
          "Prints 'listening on 127.0.0.1:PORT' when ready; SIGTERM stops it.\n",
          f);
}

static int parse_int(const char *s, const char *name, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < 0 || v > 1000000000) {
        fprintf(stderr, "research-service: %s: not a non-negative integer: %s\n", name, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_enum(const char *s, const char *name, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    fprintf(stderr, "research-service: %s: unknown value %s\n", name, s);
    return -1;
}

/* --break a,b,...: enum rs_break bits, in its order. */
static int parse_breaks(const char *list)
{
    static const char *const names[] = {"stale-body",   "stale-echo",     "refused-body",
                                        "not-found-body", "unknown-body", "finalize-log",
                                        "legacy-version", "leave-tmp",    "state-split",
                                        "updated-at-format", "updated-at-back", "results-late",
                                        "count-early", "index-late", "retry-budget"};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int v;
        if (parse_enum(w, "--break", names, (int)(sizeof names / sizeof names[0]), &v) != 0)
            return -1;
        rs_opt.breaks |= 1u << v;
    }
    return 0;
}

static int parse_redis(const char *s)
{
    static char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host ||
        parse_int(colon + 1, "--redis port", &rs_opt.redis_port) != 0) {
        fprintf(stderr, "research-service: --redis: expected HOST:PORT, got %s\n", s);
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    rs_opt.redis_host = host;
    return 0;
}

/* Recovery at start: a temporary copy (NAME.tmp*) is what a writer killed
 * between its write and its rename left; the main file or its .bak still
 * holds the record, so the leftover goes (seed 001: .tmp only during a
 * write). */
static void remove_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp") && unlinkat(dirfd(d), e->d_name, 0) == 0 && !rs_opt.quiet)
            rs_log("removed %s/%s left by an interrupted write", dir, e->d_name);
    if (d)
        closedir(d);
}

/* 0 ok, 1 --help, -1 bad usage (message printed). */
static int parse_args(int argc, char **argv)
{
    static const char *const modes[] = {"two-writes", "emit-first", "atomic"};
    static const char *const bad[] = {"ok", "html", "no-events", "hang"};
    static const struct option lo[] = {
        {"port", 1, 0, 'p'}, {"mode", 1, 0, 'm'}, {"redis", 1, 0, 'r'}, {"prefix", 1, 0, 'P'},
        {"dir", 1, 0, 'd'}, {"file-naive", 0, 0, 'n'}, {"unsafe-read", 0, 0, 'u'},
        {"worker-delay-ms", 1, 0, 'w'}, {"steps", 1, 0, 's'}, {"tracker-ms", 1, 0, 't'},
        {"fail-every", 1, 0, 'f'}, {"store-timeout-ms", 1, 0, 'T'}, {"misbehave", 1, 0, 'x'},
        {"quiet", 0, 0, 'q'}, {"persist", 1, 0, 'F'}, {"help", 0, 0, 'h'},
        {"break", 1, 0, 'B'}, {"lock-read-ms", 1, 0, 'L'}, {"update-delay-ms", 1, 0, 'D'},
        {"missing", 1, 0, 'M'}, {"index", 0, 0, 'I'}, {0, 0, 0, 0}};
    static const char *const missing[] = {"not-found", "unknown"};
    static const char *const persists[] = {"fsync", "naive", "durable"};
    int o, v, rc = 0;
    while (rc == 0 && (o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (o) {
        case 'p': rc = parse_int(optarg, "--port", &rs_opt.port); break;
        case 'm': rc = parse_enum(optarg, "--mode", modes, 3, &v); rs_opt.mode = v; break;
        case 'r': rc = parse_redis(optarg); break;
        case 'P': rs_opt.prefix = optarg; break;
        case 'd': rs_opt.dir = optarg; break;
        case 'n': rs_opt.persist = RS_PERSIST_NAIVE; break;
        case 'F': rc = parse_enum(optarg, "--persist", persists, 3, &v); rs_opt.persist = v; break;
        case 'u': rs_opt.unsafe_read = 1; break;
        case 'w': rc = parse_int(optarg, "--worker-delay-ms", &rs_opt.worker_delay_ms); break;
        case 's': rc = parse_int(optarg, "--steps", &rs_opt.steps); break;
        case 'D': rc = parse_int(optarg, "--update-delay-ms", &rs_opt.update_delay_ms); break;
        case 't': rc = parse_int(optarg, "--tracker-ms", &rs_opt.tracker_ms); break;
        case 'f': rc = parse_int(optarg, "--fail-every", &rs_opt.fail_every); break;
        case 'T': rc = parse_int(optarg, "--store-timeout-ms", &rs_opt.store_timeout_ms); break;
        case 'x': rc = parse_enum(optarg, "--misbehave", bad, 4, &v); rs_opt.misbehave = v; break;
        case 'q': rs_opt.quiet = 1; break;
        case 'B': rc = parse_breaks(optarg); break;
        case 'L': rc = parse_int(optarg, "--lock-read-ms", &rs_opt.lock_read_ms); break;
        case 'M':
            rc = parse_enum(optarg, "--missing", missing, 2, &v);
            rs_opt.missing_unknown = v;
            break;
        case 'I': rs_opt.index = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "research-service: unexpected argument %s\n", argv[optind]);
        rc = -1;
    }
    if (rc == 0 && !rs_opt.redis_host && !rs_opt.dir) {
        fprintf(stderr, "research-service: give --redis HOST:PORT or --dir DIR\n");
        rc = -1;
    }
    if (rc == 0 && rs_opt.dir && mkdir(rs_opt.dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "research-service: --dir %s: %s\n", rs_opt.dir, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rs_opt.dir && !rs_opt.redis_host)
        remove_temps(rs_opt.dir);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* threads inherit; main waits */
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)rs_opt.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "research-service: cannot listen on 127.0.0.1:%d\n", rs_opt.port);
        return 2;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on 127.0.0.1:%u\n", info ? info->port : (unsigned)rs_opt.port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    atomic_store(&stopping, 1);
    rs_ws_shutdown_all();
    MHD_stop_daemon(d);
    if (!rs_opt.quiet)
        rs_log("stopped");
    return 0;
}

/* torn HTTP target: the internal header of targets/http/ (as curl's
 * vtls_int.h is of lib/vtls/); the rest of torn includes http.h, and fuzz/
 * and tests/unit/ include this one to reach the parsers.  The rooms, from
 * the bottom up: http_util.c (URL templates and origins, buffers: calls no
 * other file here; JSON pointers are core/jsonptr.h's), then http_events.c
 * (WebSocket and Server-Sent Events subscriptions, configured by struct
 * http_events_cfg), http_service.c (a service torn starts),
 * http_contract.c (response contracts), http_invariant.c, http_layout.c,
 * http_log.c, http_paths.c, http_retry.c (the spec's other criteria), and
 * on top http.c (spec, requests, the ops table), which calls them all and
 * is called by none. */
#ifndef TORN_TARGET_HTTP_INT_H
#define TORN_TARGET_HTTP_INT_H

#include "http.h"

#include "core/expect.h"
#include "core/invariant.h"
#include "core/jsonptr.h"
#include "core/layout.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct torn_err;
struct torn_sub;
struct http_events;

#define HTTP_MAX_VALUES 8
#define HTTP_MAX_BODY (64u << 20)   /* largest response body torn accepts */
#define HTTP_MAX_EVENT (1u << 20)   /* largest event (SSE event, WebSocket message) */

/* Append n bytes to the NUL-terminated growable buffer (*buf, *len, *cap),
 * growing it geometrically: 0, TORN_E_PROTOCOL when *len would go over max
 * (nothing appended), TORN_E_NOMEM. */
int http_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n,
                    size_t max);

/* Outcomes of an answer a response contract is stated for
 * (http_contract.c). */
enum http_outcome {
    HTTP_OUT_SUCCESS,
    HTTP_OUT_STALE,
    HTTP_OUT_REFUSED,
    HTTP_OUT_NOT_FOUND,
    HTTP_OUT_UNKNOWN,
    HTTP_OUT_COUNT
};
extern const char *const http_outcome_names[HTTP_OUT_COUNT];
#define HTTP_MAX_FINDINGS 1000     /* contract findings one process posts */
#define HTTP_LOG_SUBS 64           /* subscriptions a worker remembers the job of */
#define HTTP_LOG_NEVER 32          /* log.never strings */

/* One endpoint of the spec: pointers into the spec object (cfg->spec). */
struct http_endpoint {
    const char *method;            /* "POST" */
    const char *path;              /* URL template, "/research/{id}" */
    const struct cJSON *body;      /* body template or NULL */
    const struct cJSON *headers;   /* object of header templates or NULL */
    long stale_status;             /* its own "stale, not applied" status, 0: the
                                      spec's (an API may answer 412 to a stale
                                      If-Match and 409 to a refused transition) */
    int present;
};

/* A parsed --target-spec (see docs/http-target.md). */
struct http_spec {
    struct http_endpoint create, read, reset, update, cas, transition;
    struct http_endpoint del;      /* "delete": removes a record torn created
                                      (http_cleanup.c); absent: they are listed */
    struct http_endpoint legacy;   /* stores a record as given (plant) */
    struct http_endpoint read_also; /* a second read path (http_paths.c) */
    const char *also_record_ptr;   /* read_also.record */
    const struct cJSON *also_agree; /* read_also.agree: record pointer: its pointer */
    const char *also_by;           /* read_also.by, a key of also_agree */
    const char *retry_header;      /* retries.header, or NULL (http_retry.c) */
    long retry_max;                /* retries.max, -1: no budget */
    const char *id_ptr;            /* JSON pointer of the id in create's response */
    const char *record_ptr;        /* pointer of the record in read's response */
    const char *field_ptr[6];      /* status, results, version, _updated_at, error, id */
    long stale_status;             /* 409; an endpoint may have its own */
    int events_sse;                /* 0 WebSocket, 1 Server-Sent Events */
    const char *events_url;        /* URL template */
    const char *type_ptr;          /* pointer of the event type in a message */
    const char *completed[HTTP_MAX_VALUES], *failed[HTTP_MAX_VALUES];
    size_t n_completed, n_failed;
    const char *terminal[HTTP_MAX_VALUES];
    size_t n_terminal;
    /* a service torn starts (http_service.c); NULL svc_command: none */
    const struct cJSON *svc_command; /* service.command: array of strings */
    const char *svc_ready_path;    /* service.ready.path, "/" */
    int svc_ready_ms;              /* service.ready.timeout_ms, 0 = default */
    int svc_stop_ms;               /* service.stop_timeout_ms */
    const char *file_main, *file_backup; /* files.main/backup templates or NULL */
    struct http_endpoint dual_write, dual_read;
    const char *dual_ptr[4];       /* dual_read pointers: a, b, count, total */
    /* "responses": per outcome, the contract object or NULL, its status (0:
     * any) and its body expectations (object of pointer: expectation) */
    const struct cJSON *contract[HTTP_OUT_COUNT];
    long contract_status[HTTP_OUT_COUNT];
    const struct cJSON *contract_body[HTTP_OUT_COUNT];
    int missing_unknown;           /* "missing": "unknown": a record that does not
                                      exist answers read like an unrecoverable one
                                      (seed 001's text: 200 and the unknown dict);
                                      0: a 404 (the default) */
    /* "log" (http_log.c) */
    int log_on;                    /* the spec has "log" */
    const char *log_path;          /* log.path template, or NULL: the service's output */
    const struct cJSON *log_never; /* array of fixed strings, or NULL */
    const char *log_final_ptr[2];  /* per_finalization id, version pointers, or NULL */
    const struct cJSON *invariants; /* "invariants" object, or NULL (http_invariant.c) */
    const struct cJSON *layout;    /* "layout" object, or NULL (http_layout.c) */
    int layout_settle_ms;
};

/* The status meaning "stale, not applied" for endpoint ep of sp. */
static inline long http_stale_status(const struct http_spec *sp, const struct http_endpoint *ep)
{
    return ep->stale_status ? ep->stale_status : sp->stale_status;
}

/* Which record operation an answer came from (UNJUDGED: dual_write and
 * legacy, which no contract or invariant covers). */
enum http_op { HTTP_OP_OTHER, HTTP_OP_READ, HTTP_OP_CAS, HTTP_OP_TRANSITION, HTTP_OP_UNJUDGED };

/* One answer, as a contract judges it. */
struct http_answer {
    struct torn_expect_ctx x;      /* the record's id (or NULL) and
                                      update_if_version's expected version (or -1) */
    enum http_op op;
    long status;
    const char *body;              /* raw bytes (not NUL-terminated), len */
    size_t len;
    const struct cJSON *doc;       /* the body parsed, or NULL when not JSON */
    const char *method, *url;
};

/* Parse "responses" (http_contract.c): 0 or TORN_E_CONFIG naming the
 * field. */
int http_spec_contracts(const struct cJSON *spec, const char *file, struct http_spec *sp,
                        struct torn_err *err);
/* The outcome answer a is (HTTP_OUT_COUNT: an error no contract covers). */
enum http_outcome http_outcome_of(const struct http_spec *sp, const struct http_answer *a);

/* Hold answer a to its outcome's contract; a mismatch is posted as a
 * finding "contract-<outcome>" under log_dir (core/finding.h). */
void http_contract_judge(const struct http_spec *sp, const char *log_dir,
                         const struct http_answer *a);

extern const char *const http_field_names[6];

/* Parse and validate spec (path names the file in messages).  0 or
 * TORN_E_CONFIG "target spec FILE: field X: ...". */
int http_spec_parse(const struct cJSON *spec, const char *path, struct http_spec *sp,
                    struct torn_err *err);


/* Values a template's placeholders ({id}, {to}, {version}, {n}, {group},
 * {member}, {amount}) take. */
struct http_vars {
    const char *id;
    const struct cJSON *patch, *input, *from;
    const char *to;
    long long version;            /* -1: none */
    uint64_t n;
    const char *group, *member;   /* dual_write / dual_read */
    long long amount;             /* dual_write; -1: none */
};
/* Substitute the placeholders of vars v in tmpl; URL-escape values when
 * escape.  Unknown placeholders stay as written.  malloc'd or NULL. */
char *http_expand_text(const char *tmpl, const struct http_vars *v, int escape);
/* Expand a URL template against base ("http://h:p") with {id} etc.
 * substituted (URL-escaped); malloc'd. */
char *http_expand_url(const char *base, const char *tmpl, const char *id);

/* 0 when url (an expanded spec URL) may be requested for a target at base
 * ("http://h:p"): same scheme (ws = http, wss = https), host and port, or
 * another origin whose host passes the remote gate (loopback, or
 * allow_remote).  TORN_E_CONFIG naming the URL otherwise. */
int http_url_confine(const char *base, int allow_remote, const char *url, struct torn_err *err);

struct torn_server;
struct torn_target;
enum torn_fault;

#define HTTP_LAYOUT_ALSO 16        /* layout.also globs */
enum torn_corruption;


/* Private state of an open handle (lives in t->priv). */
/* Staging clean-up (http_cleanup.c).  Note that this process created the
 * record id on the service (a job through "create", a record through
 * "reset"), in a file of the run directory every process appends to. */
void http_created_note(struct torn_target *t, const char *id);
/* In the runner's process at teardown: send the spec's "delete" for every
 * record noted (once each; a 2xx or 404 answer = gone), under the run-wide
 * rate cap, and print one line saying how many were deleted and which
 * could not be; without a "delete" endpoint, print them all as left. */
void http_cleanup(struct torn_target *t);
/* One "delete" request for id (http.c): 0 when it is gone (2xx, 404). */
int http_delete_one(struct torn_target *t, const char *id, struct torn_err *err);

struct http_priv {
    struct torn_server *srv;       /* the service torn started (setup's
                                      process owns it), or NULL */
    struct http_spec sp;
    char base[256];                /* scheme://host:port, no trailing slash */
    int timeout_ms;
    int allow_remote;              /* --allow-remote: other origins may be remote */
    int warm;                      /* the last request succeeded: its connection
                                      may be reused by the next one */
    char confined[300];            /* the last URL http_url_confine let through, */
    char confined_base[256];       /* ... against this base */
    void *curl;                    /* CURL *, created by open */
    void *hdr_plain[2];            /* struct curl_slist * without/with a body, built by open */
    struct http_events *ev;        /* subscriptions' machinery, lazily */
    uint64_t n_created;
    uint64_t n_reads;              /* reads so far: read_also goes first on odd ones */
    uint64_t seed;
    /* log criteria (http_log.c): each worker's recent subscriptions, and in
     * the runner's process how far the log and the ids file were read */
    struct {
        const struct torn_sub *sub;
        char id[64];
    } subs[HTTP_LOG_SUBS];
    size_t n_subs;
    long long log_off, ids_off;
    /* record invariants (http_invariant.c): the last (by, time) seen of
     * records, hashed by id, for "ordered"; findings posted */
    struct torn_inv_state inv;
    /* store layout (http_layout.c): strays already reported (runner's process) */
    struct torn_layout_memo layout_memo;
};

/* Two read paths (http_paths.c): parse read_also's record, agree and by
 * (after the endpoint itself); http.c judges through core/paths.h. */
int http_spec_paths(const struct cJSON *spec, const char *file, struct http_spec *sp,
                    struct torn_err *err);

/* Retries counted (http_retry.c): parse "retries", and count the header's
 * value (NULL: the answer had none) of an answer to method url. */
int http_spec_retries(const struct cJSON *spec, const char *file, struct http_spec *sp,
                      struct torn_err *err);
void http_retries_judge(const struct http_spec *sp, const char *log_dir, const char *method,
                        const char *url, const char *id, const char *value);

/* Store layout (http_layout.c): parse "layout" (after "service" and
 * "files"), and ops->observe's check of the service's data directory. */
int http_spec_layout(const struct cJSON *spec, const char *file, struct http_spec *sp,
                     struct torn_err *err);
void http_layout_observe(struct torn_target *t);

/* Record invariants (http_invariant.c). */
int http_spec_invariants(const struct cJSON *spec, const char *file, struct http_spec *sp,
                         struct torn_err *err);
/* Judge the record a 2xx answer a carries against every invariant. */
void http_invariants_judge(struct torn_target *t, const struct http_answer *a);

/* Log criteria (http_log.c). */
/* Parse "log" (after service and events): 0 or TORN_E_CONFIG. */
int http_spec_log(const struct cJSON *spec, const char *file, struct http_spec *sp,
                  struct torn_err *err);
/* A worker subscribed sub to job id / received event ev on sub: a terminal
 * event notes the job as ended for per_finalization. */
void http_log_subscribed(struct http_priv *p, const struct torn_sub *sub, const char *id);
void http_log_event(struct torn_target *t, const struct torn_sub *sub, const struct cJSON *ev);
/* ops->observe: read the log since the last call, post log-forbidden and
 * log-finalize findings. */
void http_log_observe(struct torn_target *t);

/* The service (http_service.c). */
/* Parse "service", "files", "dual_read" pointers (after the endpoints). */
int http_spec_service(const struct cJSON *spec, const char *file, struct http_spec *sp,
                      struct torn_err *err);
/* Start the spec's service (setup): p->srv and p->base set. */
int http_service_start(struct torn_target *t, struct torn_err *err);
/* Stop it and remove its directory (teardown); no-op without one. */
void http_service_stop(struct torn_target *t);
/* ops->fault: SERVER_KILL (args {"reap": false}: no wait), SERVER_RESTART. */
int http_service_fault(struct torn_target *t, enum torn_fault kind, const struct cJSON *args,
                       struct torn_err *err);
/* ops->corrupt on the spec's files. */
int http_service_corrupt(struct torn_target *t, const char *id, enum torn_corruption how,
                         struct torn_err *err);
/* What a target with this spec can do (enum torn_cap bits). */
unsigned http_service_caps(const struct http_spec *sp);
/* libcurl write callback that drops the body. */
size_t http_discard(char *data, size_t size, size_t nmemb, void *arg);

/* Events (http_events.c), configured by their own small struct rather than
 * the whole handle: http.c fills it from the spec and the handle. */
struct http_events_cfg {
    const char *base;              /* the target's origin, "http://h:p" */
    const char *url;               /* events URL template; NULL: no channel */
    int sse;                       /* 0 WebSocket, 1 Server-Sent Events */
    const char *type_ptr;          /* pointer of the event type in a message */
    const char *const *completed, *const *failed;   /* type values */
    size_t n_completed, n_failed;
    int timeout_ms;                /* every wait's bound */
    int allow_remote;              /* another origin may be remote */
};
/* The spec's part of cfg (url, sse, type_ptr, completed, failed); the rest
 * zeroed. */
void http_events_cfg_spec(const struct http_spec *sp, struct http_events_cfg *cfg);
/* Subscribe to job id's events: *evp is the handle's machinery, made by
 * the first subscribe (cfg is copied into it, its strings must outlive it).
 * 0 and *sub_out, or TORN_E_UNSUPPORTED (no channel), _CONFIG, _CONNECT,
 * _TIMEOUT, _NOMEM. */
int http_subscribe(struct http_events **evp, const struct http_events_cfg *cfg, const char *id,
                   struct torn_sub **sub_out, struct torn_err *err);
/* The next event of sub within timeout_ms (caller frees *event_out). */
int http_next_event(struct torn_sub *sub, int timeout_ms, struct cJSON **event_out,
                    struct torn_err *err);
/* Stop and free sub (also one orphaned by http_events_close); NULL ok. */
void http_unsubscribe(struct torn_sub *sub);
/* Stop every subscription (each then only frees) and free *evp. */
void http_events_close(struct http_events **evp);

/* Fuzzing entry points (fuzz/): the parsers of untrusted bytes,
 * without a network. */
/* Interpret a 2xx response body the way record_call does (JSON, then the
 * spec's record and field pointers): 0 and *rec_out (caller frees), or
 * TORN_E_PROTOCOL / TORN_E_NOMEM. */
int http_body_record(const struct http_spec *sp, const char *body, size_t len, const char *id,
                     struct cJSON **rec_out, struct torn_err *err);
/* Feed bytes received on an event channel through the receive path: one
 * WebSocket message (sse 0), or a Server-Sent Events stream arriving in
 * pieces of `piece` bytes (sse 1; 0 = all at once).  *events_out is the
 * array of queued events (caller frees). */
int http_events_feed(const struct http_spec *sp, int sse, const char *data, size_t len,
                     size_t piece, struct cJSON **events_out);

#endif

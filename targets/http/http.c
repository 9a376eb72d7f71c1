/* torn target "http": an HTTP service described by a spec file
 * (--target http://HOST:PORT --target-spec FILE.json), or one torn starts
 * itself from the spec's "service" (--target http, see http_service.c).
 * Every spec URL stays on the target's origin.  Requests go through
 * one libcurl easy handle per open handle, so the connection is reused;
 * events come over WebSocket (libwebsockets) or Server-Sent Events (libcurl),
 * see http_events.c.  The spec format is documented in docs/http-target.md. */
#include "core/target.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/paths.h"
#include "core/record.h"
#include "core/throttle.h"
#include "http_int.h"
#include "core/util.h"

const char *const http_field_names[6] = {"status", "results", "version", "_updated_at", "error",
                                         "id"};

/* Expand a body template: strings "{patch}", "{input}", "{from}" become
 * those JSON values, "{version}" a number, other strings get textual
 * substitution; objects and arrays recurse. */
static cJSON *expand_json(const cJSON *tmpl, const struct http_vars *v)
{
    if (cJSON_IsString(tmpl)) {
        const char *s = tmpl->valuestring;
        if (strcmp(s, "{patch}") == 0)
            return v->patch ? cJSON_Duplicate(v->patch, 1) : cJSON_CreateObject();
        if (strcmp(s, "{input}") == 0)
            return v->input ? cJSON_Duplicate(v->input, 1) : cJSON_CreateObject();
        if (strcmp(s, "{from}") == 0)
            return v->from ? cJSON_Duplicate(v->from, 1) : cJSON_CreateArray();
        if (strcmp(s, "{version}") == 0 && v->version >= 0)
            return cJSON_CreateNumber((double)v->version);
        if (strcmp(s, "{amount}") == 0 && v->member && v->amount >= 0)
            return cJSON_CreateNumber((double)v->amount);
        char *t = http_expand_text(s, v, 0);
        cJSON *r = t ? cJSON_CreateString(t) : NULL;
        free(t);
        return r;
    }
    if (!cJSON_IsObject(tmpl) && !cJSON_IsArray(tmpl))
        return cJSON_Duplicate(tmpl, 1);
    cJSON *out = cJSON_IsObject(tmpl) ? cJSON_CreateObject() : cJSON_CreateArray();
    for (const cJSON *c = tmpl->child; out && c; c = c->next) {
        cJSON *e = expand_json(c, v);
        if (!e) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_IsObject(tmpl))
            cJSON_AddItemToObject(out, c->string, e);
        else
            cJSON_AddItemToArray(out, e);
    }
    return out;
}

/* ---- spec ---- */

/* Is url a path ("/...") or an absolute URL of an allowed scheme (http,
 * https; also ws, wss for event channels)?  Anything else (file:, ftp:,
 * gopher:, "host/x") is refused: libcurl would follow it. */
static int url_scheme_ok(const char *url, int events)
{
    static const char *const schemes[] = {"http://", "https://", "ws://", "wss://"};
    if (url[0] == '/')
        return 1;
    for (size_t i = 0; i < (events ? 4u : 2u); i++)
        if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
            return 1;
    return 0;
}

/* RFC 9110 token characters, which is what a header name may contain. */
static int header_name_ok(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return 0;
    return 1;
}

static int spec_fail(struct torn_err *err, const char *path, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s", path ? path : "(none)",
                        field, why);
}

static const char *spec_str(const cJSON *o, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* Parse endpoint `name`; required endpoints must be present. */
static int spec_endpoint(const cJSON *spec, const char *file, const char *name,
                         const char *dflt_method, int required, struct http_endpoint *ep,
                         struct torn_err *err)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    char field[64];
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(spec, name);
    memset(ep, 0, sizeof *ep);
    if (!o)
        return required ? spec_fail(err, file, name, "missing") : 0;
    if (!cJSON_IsObject(o))
        return spec_fail(err, file, name, "must be an object");
    snprintf(field, sizeof field, "%s.path", name);
    ep->path = spec_str(o, "path", NULL);
    if (!ep->path)
        return spec_fail(err, file, field, "missing (a path starting with / or an http(s) URL)");
    if (!url_scheme_ok(ep->path, 0))
        return spec_fail(err, file, field,
                         "must start with / or be an http:// or https:// URL (no other scheme)");
    ep->method = spec_str(o, "method", dflt_method);
    size_t i;
    for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(ep->method, methods[i]) == 0)
            break;
    snprintf(field, sizeof field, "%s.method", name);
    if (i == sizeof methods / sizeof methods[0])
        return spec_fail(err, file, field, "not one of GET, POST, PUT, PATCH, DELETE");
    ep->body = cJSON_GetObjectItemCaseSensitive(o, "body");
    ep->headers = cJSON_GetObjectItemCaseSensitive(o, "headers");
    snprintf(field, sizeof field, "%s.headers", name);
    if (ep->headers && !cJSON_IsObject(ep->headers))
        return spec_fail(err, file, field, "must be an object of strings");
    for (const cJSON *h = ep->headers ? ep->headers->child : NULL; h; h = h->next) {
        snprintf(field, sizeof field, "%s.headers.%.40s", name, h->string);
        if (!cJSON_IsString(h))
            return spec_fail(err, file, field, "must be a string");
        if (!header_name_ok(h->string))
            return spec_fail(err, file, field, "not a valid header name (letters, digits, -)");
        if (strpbrk(h->valuestring, "\r\n"))
            return spec_fail(err, file, field, "contains a CR or LF (header injection)");
    }
    const cJSON *stale = cJSON_GetObjectItemCaseSensitive(o, "stale_status");
    snprintf(field, sizeof field, "%s.stale_status", name);
    if (stale && (!cJSON_IsNumber(stale) || stale->valueint < 100 || stale->valueint > 599))
        return spec_fail(err, file, field, "must be an HTTP status code");
    ep->stale_status = stale ? stale->valueint : 0;
    ep->present = 1;
    return 0;
}

/* Read a pointer field: absent = dflt; present must be a valid pointer. */
static int spec_pointer(const cJSON *o, const char *file, const char *field, const char *name,
                        const char *dflt, const char **out, struct torn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *out = dflt;
    if (!v)
        return dflt ? 0 : spec_fail(err, file, field, "missing");
    if (!cJSON_IsString(v) || !torn_json_pointer_valid(v->valuestring))
        return spec_fail(err, file, field,
                         "not a JSON pointer (\"\" or \"/a/b\", RFC 6901)");
    *out = v->valuestring;
    return 0;
}

static int spec_strings(const cJSON *o, const char *file, const char *field, const char **out,
                        size_t *n_out, int required, struct torn_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, strrchr(field, '.') + 1), *e;
    *n_out = 0;
    if (!a)
        return required ? spec_fail(err, file, field, "missing") : 0;
    if (cJSON_IsString(a)) {
        out[(*n_out)++] = a->valuestring;
        return 0;
    }
    if (!cJSON_IsArray(a))
        return spec_fail(err, file, field, "must be a string or an array of strings");
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e) || *n_out == HTTP_MAX_VALUES)
            return spec_fail(err, file, field, "must be an array of at most 8 strings");
        out[(*n_out)++] = e->valuestring;
    }
    if (required && *n_out == 0)
        return spec_fail(err, file, field, "must not be empty");
    return 0;
}

static int spec_events(const cJSON *spec, const char *file, struct http_spec *sp,
                       struct torn_err *err)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(spec, "events");
    if (!ev)
        return 0;   /* no event channel: create/subscribe unsupported */
    if (!cJSON_IsObject(ev))
        return spec_fail(err, file, "events", "must be an object");
    const char *kind = spec_str(ev, "kind", "websocket");
    if (strcmp(kind, "websocket") != 0 && strcmp(kind, "sse") != 0)
        return spec_fail(err, file, "events.kind", "must be \"websocket\" or \"sse\"");
    sp->events_sse = strcmp(kind, "sse") == 0;
    sp->events_url = spec_str(ev, "url", NULL);
    if (!sp->events_url || !url_scheme_ok(sp->events_url, 1))
        return spec_fail(err, file, "events.url",
                         "missing, or neither a path starting with / nor a ws://, wss://, "
                         "http:// or https:// URL");
    int rc = spec_pointer(ev, file, "events.type", "type", NULL, &sp->type_ptr, err);
    if (!rc)
        rc = spec_strings(ev, file, "events.completed", sp->completed, &sp->n_completed, 1, err);
    if (!rc)
        rc = spec_strings(ev, file, "events.failed", sp->failed, &sp->n_failed, 0, err);
    return rc;
}

static int spec_read(const cJSON *spec, const char *file, struct http_spec *sp,
                     struct torn_err *err)
{
    int rc = spec_endpoint(spec, file, "read", "GET", 1, &sp->read, err);
    const cJSON *rd = cJSON_GetObjectItemCaseSensitive(spec, "read");
    if (!rc)
        rc = spec_pointer(rd, file, "read.record", "record", "", &sp->record_ptr, err);
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rd, "fields");
    if (!rc && fields && !cJSON_IsObject(fields))
        rc = spec_fail(err, file, "read.fields", "must be an object of JSON pointers");
    for (int i = 0; !rc && i < 6; i++) {
        char field[64], dflt[32];
        snprintf(field, sizeof field, "read.fields.%s", http_field_names[i]);
        snprintf(dflt, sizeof dflt, "/%s", http_field_names[i]);
        rc = spec_pointer(fields, file, field, http_field_names[i], NULL, &sp->field_ptr[i], err);
        if (rc && !cJSON_GetObjectItemCaseSensitive(fields, http_field_names[i])) {
            torn_err_clear(err);
            rc = 0;
            sp->field_ptr[i] = NULL;   /* canonical name at the record's top level */
        }
    }
    return rc;
}

int http_spec_parse(const cJSON *spec, const char *file, struct http_spec *sp,
                    struct torn_err *err)
{
    memset(sp, 0, sizeof *sp);
    if (!spec)
        return torn_err_set(err, TORN_E_CONFIG,
                            "http target: needs --target-spec FILE.json (see docs/http-target.md)");
    if (!cJSON_IsObject(spec))
        return torn_err_set(err, TORN_E_CONFIG, "target spec %s: not a JSON object", file);
    int rc = spec_endpoint(spec, file, "create", "POST", 0, &sp->create, err);
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(spec, "create");
    if (!rc && sp->create.present)
        rc = spec_pointer(cr, file, "create.id", "id", NULL, &sp->id_ptr, err);
    if (!rc)
        rc = spec_read(spec, file, sp, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "reset", "PUT", 0, &sp->reset, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "update", "PATCH", 0, &sp->update, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "update_if_version", "PATCH", 0, &sp->cas, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "transition", "POST", 0, &sp->transition, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "delete", "DELETE", 0, &sp->del, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "legacy", "PUT", 0, &sp->legacy, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "read_also", "GET", 0, &sp->read_also, err);
    if (!rc)
        rc = http_spec_paths(spec, file, sp, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "dual_write", "POST", 0, &sp->dual_write, err);
    if (!rc)
        rc = spec_endpoint(spec, file, "dual_read", "GET", 0, &sp->dual_read, err);
    if (!rc)
        rc = http_spec_service(spec, file, sp, err);
    if (!rc)
        rc = spec_events(spec, file, sp, err);
    if (!rc)
        rc = http_spec_contracts(spec, file, sp, err);
    if (!rc)
        rc = http_spec_log(spec, file, sp, err);
    if (!rc)
        rc = http_spec_invariants(spec, file, sp, err);
    if (!rc)
        rc = http_spec_layout(spec, file, sp, err);
    if (!rc)
        rc = http_spec_retries(spec, file, sp, err);
    if (!rc)
        rc = spec_strings(spec, file, "spec.terminal_statuses", sp->terminal, &sp->n_terminal, 0,
                          err);
    if (!rc && sp->n_terminal == 0) {
        sp->terminal[sp->n_terminal++] = "completed";
        sp->terminal[sp->n_terminal++] = "failed";
    }
    const cJSON *stale = cJSON_GetObjectItemCaseSensitive(spec, "stale_status");
    sp->stale_status = 409;
    if (!rc && stale && (!cJSON_IsNumber(stale) || stale->valueint < 100 || stale->valueint > 599))
        rc = spec_fail(err, file, "stale_status", "must be an HTTP status code");
    else if (stale)
        sp->stale_status = stale->valueint;
    return rc;
}

/* ---- requests ---- */

struct resp {
    long status;
    char *body;
    size_t len, cap;
    int too_big;                  /* the body went over HTTP_MAX_BODY */
    int warm;                     /* a kept-alive connection may have carried it */
    char ctype[80];
    char url[300];
    const char *method;
    char retries[48];             /* the spec's retries header, when it came */
    int has_retries;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct resp *r = arg;
    size_t n = size * nmemb;
    int rc = http_buf_append(&r->body, &r->len, &r->cap, data, n, HTTP_MAX_BODY);
    r->too_big = rc == TORN_E_PROTOCOL;
    return rc ? 0 : n;   /* 0 makes libcurl stop with CURLE_WRITE_ERROR */
}

static struct curl_slist *build_headers(const struct http_endpoint *ep, const struct http_vars *v,
                                        int has_body)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (has_body)
        h = curl_slist_append(h, "Content-Type: application/json");
    for (const cJSON *c = ep->headers ? ep->headers->child : NULL; h && c; c = c->next) {
        if (!cJSON_IsString(c))
            continue;
        char *val = http_expand_text(c->valuestring, v, 0);
        char *line = val && !strpbrk(val, "\r\n") ? torn_asprintf("%s: %s", c->string, val)
                                                   : NULL;
        struct curl_slist *nh = line ? curl_slist_append(h, line) : NULL;
        if (!nh) {   /* out of memory, or a substituted value with CR/LF */
            curl_slist_free_all(h);
            h = NULL;
        } else {
            h = nh;
        }
        free(val);
        free(line);
    }
    return h;
}

/* Map a libcurl failure to a torn code: nothing sent = definite. */
static int curl_fail(struct torn_err *err, CURLcode cc, const struct resp *r, const char *ebuf)
{
    const char *why = *ebuf ? ebuf : curl_easy_strerror(cc);
    int rc;
    if (cc == CURLE_WRITE_ERROR && r->too_big) {
        rc = torn_err_set(err, TORN_E_PROTOCOL, "%s %s: response body over %u bytes: refused",
                          r->method, r->url, (unsigned)HTTP_MAX_BODY);
        if (err)
            err->indefinite = strcmp(r->method, "GET") != 0;
        return rc;
    }
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        /* On a kept-alive connection libcurl sends the request, and when the
         * server dies before answering it retries on a new connection; that
         * connect failing hides a request the server may have applied. */
        rc = torn_err_set(err, TORN_E_CONNECT, "%s %s: cannot connect%s: %s", r->method, r->url,
                          r->warm ? " (after the kept-alive connection broke)" : "", why);
        if (err)
            err->indefinite = r->warm && strcmp(r->method, "GET") != 0;
        return rc;
    case CURLE_OPERATION_TIMEDOUT:
        return torn_err_set(err, TORN_E_TIMEOUT, "%s %s: no answer in time: %s", r->method,
                            r->url, why);
    default:
        rc = torn_err_set(err, TORN_E_IO, "%s %s: %s", r->method, r->url, why);
        if (err)
            err->indefinite = strcmp(r->method, "GET") != 0;
        return rc;
    }
}

/* Send one request for endpoint ep.  0 with r filled (any HTTP status),
 * or a negative code. */
static int request(struct http_priv *p, const struct http_endpoint *ep, const struct http_vars *v,
                   const cJSON *dflt_body, struct resp *r, struct torn_err *err)
{
    CURL *c = p->curl;
    char *path = http_expand_text(ep->path, v, 1), *body = NULL, ebuf[CURL_ERROR_SIZE] = "";
    memset(r, 0, sizeof *r);
    r->method = ep->method;
    if (!path)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    int n = snprintf(r->url, sizeof r->url, "%s%s", path[0] == '/' ? p->base : "", path);
    free(path);
    if (n < 0 || (size_t)n >= sizeof r->url)
        return torn_err_set(err, TORN_E_CONFIG, "%s %.200s...: URL over %zu bytes", r->method,
                            r->url, sizeof r->url - 1);
    /* The same URL as the last one let through, against the same base,
     * needs no second look (a poll asks for one URL again and again; the
     * look parses two URLs). */
    if (strcmp(r->url, p->confined) != 0 || strcmp(p->base, p->confined_base) != 0) {
        int crc = http_url_confine(p->base, p->allow_remote, r->url, err);
        if (crc)
            return crc;
        snprintf(p->confined, sizeof p->confined, "%s", r->url);
        snprintf(p->confined_base, sizeof p->confined_base, "%s", p->base);
    }
    const cJSON *bt = ep->body ? ep->body : dflt_body;
    if (bt && strcmp(ep->method, "GET") != 0) {
        cJSON *b = expand_json(bt, v);
        body = b ? cJSON_PrintUnformatted(b) : NULL;
        cJSON_Delete(b);
        if (!body)
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    /* Endpoints without header templates share the headers built by open. */
    struct curl_slist *h = ep->headers ? build_headers(ep, v, body != NULL)
                                       : p->hdr_plain[body != NULL];
    if (!h) {
        free(body);
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "%s %s: a header template expanded to a value with CR/LF (or no "
                            "memory): not sent",
                            r->method, r->url);
    }
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(ep->method, "GET") ? ep->method : NULL);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    else if (strcmp(ep->method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    r->warm = p->warm;
    CURLcode cc = curl_easy_perform(c);
    p->warm = cc == CURLE_OK;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (ep->headers)
        curl_slist_free_all(h);
    free(body);
    if (cc != CURLE_OK) {
        int rc = curl_fail(err, cc, r, ebuf);
        free(r->body);
        r->body = NULL;
        return rc;
    }
    const char *ct = NULL;
    struct curl_header *hdr = NULL;
    if (p->sp.retry_header &&
        curl_easy_header(c, p->sp.retry_header, 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK) {
        snprintf(r->retries, sizeof r->retries, "%s", hdr->value);
        r->has_retries = 1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "none");
    return 0;
}

/* Is the body empty or only white space (a 204, or a 200 with nothing)? */
static int resp_blank(const struct resp *r)
{
    for (size_t i = 0; r->body && i < r->len; i++)
        if (!strchr(" \t\r\n", r->body[i]))
            return 0;
    return 1;
}

/* Parse r's body as JSON: *out or TORN_E_PROTOCOL naming the request. */
static int resp_json(const struct resp *r, cJSON **out, struct torn_err *err)
{
    *out = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    if (*out)
        return 0;
    if (r->status / 100 == 2 && resp_blank(r))
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "%s %s: HTTP %ld with an empty body: torn needs the record in the "
                            "answer (docs/http-target.md, \"The spec file\")",
                            r->method, r->url, r->status);
    char snippet[64] = "";
    for (size_t i = 0; r->body && i < r->len && i < sizeof snippet - 1; i++)
        snippet[i] = (r->body[i] >= 32 && r->body[i] < 127) ? r->body[i] : ' ';
    return torn_err_set(err, TORN_E_PROTOCOL,
                        "%s %s: HTTP %ld, body is not JSON (Content-Type %s): '%s'", r->method,
                        r->url, r->status, r->ctype, snippet);
}

/* Non-2xx that is not otherwise expected: TORN_E_REMOTE with the status. */
static int resp_status_fail(const struct resp *r, struct torn_err *err)
{
    char snippet[96] = "";
    for (size_t i = 0; r->body && i < r->len && i < sizeof snippet - 1; i++)
        snippet[i] = (r->body[i] >= 32 && r->body[i] < 127) ? r->body[i] : ' ';
    int rc = torn_err_set(err, TORN_E_REMOTE, "%s %s: HTTP %ld: %s", r->method, r->url, r->status,
                          snippet);
    if (err)
        err->indefinite = r->status >= 500 && strcmp(r->method, "GET") != 0;
    return rc;
}

/* Is ptr "/NAME", the pointer that leaves field NAME where it is? */
static int same_place(const char *ptr, const char *name)
{
    return ptr[0] == '/' && strcmp(ptr + 1, name) == 0;
}

/* Turn the response document *doc into a record with canonical field
 * names.  A record at the document's root is taken over (*doc becomes NULL)
 * instead of copied; fields are read from the document as it came, moved
 * only when their pointer is not their own name.  A field pointer not found
 * inside the record is looked up from the document's root, so a version
 * kept beside the record (record "/data", version "/meta/version") is
 * expressible. */
static int normalize(const struct http_spec *sp, cJSON **doc, const char *id,
                     const struct resp *r, cJSON **rec_out, struct torn_err *err)
{
    const cJSON *src = torn_json_pointer(*doc, sp->record_ptr);
    cJSON *moved[6] = {NULL};
    if (!cJSON_IsObject(src))
        return torn_err_set(err, TORN_E_PROTOCOL, "%s %s: no JSON object at pointer '%s'",
                            r->method, r->url, sp->record_ptr);
    for (int i = 0; i < 6; i++) {
        const char *ptr = sp->field_ptr[i];
        const cJSON *v = ptr && !same_place(ptr, http_field_names[i]) ? torn_json_pointer(src, ptr)
                                                                      : NULL;
        if (!v && ptr && src != *doc) /* beside the record: {"data":{..},"meta":{"version":7}} */
            v = torn_json_pointer(*doc, ptr);
        moved[i] = v ? cJSON_Duplicate(v, 1) : NULL;
    }
    cJSON *rec = src == *doc ? *doc : cJSON_Duplicate(src, 1);
    if (rec == *doc)
        *doc = NULL;
    for (int i = 0; i < 6; i++) {
        if (!rec || !sp->field_ptr[i] || same_place(sp->field_ptr[i], http_field_names[i])) {
            cJSON_Delete(moved[i]);
            continue;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(rec, http_field_names[i]);
        if (moved[i])
            cJSON_AddItemToObject(rec, http_field_names[i], moved[i]);
    }
    if (rec && id && !cJSON_GetObjectItemCaseSensitive(rec, "id"))
        cJSON_AddStringToObject(rec, "id", id);
    if (!rec)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    *rec_out = rec;
    return 0;
}

/* Hold the answer r to ep to the spec's response contract and the record it
 * carries to the spec's invariants, if it has them. */
static void judge_contract(struct torn_target *t, const struct http_endpoint *ep,
                           const struct http_vars *v, const struct resp *r)
{
    struct http_priv *p = t->priv;
    const struct http_spec *sp = &p->sp;
    int any = sp->invariants != NULL || sp->missing_unknown;
    for (int i = 0; i < HTTP_OUT_COUNT; i++)
        any |= sp->contract[i] != NULL;
    if (!any)
        return;
    struct http_answer a = {
        .op = ep == &sp->read ? HTTP_OP_READ : ep == &sp->cas ? HTTP_OP_CAS
            : ep == &sp->transition ? HTTP_OP_TRANSITION
            : ep == &sp->dual_write || ep == &sp->legacy ? HTTP_OP_UNJUDGED : HTTP_OP_OTHER,
        .status = r->status, .body = r->body, .len = r->len, .method = r->method,
        .url = r->url, .x = {v->id, v->version}};
    cJSON *doc = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    a.doc = doc;
    http_contract_judge(sp, t->cfg.log_dir, &a);
    http_invariants_judge(t, &a);
    cJSON_Delete(doc);
}

/* Request, then interpret: 2xx -> record (if rec_out), 404 -> NOTFOUND,
 * stale status -> *won_out = 0 (when won_out), else an error.  A 2xx body
 * must be JSON or empty even when no record is wanted: an HTML page from a
 * proxy or a wrong route is a protocol error, not a success. */
static int record_call(struct torn_target *t, const struct http_endpoint *ep,
                       const struct http_vars *v, const cJSON *dflt_body, int *won_out,
                       cJSON **rec_out, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct resp r;
    cJSON *doc = NULL;
    if (rec_out)
        *rec_out = NULL;
    if (!ep->present)
        return torn_err_set(err, TORN_E_UNSUPPORTED,
                            "target spec %s declares no endpoint for this operation",
                            t->cfg.spec_path ? t->cfg.spec_path : "(none)");
    int rc = request(p, ep, v, dflt_body, &r, err);
    if (rc)
        return rc;
    judge_contract(t, ep, v, &r);
    if (p->sp.retry_header)
        http_retries_judge(&p->sp, t->cfg.log_dir, r.method, r.url, v->id,
                           r.has_retries ? r.retries : NULL);
    if (won_out)
        *won_out = r.status != http_stale_status(&p->sp, ep);
    if (won_out && !*won_out)
        rc = 0;
    else if (r.status == 404)
        rc = torn_err_set(err, TORN_E_NOTFOUND, "%s %s: HTTP 404", r.method, r.url);
    else if (r.status < 200 || r.status > 299)
        rc = resp_status_fail(&r, err);
    else if (rec_out && (rc = resp_json(&r, &doc, err)) == 0)
        rc = normalize(&p->sp, &doc, v->id, &r, rec_out, err);
    else if (!rec_out && !resp_blank(&r))
        rc = resp_json(&r, &doc, err);
    cJSON_Delete(doc);
    free(r.body);
    return rc;
}

/* ---- the target ---- */

/* Split cfg->location into base "scheme://host:port" and check the host. */
static int parse_base(const struct torn_target_cfg *cfg, char *base, size_t base_len,
                      struct torn_err *err)
{
    const char *loc = cfg->location;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int rc = 0;
    if (!loc)   /* a service torn starts: its URL is known after setup */
        return snprintf(base, base_len, "http://127.0.0.1:1") > 0 ? 0 : TORN_E_NOMEM;
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, loc, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        rc = torn_err_set(err, TORN_E_CONFIG, "http target %s: not a valid URL", cfg->display);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        rc = torn_err_set(err, TORN_E_CONFIG, "http target %s: scheme must be http or https",
                          cfg->display);
        goto out;
    }
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    if ((rc = torn_require_loopback(host, cfg->allow_remote, "http target", err)) != 0)
        goto out;
    snprintf(base, base_len, "%s://%s:%s%s", scheme, host, port,
             (path && strcmp(path, "/") != 0) ? path : "");
    size_t n = strlen(base);
    if (n && base[n - 1] == '/')
        base[n - 1] = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

/* Every spec URL, expanded with a sample id, must stay on the target (see
 * http_url_confine): refused before anything runs, naming the field.  The
 * request path checks each expanded URL again. */
static int spec_confine(const struct http_spec *sp, const char *base, int allow_remote,
                        const char *file, struct torn_err *err)
{
    const struct {
        const char *name, *url;
    } urls[] = {{"create.path", sp->create.path},  {"read.path", sp->read.path},
                {"reset.path", sp->reset.path},    {"update.path", sp->update.path},
                {"update_if_version.path", sp->cas.path},
                {"transition.path", sp->transition.path}, {"events.url", sp->events_url},
                {"legacy.path", sp->legacy.path}, {"read_also.path", sp->read_also.path},
                {"dual_write.path", sp->dual_write.path}, {"dual_read.path", sp->dual_read.path}};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof urls / sizeof urls[0]; i++) {
        char *u = urls[i].url ? http_expand_url(base, urls[i].url, "torn-1") : NULL;
        struct torn_err why;
        torn_err_clear(&why);
        if (u && http_url_confine(base, allow_remote, u, &why) != 0)
            rc = spec_fail(err, file, urls[i].name, why.msg);
        free(u);
    }
    return rc;
}

static int http_check(const struct torn_target_cfg *cfg, struct torn_err *err)
{
    struct http_spec sp;
    char base[256];
    for (size_t i = 0; i < cfg->n_params; i++)
        if (strcmp(cfg->params[i].key, "strategy") != 0)
            return torn_err_set(err, TORN_E_CONFIG,
                                "http target: unknown parameter '%s' (the spec file says "
                                "everything)",
                                cfg->params[i].key);
    int rc = parse_base(cfg, base, sizeof base, err);
    if (!rc)
        rc = http_spec_parse(cfg->spec, cfg->spec_path, &sp, err);
    if (!rc && !cfg->location && !sp.svc_command)
        rc = torn_err_set(err, TORN_E_CONFIG,
                          "http target: give the service URL (--target http://HOST:PORT), or a "
                          "\"service\" in the spec %s for torn to start it",
                          cfg->spec_path ? cfg->spec_path : "");
    if (!rc && cfg->location && sp.svc_command)
        rc = torn_err_set(err, TORN_E_CONFIG,
                          "target spec %s: field service: torn starts this service itself; give "
                          "--target http without an address (or drop \"service\" to test the "
                          "one running at %s)",
                          cfg->spec_path ? cfg->spec_path : "", cfg->display);
    return rc ? rc : spec_confine(&sp, base, cfg->allow_remote, cfg->spec_path, err);
}

/* Once, before any thread: the runner sets up and opens the first handle
 * in its main thread. */
static void http_global_init(void)
{
    static int global_done;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = 1;
    }
}

static int http_setup(struct torn_target *t, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    int rc = http_spec_parse(t->cfg.spec, t->cfg.spec_path, &p->sp, err);
    if (rc || t->cfg.location)
        return rc;
    http_global_init();
    return http_service_start(t, err);
}

static void http_close(struct torn_target *t);

static void http_teardown(struct torn_target *t)
{
    http_cleanup(t);
    http_close(t);
    http_service_stop(t);
}

/* ops->caps: what the spec declares (endpoints, a service, its files). */
static unsigned http_caps(struct torn_target *t, unsigned wanted, char *why, size_t why_len)
{
    struct http_spec sp;
    unsigned have;
    char names[160];
    if (http_spec_parse(t->cfg.spec, t->cfg.spec_path, &sp, NULL) != 0)
        return wanted;   /* check refused it already */
    have = http_service_caps(&sp) & wanted;
    torn_caps_describe(wanted & ~have, names, sizeof names);
    if (wanted & ~have)
        snprintf(why, why_len, "target spec %s declares no %s%s",
                 t->cfg.spec_path ? t->cfg.spec_path : "", names,
                 (wanted & ~have & (TORN_CAP_FS_DATA | TORN_CAP_SERVICE | TORN_CAP_CORRUPT |
                                    TORN_CAP_FAULT))
                     ? " (needs a \"service\" torn starts, and \"files\" for corrupt)"
                     : " endpoint");
    return have;
}

static void http_close(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    http_events_close(&p->ev);
    if (p->curl)
        curl_easy_cleanup(p->curl);
    p->curl = NULL;
    for (int i = 0; i < 2; i++) {
        curl_slist_free_all(p->hdr_plain[i]);
        p->hdr_plain[i] = NULL;
    }
}

static int http_open(struct torn_target *t, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    int rc = p->srv ? 0 : parse_base(&t->cfg, p->base, sizeof p->base, err);
    if (!rc)
        rc = http_spec_parse(t->cfg.spec, t->cfg.spec_path, &p->sp, err);
    if (rc)
        return rc;
    http_global_init();
    p->timeout_ms = t->cfg.timeout_ms > 0 ? t->cfg.timeout_ms : 10000;
    p->allow_remote = t->cfg.allow_remote;
    p->seed = t->cfg.seed;
    p->curl = curl_easy_init();
    struct http_endpoint plain = {.method = "GET"};
    struct http_vars none = {.version = -1};
    for (int i = 0; i < 2; i++)
        p->hdr_plain[i] = build_headers(&plain, &none, i);
    if (!p->curl || !p->hdr_plain[0] || !p->hdr_plain[1])
        return torn_err_set(err, TORN_E_NOMEM, "curl_easy_init failed");
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
    curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(p->timeout_ms < 3000 ? p->timeout_ms : 3000));
    curl_easy_setopt(p->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "torn/" "0.1");
    /* Straight to the service, never through a proxy named in the
     * environment (http_proxy...): torn talks to the address it confined;
     * it also spares libcurl reading the environment on every request. */
    curl_easy_setopt(p->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(p->curl, CURLOPT_NOPROXY, "*");
    /* Only the web, and never where a redirect points (http_url_confine
     * decides where torn goes, not the service). */
    curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(p->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
    return 0;
}

/* Give rec to the caller (record_out may be NULL: free it); an error or a
 * stale outcome hands out NULL. */
static int hand_out(int rc, const int *won_out, cJSON *rec, cJSON **record_out)
{
    if (rc || (won_out && !*won_out)) {
        cJSON_Delete(rec);
        rec = NULL;
    }
    if (record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

static int http_reset(struct torn_target *t, const char *id, const cJSON *initial,
                      cJSON **record_out, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.id = id, .input = initial, .patch = initial, .version = -1};
    cJSON *dflt = cJSON_CreateString("{input}");
    int rc = record_call(t, &p->sp.reset, &v, dflt, NULL, record_out, err);
    cJSON_Delete(dflt);
    if (rc == 0)
        http_created_note(t, id);
    return rc;
}

/* ops->plant: the spec's "legacy" endpoint with the record as body. */
static int http_plant(struct torn_target *t, const char *id, const cJSON *record,
                      struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.id = id, .input = record, .patch = record, .version = -1};
    cJSON *dflt = cJSON_CreateString("{input}");
    int rc = record_call(t, &p->sp.legacy, &v, dflt, NULL, NULL, err);
    cJSON_Delete(dflt);
    return rc;
}

static int http_update(struct torn_target *t, const char *id, const cJSON *patch,
                       cJSON **record_out, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.id = id, .patch = patch, .version = -1};
    cJSON *dflt = cJSON_CreateString("{patch}");
    int rc = record_call(t, &p->sp.update, &v, dflt, NULL, record_out, err);
    cJSON_Delete(dflt);
    return rc;
}

/* Read id through the spec's read_also: 1 and *also_out (its record), 0 a
 * 404, -1 no usable answer (an error is not evidence either way). */
static int read_also(struct http_priv *p, const char *id, cJSON **also_out, char *url,
                     size_t url_len)
{
    struct http_vars v = {.id = id, .version = -1};
    struct resp r;
    cJSON *doc = NULL;
    int found = -1;
    *also_out = NULL;
    if (request(p, &p->sp.read_also, &v, NULL, &r, NULL) != 0)
        return -1;
    snprintf(url, url_len, "%s", r.url);
    if (r.status == 404)
        found = 0;
    else if (r.status >= 200 && r.status <= 299 && resp_json(&r, &doc, NULL) == 0) {
        const cJSON *o = torn_json_pointer(doc, p->sp.also_record_ptr);
        *also_out = cJSON_IsObject(o) ? cJSON_Duplicate(o, 1) : NULL;
        found = *also_out ? 1 : -1;
    }
    cJSON_Delete(doc);
    free(r.body);
    return found;
}

static int http_read(struct torn_target *t, const char *id, cJSON **record_out,
                     struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.id = id, .version = -1};
    cJSON *rec = NULL, *also = NULL;
    char also_url[300] = "";
    int first = p->sp.read_also.present && (p->n_reads++ & 1), found = -1;
    if (first)   /* alternately before and after: a path updated early or late */
        found = read_also(p, id, &also, also_url, sizeof also_url);
    int rc = record_call(t, &p->sp.read, &v, NULL, NULL, &rec, err);
    if (rc == 0 && p->sp.read_also.present && !first)
        found = read_also(p, id, &also, also_url, sizeof also_url);
    if (rc == 0 && found >= 0) {
        char what[320];
        snprintf(what, sizeof what, "GET %s", also_url);
        torn_paths_judge(t->cfg.log_dir, p->sp.also_agree, p->sp.also_by, id, rec, also, first,
                         what);
    }
    cJSON_Delete(also);
    const char *st = rc == 0 ? torn_record_str(rec, "status") : NULL;
    if (st && p->sp.missing_unknown && strcmp(st, "unknown") == 0)   /* seed 001's text */
        rc = torn_err_set(err, TORN_E_NOTFOUND,
                          "GET %s: answered status \"unknown\", which the spec's \"missing\": "
                          "\"unknown\" makes a missing record",
                          id);
    return hand_out(rc, NULL, rec, record_out);
}

static int http_cas(struct torn_target *t, const char *id, const cJSON *patch,
                    long long expected_version, int *won_out, cJSON **record_out,
                    struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.id = id, .patch = patch, .version = expected_version};
    cJSON *dflt = cJSON_CreateString("{patch}"), *rec = NULL;
    int rc = record_call(t, &p->sp.cas, &v, dflt, won_out, &rec, err);
    cJSON_Delete(dflt);
    return hand_out(rc, won_out, rec, record_out);
}

static int http_transition(struct torn_target *t, const char *id, const char *const *from,
                           size_t n_from, const char *to, int *won_out, cJSON **record_out,
                           struct torn_err *err)
{
    struct http_priv *p = t->priv;
    cJSON *fr = cJSON_CreateStringArray(from, (int)n_from), *rec = NULL;
    cJSON *dflt = cJSON_Parse("{\"from\":\"{from}\",\"to\":\"{to}\"}");
    struct http_vars v = {.id = id, .from = fr, .to = to, .version = -1};
    int rc = record_call(t, &p->sp.transition, &v, dflt, won_out, &rec, err);
    cJSON_Delete(dflt);
    cJSON_Delete(fr);
    return hand_out(rc, won_out, rec, record_out);
}

static int http_create(struct torn_target *t, const cJSON *input, char **id_out,
                       struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.input = input, .version = -1, .n = ++p->n_created};
    struct resp r;
    cJSON *doc = NULL, *dflt = cJSON_CreateString("{input}");
    *id_out = NULL;
    if (!p->sp.create.present) {
        cJSON_Delete(dflt);
        return torn_err_set(err, TORN_E_UNSUPPORTED, "target spec %s declares no create endpoint",
                            t->cfg.spec_path ? t->cfg.spec_path : "(none)");
    }
    int rc = request(p, &p->sp.create, &v, dflt, &r, err);
    cJSON_Delete(dflt);
    if (rc)
        return rc;
    if (r.status < 200 || r.status > 299)
        rc = resp_status_fail(&r, err);
    else if ((rc = resp_json(&r, &doc, err)) == 0) {
        const cJSON *id = torn_json_pointer(doc, p->sp.id_ptr);
        char num[32];
        if (cJSON_IsNumber(id))
            snprintf(num, sizeof num, "%.0f", id->valuedouble);
        const char *s = cJSON_IsString(id) ? id->valuestring : cJSON_IsNumber(id) ? num : NULL;
        if (!s)
            rc = torn_err_set(err, TORN_E_PROTOCOL, "%s %s: no id at pointer '%s' in the answer",
                              r.method, r.url, p->sp.id_ptr);
        else if (!(*id_out = strdup(s)))
            rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
        else
            http_created_note(t, s);
    }
    cJSON_Delete(doc);
    free(r.body);
    return rc;
}

int http_delete_one(struct torn_target *t, const char *id, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.id = id, .version = -1};
    struct resp r;
    int rc = p->curl ? 0 : http_open(t, err);
    if (!rc)
        rc = torn_throttle_take(err);   /* the clean-up keeps to --max-rate too */
    if (!rc)
        rc = request(p, &p->sp.del, &v, NULL, &r, err);
    if (rc)
        return rc;
    if (r.status != 404 && (r.status < 200 || r.status > 299))
        rc = resp_status_fail(&r, err);
    free(r.body);
    return rc;
}

static int http_subscribe_op(struct torn_target *t, const char *id, struct torn_sub **sub_out,
                             struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_events_cfg cfg;
    int rc;

    http_events_cfg_spec(&p->sp, &cfg);
    cfg.base = p->base;
    cfg.timeout_ms = p->timeout_ms;
    cfg.allow_remote = p->allow_remote;
    rc = http_subscribe(&p->ev, &cfg, id, sub_out, err);
    if (rc == 0)
        http_log_subscribed(t->priv, *sub_out, id);
    return rc;
}

static int http_next_event_op(struct torn_target *t, struct torn_sub *sub, int timeout_ms,
                              cJSON **event_out, struct torn_err *err)
{
    int rc = http_next_event(sub, timeout_ms, event_out, err);
    if (rc == 0)
        http_log_event(t, sub, *event_out);
    return rc;
}

static void http_unsubscribe_op(struct torn_target *t, struct torn_sub *sub)
{
    (void)t;
    http_unsubscribe(sub);
}

static int http_dual_write(struct torn_target *t, const char *group, const char *member,
                           long long amount, struct torn_err *err)
{
    struct http_priv *p = t->priv;
    struct http_vars v = {.group = group, .member = member, .amount = amount, .version = -1};
    cJSON *dflt = cJSON_Parse("{\"group\":\"{group}\",\"member\":\"{member}\","
                              "\"amount\":\"{amount}\"}");
    int rc = record_call(t, &p->sp.dual_write, &v, dflt, NULL, NULL, err);
    cJSON_Delete(dflt);
    return rc;
}

/* dual_read: {"a": {member: amount}, "b": {...}, "count", "total"}; the
 * counters default to B's size and A's sum when the spec points to none. */
static int http_dual_read(struct torn_target *t, const char *group, cJSON **state_out,
                          struct torn_err *err)
{
    static const char *const names[4] = {"a", "b", "count", "total"};
    struct http_priv *p = t->priv;
    struct http_vars v = {.group = group, .amount = -1, .version = -1};
    struct resp r;
    cJSON *doc = NULL, *st = NULL;
    *state_out = NULL;
    int rc = request(p, &p->sp.dual_read, &v, NULL, &r, err);
    if (rc)
        return rc;
    if (r.status < 200 || r.status > 299)
        rc = resp_status_fail(&r, err);
    else if ((rc = resp_json(&r, &doc, err)) == 0 && !(st = cJSON_CreateObject()))
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (int i = 0; !rc && i < 4; i++) {
        const cJSON *x = p->sp.dual_ptr[i] ? torn_json_pointer(doc, p->sp.dual_ptr[i]) : NULL;
        if (i < 2 && !cJSON_IsObject(x))
            rc = torn_err_set(err, TORN_E_PROTOCOL, "%s %s: no object at pointer '%s'", r.method,
                              r.url, p->sp.dual_ptr[i]);
        else if (x)
            cJSON_AddItemToObject(st, names[i], cJSON_Duplicate(x, 1));
    }
    if (!rc && !p->sp.dual_ptr[2])
        cJSON_AddNumberToObject(st, "count",
                                cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "b")));
    if (!rc && !p->sp.dual_ptr[3]) {
        double sum = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "a")) sum += e->valuedouble;
        cJSON_AddNumberToObject(st, "total", sum);
    }
    cJSON_Delete(doc);
    free(r.body);
    if (rc)
        cJSON_Delete(st);
    else
        *state_out = st;
    return rc;
}

/* ops->observe: what only the target sees once a scenario is over. */
static void http_observe(struct torn_target *t)
{
    struct http_priv *p = t->priv;
    if (p->sp.read_also.present)   /* the metrics show even when nothing counted */
        torn_finding_count(t->cfg.log_dir, "read_paths_compared", 0);
    if (p->sp.retry_header) {
        torn_finding_count(t->cfg.log_dir, "retries", 0);
        torn_finding_count(t->cfg.log_dir, "retried_answers", 0);
    }
    http_log_observe(t);
    http_layout_observe(t);
}

static const struct torn_strategy http_strategies[] = {
    {"spec", "whatever the service does; the spec file describes its endpoints"},
    {NULL, NULL},
};

const struct torn_target_ops torn_target_http = {
    .version = TORN_TARGET_OPS_V1,
    .name = "http",
    .summary = "an HTTP service described by --target-spec: http://HOST:PORT, or `http` to start "
               "the spec's \"service\" itself",
    .strategies = http_strategies,
    .size = sizeof(struct http_priv),
    .check = http_check,
    .setup = http_setup,
    .teardown = http_teardown,
    .open = http_open,
    .close = http_close,
    .reset = http_reset,
    .update = http_update,
    .read = http_read,
    .update_if_version = http_cas,
    .transition = http_transition,
    .create = http_create,
    .subscribe = http_subscribe_op,
    .next_event = http_next_event_op,
    .unsubscribe = http_unsubscribe_op,
    .corrupt = http_service_corrupt,
    .dual_write = http_dual_write,
    .dual_read = http_dual_read,
    .fault = http_service_fault,
    .extra_caps = TORN_CAP_FS_DATA | TORN_CAP_SERVICE,
    .caps = http_caps,
    .observe = http_observe,
    .plant = http_plant,
};

/* ---- fuzzing entry point (fuzz/http_body.c) ---- */

int http_body_record(const struct http_spec *sp, const char *body, size_t len, const char *id,
                     cJSON **rec_out, struct torn_err *err)
{
    struct resp r = {.status = 200, .body = (char *)body, .len = len, .method = "GET"};
    cJSON *doc = NULL;
    int rc;

    *rec_out = NULL;
    snprintf(r.ctype, sizeof r.ctype, "application/json");
    snprintf(r.url, sizeof r.url, "(fuzz)");
    rc = resp_json(&r, &doc, err);
    if (rc == 0)
        rc = normalize(sp, &doc, id, &r, rec_out, err);
    cJSON_Delete(doc);
    return rc;
}

const char *torn_http_base(const struct torn_target *t)
{
    const struct http_priv *p = t && t->ops == &torn_target_http ? t->priv : NULL;

    return p && p->base[0] ? p->base : NULL;
}

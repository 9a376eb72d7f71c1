/* torn: observability criteria (see observe.h). */
#include "gate/observe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "core/err.h"
#include "core/result.h"
#include "core/target.h"
#include "gate/prom.h"
#include "targets/http/http.h"

#define MAX_PAGE (1u << 20)
#define MAX_COUNTERS 16

struct counter {
    char *text;                      /* the selector as written */
    struct torn_prom_sample sel;
    char *figure;                    /* the scenario metric it must equal */
    double before;
};

struct torn_observe {
    char *path;                      /* "/metrics" */
    char *unseen;                    /* figure of outcomes torn did not see, or NULL */
    char *spec_path;
    struct counter c[MAX_COUNTERS];
    size_t n;
    int before_ok;
    char before_err[256];
};

void torn_observe_free(struct torn_observe *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++) {
        free(o->c[i].text);
        free(o->c[i].figure);
    }
    free(o->path);
    free(o->unseen);
    free(o->spec_path);
    free(o);
}

static int ofail(const char *file, const char *field, const char *msg, struct torn_err *err)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s", file, field, msg);
}

static int add_counter(struct torn_observe *o, const cJSON *e, struct torn_err *err)
{
    char what[400];
    struct counter *c = &o->c[o->n];

    snprintf(what, sizeof what, "target spec %s: field metrics.counters", o->spec_path);
    if (o->n == MAX_COUNTERS)
        return ofail(o->spec_path, "metrics.counters", "more than 16 counters", err);
    if (!cJSON_IsString(e) || !e->valuestring[0])
        return ofail(o->spec_path, "metrics.counters",
                     "each value must name a scenario figure (\"completed_events\")", err);
    if (torn_prom_selector(e->string, what, &c->sel, err))
        return TORN_E_CONFIG;
    c->text = strdup(e->string);
    c->figure = strdup(e->valuestring);
    o->n++;
    return c->text && c->figure ? 0 : torn_err_set(err, TORN_E_NOMEM, "out of memory");
}

int torn_observe_new(const cJSON *spec, const char *spec_path, struct torn_observe **out,
                     struct torn_err *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(spec, "metrics"), *path, *cs, *e, *un;
    struct torn_observe *o;
    int rc = 0;

    *out = NULL;
    if (!m)
        return 0;
    path = cJSON_GetObjectItemCaseSensitive(m, "path");
    cs = cJSON_GetObjectItemCaseSensitive(m, "counters");
    un = cJSON_GetObjectItemCaseSensitive(m, "unseen");
    if (un && (!cJSON_IsString(un) || !un->valuestring[0]))
        return ofail(spec_path, "metrics.unseen", "must name a scenario figure", err);
    if (!cJSON_IsObject(m) || !cJSON_IsString(path) || path->valuestring[0] != '/')
        return ofail(spec_path, "metrics.path", "must be a path starting with '/' (/metrics)",
                     err);
    if (!cJSON_IsObject(cs) || !cJSON_GetArraySize(cs))
        return ofail(spec_path, "metrics.counters",
                     "must be an object {\"series{label=\\\"v\\\"}\": \"figure\"}", err);
    if (!(o = calloc(1, sizeof *o)) || !(o->path = strdup(path->valuestring)) ||
        !(o->spec_path = strdup(spec_path)) || (un && !(o->unseen = strdup(un->valuestring)))) {
        torn_observe_free(o);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    cJSON_ArrayForEach(e, cs)
        if (!rc)
            rc = add_counter(o, e, err);
    if (rc)
        torn_observe_free(o);
    else
        *out = o;
    return rc;
}

struct page {
    char *buf;
    size_t len;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct page *pg = arg;
    size_t n = size * nmemb;
    char *b;

    if (pg->len + n > MAX_PAGE || !(b = realloc(pg->buf, pg->len + n + 1)))
        return 0; /* ends the transfer: an error below */
    memcpy(b + pg->len, data, n);
    pg->len += n;
    b[pg->len] = '\0';
    pg->buf = b;
    return n;
}

/* GET base + path into *pg; 0 or TORN_E_ENV with the reason. */
static int scrape(const char *base, const char *path, int timeout_ms, struct page *pg,
                  struct torn_err *err)
{
    CURL *c = curl_easy_init();
    char url[512];
    long status = 0;
    CURLcode cc;

    memset(pg, 0, sizeof *pg);
    if (!c)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    snprintf(url, sizeof url, "%s%s", base, path); /* same origin: path starts with '/' */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, pg);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK || status != 200) {
        free(pg->buf);
        pg->buf = NULL;
        return torn_err_set(err, TORN_E_ENV, "metrics endpoint %s: %s", url,
                            cc != CURLE_OK ? curl_easy_strerror(cc) : "status is not 200");
    }
    return 0;
}

/* Every counter's current value into vals; 0 or the error in err. */
static int read_all(struct torn_observe *o, struct torn_target *t, double *vals,
                    struct torn_err *err)
{
    const char *base = torn_http_base(t);
    struct page pg;
    size_t n;
    int rc;

    if (!base)
        return torn_err_set(err, TORN_E_ENV, "metrics: the target has no address yet");
    if ((rc = scrape(base, o->path, t->cfg.timeout_ms > 0 ? t->cfg.timeout_ms : 5000, &pg, err)))
        return rc;
    for (size_t i = 0; i < o->n && !rc; i++)
        rc = torn_prom_sum(pg.buf ? pg.buf : "", pg.len, &o->c[i].sel, o->path, &vals[i], &n,
                           err);
    free(pg.buf);
    return rc;
}

void torn_observe_start(struct torn_observe *o, struct torn_target *t)
{
    double v[MAX_COUNTERS];
    struct torn_err err;

    torn_err_clear(&err);
    o->before_ok = torn_http_base(t) && read_all(o, t, v, &err) == 0;
    snprintf(o->before_err, sizeof o->before_err, "%s", err.msg);
    for (size_t i = 0; o->before_ok && i < o->n; i++)
        o->c[i].before = v[i];
}

/* The figure a counter must equal, from the scenario's metrics; NAN if
 * the scenario has none. */
static double figure(const struct torn_result *res, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(res->metrics, name);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* unseen: outcomes torn did not see, each of which the service may have
 * counted: the rise may exceed want by that many, never fall short. */
static void check(const struct counter *c, struct torn_result *res, cJSON *checks, double rise,
                  double want, double unseen)
{
    cJSON *o = cJSON_CreateObject();
    char text[512];
    int held = rise >= want && rise <= want + unseen;

    snprintf(text, sizeof text, "%s rose by %.17g, torn saw %.17g (%s)%s", c->text, rise, want,
             c->figure, unseen > 0 ? " and did not see the outcome of some" : "");
    if (unseen > 0)
        snprintf(text + strlen(text), sizeof text - strlen(text), " (%.17g)", unseen);
    if (o) {
        cJSON_AddStringToObject(o, "kind", "observability");
        cJSON_AddStringToObject(o, "criterion", "counter-matches-observed");
        cJSON_AddStringToObject(o, "name", c->text);
        cJSON_AddStringToObject(o, "metric", c->figure);
        cJSON_AddNumberToObject(o, "observed", rise);
        cJSON_AddNumberToObject(o, "limit", want);
        cJSON_AddNumberToObject(o, "margin", want - rise);
        cJSON_AddStringToObject(o, "unit", "count");
        cJSON_AddBoolToObject(o, "held", held);
        cJSON_AddStringToObject(o, "text", text);
        cJSON_AddItemToArray(checks, o);
    }
    if (!held)
        torn_result_violation(res, "counter-matches-observed", NULL, res->duration_s,
                              "%s: the service's counter disagrees with what torn saw", text);
}

void torn_observe_judge(struct torn_observe *o, struct torn_target *t, struct torn_result *res,
                        cJSON *checks)
{
    double after[MAX_COUNTERS];
    struct torn_err err;
    size_t n_want = 0;
    char msg[400];

    if (!torn_http_base(t))
        return; /* not an HTTP target: nothing to scrape */
    for (size_t i = 0; i < o->n; i++)
        n_want += !isnan(figure(res, o->c[i].figure));
    if (!n_want)
        return;
    torn_err_clear(&err);
    if (!o->before_ok || read_all(o, t, after, &err) != 0) {
        snprintf(msg, sizeof msg, "observability: %s",
                 o->before_ok ? err.msg : o->before_err[0] ? o->before_err : "no scrape before");
        torn_result_error(res, TORN_E_ENV, msg);
        return;
    }
    for (size_t i = 0; i < o->n; i++) {
        double want = figure(res, o->c[i].figure);
        double unseen = o->unseen ? figure(res, o->unseen) : 0;
        if (!isnan(want))
            check(&o->c[i], res, checks, after[i] - o->c[i].before, want,
                  isnan(unseen) ? 0 : unseen);
    }
}

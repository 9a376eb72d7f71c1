/* torn: `torn run --prom-push URL`: the Prometheus report (--prom) pushed to
 * a Pushgateway (report.h).  The URL is the gateway ("http://HOST:9091");
 * torn pushes to its group /metrics/job/torn unless the URL already names a
 * /metrics/job/ path.  PUT: the group's metrics are replaced by this run's.
 * Loopback only unless allow_remote, as every address torn talks to. */
#include "core/report.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

int torn_report_prom_push_check(const char *url, int allow_remote, struct torn_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = 0;

    if (!u)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        rc = torn_err_set(err, TORN_E_USAGE,
                          "--prom-push '%s': expected a Pushgateway URL http://HOST:PORT", url);
    if (rc == 0) {
        size_t n = strlen(host);   /* "[::1]" -> "::1" for the loopback check */
        if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
            memmove(host, host + 1, n - 2);
            host[n - 2] = '\0';
        }
        rc = torn_require_loopback(host, allow_remote, "--prom-push", err);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static size_t sink(char *d, size_t s, size_t n, void *arg)
{
    (void)d;
    (void)arg;
    return s * n;
}

/* PUT body to url; 0, or an error naming url and the HTTP status. */
static int put(const char *url, const char *body, size_t len, int timeout_ms,
               struct torn_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
    long status = 0;
    int rc = 0;

    if (!c || !h) {
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        rc = torn_err_set(err, TORN_E_IO, "--prom-push %s: %s", url, curl_easy_strerror(cc));
    else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 200 ||
             status > 299)
        rc = torn_err_set(err, TORN_E_REMOTE, "--prom-push %s: the gateway answered HTTP %ld",
                          url, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

int torn_report_prom_push(const char *url, const struct torn_report *rep, int timeout_ms,
                          struct torn_err *err)
{
    const struct torn_reporter_ops *prom = torn_reporter_find("prom");
    char *body = NULL, *target;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    int rc;

    if (!f || !prom)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = prom->write(f, rep, err);
    if (fclose(f) != 0 && rc == 0)
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    target = strstr(url, "/metrics/job/")
                 ? strdup(url)
                 : torn_asprintf("%s%smetrics/job/torn", url,
                                 url[0] && url[strlen(url) - 1] == '/' ? "" : "/");
    if (rc == 0 && !target)
        rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = put(target, body, len, timeout_ms, err);
    free(target);
    free(body);
    return rc;
}

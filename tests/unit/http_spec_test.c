/* Unit tests of the HTTP target's spec handling (targets/http/http.c): JSON
 * pointers, URL templates, spec validation naming the file and field, and
 * the shipped reference specs. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "targets/http/http.h"
#include "check.h"
#include "core/err.h"
#include "core/target.h"
#include "core/util.h"

static void test_pointer(void)
{
    cJSON *d = cJSON_Parse("{\"a\":{\"b\":[10,{\"c/d\":1,\"e~f\":2}]},\"\":3}");
    CHECK(http_pointer(d, "") == d, "root");
    CHECK(cJSON_GetNumberValue(http_pointer(d, "/a/b/0")) == 10, "array index");
    CHECK(cJSON_GetNumberValue(http_pointer(d, "/a/b/1/c~1d")) == 1, "~1 is /");
    CHECK(cJSON_GetNumberValue(http_pointer(d, "/a/b/1/e~0f")) == 2, "~0 is ~");
    CHECK(cJSON_GetNumberValue(http_pointer(d, "/")) == 3, "empty key");
    CHECK(!http_pointer(d, "/a/b/7") && !http_pointer(d, "/a/b/-1") && !http_pointer(d, "/x"),
          "missing");
    CHECK(!http_pointer_valid("a/b") && !http_pointer_valid("/a~2") && http_pointer_valid("/a~1"),
          "validity");
    cJSON_Delete(d);
}

static void test_url(void)
{
    char *u = http_expand_url("http://127.0.0.1:8080", "/ws/research/{id}?x={nope}", "a b/c");
    CHECK(u && strcmp(u, "http://127.0.0.1:8080/ws/research/a%20b%2Fc?x={nope}") == 0,
          "escaped id, unknown placeholder kept: %s", u ? u : "(null)");
    free(u);
    u = http_expand_url("http://h:1", "http://other:2/e/{id}", "7");
    CHECK(u && strcmp(u, "http://other:2/e/7") == 0, "absolute template: %s", u ? u : "");
    free(u);
}

/* Parse spec text; return the code and leave the message in err. */
static int parse(const char *text, struct torn_err *err)
{
    struct http_spec sp;
    cJSON *j = cJSON_Parse(text);
    int rc = http_spec_parse(j, "s.json", &sp, err);
    cJSON_Delete(j);
    return rc;
}

static void expect_bad(const char *text, const char *field)
{
    struct torn_err err;
    torn_err_clear(&err);
    int rc = parse(text, &err);
    CHECK(rc == TORN_E_CONFIG && strstr(err.msg, "s.json") && strstr(err.msg, field),
          "%s: rc %d, '%s'", field, rc, err.msg);
}

static void test_bad_specs(void)
{
    const char *ok_read = "\"read\":{\"path\":\"/r/{id}\"}";
    char buf[512];
    expect_bad("{}", "field read");
    expect_bad("{\"read\":{\"path\":\"r\"}}", "field read.path");
    snprintf(buf, sizeof buf, "{%s,\"create\":{\"path\":\"/c\"}}", ok_read);
    expect_bad(buf, "field create.id");
    snprintf(buf, sizeof buf, "{%s,\"create\":{\"path\":\"/c\",\"id\":\"id\"}}", ok_read);
    expect_bad(buf, "field create.id");
    snprintf(buf, sizeof buf, "{%s,\"update\":{\"path\":\"/u\",\"method\":\"FETCH\"}}", ok_read);
    expect_bad(buf, "field update.method");
    expect_bad("{\"read\":{\"path\":\"/r\",\"fields\":{\"status\":\"s\"}}}",
               "field read.fields.status");
    snprintf(buf, sizeof buf, "{%s,\"events\":{\"url\":\"/e\",\"type\":\"/t\"}}", ok_read);
    expect_bad(buf, "field events.completed");
    snprintf(buf, sizeof buf,
             "{%s,\"events\":{\"kind\":\"mqtt\",\"url\":\"/e\",\"type\":\"/t\",\"completed\":\"X\"}}",
             ok_read);
    expect_bad(buf, "field events.kind");
    snprintf(buf, sizeof buf, "{%s,\"stale_status\":42}", ok_read);
    expect_bad(buf, "field stale_status");
    struct torn_err err;
    struct http_spec sp;
    CHECK(http_spec_parse(NULL, NULL, &sp, &err) == TORN_E_CONFIG &&
              strstr(err.msg, "--target-spec"), "no spec: %s", err.msg);
}

static void test_shipped_specs(void)
{
    static const char *const files[] = {"research.json", "jobs.json", "research-sse.json",
                                        "managed.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256], *text = NULL;
        size_t len;
        struct torn_err err;
        struct http_spec sp;
        snprintf(path, sizeof path, "examples/research-service/%s", files[i]);
        if (torn_read_file(path, &text, &len, &err) != 0) {
            CHECK(0, "%s: %s (run from the repository root)", path, err.msg);
            continue;
        }
        cJSON *j = cJSON_Parse(text);
        CHECK(http_spec_parse(j, path, &sp, &err) == 0, "%s: %s", path, err.msg);
        CHECK(sp.create.present && sp.cas.present && sp.transition.present && sp.events_url &&
                  sp.n_completed == 1 && sp.stale_status == 409,
              "%s: endpoints", path);
        if (i == 3)
            CHECK(sp.svc_command && sp.file_main && sp.file_backup && sp.dual_write.present &&
                      sp.dual_ptr[0] && sp.dual_ptr[1] &&
                      (http_service_caps(&sp) & TORN_CAP_SERVICE) &&
                      (http_service_caps(&sp) & TORN_CAP_CORRUPT) &&
                      (http_service_caps(&sp) & TORN_CAP_DUAL),
                  "%s: service, files, dual endpoints", path);
        cJSON_Delete(j);
        free(text);
    }
}

static void test_service_specs(void)
{
    const char *r = "\"read\":{\"path\":\"/r/{id}\"}";
    char buf[512];
    snprintf(buf, sizeof buf, "{%s,\"service\":{\"command\":\"app --port {port}\"}}", r);
    expect_bad(buf, "field service.command");
    snprintf(buf, sizeof buf, "{%s,\"service\":{\"command\":[\"a\"],\"ready\":\"health\"}}", r);
    expect_bad(buf, "field service.ready.path");
    snprintf(buf, sizeof buf,
             "{%s,\"service\":{\"command\":[\"a\"],\"stop_timeout_ms\":-1}}", r);
    expect_bad(buf, "field service.stop_timeout_ms");
    snprintf(buf, sizeof buf, "{%s,\"files\":{\"main\":\"{data_dir}/{id}\"}}", r);
    expect_bad(buf, "field files: needs a \"service\"");
    snprintf(buf, sizeof buf,
             "{%s,\"service\":{\"command\":[\"a\"]},\"files\":{\"main\":\"/etc/{id}\"}}", r);
    expect_bad(buf, "field files.main");
    snprintf(buf, sizeof buf,
             "{%s,\"service\":{\"command\":[\"a\"]},\"files\":{\"main\":\"{data_dir}/../{id}\"}}",
             r);
    expect_bad(buf, "field files.main");
    snprintf(buf, sizeof buf, "{%s,\"dual_write\":{\"path\":\"/g\"}}", r);
    expect_bad(buf, "field dual_read");
    snprintf(buf, sizeof buf,
             "{%s,\"dual_write\":{\"path\":\"/g\"},\"dual_read\":{\"path\":\"/g\",\"a\":\"/a\"}}",
             r);
    expect_bad(buf, "field dual_read.b");
}

static void test_confine(void)
{
    const char *base = "http://127.0.0.1:8080";
    struct torn_err err;
    torn_err_clear(&err);
    CHECK(http_url_confine(base, 0, "http://127.0.0.1:8080/r/1", &err) == 0, "same origin");
    CHECK(http_url_confine(base, 0, "ws://127.0.0.1:8080/ws/1", &err) == 0, "ws = http");
    CHECK(http_url_confine(base, 0, "http://127.0.0.1:9/x", &err) == 0,
          "other loopback port passes the remote gate");
    CHECK(http_url_confine(base, 0, "http://10.0.0.1/x", &err) == TORN_E_CONFIG &&
              strstr(err.msg, "10.0.0.1") && strstr(err.msg, "--allow-remote"),
          "remote host refused: %s", err.msg);
    CHECK(http_url_confine(base, 1, "http://10.0.0.1/x", &err) == 0, "--allow-remote");
    CHECK(http_url_confine(base, 1, "file:///etc/shadow", &err) == TORN_E_CONFIG &&
              !strstr(err.msg, "root:"),
          "file: refused even with --allow-remote: %s", err.msg);
    CHECK(http_url_confine(base, 0, "http://127.0.0.1:8080@10.0.0.1/x", &err) == TORN_E_CONFIG,
          "userinfo trick: the host is 10.0.0.1");
    CHECK(http_url_confine(base, 1, "gopher://127.0.0.1:8080/x", &err) == TORN_E_CONFIG,
          "gopher refused");
}

static void test_buf_and_sse_cap(void)
{
    char *b = NULL, chunk[1000];
    size_t len = 0, cap = 0, reallocs = 0, last_cap = 0;
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 1000; i++) {
        CHECK(http_buf_append(&b, &len, &cap, chunk, 1, 1 << 20) == 0, "append");
        reallocs += cap != last_cap;
        last_cap = cap;
    }
    CHECK(len == 1000 && b[1000] == 0 && reallocs <= 2, "geometric growth: %zu reallocs",
          reallocs);
    CHECK(http_buf_append(&b, &len, &cap, chunk, 1000, 1500) == TORN_E_PROTOCOL && len == 1000,
          "cap refuses, nothing appended");
    free(b);
    /* One endless SSE line, fed in pieces: the stream stops at 1 MiB. */
    struct http_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.type_ptr = "/type";
    size_t n = 3u << 20;
    char *stream = malloc(n);
    cJSON *evs = NULL;
    memset(stream, 'y', n);
    memcpy(stream, "data: {\"type\":\"A\"}\n\ndata: ", 26);
    CHECK(http_events_feed(&sp, 1, stream, n, 4096, &evs) == 0 && cJSON_GetArraySize(evs) == 1,
          "the complete event before the endless line is delivered");
    cJSON_Delete(evs);
    free(stream);
}

static const struct torn_test tests[] = {
    {"pointer", test_pointer},
    {"url", test_url},
    {"confine", test_confine},
    {"buf_and_sse_cap", test_buf_and_sse_cap},
    {"bad_specs", test_bad_specs},
    {"shipped_specs", test_shipped_specs},
    {"service_specs", test_service_specs},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

/* Unit tests of the HTTP target's spec handling (targets/http/): JSON
 * pointers, URL templates, spec validation naming the file and field, the
 * shipped reference specs, ISO-8601 times, response-contract expectations
 * and how an answer is classified into an outcome. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "targets/http/http_int.h"
#include "check.h"
#include "core/err.h"
#include "core/record.h"
#include "core/target.h"
#include "core/util.h"

static void test_pointer(void)
{
    cJSON *d = cJSON_Parse("{\"a\":{\"b\":[10,{\"c/d\":1,\"e~f\":2}]},\"\":3}");
    CHECK(torn_json_pointer(d, "") == d, "root");
    CHECK(cJSON_GetNumberValue(torn_json_pointer(d, "/a/b/0")) == 10, "array index");
    CHECK(cJSON_GetNumberValue(torn_json_pointer(d, "/a/b/1/c~1d")) == 1, "~1 is /");
    CHECK(cJSON_GetNumberValue(torn_json_pointer(d, "/a/b/1/e~0f")) == 2, "~0 is ~");
    CHECK(cJSON_GetNumberValue(torn_json_pointer(d, "/")) == 3, "empty key");
    CHECK(!torn_json_pointer(d, "/a/b/7") && !torn_json_pointer(d, "/a/b/-1") && !torn_json_pointer(d, "/x"),
          "missing");
    CHECK(!torn_json_pointer_valid("a/b") && !torn_json_pointer_valid("/a~2") && torn_json_pointer_valid("/a~1"),
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
    static const char *const more[][2] = {   /* the missing answer, read paths, retries */
        {"\"missing\":\"gone\"", "field missing"},
        {"\"read_also\":{\"path\":\"/i/{id}\"}", "field read_also.agree"},
        {"\"read_also\":{\"path\":\"/i/{id}\",\"agree\":{\"/s\":\"/s\"}}", "field read_also.by"},
        {"\"retries\":{\"header\":\"X-R\",\"max\":1.5}", "field retries.max"},
        {"\"retries\":{\"max\":3}", "field retries.header"},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        snprintf(buf, sizeof buf, "{%s,%s}", ok_read, more[i][0]);
        expect_bad(buf, more[i][1]);
    }
    {
        struct torn_err e2;
        struct http_spec sp2;
        cJSON *j = cJSON_Parse("{\"read\":{\"path\":\"/r/{id}\"},\"missing\":\"unknown\","
                               "\"read_also\":{\"path\":\"/i/{id}\",\"record\":\"/x\","
                               "\"agree\":{\"/version\":\"/v\"}},"
                               "\"retries\":{\"header\":\"X-Retries\",\"max\":4}}");
        torn_err_clear(&e2);
        int rc = http_spec_parse(j, "s.json", &sp2, &e2);
        CHECK(rc == 0 && sp2.missing_unknown && sp2.read_also.present &&
                  strcmp(sp2.also_record_ptr, "/x") == 0 && strcmp(sp2.also_by, "/version") == 0 &&
                  strcmp(sp2.retry_header, "X-Retries") == 0 && sp2.retry_max == 4,
              "missing, read_also, retries parsed: rc %d '%s'", rc, e2.msg);
        cJSON_Delete(j);
    }
    struct torn_err err;
    struct http_spec sp;
    CHECK(http_spec_parse(NULL, NULL, &sp, &err) == TORN_E_CONFIG &&
              strstr(err.msg, "--target-spec"), "no spec: %s", err.msg);
}

static void test_shipped_specs(void)
{
    static const char *const files[] = {"research.json", "jobs.json", "research-sse.json",
                                        "managed.json", "contracts.json"};
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
        if (i == 4)
            CHECK(sp.contract[HTTP_OUT_STALE] && sp.contract[HTTP_OUT_UNKNOWN] &&
                      sp.contract_status[HTTP_OUT_UNKNOWN] == 200 && sp.invariants &&
                      sp.log_on && sp.log_never && sp.log_final_ptr[0] && sp.layout &&
                      sp.legacy.present && (http_service_caps(&sp) & TORN_CAP_PLANT),
                  "%s: responses, invariants, log, layout, legacy", path);
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

static void test_iso(void)
{
    CHECK(torn_iso8601_ms("1970-01-01T00:00:00Z") == 0, "epoch");
    CHECK(torn_iso8601_ms("1970-01-01T00:00:01.5Z") == 1500, "fraction");
    CHECK(torn_iso8601_ms("1970-01-01T01:00:00+01:00") == 0, "offset");
    CHECK(torn_iso8601_ms("2026-12-07T04:50:05.123Z") == 1796619005123LL, "a date: %lld",
          torn_iso8601_ms("2026-12-07T04:50:05.123Z"));
    CHECK(torn_iso8601_ms("2000-02-29T00:00:00.000-00:30") == 951784200000LL, "leap day: %lld",
          torn_iso8601_ms("2000-02-29T00:00:00.000-00:30"));
    static const char *const bad[] = {"2026-12-07 04:50:05", "2026-12-07T04:50:05",
                                      "2026-13-07T04:50:05Z", "2026-12-07T04:50:05.Z",
                                      "2026-12-07T04:50:05Zx", "", "1796619005123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(torn_iso8601_ms(bad[i]) == -1, "not ISO-8601: '%s'", bad[i]);
}

/* Judge expectation text x on document text doc at ptr: 1 holds. */
static int holds(const char *doc, const char *ptr, const char *x, long long version)
{
    cJSON *d = cJSON_Parse(doc), *e = cJSON_Parse(x);
    struct torn_expect_ctx a = {"job-1", version};
    struct torn_err err;
    char why[300] = "?";
    CHECK(e && torn_expect_parse(e, "s.json", "f", &err) == 0, "parse %s", x);
    torn_expect_judge(d, ptr, e, &a, why, sizeof why);
    cJSON_Delete(d);
    cJSON_Delete(e);
    return why[0] == 0;
}

static void test_expect(void)
{
    const char *stale = "{\"error_code\":\"STALE_WRITE\",\"current_review_version\":6,"
                        "\"status\":\"A\",\"processing_state\":\"A\",\"id\":\"job-1\","
                        "\"t\":\"2020-01-01T00:00:00.000Z\",\"u\":\"2999-01-01T00:00:00Z\"}";
    CHECK(holds(stale, "/error_code", "\"STALE_WRITE\"", -1), "literal");
    CHECK(!holds(stale, "/error_code", "\"STALE\"", -1), "literal differs");
    CHECK(!holds(stale, "/nope", "\"x\"", -1), "absent is not equal");
    CHECK(holds(stale, "/current_review_version", "{\"type\":\"integer\",\"ne\":\"{version}\"}", 5),
          "ne {version}");
    CHECK(!holds(stale, "/current_review_version", "{\"ne\":\"{version}\"}", 6), "echoed version");
    CHECK(holds(stale, "/current_review_version", "{\"gt\":5,\"le\":6}", -1), "range");
    CHECK(!holds(stale, "/error_code", "{\"type\":\"integer\"}", -1), "type");
    CHECK(holds(stale, "/id", "\"{id}\"", -1), "{id}");
    CHECK(holds(stale, "/status", "{\"same_as\":\"/processing_state\"}", -1), "same_as");
    CHECK(!holds(stale, "/status", "{\"same_as\":\"/error_code\"}", -1), "same_as differs");
    CHECK(holds(stale, "/results", "{\"present\":false}", -1), "present false");
    CHECK(!holds(stale, "/status", "{\"present\":false}", -1), "present false, present");
    CHECK(holds(stale, "/t", "{\"format\":\"iso8601\",\"skew_ms\":1000}", -1), "past time");
    CHECK(!holds(stale, "/u", "{\"skew_ms\":60000}", -1), "a time in the future");
    CHECK(!holds(stale, "/status", "{\"format\":\"iso8601\"}", -1), "not a time");
}

static void test_outcome(void)
{
    struct http_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.stale_status = 409;
    sp.record_ptr = "";
    cJSON *unknown = cJSON_Parse("{\"status\":\"unknown\"}"), *ok = cJSON_Parse("{\"status\":\"done\"}");
    struct http_answer a = {.op = HTTP_OP_CAS, .status = 409};
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_STALE, "409 to update_if_version");
    a.op = HTTP_OP_TRANSITION;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_REFUSED, "409 to transition");
    a.status = 404;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_NOT_FOUND, "404");
    a.op = HTTP_OP_READ, a.status = 503;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_UNKNOWN, "5xx to read");
    a.status = 200, a.doc = unknown;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_UNKNOWN, "200 unknown");
    a.doc = ok;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_SUCCESS, "200 record");
    a.op = HTTP_OP_OTHER, a.status = 500;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_COUNT, "5xx to a write: no contract");
    a.op = HTTP_OP_UNJUDGED, a.status = 200;
    CHECK(http_outcome_of(&sp, &a) == HTTP_OUT_COUNT, "dual_write / legacy: not judged");
    cJSON_Delete(unknown);
    cJSON_Delete(ok);
}

static const struct torn_test tests[] = {
    {"iso8601", test_iso},
    {"expect", test_expect},
    {"outcome", test_outcome},
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

/* Unit tests: target URI parsing, scenario parameters, redaction, safety. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "err.h"
#include "runner.h"
#include "scenario.h"
#include "target.h"
#include "util.h"

static void test_uri_forms(void)
{
    struct torn_target_cfg c;
    struct torn_err err;

    CHECK(torn_target_uri_parse("file", &c, &err) == 0, "file: %s", err.msg);
    CHECK(strcmp(c.driver, "file") == 0 && strcmp(c.strategy, "durable") == 0 && !c.location,
          "bare name takes the default strategy");
    torn_target_uri_free(&c);

    CHECK(torn_target_uri_parse("file:naive", &c, &err) == 0, "file:naive");
    CHECK(strcmp(c.strategy, "naive") == 0 && !c.location, "NAME:STRATEGY");
    torn_target_uri_free(&c);

    CHECK(torn_target_uri_parse("file:/tmp?strategy=rename&chunk=512", &c, &err) == 0, "dir form");
    CHECK(strcmp(c.strategy, "rename") == 0 && c.location && strcmp(c.location, "/tmp") == 0,
          "NAME:LOCATION?strategy=");
    CHECK(c.n_params == 1 && strcmp(c.params[0].key, "chunk") == 0 &&
              strcmp(c.params[0].value, "512") == 0,
          "query params kept");
    torn_target_uri_free(&c);

    CHECK(torn_target_uri_parse("file:///var/tmp?strategy=naive", &c, &err) == 0, "file URL");
    CHECK(strcmp(c.location, "/var/tmp") == 0 && strcmp(c.strategy, "naive") == 0, "file:// URL");
    torn_target_uri_free(&c);
}

static void test_uri_errors(void)
{
    struct torn_target_cfg c;
    struct torn_err err;

    torn_err_clear(&err);
    CHECK(torn_target_uri_parse("nosuch:thing", &c, &err) == TORN_E_CONFIG, "unknown target");
    CHECK(strstr(err.msg, "unknown target 'nosuch'") && strstr(err.msg, "file"),
          "message names it and the known ones: %s", err.msg);
    CHECK(torn_target_uri_parse("file:?strategy=bogus", &c, &err) == TORN_E_CONFIG,
          "unknown strategy");
    CHECK(strstr(err.msg, "bogus") && strstr(err.msg, "durable"), "lists strategies: %s", err.msg);
    CHECK(torn_target_uri_parse("file:/tmp?chunk", &c, &err) == TORN_E_CONFIG, "k without =v");
    CHECK(torn_target_uri_parse("gopher://x", &c, &err) == TORN_E_CONFIG, "unknown scheme");
}

static void test_params(void)
{
    static const struct torn_param_range ranges[] = {TORN_PARAM_INT("kills", 1, 100),
                                                     {NULL, 0, 0, 0}};
    static const struct torn_scenario_ops sc = {
        .name = "s",
        .defaults = "{\"kills\": 25, \"mode\": \"a\"}",
        .ranges = ranges,
    };
    cJSON *spec = cJSON_Parse("{\"kills\": 3}"), *out = NULL;
    struct torn_kv sets[] = {{"mode", "b"}, {"?workers", "4"}};
    struct torn_kv bad_name[] = {{"nope", "1"}};
    struct torn_kv bad_type[] = {{"kills", "many"}};
    struct torn_err err;

    CHECK(torn_params_merge(&sc, spec, "spec.json", sets, 2, &out, &err) == 0,
          "merge: %s", err.msg);
    CHECK(cJSON_GetObjectItem(out, "kills")->valuedouble == 3, "spec overrides default");
    CHECK(strcmp(cJSON_GetObjectItem(out, "mode")->valuestring, "b") == 0, "--set overrides");
    CHECK(!cJSON_GetObjectItem(out, "workers"), "soft option skipped where absent");
    cJSON_Delete(out);
    CHECK(torn_params_merge(&sc, NULL, "p", bad_name, 1, &out, &err) == TORN_E_CONFIG,
          "unknown parameter refused");
    CHECK(strstr(err.msg, "\"nope\"") != NULL, "names it: %s", err.msg);
    CHECK(torn_params_merge(&sc, NULL, "p", bad_type, 1, &out, &err) == TORN_E_CONFIG,
          "type mismatch refused");
    CHECK(strstr(err.msg, "--set kills: expected an integer from 1 to 100") != NULL,
          "says the type and range: %s", err.msg);
    cJSON_Delete(spec);
}

static void test_redact(void)
{
    char *a = torn_redact("redis://:s3cret@127.0.0.1:6379/0");
    char *b = torn_redact("postgres://bob:hunter2@localhost/db?strategy=guarded");
    char *c = torn_redact("host=127.0.0.1 user=x password=pw1 dbname=y");
    char *d = torn_redact("file:naive");

    CHECK(!strstr(a, "s3cret") && strstr(a, "***"), "redis URL: %s", a);
    CHECK(!strstr(b, "hunter2") && strstr(b, "bob:***@"), "postgres URL: %s", b);
    CHECK(!strstr(c, "pw1") && strstr(c, "password=***"), "conninfo: %s", c);
    CHECK(strcmp(d, "file:naive") == 0, "no password untouched");
    free(a);
    free(b);
    free(c);
    free(d);
    a = torn_redact("postgres://u:sec1@127.0.0.1/db?password=sec2&x=1");
    b = torn_redact("host=127.0.0.1 password='a b\\'sec3' user=x");
    c = torn_redact("password = sec4 dbname=x password=sec5");
    d = torn_redact("host=x passwordless=1 password=");
    CHECK(!strstr(a, "sec1") && !strstr(a, "sec2") && strstr(a, "x=1"), "URL and query: %s", a);
    CHECK(!strstr(b, "b") && !strstr(b, "sec3") && strstr(b, "user=x"), "quoted: %s", b);
    CHECK(!strstr(c, "sec4") && !strstr(c, "sec5") && strstr(c, "dbname=x"), "spaces, twice: %s", c);
    CHECK(strcmp(d, "host=x passwordless=1 password=") == 0, "nothing to hide: %s", d);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_loopback(void)
{
    struct torn_err err;

    CHECK(torn_host_is_loopback("127.0.0.1"), "127.0.0.1");
    CHECK(torn_host_is_loopback("127.5.6.7"), "127/8");
    CHECK(torn_host_is_loopback("::1"), "::1");
    CHECK(torn_host_is_loopback("localhost"), "localhost");
    CHECK(!torn_host_is_loopback("10.1.2.3"), "private range is remote");
    CHECK(!torn_host_is_loopback("8.8.8.8"), "public is remote");
    CHECK(torn_check_remote("10.0.0.1", 0, "target x", &err) == TORN_E_CONFIG &&
              strstr(err.msg, "--allow-remote"),
          "refusal names the flag: %s", err.msg);
    CHECK(torn_check_remote("10.0.0.1", 1, "target x", &err) == 0, "--allow-remote allows");
}

static void test_rng_deterministic(void)
{
    struct torn_rng a, b;
    int same = 1;

    torn_rng_seed(&a, 99);
    torn_rng_seed(&b, 99);
    for (int i = 0; i < 1000; i++)
        same &= torn_rng_next(&a) == torn_rng_next(&b);
    CHECK(same, "same seed, same sequence");
    CHECK(torn_seed_derive(1, "a") != torn_seed_derive(1, "b"), "derived seeds differ");
    CHECK(torn_seed_derive(1, "a") == torn_seed_derive(1, "a"), "derivation is deterministic");
}

static void test_atomic_write(void)
{
    char dir[] = "/tmp/torn-unit-XXXXXX", path[128], *buf;
    size_t len;

    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/f.txt", dir);
    CHECK(torn_write_file_atomic(path, "hello", 5, NULL) == 0, "write");
    CHECK(torn_read_file(path, &buf, &len, NULL) == 0 && len == 5 && !strcmp(buf, "hello"),
          "read back");
    free(buf);
    CHECK(torn_read_file("/nonexistent/x", &buf, &len, NULL) == TORN_E_NOTFOUND, "typed notfound");
    CHECK(torn_rmtree("/") != 0 && torn_rmtree("") != 0, "rmtree refuses / and empty");
    CHECK(torn_rmtree(dir) == 0, "rmtree");
}

static const struct torn_test tests[] = {
    {"uri_forms", test_uri_forms},
    {"uri_errors", test_uri_errors},
    {"params", test_params},
    {"redact", test_redact},
    {"loopback", test_loopback},
    {"rng_deterministic", test_rng_deterministic},
    {"atomic_write", test_atomic_write},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

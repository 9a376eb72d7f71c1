/* Unit tests: target URI parsing, scenario parameters, redaction, safety. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/outfile.h"
#include "core/text.h"
#include "run/runner.h"
#include "run/target_uri.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

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
        .version = TORN_SCENARIO_OPS_V1,
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

/* Every secret span: a raw '@' in a URL password, several URLs, any case,
 * sslpassword, --target-opt; the in-place form keeps the length. */
static void test_redact_more(void)
{
    char *a = torn_redact("redis://:ab@cdSECRET@127.0.0.1:6379/0");
    char *b = torn_redact("redis://:p1SECRET@h/0 postgres://u:p2SECRET@h/db");
    char *c = torn_redact("sslmode=x sslpassword=p3SECRET PASSWORD=p4SECRET");
    char *d = torn_redact("redis://:a?b@cSECRET@h?x=1@y");
    char arg[] = "password=p5SECRET";

    CHECK(!strstr(a, "SECRET") && strstr(a, "***@127.0.0.1"), "raw @: %s", a);
    CHECK(!strstr(b, "SECRET") && strstr(b, "@h/db"), "two URLs: %s", b);
    CHECK(!strstr(c, "SECRET") && strstr(c, "sslmode=x"), "sslpassword, PASSWORD: %s", c);
    CHECK(!strstr(d, "SECRET"), "'?' and '@' in the password: %s", d);
    CHECK(torn_redact_inplace(arg) && strcmp(arg, "password=********") == 0, "in place: %s",
          arg);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* The replay/command quoting: what sh parses back is the argument. */
static void test_shell_quote(void)
{
    static const char *const args[] = {"file:naive", "exec:/bin/sh -c 'x && echo never'", "",
                                       "a'b", "$(id)", "`id`;x|y", NULL};
    for (size_t i = 0; args[i]; i++) {
        char *buf = NULL, *got = NULL, cmd[512];
        size_t len = 0, glen = 0;
        FILE *f = open_memstream(&buf, &len), *p;
        torn_shell_quote(f, args[i]);
        fclose(f);
        snprintf(cmd, sizeof cmd, "printf %%s %s", buf);
        p = popen(cmd, "r");
        f = open_memstream(&got, &glen);
        for (int ch; p && (ch = fgetc(p)) != EOF;)
            fputc(ch, f);
        fclose(f);
        if (p)
            pclose(p);
        CHECK(strcmp(got, args[i]) == 0, "sh reads back [%s] as [%s] from %s", args[i], got, buf);
        free(buf);
        free(got);
    }
}

/* Control characters, invalid UTF-8, C1 and bidi controls become visible
 * escapes; ordinary UTF-8 stays. */
static void test_text_safe(void)
{
    char *a = torn_text_safe("a\n::error::x\x1b[31m\r\t\x7f\xc2\x9b\xe2\x80\xae\xff é");
    char small[8] = "a\x1b[2Jbc";

    CHECK(strcmp(a, "a\\n::error::x\\x1b[31m\\r\\t\\x7f\\u009b\\u202e\\xff é") == 0, "got %s", a);
    CHECK(!torn_text_safe(NULL), "NULL stays NULL");
    torn_text_safe_inplace(small, sizeof small);
    CHECK(strcmp(small, "a\\x1b[2") == 0, "in place, truncated: %s", small);
    free(a);
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
    CHECK(torn_require_loopback("10.0.0.1", 0, "target x", &err) == TORN_E_CONFIG &&
              strstr(err.msg, "--allow-remote"),
          "refusal names the flag: %s", err.msg);
    CHECK(torn_require_loopback("10.0.0.1", 1, "target x", &err) == 0, "--allow-remote allows");
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
    {"redact_more", test_redact_more},
    {"shell_quote", test_shell_quote},
    {"text_safe", test_text_safe},
    {"loopback", test_loopback},
    {"rng_deterministic", test_rng_deterministic},
    {"atomic_write", test_atomic_write},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

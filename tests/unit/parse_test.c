/* Unit tests: the strict number parser, strict JSON, and every scenario's
 * parameter declaration (ranges cover every number, defaults agree with
 * scenarios/<name>.json). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

static void test_int(void)
{
    static const struct {
        const char *s;
        int ok;
        long long v;
    } cases[] = {
        {"0", 1, 0}, {"-5", 1, -5}, {"+7", 1, 7}, {"100", 1, 100}, {"007", 1, 7},
        {"0x10", 0, 0}, {"010x", 0, 0}, {"1.5", 0, 0}, {"1=2", 0, 0}, {"1e3", 0, 0},
        {"", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0}, {"-", 0, 0}, {"101", 0, 0}, {"-6", 0, 0},
        {"99999999999999999999", 0, 0}, {"1\n", 0, 0}, {"inf", 0, 0}, {"12abc", 0, 0},
    };
    struct torn_err err;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long v = 42;
        int rc = torn_parse_int("--set kills", cases[i].s, -5, 100, &v, &err);
        CHECK((rc == 0) == cases[i].ok, "'%s': rc %d (%s)", cases[i].s, rc, err.msg);
        CHECK(!cases[i].ok || v == cases[i].v, "'%s' -> %lld", cases[i].s, v);
        CHECK(cases[i].ok || (rc == TORN_E_CONFIG && v == 42), "'%s': out untouched", cases[i].s);
    }
    torn_parse_int("--set kills", "0x10", 1, 100000, &(long long){0}, &err);
    CHECK(strcmp(err.msg, "--set kills: expected an integer from 1 to 100000, got '0x10'") == 0,
          "message: %s", err.msg);
    torn_parse_int("x", "a\033[31mb", 1, 2, &(long long){0}, &err);
    CHECK(!strchr(err.msg, '\033'), "control characters neutralised: %s", err.msg);
}

static void test_u64(void)
{
    uint64_t v = 0;

    CHECK(torn_parse_u64("--seed", "18446744073709551615", &v, NULL) == 0 && v == UINT64_MAX,
          "max seed");
    CHECK(torn_parse_u64("--seed", "18446744073709551616", &v, NULL) == TORN_E_CONFIG,
          "overflow refused");
    CHECK(torn_parse_u64("--seed", "-1", &v, NULL) == TORN_E_CONFIG, "negative refused");
    CHECK(torn_parse_u64("--seed", "0x10", &v, NULL) == TORN_E_CONFIG, "hex refused");
    CHECK(torn_parse_u64("--seed", "010", &v, NULL) == 0 && v == 10, "decimal, not octal");
}

static void test_real(void)
{
    static const struct {
        const char *s;
        int ok;
        double v;
    } cases[] = {
        {"1.5", 1, 1.5}, {"1e3", 1, 1000}, {"-0.5", 1, -0.5}, {"2E-1", 1, 0.2}, {"3", 1, 3},
        {"1e-400", 1, 0}, {"inf", 0, 0}, {"nan", 0, 0}, {"1e400", 0, 0}, {".5", 0, 0},
        {"5.", 0, 0}, {"0x1p3", 0, 0}, {"1.5x", 0, 0}, {"", 0, 0}, {"1e", 0, 0},
        {"1e+", 0, 0}, {"2000", 0, 0}, {"-infinity", 0, 0}, {" 1", 0, 0},
    };
    struct torn_err err;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = 42;
        int rc = torn_parse_real("--duration", cases[i].s, -1, 1000, &v, &err);
        CHECK((rc == 0) == cases[i].ok, "'%s': rc %d (%s)", cases[i].s, rc, err.msg);
        CHECK(!cases[i].ok || fabs(v - cases[i].v) < 1e-12, "'%s' -> %g", cases[i].s, v);
    }
    torn_parse_real("--time-limit", "1e12", 0.001, 604800, &(double){0}, &err);
    CHECK(strcmp(err.msg, "--time-limit: expected a number from 0.001 to 604800, got '1e12'") == 0,
          "message: %s", err.msg);
}

static void test_number(void)
{
    double v = 0;

    CHECK(torn_parse_number("n", "12", 1, 1, 100, &v, NULL) == 0 && v == 12, "integer kind");
    CHECK(torn_parse_number("n", "1.5", 1, 1, 100, &v, NULL) == TORN_E_CONFIG, "no fraction");
    CHECK(torn_parse_number("n", "1.5", 0, 1, 100, &v, NULL) == 0 && v == 1.5, "real kind");
}

static void test_units(void)
{
    static const struct torn_unit u[] = {{"ms", 0.001}, {"s", 1}, {"", 1}, {NULL, 0}};
    struct torn_err err;
    double v = 0;

    CHECK(torn_parse_real_unit("--schedule", "500ms", u, 0, 100, &v, &err) == 0 && v == 0.5,
          "500ms = 0.5 s");
    CHECK(torn_parse_real_unit("--schedule", "2s", u, 0, 100, &v, &err) == 0 && v == 2, "2s");
    CHECK(torn_parse_real_unit("--schedule", "2", u, 0, 100, &v, &err) == 0 && v == 2, "bare");
    CHECK(torn_parse_real_unit("--schedule", "2m", u, 0, 100, &v, &err) == TORN_E_CONFIG,
          "unknown unit refused");
    CHECK(strstr(err.msg, "ms|s|none") != NULL, "units listed: %s", err.msg);
    CHECK(torn_parse_real_unit("--schedule", "200s", u, 0, 100, &v, &err) == TORN_E_CONFIG,
          "range after scaling");
    CHECK(torn_parse_real_unit("--schedule", "1e400ms", u, 0, 1e9, &v, &err) == TORN_E_CONFIG,
          "overflow before scaling");
}

static void test_json_num(void)
{
    cJSON *a = cJSON_CreateNumber(1.5), *b = cJSON_CreateNumber(3), *c = cJSON_CreateString("3");
    struct torn_err err;

    CHECK(torn_parse_json_num("p", a, 1, 1, 10, &err) == TORN_E_CONFIG, "fraction for an integer");
    CHECK(strstr(err.msg, "got '1.5'") != NULL, "says the value: %s", err.msg);
    CHECK(torn_parse_json_num("p", a, 0, 1, 10, &err) == 0, "fraction for a real");
    CHECK(torn_parse_json_num("p", b, 1, 1, 10, &err) == 0, "integer");
    CHECK(torn_parse_json_num("p", b, 1, 4, 10, &err) == TORN_E_CONFIG, "below range");
    CHECK(torn_parse_json_num("p", c, 1, 1, 10, &err) == TORN_E_CONFIG, "a string");
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

static void test_json(void)
{
    static const struct {
        const char *text, *want; /* want: NULL = accepted, else in the message */
    } cases[] = {
        {"{\"a\": 1, \"b\": 2}", NULL},
        {"\xEF\xBB\xBF{\"a\": 1}\n", NULL},
        {"{\"a\": 1}  \n\t", NULL},
        {"{\"a\": 1, \"a\": 2}", "key \"a\" appears twice"},
        {"{\"p\": {\"k\": 1, \"x\": 0, \"k\": 2}}", "key \"k\" appears twice"},
        {"[{\"k\": 1}, {\"k\": 2, \"k\": 3}]", "key \"k\""},
        {"{\"a\": 1} trailing", "text after the JSON value"},
        {"{\"a\": 1}{}", "text after"},
        {"{\n\"a\": \n}", "f:3: malformed JSON"},
        {"", "malformed"},
    };
    struct torn_err err;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = NULL;
        int rc = torn_parse_json("f", cases[i].text, strlen(cases[i].text), &j, &err);
        if (!cases[i].want)
            CHECK(rc == 0 && j, "#%zu accepted: %s", i, err.msg);
        else
            CHECK(rc == TORN_E_CONFIG && !j && strstr(err.msg, cases[i].want),
                  "#%zu refused with '%s': %s", i, cases[i].want, err.msg);
        cJSON_Delete(j);
    }
    {   /* many keys: the sorted path */
        char *big = malloc(200 * 12 + 16), *p = big;
        p += sprintf(p, "{");
        for (int i = 0; i < 200; i++)
            p += sprintf(p, "%s\"k%d\": 1", i ? ", " : "", i % 150);
        sprintf(p, "}");
        cJSON *j = NULL;
        CHECK(torn_parse_json("f", big, strlen(big), &j, &err) == TORN_E_CONFIG &&
                  strstr(err.msg, "appears twice"),
              "duplicate among 200 keys: %s", err.msg);
        free(big);
    }
}

/* scenarios/<name>.json, from $TORN_ROOT (tests/run.sh) or the cwd. */
static cJSON *load_scenario_json(const char *name)
{
    const char *root = getenv("TORN_ROOT");
    char path[512], *buf;
    size_t len;
    cJSON *j = NULL;

    snprintf(path, sizeof path, "%s/scenarios/%s.json", root && *root ? root : ".", name);
    if (torn_read_file(path, &buf, &len, NULL) != 0)
        return NULL;
    torn_parse_json(path, buf, len, &j, NULL);
    free(buf);
    return j;
}

/* Every scenario: each number in its defaults has a declared range that
 * holds its default, each range names a number, the merge of nothing
 * succeeds, and its defaults are the "params" of scenarios/<name>.json,
 * their only source (mk/scenarios.mk compiles them in; a difference here
 * means a build older than the file). */
static void test_declarations(void)
{
    size_t n;
    const struct torn_scenario_ops *const *all = torn_scenarios(&n);

    for (size_t i = 0; i < n; i++) {
        const struct torn_scenario_ops *s = all[i];
        cJSON *d = cJSON_Parse(s->defaults), *out = NULL, *file = load_scenario_json(s->name);
        const cJSON *f;
        struct torn_err err;

        CHECK(cJSON_IsObject(d), "%s: defaults are a JSON object", s->name);
        cJSON_ArrayForEach(f, d) if (cJSON_IsNumber(f))
            CHECK(torn_param_range_find(s, f->string), "%s: %s has a range", s->name, f->string);
        for (const struct torn_param_range *r = s->ranges; r && r->name; r++)
            CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(d, r->name)) && r->min <= r->max,
                  "%s: range %s names a number parameter", s->name, r->name);
        CHECK(torn_params_merge(s, NULL, NULL, NULL, 0, &out, &err) == 0, "%s: defaults: %s",
              s->name, err.msg);
        CHECK(file != NULL, "%s: scenarios/%s.json readable (TORN_ROOT)", s->name, s->name);
        CHECK(!file || cJSON_Compare(cJSON_GetObjectItemCaseSensitive(file, "params"), d, 1),
              "%s: scenarios/%s.json params equal the compiled-in defaults (rebuild)", s->name,
              s->name);
        cJSON_Delete(out);
        cJSON_Delete(file);
        cJSON_Delete(d);
    }
}

/* Values that used to run (a heap overflow for payload_len=-1, PASS with no
 * work for kills=0): refused by their declared range. */
static void test_ranges_refuse(void)
{
    static const struct {
        const char *scenario, *key, *value, *want;
    } cases[] = {
        {"crash-midwrite", "payload_len", "-1", "--set payload_len: expected an integer from 1"},
        {"crash-midwrite", "payload_len", "4294967296", "to 8388608, got '4294967296'"},
        {"crash-midwrite", "kills", "0", "--set kills: expected an integer from 1 to 100000"},
        {"crash-midwrite", "max_delay_ms", "-1", "--set max_delay_ms: expected a number from 0"},
        {"concurrent-updaters", "updates", "-1", "from 1 to"},
        {"optimistic-lock", "rounds", "-3", "from 1 to"},
        {"concurrent-updaters", "?workers", "256", "--workers: expected an integer from 1 to 128"},
        {"io-errors", "max_nth", "100000", "--set max_nth: expected an integer from 1 to 10000"},
    };
    struct torn_err err;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct torn_kv kv = {cases[i].key, cases[i].value};
        cJSON *out = NULL;
        int rc = torn_params_merge(torn_scenario_find(cases[i].scenario), NULL, NULL, &kv, 1,
                                   &out, &err);
        CHECK(rc == TORN_E_CONFIG && !out && strstr(err.msg, cases[i].want),
              "%s %s=%s: '%s' in: %s", cases[i].scenario, cases[i].key, cases[i].value,
              cases[i].want, err.msg);
        cJSON_Delete(out);
    }
}

static void test_spec_ranges(void)
{
    cJSON *spec = cJSON_Parse("{\"kills\": 1.5}"), *out = NULL;
    struct torn_err err;

    CHECK(torn_params_merge(torn_scenario_find("crash-midwrite"), spec, "x.json", NULL, 0, &out,
                            &err) == TORN_E_CONFIG,
          "a fraction in a spec file");
    CHECK(strstr(err.msg, "x.json: parameter \"kills\": expected an integer") != NULL, "%s",
          err.msg);
    cJSON_Delete(spec);
}

static const struct torn_test tests[] = {
    {"int", test_int},
    {"u64", test_u64},
    {"real", test_real},
    {"number", test_number},
    {"units", test_units},
    {"json_num", test_json_num},
    {"json", test_json},
    {"declarations", test_declarations},
    {"ranges_refuse", test_ranges_refuse},
    {"spec_ranges", test_spec_ranges},
    {NULL, NULL},
};
TORN_TEST_MAIN(tests)

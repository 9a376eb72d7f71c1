/* Unit tests of value equality (check/value.h), the EDN reader
 * (check/edn.h) and the Jepsen formats of the history reader: each case a
 * history the checker must FAIL next to its twin it must PASS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "check/checker.h"
#include "check/edn.h"
#include "check/history_read.h"
#include "check/intern.h"
#include "check/value.h"
#include "core/err.h"
#include "core/util.h"

/* The canonical text of JSON text j (numbers kept exact as the reader does). */
static char *canon_json(const char *j)
{
    struct torn_hist *h = NULL;
    struct torn_err err;
    char line[512];
    char *txt = NULL;

    snprintf(line, sizeof line, "{\"type\":\"fault\",\"f\":\"x\",\"value\":%s}\n", j);
    if (torn_hist_parse(line, strlen(line), "v.jsonl", TORN_HIST_TORN, &h, &err) == TORN_OK)
        txt = strdup(torn_hist_value_text(h, h->events[0].value ? 0 : UINT32_MAX));
    torn_hist_free(h);
    return txt;
}

static char *canon_edn(const char *e)
{
    cJSON *v = torn_edn_parse(e, NULL);
    char *txt = v ? torn_value_text(v) : NULL;

    cJSON_Delete(v);
    return txt;
}

static char *canon_any(const char *t)
{
    return strncmp(t, "e:", 2) ? canon_json(t) : canon_edn(t + 2);
}

static void same(char *a, char *b, int want, const char *what)
{
    CHECK(a && b && (strcmp(a, b) == 0) == want, "%s: %s vs %s", what, a ? a : "NULL",
          b ? b : "NULL");
    free(a);
    free(b);
}

static void test_equality(void)
{
    /* {a, b, equal?, why}; "e:" marks EDN text, the rest is JSON. */
    static const struct {
        const char *a, *b;
        int want;
        const char *what;
    } cases[] = {
        {"1234567890123456789", "1234567890123456700", 0, "big integers differ in the last digits"},
        {"123456789012345678901234567890", "123456789012345678901234567890", 1, "30 digits"},
        {"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", 1, "objects are key sets"},
        {"{\"a\":1}", "{\"a\":1,\"b\":2}", 0, "a missing key counts"},
        {"1", "1.0", 1, "1 and 1.0 are the same number"},
        {"1e2", "100", 1, "1e2 is 100"},
        {"0.1", "0.10000000000000001", 0, "decimals that share a double differ"},
        {"-0", "0", 1, "-0 is 0"},
        {"[1,2]", "[2,1]", 0, "arrays keep their order"},
        {"\"1\"", "1", 0, "a string is not a number"},
        {"e:#{1 2 3}", "e:#{3 1 2}", 1, "EDN sets ignore order"},
        {"e:[1 2]", "e:(1 2)", 1, "vectors and lists alike"},
        {"e:12345678901234567890N", "12345678901234567890", 1, "bigint suffix"},
        {"e:1.50M", "1.5", 1, "bigdecimal suffix"},
        {"e::ok", "\"ok\"", 1, "a keyword reads as its name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        same(canon_any(cases[i].a), canon_any(cases[i].b), cases[i].want, cases[i].what);
    static const char *const forms[][2] = {{"1.5e-40", "1.5e-40"}, {"0.00125", "0.00125"},
                                            {"1E+25", "1e+25"}, {"-12.50", "-12.5"}};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char *t = canon_json(forms[i][0]);
        CHECK(t && !strcmp(t, forms[i][1]), "%s prints as %s", forms[i][0], t ? t : "NULL");
        free(t);
    }
}

static void test_edn(void)
{
    const char *big = "{:a [1 -2.5 nil :k \"s\\\"q\\n\\u00e9\"] ; comment\n"
                      " :b #{1}, :jepsen/ns :x/y, :t #inst \"2024-01-01\", #_ :gone :c \\a}";
    cJSON *v = torn_edn_parse(big, NULL);
    char *txt = v ? torn_value_text(v) : NULL;

    CHECK(txt && !strcmp(txt, "{\"a\":[1,-2.5,null,\"k\",\"s\\\"q\\u000a\xc3\xa9\"],\"b\":#{1},"
                              "\"c\":\"a\",\"jepsen/ns\":\"x/y\",\"t\":\"2024-01-01\"}"),
          "edn value %s", txt ? txt : "NULL");
    free(txt);
    cJSON_Delete(v);
    static const char *const bad[] = {"[1 2", "{:a}", "{:a 1 :a 2}", "\"abc", "#", ")",
                                      "\"\\q\"", "1e", "\\nosuch", ":", NULL};
    for (int i = 0; bad[i]; i++) {
        v = torn_edn_parse(bad[i], NULL);
        CHECK(v == NULL, "bad EDN accepted: %s", bad[i]);
        cJSON_Delete(v);
    }
    struct torn_edn r;
    size_t line = 0;
    const char *two = "{:a 1}\n\n[1\n 2\n\"x\ny\"] (3";
    torn_edn_init(&r, two, strlen(two));
    v = torn_edn_read(&r, &line);
    CHECK(v && line == 1, "first form at line 1 (%zu)", line);
    cJSON_Delete(v);
    v = torn_edn_read(&r, &line);
    CHECK(v && line == 3 && cJSON_GetArraySize(v) == 3, "second form at line 3 (%zu)", line);
    cJSON_Delete(v);
    v = torn_edn_read(&r, &line);
    CHECK(!v && r.msg[0] && r.err_line == 6, "unclosed list: line %zu: %s", r.err_line, r.msg);
}

/* Verdict of text with model (or -1 on an input error, message in errbuf). */
static int verdict(const char *model, const char *text, char *errbuf, size_t errlen)
{
    struct torn_hist *h = NULL;
    struct torn_check_result res;
    struct torn_check_opts o = {.time_limit_s = 20};
    struct torn_err err;
    int v = -1;

    torn_check_result_init(&res);
    if (torn_hist_parse(text, strlen(text), "h.edn", TORN_HIST_AUTO, &h, &err) == TORN_OK &&
        torn_checker_find(model)->check(h, &o, &res, &err) == TORN_OK)
        v = (int)res.verdict;
    if (v < 0 && errbuf)
        snprintf(errbuf, errlen, "%s", err.msg);
    torn_check_result_free(&res);
    torn_hist_free(h);
    return v;
}

#define J(type, p, f, val, t)                                                                  \
    "{\"type\":\"" type "\",\"process\":" #p ",\"f\":\"" f "\",\"value\":" val ",\"time\":" #t \
    "}\n"

/* A write of w then a read of r, both ok, in sequence. */
static void write_read(const char *w, const char *r, int want, const char *what)
{
    char buf[512];

    snprintf(buf, sizeof buf,
             J("invoke", 0, "write", "%s", 1) J("ok", 0, "write", "%s", 2)
                 J("invoke", 1, "read", "null", 3) J("ok", 1, "read", "%s", 4),
             w, w, r);
    CHECK(verdict("register", buf, NULL, 0) == want, "register: %s", what);
}

static void test_checker_values(void)
{
    write_read("1234567890123456789", "1234567890123456700", TORN_CHECK_INVALID,
               "a big integer read back wrong is a violation");
    write_read("1234567890123456789", "1234567890123456789", TORN_CHECK_VALID,
               "a big integer read back right");
    write_read("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", TORN_CHECK_VALID,
               "jsonb reordered the keys");
    write_read("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":3}", TORN_CHECK_INVALID,
               "a changed member");
    write_read("1", "1.0", TORN_CHECK_VALID, "1 read back as 1.0");
}

#define HISTORY_EDN \
        "{:index 0, :time 1000, :type :invoke, :process 0, :f :write, :value 3}\n" \
        "{:index 1, :time 2000, :type :ok, :process 0, :f :write, :value 3}\n" \
        "{:index 2, :time 2500, :type :info, :process :nemesis, :f :start, :value nil}\n" \
        "{:index 3, :time 2600, :type :info, :process :nemesis, :f :start,\n" \
        "  :value [:isolated {\"n1\" #{\"n2\" \"n3\"}}]}\n" \
        "{:index 4, :time 3000, :type :invoke, :process 1, :f :read, :value nil}\n" \
        "{:index 5, :time 4000, :type :fail, :process 1, :f :read, :value nil, :error :timeout}\n" \
        "{:index 6, :time 5000, :type :invoke, :process 2, :f :cas, :value [3 4]}\n" \
        "{:index 7, :time 6000, :type :info, :process 2, :f :cas, :value [3 4], :error \"?\"}\n" \
        "{:index 8, :time 7000, :type :invoke, :process 3, :f :read, :value nil}\n" \
        "{:index 9, :time 8000, :type :ok, :process 3, :f :read, :value %d}\n"
#define KNOSSOS "; Knossos data/: one vector\n" \
                          "[{:process 0, :type :invoke, :f :write, :value 1}\n" \
                          " {:process 0, :type :ok,     :f :write, :value 1}\n" \
                          " {:process 1,\n  :type :invoke,\n  :f :read,\n  :value nil}\n" \
                          " {:process 1, :type :ok, :f :read, :value %d}]\n"

/* A log text with one write and one read (or cas) completed, and one line of
 * chatter skipped and counted. */
static void log_two_ops(const char *text, const char *what)
{
    struct torn_hist *h = NULL;
    struct torn_err err = {0};

    CHECK(torn_hist_parse(text, strlen(text), "jepsen.log", TORN_HIST_AUTO, &h, &err) == TORN_OK &&
              h->n_ops == 2 && h->n_skipped == 1 && h->ops[1].outcome == TORN_OUT_OK,
          "%s: %s", what, err.msg);
    torn_hist_free(h);
}

static void test_jepsen_formats(void)
{
    char msg[256] = "";
    const char *indep_ok = "{:type :invoke, :f :write, :value [7 4], :process 0}\n"
                           "{:type :ok, :f :write, :value [7 4], :process 0}\n"
                           "{:type :invoke, :f :write, :value [8 5], :process 2}\n"
                           "{:type :ok, :f :write, :value [8 5], :process 2}\n"
                           "{:type :invoke, :f :read, :value [7 nil], :process 1}\n"
                           "{:type :ok, :f :read, :value [7 4], :process 1}\n";
    const char *indep_bad = "{:type :invoke, :f :write, :value [7 4], :process 0}\n"
                            "{:type :ok, :f :write, :value [7 4], :process 0}\n"
                            "{:type :invoke, :f :write, :value [8 5], :process 2}\n"
                            "{:type :ok, :f :write, :value [8 5], :process 2}\n"
                            "{:type :invoke, :f :read, :value [7 nil], :process 1}\n"
                            "{:type :ok, :f :read, :value [7 5], :process 1}\n";
    /* The indented line carries the only bad read. */
    const char *indented = "{:type :invoke, :f :write, :value 1, :process 0}\n"
                           "{:type :ok, :f :write, :value 1, :process 0}\n"
                           " {:type :invoke, :f :read, :value nil, :process 1}\n"
                           " {:type :ok, :f :read, :value 2, :process 1}\n";
    char buf[2048];
    struct torn_hist *h = NULL;
    struct torn_err err;

    CHECK(verdict("register", indep_ok, msg, sizeof msg) == TORN_CHECK_VALID,
          "independent history linearizable per key: %s", msg);
    CHECK(verdict("register", indep_bad, msg, sizeof msg) == TORN_CHECK_INVALID,
          "independent history read key 8's value on key 7");
    CHECK(verdict("register", indented, msg, sizeof msg) == TORN_CHECK_INVALID,
          "the indented bad read is read");
    snprintf(buf, sizeof buf, HISTORY_EDN, 4);
    CHECK(verdict("cas-register", buf, msg, sizeof msg) == TORN_CHECK_VALID,
          "history.edn with nemesis ops: %s", msg);
    snprintf(buf, sizeof buf, HISTORY_EDN, 5);
    CHECK(verdict("cas-register", buf, msg, sizeof msg) == TORN_CHECK_INVALID,
          "history.edn reading a value nobody wrote");
    CHECK(torn_hist_parse(buf, strlen(buf), "h.edn", TORN_HIST_AUTO, &h, &err) == TORN_OK &&
              h->n_events == 2 && !h->events[0].notify && !strcmp(h->events[0].f, "start") &&
              h->n_ops == 4 && !h->clockless,
          "nemesis ops are fault events");
    torn_hist_free(h);
    snprintf(buf, sizeof buf, KNOSSOS, 1);
    CHECK(verdict("register", buf, msg, sizeof msg) == TORN_CHECK_VALID, "knossos vector: %s",
          msg);
    snprintf(buf, sizeof buf, KNOSSOS, 2);
    CHECK(verdict("register", buf, msg, sizeof msg) == TORN_CHECK_INVALID,
          "knossos vector, bad read");
    const char *logs = "INFO [2024-01-01 00:00:00,000] jepsen worker 0 - jepsen.util 0\t:invoke\t:write\t1\n"
                       "INFO [2024-01-01 00:00:00,001] jepsen worker 0 - jepsen.util 0\t:ok\t:write\t1\n"
                       "INFO [2024-01-01 00:00:00,002] jepsen test - starting\n"
                       "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
                       "1\t:ok\t:read\t1\n";
    log_two_ops(logs, "both log generations and history.txt lines; chatter counted");
    const char *spaced = "INFO  jepsen.util - 1   :invoke :write  3\n"
                         "INFO  jepsen.util - 1   :ok     :write  3\n"
                         "INFO  jepsen.util - 2   :invoke :cas    [3 4]\n"
                         "INFO  jepsen.util - 2   :ok     :cas    [3 4]\n"
                         "INFO  jepsen.util - 1 is not an operation\n";
    log_two_ops(spaced, "log columns separated by runs of spaces; chatter counted");
    const char *dup = "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":{\"a\":1,\"a\":2}}\n";
    CHECK(verdict("register", dup, msg, sizeof msg) < 0 && strstr(msg, "h.edn:1: a key given twice"),
          "a JSON object with a key given twice is refused: %s", msg);
    const char *dup2 = "{\"type\":\"invoke\",\"type\":\"ok\",\"process\":0,\"f\":\"read\"}\n";
    CHECK(verdict("register", dup2, msg, sizeof msg) < 0 && strstr(msg, "given twice"),
          "an operation with a field given twice is refused: %s", msg);
    const char *junk = "{:process 0, :type :invoke, :f :write, :value 1}\nwhat is this\n";
    CHECK(verdict("register", junk, msg, sizeof msg) < 0 && strstr(msg, "h.edn:2:"),
          "a line that is not understood is an error naming file and line: %s", msg);
}

/* The hash of a concatenation continues from the hash of its head (the kv
 * model interns appended states so); a wrong hash would make equal states
 * two ids, and a read of the appended value a false alarm. */
static void test_intern_hashed(void)
{
    struct torn_intern *t = torn_intern_new();
    int64_t empty = torn_intern_id(t, "", 0), ab = torn_intern_id(t, "ab", 2);
    uint64_t h = torn_fnv1a(torn_intern_hash(t, ab), "cd", 2);

    CHECK(torn_intern_hash(t, empty) == TORN_FNV_INIT, "the empty string's hash is the seed");
    CHECK(torn_intern_id_hashed(t, "abcd", 4, h) == torn_intern_id(t, "abcd", 4) &&
              torn_intern_count(t) == 3,
          "an appended string found by its continued hash is the one interned whole");
    h = torn_fnv1a(torn_intern_hash(t, empty), "ab", 2);
    CHECK(torn_intern_id_hashed(t, "ab", 2, h) == ab, "appending to the empty string");
    torn_intern_free(t);
}

static const struct torn_test tests[] = {
    {"intern_hashed", test_intern_hashed},
    {"equality", test_equality},
    {"edn", test_edn},
    {"checker_values", test_checker_values},
    {"jepsen_formats", test_jepsen_formats},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

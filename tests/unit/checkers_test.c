/* Unit tests of the history reader and every checker: hand-written minimal
 * histories that must pass, broken variants that must fail with the right
 * criterion and a small counterexample, and generated histories (seeded)
 * with and without injected violations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "check/gen.h"
#include "check/checker.h"
#include "core/err.h"
#include "check/edn.h"
#include "check/history_read.h"
#include "check/keys.h"

/* Check text with model; returns the verdict, or -1 (and prints) on error.
 * criterion/n_cx_out (may be NULL) receive the first violation's. */
static int verdict_of(const char *model, const char *text, const struct torn_check_opts *o,
                      char *criterion, size_t crit_len, size_t *n_cx_out)
{
    struct torn_hist *h = NULL;
    struct torn_check_result res;
    struct torn_check_opts dflt;
    struct torn_err err;
    int v = -1;

    memset(&dflt, 0, sizeof dflt);
    dflt.time_limit_s = 20;
    torn_check_result_init(&res);
    if (criterion)
        criterion[0] = '\0';
    if (torn_hist_parse(text, strlen(text), "t.jsonl", TORN_HIST_AUTO, &h, &err) != TORN_OK) {
        fprintf(stderr, "parse: %s\n", err.msg);
        return -1;
    }
    if (torn_checker_find(model)->check(h, o ? o : &dflt, &res, &err) != TORN_OK) {
        fprintf(stderr, "check: %s\n", err.msg);
    } else {
        v = (int)res.verdict;
        if (res.n_violations && criterion)
            snprintf(criterion, crit_len, "%s", res.violations[0].criterion);
        if (n_cx_out)
            *n_cx_out = res.n_violations ? res.violations[0].n_ops : 0;
    }
    torn_check_result_free(&res);
    torn_hist_free(h);
    return v;
}

static void expect(const char *model, const char *text, int verdict, const char *criterion,
                   const char *what)
{
    char crit[64];
    int v = verdict_of(model, text, NULL, crit, sizeof crit, NULL);

    CHECK(v == verdict, "%s: %s: verdict %d, want %d (%s)", model, what, v, verdict, crit);
    if (criterion)
        CHECK(!strcmp(crit, criterion), "%s: %s: criterion %s, want %s", model, what, crit,
              criterion);
}

#define L(type, p, f, val, t) \
    "{\"type\":\"" type "\",\"process\":" #p ",\"f\":\"" f "\",\"value\":" val ",\"time\":" #t "}\n"
#define K(type, p, f, key, val, t)                                                           \
    "{\"type\":\"" type "\",\"process\":" #p ",\"f\":\"" f "\",\"key\":\"" key               \
    "\",\"value\":" val ",\"time\":" #t "}\n"

static void test_reader(void)
{
    struct torn_hist *h;
    struct torn_err err;
    const char *bad = L("invoke", 0, "read", "null", 1) "{not json\n";
    const char *orphan = L("ok", 0, "read", "1", 1);
    const char *mixed = L("invoke", 0, "read", "null", 1) "{\"type\":\"ok\",\"process\":0,\"f\":\"read\"}\n";
    const char *reuse = L("invoke", 3, "write", "1", 1) L("invoke", 3, "write", "2", 2)
        L("ok", 3, "write", "2", 3) L("invoke", 4, "read", "null", 4);
    const char *log = "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\n"
                      "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
                      "INFO  jepsen.util - 3\t:info\t:cas\t:timed-out\n";
    const char *edn = "{:process 0, :type :invoke, :f :get, :key \"a b\", :value nil}\n"
                      "{:process 0, :type :ok, :f :get, :key \"a b\", :value \"x 0 0 y\"}\n";

    CHECK(torn_hist_parse(bad, strlen(bad), "b.jsonl", TORN_HIST_AUTO, &h, &err) == TORN_E_CONFIG,
          "malformed line accepted");
    CHECK(strstr(err.msg, "b.jsonl:2:") != NULL, "error names file:line: %s", err.msg);
    CHECK(torn_hist_parse(orphan, strlen(orphan), "o", TORN_HIST_TORN, &h, &err) == TORN_E_CONFIG,
          "completion without invoke accepted");
    CHECK(torn_hist_parse(mixed, strlen(mixed), "m", TORN_HIST_TORN, &h, &err) == TORN_E_CONFIG &&
              strstr(err.msg, "time"),
          "mixed clock accepted: %s", err.msg);
    CHECK(torn_hist_parse("", 0, "e", TORN_HIST_AUTO, &h, &err) == TORN_E_CONFIG, "empty accepted");

    CHECK(torn_hist_parse(reuse, strlen(reuse), "r", TORN_HIST_AUTO, &h, &err) == TORN_OK, "%s",
          err.msg);
    CHECK(h->n_ops == 3 && h->ops[0].outcome == TORN_OUT_INFO &&
              h->ops[0].t_complete == TORN_HIST_NEVER && h->ops[1].outcome == TORN_OUT_OK &&
              h->ops[2].outcome == TORN_OUT_INFO,
          "reused process / unfinished ops are info");
    torn_hist_free(h);

    CHECK(torn_hist_parse(log, strlen(log), "j.log", TORN_HIST_AUTO, &h, &err) == TORN_OK, "%s",
          err.msg);
    CHECK(h->clockless && h->n_ops == 1 && h->n_events == 1 && !strcmp(torn_hist_f(h, &h->ops[0]), "cas") &&
              cJSON_GetArraySize(torn_hist_value(h, h->ops[0].input_id)) == 2 && h->ops[0].outcome == TORN_OUT_INFO &&
              !h->events[0].notify,
          "jepsen log");
    torn_hist_free(h);

    CHECK(torn_hist_parse(edn, strlen(edn), "k.txt", TORN_HIST_AUTO, &h, &err) == TORN_OK, "%s",
          err.msg);
    CHECK(h->n_ops == 1 && !strcmp(torn_hist_key(h, h->ops[0].key_id), "a b") && cJSON_IsNull(torn_hist_value(h, h->ops[0].input_id)) &&
              !strcmp(torn_hist_value(h, h->ops[0].output_id)->valuestring, "x 0 0 y"),
          "edn");
    torn_hist_free(h);

    cJSON *v = torn_edn_parse("{:a [1 -2.5 nil :k \"s\\\"q\"], :b #{1}}", NULL);
    char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
    CHECK(txt && !strcmp(txt, "{\"a\":[1,-2.5,null,\"k\",\"s\\\"q\"],\"b\":[1]}"), "edn value %s",
          txt ? txt : "NULL");
    free(txt);
    cJSON_Delete(v);
    CHECK(torn_edn_parse("[1 2", NULL) == NULL, "unterminated edn accepted");
}

static void test_register(void)
{
    const char *seq = L("invoke", 0, "write", "1", 0) L("ok", 0, "write", "1", 10)
        L("invoke", 1, "read", "null", 20) L("ok", 1, "read", "1", 30);
    const char *garbage = L("invoke", 0, "write", "1", 0) L("ok", 0, "write", "1", 10)
        L("invoke", 1, "read", "null", 20) L("ok", 1, "read", "2", 30);
    const char *stale = L("invoke", 0, "write", "1", 0) L("ok", 0, "write", "1", 10)
        L("invoke", 0, "write", "2", 20) L("ok", 0, "write", "2", 30)
        L("invoke", 1, "read", "null", 40) L("ok", 1, "read", "1", 50);
    const char *concurrent = L("invoke", 0, "write", "1", 0) L("invoke", 1, "read", "null", 10)
        L("ok", 1, "read", "null", 20) L("invoke", 2, "read", "null", 30)
        L("ok", 2, "read", "1", 40) L("ok", 0, "write", "1", 100);
    const char *backwards = L("invoke", 0, "write", "1", 0) L("invoke", 1, "read", "null", 10)
        L("ok", 1, "read", "1", 20) L("invoke", 2, "read", "null", 30)
        L("ok", 2, "read", "null", 40) L("ok", 0, "write", "1", 100);
    const char *info = L("invoke", 0, "write", "1", 0) L("info", 0, "write", "1", 10)
        L("invoke", 1, "read", "null", 50) L("ok", 1, "read", "1", 60)
        L("invoke", 1, "read", "null", 70) L("ok", 1, "read", "1", 80);
    const char *info_none = L("invoke", 0, "write", "1", 0) L("info", 0, "write", "1", 10)
        L("invoke", 1, "read", "null", 50) L("ok", 1, "read", "null", 60);
    const char *info_flip = L("invoke", 0, "write", "1", 0) L("info", 0, "write", "1", 10)
        L("invoke", 1, "read", "null", 50) L("ok", 1, "read", "1", 60)
        L("invoke", 1, "read", "null", 70) L("ok", 1, "read", "null", 80);
    const char *failed = L("invoke", 0, "write", "1", 0) L("fail", 0, "write", "1", 10)
        L("invoke", 1, "read", "null", 50) L("ok", 1, "read", "1", 60);

    expect("register", seq, TORN_CHECK_VALID, NULL, "sequential");
    expect("register", garbage, TORN_CHECK_INVALID, "not-linearizable", "garbage");
    expect("register", stale, TORN_CHECK_INVALID, "not-linearizable", "stale");
    expect("register", concurrent, TORN_CHECK_VALID, NULL, "concurrent write");
    expect("register", backwards, TORN_CHECK_INVALID, NULL, "new then old during one write");
    expect("register", info, TORN_CHECK_VALID, NULL, "info write happened");
    expect("register", info_none, TORN_CHECK_VALID, NULL, "info write did not happen (yet)");
    expect("register", info_flip, TORN_CHECK_INVALID, NULL, "info write undone");
    expect("register", failed, TORN_CHECK_INVALID, NULL, "failed write happened");

    size_t n_cx = 0;
    char crit[64];
    verdict_of("register", stale, NULL, crit, sizeof crit, &n_cx);
    CHECK(n_cx == 3, "stale counterexample has %zu ops, want 3", n_cx);
}

static void test_cas(void)
{
    const char *good = L("invoke", 0, "write", "0", 0) L("ok", 0, "write", "0", 10)
        L("invoke", 0, "cas", "[0,1]", 20) L("ok", 0, "cas", "[0,1]", 30)
        L("invoke", 1, "cas", "[0,2]", 40) L("fail", 1, "cas", "[0,2]", 50)
        L("invoke", 1, "read", "null", 60) L("ok", 1, "read", "1", 70);
    const char *double_win = L("invoke", 0, "write", "0", 0) L("ok", 0, "write", "0", 10)
        L("invoke", 0, "cas", "[0,1]", 20) L("ok", 0, "cas", "[0,1]", 30)
        L("invoke", 1, "cas", "[0,2]", 40) L("ok", 1, "cas", "[0,2]", 50);
    const char *info_cas = L("invoke", 0, "write", "0", 0) L("ok", 0, "write", "0", 10)
        L("invoke", 0, "cas", "[0,1]", 20) L("info", 0, "cas", "[0,1]", 30)
        L("invoke", 1, "read", "null", 40) L("ok", 1, "read", "0", 50)
        L("invoke", 1, "read", "null", 60) L("ok", 1, "read", "1", 70);

    expect("cas-register", good, TORN_CHECK_VALID, NULL, "cas chain");
    expect("cas-register", double_win, TORN_CHECK_INVALID, "not-linearizable", "two cas from 0");
    expect("cas-register", info_cas, TORN_CHECK_VALID, NULL, "info cas later");
    CHECK(verdict_of("register", good, NULL, NULL, 0, NULL) == -1, "register accepted cas");
}

static void test_kv(void)
{
    const char *good = K("invoke", 0, "put", "a", "\"x\"", 0) K("ok", 0, "put", "a", "\"x\"", 10)
        K("invoke", 0, "append", "a", "\"y\"", 20) K("ok", 0, "append", "a", "\"y\"", 30)
        K("invoke", 1, "get", "b", "null", 35) K("ok", 1, "get", "b", "\"\"", 36)
        K("invoke", 1, "get", "a", "null", 40) K("ok", 1, "get", "a", "\"xy\"", 50);
    const char *bad = K("invoke", 0, "put", "a", "\"x\"", 0) K("ok", 0, "put", "a", "\"x\"", 10)
        K("invoke", 0, "append", "a", "\"y\"", 20) K("ok", 0, "append", "a", "\"y\"", 30)
        K("invoke", 1, "get", "a", "null", 40) K("ok", 1, "get", "a", "\"yx\"", 50);
    const char *crosskey = K("invoke", 0, "put", "a", "\"x\"", 0) K("ok", 0, "put", "a", "\"x\"", 10)
        K("invoke", 1, "get", "b", "null", 40) K("ok", 1, "get", "b", "\"x\"", 50);

    expect("kv", good, TORN_CHECK_VALID, NULL, "put append get");
    expect("kv", bad, TORN_CHECK_INVALID, "not-linearizable", "append reordered");
    expect("kv", crosskey, TORN_CHECK_INVALID, NULL, "value leaked to another key");
}

static void test_unknown(void)
{
    struct torn_gen_opts g;
    struct torn_check_opts o;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct torn_err err;

    torn_gen_defaults(&g);
    g.seed = 11;
    g.n_ops = 3000;
    g.n_clients = 40;
    g.values = 3;
    g.info_rate = 0.3;
    CHECK(f && torn_gen_history(f, &g, &err) == TORN_OK, "gen");
    fclose(f);
    memset(&o, 0, sizeof o);
    o.time_limit_s = 0.05;
    int v = verdict_of("cas-register", buf, &o, NULL, 0, NULL);
    CHECK(v == TORN_CHECK_UNKNOWN || v == TORN_CHECK_VALID, "bounded check: %d", v);
    o.time_limit_s = 0;
    o.mem_limit = 1 << 20;
    v = verdict_of("cas-register", buf, &o, NULL, 0, NULL);
    CHECK(v == TORN_CHECK_UNKNOWN || v == TORN_CHECK_VALID, "memory-bounded check: %d", v);
    free(buf);
}

#define U(type, p, f, key, val, t) K(type, p, f, key, val, t)

static void test_version(void)
{
    const char *good = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("ok", 0, "update", "j", "{\"version\":2}", 10) U("invoke", 1, "read", "j", "null", 20)
        U("ok", 1, "read", "j", "{\"version\":2}", 30)
        U("invoke", 1, "update", "j", "{\"base\":2}", 40)
        U("ok", 1, "update", "j", "{\"version\":3}", 50)
        U("invoke", 2, "update", "j", "{\"base\":2}", 45)
        U("fail", 2, "update", "j", "null", 55) U("invoke", 0, "read", "j", "null", 60)
        U("ok", 0, "read", "j", "{\"version\":3}", 70);
    const char *lost = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("invoke", 1, "update", "j", "{\"base\":1}", 1)
        U("ok", 0, "update", "j", "{\"version\":2}", 10)
        U("ok", 1, "update", "j", "{\"version\":3}", 11);
    const char *dup = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("invoke", 1, "update", "j", "{\"base\":1}", 1)
        U("ok", 0, "update", "j", "{\"version\":2}", 10)
        U("ok", 1, "update", "j", "{\"version\":2}", 11);
    const char *stale = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("ok", 0, "update", "j", "{\"version\":2}", 10) U("invoke", 1, "read", "j", "null", 20)
        U("ok", 1, "read", "j", "{\"version\":1}", 30);
    const char *garbage = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("ok", 0, "update", "j", "{\"version\":2}", 10) U("invoke", 1, "read", "j", "null", 20)
        U("ok", 1, "read", "j", "{\"version\":7}", 30);
    const char *maybe = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("ok", 0, "update", "j", "{\"version\":2}", 10) U("invoke", 2, "update", "j", "null", 12)
        U("info", 2, "update", "j", "null", 13) U("invoke", 1, "read", "j", "null", 20)
        U("ok", 1, "read", "j", "{\"version\":3}", 30);
    /* An info write may land at ANY later time: after a read that did not
     * see it (a server finishing a killed client's request). */
#define LATE U("invoke", 0, "update", "j", "{\"base\":1}", 0)                                   \
    U("ok", 0, "update", "j", "{\"version\":2}", 10) U("invoke", 2, "update", "j", "null", 12)     \
    U("info", 2, "update", "j", "null", 13) U("invoke", 1, "read", "j", "null", 20)                \
    U("ok", 1, "read", "j", "{\"version\":2}", 30) U("invoke", 1, "read", "j", "null", 900)        \
    U("ok", 1, "read", "j", "{\"version\":3}", 910)
    const char *late = LATE;
    const char *late_two = LATE U("invoke", 1, "read", "j", "null", 920)
        U("ok", 1, "read", "j", "{\"version\":4}", 930);
#undef LATE
    const char *future = U("invoke", 1, "read", "j", "null", 0)
        U("ok", 1, "read", "j", "{\"version\":2}", 5)
        U("invoke", 0, "update", "j", "{\"base\":1}", 10)
        U("ok", 0, "update", "j", "{\"version\":2}", 20);
    const char *absent = U("invoke", 1, "read", "j", "null", 0) U("ok", 1, "read", "j", "null", 5)
        U("invoke", 0, "create", "j", "null", 10) U("ok", 0, "create", "j", "{\"version\":1}", 20)
        U("invoke", 1, "read", "j", "null", 30) U("ok", 1, "read", "j", "{\"found\":false}", 40);

    expect("version", good, TORN_CHECK_VALID, NULL, "chain");
    expect("version", lost, TORN_CHECK_INVALID, "lost-update", "both from 1");
    expect("version", dup, TORN_CHECK_INVALID, "duplicate-version", "same version twice");
    expect("version", stale, TORN_CHECK_INVALID, "stale-read", "stale");
    expect("version", garbage, TORN_CHECK_INVALID, "garbage-read", "garbage");
    expect("version", maybe, TORN_CHECK_VALID, NULL, "info write explains version 3");
    expect("version", late, TORN_CHECK_VALID, NULL, "info write lands after a later read");
    expect("version", late_two, TORN_CHECK_INVALID, "garbage-read",
           "one info write explains one late version, not two");
    expect("version", future, TORN_CHECK_INVALID, "future-read", "read before write");
    expect("version", absent, TORN_CHECK_INVALID, "stale-read", "deleted after create");
    CHECK(verdict_of("version", L("invoke", 0, "read", "null", 0) L("ok", 0, "read", "1", 1), NULL,
                     NULL, 0, NULL) == -1,
          "version model accepted a history without versions");
}

#define N(key, val, t) \
    "{\"type\":\"notify\",\"process\":9,\"f\":\"event\",\"key\":\"" key "\",\"value\":" val \
    ",\"time\":" #t "}\n"

static void test_events(void)
{
    const char *good = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("ok", 0, "update", "j", "{\"version\":2,\"status\":\"completed\"}", 10)
        N("j", "{\"version\":2,\"status\":\"completed\"}", 15) U("invoke", 1, "read", "j", "null", 20)
        U("ok", 1, "read", "j", "{\"version\":2,\"status\":\"completed\"}", 30);
    const char *early = N("j", "{\"version\":2}", 5) U("invoke", 0, "update", "j", "{\"base\":1}", 10)
        U("ok", 0, "update", "j", "{\"version\":2}", 20);
    const char *unreadable = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        N("j", "{\"version\":2}", 5) U("invoke", 1, "read", "j", "null", 6)
        U("ok", 1, "read", "j", "{\"version\":1}", 7)
        U("ok", 0, "update", "j", "{\"version\":2}", 20);
    const char *aborted = U("invoke", 0, "update", "j", "{\"base\":1,\"version\":2}", 0)
        U("fail", 0, "update", "j", "null", 10) N("j", "{\"version\":2}", 15);
    const char *order = U("invoke", 0, "update", "j", "{\"base\":1}", 0)
        U("ok", 0, "update", "j", "{\"version\":2}", 10)
        U("invoke", 0, "update", "j", "{\"base\":2}", 20)
        U("ok", 0, "update", "j", "{\"version\":3}", 30) N("j", "{\"version\":3}", 35)
        N("j", "{\"version\":2}", 36);
    const char *status_ok = N("r", "{\"status\":\"completed\"}", 10)
        U("invoke", 1, "read", "r", "null", 20) U("ok", 1, "read", "r", "{\"status\":\"completed\"}", 30);
    const char *status_bad = N("r", "{\"status\":\"completed\"}", 10)
        U("invoke", 1, "read", "r", "null", 20) U("ok", 1, "read", "r", "{\"status\":\"running\"}", 30);

    expect("events", good, TORN_CHECK_VALID, NULL, "write, event, read");
    expect("events", early, TORN_CHECK_INVALID, "event-before-write", "emit first");
    expect("events", unreadable, TORN_CHECK_INVALID, "event-not-readable", "not yet readable");
    expect("events", aborted, TORN_CHECK_INVALID, "event-for-aborted-write", "aborted");
    expect("events", order, TORN_CHECK_INVALID, "event-out-of-order", "versions backwards");
    expect("events", status_ok, TORN_CHECK_VALID, NULL, "status event then completed");
    expect("events", status_bad, TORN_CHECK_INVALID, "event-not-readable", "completed then running");
}

#define S(v, st, t0, t1)                                                                      \
    U("invoke", 1, "read", "j", "null", t0)                                                 \
    U("ok", 1, "read", "j", "{\"version\":" #v ",\"status\":\"" st "\"}", t1)

static void test_transitions(void)
{
    const char *good = S(1, "queued", 0, 1) S(2, "running", 2, 3) S(3, "completed", 4, 5);
    const char *gap = S(1, "queued", 0, 1) S(3, "completed", 4, 5);
    const char *skip = S(1, "queued", 0, 1) S(2, "completed", 4, 5);
    const char *terminal = S(1, "completed", 0, 1) S(2, "running", 2, 3);
    const char *unknown = S(1, "queued", 0, 1) S(2, "exploded", 2, 3);
    const char *split = S(2, "running", 0, 1) S(2, "completed", 2, 3);
    const char *realtime = U("invoke", 1, "read", "j", "null", 0)
        U("ok", 1, "read", "j", "{\"status\":\"completed\"}", 1)
        U("invoke", 1, "read", "j", "null", 2) U("ok", 1, "read", "j", "{\"status\":\"running\"}", 3);
    struct torn_check_opts o;
    cJSON *table = cJSON_Parse("{\"draft\":[\"review\"],\"review\":[\"draft\",\"approved\"],"
                               "\"approved\":[]}");
    char crit[64];

    expect("transitions", good, TORN_CHECK_VALID, NULL, "queued running completed");
    expect("transitions", gap, TORN_CHECK_VALID, NULL, "unseen middle version");
    expect("transitions", skip, TORN_CHECK_INVALID, "illegal-transition", "queued->completed");
    expect("transitions", terminal, TORN_CHECK_INVALID, "terminal-state-changed", "reopened");
    expect("transitions", unknown, TORN_CHECK_INVALID, "unknown-status", "unknown");
    expect("transitions", split, TORN_CHECK_INVALID, "inconsistent-version", "one version, two");
    expect("transitions", realtime, TORN_CHECK_INVALID, "illegal-transition", "no versions");

    memset(&o, 0, sizeof o);
    o.transitions = table;
    const char *rev = S(1, "draft", 0, 1) S(2, "review", 2, 3) S(3, "draft", 4, 5)
        S(4, "review", 6, 7) S(5, "approved", 8, 9);
    CHECK(verdict_of("transitions", rev, &o, crit, sizeof crit, NULL) == TORN_CHECK_VALID,
          "custom table valid: %s", crit);
    const char *bad_rev = S(1, "draft", 0, 1) S(2, "approved", 2, 3);
    CHECK(verdict_of("transitions", bad_rev, &o, crit, sizeof crit, NULL) == TORN_CHECK_INVALID,
          "custom table: draft->approved accepted");
    cJSON_Delete(table);
}

/* Generated: linearizable by construction (must pass) and each injected
 * violation (must fail), several seeds, both models. */
static void test_generated(void)
{
    static const struct {
        const char *gen_model, *check_model, *violation;
        int values, want;
    } cases[] = {
        {"cas", "cas-register", "none", 5, TORN_CHECK_VALID},
        {"cas", "cas-register", "none", 0, TORN_CHECK_VALID},
        {"cas", "cas-register", "garbage", 5, TORN_CHECK_INVALID},
        {"cas", "cas-register", "stale", 0, TORN_CHECK_INVALID},
        {"version", "version", "none", 0, TORN_CHECK_VALID},
        {"version", "transitions", "none", 0, TORN_CHECK_VALID},
        {"version", "version", "garbage", 0, TORN_CHECK_INVALID},
        {"version", "version", "stale", 0, TORN_CHECK_INVALID},
        {"version", "version", "lost-update", 0, TORN_CHECK_INVALID},
    };
    for (uint64_t seed = 1; seed <= 4; seed++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct torn_gen_opts g;
            struct torn_err err;
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            torn_gen_defaults(&g);
            g.seed = seed;
            g.n_ops = 600;
            g.n_clients = 6;
            g.n_keys = (int)seed;
            g.values = cases[i].values;
            g.model = cases[i].gen_model;
            g.violation = cases[i].violation;
            g.info_rate = !strcmp(cases[i].violation, "lost-update") ? 0 : 0.05;
            int rc = f ? torn_gen_history(f, &g, &err) : -1;
            if (f)
                fclose(f);
            CHECK(rc == TORN_OK, "gen seed %llu case %zu: %s", (unsigned long long)seed, i,
                  rc ? err.msg : "");
            if (rc == TORN_OK) {
                int v = verdict_of(cases[i].check_model, buf, NULL, NULL, 0, NULL);
                CHECK(v == cases[i].want, "seed %llu %s/%s/%s values %d: verdict %d want %d",
                      (unsigned long long)seed, cases[i].gen_model, cases[i].check_model,
                      cases[i].violation, cases[i].values, v, cases[i].want);
            }
            free(buf);
        }
    }
    printf("generated histories: seeds 1..4\n");
}

static int same_vops(const struct torn_vop *a, const struct torn_vop *b, size_t n)
{
    for (size_t i = 0; i < n; i++)     /* field by field: not the padding */
        if (a[i].idx != b[i].idx || a[i].is_write != b[i].is_write ||
            a[i].version != b[i].version || a[i].base != b[i].base || a[i].status != b[i].status)
            return 0;
    return 1;
}

/* torn_vindex (one key at a time) groups exactly as torn_vkeys_build, and
 * fails at the same line. */
static void same_grouping(const char *text)
{
    struct torn_hist *h = NULL;
    struct torn_err e1 = {0}, e2 = {0};
    struct torn_vkeys all;
    struct torn_vindex x;
    struct torn_vkey k;
    size_t n = 0;
    int r1, r2;

    if (torn_hist_parse(text, strlen(text), "g.jsonl", TORN_HIST_TORN, &h, &e1) != TORN_OK) {
        CHECK(0, "%s", e1.msg);
        return;
    }
    r1 = torn_vkeys_build(h, NULL, &all, &e1);
    r2 = torn_vindex_build(h, NULL, &x, &e2);
    CHECK(r1 == r2 && !strcmp(e1.msg, e2.msg), "build %d (%s) vs %d (%s)", r1, e1.msg, r2, e2.msg);
    if (r1 == TORN_OK && r2 == TORN_OK) {
        CHECK(all.n_keys == x.n_keys, "keys %zu vs %zu", all.n_keys, x.n_keys);
        for (size_t s = 0; s < x.n_slots; s++) {
            if (x.start[s + 1] == x.start[s])
                continue;
            CHECK(torn_vindex_key(&x, s, &k, &e2) == TORN_OK, "%s", e2.msg);
            while (n < all.n_keys && !all.keys[n].n_ops)
                n++;
            CHECK(n < all.n_keys && k.n_ops == all.keys[n].n_ops &&
                      (k.key == all.keys[n].key ||
                       (k.key && all.keys[n].key && !strcmp(k.key, all.keys[n].key))) &&
                      same_vops(k.ops, all.keys[n].ops, k.n_ops),
                  "slot %zu differs", s);
            free(k.ops);
            n++;
        }
        torn_vkeys_free(&all);
        torn_vindex_free(&x);
    }
    torn_hist_free(h);
}

static void test_vindex(void)
{
    struct torn_gen_opts g;
    struct torn_err err;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    torn_gen_defaults(&g);
    g.n_ops = 3000;
    g.n_clients = 7;
    g.n_keys = 5;
    g.model = "version";
    CHECK(f && torn_gen_history(f, &g, &err) == TORN_OK, "gen");
    if (f)
        fclose(f);
    same_grouping(buf);
    free(buf);
    same_grouping("{\"type\":\"invoke\",\"process\":0,\"f\":\"update\",\"value\":{\"base\":0},\"time\":1}\n"
                  "{\"type\":\"ok\",\"process\":0,\"f\":\"update\",\"value\":{\"version\":1},\"time\":2}\n"
                  "{\"type\":\"notify\",\"process\":5,\"key\":\"e\",\"value\":{\"version\":1},\"time\":3}\n"
                  "{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"a\",\"time\":4}\n"
                  "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"a\",\"value\":{\"version\":-1},\"time\":5}\n"
                  "{\"type\":\"notify\",\"process\":5,\"key\":\"e\",\"value\":{\"version\":\"x\"},\"time\":6}\n");
    same_grouping("{\"type\":\"notify\",\"process\":5,\"key\":\"e\",\"value\":{\"version\":\"x\"},\"time\":1}\n"
                  "{\"type\":\"invoke\",\"process\":1,\"f\":\"update\",\"key\":\"a\",\"value\":{\"base\":0},\"time\":2}\n"
                  "{\"type\":\"ok\",\"process\":1,\"f\":\"update\",\"key\":\"a\",\"value\":{\"version\":1},\"time\":3}\n"
                  "{\"type\":\"notify\",\"process\":5,\"key\":\"b\",\"value\":{\"version\":1},\"time\":4}\n");
}

static const struct torn_test tests[] = {
    {"reader", test_reader},         {"register", test_register}, {"cas", test_cas},
    {"kv", test_kv},                 {"unknown", test_unknown},   {"version", test_version},
    {"events", test_events},         {"transitions", test_transitions},
    {"generated", test_generated},   {"vindex", test_vindex},     {NULL, NULL},
};

TORN_TEST_MAIN(tests)

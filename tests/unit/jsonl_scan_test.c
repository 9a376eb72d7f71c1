/* torn: the history reader's one-pass scanner (check/jsonl_scan.h): what it
 * reads itself, what it leaves to the general reader, and that a history
 * read through it gives the same operations and value ids as through
 * cJSON (the same lines with a member the scanner does not know). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check/history_read.h"
#include "check/jsonl_scan.h"
#include "check/value.h"
#include <cjson/cJSON.h>
#include "core/err.h"

static int scans(const char *line)
{
    struct torn_jl_line l;

    return torn_jl_scan(line, strlen(line), &l);
}

static void test_scan_accepts(void)
{
    struct torn_jl_line l;
    const char *s = " {\"type\":\"ok\", \"process\" : -3,\"f\":\"cas\",\"key\":null,"
                    "\"value\":[1, \"a\"],\"time\":77}\r";

    CHECK(torn_jl_scan(s, strlen(s), &l) == 1, "plain line refused");
    CHECK(l.type.kind == TORN_JL_STR && l.type.len == 2 && !memcmp(l.type.s, "ok", 2), "type");
    CHECK(l.process.kind == TORN_JL_INT && l.process.num == -3, "process %lld", l.process.num);
    CHECK(l.key.kind == TORN_JL_NULL && l.time.num == 77, "key/time");
    CHECK(l.value.kind == TORN_JL_OTHER && l.value.len == 8, "value extent %zu", l.value.len);
}

static void test_scan_leaves(void)
{
    static const char *const others[] = {
        "{\"type\":\"ok\",\"type\":\"ok\"}",            /* a member twice */
        "{\"type\":\"ok\",\"extra\":1}",                /* a member it does not know */
        "{\"t\\u0079pe\":\"ok\"}",                      /* an escaped name */
        "{\"type\":\"o\\u006b\"}",                      /* an escaped string */
        "{\"type\":\"ok\",\"process\":1.0}",            /* not a plain integer */
        "{\"type\":\"ok\",\"process\":007}",
        "{\"type\":\"ok\",\"process\":1234567890123456}",
        "{\"type\":\"ok\",\"process\":[1]}",            /* only value may be any JSON */
        "{\"type\":\"ok\"} x",                          /* trailing bytes */
        "{\"type\":\"ok\",}",
        "{\"type\":\"ok\",\"value\":[1,2}",
        "[1]",
        NULL};

    for (int i = 0; others[i]; i++)
        CHECK(scans(others[i]) == 0, "scanner took %s", others[i]);
}

static void canon_is(const char *value, const char *want)
{
    char line[256];
    struct torn_jl_line l;
    struct torn_vbuf b = {0};
    int rc;

    snprintf(line, sizeof line, "{\"value\":%s}", value);
    rc = torn_jl_scan(line, strlen(line), &l) == 1 ? torn_jl_canon(&l.value, &b) : -2;
    CHECK(want ? rc == 1 && !strcmp(b.s, want) : rc == 0, "canon of %s: rc %d \"%s\"", value,
          rc, b.s ? b.s : "");
    free(b.s);
}

static void test_canon(void)
{
    canon_is("null", "null");
    canon_is("-12", "-12");
    canon_is("\"a b\"", "\"a b\"");
    canon_is("[ 1 , \"x\" ,null ]", "[1,\"x\",null]");
    canon_is("[]", "[]");
    canon_is("[1,[2]]", NULL);          /* nested: the tree decides */
    canon_is("{\"version\":1, \"status\":\"q\"}", "{\"status\":\"q\",\"version\":1}");
    canon_is("{}", "{}");
    canon_is("{\"a\":1,\"a\":2}", NULL);   /* the tree refuses it */
    canon_is("{\"a\":[1]}", NULL);
    canon_is("1.5", NULL);
    canon_is("\"a\\\"b\"", NULL);
    canon_is("[1,]", NULL);
}

/* A random JSON value from small pieces (seeded: the same every run),
 * blanks included, some of it simple and some not. */
static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static void rnd_scalar(char *b, size_t cap)
{
    static const char *const pieces[] = {"0", "-0", "7", "-12", "007", "1.5", "1e3",
                                         "123456789012345", "1234567890123456", "null", "true",
                                         "\"a\"", "\"\"", "\"a b\"", "\"a\\\"b\"",
                                         "\"\\u0061\"", "\"\u00e9\""};
    snprintf(b + strlen(b), cap - strlen(b), "%s%s", pieces[rnd(17)], rnd(4) ? "" : " ");
}

static void rnd_value(char *b, size_t cap, int depth)
{
    unsigned k = depth > 1 ? 0 : rnd(3), n = rnd(4);
    static const char *const names[] = {"a", "b", "version", "status", "a"};

    if (k == 0)
        return rnd_scalar(b, cap);
    strncat(b, k == 1 ? "[" : "{", cap - strlen(b) - 1);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            strncat(b, rnd(3) ? "," : " , ", cap - strlen(b) - 1);
        if (k == 2)
            snprintf(b + strlen(b), cap - strlen(b), "\"%s\":", names[rnd(5)]);
        rnd_value(b, cap, depth + 1);
    }
    strncat(b, k == 1 ? "]" : "}", cap - strlen(b) - 1);
}

/* Whenever the scanner writes a canonical text, it is value.h's text of the
 * tree cJSON builds from the same bytes. */
/* torn_value_canon_items of v's canonical text gives its elements' texts. */
static void check_items(const cJSON *v, const char *text)
{
    struct torn_vspan it[64];
    int n = torn_value_canon_items(text, strlen(text), it, 64), k = 0;

    if (!cJSON_IsArray(v)) {
        CHECK(n == -1, "%s is no array but has %d items", text, n);
        return;
    }
    CHECK(n == cJSON_GetArraySize(v), "%s: %d items", text, n);
    for (const cJSON *c = v->child; c && k < n && k < 64; c = c->next, k++) {
        char *t = torn_value_text(c);
        CHECK(t && strlen(t) == it[k].len && !memcmp(t, it[k].s, it[k].len), "%s: item %d", text, k);
        free(t);
    }
}

static void test_items(void)
{
    static const char *const bad[] = {"", "[", "]", "[1", "#{1,2}", "{\"a\":1}", "1", "\"[1]\"",
                                      "[1,]", "[,1]", NULL};
    const char *three = "[\"a,\\\"]\",[1,[2]],{\"b\":#{3}}]";
    struct torn_vspan it[2];

    for (int i = 0; bad[i]; i++)
        CHECK(torn_value_canon_items(bad[i], strlen(bad[i]), it, 2) == -1, "%s", bad[i]);
    CHECK(torn_value_canon_items("[]", 2, it, 2) == 0, "[]");
    CHECK(torn_value_canon_items(three, strlen(three), it, 2) == 3, "three items");
    CHECK(it[0].len == 7 && it[1].len == 7 && !memcmp(it[1].s, "[1,[2]]", 7), "items %.*s %.*s",
          (int)it[0].len, it[0].s, (int)it[1].len, it[1].s);
}

static void test_canon_agrees(void)
{
    int simple = 0;

    for (int i = 0; i < 3000; i++) {
        char line[1024] = "{\"value\":", *text;
        struct torn_jl_line l;
        struct torn_vbuf b = {0};
        const char *end = NULL;
        cJSON *v;

        rnd_value(line, sizeof line - 2, 0);
        strcat(line, "}");
        if (torn_jl_scan(line, strlen(line), &l) != 1 || torn_jl_canon(&l.value, &b) != 1) {
            free(b.s);
            continue;
        }
        simple++;
        int q = l.value.kind == TORN_JL_STR;
        v = cJSON_ParseWithLengthOpts(l.value.s - q, l.value.len + 2 * (size_t)q, &end, 0);
        text = v ? torn_value_text(v) : NULL;
        CHECK(text && !strcmp(text, b.s), "%s: scanner %s, tree %s", line, b.s,
              text ? text : "(refused)");
        free(text);
        cJSON_Delete(v);
        /* the history builds a scanned value's tree from this text */
        v = cJSON_ParseWithLength(b.s, b.len);
        text = v ? torn_value_text(v) : NULL;
        CHECK(text && !strcmp(text, b.s), "tree of the text %s is %s", b.s, text ? text : "-");
        free(text);
        check_items(v, b.s);
        cJSON_Delete(v);
        free(b.s);
    }
    CHECK(simple > 500, "only %d simple values generated", simple);
}

/* Each line of fast, and the same line with a member the scanner does not
 * know (so cJSON reads it), must give equal histories. */
static void test_same_history(void)
{
    static const char *const lines[] = {
        "{\"type\":\"invoke\",\"process\":0,\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2],\"time\":1",
        "{\"type\":\"invoke\",\"process\":1,\"f\":\"write\",\"key\":\"k\",\"value\":1.0,\"time\":2",
        "{\"type\":\"ok\",\"process\":0,\"f\":\"cas\",\"key\":\"k\",\"value\":[1, 2.0],\"time\":3",
        "{\"type\":\"ok\",\"process\":1,\"f\":\"write\",\"value\":1,\"time\":4",
        "{\"type\":\"invoke\",\"process\":2,\"f\":\"read\",\"key\":null,\"value\":null,\"time\":5",
        "{\"type\":\"info\",\"process\":2,\"value\":{\"b\":[1],\"a\":\"x\"},\"time\":6",
        "{\"type\":\"fault\",\"process\":-1,\"f\":\"kill\",\"time\":7",
        "{\"type\":\"invoke\",\"process\":2,\"f\":\"read\",\"key\":\"j\",\"value\":\"s\",\"time\":8",
        "{\"type\":\"ok\",\"process\":2,\"f\":\"read\",\"key\":\"j\",\"value\":12345678901234567,\"time\":9",
        NULL};
    char fast[2048] = "", slow[2048] = "";
    struct torn_hist *a = NULL, *b = NULL;
    struct torn_err err;

    for (int i = 0; lines[i]; i++) {
        snprintf(fast + strlen(fast), sizeof fast - strlen(fast), "%s}\n", lines[i]);
        snprintf(slow + strlen(slow), sizeof slow - strlen(slow), "%s,\"index\":%d}\n", lines[i], i);
    }
    CHECK(torn_hist_parse(fast, strlen(fast), "f", TORN_HIST_TORN, &a, &err) == TORN_OK, "%s",
          err.msg);
    CHECK(torn_hist_parse(slow, strlen(slow), "s", TORN_HIST_TORN, &b, &err) == TORN_OK, "%s",
          err.msg);
    if (!a || !b)
        goto out;
    CHECK(a->n_ops == b->n_ops && a->n_events == b->n_events && a->n_values == b->n_values &&
          a->n_strs == b->n_strs, "counts differ");
    for (size_t i = 0; i < a->n_ops && i < b->n_ops; i++) {
        const struct torn_hop *x = &a->ops[i], *y = &b->ops[i];
        CHECK(x->process == y->process && x->input_id == y->input_id &&
              x->output_id == y->output_id && x->key_id == y->key_id &&
              x->outcome == y->outcome && x->t_invoke == y->t_invoke &&
              x->t_complete == y->t_complete && !strcmp(torn_hist_f(a, x), torn_hist_f(b, y)), "op %zu differs", i);
    }
    for (uint32_t id = 0; id < a->n_values && id < b->n_values; id++)
        CHECK(!strcmp(torn_hist_value_text(a, id), torn_hist_value_text(b, id)),
              "value %u: %s vs %s", id, torn_hist_value_text(a, id), torn_hist_value_text(b, id));
    CHECK(a->ops[0].input_id != TORN_HIST_NONE && a->ops[0].input_id == a->ops[0].output_id,
          "[1,2] and [1, 2.0] are one value");
out:
    torn_hist_free(a);
    torn_hist_free(b);
}

static const struct torn_test tests[] = {
    {"scan_accepts", test_scan_accepts},
    {"scan_leaves", test_scan_leaves},
    {"canon", test_canon},
    {"same_history", test_same_history},
    {"canon_agrees", test_canon_agrees},
    {"items", test_items},
    {NULL, NULL},
};

TORN_TEST_MAIN(tests)

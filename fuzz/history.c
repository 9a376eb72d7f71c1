/* Fuzz harness: the history reader (harness/check/history_read.c): torn JSON
 * Lines and Jepsen log/EDN lines, format picked by byte 0 (auto, torn,
 * jepsen), and the EDN value parser on the same bytes.  Invariant: a parsed
 * history is internally consistent (outcomes in range, completions after
 * invocations, lines numbered; EDN forms may share a line, so a completion
 * is never on an earlier line than its invoke); an error has a message; the
 * scanner's fast path (check/jsonl_scan.h) and the general reader give the
 * same history or the same error; every value's tree, built lazily from
 * its canonical text, has that text. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "check/edn.h"
#include "check/history_read.h"
#include "check/value.h"

int fuzz_init(void)
{
    return 0;
}

static void check_hist(const struct torn_hist *h)
{
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *op = &h->ops[i];
        if (op->outcome != TORN_OUT_OK && op->outcome != TORN_OUT_FAIL &&
            op->outcome != TORN_OUT_INFO)
            fuzz_fail("operation %zu: outcome %d", i, (int)op->outcome);
        if (op->line_invoke == 0 ||
            (op->line_complete && op->line_complete < op->line_invoke))
            fuzz_fail("operation %zu: invoke line %u, completion line %u", i,
                      op->line_invoke, op->line_complete);
        if (op->t_complete != TORN_HIST_NEVER && op->line_complete == 0)
            fuzz_fail("operation %zu: completed without a completion line", i);
    }
}

static void check_trees(const struct torn_hist *h)
{
    for (uint32_t id = 0; id < h->n_values; id++) {
        const cJSON *v = NULL;
        char *t;
        if (torn_hist_tree(h, id, &v) != TORN_OK || !v)
            fuzz_fail("value %u: no tree", id);
        t = torn_value_text(v);
        if (t && strcmp(t, torn_hist_value_text(h, id)))
            fuzz_fail("value %u: tree %s, text %s", id, t, torn_hist_value_text(h, id));
        free(t);
    }
}

static int same_op(const struct torn_hist *h, const struct torn_hist *g, size_t i)
{
    const struct torn_hop *x = &h->ops[i], *y = &g->ops[i];
    const char *kx = torn_hist_key(h, x->key_id), *ky = torn_hist_key(g, y->key_id);

    return x->process == y->process && x->input_id == y->input_id &&
           x->output_id == y->output_id && x->key_id == y->key_id && x->outcome == y->outcome &&
           x->t_invoke == y->t_invoke && x->t_complete == y->t_complete &&
           x->line_invoke == y->line_invoke && x->line_complete == y->line_complete &&
           !strcmp(torn_hist_f(h, x), torn_hist_f(g, y)) && !kx == !ky && (!kx || !strcmp(kx, ky));
}

/* The same bytes without the scanner: the same history, or the same error. */
static void check_same(const char *buf, size_t n, enum torn_hist_format fmt, int rc,
                       const struct torn_hist *h, const struct torn_err *err)
{
    struct torn_hist *g = NULL;
    struct torn_err gerr = {0};
    int grc;

    torn_hist_set_scanner(0);
    grc = torn_hist_parse(buf, n, "fuzz.jsonl", fmt, &g, &gerr);
    torn_hist_set_scanner(1);
    if (grc != rc || (rc != TORN_OK && strcmp(err->msg, gerr.msg)))
        fuzz_fail("scanner %d (%s), general reader %d (%s)", rc, err->msg, grc, gerr.msg);
    if (rc == TORN_OK && (h->n_ops != g->n_ops || h->n_events != g->n_events ||
                          h->n_values != g->n_values || h->independent != g->independent))
        fuzz_fail("scanner and general reader: counts differ");
    for (size_t i = 0; rc == TORN_OK && i < h->n_ops; i++)
        if (!same_op(h, g, i))
            fuzz_fail("scanner and general reader: operation %zu differs", i);
    for (uint32_t id = 0; rc == TORN_OK && id < h->n_values; id++)
        if (strcmp(torn_hist_value_text(h, id), torn_hist_value_text(g, id)))
            fuzz_fail("value %u: scanner %s, general reader %s", id,
                      torn_hist_value_text(h, id), torn_hist_value_text(g, id));
    torn_hist_free(g);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    enum torn_hist_format fmt = len ? (enum torn_hist_format)(data[0] % 3) : TORN_HIST_AUTO;
    const char *buf = (const char *)data + (len ? 1 : 0);
    size_t n = len ? len - 1 : 0;
    struct torn_hist *h = NULL;
    struct torn_err err = {0};
    char *copy;

    int rc = torn_hist_parse(buf, n, "fuzz.jsonl", fmt, &h, &err);

    if (rc == TORN_OK) {
        if (!h)
            fuzz_fail("torn_hist_parse succeeded without a history");
        check_hist(h);
    } else if (h || !err.msg[0]) {
        fuzz_fail("torn_hist_parse failed (%d) without a message or with a history", err.code);
    }
    check_same(buf, n, fmt, rc, h, &err);
    if (h)
        check_trees(h);
    torn_hist_free(h);
    if ((copy = malloc(n + 1)) != NULL) {
        memcpy(copy, buf, n);
        copy[n] = 0;
        cJSON_Delete(torn_edn_parse(copy, NULL));
        free(copy);
    }
    return 0;
}

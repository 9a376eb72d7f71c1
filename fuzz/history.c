/* Fuzz harness: the history reader (harness/check/history_read.c): torn JSON
 * Lines and Jepsen log/EDN lines, format picked by byte 0 (auto, torn,
 * jepsen), and the EDN value parser on the same bytes.  Invariant: a parsed
 * history is internally consistent (outcomes in range, completions after
 * invocations, lines numbered; EDN forms may share a line, so a completion
 * is never on an earlier line than its invoke); an error has a message. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "check/edn.h"
#include "check/history_read.h"

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
            fuzz_fail("operation %zu: invoke line %zu, completion line %zu", i,
                      op->line_invoke, op->line_complete);
        if (op->t_complete != TORN_HIST_NEVER && op->line_complete == 0)
            fuzz_fail("operation %zu: completed without a completion line", i);
    }
}

int fuzz_one(const uint8_t *data, size_t len)
{
    enum torn_hist_format fmt = len ? (enum torn_hist_format)(data[0] % 3) : TORN_HIST_AUTO;
    const char *buf = (const char *)data + (len ? 1 : 0);
    size_t n = len ? len - 1 : 0;
    struct torn_hist *h = NULL;
    struct torn_err err = {0};
    char *copy;

    if (torn_hist_parse(buf, n, "fuzz.jsonl", fmt, &h, &err) == TORN_OK) {
        if (!h)
            fuzz_fail("torn_hist_parse succeeded without a history");
        check_hist(h);
    } else if (h || !err.msg[0]) {
        fuzz_fail("torn_hist_parse failed (%d) without a message or with a history", err.code);
    }
    torn_hist_free(h);
    if ((copy = malloc(n + 1)) != NULL) {
        memcpy(copy, buf, n);
        copy[n] = 0;
        cJSON_Delete(torn_edn_parse(copy, NULL));
        free(copy);
    }
    return 0;
}

/* Fuzz harness: the release gate's parsers of what people and services
 * write (harness/gate/): the Prometheus text format (prom.c), budgets
 * (budget.c) and baseline allowances (baseline.c).
 *
 * Input: the first line is a selector, a budget and an allowance at once
 * (each parser gets it); the rest is an exposition page.
 *
 * Invariants:
 *  - every call returns; a refusal has a one-line message;
 *  - an accepted page's matching samples are at most its non-comment
 *    lines, and a page accepted once is accepted again with the same sum
 *    (no state between calls);
 *  - an accepted selector matches its own rendering "name{l="v",...} 1"
 *    when its values need no escaping: the sum is exactly 1;
 *  - an accepted budget is coherent: a known operation (or * only for
 *    rates and throughput), a known metric, a floor exactly for
 *    throughput, a finite limit >= 0 (a rate <= 1);
 *  - an accepted allowance is finite and non-negative.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "gate/baseline.h"
#include "gate/budget.h"
#include "gate/prom.h"

int fuzz_init(void)
{
    return 0;
}

static int plain(const char *s)
{
    return !strpbrk(s, "\\\"\n");
}

/* The selector rendered as a sample with value 1; "" when it needs escapes. */
static void render(const struct torn_prom_sample *sel, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s{", sel->name);

    for (size_t i = 0; i < sel->n_labels && used < len; i++) {
        if (!plain(sel->lvalue[i])) {
            buf[0] = '\0';
            return;
        }
        used += (size_t)snprintf(buf + used, len - used, "%s%s=\"%s\"", i ? "," : "",
                                 sel->lname[i], sel->lvalue[i]);
    }
    if (used < len)
        snprintf(buf + used, len - used, "} 1\n");
}

static void check_prom(const char *first, const char *page, size_t len)
{
    struct torn_prom_sample *sel = malloc(sizeof *sel);
    struct torn_err err = {0};
    double sum, sum2;
    size_t n, n2, lines = 1;
    char *own = malloc(8192);

    if (!sel || !own)
        goto out;
    if (torn_prom_selector(first, "fuzz", sel, &err) != 0) {
        if (!err.msg[0] || strchr(err.msg, '\n'))
            fuzz_fail("selector '%s' refused without a one-line message", first);
        goto out;
    }
    for (size_t i = 0; i < len; i++)
        lines += page[i] == '\n';
    if (torn_prom_sum(page, len, sel, "fuzz", &sum, &n, &err) == 0) {
        if (n > lines)
            fuzz_fail("%zu matches in %zu lines", n, lines);
        if (torn_prom_sum(page, len, sel, "fuzz", &sum2, &n2, &err) != 0 || n2 != n ||
            (sum2 != sum && !(isnan(sum) && isnan(sum2))))
            fuzz_fail("the same page parsed twice differently");
    } else if (!err.msg[0] || strchr(err.msg, '\n')) {
        fuzz_fail("page refused without a one-line message");
    }
    render(sel, own, 8192);
    if (own[0] && (torn_prom_sum(own, strlen(own), sel, "own", &sum, &n, &err) != 0 ||
                   n != 1 || sum != 1))
        fuzz_fail("selector '%s' does not match its own sample '%s' (%s)", first, own, err.msg);
out:
    free(sel);
    free(own);
}

static void check_budget(const char *text)
{
    struct torn_budget b;
    struct torn_err err = {0};

    if (torn_budget_parse(text, "fuzz", &b, &err) != 0) {
        if (!err.msg[0] || strchr(err.msg, '\n'))
            fuzz_fail("budget '%s' refused without a one-line message", text);
        return;
    }
    if (b.metric >= TORN_M_COUNT || b.op >= TORN_OP_COUNT || b.op < -1 ||
        (b.op < 0 && torn_metric_is_latency(b.metric)) ||
        b.floor != (b.metric == TORN_M_THROUGHPUT) || !isfinite(b.limit) || b.limit < 0 ||
        (torn_metric_is_rate(b.metric) && b.limit > 1))
        fuzz_fail("budget '%s' accepted incoherent: op %d metric %d floor %d limit %g", text,
                  b.op, b.metric, b.floor, b.limit);
    torn_budget_clear(&b);
}

static void check_allow(const char *text)
{
    struct torn_allow a[TORN_M_COUNT];
    struct torn_err err = {0};

    torn_allow_defaults(a);
    if (torn_allow_parse(text, "fuzz", a, &err) != 0)
        return;
    for (int m = 0; m < TORN_M_COUNT; m++)
        if (!isfinite(a[m].rel) || !isfinite(a[m].abs) || a[m].rel < 0 || a[m].abs < 0)
            fuzz_fail("allowance '%s' accepted a bad amount for %d", text, m);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    const char *nl;
    char *first;
    size_t flen;

    if (len > 65536)
        return 0;
    nl = memchr(data, '\n', len);
    flen = nl ? (size_t)(nl - (const char *)data) : len;
    if (memchr(data, '\0', flen) || !(first = malloc(flen + 1)))
        return 0;
    memcpy(first, data, flen);
    first[flen] = '\0';
    check_prom(first, nl ? nl + 1 : "", nl ? len - flen - 1 : 0);
    check_budget(first);
    check_allow(first);
    free(first);
    return 0;
}

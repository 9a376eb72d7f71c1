/* Fuzz harness: the EDN reader (harness/check/edn.c) and value equality
 * (harness/check/value.c).  The input is read as EDN forms until the end or
 * an error.  Invariants: an error has a message and a line inside the
 * input; a form's line is inside the input; every value has a canonical
 * text, equal to its copy's and stable when computed twice. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check/edn.h"
#include "check/value.h"
#include "fuzz.h"

int fuzz_init(void)
{
    return 0;
}

static size_t count_lines(const uint8_t *data, size_t len)
{
    size_t n = 1;

    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    return n;
}

static void check_value(const cJSON *v)
{
    char *a = torn_value_text(v), *b;
    cJSON *copy = cJSON_Duplicate(v, 1);

    if (!a || !copy)
        fuzz_fail("no canonical text or copy (out of memory?)");
    b = torn_value_text(copy);
    if (!b || strcmp(a, b) != 0)
        fuzz_fail("a copy's canonical text differs: %s vs %s", a, b ? b : "NULL");
    if (torn_value_equal(v, copy) != 1)
        fuzz_fail("a value is not equal to its copy");
    free(a);
    free(b);
    cJSON_Delete(copy);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct torn_edn r;
    size_t lines = count_lines(data, len), line = 0;
    cJSON *v;

    torn_edn_init(&r, (const char *)data, len);
    for (int n = 0; n < 1000; n++) {
        v = torn_edn_read(&r, &line);
        if (!v)
            break;
        if (line == 0 || line > lines)
            fuzz_fail("form at line %zu of %zu", line, lines);
        check_value(v);
        cJSON_Delete(v);
    }
    if (r.msg[0] && (r.err_line == 0 || r.err_line > lines))
        fuzz_fail("error at line %zu of %zu: %s", r.err_line, lines, r.msg);
    if (!v && !r.msg[0] && torn_edn_peek(&r) >= 0)
        fuzz_fail("stopped without an error before the end");
    return 0;
}

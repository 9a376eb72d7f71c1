/* Fuzz harness: the strict number parser (harness/core/parse.c) and the
 * parameter merge with declared ranges (torn_params_merge).
 *
 * Input: byte 0 picks a scenario; the rest is lines "key=value", each
 * given to the number parsers on its own and then all together as --set
 * overrides (a key starting with '?' is a soft one, like --workers).  The
 * whole input is also parsed as a strict JSON document.
 *
 * Invariants:
 *  - torn_parse_int/_real accept exactly the documented grammar (checked by
 *    an independent matcher), return a value equal to strtoll/strtod of the
 *    text, within the bounds, finite; a refusal leaves *out untouched and
 *    has a message.
 *  - a merge that succeeds has exactly the scenario's parameters, and every
 *    number in it lies within its declared range (integral where declared
 *    integer): no --set can smuggle an out-of-range value past the check.
 *  - torn_parse_json never accepts a document with a duplicate key.
 *  - torn_fs_state_parse (a crash-state id, "m2:dpfx:3") accepts only
 *    states within its bounds, and printing an accepted state and parsing
 *    it again gives the same state. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "core/parse.h"
#include "core/scenario.h"
#include "core/target.h"
#include "fs/tornfs.h"

int fuzz_init(void)
{
    return 0;
}

/* The documented grammar, matched independently of parse.c. */
static int grammar(const char *s, int real)
{
    const char *p = s + (*s == '+' || *s == '-');
    const char *d = p;

    while (*p >= '0' && *p <= '9')
        p++;
    if (p == d)
        return 0;
    if (real && *p == '.') {
        d = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    if (real && (*p == 'e' || *p == 'E')) {
        p++;
        p += *p == '+' || *p == '-';
        d = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    return *p == '\0';
}

static void check_int(const char *s, long long lo, long long hi)
{
    struct torn_err err = {0};
    long long v = 7777, ref;
    int rc = torn_parse_int("fuzz", s, lo, hi, &v, &err);

    errno = 0;
    ref = grammar(s, 0) ? strtoll(s, NULL, 10) : 0;
    int want = grammar(s, 0) && !errno && ref >= lo && ref <= hi;
    if ((rc == 0) != want)
        fuzz_fail("torn_parse_int('%s', %lld, %lld) = %d, oracle says %s", s, lo, hi, rc,
                  want ? "accept" : "refuse");
    if (rc == 0 && v != ref)
        fuzz_fail("torn_parse_int('%s') = %lld, strtoll says %lld", s, v, ref);
    if (rc != 0 && (v != 7777 || !err.msg[0] || rc != TORN_E_CONFIG))
        fuzz_fail("torn_parse_int('%s') refused but changed *out or said nothing", s);
}

static void check_real(const char *s, double lo, double hi)
{
    struct torn_err err = {0};
    double v = 7777, ref = grammar(s, 1) ? strtod(s, NULL) : NAN;
    int rc = torn_parse_real("fuzz", s, lo, hi, &v, &err);
    int want = grammar(s, 1) && isfinite(ref) && ref >= lo && ref <= hi;

    if ((rc == 0) != want)
        fuzz_fail("torn_parse_real('%s', %g, %g) = %d, oracle says %s", s, lo, hi, rc,
                  want ? "accept" : "refuse");
    if (rc == 0 && v != ref)
        fuzz_fail("torn_parse_real('%s') = %.17g, strtod says %.17g", s, v, ref);
    if (rc != 0 && (v != 7777 || !err.msg[0]))
        fuzz_fail("torn_parse_real('%s') refused but changed *out or said nothing", s);
}

static void check_state(const char *s)
{
    struct torn_err err = {0};
    struct torn_fs_state a, b;
    char again[96];

    if (torn_fs_state_parse(s, &a, &err) != 0) {
        if (!err.msg[0])
            fuzz_fail("torn_fs_state_parse('%s') refused without a message", s);
        return;
    }
    if (a.meta < -1 || a.meta > TORN_FS_COUNT_MAX)
        fuzz_fail("torn_fs_state_parse('%s'): meta %lld out of range", s, a.meta);
    torn_fs_state_format(&a, again, sizeof again);
    if (torn_fs_state_parse(again, &b, &err) != 0 || b.meta != a.meta || b.arg != a.arg ||
        b.data != a.data)
        fuzz_fail("torn_fs_state_parse('%s') accepted, but its own form '%s' differs", s, again);
}

/* Every number of a merged parameter object within its declared range. */
static void check_merged(const struct torn_scenario_ops *sc, const cJSON *merged)
{
    cJSON *d = cJSON_Parse(sc->defaults);
    const cJSON *f;

    if (!cJSON_IsObject(merged) || cJSON_GetArraySize(merged) != cJSON_GetArraySize(d))
        fuzz_fail("%s: merged parameters do not match the defaults' keys", sc->name);
    cJSON_ArrayForEach(f, merged)
    {
        const struct torn_param_range *r = torn_param_range_find(sc, f->string);
        if (!cJSON_GetObjectItemCaseSensitive(d, f->string))
            fuzz_fail("%s: merge accepted unknown parameter '%s'", sc->name, f->string);
        if (!cJSON_IsNumber(f))
            continue;
        if (!r)
            fuzz_fail("%s: number '%s' without a declared range", sc->name, f->string);
        if (!isfinite(f->valuedouble) || f->valuedouble < r->min || f->valuedouble > r->max ||
            (r->integer && f->valuedouble != floor(f->valuedouble)))
            fuzz_fail("%s: %s = %.17g escaped its range [%g, %g]%s", sc->name, f->string,
                      f->valuedouble, r->min, r->max, r->integer ? " (integer)" : "");
    }
    cJSON_Delete(d);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    size_t n_sc;
    const struct torn_scenario_ops *const *all = torn_scenarios(&n_sc);
    const struct torn_scenario_ops *sc;
    struct torn_kv kv[16];
    char *text, *save = NULL, *line;
    size_t n = 0;
    cJSON *out = NULL, *j = NULL;
    struct torn_err err = {0};

    if (len == 0 || len > 4096)
        return 0;
    sc = all[data[0] % n_sc];
    if (torn_parse_json("fuzz", (const char *)data, len, &j, NULL) == 0 && torn_json_dup_key(j))
        fuzz_fail("torn_parse_json accepted a duplicate key '%s'", torn_json_dup_key(j));
    cJSON_Delete(j);
    text = malloc(len);
    if (!text)
        return 0;
    memcpy(text, data + 1, len - 1);
    text[len - 1] = '\0';
    for (line = strtok_r(text, "\n", &save); line && n < 16; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        check_int(eq ? eq + 1 : line, -1000, 100000);
        check_int(eq ? eq + 1 : line, (long long)-9e18, (long long)9e18);
        check_real(eq ? eq + 1 : line, 0, 86400);
        check_real(eq ? eq + 1 : line, -1e308, 1e308);
        check_state(eq ? eq + 1 : line);
        if (!eq || eq == line)
            continue;
        *eq = '\0';
        kv[n].key = line;
        kv[n++].value = eq + 1;
    }
    if (torn_params_merge(sc, NULL, NULL, kv, n, &out, &err) == 0)
        check_merged(sc, out);
    else if (out || !err.msg[0])
        fuzz_fail("%s: merge refused without a message or left an object", sc->name);
    cJSON_Delete(out);
    free(text);
    return 0;
}

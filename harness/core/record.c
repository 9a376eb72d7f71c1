/* torn: the record model. */
#include "record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "util.h"

static const char *const bookkeeping[] = {"id", "created_at", "version", "_updated_at", NULL};

int torn_record_field_protected(const char *field, unsigned flags)
{
    for (int i = 0; bookkeeping[i]; i++)
        if (strcmp(field, bookkeeping[i]) == 0)
            return 1;
    return (flags & TORN_APPLY_PROTECT) && strcmp(field, "processing_state") == 0;
}

static int set_field(cJSON *rec, const char *name, cJSON *value)
{
    if (!value)
        return TORN_E_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(rec, name))
        cJSON_ReplaceItemInObjectCaseSensitive(rec, name, value);
    else
        cJSON_AddItemToObject(rec, name, value);
    return TORN_OK;
}

static int stamp(cJSON *rec)
{
    char now[32];

    torn_iso_now(now);
    return set_field(rec, "_updated_at", cJSON_CreateString(now));
}

cJSON *torn_record_new(const char *id, const cJSON *initial)
{
    cJSON *rec = cJSON_CreateObject();
    char now[32];
    const cJSON *f;

    if (!rec)
        return NULL;
    torn_iso_now(now);
    cJSON_AddStringToObject(rec, "id", id);
    cJSON_AddNumberToObject(rec, "version", 1);
    cJSON_AddStringToObject(rec, "created_at", now);
    cJSON_AddStringToObject(rec, "_updated_at", now);
    if (initial) {
        cJSON_ArrayForEach(f, initial)
        {
            if (!f->string || torn_record_field_protected(f->string, 0))
                continue;
            if (set_field(rec, f->string, cJSON_Duplicate(f, 1)) != 0) {
                cJSON_Delete(rec);
                return NULL;
            }
        }
    }
    return rec;
}

int torn_record_apply(cJSON *rec, const cJSON *patch, unsigned flags)
{
    const cJSON *f;
    long long v = torn_record_version(rec);

    if (patch) {
        cJSON_ArrayForEach(f, patch)
        {
            if (!f->string || torn_record_field_protected(f->string, flags))
                continue;
            if (set_field(rec, f->string, cJSON_Duplicate(f, 1)) != 0)
                return TORN_E_NOMEM;
        }
    }
    if (set_field(rec, "version", cJSON_CreateNumber((double)(v < 0 ? 1 : v + 1))) != 0)
        return TORN_E_NOMEM;
    return stamp(rec);
}

/* A JSON number as long long, or dflt when it is not a number or out of
 * range (casting such a double is undefined behaviour; found by fuzzing). */
static long long number_ll(const cJSON *v, long long dflt)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18))
        return dflt;
    return (long long)v->valuedouble;
}

long long torn_record_version(const cJSON *rec)
{
    return number_ll(cJSON_GetObjectItemCaseSensitive(rec, "version"), -1);
}

const char *torn_record_str(const cJSON *rec, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

long long torn_record_int(const cJSON *rec, const char *name, long long dflt)
{
    return number_ll(cJSON_GetObjectItemCaseSensitive(rec, name), dflt);
}

char *torn_payload_new(uint64_t seed, long long seq, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct torn_rng r;
    char *p = malloc(len + 1);

    if (!p)
        return NULL;
    torn_rng_seed(&r, seed ^ ((uint64_t)seq * 0x9e3779b97f4a7c15ull));
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x = torn_rng_next(&r);
        for (size_t j = 0; j < 8 && i + j < len; j++, x >>= 6)
            p[i + j] = alphabet[x & 63];
    }
    p[len] = '\0';
    return p;
}

void torn_payload_digest(const char *payload, size_t len, long long seq, char out[17])
{
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "%lld:", seq);
    uint64_t h = torn_fnv1a(TORN_FNV_INIT, prefix, (size_t)n);

    h = torn_fnv1a(h, payload, len);
    snprintf(out, 17, "%016" PRIx64, h);
}

cJSON *torn_payload_patch(uint64_t seed, long long seq, size_t len)
{
    cJSON *patch = cJSON_CreateObject();
    char *payload = torn_payload_new(seed, seq, len);
    char digest[17];

    if (!patch || !payload) {
        cJSON_Delete(patch);
        free(payload);
        return NULL;
    }
    torn_payload_digest(payload, len, seq, digest);
    cJSON_AddNumberToObject(patch, "seq", (double)seq);
    cJSON_AddStringToObject(patch, "payload", payload);
    cJSON_AddStringToObject(patch, "payload_digest", digest);
    free(payload);
    return patch;
}

int torn_record_intact(const cJSON *rec, char *why, size_t why_len)
{
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(rec, "payload");
    const cJSON *digest = cJSON_GetObjectItemCaseSensitive(rec, "payload_digest");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
    char want[17];

    if (!payload && !digest)
        return 1;
    if (!cJSON_IsString(payload) || !cJSON_IsString(digest) || !cJSON_IsNumber(seq)) {
        if (why)
            snprintf(why, why_len, "payload, payload_digest or seq missing or mistyped");
        return 0;
    }
    torn_payload_digest(payload->valuestring, strlen(payload->valuestring),
                        number_ll(seq, -1), want);
    if (strcmp(want, digest->valuestring) != 0) {
        if (why)
            snprintf(why, why_len,
                     "payload digest mismatch (seq %lld, %zu payload bytes, stored digest %.16s, "
                     "computed %s)",
                     number_ll(seq, -1), strlen(payload->valuestring),
                     digest->valuestring, want);
        return 0;
    }
    return 1;
}

int torn_record_parse(const char *buf, size_t len, cJSON **rec_out, char *why, size_t why_len)
{
    cJSON *rec;

    *rec_out = NULL;
    if (len == 0) {
        if (why)
            snprintf(why, why_len, "empty (0 bytes)");
        return TORN_E_CORRUPT;
    }
    rec = cJSON_ParseWithLength(buf, len);
    if (!rec) {
        if (why)
            snprintf(why, why_len, "not valid JSON (%zu bytes)", len);
        return TORN_E_CORRUPT;
    }
    if (!cJSON_IsObject(rec) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rec, "id"))) {
        if (why)
            snprintf(why, why_len, "JSON but not a record (no string id, %zu bytes)", len);
        cJSON_Delete(rec);
        return TORN_E_CORRUPT;
    }
    if (torn_record_version(rec) < 1) {
        if (why)
            snprintf(why, why_len, "record without a valid version (%zu bytes)", len);
        cJSON_Delete(rec);
        return TORN_E_CORRUPT;
    }
    if (!torn_record_intact(rec, why, why_len)) {
        cJSON_Delete(rec);
        return TORN_E_CORRUPT;
    }
    *rec_out = rec;
    return TORN_OK;
}

/* (record.h) Days from the civil date: Howard Hinnant's algorithm. */
long long torn_iso8601_ms(const char *s)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    long long ms = 0, scale = 100;
    if (*p == '.') {
        if (!(p[1] >= '0' && p[1] <= '9'))
            return -1;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    int off = 0, oh, om;
    if (*p == 'Z' && !p[1])
        off = 0;
    else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && !p[6])
        off = (*p == '+' ? 1 : -1) * (oh * 60 + om);
    else
        return -1;
    /* days from civil (Howard Hinnant's algorithm) */
    int yy = y - (mo <= 2);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = (long long)era * 146097 + (long long)doe - 719468;
    return ((days * 86400 + h * 3600 + mi * 60 + sec) - off * 60LL) * 1000 + ms;
}

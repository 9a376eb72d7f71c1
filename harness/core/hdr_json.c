/* torn: a latency histogram as JSON and back (see hdr_json.h). */
#include "hdr_json.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "hdr.h"

cJSON *torn_hdr_to_json(const struct torn_hdr *h)
{
    cJSON *o = cJSON_CreateObject(), *b;

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "n", (double)h->n);
    cJSON_AddNumberToObject(o, "min", h->n ? (double)h->min : 0);
    cJSON_AddNumberToObject(o, "max", (double)h->max);
    cJSON_AddNumberToObject(o, "sum", (double)h->sum);
    b = cJSON_AddArrayToObject(o, "buckets");
    for (unsigned i = 0; b && i < TORN_HDR_BUCKETS; i++) {
        cJSON *pair;
        if (!h->counts[i])
            continue;
        pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(i));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)h->counts[i]));
        cJSON_AddItemToArray(b, pair);
    }
    return o;
}

/* v as a whole number in [0, 2^53]; -1 if it is not one. */
static double whole(const cJSON *v)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

    return d >= 0 && d <= 9007199254740992.0 && floor(d) == d ? d : -1;
}

static int field(const cJSON *o, const char *name, const char *what, uint64_t *out,
                 struct torn_err *err)
{
    double d = whole(cJSON_GetObjectItemCaseSensitive(o, name));

    if (d < 0)
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"%s\" must be a whole number >= 0",
                            what, name);
    *out = (uint64_t)d;
    return TORN_OK;
}

int torn_hdr_from_json(const cJSON *o, const char *what, struct torn_hdr *h, struct torn_err *err)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "buckets"), *pair;
    uint64_t n, total = 0;
    int rc;

    torn_hdr_init(h);
    if (!cJSON_IsObject(o) || !cJSON_IsArray(b))
        return torn_err_set(err, TORN_E_CONFIG, "%s: expected an object with \"buckets\"", what);
    if ((rc = field(o, "n", what, &n, err)) || (rc = field(o, "min", what, &h->min, err)) ||
        (rc = field(o, "max", what, &h->max, err)) || (rc = field(o, "sum", what, &h->sum, err)))
        return rc;
    cJSON_ArrayForEach(pair, b) {
        double i = whole(cJSON_GetArrayItem(pair, 0)), c = whole(cJSON_GetArrayItem(pair, 1));
        if (cJSON_GetArraySize(pair) != 2 || i < 0 || i >= TORN_HDR_BUCKETS || c < 0)
            return torn_err_set(err, TORN_E_CONFIG,
                                "%s: each bucket must be [index 0..%u, count >= 0]", what,
                                TORN_HDR_BUCKETS - 1);
        h->counts[(unsigned)i] += (uint64_t)c;
        total += (uint64_t)c;
    }
    if (total != n)
        return torn_err_set(err, TORN_E_CONFIG, "%s: bucket counts add up to %llu, not n = %llu",
                            what, (unsigned long long)total, (unsigned long long)n);
    h->n = n;
    if (!n)
        h->min = UINT64_MAX;
    return TORN_OK;
}

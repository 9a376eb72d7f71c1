/* torn: log-linear histogram. */
#include "hdr.h"

#include <string.h>

void torn_hdr_init(struct torn_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

unsigned torn_hdr_index(uint64_t v)
{
    unsigned exp;

    if (v < TORN_HDR_SUB_COUNT)
        return (unsigned)v;
    exp = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
    return (exp - TORN_HDR_SUB_BITS + 1) * TORN_HDR_SUB_COUNT +
           (unsigned)((v >> (exp - TORN_HDR_SUB_BITS)) - TORN_HDR_SUB_COUNT);
}

uint64_t torn_hdr_bucket_lo(unsigned i)
{
    unsigned block = i / TORN_HDR_SUB_COUNT, sub = i % TORN_HDR_SUB_COUNT;
    unsigned exp;

    if (block == 0)
        return i;
    exp = block + TORN_HDR_SUB_BITS - 1;
    return ((uint64_t)TORN_HDR_SUB_COUNT + sub) << (exp - TORN_HDR_SUB_BITS);
}

uint64_t torn_hdr_bucket_hi(unsigned i)
{
    unsigned block = i / TORN_HDR_SUB_COUNT;
    unsigned exp;

    if (block == 0)
        return i;
    exp = block + TORN_HDR_SUB_BITS - 1;
    return torn_hdr_bucket_lo(i) + (((uint64_t)1 << (exp - TORN_HDR_SUB_BITS)) - 1);
}

void torn_hdr_add(struct torn_hdr *h, uint64_t v)
{
    h->counts[torn_hdr_index(v)]++;
    h->n++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->sum = (h->sum + v < h->sum) ? UINT64_MAX : h->sum + v;
}

void torn_hdr_merge(struct torn_hdr *dst, const struct torn_hdr *src)
{
    if (!src->n)
        return;
    for (unsigned i = 0; i < TORN_HDR_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->n += src->n;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->sum = (dst->sum + src->sum < dst->sum) ? UINT64_MAX : dst->sum + src->sum;
}

uint64_t torn_hdr_quantile(const struct torn_hdr *h, double q)
{
    uint64_t rank, seen = 0, mid;

    if (!h->n)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    for (unsigned i = 0; i < TORN_HDR_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen > rank) {
            mid = torn_hdr_bucket_lo(i) + (torn_hdr_bucket_hi(i) - torn_hdr_bucket_lo(i)) / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}

double torn_hdr_mean(const struct torn_hdr *h)
{
    return h->n ? (double)h->sum / (double)h->n : 0.0;
}

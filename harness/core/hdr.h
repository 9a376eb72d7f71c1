/* torn: fixed-memory log-linear latency histogram (HdrHistogram-style).
 *
 * Values are unsigned 64-bit (nanoseconds by convention).  Values below 32
 * are exact; above, each power of two is split into 32 linear sub-buckets,
 * so any recorded value is reported within 1/32 (~3.1%) of its true value.
 * The struct is plain data with no pointers: it can live in shared memory
 * written by one process and merged by another, and adding a sample never
 * allocates.  Not thread-safe: one writer per histogram.
 */
#ifndef TORN_HDR_H
#define TORN_HDR_H

#include <stdint.h>

#define TORN_HDR_SUB_BITS 5
#define TORN_HDR_SUB_COUNT (1u << TORN_HDR_SUB_BITS)
/* Buckets for exponents SUB_BITS..63 plus the exact range. */
#define TORN_HDR_BUCKETS ((64 - TORN_HDR_SUB_BITS + 1) * TORN_HDR_SUB_COUNT)

struct torn_hdr {
    uint64_t n;                          /* samples recorded */
    uint64_t min;                        /* exact; UINT64_MAX when n == 0 */
    uint64_t max;                        /* exact */
    uint64_t sum;                        /* exact (saturating) */
    uint64_t counts[TORN_HDR_BUCKETS];
};

/* Empty the histogram. */
void torn_hdr_init(struct torn_hdr *h);
/* Record one value. */
void torn_hdr_add(struct torn_hdr *h, uint64_t v);
/* Add every sample of src to dst. */
void torn_hdr_merge(struct torn_hdr *dst, const struct torn_hdr *src);
/* Value at quantile q in [0,1] (0.5 = p50, 1.0 = max); 0 when empty.  The
 * result is the midpoint of the bucket holding the q-th sample, clamped to
 * [min, max]. */
uint64_t torn_hdr_quantile(const struct torn_hdr *h, double q);
/* Mean, 0 when empty. */
double torn_hdr_mean(const struct torn_hdr *h);

/* Bucket index of v, and the lowest/highest value of bucket i (for exporting
 * bucket boundaries, e.g. Prometheus). */
unsigned torn_hdr_index(uint64_t v);
uint64_t torn_hdr_bucket_lo(unsigned i);
uint64_t torn_hdr_bucket_hi(unsigned i);

#endif

/* torn: a latency histogram (hdr.h) as JSON and back, exactly: the JSON
 * report carries every histogram this way, so `torn merge` can rebuild the
 * results of shard reports and render them (HTML histograms, percentiles)
 * as the run that produced them did.
 *
 * The form: {"n": N, "min": MIN, "max": MAX, "sum": SUM,
 *            "buckets": [[INDEX, COUNT], ...]}  (non-empty buckets only,
 * INDEX ascending).  Numbers are JSON numbers: exact up to 2^53 ns (104
 * days), which every latency torn measures is below. */
#ifndef TORN_HDR_JSON_H
#define TORN_HDR_JSON_H

struct cJSON;
struct torn_err;
struct torn_hdr;

/* A new object for h (the caller frees it with cJSON_Delete), or NULL on
 * ENOMEM. */
struct cJSON *torn_hdr_to_json(const struct torn_hdr *h);

/* Fill *h from o (the form above).  what names o in messages
 * ("a.json: results[2].latency.update.hdr").  0, or TORN_E_CONFIG with one
 * line in err naming what and the field: a missing or negative field, an
 * index out of range, counts that do not add up to n. */
int torn_hdr_from_json(const struct cJSON *o, const char *what, struct torn_hdr *h,
                       struct torn_err *err);

#endif

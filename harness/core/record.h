/* torn: the record model shared by every target and scenario.
 *
 * A record is a cJSON object: id, status, results, version (>= 1, +1 on
 * every successful write), _updated_at (ISO-8601 UTC, ms), created_at, and
 * payload fields.  Scenario writers add a self-checking payload:
 *   "seq": n, "payload": "<payload_len printable bytes>", "payload_digest":
 *   hex FNV-1a-64 of "<seq>:" + payload
 * so a torn or mixed record is detected even when it is valid JSON, and
 * server-side merges (Lua, jsonb ||) keep it checkable because the three
 * fields always travel in one patch.
 */
#ifndef TORN_RECORD_H
#define TORN_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* New record {id, version:1, created_at, _updated_at, ...initial}; initial
 * may be NULL; its bookkeeping fields are ignored.  NULL on ENOMEM. */
struct cJSON *torn_record_new(const char *id, const struct cJSON *initial);

enum {
    TORN_APPLY_PROTECT = 1u << 0  /* also refuse processing_state (seed 002) */
};
/* Merge the top-level fields of patch into rec (replacing), skipping id,
 * created_at, version, _updated_at (and processing_state with
 * TORN_APPLY_PROTECT); then version+1 and a fresh _updated_at.  0 or
 * TORN_E_NOMEM. */
int torn_record_apply(struct cJSON *rec, const struct cJSON *patch, unsigned flags);
/* 1 if field may never be set by a patch (with flags as above). */
int torn_record_field_protected(const char *field, unsigned flags);

/* The integer "version" field, or -1 when missing or not a number. */
long long torn_record_version(const struct cJSON *rec);
/* The string field name, or NULL. */
const char *torn_record_str(const struct cJSON *rec, const char *name);
/* The integer field name, or dflt. */
long long torn_record_int(const struct cJSON *rec, const char *name, long long dflt);

/* Deterministic printable payload of len bytes for (seed, seq); malloc'd. */
char *torn_payload_new(uint64_t seed, long long seq, size_t len);
/* Digest of a payload for seq, 16 lowercase hex chars + NUL. */
void torn_payload_digest(const char *payload, size_t len, long long seq, char out[17]);
/* Patch {"seq":seq,"payload":...,"payload_digest":...}; NULL on ENOMEM. */
struct cJSON *torn_payload_patch(uint64_t seed, long long seq, size_t len);

/* Check the self-checking payload of rec.  1 intact (or no payload at all),
 * 0 torn: why (if non-NULL) says what is wrong. */
int torn_record_intact(const struct cJSON *rec, char *why, size_t why_len);

/* Parse bytes as a record: 0 and *rec_out, or TORN_E_CORRUPT with why (when
 * empty, not JSON, not an object, no id, bad version, or torn payload). */
int torn_record_parse(const char *buf, size_t len, struct cJSON **rec_out, char *why,
                      size_t why_len);

/* Milliseconds since the epoch of an ISO-8601 time
 * "YYYY-MM-DDTHH:MM:SS[.fff...]" then "Z" or "+HH:MM"/"-HH:MM" (what
 * _updated_at holds), or -1 when s is not one. */
long long torn_iso8601_ms(const char *s);

#endif

/* torn: helpers shared by the job scenarios that drive a service through
 * create/subscribe/read (event-before-persist, safe-read-http): worker
 * messages, the parent's collect loop, and store disturbances through a
 * Toxiproxy-compatible control API.  Not a plug point. */
#ifndef TORN_SCENARIOS_LIB_JOBS_H
#define TORN_SCENARIOS_LIB_JOBS_H

#include <stdint.h>

struct torn_child;
struct torn_ctx;
struct torn_err;
struct torn_msg;
struct torn_target;
struct cJSON;

/* Read every worker's messages until all have exited, calling absorb for
 * each and tick (may be NULL) about every 5 ms; on a stop request kill
 * them.  Reaps every child. */
void torn_jobs_collect(struct torn_ctx *ctx, struct torn_child *ch, int n,
                       void (*absorb)(struct torn_ctx *ctx, const struct torn_msg *m, void *arg),
                       void (*tick)(struct torn_ctx *ctx, void *arg), void *arg);

/* Start a job: torn_target_create, timed as TORN_OP_CREATE, retried (5 times,
 * 50 ms apart) when the service answers 5xx or the connection fails, since
 * starting a job while the store is disturbed may fail honestly.  Same
 * return values as torn_target_create. */
int torn_jobs_create(struct torn_ctx *ctx, struct torn_target *t, const struct cJSON *input,
                     char **id_out, struct torn_err *err);

/* Switch a toxic named `name` on proxy `proxy` at api on (with attribute
 * `attr` = value, and jitter when > 0) or off.  api "" is a no-op. */
int torn_jobs_toxic(struct torn_ctx *ctx, const char *api, const char *proxy, const char *name,
                    const char *type, const char *attr, long long value, long long jitter, int on,
                    struct torn_err *err);

#endif

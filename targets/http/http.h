/* torn HTTP target: what the rest of torn may call besides its ops table
 * (torn_target_http, listed in harness/core/registry.c).  The target's
 * internals are http_int.h. */
#ifndef TORN_TARGET_HTTP_H
#define TORN_TARGET_HTTP_H

struct torn_target;

/* The target's base URL ("http://127.0.0.1:PORT") once set up or opened
 * (a managed service's port included), or NULL when t is not an HTTP
 * target or has none yet.  For the release gate's metrics scrape. */
const char *torn_http_base(const struct torn_target *t);

#endif

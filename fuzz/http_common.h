/* Specs shared by the HTTP fuzz harnesses: the reference service's spec
 * (examples/research-service/research.json, events over WebSocket) and a
 * variant with the record nested in the response and SSE events. */
#ifndef TORN_FUZZ_HTTP_COMMON_H
#define TORN_FUZZ_HTTP_COMMON_H

#include "targets/http/http_int.h"

/* Parse both specs into sp[0], sp[1] (their cJSON trees stay alive: the
 * specs point into them).  0, or 1 with a message on stderr. */
int fuzz_http_specs(struct http_spec sp[2]);

#endif

/* torn: the userspace TCP fault proxy (this machine's kernel has no netem).
 *
 * A proxy listens on one address and forwards every accepted connection to
 * an upstream address, two pump threads per connection: "upstream" is
 * client -> server bytes, "downstream" server -> client.  Toxics modelled on
 * Toxiproxy's (names, attributes, streams, toxicity) change what the pumps
 * do, and can be added and removed while connections are live:
 *
 *   latency     {latency, jitter} ms added before each chunk is forwarded
 *   bandwidth   {rate} KB/s
 *   slow_close  {delay} ms before a close is propagated
 *   timeout     {timeout} ms: stop forwarding (blackhole); close after it
 *               (0 = never close)
 *   reset_peer  {timeout} ms, then RST both sides (SO_LINGER 0)
 *   slicer      {average_size, size_variation, delay (us)}: small writes
 *   limit_data  {bytes}: close after that many bytes
 *   torn extras: limit_time {time} ms: close after that long;
 *                reset_after {bytes}: RST after that many bytes;
 *                half_close {bytes}: shut the write side after that many
 *                bytes (peer sees EOF, the other direction keeps flowing).
 *
 * toxicity (0..1) is the probability that a toxic applies to a connection,
 * decided per connection from the proxy's seeded generator.  A seeded
 * schedule can switch toxics on and off during a run.  Thread-safe: every
 * function may be called from any thread while the proxy runs.
 */
#ifndef TORN_PROXY_H
#define TORN_PROXY_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct torn_err;
struct torn_proxy;

/* Start a proxy: bind listen ("HOST:PORT", port 0 = any free port) and
 * forward to upstream ("HOST:PORT").  Both hosts must be loopback unless
 * allow_remote.  *out NULL on error. */
int torn_proxy_new(const char *name, const char *listen, const char *upstream, uint64_t seed,
                   int allow_remote, struct torn_proxy **out, struct torn_err *err);
/* Stop accepting, close every connection, join threads, free.  NULL ok. */
void torn_proxy_free(struct torn_proxy *p);

/* "127.0.0.1:PORT" actually bound; valid until the next
 * torn_proxy_update or torn_proxy_set_enabled. */
const char *torn_proxy_listen_addr(const struct torn_proxy *p);
const char *torn_proxy_name(const struct torn_proxy *p);

/* Add or replace (same name) a toxic given as Toxiproxy JSON:
 * {"name"?, "type", "stream"?: "downstream", "toxicity"?: 1.0,
 *  "attributes": {...}}.  TORN_E_CONFIG naming the bad field; attributes the
 * type does not have are ignored (Toxiproxy does), except by
 * torn_proxy_toxic_parse.  *toxic_out
 * (may be NULL) gets the normalised toxic, caller cJSON_Deletes. */
int torn_proxy_toxic_add(struct torn_proxy *p, const struct cJSON *toxic,
                         struct cJSON **toxic_out, struct torn_err *err);
/* The name toxic (Toxiproxy JSON) is stored under: its "name", else
 * TYPE_STREAM ("latency_downstream"), Toxiproxy's default.  Into buf. */
void torn_proxy_toxic_name(const struct cJSON *toxic, char *buf, size_t len);
/* Update attributes/toxicity of toxic `name`: TORN_E_NOTFOUND if none. */
int torn_proxy_toxic_update(struct torn_proxy *p, const char *name, const struct cJSON *changes,
                            struct cJSON **toxic_out, struct torn_err *err);
/* Remove toxic `name`: 0 or TORN_E_NOTFOUND. */
int torn_proxy_toxic_remove(struct torn_proxy *p, const char *name);
/* Remove every toxic. */
void torn_proxy_toxics_clear(struct torn_proxy *p);
/* Enabled = listening and forwarding.  Disabling closes the listening
 * socket (a client gets ECONNREFUSED, as from Toxiproxy) and every live
 * connection; enabling listens again on the same address (TORN_E_ENV if it
 * is taken meanwhile; the proxy stays disabled). */
int torn_proxy_set_enabled(struct torn_proxy *p, int enabled, struct torn_err *err);
/* Move the proxy to listen and/or upstream ("HOST:PORT"; NULL, "" or the
 * current value = unchanged), as Toxiproxy's proxy update: live connections
 * are closed, new ones use the new addresses.  On error (bad address, port
 * taken) nothing changes. */
int torn_proxy_update(struct torn_proxy *p, const char *listen, const char *upstream,
                      struct torn_err *err);
/* Toxiproxy's proxy object {"name","listen","upstream","enabled","toxics"}
 * (with "toxics" only when with_toxics); caller frees.  */
struct cJSON *torn_proxy_json(struct torn_proxy *p, int with_toxics);
/* Toxiproxy's list of toxics; caller frees. */
struct cJSON *torn_proxy_toxics_json(struct torn_proxy *p);
/* A proxy's counters and addresses at one instant (torn_proxy_counters).
 * Index 0 is upstream (client to server), 1 downstream.  received counts
 * what was read from the sending side, sent what was written on after the
 * toxics (limit_data, reset_peer... make it smaller), as Toxiproxy's
 * toxiproxy_proxy_{received,sent}_bytes_total do. */
struct torn_proxy_counts {
    uint64_t conns;              /* connections accepted */
    uint64_t received[2], sent[2];
    char listen[80], upstream[160];
};

void torn_proxy_counters(struct torn_proxy *p, struct torn_proxy_counts *out);

/* Parse the command-line form of a toxic into Toxiproxy JSON:
 *   TYPE[=VALUE][,ATTR=VALUE...][@upstream|@downstream][~TOXICITY][#NAME]
 * e.g. "latency=50ms,jitter=10ms", "reset_peer", "bandwidth=64",
 * "slicer=64,size_variation=16,delay=100", "timeout=0@upstream~0.5".
 * VALUE is the type's main attribute; ms/s suffixes convert to ms. */
int torn_proxy_toxic_parse(const char *spec, struct cJSON **toxic_out, struct torn_err *err);

/* ---- Toxiproxy-compatible HTTP control API (served with libmicrohttpd) ---- */

/* Split "HOST:PORT" ("[v6]:PORT" too) into host and port (digits, 0..65535,
 * strict: parse.h); TORN_E_CONFIG naming what ("listen", "--api") otherwise. */
int torn_proxy_split_addr(const char *addr, char *host, size_t host_len, char *port,
                          size_t port_len, const char *what, struct torn_err *err);

struct torn_proxy_api;
/* Serve /version, /proxies, /proxies/{p}, /proxies/{p}/toxics[/{t}],
 * /reset, /populate on listen ("HOST:PORT").  New proxies created through
 * the API are owned by the server.  Browsers are refused (403 for a
 * "Mozilla/" User-Agent or an Origin header); connections are bounded and
 * idle ones closed after 10 s; raises the process's soft RLIMIT_NOFILE to
 * its hard limit (at most 65536).  *out NULL on error. */
int torn_proxy_api_start(const char *listen, uint64_t seed, int allow_remote,
                         struct torn_proxy_api **out, struct torn_err *err);
/* Create every proxy of a Toxiproxy config (a JSON array of {name, listen,
 * upstream, enabled}), as /populate does: TORN_E_CONFIG naming the proxy. */
int torn_proxy_api_populate(struct torn_proxy_api *a, const struct cJSON *proxies,
                            struct torn_err *err);
/* Hand an existing proxy to the server (it frees it on stop). */
int torn_proxy_api_adopt(struct torn_proxy_api *a, struct torn_proxy *p, struct torn_err *err);
/* Bound port of the API. */
int torn_proxy_api_port(const struct torn_proxy_api *a);
/* Stop serving and free every proxy.  NULL ok. */
void torn_proxy_api_stop(struct torn_proxy_api *a);

/* Client side, for scenarios driving a proxy (torn's or a real Toxiproxy)
 * through its API at api ("http://127.0.0.1:8474"): add a toxic to proxy
 * (toxic as above), or remove toxic `name` (a missing one is not an error). */
int torn_toxiproxy_add(const char *api, const char *proxy, const struct cJSON *toxic,
                       int timeout_ms, struct torn_err *err);
int torn_toxiproxy_remove(const char *api, const char *proxy, const char *name, int timeout_ms,
                          struct torn_err *err);


#endif

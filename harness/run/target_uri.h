/* torn: the --target URI (README "Targets"), two grammars:
 *
 *   NAME[:STRATEGY]                     file, file:naive, redis:watch
 *   NAME:LOCATION[?strategy=S&k=v...]   file:/srv/jobs?strategy=rename, exec:CMD (no query:
 *                                       the command line is the location as written)
 *   SCHEME://REST[?strategy=S&k=v...]   redis://127.0.0.1:6379/0?strategy=lua; the location is
 *                                       the URL without its query (file://DIR: DIR alone)
 */
#ifndef TORN_TARGET_URI_H
#define TORN_TARGET_URI_H

struct torn_err;
struct torn_target_cfg;

/* Parse uri into cfg's driver (the target's ops->name, static), strategy
 * (resolved, never NULL), location (NULL: the managed/embedded default) and
 * params (the query's k=v pairs), all but driver allocated: free with
 * torn_target_uri_free.  Validates the driver and strategy names.  Sets no
 * other field (run_dir, ns, timeouts: the runner's).  0, TORN_E_CONFIG
 * (one line naming the URI part), TORN_E_NOMEM; cfg is freed on error. */
int torn_target_uri_parse(const char *uri, struct torn_target_cfg *cfg, struct torn_err *err);
/* Free what torn_target_uri_parse allocated in cfg; idempotent. */
void torn_target_uri_free(struct torn_target_cfg *cfg);

#endif

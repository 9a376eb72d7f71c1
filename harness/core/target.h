/* torn: the target plug point.
 *
 * A target is a store torn drives: the embedded file store, Redis, Postgres,
 * an HTTP service, an external adapter process.  Each driver lives in
 * targets/<name>.c and exports one `const struct torn_target_ops`, listed in
 * the table in harness/core/registry.c.  Library types (redisContext, PGconn,
 * CURL) never appear here: the driver keeps them in its private area.
 *
 * Life cycle, all driven by the runner:
 *
 *   torn_target_new()      parse cfg, allocate ops->size zeroed bytes (priv)
 *   ops->setup()           once per run, in the runner's process: start a
 *                          managed server, create the namespace
 *   ops->open()/close()    connect/disconnect, in whichever process uses the
 *                          handle.  The runner forks workers ONLY while the
 *                          handle is closed; a forked child opens its own copy
 *                          (fork copies priv) and closes it before exiting.
 *                          torn_target_dup() makes such a copy for threads.
 *   ops->teardown()        once, in the runner's process: drop the namespace,
 *                          stop managed servers.  Never called in a child.
 *   torn_target_free()
 *
 * Records are cJSON objects shaped like the seeds' job records:
 *   {"id":..., "status":..., "results":..., "version": n (starts at 1, +1 on
 *    every successful write), "_updated_at": "2026-11-23T08:54:45.123Z",
 *    "created_at": ..., payload fields...}
 *
 * Every record-returning slot takes `cJSON **record_out`: may be NULL (the
 * driver frees the record), otherwise set to a new record the CALLER frees
 * with cJSON_Delete, or to NULL on every error path.
 *
 * Outcomes that are not errors (a stale compare-and-set, a rejected
 * transition) are reported through `int *won_out` and return 0.  Errors
 * return a negative torn_code and fill err; err->indefinite says whether the
 * operation may still have happened (the checkers treat such an operation as
 * Jepsen's :info).
 */
#ifndef TORN_TARGET_H
#define TORN_TARGET_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct torn_err;
struct torn_target;
struct torn_sub;            /* an event subscription, defined by the driver */

#define TORN_TARGET_OPS_V1 1

struct torn_strategy {
    const char *name;       /* "naive", "watch", "guarded", ... */
    const char *summary;    /* one line for `torn list` */
};

struct torn_kv {
    const char *key;
    const char *value;
};

/* Configuration of one target, built by the runner from --target and
 * friends.  All strings are owned by the runner and outlive the target. */
struct torn_target_cfg {
    const char *uri;        /* as the user wrote it: MAY CONTAIN A PASSWORD,
                               never print it; print `display` */
    const char *display;    /* uri with any password replaced by "***" */
    const char *driver;     /* ops->name */
    const char *strategy;   /* resolved strategy, never NULL */
    const char *location;   /* driver-specific rest: a directory, a URL,
                               "host:port/db", a DSN, a command line; NULL when
                               the user asked for the managed/embedded default */
    const struct torn_kv *params; /* ?k=v pairs and --target-opt k=v */
    size_t n_params;
    const char *run_dir;    /* private directory of this run (exists, torn's
                               own): temp files, server data, artifacts */
    const char *log_dir;    /* the run directory itself, never on torn-fs
                               (run_dir may be): logs of managed programs,
                               whose writes must not count as the store's */
    const char *ns;         /* namespace unique to this run, e.g.
                               "torn_1a2b3c": key prefix, schema, sub-dir */
    const struct cJSON *spec;   /* parsed --target-spec file, or NULL */
    const char *spec_path;      /* its path, for error messages */
    int allow_remote;       /* 0: refuse any non-loopback address */
    int timeout_ms;         /* bound for every network or child wait */
    uint64_t seed;          /* the run's seed, for drivers that randomize */
};

/* Ways to damage a stored record from outside (corrupt-read scenario). */
enum torn_corruption {
    TORN_CORRUPT_EMPTY,        /* zero-length record */
    TORN_CORRUPT_TRUNCATE,     /* first half of the bytes */
    TORN_CORRUPT_GARBAGE,      /* random bytes, not JSON */
    TORN_CORRUPT_BITFLIP,      /* one byte of the payload changed, still JSON */
    TORN_CORRUPT_MISSING,      /* main copy gone, backup (if any) kept */
    TORN_CORRUPT_ALL_MISSING   /* main copy and backup gone */
};

/* The files holding one record, for damaging them from outside: paths
 * relative to a directory (an absolute path or a ".." component is
 * refused).  temps are glob(3) patterns of temporary copies. */
struct torn_files {
    const char *main;              /* the record's main copy */
    const char *const *backups;    /* other copies a reader may fall back to */
    size_t n_backups;
    const char *const *temps;      /* patterns, e.g. "job-1.json.tmp.*" */
    size_t n_temps;
};

/* Damage the files f of one record under dir (scenarios/corrupt_read.c, so
 * every driver damages alike): EMPTY, TRUNCATE (first half), GARBAGE
 * (random bytes from seed, same length), BITFLIP (one character of every
 * "payload" string, so the file is still valid JSON; one bit mid-file when
 * there is none) rewrite the main copy in place; MISSING unlinks it;
 * ALL_MISSING unlinks it, the backups and every temp match.  Never follows
 * a symlink in the last component.  Keeps each file's bytes before its first
 * change for torn_corrupt_restore.  TORN_E_NOTFOUND when the main copy to
 * damage does not exist. */
int torn_corrupt_files(const char *dir, const struct torn_files *f, enum torn_corruption how,
                       uint64_t seed, struct torn_err *err);

/* Put back every file torn_corrupt_files changed or removed since the last
 * call, with the bytes and mode it had before the first change (a store
 * that keeps several records in one file would otherwise carry the damage
 * into the next case and scenario).  Forgets them even when one cannot be
 * written back (then TORN_E_IO naming it). */
int torn_corrupt_restore(struct torn_err *err);

/* Faults a target can inject on itself (ops->fault). */
enum torn_fault {
    TORN_FAULT_SERVER_KILL,    /* SIGKILL the managed server */
    TORN_FAULT_SERVER_RESTART, /* start it again on the same data directory */
    TORN_FAULT_POWER_CUT,      /* drop everything not yet durable (torn-fs) */
    TORN_FAULT_IO_ERROR        /* arm an I/O error rule (args say which) */
};

/* Capability bits, derived from which slots are non-NULL; scenarios declare
 * what they need and the runner checks before anything starts. */
enum torn_cap {
    TORN_CAP_UPDATE = 1u << 0,
    TORN_CAP_READ = 1u << 1,
    TORN_CAP_CAS = 1u << 2,        /* update_if_version */
    TORN_CAP_TRANSITION = 1u << 3,
    TORN_CAP_RESET = 1u << 4,
    TORN_CAP_CORRUPT = 1u << 5,
    TORN_CAP_DUAL = 1u << 6,       /* dual_write + dual_read */
    TORN_CAP_JOBS = 1u << 7,       /* create + subscribe + next_event */
    TORN_CAP_FAULT = 1u << 8,
    TORN_CAP_FS_DATA = 1u << 9,    /* the data lives in files under cfg->run_dir
                                      and a fresh open() reads them again, so
                                      torn-fs power cuts and I/O errors act on
                                      it (ops->extra_caps, no slot shows it) */
    TORN_CAP_PLANT = 1u << 11,     /* plant: store a legacy record as given */
    TORN_CAP_SERVICE = 1u << 10    /* the writes happen in a server process the
                                      target manages (ops->extra_caps): fault
                                      SERVER_KILL crashes it, SERVER_RESTART
                                      restarts it on its data; crash-midwrite,
                                      dual-write, power-loss and io-errors
                                      crash it with the writer */
};

struct torn_target_ops {
    int version;                 /* TORN_TARGET_OPS_V1; append slots, never reorder;
                                    torn_target_new refuses any other */
    const char *name;            /* "file", "redis", "postgres", "http", "exec" */
    const char *summary;         /* one line for `torn list` */
    const struct torn_strategy *strategies; /* ends with {NULL,NULL}; [0] is the default */
    size_t size;                 /* bytes of driver-private state; zeroed, owned by the harness */

    /* Validate cfg (location, params) without touching anything: exit 2 on
     * an unknown param must happen here, before a run starts.  May be NULL. */
    int  (*check)(const struct torn_target_cfg *cfg, struct torn_err *err);
    /* Provision once per run (see above).  May be NULL.  On failure the
     * runner still calls teardown. */
    int  (*setup)(struct torn_target *t, struct torn_err *err);
    /* Undo setup.  MUST accept a partial setup.  May be NULL. */
    void (*teardown)(struct torn_target *t);
    /* Connect.  Required. */
    int  (*open)(struct torn_target *t, struct torn_err *err);
    /* Disconnect.  Required.  MUST accept a half-opened or closed target. */
    void (*close)(struct torn_target *t);

    /* Create or replace record `id`: {"id":id, "version":1, "_updated_at",
     * "created_at"} plus the fields of `initial` (may be NULL). */
    int (*reset)(struct torn_target *t, const char *id, const struct cJSON *initial,
                 struct cJSON **record_out, struct torn_err *err);
    /* update_fields (seed 000): merge the top-level fields of patch into the
     * record, version+1, fresh _updated_at, as ONE atomic write.  Patch
     * fields id, created_at, version, _updated_at are ignored.  A missing
     * record is TORN_E_NOTFOUND. */
    int (*update)(struct torn_target *t, const char *id, const struct cJSON *patch,
                  struct cJSON **record_out, struct torn_err *err);
    /* Safe read (seed 001): the record, or TORN_E_NOTFOUND / TORN_E_CORRUPT;
     * never garbage, never a crash. */
    int (*read)(struct torn_target *t, const char *id, struct cJSON **record_out,
                struct torn_err *err);
    /* Optimistic lock (seed 002): apply patch iff version == expected;
     * *won_out = 1 and the new record, or *won_out = 0 (stale, not an error).
     * Protected fields (id, created_at, version, processing_state) in the
     * patch are never applied. */
    int (*update_if_version)(struct torn_target *t, const char *id, const struct cJSON *patch,
                             long long expected_version, int *won_out,
                             struct cJSON **record_out, struct torn_err *err);
    /* Guarded transition (seed 002): set status = to (version+1) iff the
     * current status is one of from[0..n_from); *won_out = 0 otherwise. */
    int (*transition)(struct torn_target *t, const char *id, const char *const *from,
                      size_t n_from, const char *to, int *won_out,
                      struct cJSON **record_out, struct torn_err *err);

    /* --- optional slots; NULL = unsupported --- */

    /* Damage the stored record `id` from outside the store's write path. */
    int (*corrupt)(struct torn_target *t, const char *id, enum torn_corruption how,
                   struct torn_err *err);
    /* Dual write (seed 003): record that `member` of `group` completed with
     * `amount`, in BOTH structures (a record of members + a counter, and a
     * separate membership structure), atomically or not per strategy. */
    int (*dual_write)(struct torn_target *t, const char *group, const char *member,
                      long long amount, struct torn_err *err);
    /* Read both structures of `group`: {"a":{member:amount,...},
     * "b":{member:amount,...}, "count":n, "total":sum}; caller frees. */
    int (*dual_read)(struct torn_target *t, const char *group, struct cJSON **state_out,
                     struct torn_err *err);
    /* Start a job (HTTP services): *id_out is malloc'd, caller frees. */
    int (*create)(struct torn_target *t, const struct cJSON *input, char **id_out,
                  struct torn_err *err);
    /* Subscribe to the events of job `id` before it can complete. */
    int (*subscribe)(struct torn_target *t, const char *id, struct torn_sub **sub_out,
                     struct torn_err *err);
    /* Next event within timeout_ms: {"type":"progress"|"completed"|"failed",
     * "raw":<payload>, "t_ns":<monotonic receive time>}; caller frees.
     * TORN_E_TIMEOUT when none arrived. */
    int (*next_event)(struct torn_target *t, struct torn_sub *sub, int timeout_ms,
                      struct cJSON **event_out, struct torn_err *err);
    /* Close a subscription; NULL is a no-op. */
    void (*unsubscribe)(struct torn_target *t, struct torn_sub *sub);
    /* Inject a fault on the target itself; args is kind-specific or NULL.
     * TORN_E_UNSUPPORTED for kinds the driver cannot do. */
    int (*fault)(struct torn_target *t, enum torn_fault kind, const struct cJSON *args,
                 struct torn_err *err);

    /* Capabilities no slot shows (TORN_CAP_FS_DATA); 0 for most. */
    unsigned extra_caps;
    /* Which of `wanted` this configured target can really do, when that
     * depends on its cfg or on what it says at run time (an exec adapter's
     * answers): returns the subset it can do and, for the missing bits,
     * one line in why[why_len] ("the adapter declares no data files").
     * Called by the runner after setup, with the target closed; may open
     * and close it.  Also called BEFORE setup with wanted ==
     * TORN_CAP_FS_DATA alone (whether to mount torn-fs): answer that from
     * cfg.  NULL: the slot-derived caps hold. */
    unsigned (*caps)(struct torn_target *t, unsigned wanted, char *why, size_t why_len);
    /* After each scenario, in the runner's process, with every worker gone
     * and the target closed: post (finding.h) the violations only the
     * target can see once the work is quiet, e.g. a managed service's log
     * lines since the last call.  NULL: nothing to observe. */
    void (*observe)(struct torn_target *t);
    /* Store `record` exactly as given, bypassing the record contract: no
     * version, no _updated_at added (a record an older release left, seed
     * 000's "initialize version to 1 if missing").  The next write must
     * treat it as any other.  NULL: unsupported. */
    int (*plant)(struct torn_target *t, const char *id, const struct cJSON *record,
                 struct torn_err *err);
};

/* A target handle.  Plain data: fork and torn_target_dup copy it. */
struct torn_target {
    const struct torn_target_ops *ops;
    struct torn_target_cfg cfg;  /* strings owned by the runner */
    void *priv;                  /* ops->size zeroed bytes, the driver's */
    int is_open;                 /* maintained by torn_target_open/close */
    int is_setup;                /* maintained by torn_target_setup/teardown */
};

/* Allocate a target for ops and cfg (cfg is copied shallowly: its strings
 * must outlive the target).  Refuses ops whose version this torn does not
 * know (TORN_E_CONFIG, one line naming the driver and both versions), then
 * runs ops->check.  *out is NULL on error. */
int torn_target_new(const struct torn_target_ops *ops, const struct torn_target_cfg *cfg,
                    struct torn_target **out, struct torn_err *err);
/* Copy a CLOSED target (priv included) for use by another thread; the copy
 * must be freed with torn_target_free and never torn down. */
int torn_target_dup(const struct torn_target *t, struct torn_target **out, struct torn_err *err);
/* Free; NULL is a no-op.  Does not close or tear down. */
void torn_target_free(struct torn_target *t);

/* Life-cycle wrappers: they keep is_open/is_setup. */
int  torn_target_setup(struct torn_target *t, struct torn_err *err);
void torn_target_teardown(struct torn_target *t);
int  torn_target_open(struct torn_target *t, struct torn_err *err);
void torn_target_close(struct torn_target *t);

/* Operation wrappers.  Scenarios, benches and fuzz harnesses call a target
 * only through these, never through t->ops (as SQLite routes every VFS call
 * through sqlite3OsRead and friends): one place to check the slot, and
 * later to count, trace or version calls.  Each has its slot's contract
 * above; a NULL slot returns TORN_E_UNSUPPORTED with err naming the target
 * and the operation, and sets the out-parameters (record_out, won_out,
 * state_out, id_out, sub_out, event_out) to NULL / 0. */
/* Probe mode (torn run --probe): from now on, in this process and the
 * workers it forks, every wrapper whose slot writes, damages or kills
 * (reset, update, update_if_version, transition, corrupt, dual_write,
 * create, fault, plant) returns TORN_E_CONFIG without calling the driver;
 * reads, subscriptions and events pass. */
void torn_target_read_only(int on);
int torn_target_reset(struct torn_target *t, const char *id, const struct cJSON *initial,
                      struct cJSON **record_out, struct torn_err *err);
int torn_target_update(struct torn_target *t, const char *id, const struct cJSON *patch,
                       struct cJSON **record_out, struct torn_err *err);
int torn_target_read(struct torn_target *t, const char *id, struct cJSON **record_out,
                     struct torn_err *err);
int torn_target_update_if_version(struct torn_target *t, const char *id,
                                  const struct cJSON *patch, long long expected_version,
                                  int *won_out, struct cJSON **record_out, struct torn_err *err);
int torn_target_transition(struct torn_target *t, const char *id, const char *const *from,
                           size_t n_from, const char *to, int *won_out,
                           struct cJSON **record_out, struct torn_err *err);
int torn_target_corrupt(struct torn_target *t, const char *id, enum torn_corruption how,
                        struct torn_err *err);
int torn_target_dual_write(struct torn_target *t, const char *group, const char *member,
                           long long amount, struct torn_err *err);
int torn_target_dual_read(struct torn_target *t, const char *group, struct cJSON **state_out,
                          struct torn_err *err);
int torn_target_create(struct torn_target *t, const struct cJSON *input, char **id_out,
                       struct torn_err *err);
int torn_target_subscribe(struct torn_target *t, const char *id, struct torn_sub **sub_out,
                          struct torn_err *err);
int torn_target_next_event(struct torn_target *t, struct torn_sub *sub, int timeout_ms,
                           struct cJSON **event_out, struct torn_err *err);
/* NULL sub, or no unsubscribe slot: a no-op. */
void torn_target_unsubscribe(struct torn_target *t, struct torn_sub *sub);
int torn_target_fault(struct torn_target *t, enum torn_fault kind, const struct cJSON *args,
                      struct torn_err *err);
/* No observe slot: a no-op. */
void torn_target_observe(struct torn_target *t);
int torn_target_plant(struct torn_target *t, const char *id, const struct cJSON *record,
                      struct torn_err *err);

/* Bitmask of enum torn_cap for ops: its non-NULL slots and extra_caps. */
unsigned torn_target_caps(const struct torn_target_ops *ops);
/* Which of `wanted` the set-up target t can really do: torn_target_caps
 * narrowed by ops->caps.  why (may be NULL) explains the missing bits in
 * one line, "" when nothing is missing or no reason is known. */
unsigned torn_target_caps_of(struct torn_target *t, unsigned wanted, char *why, size_t why_len);
/* Comma-separated names of the bits of caps ("update_if_version, ..."). */
void torn_caps_describe(unsigned caps, char *buf, size_t len);

/* Value of a ?k=v / --target-opt parameter, or NULL. */
const char *torn_target_param(const struct torn_target_cfg *cfg, const char *key);
/* Same, parsed strictly (parse.h) as an integer in [lo, hi], dflt when
 * absent; TORN_E_CONFIG naming the target, parameter and range otherwise.
 * Drivers call it from check() so a bad value stops the run before it
 * starts. */
int torn_target_param_int(const struct torn_target_cfg *cfg, const char *key, long long dflt,
                          long long lo, long long hi, long long *out, struct torn_err *err);

/* Registry (harness/core/registry.c). */
const struct torn_target_ops *torn_target_find(const char *name);
const struct torn_target_ops *const *torn_targets(size_t *n_out);

#endif

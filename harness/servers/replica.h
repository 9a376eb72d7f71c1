/* torn: a managed replicated store: a primary, a replica that replicates
 * from it through a link torn controls, and a failover.
 *
 *   torn_replica_set_start()  start a primary (server.h, its own random
 *                             password), a link between the two (a torn
 *                             proxy in a child process, with the replication
 *                             delay asked for) and a replica of the primary
 *                             through that link; wait (bounded) until the
 *                             replica has synchronised
 *   torn_replica_set_crash()  the primary crashes while cut off from its
 *                             replica: the link is SIGKILLed (bytes in flight
 *                             are lost, as in a partition) and at once the
 *                             primary (SIGKILL of its process group); with
 *                             power_cut its data directory is on torn-fs
 *                             (power model) and the power goes with it:
 *                             everything it had not fsynced is lost
 *   torn_replica_set_promote() the replica becomes the primary (Redis:
 *                             REPLICAOF NO ONE; Postgres: pg_promote()), as
 *                             Sentinel, Patroni or an operator would
 *   torn_replica_set_stop()   stop everything, remove the directories
 *
 * Redis: the replica learns the primary's password through an authenticated
 * CONFIG SET masterauth, never a command line.  Postgres: the standby is a
 * pg_basebackup of the primary (taken directly, not through the link),
 * streaming through the link (standby.signal, primary_conninfo in its 0600
 * postgresql.auto.conf); pg_basebackup reads the password from a 0600
 * PGPASSFILE removed at once.  The records live in table torn_failover
 * (k text primary key, v text), created before the base backup.  Every server
 * listens on 127.0.0.1 only with its own password (server.h).  The link
 * process has PR_SET_PDEATHSIG and is in the harness/proc registry, so
 * nothing outlives torn.  Not thread-safe; after fork() a child may use the
 * client calls below but must not crash, promote or stop the set.
 *
 * A set the user runs (torn_replica_set_attach): servers torn did not
 * start, at the addresses and with the credentials the user gave (the
 * standby shares the primary's), crashed and promoted by the user's own
 * shell commands, as real deployments promote with Patroni, Sentinel or a
 * cloud API.  torn never kills, restarts or removes anything of it; it waits
 * (bounded) for what each command must bring about: after the crash
 * command the primary no longer answers, after the promote command the
 * standby says it is a primary.  The commands run with /bin/sh -c in their
 * own process group, output appended to a log, TORN_PRIMARY and
 * TORN_STANDBY (HOST:PORT) in their environment; one still running at its
 * time limit (the set's timeout, at least TORN_REPLICA_CMD_MS, the rebuild
 * at least TORN_REPLICA_REBUILD_MS) is killed with its group.  Postgres: the records live in table
 * torn_failover (k text primary key, v text) of the user's database,
 * created if absent.
 */
#ifndef TORN_REPLICA_H
#define TORN_REPLICA_H

#include <stddef.h>
#include <sys/types.h>

#include "servers/server.h"

struct torn_err;
struct torn_kv;

enum { TORN_REPLICA_CMD_MS = 60000, TORN_REPLICA_REBUILD_MS = 300000 };

/* How to reach one node. */
struct torn_replica_node {
    char host[256];
    int port;
    char user[128];            /* Postgres role / Redis ACL user, or "" */
    char password[256];        /* never printed; "" none */
    char dbname[128];          /* Postgres database */
    int db;                    /* Redis database number */
    const char *conninfo;      /* a user-run Postgres: the user's own address
                                  (libpq expands it; host and port override
                                  it for the standby), else NULL */
};

/* A set the user runs: torn_replica_set_attach. */
struct torn_replica_user {
    enum torn_server_kind kind;      /* TORN_SERVER_REDIS or TORN_SERVER_POSTGRES */
    const char *location;            /* the primary, as --target gives it */
    const char *display;             /* location with the password hidden */
    const char *standby;             /* the standby: HOST:PORT */
    const char *crash_cmd;           /* crashes the primary (required) */
    const char *promote_cmd;         /* promotes the standby (required) */
    const char *rebuild_cmd;         /* after a failover: a fresh primary and
                                        standby at the same addresses, or NULL */
    const char *log_path;            /* the commands' output (appended) */
    int allow_remote;                /* 0: both addresses must be loopback */
    int timeout_ms;                  /* bound on every command and wait */
};

struct torn_replica_set {
    enum torn_server_kind kind;      /* TORN_SERVER_REDIS or TORN_SERVER_POSTGRES */
    struct torn_replica_node node[2]; /* [0] the primary, [1] the replica */
    const struct torn_replica_user *user; /* a user-run set, or NULL (managed) */
    char *conninfo;                  /* owned: node[].conninfo */
    struct torn_server *primary;     /* managed only, else NULL */
    struct torn_server *replica;
    pid_t link_pid;            /* the link process, 0 once gone */
    int link_port;             /* where the replica connects to the primary */
    int promoted;              /* the replica is the primary now */
    int timeout_ms;
    struct torn_fs *fs;        /* power_cut: torn-fs under the primary's data */
    char cut_state[160];       /* the power cut's reply ("m0:dnone:0 kept_meta=0/2
                                  kept_pages=0/31 model=power"), "" before it */
};

struct torn_replica_opts {
    enum torn_server_kind kind;      /* TORN_SERVER_REDIS or TORN_SERVER_POSTGRES */
    const struct torn_kv *settings;  /* the primary's settings (server.h), or NULL;
                                        the replica runs with the defaults */
    int link_latency_ms;             /* delay the link adds to the replication
                                        stream (primary -> replica); 0 none */
    int timeout_ms;                  /* bound on every start and wait */
    int power_cut;                   /* 1: the primary keeps its data on torn-fs
                                        (power model) and crashes by a power
                                        cut, not only a SIGKILL */
};

/* Start a set in new directories under dir.  0 and *out (free with
 * torn_replica_set_stop), or a negative torn_code with everything removed:
 * as torn_server_start, or TORN_E_TIMEOUT when the replica does not
 * synchronise in time (the message quotes its replication state). */
int torn_replica_set_start(const char *dir, const struct torn_replica_opts *o,
                           struct torn_replica_set **out, struct torn_err *err);

/* Attach to the set u describes (u must outlive it): wait (bounded) until
 * the standby replicates from the primary (Redis: its link is up and
 * synchronised; Postgres: the table created on the primary is seen on the
 * standby).  0 and *out
 * (free with torn_replica_set_stop, which leaves the servers alone), or
 * TORN_E_CONFIG (a bad address, a remote one without allow_remote, a
 * missing command), TORN_E_ENV (a command failed: its last output line),
 * TORN_E_TIMEOUT, TORN_E_CONNECT, TORN_E_AUTH. */
int torn_replica_set_attach(const struct torn_replica_user *u, struct torn_replica_set **out,
                            struct torn_err *err);

/* A user-run set: run the rebuild command, when given (else, and for a
 * managed set, 0 at once).  0, or a negative torn_code as for attach. */
int torn_replica_set_rebuild(struct torn_replica_set *s, struct torn_err *err);

/* Crash the primary cut off from its replica (see above; with power_cut its
 * torn-fs freezes, the primary is SIGKILLed and the power is cut: what it had
 * not fsynced is gone from its data directory, s->cut_state names the crash
 * state; a user-run set:
 * the crash command, then wait until the primary no longer answers).  0, or
 * a negative torn_code for a user-run set. */
int torn_replica_set_crash(struct torn_replica_set *s, struct torn_err *err);

/* Promote the replica (a user-run set: the promote command) and wait until
 * it says it is a primary.  0, or a
 * negative torn_code (TORN_E_CONNECT, TORN_E_REMOTE, TORN_E_TIMEOUT). */
int torn_replica_set_promote(struct torn_replica_set *s, struct torn_err *err);

/* Stop and remove everything; NULL is a no-op. */
void torn_replica_set_stop(struct torn_replica_set *s);

/* ---- a client of one node: what the failover scenario's writers use ---- */

struct torn_replica_conn;

/* Connect to the primary (node 0) or the replica (node 1) of s, and
 * authenticate.  0 and *out, or TORN_E_CONNECT / TORN_E_AUTH /
 * TORN_E_TIMEOUT.  Every call on the connection is bounded by timeout_ms. */
int torn_replica_connect(const struct torn_replica_set *s, int node, int timeout_ms,
                         struct torn_replica_conn **out, struct torn_err *err);
/* Store value under key (Redis SET; Postgres one autocommit upsert, whose
 * commit waits for the standby as synchronous_commit says), then, for
 * Redis when wait_replicas > 0, WAIT wait_replicas wait_timeout_ms:
 * *replicated_out is the number of replicas that acknowledged it (WAIT's
 * answer), or -1 when no WAIT was asked (always for Postgres).  0,
 * or a negative torn_code (the write's outcome is then unknown). */
int torn_replica_put(struct torn_replica_conn *c, const char *key, const char *value,
                     int wait_replicas, int wait_timeout_ms, int *replicated_out,
                     struct torn_err *err);
/* The value under key (malloc'd, NUL-terminated; the caller frees), or
 * TORN_E_NOTFOUND, or another negative torn_code. */
int torn_replica_get(struct torn_replica_conn *c, const char *key, char **value_out,
                     size_t *len_out, struct torn_err *err);
/* Close; NULL is a no-op. */
void torn_replica_close(struct torn_replica_conn *c);

#endif

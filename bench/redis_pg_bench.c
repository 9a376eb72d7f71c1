/* torn bench: update throughput of a target driver, for bench/redis_pg.sh.
 *
 *   redis_pg_bench TARGET_URI CLIENTS SECONDS [NS]
 *
 * Sets the target up (namespace NS, default "torn_bench"), resets one
 * record, then CLIENTS worker processes each open their own connection and
 * call torn_target_update with a small patch in a loop for SECONDS.  Prints one
 * line "ops_per_s=<n> ops=<n> errors=<n>".  The target's data (namespace,
 * managed server) is removed at the end.  Exit 0, or 2 on any setup error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "proc/proc.h"
#include "run/runner.h"
#include "run/target_uri.h"
#include "core/target.h"
#include "core/util.h"

#define MAX_CLIENTS 64

static const char *const KEY = "bench";

/* In a client: connect, then update for `seconds`; write {ops, errors}
 * to fd. */
static void client(struct torn_target *t, double seconds, int fd)
{
    uint64_t deadline;
    long long counts[2] = {0, 0};
    cJSON *patch = cJSON_CreateObject();
    struct torn_err err;

    torn_err_clear(&err);
    if (!patch || torn_target_open(t, &err) != 0) {
        fprintf(stderr, "redis_pg_bench: client: %s\n", err.msg);
        _exit(2);
    }
    cJSON_AddStringToObject(patch, "status", "running");
    cJSON_AddNumberToObject(patch, "seq", (double)getpid());
    deadline = torn_now_ns() + (uint64_t)(seconds * 1e9);
    while (torn_now_ns() < deadline)
        counts[torn_target_update(t, KEY, patch, NULL, &err) == 0 ? 0 : 1]++;
    torn_target_close(t);
    cJSON_Delete(patch);
    if (write(fd, counts, sizeof counts) != (ssize_t)sizeof counts)
        _exit(2);
    _exit(0);
}

static int run(struct torn_target *t, int clients, double seconds)
{
    long long ops = 0, errors = 0;
    int fds[2], rc = 0;

    if (pipe(fds) != 0)
        return 2;
    for (int i = 0; i < clients; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            torn_proc_child_init();
            close(fds[0]);
            client(t, seconds, fds[1]);
        }
        if (pid > 0)
            torn_proc_track(pid);
    }
    close(fds[1]);
    for (int i = 0; i < clients; i++) {
        long long c[2];
        if (read(fds[0], c, sizeof c) != (ssize_t)sizeof c) {
            rc = 2;
            break;
        }
        ops += c[0];
        errors += c[1];
    }
    close(fds[0]);
    torn_proc_reap_all(1000);
    printf("ops_per_s=%.0f ops=%lld errors=%lld\n", (double)ops / seconds, ops, errors);
    return rc;
}

int main(int argc, char **argv)
{
    struct torn_target_cfg cfg;
    struct torn_target *t = NULL;
    struct torn_err err;
    char run_dir[] = "/tmp/torn-bench.XXXXXX";
    int clients, rc;

    if (argc < 4 || (clients = atoi(argv[2])) < 1 || clients > MAX_CLIENTS) {
        fprintf(stderr, "usage: redis_pg_bench TARGET_URI CLIENTS(1..%d) SECONDS [NS]\n",
                MAX_CLIENTS);
        return 2;
    }
    torn_err_clear(&err);
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(run_dir) || (rc = torn_target_uri_parse(argv[1], &cfg, &err)) != 0) {
        fprintf(stderr, "redis_pg_bench: %s\n", err.msg[0] ? err.msg : "cannot create run dir");
        return 2;
    }
    chmod(run_dir, 0711);
    cfg.uri = cfg.display = argv[1];
    cfg.run_dir = run_dir;
    cfg.ns = argc > 4 ? argv[4] : "torn_bench";
    cfg.timeout_ms = 10000;
    rc = torn_target_new(torn_target_find(cfg.driver), &cfg, &t, &err);
    if (!rc)
        rc = torn_target_setup(t, &err);
    if (!rc && (rc = torn_target_open(t, &err)) == 0) {
        rc = torn_target_reset(t, KEY, NULL, NULL, &err);
        torn_target_close(t);
    }
    if (rc)
        fprintf(stderr, "redis_pg_bench: %s\n", err.msg);
    else
        rc = run(t, clients, atof(argv[3]));
    if (t) {
        torn_target_teardown(t);
        torn_target_free(t);
    }
    torn_target_uri_free(&cfg);
    torn_rmtree(run_dir);
    return rc ? 2 : 0;
}

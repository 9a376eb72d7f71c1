/* torn: the crash cycle shared by power-loss and io-errors. */
#include "power.h"

#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "steps.h"
#include "core/err.h"
#include "core/history.h"
#include "proc/proc.h"
#include "core/record.h"
#include "core/scenario.h"
#include "core/target.h"
#include "fs/tornfs.h"
#include "core/util.h"

enum {
    MSG_ATTEMPT = TORN_STEP_MSG_ATTEMPT,
    MSG_ACK = TORN_STEP_MSG_ACK,
    MSG_FAIL = TORN_STEP_MSG_FAIL
};

static const char *const KEY = "job-1";

#define MAX_ARTIFACTS 3
#define MAX_KIDS 64       /* processes a writer may have started */

int torn_power_need_fs(const struct torn_ctx *ctx, const char *scenario, struct torn_err *err)
{
    if (ctx->fs)
        return TORN_OK;
    return torn_err_set(err, TORN_E_CONFIG,
                        "%s needs the target's data on torn-fs: run with --fs torn (the runner "
                        "mounts it for scenarios that declare it; /dev/fuse must exist)",
                        scenario);
}

static int writer(struct torn_ctx *ctx, struct torn_target *t, int index, int wfd, void *argp)
{
    const struct torn_power_cycle *c = argp;
    struct torn_err err;

    for (long long seq = 1; seq <= c->updates; seq++)
        torn_step_update_announced(ctx, t, KEY, wfd, index, seq, c->payload_len, 0, &err);
    return 0;
}

static void take(struct torn_power_cycle *c, const struct torn_msg *m)
{
    torn_ledger_take(&c->ledger, m);
    c->total_acks += m->type == MSG_ACK;
}

static int ctl(struct torn_ctx *ctx, char *reply, size_t len, struct torn_err *err,
               const char *cmd)
{
    return torn_fs_ctlf(ctx->fs, reply, len, err, "%s", cmd);
}

/* Reset the record and make it the durable baseline; arm rules and freeze. */
static int prepare(struct torn_ctx *ctx, struct torn_power_cycle *c, struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    char reply[512], cmd[600];
    cJSON *rec = NULL;
    int rc;

    if ((rc = ctl(ctx, reply, sizeof reply, err, "thaw")) != 0 ||
        (rc = ctl(ctx, reply, sizeof reply, err, "rules-clear")) != 0)
        return rc;
    snprintf(cmd, sizeof cmd, "model %s", c->model);
    if ((rc = ctl(ctx, reply, sizeof reply, err, cmd)) != 0)
        return rc;
    if ((rc = torn_target_open(ctx->target, err)) != 0)
        return rc;
    rc = torn_target_reset(t, KEY, NULL, &rec, err);
    memset(&c->ledger, 0, sizeof c->ledger);
    torn_ledger_reset(&c->ledger, rc ? 0 : torn_record_version(rec));
    cJSON_Delete(rec);
    torn_target_close(t);
    if (rc)
        return rc;
    if ((rc = ctl(ctx, reply, sizeof reply, err, "sync")) != 0 ||
        (rc = ctl(ctx, reply, sizeof reply, err, "counter-reset")) != 0)
        return rc;
    for (int i = 0; i < 8 && c->rules[i]; i++) {
        snprintf(cmd, sizeof cmd, "rule %s", c->rules[i]);
        if ((rc = ctl(ctx, reply, sizeof reply, err, cmd)) != 0)
            return rc;
    }
    if (c->freeze_at) {
        snprintf(cmd, sizeof cmd, "freeze %llu", (unsigned long long)c->freeze_at);
        if ((rc = ctl(ctx, reply, sizeof reply, err, cmd)) != 0)
            return rc;
    }
    return TORN_OK;
}

/* Wait until the writer finished, or the file system froze AND the writer is
 * blocked in its next persistence request.  "Frozen" alone is not a crash
 * point: the Nth operation has completed in the file system, but the writer
 * may not have returned from it yet, so killing it then would race its
 * acknowledgement (a replayed state id would read back different
 * acknowledged versions, PASS one run and FAIL the next).  Blocked, it has
 * sent every message it ever will: the cut is exact in what it did too.
 * The daemon answers `wait-blocked` the moment the writer blocks, while the
 * writer's messages are taken as they come; a writer that finishes (EOF)
 * abandons the wait and the status says whether the freeze point was
 * reached. */
static int wait_writer(struct torn_ctx *ctx, struct torn_power_cycle *c, struct torn_child *w,
                       struct torn_err *err)
{
    uint64_t deadline = torn_now_ns() + (uint64_t)ctx->timeout_ms * 1000000ULL * 4;
    static const char cmd[] = "wait-blocked 200";
    struct torn_fs_status st;
    struct torn_msg m;
    char reply[200];
    int fd = -1, rc;

    for (;;) {
        struct pollfd p[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
        if (fd < 0 && (fd = torn_fs_ctl_start(ctx->fs, cmd, err)) < 0)
            return fd;
        p[1].fd = fd;
        if (poll(p, 2, 50) < 0 && errno != EINTR) {
            close(fd);
            return torn_err_sys(err, TORN_E_IO, errno, "poll");
        }
        if (p[0].revents) {
            while ((rc = torn_msg_recv(w->fd, &m, 0, NULL)) == 1)
                take(c, &m);
            if (rc == 0) {   /* the writer finished */
                close(fd);
                if ((rc = torn_fs_status_get(ctx->fs, &st, err)) != 0)
                    return rc;
                c->frozen = st.frozen;
                return TORN_OK;
            }
        }
        if (p[1].revents) {
            rc = torn_fs_ctl_finish(ctx->fs, fd, cmd, reply, sizeof reply, err);
            fd = -1;
            if (rc)
                return rc;
            if (strstr(reply, "frozen=1 blocked=") && !strstr(reply, "blocked=0 ")) {
                c->frozen = 1;
                return TORN_OK;
            }
        }
        if (torn_stop_requested() || torn_now_ns() > deadline) {
            close(fd);
            if (torn_stop_requested())
                return torn_err_set(err, TORN_E_INTERRUPTED, "interrupted");
            rc = torn_fs_status_get(ctx->fs, &st, err);
            return rc ? rc : torn_err_set(err, TORN_E_TIMEOUT,
                                "the writer neither finished nor blocked after persistence "
                                "operation %llu within %d ms (at %llu%s)",
                                (unsigned long long)c->freeze_at, ctx->timeout_ms * 4,
                                (unsigned long long)st.ops, st.frozen ? ", frozen" : "");
        }
    }
}

/* The crash-state id of the cut that answered reply: "op<N>/<state>". */
static void set_state(struct torn_power_cycle *c, const char *reply)
{
    const char *state = strstr(reply, "state=");
    snprintf(c->state, sizeof c->state, "op%llu/%.*s", (unsigned long long)c->ops,
             state ? (int)strcspn(state + 6, " ") : 0, state ? state + 6 : "");
}

int torn_power_run_cycle(struct torn_ctx *ctx, struct torn_power_cycle *c, struct torn_err *err)
{
    struct torn_child w;
    struct torn_fs_status st;
    struct torn_msg m;
    char reply[512], cmd[300];
    pid_t kids[MAX_KIDS];
    int rc, rc2, tree;

    c->frozen = 0;
    c->kept = 0;
    c->live_bad = 0;
    c->state[0] = 0;
    if ((rc = prepare(ctx, c, err)) != 0)
        return rc;
    if ((rc = torn_child_spawn(ctx, 0, 1, writer, c, &w, err)) != 0)
        return rc;
    rc = wait_writer(ctx, c, &w, err);
    /* The program dies first, then the power: the writer and everything it
     * started (an exec adapter, its children).  A process blocked in a frozen
     * request cannot finish dying (FUSE waits for the answer) but runs no
     * more code; the cut answers that request, then it is reaped. */
    tree = torn_proc_kill_tree(w.pid, kids, MAX_KIDS);
    while (torn_msg_recv(w.fd, &m, 0, NULL) == 1)
        take(c, &m);
    torn_ledger_cut(&c->ledger); /* an update it had in flight: outcome unknown */
    if (rc == 0)
        rc = torn_fs_status_get(ctx->fs, &st, err);
    if (rc) {
        torn_fs_ctlf(ctx->fs, reply, sizeof reply, NULL, "thaw");
        torn_child_wait(&w, ctx->timeout_ms, NULL, NULL);
        return rc;
    }
    if (c->check_live && !c->frozen) {
        snprintf(c->state, sizeof c->state, "live");
        rc = torn_power_check(ctx, c, "read after the I/O errors, before any crash", err);
        if (rc < 0) {
            torn_child_wait(&w, ctx->timeout_ms, NULL, NULL);
            return rc;
        }
        c->live_bad = rc;
    }
    c->ops = st.ops;
    c->pending_meta = st.pending_meta;
    c->dirty_pages = st.dirty_pages;
    c->lost_pages = st.lost_pages;
    c->faults = st.faults;
    /* A service that does the writes dies with the power too (it may be
     * blocked in the frozen request: killed now, reaped after the cut). */
    torn_step_kill_service(ctx, 1, NULL);
    torn_history_log_add(ctx->history, "fault", 0, "power-cut", KEY, NULL, 0);
    c->kept = c->keep && c->frozen;
    snprintf(cmd, sizeof cmd, "cut %s%s", c->cut ? c->cut : "", c->kept ? " keep" : "");
    rc = ctl(ctx, reply, sizeof reply, err, cmd);
    torn_child_wait(&w, ctx->timeout_ms, NULL, NULL);
    /* Nothing of the old boot may outlive the cut: an adapter still dying
     * holds its locks and shared mappings (SQLite's -shm), and the next
     * reader would trust them over the cut data. */
    rc2 = torn_proc_wait_gone(kids, tree, ctx->timeout_ms, rc ? NULL : err);
    if (rc || (rc = rc2) != 0)
        return rc;
    set_state(c, reply);
    rc = ctl(ctx, reply, sizeof reply, err, "rules-clear");
    return rc ? rc : torn_step_restart_service(ctx, err);   /* the machine boots again */
}

int torn_power_recut(struct torn_ctx *ctx, struct torn_power_cycle *c, struct torn_err *err)
{
    char reply[512], cmd[300];
    int rc;

    assert(c->kept);   /* only after a kept cut */
    /* The booted machine (a service, if any) goes down with the power
     * again, and is gone before the disk is put back. */
    if ((rc = torn_step_kill_service(ctx, 0, err)) != 0 ||
        (rc = ctl(ctx, reply, sizeof reply, err, "uncut")) != 0)
        return rc;
    c->kept = c->keep;
    torn_history_log_add(ctx->history, "fault", 0, "power-cut", KEY, NULL, 0);
    snprintf(cmd, sizeof cmd, "cut %s%s", c->cut ? c->cut : "", c->kept ? " keep" : "");
    if ((rc = ctl(ctx, reply, sizeof reply, err, cmd)) != 0) {
        c->kept = 0;
        return rc;
    }
    set_state(c, reply);
    return torn_step_restart_service(ctx, err);
}

/* ---- artifacts ---- */

static const char *copy_from, *copy_to;

static int copy_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char dst[PATH_MAX];
    const char *r = path + strlen(copy_from);
    (void)ftw;
    if (strstr(r, "/" TORN_FS_PRIVATE) == r)
        return 0;
    snprintf(dst, sizeof dst, "%s%s", copy_to, r);
    if (flag == FTW_D) {
        mkdir(dst, 0755);
    } else if (flag == FTW_F && S_ISREG(st->st_mode)) {
        char *buf = NULL;
        size_t len = 0;
        if (torn_read_file(path, &buf, &len, NULL) == 0) {
            FILE *f = fopen(dst, "we");
            if (f) {
                fwrite(buf, 1, len, f);
                fclose(f);
            }
        }
        free(buf);
    }
    return 0;
}

/* Copy the surviving files (the backing directory) into the run dir. */
static void save_artifact(struct torn_ctx *ctx, const struct torn_power_cycle *c)
{
    static int saved;
    char dir[PATH_MAX];
    const char *name = ctx->result->scenario ? ctx->result->scenario : "crash";

    if (saved >= MAX_ARTIFACTS)
        return;
    saved++;
    snprintf(dir, sizeof dir, "%s/artifacts", ctx->run_dir);
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s/artifacts/%s-%s-%s", ctx->run_dir, name,
             ctx->result->strategy ? ctx->result->strategy : "", c->state);
    for (char *p = dir + strlen(ctx->run_dir) + 11; *p; p++)
        if (*p == '/' || *p == ':')
            *p = '_';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return;
    copy_from = torn_fs_backing(ctx->fs);
    copy_to = dir;
    nftw(copy_from, copy_entry, 16, FTW_PHYS);
}

int torn_power_check(struct torn_ctx *ctx, const struct torn_power_cycle *c, const char *what,
                     struct torn_err *err)
{
    struct torn_target *t = ctx->target;
    /* A copy: each read after this cycle's writes is judged against what the
     * writer reported, not against an earlier read of the same cycle (the
     * read before the cut may see a write the cut then rightly loses). */
    struct torn_ledger l = c->ledger;
    struct torn_err rerr;
    cJSON *rec = NULL;
    char why[320], desc[160];
    const char *crit;
    int rc, bad = 1;
    double now = torn_ctx_elapsed(ctx);

    if ((rc = torn_target_open(ctx->target, err)) != 0)
        return rc;
    torn_err_clear(&rerr);
    rc = torn_step_read(ctx, t, KEY, &rec, &rerr);
    torn_target_close(t);
    if (rc) {
        const char *how;
        torn_step_read_failure(rc, &crit, &how);
        torn_result_violation(ctx->result, crit, KEY, now,
                              "%s at crash state %s: version %lld acknowledged, record %s: %s",
                              what, c->state, l.acked_version, how, rerr.msg);
    } else if (torn_record_intact(rec, why, sizeof why) &&
               torn_ledger_failed_definitely(&l, torn_record_int(rec, "seq", -1))) {
        torn_step_describe_record(rec, desc, sizeof desc);
        torn_result_violation(ctx->result, "definite-error-not-applied", KEY, now,
                              "%s at crash state %s: the store said update seq %lld "
                              "definitely failed, yet read back %s",
                              what, c->state, torn_record_int(rec, "seq", -1), desc);
    } else if (torn_ledger_judge(&l, rec, 0, &crit, why, sizeof why)) {
        torn_result_violation(ctx->result, crit, KEY, now, "%s at crash state %s: %s", what,
                              c->state, why);
    } else {
        bad = 0;
    }
    cJSON_Delete(rec);
    if (bad)
        save_artifact(ctx, c);
    return bad;
}

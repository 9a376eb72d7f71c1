/* torn: the exec target.  `--target exec:'COMMAND ARGS'` runs the user's
 * adapter (any language) and speaks newline-delimited JSON over its
 * stdin/stdout, one request and one reply per line (docs/exec-protocol.md):
 *
 *   -> {"id":1,"op":"update_fields","key":"job-1","patch":{...}}
 *   <- {"in_reply_to":1,"ok":true,"record":{...}}
 *   <- {"in_reply_to":1,"ok":false,"error":{"code":"io","definite":false,"text":"..."}}
 *
 * Each open() starts its own adapter (so forked workers each have one) in
 * a process group of its own, with PR_SET_PDEATHSIG: killing a worker kills
 * its adapter at once, and a keeper process that sees the worker die kills
 * the rest of the group; torn's own stop kills the group too.  So nothing
 * the adapter started outlives it.  The adapter's
 * stderr is torn's stderr.  Every write and every reply has a deadline
 * (cfg->timeout_ms; the answer to hello, which includes the interpreter's
 * start, TORN_EXEC_START_FACTOR times it).  A silent adapter (timeout), garbage on stdout, a wrong
 * reply id or a dead adapter ends that operation with an error that is
 * indefinite once the request was sent, and the adapter is restarted on the
 * next operation: never a hang, never a crash.  open() returns once the
 * adapter answered {"op":"hello"}; "files" (corrupt-read) and
 * "dual_write"/"dual_read" (dual-write) are probed once per run (exec_caps).
 *
 * Environment given to the adapter: TORN_DATA_DIR (a directory it owns,
 * under the run directory: on torn-fs when the run uses it), TORN_NS,
 * TORN_SEED.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/finding.h"
#include "core/invariant.h"
#include "core/layout.h"
#include "core/paths.h"
#include "proc/proc.h"
#include "core/target.h"
#include "core/util.h"

struct exec_target {
    char dir[PATH_MAX];        /* TORN_DATA_DIR */
    int has_files, has_dual;   /* what the adapter answered to the probes:
                                  0 not asked, 1 yes, -1 no (see exec_caps) */
    char why_files[160], why_dual[160];
    pid_t pid;                 /* running adapter (its process group), 0 none */
    pid_t keeper;              /* its keeper (see keeper_run), 0 none */
    int keeper_fd;             /* write end of the keeper's pipe, -1 none */
    int in, out;               /* its stdin (write) and stdout (read), -1 closed */
    long long next_id;
    char *buf;                 /* bytes read from stdout, not yet a whole line */
    size_t len, cap;
    long long log_off;         /* how far observe read the stderr log (runner's process) */
    unsigned long long n_reads; /* reads so far: read_also goes first on odd ones */
    struct torn_layout_memo layout_memo; /* strays reported (layout=1, runner's process) */
    cJSON *inv_doc;            /* the invariants file (param invariants), loaded by
                                  the first record judged, freed by close */
    struct torn_inv_state inv; /* what judging remembers in this process */
};

static const struct torn_strategy exec_strategies[] = {
    {"adapter", "the adapter's own behaviour (the strategy is the command line)"},
    {NULL, NULL},
};

static struct exec_target *X(struct torn_target *t)
{
    return t->priv;
}

/* A list of field names separated by single characters sep, none empty,
 * each of [A-Za-z0-9_] (read_also) or anything but sep (log_never). */
static int list_ok(const char *v, char sep, int names)
{
    if (!v || !*v || *v == sep || v[strlen(v) - 1] == sep)
        return 0;
    for (const char *c = v; *c; c++)
        if ((*c == sep && c[1] == sep) ||
            (names && *c != sep && !(*c == '_' || (*c >= '0' && *c <= '9') ||
                                     (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))))
            return 0;
    return 1;
}

/* Load param invariants' file: 0 and *doc_out (its "invariants" object
 * checked), or TORN_E_CONFIG naming the file and the field. */
static int load_invariants(const char *path, cJSON **doc_out, struct torn_err *err)
{
    char *text = NULL;
    size_t len = 0;
    *doc_out = NULL;
    int rc = torn_read_file(path, &text, &len, err);
    cJSON *doc = rc ? NULL : cJSON_ParseWithLength(text, len);
    free(text);
    if (rc) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        return torn_err_set(err, TORN_E_CONFIG, "exec parameter invariants=%s: %s", path, why);
    }
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(doc, "invariants");
    if (!iv)
        rc = torn_err_set(err, TORN_E_CONFIG,
                          "target spec %s: field invariants: missing (the file must be a JSON "
                          "object with \"invariants\")",
                          path);
    else
        rc = torn_invariants_parse(iv, path, err);
    if (rc)
        cJSON_Delete(doc);
    else
        *doc_out = doc;
    return rc;
}

static int exec_check(const struct torn_target_cfg *cfg, struct torn_err *err)
{
    long long v_layout;
    if (!cfg->location || !*cfg->location)
        return torn_err_set(err, TORN_E_CONFIG,
                            "target exec needs a command: --target exec:'python3 adapter.py ARGS'");
    for (size_t i = 0; i < cfg->n_params; i++) {
        const char *k = cfg->params[i].key, *v = cfg->params[i].value;
        if (strcmp(k, "log_never") == 0 && !list_ok(v, '|', 0))
            return torn_err_set(err, TORN_E_CONFIG,
                                "target %s: parameter log_never: fixed strings separated by |, "
                                "none empty (got '%s')",
                                cfg->display, v ? v : "");
        if (strcmp(k, "read_also") == 0 && !list_ok(v, ',', 1))
            return torn_err_set(err, TORN_E_CONFIG,
                                "target %s: parameter read_also: record field names separated "
                                "by commas (got '%s')",
                                cfg->display, v ? v : "");
        if (strcmp(k, "invariants") == 0) {
            cJSON *doc;
            int rc = load_invariants(v ? v : "", &doc, err);
            cJSON_Delete(doc);
            if (rc)
                return rc;
        } else if (strcmp(k, "log_never") != 0 && strcmp(k, "read_also") != 0 &&
                   strcmp(k, "layout") != 0) {
            return torn_err_set(err, TORN_E_CONFIG,
                                "target %s: unknown parameter '%s' (known: invariants, "
                                "log_never, layout, read_also)",
                                cfg->display, k);
        }
    }
    return torn_target_param_int(cfg, "layout", 0, 0, 1, &v_layout, err);
}

/* ---- log criteria: the adapter's stderr (param log_never) ---- */

#define EXEC_STDERR_LOG "exec-stderr.log"
#define EXEC_LOG_NEVER 32

/* With log_never, every instance's stderr is appended to this file in the
 * run directory (kept when anything failed) instead of torn's stderr. */
static void stderr_to_log(const struct torn_target *t)
{
    if (!torn_target_param(&t->cfg, "log_never") || !t->cfg.log_dir)
        return;
    char *path = torn_asprintf("%s/%s", t->cfg.log_dir, EXEC_STDERR_LOG);
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd >= 0 && dup2(fd, 2) < 0)
        _exit(127);
    free(path);
}

/* The adapters' stderr since the last scenario, each line with a
 * log_never string posted as log-forbidden. */
static void observe_log(struct torn_target *t)
{
    const char *list = torn_target_param(&t->cfg, "log_never");
    char buf[1024], *never[EXEC_LOG_NEVER], *save = NULL;
    size_t n = 0;
    if (!list || !t->cfg.log_dir)
        return;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *w = strtok_r(buf, "|", &save); w && n < EXEC_LOG_NEVER; w = strtok_r(NULL, "|", &save))
        never[n++] = w;
    char *path = torn_asprintf("%s/%s", t->cfg.log_dir, EXEC_STDERR_LOG);
    if (path)
        torn_log_scan(t->cfg.log_dir, path, &X(t)->log_off, (const char *const *)never, n, NULL,
                      NULL);
    free(path);
}

static int declared_files(struct torn_target *t, const char *id, struct torn_files *f,
                          const char **backups, const char **temps, cJSON **reply_out,
                          struct torn_err *err);
static int string_list(const cJSON *obj, const char *name, const char **out);
static void exec_close(struct torn_target *t);

#define MAX_FILES 16

/* With layout=1: the data directory holds only what the adapter declares
 * for a record (files.main, files.backups) and keeps (files.keep), the
 * name of the probe record standing for any; never a temp. */
static void observe_layout(struct torn_target *t)
{
    static const char probe_key[] = "torn-probe";
    const char *backups[MAX_FILES], *temps[MAX_FILES], *keep[MAX_FILES];
    const char *globs[2 * MAX_FILES + 1];
    char g[2 * MAX_FILES + 1][256];
    struct torn_files f;
    struct torn_err err;
    cJSON *reply = NULL;
    long long on = 0;
    size_t n = 0;
    torn_target_param_int(&t->cfg, "layout", 0, 0, 1, &on, NULL);
    if (!on || !t->cfg.log_dir)
        return;
    torn_err_clear(&err);
    int rc = declared_files(t, probe_key, &f, backups, temps, &reply, &err);
    int nk = rc == 0 ? string_list(cJSON_GetObjectItemCaseSensitive(reply, "files"), "keep", keep)
                     : 0;
    exec_close(t);   /* the probe's adapter */
    if (rc != 0 || nk < 0) {
        torn_finding_post(t->cfg.log_dir, "store-layout", NULL,
                          "layout=1 needs the adapter's files reply (main, backups, keep: "
                          "docs/exec-protocol.md#files); it answered: %.200s",
                          rc ? err.msg : "keep is not an array of at most 16 globs");
        cJSON_Delete(reply);
        return;
    }
    const char *names[2 * MAX_FILES + 1];
    names[n++] = f.main;
    for (size_t i = 0; i < f.n_backups; i++)
        names[n++] = f.backups[i];
    for (int i = 0; i < nk; i++)
        names[n++] = keep[i];
    for (size_t i = 0; i < n; i++) {   /* the probe key stands for any record */
        const char *at = strstr(names[i], probe_key);
        if (at)
            snprintf(g[i], sizeof g[i], "%.*s*%s", (int)(at - names[i]), names[i],
                     at + sizeof probe_key - 1);
        else
            snprintf(g[i], sizeof g[i], "%s", names[i]);
        globs[i] = g[i];
    }
    torn_layout_check(t->cfg.log_dir, X(t)->dir, globs, n, 300, &X(t)->layout_memo,
                      "the adapter's data directory", "files.main, files.backups, files.keep");
    cJSON_Delete(reply);
}

/* ops->observe: the adapters' stderr (log_never), the data directory
 * (layout), and the read_paths_compared metric (read_also) even at 0. */
static void exec_observe(struct torn_target *t)
{
    observe_log(t);
    observe_layout(t);
    if (torn_target_param(&t->cfg, "read_also"))
        torn_finding_count(t->cfg.log_dir, "read_paths_compared", 0);
}

static int exec_setup(struct torn_target *t, struct torn_err *err)
{
    struct exec_target *x = X(t);
    snprintf(x->dir, sizeof x->dir, "%s/%s", t->cfg.run_dir, t->cfg.ns);
    x->in = x->out = x->keeper_fd = -1;
    return torn_mkdirs(x->dir, 0755, err);
}

/* Wait up to timeout_ms for the adapter to end WITHOUT reaping it (its pid,
 * hence its process group id, stays reserved), kill what is left of its
 * group, then reap it.  0 with *status_out, or -1 if it is still running. */
static int adapter_reap(struct exec_target *x, int timeout_ms, int *status_out)
{
    uint64_t deadline = torn_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    siginfo_t si;

    for (;;) {
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)x->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
            break;
        if (torn_now_ns() >= deadline)
            return -1;
        torn_sleep_ns(1000000ull);
    }
    kill(-x->pid, SIGKILL); /* whatever it started: `sleep 3600 &` */
    if (torn_proc_wait(x->pid, 10000, status_out, NULL) != 0)
        return -1;
    x->pid = 0;
    return 0;
}

/* The keeper is no longer needed: the opener ends the group itself. */
static void keeper_stop(struct exec_target *x)
{
    if (x->keeper > 0)
        torn_proc_kill(x->keeper);
    if (x->keeper_fd >= 0)
        close(x->keeper_fd);
    x->keeper = 0;
    x->keeper_fd = -1;
}

/* Stop the adapter: close its stdin (and have the keeper close its copy),
 * give it 500 ms to exit, then SIGKILL its whole process group. */
static void adapter_stop(struct exec_target *x)
{
    int status;
    if (x->keeper_fd >= 0 && write(x->keeper_fd, "q", 1) != 1) {
        /* the keeper is gone: nothing holds the adapter's stdin but us */
    }
    if (x->in >= 0)
        close(x->in);
    if (x->out >= 0)
        close(x->out);
    x->in = x->out = -1;
    if (x->pid > 0 && adapter_reap(x, 500, &status) != 0) {
        kill(-x->pid, SIGKILL);
        if (adapter_reap(x, 10000, &status) != 0)
            torn_proc_untrack(x->pid);
    }
    x->pid = 0;
    keeper_stop(x);
    x->len = 0;
}

static void exec_close(struct torn_target *t)
{
    adapter_stop(X(t));
    free(X(t)->buf);
    X(t)->buf = NULL;
    X(t)->cap = 0;
    cJSON_Delete(X(t)->inv_doc);
    X(t)->inv_doc = NULL;
}

/* The adapter: stdin/stdout are its pipes, nothing else of torn's is open,
 * it leads a process group of its own and dies with the process that
 * started it (PR_SET_PDEATHSIG), exactly as a crash would kill it. */
static void adapter_exec(struct torn_target *t, int in, int out)
{
    char *cmd = torn_asprintf("exec %s", t->cfg.location);
    char seed[32];

    setpgid(0, 0);
    stderr_to_log(t);
    in = fcntl(in, F_DUPFD, 3); /* either may be 0 or 1 when torn's were closed */
    out = fcntl(out, F_DUPFD, 3);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
        _exit(127);
    close_range(3, ~0u, 0);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->cfg.seed);
    setenv("TORN_DATA_DIR", X(t)->dir, 1);
    setenv("TORN_NS", t->cfg.ns, 1);
    setenv("TORN_SEED", seed, 1);
    execl("/bin/sh", "sh", "-c", cmd ? cmd : t->cfg.location, (char *)NULL);
    fprintf(stderr, "torn: exec target: cannot run /bin/sh: %s\n", strerror(errno));
    _exit(127);
}

/* The keeper: holds the read end of a pipe only the opener writes to.  When
 * the opener dies (SIGKILLed by a scenario, or torn killed) the read sees
 * EOF and the keeper SIGKILLs the adapter's whole group, so nothing the
 * adapter started outlives it.  It also holds copies of the opener's ends of
 * the adapter's stdin and stdout, so an opener killed in the middle of a
 * request (a 256 KiB crash-midwrite patch is written in pieces) or of a
 * reply never shows the adapter a cut line and EOF, or EPIPE: the group is
 * dead before those copies close, as in a crash (the adapter's own
 * PR_SET_PDEATHSIG comes only after the dying opener's files are closed).
 * On a normal stop the opener writes one byte (the keeper closes the
 * copies: the adapter sees EOF and may exit cleanly), then kills the group
 * itself and then the keeper. */
static void keeper_run(int rfd, int adapter_in, int adapter_out, pid_t group)
{
    char c;
    ssize_t n;

    prctl(PR_SET_PDEATHSIG, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    rfd = fcntl(rfd, F_DUPFD, 10);
    adapter_in = fcntl(adapter_in, F_DUPFD, 10);
    adapter_out = fcntl(adapter_out, F_DUPFD, 10);
    if (rfd < 0 || adapter_in < 0 || adapter_out < 0 || dup2(rfd, 0) < 0 ||
        dup2(adapter_in, 3) < 0 || dup2(adapter_out, 4) < 0)
        _exit(1);
    close_range(5, ~0u, 0);
    while ((n = read(0, &c, 1)) == 1 || (n < 0 && errno == EINTR))
        if (n == 1)
            close_range(3, 4, 0); /* a normal stop: the adapter may see EOF now */
    kill(-group, SIGKILL);
    _exit(0);
}

static int start_keeper(struct exec_target *x, struct torn_err *err)
{
    int k[2];
    pid_t pid;

    if (pipe2(k, O_CLOEXEC) < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "pipe");
    pid = fork();
    if (pid == 0) {
        torn_proc_child_init();
        keeper_run(k[0], x->in, x->out, x->pid);
    }
    close(k[0]);
    if (pid < 0) {
        close(k[1]);
        return torn_err_sys(err, TORN_E_ENV, errno, "fork");
    }
    x->keeper = pid;
    x->keeper_fd = k[1]; /* its closing (our death) is the signal; one byte: a normal stop */
    return TORN_OK;
}

static int adapter_start(struct torn_target *t, struct torn_err *err)
{
    struct exec_target *x = X(t);
    int to[2], from[2], rc;
    pid_t pid;

    if (pipe2(to, O_CLOEXEC) < 0)
        return torn_err_sys(err, TORN_E_ENV, errno, "pipe");
    if (pipe2(from, O_CLOEXEC) < 0) {
        int e = errno;
        close(to[0]);
        close(to[1]);
        return torn_err_sys(err, TORN_E_ENV, e, "pipe");
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        return torn_err_sys(err, TORN_E_ENV, e, "fork");
    }
    if (pid == 0) {
        torn_proc_child_init(); /* dies with the worker that opened it */
        adapter_exec(t, to[0], from[1]);
    }
    setpgid(pid, pid); /* as the adapter does: the group exists before any kill */
    close(to[0]);
    close(from[1]);
    torn_proc_track(pid);
    x->pid = pid;
    x->in = to[1];
    x->out = from[0];
    fcntl(x->in, F_SETFL, O_NONBLOCK);
    x->len = 0;
    if ((rc = start_keeper(x, err)) != 0)
        adapter_stop(x);
    return rc;
}

static int call(struct torn_target *t, cJSON *req, cJSON **reply_out, struct torn_err *err);

/* hello's deadline, in operation timeouts: its answer comes only once the
 * adapter's interpreter is up, which under load takes far longer than any
 * store operation (Python: over 5 s at load average 31 with a busy loop on
 * each core, where its operations took 0.1-0.4 s). */
#define TORN_EXEC_START_FACTOR 2

/* Start the adapter and wait for its answer to {"op":"hello"} (any answer,
 * an "unsupported" error included): open() returns once the adapter is
 * ready, so a scenario's fault delays count from there, not from an
 * interpreter still starting (50-1000 ms for Python under load). */
static int exec_open(struct torn_target *t, struct torn_err *err)
{
    struct exec_target *x = X(t);
    cJSON *req = cJSON_CreateObject(), *reply = NULL;
    int rc;

    x->pid = x->keeper = 0; /* a forked copy owns no adapter of its parent's */
    x->in = x->out = x->keeper_fd = -1;
    x->buf = NULL;
    x->len = x->cap = 0;
    if (!req || !cJSON_AddStringToObject(req, "op", "hello")) {
        cJSON_Delete(req);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    if ((rc = adapter_start(t, err)) != 0) {
        cJSON_Delete(req);
        return rc;
    }
    rc = call(t, req, &reply, err);
    cJSON_Delete(reply);
    if (rc == TORN_E_UNSUPPORTED || rc == TORN_E_REMOTE || rc == TORN_E_NOTFOUND ||
        rc == TORN_E_CORRUPT)
        rc = TORN_OK; /* it answered (ok: false): ready */
    if (rc)
        exec_close(t);
    return rc;
}

/* Why the adapter is gone, for messages. */
static void adapter_gone(struct exec_target *x, char *why, size_t len)
{
    int status;
    if (x->pid > 0 && adapter_reap(x, 200, &status) == 0) {
        torn_proc_describe(status, why, len);
    } else {
        snprintf(why, len, "closed its stdout");
    }
}

/* Write the whole line before the deadline.  Returns 0, or an error code
 * with *sent_any saying whether any byte reached the adapter. */
static int send_line(struct exec_target *x, const char *line, size_t len, uint64_t deadline,
                     int *sent_any, struct torn_err *err)
{
    size_t off = 0;
    *sent_any = 0;
    while (off < len) {
        ssize_t w = write(x->in, line + off, len - off);
        if (w > 0) {
            off += (size_t)w;
            *sent_any = 1;
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = x->in, .events = POLLOUT};
            uint64_t now = torn_now_ns();
            if (now >= deadline)
                return torn_err_set(err, TORN_E_TIMEOUT,
                                    "exec adapter does not read its stdin (timeout)");
            poll(&p, 1, (int)((deadline - now) / 1000000ULL) + 1);
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        {
            char why[64];
            adapter_gone(x, why, sizeof why);
            return torn_err_set(err, *sent_any ? TORN_E_CRASHED : TORN_E_CONNECT,
                                "exec adapter %s before reading the request", why);
        }
    }
    return TORN_OK;
}

/* Read one line (malloc'd, no newline) before the deadline; what names
 * the pending request and its time limit for the timeout message. */
static int recv_line(struct exec_target *x, uint64_t deadline, const char *what,
                     char **line_out, struct torn_err *err)
{
    *line_out = NULL;
    for (;;) {
        char *nl = x->len ? memchr(x->buf, '\n', x->len) : NULL;
        struct pollfd p = {.fd = x->out, .events = POLLIN};
        uint64_t now;
        ssize_t r;

        if (nl) {
            size_t n = (size_t)(nl - x->buf);
            *line_out = strndup(x->buf, n);
            memmove(x->buf, nl + 1, x->len - n - 1);
            x->len -= n + 1;
            return *line_out ? TORN_OK : torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
        if (x->len + 4096 > x->cap) {
            size_t cap = x->cap ? x->cap * 2 : 65536;
            char *b;
            if (cap > (64u << 20))
                return torn_err_set(err, TORN_E_PROTOCOL,
                                    "exec adapter wrote a line longer than 64 MiB");
            b = realloc(x->buf, cap);
            if (!b)
                return torn_err_set(err, TORN_E_NOMEM, "out of memory");
            x->buf = b;
            x->cap = cap;
        }
        now = torn_now_ns();
        if (now >= deadline)
            return torn_err_set(err, TORN_E_TIMEOUT, "exec adapter did not reply to %s", what);
        if (poll(&p, 1, (int)((deadline - now) / 1000000ULL) + 1) <= 0)
            continue;
        r = read(x->out, x->buf + x->len, x->cap - x->len);
        if (r > 0) {
            x->len += (size_t)r;
        } else if (r == 0 || errno != EINTR) {
            char why[64];
            adapter_gone(x, why, sizeof why);
            return torn_err_set(err, TORN_E_CRASHED, "exec adapter %s without replying", why);
        }
    }
}

/* Map an adapter error object to a torn code; definite: false -> indefinite. */
static int adapter_error(const cJSON *e, struct torn_err *err)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(e, "definite");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(e, "text");
    const char *c = cJSON_IsString(code) ? code->valuestring : "error";
    int rc = strcmp(c, "not_found") == 0     ? TORN_E_NOTFOUND
             : strcmp(c, "corrupt") == 0     ? TORN_E_CORRUPT
             : strcmp(c, "unsupported") == 0 ? TORN_E_UNSUPPORTED
             : strcmp(c, "timeout") == 0     ? TORN_E_TIMEOUT
                                             : TORN_E_REMOTE;
    torn_err_set(err, rc, "adapter: %s: %.200s", c,
                 cJSON_IsString(text) ? text->valuestring : "(no text)");
    if (err)
        err->indefinite = cJSON_IsBool(def) ? cJSON_IsFalse(def) : rc == TORN_E_TIMEOUT;
    return rc;
}

/* Check a reply line for request id.  1 = a stale reply to an earlier,
 * abandoned request (skip it), 0 = ours (*reply_out set), < 0 error. */
static int parse_reply(const char *line, long long id, cJSON **reply_out, struct torn_err *err)
{
    cJSON *r = cJSON_Parse(line);
    const cJSON *irt, *ok;

    *reply_out = NULL;
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "exec adapter wrote a non-JSON line: '%.80s' (its stdout carries "
                            "replies only: log to stderr)",
                            line);
    }
    irt = cJSON_GetObjectItemCaseSensitive(r, "in_reply_to");
    ok = cJSON_GetObjectItemCaseSensitive(r, "ok");
    /* The range check keeps the casts below defined (found by fuzzing). */
    if (!cJSON_IsNumber(irt) || !cJSON_IsBool(ok) ||
        !(irt->valuedouble > -9.2e18 && irt->valuedouble < 9.2e18)) {
        cJSON_Delete(r);
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "exec adapter reply lacks in_reply_to (number) or ok (bool): '%.80s'",
                            line);
    }
    long long got = (long long)irt->valuedouble;   /* before r (and irt) is freed */
    if (got < id) {
        cJSON_Delete(r);
        return 1;
    }
    if (got != id) {
        cJSON_Delete(r);   /* a use-after-free of irt here was found by fuzzing */
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "exec adapter replied to request %lld while request %lld is pending",
                            got, id);
    }
    *reply_out = r;
    return 0;
}

/* Send req (consumed), wait for its reply.  0 with *reply_out (ok:true),
 * or an error; the adapter is stopped after any protocol failure. */
static int call(struct torn_target *t, cJSON *req, cJSON **reply_out, struct torn_err *err)
{
    struct exec_target *x = X(t);
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "op"));
    int timeout_ms = (t->cfg.timeout_ms > 0 ? t->cfg.timeout_ms : 5000) *
                     (op && strcmp(op, "hello") == 0 ? TORN_EXEC_START_FACTOR : 1);
    uint64_t deadline = torn_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
    long long id = ++x->next_id;
    char *text, *line = NULL, what[96];
    cJSON *reply = NULL;
    int rc, sent = 0;

    *reply_out = NULL;
    if (x->pid == 0 && (rc = adapter_start(t, err)) != 0) {
        cJSON_Delete(req);
        return rc;
    }
    cJSON_AddNumberToObject(req, "id", (double)id);
    snprintf(what, sizeof what, "request %lld (%.40s) within %d ms", id, op ? op : "?",
             timeout_ms);
    text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    {
        size_t n = strlen(text);
        char *l = realloc(text, n + 2);
        if (!l) {
            free(text);
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        }
        text = l;
        text[n] = '\n';
        text[n + 1] = 0;
        rc = send_line(x, text, n + 1, deadline, &sent, err);
    }
    free(text);
    while (rc == 0) {
        rc = recv_line(x, deadline, what, &line, err);
        if (rc == 0) {
            rc = parse_reply(line, id, &reply, err);
            free(line);
            if (rc == 1) {
                rc = 0;
                continue;
            }
            break;
        }
    }
    if (rc) {
        adapter_stop(x);   /* a desynchronised stream is never trusted again */
        if (err && rc != TORN_E_CONNECT)
            err->indefinite = 1;   /* the request was (maybe) read: may have happened */
        return rc;
    }
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
        rc = adapter_error(cJSON_GetObjectItemCaseSensitive(reply, "error"), err);
        cJSON_Delete(reply);
        return rc;
    }
    *reply_out = reply;
    return TORN_OK;
}

/* With param invariants: judge rec, the record a reply to op carried. */
static void judge_record(struct torn_target *t, const char *op, const cJSON *rec)
{
    struct exec_target *x = X(t);
    const char *path = torn_target_param(&t->cfg, "invariants");
    if (!path || (!x->inv_doc && load_invariants(path, &x->inv_doc, NULL) != 0))
        return;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
    struct torn_expect_ctx ctx = {cJSON_IsString(id) ? id->valuestring : NULL, -1};
    char what[80];
    snprintf(what, sizeof what, "the adapter's %s", op);
    torn_invariants_judge(cJSON_GetObjectItemCaseSensitive(x->inv_doc, "invariants"), &x->inv,
                          t->cfg.log_dir, rec, &ctx, what);
}

/* The reply's record, detached for the caller; TORN_E_PROTOCOL if absent. */
static int take_record(cJSON *reply, cJSON **record_out, struct torn_err *err)
{
    cJSON *rec = cJSON_DetachItemFromObjectCaseSensitive(reply, "record");
    cJSON_Delete(reply);
    if (!cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        if (err) {
            torn_err_set(err, TORN_E_PROTOCOL, "exec adapter reply has no \"record\" object");
            err->indefinite = 1;
        }
        return TORN_E_PROTOCOL;
    }
    if (record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
    return TORN_OK;
}

static cJSON *request(const char *op, const char *key)
{
    cJSON *r = cJSON_CreateObject();
    if (r) {
        cJSON_AddStringToObject(r, "op", op);
        cJSON_AddStringToObject(r, "key", key);
    }
    return r;
}

static int simple_op(struct torn_target *t, cJSON *req, cJSON **record_out, int *won_out,
                     struct torn_err *err)
{
    cJSON *reply = NULL;
    int rc;
    if (record_out)
        *record_out = NULL;
    if (won_out)
        *won_out = 0;
    if (!req)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    const cJSON *opj = cJSON_GetObjectItemCaseSensitive(req, "op");
    char op[32];
    snprintf(op, sizeof op, "%s", cJSON_IsString(opj) ? opj->valuestring : "?");
    if ((rc = call(t, req, &reply, err)) != 0)
        return rc;
    if (won_out) {
        const cJSON *won = cJSON_GetObjectItemCaseSensitive(reply, "won");
        if (!cJSON_IsBool(won)) {
            cJSON_Delete(reply);
            torn_err_set(err, TORN_E_PROTOCOL, "exec adapter reply lacks \"won\" (bool)");
            if (err)
                err->indefinite = 1;
            return TORN_E_PROTOCOL;
        }
        *won_out = cJSON_IsTrue(won);
        if (!*won_out && !cJSON_GetObjectItemCaseSensitive(reply, "record")) {
            cJSON_Delete(reply);
            return TORN_OK;
        }
    }
    cJSON *rec = NULL;
    if ((rc = take_record(reply, &rec, err)) == 0 && strcmp(op, "read_also") != 0)
        judge_record(t, op, rec);
    if (record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

static int exec_reset(struct torn_target *t, const char *id, const cJSON *initial,
                      cJSON **record_out, struct torn_err *err)
{
    cJSON *req = request("reset", id);
    if (req && initial)
        cJSON_AddItemToObject(req, "initial", cJSON_Duplicate(initial, 1));
    return simple_op(t, req, record_out, NULL, err);
}

static int exec_update(struct torn_target *t, const char *id, const cJSON *patch,
                       cJSON **record_out, struct torn_err *err)
{
    cJSON *req = request("update_fields", id);
    if (req)
        cJSON_AddItemToObject(req, "patch", cJSON_Duplicate(patch, 1));
    return simple_op(t, req, record_out, NULL, err);
}

/* ---- two read paths (param read_also, core/paths.h) ---- */

/* The adapter's read_also of id: 1 and *also_out, 0 not found, -1 no
 * usable answer (an error is evidence of nothing). */
static int read_second(struct torn_target *t, const char *id, cJSON **also_out)
{
    struct torn_err err;
    torn_err_clear(&err);
    *also_out = NULL;
    int rc = simple_op(t, request("read_also", id), also_out, NULL, &err);
    return rc == 0 ? 1 : rc == TORN_E_NOTFOUND ? 0 : -1;
}

/* {"/f": "/f"...} for the fields of read_also, "version" always among them
 * (it orders the two reads). */
static cJSON *agree_of(const char *fields)
{
    char buf[512], ptr[80], *save = NULL;
    cJSON *agree = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "%s", fields);
    for (char *w = strtok_r(buf, ",", &save); agree && w; w = strtok_r(NULL, ",", &save)) {
        snprintf(ptr, sizeof ptr, "/%.60s", w);
        if (!cJSON_GetObjectItemCaseSensitive(agree, ptr))
            cJSON_AddStringToObject(agree, ptr, ptr);
    }
    if (agree && !cJSON_GetObjectItemCaseSensitive(agree, "/version"))
        cJSON_AddStringToObject(agree, "/version", "/version");
    return agree;
}

static int exec_read(struct torn_target *t, const char *id, cJSON **record_out,
                     struct torn_err *err)
{
    const char *fields = torn_target_param(&t->cfg, "read_also");
    cJSON *rec = NULL, *also = NULL;
    int first = fields && (X(t)->n_reads++ & 1), found = -1;
    if (first)   /* alternately before and after: a path updated early or late */
        found = read_second(t, id, &also);
    int rc = simple_op(t, request("read", id), &rec, NULL, err);
    if (rc == 0 && fields && !first)
        found = read_second(t, id, &also);
    if (rc == 0 && found >= 0) {
        cJSON *agree = agree_of(fields);
        if (agree)
            torn_paths_judge(t->cfg.log_dir, agree, "/version", id, rec, also, first,
                             "the adapter's read_also");
        cJSON_Delete(agree);
    }
    cJSON_Delete(also);
    if (record_out)
        *record_out = rec;
    else
        cJSON_Delete(rec);
    return rc;
}

static int exec_cas(struct torn_target *t, const char *id, const cJSON *patch,
                    long long expected, int *won_out, cJSON **record_out, struct torn_err *err)
{
    cJSON *req = request("update_if_version", id);
    if (req) {
        cJSON_AddItemToObject(req, "patch", cJSON_Duplicate(patch, 1));
        cJSON_AddNumberToObject(req, "expected_version", (double)expected);
    }
    return simple_op(t, req, record_out, won_out, err);
}

static int exec_transition(struct torn_target *t, const char *id, const char *const *from,
                           size_t n_from, const char *to, int *won_out, cJSON **record_out,
                           struct torn_err *err)
{
    cJSON *req = request("transition", id), *arr;
    if (req) {
        arr = cJSON_AddArrayToObject(req, "from");
        for (size_t i = 0; arr && i < n_from; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(from[i]));
        cJSON_AddStringToObject(req, "to", to);
    }
    return simple_op(t, req, record_out, won_out, err);
}

/* ---- corrupt-read: the adapter declares its files ---- */

/* Up to MAX_FILES strings of array item name of obj into out; -1 if the
 * item is there but not an array of strings. */
static int string_list(const cJSON *obj, const char *name, const char **out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *e;
    int n = 0;

    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > MAX_FILES)
        return -1;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e))
            return -1;
        out[n++] = e->valuestring;
    }
    return n;
}

/* Ask the adapter where record id lives: *reply_out holds the strings f
 * points into (caller frees it). */
static int declared_files(struct torn_target *t, const char *id, struct torn_files *f,
                          const char **backups, const char **temps, cJSON **reply_out,
                          struct torn_err *err)
{
    const cJSON *files, *main_p;
    int rc, nb, nt;

    *reply_out = NULL;
    if ((rc = call(t, request("files", id), reply_out, err)) != 0)
        return rc;
    files = cJSON_GetObjectItemCaseSensitive(*reply_out, "files");
    main_p = cJSON_GetObjectItemCaseSensitive(files, "main");
    nb = string_list(files, "backups", backups);
    nt = string_list(files, "temps", temps);
    if (!cJSON_IsString(main_p) || nb < 0 || nt < 0) {
        cJSON_Delete(*reply_out);
        *reply_out = NULL;
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "exec adapter's files reply needs \"files\": {\"main\": PATH, "
                            "\"backups\": [PATH...], \"temps\": [GLOB...]} (at most %d each)",
                            MAX_FILES);
    }
    *f = (struct torn_files){main_p->valuestring, backups, (size_t)nb, temps, (size_t)nt};
    return TORN_OK;
}

static int exec_corrupt(struct torn_target *t, const char *id, enum torn_corruption how,
                        struct torn_err *err)
{
    const char *backups[MAX_FILES], *temps[MAX_FILES];
    struct torn_files f;
    cJSON *reply;
    int rc = declared_files(t, id, &f, backups, temps, &reply, err);

    if (rc == 0)
        rc = torn_corrupt_files(X(t)->dir, &f, how, t->cfg.seed, err);
    cJSON_Delete(reply);
    return rc;
}

/* ---- dual-write (seed 003) ---- */

static int exec_dual_write(struct torn_target *t, const char *group, const char *member,
                           long long amount, struct torn_err *err)
{
    cJSON *req = cJSON_CreateObject(), *reply = NULL;
    int rc;

    if (!req || !cJSON_AddStringToObject(req, "op", "dual_write") ||
        !cJSON_AddStringToObject(req, "group", group) ||
        !cJSON_AddStringToObject(req, "member", member) ||
        !cJSON_AddNumberToObject(req, "amount", (double)amount)) {
        cJSON_Delete(req);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    rc = call(t, req, &reply, err);
    cJSON_Delete(reply);
    return rc;
}

static int exec_dual_read(struct torn_target *t, const char *group, cJSON **state_out,
                          struct torn_err *err)
{
    cJSON *req = cJSON_CreateObject(), *reply = NULL, *st;
    int rc;

    *state_out = NULL;
    if (!req || !cJSON_AddStringToObject(req, "op", "dual_read") ||
        !cJSON_AddStringToObject(req, "group", group)) {
        cJSON_Delete(req);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    if ((rc = call(t, req, &reply, err)) != 0)
        return rc;
    st = cJSON_DetachItemFromObjectCaseSensitive(reply, "state");
    cJSON_Delete(reply);
    if (!cJSON_IsObject(st) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(st, "a")) ||
        !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(st, "b")) ||
        !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(st, "count")) ||
        !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(st, "total"))) {
        cJSON_Delete(st);
        return torn_err_set(err, TORN_E_PROTOCOL,
                            "exec adapter's dual_read reply needs \"state\": {\"a\": {MEMBER: "
                            "AMOUNT...}, \"b\": {...}, \"count\": N, \"total\": N}");
    }
    *state_out = st;
    return TORN_OK;
}

/* ---- what this adapter can do ---- */

/* Ask once (probe): 1 when the adapter answers op ok, else -1 with why. */
static int probe(struct torn_target *t, cJSON *req, const char *lack, char *why, size_t len)
{
    struct torn_err err;
    cJSON *reply = NULL;
    int rc;

    torn_err_clear(&err);
    rc = req ? call(t, req, &reply, &err) : TORN_E_NOMEM;
    cJSON_Delete(reply);
    if (rc == 0)
        return 1;
    snprintf(why, len, "%s (its answer: %.80s)", lack, err.msg);
    return -1;
}

/* corrupt-read needs the adapter to declare its files, dual-write its dual
 * ops: each asked once per run, after setup, in the runner's process, with a
 * record and a group that do not exist.  TORN_CAP_FS_DATA always holds (the
 * runner asks for it alone before setup: nothing is started then). */
static unsigned exec_caps(struct torn_target *t, unsigned wanted, char *why, size_t why_len)
{
    struct exec_target *x = X(t);
    unsigned have = wanted;
    int asked = 0;

    if ((wanted & TORN_CAP_CORRUPT) && !x->has_files && ++asked)
        x->has_files = probe(t, request("files", "torn-probe"),
                             "the adapter declares no data files (see "
                             "docs/exec-protocol.md#files)",
                             x->why_files, sizeof x->why_files);
    if ((wanted & TORN_CAP_DUAL) && !x->has_dual && ++asked) {
        cJSON *req = cJSON_CreateObject();
        if (req && cJSON_AddStringToObject(req, "op", "dual_read"))
            cJSON_AddStringToObject(req, "group", "torn-probe");
        x->has_dual = probe(t, req,
                            "the adapter does not implement dual_write/dual_read (see "
                            "docs/exec-protocol.md#dual-write)",
                            x->why_dual, sizeof x->why_dual);
    }
    if (asked)
        exec_close(t); /* the probes' adapter (call() started it) */
    if ((wanted & TORN_CAP_CORRUPT) && x->has_files < 0) {
        have &= ~TORN_CAP_CORRUPT;
        snprintf(why, why_len, "%s", x->why_files);
    }
    if ((wanted & TORN_CAP_DUAL) && x->has_dual < 0) {
        have &= ~TORN_CAP_DUAL;
        snprintf(why, why_len, "%s", x->why_dual);
    }
    return have;
}

const struct torn_target_ops torn_target_exec = {
    .version = TORN_TARGET_OPS_V1,
    .name = "exec",
    .summary = "your own store in any language: an adapter speaking JSON lines (docs/exec-protocol.md)",
    .strategies = exec_strategies,
    .size = sizeof(struct exec_target),
    .check = exec_check,
    .setup = exec_setup,
    .open = exec_open,
    .close = exec_close,
    .reset = exec_reset,
    .update = exec_update,
    .read = exec_read,
    .update_if_version = exec_cas,
    .transition = exec_transition,
    .corrupt = exec_corrupt,
    .dual_write = exec_dual_write,
    .dual_read = exec_dual_read,
    .extra_caps = TORN_CAP_FS_DATA,
    .caps = exec_caps,
    .observe = exec_observe,
};

/* ---- fuzzing entry point (fuzz/exec_reply.c) ---- */

/* One reply line from the adapter for request id, through the same checks
 * as call(): 0 and *reply_out (ok:true; caller frees), 1 for a stale reply,
 * or the error the line maps to (TORN_E_PROTOCOL, or the adapter's code). */
int exec_reply_parse(const char *line, long long id, cJSON **reply_out, struct torn_err *err);
int exec_reply_parse(const char *line, long long id, cJSON **reply_out, struct torn_err *err)
{
    cJSON *reply = NULL;
    int rc = parse_reply(line, id, &reply, err);

    *reply_out = NULL;
    if (rc != 0)
        return rc;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
        rc = adapter_error(cJSON_GetObjectItemCaseSensitive(reply, "error"), err);
        cJSON_Delete(reply);
        return rc;
    }
    *reply_out = reply;
    return TORN_OK;
}

/* torn: the checker registry, check results, and `torn check`. */
#include "checker.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/history.h"
#include "history_read.h"
#include "core/parse.h"
#include "core/result.h"
#include "core/scenario.h"
#include "core/util.h"

extern const struct torn_checker_ops torn_checker_register;
extern const struct torn_checker_ops torn_checker_cas_register;
extern const struct torn_checker_ops torn_checker_kv;
extern const struct torn_checker_ops torn_checker_version;
extern const struct torn_checker_ops torn_checker_events;
extern const struct torn_checker_ops torn_checker_transitions;

static const struct torn_checker_ops *const checkers[] = {
    &torn_checker_register,
    &torn_checker_cas_register,
    &torn_checker_kv,
    &torn_checker_version,
    &torn_checker_events,
    &torn_checker_transitions,
};

#define N_CHECKERS (sizeof checkers / sizeof checkers[0])

const struct torn_checker_ops *const *torn_checkers(size_t *n_out)
{
    *n_out = N_CHECKERS;
    return checkers;
}

const struct torn_checker_ops *torn_checker_find(const char *name)
{
    for (size_t i = 0; i < N_CHECKERS; i++)
        if (strcmp(checkers[i]->name, name) == 0)
            return checkers[i];
    return NULL;
}

/* ---- results ---- */

void torn_check_result_init(struct torn_check_result *res)
{
    memset(res, 0, sizeof *res);
    res->verdict = TORN_CHECK_VALID;
}

void torn_check_result_free(struct torn_check_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_violations; i++) {
        struct torn_check_violation *v = &res->violations[i];
        free(v->criterion);
        free(v->key);
        free(v->message);
        free(v->ops);
        free(v->events);
    }
    free(res->violations);
    free(res->unknown_reason);
    free(res->partial);
    memset(res, 0, sizeof *res);
}

static size_t *copy_idx(const size_t *a, size_t n)
{
    size_t *c = malloc((n ? n : 1) * sizeof *c);

    if (c && n)
        memcpy(c, a, n * sizeof *c);
    return c;
}

int torn_check_violation(struct torn_check_result *res, const char *criterion, const char *key,
                         const size_t *ops, size_t n_ops, const size_t *events, size_t n_events,
                         const char *fmt, ...)
{
    struct torn_check_violation *v;
    va_list ap;
    char msg[1024];

    res->verdict = TORN_CHECK_INVALID;
    res->n_violations_total++;
    if (res->n_violations >= TORN_CHECK_MAX_KEPT)
        return TORN_OK;
    v = realloc(res->violations, (res->n_violations + 1) * sizeof *v);
    if (!v)
        return TORN_E_NOMEM;
    res->violations = v;
    v = &v[res->n_violations];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memset(v, 0, sizeof *v);
    v->criterion = torn_strdup(criterion);
    v->key = torn_text_safe(key);      /* keys and messages quote the history: */
    v->message = torn_text_safe(msg);  /* neutralised (util.h) */
    v->ops = copy_idx(ops, n_ops);
    v->n_ops = n_ops;
    v->events = copy_idx(events, n_events);
    v->n_events = n_events;
    if (!v->criterion || !v->message || (key && !v->key) || !v->ops || !v->events) {
        free(v->criterion);
        free(v->key);
        free(v->message);
        free(v->ops);
        free(v->events);
        return TORN_E_NOMEM;
    }
    res->n_violations++;
    return TORN_OK;
}

/* ---- describing operations ---- */

static uint64_t hist_t0(const struct torn_hist *h)
{
    uint64_t t0 = UINT64_MAX;

    if (h->n_ops)
        t0 = h->ops[0].t_invoke;
    if (h->n_events && h->events[0].t < t0)
        t0 = h->events[0].t;
    return t0 == UINT64_MAX ? 0 : t0;
}

static void value_text(const cJSON *v, char *buf, size_t len)
{
    char *s;

    if (!v) {
        snprintf(buf, len, "-");
        return;
    }
    s = cJSON_PrintUnformatted(v);
    if (!s) {
        snprintf(buf, len, "?");
        return;
    }
    if (strlen(s) >= len && len > 4)
        snprintf(buf, len, "%.*s...", (int)(len - 4), s);
    else
        snprintf(buf, len, "%s", s);
    free(s);
}

static void time_text(const struct torn_hist *h, uint64_t t, char *buf, size_t len)
{
    if (t == TORN_HIST_NEVER)
        snprintf(buf, len, "never");
    else if (h->clockless)
        snprintf(buf, len, "#%llu", (unsigned long long)t);
    else
        snprintf(buf, len, "%.3f ms", (double)(t - hist_t0(h)) / 1e6);
}

void torn_check_describe_op(const struct torn_hist *h, size_t i, char *buf, size_t len)
{
    const struct torn_hop *op = &h->ops[i];
    char in[96], out[96], t1[32], t2[32];

    value_text(op->input, in, sizeof in);
    value_text(op->output, out, sizeof out);
    time_text(h, op->t_invoke, t1, sizeof t1);
    time_text(h, op->t_complete, t2, sizeof t2);
    snprintf(buf, len, "p%-3lld %-8s %s%s%s %s -> %-4s %s  [%s .. %s]  (line %zu%s%.0zu)",
             op->process, op->f, op->key ? "key=" : "", op->key ? op->key : "",
             op->key ? " " : "", in, torn_hist_outcome_name(op->outcome),
             op->output ? out : "", t1, t2, op->line_invoke, op->line_complete ? "," : "",
             op->line_complete);
}

static void describe_event(const struct torn_hist *h, size_t i, char *buf, size_t len)
{
    const struct torn_hevent *e = &h->events[i];
    char v[96], t[32];

    value_text(e->value, v, sizeof v);
    time_text(h, e->t, t, sizeof t);
    snprintf(buf, len, "%-6s %s %s%s %s  [%s]  (line %zu)", e->notify ? "notify" : "FAULT",
             e->f ? e->f : "", e->key ? "key=" : "", e->key ? e->key : "", e->value ? v : "", t,
             e->line);
}

static const char *verdict_word(enum torn_check_verdict v)
{
    switch (v) {
    case TORN_CHECK_VALID:
        return "valid";
    case TORN_CHECK_INVALID:
        return "INVALID";
    case TORN_CHECK_UNKNOWN:
        return "unknown";
    }
    return "?";
}

/* Ops and events of a violation merged in time order, one line each. */
/* An operation or event line: keys and names come from the history file. */
static void safe_line(FILE *f, const char *line)
{
    fputs("    ", f);
    torn_fput_safe(f, line);
    fputc('\n', f);
}

static void print_counterexample(FILE *f, const struct torn_hist *h,
                                 const struct torn_check_violation *v, size_t max_lines)
{
    size_t i = 0, j = 0, shown = 0;
    char line[512];

    while ((i < v->n_ops || j < v->n_events) && shown < max_lines) {
        int take_op = j >= v->n_events ||
                      (i < v->n_ops && h->ops[v->ops[i]].t_invoke <= h->events[v->events[j]].t);
        if (take_op)
            torn_check_describe_op(h, v->ops[i++], line, sizeof line);
        else
            describe_event(h, v->events[j++], line, sizeof line);
        safe_line(f, line);
        shown++;
    }
    if (i < v->n_ops || j < v->n_events)
        fprintf(f, "    ... %zu more\n", v->n_ops - i + v->n_events - j);
}

void torn_check_print(FILE *f, const struct torn_hist *h, const struct torn_check_result *res)
{
    fprintf(f, "%s: %zu operations on %zu key%s\n", verdict_word(res->verdict),
            res->n_ops_checked, res->n_keys, res->n_keys == 1 ? "" : "s");
    for (size_t k = 0; k < res->n_violations; k++) {
        const struct torn_check_violation *v = &res->violations[k];
        fprintf(f, "violation %zu: %s: %s\n", k + 1, v->criterion, v->message);
        if (v->n_ops || v->n_events) {
            fprintf(f, "  counterexample (%s):\n",
                    h->clockless ? "#N = line number" : "times since the first event");
            print_counterexample(f, h, v, k < 5 ? 40 : 8);
        }
    }
    if (res->n_violations_total > res->n_violations)
        fprintf(f, "... and %zu more violations\n", res->n_violations_total - res->n_violations);
    if (res->verdict == TORN_CHECK_UNKNOWN) {
        char line[512];
        fprintf(f, "unknown: %s\n", res->unknown_reason ? res->unknown_reason : "bound reached");
        for (size_t i = 0; i < res->n_partial && i < 20; i++) {
            torn_check_describe_op(h, res->partial[i], line, sizeof line);
            safe_line(f, line);
        }
        if (res->n_partial > 20)
            fprintf(f, "    ... %zu more in the partial linearization\n", res->n_partial - 20);
    }
}

static cJSON *op_json(const struct torn_hist *h, size_t i)
{
    const struct torn_hop *op = &h->ops[i];
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "index", (double)i);
    cJSON_AddNumberToObject(o, "process", (double)op->process);
    cJSON_AddStringToObject(o, "f", op->f);
    if (op->key)
        cJSON_AddStringToObject(o, "key", op->key);
    if (op->input)
        cJSON_AddItemToObject(o, "input", cJSON_Duplicate(op->input, 1));
    cJSON_AddStringToObject(o, "outcome", torn_hist_outcome_name(op->outcome));
    if (op->output)
        cJSON_AddItemToObject(o, "output", cJSON_Duplicate(op->output, 1));
    cJSON_AddNumberToObject(o, "invoke", (double)op->t_invoke);
    if (op->t_complete != TORN_HIST_NEVER)
        cJSON_AddNumberToObject(o, "complete", (double)op->t_complete);
    cJSON_AddNumberToObject(o, "line", (double)op->line_invoke);
    return o;
}

static cJSON *event_json(const struct torn_hist *h, size_t i)
{
    const struct torn_hevent *e = &h->events[i];
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "type", e->notify ? "notify" : "fault");
    if (e->f)
        cJSON_AddStringToObject(o, "f", e->f);
    if (e->key)
        cJSON_AddStringToObject(o, "key", e->key);
    if (e->value)
        cJSON_AddItemToObject(o, "value", cJSON_Duplicate(e->value, 1));
    cJSON_AddNumberToObject(o, "time", (double)e->t);
    cJSON_AddNumberToObject(o, "line", (double)e->line);
    return o;
}

cJSON *torn_check_json(const struct torn_hist *h, const struct torn_check_result *res,
                       const char *model)
{
    cJSON *o = cJSON_CreateObject(), *vs, *p;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "history", h->name);
    if (model)
        cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "verdict",
                            res->verdict == TORN_CHECK_VALID     ? "valid"
                            : res->verdict == TORN_CHECK_INVALID ? "invalid"
                                                                 : "unknown");
    cJSON_AddNumberToObject(o, "operations", (double)res->n_ops_checked);
    cJSON_AddNumberToObject(o, "keys", (double)res->n_keys);
    cJSON_AddNumberToObject(o, "violations_total", (double)res->n_violations_total);
    cJSON_AddNumberToObject(o, "states", (double)res->n_states);
    cJSON_AddNumberToObject(o, "mem_peak_bytes", (double)res->mem_peak);
    cJSON_AddNumberToObject(o, "elapsed_s", res->elapsed_s);
    cJSON_AddBoolToObject(o, "clockless", h->clockless);
    if (res->unknown_reason)
        cJSON_AddStringToObject(o, "unknown_reason", res->unknown_reason);
    vs = cJSON_AddArrayToObject(o, "violations");
    for (size_t k = 0; vs && k < res->n_violations; k++) {
        const struct torn_check_violation *v = &res->violations[k];
        cJSON *vj = cJSON_CreateObject(), *ops, *evs;
        if (!vj)
            break;
        cJSON_AddStringToObject(vj, "criterion", v->criterion);
        if (v->key)
            cJSON_AddStringToObject(vj, "key", v->key);
        cJSON_AddStringToObject(vj, "message", v->message);
        ops = cJSON_AddArrayToObject(vj, "ops");
        for (size_t i = 0; ops && i < v->n_ops; i++)
            cJSON_AddItemToArray(ops, op_json(h, v->ops[i]));
        evs = cJSON_AddArrayToObject(vj, "events");
        for (size_t i = 0; evs && i < v->n_events; i++)
            cJSON_AddItemToArray(evs, event_json(h, v->events[i]));
        cJSON_AddItemToArray(vs, vj);
    }
    if (res->n_partial) {
        p = cJSON_AddArrayToObject(o, "partial_linearization");
        for (size_t i = 0; p && i < res->n_partial; i++)
            cJSON_AddItemToArray(p, cJSON_CreateNumber((double)res->partial[i]));
    }
    return o;
}

void torn_check_to_result(const struct torn_check_result *res, const struct torn_hist *h,
                          struct torn_result *r, uint64_t t0_ns)
{
    for (size_t k = 0; k < res->n_violations; k++) {
        const struct torn_check_violation *v = &res->violations[k];
        size_t cap = 256 + v->n_ops * 200, len = 0;
        char *ev = malloc(cap), line[512];
        uint64_t t = v->n_ops ? h->ops[v->ops[0]].t_invoke
                     : v->n_events ? h->events[v->events[0]].t : t0_ns;
        if (!ev)
            return;
        len += (size_t)snprintf(ev, cap, "%s", v->message);
        for (size_t i = 0; i < v->n_ops && i < 20 && len < cap; i++) {
            torn_check_describe_op(h, v->ops[i], line, sizeof line);
            len += (size_t)snprintf(ev + len, cap - len, "\n  %s", line);
        }
        torn_result_violation(r, v->criterion, v->key,
                              !h->clockless && t >= t0_ns ? (double)(t - t0_ns) / 1e9 : 0.0, "%s",
                              ev);
        free(ev);
    }
    for (size_t k = res->n_violations; k < res->n_violations_total; k++)
        torn_result_violation(r, "checker", NULL, 0.0, "further violation (not kept)");
}

/* ---- for scenarios ---- */

/* Drop operations invoked and events before t0 (another scenario's); their
 * values stay in the history's table until torn_hist_free. */
static void keep_since(struct torn_hist *h, uint64_t t0)
{
    size_t k = 0;

    for (size_t i = 0; i < h->n_ops; i++)
        if (h->ops[i].t_invoke >= t0)
            h->ops[k++] = h->ops[i];
    h->n_ops = k;
    k = 0;
    for (size_t i = 0; i < h->n_events; i++)
        if (h->events[i].t >= t0)
            h->events[k++] = h->events[i];
    h->n_events = k;
}

int torn_check_ctx(struct torn_ctx *ctx, const char *model, const struct torn_check_opts *opts,
                   struct torn_err *err)
{
    const struct torn_checker_ops *ops = torn_checker_find(model);
    const char *path = torn_history_path(ctx->history);
    struct torn_check_opts dflt;
    struct torn_check_result res;
    struct torn_hist *h;
    char name[64];
    int rc;

    if (!ops)
        return torn_err_set(err, TORN_E_CONFIG, "unknown checker model %s", model);
    if (!path)
        return torn_err_set(err, TORN_E_UNSUPPORTED, "no history recorded: nothing to check");
    if (!opts) {
        memset(&dflt, 0, sizeof dflt);
        dflt.time_limit_s = 30;
        dflt.mem_limit = (size_t)1 << 30;
        opts = &dflt;
    }
    rc = torn_hist_read(path, TORN_HIST_TORN, &h, err);
    if (rc != TORN_OK)
        return rc;
    keep_since(h, ctx->t0_ns);
    torn_check_result_init(&res);
    rc = ops->check(h, opts, &res, err);
    if (rc == TORN_OK) {
        torn_check_to_result(&res, h, ctx->result, ctx->t0_ns);
        snprintf(name, sizeof name, "check_%s_ops", model);
        torn_result_metric(ctx->result, name, (double)res.n_ops_checked);
        if (res.verdict == TORN_CHECK_UNKNOWN) {
            snprintf(name, sizeof name, "check_%s_unknown", model);
            torn_result_metric_str(ctx->result, name,
                                   res.unknown_reason ? res.unknown_reason : "bound reached");
        }
        rc = (int)res.verdict;
    }
    torn_check_result_free(&res);
    torn_hist_free(h);
    return rc;
}

/* ---- torn check ---- */

static void usage(FILE *f)
{
    size_t n;
    const struct torn_checker_ops *const *cs = torn_checkers(&n);

    fprintf(f,
            "usage: torn check HISTORY [--model NAME] [--format auto|torn|jepsen] [--json FILE]\n"
            "                  [--time-limit S] [--mem-limit MB] [--transitions FILE]\n"
            "                  [--status-field NAME] [--no-minimize] [--quiet]\n"
            "Checks a recorded history (docs/history-format.md).  Exit 0 valid, 1 violation,\n"
            "2 bad input, 3 unknown (time or memory bound reached).\n"
            "--time-limit: seconds, 0 = none, at most 604800 (default 60); --mem-limit:\n"
            "MiB of search memory, 0 = none (default 1024).\nmodels:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-13s %s\n", cs[i]->name, cs[i]->summary);
}

/* Pick a model from the operation names when --model is not given. */
static const char *guess_model(const struct torn_hist *h)
{
    int cas = 0, kv = 0, rw = 0, other = 0, notify = 0;

    for (size_t i = 0; i < h->n_ops; i++) {
        const char *f = h->ops[i].f;
        if (!strcmp(f, "cas"))
            cas = 1;
        else if (!strcmp(f, "append") || !strcmp(f, "get") || !strcmp(f, "put"))
            kv = 1;
        else if (!strcmp(f, "read") || !strcmp(f, "write"))
            rw = 1;
        else
            other = 1;
    }
    for (size_t i = 0; i < h->n_events; i++)
        notify |= h->events[i].notify;
    if (other || (!cas && !kv && !rw))
        return notify ? "events" : "version";
    if (kv)
        return "kv";
    return cas ? "cas-register" : "register";
}

/* CPU time of this process (the machine may be shared: wall time lies). */
static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct check_args {
    const char *path, *model, *json, *transitions;
    enum torn_hist_format fmt;
    struct torn_check_opts opts;
    int quiet;
};

/* One option of `torn check`; 0 ok, -1 after printing the error. */
static int check_opt(struct check_args *a, int c, const char *val)
{
    struct torn_err err;
    double d;

    switch (c) {
    case 'q': a->quiet = 1; return 0;
    case 'n': a->opts.no_minimize = 1; return 0;
    case 'm': a->model = val; return 0;
    case 'j': a->json = val; return 0;
    case 'r': a->transitions = val; return 0;
    case 's': a->opts.status_field = val; return 0;
    case 'f':
        if (!strcmp(val, "torn") || !strcmp(val, "jepsen") || !strcmp(val, "auto")) {
            a->fmt = val[0] == 't'   ? TORN_HIST_TORN
                     : val[0] == 'j' ? TORN_HIST_JEPSEN
                                     : TORN_HIST_AUTO;
            return 0;
        }
        fprintf(stderr, "torn check: --format must be auto, torn or jepsen, not %s\n", val);
        return -1;
    case 't': /* 0 = no bound; a week at most (1e12 s overflowed the deadline) */
        if (torn_parse_real("--time-limit", val, 0, 604800, &d, &err))
            break;
        a->opts.time_limit_s = d;
        return 0;
    case 'M': /* MiB, 0 = no bound */
        if (torn_parse_real("--mem-limit", val, 0, 1048576, &d, &err))
            break;
        a->opts.mem_limit = (size_t)(d * 1024 * 1024);
        return 0;
    }
    fprintf(stderr, "torn check: %s\n", err.msg);
    return -1;
}

static int parse_args(int argc, char **argv, struct check_args *a)
{
    static const struct option lo[] = {
        {"quiet", 0, 0, 'q'},       {"no-minimize", 0, 0, 'n'},  {"model", 1, 0, 'm'},
        {"json", 1, 0, 'j'},        {"transitions", 1, 0, 'r'},  {"status-field", 1, 0, 's'},
        {"format", 1, 0, 'f'},      {"time-limit", 1, 0, 't'},   {"mem-limit", 1, 0, 'M'},
        {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    int c;

    memset(a, 0, sizeof *a);
    a->opts.time_limit_s = 60;
    a->opts.mem_limit = (size_t)1 << 30;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "torn check: %s %s (see torn check --help)\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return -1;
        }
        if (check_opt(a, c, optarg) != 0)
            return -1;
    }
    if (optind < argc)
        a->path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "torn check: one history at a time (%s and %s)\n", a->path, argv[optind]);
        return -1;
    }
    if (!a->path) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static int load_transitions(const char *path, cJSON **out)
{
    char *buf;
    size_t len;
    struct torn_err err;

    *out = NULL;
    if (torn_read_file(path, &buf, &len, &err) != TORN_OK) {
        fprintf(stderr, "torn check: %s\n", err.msg);
        return -1;
    }
    if (torn_parse_json(path, buf, len, out, &err) != TORN_OK) {
        free(buf);
        fprintf(stderr, "torn check: %s\n", err.msg);
        return -1;
    }
    free(buf);
    if (!cJSON_IsObject(*out)) {
        fprintf(stderr, "torn check: %s: not a JSON object of state -> [next states]\n", path);
        cJSON_Delete(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int write_json(const char *path, const struct torn_hist *h,
                      const struct torn_check_result *res, const char *model)
{
    cJSON *j = torn_check_json(h, res, model);
    char *txt = j ? cJSON_Print(j) : NULL;
    struct torn_err err;
    int rc = -1;

    cJSON_Delete(j);
    if (!txt) {
        fprintf(stderr, "torn check: out of memory\n");
        return -1;
    }
    if (!strcmp(path, "-")) {
        puts(txt);
        rc = 0;
    } else if (torn_write_file_atomic(path, txt, strlen(txt), &err) == TORN_OK) {
        rc = 0;
    } else {
        fprintf(stderr, "torn check: %s\n", err.msg);
    }
    free(txt);
    return rc;
}

int torn_cmd_check(int argc, char **argv)
{
    struct check_args a;
    struct torn_hist *h = NULL;
    struct torn_check_result res;
    const struct torn_checker_ops *ops;
    struct torn_err err;
    cJSON *table = NULL;
    FILE *human;
    int rc, code = 2;

    double cpu_start = cpu_seconds();

    /* One short process that allocates and frees hundreds of MiB: keep
     * freed memory for reuse instead of handing it back to the kernel and
     * faulting it in again (a third of the CPU time at a million operations
     * on a virtual machine). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);

    rc = parse_args(argc, argv, &a);
    if (rc)
        return rc > 0 ? 0 : 2;
    /* --json -: stdout carries only the JSON, everything else goes to stderr. */
    human = a.json && strcmp(a.json, "-") == 0 ? stderr : stdout;
    torn_err_clear(&err);
    torn_check_result_init(&res);
    if (a.transitions && load_transitions(a.transitions, &table) < 0)
        return 2;
    a.opts.transitions = table;
    if (torn_hist_read(a.path, a.fmt, &h, &err) != TORN_OK) {
        fprintf(stderr, "torn check: %s\n", err.msg);
        goto out;
    }
    if (!a.model)
        a.model = guess_model(h);
    ops = torn_checker_find(a.model);
    if (!ops) {
        fprintf(stderr, "torn check: unknown model %s (see torn check --help)\n", a.model);
        goto out;
    }
    if (!a.quiet)
        fprintf(human, "torn check: %s: model %s, %zu operations, %zu events\n", a.path,
                ops->name, h->n_ops, h->n_events);
    double cpu0 = cpu_seconds();
    if (ops->check(h, &a.opts, &res, &err) != TORN_OK) {
        fprintf(stderr, "torn check: %s\n", err.msg);
        goto out;
    }
    if (!a.quiet || res.verdict != TORN_CHECK_VALID)
        torn_check_print(human, h, &res);
    else
        fprintf(human, "valid\n");
    if (!a.quiet)
        fprintf(human,
                "read in %.3f s cpu; checked in %.3f s (%.3f s cpu), %llu search states, peak "
                "search memory %.1f MiB\n",
                cpu0 - cpu_start, res.elapsed_s, cpu_seconds() - cpu0,
                (unsigned long long)res.n_states, (double)res.mem_peak / (1024.0 * 1024.0));
    if (a.json && write_json(a.json, h, &res, ops->name) < 0)
        goto out;
    code = res.verdict == TORN_CHECK_VALID ? 0 : res.verdict == TORN_CHECK_INVALID ? 1 : 3;
out:
    torn_check_result_free(&res);
    torn_hist_free(h);
    cJSON_Delete(table);
    return code;
}

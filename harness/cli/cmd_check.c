/* torn: `torn check HISTORY [--model NAME] ...`, a recorded history against
 * a consistency model (harness/check/checker.h). */
#include "command.h"
#include "args.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "check/checker.h"
#include "check/export.h"
#include "check/history_read.h"
#include "core/err.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "core/util.h"
#include "reports/html.h"

static void usage(FILE *f)
{
    size_t n;
    const struct torn_checker_ops *const *cs = torn_checkers(&n);

    fprintf(f,
            "usage: torn check HISTORY [--model NAME] [--format auto|torn|jepsen|edn] [--json FILE]\n"
            "                  [--html FILE] [--time-limit S] [--mem-limit MB] [--transitions FILE]\n"
            "                  [--status-field NAME] [--no-minimize] [--quiet] [--all-keys]\n"
            "                  [--export jepsen]\n"
            "Checks a recorded history (docs/history-format.md; - reads standard input).\n"
            "--html FILE: one page with the verdict and each counterexample drawn as a\n"
            "timeline of its processes (hover an operation for its details).\n"
            "--export jepsen: write the history as Jepsen's EDN on stdout (no check).\n"
            "--all-keys: search every key for violations (default: stop at the first\n"
            "failing key of a linearizability model).\n"
            "Exit 0 valid, 1 violation, "
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
    const char *txn = torn_check_txn_model(h);

    if (txn)
        return txn;

    for (size_t i = 0; i < h->n_ops; i++) {
        const char *f = torn_hist_f(h, &h->ops[i]);
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
    const char *path, *model, *json, *html, *transitions, *export_fmt;
    enum torn_hist_format fmt;
    struct torn_check_opts opts;
    int quiet;
};

/* One option of `torn check`; 0 ok, -1 after printing the error. */
static int check_opt(struct check_args *a, int c, const char *val)
{
    double d;

    switch (c) {
    case 'q': a->quiet = 1; return 0;
    case 'n': a->opts.no_minimize = 1; return 0;
    case 'A': a->opts.first_failure = 0; return 0;
    case 'm': a->model = val; return 0;
    case 'j': a->json = val; return 0;
    case 'H':
        if (!strcmp(val, "-")) {
            fprintf(stderr, "torn check: --html needs a file name (- is not one)\n");
            return -1;
        }
        a->html = val;
        return 0;
    case 'x':
        if (!strcmp(val, "jepsen")) {
            a->export_fmt = val;
            return 0;
        }
        fprintf(stderr, "torn check: --export must be jepsen, not %s\n", val);
        return -1;
    case 'r': a->transitions = val; return 0;
    case 's': a->opts.status_field = val; return 0;
    case 'f':
        if (!strcmp(val, "torn") || !strcmp(val, "jepsen") || !strcmp(val, "auto") ||
            !strcmp(val, "edn")) {
            a->fmt = val[0] == 't'   ? TORN_HIST_TORN
                     : val[0] == 'j' ? TORN_HIST_JEPSEN
                     : val[0] == 'e' ? TORN_HIST_EDN
                                     : TORN_HIST_AUTO;
            return 0;
        }
        fprintf(stderr, "torn check: --format must be auto, torn, jepsen or edn, not %s\n", val);
        return -1;
    case 't': /* 0 = no bound; a week at most (1e12 s overflowed the deadline) */
        if (torn_arg_number("check", "--time-limit", val, 0, 604800, 0, &d))
            return -1;
        a->opts.time_limit_s = d;
        return 0;
    case 'M': /* MiB, 0 = no bound */
        if (torn_arg_number("check", "--mem-limit", val, 0, 1048576, 0, &d))
            return -1;
        a->opts.mem_limit = (size_t)(d * 1024 * 1024);
        return 0;
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct check_args *a)
{
    static const struct option lo[] = {
        {"quiet", 0, 0, 'q'},       {"no-minimize", 0, 0, 'n'},  {"model", 1, 0, 'm'},
        {"json", 1, 0, 'j'},        {"transitions", 1, 0, 'r'},  {"status-field", 1, 0, 's'},
        {"format", 1, 0, 'f'},      {"time-limit", 1, 0, 't'},   {"mem-limit", 1, 0, 'M'},
        {"export", 1, 0, 'x'},      {"all-keys", 0, 0, 'A'},     {"html", 1, 0, 'H'},
        {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    int c;

    memset(a, 0, sizeof *a);
    a->opts.time_limit_s = 60;
    a->opts.first_failure = 1;
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

/* The --html page, written whole or not at all; 0 or -1 after printing why. */
static int write_html(const struct check_args *a, const struct torn_hist *h,
                      const struct torn_check_result *res, const char *model)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct torn_err err;
    int rc = -1;

    if (!f || torn_html_check(f, h, res, model, a->path) < 0) {
        if (f)
            fclose(f);
        free(buf);
        fprintf(stderr, "torn check: out of memory writing the HTML page\n");
        return -1;
    }
    fclose(f);
    if (torn_write_file_atomic(a->html, buf, len, &err) == TORN_OK)
        rc = 0;
    else
        fprintf(stderr, "torn check: %s\n", err.msg);
    free(buf);
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
    if (a.export_fmt) {   /* convert only: the history as Jepsen's EDN on stdout */
        size_t skipped = 0;
        if (torn_hist_export_jepsen(stdout, h, &skipped, &err) != TORN_OK) {
            fprintf(stderr, "torn check: %s\n", err.msg);
            goto out;
        }
        if (skipped)
            fprintf(stderr, "torn check: %s: %zu notify lines have no Jepsen form: left out\n",
                    a.path, skipped);
        code = 0;
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
        fprintf(human, "torn check: %s: model %s, %zu operations, %zu events%s\n", a.path,
                ops->name, h->n_ops, h->n_events,
                h->independent ? " (jepsen.independent [k v] values: checked per key)" : "");
    if (h->n_skipped)   /* deliberate, never silent: log chatter between the operations */
        fprintf(stderr, "torn check: %s: skipped %zu log lines that are not operations\n",
                a.path, h->n_skipped);
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
    if (a.html && write_html(&a, h, &res, ops->name) < 0)
        goto out;
    code = res.verdict == TORN_CHECK_VALID ? 0 : res.verdict == TORN_CHECK_INVALID ? 1 : 3;
out:
    torn_check_result_free(&res);
    torn_hist_free(h);
    cJSON_Delete(table);
    return code;
}

/* torn: a JSON report read back into results (see json_read.h). */
#include "json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/hdr_json.h"
#include "core/parse.h"
#include "core/result.h"
#include "core/util.h"

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* o[name] as a copied string into *out; absent is NULL unless required. */
static int str_field(const cJSON *o, const char *name, int required, const char *what,
                     char **out, struct torn_err *err)
{
    const cJSON *v = get(o, name);

    *out = NULL;
    if (!v && !required)
        return TORN_OK;
    if (!cJSON_IsString(v))
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"%s\" must be a string", what, name);
    if (!(*out = strdup(v->valuestring)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    return TORN_OK;
}

/* o[name] as a number >= 0 into *out; absent leaves *out unless required. */
static int num_field(const cJSON *o, const char *name, int required, const char *what,
                     double *out, struct torn_err *err)
{
    const cJSON *v = get(o, name);

    if (!v && !required)
        return TORN_OK;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"%s\" must be a number >= 0", what, name);
    *out = v->valuedouble;
    return TORN_OK;
}

/* A copy of the object o[name] into *out, or NULL when absent. */
static int obj_field(const cJSON *o, const char *name, const char *what, cJSON **out,
                     struct torn_err *err)
{
    const cJSON *v = get(o, name);

    *out = NULL;
    if (!v)
        return TORN_OK;
    if (!cJSON_IsObject(v))
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"%s\" must be an object", what, name);
    if (!(*out = cJSON_Duplicate(v, 1)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    return TORN_OK;
}

static int verdict_of(const char *name, enum torn_verdict *out)
{
    static const enum torn_verdict all[] = {TORN_PASS, TORN_FAIL, TORN_ERROR, TORN_SKIP};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, torn_verdict_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

static int op_of(const char *name)
{
    for (int i = 0; i < TORN_OP_COUNT; i++)
        if (strcmp(name, torn_op_name((enum torn_op)i)) == 0)
            return i;
    return -1;
}

static int identity(const cJSON *o, const char *what, struct torn_result *r, struct torn_err *err)
{
    char *verdict = NULL;
    double d = 0;
    int rc;

    if ((rc = str_field(o, "scenario", 1, what, &r->scenario, err)) ||
        (rc = str_field(o, "scenario_spec", 0, what, &r->scenario_spec, err)) ||
        (rc = str_field(o, "target", 1, what, &r->target, err)) ||
        (rc = str_field(o, "driver", 1, what, &r->driver, err)) ||
        (rc = str_field(o, "strategy", 1, what, &r->strategy, err)) ||
        (rc = str_field(o, "error", 0, what, &r->error, err)) ||
        (rc = str_field(o, "work_note", 0, what, &r->work_note, err)) ||
        (rc = str_field(o, "verdict", 1, what, &verdict, err)))
        return rc;
    rc = verdict_of(verdict, &r->verdict);
    free(verdict);
    if (rc)
        return torn_err_set(err, TORN_E_CONFIG,
                            "%s: \"verdict\" must be PASS, FAIL, ERROR or SKIP", what);
    if (r->verdict == TORN_ERROR && !r->error)
        return torn_err_set(err, TORN_E_CONFIG, "%s: an ERROR without \"error\"", what);
    r->error_code = r->verdict == TORN_ERROR ? TORN_E_ENV : 0;
    if ((rc = num_field(o, "seed", 1, what, &d, err)))
        return rc;
    r->seed = (uint64_t)d;
    r->interrupted = cJSON_IsTrue(get(o, "interrupted"));
    r->stopped_at_violation = cJSON_IsTrue(get(o, "stopped_at_violation"));
    d = 0;
    if ((rc = num_field(o, "entry", 0, what, &d, err)))
        return rc;
    r->entry = (size_t)d;
    if ((rc = num_field(o, "started_s", 1, what, &r->started_s, err)) ||
        (rc = num_field(o, "duration_s", 1, what, &r->duration_s, err)))
        return rc;
    cJSON_Delete(r->metrics); /* torn_result_new's empty one */
    if ((rc = obj_field(o, "params", what, &r->params, err)) ||
        (rc = obj_field(o, "metrics", what, &r->metrics, err)) ||
        (rc = obj_field(o, "work", what, &r->work, err)))
        return rc;
    if (!r->metrics && !(r->metrics = cJSON_CreateObject()))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    return TORN_OK;
}

static int violation(const cJSON *v, const char *what, struct torn_violation *out,
                     struct torn_err *err)
{
    double process = -1;   /* optional: the history process named (result.h) */
    int rc;

    if (!cJSON_IsObject(v))
        return torn_err_set(err, TORN_E_CONFIG, "%s: must be an object", what);
    if ((rc = str_field(v, "criterion", 1, what, &out->criterion, err)) ||
        (rc = str_field(v, "key", 0, what, &out->key, err)) ||
        (rc = str_field(v, "evidence", 1, what, &out->evidence, err)) ||
        (rc = num_field(v, "t_s", 1, what, &out->t_s, err)))
        return rc;
    if ((rc = num_field(v, "process", 0, what, &process, err)))
        return rc;
    if (process > 1e9)
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"process\" is too large", what);
    out->process = (int)process;
    return TORN_OK;
}

static int violations(const cJSON *o, const char *what, struct torn_result *r, struct torn_err *err)
{
    const cJSON *vs = get(o, "violations");
    double total = 0;
    int n, rc;

    if (!cJSON_IsArray(vs))
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"violations\" must be an array", what);
    n = cJSON_GetArraySize(vs);
    if (n > 0 && !(r->violations = calloc((size_t)n, sizeof *r->violations)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        char w[320];
        snprintf(w, sizeof w, "%s.violations[%d]", what, i);
        r->n_violations++; /* freed by torn_result_free even when half filled */
        if ((rc = violation(cJSON_GetArrayItem(vs, i), w, &r->violations[i], err)))
            return rc;
    }
    if ((rc = num_field(o, "violations_total", 1, what, &total, err)))
        return rc;
    if (total < n)
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"violations_total\" %.0f is below the %d "
                            "violations listed", what, total, n);
    r->n_violations_total = (size_t)total;
    return TORN_OK;
}

/* "latency": {op: {"ok", "fail", "info", "hdr"}}. */
static int latency(const cJSON *o, const char *what, struct torn_result *r, struct torn_err *err)
{
    const cJSON *lat = get(o, "latency"), *op;
    char w[320];
    int rc;

    if (!cJSON_IsObject(lat))
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"latency\" must be an object", what);
    cJSON_ArrayForEach(op, lat) {
        int i = op_of(op->string);
        struct torn_opstats *s;
        double ok = 0, fail = 0, info = 0;
        snprintf(w, sizeof w, "%s.latency.%s", what, op->string);
        if (i < 0)
            return torn_err_set(err, TORN_E_CONFIG, "%s: unknown operation", w);
        s = &r->ops[i];
        if ((rc = num_field(op, "ok", 1, w, &ok, err)) ||
            (rc = num_field(op, "fail", 1, w, &fail, err)) ||
            (rc = num_field(op, "info", 1, w, &info, err)))
            return rc;
        s->n_ok = (uint64_t)ok, s->n_fail = (uint64_t)fail, s->n_info = (uint64_t)info;
        snprintf(w, sizeof w, "%s.latency.%s.hdr", what, op->string);
        if ((rc = torn_hdr_from_json(get(op, "hdr"), w, &s->hdr, err)))
            return rc;
    }
    return TORN_OK;
}

/* "open_loop": {"rate_ops_per_s", "latency": {op: {"late", "uncorrected":
 * {"hdr"}, "corrected": {"hdr"}}}}. */
static int open_loop(const cJSON *o, const char *what, struct torn_result *r, struct torn_err *err)
{
    const cJSON *ol = get(o, "open_loop"), *op;
    double rate = 0;
    char w[320];
    int rc;

    if (!ol)
        return TORN_OK;
    snprintf(w, sizeof w, "%s.open_loop", what);
    if ((rc = num_field(ol, "rate_ops_per_s", 1, w, &rate, err)))
        return rc;
    if ((rc = torn_result_openloop(r, rate)))
        return torn_err_set(err, rc, "out of memory");
    cJSON_ArrayForEach(op, get(ol, "latency")) {
        int i = op_of(op->string);
        double late = 0;
        snprintf(w, sizeof w, "%s.open_loop.latency.%s", what, op->string);
        if (i < 0)
            return torn_err_set(err, TORN_E_CONFIG, "%s: unknown operation", w);
        if ((rc = num_field(op, "late", 1, w, &late, err)) ||
            (rc = torn_hdr_from_json(get(get(op, "uncorrected"), "hdr"), w,
                                     &r->openloop->uncorrected[i], err)) ||
            (rc = torn_hdr_from_json(get(get(op, "corrected"), "hdr"), w,
                                     &r->openloop->corrected[i], err)))
            return rc;
        r->openloop->n_late[i] = (uint64_t)late;
    }
    return TORN_OK;
}

/* replay, reproduced, attempt. */
static int replay(const cJSON *o, const char *what, struct torn_result *r, struct torn_err *err)
{
    const cJSON *rp = get(o, "reproduced");
    double a = 0, b = 0;
    int rc;

    if ((rc = str_field(o, "replay", 0, what, &r->replay, err)))
        return rc;
    r->replay_exact = cJSON_IsTrue(get(o, "replay_exact"));
    if (rp && ((rc = num_field(rp, "failed", 1, what, &a, err)) ||
               (rc = num_field(rp, "runs", 1, what, &b, err))))
        return rc;
    r->repro_fails = (int)a, r->repro_runs = (int)b;
    a = b = 0;
    if ((rc = num_field(o, "attempt", 0, what, &a, err)) ||
        (rc = num_field(o, "attempts_max", 0, what, &b, err)))
        return rc;
    r->attempt = (int)a, r->attempts_max = (int)b;
    return TORN_OK;
}

int torn_json_result_read(const cJSON *o, const char *what, struct torn_result **out,
                          struct torn_err *err)
{
    struct torn_result *r = torn_result_new();
    int rc;

    *out = NULL;
    if (!r)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (!cJSON_IsObject(o))
        rc = torn_err_set(err, TORN_E_CONFIG, "%s: must be an object", what);
    else if (!(rc = identity(o, what, r, err)) && !(rc = violations(o, what, r, err)) &&
             !(rc = latency(o, what, r, err)) && !(rc = open_loop(o, what, r, err)))
        rc = replay(o, what, r, err);
    if (rc) {
        torn_result_free(r);
        return rc;
    }
    *out = r;
    return TORN_OK;
}

/* "shard": {"index", "count", "entries", "entries_total"}, when present. */
static int shard(const cJSON *root, const char *path, struct torn_json_report *out,
                 struct torn_err *err)
{
    const cJSON *sh = get(root, "shard");
    double i = 0, n = 0, e = 0, t = 0;
    char w[320];
    int rc;

    if (!sh)
        return TORN_OK;
    snprintf(w, sizeof w, "%s: shard", path);
    if ((rc = num_field(sh, "index", 1, w, &i, err)) ||
        (rc = num_field(sh, "count", 1, w, &n, err)) ||
        (rc = num_field(sh, "entries", 1, w, &e, err)) ||
        (rc = num_field(sh, "entries_total", 1, w, &t, err)))
        return rc;
    if (i < 1 || i > n || e > t)
        return torn_err_set(err, TORN_E_CONFIG, "%s: index %.0f of %.0f, %.0f of %.0f entries: "
                            "inconsistent", w, i, n, e, t);
    out->shard_index = (unsigned)i, out->shard_count = (unsigned)n;
    out->shard_entries = (size_t)e, out->shard_entries_total = (size_t)t;
    return TORN_OK;
}

/* The report-level fields. */
static int header(const cJSON *root, const char *path, struct torn_json_report *out,
                  struct torn_err *err)
{
    const cJSON *tool = get(root, "tool"), *at = get(root, "started_at");
    double d = 0;
    int rc;

    if (!cJSON_IsString(tool) || strcmp(tool->valuestring, "torn") != 0)
        return torn_err_set(err, TORN_E_CONFIG, "%s: not a torn JSON report (no \"tool\": "
                            "\"torn\"; write one with torn run --json FILE)", path);
    if (!cJSON_IsString(at) || strlen(at->valuestring) >= sizeof out->started_at)
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"started_at\" must be an ISO-8601 time",
                            path);
    strcpy(out->started_at, at->valuestring);
    if ((rc = num_field(root, "duration_s", 1, path, &out->duration_s, err)) ||
        (rc = num_field(root, "seed", 1, path, &d, err)))
        return rc;
    out->seed = (uint64_t)d;
    d = 0;
    if ((rc = num_field(root, "history_events_dropped", 0, path, &d, err)))
        return rc;
    out->history_dropped = (uint64_t)d;
    out->interrupted = cJSON_IsTrue(get(root, "interrupted"));
    if ((rc = str_field(root, "report_error", 0, path, &out->report_error, err)))
        return rc;
    return shard(root, path, out, err);
}

static int results(const cJSON *root, const char *path, struct torn_json_report *out,
                   struct torn_err *err)
{
    const cJSON *rs = get(root, "results");
    int n, rc;

    if (!cJSON_IsArray(rs))
        return torn_err_set(err, TORN_E_CONFIG, "%s: \"results\" must be an array", path);
    n = cJSON_GetArraySize(rs);
    if (n > 0 && !(out->results = calloc((size_t)n, sizeof *out->results)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        char w[320];
        snprintf(w, sizeof w, "%s: results[%d]", path, i);
        if ((rc = torn_json_result_read(cJSON_GetArrayItem(rs, i), w, &out->results[i], err)))
            return rc;
        out->n_results++;
    }
    return TORN_OK;
}

int torn_json_report_read(const char *path, struct torn_json_report *out, struct torn_err *err)
{
    char *buf = NULL, *what = torn_asprintf("report %s", path);
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (!what)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = torn_read_file(path, &buf, &len, err);
    if (!rc)
        rc = torn_parse_json(what, buf, len, &out->root, err);
    free(buf);
    free(what);
    if (!rc && !cJSON_IsObject(out->root))
        rc = torn_err_set(err, TORN_E_CONFIG, "%s: not a torn JSON report (not an object)", path);
    if (!rc)
        rc = header(out->root, path, out, err);
    return rc ? rc : results(out->root, path, out, err);
}

void torn_json_report_free(struct torn_json_report *r)
{
    for (size_t i = 0; i < r->n_results; i++)
        torn_result_free(r->results[i]);
    free(r->results);
    free(r->report_error);
    cJSON_Delete(r->root);
    memset(r, 0, sizeof *r);
}

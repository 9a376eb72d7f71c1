/* torn: the runner. */
#include "runner.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/version.h"
#include "core/err.h"
#include "core/finding.h"
#include "core/throttle.h"
#include "core/history.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "proc/proc.h"
#include "core/progress.h"
#include "core/report.h"
#include "core/result.h"
#include "core/scenario.h"
#include "fs/tornfs.h"
#include "gate/gate.h"
#include "core/util.h"
#include "core/work.h"
#include "target_uri.h"

/* -------------------------------------------------------------- signals */

static volatile sig_atomic_t n_signals;
static volatile sig_atomic_t first_signal; /* what stopped the run, for reports */
static volatile sig_atomic_t progress_tty; /* a progress line may be on stderr */

static void on_signal(int sig)
{
    if (!first_signal)
        first_signal = sig;
    n_signals++;
    torn_request_stop();
    if (n_signals >= 3) {
        /* The user insists: children die with us (PDEATHSIG). */
        static const char msg[] = "\r\033[Ktorn: killed by repeated signal\n";
        /* On a tty, erase a progress line first; elsewhere skip the "\r\033[K". */
        const char *m = progress_tty ? msg : msg + 4;
        ssize_t w = write(2, m, strlen(m));
        (void)w;
        _exit(130);
    }
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------ the plan */

/* One scenario to run: its ops, display name, spec path, spec params. */
struct plan_scenario {
    const struct torn_scenario_ops *ops;
    const char *arg;          /* what the user typed (name or path) */
    cJSON *spec;              /* loaded spec file or NULL */
    const cJSON *spec_params;
};

struct plan_target {
    struct torn_target_cfg cfg;
    char *display;
    struct torn_target *t;
    struct torn_fs *fs;          /* torn-fs under cfg.run_dir, or NULL */
    char *fs_dir;                /* its mount point (the target's run_dir) */
    int n_mounts;                /* torn-fs mounts so far (fs-N, fs-N.1, ...) */
};

struct run {
    const struct torn_run_opts *o;
    struct plan_scenario *sc;
    size_t n_sc;
    struct plan_target *tg;
    size_t n_tg;
    cJSON *target_spec;
    struct torn_kv *sets;     /* --set plus soft --workers/--duration */
    size_t n_sets;
    char *run_dir;
    int own_run_dir;
    char ns[32];
    struct torn_history_log *history;
    struct torn_report rep;
    char *command;
    uint64_t t0;
    size_t entry;             /* next entry number (shard.h) */
};

/* The default set: each one a target can run (torn_target_caps_of) runs,
 * power-loss and io-errors included wherever the data is on torn-fs.  Not
 * in it: durability (it kills and restarts a managed server: a question
 * about that server's persistence settings, asked on purpose) and
 * safe-read-http (it needs the fault proxy in front of a service).
 * Cheapest first (what each took on a correct Python store), since a
 * scenario stops at its first violation and a bug therefore shows after
 * the scenarios before its own: io-errors (seconds; it catches most
 * missing-fsync bugs too) before the two long fault loops, at the price of
 * a second torn-fs mount; power-loss, which restarts the store at every
 * cut point, last. */
static const char *const standard_scenarios[] = {
    "corrupt-read", "state-transition",    "optimistic-lock", "event-before-persist",
    "dual-write",   "io-errors",           "concurrent-updaters", "crash-midwrite",
    "power-loss",   NULL,
};

static int plan_add_scenario(struct run *r, const char *arg, const cJSON *inline_spec, int must,
                             struct torn_err *err)
{
    const struct torn_scenario_ops *ops;
    cJSON *spec = NULL;
    const char *name = arg;
    struct plan_scenario *p;
    size_t len = strlen(arg);
    int rc;

    if (inline_spec) { /* checked by its loader (a suite file) */
        if (!(spec = cJSON_Duplicate(inline_spec, 1)))
            return torn_err_set(err, TORN_E_NOMEM, "out of memory");
        name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "scenario"));
        name = name ? name : "";
    } else if (strchr(arg, '/') || (len > 5 && strcmp(arg + len - 5, ".json") == 0)) {
        rc = torn_spec_load(arg, &spec, &name, err);
        if (rc)
            return rc;
    }
    ops = torn_scenario_find(name);
    if (!ops) {
        size_t n;
        const struct torn_scenario_ops *const *all = torn_scenarios(&n);
        char known[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof known; i++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                             all[i]->name);
            if (w > 0)
                used += (size_t)w;
        }
        rc = torn_err_set(err, must ? TORN_E_USAGE : TORN_E_CONFIG,
                          "%s%s%sunknown scenario '%s' (known: %s; see `torn list`)",
                          spec ? "scenario spec " : "", spec ? arg : "", spec ? ": " : "", name,
                          known);
        cJSON_Delete(spec);
        return rc;
    }
    p = realloc(r->sc, (r->n_sc + 1) * sizeof *p);
    if (!p) {
        cJSON_Delete(spec);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    r->sc = p;
    p = &r->sc[r->n_sc++];
    p->ops = ops;
    p->arg = arg;
    p->spec = spec;
    p->spec_params = spec ? cJSON_GetObjectItemCaseSensitive(spec, "params") : NULL;
    return TORN_OK;
}

static int plan_targets(struct run *r, struct torn_err *err)
{
    const struct torn_run_opts *o = r->o;
    static const char *const dflt[] = {"file"};
    const char *const *uris = o->n_targets ? o->targets : dflt;
    size_t n = o->n_targets ? o->n_targets : 1;
    int rc;

    r->tg = calloc(n, sizeof *r->tg);
    if (!r->tg)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct plan_target *p = &r->tg[i];
        struct torn_target_cfg *cfg = &p->cfg;

        rc = torn_target_uri_parse(uris[i], cfg, err);
        if (rc)
            return rc;
        r->n_tg++;
        for (size_t k = 0; k < o->n_target_opts; k++) {
            struct torn_kv *kv = realloc((void *)cfg->params, (cfg->n_params + 1) * sizeof *kv);
            if (!kv)
                return torn_err_set(err, TORN_E_NOMEM, "out of memory");
            kv[cfg->n_params].key = strdup(o->target_opts[k].key);
            kv[cfg->n_params].value = strdup(o->target_opts[k].value);
            cfg->params = kv;
            cfg->n_params++;
        }
        p->display = torn_redact(uris[i]);
        cfg->uri = uris[i];
        cfg->display = p->display;
        cfg->run_dir = r->run_dir;
        cfg->log_dir = r->run_dir;
        cfg->ns = r->ns;
        cfg->spec = r->target_spec;
        cfg->spec_path = o->target_spec;
        cfg->allow_remote = o->allow_remote;
        cfg->timeout_ms = o->timeout_ms;
        cfg->seed = o->seed;
        rc = torn_target_new(torn_target_find(cfg->driver), cfg, &p->t, err);
        if (rc)
            return rc;
    }
    return TORN_OK;
}

/* Whether --skip names scenario name (compared as given: a --scenario spec
 * file, given by its path, is never skipped, since --skip takes only names). */
static int skipped(const struct torn_run_opts *o, const char *name)
{
    for (size_t i = 0; i < o->n_skips; i++)
        if (strcmp(o->skips[i], name) == 0)
            return 1;
    return 0;
}

static int plan_scenarios(struct run *r, struct torn_err *err)
{
    const struct torn_run_opts *o = r->o;
    int rc;

    for (size_t i = 0; i < o->n_skips; i++)
        if (!torn_scenario_find(o->skips[i]))
            return torn_err_set(err, TORN_E_USAGE,
                                "--skip %.80s: no scenario of that name (torn list)",
                                o->skips[i]);
    if (o->n_scenarios) {
        for (size_t i = 0; i < o->n_scenarios; i++)
            if (!skipped(o, o->scenarios[i]) &&
                (rc = plan_add_scenario(r, o->scenarios[i],
                                        o->scenario_specs ? o->scenario_specs[i] : NULL, 1,
                                        err)) != 0)
                return rc;
        return TORN_OK;
    }
    for (size_t i = 0; standard_scenarios[i]; i++)
        if (torn_scenario_find(standard_scenarios[i]) && !skipped(o, standard_scenarios[i]))
            if ((rc = plan_add_scenario(r, standard_scenarios[i], NULL, 0, err)) != 0)
                return rc;
    return TORN_OK;
}

/* After planning: --skip may not leave nothing to run (that would PASS
 * having verified nothing). */
static int plan_not_empty(const struct run *r, struct torn_err *err)
{
    if (r->n_sc == 0 && r->o->n_skips)
        return torn_err_set(err, TORN_E_USAGE,
                            "--skip leaves no scenario to run");
    return TORN_OK;
}

/* The --set overrides that apply to scenario s: those it has a parameter
 * for (a --set may target one of several scenarios of a run).  Returns a
 * malloc'd array of pointers' copies; *n_out its length. */
static struct torn_kv *sets_for(const struct run *r, const struct torn_scenario_ops *s,
                                size_t *n_out)
{
    cJSON *d = cJSON_Parse(s->defaults ? s->defaults : "{}");
    struct torn_kv *out = calloc(r->n_sets + 1, sizeof *out);

    *n_out = 0;
    for (size_t i = 0; out && i < r->n_sets; i++)
        if (r->sets[i].key[0] == '?' || cJSON_GetObjectItemCaseSensitive(d, r->sets[i].key))
            out[(*n_out)++] = r->sets[i];
    cJSON_Delete(d);
    return out;
}

/* Whether scenario s has a parameter called name. */
static int has_param(const struct torn_scenario_ops *s, const char *name)
{
    cJSON *d = cJSON_Parse(s->defaults ? s->defaults : "{}");
    int found = cJSON_GetObjectItemCaseSensitive(d, name) != NULL;

    cJSON_Delete(d);
    return found;
}

/* A scenario run open loop (its "rate" parameter > 0) paced its workers
 * with torn_ctx_pace; their samples join the result's open-loop figures. */
static void merge_openloop(const struct torn_ctx *ctx, struct torn_result *res)
{
    double rate = torn_param_num(ctx, "rate");

    if (rate > 0 && torn_result_openloop(res, rate) == TORN_OK)
        torn_stats_merge_openloop(ctx->stats, res->openloop);
}

/* --rate needs a scenario with an open-loop mode (parameter "rate"): an
 * error when none of the planned ones has it, a note naming those that run
 * closed loop anyway otherwise. */
static int check_rate(const struct run *r, struct torn_err *err)
{
    char closed[512] = "";
    size_t used = 0, n_open = 0;

    if (r->o->rate <= 0)
        return TORN_OK;
    for (size_t j = 0; j < r->n_sc; j++) {
        if (has_param(r->sc[j].ops, "rate"))
            n_open++;
        else
            torn_list_add(closed, sizeof closed, &used, r->sc[j].ops->name);
    }
    if (!n_open)
        return torn_err_set(err, TORN_E_USAGE,
                            "--rate: none of the selected scenarios (%s) has an open-loop mode; "
                            "concurrent-updaters has",
                            closed);
    if (used && !r->o->quiet)
        fprintf(stderr, "torn: note: --rate: %s %s no open-loop mode and run%s closed loop\n",
                closed, strchr(closed, ',') ? "have" : "has", strchr(closed, ',') ? "" : "s");
    return TORN_OK;
}

/* Each --set must name a parameter of at least one planned scenario. */
static int check_sets(const struct run *r, struct torn_err *err)
{
    for (size_t i = 0; i < r->n_sets; i++) {
        int found = 0;

        if (r->sets[i].key[0] == '?')
            continue;
        for (size_t j = 0; j < r->n_sc && !found; j++)
            found = has_param(r->sc[j].ops, r->sets[i].key);
        if (!found)
            return torn_err_set(err, TORN_E_CONFIG,
                                "--set %s: no scenario of this run has a parameter \"%s\" "
                                "(see scenarios/<name>.json)",
                                r->sets[i].key, r->sets[i].key);
    }
    return TORN_OK;
}

/* Every explicit scenario must be runnable on every target; standard ones
 * are skipped where unsupported.  Parameters are validated here too, so a
 * bad --set fails before anything starts. */
static int plan_check(struct run *r, struct torn_err *err)
{
    int rc0 = check_sets(r, err);

    if (rc0 == 0)
        rc0 = check_rate(r, err);
    if (rc0)
        return rc0;
    for (size_t i = 0; i < r->n_tg; i++) {
        unsigned caps = torn_target_caps(r->tg[i].t->ops);
        for (size_t j = 0; j < r->n_sc; j++) {
            const struct torn_scenario_ops *s = r->sc[j].ops;
            unsigned missing = s->needs & ~caps;
            cJSON *params = NULL;
            char names[256];
            int rc;

            if (missing && r->o->n_scenarios) {
                torn_caps_describe(missing, names, sizeof names);
                return torn_err_set(err, TORN_E_CONFIG,
                                    "scenario %s needs %s, which target %s does not support",
                                    s->name, names, r->tg[i].display);
            }
            size_t n_sets;
            struct torn_kv *sets = sets_for(r, s, &n_sets);

            rc = torn_params_merge(s, r->sc[j].spec_params,
                                   r->sc[j].spec ? r->sc[j].arg : "parameters", sets, n_sets,
                                   &params, err);
            free(sets);
            cJSON_Delete(params);
            if (rc)
                return rc;
        }
    }
    return TORN_OK;
}

/* torn's own fresh directory (torn-run-XXXXXX, outfile.h) inside --run-dir
 * (created 0711 when missing) or $TMPDIR or /tmp: a directory torn did not
 * create keeps its mode, a symlink planted by another user is not followed,
 * and two runs never share one.  Mode 0711: unprivileged managed servers
 * (postgres) traverse it to their own data directory. */
static int make_run_dir(struct run *r, struct torn_err *err)
{
    const char *tmp = getenv("TMPDIR");
    const char *parent = r->o->run_dir ? r->o->run_dir : tmp && *tmp ? tmp : "/tmp";
    int rc = torn_outdir_make(parent, r->o->run_dir ? 0711 : 0, "torn-run-", 0711, &r->run_dir,
                              err);

    if (rc == 0)
        r->own_run_dir = !r->o->run_dir;
    return rc;
}

/* ------------------------------------------------------------- reports */

/* Write every requested report file; those going to stdout ("-") only when
 * final (the run is over), so they are printed once.  Returns how many
 * failed (each said on stderr); the first message goes to *first_err. */
static size_t write_reports(struct run *r, int final, struct torn_err *first_err)
{
    struct torn_err err;
    size_t n_failed = 0;

    r->rep.duration_s = (double)(torn_now_ns() - r->t0) / 1e9;
    for (size_t i = 0; i < r->o->n_reports; i++) {
        int to_stdout = strcmp(r->o->reports[i].path, "-") == 0;
        if (to_stdout && final != 1)
            continue; /* once only, and not again in the rewrite */
        torn_err_clear(&err);
        if (torn_report_write_file(r->o->reports[i].ops, r->o->reports[i].path, &r->rep, &err)) {
            fprintf(stderr, "torn: %s\n", err.msg);
            if (!n_failed++ && first_err)
                *first_err = err;
        }
    }
    return n_failed;
}

/* The final reports.  One that cannot be written makes the run exit 2, and
 * the others are written again to say so (report_error, exit_code 2). */
static void write_final_reports(struct run *r)
{
    static struct torn_err failed; /* outlives r->rep, which points into it */
    static struct torn_err pushed;

    torn_err_clear(&failed);
    torn_err_clear(&pushed);
    /* A push that fails is a report that could not be written: exit 2, and
     * the files say why. */
    if (r->o->prom_push &&
        torn_report_prom_push(r->o->prom_push, &r->rep, r->o->timeout_ms, &pushed) != 0) {
        fprintf(stderr, "torn: %s\n", pushed.msg);
        r->rep.report_error = pushed.msg;
    }
    if (write_reports(r, 1, &failed) == 0)
        return;
    r->rep.report_error = failed.msg;
    write_reports(r, 2, NULL);
}

static int add_result(struct run *r, struct torn_result *res)
{
    struct torn_result **p = realloc(r->rep.results, (r->rep.n_results + 1) * sizeof *p);

    if (!p)
        return TORN_E_NOMEM;
    r->rep.results = p;
    p[r->rep.n_results++] = res;
    return TORN_OK;
}

static struct torn_kv *sets_for(const struct run *r, const struct torn_scenario_ops *s,
                                size_t *n_out);

/* " --OPT VALUE", VALUE shell-quoted. */
static void arg2(FILE *f, const char *opt, const char *value)
{
    fprintf(f, " %s ", opt);
    torn_shell_quote(f, value);
}

/* " --OPT K=V", K=V redacted and shell-quoted. */
static void arg_kv(FILE *f, const char *opt, const char *k, const char *v)
{
    char *kv = torn_asprintf("%s=%s", k, v), *red = torn_redact(kv);

    arg2(f, opt, red ? red : "***");
    free(red);
    free(kv);
}

/* The runner's options for one scenario, each argument quoted for a POSIX
 * shell, so the printed line pasted into sh runs exactly this command
 * (passwords replaced by "***"): "torn run --target X --scenario S --seed
 * N [...]". */
static char *replay_command(const struct run *r, const struct plan_target *tg,
                            const struct plan_scenario *sc)
{
    char *buf = NULL, seed[32];
    size_t len = 0, n;
    FILE *f = open_memstream(&buf, &len);
    struct torn_kv *sets;

    if (!f)
        return NULL;
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->o->seed);
    fputs("torn run", f);
    if (r->o->suite_path) { /* the suite again: its scenarios keep their params */
        arg2(f, "--suite", r->o->suite_path);
        arg2(f, "--seed", seed);
        if (!(sc->ops->flags & TORN_SCENARIO_REPLAYS_EXACTLY))
            fprintf(f, " --until-fail %d", TORN_REPLAY_UNTIL_FAIL);
        fclose(f);
        return buf;
    }
    arg2(f, "--target", tg->display);
    arg2(f, "--scenario", sc->arg);
    arg2(f, "--seed", seed);
    if (!(sc->ops->flags & TORN_SCENARIO_REPLAYS_EXACTLY))
        fprintf(f, " --until-fail %d", TORN_REPLAY_UNTIL_FAIL);
    if (r->o->target_spec)
        arg2(f, "--target-spec", r->o->target_spec);
    for (size_t i = 0; i < r->o->n_target_opts; i++)
        arg_kv(f, "--target-opt", r->o->target_opts[i].key, r->o->target_opts[i].value);
    if (r->o->fs)
        arg2(f, "--fs", r->o->fs);
    if (r->o->timeout_ms != TORN_DEFAULT_TIMEOUT_MS)
        fprintf(f, " --timeout-ms %d", r->o->timeout_ms);
    if (r->o->allow_remote)
        fprintf(f, " --allow-remote");
    if (r->o->all_violations)
        fprintf(f, " --all-violations");
    sets = sets_for(r, sc->ops, &n);
    for (size_t i = 0; sets && i < n; i++) {
        const char *k = sets[i].key;
        if (strcmp(k, "?duration_s") == 0)
            arg2(f, "--duration", sets[i].value);
        else if (k[0] == '?')
            fprintf(f, " --%s %s", k + 1, sets[i].value); /* numbers torn printed */
        else
            arg_kv(f, "--set", k, sets[i].value);
    }
    free(sets);
    torn_gate_replay_args(r->o->gate, f);
    fclose(f);
    return buf;
}

/* -------------------------------------------------------------- running */

static void progress(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->o->quiet)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* The tty progress line for res (NULL when not wanted): its time limit is
 * the scenario's duration_s parameter, where it has one. */
static struct torn_progress *start_progress(const struct run *r, const struct plan_target *tg,
                                            const struct torn_result *res,
                                            const struct torn_stats *stats)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(res->params, "duration_s");
    char label[160];

    if (!torn_progress_wanted(r->o->quiet))
        return NULL;
    snprintf(label, sizeof label, "%s x %s", res->scenario, tg->display);
    return torn_progress_start(r->o->quiet, label, cJSON_IsNumber(d) ? d->valuedouble : 0,
                               stats, res);
}

/* The scenario's deadline: t0 + its duration_s parameter (0 = none), or
 * + --duration for a scenario without one; 0 when neither applies. */
static uint64_t deadline_of(const cJSON *params, double cli_duration_s, uint64_t t0)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(params, "duration_s");
    double s = cJSON_IsNumber(d) ? d->valuedouble : cli_duration_s;

    return s > 0 ? t0 + (uint64_t)(s * 1e9) : 0;
}

/* After a scenario: did it do the work its verdict needs (work.h)?  Workers
 * that died on their own and history lines lost since hist_lost0 count too. */
static void judge_work(const struct run *r, const struct plan_scenario *sc,
                       struct torn_result *res, long long hist_lost0)
{
    struct torn_deaths d;
    char problem[PATH_MAX + 160];
    long long size, lost = torn_history_log_failures(r->history, NULL, NULL) - hist_lost0;
    int e;

    torn_proc_deaths(&d);
    if (lost > 0) {
        torn_history_log_failures(r->history, &e, &size);
        snprintf(problem, sizeof problem,
                 "history %s: %lld event%s not written (%s; the first lost at %lld bytes)",
                 torn_history_log_path(r->history), lost, lost == 1 ? "" : "s",
                 e ? strerror(e) : "short write", size);
    }
    torn_work_judge(res, sc->ops->work, &d, lost > 0 ? problem : NULL);
}

/* A scenario a signal cut short: a violation it found stands (FAIL), but
 * it is never a PASS: it did not finish, so it is an ERROR saying so. */
static void mark_interrupted(struct torn_result *res)
{
    char why[160];

    res->interrupted = 1;
    snprintf(why, sizeof why, "stopped at the run-wide cap of %lld target operations (--max-ops) "
             "before the scenario finished: no verdict", torn_throttle_max_ops());
    if (res->verdict == TORN_PASS && !first_signal && torn_throttle_capped())
        torn_result_error(res, TORN_E_INTERRUPTED, why);
    else if (res->verdict == TORN_PASS)
        torn_result_error(res, TORN_E_INTERRUPTED,
                          first_signal == SIGTERM
                              ? "interrupted by SIGTERM before the scenario finished: no verdict"
                              : "interrupted by SIGINT before the scenario finished: no verdict");
}

/* A FAIL that ended its plan at its first violation says so in its note
 * (every report carries it), ahead of what the plan left undone. */
static void note_stopped(struct torn_result *res)
{
    char *note;

    if (!res->stopped_at_violation || res->verdict != TORN_FAIL)
        return;
    note = torn_asprintf("stopped at the first violation, %.1f s in%s%s (--all-violations runs "
                         "the whole plan)",
                         res->n_violations ? res->violations[0].t_s : res->duration_s,
                         res->work_note ? ": " : "", res->work_note ? res->work_note : "");
    if (note) {
        free(res->work_note);
        res->work_note = note;
    }
}

/* The history's scenario-start line, its value naming the scenario and the
 * target (the HTML timeline labels its markers with them). */
static void mark_start(struct torn_history_log *h, const struct torn_result *res, uint64_t t0)
{
    cJSON *v = h ? cJSON_CreateObject() : NULL;

    if (v) {
        cJSON_AddStringToObject(v, "scenario", res->scenario ? res->scenario : "");
        cJSON_AddStringToObject(v, "target", res->target ? res->target : "");
    }
    torn_history_log_add(h, "fault", 0, "scenario-start", NULL, v, t0);
    cJSON_Delete(v);
}

/* Run sc on tg into res.  A re-run (rerun 1: measuring how often a FAIL
 * reproduces) writes no history and shows no progress line. */
static void run_one(struct run *r, struct plan_target *tg, struct plan_scenario *sc,
                    struct torn_result *res, int rerun)
{
    struct torn_ctx ctx;
    struct torn_err err;
    cJSON *params = NULL;
    uint64_t t0 = torn_now_ns();
    struct torn_progress *live;
    long long hist_lost, fmark;
    uint64_t dropped0;
    int rc;

    torn_err_clear(&err);
    memset(&ctx, 0, sizeof ctx);
    size_t n_sets;
    struct torn_kv *sets = sets_for(r, sc->ops, &n_sets);

    rc = torn_params_merge(sc->ops, sc->spec_params,
                           sc->spec ? sc->arg : "parameters", sets, n_sets, &params, &err);
    free(sets);
    if (rc == 0)
        rc = torn_stats_new(&ctx.stats, &err);
    if (rc) {
        torn_result_error(res, rc, err.msg);
        cJSON_Delete(params);
        return;
    }
    res->params = params;
    ctx.target = tg->t;
    ctx.params = params;
    ctx.seed = torn_seed_derive(r->o->seed, sc->ops->name);
    torn_rng_seed(&ctx.rng, ctx.seed);
    ctx.result = res;
    ctx.history = rerun ? NULL : r->history;
    ctx.run_dir = r->run_dir;
    ctx.timeout_ms = r->o->timeout_ms;
    ctx.quiet = r->o->quiet;
    ctx.t0_ns = t0;
    ctx.deadline_ns = deadline_of(params, r->o->duration_s, t0);
    ctx.stop_at_violation = !r->o->all_violations;
    ctx.slot = 0;
    ctx.fs = tg->fs;
    res->started_s = (double)(t0 - r->t0) / 1e9;
    hist_lost = torn_history_log_failures(r->history, NULL, NULL);
    dropped0 = torn_history_log_dropped(r->history);
    torn_proc_deaths_reset();
    mark_start(ctx.history, res, t0);
    live = rerun ? NULL : start_progress(r, tg, res, ctx.stats);
    fmark = torn_findings_mark(tg->t->cfg.log_dir);
    torn_gate_start(r->o->gate, tg->t, res);
    rc = sc->ops->run(&ctx, &err);
    torn_progress_stop(live); /* clears the line before anything else is printed */
    torn_target_close(tg->t); /* in case the scenario left it open */
    torn_proc_reap_all(200);  /* nothing a scenario started outlives it */
    /* What the target saw itself (its contracts, its service's log), once
     * every worker is gone: violations like the scenario's own. */
    torn_target_observe(tg->t);
    torn_findings_fold(tg->t->cfg.log_dir, fmark, res, t0);
    if (rc && res->verdict != TORN_FAIL)
        torn_result_error(res, rc, err.msg[0] ? err.msg : torn_strerror(rc));
    else if (rc && !res->stopped_at_violation) /* stopped on purpose: its "too
                                                  little was done" is no news */
        torn_result_violation(res, "scenario-completed", NULL, torn_ctx_elapsed(&ctx),
                              "the scenario stopped early: %s",
                              err.msg[0] ? err.msg : torn_strerror(rc));
    torn_stats_merge(ctx.stats, res->ops);
    merge_openloop(&ctx, res);
    torn_stats_free(ctx.stats);
    res->duration_s = (double)(torn_now_ns() - t0) / 1e9;
    if (torn_stop_requested())
        mark_interrupted(res);
    else
        judge_work(r, sc, res, hist_lost);
    note_stopped(res);
    if (torn_history_log_dropped(r->history) > dropped0)
        torn_result_metric(res, "history_events_dropped",
                           (double)(torn_history_log_dropped(r->history) - dropped0));
    torn_gate_judge(r->o->gate, tg->t, res); /* budgets, baseline, counters */
}

static struct torn_result *new_result(struct run *r, struct plan_target *tg,
                                      struct plan_scenario *sc)
{
    struct torn_result *res = torn_result_new();
    cJSON *name = sc->spec ? cJSON_GetObjectItemCaseSensitive(sc->spec, "name") : NULL;

    if (!res)
        return NULL;
    res->scenario = strdup(cJSON_IsString(name) ? name->valuestring : sc->ops->name);
    res->scenario_spec = sc->spec ? strdup(sc->arg) : NULL;
    /* "file" is shown as "file:durable": the table says what was tested. */
    if (!strchr(tg->display, ':') && !strchr(tg->display, '?'))
        res->target = torn_asprintf("%s:%s", tg->display, tg->cfg.strategy);
    else
        res->target = strdup(tg->display);
    res->driver = strdup(tg->cfg.driver);
    res->strategy = strdup(tg->cfg.strategy);
    res->seed = r->o->seed;
    res->replay = replay_command(r, tg, sc);
    res->replay_exact = (sc->ops->flags & TORN_SCENARIO_REPLAYS_EXACTLY) != 0;
    res->entry = r->entry ? r->entry - 1 : 0; /* run_target counted it */
    return res;
}

/* --until-fail N: while the verdict is PASS, run again with the same seed,
 * at most N attempts; each attempt's result replaces the last one in the
 * report.  Returns the result that stays. */
static struct torn_result *run_until_fail(struct run *r, struct plan_target *tg,
                                          struct plan_scenario *sc, struct torn_result *res)
{
    int n = r->o->until_fail;

    for (int a = 1;; a++) {
        struct torn_result *fresh;
        long long mark = torn_history_log_mark(r->history);

        run_one(r, tg, sc, res, 0);
        if (n <= 0)
            return res;
        res->attempt = a;
        res->attempts_max = n;
        if (res->verdict != TORN_PASS || res->interrupted || a >= n || torn_stop_requested())
            return res;
        progress(r, "torn: %s x %s: PASS on attempt %d of %d, again with seed %llu\n",
                 res->scenario, tg->display, a, n, (unsigned long long)r->o->seed);
        if (!(fresh = new_result(r, tg, sc)))
            return res;
        torn_history_log_rewind(r->history, mark); /* the history holds the attempt reported */
        r->rep.results[r->rep.n_results - 1] = fresh;
        torn_result_free(res);
        res = fresh;
    }
}

/* After a FAIL of a scenario whose interleaving the OS decides: re-run it
 * with the same seed (up to --repro-runs times, within TORN_REPRO_BUDGET_S)
 * and keep how many re-runs failed, for an honest replay line. */
static void measure_repro(struct run *r, struct plan_target *tg, struct plan_scenario *sc,
                          struct torn_result *res)
{
    double spent = 0;

    if (res->verdict != TORN_FAIL || res->replay_exact || res->interrupted ||
        r->o->until_fail > 0 || r->o->repro_runs <= 0 ||
        res->duration_s > TORN_REPRO_BUDGET_S)
        return;
    progress(r, "torn: %s x %s: FAIL; re-running it with the same seed to see how often it "
             "reproduces\n", res->scenario, tg->display);
    for (int i = 0; i < r->o->repro_runs && spent + res->duration_s <= TORN_REPRO_BUDGET_S &&
                    !torn_stop_requested(); i++) {
        struct torn_result *again = new_result(r, tg, sc);

        if (!again)
            return;
        run_one(r, tg, sc, again, 1);
        spent += again->duration_s;
        if (!again->interrupted) {
            res->repro_runs++;
            res->repro_fails += again->verdict == TORN_FAIL;
        }
        torn_result_free(again);
    }
}

/* Whether sc runs with the target's data on torn-fs: always with --fs
 * torn[:MODEL]; for a scenario that declares TORN_SCENARIO_NEEDS_FS when
 * the target can put its data there (and, for a standard one, /dev/fuse
 * opens).  Only those: FUSE is not the file system the store will run on,
 * so other scenarios are not judged on it. */
static int wants_fs(const struct run *r, struct plan_target *tg, const struct plan_scenario *sc)
{
    if (r->o->fs)
        return 1;
    if (!(sc->ops->flags & TORN_SCENARIO_NEEDS_FS) ||
        (sc->ops->needs & ~torn_target_caps(tg->t->ops)))
        return 0;
    return r->o->n_scenarios ||
           (torn_fs_available() && torn_target_caps_of(tg->t, TORN_CAP_FS_DATA, NULL, 0));
}

/* The mount is torn's user's alone, except for a managed Postgres started
 * by root: it runs as the `postgres` user (server.h) and must reach its data
 * directory, under the files' permissions. */
static unsigned fs_flags(const struct plan_target *tg)
{
    return geteuid() == 0 && !tg->t->cfg.location && strcmp(tg->t->ops->name, "postgres") == 0
               ? TORN_FS_ALLOW_OTHER
               : 0;
}

/* Mount torn-fs over <run_dir>/fs-N (backing <run_dir>/fs-N.data; fs-N.K
 * for a target's later mounts) before target setup and make that the
 * target's run_dir, so every driver that keeps its data in cfg->run_dir
 * (file store, exec adapters, managed servers) runs on it. */
static int mount_fs(struct run *r, struct plan_target *tg, struct torn_err *err)
{
    const char *spec = r->o->fs, *colon = spec ? strchr(spec, ':') : NULL;
    enum torn_fs_model model = TORN_FS_POWER;
    char *backing, sfx[24] = "";
    int rc;

    if (spec && strncmp(spec, "torn", 4) != 0)
        return torn_err_set(err, TORN_E_USAGE, "--fs %s: only torn[:process|power|fsync-fail]",
                            spec);
    if (colon && (rc = torn_fs_model_parse(colon + 1, &model, err)) != 0)
        return rc;
    if (tg->n_mounts++)
        snprintf(sfx, sizeof sfx, ".%d", tg->n_mounts - 1);
    free(tg->fs_dir);
    tg->fs_dir = torn_asprintf("%s/fs-%zu%s", r->run_dir, (size_t)(tg - r->tg), sfx);
    backing = torn_asprintf("%s/fs-%zu%s.data", r->run_dir, (size_t)(tg - r->tg), sfx);
    if (!tg->fs_dir || !backing) {
        free(backing);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    if (mkdir(tg->fs_dir, 0711) != 0 || mkdir(backing, 0711) != 0 || chmod(backing, 0711) != 0)
        rc = torn_err_sys(err, TORN_E_ENV, errno, "torn-fs directories in %s", r->run_dir);
    else
        rc = torn_fs_mount(backing, tg->fs_dir, model, fs_flags(tg), &tg->fs, err);
    free(backing);
    if (rc == 0) {
        tg->t->cfg.run_dir = tg->fs_dir;
        progress(r, "torn: target %s: data on torn-fs at %s (model %s)\n", tg->display,
                 tg->fs_dir, torn_fs_model_name(model));
    }
    return rc;
}

/* Whether sc can run on the set-up target: what the target says it can do
 * at run time (an exec adapter's answers, file:DIR off torn-fs), and
 * torn-fs itself for a scenario that needs it.  0 = run it; 1 = skip a
 * standard scenario that cannot (with a note); for an explicit one a
 * negative code with err set: its result is that ERROR (exit 2). */
static int runnable(const struct run *r, struct plan_target *tg, const struct plan_scenario *sc,
                    struct torn_err *err)
{
    char why[256] = "", names[128];
    unsigned lack = sc->ops->needs & ~torn_target_caps_of(tg->t, sc->ops->needs, why, sizeof why);

    if (!lack && (sc->ops->flags & TORN_SCENARIO_NEEDS_FS) && !tg->fs) {
        lack = TORN_CAP_FS_DATA;
        snprintf(why, sizeof why, "torn-fs is not available (cannot open /dev/fuse)");
    }
    if (!lack)
        return 0;
    torn_caps_describe(lack, names, sizeof names);
    if (r->o->n_scenarios) {
        return torn_err_set(err, TORN_E_CONFIG, "scenario %s needs %s: %s", sc->ops->name,
                            names, why[0] ? why : "the target does not support it");
    }
    progress(r, "torn: note: %s skipped on %s: it needs %s: %s\n", sc->ops->name, tg->display,
             names, why[0] ? why : "not supported");
    return 1;
}

/* Set the target up, on torn-fs when fs; 0 or the error (in err). */
static int target_up(struct run *r, struct plan_target *tg, int fs, struct torn_err *err)
{
    int rc = fs ? mount_fs(r, tg, err) : TORN_OK;

    progress(r, "torn: target %s: setting up\n", tg->display);
    return rc ? rc : torn_target_setup(tg->t, err);
}

static void target_down(struct run *r, struct plan_target *tg)
{
    torn_target_teardown(tg->t);
    torn_fs_unmount(tg->fs);
    tg->fs = NULL;
    tg->t->cfg.run_dir = r->run_dir;
}

static void run_target(struct run *r, struct plan_target *tg)
{
    struct torn_err err;
    unsigned caps = torn_target_caps(tg->t->ops);
    int rc = TORN_OK, sc_rc, up = -1; /* -1 not set up, else on torn-fs or not */

    torn_err_clear(&err);
    for (size_t j = 0; j < r->n_sc; j++) {
        struct plan_scenario *sc = &r->sc[j];
        struct torn_result *res;
        int fs;

        if (torn_stop_requested())
            break;
        if (sc->ops->needs & ~caps)
            continue; /* a standard scenario this target cannot run */
        if (!torn_shard_owns(&r->o->shard, r->entry++))
            continue; /* another shard's entry (shard.h) */
        if ((fs = wants_fs(r, tg, sc)) != up) {
            if (up >= 0)
                target_down(r, tg);
            torn_err_clear(&err);
            rc = target_up(r, tg, fs, &err);
            up = fs;
        }
        sc_rc = rc ? rc : runnable(r, tg, sc, &err);
        if (sc_rc > 0)
            continue;
        res = new_result(r, tg, sc);
        if (!res || add_result(r, res) != 0) {
            torn_result_free(res);
            break;
        }
        if (sc_rc) {
            torn_result_error(res, sc_rc, err.msg);
        } else {
            progress(r, "torn: %s x %s ...\n", res->scenario, tg->display);
            res = run_until_fail(r, tg, sc, res);
            measure_repro(r, tg, sc, res);
        }
        progress(r, "torn: %s x %s: %s (%.1f s%s)\n", res->scenario, tg->display,
                 torn_verdict_name(res->verdict), res->duration_s,
                 res->stopped_at_violation && res->verdict == TORN_FAIL
                     ? ", stopped at the first violation"
                     : "");
        write_reports(r, 0, NULL); /* results so far survive even a SIGKILL of torn */
    }
    if (up >= 0)
        target_down(r, tg);
}

static int build_sets(struct run *r)
{
    const struct torn_run_opts *o = r->o;
    size_t n = o->n_sets + 3;
    char buf[64];

    r->sets = calloc(n, sizeof *r->sets);
    if (!r->sets)
        return TORN_E_NOMEM;
    for (size_t i = 0; i < o->n_sets; i++)
        r->sets[r->n_sets++] = (struct torn_kv){strdup(o->sets[i].key), strdup(o->sets[i].value)};
    if (o->workers > 0) {
        snprintf(buf, sizeof buf, "%lld", o->workers);
        r->sets[r->n_sets++] = (struct torn_kv){strdup("?workers"), strdup(buf)};
    }
    if (o->duration_s >= 0) {
        snprintf(buf, sizeof buf, "%g", o->duration_s);
        r->sets[r->n_sets++] = (struct torn_kv){strdup("?duration_s"), strdup(buf)};
    }
    if (o->rate > 0) {
        snprintf(buf, sizeof buf, "%.17g", o->rate);
        r->sets[r->n_sets++] = (struct torn_kv){strdup("?rate"), strdup(buf)};
    }
    return TORN_OK;
}

static int load_target_spec(struct run *r, struct torn_err *err)
{
    char *buf;
    size_t len;
    int rc;

    if (!r->o->target_spec)
        return TORN_OK;
    rc = torn_read_file(r->o->target_spec, &buf, &len, err);
    if (rc)
        return torn_err_set(err, TORN_E_CONFIG, "target spec %s: %s", r->o->target_spec,
                            rc == TORN_E_NOTFOUND ? "no such file" : err->msg);
    {
        char what[320];
        snprintf(what, sizeof what, "target spec %s", r->o->target_spec);
        rc = torn_parse_json(what, buf, len, &r->target_spec, err);
    }
    free(buf);
    return rc;
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->n_tg; i++) {
        torn_target_free(r->tg[i].t);
        torn_target_uri_free(&r->tg[i].cfg);
        free(r->tg[i].display);
        free(r->tg[i].fs_dir);
    }
    free(r->tg);
    for (size_t i = 0; i < r->n_sc; i++)
        cJSON_Delete(r->sc[i].spec);
    free(r->sc);
    for (size_t i = 0; i < r->n_sets; i++) {
        free((void *)r->sets[i].key);
        free((void *)r->sets[i].value);
    }
    free(r->sets);
    cJSON_Delete(r->target_spec);
    for (size_t i = 0; i < r->rep.n_results; i++)
        torn_result_free(r->rep.results[i]);
    free(r->rep.results);
    torn_history_log_close(r->history);
    free(r->command);
    free(r->run_dir);
}

int torn_run_stdout_taken(const struct torn_run_opts *o)
{
    for (size_t i = 0; i < o->n_reports; i++)
        if (strcmp(o->reports[i].path, "-") == 0)
            return 1;
    return 0;
}

/* Every output path must be writable, and safe to write (outfile.h),
 * before anything runs: exit 2 up front, not after minutes of testing.
 * One report at most on stdout: two would be one unparsable stream. */
static int check_output_paths(const struct torn_run_opts *o, struct torn_err *err)
{
    const char *on_stdout = NULL;
    char what[64];
    int rc;

    if (o->prom_push && (rc = torn_report_prom_push_check(o->prom_push, o->allow_remote, err)))
        return rc;
    for (size_t i = 0; i < o->n_reports; i++) {
        if (strcmp(o->reports[i].path, "-") == 0) {
            if (on_stdout)
                return torn_err_set(err, TORN_E_USAGE,
                                    "%s - and %s -: one report at most may go to stdout",
                                    on_stdout, o->reports[i].ops->option);
            on_stdout = o->reports[i].ops->option;
            continue;
        }
        snprintf(what, sizeof what, "%s report", o->reports[i].ops->option);
        if ((rc = torn_outfile_check(o->reports[i].path, what, err)) != 0)
            return rc;
    }
    return o->history_path ? torn_outfile_check(o->history_path, "--history", err) : TORN_OK;
}

/* The history: --history FILE or history.jsonl in the run directory. */
static int open_history(struct run *r, struct torn_err *err)
{
    char *hist = r->o->history_path ? strdup(r->o->history_path)
                                    : torn_asprintf("%s/history.jsonl", r->run_dir);
    int rc = hist ? torn_history_log_open(hist, r->o->history_max, &r->history, err)
                  : torn_err_set(err, TORN_E_NOMEM, "out of memory");

    free(hist);
    return rc;
}

static int prepare(struct run *r, struct torn_err *err)
{
    int rc;

    if ((rc = check_output_paths(r->o, err)) != 0)
        return rc;
    if ((rc = torn_throttle_init(r->o->max_ops, r->o->max_rate, err)) != 0)
        return rc;
    if (r->o->max_rate > 0 && r->o->rate > r->o->max_rate)
        fprintf(stderr, "torn: note: --rate %g is above --max-rate %g: operations fall behind "
                        "their schedule, and the corrected figures include torn's own wait\n",
                r->o->rate, r->o->max_rate);

    snprintf(r->ns, sizeof r->ns, "torn_%08llx",
             (unsigned long long)(torn_seed_derive(torn_now_ns() ^ (uint64_t)getpid(), "ns") &
                                  0xffffffffull));
    if ((rc = build_sets(r)) != 0)
        return torn_err_set(err, rc, "out of memory");
    if ((rc = load_target_spec(r, err)) != 0)
        return rc;
    if ((rc = plan_scenarios(r, err)) != 0 || (rc = plan_not_empty(r, err)) != 0)
        return rc;
    if ((rc = make_run_dir(r, err)) != 0)
        return rc;
    if ((rc = plan_targets(r, err)) != 0)
        return rc;
    if ((rc = plan_check(r, err)) != 0)
        return rc;
    /* Last: a run refused for bad options leaves an old --history alone. */
    return open_history(r, err);
}

/* With --max-ops or --max-rate: how many target operations the run sent,
 * and whether the operation cap stopped it. */
static void report_caps(const struct torn_run_opts *o)
{
    char ops[48] = "", rate[48] = "";

    if (o->max_ops <= 0 && o->max_rate <= 0)
        return;
    if (o->max_ops > 0)
        snprintf(ops, sizeof ops, "--max-ops %lld", o->max_ops);
    if (o->max_rate > 0)
        snprintf(rate, sizeof rate, "%s--max-rate %g/s", *ops ? ", " : "", o->max_rate);
    if (torn_throttle_capped() && !first_signal)
        fprintf(stderr, "torn: stopped at the operation cap: %lld target operations sent in all "
                        "(%s%s; those past the cap are the scenarios' closing reads)\n",
                torn_throttle_used(), ops, rate);
    else
        fprintf(stderr, "torn: %lld target operations sent in all (%s%s)\n", torn_throttle_used(),
                ops, rate);
}

/* --shard I/N: number the entries as run_target does (shard.h) and say
 * which part of them this shard runs. */
static void plan_shard(struct run *r)
{
    const struct torn_shard *s = &r->o->shard;
    size_t n = 0;

    for (size_t i = 0; i < r->n_tg; i++) {
        unsigned caps = torn_target_caps(r->tg[i].t->ops);
        for (size_t j = 0; j < r->n_sc; j++)
            n += !(r->sc[j].ops->needs & ~caps);
    }
    r->rep.shard_entries_total = n;
    r->rep.shard_entries = torn_shard_size(s, n);
    if (!s->index)
        return;
    r->rep.shard_index = s->index;
    r->rep.shard_count = s->count;
    progress(r, "torn: shard %u/%u: %zu of %zu entries (target x scenario: entry k runs in "
                "shard k mod %u + 1)\n",
             s->index, s->count, r->rep.shard_entries, n, s->count);
}

static void finish_run_dir(struct run *r, int code)
{
    if (r->own_run_dir && !r->o->keep && code == 0) {
        torn_rmtree(r->run_dir);
    } else if (!r->o->quiet) {
        fprintf(stderr, "torn: run directory (history, artifacts): %s\n", r->run_dir);
    }
}

int torn_run(const struct torn_run_opts *o)
{
    struct run r;
    struct torn_err err;
    const struct torn_reporter_ops *term = torn_reporter_find("terminal");
    FILE *human = torn_run_stdout_taken(o) ? stderr : stdout;
    int rc, code;

    memset(&r, 0, sizeof r);
    torn_err_clear(&err);
    r.o = o;
    r.t0 = torn_now_ns();
    install_signals();
    progress_tty = torn_progress_wanted(o->quiet);
    torn_fs_clean_stale(); /* mounts left by a torn that was SIGKILLed */
    rc = prepare(&r, &err);
    if (rc) {
        fprintf(stderr, "torn: %s\n", err.msg);
        torn_history_log_close(r.history);
        r.history = NULL;
        if (r.run_dir)
            torn_rmtree(r.run_dir); /* always torn's own fresh directory */
        run_free(&r);
        return torn_exit_code(rc);
    }
    /* Already redacted and quoted argument by argument (torn_command_line):
     * redacting the joined line again could eat a closing quote. */
    r.command = strdup(o->command_line ? o->command_line : "torn run");
    r.rep.tool_version = TORN_VERSION;
    torn_iso_now(r.rep.started_at);
    r.rep.seed = o->seed;
    r.rep.command = r.command;
    r.rep.run_dir = r.run_dir;
    r.rep.history_path = torn_history_log_path(r.history);
    r.rep.color = o->color;
    r.rep.quiet = o->quiet;
    progress(&r, "torn: seed %llu, run directory %s\n", (unsigned long long)o->seed, r.run_dir);
    plan_shard(&r);
    torn_gate_run_begin(o->gate);
    do { /* one round, or rounds until the --soak time is up (gate/soak.h) */
        for (size_t i = 0; i < r.n_tg && !torn_stop_requested(); i++)
            run_target(&r, &r.tg[i]);
    } while (torn_gate_run_again(o->gate, &r.rep));
    torn_proc_reap_all(500);
    r.rep.interrupted = torn_stop_requested();
    report_caps(r.o);
    r.rep.signal = first_signal;
    r.rep.history_cap = torn_history_log_cap(r.history);
    r.rep.history_dropped = torn_history_log_dropped(r.history);
    write_final_reports(&r);
    if (term)
        term->write(human, &r.rep, &err);
    fflush(human);
    /* GITHUB_ACTIONS=true: ::error annotations (the runner reads workflow
     * commands on stderr too), $GITHUB_STEP_SUMMARY. */
    if (torn_report_github(human, &r.rep) != 0)
        fprintf(stderr, "torn: cannot append the summary to $GITHUB_STEP_SUMMARY (%s)\n",
                getenv("GITHUB_STEP_SUMMARY"));
    code = torn_report_exit_code(&r.rep);
    if (code == 0 && torn_gate_finish(o->gate, stderr)) /* a budget nothing measured */
        code = 2;
    finish_run_dir(&r, code);
    run_free(&r);
    return code;
}

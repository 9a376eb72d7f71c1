/* torn: `torn fuzz --target URI --scenario NAME`: fault-plan fuzzing of a
 * real target.
 *
 * An execution is one real `torn run` of the scenario against the target
 * (a child process: the scenario kills, cuts power and mounts torn-fs as
 * ever), under a fault plan: the run's seed (which cut points tear which
 * pages, which moments the kills hit) and the scenario's fault parameters
 * (power-loss: updates, torn_per_point, max_cut_points, mode; crash-midwrite:
 * kills, max_delay_ms).  torn's own loop chooses the plans, AFL-style: a
 * plan whose run reached something new is kept in the corpus, and the next
 * plans are mutations of corpus plans (a new seed always, one parameter
 * moved).  "Something new" is the run's signature: its verdict, the
 * criteria it violated and the order of magnitude of what it reached (cut
 * points, crash states, damaged states, kills).  The first plan that FAILS
 * is the finding: the report names its plan and the `torn run` command that
 * replays it.  No finding within --time / --execs is a PASS with the work
 * done (execs, execs/s, corpus, signatures); no execution that ran is an
 * ERROR.  Slow per execution (a whole scenario run), which is where many
 * machines pay off: run one campaign per machine with different --seed.
 */
#include "command.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "core/err.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"
#include "core/version.h"
#include "proc/proc.h"

#define PLAN_DIMS 4
#define PLAN_CORPUS 128
#define PLAN_SETS 16

/* A fault parameter the loop varies: integers lo..hi, or names[value]. */
struct plan_dim {
    const char *param;
    int lo, hi;
    const char *const *names;
};

static const char *const power_modes[] = {"boundary", "sweep"};

static const struct plan_space {
    const char *scenario;
    struct plan_dim dims[PLAN_DIMS];
} spaces[] = {
    {"power-loss",
     {{"updates", 1, 3, NULL}, {"torn_per_point", 0, 2, NULL}, {"max_cut_points", 12, 24, NULL},
      {"mode", 0, 1, power_modes}}},
    {"crash-midwrite",
     {{"kills", 1, 20, NULL}, {"max_delay_ms", 1, 80, NULL}, {NULL, 0, 0, NULL},
      {NULL, 0, 0, NULL}}},
};

/* What the signature counts: exactly (cut points and kills are few), or by
 * order of magnitude (crash states). */
static const struct {
    const char *name;
    int exact;
} reach_metrics[] = {{"cut_points", 1}, {"crash_states", 0}, {"damaged_states", 0},
                     {"kills", 1}, {"kills_done", 1}, {NULL, 0}};

struct plan {
    uint64_t seed;
    int v[PLAN_DIMS];
};

struct plan_opts {
    const char *target, *scenario, *json;
    const char *sets[PLAN_SETS];   /* --set k=v passed to every run as given */
    int n_sets, quiet;
    double time_s, exec_timeout_s;
    long long max_execs;
    uint64_t seed;
};

struct campaign {
    const struct plan_space *space;   /* NULL: only the seed varies */
    struct plan corpus[PLAN_CORPUS];
    int n_corpus;
    uint64_t sigs[1024];
    int n_sigs;
    long long execs, errors;
    struct torn_rng rng;
    char dir[64];                     /* a private temp dir for the runs' JSON */
};

static int plan_usage(FILE *f)
{
    fputs("usage: torn fuzz --target URI --scenario NAME [--time S] [--execs N] [--seed N]\n"
          "                 [--set K=V]... [--exec-timeout S] [--json FILE] [--quiet]\n\n"
          "Fault-plan fuzzing of a real target: each execution is one `torn run` of the\n"
          "scenario against the target under a plan torn's loop chooses (the seed and\n"
          "the scenario's fault parameters: power-loss updates, torn_per_point,\n"
          "max_cut_points, mode; crash-midwrite kills, max_delay_ms), kept when its\n"
          "run reached something new (verdict, criteria, cut points, crash states,\n"
          "kills); stops at the first plan that FAILS and names its replay command.\n"
          "  --time S          stop after S seconds (default 300)\n"
          "  --execs N         stop after N executions (default: no limit)\n"
          "  --seed N          the campaign's seed (default: random)\n"
          "  --set K=V         fix a scenario parameter in every run\n"
          "  --exec-timeout S  one execution's limit (default 600)\n"
          "  --json FILE       the campaign as a torn JSON report\n"
          "Exit: 1 a plan FAILED, 0 none within the budget, 2 usage or no run ran.\n",
          f);
    return f == stdout ? 0 : 2;
}

static int plan_args(int argc, char **argv, struct plan_opts *o)
{
    static const struct option longs[] = {
        {"target", required_argument, NULL, 'T'}, {"scenario", required_argument, NULL, 'S'},
        {"time", required_argument, NULL, 't'},   {"execs", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 'e'},   {"set", required_argument, NULL, 'k'},
        {"exec-timeout", required_argument, NULL, 'x'},
        {"json", required_argument, NULL, 'J'},   {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    double d;
    int c;

    memset(o, 0, sizeof *o);
    o->time_s = 300, o->exec_timeout_s = 600;
    o->seed = torn_now_ns() ^ (uint64_t)getpid();
    optind = 1;
    while ((c = getopt_long(argc, argv, "+q", longs, NULL)) != -1) {
        switch (c) {
        case 'T': o->target = optarg; break;
        case 'S': o->scenario = optarg; break;
        case 'J': o->json = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': plan_usage(stdout); return 1;
        case 't':
            if (torn_arg_number("fuzz", "--time", optarg, 1, 7 * 86400, 0, &o->time_s))
                return 2;
            break;
        case 'x':
            if (torn_arg_number("fuzz", "--exec-timeout", optarg, 1, 86400, 0,
                                &o->exec_timeout_s))
                return 2;
            break;
        case 'n':
            if (torn_arg_number("fuzz", "--execs", optarg, 1, 1e9, 1, &d))
                return 2;
            o->max_execs = (long long)d;
            break;
        case 'e':
            if (torn_arg_u64("fuzz", "--seed", optarg, &o->seed))
                return 2;
            break;
        case 'k':
            if (o->n_sets == PLAN_SETS || !strchr(optarg, '=')) {
                fprintf(stderr, "torn fuzz: --set K=V (at most %d)\n", PLAN_SETS);
                return 2;
            }
            o->sets[o->n_sets++] = optarg;
            break;
        default: return plan_usage(stderr);
        }
    }
    if (optind < argc || !o->target || !o->scenario) {
        fprintf(stderr, "torn fuzz: fault-plan fuzzing needs --target URI and --scenario NAME%s\n",
                optind < argc ? " and no HARNESS" : "");
        return 2;
    }
    return 0;
}

/* 1 when the user fixed parameter name with --set. */
static int fixed(const struct plan_opts *o, const char *name)
{
    size_t len = strlen(name);

    for (int i = 0; i < o->n_sets; i++)
        if (strncmp(o->sets[i], name, len) == 0 && o->sets[i][len] == '=')
            return 1;
    return 0;
}

/* "k=v" of dimension d of p into buf, or "" when the user fixed it. */
static void dim_text(const struct plan_opts *o, const struct plan_dim *d, int v, char *buf,
                     size_t len)
{
    buf[0] = '\0';
    if (d->param && !fixed(o, d->param)) {
        if (d->names)
            snprintf(buf, len, "%s=%s", d->param, d->names[v]);
        else
            snprintf(buf, len, "%s=%d", d->param, v);
    }
}

/* A fresh plan, or a mutation of a corpus plan: a new seed, one dimension
 * moved (by one step or anywhere in its range). */
static struct plan next_plan(struct campaign *c)
{
    struct plan p;

    if (c->n_corpus == 0 || torn_rng_below(&c->rng, 8) == 0) {
        for (int i = 0; i < PLAN_DIMS; i++) {
            const struct plan_dim *d = c->space ? &c->space->dims[i] : NULL;
            p.v[i] = d && d->param ? d->lo + (int)torn_rng_below(&c->rng, (uint64_t)(d->hi - d->lo + 1))
                                   : 0;
        }
    } else {
        p = c->corpus[torn_rng_below(&c->rng, (uint64_t)c->n_corpus)];
        int i = (int)torn_rng_below(&c->rng, PLAN_DIMS);
        const struct plan_dim *d = c->space ? &c->space->dims[i] : NULL;
        if (d && d->param) {
            int step = torn_rng_below(&c->rng, 2) ? 1 : -1;
            p.v[i] = torn_rng_below(&c->rng, 4) == 0
                         ? d->lo + (int)torn_rng_below(&c->rng, (uint64_t)(d->hi - d->lo + 1))
                         : p.v[i] + step;
            p.v[i] = p.v[i] < d->lo ? d->lo : p.v[i] > d->hi ? d->hi : p.v[i];
        }
    }
    p.seed = torn_rng_next(&c->rng) % 1000000000000ull + 1;
    return p;
}

/* The argv of the run of plan p (strings in bufs, freed by the caller). */
static int plan_argv(const struct plan_opts *o, const struct campaign *c, const struct plan *p,
                     const char *json, char **argv, char bufs[][96])
{
    int n = 0, b = 0;

    argv[n++] = (char *)"torn";
    argv[n++] = (char *)"run";
    argv[n++] = (char *)"--target";
    argv[n++] = (char *)o->target;
    argv[n++] = (char *)"--scenario";
    argv[n++] = (char *)o->scenario;
    snprintf(bufs[b], 96, "%llu", (unsigned long long)p->seed);
    argv[n++] = (char *)"--seed";
    argv[n++] = bufs[b++];
    for (int i = 0; c->space && i < PLAN_DIMS; i++) {
        dim_text(o, &c->space->dims[i], p->v[i], bufs[b], 96);
        if (bufs[b][0]) {
            argv[n++] = (char *)"--set";
            argv[n++] = bufs[b++];
        }
    }
    for (int i = 0; i < o->n_sets; i++) {
        argv[n++] = (char *)"--set";
        argv[n++] = (char *)o->sets[i];
    }
    argv[n++] = (char *)"--quiet";
    argv[n++] = (char *)"--repro-runs";
    argv[n++] = (char *)"0";
    argv[n++] = (char *)"--json";
    argv[n++] = (char *)json;
    argv[n] = NULL;
    return n;
}

/* Run argv (this torn binary) with output discarded, bounded; its exit code,
 * or -1 when it did not finish in time (killed) or could not start. */
static int run_one(char **argv, double timeout_s)
{
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        torn_proc_child_init();
        setpgid(0, 0);
        if (null >= 0)
            dup2(null, 0), dup2(null, 1), dup2(null, 2);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    setpgid(pid, pid);
    torn_proc_track(pid);
    for (uint64_t until = torn_now_ns() + (uint64_t)(timeout_s * 1e9);;) {
        if (torn_proc_wait(pid, 100, &status, NULL) == 0)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (torn_now_ns() > until || torn_stop_requested()) {
            kill(-pid, SIGINT); /* torn run cleans up (mounts, servers) on SIGINT */
            if (torn_proc_wait(pid, 30000, &status, NULL) != 0) {
                kill(-pid, SIGKILL);
                torn_proc_kill(pid);
            }
            return -1;
        }
    }
}

/* The signature of a run's result (its JSON report), and the result. */
static uint64_t signature(const cJSON *r)
{
    const cJSON *verdict = cJSON_GetObjectItem(r, "verdict");
    const cJSON *m = cJSON_GetObjectItem(r, "metrics"), *by, *e;
    uint64_t h = 1469598103934665603ull;

    if (cJSON_IsString(verdict))
        h = torn_fnv1a(h, verdict->valuestring, strlen(verdict->valuestring));
    by = cJSON_GetObjectItem(m, "violations_by_criterion");
    cJSON_ArrayForEach(e, by) h = torn_fnv1a(h, e->string, strlen(e->string));
    for (int i = 0; reach_metrics[i].name; i++) {
        const cJSON *v = cJSON_GetObjectItem(m, reach_metrics[i].name);
        long long mag = 0;
        if (!cJSON_IsNumber(v))
            continue;
        if (reach_metrics[i].exact)
            mag = (long long)v->valuedouble;
        else
            for (double x = v->valuedouble; x >= 1; x /= 2)
                mag++;
        h = torn_fnv1a(h, reach_metrics[i].name, strlen(reach_metrics[i].name));
        h = torn_fnv1a(h, &mag, sizeof mag);
    }
    return h;
}

/* Keep p when its signature is new. */
static void feedback(struct campaign *c, const struct plan *p, uint64_t sig)
{
    for (int i = 0; i < c->n_sigs; i++)
        if (c->sigs[i] == sig)
            return;
    if (c->n_sigs < (int)(sizeof c->sigs / sizeof c->sigs[0]))
        c->sigs[c->n_sigs++] = sig;
    if (c->n_corpus < PLAN_CORPUS)
        c->corpus[c->n_corpus++] = *p;
    else
        c->corpus[torn_rng_below(&c->rng, PLAN_CORPUS)] = *p;
}

/* The replay command of a plan, shell-quoted, into a malloc'd string. */
static char *replay_line(char **argv, int n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    for (int i = 0; i < n - 5; i++) { /* without --quiet --repro-runs 0 --json F */
        if (i)
            fputc(' ', f);
        torn_shell_quote(f, argv[i]);
    }
    fclose(f);
    return buf;
}

/* One execution: 1 the plan FAILED (res filled), 0 not, -1 the run errored. */
static int execute(const struct plan_opts *o, struct campaign *c, const struct plan *p,
                   struct torn_result *res)
{
    char json[128], bufs[2 + PLAN_DIMS][96], *argv[64], *text = NULL;
    size_t len = 0;
    cJSON *doc = NULL;
    const cJSON *r;
    int n, code, found = 0;

    snprintf(json, sizeof json, "%s/run.json", c->dir);
    unlink(json);
    n = plan_argv(o, c, p, json, argv, bufs);
    code = run_one(argv, o->exec_timeout_s);
    c->execs++;
    if (torn_read_file(json, &text, &len, NULL) == 0)
        doc = cJSON_ParseWithLength(text, len);
    free(text);
    r = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "results"), 0);
    if (!r || (code != 0 && code != 1)) {
        const cJSON *why = cJSON_GetObjectItem(r, "error");
        c->errors++;
        if (!o->quiet || c->execs == 1)
            fprintf(stderr, "torn fuzz: exec %lld: the run %s%s%s\n", c->execs,
                    code < 0 ? "did not finish" : "ended in ERROR",
                    cJSON_IsString(why) ? ": " : "", cJSON_IsString(why) ? why->valuestring : "");
        cJSON_Delete(doc);
        return -1;
    }
    feedback(c, p, signature(r));
    if (code == 1) {
        const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "violations"), 0);
        const cJSON *crit = cJSON_GetObjectItem(v, "criterion"), *ev = cJSON_GetObjectItem(v, "evidence");
        char *replay = replay_line(argv, n);
        torn_result_violation(res, cJSON_IsString(crit) ? crit->valuestring : "violation",
                              "fault-plan", 0, "exec %lld: the plan FAILED: %s; replay: %s",
                              c->execs, cJSON_IsString(ev) ? ev->valuestring : "",
                              replay ? replay : "");
        free(replay);
        found = 1;
    }
    cJSON_Delete(doc);
    return found;
}

static struct torn_result *campaign_result(const struct plan_opts *o)
{
    struct torn_result *res = torn_result_new();

    if (!res)
        return NULL;
    res->scenario = torn_asprintf("fuzz-plan:%s", o->scenario);
    res->target = torn_strdup(o->target);
    res->driver = torn_strdup("torn-loop");
    res->strategy = torn_strdup("-");
    res->seed = o->seed; /* the campaign's: it decides every plan */
    res->params = cJSON_CreateObject();
    cJSON_AddNumberToObject(res->params, "time_s", o->time_s);
    cJSON_AddNumberToObject(res->params, "max_execs", (double)o->max_execs);
    return res;
}

static int plan_report(const struct plan_opts *o, struct torn_result *res, int argc, char **argv)
{
    struct torn_report rep = {0};
    struct torn_err err = {0};
    const struct torn_reporter_ops *term = torn_reporter_find("terminal");
    const struct torn_reporter_ops *js = torn_reporter_find("json");
    int rc = 0;

    rep.tool_version = TORN_VERSION;
    torn_iso_now(rep.started_at);
    rep.seed = o->seed;
    rep.duration_s = res->duration_s;
    rep.command = torn_command_line(argc, argv);
    rep.interrupted = res->interrupted;
    rep.quiet = o->quiet;
    rep.results = &res;
    rep.n_results = 1;
    if (term)
        term->write(stdout, &rep, &err);
    if (o->json && js && torn_report_write_file(js, o->json, &rep, &err) != 0) {
        fprintf(stderr, "torn fuzz: json report %s: %s\n", o->json, err.msg);
        rc = 2;
    }
    if (!rc)
        rc = torn_report_exit_code(&rep);
    free((void *)rep.command);
    return rc;
}

int torn_cmd_fuzz_plan(int argc, char **argv)
{
    struct plan_opts o;
    struct campaign *c;
    struct torn_result *res;
    uint64_t t0 = torn_now_ns();
    int rc = plan_args(argc, argv, &o), found = 0;

    if (rc)
        return rc == 1 ? 0 : rc;
    if (!(c = calloc(1, sizeof *c)) || !(res = campaign_result(&o))) {
        free(c);
        return 2;
    }
    torn_rng_seed(&c->rng, o.seed);
    for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
        if (strcmp(spaces[i].scenario, o.scenario) == 0)
            c->space = &spaces[i];
    snprintf(c->dir, sizeof c->dir, "/tmp/torn-fuzz-plan-XXXXXX");
    if (!mkdtemp(c->dir)) {
        fprintf(stderr, "torn fuzz: cannot make a temp directory\n");
        torn_result_free(res), free(c);
        return 2;
    }
    while (!found && !torn_stop_requested() &&
           (double)(torn_now_ns() - t0) / 1e9 < o.time_s &&
           (!o.max_execs || c->execs < o.max_execs)) {
        struct plan p = next_plan(c);
        found = execute(&o, c, &p, res) == 1;
    }
    res->duration_s = (double)(torn_now_ns() - t0) / 1e9;
    res->interrupted = torn_stop_requested();
    torn_result_metric(res, "execs", (double)c->execs);
    torn_result_metric(res, "execs_per_s", (double)c->execs / (res->duration_s > 0 ? res->duration_s : 1));
    torn_result_metric(res, "exec_errors", (double)c->errors);
    torn_result_metric(res, "corpus", c->n_corpus);
    torn_result_metric(res, "signatures", c->n_sigs);
    if (c->execs == c->errors && !found) {
        res->verdict = TORN_ERROR;
        res->error = torn_asprintf("fault-plan fuzzing: none of %lld runs reached a verdict "
                                   "(run one by hand: torn run --target ... --scenario %s)",
                                   c->execs, o.scenario);
    }
    rc = plan_report(&o, res, argc, argv);
    torn_rmtree(c->dir);
    torn_result_free(res);
    free(c);
    return rc;
}

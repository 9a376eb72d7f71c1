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
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "core/err.h"
#include "core/outfile.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"
#include "core/version.h"
#include "fault_plan.h"
#include "proc/proc.h"

#define PLAN_DIMS 4
#define PLAN_CORPUS 128

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
     {{"updates", 1, 6, NULL}, {"torn_per_point", 0, 2, NULL}, {"max_cut_points", 12, 40, NULL},
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
    struct torn_plan_base base;      /* target, scenario, the user's --set */
    const char *json, *junit, *engine, *out, *sync_dir, *role, *name;
    int quiet, jobs, all_findings;
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
    fputs("usage: torn fuzz --target URI --scenario NAME [--engine auto|afl|torn] [--time S]\n"
          "                 [--execs N] [--seed N] [--set K=V]... [--exec-timeout S]\n"
          "                 [--json FILE] [--junit FILE] [--quiet]\n"
          "                 [--out DIR] [--jobs N] [--sync-dir DIR --role main|secondary\n"
          "                 [--name N]] [--all-findings]\n\n"
          "Fault-plan fuzzing of a real target: each execution is one `torn run` of the\n"
          "scenario against the target under a fault plan; the first plan that FAILS is\n"
          "the finding, named with the command that replays it.\n"
          "  --engine afl   AFL++ chooses the plans (the default when afl-fuzz is\n"
          "                 installed): its input bytes decode into the seed and, for\n"
          "                 power-loss, the updates and ONE crash state (the cut point\n"
          "                 and what unsynced survives), for crash-midwrite the kills\n"
          "                 and their delays; feedback is the coverage of torn's own\n"
          "                 code in that run (build-fuzz/afl/fuzz-plan, afl-clang-fast):\n"
          "                 crash states, recovery paths, checker branches reached.  A\n"
          "                 FAIL is a crash AFL++ keeps (torn fuzz --report DIR reads it\n"
          "                 back with its replay command).  --out, --jobs, --sync-dir,\n"
          "                 --role, --name as for `torn fuzz HARNESS`; the first FAIL\n"
          "                 ends it unless --all-findings (fuzz on, every FAIL kept)\n"
          "  --engine torn  torn's own loop (the fallback without AFL++): plans are\n"
          "                 whole sweeps (power-loss updates, torn_per_point,\n"
          "                 max_cut_points, mode; crash-midwrite kills, max_delay_ms),\n"
          "                 kept when the run reached something new (verdict, criteria,\n"
          "                 cut points, crash states, kills)\n"
          "  --time S          stop after S seconds (default 300)\n"
          "  --execs N         stop after about N executions (default: no limit)\n"
          "  --seed N          the campaign's seed (default: random)\n"
          "  --set K=V         fix a scenario parameter in every run\n"
          "  --exec-timeout S  one execution's limit (default 600)\n"
          "  --json FILE       the campaign as a torn JSON report\n"
          "Exit: 1 a plan FAILED, 0 none within the budget, 2 usage or no run ran.\n",
          f);
    return f == stdout ? 0 : 2;
}

/* One value option; 0, or 2 after its error line. */
static int plan_opt(struct plan_opts *o, int c, const char *v)
{
    double d;

    switch (c) {
    case 't': return torn_arg_number("fuzz", "--time", v, 1, 7 * 86400, 0, &o->time_s) ? 2 : 0;
    case 'x':
        return torn_arg_number("fuzz", "--exec-timeout", v, 1, 86400, 0, &o->exec_timeout_s) ? 2
                                                                                             : 0;
    case 'n':
        if (torn_arg_number("fuzz", "--execs", v, 1, 1e9, 1, &d))
            return 2;
        o->max_execs = (long long)d;
        return 0;
    case 'j':
        if (torn_arg_number("fuzz", "--jobs", v, 1, 64, 1, &d))
            return 2;
        o->jobs = (int)d;
        return 0;
    case 'e': return torn_arg_u64("fuzz", "--seed", v, &o->seed) ? 2 : 0;
    case 'k':
        if (o->base.n_sets == TORN_PLAN_SETS || !strchr(v, '=')) {
            fprintf(stderr, "torn fuzz: --set K=V (at most %d)\n", TORN_PLAN_SETS);
            return 2;
        }
        o->base.sets[o->base.n_sets++] = v;
        return 0;
    case 'E':
        if (strcmp(v, "auto") && strcmp(v, "afl") && strcmp(v, "torn")) {
            fprintf(stderr, "torn fuzz: --engine: auto, afl or torn, not '%.40s'\n", v);
            return 2;
        }
        o->engine = v;
        return 0;
    }
    return 2;
}

static int plan_args(int argc, char **argv, struct plan_opts *o)
{
    static const struct option longs[] = {
        {"target", 1, NULL, 'T'},   {"scenario", 1, NULL, 'S'}, {"time", 1, NULL, 't'},
        {"execs", 1, NULL, 'n'},    {"seed", 1, NULL, 'e'},     {"set", 1, NULL, 'k'},
        {"exec-timeout", 1, NULL, 'x'}, {"json", 1, NULL, 'J'}, {"junit", 1, NULL, 'U'},
        {"quiet", 0, NULL, 'q'},    {"help", 0, NULL, 'h'},     {"engine", 1, NULL, 'E'},
        {"out", 1, NULL, 'o'},      {"jobs", 1, NULL, 'j'},     {"sync-dir", 1, NULL, 'D'},
        {"role", 1, NULL, 'R'},     {"name", 1, NULL, 'N'},     {"all-findings", 0, NULL, 'A'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof *o);
    o->time_s = 300, o->exec_timeout_s = 600, o->engine = "auto", o->jobs = 1;
    o->seed = torn_now_ns() ^ (uint64_t)getpid();
    optind = 1;
    while ((c = getopt_long(argc, argv, "+q", longs, NULL)) != -1) {
        switch (c) {
        case 'T': o->base.target = optarg; break;
        case 'S': o->base.scenario = optarg; break;
        case 'J': o->json = optarg; break;
        case 'U': o->junit = optarg; break;
        case 'o': o->out = optarg; break;
        case 'D': o->sync_dir = optarg; break;
        case 'R': o->role = optarg; break;
        case 'N': o->name = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'A': o->all_findings = 1; break;
        case 'h': plan_usage(stdout); return 1;
        case '?': return plan_usage(stderr);
        default:
            if (plan_opt(o, c, optarg))
                return 2;
        }
    }
    if (optind < argc || !o->base.target || !o->base.scenario) {
        fprintf(stderr, "torn fuzz: fault-plan fuzzing needs --target URI and --scenario NAME%s\n",
                optind < argc ? " and no HARNESS" : "");
        return 2;
    }
    return 0;
}

/* "k=v" of dimension d with value v into buf, or "" when the user fixed it. */
static void dim_text(const struct plan_opts *o, const struct plan_dim *d, int v, char *buf,
                     size_t len)
{
    buf[0] = '\0';
    if (d->param && !torn_plan_fixed(&o->base, d->param)) {
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

/* The loop's plan p as a plan of fault_plan.h (its settings as "k=v"). */
static void to_plan(const struct plan_opts *o, const struct campaign *c, const struct plan *p,
                    struct torn_plan *tp)
{
    memset(tp, 0, sizeof *tp);
    tp->seed = p->seed;
    for (int i = 0; c->space && i < PLAN_DIMS && tp->n_sets < TORN_PLAN_MAX_DIMS; i++) {
        dim_text(o, &c->space->dims[i], p->v[i], tp->sets[tp->n_sets], sizeof tp->sets[0]);
        tp->n_sets += tp->sets[tp->n_sets][0] != '\0';
    }
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

/* One execution of plan tp: 1 the plan FAILED (res filled), 0 not, -1 the
 * run errored; *sig the run's signature. */
static int run_plan(const struct plan_opts *o, struct campaign *c, const struct torn_plan *tp,
                    struct torn_result *res, uint64_t *sig)
{
    char json[128], runs[128], seed[24], *argv[TORN_PLAN_ARGV], *text = NULL;
    size_t len = 0;
    cJSON *doc = NULL;
    const cJSON *r;
    int code, found = 0;

    snprintf(json, sizeof json, "%s/run.json", c->dir);
    unlink(json);
    snprintf(runs, sizeof runs, "%s/runs", c->dir);
    mkdir(runs, 0700);
    torn_plan_argv(&o->base, tp, runs, json, argv, seed);
    code = run_one(argv, o->exec_timeout_s);
    torn_rmtree(runs); /* a FAIL's or an ERROR's run directory: the replay recreates it */
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
    *sig = signature(r);
    if (code == 1) {
        const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "violations"), 0);
        const cJSON *crit = cJSON_GetObjectItem(v, "criterion"), *ev = cJSON_GetObjectItem(v, "evidence");
        char *replay = torn_plan_replay(&o->base, tp);
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

/* One execution of the loop's plan p, kept when its run reached something
 * new: as run_plan. */
static int execute(const struct plan_opts *o, struct campaign *c, const struct plan *p,
                   struct torn_result *res)
{
    struct torn_plan tp;
    uint64_t sig = 0;
    int rc;

    to_plan(o, c, p, &tp);
    if ((rc = run_plan(o, c, &tp, res, &sig)) >= 0)
        feedback(c, p, sig);
    return rc;
}

static struct torn_result *campaign_result(const struct plan_opts *o)
{
    struct torn_result *res = torn_result_new();

    if (!res)
        return NULL;
    res->scenario = torn_asprintf("fuzz-plan:%s", o->base.scenario);
    res->target = torn_strdup(o->base.target);
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

/* torn's own loop: plans until a FAIL, --time or --execs. */
static int own_loop(struct plan_opts *op, int argc, char **argv)
{
    struct plan_opts o = *op;
    struct campaign *c;
    struct torn_result *res;
    uint64_t t0 = torn_now_ns();
    int rc, found = 0;

    if (!(c = calloc(1, sizeof *c)) || !(res = campaign_result(&o))) {
        free(c);
        return 2;
    }
    torn_rng_seed(&c->rng, o.seed);
    for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
        if (strcmp(spaces[i].scenario, o.base.scenario) == 0)
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
                                   c->execs, o.base.scenario);
    }
    rc = plan_report(&o, res, argc, argv);
    torn_rmtree(c->dir);
    torn_result_free(res);
    free(c);
    return rc;
}

/* Write n seed inputs for AFL++ into dir (bytes[i], 9 each), drawn from
 * the campaign's seed; power-loss: updates spread over the range, the
 * model's own crash (nothing unsynced kept) at the first operation (a
 * mutation of that one byte reaches every cut point of the run). */
static int write_seeds(const struct plan_opts *o, const char *dir, uint8_t bytes[][9], int n)
{
    struct torn_rng rng;
    struct torn_err err = {0};

    torn_rng_seed(&rng, o->seed);
    for (int i = 0; i < n; i++) {
        char path[128];
        for (size_t k = 0; k < 9; k++)
            bytes[i][k] = (uint8_t)torn_rng_below(&rng, 256);
        if (strcmp(o->base.scenario, "power-loss") == 0) /* the model's crash */
            bytes[i][0] = (uint8_t)(i * 8 / n), bytes[i][1] = bytes[i][2] = bytes[i][3] = 0;
        snprintf(path, sizeof path, "%s/plan-%d", dir, i);
        if (torn_write_file_atomic(path, bytes[i], 9, &err) != 0) {
            fprintf(stderr, "torn fuzz: seed %s: %s\n", path, err.msg);
            return -1;
        }
    }
    return 0;
}

/* AFL++ skips a seed that crashes in its calibration instead of keeping
 * it, so the seed plans run first as plain runs: the first that FAILS is
 * the campaign's finding (reported as the loop reports one; exit 1).  -1:
 * none failed, AFL++ goes on from them. */
static int seed_check(const struct plan_opts *o, uint8_t bytes[][9], int n, int argc,
                      char **argv)
{
    struct campaign *c = calloc(1, sizeof *c);
    struct torn_result *res = c ? campaign_result(o) : NULL;
    uint64_t t0 = torn_now_ns(), sig;
    int found = 0, rc = -1;

    if (c)
        snprintf(c->dir, sizeof c->dir, "/tmp/torn-fuzz-plan-XXXXXX");
    if (!res || !mkdtemp(c->dir)) {
        torn_result_free(res), free(c);
        return -1;   /* AFL++ runs them anyway */
    }
    for (int i = 0; i < n && !found && !torn_stop_requested(); i++) {
        struct torn_plan tp;
        torn_plan_decode(&o->base, bytes[i], 9, &tp);
        found = run_plan(o, c, &tp, res, &sig) == 1;
    }
    if (found) {
        free(res->driver);
        res->driver = torn_strdup("afl++ seed plans");
        res->duration_s = (double)(torn_now_ns() - t0) / 1e9;
        torn_result_metric(res, "execs", (double)c->execs);
        rc = plan_report(o, res, argc, argv);
    }
    torn_rmtree(c->dir);
    torn_result_free(res);
    free(c);
    return rc;
}

/* The output directory AFL++ writes (--sync-dir, --out or a new temp dir)
 * into out, with the campaign's description in it; 0 or 2. */
static int afl_out(const struct plan_opts *o, char *out, size_t len)
{
    struct torn_err err = {0};
    char conf[PATH_MAX + 32];
    int dfd;

    if (o->sync_dir || o->out) {
        snprintf(out, len, "%s", o->sync_dir ? o->sync_dir : o->out);
        if (torn_dir_open_safe(out, 0755, &dfd, &err) != 0) {
            fprintf(stderr, "torn fuzz: %s %s: %s\n", o->sync_dir ? "--sync-dir" : "--out", out,
                    err.msg);
            return 2;
        }
        close(dfd);
    } else if (snprintf(out, len, "/tmp/torn-fuzz-plan-XXXXXX"), !mkdtemp(out)) {
        fprintf(stderr, "torn fuzz: cannot make a temp directory\n");
        return 2;
    }
    snprintf(conf, sizeof conf, "%s/%s", out, TORN_PLAN_CONF);
    if (torn_plan_base_save(&o->base, conf) != 0) {
        fprintf(stderr, "torn fuzz: cannot write %s\n", conf);
        return 2;
    }
    setenv("TORN_PLAN_CONF", conf, 1);
    return 0;
}

/* AFL++ chooses the plans: `torn fuzz plan` (cmd_fuzz.c) runs afl-fuzz on
 * build-fuzz/afl/fuzz-plan with the campaign's description in the output
 * directory; every FAIL is a crash there. */
static int afl_mode(const struct plan_opts *o, int argc, char **argv)
{
    char out[PATH_MAX], seeds[64] = "/tmp/torn-fuzz-plan-seeds-XXXXXX", num[4][32];
    char work[64] = "/tmp/torn-fuzz-plan-work-XXXXXX";
    char *av[32];
    uint8_t bytes[8][9];
    int n = 0, rc;

    if ((rc = afl_out(o, out, sizeof out)) != 0)
        return rc;
    if (!mkdtemp(seeds) || write_seeds(o, seeds, bytes, 8) != 0 || !mkdtemp(work)) {
        fprintf(stderr, "torn fuzz: cannot write the seed plans\n");
        torn_rmtree(seeds);
        return 2;
    }
    if ((rc = seed_check(o, bytes, 8, argc, argv)) >= 0) {
        torn_rmtree(seeds), torn_rmtree(work);
        return rc;
    }
    setenv("TORN_PLAN_WORK", work, 1);
    snprintf(num[0], sizeof num[0], "%g", o->exec_timeout_s);
    setenv("TORN_PLAN_EXEC_TIMEOUT", num[0], 1);
    if (o->all_findings) /* AFL++ stops at a crash when the variable is set at all */
        unsetenv("AFL_BENCH_UNTIL_CRASH");
    else                 /* the first FAIL ends it, as the loop's */
        setenv("AFL_BENCH_UNTIL_CRASH", "1", 1);
    setenv("AFL_DISABLE_TRIM", "1", 1);        /* trimming re-runs whole scenarios */
    /* calibrating the seeds would run each 3-7 times more (a run's coverage
     * varies with timing); seed_check has just run each once */
    setenv("AFL_NO_STARTUP_CALIBRATION", "1", 1);
    snprintf(num[1], sizeof num[1], "%g", o->time_s);
    snprintf(num[2], sizeof num[2], "%d", o->jobs);
    snprintf(num[3], sizeof num[3], "%lld", o->max_execs);
    av[n++] = (char *)"fuzz", av[n++] = (char *)"--time";
    av[n++] = num[1], av[n++] = (char *)"--jobs", av[n++] = num[2];
    av[n++] = (char *)"--corpus", av[n++] = seeds;
    av[n++] = (char *)"--exec-timeout", av[n++] = num[0];
    if (o->max_execs)
        av[n++] = (char *)"--execs", av[n++] = num[3];
    if (o->sync_dir) {
        av[n++] = (char *)"--sync-dir", av[n++] = (char *)o->sync_dir;
        if (o->role)
            av[n++] = (char *)"--role", av[n++] = (char *)o->role;
        if (o->name)
            av[n++] = (char *)"--name", av[n++] = (char *)o->name;
    } else {
        av[n++] = (char *)"--out", av[n++] = out;
    }
    if (o->json)
        av[n++] = (char *)"--json", av[n++] = (char *)o->json;
    if (o->junit)
        av[n++] = (char *)"--junit", av[n++] = (char *)o->junit;
    if (o->quiet)
        av[n++] = (char *)"--quiet";
    av[n++] = (char *)"plan"; /* last: getopt keeps the loop's "+" (no permuting) */
    av[n] = NULL;
    rc = torn_cmd_fuzz(n, av);
    torn_rmtree(seeds);
    torn_rmtree(work);
    return rc;
}

/* afl: AFL++ (2 when it is missing); torn: the loop; auto: AFL++ when
 * afl-fuzz and afl-clang-fast are installed, else the loop, said. */
int torn_cmd_fuzz_plan(int argc, char **argv)
{
    struct plan_opts o;
    int rc = plan_args(argc, argv, &o), afl;

    if (rc)
        return rc == 1 ? 0 : rc;
    afl = torn_fuzz_in_path("afl-fuzz") && torn_fuzz_in_path("afl-clang-fast");
    if (strcmp(o.engine, "afl") == 0 && !afl) {
        fprintf(stderr, "torn fuzz: --engine afl: afl-fuzz or afl-clang-fast is not installed "
                        "(Debian package afl++; scripts/deps.sh)\n");
        return 2;
    }
    if (strcmp(o.engine, "torn") == 0 || !afl) {
        if (strcmp(o.engine, "auto") == 0)
            fprintf(stderr, "torn fuzz: afl-fuzz/afl-clang-fast not installed: torn's own loop "
                            "chooses the fault plans (no coverage feedback; install AFL++ for it)\n");
        if (o.sync_dir || o.out || o.jobs > 1)
            fprintf(stderr, "torn fuzz: --out, --jobs and --sync-dir are AFL++'s: the loop "
                            "ignores them\n");
        return own_loop(&o, argc, argv);
    }
    return afl_mode(&o, argc, argv);
}

/* torn: `torn fuzz HARNESS`: an AFL++ campaign for CI.
 *
 * Builds the harness when its binary is missing (make -C ROOT
 * build-fuzz/afl/fuzz-HARNESS), runs --jobs afl-fuzz instances (one -M main,
 * the others -S sN, all syncing through one output directory) with the CI
 * variables set, stops them at --time, reads every instance's fuzzer_stats
 * and writes the campaign as one torn result, so the terminal, --json and
 * --junit reporters work as for `torn run`: every crash or hang is a
 * violation (a failed JUnit testcase) naming the reproducer file and the
 * command that replays it.
 */
#include "command.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "color.h"
#include "core/err.h"
#include "core/outfile.h"
#include "core/version.h"
#include "proc/proc.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"
#include "fault_plan.h"
#include "sim/schedule.h"

#define FUZZ_MAX_JOBS 64

struct fuzz_opts {
    const char *harness;
    const char *strategy;        /* schedule harness: TORN_SCHEDULE_STRATEGY */
    const char *out;             /* AFL++ output directory, or NULL: a temp dir */
    const char *corpus;          /* seed directory, or NULL: fuzz/corpus/HARNESS */
    const char *json, *junit;
    const char *role;            /* --role main|secondary (with --sync-dir), or NULL */
    const char *report;          /* --report DIR: no fuzzing, report every
                                    instance found in DIR, or NULL */
    char name[32];               /* --name: this machine's instance names, or "" */
    double time_s, exec_timeout_s;   /* --exec-timeout: afl-fuzz -t, or 0 (its own) */
    long long max_execs;             /* --execs: afl-fuzz -E, or 0 */
    int jobs, asan, quiet, color;
    enum torn_color_mode color_mode;
};

struct fuzz_stats {
    double execs_per_s, execs, stability, run_time;
    long long corpus, crashes, hangs;
    int n_inst;                  /* instances that wrote fuzzer_stats */
};

/* The name of instance i (its directory under the output directory and
 * its afl-fuzz -M/-S name).  Alone: main, s1, s2, ...  In a campaign that
 * spans machines (--sync-dir): NAME-m for the --role main instance, NAME-s1,
 * NAME-s2, ... for the others, so instances of every machine sync through
 * one directory and only one in all is -M. */
static void instance_name(const struct fuzz_opts *o, int i, char *buf, size_t len)
{
    if (!o->role)
        snprintf(buf, len, i == 0 ? "main" : "s%d", i);
    else if (i == 0 && strcmp(o->role, "main") == 0)
        snprintf(buf, len, "%s-m", o->name);
    else
        snprintf(buf, len, "%s-s%d", o->name, i + (strcmp(o->role, "main") != 0));
}

static int instance_is_main(const struct fuzz_opts *o, int i)
{
    return i == 0 && (!o->role || strcmp(o->role, "main") == 0);
}

/* --name, or the host name: letters, digits, '_' and '-' only (AFL++ makes
 * a directory of it), at most 24 characters. */
static int set_name(struct fuzz_opts *o, const char *v)
{
    char host[256] = "host";

    if (!v) {
        gethostname(host, sizeof host - 1);
        for (char *p = host; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p))
                *p = '_';
        snprintf(o->name, sizeof o->name, "%.24s", host);
        return 0;
    }
    if (!*v || strlen(v) > 24 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_-") != strlen(v)) {
        fprintf(stderr, "torn fuzz: --name: 1 to 24 letters, digits, '_' or '-', not '%.40s'\n",
                v);
        return 2;
    }
    snprintf(o->name, sizeof o->name, "%s", v);
    return 0;
}

/* --sync-dir, --role and --name belong together. */
static int check_sync(struct fuzz_opts *o, const char *sync_dir, const char *name)
{
    if (!sync_dir && !o->role && !name)
        return 0;
    if (!sync_dir || !o->role) {
        fprintf(stderr, "torn fuzz: --sync-dir DIR and --role main|secondary go together "
                        "(--name N optional)\n");
        return 2;
    }
    if (o->out) {
        fprintf(stderr, "torn fuzz: --sync-dir is the output directory: not with --out\n");
        return 2;
    }
    if (strcmp(o->role, "main") != 0 && strcmp(o->role, "secondary") != 0) {
        fprintf(stderr, "torn fuzz: --role: main or secondary, not '%.40s'\n", o->role);
        return 2;
    }
    o->out = sync_dir;
    return set_name(o, name);
}

/* A report goes to stdout ("-"). */
static int stdout_taken(const struct fuzz_opts *o)
{
    return (o->json && strcmp(o->json, "-") == 0) || (o->junit && strcmp(o->junit, "-") == 0);
}

static int fuzz_usage(FILE *f)
{
    fputs("usage: torn fuzz HARNESS [--time S] [--jobs N] [--out DIR] [--corpus DIR]\n"
          "                 [--strategy S] [--asan] [--json FILE] [--junit FILE] [--quiet]\n"
          "                 [--color[=auto|always|never]] [--no-color]\n"
          "                 [--sync-dir DIR --role main|secondary [--name N]] [--report DIR]\n\n"
          "Run an AFL++ campaign on one harness of fuzz/ (schedule, spec, target_spec,\n"
          "record, file_read, http_body, http_events, history, exec_reply, proxy_toxic,\n"
          "params, edn, gate; plan: see below)\n"
          "and report it as a torn result: execs/s, corpus, stability, crashes, hangs,\n"
          "time to first crash; each\n"
          "crash or hang is a failed testcase with its reproducer.\n"
          "  --time S       stop after S seconds of fuzzing (default 60)\n"
          "  --jobs N       afl-fuzz instances, one -M and N-1 -S (default 1)\n"
          "  --out DIR      AFL++ output directory (default: a new temp dir; an existing\n"
          "                 one is resumed)\n"
          "  --corpus DIR   seed inputs (default fuzz/corpus/HARNESS)\n"
          "  --strategy S   schedule harness: naive, rename, durable (default), nocheck\n"
          "  --asan         fuzz the ASan/UBSan build (slower, finds more)\n"
          "  --execs N      each instance stops after about N executions (afl-fuzz -E)\n"
          "  --exec-timeout S  one execution's limit (afl-fuzz -t; default AFL++'s own)\n"
          "  --sync-dir DIR one campaign over several machines: DIR is shared by all\n"
          "                 (NFS, or rsync of DIR/*/queue between them); AFL++ syncs\n"
          "                 the instances of every machine through it\n"
          "  --role R       main: this machine runs the campaign's one -M instance\n"
          "                 (NAME-m) and --jobs - 1 -S; secondary: --jobs -S instances\n"
          "  --name N       this machine's instance names NAME-m, NAME-s1... (default\n"
          "                 the host name); the report covers this machine's instances\n"
          "  --report DIR   fuzz nothing: fold every instance found in DIR (all machines'\n"
          "                 of a --sync-dir campaign) into one report\n"
          "Environment: TORN_ROOT, the torn source tree the harnesses are built from\n"
          "(default: the clone the binary was built in, or for an installed torn the kit\n"
          "make install puts in PREFIX/libexec/torn when AFL++ is there, else the\n"
          "current directory);\n"
          "AFL_* variables pass through to afl-fuzz (AFL_BENCH_UNTIL_CRASH=1 stops at\n"
          "the first crash).\n"
          "Exit: 1 a crash or hang found, 0 none, 2 usage or environment error.\n"
          "torn fuzz --target URI --scenario NAME: fault-plan fuzzing of a real target\n"
          "(torn fuzz --target x --scenario y --help); AFL++ runs it as the harness plan,\n"
          "and `torn fuzz --report DIR` of such a campaign names each FAIL's replay command.\n",
          f);
    return f == stdout ? 0 : 2;
}

/* One option of `torn fuzz`; 0 ok, 2 after printing the error. */
static int fuzz_opt(struct fuzz_opts *o, int c, const char *v)
{
    double d;

    switch (c) {
    case 'a': o->asan = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    case 'C': o->color_mode = TORN_COLOR_NEVER; return 0;
    case 'K': return torn_color_parse("fuzz", v, &o->color_mode) ? 2 : 0;
    case 'o': o->out = v; return 0;
    case 'c': o->corpus = v; return 0;
    case 's': o->strategy = v; return 0;
    case 'J': o->json = v; return 0;
    case 'U': o->junit = v; return 0;
    case 'P': o->report = v; return 0;
    case 't':
        return torn_arg_number("fuzz", "--time", v, 1, 7 * 86400, 0, &o->time_s) ? 2 : 0;
    case 'x':
        return torn_arg_number("fuzz", "--exec-timeout", v, 0.001, 86400, 0, &o->exec_timeout_s)
                   ? 2
                   : 0;
    case 'E':
        if (torn_arg_number("fuzz", "--execs", v, 1, 1e12, 1, &d))
            return 2;
        o->max_execs = (long long)d;
        return 0;
    case 'j':
        if (torn_arg_number("fuzz", "--jobs", v, 1, FUZZ_MAX_JOBS, 1, &d))
            return 2;
        o->jobs = (int)d;
        return 0;
    }
    return 2;
}

/* 1 when dir is a fault-plan campaign's output (it holds its description). */
static int plan_campaign(const char *dir)
{
    char conf[PATH_MAX + 32];

    snprintf(conf, sizeof conf, "%s/%s", dir, TORN_PLAN_CONF);
    return access(conf, R_OK) == 0;
}

static int parse_args(int argc, char **argv, struct fuzz_opts *o)
{
    static const struct option lo[] = {
        {"asan", 0, 0, 'a'},   {"quiet", 0, 0, 'q'},   {"no-color", 0, 0, 'C'},
        {"time", 1, 0, 't'},   {"jobs", 1, 0, 'j'},    {"out", 1, 0, 'o'},
        {"corpus", 1, 0, 'c'}, {"strategy", 1, 0, 's'}, {"json", 1, 0, 'J'},
        {"junit", 1, 0, 'U'},  {"help", 0, 0, 'h'},     {"color", 2, 0, 'K'},
        {"sync-dir", 1, 0, 'S'}, {"role", 1, 0, 'R'},  {"name", 1, 0, 'N'},
        {"report", 1, 0, 'P'}, {"exec-timeout", 1, 0, 'x'}, {"execs", 1, 0, 'E'},
        {0, 0, 0, 0}};
    const char *sync_dir = NULL, *name = NULL;
    int c;

    memset(o, 0, sizeof *o);
    o->time_s = 60;
    o->jobs = 1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == 'S' || c == 'N') {
            *(c == 'S' ? &sync_dir : &name) = optarg;
            continue;
        }
        if (c == 'R') {
            o->role = optarg;
            continue;
        }
        if (c == 'h')
            return fuzz_usage(stdout) + 1;
        if (c == '?' || c == ':') {
            fprintf(stderr, "torn fuzz: %s '%s' (see `torn fuzz --help`)\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return 2;
        }
        if (fuzz_opt(o, c, optarg) != 0)
            return 2;
    }
    if (optind < argc)
        o->harness = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "torn fuzz: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->harness && o->report && plan_campaign(o->report))
        o->harness = "plan";
    if (!o->harness) {
        fprintf(stderr, "torn fuzz: which harness? (see `torn fuzz --help`)\n");
        return 2;
    }
    if (check_sync(o, sync_dir, name) != 0)
        return 2;
    if (o->report && o->out) {
        fprintf(stderr, "torn fuzz: --report DIR reads a campaign: not with --out or --sync-dir\n");
        return 2;
    }
    if (o->json && o->junit && strcmp(o->json, "-") == 0 && strcmp(o->junit, "-") == 0) {
        fprintf(stderr, "torn fuzz: --json - and --junit -: one report at most may go to stdout\n");
        return 2;
    }
    o->color = torn_color_wanted(o->color_mode, stdout_taken(o) ? STDERR_FILENO : STDOUT_FILENO);
    return 0;
}

/* ------------------------------------------------------ finding things */

/* The tree the harnesses come from: $TORN_ROOT; else the clone the binary
 * was built in (ROOT/build/torn), or the kit `make install` puts beside an
 * installed binary (PREFIX/bin/torn: PREFIX/libexec/torn, laid out as a
 * clone); else the current directory.  It must hold fuzz/fuzz.h. */
static int find_root(char *root, size_t len)
{
    const char *env = getenv("TORN_ROOT");
    char exe[PATH_MAX], probe[PATH_MAX + 32];
    ssize_t n;

    if (env && *env) {
        snprintf(root, len, "%s", env);
    } else if ((n = readlink("/proc/self/exe", exe, sizeof exe - 20)) > 0) {
        exe[n] = 0;
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = 0;
        }
        snprintf(root, len, "%s", exe);
        snprintf(probe, sizeof probe, "%s/fuzz/fuzz.h", root);
        if (access(probe, R_OK) != 0)
            snprintf(root, len, "%.*s/libexec/torn", PATH_MAX - 20, exe);
    } else {
        snprintf(root, len, ".");
    }
    snprintf(probe, sizeof probe, "%s/fuzz/fuzz.h", root);
    if (access(probe, R_OK) == 0)
        return 0;
    if (access("fuzz/fuzz.h", R_OK) == 0) {
        snprintf(root, len, ".");
        return 0;
    }
    fprintf(stderr,
            "torn fuzz: needs the torn source tree or an installed fuzzing kit: it runs\n"
            "  fuzz/%s.c built with AFL++ (afl-cc, package afl++), and there is no %s.\n"
            "  `make install` installs the kit only when AFL++ is there; otherwise run it\n"
            "  from a clone (./torn fuzz ...) or set TORN_ROOT=/path/to/the/clone.\n",
            "HARNESS", probe);
    return 2;
}

int torn_fuzz_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];

    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

/* Run a command (argv) with its output on stderr; exit status or -1. */
static int run_cmd(char *const argv[])
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        torn_proc_child_init();
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    torn_proc_track(pid);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    torn_proc_untrack(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The harness binary, built when missing. */
static int find_binary(const struct fuzz_opts *o, const char *root, char *bin, size_t len)
{
    char src[PATH_MAX * 2], target[128];

    snprintf(src, sizeof src, "%s/fuzz/%s.c", root, o->harness);
    if (strchr(o->harness, '/') || access(src, R_OK) != 0) {
        fprintf(stderr, "torn fuzz: unknown harness '%s' (no %s; see `torn fuzz --help`)\n",
                o->harness, src);
        return 2;
    }
    snprintf(target, sizeof target, "build-fuzz/%s/fuzz-%s", o->asan ? "asan" : "afl",
             o->harness);
    snprintf(bin, len, "%s/%s", root, target);
    if (access(bin, X_OK) == 0)
        return 0;
    snprintf(src, sizeof src, "%s/Makefile", root);
    if (access(src, R_OK) != 0) {   /* an installed kit builds nothing */
        fprintf(stderr, "torn fuzz: %s is not installed (the kit holds the AFL++ builds, not "
                        "--asan ones): run it from a clone or set TORN_ROOT to one\n", bin);
        return 2;
    }
    if (!torn_fuzz_in_path("afl-clang-fast")) {
        fprintf(stderr, "torn fuzz: %s is missing and afl-clang-fast is not installed: run "
                        "scripts/deps.sh (Debian package afl++), then make -C %s %s\n",
                bin, root, target);
        return 2;
    }
    fprintf(stderr, "torn fuzz: building %s\n", target);
    char *const argv[] = {(char *)"make", (char *)"--no-print-directory", (char *)"-C",
                          (char *)root, target, NULL};
    if (run_cmd(argv) != 0 || access(bin, X_OK) != 0) {
        fprintf(stderr, "torn fuzz: building %s failed; run: make -C %s %s\n", target, root,
                target);
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------ the campaign */

static void on_signal(int sig)
{
    (void)sig;
    torn_request_stop();
}

static void set_env(const struct fuzz_opts *o)
{
    setenv("AFL_NO_UI", "1", 1);
    setenv("AFL_SKIP_CPUFREQ", "1", 1);
    setenv("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1", 1);
    setenv("AFL_NO_AFFINITY", "1", 1);        /* shared CI hosts: cores may be busy */
    setenv("AFL_SKIP_CRASHES", "1", 1);       /* a seed that crashes is skipped */
    setenv("AFL_AUTORESUME", "1", 1);         /* an existing --out is resumed */
    setenv("AFL_FAST_CAL", "1", 1);
    setenv("AFL_NO_WARN_INSTABILITY", "1", 1);
    if (o->strategy)
        setenv("TORN_SCHEDULE_STRATEGY", o->strategy, 1);
}

/* Start instance i: afl-fuzz -i CORPUS -o OUT -M main|-S sI -V T [-x DICT]
 * -- BIN, output into OUT/<name>.log. */
static pid_t start_instance(const struct fuzz_opts *o, const char *root, const char *bin,
                            const char *out, int i)
{
    char corpus[PATH_MAX * 2], dict[PATH_MAX * 2], name[48], vt[32], log[PATH_MAX * 2];
    char ms[32], execs[32];
    const char *argv[24];
    int n = 0;
    pid_t pid;

    if (o->corpus)
        snprintf(corpus, sizeof corpus, "%s", o->corpus);
    else
        snprintf(corpus, sizeof corpus, "%s/fuzz/corpus/%s", root, o->harness);
    snprintf(dict, sizeof dict, "%s/fuzz/dict/%s.dict", root, o->harness);
    instance_name(o, i, name, sizeof name);
    snprintf(vt, sizeof vt, "%.0f", o->time_s);
    snprintf(log, sizeof log, "%s/%s.log", out, name);
    argv[n++] = "afl-fuzz";
    argv[n++] = "-i";
    argv[n++] = corpus;
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n++] = instance_is_main(o, i) ? "-M" : "-S";
    argv[n++] = name;
    argv[n++] = "-V";
    argv[n++] = vt;
    if (access(dict, R_OK) == 0) {
        argv[n++] = "-x";
        argv[n++] = dict;
    }
    if (o->exec_timeout_s > 0) {
        snprintf(ms, sizeof ms, "%.0f", o->exec_timeout_s * 1000);
        argv[n++] = "-t";
        argv[n++] = ms;
    }
    if (o->max_execs > 0) {
        snprintf(execs, sizeof execs, "%lld", o->max_execs);
        argv[n++] = "-E";
        argv[n++] = execs;
    }
    argv[n++] = "--";
    argv[n++] = bin;
    argv[n] = NULL;
    if ((pid = fork()) == 0) {
        int fd;
        torn_proc_child_init();
        if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid > 0)
        torn_proc_track(pid);
    return pid;
}

/* Wait for every instance: they stop themselves after -V seconds; after
 * time + grace (calibration, slow starts) or on SIGINT they are stopped. */
static void wait_instances(pid_t *pids, int n, double time_s)
{
    uint64_t deadline = torn_now_ns() + (uint64_t)((time_s + 60) * 1e9);
    int left = n, stopping = 0;

    while (left > 0) {
        left = 0;
        for (int i = 0; i < n; i++) {
            int status;
            if (pids[i] <= 0)
                continue;
            if (torn_proc_wait(pids[i], 100, &status, NULL) == 0)
                pids[i] = 0;
            else
                left++;
        }
        if (left && !stopping && (torn_stop_requested() || torn_now_ns() > deadline)) {
            stopping = 1;   /* SIGINT lets afl-fuzz write its final stats */
            deadline = torn_now_ns() + 5000000000ull;
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGINT);
        } else if (left && stopping && torn_now_ns() > deadline) {
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    torn_proc_kill(pids[i]);
            return;
        }
    }
}

/* ------------------------------------------------------ the results */

/* Add one instance's fuzzer_stats ("key : value" lines) into st. */
static void read_stats(const char *dir, struct fuzz_stats *st)
{
    char path[PATH_MAX + 32], *buf, *line, *save = NULL;
    size_t len;
    double stability = -1;

    snprintf(path, sizeof path, "%s/fuzzer_stats", dir);
    if (torn_read_file(path, &buf, &len, NULL) != 0)
        return;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char key[64];
        double v;
        if (sscanf(line, "%63s : %lf", key, &v) != 2)
            continue;
        if (strcmp(key, "execs_per_sec") == 0)
            st->execs_per_s += v;
        else if (strcmp(key, "execs_done") == 0)
            st->execs += v;
        else if (strcmp(key, "corpus_count") == 0 && v > st->corpus)
            st->corpus = (long long)v;
        else if (strcmp(key, "saved_crashes") == 0 || strcmp(key, "unique_crashes") == 0)
            st->crashes += (long long)v;
        else if (strcmp(key, "saved_hangs") == 0 || strcmp(key, "unique_hangs") == 0)
            st->hangs += (long long)v;
        else if (strcmp(key, "stability") == 0)
            stability = v;
        else if (strcmp(key, "run_time") == 0 && v > st->run_time)
            st->run_time = v;
    }
    free(buf);
    st->stability = (st->stability * st->n_inst + (stability < 0 ? 0 : stability)) /
                    (st->n_inst + 1);
    st->n_inst++;
}

/* The plan a fault-plan campaign's saved input path (OUT/INSTANCE/crashes/
 * id:...) decodes to, as its `torn run` replay command, into buf; 0, or -1
 * when OUT holds no campaign description. */
static int plan_hint(const char *path, char *buf, size_t len)
{
    struct torn_plan_base b;
    struct torn_plan p;
    char conf[PATH_MAX + 32], *text = NULL, *line;
    size_t n = 0;
    int up = 0;

    if (strlen(path) >= sizeof conf)
        return -1;
    memcpy(conf, path, strlen(path) + 1);
    for (char *slash; up < 3 && (slash = strrchr(conf, '/')); up++)
        *slash = 0;
    if (up < 3 || strlen(conf) + sizeof TORN_PLAN_CONF + 1 >= sizeof conf)
        return -1;
    strcat(strcat(conf, "/"), TORN_PLAN_CONF);
    if (torn_plan_base_load(&b, conf) != 0)
        return -1;
    if (torn_read_file(path, &text, &n, NULL) != 0) {
        torn_plan_base_free(&b);
        return -1;
    }
    torn_plan_decode(&b, (const uint8_t *)text, n, &p);
    line = torn_plan_replay(&b, &p);
    snprintf(buf, len, "%s", line ? line : "(out of memory)");
    free(line), free(text);
    torn_plan_base_free(&b);
    return 0;
}

/* The command that replays one saved input. */
static void replay_hint(const struct fuzz_opts *o, const char *root, const char *path,
                        char *buf, size_t len)
{
    if (strcmp(o->harness, "plan") == 0 && plan_hint(path, buf, len) == 0)
        return;
    if (strcmp(o->harness, "schedule") == 0)
        snprintf(buf, len, "torn replay --schedule '%s' --strategy %s", path,
                 o->strategy ? o->strategy : "durable");
    else
        snprintf(buf, len, "%s/build/fuzz/replay-%s '%s'  (make -C %s fuzz-replay)", root,
                 o->harness, path, root);
}

/* A result for the campaign (what NULL) or one finding. */
static struct torn_result *new_result(const struct fuzz_opts *o, const char *bin,
                                      const char *what)
{
    struct torn_result *res = torn_result_new();

    if (!res)
        return NULL;
    res->scenario = what ? torn_asprintf("fuzz:%s:%s", o->harness, what)
                         : torn_asprintf("fuzz:%s", o->harness);
    res->target = torn_asprintf("afl++%s", o->asan ? "+asan" : "");
    res->scenario_spec = torn_strdup(bin);
    res->driver = torn_strdup("afl++");
    res->strategy = torn_strdup(o->strategy ? o->strategy : o->asan ? "asan" : "-");
    res->params = cJSON_CreateObject();
    cJSON_AddNumberToObject(res->params, "time_s", o->time_s);
    cJSON_AddNumberToObject(res->params, "jobs", o->jobs);
    cJSON_AddBoolToObject(res->params, "asan", o->asan);
    return res;
}

#define FUZZ_MAX_FINDINGS 50   /* testcases reported one by one; the rest are counted */

struct findings {
    struct torn_result *res[FUZZ_MAX_FINDINGS];
    size_t n, total;
    double first_ms;             /* earliest crash, ms into the campaign; -1 none */
};

/* One failed result per file in DIR/<kind> ("crashes", "hangs"), each with
 * the reproducer path and the command that replays it. */
static void list_findings(const struct fuzz_opts *o, const char *root, const char *bin,
                          const char *dir, const char *kind, struct findings *fd)
{
    char sub[PATH_MAX + 16], path[PATH_MAX * 2], hint[PATH_MAX * 3];
    struct dirent **names;
    int n;

    snprintf(sub, sizeof sub, "%s/%s", dir, kind);
    if ((n = scandir(sub, &names, NULL, alphasort)) < 0)
        return;
    for (int i = 0; i < n; i++) {
        const char *t = strstr(names[i]->d_name, "time:");
        double ms = t ? atof(t + 5) : 0;
        struct torn_result *r;
        if (strncmp(names[i]->d_name, "id:", 3) == 0) {
            fd->total++;
            if (kind[0] == 'c' && (fd->first_ms < 0 || ms < fd->first_ms))
                fd->first_ms = ms;
            snprintf(hint, sizeof hint, "%s-%.6s", kind[0] == 'c' ? "crash" : "hang",
                     names[i]->d_name + 3);
            if (fd->n < FUZZ_MAX_FINDINGS && (r = new_result(o, bin, hint)) != NULL) {
                snprintf(path, sizeof path, "%s/%s", sub, names[i]->d_name);
                replay_hint(o, root, path, hint, sizeof hint);
                torn_result_violation(r, kind[0] == 'c' ? "crash" : "hang", path, ms / 1000,
                                      "reproduce: %s", hint);
                fd->res[fd->n++] = r;
            }
        }
        free(names[i]);
    }
    free(names);
}

/* The instances of the campaign: this run's (instance_name), or with
 * --report every subdirectory of out that holds fuzzer_stats, by name.
 * Fills names[0..n) (malloc'd, the caller frees each); returns n. */
static int instances(const struct fuzz_opts *o, const char *out, char **names, int max)
{
    struct dirent **ents = NULL;
    int n = 0, m;

    if (!o->report) {
        for (int i = 0; i < o->jobs && i < max; i++) {
            char name[48];
            instance_name(o, i, name, sizeof name);
            names[n++] = strdup(name);
        }
        return n;
    }
    m = scandir(out, &ents, NULL, alphasort);
    for (int i = 0; i < m; i++) {
        char stats[PATH_MAX];
        if (ents[i]->d_name[0] != '.' && n < max &&
            snprintf(stats, sizeof stats, "%s/%s/fuzzer_stats", out, ents[i]->d_name) <
                (int)sizeof stats &&
            access(stats, R_OK) == 0)
            names[n++] = strdup(ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return n;
}

static void fill_result(const struct fuzz_opts *o, const char *root, const char *bin,
                        const char *out, struct torn_result *res, struct findings *fd)
{
    struct fuzz_stats st = {0};
    char *names[FUZZ_MAX_JOBS * 16];
    int n = instances(o, out, names, (int)(sizeof names / sizeof names[0]));

    fd->first_ms = -1;
    for (int i = 0; i < n; i++) {
        char dir[PATH_MAX];
        if (names[i] && snprintf(dir, sizeof dir, "%s/%s", out, names[i]) < (int)sizeof dir) {
            read_stats(dir, &st);
            list_findings(o, root, bin, dir, "crashes", fd);
            list_findings(o, root, bin, dir, "hangs", fd);
        }
        free(names[i]);
    }
    if (st.n_inst == 0) {
        char msg[PATH_MAX + 128], name[48];
        instance_name(o, 0, name, sizeof name);
        if (o->report)
            snprintf(msg, sizeof msg, "no AFL++ instance in %s (no */fuzzer_stats)", out);
        else
            snprintf(msg, sizeof msg, "afl-fuzz wrote no fuzzer_stats: see %s/%s.log", out, name);
        torn_result_error(res, TORN_E_ENV, msg);
    } else if (fd->total) {
        torn_result_violation(res, "findings", NULL, fd->first_ms / 1000,
                              "%lld crash(es), %lld hang(s), first crash after %.1f s; one "
                              "testcase each follows%s",
                              st.crashes, st.hangs, fd->first_ms / 1000,
                              fd->total > fd->n ? " (the first 50)" : "");
    }
    torn_result_metric(res, "execs_per_s", st.execs_per_s);
    torn_result_metric(res, "execs", st.execs);
    torn_result_metric(res, "corpus", (double)st.corpus);
    torn_result_metric(res, "stability_pct", st.stability);
    torn_result_metric(res, "crashes", (double)st.crashes);
    torn_result_metric(res, "hangs", (double)st.hangs);
    torn_result_metric(res, "time_to_first_crash_s", fd->first_ms < 0 ? -1 : fd->first_ms / 1000);
    torn_result_metric(res, "instances", st.n_inst);
    torn_result_metric_str(res, "afl_out", out);
    if (!o->quiet)
        fprintf(stderr,
                "torn fuzz: %s: %.0f execs/s (%.0f execs), corpus %lld, stability %.2f%%, "
                "%lld crash(es), %lld hang(s)%s\n",
                o->harness, st.execs_per_s, st.execs, st.corpus, st.stability, st.crashes,
                st.hangs, fd->first_ms < 0 ? "" : ", first crash found");
}

/* The reports; a report to "-" is all stdout carries, the table then goes
 * to stderr. */
static int write_reports(const struct fuzz_opts *o, struct torn_report *rep)
{
    const struct { const char *name, *path; } outs[] = {
        {"terminal", "-"}, {"json", o->json}, {"junit", o->junit}};
    struct torn_err err = {0};
    int rc = 0;

    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        const struct torn_reporter_ops *ops = torn_reporter_find(outs[i].name);
        if (!outs[i].path || !ops)
            continue;
        if (i == 0 && stdout_taken(o)) {
            ops->write(stderr, rep, &err);
            continue;
        }
        if (torn_report_write_file(ops, outs[i].path, rep, &err) != 0) {
            fprintf(stderr, "torn fuzz: %s report %s: %s\n", outs[i].name, outs[i].path,
                    err.msg);
            rc = 2;
        }
    }
    return rc;
}

/* Prepare everything a campaign needs; 0, or an exit code. */
static int prepare(struct fuzz_opts *o, char *root, char *bin, char *out)
{
    enum torn_sched_strategy s;
    int rc;

    if (o->strategy && (strcmp(o->harness, "schedule") != 0 ||
                        torn_sched_strategy_parse(o->strategy, &s) != 0)) {
        fprintf(stderr, "torn fuzz: --strategy is for the schedule harness: naive, rename, "
                        "durable or nocheck\n");
        return 2;
    }
    if ((rc = find_root(root, PATH_MAX)) || (rc = find_binary(o, root, bin, PATH_MAX * 2)))
        return rc;
    if (o->report) {
        struct stat sb;
        if (stat(o->report, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "torn fuzz: --report %s: not a directory\n", o->report);
            return 2;
        }
        snprintf(out, PATH_MAX, "%s", o->report);
        return 0;
    }
    if (!torn_fuzz_in_path("afl-fuzz")) {
        fprintf(stderr, "torn fuzz: afl-fuzz is not installed: run scripts/deps.sh (Debian "
                        "package afl++)\n");
        return 2;
    }
    if (o->out) {
        struct torn_err err = {0};
        snprintf(out, PATH_MAX, "%s", o->out);
        int dfd; /* a directory another user could redirect is refused (outfile.h) */
        if (torn_dir_open_safe(out, 0755, &dfd, &err) != 0) {
            fprintf(stderr, "torn fuzz: --out %s: %s\n", out, err.msg);
            return 2;
        }
        close(dfd);
    } else {
        snprintf(out, PATH_MAX, "/tmp/torn-fuzz-%s-XXXXXX", o->harness);
        if (!mkdtemp(out)) {
            fprintf(stderr, "torn fuzz: cannot create %s: %s\n", out, strerror(errno));
            return 2;
        }
    }
    return 0;
}

int torn_cmd_fuzz(int argc, char **argv)
{
    struct fuzz_opts o;
    char root[PATH_MAX], bin[PATH_MAX * 2], out[PATH_MAX];
    pid_t pids[FUZZ_MAX_JOBS] = {0};
    struct torn_report rep = {0};
    struct torn_result *res, *all[1 + FUZZ_MAX_FINDINGS];
    struct findings fd = {0};
    struct sigaction sa;
    uint64_t t0 = torn_now_ns();
    int rc;

    for (int i = 1; i < argc; i++) /* --target: fault plans of a real target */
        if (strcmp(argv[i], "--target") == 0 || strncmp(argv[i], "--target=", 9) == 0)
            return torn_cmd_fuzz_plan(argc, argv);
    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc == 1 ? 0 : rc;
    if ((rc = prepare(&o, root, bin, out)) != 0)
        return rc;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    set_env(&o);
    if (!o.quiet && !o.report)
        fprintf(stderr, "torn fuzz: %s, %d instance(s), %.0f s, output %s\n", bin, o.jobs,
                o.time_s, out);
    for (int i = 0; i < o.jobs && !o.report; i++)
        pids[i] = start_instance(&o, root, bin, out, i);
    if (!o.report)
        wait_instances(pids, o.jobs, o.time_s);
    if (!(res = new_result(&o, bin, NULL)))
        return 2;
    fill_result(&o, root, bin, out, res, &fd);
    res->duration_s = (double)(torn_now_ns() - t0) / 1e9;
    res->interrupted = torn_stop_requested();
    all[0] = res;
    memcpy(all + 1, fd.res, fd.n * sizeof fd.res[0]);
    rep.tool_version = TORN_VERSION;
    torn_iso_now(rep.started_at);
    rep.duration_s = res->duration_s;
    rep.command = torn_command_line(argc, argv);
    rep.run_dir = out;
    rep.interrupted = res->interrupted;
    rep.color = o.color;
    rep.quiet = o.quiet;
    rep.results = all;
    rep.n_results = 1 + fd.n;
    rc = write_reports(&o, &rep);
    if (rc == 0)
        rc = torn_report_exit_code(&rep);
    free((void *)rep.command);
    for (size_t i = 0; i < rep.n_results; i++)
        torn_result_free(all[i]);
    return rc;
}

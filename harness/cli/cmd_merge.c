/* torn: `torn merge`: the JSON reports of a sharded run (torn run --shard
 * I/N, run/shard.h), or of any runs, merged into one report in every format.
 *
 * The shards of one run are checked to belong together before anything is
 * written: the same N and seed, each index 1..N exactly once, entry counts
 * that add up to the run's.  Their results are put back in the unsharded
 * run's order (each result carries its entry number), so the merged report
 * has the verdicts, violations and latency figures the shards reported, as
 * the unsharded run would list them.  Reports without "shard" (separate
 * runs) are concatenated in the order given.  The exit code is the merged
 * run's: 0 all held, 1 a violation, 2 an ERROR, an interrupted shard or bad
 * input (one line naming the file and field). */
#include "command.h"
#include "color.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/outfile.h"
#include "core/report.h"
#include "core/result.h"
#include "core/util.h"
#include "core/version.h"
#include "reports/json_read.h"

#define MERGE_MAX_OUT 16
#define MERGE_MAX_IN 100000

enum { OPT_QUIET = 256, OPT_NO_COLOR, OPT_COLOR, OPT_HELP, OPT_REPORTER };

struct merge {
    const char **paths;
    struct torn_json_report *in;
    size_t n_in;
    struct torn_report rep;
    const struct torn_reporter_ops *out_ops[MERGE_MAX_OUT];
    const char *out_path[MERGE_MAX_OUT];
    size_t n_out;
    enum torn_color_mode color;
    FILE *human;              /* the table: stdout, or stderr when a report
                                 goes to stdout ("-") */
};

static void merge_usage(FILE *f)
{
    size_t n;
    const struct torn_reporter_ops *const *reps = torn_reporters(&n);

    fputs("usage: torn merge REPORT.json... [--json FILE] [--junit FILE] [--markdown FILE]\n"
          "                  [--html FILE] [--tap FILE] [--prom FILE] [--quiet]\n"
          "                  [--color[=auto|always|never]] [--no-color]\n"
          "\n"
          "Merge the JSON reports of the shards of one run (torn run --shard I/N --json F)\n"
          "into one report: every shard 1..N exactly once, the same seed, results in the\n"
          "unsharded run's order. Reports of separate runs (no --shard) are concatenated.\n"
          "Prints the results table; writes the merged report in the formats asked for:\n"
          "\n",
          f);
    for (size_t i = 0; i < n; i++)
        if (reps[i]->option)
            fprintf(f, "  %-8s FILE   %s (\"-\" = stdout; the table then goes to "
                       "stderr)\n", reps[i]->option, reps[i]->summary);
    fputs("\nExit status: 0 every acceptance criterion held, 1 a violation was found,\n"
          "2 an ERROR or interrupted shard, or bad input (one line naming the file).\n",
          f);
}

/* Parse the command line; 0 ok, 1 help printed, -1 usage error printed. */
static int merge_args(struct merge *m, int argc, char **argv)
{
    struct option lo[32] = {{"quiet", no_argument, NULL, OPT_QUIET},
                            {"no-color", no_argument, NULL, OPT_NO_COLOR},
                            {"color", optional_argument, NULL, OPT_COLOR},
                            {"help", no_argument, NULL, OPT_HELP}};
    size_t n = 4, nr;
    const struct torn_reporter_ops *const *reps = torn_reporters(&nr);
    int opt;

    for (size_t i = 0; i < nr && n < 31; i++)
        if (reps[i]->option)
            lo[n++] = (struct option){reps[i]->option + 2, required_argument, NULL,
                                      OPT_REPORTER + (int)i};
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (opt == 'h' || opt == OPT_HELP) {
            merge_usage(stdout);
            return 1;
        } else if (opt == OPT_QUIET) {
            m->rep.quiet = 1;
        } else if (opt == OPT_NO_COLOR) {
            m->color = TORN_COLOR_NEVER;
        } else if (opt == OPT_COLOR) {
            if (torn_color_parse("merge", optarg, &m->color))
                return -1;
        } else if (opt >= OPT_REPORTER && m->n_out < MERGE_MAX_OUT) {
            m->out_ops[m->n_out] = reps[opt - OPT_REPORTER];
            m->out_path[m->n_out++] = optarg;
        } else {
            fprintf(stderr, "torn merge: %s '%s' (see `torn merge --help`)\n",
                    opt == ':' ? "missing value for" : "bad option", argv[optind - 1]);
            return -1;
        }
    }
    m->human = stdout;
    for (size_t i = 0; i < m->n_out; i++)
        if (strcmp(m->out_path[i], "-") == 0)
            m->human = stderr;
    m->rep.color = torn_color_wanted(m->color, fileno(m->human));
    m->paths = (const char **)argv + optind;
    m->n_in = (size_t)(argc - optind);
    if (m->n_in == 0 || m->n_in > MERGE_MAX_IN) {
        fprintf(stderr, "torn merge: give the JSON reports to merge (see `torn merge --help`)\n");
        return -1;
    }
    return 0;
}

/* Shards of one run, or no shards at all (see the top of the file). */
static int check_shards(const struct merge *m, struct torn_err *err)
{
    const struct torn_json_report *a = &m->in[0];
    size_t sum = 0, *seen;
    int rc = TORN_OK;

    for (size_t i = 1; i < m->n_in; i++)
        if (!m->in[i].shard_index != !a->shard_index)
            return torn_err_set(err, TORN_E_CONFIG, "%s is %sa shard's report but %s is%s: merge "
                                "the shards of one run, or reports of separate runs",
                                m->paths[0], a->shard_index ? "" : "not ", m->paths[i],
                                a->shard_index ? " not" : "");
    if (!a->shard_index)
        return TORN_OK;
    if (!(seen = calloc(a->shard_count + 1, sizeof *seen)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_in && !rc; i++) {
        const struct torn_json_report *b = &m->in[i];
        if (b->shard_count != a->shard_count || b->shard_entries_total != a->shard_entries_total ||
            b->seed != a->seed)
            rc = torn_err_set(err, TORN_E_CONFIG, "%s (shard %u/%u, seed %llu, %zu entries) and %s "
                              "(shard %u/%u, seed %llu, %zu entries) are not shards of one run",
                              m->paths[0], a->shard_index, a->shard_count,
                              (unsigned long long)a->seed, a->shard_entries_total, m->paths[i],
                              b->shard_index, b->shard_count, (unsigned long long)b->seed,
                              b->shard_entries_total);
        else if (seen[b->shard_index])
            rc = torn_err_set(err, TORN_E_CONFIG, "%s and %s are both shard %u/%u",
                              m->paths[seen[b->shard_index] - 1], m->paths[i], b->shard_index,
                              b->shard_count);
        seen[b->shard_index] = i + 1;
        sum += b->shard_entries;
    }
    for (unsigned s = 1; s <= a->shard_count && !rc; s++)
        if (!seen[s])
            rc = torn_err_set(err, TORN_E_CONFIG, "shard %u/%u is missing (%zu of %u reports "
                              "given): merge every shard of the run", s, a->shard_count,
                              m->n_in, a->shard_count);
    if (!rc && sum != a->shard_entries_total)
        rc = torn_err_set(err, TORN_E_CONFIG, "the shards hold %zu entries, the run has %zu",
                          sum, a->shard_entries_total);
    free(seen);
    return rc;
}

static int by_entry(const void *x, const void *y)
{
    const struct torn_result *a = *(struct torn_result *const *)x;
    const struct torn_result *b = *(struct torn_result *const *)y;

    return a->entry < b->entry ? -1 : a->entry > b->entry;
}

/* Move every input's results into m->rep (in run order when sharded) and
 * fill its run-level fields. */
static int collect(struct merge *m, struct torn_err *err)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n_in; i++)
        n += m->in[i].n_results;
    if (n && !(m->rep.results = calloc(n, sizeof *m->rep.results)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    strcpy(m->rep.started_at, m->in[0].started_at);
    m->rep.seed = m->in[0].seed;
    for (size_t i = 0; i < m->n_in; i++) {
        struct torn_json_report *in = &m->in[i];
        for (size_t j = 0; j < in->n_results; j++)
            m->rep.results[m->rep.n_results++] = in->results[j];
        in->n_results = 0; /* moved */
        if (strcmp(in->started_at, m->rep.started_at) < 0)
            strcpy(m->rep.started_at, in->started_at);
        if (in->duration_s > m->rep.duration_s)
            m->rep.duration_s = in->duration_s; /* shards run side by side */
        m->rep.interrupted |= in->interrupted;
        m->rep.history_dropped += in->history_dropped;
        if (in->report_error && !m->rep.report_error)
            m->rep.report_error = in->report_error;
    }
    if (m->in[0].shard_index) /* qsort is not stable, but entries are unique */
        qsort(m->rep.results, m->rep.n_results, sizeof *m->rep.results, by_entry);
    return TORN_OK;
}

/* Every output path checked before anything is read (outfile.h), then
 * every input read and checked: bad input writes nothing. */
static int load(struct merge *m, struct torn_err *err)
{
    char what[64];
    int rc;

    for (size_t i = 0; i < m->n_out; i++) {
        snprintf(what, sizeof what, "%s report", m->out_ops[i]->option);
        if (strcmp(m->out_path[i], "-") && (rc = torn_outfile_check(m->out_path[i], what, err)))
            return rc;
    }
    if (!(m->in = calloc(m->n_in, sizeof *m->in)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_in; i++)
        if ((rc = torn_json_report_read(m->paths[i], &m->in[i], err)))
            return rc;
    if ((rc = check_shards(m, err)))
        return rc;
    return collect(m, err);
}

/* Write the reports and the table; the exit code. */
static int emit(struct merge *m)
{
    const struct torn_reporter_ops *term = torn_reporter_find("terminal");
    static struct torn_err failed; /* m->rep.report_error may point here */
    struct torn_err err;

    for (size_t i = 0; i < m->n_out; i++) {
        torn_err_clear(&err);
        if (torn_report_write_file(m->out_ops[i], m->out_path[i], &m->rep, &err)) {
            fprintf(stderr, "torn merge: %s\n", err.msg);
            failed = err;
            m->rep.report_error = failed.msg;
        }
    }
    if (term)
        term->write(m->human, &m->rep, &err);
    fflush(m->human);
    if (torn_report_github(m->human, &m->rep) != 0)
        fprintf(stderr, "torn merge: cannot append the summary to $GITHUB_STEP_SUMMARY\n");
    return torn_report_exit_code(&m->rep);
}

int torn_cmd_merge(int argc, char **argv)
{
    struct merge m;
    struct torn_err err;
    int rc;

    memset(&m, 0, sizeof m);
    torn_err_clear(&err);
    m.rep.tool_version = TORN_VERSION;
    /* Before getopt_long permutes argv: the command as typed. */
    m.rep.command = torn_command_line(argc, argv);
    if ((rc = merge_args(&m, argc, argv)) != 0) {
        free((void *)m.rep.command);
        return rc > 0 ? 0 : 2;
    }
    rc = load(&m, &err);
    if (rc) {
        fprintf(stderr, "torn merge: %s\n", err.msg);
        rc = 2;
    } else {
        rc = emit(&m);
    }
    for (size_t i = 0; i < m.rep.n_results; i++)
        torn_result_free(m.rep.results[i]);
    free(m.rep.results);
    for (size_t i = 0; m.in && i < m.n_in; i++)
        torn_json_report_free(&m.in[i]);
    free(m.in);
    free((void *)m.rep.command);
    return rc;
}

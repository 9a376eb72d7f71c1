/* torn: `torn diff OLD.json NEW.json`: two torn --json reports side by side
 * per scenario x operation, each figure with its change and whether it
 * regressed beyond its allowance (gate/baseline.h), as a terminal table or
 * Markdown for a pull-request comment. */
#include "command.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/text.h"
#include "core/util.h"
#include "gate/baseline.h"

static void diff_usage(FILE *f)
{
    fputs("usage: torn diff [--markdown] [--allow M=AMOUNT]... OLD.json NEW.json\n"
          "\n"
          "Compare two torn --json reports: for every scenario (matched by scenario,\n"
          "driver and strategy) and operation, the figures that have an allowance,\n"
          "old -> new, and REGRESSED where the new one is worse beyond it.\n"
          "  --allow M=AMOUNT  p99=20% or 5ms, error_rate=0.5%, throughput=25%, p50=off\n"
          "                    (default p50, p99 25% or 10ms, error_rate 1 point)\n"
          "  --markdown        a Markdown table (pull-request comments)\n"
          "\n"
          "Exit status: 0 no regression, 1 a regression, 2 usage or unreadable report.\n",
          f);
}

struct diff {
    FILE *f;
    int markdown;
    const struct torn_allow *allow;
    const char *scenario, *target;
    size_t n_rows, n_regressed;
};

static int row(void *arg, const struct torn_cmp *c)
{
    struct diff *d = arg;
    char o[48], n[48], delta[48], al[48];
    const char *verdict = c->regressed ? "REGRESSED" : "ok";

    torn_metric_fmt(c->metric, c->old_v, o, sizeof o);
    torn_metric_fmt(c->metric, c->new_v, n, sizeof n);
    torn_metric_fmt(c->metric, c->new_v - c->old_v, delta, sizeof delta);
    torn_metric_fmt(c->metric, c->allowed, al, sizeof al);
    if (d->markdown) {
        fputs("| ", d->f);
        torn_fput_safe(d->f, d->scenario);
        fprintf(d->f, " | %s | %s | %s | %s | %s | %s | %s |\n", torn_op_name(c->op),
                torn_metric_name(c->metric), o, n, delta, al,
                c->regressed ? "**REGRESSED**" : "ok");
    } else {
        fprintf(d->f, "%-24.24s %-17s %-10s %12s %12s %12s %12s  %s\n", d->scenario,
                torn_op_name(c->op), torn_metric_name(c->metric), o, n, delta, al, verdict);
    }
    d->n_rows++;
    d->n_regressed += c->regressed != 0;
    return 0;
}

static void header(const struct diff *d, const char *old_p, const char *new_p)
{
    if (d->markdown) {
        fputs("### torn diff\n\n`", d->f);
        torn_fput_safe(d->f, old_p);
        fputs("` -> `", d->f);
        torn_fput_safe(d->f, new_p);
        fputs("`\n\n| scenario | op | metric | old | new | change | may worsen by | |\n"
              "|---|---|---|---:|---:|---:|---:|---|\n", d->f);
    } else {
        fprintf(d->f, "%-24s %-17s %-10s %12s %12s %12s %12s  %s\n", "SCENARIO", "OP", "METRIC",
                "OLD", "NEW", "CHANGE", "ALLOWED", "");
    }
}

/* Every result of new_doc against its match in old_doc.  2 on a bad report. */
static int compare(struct diff *d, const cJSON *old_doc, const cJSON *new_doc,
                   const char *new_p)
{
    const cJSON *r;
    size_t i = 0;
    char what[400];
    struct torn_err err;

    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(new_doc, "results"))
    {
        struct torn_figs nf, of;
        const cJSON *o;
        snprintf(what, sizeof what, "%s: results[%zu]", new_p, i++);
        if (torn_figs_from_json(r, what, &nf, &err)) {
            fprintf(stderr, "torn diff: %s\n", err.msg);
            return 2;
        }
        o = torn_baseline_match(old_doc, &nf);
        d->scenario = nf.scenario;
        if (!o) {
            if (!d->markdown)
                fprintf(d->f, "%-24.24s (new: no result in the old report)\n", nf.scenario);
            continue;
        }
        if (torn_figs_from_json(o, "old report", &of, &err)) {
            fprintf(stderr, "torn diff: %s\n", err.msg);
            return 2;
        }
        torn_baseline_compare(&of, &nf, d->allow, row, d);
    }
    return 0;
}

int torn_cmd_diff(int argc, char **argv)
{
    static const struct option lo[] = {
        {"markdown", no_argument, NULL, 'm'}, {"allow", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct torn_allow allow[TORN_M_COUNT];
    struct diff d = {stdout, 0, allow, NULL, NULL, 0, 0};
    cJSON *old_doc = NULL, *new_doc = NULL;
    struct torn_err err;
    int opt, rc = 0;

    torn_allow_defaults(allow);
    optind = 1;
    opterr = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (opt == 'h') {
            diff_usage(stdout);
            return 0;
        } else if (opt == 'm') {
            d.markdown = 1;
        } else if (opt == 'a' && torn_allow_parse(optarg, "--allow", allow, &err) != 0) {
            fprintf(stderr, "torn diff: %s\n", err.msg);
            rc = 2;
        } else if (opt != 'a') {
            fprintf(stderr, "torn diff: unknown option '%s' (see `torn diff --help`)\n",
                    argv[optind - 1]);
            rc = 2;
        }
    }
    if (rc == 0 && argc - optind != 2) {
        diff_usage(stderr);
        rc = 2;
    }
    if (rc == 0 && (torn_baseline_load(argv[optind], &old_doc, &err) ||
                    torn_baseline_load(argv[optind + 1], &new_doc, &err))) {
        fprintf(stderr, "torn diff: %s\n", err.msg);
        rc = 2;
    }
    if (rc == 0) {
        header(&d, argv[optind], argv[optind + 1]);
        rc = compare(&d, old_doc, new_doc, argv[optind + 1]);
    }
    if (rc == 0)
        printf("%s%zu figure(s) compared, %zu regressed beyond the allowance\n",
               d.markdown ? "\n" : "", d.n_rows, d.n_regressed);
    cJSON_Delete(old_doc);
    cJSON_Delete(new_doc);
    return rc ? rc : d.n_regressed ? 1 : 0;
}

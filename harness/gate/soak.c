/* torn: soak runs (see soak.h). */
#include "gate/soak.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/report.h"
#include "core/result.h"
#include "core/util.h"

long torn_soak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

void torn_soak_begin(struct torn_soak *s, FILE *f)
{
    if (s->duration_s <= 0 || s->t0_ns)
        return;
    s->t0_ns = torn_now_ns();
    s->rss0_kib = torn_soak_rss_kib();
    fprintf(f, "torn: soak for %.0f s%s; memory (VmRSS) at start %ld KiB\n", s->duration_s,
            s->stop_on_fail ? ", stopping at the first FAIL" : "", s->rss0_kib);
}

/* The cumulative tally of r's target x scenario (created on first sight). */
static struct torn_soak_pair *pair_of(struct torn_soak *s, const struct torn_result *r)
{
    char *key = torn_asprintf("%s\t%s", r->scenario, r->target);
    struct torn_soak_pair *p;

    if (!key)
        return NULL;
    for (size_t i = 0; i < s->n_pairs; i++)
        if (strcmp(s->pairs[i].key, key) == 0) {
            free(key);
            return &s->pairs[i];
        }
    p = realloc(s->pairs, (s->n_pairs + 1) * sizeof *p);
    if (!p) {
        free(key);
        return NULL;
    }
    s->pairs = p;
    p = &s->pairs[s->n_pairs++];
    memset(p, 0, sizeof *p);
    p->key = key;
    return p;
}

static double ops_of(const struct torn_result *r)
{
    double n = 0;

    for (int i = 0; i < TORN_OP_COUNT; i++)
        n += (double)(r->ops[i].n_ok + r->ops[i].n_fail + r->ops[i].n_info);
    return n;
}

/* Tag this round's results and add them to the tallies; counts into v. */
static void tally(struct torn_soak *s, struct torn_report *rep, size_t v[3])
{
    for (size_t i = s->round_start; i < rep->n_results; i++) {
        struct torn_result *r = rep->results[i];
        struct torn_soak_pair *p = pair_of(s, r);
        torn_result_metric(r, "soak_round", (double)s->round);
        v[r->verdict == TORN_PASS ? 0 : r->verdict == TORN_FAIL ? 1 : 2]++;
        if (!p)
            continue;
        p->rounds++;
        p->pass += r->verdict == TORN_PASS;
        p->fail += r->verdict == TORN_FAIL;
        p->error += r->verdict == TORN_ERROR;
        p->ops += ops_of(r);
        torn_result_metric(r, "soak_rounds", (double)p->rounds);
        torn_result_metric(r, "soak_pass", (double)p->pass);
        torn_result_metric(r, "soak_fail", (double)p->fail);
        torn_result_metric(r, "soak_error", (double)p->error);
        torn_result_metric(r, "soak_ops", p->ops);
    }
}

/* Drop the PASS results of earlier rounds; keep every FAIL and ERROR. */
static void prune(struct torn_soak *s, struct torn_report *rep)
{
    size_t w = 0;

    for (size_t i = 0; i < rep->n_results; i++) {
        struct torn_result *r = rep->results[i];
        if (i < s->round_start && r->verdict == TORN_PASS) {
            torn_result_free(r);
            continue;
        }
        rep->results[w++] = r;
    }
    rep->n_results = w;
}

int torn_soak_round(struct torn_soak *s, struct torn_report *rep, FILE *f)
{
    size_t v[3] = {0, 0, 0}, kept_bad = 0;
    double elapsed;

    if (s->duration_s <= 0)
        return 0;
    s->round++;
    tally(s, rep, v);
    prune(s, rep);
#ifdef __GLIBC__
    /* Hand the pages freed in the round back to the system, so the
     * round's VmRSS line shows what the soak holds rather than what
     * glibc's arena kept after the round's allocations (~700 KiB here). */
    malloc_trim(0);
#endif
    for (size_t i = 0; i < rep->n_results; i++)
        kept_bad += rep->results[i]->verdict != TORN_PASS;
    elapsed = (double)(torn_now_ns() - s->t0_ns) / 1e9;
    fprintf(f, "torn: soak round %lld done at %.0f of %.0f s: %zu PASS, %zu FAIL, %zu ERROR; "
               "%zu FAIL/ERROR kept in all; VmRSS %ld KiB (%ld at start)\n",
            s->round, elapsed, s->duration_s, v[0], v[1], v[2], kept_bad, torn_soak_rss_kib(),
            s->rss0_kib);
    s->round_start = rep->n_results;
    if (s->stop_on_fail && v[1]) {
        fprintf(f, "torn: soak stopped at the first FAIL (--stop-on-fail), round %lld\n",
                s->round);
        return 0;
    }
    return elapsed < s->duration_s && !torn_stop_requested();
}

void torn_soak_clear(struct torn_soak *s)
{
    for (size_t i = 0; i < s->n_pairs; i++)
        free(s->pairs[i].key);
    free(s->pairs);
    memset(s, 0, sizeof *s);
}

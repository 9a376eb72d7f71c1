/* torn: history generator (see gen.h; `torn gen-history` is harness/cli/cmd_gen_history.c). */
#include "gen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

enum gkind { G_READ, G_WRITE, G_CAS, G_UPDATE };
enum gout { G_OK, G_FAIL, G_INFO };

struct gop {
    uint64_t t_inv, t_lin, t_ret;
    long long process;
    int key;
    int kind;            /* enum gkind */
    int outcome;         /* enum gout */
    long long a, b;      /* write: a; cas: a expected, b new; update: a base */
    long long out;       /* read: value/version (-1 = null); update: new version */
};

struct gen {
    const struct torn_gen_opts *o;
    struct torn_rng rng;
    struct gop *ops;
    long long next_value;
};

void torn_gen_defaults(struct torn_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->n_ops = 1000;
    o->n_clients = 8;
    o->n_keys = 1;
    o->model = "cas";
    o->violation = "none";
}

static int cmp_lin(const void *a, const void *b)
{
    const struct gop *x = *(struct gop *const *)a, *y = *(struct gop *const *)b;

    return x->t_lin < y->t_lin ? -1 : x->t_lin > y->t_lin;
}

/* Times and shapes: each op goes to the client that is free first. */
static int schedule(struct gen *g)
{
    const struct torn_gen_opts *o = g->o;
    uint64_t *free_at = calloc((size_t)o->n_clients, sizeof *free_at);
    long long *proc = calloc((size_t)o->n_clients, sizeof *proc);
    int version = !strcmp(o->model, "version");

    if (!free_at || !proc) {
        free(free_at);
        free(proc);
        return TORN_E_NOMEM;
    }
    for (int c = 0; c < o->n_clients; c++)
        proc[c] = c;
    for (size_t i = 0; i < o->n_ops; i++) {
        struct gop *op = &g->ops[i];
        int c = 0;
        for (int k = 1; k < o->n_clients; k++)
            if (free_at[k] < free_at[c])
                c = k;
        uint64_t dur = 1000 + torn_rng_below(&g->rng, 50000);
        op->t_inv = free_at[c] + 1 + torn_rng_below(&g->rng, 2000);
        op->t_lin = op->t_inv + 1 + torn_rng_below(&g->rng, dur - 1);
        op->t_ret = op->t_inv + dur;
        free_at[c] = op->t_ret;
        op->process = proc[c];
        op->key = (int)torn_rng_below(&g->rng, (uint64_t)o->n_keys);
        unsigned r = (unsigned)torn_rng_below(&g->rng, 100);
        op->kind = r < 50 ? G_READ : version ? G_UPDATE : r < 70 ? G_WRITE : G_CAS;
        op->outcome = G_OK;
        if (op->kind != G_READ && torn_rng_double(&g->rng) < o->info_rate) {
            op->outcome = G_INFO;
            proc[c] += o->n_clients;       /* Jepsen: a crashed process is replaced */
        }
    }
    free(free_at);
    free(proc);
    return TORN_OK;
}

static long long new_value(struct gen *g)
{
    return g->o->values > 0 ? (long long)torn_rng_below(&g->rng, (uint64_t)g->o->values)
                            : g->next_value++;
}

/* Apply every op at its linearization instant; fills outputs. */
static int apply(struct gen *g)
{
    const struct torn_gen_opts *o = g->o;
    struct gop **by_lin = malloc(o->n_ops * sizeof *by_lin);
    long long *state = malloc((size_t)o->n_keys * sizeof *state);
    int version = !strcmp(o->model, "version");

    if (!by_lin || !state) {
        free(by_lin);
        free(state);
        return TORN_E_NOMEM;
    }
    for (int k = 0; k < o->n_keys; k++)
        state[k] = version ? 1 : -1;     /* records start at version 1; registers at null */
    for (size_t i = 0; i < o->n_ops; i++)
        by_lin[i] = &g->ops[i];
    qsort(by_lin, o->n_ops, sizeof *by_lin, cmp_lin);
    for (size_t i = 0; i < o->n_ops; i++) {
        struct gop *op = by_lin[i];
        long long *s = &state[op->key];
        int takes_effect = op->outcome != G_INFO || torn_rng_below(&g->rng, 2);
        switch (op->kind) {
        case G_READ:
            op->out = *s;
            break;
        case G_WRITE:
            op->a = new_value(g);
            if (takes_effect)
                *s = op->a;
            break;
        case G_CAS:
            op->a = torn_rng_below(&g->rng, 2) || *s < 0 ? *s : new_value(g);
            op->b = new_value(g);
            if (op->a < 0)
                op->a = new_value(g);
            if (op->a == *s && takes_effect)
                *s = op->b;
            else if (op->outcome == G_OK)
                op->outcome = G_FAIL;
            break;
        case G_UPDATE:
            op->a = torn_rng_below(&g->rng, 3) ? *s : *s - 1 - (long long)torn_rng_below(&g->rng, 2);
            if (op->a < 0)
                op->a = 0;
            if (op->a == *s && takes_effect)
                op->out = ++*s;
            else if (op->outcome == G_OK)
                op->outcome = G_FAIL;
            break;
        }
    }
    free(by_lin);
    free(state);
    return TORN_OK;
}

/* The injected op: the first eligible one from a random point in the second half. */
static size_t pick(struct gen *g, int (*ok)(const struct gen *, size_t))
{
    size_t n = g->o->n_ops, start = n / 2 + (size_t)torn_rng_below(&g->rng, n / 2 + 1);

    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (i >= n / 4 && ok(g, i))
            return i;
    }
    return SIZE_MAX;
}

static int is_ok_read(const struct gen *g, size_t i)
{
    return g->ops[i].kind == G_READ;
}

/* A successful write of the same key, completed before read i began, that
 * overwrote another successful one (whose value is returned). */
static int stale_source(const struct gen *g, size_t i, long long *value)
{
    const struct gop *r = &g->ops[i];
    const struct gop *newer = NULL;

    for (size_t j = 0; j < g->o->n_ops; j++) {
        const struct gop *w = &g->ops[j];
        if (w->key == r->key && w->kind != G_READ && w->outcome == G_OK && w->t_ret < r->t_inv &&
            (!newer || w->t_lin > newer->t_lin))
            newer = w;
    }
    if (!newer)
        return 0;
    for (size_t j = 0; j < g->o->n_ops; j++) {
        const struct gop *w = &g->ops[j];
        if (w != newer && w->key == r->key && w->kind != G_READ && w->outcome == G_OK &&
            w->t_ret < newer->t_inv) {
            *value = w->kind == G_WRITE ? w->a : w->kind == G_CAS ? w->b : w->out;
            return 1;
        }
    }
    return 0;
}

static int is_stale_read(const struct gen *g, size_t i)
{
    long long v;

    return g->ops[i].kind == G_READ && stale_source(g, i, &v) && v != g->ops[i].out;
}

static int is_failed_update(const struct gen *g, size_t i)
{
    return g->ops[i].kind == G_UPDATE && g->ops[i].outcome == G_FAIL && g->ops[i].a >= 1;
}

static int inject(struct gen *g, struct torn_err *err)
{
    const char *v = g->o->violation;
    size_t i;

    if (!strcmp(v, "none"))
        return TORN_OK;
    if (!strcmp(v, "garbage")) {
        i = pick(g, is_ok_read);
        if (i != SIZE_MAX)
            g->ops[i].out = 1000000007LL;
    } else if (!strcmp(v, "stale")) {
        if (strcmp(g->o->model, "version") && g->o->values)
            return torn_err_set(err, TORN_E_CONFIG, "gen-history: stale needs --values 0");
        i = pick(g, is_stale_read);
        if (i != SIZE_MAX)
            stale_source(g, i, &g->ops[i].out);
    } else if (!strcmp(v, "lost-update")) {
        if (strcmp(g->o->model, "version"))
            return torn_err_set(err, TORN_E_CONFIG, "gen-history: lost-update needs --model version");
        i = pick(g, is_failed_update);
        if (i != SIZE_MAX) {
            g->ops[i].outcome = G_OK;
            g->ops[i].out = g->ops[i].a + 1;   /* a version someone else already committed */
        }
    } else {
        return torn_err_set(err, TORN_E_CONFIG,
                            "gen-history: violation must be none, garbage, stale or lost-update, "
                            "not %s", v);
    }
    if (i == SIZE_MAX)
        return torn_err_set(err, TORN_E_CONFIG,
                            "gen-history: no operation to inject %s into (more ops?)", v);
    return TORN_OK;
}

struct line {
    uint64_t t;
    size_t op;
    int completion;
};

static int cmp_line(const void *a, const void *b)
{
    const struct line *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->completion != y->completion)
        return x->completion ? -1 : 1;   /* equal times: completions first (never happens) */
    return x->op < y->op ? -1 : x->op > y->op;
}

static void print_value(FILE *f, long long v)
{
    if (v < 0)
        fputs("null", f);
    else
        fprintf(f, "%lld", v);
}

static const char *const kind_f[] = {"read", "write", "cas", "update"};
static const char *const out_type[] = {"ok", "fail", "info"};

static void emit(FILE *f, const struct gop *op, int completion)
{
    fprintf(f, "{\"type\":\"%s\",\"process\":%lld,\"f\":\"%s\",\"key\":\"k%d\",\"value\":",
            completion ? out_type[op->outcome] : "invoke", op->process, kind_f[op->kind], op->key);
    if (op->kind == G_READ && !completion) {
        fputs("null", f);
    } else if (op->kind == G_READ) {
        if (op->outcome != G_OK)
            fputs("null", f);
        else if (op->a == -2)
            fprintf(f, "{\"version\":%lld,\"status\":\"%s\"}", op->out,
                    op->out <= 1 ? "queued" : "running");
        else
            print_value(f, op->out);
    } else if (op->kind == G_WRITE) {
        print_value(f, op->a);
    } else if (op->kind == G_CAS) {
        fprintf(f, "[%lld,%lld]", op->a, op->b);
    } else if (!completion) {
        fprintf(f, "{\"base\":%lld,\"status\":\"running\"}", op->a);
    } else if (op->outcome == G_OK) {
        fprintf(f, "{\"version\":%lld,\"status\":\"running\"}", op->out);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"time\":%" PRIu64 "}\n", completion ? op->t_ret : op->t_inv);
}

static int write_lines(struct gen *g, FILE *f, struct torn_err *err)
{
    size_t n = g->o->n_ops;
    struct line *lines = malloc(2 * n * sizeof *lines);

    if (!lines)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        lines[2 * i] = (struct line){g->ops[i].t_inv, i, 0};
        lines[2 * i + 1] = (struct line){g->ops[i].t_ret, i, 1};
        if (!strcmp(g->o->model, "version") && g->ops[i].kind == G_READ)
            g->ops[i].a = -2;   /* reads print records */
    }
    qsort(lines, 2 * n, sizeof *lines, cmp_line);
    for (size_t i = 0; i < 2 * n; i++)
        emit(f, &g->ops[lines[i].op], lines[i].completion);
    free(lines);
    if (fflush(f) != 0 || ferror(f))
        return torn_err_sys(err, TORN_E_IO, errno, "gen-history: write failed");
    return TORN_OK;
}

int torn_gen_history(FILE *f, const struct torn_gen_opts *o, struct torn_err *err)
{
    struct gen g;
    int rc;

    if (o->n_ops < 1 || o->n_clients < 1 || o->n_keys < 1 || o->values < 0 ||
        o->info_rate < 0 || o->info_rate > 1 ||
        (strcmp(o->model, "cas") && strcmp(o->model, "version")))
        return torn_err_set(err, TORN_E_CONFIG,
                            "gen-history: need ops, clients, keys >= 1, values >= 0, info rate "
                            "in [0,1], model cas or version");
    memset(&g, 0, sizeof g);
    g.o = o;
    torn_rng_seed(&g.rng, o->seed);
    g.ops = calloc(o->n_ops, sizeof *g.ops);
    if (!g.ops)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    rc = schedule(&g);
    if (rc == TORN_OK)
        rc = apply(&g);
    if (rc == TORN_OK)
        rc = inject(&g, err);
    else
        torn_err_set(err, rc, "out of memory");
    if (rc == TORN_OK)
        rc = write_lines(&g, f, err);
    free(g.ops);
    return rc;
}

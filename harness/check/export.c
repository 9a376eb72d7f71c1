/* torn: a history as Jepsen's EDN (see export.h). */
#include "export.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "history_read.h"
#include "value.h"

static void edn_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A keyword when s is a plain name (letters, digits, - _ . / ? !, not
 * starting with a digit), else a string. */
static void edn_name(FILE *f, const char *s)
{
    int plain = *s && !isdigit((unsigned char)*s);

    for (const char *p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("-_./?!*+", *p);
    if (plain)
        fprintf(f, ":%s", s);
    else
        edn_string(f, s);
}

/* v as EDN; micro = 1: v is a txn's micro-operation list (functions as
 * keywords).  0 or -1 ENOMEM. */
static int edn_value(FILE *f, const cJSON *v, int micro)
{
    if (!v || cJSON_IsNull(v)) {
        fputs("nil", f);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "true" : "false", f);
    } else if (cJSON_IsNumber(v)) {
        char *t = torn_value_text(v);
        if (!t)
            return -1;
        fputs(t, f);
        free(t);
    } else if (cJSON_IsString(v)) {
        edn_string(f, v->valuestring);
    } else if (cJSON_IsObject(v)) {
        fputc('{', f);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                fputs(", ", f);
            edn_string(f, c->string ? c->string : "");
            fputc(' ', f);
            if (edn_value(f, c, 0) < 0)
                return -1;
        }
        fputc('}', f);
    } else {
        fputs(v->type & TORN_VALUE_SET ? "#{" : "[", f);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                fputc(' ', f);
            if (micro && cJSON_IsArray(c) && cJSON_IsString(c->child)) {
                fputc('[', f);   /* [:append k v]: the function as a keyword */
                edn_name(f, c->child->valuestring);
                for (const cJSON *e = c->child->next; e; e = e->next) {
                    fputc(' ', f);
                    if (edn_value(f, e, 0) < 0)
                        return -1;
                }
                fputc(']', f);
            } else if (edn_value(f, c, 0) < 0) {
                return -1;
            }
        }
        fputc(v->type & TORN_VALUE_SET ? '}' : ']', f);
    }
    return 0;
}

/* One line of the export, to sort by time then file line. */
struct xline {
    uint64_t t;
    size_t line;
    size_t i;      /* op or event index */
    int kind;      /* 0 invoke, 1 completion, 2 fault */
};

static int cmp_xline(const void *a, const void *b)
{
    const struct xline *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int write_line(FILE *f, const struct torn_hist *h, const struct xline *x, size_t index)
{
    const char *type, *fname;
    const cJSON *v;
    const char *key = NULL;

    fprintf(f, "{:index %zu, ", index);
    if (!h->clockless)
        fprintf(f, ":time %llu, ", (unsigned long long)x->t);
    if (x->kind == 2) {
        const struct torn_hevent *e = &h->events[x->i];
        fputs(":type :info, :process :nemesis, :f ", f);
        edn_name(f, e->f ? e->f : "fault");
        key = e->key;
        v = e->value;
        fname = NULL;
    } else {
        const struct torn_hop *o = &h->ops[x->i];
        type = x->kind == 0 ? "invoke" : torn_hist_outcome_name(o->outcome);
        fprintf(f, ":type :%s, :process %lld, :f ", type, o->process);
        edn_name(f, torn_hist_f(h, o));
        key = torn_hist_key(h, o->key_id);
        if (torn_hist_tree(h, x->kind == 0 ? o->input_id : o->output_id, &v) != TORN_OK)
            return -1;
        fname = torn_hist_f(h, o);
    }
    if (key) {
        fputs(", :key ", f);
        edn_string(f, key);
    }
    fputs(", :value ", f);
    if (edn_value(f, v, fname && !strcmp(fname, "txn")) < 0)
        return -1;
    fputs("}\n", f);
    return 0;
}

int torn_hist_export_jepsen(FILE *f, const struct torn_hist *h, size_t *n_skipped_out,
                            struct torn_err *err)
{
    struct xline *xl = malloc((2 * h->n_ops + h->n_events + 1) * sizeof *xl);
    size_t n = 0, skipped = 0;
    int rc = TORN_OK;

    if (!xl)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct torn_hop *o = &h->ops[i];
        xl[n++] = (struct xline){o->t_invoke, o->line_invoke, i, 0};
        if (o->line_complete)
            xl[n++] = (struct xline){o->t_complete, o->line_complete, i, 1};
    }
    for (size_t i = 0; i < h->n_events; i++) {
        if (h->events[i].notify)
            skipped++;
        else
            xl[n++] = (struct xline){h->events[i].t, h->events[i].line, i, 2};
    }
    qsort(xl, n, sizeof *xl, cmp_xline);
    for (size_t i = 0; i < n && rc == TORN_OK; i++)
        if (write_line(f, h, &xl[i], i) < 0)
            rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
    if (rc == TORN_OK && (fflush(f) != 0 || ferror(f)))
        rc = torn_err_set(err, TORN_E_IO, "writing the export failed");
    free(xl);
    if (n_skipped_out)
        *n_skipped_out = skipped;
    return rc;
}

/* torn: grouping a history by key with version stamps (see check_keys.h). */
#include "check_keys.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check_intern.h"
#include "err.h"
#include "history_read.h"

int torn_check_is_read(const char *f)
{
    return f && (!strcmp(f, "read") || !strcmp(f, "get"));
}

/* The integer field name of v: 0 and *out, 1 absent, -1 not a non-negative integer. */
static int int_field(const cJSON *v, const char *name, long long *out)
{
    const cJSON *x = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, name) : NULL;

    if (!x || cJSON_IsNull(x))
        return 1;
    if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble != floor(x->valuedouble) ||
        x->valuedouble > 9e15)
        return -1;
    *out = (long long)x->valuedouble;
    return 0;
}

static int absent(const cJSON *v)
{
    const cJSON *found = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "found") : NULL;

    return cJSON_IsNull(v) || cJSON_IsFalse(found);
}

static const char *str_field(const cJSON *v, const char *name)
{
    const cJSON *x = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, name) : NULL;

    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static int bad_version(const struct torn_hist *h, size_t line, const char *field,
                       struct torn_err *err)
{
    return torn_err_set(err, TORN_E_CONFIG, "%s:%zu: \"%s\" must be a non-negative integer",
                        h->name, line, field);
}

static int fill_op(const struct torn_hist *h, size_t i, const char *sf, struct torn_vop *o,
                   struct torn_err *err)
{
    const struct torn_hop *op = &h->ops[i];
    static const char *const base_names[] = {"base", "expected_version", "expected"};
    int r;

    o->idx = i;
    o->is_write = !torn_check_is_read(op->f);
    o->version = o->base = -1;
    o->status = NULL;
    if (op->outcome == TORN_OUT_OK) {
        if (!o->is_write && absent(op->output))
            o->version = 0;
        else if ((r = int_field(op->output, "version", &o->version)) < 0)
            return bad_version(h, op->line_complete, "version", err);
        o->status = str_field(op->output, sf);
    }
    if (o->version < 0 && o->is_write &&
        (r = int_field(op->input, "version", &o->version)) < 0)
        return bad_version(h, op->line_invoke, "version", err);
    for (size_t k = 0; o->is_write && o->base < 0 && k < 3; k++)
        if (int_field(op->input, base_names[k], &o->base) < 0)
            return bad_version(h, op->line_invoke, base_names[k], err);
    if (o->is_write && o->base < 0 && int_field(op->output, "base", &o->base) < 0)
        return bad_version(h, op->line_complete, "base", err);
    return TORN_OK;
}

/* Make room for one more element and count it; the capacity is implied by
 * n (the array doubles whenever n reaches a power of two).  NULL on ENOMEM
 * (arr and n unchanged). */
static void *push(void *arr, size_t *n, size_t size)
{
    if (*n == 0 || (*n & (*n - 1)) == 0) {
        void *na = realloc(arr, (*n ? *n * 2 : 1) * size);
        if (!na)
            return NULL;
        arr = na;
    }
    (*n)++;
    return arr;
}

static struct torn_vkey *key_slot(struct torn_vkeys *k, struct torn_intern *names, const char *key)
{
    int64_t id = key ? torn_intern_id(names, key, strlen(key)) : -1;
    size_t slot = key ? (size_t)id + 1 : 0;

    if (key && id < 0)
        return NULL;
    if (slot >= k->n_keys) {
        struct torn_vkey *nk = realloc(k->keys, (slot + 1) * sizeof *nk);
        if (!nk)
            return NULL;
        memset(nk + k->n_keys, 0, (slot + 1 - k->n_keys) * sizeof *nk);
        k->keys = nk;
        k->n_keys = slot + 1;
    }
    k->keys[slot].key = key;
    return &k->keys[slot];
}

static int add_event(const struct torn_hist *h, size_t i, const char *sf, struct torn_vkey *vk,
                     struct torn_err *err)
{
    const struct torn_hevent *e = &h->events[i];
    struct torn_vevent *ev = push(vk->events, &vk->n_events, sizeof *ev);

    if (!ev)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    vk->events = ev;
    ev = &ev[vk->n_events - 1];
    ev->idx = i;
    ev->version = -1;
    if (int_field(e->value, "version", &ev->version) < 0)
        return bad_version(h, e->line, "version", err);
    ev->status = str_field(e->value, sf);
    return TORN_OK;
}

/* Drop empty slots (keys are interned densely, slot 0 is the keyless one). */
static void compact(struct torn_vkeys *k)
{
    size_t n = 0;

    for (size_t i = 0; i < k->n_keys; i++)
        if (k->keys[i].n_ops || k->keys[i].n_events)
            k->keys[n++] = k->keys[i];
    k->n_keys = n;
}

int torn_vkeys_build(const struct torn_hist *h, const char *status_field, struct torn_vkeys *out,
                     struct torn_err *err)
{
    struct torn_intern *names = torn_intern_new();
    const char *sf = status_field ? status_field : "status";
    int rc = TORN_OK;

    memset(out, 0, sizeof *out);
    if (!names)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < h->n_ops && rc == TORN_OK; i++) {
        struct torn_vkey *vk = key_slot(out, names, h->ops[i].key);
        struct torn_vop *ops = vk ? push(vk->ops, &vk->n_ops, sizeof *ops) : NULL;
        if (!ops) {
            rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
            break;
        }
        vk->ops = ops;
        rc = fill_op(h, i, sf, &ops[vk->n_ops - 1], err);
        out->n_ops++;
    }
    for (size_t i = 0; i < h->n_events && rc == TORN_OK; i++) {
        struct torn_vkey *vk;
        if (!h->events[i].notify)
            continue;
        vk = key_slot(out, names, h->events[i].key);
        rc = vk ? add_event(h, i, sf, vk, err) : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    torn_intern_free(names);
    if (rc != TORN_OK) {
        torn_vkeys_free(out);
        return rc;
    }
    compact(out);
    return TORN_OK;
}

void torn_vkeys_free(struct torn_vkeys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n_keys; i++) {
        free(k->keys[i].ops);
        free(k->keys[i].events);
    }
    free(k->keys);
    memset(k, 0, sizeof *k);
}

/* torn: grouping a history by key with version stamps (see check_keys.h). */
#include "keys.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "history_read.h"

int torn_check_is_read(const char *f)
{
    /* byte by byte: called twice for every operation of a version check */
    return f && ((f[0] == 'r' && f[1] == 'e' && f[2] == 'a' && f[3] == 'd' && !f[4]) ||
                 (f[0] == 'g' && f[1] == 'e' && f[2] == 't' && !f[3]));
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

/* What fill_op reads from one value, found once per distinct value (the
 * history interns values: a million operations share a few thousand). */
struct torn_vinfo {
    long long version, base, out_base;
    const char *status;
    signed char r_version;  /* int_field "version": 0 found, 1 absent, -1 bad */
    signed char bad_base;   /* the base name that is bad (index), -1 none */
    signed char r_out_base; /* int_field "base" */
    unsigned char absent, done;
};

static const char *const base_names[] = {"base", "expected_version", "expected"};

static const struct torn_vinfo *value_info(const struct torn_hist *h, struct torn_vinfo *memo, uint32_t id,
                                      const char *sf, struct torn_vinfo *tmp)
{
    struct torn_vinfo *i = memo && id != TORN_HIST_NONE ? &memo[id] : tmp;
    const cJSON *v;

    if (i != tmp && i->done)
        return i;
    if (torn_hist_tree(h, id, &v) != TORN_OK)
        return NULL;
    memset(i, 0, sizeof *i);
    i->version = i->base = i->out_base = -1;
    i->bad_base = -1;
    i->absent = (unsigned char)absent(v);
    i->r_version = (signed char)int_field(v, "version", &i->version);
    i->status = str_field(v, sf);
    for (int k = 0; i->base < 0 && k < 3; k++)
        if (int_field(v, base_names[k], &i->base) < 0) {
            i->bad_base = (signed char)k;
            break;
        }
    i->r_out_base = (signed char)int_field(v, "base", &i->out_base);
    i->done = 1;
    return i;
}

static int fill_op(const struct torn_hist *h, size_t i, const char *sf, struct torn_vinfo *memo,
                   struct torn_vop *o, struct torn_err *err)
{
    const struct torn_hop *op = &h->ops[i];
    struct torn_vinfo t1, t2;
    const struct torn_vinfo *in = value_info(h, memo, op->input_id, sf, &t1);
    const struct torn_vinfo *out = value_info(h, memo, op->output_id, sf, &t2);

    if (!in || !out)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    o->idx = i;
    o->is_write = !torn_check_is_read(torn_hist_f(h, op));
    o->version = o->base = -1;
    o->status = NULL;
    if (op->outcome == TORN_OUT_OK) {
        if (!o->is_write && out->absent)
            o->version = 0;
        else if (out->r_version < 0)
            return bad_version(h, op->line_complete, "version", err);
        else
            o->version = out->version;
        o->status = out->status;
    }
    if (o->version < 0 && o->is_write) {
        if (in->r_version < 0)
            return bad_version(h, op->line_invoke, "version", err);
        o->version = in->version;
    }
    if (o->is_write) {
        if (in->bad_base >= 0)
            return bad_version(h, op->line_invoke, base_names[in->bad_base], err);
        o->base = in->base;
        if (o->base < 0 && out->r_out_base < 0)
            return bad_version(h, op->line_complete, "base", err);
        if (o->base < 0)
            o->base = out->out_base;
    }
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

/* The group of a key id (TORN_HIST_NONE: the keyless group). */
static struct torn_vkey *key_slot(struct torn_vkeys *k, const char *key, uint32_t key_id)
{
    size_t slot = key_id == TORN_HIST_NONE ? 0 : (size_t)key_id + 1;

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

/* Event i as ev (a notify event): 0 or the error of its version. */
static int fill_event(const struct torn_hist *h, size_t i, const char *sf, struct torn_vevent *ev,
                      struct torn_err *err)
{
    const struct torn_hevent *e = &h->events[i];

    ev->idx = i;
    ev->version = -1;
    if (int_field(e->value, "version", &ev->version) < 0)
        return bad_version(h, e->line, "version", err);
    ev->status = str_field(e->value, sf);
    return TORN_OK;
}

static int add_event(const struct torn_hist *h, size_t i, const char *sf, struct torn_vkey *vk,
                     struct torn_err *err)
{
    struct torn_vevent *ev = push(vk->events, &vk->n_events, sizeof *ev);

    if (!ev)
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    vk->events = ev;
    return fill_event(h, i, sf, &ev[vk->n_events - 1], err);
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
    const char *sf = status_field ? status_field : "status";
    struct torn_vinfo *memo = calloc(h->n_values + 1, sizeof *memo);   /* NULL: slower, same */
    int rc = TORN_OK;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < h->n_ops && rc == TORN_OK; i++) {
        struct torn_vkey *vk = key_slot(out, torn_hist_key(h, h->ops[i].key_id), h->ops[i].key_id);
        struct torn_vop *ops = vk ? push(vk->ops, &vk->n_ops, sizeof *ops) : NULL;
        if (!ops) {
            rc = torn_err_set(err, TORN_E_NOMEM, "out of memory");
            break;
        }
        vk->ops = ops;
        rc = fill_op(h, i, sf, memo, &ops[vk->n_ops - 1], err);
        out->n_ops++;
    }
    for (size_t i = 0; i < h->n_events && rc == TORN_OK; i++) {
        struct torn_vkey *vk;
        if (!h->events[i].notify)
            continue;
        vk = key_slot(out, h->events[i].key, h->events[i].key_id);
        rc = vk ? add_event(h, i, sf, vk, err) : torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    free(memo);
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

/* ---- by key, one key at a time ---- */

static size_t slot_of(uint32_t key_id)
{
    return key_id == TORN_HIST_NONE ? 0 : (size_t)key_id + 1;
}

/* Pass 1: every operation and notify event read in history order (the
 * first error is the one torn_vkeys_build reports), counted by key slot. */
static int index_count(struct torn_vindex *x, struct torn_err *err)
{
    const struct torn_hist *h = x->h;
    struct torn_vevent ev;
    struct torn_vop o;
    int rc = TORN_OK;

    for (size_t i = 0; i < h->n_ops && rc == TORN_OK; i++) {
        rc = fill_op(h, i, x->sf, x->memo, &o, err);
        x->versioned += o.version >= 0;
        x->start[slot_of(h->ops[i].key_id) + 1]++;
    }
    for (size_t i = 0; i < h->n_events && rc == TORN_OK; i++)
        if (h->events[i].notify) {
            rc = fill_event(h, i, x->sf, &ev, err);
            x->has_event[slot_of(h->events[i].key_id)] = 1;
        }
    return rc;
}

int torn_vindex_build(const struct torn_hist *h, const char *status_field, struct torn_vindex *out,
                      struct torn_err *err)
{
    size_t n_slots = h->n_strs + 1, *pos;
    int rc;

    memset(out, 0, sizeof *out);
    out->h = h;
    out->sf = status_field ? status_field : "status";
    out->n_slots = n_slots;
    out->memo = calloc(h->n_values + 1, sizeof *out->memo);   /* NULL: slower, same */
    out->start = calloc(n_slots + 1, sizeof *out->start);
    out->has_event = calloc(n_slots, 1);
    out->order = malloc((h->n_ops + 1) * sizeof *out->order);
    pos = malloc((n_slots + 1) * sizeof *pos);
    if (!out->start || !out->has_event || !out->order || !pos || h->n_ops >= UINT32_MAX) {
        free(pos);
        torn_vindex_free(out);
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    }
    if ((rc = index_count(out, err)) != TORN_OK) {
        free(pos);
        torn_vindex_free(out);
        return rc;
    }
    for (size_t s = 0; s < n_slots; s++) {
        out->start[s + 1] += out->start[s];
        out->n_keys += out->start[s + 1] > out->start[s] || out->has_event[s];
    }
    memcpy(pos, out->start, (n_slots + 1) * sizeof *pos);
    for (size_t i = 0; i < h->n_ops; i++)     /* a counting sort: invoke order within a key */
        out->order[pos[slot_of(h->ops[i].key_id)]++] = (uint32_t)i;
    free(pos);
    return TORN_OK;
}

int torn_vindex_key(struct torn_vindex *x, size_t slot, struct torn_vkey *k, struct torn_err *err)
{
    size_t n = x->start[slot + 1] - x->start[slot];
    int rc = TORN_OK;

    memset(k, 0, sizeof *k);
    k->key = slot ? torn_hist_key(x->h, (uint32_t)(slot - 1)) : NULL;
    if (!n)
        return TORN_OK;
    if (!(k->ops = malloc(n * sizeof *k->ops)))
        return torn_err_set(err, TORN_E_NOMEM, "out of memory");
    for (size_t j = 0; j < n && rc == TORN_OK; j++)
        rc = fill_op(x->h, x->order[x->start[slot] + j], x->sf, x->memo, &k->ops[j], err);
    k->n_ops = n;
    if (rc != TORN_OK) {
        free(k->ops);
        memset(k, 0, sizeof *k);
    }
    return rc;
}

void torn_vindex_free(struct torn_vindex *x)
{
    if (!x)
        return;
    free(x->memo);
    free(x->start);
    free(x->has_event);
    free(x->order);
    memset(x, 0, sizeof *x);
}

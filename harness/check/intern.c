/* torn: string interning, open addressing with linear probing. */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct istr {
    char *s;
    size_t len;
    uint64_t hash;
};

struct torn_intern {
    struct istr *strs;     /* by id */
    size_t n, cap;
    int64_t *slots;        /* id + 1, 0 = empty */
    size_t n_slots;        /* power of two */
    size_t bytes;
};

struct torn_intern *torn_intern_new(void)
{
    struct torn_intern *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->n_slots = 64;
    t->slots = calloc(t->n_slots, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void torn_intern_free(struct torn_intern *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->strs[i].s);
    free(t->strs);
    free(t->slots);
    free(t);
}

static size_t probe(const struct torn_intern *t, const char *s, size_t len, uint64_t hash)
{
    size_t mask = t->n_slots - 1;

    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        int64_t id = t->slots[i] - 1;
        if (id < 0)
            return i;
        const struct istr *e = &t->strs[id];
        if (e->hash == hash && e->len == len && memcmp(e->s, s, len) == 0)
            return i;
    }
}

/* Insert every string into the (zeroed) slots. */
static void fill_slots(struct torn_intern *t)
{
    for (size_t id = 0; id < t->n; id++) {
        size_t i = t->strs[id].hash & (t->n_slots - 1);
        while (t->slots[i])
            i = (i + 1) & (t->n_slots - 1);
        t->slots[i] = (int64_t)id + 1;
    }
}

/* Rebuild the slots into a new table of n_slots (a power of two). */
static int rehash(struct torn_intern *t, size_t n_slots)
{
    int64_t *slots = calloc(n_slots, sizeof *slots);

    if (!slots)
        return -1;
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    fill_slots(t);
    return 0;
}

static int grow(struct torn_intern *t)
{
    return rehash(t, t->n_slots * 2);
}

void torn_intern_truncate(struct torn_intern *t, size_t n)
{
    size_t n_slots = 64;

    if (n >= t->n)
        return;
    for (size_t i = n; i < t->n; i++) {
        t->bytes -= t->strs[i].len + 1 + sizeof *t->strs + 2 * sizeof *t->slots;
        free(t->strs[i].s);
    }
    t->n = n;
    while (n_slots < 2 * (n + 1))
        n_slots *= 2;
    if (n_slots < t->n_slots && rehash(t, n_slots) == 0)
        return;
    memset(t->slots, 0, t->n_slots * sizeof *t->slots);   /* keep the larger table */
    fill_slots(t);
}

int64_t torn_intern_find(const struct torn_intern *t, const char *s, size_t len)
{
    uint64_t hash = torn_fnv1a(TORN_FNV_INIT, s, len);

    return t->slots[probe(t, s, len, hash)] - 1;
}

int64_t torn_intern_id(struct torn_intern *t, const char *s, size_t len)
{
    return torn_intern_id_hashed(t, s, len, torn_fnv1a(TORN_FNV_INIT, s, len));
}

uint64_t torn_intern_hash(const struct torn_intern *t, int64_t id)
{
    return id >= 0 && (size_t)id < t->n ? t->strs[id].hash : TORN_FNV_INIT;
}

int64_t torn_intern_id_hashed(struct torn_intern *t, const char *s, size_t len, uint64_t hash)
{
    size_t i = probe(t, s, len, hash);
    struct istr *e;

    if (t->slots[i])
        return t->slots[i] - 1;
    if ((t->n + 1) * 2 > t->n_slots) {
        if (grow(t) < 0)
            return -1;
        i = probe(t, s, len, hash);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct istr *strs = realloc(t->strs, cap * sizeof *strs);
        if (!strs)
            return -1;
        t->strs = strs;
        t->cap = cap;
    }
    e = &t->strs[t->n];
    e->s = malloc(len + 1);
    if (!e->s)
        return -1;
    memcpy(e->s, s, len);
    e->s[len] = '\0';
    e->len = len;
    e->hash = hash;
    t->slots[i] = (int64_t)t->n + 1;
    t->bytes += len + 1 + sizeof *e + 2 * sizeof *t->slots;
    return (int64_t)t->n++;
}

const char *torn_intern_str(const struct torn_intern *t, int64_t id)
{
    return id >= 0 && (size_t)id < t->n ? t->strs[id].s : NULL;
}

size_t torn_intern_len(const struct torn_intern *t, int64_t id)
{
    return id >= 0 && (size_t)id < t->n ? t->strs[id].len : 0;
}

size_t torn_intern_count(const struct torn_intern *t)
{
    return t->n;
}

size_t torn_intern_bytes(const struct torn_intern *t)
{
    return t->bytes;
}

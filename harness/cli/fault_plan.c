/* torn: fault plans of `torn fuzz --target URI --scenario NAME`: AFL++'s
 * bytes into a plan, a plan into its run's argv and replay command, the
 * campaign's description beside AFL++'s output (see fault_plan.h). */
#include "fault_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/outfile.h"
#include "core/util.h"

int torn_plan_fixed(const struct torn_plan_base *b, const char *name)
{
    size_t len = strlen(name);

    for (int i = 0; i < b->n_sets; i++)
        if (strncmp(b->sets[i], name, len) == 0 && b->sets[i][len] == '=')
            return 1;
    return 0;
}

/* Byte i of data, 0 past its end. */
static unsigned byte_at(const uint8_t *data, size_t len, size_t i)
{
    return i < len ? data[i] : 0;
}

static void add_set(const struct torn_plan_base *b, struct torn_plan *p, const char *name,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_set(const struct torn_plan_base *b, struct torn_plan *p, const char *name,
                    const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->n_sets == TORN_PLAN_MAX_DIMS || torn_plan_fixed(b, name))
        return;
    n = snprintf(p->sets[p->n_sets], sizeof p->sets[0], "%s=", name);
    va_start(ap, fmt);
    vsnprintf(p->sets[p->n_sets] + n, sizeof p->sets[0] - (size_t)n, fmt, ap);
    va_end(ap);
    p->n_sets++;
}

/* power-loss: one crash state "op<N>/m<K>:d<spec>:<arg>" of a run of
 * `updates` updates.  The model's own crash (nothing unsynced kept) gets
 * half the values: it is the one a real power cut is most like. */
static void decode_power(const struct torn_plan_base *b, const uint8_t *d, size_t len,
                         struct torn_plan *p)
{
    static const char *const metas[] = {"0", "0", "all", "1"};
    unsigned updates = 1 + byte_at(d, len, 0) % 8, ds = byte_at(d, len, 3) % 8;
    unsigned op = 1 + byte_at(d, len, 1) % (8 * updates), arg = byte_at(d, len, 4);
    char data[24];

    if (ds < 4)
        snprintf(data, sizeof data, "none:0");
    else if (ds == 4)
        snprintf(data, sizeof data, "all:0");
    else if (ds == 5)
        snprintf(data, sizeof data, "rand:%u", arg);
    else if (ds == 6)
        snprintf(data, sizeof data, "pfx:%u", 1 + arg % 4);
    else
        snprintf(data, sizeof data, "drop:%u", arg % 4);
    add_set(b, p, "updates", "%u", updates);
    add_set(b, p, "state", "op%u/m%s:d%s", op, metas[byte_at(d, len, 2) % 4], data);
}

void torn_plan_decode(const struct torn_plan_base *b, const uint8_t *data, size_t len,
                      struct torn_plan *p)
{
    uint64_t seed = 0;
    size_t at = 0;   /* where the seed's bytes start: after the plan's */

    memset(p, 0, sizeof *p);
    if (strcmp(b->scenario, "power-loss") == 0) {
        decode_power(b, data, len, p);
        at = 5;
    } else if (strcmp(b->scenario, "crash-midwrite") == 0) {
        add_set(b, p, "kills", "%u", 1 + byte_at(data, len, 0) % 20);
        add_set(b, p, "max_delay_ms", "%u", 1 + byte_at(data, len, 1) % 80);
        at = 2;
    }
    for (size_t i = 0; i < 4; i++)
        seed |= (uint64_t)byte_at(data, len, at + i) << (8 * i);
    p->seed = seed + 1;
}

int torn_plan_argv(const struct torn_plan_base *b, const struct torn_plan *p, const char *work,
                   const char *json, char **argv, char *seedbuf)
{
    int n = 0;

    argv[n++] = (char *)"torn";
    argv[n++] = (char *)"run";
    argv[n++] = (char *)"--target";
    argv[n++] = (char *)b->target;
    argv[n++] = (char *)"--scenario";
    argv[n++] = (char *)b->scenario;
    snprintf(seedbuf, 24, "%llu", (unsigned long long)p->seed);
    argv[n++] = (char *)"--seed";
    argv[n++] = seedbuf;
    for (int i = 0; i < p->n_sets; i++) {
        argv[n++] = (char *)"--set";
        argv[n++] = (char *)p->sets[i];
    }
    for (int i = 0; i < b->n_sets; i++) {
        argv[n++] = (char *)"--set";
        argv[n++] = (char *)b->sets[i];
    }
    argv[n++] = (char *)"--quiet";
    argv[n++] = (char *)"--repro-runs";
    argv[n++] = (char *)"0";
    argv[n++] = (char *)"--run-dir";
    argv[n++] = (char *)work;
    argv[n++] = (char *)"--json";
    argv[n++] = (char *)json;
    argv[n] = NULL;
    return n;
}

char *torn_plan_replay(const struct torn_plan_base *b, const struct torn_plan *p)
{
    char *argv[TORN_PLAN_ARGV], seed[24], *buf = NULL;
    size_t len = 0;
    int n = torn_plan_argv(b, p, "-", "-", argv, seed);
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    for (int i = 0; i < n - 7; i++) { /* without --quiet ... --json F */
        if (i)
            fputc(' ', f);
        torn_shell_quote(f, argv[i]);
    }
    fclose(f);
    return buf;
}

int torn_plan_base_save(const struct torn_plan_base *b, const char *path)
{
    cJSON *o = cJSON_CreateObject(), *sets = cJSON_AddArrayToObject(o, "sets");
    struct torn_err err = {0};
    char *text;
    int rc = -1;

    cJSON_AddStringToObject(o, "target", b->target);
    cJSON_AddStringToObject(o, "scenario", b->scenario);
    for (int i = 0; i < b->n_sets; i++)
        cJSON_AddItemToArray(sets, cJSON_CreateString(b->sets[i]));
    if ((text = cJSON_Print(o)) != NULL)
        rc = torn_write_file_atomic(path, text, strlen(text), &err) == 0 ? 0 : -1;
    free(text);
    cJSON_Delete(o);
    return rc;
}

int torn_plan_base_load(struct torn_plan_base *b, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *o, *t, *s, *e;

    memset(b, 0, sizeof *b);
    if (torn_read_file(path, &text, &len, NULL) != 0)
        return -1;
    o = cJSON_ParseWithLength(text, len);
    free(text);
    t = cJSON_GetObjectItem(o, "target"), s = cJSON_GetObjectItem(o, "scenario");
    if (!cJSON_IsString(t) || !cJSON_IsString(s)) {
        cJSON_Delete(o);
        return -1;
    }
    b->target = torn_strdup(t->valuestring);
    b->scenario = torn_strdup(s->valuestring);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "sets"))
        if (cJSON_IsString(e) && b->n_sets < TORN_PLAN_SETS)
            b->sets[b->n_sets++] = torn_strdup(e->valuestring);
    cJSON_Delete(o);
    return 0;
}

void torn_plan_base_free(struct torn_plan_base *b)
{
    free((void *)b->target);
    free((void *)b->scenario);
    for (int i = 0; i < b->n_sets; i++)
        free((void *)b->sets[i]);
    memset(b, 0, sizeof *b);
}

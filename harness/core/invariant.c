/* torn: record invariants as data (invariant.h). */
#include "invariant.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "finding.h"
#include "jsonptr.h"
#include "record.h"

static int ifail(struct torn_err *err, const char *file, const char *field, const char *why)
{
    return torn_err_set(err, TORN_E_CONFIG, "target spec %s: field %s: %s",
                        file ? file : "(none)", field, why);
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* An object of pointer: expectation at field. */
static int parse_expects(const cJSON *o, const char *file, const char *field,
                         struct torn_err *err)
{
    char sub[320];
    if (!cJSON_IsObject(o) || !o->child)
        return ifail(err, file, field, "must be a non-empty object of JSON pointer: expectation");
    for (const cJSON *e = o->child; e; e = e->next) {
        snprintf(sub, sizeof sub, "%s.%.80s", field, e->string);
        if (!*e->string || !torn_json_pointer_valid(e->string))
            return ifail(err, file, sub, "not a JSON pointer (\"/a/b\", RFC 6901)");
        int rc = torn_expect_parse(e, file, sub, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_ordered(const cJSON *od, const char *file, const char *field,
                         struct torn_err *err)
{
    char sub[200];
    static const char *const keys[2] = {"time", "by"};
    if (!cJSON_IsObject(od))
        return ifail(err, file, field, "must be an object {\"time\": pointer, \"by\": pointer}");
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(od, keys[i]);
        snprintf(sub, sizeof sub, "%s.%s", field, keys[i]);
        if (!cJSON_IsString(v) || !*v->valuestring || !torn_json_pointer_valid(v->valuestring))
            return ifail(err, file, sub, "missing, or not a JSON pointer (\"/a/b\")");
    }
    if (cJSON_GetArraySize(od) != 2)
        return ifail(err, file, field, "only \"time\" and \"by\"");
    return 0;
}

static int parse_one(const cJSON *inv, const char *file, struct torn_err *err)
{
    char field[120], sub[160];
    snprintf(field, sizeof field, "invariants.%.60s", inv->string);
    if (!name_ok(inv->string))
        return ifail(err, file, field, "a name is 1..40 of a-z, 0-9, - and _");
    if (!cJSON_IsObject(inv))
        return ifail(err, file, field, "must be an object with when/then, or ordered");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(inv, "when");
    const cJSON *then = cJSON_GetObjectItemCaseSensitive(inv, "then");
    const cJSON *od = cJSON_GetObjectItemCaseSensitive(inv, "ordered");
    for (const cJSON *k = inv->child; k; k = k->next)
        if (strcmp(k->string, "when") && strcmp(k->string, "then") && strcmp(k->string, "ordered")) {
            snprintf(sub, sizeof sub, "%s.%.30s", field, k->string);
            return ifail(err, file, sub, "unknown key (when, then, ordered)");
        }
    if (od && (when || then))
        return ifail(err, file, field, "either when/then or ordered, not both");
    if (!od && !then)
        return ifail(err, file, field, "needs then (and optionally when), or ordered");
    snprintf(sub, sizeof sub, "%s.%s", field, od ? "ordered" : "then");
    int rc = od ? parse_ordered(od, file, sub, err) : parse_expects(then, file, sub, err);
    snprintf(sub, sizeof sub, "%s.when", field);
    return rc || !when ? rc : parse_expects(when, file, sub, err);
}

int torn_invariants_parse(const cJSON *iv, const char *file, struct torn_err *err)
{
    if (!cJSON_IsObject(iv))
        return ifail(err, file, "invariants", "must be an object (name: invariant)");
    for (const cJSON *inv = iv->child; inv; inv = inv->next) {
        int rc = parse_one(inv, file, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- judging a record ---- */

/* "ordered": this process's last (by, time) of the record; why filled
 * when time went back while by rose. */
static void judge_ordered(struct torn_inv_state *p, const cJSON *rec, const cJSON *od,
                          const char *id, char *why, size_t len)
{
    const char *tp = cJSON_GetObjectItemCaseSensitive(od, "time")->valuestring;
    const char *bp = cJSON_GetObjectItemCaseSensitive(od, "by")->valuestring;
    const cJSON *t = torn_json_pointer(rec, tp), *b = torn_json_pointer(rec, bp);
    long long tm = cJSON_IsString(t) ? torn_iso8601_ms(t->valuestring) : -1;
    if (!id || tm < 0 || !cJSON_IsNumber(b))
        return;   /* what is not a time or a number is the then-invariants' to judge */
    unsigned h = 2166136261u;
    for (const char *c = id; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    struct torn_inv_ord *o = &p->ord[h % TORN_INV_SLOTS];
    if (o->set && strcmp(o->id, id) == 0 && b->valuedouble > o->by && tm < o->time_ms)
        snprintf(why, len, "%s went back from %s (%s %.0f) to %s (%s %.0f)", tp, o->time_text, bp,
                 o->by, t->valuestring, bp, b->valuedouble);
    o->set = 1;
    snprintf(o->id, sizeof o->id, "%s", id);
    o->by = b->valuedouble;
    o->time_ms = tm;
    snprintf(o->time_text, sizeof o->time_text, "%s", t->valuestring);
}

void torn_invariants_judge(const cJSON *invariants, struct torn_inv_state *st,
                           const char *log_dir, const cJSON *rec,
                           const struct torn_expect_ctx *ctx, const char *what)
{
    const cJSON *inv;
    cJSON_ArrayForEach(inv, invariants)
    {
        const cJSON *when = cJSON_GetObjectItemCaseSensitive(inv, "when");
        const cJSON *then = cJSON_GetObjectItemCaseSensitive(inv, "then");
        const cJSON *od = cJSON_GetObjectItemCaseSensitive(inv, "ordered"), *e;
        char why[300] = "", criterion[64];
        int applies = 1;
        cJSON_ArrayForEach(e, when)
        {
            torn_expect_judge(rec, e->string, e, ctx, why, sizeof why);
            applies &= !why[0];
        }
        why[0] = 0;
        if (od)
            judge_ordered(st, rec, od, ctx->id, why, sizeof why);
        for (e = applies && then ? then->child : NULL; e && !why[0]; e = e->next)
            torn_expect_judge(rec, e->string, e, ctx, why, sizeof why);
        if (!why[0] || st->n_posted >= TORN_INV_MAX_FINDINGS)
            continue;
        st->n_posted++;
        snprintf(criterion, sizeof criterion, "invariant-%s", inv->string);
        torn_finding_post(log_dir, criterion, ctx->id,
                          "invariants.%s broken by the record %s answered: %s", inv->string,
                          what, why);
    }
}

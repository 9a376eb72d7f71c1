/* torn HTTP target: record invariants (the spec's "invariants"), judged
 * on every record a 2xx answers a record operation with (not seed 001's
 * "unknown" error dict), pointers into read.record.  The language and the
 * judging are core/invariant.h's. */
#include "http_int.h"

#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/invariant.h"
#include "core/target.h"

int http_spec_invariants(const cJSON *spec, const char *file, struct http_spec *sp,
                         struct torn_err *err)
{
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(spec, "invariants");
    sp->invariants = iv;
    return iv ? torn_invariants_parse(iv, file, err) : 0;
}

/* The record in a, if it is one to judge (2xx, not an "unknown" answer). */
static const cJSON *record_of(const struct http_spec *sp, const struct http_answer *a)
{
    if (!sp->invariants || !a->doc || a->op == HTTP_OP_UNJUDGED ||
        http_outcome_of(sp, a) != HTTP_OUT_SUCCESS)
        return NULL;
    const cJSON *rec = torn_json_pointer(a->doc, sp->record_ptr);
    return cJSON_IsObject(rec) ? rec : NULL;
}

void http_invariants_judge(struct torn_target *t, const struct http_answer *a)
{
    struct http_priv *p = t->priv;
    const cJSON *rec = record_of(&p->sp, a);
    char what[360];
    if (!rec)
        return;
    snprintf(what, sizeof what, "%s %s", a->method, a->url);
    torn_invariants_judge(p->sp.invariants, &p->inv, t->cfg.log_dir, rec, &a->x, what);
}

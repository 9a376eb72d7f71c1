/* Fuzz harness: HTTP target spec files (targets/http/http.c http_spec_parse),
 * then every URL template of an accepted spec expanded.  Invariant: an
 * accepted spec's JSON pointers are valid pointers and its URL templates
 * expand. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "targets/http/http_int.h"

int fuzz_init(void)
{
    return 0;
}

static void expand(const char *tmpl)
{
    char *url;

    if (!tmpl)
        return;
    url = http_expand_url("http://127.0.0.1:1", tmpl, "r/1 ?#%{id}");
    if (!url)
        fuzz_fail("URL template '%s' did not expand", tmpl);
    free(url);
}

static void check_spec(const struct http_spec *sp, const cJSON *root)
{
    const struct http_endpoint *eps[] = {&sp->create, &sp->read,  &sp->reset,
                                         &sp->update, &sp->cas,   &sp->transition};
    const char *ptrs[] = {sp->id_ptr, sp->record_ptr, sp->type_ptr};

    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++)
        if (eps[i]->present)
            expand(eps[i]->path);
    expand(sp->events_url);
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        if (ptrs[i] && !torn_json_pointer_valid(ptrs[i]))
            fuzz_fail("accepted invalid JSON pointer '%s'", ptrs[i]);
        if (ptrs[i])
            (void)torn_json_pointer(root, ptrs[i]);
    }
    for (int i = 0; i < 6; i++)
        if (sp->field_ptr[i] && !torn_json_pointer_valid(sp->field_ptr[i]))
            fuzz_fail("accepted invalid field pointer '%s'", sp->field_ptr[i]);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    cJSON *spec = cJSON_ParseWithLength((const char *)data, len);
    struct http_spec sp;
    struct torn_err err = {0};

    if (!spec)
        return 0;
    if (http_spec_parse(spec, "fuzz.json", &sp, &err) == TORN_OK)
        check_spec(&sp, spec);
    else if (err.code != TORN_E_CONFIG || !err.msg[0])
        fuzz_fail("http_spec_parse failed with code %d and message '%s'", err.code, err.msg);
    cJSON_Delete(spec);
    return 0;
}

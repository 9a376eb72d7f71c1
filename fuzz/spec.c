/* Fuzz harness: scenario spec files (torn_spec_load) and the parameter
 * merge (torn_params_merge) with the spec's params and with the same
 * values given as --set overrides.  Invariant: a merge that succeeds
 * yields an object whose keys are exactly the scenario's defaults (an
 * unknown parameter is never accepted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "fuzz.h"
#include "run/runner.h"
#include "core/scenario.h"
#include "core/target.h"
#include "core/util.h"

static char dir[64], path[128];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int fuzz_init(void)
{
    snprintf(dir, sizeof dir, "/tmp/torn-fuzz-spec-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("fuzz/spec: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/spec.json", dir);
    atexit(cleanup);
    return 0;
}

static void check_keys(const cJSON *merged, const char *defaults)
{
    cJSON *d = cJSON_Parse(defaults);
    const cJSON *f;

    if (!cJSON_IsObject(merged))
        fuzz_fail("merged parameters are not an object");
    cJSON_ArrayForEach(f, merged)
    {
        if (!f->string || !cJSON_GetObjectItemCaseSensitive(d, f->string))
            fuzz_fail("merge accepted unknown parameter '%s'", f->string ? f->string : "?");
    }
    if (cJSON_GetArraySize(merged) != cJSON_GetArraySize(d))
        fuzz_fail("merge lost a parameter (%d of %d)", cJSON_GetArraySize(merged),
                  cJSON_GetArraySize(d));
    cJSON_Delete(d);
}

/* The spec's params again, as --set k=v (strings as they are, anything
 * else as its JSON text). */
static void merge_as_sets(const struct torn_scenario_ops *sc, const cJSON *params)
{
    struct torn_kv kv[16] = {{0}};
    char *texts[16] = {0};
    size_t n = 0;
    const cJSON *f;
    cJSON *out = NULL;

    cJSON_ArrayForEach(f, params)
    {
        if (n == 16 || !f->string)
            break;
        texts[n] = cJSON_IsString(f) ? NULL : cJSON_PrintUnformatted(f);
        kv[n].key = f->string;
        kv[n].value = cJSON_IsString(f) ? f->valuestring : texts[n] ? texts[n] : "";
        n++;
    }
    if (torn_params_merge(sc, NULL, NULL, kv, n, &out, NULL) == 0)
        check_keys(out, sc->defaults);
    cJSON_Delete(out);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "w");
    cJSON *spec = NULL, *out = NULL;
    const char *name = NULL;
    const struct torn_scenario_ops *sc;
    size_t n_sc;

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fuzz_fail("cannot write %s", path);
    if (torn_spec_load(path, &spec, &name, NULL) != 0) {
        if (spec || name)
            fuzz_fail("torn_spec_load failed but returned a spec");
        return 0;
    }
    if (!name)
        fuzz_fail("torn_spec_load returned no scenario name");
    sc = torn_scenario_find(name);
    if (!sc) {   /* unknown name: still exercise a merge with these params */
        const struct torn_scenario_ops *const *all = torn_scenarios(&n_sc);
        sc = all[len % n_sc];
    }
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(spec, "params");
    if (torn_params_merge(sc, params, path, NULL, 0, &out, NULL) == 0)
        check_keys(out, sc->defaults);
    cJSON_Delete(out);
    merge_as_sets(sc, params);
    cJSON_Delete(spec);
    return 0;
}

/* torn: sharded runs: the slice rule (see shard.h). */
#include "shard.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/parse.h"

int torn_shard_parse(const char *s, struct torn_shard *out, struct torn_err *err)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    char left[24];
    long long i, n;
    struct torn_err perr;

    if (!slash || (size_t)(slash - s) >= sizeof left || !slash[1])
        return torn_err_set(err, TORN_E_USAGE,
                            "--shard: expected I/N (shard I of N, 1 <= I <= N), got '%.40s'",
                            s ? s : "");
    memcpy(left, s, (size_t)(slash - s));
    left[slash - s] = '\0';
    if (torn_parse_int("--shard N", slash + 1, 1, TORN_SHARD_MAX, &n, &perr) ||
        torn_parse_int("--shard I", left, 1, n, &i, &perr))
        return torn_err_set(err, TORN_E_USAGE, "%s (in --shard '%.40s')", perr.msg, s);
    out->index = (unsigned)i;
    out->count = (unsigned)n;
    return TORN_OK;
}

int torn_shard_owns(const struct torn_shard *s, size_t k)
{
    return !s->index || k % s->count == s->index - 1;
}

size_t torn_shard_size(const struct torn_shard *s, size_t n_entries)
{
    if (!s->index)
        return n_entries;
    return n_entries / s->count + (n_entries % s->count >= s->index ? 1 : 0);
}

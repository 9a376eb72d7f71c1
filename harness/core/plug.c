/* torn: the registration tables' lookup (core/plug.h). */
#include "core/plug.h"

#include <string.h>

const void *torn_plug_find(const void *const *table, size_t n, size_t name_off,
                           size_t version_off, int version, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *entry = table[i];
        if (strcmp(*(const char *const *)(entry + name_off), name) == 0)
            return *(const int *)(entry + version_off) == version ? entry : NULL;
    }
    return NULL;
}

/* torn: the lookup every registration table uses (core/registry.c,
 * core/registry_checkers.c): an entry by name, refused when its version is
 * not the one this build knows. */
#ifndef TORN_PLUG_H
#define TORN_PLUG_H

#include <stddef.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The entry of table[0..n) whose name (a const char * at name_off in the
 * struct) is name and whose version (an int at version_off) is version;
 * NULL when there is none or its version is another. */
const void *torn_plug_find(const void *const *table, size_t n, size_t name_off,
                           size_t version_off, int version, const char *name);

#define FIND(table, type, ver, key)                                                        \
    ((const type *)torn_plug_find((const void *const *)(table), COUNT(table),              \
                                  offsetof(type, name), offsetof(type, version), (ver), (key)))

#endif

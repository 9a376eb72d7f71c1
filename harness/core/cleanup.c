/* torn: exit-time clean-up registry (see cleanup.h). */
#include "cleanup.h"

#include <stdlib.h>
#include <unistd.h>

#include "err.h"

struct entry {
    void (*fn)(void *arg);
    void *arg;
    pid_t owner;    /* the process that added it; 0 = free slot */
};

static struct entry entries[TORN_CLEANUP_MAX];

static void run_at_exit(void)
{
    pid_t self = getpid();

    for (size_t i = TORN_CLEANUP_MAX; i-- > 0;) {
        struct entry e = entries[i];
        if (e.owner != self)
            continue; /* free, or a parent's entry inherited by fork */
        entries[i].owner = 0;
        e.fn(e.arg);
    }
}

int torn_cleanup_add(void (*fn)(void *arg), void *arg)
{
    static int registered;
    pid_t self = getpid();
    size_t free_slot = TORN_CLEANUP_MAX;

    if (!registered) {
        atexit(run_at_exit); /* inherited by forked children, who find no entry of theirs */
        registered = 1;
    }
    for (size_t i = 0; i < TORN_CLEANUP_MAX; i++) {
        if (entries[i].owner == self && entries[i].fn == fn && entries[i].arg == arg)
            return TORN_OK;
        if (entries[i].owner != self && free_slot == TORN_CLEANUP_MAX)
            free_slot = i;
    }
    if (free_slot == TORN_CLEANUP_MAX)
        return TORN_E_NOMEM;
    entries[free_slot] = (struct entry){fn, arg, self};
    return TORN_OK;
}

void torn_cleanup_remove(void (*fn)(void *arg), void *arg)
{
    pid_t self = getpid();

    for (size_t i = 0; i < TORN_CLEANUP_MAX; i++)
        if (entries[i].owner == self && entries[i].fn == fn && entries[i].arg == arg)
            entries[i].owner = 0;
}

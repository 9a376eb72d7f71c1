/* torn: exit-time clean-up of what a process started and must not leave
 * behind (managed servers, torn-fs mounts).  Those are kept out of the
 * proc.h registry, which the runner reaps after every scenario, because they
 * outlive scenarios; this registry runs when the process that registered
 * them exits without having released them (exit(), return from main).
 *
 * Each entry belongs to the process that added it: a forked child that
 * exits (a worker, a daemon's intermediate) runs none of its parent's
 * entries, which are copied into it by fork but are not its own.  Not
 * thread-safe: add and remove from one thread (the runner's main thread). */
#ifndef TORN_CLEANUP_H
#define TORN_CLEANUP_H

#define TORN_CLEANUP_MAX 96   /* entries at once, all kinds together */

/* At exit of this process, call fn(arg) unless removed before (entries
 * in no promised order).  Adding a (fn, arg) already present is a no-op.  0, or
 * TORN_E_NOMEM when TORN_CLEANUP_MAX entries are live (nothing added: the
 * caller's own teardown is then the only clean-up). */
int torn_cleanup_add(void (*fn)(void *arg), void *arg);
/* Forget (fn, arg) (released by its owner); no-op when absent. */
void torn_cleanup_remove(void (*fn)(void *arg), void *arg);

#endif

/* torn: the checker table (harness/check/checker.h).  Adding a checker is
 * one new file in harness/check/ plus one line here.  Kept out of
 * core/registry.c so that a program linking only the checkers (`torn
 * check`'s front binary, harness/cli/front.c) does not pull in the drivers,
 * scenarios and their libraries with the other tables. */
#include "check/checker.h"

#include "core/plug.h"

extern const struct torn_checker_ops torn_checker_register;
extern const struct torn_checker_ops torn_checker_cas_register;
extern const struct torn_checker_ops torn_checker_kv;
extern const struct torn_checker_ops torn_checker_version;
extern const struct torn_checker_ops torn_checker_events;
extern const struct torn_checker_ops torn_checker_transitions;
extern const struct torn_checker_ops torn_checker_list_append;
extern const struct torn_checker_ops torn_checker_rw_register;

static const struct torn_checker_ops *const checkers[] = {
    &torn_checker_register,
    &torn_checker_cas_register,
    &torn_checker_kv,
    &torn_checker_version,
    &torn_checker_events,
    &torn_checker_transitions,
    &torn_checker_list_append,
    &torn_checker_rw_register,
};


const struct torn_checker_ops *const *torn_checkers(size_t *n_out)
{
    *n_out = COUNT(checkers);
    return checkers;
}

const struct torn_checker_ops *torn_checker_find(const char *name)
{
    return FIND(checkers, struct torn_checker_ops, TORN_CHECKER_OPS_V1, name);
}


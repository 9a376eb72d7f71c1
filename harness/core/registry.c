/* torn: the registration tables.  Adding a target, scenario, reporter or
 * command is one new file plus one line here; a checker, one line in
 * registry_checkers.c (an object of its own, so that `torn check`'s small
 * front binary links the checkers without the drivers and their
 * libraries).  Every plug point is found by name through one lookup
 * (core/plug.h), which also refuses an entry whose version this build does
 * not know.
 *
 * Two kinds of code look alike on purpose (duplicates lists them as
 * boilerplate): each module's plug-point initialiser (the const struct
 * torn_*_ops in targets/, scenarios/, reports/, check/: designated
 * initialisers of the same struct) and the accessor pairs at the end of
 * this file, one pair per plug point, each with its own type. */
#include "cli/command.h"
#include "report.h"
#include "scenario.h"
#include "target.h"

#include "core/plug.h"

extern const struct torn_target_ops torn_target_file;
extern const struct torn_target_ops torn_target_redis;
extern const struct torn_target_ops torn_target_postgres;
extern const struct torn_target_ops torn_target_http;
extern const struct torn_target_ops torn_target_exec;

static const struct torn_target_ops *const targets[] = {
    &torn_target_file,
    &torn_target_redis,
    &torn_target_postgres,
    &torn_target_http,
    &torn_target_exec,
};

extern const struct torn_scenario_ops torn_scenario_crash_midwrite;
extern const struct torn_scenario_ops torn_scenario_concurrent_updaters;
extern const struct torn_scenario_ops torn_scenario_corrupt_read;
extern const struct torn_scenario_ops torn_scenario_power_loss;
extern const struct torn_scenario_ops torn_scenario_io_errors;
extern const struct torn_scenario_ops torn_scenario_optimistic_lock;
extern const struct torn_scenario_ops torn_scenario_event_before_persist;
extern const struct torn_scenario_ops torn_scenario_safe_read_http;
extern const struct torn_scenario_ops torn_scenario_state_transition;
extern const struct torn_scenario_ops torn_scenario_dual_write;
extern const struct torn_scenario_ops torn_scenario_durability;
extern const struct torn_scenario_ops torn_scenario_failover;
extern const struct torn_scenario_ops torn_scenario_legacy_record;
extern const struct torn_scenario_ops torn_scenario_probe;

static const struct torn_scenario_ops *const scenarios[] = {
    &torn_scenario_crash_midwrite,
    &torn_scenario_concurrent_updaters,
    &torn_scenario_corrupt_read,
    &torn_scenario_power_loss,
    &torn_scenario_io_errors,
    &torn_scenario_optimistic_lock,
    &torn_scenario_event_before_persist,
    &torn_scenario_safe_read_http,
    &torn_scenario_state_transition,
    &torn_scenario_dual_write,
    &torn_scenario_durability,
    &torn_scenario_failover,
    &torn_scenario_legacy_record,
    &torn_scenario_probe,
};

extern const struct torn_reporter_ops torn_reporter_terminal;
extern const struct torn_reporter_ops torn_reporter_json;
extern const struct torn_reporter_ops torn_reporter_junit;
extern const struct torn_reporter_ops torn_reporter_prom;
extern const struct torn_reporter_ops torn_reporter_tap;
extern const struct torn_reporter_ops torn_reporter_markdown;
extern const struct torn_reporter_ops torn_reporter_html;
extern const struct torn_reporter_ops torn_reporter_csv;

static const struct torn_reporter_ops *const reporters[] = {
    &torn_reporter_terminal,
    &torn_reporter_json,
    &torn_reporter_junit,
    &torn_reporter_prom,
    &torn_reporter_tap,
    &torn_reporter_markdown,
    &torn_reporter_html,
    &torn_reporter_csv,
};

static const struct torn_command cmd_run = {TORN_COMMAND_V1, "run",
                                            "run scenarios against a target", torn_cmd_run};
static const struct torn_command cmd_list = {TORN_COMMAND_V1, "list",
                                             "list targets, strategies and scenarios",
                                             torn_cmd_list};
static const struct torn_command cmd_check = {TORN_COMMAND_V1, "check",
                                              "check a recorded history against a model",
                                              torn_cmd_check};
static const struct torn_command cmd_gen_history = {
    TORN_COMMAND_V1, "gen-history",
    "generate a CAS-register or versioned history with known answer", torn_cmd_gen_history};
static const struct torn_command cmd_fs = {TORN_COMMAND_V1, "fs",
                                           "mount, cut and control torn-fs (FUSE power loss)",
                                           torn_cmd_fs};
static const struct torn_command cmd_proxy = {TORN_COMMAND_V1, "proxy",
                                              "TCP fault proxy (Toxiproxy-compatible API)",
                                              torn_cmd_proxy};
static const struct torn_command cmd_fuzz = {
    TORN_COMMAND_V1, "fuzz", "run an AFL++ campaign on a fuzz harness, report as results",
    torn_cmd_fuzz};
static const struct torn_command cmd_replay = {
    TORN_COMMAND_V1, "replay", "rerun a fuzzed schedule step by step (replay --schedule FILE)",
    torn_cmd_replay};

static const struct torn_command cmd_merge = {
    TORN_COMMAND_V1, "merge", "merge the JSON reports of shards (run --shard I/N) into one report",
    torn_cmd_merge};
static const struct torn_command cmd_suite = {
    TORN_COMMAND_V1, "suite", "check a suite file without running it (suite check FILE)",
    torn_cmd_suite};
static const struct torn_command cmd_diff = {
    TORN_COMMAND_V1, "diff", "compare two --json reports: regressions beyond allowances",
    torn_cmd_diff};

static const struct torn_command *const commands[] = {
    &cmd_run,
    &cmd_merge,
    &cmd_list,
    &cmd_fs,
    &cmd_check,
    &cmd_gen_history,
    &cmd_proxy,
    &cmd_fuzz,
    &cmd_replay,
    &cmd_suite,
    &cmd_diff,
};

const struct torn_target_ops *const *torn_targets(size_t *n_out)
{
    *n_out = COUNT(targets);
    return targets;
}

const struct torn_target_ops *torn_target_find(const char *name)
{
    return FIND(targets, struct torn_target_ops, TORN_TARGET_OPS_V1, name);
}

const struct torn_scenario_ops *const *torn_scenarios(size_t *n_out)
{
    *n_out = COUNT(scenarios);
    return scenarios;
}

const struct torn_scenario_ops *torn_scenario_find(const char *name)
{
    return FIND(scenarios, struct torn_scenario_ops, TORN_SCENARIO_OPS_V1, name);
}

const struct torn_reporter_ops *const *torn_reporters(size_t *n_out)
{
    *n_out = COUNT(reporters);
    return reporters;
}

const struct torn_reporter_ops *torn_reporter_find(const char *name)
{
    return FIND(reporters, struct torn_reporter_ops, TORN_REPORTER_OPS_V1, name);
}

const struct torn_command *const *torn_commands(size_t *n_out)
{
    *n_out = COUNT(commands);
    return commands;
}

const struct torn_command *torn_command_find(const char *name)
{
    return FIND(commands, struct torn_command, TORN_COMMAND_V1, name);
}

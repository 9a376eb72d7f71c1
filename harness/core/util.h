/* torn: small shared helpers: clocks, seeded RNG, files, strings, secrets,
 * loopback.  Text neutralising is text.h; atomic file writes outfile.h. */
#ifndef TORN_UTIL_H
#define TORN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct torn_err;

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t torn_now_ns(void);
/* Sleep, restarting on EINTR unless a stop was requested. */
void torn_sleep_ns(uint64_t ns);
/* Wall clock as ISO-8601 UTC with milliseconds: "2026-11-23T08:54:45.123Z". */
void torn_iso_now(char buf[32]);

/* xoshiro256** seeded by splitmix64: deterministic, fast, not crypto. */
struct torn_rng {
    uint64_t s[4];
};
void torn_rng_seed(struct torn_rng *r, uint64_t seed);
uint64_t torn_rng_next(struct torn_rng *r);
/* Uniform in [0, n); 0 when n == 0. */
uint64_t torn_rng_below(struct torn_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double torn_rng_double(struct torn_rng *r);
/* A well-mixed 64-bit value from a seed and a string (derive sub-seeds). */
uint64_t torn_seed_derive(uint64_t seed, const char *what);
/* FNV-1a 64 over bytes, continuing from h (start with TORN_FNV_INIT). */
#define TORN_FNV_INIT 0xcbf29ce484222325ULL
uint64_t torn_fnv1a(uint64_t h, const void *buf, size_t len);

/* Stop requests: set by the SIGINT/SIGTERM handler, polled by loops.  A
 * stop is also requested while *flag is non-zero after torn_stop_share(flag)
 * (a flag in shared memory that any process of the run may raise: the
 * operation cap of throttle.h); NULL forgets it. */
int torn_stop_requested(void);
void torn_request_stop(void);
void torn_stop_share(volatile int *flag);

/* Read a whole file into a NUL-terminated malloc'd buffer (caller frees).
 * TORN_E_NOTFOUND if it does not exist, TORN_E_IO otherwise. */
int torn_read_file(const char *path, char **buf_out, size_t *len_out, struct torn_err *err);
/* mkdir -p; 0 if it exists. */
int torn_mkdirs(const char *path, int mode, struct torn_err *err);
/* rm -rf; refuses "/", "" and paths not containing "torn" as a safety net. */
int torn_rmtree(const char *path);
/* fsync the directory containing path (or path itself if a directory). */
int torn_fsync_dir(const char *dir, struct torn_err *err);

/* printf into a new malloc'd string; NULL on ENOMEM. */
char *torn_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* strdup that accepts NULL. */
char *torn_strdup(const char *s);
/* Append name to the comma-separated list in buf (len bytes, *used of them
 * used, "" to start): "a, b, c".  A name that does not fit is left out. */
void torn_list_add(char *buf, size_t len, size_t *used, const char *name);

/* Secrets in target addresses, DSNs and options: a URL's userinfo password
 * (scheme://user:PASS@host, up to the LAST '@' before the host, so a raw
 * '@' in the password is covered), and every password=VALUE (URL query,
 * libpq key=value with spaces and quoted values, --target-opt, any case).
 * torn_redact: a copy with each secret replaced by "***"; caller frees.
 * torn_redact_inplace: each secret byte overwritten with '*'; 1 if any. */
char *torn_redact(const char *uri);
int torn_redact_inplace(char *s);
/* Make every secret in argv invisible to other users (/proc/PID/cmdline of
 * torn and of its forked workers): each argument holding one is copied and
 * its original bytes overwritten; argv[i] then points at the copy. */
void torn_scrub_argv(int argc, char **argv);
/* Write arg as one POSIX shell word: as is when it holds only characters no
 * shell treats specially, else single-quoted with ' written as '\''. */
void torn_shell_quote(FILE *f, const char *arg);
/* "torn ARG..." with every argument redacted and shell-quoted; malloc'd. */
char *torn_command_line(int argc, char *const *argv);
/* 1 if every address host resolves to is loopback (127/8, ::1) or host is a
 * Unix socket path; 0 otherwise (also when it does not resolve). */
int torn_host_is_loopback(const char *host);
/* The remote gate: 0 when host is loopback (or allow_remote), else
 * TORN_E_CONFIG with one line naming what (e.g. "--target") and host. */
int torn_require_loopback(const char *host, int allow_remote, const char *what,
                          struct torn_err *err);

/* A free TCP port on 127.0.0.1 (bind to 0, read it back, close). */
int torn_free_port(int *port_out, struct torn_err *err);

#endif

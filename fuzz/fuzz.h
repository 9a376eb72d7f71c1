/* torn fuzz harnesses (issue 6): every harness is one file fuzz/<name>.c
 * that defines the two functions below.  It is linked either with
 * fuzz/afl_main.c (AFL++ persistent mode, built with afl-clang-fast) or with
 * fuzz/replay_main.c (plain cc: feeds files to the same function, which is
 * how `make test` replays fuzz/regress/<name>/ without AFL++).
 *
 * Contract: fuzz_one must return for EVERY input and leak nothing; a broken
 * invariant (a parser accepted what it must refuse, returned a record whose
 * digest does not match, ...) calls abort() so the fuzzer keeps the input.
 */
#ifndef TORN_FUZZ_H
#define TORN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Once per process, before the first input (temp dirs, parsed fixtures).
 * Returns 0, or non-zero to exit 2 with a message already printed. */
int fuzz_init(void);
/* One input; data is not NUL-terminated.  Returns 0. */
int fuzz_one(const uint8_t *data, size_t len);

/* abort() with a message on stderr: a harness invariant broke. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

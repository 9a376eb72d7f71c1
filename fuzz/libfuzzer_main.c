/* libFuzzer driver for one harness (see fuzz.h): the same fuzz_init and
 * fuzz_one AFL++ runs in persistent mode, behind libFuzzer's entry points,
 * so every harness also runs under libFuzzer, OSS-Fuzz and ClusterFuzzLite.
 * Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk,
 * `make fuzz-libfuzzer`); libFuzzer supplies main(). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once, before the first input.  A harness that cannot set itself up has
 * already said why: stop with exit 2, as its AFL++ build does. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fuzz_init() != 0)
        exit(2);
    return 0;
}

/* One input; a broken invariant aborts inside fuzz_one (a crash to libFuzzer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}

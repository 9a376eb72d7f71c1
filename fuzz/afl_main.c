/* AFL++ persistent-mode driver for one harness (see fuzz.h).  Built only
 * with afl-clang-fast, which defines the __AFL_* macros.  Run outside
 * afl-fuzz with a file argument, it runs that one file. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

__AFL_FUZZ_INIT();

int main(void)
{
    if (fuzz_init() != 0)
        return 2;
#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
#endif
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;   /* after __AFL_INIT */
    while (__AFL_LOOP(100000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        fuzz_one(buf, (size_t)len);
    }
    return 0;
}

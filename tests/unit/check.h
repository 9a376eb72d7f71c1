/* torn: the tiny unit-test framework.  Each *_test.c lists its tests in one
 * greppable table and ends with TORN_TEST_MAIN(table):
 *
 *   static void test_x(void) { CHECK(1 + 1 == 2, "math: %d", 2); }
 *   static const struct torn_test tests[] = { {"x", test_x}, {NULL, NULL} };
 *   TORN_TEST_MAIN(tests)
 *
 * The program prints one line per failed CHECK and closes with
 * "N passed, N failed"; it exits 1 if anything failed.  A test name given
 * on the command line runs only that test.
 */
#ifndef TORN_CHECK_H
#define TORN_CHECK_H

#include <stdio.h>
#include <string.h>

struct torn_test {
    const char *name;
    void (*fn)(void);
};

static int check_passed, check_failed;
static const char *check_current;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "FAIL %s (%s:%d): ", check_current, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define TORN_TEST_MAIN(table)                                                \
    int main(int argc, char **argv)                                          \
    {                                                                        \
        for (const struct torn_test *t = (table); t->name; t++) {           \
            if (argc > 1 && strcmp(argv[1], t->name) != 0)                   \
                continue;                                                    \
            check_current = t->name;                                         \
            t->fn();                                                         \
        }                                                                    \
        printf("%d passed, %d failed\n", check_passed, check_failed);        \
        return check_failed ? 1 : 0;                                         \
    }

#endif

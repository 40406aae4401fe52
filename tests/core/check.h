/* check.h -- the few assertion helpers the core tests share.
 *
 * A failed CHECK prints file:line, the expression and a caller-supplied context (which vector,
 * which byte) and counts the failure; the test's main returns non-zero when any failed, so one
 * run reports every broken case instead of stopping at the first.
 */
#ifndef TD_TEST_CHECK_H
#define TD_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static inline int check_report(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures == 0 ? 0 : 1;
}

#endif

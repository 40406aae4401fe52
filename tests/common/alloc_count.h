/* alloc_count.h -- the allocation counter of the two no-allocation tests (tests/core
 * test_core_noalloc, tests/diagnostics test_noalloc): malloc, calloc and realloc, each counted
 * in the file's `allocations` and passed on.
 *
 * TU_COUNTING_ALLOCATORS(wrap, real) defines wrap##malloc, wrap##calloc and wrap##realloc, which
 * call real##malloc ... Each test keeps the mechanism it needs, hence a macro and not one .c
 * file: (, __libc_) interposes malloc itself, so every caller is counted, the shared libraries'
 * too (not with sanitizers, which own malloc); (__wrap_, __real_) are the targets of
 * -Wl,--wrap=malloc,... , which see only the statically linked modules but work under the
 * sanitizers. The counter is volatile: the compiler assumes malloc touches no global it can see.
 */
#ifndef ALLOC_COUNT_H
#define ALLOC_COUNT_H

#include <stddef.h>

#define TU_COUNTING_ALLOCATORS(wrap, real)                                                         \
    static volatile unsigned long allocations;                                                     \
    void *real##malloc(size_t n);                                                                  \
    void *real##calloc(size_t n, size_t size);                                                     \
    void *real##realloc(void *p, size_t n);                                                        \
    void *wrap##malloc(size_t n) {                                                                 \
        allocations++;                                                                             \
        return real##malloc(n);                                                                    \
    }                                                                                              \
    void *wrap##calloc(size_t n, size_t size) {                                                    \
        allocations++;                                                                             \
        return real##calloc(n, size);                                                              \
    }                                                                                              \
    void *wrap##realloc(void *p, size_t n) {                                                       \
        allocations++;                                                                             \
        return real##realloc(p, n);                                                                \
    }

#endif /* ALLOC_COUNT_H */

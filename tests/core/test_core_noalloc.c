/* test_core_noalloc.c -- decode, verify (both versions) and build perform no heap allocation
 * once a td_ctx exists (issue 2: "no heap allocation per HMAC in the hot path").
 *
 * malloc/calloc/realloc are interposed in this executable (glibc's __libc_* do the work) and
 * counted around a loop of hot-path calls. Not built with sanitizers, which own malloc.
 */
#include <string.h>

#include "alloc_count.h"
#include "testutil.h"
#include "tdcore.h"

/* malloc, calloc and realloc themselves, counted (glibc's __libc_* do the work). */
TU_COUNTING_ALLOCATORS(, __libc_)

int main(void) {
    static const char t7[] =
        "007eJxTYNi0Wv7o0alr4wofm2Xwy31/bD/FJv84v2HGjtA14Su6JB0VGAws0tJMLJPM0szNjcyMjcwNzZJNjA3MLJ"
        "NNjBMtko2TDlcYZzUEMjIs9+RiZmJgZGBhYGSwYWBgYGIAAWYGkBwLmM3DUJSfn6vwYf6MBgUTIy4GQyMTUyMLAy"
        "NLQ5A+iC4Whqj8w6sBryomCA==";
    static const char c7[] = "cf3c25632b92409d3fb64afebede10d4";
    static const char t6[] = "006c3454a04f64ab4bfb1a476f86f16cf1aIACeBO61Du+2inMlX9M6FTCTg2iVBWc+"
                             "xnuTgGg711/Z/0dQ8CY4nkF7EACmBRgE4XToaQEAAQDRZuhp";
    static const char c6[] = "F21c2e6078ABcfF5F9e6BaAdeB576Ae8";
    static const char ch[] = "Jo(E;v(q8bGzJ hNPs t|p[5+BCmH", uid[] = "u_a3a95f7c";
    static td_token tok;
    static char out[8192];
    unsigned long at_start = allocations;
    td_ctx *ctx = tu_ctx();
    /* The counter must see allocations at all, or "none in the hot path" proves nothing. */
    CHECK(allocations > at_start, "the interposed allocator did not see td_ctx_new allocate");
    unsigned long before = allocations;
    int verified = 0;
    for (int i = 0; i < 500; i++) {
        if (td_decode(ctx, t7, strlen(t7), &tok) == TD_OK && td_verify007(ctx, &tok, c7, 32))
            verified++;
        CHECK(td_build007(ctx, &tok, c7, 32, out, sizeof out) > 0, "build007");
        if (td_decode(ctx, t6, strlen(t6), &tok) == TD_OK &&
            td_verify006(ctx, &tok, c6, 32, ch, strlen(ch), uid, strlen(uid)))
            verified++;
        CHECK(td_build006(ctx, &tok, c6, 32, ch, strlen(ch), uid, strlen(uid), out, sizeof out) > 0,
              "build006");
        (void)td_random_salt(ctx);
    }
    unsigned long during = allocations - before;
    CHECK(verified == 1000, "all verified (%d)", verified);
    CHECK(during == 0, "%lu heap allocations in the hot path", during);
    td_ctx_free(ctx);
    return tu_report("core_noalloc");
}

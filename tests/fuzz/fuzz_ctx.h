/* fuzz_ctx.h -- the state every libFuzzer target here keeps for the whole process: one td_ctx,
 * created in libFuzzer's init hook as a server thread keeps its own (so the decoders run
 * without per-input allocation, as in production), and one token to decode into.
 *
 * Included by exactly one .c file per fuzz executable. A target that needs more set up at
 * start calls fuzz_ctx_init() from its own LLVMFuzzerInitialize and defines
 * FUZZ_CTX_OWN_INITIALIZE before including this header.
 */
#ifndef FUZZ_CTX_H
#define FUZZ_CTX_H

#include "tdcore.h"

static td_ctx *fuzz_ctx;
static td_token fuzz_tok;

/* 0 when the context exists (libFuzzer's convention for its init hook). */
static int fuzz_ctx_init(void) {
    fuzz_ctx = td_ctx_new();
    return fuzz_ctx ? 0 : 1;
}

#ifndef FUZZ_CTX_OWN_INITIALIZE
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return fuzz_ctx_init();
}
#endif

#endif /* FUZZ_CTX_H */

/* ctx.c -- creating and releasing the per-thread td_ctx.
 *
 * Design
 * ------
 * Everything costly is set up here once: the inflate/deflate streams (reset per token, never
 * re-created), the three HMAC-SHA256 contexts (their pads are allocated by mbedtls_md_setup),
 * and the CTR-DRBG seeded from the system entropy source. After td_ctx_new returns, decoding,
 * verifying and building perform no heap allocation. Setup is all-or-nothing: on any failure
 * what was set up is released and NULL is returned.
 *
 * The deflate parameters are those of zlib's compress2() at Z_DEFAULT_COMPRESSION (window 15,
 * memLevel 8, default strategy), which is what the vendor's Python reference uses, so a reset
 * stream produces byte-identical output.
 */
#include "core_internal.h"

#include <mbedtls/platform_util.h>
#include <stdlib.h>

static const unsigned char drbg_personalization[] = "tokendoctor td_ctx";

static bool ctx_setup_zlib(td_ctx *ctx) {
    if (inflateInit(&ctx->inflater) != Z_OK)
        return false;
    ctx->inflater_ready = true;
    if (deflateInit2(&ctx->deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    ctx->deflater_ready = true;
    return true;
}

static bool ctx_setup_hmac(td_ctx *ctx) {
    const mbedtls_md_info_t *sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!sha256)
        return false;
    for (int i = 0; i < TD_HMAC_COUNT; i++) {
        mbedtls_md_init(&ctx->hmac[i]);
        ctx->hmac_ready = i + 1;
        if (mbedtls_md_setup(&ctx->hmac[i], sha256, 1) != 0)
            return false;
    }
    return true;
}

static bool ctx_setup_drbg(td_ctx *ctx) {
    mbedtls_entropy_init(&ctx->entropy);
    mbedtls_ctr_drbg_init(&ctx->drbg);
    ctx->drbg_ready = true;
    return mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy,
                                 drbg_personalization, sizeof drbg_personalization - 1) == 0;
}

td_ctx *td_ctx_new(void) {
    td_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    if (!ctx_setup_zlib(ctx) || !ctx_setup_hmac(ctx) || !ctx_setup_drbg(ctx)) {
        td_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

void td_ctx_free(td_ctx *ctx) {
    if (!ctx)
        return;
    if (ctx->inflater_ready)
        inflateEnd(&ctx->inflater);
    if (ctx->deflater_ready)
        deflateEnd(&ctx->deflater);
    for (int i = 0; i < ctx->hmac_ready; i++)
        mbedtls_md_free(&ctx->hmac[i]);
    if (ctx->drbg_ready) {
        mbedtls_ctr_drbg_free(&ctx->drbg);
        mbedtls_entropy_free(&ctx->entropy);
    }
    /* The scratch buffers held decoded token content; do not leave it in freed memory. */
    mbedtls_platform_zeroize(ctx, sizeof *ctx);
    free(ctx);
}

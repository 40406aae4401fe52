/* crypto.c -- HMAC-SHA256, SHA-256, fingerprints, hex, constant-time compare, CRC-32, salts.
 *
 * Design
 * ------
 * All of the cryptography is mbedTLS's (and CRC-32 zlib's); this file only fixes how core uses
 * it. HMACs run on the md contexts kept in td_ctx: mbedtls_md_setup(hmac = 1) allocated their
 * pads once, so starts/update/finish here allocate nothing -- the hot path of a verification is
 * allocation-free. td_ct_equal is mbedTLS's constant-time comparison: its running time depends on
 * the length only, never on where the first difference is.
 */
#include "core_internal.h"

#include <mbedtls/constant_time.h>
#include <mbedtls/sha256.h>
#include <string.h>

bool td_hmac(td_ctx *ctx, int which, const void *key, size_t key_len, const void *m1, size_t l1,
             const void *m2, size_t l2, const void *m3, size_t l3, const void *m4, size_t l4,
             unsigned char out[32]) {
    mbedtls_md_context_t *md = &ctx->hmac[which];
    const void *parts[4] = {m1, m2, m3, m4};
    size_t lens[4] = {l1, l2, l3, l4};
    if (mbedtls_md_hmac_starts(md, key, key_len) != 0)
        return false;
    for (int i = 0; i < 4; i++)
        if (parts[i] && lens[i] > 0 && mbedtls_md_hmac_update(md, parts[i], lens[i]) != 0)
            return false;
    return mbedtls_md_hmac_finish(md, out) == 0;
}

void td_sha256(const void *data, size_t len, unsigned char out[32]) {
    /* Cannot fail for SHA-256 in software; clear the output anyway should it ever. */
    if (mbedtls_sha256_ret(data, len, out, 0) != 0)
        memset(out, 0, 32);
}

int td_hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void td_hex(const unsigned char *data, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

void td_fingerprint(const char *cert, size_t cert_len, char out[9]) {
    unsigned char digest[32];
    td_sha256(cert, cert_len, digest);
    td_hex(digest, 4, out); /* 8 hex characters + NUL */
}

bool td_ct_equal(const void *a, const void *b, size_t len) {
    return mbedtls_ct_memcmp(a, b, len) == 0;
}

uint32_t td_crc32(const char *data, size_t len) {
    uLong crc = crc32(0L, Z_NULL, 0);
    /* zlib's crc32 takes a uInt length; feed large inputs in pieces. */
    while (len > 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, (const Bytef *)data, n);
        data += n;
        len -= n;
    }
    return (uint32_t)crc;
}

bool td_random_bytes(td_ctx *ctx, unsigned char *buf, size_t len) {
    while (len > 0) {
        size_t n = len > MBEDTLS_CTR_DRBG_MAX_REQUEST ? MBEDTLS_CTR_DRBG_MAX_REQUEST : len;
        if (mbedtls_ctr_drbg_random(&ctx->drbg, buf, n) != 0)
            return false;
        buf += n;
        len -= n;
    }
    return true;
}

uint32_t td_random_salt(td_ctx *ctx) {
    /* Rejection sampling keeps 1..99999999 uniform: draw 27 bits (134217728 values), keep
     * those below 99999999. Falls back to 1 only if the DRBG itself fails. */
    for (int tries = 0; tries < 64; tries++) {
        unsigned char b[4];
        if (!td_random_bytes(ctx, b, sizeof b))
            break;
        uint32_t v = ((uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                      ((uint32_t)b[3] << 24)) &
                     0x07ffffffu;
        if (v < 99999999u)
            return v + 1;
    }
    return 1;
}

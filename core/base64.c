/* base64.c -- strict standard base64 (RFC 4648 alphabet, padded) for token text.
 *
 * Design
 * ------
 * Decoding is our own small table decoder rather than mbedtls_base64_decode because a token
 * must be judged exactly as given: mbedTLS skips spaces and line breaks, but a token with a
 * stray space or newline is a different (malformed) token and the diagnosis needs to say so.
 * The alphabet is checked over the whole text before anything else, so the error kind does not
 * depend on where the first problem sits: any byte outside A-Z a-z 0-9 + / = is NOT_BASE64;
 * then a length that is not a positive multiple of 4 is TRUNCATED; then padding anywhere but in
 * the last two positions is NOT_BASE64 (not base64 text, although every byte is in the set).
 * Unused low bits of the last quantum are ignored, as the vendor's decoders do.
 *
 * Encoding is mbedTLS's.
 */
#include "core_internal.h"

#include <mbedtls/base64.h>

enum { B64_BAD = -1, B64_PAD = -2 };

/* The value of a base64 character, B64_PAD for '=', B64_BAD otherwise. A switch on ranges
 * instead of a 256-entry table: branch-light enough and obviously right. */
static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == '=')
        return B64_PAD;
    return B64_BAD;
}

bool td_is_base64_text(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (b64_value((unsigned char)text[i]) == B64_BAD)
            return false;
    return true;
}

td_status td_base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len) {
    if (!td_is_base64_text(text, len))
        return TD_ERR_NOT_BASE64;
    if (len == 0 || len % 4 != 0)
        return TD_ERR_TRUNCATED;
    size_t pad = 0;
    while (pad < len && text[len - 1 - pad] == '=')
        pad++;
    if (pad > 2)
        return TD_ERR_NOT_BASE64;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = b64_value((unsigned char)text[i + k]);
            if (v[k] == B64_PAD && i + k < len - pad)
                return TD_ERR_NOT_BASE64; /* '=' before the final padding */
            if (v[k] == B64_PAD)
                v[k] = 0;
        }
        uint32_t q = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        size_t take = 3;
        if (i + 4 == len)
            take = 3 - pad;
        out[n++] = (unsigned char)(q >> 16);
        if (take > 1)
            out[n++] = (unsigned char)((q >> 8) & 0xff);
        if (take > 2)
            out[n++] = (unsigned char)(q & 0xff);
    }
    *out_len = n;
    return TD_OK;
}

size_t td_base64_encode(const unsigned char *data, size_t len, char *out, size_t out_cap) {
    size_t olen = 0;
    if (mbedtls_base64_encode((unsigned char *)out, out_cap, &olen, data, len) != 0)
        return 0;
    return olen;
}

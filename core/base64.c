/* base64.c -- strict standard base64 (RFC 4648 alphabet, padded) for token text.
 *
 * Design
 * ------
 * Decoding is our own small table decoder rather than mbedtls_base64_decode because a token
 * must be judged exactly as given: mbedTLS skips spaces and line breaks, but a token with a
 * stray space or newline is a different (malformed) token and the diagnosis needs to say so.
 * (mbedTLS's decoder is also constant-time, which costs ~1.4 us on a 176-character token; a
 * token is not a secret, so a plain table lookup is enough.)
 *
 * The error kind does not depend on where the first problem sits. In order of precedence:
 * any byte outside A-Z a-z 0-9 + / = is NOT_BASE64; then a length that is not a positive
 * multiple of 4 is TRUNCATED; then padding anywhere but in the last two positions is
 * NOT_BASE64 (not base64 text, although every byte is in the set). Unused low bits of the last
 * quantum are ignored, as the vendor's decoders do.
 *
 * Speed: this is on the hot path of every diagnosis (issue 6). One 256-entry table maps a byte
 * to its 6-bit value, or to a flag bit (B64_BAD, B64_PAD) that no value uses. The decoder makes a
 * single pass of 4 characters -> 3 bytes per step with no per-character branch: the flags of
 * every character are OR-ed together and judged once, after the loop (a range-compare decoder
 * mispredicts on nearly every character of random-looking text). Bytes written before an error
 * is found are garbage that the caller discards with the error; only the last quantum, where
 * padding is legal, is decoded with care.
 *
 * Encoding is mbedTLS's.
 */
#include "core_internal.h"

#include <mbedtls/base64.h>

enum { B64_PAD = 0x40, B64_BAD = 0x80, B64_VALUE = 0x3f };

#define XX B64_BAD
#define PD B64_PAD
/* The 6-bit value of each byte; PD for '=', XX for a byte outside the alphabet. */
// clang-format off
static const unsigned char b64_table[256] = {
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x00 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x10 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63, /* 0x20: + / */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, PD, XX, XX, /* 0x30: 0-9 = */
    XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, /* 0x40: A-O */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX, /* 0x50: P-Z */
    XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60: a-o */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX, /* 0x70: p-z */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x80 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x90 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xa0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xb0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xc0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xd0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xe0 */
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xf0 */
};
// clang-format on
#undef XX
#undef PD

/* The OR of the table entries of len bytes: B64_BAD set when any byte is outside the set. */
static unsigned b64_flags(const unsigned char *s, size_t len) {
    unsigned flags = 0;
    for (size_t i = 0; i < len; i++)
        flags |= b64_table[s[i]];
    return flags;
}

/* Decodes the last quantum s[0..4), where padding may end the text ("xx==", "xxx="), into
 * out; returns the number of bytes written (1..3), or 0 when the padding is misplaced. */
static size_t decode_last_quantum(const unsigned char *s, unsigned char *out) {
    unsigned a = b64_table[s[0]], b = b64_table[s[1]], c = b64_table[s[2]], d = b64_table[s[3]];
    if ((a | b) & B64_PAD || (c & B64_PAD && !(d & B64_PAD)))
        return 0;
    uint32_t q = (uint32_t)(a & B64_VALUE) << 18 | (uint32_t)(b & B64_VALUE) << 12 |
                 (uint32_t)(c & B64_VALUE) << 6 | (uint32_t)(d & B64_VALUE);
    size_t n = c & B64_PAD ? 1 : d & B64_PAD ? 2 : 3;
    out[0] = (unsigned char)(q >> 16);
    if (n > 1)
        out[1] = (unsigned char)(q >> 8);
    if (n > 2)
        out[2] = (unsigned char)q;
    return n;
}

td_status td_base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len) {
    const unsigned char *s = (const unsigned char *)text;
    size_t quanta = len / 4;
    size_t body = quanta > 0 ? quanta - 1 : 0; /* the quanta before the last: no padding */
    unsigned flags = 0;
    for (size_t i = 0; i < body; i++, s += 4, out += 3) {
        unsigned a = b64_table[s[0]], b = b64_table[s[1]], c = b64_table[s[2]], d = b64_table[s[3]];
        flags |= a | b | c | d;
        /* Flag bits spill into the bytes only when flags reports an error below. */
        uint32_t q = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[0] = (unsigned char)(q >> 16);
        out[1] = (unsigned char)(q >> 8);
        out[2] = (unsigned char)q;
    }
    /* s now points at the last quantum and whatever a bad length left after it. */
    if ((flags | b64_flags(s, len - 4 * body)) & B64_BAD)
        return TD_ERR_NOT_BASE64;
    if (len == 0 || len % 4 != 0)
        return TD_ERR_TRUNCATED;
    if (flags & B64_PAD)
        return TD_ERR_NOT_BASE64; /* '=' before the last quantum */
    size_t last = decode_last_quantum(s, out);
    if (last == 0)
        return TD_ERR_NOT_BASE64;
    *out_len = 3 * body + last;
    return TD_OK;
}

size_t td_base64_encode(const unsigned char *data, size_t len, char *out, size_t out_cap) {
    size_t olen = 0;
    if (mbedtls_base64_encode((unsigned char *)out, out_cap, &olen, data, len) != 0)
        return 0;
    return olen;
}

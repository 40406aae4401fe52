/* token_text.c -- what happened to a token's text on its way, and the text cleaned of it.
 *
 * Design
 * ------
 * A token that does not decode has usually been damaged by transport, not built wrong: a shell
 * or a form added whitespace, a JSON string kept its quotes, an Authorization header came along
 * ("Bearer "), PHP's json_encode wrote "\/", a URL encoder ran once too often ("%2B") or a URL
 * decoder once too often ('+' became ' '). diagnosis.md names a hint for each and a repair that
 * undoes them in one order. Both are decided here, in one pass of diag_token_clean, so that the
 * hints a diagnosis gives and the repaired token it offers can never disagree.
 *
 * diag_token_hints adds the decoder's own reading (legacy, truncated, corrupted, ...) and is the
 * one answer to "why does this text not decode", for a diagnosis and for POST /v1/decode alike.
 */
#include "diag_internal.h"

#include <string.h>

static bool starts_with(const char *p, size_t n, const char *prefix) {
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

/* %2B, %2F or %3D in either case: the encoded forms of the base64 alphabet's own symbols. */
static bool has_encoded_symbol(const char *p, size_t n) {
    for (size_t i = 0; i + 2 < n; i++) {
        if (p[i] != '%')
            continue;
        char a = p[i + 1], b = (char)(p[i + 2] | 0x20);
        if ((a == '2' && (b == 'b' || b == 'f')) || (a == '3' && b == 'd'))
            return true;
    }
    return false;
}

static bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* A '+' lost to URL decoding: the cleaned text has a space, and with every space a '+' it is in
 * the base64 alphabet. "hello world" passes that test too, so the hint also needs the text not to
 * be explained as an unknown version: the token as given starts with a version the platform has
 * issued (001..007), or its start is hidden by whitespace, quotes or a header prefix. */
static bool lost_plus(const char *p, size_t n, bool version_known) {
    if (!version_known || !memchr(p, ' ', n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && !is_base64_char(p[i]))
            return false;
    return true;
}

static bool known_version(const char *t, size_t n) {
    return n >= 3 && t[0] == '0' && t[1] == '0' && t[2] >= '1' && t[2] <= '7';
}

void diag_token_clean(const char *t, size_t n, char *buf, size_t cap, diag_token_damage *d) {
    memset(d, 0, sizeof *d);
    const char *p = t;
    size_t len = n;
    diag_trim(&p, &len);
    d->whitespace = len != n;
    if (len >= 2 && (p[0] == '"' || p[0] == '\'') && p[len - 1] == p[0]) {
        d->quoted = true;
        p++, len -= 2;
        diag_trim(&p, &len);
    }
    if (starts_with(p, len, "Bearer ") || starts_with(p, len, "token=")) {
        size_t k = p[0] == 'B' ? 7 : 6;
        d->auth_prefix = true;
        p += k, len -= k;
    }
    d->percent_encoded = has_encoded_symbol(t, n);
    /* Unescape and percent-decode into buf; the text only shrinks, so len + 1 bytes suffice. */
    bool fits = len < cap;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < len && p[i + 1] == '/') {
            d->json_escaped = true;
            c = '/', i++;
        } else if (c == '%' && i + 2 < len && td_hex_digit(p[i + 1]) >= 0 &&
                   td_hex_digit(p[i + 2]) >= 0) {
            c = (char)(td_hex_digit(p[i + 1]) * 16 + td_hex_digit(p[i + 2]));
            i += 2;
        }
        if (fits)
            buf[o] = c;
        o++;
    }
    if (!fits) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    d->url_decoded =
        lost_plus(buf, o, known_version(t, n) || d->whitespace || d->quoted || d->auth_prefix);
    for (size_t i = 0; i < o; i++)
        if (buf[i] == ' ')
            buf[i] = '+';
    buf[o] = '\0';
    d->len = o;
    d->changed = o != n || memcmp(buf, t, n) != 0;
}

uint32_t diag_token_damage_hints(const diag_token_damage *d) {
    return (d->whitespace ? 1u << DIAG_HINT_WHITESPACE : 0) |
           (d->quoted ? 1u << DIAG_HINT_QUOTED : 0) |
           (d->auth_prefix ? 1u << DIAG_HINT_AUTH_PREFIX : 0) |
           (d->json_escaped ? 1u << DIAG_HINT_JSON_ESCAPED : 0) |
           (d->percent_encoded ? 1u << DIAG_HINT_PERCENT_ENCODED : 0) |
           (d->url_decoded ? 1u << DIAG_HINT_URL_DECODED : 0);
}

uint32_t diag_token_hints(const char *token, size_t len, td_status st) {
    if (st == TD_OK)
        return 0;
    if (diag_is_hex32(token, len))
        return 1u << DIAG_HINT_APP_ID_AS_TOKEN; /* and no other hint */
    char buf[TD_TOKEN_TEXT_MAX + 1];
    diag_token_damage d;
    diag_token_clean(token, len, buf, sizeof buf, &d);
    uint32_t hints = diag_token_damage_hints(&d);
    /* The decoder's reading. An unknown version is not said when whitespace, quotes or a header
     * prefix hide the real start of the text (diagnosis.md; the public scenarios show
     * auth_prefix alone for "Bearer 007..."); "not base64" only when no other hint explains the
     * text. */
    uint32_t hidden_start =
        (1u << DIAG_HINT_WHITESPACE) | (1u << DIAG_HINT_QUOTED) | (1u << DIAG_HINT_AUTH_PREFIX);
    switch (st) {
    case TD_ERR_LEGACY_VERSION:
        hints |= 1u << DIAG_HINT_LEGACY_VERSION;
        break;
    case TD_ERR_UNSUPPORTED_VERSION:
        if (!(hints & hidden_start))
            hints |= 1u << DIAG_HINT_UNSUPPORTED_VERSION;
        break;
    case TD_ERR_NOT_BASE64:
        if (!hints)
            hints |= 1u << DIAG_HINT_NOT_BASE64;
        break;
    case TD_ERR_TRUNCATED:
        hints |= 1u << DIAG_HINT_TRUNCATED;
        break;
    case TD_ERR_CORRUPTED:
        hints |= 1u << DIAG_HINT_CORRUPTED;
        break;
    case TD_OK:
        break;
    }
    return hints;
}

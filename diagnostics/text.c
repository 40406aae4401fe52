/* text.c -- safe rendering of client-supplied bytes (see diag_internal.h).
 *
 * Clients send arbitrary bytes as channel names, accounts and tokens. jansson refuses invalid
 * UTF-8 (json_stringn returns NULL), and raw control characters in a terminal are an injection
 * vector, so every such value is passed through one of the two functions here before it is
 * shown. Both are bounded: they never write past the buffer they are given. diag_fail, the
 * validators' "message and false", lives here too: it is the other bounded writer of text.
 */
#include "diag_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence starting at p (n bytes left), 0 when invalid. */
static size_t utf8_sequence_len(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

char *diag_quote(char *out, size_t cap, const char *p, size_t n, size_t max_chars) {
    size_t o = 0;
    if (cap < 8) { /* room for the quotes, an ellipsis and the NUL is a precondition */
        if (cap)
            out[0] = '\0';
        return out;
    }
    const unsigned char *s = (const unsigned char *)p;
    size_t limit = cap - 6; /* keep room for "'...'" + NUL */
    out[o++] = '\'';
    size_t i = 0;
    while (i < n && i < max_chars) {
        size_t seq = utf8_sequence_len(s + i, n - i);
        if (seq == 1 && s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\\') {
            if (o + 1 > limit)
                break;
            out[o++] = (char)s[i];
            i++;
        } else if (seq > 1) {
            if (o + seq > limit)
                break;
            memcpy(out + o, s + i, seq);
            o += seq;
            i += seq;
        } else {
            if (o + 4 > limit)
                break;
            if (s[i] == '\\') {
                out[o++] = '\\';
                out[o++] = '\\';
            } else {
                snprintf(out + o, 5, "\\x%02x", s[i]);
                o += 4;
            }
            i++;
        }
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

json_t *diag_json_text(const char *p, size_t n) {
    if (!p)
        p = "", n = 0;
    if (!memchr(p, '\0', n)) {
        json_t *s = json_stringn(p, n);
        if (s)
            return s;
    }
    /* Not valid UTF-8 (or holds a NUL): escape the bad bytes; at most 4 output bytes each. */
    char *buf = malloc(4 * n + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t seq = utf8_sequence_len((const unsigned char *)p + i, n - i);
        if (seq >= 1 && p[i] != '\0') {
            memcpy(buf + o, p + i, seq);
            o += seq;
            i += seq;
        } else {
            snprintf(buf + o, 5, "\\x%02x", (unsigned char)p[i]);
            o += 4;
            i++;
        }
    }
    json_t *s = json_stringn(buf, o);
    free(buf);
    return s;
}

bool diag_is_hex32(const char *p, size_t n) {
    if (!p || n != 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

bool diag_fail(char *err, size_t cap, const char *fmt, ...) {
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

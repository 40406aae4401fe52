/* text.c -- the one rule for showing bytes that came from outside (see tdcore.h, "Text from
 * outside"): one U+FFFD per byte that does not belong to a valid UTF-8 sequence (simpler than the
 * Unicode standard's "maximal subpart" practice, which gives one per broken sequence, and it
 * keeps the count of bad bytes visible).
 *
 * Design
 * ------
 * Channel names, accounts, App IDs, token strings and stored names are bytes, not text: a client
 * or a damaged database may hand over anything. Every output path classifies them with
 * td_text_unit and only chooses the form its medium needs: JSON writers put U+FFFD for a byte
 * that is not UTF-8 (a JSON document must be UTF-8, and every decoder's "replace" mode does the
 * same), a terminal shows such a byte, and control characters, as \xNN (a person diagnosing a
 * channel name that differs by one stray byte has to see that byte; a raw ESC or CSI would let
 * the input drive the terminal). Before this file the same bytes came out as \xNN in one JSON
 * document, U+FFFD in another and '?' in a third.
 *
 * NUL counts as a byte that is not text: C strings and jansson's default loader stop at or refuse
 * it, so a document carrying it would not survive the next program.
 */
#include "tdcore.h"

#include <string.h>

size_t td_utf8_len(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
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

size_t td_text_unit(const char *p, size_t n, td_text_kind *kind) {
    const unsigned char *s = (const unsigned char *)p;
    size_t len = td_utf8_len(s, n);
    if (len == 0 || s[0] == '\0') {
        *kind = TD_TEXT_INVALID;
        return 1;
    }
    bool c0 = len == 1 && (s[0] < 0x20 || s[0] == 0x7f);
    bool c1 = len == 2 && s[0] == 0xc2 && s[1] < 0xa0; /* U+0080..U+009F */
    *kind = c0 || c1 ? TD_TEXT_CONTROL : TD_TEXT_PRINTABLE;
    return len;
}

bool td_buf_add_text(td_buf *b, const char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        td_text_kind kind;
        size_t k = td_text_unit(p + i, n - i, &kind);
        if (kind == TD_TEXT_INVALID)
            td_buf_add(b, TD_TEXT_REPLACEMENT, sizeof TD_TEXT_REPLACEMENT - 1);
        else
            td_buf_add(b, p + i, k);
        i += k;
    }
    return b->status == TD_BUF_OK;
}

size_t td_text_copy(char *dst, size_t cap, const char *src, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && cap > 0;) {
        td_text_kind kind;
        size_t k = td_text_unit(src + i, n - i, &kind);
        const char *unit = kind == TD_TEXT_INVALID ? TD_TEXT_REPLACEMENT : src + i;
        size_t len = kind == TD_TEXT_INVALID ? sizeof TD_TEXT_REPLACEMENT - 1 : k;
        if (len > cap - 1 - o)
            break; /* cut before a unit, never inside one */
        memcpy(dst + o, unit, len);
        o += len;
        i += k;
    }
    if (cap > 0)
        dst[o] = '\0';
    return o;
}

size_t td_text_show_unit(const char *p, size_t n, char out[TD_TEXT_SHOWN_MAX], size_t *used) {
    static const char hex[] = "0123456789abcdef";
    td_text_kind kind;
    size_t k = td_text_unit(p, n, &kind);
    *used = k;
    if (kind == TD_TEXT_PRINTABLE && p[0] != '\\') {
        memcpy(out, p, k);
        return k;
    }
    if (kind == TD_TEXT_PRINTABLE) {
        memcpy(out, "\\\\", 2);
        return 2;
    }
    for (size_t j = 0; j < k; j++) {
        unsigned char c = (unsigned char)p[j];
        memcpy(out + 4 * j, (char[4]){'\\', 'x', hex[c >> 4], hex[c & 15]}, 4);
    }
    return 4 * k;
}

bool td_buf_add_shown(td_buf *b, const char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        char unit[TD_TEXT_SHOWN_MAX];
        size_t used;
        td_buf_add(b, unit, td_text_show_unit(p + i, n - i, unit, &used));
        i += used;
    }
    return b->status == TD_BUF_OK;
}

/* text.c -- safe rendering of client-supplied bytes (see diag_internal.h).
 *
 * Clients send arbitrary bytes as channel names, accounts and tokens. jansson refuses invalid
 * UTF-8 (json_stringn returns NULL), and raw control characters in a terminal are an injection
 * vector, so every such value is passed through one of the two functions here before it is
 * shown. Both are bounded: they never write past the buffer they are given. diag_fail, the
 * validators' "message and false", lives here too: it is the other bounded writer of text; so do
 * the UTF-8 check both rely on (diag_utf8_len, also token_json.c's) and the one UTC time format
 * of check details and the text diagnosis (diag_utc_time).
 */
#include "diag_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t diag_utf8_len(const unsigned char *p, size_t n) {
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

static bool is_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

void diag_trim(const char **p, size_t *n) {
    while (*n && is_space((*p)[0]))
        (*p)++, (*n)--;
    while (*n && is_space((*p)[*n - 1]))
        (*n)--;
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
        size_t seq = diag_utf8_len(s + i, n - i);
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
        size_t seq = diag_utf8_len((const unsigned char *)p + i, n - i);
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

const char *diag_utc_time(char *buf, size_t cap, int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, cap, "%lld", (long long)t);
    return buf;
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

/* ---- Direct JSON writing (into a td_buf) ------------------------------------------------- */

/* Room for a JSON string of n input bytes at worst: 6 output bytes each and the quotes. An n
 * whose worst case does not fit in size_t asks for SIZE_MAX, which the buffer refuses (over
 * its cap) instead of the product wrapping to a small number. */
static char *jw_string_space(td_buf *w, size_t n) {
    return td_buf_space(w, n <= (SIZE_MAX - 2) / 6 ? n * 6 + 2 : SIZE_MAX);
}

/* Appends one character of a string value, escaped as jansson's dumper does; room for 6 bytes
 * must have been reserved. */
static char *jw_escape_char(char *o, unsigned char c) {
    static const char hex[] = "0123456789ABCDEF";
    if (c >= 0x20 && c != '"' && c != '\\') {
        *o++ = (char)c;
        return o;
    }
    *o++ = '\\';
    switch (c) {
    case '"':
    case '\\':
        *o++ = (char)c;
        break;
    case '\b':
        *o++ = 'b';
        break;
    case '\f':
        *o++ = 'f';
        break;
    case '\n':
        *o++ = 'n';
        break;
    case '\r':
        *o++ = 'r';
        break;
    case '\t':
        *o++ = 't';
        break;
    default:
        memcpy(o, "u00", 3);
        o[3] = hex[c >> 4];
        o[4] = hex[c & 15];
        o += 5;
    }
    return o;
}

void diag_jw_strn(td_buf *w, const char *s, size_t n) {
    char *start = jw_string_space(w, n);
    if (!start)
        return;
    char *o = start;
    *o++ = '"';
    for (size_t i = 0; i < n; i++)
        o = jw_escape_char(o, (unsigned char)s[i]);
    *o++ = '"';
    td_buf_commit(w, (size_t)(o - start));
}

void diag_jw_str(td_buf *w, const char *s) {
    diag_jw_strn(w, s, strlen(s));
}

/* Client bytes as a JSON string: valid UTF-8 sequences escaped as usual; every other byte (and
 * NUL when nul_too) as bad (3 bytes: U+FFFD) or, when bad is NULL, as the text \xNN. Reserves
 * the worst case: 6 output bytes per input byte. */
static void jw_client_text(td_buf *w, const char *p, size_t n, bool nul_too, const char *bad) {
    static const char hex[] = "0123456789abcdef";
    char *start = jw_string_space(w, n);
    if (!start)
        return;
    const unsigned char *s = (const unsigned char *)p;
    char *o = start;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') {
            *o++ = (char)s[i++]; /* the common case: printable ASCII */
            continue;
        }
        size_t seq = diag_utf8_len(s + i, n - i);
        if (seq >= 1 && !(nul_too && s[i] == '\0')) {
            for (size_t k = 0; k < seq; k++)
                o = jw_escape_char(o, s[i + k]);
            i += seq;
        } else if (bad) {
            memcpy(o, bad, 3);
            o += 3;
            i++;
        } else {
            memcpy(o, "\\\\x", 3);
            o[3] = hex[s[i] >> 4];
            o[4] = hex[s[i] & 15];
            o += 5;
            i++;
        }
    }
    *o++ = '"';
    td_buf_commit(w, (size_t)(o - start));
}

void diag_jw_text(td_buf *w, const char *p, size_t n) {
    jw_client_text(w, p ? p : "", p ? n : 0, true, NULL);
}

void diag_jw_text_fffd(td_buf *w, const char *p, size_t n) {
    jw_client_text(w, p, n, false, "\xef\xbf\xbd");
}

void diag_jw_json(td_buf *w, json_t *v) {
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    size_t n = v ? json_dumpb(v, NULL, 0, flags) : 0;
    if (n == 0) { /* no value (a parsed value always dumps) */
        DIAG_JW_LIT(w, "null");
        return;
    }
    char *o = td_buf_space(w, n);
    if (o)
        td_buf_commit(w, json_dumpb(v, o, n, flags));
}

json_t *diag_jw_tree(td_buf *b, bool written) {
    json_t *doc = written ? json_loadb(b->p, b->len, JSON_ALLOW_NUL, NULL) : NULL;
    td_buf_free(b);
    return doc;
}

/* text.c -- safe rendering of client-supplied bytes (see diag_internal.h).
 *
 * Clients send arbitrary bytes as channel names, accounts and tokens. jansson refuses invalid
 * UTF-8 (json_stringn returns NULL), and raw control characters in a terminal are an injection
 * vector, so every such value is passed through one of the two functions here before it is
 * shown. Both are bounded: they never write past the buffer they are given, and both follow the
 * one rule of core's td_text_unit (U+FFFD in JSON, \xNN for a person). diag_fail, the
 * validators' "message and false", lives here too: it is the other bounded writer of text; so
 * does the one UTC time format of check details and the text diagnosis (diag_utc_time).
 */
#include "diag_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    size_t limit = cap - 6; /* keep room for "'...'" + NUL */
    out[o++] = '\'';
    size_t i = 0;
    while (i < n && i < max_chars) {
        char unit[TD_TEXT_SHOWN_MAX];
        size_t used;
        size_t shown = td_text_show_unit(p + i, n - i, unit, &used);
        if (o + shown > limit)
            break;
        memcpy(out + o, unit, shown);
        o += shown;
        i += used;
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
    td_buf b;
    td_buf_init(&b, DIAG_DOC_MAX);
    json_t *s = NULL;
    if (td_buf_add_text(&b, p ? p : "", p ? n : 0))
        s = json_stringn(b.p ? b.p : "", b.len);
    td_buf_free(&b);
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

/* Client bytes as a JSON string, by the rule of td_text_unit: valid UTF-8 sequences escaped as
 * jansson's dumper escapes them, every TD_TEXT_INVALID byte as U+FFFD. Reserves the worst case:
 * 6 output bytes per input byte. */
void diag_jw_text(td_buf *w, const char *p, size_t n) {
    if (!p)
        p = "", n = 0;
    char *start = jw_string_space(w, n);
    if (!start)
        return;
    char *o = start;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c; /* the common case: printable ASCII */
            i++;
            continue;
        }
        td_text_kind kind;
        size_t k = td_text_unit(p + i, n - i, &kind);
        if (kind == TD_TEXT_INVALID) {
            memcpy(o, TD_TEXT_REPLACEMENT, 3);
            o += 3;
        } else {
            for (size_t j = 0; j < k; j++)
                o = jw_escape_char(o, (unsigned char)p[i + j]);
        }
        i += k;
    }
    *o++ = '"';
    td_buf_commit(w, (size_t)(o - start));
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

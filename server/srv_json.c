/* srv_json.c -- compact JSON serialisation of a json_t into a growable buffer.
 *
 * Why not json_dumpb(): jansson 2.14 guards every object and array it dumps against cycles by
 * formatting the container's address with snprintf("%p") into a hash table it allocates, and it
 * allocates a key array per object -- for a diagnosis (about a hundred containers) that was 17%
 * of a request's CPU time. The documents the service renders are trees built per request, so
 * no cycle check is needed; this writer walks them once, in insertion order, with the same
 * output as json_dumpb(JSON_COMPACT) (strings are valid UTF-8 already: jansson checks that
 * when they are created; only '"', '\\' and control characters are escaped, as jansson does).
 */
#include "srv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool srv_buf_reserve(srv_buf *b, size_t more) {
    if (b->len + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static bool srv_buf_add(srv_buf *b, const char *s, size_t n) {
    if (!srv_buf_reserve(b, n))
        return false;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

static bool srv_json_string(srv_buf *b, const char *s, size_t n) {
    /* worst case: every byte becomes \u00XX */
    if (!srv_buf_reserve(b, n * 6 + 2))
        return false;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
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
            o += snprintf(o, 6, "u%04X", c);
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return true;
}

/* Decimal digits without printf: integers are in every diagnosis (times, codes, ids). */
static bool srv_json_integer(srv_buf *b, json_int_t v) {
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return srv_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

static bool srv_json_value(srv_buf *b, const json_t *v, int depth) {
    char num[40];
    int n;
    if (depth > 64)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (!srv_buf_add(b, "{", 1))
            return false;
        bool first = true;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) {
            if ((!first && !srv_buf_add(b, ",", 1)) || !srv_json_string(b, key, strlen(key)) ||
                !srv_buf_add(b, ":", 1) || !srv_json_value(b, val, depth + 1))
                return false;
            first = false;
        }
        return srv_buf_add(b, "}", 1);
    }
    case JSON_ARRAY: {
        if (!srv_buf_add(b, "[", 1))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((i && !srv_buf_add(b, ",", 1)) ||
                !srv_json_value(b, json_array_get(v, i), depth + 1))
                return false;
        return srv_buf_add(b, "]", 1);
    }
    case JSON_STRING:
        return srv_json_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return srv_json_integer(b, json_integer_value(v));
    case JSON_REAL:
        n = snprintf(num, sizeof num - 2, "%.17g", json_real_value(v));
        if (!strpbrk(num, ".eEni")) { /* keep it a real, as jansson does: 1.0 not 1 */
            num[n++] = '.';
            num[n++] = '0';
        }
        return srv_buf_add(b, num, (size_t)n);
    case JSON_TRUE:
        return srv_buf_add(b, "true", 4);
    case JSON_FALSE:
        return srv_buf_add(b, "false", 5);
    case JSON_NULL:
        return srv_buf_add(b, "null", 4);
    }
    return false;
}

bool srv_json_append(srv_buf *b, const json_t *v) {
    size_t at = b->len;
    if (srv_json_value(b, v, 0))
        return true;
    b->len = at;
    return false;
}

bool srv_json_write(srv_buf *b, const json_t *v) {
    b->len = 0;
    return srv_json_append(b, v);
}

bool srv_buf_append(srv_buf *b, const char *s, size_t n) {
    return srv_buf_add(b, s, n);
}

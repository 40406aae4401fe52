/* buf.c -- td_buf, the one growable byte buffer (see tdcore.h), after curl's lib/dynbuf.c.
 *
 * Design
 * ------
 * Every size computation is checked before it is made: a request is refused when it would take
 * len past max, and because max < SIZE_MAX / 2 is a precondition, len + n + 1 and the doubling
 * of cap below it cannot wrap. Capacity doubles (amortised O(1) appends) but never beyond
 * max + 1, the most the buffer can ever need, so a capped buffer never over-allocates past its cap.
 *
 * The status is sticky, as curl's dynbuf frees on failure and as the JSON writers need: a writer
 * emits a whole document with unchecked appends and tests the status once. Unlike dynbuf, a
 * failure keeps what was written (a caller may still roll back with td_buf_truncate), so that a
 * worker's long-lived reply buffer survives one oversized answer.
 *
 * A secret buffer never uses realloc, which may leave the old block's bytes behind in freed
 * memory: it allocates, copies, wipes and frees instead. Growth is rare, so the cost is too.
 */
#include "tdcore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation: small enough for a short message, large enough for most documents. */
#define TD_BUF_FIRST_CAP 256

static void buf_init(td_buf *b, size_t max, bool secret) {
    *b = (td_buf){.max = max < SIZE_MAX / 2 ? max : SIZE_MAX / 2 - 1, .secret = secret};
}

void td_buf_init(td_buf *b, size_t max) {
    buf_init(b, max, false);
}

void td_buf_init_secret(td_buf *b, size_t max) {
    buf_init(b, max, true);
}

static bool buf_fail(td_buf *b, td_buf_status why) {
    if (b->status == TD_BUF_OK)
        b->status = why;
    return false;
}

/* The new capacity for need bytes: doubling from the current one, capped at max + 1. */
static size_t buf_next_cap(const td_buf *b, size_t need) {
    size_t cap = b->cap ? b->cap : TD_BUF_FIRST_CAP;
    while (cap < need)
        cap *= 2; /* cap < need <= max + 1 < SIZE_MAX / 2: cannot wrap */
    return cap < b->max + 1 ? cap : b->max + 1;
}

static char *buf_realloc(td_buf *b, size_t cap) {
    if (!b->secret)
        return realloc(b->p, cap);
    char *p = malloc(cap);
    if (p && b->p) {
        memcpy(p, b->p, b->len + 1);
        explicit_bzero(b->p, b->cap);
        free(b->p);
    }
    return p;
}

char *td_buf_space(td_buf *b, size_t n) {
    if (b->status != TD_BUF_OK)
        return NULL;
    if (n > b->max - b->len) {
        buf_fail(b, TD_BUF_TOOBIG);
        return NULL;
    }
    size_t need = b->len + n + 1; /* the NUL */
    if (need > b->cap) {
        size_t cap = buf_next_cap(b, need);
        char *p = buf_realloc(b, cap);
        if (!p) {
            buf_fail(b, TD_BUF_NOMEM);
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

void td_buf_commit(td_buf *b, size_t k) {
    b->len += k;
    b->p[b->len] = '\0';
}

bool td_buf_add(td_buf *b, const void *data, size_t n) {
    char *o = td_buf_space(b, n);
    if (!o)
        return false;
    if (n)
        memcpy(o, data, n);
    td_buf_commit(b, n);
    return true;
}

bool td_buf_addz(td_buf *b, const char *s) {
    return td_buf_add(b, s, strlen(s));
}

bool td_buf_addc(td_buf *b, char c) {
    return td_buf_add(b, &c, 1);
}

bool td_buf_addint(td_buf *b, long long v) {
    char tmp[24];
    char *p = tmp + sizeof tmp;
    /* The magnitude as unsigned, so that LLONG_MIN does not overflow. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return td_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Formats into the free space first: most calls fit, and then vsnprintf runs once. Since
 * cap <= max + 1, what fits there is within the cap too. */
bool td_buf_addf(td_buf *b, const char *fmt, ...) {
    if (b->status != TD_BUF_OK)
        return false;
    size_t room = b->p ? b->cap - b->len : 0; /* counting the NUL's byte */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < room) {
        b->len += (size_t)n; /* vsnprintf wrote the NUL */
        return true;
    }
    if (b->p)
        b->p[b->len] = '\0'; /* undo the cut-off text */
    if (n < 0)
        return buf_fail(b, TD_BUF_NOMEM); /* vsnprintf fails only when it cannot allocate */
    char *o = td_buf_space(b, (size_t)n);
    if (!o)
        return false;
    va_start(ap, fmt);
    vsnprintf(o, (size_t)n + 1, fmt, ap);
    va_end(ap);
    td_buf_commit(b, (size_t)n);
    return true;
}

void td_buf_truncate(td_buf *b, size_t len) {
    if (len < b->len) {
        b->len = len;
        b->p[len] = '\0';
    }
}

void td_buf_reset(td_buf *b) {
    if (b->p && b->secret)
        explicit_bzero(b->p, b->cap);
    if (b->p)
        b->p[0] = '\0';
    b->len = 0;
    b->status = TD_BUF_OK;
}

char *td_buf_take(td_buf *b, size_t *len) {
    char *p = b->p;
    if (len)
        *len = b->len;
    buf_init(b, b->max, b->secret);
    return p;
}

void td_buf_free(td_buf *b) {
    if (b->p && b->secret)
        explicit_bzero(b->p, b->cap);
    free(b->p);
    buf_init(b, b->max, b->secret);
}

/* wire.c -- bounds-checked little-endian reading and writing of the token primitives.
 *
 * Design
 * ------
 * Every multi-byte value of both token formats is little-endian and every variable-length field
 * is a "string" (uint16 length + bytes). Keeping all byte access in these few functions means a
 * decoder cannot read out of bounds by construction: a getter checks what is left before it
 * touches a byte and, on failure, leaves the cursor where it was so the caller can report
 * "content ends early" (TD_ERR_TRUNCATED). Values are assembled byte by byte, so alignment and
 * host endianness never matter.
 *
 * The reader's getters are static inline functions in core_internal.h (they run for every field
 * of every decoded token, and a call each was measurable -- issue 6); this file holds the writer.
 *
 * The writer is the mirror image: it silently stops writing once something does not fit and
 * sets `overflow`, so a builder writes a whole token and checks one flag at the end.
 *
 * The privileges map (uint16 count + (uint16 id, uint32 value) pairs) is laid out identically in
 * 006 and 007, so its reader and writer live here once for both formats.
 */
#include "core_internal.h"

#include <string.h>

void td_wr_init(td_wr *w, unsigned char *buf, size_t cap) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

void td_wr_bytes(td_wr *w, const void *data, size_t len) {
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (len > 0)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
}

void td_wr_u16(td_wr *w, uint16_t v) {
    unsigned char b[2] = {(unsigned char)(v & 0xff), (unsigned char)(v >> 8)};
    td_wr_bytes(w, b, sizeof b);
}

void td_wr_u32(td_wr *w, uint32_t v) {
    unsigned char b[4] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff),
                          (unsigned char)((v >> 16) & 0xff), (unsigned char)(v >> 24)};
    td_wr_bytes(w, b, sizeof b);
}

void td_wr_str(td_wr *w, const char *data, size_t len) {
    if (len > UINT16_MAX) {
        w->overflow = true;
        return;
    }
    td_wr_u16(w, (uint16_t)len);
    td_wr_bytes(w, data, len);
}

td_status td_rd_privileges(td_rd *r, td_token *t, uint16_t *first, uint16_t *count) {
    uint16_t n;
    if (!td_rd_u16(r, &n))
        return TD_ERR_TRUNCATED;
    if ((size_t)n * 6 > r->left)
        return TD_ERR_TRUNCATED;
    if (n > TD_PRIVILEGES_MAX - t->privilege_total)
        return TD_ERR_CORRUPTED;
    *first = t->privilege_total;
    *count = n;
    for (uint16_t i = 0; i < n; i++) {
        td_privilege *p = &t->privileges[t->privilege_total++];
        /* Cannot fail: 6 * n bytes were checked above. */
        (void)td_rd_u16(r, &p->id);
        (void)td_rd_u32(r, &p->value);
    }
    return TD_OK;
}

bool td_wr_privileges(td_wr *w, const td_token *spec, uint16_t first, uint16_t count) {
    if ((size_t)first + count > TD_PRIVILEGES_MAX)
        return false;
    td_privilege sorted[TD_PRIVILEGES_MAX];
    for (uint16_t i = 0; i < count; i++) {
        td_privilege p = spec->privileges[first + i];
        uint16_t k = i;
        while (k > 0 && sorted[k - 1].id > p.id) {
            sorted[k] = sorted[k - 1];
            k--;
        }
        sorted[k] = p;
    }
    td_wr_u16(w, count);
    for (uint16_t i = 0; i < count; i++) {
        td_wr_u16(w, sorted[i].id);
        td_wr_u32(w, sorted[i].value);
    }
    return true;
}

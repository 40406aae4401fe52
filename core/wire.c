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

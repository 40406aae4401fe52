/* core_internal.h -- what the files of core/ share and nothing outside core/ should use.
 *
 * Design
 * ------
 * td_ctx is defined here so that the codec files (token007.c, token006.c) reach its kept state
 * directly: one inflate and one deflate z_stream that are reset, never re-created; three HMAC
 * contexts set up once (mbedTLS allocates the HMAC pads at setup, so a later hmac_starts /
 * update / finish allocates nothing); the CTR-DRBG; and scratch buffers large enough for the
 * worst case of every bounded stage, so that decoding and building need no heap at all.
 *
 * Wire access goes through two tiny cursor types, td_rd (inline, below) and td_wr (wire.c). A
 * td_rd never reads past its end: every getter checks what is left and fails without moving; a
 * td_wr never writes past its capacity and remembers that it overflowed, so that a builder can
 * write a whole token and check once at the end.
 */
#ifndef TD_CORE_INTERNAL_H
#define TD_CORE_INTERNAL_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <zlib.h>

#include "tdcore.h"

enum { TD_HMAC_K1 = 0, TD_HMAC_K2 = 1, TD_HMAC_SIG = 2, TD_HMAC_COUNT = 3 };

struct td_ctx {
    z_stream inflater;
    bool inflater_ready;
    z_stream deflater;
    bool deflater_ready;
    mbedtls_md_context_t hmac[TD_HMAC_COUNT];
    int hmac_ready; /* how many of hmac[] were set up (for td_ctx_free) */
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    bool drbg_ready;
    /* Base64-decoded 007 bytes before inflating (text <= TD_TOKEN_TEXT_MAX). */
    unsigned char scratch[TD_TOKEN_TEXT_MAX];
    /* Building: the content, then its compressed form (deflate can grow incompressible input
     * by a few bytes per 16 KiB block, hence the slack). */
    unsigned char build[TD_CONTENT_MAX + 64];
    unsigned char packed[TD_CONTENT_MAX + 1024];
};

/* ---- wire.c: bounds-checked little-endian cursors -------------------------------------- */

typedef struct {
    const char *p;
    size_t left;
} td_rd;

/* The getters are defined here, inline, because the parsers call them for every field of every
 * service: as calls through wire.c they were ~4% of a 16-service 007 decode + verify. */

/* The next n bytes, the cursor moved past them; NULL, the cursor unmoved, when fewer are left.
 * The one bounds check and advance that every getter goes through. */
static inline const unsigned char *td_rd_take(td_rd *r, size_t n) {
    if (r->left < n)
        return NULL;
    const unsigned char *p = (const unsigned char *)r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static inline uint16_t td_le16(const unsigned char *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline bool td_rd_u16(td_rd *r, uint16_t *out) {
    const unsigned char *p = td_rd_take(r, 2);
    if (p)
        *out = td_le16(p);
    return p != NULL;
}

static inline bool td_rd_u32(td_rd *r, uint32_t *out) {
    const unsigned char *p = td_rd_take(r, 4);
    if (p)
        *out = (uint32_t)td_le16(p) | ((uint32_t)td_le16(p + 2) << 16);
    return p != NULL;
}

/* A string: uint16 length then that many bytes; *out is a slice of the reader's buffer. On
 * failure the cursor does not move. */
static inline bool td_rd_str(td_rd *r, td_str *out) {
    if (r->left < 2)
        return false;
    size_t len = td_le16((const unsigned char *)r->p);
    if (r->left - 2 < len)
        return false;
    td_rd_take(r, 2);
    out->ptr = r->p;
    out->len = len;
    td_rd_take(r, len);
    return true;
}

typedef struct {
    unsigned char *buf;
    size_t cap;
    size_t len;
    bool overflow; /* a write did not fit (or a string was over 65535 bytes) */
} td_wr;

void td_wr_init(td_wr *w, unsigned char *buf, size_t cap);
void td_wr_u16(td_wr *w, uint16_t v);
void td_wr_u32(td_wr *w, uint32_t v);
void td_wr_bytes(td_wr *w, const void *data, size_t len);
void td_wr_str(td_wr *w, const char *data, size_t len);

/* A privileges map, the same in both formats: uint16 count, then count x (uint16 id, uint32
 * value). td_rd_privileges appends it to t's pool and sets *first / *count: TRUNCATED when the
 * count is larger than what follows, CORRUPTED when the pool cannot hold it.
 * td_wr_privileges writes spec->privileges[first, first + count) sorted by id (stable), as the
 * vendor builders do; false when that range is outside the pool. */
td_status td_rd_privileges(td_rd *r, td_token *t, uint16_t *first, uint16_t *count);
bool td_wr_privileges(td_wr *w, const td_token *spec, uint16_t first, uint16_t count);

/* ---- base64.c --------------------------------------------------------------------------- */

/* Decodes padded standard base64 of len bytes into out (at most 3 * len / 4 bytes). Returns
 * TD_OK with *out_len, or TD_ERR_NOT_BASE64 (a character outside the alphabet or misplaced
 * padding) or TD_ERR_TRUNCATED (empty, or length not a multiple of 4). A bad character
 * anywhere wins over a bad length, which wins over misplaced padding, wherever each sits. On
 * failure out holds garbage (up to 3 * len / 4 bytes of it). */
td_status td_base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len);

/* Encodes len bytes as padded standard base64 into out (NUL-terminated). Returns the text
 * length, or 0 when out_cap is too small. */
size_t td_base64_encode(const unsigned char *data, size_t len, char *out, size_t out_cap);

/* ---- crypto.c ---------------------------------------------------------------------------- */

/* HMAC-SHA256 with the kept context hmac[which]; the message is the concatenation of up to four
 * parts (NULL parts are skipped). No allocation. false on an mbedTLS error. */
bool td_hmac(td_ctx *ctx, int which, const void *key, size_t key_len, const void *m1, size_t l1,
             const void *m2, size_t l2, const void *m3, size_t l3, const void *m4, size_t l4,
             unsigned char out[32]);

/* ---- token007.c / token006.c --------------------------------------------------------------- */

/* Resets the scalar fields and pool counters of a token and sets its version. The pools and the
 * services array are not cleared (13 KiB per decode would dominate a fast decode): only entries
 * below the counters are ever read, and each service is cleared when it is parsed. */
void td_token_reset(td_token *t, const char *version);

/* Decode the text after the 3-character version prefix. */
td_status td_decode007_body(td_ctx *ctx, const char *body, size_t len, td_token *out);
td_status td_decode006_body(const char *body, size_t len, td_token *out);

#endif /* TD_CORE_INTERNAL_H */

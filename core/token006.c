/* token006.c -- AccessToken ("006"): decode, parse, verify and build.
 *
 * Design
 * ------
 * 006 is "006" + 32-character App ID + base64(content), without compression:
 *   content = string(signature) uint32 crc_channel uint32 crc_uid string(m)
 *   m       = uint32 salt uint32 ts map<uint16,uint32> privileges
 * The content is base64-decoded straight into tok->content; the App ID is copied to the tail of
 * the same buffer so that every td_str of the token stays valid after the caller frees the text
 * (base64 of at most 4 KiB is ~3 KiB, far below TD_CONTENT_MAX - 32, so the two never meet).
 *
 * The signature covers app_id + channel + uid + m, but channel and uid are only present as
 * CRC-32s, so verification takes the join's channel and uid text; m is hashed from the raw bytes
 * as received. Anything after the privileges inside m, or after m in the content, is ignored
 * (and still signed, for m).
 */
#include "core_internal.h"

#include <string.h>

static td_status parse_m(td_token *t) {
    td_rd r = {t->signed_part.ptr, t->signed_part.len};
    if (!td_rd_u32(&r, &t->salt) || !td_rd_u32(&r, &t->ts))
        return TD_ERR_TRUNCATED;
    return td_rd_privileges(&r, t, &t->first_privilege_006, &t->privilege_count_006);
}

td_status td_decode006_body(const char *body, size_t len, td_token *out) {
    td_token_reset(out, "006");
    if (len < TD_CERT_LEN)
        return TD_ERR_TRUNCATED;
    char *app_id = out->content + TD_CONTENT_MAX - TD_CERT_LEN;
    memcpy(app_id, body, TD_CERT_LEN);
    out->app_id.ptr = app_id;
    out->app_id.len = TD_CERT_LEN;

    size_t n = 0;
    td_status st =
        td_base64_decode(body + TD_CERT_LEN, len - TD_CERT_LEN, (unsigned char *)out->content, &n);
    if (st != TD_OK)
        return st;
    out->content_len = n;
    td_rd r = {out->content, n};
    if (!td_rd_str(&r, &out->signature) || !td_rd_u32(&r, &out->crc_channel) ||
        !td_rd_u32(&r, &out->crc_uid) || !td_rd_str(&r, &out->signed_part))
        return TD_ERR_TRUNCATED;
    return parse_m(out);
}

bool td_verify006(td_ctx *ctx, const td_token *tok, const char *cert, size_t cert_len,
                  const char *channel, size_t channel_len, const char *uid, size_t uid_len) {
    unsigned char sig[32];
    if (strcmp(tok->version, "006") != 0 || tok->signature.len != TD_SIGNATURE_LEN)
        return false;
    if (!td_hmac(ctx, TD_HMAC_SIG, cert, cert_len, tok->app_id.ptr, tok->app_id.len, channel,
                 channel_len, uid, uid_len, tok->signed_part.ptr, tok->signed_part.len, sig))
        return false;
    return td_ct_equal(sig, tok->signature.ptr, TD_SIGNATURE_LEN);
}

/* m = salt, ts, privileges sorted by id. */
static bool write_m(td_wr *w, const td_token *spec) {
    td_wr_u32(w, spec->salt);
    td_wr_u32(w, spec->ts);
    return td_wr_privileges(w, spec, spec->first_privilege_006, spec->privilege_count_006);
}

/* The App ID is written into the token text as is: it must be 32 printable ASCII characters
 * (a NUL or a space would make a token that cannot be passed around as text). */
static bool app_id_printable(td_str app_id) {
    if (app_id.len != TD_CERT_LEN)
        return false;
    for (size_t i = 0; i < app_id.len; i++)
        if (app_id.ptr[i] < 0x21 || app_id.ptr[i] > 0x7e)
            return false;
    return true;
}

size_t td_build006(td_ctx *ctx, const td_token *spec, const char *cert, size_t cert_len,
                   const char *channel, size_t channel_len, const char *uid, size_t uid_len,
                   char *out, size_t out_cap) {
    if (!app_id_printable(spec->app_id) || out_cap < 3 + TD_CERT_LEN + 1)
        return 0;
    td_wr m;
    td_wr_init(&m, ctx->packed, sizeof ctx->packed);
    if (!write_m(&m, spec) || m.overflow)
        return 0;

    unsigned char sig[TD_SIGNATURE_LEN];
    if (!td_hmac(ctx, TD_HMAC_SIG, cert, cert_len, spec->app_id.ptr, spec->app_id.len, channel,
                 channel_len, uid, uid_len, m.buf, m.len, sig))
        return 0;

    td_wr content;
    td_wr_init(&content, ctx->build, sizeof ctx->build);
    td_wr_str(&content, (const char *)sig, sizeof sig);
    td_wr_u32(&content, td_crc32(channel, channel_len));
    td_wr_u32(&content, td_crc32(uid, uid_len));
    td_wr_str(&content, (const char *)m.buf, m.len);
    if (content.overflow)
        return 0;

    memcpy(out, "006", 3);
    memcpy(out + 3, spec->app_id.ptr, TD_CERT_LEN);
    size_t head = 3 + TD_CERT_LEN;
    size_t n = td_base64_encode(content.buf, content.len, out + head, out_cap - head);
    return n == 0 ? 0 : head + n;
}

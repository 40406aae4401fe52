/* token007.c -- AccessToken2 ("007"): decode, parse, verify and build.
 *
 * Design
 * ------
 * Decoding is a pipeline of bounded stages, each with its own failure kind:
 *   base64 text (<= TD_TOKEN_TEXT_MAX) -> ctx->scratch      NOT_BASE64 / TRUNCATED
 *   inflate (kept z_stream, inflateReset) -> tok->content   TRUNCATED (incomplete stream),
 *                                                           CORRUPTED (data error, or more than
 *                                                           TD_CONTENT_MAX bytes: a zip bomb)
 *   parse (td_rd cursors) -> tok fields as slices            TRUNCATED (ends early),
 *                                                           CORRUPTED (exceeds a fixed pool)
 * The parser reads strictly in wire order and reports the first problem it meets, so "a count
 * larger than what follows" is TRUNCATED while "more entries than we keep" is CORRUPTED. An
 * unknown service type ends the service list (its layout is unknown); whatever follows is still
 * covered by the signature because verification works on the raw signing_info bytes, never on a
 * re-encoding.
 *
 * Verification chains three HMACs on the context's kept md contexts (no allocation):
 *   k1 = HMAC(uint32le(issue_ts), cert); k2 = HMAC(uint32le(salt), k1);
 *   sig = HMAC(k2, signing_info), compared in constant time.
 *
 * Building writes signing_info after a 34-byte hole for string(signature), signs it, fills the
 * hole, then deflates with the kept stream (deflateReset; compress2's parameters) and base64s.
 * Privileges are written sorted by id (td_wr_privileges), as the vendor builders do; services in
 * the order given.
 */
#include "core_internal.h"

#include <string.h>

/* ---- Parsing ------------------------------------------------------------------------------ */

/* One rtm2 permission: uint16 permission_type, uint16 resource_count, string resource*. */
static td_status parse_rtm2_permission(td_rd *r, td_token *t, uint16_t resource_type) {
    uint16_t ptype, rcount;
    if (!td_rd_u16(r, &ptype) || !td_rd_u16(r, &rcount))
        return TD_ERR_TRUNCATED;
    if ((size_t)rcount * 2 > r->left)
        return TD_ERR_TRUNCATED;
    if (t->permission_total >= TD_PERMISSIONS_MAX || rcount > TD_RESOURCES_MAX - t->resource_total)
        return TD_ERR_CORRUPTED;
    td_permission *perm = &t->permissions[t->permission_total++];
    perm->resource_type = resource_type;
    perm->permission_type = ptype;
    perm->first_resource = t->resource_total;
    perm->resource_count = rcount;
    for (uint16_t i = 0; i < rcount; i++)
        if (!td_rd_str(r, &t->resources[t->resource_total++]))
            return TD_ERR_TRUNCATED;
    return TD_OK;
}

static td_status parse_rtm2_permissions(td_rd *r, td_token *t, td_service *svc) {
    uint16_t type_count;
    if (!td_rd_u16(r, &type_count))
        return TD_ERR_TRUNCATED;
    svc->first_permission = t->permission_total;
    for (uint16_t i = 0; i < type_count; i++) {
        uint16_t resource_type, perm_count;
        if (!td_rd_u16(r, &resource_type) || !td_rd_u16(r, &perm_count))
            return TD_ERR_TRUNCATED;
        for (uint16_t k = 0; k < perm_count; k++) {
            td_status st = parse_rtm2_permission(r, t, resource_type);
            if (st != TD_OK)
                return st;
        }
    }
    svc->permission_count = (uint16_t)(t->permission_total - svc->first_permission);
    return TD_OK;
}

/* The fields after the privileges map, per service type (token-formats.md table). */
static td_status parse_service_fields(td_rd *r, td_token *t, td_service *svc) {
    switch (svc->type) {
    case TD_SVC_RTC:
    case TD_SVC_STREAMING:
    case TD_SVC_FCDN:
        return td_rd_str(r, &svc->a) && td_rd_str(r, &svc->b) ? TD_OK : TD_ERR_TRUNCATED;
    case TD_SVC_RTM:
    case TD_SVC_CHAT:
        return td_rd_str(r, &svc->a) ? TD_OK : TD_ERR_TRUNCATED;
    case TD_SVC_APAAS: {
        uint16_t role;
        if (!td_rd_str(r, &svc->a) || !td_rd_str(r, &svc->b) || !td_rd_u16(r, &role))
            return TD_ERR_TRUNCATED;
        svc->role = (int16_t)role;
        return TD_OK;
    }
    case TD_SVC_RTM2:
        if (!td_rd_str(r, &svc->a))
            return TD_ERR_TRUNCATED;
        return parse_rtm2_permissions(r, t, svc);
    default: /* fpa, convoai, stt: nothing after the privileges */
        return TD_OK;
    }
}

static bool service_type_known(uint16_t type) {
    return type >= TD_SVC_RTC && type <= TD_SVC_STT;
}

static td_status parse_services(td_rd *r, td_token *t, uint16_t count) {
    for (uint16_t i = 0; i < count; i++) {
        uint16_t type;
        if (!td_rd_u16(r, &type))
            return TD_ERR_TRUNCATED;
        if (i >= TD_SERVICES_MAX)
            return TD_ERR_CORRUPTED;
        td_service *svc = &t->services[i];
        memset(svc, 0, sizeof *svc);
        svc->type = type;
        svc->first_privilege = t->privilege_total;
        svc->first_permission = t->permission_total;
        t->service_count = (uint16_t)(i + 1);
        if (!service_type_known(type))
            return TD_OK; /* unknown layout: stop, keep what was read */
        svc->known = true;
        td_status st = td_rd_privileges(r, t, &svc->first_privilege, &svc->privilege_count);
        if (st == TD_OK)
            st = parse_service_fields(r, t, svc);
        if (st != TD_OK)
            return st;
    }
    return TD_OK;
}

/* Parses t->content[0..len) (already in place). */
static td_status parse_content(td_token *t, size_t len) {
    td_token_reset(t, "007");
    t->content_len = len;
    td_rd r = {t->content, len};
    uint16_t count;
    if (!td_rd_str(&r, &t->signature))
        return TD_ERR_TRUNCATED;
    t->signed_part.ptr = r.p;
    t->signed_part.len = r.left;
    if (!td_rd_str(&r, &t->app_id) || !td_rd_u32(&r, &t->issue_ts) || !td_rd_u32(&r, &t->expire) ||
        !td_rd_u32(&r, &t->salt) || !td_rd_u16(&r, &count))
        return TD_ERR_TRUNCATED;
    return parse_services(&r, t, count);
}

td_status td_parse007_content(const char *content, size_t len, td_token *out) {
    if (len > TD_CONTENT_MAX)
        return TD_ERR_CORRUPTED;
    if (len > 0)
        memmove(out->content, content, len);
    return parse_content(out, len);
}

/* ---- Decoding ----------------------------------------------------------------------------- */

/* Inflates n bytes of ctx->scratch into out->content; *len receives the content length. */
static td_status inflate_content(td_ctx *ctx, size_t n, td_token *out, size_t *len) {
    z_stream *z = &ctx->inflater;
    if (inflateReset(z) != Z_OK)
        return TD_ERR_CORRUPTED;
    z->next_in = ctx->scratch;
    z->avail_in = (uInt)n;
    z->next_out = (Bytef *)out->content;
    z->avail_out = TD_CONTENT_MAX;
    int zr = inflate(z, Z_FINISH);
    *len = TD_CONTENT_MAX - z->avail_out;
    switch (zr) {
    case Z_STREAM_END:
        return TD_OK;
    case Z_OK:
    case Z_BUF_ERROR:
        /* Out of room: the content is larger than we accept (a zip bomb). Out of input: the
         * stream stops before its end. */
        return z->avail_out == 0 ? TD_ERR_CORRUPTED : TD_ERR_TRUNCATED;
    default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, Z_STREAM_ERROR */
        return TD_ERR_CORRUPTED;
    }
}

td_status td_decode007_body(td_ctx *ctx, const char *body, size_t len, td_token *out) {
    size_t n = 0, content_len = 0;
    td_status st = td_base64_decode(body, len, ctx->scratch, &n);
    if (st != TD_OK)
        return st;
    st = inflate_content(ctx, n, out, &content_len);
    if (st != TD_OK)
        return st;
    return parse_content(out, content_len);
}

/* ---- Verification ------------------------------------------------------------------------- */

static void put_u32le(unsigned char b[4], uint32_t v) {
    b[0] = (unsigned char)(v & 0xff);
    b[1] = (unsigned char)((v >> 8) & 0xff);
    b[2] = (unsigned char)((v >> 16) & 0xff);
    b[3] = (unsigned char)(v >> 24);
}

/* The 007 signature of signing_info under cert (issue_ts and salt select the derived key). */
static bool sign007(td_ctx *ctx, uint32_t issue_ts, uint32_t salt, const char *cert,
                    size_t cert_len, const void *signing_info, size_t info_len,
                    unsigned char out[32]) {
    unsigned char ts_le[4], salt_le[4], k1[32], k2[32];
    put_u32le(ts_le, issue_ts);
    put_u32le(salt_le, salt);
    bool ok =
        td_hmac(ctx, TD_HMAC_K1, ts_le, 4, cert, cert_len, NULL, 0, NULL, 0, NULL, 0, k1) &&
        td_hmac(ctx, TD_HMAC_K2, salt_le, 4, k1, 32, NULL, 0, NULL, 0, NULL, 0, k2) &&
        td_hmac(ctx, TD_HMAC_SIG, k2, 32, signing_info, info_len, NULL, 0, NULL, 0, NULL, 0, out);
    return ok;
}

bool td_verify007(td_ctx *ctx, const td_token *tok, const char *cert, size_t cert_len) {
    unsigned char sig[32];
    if (strcmp(tok->version, "007") != 0 || tok->signature.len != TD_SIGNATURE_LEN)
        return false;
    if (!sign007(ctx, tok->issue_ts, tok->salt, cert, cert_len, tok->signed_part.ptr,
                 tok->signed_part.len, sig))
        return false;
    return td_ct_equal(sig, tok->signature.ptr, TD_SIGNATURE_LEN);
}

/* ---- Building ----------------------------------------------------------------------------- */

/* rtm2: consecutive permissions of the same resource type form one resource-type group. */
static bool write_rtm2_permissions(td_wr *w, const td_token *spec, const td_service *svc) {
    const td_permission *perms = spec->permissions + svc->first_permission;
    uint16_t n = svc->permission_count;
    if ((size_t)svc->first_permission + n > TD_PERMISSIONS_MAX)
        return false;
    uint16_t groups = 0;
    for (uint16_t i = 0; i < n; i++)
        if (i == 0 || perms[i].resource_type != perms[i - 1].resource_type)
            groups++;
    td_wr_u16(w, groups);
    for (uint16_t i = 0; i < n;) {
        uint16_t end = i;
        while (end < n && perms[end].resource_type == perms[i].resource_type)
            end++;
        td_wr_u16(w, perms[i].resource_type);
        td_wr_u16(w, (uint16_t)(end - i));
        for (; i < end; i++) {
            const td_permission *p = &perms[i];
            if ((size_t)p->first_resource + p->resource_count > TD_RESOURCES_MAX)
                return false;
            td_wr_u16(w, p->permission_type);
            td_wr_u16(w, p->resource_count);
            for (uint16_t k = 0; k < p->resource_count; k++) {
                const td_str *s = &spec->resources[p->first_resource + k];
                td_wr_str(w, s->ptr, s->len);
            }
        }
    }
    return true;
}

static bool write_service(td_wr *w, const td_token *spec, const td_service *svc) {
    if (!service_type_known(svc->type))
        return false;
    td_wr_u16(w, svc->type);
    if (!td_wr_privileges(w, spec, svc->first_privilege, svc->privilege_count))
        return false;
    switch (svc->type) {
    case TD_SVC_RTC:
    case TD_SVC_STREAMING:
    case TD_SVC_FCDN:
        td_wr_str(w, svc->a.ptr, svc->a.len);
        td_wr_str(w, svc->b.ptr, svc->b.len);
        break;
    case TD_SVC_RTM:
    case TD_SVC_CHAT:
        td_wr_str(w, svc->a.ptr, svc->a.len);
        break;
    case TD_SVC_APAAS:
        td_wr_str(w, svc->a.ptr, svc->a.len);
        td_wr_str(w, svc->b.ptr, svc->b.len);
        td_wr_u16(w, (uint16_t)svc->role);
        break;
    case TD_SVC_RTM2:
        td_wr_str(w, svc->a.ptr, svc->a.len);
        return write_rtm2_permissions(w, spec, svc);
    default:
        break;
    }
    return true;
}

/* deflate (compress2's parameters, kept stream) of ctx->build[0..len) into ctx->packed. */
static size_t deflate_content(td_ctx *ctx, size_t len) {
    z_stream *z = &ctx->deflater;
    if (deflateReset(z) != Z_OK)
        return 0;
    z->next_in = ctx->build;
    z->avail_in = (uInt)len;
    z->next_out = ctx->packed;
    z->avail_out = sizeof ctx->packed;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return 0;
    return sizeof ctx->packed - z->avail_out;
}

size_t td_build007(td_ctx *ctx, const td_token *spec, const char *cert, size_t cert_len, char *out,
                   size_t out_cap) {
    enum { SIG_HOLE = 2 + TD_SIGNATURE_LEN };
    if (spec->service_count > TD_SERVICES_MAX || out_cap < 4)
        return 0;
    td_wr w;
    td_wr_init(&w, ctx->build + SIG_HOLE, TD_CONTENT_MAX - SIG_HOLE);
    td_wr_str(&w, spec->app_id.ptr, spec->app_id.len);
    td_wr_u32(&w, spec->issue_ts);
    td_wr_u32(&w, spec->expire);
    td_wr_u32(&w, spec->salt);
    td_wr_u16(&w, spec->service_count);
    for (uint16_t i = 0; i < spec->service_count; i++)
        if (!write_service(&w, spec, &spec->services[i]))
            return 0;
    if (w.overflow)
        return 0;

    unsigned char sig[TD_SIGNATURE_LEN];
    if (!sign007(ctx, spec->issue_ts, spec->salt, cert, cert_len, ctx->build + SIG_HOLE, w.len,
                 sig))
        return 0;
    td_wr hole;
    td_wr_init(&hole, ctx->build, SIG_HOLE);
    td_wr_str(&hole, (const char *)sig, sizeof sig);

    size_t packed = deflate_content(ctx, SIG_HOLE + w.len);
    if (packed == 0)
        return 0;
    memcpy(out, "007", 3);
    size_t n = td_base64_encode(ctx->packed, packed, out + 3, out_cap - 3);
    return n == 0 ? 0 : 3 + n;
}

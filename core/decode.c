/* decode.c -- td_decode: judge the version, then hand the body to the format's decoder; and
 * the derived expiry times both formats share.
 *
 * Design
 * ------
 * The order of the checks is part of the contract (tdcore.h, diagnosis.md hints): the version
 * prefix is judged first -- text shorter than the prefix, or any prefix other than 006/007, is
 * UNSUPPORTED_VERSION, "001".."005" LEGACY_VERSION -- and only then the length limit
 * (TD_TOKEN_TEXT_MAX, CORRUPTED) and the body. No trimming: the text is judged exactly as given.
 */
#include "core_internal.h"

#include <string.h>

static bool is_legacy_prefix(const char *text) {
    return text[0] == '0' && text[1] == '0' && text[2] >= '1' && text[2] <= '5';
}

td_status td_decode(td_ctx *ctx, const char *text, size_t len, td_token *out) {
    if (!text || len < 3)
        return TD_ERR_UNSUPPORTED_VERSION;
    if (is_legacy_prefix(text))
        return TD_ERR_LEGACY_VERSION;
    bool v7 = memcmp(text, "007", 3) == 0;
    bool v6 = memcmp(text, "006", 3) == 0;
    if (!v7 && !v6)
        return TD_ERR_UNSUPPORTED_VERSION;
    if (len > TD_TOKEN_TEXT_MAX)
        return TD_ERR_CORRUPTED;
    if (v7)
        return td_decode007_body(ctx, text + 3, len - 3, out);
    return td_decode006_body(text + 3, len - 3, out);
}

void td_token_reset(td_token *t, const char *version) {
    memcpy(t->version, version, 4);
    t->app_id = (td_str){"", 0};
    t->signature = (td_str){"", 0};
    t->issue_ts = t->expire = t->salt = 0;
    t->service_count = 0;
    t->crc_channel = t->crc_uid = t->ts = 0;
    t->first_privilege_006 = t->privilege_count_006 = 0;
    t->privilege_total = t->permission_total = t->resource_total = 0;
    t->signed_part = (td_str){"", 0};
    t->content_len = 0;
}

int64_t td_token_expiry(const td_token *tok) {
    if (td_is_006(tok))
        return (int64_t)tok->ts;
    uint32_t life =
        tok->expire == 0 || tok->expire > TD_LIFETIME_MAX ? TD_LIFETIME_MAX : tok->expire;
    return (int64_t)tok->issue_ts + life;
}

int64_t td_privilege_expiry(const td_token *tok, uint32_t value) {
    int64_t token_expiry = td_token_expiry(tok);
    if (value == 0)
        return token_expiry;
    int64_t own = td_is_006(tok) ? (int64_t)value : (int64_t)tok->issue_ts + value;
    return own < token_expiry ? own : token_expiry;
}

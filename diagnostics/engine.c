/* engine.c -- diag_run: what the platform answers to a join, and why.
 *
 * Design
 * ------
 * diagnosis.md is implemented as eleven checks run in its precedence order over one evaluation
 * state (eval). Every check runs where its inputs allow and records pass/fail/warn/skip; the
 * first failing check is the cause. Hints are recorded by whichever check finds their reason
 * (so a hint can accompany an earlier cause: a token that does not decode always says why,
 * even when token_not_expected comes first), and warnings never change the verdict.
 *
 * The function is pure: no I/O, no globals, no heap. The token is decoded into the result's
 * own td_token; the only other large state is the caller's td_ctx. With opts->skip_details no
 * detail text is formatted at all (the --summary and benchmark path), so a diagnosis costs one
 * decode, a few CRCs and the HMACs of the signature check.
 *
 * Repair (diagnosis.md "Repair") runs the same evaluation a second time on the cleaned token
 * before the real one, with details off; only its verdict and cause are kept.
 *
 * Time arithmetic is int64_t throughout: issue_ts + expire can exceed 2^32.
 */
#include "diag_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
    CK_APP_ID_FORMAT = 0,
    CK_TOKEN_PRESENT,
    CK_TOKEN_EXPECTED,
    CK_TOKEN_DECODES,
    CK_APP_ID_MATCH,
    CK_SERVICE,
    CK_CHANNEL,
    CK_UID,
    CK_SIGNATURE,
    CK_TOKEN_EXPIRY,
    CK_PRIVILEGE_EXPIRY,
};

static const char *const check_ids[DIAG_CHECK_COUNT] = {
    "app_id_format", "token_present", "token_expected",   "token_decodes",
    "app_id_match",  "service",       "channel",          "uid",
    "signature",     "token_expiry",  "privilege_expiry",
};

#define MAX_TOKEN_LIFETIME 86400 /* a token lives 24 h at most (lifetime_over_24h) */
#define WILL_EXPIRE_WINDOW 30    /* onTokenPrivilegeWillExpire fires 30 s before expiry */
#define FUTURE_SKEW 300          /* issue_ts further ahead than this: the server clock is ahead */
#define LOOKS_LIKE_UNIX_TIME 1000000000u
#define CHANNEL_MAX 63 /* bytes; 64 or more is invalid */

/* The evaluation state of one diagnosis. */
typedef struct {
    td_ctx *ctx;
    const diag_request *req;
    const diag_project *project; /* NULL when unknown */
    bool details;
    diag_result *out;

    const char *token; /* the token text being judged (the request's, or the repaired one) */
    size_t token_len;

    const char *join_uid; /* the join's uid text: decimal uid, "" for uid 0, or the account */
    size_t join_uid_len;
    const char *user_id; /* rtm: the account, or the uid's decimal text */
    size_t user_id_len;
    char user_id_buf[16];

    /* matching (checks 6-8) */
    bool service_found, channel_found, uid_found;
    const td_service *matched; /* 007: the service that passed 6-8 */
    const td_service *first_candidate;
    const td_service *first_channel_candidate;
    bool crc_channel_ok, crc_uid_ok; /* 006 */

    /* expiry */
    int64_t token_expiry;
    bool has_privilege; /* a privilege counts (diagnosis.md "Expiry") */
    uint32_t privilege_value;
    bool privilege_limited;
    int64_t privilege_expiry;
} eval;

/* ---- Small helpers ------------------------------------------------------------------------ */

static void set_check(eval *e, int idx, diag_check_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a check's status and, unless details are off, its one-line detail. */
static void set_check(eval *e, int idx, diag_check_status st, const char *fmt, ...) {
    diag_check *c = &e->out->checks[idx];
    c->status = st;
    if (!e->details) {
        c->detail[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
}

static void add_hint(eval *e, diag_hint h) {
    e->out->hints |= 1u << h;
}

static void add_warning(eval *e, diag_warning w) {
    e->out->warnings |= 1u << w;
}

static bool bytes_eq(const char *a, size_t an, const char *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool bytes_eq_nocase(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Quoted, escaped, shortened rendering of a client value for a detail line. */
#define Q(buf, p, n) diag_quote(buf, sizeof buf, p, n, 48)

static bool has_privilege(const td_token *t, uint16_t first, uint16_t count, uint16_t id,
                          uint32_t *value) {
    for (uint32_t i = first; i < (uint32_t)first + count && i < t->privilege_total; i++)
        if (t->privileges[i].id == id) {
            if (value)
                *value = t->privileges[i].value;
            return true;
        }
    return false;
}

/* ---- The join's identity ------------------------------------------------------------------ */

static void prepare_identity(eval *e) {
    const diag_request *r = e->req;
    if (r->has_account) {
        e->join_uid = r->account;
        e->join_uid_len = r->account_len;
        e->user_id = r->account;
        e->user_id_len = r->account_len;
        return;
    }
    uint32_t uid = r->has_uid ? r->uid : 0;
    int n = snprintf(e->user_id_buf, sizeof e->user_id_buf, "%u", uid);
    e->user_id = e->user_id_buf;
    e->user_id_len = (size_t)n;
    e->join_uid = e->user_id_buf;
    e->join_uid_len = uid == 0 ? 0 : (size_t)n; /* uid 0 joins with the empty uid */
}

/* ---- Checks 1-3: App ID and the certificate mode ------------------------------------------- */

static bool project_has_enabled(const diag_project *p) {
    return (p->primary.present && p->primary.enabled) ||
           (p->secondary.present && p->secondary.enabled);
}

static void check_app_id_format(eval *e) {
    char q[200];
    const diag_request *r = e->req;
    if (diag_is_hex32(r->app_id, r->app_id_len))
        set_check(e, CK_APP_ID_FORMAT, DIAG_PASS, "App ID %s is 32 hex characters",
                  e->details ? Q(q, r->app_id, r->app_id_len) : "");
    else
        set_check(e, CK_APP_ID_FORMAT, DIAG_FAIL, "App ID %s is %zu bytes, not 32 hex characters",
                  e->details ? Q(q, r->app_id, r->app_id_len) : "", r->app_id_len);
}

static void check_certificate_mode(eval *e, bool token_given) {
    const diag_project *p = e->project;
    if (token_given) {
        set_check(e, CK_TOKEN_PRESENT, DIAG_PASS, "a token is given");
        if (!p)
            set_check(e, CK_TOKEN_EXPECTED, DIAG_SKIP,
                      "project unknown: cannot tell whether it accepts tokens");
        else if (project_has_enabled(p))
            set_check(e, CK_TOKEN_EXPECTED, DIAG_PASS,
                      "a token is given and the project has an enabled certificate (%s)",
                      diag_certificate_mode(p));
        else
            set_check(e, CK_TOKEN_EXPECTED, DIAG_FAIL,
                      "a token is given but the project has no enabled certificate");
        return;
    }
    set_check(e, CK_TOKEN_EXPECTED, DIAG_SKIP, "no token given");
    if (!p)
        set_check(e, CK_TOKEN_PRESENT, DIAG_SKIP,
                  "no token given; project unknown: cannot tell whether one is required");
    else if (!project_has_enabled(p))
        set_check(e, CK_TOKEN_PRESENT, DIAG_PASS,
                  "no token given; the project has no enabled certificate (App ID only)");
    else if (p->no_certificate)
        set_check(e, CK_TOKEN_PRESENT, DIAG_PASS,
                  "no token given; \"No certificate\" is on, App ID-only joins are allowed");
    else
        set_check(e, CK_TOKEN_PRESENT, DIAG_FAIL,
                  "no token given but the project has an enabled certificate (%s) and "
                  "\"No certificate\" is off",
                  diag_certificate_mode(p));
}

/* ---- Check 4: the token decodes; hints about its text -------------------------------------- */

/* The token text cleaned as diagnosis.md "Repair" says: trim, strip one pair of quotes, trim.
 * Spaces inside are reported (url_decoded) and turned into '+' by the repair. */
typedef struct {
    const char *p;
    size_t n;
    bool whitespace, quoted, space;
} token_view;

static void token_view_of(const char *t, size_t n, token_view *v) {
    size_t b = 0, end = n;
    while (b < end && is_space(t[b]))
        b++;
    while (end > b && is_space(t[end - 1]))
        end--;
    v->whitespace = b > 0 || end < n;
    v->quoted = end - b >= 2 && (t[b] == '"' || t[b] == '\'') && t[end - 1] == t[b];
    if (v->quoted) {
        b++, end--;
        while (b < end && is_space(t[b]))
            b++;
        while (end > b && is_space(t[end - 1]))
            end--;
    }
    v->p = t + b;
    v->n = end - b;
    v->space = memchr(v->p, ' ', v->n) != NULL;
}

uint32_t diag_token_hints(const char *token, size_t len, td_status st) {
    if (st == TD_OK)
        return 0;
    if (diag_is_hex32(token, len))
        return 1u << DIAG_HINT_APP_ID_AS_TOKEN; /* and no other hint */
    token_view v;
    token_view_of(token, len, &v);
    uint32_t hints = 0;
    if (v.whitespace)
        hints |= 1u << DIAG_HINT_WHITESPACE;
    if (v.quoted)
        hints |= 1u << DIAG_HINT_QUOTED;
    if (v.space)
        hints |= 1u << DIAG_HINT_URL_DECODED;
    switch (st) {
    case TD_ERR_LEGACY_VERSION:
        hints |= 1u << DIAG_HINT_LEGACY_VERSION;
        break;
    case TD_ERR_UNSUPPORTED_VERSION:
        if (!v.whitespace && !v.quoted)
            hints |= 1u << DIAG_HINT_UNSUPPORTED_VERSION;
        break;
    case TD_ERR_NOT_BASE64:
        if (!v.whitespace && !v.quoted && !v.space)
            hints |= 1u << DIAG_HINT_NOT_BASE64;
        break;
    case TD_ERR_TRUNCATED:
        hints |= 1u << DIAG_HINT_TRUNCATED;
        break;
    case TD_ERR_CORRUPTED:
        hints |= 1u << DIAG_HINT_CORRUPTED;
        break;
    case TD_OK:
        break;
    }
    return hints;
}

/* The detail's reason: the text hint that explains the failure best, else the decoder's kind
 * (a token with surrounding whitespace fails as "unsupported_version", which would mislead). */
static const char *decode_failure_reason(uint32_t hints, td_status st) {
    if (hints & (1u << DIAG_HINT_APP_ID_AS_TOKEN))
        return "an App ID (32 hex characters) was passed as the token";
    if (hints & (1u << DIAG_HINT_WHITESPACE))
        return "leading or trailing whitespace";
    if (hints & (1u << DIAG_HINT_QUOTED))
        return "wrapped in quotes";
    if (hints & (1u << DIAG_HINT_URL_DECODED))
        return "contains spaces (a '+' lost to URL decoding)";
    return td_status_name(st);
}

static bool check_decodes(eval *e, bool token_given, const td_status *decoded) {
    diag_result *o = e->out;
    if (!token_given) {
        set_check(e, CK_TOKEN_DECODES, DIAG_SKIP, "no token given");
        return false;
    }
    td_status st = decoded ? *decoded : td_decode(e->ctx, e->token, e->token_len, &o->token);
    if (st != TD_OK) {
        o->hints |= diag_token_hints(e->token, e->token_len, st);
        set_check(e, CK_TOKEN_DECODES, DIAG_FAIL, "the token (%zu bytes) does not decode: %s",
                  e->token_len, decode_failure_reason(o->hints, st));
        return false;
    }
    o->token_decoded = true;
    set_check(e, CK_TOKEN_DECODES, DIAG_PASS, "a %s token (%zu bytes)", o->token.version,
              e->token_len);
    return true;
}

/* ---- Checks 5-8: App ID, service, channel, uid --------------------------------------------- */

static void check_app_id_match(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    char q1[200], q2[200];
    if (bytes_eq(t->app_id.ptr, t->app_id.len, r->app_id, r->app_id_len)) {
        set_check(e, CK_APP_ID_MATCH, DIAG_PASS, "token App ID = join App ID %s",
                  e->details ? Q(q1, r->app_id, r->app_id_len) : "");
        return;
    }
    bool case_only = bytes_eq_nocase(t->app_id.ptr, t->app_id.len, r->app_id, r->app_id_len);
    if (case_only)
        add_hint(e, DIAG_HINT_APP_ID_CASE_DIFFERS);
    set_check(e, CK_APP_ID_MATCH, DIAG_FAIL, "token App ID %s \xe2\x89\xa0 join App ID %s%s",
              e->details ? Q(q1, t->app_id.ptr, t->app_id.len) : "",
              e->details ? Q(q2, r->app_id, r->app_id_len) : "",
              case_only ? " (they differ only in letter case)" : "");
}

static bool service_type_fits(const eval *e, uint16_t type) {
    if (e->req->service == DIAG_SERVICE_RTC)
        return type == TD_SVC_RTC;
    return type == TD_SVC_RTM || type == TD_SVC_RTM2;
}

/* Lists the token's service names into buf ("rtm, chat") for a detail line. */
static const char *service_list(const td_token *t, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = '\0';
    for (uint16_t i = 0; i < t->service_count && i < TD_SERVICES_MAX; i++) {
        int n =
            snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", td_service_name(t->services[i].type));
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
    return o ? buf : "none";
}

static void match_services_007(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    bool rtc = r->service == DIAG_SERVICE_RTC;
    for (uint16_t i = 0; i < t->service_count && i < TD_SERVICES_MAX; i++) {
        const td_service *s = &t->services[i];
        if (!s->known || !service_type_fits(e, s->type) ||
            !has_privilege(t, s->first_privilege, s->privilege_count, 1, NULL))
            continue;
        e->service_found = true;
        if (!e->first_candidate)
            e->first_candidate = s;
        if (rtc) {
            if (!bytes_eq(s->a.ptr, s->a.len, r->channel, r->channel_len))
                continue;
            e->channel_found = true;
            if (!e->first_channel_candidate)
                e->first_channel_candidate = s;
            if (s->b.len != 0 && !bytes_eq(s->b.ptr, s->b.len, e->join_uid, e->join_uid_len))
                continue;
        } else if (!bytes_eq(s->a.ptr, s->a.len, e->user_id, e->user_id_len)) {
            continue;
        }
        e->uid_found = true;
        e->matched = s;
        return;
    }
}

static void check_matching_007(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    bool rtc = r->service == DIAG_SERVICE_RTC;
    char q1[200], q2[200], list[160];
    match_services_007(e);

    if (!e->service_found) {
        set_check(e, CK_SERVICE, DIAG_FAIL, "no %s service with %s privilege (token has: %s)",
                  rtc ? "rtc" : "rtm/rtm2", rtc ? "join_channel" : "login",
                  e->details ? service_list(t, list, sizeof list) : "");
        set_check(e, CK_CHANNEL, DIAG_SKIP, "no %s service to compare with", rtc ? "rtc" : "rtm");
        set_check(e, CK_UID, DIAG_SKIP, "no %s service to compare with", rtc ? "rtc" : "rtm");
        return;
    }
    set_check(e, CK_SERVICE, DIAG_PASS, "%s service with %s privilege",
              td_service_name(e->first_candidate->type), rtc ? "join_channel" : "login");

    if (!rtc) {
        set_check(e, CK_CHANNEL, DIAG_SKIP, "not compared for rtm (a login has no channel)");
        if (e->uid_found)
            set_check(e, CK_UID, DIAG_PASS, "token user id = login user id %s",
                      e->details ? Q(q1, e->user_id, e->user_id_len) : "");
        else
            set_check(e, CK_UID, DIAG_FAIL, "token user id %s \xe2\x89\xa0 login user id %s",
                      e->details ? Q(q1, e->first_candidate->a.ptr, e->first_candidate->a.len) : "",
                      e->details ? Q(q2, e->user_id, e->user_id_len) : "");
        return;
    }

    if (!e->channel_found) {
        set_check(e, CK_CHANNEL, DIAG_FAIL, "token channel %s \xe2\x89\xa0 join channel %s",
                  e->details ? Q(q1, e->first_candidate->a.ptr, e->first_candidate->a.len) : "",
                  e->details ? Q(q2, r->channel, r->channel_len) : "");
        set_check(e, CK_UID, DIAG_SKIP, "no rtc service for this channel to compare with");
        return;
    }
    set_check(e, CK_CHANNEL, DIAG_PASS, "token channel = join channel %s",
              e->details ? Q(q1, r->channel, r->channel_len) : "");
    if (e->uid_found) {
        if (e->matched->b.len == 0)
            set_check(e, CK_UID, DIAG_PASS, "the token accepts any uid (join uid %s)",
                      e->details ? Q(q1, e->join_uid, e->join_uid_len) : "");
        else
            set_check(e, CK_UID, DIAG_PASS, "token uid = join uid %s",
                      e->details ? Q(q1, e->join_uid, e->join_uid_len) : "");
        return;
    }
    if (e->join_uid_len == 0)
        add_hint(e, DIAG_HINT_JOIN_UID_ZERO);
    const td_service *c = e->first_channel_candidate;
    set_check(e, CK_UID, DIAG_FAIL, "token uid %s \xe2\x89\xa0 join uid %s%s",
              e->details ? Q(q1, c->b.ptr, c->b.len) : "",
              e->details ? Q(q2, e->join_uid, e->join_uid_len) : "",
              e->join_uid_len == 0 ? " (uid 0)" : "");
}

/* 006 carries only CRC-32s of the channel and uid: compares crc32(text) with the token's value
 * and records the check. what names the join's value, built_for what the token was built for. */
static bool check_crc(eval *e, int check, const char *what, const char *built_for, const char *text,
                      size_t len, uint32_t token_crc) {
    char q[200];
    uint32_t crc = td_crc32(text, len);
    if (crc == token_crc)
        set_check(e, check, DIAG_PASS, "crc32(%s %s) = %u matches the token", what,
                  e->details ? Q(q, text, len) : "", crc);
    else
        set_check(e, check, DIAG_FAIL,
                  "crc32(%s %s) = %u \xe2\x89\xa0 token's %u (built for another %s)", what,
                  e->details ? Q(q, text, len) : "", crc, token_crc, built_for);
    return crc == token_crc;
}

static void check_matching_006(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    bool rtc = r->service == DIAG_SERVICE_RTC;
    uint16_t need = rtc ? TD_PRIV_JOIN_CHANNEL : TD_PRIV_RTM_LOGIN_006;
    char q1[200];

    e->service_found = has_privilege(t, t->first_privilege_006, t->privilege_count_006, need, NULL);
    if (e->service_found)
        set_check(e, CK_SERVICE, DIAG_PASS, "privilege %u (%s) present", need,
                  rtc ? "join_channel" : "rtm_login");
    else
        set_check(e, CK_SERVICE, DIAG_FAIL, "no privilege %u (%s) in the 006 token", need,
                  rtc ? "join_channel" : "rtm_login");

    if (!rtc) {
        set_check(e, CK_CHANNEL, DIAG_SKIP, "not compared for rtm (a login has no channel)");
        /* An rtm 006 token carries the user id in the channel's place. */
        e->crc_channel_ok = e->uid_found = check_crc(e, CK_UID, "login user id", "user id",
                                                     e->user_id, e->user_id_len, t->crc_channel);
        e->crc_uid_ok = true;
        return;
    }

    e->crc_channel_ok = e->channel_found = check_crc(e, CK_CHANNEL, "join channel", "channel",
                                                     r->channel, r->channel_len, t->crc_channel);

    uint32_t crc_uid = td_crc32(e->join_uid, e->join_uid_len);
    e->crc_uid_ok = e->uid_found = t->crc_uid == 0 || t->crc_uid == crc_uid;
    if (t->crc_uid == 0)
        set_check(e, CK_UID, DIAG_PASS, "the token accepts any uid (crc_uid 0; join uid %s)",
                  e->details ? Q(q1, e->join_uid, e->join_uid_len) : "");
    else if (e->uid_found)
        set_check(e, CK_UID, DIAG_PASS, "crc32(join uid %s) = %u matches the token",
                  e->details ? Q(q1, e->join_uid, e->join_uid_len) : "", crc_uid);
    else {
        if (e->join_uid_len == 0)
            add_hint(e, DIAG_HINT_JOIN_UID_ZERO);
        set_check(e, CK_UID, DIAG_FAIL,
                  "crc32(join uid %s) = %u \xe2\x89\xa0 token's crc_uid %u (built for %s)",
                  e->details ? Q(q1, e->join_uid, e->join_uid_len) : "", crc_uid, t->crc_uid,
                  e->join_uid_len == 0 ? "one uid, the join uses uid 0" : "another uid");
    }
}

/* ---- Check 9: the signature ---------------------------------------------------------------- */

static bool verifies(eval *e, const char *cert, size_t cert_len) {
    const td_token *t = &e->out->token;
    if (t->version[2] == '7')
        return td_verify007(e->ctx, t, cert, cert_len);
    const diag_request *r = e->req;
    if (r->service == DIAG_SERVICE_RTC)
        return td_verify006(e->ctx, t, cert, cert_len, r->channel, r->channel_len,
                            t->crc_uid == 0 ? "" : e->join_uid,
                            t->crc_uid == 0 ? 0 : e->join_uid_len);
    /* rtm 006: the user id stands in the channel's place and the uid is empty. */
    return td_verify006(e->ctx, t, cert, cert_len, e->user_id, e->user_id_len, "", 0);
}

static bool cert_verifies(eval *e, const diag_cert *c) {
    return c->present && verifies(e, c->certificate, strlen(c->certificate));
}

static void check_signature(eval *e) {
    const diag_project *p = e->project;
    const td_token *t = &e->out->token;
    diag_result *o = e->out;
    char fp[9];
    if (!p) {
        set_check(e, CK_SIGNATURE, DIAG_SKIP, "project unknown: no certificate to verify with");
        return;
    }
    if (!project_has_enabled(p)) {
        set_check(e, CK_SIGNATURE, DIAG_SKIP, "the project has no enabled certificate");
        return;
    }
    if (t->version[2] == '6' && (!e->crc_channel_ok || !e->crc_uid_ok)) {
        set_check(e, CK_SIGNATURE, DIAG_SKIP,
                  "not verifiable: a 006 signature covers the channel and uid, which do not "
                  "match the token");
        return;
    }
    if (t->version[2] == '6' && e->req->service == DIAG_SERVICE_RTM && t->crc_uid != 0) {
        set_check(e, CK_SIGNATURE, DIAG_SKIP,
                  "not verifiable: this 006 rtm token was built with a non-empty uid");
        return;
    }
    const diag_cert *certs[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2; i++) {
        if (certs[i]->present && certs[i]->enabled && cert_verifies(e, certs[i])) {
            o->signed_with = i == 0 ? DIAG_SIGNED_PRIMARY : DIAG_SIGNED_SECONDARY;
            if (e->details)
                td_fingerprint(certs[i]->certificate, strlen(certs[i]->certificate), fp);
            set_check(e, CK_SIGNATURE, DIAG_PASS, "verifies with the %s certificate (%s)",
                      i == 0 ? "primary" : "secondary", e->details ? fp : "");
            return;
        }
    }
    /* Failed: find out what did sign it, for the hints. The detail names a certificate by its
     * fingerprint only. */
    char what[96] = "no certificate of the project signs it";
    for (int i = 0; i < 2; i++) {
        if (certs[i]->present && !certs[i]->enabled && cert_verifies(e, certs[i])) {
            o->signed_with = i == 0 ? DIAG_SIGNED_PRIMARY : DIAG_SIGNED_SECONDARY;
            add_hint(e, DIAG_HINT_SIGNED_WITH_DISABLED_CERTIFICATE);
            if (e->details) {
                td_fingerprint(certs[i]->certificate, strlen(certs[i]->certificate), fp);
                snprintf(what, sizeof what, "it is signed with the disabled %s certificate (%s)",
                         i == 0 ? "primary" : "secondary", fp);
            }
        }
    }
    for (size_t i = 0; i < p->retired_count && i < DIAG_RETIRED_MAX; i++) {
        if (verifies(e, p->retired[i], strlen(p->retired[i]))) {
            add_hint(e, DIAG_HINT_SIGNED_WITH_RETIRED_CERTIFICATE);
            if (e->details) {
                td_fingerprint(p->retired[i], strlen(p->retired[i]), fp);
                snprintf(what, sizeof what, "it is signed with a retired certificate (%s)", fp);
            }
            break;
        }
    }
    const diag_request *r = e->req;
    if ((t->app_id.len == TD_CERT_LEN && verifies(e, t->app_id.ptr, t->app_id.len)) ||
        (r->app_id_len == TD_CERT_LEN &&
         !bytes_eq(r->app_id, r->app_id_len, t->app_id.ptr, t->app_id.len) &&
         verifies(e, r->app_id, r->app_id_len))) {
        add_hint(e, DIAG_HINT_SIGNED_WITH_APP_ID);
        snprintf(what, sizeof what, "it is signed with the App ID in place of a certificate");
    }
    set_check(e, CK_SIGNATURE, DIAG_FAIL, "no enabled certificate (%s) verifies it; %s",
              diag_certificate_mode(p), what);
}

/* ---- Checks 10-11: expiry ------------------------------------------------------------------ */

/* The token's expiry and the counted privilege's (diagnosis.md "Expiry"); core computes both
 * times (td_token_expiry, td_privilege_expiry: the 24 h cap and the capping at the token's
 * expiry), this picks which privilege counts. */
static void compute_expiry(eval *e) {
    const td_token *t = &e->out->token;
    e->token_expiry = td_token_expiry(t);
    if (t->version[2] == '7')
        e->has_privilege =
            e->matched && has_privilege(t, e->matched->first_privilege, e->matched->privilege_count,
                                        1, &e->privilege_value);
    else
        e->has_privilege = has_privilege(
            t, t->first_privilege_006, t->privilege_count_006,
            e->req->service == DIAG_SERVICE_RTC ? TD_PRIV_JOIN_CHANNEL : TD_PRIV_RTM_LOGIN_006,
            &e->privilege_value);
    e->privilege_limited = e->has_privilege && e->privilege_value != 0;
    if (e->privilege_limited)
        e->privilege_expiry = td_privilege_expiry(t, e->privilege_value);
    e->out->has_expiry = true;
    e->out->expires_at = e->privilege_limited ? e->privilege_expiry : e->token_expiry;
}

/* "expired at T (N s ago)" / "valid until T (N s left)" into a check. */
static void set_expiry_check(eval *e, int idx, const char *what, int64_t when) {
    char iso[48];
    int64_t at = e->req->at;
    if (e->details)
        diag_utc_time(iso, sizeof iso, when);
    if (at >= when)
        set_check(e, idx, DIAG_FAIL, "%s expired at %s (%lld s before at=%lld)", what,
                  e->details ? iso : "", (long long)(at - when), (long long)at);
    else if (when - at <= WILL_EXPIRE_WINDOW)
        set_check(e, idx, DIAG_WARN, "%s expires at %s, in %lld s (will-expire window)", what,
                  e->details ? iso : "", (long long)(when - at));
    else
        set_check(e, idx, DIAG_PASS, "%s is valid until %s (%lld s left)", what,
                  e->details ? iso : "", (long long)(when - at));
}

static void check_expiry(eval *e) {
    const td_token *t = &e->out->token;
    compute_expiry(e);
    set_expiry_check(e, CK_TOKEN_EXPIRY, "the token", e->token_expiry);
    const char *priv = e->req->service == DIAG_SERVICE_RTC ? "join_channel" : "login";
    if (!e->has_privilege) {
        set_check(e, CK_PRIVILEGE_EXPIRY, DIAG_SKIP, "no %s privilege to judge", priv);
        return;
    }
    if (!e->privilege_limited) {
        set_check(e, CK_PRIVILEGE_EXPIRY, DIAG_PASS,
                  "the %s privilege has no expiry of its own (the token's applies)", priv);
        return;
    }
    set_expiry_check(e, CK_PRIVILEGE_EXPIRY,
                     e->req->service == DIAG_SERVICE_RTC ? "the join_channel privilege"
                                                         : "the login privilege",
                     e->privilege_expiry);
    if (e->out->checks[CK_PRIVILEGE_EXPIRY].status == DIAG_FAIL && t->version[2] == '6' &&
        e->privilege_value < LOOKS_LIKE_UNIX_TIME)
        add_hint(e, DIAG_HINT_PRIVILEGE_EXPIRE_LOOKS_RELATIVE);
}

/* ---- Warnings ------------------------------------------------------------------------------ */

/* diagnosis.md: a-z A-Z 0-9 space ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ , */
static bool channel_char_ok(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr(" !#$%&()+-:;<=.>?@[]^_{}|~,", c) != NULL;
}

static bool channel_name_valid(const char *p, size_t n) {
    if (n > CHANNEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!channel_char_ok((unsigned char)p[i]))
            return false;
    return true;
}

static bool has_publish_privilege(const td_token *t, uint16_t first, uint16_t count) {
    return has_privilege(t, first, count, TD_PRIV_PUBLISH_AUDIO, NULL) ||
           has_privilege(t, first, count, TD_PRIV_PUBLISH_VIDEO, NULL) ||
           has_privilege(t, first, count, TD_PRIV_PUBLISH_DATA, NULL);
}

static void add_warnings(eval *e) {
    const diag_request *r = e->req;
    diag_result *o = e->out;
    const td_token *t = &o->token;
    if (!e->project)
        add_warning(e, DIAG_WARN_PROJECT_UNKNOWN);
    if (r->service == DIAG_SERVICE_RTC && r->has_channel &&
        !channel_name_valid(r->channel, r->channel_len))
        add_warning(e, DIAG_WARN_CHANNEL_NAME_INVALID);
    if (!o->token_decoded)
        return;
    int64_t left = o->expires_at - r->at;
    if (left > 0 && left <= WILL_EXPIRE_WINDOW)
        add_warning(e, DIAG_WARN_EXPIRES_SOON);
    bool v7 = t->version[2] == '7';
    if (v7 && t->expire > MAX_TOKEN_LIFETIME)
        add_warning(e, DIAG_WARN_LIFETIME_OVER_24H);
    if (v7 && t->expire >= LOOKS_LIKE_UNIX_TIME)
        add_warning(e, DIAG_WARN_EXPIRE_LOOKS_ABSOLUTE);
    if (v7 && (int64_t)t->issue_ts > r->at + FUTURE_SKEW)
        add_warning(e, DIAG_WARN_ISSUED_IN_FUTURE);
    if (e->project && e->project->cohost_auth && r->role == DIAG_ROLE_PUBLISHER &&
        r->service == DIAG_SERVICE_RTC) {
        bool missing;
        if (v7)
            missing = e->matched && !has_publish_privilege(t, e->matched->first_privilege,
                                                           e->matched->privilege_count);
        else
            missing = !has_publish_privilege(t, t->first_privilege_006, t->privilege_count_006);
        if (missing)
            add_warning(e, DIAG_WARN_PUBLISH_PRIVILEGE_MISSING);
    }
}

/* ---- The evaluation ------------------------------------------------------------------------ */

static void skip_rest(eval *e, int from, const char *why) {
    for (int i = from; i < DIAG_CHECK_COUNT; i++)
        set_check(e, i, DIAG_SKIP, "%s", why);
}

static void copy_app_id(diag_result *o, const diag_request *r) {
    size_t n = r->app_id_len > DIAG_APP_ID_KEEP ? DIAG_APP_ID_KEEP : r->app_id_len;
    if (n)
        memcpy(o->app_id, r->app_id, n);
    o->app_id[n] = '\0';
    o->app_id_len = n;
}

/* Runs the eleven checks on token text (tok, tok_len) and fills verdict, cause, hints,
 * warnings, checks, expiry and project fields of out. decoded: the status of decoding tok when
 * diag_run already knows it (out->token then holds the token if it is TD_OK); NULL: decode. */
static void evaluate(td_ctx *ctx, const diag_request *req, const diag_project *project,
                     bool details, const char *tok, size_t tok_len, const td_status *decoded,
                     diag_result *out) {
    eval e;
    memset(&e, 0, sizeof e);
    e.ctx = ctx;
    e.req = req;
    e.project = project;
    e.details = details;
    e.out = out;
    e.token = tok;
    e.token_len = tok_len;

    out->hints = 0;
    out->warnings = 0;
    out->has_expiry = false;
    out->expires_at = 0;
    out->token_decoded = false;
    out->signed_with = DIAG_SIGNED_NONE;
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        out->checks[i].id = check_ids[i];

    prepare_identity(&e);
    bool token_given = tok_len > 0;
    check_app_id_format(&e);
    check_certificate_mode(&e, token_given);
    if (!check_decodes(&e, token_given, decoded)) {
        skip_rest(&e, CK_APP_ID_MATCH,
                  token_given ? "the token does not decode" : "no token given");
    } else {
        check_app_id_match(&e);
        if (out->token.version[2] == '7')
            check_matching_007(&e);
        else
            check_matching_006(&e);
        check_signature(&e);
        check_expiry(&e);
    }
    add_warnings(&e);

    out->verdict = DIAG_JOINABLE;
    out->cause = DIAG_CAUSE_COUNT;
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        if (out->checks[i].status == DIAG_FAIL) {
            out->verdict = DIAG_REJECTED;
            out->cause = (diag_cause)i;
            break;
        }
    if (out->cause == DIAG_CAUSE_COUNT) {
        if (!project) {
            out->verdict = DIAG_UNVERIFIABLE;
            out->cause = DIAG_CAUSE_PROJECT_UNKNOWN;
        } else {
            out->cause = token_given ? DIAG_CAUSE_OK : DIAG_CAUSE_OK_APP_ID_ONLY;
        }
    }
}

/* diagnosis.md "Repair": trim, strip one pair of quotes, trim, spaces -> '+'. Writes the
 * cleaned token into buf (cap bytes with NUL); false when it would not differ or not fit. */
static bool repaired_text(const char *t, size_t n, char *buf, size_t cap, size_t *len) {
    token_view v;
    token_view_of(t, n, &v);
    if (!v.whitespace && !v.quoted && !v.space)
        return false;
    if (v.n == 0 || v.n >= cap)
        return false;
    for (size_t i = 0; i < v.n; i++)
        buf[i] = v.p[i] == ' ' ? '+' : v.p[i];
    buf[v.n] = '\0';
    *len = v.n;
    return !bytes_eq(buf, v.n, t, n);
}

void diag_run(td_ctx *ctx, const diag_request *req, const diag_project *project,
              const diag_options *opts, diag_result *out) {
    bool details = !(opts && opts->skip_details);
    if (project && !bytes_eq(project->app_id, strnlen(project->app_id, sizeof project->app_id),
                             req->app_id, req->app_id_len))
        project = NULL; /* configurations are looked up by exact App ID */

    out->platform = req->platform;
    out->service = req->service;
    out->role = req->role;
    out->at = req->at;
    copy_app_id(out, req);
    out->project_known = project != NULL;
    out->certificate_mode = project ? diag_certificate_mode(project) : NULL;
    out->no_certificate = project ? project->no_certificate : false;
    out->has_repaired = false;

    const char *tok = req->has_token ? req->token : NULL;
    size_t tok_len = req->has_token && req->token ? req->token_len : 0;

    /* The repair is judged first (into the same result, details off) so that the real
     * diagnosis below is what the result finally holds. The token text is decoded once: its
     * status is handed to the real diagnosis (out->token holds the token when it decoded; when
     * it did not, out->token may then hold the repaired one, unused as token_decoded is false). */
    static const td_status decoded_ok = TD_OK;
    td_status st;
    const td_status *decoded = NULL; /* NULL: the real diagnosis decodes tok itself */
    size_t rep_len = 0;
    if (tok_len > 0 && tok_len <= TD_TOKEN_TEXT_MAX &&
        repaired_text(tok, tok_len, out->repaired_token, sizeof out->repaired_token, &rep_len)) {
        st = td_decode(ctx, tok, tok_len, &out->token);
        decoded = &st;
        if (st != TD_OK && td_decode(ctx, out->repaired_token, rep_len, &out->token) == TD_OK) {
            evaluate(ctx, req, project, false, out->repaired_token, rep_len, &decoded_ok, out);
            out->has_repaired = true;
            out->repaired_verdict = out->verdict;
            out->repaired_cause = out->cause;
        }
    }
    evaluate(ctx, req, project, details, tok, tok_len, decoded, out);
    if (!out->has_repaired)
        out->repaired_token[0] = '\0';
}

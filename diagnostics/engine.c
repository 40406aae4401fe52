/* engine.c -- diag_run: what the platform answers to a join or a login, and why.
 *
 * Design
 * ------
 * diagnosis.md is a table of thirteen checks. check_table below is that table: each row is a
 * check's id and its place in the precedence of each service (RTM judges expiry before the user
 * id and the signature), and its index is the cause it reports -- so the order of a service's
 * precedence is data, and there is one code path for both services.
 *
 * Every check runs where its inputs allow, over one evaluation state (eval), and records
 * pass/fail/warn/skip with a detail line; afterwards the failing check that comes first in the
 * service's precedence is the cause. Hints are recorded by the check that finds their reason,
 * whether or not that check ends up the cause (a token that does not decode always says why,
 * even when token_not_expected comes first), and warnings never change the verdict.
 *
 * The function is pure: no I/O, no globals, no heap. The token is decoded into the result's own
 * td_token; the only other large state is the caller's td_ctx. With opts->skip_details no detail
 * text is formatted at all (the --summary and benchmark path), so a diagnosis costs one decode, a
 * few CRCs and the HMACs of the signature check.
 *
 * Repair (diagnosis.md "Repair") runs the same evaluation on the cleaned token before the real
 * one, with details off; only its verdict and cause are kept.
 *
 * Time arithmetic is int64_t throughout: issue_ts + expire can exceed 2^32, and `at` is
 * range-checked (0..UINT32_MAX) by the request's validation before it gets here.
 */
#include "diag_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
    CK_APP_ID_FORMAT = DIAG_CAUSE_APP_ID_MALFORMED,
    CK_CHANNEL_NAME = DIAG_CAUSE_CHANNEL_NAME_INVALID,
    CK_TOKEN_PRESENT = DIAG_CAUSE_TOKEN_REQUIRED,
    CK_TOKEN_EXPECTED = DIAG_CAUSE_TOKEN_NOT_EXPECTED,
    CK_TOKEN_DECODES = DIAG_CAUSE_TOKEN_MALFORMED,
    CK_TOKEN_VERSION = DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED,
    CK_APP_ID_MATCH = DIAG_CAUSE_APP_ID_MISMATCH,
    CK_SERVICE = DIAG_CAUSE_SERVICE_MISSING,
    CK_CHANNEL = DIAG_CAUSE_CHANNEL_MISMATCH,
    CK_UID = DIAG_CAUSE_UID_MISMATCH,
    CK_SIGNATURE = DIAG_CAUSE_SIGNATURE_INVALID,
    CK_TOKEN_EXPIRY = DIAG_CAUSE_TOKEN_EXPIRED,
    CK_PRIVILEGE_EXPIRY = DIAG_CAUSE_PRIVILEGE_EXPIRED,
};

/* diagnosis.md "Checks, in precedence order": the row's index is its cause; rank[service] is
 * its place in that service's precedence (lower first). */
static const struct {
    const char *id;
    unsigned char rank[2]; /* [DIAG_SERVICE_RTC], [DIAG_SERVICE_RTM] */
} check_table[DIAG_CHECK_COUNT] = {
    [CK_APP_ID_FORMAT] = {"app_id_format", {1, 1}},
    [CK_CHANNEL_NAME] = {"channel_name", {2, 2}},
    [CK_TOKEN_PRESENT] = {"token_present", {3, 3}},
    [CK_TOKEN_EXPECTED] = {"token_expected", {4, 4}},
    [CK_TOKEN_DECODES] = {"token_decodes", {5, 5}},
    [CK_TOKEN_VERSION] = {"token_version", {6, 6}},
    [CK_APP_ID_MATCH] = {"app_id_match", {7, 7}},
    [CK_SERVICE] = {"service", {8, 8}},
    [CK_CHANNEL] = {"channel", {9, 9}},
    [CK_UID] = {"uid", {10, 12}},
    [CK_SIGNATURE] = {"signature", {11, 13}},
    [CK_TOKEN_EXPIRY] = {"token_expiry", {12, 10}},
    [CK_PRIVILEGE_EXPIRY] = {"privilege_expiry", {13, 11}},
};

#define WILL_EXPIRE_WINDOW 30 /* onTokenPrivilegeWillExpire fires 30 s before expiry */
#define FUTURE_SKEW 300       /* issue_ts further ahead than this: the server clock is ahead */
#define LOOKS_LIKE_UNIX_TIME 1000000000u
#define CHANNEL_MAX 63     /* bytes; 64 or more is invalid */
#define UID_WRAPS_MAX 1023 /* token_uid_out_of_range: uid + k * 2^32 for k in 1..1023 */

/* The documentation samples' credentials (sample_app_id, signed_with_sample_certificate): the
 * values every quick-start copies, not secrets. */
static const char sample_app_id[] = "970CA35de60c44645bbae8a215061b33";
static const char sample_certificate[] = "5CFd2fd1755d40ecb72977518be15d3b";

/* The evaluation state of one diagnosis. */
typedef struct {
    td_ctx *ctx;
    const diag_request *req;
    const diag_project *project; /* NULL when unknown */
    /* A project whose App ID is the join's in another case (the store finds one whatever the
     * case): still unknown, as App IDs are compared exactly, but the details say so. */
    const diag_project *other_case;
    bool details;
    bool rtc;
    diag_result *out;

    const char *app_id; /* the join's App ID as given (only the project lookup trims it) */
    size_t app_id_len;
    const char *token; /* the token text being judged (the request's, or the repaired one) */
    size_t token_len;
    bool token_given; /* a token other than the App ID itself */

    const char *join_uid; /* the join's uid text: decimal uid, "" for uid 0, or the account */
    size_t join_uid_len;
    const char *user_id; /* rtm: the account, or the uid's decimal text */
    size_t user_id_len;
    char user_id_buf[16];

    /* matching (checks 7-9) */
    bool service_found, channel_found, uid_found;
    /* 007: the service whose privilege counts (NULL: none): the one that passes the service,
     * channel (rtc) and uid / user id checks; a uid mismatch leaves none, and the token's own
     * expiry is then all that is judged (public scenarios pin this for rtc; rtm reads the same
     * rule, although it reports expiry before the user id). */
    const td_service *matched;
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

/* "project unknown" for a detail line, naming the project configured in another case. */
static const char *project_unknown(const eval *e, char *buf, size_t cap) {
    if (!e->other_case)
        return "project unknown";
    snprintf(buf, cap,
             "project unknown (one is configured as %s: the case differs, and App IDs are "
             "compared exactly)",
             e->other_case->app_id);
    return buf;
}

static bool failed(const eval *e, int idx) {
    return e->out->checks[idx].status == DIAG_FAIL;
}

static bool bytes_eq(const char *a, size_t an, const char *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool bytes_eq_nocase(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

/* Exactly the samples' text: a copy of the documentation keeps its letter case. */
static bool is_sample_app_id(const char *p, size_t n) {
    return bytes_eq(p, n, sample_app_id, sizeof sample_app_id - 1);
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

static bool has_006_privilege(const td_token *t, uint16_t id, uint32_t *value) {
    return has_privilege(t, t->first_privilege_006, t->privilege_count_006, id, value);
}

/* The 007 privilege a join or a login needs: join_channel (rtc) or login (rtm, rtm2). */
static uint16_t entry_privilege(const eval *e) {
    return e->rtc ? TD_PRIV_JOIN_CHANNEL : TD_PRIV_LOGIN;
}

static bool is_007(const eval *e) {
    return !td_is_006(&e->out->token);
}

/* ---- The join's identity ------------------------------------------------------------------ */

static void prepare_identity(eval *e) {
    const diag_request *r = e->req;
    e->app_id = r->app_id;
    e->app_id_len = r->app_id_len;
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

/* ---- Checks 1-4: App ID, channel name and the certificate mode ------------------------------ */

static bool project_has_enabled(const diag_project *p) {
    return (p->primary.present && p->primary.enabled) ||
           (p->secondary.present && p->secondary.enabled);
}

static void check_app_id_format(eval *e) {
    char q[200];
    const diag_request *r = e->req;
    if (diag_is_hex32(r->app_id, r->app_id_len)) {
        set_check(e, CK_APP_ID_FORMAT, DIAG_PASS, "App ID %s is 32 hex characters",
                  e->details ? Q(q, r->app_id, r->app_id_len) : "");
        return;
    }
    const char *key;
    size_t key_len;
    diag_request_project_key(r, &key, &key_len);
    bool padded = key_len != r->app_id_len; /* 32 hex characters once trimmed */
    if (padded)
        add_hint(e, DIAG_HINT_APP_ID_WHITESPACE);
    set_check(e, CK_APP_ID_FORMAT, DIAG_FAIL, "App ID %s is %zu bytes, not 32 hex characters%s",
              e->details ? Q(q, r->app_id, r->app_id_len) : "", r->app_id_len,
              padded ? " (32 hex characters with whitespace around them)" : "");
}

/* diagnosis.md: a-z A-Z 0-9 space ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ , */
static bool channel_char_ok(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr(" !#$%&()+-:;<=.>?@[]^_{}|~,", c) != NULL;
}

static void check_channel_name(eval *e) {
    const diag_request *r = e->req;
    char q[200];
    if (!e->rtc) {
        set_check(e, CK_CHANNEL_NAME, DIAG_SKIP, "not checked for rtm (a login has no channel)");
        return;
    }
    if (r->channel_len > CHANNEL_MAX) {
        set_check(e, CK_CHANNEL_NAME, DIAG_FAIL,
                  "the channel name is %zu bytes; the SDK accepts at most %d", r->channel_len,
                  CHANNEL_MAX);
        return;
    }
    for (size_t i = 0; i < r->channel_len; i++)
        if (!channel_char_ok((unsigned char)r->channel[i])) {
            set_check(e, CK_CHANNEL_NAME, DIAG_FAIL,
                      "the channel name %s has a character the SDK refuses at byte %zu",
                      e->details ? Q(q, r->channel, r->channel_len) : "", i);
            return;
        }
    set_check(e, CK_CHANNEL_NAME, DIAG_PASS, "the channel name %s is one the SDK accepts",
              e->details ? Q(q, r->channel, r->channel_len) : "");
}

static void check_certificate_mode(eval *e) {
    const diag_project *p = e->project;
    char unknown[160];
    if (e->token_given) {
        set_check(e, CK_TOKEN_PRESENT, DIAG_PASS, "a token is given");
        if (!p)
            set_check(e, CK_TOKEN_EXPECTED, DIAG_SKIP, "%s: cannot tell whether it accepts tokens",
                      project_unknown(e, unknown, sizeof unknown));
        else if (project_has_enabled(p))
            set_check(e, CK_TOKEN_EXPECTED, DIAG_PASS,
                      "a token is given and the project has an enabled certificate (%s)",
                      diag_certificate_mode(p));
        else
            set_check(e, CK_TOKEN_EXPECTED, DIAG_FAIL,
                      "a token is given but the project has no enabled certificate");
        return;
    }
    const char *none =
        e->token_len ? "the token is the App ID (a static key): no token" : "no token given";
    set_check(e, CK_TOKEN_EXPECTED, DIAG_SKIP, "%s", none);
    if (!p)
        set_check(e, CK_TOKEN_PRESENT, DIAG_SKIP, "%s; %s: cannot tell whether one is required",
                  none, project_unknown(e, unknown, sizeof unknown));
    else if (!project_has_enabled(p))
        set_check(e, CK_TOKEN_PRESENT, DIAG_PASS,
                  "%s; the project has no enabled certificate (App ID only)", none);
    else if (p->no_certificate)
        set_check(e, CK_TOKEN_PRESENT, DIAG_PASS,
                  "%s; \"No certificate\" is on, App ID-only joins are allowed", none);
    else
        set_check(e, CK_TOKEN_PRESENT, DIAG_FAIL,
                  "%s but the project has an enabled certificate (%s) and \"No certificate\" is "
                  "off",
                  none, diag_certificate_mode(p));
}

/* ---- Checks 5 and 5a: the token decodes, and the client's SDK reads it ------------------- */

/* The detail's reason: the text hint that explains the failure best, else the decoder's kind
 * (a token with surrounding whitespace fails as "unsupported_version", which would mislead). */
static const char *decode_failure_reason(uint32_t hints, td_status st) {
    static const struct {
        diag_hint hint;
        const char *why;
    } reasons[] = {
        {DIAG_HINT_APP_ID_AS_TOKEN, "an App ID (32 hex characters) was passed as the token"},
        {DIAG_HINT_WHITESPACE, "leading or trailing whitespace"},
        {DIAG_HINT_QUOTED, "wrapped in quotes"},
        {DIAG_HINT_AUTH_PREFIX, "starts with an Authorization header or query prefix"},
        {DIAG_HINT_JSON_ESCAPED, "'/' escaped as '\\/' by a JSON encoder"},
        {DIAG_HINT_PERCENT_ENCODED, "URL-encoded once more than decoded (%2B, %2F, %3D)"},
        {DIAG_HINT_URL_DECODED, "contains spaces (a '+' lost to URL decoding)"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (hints & (1u << reasons[i].hint))
            return reasons[i].why;
    return td_status_name(st);
}

static bool check_decodes(eval *e, td_status st) {
    diag_result *o = e->out;
    if (!e->token_given) {
        set_check(e, CK_TOKEN_DECODES, DIAG_SKIP, "no token given");
        return false;
    }
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

static void check_token_version(eval *e) {
    const diag_request *r = e->req;
    const char *sdk = e->rtc ? "Video SDK" : "RTM SDK";
    char first[24];
    if (!is_007(e)) {
        set_check(e, CK_TOKEN_VERSION, DIAG_PASS, "every SDK that reads tokens reads a 006 token");
        return;
    }
    if (!r->has_sdk_version) {
        set_check(e, CK_TOKEN_VERSION, DIAG_SKIP,
                  "a 007 token; the %s version is not given (AccessToken2 needs a recent one)",
                  sdk);
        return;
    }
    switch (diag_sdk_reads_007(r->service, r->client, &r->sdk_version, first, sizeof first)) {
    case DIAG_SDK_READS:
        set_check(e, CK_TOKEN_VERSION, DIAG_PASS, "%s %s %s reads 007 tokens (since %s)",
                  diag_client_name(r->client), sdk, r->sdk_version.text, first);
        break;
    case DIAG_SDK_TOO_OLD:
        set_check(e, CK_TOKEN_VERSION, DIAG_FAIL,
                  "%s %s %s cannot read a 007 token (AccessToken2 needs %s or later)",
                  diag_client_name(r->client), sdk, r->sdk_version.text, first);
        break;
    case DIAG_SDK_NO_THRESHOLD:
        set_check(e, CK_TOKEN_VERSION, DIAG_SKIP,
                  "no known first %s %s release that reads 007 tokens", diag_client_name(r->client),
                  sdk);
        break;
    }
}

/* ---- Checks 6-9: App ID, service, channel, uid --------------------------------------------- */

static void check_app_id_match(eval *e) {
    const td_token *t = &e->out->token;
    char q1[200], q2[200];
    if (bytes_eq(t->app_id.ptr, t->app_id.len, e->app_id, e->app_id_len)) {
        set_check(e, CK_APP_ID_MATCH, DIAG_PASS, "token App ID = join App ID %s",
                  e->details ? Q(q1, e->app_id, e->app_id_len) : "");
        return;
    }
    bool case_only = bytes_eq_nocase(t->app_id.ptr, t->app_id.len, e->app_id, e->app_id_len);
    if (case_only)
        add_hint(e, DIAG_HINT_APP_ID_CASE_DIFFERS);
    if (is_sample_app_id(t->app_id.ptr, t->app_id.len))
        add_hint(e, DIAG_HINT_SAMPLE_APP_ID);
    set_check(e, CK_APP_ID_MATCH, DIAG_FAIL, "token App ID %s \xe2\x89\xa0 join App ID %s%s",
              e->details ? Q(q1, t->app_id.ptr, t->app_id.len) : "",
              e->details ? Q(q2, e->app_id, e->app_id_len) : "",
              case_only ? " (they differ only in letter case)" : "");
}

static bool service_type_fits(const eval *e, uint16_t type) {
    if (e->rtc)
        return type == TD_SVC_RTC;
    return type == TD_SVC_RTM || type == TD_SVC_RTM2;
}

/* A service the join could use: the right type, with join_channel / login. */
static bool is_candidate(const eval *e, const td_service *s) {
    const td_token *t = &e->out->token;
    return s->known && service_type_fits(e, s->type) &&
           has_privilege(t, s->first_privilege, s->privilege_count, entry_privilege(e), NULL);
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

static bool has_service(const td_token *t, uint16_t type) {
    for (uint16_t i = 0; i < t->service_count && i < TD_SERVICES_MAX; i++)
        if (t->services[i].known && t->services[i].type == type)
            return true;
    return false;
}

/* The uid text is a decimal number without a leading zero above 4294967295: a uid the SDK's
 * unsigned 32-bit uid cannot hold. */
static bool uid_text_over_32_bits(const char *p, size_t n) {
    static const char max[] = "4294967295";
    if (n < sizeof max - 1 || p[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return n > sizeof max - 1 || memcmp(p, max, n) > 0;
}

/* Check 9 for a 007 rtc join, over the services the uid check looks at: those with the join's
 * channel when any has it, else every candidate (so that a channel mismatch still shows whether
 * the uid would have done). */
static void check_uid_007_rtc(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    const td_service *shown = NULL, *passing = NULL;
    bool zero_text = false, over_32 = false;
    char q1[200], q2[200];
    for (uint16_t i = 0; i < t->service_count && i < TD_SERVICES_MAX; i++) {
        const td_service *s = &t->services[i];
        if (!is_candidate(e, s) ||
            (e->channel_found && !bytes_eq(s->a.ptr, s->a.len, r->channel, r->channel_len)))
            continue;
        if (!shown)
            shown = s;
        if (s->b.len == 0 || bytes_eq(s->b.ptr, s->b.len, e->join_uid, e->join_uid_len)) {
            if (!passing)
                passing = s;
            continue;
        }
        zero_text |= bytes_eq(s->b.ptr, s->b.len, "0", 1);
        over_32 |= uid_text_over_32_bits(s->b.ptr, s->b.len);
    }
    e->uid_found = passing != NULL;
    if (passing) {
        if (e->channel_found)
            e->matched = passing; /* the service that passes both channel and uid */
        set_check(e, CK_UID, DIAG_PASS, "%s (join uid %s)",
                  passing->b.len == 0 ? "the token accepts any uid" : "token uid = join uid",
                  e->details ? Q(q1, e->join_uid, e->join_uid_len) : "");
        return;
    }
    if (e->join_uid_len == 0)
        add_hint(e, DIAG_HINT_JOIN_UID_ZERO);
    if (zero_text)
        add_hint(e, DIAG_HINT_TOKEN_UID_ZERO_TEXT);
    if (over_32)
        add_hint(e, DIAG_HINT_TOKEN_UID_OUT_OF_RANGE);
    set_check(e, CK_UID, DIAG_FAIL, "token uid %s \xe2\x89\xa0 join uid %s%s",
              e->details ? Q(q1, shown->b.ptr, shown->b.len) : "",
              e->details ? Q(q2, e->join_uid, e->join_uid_len) : "",
              e->join_uid_len == 0 ? " (uid 0)" : "");
}

/* channel_case_differs / channel_whitespace for a 007 channel that is not the join's. */
static void channel_hints_007(eval *e, const td_service *s) {
    const diag_request *r = e->req;
    const char *tp = s->a.ptr, *jp = r->channel;
    size_t tn = s->a.len, jn = r->channel_len;
    if (bytes_eq_nocase(tp, tn, jp, jn))
        add_hint(e, DIAG_HINT_CHANNEL_CASE_DIFFERS);
    diag_trim(&tp, &tn);
    diag_trim(&jp, &jn);
    if ((tn != s->a.len && bytes_eq(tp, tn, r->channel, r->channel_len)) ||
        (jn != r->channel_len && bytes_eq(s->a.ptr, s->a.len, jp, jn)))
        add_hint(e, DIAG_HINT_CHANNEL_WHITESPACE);
}

static void check_matching_007(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    const td_service *first = NULL;
    char q1[200], q2[200], list[160];
    for (uint16_t i = 0; i < t->service_count && i < TD_SERVICES_MAX; i++) {
        const td_service *s = &t->services[i];
        if (!is_candidate(e, s))
            continue;
        if (!first)
            first = s;
        if (e->rtc && bytes_eq(s->a.ptr, s->a.len, r->channel, r->channel_len)) {
            e->channel_found = true;
        } else if (!e->rtc && !e->uid_found &&
                   bytes_eq(s->a.ptr, s->a.len, e->user_id, e->user_id_len)) {
            e->uid_found = true;
            e->matched = s;
        }
    }
    e->service_found = first != NULL;
    if (!e->service_found) {
        if (!e->rtc && has_service(t, TD_SVC_RTC) && !has_service(t, TD_SVC_RTM) &&
            !has_service(t, TD_SVC_RTM2))
            add_hint(e, DIAG_HINT_BUILT_FOR_RTC); /* an RTC token used to log in */
        set_check(e, CK_SERVICE, DIAG_FAIL, "no %s service with %s privilege (token has: %s)",
                  e->rtc ? "rtc" : "rtm/rtm2", e->rtc ? "join_channel" : "login",
                  e->details ? service_list(t, list, sizeof list) : "");
        set_check(e, CK_CHANNEL, DIAG_SKIP, "no %s service to compare with",
                  e->rtc ? "rtc" : "rtm");
        set_check(e, CK_UID, DIAG_SKIP, "no %s service to compare with", e->rtc ? "rtc" : "rtm");
        return;
    }
    set_check(e, CK_SERVICE, DIAG_PASS, "%s service with %s privilege",
              td_service_name(first->type), e->rtc ? "join_channel" : "login");

    if (!e->rtc) {
        set_check(e, CK_CHANNEL, DIAG_SKIP, "not compared for rtm (a login has no channel)");
        if (e->uid_found) {
            set_check(e, CK_UID, DIAG_PASS, "token user id = login user id %s",
                      e->details ? Q(q1, e->user_id, e->user_id_len) : "");
            return;
        }
        set_check(e, CK_UID, DIAG_FAIL, "token user id %s \xe2\x89\xa0 login user id %s",
                  e->details ? Q(q1, first->a.ptr, first->a.len) : "",
                  e->details ? Q(q2, e->user_id, e->user_id_len) : "");
        return;
    }
    if (e->channel_found) {
        set_check(e, CK_CHANNEL, DIAG_PASS, "token channel = join channel %s",
                  e->details ? Q(q1, r->channel, r->channel_len) : "");
    } else {
        for (uint16_t i = 0; i < t->service_count && i < TD_SERVICES_MAX; i++)
            if (is_candidate(e, &t->services[i]))
                channel_hints_007(e, &t->services[i]);
        set_check(e, CK_CHANNEL, DIAG_FAIL, "token channel %s \xe2\x89\xa0 join channel %s",
                  e->details ? Q(q1, first->a.ptr, first->a.len) : "",
                  e->details ? Q(q2, r->channel, r->channel_len) : "");
    }
    check_uid_007_rtc(e);
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

/* token_uid_out_of_range for 006: crc_uid is the CRC-32 of the decimal text of uid + k * 2^32
 * for some k in 1..UID_WRAPS_MAX (a token built for a uid past 32 bits, which the client's
 * unsigned 32-bit uid wrapped). It runs only when a 006 uid check fails, a thousand CRCs of a
 * dozen bytes: the text is kept as digits and 2^32 is added to it in place each step, rather
 * than formatting each number anew. */
static bool uid_wrapped_006(uint32_t uid, uint32_t crc_uid) {
    static const char step[] = "4294967296"; /* 2^32 */
    char buf[24];                            /* 1023 * 2^32 + 2^32 - 1 has 13 digits */
    const size_t end = sizeof buf, step_len = sizeof step - 1;
    size_t start = end;
    do {
        buf[--start] = (char)('0' + uid % 10);
        uid /= 10;
    } while (uid);
    for (unsigned k = 1; k <= UID_WRAPS_MAX; k++) {
        int carry = 0;
        for (size_t i = 0; i < step_len || carry; i++) {
            size_t pos = end - 1 - i;
            if (pos < start)
                buf[--start] = '0';
            int d = buf[pos] - '0' + carry + (i < step_len ? step[step_len - 1 - i] - '0' : 0);
            carry = d >= 10;
            buf[pos] = (char)('0' + d - (carry ? 10 : 0));
        }
        if (td_crc32(buf + start, end - start) == crc_uid)
            return true;
    }
    return false;
}

static void check_uid_006_rtc(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    char q1[200];
    uint32_t crc_uid = td_crc32(e->join_uid, e->join_uid_len);
    e->crc_uid_ok = e->uid_found = t->crc_uid == 0 || t->crc_uid == crc_uid;
    if (t->crc_uid == 0) {
        set_check(e, CK_UID, DIAG_PASS, "the token accepts any uid (crc_uid 0; join uid %s)",
                  e->details ? Q(q1, e->join_uid, e->join_uid_len) : "");
        return;
    }
    if (e->uid_found) {
        set_check(e, CK_UID, DIAG_PASS, "crc32(join uid %s) = %u matches the token",
                  e->details ? Q(q1, e->join_uid, e->join_uid_len) : "", crc_uid);
        return;
    }
    if (e->join_uid_len == 0)
        add_hint(e, DIAG_HINT_JOIN_UID_ZERO);
    if (t->crc_uid == td_crc32("0", 1))
        add_hint(e, DIAG_HINT_TOKEN_UID_ZERO_TEXT);
    if (!r->has_account && uid_wrapped_006(r->has_uid ? r->uid : 0, t->crc_uid))
        add_hint(e, DIAG_HINT_TOKEN_UID_OUT_OF_RANGE);
    set_check(e, CK_UID, DIAG_FAIL,
              "crc32(join uid %s) = %u \xe2\x89\xa0 token's crc_uid %u (built for %s)",
              e->details ? Q(q1, e->join_uid, e->join_uid_len) : "", crc_uid, t->crc_uid,
              e->join_uid_len == 0 ? "one uid, the join uses uid 0" : "another uid");
}

static void check_matching_006(eval *e) {
    const td_token *t = &e->out->token;
    const diag_request *r = e->req;
    char q1[200];

    if (!e->rtc) {
        /* RTM's 006 builder puts the user id in the channel's place and signs an empty uid;
         * privilege 1000 is not required (a warning when it is missing). */
        e->service_found = true;
        if (has_006_privilege(t, TD_PRIV_RTM_LOGIN_006, NULL))
            set_check(e, CK_SERVICE, DIAG_PASS, "privilege 1000 (rtm_login) present");
        else
            set_check(e, CK_SERVICE, DIAG_WARN,
                      "no privilege 1000 (rtm_login); RTM accepts the token all the same when "
                      "its channel field is the user id");
        set_check(e, CK_CHANNEL, DIAG_SKIP, "not compared for rtm (a login has no channel)");
        uint32_t crc = td_crc32(e->user_id, e->user_id_len);
        e->crc_channel_ok = crc == t->crc_channel;
        e->crc_uid_ok = t->crc_uid == 0;
        e->uid_found = e->crc_channel_ok && e->crc_uid_ok;
        if (e->uid_found) {
            set_check(e, CK_UID, DIAG_PASS, "crc32(login user id %s) = %u matches the token",
                      e->details ? Q(q1, e->user_id, e->user_id_len) : "", crc);
            return;
        }
        if (!e->crc_channel_ok && has_006_privilege(t, TD_PRIV_JOIN_CHANNEL, NULL) &&
            !has_006_privilege(t, TD_PRIV_RTM_LOGIN_006, NULL))
            add_hint(e, DIAG_HINT_BUILT_FOR_RTC);
        if (!e->crc_channel_ok)
            set_check(e, CK_UID, DIAG_FAIL,
                      "crc32(login user id %s) = %u \xe2\x89\xa0 the token's user id field %u "
                      "(built for another user)",
                      e->details ? Q(q1, e->user_id, e->user_id_len) : "", crc, t->crc_channel);
        else
            set_check(e, CK_UID, DIAG_FAIL,
                      "the token's user id matches, but it was built with a uid (crc_uid %u): "
                      "an RTM token signs an empty uid",
                      t->crc_uid);
        return;
    }

    e->service_found = has_006_privilege(t, TD_PRIV_JOIN_CHANNEL, NULL);
    if (e->service_found)
        set_check(e, CK_SERVICE, DIAG_PASS, "privilege 1 (join_channel) present");
    else
        set_check(e, CK_SERVICE, DIAG_FAIL, "no privilege 1 (join_channel) in the 006 token");

    e->crc_channel_ok = e->channel_found = check_crc(e, CK_CHANNEL, "join channel", "channel",
                                                     r->channel, r->channel_len, t->crc_channel);
    if (!e->channel_found) {
        const char *p = r->channel;
        size_t n = r->channel_len;
        diag_trim(&p, &n);
        if (n != r->channel_len && td_crc32(p, n) == t->crc_channel)
            add_hint(e, DIAG_HINT_CHANNEL_WHITESPACE);
    }
    check_uid_006_rtc(e);
}

/* ---- Check 10: the signature --------------------------------------------------------------- */

static bool verifies(eval *e, const char *cert, size_t cert_len) {
    const td_token *t = &e->out->token;
    if (is_007(e))
        return td_verify007(e->ctx, t, cert, cert_len);
    if (e->rtc)
        return td_verify006(e->ctx, t, cert, cert_len, e->req->channel, e->req->channel_len,
                            t->crc_uid == 0 ? "" : e->join_uid,
                            t->crc_uid == 0 ? 0 : e->join_uid_len);
    /* rtm 006: the user id stands in the channel's place and the uid is empty. */
    return td_verify006(e->ctx, t, cert, cert_len, e->user_id, e->user_id_len, "", 0);
}

static bool cert_verifies(eval *e, const diag_cert *c) {
    return c->present && verifies(e, c->certificate, strlen(c->certificate));
}

/* Which certificate other than an enabled one signed the token: the hints of a failed
 * signature check, and a phrase for its detail (a certificate named by fingerprint only). */
static void find_signer(eval *e, char *what, size_t cap) {
    const diag_project *p = e->project;
    const td_token *t = &e->out->token;
    const diag_cert *certs[2] = {&p->primary, &p->secondary};
    char fp[9];
    snprintf(what, cap, "no certificate of the project signs it");
    for (int i = 0; i < 2; i++) {
        if (certs[i]->present && !certs[i]->enabled && cert_verifies(e, certs[i])) {
            e->out->signed_with = i == 0 ? DIAG_SIGNED_PRIMARY : DIAG_SIGNED_SECONDARY;
            add_hint(e, DIAG_HINT_SIGNED_WITH_DISABLED_CERTIFICATE);
            if (e->details) {
                td_fingerprint(certs[i]->certificate, strlen(certs[i]->certificate), fp);
                snprintf(what, cap, "it is signed with the disabled %s certificate (%s)",
                         i == 0 ? "primary" : "secondary", fp);
            }
        }
    }
    for (size_t i = 0; i < p->retired_count && i < DIAG_RETIRED_MAX; i++) {
        if (verifies(e, p->retired[i], strlen(p->retired[i]))) {
            add_hint(e, DIAG_HINT_SIGNED_WITH_RETIRED_CERTIFICATE);
            if (e->details) {
                td_fingerprint(p->retired[i], strlen(p->retired[i]), fp);
                snprintf(what, cap, "it is signed with a retired certificate (%s)", fp);
            }
            break;
        }
    }
    if ((t->app_id.len == TD_CERT_LEN && verifies(e, t->app_id.ptr, t->app_id.len)) ||
        (e->app_id_len == TD_CERT_LEN &&
         !bytes_eq(e->app_id, e->app_id_len, t->app_id.ptr, t->app_id.len) &&
         verifies(e, e->app_id, e->app_id_len))) {
        add_hint(e, DIAG_HINT_SIGNED_WITH_APP_ID);
        snprintf(what, cap, "it is signed with the App ID in place of a certificate");
    }
    if (verifies(e, sample_certificate, sizeof sample_certificate - 1)) {
        add_hint(e, DIAG_HINT_SIGNED_WITH_SAMPLE_CERTIFICATE);
        snprintf(what, cap, "it is signed with the documentation's sample certificate");
    }
}

static void check_signature(eval *e) {
    const diag_project *p = e->project;
    diag_result *o = e->out;
    char fp[9], what[96];
    if (!p) {
        char unknown[160];
        set_check(e, CK_SIGNATURE, DIAG_SKIP, "%s: no certificate to verify with",
                  project_unknown(e, unknown, sizeof unknown));
        return;
    }
    if (!project_has_enabled(p)) {
        set_check(e, CK_SIGNATURE, DIAG_SKIP, "the project has no enabled certificate");
        return;
    }
    if (!is_007(e) && (!e->crc_channel_ok || !e->crc_uid_ok)) {
        set_check(e, CK_SIGNATURE, DIAG_SKIP,
                  "not verifiable: a 006 signature covers the %s, which %s not match the token",
                  e->rtc ? "channel and uid" : "user id and an empty uid", e->rtc ? "do" : "does");
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
    find_signer(e, what, sizeof what);
    set_check(e, CK_SIGNATURE, DIAG_FAIL, "no enabled certificate (%s) verifies it; %s",
              diag_certificate_mode(p), what);
}

/* ---- Checks 11-12: expiry ------------------------------------------------------------------ */

/* The token's expiry and the counted privilege's (diagnosis.md "Expiry"); core computes both
 * times (td_token_expiry, td_privilege_expiry: the 24 h cap and the capping at the token's
 * expiry), this picks which privilege counts: 007, the matched service's join/login; 006,
 * privilege 1 (rtc) or 1000 (rtm). */
static void compute_expiry(eval *e) {
    const td_token *t = &e->out->token;
    e->token_expiry = td_token_expiry(t);
    if (is_007(e))
        e->has_privilege =
            e->matched && has_privilege(t, e->matched->first_privilege, e->matched->privilege_count,
                                        entry_privilege(e), &e->privilege_value);
    else
        e->has_privilege = has_006_privilege(
            t, e->rtc ? TD_PRIV_JOIN_CHANNEL : TD_PRIV_RTM_LOGIN_006, &e->privilege_value);
    e->privilege_limited = e->has_privilege && e->privilege_value != 0;
    if (e->privilege_limited)
        e->privilege_expiry = td_privilege_expiry(t, e->privilege_value);
    e->out->has_expiry = true;
    e->out->expires_at = e->privilege_limited && e->privilege_expiry < e->token_expiry
                             ? e->privilege_expiry
                             : e->token_expiry;
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

/* Why a privilege expired, when its value says so: a role constant where the expiry belongs
 * (the builder's arguments shifted), seconds where a 006 Unix time belongs, or a 006 expiry
 * computed before the token was issued (once, at the token server's start). */
static void privilege_expiry_hints(eval *e) {
    const td_token *t = &e->out->token;
    uint32_t v = e->privilege_value;
    if (v == 1 || v == 2 || v == 101)
        add_hint(e, DIAG_HINT_PRIVILEGE_EXPIRE_IS_ROLE);
    if (is_007(e))
        return;
    if (v < LOOKS_LIKE_UNIX_TIME)
        add_hint(e, DIAG_HINT_PRIVILEGE_EXPIRE_LOOKS_RELATIVE);
    else if ((int64_t)v <= (int64_t)t->ts - TD_LIFETIME_MAX)
        add_hint(e, DIAG_HINT_EXPIRED_AT_ISSUE);
}

static void check_expiry(eval *e) {
    compute_expiry(e);
    set_expiry_check(e, CK_TOKEN_EXPIRY, "the token", e->token_expiry);
    const char *priv = e->rtc ? "join_channel" : "login";
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
                     e->rtc ? "the join_channel privilege" : "the login privilege",
                     e->privilege_expiry);
    if (failed(e, CK_PRIVILEGE_EXPIRY))
        privilege_expiry_hints(e);
}

/* ---- Warnings ------------------------------------------------------------------------------ */

static bool has_publish_privilege(const td_token *t, uint16_t first, uint16_t count) {
    return has_privilege(t, first, count, TD_PRIV_PUBLISH_AUDIO, NULL) ||
           has_privilege(t, first, count, TD_PRIV_PUBLISH_VIDEO, NULL) ||
           has_privilege(t, first, count, TD_PRIV_PUBLISH_DATA, NULL);
}

static bool any_failure(const eval *e) {
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        if (failed(e, i))
            return true;
    return false;
}

static void add_warnings(eval *e) {
    const diag_request *r = e->req;
    diag_result *o = e->out;
    const td_token *t = &o->token;
    if (!e->project) {
        add_warning(e, DIAG_WARN_PROJECT_UNKNOWN);
        if (is_sample_app_id(e->app_id, e->app_id_len))
            add_hint(e, DIAG_HINT_SAMPLE_APP_ID);
    }
    if (r->uid_as_string) /* the request's form, not the token: judged as the uid all the same */
        add_warning(e, DIAG_WARN_UID_AS_STRING);
    if (!o->token_decoded)
        return;
    int64_t left = o->expires_at - r->at;
    if (left > 0 && left <= WILL_EXPIRE_WINDOW)
        add_warning(e, DIAG_WARN_EXPIRES_SOON);
    bool v7 = is_007(e);
    if (v7 && t->expire > TD_LIFETIME_MAX)
        add_warning(e, DIAG_WARN_LIFETIME_OVER_24H);
    if (v7 && t->expire >= LOOKS_LIKE_UNIX_TIME)
        add_warning(e, DIAG_WARN_EXPIRE_LOOKS_ABSOLUTE);
    if (v7 && (int64_t)t->issue_ts > r->at + FUTURE_SKEW)
        add_warning(e, DIAG_WARN_ISSUED_IN_FUTURE);
    if (!v7 && !e->rtc && o->checks[CK_SERVICE].status == DIAG_WARN && !any_failure(e))
        add_warning(e, DIAG_WARN_RTM_LOGIN_PRIVILEGE_MISSING);
    if (e->project && e->project->cohost_auth && r->role == DIAG_ROLE_PUBLISHER && e->rtc &&
        o->checks[CK_SERVICE].status == DIAG_PASS) {
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

static void skip_from(eval *e, int from, const char *why) {
    for (int i = from; i < DIAG_CHECK_COUNT; i++)
        set_check(e, i, DIAG_SKIP, "%s", why);
}

/* The failing check first in the service's precedence, or -1. */
static int first_failure(const diag_result *o) {
    int cause = -1;
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        if (o->checks[i].status == DIAG_FAIL &&
            (cause < 0 || check_table[i].rank[o->service] < check_table[cause].rank[o->service]))
            cause = i;
    return cause;
}

/* A token equal to the join's App ID (ignoring case) is a static key: a join without a token
 * (diagnosis.md "App ID as token"). */
static bool token_is_app_id(const eval *e) {
    return e->token_len == TD_CERT_LEN && diag_is_hex32(e->token, e->token_len) &&
           bytes_eq_nocase(e->token, e->token_len, e->app_id, e->app_id_len);
}

/* Runs the checks on token text (tok, tok_len) whose decoding gave st (out->token holds the
 * token when st is TD_OK) and fills verdict, cause, hints, warnings, checks, expiry and the
 * project fields of out. */
static void evaluate(td_ctx *ctx, const diag_request *req, const diag_project *project,
                     const diag_project *other_case, bool details, const char *tok, size_t tok_len,
                     td_status st, diag_result *out) {
    eval e;
    memset(&e, 0, sizeof e);
    e.ctx = ctx;
    e.req = req;
    e.project = project;
    e.other_case = other_case;
    e.details = details;
    e.rtc = req->service == DIAG_SERVICE_RTC;
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
        out->checks[i].id = check_table[i].id;

    prepare_identity(&e);
    e.token_given = tok_len > 0 && !token_is_app_id(&e);
    if (tok_len > 0 && !e.token_given)
        add_hint(&e, DIAG_HINT_APP_ID_AS_TOKEN);
    check_app_id_format(&e);
    check_channel_name(&e);
    check_certificate_mode(&e);
    if (!check_decodes(&e, st)) {
        skip_from(&e, CK_TOKEN_VERSION, e.token_given ? "the token does not decode" : "no token");
    } else {
        check_token_version(&e);
        check_app_id_match(&e);
        if (is_007(&e))
            check_matching_007(&e);
        else
            check_matching_006(&e);
        check_signature(&e);
        check_expiry(&e);
    }
    add_warnings(&e);

    int cause = first_failure(out);
    if (cause >= 0) {
        out->verdict = DIAG_REJECTED;
        out->cause = (diag_cause)cause;
    } else if (!project) {
        out->verdict = DIAG_UNVERIFIABLE;
        out->cause = DIAG_CAUSE_PROJECT_UNKNOWN;
    } else {
        out->verdict = DIAG_JOINABLE;
        out->cause = e.token_given ? DIAG_CAUSE_OK : DIAG_CAUSE_OK_APP_ID_ONLY;
    }
}

static void copy_app_id(diag_result *o, const diag_request *r) {
    size_t n = r->app_id_len > DIAG_APP_ID_KEEP ? DIAG_APP_ID_KEEP : r->app_id_len;
    if (n)
        memcpy(o->app_id, r->app_id, n);
    o->app_id[n] = '\0';
    o->app_id_len = n;
}

void diag_run(td_ctx *ctx, const diag_request *req, const diag_project *project,
              const diag_options *opts, diag_result *out) {
    bool details = !(opts && opts->skip_details);
    const char *key;
    size_t key_len;
    diag_request_project_key(req, &key, &key_len);
    const diag_project *other_case = NULL;
    size_t project_len = project ? strnlen(project->app_id, sizeof project->app_id) : 0;
    if (project && !bytes_eq(project->app_id, project_len, key, key_len)) {
        /* configurations are looked up by exact App ID; one in another case is named */
        if (bytes_eq_nocase(project->app_id, project_len, key, key_len))
            other_case = project;
        project = NULL;
    }

    out->platform = diag_client_platform(req->client);
    out->client = req->client;
    out->service = req->service;
    out->table = diag_table_of(req->service, req->has_sdk_version ? &req->sdk_version : NULL);
    out->role = req->role;
    out->at = req->at;
    out->has_sdk_version = req->has_sdk_version;
    if (req->has_sdk_version)
        memcpy(out->sdk_version, req->sdk_version.text, sizeof out->sdk_version);
    else
        out->sdk_version[0] = '\0';
    copy_app_id(out, req);
    out->project_known = project != NULL;
    out->certificate_mode = project ? diag_certificate_mode(project) : NULL;
    out->no_certificate = project ? project->no_certificate : false;
    out->has_repaired = false;
    out->repaired_token[0] = '\0';

    const char *tok = req->has_token && req->token ? req->token : NULL;
    size_t tok_len = tok ? req->token_len : 0;
    td_status st = tok_len ? td_decode(ctx, tok, tok_len, &out->token) : TD_OK;

    /* A token that does not decode may only be damaged on its way: the repair is judged first
     * (into the same result, details off), so that the real diagnosis below is what the result
     * finally holds; out->token then holds the repaired token, unused as the real one did not
     * decode. */
    if (st != TD_OK && tok_len <= TD_TOKEN_TEXT_MAX) {
        diag_token_damage d;
        diag_token_clean(tok, tok_len, out->repaired_token, sizeof out->repaired_token, &d);
        if (d.changed && d.len > 0 &&
            td_decode(ctx, out->repaired_token, d.len, &out->token) == TD_OK) {
            evaluate(ctx, req, project, other_case, false, out->repaired_token, d.len, TD_OK, out);
            out->has_repaired = true;
            out->repaired_verdict = out->verdict;
            out->repaired_cause = out->cause;
        } else {
            out->repaired_token[0] = '\0';
        }
    }
    evaluate(ctx, req, project, other_case, details, tok, tok_len, st, out);
}

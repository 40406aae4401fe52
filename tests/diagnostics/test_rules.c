/* test_rules.c -- one test per rule of docs/spec/diagnosis.md (v2), on tokens built here.
 *
 * Each case starts from a scenario that is joinable (a 007 or 006 rtc token for channel
 * "room-1", uid 1234, signed with the project's enabled primary certificate, issued 100 s before
 * `at`, living one hour) and changes one or two things: the expected verdict, cause, hints,
 * warnings and expires_at are then asserted exactly. Tokens are built with td_build007 /
 * td_build006 from core, so every rule is exercised on real bytes. Every expected answer is read
 * off the contract, never off the engine.
 *
 * Covered: each cause alone; pairs of causes (precedence, rtc and rtm orders); each hint and
 * warning; boundaries (at = expiry - 1 and = expiry; 30 and 31 s left; expire 0, 86400, 86401;
 * uid 0 and 4294967295; channel of 63 and 64 bytes; 006 crc_uid 0; a token uid just above
 * 2^32 - 1, and the 006 search for uid + k * 2^32 up to k = 1023); an App ID passed as token;
 * every platform name and the codes per platform and per table (RTC, RTM 1.x, RTM 2.x); the
 * client's SDK: which versions read a 007 token (per platform as named), the RTM 2.x codes, the
 * accepted and refused version forms; rtc and rtm for both versions; repair; request
 * validation (`at` range and ISO-8601 form included).
 */
#include "oracle_json.h"
#include "tddiag.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APP "0123456789abcdef0123456789abcdef"
#define CERT_P "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CERT_S "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CERT_R "cccccccccccccccccccccccccccccccc"
#define CERT_X "dddddddddddddddddddddddddddddddd"
#define AT 1700000000

static td_ctx *ctx;
static diag_result *res;

/* ---- A scenario: the token to build, the request, the project ---------------------------- */

enum { SVC_RTC = 1, SVC_RTM = 2, SVC_RTM2 = 4, SVC_CHAT = 8, SVC_RTC_NOJOIN = 16 };

typedef struct {
    /* token */
    bool no_token;
    int version;           /* 7 or 6 */
    const char *t_app;     /* App ID in the token */
    int t_services;        /* SVC_* bits (007); 006: SVC_RTC -> privilege 1, SVC_RTM -> 1000 */
    const char *t_channel; /* 007 rtc channel; 006: the text whose CRC is crc_channel */
    const char *t_uid;     /* 007 rtc uid; 006: the text whose CRC is crc_uid */
    const char *t_user;    /* 007 rtm user id */
    uint32_t issue_ts, expire, priv; /* 007 (priv: join/login privilege value) */
    uint32_t ts, priv006;            /* 006 (absolute) */
    bool t_publish;                  /* add privileges 2, 3, 4 (rtc) */
    const char *signer;
    char text[TD_TOKEN_TEXT_MAX + 64]; /* the token text (filled by build, then mangled) */
    /* request */
    diag_request req;
    char channel_buf[128];
    /* project */
    bool known;
    diag_project proj;
} scen;

static scen base(int version) {
    scen s;
    memset(&s, 0, sizeof s);
    s.version = version;
    s.t_app = APP;
    s.t_services = SVC_RTC;
    s.t_channel = "room-1";
    s.t_uid = "1234";
    s.t_user = "alice";
    s.issue_ts = AT - 100;
    s.expire = 3600;
    s.priv = 3600;
    s.ts = AT - 100 + 3600;
    s.priv006 = AT - 100 + 3600;
    s.t_publish = true;
    s.signer = CERT_P;
    s.req.app_id = APP;
    s.req.app_id_len = 32;
    s.req.has_channel = true;
    s.req.channel = "room-1";
    s.req.channel_len = 6;
    s.req.has_uid = true;
    s.req.uid = 1234;
    s.req.at = AT;
    s.known = true;
    memcpy(s.proj.app_id, APP, 33);
    s.proj.primary.present = true;
    s.proj.primary.enabled = true;
    memcpy(s.proj.primary.certificate, CERT_P, 33);
    return s;
}

/* An rtm login for user "alice" with a matching token. */
static scen base_rtm(int version) {
    scen s = base(version);
    s.t_services = SVC_RTM;
    s.req.service = DIAG_SERVICE_RTM;
    s.req.has_channel = false;
    s.req.has_uid = false;
    s.req.has_account = true;
    s.req.account = "alice";
    s.req.account_len = 5;
    if (version == 6) {
        s.t_channel = "alice"; /* 006 rtm: the user id in the channel's place, empty uid */
        s.t_uid = "";
    }
    return s;
}

static void set_channel(scen *s, const char *ch) {
    snprintf(s->channel_buf, sizeof s->channel_buf, "%s", ch);
    s->req.channel = s->channel_buf;
    s->req.channel_len = strlen(s->channel_buf);
}

static void set_uid(scen *s, uint32_t uid) {
    s->req.has_uid = true;
    s->req.uid = uid;
}

/* Adds the privileges of one service to the pool of spec. */
static void add_privs(td_token *spec, td_service *svc, uint32_t join, bool publish,
                      uint32_t pub_value) {
    svc->first_privilege = spec->privilege_total;
    spec->privileges[spec->privilege_total++] = (td_privilege){1, join};
    if (publish)
        for (uint16_t id = 2; id <= 4; id++)
            spec->privileges[spec->privilege_total++] = (td_privilege){id, pub_value};
    svc->privilege_count = (uint16_t)(spec->privilege_total - svc->first_privilege);
}

static td_str str_of(const char *s) {
    return (td_str){s, strlen(s)};
}

static void build(scen *s) {
    if (s->no_token) {
        s->text[0] = '\0';
        return;
    }
    static td_token spec; /* large: keep it off the stack */
    memset(&spec, 0, sizeof spec);
    spec.app_id = str_of(s->t_app);
    spec.salt = 12345;
    size_t n;
    if (s->version == 7) {
        spec.issue_ts = s->issue_ts;
        spec.expire = s->expire;
        int types[] = {SVC_RTC, SVC_RTC_NOJOIN, SVC_RTM, SVC_CHAT, SVC_RTM2};
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (!(s->t_services & types[i]))
                continue;
            td_service *svc = &spec.services[spec.service_count++];
            svc->known = true;
            switch (types[i]) {
            case SVC_RTC:
            case SVC_RTC_NOJOIN:
                svc->type = TD_SVC_RTC;
                svc->a = str_of(s->t_channel);
                svc->b = str_of(s->t_uid);
                add_privs(&spec, svc, s->priv, s->t_publish, s->priv);
                if (types[i] == SVC_RTC_NOJOIN) /* publish only: drop join_channel */
                    spec.privileges[svc->first_privilege].id = 4, svc->privilege_count = 1;
                break;
            case SVC_RTM:
                svc->type = TD_SVC_RTM;
                svc->a = str_of(s->t_user);
                add_privs(&spec, svc, s->priv, false, 0);
                break;
            case SVC_RTM2:
                svc->type = TD_SVC_RTM2;
                svc->a = str_of(s->t_user);
                add_privs(&spec, svc, s->priv, false, 0);
                break;
            case SVC_CHAT:
                svc->type = TD_SVC_CHAT;
                svc->a = str_of(s->t_user);
                add_privs(&spec, svc, s->priv, false, 0);
                break;
            }
        }
        n = td_build007(ctx, &spec, s->signer, strlen(s->signer), s->text, sizeof s->text);
    } else {
        spec.ts = s->ts;
        spec.first_privilege_006 = 0;
        if (s->t_services & SVC_RTC) {
            spec.privileges[spec.privilege_total++] = (td_privilege){1, s->priv006};
            if (s->t_publish)
                for (uint16_t id = 2; id <= 4; id++)
                    spec.privileges[spec.privilege_total++] = (td_privilege){id, s->priv006};
        }
        if (s->t_services & SVC_RTM)
            spec.privileges[spec.privilege_total++] = (td_privilege){1000, s->priv006};
        if (s->t_services & SVC_RTC_NOJOIN)
            spec.privileges[spec.privilege_total++] = (td_privilege){101, s->priv006};
        spec.privilege_count_006 = spec.privilege_total;
        n = td_build006(ctx, &spec, s->signer, strlen(s->signer), s->t_channel,
                        strlen(s->t_channel), s->t_uid, strlen(s->t_uid), s->text, sizeof s->text);
    }
    if (n == 0) {
        fprintf(stderr, "FATAL: could not build a token\n");
        exit(2);
    }
}

static void run(scen *s) {
    if (s->text[0] == '\0' && !s->no_token)
        build(s);
    s->req.has_token = !s->no_token;
    s->req.token = s->text;
    s->req.token_len = strlen(s->text);
    char err[256];
    if (!diag_request_validate(&s->req, err, sizeof err)) {
        fprintf(stderr, "FATAL: test request invalid: %s\n", err);
        exit(2);
    }
    diag_run(ctx, &s->req, s->known ? &s->proj : NULL, NULL, res);
}

/* ---- Assertions -------------------------------------------------------------------------- */

#define H(x) (1u << DIAG_HINT_##x)
#define W(x) (1u << DIAG_WARN_##x)
#define NO_EXPIRY INT64_MIN
#define ANY_EXPIRY (INT64_MIN + 1)

static void names_of(uint32_t bits, bool hints, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < 32; i++)
        if (bits & (1u << i))
            o += (size_t)snprintf(out + o, cap - o, "%s ",
                                  hints ? diag_hint_name((diag_hint)i)
                                        : diag_warning_name((diag_warning)i));
}

/* Asserts the outcome of the last run. */
static void expect_full(const char *name, diag_verdict v, diag_cause c, uint32_t hints,
                        uint32_t warnings, int64_t expires_at) {
    bool ok =
        res->verdict == v && res->cause == c && res->hints == hints && res->warnings == warnings;
    if (expires_at == NO_EXPIRY)
        ok = ok && !res->has_expiry;
    else if (expires_at != ANY_EXPIRY)
        ok = ok && res->has_expiry && res->expires_at == expires_at;
    if (CHECK(ok, "%s: outcome", name))
        return;
    char gh[256], gw[256], eh[256], ew[256];
    names_of(res->hints, true, gh, sizeof gh);
    names_of(res->warnings, false, gw, sizeof gw);
    names_of(hints, true, eh, sizeof eh);
    names_of(warnings, false, ew, sizeof ew);
    printf("FAIL %s\n  expected %s/%s hints[%s] warnings[%s] expires_at %lld\n"
           "  got      %s/%s hints[%s] warnings[%s] expires_at %lld\n",
           name, diag_verdict_name(v), diag_cause_name(c), eh, ew, (long long)expires_at,
           diag_verdict_name(res->verdict), diag_cause_name(res->cause), gh, gw,
           res->has_expiry ? (long long)res->expires_at : -1LL);
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        printf("    %-16s %s %s\n", res->checks[i].id,
               diag_check_status_name(res->checks[i].status), res->checks[i].detail);
}

static void expect_cause(const char *name, diag_cause c, uint32_t hints, uint32_t warnings) {
    diag_verdict v = c <= DIAG_CAUSE_PRIVILEGE_EXPIRED ? DIAG_REJECTED
                     : c == DIAG_CAUSE_PROJECT_UNKNOWN ? DIAG_UNVERIFIABLE
                                                       : DIAG_JOINABLE;
    expect_full(name, v, c, hints, warnings, ANY_EXPIRY);
}

static void expect_true(const char *name, bool cond) {
    CHECK(cond, "%s", name);
}

/* Two strings, both present and equal. */
static bool streq(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

/* Asserts the error code the last run reports: number (0: none, as web INVALID_PARAMS) and
 * constant name. */
static void expect_code(const char *name, int code, const char *code_name) {
    const diag_code *c = diag_result_code(res);
    CHECK(c && c->code == code && c->name && strcmp(c->name, code_name) == 0,
          "%s: code %d %s (got %d %s)", name, code, code_name, c ? c->code : -1,
          c && c->name ? c->name : "(none)");
}

/* The check of the last run with this id, NULL when there is none. */
static const diag_check *check_of(const char *id) {
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        if (res->checks[i].id && strcmp(res->checks[i].id, id) == 0)
            return &res->checks[i];
    return NULL;
}

/* The client's SDK version, as a request states it. */
static void set_sdk(scen *s, const char *text) {
    if (!diag_sdk_version_parse(text, strlen(text), &s->req.sdk_version)) {
        fprintf(stderr, "FATAL: sdk_version '%s' refused\n", text);
        exit(2);
    }
    s->req.has_sdk_version = true;
}

/* ---- Each cause alone --------------------------------------------------------------------- */

static void test_each_cause(int v) {
    char name[96];
#define NAME(x) (snprintf(name, sizeof name, "v%d %s", v, x), name)
    scen s = base(v);
    run(&s);
    expect_full(NAME("baseline joinable"), DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0, AT - 100 + 3600);

    s = base(v);
    s.req.app_id = "0123456789abcdef0123456789abcdeg"; /* no project can have it */
    run(&s);
    expect_cause(NAME("app_id_malformed"), DIAG_CAUSE_APP_ID_MALFORMED, 0, W(PROJECT_UNKNOWN));

    s = base(v);
    s.no_token = true;
    run(&s);
    expect_full(NAME("token_required"), DIAG_REJECTED, DIAG_CAUSE_TOKEN_REQUIRED, 0, 0, NO_EXPIRY);

    s = base(v);
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause(NAME("token_not_expected (disabled)"), DIAG_CAUSE_TOKEN_NOT_EXPECTED, 0, 0);
    s = base(v);
    s.proj.primary.present = false;
    run(&s);
    expect_cause(NAME("token_not_expected (no certificate)"), DIAG_CAUSE_TOKEN_NOT_EXPECTED, 0, 0);

    s = base(v);
    build(&s);
    s.text[strlen(s.text) - 5] = '\0';
    run(&s);
    expect_full(NAME("token_malformed (cut)"), DIAG_REJECTED, DIAG_CAUSE_TOKEN_MALFORMED,
                H(TRUNCATED), 0, NO_EXPIRY);

    s = base(v);
    s.t_app = "0123456789abcdef0123456789abcdee";
    run(&s);
    expect_cause(NAME("app_id_mismatch"), DIAG_CAUSE_APP_ID_MISMATCH, 0, 0);

    s = base(v);
    s.t_services = SVC_RTC_NOJOIN;
    run(&s);
    expect_cause(NAME("service_missing (no join privilege)"), DIAG_CAUSE_SERVICE_MISSING, 0, 0);
    s = base(v);
    s.t_services = SVC_RTM;
    run(&s);
    expect_cause(NAME("service_missing (rtm token for rtc)"), DIAG_CAUSE_SERVICE_MISSING, 0, 0);

    s = base(v);
    s.t_channel = "room-2";
    run(&s);
    expect_cause(NAME("channel_mismatch"), DIAG_CAUSE_CHANNEL_MISMATCH, 0, 0);
    s = base(v);
    set_channel(&s, "Room-1");
    run(&s);
    expect_cause(NAME("channel_mismatch (case)"), DIAG_CAUSE_CHANNEL_MISMATCH,
                 v == 7 ? H(CHANNEL_CASE_DIFFERS) : 0, 0); /* 007: by text only */
    s = base(v);
    set_channel(&s, " room-1");
    run(&s);
    expect_cause(NAME("channel_mismatch (join channel with a space)"), DIAG_CAUSE_CHANNEL_MISMATCH,
                 H(CHANNEL_WHITESPACE), 0);
    s = base(v);
    set_channel(&s, "room-1 ");
    run(&s);
    expect_cause(NAME("channel_mismatch (join channel with a trailing space)"),
                 DIAG_CAUSE_CHANNEL_MISMATCH, H(CHANNEL_WHITESPACE), 0);

    s = base(v);
    set_uid(&s, 4321);
    run(&s);
    expect_cause(NAME("uid_mismatch"), DIAG_CAUSE_UID_MISMATCH, 0, 0);
    s = base(v);
    s.req.has_uid = false;
    run(&s);
    expect_cause(NAME("uid_mismatch join_uid_zero (absent)"), DIAG_CAUSE_UID_MISMATCH,
                 H(JOIN_UID_ZERO), 0);
    s = base(v);
    set_uid(&s, 0);
    run(&s);
    expect_cause(NAME("uid_mismatch join_uid_zero (0)"), DIAG_CAUSE_UID_MISMATCH, H(JOIN_UID_ZERO),
                 0);
    s = base(v);
    s.req.has_uid = false;
    s.req.has_account = true;
    s.req.account = "1234x";
    s.req.account_len = 5;
    run(&s);
    expect_cause(NAME("uid_mismatch (account vs uid)"), DIAG_CAUSE_UID_MISMATCH, 0, 0);

    s = base(v);
    s.signer = CERT_X;
    run(&s);
    expect_cause(NAME("signature_invalid"), DIAG_CAUSE_SIGNATURE_INVALID, 0, 0);
    expect_true(NAME("signature_invalid: signed_with null"), res->signed_with == DIAG_SIGNED_NONE);

    s = base(v);
    s.req.at = AT + 3600;
    run(&s);
    expect_full(NAME("token_expired"), DIAG_REJECTED, DIAG_CAUSE_TOKEN_EXPIRED, 0, 0,
                AT - 100 + 3600);

    s = base(v);
    if (v == 7)
        s.priv = 600;
    else
        s.priv006 = AT - 100 + 600;
    s.req.at = AT + 500;
    run(&s);
    expect_full(NAME("privilege_expired"), DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED, 0, 0,
                AT - 100 + 600);

    s = base(v);
    s.known = false;
    run(&s);
    expect_full(NAME("project_unknown"), DIAG_UNVERIFIABLE, DIAG_CAUSE_PROJECT_UNKNOWN, 0,
                W(PROJECT_UNKNOWN), AT - 100 + 3600);

    s = base(v);
    s.known = true;
    memcpy(s.proj.app_id, "0123456789abcdef0123456789ABCDEF", 33);
    run(&s);
    expect_cause(NAME("project of another App ID is unknown"), DIAG_CAUSE_PROJECT_UNKNOWN, 0,
                 W(PROJECT_UNKNOWN));

    s = base(v);
    s.no_token = true;
    s.proj.no_certificate = true;
    run(&s);
    expect_full(NAME("ok_app_id_only (no_certificate)"), DIAG_JOINABLE, DIAG_CAUSE_OK_APP_ID_ONLY,
                0, 0, NO_EXPIRY);
    s = base(v);
    s.no_token = true;
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause(NAME("ok_app_id_only (disabled)"), DIAG_CAUSE_OK_APP_ID_ONLY, 0, 0);
    s = base(v);
    s.no_token = true;
    s.known = false;
    run(&s);
    expect_full(NAME("no token, unknown project"), DIAG_UNVERIFIABLE, DIAG_CAUSE_PROJECT_UNKNOWN, 0,
                W(PROJECT_UNKNOWN), NO_EXPIRY);

    /* signed with the secondary, enabled */
    s = base(v);
    s.signer = CERT_S;
    s.proj.secondary.present = true;
    s.proj.secondary.enabled = true;
    memcpy(s.proj.secondary.certificate, CERT_S, 33);
    run(&s);
    expect_cause(NAME("secondary certificate verifies"), DIAG_CAUSE_OK, 0, 0);
    expect_true(NAME("signed_with secondary"), res->signed_with == DIAG_SIGNED_SECONDARY);
    /* secondary only enabled, primary disabled: token with primary is refused */
    s = base(v);
    s.proj.primary.enabled = false;
    s.proj.secondary.present = true;
    s.proj.secondary.enabled = true;
    memcpy(s.proj.secondary.certificate, CERT_S, 33);
    run(&s);
    expect_cause(NAME("signed with disabled primary"), DIAG_CAUSE_SIGNATURE_INVALID,
                 H(SIGNED_WITH_DISABLED_CERTIFICATE), 0);
    /* project.signed_with names the slot whose certificate signed the token even when that
     * certificate is disabled (the hint says so); a retired or foreign signer is null. */
    expect_true(NAME("signed_with primary (disabled)"), res->signed_with == DIAG_SIGNED_PRIMARY);
    s = base(v);
    s.signer = CERT_R;
    s.proj.retired_count = 1;
    memcpy(s.proj.retired[0], CERT_R, 33);
    run(&s);
    expect_true(NAME("signed_with null for a retired signer"),
                res->cause == DIAG_CAUSE_SIGNATURE_INVALID && res->signed_with == DIAG_SIGNED_NONE);
    /* the App ID configured as the certificate (a Console copy-paste): it verifies as that
     * certificate, so no signed_with_app_id hint */
    s = base(v);
    s.signer = APP;
    memcpy(s.proj.primary.certificate, APP, 33);
    run(&s);
    expect_cause(NAME("App ID configured as the certificate"), DIAG_CAUSE_OK, 0, 0);
#undef NAME
}

/* ---- Certificate modes ---------------------------------------------------------------------- */

static void test_certificate_modes(int v) {
    char name[96];
#define NAME(x) (snprintf(name, sizeof name, "v%d mode %s", v, x), name)
    scen s = base(v);
    s.no_token = true;
    s.proj.primary.enabled = false;
    s.proj.secondary.present = true;
    s.proj.secondary.enabled = true;
    memcpy(s.proj.secondary.certificate, CERT_S, 33);
    run(&s);
    expect_cause(NAME("secondary only enabled: token required"), DIAG_CAUSE_TOKEN_REQUIRED, 0, 0);

    s = base(v);
    s.proj.no_certificate = true;
    run(&s);
    expect_cause(NAME("no_certificate on, valid token: ok"), DIAG_CAUSE_OK, 0, 0);
    s = base(v);
    s.proj.no_certificate = true;
    s.signer = CERT_X;
    run(&s);
    expect_cause(NAME("no_certificate on, token still verified"), DIAG_CAUSE_SIGNATURE_INVALID, 0,
                 0);
    s = base(v);
    s.proj.no_certificate = true;
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause(NAME("no_certificate on, no enabled certificate, token given"),
                 DIAG_CAUSE_TOKEN_NOT_EXPECTED, 0, 0);

    /* Upper-case hex is hex: an upper-case App ID is well formed and compared exactly. */
    s = base(v);
    s.t_app = "0123456789ABCDEF0123456789ABCDEF";
    s.req.app_id = "0123456789ABCDEF0123456789ABCDEF";
    memcpy(s.proj.app_id, s.req.app_id, 33);
    run(&s);
    expect_cause(NAME("upper-case App ID"), DIAG_CAUSE_OK, 0, 0);
    const char *bad_ids[] = {
        "", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
        " 123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcde\n"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        s = base(v);
        s.req.app_id = bad_ids[i];
        s.req.app_id_len = strlen(bad_ids[i]);
        run(&s);
        expect_cause(NAME("malformed App ID (length, space, newline)"), DIAG_CAUSE_APP_ID_MALFORMED,
                     0, W(PROJECT_UNKNOWN));
    }
#undef NAME
}

/* ---- Precedence: two causes at once, the earlier one wins ---------------------------------- */

static void test_precedence(int v) {
    char name[96];
#define NAME(x) (snprintf(name, sizeof name, "v%d precedence %s", v, x), name)
    scen s = base(v);
    s.req.app_id = "nope";
    s.req.app_id_len = 4;
    s.no_token = true;
    run(&s);
    expect_cause(NAME("app_id_malformed > token_required"), DIAG_CAUSE_APP_ID_MALFORMED, 0,
                 W(PROJECT_UNKNOWN));

    s = base(v);
    s.proj.primary.enabled = false;
    snprintf(s.text, sizeof s.text, "%s", "garbage!");
    run(&s);
    expect_cause(NAME("token_not_expected > token_malformed (hint kept)"),
                 DIAG_CAUSE_TOKEN_NOT_EXPECTED, H(UNSUPPORTED_VERSION), 0);

    s = base(v);
    s.proj.primary.enabled = false;
    s.t_app = "0123456789ABCDEF0123456789abcdef";
    run(&s);
    expect_cause(NAME("token_not_expected > app_id_mismatch (hint kept)"),
                 DIAG_CAUSE_TOKEN_NOT_EXPECTED, H(APP_ID_CASE_DIFFERS), 0);

    s = base(v);
    s.t_app = "0123456789ABCDEF0123456789abcdef";
    s.t_channel = "room-2";
    run(&s);
    expect_cause(NAME("app_id_mismatch > channel_mismatch"), DIAG_CAUSE_APP_ID_MISMATCH,
                 H(APP_ID_CASE_DIFFERS), 0);

    s = base(v);
    s.t_services = SVC_RTC_NOJOIN;
    s.t_channel = "room-2";
    run(&s);
    expect_cause(NAME("service_missing > channel_mismatch"), DIAG_CAUSE_SERVICE_MISSING, 0, 0);

    s = base(v);
    s.t_channel = "room-2";
    set_uid(&s, 99);
    run(&s);
    expect_cause(NAME("channel_mismatch > uid_mismatch"), DIAG_CAUSE_CHANNEL_MISMATCH, 0, 0);

    /* uid_mismatch > privilege_expired; 007: no service matched, so no privilege counts (the
     * token's expiry alone); 006: privilege 1 counts when present */
    s = base(v);
    set_uid(&s, 99);
    s.priv = 600;
    s.priv006 = AT - 100 + 600;
    s.req.at = AT + 1000;
    run(&s);
    expect_full(NAME("uid_mismatch > privilege_expired"), DIAG_REJECTED, DIAG_CAUSE_UID_MISMATCH, 0,
                0, v == 7 ? AT - 100 + 3600 : AT - 100 + 600);

    s = base(v);
    set_uid(&s, 99);
    s.signer = CERT_X;
    run(&s);
    expect_cause(NAME("uid_mismatch > signature_invalid"), DIAG_CAUSE_UID_MISMATCH, 0, 0);

    s = base(v);
    s.signer = CERT_X;
    s.req.at = AT + 7200;
    run(&s);
    expect_cause(NAME("signature_invalid > token_expired"), DIAG_CAUSE_SIGNATURE_INVALID, 0, 0);

    s = base(v);
    if (v == 7)
        s.priv = 600;
    else
        s.priv006 = AT - 100 + 600;
    s.req.at = AT + 7200;
    run(&s);
    expect_full(NAME("token_expired > privilege_expired"), DIAG_REJECTED, DIAG_CAUSE_TOKEN_EXPIRED,
                0, 0, AT - 100 + 600);

    s = base(v);
    s.req.at = AT + 7200;
    s.known = false;
    run(&s);
    expect_cause(NAME("expired with unknown project is rejected"), DIAG_CAUSE_TOKEN_EXPIRED, 0,
                 W(PROJECT_UNKNOWN));
#undef NAME
}

/* ---- Hints --------------------------------------------------------------------------------- */

static void mangle(scen *s, const char *prefix, const char *suffix) {
    char tmp[sizeof s->text];
    snprintf(tmp, sizeof tmp, "%s%s%s", prefix, s->text, suffix);
    snprintf(s->text, sizeof s->text, "%s", tmp);
}

static void test_token_text_hints(int v) {
    char name[96];
#define NAME(x) (snprintf(name, sizeof name, "v%d hint %s", v, x), name)
    scen s = base(v);
    build(&s);
    char clean[sizeof s.text];
    snprintf(clean, sizeof clean, "%s", s.text);

    /* the App ID as token is a join without a token (test_app_id_as_token); any other 32 hex
     * characters stay malformed, with the hint */
    snprintf(s.text, sizeof s.text, "%s", CERT_X);
    run(&s);
    expect_full(NAME("32 hex characters, not the App ID"), DIAG_REJECTED,
                DIAG_CAUSE_TOKEN_MALFORMED, H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
    expect_true(NAME("32 hex characters: no repair"), !res->has_repaired);

    for (char d = '1'; d <= '5'; d++) {
        s = base(v);
        snprintf(s.text, sizeof s.text, "00%c%s", d, clean + 3);
        run(&s);
        expect_cause(NAME("legacy_version 001-005"), DIAG_CAUSE_TOKEN_MALFORMED, H(LEGACY_VERSION),
                     0);
    }
    s = base(v);
    snprintf(s.text, sizeof s.text, "008%s", clean + 3);
    run(&s);
    expect_cause(NAME("unsupported_version 008"), DIAG_CAUSE_TOKEN_MALFORMED,
                 H(UNSUPPORTED_VERSION), 0);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    mangle(&s, " ", "\n");
    run(&s);
    expect_cause(NAME("whitespace"), DIAG_CAUSE_TOKEN_MALFORMED, H(WHITESPACE), 0);
    expect_true(NAME("whitespace: repaired to the clean token, joinable"),
                res->has_repaired && strcmp(res->repaired_token, clean) == 0 &&
                    res->repaired_verdict == DIAG_JOINABLE && res->repaired_cause == DIAG_CAUSE_OK);
    expect_true(NAME("whitespace: no token, no expiry in the answer"),
                !res->token_decoded && !res->has_expiry);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    mangle(&s, "\"", "\"");
    run(&s);
    expect_cause(NAME("quoted"), DIAG_CAUSE_TOKEN_MALFORMED, H(QUOTED), 0);
    expect_true(NAME("quoted: repaired"),
                res->has_repaired && strcmp(res->repaired_token, clean) == 0);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    mangle(&s, " '", "' ");
    run(&s);
    expect_cause(NAME("quoted + whitespace"), DIAG_CAUSE_TOKEN_MALFORMED, H(QUOTED) | H(WHITESPACE),
                 0);
    expect_true(NAME("quoted + whitespace: repaired"),
                res->has_repaired && strcmp(res->repaired_token, clean) == 0);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    mangle(&s, "\"", "'");
    run(&s);
    expect_cause(NAME("mismatched quotes are not 'quoted'"), DIAG_CAUSE_TOKEN_MALFORMED,
                 H(UNSUPPORTED_VERSION), 0);
    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    mangle(&s, "", "\"");
    run(&s);
    expect_cause(NAME("one trailing quote: not_base64"), DIAG_CAUSE_TOKEN_MALFORMED, H(NOT_BASE64),
                 0);

    /* A token with a '+' that became a space. */
    int tries = 0;
    s = base(v);
    while (!strchr(clean + 3, '+') && tries < 200) {
        s = base(v);
        s.issue_ts = AT - 100 - (uint32_t)tries;
        s.ts = AT + 3000 + (uint32_t)tries;
        build(&s);
        snprintf(clean, sizeof clean, "%s", s.text);
        tries++;
    }
    expect_true(NAME("found a token with '+'"), strchr(clean + 3, '+') != NULL);
    snprintf(s.text, sizeof s.text, "%s", clean);
    for (char *p = s.text; *p; p++)
        if (*p == '+')
            *p = ' ';
    run(&s);
    expect_cause(NAME("url_decoded"), DIAG_CAUSE_TOKEN_MALFORMED, H(URL_DECODED), 0);
    expect_true(NAME("url_decoded: repaired"), res->has_repaired &&
                                                   strcmp(res->repaired_token, clean) == 0 &&
                                                   res->repaired_cause == DIAG_CAUSE_OK);

    /* the same token encoded once more than decoded: %2B for '+' */
    s = base(v);
    size_t o = 0;
    for (const char *p = clean; *p && o + 4 < sizeof s.text; p++)
        o += (size_t)(*p == '+' ? snprintf(s.text + o, sizeof s.text - o, "%%2B")
                                : snprintf(s.text + o, sizeof s.text - o, "%c", *p));
    run(&s);
    expect_cause(NAME("percent_encoded"), DIAG_CAUSE_TOKEN_MALFORMED, H(PERCENT_ENCODED), 0);
    expect_true(NAME("percent_encoded: repaired"), res->has_repaired &&
                                                       strcmp(res->repaired_token, clean) == 0 &&
                                                       res->repaired_cause == DIAG_CAUSE_OK);

    /* a header or query fragment pasted with it */
    const char *prefixes[] = {"Bearer ", "token="};
    for (size_t i = 0; i < 2; i++) {
        s = base(v);
        snprintf(s.text, sizeof s.text, "%s%s", prefixes[i], clean);
        run(&s);
        expect_cause(NAME("auth_prefix"), DIAG_CAUSE_TOKEN_MALFORMED, H(AUTH_PREFIX), 0);
        expect_true(NAME("auth_prefix: repaired"), res->has_repaired &&
                                                       strcmp(res->repaired_token, clean) == 0 &&
                                                       res->repaired_cause == DIAG_CAUSE_OK);
    }

    /* a JSON encoder's \/ for '/' (PHP's json_encode) */
    char slashed[sizeof s.text] = "";
    for (int k = 0; k < 400 && !strchr(slashed, '/'); k++) {
        s = base(v);
        s.issue_ts = AT - 100 - (uint32_t)k;
        s.ts = AT + 3000 + (uint32_t)k;
        build(&s);
        snprintf(slashed, sizeof slashed, "%s", s.text);
    }
    expect_true(NAME("found a token with '/'"), strchr(slashed, '/') != NULL);
    o = 0;
    for (const char *p = slashed; *p && o + 3 < sizeof s.text; p++)
        o += (size_t)(*p == '/' ? snprintf(s.text + o, sizeof s.text - o, "\\/")
                                : snprintf(s.text + o, sizeof s.text - o, "%c", *p));
    run(&s);
    expect_cause(NAME("json_escaped"), DIAG_CAUSE_TOKEN_MALFORMED, H(JSON_ESCAPED), 0);
    expect_true(NAME("json_escaped: repaired"), res->has_repaired &&
                                                    strcmp(res->repaired_token, slashed) == 0 &&
                                                    res->repaired_cause == DIAG_CAUSE_OK);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    s.text[strlen(s.text) - 6] = '*';
    run(&s);
    expect_cause(NAME("not_base64"), DIAG_CAUSE_TOKEN_MALFORMED, H(NOT_BASE64), 0);
    expect_true(NAME("not_base64: no repair"), !res->has_repaired);

    /* '=' anywhere but as the final padding is not base64 text (neither truncated nor
     * corrupted: the characters themselves are wrong) */
    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    s.text[strlen(s.text) - 9] = '=';
    run(&s);
    expect_cause(NAME("'=' inside: not_base64"), DIAG_CAUSE_TOKEN_MALFORMED, H(NOT_BASE64), 0);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    s.text[strlen(s.text) - 1] = '\0';
    run(&s);
    expect_cause(NAME("truncated (length)"), DIAG_CAUSE_TOKEN_MALFORMED, H(TRUNCATED), 0);
    mangle(&s, " ", " ");
    run(&s);
    expect_cause(NAME("whitespace around a cut token"), DIAG_CAUSE_TOKEN_MALFORMED, H(WHITESPACE),
                 0);
    expect_true(NAME("no repair when the cleaned token does not decode"), !res->has_repaired);

    s = base(v);
    snprintf(s.text, sizeof s.text, "%s", clean);
    s.text[v == 7 ? 40 : 60] = '\0'; /* a multiple of 4 after the prefix, ending early */
    run(&s);
    expect_cause(NAME("truncated (content)"), DIAG_CAUSE_TOKEN_MALFORMED, H(TRUNCATED), 0);

    if (v == 7) {
        s = base(v);
        snprintf(s.text, sizeof s.text, "007AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        run(&s);
        expect_cause(NAME("corrupted"), DIAG_CAUSE_TOKEN_MALFORMED, H(CORRUPTED), 0);
    }

    s = base(v);
    s.t_app = "0123456789ABCDEF0123456789ABCDEF";
    run(&s);
    expect_cause(NAME("app_id_case_differs"), DIAG_CAUSE_APP_ID_MISMATCH, H(APP_ID_CASE_DIFFERS),
                 0);

    s = base(v);
    s.signer = CERT_R;
    s.proj.retired_count = 1;
    memcpy(s.proj.retired[0], CERT_R, 33);
    run(&s);
    expect_cause(NAME("signed_with_retired_certificate"), DIAG_CAUSE_SIGNATURE_INVALID,
                 H(SIGNED_WITH_RETIRED_CERTIFICATE), 0);

    s = base(v);
    s.signer = CERT_S;
    s.proj.secondary.present = true;
    s.proj.secondary.enabled = false;
    memcpy(s.proj.secondary.certificate, CERT_S, 33);
    run(&s);
    expect_cause(NAME("signed_with_disabled_certificate"), DIAG_CAUSE_SIGNATURE_INVALID,
                 H(SIGNED_WITH_DISABLED_CERTIFICATE), 0);

    s = base(v);
    s.signer = APP;
    run(&s);
    expect_cause(NAME("signed_with_app_id"), DIAG_CAUSE_SIGNATURE_INVALID, H(SIGNED_WITH_APP_ID),
                 0);

    s = base(v);
    s.signer = CERT_R;
    s.proj.retired_count = 1;
    memcpy(s.proj.retired[0], CERT_R, 33);
    s.known = false;
    run(&s);
    expect_cause(NAME("no signature hints for an unknown project"), DIAG_CAUSE_PROJECT_UNKNOWN, 0,
                 W(PROJECT_UNKNOWN));
#undef NAME
}

static void test_hint_relative_006(void) {
    scen s = base(6);
    s.priv006 = 3600; /* seconds passed where a Unix time belongs */
    run(&s);
    expect_full("006 privilege_expire_looks_relative", DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED,
                H(PRIVILEGE_EXPIRE_LOOKS_RELATIVE), 0, 3600);
    s = base_rtm(6);
    s.priv006 = 600;
    run(&s);
    expect_cause("006 rtm privilege_expire_looks_relative", DIAG_CAUSE_PRIVILEGE_EXPIRED,
                 H(PRIVILEGE_EXPIRE_LOOKS_RELATIVE), 0);
    s = base(6);
    s.priv006 = 0; /* no limit: not expired, no hint */
    run(&s);
    expect_full("006 privilege 0 = no limit", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0, s.ts);
    s = base(6);
    s.priv006 = AT - 10; /* expired, but an absolute time: no hint */
    run(&s);
    expect_cause("006 privilege expired, absolute", DIAG_CAUSE_PRIVILEGE_EXPIRED, 0, 0);
    s = base(7);
    s.priv = 3; /* 007 values are relative anyway: no hint */
    run(&s);
    expect_cause("007 privilege expired: no relative hint", DIAG_CAUSE_PRIVILEGE_EXPIRED, 0, 0);
    s = base(6);
    s.priv006 = 600;
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause("006 relative hint kept under token_not_expected", DIAG_CAUSE_TOKEN_NOT_EXPECTED,
                 H(PRIVILEGE_EXPIRE_LOOKS_RELATIVE), 0);
}

/* A role constant where the expiry belongs, and a 006 expiry computed before the token was
 * issued (diagnosis.md "Hints": privilege_expire_is_role, expired_at_issue). */
static void test_hint_privilege_values(void) {
    const uint32_t roles[] = {1, 2, 101};
    for (size_t i = 0; i < 3; i++) {
        scen s = base(7);
        s.priv = roles[i];
        s.req.at = AT + 200; /* issued at AT - 100: every role value has run out */
        run(&s);
        expect_full("007 privilege value is a role", DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED,
                    H(PRIVILEGE_EXPIRE_IS_ROLE), 0, AT - 100 + roles[i]);
        s = base(6);
        s.priv006 = roles[i]; /* also below 10^9: looks relative */
        run(&s);
        expect_full("006 privilege value is a role", DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED,
                    H(PRIVILEGE_EXPIRE_IS_ROLE) | H(PRIVILEGE_EXPIRE_LOOKS_RELATIVE), 0, roles[i]);
        s = base_rtm(7);
        s.priv = roles[i];
        s.req.at = AT + 200;
        run(&s);
        expect_cause("007 rtm login privilege value is a role", DIAG_CAUSE_PRIVILEGE_EXPIRED,
                     H(PRIVILEGE_EXPIRE_IS_ROLE), 0);
    }
    scen s = base(7);
    s.priv = 3; /* not a role */
    run(&s);
    expect_cause("007 privilege value 3: no role hint", DIAG_CAUSE_PRIVILEGE_EXPIRED, 0, 0);
    s = base(7);
    s.priv = 1;
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause("role hint kept under token_not_expected", DIAG_CAUSE_TOKEN_NOT_EXPECTED,
                 H(PRIVILEGE_EXPIRE_IS_ROLE), 0);

    /* 006 issued at AT - 100 for 24 h (ts = issue + 86400): a privilege expiry <= ts - 86400 was
     * computed before the token was issued. */
    uint32_t issued = AT - 100;
    for (int v = 0; v < 2; v++) {
        s = v ? base_rtm(6) : base(6);
        s.ts = issued + 86400;
        s.priv006 = issued;
        run(&s);
        expect_full(v ? "006 rtm expired_at_issue (= ts - 86400)"
                      : "006 expired_at_issue (= ts - 86400)",
                    DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED, H(EXPIRED_AT_ISSUE), 0, issued);
        s = v ? base_rtm(6) : base(6);
        s.ts = issued + 86400;
        s.priv006 = issued + 1;
        run(&s);
        expect_full(v ? "006 rtm expired one second after issue: no hint"
                      : "006 expired one second after issue: no hint",
                    DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED, 0, 0, issued + 1);
    }
}

/* ---- Warnings ------------------------------------------------------------------------------ */

static void test_warnings(void) {
    scen s = base(7);
    s.expire = 86401;
    s.priv = 0;
    run(&s);
    expect_full("lifetime_over_24h (86401)", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, W(LIFETIME_OVER_24H),
                AT - 100 + 86400);
    s = base(7);
    s.expire = 86400;
    s.priv = 0;
    run(&s);
    expect_full("expire 86400: no warning", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0, AT - 100 + 86400);
    s = base(7);
    s.expire = 0;
    s.priv = 0;
    run(&s);
    expect_full("expire 0 = 24 h", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0, AT - 100 + 86400);
    s = base(7);
    s.expire = AT + 3600;
    s.priv = 0;
    run(&s);
    expect_full("expire_looks_absolute", DIAG_JOINABLE, DIAG_CAUSE_OK, 0,
                W(LIFETIME_OVER_24H) | W(EXPIRE_LOOKS_ABSOLUTE), AT - 100 + 86400);
    s = base(7);
    s.expire = 999999999;
    s.priv = 0;
    run(&s);
    expect_cause("expire 999999999: over 24 h, not absolute", DIAG_CAUSE_OK, 0,
                 W(LIFETIME_OVER_24H));
    s = base(7);
    s.priv = 100000; /* privilege beyond the token: capped at the token's expiry */
    run(&s);
    expect_full("privilege capped at the token expiry", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0,
                AT - 100 + 3600);

    s = base(7);
    s.issue_ts = AT + 301;
    run(&s);
    expect_full("issued_in_future (301 s)", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, W(ISSUED_IN_FUTURE),
                AT + 301 + 3600);
    s = base(7);
    s.issue_ts = AT + 300;
    run(&s);
    expect_cause("issued 300 s ahead: no warning", DIAG_CAUSE_OK, 0, 0);
    s = base(6);
    s.ts = AT + 100000;
    s.priv006 = AT + 3600;
    run(&s);
    expect_cause("006: no 007-only warnings", DIAG_CAUSE_OK, 0, 0);

    /* expires_soon: 30 and 31 s left; at = expiry - 1 and = expiry */
    uint32_t expiry = AT - 100 + 3600;
    struct {
        int64_t at;
        diag_cause cause;
        uint32_t warnings;
    } soon[] = {
        {expiry - 31, DIAG_CAUSE_OK, 0},
        {expiry - 30, DIAG_CAUSE_OK, W(EXPIRES_SOON)},
        {expiry - 1, DIAG_CAUSE_OK, W(EXPIRES_SOON)},
        {expiry, DIAG_CAUSE_TOKEN_EXPIRED, 0},
        {expiry + 1, DIAG_CAUSE_TOKEN_EXPIRED, 0},
    };
    for (int v = 6; v <= 7; v++)
        for (size_t i = 0; i < sizeof soon / sizeof soon[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "v%d expiry boundary at = expiry %+lld", v,
                     (long long)(soon[i].at - expiry));
            s = base(v);
            s.req.at = soon[i].at;
            run(&s);
            expect_full(name, soon[i].cause == DIAG_CAUSE_OK ? DIAG_JOINABLE : DIAG_REJECTED,
                        soon[i].cause, 0, soon[i].warnings, expiry);
        }
    /* privilege boundary */
    for (int v = 6; v <= 7; v++) {
        int64_t pexp = AT - 100 + 600;
        for (int d = -31; d <= 0; d++) {
            if (d != -31 && d != -30 && d != -1 && d != 0)
                continue;
            char name[64];
            snprintf(name, sizeof name, "v%d privilege boundary at = expiry %+d", v, d);
            s = base(v);
            s.priv = 600;
            s.priv006 = (uint32_t)pexp;
            s.req.at = pexp + d;
            run(&s);
            expect_full(name, d == 0 ? DIAG_REJECTED : DIAG_JOINABLE,
                        d == 0 ? DIAG_CAUSE_PRIVILEGE_EXPIRED : DIAG_CAUSE_OK, 0,
                        d >= -30 && d < 0 ? W(EXPIRES_SOON) : 0, pexp);
        }
    }

    /* co-host authentication */
    for (int v = 6; v <= 7; v++) {
        char name[80];
        s = base(v);
        s.proj.cohost_auth = true;
        s.t_publish = false;
        run(&s);
        snprintf(name, sizeof name, "v%d publish_privilege_missing", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, W(PUBLISH_PRIVILEGE_MISSING));
        s = base(v);
        s.proj.cohost_auth = true;
        run(&s);
        snprintf(name, sizeof name, "v%d cohost with publish privileges", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
        s = base(v);
        s.proj.cohost_auth = true;
        s.t_publish = false;
        s.req.role = DIAG_ROLE_SUBSCRIBER;
        run(&s);
        snprintf(name, sizeof name, "v%d subscriber needs no publish privilege", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
        s = base(v);
        s.t_publish = false;
        run(&s);
        snprintf(name, sizeof name, "v%d no cohost_auth: no publish warning", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
    }
    s = base(7);
    s.proj.cohost_auth = true;
    s.t_publish = false;
    s.t_channel = "room-2";
    run(&s);
    expect_cause("007 publish warning needs a matched service", DIAG_CAUSE_CHANNEL_MISMATCH, 0, 0);
    s = base(6);
    s.proj.cohost_auth = true;
    s.t_publish = false;
    s.t_channel = "room-2";
    run(&s);
    expect_cause("006 publish warning from the token", DIAG_CAUSE_CHANNEL_MISMATCH, 0,
                 W(PUBLISH_PRIVILEGE_MISSING));
}

/* ---- uid semantics ------------------------------------------------------------------------- */

static void test_uids(void) {
    /* The token's uid text against the join's numeric uid. */
    static const struct {
        const char *t_uid;
        uint32_t uid;
        const char *what;
        diag_cause cause;
        uint32_t hints;
    } cases[] = {
        {"", 0, "any-uid token, join uid 0", DIAG_CAUSE_OK, 0},
        {"", 4294967295u, "any-uid token (crc_uid 0), join uid 4294967295", DIAG_CAUSE_OK, 0},
        {"4294967295", 4294967295u, "token for uid 4294967295", DIAG_CAUSE_OK, 0},
        {"0", 0, "token for uid text '0' refuses uid 0", DIAG_CAUSE_UID_MISMATCH,
         H(JOIN_UID_ZERO) | H(TOKEN_UID_ZERO_TEXT)},
        {"0", 5, "token for uid text '0' refuses uid 5", DIAG_CAUSE_UID_MISMATCH,
         H(TOKEN_UID_ZERO_TEXT)},
        {"4294967295", 1234, "token for uid 4294967295, join 1234: not out of range",
         DIAG_CAUSE_UID_MISMATCH, 0},
    };
    for (int v = 6; v <= 7; v++) {
        char name[80];
        scen s;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            s = base(v);
            s.t_uid = cases[i].t_uid;
            set_uid(&s, cases[i].uid);
            run(&s);
            snprintf(name, sizeof name, "v%d %s", v, cases[i].what);
            expect_cause(name, cases[i].cause, cases[i].hints, 0);
        }
        s = base(v);
        s.t_uid = "alice";
        s.req.has_uid = false;
        s.req.has_account = true;
        s.req.account = "alice";
        s.req.account_len = 5;
        run(&s);
        snprintf(name, sizeof name, "v%d token for an account", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
    }
}

/* diagnosis.md "Hints", token_uid_out_of_range: the token was built for a uid above 4294967295.
 * 007: a uid text that is a decimal number (no leading zero) above it; 006: the join is by uid
 * and crc_uid = crc32 of the decimal text of uid + k * 2^32 for some k in 1..1023. */
static void test_uid_out_of_range(void) {
    static const struct {
        const char *t_uid;
        bool has_uid;
        uint32_t uid;
        const char *account;
        uint32_t hints;
    } cases007[] = {
        {"4294967296", true, 1234, NULL, H(TOKEN_UID_OUT_OF_RANGE)},
        {"04294967296", true, 1234, NULL, 0}, /* a leading zero: not a uid the SDK printed */
        {"4294967296", true, 0, NULL, H(TOKEN_UID_OUT_OF_RANGE) | H(JOIN_UID_ZERO)},
        {"4294968530", true, 1234, NULL, H(TOKEN_UID_OUT_OF_RANGE)},           /* 1234 + 2^32 */
        {"13800138000", true, 1234, NULL, H(TOKEN_UID_OUT_OF_RANGE)},          /* a phone number */
        {"18446744073709551616", true, 1234, NULL, H(TOKEN_UID_OUT_OF_RANGE)}, /* 2^64 */
        {"4294967296", false, 0, "alice", H(TOKEN_UID_OUT_OF_RANGE)},
        {"4294967296x", true, 1234, NULL, 0},
        {"-4294967296", true, 1234, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases007 / sizeof cases007[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "007 token uid '%s', join %s%s", cases007[i].t_uid,
                 cases007[i].account ? "account " : "uid ",
                 cases007[i].account ? cases007[i].account
                 : cases007[i].uid   ? "1234"
                                     : "0");
        scen s = base(7);
        s.t_uid = cases007[i].t_uid;
        if (cases007[i].account) {
            s.req.has_uid = false;
            s.req.has_account = true;
            s.req.account = cases007[i].account;
            s.req.account_len = strlen(cases007[i].account);
        } else {
            set_uid(&s, cases007[i].uid);
        }
        run(&s);
        expect_cause(name, DIAG_CAUSE_UID_MISMATCH, cases007[i].hints, 0);
    }

    /* 006: the token built for the decimal text of (join uid + k * 2^32) */
    static const struct {
        uint64_t k;
        uint32_t uid;
        uint32_t hints;
    } cases006[] = {
        {1, 1234, H(TOKEN_UID_OUT_OF_RANGE)},
        {1023, 1234, H(TOKEN_UID_OUT_OF_RANGE)},
        {1024, 1234, 0}, /* 2^42 and above: not searched */
        {1023, 0, H(TOKEN_UID_OUT_OF_RANGE) | H(JOIN_UID_ZERO)},
        {1, 4294967295u, H(TOKEN_UID_OUT_OF_RANGE)},
    };
    for (size_t i = 0; i < sizeof cases006 / sizeof cases006[0]; i++) {
        char text[32], name[128];
        snprintf(text, sizeof text, "%llu",
                 (unsigned long long)(cases006[i].uid + cases006[i].k * 4294967296ULL));
        snprintf(name, sizeof name, "006 token uid %s (k = %llu), join uid %u", text,
                 (unsigned long long)cases006[i].k, cases006[i].uid);
        scen s = base(6);
        s.t_uid = text;
        set_uid(&s, cases006[i].uid);
        run(&s);
        expect_cause(name, DIAG_CAUSE_UID_MISMATCH, cases006[i].hints, 0);
    }
    /* 006, a join by account: the uid search does not apply */
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)(1234 + 4294967296ULL));
    scen s = base(6);
    s.t_uid = text;
    s.req.has_uid = false;
    s.req.has_account = true;
    s.req.account = "1234";
    s.req.account_len = 4;
    run(&s);
    expect_cause("006 token uid 1234 + 2^32, join account '1234': no hint", DIAG_CAUSE_UID_MISMATCH,
                 0, 0);
    /* the hint goes with a failing uid check, whatever the cause */
    s = base(6);
    s.t_uid = text;
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause("006 uid out of range under token_not_expected", DIAG_CAUSE_TOKEN_NOT_EXPECTED,
                 H(TOKEN_UID_OUT_OF_RANGE), 0);
    /* the same through diag_mint, as `tokendoctor mint --version 006` builds it */
    for (uint64_t k = 1023; k <= 1024; k++) {
        char uid_text[32], token[TD_TOKEN_TEXT_MAX + 1];
        snprintf(uid_text, sizeof uid_text, "%llu", (unsigned long long)(1234 + k * 4294967296ULL));
        diag_mint_input in = {.v006 = true,
                              .service = DIAG_SERVICE_RTC,
                              .app_id = APP,
                              .channel = "room-1",
                              .channel_len = 6,
                              .uid = uid_text,
                              .uid_len = strlen(uid_text),
                              .issue_ts = AT - 100,
                              .expire = 3600,
                              .privilege_expire = 3600,
                              .has_salt = true,
                              .salt = 1};
        td_token *spec = malloc(sizeof *spec);
        size_t n = spec ? diag_mint(ctx, &in, CERT_P, spec, token, sizeof token) : 0;
        free(spec);
        if (!CHECK(n > 0, "diag_mint 006 for uid %s", uid_text))
            continue;
        s = base(6);
        snprintf(s.text, sizeof s.text, "%s", token);
        run(&s);
        expect_cause(k == 1023 ? "minted 006, uid 1234 + 1023 * 2^32: out of range"
                               : "minted 006, uid 1234 + 1024 * 2^32: no hint",
                     DIAG_CAUSE_UID_MISMATCH, k == 1023 ? H(TOKEN_UID_OUT_OF_RANGE) : 0, 0);
    }
}

/* ---- rtm for both versions ------------------------------------------------------------------ */

static void test_rtm(void) {
    for (int v = 6; v <= 7; v++) {
        char name[80];
        scen s = base_rtm(v);
        run(&s);
        snprintf(name, sizeof name, "v%d rtm login ok", v);
        expect_full(name, DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0, AT - 100 + 3600);
        s = base_rtm(v);
        s.req.account = "bob";
        s.req.account_len = 3;
        run(&s);
        snprintf(name, sizeof name, "v%d rtm user id mismatch", v);
        expect_cause(name, DIAG_CAUSE_UID_MISMATCH, 0, 0);
        s = base_rtm(v);
        s.t_services = SVC_RTC;
        s.t_channel = "room-1";
        run(&s);
        snprintf(name, sizeof name, "v%d rtc token for rtm login", v);
        /* 006 rtm: no service check; the channel field is compared with the user id */
        expect_cause(name, v == 7 ? DIAG_CAUSE_SERVICE_MISSING : DIAG_CAUSE_UID_MISMATCH,
                     H(BUILT_FOR_RTC), 0);
        /* an expired login is reported as expired first, whatever else is wrong (rtm order) */
        s = base_rtm(v);
        s.req.account = "bob";
        s.req.account_len = 3;
        s.req.at = AT + 4000;
        run(&s);
        snprintf(name, sizeof name, "v%d rtm token_expired > uid_mismatch", v);
        expect_cause(name, DIAG_CAUSE_TOKEN_EXPIRED, 0, 0);
        s = base_rtm(v);
        s.signer = CERT_X;
        s.req.at = AT + 4000;
        run(&s);
        snprintf(name, sizeof name, "v%d rtm token_expired > signature_invalid", v);
        expect_cause(name, DIAG_CAUSE_TOKEN_EXPIRED, 0, 0);
        s = base_rtm(v);
        if (v == 7)
            s.priv = 600;
        else
            s.priv006 = AT - 100 + 600;
        s.req.account = "bob";
        s.req.account_len = 3;
        s.req.at = AT + 1000;
        run(&s);
        /* The privilege that counts (diagnosis.md "Expiry"): 006, 1000 when present, so an
         * expired one is reported before the user id; 007, the login privilege of the service
         * that matched the service and user id checks ("checks 6-8" of the first numbering, as
         * the public cases pin for rtc uids): after a user id mismatch none counts, and the
         * token's own expiry is what is left to judge. */
        snprintf(name, sizeof name, "v%d rtm expired privilege and another user id", v);
        if (v == 6)
            expect_full(name, DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED, 0, 0, AT - 100 + 600);
        else
            expect_full(name, DIAG_REJECTED, DIAG_CAUSE_UID_MISMATCH, 0, 0, AT - 100 + 3600);
        s = base_rtm(v);
        s.t_user = "4321";
        if (v == 6)
            s.t_channel = "4321";
        s.req.has_account = false;
        set_uid(&s, 4321);
        run(&s);
        snprintf(name, sizeof name, "v%d rtm user id = the uid's decimal text", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
        s = base_rtm(v);
        s.signer = CERT_X;
        run(&s);
        snprintf(name, sizeof name, "v%d rtm signature_invalid", v);
        expect_cause(name, DIAG_CAUSE_SIGNATURE_INVALID, 0, 0);
        s = base_rtm(v);
        s.req.at = AT + 4000;
        run(&s);
        snprintf(name, sizeof name, "v%d rtm token_expired", v);
        expect_cause(name, DIAG_CAUSE_TOKEN_EXPIRED, 0, 0);
        s = base_rtm(v);
        set_channel(&s, "anything");
        s.req.has_channel = true;
        run(&s);
        snprintf(name, sizeof name, "v%d rtm ignores the channel", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
    }
    /* 006: privilege 1000 is not required when the channel field is the user id (an RTC token for
     * a channel named like the user): it logs in, with a warning; its expiry is the token's. */
    scen s = base_rtm(6);
    s.t_services = SVC_RTC;
    run(&s);
    expect_full("006 rtc token for a channel named like the user logs in", DIAG_JOINABLE,
                DIAG_CAUSE_OK, 0, W(RTM_LOGIN_PRIVILEGE_MISSING), s.ts);
    s = base_rtm(6);
    s.t_services = SVC_RTC;
    s.priv006 = AT - 10; /* privilege 1 expired: it does not count for an rtm login */
    run(&s);
    expect_full("006 rtm: privilege 1 does not count for expiry", DIAG_JOINABLE, DIAG_CAUSE_OK, 0,
                W(RTM_LOGIN_PRIVILEGE_MISSING), s.ts);
    s = base_rtm(6);
    s.t_services = SVC_RTC;
    s.signer = CERT_X;
    run(&s);
    expect_cause("006 rtm without 1000 that fails otherwise: no warning",
                 DIAG_CAUSE_SIGNATURE_INVALID, 0, 0);
    s = base_rtm(6);
    s.t_uid = "alice"; /* the RTM builder signs an empty uid */
    run(&s);
    expect_cause("006 rtm token with crc_uid != 0", DIAG_CAUSE_UID_MISMATCH, 0, 0);
    s = base_rtm(7);
    s.t_services = SVC_RTC | SVC_RTM;
    run(&s);
    expect_cause("007 rtc + rtm token logs in", DIAG_CAUSE_OK, 0, 0);

    s = base_rtm(7);
    s.t_services = SVC_RTM2;
    run(&s);
    expect_cause("007 rtm2 service counts for rtm", DIAG_CAUSE_OK, 0, 0);
    s = base_rtm(7);
    s.t_services = SVC_CHAT;
    run(&s);
    expect_cause("007 chat service is not rtm", DIAG_CAUSE_SERVICE_MISSING, 0, 0);
    s = base_rtm(7);
    s.priv = 10;
    run(&s);
    expect_full("007 rtm login privilege expired", DIAG_REJECTED, DIAG_CAUSE_PRIVILEGE_EXPIRED, 0,
                0, AT - 100 + 10);
    s = base(7);
    s.t_services = SVC_RTC | SVC_RTM;
    s.t_user = "1234";
    run(&s);
    expect_cause("007 token with rtc and rtm joins rtc", DIAG_CAUSE_OK, 0, 0);
}

/* ---- 007 service selection: several rtc services ------------------------------------------ */

static void test_multi_service(void) {
    /* Build by hand: two rtc services, the second matches. */
    static td_token spec;
    memset(&spec, 0, sizeof spec);
    spec.app_id = str_of(APP);
    spec.issue_ts = AT - 100;
    spec.expire = 3600;
    spec.salt = 7;
    spec.service_count = 2;
    td_service *a = &spec.services[0], *b = &spec.services[1];
    a->type = b->type = TD_SVC_RTC;
    a->known = b->known = true;
    a->a = str_of("room-9");
    a->b = str_of("1234");
    add_privs(&spec, a, 100, true, 100);
    b->a = str_of("room-1");
    b->b = str_of("");
    add_privs(&spec, b, 900, true, 900);
    scen s = base(7);
    if (!td_build007(ctx, &spec, CERT_P, 32, s.text, sizeof s.text))
        exit(2);
    run(&s);
    expect_full("007 the matching service's privilege counts", DIAG_JOINABLE, DIAG_CAUSE_OK, 0, 0,
                AT - 100 + 900);
}

/* ---- Channel names (check 2) ----------------------------------------------------------------- */

/* diagnosis.md check 2: rtc only, 64 bytes or more or a character outside the set is refused by
 * the SDK before it contacts the platform: a rejection, code 102 natively, no number on the web
 * (INVALID_PARAMS), whatever the project. */
static void test_channel_names(void) {
    char ch63[64], ch64[65];
    memset(ch63, 'a', 63);
    ch63[63] = '\0';
    memset(ch64, 'a', 64);
    ch64[64] = '\0';
    for (int v = 6; v <= 7; v++) {
        char name[96];
        scen s = base(v);
        s.t_channel = ch63;
        set_channel(&s, ch63);
        run(&s);
        snprintf(name, sizeof name, "v%d channel of 63 bytes is valid", v);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
        s = base(v);
        s.t_channel = ch64;
        set_channel(&s, ch64);
        run(&s);
        snprintf(name, sizeof name, "v%d channel of 64 bytes", v);
        expect_full(name, DIAG_REJECTED, DIAG_CAUSE_CHANNEL_NAME_INVALID, 0, 0, AT - 100 + 3600);
        expect_code(name, 102, "ERR_INVALID_CHANNEL_NAME");
        expect_true(name, res->checks[DIAG_CAUSE_CHANNEL_NAME_INVALID].status == DIAG_FAIL);
        char shown[64]; /* a detail shows 48 bytes of a client value, then "..." */
        snprintf(shown, sizeof shown, "'%.48s...'", ch64);
        const diag_check *ch = check_of("channel");
        snprintf(name, sizeof name, "v%d long channel cut in its detail", v);
        expect_true(name, ch && strstr(ch->detail, shown) != NULL);
    }
    const char *allowed = "az AZ 09!#$%&()+-:;<=.>?@[]^_{}|~,";
    for (int v = 6; v <= 7; v++) {
        scen s = base(v);
        s.t_channel = allowed;
        set_channel(&s, allowed);
        run(&s);
        expect_cause("every allowed channel character", DIAG_CAUSE_OK, 0, 0);
        expect_true("channel name check passes",
                    res->checks[DIAG_CAUSE_CHANNEL_NAME_INVALID].status == DIAG_PASS);
    }
    const char *bad[] = {"room/1",         "room\"1", "room'1",
                         "room*1",         "room`1",  "room\\1",
                         "r\xc3\xa9union", "room\t1", "\xe4\xbc\x9a\xe8\xae\xae"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scen s = base(7);
        s.t_channel = bad[i];
        set_channel(&s, bad[i]);
        run(&s);
        expect_cause("channel with a character outside the set", DIAG_CAUSE_CHANNEL_NAME_INVALID, 0,
                     0);
    }

    /* the code per platform: 102 natively, a named error without a number on the web */
    scen s = base(7);
    set_channel(&s, "room*1");
    s.t_channel = "room*1";
    s.req.client = DIAG_CLIENT_IOS;
    run(&s);
    expect_code("objc channel_name_invalid", 102, "AgoraErrorCodeInvalidChannelId");
    s.req.client = DIAG_CLIENT_WEB;
    run(&s);
    expect_code("web channel_name_invalid", 0, "INVALID_PARAMS");
    json_t *j = diag_result_to_json(res);
    json_t *err = json_object_get(j, "error");
    expect_true("web channel_name_invalid JSON: error with code null, name INVALID_PARAMS",
                json_is_object(err) && json_is_null(json_object_get(err, "code")) &&
                    json_is_string(json_object_get(err, "name")) &&
                    strcmp(json_string_value(json_object_get(err, "name")), "INVALID_PARAMS") == 0);
    json_decref(j);
    j = diag_result_to_summary_json(res);
    expect_true(
        "web channel_name_invalid summary: code null",
        j && json_is_null(json_object_get(j, "code")) &&
            strcmp(json_string_value(json_object_get(j, "cause")), "channel_name_invalid") == 0);
    json_decref(j);

    /* precedence, and not project-bound */
    s = base(7);
    set_channel(&s, "room*1");
    s.req.app_id = "nope";
    s.req.app_id_len = 4;
    run(&s);
    expect_cause("app_id_malformed > channel_name_invalid", DIAG_CAUSE_APP_ID_MALFORMED, 0,
                 W(PROJECT_UNKNOWN));
    s = base(7);
    set_channel(&s, "room*1");
    s.no_token = true;
    run(&s);
    expect_full("channel_name_invalid > token_required", DIAG_REJECTED,
                DIAG_CAUSE_CHANNEL_NAME_INVALID, 0, 0, NO_EXPIRY);
    s = base(7);
    set_channel(&s, "room*1");
    s.known = false;
    run(&s);
    expect_full("channel_name_invalid with an unknown project is a rejection", DIAG_REJECTED,
                DIAG_CAUSE_CHANNEL_NAME_INVALID, 0, W(PROJECT_UNKNOWN), AT - 100 + 3600);
    s = base(7);
    set_channel(&s, "room*1"); /* the token is for room-1: that check fails too */
    run(&s);
    expect_cause("channel_name_invalid > channel_mismatch", DIAG_CAUSE_CHANNEL_NAME_INVALID, 0, 0);
    expect_true("the channel is still compared",
                res->checks[DIAG_CAUSE_CHANNEL_MISMATCH].status == DIAG_FAIL);

    /* rtm logins have no channel */
    for (int v = 6; v <= 7; v++) {
        s = base_rtm(v);
        s.req.has_channel = true;
        set_channel(&s, ch64);
        run(&s);
        expect_cause("rtm login: the channel is not checked", DIAG_CAUSE_OK, 0, 0);
    }
}

/* ---- An App ID passed as token ------------------------------------------------------------- */

/* diagnosis.md "App ID as token": a token equal to the join's App ID (ignoring case) is a join
 * without a token, with hint app_id_as_token; any other 32 hex characters stay token_malformed. */
static void test_app_id_as_token(void) {
    const char *as_given[] = {APP, "0123456789ABCDEF0123456789ABCDEF"};
    for (size_t i = 0; i < 2; i++) {
        scen s = base(7);
        snprintf(s.text, sizeof s.text, "%s", as_given[i]);
        run(&s);
        expect_full("App ID as token: token_required", DIAG_REJECTED, DIAG_CAUSE_TOKEN_REQUIRED,
                    H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
        expect_code("App ID as token: token_required", 110, "ERR_INVALID_TOKEN");
        expect_true("App ID as token: no repair, nothing decoded",
                    !res->has_repaired && !res->token_decoded);
        s.req.client = DIAG_CLIENT_WEB;
        run(&s);
        expect_code("App ID as token on the web: a static key", 120, "ERR_DYNAMIC_USE_STATIC_KEY");
    }
    scen s = base(7);
    snprintf(s.text, sizeof s.text, "%s", APP);
    s.proj.no_certificate = true;
    run(&s);
    expect_full("App ID as token, No certificate on", DIAG_JOINABLE, DIAG_CAUSE_OK_APP_ID_ONLY,
                H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
    s.proj.no_certificate = false;
    s.proj.primary.enabled = false;
    run(&s);
    expect_full("App ID as token, certificate disabled: not token_not_expected", DIAG_JOINABLE,
                DIAG_CAUSE_OK_APP_ID_ONLY, H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
    s.proj.primary.present = false;
    run(&s);
    expect_full("App ID as token, no certificate", DIAG_JOINABLE, DIAG_CAUSE_OK_APP_ID_ONLY,
                H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
    s = base(6);
    snprintf(s.text, sizeof s.text, "%s", APP);
    s.known = false;
    run(&s);
    expect_full("App ID as token, unknown project", DIAG_UNVERIFIABLE, DIAG_CAUSE_PROJECT_UNKNOWN,
                H(APP_ID_AS_TOKEN), W(PROJECT_UNKNOWN), NO_EXPIRY);
    s = base_rtm(7);
    snprintf(s.text, sizeof s.text, "%s", APP);
    run(&s);
    expect_full("App ID as token, rtm login", DIAG_REJECTED, DIAG_CAUSE_TOKEN_REQUIRED,
                H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
    expect_code("App ID as token, rtm login", 5, "LOGIN_ERR_INVALID_TOKEN");
    /* another 32 hex token is a token: with the certificate disabled, token_not_expected */
    s = base(7);
    snprintf(s.text, sizeof s.text, "%s", CERT_X);
    s.proj.primary.enabled = false;
    run(&s);
    expect_full("another 32 hex token, certificate disabled", DIAG_REJECTED,
                DIAG_CAUSE_TOKEN_NOT_EXPECTED, H(APP_ID_AS_TOKEN), 0, NO_EXPIRY);
}

/* ---- Documentation samples ------------------------------------------------------------------- */

#define SAMPLE_APP "970CA35de60c44645bbae8a215061b33"
#define SAMPLE_CERT "5CFd2fd1755d40ecb72977518be15d3b"

static void test_samples(void) {
    scen s = base(7);
    s.t_app = SAMPLE_APP;
    run(&s);
    expect_cause("token for the samples' App ID", DIAG_CAUSE_APP_ID_MISMATCH, H(SAMPLE_APP_ID), 0);
    s = base(7);
    s.t_app = SAMPLE_APP;
    s.req.app_id = SAMPLE_APP;
    s.known = false;
    run(&s);
    expect_full("joining with the samples' App ID", DIAG_UNVERIFIABLE, DIAG_CAUSE_PROJECT_UNKNOWN,
                H(SAMPLE_APP_ID), W(PROJECT_UNKNOWN), AT - 100 + 3600);
    for (int v = 6; v <= 7; v++) {
        s = base(v);
        s.signer = SAMPLE_CERT;
        run(&s);
        expect_cause("signed with the samples' certificate", DIAG_CAUSE_SIGNATURE_INVALID,
                     H(SIGNED_WITH_SAMPLE_CERTIFICATE), 0);
    }
}

/* ---- The client's SDK --------------------------------------------------------------------------
 */

/* diagnosis.md "The client's SDK": which version strings are a version. */
static void test_sdk_version_forms(void) {
    static const struct {
        const char *text;
        uint32_t major, minor, patch;
    } ok[] = {
        {"4.8", 4, 8, 0},
        {"v2.2.0", 2, 2, 0},
        {"1.5.0", 1, 5, 0},
        {"4.22", 4, 22, 0},
        {"9999.9999.9999", 9999, 9999, 9999},
        {"0.0", 0, 0, 0},
        {"v4.8", 4, 8, 0},
        {"3.5.2", 3, 5, 2},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        diag_sdk_version v;
        memset(&v, 0, sizeof v);
        char name[96];
        snprintf(name, sizeof name, "sdk_version '%s' accepted", ok[i].text);
        expect_true(name, diag_sdk_version_parse(ok[i].text, strlen(ok[i].text), &v) &&
                              v.major == ok[i].major && v.minor == ok[i].minor &&
                              v.patch == ok[i].patch && strcmp(v.text, ok[i].text) == 0);
    }
    const char *refused[] = {"2",      "2.x",  "latest",  "1.5.0-beta", "2.2.0.1", " 2.2.0",
                             "2.2.0 ", "1..2", "99999.1", "1.99999",    "",        "v",
                             "4.8.",   ".4.8", "vv4.8",   "4,8",        "4.8.0\n", "x4.8"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        diag_sdk_version v;
        memset(&v, 0x5a, sizeof v);
        diag_sdk_version before = v;
        char name[96];
        snprintf(name, sizeof name, "sdk_version '%s' refused, out untouched", refused[i]);
        expect_true(name, !diag_sdk_version_parse(refused[i], strlen(refused[i]), &v) &&
                              memcmp(&v, &before, sizeof v) == 0);
    }
    /* the bytes given are the version: a NUL inside is not its end */
    diag_sdk_version v;
    expect_true("sdk_version with a NUL refused", !diag_sdk_version_parse("4.8\0.1", 6, &v));
}

/* One client and SDK version for a 007 token, and whether that SDK reads it. */
typedef struct {
    diag_client client;
    const char *version;
    bool too_old;
} sdk_case;

/* The code a too old SDK reports, by the client's code table. */
static void expect_version_code(const char *name, diag_service service, diag_client c) {
    diag_platform p = diag_client_platform(c);
    if (service == DIAG_SERVICE_RTM)
        expect_code(name, 5,
                    p == DIAG_PLATFORM_OBJC ? "AgoraRtmLoginErrorInvalidToken"
                                            : "LOGIN_ERR_INVALID_TOKEN");
    else
        expect_code(name, 101,
                    p == DIAG_PLATFORM_WEB    ? "ERR_INVALID_VENDOR_KEY"
                    : p == DIAG_PLATFORM_OBJC ? "AgoraErrorCodeInvalidAppId"
                                              : "ERR_INVALID_APP_ID");
}

static void run_sdk_cases(diag_service service, const sdk_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s 007 token, %s SDK %s: %s",
                 service == DIAG_SERVICE_RTM ? "rtm" : "rtc", diag_client_name(cases[i].client),
                 cases[i].version, cases[i].too_old ? "token_version_unsupported" : "reads it");
        scen s = service == DIAG_SERVICE_RTM ? base_rtm(7) : base(7);
        s.req.client = cases[i].client;
        set_sdk(&s, cases[i].version);
        run(&s);
        expect_full(name, cases[i].too_old ? DIAG_REJECTED : DIAG_JOINABLE,
                    cases[i].too_old ? DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED : DIAG_CAUSE_OK, 0, 0,
                    AT - 100 + 3600);
        expect_true(name, (res->checks[DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED].status == DIAG_FAIL) ==
                              cases[i].too_old);
        expect_true(name, res->has_sdk_version && strcmp(res->sdk_version, cases[i].version) == 0);
        if (cases[i].too_old)
            expect_version_code(name, service, cases[i].client);
        /* every SDK that reads 007 still reads 006; no SDK is too old for a 006 token */
        s = service == DIAG_SERVICE_RTM ? base_rtm(6) : base(6);
        s.req.client = cases[i].client;
        set_sdk(&s, cases[i].version);
        run(&s);
        snprintf(name, sizeof name, "%s 006 token, %s SDK %s: reads it",
                 service == DIAG_SERVICE_RTM ? "rtm" : "rtc", diag_client_name(cases[i].client),
                 cases[i].version);
        expect_cause(name, DIAG_CAUSE_OK, 0, 0);
    }
}

static void test_client_sdk(void) {
    /* rtc: Web 4.8.0, Flutter 4.2.0, 3.5.2 on the native SDKs, none known for Cocos; the
     * platform as the request names it */
    static const sdk_case rtc[] = {
        {DIAG_CLIENT_WEB, "4.7.3", true},
        {DIAG_CLIENT_WEB, "4.7", true},
        {DIAG_CLIENT_WEB, "4.7.9999", true},
        {DIAG_CLIENT_WEB, "v4.7.9", true},
        {DIAG_CLIENT_WEB, "3.6.11", true},
        {DIAG_CLIENT_WEB, "4.8.0", false},
        {DIAG_CLIENT_WEB, "4.8", false},
        {DIAG_CLIENT_WEB, "v4.8.0", false},
        {DIAG_CLIENT_WEB, "4.10", false}, /* 4.10 is after 4.8: numbers, not decimals */
        {DIAG_CLIENT_WEB, "4.22", false},
        {DIAG_CLIENT_NATIVE, "3.5.1", true},
        {DIAG_CLIENT_NATIVE, "3.5", true},
        {DIAG_CLIENT_NATIVE, "2.9.1", true},
        {DIAG_CLIENT_NATIVE, "3.5.2", false},
        {DIAG_CLIENT_NATIVE, "3.6", false},
        {DIAG_CLIENT_NATIVE, "3.10.0", false},
        {DIAG_CLIENT_OBJC, "3.5.1", true},
        {DIAG_CLIENT_OBJC, "3.5.2", false},
        {DIAG_CLIENT_ANDROID, "3.5.1", true},
        {DIAG_CLIENT_ANDROID, "3.5.2", false},
        {DIAG_CLIENT_IOS, "3.5.1", true},
        {DIAG_CLIENT_IOS, "3.5.2", false},
        {DIAG_CLIENT_MACOS, "3.5.1", true},
        {DIAG_CLIENT_MACOS, "3.5.2", false},
        {DIAG_CLIENT_WINDOWS, "3.5.1", true},
        {DIAG_CLIENT_WINDOWS, "3.5.2", false},
        {DIAG_CLIENT_LINUX, "3.5.1", true},
        {DIAG_CLIENT_LINUX, "3.5.2", false},
        {DIAG_CLIENT_ELECTRON, "3.5.1", true},
        {DIAG_CLIENT_ELECTRON, "3.5.2", false},
        {DIAG_CLIENT_UNITY, "3.5.1", true},
        {DIAG_CLIENT_UNITY, "3.5.2", false},
        {DIAG_CLIENT_REACT_NATIVE, "3.5.1", true},
        {DIAG_CLIENT_REACT_NATIVE, "3.5.2", false},
        /* Flutter's own numbering, although it reports the native codes */
        {DIAG_CLIENT_FLUTTER, "4.1.9", true},
        {DIAG_CLIENT_FLUTTER, "4.1", true},
        {DIAG_CLIENT_FLUTTER, "3.6.0", true},
        {DIAG_CLIENT_FLUTTER, "4.2.0", false},
        {DIAG_CLIENT_FLUTTER, "4.2", false},
        {DIAG_CLIENT_FLUTTER, "6.3.2", false},
        /* Cocos: no release named, so never judged too old */
        {DIAG_CLIENT_COCOS, "0.1", false},
        {DIAG_CLIENT_COCOS, "1.0.0", false},
        {DIAG_CLIENT_COCOS, "3.5.1", false},
        {DIAG_CLIENT_COCOS, "4.7.0", false},
    };
    run_sdk_cases(DIAG_SERVICE_RTC, rtc, sizeof rtc / sizeof rtc[0]);
    /* rtm: 1.5.0, the Web SDK 1.4.6; a 2.x SDK reads 007 */
    static const sdk_case rtm[] = {
        {DIAG_CLIENT_NATIVE, "1.4.9", true},  {DIAG_CLIENT_NATIVE, "1.4.10", true},
        {DIAG_CLIENT_NATIVE, "1.4", true},    {DIAG_CLIENT_NATIVE, "1.5.0", false},
        {DIAG_CLIENT_NATIVE, "1.5", false},   {DIAG_CLIENT_NATIVE, "2.0", false},
        {DIAG_CLIENT_ANDROID, "1.4.9", true}, {DIAG_CLIENT_ANDROID, "1.5.0", false},
        {DIAG_CLIENT_IOS, "1.4.9", true},     {DIAG_CLIENT_IOS, "1.5.0", false},
        {DIAG_CLIENT_OBJC, "1.4.9", true},    {DIAG_CLIENT_OBJC, "1.5.0", false},
        {DIAG_CLIENT_WEB, "1.4.5", true},     {DIAG_CLIENT_WEB, "1.3.2", true},
        {DIAG_CLIENT_WEB, "1.4.6", false},    {DIAG_CLIENT_WEB, "1.4.10", false},
        {DIAG_CLIENT_WEB, "v1.5.1", false},   {DIAG_CLIENT_WEB, "2.2.0", false},
        {DIAG_CLIENT_FLUTTER, "1.4.9", true}, {DIAG_CLIENT_FLUTTER, "1.5.0", false},
    };
    run_sdk_cases(DIAG_SERVICE_RTM, rtm, sizeof rtm / sizeof rtm[0]);

    /* not project-bound; its place in the precedence */
    scen s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    s.known = false;
    run(&s);
    expect_full("token_version_unsupported with an unknown project is a rejection", DIAG_REJECTED,
                DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, 0, W(PROJECT_UNKNOWN), AT - 100 + 3600);
    s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    s.proj.primary.enabled = false;
    run(&s);
    expect_cause("token_not_expected > token_version_unsupported", DIAG_CAUSE_TOKEN_NOT_EXPECTED, 0,
                 0);
    s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    build(&s);
    s.text[strlen(s.text) - 5] = '\0';
    run(&s);
    expect_cause("token_malformed > token_version_unsupported", DIAG_CAUSE_TOKEN_MALFORMED,
                 H(TRUNCATED), 0);
    s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    s.t_app = "0123456789abcdef0123456789abcdee";
    run(&s);
    expect_cause("token_version_unsupported > app_id_mismatch",
                 DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, 0, 0);
    s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    set_channel(&s, "room*1");
    run(&s);
    expect_cause("channel_name_invalid > token_version_unsupported",
                 DIAG_CAUSE_CHANNEL_NAME_INVALID, 0, 0);
    s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    s.no_token = true;
    run(&s);
    expect_cause("no token: token_required, not token_version_unsupported",
                 DIAG_CAUSE_TOKEN_REQUIRED, 0, 0);
    s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    set_sdk(&s, "4.7.3");
    s.req.at = AT + 7200;
    run(&s);
    expect_cause("token_version_unsupported > token_expired", DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED,
                 0, 0);
    s = base_rtm(7);
    set_sdk(&s, "1.4.9");
    s.req.at = AT + 7200; /* rtm checks expiry early, but after 5a */
    run(&s);
    expect_cause("rtm: token_version_unsupported > token_expired",
                 DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, 0, 0);

    /* the echo: as given, null without one */
    s = base(7);
    set_sdk(&s, "v4.8");
    run(&s);
    json_t *j = diag_result_to_json(res);
    expect_true("sdk_version echoed as given",
                json_is_string(json_object_get(j, "sdk_version")) &&
                    strcmp(json_string_value(json_object_get(j, "sdk_version")), "v4.8") == 0);
    json_decref(j);
    j = diag_result_to_summary_json(res);
    expect_true("sdk_version echoed in the summary",
                json_is_string(json_object_get(j, "sdk_version")) &&
                    strcmp(json_string_value(json_object_get(j, "sdk_version")), "v4.8") == 0);
    json_decref(j);
    s = base(7);
    run(&s);
    j = diag_result_to_json(res);
    expect_true("no sdk_version: null echoed", json_is_null(json_object_get(j, "sdk_version")));
    json_decref(j);
    j = diag_result_to_summary_json(res);
    expect_true("no sdk_version: null in the summary",
                j && json_object_get(j, "sdk_version") &&
                    json_is_null(json_object_get(j, "sdk_version")));
    json_decref(j);
}

/* ---- RTM codes: 1.x logins (4, 5, 6) and the 2.x SDKs' own codes ---------------------------- */

typedef struct {
    const char *what;
    diag_cause cause;
    int code;
    const char *name; /* native */
} rtm_code_case;

/* s: an rtm login; each case's change applied by index (see test_rtm_codes). */
static void rtm_case(scen *s, int which) {
    switch (which) {
    case 0: /* app_id_malformed */
        s->req.app_id = "nope";
        s->req.app_id_len = 4;
        break;
    case 1: /* app_id_mismatch */
        s->t_app = "0123456789abcdef0123456789abcdee";
        break;
    case 2: /* token_expired */
        s->req.at = AT + 4000;
        break;
    case 3: /* privilege_expired */
        s->priv = 10;
        s->priv006 = AT - 90;
        break;
    case 4: /* uid_mismatch */
        s->req.account = "bob";
        s->req.account_len = 3;
        break;
    case 5: /* token_required */
        s->no_token = true;
        break;
    case 6: /* token_not_expected */
        s->proj.primary.enabled = false;
        break;
    case 7: /* token_malformed */
        snprintf(s->text, sizeof s->text, "007garbage");
        break;
    case 8: /* signature_invalid */
        s->signer = CERT_X;
        break;
    default: /* service_missing: an rtc token */
        s->t_services = SVC_RTC;
        break;
    }
}

static void test_rtm_codes(void) {
    static const rtm_code_case v1[] = {
        {"app_id_malformed", DIAG_CAUSE_APP_ID_MALFORMED, 4, "LOGIN_ERR_INVALID_APP_ID"},
        {"app_id_mismatch", DIAG_CAUSE_APP_ID_MISMATCH, 5, "LOGIN_ERR_INVALID_TOKEN"},
        {"token_expired", DIAG_CAUSE_TOKEN_EXPIRED, 6, "LOGIN_ERR_TOKEN_EXPIRED"},
        {"privilege_expired", DIAG_CAUSE_PRIVILEGE_EXPIRED, 6, "LOGIN_ERR_TOKEN_EXPIRED"},
        {"uid_mismatch", DIAG_CAUSE_UID_MISMATCH, 5, "LOGIN_ERR_INVALID_TOKEN"},
        {"token_required", DIAG_CAUSE_TOKEN_REQUIRED, 5, "LOGIN_ERR_INVALID_TOKEN"},
        {"token_not_expected", DIAG_CAUSE_TOKEN_NOT_EXPECTED, 5, "LOGIN_ERR_INVALID_TOKEN"},
        {"token_malformed", DIAG_CAUSE_TOKEN_MALFORMED, 5, "LOGIN_ERR_INVALID_TOKEN"},
        {"signature_invalid", DIAG_CAUSE_SIGNATURE_INVALID, 5, "LOGIN_ERR_INVALID_TOKEN"},
        {"service_missing", DIAG_CAUSE_SERVICE_MISSING, 5, "LOGIN_ERR_INVALID_TOKEN"},
    };
    static const rtm_code_case v2[] = {
        {"app_id_malformed", DIAG_CAUSE_APP_ID_MALFORMED, -10003, "RTM_ERROR_INVALID_APP_ID"},
        {"app_id_mismatch", DIAG_CAUSE_APP_ID_MISMATCH, -10016, "RTM_ERROR_INCONSISTENT_APPID"},
        {"token_expired", DIAG_CAUSE_TOKEN_EXPIRED, -10009, "RTM_ERROR_TOKEN_EXPIRED"},
        {"privilege_expired", DIAG_CAUSE_PRIVILEGE_EXPIRED, -10009, "RTM_ERROR_TOKEN_EXPIRED"},
        {"uid_mismatch", DIAG_CAUSE_UID_MISMATCH, -10005, "RTM_ERROR_INVALID_TOKEN"},
        {"token_required", DIAG_CAUSE_TOKEN_REQUIRED, -10005, "RTM_ERROR_INVALID_TOKEN"},
        {"token_not_expected", DIAG_CAUSE_TOKEN_NOT_EXPECTED, -10005, "RTM_ERROR_INVALID_TOKEN"},
        {"token_malformed", DIAG_CAUSE_TOKEN_MALFORMED, -10005, "RTM_ERROR_INVALID_TOKEN"},
        {"signature_invalid", DIAG_CAUSE_SIGNATURE_INVALID, -10005, "RTM_ERROR_INVALID_TOKEN"},
        {"service_missing", DIAG_CAUSE_SERVICE_MISSING, -10005, "RTM_ERROR_INVALID_TOKEN"},
    };
    /* no version (the 1.x codes), 1.x, 2.x and later: the table, and every cause's code */
    static const struct {
        const char *sdk; /* NULL: none */
        diag_table table;
        const rtm_code_case *cases;
    } runs[] = {
        {NULL, DIAG_TABLE_RTM1, v1},    {"1.5.1", DIAG_TABLE_RTM1, v1},
        {"2.2.0", DIAG_TABLE_RTM2, v2}, {"v2.1", DIAG_TABLE_RTM2, v2},
        {"3.0", DIAG_TABLE_RTM2, v2},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++)
        for (int i = 0; i < 10; i++) {
            const rtm_code_case *c = &runs[r].cases[i];
            char name[128];
            snprintf(name, sizeof name, "rtm login, SDK %s: %s is %d %s",
                     runs[r].sdk ? runs[r].sdk : "unknown", c->what, c->code, c->name);
            scen s = base_rtm(7);
            if (runs[r].sdk)
                set_sdk(&s, runs[r].sdk);
            rtm_case(&s, i);
            run(&s);
            expect_true(name, res->cause == c->cause && res->verdict == DIAG_REJECTED &&
                                  res->table == runs[r].table);
            expect_code(name, c->code, c->name);
            /* the same numbers on every platform */
            for (int p = 1; p <= 2; p++) {
                s.req.client = p == 1 ? DIAG_CLIENT_IOS : DIAG_CLIENT_WEB;
                run(&s);
                const diag_code *got = diag_result_code(res);
                expect_true(name, got && got->code == c->code);
            }
        }
    /* names on the other platforms (diagnosis.md "Error codes by platform") */
    scen s = base_rtm(7);
    s.req.client = DIAG_CLIENT_IOS;
    rtm_case(&s, 0);
    run(&s);
    expect_code("rtm objc app_id_malformed", 4, "AgoraRtmLoginErrorInvalidAppId");
    s = base_rtm(7);
    s.req.client = DIAG_CLIENT_MACOS;
    rtm_case(&s, 8);
    run(&s);
    expect_code("rtm objc signature_invalid", 5, "AgoraRtmLoginErrorInvalidToken");
    s = base_rtm(7);
    s.req.client = DIAG_CLIENT_OBJC;
    rtm_case(&s, 2);
    run(&s);
    expect_code("rtm objc token_expired", 6, "AgoraRtmLoginErrorTokenExpired");
    /* web: a login without the rtm service is also reported as 2 LOGIN_ERR_REJECTED */
    s = base_rtm(7);
    s.req.client = DIAG_CLIENT_WEB;
    rtm_case(&s, 9);
    run(&s);
    json_t *j = diag_result_to_json(res);
    json_t *also = json_object_get(json_object_get(j, "error"), "also");
    bool has2 = false;
    for (size_t i = 0; i < json_array_size(also); i++)
        has2 = has2 || (json_integer_value(json_object_get(json_array_get(also, i), "code")) == 2 &&
                        json_is_string(json_object_get(json_array_get(also, i), "name")) &&
                        strcmp(json_string_value(json_object_get(json_array_get(also, i), "name")),
                               "LOGIN_ERR_REJECTED") == 0);
    expect_true("rtm web service_missing: also 2 LOGIN_ERR_REJECTED", has2);
    json_decref(j);
    /* an rtc join with an SDK version keeps the rtc codes */
    s = base(7);
    set_sdk(&s, "4.0");
    set_uid(&s, 99);
    run(&s);
    expect_true("rtc with an SDK version: the rtc table", res->table == DIAG_TABLE_RTC);
    expect_code("rtc with an SDK version: uid_mismatch 110", 110, "ERR_INVALID_TOKEN");
}

/* ---- Codes per platform and aliases -----------------------------------------------------------
 */

static void test_platforms(void) {
    /* diagnosis.md "Inputs": the names, and the code table each reports with */
    static const struct {
        const char *name;
        diag_client c;
        diag_platform p;
    } aliases[] = {
        {"native", DIAG_CLIENT_NATIVE, DIAG_PLATFORM_NATIVE},
        {"objc", DIAG_CLIENT_OBJC, DIAG_PLATFORM_OBJC},
        {"web", DIAG_CLIENT_WEB, DIAG_PLATFORM_WEB},
        {"android", DIAG_CLIENT_ANDROID, DIAG_PLATFORM_NATIVE},
        {"windows", DIAG_CLIENT_WINDOWS, DIAG_PLATFORM_NATIVE},
        {"linux", DIAG_CLIENT_LINUX, DIAG_PLATFORM_NATIVE},
        {"unity", DIAG_CLIENT_UNITY, DIAG_PLATFORM_NATIVE},
        {"electron", DIAG_CLIENT_ELECTRON, DIAG_PLATFORM_NATIVE},
        {"flutter", DIAG_CLIENT_FLUTTER, DIAG_PLATFORM_NATIVE},
        {"react-native", DIAG_CLIENT_REACT_NATIVE, DIAG_PLATFORM_NATIVE},
        {"cocos", DIAG_CLIENT_COCOS, DIAG_PLATFORM_NATIVE},
        {"ios", DIAG_CLIENT_IOS, DIAG_PLATFORM_OBJC},
        {"macos", DIAG_CLIENT_MACOS, DIAG_PLATFORM_OBJC},
    };
    _Static_assert(sizeof aliases / sizeof aliases[0] == DIAG_CLIENT_COUNT, "every client");
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        diag_client c = (diag_client)99;
        char name[96];
        snprintf(name, sizeof name, "platform %s", aliases[i].name);
        expect_true(name, diag_client_parse(aliases[i].name, &c) && c == aliases[i].c &&
                              diag_client_platform(c) == aliases[i].p &&
                              strcmp(diag_client_name(c), aliases[i].name) == 0 &&
                              strstr(diag_client_names(), aliases[i].name) != NULL);
        /* through the JSON request too */
        json_t *o = json_pack("{s:s, s:s, s:s}", "app_id", APP, "channel", "c", "platform",
                              aliases[i].name);
        diag_request req;
        char err[128];
        snprintf(name, sizeof name, "platform %s in a JSON request", aliases[i].name);
        expect_true(name, diag_request_from_json(o, AT, &req, err, sizeof err) &&
                              req.client == aliases[i].c);
        json_decref(o);
    }
    diag_client c;
    expect_true("platform names are case-insensitive",
                diag_client_parse("Android", &c) && c == DIAG_CLIENT_ANDROID);
    expect_true("unknown platform refused", !diag_client_parse("symbian", &c));
    expect_true("empty platform refused", !diag_client_parse("", &c));
    for (int p = 0; p < 3; p++)
        expect_true("platform table names",
                    strcmp(diag_platform_name((diag_platform)p), p == 0   ? "native"
                                                                 : p == 1 ? "objc"
                                                                          : "web") == 0);

    /* the catalog's tables */
    diag_sdk_version v1, v2, v3;
    expect_true("versions for the tables", diag_sdk_version_parse("1.5.0", 5, &v1) &&
                                               diag_sdk_version_parse("2.0", 3, &v2) &&
                                               diag_sdk_version_parse("10.1", 4, &v3));
    expect_true("table of rtc", diag_table_of(DIAG_SERVICE_RTC, NULL) == DIAG_TABLE_RTC &&
                                    diag_table_of(DIAG_SERVICE_RTC, &v2) == DIAG_TABLE_RTC);
    expect_true("table of rtm 1.x / unknown",
                diag_table_of(DIAG_SERVICE_RTM, NULL) == DIAG_TABLE_RTM1 &&
                    diag_table_of(DIAG_SERVICE_RTM, &v1) == DIAG_TABLE_RTM1);
    expect_true("table of rtm 2.x and later",
                diag_table_of(DIAG_SERVICE_RTM, &v2) == DIAG_TABLE_RTM2 &&
                    diag_table_of(DIAG_SERVICE_RTM, &v3) == DIAG_TABLE_RTM2);
    expect_true("table names", strcmp(diag_table_service(DIAG_TABLE_RTC), "rtc") == 0 &&
                                   strcmp(diag_table_service(DIAG_TABLE_RTM1), "rtm") == 0 &&
                                   strcmp(diag_table_service(DIAG_TABLE_RTM2), "rtm") == 0 &&
                                   diag_table_sdk(DIAG_TABLE_RTC) == NULL &&
                                   strcmp(diag_table_sdk(DIAG_TABLE_RTM1), "1.x") == 0 &&
                                   strcmp(diag_table_sdk(DIAG_TABLE_RTM2), "2.x") == 0);
    for (int t = 0; t < DIAG_TABLE_COUNT; t++)
        for (int k = 0; k < DIAG_CAUSE_COUNT; k++) {
            const diag_catalog_entry *e = diag_catalog((diag_table)t, (diag_cause)k);
            bool absent = t != DIAG_TABLE_RTC && k == DIAG_CAUSE_CHANNEL_NAME_INVALID;
            if (t != DIAG_TABLE_RTC && k == DIAG_CAUSE_CHANNEL_MISMATCH)
                continue; /* a login has no channel: the contract names no code for it */
            char name[128];
            snprintf(name, sizeof name, "catalog %s %s: %s",
                     diag_table_sdk((diag_table)t) ? diag_table_sdk((diag_table)t) : "rtc",
                     diag_cause_name((diag_cause)k), absent ? "no row" : "a row");
            expect_true(name, absent
                                  ? e == NULL
                                  : e && e->table == (diag_table)t && e->cause == (diag_cause)k &&
                                        e->title && e->reason && e->solution);
        }

    /* RTC joins: diagnosis.md "Error codes by platform" */
    static const struct {
        diag_cause c;
        int native, objc, web;
        const char *nn, *on, *wn;
    } codes[] = {
        {DIAG_CAUSE_APP_ID_MALFORMED, 101, 101, 101, "ERR_INVALID_APP_ID",
         "AgoraErrorCodeInvalidAppId", "ERR_INVALID_VENDOR_KEY"},
        {DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, 101, 101, 101, "ERR_INVALID_APP_ID",
         "AgoraErrorCodeInvalidAppId", "ERR_INVALID_VENDOR_KEY"},
        {DIAG_CAUSE_CHANNEL_NAME_INVALID, 102, 102, 0, "ERR_INVALID_CHANNEL_NAME",
         "AgoraErrorCodeInvalidChannelId", "INVALID_PARAMS"},
        {DIAG_CAUSE_TOKEN_REQUIRED, 110, 110, 120, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_DYNAMIC_USE_STATIC_KEY"},
        {DIAG_CAUSE_TOKEN_NOT_EXPECTED, 110, 110, 119, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_STATIC_USE_DYNAMIC_KEY"},
        {DIAG_CAUSE_TOKEN_MALFORMED, 110, 110, 110, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_NO_AUTHORIZED"},
        {DIAG_CAUSE_APP_ID_MISMATCH, 110, 110, 110, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_NO_AUTHORIZED"},
        {DIAG_CAUSE_SERVICE_MISSING, 110, 110, 110, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_NO_AUTHORIZED"},
        {DIAG_CAUSE_CHANNEL_MISMATCH, 110, 110, 110, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_NO_AUTHORIZED"},
        {DIAG_CAUSE_UID_MISMATCH, 110, 110, 110, "ERR_INVALID_TOKEN", "AgoraErrorCodeInvalidToken",
         "ERR_NO_AUTHORIZED"},
        {DIAG_CAUSE_SIGNATURE_INVALID, 110, 110, 110, "ERR_INVALID_TOKEN",
         "AgoraErrorCodeInvalidToken", "ERR_NO_AUTHORIZED"},
        {DIAG_CAUSE_TOKEN_EXPIRED, 109, 109, 109, "ERR_TOKEN_EXPIRED", "AgoraErrorCodeTokenExpired",
         "ERR_DYNAMIC_KEY_TIMEOUT"},
        {DIAG_CAUSE_PRIVILEGE_EXPIRED, 109, 109, 109, "ERR_TOKEN_EXPIRED",
         "AgoraErrorCodeTokenExpired", "ERR_DYNAMIC_KEY_TIMEOUT"},
    };
    _Static_assert(sizeof codes / sizeof codes[0] == DIAG_CHECK_COUNT, "every failing cause");
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const diag_catalog_entry *e = diag_catalog(DIAG_TABLE_RTC, codes[i].c);
        char name[96];
        snprintf(name, sizeof name, "codes of %s", diag_cause_name(codes[i].c));
        expect_true(name, e && e->code[0].code == codes[i].native &&
                              e->code[1].code == codes[i].objc && e->code[2].code == codes[i].web &&
                              e->code[0].name && strcmp(e->code[0].name, codes[i].nn) == 0 &&
                              e->code[1].name && strcmp(e->code[1].name, codes[i].on) == 0 &&
                              e->code[2].name && strcmp(e->code[2].name, codes[i].wn) == 0);
        if (!e)
            continue;
        bool expiry =
            codes[i].c == DIAG_CAUSE_TOKEN_EXPIRED || codes[i].c == DIAG_CAUSE_PRIVILEGE_EXPIRED;
        snprintf(name, sizeof name, "also codes of %s", diag_cause_name(codes[i].c));
        expect_true(name,
                    expiry ? (e->also[2][0].code == 118 && e->also[2][0].name &&
                              strcmp(e->also[2][0].name, "ERR_DYNAMIC_KEY_EXPIRED") == 0 &&
                              e->also[2][1].code == 2 && e->also[2][1].name &&
                              strcmp(e->also[2][1].name, "K_TIMESTAMP_EXPIRED") == 0 &&
                              !e->also[0][0].name && !e->also[1][0].name)
                           : (!e->also[0][0].name && !e->also[1][0].name && !e->also[2][0].name));
        snprintf(name, sizeof name, "reason and solution of %s", diag_cause_name(codes[i].c));
        expect_true(name,
                    e->reason && strlen(e->reason) > 40 && e->solution && strlen(e->solution) > 40);
    }
    const char *expired_fix = diag_catalog(DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_EXPIRED)->solution;
    expect_true("expiry fix names renewToken and the callbacks",
                strstr(expired_fix, "renewToken") &&
                    strstr(expired_fix, "onTokenPrivilegeWillExpire") &&
                    strstr(expired_fix, "token-privilege-will-expire") &&
                    strstr(expired_fix, "onRequestToken") &&
                    strstr(expired_fix, "token-privilege-did-expire"));
    expect_true("token_required fix names No certificate",
                strstr(diag_catalog(DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_REQUIRED)->solution,
                       "No certificate"));
    expect_true("token_not_expected fix names the primary certificate",
                strstr(diag_catalog(DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_NOT_EXPECTED)->solution,
                       "primary certificate"));
    expect_true("mismatch fix says exactly",
                strstr(diag_catalog(DIAG_TABLE_RTC, DIAG_CAUSE_UID_MISMATCH)->solution, "exactly"));

    /* RTM logins: 1.x login errors, 2.x codes, the same numbers on every platform */
    static const struct {
        diag_cause c;
        int v1, v2;
        const char *n1, *o1, *n2;
    } rtm[] = {
        {DIAG_CAUSE_APP_ID_MALFORMED, 4, -10003, "LOGIN_ERR_INVALID_APP_ID",
         "AgoraRtmLoginErrorInvalidAppId", "RTM_ERROR_INVALID_APP_ID"},
        {DIAG_CAUSE_TOKEN_REQUIRED, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_TOKEN_NOT_EXPECTED, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_TOKEN_MALFORMED, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_APP_ID_MISMATCH, 5, -10016, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INCONSISTENT_APPID"},
        {DIAG_CAUSE_SERVICE_MISSING, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_UID_MISMATCH, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_SIGNATURE_INVALID, 5, -10005, "LOGIN_ERR_INVALID_TOKEN",
         "AgoraRtmLoginErrorInvalidToken", "RTM_ERROR_INVALID_TOKEN"},
        {DIAG_CAUSE_TOKEN_EXPIRED, 6, -10009, "LOGIN_ERR_TOKEN_EXPIRED",
         "AgoraRtmLoginErrorTokenExpired", "RTM_ERROR_TOKEN_EXPIRED"},
        {DIAG_CAUSE_PRIVILEGE_EXPIRED, 6, -10009, "LOGIN_ERR_TOKEN_EXPIRED",
         "AgoraRtmLoginErrorTokenExpired", "RTM_ERROR_TOKEN_EXPIRED"},
    };
    for (size_t i = 0; i < sizeof rtm / sizeof rtm[0]; i++) {
        const diag_catalog_entry *a = diag_catalog(DIAG_TABLE_RTM1, rtm[i].c);
        const diag_catalog_entry *b = diag_catalog(DIAG_TABLE_RTM2, rtm[i].c);
        char name[96];
        snprintf(name, sizeof name, "rtm codes of %s", diag_cause_name(rtm[i].c));
        bool ok = a && b && a->code[0].name && strcmp(a->code[0].name, rtm[i].n1) == 0 &&
                  a->code[1].name && strcmp(a->code[1].name, rtm[i].o1) == 0 && a->code[2].name &&
                  strcmp(a->code[2].name, rtm[i].n1) == 0 && b->code[0].name &&
                  strcmp(b->code[0].name, rtm[i].n2) == 0;
        for (int p = 0; ok && p < 3; p++)
            ok = a->code[p].code == rtm[i].v1 && b->code[p].code == rtm[i].v2;
        expect_true(name, ok);
    }
    const diag_catalog_entry *rtm2_expired =
        diag_catalog(DIAG_TABLE_RTM2, DIAG_CAUSE_TOKEN_EXPIRED);
    expect_true("rtm 2.x expiry fix names RTMClient.renewToken and tokenPrivilegeWillExpire",
                rtm2_expired && strstr(rtm2_expired->solution, "renewToken") &&
                    strstr(rtm2_expired->solution, "tokenPrivilegeWillExpire"));
    bool builder2 = false;
    for (int k = 0; k < DIAG_CHECK_COUNT; k++) {
        const diag_catalog_entry *e = diag_catalog(DIAG_TABLE_RTM2, (diag_cause)k);
        builder2 = builder2 || (e && strstr(e->solution, "RtmTokenBuilder2"));
    }
    expect_true("rtm 2.x fixes name RtmTokenBuilder2", builder2);

    /* The rendered error follows the request's platform. */
    scen s = base(7);
    s.req.client = DIAG_CLIENT_WEB;
    s.req.at = AT + 7200;
    run(&s);
    json_t *j = diag_result_to_json(res);
    json_t *err = json_object_get(j, "error");
    expect_true("web expiry error JSON",
                json_integer_value(json_object_get(err, "code")) == 109 &&
                    strcmp(json_string_value(json_object_get(err, "name")),
                           "ERR_DYNAMIC_KEY_TIMEOUT") == 0 &&
                    strcmp(json_string_value(json_object_get(err, "platform")), "web") == 0 &&
                    json_array_size(json_object_get(err, "also")) == 2 &&
                    json_integer_value(json_object_get(
                        json_array_get(json_object_get(err, "also"), 0), "code")) == 118);
    json_decref(j);
    s = base(7);
    s.no_token = true;
    s.req.client = DIAG_CLIENT_WEB;
    run(&s);
    j = diag_result_to_json(res);
    expect_true("web token_required is 120",
                json_integer_value(json_object_get(json_object_get(j, "error"), "code")) == 120);
    json_decref(j);
    /* aliases report with their table's codes */
    s = base(7);
    s.no_token = true;
    s.req.client = DIAG_CLIENT_MACOS;
    run(&s);
    expect_code("macos token_required", 110, "AgoraErrorCodeInvalidToken");
    s.req.client = DIAG_CLIENT_ELECTRON;
    run(&s);
    expect_code("electron token_required", 110, "ERR_INVALID_TOKEN");
}

/* ---- JSON shape and secrecy ------------------------------------------------------------------ */

static void test_json_shape(void) {
    scen s = base(7);
    s.proj.retired_count = 1;
    memcpy(s.proj.retired[0], CERT_R, 33);
    set_uid(&s, 99);
    run(&s);
    json_t *j = diag_result_to_json(res);
    const char *keys[] = {"verdict",  "cause",  "error",      "hints",      "warnings",
                          "repaired", "checks", "expires_at", "expires_in", "token",
                          "project",  "at",     "sdk_version"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        expect_true(keys[i], json_object_get(j, keys[i]) != NULL);
    json_t *checks = json_object_get(j, "checks");
    expect_true("13 checks", json_array_size(checks) == DIAG_CHECK_COUNT);
    /* in the order of the check table; the ids of v1 are stable (interfaces.md), the two checks
     * v2 added (channel name, 2; token version, 5a) have ids of their own */
    const char *ids[] = {"app_id_format",   NULL,  "token_present", "token_expected",
                         "token_decodes",   NULL,  "app_id_match",  "service",
                         "channel",         "uid", "signature",     "token_expiry",
                         "privilege_expiry"};
    _Static_assert(sizeof ids / sizeof ids[0] == DIAG_CHECK_COUNT, "one id a check");
    for (size_t i = 0; i < DIAG_CHECK_COUNT; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(checks, i), "id"));
        char name[96];
        snprintf(name, sizeof name, "check %zu is %s (got %s)", i, ids[i] ? ids[i] : "new",
                 id ? id : "none");
        bool ok = id && *id && (!ids[i] || strcmp(id, ids[i]) == 0);
        for (size_t k = 0; ok && k < i; k++)
            ok = !streq(id, json_string_value(json_object_get(json_array_get(checks, k), "id")));
        expect_true(name, ok);
    }
    json_t *uid = json_array_get(checks, DIAG_CAUSE_UID_MISMATCH);
    expect_true("uid check fails and names both values",
                strcmp(json_string_value(json_object_get(uid, "status")), "fail") == 0 &&
                    strstr(json_string_value(json_object_get(uid, "detail")), "'1234'") &&
                    strstr(json_string_value(json_object_get(uid, "detail")), "'99'"));
    expect_true("expires_in = expires_at - at",
                json_integer_value(json_object_get(j, "expires_in")) == AT - 100 + 3600 - AT);
    json_t *proj = json_object_get(j, "project");
    expect_true(
        "project block",
        json_is_true(json_object_get(proj, "known")) &&
            strcmp(json_string_value(json_object_get(proj, "certificate_mode")), "primary") == 0 &&
            json_is_false(json_object_get(proj, "no_certificate")));
    expect_true(
        "token decoded in the answer",
        json_is_object(json_object_get(j, "token")) &&
            strcmp(json_string_value(json_object_get(json_object_get(j, "token"), "version")),
                   "007") == 0);
    char *text = json_dumps(j, 0);
    expect_true("no certificate in the JSON", !strstr(text, CERT_P) && !strstr(text, CERT_R));
    free(text);
    json_decref(j);

    s = base(7);
    run(&s);
    j = diag_result_to_json(res);
    expect_true(
        "joinable: error null, signed_with primary",
        json_is_null(json_object_get(j, "error")) &&
            strcmp(json_string_value(json_object_get(json_object_get(j, "project"), "signed_with")),
                   "primary") == 0);
    json_decref(j);

    s = base(7);
    s.no_token = true;
    s.known = false;
    run(&s);
    j = diag_result_to_json(res);
    expect_true("no token: token/expires null, project unknown",
                json_is_null(json_object_get(j, "token")) &&
                    json_is_null(json_object_get(j, "expires_at")) &&
                    json_is_null(json_object_get(j, "expires_in")) &&
                    json_is_false(json_object_get(json_object_get(j, "project"), "known")));
    json_decref(j);

    /* Human output: verdict first, marks, no certificate, no colour unless asked. */
    s = base(7);
    set_uid(&s, 99);
    run(&s);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    diag_result_print(mem, res, false);
    fclose(mem);
    expect_true("human headline",
                strncmp(buf, "REJECTED \xe2\x80\x94 110 ERR_INVALID_TOKEN: uid mismatch\n",
                        strlen("REJECTED \xe2\x80\x94 110 ERR_INVALID_TOKEN: uid mismatch\n")) ==
                    0);
    expect_true("human marks", strstr(buf, "\xe2\x9c\x93") && strstr(buf, "\xe2\x9c\x97"));
    expect_true("human: no escape codes without colour", !strchr(buf, '\033'));
    expect_true("human: no certificate", !strstr(buf, CERT_P));
    free(buf);
    mem = open_memstream(&buf, &len);
    diag_result_print(mem, res, true);
    fclose(mem);
    expect_true("human: colour when asked", strchr(buf, '\033') != NULL);
    free(buf);

    /* A hostile channel name cannot break the JSON or the terminal. */
    s = base(7);
    set_channel(&s, "a\033[2J\xff\xfe\x01z");
    s.t_channel = "x";
    run(&s);
    j = diag_result_to_json(res);
    text = j ? json_dumps(j, 0) : NULL;
    expect_true("invalid UTF-8 channel still renders", text != NULL);
    free(text);
    json_decref(j);
    mem = open_memstream(&buf, &len);
    diag_result_print(mem, res, false);
    fclose(mem);
    expect_true("no raw escape from a channel name", !strchr(buf, '\033'));
    free(buf);

    /* The catalog as JSON: every cause of the rtc table in "errors"; the rtm tables (1.x, then
     * 2.x) in "rtm_errors", without channel_name_invalid. */
    j = diag_catalog_to_json();
    json_t *errors = json_object_get(j, "errors"), *rtm = json_object_get(j, "rtm_errors");
    expect_true("catalog lists every cause",
                json_array_size(errors) == DIAG_CAUSE_COUNT &&
                    json_array_size(rtm) >= 2 * (DIAG_CAUSE_COUNT - 2));
    size_t i, v1 = 0, v2 = 0;
    json_t *row;
    bool rows_ok = true;
    json_array_foreach(errors, i, row) {
        rows_ok = rows_ok && streq(json_string_value(json_object_get(row, "service")), "rtc") &&
                  json_is_null(json_object_get(row, "sdk"));
    }
    json_array_foreach(rtm, i, row) {
        const char *sdk = json_string_value(json_object_get(row, "sdk"));
        v1 += streq(sdk, "1.x");
        v2 += streq(sdk, "2.x");
        rows_ok = rows_ok && streq(json_string_value(json_object_get(row, "service")), "rtm") &&
                  (streq(sdk, "1.x") ? v2 == 0 : streq(sdk, "2.x")) && /* 1.x, then 2.x */
                  !streq(json_string_value(json_object_get(row, "cause")), "channel_name_invalid");
    }
    expect_true("catalog rows: service and sdk", rows_ok && v1 == v2);
    json_decref(j);
}

/* ---- skip_details ------------------------------------------------------------------------- */

static void test_skip_details(void) {
    scen s = base(7);
    set_uid(&s, 99);
    build(&s);
    s.req.has_token = true;
    s.req.token = s.text;
    s.req.token_len = strlen(s.text);
    diag_options o = {.skip_details = true};
    diag_run(ctx, &s.req, &s.proj, &o, res);
    bool empty = true;
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        empty = empty && res->checks[i].detail[0] == '\0';
    expect_true("skip_details leaves details empty", empty);
    expect_true("skip_details same cause", res->cause == DIAG_CAUSE_UID_MISMATCH);
}

/* ---- Requests and projects from JSON ------------------------------------------------------------
 */

static void expect_bad_request(const char *body, const char *field) {
    json_error_t e;
    json_t *o = json_loads(body, 0, &e);
    diag_request req;
    char err[256] = "";
    bool ok = o && diag_request_from_json(o, AT, &req, err, sizeof err);
    char name[320];
    snprintf(name, sizeof name, "bad request %s -> names '%s' (got '%s')", body, field, err);
    expect_true(name, !ok && strncmp(err, field, strlen(field)) == 0);
    json_decref(o);
}

static void test_requests(void) {
    expect_bad_request("{\"channel\":\"c\"}", "app_id");
    expect_bad_request("{\"app_id\":null,\"channel\":\"c\"}", "app_id");
    expect_bad_request("{\"app_id\":5,\"channel\":\"c\"}", "app_id");
    expect_bad_request("{\"app_id\":\"" APP "\"}", "channel");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"\"}", "channel");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":4294967296}", "uid");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":-1}", "uid");
    /* A uid as text is its decimal form only (below: "42" is accepted with a warning). */
    const char *bad_uid_texts[] = {"012", " 12", "12 ", "+12",         "-1",  "4294967296",
                                   "12x", "",    "1e3", "99999999999", "0x1", "\u0661"};
    for (size_t i = 0; i < sizeof bad_uid_texts / sizeof bad_uid_texts[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":\"%s\"}",
                 bad_uid_texts[i]);
        expect_bad_request(body, "uid");
    }
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":1.5}", "uid");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":1,\"account\":\"a\"}",
                       "uid, account");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"service\":\"xmpp\"}",
                       "service");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"role\":\"admin\"}", "role");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"platform\":\"beos\"}",
                       "platform");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":\"now\"}", "at");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"token\":7}", "token");
    expect_bad_request("[1]", "request");
    char big[400];
    memset(big, 'a', 256);
    big[256] = '\0';
    char body[600];
    snprintf(body, sizeof body, "{\"app_id\":\"%s\",\"channel\":\"c\",\"account\":\"%s\"}", APP,
             big);
    expect_bad_request(body, "account");

    /* Accepted: malformed App ID is diagnosed; rtm needs no channel; uid bounds. */
    json_t *o = json_pack("{s:s, s:s}", "app_id", "", "channel", "c");
    diag_request req;
    char err[256];
    expect_true("empty App ID is not a bad request",
                diag_request_from_json(o, AT, &req, err, sizeof err));
    diag_run(ctx, &req, NULL, NULL, res);
    expect_true("empty App ID diagnosed as app_id_malformed",
                res->cause == DIAG_CAUSE_APP_ID_MALFORMED);
    json_decref(o);
    o = json_pack("{s:s, s:s, s:s, s:I, s:n}", "app_id", APP, "service", "rtm", "account", "a",
                  "at", (json_int_t)5, "token");
    expect_true("rtm without channel", diag_request_from_json(o, AT, &req, err, sizeof err) &&
                                           req.at == 5 && !req.has_token &&
                                           req.service == DIAG_SERVICE_RTM);
    json_decref(o);
    o = json_pack("{s:s, s:s, s:I, s:s}", "app_id", APP, "channel", "c", "uid",
                  (json_int_t)4294967295LL, "id", "ignored");
    expect_true("uid 4294967295 and unknown fields accepted",
                diag_request_from_json(o, AT, &req, err, sizeof err) && req.uid == 4294967295u &&
                    req.at == AT && req.role == DIAG_ROLE_PUBLISHER &&
                    req.client == DIAG_CLIENT_NATIVE && !req.has_sdk_version);
    json_decref(o);

    /* diagnosis.md "Inputs": `at` is 0..4294967295, or an ISO-8601 UTC time in that range */
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":-1}", "at");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":4294967296}", "at");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":1.5}", "at");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":\"2106-02-07T06:28:16Z\"}",
                       "at");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":\"2026-13-05T10:00:00Z\"}",
                       "at");
    static const struct {
        const char *json; /* the value of "at" */
        int64_t at;
    } ats[] = {
        {"0", 0},
        {"4294967295", 4294967295LL},
        {"\"2026-12-05T10:00:00Z\"", 1796464800},
        {"\"1970-01-01T00:00:00Z\"", 0},
        {"\"2106-02-07T06:28:15Z\"", 4294967295LL},
    };
    for (size_t i = 0; i < sizeof ats / sizeof ats[0]; i++) {
        char body[256], name[128];
        snprintf(body, sizeof body, "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":%s}",
                 ats[i].json);
        json_error_t e;
        o = json_loads(body, 0, &e);
        snprintf(name, sizeof name, "at %s accepted as %lld", ats[i].json, (long long)ats[i].at);
        expect_true(name, o && diag_request_from_json(o, AT, &req, err, sizeof err) &&
                              req.at == ats[i].at);
        json_decref(o);
    }

    /* sdk_version: MAJOR.MINOR[.PATCH], a leading v; anything else is a bad request */
    const char *bad_versions[] = {"2",    "2.x",     "latest", "1.5.0-beta", "2.2.0.1", " 2.2.0",
                                  "1..2", "99999.1", ""};
    for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"sdk_version\":\"%s\"}",
                 bad_versions[i]);
        expect_bad_request(body, "sdk_version");
    }
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"sdk_version\":2}",
                       "sdk_version");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"sdk_version\":[\"4.8\"]}",
                       "sdk_version");
    const char *good_versions[] = {"4.8", "v2.2.0", "9999.9999.9999"};
    for (size_t i = 0; i < sizeof good_versions / sizeof good_versions[0]; i++) {
        o = json_pack("{s:s, s:s, s:s}", "app_id", APP, "channel", "c", "sdk_version",
                      good_versions[i]);
        char name[96];
        snprintf(name, sizeof name, "sdk_version '%s' accepted, kept as given", good_versions[i]);
        expect_true(name, diag_request_from_json(o, AT, &req, err, sizeof err) &&
                              req.has_sdk_version && streq(req.sdk_version.text, good_versions[i]));
        json_decref(o);
    }

    /* "uid": "42" (JavaScript sends uids as strings) is the uid 42, with the warning
     * uid_as_string; a number carries no warning; the diagnosis is otherwise the same. */
    const struct {
        const char *json;
        uint32_t uid;
        bool as_string;
    } uids[] = {{"\"42\"", 42, true},
                {"\"0\"", 0, true},
                {"\"4294967295\"", 4294967295u, true},
                {"42", 42, false}};
    diag_result *as_number = malloc(sizeof *as_number);
    for (size_t i = 0; as_number && i < sizeof uids / sizeof uids[0]; i++) {
        char body[256], name[128];
        snprintf(body, sizeof body, "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":%s}",
                 uids[i].json);
        json_error_t e;
        o = json_loads(body, 0, &e);
        snprintf(name, sizeof name, "uid %s accepted as %u", uids[i].json, uids[i].uid);
        bool ok = o && diag_request_from_json(o, AT, &req, err, sizeof err);
        expect_true(name, ok && req.has_uid && req.uid == uids[i].uid &&
                              req.uid_as_string == uids[i].as_string);
        if (!ok) {
            json_decref(o);
            continue;
        }
        diag_run(ctx, &req, NULL, NULL, res);
        snprintf(name, sizeof name, "uid %s: warning uid_as_string %s", uids[i].json,
                 uids[i].as_string ? "given" : "absent");
        expect_true(name, !!(res->warnings & (1u << DIAG_WARN_UID_AS_STRING)) == uids[i].as_string);
        req.uid_as_string = false; /* otherwise the same diagnosis */
        diag_run(ctx, &req, NULL, NULL, as_number);
        snprintf(name, sizeof name, "uid %s: judged as the number", uids[i].json);
        expect_true(name,
                    as_number->cause == res->cause &&
                        (res->warnings & ~(1u << DIAG_WARN_UID_AS_STRING)) == as_number->warnings);
        json_decref(o); /* req borrows its strings from o */
    }
    free(as_number);
    expect_true("warning uid_as_string is named and explained",
                streq(diag_warning_name(DIAG_WARN_UID_AS_STRING), "uid_as_string") &&
                    strstr(diag_warning_text(DIAG_WARN_UID_AS_STRING), "string") &&
                    strstr(diag_warning_text(DIAG_WARN_UID_AS_STRING), "user account"));

    /* diag_at_parse, the text form the CLI's --at takes */
    static const struct {
        const char *text;
        bool ok;
        int64_t at;
    } texts[] = {
        {"0", true, 0},
        {"1700000000", true, 1700000000},
        {"4294967295", true, 4294967295LL},
        {"2026-12-05T10:00:00Z", true, 1796464800},
        {"2106-02-07T06:28:15Z", true, 4294967295LL},
        {"-1", false, 0},
        {"4294967296", false, 0},
        {"99999999999999999999", false, 0},
        {"2106-02-07T06:28:16Z", false, 0},
        {"1969-12-31T23:59:59Z", false, 0},
        {"soon", false, 0},
        {"", false, 0},
        {"12x", false, 0},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int64_t at = -7;
        char name[96];
        snprintf(name, sizeof name, "diag_at_parse('%s')", texts[i].text);
        bool ok = diag_at_parse(texts[i].text, strlen(texts[i].text), &at);
        expect_true(name, ok == texts[i].ok && (!ok || at == texts[i].at));
    }
}

static void expect_bad_project(const char *body, const char *field) {
    json_error_t e;
    json_t *o = json_loads(body, 0, &e);
    diag_project p;
    char err[256] = "";
    bool ok = o && diag_project_from_json(o, &p, err, sizeof err);
    char name[400];
    snprintf(name, sizeof name, "bad project -> names '%s' (got '%s')", field, err);
    expect_true(name, !ok && strncmp(err, field, strlen(field)) == 0 && !strstr(err, "zzzz"));
    json_decref(o);
}

static void test_projects(void) {
    expect_bad_project("{}", "app_id");
    expect_bad_project("{\"app_id\":\"" APP "\",\"primary\":{\"certificate\":\"zzzz\"}}",
                       "primary.certificate");
    expect_bad_project("{\"app_id\":\"" APP "\",\"secondary\":{\"certificate\":\"" CERT_S
                       "\",\"enabled\":1}}",
                       "secondary.enabled");
    expect_bad_project("{\"app_id\":\"" APP "\",\"no_certificate\":\"no\"}", "no_certificate");
    expect_bad_project("{\"app_id\":\"" APP "\",\"retired_certificates\":[\"zzzz\"]}",
                       "retired_certificates[0]");
    expect_bad_project("{\"app_id\":\"" APP "\",\"name\":7}", "name");
    expect_bad_project("{\"app_id\":\"" APP "\",\"primary\":\"" CERT_P "\"}", "primary:");
    expect_bad_project("{\"app_id\":\"" APP "\",\"retired_certificates\":\"" CERT_R "\"}",
                       "retired_certificates: must be an array");

    /* Strict fields: a misspelt one would silently leave its default (issue 13: "primay" made a
     * project of mode none). The message names the field and the closest known one. */
    static const struct {
        const char *body, *message;
    } unknown[] = {
        {"{\"app_id\":\"" APP "\",\"primay\":{\"certificate\":\"" CERT_P "\",\"enabled\":true}}",
         "primay: unknown field (did you mean primary?)"},
        {"{\"app_id\":\"" APP "\",\"primary\":{\"certificate\":\"" CERT_P "\",\"enable\":false}}",
         "primary.enable: unknown field (did you mean enabled?)"},
        {"{\"app_id\":\"" APP "\",\"secondary\":{\"cert\":\"" CERT_P "\"}}",
         "secondary.cert: unknown field (did you mean certificate?)"},
        {"{\"appId\":\"" APP "\"}", "appId: unknown field (did you mean app_id?)"},
        {"{\"app_id\":\"" APP "\",\"cohostAuth\":true}",
         "cohostAuth: unknown field (did you mean cohost_auth?)"},
        {"{\"app_id\":\"" APP "\",\"retired\":[]}",
         "retired: unknown field (did you mean retired_certificates?)"},
        {"{\"app_id\":\"" APP "\",\"nocertificate\":true}",
         "nocertificate: unknown field (did you mean no_certificate?)"},
        {"{\"app_id\":\"" APP "\",\"comment\":\"x\"}",
         "comment: unknown field (known: app_id, name, primary, secondary, no_certificate, "
         "cohost_auth, retired_certificates)"},
        {"{\"app_id\":\"" APP "\",\"primary\":{\"certificate\":\"" CERT_P "\",\"x\":1}}",
         "primary.x: unknown field (known: certificate, enabled)"},
        {"{\"app_id\":\"" APP "\",\"a b\\n\":1}", "'a b\\x0a': unknown field"},
        /* the read-back shape is not a configuration */
        {"{\"app_id\":\"" APP "\",\"certificate_mode\":\"primary\"}",
         "certificate_mode: unknown field"},
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        json_error_t e;
        json_t *o = json_loads(unknown[i].body, 0, &e);
        diag_project p;
        char err[256] = "";
        bool ok = o && diag_project_from_json(o, &p, err, sizeof err);
        CHECK(o && !ok && strncmp(err, unknown[i].message, strlen(unknown[i].message)) == 0,
              "%s -> '%s' (got '%s')", unknown[i].body, unknown[i].message, err);
        json_decref(o);
    }
    /* A field name that is a certificate is not repeated in the message. */
    expect_bad_project("{\"app_id\":\"" APP "\",\"primary\":{\"" CERT_P "\":true}}", "primary.");
    json_t *hex_key = json_pack("{s:s, s:{s:b}}", "app_id", APP, "primary", CERT_P, 1);
    diag_project hp;
    char herr[256] = "";
    expect_true("a 32-hex field name is not shown",
                !diag_project_from_json(hex_key, &hp, herr, sizeof herr) && !strstr(herr, CERT_P));
    json_decref(hex_key);
    json_error_t e;
    json_t *o = json_loads("{\"app_id\":\"" APP "\",\"name\":\"demo\",\"primary\":{\"certificate\":"
                           "\"" CERT_P "\",\"enabled\":true},\"secondary\":null,\"cohost_auth\":"
                           "true,\"retired_certificates\":[\"" CERT_R "\"]}",
                           0, &e);
    diag_project p;
    char err[256];
    expect_true("project parses", diag_project_from_json(o, &p, err, sizeof err) &&
                                      p.primary.present && p.primary.enabled &&
                                      !p.secondary.present && p.cohost_auth && !p.no_certificate &&
                                      p.retired_count == 1);
    json_decref(o);
    json_t *back = diag_project_to_json(&p);
    char *text = json_dumps(back, 0);
    char fp[9];
    td_fingerprint(CERT_P, 32, fp);
    expect_true("project read back: fingerprints only",
                text && !strstr(text, CERT_P) && !strstr(text, CERT_R) && strstr(text, fp));
    expect_true("certificate_mode", strcmp(diag_certificate_mode(&p), "primary") == 0);
    free(text);
    json_decref(back);
}

/* ---- Batch items (diag_batch_item_add, diag_batch_error_add) -------------------------------
 * The one writer of the CLI's batch lines and the service's batch results: the bytes jansson
 * dumps for {"id", "status", ...the diagnosis or its summary} or {"id", "status", "error"}. */

static bool same_bytes(const char *label, json_t *want, const char *got, size_t len) {
    char *text = json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER);
    bool ok = text && strlen(text) == len && memcmp(text, got, len) == 0;
    CHECK(ok, "%s:\n    got  %.*s\n    want %s", label, (int)len, got ? got : "", text);
    free(text);
    json_decref(want);
    return ok;
}

static void test_batch_items(void) {
    scen s = base(7);
    set_uid(&s, 99); /* uid mismatch: a rejection, whose "error" is the platform's */
    run(&s);
    json_t *ids[] = {json_string("a\"b"), json_integer(7), json_pack("{s:[i,n]}", "k", 1), NULL};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (int summary = 0; summary < 2; summary++) {
            json_t *want =
                json_pack("{s:O, s:s}", "id", ids[i] ? ids[i] : json_null(), "status", "diagnosed");
            json_t *doc = summary ? oracle_result_to_summary_json(res) : oracle_result_to_json(res);
            json_object_update(want, doc);
            json_decref(doc);
            td_buf b;
            td_buf_init(&b, 1 << 20);
            bool ok = diag_batch_item_add(&b, ids[i], res, summary);
            expect_true("batch item written", ok);
            same_bytes(summary ? "summary item" : "item", want, b.p, b.len);
            td_buf_free(&b);
        }
        json_t *want =
            json_pack("{s:O, s:s, s:{s:s, s:s}}", "id", ids[i] ? ids[i] : json_null(), "status",
                      "invalid", "error", "code", "bad_request", "message", "uid: must be \"x\"\n");
        td_buf b;
        td_buf_init(&b, 1 << 20);
        expect_true("error item written",
                    diag_batch_error_add(&b, ids[i], DIAG_ITEM_INVALID, "bad_request",
                                         "uid: must be \"x\"\n"));
        same_bytes("error item", want, b.p, b.len);
        /* appended after what the buffer holds; invalid UTF-8 as diag_error_json has it */
        size_t before = b.len;
        json_t *e = diag_error_json("internal", "line 3: \xff");
        json_t *want2 =
            json_pack("{s:O, s:s}", "id", ids[i] ? ids[i] : json_null(), "status", "failed");
        json_object_update(want2, e);
        json_decref(e);
        expect_true("second item appended",
                    diag_batch_error_add(&b, ids[i], DIAG_ITEM_FAILED, "internal", "line 3: \xff"));
        same_bytes("failed item after another", want2, b.p + before, b.len - before);
        td_buf_free(&b);
        json_decref(ids[i]);
    }
    expect_true("status names", streq(diag_item_status_name(DIAG_ITEM_DIAGNOSED), "diagnosed") &&
                                    streq(diag_item_status_name(DIAG_ITEM_INVALID), "invalid") &&
                                    streq(diag_item_status_name(DIAG_ITEM_FAILED), "failed"));

    /* decode of nothing: "empty", not "unknown version" */
    json_t *empty = diag_token_error_json("", 0, TD_ERR_UNSUPPORTED_VERSION);
    json_t *err = json_object_get(empty, "error");
    expect_true("empty token: 'the token is empty', no hint",
                streq(json_string_value(json_object_get(err, "message")), "the token is empty") &&
                    json_array_size(json_object_get(err, "hints")) == 0);
    json_decref(empty);
}

/* ---- Text from outside: one rule (core's td_text_unit, docs/style.md) ----------------------
 * In every JSON document a byte that is not UTF-8, and NUL, is U+FFFD; for a person (the text
 * diagnosis, a check detail) it is \xNN, as are control characters, C1 included. Before, the
 * diagnosis' JSON said \xNN, the token's U+FFFD (NUL as \u0000), the store '?', and a C1
 * control character (U+009B, a CSI to some terminals) reached the terminal raw. */

static bool has(const char *hay, size_t len, const char *needle) {
    return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

static void test_text_rule(void) {
    /* an error message: JSON */
    json_t *e = diag_error_json("bad_request", "line 3: \xff");
    expect_true("error message: U+FFFD",
                streq(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
                      "line 3: \xef\xbf\xbd"));
    json_decref(e);

    /* a token string: JSON, NUL too */
    td_token spec;
    memset(&spec, 0, sizeof spec);
    static const char chan[] = "x\xff\0y";
    spec.app_id = (td_str){APP, 32};
    spec.issue_ts = AT;
    spec.expire = 60;
    spec.salt = 1;
    spec.service_count = 1;
    spec.services[0] =
        (td_service){.type = TD_SVC_RTC, .known = true, .a = {chan, 4}, .b = {"1", 1}};
    char text[TD_TOKEN_TEXT_MAX];
    size_t n = td_build007(ctx, &spec, CERT_P, 32, text, sizeof text);
    td_token tok;
    json_t *doc = n && td_decode(ctx, text, n, &tok) == TD_OK ? diag_token_to_json(&tok) : NULL;
    json_t *svc = json_array_get(json_object_get(doc, "services"), 0);
    json_t *ch = json_object_get(svc, "channel");
    expect_true("token channel: U+FFFD for the bad byte and for NUL",
                json_string_length(ch) == 8 &&
                    memcmp(json_string_value(ch), "x\xef\xbf\xbd\xef\xbf\xbdy", 8) == 0);
    json_decref(doc);

    /* a check detail, in JSON and at the terminal: \xNN, C1 control characters too */
    scen s = base(7);
    set_channel(&s, "a\xff\xc2\x9b\\z");
    s.t_channel = "x";
    run(&s);
    td_buf b;
    td_buf_init(&b, 1 << 20);
    expect_true("diagnosis written", diag_result_json_append(&b, res));
    expect_true("detail in JSON: \\xff \\xc2\\x9b, backslash doubled",
                has(b.p, b.len, "a\\\\xff\\\\xc2\\\\x9b\\\\\\\\z"));
    expect_true("no raw invalid byte or C1 in JSON",
                !has(b.p, b.len, "\xff") && !has(b.p, b.len, "\xc2\x9b"));
    td_buf_free(&b);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    diag_result_print(mem, res, false);
    fclose(mem);
    expect_true("terminal: \\xff and \\xc2\\x9b shown, never raw",
                has(out, len, "a\\xff\\xc2\\x9b\\\\z") && !has(out, len, "\xc2\x9b") &&
                    !has(out, len, "\xff"));
    free(out);

    /* the primitives */
    char small[8];
    expect_true("td_text_copy cuts before a unit",
                td_text_copy(small, sizeof small, "ab\xff\xe2\x82\xac", 6) == 5 &&
                    memcmp(small, "ab\xef\xbf\xbd", 6) == 0);
}

/* Issue 15, item 7: the integers of a request at the edges of int64 (the attack's values) are
 * refused by name before any arithmetic; at the edges of their ranges they are diagnosed. */
static void test_integer_edges(void) {
    const char *at_bad[] = {"-9223372036854775808",
                            "9223372036854775807",
                            "4294967296",
                            "-1",
                            "\"9223372036854775807\"",
                            "\"-1\"",
                            "1.5"};
    for (size_t i = 0; i < sizeof at_bad / sizeof at_bad[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":%s}",
                 at_bad[i]);
        expect_bad_request(body, "at: must be");
    }
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":9223372036854775807}",
                       "uid: must be");
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":-9223372036854775808}",
                       "uid: must be");
    int64_t at = 7;
    expect_true("diag_at_parse: int64 edges refused, at unchanged",
                !diag_at_parse("-9223372036854775808", 20, &at) &&
                    !diag_at_parse("9223372036854775807", 19, &at) &&
                    !diag_at_parse("99999999999", 11, &at) && at == 7);
    /* The range's ends are diagnosed: expiry arithmetic over 0 and 2^32-1 with a token whose
     * expiry is far from both. */
    const int64_t ends[] = {0, UINT32_MAX};
    for (size_t i = 0; i < 2; i++) {
        scen s = base(7);
        s.req.at = ends[i];
        run(&s);
        expect_true("at at its range's end: judged",
                    res->at == ends[i] &&
                        res->verdict == (i == 0 ? DIAG_JOINABLE : DIAG_REJECTED) &&
                        res->cause == (i == 0 ? DIAG_CAUSE_OK : DIAG_CAUSE_TOKEN_EXPIRED));
    }
}

/* Issue 15, item 8: the store finds a project whatever the case of its App ID; given the
 * project configured in another case, the diagnosis is that of an unknown project (App IDs are
 * compared exactly, diagnosis.md) and its details name the project and say the case differs. */
static bool any_detail_has(const char *text) {
    for (int i = 0; i < DIAG_CHECK_COUNT; i++)
        if (strstr(res->checks[i].detail, text))
            return true;
    return false;
}

static void test_project_other_case(void) {
    const char *other = "0123456789ABCDEF0123456789ABCDEF";
    for (int tokened = 0; tokened < 2; tokened++) {
        scen s = base(7);
        s.no_token = !tokened;
        s.known = false;
        run(&s);
        diag_verdict verdict = res->verdict;
        diag_cause cause = res->cause;
        uint32_t hints = res->hints, warnings = res->warnings;
        int64_t expires_at = res->expires_at;
        expect_true("other case: baseline names no project", !any_detail_has("configured as"));
        s.known = true;
        memcpy(s.proj.app_id, other, 33);
        run(&s);
        expect_true("other case: the outcome of an unknown project",
                    res->verdict == verdict && res->cause == cause && res->hints == hints &&
                        res->warnings == warnings && res->expires_at == expires_at &&
                        !res->project_known && res->warnings == W(PROJECT_UNKNOWN));
        expect_true("other case: the details name the project and the case",
                    any_detail_has("configured as 0123456789ABCDEF0123456789ABCDEF: the case "
                                   "differs"));
    }
    /* Not the same App ID in any case: nothing named. */
    scen s = base(7);
    memcpy(s.proj.app_id, "1123456789abcdef0123456789abcdef", 33);
    run(&s);
    expect_true("another App ID: unknown, nothing named",
                !res->project_known && !any_detail_has("configured as"));
}

/* Issue 15, item 9: a key given twice is refused (jansson alone keeps the last value), and the
 * message names the key unless it could be a secret. */
static void expect_duplicate(const char *text, const char *want, const char *absent) {
    json_error_t e;
    json_t *doc = json_loads(text, DIAG_JSON_FLAGS, &e);
    char msg[256] = "";
    bool dup = !doc && diag_json_duplicate_key(&e, msg, sizeof msg);
    char name[512];
    snprintf(name, sizeof name, "duplicate key %s -> '%s' (got '%s')", text, want, msg);
    expect_true(name,
                dup && strncmp(msg, want, strlen(want)) == 0 && (!absent || !strstr(msg, absent)));
    json_decref(doc);
}

static void test_duplicate_keys(void) {
    expect_duplicate("{\"uid\":1,\"uid\":2}", "uid: given twice in one object", NULL);
    expect_duplicate("{\"app_id\":\"" APP "\",\"channel\":\"a\",\"channel\":\"b\"}",
                     "channel: given twice", NULL);
    expect_duplicate("[{\"primary\":{\"enabled\":true,\"enabled\":false}}]", "enabled: given twice",
                     NULL);
    /* escapes are not decoded in jansson's text: not a field name, not quoted */
    expect_duplicate("{\"ab\":1,\"a\\u0062\":2}", "a key is given twice", "u0062");
    /* what could be a certificate is never quoted */
    expect_duplicate("{\"00112233445566778899aabbccddeeff\":1,"
                     "\"00112233445566778899aabbccddeeff\":1}",
                     "a key is given twice", "0011223344");
    json_error_t e;
    json_t *doc = json_loads("{\"uid\":", DIAG_JSON_FLAGS, &e);
    char msg[64] = "untouched";
    expect_true("another JSON error is not a duplicate key",
                !doc && !diag_json_duplicate_key(&e, msg, sizeof msg) &&
                    strcmp(msg, "untouched") == 0);
    doc = json_loads("{\"uid\":1,\"x\":{\"uid\":2}}", DIAG_JSON_FLAGS, &e);
    expect_true("the same key in two objects is fine", doc != NULL);
    json_decref(doc);
}

int main(void) {
    ctx = td_ctx_new();
    res = malloc(sizeof *res);
    if (!ctx || !res)
        return 2;
    for (int v = 6; v <= 7; v++) {
        test_each_cause(v);
        test_precedence(v);
        test_certificate_modes(v);
        test_token_text_hints(v);
    }
    test_hint_relative_006();
    test_hint_privilege_values();
    test_warnings();
    test_channel_names();
    test_app_id_as_token();
    test_samples();
    test_uids();
    test_uid_out_of_range();
    test_rtm();
    test_multi_service();
    test_platforms();
    test_sdk_version_forms();
    test_client_sdk();
    test_rtm_codes();
    test_json_shape();
    test_skip_details();
    test_requests();
    test_projects();
    test_batch_items();
    test_text_rule();
    test_duplicate_keys();
    test_project_other_case();
    test_integer_edges();
    free(res);
    td_ctx_free(ctx);
    return tu_report("diag_rules");
}

/* test_rules.c -- one test per rule of shared/spec/diagnosis.md, on tokens built here.
 *
 * Each case starts from a scenario that is joinable (a 007 or 006 rtc token for channel
 * "room-1", uid 1234, signed with the project's enabled primary certificate, issued 100 s before
 * `at`, living one hour) and changes one or two things: the expected verdict, cause, hints,
 * warnings and expires_at are then asserted exactly. Tokens are built with td_build007 /
 * td_build006 from core, so every rule is exercised on real bytes.
 *
 * Covered: each cause alone; pairs of causes (precedence); each hint and warning; boundaries
 * (at = expiry - 1 and = expiry; 30 and 31 s left; expire 0, 86400, 86401; uid 0 and
 * 4294967295; channel of 63 and 64 bytes; 006 crc_uid 0); every platform alias and the codes per
 * platform; rtc and rtm for both versions; repair; request validation.
 */
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
    expect_cause(NAME("channel_mismatch (case)"), DIAG_CAUSE_CHANNEL_MISMATCH, 0, 0);

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

    snprintf(s.text, sizeof s.text, "%s", APP);
    run(&s);
    expect_cause(NAME("app_id_as_token"), DIAG_CAUSE_TOKEN_MALFORMED, H(APP_ID_AS_TOKEN), 0);
    expect_true(NAME("app_id_as_token: no repair"), !res->has_repaired);

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

    /* channel names */
    char ch63[64], ch64[65];
    memset(ch63, 'a', 63);
    ch63[63] = '\0';
    memset(ch64, 'a', 64);
    ch64[64] = '\0';
    for (int v = 6; v <= 7; v++) {
        s = base(v);
        s.t_channel = ch63;
        set_channel(&s, ch63);
        run(&s);
        expect_cause(v == 7 ? "v7 channel of 63 bytes is valid" : "v6 channel of 63 bytes is valid",
                     DIAG_CAUSE_OK, 0, 0);
        s = base(v);
        s.t_channel = ch64;
        set_channel(&s, ch64);
        run(&s);
        expect_cause(v == 7 ? "v7 channel of 64 bytes" : "v6 channel of 64 bytes", DIAG_CAUSE_OK, 0,
                     W(CHANNEL_NAME_INVALID));
        char shown[64]; /* a detail shows 48 bytes of a client value, then "..." */
        snprintf(shown, sizeof shown, "'%.48s...'", ch64);
        expect_true(v == 7 ? "v7 long channel cut in its detail"
                           : "v6 long channel cut in its detail",
                    strstr(res->checks[6].detail, shown) != NULL &&
                        strcmp(res->checks[6].id, "channel") == 0);
    }
    const char *allowed = "az AZ 09!#$%&()+-:;<=.>?@[]^_{}|~,";
    s = base(7);
    s.t_channel = allowed;
    set_channel(&s, allowed);
    run(&s);
    expect_cause("every allowed channel character", DIAG_CAUSE_OK, 0, 0);
    const char *bad[] = {"room/1", "room\"1",        "room'1",  "room*1",
                         "room`1", "r\xc3\xa9union", "room\\1", "room\t1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = base(7);
        s.t_channel = bad[i];
        set_channel(&s, bad[i]);
        run(&s);
        expect_cause("channel with a character outside the set", DIAG_CAUSE_OK, 0,
                     W(CHANNEL_NAME_INVALID));
    }
    s = base_rtm(7);
    run(&s);
    expect_cause("rtm: no channel warning", DIAG_CAUSE_OK, 0, 0);

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
        {"0", 0, "token for uid text '0' refuses uid 0", DIAG_CAUSE_UID_MISMATCH, H(JOIN_UID_ZERO)},
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
        s.t_channel = v == 6 ? "alice" : "room-1";
        run(&s);
        snprintf(name, sizeof name, "v%d rtc token for rtm login", v);
        expect_cause(name, DIAG_CAUSE_SERVICE_MISSING, 0, 0);
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
    scen s = base_rtm(7);
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

/* ---- Codes per platform and aliases -----------------------------------------------------------
 */

static void test_platforms(void) {
    struct {
        const char *name;
        diag_platform p;
    } aliases[] = {
        {"native", DIAG_PLATFORM_NATIVE},  {"objc", DIAG_PLATFORM_OBJC},
        {"web", DIAG_PLATFORM_WEB},        {"android", DIAG_PLATFORM_NATIVE},
        {"windows", DIAG_PLATFORM_NATIVE}, {"linux", DIAG_PLATFORM_NATIVE},
        {"unity", DIAG_PLATFORM_NATIVE},   {"electron", DIAG_PLATFORM_NATIVE},
        {"flutter", DIAG_PLATFORM_NATIVE}, {"react-native", DIAG_PLATFORM_NATIVE},
        {"cocos", DIAG_PLATFORM_NATIVE},   {"ios", DIAG_PLATFORM_OBJC},
        {"macos", DIAG_PLATFORM_OBJC},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        diag_platform p = (diag_platform)99;
        expect_true(aliases[i].name, diag_platform_parse(aliases[i].name, &p) && p == aliases[i].p);
        /* through the JSON request too */
        json_t *o = json_pack("{s:s, s:s, s:s}", "app_id", APP, "channel", "c", "platform",
                              aliases[i].name);
        diag_request req;
        char err[128];
        expect_true("platform alias in a JSON request",
                    diag_request_from_json(o, AT, &req, err, sizeof err) &&
                        req.platform == aliases[i].p);
        json_decref(o);
    }
    diag_platform p;
    expect_true("unknown platform refused", !diag_platform_parse("symbian", &p));
    expect_true("empty platform refused", !diag_platform_parse("", &p));

    struct {
        diag_cause c;
        int native, objc, web;
        const char *nn, *on, *wn;
    } codes[] = {
        {DIAG_CAUSE_APP_ID_MALFORMED, 101, 101, 101, "ERR_INVALID_APP_ID",
         "AgoraErrorCodeInvalidAppId", "ERR_INVALID_VENDOR_KEY"},
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
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const diag_catalog_entry *e = diag_catalog(codes[i].c);
        char name[96];
        snprintf(name, sizeof name, "codes of %s", diag_cause_name(codes[i].c));
        expect_true(name, e && e->code[0].code == codes[i].native &&
                              e->code[1].code == codes[i].objc && e->code[2].code == codes[i].web &&
                              strcmp(e->code[0].name, codes[i].nn) == 0 &&
                              strcmp(e->code[1].name, codes[i].on) == 0 &&
                              strcmp(e->code[2].name, codes[i].wn) == 0);
        bool expiry =
            codes[i].c == DIAG_CAUSE_TOKEN_EXPIRED || codes[i].c == DIAG_CAUSE_PRIVILEGE_EXPIRED;
        snprintf(name, sizeof name, "also codes of %s", diag_cause_name(codes[i].c));
        expect_true(name,
                    expiry ? (e->also[2][0].code == 118 &&
                              strcmp(e->also[2][0].name, "ERR_DYNAMIC_KEY_EXPIRED") == 0 &&
                              e->also[2][1].code == 2 &&
                              strcmp(e->also[2][1].name, "K_TIMESTAMP_EXPIRED") == 0 &&
                              !e->also[0][0].name && !e->also[1][0].name)
                           : (!e->also[0][0].name && !e->also[1][0].name && !e->also[2][0].name));
        snprintf(name, sizeof name, "reason and solution of %s", diag_cause_name(codes[i].c));
        expect_true(name,
                    e->reason && strlen(e->reason) > 40 && e->solution && strlen(e->solution) > 40);
    }
    const char *expired_fix = diag_catalog(DIAG_CAUSE_TOKEN_EXPIRED)->solution;
    expect_true("expiry fix names renewToken and the callbacks",
                strstr(expired_fix, "renewToken") &&
                    strstr(expired_fix, "onTokenPrivilegeWillExpire") &&
                    strstr(expired_fix, "token-privilege-will-expire") &&
                    strstr(expired_fix, "onRequestToken") &&
                    strstr(expired_fix, "token-privilege-did-expire"));
    expect_true("token_required fix names No certificate",
                strstr(diag_catalog(DIAG_CAUSE_TOKEN_REQUIRED)->solution, "No certificate"));
    expect_true(
        "token_not_expected fix names the primary certificate",
        strstr(diag_catalog(DIAG_CAUSE_TOKEN_NOT_EXPECTED)->solution, "primary certificate"));
    expect_true("mismatch fix says exactly",
                strstr(diag_catalog(DIAG_CAUSE_UID_MISMATCH)->solution, "exactly"));

    /* The rendered error follows the request's platform. */
    scen s = base(7);
    s.req.platform = DIAG_PLATFORM_WEB;
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
    s.req.platform = DIAG_PLATFORM_WEB;
    run(&s);
    j = diag_result_to_json(res);
    expect_true("web token_required is 120",
                json_integer_value(json_object_get(json_object_get(j, "error"), "code")) == 120);
    json_decref(j);
}

/* ---- JSON shape and secrecy ------------------------------------------------------------------ */

static void test_json_shape(void) {
    scen s = base(7);
    s.proj.retired_count = 1;
    memcpy(s.proj.retired[0], CERT_R, 33);
    set_uid(&s, 99);
    run(&s);
    json_t *j = diag_result_to_json(res);
    const char *keys[] = {"verdict", "cause",      "error",      "hints", "warnings", "repaired",
                          "checks",  "expires_at", "expires_in", "token", "project",  "at"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        expect_true(keys[i], json_object_get(j, keys[i]) != NULL);
    json_t *checks = json_object_get(j, "checks");
    expect_true("11 checks", json_array_size(checks) == DIAG_CHECK_COUNT);
    const char *ids[] = {"app_id_format", "token_present", "token_expected",  "token_decodes",
                         "app_id_match",  "service",       "channel",         "uid",
                         "signature",     "token_expiry",  "privilege_expiry"};
    for (size_t i = 0; i < DIAG_CHECK_COUNT; i++)
        expect_true(ids[i],
                    strcmp(json_string_value(json_object_get(json_array_get(checks, i), "id")),
                           ids[i]) == 0);
    json_t *uid = json_array_get(checks, 7);
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

    /* The catalog as JSON: every cause. */
    j = diag_catalog_to_json();
    expect_true("catalog lists every cause",
                json_array_size(json_object_get(j, "errors")) == DIAG_CAUSE_COUNT);
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
    expect_bad_request("{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":\"12\"}", "uid");
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
                    req.platform == DIAG_PLATFORM_NATIVE);
    json_decref(o);
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
    test_warnings();
    test_uids();
    test_rtm();
    test_multi_service();
    test_platforms();
    test_json_shape();
    test_skip_details();
    test_requests();
    test_projects();
    free(res);
    td_ctx_free(ctx);
    return tu_report("diag_rules");
}

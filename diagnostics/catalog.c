/* catalog.c -- the error catalog and every name the diagnosis speaks.
 *
 * Design
 * ------
 * One static table (catalog) holds, for each cause, the code and constant name per platform
 * (native, objc, web), the codes the platform may also report, a short title, the reason and
 * the fix. The reason and fix are written for a support engineer in our own words from the
 * vendor documents in shared/seeds/: they name the callbacks and calls to use (renewToken on
 * onTokenPrivilegeWillExpire / token-privilege-will-expire, a fresh join on onRequestToken /
 * token-privilege-did-expire) and the Console setting to change (primary certificate, "No
 * certificate"). Everything else that turns an enum into text (causes, hints, warnings,
 * platforms, services, roles, verdicts, check statuses) lives here too, so that there is one
 * place to read every word the product says.
 *
 * Tables are indexed by the enums of tddiag.h; a static assertion keeps each table the size of
 * its enum so that adding a value without its text fails to compile.
 */
#include "tddiag.h"

#include <string.h>
#include <strings.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Codes ---------------------------------------------------------------------------------- */

/* The three codes of "the token is invalid" (110), used by most causes. */
#define CODES_INVALID_TOKEN                                                                        \
    {                                                                                              \
        {110, "ERR_INVALID_TOKEN"}, {110, "AgoraErrorCodeInvalidToken"}, {                         \
            110, "ERR_NO_AUTHORIZED"                                                               \
        }                                                                                          \
    }
#define CODES_NONE                                                                                 \
    {                                                                                              \
        {0, NULL}, {0, NULL}, {                                                                    \
            0, NULL                                                                                \
        }                                                                                          \
    }
#define ALSO_NONE                                                                                  \
    {                                                                                              \
        {{0, NULL}, {0, NULL}}, {{0, NULL}, {0, NULL}}, {                                          \
            {0, NULL}, {                                                                           \
                0, NULL                                                                            \
            }                                                                                      \
        }                                                                                          \
    }
/* Web reports an expired token as 109, or as 118 ERR_DYNAMIC_KEY_EXPIRED / 2 K_TIMESTAMP_EXPIRED.
 */
#define ALSO_WEB_EXPIRY                                                                            \
    {                                                                                              \
        {{0, NULL}, {0, NULL}}, {{0, NULL}, {0, NULL}}, {                                          \
            {118, "ERR_DYNAMIC_KEY_EXPIRED"}, {                                                    \
                2, "K_TIMESTAMP_EXPIRED"                                                           \
            }                                                                                      \
        }                                                                                          \
    }

/* The fix for an expired token or privilege: the same calls, whichever expired. */
#define RENEW_ADVICE                                                                               \
    "Fetch a new token from your token server. While the client is in the channel, renew "         \
    "before expiry: onTokenPrivilegeWillExpire (web: the token-privilege-will-expire event) "      \
    "fires 30 seconds before the token expires -- call renewToken with the new token then. Once "  \
    "it has expired, onRequestToken (web: token-privilege-did-expire) fires: join again "          \
    "(joinChannel / Client.join; RTM: login) with a fresh token."

static const diag_catalog_entry catalog[DIAG_CAUSE_COUNT] = {
    {DIAG_CAUSE_APP_ID_MALFORMED,
     {{101, "ERR_INVALID_APP_ID"},
      {101, "AgoraErrorCodeInvalidAppId"},
      {101, "ERR_INVALID_VENDOR_KEY"}},
     ALSO_NONE,
     "malformed App ID",
     "The App ID the client initialises with is not 32 hexadecimal characters, so the platform "
     "cannot find a project for it: usually a typo, a truncated or padded copy, a placeholder "
     "left in the code, or the App Certificate pasted in its place.",
     "Copy the App ID again from the project page of the Console and pass exactly those 32 hex "
     "characters when initialising the SDK (and to the token server that builds its tokens)."},
    {DIAG_CAUSE_TOKEN_REQUIRED,
     {{110, "ERR_INVALID_TOKEN"},
      {110, "AgoraErrorCodeInvalidToken"},
      {120, "ERR_DYNAMIC_USE_STATIC_KEY"}},
     ALSO_NONE,
     "token required",
     "The project has an enabled App Certificate (primary or secondary) and its \"No "
     "certificate\" option is off, so every join must present a token; this join passes none "
     "(web: a dynamic-key project joined with the static App ID alone).",
     "Generate a token on your token server with the project's enabled certificate and pass it "
     "when joining (joinChannel / Client.join; RTM: login). To keep App ID-only joins allowed "
     "(testing only), turn on \"No certificate\" for the project in the Console, or initialise "
     "with the App ID of a project that has no certificate enabled."},
    {DIAG_CAUSE_TOKEN_NOT_EXPECTED,
     {{110, "ERR_INVALID_TOKEN"},
      {110, "AgoraErrorCodeInvalidToken"},
      {119, "ERR_STATIC_USE_DYNAMIC_KEY"}},
     ALSO_NONE,
     "token given but the project has no certificate enabled",
     "The join passes a token, but the project has no enabled App Certificate: a token is only "
     "accepted by a project whose primary or secondary certificate is enabled (web: a static-key "
     "project joined with a dynamic key).",
     "Either join without a token (pass null or an empty token), or enable the primary "
     "certificate of the project in the Console and build the token on your server with that "
     "certificate."},
    {DIAG_CAUSE_TOKEN_MALFORMED, CODES_INVALID_TOKEN, ALSO_NONE, "malformed token",
     "The token text does not decode as an AccessToken2 (007) or AccessToken (006): it was cut "
     "short, altered on the way, wrapped in quotes or whitespace, URL-decoded (a '+' turned into "
     "a space), is an App ID or a legacy key, or is not a token at all. The hints say which.",
     "Pass the token exactly as the token server returned it: no surrounding quotes or "
     "whitespace, no URL decoding, nothing cut off. Replace a legacy key (001-005) or an App ID "
     "by a 006 or 007 token built with the current token libraries."},
    {DIAG_CAUSE_APP_ID_MISMATCH, CODES_INVALID_TOKEN, ALSO_NONE, "App ID mismatch",
     "The token was built for another App ID than the one the client initialises with; the "
     "comparison is exact, letter case included.",
     "Build the token with exactly the App ID the client initialises with (same characters, "
     "same case) and that project's certificate, or initialise with the App ID the token was "
     "built for."},
    {DIAG_CAUSE_SERVICE_MISSING, CODES_INVALID_TOKEN, ALSO_NONE, "no privilege for this service",
     "The token grants nothing for this service: joining an RTC channel needs an rtc service "
     "with join_channel (007) or privilege 1 (006); an RTM login needs an rtm service with login "
     "(007) or privilege 1000 (006). Usually an RTM token is used to join a channel, or the "
     "reverse.",
     "Build the token with the builder of the service the client uses: RtcTokenBuilder for "
     "joinChannel / Client.join, RtmTokenBuilder for the RTM login, with the same App ID, "
     "channel and user as the client."},
    {DIAG_CAUSE_CHANNEL_MISMATCH, CODES_INVALID_TOKEN, ALSO_NONE, "channel mismatch",
     "The token was built for another channel name than the one the client joins; names are "
     "compared exactly (letter case, spaces and punctuation count).",
     "Build the token with exactly the channel name passed to joinChannel / Client.join, or "
     "join the channel the token was built for. App ID, channel and uid must be exactly those "
     "used to build the token."},
    {DIAG_CAUSE_UID_MISMATCH, CODES_INVALID_TOKEN, ALSO_NONE, "uid mismatch",
     "The token was built for another user: its uid (or user account) is not the one used to "
     "join. A token built for one uid refuses uid 0 and any other uid; a token built with a "
     "user account refuses the numeric uid and the reverse.",
     "Build the token with exactly the uid or user account the client joins with (or uid 0 to "
     "accept any uid) and join with that same value; for RTM, log in with the user id the "
     "token was built for. App ID, channel and uid must be exactly those used to build the "
     "token."},
    {DIAG_CAUSE_SIGNATURE_INVALID, CODES_INVALID_TOKEN, ALSO_NONE, "signature does not verify",
     "None of the project's enabled App Certificates verifies the token's signature: it was "
     "signed with another certificate (a disabled or retired one, another project's, or the App "
     "ID itself), or the token was altered after it was built.",
     "Build the token on your server with the project's current enabled certificate (primary "
     "or secondary, as shown in the Console). After rotating or disabling a certificate, update "
     "the token server's configuration to the enabled one."},
    {DIAG_CAUSE_TOKEN_EXPIRED,
     {{109, "ERR_TOKEN_EXPIRED"},
      {109, "AgoraErrorCodeTokenExpired"},
      {109, "ERR_DYNAMIC_KEY_TIMEOUT"}},
     ALSO_WEB_EXPIRY,
     "token expired",
     "The token's validity has ended: it expires at its issue time plus its lifetime (24 hours "
     "at most; a lifetime of 0 or over 24 hours counts as 24 hours).",
     RENEW_ADVICE},
    {DIAG_CAUSE_PRIVILEGE_EXPIRED,
     {{109, "ERR_TOKEN_EXPIRED"},
      {109, "AgoraErrorCodeTokenExpired"},
      {109, "ERR_DYNAMIC_KEY_TIMEOUT"}},
     ALSO_WEB_EXPIRY,
     "privilege expired",
     "The token itself is still valid, but the privilege this join needs (join_channel for RTC, "
     "login for RTM) has expired: the privilege expiry given when the token was built has "
     "passed.",
     RENEW_ADVICE " Give the privilege a lifetime in seconds (007) or now + lifetime as a Unix "
                  "time (006)."},
    {DIAG_CAUSE_OK, CODES_NONE, ALSO_NONE, "joinable",
     "The token matches this App ID, service, channel and user, one of the project's enabled "
     "certificates verifies its signature, and neither it nor its privilege has expired.",
     "Nothing to fix. Renew the token with renewToken when onTokenPrivilegeWillExpire "
     "(web: token-privilege-will-expire) fires."},
    {DIAG_CAUSE_OK_APP_ID_ONLY, CODES_NONE, ALSO_NONE, "joinable with the App ID only",
     "The project accepts joins without a token (no certificate enabled, or \"No certificate\" "
     "is on) and this join passes none.",
     "Nothing to fix. For production, enable an App Certificate, turn \"No certificate\" off "
     "and join with tokens built on your server."},
    {DIAG_CAUSE_PROJECT_UNKNOWN, CODES_NONE, ALSO_NONE, "project unknown",
     "There is no certificate configuration for this App ID, so whether the project requires a "
     "token and which certificate signs it cannot be told; every check that needs no "
     "configuration passed.",
     "Store the project's configuration (tokendoctor project put, or PUT /v1/projects/{app_id}) "
     "and diagnose again for a definitive answer."},
};

const diag_catalog_entry *diag_catalog(diag_cause c) {
    if ((unsigned)c >= DIAG_CAUSE_COUNT)
        return NULL;
    return &catalog[c];
}

/* ---- Names ---------------------------------------------------------------------------------- */

static const char *const cause_names[] = {
    "app_id_malformed",  "token_required",  "token_not_expected", "token_malformed",
    "app_id_mismatch",   "service_missing", "channel_mismatch",   "uid_mismatch",
    "signature_invalid", "token_expired",   "privilege_expired",  "ok",
    "ok_app_id_only",    "project_unknown",
};
_Static_assert(COUNT_OF(cause_names) == DIAG_CAUSE_COUNT, "one name per cause");

static const char *const hint_names[] = {
    "app_id_as_token",
    "legacy_version",
    "unsupported_version",
    "whitespace",
    "quoted",
    "url_decoded",
    "not_base64",
    "truncated",
    "corrupted",
    "app_id_case_differs",
    "join_uid_zero",
    "signed_with_disabled_certificate",
    "signed_with_retired_certificate",
    "signed_with_app_id",
    "privilege_expire_looks_relative",
};
_Static_assert(COUNT_OF(hint_names) == DIAG_HINT_COUNT, "one name per hint");

static const char *const hint_texts[] = {
    "the token is 32 hex characters: an App ID was passed where the token belongs",
    "the token is a legacy dynamic key (001-005): build a 006 or 007 token instead",
    "the token does not start with a known version (006 or 007)",
    "the token has leading or trailing whitespace: pass it without",
    "the token is wrapped in quotes: pass it without them",
    "the token contains spaces where '+' belonged: it was URL-decoded on the way; "
    "URL-encode it or send it in a JSON body",
    "the token contains characters outside the base64 alphabet",
    "the token ends before its content does: it was cut short (copy, column or length limit)",
    "the token's content is damaged (compressed data does not check out)",
    "the two App IDs differ only in letter case: App IDs are compared exactly",
    "the join uses uid 0 but the token was built for one specific uid: join with that uid, "
    "or build the token with uid 0",
    "a disabled certificate of the project signs the token: enable it, or build tokens with "
    "the enabled one",
    "a retired (replaced or deleted) certificate of the project signs the token: update the "
    "token server to the current certificate",
    "the App ID was used as the certificate to sign the token: configure the token server "
    "with the App Certificate",
    "the 006 join privilege expiry is a small number: a lifetime in seconds was passed where "
    "a Unix time (now + lifetime) belongs",
};
_Static_assert(COUNT_OF(hint_texts) == DIAG_HINT_COUNT, "one text per hint");

static const char *const warning_names[] = {
    "project_unknown",           "expires_soon",     "lifetime_over_24h",
    "expire_looks_absolute",     "issued_in_future", "channel_name_invalid",
    "publish_privilege_missing",
};
_Static_assert(COUNT_OF(warning_names) == DIAG_WARN_COUNT, "one name per warning");

static const char *const warning_texts[] = {
    "no configuration is stored for this App ID: certificate rules and the signature were not "
    "checked",
    "the token expires within 30 seconds: onTokenPrivilegeWillExpire "
    "(web: token-privilege-will-expire) fires now; fetch a new token and call renewToken",
    "the token's lifetime is over 24 hours: it is cut to 24 hours",
    "the token's lifetime looks like a Unix time: pass a number of seconds (e.g. 3600), "
    "not a timestamp",
    "the token was issued more than 5 minutes in the future: the token server's clock is ahead",
    "the channel name is 64 bytes or longer or has a character the SDKs do not accept "
    "(a-z A-Z 0-9 space ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ ,)",
    "co-host authentication is on and the token has no publish privilege: the join works "
    "but publishing as a host will fail; build a publisher token",
};
_Static_assert(COUNT_OF(warning_texts) == DIAG_WARN_COUNT, "one text per warning");

const char *diag_cause_name(diag_cause c) {
    return (unsigned)c < DIAG_CAUSE_COUNT ? cause_names[c] : "unknown";
}

const char *diag_hint_name(diag_hint h) {
    return (unsigned)h < DIAG_HINT_COUNT ? hint_names[h] : "unknown";
}

const char *diag_hint_text(diag_hint h) {
    return (unsigned)h < DIAG_HINT_COUNT ? hint_texts[h] : "";
}

const char *diag_warning_name(diag_warning w) {
    return (unsigned)w < DIAG_WARN_COUNT ? warning_names[w] : "unknown";
}

const char *diag_warning_text(diag_warning w) {
    return (unsigned)w < DIAG_WARN_COUNT ? warning_texts[w] : "";
}

const char *diag_verdict_name(diag_verdict v) {
    switch (v) {
    case DIAG_JOINABLE:
        return "joinable";
    case DIAG_REJECTED:
        return "rejected";
    case DIAG_UNVERIFIABLE:
        return "unverifiable";
    }
    return "unknown";
}

const char *diag_check_status_name(diag_check_status s) {
    switch (s) {
    case DIAG_PASS:
        return "pass";
    case DIAG_FAIL:
        return "fail";
    case DIAG_WARN:
        return "warn";
    case DIAG_SKIP:
        return "skip";
    }
    return "unknown";
}

/* ---- Platforms, services, roles --------------------------------------------------------- */

typedef struct {
    const char *name;
    diag_platform platform;
} platform_alias;

/* diagnosis.md "Inputs": the SDK names a support engineer is told, mapped to the three code
 * tables. Matched case-insensitively: "iOS" and "Android" are how people write them. */
static const platform_alias platform_aliases[] = {
    {"native", DIAG_PLATFORM_NATIVE},  {"objc", DIAG_PLATFORM_OBJC},
    {"web", DIAG_PLATFORM_WEB},        {"android", DIAG_PLATFORM_NATIVE},
    {"windows", DIAG_PLATFORM_NATIVE}, {"linux", DIAG_PLATFORM_NATIVE},
    {"unity", DIAG_PLATFORM_NATIVE},   {"electron", DIAG_PLATFORM_NATIVE},
    {"flutter", DIAG_PLATFORM_NATIVE}, {"react-native", DIAG_PLATFORM_NATIVE},
    {"cocos", DIAG_PLATFORM_NATIVE},   {"ios", DIAG_PLATFORM_OBJC},
    {"macos", DIAG_PLATFORM_OBJC},
};

bool diag_platform_parse(const char *name, diag_platform *out) {
    for (size_t i = 0; name && i < COUNT_OF(platform_aliases); i++)
        if (strcasecmp(name, platform_aliases[i].name) == 0) {
            *out = platform_aliases[i].platform;
            return true;
        }
    return false;
}

const char *diag_platform_name(diag_platform p) {
    switch (p) {
    case DIAG_PLATFORM_NATIVE:
        return "native";
    case DIAG_PLATFORM_OBJC:
        return "objc";
    case DIAG_PLATFORM_WEB:
        return "web";
    }
    return "native";
}

bool diag_service_parse(const char *name, diag_service *out) {
    if (name && strcmp(name, "rtc") == 0)
        *out = DIAG_SERVICE_RTC;
    else if (name && strcmp(name, "rtm") == 0)
        *out = DIAG_SERVICE_RTM;
    else
        return false;
    return true;
}

bool diag_role_parse(const char *name, diag_role *out) {
    if (name && (strcmp(name, "publisher") == 0 || strcmp(name, "host") == 0))
        *out = DIAG_ROLE_PUBLISHER;
    else if (name && (strcmp(name, "subscriber") == 0 || strcmp(name, "audience") == 0))
        *out = DIAG_ROLE_SUBSCRIBER;
    else
        return false;
    return true;
}

/* ---- The catalog as JSON (GET /v1/errors) --------------------------------------------------- */

static json_t *code_json(const diag_code *c) {
    if (!c->name)
        return json_null();
    return json_pack("{s:i, s:s}", "code", c->code, "name", c->name);
}

static json_t *platform_codes_json(const diag_catalog_entry *e, diag_platform p) {
    const diag_code *c = &e->code[p];
    if (!c->name)
        return json_null();
    json_t *also = json_array();
    for (size_t i = 0; i < 2; i++)
        if (e->also[p][i].name)
            json_array_append_new(also, code_json(&e->also[p][i]));
    return json_pack("{s:i, s:s, s:o}", "code", c->code, "name", c->name, "also", also);
}

json_t *diag_catalog_to_json(void) {
    json_t *errors = json_array();
    for (size_t i = 0; i < DIAG_CAUSE_COUNT; i++) {
        const diag_catalog_entry *e = &catalog[i];
        json_t *codes =
            json_pack("{s:o, s:o, s:o}", "native", platform_codes_json(e, DIAG_PLATFORM_NATIVE),
                      "objc", platform_codes_json(e, DIAG_PLATFORM_OBJC), "web",
                      platform_codes_json(e, DIAG_PLATFORM_WEB));
        json_array_append_new(errors,
                              json_pack("{s:s, s:s, s:o, s:s, s:s}", "cause", cause_names[e->cause],
                                        "title", e->title, "codes", codes, "reason", e->reason,
                                        "solution", e->solution));
    }
    json_t *hints = json_array();
    for (size_t i = 0; i < DIAG_HINT_COUNT; i++)
        json_array_append_new(
            hints, json_pack("{s:s, s:s}", "hint", hint_names[i], "text", hint_texts[i]));
    json_t *warnings = json_array();
    for (size_t i = 0; i < DIAG_WARN_COUNT; i++)
        json_array_append_new(warnings, json_pack("{s:s, s:s}", "warning", warning_names[i], "text",
                                                  warning_texts[i]));
    return json_pack("{s:o, s:o, s:o}", "errors", errors, "hints", hints, "warnings", warnings);
}

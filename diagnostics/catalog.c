/* catalog.c -- the error catalog and every name the diagnosis speaks.
 *
 * Design
 * ------
 * The catalog is one table keyed by (diag_table, cause): for an RTC join, an RTM 1.x login and
 * an RTM 2.x (Signaling) login, each cause's code and constant name per platform (native, objc,
 * web), the codes the platform may also report, a short title, the reason and the fix -- in the
 * words of that service and SDK generation (joinChannel / renewToken / onRequestToken for RTC;
 * login / renewToken / onTokenExpired for RTM 1.x; RTMClient.renewToken and the
 * tokenPrivilegeWillExpire event for 2.x). Which table a diagnosis answers from is
 * diag_table_of's decision (sdk.c); adding a generation is adding a table, not a code path.
 *
 * Hints have their own table: a name, a sentence, the causes whose check finds them, and, for
 * the few that change what to do (with expired_at_issue, fetching a new token cannot help), a
 * fix that replaces the cause's solution. Everything else that turns an enum into text
 * (platforms, services, roles, verdicts, check statuses) lives here too, so that there is one
 * place to read every word the product says. The reasons and fixes are our own words for the
 * vendor documents the product comes from.
 *
 * Tables are indexed by the enums of tddiag.h; static assertions keep each table the size of its
 * enum, so that adding a value without its text fails to compile.
 */
#include "tddiag.h"

#include <string.h>
#include <strings.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Codes ---------------------------------------------------------------------------------- */

/* One code per platform (native, objc, web). */
#define CODES(nc, nn, oc, on, wc, wn)                                                              \
    {                                                                                              \
        {nc, nn}, {oc, on}, {                                                                      \
            wc, wn                                                                                 \
        }                                                                                          \
    }
#define SAME_CODE(c, n) CODES(c, n, c, n, c, n)
#define CODES_NONE CODES(0, NULL, 0, NULL, 0, NULL)
#define ALSO_NONE                                                                                  \
    {                                                                                              \
        {{0, NULL}, {0, NULL}}, {{0, NULL}, {0, NULL}}, {                                          \
            {0, NULL}, {                                                                           \
                0, NULL                                                                            \
            }                                                                                      \
        }                                                                                          \
    }

/* RTC: "the token is invalid" (110), and web's other names for an expired token. */
#define RTC_INVALID_TOKEN                                                                          \
    CODES(110, "ERR_INVALID_TOKEN", 110, "AgoraErrorCodeInvalidToken", 110, "ERR_NO_AUTHORIZED")
#define RTC_EXPIRED                                                                                \
    CODES(109, "ERR_TOKEN_EXPIRED", 109, "AgoraErrorCodeTokenExpired", 109,                        \
          "ERR_DYNAMIC_KEY_TIMEOUT")
#define RTC_INVALID_APP_ID                                                                         \
    CODES(101, "ERR_INVALID_APP_ID", 101, "AgoraErrorCodeInvalidAppId", 101,                       \
          "ERR_INVALID_VENDOR_KEY")
#define ALSO_WEB_EXPIRY                                                                            \
    {                                                                                              \
        {{0, NULL}, {0, NULL}}, {{0, NULL}, {0, NULL}}, {                                          \
            {118, "ERR_DYNAMIC_KEY_EXPIRED"}, {                                                    \
                2, "K_TIMESTAMP_EXPIRED"                                                           \
            }                                                                                      \
        }                                                                                          \
    }

/* RTM 1.x login errors: the same numbers on every platform, objc names of its own. */
#define RTM1_INVALID_APP_ID                                                                        \
    CODES(4, "LOGIN_ERR_INVALID_APP_ID", 4, "AgoraRtmLoginErrorInvalidAppId", 4,                   \
          "LOGIN_ERR_INVALID_APP_ID")
#define RTM1_INVALID_TOKEN                                                                         \
    CODES(5, "LOGIN_ERR_INVALID_TOKEN", 5, "AgoraRtmLoginErrorInvalidToken", 5,                    \
          "LOGIN_ERR_INVALID_TOKEN")
#define RTM1_EXPIRED                                                                               \
    CODES(6, "LOGIN_ERR_TOKEN_EXPIRED", 6, "AgoraRtmLoginErrorTokenExpired", 6,                    \
          "LOGIN_ERR_TOKEN_EXPIRED")
/* The Web SDK may also reject a login without the RTM service as 2 (diagnosis.md puts it in the
 * web column only). */
#define ALSO_RTM1_REJECTED                                                                         \
    {                                                                                              \
        {{0, NULL}, {0, NULL}}, {{0, NULL}, {0, NULL}}, {                                          \
            {2, "LOGIN_ERR_REJECTED"}, {                                                           \
                0, NULL                                                                            \
            }                                                                                      \
        }                                                                                          \
    }

/* RTM 2.x (RTMBaseError.errorCode on the web): one code for every platform. */
#define RTM2_INVALID_APP_ID SAME_CODE(-10003, "RTM_ERROR_INVALID_APP_ID")
#define RTM2_INVALID_TOKEN SAME_CODE(-10005, "RTM_ERROR_INVALID_TOKEN")
#define RTM2_EXPIRED SAME_CODE(-10009, "RTM_ERROR_TOKEN_EXPIRED")
#define RTM2_INCONSISTENT_APP_ID SAME_CODE(-10016, "RTM_ERROR_INCONSISTENT_APPID")

/* ---- Reasons and fixes shared by the tables ------------------------------------------------- */

#define REASON_APP_ID_MALFORMED                                                                    \
    "The App ID the client initialises with is not 32 hexadecimal characters, so the platform "    \
    "cannot find a project for it: usually a typo, a truncated or padded copy, a placeholder "     \
    "left in the code, or the App Certificate pasted in its place."
#define REASON_TOKEN_MALFORMED                                                                     \
    "The token text does not decode as an AccessToken2 (007) or AccessToken (006): it was cut "    \
    "short, altered on the way (quotes, whitespace, a \"Bearer \" prefix, JSON or URL escaping, "  \
    "a '+' URL-decoded into a space), is a legacy key, or is not a token at all. The hints say "   \
    "which."
#define FIX_TOKEN_MALFORMED                                                                        \
    "Pass the token exactly as the token server returned it: no surrounding quotes or "            \
    "whitespace, no header prefix, no extra JSON or URL encoding, nothing cut off (when a "        \
    "repaired token is offered, that is the text to pass). Replace a legacy key (001-005) by a "   \
    "006 or 007 token built with the current token libraries."
#define REASON_APP_ID_MISMATCH                                                                     \
    "The token was built for another App ID than the one the client initialises with; the "        \
    "comparison is exact, letter case included."
#define REASON_SIGNATURE                                                                           \
    "None of the project's enabled App Certificates verifies the token's signature: it was "       \
    "signed with another certificate (a disabled or retired one, another project's, the "          \
    "documentation's sample, or the App ID itself), or the token was altered after it was built."
#define FIX_SIGNATURE                                                                              \
    "Build the token on your server with the project's current enabled certificate (primary or "   \
    "secondary, as shown in the Console). After rotating or disabling a certificate, update the "  \
    "token server's configuration to the enabled one."
#define REASON_TOKEN_EXPIRED                                                                       \
    "The token's validity has ended: it expires at its issue time plus its lifetime (24 hours at " \
    "most; a lifetime of 0 or over 24 hours counts as 24 hours)."
#define REASON_PROJECT_UNKNOWN                                                                     \
    "There is no certificate configuration for this App ID, so whether the project requires a "    \
    "token and which certificate signs it cannot be told; every check that needs no "              \
    "configuration passed."
#define FIX_PROJECT_UNKNOWN                                                                        \
    "Store the project's configuration (tokendoctor project put, or PUT /v1/projects/{app_id}) "   \
    "and diagnose again for a definitive answer."
#define FIX_APP_ID_ONLY                                                                            \
    "Nothing to fix. For production, enable an App Certificate, turn \"No certificate\" off and "  \
    "use tokens built on your server."

#define RTC_RENEW                                                                                  \
    "Fetch a new token from your token server. While the client is in the channel, renew before "  \
    "expiry: onTokenPrivilegeWillExpire (web: the token-privilege-will-expire event) fires 30 "    \
    "seconds before the token expires -- call renewToken with the new token then. Once it has "    \
    "expired, onRequestToken (web: token-privilege-did-expire) fires: join again (joinChannel / "  \
    "Client.join) with a fresh token."
#define RTM1_RENEW                                                                                 \
    "Fetch a new RTM token from your token server and log in again with it (login). While "        \
    "logged in, renew before expiry: onTokenPrivilegeWillExpire (web: the "                        \
    "TokenPrivilegeWillExpire event; RTM 1.5.0 and later) fires 30 seconds before -- call "        \
    "renewToken with the new token then. Once it has expired, onTokenExpired (web: the "           \
    "TokenExpired event) fires: renewToken with a fresh token, or log in again."
#define RTM2_RENEW                                                                                 \
    "Fetch a new RTM token (RtmTokenBuilder2) from your token server and log in again with it. "   \
    "While logged in, renew before expiry: the tokenPrivilegeWillExpire event fires shortly "      \
    "before the token expires -- call RTMClient.renewToken with the new token then."

/* ---- The tables ------------------------------------------------------------------------------ */

static const diag_catalog_entry catalog[DIAG_TABLE_COUNT][DIAG_CAUSE_COUNT] = {
    /* RTC joins */
    [DIAG_TABLE_RTC][DIAG_CAUSE_APP_ID_MALFORMED] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_APP_ID_MALFORMED, RTC_INVALID_APP_ID, ALSO_NONE,
         "malformed App ID", REASON_APP_ID_MALFORMED,
         "Copy the App ID again from the project page of the Console and pass exactly those 32 hex "
         "characters when initialising the SDK (and to the token server that builds its tokens)."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_CHANNEL_NAME_INVALID] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_CHANNEL_NAME_INVALID,
         CODES(102, "ERR_INVALID_CHANNEL_NAME", 102, "AgoraErrorCodeInvalidChannelId", 0,
               "INVALID_PARAMS"),
         ALSO_NONE, "invalid channel name",
         "The SDK refuses the channel name before it contacts the platform: it is 64 bytes or "
         "longer, or has a character outside a-z A-Z 0-9 space ! # $ % & ( ) + - : ; < = . > ? @ [ "
         "] ^ _ { } | ~ , (the Web SDK throws INVALID_PARAMS from Client.join).",
         "Use a channel name of at most 63 bytes made of those characters only (map other names, "
         "e.g. a user name with accents or a URL, to an id), and build the token for that same "
         "name."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_TOKEN_REQUIRED] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_REQUIRED,
         CODES(110, "ERR_INVALID_TOKEN", 110, "AgoraErrorCodeInvalidToken", 120,
               "ERR_DYNAMIC_USE_STATIC_KEY"),
         ALSO_NONE, "token required",
         "The project has an enabled App Certificate (primary or secondary) and its \"No "
         "certificate\" option is off, so every join must present a token; this join passes none, "
         "or passes the App ID where the token belongs (web: a dynamic-key project joined with the "
         "static key).",
         "Generate a token on your token server with the project's enabled certificate and pass it "
         "when joining (joinChannel / Client.join). To keep App ID-only joins allowed (testing "
         "only), turn on \"No certificate\" for the project in the Console."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_TOKEN_NOT_EXPECTED] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_NOT_EXPECTED,
         CODES(110, "ERR_INVALID_TOKEN", 110, "AgoraErrorCodeInvalidToken", 119,
               "ERR_STATIC_USE_DYNAMIC_KEY"),
         ALSO_NONE, "token given but the project has no certificate enabled",
         "The join passes a token, but the project has no enabled App Certificate: a token is only "
         "accepted by a project whose primary or secondary certificate is enabled (web: a "
         "static-key project joined with a dynamic key).",
         "Either join without a token (pass null or an empty token), or enable the primary "
         "certificate of the project in the Console and build the token on your server with that "
         "certificate."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_TOKEN_MALFORMED] = {DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_MALFORMED,
                                                    RTC_INVALID_TOKEN, ALSO_NONE, "malformed token",
                                                    REASON_TOKEN_MALFORMED, FIX_TOKEN_MALFORMED},
    [DIAG_TABLE_RTC][DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, RTC_INVALID_APP_ID, ALSO_NONE,
         "SDK too old for AccessToken2",
         "The client's Video SDK predates AccessToken2: it cannot read a 007 token and the gateway "
         "answers \"invalid vendor key\". The first releases that read 007 are Web 4.8.0, Flutter "
         "(agora_rtc_engine) 4.2.0, and 3.5.2 on Android, iOS, macOS, Windows, Linux, Electron, "
         "Unity and React Native.",
         "Upgrade the client's Video SDK to at least its first release that reads 007 (see why), "
         "or have the token server "
         "build a 006 token with the AccessToken builder (RtcTokenBuilder) for the clients that "
         "cannot upgrade yet: every SDK that reads 007 still reads 006."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_APP_ID_MISMATCH] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_APP_ID_MISMATCH, RTC_INVALID_TOKEN, ALSO_NONE,
         "App ID mismatch", REASON_APP_ID_MISMATCH,
         "Build the token with exactly the App ID the client initialises with (same characters, "
         "same case) and that project's certificate, or initialise with the App ID the token was "
         "built for."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_SERVICE_MISSING] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_SERVICE_MISSING, RTC_INVALID_TOKEN, ALSO_NONE,
         "no privilege to join a channel",
         "The token grants nothing for an RTC join: joining a channel needs an rtc service with "
         "join_channel (007) or privilege 1 (006). Usually an RTM (or chat) token is used to join "
         "a channel.",
         "Build the token with the RTC builder (RtcTokenBuilder2 for 007, RtcTokenBuilder for 006) "
         "with the same App ID, channel and uid as the client's joinChannel / Client.join."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_CHANNEL_MISMATCH] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_CHANNEL_MISMATCH, RTC_INVALID_TOKEN, ALSO_NONE,
         "channel mismatch",
         "The token was built for another channel name than the one the client joins; names are "
         "compared exactly (letter case, spaces and punctuation count).",
         "Build the token with exactly the channel name passed to joinChannel / Client.join, or "
         "join the channel the token was built for. App ID, channel and uid must be exactly those "
         "used to build the token."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_UID_MISMATCH] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_UID_MISMATCH, RTC_INVALID_TOKEN, ALSO_NONE, "uid mismatch",
         "The token was built for another user: its uid (or user account) is not the one used to "
         "join. A token built for one uid refuses uid 0 and any other uid; a token built with a "
         "user account refuses the numeric uid and the reverse.",
         "Build the token with exactly the uid or user account the client joins with (or uid 0 to "
         "accept any uid) and join with that same value. App ID, channel and uid must be exactly "
         "those used to build the token."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_SIGNATURE_INVALID] = {DIAG_TABLE_RTC, DIAG_CAUSE_SIGNATURE_INVALID,
                                                      RTC_INVALID_TOKEN, ALSO_NONE,
                                                      "signature does not verify", REASON_SIGNATURE,
                                                      FIX_SIGNATURE},
    [DIAG_TABLE_RTC][DIAG_CAUSE_TOKEN_EXPIRED] = {DIAG_TABLE_RTC, DIAG_CAUSE_TOKEN_EXPIRED,
                                                  RTC_EXPIRED, ALSO_WEB_EXPIRY, "token expired",
                                                  REASON_TOKEN_EXPIRED, RTC_RENEW},
    [DIAG_TABLE_RTC][DIAG_CAUSE_PRIVILEGE_EXPIRED] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_PRIVILEGE_EXPIRED, RTC_EXPIRED, ALSO_WEB_EXPIRY,
         "privilege expired",
         "The token itself is still valid, but its join_channel privilege has expired: the "
         "privilege expiry given when the token was built has passed.",
         RTC_RENEW
         " Give the privilege a lifetime in seconds (007) or now + lifetime as a Unix time (006)."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_OK] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_OK, CODES_NONE, ALSO_NONE, "joinable",
         "The token matches this App ID, channel and user, one of the project's enabled "
         "certificates verifies its signature, and neither it nor its privilege has expired.",
         "Nothing to fix. Renew the token with renewToken when onTokenPrivilegeWillExpire (web: "
         "token-privilege-will-expire) fires."},
    [DIAG_TABLE_RTC][DIAG_CAUSE_OK_APP_ID_ONLY] =
        {DIAG_TABLE_RTC, DIAG_CAUSE_OK_APP_ID_ONLY, CODES_NONE, ALSO_NONE,
         "joinable with the App ID only",
         "The project accepts joins without a token (no certificate enabled, or \"No certificate\" "
         "is on) and this join passes none.",
         FIX_APP_ID_ONLY},
    [DIAG_TABLE_RTC][DIAG_CAUSE_PROJECT_UNKNOWN] = {DIAG_TABLE_RTC, DIAG_CAUSE_PROJECT_UNKNOWN,
                                                    CODES_NONE, ALSO_NONE, "project unknown",
                                                    REASON_PROJECT_UNKNOWN, FIX_PROJECT_UNKNOWN},
    /* RTM 1.x logins */
    [DIAG_TABLE_RTM1][DIAG_CAUSE_APP_ID_MALFORMED] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_APP_ID_MALFORMED, RTM1_INVALID_APP_ID, ALSO_NONE,
         "malformed App ID", REASON_APP_ID_MALFORMED,
         "Copy the App ID again from the project page of the Console and pass exactly those 32 hex "
         "characters to createInstance (web: AgoraRTM.createInstance) and to the token server."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_TOKEN_REQUIRED] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_TOKEN_REQUIRED, RTM1_INVALID_TOKEN, ALSO_NONE,
         "token required",
         "The project has an enabled App Certificate and \"No certificate\" is off, so every RTM "
         "login must present a token; this login passes none, or passes the App ID where the token "
         "belongs.",
         "Build an RTM token for the user id on your token server (RtmTokenBuilder) and pass it to "
         "login({token, uid}) / login(token, userId). To allow logins without a token (testing "
         "only), turn on \"No certificate\" for the project in the Console."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_TOKEN_NOT_EXPECTED] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_TOKEN_NOT_EXPECTED, RTM1_INVALID_TOKEN, ALSO_NONE,
         "token given but the project has no certificate enabled",
         "The login passes a token, but the project has no enabled App Certificate, so it accepts "
         "no token.",
         "Either log in without a token (null or an empty token), or enable the primary "
         "certificate in the Console and build the RTM token on your server with it."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_TOKEN_MALFORMED] = {DIAG_TABLE_RTM1, DIAG_CAUSE_TOKEN_MALFORMED,
                                                     RTM1_INVALID_TOKEN, ALSO_NONE,
                                                     "malformed token", REASON_TOKEN_MALFORMED,
                                                     FIX_TOKEN_MALFORMED},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, RTM1_INVALID_TOKEN, ALSO_NONE,
         "RTM SDK too old for AccessToken2",
         "The client's RTM SDK predates AccessToken2 and cannot read a 007 token, so the login is "
         "refused as an invalid token although the token is right. The first RTM releases that "
         "read 007 are 1.5.0, and 1.4.6 for the Web SDK.",
         "Upgrade the RTM SDK to 1.5.0 or later (Web 1.4.6 or later), or build a 006 token with "
         "the AccessToken RTM builder (RtmTokenBuilder.buildToken) for the clients that cannot "
         "upgrade yet."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_APP_ID_MISMATCH] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_APP_ID_MISMATCH, RTM1_INVALID_TOKEN, ALSO_NONE,
         "App ID mismatch", REASON_APP_ID_MISMATCH,
         "Build the RTM token with exactly the App ID passed to createInstance (same characters, "
         "same case) and that project's certificate."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_SERVICE_MISSING] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_SERVICE_MISSING, RTM1_INVALID_TOKEN, ALSO_RTM1_REJECTED,
         "no RTM login privilege",
         "The token grants no RTM login: a login needs an rtm (or rtm2) service with the login "
         "privilege. Usually an RTC token -- from RtcTokenBuilder or the Console's temporary "
         "token, which is RTC only -- is used to log in to RTM.",
         "Build the login token with the RTM builder for the user id that logs in "
         "(RtmTokenBuilder2.buildToken for AccessToken2, RtmTokenBuilder.buildToken for "
         "AccessToken) and pass it to login."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_UID_MISMATCH] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_UID_MISMATCH, RTM1_INVALID_TOKEN, ALSO_NONE,
         "user id mismatch",
         "The token was built for another RTM user id than the one logging in (an RTM token names "
         "exactly one user id; a 006 RTM token carries it in the channel's place and an empty "
         "uid).",
         "Build the RTM token with exactly the user id passed to login, or log in with the user id "
         "the token was built for."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_SIGNATURE_INVALID] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_SIGNATURE_INVALID, RTM1_INVALID_TOKEN, ALSO_NONE,
         "signature does not verify", REASON_SIGNATURE, FIX_SIGNATURE},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_TOKEN_EXPIRED] = {DIAG_TABLE_RTM1, DIAG_CAUSE_TOKEN_EXPIRED,
                                                   RTM1_EXPIRED, ALSO_NONE, "token expired",
                                                   REASON_TOKEN_EXPIRED, RTM1_RENEW},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_PRIVILEGE_EXPIRED] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_PRIVILEGE_EXPIRED, RTM1_EXPIRED, ALSO_NONE,
         "login privilege expired",
         "The token itself is still valid, but its login privilege has expired: the privilege "
         "expiry given when the token was built has passed.",
         RTM1_RENEW},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_OK] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_OK, CODES_NONE, ALSO_NONE, "login accepted",
         "The token is an RTM token for this App ID and user id, one of the project's enabled "
         "certificates verifies it, and it has not expired.",
         "Nothing to fix. Renew with renewToken when onTokenPrivilegeWillExpire (web: "
         "TokenPrivilegeWillExpire) fires."},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_OK_APP_ID_ONLY] =
        {DIAG_TABLE_RTM1, DIAG_CAUSE_OK_APP_ID_ONLY, CODES_NONE, ALSO_NONE,
         "login accepted with the App ID only",
         "The project accepts logins without a token (no certificate enabled, or \"No "
         "certificate\" is on) and this login passes none.",
         FIX_APP_ID_ONLY},
    [DIAG_TABLE_RTM1][DIAG_CAUSE_PROJECT_UNKNOWN] = {DIAG_TABLE_RTM1, DIAG_CAUSE_PROJECT_UNKNOWN,
                                                     CODES_NONE, ALSO_NONE, "project unknown",
                                                     REASON_PROJECT_UNKNOWN, FIX_PROJECT_UNKNOWN},
    /* RTM 2.x (Signaling) logins */
    [DIAG_TABLE_RTM2][DIAG_CAUSE_APP_ID_MALFORMED] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_APP_ID_MALFORMED, RTM2_INVALID_APP_ID, ALSO_NONE,
         "malformed App ID", REASON_APP_ID_MALFORMED,
         "Copy the App ID again from the project page of the Console and pass exactly those 32 hex "
         "characters when creating the RTM client (new RTM(appId, userId, config) / RTMClient) and "
         "to the token server."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_TOKEN_REQUIRED] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_TOKEN_REQUIRED, RTM2_INVALID_TOKEN, ALSO_NONE,
         "token required",
         "The project has an enabled App Certificate and \"No certificate\" is off, so every login "
         "must present a token; this login passes none, or passes the App ID where the token "
         "belongs.",
         "Build a token for the user id on your token server with RtmTokenBuilder2 and pass it "
         "when logging in (RTMClient.login({token})). To allow logins without a token (testing "
         "only), turn on \"No certificate\" for the project in the Console."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_TOKEN_NOT_EXPECTED] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_TOKEN_NOT_EXPECTED, RTM2_INVALID_TOKEN, ALSO_NONE,
         "token given but the project has no certificate enabled",
         "The login passes a token, but the project has no enabled App Certificate, so it accepts "
         "no token.",
         "Either log in without a token, or enable the primary certificate in the Console and "
         "build the token with RtmTokenBuilder2 and that certificate."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_TOKEN_MALFORMED] = {DIAG_TABLE_RTM2, DIAG_CAUSE_TOKEN_MALFORMED,
                                                     RTM2_INVALID_TOKEN, ALSO_NONE,
                                                     "malformed token", REASON_TOKEN_MALFORMED,
                                                     FIX_TOKEN_MALFORMED},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED, RTM2_INVALID_TOKEN, ALSO_NONE,
         "SDK too old for AccessToken2",
         "The client's SDK cannot read a 007 token (RTM 2.x reads it; this cause needs a 1.x SDK "
         "older than 1.5.0).",
         "Upgrade the RTM SDK, or build a 006 token with the AccessToken RTM builder."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_APP_ID_MISMATCH] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_APP_ID_MISMATCH, RTM2_INCONSISTENT_APP_ID, ALSO_NONE,
         "App ID mismatch",
         "The App ID used to generate the token is not the one this RTM client was created with; "
         "the comparison is exact, letter case included.",
         "Build the token with RtmTokenBuilder2 and exactly the App ID the RTM client is created "
         "with (same characters, same case), or create the client with the App ID the token was "
         "built for."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_SERVICE_MISSING] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_SERVICE_MISSING, RTM2_INVALID_TOKEN, ALSO_NONE,
         "no RTM login privilege",
         "The token grants no RTM login: a login needs an rtm (or rtm2) service with the login "
         "privilege. Usually an RTC token -- from RtcTokenBuilder2 or the Console's temporary "
         "token, which is RTC only -- is used to log in.",
         "Build the login token with RtmTokenBuilder2.buildToken(appId, certificate, userId, "
         "expire) for the user id the RTM client was created with, and log in with it."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_UID_MISMATCH] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_UID_MISMATCH, RTM2_INVALID_TOKEN, ALSO_NONE,
         "user id mismatch",
         "The token was built for another user id than the one this RTM client was created with.",
         "Build the token with RtmTokenBuilder2 for exactly the user id passed when creating the "
         "RTM client, or create the client with the user id the token was built for."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_SIGNATURE_INVALID] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_SIGNATURE_INVALID, RTM2_INVALID_TOKEN, ALSO_NONE,
         "signature does not verify", REASON_SIGNATURE, FIX_SIGNATURE},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_TOKEN_EXPIRED] = {DIAG_TABLE_RTM2, DIAG_CAUSE_TOKEN_EXPIRED,
                                                   RTM2_EXPIRED, ALSO_NONE, "token expired",
                                                   REASON_TOKEN_EXPIRED, RTM2_RENEW},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_PRIVILEGE_EXPIRED] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_PRIVILEGE_EXPIRED, RTM2_EXPIRED, ALSO_NONE,
         "login privilege expired",
         "The token itself is still valid, but its login privilege has expired: the privilege "
         "expiry given when the token was built has passed.",
         RTM2_RENEW},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_OK] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_OK, CODES_NONE, ALSO_NONE, "login accepted",
         "The token is an RTM token for this App ID and user id, one of the project's enabled "
         "certificates verifies it, and it has not expired.",
         "Nothing to fix. Renew with RTMClient.renewToken when the tokenPrivilegeWillExpire event "
         "fires."},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_OK_APP_ID_ONLY] =
        {DIAG_TABLE_RTM2, DIAG_CAUSE_OK_APP_ID_ONLY, CODES_NONE, ALSO_NONE,
         "login accepted with the App ID only",
         "The project accepts logins without a token (no certificate enabled, or \"No "
         "certificate\" is on) and this login passes none.",
         FIX_APP_ID_ONLY},
    [DIAG_TABLE_RTM2][DIAG_CAUSE_PROJECT_UNKNOWN] = {DIAG_TABLE_RTM2, DIAG_CAUSE_PROJECT_UNKNOWN,
                                                     CODES_NONE, ALSO_NONE, "project unknown",
                                                     REASON_PROJECT_UNKNOWN, FIX_PROJECT_UNKNOWN},
};

const diag_catalog_entry *diag_catalog(diag_table t, diag_cause c) {
    if ((unsigned)t >= DIAG_TABLE_COUNT || (unsigned)c >= DIAG_CAUSE_COUNT || !catalog[t][c].title)
        return NULL;
    return &catalog[t][c];
}

const char *diag_table_service(diag_table t) {
    return t == DIAG_TABLE_RTC ? "rtc" : "rtm";
}

const char *diag_table_sdk(diag_table t) {
    return t == DIAG_TABLE_RTM1 ? "1.x" : t == DIAG_TABLE_RTM2 ? "2.x" : NULL;
}

/* ---- Names ---------------------------------------------------------------------------------- */

static const char *const cause_names[] = {
    "app_id_malformed",  "channel_name_invalid",
    "token_required",    "token_not_expected",
    "token_malformed",   "token_version_unsupported",
    "app_id_mismatch",   "service_missing",
    "channel_mismatch",  "uid_mismatch",
    "signature_invalid", "token_expired",
    "privilege_expired", "ok",
    "ok_app_id_only",    "project_unknown",
};
_Static_assert(COUNT_OF(cause_names) == DIAG_CAUSE_COUNT, "one name per cause");

/* The causes a hint goes with (diagnosis.md "Hints"), as bits (1u << diag_cause). */
#define WITH(c) (1u << DIAG_CAUSE_##c)
#define MALFORMED WITH(TOKEN_MALFORMED)

/* A hint's fix that replaces its cause's solution, the same in every table. */
#define FIX_ALL(text)                                                                              \
    { text, text, text }

static const struct {
    const char *name;
    const char *text;
    uint32_t causes;
    const char *fix[DIAG_TABLE_COUNT]; /* NULL: the cause's solution stands */
} hints[] = {
    [DIAG_HINT_APP_ID_AS_TOKEN] = {"app_id_as_token",
                                   "the token is 32 hex characters: an App ID was passed where the "
                                   "token belongs (the platform calls that a static key)",
                                   WITH(TOKEN_REQUIRED) | WITH(TOKEN_NOT_EXPECTED) | MALFORMED |
                                       WITH(OK_APP_ID_ONLY) | WITH(PROJECT_UNKNOWN),
                                   {NULL, NULL, NULL}},
    [DIAG_HINT_LEGACY_VERSION] = {"legacy_version",
                                  "the token is a legacy dynamic key (001-005): build a 006 or 007 "
                                  "token instead",
                                  MALFORMED,
                                  {NULL, NULL, NULL}},
    [DIAG_HINT_UNSUPPORTED_VERSION] = {"unsupported_version",
                                       "the token does not start with a known version (006 or 007)",
                                       MALFORMED,
                                       {NULL, NULL, NULL}},
    [DIAG_HINT_WHITESPACE] = {"whitespace",
                              "the token has leading or trailing whitespace: pass it without",
                              MALFORMED,
                              {NULL, NULL, NULL}},
    [DIAG_HINT_QUOTED] = {"quoted",
                          "the token is wrapped in quotes: pass the string's value, not its JSON "
                          "or shell quoting",
                          MALFORMED,
                          {NULL, NULL, NULL}},
    [DIAG_HINT_AUTH_PREFIX] = {"auth_prefix",
                               "the token starts with \"Bearer \" or \"token=\": a header or query "
                               "fragment was pasted with it; pass the token alone",
                               MALFORMED,
                               {NULL, NULL, NULL}},
    [DIAG_HINT_JSON_ESCAPED] = {"json_escaped",
                                "the token has \"\\/\" where \"/\" belongs: a JSON encoder escaped "
                                "it (PHP's json_encode does) and the client did not decode the "
                                "JSON; parse the response, or encode with JSON_UNESCAPED_SLASHES",
                                MALFORMED,
                                {NULL, NULL, NULL}},
    [DIAG_HINT_PERCENT_ENCODED] = {"percent_encoded",
                                   "the token has %2B, %2F or %3D: it was URL-encoded once more "
                                   "than it was decoded; decode it once (or encode it once)",
                                   MALFORMED,
                                   {NULL, NULL, NULL}},
    [DIAG_HINT_URL_DECODED] = {"url_decoded",
                               "the token contains spaces where '+' belonged: it was URL-decoded "
                               "on the way; URL-encode it or send it in a JSON body",
                               MALFORMED,
                               {NULL, NULL, NULL}},
    [DIAG_HINT_NOT_BASE64] = {"not_base64",
                              "the token contains characters outside the base64 alphabet",
                              MALFORMED,
                              {NULL, NULL, NULL}},
    [DIAG_HINT_TRUNCATED] = {"truncated",
                             "the token ends before its content does: it was cut short (copy, "
                             "column or length limit)",
                             MALFORMED,
                             {NULL, NULL, NULL}},
    [DIAG_HINT_CORRUPTED] = {"corrupted",
                             "the token's content is damaged (compressed data does not check out)",
                             MALFORMED,
                             {NULL, NULL, NULL}},
    [DIAG_HINT_APP_ID_CASE_DIFFERS] = {"app_id_case_differs",
                                       "the two App IDs differ only in letter case: App IDs are "
                                       "compared exactly",
                                       WITH(APP_ID_MISMATCH),
                                       {NULL, NULL, NULL}},
    [DIAG_HINT_JOIN_UID_ZERO] = {"join_uid_zero",
                                 "the join uses uid 0 but the token was built for one specific "
                                 "uid: join with that uid, or build the token with uid 0",
                                 WITH(UID_MISMATCH),
                                 {NULL, NULL, NULL}},
    [DIAG_HINT_SIGNED_WITH_DISABLED_CERTIFICATE] =
        {"signed_with_disabled_certificate",
         "a disabled certificate of the project signs the token: enable it, or build tokens with "
         "the enabled one",
         WITH(SIGNATURE_INVALID),
         {NULL, NULL, NULL}},
    [DIAG_HINT_SIGNED_WITH_RETIRED_CERTIFICATE] =
        {"signed_with_retired_certificate",
         "a retired (replaced or deleted) certificate of the project signs the token: update the "
         "token server to the current certificate",
         WITH(SIGNATURE_INVALID),
         {NULL, NULL, NULL}},
    [DIAG_HINT_SIGNED_WITH_APP_ID] = {"signed_with_app_id",
                                      "the App ID was used as the certificate to sign the token: "
                                      "configure the token server with the App Certificate",
                                      WITH(SIGNATURE_INVALID),
                                      {NULL, NULL, NULL}},
    [DIAG_HINT_PRIVILEGE_EXPIRE_LOOKS_RELATIVE] =
        {"privilege_expire_looks_relative",
         "the 006 privilege expiry is a small number: a lifetime in seconds was passed where a "
         "Unix time (now + lifetime) belongs",
         WITH(PRIVILEGE_EXPIRED),
         {NULL, NULL, NULL}},
    [DIAG_HINT_PRIVILEGE_EXPIRE_IS_ROLE] =
        {"privilege_expire_is_role",
         "the privilege expiry is 1, 2 or 101 -- a role constant (publisher, subscriber, admin): "
         "the token builder's arguments are shifted",
         WITH(PRIVILEGE_EXPIRED),
         FIX_ALL("Fix the call to the token builder on your server: its arguments are shifted, so "
                 "a role constant (1 publisher, 2 subscriber, 101 admin) landed where the "
                 "privilege expiry belongs. Pass the arguments in the builder's order -- e.g. "
                 "RtcTokenBuilder2.buildTokenWithUid(appId, certificate, channel, uid, role, "
                 "tokenExpire, privilegeExpire), RtcTokenBuilder.buildTokenWithUid(appId, "
                 "certificate, channel, uid, role, privilegeExpiredTs), "
                 "RtmTokenBuilder.buildToken(appId, certificate, userId, role, "
                 "privilegeExpiredTs) -- then fetch a new token.")},
    [DIAG_HINT_EXPIRED_AT_ISSUE] =
        {"expired_at_issue",
         "the privilege expired before the token was issued: the token server computed the "
         "expiry once (e.g. at start-up) instead of for each token, so every token it issues is "
         "born expired and fetching a new one will not help",
         WITH(PRIVILEGE_EXPIRED),
         FIX_ALL("Fix the token server, not the client: it computes the privilege expiry once "
                 "(for example in a global or a constant evaluated at start-up) and reuses it, so "
                 "every token it builds is already expired -- fetching a new token cannot help. "
                 "Compute the expiry for each token when it is built (current Unix time + "
                 "lifetime in seconds for 006; a lifetime in seconds for 007), redeploy, then "
                 "fetch a new token.")},
    [DIAG_HINT_TOKEN_UID_ZERO_TEXT] =
        {"token_uid_zero_text",
         "the token was built for the text \"0\" -- the user account \"0\" -- not for uid 0 "
         "(any uid): build it with the number 0",
         WITH(UID_MISMATCH),
         {"Build the token with the number 0 as the uid (buildTokenWithUid(..., 0, ...)), not "
          "the string \"0\": the text \"0\" is the user account \"0\", which only a client that "
          "joins with the account \"0\" can use. Uid 0 is what accepts any uid.",
          NULL, NULL}},
    [DIAG_HINT_TOKEN_UID_OUT_OF_RANGE] =
        {"token_uid_out_of_range",
         "the token was built for a uid above 4294967295: the SDK's uid is unsigned 32-bit, so "
         "the client joins as another number (the value mod 2^32) or is refused",
         WITH(UID_MISMATCH),
         {"Build the token with a uid in 1..4294967295 (the SDK's uid is unsigned 32-bit), or 0 "
          "for any uid; for larger ids (phone numbers, database keys, millisecond times) use "
          "user accounts -- build with buildTokenWithUserAccount and join with "
          "joinChannelWithUserAccount (web: pass the string as uid).",
          NULL, NULL}},
    [DIAG_HINT_CHANNEL_CASE_DIFFERS] = {"channel_case_differs",
                                        "the token's channel differs from the join's only in "
                                        "letter case: channel names are compared exactly",
                                        WITH(CHANNEL_MISMATCH),
                                        {NULL, NULL, NULL}},
    [DIAG_HINT_CHANNEL_WHITESPACE] = {"channel_whitespace",
                                      "the token's channel and the join's differ only by "
                                      "whitespace around one of them: trim the name on both "
                                      "sides",
                                      WITH(CHANNEL_MISMATCH),
                                      {NULL, NULL, NULL}},
    [DIAG_HINT_BUILT_FOR_RTC] =
        {"built_for_rtc",
         "an RTC token (RtcTokenBuilder, or the Console's temporary token) is used to log in to "
         "RTM: build an RTM token for the user id",
         WITH(SERVICE_MISSING) | WITH(UID_MISMATCH),
         {NULL,
          "This is an RTC token (from RtcTokenBuilder, or the Console's temporary token, which "
          "is RTC only) used to log in to RTM. Build the login token with the RTM builder for "
          "the user id that logs in -- RtmTokenBuilder2.buildToken(appId, certificate, userId, "
          "expire) for AccessToken2, or RtmTokenBuilder.buildToken(appId, certificate, userId, "
          "role, privilegeExpiredTs) for AccessToken -- and pass it to login.",
          "This is an RTC token (from RtcTokenBuilder2, or the Console's temporary token, which "
          "is RTC only) used to log in to RTM. Build the login token with "
          "RtmTokenBuilder2.buildToken(appId, certificate, userId, expire) for the user id the "
          "RTM client was created with, and log in with it."}},
    [DIAG_HINT_APP_ID_WHITESPACE] = {"app_id_whitespace",
                                     "the App ID has whitespace around its 32 hex characters: "
                                     "trim it where it is read (a config file, an environment "
                                     "variable, a form)",
                                     WITH(APP_ID_MALFORMED),
                                     FIX_ALL("Remove the whitespace around the App ID where the "
                                             "client reads it (a configuration file, an "
                                             "environment variable, a form field) and pass "
                                             "exactly its 32 hex characters.")},
    [DIAG_HINT_SAMPLE_APP_ID] =
        {"sample_app_id",
         "the App ID is the documentation samples' 970CA35de60c44645bbae8a215061b33, not your "
         "project's",
         WITH(APP_ID_MISMATCH) | WITH(PROJECT_UNKNOWN),
         FIX_ALL("Replace the documentation samples' App ID (970CA35de60c44645bbae8a215061b33) "
                 "with your own project's App ID from the Console, in the client and in the "
                 "token server, and its App Certificate in the token server.")},
    [DIAG_HINT_SIGNED_WITH_SAMPLE_CERTIFICATE] =
        {"signed_with_sample_certificate",
         "the token is signed with the documentation samples' certificate: the token server "
         "still has the sample configuration",
         WITH(SIGNATURE_INVALID),
         FIX_ALL("Configure the token server with your project's App Certificate (Console, "
                 "project page) in place of the documentation samples' certificate, then fetch "
                 "a new token.")},
};
_Static_assert(COUNT_OF(hints) == DIAG_HINT_COUNT, "one row per hint");

static const char *const warning_names[] = {
    "project_unknown",           "expires_soon",     "lifetime_over_24h",
    "expire_looks_absolute",     "issued_in_future", "rtm_login_privilege_missing",
    "publish_privilege_missing", "uid_as_string",
};
_Static_assert(COUNT_OF(warning_names) == DIAG_WARN_COUNT, "one name per warning");

static const char *const warning_texts[] = {
    "no configuration is stored for this App ID: certificate rules and the signature were not "
    "checked",
    "the token expires within 30 seconds: the SDK's will-expire event fires now (RTC: "
    "onTokenPrivilegeWillExpire / token-privilege-will-expire; RTM: onTokenPrivilegeWillExpire / "
    "TokenPrivilegeWillExpire, 2.x tokenPrivilegeWillExpire); fetch a new token and call "
    "renewToken",
    "the token's lifetime is over 24 hours: it is cut to 24 hours",
    "the token's lifetime looks like a Unix time: pass a number of seconds (e.g. 3600), not a "
    "timestamp",
    "the token was issued more than 5 minutes in the future: the token server's clock is ahead",
    "the 006 token has no RTM login privilege (1000): RTM accepts it because its channel field "
    "is the user id, but build RTM tokens with the RTM builder (RtmTokenBuilder)",
    "co-host authentication is on and the token has no publish privilege: the join works but "
    "publishing as a host will fail; build a publisher token",
    "the uid was sent as a string: it was judged as that number, but the API takes a JSON "
    "number; given as a string to an SDK it would be a user account, a different identity from "
    "the uid",
};
_Static_assert(COUNT_OF(warning_texts) == DIAG_WARN_COUNT, "one text per warning");

const char *diag_cause_name(diag_cause c) {
    return (unsigned)c < DIAG_CAUSE_COUNT ? cause_names[c] : "unknown";
}

const char *diag_hint_name(diag_hint h) {
    return (unsigned)h < DIAG_HINT_COUNT ? hints[h].name : "unknown";
}

const char *diag_hint_text(diag_hint h) {
    return (unsigned)h < DIAG_HINT_COUNT ? hints[h].text : "";
}

const char *diag_hint_fix(diag_hint h, diag_table t) {
    if ((unsigned)h >= DIAG_HINT_COUNT || (unsigned)t >= DIAG_TABLE_COUNT)
        return NULL;
    return hints[h].fix[t];
}

const char *diag_warning_name(diag_warning w) {
    return (unsigned)w < DIAG_WARN_COUNT ? warning_names[w] : "unknown";
}

const char *diag_warning_text(diag_warning w) {
    return (unsigned)w < DIAG_WARN_COUNT ? warning_texts[w] : "";
}

/* ---- A result's answer ---------------------------------------------------------------------- */

const diag_catalog_entry *diag_result_entry(const diag_result *r) {
    const diag_catalog_entry *e = diag_catalog(r->table, r->cause);
    return e ? e : &catalog[DIAG_TABLE_RTC][r->cause < DIAG_CAUSE_COUNT ? r->cause : 0];
}

const char *diag_result_solution(const diag_result *r) {
    for (int h = 0; h < DIAG_HINT_COUNT; h++)
        if ((r->hints & (1u << h)) && (hints[h].causes & (1u << r->cause)) &&
            hints[h].fix[r->table])
            return hints[h].fix[r->table];
    return diag_result_entry(r)->solution;
}

const diag_code *diag_result_code(const diag_result *r) {
    if (r->verdict != DIAG_REJECTED)
        return NULL;
    return &diag_result_entry(r)->code[r->platform];
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

/* diagnosis.md "Inputs": the SDK names a support engineer is told, each mapped to one of the three
 * code tables. One list makes the table and the names of messages (CLIENT_NAME). Matched
 * case-insensitively: "iOS" and "Android" are how people write them. */
#define CLIENTS(X)                                                                                 \
    X(DIAG_CLIENT_NATIVE, "native", DIAG_PLATFORM_NATIVE)                                          \
    X(DIAG_CLIENT_OBJC, "objc", DIAG_PLATFORM_OBJC)                                                \
    X(DIAG_CLIENT_WEB, "web", DIAG_PLATFORM_WEB)                                                   \
    X(DIAG_CLIENT_ANDROID, "android", DIAG_PLATFORM_NATIVE)                                        \
    X(DIAG_CLIENT_WINDOWS, "windows", DIAG_PLATFORM_NATIVE)                                        \
    X(DIAG_CLIENT_LINUX, "linux", DIAG_PLATFORM_NATIVE)                                            \
    X(DIAG_CLIENT_UNITY, "unity", DIAG_PLATFORM_NATIVE)                                            \
    X(DIAG_CLIENT_ELECTRON, "electron", DIAG_PLATFORM_NATIVE)                                      \
    X(DIAG_CLIENT_FLUTTER, "flutter", DIAG_PLATFORM_NATIVE)                                        \
    X(DIAG_CLIENT_REACT_NATIVE, "react-native", DIAG_PLATFORM_NATIVE)                              \
    X(DIAG_CLIENT_COCOS, "cocos", DIAG_PLATFORM_NATIVE)                                            \
    X(DIAG_CLIENT_IOS, "ios", DIAG_PLATFORM_OBJC)                                                  \
    X(DIAG_CLIENT_MACOS, "macos", DIAG_PLATFORM_OBJC)

#define CLIENT_ROW(id, name, platform) [id] = {name, platform},
#define CLIENT_NAME(id, name, platform) ", " name

static const struct {
    const char *name;
    diag_platform platform;
} clients[] = {CLIENTS(CLIENT_ROW)};
_Static_assert(COUNT_OF(clients) == DIAG_CLIENT_COUNT, "one row per client");

static const char client_names[] = CLIENTS(CLIENT_NAME);

bool diag_client_parse(const char *name, diag_client *out) {
    for (size_t i = 0; name && i < COUNT_OF(clients); i++)
        if (strcasecmp(name, clients[i].name) == 0) {
            *out = (diag_client)i;
            return true;
        }
    return false;
}

const char *diag_client_name(diag_client c) {
    return (unsigned)c < DIAG_CLIENT_COUNT ? clients[c].name : "native";
}

diag_platform diag_client_platform(diag_client c) {
    return (unsigned)c < DIAG_CLIENT_COUNT ? clients[c].platform : DIAG_PLATFORM_NATIVE;
}

const char *diag_client_names(void) {
    return client_names + 2; /* past the first ", " */
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
    return json_pack("{s:o, s:s}", "code", c->code ? json_integer(c->code) : json_null(), "name",
                     c->name);
}

static json_t *platform_codes_json(const diag_catalog_entry *e, diag_platform p) {
    const diag_code *c = &e->code[p];
    if (!c->name)
        return json_null();
    json_t *also = json_array();
    for (size_t i = 0; i < 2; i++)
        if (e->also[p][i].name)
            json_array_append_new(also, code_json(&e->also[p][i]));
    json_t *o = code_json(c);
    json_object_set_new(o, "also", also);
    return o;
}

static json_t *table_json(diag_table t, json_t *rows) {
    for (size_t i = 0; i < DIAG_CAUSE_COUNT; i++) {
        const diag_catalog_entry *e = diag_catalog(t, (diag_cause)i);
        if (!e)
            continue;
        const char *sdk = diag_table_sdk(t);
        json_t *codes =
            json_pack("{s:o, s:o, s:o}", "native", platform_codes_json(e, DIAG_PLATFORM_NATIVE),
                      "objc", platform_codes_json(e, DIAG_PLATFORM_OBJC), "web",
                      platform_codes_json(e, DIAG_PLATFORM_WEB));
        json_array_append_new(rows, json_pack("{s:s, s:s, s:o, s:s, s:o, s:s, s:s}", "cause",
                                              cause_names[i], "service", diag_table_service(t),
                                              "sdk", sdk ? json_string(sdk) : json_null(), "title",
                                              e->title, "codes", codes, "reason", e->reason,
                                              "solution", e->solution));
    }
    return rows;
}

json_t *diag_catalog_to_json(void) {
    json_t *rtm = table_json(DIAG_TABLE_RTM2, table_json(DIAG_TABLE_RTM1, json_array()));
    json_t *hint_rows = json_array();
    for (size_t i = 0; i < DIAG_HINT_COUNT; i++) {
        json_t *causes = json_array();
        for (size_t c = 0; c < DIAG_CAUSE_COUNT; c++)
            if (hints[i].causes & (1u << c))
                json_array_append_new(causes, json_string(cause_names[c]));
        json_t *row = json_pack("{s:s, s:s, s:o}", "hint", hints[i].name, "text", hints[i].text,
                                "causes", causes);
        json_t *fix = json_object();
        for (int t = 0; t < DIAG_TABLE_COUNT; t++)
            if (hints[i].fix[t])
                json_object_set_new(fix,
                                    t == DIAG_TABLE_RTC    ? "rtc"
                                    : t == DIAG_TABLE_RTM1 ? "rtm"
                                                           : "rtm2",
                                    json_string(hints[i].fix[t]));
        json_object_set_new(row, "fix", json_object_size(fix) ? fix : json_null());
        if (!json_object_size(fix))
            json_decref(fix);
        json_array_append_new(hint_rows, row);
    }
    json_t *warnings = json_array();
    for (size_t i = 0; i < DIAG_WARN_COUNT; i++)
        json_array_append_new(warnings, json_pack("{s:s, s:s}", "warning", warning_names[i], "text",
                                                  warning_texts[i]));
    return json_pack("{s:o, s:o, s:o, s:o}", "errors", table_json(DIAG_TABLE_RTC, json_array()),
                     "rtm_errors", rtm, "hints", hint_rows, "warnings", warnings);
}

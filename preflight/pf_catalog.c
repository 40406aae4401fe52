/* pf_catalog.c -- the findings catalog: one row per pattern a preflight can name.
 *
 * The one table the text report, the JSON report and the probe metrics read (ids are JSON values
 * and metric labels: stable, snake_case). "client" says what a client gets when the pattern
 * bites, in the platform's codes (docs/spec/diagnosis.md); "fix" is the change on the token
 * server's side, never on the client's. Indexed by pf_finding with designated initialisers and
 * a size check, so a new finding without its row does not compile.
 */
#include "tdpreflight.h"

static const pf_catalog_entry catalog[] = {
    [PF_TIMEOUT] = {"timeout", "the token server did not answer in time",
                    "no token: the app's join waits, then fails",
                    "answer token requests within a second or two; look for a blocking call "
                    "(database, upstream) in the handler"},
    [PF_CONNECTION_CLOSED] = {"connection_closed",
                              "the token server closed the connection without an answer",
                              "no token: the app's request fails",
                              "look for a crash or an unhandled exception in the handler for "
                              "these parameters"},
    [PF_NOT_HTTP] = {"not_http", "the token server answered with bytes that are not HTTP",
                     "no token: the app's request fails",
                     "check that the URL names the HTTP port of the token server (not TLS, not "
                     "another protocol)"},
    [PF_HTTP_ERROR] = {"http_error", "the token server answered with an error status",
                       "no token: the app's request fails",
                       "answer 200 with a token for every parameter an SDK accepts (see the "
                       "requests: often a channel with spaces or punctuation, uid 0 or a large "
                       "uid)"},
    [PF_ANSWER_TOO_LARGE] = {"answer_too_large", "the answer is larger than a token answer can be",
                             "whatever the app makes of it: not a token",
                             "answer the token (a few hundred bytes), not a page"},
    [PF_NOT_JSON] = {"not_json", "the answer is not JSON although a token field was named",
                     "no token: the app's JSON parsing fails",
                     "answer JSON (Content-Type: application/json) with the token in the field "
                     "the app reads"},
    [PF_TOKEN_FIELD_MISSING] = {"token_field_missing",
                                "the answer has no string at the token field",
                                "no token: the app passes undefined or null",
                                "put the token, as a JSON string, in the field the app reads"},
    [PF_EMPTY_ANSWER] = {"empty_answer", "the answer's token is empty",
                         "110 ERR_INVALID_TOKEN (or a join without a token: 110 / web 120)",
                         "always answer a token; refuse with an error status instead of an "
                         "empty 200"},
    [PF_QUOTED] = {"token_quoted", "the token arrives wrapped in quotes",
                   "110 ERR_INVALID_TOKEN: the quotes are part of the token text",
                   "answer the token as plain text, or as a JSON field the app parses, not a "
                   "JSON string read as text"},
    [PF_JSON_ESCAPED] = {"token_json_escaped", "the token arrives with \\/ where it has /",
                         "110 ERR_INVALID_TOKEN: the escape is part of the token text",
                         "do not JSON-encode the token twice (PHP: JSON_UNESCAPED_SLASHES, or "
                         "encode once)"},
    [PF_PERCENT_ENCODED] = {"token_percent_encoded",
                            "the token arrives percent-encoded (%2B, %2F, %3D)",
                            "110 ERR_INVALID_TOKEN: the escapes are part of the token text",
                            "do not URL-encode the token in a body the app reads as is"},
    [PF_PLUS_LOST] = {"token_plus_lost", "a + of the token arrives as a space (URL decoding)",
                      "110 ERR_INVALID_TOKEN: the token no longer decodes",
                      "do not pass the token through a query string or form decoding; if it "
                      "must travel in a URL, percent-encode it (+ is %2B)"},
    [PF_WHITESPACE] = {"token_whitespace", "the token arrives with surrounding whitespace",
                       "110 ERR_INVALID_TOKEN unless the app trims it",
                       "answer the token without a trailing newline or padding"},
    [PF_AUTH_PREFIX] = {"token_auth_prefix", "the token arrives with a Bearer or token= prefix",
                        "110 ERR_INVALID_TOKEN: the prefix is part of the token text",
                        "answer the token alone"},
    [PF_NOT_A_TOKEN] = {"not_a_token", "the answer is not a token",
                        "110 ERR_INVALID_TOKEN (token_malformed)",
                        "answer the token the vendor builder returns, unchanged (or name the "
                        "JSON field that holds it with --token-field)"},
    [PF_APP_ID_MISMATCH] = {"app_id_mismatch", "tokens are built for another App ID",
                            "110 ERR_INVALID_TOKEN (app_id_mismatch)",
                            "build tokens with the App ID the app initialises with"},
    [PF_WRONG_CERTIFICATE] = {"wrong_certificate",
                              "tokens are signed with a certificate the project does not accept",
                              "110 ERR_INVALID_TOKEN (signature_invalid)",
                              "sign with the project's enabled primary or secondary certificate "
                              "(a certificate from another project, or a retired or disabled "
                              "one, is refused)"},
    [PF_SERVICE_MISSING] = {"service_missing", "tokens lack the join (or login) privilege",
                            "110 ERR_INVALID_TOKEN (rtc) / 5 LOGIN_ERR_INVALID_TOKEN (rtm)",
                            "build rtc tokens with RtcTokenBuilder and rtm tokens with "
                            "RtmTokenBuilder"},
    [PF_CHANNEL_MISMATCH] = {"channel_mismatch",
                             "tokens are built for another channel name than the one asked",
                             "110 ERR_INVALID_TOKEN (channel_mismatch)",
                             "build the token with the channel name exactly as received: no "
                             "trimming, case change or second URL decoding"},
    [PF_UID_ZERO_AS_ACCOUNT] = {"uid_zero_as_account", "uid 0 is signed as the account \"0\"",
                                "110 ERR_INVALID_TOKEN (uid_mismatch) when joining with uid 0",
                                "parse the uid to a number before building: the builders sign "
                                "the number 0 as \"any uid\" and the string \"0\" as an account"},
    [PF_UID_OUT_OF_RANGE] = {"uid_out_of_range", "a uid is signed beyond 32 bits",
                             "110 ERR_INVALID_TOKEN (uid_mismatch)",
                             "keep uids in 1..4294967295 (0 for any uid), or use user accounts"},
    [PF_UID_MISMATCH] = {"uid_mismatch", "tokens are built for another uid or account",
                         "110 ERR_INVALID_TOKEN (uid_mismatch)",
                         "build the token for the uid or account the client joins with, as "
                         "received (a uid as a number, an account as a string)"},
    [PF_EXPIRY_COMPUTED_ONCE] = {"expiry_computed_once",
                                 "the expiry is computed once (at start-up), not per request",
                                 "109 ERR_TOKEN_EXPIRED once that moment has passed: every token "
                                 "is born expired",
                                 "compute the expiry inside the request handler: now + lifetime "
                                 "(006 builders take a Unix time; 007 builders take seconds)"},
    [PF_EXPIRE_RELATIVE] = {"expire_relative",
                            "the expiry is given in seconds where a Unix time belongs",
                            "109 ERR_TOKEN_EXPIRED (privilege_expired): the token is born "
                            "expired",
                            "pass now + lifetime to the 006 builder (privilegeExpiredTs is a "
                            "Unix time), or move to the 007 builder, which takes seconds"},
    [PF_EXPIRE_IS_ROLE] = {"expire_is_role",
                           "a role constant lands where the expiry belongs (arguments shifted)",
                           "109 ERR_TOKEN_EXPIRED (privilege_expired)",
                           "check the builder's argument order: role, then the expiry"},
    [PF_BORN_EXPIRED] = {"born_expired", "tokens are expired when they arrive",
                         "109 ERR_TOKEN_EXPIRED",
                         "give tokens a lifetime from the time of the request; check the "
                         "server's clock"},
    [PF_EXPIRE_ABSOLUTE] = {"expire_absolute",
                            "the expiry is given as a Unix time where seconds belong",
                            "the token lives 24 h, whatever was asked (lifetime cut to 24 h)",
                            "pass the lifetime in seconds to the 007 builder (tokenExpire), not "
                            "now + lifetime"},
    [PF_EXPIRE_IGNORED] = {"expire_ignored", "the expiry asked for is ignored",
                           "tokens that expire sooner or later than the app plans its renewal",
                           "pass the requested lifetime (capped at 24 h) to the builder"},
    [PF_CLOCK_AHEAD] = {"clock_ahead",
                        "the token server's clock runs ahead (issue time in the "
                        "future)",
                        "joins work, but the token's lifetime is counted from a future time; "
                        "far enough ahead, clients see early expiries or refusals",
                        "synchronise the server's clock (NTP)"},
    [PF_CLOCK_BEHIND] = {"clock_behind", "the token server's clock runs behind",
                         "tokens expire early: 109 ERR_TOKEN_EXPIRED sooner than planned",
                         "synchronise the server's clock (NTP)"},
    [PF_ROLE_IGNORED] = {"role_ignored",
                         "the role does not change the token's privileges (co-host "
                         "authentication is on)",
                         "audience members get publish privileges (or hosts lack them): with "
                         "co-host authentication the role is the only guard",
                         "pass the requested role to the builder (RtcRole.SUBSCRIBER for the "
                         "audience); check --roles maps to the server's words"},
    [PF_PUBLISHER_CANNOT_PUBLISH] = {"publisher_cannot_publish",
                                     "a publisher's token carries no publish privilege",
                                     "the join works, publishing fails (co-host authentication "
                                     "is on)",
                                     "build hosts' tokens with RtcRole.PUBLISHER"},
    [PF_REJECTED] = {"rejected", "tokens would be rejected",
                     "the error of the diagnosis shown with the request",
                     "see the diagnosis of the request (tokendoctor diagnose)"},
};
_Static_assert(sizeof catalog / sizeof catalog[0] == PF_FINDING_COUNT, "one row per finding");

const pf_catalog_entry *pf_catalog(pf_finding f) {
    return f < PF_FINDING_COUNT ? &catalog[f] : &catalog[PF_REJECTED];
}

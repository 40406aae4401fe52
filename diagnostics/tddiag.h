/* tddiag.h -- the diagnosis engine and the error catalog.
 *
 * Design
 * ------
 * diag_run() is a pure function of (request, project or none, time): it does no I/O, keeps no
 * global state and allocates nothing, so the CLI, the HTTP service, the benchmarks and the tests
 * all share it. It fills a diag_result; rendering that result (JSON for machines, text for a
 * person at a terminal) is separate. The JSON shapes are those of docs/spec/interfaces.md and
 * the rules those of docs/spec/diagnosis.md, to the letter.
 *
 * The error catalog is one table (diag_catalog): for each cause the code and constant name per
 * platform, the codes also reported, and a reason and a fix for a support engineer.
 *
 * This module also owns the two JSON inputs every front end parses -- a diagnosis request and a
 * project configuration -- so that validation messages (which name the offending field) are the
 * same on the command line and over HTTP.
 *
 * Certificates never leave this module in any output: only fingerprints (see td_fingerprint).
 */
#ifndef TDDIAG_H
#define TDDIAG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tdcore.h"
#include "tdproject.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Inputs ---------------------------------------------------------------------------- */

/* True when the n bytes at p are exactly 32 hexadecimal characters (either case): the form of
 * an App ID and of a certificate. */
bool diag_is_hex32(const char *p, size_t n);

typedef enum { DIAG_PLATFORM_NATIVE = 0, DIAG_PLATFORM_OBJC, DIAG_PLATFORM_WEB } diag_platform;
typedef enum { DIAG_SERVICE_RTC = 0, DIAG_SERVICE_RTM } diag_service;
typedef enum { DIAG_ROLE_PUBLISHER = 0, DIAG_ROLE_SUBSCRIBER } diag_role;

/* The client's platform as the request names it (diagnosis.md "Inputs"). Each maps to one of the
 * three code tables (diag_client_platform); the name itself still matters where an SDK of that
 * kind has its own history (Flutter's and Cocos' first AccessToken2 releases: "The client's
 * SDK"). */
typedef enum {
    DIAG_CLIENT_NATIVE = 0,
    DIAG_CLIENT_OBJC,
    DIAG_CLIENT_WEB,
    DIAG_CLIENT_ANDROID,
    DIAG_CLIENT_WINDOWS,
    DIAG_CLIENT_LINUX,
    DIAG_CLIENT_UNITY,
    DIAG_CLIENT_ELECTRON,
    DIAG_CLIENT_FLUTTER,
    DIAG_CLIENT_REACT_NATIVE,
    DIAG_CLIENT_COCOS,
    DIAG_CLIENT_IOS,
    DIAG_CLIENT_MACOS,
    DIAG_CLIENT_COUNT
} diag_client;

/* Parses a platform name or alias (android, ios, ...; case-insensitive) -> true on success. */
bool diag_client_parse(const char *name, diag_client *out);
const char *diag_client_name(diag_client c);       /* "native", ..., "react-native", "macos" */
diag_platform diag_client_platform(diag_client c); /* the code table it reports with */
const char *diag_platform_name(diag_platform p);   /* "native", "objc", "web" */
/* Every accepted platform name, comma-separated, for usage and error messages. */
const char *diag_client_names(void);

/* "rtc" / "rtm" and "publisher" / "subscriber" (aliases "host" / "audience"). */
bool diag_service_parse(const char *name, diag_service *out);
bool diag_role_parse(const char *name, diag_role *out);

/* The client's SDK version (diagnosis.md "The client's SDK"): MAJOR.MINOR or MAJOR.MINOR.PATCH,
 * a leading 'v' allowed, each number 1 to DIAG_SDK_PART_DIGITS digits. text is the version as
 * given, for the echo. */
#define DIAG_SDK_PART_DIGITS 4
#define DIAG_SDK_TEXT_MAX (1 + 3 * DIAG_SDK_PART_DIGITS + 2)
typedef struct {
    uint32_t major, minor, patch; /* patch 0 when absent */
    char text[DIAG_SDK_TEXT_MAX + 1];
} diag_sdk_version;

/* Parses n bytes at p -> true on success; false (out untouched) on any other form. */
bool diag_sdk_version_parse(const char *p, size_t n, diag_sdk_version *out);
/* The message of a malformed version, naming the accepted form (the CLI and HTTP both say it). */
extern const char diag_sdk_version_form[];

#define DIAG_ACCOUNT_MAX 255

/* A diagnosis request. Strings are borrowed (not copied) and need not be NUL-terminated. */
typedef struct {
    bool has_token; /* false, or token_len == 0: a join without a token */
    const char *token;
    size_t token_len;
    const char *app_id; /* required (may be malformed: that is diagnosed, not rejected) */
    size_t app_id_len;
    diag_service service;
    bool has_channel;
    const char *channel;
    size_t channel_len;
    bool has_uid;
    uint32_t uid;
    bool uid_as_string; /* JSON input: the uid came as its decimal text (warning uid_as_string) */
    bool has_account;
    const char *account;
    size_t account_len;
    diag_role role;
    diag_client client; /* its code table: diag_client_platform(client) */
    int64_t at;         /* Unix time at which expiry is judged, 0..UINT32_MAX */
    bool has_sdk_version;
    diag_sdk_version sdk_version;
} diag_request;

/* The App ID a request's project is looked up by: the request's, or, when it is 32 hex
 * characters once surrounding whitespace is removed (hint app_id_whitespace), the trimmed one.
 * Every front end looks projects up by this key, and diag_run matches the project against it. */
void diag_request_project_key(const diag_request *req, const char **p, size_t *n);

/* Checks what makes a request bad (diagnosis.md "Inputs": uid and account together, missing
 * app_id, missing or empty channel for rtc, `at` outside 0..UINT32_MAX, account over 255 bytes,
 * token over TD_TOKEN_TEXT_MAX). A malformed sdk_version is refused where it is parsed.
 * Returns true when valid; otherwise false with a message naming the field in err. */
bool diag_request_validate(const diag_request *req, char *err, size_t err_cap);

/* Parses a JSON object (the HTTP body / one --batch line) into req. Strings in req borrow from
 * obj, which must outlive req. Unknown fields are ignored (clients send an "id"); `at` defaults
 * to now (the caller passes it) and may be Unix seconds or an ISO-8601 UTC string. `uid` is a
 * JSON number, or accepted as its decimal text ("42": 0..4294967295, no sign, space or leading
 * zero) with uid_as_string set, which diag_run turns into the warning uid_as_string. Validates
 * as diag_request_validate. false with a message naming the field (e.g. "uid: must be an
 * integer in 0..4294967295") on a wrong type, bad value or missing field. */
bool diag_request_from_json(json_t *obj, int64_t now, diag_request *req, char *err, size_t err_cap);

/* The request as the JSON body diag_request_from_json reads (what the CLI sends to a service
 * with --server): app_id, token (when given), service, channel, uid or account, role,
 * platform, at, sdk_version (as given). New reference; NULL when a string is not valid UTF-8
 * (JSON cannot carry it) or out of memory. */
json_t *diag_request_to_json(const diag_request *req);

/* The flags every front end parses a client's JSON with (an HTTP body, a --batch line, a
 * project configuration file): a key given twice in one object is refused, never resolved to
 * one of its values (jansson would keep the last; a proxy or a second parser may keep the
 * first). */
#define DIAG_JSON_FLAGS JSON_REJECT_DUPLICATES
/* When e is jansson's duplicate-key error, writes a message naming the key into msg ("uid: given
 * twice in one object") and returns true; false (msg untouched) for any other error. The key is
 * named only when it looks like a field name (1..64 of A-Z a-z 0-9 _, no 16 hex digits in a row):
 * anything else could be a certificate or a token, which messages never quote. */
bool diag_json_duplicate_key(const json_error_t *e, char *msg, size_t cap);

/* Parses `at` text: Unix seconds 0..4294967295, or an ISO-8601 UTC time
 * (YYYY-MM-DDTHH:MM:SS[.fff]Z, also with +00:00) in that range. false on anything else. */
bool diag_at_parse(const char *p, size_t n, int64_t *out);
#define DIAG_AT_FORM                                                                               \
    "Unix seconds 0..4294967295 or an ISO-8601 UTC time such as 2026-12-05T10:00:00Z"

/* ---- Project configuration -------------------------------------------------------------- */

/* The model (diag_project, diag_cert, the limits, diag_certificate_mode) and its rendering
 * (diag_project_to_json) are in tdproject.h; the configuration JSON every front end reads is
 * parsed here, with the other inputs. */

/* Parses the project configuration JSON of interfaces.md. Validates: app_id 32 hex, each
 * certificate 32 hex, enabled a boolean, flags booleans, retired_certificates an array of 32 hex
 * (at most DIAG_RETIRED_MAX), name a string of at most DIAG_NAME_MAX bytes, and no other field,
 * at the top or inside primary/secondary: a misspelt field would otherwise silently change the
 * configuration's meaning. false with a message naming the field otherwise
 * ("primary.certificate: must be 32 hex characters", "primay: unknown field (did you mean
 * primary?)"). The message never contains a certificate. */
bool diag_project_from_json(json_t *obj, diag_project *out, char *err, size_t err_cap);

/* ---- Causes, hints, warnings, the catalog ---------------------------------------------- */

/* In the order of diagnosis.md's check table (one check each), then the non-failing outcomes.
 * Which failing check is the cause is decided by precedence, which differs for rtm (the check
 * table in engine.c holds both orders). */
typedef enum {
    DIAG_CAUSE_APP_ID_MALFORMED = 0,
    DIAG_CAUSE_CHANNEL_NAME_INVALID,
    DIAG_CAUSE_TOKEN_REQUIRED,
    DIAG_CAUSE_TOKEN_NOT_EXPECTED,
    DIAG_CAUSE_TOKEN_MALFORMED,
    DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED,
    DIAG_CAUSE_APP_ID_MISMATCH,
    DIAG_CAUSE_SERVICE_MISSING,
    DIAG_CAUSE_CHANNEL_MISMATCH,
    DIAG_CAUSE_UID_MISMATCH,
    DIAG_CAUSE_SIGNATURE_INVALID,
    DIAG_CAUSE_TOKEN_EXPIRED,
    DIAG_CAUSE_PRIVILEGE_EXPIRED,
    DIAG_CAUSE_OK,
    DIAG_CAUSE_OK_APP_ID_ONLY,
    DIAG_CAUSE_PROJECT_UNKNOWN,
    DIAG_CAUSE_COUNT
} diag_cause;

#define DIAG_CHECK_COUNT 13 /* the failing causes, one check each, same order */

const char *diag_cause_name(diag_cause c); /* "app_id_malformed", ..., "project_unknown" */

typedef enum {
    DIAG_HINT_APP_ID_AS_TOKEN = 0,
    DIAG_HINT_LEGACY_VERSION,
    DIAG_HINT_UNSUPPORTED_VERSION,
    DIAG_HINT_WHITESPACE,
    DIAG_HINT_QUOTED,
    DIAG_HINT_AUTH_PREFIX,
    DIAG_HINT_JSON_ESCAPED,
    DIAG_HINT_PERCENT_ENCODED,
    DIAG_HINT_URL_DECODED,
    DIAG_HINT_NOT_BASE64,
    DIAG_HINT_TRUNCATED,
    DIAG_HINT_CORRUPTED,
    DIAG_HINT_APP_ID_CASE_DIFFERS,
    DIAG_HINT_JOIN_UID_ZERO,
    DIAG_HINT_SIGNED_WITH_DISABLED_CERTIFICATE,
    DIAG_HINT_SIGNED_WITH_RETIRED_CERTIFICATE,
    DIAG_HINT_SIGNED_WITH_APP_ID,
    DIAG_HINT_PRIVILEGE_EXPIRE_LOOKS_RELATIVE,
    DIAG_HINT_PRIVILEGE_EXPIRE_IS_ROLE,
    DIAG_HINT_EXPIRED_AT_ISSUE,
    DIAG_HINT_TOKEN_UID_ZERO_TEXT,
    DIAG_HINT_TOKEN_UID_OUT_OF_RANGE,
    DIAG_HINT_CHANNEL_CASE_DIFFERS,
    DIAG_HINT_CHANNEL_WHITESPACE,
    DIAG_HINT_BUILT_FOR_RTC,
    DIAG_HINT_APP_ID_WHITESPACE,
    DIAG_HINT_SAMPLE_APP_ID,
    DIAG_HINT_SIGNED_WITH_SAMPLE_CERTIFICATE,
    DIAG_HINT_COUNT
} diag_hint;
_Static_assert(DIAG_HINT_COUNT <= 32, "hints are bits of a uint32_t");
const char *diag_hint_name(diag_hint h);

typedef enum {
    DIAG_WARN_PROJECT_UNKNOWN = 0,
    DIAG_WARN_EXPIRES_SOON,
    DIAG_WARN_LIFETIME_OVER_24H,
    DIAG_WARN_EXPIRE_LOOKS_ABSOLUTE,
    DIAG_WARN_ISSUED_IN_FUTURE,
    DIAG_WARN_RTM_LOGIN_PRIVILEGE_MISSING,
    DIAG_WARN_PUBLISH_PRIVILEGE_MISSING,
    DIAG_WARN_UID_AS_STRING, /* the request's uid was a JSON string of digits */
    DIAG_WARN_COUNT
} diag_warning;
const char *diag_warning_name(diag_warning w);

/* The hints that explain why token text did not decode (st: td_decode's answer; 0 for TD_OK):
 * app_id_as_token alone, or the transport damages (whitespace, quoted, auth_prefix,
 * json_escaped, percent_encoded, url_decoded) plus the decoder's kind unless one of those
 * explains it (diagnosis.md "Hints"). Bits are (1u << diag_hint). The same answer as the
 * token_malformed hints of a diagnosis. */
uint32_t diag_token_hints(const char *token, size_t len, td_status st);

typedef struct {
    int code;         /* 0: no number (the platform names the error only, or none) */
    const char *name; /* constant name, NULL when none */
} diag_code;

/* The catalog has one table per (service, SDK generation): the codes, reasons and fixes of an RTC
 * join, of an RTM 1.x login, and of an RTM 2.x (Signaling) login, which reports its own codes. */
typedef enum { DIAG_TABLE_RTC = 0, DIAG_TABLE_RTM1, DIAG_TABLE_RTM2, DIAG_TABLE_COUNT } diag_table;

/* The table a request's answer comes from: rtc, or rtm by its SDK's major version (1.x when
 * unknown). */
diag_table diag_table_of(diag_service service, const diag_sdk_version *sdk_or_null);
const char *diag_table_service(diag_table t); /* "rtc", "rtm", "rtm" */
const char *diag_table_sdk(diag_table t);     /* NULL, "1.x", "2.x" */

/* One row of the error catalog: a cause's answer in one table. A cause the table does not
 * know (channel_name_invalid for rtm) has no row. */
typedef struct {
    diag_table table;
    diag_cause cause;
    diag_code code[3];    /* indexed by diag_platform */
    diag_code also[3][2]; /* other codes the platform may report (web expiry: 118, 2) */
    const char *title;    /* short, e.g. "uid mismatch" */
    const char *reason;   /* why the platform answers this, for a support engineer */
    const char *solution; /* what to change or call */
} diag_catalog_entry;

/* The row of (table, cause), or NULL when the table has none. Every cause, ok / ok_app_id_only /
 * project_unknown included, has a row in each table, except the two causes a login cannot have
 * (channel_name_invalid and channel_mismatch) in the rtm tables. */
const diag_catalog_entry *diag_catalog(diag_table t, diag_cause c);

/* One sentence for a person: what the hint or warning means and what to do about it. */
const char *diag_hint_text(diag_hint h);
const char *diag_warning_text(diag_warning w);

/* The fix a hint puts in place of its cause's solution (with expired_at_issue, fetching a new
 * token cannot help), or NULL when the cause's solution stands. */
const char *diag_hint_fix(diag_hint h, diag_table t);

/* The whole catalog as JSON (GET /v1/errors). New reference:
 *   {"errors": [{"cause", "service": "rtc", "sdk": null, "title", "codes": {"native": {"code",
 *                "name", "also": [{"code", "name"}]} | null, "objc": ..., "web": ...},
 *                "reason", "solution"}, ...],
 *    "rtm_errors": [the same for "service": "rtm", "sdk": "1.x" then "2.x"],
 *    "hints": [{"hint", "text"}, ...], "warnings": [{"warning", "text"}, ...]}
 * `errors` keeps the RTC table (its shape from before the RTM tables existed). Codes without a
 * number are null ({"code": null, "name": "INVALID_PARAMS"}). */
json_t *diag_catalog_to_json(void);

/* ---- The result ------------------------------------------------------------------------- */

typedef enum { DIAG_JOINABLE = 0, DIAG_REJECTED, DIAG_UNVERIFIABLE } diag_verdict;
const char *diag_verdict_name(diag_verdict v); /* "joinable", "rejected", "unverifiable" */

typedef enum { DIAG_PASS = 0, DIAG_FAIL, DIAG_WARN, DIAG_SKIP } diag_check_status;
const char *diag_check_status_name(diag_check_status s); /* "pass", "fail", "warn", "skip" */

#define DIAG_DETAIL_MAX 256
#define DIAG_APP_ID_KEEP 64 /* bytes of the request's App ID kept in a result for output */

typedef struct {
    const char *id; /* stable check id, e.g. "app_id_format", "channel" */
    diag_check_status status;
    char detail[DIAG_DETAIL_MAX]; /* names the values compared, never a certificate */
} diag_check;

typedef enum { DIAG_SIGNED_NONE = 0, DIAG_SIGNED_PRIMARY, DIAG_SIGNED_SECONDARY } diag_signed_with;

typedef struct {
    diag_verdict verdict;
    diag_cause cause;
    uint32_t hints;    /* bit (1u << diag_hint) */
    uint32_t warnings; /* bit (1u << diag_warning) */
    diag_check checks[DIAG_CHECK_COUNT];
    diag_platform platform;
    diag_client client;
    diag_service service;
    diag_table table; /* the catalog table of the answer */
    diag_role role;
    int64_t at;
    bool has_sdk_version;
    char sdk_version[DIAG_SDK_TEXT_MAX + 1]; /* as given, for the echo */
    /* The request's App ID (at most its first DIAG_APP_ID_KEEP bytes). */
    char app_id[DIAG_APP_ID_KEEP + 1];
    size_t app_id_len;

    bool has_expiry; /* false without a decodable token */
    int64_t expires_at;

    bool token_decoded;
    td_token token; /* valid when token_decoded */

    bool project_known;
    const char *certificate_mode; /* diag_certificate_mode(), or NULL when unknown */
    bool no_certificate;
    diag_signed_with signed_with;

    /* Repair (diagnosis.md "Repair"): present when the cleaned token differs and decodes. */
    bool has_repaired;
    char repaired_token[TD_TOKEN_TEXT_MAX + 1];
    diag_verdict repaired_verdict;
    diag_cause repaired_cause;
} diag_result;

/* Options that trade detail for speed. */
typedef struct {
    bool skip_details; /* leave checks[].detail empty (e.g. --summary) */
} diag_options;

/* Diagnoses req against project (NULL = unknown project). req must be valid
 * (diag_request_validate). ctx is the caller's per-thread td_ctx. opts may be NULL.
 * The project is the configuration of the request's App ID: a project whose app_id is not
 * exactly the request's is treated as unknown (lookups are by exact App ID); when it is the
 * request's in another case (the store finds one App ID whatever its case), the verdict is the
 * same but the checks' "project unknown" details name it and say the case differs. */
void diag_run(td_ctx *ctx, const diag_request *req, const diag_project *project,
              const diag_options *opts, diag_result *out);

/* The catalog row of the result's cause in its table (never NULL), and the fix to show: the
 * row's solution, or a hint's fix when a hint of the cause changes it (diag_hint_fix). */
const diag_catalog_entry *diag_result_entry(const diag_result *r);
const char *diag_result_solution(const diag_result *r);
/* The error code the platform reports for a rejected result (NULL when not rejected). */
const diag_code *diag_result_code(const diag_result *r);

/* ---- Rendering -------------------------------------------------------------------------- */

/* The diagnosis JSON of interfaces.md (error also carries "title") as a tree: the bytes of
 * diag_result_json_append parsed back (one writer). New reference; NULL when out of memory. */
json_t *diag_result_to_json(const diag_result *r);

/* The same document written straight into b, without a jansson tree: appends exactly the bytes
 * of json_dumpb(diag_result_to_json(r), JSON_COMPACT). Returns false when b cannot take them (out
 * of memory or over its cap: b->status says which); then b->len is as before the call. For hot
 * paths (the HTTP service); the bytes are the same as the tree's. */
bool diag_result_json_append(td_buf *b, const diag_result *r);

/* A diagnosis document (this shape, e.g. a service's answer) read back into out, as far as the
 * text rendering (diag_result_print) and the summary need: verdict, cause, hints, warnings,
 * checks (their ids borrow from doc, which must outlive out), expiry, at, the repair and the
 * sdk_version echo; the platform, service and catalog table, which the document does not carry,
 * come from req, the request it answers. The decoded token is not read (token_decoded false).
 * Names this version does not know (a newer service's) are skipped. false when doc is not a
 * diagnosis (no known verdict and cause). */
bool diag_result_from_json(json_t *doc, const diag_request *req, diag_result *out);

/* The --summary subset: verdict, cause, code, hints, warnings, expires_at, sdk_version, as a
 * tree: the bytes of diag_result_summary_append parsed back. New reference. */
json_t *diag_result_to_summary_json(const diag_result *r);

/* The summary written straight into a buffer, as diag_result_json_append does for the whole
 * document: exactly the bytes of json_dumpb(diag_result_to_summary_json(r), JSON_COMPACT). */
bool diag_result_summary_append(td_buf *b, const diag_result *r);

/* The decoded token JSON of interfaces.md (with derived times such as expires_at), appended to
 * b; same contract as diag_result_json_append. */
bool diag_token_json_append(td_buf *b, const td_token *tok);

/* The same as a tree: those bytes parsed back. New reference; NULL when out of memory. */
json_t *diag_token_to_json(const td_token *tok);

/* The error object {"error": {"code": code, "message": message}}. New reference. */
json_t *diag_error_json(const char *code, const char *message);

/* ---- Batch items ------------------------------------------------------------------------
 * One item of a batch answer: a line of `diagnose --batch` and an entry of POST
 * /v1/diagnose/batch's `results`, written by these functions for both. In a diagnosis `error` is
 * the platform's error ({"code": 110, ...}); in an item that was not diagnosed it is the API's
 * ({"code": "bad_request", ...}). `status` says which, so that a script never has to guess:
 *   {"id": ID, "status": "diagnosed", <the members of the diagnosis, or of its summary>}
 *   {"id": ID, "status": "invalid", "error": {"code", "message"}}   the request's fault
 *   {"id": ID, "status": "failed", "error": {"code", "message"}}    not the request's (a store
 *                                                                   that did not answer)
 * ID is the request's "id" as given (any JSON value), null when it has none. */
typedef enum { DIAG_ITEM_DIAGNOSED = 0, DIAG_ITEM_INVALID, DIAG_ITEM_FAILED } diag_item_status;
const char *diag_item_status_name(diag_item_status s); /* "diagnosed", "invalid", "failed" */

/* Appends the item of a diagnosis to b, as diag_result_json_append does: exactly the bytes of
 * json_dumpb(JSON_COMPACT | JSON_PRESERVE_ORDER) of the tree {"id": id, "status": "diagnosed"}
 * updated with diag_result_to_json(r) (summary: diag_result_to_summary_json). id may be NULL
 * (null). false when b cannot take it (b->len unchanged, b->status says why). */
bool diag_batch_item_add(td_buf *b, json_t *id, const diag_result *r, bool summary);

/* Appends the item of a request that was not diagnosed (st: DIAG_ITEM_INVALID or
 * DIAG_ITEM_FAILED), its error {"code": code, "message": message} as diag_error_json writes it.
 * Same buffer contract as diag_batch_item_add. */
bool diag_batch_error_add(td_buf *b, json_t *id, diag_item_status st, const char *code,
                          const char *message);

/* The error object for token text that does not decode (st != TD_OK): code token_malformed, a
 * message naming the likeliest reason, and the hints of diag_token_hints ("the token is empty"
 * and no hint for empty text). New reference. */
json_t *diag_token_error_json(const char *token, size_t len, td_status st);

/* Human-readable diagnosis for a person at a terminal: the verdict in one line, the fix, the
 * checks (marks), hints, warnings, the repaired token's verdict. color: ANSI colours. */
void diag_result_print(FILE *out, const diag_result *r, bool color);

/* Human-readable decoded token: every field, privileges by name, times as ISO-8601 UTC plus a
 * relative phrase against `now` ("in 3 h 12 min", "expired 2 days ago"). */
void diag_token_print(FILE *out, const td_token *tok, int64_t now);

/* ---- Minting ---------------------------------------------------------------------------- */

/* What `tokendoctor mint` and POST /v1/tokens build (interfaces.md). 007: one service; rtc gets
 * join_channel, plus the three publish privileges unless subscriber; rtm gets login; every
 * privilege value is privilege_expire. 006: ts = issue_ts + expire, privileges absolute
 * (issue_ts + privilege_expire), rtm gets 1000 with the user id in the channel's place. The
 * caller has checked that the 006 sums fit in 32 bits. */
typedef struct {
    bool v006;            /* "006", otherwise "007" */
    diag_service service; /* rtc or rtm */
    bool subscriber;      /* rtc: join_channel only */
    const char *app_id;   /* 32 characters */
    const char *channel;  /* rtc */
    size_t channel_len;
    const char *uid; /* the account, or the uid's decimal text ("" for uid 0) */
    size_t uid_len;
    uint32_t issue_ts, expire, privilege_expire;
    bool has_salt; /* otherwise a random salt (td_random_salt) */
    uint32_t salt;
} diag_mint_input;

/* A mint request as its front end read it, before defaults and rules: what `tokendoctor mint`'s
 * flags and POST /v1/tokens' fields say (interfaces.md "mint"). Strings are borrowed, NULL when
 * absent; numbers are range-checked here, so a front end only has to read them. */
typedef struct {
    const char *version; /* "007" or "006"; NULL: "007" */
    const char *service; /* "rtc" or "rtm"; NULL: rtc */
    const char *role;    /* as diag_role_parse; NULL: publisher (rtc only) */
    const char *channel; /* rtc only */
    size_t channel_len;
    const char *account; /* the user account (rtc) or user id (rtm) */
    size_t account_len;
    bool has_uid, has_expire, has_privilege_expire, has_issue_ts, has_salt;
    uint64_t uid, expire, privilege_expire, issue_ts, salt;
} diag_mint_request;

/* The rules of a mint request, the same for both front ends: applies the defaults (expire 3600,
 * privilege_expire = expire, issue_ts = now, a random salt) and fills *out (all but app_id, which
 * the caller sets; uid_buf holds the uid's text and must outlive *out). false with a message
 * that starts with the JSON names of the fields at fault ("uid, account: ..."), never echoing a
 * value. */
bool diag_mint_prepare(const diag_mint_request *rq, int64_t now, diag_mint_input *out,
                       char uid_buf[16], char *err, size_t err_cap);

/* Fills spec (the caller's scratch token; td_token_expiry(spec) is then the token's expiry) and
 * builds the token signed with cert (32 characters) into out. Returns its length, 0 when it
 * cannot be built (inputs too long for the format). */
size_t diag_mint(td_ctx *ctx, const diag_mint_input *in, const char *cert, td_token *spec,
                 char *out, size_t out_cap);

#ifdef __cplusplus
}
#endif
#endif /* TDDIAG_H */

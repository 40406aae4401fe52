/* tddiag.h -- the diagnosis engine and the error catalog.
 *
 * Design
 * ------
 * diag_run() is a pure function of (request, project or none, time): it does no I/O, keeps no
 * global state and allocates nothing, so the CLI, the HTTP service, the benchmarks and the tests
 * all share it. It fills a diag_result; rendering that result (JSON for machines, text for a
 * person at a terminal) is separate. The JSON shapes are those of shared/spec/interfaces.md and
 * the rules those of shared/spec/diagnosis.md, to the letter.
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

/* Parses a platform name or alias (android, ios, ...: diagnosis.md) -> true on success. */
bool diag_platform_parse(const char *name, diag_platform *out);
const char *diag_platform_name(diag_platform p); /* "native", "objc", "web" */

/* "rtc" / "rtm" and "publisher" / "subscriber" (aliases "host" / "audience"). */
bool diag_service_parse(const char *name, diag_service *out);
bool diag_role_parse(const char *name, diag_role *out);

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
    bool has_account;
    const char *account;
    size_t account_len;
    diag_role role;
    diag_platform platform;
    int64_t at; /* Unix time at which expiry is judged */
} diag_request;

/* Checks what makes a request bad (diagnosis.md "Inputs": uid and account together, missing
 * app_id, missing or empty channel for rtc, account over 255 bytes, token over TD_TOKEN_TEXT_MAX).
 * Returns true when valid; otherwise false with a message naming the field in err. */
bool diag_request_validate(const diag_request *req, char *err, size_t err_cap);

/* Parses a JSON object (the HTTP body / one --batch line) into req. Strings in req borrow from
 * obj, which must outlive req. Unknown fields are ignored; `at` defaults to now (the caller
 * passes it). Validates as diag_request_validate. false with a message naming the field (e.g.
 * "uid: must be an integer in 0..4294967295") on a wrong type, bad value or missing field. */
bool diag_request_from_json(json_t *obj, int64_t now, diag_request *req, char *err, size_t err_cap);

/* ---- Project configuration -------------------------------------------------------------- */

#define DIAG_RETIRED_MAX 64
#define DIAG_NAME_MAX 128

typedef struct {
    bool present;
    bool enabled;
    char certificate[TD_CERT_LEN + 1]; /* 32 hex characters, NUL-terminated */
} diag_cert;

typedef struct {
    char app_id[TD_CERT_LEN + 1];
    char name[DIAG_NAME_MAX + 1];
    diag_cert primary;
    diag_cert secondary;
    bool no_certificate;
    bool cohost_auth;
    size_t retired_count; /* most recent last; at most DIAG_RETIRED_MAX */
    char retired[DIAG_RETIRED_MAX][TD_CERT_LEN + 1];
} diag_project;

/* Parses the project configuration JSON of interfaces.md. Validates: app_id 32 hex, each
 * certificate 32 hex, enabled a boolean, flags booleans, retired_certificates an array of 32 hex
 * (at most DIAG_RETIRED_MAX), name a string of at most DIAG_NAME_MAX bytes. false with a message
 * naming the field ("primary.certificate: must be 32 hex characters") otherwise. The message never
 * contains a certificate. */
bool diag_project_from_json(json_t *obj, diag_project *out, char *err, size_t err_cap);

/* The configuration as read back: certificates replaced by {"fingerprint", "enabled"}, retired
 * certificates as fingerprints. Never a certificate. New reference. */
json_t *diag_project_to_json(const diag_project *p);

/* "none", "primary", "secondary" or "both": which certificates are enabled. */
const char *diag_certificate_mode(const diag_project *p);

/* ---- Causes, hints, warnings, the catalog ---------------------------------------------- */

/* In precedence order (diagnosis.md "Checks"), then the non-failing outcomes. */
typedef enum {
    DIAG_CAUSE_APP_ID_MALFORMED = 0,
    DIAG_CAUSE_TOKEN_REQUIRED,
    DIAG_CAUSE_TOKEN_NOT_EXPECTED,
    DIAG_CAUSE_TOKEN_MALFORMED,
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

#define DIAG_CHECK_COUNT 11 /* the failing causes, one check each, same order */

const char *diag_cause_name(diag_cause c); /* "app_id_malformed", ..., "project_unknown" */

typedef enum {
    DIAG_HINT_APP_ID_AS_TOKEN = 0,
    DIAG_HINT_LEGACY_VERSION,
    DIAG_HINT_UNSUPPORTED_VERSION,
    DIAG_HINT_WHITESPACE,
    DIAG_HINT_QUOTED,
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
    DIAG_HINT_COUNT
} diag_hint;
const char *diag_hint_name(diag_hint h);

typedef enum {
    DIAG_WARN_PROJECT_UNKNOWN = 0,
    DIAG_WARN_EXPIRES_SOON,
    DIAG_WARN_LIFETIME_OVER_24H,
    DIAG_WARN_EXPIRE_LOOKS_ABSOLUTE,
    DIAG_WARN_ISSUED_IN_FUTURE,
    DIAG_WARN_CHANNEL_NAME_INVALID,
    DIAG_WARN_PUBLISH_PRIVILEGE_MISSING,
    DIAG_WARN_COUNT
} diag_warning;
const char *diag_warning_name(diag_warning w);

/* The hints that explain why token text did not decode (st: td_decode's answer; 0 for TD_OK):
 * app_id_as_token alone, or whitespace / quoted / url_decoded plus the decoder's kind unless one
 * of those explains it (diagnosis.md "Hints"). Bits are (1u << diag_hint). The same answer as the
 * token_malformed hints of a diagnosis. */
uint32_t diag_token_hints(const char *token, size_t len, td_status st);

/* One sentence for a person: what the hint or warning means and what to do about it. */
const char *diag_hint_text(diag_hint h);
const char *diag_warning_text(diag_warning w);

typedef struct {
    int code;         /* 0 when none */
    const char *name; /* constant name, NULL when none */
} diag_code;

/* One row of the error catalog. */
typedef struct {
    diag_cause cause;
    diag_code code[3];    /* indexed by diag_platform */
    diag_code also[3][2]; /* other codes the platform may report (web expiry: 118, 2) */
    const char *title;    /* short, e.g. "uid mismatch" */
    const char *reason;   /* why the platform answers this, for a support engineer */
    const char *solution; /* what to change or call */
} diag_catalog_entry;

/* The catalog entry of a cause (every cause has one, including ok / project_unknown). */
const diag_catalog_entry *diag_catalog(diag_cause c);

/* The whole catalog as JSON (GET /v1/errors). New reference:
 *   {"errors": [{"cause", "title", "codes": {"native": {"code", "name", "also": [{"code",
 *                "name"}]} | null, "objc": ..., "web": ...}, "reason", "solution"}, ...],
 *    "hints": [{"hint", "text"}, ...], "warnings": [{"warning", "text"}, ...]}
 * Every cause is listed, ok / ok_app_id_only / project_unknown included (their codes null). */
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
    diag_service service;
    diag_role role;
    int64_t at;
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
 * exactly the request's is treated as unknown (lookups are by exact App ID). */
void diag_run(td_ctx *ctx, const diag_request *req, const diag_project *project,
              const diag_options *opts, diag_result *out);

/* ---- Rendering -------------------------------------------------------------------------- */

/* The diagnosis JSON of interfaces.md (error also carries "title"). New reference. */
json_t *diag_result_to_json(const diag_result *r);

/* The same document written straight into a buffer, without a jansson tree: appends exactly the
 * bytes of json_dumpb(diag_result_to_json(r), JSON_COMPACT) to *buf from offset *len, growing
 * *buf with realloc (it may start NULL with *cap 0; *cap is its size). Returns false when out of
 * memory (then *len is unchanged and *buf still the caller's to free). For hot paths (the HTTP
 * service); the bytes are the same as the tree's. */
bool diag_result_json_append(const diag_result *r, char **buf, size_t *len, size_t *cap);

/* The --summary subset: verdict, cause, code, hints, warnings, expires_at. New reference. */
json_t *diag_result_to_summary_json(const diag_result *r);

/* The summary written straight into a buffer, as diag_result_json_append does for the whole
 * document: exactly the bytes of json_dumpb(diag_result_to_summary_json(r), JSON_COMPACT). */
bool diag_result_summary_append(const diag_result *r, char **buf, size_t *len, size_t *cap);

/* The decoded token JSON of interfaces.md (with derived times such as expires_at). New
 * reference. */
json_t *diag_token_to_json(const td_token *tok);

/* The error object {"error": {"code": code, "message": message}}. New reference. */
json_t *diag_error_json(const char *code, const char *message);

/* The error object for token text that does not decode (st != TD_OK): code token_malformed, a
 * message naming the likeliest reason, and the hints of diag_token_hints. New reference. */
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

/* Fills spec (the caller's scratch token; td_token_expiry(spec) is then the token's expiry) and
 * builds the token signed with cert (32 characters) into out. Returns its length, 0 when it
 * cannot be built (inputs too long for the format). */
size_t diag_mint(td_ctx *ctx, const diag_mint_input *in, const char *cert, td_token *spec,
                 char *out, size_t out_cap);

#ifdef __cplusplus
}
#endif
#endif /* TDDIAG_H */

/* tdproject.h -- the project model: a project's certificate configuration, the certificate-mode
 * rule, the configuration as it is shown (fingerprints, never a certificate) and its change log,
 * and the JSON documents of all three.
 *
 * Design
 * ------
 * The diagnosis engine (diagnostics/) judges a token against a diag_project; the store (db/)
 * keeps diag_projects and logs their changes. Both depend on this small library, and neither on
 * the other: the store returns structs (diag_project, diag_project_shown, diag_project_change)
 * and the front ends render them with the functions here, so that the CLI (`project show|list|
 * history`) and the HTTP routes write the same bytes, and the log's snapshots are stored in the
 * very shape they are shown in.
 *
 * Names keep the diag_ prefix the model was born with in diagnostics/ (diag_project, diag_cert,
 * DIAG_RETIRED_MAX): they are used by every module and test, and a rename would touch all of
 * them for no change in meaning. Parsing a configuration from a front end's JSON stays in
 * diagnostics/ (diag_project_from_json), with every other input's validation.
 *
 * Text in these structs is valid UTF-8 (diag_project_from_json checks it, the store repairs what
 * it reads back with td_text_copy), so rendering never has to escape it. The store's API keys and
 * diagnosis log are shown the same way (diag_apikey_shown, diag_log_entry), rendered here too.
 */
#ifndef TDPROJECT_H
#define TDPROJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdcore.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The configuration ------------------------------------------------------------------- */

#define DIAG_RETIRED_MAX 64 /* retired certificates kept per project, the oldest dropped */
#define DIAG_NAME_MAX 128   /* bytes of a project's name */
#define DIAG_FINGERPRINT_LEN 8

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

/* "none", "primary", "secondary" or "both": which certificates are enabled. */
const char *diag_certificate_mode(const diag_project *p);

/* True when cert (TD_CERT_LEN characters) is p's primary or secondary certificate, enabled or
 * not: such a certificate is current, never retired (a configuration file and the store both
 * drop it from the retired list). */
bool diag_project_is_current(const diag_project *p, const char *cert);

/* ---- The configuration as shown ------------------------------------------------------------
 * What may be shown of a configuration: each certificate replaced by its fingerprint (first 8
 * hex characters of SHA-256, td_fingerprint). The store can fill one without the key file. */

typedef struct {
    bool present;
    bool enabled;
    char fingerprint[DIAG_FINGERPRINT_LEN + 1];
} diag_cert_shown;

typedef struct {
    char app_id[TD_CERT_LEN + 1];
    char name[DIAG_NAME_MAX + 1];
    diag_cert_shown primary;
    diag_cert_shown secondary;
    bool no_certificate;
    bool cohost_auth;
    size_t retired_count; /* most recent last; at most DIAG_RETIRED_MAX */
    char retired[DIAG_RETIRED_MAX][DIAG_FINGERPRINT_LEN + 1];
    bool has_times; /* a stored project: created_at and updated_at are shown */
    int64_t created_at, updated_at;
} diag_project_shown;

/* Fills out from p (no times). */
void diag_project_show(const diag_project *p, diag_project_shown *out);

/* diag_certificate_mode of the configuration shown. */
const char *diag_project_shown_mode(const diag_project_shown *s);

/* The configuration as read back (interfaces.md, `project show`, GET /v1/projects/ID):
 *   {"app_id", "name": S|null, "primary": {"fingerprint", "enabled"}|null, "secondary": ...,
 *    "no_certificate", "cohost_auth", "certificate_mode", "retired_certificates": [FP, ...]}
 * plus "created_at" and "updated_at" (Unix seconds) when s->has_times. New reference; NULL when
 * out of memory. */
json_t *diag_project_shown_to_json(const diag_project_shown *s);

/* diag_project_shown_to_json of diag_project_show(p). Never a certificate. */
json_t *diag_project_to_json(const diag_project *p);

/* A list of projects: [diag_project_shown_to_json, ...]. NULL when out of memory. */
json_t *diag_project_list_to_json(const diag_project_shown *list, size_t count);

/* ---- The change log ------------------------------------------------------------------------ */

typedef enum {
    DIAG_PROJECT_CREATE = 0,
    DIAG_PROJECT_REPLACE,
    DIAG_PROJECT_DELETE,
    DIAG_PROJECT_ACTION_COUNT
} diag_project_action;

const char *diag_project_action_name(diag_project_action a); /* "create", "replace", "delete" */
/* Parses an action's name -> true on success. */
bool diag_project_action_parse(const char *name, diag_project_action *out);

#define DIAG_ACTOR_MAX 255
#define DIAG_CHANGE_RETIRED_MAX 2 /* a change retires at most its primary and secondary */

/* One entry of the configuration log: who changed what, when, and the configuration before and
 * after (app_id and times are not part of a snapshot). */
typedef struct {
    int64_t id;
    int64_t at;
    char actor[DIAG_ACTOR_MAX + 1]; /* "cli", an API key's name, ... */
    diag_project_action action;
    bool has_before, has_after; /* false: null (created / deleted, or unreadable when deleted) */
    diag_project_shown before, after;
    size_t retired_count; /* the certificates this change retired */
    char retired[DIAG_CHANGE_RETIRED_MAX][DIAG_FINGERPRINT_LEN + 1];
} diag_project_change;

/* A log snapshot of s (NULL: null), the shape the log stores and shows:
 *   {"name", "mode", "no_certificate", "cohost_auth", "primary": {"fingerprint", "enabled"}|null,
 *    "secondary": ...|null, "retired_certificates": [FP, ...]}
 * New reference; NULL when out of memory. */
json_t *diag_project_snapshot_to_json(const diag_project_shown *s);

/* Reads a snapshot written by diag_project_snapshot_to_json back into out (no app_id, no times).
 * false when snap is not one. */
bool diag_project_snapshot_from_json(json_t *snap, diag_project_shown *out);

/* The fields that differ between two snapshots (either may be NULL: created or deleted):
 *   [{"field": "mode"|"primary.fingerprint"|"primary.enabled"|"secondary.fingerprint"|
 *              "secondary.enabled"|"no_certificate"|"cohost_auth"|"name"|"retired_certificates",
 *     "from": V, "to": V}, ...]
 * A create or delete lists every field set; "no retired certificates" on either side is not a
 * change. New reference; NULL when out of memory. */
json_t *diag_project_changes_to_json(const diag_project_shown *before,
                                     const diag_project_shown *after);

/* The log, oldest first, as `project history` and GET /v1/projects/ID/history show it:
 *   [{"id", "at", "actor", "action", "before": SNAPSHOT|null, "after": SNAPSHOT|null,
 *     "changes": diag_project_changes_to_json(before, after), "retired": [FP, ...]}, ...]
 * New reference; NULL when out of memory. */
json_t *diag_project_history_to_json(const diag_project_change *log, size_t count);

/* ---- API keys and the diagnosis log, as shown -------------------------------------------
 * The store's two other lists leave it as structs too (tdb_apikey_list, tdb_diagnoses_recent) and
 * are rendered here, once, for the CLI and the HTTP routes. Their text is valid UTF-8: the store
 * fills it with td_text_copy (core's one rule for text from outside). */

#define DIAG_KEY_NAME_MAX 64 /* bytes of an API key's name */

typedef struct {
    int64_t id;
    char name[DIAG_KEY_NAME_MAX + 1];
    char role[8]; /* "admin" or "reader" */
    int64_t created_at;
    bool revoked, used;               /* false: revoked_at / last_used_at are null */
    int64_t revoked_at, last_used_at; /* Unix seconds */
} diag_apikey_shown;

/* Every key, as `apikey list --json` shows them:
 *   [{"id", "name", "role", "created_at", "revoked_at": UNIX|null, "last_used_at": UNIX|null}]
 * Never a key or its hash (the struct has neither). New reference; NULL when out of memory. */
json_t *diag_apikey_list_to_json(const diag_apikey_shown *keys, size_t count);

/* One diagnosis as the log keeps it (tdb_log_push writes one, tdb_diagnoses_recent reads them
 * back). Fixed-size, so that pushing copies it without allocating; longer strings are truncated.
 * Never the token: a fingerprint of it (td_fingerprint of the token text), "" without a token. */
typedef struct {
    int64_t at;        /* Unix time of the diagnosis */
    char app_id[65];   /* as given (may be malformed) */
    char verdict[16];  /* diag_verdict_name */
    char cause[40];    /* diag_cause_name */
    int code;          /* the platform's error code; 0 when none (stored and shown as null) */
    char platform[16]; /* diag_platform_name */
    char token_fingerprint[17];
    char channel[129];
    char uid[256]; /* uid as decimal text, or the account; "" when none */
} diag_log_entry;

/* The log as GET /v1/projects/ID/diagnoses shows it, in the order given:
 *   [{"at", "app_id", "verdict", "cause", "code"|null, "platform", "token_fingerprint"|null,
 *     "channel"|null, "uid"|null}]
 * a code of 0 and an empty fingerprint, channel or uid as null (the store keeps them as NULL).
 * New reference; NULL when out of memory. */
json_t *diag_log_list_to_json(const diag_log_entry *list, size_t count);

/* ---- A bulk import's summary ----------------------------------------------------------------
 * What `project import` and POST /v1/projects:import answer: how many configurations were
 * created, replaced (changed), unchanged (identical to the stored one: not written, not logged)
 * and failed, and the first failures with their line numbers. The store fills one
 * (tdb_import_end); both front ends render it here. */

#define DIAG_IMPORT_ERRORS_MAX 100 /* failures kept with their messages (all are counted) */
#define DIAG_IMPORT_MESSAGE_MAX 320

typedef struct {
    uint64_t line; /* 1-based line of the input where the configuration starts */
    char message[DIAG_IMPORT_MESSAGE_MAX]; /* the field's message ("app_id: must be ..."), never
                                              a certificate */
} diag_import_error;

typedef struct {
    bool dry_run; /* nothing was written: the counts say what the import would do */
    uint64_t created, replaced, unchanged, failed;
    size_t error_count; /* errors kept: the first DIAG_IMPORT_ERRORS_MAX failures */
    diag_import_error errors[DIAG_IMPORT_ERRORS_MAX];
} diag_import_summary;

/* {"created", "replaced", "unchanged", "failed", "dry_run",
 *  "errors": [{"line", "message"}, ...]}  (the first DIAG_IMPORT_ERRORS_MAX failures).
 * New reference; NULL when out of memory. */
json_t *diag_import_summary_to_json(const diag_import_summary *s);

#ifdef __cplusplus
}
#endif
#endif /* TDPROJECT_H */

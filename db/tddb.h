/* tddb.h -- the SQLite store: project configurations, their change log, retired certificates,
 * API keys and the diagnosis log.
 *
 * Design
 * ------
 * One SQLite database file holds everything (WAL mode, busy timeout 5 s, foreign keys on, schema
 * migrations keyed by PRAGMA user_version). A tdb is one connection plus the certificate key; it
 * is NOT thread-safe: one tdb is used by one thread at a time. A multi-threaded program (the
 * HTTP service) opens one tdb per worker thread; SQLite's WAL locking lets them, and other
 * processes (the CLI), read and write the same file concurrently.
 *
 * Certificates (current and retired) are encrypted at rest with AES-256-GCM: a random 12-byte
 * nonce per value, the App ID as additional data (so a ciphertext cannot be moved to another
 * project). The 32-byte key lives in a separate key file (64 hex characters), created with mode
 * 0600 on first use. A key check value in the database makes a wrong key file an error at open
 * ("cannot decrypt certificates: wrong key file?"), never garbage later. A copy of the database
 * without the key file reveals no certificate. Every output of this module shows fingerprints
 * (td_fingerprint), never a certificate, and no error message contains one.
 *
 * API keys are random ("tdk_" + 64 hex characters), shown once at creation; only their SHA-256
 * is stored, and verification compares hashes in constant time.
 *
 * The diagnosis log (tdb_log) is written off the request path: a bounded in-memory queue drained
 * by one writer thread with its own connection, in batched transactions. Pushing never blocks:
 * when the queue is full the entry is dropped and counted. It lives in the same file as the
 * configuration: a cache of the configuration watches tdb_config_version(), which only
 * configuration changes move -- not PRAGMA data_version, which every log commit moves.
 *
 * Errors: functions return a tdb_status; the message of the last failure on a tdb is
 * tdb_errmsg(db). Messages name the file or field concerned and never contain a secret.
 */
#ifndef TDDB_H
#define TDDB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdproject.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Paths ----------------------------------------------------------------------------- */

/* The embedded default database path, shared by every command (serve, diagnose --db, mint --db,
 * project, apikey): $TOKENDOCTOR_DB when set and non-empty, else "./data/tokendoctor.db"
 * (relative to the working directory). */
#define TDB_DEFAULT_PATH "./data/tokendoctor.db"
#define TDB_ENV_PATH "TOKENDOCTOR_DB"
/* The key file: $TOKENDOCTOR_KEY_FILE when set and non-empty, else "tokendoctor.key" in the
 * database's directory. */
#define TDB_KEY_FILE_NAME "tokendoctor.key"
#define TDB_ENV_KEY_FILE "TOKENDOCTOR_KEY_FILE"

/* The database path to use when none is given (never NULL; points into the environment or a
 * constant). */
const char *tdb_default_path(void);

/* The key file to use for db_path when none is given, into out (NUL-terminated). false when it
 * does not fit. */
bool tdb_default_key_file(const char *db_path, char *out, size_t out_cap);

/* ---- Opening --------------------------------------------------------------------------- */

typedef struct tdb tdb;

typedef enum {
    TDB_OK = 0,
    TDB_NOT_FOUND, /* no such project / API key / history */
    TDB_INVALID,   /* bad input (e.g. unknown role, name too long, name already in use) */
    TDB_ERROR,     /* storage error (I/O, corrupt file, busy beyond the timeout, ...) */
    TDB_DECRYPT,   /* a stored certificate does not decrypt with this key file */
} tdb_status;

/* Opens (creating when missing: parent directories with mode 0700, the database, the key file
 * with mode 0600) and migrates the schema to the current version. path NULL = tdb_default_path();
 * key_file NULL = tdb_default_key_file(path). Returns NULL with a clear message in err (which
 * names the file) when: the file is not a database or is corrupt, is not a tokendoctor
 * database, has a newer schema, is read-only, the key file is unreadable or malformed, the key
 * file is missing while the database holds encrypted data, or the key does not match
 * ("cannot decrypt certificates: wrong key file? (PATH)"). Nothing is written to a file that
 * failed these checks. */
tdb *tdb_open(const char *path, const char *key_file, char *err, size_t err_cap);

/* Like tdb_open, but never creates anything: a database file that does not exist (or an empty
 * file with no tokendoctor schema) is refused with "no such database: PATH" in err and
 * *missing (may be NULL) set to true -- for commands that only read a database (diagnose --db,
 * mint --db), where a mistyped path must be an error, not a new empty database. An existing
 * database of an older schema is still migrated. *missing is false on every other failure. */
tdb *tdb_open_existing(const char *path, const char *key_file, bool *missing, char *err,
                       size_t err_cap);

/* What a read-only connection does with the key file. */
typedef enum {
    TDB_KEY_REQUIRED, /* certificates are decrypted (diagnose, mint): the key must be readable */
    TDB_KEY_OPTIONAL, /* used and checked when readable; without it, fingerprints only */
} tdb_key_use;

/* Opens an existing database for reading only, so that it works on a read-only file or
 * directory and for a user who may read the database but not write it -- the commands that only
 * read (diagnose --db, mint --db, project show|list|history, apikey list). Nothing is created (no
 * key file, no -shm or -wal left behind) and nothing can be written through the connection (a
 * write fails with a storage error). The same checks as tdb_open_existing (a missing or empty
 * file sets *missing). The one change it may make: a database of an older schema is migrated
 * first when this user may write it (which needs its key file), and refused otherwise. With
 * TDB_KEY_OPTIONAL, a key file that does not exist or cannot be read by this user is no error:
 * the connection then has no key (tdb_has_key), tdb_project_get fails with TDB_DECRYPT, and
 * tdb_project_show/list read the fingerprints the configuration log stored with each change.
 * A key file that is readable is always checked ("wrong key file?"). */
tdb *tdb_open_readonly(const char *path, const char *key_file, tdb_key_use key, bool *missing,
                       char *err, size_t err_cap);

/* False on a read-only connection opened without its key file. */
bool tdb_has_key(const tdb *db);

void tdb_close(tdb *db);

/* The message of the last failure on db ("" when none). Valid until the next call on db. */
const char *tdb_errmsg(const tdb *db);

/* The paths db was opened with. */
const char *tdb_path(const tdb *db);
const char *tdb_key_file(const tdb *db);

/* PRAGMA data_version: changes whenever ANOTHER connection (thread or process) committed a
 * change since this connection last looked -- any change, diagnosis-log entries included.
 * Cheap (a kept prepared statement, no disk I/O). 0 on error. */
uint64_t tdb_data_version(tdb *db);

/* The configuration version: a counter in the database that every change of a project (put,
 * delete, retired certificates) or of an API key (create, revoke) increments in the same
 * transaction, by whichever connection or process made it -- and nothing else does (the
 * diagnosis log does not). Equal values mean the same projects and keys, so a cache of them
 * stays valid while this does not change. Cheap: kept prepared statements; the counter is
 * re-read only when PRAGMA data_version or this connection's own change count moved. Never 0
 * on success; 0 on error (treat as "changed"). */
uint64_t tdb_config_version(tdb *db);

/* True when the database answers and its schema is the current version (GET /readyz); false
 * with the reason in reason. */
bool tdb_ready(tdb *db, char *reason, size_t reason_cap);

/* The current schema version (PRAGMA user_version after migration). */
#define TDB_SCHEMA_VERSION 4

/* ---- Projects -------------------------------------------------------------------------- */

/* Reads a project: its configuration with decrypted certificates, and its retired certificates
 * (configured and automatically retired, most recent last, at most DIAG_RETIRED_MAX) in
 * out->retired. TDB_NOT_FOUND when there is none; TDB_DECRYPT when a certificate does not
 * decrypt. app_id is matched whatever its case: the store holds one project per App ID, under
 * the spelling it was first put with (out->app_id), and every function below that takes an App
 * ID finds it the same way; a put in another case replaces that project, keeping its spelling. */
tdb_status tdb_project_get(tdb *db, const char *app_id, diag_project *out);

/* Creates or replaces a project (one transaction), as `actor` ("cli", or an API key's name):
 *  - a current certificate (primary or secondary) that is not current any more afterwards is
 *    retired (kept, encrypted, with the time it was retired);
 *  - p->retired certificates are stored as retired too (added to those already kept; a retired
 *    certificate that becomes current again is no longer listed as retired); at most
 *    DIAG_RETIRED_MAX are kept per project, the oldest dropped first;
 *  - one config_log entry records the change (see tdb_project_history).
 * p must be valid (diag_project_from_json). *created (may be NULL) tells whether the project is
 * new. TDB_DECRYPT when the stored project's certificates do not decrypt (delete it first). */
tdb_status tdb_project_put(tdb *db, const diag_project *p, const char *actor, bool *created);

/* Deletes a project and its retired certificates (logged as `actor`; the log survives). Works
 * even when its certificates do not decrypt (so that a damaged project can be put again).
 * TDB_NOT_FOUND when there is none. */
tdb_status tdb_project_delete(tdb *db, const char *app_id, const char *actor);

/* One project as it may be shown: fingerprints, never a certificate, with has_times set and its
 * created_at and updated_at (Unix seconds); diag_project_shown_to_json renders it. Works on a
 * connection without the key file (the fingerprints the log stored with each change).
 * TDB_NOT_FOUND when there is none. */
tdb_status tdb_project_show(tdb *db, const char *app_id, diag_project_shown *out);

/* Every project, ordered by App ID, each as tdb_project_show. On TDB_OK *out is a new array of
 * *count entries that the caller frees with free() (NULL when there are none). */
tdb_status tdb_project_list(tdb *db, diag_project_shown **out, size_t *count);

/* The certificate-configuration log of app_id, oldest first (it survives deletion);
 * diag_project_history_to_json renders it. A create has no "before", a delete no "after" (and no
 * "before" when the deleted project's certificates did not decrypt). On TDB_OK *out is a new
 * array of *count (at least 1) entries that the caller frees with free(). TDB_NOT_FOUND when
 * there is no entry. */
tdb_status tdb_project_history(tdb *db, const char *app_id, diag_project_change **out,
                               size_t *count);

/* ---- API keys --------------------------------------------------------------------------- */

typedef enum { TDB_ROLE_NONE = 0, TDB_ROLE_READER, TDB_ROLE_ADMIN } tdb_role;

const char *tdb_role_name(tdb_role r); /* "none", "reader", "admin" */
bool tdb_role_parse(const char *name, tdb_role *out);

#define TDB_APIKEY_PREFIX "tdk_"
#define TDB_APIKEY_LEN 68 /* "tdk_" + 64 lowercase hex characters */
#define TDB_APIKEY_NAME_MAX 64

/* Creates a key with a random secret (CTR-DRBG), stores only its SHA-256, and writes the key
 * (TDB_APIKEY_LEN characters, NUL-terminated) into key_out -- the only time it is seen. name
 * may be NULL or "" (then "key-<id>"); at most TDB_APIKEY_NAME_MAX bytes of printable ASCII, not
 * all digits, unique among keys not revoked (TDB_INVALID otherwise). *id_out (may be NULL)
 * receives the key's id. */
tdb_status tdb_apikey_create(tdb *db, tdb_role role, const char *name,
                             char key_out[TDB_APIKEY_LEN + 1], int64_t *id_out);

/* Checks a presented key (len bytes, need not be NUL-terminated). Returns the role of a
 * matching key that is not revoked, TDB_ROLE_NONE otherwise (also on a storage error). The hash
 * is compared with every stored key in constant time. name_out (may be NULL) receives the key's
 * name (the actor of changes made with it).
 * A match records the use: the key's last_used_at becomes now when the stored time is at least
 * TDB_APIKEY_USE_INTERVAL seconds old (or absent), so a busy key costs at most one write that
 * often. That write never waits for a lock: when the database is busy it is skipped (a later
 * verification records the use), and a failure of it does not change the result. It is not a
 * configuration change (tdb_config_version does not move). */
#define TDB_APIKEY_USE_INTERVAL 60
tdb_role tdb_apikey_verify(tdb *db, const char *key, size_t len, char *name_out, size_t name_cap);

/* Every key, newest last: [{"id", "name", "role", "created_at", "revoked_at": UNIX|null,
 * "last_used_at": UNIX|null}] (last_used_at: null when never used; a database of a schema
 * before version 3 did not record uses). Never a key or its hash. *out is a new reference on
 * TDB_OK. */
tdb_status tdb_apikey_list(tdb *db, json_t **out);

/* Revokes a key by id (all digits), by name (the key of that name not yet revoked), or by the
 * key itself ("tdk_..."; matched by hash, never echoed).
 * TDB_NOT_FOUND when no such key (not yet revoked) exists. */
tdb_status tdb_apikey_revoke(tdb *db, const char *id_or_name);

/* ---- A cache of project configurations (db_cache.c) ----------------------------------------
 *
 * What a thread that diagnoses keeps next to its tdb so that it reads each App ID's
 * configuration about once: unknown App IDs are remembered too, hits allocate nothing. One cache
 * belongs to one thread (the service: one per worker; `diagnose`: one per thread) and takes no
 * lock. It is keyed by the configuration version: tdb_project_cache_sync empties it when
 * tdb_config_version moved, so an entry is never older than the owner's last sync. Bounded:
 * emptied when three quarters of its slots are used. Every configuration that leaves it (emptied,
 * or freed) is wiped with explicit_bzero first. */
typedef struct tdb_project_cache tdb_project_cache;

/* A new, empty cache of cap slots (a power of two, at least 4; it holds up to cap * 3/4 App IDs).
 * NULL when out of memory or cap is not such a number. The caller frees it with
 * tdb_project_cache_free. */
tdb_project_cache *tdb_project_cache_new(size_t cap);

/* Wipes and frees every configuration c holds, and c. c may be NULL. */
void tdb_project_cache_free(tdb_project_cache *c);

/* Empties c when db's configuration version moved since the last sync (or cannot be read: the
 * next sync asks again). true when c was emptied -- the first sync always empties. */
bool tdb_project_cache_sync(tdb_project_cache *c, tdb *db);

/* The configuration of the App ID app_id (exactly TD_CERT_LEN bytes, not necessarily
 * NUL-terminated; the caller has checked its form), from c or else read from db (tdb_project_get)
 * and kept. TDB_OK with *out the configuration, owned by c and valid until the next call on c,
 * or NULL when there is no such project. Any other status: a failed read (the message in
 * tdb_errmsg(db)), *out NULL and nothing kept, so that the next lookup reads again. *hit (may be
 * NULL) tells whether c already knew the answer. */
tdb_status tdb_project_cache_get(tdb_project_cache *c, tdb *db, const char *app_id,
                                 const diag_project **out, bool *hit);

/* ---- Diagnosis log ------------------------------------------------------------------------ */

/* One diagnosis as logged. Fixed-size, so that pushing copies it without allocating; longer
 * strings are truncated. Never the token: a fingerprint of it (td_fingerprint of the token
 * text), "" without a token. */
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
} tdb_log_entry;

typedef struct tdb_log tdb_log;

#define TDB_LOG_DEFAULT_CAPACITY 16384
#define TDB_LOG_DEFAULT_RETENTION_DAYS 7

/* Starts the writer thread with its own connection (tdb_open(db_path, key_file)). The queue
 * holds at most queue_capacity entries (0 = TDB_LOG_DEFAULT_CAPACITY). The writer commits
 * entries in batches: once woken by an entry it lets a batch gather for a few milliseconds (or
 * until half the queue is used) before one transaction writes it. Entries older than
 * retention_days (0 = TDB_LOG_DEFAULT_RETENTION_DAYS) are deleted at start, then once a minute
 * in small transactions (so that a large backlog never holds the write lock for long).
 * NULL with a message in err on failure. */
tdb_log *tdb_log_start(const char *db_path, const char *key_file, size_t queue_capacity,
                       int retention_days, char *err, size_t err_cap);

/* Queues a copy of e; never blocks on I/O (only a short mutex hold). false when the queue is
 * full or stopping: the entry is dropped and counted. Thread-safe. */
bool tdb_log_push(tdb_log *log, const tdb_log_entry *e);

typedef struct {
    size_t depth;     /* entries queued, not yet written */
    size_t capacity;  /* the queue's capacity */
    uint64_t dropped; /* entries dropped: queue full, or a batch that failed to be written */
    uint64_t written; /* entries committed to the database */
} tdb_log_stats;

/* A consistent snapshot of the counters. Thread-safe. */
void tdb_log_get_stats(tdb_log *log, tdb_log_stats *out);

/* Blocks until every entry queued so far is committed (or dropped on error). Thread-safe. */
void tdb_log_flush(tdb_log *log);

/* Stops accepting entries, writes everything queued, joins the writer and frees log. NULL is a
 * no-op. */
void tdb_log_stop(tdb_log *log);

/* The most recent diagnoses of app_id (newest first, at most limit, 1..1000):
 *   [{"at", "app_id", "verdict", "cause", "code"|null, "platform", "token_fingerprint"|null,
 *     "channel"|null, "uid"|null}]
 * "code" is null when the diagnosis has no error code (it was not rejected). An empty array
 * when there are none. *out is a new reference on TDB_OK. */
tdb_status tdb_diagnoses_recent(tdb *db, const char *app_id, int limit, json_t **out);

/* Deletes diagnoses older than retention_days days (the writer does this by itself), in
 * transactions of a few thousand rows; returns the number deleted, or -1 on error. */
int64_t tdb_diagnoses_prune(tdb *db, int retention_days);

#ifdef __cplusplus
}
#endif
#endif /* TDDB_H */

/* tddb.h -- the store: project configurations, their change log, retired certificates, API
 * keys and the diagnosis log, in a SQLite file (the default) or a PostgreSQL database shared by
 * a fleet of services (a postgresql:// URL: db/db_pg.c's design comment tells how it differs --
 * migrations under an advisory lock, the configuration version published by a watcher thread,
 * no backup, no default key file). What follows is said of SQLite and holds for both unless
 * noted.
 *
 * Design
 * ------
 * One SQLite database file holds everything (WAL mode, busy timeout 5 s, foreign keys on, schema
 * migrations keyed by PRAGMA user_version). A tdb is one connection plus the certificate key; it
 * is NOT thread-safe: one tdb is used by one thread at a time. A multi-threaded program (the
 * HTTP service) opens one tdb per worker thread; SQLite's WAL locking lets them, and other
 * processes (the CLI), read and write the same file concurrently. Every function below that
 * reaches the database calls through the connection's table of operations (db_internal.h,
 * db_store.c), so that another store can answer the same calls; SQLite is the one there is.
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
 * when the queue is full the entry is dropped and counted. The log is bounded in rows and bytes
 * (tdb_log_options): the writer deletes its oldest rows to stay within, and drops (and counts)
 * new entries when that cannot keep up. It lives in the same file as the
 * configuration: a cache of the configuration watches tdb_config_version(), which only
 * configuration changes move -- not PRAGMA data_version, which every log commit moves.
 *
 * Errors: functions return a tdb_status; the message of the last failure on a tdb is
 * tdb_errmsg(db), its kind tdb_last_fault(db) (busy, disk full, file gone, unreachable). Messages
 * name the file (an open connection's by its base name only: they reach HTTP answers) or field
 * concerned and never contain a secret.
 */
#ifndef TDDB_H
#define TDDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Whether location (a --db value or $TOKENDOCTOR_DB; NULL or "" = the default) names a store
 * this tokendoctor can open: a SQLite database file, given by its path, or a PostgreSQL
 * database, given by a postgres:// or postgresql:// URL (handed to libpq unchanged, so libpq's
 * environment variables and service files apply). A value that starts with any other URL
 * scheme and "://" (http://...) or with "file:" is refused:
 * false with a message in err that names the scheme but never the rest of the value (a URL may
 * hold a password). Every tdb_open* calls it first, so a refused value creates nothing; front
 * ends call it to make such a value a usage error. A file whose path starts with NAME:// is
 * named ./NAME://... */
bool tdb_location_check(const char *location, char *err, size_t err_cap);

/* Whether location is a PostgreSQL URL (postgres:// or postgresql://, lower case): the store
 * it names is not a file on this node. */
bool tdb_location_is_postgres(const char *location);

/* The key file to use for db_path when none is given, into out (NUL-terminated). false when it
 * does not fit. A postgres(ql):// URL has no default ("" unless $TOKENDOCTOR_KEY_FILE is set):
 * the key file stays on each node and a database server has no "next to the database", so
 * opening a URL without --key-file or $TOKENDOCTOR_KEY_FILE is an error that says so. */
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

/* The paths db was opened with. A PostgreSQL URL may hold a password: print tdb_shown_name. */
const char *tdb_path(const tdb *db);
/* What messages call db's store: a SQLite file's path, or 'database "D" on HOST' for a
 * PostgreSQL URL (never the URL itself). */
const char *tdb_shown_name(const tdb *db);
const char *tdb_key_file(const tdb *db);

/* PRAGMA data_version: changes whenever ANOTHER connection (thread or process) committed a
 * change since this connection last looked -- any change, diagnosis-log entries included.
 * Cheap (a kept prepared statement, no disk I/O). 0 on error. PostgreSQL has no such counter:
 * there it moves with tdb_config_version only. */
uint64_t tdb_data_version(tdb *db);

/* The configuration version: a counter in the database that every change of a project (put,
 * delete, retired certificates) or of an API key (create, revoke) increments in the same
 * transaction, by whichever connection or process made it -- and nothing else does (the
 * diagnosis log does not). Equal values mean the same projects and keys, so a cache of them
 * stays valid while this does not change. Cheap: kept prepared statements; the counter is
 * re-read only when PRAGMA data_version or this connection's own change count moved. Never 0
 * on success; 0 on error (treat as "changed"). On PostgreSQL it never reaches the network: a
 * watcher thread (started by the first call) publishes the counter, so another node's change
 * is seen within about 250 ms, this connection's own at once; while the server is unreachable
 * the last value stays. */
uint64_t tdb_config_version(tdb *db);

/* True when the database answers and its schema is the current version (GET /readyz); false
 * with the reason in reason. (PostgreSQL: as its watcher last saw it; no round trip.) */
bool tdb_ready(tdb *db, char *reason, size_t reason_cap);

/* What kind of storage failure the last failed call on a connection met, so that a caller can
 * tell "try again" from "broken" without parsing messages. */
typedef enum {
    TDB_FAULT_NONE = 0,
    TDB_FAULT_BUSY,  /* another connection or process held the write lock beyond this
                        connection's busy timeout: retry later */
    TDB_FAULT_FULL,  /* the disk (or the file system's quota, or SQLite's page limit) is full */
    TDB_FAULT_GONE,  /* the database file was deleted or replaced since it was opened: nothing
                        is written (it would be lost); reopen the file */
    TDB_FAULT_OTHER, /* anything else: I/O error, corrupt file, bad input, ... */
    TDB_FAULT_UNAVAILABLE, /* the store cannot be reached (PostgreSQL: no connection, or the
                              session was lost); nothing was written by the failed call, or
                              a COMMIT's outcome is unknown. Transient: retry once it is back */
} tdb_fault;

/* The fault of the last failure on db (TDB_FAULT_NONE before any). Meaningful after a call that
 * failed with TDB_ERROR. */
tdb_fault tdb_last_fault(const tdb *db);

/* A short phrase for f ("database busy", "disk full", "database file deleted or replaced",
 * "storage error", "database unreachable", "" for none), for messages and /readyz. */
const char *tdb_fault_text(tdb_fault f);

/* The busy timeout of a thread that must not wait: the service's request threads. A write that
 * meets another writer's lock waits at most this long, then fails with TDB_FAULT_BUSY (the
 * service answers 503 with Retry-After), so that no request holds up the worker's event loop
 * for longer than this. 5 ms lets a short transaction of another connection finish, and is
 * well below what a client notices. */
#define TDB_REQUEST_BUSY_MS 5

/* Sets how long db waits for another connection's lock (default 5000 ms: the CLI and the
 * diagnosis-log writer may wait). */
void tdb_set_busy_timeout(tdb *db, int ms);

/* True when the database file db has open was deleted or renamed away, or another file took its
 * place (SQLite's SQLITE_FCNTL_HAS_MOVED: one stat() of the path). Writes are then refused with
 * TDB_FAULT_GONE, and tdb_ready reports it. */
bool tdb_file_gone(tdb *db);

/* The current schema version (PRAGMA user_version after migration). A PostgreSQL store counts
 * its own (TDBPG_SCHEMA_VERSION, db/db_pg.h: its version 1 holds what this schema 4 holds, its
 * version 2 adds the diagnosis log batches' marks; this schemas 5 to 8 changed only SQLite's
 * layout: projects keyed by App ID, a covering index, a count of retired certificates in the
 * project's row, a copy of a short retired list there, projects stored under a hash of their App
 * ID). */
#define TDB_SCHEMA_VERSION 8

/* The current schema version of db's kind of store: TDB_SCHEMA_VERSION for SQLite,
 * PostgreSQL's own count for a PostgreSQL store (what GET /readyz reports). */
int tdb_schema_version(const tdb *db);

/* ---- Projects -------------------------------------------------------------------------- */

/* Reads a project: its configuration with decrypted certificates, and its retired certificates
 * (configured and automatically retired, most recent last, at most DIAG_RETIRED_MAX) in
 * out->retired. TDB_NOT_FOUND when there is none; TDB_DECRYPT when a certificate does not
 * decrypt. app_id is matched whatever its case: the store holds one project per App ID, under
 * the spelling it was first put with (out->app_id), and every function below that takes an App
 * ID finds it the same way; a put in another case replaces that project, keeping its spelling. */
tdb_status tdb_project_get(tdb *db, const char *app_id, diag_project *out);

/* A read snapshot: until tdb_read_end, every read on db (tdb_project_get, tdb_config_version)
 * sees the database as it was at tdb_read_begin -- one read transaction instead of one per read,
 * which is most of what SQLite's locking costs a read (docs/performance.md, "Many projects").
 * Changes other connections commit meanwhile are seen after tdb_read_end. Hold it briefly (a
 * batch holds one per chunk of lines): while it is held, the write-ahead log cannot be
 * checkpointed past it. Not for a connection that writes. false (message recorded) when it
 * could not begin (also inside a transaction); the reads then each take their own, as without
 * it. A store without snapshots answers true and reads as usual. Call tdb_read_end only after
 * a tdb_read_begin that returned true. */
bool tdb_read_begin(tdb *db);
void tdb_read_end(tdb *db);

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

/* The certificate-configuration log of app_id, oldest first (it survives deletion);
 * diag_project_history_to_json renders it. A create has no "before", a delete no "after" (and no
 * "before" when the deleted project's certificates did not decrypt). On TDB_OK *out is a new
 * array of *count (at least 1) entries that the caller frees with free(). TDB_NOT_FOUND when
 * there is no entry. */
tdb_status tdb_project_history(tdb *db, const char *app_id, diag_project_change **out,
                               size_t *count);

/* One page of projects, ordered by App ID: those after `after` (NULL or "": from the first),
 * at most limit (1..TDB_PAGE_MAX), each as tdb_project_show, into *out (a new array of *count
 * entries that the caller frees with free(); NULL when there are none). *more tells whether
 * projects follow the last one (its App ID is then the next page's `after`). */
#define TDB_PAGE_MAX 10000
tdb_status tdb_project_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                            size_t *count, bool *more);

/* ---- Bulk import and export, backup (db_bulk.c) ----------------------------------------------
 *
 * An import reads configurations from a stream -- JSON lines (one configuration a line) or one
 * JSON array of them -- one at a time (never the whole input in memory), and puts each as
 * tdb_project_put does (same retiring, one change-log entry per created or replaced project),
 * except that a configuration identical to the stored one is counted as unchanged and not
 * written (no log entry). All-or-nothing by default: one transaction, rolled back on the first
 * failure. With continue_on_error, a configuration that fails is counted and reported with its
 * line, the others are kept, and the work is committed every TDB_IMPORT_BATCH configurations
 * (so the write lock is released between batches); a storage failure still stops it. A dry run
 * does everything in one transaction and rolls it back.
 *
 * Each line is a configuration as `project put` takes it, or as `project export` writes it:
 * a certificate may be {"sealed_certificate": HEX, ...} (sealed for this database's key file
 * by `project export --certificates-for`), opened here; a line with certificates given only as
 * fingerprints (`project export` without --certificates-for) is refused with a message that
 * says how to export with certificates. The configuration is validated by the caller's parser
 * (diag_project_from_json: the store does not include the rule engine's header), so that its
 * messages are those of `project put`. */

#define TDB_IMPORT_BATCH 10000         /* configurations per transaction (continue_on_error) */
#define TDB_IMPORT_LINE_MAX (1u << 20) /* bytes of one configuration (a line, an array item) */

/* Parses and validates one configuration object (diag_project_from_json). */
typedef bool (*tdb_config_parser)(json_t *obj, diag_project *out, char *err, size_t err_cap);

typedef struct {
    tdb_config_parser parse; /* required */
    const char *actor;       /* of the change-log entries ("NAME (cli)", an API key's name) */
    bool continue_on_error;
    bool dry_run;
    /* Optional: called for every failed configuration (line, message), as it happens. */
    void (*on_error)(void *arg, uint64_t line, const char *message);
    /* Optional: called every few thousand configurations with the number handled so far and
     * the bytes of input read. */
    void (*progress)(void *arg, uint64_t done, uint64_t bytes);
    void *arg;
} tdb_import_options;

/* Imports every configuration of in into db, filling *summary (dry_run, counts, the first
 * failures). TDB_OK when the import completed: everything was imported, or with
 * continue_on_error everything but the failures (summary->failed). Otherwise nothing of this
 * import's current transaction is kept (all-or-nothing: nothing at all), the status says why
 * (TDB_INVALID: a configuration or the input's framing is wrong; TDB_DECRYPT: a sealed
 * certificate does not open with this database's key file; TDB_ERROR: storage) and
 * tdb_errmsg(db) says where ("line N: ..."). Certificates never appear in a message. */
tdb_status tdb_import(tdb *db, FILE *in, const tdb_import_options *o, diag_import_summary *summary);

/* Writes every project, ordered by App ID, to out as JSON lines in the import's shape:
 *   {"app_id", "name", "primary": CERT|null, "secondary": CERT|null, "no_certificate",
 *    "cohost_auth", "retired_certificates": [CERT, ...]}
 * where CERT is {"fingerprint", "enabled"} (retired: {"fingerprint"}) and, when
 * cert_key_file is not NULL, also "sealed_certificate": the certificate sealed (AES-256-GCM,
 * the App ID as additional data, hex) for the key of cert_key_file -- the store's own at-rest
 * format, so that a database using that key file imports it. Without cert_key_file no
 * certificate leaves the store (fingerprints only, which an import refuses). One read
 * transaction: a consistent snapshot while others write. *count receives the projects
 * written. TDB_ERROR on a storage or output failure (message in tdb_errmsg), TDB_DECRYPT when
 * a certificate does not decrypt, TDB_INVALID when cert_key_file cannot be read. */
tdb_status tdb_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count);

/* (PostgreSQL: refused with TDB_INVALID and a message pointing to pg_dump.)
 * Copies the database into a new file at dest_path with SQLite's online backup API, consistent
 * while other connections (the service) read and write: the copy is one snapshot (a read
 * transaction on db, which in WAL mode does not stop writers), made in steps of
 * TDB_BACKUP_STEP_PAGES pages. dest_path must not exist (TDB_INVALID); the copy is written to
 * a temporary name beside it and renamed into place when complete, so no half-written backup
 * is ever at dest_path. The key file is not copied: it must be kept (and restored) with it. */
#define TDB_BACKUP_STEP_PAGES 1024
tdb_status tdb_backup(tdb *db, const char *dest_path);

/* Rewrites a SQLite database so that each table's and index's pages are together and none is
 * free (VACUUM). A bulk import into a new file interleaves the projects' pages with the change
 * log's (three tables grow side by side), so a read of a project later pulls in log pages it
 * never uses: at a million projects `diagnose --batch` over a compacted file maps 0.4 GiB
 * instead of 2.0 (its CPU per request is within the noise of the other's; docs/performance.md,
 * "Compacting after a bulk import"). Holds the write lock throughout and needs free disk about
 * the database's size: for a database no one else uses yet (`project import` runs it on one it
 * created). PostgreSQL: nothing to do (its tables live in files of their own), TDB_OK. */
tdb_status tdb_compact(tdb *db);

/* ---- API keys --------------------------------------------------------------------------- */

/* TDB_ROLE_ERROR is no role: tdb_apikey_verify could not tell (a storage error). */
typedef enum { TDB_ROLE_ERROR = -1, TDB_ROLE_NONE = 0, TDB_ROLE_READER, TDB_ROLE_ADMIN } tdb_role;

const char *tdb_role_name(tdb_role r); /* "none" (also for TDB_ROLE_ERROR), "reader", "admin" */
bool tdb_role_parse(const char *name, tdb_role *out);

#define TDB_APIKEY_PREFIX "tdk_"
#define TDB_APIKEY_LEN 68 /* "tdk_" + 64 lowercase hex characters */
#define TDB_APIKEY_NAME_MAX DIAG_KEY_NAME_MAX

/* Creates a key with a random secret (CTR-DRBG), stores only its SHA-256, and writes the key
 * (TDB_APIKEY_LEN characters, NUL-terminated) into key_out -- the only time it is seen. name
 * may be NULL or "" (then "key-<id>"); at most TDB_APIKEY_NAME_MAX bytes of printable ASCII, not
 * all digits, unique among keys not revoked (TDB_INVALID otherwise). *id_out (may be NULL)
 * receives the key's id. */
tdb_status tdb_apikey_create(tdb *db, tdb_role role, const char *name,
                             char key_out[TDB_APIKEY_LEN + 1], int64_t *id_out);

/* Checks a presented key (len bytes, need not be NUL-terminated). Returns the role of a
 * matching key that is not revoked, TDB_ROLE_NONE when there is none, and TDB_ROLE_ERROR when
 * the keys could not be read (a storage error: message and fault as for TDB_ERROR) -- which
 * says nothing of the key, so that a caller must neither refuse it as wrong nor remember the
 * answer. Compare with TDB_ROLE_NONE and TDB_ROLE_ERROR before anything else. The hash
 * is compared with every stored key in constant time. name_out (may be NULL) receives the key's
 * name (the actor of changes made with it).
 * A match records the use: the key's last_used_at becomes now when the stored time is at least
 * TDB_APIKEY_USE_INTERVAL seconds old (or absent), so a busy key costs at most one write that
 * often. That write never waits for a lock: when the database is busy it is skipped (a later
 * verification records the use), and a failure of it does not change the result. It is not a
 * configuration change (tdb_config_version does not move). */
#define TDB_APIKEY_USE_INTERVAL 60
tdb_role tdb_apikey_verify(tdb *db, const char *key, size_t len, char *name_out, size_t name_cap);

/* Every key, newest last, into *out (an array of *count entries, which the caller frees with
 * free(); NULL when there are none); used is false when a key was never used (a database of a
 * schema before version 3 did not record uses). Never a key or its hash.
 * diag_apikey_list_to_json renders them. */
tdb_status tdb_apikey_list(tdb *db, diag_apikey_shown **out, size_t *count);

/* Revokes a key by id (all digits), by name (the key of that name not yet revoked), or by the
 * key itself ("tdk_..."; matched by hash, never echoed).
 * TDB_NOT_FOUND when no such key (not yet revoked) exists. */
tdb_status tdb_apikey_revoke(tdb *db, const char *id_or_name);

/* ---- A cache of project configurations (db_cache.c) ----------------------------------------
 *
 * What a thread that diagnoses keeps next to its tdb so that it reads each App ID's
 * configuration about once: unknown App IDs are remembered too, hits allocate nothing. A cache
 * handle belongs to one thread (the service: one per worker; `diagnose`: one per thread); the
 * handles of the service's workers share their entries (tdb_project_cache_new_sharing: one
 * bound, one copy of each project, behind a mutex). It is keyed by the configuration version:
 * tdb_project_cache_sync empties the entries when tdb_config_version moved past the version they
 * were emptied at, and an entry read before an emptying is never kept after it, so an entry is
 * never older than its handle's last sync. Bounded in
 * bytes (its table and its entries, packed: see tdb_project_cache_cost_bytes); past the bound,
 * entries chosen at random are evicted; while lookups then mostly miss (fewer than one in four
 * hit), only one miss in sixteen is kept, so that a scan over far more projects than it holds
 * does not pay an eviction per lookup. Every configuration that leaves it (evicted, emptied, or
 * freed) is wiped with explicit_bzero first. */
typedef struct tdb_project_cache tdb_project_cache;

/* The smallest bound tdb_project_cache_new takes (a few hundred bytes). */
size_t tdb_project_cache_min_bytes(void);

/* A new, empty cache that holds at most max_bytes (at least tdb_project_cache_min_bytes()).
 * NULL when out of memory or max_bytes is smaller. The caller frees it with
 * tdb_project_cache_free. */
tdb_project_cache *tdb_project_cache_new(size_t max_bytes);

/* A new handle on other's entries (same bound), for another thread; NULL when out of memory.
 * Freed with tdb_project_cache_free; the entries go with the last handle. */
tdb_project_cache *tdb_project_cache_new_sharing(tdb_project_cache *other);

/* Frees c (its unpacked configuration wiped); with the last handle on them, wipes and frees
 * every configuration the entries hold. c may be NULL. */
void tdb_project_cache_free(tdb_project_cache *c);

/* Syncs c with db's configuration version: when it moved since c's last sync (or cannot be
 * read: the next sync asks again), the entries are emptied unless another handle already did at
 * that version or a newer one. true when the version moved for c -- the first sync always. */
bool tdb_project_cache_sync(tdb_project_cache *c, tdb *db);

/* The bytes the entries use now (never more than the bound) and the App IDs they hold. */
size_t tdb_project_cache_bytes(tdb_project_cache *c);
size_t tdb_project_cache_count(tdb_project_cache *c);

/* What one App ID costs in a cache, table slot included: p's configuration, or an unknown App ID
 * when p is NULL. ~100 bytes plus 32 per certificate and the name's length. */
size_t tdb_project_cache_cost_bytes(const diag_project *p);

/* The configuration of the App ID app_id (exactly TD_CERT_LEN bytes, not necessarily
 * NUL-terminated; the caller has checked its form), from c or else read from db (tdb_project_get)
 * and kept. TDB_OK with *out the configuration, owned by the handle c and valid until the next
 * call on c,
 * or NULL when there is no such project. Any other status: a failed read (the message in
 * tdb_errmsg(db)), *out NULL and nothing kept, so that the next lookup reads again. *hit (may be
 * NULL) tells whether c already knew the answer. */
tdb_status tdb_project_cache_get(tdb_project_cache *c, tdb *db, const char *app_id,
                                 const diag_project **out, bool *hit);

/* The same without the store: true when c holds the answer for app_id (*out, when out is not
 * NULL, as tdb_project_cache_get gives it), false when only the store could tell. Never reads
 * the store: for a thread that must not wait on it (the service's event loops on a remote
 * store, which hand a miss to their store thread). */
bool tdb_project_cache_peek(tdb_project_cache *c, const char *app_id, const diag_project **out);

/* ---- Diagnosis log ------------------------------------------------------------------------ */

/* One diagnosis as logged: the project model's diag_log_entry (fixed-size, never the token). */
typedef diag_log_entry tdb_log_entry;

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

/* The bounds of the diagnosis log, so that anonymous diagnoses cannot fill the disk whatever
 * the load. Defaults sized for a small disk (a 1-2 GB volume of a small VM or a container):
 * a logged row takes ~180 bytes with its two index entries (measured with sqlite3 on 100,000
 * typical rows: 18 MB), ~700 with a 255-byte account, a 128-byte channel and a malformed
 * 64-character App ID (69 MB), so a million typical rows is ~180 MB, and the size bound caps
 * the worst case (~370,000 such rows). */
#define TDB_LOG_DEFAULT_MAX_ROWS 1000000
#define TDB_LOG_DEFAULT_MAX_MB 256

typedef struct {
    size_t queue_capacity; /* 0 = TDB_LOG_DEFAULT_CAPACITY */
    int retention_days;    /* 0 = TDB_LOG_DEFAULT_RETENTION_DAYS */
    int64_t max_rows;      /* 0 = TDB_LOG_DEFAULT_MAX_ROWS; the most rows the log keeps */
    int64_t max_mb;        /* 0 = TDB_LOG_DEFAULT_MAX_MB; the most MiB the database's pages
                              may use (the whole file: with --log-db, the log's own file) */
} tdb_log_options;

/* tdb_log_start with bounds. Before each batch the writer deletes the oldest rows beyond a
 * bound (a few thousand per batch, in the batch's transaction); when that does not make room,
 * the batch is dropped and counted (dropped_bound). Test hook, never set in production: the
 * environment variable TOKENDOCTOR_TEST_LOG_MAX_PAGES=N sets SQLite's max_page_count on the
 * writer's connection, so that tests can make its writes fail as on a full disk. */
tdb_log *tdb_log_start_opts(const char *db_path, const char *key_file, const tdb_log_options *o,
                            char *err, size_t err_cap);

/* Waits until every entry queued so far is committed (or dropped), or until timeout_ms passed;
 * false on timeout. For a thread that may wait only briefly (a request). Thread-safe. */
bool tdb_log_flush_for(tdb_log *log, int timeout_ms);

typedef struct {
    size_t depth;     /* entries queued, not yet written */
    size_t capacity;  /* the queue's capacity */
    uint64_t dropped; /* entries dropped: queue full, at the log's bound, or a batch that
                         failed to be written (tdb_log_health says which) */
    uint64_t written; /* entries committed to the database */
} tdb_log_stats;

/* The counters of tdb_log_stats.dropped, by reason, and the writer's state. */
typedef struct {
    uint64_t dropped_queue;  /* the queue was full */
    uint64_t dropped_bound;  /* the log was at its bound and deleting the oldest did not keep up */
    uint64_t dropped_failed; /* the write failed (disk full, busy, file gone, ...); not while
                                the store is unreachable: those entries stay queued */
    uint64_t trimmed;        /* oldest rows deleted to stay within the bound */
    uint64_t recovered;      /* entries counted in dropped_failed that the writer's retry
                                wrote after all (also counted in written) */
    tdb_fault fault;         /* TDB_FAULT_NONE while writes succeed; else the last failure's
                                fault, until a write (or the writer's probe, once a second)
                                succeeds again */
    bool at_bound;           /* the last batch had to delete old rows to make room */
    int64_t max_rows, max_mb;
} tdb_log_health;

/* A consistent snapshot of the counters (stats) and the writer's state (health), taken under
 * one lock hold, so that the two agree (e.g. dropped is the sum of the reasons); either may be
 * NULL. Thread-safe. */
void tdb_log_snapshot(tdb_log *log, tdb_log_stats *stats, tdb_log_health *health);

/* Queues a copy of e; never blocks on I/O (only a short mutex hold). false when the queue is
 * full or stopping: the entry is dropped and counted. Thread-safe. */
bool tdb_log_push(tdb_log *log, const tdb_log_entry *e);

/* Blocks until every entry queued so far is committed (or dropped on error). Thread-safe. */
void tdb_log_flush(tdb_log *log);

/* Stops accepting entries, writes everything queued, joins the writer and frees log. NULL is a
 * no-op. */
void tdb_log_stop(tdb_log *log);

/* The most recent diagnoses of app_id (newest first, at most limit, 1..1000) into *out (an array
 * of *count entries, which the caller frees with free(); NULL when there are none); code 0 and ""
 * where the row has NULL. diag_log_list_to_json renders them. */
tdb_status tdb_diagnoses_recent(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                size_t *count);

/* Deletes diagnoses older than retention_days days (the writer does this by itself), in
 * transactions of a few thousand rows; returns the number deleted, or -1 on error. */
int64_t tdb_diagnoses_prune(tdb *db, int retention_days);

/* ---- Where the store is ----------------------------------------------------------------- */

/* Gives back the network connection a remote store holds for statements, outside a
 * transaction: for a handle that for now only reads tdb_config_version and tdb_data_version
 * (its watcher stays). The next statement connects again. Nothing for a local file. */
void tdb_release_connection(tdb *db);

/* True when db talks to a server over the network (PostgreSQL), false for a local SQLite file.
 * The service hands a remote store's calls to a thread of their own, so that its event loops
 * never wait on the network (server/srv_store.c); a local file is called in place. */
bool tdb_is_remote(const tdb *db);

#ifdef __cplusplus
}
#endif
#endif /* TDDB_H */

/* db_internal.h -- what the files of db/ share and nobody else sees.
 *
 * The store's interface (tdbi_store_ops): the table of operations each connection points to,
 * implemented for SQLite by tdbsq_ops (db_sqlite.c, db_sqlite.h) and for PostgreSQL by tdbpg_ops
 * (db_pg.c, db_pg.h). The rules both stores keep (projects, API keys, the log's bounds) are
 * db_common.c's, reaching each database through the lower members of that table.
 *
 * The tdb struct (one SQLite connection, the certificate key with its AES-GCM context, a
 * CTR-DRBG for nonces and API keys, the last error message, kept statements for the cheap
 * version checks), and the helpers that several
 * files use: error reporting, encryption of a certificate, small SQL conveniences. Internal
 * names are prefixed tdbi_ so that they cannot be mistaken for the public API.
 */
#ifndef DB_INTERNAL_H
#define DB_INTERNAL_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdcore.h"
#include "tddb.h"

#define TDBI_KEY_LEN 32
/* An API key is kept as its SHA-256 (db_apikey.c). */
#define TDBI_APIKEY_HASH_LEN 32
#define TDBI_NONCE_LEN 12
#define TDBI_TAG_LEN 16
/* A sealed value: nonce || ciphertext || tag. */
#define TDBI_SEALED_OVERHEAD (TDBI_NONCE_LEN + TDBI_TAG_LEN)
/* How long a connection waits for another's write lock before SQLITE_BUSY, unless
 * tdb_set_busy_timeout says otherwise (the service's request threads: TDB_REQUEST_BUSY_MS). */
#define TDBI_BUSY_TIMEOUT_MS 5000
/* Diagnoses deleted at most per batch to stay within the log's bounds (db_log.c: Bounds). */
#define TDBI_ROOM_CHUNK 8192
/* PRAGMA application_id of a tokendoctor database: "TDDB". */
#define TDBI_APPLICATION_ID 0x54444442
/* A macro's value as a string literal (for SQL text). */
#define TDBI_XSTR(x) #x
#define TDBI_STR(x) TDBI_XSTR(x)

/* A statement kept by tdbi_prepare while a connection keeps statements (tdbi_keep_statements). */
#define TDBI_KEPT_MAX 24
typedef struct {
    const char *sql; /* its text (the caller's literal) */
    sqlite3_stmt *st;
    bool busy; /* handed out, not yet given back with tdbi_finalize */
} tdbi_kept;

/* How a connection is opened: creating what is missing, only an existing database, or for
 * reading only (with its key file's use). */
typedef enum { TDBI_OPEN_CREATE, TDBI_OPEN_EXISTING, TDBI_OPEN_READONLY } tdbi_open_mode;

/* Which API key a revoke names (tdbi_apikey_revoke): by the key itself (its hash), its id or
 * its name. */
typedef struct {
    enum { TDBI_KEY_BY_HASH, TDBI_KEY_BY_ID, TDBI_KEY_BY_NAME } by;
    unsigned char hash[TDBI_APIKEY_HASH_LEN];
    int64_t id;
    const char *name;
} tdbi_key_match;

/* What one batch of the diagnosis log made room for (see db_log.c: Bounds). */
typedef struct {
    int64_t trimmed; /* oldest rows deleted */
    bool trimming;   /* a bound was reached */
} tdbi_log_room;

/* What became of a batch of the diagnosis log. */
typedef struct {
    size_t written, bound, failed; /* entries */
    tdbi_log_room room;
} tdbi_log_outcome;

/* ---- What both stores share of projects (db_common.c) ---------------------------------------- */

/* A certificate as sealed in a column: nonce || ciphertext || tag. */
#define TDBI_SEALED_CERT_LEN (TD_CERT_LEN + TDBI_SEALED_OVERHEAD)

/* A retired certificate as loaded for a put: its row id and the decrypted certificate. */
typedef struct {
    int64_t id;
    char cert[TD_CERT_LEN + 1];
} tdbi_retired_row;

/* A project's retired certificates, oldest first (more than a put ever keeps: see
 * tdbi_retired_keep). */
typedef struct {
    size_t count;
    tdbi_retired_row rows[DIAG_RETIRED_MAX * 2 + 2];
} tdbi_retired_set;

/* A configuration log entry as the store writes it: the texts of its columns (before and after
 * NULL when that side does not exist). */
typedef struct {
    const char *app_id;
    int64_t at;
    const char *actor;
    const char *action;
    const char *before, *after, *changes, *retired;
} tdbi_change_row;

/* The operations of a store: what the rest of the program needs from the database, as a table
 * of function pointers each connection points to (db->ops), like SQLite's sqlite3_io_methods.
 * A member named like a public tdb_ function does what tddb.h says of it (db_store.c calls it
 * from there); the others:
 *  - open: the connection's work after db_open.c allocated it (path, key file, cipher, DRBG):
 *    connect, check, load and check the key, migrate; false with the message in db->err, and
 *    *missing set as tdb_open_existing says. close releases what open acquired (also after a
 *    failed or partial open) and nothing that db_open.c allocated.
 *  - log_attach makes db the diagnosis log writer's connection (kept statements, tuning);
 *    log_write commits n entries (n <= max_rows) in one transaction after deleting the oldest
 *    rows to stay within max_rows and max_bytes -- the same mark means the same entries sent
 *    again, which a store whose COMMIT can go unanswered must not write twice (tdbi_batch_mark);
 *    log_prune deletes at most limit entries older than cutoff and returns how many (-1 on
 *    error). The queue, the thread and the accounting are db_log.c's.
 * Implementations: tdbsq_ops (SQLite, db_sqlite.c), tdbpg_ops (PostgreSQL, db_pg.c). */
/* Which batch of which log writer (db_log.c): a random id per writer, and a number per batch
 * that a batch keeps when it is sent again (resent: it was sent before, and may be stored). */
typedef struct {
    int64_t writer, batch;
    bool resent;
} tdbi_batch_mark;

typedef struct tdbi_store_ops {
    const char *name;
    bool (*open)(tdb *db, tdbi_open_mode mode, tdb_key_use key, bool *missing);
    void (*close)(tdb *db);
    void (*set_busy_timeout)(tdb *db, int ms);
    void (*release)(tdb *db); /* optional: NULL, nothing held to give back */
    bool (*file_gone)(tdb *db);
    uint64_t (*data_version)(tdb *db);
    uint64_t (*config_version)(tdb *db);
    bool (*ready)(tdb *db, char *reason, size_t reason_cap);
    tdb_status (*project_get)(tdb *db, const char *app_id, diag_project *out);
    bool (*read_begin)(tdb *db); /* optional: NULL, no snapshots */
    void (*read_end)(tdb *db);
    tdb_status (*project_show)(tdb *db, const char *app_id, diag_project_shown *out);
    tdb_status (*project_history)(tdb *db, const char *app_id, diag_project_change **out,
                                  size_t *count);
    tdb_status (*project_put)(tdb *db, const diag_project *p, const char *actor, bool *created);
    tdb_status (*project_delete)(tdb *db, const char *app_id, const char *actor);
    tdb_status (*project_page)(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                               size_t *count, bool *more);
    tdb_status (*apikey_create)(tdb *db, tdb_role role, const char *name,
                                char key_out[TDB_APIKEY_LEN + 1], int64_t *id_out);
    tdb_role (*apikey_verify)(tdb *db, const char *key, size_t len, char *name_out,
                              size_t name_cap);
    tdb_status (*apikey_list)(tdb *db, diag_apikey_shown **out, size_t *count);
    tdb_status (*apikey_revoke)(tdb *db, const char *id_or_name);
    tdb_status (*import)(tdb *db, FILE *in, const tdb_import_options *o,
                         diag_import_summary *summary);
    tdb_status (*export)(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count);
    tdb_status (*backup)(tdb *db, const char *dest_path);
    tdb_status (*compact)(tdb *db); /* optional: NULL, nothing to do */
    tdb_status (*diagnoses_recent)(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                   size_t *count);
    bool (*log_attach)(tdb *db);
    tdbi_log_outcome (*log_write)(tdb *db, const tdb_log_entry *batch, size_t n,
                                  tdbi_batch_mark mark, int64_t max_rows, int64_t max_bytes);
    int64_t (*log_prune)(tdb *db, int64_t cutoff, int limit);
    /* The diagnosis log's measures for tdbi_log_make_room, inside the writer's transaction:
     * log_span the lowest and highest id (0, 0 when empty); log_delete_below deletes the rows
     * with an id below `below` and returns how many (-1 on error); log_used_bytes what the log
     * takes, span rows of it, by the store's own measure. false / -1: error recorded. */
    bool (*log_span)(tdb *db, int64_t *lo, int64_t *hi);
    int64_t (*log_delete_below)(tdb *db, int64_t below);
    bool (*log_used_bytes)(tdb *db, int64_t span, int64_t *bytes);
    /* A configuration writer's transaction (a put, a delete, a key's creation, an import
     * batch): SQLite's BEGIN IMMEDIATE; PostgreSQL's advisory lock, whose commit first moves
     * the configuration version. write_rollback keeps the message of the failure. */
    bool (*write_begin)(tdb *db);
    bool (*write_commit)(tdb *db);
    void (*write_rollback)(tdb *db);
    /* apikey_insert: the key row (name "" becomes "key-<id>" in the same transaction), its id
     * in *id; TDB_INVALID when an active key has that name. */
    tdb_status (*apikey_insert)(tdb *db, tdb_role role, const char *name,
                                const unsigned char hash[TDBI_APIKEY_HASH_LEN], int64_t *id);
    /* apikey_revoke_rows: marks the active key m names revoked at now, in a write of its own
     * (committed only when a key changed); *changed tells whether one did. */
    tdb_status (*apikey_revoke_rows)(tdb *db, const tdbi_key_match *m, int64_t now, bool *changed);
    /* The statements of the projects' rules (db_common.c), one each, inside the caller's
     * transaction where one is needed; each returns TDB_OK or the status of its failure
     * (message recorded):
     *  - stored_app_id: the stored spelling of app_id (into buf) when a project's App ID equals
     *    it ignoring case; else app_id itself, also when the query fails.
     *  - load_row: the project row, certificates opened with tdbi_open_cert; *created and
     *    *updated (each may be NULL) its times; *retired false when out holds the whole retired
     *    list already (none, or a short list the row carries: SQLite's schema 7), true when
     *    load_retired must read it; TDB_NOT_FOUND.
     *  - load_retired: every retired certificate of app_id, oldest first, each kept with
     *    tdbi_retired_keep.
     *  - upsert_row: writes p's row with its certificates sealed[] (present ones only) at now;
     *    delete_row deletes it.
     *  - insert_retired: a retired certificate's row (sealed, its fingerprint fp, source) and
     *    its new id in *id; unretire deletes the one of that id; prune_retired all but the
     *    newest DIAG_RETIRED_MAX of app_id.
     *  - insert_log: one configuration log entry.
     *  - stored_row, stored_retired, latest_after: what a show without the key file reads: the
     *    row as shown without fingerprints, the retired fingerprints (newest DIAG_RETIRED_MAX,
     *    most recent last), and the text of the newest log entry's "after" of exactly that
     *    spelling (*text malloc'ed, NULL when there is none). */
    const char *(*stored_app_id)(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]);
    tdb_status (*load_row)(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                           int64_t *updated, bool *retired);
    tdb_status (*load_retired)(tdb *db, const char *app_id, tdbi_retired_set *out);
    tdb_status (*upsert_row)(tdb *db, const diag_project *p,
                             const unsigned char sealed[2][TDBI_SEALED_CERT_LEN], int64_t now);
    tdb_status (*delete_row)(tdb *db, const char *app_id);
    tdb_status (*insert_retired)(tdb *db, const char *app_id,
                                 const unsigned char sealed[TDBI_SEALED_CERT_LEN], const char *fp,
                                 const char *source, int64_t now, int64_t *id);
    tdb_status (*unretire)(tdb *db, int64_t id);
    tdb_status (*prune_retired)(tdb *db, const char *app_id);
    tdb_status (*insert_log)(tdb *db, const tdbi_change_row *row);
    tdb_status (*stored_row)(tdb *db, const char *app_id, diag_project_shown *out);
    tdb_status (*stored_retired)(tdb *db, const char *app_id, diag_project_shown *out);
    tdb_status (*latest_after)(tdb *db, const char *app_id, char **text);
    /* project_ids: the App IDs after `after` in byte order, at most limit (> 0), into a new
     * array (*ids, freed by the caller; NULL when there are none). */
    tdb_status (*project_ids)(tdb *db, const char *after, size_t limit,
                              char (**ids)[TD_CERT_LEN + 1], size_t *n);
    /* history_rows: the configuration log entries of app_id whatever its case, oldest first,
     * read with tdbi_change_read into a new array (*out, freed by the caller). */
    tdb_status (*history_rows)(tdb *db, const char *app_id, diag_project_change **out,
                               size_t *count);
} tdbi_store_ops;

extern const tdbi_store_ops tdbsq_ops;
extern const tdbi_store_ops tdbpg_ops;

/* The PostgreSQL store's state of a connection (db_pg.c); NULL on a SQLite connection. */
typedef struct tdbpg_state tdbpg_state;

/* Whether location is a postgres:// or postgresql:// URL (db_url.c). */
bool tdbi_location_is_pg(const char *location);

struct tdb {
    const tdbi_store_ops *ops; /* the store this connection talks to */
    tdbpg_state *pg;           /* the PostgreSQL store's connection (db_pg.c), else NULL */
    sqlite3 *sql;
    char *path;
    /* What the messages of an open connection call the file: its base name (a pointer into
     * path), never a directory -- they reach HTTP clients and the service's log, and the layout
     * of the server's disk is none of their business. (Opening errors name the path the caller
     * gave: only that caller sees them, and a path is what it needs to act.) */
    const char *name;
    const char *key_name; /* the same for key_file */
    int busy_timeout_ms;
    tdb_fault fault; /* of the last failure (tdb_last_fault) */
    char *key_file;
    unsigned char key[TDBI_KEY_LEN];
    /* False only on a read-only connection opened without a key file (tdb_open_readonly with
     * TDB_KEY_OPTIONAL): nothing can be decrypted, fingerprints come from what is stored. */
    bool has_key;
    mbedtls_gcm_context gcm;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    char err[512];
    /* Kept prepared statements (prepared on first use, finalized by tdb_close): the cache
     * checks run on every request of the service and must not parse SQL each time. */
    sqlite3_stmt *data_version_st;
    sqlite3_stmt *config_version_st;
    sqlite3_stmt *log_insert_st; /* the diagnosis log writer's INSERT (log_attach) */
    /* tdb_config_version's memo: the counter as read when data_version and this connection's
     * own change count (sqlite3_total_changes64) had these values. */
    bool config_known;
    int64_t config_data_version;
    int64_t config_own_changes;
    uint64_t config_version;
    /* While a bulk import runs (tdbi_keep_statements), the statements of a put are prepared
     * once and reused: compiling them was a third of an import's time. */
    bool keep_statements;
    size_t nkept;
    tdbi_kept kept[TDBI_KEPT_MAX];
};

/* The last component of path (what messages name a file by). */
const char *tdbi_base_name(const char *path);
/* Records the message of a failure on db (printf-style); its fault is TDB_FAULT_OTHER. */
void tdbi_fail(tdb *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records "<what>: <sqlite message>", the fault that SQLite's error code means (busy, disk
 * full, ...) and returns TDB_ERROR. */
tdb_status tdbi_sql_fail(tdb *db, const char *what);

/* Seals plain (plain_len bytes) for app_id into out (plain_len + TDBI_SEALED_OVERHEAD bytes).
 * false when the DRBG or the cipher fails. */
bool tdbi_seal(tdb *db, const char *aad, const void *plain, size_t plain_len, unsigned char *out);
/* tdbi_seal under another key's cipher (gcm, set up by the caller), the nonce from db's DRBG:
 * what `project export --certificates-for` writes for another database's key file. */
bool tdbi_seal_with(tdb *db, mbedtls_gcm_context *gcm, const char *aad, const void *plain,
                    size_t plain_len, unsigned char *out);
/* Reads a key file (64 hex characters, optionally followed by whitespace) into key: 1 when
 * read, 0 when the file does not exist, -1 on error (message in err, which names path). */
int tdbi_read_key_file(const char *path, unsigned char key[TDBI_KEY_LEN], char *err,
                       size_t err_cap);
/* Opens a sealed value of sealed_len bytes into out (sealed_len - TDBI_SEALED_OVERHEAD bytes).
 * false when it is too short or does not authenticate (wrong key, wrong App ID, tampered). */
bool tdbi_open_sealed(tdb *db, const char *aad, const unsigned char *sealed, size_t sealed_len,
                      unsigned char *out);

/* The key check value's sealed length, and what the stores share of it (db_open.c): sealing
 * it with db's key, checking a stored one, creating a new key file (atomically; or reading the
 * one another process made at that moment) into db->key, and setting up the cipher with
 * db->key (db->has_key then true). */
#define TDBI_KEY_CHECK_SEALED_LEN (24 + TDBI_SEALED_OVERHEAD)
bool tdbi_key_check_seal(tdb *db, unsigned char out[TDBI_KEY_CHECK_SEALED_LEN]);
bool tdbi_key_check_matches(tdb *db, const unsigned char *sealed, size_t len);
bool tdbi_create_key_file(tdb *db, char *err, size_t err_cap);
bool tdbi_use_key(tdb *db);

/* What an import (db_bulk.c, tdbi_import_with) needs of a store beyond its write transaction
 * and tdbi_project_put_with: statements without parameters (savepoints), undoing to a
 * savepoint while keeping the message of the failure that led there, and optional work around
 * the whole import (start's result is given to finish). */
typedef struct {
    bool (*exec)(tdb *db, const char *sql);
    void (*undo_savepoint)(tdb *db, const char *sql);
    int64_t (*start)(tdb *db);
    void (*finish)(tdb *db, int64_t state);
} tdbi_bulk_ops;

/* tdb_import through b (see db_bulk.c). */
tdb_status tdbi_import_with(tdb *db, const tdbi_bulk_ops *b, FILE *in, const tdb_import_options *o,
                            diag_import_summary *summary);
/* tdb_export: the key of cert_key_file loaded, walk called to export every project in App ID
 * order (each with tdbi_export_id) from one snapshot, the output flushed, *count the number
 * written. */
typedef struct tdbi_export_ctx tdbi_export_ctx;
tdb_status tdbi_export_with(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count,
                            tdb_status (*walk)(tdb *db, tdbi_export_ctx *x));
tdb_status tdbi_export_id(tdb *db, tdbi_export_ctx *x, const char *app_id);
/* Sets gcm up with the key of key_file for `export --certificates-for` (TDB_INVALID when it
 * cannot be read, TDB_DECRYPT when db has no key of its own). */
tdb_status tdbi_load_export_key(tdb *db, const char *key_file, mbedtls_gcm_context *gcm);
/* Writes the project app_id as one export line (certificates sealed for gcm when not NULL);
 * p and shown are the caller's scratch space (wiped). */
tdb_status tdbi_export_one(tdb *db, mbedtls_gcm_context *gcm, const char *app_id, FILE *out,
                           diag_project *p, diag_project_shown *shown);

/* Fills buf with random bytes from the DRBG. */
bool tdbi_random(tdb *db, unsigned char *buf, size_t len);

/* The SQL that made schema version `version` from the one before (1: the initial schema), or
 * NULL when there is no such step. Steps are append-only, so a test can build a database of any
 * older version with them. */
const char *tdbi_migration(int version);

/* Runs sql (no parameters, no rows wanted). */
bool tdbi_exec(tdb *db, const char *sql);
/* Prepares sql; NULL (after tdbi_sql_fail(db, what)) when it cannot be prepared. The statement
 * is given back with tdbi_finalize (never sqlite3_finalize: while db keeps statements it may be
 * a kept one, reused by the next tdbi_prepare of the same text). */
sqlite3_stmt *tdbi_prepare(tdb *db, const char *sql, const char *what);
/* tdbi_prepare, keeping the statement whether or not db keeps statements: for the few that run
 * on every cache miss (reading a project), where compiling the SQL was most of the cost
 * (docs/performance.md, "Many projects"). */
sqlite3_stmt *tdbi_prepare_kept(tdb *db, const char *sql, const char *what);
/* Gives back a statement of tdbi_prepare: a kept one is reset for its next use, any other is
 * finalized. NULL is a no-op. */
void tdbi_finalize(tdb *db, sqlite3_stmt *st);
/* Starts (on) or ends (off: every kept statement finalized) keeping statements on db, for a run
 * of many similar calls (tdb_import). Off when a connection opens; tdb_close ends it. */
void tdbi_keep_statements(tdb *db, bool on);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. tdbi_begin refuses (TDB_FAULT_GONE) when the database
 * file was deleted or replaced since it was opened: what a write then commits would be lost. */
bool tdbi_begin(tdb *db);
bool tdbi_commit(tdb *db);
void tdbi_rollback(tdb *db);

/* Stored text (a column's, NULL as "") into dst (cap bytes, NUL-terminated) by core's rule for
 * text from outside (td_text_copy): valid UTF-8 whatever the file holds, cut to fit. */
void tdbi_set_text(char *dst, size_t cap, const unsigned char *src);

/* Reads one row of st into item (size bytes, zeroed by nobody: the reader sets every field). */
typedef void (*tdbi_row_reader)(sqlite3_stmt *st, void *item);

/* Steps st (prepared and bound) to its end, each row read by read into a new array of *count
 * items of size bytes (*out, freed by the caller with free(); NULL when there are none), and
 * finalizes st. TDB_ERROR (the message "<what>: ..." or "out of memory") with *out NULL. */
tdb_status tdbi_read_rows(tdb *db, sqlite3_stmt *st, size_t size, tdbi_row_reader read,
                          const char *what, void **out, size_t *count);

/* Opens the sealed certificate of a column (len bytes) into out; TDB_DECRYPT (message recorded)
 * when it does not open. */
tdb_status tdbi_open_cert(tdb *db, const char *app_id, const void *sealed, size_t len,
                          char out[TD_CERT_LEN + 1]);
/* Adds row to set, dropping the oldest when it is full. */
void tdbi_retired_keep(tdbi_retired_set *set, const tdbi_retired_row *row);
/* The project app_id with its retired certificates (newest DIAG_RETIRED_MAX), through s. */
tdb_status tdbi_load_project(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                             int64_t *updated);
/* tdb_project_get through s (inside whatever transaction the caller holds). */
tdb_status tdbi_project_get_with(tdb *db, const char *app_id, diag_project *out);
/* tdb_project_show through s. */
tdb_status tdbi_project_show_with(tdb *db, const char *app_id, diag_project_shown *out);
/* A put inside the write transaction the caller holds: the same retiring, pruning and log
 * entry in both stores. now is the change's time; *created (may be NULL) tells whether the
 * project is new. */
tdb_status tdbi_project_put_with(tdb *db, const diag_project *p, const char *actor, int64_t now,
                                 bool *created);
/* tdb_project_put, tdb_project_delete and tdb_apikey_create in the store's write transaction,
 * for both stores' tables. */
tdb_status tdbi_project_put(tdb *db, const diag_project *p, const char *actor, bool *created);
tdb_status tdbi_project_delete(tdb *db, const char *app_id, const char *actor);
tdb_status tdbi_apikey_create(tdb *db, tdb_role role, const char *name,
                              char key_out[TDB_APIKEY_LEN + 1], int64_t *id_out);
/* tdb_apikey_revoke, for both stores' tables. */
tdb_status tdbi_apikey_revoke(tdb *db, const char *id_or_name);
/* Deletes up to TDBI_ROOM_CHUNK of the oldest diagnoses when n more would pass max_rows or the
 * used bytes pass max_bytes (db_log.c: Bounds), through the store's log measures. 1: there is
 * room for n; 0: not yet (drop the batch); -1: error. Inside the writer's transaction. */
int tdbi_log_make_room(tdb *db, int64_t max_rows, int64_t max_bytes, size_t n, tdbi_log_room *r);
/* What became of a batch of n: failed when !ok (its room undone with the rollback), else
 * written when has_room, else dropped by a bound. */
tdbi_log_outcome tdbi_log_settle(size_t n, bool ok, int has_room, tdbi_log_room room);
/* Whether s is a key id (digits only, not empty): names never are. */
bool tdbi_all_digits(const char *s);
/* Whether a key last used at last_used (-1: never) is to be recorded as used at now. */
bool tdbi_apikey_use_due(int64_t last_used, int64_t now);
/* A history row into out (zeroed first) from its columns' texts (each may be NULL). */
void tdbi_change_read(diag_project_change *out, int64_t id, int64_t at, const char *actor,
                      const char *action, const char *before, const char *after,
                      const char *retired);
/* tdb_project_page, for both stores' tables. */
tdb_status tdbi_project_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                             size_t *count, bool *more);
/* tdb_project_history, for both stores' tables. */
tdb_status tdbi_project_history(tdb *db, const char *app_id, diag_project_change **out,
                                size_t *count);

#endif /* DB_INTERNAL_H */

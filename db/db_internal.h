/* db_internal.h -- what the files of db/ share and nobody else sees.
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
#define TDBI_NONCE_LEN 12
#define TDBI_TAG_LEN 16
/* A sealed value: nonce || ciphertext || tag. */
#define TDBI_SEALED_OVERHEAD (TDBI_NONCE_LEN + TDBI_TAG_LEN)
/* How long a connection waits for another's write lock before SQLITE_BUSY, unless
 * tdb_set_busy_timeout says otherwise (the service's request threads: TDB_REQUEST_BUSY_MS). */
#define TDBI_BUSY_TIMEOUT_MS 5000
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

struct tdb {
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

/* tdb_project_put's work inside a transaction the caller holds (BEGIN IMMEDIATE), so that a
 * bulk import puts many projects in one: the same retiring, pruning and log entry. now is the
 * change's time. *created (may be NULL) tells whether the project is new. */
tdb_status tdbi_project_put_in(tdb *db, const diag_project *p, const char *actor, int64_t now,
                               bool *created);

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

#endif /* DB_INTERNAL_H */

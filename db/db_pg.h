/* db_pg.h -- the PostgreSQL store's operations (tdbpg_), for its table (tdbpg_ops, db_pg.c),
 * and what its files (db_pg.c, db_pg_project.c, db_pg_apikey.c, db_pg_log.c) share.
 *
 * Each tdbpg_ function named like a tdbi_store_ops member is its PostgreSQL implementation
 * (tddb.h says what the public function of that name does). The helpers below run SQL on the
 * connection's PGconn with parameters sent as text (bytea as binary) and every result asked
 * for in binary form, read back with tdbpg_i64 / tdbpg_text / tdbpg_blob. Nothing but the
 * db_pg*.c files includes this header.
 */
#ifndef DB_PG_H
#define DB_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "db_internal.h"

/* The schema version of a PostgreSQL store: its own count (the table tokendoctor_schema), not
 * SQLite's user_version. Version 1 is the SQLite schema 4 translated. */
#define TDBPG_SCHEMA_VERSION 2
/* What every statement may take before the server cancels it (statement_timeout): on a
 * connection that may wait (the CLI, the log writer), and on one that must not (a busy timeout
 * below 1 s: the service's request threads, tdb_set_busy_timeout(TDB_REQUEST_BUSY_MS)). */
#define TDBPG_STATEMENT_TIMEOUT_MS 15000
#define TDBPG_REQUEST_STATEMENT_TIMEOUT_MS 2000
/* How much longer than its statement timeout a statement's answer is waited for before the
 * connection is given up as lost (the server cancels the statement at the timeout and answers
 * at once: a longer silence means the server or the path to it is gone). */
#define TDBPG_ANSWER_MARGIN_MS 1000
/* How long a connection attempt may take unless the URL (or $PGCONNECT_TIMEOUT) says. */
#define TDBPG_CONNECT_TIMEOUT_S "5"
/* The diagnosis log writer's sessions end a transaction left idle this long: one whose COMMIT
 * was lost on the way (a partition) would otherwise hold its batch's mark -- and the writer's
 * next attempt at that batch -- until the server's TCP keepalive gave up, hours by default
 * (db_pg_log.c). No other session sets it: an import reads its input inside its transaction. */
#define TDBPG_LOG_IDLE_TX_MS 60000
#define TDBPG_LOG_SESSION_SQL                                                                      \
    "SET idle_in_transaction_session_timeout = " TDBI_STR(TDBPG_LOG_IDLE_TX_MS)
/* The watcher's poll of the version row when no notification came. */
#define TDBPG_WATCH_POLL_MS 250
/* The channel of pg_notify on every configuration change. */
#define TDBPG_CHANNEL "tokendoctor_config"
/* pg_advisory_xact_lock keys: configuration writers, and migrations. */
#define TDBPG_LOCK_CONFIG 1413759489  /* 0x54444201 */
#define TDBPG_LOCK_MIGRATE 1413759490 /* 0x54444202 */

struct tdbpg_state {
    PGconn *conn;
    char where[192];     /* 'database "D" on H': what messages name the store by */
    int lock_timeout_ms; /* set_busy_timeout */
    char sqlstate[6];    /* of the last failed statement ("" when none was given) */
    bool in_tx;          /* between tdbpg_begin and its commit or rollback */
    bool lost;           /* the server ended the session: reset at the next use */
    bool read_only;      /* tdb_open_readonly: every (re)connection's transactions read only */
    bool log_writer;     /* the diagnosis log's (tdbpg_log_attach): see TDBPG_LOG_IDLE_TX_MS */
    /* Published by the watcher thread (or by this connection's own commits), read by anyone
     * without a round trip: config_version, data_version (moves with it), whether the
     * watcher's connection is up and the schema version it read. */
    _Atomic uint64_t config_version;
    _Atomic uint64_t data_version;
    atomic_bool watcher_up;
    atomic_bool watcher_tried; /* its first connection attempt is over */
    _Atomic int schema_version;
    atomic_bool stop;
    uint64_t pending_version; /* what this transaction's tdbpg_bump returned: published at commit */
    bool watcher_started;
    pthread_t watcher;
    int wake[2]; /* a pipe: tdbpg_close wakes the watcher through it */
    char *url;   /* the location (may hold a password: never printed) */
};

/* Parameters of one statement: text (or NULL), a 64-bit integer as text, or binary bytea. */
#define TDBPG_PARAMS_MAX 12
typedef struct {
    int n;
    bool overflow;
    const char *val[TDBPG_PARAMS_MAX];
    int len[TDBPG_PARAMS_MAX];
    int fmt[TDBPG_PARAMS_MAX];
    char num[TDBPG_PARAMS_MAX][24];
} tdbpg_params;

void tdbpg_p_text(tdbpg_params *p, const char *text);
void tdbpg_p_i64(tdbpg_params *p, int64_t v);
void tdbpg_p_blob(tdbpg_params *p, const void *data, size_t len);

/* Makes sure the connection is up (resetting a broken one); false with the failure recorded. */
bool tdbpg_use(tdb *db);
/* Runs sql with p (may be NULL); the result (PQclear by the caller) when it succeeded, NULL
 * with "<where>: <what>: <server's message>" and the fault recorded otherwise. */
PGresult *tdbpg_run(tdb *db, const char *what, const char *sql, const tdbpg_params *p);
/* Records the failure of a statement run by hand ("<where>: <what>: <message>", its fault, and
 * whether the session is gone). */
void tdbpg_fail_result(tdb *db, const char *what, const PGresult *r);
/* tdbpg_run for a statement whose rows are not wanted. */
bool tdbpg_do(tdb *db, const char *what, const char *sql, const tdbpg_params *p);
/* A column of a binary result: an integer (int2/4/8, bool), text ("" when NULL), bytea. */
int64_t tdbpg_i64(const PGresult *r, int row, int col);
const char *tdbpg_text(const PGresult *r, int row, int col);
bool tdbpg_null(const PGresult *r, int row, int col);
/* Reads row `row` of r into item (size bytes, zeroed). */
typedef void (*tdbpg_row_reader)(const PGresult *r, int row, void *item);
/* Every row of r (a tdbpg_run result, NULL when it failed: TDB_ERROR) read by read into a new
 * array of *count items of size bytes (*out, freed by the caller with free(); NULL when there
 * are none); r is cleared. TDB_ERROR ("out of memory") with *out NULL. The counterpart of
 * tdbi_read_rows. */
tdb_status tdbpg_read_rows(tdb *db, PGresult *r, size_t size, tdbpg_row_reader read, void **out,
                           size_t *count);

/* BEGIN (with config: the configuration writers' lock, pg_advisory_xact_lock, so that writers
 * of every node serialize as SQLite's BEGIN IMMEDIATE makes them); COMMIT (then publishing a
 * version this transaction's tdbpg_bump returned); ROLLBACK (keeping the failure's message). */
bool tdbpg_begin(tdb *db, bool config);
bool tdbpg_commit(tdb *db);
void tdbpg_rollback(tdb *db);
/* Inside a configuration writer's transaction: moves the configuration version and notifies
 * TDBPG_CHANNEL (delivered at commit). */
bool tdbpg_bump(tdb *db);

bool tdbpg_open(tdb *db, tdbi_open_mode mode, tdb_key_use key, bool *missing);
void tdbpg_close(tdb *db);
void tdbpg_set_busy_timeout(tdb *db, int ms);
void tdbpg_release(tdb *db);
bool tdbpg_file_gone(tdb *db);
uint64_t tdbpg_data_version(tdb *db);
uint64_t tdbpg_config_version(tdb *db);
bool tdbpg_ready(tdb *db, char *reason, size_t reason_cap);
tdb_status tdbpg_project_get(tdb *db, const char *app_id, diag_project *out);
tdb_status tdbpg_project_show(tdb *db, const char *app_id, diag_project_shown *out);
tdb_role tdbpg_apikey_verify(tdb *db, const char *key, size_t len, char *name_out, size_t name_cap);
tdb_status tdbpg_apikey_list(tdb *db, diag_apikey_shown **out, size_t *count);
tdb_status tdbpg_import(tdb *db, FILE *in, const tdb_import_options *o,
                        diag_import_summary *summary);
tdb_status tdbpg_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count);
tdb_status tdbpg_backup(tdb *db, const char *dest_path);
tdb_status tdbpg_diagnoses_recent(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                  size_t *count);
bool tdbpg_log_attach(tdb *db);
/* The SQL of PostgreSQL schema step `version` (1..TDBPG_SCHEMA_VERSION), NULL beyond: for the
 * test that pins released steps (tests/db/test_db.c, migrations_unchanged). */
const char *tdbpg_migration(int version);

tdbi_log_outcome tdbpg_log_write(tdb *db, const tdb_log_entry *batch, size_t n,
                                 tdbi_batch_mark mark, int64_t max_rows, int64_t max_bytes);
int64_t tdbpg_log_prune(tdb *db, int64_t cutoff, int limit);
/* The row statements of the projects' rules (tdbi_store_ops, db_common.c). */
const char *tdbpg_stored_app_id(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]);
tdb_status tdbpg_load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                          int64_t *updated, bool *retired);
tdb_status tdbpg_load_retired(tdb *db, const char *app_id, tdbi_retired_set *out);
tdb_status tdbpg_upsert_row(tdb *db, const diag_project *p,
                            const unsigned char sealed[2][TDBI_SEALED_CERT_LEN], int64_t now);
tdb_status tdbpg_delete_row(tdb *db, const char *app_id);
tdb_status tdbpg_insert_retired(tdb *db, const char *app_id,
                                const unsigned char sealed[TDBI_SEALED_CERT_LEN], const char *fp,
                                const char *source, int64_t now, int64_t *id);
tdb_status tdbpg_unretire(tdb *db, int64_t id);
tdb_status tdbpg_prune_retired(tdb *db, const char *app_id);
tdb_status tdbpg_insert_log(tdb *db, const tdbi_change_row *row);
tdb_status tdbpg_stored_row(tdb *db, const char *app_id, diag_project_shown *out);
tdb_status tdbpg_stored_retired(tdb *db, const char *app_id, diag_project_shown *out);
tdb_status tdbpg_latest_after(tdb *db, const char *app_id, char **text);
bool tdbpg_write_begin(tdb *db);
bool tdbpg_write_commit(tdb *db);
tdb_status tdbpg_apikey_insert(tdb *db, tdb_role role, const char *name,
                               const unsigned char hash[TDBI_APIKEY_HASH_LEN], int64_t *id);
tdb_status tdbpg_project_ids(tdb *db, const char *after, size_t limit,
                             char (**ids)[TD_CERT_LEN + 1], size_t *n);
tdb_status tdbpg_history_rows(tdb *db, const char *app_id, diag_project_change **out,
                              size_t *count);
tdb_status tdbpg_apikey_revoke_rows(tdb *db, const tdbi_key_match *m, int64_t now, bool *changed);
bool tdbpg_log_span(tdb *db, int64_t *lo, int64_t *hi);
int64_t tdbpg_log_delete_below(tdb *db, int64_t below);
bool tdbpg_log_used_bytes(tdb *db, int64_t span, int64_t *bytes);

#endif /* DB_PG_H */

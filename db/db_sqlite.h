/* db_sqlite.h -- the SQLite store's operations (tdbsq_), for its table (tdbsq_ops, db_sqlite.c).
 *
 * Each function is the SQLite implementation of the tdbi_store_ops member of the same name, and
 * of the public tdb_ function of that name where there is one (tddb.h says what it does). They
 * live in the files that held them before the store had an interface (db_open.c, db_project.c,
 * db_apikey.c, db_bulk.c, db_log_sqlite.c); nothing but db_sqlite.c and those files include this
 * header: everyone else goes through db->ops.
 */
#ifndef DB_SQLITE_H
#define DB_SQLITE_H

#include "db_internal.h"

bool tdbsq_open(tdb *db, tdbi_open_mode mode, tdb_key_use key, bool *missing);
void tdbsq_close(tdb *db);
void tdbsq_set_busy_timeout(tdb *db, int ms);
bool tdbsq_file_gone(tdb *db);
uint64_t tdbsq_data_version(tdb *db);
uint64_t tdbsq_config_version(tdb *db);
bool tdbsq_ready(tdb *db, char *reason, size_t reason_cap);
tdb_status tdbsq_project_get(tdb *db, const char *app_id, diag_project *out);
bool tdbsq_read_begin(tdb *db);
void tdbsq_read_end(tdb *db);
tdb_status tdbsq_project_show(tdb *db, const char *app_id, diag_project_shown *out);
tdb_role tdbsq_apikey_verify(tdb *db, const char *key, size_t len, char *name_out, size_t name_cap);
tdb_status tdbsq_apikey_list(tdb *db, diag_apikey_shown **out, size_t *count);
tdb_status tdbsq_import(tdb *db, FILE *in, const tdb_import_options *o,
                        diag_import_summary *summary);
tdb_status tdbsq_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count);
tdb_status tdbsq_backup(tdb *db, const char *dest_path);
tdb_status tdbsq_compact(tdb *db);
tdb_status tdbsq_diagnoses_recent(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                  size_t *count);
bool tdbsq_log_attach(tdb *db);
tdbi_log_outcome tdbsq_log_write(tdb *db, const tdb_log_entry *batch, size_t n,
                                 tdbi_batch_mark mark, int64_t max_rows, int64_t max_bytes);
int64_t tdbsq_log_prune(tdb *db, int64_t cutoff, int limit);
/* The row statements of the projects' rules (tdbi_store_ops, db_common.c). */
const char *tdbsq_stored_app_id(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]);
/* A project with at most this many retired certificates carries them in its row, sealed as in
 * their table (projects.retired_sealed, schema 7: kept by triggers, db_open.c), so that a read
 * of it is one descent. More, and the row holds NULL: the read takes them from their table. */
#define TDBSQ_RETIRED_IN_ROW 4
/* The row id a project is stored under (schema 8): a 63-bit FNV-1a hash of its App ID's bytes,
 * so that a read descends the table's integer keys instead of an index of text. A project whose
 * id was taken by another when it was stored gets any free one; reads then find it by App ID
 * (tdbsq_load_row). Migration 8 calls it as the SQL function tdb_row_key (db_open.c). */
int64_t tdbsq_row_key(const char *app_id);

tdb_status tdbsq_load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                          int64_t *updated, bool *retired);
tdb_status tdbsq_load_retired(tdb *db, const char *app_id, tdbi_retired_set *out);
tdb_status tdbsq_upsert_row(tdb *db, const diag_project *p,
                            const unsigned char sealed[2][TDBI_SEALED_CERT_LEN], int64_t now);
tdb_status tdbsq_delete_row(tdb *db, const char *app_id);
tdb_status tdbsq_insert_retired(tdb *db, const char *app_id,
                                const unsigned char sealed[TDBI_SEALED_CERT_LEN], const char *fp,
                                const char *source, int64_t now, int64_t *id);
tdb_status tdbsq_unretire(tdb *db, int64_t id);
tdb_status tdbsq_prune_retired(tdb *db, const char *app_id);
tdb_status tdbsq_insert_log(tdb *db, const tdbi_change_row *row);
tdb_status tdbsq_stored_row(tdb *db, const char *app_id, diag_project_shown *out);
tdb_status tdbsq_stored_retired(tdb *db, const char *app_id, diag_project_shown *out);
tdb_status tdbsq_latest_after(tdb *db, const char *app_id, char **text);
tdb_status tdbsq_apikey_insert(tdb *db, tdb_role role, const char *name,
                               const unsigned char hash[TDBI_APIKEY_HASH_LEN], int64_t *id);
tdb_status tdbsq_project_ids(tdb *db, const char *after, size_t limit,
                             char (**ids)[TD_CERT_LEN + 1], size_t *n);
tdb_status tdbsq_history_rows(tdb *db, const char *app_id, diag_project_change **out,
                              size_t *count);
tdb_status tdbsq_apikey_revoke_rows(tdb *db, const tdbi_key_match *m, int64_t now, bool *changed);
bool tdbsq_log_span(tdb *db, int64_t *lo, int64_t *hi);
int64_t tdbsq_log_delete_below(tdb *db, int64_t below);
bool tdbsq_log_used_bytes(tdb *db, int64_t span, int64_t *bytes);

#endif /* DB_SQLITE_H */

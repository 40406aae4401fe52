/* db_store.c -- the public store API (tddb.h) as calls through the connection's operations.
 *
 * Design
 * ------
 * Every tdb_ function that reaches the database calls the member of db->ops of the same name
 * (tdbi_store_ops, db_internal.h); the callers (cli/, server/) do not know which store answers.
 * What every store shares stays outside the table: the certificate key and its cipher, the
 * last error and fault, the paths, the project cache (db_cache.c, over tdb_config_version and
 * tdb_project_get) and the diagnosis log's queue and writer thread (db_log.c, over log_attach,
 * log_write and log_prune). The table is chosen when a connection opens (db_open.c), from what
 * tdb_location_check (db_url.c) made of the location.
 */
#include "db_internal.h"
#include "db_pg.h"

void tdb_set_busy_timeout(tdb *db, int ms) {
    db->ops->set_busy_timeout(db, ms);
}

void tdb_release_connection(tdb *db) {
    if (db->ops->release)
        db->ops->release(db);
}

bool tdb_file_gone(tdb *db) {
    return db->ops->file_gone(db);
}

uint64_t tdb_data_version(tdb *db) {
    return db->ops->data_version(db);
}

uint64_t tdb_config_version(tdb *db) {
    return db->ops->config_version(db);
}

bool tdb_ready(tdb *db, char *reason, size_t reason_cap) {
    return db->ops->ready(db, reason, reason_cap);
}

tdb_status tdb_project_get(tdb *db, const char *app_id, diag_project *out) {
    return db->ops->project_get(db, app_id, out);
}

bool tdb_read_begin(tdb *db) {
    return !db->ops->read_begin || db->ops->read_begin(db);
}

void tdb_read_end(tdb *db) {
    if (db->ops->read_end)
        db->ops->read_end(db);
}

tdb_status tdb_project_show(tdb *db, const char *app_id, diag_project_shown *out) {
    return db->ops->project_show(db, app_id, out);
}

tdb_status tdb_project_history(tdb *db, const char *app_id, diag_project_change **out,
                               size_t *count) {
    return db->ops->project_history(db, app_id, out, count);
}

tdb_status tdb_project_put(tdb *db, const diag_project *p, const char *actor, bool *created) {
    return db->ops->project_put(db, p, actor, created);
}

tdb_status tdb_project_delete(tdb *db, const char *app_id, const char *actor) {
    return db->ops->project_delete(db, app_id, actor);
}

tdb_status tdb_project_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                            size_t *count, bool *more) {
    return db->ops->project_page(db, after, limit, out, count, more);
}

tdb_status tdb_apikey_create(tdb *db, tdb_role role, const char *name,
                             char key_out[TDB_APIKEY_LEN + 1], int64_t *id_out) {
    return db->ops->apikey_create(db, role, name, key_out, id_out);
}

tdb_role tdb_apikey_verify(tdb *db, const char *key, size_t len, char *name_out, size_t name_cap) {
    return db->ops->apikey_verify(db, key, len, name_out, name_cap);
}

tdb_status tdb_apikey_list(tdb *db, diag_apikey_shown **out, size_t *count) {
    return db->ops->apikey_list(db, out, count);
}

tdb_status tdb_apikey_revoke(tdb *db, const char *id_or_name) {
    return db->ops->apikey_revoke(db, id_or_name);
}

tdb_status tdb_import(tdb *db, FILE *in, const tdb_import_options *o,
                      diag_import_summary *summary) {
    return db->ops->import(db, in, o, summary);
}

tdb_status tdb_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count) {
    return db->ops->export(db, out, cert_key_file, count);
}

tdb_status tdb_backup(tdb *db, const char *dest_path) {
    return db->ops->backup(db, dest_path);
}

tdb_status tdb_compact(tdb *db) {
    return db->ops->compact ? db->ops->compact(db) : TDB_OK;
}

tdb_status tdb_diagnoses_recent(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                size_t *count) {
    return db->ops->diagnoses_recent(db, app_id, limit, out, count);
}

const char *tdb_shown_name(const tdb *db) {
    return db->pg ? db->name : db->path;
}

int tdb_schema_version(const tdb *db) {
    return db->pg ? TDBPG_SCHEMA_VERSION : TDB_SCHEMA_VERSION;
}

bool tdb_is_remote(const tdb *db) {
    return db->pg != NULL;
}

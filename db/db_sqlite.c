/* db_sqlite.c -- the SQLite store's table of operations.
 *
 * Design
 * ------
 * The store is an interface (tdbi_store_ops, db_internal.h) in the manner of SQLite's own
 * sqlite3_io_methods: a table of function pointers that each connection points to (db->ops),
 * chosen when it opens. This is SQLite's row; the functions stay in the files that held them
 * before the interface existed (see db_sqlite.h), so that the change was a rename, not a move.
 */
#include "db_sqlite.h"

const tdbi_store_ops tdbsq_ops = {
    .name = "sqlite",
    .open = tdbsq_open,
    .close = tdbsq_close,
    .set_busy_timeout = tdbsq_set_busy_timeout,
    .file_gone = tdbsq_file_gone,
    .data_version = tdbsq_data_version,
    .config_version = tdbsq_config_version,
    .ready = tdbsq_ready,
    .project_get = tdbsq_project_get,
    .read_begin = tdbsq_read_begin,
    .read_end = tdbsq_read_end,
    .project_show = tdbsq_project_show,
    .project_history = tdbi_project_history,
    .project_put = tdbi_project_put,
    .project_delete = tdbi_project_delete,
    .project_page = tdbi_project_page,
    .apikey_create = tdbi_apikey_create,
    .apikey_insert = tdbsq_apikey_insert,
    .apikey_verify = tdbsq_apikey_verify,
    .apikey_list = tdbsq_apikey_list,
    .apikey_revoke = tdbi_apikey_revoke,
    .apikey_revoke_rows = tdbsq_apikey_revoke_rows,
    .import = tdbsq_import,
    .export = tdbsq_export,
    .backup = tdbsq_backup,
    .compact = tdbsq_compact,
    .diagnoses_recent = tdbsq_diagnoses_recent,
    .log_attach = tdbsq_log_attach,
    .log_write = tdbsq_log_write,
    .log_prune = tdbsq_log_prune,
    .log_span = tdbsq_log_span,
    .log_delete_below = tdbsq_log_delete_below,
    .log_used_bytes = tdbsq_log_used_bytes,
    .write_begin = tdbi_begin,
    .write_commit = tdbi_commit,
    .write_rollback = tdbi_rollback,
    .stored_app_id = tdbsq_stored_app_id,
    .load_row = tdbsq_load_row,
    .load_retired = tdbsq_load_retired,
    .upsert_row = tdbsq_upsert_row,
    .delete_row = tdbsq_delete_row,
    .insert_retired = tdbsq_insert_retired,
    .unretire = tdbsq_unretire,
    .prune_retired = tdbsq_prune_retired,
    .insert_log = tdbsq_insert_log,
    .stored_row = tdbsq_stored_row,
    .stored_retired = tdbsq_stored_retired,
    .latest_after = tdbsq_latest_after,
    .project_ids = tdbsq_project_ids,
    .history_rows = tdbsq_history_rows,
};

/* db_pg_bulk.c -- import and export on PostgreSQL.
 *
 * Design
 * ------
 * The import is db_bulk.c's (tdbi_import_with: reading, parsing, the unchanged check, the
 * counting and the batching are the same for both stores); this file gives it PostgreSQL's
 * savepoints, and its transactions are the store's write ops (tdbpg_write_begin and
 * tdbpg_write_commit, db_pg_project.c). A batch is one transaction under the configuration writers'
 * lock, and the configuration version moves once per batch, just before its commit, instead of once
 * per configuration: a million-line import would otherwise queue a million notifications in one
 * transaction. Savepoints undo one failed configuration with continue_on_error as on SQLite.
 *
 * The export is one snapshot (REPEATABLE READ, READ ONLY) read through a cursor in chunks of
 * EXPORT_FETCH App IDs, each written by db_bulk.c's tdbi_export_one, so that memory stays flat
 * whatever the number of projects and the lines are those SQLite's export writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"

#define EXPORT_FETCH 1000

static bool pg_exec(tdb *db, const char *sql) {
    return tdbpg_do(db, sql, sql, NULL);
}

static void pg_undo_savepoint(tdb *db, const char *sql) {
    if (db->pg->conn)
        PQclear(PQexec(db->pg->conn, sql)); /* keeps the message of the failure */
}

static const tdbi_bulk_ops pg_bulk = {
    .exec = pg_exec,
    .undo_savepoint = pg_undo_savepoint,
};

tdb_status tdbpg_import(tdb *db, FILE *in, const tdb_import_options *o,
                        diag_import_summary *summary) {
    return tdbi_import_with(db, &pg_bulk, in, o, summary);
}

/* PostgreSQL's walk: one snapshot read through a cursor (see the top of the file). */
static tdb_status pg_export_walk(tdb *db, tdbi_export_ctx *x) {
    tdb_status st = TDB_OK;
    if (!tdbpg_do(db, "starting the export", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                  NULL) ||
        !tdbpg_do(db, "listing projects",
                  "DECLARE export_ids NO SCROLL CURSOR FOR SELECT app_id FROM projects ORDER BY "
                  "app_id COLLATE \"C\"",
                  NULL))
        st = TDB_ERROR;
    for (bool more = st == TDB_OK; more && st == TDB_OK;) {
        PGresult *r = tdbpg_run(db, "listing projects",
                                "FETCH " TDBI_STR(EXPORT_FETCH) " FROM export_ids", NULL);
        if (!r) {
            st = TDB_ERROR;
            break;
        }
        int n = PQntuples(r);
        more = n == EXPORT_FETCH;
        for (int i = 0; i < n && st == TDB_OK; i++) {
            char app_id[TD_CERT_LEN + 1];
            tdbi_set_text(app_id, sizeof app_id, (const unsigned char *)tdbpg_text(r, i, 0));
            st = tdbi_export_id(db, x, app_id);
        }
        PQclear(r);
    }
    tdbpg_rollback(db); /* a read transaction: nothing to keep */
    return st;
}

tdb_status tdbpg_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count) {
    return tdbi_export_with(db, out, cert_key_file, count, pg_export_walk);
}

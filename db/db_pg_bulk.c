/* db_pg_bulk.c -- import and export on PostgreSQL.
 *
 * Design
 * ------
 * The import is db_bulk.c's (tdbi_import_with: reading, parsing, the unchanged check, the
 * counting and the batching are the same for both stores); this file gives it PostgreSQL's
 * transactions and put. A batch is one transaction under the configuration writers' lock, and
 * the configuration version moves once per batch, just before its commit, instead of once per
 * configuration: a million-line import would otherwise queue a million notifications in one
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

tdb_status tdbpg_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count) {
    *count = 0;
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    tdb_status st = cert_key_file ? tdbi_load_export_key(db, cert_key_file, &gcm) : TDB_OK;
    struct {
        diag_project p;
        diag_project_shown shown;
    } *w = st == TDB_OK ? calloc(1, sizeof *w) : NULL;
    if (st == TDB_OK && !w) {
        tdbi_fail(db, "out of memory");
        st = TDB_ERROR;
    }
    if (st == TDB_OK &&
        (!tdbpg_do(db, "starting the export", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   NULL) ||
         !tdbpg_do(db, "listing projects",
                   "DECLARE export_ids NO SCROLL CURSOR FOR SELECT app_id FROM projects ORDER BY "
                   "app_id COLLATE \"C\"",
                   NULL)))
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
            st = tdbi_export_one(db, cert_key_file ? &gcm : NULL, app_id, out, &w->p, &w->shown);
            if (st == TDB_OK)
                (*count)++;
        }
        PQclear(r);
    }
    tdbpg_rollback(db); /* a read transaction: nothing to keep */
    if (st == TDB_OK && fflush(out) != 0) {
        tdbi_fail(db, "cannot write the export: %s", strerror(errno));
        st = TDB_ERROR;
    }
    if (w)
        explicit_bzero(w, sizeof *w);
    free(w);
    mbedtls_gcm_free(&gcm);
    return st;
}

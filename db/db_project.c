/* db_project.c -- project configurations, retired certificates and the configuration log.
 *
 * Design
 * ------
 * A put or delete is one BEGIN IMMEDIATE transaction that reads the old configuration, writes
 * the new one, retires what is no longer current and appends one log entry, so that concurrent
 * writers (threads of the service, a CLI process) serialize and the log never disagrees with
 * the table. Every certificate is sealed (AES-256-GCM, fresh nonce, App ID as additional data)
 * before it reaches SQLite; the log holds only fingerprints.
 *
 * The log entry stores two snapshots (before/after: mode, flags, names, fingerprints) and the
 * list of fields that differ, in the JSON the project library writes (tdproject.h). Reading
 * returns structs (diag_project_shown, diag_project_change), never a document: `project show|
 * list|history` and the HTTP routes render them with the project library, in one place.
 *
 * One project per App ID whatever its case (schema 4: a unique index with COLLATE NOCASE). The
 * spelling it was first stored with is its App ID for good -- the certificates are sealed with
 * it, and the diagnosis compares App IDs exactly (diagnosis.md) -- so every entry point first
 * turns the App ID it is given into that spelling (stored_app_id): a get, show or delete in
 * another case finds the project, and a put in another case replaces it; the history of an App
 * ID is its log entries whatever their case.
 *
 * The rules of a put, a delete and a show (what is retired, what a log entry stores, a show
 * without the key file) are db_common.c's, shared with the PostgreSQL store; this file gives it
 * SQLite's statements (the row statements of tdbsq_ops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "db_sqlite.h"

/* Prepares sql (kept: with tdbi_prepare_kept) and binds app_id to its first parameter; NULL
 * as tdbi_prepare. */
static sqlite3_stmt *by_app_id(tdb *db, const char *sql, const char *what, const char *app_id,
                               bool kept) {
    sqlite3_stmt *st = kept ? tdbi_prepare_kept(db, sql, what) : tdbi_prepare(db, sql, what);
    if (st)
        sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    return st;
}

/* ---- App IDs whatever their case ------------------------------------------------------------ */

/* tdbi_project_ops.stored_app_id: COLLATE NOCASE is ASCII case, as App IDs are. */
const char *tdbsq_stored_app_id(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]) {
    if (strlen(app_id) != TD_CERT_LEN)
        return app_id; /* no stored App ID has another length */
    sqlite3_stmt *st = by_app_id(db, "SELECT app_id FROM projects WHERE app_id = ? COLLATE NOCASE",
                                 "finding a project", app_id, true);
    if (!st)
        return app_id;
    const char *out = app_id;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TD_CERT_LEN) {
        memcpy(buf, sqlite3_column_text(st, 0), TD_CERT_LEN);
        buf[TD_CERT_LEN] = '\0';
        out = buf;
    }
    tdbi_finalize(db, st);
    return out;
}

/* ---- Reading --------------------------------------------------------------------------------- */

int64_t tdbsq_row_key(const char *app_id) {
    uint64_t h = 14695981039346656037u; /* FNV-1a, 64 bits */
    for (const unsigned char *c = (const unsigned char *)app_id; *c; c++)
        h = (h ^ *c) * 1099511628211u;
    return (int64_t)(h >> 1); /* row ids are signed: keep them positive, as SQLite's own */
}

/* Opens the sealed certificate of column col into out. */
static tdb_status open_cert(tdb *db, const char *app_id, sqlite3_stmt *st, int col,
                            char out[TD_CERT_LEN + 1]) {
    return tdbi_open_cert(db, app_id, sqlite3_column_blob(st, col),
                          (size_t)sqlite3_column_bytes(st, col), out);
}

tdb_status tdbsq_load_retired(tdb *db, const char *app_id, tdbi_retired_set *out) {
    out->count = 0;
    sqlite3_stmt *st =
        by_app_id(db, "SELECT id, cert FROM retired_certificates WHERE app_id = ? ORDER BY id",
                  "reading retired certificates", app_id, true);
    if (!st)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    int rc;
    while (status == TDB_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        tdbi_retired_row row = {.id = sqlite3_column_int64(st, 0)};
        status = open_cert(db, app_id, st, 1, row.cert);
        if (status == TDB_OK)
            tdbi_retired_keep(out, &row);
        mbedtls_platform_zeroize(&row, sizeof row);
    }
    if (status == TDB_OK && rc != SQLITE_DONE)
        status = tdbi_sql_fail(db, "reading retired certificates");
    tdbi_finalize(db, st);
    return status;
}

/* The retired certificates the row carries (retired_sealed, schema 7) into out, when it carries
 * all count of them; false when it does not (more than TDBSQ_RETIRED_IN_ROW, or a copy whose
 * size disagrees with the count): then their table is read. */
static bool retired_from_row(tdb *db, const char *app_id, sqlite3_stmt *st, int col, int64_t count,
                             diag_project *out, tdb_status *status) {
    const unsigned char *copy = sqlite3_column_blob(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    if (!copy || count < 1 || count > TDBSQ_RETIRED_IN_ROW ||
        len != (size_t)count * TDBI_SEALED_CERT_LEN)
        return false;
    for (size_t i = 0; i < (size_t)count && *status == TDB_OK; i++)
        *status = tdbi_open_cert(db, app_id, copy + i * TDBI_SEALED_CERT_LEN, TDBI_SEALED_CERT_LEN,
                                 out->retired[i]);
    out->retired_count = *status == TDB_OK ? (size_t)count : 0;
    return true;
}

/* The row's retired_count (schema 6, kept by triggers) spares the read of the retired
 * certificates' index to the projects that have none, and its copy of a short list (schema 7)
 * to most of the others. The row is looked for under its row id first (schema 8: one descent of
 * integer keys); the second arm, by App ID, finds the few stored elsewhere because their id was
 * taken, and runs only when the first found nothing (LIMIT 1 ends the compound at its first
 * row). */
tdb_status tdbsq_load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                          int64_t *updated, bool *retired) {
    *retired = true;
#define ROW_COLUMNS                                                                                \
    "SELECT name, primary_cert, primary_enabled, secondary_cert, secondary_enabled, "              \
    "no_certificate, cohost_auth, created_at, updated_at, retired_count, retired_sealed FROM "     \
    "projects WHERE "
    sqlite3_stmt *st = by_app_id(
        db, ROW_COLUMNS "id = ?2 AND app_id = ?1 UNION ALL " ROW_COLUMNS "app_id = ?1 LIMIT 1",
        "reading a project", app_id, true);
#undef ROW_COLUMNS
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_int64(st, 2, tdbsq_row_key(app_id));
    memset(out, 0, sizeof *out);
    tdb_status status = TDB_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        tdbi_fail(db, "project %s not found", app_id);
        status = TDB_NOT_FOUND;
    } else if (rc != SQLITE_ROW) {
        status = tdbi_sql_fail(db, "reading a project");
    } else {
        tdbi_set_text(out->app_id, sizeof out->app_id, (const unsigned char *)app_id);
        tdbi_set_text(out->name, sizeof out->name, sqlite3_column_text(st, 0));
        diag_cert *slots[2] = {&out->primary, &out->secondary};
        for (int i = 0; i < 2 && status == TDB_OK; i++) {
            if (sqlite3_column_type(st, 1 + 2 * i) != SQLITE_NULL) {
                slots[i]->present = true;
                slots[i]->enabled = sqlite3_column_int(st, 2 + 2 * i) != 0;
                status = open_cert(db, app_id, st, 1 + 2 * i, slots[i]->certificate);
            }
        }
        out->no_certificate = sqlite3_column_int(st, 5) != 0;
        out->cohost_auth = sqlite3_column_int(st, 6) != 0;
        if (created)
            *created = sqlite3_column_int64(st, 7);
        if (updated)
            *updated = sqlite3_column_int64(st, 8);
        int64_t count = sqlite3_column_int64(st, 9);
        *retired = count != 0 &&
                   !(status == TDB_OK && retired_from_row(db, app_id, st, 10, count, out, &status));
    }
    tdbi_finalize(db, st);
    return status;
}

/* Runs sql (BEGIN or COMMIT) with a kept statement. */
static bool step_kept(tdb *db, const char *sql) {
    sqlite3_stmt *st = tdbi_prepare_kept(db, sql, sql);
    bool ok = st && sqlite3_step(st) == SQLITE_DONE;
    if (st && !ok)
        tdbi_sql_fail(db, sql);
    tdbi_finalize(db, st);
    return ok;
}

/* A snapshot is a deferred transaction made to read at once (SQLite takes the snapshot at the
 * first read, not at BEGIN), so that it is the database as of tdb_read_begin. Refused inside a
 * transaction: its end would be the caller's commit. */
bool tdbsq_read_begin(tdb *db) {
    if (!sqlite3_get_autocommit(db->sql)) {
        tdbi_fail(db, "a read snapshot cannot begin inside a transaction");
        return false;
    }
    if (!step_kept(db, "BEGIN"))
        return false;
    sqlite3_stmt *st = tdbi_prepare_kept(db, "SELECT version FROM config_version WHERE id = 1",
                                         "beginning a read snapshot");
    bool ok = st && sqlite3_step(st) == SQLITE_ROW;
    if (st && !ok)
        tdbi_sql_fail(db, "beginning a read snapshot");
    tdbi_finalize(db, st);
    if (!ok)
        tdbsq_read_end(db);
    return ok;
}

void tdbsq_read_end(tdb *db) {
    /* A read transaction commits nothing; a failed COMMIT (never seen) still must not leave it
     * open. SQLite may have ended it already after an error. */
    if (!sqlite3_get_autocommit(db->sql) && !step_kept(db, "COMMIT"))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/* tdbi_project_ops.latest_after: "app_id = ?" is this spelling exactly. */
tdb_status tdbsq_latest_after(tdb *db, const char *app_id, char **text) {
    *text = NULL;
    sqlite3_stmt *st = by_app_id(db,
                                 "SELECT after FROM config_log WHERE app_id = ? ORDER BY id "
                                 "DESC LIMIT 1",
                                 "reading the configuration log", app_id, false);
    if (!st)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
        !(*text = strdup((const char *)sqlite3_column_text(st, 0)))) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    }
    tdbi_finalize(db, st);
    return status;
}

/* The retired fingerprints of out (newest DIAG_RETIRED_MAX, most recent last, as fill_retired
 * keeps them) from their stored column. */
tdb_status tdbsq_stored_retired(tdb *db, const char *app_id, diag_project_shown *out) {
    sqlite3_stmt *st = tdbi_prepare(
        db,
        "SELECT fingerprint FROM (SELECT id, fingerprint FROM retired_certificates WHERE app_id "
        "= ? ORDER BY id DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ") ORDER BY id",
        "reading retired certificates");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    out->retired_count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->retired_count < DIAG_RETIRED_MAX) {
        tdbi_set_text(out->retired[out->retired_count++], sizeof out->retired[0],
                      sqlite3_column_text(st, 0));
    }
    tdb_status status = rc == SQLITE_DONE || rc == SQLITE_ROW
                            ? TDB_OK
                            : tdbi_sql_fail(db, "reading retired certificates");
    tdbi_finalize(db, st);
    return status;
}

/* The row of app_id as shown, without fingerprints: name, flags, which certificates exist. */
tdb_status tdbsq_stored_row(tdb *db, const char *app_id, diag_project_shown *out) {
    sqlite3_stmt *st = by_app_id(db,
                                 "SELECT name, primary_cert IS NOT NULL, primary_enabled, "
                                 "secondary_cert IS NOT NULL, secondary_enabled, "
                                 "no_certificate, cohost_auth, created_at, updated_at FROM "
                                 "projects WHERE app_id = ?",
                                 "reading a project", app_id, false);
    if (!st)
        return TDB_ERROR;
    memset(out, 0, sizeof *out);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        tdbi_set_text(out->app_id, sizeof out->app_id, (const unsigned char *)app_id);
        tdbi_set_text(out->name, sizeof out->name, sqlite3_column_text(st, 0));
        out->primary.present = sqlite3_column_int(st, 1) != 0;
        out->primary.enabled = sqlite3_column_int(st, 2) != 0;
        out->secondary.present = sqlite3_column_int(st, 3) != 0;
        out->secondary.enabled = sqlite3_column_int(st, 4) != 0;
        out->no_certificate = sqlite3_column_int(st, 5) != 0;
        out->cohost_auth = sqlite3_column_int(st, 6) != 0;
        out->has_times = true;
        out->created_at = sqlite3_column_int64(st, 7);
        out->updated_at = sqlite3_column_int64(st, 8);
    }
    tdb_status status = rc == SQLITE_ROW    ? TDB_OK
                        : rc == SQLITE_DONE ? TDB_NOT_FOUND
                                            : tdbi_sql_fail(db, "reading a project");
    tdbi_finalize(db, st);
    if (status == TDB_NOT_FOUND)
        tdbi_fail(db, "project %s not found", app_id);
    return status;
}

/* ---- The log --------------------------------------------------------------------------------- */

tdb_status tdbsq_insert_log(tdb *db, const tdbi_change_row *row) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "INSERT INTO config_log (app_id, at, actor, action, before, "
                                    "after, changes, retired) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    "writing the configuration log");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, row->app_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, row->at);
    sqlite3_bind_text(st, 3, row->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, row->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, row->before, -1, SQLITE_STATIC); /* NULL binds SQL NULL */
    sqlite3_bind_text(st, 6, row->after, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, row->changes, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, row->retired, -1, SQLITE_STATIC);
    tdb_status status = sqlite3_step(st) == SQLITE_DONE
                            ? TDB_OK
                            : tdbi_sql_fail(db, "writing the configuration log");
    tdbi_finalize(db, st);
    return status;
}

static const char *column_text(sqlite3_stmt *st, int col) {
    return (const char *)sqlite3_column_text(st, col);
}

static void read_change(sqlite3_stmt *st, void *item) {
    tdbi_change_read(item, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                     column_text(st, 2), column_text(st, 3), column_text(st, 4), column_text(st, 5),
                     column_text(st, 6));
}

tdb_status tdbsq_history_rows(tdb *db, const char *app_id, diag_project_change **out,
                              size_t *count) {
    /* Every entry of the App ID whatever its case: those of a project that migration 4 deleted
     * as a duplicate in another case too. (A scan: the log holds configuration changes only.) */
    sqlite3_stmt *st = by_app_id(db,
                                 "SELECT id, at, actor, action, before, after, retired FROM "
                                 "config_log WHERE app_id = ? COLLATE NOCASE ORDER BY id",
                                 "reading the configuration log", app_id, false);
    if (!st)
        return TDB_ERROR;
    void *log;
    tdb_status status = tdbi_read_rows(db, st, sizeof(diag_project_change), read_change,
                                       "reading the configuration log", &log, count);
    *out = log;
    return status;
}

/* ---- Writing --------------------------------------------------------------------------------- */

static tdb_status exec_with_app_id(tdb *db, const char *sql, const char *app_id, const char *what) {
    sqlite3_stmt *st = by_app_id(db, sql, what, app_id, false);
    if (!st)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    if (sqlite3_step(st) != SQLITE_DONE)
        status = tdbi_sql_fail(db, what);
    tdbi_finalize(db, st);
    return status;
}

tdb_status tdbsq_insert_retired(tdb *db, const char *app_id,
                                const unsigned char sealed[TDBI_SEALED_CERT_LEN], const char *fp,
                                const char *source, int64_t now, int64_t *id) {
    sqlite3_stmt *st = by_app_id(db,
                                 "INSERT INTO retired_certificates (app_id, cert, fingerprint, "
                                 "source, retired_at) VALUES (?, ?, ?, ?, ?)",
                                 "retiring a certificate", app_id, false);
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_blob(st, 2, sealed, TDBI_SEALED_CERT_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, fp, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    tdb_status status = TDB_OK;
    if (sqlite3_step(st) != SQLITE_DONE)
        status = tdbi_sql_fail(db, "retiring a certificate");
    else
        *id = sqlite3_last_insert_rowid(db->sql);
    tdbi_finalize(db, st);
    return status;
}

tdb_status tdbsq_unretire(tdb *db, int64_t id) {
    sqlite3_stmt *st = tdbi_prepare(db, "DELETE FROM retired_certificates WHERE id = ?",
                                    "updating retired certificates");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    tdbi_finalize(db, st);
    return rc == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "updating retired certificates");
}

tdb_status tdbsq_prune_retired(tdb *db, const char *app_id) {
    return exec_with_app_id(db,
                            "DELETE FROM retired_certificates WHERE app_id = ?1 AND id NOT IN "
                            "(SELECT id FROM retired_certificates WHERE app_id = ?1 ORDER BY id "
                            "DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ")",
                            app_id, "pruning retired certificates");
}

/* A new project is stored under its row key unless another project holds that id (then NULL:
 * SQLite picks a free one), so the id never conflicts; an existing project keeps its id whatever
 * the CASE gives, since the conflict on app_id updates its row in place. */
tdb_status tdbsq_upsert_row(tdb *db, const diag_project *p,
                            const unsigned char sealed[2][TDBI_SEALED_CERT_LEN], int64_t now) {
    sqlite3_stmt *st = tdbi_prepare(
        db,
        "INSERT INTO projects (id, app_id, name, primary_cert, primary_enabled, secondary_cert, "
        "secondary_enabled, no_certificate, cohost_auth, created_at, updated_at) VALUES ("
        "CASE WHEN EXISTS (SELECT 1 FROM projects WHERE id = ?10) THEN NULL ELSE ?10 END, "
        "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (app_id) DO UPDATE SET "
        "name = ?2, primary_cert = ?3, primary_enabled = ?4, secondary_cert = ?5, "
        "secondary_enabled = ?6, no_certificate = ?7, cohost_auth = ?8, updated_at = ?9",
        "writing a project");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, p->app_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
    const diag_cert *slots[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2; i++) {
        if (slots[i]->present)
            sqlite3_bind_blob(st, 3 + 2 * i, sealed[i], TDBI_SEALED_CERT_LEN, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3 + 2 * i);
        sqlite3_bind_int(st, 4 + 2 * i, slots[i]->present && slots[i]->enabled);
    }
    sqlite3_bind_int(st, 7, p->no_certificate);
    sqlite3_bind_int(st, 8, p->cohost_auth);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_int64(st, 10, tdbsq_row_key(p->app_id));
    tdb_status status =
        sqlite3_step(st) == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "writing a project");
    tdbi_finalize(db, st);
    return status;
}

tdb_status tdbsq_delete_row(tdb *db, const char *app_id) {
    return exec_with_app_id(db, "DELETE FROM projects WHERE app_id = ?", app_id,
                            "deleting a project");
}

/* ---- The operations ----------------------------------------------------------------------------
 */

tdb_status tdbsq_project_get(tdb *db, const char *app_id, diag_project *out) {
    /* Its reads (the row; the retired certificates when the row does not carry them, or the
     * stored spelling of an App ID given in another case) in one read transaction when none is
     * open: each statement would otherwise take and drop SQLite's read locks on its own, a
     * quarter of a cache miss when there were always two. */
    bool own = sqlite3_get_autocommit(db->sql) && step_kept(db, "BEGIN");
    tdb_status status = tdbi_project_get_with(db, app_id, out);
    if (own && !step_kept(db, "COMMIT") && status == TDB_OK) {
        status = TDB_ERROR;
        mbedtls_platform_zeroize(out, sizeof *out);
    }
    return status;
}

tdb_status tdbsq_project_show(tdb *db, const char *app_id, diag_project_shown *out) {
    return tdbi_project_show_with(db, app_id, out);
}

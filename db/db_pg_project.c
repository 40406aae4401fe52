/* db_pg_project.c -- project configurations, retired certificates and the configuration log on
 * PostgreSQL.
 *
 * Design
 * ------
 * The same rules as db_project.c (read its design comment), in libpq calls: a put or delete is
 * one transaction that takes the configuration writers' advisory lock first (tdbpg_begin), so
 * that writers on every node serialize as SQLite's BEGIN IMMEDIATE makes them, reads the old
 * configuration, writes the new one, retires what is no longer current, appends one log entry
 * and moves the configuration version (tdbpg_bump: UPDATE ... RETURNING and pg_notify). Every
 * certificate is sealed with tdbi_seal (App ID as additional data) before it leaves the
 * process; the log holds only fingerprints, in the same JSON as SQLite's. One project per App
 * ID whatever its case: the unique index on lower(app_id), and every entry point first turns
 * the App ID given into the stored spelling. The reads for a project (row and retired
 * certificates) are one statement each; a get without a transaction sees each statement's
 * snapshot, and the row and its retired list are written in one transaction, so the only
 * difference with a single snapshot is a put landing between the two reads: the next
 * configuration version change empties the caches anyway.
 *
 * The rules of a put, a delete and a show are db_common.c's, shared with SQLite; this file gives
 * them PostgreSQL's statements (the row statements of tdbpg_ops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_pg.h"

/* Runs sql, whose one parameter ($1) is app_id. */
static PGresult *by_app_id(tdb *db, const char *what, const char *sql, const char *app_id) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    return tdbpg_run(db, what, sql, &p);
}

/* ---- App IDs whatever their case ----------------------------------------------------------- */

/* The stored spelling of app_id (into buf) when a project's App ID equals it ignoring case;
 * else app_id itself, also when the query fails (the caller's own query then reports). */
const char *tdbpg_stored_app_id(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]) {
    if (strlen(app_id) != TD_CERT_LEN)
        return app_id;
    PGresult *r = by_app_id(db, "finding a project",
                            "SELECT app_id FROM projects WHERE lower(app_id) = lower($1)", app_id);
    const char *out = app_id;
    if (r && PQntuples(r) == 1 && PQgetlength(r, 0, 0) == TD_CERT_LEN) {
        memcpy(buf, PQgetvalue(r, 0, 0), TD_CERT_LEN);
        buf[TD_CERT_LEN] = '\0';
        out = buf;
    }
    PQclear(r);
    return out;
}

/* ---- Reading ------------------------------------------------------------------------------- */

/* A text column, NULL when it is SQL NULL. */
static const char *text_or_null(const PGresult *r, int row, int col) {
    return tdbpg_null(r, row, col) ? NULL : tdbpg_text(r, row, col);
}

static tdb_status open_cert(tdb *db, const char *app_id, const PGresult *r, int row, int col,
                            char out[TD_CERT_LEN + 1]) {
    return tdbi_open_cert(db, app_id, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col),
                          out);
}

tdb_status tdbpg_load_retired(tdb *db, const char *app_id, tdbi_retired_set *out) {
    out->count = 0;
    PGresult *r = by_app_id(db, "reading retired certificates",
                            "SELECT id, cert FROM retired_certificates WHERE app_id = $1 ORDER BY "
                            "id",
                            app_id);
    if (!r)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    int n = PQntuples(r);
    for (int i = 0; i < n && status == TDB_OK; i++) {
        tdbi_retired_row row = {.id = tdbpg_i64(r, i, 0)};
        status = open_cert(db, app_id, r, i, 1, row.cert);
        if (status == TDB_OK)
            tdbi_retired_keep(out, &row);
        explicit_bzero(&row, sizeof row);
    }
    PQclear(r);
    return status;
}

/* The row of app_id in projects (columns: name, primary_cert, primary_enabled, secondary_cert,
 * secondary_enabled, no_certificate, cohost_auth, created_at, updated_at) into *r, which the
 * caller clears; TDB_NOT_FOUND (message recorded, *r NULL) when there is none. */
static tdb_status project_row(tdb *db, const char *app_id, PGresult **r) {
    *r = by_app_id(db, "reading a project",
                   "SELECT name, primary_cert, primary_enabled, secondary_cert, "
                   "secondary_enabled, no_certificate, cohost_auth, created_at, "
                   "updated_at FROM projects WHERE app_id = $1",
                   app_id);
    if (!*r)
        return TDB_ERROR;
    if (PQntuples(*r) == 1)
        return TDB_OK;
    PQclear(*r);
    *r = NULL;
    tdbi_fail(db, "project %s not found", app_id);
    return TDB_NOT_FOUND;
}

tdb_status tdbpg_load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                          int64_t *updated, bool *retired) {
    *retired = true; /* no count in this schema: the list is always read */
    memset(out, 0, sizeof *out);
    PGresult *r;
    tdb_status status = project_row(db, app_id, &r);
    if (status == TDB_OK) {
        tdbi_set_text(out->app_id, sizeof out->app_id, (const unsigned char *)app_id);
        tdbi_set_text(out->name, sizeof out->name, (const unsigned char *)tdbpg_text(r, 0, 0));
        diag_cert *slots[2] = {&out->primary, &out->secondary};
        for (int i = 0; i < 2 && status == TDB_OK; i++) {
            if (!tdbpg_null(r, 0, 1 + 2 * i)) {
                slots[i]->present = true;
                slots[i]->enabled = tdbpg_i64(r, 0, 2 + 2 * i) != 0;
                status = open_cert(db, app_id, r, 0, 1 + 2 * i, slots[i]->certificate);
            }
        }
        out->no_certificate = tdbpg_i64(r, 0, 5) != 0;
        out->cohost_auth = tdbpg_i64(r, 0, 6) != 0;
        if (created)
            *created = tdbpg_i64(r, 0, 7);
        if (updated)
            *updated = tdbpg_i64(r, 0, 8);
    }
    PQclear(r);
    return status;
}

/* tdbi_project_ops.latest_after: lower() for the index config_log_by_app, app_id = $1 for this
 * spelling. */
tdb_status tdbpg_latest_after(tdb *db, const char *app_id, char **text) {
    *text = NULL;
    PGresult *r = by_app_id(db, "reading the configuration log",
                            "SELECT after FROM config_log WHERE lower(app_id) = lower($1) AND "
                            "app_id = $1 ORDER BY id DESC LIMIT 1",
                            app_id);
    if (!r)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    if (PQntuples(r) == 1 && !tdbpg_null(r, 0, 0) && !(*text = strdup(tdbpg_text(r, 0, 0)))) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    }
    PQclear(r);
    return status;
}

tdb_status tdbpg_stored_retired(tdb *db, const char *app_id, diag_project_shown *out) {
    PGresult *r = by_app_id(
        db, "reading retired certificates",
        "SELECT fingerprint FROM (SELECT id, fingerprint FROM retired_certificates WHERE app_id "
        "= $1 ORDER BY id DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ") r ORDER BY id",
        app_id);
    if (!r)
        return TDB_ERROR;
    out->retired_count = 0;
    for (int i = 0; i < PQntuples(r) && out->retired_count < DIAG_RETIRED_MAX; i++)
        tdbi_set_text(out->retired[out->retired_count++], sizeof out->retired[0],
                      (const unsigned char *)tdbpg_text(r, i, 0));
    PQclear(r);
    return TDB_OK;
}

/* The same row without decrypting anything (a key file is not needed to show it). */
tdb_status tdbpg_stored_row(tdb *db, const char *app_id, diag_project_shown *out) {
    memset(out, 0, sizeof *out);
    PGresult *r;
    tdb_status status = project_row(db, app_id, &r);
    if (status != TDB_OK)
        return status;
    tdbi_set_text(out->app_id, sizeof out->app_id, (const unsigned char *)app_id);
    tdbi_set_text(out->name, sizeof out->name, (const unsigned char *)tdbpg_text(r, 0, 0));
    out->primary.present = !tdbpg_null(r, 0, 1);
    out->primary.enabled = tdbpg_i64(r, 0, 2) != 0;
    out->secondary.present = !tdbpg_null(r, 0, 3);
    out->secondary.enabled = tdbpg_i64(r, 0, 4) != 0;
    out->no_certificate = tdbpg_i64(r, 0, 5) != 0;
    out->cohost_auth = tdbpg_i64(r, 0, 6) != 0;
    out->has_times = true;
    out->created_at = tdbpg_i64(r, 0, 7);
    out->updated_at = tdbpg_i64(r, 0, 8);
    PQclear(r);
    return TDB_OK;
}

/* ---- The log ------------------------------------------------------------------------------- */

tdb_status tdbpg_insert_log(tdb *db, const tdbi_change_row *row) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, row->app_id);
    tdbpg_p_i64(&p, row->at);
    tdbpg_p_text(&p, row->actor);
    tdbpg_p_text(&p, row->action);
    tdbpg_p_text(&p, row->before); /* NULL sends SQL NULL */
    tdbpg_p_text(&p, row->after);
    tdbpg_p_text(&p, row->changes);
    tdbpg_p_text(&p, row->retired);
    return tdbpg_do(db, "writing the configuration log",
                    "INSERT INTO config_log (app_id, at, actor, action, before, after, changes, "
                    "retired) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &p)
               ? TDB_OK
               : TDB_ERROR;
}

static void read_change(const PGresult *r, int i, void *item) {
    tdbi_change_read(item, tdbpg_i64(r, i, 0), tdbpg_i64(r, i, 1), tdbpg_text(r, i, 2),
                     tdbpg_text(r, i, 3), text_or_null(r, i, 4), text_or_null(r, i, 5),
                     text_or_null(r, i, 6));
}

tdb_status tdbpg_history_rows(tdb *db, const char *app_id, diag_project_change **out,
                              size_t *count) {
    PGresult *r = by_app_id(db, "reading the configuration log",
                            "SELECT id, at, actor, action, before, after, retired FROM config_log "
                            "WHERE lower(app_id) = lower($1) ORDER BY id",
                            app_id);
    void *log;
    tdb_status status =
        tdbpg_read_rows(db, r, sizeof(diag_project_change), read_change, &log, count);
    *out = log;
    return status;
}

/* ---- Writing ------------------------------------------------------------------------------- */

tdb_status tdbpg_insert_retired(tdb *db, const char *app_id,
                                const unsigned char sealed[TDBI_SEALED_CERT_LEN], const char *fp,
                                const char *source, int64_t now, int64_t *id) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    tdbpg_p_blob(&p, sealed, TDBI_SEALED_CERT_LEN);
    tdbpg_p_text(&p, fp);
    tdbpg_p_text(&p, source);
    tdbpg_p_i64(&p, now);
    PGresult *r = tdbpg_run(db, "retiring a certificate",
                            "INSERT INTO retired_certificates (app_id, cert, fingerprint, source, "
                            "retired_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                            &p);
    if (!r)
        return TDB_ERROR;
    *id = PQntuples(r) == 1 ? tdbpg_i64(r, 0, 0) : 0;
    PQclear(r);
    return TDB_OK;
}

tdb_status tdbpg_unretire(tdb *db, int64_t id) {
    tdbpg_params q = {0};
    tdbpg_p_i64(&q, id);
    return tdbpg_do(db, "updating retired certificates",
                    "DELETE FROM retired_certificates WHERE id = $1", &q)
               ? TDB_OK
               : TDB_ERROR;
}

tdb_status tdbpg_prune_retired(tdb *db, const char *app_id) {
    tdbpg_params q = {0};
    tdbpg_p_text(&q, app_id);
    return tdbpg_do(db, "pruning retired certificates",
                    "DELETE FROM retired_certificates WHERE app_id = $1 AND id NOT IN (SELECT id "
                    "FROM retired_certificates WHERE app_id = $1 ORDER BY id DESC "
                    "LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ")",
                    &q)
               ? TDB_OK
               : TDB_ERROR;
}

tdb_status tdbpg_upsert_row(tdb *db, const diag_project *p,
                            const unsigned char sealed[2][TDBI_SEALED_CERT_LEN], int64_t now) {
    const diag_cert *slots[2] = {&p->primary, &p->secondary};
    tdbpg_params q = {0};
    tdbpg_p_text(&q, p->app_id);
    tdbpg_p_text(&q, p->name);
    for (int i = 0; i < 2; i++) {
        if (slots[i]->present)
            tdbpg_p_blob(&q, sealed[i], TDBI_SEALED_CERT_LEN);
        else
            tdbpg_p_text(&q, NULL);
        tdbpg_p_text(&q, slots[i]->present && slots[i]->enabled ? "true" : "false");
    }
    tdbpg_p_text(&q, p->no_certificate ? "true" : "false");
    tdbpg_p_text(&q, p->cohost_auth ? "true" : "false");
    tdbpg_p_i64(&q, now);
    return tdbpg_do(
               db, "writing a project",
               "INSERT INTO projects (app_id, name, primary_cert, primary_enabled, secondary_cert, "
               "secondary_enabled, no_certificate, cohost_auth, created_at, updated_at) "
               "VALUES ($1, $2, $3::bytea, $4, $5::bytea, $6, $7, $8, $9, $9) ON CONFLICT (app_id) "
               "DO UPDATE SET name = $2, primary_cert = $3::bytea, primary_enabled = $4, "
               "secondary_cert = $5::bytea, secondary_enabled = $6, no_certificate = $7, "
               "cohost_auth = $8, updated_at = $9",
               &q)
               ? TDB_OK
               : TDB_ERROR;
}

tdb_status tdbpg_delete_row(tdb *db, const char *app_id) {
    tdbpg_params q = {0};
    tdbpg_p_text(&q, app_id);
    return tdbpg_do(db, "deleting a project", "DELETE FROM projects WHERE app_id = $1", &q)
               ? TDB_OK
               : TDB_ERROR;
}

/* ---- The operations ------------------------------------------------------------------------ */

tdb_status tdbpg_project_get(tdb *db, const char *app_id, diag_project *out) {
    return tdbi_project_get_with(db, app_id, out);
}

tdb_status tdbpg_project_show(tdb *db, const char *app_id, diag_project_shown *out) {
    return tdbi_project_show_with(db, app_id, out);
}

/* tdbi_store_ops.write_begin and write_commit: the configuration writers' lock, and the
 * version moved just before the commit (once per batch in an import: a million-line import
 * would otherwise queue a million notifications in one transaction). */
bool tdbpg_write_begin(tdb *db) {
    return tdbpg_begin(db, true);
}

bool tdbpg_write_commit(tdb *db) {
    return tdbpg_bump(db) && tdbpg_commit(db);
}

/* ---- The list ---------------------------------------------------------------------------- */

static void read_app_id(const PGresult *r, int i, void *item) {
    tdbi_set_text(item, TD_CERT_LEN + 1, (const unsigned char *)tdbpg_text(r, i, 0));
}

tdb_status tdbpg_project_ids(tdb *db, const char *after, size_t limit,
                             char (**ids)[TD_CERT_LEN + 1], size_t *n) {
    tdbpg_params q = {0};
    tdbpg_p_text(&q, after);
    tdbpg_p_i64(&q, (int64_t)limit);
    /* COLLATE "C": App IDs ordered by their bytes, as SQLite orders them. */
    PGresult *r = tdbpg_run(db, "listing projects",
                            "SELECT app_id FROM projects WHERE app_id COLLATE \"C\" > $1 ORDER BY "
                            "app_id COLLATE \"C\" LIMIT $2::bigint",
                            &q);
    void *rows;
    tdb_status status = tdbpg_read_rows(db, r, TD_CERT_LEN + 1, read_app_id, &rows, n);
    *ids = rows;
    return status;
}

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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "db_sqlite.h"

#define SEALED_CERT_LEN (TD_CERT_LEN + TDBI_SEALED_OVERHEAD)

/* A retired certificate as loaded for a put: its row id and the decrypted certificate. */
typedef struct {
    int64_t id;
    char cert[TD_CERT_LEN + 1];
} retired_row;

typedef struct {
    size_t count;
    retired_row rows[DIAG_RETIRED_MAX * 2 + 2];
} retired_set;

/* ---- Sealing certificates -------------------------------------------------------------------- */

static bool seal_cert(tdb *db, const char *app_id, const char *cert,
                      unsigned char out[SEALED_CERT_LEN]) {
    if (strlen(cert) != TD_CERT_LEN || !tdbi_seal(db, app_id, cert, TD_CERT_LEN, out)) {
        tdbi_fail(db, "cannot encrypt a certificate of project %s", app_id);
        return false;
    }
    return true;
}

/* Opens a sealed certificate column into out[33]. */
static tdb_status open_cert(tdb *db, const char *app_id, sqlite3_stmt *st, int col,
                            char out[TD_CERT_LEN + 1]) {
    const unsigned char *blob = sqlite3_column_blob(st, col);
    int len = sqlite3_column_bytes(st, col);
    if (len != SEALED_CERT_LEN ||
        !tdbi_open_sealed(db, app_id, blob, (size_t)len, (unsigned char *)out)) {
        tdbi_fail(db, "cannot decrypt certificates of project %s: wrong key file? (%s)", app_id,
                  db->key_name);
        return TDB_DECRYPT;
    }
    out[TD_CERT_LEN] = '\0';
    return TDB_OK;
}

/* ---- App IDs whatever their case ------------------------------------------------------------ */

/* The stored spelling of app_id (into buf) when a project's App ID equals it ignoring ASCII
 * case; else app_id itself, also when the query fails (the caller's own query then reports). */
static const char *stored_app_id(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]) {
    if (strlen(app_id) != TD_CERT_LEN)
        return app_id; /* no stored App ID has another length */
    sqlite3_stmt *st = tdbi_prepare_kept(
        db, "SELECT app_id FROM projects WHERE app_id = ? COLLATE NOCASE", "finding a project");
    if (!st)
        return app_id;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
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

/* Every retired certificate of app_id, oldest first. */
static tdb_status load_retired(tdb *db, const char *app_id, retired_set *out) {
    out->count = 0;
    sqlite3_stmt *st = tdbi_prepare_kept(
        db, "SELECT id, cert FROM retired_certificates WHERE app_id = ? ORDER BY id",
        "reading retired certificates");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    tdb_status status = TDB_OK;
    int rc;
    while (status == TDB_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        retired_row row = {.id = sqlite3_column_int64(st, 0)};
        status = open_cert(db, app_id, st, 1, row.cert);
        if (status != TDB_OK)
            break;
        if (out->count == sizeof out->rows / sizeof out->rows[0]) {
            /* More than ever kept (the put prunes): keep the newest. */
            memmove(out->rows, out->rows + 1, (out->count - 1) * sizeof out->rows[0]);
            out->count--;
        }
        out->rows[out->count++] = row;
    }
    if (status == TDB_OK && rc != SQLITE_DONE)
        status = tdbi_sql_fail(db, "reading retired certificates");
    tdbi_finalize(db, st);
    return status;
}

/* The project row (certificates decrypted) without the retired list. */
static tdb_status load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                           int64_t *updated) {
    sqlite3_stmt *st =
        tdbi_prepare_kept(db,
                          "SELECT name, primary_cert, primary_enabled, secondary_cert, "
                          "secondary_enabled, no_certificate, cohost_auth, created_at, "
                          "updated_at FROM projects WHERE app_id = ?",
                          "reading a project");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
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
    }
    tdbi_finalize(db, st);
    return status;
}

/* Copies the newest DIAG_RETIRED_MAX retired certificates into p->retired, most recent last. */
static void fill_retired(diag_project *p, const retired_set *set) {
    size_t first = set->count > DIAG_RETIRED_MAX ? set->count - DIAG_RETIRED_MAX : 0;
    p->retired_count = 0;
    for (size_t i = first; i < set->count; i++)
        memcpy(p->retired[p->retired_count++], set->rows[i].cert, TD_CERT_LEN + 1);
}

static tdb_status load_project(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                               int64_t *updated) {
    tdb_status status = load_row(db, app_id, out, created, updated);
    if (status != TDB_OK)
        return status;
    retired_set *set = malloc(sizeof *set);
    if (!set) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    status = load_retired(db, app_id, set);
    if (status == TDB_OK)
        fill_retired(out, set);
    /* It held the retired certificates, decrypted: only the rows filled, not its 5 KB. */
    mbedtls_platform_zeroize(set->rows, set->count * sizeof set->rows[0]);
    free(set);
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

tdb_status tdbsq_project_get(tdb *db, const char *app_id, diag_project *out) {
    /* Both reads in one read transaction when none is open: each statement would otherwise
     * take and drop SQLite's read locks on its own, a quarter of a cache miss. */
    bool own = sqlite3_get_autocommit(db->sql) && step_kept(db, "BEGIN");
    tdb_status status = load_project(db, app_id, out, NULL, NULL);
    /* The App ID as stored only when the one given is not: the common read stays two
     * statements. */
    char spelt[TD_CERT_LEN + 1];
    const char *stored = status == TDB_NOT_FOUND ? stored_app_id(db, app_id, spelt) : app_id;
    if (stored != app_id)
        status = load_project(db, stored, out, NULL, NULL);
    if (own && !step_kept(db, "COMMIT") && status == TDB_OK)
        status = TDB_ERROR;
    if (status != TDB_OK)
        mbedtls_platform_zeroize(out, sizeof *out);
    return status;
}

/* The newest log snapshot ("after") of app_id into out. TDB_DECRYPT (message recorded) when
 * there is none to read: without the key file nothing else names the certificates. */
static tdb_status latest_snapshot(tdb *db, const char *app_id, diag_project_shown *out) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT after FROM config_log WHERE app_id = ? ORDER BY id "
                                    "DESC LIMIT 1",
                                    "reading the configuration log");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    json_t *snap = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snap = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    tdbi_finalize(db, st);
    bool ok = snap && diag_project_snapshot_from_json(snap, out);
    json_decref(snap);
    if (!ok) {
        tdbi_fail(db, "project %s: no fingerprints stored: the key file %s is needed", app_id,
                  db->key_name);
        return TDB_DECRYPT;
    }
    return TDB_OK;
}

/* The retired fingerprints of out (newest DIAG_RETIRED_MAX, most recent last, as fill_retired
 * keeps them) from their stored column. */
static tdb_status stored_retired(tdb *db, const char *app_id, diag_project_shown *out) {
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
static tdb_status stored_row(tdb *db, const char *app_id, diag_project_shown *out) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT name, primary_cert IS NOT NULL, primary_enabled, "
                                    "secondary_cert IS NOT NULL, secondary_enabled, "
                                    "no_certificate, cohost_auth, created_at, updated_at FROM "
                                    "projects WHERE app_id = ?",
                                    "reading a project");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
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

/* tdb_project_show on a connection without the key file: the same answer, with nothing
 * decrypted. The row gives the name, the flags and which certificates exist; the fingerprints
 * of the current certificates are those of the log snapshot written in the same transaction as
 * the row (tdb_project_put logs the configuration it stored), the retired ones have their own
 * column. */
static tdb_status show_stored(tdb *db, const char *app_id, diag_project_shown *out) {
    tdb_status status = stored_row(db, app_id, out);
    diag_project_shown *snap = status == TDB_OK ? malloc(sizeof *snap) : NULL;
    if (status == TDB_OK && !snap) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    }
    if (status == TDB_OK)
        status = latest_snapshot(db, app_id, snap);
    static const char *const slots[] = {"primary", "secondary"};
    diag_cert_shown *mine[] = {&out->primary, &out->secondary};
    for (int i = 0; i < 2 && status == TDB_OK; i++) {
        const diag_cert_shown *logged = i == 0 ? &snap->primary : &snap->secondary;
        if (mine[i]->present && !logged->present) {
            tdbi_fail(db,
                      "project %s: no fingerprint stored for its %s certificate: the key "
                      "file %s is needed",
                      app_id, slots[i], db->key_name);
            status = TDB_DECRYPT;
        } else if (mine[i]->present) {
            memcpy(mine[i]->fingerprint, logged->fingerprint, sizeof mine[i]->fingerprint);
        }
    }
    free(snap);
    if (status == TDB_OK)
        status = stored_retired(db, app_id, out);
    return status;
}

tdb_status tdbsq_project_show(tdb *db, const char *app_id, diag_project_shown *out) {
    char spelt[TD_CERT_LEN + 1];
    app_id = stored_app_id(db, app_id, spelt);
    if (!db->has_key)
        return show_stored(db, app_id, out);
    diag_project *p = malloc(sizeof *p);
    if (!p) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    int64_t created = 0, updated = 0;
    tdb_status status = load_project(db, app_id, p, &created, &updated);
    if (status == TDB_OK) {
        diag_project_show(p, out);
        out->has_times = true;
        out->created_at = created;
        out->updated_at = updated;
    }
    mbedtls_platform_zeroize(p, sizeof *p);
    free(p);
    return status;
}

/* ---- The log --------------------------------------------------------------------------------- */

/* The log stores each side as diag_project_snapshot_to_json and the changes between them
 * (diag_project_changes_to_json), so that a reader of the file needs no key to follow them. */
static tdb_status append_log(tdb *db, const char *app_id, int64_t now, const char *actor,
                             diag_project_action action, const diag_project *before,
                             const diag_project *after, json_t *retired) {
    /* Two shown configurations: too big for a worker thread's stack next to a put's. */
    diag_project_shown *shown = calloc(2, sizeof *shown);
    const diag_project_shown *b = NULL, *a = NULL;
    if (shown && before) {
        diag_project_show(before, &shown[0]);
        b = &shown[0];
    }
    if (shown && after) {
        diag_project_show(after, &shown[1]);
        a = &shown[1];
    }
    json_t *bj = shown ? diag_project_snapshot_to_json(b) : NULL;
    json_t *aj = shown ? diag_project_snapshot_to_json(a) : NULL;
    json_t *changes = shown ? diag_project_changes_to_json(b, a) : NULL;
    free(shown);
    char *bs = bj && b ? json_dumps(bj, JSON_COMPACT) : NULL;
    char *as = aj && a ? json_dumps(aj, JSON_COMPACT) : NULL;
    char *cs = changes ? json_dumps(changes, JSON_COMPACT) : NULL;
    char *rs = json_dumps(retired, JSON_COMPACT);
    sqlite3_stmt *st = NULL;
    tdb_status status = TDB_OK;
    if (!cs || !rs || (!bs && before) || (!as && after)) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    } else if (!(st = tdbi_prepare(db,
                                   "INSERT INTO config_log (app_id, at, actor, action, before, "
                                   "after, changes, retired) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                   "writing the configuration log"))) {
        status = TDB_ERROR;
    } else {
        sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_text(st, 3, actor && *actor ? actor : "unknown", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, diag_project_action_name(action), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, bs, -1, SQLITE_STATIC); /* NULL binds SQL NULL */
        sqlite3_bind_text(st, 6, as, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, cs, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, rs, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            status = tdbi_sql_fail(db, "writing the configuration log");
    }
    tdbi_finalize(db, st);
    free(bs);
    free(as);
    free(cs);
    free(rs);
    json_decref(bj);
    json_decref(aj);
    json_decref(changes);
    return status;
}

/* A stored snapshot column into *out; false (has no side) when it is NULL or unreadable. */
static bool read_snapshot(sqlite3_stmt *st, int col, diag_project_shown *out) {
    const unsigned char *text = sqlite3_column_text(st, col);
    json_t *snap = text ? json_loads((const char *)text, 0, NULL) : NULL;
    bool ok = snap && diag_project_snapshot_from_json(snap, out);
    json_decref(snap);
    return ok;
}

/* The certificates a change retired, from their stored column (a JSON array of fingerprints). */
static void read_retired(sqlite3_stmt *st, int col, diag_project_change *out) {
    const unsigned char *text = sqlite3_column_text(st, col);
    json_t *list = text ? json_loads((const char *)text, 0, NULL) : NULL;
    size_t i;
    json_t *fp;
    json_array_foreach(list, i, fp) {
        if (out->retired_count < DIAG_CHANGE_RETIRED_MAX && json_is_string(fp) &&
            json_string_length(fp) == DIAG_FINGERPRINT_LEN) {
            memcpy(out->retired[out->retired_count++], json_string_value(fp),
                   DIAG_FINGERPRINT_LEN + 1);
        }
    }
    json_decref(list);
}

static void read_change(sqlite3_stmt *st, void *item) {
    diag_project_change *out = item;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    out->at = sqlite3_column_int64(st, 1);
    tdbi_set_text(out->actor, sizeof out->actor, sqlite3_column_text(st, 2));
    const char *action = (const char *)sqlite3_column_text(st, 3);
    if (!diag_project_action_parse(action, &out->action))
        out->action = DIAG_PROJECT_REPLACE; /* written by this module only: never happens */
    out->has_before = read_snapshot(st, 4, &out->before);
    out->has_after = read_snapshot(st, 5, &out->after);
    read_retired(st, 6, out);
}

tdb_status tdbsq_project_history(tdb *db, const char *app_id, diag_project_change **out,
                                 size_t *count) {
    /* Every entry of the App ID whatever its case: those of a project that migration 4 deleted
     * as a duplicate in another case too. (A scan: the log holds configuration changes only.) */
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT id, at, actor, action, before, after, retired FROM "
                                    "config_log WHERE app_id = ? COLLATE NOCASE ORDER BY id",
                                    "reading the configuration log");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    void *log;
    size_t n;
    tdb_status status = tdbi_read_rows(db, st, sizeof(diag_project_change), read_change,
                                       "reading the configuration log", &log, &n);
    if (status == TDB_OK && n == 0) {
        tdbi_fail(db, "no configuration history for %s", app_id);
        status = TDB_NOT_FOUND;
    }
    if (status != TDB_OK) {
        free(log);
        return status;
    }
    *out = log;
    *count = n;
    return TDB_OK;
}

/* ---- Writing --------------------------------------------------------------------------------- */

static bool is_retired(const retired_set *set, const char *cert) {
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->rows[i].cert, cert) == 0)
            return true;
    return false;
}

static tdb_status insert_retired(tdb *db, const char *app_id, const char *cert, const char *source,
                                 int64_t now, retired_set *set) {
    unsigned char sealed[SEALED_CERT_LEN];
    if (!seal_cert(db, app_id, cert, sealed))
        return TDB_ERROR;
    char fp[9];
    td_fingerprint(cert, TD_CERT_LEN, fp);
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "INSERT INTO retired_certificates (app_id, cert, fingerprint, "
                                    "source, retired_at) VALUES (?, ?, ?, ?, ?)",
                                    "retiring a certificate");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, sealed, sizeof sealed, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, fp, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    tdb_status status = TDB_OK;
    if (sqlite3_step(st) != SQLITE_DONE) {
        status = tdbi_sql_fail(db, "retiring a certificate");
    } else if (set->count < sizeof set->rows / sizeof set->rows[0]) {
        retired_row *row = &set->rows[set->count++];
        row->id = sqlite3_last_insert_rowid(db->sql);
        memcpy(row->cert, cert, TD_CERT_LEN + 1);
    }
    tdbi_finalize(db, st);
    return status;
}

static tdb_status exec_with_app_id(tdb *db, const char *sql, const char *app_id, const char *what) {
    sqlite3_stmt *st = tdbi_prepare(db, sql, what);
    if (!st)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        status = tdbi_sql_fail(db, what);
    tdbi_finalize(db, st);
    return status;
}

/* A retired certificate that is current again is not retired any more. */
static tdb_status unretire_current(tdb *db, const diag_project *p, const retired_set *set) {
    for (size_t i = 0; i < set->count; i++) {
        if (!diag_project_is_current(p, set->rows[i].cert))
            continue;
        sqlite3_stmt *st = tdbi_prepare(db, "DELETE FROM retired_certificates WHERE id = ?",
                                        "updating retired certificates");
        if (!st)
            return TDB_ERROR;
        sqlite3_bind_int64(st, 1, set->rows[i].id);
        int rc = sqlite3_step(st);
        tdbi_finalize(db, st);
        if (rc != SQLITE_DONE)
            return tdbi_sql_fail(db, "updating retired certificates");
    }
    return TDB_OK;
}

static tdb_status upsert_row(tdb *db, const diag_project *p, int64_t now) {
    unsigned char sealed[2][SEALED_CERT_LEN];
    const diag_cert *slots[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2; i++)
        if (slots[i]->present && !seal_cert(db, p->app_id, slots[i]->certificate, sealed[i]))
            return TDB_ERROR;
    sqlite3_stmt *st = tdbi_prepare(
        db,
        "INSERT INTO projects (app_id, name, primary_cert, primary_enabled, secondary_cert, "
        "secondary_enabled, no_certificate, cohost_auth, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (app_id) DO UPDATE SET "
        "name = ?2, primary_cert = ?3, primary_enabled = ?4, secondary_cert = ?5, "
        "secondary_enabled = ?6, no_certificate = ?7, cohost_auth = ?8, updated_at = ?9",
        "writing a project");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, p->app_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
    for (int i = 0; i < 2; i++) {
        if (slots[i]->present)
            sqlite3_bind_blob(st, 3 + 2 * i, sealed[i], SEALED_CERT_LEN, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3 + 2 * i);
        sqlite3_bind_int(st, 4 + 2 * i, slots[i]->present && slots[i]->enabled);
    }
    sqlite3_bind_int(st, 7, p->no_certificate);
    sqlite3_bind_int(st, 8, p->cohost_auth);
    sqlite3_bind_int64(st, 9, now);
    tdb_status status =
        sqlite3_step(st) == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "writing a project");
    tdbi_finalize(db, st);
    return status;
}

/* The body of a put, inside its transaction. old is the previous configuration when *existed;
 * after receives the configuration as stored (with its retired list). */
static tdb_status put_locked(tdb *db, const diag_project *p, const char *actor, int64_t now,
                             diag_project *old, bool *existed, diag_project *after,
                             retired_set *set) {
    tdb_status status = load_row(db, p->app_id, old, NULL, NULL);
    if (status != TDB_OK && status != TDB_NOT_FOUND)
        return status;
    *existed = status == TDB_OK;
    /* One read of the retired certificates serves both the old configuration and the put. */
    status = load_retired(db, p->app_id, set);
    if (status == TDB_OK) {
        fill_retired(old, set);
        status = upsert_row(db, p, now);
    }
    json_t *retired_now = json_array();
    /* Old current certificates that are no longer current. */
    const diag_cert *old_slots[2] = {&old->primary, &old->secondary};
    const diag_cert *new_slots[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2 && *existed && status == TDB_OK; i++) {
        const char *cert = old_slots[i]->certificate;
        if (!old_slots[i]->present || diag_project_is_current(p, cert) || is_retired(set, cert))
            continue;
        status = insert_retired(db, p->app_id, cert, new_slots[i]->present ? "replaced" : "removed",
                                now, set);
        char fp[9];
        td_fingerprint(cert, TD_CERT_LEN, fp);
        json_array_append_new(retired_now, json_string(fp));
    }
    /* Retired certificates given in the configuration. */
    for (size_t i = 0; i < p->retired_count && status == TDB_OK; i++)
        if (strlen(p->retired[i]) == TD_CERT_LEN && !diag_project_is_current(p, p->retired[i]) &&
            !is_retired(set, p->retired[i]))
            status = insert_retired(db, p->app_id, p->retired[i], "configured", now, set);
    if (status == TDB_OK)
        status = unretire_current(db, p, set);
    if (status == TDB_OK) {
        status = exec_with_app_id(db,
                                  "DELETE FROM retired_certificates WHERE app_id = ?1 AND id NOT "
                                  "IN (SELECT id FROM retired_certificates WHERE app_id = ?1 "
                                  "ORDER BY id DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ")",
                                  p->app_id, "pruning retired certificates");
    }
    if (status == TDB_OK)
        status = load_project(db, p->app_id, after, NULL, NULL);
    if (status == TDB_OK) {
        status = append_log(db, p->app_id, now, actor,
                            *existed ? DIAG_PROJECT_REPLACE : DIAG_PROJECT_CREATE,
                            *existed ? old : NULL, after, retired_now);
    }
    json_decref(retired_now);
    return status;
}

tdb_status tdbi_project_put_in(tdb *db, const diag_project *p, const char *actor, int64_t now,
                               bool *created) {
    if (strlen(p->app_id) != TD_CERT_LEN) {
        tdbi_fail(db, "app_id: must be 32 hex characters");
        return TDB_INVALID;
    }
    /* Three configurations and a retired set: too big for a worker thread's stack. */
    struct {
        diag_project put, old, after;
        retired_set set;
    } *work = calloc(1, sizeof *work);
    if (!work) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    bool existed = false;
    /* The project's spelling, if it exists in another case (read under the write lock the
     * caller's transaction holds). */
    work->put = *p;
    char spelt[TD_CERT_LEN + 1];
    memcpy(work->put.app_id, stored_app_id(db, p->app_id, spelt), TD_CERT_LEN + 1);
    tdb_status status =
        put_locked(db, &work->put, actor, now, &work->old, &existed, &work->after, &work->set);
    if (created)
        *created = !existed;
    mbedtls_platform_zeroize(work, sizeof *work);
    free(work);
    return status;
}

tdb_status tdbsq_project_put(tdb *db, const diag_project *p, const char *actor, bool *created) {
    tdb_status status = tdbi_begin(db) ? TDB_OK : TDB_ERROR;
    if (status == TDB_OK) {
        status = tdbi_project_put_in(db, p, actor, (int64_t)time(NULL), created);
        if (status == TDB_OK && !tdbi_commit(db))
            status = TDB_ERROR;
        if (status != TDB_OK)
            tdbi_rollback(db);
    }
    return status;
}

tdb_status tdbsq_project_delete(tdb *db, const char *app_id, const char *actor) {
    diag_project *old = calloc(1, sizeof *old);
    if (!old) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    tdb_status status = tdbi_begin(db) ? TDB_OK : TDB_ERROR;
    char spelt[TD_CERT_LEN + 1];
    if (status == TDB_OK) {
        app_id = stored_app_id(db, app_id, spelt);
        status = load_project(db, app_id, old, NULL, NULL);
        /* A project whose certificates do not decrypt (tampered, damaged) can still be deleted,
         * so that it can be put again; its "before" is then unknown. */
        bool readable = status == TDB_OK;
        if (status == TDB_OK || status == TDB_DECRYPT) {
            status = exec_with_app_id(db, "DELETE FROM projects WHERE app_id = ?", app_id,
                                      "deleting a project");
        }
        if (status == TDB_OK) {
            json_t *none = json_array();
            status = append_log(db, app_id, (int64_t)time(NULL), actor, DIAG_PROJECT_DELETE,
                                readable ? old : NULL, NULL, none);
            json_decref(none);
        }
        if (status == TDB_OK && !tdbi_commit(db))
            status = TDB_ERROR;
        if (status != TDB_OK)
            tdbi_rollback(db);
    }
    mbedtls_platform_zeroize(old, sizeof *old);
    free(old);
    return status;
}

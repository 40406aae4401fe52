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
 * list of fields that differ, computed here once, so that `project history` and the HTTP
 * history endpoint just read it back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"

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
                  db->key_file);
        return TDB_DECRYPT;
    }
    out[TD_CERT_LEN] = '\0';
    return TDB_OK;
}

static void set_text(char *dst, size_t cap, const unsigned char *src) {
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* ---- Reading --------------------------------------------------------------------------------- */

/* Every retired certificate of app_id, oldest first. */
static tdb_status load_retired(tdb *db, const char *app_id, retired_set *out) {
    out->count = 0;
    sqlite3_stmt *st =
        tdbi_prepare(db, "SELECT id, cert FROM retired_certificates WHERE app_id = ? ORDER BY id",
                     "reading retired certificates");
    if (!st) {
        return TDB_ERROR;
    }
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    tdb_status status = TDB_OK;
    int rc;
    while (status == TDB_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        retired_row row = {.id = sqlite3_column_int64(st, 0)};
        status = open_cert(db, app_id, st, 1, row.cert);
        if (status != TDB_OK) {
            break;
        }
        if (out->count == sizeof out->rows / sizeof out->rows[0]) {
            /* More than ever kept (the put prunes): keep the newest. */
            memmove(out->rows, out->rows + 1, (out->count - 1) * sizeof out->rows[0]);
            out->count--;
        }
        out->rows[out->count++] = row;
    }
    if (status == TDB_OK && rc != SQLITE_DONE) {
        status = tdbi_sql_fail(db, "reading retired certificates");
    }
    sqlite3_finalize(st);
    return status;
}

/* The project row (certificates decrypted) without the retired list. */
static tdb_status load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                           int64_t *updated) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT name, primary_cert, primary_enabled, secondary_cert, "
                                    "secondary_enabled, no_certificate, cohost_auth, created_at, "
                                    "updated_at FROM projects WHERE app_id = ?",
                                    "reading a project");
    if (!st) {
        return TDB_ERROR;
    }
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
        set_text(out->app_id, sizeof out->app_id, (const unsigned char *)app_id);
        set_text(out->name, sizeof out->name, sqlite3_column_text(st, 0));
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
        if (created) {
            *created = sqlite3_column_int64(st, 7);
        }
        if (updated) {
            *updated = sqlite3_column_int64(st, 8);
        }
    }
    sqlite3_finalize(st);
    return status;
}

/* Copies the newest DIAG_RETIRED_MAX retired certificates into p->retired, most recent last. */
static void fill_retired(diag_project *p, const retired_set *set) {
    size_t first = set->count > DIAG_RETIRED_MAX ? set->count - DIAG_RETIRED_MAX : 0;
    p->retired_count = 0;
    for (size_t i = first; i < set->count; i++) {
        memcpy(p->retired[p->retired_count++], set->rows[i].cert, TD_CERT_LEN + 1);
    }
}

static tdb_status load_project(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                               int64_t *updated) {
    tdb_status status = load_row(db, app_id, out, created, updated);
    if (status != TDB_OK) {
        return status;
    }
    retired_set *set = malloc(sizeof *set);
    if (!set) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    status = load_retired(db, app_id, set);
    if (status == TDB_OK) {
        fill_retired(out, set);
    }
    free(set);
    return status;
}

tdb_status tdb_project_get(tdb *db, const char *app_id, diag_project *out) {
    tdb_status status = load_project(db, app_id, out, NULL, NULL);
    if (status != TDB_OK) {
        mbedtls_platform_zeroize(out, sizeof *out);
    }
    return status;
}

/* The fingerprint of the "primary" or "secondary" certificate in a log snapshot; NULL when the
 * snapshot has none. Borrowed from snap. */
static const char *snapshot_fingerprint(json_t *snap, const char *slot) {
    const char *fp = json_string_value(json_object_get(json_object_get(snap, slot), "fingerprint"));
    return fp && strlen(fp) == 8 ? fp : NULL;
}

/* The newest log snapshot ("after") of app_id, or NULL (message recorded). */
static json_t *latest_snapshot(tdb *db, const char *app_id) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT after FROM config_log WHERE app_id = ? ORDER BY id "
                                    "DESC LIMIT 1",
                                    "reading the configuration log");
    if (!st) {
        return NULL;
    }
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    json_t *snap = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snap = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    }
    sqlite3_finalize(st);
    if (!snap) {
        tdbi_fail(db, "project %s: no fingerprints stored: the key file %s is needed", app_id,
                  db->key_file);
    }
    return snap;
}

/* Sets the retired fingerprints of show (newest DIAG_RETIRED_MAX, most recent last, as
 * fill_retired keeps them) from their stored column. */
static tdb_status stored_retired(tdb *db, const char *app_id, json_t *show) {
    sqlite3_stmt *st = tdbi_prepare(
        db,
        "SELECT fingerprint FROM (SELECT id, fingerprint FROM retired_certificates WHERE app_id "
        "= ? ORDER BY id DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ") ORDER BY id",
        "reading retired certificates");
    if (!st) {
        return TDB_ERROR;
    }
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(list, json_string((const char *)sqlite3_column_text(st, 0)));
    }
    tdb_status status =
        rc == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "reading retired certificates");
    sqlite3_finalize(st);
    json_object_set_new(show, "retired_certificates", list);
    return status;
}

/* tdb_project_show on a connection without the key file: the same document, with nothing
 * decrypted. The row gives the name, the flags and which certificates exist; the fingerprints
 * of the current certificates are those of the log snapshot written in the same transaction as
 * the row (tdb_project_put logs the configuration it stored), the retired ones have their own
 * column. */
static tdb_status show_stored(tdb *db, const char *app_id, json_t **out) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT name, primary_cert IS NOT NULL, primary_enabled, "
                                    "secondary_cert IS NOT NULL, secondary_enabled, "
                                    "no_certificate, cohost_auth, created_at, updated_at FROM "
                                    "projects WHERE app_id = ?",
                                    "reading a project");
    if (!st) {
        return TDB_ERROR;
    }
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    diag_project p;
    memset(&p, 0, sizeof p);
    int64_t created = 0, updated = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        set_text(p.app_id, sizeof p.app_id, (const unsigned char *)app_id);
        set_text(p.name, sizeof p.name, sqlite3_column_text(st, 0));
        p.primary.present = sqlite3_column_int(st, 1) != 0;
        p.primary.enabled = sqlite3_column_int(st, 2) != 0;
        p.secondary.present = sqlite3_column_int(st, 3) != 0;
        p.secondary.enabled = sqlite3_column_int(st, 4) != 0;
        p.no_certificate = sqlite3_column_int(st, 5) != 0;
        p.cohost_auth = sqlite3_column_int(st, 6) != 0;
        created = sqlite3_column_int64(st, 7);
        updated = sqlite3_column_int64(st, 8);
    }
    tdb_status status = rc == SQLITE_ROW    ? TDB_OK
                        : rc == SQLITE_DONE ? TDB_NOT_FOUND
                                            : tdbi_sql_fail(db, "reading a project");
    sqlite3_finalize(st);
    if (status == TDB_NOT_FOUND) {
        tdbi_fail(db, "project %s not found", app_id);
    }
    if (status != TDB_OK) {
        return status;
    }
    json_t *snap = latest_snapshot(db, app_id);
    json_t *show = snap ? diag_project_to_json(&p) : NULL;
    static const char *const slots[] = {"primary", "secondary"};
    const bool present[] = {p.primary.present, p.secondary.present};
    status = !snap ? TDB_DECRYPT : show ? TDB_OK : TDB_ERROR;
    if (snap && !show) {
        tdbi_fail(db, "out of memory");
    }
    for (int i = 0; i < 2 && status == TDB_OK; i++) {
        const char *fp = snapshot_fingerprint(snap, slots[i]);
        if (present[i] && !fp) {
            tdbi_fail(db,
                      "project %s: no fingerprint stored for its %s certificate: the key "
                      "file %s is needed",
                      app_id, slots[i], db->key_file);
            status = TDB_DECRYPT;
        } else if (present[i]) {
            json_object_set_new(json_object_get(show, slots[i]), "fingerprint", json_string(fp));
        }
    }
    if (status == TDB_OK) {
        status = stored_retired(db, app_id, show);
    }
    json_decref(snap);
    if (status != TDB_OK) {
        json_decref(show);
        return status;
    }
    json_object_set_new(show, "created_at", json_integer(created));
    json_object_set_new(show, "updated_at", json_integer(updated));
    *out = show;
    return TDB_OK;
}

tdb_status tdb_project_show(tdb *db, const char *app_id, json_t **out) {
    if (!db->has_key) {
        return show_stored(db, app_id, out);
    }
    diag_project *p = malloc(sizeof *p);
    if (!p) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    int64_t created = 0, updated = 0;
    tdb_status status = load_project(db, app_id, p, &created, &updated);
    if (status == TDB_OK) {
        *out = diag_project_to_json(p);
        if (!*out) {
            tdbi_fail(db, "out of memory");
            status = TDB_ERROR;
        } else {
            json_object_set_new(*out, "created_at", json_integer(created));
            json_object_set_new(*out, "updated_at", json_integer(updated));
        }
    }
    mbedtls_platform_zeroize(p, sizeof *p);
    free(p);
    return status;
}

tdb_status tdb_project_list(tdb *db, json_t **out) {
    sqlite3_stmt *st =
        tdbi_prepare(db, "SELECT app_id FROM projects ORDER BY app_id", "listing projects");
    if (!st) {
        return TDB_ERROR;
    }
    json_t *ids = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(ids, json_string((const char *)sqlite3_column_text(st, 0)));
    }
    tdb_status status = rc == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "listing projects");
    sqlite3_finalize(st);
    json_t *list = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        json_t *one = NULL;
        if (status != TDB_OK) {
            break;
        }
        status = tdb_project_show(db, json_string_value(id), &one);
        if (status == TDB_NOT_FOUND) {
            status = TDB_OK; /* deleted by another connection meanwhile */
        } else if (status == TDB_OK) {
            json_array_append_new(list, one);
        }
    }
    json_decref(ids);
    if (status != TDB_OK) {
        json_decref(list);
        return status;
    }
    *out = list;
    return TDB_OK;
}

/* ---- The log --------------------------------------------------------------------------------- */

static json_t *cert_json(const diag_cert *c) {
    if (!c->present) {
        return json_null();
    }
    char fp[9];
    td_fingerprint(c->certificate, strlen(c->certificate), fp);
    return json_pack("{s:s, s:b}", "fingerprint", fp, "enabled", c->enabled);
}

static json_t *retired_json(const diag_project *p) {
    json_t *list = json_array();
    for (size_t i = 0; i < p->retired_count; i++) {
        char fp[9];
        td_fingerprint(p->retired[i], strlen(p->retired[i]), fp);
        json_array_append_new(list, json_string(fp));
    }
    return list;
}

/* What the log keeps of a configuration: everything but the certificates themselves. */
static json_t *snapshot(const diag_project *p) {
    if (!p) {
        return json_null();
    }
    return json_pack("{s:o, s:s, s:b, s:b, s:o, s:o, s:o}", "name",
                     tdbi_json_text(p->name, strlen(p->name)), "mode", diag_certificate_mode(p),
                     "no_certificate", p->no_certificate, "cohost_auth", p->cohost_auth, "primary",
                     cert_json(&p->primary), "secondary", cert_json(&p->secondary),
                     "retired_certificates", retired_json(p));
}

/* snap[key] or snap[key][sub]; null when absent. Borrowed. */
static json_t *snapshot_field(json_t *snap, const char *key, const char *sub) {
    json_t *v = json_object_get(snap, key);
    if (v && sub) {
        v = json_object_get(v, sub);
    }
    return v ? v : json_null();
}

/* The fields that differ between two snapshots (either may be null). */
static json_t *diff_snapshots(json_t *before, json_t *after) {
    static const struct {
        const char *field, *key, *sub;
    } fields[] = {
        {"mode", "mode", NULL},
        {"primary.fingerprint", "primary", "fingerprint"},
        {"primary.enabled", "primary", "enabled"},
        {"secondary.fingerprint", "secondary", "fingerprint"},
        {"secondary.enabled", "secondary", "enabled"},
        {"no_certificate", "no_certificate", NULL},
        {"cohost_auth", "cohost_auth", NULL},
        {"name", "name", NULL},
        {"retired_certificates", "retired_certificates", NULL},
    };
    json_t *changes = json_array();
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *from = snapshot_field(before, fields[i].key, fields[i].sub);
        json_t *to = snapshot_field(after, fields[i].key, fields[i].sub);
        /* Created or deleted: "no retired certificates" is not a change worth a line. */
        bool both_empty = (json_is_null(from) || json_array_size(from) == 0) &&
                          (json_is_null(to) || json_array_size(to) == 0) &&
                          (json_is_array(from) || json_is_array(to));
        if (!json_equal(from, to) && !both_empty) {
            json_array_append_new(changes, json_pack("{s:s, s:O, s:O}", "field", fields[i].field,
                                                     "from", from, "to", to));
        }
    }
    return changes;
}

static tdb_status append_log(tdb *db, const char *app_id, int64_t now, const char *actor,
                             const char *action, const diag_project *before,
                             const diag_project *after, json_t *retired) {
    json_t *b = snapshot(before), *a = snapshot(after);
    json_t *changes = diff_snapshots(b, a);
    char *bs = json_is_null(b) ? NULL : json_dumps(b, JSON_COMPACT);
    char *as = json_is_null(a) ? NULL : json_dumps(a, JSON_COMPACT);
    char *cs = json_dumps(changes, JSON_COMPACT);
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
        sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, bs, -1, SQLITE_STATIC); /* NULL binds SQL NULL */
        sqlite3_bind_text(st, 6, as, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, cs, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, rs, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            status = tdbi_sql_fail(db, "writing the configuration log");
        }
    }
    sqlite3_finalize(st);
    free(bs);
    free(as);
    free(cs);
    free(rs);
    json_decref(b);
    json_decref(a);
    json_decref(changes);
    return status;
}

static json_t *parse_or_null(const unsigned char *text) {
    json_t *v = text ? json_loads((const char *)text, 0, NULL) : NULL;
    return v ? v : json_null();
}

tdb_status tdb_project_history(tdb *db, const char *app_id, json_t **out) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT id, at, actor, action, before, after, changes, "
                                    "retired FROM config_log WHERE app_id = ? ORDER BY id",
                                    "reading the configuration log");
    if (!st) {
        return TDB_ERROR;
    }
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *actor = (const char *)sqlite3_column_text(st, 2);
        json_t *entry = json_pack("{s:I, s:I, s:o, s:s, s:o, s:o, s:o, s:o}", "id",
                                  (json_int_t)sqlite3_column_int64(st, 0), "at",
                                  (json_int_t)sqlite3_column_int64(st, 1), "actor",
                                  tdbi_json_text(actor ? actor : "", actor ? strlen(actor) : 0),
                                  "action", (const char *)sqlite3_column_text(st, 3), "before",
                                  parse_or_null(sqlite3_column_text(st, 4)), "after",
                                  parse_or_null(sqlite3_column_text(st, 5)), "changes",
                                  parse_or_null(sqlite3_column_text(st, 6)), "retired",
                                  parse_or_null(sqlite3_column_text(st, 7)));
        if (entry) {
            json_array_append_new(list, entry);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return tdbi_sql_fail(db, "reading the configuration log");
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        tdbi_fail(db, "no configuration history for %s", app_id);
        return TDB_NOT_FOUND;
    }
    *out = list;
    return TDB_OK;
}

/* ---- Writing --------------------------------------------------------------------------------- */

static bool is_current(const diag_project *p, const char *cert) {
    return (p->primary.present && strcmp(p->primary.certificate, cert) == 0) ||
           (p->secondary.present && strcmp(p->secondary.certificate, cert) == 0);
}

static bool is_retired(const retired_set *set, const char *cert) {
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->rows[i].cert, cert) == 0) {
            return true;
        }
    }
    return false;
}

static tdb_status insert_retired(tdb *db, const char *app_id, const char *cert, const char *source,
                                 int64_t now, retired_set *set) {
    unsigned char sealed[SEALED_CERT_LEN];
    if (!seal_cert(db, app_id, cert, sealed)) {
        return TDB_ERROR;
    }
    char fp[9];
    td_fingerprint(cert, TD_CERT_LEN, fp);
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "INSERT INTO retired_certificates (app_id, cert, fingerprint, "
                                    "source, retired_at) VALUES (?, ?, ?, ?, ?)",
                                    "retiring a certificate");
    if (!st) {
        return TDB_ERROR;
    }
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
    sqlite3_finalize(st);
    return status;
}

static tdb_status exec_with_app_id(tdb *db, const char *sql, const char *app_id, const char *what) {
    sqlite3_stmt *st = tdbi_prepare(db, sql, what);
    if (!st) {
        return TDB_ERROR;
    }
    tdb_status status = TDB_OK;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        status = tdbi_sql_fail(db, what);
    }
    sqlite3_finalize(st);
    return status;
}

/* A retired certificate that is current again is not retired any more. */
static tdb_status unretire_current(tdb *db, const diag_project *p, const retired_set *set) {
    for (size_t i = 0; i < set->count; i++) {
        if (!is_current(p, set->rows[i].cert)) {
            continue;
        }
        sqlite3_stmt *st = tdbi_prepare(db, "DELETE FROM retired_certificates WHERE id = ?",
                                        "updating retired certificates");
        if (!st) {
            return TDB_ERROR;
        }
        sqlite3_bind_int64(st, 1, set->rows[i].id);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            return tdbi_sql_fail(db, "updating retired certificates");
        }
    }
    return TDB_OK;
}

static tdb_status upsert_row(tdb *db, const diag_project *p, int64_t now) {
    unsigned char sealed[2][SEALED_CERT_LEN];
    const diag_cert *slots[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2; i++) {
        if (slots[i]->present && !seal_cert(db, p->app_id, slots[i]->certificate, sealed[i])) {
            return TDB_ERROR;
        }
    }
    sqlite3_stmt *st = tdbi_prepare(
        db,
        "INSERT INTO projects (app_id, name, primary_cert, primary_enabled, secondary_cert, "
        "secondary_enabled, no_certificate, cohost_auth, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (app_id) DO UPDATE SET "
        "name = ?2, primary_cert = ?3, primary_enabled = ?4, secondary_cert = ?5, "
        "secondary_enabled = ?6, no_certificate = ?7, cohost_auth = ?8, updated_at = ?9",
        "writing a project");
    if (!st) {
        return TDB_ERROR;
    }
    sqlite3_bind_text(st, 1, p->app_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
    for (int i = 0; i < 2; i++) {
        if (slots[i]->present) {
            sqlite3_bind_blob(st, 3 + 2 * i, sealed[i], SEALED_CERT_LEN, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 3 + 2 * i);
        }
        sqlite3_bind_int(st, 4 + 2 * i, slots[i]->present && slots[i]->enabled);
    }
    sqlite3_bind_int(st, 7, p->no_certificate);
    sqlite3_bind_int(st, 8, p->cohost_auth);
    sqlite3_bind_int64(st, 9, now);
    tdb_status status =
        sqlite3_step(st) == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "writing a project");
    sqlite3_finalize(st);
    return status;
}

/* The body of a put, inside its transaction. old is the previous configuration when *existed;
 * after receives the configuration as stored (with its retired list). */
static tdb_status put_locked(tdb *db, const diag_project *p, const char *actor, int64_t now,
                             diag_project *old, bool *existed, diag_project *after,
                             retired_set *set) {
    tdb_status status = load_row(db, p->app_id, old, NULL, NULL);
    if (status != TDB_OK && status != TDB_NOT_FOUND) {
        return status;
    }
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
        if (!old_slots[i]->present || is_current(p, cert) || is_retired(set, cert)) {
            continue;
        }
        status = insert_retired(db, p->app_id, cert, new_slots[i]->present ? "replaced" : "removed",
                                now, set);
        char fp[9];
        td_fingerprint(cert, TD_CERT_LEN, fp);
        json_array_append_new(retired_now, json_string(fp));
    }
    /* Retired certificates given in the configuration. */
    for (size_t i = 0; i < p->retired_count && status == TDB_OK; i++) {
        if (strlen(p->retired[i]) == TD_CERT_LEN && !is_current(p, p->retired[i]) &&
            !is_retired(set, p->retired[i])) {
            status = insert_retired(db, p->app_id, p->retired[i], "configured", now, set);
        }
    }
    if (status == TDB_OK) {
        status = unretire_current(db, p, set);
    }
    if (status == TDB_OK) {
        status = exec_with_app_id(db,
                                  "DELETE FROM retired_certificates WHERE app_id = ?1 AND id NOT "
                                  "IN (SELECT id FROM retired_certificates WHERE app_id = ?1 "
                                  "ORDER BY id DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ")",
                                  p->app_id, "pruning retired certificates");
    }
    if (status == TDB_OK) {
        status = load_project(db, p->app_id, after, NULL, NULL);
    }
    if (status == TDB_OK) {
        status = append_log(db, p->app_id, now, actor, *existed ? "replace" : "create",
                            *existed ? old : NULL, after, retired_now);
    }
    json_decref(retired_now);
    return status;
}

tdb_status tdb_project_put(tdb *db, const diag_project *p, const char *actor, bool *created) {
    if (strlen(p->app_id) != TD_CERT_LEN) {
        tdbi_fail(db, "app_id: must be 32 hex characters");
        return TDB_INVALID;
    }
    /* Three configurations and a retired set: too big for a worker thread's stack. */
    struct {
        diag_project old, after;
        retired_set set;
    } *work = calloc(1, sizeof *work);
    if (!work) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    bool existed = false;
    tdb_status status = tdbi_begin(db) ? TDB_OK : TDB_ERROR;
    if (status == TDB_OK) {
        status = put_locked(db, p, actor, (int64_t)time(NULL), &work->old, &existed, &work->after,
                            &work->set);
        if (status == TDB_OK && !tdbi_commit(db)) {
            status = TDB_ERROR;
        }
        if (status != TDB_OK) {
            tdbi_rollback(db);
        }
    }
    if (created) {
        *created = !existed;
    }
    mbedtls_platform_zeroize(work, sizeof *work);
    free(work);
    return status;
}

tdb_status tdb_project_delete(tdb *db, const char *app_id, const char *actor) {
    diag_project *old = calloc(1, sizeof *old);
    if (!old) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    tdb_status status = tdbi_begin(db) ? TDB_OK : TDB_ERROR;
    if (status == TDB_OK) {
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
            status = append_log(db, app_id, (int64_t)time(NULL), actor, "delete",
                                readable ? old : NULL, NULL, none);
            json_decref(none);
        }
        if (status == TDB_OK && !tdbi_commit(db)) {
            status = TDB_ERROR;
        }
        if (status != TDB_OK) {
            tdbi_rollback(db);
        }
    }
    mbedtls_platform_zeroize(old, sizeof *old);
    free(old);
    return status;
}

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
 * The log's JSON (what a change stores and how history reads it) is built as in db_project.c;
 * it is repeated here rather than shared because db_project.c's helpers take SQLite statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_pg.h"

#define SEALED_CERT_LEN (TD_CERT_LEN + TDBI_SEALED_OVERHEAD)

typedef struct {
    int64_t id;
    char cert[TD_CERT_LEN + 1];
} retired_row;

typedef struct {
    size_t count;
    retired_row rows[DIAG_RETIRED_MAX * 2 + 2];
} retired_set;

/* ---- Sealing ------------------------------------------------------------------------------- */

static bool seal_cert(tdb *db, const char *app_id, const char *cert,
                      unsigned char out[SEALED_CERT_LEN]) {
    if (strlen(cert) != TD_CERT_LEN || !tdbi_seal(db, app_id, cert, TD_CERT_LEN, out)) {
        tdbi_fail(db, "cannot encrypt a certificate of project %s", app_id);
        return false;
    }
    return true;
}

static tdb_status open_cert(tdb *db, const char *app_id, const PGresult *r, int row, int col,
                            char out[TD_CERT_LEN + 1]) {
    int len = PQgetlength(r, row, col);
    if (len != SEALED_CERT_LEN ||
        !tdbi_open_sealed(db, app_id, (const unsigned char *)PQgetvalue(r, row, col), (size_t)len,
                          (unsigned char *)out)) {
        tdbi_fail(db, "cannot decrypt certificates of project %s: wrong key file? (%s)", app_id,
                  db->key_name);
        return TDB_DECRYPT;
    }
    out[TD_CERT_LEN] = '\0';
    return TDB_OK;
}

/* The stored spelling of app_id (into buf) when a project's App ID equals it ignoring case;
 * else app_id itself, also when the query fails (the caller's own query then reports). */
static const char *stored_app_id(tdb *db, const char *app_id, char buf[TD_CERT_LEN + 1]) {
    if (strlen(app_id) != TD_CERT_LEN)
        return app_id;
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(db, "finding a project",
                            "SELECT app_id FROM projects WHERE lower(app_id) = lower($1)", &p);
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

static tdb_status load_retired(tdb *db, const char *app_id, retired_set *out) {
    out->count = 0;
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(db, "reading retired certificates",
                            "SELECT id, cert FROM retired_certificates WHERE app_id = $1 ORDER BY "
                            "id",
                            &p);
    if (!r)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    int n = PQntuples(r);
    for (int i = 0; i < n && status == TDB_OK; i++) {
        retired_row row = {.id = tdbpg_i64(r, i, 0)};
        status = open_cert(db, app_id, r, i, 1, row.cert);
        if (status != TDB_OK)
            break;
        if (out->count == sizeof out->rows / sizeof out->rows[0]) {
            memmove(out->rows, out->rows + 1, (out->count - 1) * sizeof out->rows[0]);
            out->count--;
        }
        out->rows[out->count++] = row;
        explicit_bzero(&row, sizeof row);
    }
    PQclear(r);
    return status;
}

static tdb_status load_row(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                           int64_t *updated) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(db, "reading a project",
                            "SELECT name, primary_cert, primary_enabled, secondary_cert, "
                            "secondary_enabled, no_certificate, cohost_auth, created_at, "
                            "updated_at FROM projects WHERE app_id = $1",
                            &p);
    memset(out, 0, sizeof *out);
    if (!r)
        return TDB_ERROR;
    tdb_status status = TDB_OK;
    if (PQntuples(r) == 0) {
        tdbi_fail(db, "project %s not found", app_id);
        status = TDB_NOT_FOUND;
    } else {
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
    explicit_bzero(set, sizeof *set);
    free(set);
    return status;
}

tdb_status tdbpg_project_get(tdb *db, const char *app_id, diag_project *out) {
    tdb_status status = load_project(db, app_id, out, NULL, NULL);
    char spelt[TD_CERT_LEN + 1];
    const char *stored = status == TDB_NOT_FOUND ? stored_app_id(db, app_id, spelt) : app_id;
    if (stored != app_id)
        status = load_project(db, stored, out, NULL, NULL);
    if (status != TDB_OK)
        explicit_bzero(out, sizeof *out);
    return status;
}

/* The newest log snapshot ("after") of app_id into out; TDB_DECRYPT when there is none. */
static tdb_status latest_snapshot(tdb *db, const char *app_id, diag_project_shown *out) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(db, "reading the configuration log",
                            /* lower(): the index config_log_by_app; app_id: this spelling */
                            "SELECT after FROM config_log WHERE lower(app_id) = lower($1) AND "
                            "app_id = $1 ORDER BY id DESC LIMIT 1",
                            &p);
    if (!r)
        return TDB_ERROR;
    json_t *snap =
        PQntuples(r) == 1 && !tdbpg_null(r, 0, 0) ? json_loads(tdbpg_text(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    bool ok = snap && diag_project_snapshot_from_json(snap, out);
    json_decref(snap);
    if (!ok) {
        tdbi_fail(db, "project %s: no fingerprints stored: the key file %s is needed", app_id,
                  db->key_name);
        return TDB_DECRYPT;
    }
    return TDB_OK;
}

static tdb_status stored_retired(tdb *db, const char *app_id, diag_project_shown *out) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(
        db, "reading retired certificates",
        "SELECT fingerprint FROM (SELECT id, fingerprint FROM retired_certificates WHERE app_id "
        "= $1 ORDER BY id DESC LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ") r ORDER BY id",
        &p);
    if (!r)
        return TDB_ERROR;
    out->retired_count = 0;
    for (int i = 0; i < PQntuples(r) && out->retired_count < DIAG_RETIRED_MAX; i++)
        tdbi_set_text(out->retired[out->retired_count++], sizeof out->retired[0],
                      (const unsigned char *)tdbpg_text(r, i, 0));
    PQclear(r);
    return TDB_OK;
}

static tdb_status stored_row(tdb *db, const char *app_id, diag_project_shown *out) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(db, "reading a project",
                            "SELECT name, primary_cert IS NOT NULL, primary_enabled, "
                            "secondary_cert IS NOT NULL, secondary_enabled, no_certificate, "
                            "cohost_auth, created_at, updated_at FROM projects WHERE app_id = $1",
                            &p);
    memset(out, 0, sizeof *out);
    if (!r)
        return TDB_ERROR;
    tdb_status status = PQntuples(r) == 1 ? TDB_OK : TDB_NOT_FOUND;
    if (status == TDB_OK) {
        tdbi_set_text(out->app_id, sizeof out->app_id, (const unsigned char *)app_id);
        tdbi_set_text(out->name, sizeof out->name, (const unsigned char *)tdbpg_text(r, 0, 0));
        out->primary.present = tdbpg_i64(r, 0, 1) != 0;
        out->primary.enabled = tdbpg_i64(r, 0, 2) != 0;
        out->secondary.present = tdbpg_i64(r, 0, 3) != 0;
        out->secondary.enabled = tdbpg_i64(r, 0, 4) != 0;
        out->no_certificate = tdbpg_i64(r, 0, 5) != 0;
        out->cohost_auth = tdbpg_i64(r, 0, 6) != 0;
        out->has_times = true;
        out->created_at = tdbpg_i64(r, 0, 7);
        out->updated_at = tdbpg_i64(r, 0, 8);
    } else {
        tdbi_fail(db, "project %s not found", app_id);
    }
    PQclear(r);
    return status;
}

/* tdb_project_show without the key file: see db_project.c's show_stored. */
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

tdb_status tdbpg_project_show(tdb *db, const char *app_id, diag_project_shown *out) {
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
    explicit_bzero(p, sizeof *p);
    free(p);
    return status;
}

/* ---- The log ------------------------------------------------------------------------------- */

static tdb_status append_log(tdb *db, const char *app_id, int64_t now, const char *actor,
                             diag_project_action action, const diag_project *before,
                             const diag_project *after, json_t *retired) {
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
    tdb_status status = TDB_OK;
    if (!cs || !rs || (!bs && before) || (!as && after)) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    } else {
        tdbpg_params p = {0};
        tdbpg_p_text(&p, app_id);
        tdbpg_p_i64(&p, now);
        tdbpg_p_text(&p, actor && *actor ? actor : "unknown");
        tdbpg_p_text(&p, diag_project_action_name(action));
        tdbpg_p_text(&p, bs); /* NULL sends SQL NULL */
        tdbpg_p_text(&p, as);
        tdbpg_p_text(&p, cs);
        tdbpg_p_text(&p, rs);
        if (!tdbpg_do(db, "writing the configuration log",
                      "INSERT INTO config_log (app_id, at, actor, action, before, after, changes, "
                      "retired) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                      &p))
            status = TDB_ERROR;
    }
    free(bs);
    free(as);
    free(cs);
    free(rs);
    json_decref(bj);
    json_decref(aj);
    json_decref(changes);
    return status;
}

static bool read_snapshot(const PGresult *r, int row, int col, diag_project_shown *out) {
    json_t *snap = tdbpg_null(r, row, col) ? NULL : json_loads(tdbpg_text(r, row, col), 0, NULL);
    bool ok = snap && diag_project_snapshot_from_json(snap, out);
    json_decref(snap);
    return ok;
}

static void read_retired(const PGresult *r, int row, int col, diag_project_change *out) {
    json_t *list = tdbpg_null(r, row, col) ? NULL : json_loads(tdbpg_text(r, row, col), 0, NULL);
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

tdb_status tdbpg_project_history(tdb *db, const char *app_id, diag_project_change **out,
                                 size_t *count) {
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    PGresult *r = tdbpg_run(db, "reading the configuration log",
                            "SELECT id, at, actor, action, before, after, retired FROM config_log "
                            "WHERE lower(app_id) = lower($1) ORDER BY id",
                            &p);
    if (!r)
        return TDB_ERROR;
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        tdbi_fail(db, "no configuration history for %s", app_id);
        return TDB_NOT_FOUND;
    }
    diag_project_change *log = calloc((size_t)n, sizeof *log);
    if (!log) {
        PQclear(r);
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    for (int i = 0; i < n; i++) {
        diag_project_change *c = &log[i];
        c->id = tdbpg_i64(r, i, 0);
        c->at = tdbpg_i64(r, i, 1);
        tdbi_set_text(c->actor, sizeof c->actor, (const unsigned char *)tdbpg_text(r, i, 2));
        if (!diag_project_action_parse(tdbpg_text(r, i, 3), &c->action))
            c->action = DIAG_PROJECT_REPLACE;
        c->has_before = read_snapshot(r, i, 4, &c->before);
        c->has_after = read_snapshot(r, i, 5, &c->after);
        read_retired(r, i, 6, c);
    }
    PQclear(r);
    *out = log;
    *count = (size_t)n;
    return TDB_OK;
}

/* ---- Writing ------------------------------------------------------------------------------- */

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
    tdbpg_params p = {0};
    tdbpg_p_text(&p, app_id);
    tdbpg_p_blob(&p, sealed, sizeof sealed);
    tdbpg_p_text(&p, fp);
    tdbpg_p_text(&p, source);
    tdbpg_p_i64(&p, now);
    PGresult *r = tdbpg_run(db, "retiring a certificate",
                            "INSERT INTO retired_certificates (app_id, cert, fingerprint, source, "
                            "retired_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                            &p);
    if (!r)
        return TDB_ERROR;
    if (PQntuples(r) == 1 && set->count < sizeof set->rows / sizeof set->rows[0]) {
        retired_row *row = &set->rows[set->count++];
        row->id = tdbpg_i64(r, 0, 0);
        memcpy(row->cert, cert, TD_CERT_LEN + 1);
    }
    PQclear(r);
    return TDB_OK;
}

static tdb_status unretire_current(tdb *db, const diag_project *p, const retired_set *set) {
    for (size_t i = 0; i < set->count; i++) {
        if (!diag_project_is_current(p, set->rows[i].cert))
            continue;
        tdbpg_params q = {0};
        tdbpg_p_i64(&q, set->rows[i].id);
        if (!tdbpg_do(db, "updating retired certificates",
                      "DELETE FROM retired_certificates WHERE id = $1", &q))
            return TDB_ERROR;
    }
    return TDB_OK;
}

static tdb_status upsert_row(tdb *db, const diag_project *p, int64_t now) {
    unsigned char sealed[2][SEALED_CERT_LEN];
    const diag_cert *slots[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2; i++)
        if (slots[i]->present && !seal_cert(db, p->app_id, slots[i]->certificate, sealed[i]))
            return TDB_ERROR;
    tdbpg_params q = {0};
    tdbpg_p_text(&q, p->app_id);
    tdbpg_p_text(&q, p->name);
    for (int i = 0; i < 2; i++) {
        if (slots[i]->present)
            tdbpg_p_blob(&q, sealed[i], SEALED_CERT_LEN);
        else
            tdbpg_p_text(&q, NULL);
        tdbpg_p_text(&q, slots[i]->present && slots[i]->enabled ? "true" : "false");
    }
    tdbpg_p_text(&q, p->no_certificate ? "true" : "false");
    tdbpg_p_text(&q, p->cohost_auth ? "true" : "false");
    tdbpg_p_i64(&q, now);
    bool ok = tdbpg_do(
        db, "writing a project",
        "INSERT INTO projects (app_id, name, primary_cert, primary_enabled, secondary_cert, "
        "secondary_enabled, no_certificate, cohost_auth, created_at, updated_at) "
        "VALUES ($1, $2, $3::bytea, $4, $5::bytea, $6, $7, $8, $9, $9) ON CONFLICT (app_id) DO "
        "UPDATE SET name = $2, primary_cert = $3::bytea, primary_enabled = $4, secondary_cert = "
        "$5::bytea, secondary_enabled = $6, no_certificate = $7, cohost_auth = $8, "
        "updated_at = $9",
        &q);
    explicit_bzero(sealed, sizeof sealed);
    return ok ? TDB_OK : TDB_ERROR;
}

static tdb_status put_locked(tdb *db, const diag_project *p, const char *actor, int64_t now,
                             diag_project *old, bool *existed, diag_project *after,
                             retired_set *set) {
    tdb_status status = load_row(db, p->app_id, old, NULL, NULL);
    if (status != TDB_OK && status != TDB_NOT_FOUND)
        return status;
    *existed = status == TDB_OK;
    status = load_retired(db, p->app_id, set);
    if (status == TDB_OK) {
        fill_retired(old, set);
        status = upsert_row(db, p, now);
    }
    json_t *retired_now = json_array();
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
    for (size_t i = 0; i < p->retired_count && status == TDB_OK; i++)
        if (strlen(p->retired[i]) == TD_CERT_LEN && !diag_project_is_current(p, p->retired[i]) &&
            !is_retired(set, p->retired[i]))
            status = insert_retired(db, p->app_id, p->retired[i], "configured", now, set);
    if (status == TDB_OK)
        status = unretire_current(db, p, set);
    if (status == TDB_OK) {
        tdbpg_params q = {0};
        tdbpg_p_text(&q, p->app_id);
        if (!tdbpg_do(db, "pruning retired certificates",
                      "DELETE FROM retired_certificates WHERE app_id = $1 AND id NOT IN (SELECT "
                      "id FROM retired_certificates WHERE app_id = $1 ORDER BY id DESC "
                      "LIMIT " TDBI_STR(DIAG_RETIRED_MAX) ")",
                      &q))
            status = TDB_ERROR;
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

/* tdbi_project_put_in's PostgreSQL counterpart: a put inside the caller's configuration
 * transaction (tdbpg_begin(db, true)); the caller moves the version (tdbpg_bump) before it
 * commits -- once for a whole import batch. */
tdb_status tdbpg_project_put_in(tdb *db, const diag_project *p, const char *actor, int64_t now,
                                bool *created) {
    if (strlen(p->app_id) != TD_CERT_LEN) {
        tdbi_fail(db, "app_id: must be 32 hex characters");
        return TDB_INVALID;
    }
    struct {
        diag_project put, old, after;
        retired_set set;
    } *work = calloc(1, sizeof *work);
    if (!work) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    bool existed = false;
    work->put = *p;
    char spelt[TD_CERT_LEN + 1];
    memcpy(work->put.app_id, stored_app_id(db, p->app_id, spelt), TD_CERT_LEN + 1);
    tdb_status status =
        put_locked(db, &work->put, actor, now, &work->old, &existed, &work->after, &work->set);
    if (created)
        *created = !existed;
    explicit_bzero(work, sizeof *work);
    free(work);
    return status;
}

tdb_status tdbpg_project_put(tdb *db, const diag_project *p, const char *actor, bool *created) {
    if (!tdbpg_begin(db, true))
        return TDB_ERROR;
    tdb_status status = tdbpg_project_put_in(db, p, actor, (int64_t)time(NULL), created);
    if (status == TDB_OK && !tdbpg_bump(db))
        status = TDB_ERROR;
    if (status == TDB_OK && !tdbpg_commit(db))
        status = TDB_ERROR;
    if (status != TDB_OK)
        tdbpg_rollback(db);
    return status;
}

tdb_status tdbpg_project_delete(tdb *db, const char *app_id, const char *actor) {
    diag_project *old = calloc(1, sizeof *old);
    if (!old) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    tdb_status status = tdbpg_begin(db, true) ? TDB_OK : TDB_ERROR;
    char spelt[TD_CERT_LEN + 1];
    if (status == TDB_OK) {
        app_id = stored_app_id(db, app_id, spelt);
        status = load_project(db, app_id, old, NULL, NULL);
        bool readable = status == TDB_OK;
        if (status == TDB_OK || status == TDB_DECRYPT) {
            tdbpg_params q = {0};
            tdbpg_p_text(&q, app_id);
            status =
                tdbpg_do(db, "deleting a project", "DELETE FROM projects WHERE app_id = $1", &q)
                    ? TDB_OK
                    : TDB_ERROR;
        }
        if (status == TDB_OK) {
            json_t *none = json_array();
            status = append_log(db, app_id, (int64_t)time(NULL), actor, DIAG_PROJECT_DELETE,
                                readable ? old : NULL, NULL, none);
            json_decref(none);
        }
        if (status == TDB_OK && !tdbpg_bump(db))
            status = TDB_ERROR;
        if (status == TDB_OK && !tdbpg_commit(db))
            status = TDB_ERROR;
        if (status != TDB_OK)
            tdbpg_rollback(db);
    }
    explicit_bzero(old, sizeof *old);
    free(old);
    return status;
}

/* ---- The list, whole or a page at a time ---------------------------------------------------- */

static tdb_status show_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                            size_t *count, bool *more) {
    *out = NULL;
    *count = 0;
    *more = false;
    tdbpg_params q = {0};
    tdbpg_p_text(&q, after ? after : "");
    /* One more than asked tells whether more follow; NULL is "no limit". */
    if (limit)
        tdbpg_p_i64(&q, (int64_t)limit + 1);
    else
        tdbpg_p_text(&q, NULL);
    /* COLLATE "C": App IDs ordered by their bytes, as SQLite orders them. */
    PGresult *r = tdbpg_run(db, "listing projects",
                            "SELECT app_id FROM projects WHERE app_id COLLATE \"C\" > $1 ORDER BY "
                            "app_id COLLATE \"C\" LIMIT $2::bigint",
                            &q);
    if (!r)
        return TDB_ERROR;
    size_t n = (size_t)PQntuples(r);
    *more = limit && n > limit;
    if (*more)
        n = limit;
    diag_project_shown *list = NULL;
    tdb_status status = TDB_OK;
    if (n > 0 && !(list = calloc(n, sizeof *list))) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    }
    size_t shown = 0;
    for (size_t i = 0; i < n && status == TDB_OK; i++) {
        char app_id[TD_CERT_LEN + 1];
        tdbi_set_text(app_id, sizeof app_id, (const unsigned char *)tdbpg_text(r, (int)i, 0));
        status = tdbpg_project_show(db, app_id, &list[shown]);
        if (status == TDB_NOT_FOUND)
            status = TDB_OK; /* deleted by another connection meanwhile */
        else if (status == TDB_OK)
            shown++;
    }
    PQclear(r);
    if (status != TDB_OK) {
        free(list);
        *more = false;
        return status;
    }
    *out = list;
    *count = shown;
    return TDB_OK;
}

tdb_status tdbpg_project_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                              size_t *count, bool *more) {
    if (limit < 1 || limit > TDB_PAGE_MAX) {
        *out = NULL;
        *count = 0;
        *more = false;
        tdbi_fail(db, "limit: must be an integer in 1..%d", TDB_PAGE_MAX);
        return TDB_INVALID;
    }
    return show_page(db, after, limit, out, count, more);
}

tdb_status tdbpg_project_list(tdb *db, diag_project_shown **out, size_t *count) {
    bool more;
    return show_page(db, NULL, 0, out, count, &more);
}

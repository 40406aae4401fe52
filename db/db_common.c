/* db_common.c -- the rules of the store that do not depend on its database.
 *
 * Design
 * ------
 * Both stores (SQLite: db_project.c and its neighbours; PostgreSQL: db_pg_project.c and its
 * neighbours) keep the same projects with the same rules. Those rules live here, once, and reach
 * the database through a table of small operations each store fills with its SQL
 * (the row statements of tdbi_store_ops, db_internal.h): which certificates a put retires and why,
 * which retired ones become current again, the pruning to DIAG_RETIRED_MAX, how a project is read
 * (row, then its retired list), what a log entry stores (two snapshots, the changes, the
 * fingerprints retired: the JSON of the project library), how a show without the key file takes its
 * fingerprints from the log, and how the list is paged. A store only says how to run a
 * statement and how to read a column, so that a rule changed here changes in both.
 *
 * Transactions stay with the stores: SQLite's BEGIN IMMEDIATE and PostgreSQL's advisory lock
 * and version bump differ, and an import puts many projects in one of them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"

/* ---- Certificates -------------------------------------------------------------------------- */

static bool seal_cert(tdb *db, const char *app_id, const char *cert,
                      unsigned char out[TDBI_SEALED_CERT_LEN]) {
    if (strlen(cert) != TD_CERT_LEN || !tdbi_seal(db, app_id, cert, TD_CERT_LEN, out)) {
        tdbi_fail(db, "cannot encrypt a certificate of project %s", app_id);
        return false;
    }
    return true;
}

tdb_status tdbi_open_cert(tdb *db, const char *app_id, const void *sealed, size_t len,
                          char out[TD_CERT_LEN + 1]) {
    if (len != TDBI_SEALED_CERT_LEN ||
        !tdbi_open_sealed(db, app_id, sealed, len, (unsigned char *)out)) {
        tdbi_fail(db, "cannot decrypt certificates of project %s: wrong key file? (%s)", app_id,
                  db->key_name);
        return TDB_DECRYPT;
    }
    out[TD_CERT_LEN] = '\0';
    return TDB_OK;
}

/* ---- Reading ------------------------------------------------------------------------------- */

void tdbi_retired_keep(tdbi_retired_set *set, const tdbi_retired_row *row) {
    if (set->count == sizeof set->rows / sizeof set->rows[0]) {
        /* More than ever kept (the put prunes): keep the newest. */
        memmove(set->rows, set->rows + 1, (set->count - 1) * sizeof set->rows[0]);
        set->count--;
    }
    set->rows[set->count++] = *row;
}

/* Copies the newest DIAG_RETIRED_MAX retired certificates into p->retired, most recent last. */
static void fill_retired(diag_project *p, const tdbi_retired_set *set) {
    size_t first = set->count > DIAG_RETIRED_MAX ? set->count - DIAG_RETIRED_MAX : 0;
    p->retired_count = 0;
    for (size_t i = first; i < set->count; i++)
        memcpy(p->retired[p->retired_count++], set->rows[i].cert, TD_CERT_LEN + 1);
}

tdb_status tdbi_load_project(tdb *db, const char *app_id, diag_project *out, int64_t *created,
                             int64_t *updated) {
    bool retired;
    tdb_status status = db->ops->load_row(db, app_id, out, created, updated, &retired);
    if (status != TDB_OK || !retired)
        return status; /* out's retired list is whole (load_row filled it, or there is none) */
    tdbi_retired_set *set = malloc(sizeof *set);
    if (!set) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    status = db->ops->load_retired(db, app_id, set);
    if (status == TDB_OK)
        fill_retired(out, set);
    /* It held the retired certificates, decrypted: only the rows filled, not its 5 KB. */
    explicit_bzero(set->rows, set->count * sizeof set->rows[0]);
    free(set);
    return status;
}

tdb_status tdbi_project_get_with(tdb *db, const char *app_id, diag_project *out) {
    tdb_status status = tdbi_load_project(db, app_id, out, NULL, NULL);
    /* The App ID as stored only when the one given is not: the common read stays two
     * statements. */
    char spelt[TD_CERT_LEN + 1];
    const char *stored =
        status == TDB_NOT_FOUND ? db->ops->stored_app_id(db, app_id, spelt) : app_id;
    if (stored != app_id)
        status = tdbi_load_project(db, stored, out, NULL, NULL);
    if (status != TDB_OK)
        explicit_bzero(out, sizeof *out);
    return status;
}

/* The newest log snapshot ("after") of app_id into out. TDB_DECRYPT (message recorded) when
 * there is none to read: without the key file nothing else names the certificates. */
static tdb_status latest_snapshot(tdb *db, const char *app_id, diag_project_shown *out) {
    char *text = NULL;
    tdb_status status = db->ops->latest_after(db, app_id, &text);
    if (status != TDB_OK)
        return status;
    json_t *snap = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    bool ok = snap && diag_project_snapshot_from_json(snap, out);
    json_decref(snap);
    if (!ok) {
        tdbi_fail(db, "project %s: no fingerprints stored: the key file %s is needed", app_id,
                  db->key_name);
        return TDB_DECRYPT;
    }
    return TDB_OK;
}

/* tdb_project_show on a connection without the key file: the same answer, with nothing
 * decrypted. The row gives the name, the flags and which certificates exist; the fingerprints
 * of the current certificates are those of the log snapshot written in the same transaction as
 * the row (a put logs the configuration it stored), the retired ones have their own column. */
static tdb_status show_stored(tdb *db, const char *app_id, diag_project_shown *out) {
    tdb_status status = db->ops->stored_row(db, app_id, out);
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
        status = db->ops->stored_retired(db, app_id, out);
    return status;
}

tdb_status tdbi_project_show_with(tdb *db, const char *app_id, diag_project_shown *out) {
    char spelt[TD_CERT_LEN + 1];
    app_id = db->ops->stored_app_id(db, app_id, spelt);
    if (!db->has_key)
        return show_stored(db, app_id, out);
    diag_project *p = malloc(sizeof *p);
    if (!p) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    int64_t created = 0, updated = 0;
    tdb_status status = tdbi_load_project(db, app_id, p, &created, &updated);
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

/* The log stores each side as diag_project_snapshot_to_json and the changes between them
 * (diag_project_changes_to_json), so that a reader of the database needs no key to follow
 * them. */
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
    tdbi_change_row row = {
        .app_id = app_id,
        .at = now,
        .actor = actor && *actor ? actor : "unknown",
        .action = diag_project_action_name(action),
    };
    char *bs = bj && b ? json_dumps(bj, JSON_COMPACT) : NULL;
    char *as = aj && a ? json_dumps(aj, JSON_COMPACT) : NULL;
    char *cs = changes ? json_dumps(changes, JSON_COMPACT) : NULL;
    char *rs = json_dumps(retired, JSON_COMPACT);
    tdb_status status = TDB_OK;
    if (!cs || !rs || (!bs && before) || (!as && after)) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    } else {
        row.before = bs; /* NULL stores SQL NULL */
        row.after = as;
        row.changes = cs;
        row.retired = rs;
        status = db->ops->insert_log(db, &row);
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

/* A stored snapshot into *out; false (has no side) when it is NULL or unreadable. */
static bool read_snapshot(const char *text, diag_project_shown *out) {
    json_t *snap = text ? json_loads(text, 0, NULL) : NULL;
    bool ok = snap && diag_project_snapshot_from_json(snap, out);
    json_decref(snap);
    return ok;
}

/* The certificates a change retired, from their stored JSON array of fingerprints. */
static void read_retired(const char *text, diag_project_change *out) {
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
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

void tdbi_change_read(diag_project_change *out, int64_t id, int64_t at, const char *actor,
                      const char *action, const char *before, const char *after,
                      const char *retired) {
    memset(out, 0, sizeof *out);
    out->id = id;
    out->at = at;
    tdbi_set_text(out->actor, sizeof out->actor, (const unsigned char *)actor);
    if (!action || !diag_project_action_parse(action, &out->action))
        out->action = DIAG_PROJECT_REPLACE; /* written by the stores only: never happens */
    out->has_before = read_snapshot(before, &out->before);
    out->has_after = read_snapshot(after, &out->after);
    read_retired(retired, out);
}

tdb_status tdbi_project_history(tdb *db, const char *app_id, diag_project_change **out,
                                size_t *count) {
    diag_project_change *log = NULL;
    size_t n = 0;
    tdb_status status = db->ops->history_rows(db, app_id, &log, &n);
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

/* ---- Writing ------------------------------------------------------------------------------- */

static bool is_retired(const tdbi_retired_set *set, const char *cert) {
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->rows[i].cert, cert) == 0)
            return true;
    return false;
}

/* Retires cert (stored sealed, with its fingerprint) and adds it to set. */
static tdb_status insert_retired(tdb *db, const char *app_id, const char *cert, const char *source,
                                 int64_t now, tdbi_retired_set *set) {
    unsigned char sealed[TDBI_SEALED_CERT_LEN];
    if (!seal_cert(db, app_id, cert, sealed))
        return TDB_ERROR;
    char fp[DIAG_FINGERPRINT_LEN + 1];
    td_fingerprint(cert, TD_CERT_LEN, fp);
    int64_t id = 0;
    tdb_status status = db->ops->insert_retired(db, app_id, sealed, fp, source, now, &id);
    if (status == TDB_OK && set->count < sizeof set->rows / sizeof set->rows[0]) {
        tdbi_retired_row *row = &set->rows[set->count++];
        row->id = id;
        memcpy(row->cert, cert, TD_CERT_LEN + 1);
    }
    return status;
}

/* A retired certificate that is current again is not retired any more. */
static tdb_status unretire_current(tdb *db, const diag_project *p, const tdbi_retired_set *set) {
    tdb_status status = TDB_OK;
    for (size_t i = 0; i < set->count && status == TDB_OK; i++)
        if (diag_project_is_current(p, set->rows[i].cert))
            status = db->ops->unretire(db, set->rows[i].id);
    return status;
}

/* p's row with its certificates sealed. */
static tdb_status upsert_row(tdb *db, const diag_project *p, int64_t now) {
    unsigned char sealed[2][TDBI_SEALED_CERT_LEN] = {{0}};
    const diag_cert *slots[2] = {&p->primary, &p->secondary};
    for (int i = 0; i < 2; i++)
        if (slots[i]->present && !seal_cert(db, p->app_id, slots[i]->certificate, sealed[i]))
            return TDB_ERROR;
    return db->ops->upsert_row(db, p, (const unsigned char(*)[TDBI_SEALED_CERT_LEN])sealed, now);
}

/* The body of a put, inside its transaction. old is the previous configuration when *existed;
 * after receives the configuration as stored (with its retired list). */
static tdb_status put_locked(tdb *db, const diag_project *p, const char *actor, int64_t now,
                             diag_project *old, bool *existed, diag_project *after,
                             tdbi_retired_set *set) {
    bool retired; /* read anyway: the put needs the list as it is, not as a count says */
    tdb_status status = db->ops->load_row(db, p->app_id, old, NULL, NULL, &retired);
    if (status != TDB_OK && status != TDB_NOT_FOUND)
        return status;
    *existed = status == TDB_OK;
    /* One read of the retired certificates serves both the old configuration and the put. */
    status = db->ops->load_retired(db, p->app_id, set);
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
        char fp[DIAG_FINGERPRINT_LEN + 1];
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
    if (status == TDB_OK)
        status = db->ops->prune_retired(db, p->app_id);
    if (status == TDB_OK)
        status = tdbi_load_project(db, p->app_id, after, NULL, NULL);
    if (status == TDB_OK) {
        status = append_log(db, p->app_id, now, actor,
                            *existed ? DIAG_PROJECT_REPLACE : DIAG_PROJECT_CREATE,
                            *existed ? old : NULL, after, retired_now);
    }
    json_decref(retired_now);
    return status;
}

tdb_status tdbi_project_put_with(tdb *db, const diag_project *p, const char *actor, int64_t now,
                                 bool *created) {
    if (strlen(p->app_id) != TD_CERT_LEN) {
        tdbi_fail(db, "app_id: must be 32 hex characters");
        return TDB_INVALID;
    }
    /* Three configurations and a retired set: too big for a worker thread's stack. */
    struct {
        diag_project put, old, after;
        tdbi_retired_set set;
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
    memcpy(work->put.app_id, db->ops->stored_app_id(db, p->app_id, spelt), TD_CERT_LEN + 1);
    tdb_status status =
        put_locked(db, &work->put, actor, now, &work->old, &existed, &work->after, &work->set);
    if (created)
        *created = !existed;
    explicit_bzero(work, sizeof *work);
    free(work);
    return status;
}

tdb_status tdbi_project_put(tdb *db, const diag_project *p, const char *actor, bool *created) {
    if (!db->ops->write_begin(db))
        return TDB_ERROR;
    tdb_status status = tdbi_project_put_with(db, p, actor, (int64_t)time(NULL), created);
    if (status == TDB_OK && !db->ops->write_commit(db))
        status = TDB_ERROR;
    if (status != TDB_OK)
        db->ops->write_rollback(db);
    return status;
}

/* A delete inside its write transaction. */
static tdb_status delete_locked(tdb *db, const char *app_id, const char *actor) {
    diag_project *old = calloc(1, sizeof *old);
    if (!old) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    char spelt[TD_CERT_LEN + 1];
    app_id = db->ops->stored_app_id(db, app_id, spelt);
    tdb_status status = tdbi_load_project(db, app_id, old, NULL, NULL);
    /* A project whose certificates do not decrypt (tampered, damaged) can still be deleted, so
     * that it can be put again; its "before" is then unknown. */
    bool readable = status == TDB_OK;
    if (status == TDB_OK || status == TDB_DECRYPT)
        status = db->ops->delete_row(db, app_id);
    if (status == TDB_OK) {
        json_t *none = json_array();
        status = append_log(db, app_id, (int64_t)time(NULL), actor, DIAG_PROJECT_DELETE,
                            readable ? old : NULL, NULL, none);
        json_decref(none);
    }
    explicit_bzero(old, sizeof *old);
    free(old);
    return status;
}

tdb_status tdbi_project_delete(tdb *db, const char *app_id, const char *actor) {
    if (!db->ops->write_begin(db))
        return TDB_ERROR;
    tdb_status status = delete_locked(db, app_id, actor);
    if (status == TDB_OK && !db->ops->write_commit(db))
        status = TDB_ERROR;
    if (status != TDB_OK)
        db->ops->write_rollback(db);
    return status;
}

/* ---- API keys ------------------------------------------------------------------------------ */

bool tdbi_all_digits(const char *s) {
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A key's name: printable ASCII, not all digits (so that `apikey revoke ID|NAME` is
 * unambiguous); db_apikey.c says why. */
static bool valid_name(tdb *db, const char *name) {
    size_t len = strlen(name);
    if (len > TDB_APIKEY_NAME_MAX) {
        tdbi_fail(db, "name: at most %d characters", TDB_APIKEY_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e) {
            tdbi_fail(db, "name: printable ASCII without spaces only");
            return false;
        }
    }
    if (tdbi_all_digits(name)) {
        tdbi_fail(db, "name: must not be all digits (those are key ids)");
        return false;
    }
    return true;
}

tdb_status tdbi_apikey_create(tdb *db, tdb_role role, const char *name,
                              char key_out[TDB_APIKEY_LEN + 1], int64_t *id_out) {
    if (role != TDB_ROLE_ADMIN && role != TDB_ROLE_READER) {
        tdbi_fail(db, "role: must be admin or reader");
        return TDB_INVALID;
    }
    if (!name)
        name = "";
    if (*name && !valid_name(db, name))
        return TDB_INVALID;
    unsigned char secret[32], hash[TDBI_APIKEY_HASH_LEN];
    char key[TDB_APIKEY_LEN + 1];
    if (!tdbi_random(db, secret, sizeof secret)) {
        tdbi_fail(db, "cannot generate an API key: random generator failed");
        return TDB_ERROR;
    }
    memcpy(key, TDB_APIKEY_PREFIX, sizeof TDB_APIKEY_PREFIX - 1);
    td_hex(secret, sizeof secret, key + sizeof TDB_APIKEY_PREFIX - 1);
    td_sha256(key, TDB_APIKEY_LEN, hash);
    explicit_bzero(secret, sizeof secret);

    int64_t id = 0;
    tdb_status status =
        db->ops->write_begin(db) ? db->ops->apikey_insert(db, role, name, hash, &id) : TDB_ERROR;
    if (status == TDB_OK && !db->ops->write_commit(db))
        status = TDB_ERROR;
    if (status != TDB_OK) {
        db->ops->write_rollback(db);
        explicit_bzero(key, sizeof key);
        return status;
    }
    memcpy(key_out, key, sizeof key);
    explicit_bzero(key, sizeof key);
    if (id_out)
        *id_out = id;
    return TDB_OK;
}

tdb_status tdbi_apikey_revoke(tdb *db, const char *id_or_name) {
    /* Also accepts the key itself (a leaked key is revoked with what was leaked); it is then
     * matched by hash and never repeated in a message. */
    bool prefixed = strncmp(id_or_name, TDB_APIKEY_PREFIX, sizeof TDB_APIKEY_PREFIX - 1) == 0;
    tdbi_key_match m = {.by = TDBI_KEY_BY_NAME, .name = id_or_name};
    if (prefixed && strlen(id_or_name) == TDB_APIKEY_LEN) {
        m.by = TDBI_KEY_BY_HASH;
        td_sha256(id_or_name, TDB_APIKEY_LEN, m.hash);
    } else if (tdbi_all_digits(id_or_name)) {
        m.by = TDBI_KEY_BY_ID;
        m.id = strtoll(id_or_name, NULL, 10);
    }
    bool changed = false;
    tdb_status status = db->ops->apikey_revoke_rows(db, &m, (int64_t)time(NULL), &changed);
    if (status == TDB_OK && !changed) {
        /* A mistyped or truncated key is still (most of) a secret: never echo it either. */
        if (prefixed)
            tdbi_fail(db, "no active API key matches the key given");
        else
            tdbi_fail(db, "no active API key %s", id_or_name);
        status = TDB_NOT_FOUND;
    }
    return status;
}

bool tdbi_apikey_use_due(int64_t last_used, int64_t now) {
    /* last_used > now: the clock went back; record the use rather than wait for it. */
    return last_used < 0 || now - last_used >= TDB_APIKEY_USE_INTERVAL || last_used > now;
}

/* ---- The list, a page at a time ------------------------------------------------------------ */

/* A page from the App IDs that follow its start (n of them, asked for limit + 1 so that *more
 * can be told), each shown with tdb_project_show: a project deleted meanwhile by another
 * connection is left out. */
static tdb_status show_ids(tdb *db, const char (*ids)[TD_CERT_LEN + 1], size_t n, size_t limit,
                           diag_project_shown **out, size_t *count, bool *more) {
    *more = n > limit;
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
        status = tdb_project_show(db, ids[i], &list[shown]);
        if (status == TDB_NOT_FOUND)
            status = TDB_OK; /* deleted by another connection meanwhile */
        else if (status == TDB_OK)
            shown++;
    }
    if (status != TDB_OK) {
        free(list);
        *more = false;
        *out = NULL;
        *count = 0;
        return status;
    }
    *out = list;
    *count = shown;
    return TDB_OK;
}

/* The projects after `after` (NULL: from the first), at most limit (1..TDB_PAGE_MAX). */
static tdb_status show_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
                            size_t *count, bool *more) {
    *out = NULL;
    *count = 0;
    *more = false;
    char(*ids)[TD_CERT_LEN + 1] = NULL;
    size_t n = 0;
    /* One more than asked tells whether more follow. */
    tdb_status status = db->ops->project_ids(db, after ? after : "", limit + 1, &ids, &n);
    if (status == TDB_OK)
        status = show_ids(db, (const char(*)[TD_CERT_LEN + 1]) ids, n, limit, out, count, more);
    free(ids);
    return status;
}

tdb_status tdbi_project_page(tdb *db, const char *after, size_t limit, diag_project_shown **out,
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

/* ---- The diagnosis log's bounds -------------------------------------------------------------- */

int tdbi_log_make_room(tdb *db, int64_t max_rows, int64_t max_bytes, size_t n, tdbi_log_room *r) {
    int64_t lo = 0, hi = 0, bytes = 0;
    if (!db->ops->log_span(db, &lo, &hi))
        return -1;
    int64_t span = hi > 0 ? hi - lo + 1 : 0, excess = span + (int64_t)n - max_rows;
    if (excess > 0) {
        int64_t k = excess < TDBI_ROOM_CHUNK ? excess : TDBI_ROOM_CHUNK;
        int64_t deleted = db->ops->log_delete_below(db, lo + k);
        if (deleted < 0)
            return -1;
        r->trimmed += deleted;
        r->trimming = true;
        lo += k;
        span = span > k ? span - k : 0;
        if (excess > TDBI_ROOM_CHUNK)
            return 0;
    }
    if (!db->ops->log_used_bytes(db, span, &bytes))
        return -1;
    if (bytes <= max_bytes)
        return 1;
    r->trimming = true;
    int64_t deleted = db->ops->log_delete_below(db, lo + TDBI_ROOM_CHUNK);
    if (deleted < 0)
        return -1;
    r->trimmed += deleted;
    return 0; /* whether that made room is seen at the next batch */
}

tdbi_log_outcome tdbi_log_settle(size_t n, bool ok, int has_room, tdbi_log_room room) {
    tdbi_log_outcome o = {0};
    if (!ok)
        o.failed = n;
    else if (has_room > 0)
        o.written = n;
    else
        o.bound = n;
    if (ok)
        o.room = room;
    return o;
}

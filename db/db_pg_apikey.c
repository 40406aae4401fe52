/* db_pg_apikey.c -- API keys on PostgreSQL.
 *
 * Design
 * ------
 * The rules of db_apikey.c (read its design comment): only a key's SHA-256 is stored (bytea),
 * verification compares every active key's hash in constant time, names are validated the same
 * way (tdb_role_name and the name rules live there; this file repeats the small validation
 * rather than reach into it). A create or revoke is a configuration change: it runs under the
 * configuration writers' lock and moves the configuration version with a notification
 * (tdbpg_bump), so every node's key cache empties within the watcher's poll (a revoked key is
 * refused everywhere within a second). Recording a use never waits: the row is locked with
 * FOR UPDATE SKIP LOCKED in the same statement, so a key being written elsewhere skips the
 * record, and a use is not a configuration change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_pg.h"

/* Whether the last failure was a unique violation (an active key of that name exists). */
static bool unique_violation(tdb *db) {
    return strcmp(db->pg->sqlstate, "23505") == 0;
}

tdb_status tdbpg_apikey_insert(tdb *db, tdb_role role, const char *name,
                               const unsigned char hash[TDBI_APIKEY_HASH_LEN], int64_t *id) {
    char placeholder[2 * TDBI_APIKEY_HASH_LEN + 2];
    placeholder[0] = '#';
    td_hex(hash, TDBI_APIKEY_HASH_LEN, placeholder + 1);
    tdbpg_params p = {0};
    tdbpg_p_text(&p, *name ? name : placeholder);
    tdbpg_p_text(&p, tdb_role_name(role));
    tdbpg_p_blob(&p, hash, TDBI_APIKEY_HASH_LEN);
    tdbpg_p_i64(&p, (int64_t)time(NULL));
    PGresult *r = tdbpg_run(db, "creating an API key",
                            "INSERT INTO api_keys (name, role, hash, created_at) VALUES ($1, $2, "
                            "$3, $4) RETURNING id",
                            &p);
    if (!r && unique_violation(db)) {
        tdbi_fail(db, "name: an active API key named \"%s\" already exists", name);
        return TDB_INVALID;
    }
    if (!r)
        return TDB_ERROR;
    *id = PQntuples(r) == 1 ? tdbpg_i64(r, 0, 0) : 0;
    PQclear(r);
    if (*name)
        return TDB_OK;
    tdbpg_params q = {0};
    tdbpg_p_i64(&q, *id);
    if (tdbpg_do(db, "creating an API key", "UPDATE api_keys SET name = 'key-' || id WHERE id = $1",
                 &q))
        return TDB_OK;
    if (unique_violation(db)) {
        tdbi_fail(db, "name: an active API key named \"key-%lld\" already exists; give --name",
                  (long long)*id);
        return TDB_INVALID;
    }
    return TDB_ERROR;
}

/* Best effort, never waiting (see the top of the file); db's message is kept. */
static void record_use(tdb *db, int64_t id, int64_t now) {
    char saved[sizeof db->err];
    tdb_fault fault = db->fault;
    memcpy(saved, db->err, sizeof saved);
    tdbpg_params p = {0};
    tdbpg_p_i64(&p, now);
    tdbpg_p_i64(&p, id);
    tdbpg_p_i64(&p, TDB_APIKEY_USE_INTERVAL);
    tdbpg_do(db, "recording an API key's use",
             "UPDATE api_keys SET last_used_at = $1 WHERE id = (SELECT id FROM api_keys WHERE id = "
             "$2 AND (last_used_at IS NULL OR last_used_at <= $1::bigint - $3::bigint OR "
             "last_used_at > $1) FOR UPDATE SKIP LOCKED)",
             &p);
    memcpy(db->err, saved, sizeof saved);
    db->fault = fault;
}

tdb_role tdbpg_apikey_verify(tdb *db, const char *key, size_t len, char *name_out,
                             size_t name_cap) {
    unsigned char hash[TDBI_APIKEY_HASH_LEN];
    td_sha256(key, len, hash);
    if (name_out && name_cap)
        name_out[0] = '\0';
    PGresult *r = tdbpg_run(db, "verifying an API key",
                            "SELECT hash, role, name, id, last_used_at FROM api_keys WHERE "
                            "revoked_at IS NULL",
                            NULL);
    if (!r)
        return TDB_ROLE_ERROR;
    tdb_role role = TDB_ROLE_NONE;
    int64_t id = 0, last_used = -1;
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetlength(r, i, 0) != TDBI_APIKEY_HASH_LEN ||
            !td_ct_equal((const unsigned char *)PQgetvalue(r, i, 0), hash, TDBI_APIKEY_HASH_LEN))
            continue;
        tdb_role_parse(tdbpg_text(r, i, 1), &role);
        if (name_out && name_cap)
            snprintf(name_out, name_cap, "%s", tdbpg_text(r, i, 2));
        id = tdbpg_i64(r, i, 3);
        if (!tdbpg_null(r, i, 4))
            last_used = tdbpg_i64(r, i, 4);
    }
    PQclear(r);
    int64_t now = (int64_t)time(NULL);
    if (role != TDB_ROLE_NONE && tdbi_apikey_use_due(last_used, now))
        record_use(db, id, now);
    return role;
}

static void read_key(const PGresult *r, int i, void *item) {
    diag_apikey_shown *k = item;
    k->id = tdbpg_i64(r, i, 0);
    tdbi_set_text(k->name, sizeof k->name, (const unsigned char *)tdbpg_text(r, i, 1));
    tdbi_set_text(k->role, sizeof k->role, (const unsigned char *)tdbpg_text(r, i, 2));
    k->created_at = tdbpg_i64(r, i, 3);
    k->revoked = !tdbpg_null(r, i, 4);
    k->revoked_at = tdbpg_i64(r, i, 4);
    k->used = !tdbpg_null(r, i, 5);
    k->last_used_at = tdbpg_i64(r, i, 5);
}

tdb_status tdbpg_apikey_list(tdb *db, diag_apikey_shown **out, size_t *count) {
    *out = NULL;
    *count = 0;
    PGresult *r = tdbpg_run(db, "listing API keys",
                            "SELECT id, name, role, created_at, revoked_at, last_used_at FROM "
                            "api_keys ORDER BY id",
                            NULL);
    void *rows;
    tdb_status status = tdbpg_read_rows(db, r, sizeof **out, read_key, &rows, count);
    *out = rows;
    return status;
}

tdb_status tdbpg_apikey_revoke_rows(tdb *db, const tdbi_key_match *m, int64_t now, bool *changed) {
    static const char *const sql[] = {
        [TDBI_KEY_BY_HASH] = "UPDATE api_keys SET revoked_at = $1 WHERE hash = $2 AND "
                             "revoked_at IS NULL",
        [TDBI_KEY_BY_ID] = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2::bigint AND "
                           "revoked_at IS NULL",
        [TDBI_KEY_BY_NAME] = "UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND "
                             "revoked_at IS NULL",
    };
    tdbpg_params p = {0};
    tdbpg_p_i64(&p, now);
    if (m->by == TDBI_KEY_BY_HASH)
        tdbpg_p_blob(&p, m->hash, TDBI_APIKEY_HASH_LEN);
    else if (m->by == TDBI_KEY_BY_ID)
        tdbpg_p_i64(&p, m->id);
    else
        tdbpg_p_text(&p, m->name);
    if (!tdbpg_begin(db, true))
        return TDB_ERROR;
    PGresult *r = tdbpg_run(db, "revoking an API key", sql[m->by], &p);
    *changed = r && atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    /* The version moves only when a key was revoked. */
    if (!r || !*changed || !tdbpg_bump(db) || !tdbpg_commit(db)) {
        tdbpg_rollback(db);
        return r && !*changed ? TDB_OK : TDB_ERROR;
    }
    return TDB_OK;
}

/* db_apikey.c -- API keys: random secrets of which only a SHA-256 is kept.
 *
 * Design
 * ------
 * A key is "tdk_" followed by 64 hex characters of CTR-DRBG output (256 bits): guessing is
 * hopeless, so a plain SHA-256 (no salt, no slow KDF) is the right hash -- it lets
 * verification be one pass over the stored hashes. Verification reads every active key and
 * compares each hash with td_ct_equal without stopping at a match, so its timing does not
 * depend on which key (if any) matched. There are few keys, so one pass is cheap.
 *
 * Names identify keys for people and are the "actor" of logged changes: printable ASCII, not
 * all digits (so that `apikey revoke ID|NAME` is unambiguous), unique among active keys.
 *
 * A verified key's last use is recorded (last_used_at) so that `apikey list` can show keys
 * nobody uses any more. Verification is on the service's request path (behind its key cache),
 * so the record is coarse: written only when the stored time is TDB_APIKEY_USE_INTERVAL old,
 * and never waited for -- with no busy timeout for that one statement, a database locked by
 * another writer skips the record instead of holding the request up to the 5 s busy timeout.
 *
 * These rules hold for both stores: creating a key (the checks of role and name, the key and
 * its hash), telling a revoke's key, id and name apart, and when a use is recorded are
 * db_common.c's; this file and db_pg_apikey.c run the statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "db_sqlite.h"

/* The roles' names, as stored (the api_keys CHECK) and shown: one table for both directions. */
static const char *const role_names[] = {
    [TDB_ROLE_NONE] = "none",
    [TDB_ROLE_READER] = "reader",
    [TDB_ROLE_ADMIN] = "admin",
};
_Static_assert(sizeof role_names / sizeof role_names[0] == TDB_ROLE_ADMIN + 1, "a name per role");

const char *tdb_role_name(tdb_role r) {
    return (unsigned)r <= TDB_ROLE_ADMIN ? role_names[r] : role_names[TDB_ROLE_NONE];
}

bool tdb_role_parse(const char *name, tdb_role *out) {
    for (int r = TDB_ROLE_READER; r <= TDB_ROLE_ADMIN; r++)
        if (strcmp(name, role_names[r]) == 0) {
            *out = (tdb_role)r;
            return true;
        }
    return false;
}

/* Inserts the key row; the name "" is replaced by "key-<id>" in the same transaction. */
tdb_status tdbsq_apikey_insert(tdb *db, tdb_role role, const char *name,
                               const unsigned char hash[TDBI_APIKEY_HASH_LEN], int64_t *id) {
    sqlite3_stmt *st =
        tdbi_prepare(db, "INSERT INTO api_keys (name, role, hash, created_at) VALUES (?, ?, ?, ?)",
                     "creating an API key");
    if (!st)
        return TDB_ERROR;
    /* A unique placeholder until the id is known (the hash is unique). */
    char placeholder[2 * TDBI_APIKEY_HASH_LEN + 2];
    placeholder[0] = '#';
    td_hex(hash, TDBI_APIKEY_HASH_LEN, placeholder + 1);
    sqlite3_bind_text(st, 1, *name ? name : placeholder, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tdb_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, hash, TDBI_APIKEY_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    int rc = sqlite3_step(st);
    tdbi_finalize(db, st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        tdbi_fail(db, "name: an active API key named \"%s\" already exists", name);
        return TDB_INVALID;
    }
    if (rc != SQLITE_DONE)
        return tdbi_sql_fail(db, "creating an API key");
    *id = sqlite3_last_insert_rowid(db->sql);
    if (*name)
        return TDB_OK;
    st = tdbi_prepare(db, "UPDATE api_keys SET name = 'key-' || id WHERE id = ?",
                      "creating an API key");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_int64(st, 1, *id);
    rc = sqlite3_step(st);
    tdbi_finalize(db, st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        tdbi_fail(db, "name: an active API key named \"key-%lld\" already exists; give --name",
                  (long long)*id);
        return TDB_INVALID;
    }
    return rc == SQLITE_DONE ? TDB_OK : tdbi_sql_fail(db, "creating an API key");
}

/* Records that key `id` was used at now, unless a use at most TDB_APIKEY_USE_INTERVAL ago is
 * already recorded (the WHERE repeats the caller's test: another connection may have recorded
 * one meanwhile). Best effort: a busy database or any failure leaves the time as it was, and
 * db's error message untouched. */
static void record_use(tdb *db, int64_t id, int64_t now) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql,
                           "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 AND "
                           "(last_used_at IS NULL OR last_used_at <= ?1 - ?3 OR last_used_at > ?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int(st, 3, TDB_APIKEY_USE_INTERVAL);
    sqlite3_busy_timeout(db->sql, 0);
    (void)sqlite3_step(st);
    sqlite3_busy_timeout(db->sql, db->busy_timeout_ms);
    sqlite3_finalize(st);
}

tdb_role tdbsq_apikey_verify(tdb *db, const char *key, size_t len, char *name_out,
                             size_t name_cap) {
    unsigned char hash[TDBI_APIKEY_HASH_LEN];
    td_sha256(key, len, hash);
    if (name_out && name_cap)
        name_out[0] = '\0';
    sqlite3_stmt *st = tdbi_prepare(
        db, "SELECT hash, role, name, id, last_used_at FROM api_keys WHERE revoked_at IS NULL",
        "verifying an API key");
    if (!st)
        return TDB_ROLE_ERROR;
    tdb_role role = TDB_ROLE_NONE;
    int64_t id = 0, last_used = -1; /* -1: never */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *stored = sqlite3_column_blob(st, 0);
        if (sqlite3_column_bytes(st, 0) != TDBI_APIKEY_HASH_LEN ||
            !td_ct_equal(stored, hash, TDBI_APIKEY_HASH_LEN))
            continue;
        tdb_role_parse((const char *)sqlite3_column_text(st, 1), &role);
        if (name_out && name_cap)
            snprintf(name_out, name_cap, "%s", (const char *)sqlite3_column_text(st, 2));
        id = sqlite3_column_int64(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            last_used = sqlite3_column_int64(st, 4);
    }
    if (rc != SQLITE_DONE) {
        tdbi_sql_fail(db, "verifying an API key");
        role = TDB_ROLE_ERROR;
    }
    tdbi_finalize(db, st);
    int64_t now = (int64_t)time(NULL);
    if (role > TDB_ROLE_NONE && tdbi_apikey_use_due(last_used, now))
        record_use(db, id, now);
    return role;
}

/* Column col of the current row, a Unix time or NULL, into *t; false when NULL. */
static bool column_time(sqlite3_stmt *st, int col, int64_t *t) {
    *t = sqlite3_column_int64(st, col);
    return sqlite3_column_type(st, col) != SQLITE_NULL;
}

static void read_key(sqlite3_stmt *st, void *item) {
    diag_apikey_shown *k = item;
    memset(k, 0, sizeof *k);
    k->id = sqlite3_column_int64(st, 0);
    tdbi_set_text(k->name, sizeof k->name, sqlite3_column_text(st, 1));
    tdbi_set_text(k->role, sizeof k->role, sqlite3_column_text(st, 2));
    k->created_at = sqlite3_column_int64(st, 3);
    k->revoked = column_time(st, 4, &k->revoked_at);
    k->used = column_time(st, 5, &k->last_used_at);
}

tdb_status tdbsq_apikey_list(tdb *db, diag_apikey_shown **out, size_t *count) {
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT id, name, role, created_at, revoked_at, last_used_at "
                                    "FROM api_keys ORDER BY id",
                                    "listing API keys");
    if (!st)
        return TDB_ERROR;
    void *rows;
    tdb_status status =
        tdbi_read_rows(db, st, sizeof **out, read_key, "listing API keys", &rows, count);
    *out = rows;
    return status;
}

tdb_status tdbsq_apikey_revoke_rows(tdb *db, const tdbi_key_match *m, int64_t now, bool *changed) {
    static const char *const sql[] = {
        [TDBI_KEY_BY_HASH] = "UPDATE api_keys SET revoked_at = ?1 WHERE hash = ?2 AND "
                             "revoked_at IS NULL",
        [TDBI_KEY_BY_ID] = "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS "
                           "NULL",
        [TDBI_KEY_BY_NAME] = "UPDATE api_keys SET revoked_at = ?1 WHERE name = ?2 AND "
                             "revoked_at IS NULL",
    };
    /* In a transaction of its own, begun as every write is (tdbi_begin): a revocation written
     * into a database file deleted meanwhile would vanish with the last connection, and the
     * operator would believe the key refused. */
    if (!tdbi_begin(db))
        return TDB_ERROR;
    sqlite3_stmt *st = tdbi_prepare(db, sql[m->by], "revoking an API key");
    if (!st) {
        tdbi_rollback(db);
        return TDB_ERROR;
    }
    sqlite3_bind_int64(st, 1, now);
    if (m->by == TDBI_KEY_BY_HASH)
        sqlite3_bind_blob(st, 2, m->hash, TDBI_APIKEY_HASH_LEN, SQLITE_STATIC);
    else if (m->by == TDBI_KEY_BY_ID)
        sqlite3_bind_int64(st, 2, m->id);
    else
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    tdbi_finalize(db, st);
    if (rc != SQLITE_DONE) {
        tdb_status failed = tdbi_sql_fail(db, "revoking an API key");
        tdbi_rollback(db);
        return failed;
    }
    *changed = sqlite3_changes(db->sql) > 0;
    return tdbi_commit(db) ? TDB_OK : TDB_ERROR;
}

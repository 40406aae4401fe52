/* db_log_sqlite.c -- the diagnosis log's storage on SQLite: the writer's batches within the
 * bounds, retention, and the reads of GET /v1/projects/{app_id}/diagnoses.
 *
 * Design
 * ------
 * db_log.c owns the queue, the writer thread, its timing and its accounting; it reaches the
 * database only through the store's operations (tdbi_store_ops: log_attach, log_write,
 * log_prune, diagnoses_recent), which this file implements for SQLite. Why the bounds are
 * measured and enforced as they are (the span of ids for rows, used pages for bytes, at most
 * TDBI_ROOM_CHUNK rows deleted per batch, the batch dropped when that does not make room) is
 * told at the top of db_log.c, and the arithmetic is db_common.c's (tdbi_log_make_room); this
 * file measures: the byte bound is SQLite's page count.
 *
 * Test hook: TOKENDOCTOR_TEST_LOG_MAX_PAGES=N sets PRAGMA max_page_count on the writer's
 * connection, so that tests can make its writes fail with SQLITE_FULL ("disk full") without
 * filling a disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "db_sqlite.h"

#define WAL_AUTOCHECKPOINT 4096 /* WAL pages (16 MiB) before the writer's commit checkpoints */
#define TEST_MAX_PAGES_ENV "TOKENDOCTOR_TEST_LOG_MAX_PAGES"

/* ---- Writing ---------------------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int col, const char *text, size_t cap) {
    sqlite3_bind_text(st, col, text, (int)strnlen(text, cap), SQLITE_STATIC);
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *text, size_t cap) {
    size_t len = strnlen(text, cap);
    if (len == 0)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_text(st, col, text, (int)len, SQLITE_STATIC);
}

static bool insert_entry(sqlite3_stmt *st, const tdb_log_entry *e) {
    sqlite3_bind_int64(st, 1, e->at);
    bind_text(st, 2, e->app_id, sizeof e->app_id);
    bind_text(st, 3, e->verdict, sizeof e->verdict);
    bind_text(st, 4, e->cause, sizeof e->cause);
    if (e->code == 0)
        sqlite3_bind_null(st, 5); /* no error code: null, not a code 0 that does not exist */
    else
        sqlite3_bind_int(st, 5, e->code);
    bind_text(st, 6, e->platform, sizeof e->platform);
    bind_text_or_null(st, 7, e->token_fingerprint, sizeof e->token_fingerprint);
    bind_text_or_null(st, 8, e->channel, sizeof e->channel);
    bind_text_or_null(st, 9, e->uid, sizeof e->uid);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st); /* also clears an error, so that the statement can be used again */
    return ok;
}

/* ---- Bounds ------------------------------------------------------------------------------ */

/* Two integers from a one-row query; false (after tdbi_sql_fail) on error. */
static bool query_pair(tdb *db, const char *sql, int64_t *a, int64_t *b) {
    sqlite3_stmt *st = tdbi_prepare(db, sql, "measuring the diagnosis log");
    if (!st)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        *a = sqlite3_column_int64(st, 0);
        *b = sqlite3_column_int64(st, 1);
    } else {
        tdbi_sql_fail(db, "measuring the diagnosis log");
    }
    tdbi_finalize(db, st);
    return ok;
}

/* Runs a DELETE of diagnoses with its parameters ?1 and ?2 (a statement may use fewer); the
 * number deleted, -1 on error (after tdbi_sql_fail(db, what)). */
static int64_t delete_rows(tdb *db, const char *sql, int64_t p1, int64_t p2, const char *what) {
    sqlite3_stmt *st = tdbi_prepare(db, sql, what);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, p1);
    if (sqlite3_bind_parameter_count(st) > 1)
        sqlite3_bind_int64(st, 2, p2);
    int rc = sqlite3_step(st);
    tdbi_finalize(db, st);
    if (rc != SQLITE_DONE) {
        tdbi_sql_fail(db, what);
        return -1;
    }
    return sqlite3_changes64(db->sql);
}

int64_t tdbsq_log_delete_below(tdb *db, int64_t below) {
    return delete_rows(db, "DELETE FROM diagnoses WHERE id < ?1", below, 0,
                       "trimming the diagnosis log");
}

/* Two subqueries, not min(id), max(id) in one SELECT: SQLite turns an aggregate into one lookup
 * at an end of the rowid only when it is the query's sole aggregate; with both it scanned a whole
 * index per batch, so the writer's cost grew with its log (75% of the writer's time at 250,000
 * rows; test log_span_cost). */
bool tdbsq_log_span(tdb *db, int64_t *lo, int64_t *hi) {
    return query_pair(db,
                      "SELECT ifnull((SELECT min(id) FROM diagnoses), 0), "
                      "ifnull((SELECT max(id) FROM diagnoses), 0)",
                      lo, hi);
}

/* The pages in use (the file's less its free list): what the byte bound measures. */
bool tdbsq_log_used_bytes(tdb *db, int64_t span, int64_t *bytes) {
    (void)span;
    int64_t pages = 0, free_pages = 0, page_size = 0, dummy = 0;
    if (!query_pair(db,
                    "SELECT page_count, freelist_count FROM pragma_page_count, "
                    "pragma_freelist_count",
                    &pages, &free_pages) ||
        !query_pair(db, "SELECT page_size, 0 FROM pragma_page_size", &page_size, &dummy))
        return false;
    *bytes = (pages - free_pages) * page_size;
    return true;
}

/* ---- Writing batches ------------------------------------------------------------------------ */

/* Commits n entries (n <= max_rows) in one transaction, within the bounds. */
/* The mark is not needed: a local COMMIT always answers (committed or not, SQLite says). */
tdbi_log_outcome tdbsq_log_write(tdb *db, const tdb_log_entry *batch, size_t n,
                                 tdbi_batch_mark mark, int64_t max_rows, int64_t max_bytes) {
    (void)mark;
    tdbi_log_room room = {0};
    if (!tdbi_begin(db))
        return tdbi_log_settle(n, false, 0, room);
    int has_room = tdbi_log_make_room(db, max_rows, max_bytes, n, &room);
    bool ok = has_room >= 0;
    for (size_t i = 0; ok && has_room > 0 && i < n; i++) {
        ok = insert_entry(db->log_insert_st, &batch[i]);
        if (!ok)
            tdbi_sql_fail(db, "writing the diagnosis log");
    }
    if (!ok)
        tdbi_rollback(db);
    ok = ok && tdbi_commit(db);
    return tdbi_log_settle(n, ok, has_room, room);
}

/* Deletes at most limit diagnoses older than cutoff (one statement, so one transaction).
 * Returns the number deleted, -1 on error. */
int64_t tdbsq_log_prune(tdb *db, int64_t cutoff, int limit) {
    return delete_rows(db,
                       "DELETE FROM diagnoses WHERE id IN (SELECT id FROM diagnoses "
                       "WHERE at < ?1 ORDER BY at LIMIT ?2)",
                       cutoff, limit, "pruning diagnoses");
}

/* The test hook (see the top of the file): PRAGMA max_page_count on the writer's connection. */
static void apply_test_max_pages(tdb *db) {
    const char *v = getenv(TEST_MAX_PAGES_ENV);
    char *end = NULL;
    long long pages = v && *v ? strtoll(v, &end, 10) : 0;
    if (pages > 0 && end && *end == '\0') {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA max_page_count = %lld", pages);
        tdbi_exec(db, pragma);
    }
}

/* Prepares db to be the diagnosis log writer's connection: its kept INSERT statement (finalized
 * by tdbsq_close), the checkpoint interval and the test hook. */
bool tdbsq_log_attach(tdb *db) {
    if (sqlite3_prepare_v3(db->sql,
                           "INSERT INTO diagnoses (at, app_id, verdict, cause, code, platform, "
                           "token_fingerprint, channel, uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &db->log_insert_st, NULL) != SQLITE_OK) {
        tdbi_sql_fail(db, "preparing the diagnosis log");
        return false;
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA wal_autocheckpoint = %d", WAL_AUTOCHECKPOINT);
    tdbi_exec(db, pragma); /* a tuning only: the default works too */
    apply_test_max_pages(db);
    return true;
}

/* ---- Reading ---------------------------------------------------------------------------- */

static void read_entry(sqlite3_stmt *st, void *item) {
    tdb_log_entry *e = item;
    e->at = sqlite3_column_int64(st, 0);
    tdbi_set_text(e->app_id, sizeof e->app_id, sqlite3_column_text(st, 1));
    tdbi_set_text(e->verdict, sizeof e->verdict, sqlite3_column_text(st, 2));
    tdbi_set_text(e->cause, sizeof e->cause, sqlite3_column_text(st, 3));
    e->code = sqlite3_column_int(st, 4); /* NULL reads as 0: no code */
    tdbi_set_text(e->platform, sizeof e->platform, sqlite3_column_text(st, 5));
    tdbi_set_text(e->token_fingerprint, sizeof e->token_fingerprint, sqlite3_column_text(st, 6));
    tdbi_set_text(e->channel, sizeof e->channel, sqlite3_column_text(st, 7));
    tdbi_set_text(e->uid, sizeof e->uid, sqlite3_column_text(st, 8));
}

tdb_status tdbsq_diagnoses_recent(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                  size_t *count) {
    *out = NULL;
    *count = 0;
    if (limit < 1 || limit > 1000) {
        tdbi_fail(db, "limit: must be in 1..1000");
        return TDB_INVALID;
    }
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "SELECT at, app_id, verdict, cause, code, platform, "
                                    "token_fingerprint, channel, uid FROM diagnoses WHERE "
                                    "app_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                                    "reading diagnoses");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    void *rows;
    tdb_status status =
        tdbi_read_rows(db, st, sizeof **out, read_entry, "reading diagnoses", &rows, count);
    *out = rows;
    return status;
}

/* db_pg_log.c -- the diagnosis log's storage on PostgreSQL: the writer's batches within the
 * bounds, retention, and the reads of GET /v1/projects/{app_id}/diagnoses.
 *
 * Design
 * ------
 * db_log.c owns the queue, the writer thread, its timing and its accounting (read its design
 * comment); this file is what db_log_sqlite.c is for SQLite. A batch is one transaction: make
 * room (the same rules: the row bound measured as the span of ids, at most TDBI_ROOM_CHUNK oldest
 * rows deleted per batch, the batch dropped -- counted as bound -- when that did not make room),
 * then the rows as multi-row INSERTs of at most INSERT_ROWS rows each (one round trip per
 * thousand rows; 9 parameters a row stays far below libpq's 65535).
 *
 * The byte bound cannot be SQLite's used pages: PostgreSQL's files do not shrink when rows are
 * deleted (the space is reused after VACUUM) and there is no free-page count to subtract, so
 * pg_total_relation_size would stay over the bound for good once reached and drop every batch.
 * The bytes used are estimated instead as the rows kept (the span) times the average size of
 * the newest 100 rows (pg_column_size of the row) plus ROW_OVERHEAD bytes a row for the tuple
 * header, line pointer and the two index entries -- measured on PostgreSQL 15 with typical rows
 * (~180 bytes a row with indexes, as on SQLite).
 *
 * A COMMIT without an answer. The connection can break after the server committed a batch and
 * before its answer arrived; the writer (db_log.c) then keeps the batch queued, as for any
 * unreachable store, and sends the same entries again under the same mark (tdbi_batch_mark:
 * the log's random id, the batch's number) -- which wrote them twice. So a batch's first row
 * carries its mark (diagnoses.mark_writer, mark_batch; NULL on every other row) under a unique
 * partial index (schema 2). A batch sent again is looked up by its mark first, before room is
 * made (which could delete its first rows and not the rest): found, it is counted as written
 * and nothing is sent. Otherwise its first row goes alone, ON CONFLICT DO NOTHING, and the rest
 * only when that row was new. The unique index waits for a transaction still holding the same
 * mark in another session (the attempt whose answer was lost, committing still, or orphaned by
 * a partition); when that wait ends on the lock or statement timeout the batch's fate is not
 * known yet, so the store counts as unreachable and the writer keeps the batch queued. An
 * orphaned transaction ends within TDBPG_LOG_IDLE_TX_MS (the writer's sessions set it). The
 * marks go with their rows (retention, the bounds).
 *
 * Text that reaches PostgreSQL must be valid UTF-8 (SQLite stores any bytes): every string of
 * an entry is passed through td_text_copy first, so that one entry with a malformed channel
 * cannot fail its whole batch. Values are sent as binary text parameters (bytes and a length).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"

#define INSERT_ROWS 1000 /* rows per INSERT statement */
#define ROW_COLS 9
#define ROW_OVERHEAD 100 /* bytes a row beyond its data: header, line pointer, index entries */

/* ---- Bounds ------------------------------------------------------------------------------- */

static bool query_pair(tdb *db, const char *sql, int64_t *a, int64_t *b) {
    PGresult *r = tdbpg_run(db, "measuring the diagnosis log", sql, NULL);
    bool ok = r && PQntuples(r) == 1;
    if (ok) {
        *a = tdbpg_i64(r, 0, 0);
        *b = tdbpg_i64(r, 0, 1);
    } else if (r) {
        tdbi_fail(db, "%s: measuring the diagnosis log: no answer", db->pg->where);
    }
    PQclear(r);
    return ok;
}

/* Runs a DELETE of diagnoses with its parameters $1 (and $2 when limit >= 0); the number
 * deleted, -1 on error. */
static int64_t delete_rows(tdb *db, const char *what, const char *sql, int64_t p1, int64_t limit) {
    tdbpg_params p = {0};
    tdbpg_p_i64(&p, p1);
    if (limit >= 0)
        tdbpg_p_i64(&p, limit);
    PGresult *r = tdbpg_run(db, what, sql, &p);
    if (!r)
        return -1;
    int64_t n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return n;
}

int64_t tdbpg_log_delete_below(tdb *db, int64_t below) {
    return delete_rows(db, "trimming the diagnosis log", "DELETE FROM diagnoses WHERE id < $1",
                       below, -1);
}

bool tdbpg_log_span(tdb *db, int64_t *lo, int64_t *hi) {
    return query_pair(db, "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM diagnoses", lo,
                      hi);
}

/* The span's rows at the average size of the newest hundred, plus ROW_OVERHEAD each. */
bool tdbpg_log_used_bytes(tdb *db, int64_t span, int64_t *bytes) {
    int64_t avg = 0, dummy = 0;
    if (!query_pair(db,
                    "SELECT coalesce(avg(pg_column_size(d.*)), 0)::bigint, 0 FROM (SELECT * FROM "
                    "diagnoses ORDER BY id DESC LIMIT 100) d",
                    &avg, &dummy))
        return false;
    *bytes = span * (avg + ROW_OVERHEAD);
    return true;
}

/* ---- Writing ------------------------------------------------------------------------------- */

/* One entry's strings as valid UTF-8 (see the top of the file). */
static void clean_entry(tdb_log_entry *dst, const tdb_log_entry *e) {
#define CLEAN(f) td_text_copy(dst->f, sizeof dst->f, e->f, strnlen(e->f, sizeof e->f))
    dst->at = e->at;
    dst->code = e->code;
    CLEAN(app_id);
    CLEAN(verdict);
    CLEAN(cause);
    CLEAN(platform);
    CLEAN(token_fingerprint);
    CLEAN(channel);
    CLEAN(uid);
#undef CLEAN
}

/* Inserts rows e[0..n) (n <= INSERT_ROWS) with one statement; with a mark (then n is 1), only
 * when no row holds that mark yet. 1 when inserted, 0 when the mark was there, -1 on error. */
static int insert_rows(tdb *db, const tdb_log_entry *e, size_t n, const tdbi_batch_mark *mark) {
    size_t np = n * ROW_COLS + (mark ? 2 : 0);
    const char **val = calloc(np, sizeof *val);
    int *len = calloc(np, sizeof *len), *fmt = calloc(np, sizeof *fmt);
    char(*num)[24] = calloc(2 * n + 2, sizeof *num);
    size_t sql_cap = 256 + n * 160; /* a row: 9 numbered parameters and casts, < 150 bytes */
    char *sql = malloc(sql_cap);
    bool ok = val && len && fmt && num && sql;
    if (!ok)
        tdbi_fail(db, "out of memory");
    size_t at = 0;
    if (ok)
        at = (size_t)snprintf(sql, sql_cap,
                              "INSERT INTO diagnoses (at, app_id, verdict, cause, code, platform, "
                              "token_fingerprint, channel, uid%s) VALUES ",
                              mark ? ", mark_writer, mark_batch" : "");
    for (size_t i = 0; ok && i < n; i++) {
        size_t b = i * ROW_COLS;
        snprintf(num[2 * i], sizeof num[0], "%lld", (long long)e[i].at);
        val[b] = num[2 * i];
        if (e[i].code != 0) { /* no error code: null, not a code 0 that does not exist */
            snprintf(num[2 * i + 1], sizeof num[0], "%d", e[i].code);
            val[b + 4] = num[2 * i + 1];
        }
        const char *texts[] = {e[i].app_id,   e[i].verdict,           e[i].cause,
                               e[i].platform, e[i].token_fingerprint, e[i].channel,
                               e[i].uid};
        static const int cols[] = {1, 2, 3, 5, 6, 7, 8};
        for (int t = 0; t < 7; t++) {
            size_t l = strlen(texts[t]);
            if (l == 0 && cols[t] >= 6)
                continue; /* "" is stored as null */
            val[b + cols[t]] = texts[t];
            len[b + cols[t]] = (int)l;
            fmt[b + cols[t]] = 1;
        }
        int w =
            snprintf(sql + at, sql_cap - at,
                     "%s($%zu::bigint, $%zu, $%zu, $%zu, $%zu::integer, $%zu, $%zu, $%zu, $%zu%s)",
                     i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9,
                     mark ? ", $10::bigint, $11::bigint" : "");
        if (w < 0 || (size_t)w >= sql_cap - at) {
            tdbi_fail(db, "writing the diagnosis log: statement too long");
            ok = false;
        } else {
            at += (size_t)w;
        }
    }
    if (ok && mark) {
        snprintf(num[2 * n], sizeof num[0], "%lld", (long long)mark->writer);
        snprintf(num[2 * n + 1], sizeof num[0], "%lld", (long long)mark->batch);
        val[ROW_COLS] = num[2 * n];
        val[ROW_COLS + 1] = num[2 * n + 1];
        int w = snprintf(sql + at, sql_cap - at,
                         " ON CONFLICT (mark_writer, mark_batch) WHERE mark_writer IS NOT NULL "
                         "DO NOTHING RETURNING id");
        ok = w > 0 && (size_t)w < sql_cap - at;
    }
    int inserted = -1;
    if (ok && tdbpg_use(db)) {
        PGresult *r = PQexecParams(db->pg->conn, sql, (int)np, NULL, val, len, fmt, 1);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            inserted = !mark || PQntuples(r) == 1;
        else
            tdbpg_fail_result(db, "writing the diagnosis log", r);
        PQclear(r);
    }
    free(val);
    free(len);
    free(fmt);
    free(num);
    free(sql);
    return inserted;
}

/* A batch sent again: whether its mark is stored (1), not (0), or -1 on error. Before the
 * room is made, since making room could delete the marked first row and not the rest. */
static int mark_stored(tdb *db, tdbi_batch_mark mark) {
    tdbpg_params p = {0};
    tdbpg_p_i64(&p, mark.writer);
    tdbpg_p_i64(&p, mark.batch);
    PGresult *r =
        tdbpg_run(db, "writing the diagnosis log",
                  "SELECT 1 FROM diagnoses WHERE mark_writer = $1 AND mark_batch = $2", &p);
    int stored = r ? PQntuples(r) > 0 : -1;
    PQclear(r);
    return stored;
}

/* The marked row of a batch sent again could not be inserted because the unique index waited
 * too long for another session's transaction holding the same mark -- the attempt whose COMMIT
 * went unanswered, committing still or orphaned: not known yet, so the store counts as
 * unreachable and the writer keeps the batch queued, mark and all. */
static void mark_not_known_yet(tdb *db) {
    const char *st = db->pg->sqlstate;
    if (strcmp(st, "55P03") == 0 || strcmp(st, "57014") == 0) /* lock, statement timeout */
        db->fault = TDB_FAULT_UNAVAILABLE;
}

/* One transaction: room, then the batch -- its first row with its mark, alone, and the rest
 * only when that row was new (see "A COMMIT without an answer"). *stored is set when the batch,
 * sent again, was found stored. */
static bool write_in_tx(tdb *db, const tdb_log_entry *clean, size_t n, tdbi_batch_mark mark,
                        int64_t max_rows, int64_t max_bytes, int *has_room, tdbi_log_room *room,
                        bool *stored) {
    if (!tdbpg_begin(db, false))
        return false;
    int found = mark.resent ? mark_stored(db, mark) : 0;
    *stored = found > 0;
    if (found != 0) {
        bool ok = found > 0 && tdbpg_commit(db);
        if (!ok)
            tdbpg_rollback(db);
        return ok;
    }
    *has_room = tdbi_log_make_room(db, max_rows, max_bytes, n, room);
    int first = *has_room > 0 && n > 0 ? insert_rows(db, clean, 1, &mark) : 0;
    if (first < 0 && mark.resent)
        mark_not_known_yet(db);
    bool ok = *has_room >= 0 && first >= 0;
    for (size_t i = 1; ok && first == 1 && i < n; i += INSERT_ROWS)
        ok = insert_rows(db, clean + i, n - i < INSERT_ROWS ? n - i : INSERT_ROWS, NULL) > 0;
    ok = ok && tdbpg_commit(db);
    if (!ok)
        tdbpg_rollback(db);
    return ok;
}

tdbi_log_outcome tdbpg_log_write(tdb *db, const tdb_log_entry *batch, size_t n,
                                 tdbi_batch_mark mark, int64_t max_rows, int64_t max_bytes) {
    tdbi_log_room room = {0};
    tdb_log_entry *clean = n ? calloc(n, sizeof *clean) : NULL;
    if (n && !clean) {
        tdbi_fail(db, "out of memory");
        return tdbi_log_settle(n, false, 0, room);
    }
    for (size_t i = 0; i < n; i++)
        clean_entry(&clean[i], &batch[i]);
    int has_room = 0;
    bool stored = false;
    bool ok = write_in_tx(db, clean, n, mark, max_rows, max_bytes, &has_room, &room, &stored);
    free(clean);
    return tdbi_log_settle(n, ok, stored ? 1 : has_room, room);
}

int64_t tdbpg_log_prune(tdb *db, int64_t cutoff, int limit) {
    return delete_rows(db, "pruning diagnoses",
                       "DELETE FROM diagnoses WHERE id IN (SELECT id FROM diagnoses WHERE at < $1 "
                       "ORDER BY at LIMIT $2)",
                       cutoff, limit);
}

/* Nothing to prepare (each batch's statement depends on its size); the session's setting for
 * a writer (TDBPG_LOG_IDLE_TX_MS), now and after every reconnection. */
bool tdbpg_log_attach(tdb *db) {
    db->pg->log_writer = true;
    return tdbpg_do(db, "setting up the diagnosis log", TDBPG_LOG_SESSION_SQL, NULL);
}

/* ---- Reading ------------------------------------------------------------------------------- */

static void read_entry(const PGresult *r, int i, void *item) {
    tdb_log_entry *e = item;
    e->at = tdbpg_i64(r, i, 0);
    tdbi_set_text(e->app_id, sizeof e->app_id, (const unsigned char *)tdbpg_text(r, i, 1));
    tdbi_set_text(e->verdict, sizeof e->verdict, (const unsigned char *)tdbpg_text(r, i, 2));
    tdbi_set_text(e->cause, sizeof e->cause, (const unsigned char *)tdbpg_text(r, i, 3));
    e->code = (int)tdbpg_i64(r, i, 4);
    tdbi_set_text(e->platform, sizeof e->platform, (const unsigned char *)tdbpg_text(r, i, 5));
    tdbi_set_text(e->token_fingerprint, sizeof e->token_fingerprint,
                  (const unsigned char *)tdbpg_text(r, i, 6));
    tdbi_set_text(e->channel, sizeof e->channel, (const unsigned char *)tdbpg_text(r, i, 7));
    tdbi_set_text(e->uid, sizeof e->uid, (const unsigned char *)tdbpg_text(r, i, 8));
}

tdb_status tdbpg_diagnoses_recent(tdb *db, const char *app_id, int limit, tdb_log_entry **out,
                                  size_t *count) {
    *out = NULL;
    *count = 0;
    if (limit < 1 || limit > 1000) {
        tdbi_fail(db, "limit: must be in 1..1000");
        return TDB_INVALID;
    }
    char clean[sizeof((tdb_log_entry *)0)->app_id];
    td_text_copy(clean, sizeof clean, app_id, strlen(app_id));
    tdbpg_params p = {0};
    tdbpg_p_text(&p, clean);
    tdbpg_p_i64(&p, limit);
    PGresult *r = tdbpg_run(db, "reading diagnoses",
                            "SELECT at, app_id, verdict, cause, code, platform, token_fingerprint, "
                            "channel, uid FROM diagnoses WHERE app_id = $1 ORDER BY at DESC, id "
                            "DESC LIMIT $2",
                            &p);
    void *rows;
    tdb_status status = tdbpg_read_rows(db, r, sizeof **out, read_entry, &rows, count);
    *out = rows;
    return status;
}

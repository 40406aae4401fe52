/* db_log.c -- the diagnosis log: a bounded queue drained by one writer thread.
 *
 * Design
 * ------
 * Request threads must never wait for the disk, so tdb_log_push() only copies a fixed-size
 * entry into a ring buffer under a mutex that is never held across I/O; when the ring is full
 * the entry is dropped and counted (a diagnosis is still answered; only its log line is lost).
 *
 * One writer thread owns its own connection. It sleeps on a condition variable, then moves up
 * to BATCH_MAX entries out of the ring (releasing the mutex before touching SQLite) and commits
 * them in one transaction: under load the ring refills while a batch commits, so batches grow
 * with the load and the cost per entry falls. A batch that cannot be written (disk full, busy
 * beyond the timeout) is counted as dropped; the writer carries on.
 *
 * Counters: `accepted` counts entries queued, `done` entries committed or dropped after being
 * queued; tdb_log_flush() waits until done catches up with accepted as it was when called.
 * tdb_log_stop() sets `stopping` (further pushes are dropped), lets the writer drain the ring,
 * joins it and frees everything.
 *
 * Retention: entries older than retention_days are deleted at start and hourly by the writer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"

#define BATCH_MAX 512
#define PRUNE_INTERVAL_S 3600

struct tdb_log {
    tdb *db; /* used by the writer thread only */
    int retention_days;
    pthread_t writer;

    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t wake;      /* writer: entries queued, or stopping */
    pthread_cond_t done_cond; /* flushers: done advanced */
    tdb_log_entry *ring;
    size_t capacity, head, depth; /* entries at ring[(head + i) % capacity] */
    bool stopping;
    uint64_t accepted, done, written, dropped;
};

static void lock(tdb_log *log) {
    pthread_mutex_lock(&log->lock);
}

static void unlock(tdb_log *log) {
    pthread_mutex_unlock(&log->lock);
}

/* ---- Writing ----------------------------------------------------------------------------- */

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *text, size_t cap) {
    size_t len = strnlen(text, cap);
    if (len == 0) {
        sqlite3_bind_null(st, col);
    } else {
        sqlite3_bind_text(st, col, text, (int)len, SQLITE_STATIC);
    }
}

/* Commits n entries in one transaction. */
static bool write_batch(tdb *db, const tdb_log_entry *batch, size_t n) {
    if (!tdbi_begin(db)) {
        return false;
    }
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db->sql,
                                 "INSERT INTO diagnoses (at, app_id, verdict, cause, code, "
                                 "platform, token_fingerprint, channel, uid) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 -1, &st, NULL) == SQLITE_OK;
    for (size_t i = 0; ok && i < n; i++) {
        const tdb_log_entry *e = &batch[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, e->at);
        sqlite3_bind_text(st, 2, e->app_id, (int)strnlen(e->app_id, sizeof e->app_id),
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->verdict, (int)strnlen(e->verdict, sizeof e->verdict),
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 4, e->cause, (int)strnlen(e->cause, sizeof e->cause), SQLITE_STATIC);
        sqlite3_bind_int(st, 5, e->code);
        sqlite3_bind_text(st, 6, e->platform, (int)strnlen(e->platform, sizeof e->platform),
                          SQLITE_STATIC);
        bind_text_or_null(st, 7, e->token_fingerprint, sizeof e->token_fingerprint);
        bind_text_or_null(st, 8, e->channel, sizeof e->channel);
        bind_text_or_null(st, 9, e->uid, sizeof e->uid);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (!ok) {
        tdbi_rollback(db);
        return false;
    }
    return tdbi_commit(db);
}

/* Takes up to BATCH_MAX entries out of the ring into batch (called with the lock held). */
static size_t take_batch(tdb_log *log, tdb_log_entry *batch) {
    size_t n = log->depth < BATCH_MAX ? log->depth : BATCH_MAX;
    for (size_t i = 0; i < n; i++) {
        batch[i] = log->ring[(log->head + i) % log->capacity];
    }
    log->head = (log->head + n) % log->capacity;
    log->depth -= n;
    return n;
}

/* Waits for entries (or stop) at most until the next prune is due. */
static void wait_for_work(tdb_log *log, time_t next_prune) {
    struct timespec until = {.tv_sec = next_prune, .tv_nsec = 0};
    while (log->depth == 0 && !log->stopping && time(NULL) < next_prune) {
        int rc = pthread_cond_timedwait(&log->wake, &log->lock, &until);
        if (rc == ETIMEDOUT) {
            break;
        }
    }
}

static void *writer_main(void *arg) {
    tdb_log *log = arg;
    tdb_log_entry *batch = malloc(BATCH_MAX * sizeof *batch);
    time_t next_prune = time(NULL) + PRUNE_INTERVAL_S;
    lock(log);
    for (;;) {
        wait_for_work(log, next_prune);
        if (time(NULL) >= next_prune) {
            unlock(log);
            tdb_diagnoses_prune(log->db, log->retention_days);
            next_prune = time(NULL) + PRUNE_INTERVAL_S;
            lock(log);
        }
        if (log->depth == 0) {
            if (log->stopping) {
                break;
            }
            continue;
        }
        if (!batch) {
            /* No memory for a batch: nothing can be written; count the queue as dropped. */
            log->dropped += log->depth;
            log->done += log->depth;
            log->depth = 0;
            pthread_cond_broadcast(&log->done_cond);
            continue;
        }
        size_t n = take_batch(log, batch);
        unlock(log);
        bool ok = write_batch(log->db, batch, n);
        lock(log);
        if (ok) {
            log->written += n;
        } else {
            log->dropped += n;
        }
        log->done += n;
        pthread_cond_broadcast(&log->done_cond);
    }
    unlock(log);
    free(batch);
    return NULL;
}

/* ---- The public side --------------------------------------------------------------------- */

tdb_log *tdb_log_start(const char *db_path, const char *key_file, size_t queue_capacity,
                       int retention_days, char *err, size_t err_cap) {
    tdb_log *log = calloc(1, sizeof *log);
    if (!log) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    log->capacity = queue_capacity ? queue_capacity : TDB_LOG_DEFAULT_CAPACITY;
    log->retention_days = retention_days > 0 ? retention_days : TDB_LOG_DEFAULT_RETENTION_DAYS;
    log->ring = calloc(log->capacity, sizeof *log->ring);
    if (!log->ring) {
        snprintf(err, err_cap, "out of memory for a diagnosis log queue of %zu entries",
                 log->capacity);
        free(log);
        return NULL;
    }
    log->db = tdb_open(db_path, key_file, err, err_cap);
    if (!log->db) {
        free(log->ring);
        free(log);
        return NULL;
    }
    tdb_diagnoses_prune(log->db, log->retention_days);
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->wake, NULL);
    pthread_cond_init(&log->done_cond, NULL);
    int rc = pthread_create(&log->writer, NULL, writer_main, log);
    if (rc != 0) {
        snprintf(err, err_cap, "cannot start the diagnosis log writer: %s", strerror(rc));
        pthread_cond_destroy(&log->done_cond);
        pthread_cond_destroy(&log->wake);
        pthread_mutex_destroy(&log->lock);
        tdb_close(log->db);
        free(log->ring);
        free(log);
        return NULL;
    }
    return log;
}

bool tdb_log_push(tdb_log *log, const tdb_log_entry *e) {
    lock(log);
    bool accepted = !log->stopping && log->depth < log->capacity;
    if (accepted) {
        log->ring[(log->head + log->depth) % log->capacity] = *e;
        log->depth++;
        log->accepted++;
        pthread_cond_signal(&log->wake);
    } else {
        log->dropped++;
    }
    unlock(log);
    return accepted;
}

void tdb_log_get_stats(tdb_log *log, tdb_log_stats *out) {
    lock(log);
    out->depth = log->depth;
    out->capacity = log->capacity;
    out->dropped = log->dropped;
    out->written = log->written;
    unlock(log);
}

void tdb_log_flush(tdb_log *log) {
    lock(log);
    uint64_t target = log->accepted;
    while (log->done < target) {
        pthread_cond_wait(&log->done_cond, &log->lock);
    }
    unlock(log);
}

void tdb_log_stop(tdb_log *log) {
    if (!log) {
        return;
    }
    lock(log);
    log->stopping = true;
    pthread_cond_signal(&log->wake);
    unlock(log);
    pthread_join(log->writer, NULL);
    pthread_cond_destroy(&log->done_cond);
    pthread_cond_destroy(&log->wake);
    pthread_mutex_destroy(&log->lock);
    tdb_close(log->db);
    free(log->ring);
    free(log);
}

/* ---- Reading ------------------------------------------------------------------------------ */

static json_t *column_text_or_null(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return json_null();
    }
    const char *text = (const char *)sqlite3_column_text(st, col);
    return tdbi_json_text(text ? text : "", (size_t)sqlite3_column_bytes(st, col));
}

tdb_status tdb_diagnoses_recent(tdb *db, const char *app_id, int limit, json_t **out) {
    if (limit < 1 || limit > 1000) {
        tdbi_fail(db, "limit: must be in 1..1000");
        return TDB_INVALID;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql,
                           "SELECT at, app_id, verdict, cause, code, platform, "
                           "token_fingerprint, channel, uid FROM diagnoses WHERE app_id = ? "
                           "ORDER BY at DESC, id DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        return tdbi_sql_fail(db, "reading diagnoses");
    }
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(
            list,
            json_pack("{s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "at",
                      (json_int_t)sqlite3_column_int64(st, 0), "app_id", column_text_or_null(st, 1),
                      "verdict", column_text_or_null(st, 2), "cause", column_text_or_null(st, 3),
                      "code", (json_int_t)sqlite3_column_int64(st, 4), "platform",
                      column_text_or_null(st, 5), "token_fingerprint", column_text_or_null(st, 6),
                      "channel", column_text_or_null(st, 7), "uid", column_text_or_null(st, 8)));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return tdbi_sql_fail(db, "reading diagnoses");
    }
    *out = list;
    return TDB_OK;
}

int64_t tdb_diagnoses_prune(tdb *db, int retention_days) {
    if (retention_days <= 0) {
        retention_days = TDB_LOG_DEFAULT_RETENTION_DAYS;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "DELETE FROM diagnoses WHERE at < ?", -1, &st, NULL) !=
        SQLITE_OK) {
        tdbi_sql_fail(db, "pruning diagnoses");
        return -1;
    }
    sqlite3_bind_int64(st, 1, (int64_t)time(NULL) - (int64_t)retention_days * 86400);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tdbi_sql_fail(db, "pruning diagnoses");
        return -1;
    }
    return sqlite3_changes(db->sql);
}

/* db_log.c -- the diagnosis log: a bounded queue drained by one writer thread.
 *
 * Design
 * ------
 * Request threads must never wait for the disk, so tdb_log_push() only copies a fixed-size
 * entry into a ring buffer under a mutex that is never held across I/O; when the ring is full
 * the entry is dropped and counted (a diagnosis is still answered; only its log line is lost).
 *
 * One writer thread owns its own connection and a kept INSERT statement. The cost of the log is
 * per transaction (BEGIN, the WAL append, COMMIT), hardly per row, so the writer makes few,
 * large transactions: woken by the first entry, it lingers LINGER_MS (or until a batch's worth,
 * at most half the ring, is queued) before it moves up to BATCH_MAX entries out of the ring
 * (releasing the mutex before touching SQLite) and commits them at once. Under load that is
 * under a hundred commits a second whatever the request rate, and the ring only has to absorb
 * what arrives during one linger and one commit. A push signals the writer only when the
 * writer waits for exactly that depth (`wake_at`: 1 when idle, the batch size while lingering),
 * so a busy service does not pay a wake-up per entry. A flush or a stop cuts the linger short.
 * A batch that cannot be written (disk full, busy beyond the timeout) is counted as dropped;
 * the writer carries on.
 *
 * Why 50 ms and 4096 entries: a commit rewrites every page its rows touched, and the rows of
 * one batch are spread over the leaves of the (app_id, at) index, so the bytes written per row
 * fall as batches grow. Measured under `serve` at ~30k diagnoses/s (docs/performance.md): with
 * 10 ms batches the writer took 15.7% of the service's CPU. The writer's connection also lets
 * the WAL grow to WAL_AUTOCHECKPOINT pages before checkpointing (SQLite's default is 1000):
 * fewer checkpoints, and a page changed by several batches is copied back once. Both only delay
 * the log by a fraction of a second; tdb_log_flush still cuts the linger short.
 *
 * Counters: `accepted` counts entries queued, `done` entries committed or dropped after being
 * queued; tdb_log_flush() waits until done catches up with accepted as it was when called.
 * tdb_log_stop() sets `stopping` (further pushes are dropped), lets the writer drain the ring,
 * joins it and frees everything.
 *
 * Retention: entries older than retention_days are deleted at start and then once every
 * PRUNE_INTERVAL_S, never per batch, in transactions of at most PRUNE_CHUNK rows, one between
 * two batches, so that a large backlog never holds the write lock (which configuration writes
 * to the same file need) for long.
 *
 * Deadlines use CLOCK_MONOTONIC (the condition variable is set up for it): a change of the
 * wall clock neither stalls nor hurries the writer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"

#define BATCH_MAX 4096          /* entries per transaction at most */
#define LINGER_MS 50            /* how long a batch may gather once the first entry arrived */
#define WAL_AUTOCHECKPOINT 4096 /* WAL pages (16 MiB) before the writer's commit checkpoints */
#define PRUNE_INTERVAL_S 60     /* retention is enforced this often */
#define PRUNE_CHUNK 5000        /* rows deleted per pruning transaction */

struct tdb_log {
    tdb *db;              /* used by the writer thread only */
    sqlite3_stmt *insert; /* kept on db */
    int retention_days;
    size_t batch_target; /* the depth that ends a linger: min(BATCH_MAX, capacity / 2), >= 1 */
    pthread_t writer;

    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t wake;      /* writer: depth reached wake_at, a flush, or stopping */
    pthread_cond_t done_cond; /* flushers: done advanced */
    tdb_log_entry *ring;
    size_t capacity, head, depth; /* entries at ring[(head + i) % capacity] */
    size_t wake_at;               /* 0: the writer is not waiting for entries */
    unsigned flushers;            /* threads in tdb_log_flush */
    bool stopping;
    uint64_t accepted, done, written, dropped;
};

static void lock(tdb_log *log) {
    pthread_mutex_lock(&log->lock);
}

static void unlock(tdb_log *log) {
    pthread_mutex_unlock(&log->lock);
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on log->wake until woken or until the monotonic time deadline_ms; false on timeout. */
static bool wait_until(tdb_log *log, int64_t deadline_ms) {
    struct timespec until = {.tv_sec = (time_t)(deadline_ms / 1000),
                             .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
    return pthread_cond_timedwait(&log->wake, &log->lock, &until) != ETIMEDOUT;
}

/* ---- Writing ----------------------------------------------------------------------------- */

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

/* Commits n entries in one transaction. */
static bool write_batch(tdb_log *log, const tdb_log_entry *batch, size_t n) {
    if (!tdbi_begin(log->db))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = insert_entry(log->insert, &batch[i]);
    if (!ok) {
        tdbi_sql_fail(log->db, "writing the diagnosis log");
        tdbi_rollback(log->db);
        return false;
    }
    return tdbi_commit(log->db);
}

/* Deletes at most limit diagnoses older than cutoff (one statement, so one transaction).
 * Returns the number deleted, -1 on error. */
static int64_t prune_chunk(tdb *db, int64_t cutoff, int limit) {
    sqlite3_stmt *st = tdbi_prepare(db,
                                    "DELETE FROM diagnoses WHERE id IN (SELECT id FROM diagnoses "
                                    "WHERE at < ?1 ORDER BY at LIMIT ?2)",
                                    "pruning diagnoses");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, limit);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tdbi_sql_fail(db, "pruning diagnoses");
        return -1;
    }
    return sqlite3_changes64(db->sql);
}

static int64_t retention_cutoff(int retention_days) {
    return (int64_t)time(NULL) - (int64_t)retention_days * 86400;
}

/* Takes up to BATCH_MAX entries out of the ring into batch (called with the lock held). */
static size_t take_batch(tdb_log *log, tdb_log_entry *batch) {
    size_t n = log->depth < BATCH_MAX ? log->depth : BATCH_MAX;
    for (size_t i = 0; i < n; i++)
        batch[i] = log->ring[(log->head + i) % log->capacity];
    log->head = (log->head + n) % log->capacity;
    log->depth -= n;
    return n;
}

/* Called with the lock held: returns when there is a batch to write (the linger over), when
 * stopping, or at the monotonic time idle_until_ms (0 = only when woken). */
static void wait_for_batch(tdb_log *log, int64_t idle_until_ms) {
    while (log->depth == 0 && !log->stopping) {
        log->wake_at = 1;
        bool woken = idle_until_ms ? wait_until(log, idle_until_ms)
                                   : pthread_cond_wait(&log->wake, &log->lock) == 0;
        if (!woken) {
            log->wake_at = 0;
            return;
        }
    }
    int64_t linger_until = monotonic_ms() + LINGER_MS;
    while (log->depth > 0 && log->depth < log->batch_target && !log->stopping &&
           log->flushers == 0) {
        log->wake_at = log->batch_target;
        if (!wait_until(log, linger_until))
            break;
    }
    log->wake_at = 0;
}

/* Records the outcome of a batch of n entries (lock held) and wakes the flushers. */
static void account(tdb_log *log, size_t n, bool ok) {
    if (ok)
        log->written += n;
    else
        log->dropped += n;
    log->done += n;
    pthread_cond_broadcast(&log->done_cond);
}

static void *writer_main(void *arg) {
    tdb_log *log = arg;
    tdb_log_entry *batch = malloc(BATCH_MAX * sizeof *batch);
    int64_t next_prune_ms = monotonic_ms() + PRUNE_INTERVAL_S * 1000;
    bool pruning = false; /* a pruning pass is under way: one chunk between two batches */
    int64_t cutoff = 0;
    lock(log);
    for (;;) {
        wait_for_batch(log, pruning ? monotonic_ms() : next_prune_ms);
        if (log->depth > 0) {
            size_t n = batch ? take_batch(log, batch) : log->depth;
            if (!batch)
                log->depth = 0; /* no memory for a batch: nothing can be written */
            unlock(log);
            bool ok = batch && write_batch(log, batch, n);
            lock(log);
            account(log, n, ok);
        } else if (log->stopping) {
            break;
        }
        if (!pruning && monotonic_ms() >= next_prune_ms) {
            pruning = true;
            cutoff = retention_cutoff(log->retention_days);
        }
        if (pruning && !log->stopping) {
            unlock(log);
            int64_t deleted = prune_chunk(log->db, cutoff, PRUNE_CHUNK);
            lock(log);
            if (deleted < PRUNE_CHUNK) { /* done, or failed: try again next interval */
                pruning = false;
                next_prune_ms = monotonic_ms() + PRUNE_INTERVAL_S * 1000;
            }
        }
    }
    unlock(log);
    free(batch);
    return NULL;
}

/* ---- The public side --------------------------------------------------------------------- */

static bool init_sync(tdb_log *log) {
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&log->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return false;
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->done_cond, NULL);
    return true;
}

static void free_log(tdb_log *log, bool sync_ready) {
    if (sync_ready) {
        pthread_cond_destroy(&log->done_cond);
        pthread_cond_destroy(&log->wake);
        pthread_mutex_destroy(&log->lock);
    }
    sqlite3_finalize(log->insert);
    tdb_close(log->db);
    free(log->ring);
    free(log);
}

tdb_log *tdb_log_start(const char *db_path, const char *key_file, size_t queue_capacity,
                       int retention_days, char *err, size_t err_cap) {
    tdb_log *log = calloc(1, sizeof *log);
    if (!log) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    log->capacity = queue_capacity ? queue_capacity : TDB_LOG_DEFAULT_CAPACITY;
    log->batch_target = log->capacity / 2 < BATCH_MAX ? log->capacity / 2 : BATCH_MAX;
    if (log->batch_target == 0)
        log->batch_target = 1;
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
        free_log(log, false);
        return NULL;
    }
    if (sqlite3_prepare_v3(log->db->sql,
                           "INSERT INTO diagnoses (at, app_id, verdict, cause, code, platform, "
                           "token_fingerprint, channel, uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &log->insert, NULL) != SQLITE_OK) {
        tdbi_sql_fail(log->db, "preparing the diagnosis log");
        snprintf(err, err_cap, "%s", tdb_errmsg(log->db));
        free_log(log, false);
        return NULL;
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA wal_autocheckpoint = %d", WAL_AUTOCHECKPOINT);
    tdbi_exec(log->db, pragma); /* a tuning only: the default works too */
    tdb_diagnoses_prune(log->db, log->retention_days);
    if (!init_sync(log)) {
        snprintf(err, err_cap, "cannot set up the diagnosis log's condition variables");
        free_log(log, false);
        return NULL;
    }
    int rc = pthread_create(&log->writer, NULL, writer_main, log);
    if (rc != 0) {
        snprintf(err, err_cap, "cannot start the diagnosis log writer: %s", strerror(rc));
        free_log(log, true);
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
        if (log->depth == log->wake_at)
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
    log->flushers++;
    pthread_cond_signal(&log->wake); /* cut a linger short */
    while (log->done < target)
        pthread_cond_wait(&log->done_cond, &log->lock);
    log->flushers--;
    unlock(log);
}

void tdb_log_stop(tdb_log *log) {
    if (!log)
        return;
    lock(log);
    log->stopping = true;
    pthread_cond_signal(&log->wake);
    unlock(log);
    pthread_join(log->writer, NULL);
    free_log(log, true);
}

/* ---- Reading ------------------------------------------------------------------------------ */

static json_t *column_text_or_null(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    const char *text = (const char *)sqlite3_column_text(st, col);
    return tdbi_json_text(text ? text : "", (size_t)sqlite3_column_bytes(st, col));
}

static json_t *column_int_or_null(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(st, col));
}

tdb_status tdb_diagnoses_recent(tdb *db, const char *app_id, int limit, json_t **out) {
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
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(
            list,
            json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "at",
                      (json_int_t)sqlite3_column_int64(st, 0), "app_id", column_text_or_null(st, 1),
                      "verdict", column_text_or_null(st, 2), "cause", column_text_or_null(st, 3),
                      "code", column_int_or_null(st, 4), "platform", column_text_or_null(st, 5),
                      "token_fingerprint", column_text_or_null(st, 6), "channel",
                      column_text_or_null(st, 7), "uid", column_text_or_null(st, 8)));
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
    if (retention_days <= 0)
        retention_days = TDB_LOG_DEFAULT_RETENTION_DAYS;
    int64_t cutoff = retention_cutoff(retention_days), total = 0, deleted;
    do {
        deleted = prune_chunk(db, cutoff, PRUNE_CHUNK);
        if (deleted < 0)
            return -1;
        total += deleted;
    } while (deleted == PRUNE_CHUNK);
    return total;
}

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
 * the writer carries on (an unreachable store is different: see Failures).
 *
 * Why 50 ms and 4096 entries: a commit rewrites every page its rows touched, and the rows of
 * one batch are spread over the leaves of the (app_id, at) index, so the bytes written per row
 * fall as batches grow. Measured under `serve` at ~30k diagnoses/s (docs/performance.md): with
 * 10 ms batches the writer took 15.7% of the service's CPU. The writer's connection also lets
 * the WAL grow to WAL_AUTOCHECKPOINT pages (db_log_sqlite.c) before checkpointing (SQLite's default
 * is 1000): fewer checkpoints, and a page changed by several batches is copied back once. Both only
 * delay the log by a fraction of a second; tdb_log_flush still cuts the linger short.
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
 * Deadlines use CLOCK_MONOTONIC (the condition variables are set up for it): a change of the
 * wall clock neither stalls nor hurries the writer.
 *
 * Bounds: retention alone does not bound the log -- anonymous clients can write millions of
 * rows a day. So the writer enforces a bound in rows and one in bytes before every batch, in
 * the batch's own transaction: rows beyond max_rows are counted cheaply as the span of ids
 * (max(id) - min(id) + 1, two index lookups; ids only grow, so the span is never less than the
 * row count), the bytes as the database's used pages (page_count - freelist_count). Over
 * either bound, the oldest rows are deleted first, at most ROOM_CHUNK (two batches' worth) per
 * batch, so that one transaction stays short and a log at its bound turns over at full speed.
 * When that does not make room (the bound was lowered at a restart, or the file's other data
 * alone passes max_mb), the batch is dropped and counted (dropped_bound) instead of waiting:
 * new entries are the ones lost, the bound holds at once, and every batch deletes another
 * chunk until the log fits. Dropping new entries is the choice because deleting without limit
 * would hold the write lock for seconds, and configuration writes share it. The byte bound is
 * checked before the batch is inserted, so the file may pass it by one batch (at most
 * BATCH_MAX rows, ~3 MiB).
 *
 * Failures: a batch that cannot be written is counted (dropped_failed) and its fault (disk full,
 * busy, file gone) is kept as the log's state until a write succeeds, so that /readyz can say
 * "not ready" while writes fail. Once a second while failing and idle, the writer tries the
 * batch that failed last again, whole: when it is written, the state clears even if no
 * diagnosis arrives (a service taken out of rotation by its readiness probe must be able to
 * come back). Whole, because a small write can succeed on a full disk (the write-ahead log is
 * reused after a checkpoint) while the writes that matter fail: probing with one row made the
 * state flap on a real full tmpfs.
 *
 * An unreachable store is not a failed write: when a batch fails with TDB_FAULT_UNAVAILABLE
 * (PostgreSQL down, its session lost: db_pg.c), nothing of it is dropped. The writer copies a
 * batch out of the ring without removing it (peek_batch) and removes it only once the store
 * answered (release_batch), so that such a batch is simply still queued; the writer waits
 * (50 ms doubling to RETRY_INTERVAL_MS) and tries again until the store is back, then writes
 * everything in order. The queue's bound holds throughout -- the batch being written counts
 * in depth, so the ring gives pushes one batch less of room during a commit -- and a push to
 * a full queue is dropped and counted (dropped_queue) as always. The log's fault is
 * TDB_FAULT_UNAVAILABLE meanwhile (/readyz). A stop does not wait for the store: once a batch
 * fails so while stopping, everything still queued is dropped and counted (dropped_failed) at
 * once, so that a stop costs one attempt, not one per batch; tdb_log_flush waits
 * (tdb_log_flush_for is bounded). A connection lost after the server committed a batch but before
 * its answer arrived looks the same from here, so a batch carries a mark (tdbi_batch_mark: this
 * log's random id and the batch's number) that it keeps when it is sent again -- the same entries,
 * exactly (peek_batch's `again`; retry_failed's copy) -- and the store must not write a mark
 * twice (PostgreSQL: db_pg_log.c, "A COMMIT without an answer"; a stop drops such a batch,
 * counted as failed, though it may be stored).
 *
 * Storage: this file never speaks SQL. The writer reaches the database through the store's
 * operations (db->ops: log_attach, log_write, log_prune; db_log_sqlite.c for SQLite, with its
 * test hook TOKENDOCTOR_TEST_LOG_MAX_PAGES), so that the queue, the timing, the bounds'
 * accounting and the retry above are the same whatever the store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"

#define BATCH_MAX 4096         /* entries per transaction at most */
#define LINGER_MS 50           /* how long a batch may gather once the first entry arrived */
#define PRUNE_INTERVAL_S 60    /* retention is enforced this often */
#define PRUNE_CHUNK 5000       /* rows deleted per pruning transaction */
#define RETRY_INTERVAL_MS 1000 /* while writes fail, how often the writer tries again */
#define UNREACHABLE_MIN_MS 50  /* the first wait after the store was found unreachable */

struct tdb_log {
    tdb *db;         /* used by the writer thread only */
    int64_t mark_id; /* this log's random id in the batch marks (tdbi_batch_mark) */
    int retention_days;
    int64_t max_rows, max_bytes;
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
    uint64_t dropped_queue, dropped_bound, dropped_failed, trimmed, recovered;
    tdb_fault fault; /* of the last write; TDB_FAULT_NONE when it succeeded */
    bool at_bound;
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

/* What became of a batch (the store's answer, tdbi_store_ops.log_write). */
typedef tdbi_log_outcome outcome;

/* Commits n entries, batch number `number` (resent: it was sent before), in one transaction,
 * within the bounds. */
static outcome write_batch(tdb_log *log, const tdb_log_entry *batch, size_t n, int64_t number,
                           bool resent) {
    size_t over = 0;
    if ((int64_t)n > log->max_rows) { /* keep the newest: the bound is smaller than a batch */
        over = n - (size_t)log->max_rows;
        batch += over;
        n = (size_t)log->max_rows;
    }
    tdbi_batch_mark mark = {.writer = log->mark_id, .batch = number, .resent = resent};
    outcome o = log->db->ops->log_write(log->db, batch, n, mark, log->max_rows, log->max_bytes);
    o.bound += over;
    return o;
}

static int64_t retention_cutoff(int retention_days) {
    return (int64_t)time(NULL) - (int64_t)retention_days * 86400;
}

/* Copies up to BATCH_MAX entries from the head of the ring into batch (lock held); exactly
 * `again` of them when it is not 0 -- a batch sent again must be the same entries, not grown by
 * what was pushed meanwhile. They stay queued -- counted in depth, so pushes meanwhile cannot
 * take their slots -- until release_batch, so that a batch the store could not be reached for
 * is simply still queued. */
static size_t peek_batch(tdb_log *log, tdb_log_entry *batch, size_t again) {
    size_t n = log->depth < BATCH_MAX ? log->depth : BATCH_MAX;
    if (again > 0 && again < n)
        n = again;
    for (size_t i = 0; i < n; i++)
        batch[i] = log->ring[(log->head + i) % log->capacity];
    return n;
}

/* Removes the n entries peek_batch copied from the ring (lock held). */
static void release_batch(tdb_log *log, size_t n) {
    log->head = (log->head + n) % log->capacity;
    log->depth -= n;
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

/* The fault of the writer's last failure (never TDB_FAULT_NONE: a failure was seen). */
static tdb_fault write_fault(const tdb_log *log) {
    tdb_fault f = tdb_last_fault(log->db);
    return f == TDB_FAULT_NONE ? TDB_FAULT_OTHER : f;
}

/* Records the outcome of a batch (lock held). */
static void account(tdb_log *log, const outcome *o) {
    log->written += o->written;
    log->dropped += o->bound + o->failed;
    log->dropped_bound += o->bound;
    log->dropped_failed += o->failed;
    log->trimmed += (uint64_t)o->room.trimmed;
    log->fault = o->failed ? write_fault(log) : TDB_FAULT_NONE;
    log->at_bound = o->room.trimming || o->bound > 0;
}

/* Records a batch of n entries taken from the ring (lock held) and wakes the flushers. */
static void account_batch(tdb_log *log, size_t n, const outcome *o) {
    account(log, o);
    log->done += n;
    pthread_cond_broadcast(&log->done_cond);
}

/* A batch that failed, kept to be tried again (writer thread only). */
typedef struct {
    tdb_log_entry *entries; /* BATCH_MAX, allocated at the first failure */
    size_t n;
    int64_t number; /* its mark's: a retry is the same batch */
} retry_batch;

/* Keeps a copy of the batch that just failed (or forgets the last one after a success). */
static void keep_for_retry(retry_batch *r, const tdb_log_entry *batch, size_t n, int64_t number,
                           bool failed) {
    r->n = 0;
    if (failed && !r->entries)
        r->entries = malloc(BATCH_MAX * sizeof *r->entries);
    if (failed && r->entries) {
        memcpy(r->entries, batch, n * sizeof *batch);
        r->n = n;
        r->number = number;
    }
}

/* While writes fail: tries the batch that failed last again, whole (lock held; released
 * meanwhile) -- a smaller write could succeed where it fails (a write-ahead log reused after a
 * checkpoint takes a few pages on a full disk). Entries it writes were counted as dropped when
 * they failed: they are counted as recovered (and written), so that every counter only grows. */
static void retry_failed(tdb_log *log, retry_batch *r) {
    unlock(log);
    outcome o = write_batch(log, r->entries, r->n, r->number, true);
    lock(log);
    if (o.failed) {
        log->fault = write_fault(log);
        return;
    }
    r->n = 0;
    log->recovered += o.written;
    o.bound = 0; /* already counted as dropped */
    account(log, &o);
}

/* Whether a failed batch is to stay queued: the store could not be reached (not a fault of
 * the batch or of the disk), and the log is not stopping (a stop must end: what it cannot
 * write then is dropped and counted). */
static bool keep_queued(const tdb_log *log, const outcome *o) {
    return o->failed > 0 && !log->stopping && tdb_last_fault(log->db) == TDB_FAULT_UNAVAILABLE;
}

/* Stopping, with the store unreachable: what is still queued is dropped at once and counted
 * (dropped_failed), rather than each batch waiting for its own attempt to fail -- against a
 * host that vanished, a connection timeout per batch (lock held). */
static void drop_queued(tdb_log *log) {
    size_t n = log->depth;
    if (n == 0)
        return; /* nothing left: and the fault of the failure stays */
    outcome o = {.failed = n};
    release_batch(log, n);
    account_batch(log, n, &o);
}

/* The wait before trying the queue again while the store is unreachable: doubling from
 * UNREACHABLE_MIN_MS to RETRY_INTERVAL_MS. */
static int64_t next_backoff(int64_t backoff_ms) {
    if (backoff_ms <= 0)
        return UNREACHABLE_MIN_MS;
    return backoff_ms * 2 < RETRY_INTERVAL_MS ? backoff_ms * 2 : RETRY_INTERVAL_MS;
}

/* Called with the lock held while the store is unreachable and entries are queued: waits until
 * the monotonic time until_ms, or a stop. Pushes do not wake it (wake_at stays 0); a flush does
 * not cut it short either (there is nothing it could write). */
static void wait_unreachable(tdb_log *log, int64_t until_ms) {
    while (!log->stopping && monotonic_ms() < until_ms)
        if (!wait_until(log, until_ms))
            break;
}

/* When the writer must wake up without entries: now while pruning, at the next retry while
 * writes fail, else at the next pruning pass. */
static int64_t idle_deadline(const tdb_log *log, bool pruning, int64_t next_prune_ms,
                             int64_t next_retry_ms) {
    if (pruning)
        return monotonic_ms();
    return log->fault != TDB_FAULT_NONE && next_retry_ms < next_prune_ms ? next_retry_ms
                                                                         : next_prune_ms;
}

static void *writer_main(void *arg) {
    tdb_log *log = arg;
    tdb_log_entry *batch = malloc(BATCH_MAX * sizeof *batch);
    retry_batch retry = {NULL, 0, 0};
    int64_t number = 0; /* the batch's mark: the last one given */
    size_t again = 0;   /* > 0: the batch of that many is still queued, to be sent again */
    int64_t next_prune_ms = monotonic_ms() + PRUNE_INTERVAL_S * 1000, next_retry_ms = 0;
    int64_t backoff_ms = 0; /* > 0 while the store is unreachable with entries queued */
    bool pruning = false;   /* a pruning pass is under way: one chunk between two batches */
    int64_t cutoff = 0;
    lock(log);
    for (;;) {
        if (backoff_ms > 0 && log->depth > 0)
            wait_unreachable(log, next_retry_ms);
        else
            wait_for_batch(log, idle_deadline(log, pruning, next_prune_ms, next_retry_ms));
        if (log->depth > 0) {
            number += again == 0;
            size_t n = batch ? peek_batch(log, batch, again) : log->depth;
            unlock(log);
            outcome o =
                batch ? write_batch(log, batch, n, number, again > 0) : (outcome){.failed = n};
            lock(log);
            again = 0;
            if (batch && keep_queued(log, &o)) { /* still queued: tried again after a while */
                again = n;
                log->fault = TDB_FAULT_UNAVAILABLE;
                backoff_ms = next_backoff(backoff_ms);
                next_retry_ms = monotonic_ms() + backoff_ms;
                continue;
            }
            backoff_ms = 0;
            release_batch(log, n);
            account_batch(log, n, &o);
            if (o.failed > 0 && log->stopping && tdb_last_fault(log->db) == TDB_FAULT_UNAVAILABLE)
                drop_queued(log);
            if (batch)
                keep_for_retry(&retry, batch, n, number, o.failed > 0);
            next_retry_ms = monotonic_ms() + RETRY_INTERVAL_MS;
        } else if (log->stopping) {
            break;
        } else if (log->fault != TDB_FAULT_NONE && retry.n > 0 && monotonic_ms() >= next_retry_ms) {
            retry_failed(log, &retry);
            next_retry_ms = monotonic_ms() + RETRY_INTERVAL_MS;
        }
        if (!pruning && monotonic_ms() >= next_prune_ms) {
            pruning = true;
            cutoff = retention_cutoff(log->retention_days);
        }
        if (pruning && !log->stopping) {
            unlock(log);
            int64_t deleted = log->db->ops->log_prune(log->db, cutoff, PRUNE_CHUNK);
            lock(log);
            if (deleted < PRUNE_CHUNK) { /* done, or failed: try again next interval */
                pruning = false;
                next_prune_ms = monotonic_ms() + PRUNE_INTERVAL_S * 1000;
            }
        }
    }
    unlock(log);
    free(batch);
    free(retry.entries);
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
    pthread_condattr_init(&attr);
    ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&log->done_cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    return ok;
}

static void free_log(tdb_log *log, bool sync_ready) {
    if (sync_ready) {
        pthread_cond_destroy(&log->done_cond);
        pthread_cond_destroy(&log->wake);
        pthread_mutex_destroy(&log->lock);
    }
    tdb_close(log->db);
    free(log->ring);
    free(log);
}

tdb_log *tdb_log_start(const char *db_path, const char *key_file, size_t queue_capacity,
                       int retention_days, char *err, size_t err_cap) {
    tdb_log_options o = {.queue_capacity = queue_capacity, .retention_days = retention_days};
    return tdb_log_start_opts(db_path, key_file, &o, err, err_cap);
}

tdb_log *tdb_log_start_opts(const char *db_path, const char *key_file, const tdb_log_options *o,
                            char *err, size_t err_cap) {
    tdb_log *log = calloc(1, sizeof *log);
    if (!log) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    size_t queue_capacity = o->queue_capacity;
    int retention_days = o->retention_days;
    log->max_rows = o->max_rows > 0 ? o->max_rows : TDB_LOG_DEFAULT_MAX_ROWS;
    log->max_bytes = (o->max_mb > 0 ? o->max_mb : TDB_LOG_DEFAULT_MAX_MB) * 1024 * 1024;
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
    uint64_t id = 0;
    if (!tdbi_random(log->db, (unsigned char *)&id, sizeof id)) {
        snprintf(err, err_cap, "cannot draw the diagnosis log's id: random generator failed");
        free_log(log, false);
        return NULL;
    }
    log->mark_id = (int64_t)(id >> 1) | 1; /* positive, never 0 */
    if (!log->db->ops->log_attach(log->db)) {
        snprintf(err, err_cap, "%s", tdb_errmsg(log->db));
        free_log(log, false);
        return NULL;
    }
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
        log->dropped_queue++;
    }
    unlock(log);
    return accepted;
}

void tdb_log_snapshot(tdb_log *log, tdb_log_stats *stats, tdb_log_health *health) {
    lock(log);
    if (stats)
        *stats = (tdb_log_stats){.depth = log->depth,
                                 .capacity = log->capacity,
                                 .dropped = log->dropped,
                                 .written = log->written};
    if (health)
        *health = (tdb_log_health){.dropped_queue = log->dropped_queue,
                                   .dropped_bound = log->dropped_bound,
                                   .dropped_failed = log->dropped_failed,
                                   .trimmed = log->trimmed,
                                   .recovered = log->recovered,
                                   .fault = log->fault,
                                   .at_bound = log->at_bound,
                                   .max_rows = log->max_rows,
                                   .max_mb = log->max_bytes / (1024 * 1024)};
    unlock(log);
}

/* Waits until every entry queued so far is done, or until the monotonic time *until (NULL:
 * no limit); false when that came first. */
static bool flush_until(tdb_log *log, const struct timespec *until) {
    lock(log);
    uint64_t target = log->accepted;
    log->flushers++;
    pthread_cond_signal(&log->wake); /* cut a linger short */
    bool timed_out = false;
    while (log->done < target && !timed_out) {
        timed_out = until ? pthread_cond_timedwait(&log->done_cond, &log->lock, until) == ETIMEDOUT
                          : pthread_cond_wait(&log->done_cond, &log->lock) != 0;
    }
    log->flushers--;
    bool done = log->done >= target;
    unlock(log);
    return done;
}

bool tdb_log_flush_for(tdb_log *log, int timeout_ms) {
    int64_t deadline_ms = monotonic_ms() + timeout_ms;
    struct timespec until = {.tv_sec = (time_t)(deadline_ms / 1000),
                             .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
    return flush_until(log, &until);
}

void tdb_log_flush(tdb_log *log) {
    flush_until(log, NULL);
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

int64_t tdb_diagnoses_prune(tdb *db, int retention_days) {
    if (retention_days <= 0)
        retention_days = TDB_LOG_DEFAULT_RETENTION_DAYS;
    int64_t cutoff = retention_cutoff(retention_days), total = 0, deleted;
    do {
        deleted = db->ops->log_prune(db, cutoff, PRUNE_CHUNK);
        if (deleted < 0)
            return -1;
        total += deleted;
    } while (deleted == PRUNE_CHUNK);
    return total;
}

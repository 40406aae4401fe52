/* test_db_storage.c -- the store under storage faults and floods: the diagnosis log's bounds
 * (rows and bytes), a write that fails (SQLite's page limit standing in for a full disk), a
 * database file deleted while open, another writer holding the lock, and messages that never
 * name the database's directory. Each test fails on the store before these were handled: the
 * log grew without bound, a failed write left no trace but a counter, a write to a deleted file
 * succeeded (and was lost), and a write waited 5 s for the lock.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tddb.h"
#include "tdbtest.h"
#include "testutil.h"

/* A sandbox with its database made (the key file too), as the service would find it. */
static void sandbox_init(tdbt_sandbox *s) {
    tdbt_sandbox_init(s, "tddb-storage", "");
    char err[600];
    tdb *db = tdb_open(s->db, s->key, err, sizeof err);
    if (!CHECK(db != NULL, "%s", err))
        exit(1);
    tdb_close(db);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Entry n; `big` fills the account and the channel to their maximum (~700 bytes a row). */
static void make_entry(tdb_log_entry *e, int n, bool big) {
    memset(e, 0, sizeof *e);
    e->at = 1700000000 + n;
    snprintf(e->app_id, sizeof e->app_id, "%032x", (unsigned)n % 7);
    snprintf(e->verdict, sizeof e->verdict, "rejected");
    snprintf(e->cause, sizeof e->cause, "token_expired");
    e->code = 109;
    snprintf(e->platform, sizeof e->platform, "native");
    snprintf(e->token_fingerprint, sizeof e->token_fingerprint, "%016x", (unsigned)n);
    /* uid: unique and ordered (the newest rows can be told), padded to its maximum when big */
    int len = snprintf(e->uid, sizeof e->uid, "%010d", n);
    if (big) {
        memset(e->channel, 'c', sizeof e->channel - 1);
        memset(e->uid + len, 'u', sizeof e->uid - 1 - (size_t)len);
    }
}

/* Pushes entries first..first+n-1 and waits until they are committed or dropped. */
static void push_range(tdb_log *log, int first, int n, bool big) {
    tdb_log_entry e;
    for (int i = first; i < first + n; i++) {
        make_entry(&e, i, big);
        tdb_log_push(log, &e);
    }
    tdb_log_flush(log);
}

static tdb_log *start_log(const tdbt_sandbox *s, int64_t max_rows, int64_t max_mb) {
    char err[600];
    tdb_log_options o = {.queue_capacity = 8192, .max_rows = max_rows, .max_mb = max_mb};
    tdb_log *log = tdb_log_start_opts(s->db, s->key, &o, err, sizeof err);
    if (!CHECK(log != NULL, "%s", err))
        exit(1);
    return log;
}

/* A flood stays within max_rows, the newest rows kept; a batch larger than the bound keeps its
 * newest entries and counts the others as dropped at the bound. */
static void test_bound_rows(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb_log *log = start_log(&s, 100, 0);
    for (int b = 0; b < 10; b++)
        push_range(log, b * 100, 100, false);
    CHECK(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == 100, "%lld rows",
          (long long)tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses"));
    EXPECT(tdbt_sql_int(s.db, "SELECT min(CAST(uid AS INTEGER)) FROM diagnoses") == 900);
    tdb_log_health h;
    tdb_log_snapshot(log, NULL, &h);
    EXPECT(h.trimmed == 900 && h.at_bound && h.dropped_bound == 0 && h.max_rows == 100);
    EXPECT(h.fault == TDB_FAULT_NONE);

    push_range(log, 1000, 150, false);
    tdb_log_stats st;
    tdb_log_snapshot(log, &st, &h);
    EXPECT(h.dropped_bound == 50 && st.dropped == 50 && st.written == 1100);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == 100);
    EXPECT(tdbt_sql_int(s.db, "SELECT min(CAST(uid AS INTEGER)) FROM diagnoses") == 1050);
    tdb_log_stop(log);
    tdbt_sandbox_free(&s);
}

/* The size bound: rows of ~700 bytes, 14 MB of them, into a 1 MiB bound. The file's used pages
 * stay within the bound plus one batch. */
static void test_bound_bytes(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb_log *log = start_log(&s, 0, 1);
    for (int b = 0; b < 20; b++)
        push_range(log, b * 1000, 1000, true);
    /* PostgreSQL: what its writer estimates (db_pg_log.c), exactly: rows and their data. */
    int64_t used =
        tdbt_pg()
            ? tdbt_sql_int(s.db,
                           "SELECT sum(pg_column_size(d.*)) + 100 * count(*) FROM diagnoses d")
            : tdbt_sql_int(s.db, "SELECT (page_count - freelist_count) * page_size FROM "
                                 "pragma_page_count, pragma_freelist_count, pragma_page_size");
    CHECK(used > 0 && used <= 2 * 1024 * 1024, "%lld bytes used", (long long)used);
    tdb_log_health h;
    tdb_log_stats st;
    tdb_log_snapshot(log, &st, &h);
    EXPECT(h.trimmed > 0 && h.max_mb == 1);
    EXPECT(st.written + st.dropped == 20000 && st.dropped == h.dropped_bound);
    int64_t rows = tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses");
    CHECK(rows > 500 && rows < 4000, "%lld rows", (long long)rows);
    tdb_log_stop(log);
    tdbt_sandbox_free(&s);
}

/* A write that fails (SQLITE_FULL: the writer's page limit, as a full disk would) is counted,
 * and the log says so until a write succeeds again -- by the writer's own retry of the batch
 * that failed, without any new entry. */
static void test_write_fails(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char pages[32];
    snprintf(pages, sizeof pages, "%lld", (long long)tdbt_sql_int(s.db, "PRAGMA page_count") + 20);
    setenv("TOKENDOCTOR_TEST_LOG_MAX_PAGES", pages, 1);
    tdb_log *log = start_log(&s, 0, 0);
    unsetenv("TOKENDOCTOR_TEST_LOG_MAX_PAGES");
    tdb_log_health h = {0};
    for (int b = 0; b < 50 && h.fault == TDB_FAULT_NONE; b++) {
        push_range(log, b * 50, 50, true); /* ~35 KB: two fit, the third does not */
        tdb_log_snapshot(log, NULL, &h);
    }
    CHECK(h.fault == TDB_FAULT_FULL, "fault %d", (int)h.fault);
    EXPECT(h.dropped_failed == 50);
    EXPECT(strcmp(tdb_fault_text(h.fault), "disk full") == 0);

    sqlite3 *h2 = NULL;
    EXPECT(sqlite3_open(s.db, &h2) == SQLITE_OK);
    sqlite3_busy_timeout(h2, 5000);
    EXPECT(sqlite3_exec(h2, "DELETE FROM diagnoses", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h2);
    int64_t until = now_ms() + 5000;
    while (h.fault != TDB_FAULT_NONE && now_ms() < until) {
        usleep(50 * 1000);
        tdb_log_snapshot(log, NULL, &h);
    }
    EXPECT(h.fault == TDB_FAULT_NONE);
    /* the batch that failed, written by the retry; still counted as dropped, and recovered */
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == 50);
    EXPECT(h.recovered == 50 && h.dropped_failed == 50);
    tdb_log_stop(log);
    tdbt_sandbox_free(&s);
}

static void make_project(diag_project *p, const char *app_id) {
    memset(p, 0, sizeof *p);
    snprintf(p->app_id, sizeof p->app_id, "%s", app_id);
    p->no_certificate = true;
}

/* A database file deleted while open: writes are refused (they would be lost with the last
 * connection), the store says why without naming the directory, and nothing is recreated. */
static void test_file_gone(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char err[600];
    tdb *db = tdb_open(s.db, s.key, err, sizeof err);
    if (!CHECK(db != NULL, "%s", err))
        return;
    diag_project p;
    make_project(&p, "0123456789abcdef0123456789abcdef");
    EXPECT(!tdb_file_gone(db));
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    char key[TDB_APIKEY_LEN + 1];
    EXPECT(tdb_apikey_create(db, TDB_ROLE_ADMIN, "ops", key, NULL) == TDB_OK);
    explicit_bzero(key, sizeof key);
    EXPECT(unlink(s.db) == 0);
    EXPECT(tdb_file_gone(db));
    /* A revocation too: before, it was written into the deleted file and reported done. */
    EXPECT(tdb_apikey_revoke(db, "ops") == TDB_ERROR);
    EXPECT(tdb_last_fault(db) == TDB_FAULT_GONE);
    make_project(&p, "fedcba9876543210fedcba9876543210");
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_ERROR);
    EXPECT(tdb_last_fault(db) == TDB_FAULT_GONE);
    CHECK(strstr(tdb_errmsg(db), "deleted") && !strstr(tdb_errmsg(db), s.dir), "%s",
          tdb_errmsg(db));
    char reason[256];
    EXPECT(!tdb_ready(db, reason, sizeof reason));
    CHECK(strstr(reason, "deleted") && !strstr(reason, s.dir), "%s", reason);
    EXPECT(access(s.db, F_OK) != 0);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Another process holds the write lock: a connection with the request threads' busy timeout
 * gives up within milliseconds with TDB_FAULT_BUSY (not after 5 s); the log's flush for a
 * request returns at its deadline. */
static void test_busy(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char err[600];
    tdb *db = tdb_open(s.db, s.key, err, sizeof err);
    tdb_log *log = start_log(&s, 0, 0);
    if (!CHECK(db != NULL, "%s", err))
        return;
    tdb_set_busy_timeout(db, TDB_REQUEST_BUSY_MS);
    sqlite3 *holder = NULL;
    EXPECT(sqlite3_open(s.db, &holder) == SQLITE_OK);
    EXPECT(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);

    diag_project p;
    make_project(&p, "0123456789abcdef0123456789abcdef");
    int64_t t0 = now_ms();
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_ERROR);
    int64_t waited = now_ms() - t0;
    CHECK(waited < 250, "waited %lld ms", (long long)waited);
    EXPECT(tdb_last_fault(db) == TDB_FAULT_BUSY);
    CHECK(!strstr(tdb_errmsg(db), s.dir), "%s", tdb_errmsg(db));

    tdb_log_entry e;
    make_entry(&e, 1, false);
    EXPECT(tdb_log_push(log, &e));
    t0 = now_ms();
    EXPECT(!tdb_log_flush_for(log, 20));
    waited = now_ms() - t0;
    CHECK(waited < 250, "flush waited %lld ms", (long long)waited);

    EXPECT(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(holder);
    EXPECT(tdb_log_flush_for(log, 10000));
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    tdb_log_stop(log);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static const tu_test TESTS[] = {
    {"bound_rows", test_bound_rows},
    {"bound_bytes", test_bound_bytes},
    {"write_fails", test_write_fails},
    {"file_gone", test_file_gone},
    {"busy", test_busy},
};

int main(int argc, char **argv) {
    unsetenv(TDB_ENV_PATH);
    unsetenv(TDB_ENV_KEY_FILE);
    if (tdbt_use_pg(&argc, argv)) {
        /* The bounds on PostgreSQL; the faults are SQLite's (a page limit, a file, a lock). */
        static const tu_test pg_tests[] = {
            {"bound_rows", test_bound_rows},
            {"bound_bytes", test_bound_bytes},
        };
        return tu_run_tests(pg_tests, sizeof pg_tests / sizeof pg_tests[0], argv + 1, argc - 1,
                            "db_storage_pg");
    }
    return tu_run_tests(TESTS, sizeof TESTS / sizeof TESTS[0], argv + 1, argc - 1, "db_storage");
}

/* test_storage.c -- `tokendoctor serve` when storage is flooded or fails (issue 15, defects 5
 * and 6), one suite per case, each against a real service (tsrv.h):
 *
 *   bound  anonymous batches cannot grow the diagnosis log past --log-max-rows; diagnoses are
 *          still answered and the drops are counted in /readyz, /metrics and on stderr;
 *   rate   the diagnose routes are limited per client address, a batch costing its items:
 *          429 with Retry-After, shared by the workers;
 *   full   the log's writes fail (SQLITE_FULL, through the documented test hook
 *          TOKENDOCTOR_TEST_LOG_MAX_PAGES): /readyz is 503 with the reason until writes work;
 *   gone   the database file is deleted while serving: writes are refused (503), /readyz says
 *          why, diagnoses are still answered;
 *   busy   another process holds the write lock: a write answers 503 store_busy with
 *          Retry-After within milliseconds, and /healthz on the same worker is not held up.
 *
 * Every suite also checks that no answer and no line on stderr (but the start banner, which
 * names the database the operator chose) contains the database's directory.
 */
#include "tsrv.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define APP_A "0123456789abcdef0123456789abcdef"
#define APP_B "fedcba9876543210fedcba9876543210"
#define PROJECT "{\"name\":\"s\",\"no_certificate\":true}"
#define ONE "{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}"

static const char *bin;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A service with extra options in a fresh directory (p->dir). */
static bool start(tsrv_proc *p, const char *const *extra) {
    char dir[sizeof p->dir];
    return CHECK(tu_mkdtemp(dir, sizeof dir, "tdstore"), "mkdtemp") &&
           CHECK(tsrv_start(p, bin, dir, extra), "the service did not start");
}

static const char *err_code(json_t *doc) {
    return json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
}

static const char *err_message(json_t *doc) {
    return json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
}

/* A batch of n items; big: a 120-character channel and a 240-character account, so that each
 * log row is ~700 bytes. */
static char *batch_body(int n, bool big) {
    char channel[121], account[241];
    memset(channel, 'c', sizeof channel - 1);
    memset(account, 'u', sizeof account - 1);
    channel[big ? sizeof channel - 1 : 1] = '\0';
    account[big ? sizeof account - 1 : 1] = '\0';
    size_t cap = (size_t)n * 512 + 64, len = 0;
    char *b = malloc(cap);
    len += (size_t)snprintf(b + len, cap - len, "{\"requests\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"app_id\":\"" APP_A "\",\"channel\":\"%s%d\","
                                "\"account\":\"%s%d\"}",
                                i ? "," : "", channel, i, account, i);
    snprintf(b + len, cap - len, "]}");
    return b;
}

/* POSTs a batch of n items: its status; *items the number of results answered. */
static int post_batch(int port, int n, bool big, size_t *items, tsrv_resp *raw) {
    char *body = batch_body(n, big);
    json_t *j = NULL;
    int status = tsrv_call(port, "POST", "/v1/diagnose/batch", NULL, body, &j, raw);
    if (items)
        *items = json_array_size(json_object_get(j, "results"));
    json_decref(j);
    free(body);
    return status;
}

/* The value of a metric line that starts with `series ` in /metrics; -1 when absent. */
static long long metric(int port, const char *series) {
    tsrv_resp raw;
    long long v = -1;
    if (tsrv_call(port, "GET", "/metrics", NULL, NULL, NULL, &raw) == 200 && raw.body) {
        size_t len = strlen(series);
        for (const char *l = raw.body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (strncmp(l, series, len) == 0 && l[len] == ' ')
                v = atoll(l + len + 1);
    }
    tsrv_resp_free(&raw);
    return v;
}

/* GET /readyz: its status, the body in *doc (caller frees). */
static int readyz(int port, json_t **doc) {
    return tsrv_call(port, "GET", "/readyz", NULL, NULL, doc, NULL);
}

/* Waits up to timeout_ms for /readyz to answer `want`. */
static bool wait_readyz(int port, int want, int timeout_ms) {
    for (int64_t until = now_ms() + timeout_ms;; tsrv_sleep_ms(50)) {
        json_t *j = NULL;
        int st = readyz(port, &j);
        json_decref(j);
        if (st == want)
            return true;
        if (now_ms() > until)
            return false;
    }
}

/* Defect 6(d): no answer, and no line on stderr but the start banner, names its directory. */
static void check_no_directory(const tsrv_proc *p) {
    const char *dir = p->dir;
    CHECK(!tsrv_transcript || !strstr(tsrv_transcript, dir), "an answer names the directory %s",
          dir);
    size_t len = 0;
    char *err = tu_read_file(p->err, &len);
    for (char *l = err; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        CHECK(strncmp(l, "tokendoctor: serving ", 21) == 0 || !strstr(l, dir),
              "stderr names the directory: %s", l);
        l = nl ? nl + 1 : NULL;
    }
    free(err);
}

/* Every suite's end: nothing named the directory, SIGTERM stops the service with 0, and the
 * directory goes. */
static void finish(tsrv_proc *p) {
    check_no_directory(p);
    CHECK(tsrv_stop(p, SIGTERM) == 0, "exit 0");
    EXPECT(tu_rmtree(p->dir));
}

/* ---- bound ---------------------------------------------------------------------------------- */

static void suite_bound(void) {
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", "--log-max-rows", "100", NULL};
    if (!start(&p, extra))
        return;
    for (int i = 0; i < 8; i++) { /* 500 items: ~40 KB, within the default body limit */
        size_t items = 0;
        CHECK(post_batch(p.port, 500, false, &items, NULL) == 200 && items == 500,
              "batch %d: every item answered (%zu)", i, items);
    }
    /* Everything queued is written or dropped once written + dropped reaches 4000. */
    long long written = 0, dropped = 0;
    for (int64_t until = now_ms() + 10000; written + dropped < 4000 && now_ms() < until;
         tsrv_sleep_ms(50)) {
        written = metric(p.port, "tokendoctor_diagnosis_log_written_total");
        dropped = metric(p.port, "tokendoctor_diagnosis_log_dropped_total");
    }
    CHECK(written + dropped == 4000, "written %lld + dropped %lld", written, dropped);
    long long rows = tsrv_sql_count(p.db, "SELECT count(*) FROM diagnoses");
    CHECK(rows > 0 && rows <= 100, "%lld rows in the log (bound 100)", rows);
    long long at_bound =
        metric(p.port, "tokendoctor_diagnosis_log_dropped_by_reason_total{reason=\"at_bound\"}");
    CHECK(at_bound > 0 && at_bound == dropped, "dropped at the bound: %lld of %lld", at_bound,
          dropped);
    EXPECT(metric(p.port, "tokendoctor_diagnosis_log_trimmed_total") > 0);

    json_t *j = NULL;
    CHECK(readyz(p.port, &j) == 200, "a log at its bound is still ready");
    json_t *log = json_object_get(j, "diagnosis_log");
    CHECK(json_is_true(json_object_get(log, "at_bound")) &&
              json_integer_value(json_object_get(log, "dropped_at_bound")) == at_bound &&
              json_integer_value(json_object_get(log, "max_rows")) == 100,
          "readyz details the bound");
    json_decref(j);
    EXPECT(tsrv_wait_stderr(&p, "tokendoctor: diagnosis log: ", 5));
    finish(&p);
}

/* ---- rate ------------------------------------------------------------------------------------ */

static void suite_rate(void) {
    tsrv_proc p;
    /* 1 item a second: the calls below, made within that second, all find the bucket empty */
    const char *extra[] = {
        "--threads", "2", "--rate-limit", "1", "--rate-burst", "10", "--batch-limit", "10", NULL};
    if (!start(&p, extra))
        return;
    size_t items = 0;
    CHECK(post_batch(p.port, 10, false, &items, NULL) == 200 && items == 10, "the burst is paid");
    /* The bucket is empty for every worker: each call is a new connection, and SO_REUSEPORT
     * spreads those over both workers. */
    for (int i = 0; i < 4; i++) {
        tsrv_resp raw;
        json_t *j = NULL;
        int st = tsrv_call(p.port, "POST", "/v1/diagnose", NULL, ONE, &j, &raw);
        char retry[16] = "";
        CHECK(st == 429 && tsrv_header(&raw, "Retry-After", retry, sizeof retry) &&
                  strcmp(retry, "1") == 0,
              "call %d: 429 with Retry-After 1 (got %d, '%s')", i, st, retry);
        CHECK(err_code(j) && strcmp(err_code(j), "rate_limited") == 0 && err_message(j),
              "the JSON error shape");
        json_decref(j);
        tsrv_resp_free(&raw);
    }
    tsrv_resp raw;
    char retry[16] = "";
    CHECK(post_batch(p.port, 10, false, NULL, &raw) == 429 &&
              tsrv_header(&raw, "Retry-After", retry, sizeof retry) && strcmp(retry, "10") == 0,
          "a batch costs its 10 items: Retry-After 10 ('%s')", retry);
    tsrv_resp_free(&raw);
    CHECK(tsrv_call(p.port, "GET", "/healthz", NULL, NULL, NULL, NULL) == 200, "probes are free");
    CHECK(tsrv_call(p.port, "POST", "/v1/decode", NULL, "{\"token\":\"x\"}", NULL, NULL) != 429,
          "decode writes nothing and is not limited");
    tsrv_sleep_ms(1100);
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL, ONE, NULL, NULL) == 200,
          "refilled after Retry-After");
    EXPECT(metric(p.port,
                  "tokendoctor_http_requests_total{route=\"/v1/diagnose\",status=\"429\"}") == 4);
    finish(&p);
}

/* ---- full ------------------------------------------------------------------------------------ */

static void suite_full(void) {
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", NULL};
    setenv("TOKENDOCTOR_TEST_LOG_MAX_PAGES", "80", 1);
    bool started = start(&p, extra);
    unsetenv("TOKENDOCTOR_TEST_LOG_MAX_PAGES");
    if (!started)
        return;
    CHECK(readyz(p.port, NULL) == 200, "ready at first");
    int batches = 0;
    for (; batches < 60 && readyz(p.port, NULL) == 200; batches++) {
        size_t items = 0;
        CHECK(post_batch(p.port, 100, true, &items, NULL) == 200 && items == 100,
              "diagnoses are answered while the log fails");
        tsrv_sleep_ms(100);
    }
    json_t *j = NULL;
    CHECK(readyz(p.port, &j) == 503, "not ready while the log cannot write");
    CHECK(err_code(j) && strcmp(err_code(j), "not_ready") == 0 && err_message(j) &&
              strstr(err_message(j), "disk full"),
          "the reason: %s", err_message(j) ? err_message(j) : "(none)");
    json_decref(j);
    EXPECT(metric(p.port, "tokendoctor_diagnosis_log_write_failing") == 1);
    EXPECT(metric(p.port, "tokendoctor_diagnosis_log_dropped_by_reason_total{reason=\"write_"
                          "failed\"}") > 0);
    EXPECT(tsrv_wait_stderr(&p, "writes fail: disk full", 5));

    /* Room again: the writer's retry finds it without any new diagnosis. */
    sqlite3 *h = NULL;
    EXPECT(sqlite3_open(p.db, &h) == SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    EXPECT(sqlite3_exec(h, "DELETE FROM diagnoses", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    CHECK(wait_readyz(p.port, 200, 5000), "ready again once writes work");
    EXPECT(metric(p.port, "tokendoctor_diagnosis_log_write_failing") == 0);
    finish(&p);
}

/* ---- gone ------------------------------------------------------------------------------------ */

static void suite_gone(void) {
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", NULL};
    if (!start(&p, extra))
        return;
    json_t *j = NULL;
    CHECK(tsrv_call(p.port, "PUT", "/v1/projects/" APP_A, p.admin_key, PROJECT, NULL, NULL) == 201,
          "PUT before");
    EXPECT(unlink(p.db) == 0);
    CHECK(readyz(p.port, &j) == 503 && err_message(j) && strstr(err_message(j), "deleted"),
          "not ready: %s", err_message(j) ? err_message(j) : "(none)");
    json_decref(j);
    CHECK(tsrv_call(p.port, "PUT", "/v1/projects/" APP_B, p.admin_key, PROJECT, &j, NULL) == 503,
          "a write to a deleted database is refused, not lost");
    CHECK(err_code(j) && strcmp(err_code(j), "store_unavailable") == 0, "store_unavailable");
    json_decref(j);
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL, ONE, NULL, NULL) == 200,
          "diagnoses are still answered");
    finish(&p);
}

/* ---- busy ------------------------------------------------------------------------------------ */

typedef struct {
    int port;
    const char *key;
    int status;
    int64_t took_ms;
    char retry[16];
    char code[32];
} put_call;

static void *put_project(void *arg) {
    put_call *c = arg;
    tsrv_resp raw;
    json_t *j = NULL;
    int64_t t0 = now_ms();
    c->status = tsrv_call(c->port, "PUT", "/v1/projects/" APP_B, c->key, PROJECT, &j, &raw);
    c->took_ms = now_ms() - t0;
    if (!tsrv_header(&raw, "Retry-After", c->retry, sizeof c->retry))
        c->retry[0] = '\0';
    snprintf(c->code, sizeof c->code, "%s", err_code(j) ? err_code(j) : "");
    json_decref(j);
    tsrv_resp_free(&raw);
    return NULL;
}

static void suite_busy(void) {
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", NULL};
    if (!start(&p, extra))
        return;
    CHECK(tsrv_call(p.port, "PUT", "/v1/projects/" APP_A, p.admin_key, PROJECT, NULL, NULL) == 201,
          "PUT before");
    sqlite3 *holder = NULL;
    EXPECT(sqlite3_open(p.db, &holder) == SQLITE_OK);
    EXPECT(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);

    /* A write and, while it may still wait, a probe on the same (only) worker. */
    put_call c = {.port = p.port, .key = p.admin_key};
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, put_project, &c) == 0);
    tsrv_sleep_ms(30);
    int64_t t0 = now_ms();
    EXPECT(tsrv_call(p.port, "GET", "/healthz", NULL, NULL, NULL, NULL) == 200);
    int64_t healthz_ms = now_ms() - t0;
    pthread_join(t, NULL);
    CHECK(healthz_ms < 500, "/healthz took %lld ms while a write met the lock",
          (long long)healthz_ms);
    CHECK(c.status == 503 && strcmp(c.code, "store_busy") == 0 && strcmp(c.retry, "1") == 0,
          "the write: %d %s, Retry-After '%s'", c.status, c.code, c.retry);
    CHECK(c.took_ms < 500, "the write answered after %lld ms", (long long)c.took_ms);

    /* Reading the log does not wait for a writer stuck behind the lock either. */
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL, ONE, NULL, NULL) == 200, "diagnose");
    t0 = now_ms();
    CHECK(tsrv_call(p.port, "GET", "/v1/projects/" APP_A "/diagnoses", p.admin_key, NULL, NULL,
                    NULL) == 200,
          "diagnoses");
    CHECK(now_ms() - t0 < 500, "reading the log took %lld ms", (long long)(now_ms() - t0));

    EXPECT(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(holder);
    CHECK(tsrv_call(p.port, "PUT", "/v1/projects/" APP_B, p.admin_key, PROJECT, NULL, NULL) == 201,
          "the write works once the lock is free");
    finish(&p);
}

int main(int argc, char **argv) {
    unsetenv("TOKENDOCTOR_TEST_LOG_MAX_PAGES");
    const char **const args[] = {&bin};
    const tu_test suites[] = {{"bound", suite_bound},
                              {"rate", suite_rate},
                              {"full", suite_full},
                              {"gone", suite_gone},
                              {"busy", suite_busy}};
    const tsrv_suites t = {"test_storage TOKENDOCTOR SUITE", args, 1, suites,
                           (int)(sizeof suites / sizeof suites[0])};
    return tsrv_run_suites(argc, argv, &t);
}

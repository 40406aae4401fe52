/* test_park.c -- the service on PostgreSQL never waits on the network in its event loop
 * (server/srv_store.c), against a real service and a real server whose backends are stopped
 * (SIGSTOP, as db_store_pg's stalled_server_pg does) while the checks run:
 *
 *   stalled   with one worker (5 connections: 3 x threads + 2, docs/deployment.md), a diagnosis
 *             of an App ID not cached is parked on the store thread; meanwhile /healthz and a
 *             diagnosis of a cached project on that same worker
 *             answer at once (under 200 ms; the old service's loop waited for the store, some
 *             3 s); the parked diagnosis is 503 store_unavailable with Retry-After within the
 *             store's bound; a parked diagnosis and a parked read whose clients close their
 *             connections meanwhile are answered into closed connections without harm (the
 *             service still answers, and under ASan nothing is used after it was freed); the
 *             backends resumed, the App ID is diagnosed (200). A request pipelined behind a
 *             parked GET is answered after it (libevent 2.1 exits the process on bytes it
 *             reads for a request not answered yet: it must not read them meanwhile).
 *   shutdown  SIGTERM while a request is parked: the request is answered (not dropped), and the
 *             service exits 0.
 *   busy      SRV_STORE_QUEUE_MAX (256) requests parked on one worker: the next is 503
 *             store_busy with Retry-After at once.
 *
 * Skipped (77) without $TOKENDOCTOR_TEST_PG, like the db suite's _pg variants.
 */
#include "tddb.h"
#include "tdbtest.h"
#include "tsrv.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *bin;

#define KNOWN "0000000000000000000000000000c0de"
#define CERT "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* The client backends of the database at url other than our own (every connection of the
 * service, its watchers' included; not the server's own workers) into pids; the count. */
static int list_backends(const char *url, int *pids, int cap) {
    PGconn *c = PQconnectdb(url);
    int n = 0;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SELECT pid FROM pg_stat_activity WHERE datname = "
                                "current_database() AND pid <> pg_backend_pid() AND "
                                "backend_type = 'client backend'");
        for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && n < cap; i++)
            pids[n++] = atoi(PQgetvalue(r, i, 0));
        PQclear(r);
    }
    PQfinish(c);
    return n;
}

/* Those backends stopped (SIGSTOP: listed first) or resumed (SIGCONT: the cap listed before).
 * The count. */
static int signal_backends(const char *url, int sig, int *pids, int cap) {
    int n = sig == SIGCONT ? cap : list_backends(url, pids, cap);
    for (int i = 0; i < n; i++)
        kill(pids[i], sig);
    return n;
}

static bool put_known(const tdbt_sandbox *s) {
    char err[512];
    tdb *db = tdb_open(s->db, s->key, err, sizeof err);
    if (!CHECK(db != NULL, "open: %s", err))
        return false;
    diag_project p;
    memset(&p, 0, sizeof p);
    memcpy(p.app_id, KNOWN, sizeof p.app_id);
    snprintf(p.name, sizeof p.name, "park");
    p.primary.present = p.primary.enabled = true;
    memcpy(p.primary.certificate, CERT, sizeof p.primary.certificate);
    bool ok = CHECK(tdb_project_put(db, &p, "test", NULL) == TDB_OK, "put: %s", tdb_errmsg(db));
    tdb_close(db);
    return ok;
}

static const char *diagnose_body(const char *app_id, char *buf, size_t cap) {
    snprintf(buf, cap, "{\"app_id\":\"%s\",\"channel\":\"c\"}", app_id);
    return buf;
}

/* Writes a request on a new connection and leaves the answer unread. */
static bool send_request(tsrv_conn *c, int port, const char *method, const char *path,
                         const char *key, const char *body) {
    if (!tsrv_connect(c, port))
        return false;
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: t\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s", method,
                     path, key ? "Authorization: Bearer " : "", key ? key : "", key ? "\r\n" : "",
                     body ? "Content-Type: application/json\r\n" : "", body ? strlen(body) : 0,
                     body ? body : "");
    return n > 0 && write(c->fd, req, (size_t)n) == n;
}

static void start(tsrv_proc *p, const tdbt_sandbox *s, char *dir, size_t cap, bool *ok) {
    const char *extra[] = {"--db", s->db, "--key-file", s->key, "--threads", "1", NULL};
    *ok = tsrv_make_dir(dir, cap, "tdpark") && CHECK(tsrv_start(p, bin, dir, extra), "start");
}

/* A new database and a service on it, up (/healthz 200), and its backends stopped (SIGSTOP:
 * their pids into pids, the count into *n). false (s freed) when it could not start. */
static bool start_stalled(tsrv_proc *p, tdbt_sandbox *s, char *dir, size_t cap, int *pids,
                          int pids_cap, int *n) {
    tdbt_sandbox_init(s, "tdparkdb", "");
    bool ok = true;
    start(p, s, dir, cap, &ok);
    if (!ok) {
        tdbt_sandbox_free(s);
        return false;
    }
    CHECK(tsrv_call(p->port, "GET", "/healthz", NULL, NULL, NULL, NULL) == 200, "up");
    *n = signal_backends(s->db, SIGSTOP, pids, pids_cap);
    return true;
}

static void suite_stalled(void) {
    tdbt_sandbox s;
    tdbt_sandbox_init(&s, "tdparkdb", "");
    char dir[256], body[256];
    tsrv_proc p;
    bool ok = put_known(&s);
    if (ok)
        start(&p, &s, dir, sizeof dir, &ok);
    if (!ok) {
        tdbt_sandbox_free(&s);
        return;
    }
    /* The project cached, the admin key verified (its cache holds it for 10 s). */
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL, diagnose_body(KNOWN, body, sizeof body),
                    NULL, NULL) == 200,
          "known project, before");
    CHECK(tsrv_call(p.port, "GET", "/v1/projects/" KNOWN, p.admin_key, NULL, NULL, NULL) == 200,
          "read, before");

    int pids[64];
    /* Every connection of the service: 3 x threads + 2 (docs/deployment.md), the worker's own
     * given back once its store thread runs (it was 4 x threads + 2). A watcher may still be
     * connecting: the count is given a second to settle. */
    int n = list_backends(s.db, pids, 64);
    for (int i = 0; i < 20 && n != 3 * 1 + 2; i++) {
        tsrv_sleep_ms(100);
        n = list_backends(s.db, pids, 64);
    }
    CHECK(n == 3 * 1 + 2, "the service has %d connections, 5 expected", n);
    n = signal_backends(s.db, SIGSTOP, pids, 64);
    double t0 = now_ms();
    tsrv_conn miss, gone, gone_read;
    CHECK(send_request(&miss, p.port, "POST", "/v1/diagnose", NULL,
                       diagnose_body("00000000000000000000000000000bad", body, sizeof body)),
          "send the miss");
    tsrv_sleep_ms(100); /* parked by now */

    double t = now_ms();
    tsrv_resp r;
    int st = tsrv_call(p.port, "GET", "/healthz", NULL, NULL, NULL, NULL);
    double took = now_ms() - t;
    CHECK(st == 200 && took < 200, "/healthz while a miss is parked: %d in %.0f ms", st, took);
    t = now_ms();
    st = tsrv_call(p.port, "POST", "/v1/diagnose", NULL, diagnose_body(KNOWN, body, sizeof body),
                   NULL, NULL);
    took = now_ms() - t;
    CHECK(st == 200 && took < 200, "cached diagnosis while a miss is parked: %d in %.0f ms", st,
          took);

    /* Two more parked requests whose clients go away: a POST (its connection was not reading)
     * and a GET (evhttp leaves reading on: the park turns it off). */
    CHECK(send_request(&gone, p.port, "POST", "/v1/diagnose", NULL,
                       diagnose_body("00000000000000000000000000000b0b", body, sizeof body)),
          "send the second miss");
    CHECK(send_request(&gone_read, p.port, "GET", "/v1/projects", p.admin_key, NULL),
          "send the read");
    /* A parked GET whose client sends its next request meanwhile (pipelining): libevent 2.1
     * exits the process on bytes read for a request not answered yet; it does not read them
     * (its reading is off until the answer is written), and the next request is answered
     * after the first. */
    tsrv_conn pipe;
    static const char next[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK(send_request(&pipe, p.port, "GET", "/v1/projects", p.admin_key, NULL),
          "send the pipelined read");
    tsrv_sleep_ms(100);
    CHECK(write(pipe.fd, next, sizeof next - 1) == (ssize_t)(sizeof next - 1), "pipeline");
    tsrv_close(&gone);
    tsrv_close(&gone_read);

    bool got = tsrv_read_reply(&miss, &r);
    double waited = now_ms() - t0;
    char code[64] = "", retry[16] = "";
    if (got) {
        json_t *doc = json_loadb(r.body, r.body_len, 0, NULL);
        snprintf(code, sizeof code, "%s",
                 json_string_value(json_object_get(json_object_get(doc, "error"), "code"))
                     ? json_string_value(json_object_get(json_object_get(doc, "error"), "code"))
                     : "");
        json_decref(doc);
        tsrv_header(&r, "Retry-After", retry, sizeof retry);
    }
    CHECK(got && r.status == 503 && strcmp(code, "store_unavailable") == 0 && retry[0],
          "the parked miss: %d %s Retry-After %s", got ? r.status : -1, code, retry);
    /* The store's bound is 3 s (statement timeout 2 s + margin 1 s); not a timing test. */
    CHECK(waited < 6000, "the parked miss answered after %.0f ms", waited);
    if (got)
        tsrv_resp_free(&r);
    tsrv_close(&miss);

    /* 503, or 200 when its call came after the miss's and got a new session (the backends of
     * the old ones are stopped, not the server) */
    tsrv_resp r1, r2;
    bool got1 = tsrv_read_reply(&pipe, &r1), got2 = got1 && tsrv_read_reply(&pipe, &r2);
    CHECK(got1 && (r1.status == 503 || r1.status == 200), "the parked read: %d",
          got1 ? r1.status : -1);
    CHECK(got2 && r2.status == 200 && strstr(r2.body, "\"status\":\"ok\""),
          "the request pipelined behind it: %d", got2 ? r2.status : -1);
    if (got1)
        tsrv_resp_free(&r1);
    if (got2)
        tsrv_resp_free(&r2);
    tsrv_close(&pipe);

    tsrv_sleep_ms(500); /* the closed connections' answers are written by now */
    st = tsrv_call(p.port, "GET", "/healthz", NULL, NULL, NULL, NULL);
    CHECK(st == 200, "still answering after writing into closed connections: %d", st);
    signal_backends(s.db, SIGCONT, pids, n);

    /* Back: the miss is read (an unknown App ID: 200, the project not known). */
    for (int i = 0; i < 100; i++) {
        st = tsrv_call(p.port, "POST", "/v1/diagnose", NULL,
                       diagnose_body("00000000000000000000000000000bad", body, sizeof body), NULL,
                       NULL);
        if (st == 200)
            break;
        tsrv_sleep_ms(100);
    }
    CHECK(st == 200, "the miss once the store is back: %d", st);

    /* A batch: its App IDs not cached are read in one job (once each), then it runs. */
    json_t *doc = NULL;
    st = tsrv_call(p.port, "POST", "/v1/diagnose/batch", NULL,
                   "{\"requests\":[{\"app_id\":\"" KNOWN "\",\"channel\":\"c\"},"
                   "{\"app_id\":\"000000000000000000000000000b47c4\",\"channel\":\"c\"},"
                   "{\"app_id\":\"000000000000000000000000000b47c4\",\"channel\":\"c\"},"
                   "{\"channel\":7}]}",
                   &doc, NULL);
    json_t *res = json_object_get(doc, "results");
    const char *want[] = {"diagnosed", "diagnosed", "diagnosed", "invalid"};
    bool as_wanted = st == 200 && json_array_size(res) == 4;
    for (size_t i = 0; as_wanted && i < 4; i++) {
        const char *got = json_string_value(json_object_get(json_array_get(res, i), "status"));
        as_wanted = got && strcmp(got, want[i]) == 0;
    }
    CHECK(as_wanted, "batch: %d", st);
    json_decref(doc);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0 (see %s)", p.err);
    tdbt_sandbox_free(&s);
}

static void suite_shutdown(void) {
    tdbt_sandbox s;
    char dir[256], body[256];
    tsrv_proc p;
    int pids[64], n;
    if (!start_stalled(&p, &s, dir, sizeof dir, pids, 64, &n))
        return;
    tsrv_conn miss;
    CHECK(send_request(&miss, p.port, "POST", "/v1/diagnose", NULL,
                       diagnose_body("00000000000000000000000000000bad", body, sizeof body)),
          "send the miss");
    tsrv_sleep_ms(100);
    kill(p.pid, SIGTERM);
    tsrv_resp r;
    bool got = tsrv_read_reply(&miss, &r);
    CHECK(got && r.status == 503, "the parked request answered at shutdown: %d",
          got ? r.status : -1);
    if (got)
        tsrv_resp_free(&r);
    tsrv_close(&miss);
    signal_backends(s.db, SIGCONT, pids, n);
    int status = tu_wait(p.pid); /* the SIGTERM above: a second one would end the drain */
    p.pid = 0;
    CHECK(status == 0, "exit %d (see %s)", status, p.err);
    tdbt_sandbox_free(&s);
}

/* SRV_STORE_QUEUE_MAX requests parked (from two client addresses: one may hold 256
 * connections): the next one is 503 store_busy with Retry-After at once. */
static void suite_busy(void) {
    enum { PARKED = 256 }; /* SRV_STORE_QUEUE_MAX */
    tdbt_sandbox s;
    char dir[256], body[256], req[512];
    tsrv_proc p;
    int pids[64], n;
    if (!start_stalled(&p, &s, dir, sizeof dir, pids, 64, &n))
        return;
    int fds[PARKED];
    int sent = 0;
    for (int i = 0; i < PARKED; i++) {
        fds[i] = tsrv_connect_from(i % 2 ? "127.0.0.2" : "127.0.0.1", p.port, false);
        diagnose_body("00000000000000000000000000000bad", body, sizeof body);
        int len = snprintf(req, sizeof req,
                           "POST /v1/diagnose HTTP/1.1\r\nHost: t\r\nContent-Type: "
                           "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                           strlen(body), body);
        if (fds[i] >= 0 && write(fds[i], req, (size_t)len) == len)
            sent++;
    }
    CHECK(sent == PARKED, "%d of %d sent", sent, PARKED);
    tsrv_sleep_ms(300); /* all parked by now */
    double t = now_ms();
    tsrv_resp r;
    json_t *doc = NULL;
    int st =
        tsrv_call(p.port, "POST", "/v1/diagnose", NULL,
                  diagnose_body("00000000000000000000000000000bad", body, sizeof body), &doc, &r);
    double took = now_ms() - t;
    char retry[16] = "";
    const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
    bool busy = st == 503 && code && strcmp(code, "store_busy") == 0 &&
                tsrv_header(&r, "Retry-After", retry, sizeof retry);
    CHECK(busy && took < 200, "one more: %d %s in %.0f ms", st, code ? code : "", took);
    json_decref(doc);
    if (st > 0)
        tsrv_resp_free(&r);
    signal_backends(s.db, SIGCONT, pids, n);
    for (int i = 0; i < PARKED; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0 (see %s)", p.err);
    tdbt_sandbox_free(&s);
}

int main(int argc, char **argv) {
    const char *url = getenv(TDBT_ENV_PG);
    if (!url || !*url) {
        fprintf(stderr, "%s is not set: skipped\n", TDBT_ENV_PG);
        return TDBT_SKIP;
    }
    char pg[] = "--pg";
    char *pg_argv[] = {argv[0], pg, NULL};
    int pg_argc = 2;
    tdbt_use_pg(&pg_argc, pg_argv);
    const char **const args[] = {&bin};
    const tu_test suites[] = {
        {"stalled", suite_stalled}, {"shutdown", suite_shutdown}, {"busy", suite_busy}};
    const tsrv_suites t = {"test_park TOKENDOCTOR SUITE", args, 1, suites, 3};
    return tsrv_run_suites(argc, argv, &t);
}

/* test_bulk.c -- POST /v1/projects:import and the pages of GET /v1/projects, against a real
 * service (tsrv.h):
 *
 *   import  an admin key is needed (401 without, 403 for a reader); JSON lines are imported
 *           (created, then unchanged on a second import: no new change-log row); all-or-nothing
 *           by default (a bad line 2 -> 400 naming the line, nothing stored);
 *           ?continue_on_error=true keeps the rest and lists the failure with its line;
 *           ?dry_run=true counts and stores nothing; a fingerprint-only line is refused with
 *           the way out; other media types are 415;
 *   paging  ?limit and ?after walk every project once, in App ID order, "next" null on the
 *           last page; without a query every project comes back (fewer than the default);
 *           bad limit or after values are 400.
 * Change-log rows are counted in the database file with SQLite (tsrv_sql_count), not through
 * the service.
 */
#include "tddb.h"
#include "tsrv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bin;

#define APP(n) "00000000000000000000000000000" n
#define LINE(n) "{\"app_id\":\"" APP(n) "\",\"name\":\"p" n "\",\"no_certificate\":true}\n"
#define CERT "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
#define WITH_CERT                                                                                  \
    "{\"app_id\":\"" APP("009") "\",\"primary\":{\"certificate\":\"" CERT "\",\"enabled\":true}}"  \
                                "\n"

static const char *err_message(json_t *doc) {
    return json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
}

static long long num(json_t *doc, const char *key) {
    json_t *v = json_object_get(doc, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* POST body to the import route with the query q ("" or "?..."); the status, *doc the answer. */
static int import(int port, const char *key, const char *q, const char *body, json_t **doc) {
    char path[128];
    snprintf(path, sizeof path, "/v1/projects:import%s", q);
    return tsrv_call(port, "POST", path, key, body, doc, NULL);
}

static bool make_reader(const char *db_path, char *key) {
    char err[256];
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    bool ok = db && tdb_apikey_create(db, TDB_ROLE_READER, "reader", key, NULL) == TDB_OK;
    tdb_close(db);
    return ok;
}

static void test_import(tsrv_proc *p, const char *admin, const char *reader) {
    json_t *j = NULL;
    const char *three = LINE("001") LINE("002") LINE("003");
    CHECK(import(p->port, NULL, "", three, &j) == 401, "no key");
    json_decref(j);
    CHECK(import(p->port, reader, "", three, &j) == 403, "a reader may not import");
    json_decref(j);

    CHECK(import(p->port, admin, "", three, &j) == 200, "import");
    CHECK(num(j, "created") == 3 && num(j, "replaced") == 0 && num(j, "unchanged") == 0 &&
              num(j, "failed") == 0 && json_is_false(json_object_get(j, "dry_run")),
          "three created");
    json_decref(j);
    CHECK(tsrv_call(p->port, "GET", "/v1/projects/" APP("002"), admin, NULL, &j, NULL) == 200,
          "an imported project is served");
    CHECK(json_is_true(json_object_get(j, "no_certificate")), "as imported");
    json_decref(j);
    long long logged = tsrv_sql_count(p->db, "SELECT count(*) FROM config_log");
    CHECK(logged == 3, "one change-log row per created project (%lld)", logged);

    CHECK(import(p->port, admin, "", three, &j) == 200, "import again");
    CHECK(num(j, "unchanged") == 3 && num(j, "created") == 0, "unchanged");
    json_decref(j);
    CHECK(tsrv_sql_count(p->db, "SELECT count(*) FROM config_log") == 3, "no row for unchanged");

    /* all or nothing */
    const char *bad = LINE("004") "{\"app_id\":\"nothex\"}\n" LINE("005");
    CHECK(import(p->port, admin, "", bad, &j) == 400, "a bad line refuses the import");
    const char *m = err_message(j);
    CHECK(m && strncmp(m, "line 2: app_id", 14) == 0, "names the line: %s", m ? m : "(none)");
    json_decref(j);
    CHECK(tsrv_call(p->port, "GET", "/v1/projects/" APP("004"), admin, NULL, &j, NULL) == 404,
          "nothing of it stored");
    json_decref(j);

    /* dry run */
    CHECK(import(p->port, admin, "?dry_run=true", LINE("004"), &j) == 200, "dry run");
    CHECK(num(j, "created") == 1 && json_is_true(json_object_get(j, "dry_run")), "counted");
    json_decref(j);
    CHECK(tsrv_call(p->port, "GET", "/v1/projects/" APP("004"), admin, NULL, &j, NULL) == 404,
          "a dry run stores nothing");
    json_decref(j);

    /* continue on error */
    CHECK(import(p->port, admin, "?continue_on_error=true", bad, &j) == 200, "continue");
    CHECK(num(j, "created") == 2 && num(j, "failed") == 1, "two created, one failed");
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    CHECK(num(e, "line") == 2, "the failure's line");
    json_decref(j);
    CHECK(tsrv_call(p->port, "GET", "/v1/projects/" APP("005"), admin, NULL, &j, NULL) == 200,
          "the lines after the bad one are stored");
    json_decref(j);
    CHECK(import(p->port, admin, "?continue_on_error=yes", LINE("006"), &j) == 400,
          "a flag is true or false");
    json_decref(j);

    /* a certificate given as a fingerprint cannot be imported */
    const char *fp_only = "{\"app_id\":\"" APP("007") "\",\"primary\":{\"fingerprint\":"
                                                      "\"12345678\",\"enabled\":true}}\n";
    CHECK(import(p->port, admin, "", fp_only, &j) == 400, "fingerprint only");
    m = err_message(j);
    CHECK(m && strstr(m, "line 1") && strstr(m, "--certificates-for"), "says how: %s",
          m ? m : "(none)");
    json_decref(j);

    /* JSON lines as their own media type; certificates never in the answer */
    tsrv_conn c = {.fd = -1, .port = p->port};
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", admin);
    tsrv_resp r;
    CHECK(tsrv_request(&c, "POST", "/v1/projects:import", auth, "application/x-ndjson", WITH_CERT,
                       strlen(WITH_CERT), &r) &&
              r.status == 200 && strstr(r.body, "\"created\":1") && !strstr(r.body, CERT),
          "application/x-ndjson");
    tsrv_resp_free(&r);
    CHECK(tsrv_request(&c, "POST", "/v1/projects:import", auth, "text/plain", LINE("008"),
                       strlen(LINE("008")), &r) &&
              r.status == 415,
          "text/plain is 415");
    tsrv_resp_free(&r);
    tsrv_close(&c);
    CHECK(import(p->port, admin, "", NULL, &j) == 400, "an empty body");
    json_decref(j);
    /* 8 x --body-limit (65536 by default): the JSON 413, not evhttp's */
    size_t big = 8 * 65536 + 1;
    char *body = malloc(big + 1);
    if (CHECK(body, "out of memory")) {
        memset(body, '\n', big);
        body[big] = '\0';
        CHECK(import(p->port, admin, "", body, &j) == 413 && err_message(j) &&
                  strstr(err_message(j), "project import"),
              "over the import's limit: 413 naming the way out");
        json_decref(j);
        body[8 * 65536] = '\0';
        memcpy(body, LINE("010"), strlen(LINE("010")));
        CHECK(import(p->port, admin, "?dry_run=true", body, &j) == 200 && num(j, "created") == 1,
              "exactly the limit is read (blank lines skipped)");
        json_decref(j);
    }
    free(body);
}

/* Walks the pages of limit projects; the App IDs in order into ids (cap entries). */
static size_t walk_pages(int port, const char *key, int limit, char ids[][40], size_t cap) {
    size_t n = 0;
    char after[40] = "";
    for (int pages = 0; pages < 100; pages++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/projects?limit=%d%s%s", limit, after[0] ? "&after=" : "",
                 after);
        json_t *j = NULL;
        if (!CHECK(tsrv_call(port, "GET", path, key, NULL, &j, NULL) == 200, "page %s", path))
            return n;
        json_t *list = json_object_get(j, "projects"), *next = json_object_get(j, "next");
        CHECK(json_array_size(list) <= (size_t)limit, "at most limit projects");
        for (size_t i = 0; i < json_array_size(list) && n < cap; i++)
            snprintf(ids[n++], 40, "%s",
                     json_string_value(json_object_get(json_array_get(list, i), "app_id")));
        bool last = json_is_null(next);
        CHECK(last || (json_is_string(next) && n > 0 &&
                       strcmp(json_string_value(next), ids[n - 1]) == 0),
              "next is the last App ID of the page");
        if (!last)
            snprintf(after, sizeof after, "%s", json_string_value(next));
        json_decref(j);
        if (last)
            return n;
    }
    CHECK(false, "the pages never end");
    return n;
}

static void test_paging(tsrv_proc *p, const char *reader) {
    /* Stored by now: 001 002 003 004 005 009 (test_import). */
    static const char *const want[] = {APP("001"), APP("002"), APP("003"),
                                       APP("004"), APP("005"), APP("009")};
    size_t count = sizeof want / sizeof want[0];
    for (int limit = 1; limit <= 7; limit += 2) {
        char ids[16][40];
        size_t n = walk_pages(p->port, reader, limit, ids, 16);
        CHECK(n == count, "limit %d: %zu projects, want %zu", limit, n, count);
        for (size_t i = 0; i < n && i < count; i++)
            CHECK(strcmp(ids[i], want[i]) == 0, "limit %d: [%zu] %s", limit, i, ids[i]);
    }
    json_t *j = NULL;
    CHECK(tsrv_call(p->port, "GET", "/v1/projects", reader, NULL, &j, NULL) == 200, "no query");
    CHECK(json_array_size(json_object_get(j, "projects")) == count &&
              json_is_null(json_object_get(j, "next")),
          "every project, no next page");
    json_decref(j);
    CHECK(tsrv_call(p->port, "GET", "/v1/projects?after=" APP("005"), reader, NULL, &j, NULL) ==
                  200 &&
              json_array_size(json_object_get(j, "projects")) == 1,
          "after");
    json_decref(j);
    const char *bad[] = {"/v1/projects?limit=0", "/v1/projects?limit=10001", "/v1/projects?limit=x",
                         "/v1/projects?after=xyz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(tsrv_call(p->port, "GET", bad[i], reader, NULL, &j, NULL) == 400, "%s", bad[i]);
        json_decref(j);
    }
}

/* Both halves on one service: the importer is the bootstrap admin, the pager a reader. */
static void suite_bulk(void) {
    char dir[256];
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", NULL};
    if (tsrv_make_dir(dir, sizeof dir, "tdbulk") &&
        CHECK(tsrv_start(&p, bin, dir, extra), "the service did not start")) {
        char reader[TDB_APIKEY_LEN + 1];
        CHECK(make_reader(p.db, reader), "reader key");
        test_import(&p, p.admin_key, reader);
        test_paging(&p, reader);
        CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
    }
}

int main(int argc, char **argv) {
    const char **const args[] = {&bin};
    const tu_test suites[] = {{"server_bulk", suite_bulk}};
    const tsrv_suites t = {"test_bulk TOKENDOCTOR server_bulk", args, 1, suites, 1};
    return tsrv_run_suites(argc, argv, &t);
}

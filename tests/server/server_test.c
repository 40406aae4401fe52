/* server_test.c -- integration tests of `tokendoctor serve` over real HTTP on loopback.
 *
 * usage: server_test BIN VECTORS_DIR SUITE
 * Each suite starts its own service (own temporary directory, ephemeral port) so that ctest can
 * run them in parallel:
 *   api        every route and status, limits, JSON errors, auth (none, wrong, revoked, reader
 *              vs admin, --auth all), the web page headers, and secrecy (no certificate in any
 *              response, log or the database file), TCP_NODELAY on accepted connections
 *   scenarios  the public scenarios (v2/scenarios.jsonl, v2/sdk.jsonl) through /v1/diagnose
 *              and /v1/diagnose/batch: every answer, the sdk_version echo, bad requests refused
 *   hammer     8 client threads, every answer checked
 *   slow       a client that sends half a request is timed out; nobody else waits for it
 *   fds        more clients than descriptors: accepting pauses (no spinning), open connections
 *              are served, new ones are accepted once descriptors are free
 *   sigterm    SIGTERM with requests in flight: all answered, log flushed, exit 0
 *   restart    a second start finds the projects, history, diagnoses and keys
 *   coherence  two services on one database file agree after every change
 * No assertion depends on timing: waits are for events (a port file, a closed socket), bounded
 * only as a safety net. The one measurement (fds: CPU used in one second) has a margin of 5x
 * and can only err towards passing.
 */
#include "scenario_check.h"
#include "tddb.h"
#include "tsrv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *bin;
static const char *vectors; /* the directory of the contract's vectors */

/* Two configurations used by the api, restart and coherence suites. */
#define APP_A "0123456789abcdef0123456789abcdef"
#define CERT_A "fedcba9876543210fedcba9876543210"
#define CERT_A2 "aaaabbbbccccddddeeeeffff00001111"
#define APP_B "11112222333344445555666677778888"
#define CERT_B "99998888777766665555444433332222"
/* The longest X-Request-Id kept from a client (docs/api.md "Request ids"). */
#define SRV_ID_MAX_TEST 128

static const char *project_a =
    "{\"app_id\":\"" APP_A "\",\"name\":\"test A\",\"primary\":{\"certificate\":\"" CERT_A
    "\",\"enabled\":true},\"secondary\":null,\"no_certificate\":false,\"cohost_auth\":false}";

/* A temporary directory of this run: removed at the end when the suite passed, kept (and
 * named) for inspection when it failed (tsrv_run_suites). */
static bool make_dir(char *dir, size_t cap) {
    return tsrv_make_dir(dir, cap, "tdsrv");
}

/* A service in a fresh temporary directory; false (a failed check) when the directory or the
 * service could not be made. */
static bool start_fresh(tsrv_proc *p, char *dir, size_t cap, const char *const *extra) {
    return make_dir(dir, cap) && CHECK(tsrv_start(p, bin, dir, extra), "the service did not start");
}

static const char *jstr(json_t *doc, const char *path) {
    /* "a.b.c" into nested objects */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = doc;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    return json_string_value(cur);
}

static bool is_error(json_t *doc, const char *code) {
    const char *c = jstr(doc, "error.code");
    return c && jstr(doc, "error.message") && (!code || strcmp(c, code) == 0);
}

/* A key created directly in the service's database (as `tokendoctor apikey create` would). */
static bool make_key(const char *db_path, tdb_role role, const char *name, char *key) {
    char err[256];
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    if (!db) {
        fprintf(stderr, "tdb_open: %s\n", err);
        return false;
    }
    bool ok = tdb_apikey_create(db, role, name, key, NULL) == TDB_OK;
    tdb_close(db);
    return ok;
}

static bool revoke_key(const char *db_path, const char *name) {
    char err[256];
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    if (!db)
        return false;
    bool ok = tdb_apikey_revoke(db, name) == TDB_OK;
    tdb_close(db);
    return ok;
}

/* ---- api --------------------------------------------------------------------------------- */

static void test_probes(int port) {
    json_t *j;
    tsrv_resp raw;
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL, "{\"app_id\":\"\",\"channel\":\"c\"}", &j,
                    NULL) == 200,
          "a diagnosis to count");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/healthz", NULL, NULL, &j, NULL) == 200, "healthz");
    CHECK(j && jstr(j, "status") && strcmp(jstr(j, "status"), "ok") == 0, "healthz body");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/readyz", NULL, NULL, &j, NULL) == 200, "readyz");
    json_decref(j);
    CHECK(tsrv_call(port, "HEAD", "/healthz", NULL, NULL, NULL, &raw) == 200, "HEAD healthz");
    CHECK(raw.body_len == 0, "HEAD has no body");
    tsrv_resp_free(&raw);
    CHECK(tsrv_call(port, "GET", "/metrics", NULL, NULL, NULL, &raw) == 200, "metrics");
    const char *want[] = {"tokendoctor_http_requests_total{route=\"/healthz\",status=\"200\"}",
                          "tokendoctor_http_request_duration_seconds_bucket",
                          "tokendoctor_diagnosis_log_queue_depth",
                          "tokendoctor_diagnosis_log_dropped_total",
                          "tokendoctor_build_info",
                          "tokendoctor_diagnoses_total{verdict="};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(raw.body && strstr(raw.body, want[i]), "metrics has %s", want[i]);
    char ct[128] = "";
    CHECK(tsrv_header(&raw, "Content-Type", ct, sizeof ct) && strncmp(ct, "text/plain", 10) == 0,
          "metrics content type %s", ct);
    tsrv_resp_free(&raw);
}

static void test_errors_and_limits(int port) {
    json_t *j;
    tsrv_resp raw;
    char v[128];
    CHECK(tsrv_call(port, "GET", "/nope", NULL, NULL, &j, NULL) == 404, "unknown path");
    CHECK(is_error(j, "not_found"), "404 body");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/v1/diagnose", NULL, NULL, &j, &raw) == 405, "wrong method");
    CHECK(tsrv_header(&raw, "Allow", v, sizeof v) && strcmp(v, "POST") == 0, "Allow %s", v);
    CHECK(is_error(j, "method_not_allowed"), "405 body");
    tsrv_resp_free(&raw);
    json_decref(j);
    CHECK(tsrv_call(port, "DELETE", "/healthz", NULL, NULL, &j, &raw) == 405, "DELETE healthz");
    CHECK(tsrv_header(&raw, "Allow", v, sizeof v) && strstr(v, "GET"), "Allow %s", v);
    tsrv_resp_free(&raw);
    json_decref(j);
    CHECK(tsrv_call(port, "PATCH", "/v1/projects/" APP_A, NULL, NULL, &j, &raw) == 405, "PATCH");
    CHECK(tsrv_header(&raw, "Allow", v, sizeof v) && strstr(v, "PUT") && strstr(v, "DELETE"),
          "Allow %s", v);
    tsrv_resp_free(&raw);
    json_decref(j);

    /* 415: a body declared as something else than JSON */
    tsrv_conn c = {.fd = -1, .port = port};
    const char *body = "{\"app_id\":\"\",\"channel\":\"c\"}";
    CHECK(tsrv_request(&c, "POST", "/v1/diagnose", NULL, "text/plain", body, strlen(body), &raw) &&
              raw.status == 415,
          "415");
    j = raw.body ? json_loads(raw.body, 0, NULL) : NULL;
    CHECK(is_error(j, "unsupported_media_type"), "415 body");
    json_decref(j);
    tsrv_resp_free(&raw);
    /* no Content-Type at all is accepted */
    CHECK(tsrv_request(&c, "POST", "/v1/diagnose", NULL, NULL, body, strlen(body), &raw) &&
              raw.status == 200,
          "no content type");
    tsrv_resp_free(&raw);
    tsrv_close(&c);

    struct {
        const char *body;
        const char *code;
        const char *names; /* the message must name this */
    } bad[] = {
        {"{\"app_id\": ", "malformed_json", "line"},
        {"[1,2]", "bad_request", "object"},
        {"{\"app_id\":\"\xff\xfe\",\"channel\":\"c\"}", "invalid_utf8", "UTF-8"},
        {"{\"channel\":\"c\"}", "bad_request", "app_id"},
        {"{\"app_id\":\"" APP_A "\"}", "bad_request", "channel"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"uid\":\"five\"}", "bad_request", "uid"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"uid\":4294967296}", "bad_request", "uid"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"uid\":1,\"account\":\"x\"}", "bad_request",
         "account"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":5}", "bad_request", "channel"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"token\":7}", "bad_request", "token"},
        /* diagnosis.md "Inputs": `at` in 0..4294967295 (or ISO-8601 UTC), sdk_version's form */
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"at\":-1}", "bad_request", "at"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"at\":4294967296}", "bad_request", "at"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"at\":\"2106-02-07T06:28:16Z\"}",
         "bad_request", "at"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"sdk_version\":\"2.x\"}", "bad_request",
         "sdk_version"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"sdk_version\":\"1.5.0-beta\"}",
         "bad_request", "sdk_version"},
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"sdk_version\":2}", "bad_request",
         "sdk_version"},
        /* issue 15: a key given twice is refused, named (jansson alone keeps the last) */
        {"{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"channel\":\"d\"}", "bad_request",
         "channel: given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = tsrv_call(port, "POST", "/v1/diagnose", NULL, bad[i].body, &j, NULL);
        CHECK(st == 400, "bad request %zu: status %d", i, st);
        CHECK(is_error(j, bad[i].code), "bad request %zu: code %s", i,
              j ? jstr(j, "error.code") : "(none)");
        const char *msg = j ? jstr(j, "error.message") : NULL;
        CHECK(msg && strstr(msg, bad[i].names), "bad request %zu: message '%s' names %s", i,
              msg ? msg : "", bad[i].names);
        json_decref(j);
    }

    /* A malformed App ID is diagnosed, not refused; unknown fields are ignored. */
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"\",\"channel\":\"c\",\"id\":\"x\",\"whatever\":[1]}", &j,
                    NULL) == 200,
          "empty app_id diagnosed");
    CHECK(j && jstr(j, "cause") && strcmp(jstr(j, "cause"), "app_id_malformed") == 0, "cause");
    CHECK(j && json_integer_value(json_object_get(json_object_get(j, "error"), "code")) == 101,
          "code 101");
    CHECK(j && json_is_null(json_object_get(j, "sdk_version")), "no sdk_version: null echoed");
    json_decref(j);
    /* `at` as ISO-8601 UTC (and its last second), sdk_version echoed as given */
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"at\":\"2026-12-05T10:00:00Z\","
                    "\"sdk_version\":\"v4.8\"}",
                    &j, NULL) == 200,
          "ISO-8601 at and an sdk_version accepted");
    CHECK(j && json_integer_value(json_object_get(j, "at")) == 1796464800, "at 2026-12-05T10:00Z");
    CHECK(j && jstr(j, "sdk_version") && strcmp(jstr(j, "sdk_version"), "v4.8") == 0,
          "sdk_version echoed as given");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"at\":\"2106-02-07T06:28:15Z\"}",
                    &j, NULL) == 200,
          "the last second of `at`");
    CHECK(j && json_integer_value(json_object_get(j, "at")) == 4294967295LL, "at 4294967295");
    json_decref(j);

    /* 413: body over 64 KiB, batch over 1000 */
    size_t big = 70000;
    char *huge = malloc(big + 64);
    int n = snprintf(huge, big + 64, "{\"app_id\":\"\",\"channel\":\"c\",\"pad\":\"");
    memset(huge + n, 'a', big - (size_t)n);
    snprintf(huge + big, 64, "\"}");
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL, huge, &j, NULL) == 413, "body > 64 KiB");
    CHECK(is_error(j, NULL), "413 is the JSON error object");
    json_decref(j);
    free(huge);
    size_t cap = 1001 * 40 + 64;
    char *batch = malloc(cap);
    size_t off = (size_t)snprintf(batch, cap, "{\"requests\":[");
    for (int i = 0; i < 1001; i++)
        off += (size_t)snprintf(batch + off, cap - off, "%s{\"app_id\":\"\",\"channel\":\"c\"}",
                                i ? "," : "");
    snprintf(batch + off, cap - off, "]}");
    CHECK(tsrv_call(port, "POST", "/v1/diagnose/batch", NULL, batch, &j, NULL) == 413,
          "batch of 1001");
    CHECK(is_error(j, NULL), "batch 413 body");
    json_decref(j);
    /* exactly 1000 is fine */
    char *last = strrchr(batch, '{');
    snprintf(last - 1, 4, "]}");
    CHECK(tsrv_call(port, "POST", "/v1/diagnose/batch", NULL, batch, &j, NULL) == 200,
          "batch of 1000");
    CHECK(json_array_size(json_object_get(j, "results")) == 1000, "1000 results");
    json_decref(j);
    free(batch);
    CHECK(tsrv_call(port, "POST", "/v1/diagnose/batch", NULL, "{\"requests\":{}}", &j, NULL) == 400,
          "requests not an array");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/diagnose/batch", NULL,
                    "{\"requests\":[{\"id\":1,\"app_id\":\"\",\"channel\":\"c\"},{\"id\":2},5]}",
                    &j, NULL) == 200,
          "mixed batch");
    json_t *res = json_object_get(j, "results");
    CHECK(json_array_size(res) == 3, "3 results");
    CHECK(jstr(json_array_get(res, 0), "cause") &&
              json_integer_value(json_object_get(json_array_get(res, 0), "id")) == 1,
          "first is a diagnosis with its id");
    CHECK(is_error(json_array_get(res, 1), "bad_request") &&
              json_integer_value(json_object_get(json_array_get(res, 1), "id")) == 2,
          "second is an error object with its id");
    CHECK(is_error(json_array_get(res, 2), "bad_request"), "third is an error object");
    json_decref(j);

    /* Each result says what it is (issue 13): "error" is the platform's in a diagnosis and the
     * API's in an item that was not diagnosed, and "status" tells them apart -- the shape of
     * `diagnose --batch` lines. "id" comes first, null when the request has none. */
    CHECK(tsrv_call(port, "POST", "/v1/diagnose/batch", NULL,
                    "{\"requests\":[{\"id\":\"a\",\"app_id\":\"" APP_A "\",\"channel\":\"c\","
                    "\"token\":\"abc\",\"at\":1},{\"id\":\"b\",\"channel\":\"c\"},"
                    "{\"app_id\":\"\",\"channel\":\"c\"}]}",
                    &j, &raw) == 200,
          "batch with a rejection and a bad request");
    res = json_object_get(j, "results");
    json_t *r0 = json_array_get(res, 0), *r1 = json_array_get(res, 1), *r2 = json_array_get(res, 2);
    CHECK(jstr(r0, "status") && strcmp(jstr(r0, "status"), "diagnosed") == 0 &&
              json_is_integer(json_object_get(json_object_get(r0, "error"), "code")),
          "a rejection: status diagnosed, the platform's numeric error code");
    CHECK(jstr(r1, "status") && strcmp(jstr(r1, "status"), "invalid") == 0 &&
              is_error(r1, "bad_request") && json_object_size(r1) == 3,
          "a bad request: status invalid, {id, status, error}");
    CHECK(json_is_null(json_object_get(r2, "id")) && jstr(r2, "status") &&
              strcmp(jstr(r2, "status"), "diagnosed") == 0,
          "no id: \"id\": null");
    const char *head = "{\"results\":[{\"id\":\"a\",\"status\":\"diagnosed\",";
    CHECK(raw.body && strncmp(raw.body, head, strlen(head)) == 0, "id and status first: %.60s",
          raw.body ? raw.body : "");
    tsrv_resp_free(&raw);
    json_decref(j);

    /* "uid": "42" (JavaScript sends uids as strings) is the uid 42, with a warning; only the
     * decimal form ("042" stays a bad request). */
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"uid\":\"42\",\"at\":1}", &j,
                    NULL) == 200,
          "uid as a string: 200");
    json_t *w = json_object_get(j, "warnings");
    bool warned = false;
    for (size_t k = 0; k < json_array_size(w); k++)
        warned = warned || strcmp(json_string_value(json_array_get(w, k)), "uid_as_string") == 0;
    CHECK(warned, "uid as a string: warning uid_as_string");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"uid\":\"042\"}", &j,
                    NULL) == 400 &&
              is_error(j, "bad_request"),
          "uid \"042\": 400");
    json_decref(j);
}

/* The row of rows (the catalog's errors or rtm_errors) for cause (and sdk, when not NULL). */
static json_t *catalog_row(json_t *rows, const char *cause, const char *sdk) {
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *c = jstr(row, "cause"), *s = jstr(row, "sdk");
        if (c && strcmp(c, cause) == 0 && (!sdk || (s && strcmp(s, sdk) == 0)))
            return row;
    }
    return NULL;
}

static void test_decode_and_catalog(int port) {
    json_t *j;
    CHECK(tsrv_call(port, "GET", "/v1/errors", NULL, NULL, &j, NULL) == 200, "errors");
    CHECK(j && (json_array_size(j) > 0 || json_object_size(j) > 0), "catalog not empty");
    char *dump = j ? json_dumps(j, 0) : NULL;
    CHECK(dump && strstr(dump, "uid_mismatch") && strstr(dump, "ERR_INVALID_TOKEN"),
          "catalog has causes and codes");
    free(dump);
    /* v2: a code without a number (web channel_name_invalid), the RTM tables */
    json_t *row = catalog_row(json_object_get(j, "errors"), "channel_name_invalid", NULL);
    json_t *codes = json_object_get(row, "codes");
    CHECK(json_integer_value(json_object_get(json_object_get(codes, "native"), "code")) == 102 &&
              json_is_null(json_object_get(json_object_get(codes, "web"), "code")) &&
              jstr(codes, "web.name") && strcmp(jstr(codes, "web.name"), "INVALID_PARAMS") == 0,
          "catalog: channel_name_invalid 102 native, null INVALID_PARAMS on the web");
    row = catalog_row(json_object_get(j, "errors"), "token_version_unsupported", NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(row, "codes"), "web"),
                                             "code")) == 101,
          "catalog: token_version_unsupported 101");
    json_t *rtm = json_object_get(j, "rtm_errors");
    struct {
        const char *sdk, *cause;
        int code;
    } rtm_rows[] = {{"1.x", "app_id_malformed", 4},       {"1.x", "uid_mismatch", 5},
                    {"1.x", "token_expired", 6},          {"2.x", "app_id_malformed", -10003},
                    {"2.x", "signature_invalid", -10005}, {"2.x", "privilege_expired", -10009},
                    {"2.x", "app_id_mismatch", -10016}};
    for (size_t i = 0; i < sizeof rtm_rows / sizeof rtm_rows[0]; i++) {
        row = catalog_row(rtm, rtm_rows[i].cause, rtm_rows[i].sdk);
        CHECK(json_integer_value(json_object_get(
                  json_object_get(json_object_get(row, "codes"), "native"), "code")) ==
                  rtm_rows[i].code,
              "catalog: rtm %s %s is %d", rtm_rows[i].sdk, rtm_rows[i].cause, rtm_rows[i].code);
    }
    CHECK(!catalog_row(rtm, "channel_name_invalid", "1.x") &&
              !catalog_row(rtm, "channel_name_invalid", "2.x"),
          "catalog: no channel rule for rtm logins");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/decode", NULL, "{\"token\":\"005abc\"}", &j, NULL) == 422,
          "undecodable token");
    CHECK(is_error(j, "token_malformed"), "422 code");
    json_t *hints = json_object_get(json_object_get(j, "error"), "hints");
    CHECK(json_array_size(hints) == 1 &&
              strcmp(json_string_value(json_array_get(hints, 0)), "legacy_version") == 0,
          "hint legacy_version");
    json_decref(j);
    /* The same hints a diagnosis gives: the text's problem, not only the decoder's kind. */
    CHECK(tsrv_call(port, "POST", "/v1/decode", NULL, "{\"token\":\" 007eJxTYA== \"}", &j, NULL) ==
              422,
          "token with whitespace");
    hints = json_object_get(json_object_get(j, "error"), "hints");
    CHECK(json_array_size(hints) == 1 &&
              strcmp(json_string_value(json_array_get(hints, 0)), "whitespace") == 0,
          "hint whitespace");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/decode", NULL, "{}", &j, NULL) == 400, "decode no token");
    CHECK(is_error(j, "bad_request") && strstr(jstr(j, "error.message"), "token"), "names token");
    json_decref(j);
}

/* Mints a token through the API and diagnoses it: joinable. */
static void test_tokens(int port, const char *admin, const char *reader) {
    json_t *j;
    const char *mint = "{\"app_id\":\"" APP_A "\",\"channel\":\"room\",\"uid\":42,\"expire\":600}";
    CHECK(tsrv_call(port, "POST", "/v1/tokens", NULL, mint, &j, NULL) == 401, "mint no key");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/tokens", reader, mint, &j, NULL) == 403, "mint reader");
    CHECK(is_error(j, "forbidden"), "403 body");
    json_decref(j);
    const char *versions[] = {"007", "006"};
    for (int v = 0; v < 2; v++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"app_id\":\"" APP_A "\",\"channel\":\"room\",\"uid\":42,\"expire\":600,"
                 "\"version\":\"%s\"}",
                 versions[v]);
        CHECK(tsrv_call(port, "POST", "/v1/tokens", admin, body, &j, NULL) == 200, "mint %s",
              versions[v]);
        const char *tok = j ? jstr(j, "token") : NULL;
        CHECK(tok && strncmp(tok, versions[v], 3) == 0, "minted %s", versions[v]);
        if (tok) {
            json_t *req = json_pack("{s:s,s:s,s:i,s:s}", "app_id", APP_A, "channel", "room", "uid",
                                    42, "token", tok);
            char *rb = json_dumps(req, JSON_COMPACT);
            json_t *d;
            CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL, rb, &d, NULL) == 200, "diagnose");
            CHECK(d && jstr(d, "verdict") && strcmp(jstr(d, "verdict"), "joinable") == 0 &&
                      strcmp(jstr(d, "cause"), "ok") == 0,
                  "minted %s token is joinable (%s)", versions[v], d ? jstr(d, "cause") : "");
            json_decref(d);
            free(rb);
            json_decref(req);
        }
        json_decref(j);
    }
    CHECK(tsrv_call(port, "POST", "/v1/tokens", admin,
                    "{\"app_id\":\"" APP_B "\",\"channel\":\"room\"}", &j, NULL) == 404,
          "mint for an unknown project");
    json_decref(j);
    CHECK(tsrv_call(port, "POST", "/v1/tokens", admin, "{\"app_id\":\"" APP_A "\"}", &j, NULL) ==
              400,
          "mint without channel");
    CHECK(is_error(j, "bad_request") && strstr(jstr(j, "error.message"), "channel"),
          "names channel");
    json_decref(j);
}

static void test_projects(int port, const char *admin, const char *reader) {
    json_t *j, *j2;
    const char *path = "/v1/projects/" APP_A;
    /* 401 says nothing about existence: same answer for a stored and a missing project */
    tsrv_resp r1, r2;
    CHECK(tsrv_call(port, "GET", path, NULL, NULL, NULL, &r1) == 401, "no key");
    CHECK(tsrv_call(port, "GET", "/v1/projects/" APP_B, NULL, NULL, NULL, &r2) == 401, "no key");
    CHECK(r1.body && r2.body && strcmp(r1.body, r2.body) == 0, "same 401 body");
    tsrv_resp_free(&r1);
    tsrv_resp_free(&r2);
    CHECK(tsrv_call(port, "GET", path, "tdk_0000", NULL, &j, &r1) == 401, "wrong key");
    char v[128];
    CHECK(tsrv_header(&r1, "WWW-Authenticate", v, sizeof v), "WWW-Authenticate");
    CHECK(is_error(j, "unauthorized"), "401 body");
    tsrv_resp_free(&r1);
    json_decref(j);

    CHECK(tsrv_call(port, "PUT", path, reader, project_a, &j, NULL) == 403, "reader cannot PUT");
    json_decref(j);
    CHECK(tsrv_call(port, "PUT", path, admin, project_a, &j, NULL) == 201, "PUT creates");
    CHECK(j && jstr(j, "primary.fingerprint") && !jstr(j, "primary.certificate"),
          "fingerprint, no certificate");
    json_decref(j);
    /* replace with a new certificate: the old one is retired */
    char *replaced = strdup(project_a);
    memcpy(strstr(replaced, CERT_A), CERT_A2, 32);
    CHECK(tsrv_call(port, "PUT", path, admin, replaced, &j, NULL) == 200, "PUT replaces");
    CHECK(json_array_size(json_object_get(j, "retired_certificates")) == 1, "one retired");
    json_decref(j);
    free(replaced);
    CHECK(tsrv_call(port, "PUT", path, admin, project_a, &j, NULL) == 200, "PUT back");
    json_decref(j);
    CHECK(tsrv_call(port, "PUT", "/v1/projects/" APP_B, admin, project_a, &j, NULL) == 400,
          "app_id differs from the path");
    json_decref(j);
    CHECK(tsrv_call(port, "PUT", "/v1/projects/" APP_B, admin,
                    "{\"primary\":{\"certificate\":\"xyz\",\"enabled\":true}}", &j, NULL) == 400,
          "bad certificate");
    const char *msg = j ? jstr(j, "error.message") : NULL;
    CHECK(msg && strstr(msg, "primary"), "names primary.certificate: %s", msg ? msg : "");
    json_decref(j);
    CHECK(tsrv_call(port, "PUT", "/v1/projects/nothex", admin, project_a, &j, NULL) == 400,
          "PUT bad app id");
    json_decref(j);
    /* Strict fields (issue 13): a misspelt field is a 400 naming it and the closest known name,
     * never a silently different configuration; the stored one is unchanged. */
    static const struct {
        const char *body, *message;
    } typos[] = {
        {"{\"primay\":{\"certificate\":\"" CERT_A "\",\"enabled\":true}}",
         "primay: unknown field (did you mean primary?)"},
        {"{\"primary\":{\"certificate\":\"" CERT_A "\",\"enable\":false}}",
         "primary.enable: unknown field (did you mean enabled?)"},
        {"{\"primary\":{\"certificate\":\"" CERT_A "\",\"enabled\":\"false\"}}",
         "primary.enabled: must be true or false"},
    };
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
        CHECK(tsrv_call(port, "PUT", path, admin, typos[i].body, &j, NULL) == 400,
              "PUT with %s: 400", typos[i].message);
        msg = j ? jstr(j, "error.message") : NULL;
        CHECK(is_error(j, "bad_request") && msg && strcmp(msg, typos[i].message) == 0,
              "PUT: '%s' (got '%s')", typos[i].message, msg ? msg : "");
        json_decref(j);
    }
    CHECK(tsrv_call(port, "GET", path, admin, NULL, &j, NULL) == 200 &&
              json_is_true(json_object_get(json_object_get(j, "primary"), "enabled")),
          "refused PUTs left the configuration as it was");
    json_decref(j);

    CHECK(tsrv_call(port, "GET", path, reader, NULL, &j, NULL) == 200, "reader GET");
    CHECK(j && jstr(j, "app_id") && strcmp(jstr(j, "app_id"), APP_A) == 0, "GET body");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/v1/projects", reader, NULL, &j, NULL) == 200, "list");
    CHECK(json_array_size(json_object_get(j, "projects")) == 1, "one project listed");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/v1/projects/" APP_A "/history", reader, NULL, &j, NULL) == 200,
          "history");
    CHECK(json_array_size(json_object_get(j, "history")) == 3, "3 changes logged");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/v1/projects/" APP_B "/history", reader, NULL, &j, NULL) == 404,
          "no history");
    json_decref(j);

    /* diagnoses are logged (by fingerprint) and listed */
    const char *diag = "{\"app_id\":\"" APP_A "\",\"channel\":\"c\",\"token\":\"007garbage\"}";
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL, diag, &j, NULL) == 200, "diagnose");
    CHECK(j && strcmp(jstr(j, "cause"), "token_malformed") == 0, "token_malformed");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/v1/projects/" APP_A "/diagnoses?limit=5", reader, NULL, &j,
                    NULL) == 200,
          "diagnoses");
    json_t *list = json_object_get(j, "diagnoses");
    CHECK(json_array_size(list) >= 1, "at least one diagnosis logged");
    char *dump = j ? json_dumps(j, 0) : NULL;
    CHECK(dump && !strstr(dump, "007garbage"), "never the token");
    free(dump);
    json_decref(j);
    CHECK(tsrv_call(port, "GET", "/v1/projects/" APP_A "/diagnoses?limit=0", reader, NULL, &j,
                    NULL) == 400,
          "limit 0");
    json_decref(j);

    test_tokens(port, admin, reader);

    /* delete: 204, then 404 */
    CHECK(tsrv_call(port, "DELETE", path, reader, NULL, &j, NULL) == 403, "reader DELETE");
    json_decref(j);
    CHECK(tsrv_call(port, "DELETE", path, admin, NULL, &j, NULL) == 204, "DELETE");
    json_decref(j);
    CHECK(tsrv_call(port, "GET", path, admin, NULL, &j, NULL) == 404, "gone");
    CHECK(is_error(j, "not_found"), "404 body");
    json_decref(j);
    CHECK(tsrv_call(port, "DELETE", path, admin, NULL, &j2, NULL) == 404, "DELETE again");
    json_decref(j2);
    /* the diagnosis sees the deletion at once (cache invalidated) */
    CHECK(tsrv_call(port, "POST", "/v1/diagnose", NULL, diag, &j, NULL) == 200, "diagnose");
    CHECK(j && json_is_false(json_object_get(json_object_get(j, "project"), "known")),
          "project unknown after delete");
    json_decref(j);
    CHECK(tsrv_call(port, "PUT", path, admin, project_a, &j, NULL) == 201, "PUT again creates");
    json_decref(j);
}

static void test_web_page(int port) {
    tsrv_resp raw;
    int st = tsrv_call(port, "GET", "/", NULL, NULL, NULL, &raw);
    char v[256] = "";
    if (st == 200) {
        CHECK(tsrv_header(&raw, "Content-Security-Policy", v, sizeof v) &&
                  strcmp(v, "default-src 'self'") == 0,
              "CSP %s", v);
        CHECK(tsrv_header(&raw, "X-Content-Type-Options", v, sizeof v) && strcmp(v, "nosniff") == 0,
              "nosniff");
        CHECK(tsrv_header(&raw, "Content-Type", v, sizeof v) && strstr(v, "text/html"), "html");
    } else {
        CHECK(st == 404, "no web page built in: 404 (got %d)", st);
    }
    tsrv_resp_free(&raw);
    CHECK(tsrv_call(port, "GET", "/assets/nope.js", NULL, NULL, NULL, NULL) == 404, "asset 404");
}

/* Nothing secret anywhere: responses, stdout/stderr, access log, the database file. */
static void check_secrecy(const char *dir, const char *const *secrets, size_t n) {
    char path[600];
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *f = e->d_name; /* every run's stdout and stderr, the logs, the database */
        if (strncmp(f, "out-", 4) != 0 && strncmp(f, "err-", 4) != 0 &&
            strcmp(f, "access.log") != 0 && strncmp(f, "t.db", 4) != 0)
            continue;
        files++;
        snprintf(path, sizeof path, "%s/%s", dir, f);
        size_t len;
        char *txt = tu_read_file(path, &len);
        if (!txt)
            continue;
        for (size_t s = 0; s < n; s++)
            CHECK(!memmem(txt, len, secrets[s], strlen(secrets[s])), "%s holds a secret", path);
        free(txt);
    }
    if (d)
        closedir(d);
    CHECK(files >= 4, "%d files checked for secrets in %s", files, dir);
    for (size_t s = 0; s < n; s++) {
        const char *hit = tsrv_transcript ? strstr(tsrv_transcript, secrets[s]) : NULL;
        CHECK(!hit, "a response held secret %zu: ...%.80s", s,
              hit ? (hit > tsrv_transcript + 80 ? hit - 80 : tsrv_transcript) : "");
    }
}

/* ---- Request ids, the access log, metrics, the OpenAPI document ------------------------------ */

/* One request with extra header lines on a new connection; the answer's X-Request-Id into id
 * ("" when absent). Returns the status (-1 on I/O error). */
static int call_with_headers(int port, const char *method, const char *path, const char *headers,
                             char *id, size_t id_cap) {
    tsrv_conn c = {.fd = -1, .port = port};
    tsrv_resp r;
    id[0] = '\0';
    if (!tsrv_request(&c, method, path, headers, NULL, NULL, 0, &r))
        return -1;
    tsrv_close(&c);
    if (!tsrv_header(&r, "X-Request-Id", id, id_cap))
        id[0] = '\0';
    int status = r.status;
    tsrv_resp_free(&r);
    return status;
}

static bool is_generated_id(const char *id) {
    return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

/* Every answer carries X-Request-Id: a proxy's when it is a sane token, else one of ours. */
static void test_request_ids(int port, const char *admin) {
    char id[256], first[256] = "";
    CHECK(call_with_headers(port, "GET", "/healthz", "X-Request-Id: trace-42/abc.def\r\n", id,
                            sizeof id) == 200 &&
              strcmp(id, "trace-42/abc.def") == 0,
          "a sane X-Request-Id is answered back (got '%s')", id);
    char longest[SRV_ID_MAX_TEST + 32];
    snprintf(longest, sizeof longest, "X-Request-Id: %0*d\r\n", SRV_ID_MAX_TEST, 7);
    CHECK(call_with_headers(port, "GET", "/healthz", longest, id, sizeof id) == 200 &&
              strlen(id) == SRV_ID_MAX_TEST,
          "an id of %d characters is kept (got %zu)", SRV_ID_MAX_TEST, strlen(id));
    const char *insane[] = {"X-Request-Id: has space\r\n",   "X-Request-Id: q\"uote\r\n",
                            "X-Request-Id: q'uote\r\n",      "X-Request-Id: back\\slash\r\n",
                            "X-Request-Id: caf\xc3\xa9\r\n", "X-Request-Id: \r\n"};
    for (size_t i = 0; i < sizeof insane / sizeof insane[0]; i++) {
        CHECK(call_with_headers(port, "GET", "/healthz", insane[i], id, sizeof id) == 200 &&
                  is_generated_id(id),
              "insane id %zu replaced by a generated one (got '%s')", i, id);
    }
    snprintf(longest, sizeof longest, "X-Request-Id: %0*d\r\n", SRV_ID_MAX_TEST + 1, 7);
    CHECK(call_with_headers(port, "GET", "/healthz", longest, id, sizeof id) == 200 &&
              is_generated_id(id),
          "an id of %d characters is replaced (got '%s')", SRV_ID_MAX_TEST + 1, id);
    /* on every answer, errors included; generated ids differ */
    struct {
        const char *method, *path;
        int status;
    } routes[] = {{"GET", "/nope", 404},        {"GET", "/v1/diagnose", 405},
                  {"GET", "/v1/projects", 401}, {"POST", "/v1/diagnose", 400},
                  {"GET", "/metrics", 200},     {"GET", "/openapi.yaml", 200}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int st = call_with_headers(port, routes[i].method, routes[i].path, NULL, id, sizeof id);
        CHECK(st == routes[i].status && is_generated_id(id) && strcmp(id, first) != 0,
              "%s %s: %d with X-Request-Id '%s' (previous '%s')", routes[i].method, routes[i].path,
              st, id, first);
        snprintf(first, sizeof first, "%s", id);
    }
    /* the request the access-log check looks for: a key, and a User-Agent to escape */
    char headers[512];
    snprintf(headers, sizeof headers,
             "Authorization: Bearer %s\r\nUser-Agent: ua \"q\" \\ \x01 \xc3\xbc\r\n"
             "X-Request-Id: ua-check-1\r\n",
             admin);
    CHECK(call_with_headers(port, "GET", "/v1/projects", headers, id, sizeof id) == 200 &&
              strcmp(id, "ua-check-1") == 0,
          "the User-Agent request (id '%s')", id);
}

/* Every access line is one JSON object with the client, user agent, key name and request id. */
static void check_access_log(const char *alog, const char *const *keys, size_t nkeys) {
    int lines = 0, bad = 0;
    bool ua_seen = false, trace_seen = false;
    for (const char *l = alog; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t n = end ? (size_t)(end - l) : strlen(l);
        json_t *j = json_loadb(l, n, 0, NULL);
        lines++;
        const char *rid = j ? jstr(j, "request_id") : NULL;
        const char *client = j ? jstr(j, "client") : NULL;
        if (!rid || !*rid || !client || strcmp(client, "127.0.0.1") != 0 ||
            !json_object_get(j, "user_agent") || !json_object_get(j, "key_name"))
            bad++;
        if (rid && strcmp(rid, "ua-check-1") == 0) {
            ua_seen = true;
            const char *ua = jstr(j, "user_agent"), *key = jstr(j, "key_name");
            /* bytes outside printable ASCII are \u00XX: valid JSON whatever was sent */
            CHECK(ua && strcmp(ua, "ua \"q\" \\ \x01 \xc3\x83\xc2\xbc") == 0, "user agent '%s'",
                  ua ? ua : "(none)");
            CHECK(key && strcmp(key, "admin") == 0, "the key's name is logged: %s",
                  key ? key : "(none)");
        }
        if (rid && strcmp(rid, "trace-42/abc.def") == 0) {
            trace_seen = true;
            CHECK(json_is_null(json_object_get(j, "key_name")), "no key on an open route");
            CHECK(jstr(j, "route") && strcmp(jstr(j, "route"), "/healthz") == 0, "its route");
        }
        for (size_t k = 0; k < nkeys; k++)
            CHECK(!memmem(l, n, keys[k], strlen(keys[k])), "a key in the access log");
        json_decref(j);
        l = end ? end + 1 : NULL;
    }
    CHECK(lines > 50 && bad == 0, "%d access lines, %d not JSON with the request fields", lines,
          bad);
    CHECK(ua_seen && trace_seen, "the lines of the two marked requests (%d, %d)", ua_seen,
          trace_seen);
}

/* The value of the sample line "name VALUE" in Prometheus text; -1 when absent. */
static double metric_value(const char *text, const char *name) {
    size_t n = strlen(name);
    for (const char *l = text; l && *l;) {
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    return -1;
}

/* The standard process_* metrics, and label values without spaces. */
static void test_metrics_process(int port, int64_t started_before) {
    CHECK(tsrv_call(port, "GET", "/", NULL, NULL, NULL, NULL) > 0, "the web page, to count");
    tsrv_resp raw;
    CHECK(tsrv_call(port, "GET", "/metrics", NULL, NULL, NULL, &raw) == 200, "metrics");
    const char *m = raw.body ? raw.body : "";
    struct {
        const char *name, *type;
    } std[] = {{"process_cpu_seconds_total", "counter"},
               {"process_resident_memory_bytes", "gauge"},
               {"process_virtual_memory_bytes", "gauge"},
               {"process_open_fds", "gauge"},
               {"process_max_fds", "gauge"},
               {"process_start_time_seconds", "gauge"}};
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++) {
        char type[96];
        snprintf(type, sizeof type, "# TYPE %s %s\n", std[i].name, std[i].type);
        CHECK(strstr(m, type) && metric_value(m, std[i].name) >= 0, "metrics: %s, a %s",
              std[i].name, std[i].type);
    }
    double rss = metric_value(m, "process_resident_memory_bytes");
    double vms = metric_value(m, "process_virtual_memory_bytes");
    double fds = metric_value(m, "process_open_fds"), max = metric_value(m, "process_max_fds");
    double start = metric_value(m, "process_start_time_seconds");
    CHECK(rss > 1e5 && vms >= rss, "memory: resident %.0f, virtual %.0f", rss, vms);
    /* stdin, stdout, stderr, the database, the listening sockets, this connection */
    CHECK(fds >= 6 && max >= fds, "descriptors: %.0f open of %.0f", fds, max);
    CHECK(start >= (double)started_before - 2 && start <= (double)time(NULL) + 2,
          "start time %.2f, service started after %lld", start, (long long)started_before);
    CHECK(metric_value(m, "process_cpu_seconds_total") >= 0, "cpu seconds");
    CHECK(strstr(m, "tokendoctor_http_requests_total{route=\"/\",status="), "route=\"/\"");
    /* no label value holds a space */
    for (const char *l = m; *l;) {
        const char *end = strchr(l, '\n');
        size_t n = end ? (size_t)(end - l) : strlen(l);
        const char *open = memchr(l, '{', n), *close = open ? memchr(open, '}', n) : NULL;
        CHECK(l[0] == '#' || !open || !close || !memchr(open, ' ', (size_t)(close - open)),
              "a label value with a space: %.*s", (int)n, l);
        if (!end)
            break;
        l = end + 1;
    }
    tsrv_resp_free(&raw);
}

/* (Not through tsrv_call: the document's samples hold example certificates, which the secrecy
 * check of the transcript would take for the test's.) */
static void test_openapi(int port) {
    tsrv_resp raw;
    char v[128] = "";
    tsrv_conn c = {.fd = -1, .port = port};
    CHECK(tsrv_request(&c, "GET", "/openapi.yaml", NULL, NULL, NULL, 0, &raw) && raw.status == 200,
          "openapi.yaml");
    tsrv_close(&c);
    CHECK(tsrv_header(&raw, "Content-Type", v, sizeof v) && strcmp(v, "application/yaml") == 0,
          "openapi content type %s", v);
    CHECK(raw.body && strncmp(raw.body, "openapi: 3.1", 12) == 0 &&
              strstr(raw.body, "\n  /openapi.yaml:\n") && strstr(raw.body, "\n  /v1/diagnose:\n"),
          "the document, describing itself and the API");
    tsrv_resp_free(&raw);
    CHECK(tsrv_call(port, "HEAD", "/openapi.yaml", NULL, NULL, NULL, &raw) == 200 &&
              raw.body_len == 0,
          "HEAD openapi.yaml");
    tsrv_resp_free(&raw);
    CHECK(tsrv_call(port, "POST", "/openapi.yaml", NULL, "{}", NULL, &raw) == 405 &&
              tsrv_header(&raw, "Allow", v, sizeof v) && strcmp(v, "GET, HEAD") == 0,
          "POST openapi.yaml: 405, Allow %s", v);
    tsrv_resp_free(&raw);
}

/* A path that cannot name an App ID: the same 404 on the project, its history and its
 * diagnoses, whatever the query. */
static void test_bad_app_id(int port, const char *reader) {
    const char *paths[] = {"/v1/projects/nothex", "/v1/projects/nothex/history",
                           "/v1/projects/nothex/diagnoses", "/v1/projects/nothex/diagnoses?limit=0",
                           "/v1/projects/0123/diagnoses?limit=abc"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        json_t *j;
        int st = tsrv_call(port, "GET", paths[i], reader, NULL, &j, NULL);
        CHECK(st == 404 && is_error(j, "not_found"), "GET %s: %d %s", paths[i], st,
              j ? jstr(j, "error.code") : "");
        json_decref(j);
    }
}

/* `apikey list` shows when the service last saw each key; the change log names the key. */
static void test_key_use_and_actor(const tsrv_proc *p, int64_t since) {
    char out[400], err[400];
    snprintf(out, sizeof out, "%s/apikey-list.json", p->dir);
    snprintf(err, sizeof err, "%s/apikey-list.err", p->dir);
    const char *argv[] = {bin, "apikey", "list", "--json", "--db", p->db, NULL};
    pid_t pid = tu_spawn(argv, NULL, out, err);
    CHECK(pid > 0 && tu_wait(pid) == 0, "apikey list --json");
    char *text = tu_read_file(out, NULL);
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    size_t i;
    json_t *k;
    int checked = 0;
    json_array_foreach(list, i, k) {
        const char *name = jstr(k, "name");
        json_t *used = json_object_get(k, "last_used_at");
        if (name && strcmp(name, "admin") == 0) {
            checked++;
            CHECK(json_is_integer(used) && json_integer_value(used) >= since &&
                      json_integer_value(used) <= (json_int_t)time(NULL),
                  "the admin key's last use is recorded");
        } else if (name && strcmp(name, "idle") == 0) {
            checked++;
            CHECK(json_is_null(used), "a key never used: last_used_at null");
        }
    }
    CHECK(checked == 2, "apikey list shows the admin and idle keys");
    json_decref(list);
    const char *human[] = {bin, "apikey", "list", "--db", p->db, NULL};
    pid = tu_spawn(human, NULL, out, err);
    CHECK(pid > 0 && tu_wait(pid) == 0, "apikey list");
    text = tu_read_file(out, NULL);
    CHECK(text && strstr(text, "LAST USED"), "apikey list has a LAST USED column");
    free(text);

    json_t *j;
    CHECK(tsrv_call(p->port, "GET", "/v1/projects/" APP_A "/history", p->admin_key, NULL, &j,
                    NULL) == 200,
          "history");
    json_t *e;
    int changes = 0;
    json_array_foreach(json_object_get(j, "history"), i, e) {
        changes++;
        CHECK(jstr(e, "actor") && strcmp(jstr(e, "actor"), "admin") == 0,
              "a change over HTTP is the key's: %s", jstr(e, "actor") ? jstr(e, "actor") : "");
    }
    CHECK(changes > 0, "changes logged");
    json_decref(j);
}

/* The first start's admin key never reaches a log: with standard output not a terminal it is
 * written to a file of mode 0600 that the message names; on a terminal it is printed, unless
 * --admin-key-file is given; a file that cannot be written fails the start (the key revoked). */
static bool read_pty(int master, char *buf, size_t cap, const char *until) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < 1000 && !strstr(buf, until); i++) {
        struct pollfd pfd = {master, POLLIN, 0};
        if (poll(&pfd, 1, 10) <= 0)
            continue;
        ssize_t n = read(master, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return strstr(buf, until) != NULL;
}

static void test_bootstrap_key_file(const tsrv_proc *first) {
    char path[400];
    struct stat sb;
    snprintf(path, sizeof path, "%s/admin-api-key", first->dir);
    CHECK(strcmp(first->admin_key_file, path) == 0, "the message names %s (got '%s')", path,
          first->admin_key_file);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "%s has mode 0600", path);
    char *out = tu_read_file(first->out, NULL);
    CHECK(out && !strstr(out, "tdk_") && strstr(out, path), "stdout names the file, not the key");
    free(out);

    /* on a terminal: printed, no file */
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (!CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0, "a pty")) {
        if (master >= 0)
            close(master);
        return;
    }
    char pts[128], dir[256], text[8192];
    snprintf(pts, sizeof pts, "%s", ptsname(master));
    tsrv_proc p;
    if (make_dir(dir, sizeof dir) && CHECK(tsrv_start_out(&p, bin, dir, NULL, pts), "on a pty")) {
        CHECK(read_pty(master, text, sizeof text, "/v1/projects") && strstr(text, "tdk_"),
              "the key is printed on a terminal: %s", text);
        snprintf(path, sizeof path, "%s/admin-api-key", dir);
        CHECK(stat(path, &sb) != 0, "no key file when it was printed");
        CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
    }
    /* --admin-key-file: written there, even on a terminal */
    if (make_dir(dir, sizeof dir)) {
        snprintf(path, sizeof path, "%s/my key", dir);
        const char *extra[] = {"--admin-key-file", path, NULL};
        if (CHECK(tsrv_start_out(&p, bin, dir, extra, pts), "with --admin-key-file")) {
            CHECK(read_pty(master, text, sizeof text, "/v1/projects") && !strstr(text, "tdk_") &&
                      strstr(text, path),
                  "a terminal shows the file's name, not the key: %s", text);
            char *key = tu_read_file(path, NULL);
            CHECK(key && strncmp(key, "tdk_", 4) == 0 && stat(path, &sb) == 0 &&
                      (sb.st_mode & 0777) == 0600,
                  "the key is in %s, mode 0600", path);
            free(key);
            CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
        }
    }
    close(master);
    /* a file that cannot be written: the start fails, the key made for it is revoked */
    if (make_dir(dir, sizeof dir)) {
        snprintf(path, sizeof path, "%s/no/such/dir/key", dir);
        const char *extra[] = {"--admin-key-file", path, NULL};
        CHECK(!tsrv_start(&p, bin, dir, extra), "an unwritable key file fails the start");
        char *err = tu_read_file(p.err, NULL);
        CHECK(err && strstr(err, path), "the error names %s", path);
        free(err);
        char db[320];
        snprintf(db, sizeof db, "%s/t.db", dir);
        CHECK(tsrv_sql_count(db, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL") == 0,
              "no usable key left behind");
    }
}

/* --access-log: FILE (service messages stay on stderr), stderr, off. */
static void test_access_log_destinations(void) {
    char dir[256];
    if (!make_dir(dir, sizeof dir))
        return;
    const char *modes[] = {"stderr", "off"};
    for (int m = 0; m < 2; m++) {
        tsrv_proc p;
        const char *extra[] = {"--threads", "1", "--access-log", modes[m], NULL};
        if (!CHECK(tsrv_start(&p, bin, dir, extra), "--access-log %s", modes[m]))
            continue;
        CHECK(tsrv_call(p.port, "GET", "/healthz", NULL, NULL, NULL, NULL) == 200, "healthz");
        CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
        char *err = tu_read_file(p.err, NULL);
        bool lines = err && strstr(err, "\"route\":\"/healthz\"");
        CHECK(err && strstr(err, "tokendoctor: serving"), "service messages on stderr");
        CHECK(lines == (m == 0), "--access-log %s: access lines on stderr: %d", modes[m], lines);
        free(err);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/access.log", dir);
    CHECK(!tu_file_contains(path, "/healthz", 8), "nothing in the file with stderr or off");
}

/* ---- TCP_NODELAY on accepted connections --------------------------------------------------- */

/* TCP_NODELAY of the service's accepted connection whose peer is our local port, read on a copy
 * of the service's own descriptor (pidfd_getfd: the client cannot see the server's option).
 * 1 / 0 = the option; -1 = no such socket found; -2 = this kernel does not let us look. */
static int server_nodelay(pid_t pid, int client_fd) {
    struct sockaddr_storage mine;
    socklen_t mlen = sizeof mine;
    if (getsockname(client_fd, (struct sockaddr *)&mine, &mlen) != 0)
        return -1;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return -2;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int found = -1;
    for (struct dirent *e; d && found == -1 && (e = readdir(d));) {
        int target = atoi(e->d_name);
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
        if (fd < 0) {
            if (errno == EPERM || errno == ENOSYS)
                found = -2;
            continue;
        }
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int v = 0;
        socklen_t vlen = sizeof v;
        if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 && plen == mlen &&
            peer.ss_family == AF_INET &&
            ((struct sockaddr_in *)&peer)->sin_port == ((struct sockaddr_in *)&mine)->sin_port &&
            getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0)
            found = v != 0;
        close(fd);
    }
    if (d)
        closedir(d);
    close(pidfd);
    return found;
}

/* An answer larger than the 16 KiB a bufferevent writes at once must not wait for the client's
 * delayed ACK (Nagle): the accepted connection carries TCP_NODELAY. Twenty such answers on one
 * keep-alive connection, all complete and well-formed; the durations are only logged (without
 * the option each takes ~40 ms). */
static void test_nodelay(const tsrv_proc *p) {
    size_t cap = 20 * 64 + 64;
    char *batch = malloc(cap);
    size_t off = (size_t)snprintf(batch, cap, "{\"requests\":[");
    for (int i = 0; i < 20; i++)
        off += (size_t)snprintf(batch + off, cap - off,
                                "%s{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}", i ? "," : "");
    snprintf(batch + off, cap - off, "]}");
    tsrv_conn c = {.fd = -1, .port = p->port};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int good = 0;
    size_t smallest = (size_t)-1;
    for (int i = 0; i < 20; i++) {
        tsrv_resp r;
        if (!tsrv_request(&c, "POST", "/v1/diagnose/batch", NULL, "application/json", batch,
                          strlen(batch), &r))
            break;
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        if (r.status == 200 && json_array_size(json_object_get(j, "results")) == 20)
            good++;
        if (r.body_len < smallest)
            smallest = r.body_len;
        json_decref(j);
        tsrv_resp_free(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(good == 20, "20 batch answers on one keep-alive connection (got %d)", good);
    CHECK(smallest > 16384, "each batch answer is over 16 KiB (smallest %zu bytes)", smallest);
    fprintf(stderr, "nodelay: 20 answers of >16 KiB on one connection in %.1f ms\n",
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    int nd = c.fd >= 0 ? server_nodelay(p->pid, c.fd) : -1;
    if (nd == -2)
        fprintf(stderr, "nodelay: this kernel does not allow pidfd_getfd; option not checked\n");
    else
        CHECK(nd == 1, "the accepted connection has TCP_NODELAY (got %d)", nd);
    tsrv_close(&c);
    free(batch);
}

/* True when some line of text holds both a and b. */
static bool log_has_line(const char *text, const char *a, const char *b) {
    for (const char *l = text; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t n = end ? (size_t)(end - l) : strlen(l);
        const char *hit_a = strstr(l, a), *hit_b = strstr(l, b);
        if (hit_a && hit_b && hit_a < l + n && hit_b < l + n)
            return true;
        l = end ? end + 1 : NULL;
    }
    return false;
}

/* The drift issue 14 found: POST /v1/tokens and `tokendoctor mint` read the same inputs, so one
 * table of inputs goes through both and must come out the same -- refused by both (400 / exit
 * 64), or the same token from both (issue time and salt fixed). */
static void test_mint_like_cli(const tsrv_proc *p, const char *admin) {
    static const struct {
        const char *json;     /* the body's fields after app_id */
        const char *flags[8]; /* the same as mint flags after --app-id ... --db ... */
        bool ok;
    } rows[] = {
        {"\"service\":\"rtm\",\"channel\":\"x\",\"role\":\"subscriber\"",
         {"--service", "rtm", "--channel", "x", "--role", "subscriber"},
         false},
        {"\"service\":\"rtm\"", {"--service", "rtm"}, false},
        {"\"service\":\"rtm\",\"uid\":0", {"--service", "rtm", "--uid", "0"}, false},
        {"\"service\":\"rtm\",\"account\":\"bob\"", {"--service", "rtm", "--account", "bob"}, true},
        {"\"service\":\"rtm\",\"uid\":7", {"--service", "rtm", "--uid", "7"}, true},
        {"\"channel\":\"c\",\"role\":\"host\"", {"--channel", "c", "--role", "host"}, true},
        {"\"channel\":\"c\",\"role\":\"audience\"", {"--channel", "c", "--role", "audience"}, true},
        {"\"channel\":\"c\",\"role\":\"king\"", {"--channel", "c", "--role", "king"}, false},
        {"\"channel\":\"\"", {"--channel", ""}, false},
        {"\"uid\":1", {"--uid", "1"}, false},
        {"\"channel\":\"c\",\"uid\":1,\"account\":\"a\"",
         {"--channel", "c", "--uid", "1", "--account", "a"},
         false},
        {"\"channel\":\"c\",\"uid\":4294967296", {"--channel", "c", "--uid", "4294967296"}, false},
        {"\"channel\":\"c\",\"version\":\"006\",\"expire\":4294967295",
         {"--channel", "c", "--version", "006", "--expire", "4294967295"},
         false},
        {"\"channel\":\"c\",\"version\":\"006\",\"uid\":42,\"expire\":60",
         {"--channel", "c", "--version", "006", "--uid", "42", "--expire", "60"},
         true},
        {"\"channel\":\"c\",\"uid\":42,\"expire\":60,\"privilege_expire\":30",
         {"--channel", "c", "--uid", "42", "--expire", "60", "--privilege-expire", "30"},
         true},
    };
    json_t *j;
    CHECK(tsrv_call(p->port, "PUT", "/v1/projects/" APP_A, admin, project_a, &j, NULL) == 200,
          "mint like cli: project stored");
    json_decref(j);
    char out[400], err[400];
    snprintf(out, sizeof out, "%s/mint.out", p->dir);
    snprintf(err, sizeof err, "%s/mint.err", p->dir);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char body[512];
        bool versioned = strstr(rows[i].json, "\"version\"") != NULL;
        snprintf(body, sizeof body,
                 "{\"app_id\":\"" APP_A "\",\"issue_ts\":1700000000,\"salt\":7,%s%s}",
                 versioned ? "" : "\"version\":\"007\",", rows[i].json);
        int status = tsrv_call(p->port, "POST", "/v1/tokens", admin, body, &j, NULL);
        const char *argv[32] = {bin,   "mint",       "--app-id",   APP_A,    "--db",
                                p->db, "--issue-ts", "1700000000", "--salt", "7"};
        int n = 10;
        if (!versioned) {
            argv[n++] = "--version";
            argv[n++] = "007";
        }
        for (int f = 0; f < 8 && rows[i].flags[f]; f++)
            argv[n++] = rows[i].flags[f];
        argv[n] = NULL;
        int exit_status = tu_wait(tu_spawn(argv, NULL, out, err));
        char *printed = tu_read_file(out, NULL);
        const char *token = j ? jstr(j, "token") : NULL;
        if (rows[i].ok)
            CHECK(status == 200 && exit_status == 0 && token && printed &&
                      strncmp(printed, token, strlen(token)) == 0,
                  "mint row %zu (%s): HTTP %d and CLI exit %d give the same token", i, rows[i].json,
                  status, exit_status);
        else
            CHECK(status == 400 && exit_status == 64,
                  "mint row %zu (%s): refused by both (HTTP %d, CLI exit %d)", i, rows[i].json,
                  status, exit_status);
        free(printed);
        json_decref(j);
    }
}

static void suite_api(void) {
    char dir[256];
    tsrv_proc p;
    const char *extra[] = {"--threads", "2", NULL};
    int64_t started_before = (int64_t)time(NULL);
    if (!start_fresh(&p, dir, sizeof dir, extra))
        return;
    CHECK(p.admin_key[0], "first start makes an admin key");
    char reader[TDB_APIKEY_LEN + 1], idle[TDB_APIKEY_LEN + 1], admin[96];
    snprintf(admin, sizeof admin, "%s", p.admin_key);
    CHECK(make_key(p.db, TDB_ROLE_READER, "reader", reader), "reader key");
    CHECK(make_key(p.db, TDB_ROLE_READER, "idle", idle), "a key nobody uses");
    test_bootstrap_key_file(&p);

    test_probes(p.port);
    test_errors_and_limits(p.port);
    test_decode_and_catalog(p.port);
    test_projects(p.port, admin, reader);
    test_mint_like_cli(&p, admin);
    test_web_page(p.port);
    test_nodelay(&p);
    test_request_ids(p.port, admin);
    test_metrics_process(p.port, started_before);
    test_openapi(p.port);
    test_bad_app_id(p.port, reader);
    test_key_use_and_actor(&p, started_before);

    /* revoked: refused at once (the key cache follows the database) */
    json_t *j;
    CHECK(tsrv_call(p.port, "GET", "/v1/projects", reader, NULL, &j, NULL) == 200, "reader ok");
    json_decref(j);
    CHECK(revoke_key(p.db, "reader"), "revoke");
    CHECK(tsrv_call(p.port, "GET", "/v1/projects", reader, NULL, &j, NULL) == 401, "revoked");
    json_decref(j);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");

    /* --auth all: open routes need a key too, probes do not */
    const char *all[] = {"--threads", "1", "--auth", "all", NULL};
    if (!tsrv_start(&p, bin, dir, all)) {
        CHECK(false, "service did not start with --auth all");
        return;
    }
    CHECK(!p.admin_key[0], "no second bootstrap key");
    const char *body = "{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}";
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL, body, &j, NULL) == 401, "auth all");
    json_decref(j);
    CHECK(tsrv_call(p.port, "GET", "/v1/errors", "tdk_wrong", NULL, &j, NULL) == 401, "wrong");
    json_decref(j);
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", admin, body, &j, NULL) == 200, "with key");
    json_decref(j);
    CHECK(tsrv_call(p.port, "GET", "/healthz", NULL, NULL, &j, NULL) == 200, "probe open");
    json_decref(j);
    CHECK(tsrv_call(p.port, "GET", "/metrics", NULL, NULL, NULL, NULL) == 200, "metrics open");
    int page = tsrv_call(p.port, "GET", "/", NULL, NULL, NULL, NULL);
    CHECK(page == 200 || page == 404, "the web page needs no key (%d)", page);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");

    /* the admin key is in admin-api-key only, never in an output or log */
    const char *secrets[] = {CERT_A, CERT_A2, admin + 4, reader + 4};
    check_secrecy(dir, secrets, 4);
    char path[400];
    snprintf(path, sizeof path, "%s/access.log", dir);
    size_t len;
    char *alog = tu_read_file(path, &len);
    CHECK(alog && strstr(alog, "\"route\":\"/v1/diagnose\""), "access log written");
    check_access_log(alog, secrets + 2, 2);
    /* with --access-log FILE, stderr has the service's messages only */
    snprintf(path, sizeof path, "%s/err-1.txt", dir);
    char *err = tu_read_file(path, NULL);
    CHECK(err && strstr(err, "tokendoctor: serving") && !strstr(err, "\"route\":"),
          "stderr without access lines");
    free(err);
    CHECK(!alog || !strstr(alog, "007garbage"), "no token in the access log");
    CHECK(log_has_line(alog, "\"route\":\"/v1/diagnose\",\"status\":200,",
                       "\"app_id\":\"" APP_A "\",\"verdict\":\""),
          "a diagnosis is logged with its App ID and verdict");
    CHECK(log_has_line(alog, "\"route\":\"/v1/diagnose/batch\",\"status\":200,",
                       "\"app_id\":null,\"verdict\":null,"),
          "a batch is logged without an App ID or verdict");
    free(alog);
    test_access_log_destinations();
}

/* ---- scenarios ----------------------------------------------------------------------------- */

static json_t *load_scenarios(void) {
    return scenario_load(vectors); /* NULL (said why) when the vectors are missing */
}

static bool put_projects(int port, const char *admin, json_t *scenarios) {
    json_t *projects = scenario_projects(scenarios);
    size_t i;
    json_t *p;
    bool ok = projects != NULL;
    json_array_foreach(projects, i, p) {
        char path[128];
        snprintf(path, sizeof path, "/v1/projects/%s", jstr(p, "app_id"));
        char *body = json_dumps(p, JSON_COMPACT);
        int st = tsrv_call(port, "PUT", path, admin, body, NULL, NULL);
        ok = ok && (st == 200 || st == 201);
        free(body);
    }
    json_decref(projects);
    return ok;
}

/* Compares an answer with a scenario's expect (scenario_check.h: the same judge as the library
 * and CLI tests); returns true when equal, else prints why. */
static bool matches(json_t *scenario, json_t *d) {
    char why[512];
    if (scenario_matches(scenario, d, why, sizeof why))
        return true;
    const char *id = jstr(scenario, "id");
    fprintf(stderr, "scenario %s: %s\n", id ? id : "?", why);
    return false;
}

/* POST /v1/diagnose of a scenario's request on c: true when the answer is right -- 200 and the
 * expected diagnosis, or 400 and the bad_request error object for a refused one. */
static bool diagnose_matches(tsrv_conn *c, json_t *scenario) {
    char *body = json_dumps(json_object_get(scenario, "request"), JSON_COMPACT);
    tsrv_resp r;
    json_t *d = NULL;
    int status = -1;
    if (body &&
        tsrv_request(c, "POST", "/v1/diagnose", NULL, "application/json", body, strlen(body), &r)) {
        status = r.status;
        d = json_loadb(r.body, r.body_len, 0, NULL);
        tsrv_resp_free(&r);
    }
    free(body);
    int want = scenario_is_bad_request(scenario) ? 400 : 200;
    bool ok = matches(scenario, d);
    if (status != want) {
        fprintf(stderr, "scenario %s: status %d, expected %d\n", jstr(scenario, "id"), status,
                want);
        ok = false;
    }
    json_decref(d);
    return ok;
}

/* The public scenarios, and a fresh service (two threads, no access log) holding every project
 * they name. NULL (checked) when either fails; then no service runs. */
static json_t *start_with_scenarios(tsrv_proc *p, char *dir, size_t cap) {
    json_t *sc = load_scenarios();
    const char *extra[] = {"--threads", "2", "--access-log", "off", NULL};
    if (!CHECK(sc != NULL, "scenarios loaded") || !start_fresh(p, dir, cap, extra)) {
        json_decref(sc);
        return NULL;
    }
    CHECK(put_projects(p->port, p->admin_key, sc), "every project stored");
    return sc;
}

static void suite_scenarios(void) {
    char dir[256];
    tsrv_proc p;
    json_t *sc = start_with_scenarios(&p, dir, sizeof dir);
    if (!sc)
        return;
    size_t i;
    json_t *s;
    int bad = 0;
    tsrv_conn c = {.fd = -1, .port = p.port};
    json_array_foreach(sc, i, s) {
        bad += !diagnose_matches(&c, s);
    }
    CHECK(bad == 0, "%d of %zu scenarios differ through /v1/diagnose", bad, json_array_size(sc));

    /* the batch route, in chunks that fit the body limit, ids echoed */
    bad = 0;
    size_t total = json_array_size(sc);
    for (size_t from = 0; from < total; from += 100) {
        json_t *reqs = json_array();
        for (size_t k = from; k < from + 100 && k < total; k++) {
            json_t *q = json_deep_copy(json_object_get(json_array_get(sc, k), "request"));
            json_object_set_new(q, "id", json_integer((json_int_t)k));
            json_array_append_new(reqs, q);
        }
        json_t *doc = json_pack("{s:o}", "requests", reqs);
        char *body = json_dumps(doc, JSON_COMPACT);
        json_t *res = NULL;
        int st = tsrv_call(p.port, "POST", "/v1/diagnose/batch", NULL, body, &res, NULL);
        CHECK(st == 200, "batch status %d", st);
        json_t *results = json_object_get(res, "results");
        CHECK(json_array_size(results) == json_array_size(reqs), "one result per request");
        for (size_t k = 0; k < json_array_size(results); k++) {
            json_t *d = json_array_get(results, k);
            bad += !matches(json_array_get(sc, from + k), d);
            bad += json_integer_value(json_object_get(d, "id")) != (json_int_t)(from + k);
        }
        json_decref(res);
        free(body);
        json_decref(doc);
    }
    CHECK(bad == 0, "%d scenario answers differ through /v1/diagnose/batch", bad);
    tsrv_close(&c);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
    /* no certificate of any scenario in any response or log */
    json_array_foreach(sc, i, s) {
        json_t *pr = json_object_get(s, "project");
        const char *cert = json_is_object(pr) ? jstr(pr, "primary.certificate") : NULL;
        const char *app_id = json_is_object(pr) ? jstr(pr, "app_id") : NULL;
        /* a project that uses its App ID as certificate: the App ID is in every answer */
        if (cert && app_id && strcmp(cert, app_id) == 0)
            continue;
        if (cert && tsrv_transcript)
            CHECK(!strstr(tsrv_transcript, cert), "scenario %s certificate in a response",
                  jstr(s, "id"));
    }
    json_decref(sc);
}

/* ---- hammer -------------------------------------------------------------------------------- */

typedef struct {
    int port;
    json_t *sc;
    int index;
    int requests;
    int wrong;
} hammer_arg;

static void *hammer_thread(void *arg) {
    hammer_arg *h = arg;
    tsrv_conn c = {.fd = -1, .port = h->port};
    size_t n = json_array_size(h->sc);
    for (int k = 0; k < h->requests; k++) {
        json_t *s = json_array_get(h->sc, (size_t)(h->index * 53 + k * 7) % n);
        tsrv_resp r;
        if (k % 10 == 9) { /* some other routes in between */
            bool ok = tsrv_request(&c, "GET", "/v1/errors", NULL, NULL, NULL, 0, &r) &&
                      r.status == 200 && r.body_len > 100;
            h->wrong += !ok;
            tsrv_resp_free(&r);
            continue;
        }
        h->wrong += !diagnose_matches(&c, s);
    }
    tsrv_close(&c);
    return NULL;
}

static void suite_hammer(void) {
    char dir[256];
    tsrv_proc p;
    json_t *sc = start_with_scenarios(&p, dir, sizeof dir);
    if (!sc)
        return;
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    hammer_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (hammer_arg){p.port, sc, i, 1500, 0};
        pthread_create(&t[i], NULL, hammer_thread, &a[i]);
    }
    int wrong = 0, total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        wrong += a[i].wrong;
        total += a[i].requests;
    }
    CHECK(wrong == 0, "%d of %d answers wrong under load", wrong, total);
    /* the counters add up across the workers */
    tsrv_resp r;
    CHECK(tsrv_call(p.port, "GET", "/metrics", NULL, NULL, NULL, &r) == 200, "metrics");
    unsigned long long n = 0; /* diagnoses, and bad requests (the scenarios refused) */
    const char *statuses[] = {"route=\"/v1/diagnose\",status=\"200\"} ",
                              "route=\"/v1/diagnose\",status=\"400\"} "};
    for (int k = 0; k < 2; k++) {
        const char *m = r.body ? strstr(r.body, statuses[k]) : NULL;
        if (m)
            n += strtoull(strchr(m, '}') + 2, NULL, 10);
    }
    CHECK(n >= (unsigned long long)(total - total / 10), "diagnose counter %llu", n);
    tsrv_resp_free(&r);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
    json_decref(sc);
}

/* ---- slow client ------------------------------------------------------------------------------
 */

static void suite_slow(void) {
    char dir[256];
    tsrv_proc p;
    /* one worker: if the slow client held it, nobody else would be answered */
    const char *extra[] = {"--threads", "1", "--timeout", "2", NULL};
    if (!start_fresh(&p, dir, sizeof dir, extra))
        return;
    tsrv_conn slow = {.fd = -1, .port = p.port}, slow2 = {.fd = -1, .port = p.port};
    CHECK(tsrv_connect(&slow, p.port) && tsrv_connect(&slow2, p.port), "connect");
    const char *half = "POST /v1/diagnose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                       "\r\nContent-Length: 100\r\n\r\n{\"app_id\":";
    const char *half_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    CHECK(send(slow.fd, half, strlen(half), MSG_NOSIGNAL) == (ssize_t)strlen(half), "send");
    CHECK(send(slow2.fd, half_header, strlen(half_header), MSG_NOSIGNAL) ==
              (ssize_t)strlen(half_header),
          "send");
    /* others are served meanwhile */
    for (int i = 0; i < 20; i++) {
        json_t *j;
        CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL,
                        "{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}", &j, NULL) == 200,
              "served while a client is slow");
        json_decref(j);
    }
    /* the slow clients are cut off by the server's timeout: EOF, with no answer */
    char buf[256];
    ssize_t n = recv(slow.fd, buf, sizeof buf, 0);
    CHECK(n <= 0, "half a body: connection closed without an answer (%zd)", n);
    n = recv(slow2.fd, buf, sizeof buf, 0);
    CHECK(n <= 0 || strncmp(buf, "HTTP/1.1 4", 10) == 0, "half a header: closed (%zd)", n);
    tsrv_close(&slow);
    tsrv_close(&slow2);
    json_t *j;
    CHECK(tsrv_call(p.port, "GET", "/healthz", NULL, NULL, &j, NULL) == 200, "still serving");
    json_decref(j);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* CPU time (user + system, clock ticks) the process has used so far; -1 when unreadable. */
static long proc_cpu_ticks(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    long utime, stime;
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
        return -1;
    return utime + stime;
}

static int proc_fd_count(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return d ? n : -1;
}

/* Out of descriptors: more clients than the service may open files. accept() then fails with
 * EMFILE while the connections wait in the kernel's queue, so a listener that kept trying would
 * spin (libevent's default: ~100% of a core and a warning per attempt). The service must pause
 * accepting, keep serving the connections it has, say so once in a while, and accept again
 * when descriptors are free. The CPU check has a wide margin (a spinning worker uses a whole
 * core: ~100 ticks a second) and can only err towards passing on a busy machine. */
static void suite_fd_exhaustion(void) {
    char dir[256];
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", NULL};
    if (!start_fresh(&p, dir, sizeof dir, extra))
        return;
    tsrv_conn kept = {.fd = -1, .port = p.port};
    tsrv_resp r;
    CHECK(tsrv_request(&kept, "GET", "/healthz", NULL, NULL, NULL, 0, &r) && r.status == 200,
          "a keep-alive connection before the limit");
    tsrv_resp_free(&r);
    int used = proc_fd_count(p.pid);
    /* The soft limit only: raising a hard limit back needs a privilege a container may lack
     * (the service raised its soft limit to the hard one when it started, not since). */
    struct rlimit before, rl;
    if (!CHECK(used > 0 && prlimit(p.pid, RLIMIT_NOFILE, NULL, &before) == 0, "read the limit")) {
        tsrv_stop(&p, SIGKILL);
        return;
    }
    rl = (struct rlimit){(rlim_t)used + 2, before.rlim_max};
    if (!CHECK(prlimit(p.pid, RLIMIT_NOFILE, &rl, NULL) == 0,
               "lower the service's descriptor limit (%s)", strerror(errno))) {
        tsrv_stop(&p, SIGKILL);
        return;
    }
    enum { EXTRA_CLIENTS = 24 };
    tsrv_conn crowd[EXTRA_CLIENTS];
    for (int i = 0; i < EXTRA_CLIENTS; i++) {
        crowd[i] = (tsrv_conn){.fd = -1, .port = p.port};
        CHECK(tsrv_connect(&crowd[i], p.port), "connect %d (the kernel queues it)", i);
    }
    /* The service has taken all it may once its descriptor count reaches the limit. */
    for (int i = 0; i < 500 && proc_fd_count(p.pid) < (int)rl.rlim_cur; i++)
        tsrv_sleep_ms(10);
    CHECK(proc_fd_count(p.pid) >= (int)rl.rlim_cur, "the service reached its descriptor limit");
    long t0 = proc_cpu_ticks(p.pid);
    tsrv_sleep_ms(1000);
    long t1 = proc_cpu_ticks(p.pid), tck = sysconf(_SC_CLK_TCK);
    if (!CHECK(t0 >= 0 && t1 >= t0 && t1 - t0 <= tck / 5,
               "out of descriptors, the service does not spin: %ld ticks of CPU in 1 s (limit "
               "%ld)",
               t1 - t0, tck / 5)) {
        tsrv_stop(&p, SIGKILL); /* a spinning service also floods its stderr: stop it now */
        for (int i = 0; i < EXTRA_CLIENTS; i++)
            tsrv_close(&crowd[i]);
        tsrv_close(&kept);
        return;
    }
    CHECK(tsrv_wait_stderr(&p, "cannot accept a connection (Too many open files)", 10),
          "the service says why it is not accepting");
    CHECK(tsrv_request(&kept, "GET", "/healthz", NULL, NULL, NULL, 0, &r) && r.status == 200,
          "an open connection is still served");
    tsrv_resp_free(&r);
    /* Descriptors free again (as when an administrator raises the limit or clients leave): the
     * queued connections and a new one are accepted at the next retry. */
    CHECK(prlimit(p.pid, RLIMIT_NOFILE, &before, NULL) == 0, "restore the limit");
    json_t *j = NULL;
    CHECK(tsrv_call(p.port, "GET", "/healthz", NULL, NULL, &j, NULL) == 200,
          "descriptors free again: a new connection is accepted");
    for (int i = 0; i < EXTRA_CLIENTS; i++) {
        CHECK(tsrv_request(&crowd[i], "GET", "/healthz", NULL, NULL, NULL, 0, &r) &&
                  r.status == 200,
              "descriptors free again: queued connection %d is served", i);
        tsrv_resp_free(&r);
        tsrv_close(&crowd[i]);
    }
    tsrv_close(&kept);
    json_decref(j);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* ---- SIGTERM ----------------------------------------------------------------------------------
 */

typedef struct {
    int port;
    atomic_int *answered_total;
    atomic_bool *signalled;
    atomic_bool answered_once;
    int answered;
    int lost; /* requests sent on an established connection that got no answer */
    int max;
} term_arg;

static void *term_thread(void *arg) {
    term_arg *t = arg;
    tsrv_conn c = {.fd = -1, .port = t->port};
    const char *body = "{\"app_id\":\"" APP_B "\",\"channel\":\"c\",\"token\":\"\"}";
    bool fresh = true;
    while (t->answered < t->max) {
        if (c.fd < 0) {
            if (!tsrv_connect(&c, t->port))
                break; /* refused: the service stopped accepting */
            fresh = true;
        }
        bool after = atomic_load(t->signalled);
        tsrv_resp r;
        if (!tsrv_request(&c, "POST", "/v1/diagnose", NULL, "application/json", body, strlen(body),
                          &r)) {
            /* a connection accepted by the kernel but never by the service (it had stopped
             * accepting) is reset at exit: allowed only for a fresh connection after SIGTERM */
            if (!(fresh && after))
                t->lost++;
            break;
        }
        fresh = false;
        if (r.status == 200) {
            t->answered++;
            atomic_store(&t->answered_once, true);
            atomic_fetch_add(t->answered_total, 1);
        } else {
            t->lost++;
        }
        tsrv_resp_free(&r);
    }
    tsrv_close(&c);
    return NULL;
}

/* Waits (polling, 30 s at most as a safety net) until every client thread has been answered
 * at least once -- so each one's connection was accepted by a worker, not left in a listening
 * socket's backlog that SIGTERM resets -- and `total` answers were given in all. */
static bool wait_all_answered(term_arg *a, int n, atomic_int *answered_total, int total) {
    for (int i = 0; i < 3000; i++) {
        bool each = true;
        for (int k = 0; k < n; k++)
            each = each && atomic_load(&a[k].answered_once);
        if (each && atomic_load(answered_total) >= total)
            return true;
        tsrv_sleep_ms(10);
    }
    return false;
}

static void suite_sigterm(void) {
    char dir[256];
    tsrv_proc p;
    const char *extra[] = {"--threads", "2", NULL};
    if (!start_fresh(&p, dir, sizeof dir, extra))
        return;
    /* A request in flight in the truest sense: half sent when the signal arrives. One answered
     * request first proves a worker accepted the connection (a connection still in a listening
     * socket's backlog is reset when the worker stops accepting; that is not "in flight"). */
    const char *body = "{\"app_id\":\"" APP_B "\",\"channel\":\"c\"}";
    tsrv_conn half = {.fd = -1, .port = p.port};
    tsrv_resp r;
    bool first = tsrv_request(&half, "POST", "/v1/diagnose", NULL, "application/json", body,
                              strlen(body), &r) &&
                 r.status == 200 && !r.close;
    CHECK(first, "a first request on the kept-alive connection");
    if (first)
        tsrv_resp_free(&r);
    int answered = first ? 1 : 0;
    const char *body1 = "{\"app_id\":\"" APP_B "\",";
    const char *part2 = "\"channel\":\"c\"}";
    char part1[512];
    snprintf(part1, sizeof part1,
             "POST /v1/diagnose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body1) + strlen(part2), body1);
    CHECK(half.fd >= 0 &&
              send(half.fd, part1, strlen(part1), MSG_NOSIGNAL) == (ssize_t)strlen(part1),
          "send the first half");

    enum { THREADS = 4 };
    atomic_int total = 0;
    atomic_bool signalled = false;
    pthread_t t[THREADS];
    term_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (term_arg){p.port, &total, &signalled, false, 0, 0, 200};
        pthread_create(&t[i], NULL, term_thread, &a[i]);
    }
    CHECK(wait_all_answered(a, THREADS, &total, 100), "every client answered before SIGTERM");
    atomic_store(&signalled, true);
    kill(p.pid, SIGTERM);
    /* The rest of the half-sent request goes out once the service has taken the signal (it says
     * so on stderr), so that it completes during the drain, not before it. */
    CHECK(tsrv_wait_stderr(&p, "SIGTERM: finishing requests in flight", 30),
          "the service reports the signal");
    send(half.fd, part2, strlen(part2), MSG_NOSIGNAL);
    tsrv_resp r2;
    bool second = half.fd >= 0 && tsrv_read_reply(&half, &r2);
    CHECK(second && r2.status == 200, "the half-sent request is answered");
    answered += second && r2.status == 200 ? 1 : 0;
    if (second)
        tsrv_resp_free(&r2);
    tsrv_close(&half);
    int lost = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        answered += a[i].answered;
        lost += a[i].lost;
    }
    CHECK(lost == 0, "%d requests in flight were not answered", lost);
    CHECK(tsrv_stop(&p, 0) == 0, "exit status 0 after SIGTERM");
    /* the diagnosis log was flushed: every answered diagnosis is stored (in the main database) */
    char err[256];
    char log_db[400];
    snprintf(log_db, sizeof log_db, "%s/t.db", dir);
    tdb *db = tdb_open_existing(log_db, NULL, NULL, err, sizeof err);
    CHECK(db != NULL, "reopen: %s", err);
    if (db) {
        tdb_log_entry *list = NULL;
        size_t n = 0;
        CHECK(tdb_diagnoses_recent(db, APP_B, 1000, &list, &n) == TDB_OK, "recent");
        CHECK((int)n == answered, "%zu logged, %d answered", n, answered);
        free(list);
        tdb_close(db);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/access.log", dir);
    size_t len;
    char *alog = tu_read_file(path, &len);
    int lines = 0;
    for (size_t i = 0; alog && i < len; i++)
        lines += alog[i] == '\n';
    CHECK(lines >= answered, "access log flushed: %d lines for %d answers", lines, answered);
    free(alog);
}

/* ---- restart -----------------------------------------------------------------------------------
 */

static void check_separate_log_db(void);

static void suite_restart(void) {
    char dir[256];
    tsrv_proc p;
    const char *extra[] = {"--threads", "1", NULL};
    if (!start_fresh(&p, dir, sizeof dir, extra))
        return;
    char admin[96];
    snprintf(admin, sizeof admin, "%s", p.admin_key);
    json_t *j, *before = NULL;
    CHECK(tsrv_call(p.port, "PUT", "/v1/projects/" APP_A, admin, project_a, &before, NULL) == 201,
          "PUT");
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}", &j, NULL) == 200,
          "diagnose");
    json_decref(j);
    CHECK(tsrv_stop(&p, SIGINT) == 0, "SIGINT: exit 0");

    if (!tsrv_start(&p, bin, dir, extra)) {
        CHECK(false, "service did not restart");
        json_decref(before);
        return;
    }
    CHECK(!p.admin_key[0], "no new admin key on a restart");
    CHECK(tsrv_call(p.port, "GET", "/v1/projects/" APP_A, admin, NULL, &j, NULL) == 200,
          "the project and the key persisted");
    CHECK(j && before &&
              json_equal(json_object_get(j, "primary"), json_object_get(before, "primary")),
          "same configuration");
    json_decref(j);
    CHECK(tsrv_call(p.port, "GET", "/v1/projects/" APP_A "/history", admin, NULL, &j, NULL) == 200,
          "history persisted");
    CHECK(json_array_size(json_object_get(j, "history")) == 1, "one change");
    json_decref(j);
    CHECK(tsrv_call(p.port, "GET", "/v1/projects/" APP_A "/diagnoses", admin, NULL, &j, NULL) ==
              200,
          "diagnoses persisted");
    CHECK(json_array_size(json_object_get(j, "diagnoses")) == 1, "one diagnosis");
    json_decref(j);
    CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL,
                    "{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}", &j, NULL) == 200,
          "diagnose");
    CHECK(j && jstr(j, "cause") && strcmp(jstr(j, "cause"), "token_required") == 0,
          "the stored project is used");
    json_decref(j);

    /* /readyz follows the schema: a database from a newer version is not ready (503, reason) */
    sqlite3 *sq = NULL;
    CHECK(sqlite3_open(p.db, &sq) == SQLITE_OK, "sqlite open");
    sqlite3_busy_timeout(sq, 10000);
    CHECK(sqlite3_exec(sq, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK, "bump: %s",
          sqlite3_errmsg(sq));
    CHECK(tsrv_call(p.port, "GET", "/readyz", NULL, NULL, &j, NULL) == 503, "not ready");
    CHECK(is_error(j, "not_ready") && strstr(jstr(j, "error.message"), "99"), "reason given");
    json_decref(j);
    char restore[64];
    snprintf(restore, sizeof restore, "PRAGMA user_version = %d", TDB_SCHEMA_VERSION);
    CHECK(sqlite3_exec(sq, restore, NULL, NULL, NULL) == SQLITE_OK, "restore");
    sqlite3_close(sq);
    CHECK(tsrv_call(p.port, "GET", "/readyz", NULL, NULL, &j, NULL) == 200, "ready again");
    json_decref(j);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
    json_decref(before);
    check_separate_log_db();
}

/* ---- coherence: two services, one database
 * -------------------------------------------------------- */

static const char *cause_of(int port, const char *body, char *buf, size_t cap) {
    json_t *j;
    buf[0] = '\0';
    if (tsrv_call(port, "POST", "/v1/diagnose", NULL, body, &j, NULL) == 200 && jstr(j, "cause"))
        snprintf(buf, cap, "%s", jstr(j, "cause"));
    json_decref(j);
    return buf;
}

/* A counter of /metrics (the first sample whose line starts with `sample`); -1 when absent. */
static long long metric_of(int port, const char *sample) {
    tsrv_resp raw;
    memset(&raw, 0, sizeof raw);
    long long v = -1;
    if (tsrv_call(port, "GET", "/metrics", NULL, NULL, NULL, &raw) == 200 && raw.body) {
        for (const char *line = raw.body; line && *line; line = strchr(line, '\n')) {
            line += *line == '\n';
            if (strncmp(line, sample, strlen(sample)) == 0 && line[strlen(sample)] == ' ') {
                v = strtoll(line + strlen(sample) + 1, NULL, 10);
                break;
            }
        }
    }
    tsrv_resp_free(&raw);
    return v;
}

#define CACHE_MISSES "tokendoctor_project_cache_lookups_total{result=\"miss\"}"

/* Both services keep the diagnosis log in the one database file (no second file). Its commits,
 * many while these diagnoses run, must not empty the project caches: after a configuration
 * change each worker misses once, then hits however many log commits come between. */
static void check_log_shares_the_file(const char *dir, tsrv_proc *a, const char *admin,
                                      const char *body) {
    char path[400], c1[64];
    snprintf(path, sizeof path, "%s/t-diagnoses.db", dir);
    CHECK(access(path, F_OK) != 0, "no separate diagnosis-log file by default");
    for (int i = 0; i < 32; i++) /* every worker has it cached (connections land at random) */
        cause_of(a->port, body, c1, sizeof c1);
    long long before = metric_of(a->port, CACHE_MISSES);
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 10; i++)
            CHECK(strcmp(cause_of(a->port, body, c1, sizeof c1), "token_required") == 0, "A %s",
                  c1);
        /* Let the writer commit this round (and move data_version) before the next one. */
        json_t *j = NULL;
        CHECK(tsrv_call(a->port, "GET", "/v1/projects/" APP_A "/diagnoses?limit=1", admin, NULL, &j,
                        NULL) == 200,
              "diagnoses");
        json_decref(j);
    }
    long long after = metric_of(a->port, CACHE_MISSES);
    CHECK(before >= 0 && after == before,
          "log commits emptied the project cache: %lld misses -> %lld", before, after);
}

/* An API key created and revoked by another process is honoured at once, not after the key
 * cache's time to live: the configuration version moved. */
static void check_key_changes_seen(const char *dir, tsrv_proc *a, tsrv_proc *b) {
    char db_path[400], key[TDB_APIKEY_LEN + 1];
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    json_t *j;
    CHECK(make_key(db_path, TDB_ROLE_READER, "coherence-reader", key), "make key");
    for (int i = 0; i < 4; i++) {
        CHECK(tsrv_call(a->port, "GET", "/v1/projects", key, NULL, &j, NULL) == 200, "A key");
        json_decref(j);
        CHECK(tsrv_call(b->port, "GET", "/v1/projects", key, NULL, &j, NULL) == 200, "B key");
        json_decref(j);
    }
    CHECK(revoke_key(db_path, "coherence-reader"), "revoke");
    for (int i = 0; i < 4; i++) {
        CHECK(tsrv_call(a->port, "GET", "/v1/projects", key, NULL, &j, NULL) == 401,
              "A: revoked key refused at once");
        json_decref(j);
        CHECK(tsrv_call(b->port, "GET", "/v1/projects", key, NULL, &j, NULL) == 401,
              "B: revoked key refused at once");
        json_decref(j);
    }
}

/* The diagnoses of both services end up in the one log. */
static void check_one_log(const char *dir, tsrv_proc *a, tsrv_proc *b, const char *admin) {
    const char *body = "{\"app_id\":\"" APP_B "\",\"channel\":\"c\"}";
    char c1[64];
    for (int i = 0; i < 5; i++)
        cause_of(a->port, body, c1, sizeof c1);
    for (int i = 0; i < 7; i++)
        cause_of(b->port, body, c1, sizeof c1);
    CHECK(tsrv_stop(b, SIGTERM) == 0, "B exit 0"); /* flushes B's log */
    json_t *j = NULL;
    CHECK(tsrv_call(a->port, "GET", "/v1/projects/" APP_B "/diagnoses", admin, NULL, &j, NULL) ==
              200,
          "diagnoses of B");
    json_t *list = json_object_get(j, "diagnoses");
    CHECK(json_array_size(list) == 12, "%zu diagnoses logged, 12 made on A and B",
          json_array_size(list));
    json_t *first = json_array_get(list, 0);
    CHECK(json_is_null(json_object_get(first, "code")) ||
              json_integer_value(json_object_get(first, "code")) > 0,
          "code: null or a real code");
    json_decref(j);
    (void)dir;
}

/* --log-db puts the diagnosis log in a database file of its own; the main one gets none. */
static void check_separate_log_db(void) {
    char dir[256], log_db[400];
    tsrv_proc p;
    if (!make_dir(dir, sizeof dir))
        return;
    snprintf(log_db, sizeof log_db, "%s/log.db", dir);
    const char *extra[] = {"--threads", "1", "--log-db", log_db, NULL};
    if (!tsrv_start(&p, bin, dir, extra)) {
        CHECK(false, "service with --log-db did not start");
        return;
    }
    json_t *j = NULL;
    for (int i = 0; i < 3; i++) {
        CHECK(tsrv_call(p.port, "POST", "/v1/diagnose", NULL,
                        "{\"app_id\":\"" APP_B "\",\"channel\":\"c\"}", &j, NULL) == 200,
              "diagnose");
        json_decref(j);
    }
    CHECK(tsrv_call(p.port, "GET", "/v1/projects/" APP_B "/diagnoses", p.admin_key, NULL, &j,
                    NULL) == 200,
          "diagnoses");
    CHECK(json_array_size(json_object_get(j, "diagnoses")) == 3, "3 diagnoses read back");
    json_decref(j);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
    CHECK(tsrv_sql_count(log_db, "SELECT count(*) FROM diagnoses") == 3, "logged in --log-db");
    CHECK(tsrv_sql_count(p.db, "SELECT count(*) FROM diagnoses") == 0,
          "nothing in the main database");
}

static void suite_coherence(void) {
    char dir[256];
    tsrv_proc a, b;
    const char *extra[] = {"--threads", "2", NULL};
    if (!start_fresh(&a, dir, sizeof dir, extra) ||
        !CHECK(tsrv_start(&b, bin, dir, extra), "the second service did not start"))
        return;
    const char *admin = a.admin_key;
    const char *body = "{\"app_id\":\"" APP_A "\",\"channel\":\"c\"}";
    char c1[64];
    /* warm both caches with "unknown" */
    for (int i = 0; i < 4; i++) {
        CHECK(strcmp(cause_of(a.port, body, c1, sizeof c1), "project_unknown") == 0, "A %s", c1);
        CHECK(strcmp(cause_of(b.port, body, c1, sizeof c1), "project_unknown") == 0, "B %s", c1);
    }
    CHECK(tsrv_call(a.port, "PUT", "/v1/projects/" APP_A, admin, project_a, NULL, NULL) == 201,
          "PUT on A");
    for (int i = 0; i < 4; i++) { /* every worker of both */
        CHECK(strcmp(cause_of(b.port, body, c1, sizeof c1), "token_required") == 0, "B %s", c1);
        CHECK(strcmp(cause_of(a.port, body, c1, sizeof c1), "token_required") == 0, "A %s", c1);
    }
    check_log_shares_the_file(dir, &a, admin, body);
    check_key_changes_seen(dir, &a, &b);
    const char *no_cert = "{\"app_id\":\"" APP_A "\",\"primary\":{\"certificate\":\"" CERT_A
                          "\",\"enabled\":true},\"no_certificate\":true}";
    CHECK(tsrv_call(b.port, "PUT", "/v1/projects/" APP_A, admin, no_cert, NULL, NULL) == 200,
          "PUT on B");
    for (int i = 0; i < 4; i++) {
        CHECK(strcmp(cause_of(a.port, body, c1, sizeof c1), "ok_app_id_only") == 0, "A %s", c1);
        CHECK(strcmp(cause_of(b.port, body, c1, sizeof c1), "ok_app_id_only") == 0, "B %s", c1);
    }
    CHECK(tsrv_call(a.port, "DELETE", "/v1/projects/" APP_A, admin, NULL, NULL, NULL) == 204,
          "DELETE on A");
    for (int i = 0; i < 4; i++) {
        CHECK(strcmp(cause_of(b.port, body, c1, sizeof c1), "project_unknown") == 0, "B %s", c1);
        CHECK(strcmp(cause_of(a.port, body, c1, sizeof c1), "project_unknown") == 0, "A %s", c1);
    }
    check_one_log(dir, &a, &b, admin);
    CHECK(tsrv_stop(&a, SIGTERM) == 0, "A exit 0");
}

int main(int argc, char **argv) {
    const char **const args[] = {&bin, &vectors};
    const tu_test suites[] = {{"api", suite_api},           {"scenarios", suite_scenarios},
                              {"hammer", suite_hammer},     {"slow", suite_slow},
                              {"fds", suite_fd_exhaustion}, {"sigterm", suite_sigterm},
                              {"restart", suite_restart},   {"coherence", suite_coherence}};
    const tsrv_suites t = {"server_test TOKENDOCTOR VECTORS_DIR SUITE", args, 2, suites,
                           (int)(sizeof suites / sizeof suites[0])};
    return tsrv_run_suites(argc, argv, &t);
}

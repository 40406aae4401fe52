/* test_db.c -- the SQLite store (db/tddb.h), exercised through its public API, with raw SQLite
 * and raw file reads to check what is really on disk.
 *
 * Every test works in its own mkdtemp directory (never the default path). Each check prints
 * file:line and what failed; the program exits non-zero when any check failed. Nothing here
 * depends on timing: concurrency tests assert counts and final contents only.
 *
 * Usage: test_db [TEST_NAME...]   (no argument: every test)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* db_internal.h: tdbi_migration (a database as version 1 made it); db_pg.h: the connection of a
 * PostgreSQL store (PQbackendPID); db_sqlite.h: tdbsq_log_span. */
#include "db_internal.h"
#include "db_pg.h"
#include "db_sqlite.h"
#include "tddb.h"
#include "tddiag.h" /* diag_project_from_json: the import's parser */
#include "tdbtest.h"
#include "testutil.h"

/* The store's answers rendered as the CLI and the API render them (tdproject.h), so that these
 * tests keep reading the documents a user sees. */
static tdb_status show_json(tdb *db, const char *app_id, json_t **out) {
    diag_project_shown p;
    tdb_status st = tdb_project_show(db, app_id, &p);
    *out = st == TDB_OK ? diag_project_shown_to_json(&p) : NULL;
    return st;
}

/* Every project of a test's database: one page holds them all (tests store far fewer). */
static tdb_status list_all(tdb *db, diag_project_shown **list, size_t *n) {
    bool more = false;
    tdb_status st = tdb_project_page(db, NULL, TDB_PAGE_MAX, list, n, &more);
    EXPECT(!more);
    return st;
}

static tdb_status list_json(tdb *db, json_t **out) {
    diag_project_shown *list = NULL;
    size_t n = 0;
    tdb_status st = list_all(db, &list, &n);
    *out = st == TDB_OK ? diag_project_list_to_json(list, n) : NULL;
    free(list);
    return st;
}

static tdb_status history_json(tdb *db, const char *app_id, json_t **out) {
    diag_project_change *log = NULL;
    size_t n = 0;
    tdb_status st = tdb_project_history(db, app_id, &log, &n);
    *out = st == TDB_OK ? diag_project_history_to_json(log, n) : NULL;
    free(log);
    return st;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static void sandbox_init(tdbt_sandbox *s) {
    tdbt_sandbox_init(s, "tddb-test", "data");
}

static tdb *open_ok(const char *path, const char *key) {
    char err[600];
    tdb *db = tdb_open(path, key, err, sizeof err);
    CHECK(db != NULL, "%s", err);
    if (!db) {
        fprintf(stderr, "cannot continue without a database\n");
        exit(1);
    }
    return db;
}

/* A new sandbox (sandbox_init) and its database open (open_ok). */
static tdb *sandbox_open(tdbt_sandbox *s) {
    sandbox_init(s);
    return open_ok(s->db, s->key);
}

/* Reads a whole file; NULL (and *len 0) when missing. */
static unsigned char *slurp(const char *path, size_t *len) {
    *len = 0;
    return (unsigned char *)tu_read_file(path, len);
}

static bool files_equal(const unsigned char *a, size_t alen, const char *path) {
    size_t blen = 0;
    unsigned char *b = slurp(path, &blen);
    bool eq = b && alen == blen && memcmp(a, b, alen) == 0;
    free(b);
    return eq;
}

/* tdb_open(path, key) is refused with a message containing needle and leaves the file as it
 * was. */
static void expect_refused(const char *path, const char *key, const char *needle) {
    size_t len = 0;
    unsigned char *before = slurp(path, &len);
    char err[600];
    EXPECT(tdb_open(path, key, err, sizeof err) == NULL);
    CHECK(strstr(err, needle) != NULL, "%s", err);
    EXPECT(files_equal(before, len, path));
    free(before);
}

static void write_file(const char *path, const void *data, size_t len) {
    if (!tu_write_file(path, data, len)) {
        perror(path);
        exit(2);
    }
}

static int sql_exec(const char *path, const char *sql) {
    return tdbt_sql_exec(path, sql);
}

/* The configuration version of db once it is no longer old (at once on SQLite; on PostgreSQL
 * another connection's change arrives through the watcher), waiting at most 1 s. */
static uint64_t version_not(tdb *db, uint64_t old) {
    uint64_t v = tdb_config_version(db);
    for (int i = 0; i < 100 && v == old; i++) {
        usleep(10000);
        v = tdb_config_version(db);
    }
    return v;
}

/* Whether db's configuration version is want within 1 s (see version_not). */
static bool version_is(tdb *db, uint64_t want) {
    for (int i = 0; i < 100 && tdb_config_version(db) != want; i++)
        usleep(10000);
    return tdb_config_version(db) == want;
}

/* A deterministic 32-hex-character certificate (or App ID) numbered n. */
static void make_hex(const char *prefix, int n, char out[33]) {
    char seed[64];
    unsigned char hash[32];
    snprintf(seed, sizeof seed, "%s-%d", prefix, n);
    td_sha256(seed, strlen(seed), hash);
    td_hex(hash, 16, out);
}

static void make_project(diag_project *p, int app, int primary, int secondary) {
    memset(p, 0, sizeof *p);
    make_hex("app", app, p->app_id);
    snprintf(p->name, sizeof p->name, "project %d", app);
    if (primary >= 0) {
        p->primary.present = true;
        p->primary.enabled = true;
        make_hex("cert", primary, p->primary.certificate);
    }
    if (secondary >= 0) {
        p->secondary.present = true;
        p->secondary.enabled = false;
        make_hex("cert", secondary, p->secondary.certificate);
    }
}

static void fp_of(int cert, char out[9]) {
    char hex[33];
    make_hex("cert", cert, hex);
    td_fingerprint(hex, 32, out);
}

static bool retired_has(const diag_project *p, int cert) {
    char hex[33];
    make_hex("cert", cert, hex);
    for (size_t i = 0; i < p->retired_count; i++)
        if (strcmp(p->retired[i], hex) == 0)
            return true;
    return false;
}

static bool json_array_has_string(json_t *arr, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* The change entry of `field` in a history entry, or NULL. */
static json_t *change_of(json_t *entry, const char *field) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(entry, "changes"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "field")), field) == 0)
            return c;
    }
    return NULL;
}

static bool str_is(json_t *v, const char *s) {
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* ---- Tests -------------------------------------------------------------------------------- */

/* The store's lists as the front ends show them: its structs through project/'s one renderer,
 * so that these tests keep asserting the documents. */
static tdb_status apikey_list_json(tdb *db, json_t **out) {
    diag_apikey_shown *keys;
    size_t n;
    tdb_status st = tdb_apikey_list(db, &keys, &n);
    *out = st == TDB_OK ? diag_apikey_list_to_json(keys, n) : NULL;
    free(keys);
    return st;
}

static tdb_status recent_json(tdb *db, const char *app_id, int limit, json_t **out) {
    tdb_log_entry *list;
    size_t n;
    tdb_status st = tdb_diagnoses_recent(db, app_id, limit, &list, &n);
    *out = st == TDB_OK ? diag_log_list_to_json(list, n) : NULL;
    free(list);
    return st;
}

static void test_migrations(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb *db = open_ok(s.db, NULL); /* creates data/, the database and the key file beside it */
    char reason[200];
    EXPECT(tdb_ready(db, reason, sizeof reason));
    EXPECT(strcmp(tdb_key_file(db), s.key) == 0);
    tdb_close(db);

    struct stat sb;
    EXPECT(stat(s.key, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA application_id") == 0x54444442);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                              "('projects', 'config_log', 'retired_certificates', 'api_keys', "
                              "'diagnoses', 'meta')") == 6);
    int64_t objects = tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master");
    size_t key_len = 0;
    unsigned char *key_before = slurp(s.key, &key_len);

    /* Re-open: a no-op (same schema, same key, WAL kept): not a byte written. */
    size_t db_len = 0;
    unsigned char *db_before = slurp(s.db, &db_len);
    db = open_ok(s.db, NULL);
    EXPECT(tdb_ready(db, reason, sizeof reason));
    tdb_close(db);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master") == objects);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(files_equal(key_before, key_len, s.key));
    EXPECT(files_equal(db_before, db_len, s.db));
    free(key_before);
    free(db_before);

    /* WAL, foreign keys, busy timeout are set on the connection. */
    sqlite3 *h = NULL;
    EXPECT(sqlite3_open(s.db, &h) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    EXPECT(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
           sqlite3_step(st) == SQLITE_ROW &&
           strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0);
    sqlite3_finalize(st);
    sqlite3_close(h);

    /* Readiness reports a schema that is not the current one (changed under an open tdb). */
    db = open_ok(s.db, NULL);
    EXPECT(sql_exec(s.db, "PRAGMA user_version = 1") == SQLITE_OK);
    EXPECT(!tdb_ready(db, reason, sizeof reason));
    CHECK(strstr(reason, "schema version 1") != NULL, "%s", reason);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", TDB_SCHEMA_VERSION);
    EXPECT(sql_exec(s.db, pragma) == SQLITE_OK);
    EXPECT(tdb_ready(db, reason, sizeof reason) && reason[0] == '\0');
    tdb_close(db);

    /* A newer schema is refused, untouched. */
    EXPECT(sql_exec(s.db, "PRAGMA user_version = 99") == SQLITE_OK);
    expect_refused(s.db, NULL, "newer");

    /* Someone else's SQLite database is refused, untouched. */
    char other[400];
    snprintf(other, sizeof other, "%s/other.db", s.dir);
    sqlite3 *o = NULL;
    EXPECT(sqlite3_open(other, &o) == SQLITE_OK);
    EXPECT(sqlite3_exec(o, "CREATE TABLE foo (x); INSERT INTO foo VALUES (1)", NULL, NULL, NULL) ==
           SQLITE_OK);
    sqlite3_close(o);
    expect_refused(other, s.key, "not a tokendoctor database");

    /* Another application's id, even without tables: refused, untouched. */
    char foreign[400];
    snprintf(foreign, sizeof foreign, "%s/foreign.db", s.dir);
    o = NULL;
    EXPECT(sqlite3_open(foreign, &o) == SQLITE_OK);
    EXPECT(sqlite3_exec(o, "PRAGMA application_id = 1234", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(o);
    expect_refused(foreign, s.key, "not a tokendoctor database");
    tdbt_sandbox_free(&s);
}

static void test_put_replace_delete(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    char fp[9];
    bool created = false;

    /* 1. Create: primary cert 1 (enabled), secondary cert 2 (disabled). */
    make_project(&p, 1, 1, 2);
    p.cohost_auth = true;
    EXPECT(tdb_project_put(db, &p, "cli", &created) == TDB_OK);
    EXPECT(created);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK);
    EXPECT(strcmp(got.app_id, p.app_id) == 0 && strcmp(got.name, "project 1") == 0);
    EXPECT(got.primary.present && got.primary.enabled &&
           strcmp(got.primary.certificate, p.primary.certificate) == 0);
    EXPECT(got.secondary.present && !got.secondary.enabled &&
           strcmp(got.secondary.certificate, p.secondary.certificate) == 0);
    EXPECT(got.cohost_auth && !got.no_certificate && got.retired_count == 0);

    /* 2. Replace: primary cert 3, secondary cert 2 enabled, configured retired cert 9. */
    make_project(&p, 1, 3, 2);
    p.secondary.enabled = true;
    p.retired_count = 1;
    make_hex("cert", 9, p.retired[0]);
    EXPECT(tdb_project_put(db, &p, "alice", &created) == TDB_OK);
    EXPECT(!created);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK);
    EXPECT(strcmp(got.primary.certificate, p.primary.certificate) == 0);
    EXPECT(got.secondary.enabled);
    EXPECT(got.retired_count == 2 && retired_has(&got, 1) && retired_has(&got, 9));
    EXPECT(!got.cohost_auth);

    /* 3. Swap-ish: primary cert 2 (was secondary), no secondary: cert 3 retired, 2 is not. */
    make_project(&p, 1, 2, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK);
    EXPECT(!got.secondary.present);
    EXPECT(got.retired_count == 3 && retired_has(&got, 3) && !retired_has(&got, 2));

    /* 4. Bring back cert 1 (retired): it is current again, so no longer listed as retired. */
    make_project(&p, 1, 1, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK);
    EXPECT(!retired_has(&got, 1) && retired_has(&got, 2) && retired_has(&got, 3) &&
           retired_has(&got, 9) && got.retired_count == 3);
    /* Most recent last: cert 2 was retired by this change. */
    EXPECT(got.retired_count == 3 && strcmp(got.retired[2], p.primary.certificate) != 0);
    char cert2[33];
    make_hex("cert", 2, cert2);
    EXPECT(got.retired_count == 3 && strcmp(got.retired[2], cert2) == 0);

    /* The history: create, replace x3, with changes and fingerprints. */
    json_t *h = NULL;
    EXPECT(history_json(db, p.app_id, &h) == TDB_OK);
    EXPECT(json_array_size(h) == 4);
    json_t *e0 = json_array_get(h, 0), *e1 = json_array_get(h, 1);
    EXPECT(str_is(json_object_get(e0, "action"), "create"));
    EXPECT(str_is(json_object_get(e0, "actor"), "cli"));
    EXPECT(json_is_null(json_object_get(e0, "before")));
    EXPECT(str_is(json_object_get(json_object_get(e0, "after"), "mode"), "primary"));
    EXPECT(str_is(json_object_get(e1, "action"), "replace"));
    EXPECT(str_is(json_object_get(e1, "actor"), "alice"));
    json_t *c = change_of(e1, "primary.fingerprint");
    fp_of(1, fp);
    EXPECT(c && str_is(json_object_get(c, "from"), fp));
    fp_of(3, fp);
    EXPECT(c && str_is(json_object_get(c, "to"), fp));
    c = change_of(e1, "mode");
    EXPECT(c && str_is(json_object_get(c, "from"), "primary") &&
           str_is(json_object_get(c, "to"), "both"));
    c = change_of(e1, "secondary.enabled");
    EXPECT(c && json_is_false(json_object_get(c, "from")) &&
           json_is_true(json_object_get(c, "to")));
    EXPECT(change_of(e1, "secondary.fingerprint") == NULL); /* unchanged */
    fp_of(1, fp);
    EXPECT(json_array_size(json_object_get(e1, "retired")) == 1 &&
           json_array_has_string(json_object_get(e1, "retired"), fp));
    json_decref(h);

    /* Show and list: fingerprints only, with times. */
    json_t *shown = NULL;
    EXPECT(show_json(db, p.app_id, &shown) == TDB_OK);
    char *text = json_dumps(shown, 0);
    EXPECT(text && strstr(text, p.primary.certificate) == NULL);
    EXPECT(json_is_integer(json_object_get(shown, "created_at")) &&
           json_is_integer(json_object_get(shown, "updated_at")));
    free(text);
    json_decref(shown);
    diag_project q;
    make_project(&q, 2, 5, -1);
    EXPECT(tdb_project_put(db, &q, "cli", NULL) == TDB_OK);
    json_t *list = NULL;
    EXPECT(list_json(db, &list) == TDB_OK);
    EXPECT(json_array_size(list) == 2);
    json_decref(list);

    /* Append-only log. */
    EXPECT(sql_exec(s.db, "UPDATE config_log SET actor = 'mallory'") != SQLITE_OK);
    EXPECT(sql_exec(s.db, "DELETE FROM config_log") != SQLITE_OK);

    /* 5. Delete: logged, retired certificates gone with it, the log survives. */
    EXPECT(tdb_project_delete(db, p.app_id, "bob") == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_NOT_FOUND);
    EXPECT(tdb_project_delete(db, p.app_id, "bob") == TDB_NOT_FOUND);
    EXPECT(show_json(db, p.app_id, &shown) == TDB_NOT_FOUND);
    EXPECT(history_json(db, p.app_id, &h) == TDB_OK);
    EXPECT(json_array_size(h) == 5);
    json_t *last = json_array_get(h, 4);
    EXPECT(str_is(json_object_get(last, "action"), "delete"));
    EXPECT(str_is(json_object_get(last, "actor"), "bob"));
    EXPECT(json_is_null(json_object_get(last, "after")));
    json_decref(h);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM retired_certificates WHERE app_id = '%s'",
             p.app_id);
    EXPECT(tdbt_sql_int(s.db, sql) == 0);

    /* Re-created: a new project (no old retired certificates), history continues. */
    EXPECT(tdb_project_put(db, &p, "cli", &created) == TDB_OK && created);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK && got.retired_count == 0);
    EXPECT(history_json(db, p.app_id, &h) == TDB_OK && json_array_size(h) == 6);
    json_decref(h);

    /* Unknown project: not found everywhere. */
    char unknown[33];
    make_hex("app", 77, unknown);
    EXPECT(tdb_project_get(db, unknown, &got) == TDB_NOT_FOUND);
    EXPECT(history_json(db, unknown, &h) == TDB_NOT_FOUND);

    /* Retired certificates are capped at DIAG_RETIRED_MAX, the oldest dropped. */
    make_project(&p, 3, 1000, -1);
    p.retired_count = DIAG_RETIRED_MAX;
    for (int i = 0; i < DIAG_RETIRED_MAX; i++)
        make_hex("cert", 2000 + i, p.retired[i]);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    make_project(&p, 3, 1001, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK);
    EXPECT(got.retired_count == DIAG_RETIRED_MAX);
    EXPECT(retired_has(&got, 1000) && !retired_has(&got, 2000) && retired_has(&got, 2001));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM retired_certificates WHERE app_id = '%s'",
             p.app_id);
    EXPECT(tdbt_sql_int(s.db, sql) == DIAG_RETIRED_MAX);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Every form a certificate could take on disk. */
static bool any_form_in(const char *path, const char *cert) {
    char upper[33], lower[33], hexed[65], hexed_upper[65];
    unsigned char raw[16];
    for (int i = 0; i < 32; i++) {
        upper[i] = (char)(cert[i] >= 'a' && cert[i] <= 'f' ? cert[i] - 32 : cert[i]);
        lower[i] = (char)(cert[i] >= 'A' && cert[i] <= 'F' ? cert[i] + 32 : cert[i]);
    }
    upper[32] = lower[32] = '\0';
    td_hex((const unsigned char *)cert, 32, hexed);
    for (int i = 0; i < 64; i++)
        hexed_upper[i] = (char)(hexed[i] >= 'a' && hexed[i] <= 'f' ? hexed[i] - 32 : hexed[i]);
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        sscanf(lower + 2 * i, "%2x", &v);
        raw[i] = (unsigned char)v;
    }
    /* Half a certificate is already too much. */
    return tu_file_contains(path, cert, 32) || tu_file_contains(path, upper, 16) ||
           tu_file_contains(path, lower, 16) || tu_file_contains(path, lower + 16, 16) ||
           tu_file_contains(path, hexed, 64) || tu_file_contains(path, hexed_upper, 64) ||
           tu_file_contains(path, raw, 16);
}

static void test_no_certificate_bytes(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char wal[320], shm[320];
    snprintf(wal, sizeof wal, "%s-wal", s.db);
    snprintf(shm, sizeof shm, "%s-shm", s.db);
    tdb *db = open_ok(s.db, s.key);
    /* Keep the WAL from being checkpointed away while we look at it. */
    sqlite3 *reader = NULL;
    sqlite3_open(s.db, &reader);
    sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM projects;", NULL, NULL, NULL);

    char certs[40][33];
    int n = 0;
    for (int app = 0; app < 8; app++) {
        diag_project p;
        make_project(&p, 100 + app, 3 * app, 3 * app + 1);
        if (app % 2) {
            /* Upper-case hex certificates too. */
            for (char *c = p.primary.certificate; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
        }
        p.retired_count = 1;
        make_hex("cert", 500 + app, p.retired[0]);
        memcpy(certs[n++], p.primary.certificate, 33);
        memcpy(certs[n++], p.secondary.certificate, 33);
        memcpy(certs[n++], p.retired[0], 33);
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
        make_project(&p, 100 + app, 3 * app + 2, -1); /* retires both */
        memcpy(certs[n++], p.primary.certificate, 33);
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    }
    /* The scanner works: a certificate stored in clear (as a name) is found. */
    diag_project marker;
    make_project(&marker, 999, -1, -1);
    char planted[33];
    make_hex("cert", 4242, planted);
    snprintf(marker.name, sizeof marker.name, "%s", planted);
    EXPECT(tdb_project_put(db, &marker, "cli", NULL) == TDB_OK);
    EXPECT(tu_file_contains(wal, planted, 32) || tu_file_contains(s.db, planted, 32));
    EXPECT(any_form_in(wal, planted) || any_form_in(s.db, planted));

    for (int i = 0; i < n; i++) {
        CHECK(!any_form_in(s.db, certs[i]), "certificate bytes in the database file");
        CHECK(!any_form_in(wal, certs[i]), "certificate bytes in the WAL file");
        CHECK(!any_form_in(shm, certs[i]), "certificate bytes in the SHM file");
    }
    sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(reader);
    tdb_close(db);
    for (int i = 0; i < n; i++)
        CHECK(!any_form_in(s.db, certs[i]), "certificate bytes in the closed database");

    /* A copy of the database without the key file reveals nothing and opens to a clear error. */
    char copy_dir[320], copy[340], cmd[1200];
    snprintf(copy_dir, sizeof copy_dir, "%s/copy", s.dir);
    snprintf(copy, sizeof copy, "%s/td.db", copy_dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s'", copy_dir, s.db, copy);
    EXPECT(system(cmd) == 0);
    char err[600];
    EXPECT(tdb_open(copy, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "not found") != NULL && strstr(err, "key file") != NULL, "%s", err);
    EXPECT(access(copy_dir, F_OK) == 0);
    char copy_key[360];
    snprintf(copy_key, sizeof copy_key, "%s/tokendoctor.key", copy_dir);
    EXPECT(access(copy_key, F_OK) != 0); /* no new key was made for it */
    tdbt_sandbox_free(&s);
}

static void test_wrong_key(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    make_project(&p, 1, 1, 2);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    tdb_close(db);

    /* Another key (made by opening another database). */
    char other_db[320], other_key[320];
    snprintf(other_db, sizeof other_db, "%s/other/o.db", s.dir);
    snprintf(other_key, sizeof other_key, "%s/other/o.key", s.dir);
    tdb_close(open_ok(other_db, other_key));

    expect_refused(s.db, other_key, "cannot decrypt certificates: wrong key file?");

    /* A malformed key file. */
    char bad_key[320];
    snprintf(bad_key, sizeof bad_key, "%s/bad.key", s.dir);
    write_file(bad_key, "not a key\n", 10);
    expect_refused(s.db, bad_key, "malformed");

    /* A tampered ciphertext: a clear error, never garbage. */
    EXPECT(sql_exec(s.db,
                    "UPDATE projects SET primary_cert = "
                    "substr(primary_cert, 1, 20) || CASE substr(primary_cert, 21, 1) WHEN x'00' "
                    "THEN x'01' ELSE x'00' END || substr(primary_cert, 22)") == SQLITE_OK);
    db = open_ok(s.db, s.key);
    memset(&got, 0x55, sizeof got);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_DECRYPT);
    CHECK(strstr(tdb_errmsg(db), "cannot decrypt") != NULL, "%s", tdb_errmsg(db));
    EXPECT(strstr(tdb_errmsg(db), p.primary.certificate) == NULL);
    /* A project that does not decrypt cannot be replaced blindly, but can be deleted. */
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_DECRYPT);
    EXPECT(tdb_project_delete(db, p.app_id, "cli") == TDB_OK);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK);
    EXPECT(strcmp(got.primary.certificate, p.primary.certificate) == 0);

    /* A ciphertext moved to another App ID does not decrypt (the App ID is the AAD). */
    diag_project q;
    make_project(&q, 2, 7, -1);
    EXPECT(tdb_project_put(db, &q, "cli", NULL) == TDB_OK);
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE projects SET primary_cert = (SELECT primary_cert FROM projects WHERE "
             "app_id = '%s') WHERE app_id = '%s'",
             q.app_id, p.app_id);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_DECRYPT);
    EXPECT(tdb_project_get(db, q.app_id, &got) == TDB_OK);

    /* A tampered retired certificate: the same clear error, and the same way out. */
    make_project(&q, 2, 8, -1); /* retires cert 7 */
    EXPECT(tdb_project_put(db, &q, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, q.app_id, &got) == TDB_OK && got.retired_count == 1);
    EXPECT(sql_exec(s.db, "UPDATE retired_certificates SET cert = "
                          "substr(cert, 1, 20) || CASE substr(cert, 21, 1) WHEN x'00' THEN x'01' "
                          "ELSE x'00' END || substr(cert, 22)") == SQLITE_OK);
    EXPECT(tdb_project_get(db, q.app_id, &got) == TDB_DECRYPT);
    CHECK(strstr(tdb_errmsg(db), "cannot decrypt") != NULL, "%s", tdb_errmsg(db));
    EXPECT(tdb_project_put(db, &q, "cli", NULL) == TDB_DECRYPT);
    EXPECT(tdb_project_delete(db, q.app_id, "cli") == TDB_OK);
    EXPECT(tdb_project_put(db, &q, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, q.app_id, &got) == TDB_OK && got.retired_count == 0);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_corrupt_and_read_only(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char err[600];
    size_t len = 0;
    unsigned char *before;

    /* Not a database at all. */
    char junk[320];
    snprintf(junk, sizeof junk, "%s/junk.db", s.dir);
    char text[4096];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    write_file(junk, text, sizeof text);
    EXPECT(tdb_open(junk, s.key, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a database") != NULL, "%s", err);
    before = slurp(junk, &len);
    EXPECT(len == sizeof text && memcmp(before, text, len) == 0);
    free(before);

    /* A real database with its pages damaged. */
    tdb *db = open_ok(s.db, s.key);
    for (int i = 0; i < 20; i++) {
        diag_project p;
        make_project(&p, i, i, -1);
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    }
    tdb_close(db);
    before = slurp(s.db, &len);
    EXPECT(len > 8192);
    int fd = open(s.db, O_WRONLY);
    char garbage[4096];
    memset(garbage, 0xA5, sizeof garbage);
    EXPECT(fd >= 0 && pwrite(fd, garbage, sizeof garbage, 100) == (ssize_t)sizeof garbage);
    close(fd);
    free(before);
    before = slurp(s.db, &len);
    db = tdb_open(s.db, s.key, err, sizeof err);
    if (db) {
        /* If the header survived, the damage shows on use: an error, never a crash. */
        json_t *list = NULL;
        EXPECT(list_json(db, &list) == TDB_ERROR);
        tdb_close(db);
    } else {
        CHECK(strstr(err, "corrupt") != NULL || strstr(err, "malformed") != NULL, "%s", err);
    }
    EXPECT(files_equal(before, len, s.db));
    free(before);

    /* A read-only file. */
    char ro[320];
    snprintf(ro, sizeof ro, "%s/ro/ro.db", s.dir);
    tdb_close(open_ok(ro, s.key));
    EXPECT(chmod(ro, 0444) == 0);
    expect_refused(ro, s.key, "read-only");
    tdbt_sandbox_free(&s);
}

/* Children open the same (new) database at once and write; all writes must land. */
static void test_two_processes(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    enum { CHILDREN = 3, PUTS = 40 };
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            char err[600];
            tdb *db = tdb_open(s.db, s.key, err, sizeof err); /* s.key: SQLite's default */
            if (!db) {
                fprintf(stderr, "child %d: %s\n", c, err);
                _exit(3);
            }
            int bad = 0;
            for (int i = 0; i < PUTS; i++) {
                diag_project p;
                make_project(&p, 1000 * (c + 1) + i, i, i + 1);
                /* Every child also rewrites one shared project. */
                diag_project shared;
                make_project(&shared, 7, 100 * c + i, -1);
                char key[TDB_APIKEY_LEN + 1];
                if (tdb_project_put(db, &p, "cli", NULL) != TDB_OK ||
                    tdb_project_put(db, &shared, "cli", NULL) != TDB_OK ||
                    (i % 10 == 0 &&
                     tdb_apikey_create(db, TDB_ROLE_READER, NULL, key, NULL) != TDB_OK)) {
                    fprintf(stderr, "child %d: %s\n", c, tdb_errmsg(db));
                    bad++;
                }
            }
            tdb_close(db);
            _exit(bad ? 4 : 0);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status = 0;
        EXPECT(waitpid(pids[c], &status, 0) == pids[c]);
        EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* One key file, no temporary left behind by the processes racing to create it. */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls '%s/data' | grep tmp)\"", s.dir);
    EXPECT(system(cmd) == 0);
    tdb *db = open_ok(s.db, s.key);
    json_t *list = NULL;
    EXPECT(list_json(db, &list) == TDB_OK); /* every certificate decrypts: one key */
    EXPECT(json_array_size(list) == CHILDREN * PUTS + 1);
    json_decref(list);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM config_log") == 2 * CHILDREN * PUTS);
    char shared_id[33];
    make_hex("app", 7, shared_id);
    json_t *h = NULL;
    EXPECT(history_json(db, shared_id, &h) == TDB_OK);
    EXPECT(json_array_size(h) == CHILDREN * PUTS);
    json_decref(h);
    diag_project got;
    EXPECT(tdb_project_get(db, shared_id, &got) == TDB_OK);
    /* Every primary that was replaced is retired (capped at the most recent 64). */
    EXPECT(got.retired_count == DIAG_RETIRED_MAX);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM api_keys") == CHILDREN * (PUTS / 10));
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_apikeys(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    char admin[TDB_APIKEY_LEN + 1], reader[TDB_APIKEY_LEN + 1], other[TDB_APIKEY_LEN + 1];
    int64_t id_admin = 0, id_reader = 0;
    EXPECT(tdb_apikey_create(db, TDB_ROLE_ADMIN, "ops", admin, &id_admin) == TDB_OK);
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, NULL, reader, &id_reader) == TDB_OK);
    EXPECT(strlen(admin) == TDB_APIKEY_LEN && strncmp(admin, "tdk_", 4) == 0);
    EXPECT(strcmp(admin, reader) != 0);

    char name[80];
    EXPECT(tdb_apikey_verify(db, admin, strlen(admin), name, sizeof name) == TDB_ROLE_ADMIN);
    EXPECT(strcmp(name, "ops") == 0);
    EXPECT(tdb_apikey_verify(db, reader, strlen(reader), name, sizeof name) == TDB_ROLE_READER);
    char expected[40];
    snprintf(expected, sizeof expected, "key-%lld", (long long)id_reader);
    EXPECT(strcmp(name, expected) == 0);
    char wrong[TDB_APIKEY_LEN + 1];
    memcpy(wrong, admin, sizeof wrong);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    EXPECT(tdb_apikey_verify(db, wrong, strlen(wrong), NULL, 0) == TDB_ROLE_NONE);
    EXPECT(tdb_apikey_verify(db, admin, strlen(admin) - 1, NULL, 0) == TDB_ROLE_NONE);
    EXPECT(tdb_apikey_verify(db, "", 0, NULL, 0) == TDB_ROLE_NONE);

    /* Names: unique among active keys, not all digits, printable. */
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, "ops", other, NULL) == TDB_INVALID);
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, "123", other, NULL) == TDB_INVALID);
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, "a b", other, NULL) == TDB_INVALID);
    EXPECT(tdb_apikey_create(db, TDB_ROLE_NONE, "x", other, NULL) == TDB_INVALID);

    /* Only hashes are stored. */
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", s.db);
    EXPECT(!tu_file_contains(s.db, admin + 4, 32) && !tu_file_contains(wal, admin + 4, 32));
    EXPECT(!tu_file_contains(s.db, reader + 4, 32) && !tu_file_contains(wal, reader + 4, 32));

    /* List shows no key. */
    json_t *list = NULL;
    EXPECT(apikey_list_json(db, &list) == TDB_OK && json_array_size(list) == 2);
    char *text = json_dumps(list, 0);
    EXPECT(text && strstr(text, admin + 4) == NULL && strstr(text, "ops") != NULL);
    free(text);
    json_decref(list);

    /* Names of at most TDB_APIKEY_NAME_MAX bytes. */
    char long_name[TDB_APIKEY_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, long_name, other, NULL) == TDB_INVALID);
    long_name[TDB_APIKEY_NAME_MAX] = '\0'; /* exactly the maximum is fine */
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, long_name, other, NULL) == TDB_OK);
    EXPECT(tdb_apikey_revoke(db, long_name) == TDB_OK);

    /* Revoke by name, by id, by key; then the name is free again. */
    EXPECT(tdb_apikey_revoke(db, "ops") == TDB_OK);
    EXPECT(tdb_apikey_verify(db, admin, strlen(admin), NULL, 0) == TDB_ROLE_NONE);
    EXPECT(tdb_apikey_revoke(db, "ops") == TDB_NOT_FOUND);
    EXPECT(tdb_apikey_create(db, TDB_ROLE_ADMIN, "ops", other, NULL) == TDB_OK);
    EXPECT(tdb_apikey_verify(db, other, strlen(other), NULL, 0) == TDB_ROLE_ADMIN);
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", (long long)id_reader);
    EXPECT(tdb_apikey_revoke(db, id_text) == TDB_OK);
    EXPECT(tdb_apikey_verify(db, reader, strlen(reader), NULL, 0) == TDB_ROLE_NONE);
    EXPECT(tdb_apikey_revoke(db, other) == TDB_OK);
    EXPECT(strstr(tdb_errmsg(db), other) == NULL);
    EXPECT(tdb_apikey_verify(db, other, strlen(other), NULL, 0) == TDB_ROLE_NONE);
    /* A key that matches nothing (already revoked, or truncated) is never echoed either. */
    EXPECT(tdb_apikey_revoke(db, other) == TDB_NOT_FOUND);
    CHECK(strstr(tdb_errmsg(db), other + 4) == NULL &&
              strstr(tdb_errmsg(db), "matches the key given") != NULL,
          "%s", tdb_errmsg(db));
    char truncated[40];
    snprintf(truncated, sizeof truncated, "%.30s", other);
    EXPECT(tdb_apikey_revoke(db, truncated) == TDB_NOT_FOUND);
    CHECK(strstr(tdb_errmsg(db), truncated + 4) == NULL, "%s", tdb_errmsg(db));
    EXPECT(tdb_apikey_revoke(db, "999") == TDB_NOT_FOUND);
    EXPECT(apikey_list_json(db, &list) == TDB_OK && json_array_size(list) == 4);
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k) {
        EXPECT(json_is_integer(json_object_get(k, "revoked_at")));
    }
    json_decref(list);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* The last use of a key: recorded by verification, at most once per TDB_APIKEY_USE_INTERVAL,
 * listed, and not a configuration change (the service's caches must stay warm). */
static int64_t listed_last_used(tdb *db, int64_t id) {
    json_t *list = NULL;
    int64_t at = -2; /* -2: not listed; -1: null */
    EXPECT(apikey_list_json(db, &list) == TDB_OK);
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k) {
        if (json_integer_value(json_object_get(k, "id")) != id)
            continue;
        json_t *v = json_object_get(k, "last_used_at");
        EXPECT(json_is_null(v) || json_is_integer(v));
        at = json_is_integer(v) ? json_integer_value(v) : -1;
    }
    json_decref(list);
    return at;
}

static void test_apikey_last_used(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    char key[TDB_APIKEY_LEN + 1], other[TDB_APIKEY_LEN + 1];
    int64_t id = 0, other_id = 0;
    EXPECT(tdb_apikey_create(db, TDB_ROLE_ADMIN, "ops", key, &id) == TDB_OK);
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, "idle", other, &other_id) == TDB_OK);
    EXPECT(listed_last_used(db, id) == -1); /* never used */

    uint64_t config = tdb_config_version(db);
    int64_t before = (int64_t)time(NULL);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    int64_t used = listed_last_used(db, id);
    CHECK(used >= before && used <= (int64_t)time(NULL), "last_used_at %lld", (long long)used);
    EXPECT(listed_last_used(db, other_id) == -1);
    CHECK(tdb_config_version(db) == config, "recording a use moved the configuration version");

    /* Within the interval: not written again (the row keeps the older time). */
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE api_keys SET last_used_at = %lld WHERE id = %lld",
             (long long)(before - TDB_APIKEY_USE_INTERVAL / 2), (long long)id);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    EXPECT(listed_last_used(db, id) == before - TDB_APIKEY_USE_INTERVAL / 2);
    /* Older than the interval: recorded again. */
    snprintf(sql, sizeof sql, "UPDATE api_keys SET last_used_at = %lld WHERE id = %lld",
             (long long)(before - TDB_APIKEY_USE_INTERVAL), (long long)id);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    EXPECT(listed_last_used(db, id) >= before);

    /* A wrong key records nothing. */
    char wrong[TDB_APIKEY_LEN + 1];
    memcpy(wrong, other, sizeof wrong);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    EXPECT(tdb_apikey_verify(db, wrong, strlen(wrong), NULL, 0) == TDB_ROLE_NONE);
    EXPECT(listed_last_used(db, other_id) == -1);

    /* A database locked by another writer: the key is still verified, at once; the use is not
     * recorded (no waiting for the lock on the request path). */
    snprintf(sql, sizeof sql, "UPDATE api_keys SET last_used_at = NULL WHERE id = %lld",
             (long long)id);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    sqlite3 *h = NULL;
    EXPECT(sqlite3_open(s.db, &h) == SQLITE_OK);
    EXPECT(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(waited < 2.5, "verification waited %.1f s for a locked database", waited);
    EXPECT(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    EXPECT(listed_last_used(db, id) == -1);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    EXPECT(listed_last_used(db, id) >= before);

    /* Revoking is still a configuration change. */
    config = tdb_config_version(db);
    EXPECT(tdb_apikey_revoke(db, "idle") == TDB_OK);
    EXPECT(tdb_config_version(db) != config);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_data_version(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb *a = open_ok(s.db, s.key), *b = open_ok(s.db, s.key);
    uint64_t v1 = tdb_data_version(a);
    EXPECT(v1 == tdb_data_version(a));
    diag_project p;
    make_project(&p, 1, 1, -1);
    EXPECT(tdb_project_put(b, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_data_version(a) != v1);
    tdb_close(a);
    tdb_close(b);
    tdbt_sandbox_free(&s);
}

/* ---- Configuration version ---------------------------------------------------------------- */

/* Moves with every configuration change, by this connection or another; stays put for the
 * diagnosis log (which moves data_version) and for failed changes. */
static void test_config_version(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb *a = open_ok(s.db, s.key), *b = open_ok(s.db, s.key);
    uint64_t v = tdb_config_version(a);
    EXPECT(v != 0);
    EXPECT(tdb_config_version(a) == v && tdb_config_version(b) == v);

    diag_project p;
    make_project(&p, 1, 1, -1);
    EXPECT(tdb_project_put(b, &p, "cli", NULL) == TDB_OK); /* another connection */
    uint64_t v2 = version_not(a, v);
    EXPECT(v2 != v && v2 == tdb_config_version(b));
    make_project(&p, 1, 2, -1);
    EXPECT(tdb_project_put(a, &p, "cli", NULL) == TDB_OK); /* this connection */
    uint64_t v3 = tdb_config_version(a);
    EXPECT(v3 != v2 && version_is(b, v3));

    /* The diagnosis log, in the same file: data_version moves, the configuration does not. */
    uint64_t dv = tdb_data_version(a);
    char err[600];
    tdb_log *log = tdb_log_start(s.db, s.key, 100, 7, err, sizeof err);
    CHECK(log != NULL, "%s", err);
    tdb_log_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.app_id, sizeof e.app_id, "app");
    snprintf(e.verdict, sizeof e.verdict, "joinable");
    snprintf(e.cause, sizeof e.cause, "ok");
    snprintf(e.platform, sizeof e.platform, "native");
    for (int i = 0; log && i < 10; i++) {
        e.at = (int64_t)time(NULL);
        EXPECT(tdb_log_push(log, &e));
        tdb_log_flush(log);
    }
    tdb_log_stop(log);
    /* (PostgreSQL has no data_version: the log does not move it there.) */
    EXPECT(tdbt_pg() || tdb_data_version(a) != dv);
    usleep(tdbt_pg() ? 300000 : 0); /* a watcher's poll: nothing may arrive */
    EXPECT(tdb_config_version(a) == v3 && tdb_config_version(b) == v3);

    /* A failed change moves nothing. */
    EXPECT(tdb_project_delete(a, "00000000000000000000000000000000", "cli") == TDB_NOT_FOUND);
    EXPECT(tdb_apikey_revoke(b, "nobody") == TDB_NOT_FOUND);
    EXPECT(tdb_config_version(a) == v3 && tdb_config_version(b) == v3);

    /* API keys: create and revoke, either connection. */
    char key[TDB_APIKEY_LEN + 1];
    EXPECT(tdb_apikey_create(a, TDB_ROLE_READER, "r", key, NULL) == TDB_OK);
    uint64_t v4 = version_not(b, v3);
    EXPECT(v4 != v3 && tdb_config_version(a) == v4);
    EXPECT(tdb_apikey_verify(b, key, strlen(key), NULL, 0) == TDB_ROLE_READER);
    usleep(tdbt_pg() ? 300000 : 0);
    EXPECT(tdb_config_version(a) == v4); /* verifying changes nothing */
    EXPECT(tdb_apikey_revoke(b, "r") == TDB_OK);
    uint64_t v5 = version_not(a, v4);
    EXPECT(v5 != v4 && tdb_config_version(b) == v5);

    /* Delete, and (SQLite) a change made by another program with plain SQL (the triggers see
     * it; PostgreSQL's writers move the version themselves). */
    EXPECT(tdb_project_delete(b, p.app_id, "cli") == TDB_OK);
    uint64_t v6 = version_not(a, v5);
    EXPECT(v6 != v5);
    if (!tdbt_pg()) {
        EXPECT(sql_exec(s.db, "UPDATE api_keys SET name = 'renamed'") == SQLITE_OK);
        EXPECT(tdb_config_version(a) != v6);
    }
    tdb_close(a);
    tdb_close(b);
    tdbt_sandbox_free(&s);
}

/* A read snapshot (tdb_read_begin): what `diagnose --batch` holds over a chunk of lines. Reads
 * inside it see the database as it was when it began, whatever another connection commits
 * meanwhile -- the project, its retired certificates and the configuration version alike, so a
 * cache keyed by that version cannot mix the two -- and the change is seen once it ends. */
static void test_read_snapshot(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb *w = open_ok(s.db, s.key);
    diag_project p, got;
    make_project(&p, 1, 1, -1);
    EXPECT(tdb_project_put(w, &p, "cli", NULL) == TDB_OK);
    char err[600];
    tdb *r = tdb_open_readonly(s.db, s.key, TDB_KEY_REQUIRED, NULL, err, sizeof err);
    CHECK(r != NULL, "%s", err);
    if (!r) {
        tdb_close(w);
        tdbt_sandbox_free(&s);
        return;
    }
    uint64_t v = tdb_config_version(r);
    EXPECT(tdb_read_begin(r));
    EXPECT(!tdb_read_begin(r)); /* not inside another */
    make_project(&p, 1, 2, -1); /* replaces cert 1: it is retired */
    EXPECT(tdb_project_put(w, &p, "cli", NULL) == TDB_OK);
    make_project(&p, 2, 7, -1); /* a new project */
    EXPECT(tdb_project_put(w, &p, "cli", NULL) == TDB_OK);
    char cert1[33], cert2[33], app2[33];
    make_hex("cert", 1, cert1);
    make_hex("cert", 2, cert2);
    make_hex("app", 2, app2);
    make_project(&p, 1, 1, -1);
    EXPECT(tdb_project_get(r, p.app_id, &got) == TDB_OK);
    EXPECT(strcmp(got.primary.certificate, cert1) == 0 && got.retired_count == 0);
    EXPECT(tdb_project_get(r, app2, &got) == TDB_NOT_FOUND);
    EXPECT(tdb_config_version(r) == v);
    tdb_read_end(r);
    EXPECT(tdb_config_version(r) != v);
    EXPECT(tdb_project_get(r, p.app_id, &got) == TDB_OK);
    EXPECT(strcmp(got.primary.certificate, cert2) == 0 && got.retired_count == 1 &&
           strcmp(got.retired[0], cert1) == 0);
    EXPECT(tdb_project_get(r, app2, &got) == TDB_OK);
    /* Ending twice is harmless, and the next snapshot begins as the first did. */
    tdb_read_end(r);
    EXPECT(tdb_read_begin(r));
    tdb_read_end(r);
    tdb_close(r);
    tdb_close(w);
    tdbt_sandbox_free(&s);
}

/* ---- Migration from version 1 ------------------------------------------------------------- */

static void test_migrate_from_v1(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/data", s.dir);
    EXPECT(mkdir(dir, 0700) == 0);
    sqlite3 *h = NULL;
    EXPECT(sqlite3_open(s.db, &h) == SQLITE_OK);
    EXPECT(sqlite3_exec(h, tdbi_migration(1), NULL, NULL, NULL) == SQLITE_OK);
    EXPECT(sqlite3_exec(h,
                        "PRAGMA application_id = 0x54444442; PRAGMA user_version = 1;"
                        "INSERT INTO projects (app_id, name, no_certificate, created_at, "
                        "  updated_at) VALUES ('0123456789abcdef0123456789abcdef', 'old', 1, 1, 1);"
                        "INSERT INTO diagnoses (at, app_id, verdict, cause, code, platform) VALUES"
                        "  (100, 'x', 'rejected', 'token_expired', 109, 'native'),"
                        "  (101, 'x', 'joinable', 'ok', 0, 'native'),"
                        "  (102, 'x', 'joinable_with_warnings', 'token_expires_soon', 0, 'web');"
                        "INSERT INTO api_keys (name, role, hash, created_at) VALUES"
                        "  ('old-key', 'reader', zeroblob(32), 5);",
                        NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);

    /* Keys of a schema that did not record uses: never used, as far as anyone knows. */
    json_t *keys = NULL;
    tdb *db = open_ok(s.db, s.key);
    EXPECT(apikey_list_json(db, &keys) == TDB_OK && json_array_size(keys) == 1 &&
           json_is_null(json_object_get(json_array_get(keys, 0), "last_used_at")));
    json_decref(keys);
    char reason[200];
    EXPECT(tdb_ready(db, reason, sizeof reason));
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE name = 'config_version'") ==
           1);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name "
                              "LIKE '%bumps_config'") == 9);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                              "('diagnoses_by_app', 'diagnoses_by_at')") == 2);
    /* Data kept; a code of 0 ("none") became null. */
    diag_project p;
    EXPECT(tdb_project_get(db, "0123456789abcdef0123456789abcdef", &p) == TDB_OK &&
           p.no_certificate && strcmp(p.name, "old") == 0);
    json_t *recent = NULL;
    EXPECT(recent_json(db, "x", 10, &recent) == TDB_OK && json_array_size(recent) == 3);
    EXPECT(json_is_null(json_object_get(json_array_get(recent, 0), "code")));
    EXPECT(json_is_null(json_object_get(json_array_get(recent, 1), "code")));
    EXPECT(json_integer_value(json_object_get(json_array_get(recent, 2), "code")) == 109);
    json_decref(recent);
    /* The new table works. */
    uint64_t v = tdb_config_version(db);
    EXPECT(v != 0);
    make_project(&p, 2, 1, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_config_version(db) != v);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* ---- Opening without creating ------------------------------------------------------------- */

static void test_open_existing(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char err[600];
    bool missing = false;
    struct stat sb;
    /* Missing: refused, and nothing is created (not the directory, nor the key file). */
    EXPECT(tdb_open_existing(s.db, NULL, &missing, err, sizeof err) == NULL);
    EXPECT(missing);
    CHECK(strstr(err, "no such database") != NULL && strstr(err, s.db) != NULL, "%s", err);
    EXPECT(stat(s.db, &sb) != 0 && stat(s.key, &sb) != 0);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/data", s.dir);
    EXPECT(stat(dir, &sb) != 0);
    EXPECT(tdb_open_existing(s.db, NULL, NULL, err, sizeof err) == NULL); /* missing may be NULL */

    /* An empty file (not a tokendoctor database yet): refused, untouched, no key file. */
    EXPECT(mkdir(dir, 0700) == 0);
    write_file(s.db, "", 0);
    EXPECT(tdb_open_existing(s.db, NULL, &missing, err, sizeof err) == NULL);
    EXPECT(missing);
    EXPECT(stat(s.db, &sb) == 0 && sb.st_size == 0 && stat(s.key, &sb) != 0);
    EXPECT(unlink(s.db) == 0);

    /* Existing: opens, reads what tdb_open stored. */
    tdb *db = open_ok(s.db, s.key);
    diag_project p;
    make_project(&p, 1, 1, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    tdb_close(db);
    db = tdb_open_existing(s.db, s.key, &missing, err, sizeof err);
    CHECK(db != NULL && !missing, "%s", err);
    diag_project got;
    EXPECT(db && tdb_project_get(db, p.app_id, &got) == TDB_OK &&
           strcmp(got.primary.certificate, p.primary.certificate) == 0);
    tdb_close(db);

    /* Other failures are not "missing": a wrong key file. */
    char other_key[320];
    snprintf(other_key, sizeof other_key, "%s/other.key", s.dir);
    write_file(other_key, "0000000000000000000000000000000000000000000000000000000000000000\n", 65);
    EXPECT(tdb_open_existing(s.db, other_key, &missing, err, sizeof err) == NULL);
    EXPECT(!missing);
    CHECK(strstr(err, "wrong key file") != NULL, "%s", err);
    tdbt_sandbox_free(&s);
}

/* A --db value that is a URL is refused by every way of opening, names its scheme but not the
 * rest (a password), and creates nothing: before, "postgresql://u:pw@h/db" made a directory
 * "postgresql:" in the working directory with a new SQLite database in it. A path is a path. */
static void test_locations(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char cwd[4096], err[600];
    bool missing = true;
    struct stat sb;
    EXPECT(getcwd(cwd, sizeof cwd) != NULL && chdir(s.dir) == 0);
    static const char *const refused[] = {
        "POSTGRESQL://user:sekrit@db.example/td",
        "Postgres://user:sekrit@db.example/td",
        "mysql://user:sekrit@db.example/td",
        "http://user:sekrit@db.example/td",
        "svn+ssh://user:sekrit@db.example/td",
        "file:td.db?sekrit",
        "FILE:///tmp/td.db?sekrit",
        ":memory:", /* SQLite's in-memory database: a command would keep nothing */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *url = refused[i];
        err[0] = '\0';
        CHECK(!tdb_location_check(url, err, sizeof err) && *err, "%s accepted", url);
        CHECK(strstr(err, "sekrit") == NULL && strstr(err, "example") == NULL, "%s", err);
        EXPECT(tdb_open(url, NULL, err, sizeof err) == NULL);
        CHECK(strstr(err, "sekrit") == NULL &&
                  (strstr(err, "URL") || strstr(err, "URI") || strstr(err, "in-memory")),
              "%s", err);
        EXPECT(tdb_open_existing(url, NULL, &missing, err, sizeof err) == NULL && !missing);
        missing = true;
        EXPECT(tdb_open_readonly(url, NULL, TDB_KEY_OPTIONAL, &missing, err, sizeof err) == NULL &&
               !missing);
        EXPECT(tdb_log_start(url, NULL, 16, 0, err, sizeof err) == NULL);
    }
    /* PostgreSQL URLs (lower case, as libpq reads them) are the PostgreSQL store's; without a
     * key file they are refused before any connection, naming host and database only. */
    static const char *const pg_urls[] = {"postgresql://user:sekrit@db.example/td",
                                          "postgres://user:sekrit@db.example/td"};
    for (size_t i = 0; i < sizeof pg_urls / sizeof pg_urls[0]; i++) {
        CHECK(tdb_location_check(pg_urls[i], err, sizeof err), "%s refused: %s", pg_urls[i], err);
        EXPECT(tdb_open(pg_urls[i], NULL, err, sizeof err) == NULL);
        CHECK(strstr(err, "sekrit") == NULL && strstr(err, "needs its key file") &&
                  strstr(err, "\"td\" on db.example"),
              "%s", err);
    }
    CHECK(strstr((tdb_location_check("POSTGRES://h/d", err, sizeof err), err), "lower case"), "%s",
          err);
    CHECK(strstr((tdb_location_check("ftp://h/d", err, sizeof err), err), "'ftp://'"), "%s", err);
    /* Nothing was created in the working directory (nor a key file). */
    EXPECT(stat("postgresql:", &sb) != 0 && stat("file:td.db?sekrit", &sb) != 0 &&
           stat(TDB_KEY_FILE_NAME, &sb) != 0);

    /* Paths, including ones with a colon, and one that starts like a URL written as ./NAME:// */
    static const char *const paths[] = {"td.db",      "data/td.db",           "c:td.db",
                                        "1x://td.db", "./postgresql://td.db", "x/y://td.db",
                                        "./:memory:"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        CHECK(tdb_location_check(paths[i], err, sizeof err), "%s refused: %s", paths[i], err);
    EXPECT(tdb_location_check(NULL, err, sizeof err) && tdb_location_check("", err, sizeof err));
    tdb *db = tdb_open("./postgresql://td.db", NULL, err, sizeof err);
    CHECK(db != NULL, "%s", err);
    tdb_close(db);
    EXPECT(stat("postgresql:/td.db", &sb) == 0);
    EXPECT(chdir(cwd) == 0);
    tdbt_sandbox_free(&s);
}

/* ---- The diagnosis log --------------------------------------------------------------------- */

static void make_entry(tdb_log_entry *e, int64_t at, const char *app_id, int n) {
    memset(e, 0, sizeof *e);
    e->at = at;
    snprintf(e->app_id, sizeof e->app_id, "%s", app_id);
    snprintf(e->verdict, sizeof e->verdict, "rejected");
    snprintf(e->cause, sizeof e->cause, "token_expired");
    e->code = 109;
    snprintf(e->platform, sizeof e->platform, "native");
    snprintf(e->token_fingerprint, sizeof e->token_fingerprint, "%08x", (unsigned)n);
    snprintf(e->channel, sizeof e->channel, "channel-%d", n);
    snprintf(e->uid, sizeof e->uid, "%d", n);
}

/* Pushes entries from..to-1 of app_id (make_entry), each accepted. */
static void push_entries(tdb_log *log, const char *app_id, int from, int to) {
    tdb_log_entry e;
    for (int i = from; i < to; i++) {
        make_entry(&e, (int64_t)time(NULL), app_id, i);
        EXPECT(tdb_log_push(log, &e));
    }
}

static void test_log_basic(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb_close(open_ok(s.db, s.key));
    char err[600];
    tdb_log *log = tdb_log_start(s.db, s.key, 100, 7, err, sizeof err);
    CHECK(log != NULL, "%s", err);
    if (!log) {
        tdbt_sandbox_free(&s);
        return;
    }
    int64_t now = (int64_t)time(NULL);
    tdb_log_entry e;
    for (int i = 0; i < 50; i++) {
        make_entry(&e, now - 50 + i, "app-a", i);
        EXPECT(tdb_log_push(log, &e));
    }
    tdb_log_flush(log);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == 50);
    make_entry(&e, now, "app-b", 99);
    e.token_fingerprint[0] = '\0'; /* a join without a token */
    snprintf(e.verdict, sizeof e.verdict, "joinable");
    snprintf(e.cause, sizeof e.cause, "ok");
    e.code = 0; /* not rejected: no code */
    EXPECT(tdb_log_push(log, &e));
    tdb_log_stop(log);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == 51);

    tdb *db = open_ok(s.db, s.key);
    json_t *recent = NULL;
    EXPECT(recent_json(db, "app-a", 10, &recent) == TDB_OK);
    EXPECT(json_array_size(recent) == 10);
    json_t *first = json_array_get(recent, 0);
    EXPECT(json_integer_value(json_object_get(first, "at")) == now - 1); /* newest first */
    EXPECT(str_is(json_object_get(first, "token_fingerprint"), "00000031"));
    EXPECT(str_is(json_object_get(first, "cause"), "token_expired"));
    EXPECT(json_integer_value(json_object_get(first, "code")) == 109);
    EXPECT(str_is(json_object_get(first, "uid"), "49"));
    json_decref(recent);
    EXPECT(recent_json(db, "app-b", 10, &recent) == TDB_OK);
    EXPECT(json_array_size(recent) == 1 &&
           json_is_null(json_object_get(json_array_get(recent, 0), "token_fingerprint")));
    /* No code is null, not 0; a rejected diagnosis keeps its code. */
    EXPECT(json_is_null(json_object_get(json_array_get(recent, 0), "code")));
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE code IS NULL") == 1);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE code = 109") == 50);
    json_decref(recent);
    EXPECT(recent_json(db, "nobody", 10, &recent) == TDB_OK && json_array_size(recent) == 0);
    json_decref(recent);
    EXPECT(recent_json(db, "app-a", 0, &recent) == TDB_INVALID);
    EXPECT(recent_json(db, "app-a", 1001, &recent) == TDB_INVALID);

    /* Retention: entries older than the retention are deleted at start. */
    tdb_close(db);
    log = tdb_log_start(s.db, s.key, 100, 7, err, sizeof err);
    EXPECT(log != NULL);
    make_entry(&e, now - 8 * 86400, "app-old", 1);
    EXPECT(log && tdb_log_push(log, &e));
    make_entry(&e, now - 6 * 86400, "app-old", 2);
    EXPECT(log && tdb_log_push(log, &e));
    tdb_log_stop(log);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-old'") == 2);
    log = tdb_log_start(s.db, s.key, 100, 7, err, sizeof err);
    tdb_log_stop(log);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-old'") == 1);
    db = open_ok(s.db, s.key);
    EXPECT(tdb_diagnoses_prune(db, 1) == 1); /* the 6-day-old one */
    /* A backlog larger than one pruning transaction is deleted completely. */
    EXPECT(sql_exec(s.db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                          "WHERE i < 12345) INSERT INTO diagnoses (at, app_id, verdict, cause, "
                          "platform) SELECT 1000 + i, 'ancient', 'joinable', 'ok', 'native' "
                          "FROM n") == SQLITE_OK);
    EXPECT(tdb_diagnoses_prune(db, 7) == 12345);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'ancient'") == 0);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == 51);

    /* Stored text that is not UTF-8 (a truncated multibyte character) reads back by the one
     * rule for text from outside: U+FFFD in JSON (it was '?' here, \xNN in a diagnosis).
     * (PostgreSQL stores no such text: its writer cleans every entry first.) */
    if (!tdbt_pg()) {
        EXPECT(sql_exec(s.db,
                        "INSERT INTO diagnoses (at, app_id, verdict, cause, platform, channel) "
                        "VALUES (1, 'bad-utf8', 'joinable', 'ok', 'native', "
                        "CAST(x'6162c3' AS TEXT))") == SQLITE_OK);
        EXPECT(recent_json(db, "bad-utf8", 10, &recent) == TDB_OK && json_array_size(recent) == 1 &&
               str_is(json_object_get(json_array_get(recent, 0), "channel"), "ab\xef\xbf\xbd"));
        json_decref(recent);
    }
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* The writer is held up by another connection's write lock while the queue is flooded: pushes
 * return at once, the excess is dropped and counted, and everything accepted is written. */
static void test_log_pressure(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb_close(open_ok(s.db, s.key));
    enum { CAPACITY = 64, PUSHES = 5000, BATCH_LIMIT = 512 };
    char err[600];
    tdb_log *log = tdb_log_start(s.db, s.key, CAPACITY, 7, err, sizeof err);
    CHECK(log != NULL, "%s", err);
    if (!log) {
        tdbt_sandbox_free(&s);
        return;
    }
    sqlite3 *blocker = NULL;
    EXPECT(sqlite3_open(s.db, &blocker) == SQLITE_OK);
    EXPECT(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);

    tdb_log_entry e;
    int accepted = 0, dropped = 0;
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < PUSHES; i++) {
        make_entry(&e, now, "app-p", i);
        if (tdb_log_push(log, &e))
            accepted++;
        else
            dropped++;
    }
    tdb_log_stats st;
    tdb_log_snapshot(log, &st, NULL);
    EXPECT(accepted + dropped == PUSHES);
    /* At most the queue plus one batch the writer took out before blocking. */
    EXPECT(accepted <= CAPACITY + BATCH_LIMIT);
    EXPECT(dropped > 0);
    EXPECT(st.dropped == (uint64_t)dropped);
    EXPECT(st.capacity == CAPACITY);
    EXPECT(st.depth <= CAPACITY);
    EXPECT(st.written == 0);

    EXPECT(sqlite3_exec(blocker, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(blocker);
    tdb_log_flush(log);
    tdb_log_snapshot(log, &st, NULL);
    EXPECT(st.written == (uint64_t)accepted && st.depth == 0);
    /* Pushed right before stop: written too. */
    for (int i = 0; i < CAPACITY; i++) {
        make_entry(&e, now, "app-q", i);
        EXPECT(tdb_log_push(log, &e));
    }
    tdb_log_stop(log);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-p'") == accepted);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-q'") == CAPACITY);
    tdbt_sandbox_free(&s);
}

typedef struct {
    tdb_log *log;
    int id;
    int accepted;
} pusher;

static void *push_many(void *arg) {
    pusher *p = arg;
    tdb_log_entry e;
    for (int i = 0; i < 3000; i++) {
        make_entry(&e, (int64_t)time(NULL), "app-t", p->id * 10000 + i);
        p->accepted += tdb_log_push(p->log, &e);
    }
    return NULL;
}

/* The row bound's measure (the span of ids) is two lookups whatever the log's size. Before,
 * min(id) and max(id) in one SELECT made SQLite scan a whole index before every batch: the
 * writer's cost grew with its log. Counted in VM instructions (a progress handler called at
 * each), not in time. */
static int count_vm_ops(void *arg) {
    (*(uint64_t *)arg)++;
    return 0;
}

static void test_log_span_cost(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    EXPECT(tdbi_exec(db, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
                         "WHERE x < 50000) INSERT INTO diagnoses (at, app_id, verdict, cause, "
                         "platform) SELECT 1765000000 + x, 'app', 'ok', 'none', 'web' FROM n"));
    uint64_t ops = 0;
    int64_t lo = -1, hi = -1;
    sqlite3_progress_handler(db->sql, 1, count_vm_ops, &ops);
    EXPECT(tdbsq_log_span(db, &lo, &hi));
    sqlite3_progress_handler(db->sql, 0, NULL, NULL);
    CHECK(lo == 1 && hi == 50000, "span %lld..%lld", (long long)lo, (long long)hi);
    CHECK(ops < 1000, "%llu VM instructions to measure a log of 50,000 rows",
          (unsigned long long)ops);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_log_threads(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    char err[600];
    tdb_log *log = tdb_log_start(s.db, s.key, 256, 7, err, sizeof err);
    CHECK(log != NULL, "%s", err);
    if (!log) {
        tdbt_sandbox_free(&s);
        return;
    }
    pusher pushers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        pushers[i] = (pusher){.log = log, .id = i};
        pthread_create(&threads[i], NULL, push_many, &pushers[i]);
    }
    int accepted = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        accepted += pushers[i].accepted;
    }
    tdb_log_stats st;
    tdb_log_flush(log);
    tdb_log_snapshot(log, &st, NULL);
    EXPECT(st.written == (uint64_t)accepted);
    EXPECT(st.written + st.dropped == 4 * 3000);
    tdb_log_stop(log);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses") == accepted);
    tdbt_sandbox_free(&s);
}

/* ---- One project per App ID whatever its case (issue 15, item 8) ------------------------------
 */

/* s in upper case (App IDs are hex: letters and digits only). */
static void upper(const char *s, char out[33]) {
    for (int i = 0; i < 32; i++)
        out[i] = s[i] >= 'a' && s[i] <= 'f' ? (char)(s[i] - 'a' + 'A') : s[i];
    out[32] = '\0';
}

/* Project n, its App ID as made (lower case) and in upper case. */
static void make_project_cases(diag_project *p, int n, char lower[33], char up[33]) {
    make_project(p, n, 1, -1);
    memcpy(lower, p->app_id, 33);
    upper(lower, up);
}

static void test_app_id_case(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    char lower[33], up[33];
    make_project_cases(&p, 1, lower, up);
    EXPECT(strcmp(lower, up) != 0); /* the test needs letters */
    bool created = false;
    EXPECT(tdb_project_put(db, &p, "cli", &created) == TDB_OK && created);
    /* A put in another case replaces the project: one row, the first spelling kept. */
    diag_project q = p;
    memcpy(q.app_id, up, sizeof up);
    snprintf(q.name, sizeof q.name, "renamed");
    EXPECT(tdb_project_put(db, &q, "cli", &created) == TDB_OK && !created);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM projects") == 1);
    /* A lookup in another case finds it, under its stored spelling, certificates readable. */
    EXPECT(tdb_project_get(db, up, &got) == TDB_OK && strcmp(got.app_id, lower) == 0 &&
           strcmp(got.name, "renamed") == 0 &&
           strcmp(got.primary.certificate, p.primary.certificate) == 0);
    diag_project_shown shown;
    EXPECT(tdb_project_show(db, up, &shown) == TDB_OK && strcmp(shown.app_id, lower) == 0);
    json_t *h = NULL;
    EXPECT(history_json(db, up, &h) == TDB_OK && json_array_size(h) == 2);
    json_decref(h);
    /* The database refuses a second spelling whoever writes it. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO projects (app_id, created_at, updated_at) VALUES ('%s', 1, 1)", up);
    EXPECT(tdbt_pg() ? sql_exec(s.db, sql) != 0 : sql_exec(s.db, sql) == SQLITE_CONSTRAINT);
    /* Delete in another case. */
    EXPECT(tdb_project_delete(db, up, "cli") == TDB_OK);
    EXPECT(tdb_project_get(db, lower, &got) == TDB_NOT_FOUND);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Raw SQL (foreign keys off, as a plain sqlite3 connection has them) that gives a current
 * database the projects table of schema 7: keyed by App ID (WITHOUT ROWID), no row ids. The
 * rename is the legacy kind, which leaves the retired certificates' triggers alone: they name
 * projects, which for a moment does not exist. */
#define PROJECTS_AS_V7                                                                             \
    "PRAGMA foreign_keys = OFF;"                                                                   \
    "CREATE TABLE projects_v7 (app_id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"            \
    "  primary_cert BLOB, primary_enabled INTEGER NOT NULL DEFAULT 0, secondary_cert BLOB,"        \
    "  secondary_enabled INTEGER NOT NULL DEFAULT 0, no_certificate INTEGER NOT NULL DEFAULT 0,"   \
    "  cohost_auth INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"                       \
    "  updated_at INTEGER NOT NULL, retired_count INTEGER NOT NULL DEFAULT 0,"                     \
    "  retired_sealed BLOB) WITHOUT ROWID;"                                                        \
    "INSERT INTO projects_v7 SELECT app_id, name, primary_cert, primary_enabled, secondary_cert,"  \
    "  secondary_enabled, no_certificate, cohost_auth, created_at, updated_at, retired_count,"     \
    "  retired_sealed FROM projects;"                                                              \
    "DROP TABLE projects;"                                                                         \
    "PRAGMA legacy_alter_table = ON;"                                                              \
    "ALTER TABLE projects_v7 RENAME TO projects;"                                                  \
    "PRAGMA legacy_alter_table = OFF;"                                                             \
    "CREATE UNIQUE INDEX projects_app_id_nocase ON projects(app_id COLLATE NOCASE);"               \
    "CREATE TRIGGER projects_INSERT_bumps_config AFTER INSERT ON projects"                         \
    " BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;"                    \
    "CREATE TRIGGER projects_UPDATE_bumps_config AFTER UPDATE ON projects"                         \
    " BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;"                    \
    "CREATE TRIGGER projects_DELETE_bumps_config AFTER DELETE ON projects"                         \
    " BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;"

/* The same for schema 6: no copy of the retired certificates in the row, no triggers that keep
 * it. */
#define PROJECTS_AS_V6                                                                             \
    PROJECTS_AS_V7                                                                                 \
    "DROP TRIGGER retired_certificates_INSERT_copies;"                                             \
    "DROP TRIGGER retired_certificates_DELETE_copies;"                                             \
    "DROP TRIGGER retired_certificates_UPDATE_copies;"                                             \
    "ALTER TABLE projects DROP COLUMN retired_sealed;"

/* Raw SQL (foreign keys off, as a plain sqlite3 connection has them) that gives a current
 * database the projects table of schema 5: no count of retired certificates, no triggers that
 * keep it. */
#define PROJECTS_AS_V5                                                                             \
    PROJECTS_AS_V6                                                                                 \
    "DROP TRIGGER retired_certificates_INSERT_counts;"                                             \
    "DROP TRIGGER retired_certificates_DELETE_counts;"                                             \
    "DROP TRIGGER retired_certificates_UPDATE_counts;"                                             \
    "ALTER TABLE projects DROP COLUMN retired_count;"

/* The same for the projects table and retired-certificates index of schemas 1 to 4. */
#define PROJECTS_AS_V4                                                                             \
    PROJECTS_AS_V5                                                                                 \
    "CREATE TABLE projects_v4 (app_id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"            \
    "  primary_cert BLOB, primary_enabled INTEGER NOT NULL DEFAULT 0, secondary_cert BLOB,"        \
    "  secondary_enabled INTEGER NOT NULL DEFAULT 0, no_certificate INTEGER NOT NULL DEFAULT 0,"   \
    "  cohost_auth INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"                       \
    "  updated_at INTEGER NOT NULL);"                                                              \
    "INSERT INTO projects_v4 SELECT * FROM projects;"                                              \
    "DROP TABLE projects;"                                                                         \
    "ALTER TABLE projects_v4 RENAME TO projects;"                                                  \
    "DROP INDEX retired_by_app;"                                                                   \
    "CREATE INDEX retired_by_app ON retired_certificates(app_id, id);"

/* The retired certificates' count in each project's row (schema 6) against the table it
 * counts, over every project of the database at path. */
static bool retired_counts_agree(const char *path) {
    return tdbt_sql_int(path,
                        "SELECT count(*) FROM projects p WHERE retired_count <> (SELECT "
                        "count(*) FROM retired_certificates r WHERE r.app_id = p.app_id)") == 0;
}

/* The row's copy of the retired certificates (schema 7) against their table, over every project
 * of the database at path: a project with 1 to TDBSQ_RETIRED_IN_ROW of them carries each one's
 * sealed bytes, in the order of their ids, and nothing else; any other holds NULL. */
static bool retired_copies_agree(const char *path) {
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM projects WHERE (retired_count BETWEEN 1 AND %d) <> "
             "(retired_sealed IS NOT NULL) OR length(retired_sealed) <> retired_count * %d",
             TDBSQ_RETIRED_IN_ROW, TDBI_SEALED_CERT_LEN);
    int64_t bad_rows = tdbt_sql_int(path, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM retired_certificates r JOIN projects p ON p.app_id = r.app_id "
             "WHERE p.retired_sealed IS NOT NULL AND substr(p.retired_sealed, 1 + %d * (SELECT "
             "count(*) FROM retired_certificates q WHERE q.app_id = r.app_id AND q.id < r.id), "
             "%d) IS NOT r.cert",
             TDBI_SEALED_CERT_LEN, TDBI_SEALED_CERT_LEN);
    int64_t bad_certs = tdbt_sql_int(path, sql);
    return CHECK(bad_rows == 0 && bad_certs == 0, "%lld rows and %lld certificates disagree",
                 (long long)bad_rows, (long long)bad_certs);
}

/* Migration 7 copies the retired certificates of a project that has few into its row, and its
 * triggers keep the copy through every change to the list; a read takes a short list from the
 * row (not their table), a longer one from their table, oldest first either way. */
static void test_migrate_v7(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    const int counts[] = {0, 1, 2, TDBSQ_RETIRED_IN_ROW, TDBSQ_RETIRED_IN_ROW + 1};
    enum { APPS = sizeof counts / sizeof counts[0] };
    for (int app = 1; app <= APPS; app++)
        for (int c = 0; c <= counts[app - 1]; c++) { /* each put retires the one before */
            make_project(&p, app, 100 * app + c, -1);
            EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
        }
    tdb_close(db);
    EXPECT(sql_exec(s.db, PROJECTS_AS_V6 "PRAGMA user_version = 6;") == SQLITE_OK);
    db = open_ok(s.db, s.key);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM projects WHERE retired_sealed IS NOT NULL") ==
           3);
    EXPECT(retired_copies_agree(s.db));
    for (int app = 1; app <= APPS; app++) {
        make_project(&p, app, -1, -1);
        bool ok = tdb_project_get(db, p.app_id, &got) == TDB_OK &&
                  got.retired_count == (size_t)counts[app - 1];
        for (int c = 0; ok && c < counts[app - 1]; c++) {
            char cert[33];
            make_hex("cert", 100 * app + c, cert);
            ok = strcmp(got.retired[c], cert) == 0;
        }
        CHECK(ok, "project %d: %zu retired certificates, in order?", app, got.retired_count);
    }
    /* Which a read used: with the copies' triggers gone, spoil every retired certificate in
     * their table. A short list still reads (from the row); the longer one does not, nor one
     * whose copy has a byte too many (its size disagrees with the count: the table is read). */
    tdb_close(db);
    char sql[300];
    make_project(&p, 3, -1, -1);
    snprintf(sql, sizeof sql,
             "DROP TRIGGER retired_certificates_UPDATE_copies;"
             "UPDATE retired_certificates SET cert = zeroblob(length(cert));"
             "UPDATE projects SET retired_sealed = retired_sealed || x'00' WHERE app_id = '%s';",
             p.app_id);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    db = open_ok(s.db, s.key);
    make_project(&p, 4, -1, -1);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK &&
           got.retired_count == TDBSQ_RETIRED_IN_ROW);
    make_project(&p, 5, -1, -1);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_DECRYPT);
    make_project(&p, 3, -1, -1);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_DECRYPT);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* The row id of app_id's project in the database at path; -1 when there is none. */
static int64_t row_id_of(const char *path, const char *app_id) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(id), -1) FROM projects WHERE app_id = '%s'",
             app_id);
    return tdbt_sql_int(path, sql);
}

/* Each of projects 1..APPS reads with its newest certificate (10 * app + app - 1) and app - 1
 * retired ones, oldest first. */
static bool v8_projects_read(tdb *db, int apps) {
    bool ok = true;
    for (int app = 1; app <= apps; app++) {
        diag_project p, got;
        char cert[33];
        make_project(&p, app, -1, -1);
        make_hex("cert", 10 * app + app - 1, cert);
        bool one = tdb_project_get(db, p.app_id, &got) == TDB_OK &&
                   strcmp(got.primary.certificate, cert) == 0 &&
                   got.retired_count == (size_t)(app - 1);
        for (int c = 0; one && c < app - 1; c++) {
            make_hex("cert", 10 * app + c, cert);
            one = strcmp(got.retired[c], cert) == 0;
        }
        ok = CHECK(one, "project %d", app) && ok;
    }
    return ok;
}

/* A sandbox whose database is as schema 7 left it, with projects 1..apps (v8_projects_read). */
static void v7_sandbox(tdbt_sandbox *s, int apps) {
    tdb *db = sandbox_open(s);
    diag_project p;
    for (int app = 1; app <= apps; app++)
        for (int c = 0; c < app; c++) { /* each put retires the one before */
            make_project(&p, app, 10 * app + c, -1);
            EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
        }
    tdb_close(db);
    EXPECT(sql_exec(s->db, PROJECTS_AS_V7 "PRAGMA user_version = 7;") == SQLITE_OK);
}

/* The row key is part of the file's format: a project stored under another would be read by
 * the slower arm, and nothing else would tell. The expected values were computed apart from
 * this code (FNV-1a, 64 bits, shifted right once, in Python). */
static void test_row_key(void) {
    EXPECT(tdbsq_row_key("") == INT64_C(7347990519673328018));
    EXPECT(tdbsq_row_key("0123456789abcdef0123456789abcdef") == INT64_C(47637765473992618));
}

/* Whether the text of each step of migration(1..count) hashes to its pin (the first 16 hex
 * digits of its SHA-256). */
static bool steps_pinned(const char *store, const char *(*migration)(int), int count,
                         const char *const *pinned) {
    bool ok = true;
    for (int v = 1; v <= count; v++) {
        const char *sql = migration(v);
        unsigned char hash[32];
        char hex[65] = "";
        if (sql) {
            td_sha256(sql, strlen(sql), hash);
            td_hex(hash, 8, hex);
        }
        ok = CHECK(strcmp(hex, pinned[v - 1]) == 0, "%s migration %d: %s", store, v, hex) && ok;
    }
    return ok;
}

/* A released migration is never edited (db_open.c, db_pg.c): a database migrated by an older
 * release must end as one migrated by this one. Each step's text is pinned by the first 16 hex
 * digits of its SHA-256 -- SQLite's 1 to 7 as the build of dae970b printed them (PostgreSQL's 1
 * has the text it had there), the others as released since. A step that must change for a good
 * reason is a new step. */
static void test_migrations_unchanged(void) {
    static const char *const sqlite_pins[] = {
        "778933ca043237b8", "a9d527937f708c08", "9442bb994df5c10b", "963f8776bea72ec9",
        "4eecc37d0a3a29df", "a0d4c5fce1620f76", "c7660003f1ca9190", "7087232fcebb674a",
    };
    static const char *const pg_pins[] = {"435a5d1d66b90382", "fbb716bfcb71b88e"};
    _Static_assert(sizeof sqlite_pins / sizeof sqlite_pins[0] == TDB_SCHEMA_VERSION &&
                       sizeof pg_pins / sizeof pg_pins[0] == TDBPG_SCHEMA_VERSION,
                   "pin the new migration's text here");
    EXPECT(steps_pinned("SQLite", tdbi_migration, TDB_SCHEMA_VERSION, sqlite_pins));
    EXPECT(steps_pinned("PostgreSQL", tdbpg_migration, TDBPG_SCHEMA_VERSION, pg_pins));
}

/* tdb_row_key for the test of collisions: every App ID has the same key. */
static void same_key(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    (void)argv;
    sqlite3_result_int64(ctx, 42);
}

/* Migration 8 stores each project under its row key, and every project, retired certificate,
 * trigger and reference comes through. A project whose key another holds -- forced here, in
 * the migration with a key function that gives every App ID the same key, and in a put after
 * it by moving a project onto the new one's key -- is stored under another id, and reads, puts
 * and deletes find it all the same. */
static void test_migrate_v8(void) {
    enum { APPS = TDBSQ_RETIRED_IN_ROW + 2 }; /* the last has a list too long for its row */
    tdbt_sandbox s;
    v7_sandbox(&s, APPS);
    tdb *db = open_ok(s.db, s.key);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%v8'") == 0);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 17);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%INDEX "
                              "retired_by_app ON retired_certificates(app_id, id, cert)' OR sql "
                              "LIKE '%INDEX projects_app_id_nocase ON projects(app_id COLLATE "
                              "NOCASE)'") == 2);
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    diag_project p, got;
    for (int app = 1; app <= APPS; app++) {
        make_project(&p, app, -1, -1);
        EXPECT(row_id_of(s.db, p.app_id) == tdbsq_row_key(p.app_id));
    }
    EXPECT(v8_projects_read(db, APPS));

    /* A put whose key is taken: project 1 moved onto the key of a new one (a raw update). */
    diag_project extra;
    make_project(&extra, APPS + 1, 10 * APPS + 10, -1);
    make_project(&p, 1, -1, -1);
    char sql[300];
    snprintf(sql, sizeof sql, "UPDATE projects SET id = %lld WHERE app_id = '%s'",
             (long long)tdbsq_row_key(extra.app_id), p.app_id);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    EXPECT(tdb_project_put(db, &extra, "cli", NULL) == TDB_OK);
    int64_t moved = row_id_of(s.db, extra.app_id);
    EXPECT(moved >= 0 && moved != tdbsq_row_key(extra.app_id));
    EXPECT(tdb_project_get(db, extra.app_id, &got) == TDB_OK &&
           strcmp(got.app_id, extra.app_id) == 0);
    EXPECT(v8_projects_read(db, APPS));                 /* project 1 too, away from its key */
    make_project(&extra, APPS + 1, 10 * APPS + 11, -1); /* an update keeps the row where it is */
    EXPECT(tdb_project_put(db, &extra, "cli", NULL) == TDB_OK);
    EXPECT(row_id_of(s.db, extra.app_id) == moved);
    EXPECT(tdb_project_get(db, extra.app_id, &got) == TDB_OK && got.retired_count == 1);
    EXPECT(tdb_project_delete(db, extra.app_id, "cli") == TDB_OK);
    EXPECT(tdb_project_get(db, extra.app_id, &got) == TDB_NOT_FOUND);
    tdb_close(db);
    tdbt_sandbox_free(&s);

    /* The migration when keys collide: one project keeps the key, the others come after it. */
    v7_sandbox(&s, APPS);
    sqlite3 *h = NULL;
    EXPECT(sqlite3_open(s.db, &h) == SQLITE_OK);
    EXPECT(sqlite3_create_function_v2(h, "tdb_row_key", 1, SQLITE_UTF8, NULL, same_key, NULL, NULL,
                                      NULL) == SQLITE_OK);
    char *script = NULL;
    EXPECT(asprintf(&script, "PRAGMA foreign_keys = ON; BEGIN; %s PRAGMA user_version = 8; COMMIT;",
                    tdbi_migration(8)) > 0);
    EXPECT(sqlite3_exec(h, script, NULL, NULL, NULL) == SQLITE_OK);
    free(script);
    sqlite3_close(h);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM projects") == APPS);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM projects WHERE id = 42") == 1);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM retired_certificates") ==
           APPS * (APPS - 1) / 2);
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    db = open_ok(s.db, s.key);
    EXPECT(v8_projects_read(db, APPS));
    make_project(&p, APPS, 99, -1); /* a put and a delete find the ones away from their key */
    int64_t away = row_id_of(s.db, p.app_id);
    EXPECT(away != 42 && away != tdbsq_row_key(p.app_id));
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(row_id_of(s.db, p.app_id) == away); /* its key is free, yet the row stays */
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK && got.retired_count == APPS);
    uint64_t v = tdb_config_version(db);
    EXPECT(tdb_project_delete(db, p.app_id, "cli") == TDB_OK);
    EXPECT(tdb_config_version(db) != v);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_NOT_FOUND);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM retired_certificates WHERE app_id = '%s'",
             p.app_id);
    EXPECT(tdbt_sql_int(s.db, sql) == 0); /* the cascade followed the renames */
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Migration 6 counts each project's retired certificates, and its triggers keep the count
 * through every way they change: a put that retires, one that makes a retired certificate
 * current again, the pruning past DIAG_RETIRED_MAX, a delete (cascade), a raw change of owner.
 * A read must find the list whenever the count is not 0, and an empty one when it is. */
static void test_migrate_v6(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    for (int app = 1; app <= 3; app++) {
        make_project(&p, app, 10 * app, -1);
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
        if (app < 3) {
            make_project(&p, app, 10 * app + 1, -1); /* retires 10 * app */
            EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
        }
    }
    make_project(&p, 1, 12, -1); /* retires 11: project 1 has two */
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    tdb_close(db);
    EXPECT(sql_exec(s.db, PROJECTS_AS_V5 "PRAGMA user_version = 5;") == SQLITE_OK);
    db = open_ok(s.db, s.key);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(tdbt_sql_int(s.db, "SELECT sum(retired_count) FROM projects") == 3);
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    make_project(&p, 1, -1, -1);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK && got.retired_count == 2 &&
           retired_has(&got, 10) && retired_has(&got, 11));
    make_project(&p, 3, -1, -1);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK && got.retired_count == 0);
    /* A retired certificate made current again leaves the list (unretire). */
    make_project(&p, 1, 11, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK && !retired_has(&got, 11) &&
           retired_has(&got, 12));
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    /* Past DIAG_RETIRED_MAX the oldest are pruned. */
    for (int i = 0; i < DIAG_RETIRED_MAX + 3; i++) {
        make_project(&p, 3, 100 + i, -1);
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    }
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK && got.retired_count == DIAG_RETIRED_MAX);
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    /* A delete cascades to the retired certificates; the counts of the others stay right. */
    make_project(&p, 2, -1, -1);
    EXPECT(tdb_project_delete(db, p.app_id, "cli") == TDB_OK);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_NOT_FOUND);
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    /* Whoever writes the table: a retired certificate moved to another project by hand. */
    char sql[300], app1[33], app3[33];
    make_hex("app", 1, app1);
    make_hex("app", 3, app3);
    snprintf(sql, sizeof sql,
             "UPDATE retired_certificates SET app_id = '%s' WHERE id = (SELECT min(id) FROM "
             "retired_certificates WHERE app_id = '%s')",
             app1, app3);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    EXPECT(retired_counts_agree(s.db) && retired_copies_agree(s.db));
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Migration 5 rebuilds projects (keyed by App ID) and the retired certificates under foreign
 * keys that cascade: every project and retired certificate, with its id, must come through,
 * and so must the triggers that move the configuration version. */
static void test_migrate_v5(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    for (int app = 1; app <= 3; app++) {
        make_project(&p, app, 10 * app, -1);
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
        make_project(&p, app, 10 * app + 1, 10 * app + 2); /* retires 10 * app */
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    }
    tdb_close(db);
    int64_t ids = tdbt_sql_int(s.db, "SELECT sum(id) FROM retired_certificates");
    EXPECT(sql_exec(s.db, PROJECTS_AS_V4 "PRAGMA user_version = 4;") == SQLITE_OK);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE name = 'projects' AND "
                              "sql LIKE '%WITHOUT ROWID%'") == 0);
    db = open_ok(s.db, s.key);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    /* Keyed by App ID since migration 5, by row key since 8. */
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM pragma_table_info('projects') WHERE name = "
                              "'id' AND pk = 1") == 1);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM projects") == 3);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM retired_certificates") == 3);
    EXPECT(tdbt_sql_int(s.db, "SELECT sum(id) FROM retired_certificates") == ids);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%v5'") == 0);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name "
                              "LIKE '%bumps_config'") == 9);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM pragma_foreign_key_list("
                              "'retired_certificates') WHERE \"table\" = 'projects' AND "
                              "on_delete = 'CASCADE'") == 1);
    for (int app = 1; app <= 3; app++) {
        char cert[33], old[33];
        make_hex("cert", 10 * app + 1, cert);
        make_hex("cert", 10 * app, old);
        make_project(&p, app, -1, -1);
        EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK &&
               strcmp(got.primary.certificate, cert) == 0 && got.retired_count == 1 &&
               strcmp(got.retired[0], old) == 0);
    }
    /* The reference survived the renames: deleting a project still forgets its secrets, and
     * changes still move the configuration version. */
    uint64_t v = tdb_config_version(db);
    make_project(&p, 1, -1, -1);
    EXPECT(tdb_project_delete(db, p.app_id, "cli") == TDB_OK);
    EXPECT(tdb_config_version(db) != v);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM retired_certificates") == 2);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM retired_certificates WHERE app_id = '%s'",
             p.app_id);
    EXPECT(tdbt_sql_int(s.db, sql) == 0);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_migrate_case_duplicates(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    char lower[33], up[33];
    make_project_cases(&p, 2, lower, up);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    tdb_close(db);
    /* As a schema-3 database could hold it: the second spelling updated later (projects as
     * schema 3 had it, a table with row ids). */
    char sql[3000];
    snprintf(sql, sizeof sql,
             "%s PRAGMA user_version = 3;"
             "INSERT INTO projects (app_id, name, no_certificate, created_at, updated_at) "
             "VALUES ('%s', 'newer', 1, 1, 4000000000);",
             PROJECTS_AS_V4, up);
    EXPECT(sql_exec(s.db, sql) == SQLITE_OK);
    db = open_ok(s.db, s.key);
    EXPECT(tdbt_sql_int(s.db, "PRAGMA user_version") == TDB_SCHEMA_VERSION);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM projects") == 1);
    EXPECT(tdb_project_get(db, lower, &got) == TDB_OK && strcmp(got.app_id, up) == 0 &&
           strcmp(got.name, "newer") == 0 && got.no_certificate);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM config_log WHERE app_id = '%s' AND action = 'delete' AND "
             "actor = 'migration 4' AND before IS NOT NULL",
             lower);
    EXPECT(tdbt_sql_int(s.db, sql) == 1);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM retired_certificates") == 0);
    json_t *h = NULL;
    EXPECT(history_json(db, up, &h) == TDB_OK && json_array_size(h) == 2);
    json_t *last = json_array_get(h, 1);
    EXPECT(json_is_string(json_object_get(last, "actor")) &&
           strcmp(json_string_value(json_object_get(last, "actor")), "migration 4") == 0);
    json_decref(h);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* ---- Main --------------------------------------------------------------------------------- */

/* Import and export on either store: an all-or-nothing import that fails keeps nothing, one
 * with continue_on_error keeps the rest, a re-import changes nothing, and an export sealed for
 * another database's key file imports there into the same projects. */
/* How many runs of consecutive page numbers the pages of `name` form (dbstat); -1 when this
 * SQLite has no dbstat table. */
static int page_runs(tdb *db, const char *name) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int runs = 0;
    int64_t last = -2;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t page = sqlite3_column_int64(st, 0);
        runs += page != last + 1;
        last = page;
    }
    sqlite3_finalize(st);
    return runs;
}

/* A bulk import interleaves the projects' pages with the change log's; tdb_compact puts each
 * table's together (its root page aside), and every project reads back the same. */
static void test_compact(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    char path[400];
    snprintf(path, sizeof path, "%s/in.jsonl", s.dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 2000; i++) {
        diag_project p;
        make_project(&p, 100 + i, 100 + i, -1);
        fprintf(f,
                "{\"app_id\":\"%s\",\"name\":\"%s\",\"primary\":{\"certificate\":\"%s\","
                "\"enabled\":true}}\n",
                p.app_id, p.name, p.primary.certificate);
    }
    if (f)
        fclose(f);
    tdb_import_options o = {.parse = diag_project_from_json, .actor = "test"};
    diag_import_summary sum;
    f = fopen(path, "r");
    EXPECT(f && tdb_import(db, f, &o, &sum) == TDB_OK && sum.created == 2000);
    if (f)
        fclose(f);
    int before = page_runs(db, "projects");
    EXPECT(tdb_compact(db) == TDB_OK);
    int after = page_runs(db, "projects");
    if (before >= 0)
        CHECK(before > 10 && after <= 2, "runs of the projects' pages: %d before, %d after", before,
              after);
    diag_project p, got;
    make_project(&p, 100 + 1234, 100 + 1234, -1);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK &&
           strcmp(got.primary.certificate, p.primary.certificate) == 0);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* A compaction that cannot run says why and leaves the database as it was: another connection
 * holds the write lock (busy, within the busy timeout), or the file was replaced meanwhile. */
static void test_compact_refused(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    diag_project p, got;
    make_project(&p, 1, 10, -1);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    sqlite3 *h = NULL;
    EXPECT(sqlite3_open(s.db, &h) == SQLITE_OK &&
           sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    tdbsq_set_busy_timeout(db, 50);
    EXPECT(tdb_compact(db) == TDB_ERROR && tdb_last_fault(db) == TDB_FAULT_BUSY);
    CHECK(strstr(tdb_errmsg(db), "locked") != NULL, "%s", tdb_errmsg(db));
    EXPECT(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    EXPECT(tdb_project_get(db, p.app_id, &got) == TDB_OK &&
           strcmp(got.primary.certificate, p.primary.certificate) == 0);
    EXPECT(tdb_compact(db) == TDB_OK);
    char moved[400];
    snprintf(moved, sizeof moved, "%s.moved", s.db);
    EXPECT(rename(s.db, moved) == 0);
    EXPECT(tdb_compact(db) == TDB_ERROR);
    CHECK(strstr(tdb_errmsg(db), "deleted or replaced") != NULL, "%s", tdb_errmsg(db));
    EXPECT(rename(moved, s.db) == 0);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_bulk_roundtrip(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    char path[400], other_db[320], other_key[320];
    snprintf(path, sizeof path, "%s/in.jsonl", s.dir);
    snprintf(other_db, sizeof other_db, "%s/other/o.db", s.dir);
    snprintf(other_key, sizeof other_key, "%s/other/o.key", s.dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 300; i++) {
        diag_project p;
        make_project(&p, 100 + i, 100 + i, i % 3 ? -1 : 500 + i);
        fprintf(f,
                "{\"app_id\":\"%s\",\"name\":\"%s\",\"primary\":{\"certificate\":\"%s\","
                "\"enabled\":true}}\n",
                p.app_id, p.name, p.primary.certificate);
    }
    if (f) {
        fputs("{\"app_id\":\"bad\"}\n", f);
        fclose(f);
    }
    tdb_import_options o = {.parse = diag_project_from_json, .actor = "test"};
    diag_import_summary sum;
    f = fopen(path, "r");
    EXPECT(f && tdb_import(db, f, &o, &sum) == TDB_INVALID);
    CHECK(strstr(tdb_errmsg(db), "line 301") != NULL, "%s", tdb_errmsg(db));
    if (f)
        fclose(f);
    diag_project_shown *list = NULL;
    size_t n = 99;
    EXPECT(list_all(db, &list, &n) == TDB_OK && n == 0);
    free(list);
    o.continue_on_error = true;
    f = fopen(path, "r");
    EXPECT(f && tdb_import(db, f, &o, &sum) == TDB_OK && sum.created == 300 && sum.failed == 1);
    if (f)
        rewind(f);
    EXPECT(f && tdb_import(db, f, &o, &sum) == TDB_OK && sum.unchanged == 300 && sum.created == 0);
    if (f)
        fclose(f);
    /* Export sealed for another database's key, imported there (SQLite). */
    tdb *other = open_ok(other_db, other_key);
    char out[400];
    snprintf(out, sizeof out, "%s/out.jsonl", s.dir);
    uint64_t count = 0;
    f = fopen(out, "w");
    EXPECT(f && tdb_export(db, f, other_key, &count) == TDB_OK && count == 300);
    if (f)
        fclose(f);
    o.continue_on_error = false;
    f = fopen(out, "r");
    EXPECT(f && tdb_import(other, f, &o, &sum) == TDB_OK && sum.created == 300);
    if (f)
        fclose(f);
    diag_project a, b;
    make_project(&a, 150, 150, -1);
    EXPECT(tdb_project_get(other, a.app_id, &b) == TDB_OK &&
           strcmp(b.primary.certificate, a.primary.certificate) == 0);
    tdb_close(other);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Two connections on one store: a change through one is seen by the other's
 * tdb_config_version within a second -- at once on SQLite, through the watcher (NOTIFY, or its
 * 250 ms poll) on PostgreSQL -- and a key revoked through one is refused by the other. */
static void test_config_across(void) {
    tdbt_sandbox s;
    sandbox_init(&s);
    tdb *a = open_ok(s.db, s.key), *b = open_ok(s.db, s.key);
    for (int round = 0; round < 5; round++) {
        uint64_t before = tdb_config_version(b);
        diag_project p;
        make_project(&p, 1, round, -1);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        EXPECT(tdb_project_put(a, &p, "cli", NULL) == TDB_OK);
        uint64_t after = version_not(b, before);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        CHECK(after != before && ms < 1000, "round %d: seen after %.0f ms", round, ms);
        diag_project got;
        EXPECT(tdb_project_get(b, p.app_id, &got) == TDB_OK &&
               strcmp(got.primary.certificate, p.primary.certificate) == 0);
    }
    char key[TDB_APIKEY_LEN + 1];
    EXPECT(tdb_apikey_create(a, TDB_ROLE_ADMIN, "k", key, NULL) == TDB_OK);
    EXPECT(tdb_apikey_verify(b, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    uint64_t before = version_not(b, 0);
    EXPECT(tdb_apikey_revoke(a, "k") == TDB_OK);
    EXPECT(version_not(b, before) != before);
    EXPECT(tdb_apikey_verify(b, key, strlen(key), NULL, 0) == TDB_ROLE_NONE);
    tdb_close(a);
    tdb_close(b);
    tdbt_sandbox_free(&s);
}

/* PostgreSQL: the key file a URL needs (no default), a wrong or missing one refused without
 * making a key, a tampered ciphertext a clear error. */
/* A key check that cannot read the keys says so (TDB_ROLE_ERROR), not "no such key": the
 * service must neither refuse the key as wrong nor remember that answer. */
static void test_apikey_verify_error(void) {
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    char key[TDB_APIKEY_LEN + 1];
    EXPECT(tdb_apikey_create(db, TDB_ROLE_ADMIN, "ops", key, NULL) == TDB_OK);
    EXPECT(tdbt_sql_exec(s.db, "ALTER TABLE api_keys RENAME TO api_keys_away") == 0);
    char name[80] = "x";
    EXPECT(tdb_apikey_verify(db, key, strlen(key), name, sizeof name) == TDB_ROLE_ERROR);
    EXPECT(name[0] == '\0' && *tdb_errmsg(db) != '\0');
    EXPECT(strcmp(tdb_role_name(TDB_ROLE_ERROR), "none") == 0);
    EXPECT(tdbt_sql_exec(s.db, "ALTER TABLE api_keys_away RENAME TO api_keys") == 0);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ADMIN);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* Makes the sandbox's PostgreSQL database unreachable (no new connection, every session ended)
 * or reachable again, through the server's maintenance URL ($TOKENDOCTOR_TEST_PG). */
static bool pg_reachable(const tdbt_sandbox *s, bool on) {
    char sql[300];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS %s", s->pg_name,
             on ? "true" : "false");
    const char *admin = getenv(TDBT_ENV_PG);
    if (!admin || tdbt_sql_exec(admin, sql) != 0)
        return false;
    if (on)
        return true;
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s'",
             s->pg_name);
    return tdbt_sql_exec(admin, sql) == 0;
}

/* PostgreSQL unreachable: reads and key checks fail with TDB_FAULT_UNAVAILABLE (the service's
 * 503 store_unavailable), and the diagnosis log keeps what is queued -- nothing counted as
 * dropped -- and writes it, once, when the database is back. */
static void test_outage_pg(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    char key[TDB_APIKEY_LEN + 1], err[600];
    EXPECT(tdb_apikey_create(db, TDB_ROLE_READER, "r", key, NULL) == TDB_OK);
    tdb_log *log = tdb_log_start(s.db, s.key, 100, 7, err, sizeof err);
    CHECK(log != NULL, "%s", err);
    if (!log || !pg_reachable(&s, false)) {
        EXPECT(log != NULL && false);
        pg_reachable(&s, true);
        tdb_log_stop(log);
        tdb_close(db);
        tdbt_sandbox_free(&s);
        return;
    }
    diag_project_shown *list = NULL;
    size_t count = 0;
    EXPECT(list_all(db, &list, &count) == TDB_ERROR);
    CHECK(tdb_last_fault(db) == TDB_FAULT_UNAVAILABLE, "fault %d: %s", (int)tdb_last_fault(db),
          tdb_errmsg(db));
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_ERROR);
    EXPECT(tdb_last_fault(db) == TDB_FAULT_UNAVAILABLE);

    int64_t now = (int64_t)time(NULL);
    tdb_log_entry e;
    for (int i = 0; i < 30; i++) {
        make_entry(&e, now, "app-down", i);
        EXPECT(tdb_log_push(log, &e));
    }
    EXPECT(!tdb_log_flush_for(log, 300)); /* nothing can be written: still queued */
    tdb_log_health h;
    tdb_log_stats st;
    tdb_log_snapshot(log, &st, &h);
    EXPECT(h.fault == TDB_FAULT_UNAVAILABLE && h.dropped_failed == 0);
    CHECK(st.depth == 30 && st.dropped == 0, "depth %zu dropped %llu", st.depth,
          (unsigned long long)st.dropped);

    EXPECT(pg_reachable(&s, true));
    EXPECT(tdb_log_flush_for(log, 5000));
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-down'") == 30);
    tdb_log_snapshot(log, NULL, &h);
    EXPECT(h.fault == TDB_FAULT_NONE && h.dropped_failed == 0);
    EXPECT(list_all(db, &list, &count) == TDB_OK);
    free(list);
    EXPECT(tdb_apikey_verify(db, key, strlen(key), NULL, 0) == TDB_ROLE_READER);
    tdb_log_stop(log);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* A relay between a Unix socket of its own and the PostgreSQL server's, for the tests of a
 * store that stops answering. Armed, it cuts the connection that sends the next COMMIT: either
 * it passes the COMMIT on and swallows the server's answer (the server committed; the client
 * hears its connection break), or it swallows the COMMIT itself (nothing committed). Vanished
 * (relay_vanish), it ends every session it carries and then accepts connections without ever
 * answering them, as a host that went away, until relay_return. Everything else is passed on as it
 * comes. It counts the connections it accepted and those it cut. */
enum { RELAY_PAIRS = 8 };

typedef struct {
    char dir[300]; /* holds the relay's socket, named as libpq expects */
    char target[sizeof((struct sockaddr_un *)0)->sun_path]; /* the server's socket */
    char url[600];                                          /* the database, through the relay */
    int listen_fd;
    int wake[2]; /* a pipe to the relay's thread: 'v' vanish, 'r' return, 'o' end the orphan,
                    'x' end */
    pthread_t thread;
    bool running;       /* relay_start succeeded: relay_stop has a thread to end */
    atomic_bool armed;  /* cut the next COMMIT */
    bool pass_commit;   /* pass it on (the server commits) or not */
    bool vanish_at_cut; /* vanish (relay_vanish) as it cuts */
    bool keep_orphan;   /* a COMMIT not passed on: the server's side stays open, its transaction
                           orphaned, until relay_end_orphan */
    int orphan;         /* that side */
    atomic_bool orphan_open;
    atomic_int cuts, accepted;
    atomic_bool vanished; /* set by the relay's thread once it ended every session */
    /* The relay thread's own. A pair without a server side is a connection held unanswered. */
    int client[RELAY_PAIRS], server[RELAY_PAIRS];
    bool cut[RELAY_PAIRS];
} pg_relay;

static bool write_all(int fd, const char *p, ssize_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w <= 0)
            return false;
        p += w;
        n -= w;
    }
    return true;
}

static void relay_end(pg_relay *r, int i) {
    if (r->cut[i] && r->vanish_at_cut)
        atomic_store(&r->vanished, true);
    if (r->cut[i])
        atomic_fetch_add(&r->cuts, 1);
    close(r->client[i]);
    close(r->server[i]);
    r->client[i] = r->server[i] = -1;
    r->cut[i] = false;
}

static void relay_accept(pg_relay *r) {
    int fd = accept(r->listen_fd, NULL, NULL);
    if (fd < 0)
        return;
    atomic_fetch_add(&r->accepted, 1);
    int i = 0;
    while (i < RELAY_PAIRS && r->client[i] >= 0)
        i++;
    if (i == RELAY_PAIRS) {
        close(fd);
        return;
    }
    r->client[i] = fd;
    if (atomic_load(&r->vanished))
        return; /* held: never answered */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, r->target, sizeof sa.sun_path); /* relay_start checked its length */
    r->server[i] = socket(AF_UNIX, SOCK_STREAM, 0);
    if (r->server[i] < 0 || connect(r->server[i], (struct sockaddr *)&sa, sizeof sa) != 0)
        relay_end(r, i);
}

/* Reads what the client of pair i sent and passes it on (or cuts); false: end the pair. */
static bool relay_from_client(pg_relay *r, int i, char *buf, size_t cap) {
    ssize_t n = read(r->client[i], buf, cap);
    if (n <= 0 || r->server[i] < 0)
        return n > 0; /* a held connection's bytes go nowhere */
    if (memmem(buf, (size_t)n, "COMMIT", 6) && atomic_exchange(&r->armed, false)) {
        r->cut[i] = true;
        if (!r->pass_commit && r->keep_orphan) {
            r->orphan = r->server[i];
            r->server[i] = -1;
            atomic_store(&r->orphan_open, true);
        }
        if (!r->pass_commit)
            return false; /* the server never sees it */
    }
    return write_all(r->server[i], buf, n);
}

/* The same from the server's side: a cut pair's answer (the COMMIT's) is swallowed. */
static bool relay_from_server(pg_relay *r, int i, char *buf, size_t cap) {
    ssize_t n = read(r->server[i], buf, cap);
    return n > 0 && !r->cut[i] && write_all(r->client[i], buf, n);
}

static void *relay_main(void *arg) {
    pg_relay *r = arg;
    enum { BUF = 65536 };
    char *buf = malloc(BUF);
    for (; buf;) {
        struct pollfd pf[2 + 2 * RELAY_PAIRS];
        pf[0] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
        pf[1] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
        for (int i = 0; i < RELAY_PAIRS; i++) {
            pf[2 + 2 * i] = (struct pollfd){.fd = r->client[i], .events = POLLIN};
            pf[3 + 2 * i] = (struct pollfd){.fd = r->server[i], .events = POLLIN};
        }
        char cmd = 'x';
        if (poll(pf, 2 + 2 * RELAY_PAIRS, -1) < 0 ||
            (pf[0].revents && (read(r->wake[0], &cmd, 1) != 1 || cmd == 'x')))
            break;
        if (pf[0].revents && cmd == 'o') {
            close(r->orphan);
            r->orphan = -1;
            atomic_store(&r->orphan_open, false);
            continue;
        }
        if (pf[0].revents && cmd == 'r') {
            atomic_store(&r->vanished, false);
            continue;
        }
        if (pf[0].revents) { /* 'v' */
            for (int i = 0; i < RELAY_PAIRS; i++)
                if (r->client[i] >= 0)
                    relay_end(r, i);
            atomic_store(&r->vanished, true);
            continue;
        }
        if (pf[1].revents & POLLIN)
            relay_accept(r);
        for (int i = 0; i < RELAY_PAIRS; i++) {
            bool keep = true;
            if (r->client[i] >= 0 && pf[2 + 2 * i].revents)
                keep = relay_from_client(r, i, buf, BUF);
            else if (r->server[i] >= 0 && pf[3 + 2 * i].revents)
                keep = relay_from_server(r, i, buf, BUF);
            if (!keep)
                relay_end(r, i);
        }
    }
    for (int i = 0; i < RELAY_PAIRS; i++)
        relay_end(r, i);
    close(r->orphan);
    free(buf);
    return NULL;
}

/* Starts a relay to the server of the sandbox's database; false (nothing started) when that
 * server is not on a Unix socket. extra is added to the relay's URL ("&name=value..."). */
static bool relay_start(pg_relay *r, const tdbt_sandbox *s, bool pass_commit, const char *extra) {
    memset(r, 0, sizeof *r);
    r->listen_fd = r->wake[0] = r->wake[1] = r->orphan = -1;
    for (int i = 0; i < RELAY_PAIRS; i++)
        r->client[i] = r->server[i] = -1;
    r->pass_commit = pass_commit;
    PGconn *pg = PQconnectdb(s->db);
    bool ok = PQstatus(pg) == CONNECTION_OK && PQhost(pg)[0] == '/';
    if (ok) {
        int t = snprintf(r->target, sizeof r->target, "%s/.s.PGSQL.%s", PQhost(pg), PQport(pg));
        ok = t > 0 && (size_t)t < sizeof r->target;
        snprintf(r->dir, sizeof r->dir, "%s/relay", s->dir);
        snprintf(r->url, sizeof r->url, "postgresql:///%s?host=%s&port=%s&user=%s%s", PQdb(pg),
                 r->dir, PQport(pg), PQuser(pg), extra);
    }
    PQfinish(pg);
    if (!ok) {
        fprintf(stderr, "note: no relay (the server is not on a Unix socket): test skipped\n");
        return false;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int w = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/.s.PGSQL.%s", r->dir,
                     strrchr(r->target, '.') + 1);
    ok = w > 0 && (size_t)w < sizeof sa.sun_path && mkdir(r->dir, 0700) == 0 &&
         (r->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0 &&
         bind(r->listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
         listen(r->listen_fd, 8) == 0 && pipe(r->wake) == 0 &&
         pthread_create(&r->thread, NULL, relay_main, r) == 0;
    if (!ok) {
        close(r->listen_fd);
        close(r->wake[0]);
        close(r->wake[1]);
    }
    r->running = ok;
    return CHECK(ok, "cannot start the relay in %s", r->dir);
}

/* Ends every session the relay carries, and answers no connection from then on; returns once
 * that is so. */
static bool relay_vanish(pg_relay *r) {
    if (write(r->wake[1], "v", 1) != 1)
        return false;
    for (int i = 0; i < 5000 && !atomic_load(&r->vanished); i++)
        usleep(1000);
    return atomic_load(&r->vanished);
}

/* Answers connections again (after relay_vanish); returns once that is so. */
static bool relay_return(pg_relay *r) {
    if (write(r->wake[1], "r", 1) != 1)
        return false;
    for (int i = 0; i < 5000 && atomic_load(&r->vanished); i++)
        usleep(1000);
    return !atomic_load(&r->vanished);
}

/* Waits (at most 5 s) until the relay made its cut. */
static bool relay_wait_cut(pg_relay *r) {
    for (int t = 0; t < 5000 && atomic_load(&r->cuts) == 0; t++)
        usleep(1000);
    return atomic_load(&r->cuts) > 0;
}

/* Closes the orphaned side (keep_orphan): the server ends its transaction. */
static bool relay_end_orphan(pg_relay *r) {
    if (write(r->wake[1], "o", 1) != 1)
        return false;
    for (int i = 0; i < 5000 && atomic_load(&r->orphan_open); i++)
        usleep(1000);
    return !atomic_load(&r->orphan_open);
}

static void relay_stop(pg_relay *r) {
    if (!r->running)
        return;
    r->running = false;
    if (write(r->wake[1], "x", 1) == 1)
        pthread_join(r->thread, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    close(r->listen_fd);
}

/* Checks that the log wrote everything (no fault, nothing dropped), then stops the log, the
 * relay and the sandbox that log_through_relay started. */
static void end_log_through_relay(tdb_log *log, pg_relay *r, tdbt_sandbox *s) {
    tdb_log_health h;
    tdb_log_stats st;
    tdb_log_snapshot(log, &st, &h);
    CHECK(h.fault == TDB_FAULT_NONE && h.dropped_failed == 0 && st.dropped == 0,
          "fault %d, %llu dropped", (int)h.fault, (unsigned long long)st.dropped);
    tdb_log_stop(log);
    relay_stop(r);
    tdbt_sandbox_free(s);
}

/* A new sandbox with its database made, a relay to its server (relay_start), and a diagnosis
 * log of `capacity` entries and at most max_rows rows (0: the default) writing through the
 * relay; NULL (sandbox freed) when the server is not on a Unix socket or the log cannot start. */
static tdb_log *log_through_relay(tdbt_sandbox *s, pg_relay *r, bool pass_commit, const char *extra,
                                  size_t capacity, int64_t max_rows) {
    tdb_close(sandbox_open(s));
    char err[600] = "";
    tdb_log_options o = {.queue_capacity = capacity, .retention_days = 7, .max_rows = max_rows};
    tdb_log *log = relay_start(r, s, pass_commit, extra)
                       ? tdb_log_start_opts(r->url, s->key, &o, err, sizeof err)
                       : NULL;
    if (!log && r->running) { /* the relay runs: the log did not start */
        CHECK(false, "%s", err);
        relay_stop(r);
    }
    if (!log)
        tdbt_sandbox_free(s);
    return log;
}

/* PostgreSQL: the host vanished (no answer, not even a refusal) with two batches queued. A stop
 * must not try each batch in turn -- a connection timeout each, minutes with a full queue --
 * but drop what is left once one attempt failed: one connection tried, however much was queued
 * (two on the old code). */
static void test_log_stop_vanished_pg(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    pg_relay relay;
    tdb_log *log =
        log_through_relay(&s, &relay, true, "&connect_timeout=2", 8, 0); /* batches of 4 */
    if (!log)
        return;
    EXPECT(relay_vanish(&relay));
    int before = atomic_load(&relay.accepted);
    push_entries(log, "app-gone", 0, 4);
    /* The first four are one batch, under way (its connection held) before the rest. */
    for (int t = 0; t < 5000 && atomic_load(&relay.accepted) == before; t++)
        usleep(1000);
    push_entries(log, "app-gone", 4, 8);
    tdb_log_stop(log);
    int tried = atomic_load(&relay.accepted) - before;
    CHECK(tried == 1, "%d connections tried", tried);
    relay_stop(&relay);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-gone'") == 0);
    tdbt_sandbox_free(&s);
}

/* PostgreSQL: entries queued while a batch whose COMMIT went unanswered waits to be sent again
 * do not join it: it goes again as it was (its five entries, its mark), found stored, and the
 * three that came meanwhile follow as a batch of their own. Before, the retry took all eight
 * and wrote the first five twice. */
static void test_log_commit_unanswered_grown_pg(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    pg_relay cut;
    tdb_log *log = log_through_relay(&s, &cut, true, "&connect_timeout=1", 64, 0);
    if (!log)
        return;
    cut.vanish_at_cut = true; /* the retry waits: the three below are queued meanwhile */
    atomic_store(&cut.armed, true);
    push_entries(log, "app-grown", 0, 5);
    EXPECT(relay_wait_cut(&cut));
    EXPECT(atomic_load(&cut.vanished));
    push_entries(log, "app-grown", 5, 8);
    EXPECT(relay_return(&cut));
    EXPECT(tdb_log_flush_for(log, 15000));
    int64_t rows = tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-grown'");
    CHECK(rows == 8, "%lld rows", (long long)rows);
    EXPECT(tdbt_sql_int(s.db, "SELECT count(DISTINCT channel) FROM diagnoses") == 8);
    end_log_through_relay(log, &cut, &s);
}

/* PostgreSQL: the COMMIT went unanswered because it never reached the server, whose side of
 * the connection stays open (a partition): the attempt's transaction is orphaned, holding the
 * batch's mark. The batch sent again waits on that mark past the writer's lock timeout: its fate
 * is not known yet, so it stays queued -- not counted as dropped (it was, before) -- and is
 * written once the orphan ends. */
static void test_log_commit_orphaned_pg(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    pg_relay cut;
    tdb_log *log = log_through_relay(&s, &cut, false, "", 64, 0);
    if (!log)
        return;
    cut.keep_orphan = true;
    atomic_store(&cut.armed, true);
    push_entries(log, "app-orphan", 0, 5);
    EXPECT(relay_wait_cut(&cut));
    EXPECT(atomic_load(&cut.orphan_open));
    usleep(2 * TDBI_BUSY_TIMEOUT_MS * 1000 + 500000); /* two of the writer's lock timeouts */
    tdb_log_health h;
    tdb_log_stats st;
    tdb_log_snapshot(log, &st, &h);
    CHECK(h.fault == TDB_FAULT_UNAVAILABLE && h.dropped_failed == 0 && st.depth == 5,
          "fault %d, %llu dropped, %zu queued", (int)h.fault, (unsigned long long)h.dropped_failed,
          st.depth);
    EXPECT(relay_end_orphan(&cut));
    EXPECT(tdb_log_flush_for(log, 15000));
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-orphan'") == 5);
    end_log_through_relay(log, &cut, &s);
}

/* PostgreSQL: a store of version 1 (before the log batches' marks) is brought to version 2
 * when it is opened, and its log is written with marks from then on. */
static void test_migrate_pg_v2(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    tdb_close(sandbox_open(&s));
    EXPECT(sql_exec(s.db, "DROP INDEX diagnoses_batch_mark; ALTER TABLE diagnoses DROP COLUMN "
                          "mark_writer, DROP COLUMN mark_batch; UPDATE tokendoctor_schema SET "
                          "version = 1") == 0);
    char err[600];
    tdb_log *log = tdb_log_start(s.db, s.key, 16, 7, err, sizeof err);
    CHECK(log != NULL, "%s", err);
    EXPECT(tdbt_sql_int(s.db, "SELECT max(version) FROM tokendoctor_schema") ==
           TDBPG_SCHEMA_VERSION);
    tdb_log_entry e;
    make_entry(&e, (int64_t)time(NULL), "app-v2", 1);
    EXPECT(log && tdb_log_push(log, &e) && tdb_log_flush_for(log, 10000));
    EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE mark_batch = 1 AND "
                              "mark_writer > 0") == 1);
    tdb_log_stop(log);
    tdbt_sandbox_free(&s);
}

/* PostgreSQL: the connection breaks after the diagnosis log's COMMIT was sent. When the server
 * had committed, the batch must not be written again (it was, twice, before the writers' marks);
 * when it had not, it must be written once more. Either way each entry is there once, and none
 * is counted as dropped. */
static void test_log_commit_unanswered_pg(void) {
    if (!tdbt_pg())
        return;
    for (int pass = 0; pass < 2; pass++) {
        bool committed = pass == 0;
        tdbt_sandbox s;
        pg_relay cut;
        /* At most 10 rows: the batch of 8 sent again must be found before room is made for it
         * (making room would delete its first rows, the marked one among them). */
        tdb_log *log = log_through_relay(&s, &cut, committed, "", 64, 10);
        if (!log)
            return;
        atomic_store(&cut.armed, true);
        push_entries(log, "app-cut", 0, 8);
        EXPECT(tdb_log_flush_for(log, 10000));
        CHECK(atomic_load(&cut.cuts) == 1, "pass %d: %d cuts", pass, atomic_load(&cut.cuts));
        int64_t rows =
            tdbt_sql_int(s.db, "SELECT count(*) FROM diagnoses WHERE app_id = 'app-cut'");
        CHECK(rows == 8, "pass %d: %lld rows", pass, (long long)rows);
        /* Later batches are written as usual, marks and all (9 rows: within the bound). */
        push_entries(log, "app-cut", 8, 9);
        EXPECT(tdb_log_flush_for(log, 10000));
        EXPECT(tdbt_sql_int(s.db, "SELECT count(DISTINCT channel) FROM diagnoses") == 9);
        EXPECT(tdbt_sql_int(s.db, "SELECT count(DISTINCT mark_writer) FROM diagnoses") == 1);
        end_log_through_relay(log, &cut, &s);
    }
}

/* PostgreSQL: a server that stops answering without closing the connection (a host that
 * vanished, a stalled backend: here the backend is stopped with SIGSTOP). statement_timeout is
 * the server's own and cannot help; the store gives up waiting after the request threads'
 * statement timeout plus its margin, reports the store unreachable, and the next statement
 * after the server answers again runs on a new session. Without that bound the read below
 * would wait until the kernel gives up the connection (ctest's timeout, here). */
static void test_stalled_server_pg(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    tdb *db = sandbox_open(&s);
    tdb_set_busy_timeout(db, TDB_REQUEST_BUSY_MS); /* as the service's request threads */
    diag_project p;
    EXPECT(tdb_project_get(db, "00000000000000000000000000000001", &p) == TDB_NOT_FOUND);
    pid_t backend = (pid_t)PQbackendPID(db->pg->conn);
    CHECK(backend > 0 && kill(backend, SIGSTOP) == 0, "cannot stop backend %d", (int)backend);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tdb_status st = tdb_project_get(db, "00000000000000000000000000000001", &p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kill(backend, SIGCONT);
    CHECK(st == TDB_ERROR && tdb_last_fault(db) == TDB_FAULT_UNAVAILABLE, "status %d fault %d: %s",
          (int)st, (int)tdb_last_fault(db), tdb_errmsg(db));
    CHECK(strstr(tdb_errmsg(db), "no answer in time") != NULL, "%s", tdb_errmsg(db));
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(waited < 30, "waited %.1f s", waited); /* the bound is 3 s; not a timing test */
    EXPECT(tdb_project_get(db, "00000000000000000000000000000001", &p) == TDB_NOT_FOUND);
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

static void test_wrong_key_pg(void) {
    if (!tdbt_pg())
        return;
    tdbt_sandbox s;
    sandbox_init(&s);
    char err[600];
    EXPECT(tdb_open(s.db, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "needs its key file") != NULL && strstr(err, "://") == NULL, "%s", err);
    EXPECT(access(s.key, F_OK) != 0);
    tdb *db = open_ok(s.db, s.key);
    EXPECT(access(s.key, F_OK) == 0); /* a new database: its key was made */
    diag_project p, got;
    make_project(&p, 1, 1, 2);
    EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_OK);
    tdb_close(db);

    char other_db[320], other_key[320], missing[320];
    snprintf(other_db, sizeof other_db, "%s/other/o.db", s.dir);
    snprintf(other_key, sizeof other_key, "%s/other/o.key", s.dir);
    snprintf(missing, sizeof missing, "%s/missing.key", s.dir);
    tdb_close(open_ok(other_db, other_key));
    EXPECT(tdb_open(s.db, other_key, err, sizeof err) == NULL);
    CHECK(strstr(err, "wrong key file?") != NULL, "%s", err);
    EXPECT(tdb_open(s.db, missing, err, sizeof err) == NULL);
    CHECK(strstr(err, "not found") != NULL, "%s", err);
    EXPECT(access(missing, F_OK) != 0); /* no new key for a database that has one */

    EXPECT(sql_exec(s.db, "UPDATE projects SET primary_cert = overlay(primary_cert placing "
                          "'\\x00'::bytea from 21 for 1)") == 0);
    EXPECT(sql_exec(s.db, "UPDATE projects SET primary_cert = overlay(primary_cert placing "
                          "'\\x01'::bytea from 21 for 1) WHERE get_byte(primary_cert, 20) = 0 "
                          "AND false") == 0);
    db = open_ok(s.db, s.key);
    memset(&got, 0x55, sizeof got);
    tdb_status st = tdb_project_get(db, p.app_id, &got);
    /* The byte may have been 0 already (1 in 256): then it still decrypts. */
    EXPECT(st == TDB_DECRYPT || st == TDB_OK);
    if (st == TDB_DECRYPT) {
        CHECK(strstr(tdb_errmsg(db), "cannot decrypt") != NULL, "%s", tdb_errmsg(db));
        EXPECT(tdb_project_put(db, &p, "cli", NULL) == TDB_DECRYPT);
        EXPECT(tdb_project_delete(db, p.app_id, "cli") == TDB_OK);
    }
    tdb_close(db);
    tdbt_sandbox_free(&s);
}

/* PostgreSQL: nodes creating one new store at once. With the same key file they all open it
 * (one migration, one key check); each with a key file of its own, exactly one wins and the
 * others are told their key is the wrong one. */
static void test_key_race_pg(void) {
    if (!tdbt_pg())
        return;
    enum { CHILDREN = 4 };
    for (int round = 0; round < 2; round++) {
        tdbt_sandbox s;
        sandbox_init(&s);
        pid_t pids[CHILDREN];
        for (int c = 0; c < CHILDREN; c++) {
            pids[c] = fork();
            if (pids[c] == 0) {
                char key[400], err[600];
                snprintf(key, sizeof key, "%s/k%d.key", s.dir, round == 0 ? 0 : c);
                tdb *db = tdb_open(s.db, key, err, sizeof err);
                bool wrong = !db && strstr(err, "wrong key file?") != NULL;
                if (!db && !wrong)
                    fprintf(stderr, "child %d: %s\n", c, err);
                tdb_close(db);
                _exit(db ? 0 : wrong ? 5 : 3);
            }
        }
        int opened = 0, wrong = 0;
        for (int c = 0; c < CHILDREN; c++) {
            int status = 0;
            EXPECT(waitpid(pids[c], &status, 0) == pids[c]);
            opened += WIFEXITED(status) && WEXITSTATUS(status) == 0;
            wrong += WIFEXITED(status) && WEXITSTATUS(status) == 5;
        }
        CHECK(round == 0 ? opened == CHILDREN : opened == 1 && wrong == CHILDREN - 1,
              "round %d: %d opened, %d wrong key", round, opened, wrong);
        EXPECT(tdbt_sql_int(s.db, "SELECT count(*) FROM tokendoctor_schema") == 1);
        tdbt_sandbox_free(&s);
    }
}

static const tu_test TESTS[] = {
    {"migrations", test_migrations},
    {"put_replace_delete", test_put_replace_delete},
    {"no_certificate_bytes", test_no_certificate_bytes},
    {"wrong_key", test_wrong_key},
    {"corrupt_and_read_only", test_corrupt_and_read_only},
    {"two_processes", test_two_processes},
    {"apikeys", test_apikeys},
    {"apikey_last_used", test_apikey_last_used},
    {"data_version", test_data_version},
    {"config_version", test_config_version},
    {"read_snapshot", test_read_snapshot},
    {"migrate_from_v1", test_migrate_from_v1},
    {"open_existing", test_open_existing},
    {"locations", test_locations},
    {"log_basic", test_log_basic},
    {"log_pressure", test_log_pressure},
    {"log_threads", test_log_threads},
    {"log_span_cost", test_log_span_cost},
    {"compact", test_compact},
    {"compact_refused", test_compact_refused},
    {"app_id_case", test_app_id_case},
    {"migrate_case_duplicates", test_migrate_case_duplicates},
    {"config_across", test_config_across},
    {"bulk_roundtrip", test_bulk_roundtrip},
    {"wrong_key_pg", test_wrong_key_pg},
    {"key_race_pg", test_key_race_pg},
    {"apikey_verify_error", test_apikey_verify_error},
    {"outage_pg", test_outage_pg},
    {"stalled_server_pg", test_stalled_server_pg},
    {"log_commit_unanswered_pg", test_log_commit_unanswered_pg},
    {"migrate_pg_v2", test_migrate_pg_v2},
    {"log_stop_vanished_pg", test_log_stop_vanished_pg},
    {"log_commit_unanswered_grown_pg", test_log_commit_unanswered_grown_pg},
    {"log_commit_orphaned_pg", test_log_commit_orphaned_pg},
    {"migrate_v5", test_migrate_v5},
    {"migrate_v6", test_migrate_v6},
    {"migrate_v7", test_migrate_v7},
    {"migrate_v8", test_migrate_v8},
    {"row_key", test_row_key},
    {"migrations_unchanged", test_migrations_unchanged},
};

int main(int argc, char **argv) {
    /* The defaults must never be used by a test. */
    unsetenv(TDB_ENV_PATH);
    unsetenv(TDB_ENV_KEY_FILE);
    if (tdbt_use_pg(&argc, argv)) {
        /* The same store-API tests on PostgreSQL; those about SQLite files stay SQLite's. */
        static const char *const pg_tests[] = {
            "put_replace_delete",
            "apikeys",
            "config_version",
            "config_across",
            "log_basic",
            "log_threads",
            "app_id_case",
            "wrong_key_pg",
            "bulk_roundtrip",
            "two_processes",
            "key_race_pg",
            "apikey_verify_error",
            "outage_pg",
            "stalled_server_pg",
            "log_commit_unanswered_pg",
            "migrate_pg_v2",
            "log_stop_vanished_pg",
            "log_commit_unanswered_grown_pg",
            "log_commit_orphaned_pg",
        };
        tu_test chosen[sizeof pg_tests / sizeof pg_tests[0]];
        size_t n = 0;
        for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++)
            for (size_t j = 0; j < sizeof pg_tests / sizeof pg_tests[0]; j++)
                if (strcmp(TESTS[i].name, pg_tests[j]) == 0)
                    chosen[n++] = TESTS[i];
        return tu_run_tests(chosen, n, argv + 1, argc - 1, "db_store_pg");
    }
    return tu_run_tests(TESTS, sizeof TESTS / sizeof TESTS[0], argv + 1, argc - 1, "db_store");
}

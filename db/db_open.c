/* db_open.c -- opening a tokendoctor database: paths, the key file, checks, migrations.
 *
 * Design
 * ------
 * tdb_open() refuses, before writing anything, every file it should not touch: a file that is
 * not a SQLite database (or is corrupt), a SQLite database that is not ours (foreign tables or
 * another application_id), a schema newer than this program, a read-only file, and a key file
 * that does not match the database. Only then does it switch the journal to WAL and migrate.
 * So a wrong --db or --key-file argument never damages anything.
 *
 * The key file holds the 32-byte AES key as 64 hex characters. It is created on first use with
 * mode 0600, written to a temporary name and link()ed into place, so that two processes
 * creating the same database at once agree on one key (the loser of the link reads the
 * winner's file). The database stores a key check value (a known constant sealed with the key)
 * in its meta table: a wrong key is detected at open, not as garbage later. When the database
 * already holds a key check and the key file is missing, no new key is made: that would make
 * every stored certificate unreadable.
 *
 * Migrations are an ordered list of SQL scripts; PRAGMA user_version is the number applied.
 * Pending ones run in one BEGIN IMMEDIATE transaction that re-reads user_version first, so two
 * processes migrating the same file at once apply each step exactly once; re-opening a current
 * database writes nothing. tdb_open_existing() makes the same checks but refuses a missing (or
 * empty) file instead of creating it, and never creates a key file.
 *
 * Version checks for caches: tdb_data_version() and tdb_config_version() run on every request
 * of the service, so they use statements prepared once and kept on the connection (reset right
 * after each step, so that no read transaction stays open). The configuration version is a
 * counter that triggers move in the transaction of every configuration change (migration 2);
 * it is re-read only when PRAGMA data_version (another connection committed) or the
 * connection's own change count moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_internal.h"
#include "db_sqlite.h"

static const char KEY_CHECK_PLAIN[] = "tokendoctor key check v1";
static const char KEY_CHECK_AAD[] = "tokendoctor-key-check";

/* A trigger that increments the configuration version after every row `op` changes in table. */
#define CONFIG_BUMP(table, op)                                                                     \
    "CREATE TRIGGER " table "_" op "_bumps_config AFTER " op " ON " table                          \
    " BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;"

/* The end of a rebuild of projects (migrations 5 and 8, which made projects_<v> and filled it):
 * the retired certificates rebuilt to refer to it, both renamed into place, their indexes, and
 * the configuration-version triggers that went with the old tables. */
#define REBUILT_INTO_PLACE(v)                                                                      \
    "CREATE TABLE retired_" v " ("                                                                 \
    "  id INTEGER PRIMARY KEY,"                                                                    \
    "  app_id TEXT NOT NULL REFERENCES projects_" v "(app_id) ON DELETE CASCADE,"                  \
    "  cert BLOB NOT NULL, fingerprint TEXT NOT NULL,"                                             \
    "  source TEXT NOT NULL CHECK (source IN ('replaced', 'removed', 'configured')),"              \
    "  retired_at INTEGER NOT NULL);"                                                              \
    "INSERT INTO retired_" v " (id, app_id, cert, fingerprint, source, retired_at)"                \
    "  SELECT id, app_id, cert, fingerprint, source, retired_at FROM retired_certificates;"        \
    "DROP TABLE retired_certificates;"                                                             \
    "DROP TABLE projects;"                                                                         \
    "ALTER TABLE projects_" v " RENAME TO projects;"                                               \
    "ALTER TABLE retired_" v " RENAME TO retired_certificates;"                                    \
    "CREATE UNIQUE INDEX projects_app_id_nocase ON projects(app_id COLLATE NOCASE);"               \
    "CREATE INDEX retired_by_app ON retired_certificates(app_id, id, cert);" CONFIG_BUMP(          \
        "projects", "INSERT") CONFIG_BUMP("projects", "UPDATE") CONFIG_BUMP("projects", "DELETE")  \
        CONFIG_BUMP("retired_certificates", "INSERT")                                              \
            CONFIG_BUMP("retired_certificates", "UPDATE")                                          \
                CONFIG_BUMP("retired_certificates", "DELETE")

/* The triggers that keep each project's count of retired certificates (migration 6). */
#define RETIRED_COUNT_TRIGGERS                                                                     \
    "CREATE TRIGGER retired_certificates_INSERT_counts AFTER INSERT ON retired_certificates"       \
    " BEGIN UPDATE projects SET retired_count = retired_count + 1 WHERE app_id = NEW.app_id;"      \
    " END;"                                                                                        \
    "CREATE TRIGGER retired_certificates_DELETE_counts AFTER DELETE ON retired_certificates"       \
    " BEGIN UPDATE projects SET retired_count = retired_count - 1 WHERE app_id = OLD.app_id;"      \
    " END;"                                                                                        \
    "CREATE TRIGGER retired_certificates_UPDATE_counts AFTER UPDATE OF app_id ON"                  \
    " retired_certificates WHEN OLD.app_id IS NOT NEW.app_id"                                      \
    " BEGIN UPDATE projects SET retired_count = retired_count - 1 WHERE app_id = OLD.app_id;"      \
    " UPDATE projects SET retired_count = retired_count + 1 WHERE app_id = NEW.app_id; END;"

/* What migration 8 copies of each project. */
#define PROJECT_COLUMNS_V8                                                                         \
    "app_id, name, primary_cert, primary_enabled, secondary_cert, secondary_enabled, "             \
    "no_certificate, cohost_auth, created_at, updated_at, retired_count, retired_sealed"

/* The retired certificates of the project app (an SQL expression) as its row carries them
 * (migration 7): their sealed blobs back to back, oldest first; NULL when there are none or more
 * than TDBSQ_RETIRED_IN_ROW. */
/* clang-format off */
#define RETIRED_COPY(app)                                                                          \
    "(SELECT CASE WHEN count(*) <= " TDBI_STR(TDBSQ_RETIRED_IN_ROW) " THEN CAST(group_concat("     \
    "cert, '') AS BLOB) END FROM (SELECT cert FROM retired_certificates WHERE app_id = " app       \
    " ORDER BY id))"
/* clang-format on */

/* 7: a project with few retired certificates (TDBSQ_RETIRED_IN_ROW) carries them in its row,
 * sealed as in their table and in their order (oldest first), so that its read is one descent
 * instead of two cold ones (docs/performance.md, "Schema 7"). The table stays the one owner of
 * the list: triggers rebuild the row's copy from it after every change to it, whoever writes (a
 * put, a prune, a raw statement; a project's delete takes the row along), and a row whose list
 * is longer holds NULL. The copy is the sealed blobs back to back: group_concat keeps a blob's
 * bytes, and takes the rows in the order its subquery gives them -- the index (app_id, id, cert)
 * gives them in id order, and the ORDER BY keeps it so should the plan change (SQLite does not
 * flatten an ordered subquery into an aggregate). */
/* clang-format off */
#define RETIRED_COPY_TRIGGERS                                                                      \
    "CREATE TRIGGER retired_certificates_INSERT_copies AFTER INSERT ON retired_certificates"       \
    " BEGIN UPDATE projects SET retired_sealed = " RETIRED_COPY("NEW.app_id")                      \
    " WHERE app_id = NEW.app_id; END;"                                                             \
    "CREATE TRIGGER retired_certificates_DELETE_copies AFTER DELETE ON retired_certificates"       \
    " BEGIN UPDATE projects SET retired_sealed = " RETIRED_COPY("OLD.app_id")                      \
    " WHERE app_id = OLD.app_id; END;"                                                             \
    "CREATE TRIGGER retired_certificates_UPDATE_copies AFTER UPDATE ON retired_certificates"       \
    " BEGIN UPDATE projects SET retired_sealed = " RETIRED_COPY("OLD.app_id")                      \
    " WHERE app_id = OLD.app_id;"                                                                  \
    " UPDATE projects SET retired_sealed = " RETIRED_COPY("NEW.app_id")                            \
    " WHERE app_id = NEW.app_id AND NEW.app_id IS NOT OLD.app_id; END;"
static const char MIGRATION_7[] =
    "ALTER TABLE projects ADD COLUMN retired_sealed BLOB;"
    "UPDATE projects SET retired_sealed = " RETIRED_COPY("projects.app_id")
    "  WHERE retired_count > 0;"
    RETIRED_COPY_TRIGGERS;

/* 8: projects is a table of row ids again, each project stored under its row key (tdbsq_row_key,
 * here the SQL function tdb_row_key): a read descends one B-tree of integers, whose interior
 * pages are a quarter as many as those of App IDs and stay in the CPU's caches, instead of
 * comparing text at every level (docs/performance.md, "Schema 8"). app_id keeps its own unique
 * index, binary: the retired certificates' foreign key needs one, and listings page by it. The
 * rows are copied in key order; a project whose key another already took (a 63-bit hash: in
 * practice never) is copied after the others, under a new id. The rebuild goes as migration
 * 5's, for the same reasons (foreign keys on; dropping a table drops its triggers first): the
 * configuration-version triggers and those of migrations 6 and 7 are made again at the end. */
static const char MIGRATION_8[] =
    "CREATE TABLE projects_v8 ("
    "  id INTEGER PRIMARY KEY,"
    "  app_id TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  primary_cert BLOB, primary_enabled INTEGER NOT NULL DEFAULT 0,"
    "  secondary_cert BLOB, secondary_enabled INTEGER NOT NULL DEFAULT 0,"
    "  no_certificate INTEGER NOT NULL DEFAULT 0,"
    "  cohost_auth INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  retired_count INTEGER NOT NULL DEFAULT 0, retired_sealed BLOB);"
    "INSERT INTO projects_v8 (id, " PROJECT_COLUMNS_V8 ")"
    "  SELECT tdb_row_key(app_id), " PROJECT_COLUMNS_V8 " FROM projects WHERE true ORDER BY 1"
    "  ON CONFLICT (id) DO NOTHING;"
    "INSERT INTO projects_v8 (" PROJECT_COLUMNS_V8 ")"
    "  SELECT " PROJECT_COLUMNS_V8 " FROM projects p WHERE NOT EXISTS"
    "  (SELECT 1 FROM projects_v8 n WHERE n.app_id = p.app_id) ORDER BY app_id;"
    REBUILT_INTO_PLACE("v8")
    RETIRED_COUNT_TRIGGERS
    RETIRED_COPY_TRIGGERS;
/* clang-format on */
#undef RETIRED_COPY

/* Schema version N is MIGRATIONS[N - 1]. Append only: never edit a released step. */
static const char *const MIGRATIONS[] = {
    /* 1: the initial schema. */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE projects ("
    "  app_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  primary_cert BLOB, primary_enabled INTEGER NOT NULL DEFAULT 0,"
    "  secondary_cert BLOB, secondary_enabled INTEGER NOT NULL DEFAULT 0,"
    "  no_certificate INTEGER NOT NULL DEFAULT 0,"
    "  cohost_auth INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    /* Retired certificates go with their project: deleting a project forgets its secrets. */
    "CREATE TABLE retired_certificates ("
    "  id INTEGER PRIMARY KEY,"
    "  app_id TEXT NOT NULL REFERENCES projects(app_id) ON DELETE CASCADE,"
    "  cert BLOB NOT NULL, fingerprint TEXT NOT NULL,"
    "  source TEXT NOT NULL CHECK (source IN ('replaced', 'removed', 'configured')),"
    "  retired_at INTEGER NOT NULL);"
    "CREATE INDEX retired_by_app ON retired_certificates(app_id, id);"
    /* The log has no foreign key: it outlives the project. Triggers make it append-only. */
    "CREATE TABLE config_log ("
    "  id INTEGER PRIMARY KEY, app_id TEXT NOT NULL, at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL, action TEXT NOT NULL,"
    "  before TEXT, after TEXT, changes TEXT NOT NULL, retired TEXT NOT NULL);"
    "CREATE INDEX config_log_by_app ON config_log(app_id, id);"
    "CREATE TRIGGER config_log_no_update BEFORE UPDATE ON config_log"
    "  BEGIN SELECT RAISE(ABORT, 'config_log is append-only'); END;"
    "CREATE TRIGGER config_log_no_delete BEFORE DELETE ON config_log"
    "  BEGIN SELECT RAISE(ABORT, 'config_log is append-only'); END;"
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'reader')),"
    "  hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked_at INTEGER);"
    "CREATE UNIQUE INDEX api_keys_active_name ON api_keys(name) WHERE revoked_at IS NULL;"
    "CREATE TABLE diagnoses ("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, app_id TEXT NOT NULL,"
    "  verdict TEXT NOT NULL, cause TEXT NOT NULL, code INTEGER NOT NULL,"
    "  platform TEXT NOT NULL, token_fingerprint TEXT, channel TEXT, uid TEXT);"
    "CREATE INDEX diagnoses_by_app ON diagnoses(app_id, at);"
    "CREATE INDEX diagnoses_by_at ON diagnoses(at);",

    /* 2: the configuration version, and diagnoses without an error code store NULL. */
    /* One row, moved by triggers in the transaction of every change to the configuration
     * (projects, their retired certificates, API keys), whichever program makes it: caches
     * compare it instead of PRAGMA data_version, which every diagnosis-log commit moves. */
    "CREATE TABLE config_version ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"
    "INSERT INTO config_version (id, version) VALUES (1, 1);"
    /* clang-format off */
    CONFIG_BUMP("projects", "INSERT")
    CONFIG_BUMP("projects", "UPDATE")
    CONFIG_BUMP("projects", "DELETE")
    CONFIG_BUMP("retired_certificates", "INSERT")
    CONFIG_BUMP("retired_certificates", "UPDATE")
    CONFIG_BUMP("retired_certificates", "DELETE")
    CONFIG_BUMP("api_keys", "INSERT")
    CONFIG_BUMP("api_keys", "UPDATE")
    CONFIG_BUMP("api_keys", "DELETE")
    /* clang-format on */
    /* SQLite cannot drop a NOT NULL constraint: rebuild the table. A code of 0 meant "none". */
    "CREATE TABLE diagnoses_v2 ("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, app_id TEXT NOT NULL,"
    "  verdict TEXT NOT NULL, cause TEXT NOT NULL, code INTEGER,"
    "  platform TEXT NOT NULL, token_fingerprint TEXT, channel TEXT, uid TEXT);"
    "INSERT INTO diagnoses_v2 SELECT id, at, app_id, verdict, cause,"
    "  CASE WHEN verdict = 'rejected' THEN NULLIF(code, 0) END,"
    "  platform, token_fingerprint, channel, uid FROM diagnoses;"
    "DROP TABLE diagnoses;"
    "ALTER TABLE diagnoses_v2 RENAME TO diagnoses;"
    "CREATE INDEX diagnoses_by_app ON diagnoses(app_id, at);"
    "CREATE INDEX diagnoses_by_at ON diagnoses(at);",

    /* 3: when each API key was last used. Recording a use is not a configuration change: had
     * it moved the configuration version, every service would empty its caches whenever a key
     * is used. So the api_keys UPDATE trigger now watches the columns that say what a key may
     * do, and last_used_at is not one of them. */
    "ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;"
    "DROP TRIGGER api_keys_UPDATE_bumps_config;"
    "CREATE TRIGGER api_keys_UPDATE_bumps_config"
    "  AFTER UPDATE OF name, role, hash, created_at, revoked_at ON api_keys"
    "  BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;",

    /* 4: one project per App ID whatever its case (a unique index ignoring ASCII case; the
     * spelling first stored stays, since its certificates are sealed with it). Rows that
     * already differ only in case are resolved first: the most recently updated one stays
     * (ties: the one stored last), each other one is deleted -- its retired certificates with
     * it -- and the deletion logged as `project delete` logs one, by actor "migration 4", with
     * the last configuration the log holds for it as "before", so `project history` says
     * where it went. (The log's changes column is never read back: history computes changes
     * from the two snapshots.) */
    "CREATE TEMP TABLE case_duplicates AS SELECT p.app_id FROM projects p WHERE EXISTS ("
    "  SELECT 1 FROM projects q WHERE q.app_id = p.app_id COLLATE NOCASE AND q.app_id <> p.app_id"
    "  AND (q.updated_at > p.updated_at OR (q.updated_at = p.updated_at AND q.rowid > p.rowid)));"
    "INSERT INTO config_log (app_id, at, actor, action, before, after, changes, retired)"
    "  SELECT d.app_id, CAST(strftime('%s', 'now') AS INTEGER), 'migration 4', 'delete',"
    "  (SELECT l.after FROM config_log l WHERE l.app_id = d.app_id ORDER BY l.id DESC LIMIT 1),"
    "  NULL, '[]', '[]' FROM case_duplicates d;"
    "DELETE FROM projects WHERE app_id IN (SELECT app_id FROM case_duplicates);"
    "DROP TABLE temp.case_duplicates;"
    "CREATE UNIQUE INDEX projects_app_id_nocase ON projects(app_id COLLATE NOCASE);",

    /* 5: a read of a project descends fewer B-trees (docs/performance.md, "Many projects"):
     * projects is keyed by App ID itself (WITHOUT ROWID: the row is in the leaf the App ID
     * leads to, not in a second tree behind an index), and the retired certificates' index
     * holds the sealed certificate (a read never visits their table). Both tables are rebuilt
     * and renamed into place. The order matters, because foreign keys are on and cannot be
     * turned off inside the migration's transaction: dropping projects while the retired
     * certificates still referenced it would cascade into deleting them, so the new retired
     * table references the new projects table (the rename carries the reference along), and
     * the old child is dropped before its parent. Dropping a table drops its triggers before
     * its rows, so no configuration-version trigger fires for the copy; they are made again
     * at the end, as migration 2 made them. Ids of retired certificates are kept. */
    "CREATE TABLE projects_v5 ("
    "  app_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  primary_cert BLOB, primary_enabled INTEGER NOT NULL DEFAULT 0,"
    "  secondary_cert BLOB, secondary_enabled INTEGER NOT NULL DEFAULT 0,"
    "  no_certificate INTEGER NOT NULL DEFAULT 0,"
    "  cohost_auth INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO projects_v5 (app_id, name, primary_cert, primary_enabled, secondary_cert,"
    "  secondary_enabled, no_certificate, cohost_auth, created_at, updated_at)"
    "  SELECT app_id, name, primary_cert, primary_enabled, secondary_cert, secondary_enabled,"
    "  no_certificate, cohost_auth, created_at, updated_at FROM projects ORDER BY "
    "app_id;" REBUILT_INTO_PLACE("v5"),

    /* 6: a project's row counts its retired certificates, so that a read of one without any
     * (two projects in three) does not descend their index at all: at a million projects that
     * descent met cold pages and cost as much as the row's own (docs/performance.md, "Schema
     * 6"). Triggers keep the count, whoever writes and however (a put, a prune, a raw UPDATE,
     * the cascade of a project's delete, whose decrement goes with the row). Adding the column
     * rewrites no row; only the projects that have retired certificates are updated. */
    "ALTER TABLE projects ADD COLUMN retired_count INTEGER NOT NULL DEFAULT 0;"
    "UPDATE projects SET retired_count = (SELECT count(*) FROM retired_certificates r"
    "  WHERE r.app_id = projects.app_id)"
    "  WHERE app_id IN (SELECT app_id FROM retired_certificates);" RETIRED_COUNT_TRIGGERS,

    MIGRATION_7,
    MIGRATION_8,
};
#define MIGRATION_COUNT ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

const char *tdbi_migration(int version) {
    return version >= 1 && version <= MIGRATION_COUNT ? MIGRATIONS[version - 1] : NULL;
}
_Static_assert(MIGRATION_COUNT == TDB_SCHEMA_VERSION, "one migration per schema version");

/* ---- Errors and small SQL helpers ---------------------------------------------------------- */

const char *tdbi_base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void tdbi_fail(tdb *db, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->err, sizeof db->err, fmt, ap);
    va_end(ap);
    db->fault = TDB_FAULT_OTHER;
}

/* The fault an SQLite result code means. */
static tdb_fault fault_of(int code) {
    if (code == SQLITE_READONLY_DBMOVED)
        return TDB_FAULT_GONE;
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return TDB_FAULT_BUSY;
    case SQLITE_FULL:
        return TDB_FAULT_FULL;
    default:
        return TDB_FAULT_OTHER;
    }
}

tdb_status tdbi_sql_fail(tdb *db, const char *what) {
    int code = sqlite3_extended_errcode(db->sql);
    bool corrupt = (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
    tdbi_fail(db, "%s: %s: %s%s", db->name, what, sqlite3_errmsg(db->sql),
              corrupt ? " (the database file is damaged: restore it from a backup)" : "");
    db->fault = fault_of(code);
    return TDB_ERROR;
}

bool tdbi_exec(tdb *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db->sql, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    tdbi_fail(db, "%s: %s", db->name, msg ? msg : sqlite3_errmsg(db->sql));
    db->fault = fault_of(sqlite3_extended_errcode(db->sql));
    sqlite3_free(msg);
    return false;
}

/* The kept slot of sql (the same literal, or the same text), or a free one; NULL when every slot
 * holds another statement. */
static tdbi_kept *kept_slot(tdb *db, const char *sql) {
    for (size_t i = 0; i < db->nkept; i++)
        if (db->kept[i].sql == sql)
            return &db->kept[i];
    for (size_t i = 0; i < db->nkept; i++)
        if (strcmp(db->kept[i].sql, sql) == 0)
            return &db->kept[i];
    return db->nkept < TDBI_KEPT_MAX ? &db->kept[db->nkept] : NULL;
}

static sqlite3_stmt *prepare(tdb *db, const char *sql, const char *what, bool keep) {
    tdbi_kept *slot = keep ? kept_slot(db, sql) : NULL;
    if (slot && slot->st && !slot->busy) {
        slot->busy = true;
        return slot->st;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
        tdbi_sql_fail(db, what);
        return NULL;
    }
    if (slot && !slot->st) { /* a new slot; a busy one (the same text in use) is not shared */
        *slot = (tdbi_kept){.sql = sql, .st = st, .busy = true};
        db->nkept++;
    }
    return st;
}

sqlite3_stmt *tdbi_prepare(tdb *db, const char *sql, const char *what) {
    return prepare(db, sql, what, db->keep_statements);
}

sqlite3_stmt *tdbi_prepare_kept(tdb *db, const char *sql, const char *what) {
    return prepare(db, sql, what, true);
}

void tdbi_finalize(tdb *db, sqlite3_stmt *st) {
    for (size_t i = 0; st && i < db->nkept; i++) {
        if (db->kept[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            db->kept[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(st);
}

void tdbi_keep_statements(tdb *db, bool on) {
    if (!on) {
        for (size_t i = 0; i < db->nkept; i++)
            sqlite3_finalize(db->kept[i].st);
        memset(db->kept, 0, sizeof db->kept);
        db->nkept = 0;
    }
    db->keep_statements = on;
}

bool tdbi_begin(tdb *db) {
    if (tdb_file_gone(db)) {
        /* In WAL mode SQLite would commit into the unlinked file's write-ahead log, and the
         * change would vanish with the last connection: refuse instead. */
        tdbi_fail(db,
                  "%s: the database file was deleted or replaced while in use; nothing was "
                  "written (restore the file and restart)",
                  db->name);
        db->fault = TDB_FAULT_GONE;
        return false;
    }
    return tdbi_exec(db, "BEGIN IMMEDIATE");
}

bool tdbsq_file_gone(tdb *db) {
    int moved = 0;
    return db->sql &&
           sqlite3_file_control(db->sql, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
           moved;
}

tdb_fault tdb_last_fault(const tdb *db) {
    return db->fault;
}

const char *tdb_fault_text(tdb_fault f) {
    static const char *const text[] = {
        [TDB_FAULT_NONE] = "",
        [TDB_FAULT_BUSY] = "database busy (locked by another writer)",
        [TDB_FAULT_FULL] = "disk full",
        [TDB_FAULT_GONE] = "database file deleted or replaced",
        [TDB_FAULT_OTHER] = "storage error",
        [TDB_FAULT_UNAVAILABLE] = "database unreachable",
    };
    return (unsigned)f < sizeof text / sizeof text[0] ? text[f] : "storage error";
}

void tdbsq_set_busy_timeout(tdb *db, int ms) {
    db->busy_timeout_ms = ms;
    sqlite3_busy_timeout(db->sql, ms);
}

bool tdbi_commit(tdb *db) {
    if (tdbi_exec(db, "COMMIT"))
        return true;
    tdbi_rollback(db);
    return false;
}

void tdbi_rollback(tdb *db) {
    /* Keeps the message of the failure that led here. */
    if (!sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

void tdbi_set_text(char *dst, size_t cap, const unsigned char *src) {
    const char *text = src ? (const char *)src : "";
    td_text_copy(dst, cap, text, strlen(text));
}

tdb_status tdbi_read_rows(tdb *db, sqlite3_stmt *st, size_t size, tdbi_row_reader read,
                          const char *what, void **out, size_t *count) {
    char *rows = NULL;
    size_t n = 0, cap = 0;
    tdb_status status = TDB_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 16;
            void *p = reallocarray(rows, grown, size);
            if (!p) {
                tdbi_fail(db, "out of memory");
                status = TDB_ERROR;
                break;
            }
            rows = p;
            cap = grown;
        }
        read(st, rows + n++ * size);
    }
    if (status == TDB_OK && rc != SQLITE_DONE)
        status = tdbi_sql_fail(db, what);
    tdbi_finalize(db, st);
    if (status != TDB_OK) {
        free(rows);
        rows = NULL;
        n = 0;
    }
    *out = rows;
    *count = n;
    return status;
}

const char *tdb_errmsg(const tdb *db) {
    return db ? db->err : "";
}

const char *tdb_path(const tdb *db) {
    return db->path;
}

const char *tdb_key_file(const tdb *db) {
    return db->key_file;
}

/* ---- Paths --------------------------------------------------------------------------------- */

const char *tdb_default_path(void) {
    const char *env = getenv(TDB_ENV_PATH);
    return env && *env ? env : TDB_DEFAULT_PATH;
}

bool tdb_default_key_file(const char *db_path, char *out, size_t out_cap) {
    const char *env = getenv(TDB_ENV_KEY_FILE);
    int n;
    if (env && *env) {
        n = snprintf(out, out_cap, "%s", env);
    } else if (tdbi_location_is_pg(db_path)) {
        n = snprintf(out, out_cap, "%s", ""); /* no default: the PG store asks for one */
    } else {
        const char *slash = strrchr(db_path, '/');
        if (slash) {
            n = snprintf(out, out_cap, "%.*s/%s", (int)(slash - db_path), db_path,
                         TDB_KEY_FILE_NAME);
        } else {
            n = snprintf(out, out_cap, "%s", TDB_KEY_FILE_NAME);
        }
    }
    return n >= 0 && (size_t)n < out_cap;
}

/* mkdir -p of the directory part of path (mode 0700: it holds secrets). */
static bool make_parent_dirs(const char *path, char *err, size_t err_cap) {
    char *dir = strdup(path);
    if (!dir) {
        snprintf(err, err_cap, "out of memory");
        return false;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return true;
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                snprintf(err, err_cap, "cannot create directory %s: %s", dir, strerror(errno));
                free(dir);
                return false;
            }
            if (end)
                break;
            *p = '/';
        }
    }
    free(dir);
    return true;
}

/* ---- The key file -------------------------------------------------------------------------- */

/* Reads the key: 64 hex characters, optionally followed by whitespace. Returns 1 when read,
 * 0 when the file does not exist, -1 on error (message in err). */
int tdbi_read_key_file(const char *path, unsigned char key[TDBI_KEY_LEN], char *err,
                       size_t err_cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, err_cap, "cannot read key file %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[128];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_cap, "cannot read key file %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0 || (len += (size_t)n) == sizeof buf)
            break;
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    bool ok = len == 2 * TDBI_KEY_LEN;
    for (size_t i = 0; ok && i < TDBI_KEY_LEN; i++) {
        int hi = td_hex_digit(buf[2 * i]), lo = td_hex_digit(buf[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        key[i] = (unsigned char)(ok ? hi << 4 | lo : 0);
    }
    mbedtls_platform_zeroize(buf, sizeof buf);
    if (!ok) {
        snprintf(err, err_cap, "key file %s is malformed (expected 64 hex characters)", path);
        return -1;
    }
    return 1;
}

static bool write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Creates the key file with a new random key, atomically (temporary file + link), or reads the
 * key another process created at the same moment. */
static bool create_key_file(tdb *db, char *err, size_t err_cap) {
    if (!make_parent_dirs(db->key_file, err, err_cap))
        return false;
    unsigned char key[TDBI_KEY_LEN], tag[4];
    if (!tdbi_random(db, key, sizeof key) || !tdbi_random(db, tag, sizeof tag)) {
        snprintf(err, err_cap, "cannot generate a key: random generator failed");
        return false;
    }
    char text[2 * TDBI_KEY_LEN + 2];
    td_hex(key, sizeof key, text);
    text[2 * TDBI_KEY_LEN] = '\n';
    text[2 * TDBI_KEY_LEN + 1] = '\0';

    size_t tmp_cap = strlen(db->key_file) + 32;
    char *tmp = malloc(tmp_cap);
    if (!tmp) {
        snprintf(err, err_cap, "out of memory");
        return false;
    }
    snprintf(tmp, tmp_cap, "%s.tmp%ld.%02x%02x%02x%02x", db->key_file, (long)getpid(), tag[0],
             tag[1], tag[2], tag[3]);
    bool ok = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_cap, "cannot create key file %s: %s", db->key_file, strerror(errno));
    } else {
        bool written = write_all(fd, text, strlen(text)) && fsync(fd) == 0;
        written = close(fd) == 0 && written;
        if (!written) {
            snprintf(err, err_cap, "cannot write key file %s: %s", db->key_file, strerror(errno));
        } else if (link(tmp, db->key_file) == 0) {
            memcpy(db->key, key, sizeof key);
            ok = true;
        } else if (errno == EEXIST) {
            ok = tdbi_read_key_file(db->key_file, db->key, err, err_cap) == 1;
        } else {
            snprintf(err, err_cap, "cannot create key file %s: %s", db->key_file, strerror(errno));
        }
        unlink(tmp);
    }
    free(tmp);
    mbedtls_platform_zeroize(key, sizeof key);
    mbedtls_platform_zeroize(text, sizeof text);
    return ok;
}

/* ---- Crypto -------------------------------------------------------------------------------- */

bool tdbi_random(tdb *db, unsigned char *buf, size_t len) {
    while (len > 0) {
        size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&db->drbg, buf, n) != 0)
            return false;
        buf += n;
        len -= n;
    }
    return true;
}

bool tdbi_seal(tdb *db, const char *aad, const void *plain, size_t plain_len, unsigned char *out) {
    return tdbi_seal_with(db, &db->gcm, aad, plain, plain_len, out);
}

bool tdbi_seal_with(tdb *db, mbedtls_gcm_context *gcm, const char *aad, const void *plain,
                    size_t plain_len, unsigned char *out) {
    unsigned char *nonce = out, *cipher = out + TDBI_NONCE_LEN;
    unsigned char *tag = cipher + plain_len;
    if (!tdbi_random(db, nonce, TDBI_NONCE_LEN))
        return false;
    return mbedtls_gcm_crypt_and_tag(gcm, MBEDTLS_GCM_ENCRYPT, plain_len, nonce, TDBI_NONCE_LEN,
                                     (const unsigned char *)aad, strlen(aad), plain, cipher,
                                     TDBI_TAG_LEN, tag) == 0;
}

bool tdbi_open_sealed(tdb *db, const char *aad, const unsigned char *sealed, size_t sealed_len,
                      unsigned char *out) {
    if (!db->has_key || !sealed || sealed_len < TDBI_SEALED_OVERHEAD)
        return false;
    size_t len = sealed_len - TDBI_SEALED_OVERHEAD;
    const unsigned char *cipher = sealed + TDBI_NONCE_LEN;
    return mbedtls_gcm_auth_decrypt(&db->gcm, len, sealed, TDBI_NONCE_LEN,
                                    (const unsigned char *)aad, strlen(aad), cipher + len,
                                    TDBI_TAG_LEN, cipher, out) == 0;
}

/* ---- Opening ------------------------------------------------------------------------------- */

/* One integer from a query (PRAGMA x, SELECT count(*) ...). */
static bool query_int(tdb *db, const char *sql, int64_t *out) {
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *out = sqlite3_column_int64(st, 0);
    else
        tdbi_fail(db, "%s", sqlite3_errmsg(db->sql));
    sqlite3_finalize(st);
    return ok;
}

/* The sealed key check value: 1 read into *out (malloc'd), 0 none stored, -1 error. */
static int read_key_check(tdb *db, unsigned char **out, size_t *len) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE key = 'key_check'", -1, &st,
                           NULL) != SQLITE_OK) {
        tdbi_fail(db, "%s", sqlite3_errmsg(db->sql));
        return -1;
    }
    int rc = sqlite3_step(st), result = 0;
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *out = malloc(*len + 1);
        if (*out) {
            memcpy(*out, sqlite3_column_blob(st, 0), *len);
            result = 1;
        } else {
            tdbi_fail(db, "out of memory");
            result = -1;
        }
    } else if (rc != SQLITE_DONE) {
        tdbi_fail(db, "%s", sqlite3_errmsg(db->sql));
        result = -1;
    }
    sqlite3_finalize(st);
    return result;
}

static bool key_check_matches(tdb *db, const unsigned char *sealed, size_t len) {
    unsigned char plain[sizeof KEY_CHECK_PLAIN];
    if (len != sizeof KEY_CHECK_PLAIN - 1 + TDBI_SEALED_OVERHEAD ||
        !tdbi_open_sealed(db, KEY_CHECK_AAD, sealed, len, plain))
        return false;
    return memcmp(plain, KEY_CHECK_PLAIN, sizeof KEY_CHECK_PLAIN - 1) == 0;
}

static bool store_key_check(tdb *db) {
    unsigned char sealed[sizeof KEY_CHECK_PLAIN - 1 + TDBI_SEALED_OVERHEAD];
    if (!tdbi_seal(db, KEY_CHECK_AAD, KEY_CHECK_PLAIN, sizeof KEY_CHECK_PLAIN - 1, sealed)) {
        tdbi_fail(db, "cannot seal the key check value");
        return false;
    }
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db->sql,
                                 "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?)",
                                 -1, &st, NULL) == SQLITE_OK &&
              sqlite3_bind_blob(st, 1, sealed, sizeof sealed, SQLITE_STATIC) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        tdbi_fail(db, "%s", sqlite3_errmsg(db->sql));
    sqlite3_finalize(st);
    return ok;
}

/* tdb_row_key(app_id) in SQL: migration 8 stores each project under it. Direct only: no trigger
 * or view may call it, since another program opening the file would not have it. */
static void row_key_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    const unsigned char *app_id = sqlite3_value_text(argv[0]);
    if (app_id)
        sqlite3_result_int64(ctx, tdbsq_row_key((const char *)app_id));
    else
        sqlite3_result_null(ctx);
}

/* Applies the migrations not yet applied, and stores the key check value when there is none,
 * in one transaction -- or writes nothing at all when the schema is current (a plain re-open
 * takes no write lock). */
static bool migrate(tdb *db, bool has_check) {
    int64_t version = 0;
    if (!query_int(db, "PRAGMA user_version", &version))
        return false;
    if (version >= TDB_SCHEMA_VERSION && has_check)
        return true;
    if (sqlite3_create_function_v2(db->sql, "tdb_row_key", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                   row_key_sql, NULL, NULL, NULL) != SQLITE_OK) {
        tdbi_fail(db, "%s", sqlite3_errmsg(db->sql));
        return false;
    }
    if (!tdbi_begin(db))
        return false;
    /* Re-read under the write lock: another process may have migrated meanwhile. */
    bool ok = query_int(db, "PRAGMA user_version", &version);
    for (; ok && version < TDB_SCHEMA_VERSION; version++) {
        char pragma[96];
        snprintf(pragma, sizeof pragma, "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 TDBI_APPLICATION_ID, (int)version + 1);
        ok = tdbi_exec(db, MIGRATIONS[version]) && tdbi_exec(db, pragma);
    }
    ok = ok && store_key_check(db) && tdbi_commit(db);
    if (!ok)
        tdbi_rollback(db);
    return ok;
}

/* After a first open: the key check now stored must be ours (another process creating the same
 * database at the same moment with another key file may have stored its own first). */
static bool verify_stored_key_check(tdb *db) {
    unsigned char *check = NULL;
    size_t len = 0;
    int found = read_key_check(db, &check, &len);
    bool ok = found == 1 && key_check_matches(db, check, len);
    free(check);
    if (found >= 0 && !ok) {
        tdbi_fail(db, "cannot decrypt certificates: wrong key file? (%s does not match %s)",
                  db->key_file, db->path);
    }
    return ok;
}

/* One attempt at switching to WAL: true when the journal mode is now WAL. */
static bool try_enable_wal(tdb *db) {
    sqlite3_stmt *st = NULL;
    bool ok =
        sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW;
    ok = ok && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    return ok;
}

/* WAL lets readers and one writer (threads and processes) work at once. journal_mode is
 * persistent, so this writes only the first time. The switch needs an exclusive lock for which
 * SQLite does not always run the busy handler (it answers "database is locked" at once where
 * waiting could deadlock), e.g. while another process opens the same new database: so it is
 * retried for up to the busy timeout. */
static bool enable_wal(tdb *db) {
    for (int waited = 0; !try_enable_wal(db); waited += 10) {
        if ((sqlite3_errcode(db->sql) & 0xff) != SQLITE_BUSY || waited >= TDBI_BUSY_TIMEOUT_MS) {
            tdbi_fail(db, "cannot enable WAL mode: %s", sqlite3_errmsg(db->sql));
            return false;
        }
        sqlite3_sleep(10);
    }
    return true;
}

/* Sets up AES-256-GCM with the key just read into db->key. */
static bool use_key(tdb *db) {
    if (mbedtls_gcm_setkey(&db->gcm, MBEDTLS_CIPHER_ID_AES, db->key, 8 * TDBI_KEY_LEN) != 0) {
        tdbi_fail(db, "cannot set up AES-256-GCM");
        return false;
    }
    db->has_key = true;
    return true;
}

/* The checks that must pass before anything is written; see the top of the file. */
static bool check_existing_file(tdb *db, bool *has_schema) {
    int64_t tables = 0, app_id = 0, version = 0;
    if (!query_int(db, "SELECT count(*) FROM sqlite_master", &tables) ||
        !query_int(db, "PRAGMA application_id", &app_id) ||
        !query_int(db, "PRAGMA user_version", &version)) {
        tdbi_fail(db, "%s: not a database, or corrupt (%s)", db->path, sqlite3_errmsg(db->sql));
        return false;
    }
    if ((app_id != 0 && app_id != TDBI_APPLICATION_ID) ||
        (app_id == 0 && (tables > 0 || version > 0))) {
        tdbi_fail(db, "%s: not a tokendoctor database", db->path);
        return false;
    }
    if (version > TDB_SCHEMA_VERSION) {
        tdbi_fail(db, "%s: schema version %lld is newer than this tokendoctor supports (%d)",
                  db->path, (long long)version, TDB_SCHEMA_VERSION);
        return false;
    }
    *has_schema = version > 0;
    return true;
}

/* Loads the key (creating it when neither it nor a key check exists) and verifies it against
 * the database's key check value. */
static bool load_and_check_key(tdb *db, bool has_schema, bool *has_check_out) {
    unsigned char *check = NULL;
    size_t check_len = 0;
    int has_check = has_schema ? read_key_check(db, &check, &check_len) : 0;
    if (has_check < 0)
        return false;
    *has_check_out = has_check == 1;
    char err[sizeof db->err];
    int found = tdbi_read_key_file(db->key_file, db->key, err, sizeof err);
    bool ok = found == 1;
    if (found < 0) {
        tdbi_fail(db, "%s", err);
    } else if (found == 0 && has_check) {
        tdbi_fail(db, "key file %s not found: it is needed to decrypt the certificates in %s",
                  db->key_file, db->path);
    } else if (found == 0) {
        ok = create_key_file(db, err, sizeof err);
        if (!ok)
            tdbi_fail(db, "%s", err);
    }
    if (ok && !use_key(db))
        ok = false;
    if (ok && has_check && !key_check_matches(db, check, check_len)) {
        tdbi_fail(db, "cannot decrypt certificates: wrong key file? (%s does not match %s)",
                  db->key_file, db->path);
        ok = false;
    }
    free(check);
    return ok;
}

/* A file with no write permission is refused even for root, who could write it anyway:
 * whoever made it read-only meant it. */
static bool check_writable(tdb *db, bool *exists) {
    struct stat sb;
    *exists = stat(db->path, &sb) == 0;
    if (!*exists)
        return true;
    if (!S_ISREG(sb.st_mode)) {
        tdbi_fail(db, "%s: not a regular file", db->path);
        return false;
    }
    if ((sb.st_mode & 0222) == 0 || access(db->path, W_OK) != 0) {
        tdbi_fail(db, "%s: database file is read-only", db->path);
        return false;
    }
    return true;
}

static tdb *tdb_alloc(const char *path, const char *key_file) {
    tdb *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    mbedtls_gcm_init(&db->gcm);
    mbedtls_entropy_init(&db->entropy);
    mbedtls_ctr_drbg_init(&db->drbg);
    char default_key[4096];
    if (!key_file)
        key_file = tdb_default_key_file(path, default_key, sizeof default_key) ? default_key : NULL;
    db->path = strdup(path);
    db->key_file = key_file ? strdup(key_file) : NULL;
    db->name = db->path ? tdbi_base_name(db->path) : "";
    db->key_name = db->key_file ? tdbi_base_name(db->key_file) : "";
    db->busy_timeout_ms = TDBI_BUSY_TIMEOUT_MS;
    /* tdb_location_check passed: a postgres(ql):// URL or a SQLite path. */
    db->ops = tdbi_location_is_pg(path) ? &tdbpg_ops : &tdbsq_ops;
    static const char personal[] = "tokendoctor-db";
    if (!db->path || !db->key_file ||
        mbedtls_ctr_drbg_seed(&db->drbg, mbedtls_entropy_func, &db->entropy,
                              (const unsigned char *)personal, sizeof personal - 1) != 0) {
        tdb_close(db);
        return NULL;
    }
    return db;
}

/* Everything after allocation; false with the message in db->err. create: a missing database
 * (and its directories and key file) may be created; otherwise *missing tells a refusal for
 * that reason apart from the other failures. */
static bool open_checked(tdb *db, bool create, bool *missing) {
    bool exists = false, has_schema = false;
    char err[sizeof db->err];
    if (!check_writable(db, &exists))
        return false;
    if (!exists && !create) {
        tdbi_fail(db, "no such database: %s", db->path);
        *missing = true;
        return false;
    }
    if (!exists && !make_parent_dirs(db->path, err, sizeof err)) {
        tdbi_fail(db, "%s", err);
        return false;
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(db->path, &db->sql, flags, NULL) != SQLITE_OK) {
        tdbi_fail(db, "cannot open %s: %s", db->path,
                  db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
        return false;
    }
    sqlite3_extended_result_codes(db->sql, 1);
    sqlite3_busy_timeout(db->sql, db->busy_timeout_ms);
    if (sqlite3_db_readonly(db->sql, "main") == 1) {
        tdbi_fail(db, "%s: database file is read-only", db->path);
        return false;
    }
    bool has_check = false;
    if (!check_existing_file(db, &has_schema))
        return false;
    if (!has_schema && !create) {
        /* An empty file (what a mistyped path given to sqlite3 leaves behind): nothing to read,
         * and no key file should be made for it. */
        tdbi_fail(db, "no such database: %s (the file holds no tokendoctor data)", db->path);
        *missing = true;
        return false;
    }
    if (!load_and_check_key(db, has_schema, &has_check))
        return false;
    if (!tdbi_exec(db, "PRAGMA foreign_keys = ON") || !enable_wal(db) ||
        !tdbi_exec(db, "PRAGMA synchronous = NORMAL") || !migrate(db, has_check))
        return false;
    return has_check || verify_stored_key_check(db);
}

/* The steps every way of opening shares: the default path, the allocation, the checks of the
 * mode, and one message in err on failure. */
static tdb *open_db(const char *path, const char *key_file, tdbi_open_mode mode, tdb_key_use key,
                    bool *missing, char *err, size_t err_cap) {
    bool missing_ignored = false;
    if (!missing)
        missing = &missing_ignored;
    *missing = false;
    if (!path || !*path)
        path = tdb_default_path();
    if (!tdb_location_check(path, err, err_cap))
        return NULL;
    tdb *db = tdb_alloc(path, key_file);
    if (!db) {
        snprintf(err, err_cap, "cannot open %s: out of memory or no entropy source", path);
        return NULL;
    }
    if (!db->ops->open(db, mode, key, missing)) {
        snprintf(err, err_cap, "%s", db->err);
        tdb_close(db);
        return NULL;
    }
    db->err[0] = '\0';
    return db;
}

tdb *tdb_open(const char *path, const char *key_file, char *err, size_t err_cap) {
    return open_db(path, key_file, TDBI_OPEN_CREATE, TDB_KEY_REQUIRED, NULL, err, err_cap);
}

tdb *tdb_open_existing(const char *path, const char *key_file, bool *missing, char *err,
                       size_t err_cap) {
    return open_db(path, key_file, TDBI_OPEN_EXISTING, TDB_KEY_REQUIRED, missing, err, err_cap);
}

/* ---- Reading only -------------------------------------------------------------------------- */

/* "file:" URI of path with immutable=1 (SQLite then takes no lock and reads no write-ahead log):
 * every byte but the unreserved ones and '/' percent-encoded, so that '?', '#' and '%' in a
 * path stay part of it. An absolute path gets an empty authority ("file:///..."). NULL when out
 * of memory. */
static char *immutable_uri(const char *path) {
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path);
    char *uri = malloc(3 * len + 32);
    if (!uri)
        return NULL;
    char *o = uri + sprintf(uri, "file:%s", path[0] == '/' ? "//" : "");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/._-~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    strcpy(o, "?immutable=1");
    return uri;
}

/* A reading connection maps the database file into memory, up to this many bytes (SQLite's
 * PRAGMA mmap_size), instead of copying each page it reads out of the kernel with pread: with
 * reads spread over a million projects nearly every page a read needs is outside SQLite's 2 MiB
 * page cache, and the system calls were a third of a read (docs/performance.md, "Many
 * projects"). What this costs: the pages touched count in the process's RSS, file-backed and
 * shared with the kernel's page cache (clean: dropped under memory pressure, never swapped),
 * up to this bound per connection -- a `diagnose --batch` holds one connection per thread. The
 * service's connections (tdb_open) do not map. The hazard SQLite documents: a file truncated
 * in place by something other than SQLite faults the reader (SIGBUS) instead of failing a read;
 * tokendoctor never truncates the database file. The bound is SQLITE_MAX_MMAP_SIZE's default
 * (2 GiB less 64 KiB: the most SQLite maps unless built otherwise), so that the tables of a
 * million projects are mapped wherever they lie in the file (a migration rebuilds them at its
 * end). */
#define READ_MMAP_BYTES 2147418112

/* How a reading connection opens the file (see connect_and_check). */
typedef enum {
    READ_QUERY_ONLY, /* read-write, PRAGMA query_only: the file is ours to write */
    READ_ONLY,       /* SQLITE_OPEN_READONLY */
    READ_IMMUTABLE,  /* read-only, immutable=1: no lock, no -shm, no -wal */
} read_mode;

static bool connect_readonly(tdb *db, read_mode mode) {
    char *uri = mode == READ_IMMUTABLE ? immutable_uri(db->path) : NULL;
    if (mode == READ_IMMUTABLE && !uri) {
        tdbi_fail(db, "cannot open %s: out of memory", db->path);
        return false;
    }
    int flags = (mode == READ_QUERY_ONLY ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
                (uri ? SQLITE_OPEN_URI : 0) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(uri ? uri : db->path, &db->sql, flags, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        tdbi_fail(db, "cannot open %s: %s", db->path,
                  db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
        return false;
    }
    sqlite3_extended_result_codes(db->sql, 1);
    sqlite3_busy_timeout(db->sql, db->busy_timeout_ms);
    if (!tdbi_exec(db, "PRAGMA mmap_size = " TDBI_STR(READ_MMAP_BYTES)))
        return false;
    return mode != READ_QUERY_ONLY || tdbi_exec(db, "PRAGMA query_only = ON");
}

/* Size of PATH<suffix>: -1 when it does not exist (or cannot be looked at). */
static off_t sibling_size(const char *path, const char *suffix) {
    size_t cap = strlen(path) + strlen(suffix) + 1;
    char *name = malloc(cap);
    struct stat sb;
    off_t size = -1;
    if (name) {
        snprintf(name, cap, "%s%s", path, suffix);
        size = stat(name, &sb) == 0 ? sb.st_size : -1;
        free(name);
    }
    return size;
}

/* Connects and runs the file checks. A reader of a WAL database needs its shared-memory index
 * (PATH-shm). While a writer has the database open, it is there. When it is not, a reader
 * creates it (and an empty PATH-wal) with the database file's permissions, and a read-only
 * connection cannot remove them when it closes. So:
 *  - a file this user may write is opened read-write with PRAGMA query_only (nothing can be
 *    written through it, and its close removes -shm and -wal as any last connection does);
 *  - a file this user may not write, with PATH-shm there (a writer is at work), read-only;
 *  - a file this user may not write, without PATH-shm, as immutable (no lock, no -shm): making
 *    -shm there would leave it behind, read-only like the file, and then stop its owner's next
 *    write. No writer is active then, so the file itself holds every change -- unless a crash
 *    left a write-ahead log with data, which is refused. The same when the directory cannot be
 *    written (SQLite: "attempt to write a readonly database" for want of -shm). */
/* Whether this user may write the file -- and means to: a file without any write permission is
 * read-only even for root (as check_writable has it). */
static bool file_writable(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && (sb.st_mode & 0222) != 0 && access(path, W_OK) == 0;
}

static bool connect_and_check(tdb *db, bool *has_schema) {
    bool writable = file_writable(db->path);
    bool shm = sibling_size(db->path, "-shm") >= 0;
    if (writable || shm) {
        if (!connect_readonly(db, writable ? READ_QUERY_ONLY : READ_ONLY))
            return false;
        if (check_existing_file(db, has_schema))
            return true;
        int code = sqlite3_extended_errcode(db->sql);
        if (code != SQLITE_READONLY_DIRECTORY && (code & 0xff) != SQLITE_CANTOPEN)
            return false;
        sqlite3_close_v2(db->sql);
        db->sql = NULL;
    }
    if (sibling_size(db->path, "-wal") > 0) {
        tdbi_fail(db,
                  "%s: cannot be read by this user: its write-ahead log (%s-wal) holds changes "
                  "that only a user who may write the database can apply (run tokendoctor on it "
                  "once as its owner)",
                  db->path, db->path);
        return false;
    }
    return connect_readonly(db, READ_IMMUTABLE) && check_existing_file(db, has_schema);
}

/* The key of a read-only connection; see tdb_open_readonly. */
static bool load_key_readonly(tdb *db, tdb_key_use use) {
    if (use == TDB_KEY_OPTIONAL && access(db->key_file, R_OK) != 0)
        return true; /* missing or not ours to read: fingerprints only */
    char err[sizeof db->err];
    int found = tdbi_read_key_file(db->key_file, db->key, err, sizeof err);
    if (found < 0) {
        tdbi_fail(db, "%s", err);
        return false;
    }
    if (found == 0) {
        tdbi_fail(db, "key file %s not found: it is needed to decrypt the certificates in %s",
                  db->key_file, db->path);
        return false;
    }
    unsigned char *check = NULL;
    size_t check_len = 0;
    int has_check = read_key_check(db, &check, &check_len);
    bool ok = has_check >= 0 && use_key(db);
    if (ok && has_check == 1 && !key_check_matches(db, check, check_len)) {
        tdbi_fail(db, "cannot decrypt certificates: wrong key file? (%s does not match %s)",
                  db->key_file, db->path);
        ok = false;
    }
    free(check);
    return ok;
}

static bool open_readonly_checked(tdb *db, tdb_key_use use, bool *missing) {
    struct stat sb;
    if (stat(db->path, &sb) != 0) {
        *missing = errno == ENOENT;
        if (*missing)
            tdbi_fail(db, "no such database: %s", db->path);
        else
            tdbi_fail(db, "cannot open %s: %s", db->path, strerror(errno));
        return false;
    }
    if (!S_ISREG(sb.st_mode)) {
        tdbi_fail(db, "%s: not a regular file", db->path);
        return false;
    }
    bool has_schema = false;
    if (!connect_and_check(db, &has_schema))
        return false;
    if (!has_schema) {
        tdbi_fail(db, "no such database: %s (the file holds no tokendoctor data)", db->path);
        *missing = true;
        return false;
    }
    int64_t version = 0;
    if (!query_int(db, "PRAGMA user_version", &version))
        return false;
    if (version < TDB_SCHEMA_VERSION) {
        /* The reads expect the current schema. Whoever may write the file migrates it, as any
         * writing command would (this needs the key file); anyone else must wait for its owner
         * or the service to have done so. */
        if (!file_writable(db->path)) {
            tdbi_fail(db,
                      "%s: schema version %lld is older than this tokendoctor's (%d), and only a "
                      "user who may write it can upgrade it (run tokendoctor on it once as its "
                      "owner, or restart the service)",
                      db->path, (long long)version, TDB_SCHEMA_VERSION);
            return false;
        }
        sqlite3_close_v2(db->sql);
        db->sql = NULL;
        return open_checked(db, false, missing) && tdbi_exec(db, "PRAGMA query_only = ON");
    }
    return load_key_readonly(db, use);
}

bool tdbsq_open(tdb *db, tdbi_open_mode mode, tdb_key_use key, bool *missing) {
    return mode == TDBI_OPEN_READONLY ? open_readonly_checked(db, key, missing)
                                      : open_checked(db, mode == TDBI_OPEN_CREATE, missing);
}

tdb *tdb_open_readonly(const char *path, const char *key_file, tdb_key_use key, bool *missing,
                       char *err, size_t err_cap) {
    return open_db(path, key_file, TDBI_OPEN_READONLY, key, missing, err, err_cap);
}

bool tdb_has_key(const tdb *db) {
    return db->has_key;
}

void tdb_close(tdb *db) {
    if (!db)
        return;
    db->ops->close(db);
    mbedtls_gcm_free(&db->gcm);
    mbedtls_ctr_drbg_free(&db->drbg);
    mbedtls_entropy_free(&db->entropy);
    mbedtls_platform_zeroize(db->key, sizeof db->key);
    free(db->path);
    free(db->key_file);
    free(db);
}

void tdbsq_close(tdb *db) {
    tdbi_keep_statements(db, false);
    sqlite3_finalize(db->log_insert_st);
    sqlite3_finalize(db->data_version_st);
    sqlite3_finalize(db->config_version_st);
    sqlite3_close_v2(db->sql);
    db->sql = NULL;
}

/* ---- Health -------------------------------------------------------------------------------- */

/* One integer from a statement kept in *st (prepared on first use). The statement is reset at
 * once, so that no read transaction stays open between calls. */
static bool kept_int(tdb *db, sqlite3_stmt **st, const char *sql, int64_t *out) {
    if (!*st &&
        sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        tdbi_fail(db, "%s: %s", db->name, sqlite3_errmsg(db->sql));
        return false;
    }
    bool ok = sqlite3_step(*st) == SQLITE_ROW;
    if (ok)
        *out = sqlite3_column_int64(*st, 0);
    else
        tdbi_fail(db, "%s: %s", db->name, sqlite3_errmsg(db->sql));
    sqlite3_reset(*st);
    return ok;
}

uint64_t tdbsq_data_version(tdb *db) {
    int64_t v = 0;
    return kept_int(db, &db->data_version_st, "PRAGMA data_version", &v) ? (uint64_t)v : 0;
}

uint64_t tdbsq_config_version(tdb *db) {
    /* PRAGMA data_version moves when another connection committed; this connection's own
     * commits move its total change count instead (triggers included). While neither moved,
     * the counter cannot have changed. Read order matters: data_version first, then the
     * counter, so the counter is never older than the data_version it is memoized with. */
    int64_t data_version = 0, version = 0;
    if (!kept_int(db, &db->data_version_st, "PRAGMA data_version", &data_version)) {
        db->config_known = false;
        return 0;
    }
    int64_t own = sqlite3_total_changes64(db->sql);
    if (db->config_known && data_version == db->config_data_version &&
        own == db->config_own_changes)
        return db->config_version;
    if (!kept_int(db, &db->config_version_st, "SELECT version FROM config_version WHERE id = 1",
                  &version) ||
        version <= 0) {
        db->config_known = false;
        return 0;
    }
    db->config_known = true;
    db->config_data_version = data_version;
    db->config_own_changes = own;
    db->config_version = (uint64_t)version;
    return db->config_version;
}

bool tdbsq_ready(tdb *db, char *reason, size_t reason_cap) {
    int64_t version = 0;
    if (!query_int(db, "PRAGMA user_version", &version)) {
        snprintf(reason, reason_cap, "database does not answer: %s", db->err);
        return false;
    }
    if (version != TDB_SCHEMA_VERSION) {
        snprintf(reason, reason_cap, "database schema version %lld, expected %d",
                 (long long)version, TDB_SCHEMA_VERSION);
        return false;
    }
    if (tdb_file_gone(db)) {
        snprintf(reason, reason_cap,
                 "the database file was deleted or replaced while in use: writes are refused "
                 "(restore the file and restart)");
        return false;
    }
    if (reason_cap > 0)
        reason[0] = '\0';
    return true;
}

/* ---- What the PostgreSQL store shares (db_internal.h) --------------------------------------- */

_Static_assert(sizeof KEY_CHECK_PLAIN - 1 + TDBI_SEALED_OVERHEAD == TDBI_KEY_CHECK_SEALED_LEN,
               "the key check's sealed length");

bool tdbi_key_check_seal(tdb *db, unsigned char out[TDBI_KEY_CHECK_SEALED_LEN]) {
    return tdbi_seal(db, KEY_CHECK_AAD, KEY_CHECK_PLAIN, sizeof KEY_CHECK_PLAIN - 1, out);
}

bool tdbi_key_check_matches(tdb *db, const unsigned char *sealed, size_t len) {
    return key_check_matches(db, sealed, len);
}

bool tdbi_create_key_file(tdb *db, char *err, size_t err_cap) {
    return create_key_file(db, err, err_cap);
}

bool tdbi_use_key(tdb *db) {
    return use_key(db);
}

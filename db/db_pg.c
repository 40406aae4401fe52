/* db_pg.c -- the PostgreSQL store: its table of operations, the connection, opening and
 * migrating, and the version watcher that keeps caches of every node correct.
 *
 * Design
 * ------
 * A fleet of stateless services shares one PostgreSQL database (issue 18); SQLite stays the
 * embedded default. A --db (or $TOKENDOCTOR_DB) that is a postgres:// or postgresql:// URL
 * (db_url.c) gets this table (tdbpg_ops). The URL is handed to libpq unchanged (as the dbname
 * of PQconnectdbParams, expanded), so libpq's environment (PGHOST, PGUSER, PGPASSWORD,
 * PGSERVICE, ...), service and password files work. Before it come only defaults the URL
 * overrides: connect_timeout 5 s (unless $PGCONNECT_TIMEOUT is set), application_name,
 * client_encoding UTF8, and TCP keepalives with tcp_user_timeout 10 s (a vanished peer is
 * found in seconds). The URL may hold a password: it is never printed; messages name the
 * store as 'database "D" on HOST' (PQdb, PQhost).
 *
 * The schema is SQLite's (db_open.c, schema 4) in PostgreSQL's types: bytea for sealed
 * certificates, hashes and the key check; bigint Unix times; booleans for flags; bigserial ids;
 * one project per App ID whatever its case by a unique index on lower(app_id). Its version is
 * kept in the table tokendoctor_schema (its own count: version 1 is SQLite's schema 4; 2 adds
 * the diagnosis log batches' marks, db_pg_log.c). The
 * tables are made in the connection's current schema (public by default): a database shared
 * with other applications can give tokendoctor its own with the URL's
 * options=-csearch_path=NAME.
 * Migrations are append-only SQL steps, run at open (and so by any command that opens the store
 * for writing) in one transaction that first takes pg_advisory_xact_lock(TDBPG_LOCK_MIGRATE) and
 * re-reads the version: nodes starting at once apply each step once. A current schema is only
 * read (no lock, no write).
 *
 * Encryption at rest is the SQLite store's: the same key file format, the same sealing
 * (tdbi_seal with the App ID as additional data), the same key check value in meta. The key
 * file stays on each node and never enters the database. A URL has no "next to the database"
 * directory, so there is no default key file: --key-file or $TOKENDOCTOR_KEY_FILE is required,
 * with an error that says so (tdb_default_key_file gives "" for a URL). A key file is created
 * only when the database holds no key check yet (a new database, opened to create); a node
 * whose key file does not match the stored check is refused ("wrong key file?"), and after a
 * first migration the stored check is re-read, so that two nodes creating the store at once with
 * different key files cannot both go on.
 *
 * Cache correctness across nodes. Every configuration change (project put/delete, API key
 * create/revoke) runs, in its transaction, UPDATE config_version ... RETURNING and
 * pg_notify('tokendoctor_config', version), under the configuration writers' advisory lock.
 * tdb_config_version is called by the service on every event-loop iteration, so it must not
 * reach the network: each connection has a watcher thread with its own PGconn that LISTENs on
 * the channel and reads the version row whenever notified and at least every 250 ms (the
 * fallback when a notification is lost, e.g. across a reconnection), publishing it in an atomic
 * the callers read. The connection's own commits publish the version their RETURNING gave at
 * once. The published value only grows (max): a watcher's read that raced an own commit never
 * moves it back. The watcher starts at the first tdb_config_version / tdb_data_version /
 * tdb_ready call, so one-shot CLI commands never start one. While the database is unreachable
 * the last version stays published (caches keep serving what they hold), the watcher reconnects
 * with backoff (100 ms doubling to 1 s) and tdb_ready is false. data_version has no PostgreSQL
 * counterpart: it moves whenever the published configuration version does.
 *
 * Failures: a statement that fails records "<where>: <what>: <server message>" and a fault
 * from its SQLSTATE (lock or statement timeout, deadlock, serialization: busy; disk full:
 * full; the rest: storage error), or TDB_FAULT_UNAVAILABLE when the server cannot be reached:
 * no connection, a session lost (class 08, 57P01..57P03), or lost inside a transaction. A
 * connection found broken is reset (PQreset) at its next use, which fails the same way when
 * the server is still away: the service answers 503 store_unavailable (with Retry-After) on
 * every route, and the diagnosis log keeps its queue until the server is back (db_log.c). A
 * statement outside a transaction that finds its connection closed by the server is run once more
 * on a new session (a restarted server costs no request an error); inside a transaction nothing is
 * retried, and a connection lost there fails every statement until the rollback, so that the rest
 * of a transaction never runs on a new session by itself. statement_timeout (15 s; 2 s on a
 * connection whose busy timeout is below 1 s, the service's request threads) and lock_timeout (the
 * busy timeout: tdb_set_busy_timeout) are set on every (re)connection.
 *
 * Nothing waits on the network without a bound: a statement's answer is awaited at most its
 * statement timeout plus TDBPG_ANSWER_MARGIN_MS on the client's side too (exec_bounded: a
 * server that went silent without closing the connection never sends the cancellation), so at
 * most 3 s on a connection with the request threads' busy timeout, once; after that the
 * connection counts as lost, and while the watcher cannot reach the server such a connection
 * does not try to connect (which could wait connect_timeout) but fails at once with
 * TDB_FAULT_UNAVAILABLE. The service's event loops make no call at all: each worker's store
 * thread does, with these bounds (server/srv_store.c).
 *
 * Connections: each tdb is one PGconn, plus one for its watcher once started. The service opens
 * two per worker: the worker's own, which then only gives the configuration version (its
 * watcher's) and so gives its connection back (tdb_release_connection), and its store
 * thread's; with its main one and the log writer's, 3 x threads + 2 connections per node
 * (docs/deployment.md), to be counted against the server's max_connections.
 *
 * Not here: tdb_backup (pg_dump is the tool: a clear refusal says so); tdb_file_gone is always
 * false (there is no file). Import and export: db_pg_bulk.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_pg.h"

const tdbi_store_ops tdbpg_ops = {
    .name = "postgresql",
    .open = tdbpg_open,
    .close = tdbpg_close,
    .set_busy_timeout = tdbpg_set_busy_timeout,
    .release = tdbpg_release,
    .file_gone = tdbpg_file_gone,
    .data_version = tdbpg_data_version,
    .config_version = tdbpg_config_version,
    .ready = tdbpg_ready,
    .project_get = tdbpg_project_get,
    .project_show = tdbpg_project_show,
    .project_history = tdbi_project_history,
    .project_put = tdbi_project_put,
    .project_delete = tdbi_project_delete,
    .project_page = tdbi_project_page,
    .apikey_create = tdbi_apikey_create,
    .apikey_insert = tdbpg_apikey_insert,
    .apikey_verify = tdbpg_apikey_verify,
    .apikey_list = tdbpg_apikey_list,
    .apikey_revoke = tdbi_apikey_revoke,
    .apikey_revoke_rows = tdbpg_apikey_revoke_rows,
    .import = tdbpg_import,
    .export = tdbpg_export,
    .backup = tdbpg_backup,
    .diagnoses_recent = tdbpg_diagnoses_recent,
    .log_attach = tdbpg_log_attach,
    .log_write = tdbpg_log_write,
    .log_prune = tdbpg_log_prune,
    .log_span = tdbpg_log_span,
    .log_delete_below = tdbpg_log_delete_below,
    .log_used_bytes = tdbpg_log_used_bytes,
    .write_begin = tdbpg_write_begin,
    .write_commit = tdbpg_write_commit,
    .write_rollback = tdbpg_rollback,
    .stored_app_id = tdbpg_stored_app_id,
    .load_row = tdbpg_load_row,
    .load_retired = tdbpg_load_retired,
    .upsert_row = tdbpg_upsert_row,
    .delete_row = tdbpg_delete_row,
    .insert_retired = tdbpg_insert_retired,
    .unretire = tdbpg_unretire,
    .prune_retired = tdbpg_prune_retired,
    .insert_log = tdbpg_insert_log,
    .stored_row = tdbpg_stored_row,
    .stored_retired = tdbpg_stored_retired,
    .latest_after = tdbpg_latest_after,
    .project_ids = tdbpg_project_ids,
    .history_rows = tdbpg_history_rows,
};

/* Schema version N is MIGRATIONS[N - 1]. Append only: never edit a released step. */
static const char *const MIGRATIONS[] = {
    /* 1: SQLite's schema 4, translated. The configuration version is moved by the writers
     * themselves (tdbpg_bump), not by triggers: the same transaction, and they notify. */
    "CREATE TABLE meta (key text PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE projects ("
    "  app_id text PRIMARY KEY,"
    "  name text NOT NULL DEFAULT '',"
    "  primary_cert bytea, primary_enabled boolean NOT NULL DEFAULT false,"
    "  secondary_cert bytea, secondary_enabled boolean NOT NULL DEFAULT false,"
    "  no_certificate boolean NOT NULL DEFAULT false,"
    "  cohost_auth boolean NOT NULL DEFAULT false,"
    "  created_at bigint NOT NULL, updated_at bigint NOT NULL);"
    "CREATE UNIQUE INDEX projects_app_id_nocase ON projects (lower(app_id));"
    "CREATE TABLE retired_certificates ("
    "  id bigserial PRIMARY KEY,"
    "  app_id text NOT NULL REFERENCES projects(app_id) ON DELETE CASCADE,"
    "  cert bytea NOT NULL, fingerprint text NOT NULL,"
    "  source text NOT NULL CHECK (source IN ('replaced', 'removed', 'configured')),"
    "  retired_at bigint NOT NULL);"
    "CREATE INDEX retired_by_app ON retired_certificates (app_id, id);"
    "CREATE TABLE config_log ("
    "  id bigserial PRIMARY KEY, app_id text NOT NULL, at bigint NOT NULL,"
    "  actor text NOT NULL, action text NOT NULL,"
    "  before text, after text, changes text NOT NULL, retired text NOT NULL);"
    "CREATE INDEX config_log_by_app ON config_log (lower(app_id), id);"
    "CREATE FUNCTION config_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    "  $$BEGIN RAISE EXCEPTION 'config_log is append-only'; END$$;"
    "CREATE TRIGGER config_log_append_only BEFORE UPDATE OR DELETE ON config_log"
    "  FOR EACH ROW EXECUTE FUNCTION config_log_append_only();"
    "CREATE TABLE api_keys ("
    "  id bigserial PRIMARY KEY, name text NOT NULL,"
    "  role text NOT NULL CHECK (role IN ('admin', 'reader')),"
    "  hash bytea NOT NULL UNIQUE, created_at bigint NOT NULL, revoked_at bigint,"
    "  last_used_at bigint);"
    "CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;"
    "CREATE TABLE diagnoses ("
    "  id bigserial PRIMARY KEY, at bigint NOT NULL, app_id text NOT NULL,"
    "  verdict text NOT NULL, cause text NOT NULL, code integer,"
    "  platform text NOT NULL, token_fingerprint text, channel text, uid text);"
    "CREATE INDEX diagnoses_by_app ON diagnoses (app_id, at);"
    "CREATE INDEX diagnoses_by_at ON diagnoses (at);"
    "CREATE TABLE config_version ("
    "  id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);"
    "INSERT INTO config_version (id, version) VALUES (1, 1);",

    /* 2: a diagnosis-log batch's mark on its first row (the log's id, the batch's number:
     * tdbi_batch_mark), unique, so that a batch sent again after its COMMIT went unanswered is
     * not written twice (db_pg_log.c). Every other row leaves them NULL: the partial index holds
     * one entry a batch. */
    "ALTER TABLE diagnoses ADD COLUMN mark_writer bigint, ADD COLUMN mark_batch bigint;"
    "CREATE UNIQUE INDEX diagnoses_batch_mark ON diagnoses (mark_writer, mark_batch)"
    "  WHERE mark_writer IS NOT NULL;",
};
#define MIGRATION_COUNT ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))
_Static_assert(MIGRATION_COUNT == TDBPG_SCHEMA_VERSION, "one migration per schema version");

const char *tdbpg_migration(int version) {
    return version >= 1 && version <= MIGRATION_COUNT ? MIGRATIONS[version - 1] : NULL;
}

/* ---- Parameters and results ---------------------------------------------------------------- */

static int next_param(tdbpg_params *p) {
    if (p->n >= TDBPG_PARAMS_MAX) {
        p->overflow = true;
        return -1;
    }
    return p->n++;
}

void tdbpg_p_text(tdbpg_params *p, const char *text) {
    int i = next_param(p);
    if (i >= 0) {
        p->val[i] = text;
        p->len[i] = 0;
        p->fmt[i] = 0;
    }
}

void tdbpg_p_i64(tdbpg_params *p, int64_t v) {
    int i = next_param(p);
    if (i >= 0) {
        snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
        p->val[i] = p->num[i];
        p->len[i] = 0;
        p->fmt[i] = 0;
    }
}

void tdbpg_p_blob(tdbpg_params *p, const void *data, size_t len) {
    int i = next_param(p);
    if (i >= 0) {
        p->val[i] = data;
        p->len[i] = (int)len;
        p->fmt[i] = 1;
    }
}

int64_t tdbpg_i64(const PGresult *r, int row, int col) {
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    if (PQfformat(r, col) == 0)
        return strtoll((const char *)v, NULL, 10);
    uint64_t u = 0;
    for (int i = 0; i < len && i < 8; i++)
        u = u << 8 | v[i];
    /* Sign-extend the narrower integers. */
    if (len == 4)
        return (int32_t)(uint32_t)u;
    if (len == 2)
        return (int16_t)(uint16_t)u;
    return (int64_t)u;
}

const char *tdbpg_text(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

bool tdbpg_null(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) != 0;
}

tdb_status tdbpg_read_rows(tdb *db, PGresult *r, size_t size, tdbpg_row_reader read, void **out,
                           size_t *count) {
    *out = NULL;
    *count = 0;
    if (!r)
        return TDB_ERROR;
    size_t n = (size_t)PQntuples(r);
    unsigned char *rows = n ? calloc(n, size) : NULL;
    tdb_status status = TDB_OK;
    if (n && !rows) {
        tdbi_fail(db, "out of memory");
        status = TDB_ERROR;
    }
    for (size_t i = 0; i < n && status == TDB_OK; i++)
        read(r, (int)i, rows + i * size);
    PQclear(r);
    if (status == TDB_OK) {
        *out = rows;
        *count = n;
    }
    return status;
}

/* ---- Failures ----------------------------------------------------------------------------- */

/* The fault a SQLSTATE means. */
static tdb_fault fault_of(const char *state) {
    static const char *const busy[] = {"55P03", "40P01", "40001", "57014"};
    if (!state)
        return TDB_FAULT_OTHER;
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
        if (strcmp(state, busy[i]) == 0)
            return TDB_FAULT_BUSY;
    return strcmp(state, "53100") == 0 ? TDB_FAULT_FULL : TDB_FAULT_OTHER;
}

/* A libpq message without its trailing newline, bounded. */
static void one_line(char *dst, size_t cap, const char *msg) {
    snprintf(dst, cap, "%s", msg && *msg ? msg : "no answer");
    size_t n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
    for (char *c = dst; *c; c++)
        if (*c == '\n')
            *c = ' ';
}

/* Whether a failure means the session is gone: the connection broke, or the server ended it
 * (class 08: connection exception; 57P01..57P03: shutdown, crash, cannot connect now) -- libpq
 * may still say CONNECTION_OK until it reads the end of the stream. */
static bool session_lost(tdbpg_state *s, const PGresult *r) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return PQstatus(s->conn) == CONNECTION_BAD ||
           (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                      strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0));
}

void tdbpg_fail_result(tdb *db, const char *what, const PGresult *r) {
    char msg[256];
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    one_line(msg, sizeof msg, primary ? primary : PQerrorMessage(db->pg->conn));
    tdbi_fail(db, "%s: %s: %s", db->pg->where, what, msg);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->pg->sqlstate, sizeof db->pg->sqlstate, "%s", state ? state : "");
    db->fault = fault_of(state);
    if (!db->pg->conn || session_lost(db->pg, r)) {
        db->pg->lost = db->pg->conn != NULL;
        db->fault = TDB_FAULT_UNAVAILABLE;
    }
}

/* ---- Connecting ---------------------------------------------------------------------------- */

/* libpq prints the server's notices (and the FATAL message of a connection the server ends)
 * on stderr by default: the service's stderr is its log, and failures are reported through
 * tdb_errmsg and the connection's state instead. */
static void ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static PGconn *connect_url(const char *url) {
    const char *keys[10], *vals[10];
    int n = 0;
    /* Over TCP, a peer that vanished without closing (a partition, a host that died) is found
     * within ~10 s instead of the kernel's minutes (ignored on a Unix socket). */
    static const char *const tcp[][2] = {{"keepalives_idle", "5"},
                                         {"keepalives_interval", "2"},
                                         {"keepalives_count", "2"},
                                         {"tcp_user_timeout", "10000"}};
    for (size_t i = 0; i < sizeof tcp / sizeof tcp[0]; i++) {
        keys[n] = tcp[i][0];
        vals[n++] = tcp[i][1];
    }
    const char *env = getenv("PGCONNECT_TIMEOUT");
    if (!env || !*env) {
        keys[n] = "connect_timeout";
        vals[n++] = TDBPG_CONNECT_TIMEOUT_S;
    }
    keys[n] = "application_name";
    vals[n++] = "tokendoctor";
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    /* Last: the URL's own settings override the defaults above. */
    keys[n] = "dbname";
    vals[n++] = url;
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, ignore_notice, NULL);
    return c;
}

/* A database or host name as messages may show it: never one that looks like a connection
 * string (which could carry a password). */
static const char *shown(const char *v, const char *none) {
    if (!v || !*v)
        return none;
    return strchr(v, '=') || strstr(v, "://") || strchr(v, '@') ? "?" : v;
}

/* 'database "D" on HOST': from the connection when there is one (also a failed one: libpq keeps
 * its options), else from the URL as libpq parses it (no network). */
static void describe(tdbpg_state *s) {
    const char *name = NULL, *host = NULL;
    PQconninfoOption *opts = NULL;
    if (s->conn) {
        name = PQdb(s->conn);
        host = PQhost(s->conn);
    } else if ((opts = PQconninfoParse(s->url, NULL)) != NULL) {
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (strcmp(o->keyword, "dbname") == 0)
                name = o->val;
            else if (strcmp(o->keyword, "host") == 0)
                host = o->val;
    }
    snprintf(s->where, sizeof s->where, "database \"%.64s\" on %.96s", shown(name, "(default)"),
             shown(host, "the default host"));
    PQconninfoFree(opts);
}

/* A connection whose busy timeout is below 1 s is a request thread's (an event loop's): it
 * must never wait long. */
static bool on_request_thread(const tdbpg_state *s) {
    return s->lock_timeout_ms < 1000;
}

static int statement_timeout_ms(const tdbpg_state *s) {
    return on_request_thread(s) ? TDBPG_REQUEST_STATEMENT_TIMEOUT_MS : TDBPG_STATEMENT_TIMEOUT_MS;
}

/* The session's settings, after every (re)connection. */
static bool set_up_session(tdb *db) {
    char sql[300];
    snprintf(sql, sizeof sql,
             "SET statement_timeout = %d; SET lock_timeout = %d; "
             "SET default_transaction_read_only = %s%s",
             statement_timeout_ms(db->pg), db->pg->lock_timeout_ms,
             db->pg->read_only ? "on" : "off",
             db->pg->log_writer ? "; " TDBPG_LOG_SESSION_SQL : "");
    PGresult *r = PQexec(db->pg->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        tdbpg_fail_result(db, "setting up the session", r);
    PQclear(r);
    return ok;
}

bool tdbpg_use(tdb *db) {
    tdbpg_state *s = db->pg;
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK && !s->lost)
        return true;
    if (s->in_tx) {
        /* A new session would run the rest of the transaction's statements on their own. */
        tdbi_fail(db, "%s: the connection was lost during a transaction; nothing was written",
                  s->where);
        db->fault = TDB_FAULT_UNAVAILABLE;
        return false;
    }
    /* While the watcher cannot reach the server either, a request thread does not try: a
     * connection attempt to a host that vanished waits for connect_timeout, and an event loop
     * must not. The watcher reconnects in the background (at most 1 s apart) and the next
     * request after it is up connects again. */
    if (on_request_thread(s) && s->watcher_started && atomic_load(&s->watcher_tried) &&
        !atomic_load(&s->watcher_up)) {
        tdbi_fail(db, "%s: unreachable (reconnecting in the background)", s->where);
        db->fault = TDB_FAULT_UNAVAILABLE;
        return false;
    }
    s->lost = false;
    if (s->conn)
        PQreset(s->conn);
    else
        s->conn = connect_url(s->url);
    if (!s->conn) {
        tdbi_fail(db, "%s: out of memory", s->where);
        return false;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        char msg[256];
        one_line(msg, sizeof msg, PQerrorMessage(s->conn));
        tdbi_fail(db, "%s: cannot connect: %s", s->where, msg);
        db->fault = TDB_FAULT_UNAVAILABLE;
        return false;
    }
    return set_up_session(db);
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one statement and waits for its answer at most the session's statement timeout plus
 * TDBPG_ANSWER_MARGIN_MS. statement_timeout is the server's: a server that stopped answering
 * without closing the connection (a host that vanished, a stalled backend) would otherwise hold
 * the caller -- a service's store thread, whose requests are parked -- as long as the kernel keeps
 * the connection. NULL when the statement could not be sent (*sent false), or no answer came in
 * time; else the last result (one per statement, as PQexecParams returns it: an error result
 * when the connection broke while waiting). */
static PGresult *exec_bounded(tdbpg_state *s, const char *sql, const tdbpg_params *p, bool *sent) {
    PGconn *c = s->conn;
    *sent = PQsendQueryParams(c, sql, p ? p->n : 0, NULL, p ? p->val : NULL, p ? p->len : NULL,
                              p ? p->fmt : NULL, 1) == 1;
    if (!*sent)
        return NULL;
    int64_t deadline = monotonic_ms() + statement_timeout_ms(s) + TDBPG_ANSWER_MARGIN_MS;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(c)) {
            int64_t left = deadline - monotonic_ms();
            struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
            int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                PQclear(last);
                return NULL;
            }
            /* A read that fails breaks the connection: libpq then has an error result ready
             * (its message, CONNECTION_BAD), which the caller reads like PQexecParams's. */
            if (!PQconsumeInput(c) && PQisBusy(c)) {
                PQclear(last);
                return NULL;
            }
        }
        PGresult *r = PQgetResult(c);
        if (!r)
            return last;
        PQclear(last);
        last = r;
    }
}

PGresult *tdbpg_run(tdb *db, const char *what, const char *sql, const tdbpg_params *p) {
    if (p && p->overflow) {
        tdbi_fail(db, "%s: %s: too many parameters", db->pg->where, what);
        return NULL;
    }
    for (int attempt = 0;; attempt++) {
        if (!tdbpg_use(db))
            return NULL;
        bool sent = false;
        PGresult *r = exec_bounded(db->pg, sql, p, &sent);
        if (!r) {
            /* Not even sent: the server closed the connection (see below, the same retry). */
            if (attempt == 0 && !sent && !db->pg->in_tx) {
                db->pg->lost = true;
                continue;
            }
            char msg[256];
            one_line(msg, sizeof msg, PQerrorMessage(db->pg->conn));
            tdbi_fail(db, "%s: %s: %s", db->pg->where, what,
                      sent && PQstatus(db->pg->conn) == CONNECTION_OK ? "no answer in time" : msg);
            db->pg->lost = true;
            db->fault = TDB_FAULT_UNAVAILABLE;
            return NULL;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return r;
        /* A connection the server closed (it restarted, or dropped idle sessions) is found by
         * the first statement that uses it: outside a transaction, that one statement is run
         * again on a new session, so a restarted server costs no request an error. */
        if (attempt == 0 && !db->pg->in_tx && session_lost(db->pg, r)) {
            db->pg->lost = true;
            PQclear(r);
            continue;
        }
        tdbpg_fail_result(db, what, r);
        PQclear(r);
        return NULL;
    }
}

bool tdbpg_do(tdb *db, const char *what, const char *sql, const tdbpg_params *p) {
    PGresult *r = tdbpg_run(db, what, sql, p);
    PQclear(r);
    return r != NULL;
}

/* Runs several statements without parameters (a migration step). */
static bool run_script(tdb *db, const char *what, const char *sql) {
    if (!tdbpg_use(db))
        return false;
    PGresult *r = PQexec(db->pg->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        tdbpg_fail_result(db, what, r);
    PQclear(r);
    return ok;
}

/* ---- Transactions and versions -------------------------------------------------------------- */

static void publish(tdbpg_state *s, uint64_t v) {
    uint64_t cur = atomic_load(&s->config_version);
    while (v > cur) {
        if (atomic_compare_exchange_weak(&s->config_version, &cur, v)) {
            atomic_fetch_add(&s->data_version, 1);
            break;
        }
    }
}

bool tdbpg_begin(tdb *db, bool config) {
    db->pg->pending_version = 0;
    if (!tdbpg_do(db, "starting a transaction", "BEGIN", NULL))
        return false;
    db->pg->in_tx = true;
    if (config &&
        !tdbpg_do(db, "waiting for other writers",
                  "SELECT pg_advisory_xact_lock(" TDBI_STR(TDBPG_LOCK_CONFIG) ")", NULL)) {
        tdbpg_rollback(db);
        return false;
    }
    return true;
}

bool tdbpg_commit(tdb *db) {
    PGresult *r = tdbpg_run(db, "committing", "COMMIT", NULL);
    /* COMMIT of a failed transaction "succeeds" as a rollback: only its tag tells. */
    bool ok = r && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (r && !ok)
        tdbi_fail(db, "%s: committing: the transaction was rolled back", db->pg->where);
    PQclear(r);
    if (!ok) {
        tdbpg_rollback(db);
        return false;
    }
    db->pg->in_tx = false;
    if (db->pg->pending_version)
        publish(db->pg, db->pg->pending_version);
    db->pg->pending_version = 0;
    return true;
}

void tdbpg_rollback(tdb *db) {
    /* Keeps the message of the failure that led here; a broken connection has no transaction. */
    db->pg->pending_version = 0;
    db->pg->in_tx = false;
    if (db->pg->conn && PQstatus(db->pg->conn) == CONNECTION_OK && !db->pg->lost &&
        PQtransactionStatus(db->pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(db->pg->conn, "ROLLBACK"));
}

bool tdbpg_bump(tdb *db) {
    PGresult *r = tdbpg_run(db, "moving the configuration version",
                            "WITH v AS (UPDATE config_version SET version = version + 1 WHERE "
                            "id = 1 RETURNING version) SELECT version, pg_notify('" TDBPG_CHANNEL
                            "', version::text) FROM v",
                            NULL);
    if (!r)
        return false;
    bool ok = PQntuples(r) == 1;
    if (ok)
        db->pg->pending_version = (uint64_t)tdbpg_i64(r, 0, 0);
    else
        tdbi_fail(db, "%s: the configuration version row is missing", db->pg->where);
    PQclear(r);
    return ok;
}

/* ---- The watcher ------------------------------------------------------------------------- */

/* Waits up to ms for the stop pipe (or fd, when >= 0, to be readable): true when stopping. */
static bool watch_wait(tdbpg_state *s, int fd, int ms) {
    struct pollfd p[2] = {{.fd = s->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    poll(p, fd >= 0 ? 2 : 1, ms);
    return atomic_load(&s->stop);
}

/* Reads the version row and the schema version into s; false when the connection failed. */
static bool watch_read(tdbpg_state *s, PGconn *c) {
    PGresult *r = PQexec(c, "SELECT (SELECT version FROM config_version WHERE id = 1),"
                            " (SELECT version FROM tokendoctor_schema)");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok) {
        publish(s, (uint64_t)tdbpg_i64(r, 0, 0));
        atomic_store(&s->schema_version, (int)tdbpg_i64(r, 0, 1));
    }
    PQclear(r);
    return ok;
}

static PGconn *watch_connect(tdbpg_state *s) {
    PGconn *c = connect_url(s->url);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SET statement_timeout = 5000; LISTEN " TDBPG_CHANNEL);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (ok && watch_read(s, c))
            return c;
    }
    PQfinish(c);
    return NULL;
}

static void *watch(void *arg) {
    tdbpg_state *s = arg;
    PGconn *c = NULL;
    int backoff = 100;
    while (!atomic_load(&s->stop)) {
        if (!c) {
            c = watch_connect(s);
            atomic_store(&s->watcher_up, c != NULL);
            atomic_store(&s->watcher_tried, true);
            if (!c) {
                watch_wait(s, -1, backoff);
                backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
                continue;
            }
            backoff = 100;
        }
        if (watch_wait(s, PQsocket(c), TDBPG_WATCH_POLL_MS))
            break;
        bool ok = PQconsumeInput(c) == 1;
        PGnotify *n;
        while (ok && (n = PQnotifies(c)) != NULL)
            PQfreemem(n);
        if (!ok || !watch_read(s, c)) {
            atomic_store(&s->watcher_up, false);
            PQfinish(c);
            c = NULL;
        }
    }
    PQfinish(c);
    return NULL;
}

/* Starts the watcher of db once; false when it cannot (the caller reads synchronously). */
static bool watcher_start(tdb *db) {
    tdbpg_state *s = db->pg;
    if (s->watcher_started)
        return true;
    if (s->wake[0] < 0 && pipe2(s->wake, O_CLOEXEC) != 0)
        return false;
    atomic_store(&s->stop, false);
    if (pthread_create(&s->watcher, NULL, watch, s) != 0)
        return false;
    s->watcher_started = true;
    return true;
}

uint64_t tdbpg_config_version(tdb *db) {
    if (!db->pg->watcher_started && !watcher_start(db)) {
        tdbi_fail(db, "%s: cannot start the version watcher", db->pg->where);
        return 0;
    }
    return atomic_load(&db->pg->config_version);
}

uint64_t tdbpg_data_version(tdb *db) {
    if (!db->pg->watcher_started)
        watcher_start(db);
    return atomic_load(&db->pg->data_version);
}

void tdbpg_set_busy_timeout(tdb *db, int ms) {
    db->busy_timeout_ms = ms;
    db->pg->lock_timeout_ms = ms > 0 ? ms : 1;
    if (db->pg->conn && PQstatus(db->pg->conn) == CONNECTION_OK)
        set_up_session(db);
}

void tdbpg_release(tdb *db) {
    tdbpg_state *s = db->pg;
    if (s->in_tx || !s->conn)
        return;
    PQfinish(s->conn);
    s->conn = NULL; /* tdbpg_use connects again */
    s->lost = false;
}

bool tdbpg_file_gone(tdb *db) {
    (void)db;
    return false;
}

bool tdbpg_ready(tdb *db, char *reason, size_t reason_cap) {
    tdbpg_state *s = db->pg;
    if (!s->watcher_started && !watcher_start(db)) {
        snprintf(reason, reason_cap, "%s: cannot start the version watcher", s->where);
        return false;
    }
    /* The first call after the start: give the watcher its first connection (at most 2 s:
     * only a server that stopped answering since the open takes longer). */
    for (int i = 0; i < 200 && !atomic_load(&s->watcher_tried); i++)
        usleep(10000);
    if (!atomic_load(&s->watcher_up)) {
        snprintf(reason, reason_cap, "%s does not answer (reconnecting)", s->where);
        return false;
    }
    int version = atomic_load(&s->schema_version);
    if (version != TDBPG_SCHEMA_VERSION) {
        snprintf(reason, reason_cap, "database schema version %d, expected %d", version,
                 TDBPG_SCHEMA_VERSION);
        return false;
    }
    if (s->conn && PQstatus(s->conn) != CONNECTION_OK && !tdbpg_use(db)) {
        snprintf(reason, reason_cap, "%s", db->err);
        return false;
    }
    if (reason_cap > 0)
        reason[0] = '\0';
    return true;
}

/* ---- Opening ----------------------------------------------------------------------------- */

/* One integer from a query without parameters; false on failure. */
static bool query_int(tdb *db, const char *what, const char *sql, int64_t *out) {
    PGresult *r = tdbpg_run(db, what, sql, NULL);
    bool ok = r && PQntuples(r) == 1;
    if (ok)
        *out = tdbpg_i64(r, 0, 0);
    else if (r)
        tdbi_fail(db, "%s: %s: no answer", db->pg->where, what);
    PQclear(r);
    return ok;
}

/* The stored key check into check (cap bytes): 1 read, 0 none, -1 error. */
static int read_key_check(tdb *db, unsigned char *check, size_t cap, size_t *len) {
    PGresult *r = tdbpg_run(db, "reading the key check",
                            "SELECT value FROM meta WHERE key = 'key_check'", NULL);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1 ? 1 : 0;
    if (found) {
        *len = (size_t)PQgetlength(r, 0, 0);
        if (*len > cap)
            *len = cap; /* too long to be ours: the check fails on its length anyway */
        memcpy(check, PQgetvalue(r, 0, 0), *len);
    }
    PQclear(r);
    return found;
}

/* The schema state: version (0: none), refusing what is not ours or is newer. */
static bool read_schema(tdb *db, int64_t *version) {
    int64_t ours = 0, foreign = 0;
    *version = 0;
    if (!query_int(db, "reading the schema",
                   "SELECT (to_regclass('tokendoctor_schema') IS NOT NULL)::int", &ours) ||
        !query_int(db, "reading the schema", "SELECT (to_regclass('projects') IS NOT NULL)::int",
                   &foreign))
        return false;
    if (!ours && foreign) {
        tdbi_fail(db, "%s: not a tokendoctor database (a table \"projects\" that is not ours)",
                  db->pg->where);
        return false;
    }
    if (ours && !query_int(db, "reading the schema",
                           "SELECT coalesce(max(version), 0) FROM tokendoctor_schema", version))
        return false;
    if (*version > TDBPG_SCHEMA_VERSION) {
        tdbi_fail(db, "%s: schema version %lld is newer than this tokendoctor supports (%d)",
                  db->pg->where, (long long)*version, TDBPG_SCHEMA_VERSION);
        return false;
    }
    return true;
}

/* The migrations not yet applied, and the key check when none is stored, in one transaction
 * under the migration lock (see the top of the file). */
static bool migrate(tdb *db) {
    if (!tdbpg_begin(db, false))
        return false;
    bool ok =
        tdbpg_do(db, "migrating", "SELECT pg_advisory_xact_lock(" TDBI_STR(TDBPG_LOCK_MIGRATE) ")",
                 NULL) &&
        tdbpg_do(db, "migrating",
                 "CREATE TABLE IF NOT EXISTS tokendoctor_schema (version integer NOT NULL)", NULL);
    int64_t version = 0;
    ok = ok && query_int(db, "migrating",
                         "SELECT coalesce(max(version), 0) FROM tokendoctor_schema", &version);
    /* A step may read a whole table (an index on the diagnosis log: seconds per GB): no
     * statement timeout for the steps (run_script's wait has no client-side bound either). */
    if (ok && version < TDBPG_SCHEMA_VERSION)
        ok = tdbpg_do(db, "migrating", "SET LOCAL statement_timeout = 0", NULL);
    for (; ok && version < TDBPG_SCHEMA_VERSION; version++) {
        tdbpg_params p = {0};
        tdbpg_p_i64(&p, version + 1);
        ok = run_script(db, "migrating", MIGRATIONS[version]) &&
             tdbpg_do(db, "migrating", "DELETE FROM tokendoctor_schema", NULL) &&
             tdbpg_do(db, "migrating", "INSERT INTO tokendoctor_schema (version) VALUES ($1)", &p);
    }
    unsigned char sealed[TDBI_KEY_CHECK_SEALED_LEN];
    if (ok && !tdbi_key_check_seal(db, sealed)) {
        tdbi_fail(db, "cannot seal the key check value");
        ok = false;
    }
    tdbpg_params p = {0};
    tdbpg_p_blob(&p, sealed, sizeof sealed);
    ok = ok && tdbpg_do(db, "storing the key check",
                        "INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) "
                        "DO NOTHING",
                        &p);
    if (ok)
        return tdbpg_commit(db);
    tdbpg_rollback(db);
    return false;
}

/* Loads the key file (creating it only for a new database) and checks it against check. */
static bool load_key(tdb *db, tdbi_open_mode mode, tdb_key_use use, bool has_check,
                     const unsigned char *check, size_t check_len) {
    char err[sizeof db->err];
    int found = tdbi_read_key_file(db->key_file, db->key, err, sizeof err);
    if (found < 0 && !(mode == TDBI_OPEN_READONLY && use == TDB_KEY_OPTIONAL)) {
        tdbi_fail(db, "%s", err);
        return false;
    }
    if (found <= 0 && mode == TDBI_OPEN_READONLY && use == TDB_KEY_OPTIONAL)
        return true; /* fingerprints only */
    if (found == 0 && (has_check || mode != TDBI_OPEN_CREATE)) {
        tdbi_fail(db, "key file %s not found: it is needed to decrypt the certificates in %s",
                  db->key_file, db->pg->where);
        return false;
    }
    if (found == 0 && !tdbi_create_key_file(db, err, sizeof err)) {
        tdbi_fail(db, "%s", err);
        return false;
    }
    if (!tdbi_use_key(db))
        return false;
    if (has_check && !tdbi_key_check_matches(db, check, check_len)) {
        tdbi_fail(db, "cannot decrypt certificates: wrong key file? (%s does not match %s)",
                  db->key_file, db->pg->where);
        return false;
    }
    return true;
}

static bool open_checked(tdb *db, tdbi_open_mode mode, tdb_key_use use, bool *missing) {
    tdbpg_state *s = db->pg;
    describe(s);
    if (!*db->key_file) {
        tdbi_fail(db,
                  "%s: a PostgreSQL store needs its key file: give --key-file PATH or set %s "
                  "(the key stays on each node, never in the database)",
                  s->where, TDB_ENV_KEY_FILE);
        return false;
    }
    s->conn = connect_url(s->url);
    describe(s);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        char msg[256];
        one_line(msg, sizeof msg, s->conn ? PQerrorMessage(s->conn) : "out of memory");
        tdbi_fail(db, "cannot connect to %s: %s", s->where, msg);
        return false;
    }
    int64_t version = 0;
    if (!set_up_session(db) || !read_schema(db, &version))
        return false;
    if (version == 0 && mode != TDBI_OPEN_CREATE) {
        tdbi_fail(db, "no such database: %s (it holds no tokendoctor schema)", s->where);
        *missing = true;
        return false;
    }
    unsigned char check[TDBI_KEY_CHECK_SEALED_LEN + 16];
    size_t check_len = 0;
    int has_check = version > 0 ? read_key_check(db, check, sizeof check, &check_len) : 0;
    if (has_check < 0 || !load_key(db, mode, use, has_check == 1, check, check_len))
        return false;
    if (mode == TDBI_OPEN_READONLY) {
        if (version < TDBPG_SCHEMA_VERSION) {
            tdbi_fail(db,
                      "%s: schema version %lld is older than this tokendoctor's (%d): open it "
                      "once for writing (restart the service, or any writing command)",
                      s->where, (long long)version, TDBPG_SCHEMA_VERSION);
            return false;
        }
        s->read_only = true;
        if (!set_up_session(db))
            return false;
    } else if (version < TDBPG_SCHEMA_VERSION || has_check != 1) {
        if (!migrate(db))
            return false;
        /* Another node may have stored its key check first (see the top of the file). */
        has_check = read_key_check(db, check, sizeof check, &check_len);
        if (has_check != 1 || !tdbi_key_check_matches(db, check, check_len)) {
            if (has_check >= 0)
                tdbi_fail(db, "cannot decrypt certificates: wrong key file? (%s does not match %s)",
                          db->key_file, s->where);
            return false;
        }
    }
    int64_t cv = 0;
    if (!query_int(db, "reading the configuration version",
                   "SELECT version FROM config_version WHERE id = 1", &cv))
        return false;
    publish(s, (uint64_t)cv);
    atomic_store(&s->schema_version, TDBPG_SCHEMA_VERSION);
    return true;
}

bool tdbpg_open(tdb *db, tdbi_open_mode mode, tdb_key_use key, bool *missing) {
    tdbpg_state *s = calloc(1, sizeof *s);
    if (!s) {
        tdbi_fail(db, "out of memory");
        return false;
    }
    db->pg = s;
    s->wake[0] = s->wake[1] = -1;
    s->lock_timeout_ms = db->busy_timeout_ms;
    atomic_init(&s->config_version, 0);
    atomic_init(&s->data_version, 1);
    atomic_init(&s->watcher_up, false);
    atomic_init(&s->watcher_tried, false);
    atomic_init(&s->schema_version, 0);
    atomic_init(&s->stop, false);
    snprintf(s->where, sizeof s->where, "the PostgreSQL database");
    db->name = s->where;
    s->url = strdup(db->path);
    if (!s->url) {
        tdbi_fail(db, "out of memory");
        return false;
    }
    return open_checked(db, mode, key, missing);
}

void tdbpg_close(tdb *db) {
    tdbpg_state *s = db->pg;
    if (!s)
        return;
    if (s->watcher_started) {
        atomic_store(&s->stop, true);
        ssize_t w = write(s->wake[1], "x", 1);
        (void)w;
        pthread_join(s->watcher, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    PQfinish(s->conn);
    if (s->url) {
        explicit_bzero(s->url, strlen(s->url));
        free(s->url);
    }
    free(s);
    db->pg = NULL;
    db->name = "";
}

/* ---- What this store does not do itself ------------------------------------------------------ */

tdb_status tdbpg_backup(tdb *db, const char *dest_path) {
    (void)dest_path;
    tdbi_fail(db,
              "%s: `db backup` copies SQLite files only: back up a PostgreSQL store with pg_dump "
              "(e.g. pg_dump -Fc -f FILE DBNAME) and keep the key file with it",
              db->pg->where);
    return TDB_INVALID;
}

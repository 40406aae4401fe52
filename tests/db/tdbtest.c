/* tdbtest.c -- see tdbtest.h. */
#include "tdbtest.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* The one piece of state of these helpers: whether this test program runs on PostgreSQL, and
 * how many databases it made (for their names). Set once by tdbt_use_pg, before any test. */
static struct {
    bool on;
    int made;
} pg_mode;

bool tdbt_use_pg(int *argc, char **argv) {
    if (*argc < 2 || strcmp(argv[1], "--pg") != 0)
        return false;
    const char *url = getenv(TDBT_ENV_PG);
    if (!url || !*url) {
        fprintf(stderr, "%s is not set: the PostgreSQL variant is skipped\n", TDBT_ENV_PG);
        exit(TDBT_SKIP);
    }
    for (int i = 1; i < *argc; i++)
        argv[i] = argv[i + 1];
    (*argc)--;
    pg_mode.on = true;
    return true;
}

bool tdbt_pg(void) {
    return pg_mode.on;
}

static bool is_url(const char *path) {
    return strstr(path, "://") != NULL;
}

/* The URL of $TOKENDOCTOR_TEST_PG with its database name replaced by name, into out. */
static bool url_with_db(const char *name, char *out, size_t cap) {
    const char *url = getenv(TDBT_ENV_PG), *auth = strstr(url, "://");
    if (!auth)
        return false;
    const char *slash = strchr(auth + 3, '/'), *query = strchr(auth + 3, '?');
    if (query && slash && slash > query)
        slash = NULL;
    size_t head = slash ? (size_t)(slash - url) : query ? (size_t)(query - url) : strlen(url);
    const char *tail = query ? query : "";
    int n = snprintf(out, cap, "%.*s/%s%s", (int)head, url, name, tail);
    return n > 0 && (size_t)n < cap;
}

static int pg_exec(const char *url, const char *sql, int64_t *value) {
    PGconn *c = PQconnectdb(url);
    int rc = 1;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "tdbtest: cannot connect: %s", PQerrorMessage(c));
    } else {
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : 1;
        if (value) {
            if (rc == 0 && PQntuples(r) > 0 && PQnfields(r) > 0)
                *value = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            else
                fprintf(stderr, "sql_int(%s): %s", sql, PQerrorMessage(c));
        }
        PQclear(r);
    }
    PQfinish(c);
    return rc;
}

void tdbt_sandbox_init(tdbt_sandbox *s, const char *prefix, const char *sub) {
    if (!tu_mkdtemp(s->dir, sizeof s->dir, prefix)) {
        perror("mkdtemp");
        exit(2);
    }
    const char *sep = *sub ? "/" : "";
    snprintf(s->db, sizeof s->db, "%s/%s%std.db", s->dir, sub, sep);
    snprintf(s->key, sizeof s->key, "%s/%s%stokendoctor.key", s->dir, sub, sep);
    s->pg_name[0] = '\0';
    if (!pg_mode.on)
        return;
    snprintf(s->pg_name, sizeof s->pg_name, "td_test_%ld_%d", (long)getpid(), ++pg_mode.made);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", s->pg_name);
    if (pg_exec(getenv(TDBT_ENV_PG), sql, NULL) != 0 ||
        !url_with_db(s->pg_name, s->db, sizeof s->db)) {
        fprintf(stderr, "tdbtest: cannot create the PostgreSQL database %s\n", s->pg_name);
        exit(2);
    }
}

void tdbt_sandbox_free(tdbt_sandbox *s) {
    if (s->pg_name[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", s->pg_name);
        if (pg_exec(getenv(TDBT_ENV_PG), sql, NULL) != 0)
            fprintf(stderr, "warning: could not drop %s\n", s->pg_name);
    }
    if (!tu_rmtree(s->dir))
        fprintf(stderr, "warning: could not remove %s\n", s->dir);
}

int64_t tdbt_sql_int(const char *path, const char *sql) {
    int64_t v = -1;
    if (is_url(path)) {
        pg_exec(path, sql, &v);
        return v;
    }
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "sql_int(%s): %s\n", sql, sqlite3_errmsg(h));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

int tdbt_sql_exec(const char *path, const char *sql) {
    if (is_url(path))
        return pg_exec(path, sql, NULL);
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(h, 5000);
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    sqlite3_close(h);
    return rc;
}

/* tdbtest.c -- see tdbtest.h. */
#include "tdbtest.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

void tdbt_sandbox_init(tdbt_sandbox *s, const char *prefix, const char *sub) {
    if (!tu_mkdtemp(s->dir, sizeof s->dir, prefix)) {
        perror("mkdtemp");
        exit(2);
    }
    const char *sep = *sub ? "/" : "";
    snprintf(s->db, sizeof s->db, "%s/%s%std.db", s->dir, sub, sep);
    snprintf(s->key, sizeof s->key, "%s/%s%stokendoctor.key", s->dir, sub, sep);
}

void tdbt_sandbox_free(tdbt_sandbox *s) {
    if (!tu_rmtree(s->dir))
        fprintf(stderr, "warning: could not remove %s\n", s->dir);
}

int64_t tdbt_sql_int(const char *path, const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "sql_int(%s): %s\n", sql, sqlite3_errmsg(h));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* tdbtest.h -- what the store's tests (test_db.c, test_db_storage.c) share: a sandbox
 * directory for a database and its key file, and one integer read straight from the database
 * (SQLite, or PostgreSQL through libpq), so that a test asserts what was stored without asking
 * the store.
 *
 * PostgreSQL: a test program run with --pg (the ctest variants named *_pg) makes every sandbox's
 * database a new PostgreSQL database, CREATE DATABASE td_test_<pid>_<n> on the server that
 * $TOKENDOCTOR_TEST_PG names (a URL such as postgresql:///postgres?host=/tmp/x&user=postgres,
 * whose user may create databases), dropped by tdbt_sandbox_free. Without that variable a --pg
 * run exits with TDBT_SKIP (ctest's SKIP_RETURN_CODE).
 */
#ifndef TDBTEST_H
#define TDBTEST_H

#include <stdbool.h>
#include <stdint.h>

#define TDBT_ENV_PG "TOKENDOCTOR_TEST_PG"
#define TDBT_SKIP 77

typedef struct {
    char dir[256];
    char db[300];     /* DIR/SUB/td.db, or a PostgreSQL URL (tdbt_use_pg) that fits */
    char key[300];    /* DIR/SUB/tokendoctor.key */
    char pg_name[64]; /* the PostgreSQL database made for it, "" for SQLite */
} tdbt_sandbox;

/* Handles a leading --pg in *argc/argv (removing it): from then on sandboxes hold PostgreSQL
 * databases. Exits with TDBT_SKIP when --pg is given without $TOKENDOCTOR_TEST_PG. Returns
 * whether PostgreSQL is used. */
bool tdbt_use_pg(int *argc, char **argv);

/* Whether sandboxes hold PostgreSQL databases (tdbt_use_pg). */
bool tdbt_pg(void);

/* A fresh temporary directory $TMPDIR/PREFIX-XXXXXX, with the paths of a database and its key
 * file in its subdirectory sub ("": the directory itself); neither is created (with --pg: an
 * empty PostgreSQL database is). Exits with status 2 when no directory can be made (no test can
 * run). */
void tdbt_sandbox_init(tdbt_sandbox *s, const char *prefix, const char *sub);

/* Removes the sandbox and everything in it (a warning on stderr when it cannot). */
void tdbt_sandbox_free(tdbt_sandbox *s);

/* The first column of the first row of sql on the database at path (a file or a URL); -1, and
 * why on stderr, when it cannot be read. */
int64_t tdbt_sql_int(const char *path, const char *sql);

/* Runs sql on the database at path (a file or a URL): 0 when it succeeded. */
int tdbt_sql_exec(const char *path, const char *sql);

#endif /* TDBTEST_H */

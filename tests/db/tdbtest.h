/* tdbtest.h -- what the store's tests (test_db.c, test_db_storage.c) share: a sandbox
 * directory for a database and its key file, and one integer read straight from the database
 * with SQLite, so that a test asserts what was stored without asking the store.
 */
#ifndef TDBTEST_H
#define TDBTEST_H

#include <stdint.h>

typedef struct {
    char dir[256];
    char db[300];  /* DIR/SUB/td.db */
    char key[300]; /* DIR/SUB/tokendoctor.key */
} tdbt_sandbox;

/* A fresh temporary directory $TMPDIR/PREFIX-XXXXXX, with the paths of a database and its key
 * file in its subdirectory sub ("": the directory itself); neither is created. Exits with
 * status 2 when no directory can be made (no test can run). */
void tdbt_sandbox_init(tdbt_sandbox *s, const char *prefix, const char *sub);

/* Removes the sandbox and everything in it (a warning on stderr when it cannot). */
void tdbt_sandbox_free(tdbt_sandbox *s);

/* The first column of the first row of sql on the database at path, opened read-write (a
 * pragma may need it); -1, and why on stderr, when it cannot be read. */
int64_t tdbt_sql_int(const char *path, const char *sql);

#endif /* TDBTEST_H */

/* testutil.h -- the helpers every C test shares (static library tdtestutil).
 *
 * Checks: CHECK(cond, fmt, ...) and EXPECT(cond) never stop a test: a failed one prints
 * file:line, the expression and the caller's context (which vector, which scenario) and is
 * counted, so one run reports every broken case; tu_report() turns the count into the exit
 * status. The counters are process-wide and atomic, so client threads may check too. A program
 * made of named tests lists them in a tu_test table and runs them with tu_run_tests.
 *
 * Files and processes: reading a whole file, a JSON-lines file as one array, a fresh temporary
 * directory, and running a program with its standard streams redirected to files (fork/exec,
 * arguments passed verbatim, no shell). Every function here reports failure by its return
 * value; none exits, but the two that start a test (tu_vectors_dir, tu_ctx), which a test cannot
 * go on without.
 */
#ifndef TD_TESTUTIL_H
#define TD_TESTUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "tdcore.h"

/* ---- A test's start ------------------------------------------------------------------------ */

/* The n arguments of a test (argv + 1) when it was given exactly n; otherwise "usage: PROG NAMES"
 * is printed and the process exits with status 2. tu_vectors_dir: the one argument VECTORS_DIR,
 * the directory of the contract's vectors. */
char **tu_args(int argc, char **argv, int n, const char *names);
const char *tu_vectors_dir(int argc, char **argv);

/* A new context (CHECKed); the process exits with status 1 when none can be made. */
td_ctx *tu_ctx(void);

/* ---- Checks -------------------------------------------------------------------------------- */

#define CHECK(cond, ...) tu_check((cond) ? true : false, __FILE__, __LINE__, #cond, __VA_ARGS__)
#define EXPECT(cond) tu_expect((cond) ? true : false, __FILE__, __LINE__, #cond)

/* Counts a check; prints "file:line: CHECK(expr) failed: message" when !ok. Returns ok. */
bool tu_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same without a message. */
bool tu_expect(bool ok, const char *file, int line, const char *expr);

/* Checks run and failed so far. */
int tu_checks(void);
int tu_failures(void);

/* Prints "NAME: N checks, M failed" and returns the exit status: 0 when none failed, else 1. */
int tu_report(const char *name);

/* ---- Named tests ---------------------------------------------------------------------------- */

/* One test (or suite) of a program, by the name its command line gives. */
typedef struct {
    const char *name;
    void (*run)(void);
} tu_test;

/* Runs the tests of the table named by names (n of them; n == 0: every test), in the table's
 * order, printing "ok   NAME" or "FAIL NAME" after each; returns tu_report(report_name), or 2
 * ("no such test" on stderr) when none was run. */
int tu_run_tests(const tu_test *tests, size_t count, char **names, int n, const char *report_name);

/* ---- Files ---------------------------------------------------------------------------------- */

/* The whole file, NUL-terminated (binary content allowed: *len, when len is not NULL, is its
 * size); malloc'ed, NULL when it cannot be read. */
char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to path (created or truncated); false on any error. */
bool tu_write_file(const char *path, const void *data, size_t len);

/* True when the file at path contains the needle bytes. */
bool tu_file_contains(const char *path, const void *needle, size_t needle_len);

/* Every line of the JSON-lines file DIR/NAME as one array, in order (blank lines skipped). NULL,
 * counted as a failed check that says why, when the file cannot be read or a line is not JSON. */
json_t *tu_load_jsonl(const char *dir, const char *name);

/* A walk over the lines of a JSON-lines vector file, which it owns:
 *
 *     tu_lines l;
 *     if (!tu_lines_open(&l, dir, "tokens.jsonl"))
 *         return;
 *     while (tu_lines_next(&l)) ... l.line ...
 *     CHECK(l.n >= 200, ...);
 *
 * tu_lines_open loads the file (tu_load_jsonl: false when it cannot); each tu_lines_next moves
 * line to the next one and counts it in n (so n is the current line's number, 1 first), and the
 * call that finds no more frees the file. A loop over it must not break out early. */
typedef struct {
    json_t *lines;
    size_t index;
    json_t *line; /* the current line */
    int n;        /* lines walked so far */
} tu_lines;

bool tu_lines_open(tu_lines *l, const char *dir, const char *name);
bool tu_lines_next(tu_lines *l);

/* The string member key of o; NULL when there is none (or it is no string). */
const char *tu_str(const json_t *o, const char *key);

/* Makes a fresh directory $TMPDIR/PREFIX-XXXXXX (default /tmp) into dir; false on failure. */
bool tu_mkdtemp(char *dir, size_t cap, const char *prefix);

/* Removes dir and everything under it (symbolic links are removed, not followed); false when
 * something could not be removed. */
bool tu_rmtree(const char *dir);

/* ---- Processes ------------------------------------------------------------------------------ */

/* Starts argv[0] with argv (NULL-terminated), standard input from in_path (NULL: /dev/null)
 * and standard output / error into out_path / err_path (created or truncated). Returns the
 * child's pid, -1 when it could not be forked (a failed exec exits 127). */
pid_t tu_spawn(const char *const *argv, const char *in_path, const char *out_path,
               const char *err_path);

/* Waits for pid: its exit status, 128 + N when killed by signal N, -1 when it cannot wait. */
int tu_wait(pid_t pid);

#endif /* TD_TESTUTIL_H */

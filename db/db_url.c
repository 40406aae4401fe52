/* db_url.c -- what a database location (a --db value, $TOKENDOCTOR_DB) names.
 *
 * Design
 * ------
 * One function decides, and every way of opening a store (tdb_open, tdb_open_existing,
 * tdb_open_readonly, the diagnosis log's writer) asks it before touching the file system; the
 * CLI asks it too, so that a bad value is a usage error (exit 64) and `serve` refuses to start.
 * Before it, `--db postgresql://host/db` was handed to SQLite as a file name: the program made
 * a directory named "postgresql:" under the working directory and a new, empty database in it,
 * and said nothing.
 *
 * The rules:
 *  - A value that starts with a URL scheme followed by "://" (RFC 3986: a letter, then letters,
 *    digits, '+', '-' or '.') is a URL. postgres:// and postgresql:// name a PostgreSQL
 *    database: the PostgreSQL store (db_pg.c) opens them, handing the value to libpq unchanged.
 *    In lower case only, as libpq recognizes them (POSTGRESQL://... would reach libpq as a
 *    database name, which its messages repeat, password and all): other spellings are refused
 *    with a message that says so. Every other scheme is refused. A file whose path really starts
 * that way is named
 *    "./NAME://...".
 *  - A value that starts with "file:" (any case) is refused too: SQLite reads such a value as a
 *    URI only when asked to, and otherwise as a relative file named "file:...", which is never
 *    what was meant. The path itself is the one way to name a file.
 *  - ":memory:" is refused: SQLite reads that exact name as a private in-memory database, so a
 *    command given it would store nothing (and, before this rule, create a key file beside it
 *    and fail with "cannot enable WAL mode: not an error"). A file of that name is
 *    "./:memory:".
 *  - Everything else is a path, as it always was (relative to the working directory).
 * The messages name the scheme, never the rest of the value: a URL may carry a password.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db_internal.h"

/* The length of the URL scheme that location starts with ("scheme://"), 0 when it does not. */
static size_t scheme_len(const char *location) {
    size_t n = 0;
    if (!isalpha((unsigned char)location[0]))
        return 0;
    while (isalnum((unsigned char)location[n]) || location[n] == '+' || location[n] == '-' ||
           location[n] == '.')
        n++;
    return strncmp(location + n, "://", 3) == 0 ? n : 0;
}

bool tdb_location_check(const char *location, char *err, size_t err_cap) {
    if (!location)
        return true;
    size_t n = scheme_len(location);
    if (strncasecmp(location, "file:", 5) == 0) {
        snprintf(err, err_cap,
                 "file: URIs are not accepted: give the path of the SQLite database file");
        return false;
    }
    if (strcmp(location, ":memory:") == 0) {
        snprintf(err, err_cap,
                 "':memory:' is an in-memory database, which keeps nothing: give the path of the "
                 "SQLite database file (a file of that name is ./:memory:)");
        return false;
    }
    if (n == 0)
        return true;
    if (tdbi_location_is_pg(location))
        return true;
    int shown = n > 32 ? 32 : (int)n;
    if ((n == 8 && strncasecmp(location, "postgres", 8) == 0) ||
        (n == 10 && strncasecmp(location, "postgresql", 10) == 0)) {
        /* libpq recognizes its URL schemes in lower case only: anything else would reach it as
         * a database name, and its messages would repeat the whole value. */
        snprintf(err, err_cap, "URL scheme '%.*s://': write it in lower case (%.*s://)", shown,
                 location, shown, n == 8 ? "postgres" : "postgresql");
        return false;
    }
    snprintf(err, err_cap,
             "unsupported URL scheme '%.*s://': the database is a SQLite file path or a "
             "postgresql:// URL (a path that starts with NAME:// is written ./NAME://...)",
             shown, location);
    return false;
}

bool tdbi_location_is_pg(const char *location) {
    if (!location)
        return false;
    size_t n = scheme_len(location);
    return (n == 8 && strncmp(location, "postgres", 8) == 0) ||
           (n == 10 && strncmp(location, "postgresql", 10) == 0);
}

bool tdb_location_is_postgres(const char *location) {
    return tdbi_location_is_pg(location);
}

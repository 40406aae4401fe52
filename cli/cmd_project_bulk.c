/* cmd_project_bulk.c -- `tokendoctor project import` and `project export`: many configurations
 * in one run.
 *
 * Design
 * ------
 * Both are thin: the store reads and writes the stream (tdb_import, tdb_export in db/db_bulk.c,
 * which own the line shape and the transactions), the configuration is validated by
 * diag_project_from_json (the parser of `project put` and PUT /v1/projects), and the summary is
 * rendered by diag_import_summary_to_json, which POST /v1/projects:import answers too. What is
 * left here is the terminal: the progress bar and the one-line summary.
 *
 * The progress bar is drawn on standard error only when it is a terminal (a pipe or a log file
 * gets nothing), at most ten times a second: count, rate and, when the input is a regular file
 * whose size is known, the share read and an ETA from the bytes read so far.
 *
 * Exit statuses: 0 imported (or exported), 1 some configurations failed (--continue-on-error;
 * the others are imported and the summary says how many), 64 usage or an invalid input
 * (all-or-nothing: nothing was imported), 70 storage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tdcli.h"
#include "tddb.h"
#include "tddiag.h"

#define PROGRESS_INTERVAL_NS 100000000LL /* redraw at most ten times a second */

typedef struct {
    bool draw;        /* stderr is a terminal */
    bool drawn;       /* a bar is on the screen (erased at the end) */
    int64_t total;    /* bytes of the input when known, else 0 */
    int64_t start_ns; /* when the import began */
    int64_t last_ns;  /* when the bar was last drawn */
} progress_bar;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void draw_progress(void *arg, uint64_t done, uint64_t bytes) {
    progress_bar *bar = arg;
    int64_t t = now_ns();
    if (!bar->draw || t - bar->last_ns < PROGRESS_INTERVAL_NS)
        return;
    bar->last_ns = t;
    double secs = (double)(t - bar->start_ns) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    fprintf(stderr, "\r\033[K  %llu configurations, %.0f/s", (unsigned long long)done, rate);
    if (bar->total > 0 && bytes > 0) {
        double share = (double)bytes / (double)bar->total;
        double eta = share > 0 ? secs / share - secs : 0;
        fprintf(stderr, ", %.0f%%, ETA %d:%02d", 100 * share, (int)eta / 60, (int)eta % 60);
    }
    bar->drawn = true;
}

static void erase_progress(progress_bar *bar) {
    if (bar->drawn)
        fputs("\r\033[K", stderr);
    bar->drawn = false;
}

typedef struct {
    progress_bar bar;
} import_run;

/* --continue-on-error: each failure as it happens. */
static void print_failure(void *arg, uint64_t line, const char *message) {
    import_run *run = arg;
    erase_progress(&run->bar);
    cli_error("line %llu: %s", (unsigned long long)line, message);
}

static void print_summary(const char *name, const diag_import_summary *s) {
    printf("%s %s: %llu created, %llu replaced, %llu unchanged, %llu failed%s\n",
           s->dry_run ? "checked" : "imported", name, (unsigned long long)s->created,
           (unsigned long long)s->replaced, (unsigned long long)s->unchanged,
           (unsigned long long)s->failed, s->dry_run ? " (dry run: nothing written)" : "");
}

/* The input stream: path ("-" standard input, refused when it is a terminal). */
static FILE *open_input(const cli_bulk_args *a, const char *path, int64_t *size) {
    *size = 0;
    if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO)) {
        cli_fail(a->report, "usage",
                 "project import: give FILE, or pipe the configurations into '-'");
        return NULL;
    }
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        cli_fail(a->report, "usage", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode))
        *size = (int64_t)sb.st_size;
    return in;
}

/* What a first import creates: a SQLite file that was not there (and its key file, and the
 * directory it made for them). When an all-or-nothing import fails, nothing was imported, so
 * these are removed again: the run leaves the file system as it found it, and a retry with a
 * corrected input does not meet "exists" surprises (a key file made for nothing). A
 * --continue-on-error run keeps what it committed, and a PostgreSQL store is not a file. When
 * the import succeeds, the new file is compacted (tdb_compact: a bulk load interleaves the
 * tables' pages), which no one else can mind: the database did not exist before this run. */
typedef struct {
    bool db_new, key_new, dir_new;
    char db[4096], key[4096], dir[4096];
    size_t dir_top;
} import_fresh;

static bool path_absent(const char *path) {
    struct stat sb;
    return stat(path, &sb) != 0 && errno == ENOENT;
}

static void fresh_note(import_fresh *f, const cli_bulk_args *a) {
    const char *db = a->db_path && *a->db_path ? a->db_path : tdb_default_path();
    if (a->dry_run || tdb_location_is_postgres(db) ||
        snprintf(f->db, sizeof f->db, "%s", db) >= (int)sizeof f->db)
        return;
    f->db_new = path_absent(f->db);
    if (a->key_file && *a->key_file)
        snprintf(f->key, sizeof f->key, "%s", a->key_file);
    else if (!tdb_default_key_file(f->db, f->key, sizeof f->key))
        f->key[0] = '\0';
    f->key_new = f->key[0] && path_absent(f->key);
    /* The database's directory and every parent tdb_open would make with it: f->dir is the
     * shallowest one that is absent, f->dir_top its length. */
    snprintf(f->dir, sizeof f->dir, "%s", f->db);
    char *slash = strrchr(f->dir, '/');
    if (!slash || slash == f->dir)
        return;
    *slash = '\0';
    for (char *c = strchr(f->dir + 1, '/');; c = strchr(c + 1, '/')) {
        if (c)
            *c = '\0';
        bool absent = path_absent(f->dir);
        if (c)
            *c = '/';
        if (absent) {
            f->dir_top = c ? (size_t)(c - f->dir) : strlen(f->dir);
            f->dir_new = true;
            return;
        }
        if (!c)
            return;
    }
}

/* Compacts the database this import created (see import_fresh). Its configurations are
 * committed already, so a failure is a warning, not the run's status. */
static void compact_new(const progress_bar *bar, tdb *db) {
    if (bar->draw)
        fputs("compacting the new database...", stderr);
    tdb_status st = tdb_compact(db);
    if (bar->draw)
        fputs("\r\033[K", stderr);
    if (st != TDB_OK)
        fprintf(stderr, "tokendoctor: warning: the new database was not compacted: %s\n",
                tdb_errmsg(db));
}

static bool store_is_empty(tdb *db) {
    diag_project_shown *p = NULL;
    size_t n = 0;
    bool more = false;
    bool empty = tdb_project_page(db, NULL, 1, &p, &n, &more) == TDB_OK && n == 0;
    free(p);
    return empty;
}

/* After the store is closed. */
static void fresh_undo(const import_fresh *f) {
    if (!f->db_new)
        return;
    static const char *const tails[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s%s", f->db, tails[i]);
        unlink(path);
    }
    if (f->key_new)
        unlink(f->key);
    /* The directories made for it, deepest first; rmdir removes only an empty one. */
    char dir[sizeof f->dir];
    snprintf(dir, sizeof dir, "%s", f->dir);
    for (size_t len = strlen(dir); f->dir_new && len >= f->dir_top;) {
        if (rmdir(dir) != 0)
            break;
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
        len = (size_t)(slash - dir);
    }
}

/* The exit status of a failed import: the input's fault (64) or the store's (70). */
static int import_failure(const cli_bulk_args *a, tdb *db, tdb_status s) {
    char msg[640];
    snprintf(msg, sizeof msg, "%s", tdb_errmsg(db));
    bool input = s == TDB_INVALID || s == TDB_DECRYPT;
    cli_fail(a->report, input ? "bad_request" : "internal_error", "%s; %s", msg,
             a->continue_on_error ? "the batches committed before it are kept"
                                  : "nothing was imported");
    return input ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
}

int cli_project_import(const cli_bulk_args *a) {
    const char *path = a->input ? a->input : "-";
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    import_run run = {.bar = {.draw = isatty(STDERR_FILENO) == 1, .start_ns = now_ns()}};
    FILE *in = open_input(a, path, &run.bar.total);
    if (!in)
        return CLI_EXIT_USAGE;
    int rc = CLI_EXIT_INTERNAL;
    import_fresh fresh = {0};
    fresh_note(&fresh, a);
    /* A dry run writes nothing, so it does not create a database either. */
    tdb *db = cli_store_open(a->report, a->db_path, a->key_file,
                             a->dry_run ? CLI_STORE_WRITE : CLI_STORE_CREATE, &rc);
    diag_import_summary *s = db ? malloc(sizeof *s) : NULL;
    if (db && !s)
        cli_fail(a->report, "internal_error", "out of memory");
    if (s) {
        char actor[128];
        tdb_import_options o = {.parse = diag_project_from_json,
                                .actor = cli_project_actor(actor, sizeof actor),
                                .continue_on_error = a->continue_on_error,
                                .dry_run = a->dry_run,
                                .on_error = a->continue_on_error ? print_failure : NULL,
                                .progress = draw_progress,
                                .arg = &run};
        tdb_status st = tdb_import(db, in, &o, s);
        erase_progress(&run.bar);
        if (st != TDB_OK) {
            rc = import_failure(a, db, st);
        } else if (a->json) {
            rc = cli_answer(a->report, diag_import_summary_to_json(s)) ? CLI_EXIT_OK
                                                                       : CLI_EXIT_INTERNAL;
        } else {
            print_summary(name, s);
            rc = CLI_EXIT_OK;
        }
        if (rc == CLI_EXIT_OK && s->failed > 0)
            rc = CLI_EXIT_FAIL;
    }
    free(s);
    /* Undone only while the new database is still empty: another process that opened it
     * meanwhile and put a project keeps it. */
    bool undo = (rc == CLI_EXIT_USAGE || rc == CLI_EXIT_INTERNAL) && fresh.db_new &&
                !a->continue_on_error && (!db || store_is_empty(db));
    if ((rc == CLI_EXIT_OK || rc == CLI_EXIT_FAIL) && fresh.db_new && db)
        compact_new(&run.bar, db);
    tdb_close(db);
    if (undo)
        fresh_undo(&fresh);
    if (in != stdin)
        fclose(in);
    return rc;
}

int cli_project_export(const cli_bulk_args *a) {
    if (a->json) {
        cli_fail(a->report, "usage", "project export: writes JSON lines; --json does not apply");
        return CLI_EXIT_USAGE;
    }
    if (a->format && strcmp(a->format, "jsonl") != 0) {
        cli_fail(a->report, "usage", "project export: --format: only jsonl (JSON lines)");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_INTERNAL;
    tdb *db = cli_store_open(a->report, a->db_path, a->key_file, CLI_STORE_READ, &rc);
    if (!db)
        return rc;
    uint64_t count = 0;
    tdb_status st = tdb_export(db, stdout, a->certificates_for, &count);
    if (st != TDB_OK) {
        rc = cli_store_failure(a->report, db, st == TDB_DECRYPT ? TDB_INVALID : st);
    } else {
        rc = CLI_EXIT_OK;
        if (a->certificates_for)
            fprintf(stderr, "exported %llu projects, certificates sealed for %s\n",
                    (unsigned long long)count, a->certificates_for);
        else
            fprintf(stderr,
                    "exported %llu projects, certificates as fingerprints only (to import them "
                    "elsewhere, export with --certificates-for KEYFILE)\n",
                    (unsigned long long)count);
    }
    tdb_close(db);
    return rc;
}

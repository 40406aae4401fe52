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
    tdb_close(db);
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

/* diagnose_internal.h -- what `tokendoctor diagnose`'s two files share: the parsed command line
 * and the project source. Private to cli/.
 *
 * cmd_diagnose.c parses the command line, owns the project source and runs a single diagnosis;
 * diagnose_batch.c runs the batch pipeline against the same options and project source, so that
 * a line of a batch and a single diagnosis are judged against the same configuration.
 */
#ifndef DIAGNOSE_INTERNAL_H
#define DIAGNOSE_INTERNAL_H

#include "tdcli.h"
#include "tddb.h"
#include "tddiag.h"

#define BATCH_LINE_MAX (1u << 20) /* longest batch line accepted */
#define THREADS_MAX 64            /* most --threads accepted */

/* ---- Options --------------------------------------------------------------------------- */

typedef struct {
    const char *app_id, *service, *channel, *uid, *account, *role, *platform, *at, *sdk_version;
    const char *project_file, *db_path, *key_file, *batch, *threads_arg, *server_arg;
    const char *fail_on_arg, *token_arg;
    const char *server; /* the service to ask (--server or $TOKENDOCTOR_SERVER), or NULL */
    unsigned threads;   /* --threads N, 0 = the number of online cores */
    unsigned fail_on;   /* --fail-on: bits (1u << diag_verdict), FAIL_ON_INVALID */
    bool json, no_token, summary, no_db, help;
    bool any_join_flag; /* a flag that describes a single join (not allowed with --batch) */
    cli_report *report; /* the run's failures, for --json */
} cli_diag_opts;

#define FAIL_ON_INVALID (1u << 8) /* --fail-on invalid: a line that was not diagnosed */

/* ---- Projects -------------------------------------------------------------------------- */

/* Bytes of configurations a thread keeps from a database (tdb_project_cache): ~100,000 projects,
 * so that a batch's memory stays flat however many projects it spans (docs/performance.md,
 * "Many projects"). */
#define DB_CACHE_BYTES (16u << 20)

/* Where configurations come from: a sorted array loaded from --project, or a database. */
typedef struct {
    diag_project *list; /* sorted by app_id; count entries, wiped when freed */
    size_t count;
    tdb *db;
    /* With a database: the configurations read from it. Reading one costs a SQL query (and
     * takes SQLite's process-wide locks, which stop threads from scaling), while a batch cycles
     * through a few App IDs; so a thread reads each App ID about once and judges every later
     * line against that reading, until the configuration version moves (checked once per
     * chunk: cli_project_source_sync). */
    tdb_project_cache *cache;
    cli_report *report; /* single diagnoses: where a store failure is kept (batch: NULL) */
} cli_project_source;

/* Fills src from the options (--project FILE, --db PATH, the default database, or none with
 * --no-db). false (reported to o->report) on failure, with *status the exit status to use. */
bool cli_project_source_open(const cli_diag_opts *o, cli_project_source *src, int *status);

/* Opens the database at path for src, read-only (never created). false on failure: the message
 * is reported to r (may be NULL) unless the file is missing and report_missing is false;
 * *missing tells a missing file from a broken one. */
bool cli_project_source_open_db(cli_report *r, const char *path, const char *key_file,
                                cli_project_source *src, bool report_missing, bool *missing);

/* The configuration of app_id (exact match), or NULL when unknown. *failed is set on a storage
 * error (reported to src->report). The result is valid until the next lookup in src. */
const diag_project *cli_project_lookup(cli_project_source *src, const char *app_id, size_t len,
                                       bool *failed);

/* Forgets the configurations read from src's database when its configuration version moved
 * (tdb_project_cache_sync); nothing for a --project list or no store. */
void cli_project_source_sync(cli_project_source *src);

/* Closes src's database and forgets its cached configurations (wiped); its list is kept. */
void cli_project_source_close_db(cli_project_source *src);

/* Frees everything src holds. */
void cli_project_source_free(cli_project_source *src);

/* ---- Batch ------------------------------------------------------------------------------ */

/* Runs `diagnose --batch` with the parsed options; returns the exit status. */
int cli_diagnose_batch(const cli_diag_opts *o);

#endif /* DIAGNOSE_INTERNAL_H */

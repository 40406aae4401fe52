/* cmd_db.c -- `tokendoctor db backup PATH`: a consistent copy of the database while the service
 * runs; `tokendoctor db migrate`: create the store or bring its schema up to date.
 *
 * Design
 * ------
 * The copy is SQLite's online backup (tdb_backup): one read snapshot copied in steps, so the
 * service keeps reading and writing meanwhile (WAL: a reader does not stop a writer). The
 * database is opened read-only (the key file is not needed and not copied: a backup holds the
 * certificates sealed, and only that key file opens them). Restoring is a file copy while the
 * service is stopped; the usage text says how, so that the manual page carries it.
 *
 * Exit statuses: 0 copied, 1 no such database, 64 usage (PATH exists), 70 storage error.
 */
#include <stdio.h>
#include <string.h>

#include "tdcli.h"
#include "tddb.h"

static void db_usage(FILE *out) {
    fprintf(out, "usage: tokendoctor db backup PATH   copy the database into the new file PATH\n"
                 "       tokendoctor db migrate       create the store or bring its schema up\n"
                 "                                    to date (SQLite or PostgreSQL)\n"
                 "\n"
                 "options:\n");
    cli_usage_store_options(out, 20, "the database to copy");
    fprintf(
        out,
        "  --json            print {\"backup\": PATH} when done\n"
        "\n"
        "The copy is consistent while `tokendoctor serve` reads and writes the database (SQLite's\n"
        "online backup of one snapshot, in steps). PATH must not exist. The key file is not\n"
        "copied: keep it with the backup, since only it opens the certificates.\n"
        "\n"
        "To restore: stop the service; move the database file aside together with its -wal\n"
        "and -shm files if any remain; copy the backup to the database path (owned by the\n"
        "service's user, mode 0600); check that the key file is the one the backup was made\n"
        "with (a wrong one is refused at start: \"wrong key file?\"); start the service.\n"
        "\n"
        "A PostgreSQL store (--db postgresql://...) is backed up with pg_dump instead; keep\n"
        "the key file with the dump. `db migrate` is what a fleet runs once before starting\n"
        "its nodes (each node also migrates at start, one at a time).\n"
        "\n"
        "exit status: 0 ok, 1 no such database, 64 usage (PATH exists), 70 storage error\n");
}

enum { OPT_DB = CLI_OPT_FIRST, OPT_KEY_FILE };

const struct option cli_db_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* `db migrate`: opens the store for writing, which creates it when missing and applies the
 * pending migrations (serialized across processes and nodes), then checks it is ready. */
static int db_migrate(cli_report *report, const char *db_path, const char *key_file, bool json) {
    int rc = CLI_EXIT_INTERNAL;
    tdb *db = cli_store_open(report, db_path, key_file, CLI_STORE_CREATE, &rc);
    if (!db)
        return rc;
    char reason[512];
    if (!tdb_ready(db, reason, sizeof reason)) {
        cli_fail(report, "storage_error", "db migrate: %s", reason);
        rc = CLI_EXIT_INTERNAL;
    } else if (json) {
        rc = cli_answer(report, json_pack("{s:s,s:b}", "database", tdb_shown_name(db), "ready", 1))
                 ? CLI_EXIT_OK
                 : CLI_EXIT_INTERNAL;
    } else {
        rc = printf("%s: schema up to date\n", tdb_shown_name(db)) > 0 ? CLI_EXIT_OK
                                                                       : CLI_EXIT_INTERNAL;
    }
    tdb_close(db);
    return rc;
}

static int db_run(int argc, char **argv, cli_report *report) {
    const char *db_path = NULL, *key_file = NULL, *pos[3];
    const char **const slots[] = {&db_path, &key_file};
    bool json = false;
    int npos = 0;
    cli_opts p;
    cli_opts_init(&p, "db", argc, argv, cli_db_options, slots, CLI_COUNT(slots), report);
    p.nonempty = true;
    int rc = cli_opts_action_run(&p, db_usage, &json, pos, &npos, 3);
    if (rc >= 0)
        return rc;
    if (npos == 1 && strcmp(pos[0], "migrate") == 0)
        return db_migrate(report, db_path, key_file, json);
    if (npos != 2 || strcmp(pos[0], "backup") != 0 || !*pos[1]) {
        bool known = npos > 0 && (strcmp(pos[0], "backup") == 0 || strcmp(pos[0], "migrate") == 0);
        cli_fail(report, "usage", "db: %s",
                 known ? "give backup PATH, or migrate" : "unknown action (backup PATH, migrate)");
        db_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    rc = CLI_EXIT_INTERNAL;
    tdb *db = cli_store_open(report, db_path, key_file, CLI_STORE_READ, &rc);
    if (!db)
        return rc;
    tdb_status st = tdb_backup(db, pos[1]);
    if (st != TDB_OK)
        rc = cli_store_failure(report, db, st);
    else if (json)
        rc = cli_answer(report, json_pack("{s:s}", "backup", pos[1])) ? CLI_EXIT_OK
                                                                      : CLI_EXIT_INTERNAL;
    else
        rc = printf("backed up %s to %s\n", tdb_shown_name(db), pos[1]) > 0 ? CLI_EXIT_OK
                                                                            : CLI_EXIT_INTERNAL;
    tdb_close(db);
    return rc;
}

int cli_db(int argc, char **argv) {
    return cli_run_reported(argc, argv, db_run);
}

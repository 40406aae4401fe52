/* cmd_project.c -- `tokendoctor project`: store project certificate configurations, read them
 * back (fingerprints only), list them, show their change history, delete them.
 *
 * Design
 * ------
 * A thin layer over db/tddb.h: parse the arguments, open the database (--db / --key-file or
 * the embedded defaults), call one tdb_ function, print. The configuration JSON is validated by
 * diag_project_from_json (the same messages as `diagnose --project` and the HTTP API), and all
 * inputs of a file holding an array are validated before any is stored. The change actor is
 * the operating-system user who ran the command, as "NAME (cli)" (the space keeps it apart from
 * an API key's name, the actor of changes over HTTP, which never has one).
 *
 * Exit statuses: 0 ok, 1 not found, 64 usage or invalid configuration, 70 storage error. With
 * --json a failure is also the error object on stdout (cli_report), so that a script reading
 * `project show --json` always gets one JSON document.
 * Certificates never appear in output or messages: JSON parse errors are reported by line and
 * column without jansson's "near '...'" excerpt, which could quote one.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdcli.h"
#include "tddb.h"
#include "tddiag.h"

#define PROJECT_FILE_MAX (4u << 20)

/* The actor of a change made here: the effective user's name (uid N when it has none, as in a
 * container run with an arbitrary uid). */
const char *cli_project_actor(char *buf, size_t cap) {
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name)
        snprintf(buf, cap, "%s (cli)", pw->pw_name);
    else
        snprintf(buf, cap, "uid %lu (cli)", (unsigned long)geteuid());
    return buf;
}

typedef struct {
    const char *db_path;
    const char *key_file;
    const char *file;
    const char *format;
    const char *certificates_for;
    bool json;
    bool continue_on_error;
    bool dry_run;
    int npos;
    const char *pos[4];
    cli_report *report; /* the run's failures, for --json */
} project_args;

static void project_usage(FILE *out) {
    fprintf(out,
            "usage: tokendoctor project put [--file FILE | -]   store a configuration (JSON)\n"
            "       tokendoctor project show APP_ID\n"
            "       tokendoctor project list\n"
            "       tokendoctor project history APP_ID         the certificate-configuration log\n"
            "       tokendoctor project delete APP_ID\n"
            "       tokendoctor project import [FILE | -] [--continue-on-error] [--dry-run]\n"
            "       tokendoctor project export [--format jsonl] [--certificates-for KEYFILE]\n"
            "\n"
            "options (every action):\n"
            "  --json            print exactly one JSON document (import: its summary)\n");
    cli_usage_store_options(out, 20, "the database");
    fprintf(out,
            "                    (a missing key file is created with mode 0600)\n"
            "\n"
            "The configuration JSON: {\"app_id\", \"name\", \"primary\": {\"certificate\", "
            "\"enabled\"},\n"
            "  \"secondary\": {...}, \"no_certificate\", \"cohost_auth\", "
            "\"retired_certificates\": [...]}\n"
            "  (a file may hold an array of them). Certificates are stored encrypted and shown\n"
            "  only as fingerprints; a replaced or removed certificate is kept as retired.\n"
            "\n"
            "import reads JSON lines (one configuration a line) or a JSON array (any layout),\n"
            "  any size, one configuration at a time, and prints one summary line: created,\n"
            "  replaced, unchanged (identical: not written, not logged), failed. All or\n"
            "  nothing (one transaction; a database it created is removed if it fails,\n"
            "  and compacted when it succeeds) unless:\n"
            "  --continue-on-error   report each bad configuration with its line, import the\n"
            "                        rest "
            "(committed every 10000; exit status 1 if any failed)\n"
            "  --dry-run             check and count everything, write nothing\n"
            "  A progress bar (count, rate, ETA) is drawn when standard error is a terminal.\n"
            "export writes every configuration as JSON lines on standard output, in the shape\n"
            "  import reads:\n"
            "  --format jsonl              the only format (the default)\n"
            "  --certificates-for KEYFILE  seal the certificates for KEYFILE, the key file of\n"
            "                              the database that will import them (it must exist:\n"
            "                              `project import --db NEW < /dev/null` creates NEW and\n"
            "                              its key); without it only fingerprints are written,\n"
            "                              which import refuses\n"
            "\n"
            "exit status: 0 ok, 1 not found (import: some configurations failed), 64 usage or\n"
            "  invalid configuration (import: nothing imported), 70 storage error\n");
}

/* The options with a value first (slots), then the flags, in the order of their arrays. */
enum {
    OPT_DB = CLI_OPT_FIRST,
    OPT_KEY_FILE,
    OPT_FILE,
    OPT_FORMAT,
    OPT_CERTIFICATES_FOR,
    OPT_CONTINUE_ON_ERROR,
    OPT_DRY_RUN
};

const struct option cli_project_options[] = {
    CLI_OPT_DB_ENTRY(OPT_DB),
    CLI_OPT_KEY_FILE_ENTRY(OPT_KEY_FILE),
    {"file", required_argument, NULL, OPT_FILE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"certificates-for", required_argument, NULL, OPT_CERTIFICATES_FOR},
    {"continue-on-error", no_argument, NULL, OPT_CONTINUE_ON_ERROR},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* Options may come anywhere; "--" ends them. Every value is a path: an empty one names no file
 * and is refused. -1 to go on, otherwise the exit status (--help, a usage error). */
static int parse_project_args(int argc, char **argv, project_args *a, cli_report *report) {
    memset(a, 0, sizeof *a);
    a->report = report;
    const char **const slots[] = {&a->db_path, &a->key_file, &a->file, &a->format,
                                  &a->certificates_for};
    bool *const flags[] = {&a->continue_on_error, &a->dry_run};
    cli_opts p;
    cli_opts_init(&p, "project", argc, argv, cli_project_options, slots, CLI_COUNT(slots), report);
    p.nonempty = true;
    p.flags = flags;
    p.nflags = CLI_COUNT(flags);
    return cli_opts_action_run(&p, project_usage, &a->json, a->pos, &a->npos, CLI_COUNT(a->pos));
}

/* ---- Human output -------------------------------------------------------------------------- */

/* Text from the database or a client, shown by the one rule for a person (td_text_show_unit:
 * control characters as \xNN, so no terminal escapes). */
static void print_safe(FILE *out, const char *s) {
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n;) {
        char unit[TD_TEXT_SHOWN_MAX];
        size_t used;
        fwrite(unit, 1, td_text_show_unit(s + i, n - i, unit, &used), out);
        i += used;
    }
}

static void print_cert(FILE *out, const char *label, json_t *cert) {
    fprintf(out, "%-16s", label);
    if (!json_is_object(cert)) {
        fprintf(out, "(none)\n");
        return;
    }
    fprintf(out, "%s  %s\n", json_string_value(json_object_get(cert, "fingerprint")),
            json_is_true(json_object_get(cert, "enabled")) ? "enabled" : "disabled");
}

static const char *yes_no(json_t *v) {
    return json_is_true(v) ? "yes" : "no";
}

/* The mode the shown document carries (diag_project_shown_mode decided it). */
static const char *mode_of(json_t *p) {
    const char *mode = json_string_value(json_object_get(p, "certificate_mode"));
    return mode ? mode : "none";
}

static void print_project(FILE *out, json_t *p) {
    char when[64];
    fprintf(out, "%-16s%s\n", "App ID", json_string_value(json_object_get(p, "app_id")));
    fprintf(out, "%-16s", "Name");
    print_safe(out, json_string_value(json_object_get(p, "name")));
    fputc('\n', out);
    fprintf(out, "%-16s%s\n", "Mode", mode_of(p));
    print_cert(out, "Primary", json_object_get(p, "primary"));
    print_cert(out, "Secondary", json_object_get(p, "secondary"));
    fprintf(out, "%-16s%s\n", "No certificate", yes_no(json_object_get(p, "no_certificate")));
    fprintf(out, "%-16s%s\n", "Co-host auth", yes_no(json_object_get(p, "cohost_auth")));
    json_t *retired = json_object_get(p, "retired_certificates");
    fprintf(out, "%-16s", "Retired");
    if (json_array_size(retired) == 0)
        fprintf(out, "(none)");
    size_t i;
    json_t *fp;
    json_array_foreach(retired, i, fp) {
        fprintf(out, "%s%s", i ? ", " : "", json_string_value(fp));
    }
    fputc('\n', out);
    cli_format_utc(json_integer_value(json_object_get(p, "created_at")), when, sizeof when);
    fprintf(out, "%-16s%s\n", "Created", when);
    cli_format_utc(json_integer_value(json_object_get(p, "updated_at")), when, sizeof when);
    fprintf(out, "%-16s%s\n", "Updated", when);
}

static void print_cert_cell(FILE *out, json_t *cert) {
    char cell[32];
    if (json_is_object(cert)) {
        snprintf(cell, sizeof cell, "%s %s",
                 json_string_value(json_object_get(cert, "fingerprint")),
                 json_is_true(json_object_get(cert, "enabled")) ? "on" : "off");
    } else {
        snprintf(cell, sizeof cell, "-");
    }
    fprintf(out, "%-14s", cell);
}

/* One row of `project list`'s table (p: a project as diag_project_shown_to_json renders it). */
static void print_list_row(FILE *out, json_t *p) {
    fprintf(out, "%-34s%-11s", json_string_value(json_object_get(p, "app_id")), mode_of(p));
    print_cert_cell(out, json_object_get(p, "primary"));
    print_cert_cell(out, json_object_get(p, "secondary"));
    print_safe(out, json_string_value(json_object_get(p, "name")));
    fputc('\n', out);
}

/* A logged value: null -> "(none)", strings as they are, the rest as compact JSON. */
static void print_value(FILE *out, json_t *v) {
    if (!v || json_is_null(v)) {
        fputs("(none)", out);
    } else if (json_is_string(v)) {
        print_safe(out, json_string_value(v));
    } else if (json_is_array(v) && json_array_size(v) == 0) {
        fputs("(none)", out);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            fputs(i ? ", " : "", out);
            print_value(out, item);
        }
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        print_safe(out, text);
        free(text);
    }
}

static void print_history(FILE *out, json_t *list) {
    size_t i, j;
    json_t *e, *c;
    json_array_foreach(list, i, e) {
        char when[64];
        cli_format_utc(json_integer_value(json_object_get(e, "at")), when, sizeof when);
        fprintf(out, "%s  %-8s by ", when, json_string_value(json_object_get(e, "action")));
        print_safe(out, json_string_value(json_object_get(e, "actor")));
        fputc('\n', out);
        json_array_foreach(json_object_get(e, "changes"), j, c) {
            fprintf(out, "    %s: ", json_string_value(json_object_get(c, "field")));
            print_value(out, json_object_get(c, "from"));
            fputs(" -> ", out);
            print_value(out, json_object_get(c, "to"));
            fputc('\n', out);
        }
        json_t *retired = json_object_get(e, "retired");
        if (json_array_size(retired) > 0) {
            fputs("    retired: ", out);
            print_value(out, retired);
            fputc('\n', out);
        }
    }
}

/* ---- Actions -------------------------------------------------------------------------------- */

/* Parses and validates the configuration(s) of a put: one object or an array of them. */
static diag_project *read_configurations(cli_report *r, const char *path, size_t *count) {
    struct stat sb;
    if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && sb.st_size > PROJECT_FILE_MAX) {
        cli_fail(r, "usage",
                 "%s: larger than %u bytes (project import reads a file of any size: JSON lines "
                 "or an array)",
                 path, PROJECT_FILE_MAX);
        return NULL;
    }
    size_t len = 0;
    char *text = cli_read_input(r, path, PROJECT_FILE_MAX, &len);
    if (!text)
        return NULL;
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    if (strspn(text, " \t\r\n") == len) {
        cli_fail(r, "bad_request", "%s: empty (expected the project configuration JSON)", name);
        free(text);
        return NULL;
    }
    json_t *root = cli_parse_json(r, "", name, text, len);
    free(text);
    if (!root)
        return NULL;
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    diag_project *projects = n ? calloc(n, sizeof *projects) : NULL;
    if (!projects) {
        if (n)
            cli_fail(r, "internal_error", "out of memory");
        else
            cli_fail(r, "bad_request", "%s: an empty array holds no configuration", name);
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *obj = json_is_array(root) ? json_array_get(root, i) : root;
        char err[256];
        if (!json_is_object(obj))
            snprintf(err, sizeof err, "must be a JSON object (the project configuration)");
        if (!json_is_object(obj) || !diag_project_from_json(obj, &projects[i], err, sizeof err)) {
            if (json_is_array(root))
                cli_fail(r, "bad_request", "%s: configuration [%zu]: %s", name, i, err);
            else
                cli_fail(r, "bad_request", "%s: %s", name, err);
            free(projects);
            json_decref(root);
            return NULL;
        }
    }
    json_decref(root);
    *count = n;
    return projects;
}

/* The input of a put: --file FILE, a FILE or "-" argument, or standard input. Validated before
 * the database is opened, so that a bad configuration touches nothing. */
static diag_project *read_put_input(const project_args *a, size_t *count) {
    const char *path = a->file;
    if (a->npos > 2 || (a->file && a->npos > 1)) {
        cli_fail(a->report, "usage",
                 "project put: give the configuration with --file FILE or - (standard input)");
        return NULL;
    }
    if (!path)
        path = a->npos == 2 ? a->pos[1] : "-";
    if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO)) {
        cli_fail(a->report, "usage",
                 "project put: give --file FILE, or pipe the configuration JSON into '-'");
        return NULL;
    }
    return read_configurations(a->report, path, count);
}

/* The store answers with structs; these render them as every front end does (tdproject.h). A
 * document that cannot be built (out of memory) is a storage failure to the caller. */
static tdb_status show_doc(tdb *db, const char *app_id, json_t **doc) {
    diag_project_shown p;
    tdb_status s = tdb_project_show(db, app_id, &p);
    *doc = s == TDB_OK ? diag_project_shown_to_json(&p) : NULL;
    return s == TDB_OK && !*doc ? TDB_ERROR : s;
}

static tdb_status history_doc(tdb *db, const char *app_id, json_t **doc) {
    diag_project_change *log = NULL;
    size_t n = 0;
    tdb_status s = tdb_project_history(db, app_id, &log, &n);
    *doc = s == TDB_OK ? diag_project_history_to_json(log, n) : NULL;
    free(log);
    return s == TDB_OK && !*doc ? TDB_ERROR : s;
}

static int project_put(tdb *db, const project_args *a, diag_project *projects, size_t count) {
    json_t *shown = json_array();
    int exit_code = CLI_EXIT_OK;
    char actor[128];
    cli_project_actor(actor, sizeof actor);
    for (size_t i = 0; i < count && exit_code == CLI_EXIT_OK; i++) {
        bool created = false;
        json_t *one = NULL;
        tdb_status s = tdb_project_put(db, &projects[i], actor, &created);
        if (s == TDB_OK)
            s = show_doc(db, projects[i].app_id, &one);
        if (s != TDB_OK) {
            exit_code = cli_store_failure(a->report, db, s);
            break;
        }
        if (!a->json) {
            printf("%sproject %s %s\n", i ? "\n" : "", projects[i].app_id,
                   created ? "created" : "replaced");
            print_project(stdout, one);
        }
        json_array_append_new(shown, one);
    }
    if (exit_code == CLI_EXIT_OK && a->json) {
        json_t *doc = count == 1 ? json_incref(json_array_get(shown, 0)) : json_incref(shown);
        if (!cli_answer(a->report, doc))
            exit_code = CLI_EXIT_INTERNAL;
    }
    json_decref(shown);
    return exit_code;
}

/* show, history, delete: one APP_ID argument. */
static const char *single_app_id(const project_args *a) {
    if (a->npos != 2) {
        cli_fail(a->report, "usage", "project %s: give one APP_ID", a->pos[0]);
        return NULL;
    }
    if (!diag_is_hex32(a->pos[1], strlen(a->pos[1]))) {
        cli_fail(a->report, "usage", "project %s: APP_ID must be 32 hex characters", a->pos[0]);
        return NULL;
    }
    return a->pos[1];
}

static int print_doc(json_t *doc, const project_args *a, void (*human)(FILE *, json_t *)) {
    if (a->json)
        return cli_answer(a->report, doc) ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    human(stdout, doc);
    json_decref(doc);
    return CLI_EXIT_OK;
}

static int project_show(tdb *db, const project_args *a, const char *app_id) {
    json_t *doc = NULL;
    tdb_status s = show_doc(db, app_id, &doc);
    return s == TDB_OK ? print_doc(doc, a, print_project) : cli_store_failure(a->report, db, s);
}

static int project_history(tdb *db, const project_args *a, const char *app_id) {
    json_t *doc = NULL;
    tdb_status s = history_doc(db, app_id, &doc);
    return s == TDB_OK ? print_doc(doc, a, print_history) : cli_store_failure(a->report, db, s);
}

static int project_delete(tdb *db, const project_args *a, const char *app_id) {
    char actor[128];
    tdb_status s = tdb_project_delete(db, app_id, cli_project_actor(actor, sizeof actor));
    if (s != TDB_OK)
        return cli_store_failure(a->report, db, s);
    if (a->json) {
        return cli_answer(a->report, json_pack("{s:s, s:b}", "app_id", app_id, "deleted", 1))
                   ? CLI_EXIT_OK
                   : CLI_EXIT_INTERNAL;
    }
    printf("project %s deleted (its history is kept)\n", app_id);
    return CLI_EXIT_OK;
}

/* `project list` reads the projects a page at a time (the store's App ID order), so that listing a
 * million holds one page, not a million (a diag_project_shown is ~0.8 KB, its JSON a few). The
 * JSON answer is still one array, written element by element: each element is dumped as
 * cli_print_json would dump it at depth 1 (jansson indents by depth and never breaks a line
 * inside a string), so the bytes are those of the whole array dumped at once. */
#define LIST_PAGE 1000

/* Writes one listed project: a row of the table, or an element of the JSON array. */
static bool list_emit(const project_args *a, const diag_project_shown *p, size_t i) {
    json_t *doc = diag_project_shown_to_json(p);
    if (!doc)
        return false;
    bool ok = true;
    if (!a->json) {
        if (i == 0)
            printf("%-34s%-11s%-14s%-14s%s\n", "APP ID", "MODE", "PRIMARY", "SECONDARY", "NAME");
        print_list_row(stdout, doc);
    } else {
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        ok = text != NULL;
        if (i == 0 && a->report)
            a->report->answered = true; /* a failure after this cannot be a second document */
        fputs(i == 0 ? "[\n  " : ",\n  ", stdout);
        for (const char *c = text; ok && *c; c++) {
            putchar(*c);
            if (*c == '\n')
                fputs("  ", stdout);
        }
        free(text);
    }
    json_decref(doc);
    return ok;
}

static int project_list(tdb *db, const project_args *a) {
    if (a->npos != 1) {
        cli_fail(a->report, "usage", "project list: takes no argument");
        return CLI_EXIT_USAGE;
    }
    char after[TD_CERT_LEN + 1] = "";
    size_t total = 0;
    bool more = true;
    while (more) {
        diag_project_shown *page = NULL;
        size_t n = 0;
        tdb_status s = tdb_project_page(db, after, LIST_PAGE, &page, &n, &more);
        if (s != TDB_OK)
            return cli_store_failure(a->report, db, s);
        bool ok = true;
        for (size_t i = 0; ok && i < n; i++)
            ok = list_emit(a, &page[i], total + i);
        if (n > 0)
            snprintf(after, sizeof after, "%s", page[n - 1].app_id);
        total += n;
        free(page);
        if (!ok) {
            cli_fail(a->report, "internal_error", "project list: out of memory");
            return CLI_EXIT_INTERNAL;
        }
        more = more && n > 0;
    }
    if (a->json) {
        fputs(total ? "\n]\n" : "[]\n", stdout);
        if (a->report)
            a->report->answered = true;
    } else if (total == 0) {
        printf("no projects in %s\n", tdb_shown_name(db));
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail(a->report, "internal_error", "cannot write the answer to standard output");
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}

/* import [FILE | -] or export: cmd_project_bulk.c. */
static int project_bulk(const project_args *a, bool is_import) {
    cli_bulk_args b = {.db_path = a->db_path,
                       .key_file = a->key_file,
                       .input = a->file,
                       .format = a->format,
                       .certificates_for = a->certificates_for,
                       .json = a->json,
                       .continue_on_error = a->continue_on_error,
                       .dry_run = a->dry_run,
                       .report = a->report};
    if (a->npos > 2 || (a->npos == 2 && (!is_import || a->file))) {
        cli_fail(a->report, "usage", "project %s: %s", a->pos[0],
                 is_import ? "give the input as FILE, --file FILE or - (standard input)"
                           : "takes no argument (it writes to standard output)");
        return CLI_EXIT_USAGE;
    }
    if (a->npos == 2)
        b.input = a->pos[1];
    return is_import ? cli_project_import(&b) : cli_project_export(&b);
}

int cli_project(int argc, char **argv, cli_report *report) {
    project_args a;
    int rc = parse_project_args(argc, argv, &a, report);
    if (rc >= 0)
        return rc;
    if (a.npos == 0) {
        cli_fail(report, "usage",
                 "project: give an action: put, show, list, history, delete, import or export");
        project_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *action = a.pos[0];
    bool is_put = strcmp(action, "put") == 0, is_list = strcmp(action, "list") == 0;
    bool is_show = strcmp(action, "show") == 0, is_history = strcmp(action, "history") == 0;
    bool is_delete = strcmp(action, "delete") == 0;
    bool is_import = strcmp(action, "import") == 0, is_export = strcmp(action, "export") == 0;
    if (!is_put && !is_list && !is_show && !is_history && !is_delete && !is_import && !is_export) {
        cli_fail(report, "usage", "project: unknown action '%s'", action);
        project_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!is_put && !is_import && a.file) {
        cli_fail(report, "usage", "project %s: --file is for put and import", action);
        return CLI_EXIT_USAGE;
    }
    if (!is_import && (a.continue_on_error || a.dry_run)) {
        cli_fail(report, "usage", "project %s: --%s is for import", action,
                 a.dry_run ? "dry-run" : "continue-on-error");
        return CLI_EXIT_USAGE;
    }
    if (!is_export && (a.format || a.certificates_for)) {
        cli_fail(report, "usage", "project %s: --%s is for export", action,
                 a.format ? "format" : "certificates-for");
        return CLI_EXIT_USAGE;
    }
    if (is_import || is_export)
        return project_bulk(&a, is_import);
    const char *app_id = NULL;
    if ((is_show || is_history || is_delete) && !(app_id = single_app_id(&a)))
        return CLI_EXIT_USAGE;
    diag_project *projects = NULL;
    size_t count = 0;
    if (is_put && !(projects = read_put_input(&a, &count)))
        return CLI_EXIT_USAGE;
    rc = CLI_EXIT_INTERNAL;
    tdb *db = cli_store_open(report, a.db_path, a.key_file,
                             is_put      ? CLI_STORE_CREATE
                             : is_delete ? CLI_STORE_WRITE
                                         : CLI_STORE_READ,
                             &rc);
    if (db) {
        rc = is_put       ? project_put(db, &a, projects, count)
             : is_list    ? project_list(db, &a)
             : is_show    ? project_show(db, &a, app_id)
             : is_history ? project_history(db, &a, app_id)
                          : project_delete(db, &a, app_id);
        tdb_close(db);
    }
    if (projects) {
        memset(projects, 0, count * sizeof *projects); /* certificates */
        free(projects);
    }
    return rc;
}

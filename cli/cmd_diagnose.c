/* cmd_diagnose.c -- `tokendoctor diagnose`: what the platform answers to a join, and the fix.
 *
 * Design
 * ------
 * Two modes share one engine (diag_run), one command line and one project source (this file,
 * declared in diagnose_internal.h for the batch):
 *
 *  - single: the join is described by flags, the token is an argument ("-" = standard input,
 *    "" or --no-token = no token). Without a TOKEN argument the token is read from standard
 *    input when that is not a terminal (`fetch-token | tokendoctor diagnose ...`); on a
 *    terminal --no-token must say that no token is meant. Standard input that holds nothing is
 *    an error, never a join without a token: in CI an upstream token fetch that failed would
 *    otherwise pass as "token required". The answer is printed for a person (verdict first,
 *    then the fix, the checks, hints, warnings) or, with --json, as the diagnosis JSON -- and
 *    with --json a failure is the error object, so stdout always holds one JSON document
 *    (cli_report). The exit status is the verdict (0 joinable, 1 rejected, 2 unverifiable), 64
 *    for bad usage or a bad request (the message names the flag or field), 70 for an internal
 *    error -- CI preflight scripts depend on these. With --server URL (or $TOKENDOCTOR_SERVER)
 *    the request goes to a running service (remote.c) and its answer is printed the same way.
 *
 *  - batch (--batch FILE|-): JSON lines in, one JSON line out per input line, in order,
 *    diagnosed on --threads workers (diagnose_batch.c).
 *
 * Projects come from --project FILE (one configuration or an array, matched by App ID whatever
 * its case, as the store matches it; parsed and validated once, looked up by binary search) or from
 * --db PATH (tdb_project_get, each App ID read about once per thread and run: see project_source).
 * Without either, the default database (the same file as `serve`); when it does not exist the
 * run fails (70) naming the path it looked for -- answering "project unknown" for a project that
 * is merely stored elsewhere would be wrong. --no-db asks for no store: every project unknown.
 */
#include "diagnose_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PROJECT_FILE_MAX (64u << 20) /* a project file larger than this is refused */

/* ---- Projects -------------------------------------------------------------------------- */

/* One project per App ID whatever its case, as in the store (db_project.c): the diagnosis then
 * names a project configured in another case (diag_run), whichever the source. */
static int project_cmp(const void *a, const void *b) {
    return strcasecmp(((const diag_project *)a)->app_id, ((const diag_project *)b)->app_id);
}

/* Loads --project FILE: one configuration or an array. false (message printed) on error. */
static bool load_project_file(cli_report *r, const char *path, cli_project_source *src) {
    size_t len;
    char *text = cli_read_input(r, path, PROJECT_FILE_MAX, &len);
    if (!text)
        return false;
    json_t *doc = cli_parse_json(r, "--project ", path, text, len);
    free(text);
    if (!doc)
        return false;
    size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
    src->list = calloc(n ? n : 1, sizeof *src->list);
    if (!src->list) {
        json_decref(doc);
        cli_fail(r, "internal_error", "out of memory loading %s", path);
        return false;
    }
    src->count = n; /* from here on, src->list is wiped when freed, even half filled */
    char err[256];
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_array(doc) ? json_array_get(doc, i) : doc;
        if (!diag_project_from_json(item, &src->list[i], err, sizeof err)) {
            if (json_is_array(doc))
                cli_fail(r, "bad_request", "--project %s: [%zu].%s", path, i, err);
            else
                cli_fail(r, "bad_request", "--project %s: %s", path, err);
            json_decref(doc);
            return false;
        }
    }
    json_decref(doc);
    qsort(src->list, n, sizeof *src->list, project_cmp);
    for (size_t i = 1; i < n; i++)
        if (project_cmp(&src->list[i - 1], &src->list[i]) == 0) {
            cli_fail(r, "bad_request", "--project %s: App ID %s is configured twice", path,
                     src->list[i].app_id);
            return false;
        }
    return true;
}

/* Opens an existing database; never creates one. *missing tells a missing file from a broken
 * one (message printed only when report_missing or the file exists). */
bool cli_project_source_open_db(cli_report *r, const char *path, const char *key_file,
                                cli_project_source *src, bool report_missing, bool *missing) {
    char err[512];
    src->db = tdb_open_readonly(path, key_file, TDB_KEY_REQUIRED, missing, err, sizeof err);
    if (!src->db && (report_missing || !*missing))
        cli_fail(r, *missing ? "usage" : "internal_error", "--db: %s", err);
    if (src->db && !(src->cache = tdb_project_cache_new(DB_CACHE_BYTES))) {
        cli_fail(r, "internal_error", "out of memory opening %s", path);
        tdb_close(src->db);
        src->db = NULL;
        *missing = false;
    }
    return src->db != NULL;
}

/* The configuration of app_id (whatever its case), or NULL when unknown. *failed is set on a
 * storage error (message printed). */
const diag_project *cli_project_lookup(cli_project_source *src, const char *app_id, size_t len,
                                       bool *failed) {
    *failed = false;
    if (len != TD_CERT_LEN || memchr(app_id, '\0', len))
        return NULL; /* a stored App ID is always 32 characters */
    char key[TD_CERT_LEN + 1];
    memcpy(key, app_id, len);
    key[len] = '\0';
    if (src->list) {
        diag_project probe;
        memcpy(probe.app_id, key, sizeof key);
        return bsearch(&probe, src->list, src->count, sizeof *src->list, project_cmp);
    }
    if (!src->db)
        return NULL;
    const diag_project *p;
    tdb_status st = tdb_project_cache_get(src->cache, src->db, key, &p, NULL);
    if (st != TDB_OK) {
        cli_fail(src->report, "internal_error", "database %s: %s", tdb_shown_name(src->db),
                 tdb_errmsg(src->db));
        *failed = true;
    }
    return p;
}

void cli_project_source_sync(cli_project_source *src) {
    if (src->cache)
        tdb_project_cache_sync(src->cache, src->db);
}

/* Closes the database and forgets the cached configurations (certificates: wiped first). */
void cli_project_source_close_db(cli_project_source *src) {
    tdb_project_cache_free(src->cache); /* wipes the certificates */
    src->cache = NULL;
    if (src->db)
        tdb_close(src->db);
    src->db = NULL;
}

void cli_project_source_free(cli_project_source *src) {
    if (src->list) /* the configurations' certificates */
        explicit_bzero(src->list, src->count * sizeof *src->list);
    free(src->list);
    cli_project_source_close_db(src);
}

/* ---- Options --------------------------------------------------------------------------- */

static void usage(FILE *out) {
    fprintf(out,
            "usage: tokendoctor diagnose --app-id ID [--service rtc|rtm] [--channel NAME]\n"
            "                            [--uid N | --account S] [--role publisher|subscriber]\n"
            "                            [--platform P] [--at UNIX|ISO-8601]\n"
            "                            [--sdk-version X.Y[.Z]]\n"
            "                            [--project FILE | --no-db |\n"
            "                             --db PATH [--key-file PATH]]\n"
            "                            [--json] [TOKEN | - | --no-token]\n"
            "       tokendoctor diagnose --batch FILE|- [--summary] [--threads N]\n"
            "                            [--fail-on rejected,unverifiable,invalid]\n"
            "                            [--project FILE | --no-db |\n"
            "                             --db PATH [--key-file PATH]]\n"
            "       tokendoctor diagnose --server URL ...   (the same, answered by a service)\n"
            "\n"
            "Says what the platform answers when this client joins (rtc) or logs in (rtm) with\n"
            "this token, why, and how to fix it.\n"
            "\n"
            "  TOKEN            the token exactly as the client passes it (quotes and spaces\n"
            "                   included); '-', or no TOKEN with standard input not a terminal,\n"
            "                   reads it from standard input (one trailing newline removed;\n"
            "                   nothing there is an error, exit 64)\n"
            "  --no-token       diagnose a join without a token (also TOKEN ''); needed on a\n"
            "                   terminal when no TOKEN is given\n"
            "  --service        rtc (join a channel, default) or rtm (log in)\n"
            "  --uid, --account the join's uid (0..4294967295, default 0 = any) or user account;\n"
            "                   a token built for a uid past 32 bits gets the hint\n"
            "                   token_uid_out_of_range\n"
            "  --platform       native (default), objc, web, or android, windows, linux, unity,\n"
            "                   electron, flutter, react-native, cocos, ios, macos\n"
            "  --at             when to judge expiry: Unix seconds or an ISO-8601 UTC time such\n"
            "                   as 2026-12-05T10:00:00Z (default: now)\n"
            "  --sdk-version    the version of the client's SDK -- the RTM SDK for rtm, the\n"
            "                   Video SDK for rtc -- as X.Y or X.Y.Z (a leading v allowed):\n"
            "                   RTM 2.x answers with its own codes (-10003, -10005, -10009,\n"
            "                   -10016), and an SDK older than AccessToken2 cannot read a 007\n"
            "                   token: cause token_version_unsupported (rtc 101: Web before\n"
            "                   4.8.0, Flutter before 4.2.0, other SDKs before 3.5.2; RTM 5:\n"
            "                   before 1.5.0, Web 1.4.6) (default: unknown)\n"
            "  --project FILE   the project configuration JSON: one object or an array, matched\n"
            "                   by App ID whatever its case (no match: project unknown)\n");
    cli_usage_store_options(
        out, 19,
        "read the configuration from this database (read-only, never\n"
        "                   created); without --project, --db or --no-db, the\n"
        "                   default database, which must exist (exit 70 naming\n"
        "                   the path otherwise)");
    fprintf(out,
            "  --no-db          no project configurations: every project is unknown\n"
            "  --server URL     ask the service at http://HOST[:PORT][/PATH] (a running\n"
            "                   tokendoctor serve) instead of a local store: the same output and\n"
            "                   exit status (default: $%s; --project, --db or --no-db\n"
            "                   override it). For a service run with --auth all, the API key is\n"
            "                   read from the file $%s names. http:// only\n",
            CLI_ENV_SERVER, CLI_ENV_API_KEY_FILE);
    fprintf(
        out,
        "  --json           print the diagnosis JSON instead of text; on a failure, the error\n"
        "                   object {\"error\":{\"code\",\"message\"}} (stdout always holds one\n"
        "                   JSON document)\n"
        "  --batch FILE|-   JSON lines in (each a request object with an optional \"id\"), one\n"
        "                   JSON line out per input line (blank ones too), in order, each\n"
        "                   {\"id\", \"status\": \"diagnosed\", ...the diagnosis} or, for a line\n"
        "                   that was not diagnosed, {\"id\", \"status\": \"invalid\" (or\n"
        "                   \"failed\"), \"error\": {\"code\", \"message\"}}; processing goes on\n"
        "  --summary        with --batch: only id, status, verdict, cause, code, hints,\n"
        "                   warnings, expires_at, sdk_version per line\n"
        "  --fail-on LIST   with --batch: exit 1 when a line's verdict is in LIST, a comma-\n"
        "                   separated list of rejected, unverifiable (and invalid: a line that\n"
        "                   was not diagnosed); every line is still answered\n"
        "  --threads N      with --batch: diagnose on N threads (1..64; default: the number\n"
        "                   of online cores; 1 = one thread); the output is the same, in the\n"
        "                   same order, whatever N\n"
        "\n"
        "exit status: 0 joinable, 1 rejected, 2 unverifiable, 64 bad usage or bad request,\n"
        "70 internal error; --batch: 0 when every line was processed, 1 when --fail-on\n"
        "matched a line, 64 bad usage, 70 input/output or store error (70 before 1)\n");
}

enum {
    OPT_APP_ID = CLI_OPT_FIRST,
    OPT_SERVICE,
    OPT_CHANNEL,
    OPT_UID,
    OPT_ACCOUNT,
    OPT_ROLE,
    OPT_PLATFORM,
    OPT_AT,
    OPT_SDK_VERSION,
    OPT_PROJECT,
    OPT_DB,
    OPT_KEY_FILE,
    OPT_BATCH,
    OPT_THREADS,
    OPT_SERVER,
    OPT_FAIL_ON,
    OPT_NO_TOKEN,
    OPT_SUMMARY,
    OPT_NO_DB,
};

const struct option cli_diagnose_options[] = {
    {"app-id", required_argument, NULL, OPT_APP_ID},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"uid", required_argument, NULL, OPT_UID},
    {"account", required_argument, NULL, OPT_ACCOUNT},
    {"role", required_argument, NULL, OPT_ROLE},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"at", required_argument, NULL, OPT_AT},
    {"sdk-version", required_argument, NULL, OPT_SDK_VERSION},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"db", required_argument, NULL, OPT_DB},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"server", required_argument, NULL, OPT_SERVER},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"no-token", no_argument, NULL, OPT_NO_TOKEN},
    {"summary", no_argument, NULL, OPT_SUMMARY},
    {"no-db", no_argument, NULL, OPT_NO_DB},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* --fail-on LIST: a comma-separated list of rejected, unverifiable, invalid. */
static bool parse_fail_on(const char *list, unsigned *out) {
    *out = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (n == 8 && strncmp(p, "rejected", n) == 0)
            *out |= 1u << DIAG_REJECTED;
        else if (n == 12 && strncmp(p, "unverifiable", n) == 0)
            *out |= 1u << DIAG_UNVERIFIABLE;
        else if (n == 7 && strncmp(p, "invalid", n) == 0)
            *out |= FAIL_ON_INVALID;
        else
            return false;
        if (!p[n])
            return true;
        p += n + 1;
    }
}

/* The store options against --server: the service has the projects. */
static bool check_server(cli_diag_opts *o) {
    /* An explicit local store wins over $TOKENDOCTOR_SERVER; it conflicts with --server. */
    bool local = o->project_file || o->db_path || o->key_file || o->no_db;
    if (o->server_arg && local) {
        cli_fail(o->report, "usage", "--server: the service has the projects; not with %s",
                 o->project_file ? "--project"
                 : o->db_path    ? "--db"
                 : o->key_file   ? "--key-file"
                                 : "--no-db");
        return false;
    }
    o->server = local ? NULL : cli_server_url(o->server_arg);
    if (o->server && o->batch) {
        cli_fail(o->report, "usage",
                 "--batch: not with a service (%s); POST the lines to its /v1/diagnose/batch, or "
                 "give --db, --project or --no-db",
                 o->server_arg ? "--server" : "$" CLI_ENV_SERVER);
        return false;
    }
    return true;
}

/* Parses the command line; false (message reported) on bad usage. */
static bool parse_options(int argc, char **argv, cli_diag_opts *o, cli_report *report) {
    memset(o, 0, sizeof *o);
    o->report = report;
    /* Where each valued option goes, in the order of its val (OPT_APP_ID .. OPT_FAIL_ON). */
    const char **const slots[] = {
        &o->app_id,   &o->service,     &o->channel,     &o->uid,          &o->account, &o->role,
        &o->platform, &o->at,          &o->sdk_version, &o->project_file, &o->db_path, &o->key_file,
        &o->batch,    &o->threads_arg, &o->server_arg,  &o->fail_on_arg,
    };
    _Static_assert(sizeof slots / sizeof slots[0] == OPT_FAIL_ON - OPT_APP_ID + 1,
                   "one slot per valued option");
    cli_opts p;
    cli_opts_init(&p, "diagnose", argc, argv, cli_diagnose_options, slots, CLI_COUNT(slots),
                  report);
    for (int c; (c = cli_opts_next(&p)) != CLI_OPT_END;) {
        switch (c) {
        case CLI_OPT_HELP:
            o->help = true;
            return true;
        case CLI_OPT_ERROR:
            return false;
        case CLI_OPT_JSON:
            o->json = true;
            break;
        case OPT_NO_TOKEN:
            o->no_token = true;
            o->any_join_flag = true;
            break;
        case OPT_SUMMARY:
            o->summary = true;
            break;
        case OPT_NO_DB:
            o->no_db = true;
            break;
        case CLI_OPT_ARG:
            if (o->token_arg) {
                cli_fail(report, "usage",
                         "diagnose: only one TOKEN argument is accepted (got a second one)");
                return false;
            }
            o->token_arg = p.value;
            break;
        default:                      /* a valued option, already stored in its slot */
            if (c <= OPT_SDK_VERSION) /* the flags that describe a single join */
                o->any_join_flag = true;
        }
    }
    report->json = o->json;
    if (o->project_file && o->db_path) {
        cli_fail(report, "usage", "--project and --db: give one or the other");
        return false;
    }
    if (o->no_db && (o->project_file || o->db_path || o->key_file)) {
        cli_fail(report, "usage", "--no-db: not with %s",
                 o->project_file ? "--project"
                 : o->db_path    ? "--db"
                                 : "--key-file");
        return false;
    }
    if (o->project_file && o->key_file) {
        cli_fail(report, "usage",
                 "--key-file: only with a database (--db or the default one), not --project");
        return false;
    }
    if (o->batch && (o->any_join_flag || o->token_arg)) {
        cli_fail(report, "usage",
                 "--batch: the requests come from the batch input; join flags and TOKEN are "
                 "not accepted with it");
        return false;
    }
    if (o->summary && !o->batch) {
        cli_fail(report, "usage", "--summary: only with --batch");
        return false;
    }
    if (o->fail_on_arg && !o->batch) {
        cli_fail(report, "usage",
                 "--fail-on: only with --batch (a single diagnosis's exit status is its verdict)");
        return false;
    }
    if (o->fail_on_arg && !parse_fail_on(o->fail_on_arg, &o->fail_on)) {
        cli_fail(report, "usage",
                 "--fail-on: a comma-separated list of rejected, unverifiable, invalid");
        return false;
    }
    if (o->threads_arg) {
        uint64_t v;
        if (!o->batch) {
            cli_fail(report, "usage", "--threads: only with --batch");
            return false;
        }
        if (!cli_parse_u64(o->threads_arg, THREADS_MAX, &v) || v == 0) {
            cli_fail(report, "usage", "--threads: must be an integer in 1..%d", THREADS_MAX);
            return false;
        }
        o->threads = (unsigned)v;
    }
    if (o->no_token && o->token_arg) {
        cli_fail(report, "usage", "--no-token: a TOKEN argument was given too");
        return false;
    }
    return check_server(o);
}

/* Opens the project source the options name (--no-db: none; neither --project nor --db: the
 * default database). A missing database is an error, not an empty one: diagnosing must never
 * create one.
 * *status receives the exit status to use on failure. */
bool cli_project_source_open(const cli_diag_opts *o, cli_project_source *src, int *status) {
    memset(src, 0, sizeof *src);
    src->report = o->batch ? NULL : o->report; /* batch workers are threads: stderr only */
    *status = CLI_EXIT_USAGE;
    if (o->project_file)
        return load_project_file(o->report, o->project_file, src);
    bool missing = false;
    char err[200];
    if (!o->no_db &&
        !tdb_location_check(o->db_path ? o->db_path : tdb_default_path(), err, sizeof err)) {
        cli_fail(o->report, "usage", "%s: %s", o->db_path ? "--db" : "$" TDB_ENV_PATH, err);
        return false;
    }
    if (o->db_path) {
        if (cli_project_source_open_db(o->report, o->db_path, o->key_file, src, true, &missing))
            return true;
        *status = missing ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
        return false;
    }
    if (o->no_db)
        return true;
    /* The default database: a missing one is an error, said once with the path looked for. */
    if (cli_project_source_open_db(o->report, tdb_default_path(), o->key_file, src, false,
                                   &missing))
        return true;
    if (missing)
        cli_fail(o->report, "internal_error",
                 "no database at %s (the default: $%s, else %s); give --db PATH or --project "
                 "FILE, or --no-db to diagnose without project configurations",
                 tdb_default_path(), TDB_ENV_PATH, TDB_DEFAULT_PATH);
    *status = CLI_EXIT_INTERNAL;
    return false;
}

/* ---- Single diagnosis ------------------------------------------------------------------- */

/* Fills req from the flags, without the token (read_token comes after: a bad flag is reported
 * before standard input is read); false (reported, exit 64) on a bad value. */
static bool request_from_options(const cli_diag_opts *o, diag_request *req) {
    cli_report *r = o->report;
    memset(req, 0, sizeof *req);
    if (!o->app_id) {
        cli_fail(r, "bad_request", "--app-id: required (the App ID the client initialises with)");
        return false;
    }
    req->app_id = o->app_id;
    req->app_id_len = strlen(o->app_id);
    if (o->service && !diag_service_parse(o->service, &req->service)) {
        cli_fail(r, "bad_request", "--service: must be rtc or rtm");
        return false;
    }
    if (o->channel) {
        req->has_channel = true;
        req->channel = o->channel;
        req->channel_len = strlen(o->channel);
    }
    if (o->uid) {
        uint64_t v;
        if (!cli_parse_u64(o->uid, UINT32_MAX, &v)) {
            cli_fail(r, "bad_request", "--uid: must be an integer in 0..4294967295");
            return false;
        }
        req->has_uid = true;
        req->uid = (uint32_t)v;
    }
    if (o->account) {
        req->has_account = true;
        req->account = o->account;
        req->account_len = strlen(o->account);
    }
    if (o->role && !diag_role_parse(o->role, &req->role)) {
        cli_fail(r, "bad_request", "--role: must be publisher or subscriber");
        return false;
    }
    if (o->platform && !diag_client_parse(o->platform, &req->client)) {
        cli_fail(r, "bad_request", "--platform: must be one of %s", diag_client_names());
        return false;
    }
    req->at = cli_now();
    if (o->at && !diag_at_parse(o->at, strlen(o->at), &req->at)) {
        cli_fail(r, "bad_request", "--at: must be %s", DIAG_AT_FORM);
        return false;
    }
    if (o->sdk_version) {
        req->has_sdk_version = true;
        if (!diag_sdk_version_parse(o->sdk_version, strlen(o->sdk_version), &req->sdk_version)) {
            cli_fail(r, "bad_request", "--sdk-version: %s", diag_sdk_version_form);
            return false;
        }
    }
    char err[256];
    if (!diag_request_validate(req, err, sizeof err)) {
        cli_fail(r, "bad_request", "bad request: %s", err);
        return false;
    }
    return true;
}

/* The token of a single diagnosis into *token (a new buffer; NULL for a join without a token):
 * the argument as given, "" or --no-token for none, "-" -- or no argument when standard input
 * is not a terminal -- for standard input, where nothing at all is an error. false (reported,
 * exit 64) otherwise. */
static bool read_token(const cli_diag_opts *o, char **token, size_t *len) {
    *token = NULL;
    *len = 0;
    if (o->no_token)
        return true;
    const char *arg = o->token_arg;
    if (!arg && isatty(STDIN_FILENO)) {
        cli_fail(o->report, "usage",
                 "diagnose: no TOKEN: give it, pipe it into standard input ('-'), or say "
                 "--no-token to diagnose a join without a token");
        return false;
    }
    if (!arg)
        arg = "-"; /* piped: `fetch-token | tokendoctor diagnose ...` */
    *token = cli_read_token_arg(o->report, arg, len);
    if (!*token)
        return false;
    if (*len == 0 && strcmp(arg, "-") == 0) {
        cli_fail(o->report, "bad_request",
                 "no token on standard input (to diagnose a join without a token, say "
                 "--no-token)");
        free(*token);
        *token = NULL;
        return false;
    }
    return true;
}

static int exit_status_of(diag_verdict v) {
    switch (v) {
    case DIAG_JOINABLE:
        return CLI_EXIT_OK;
    case DIAG_REJECTED:
        return CLI_EXIT_FAIL;
    case DIAG_UNVERIFIABLE:
        return CLI_EXIT_UNVERIFIABLE;
    }
    return CLI_EXIT_INTERNAL;
}

/* Prints r (--json: doc, the diagnosis document, when given, else r's own) and returns the exit
 * status of its verdict. */
static int print_result(const cli_diag_opts *o, const diag_result *r, json_t *doc) {
    bool ok;
    if (o->json) {
        ok = cli_answer(o->report, doc ? json_incref(doc) : diag_result_to_json(r));
    } else {
        diag_result_print(stdout, r, cli_use_color(stdout));
        ok = fflush(stdout) == 0 && !ferror(stdout);
        if (!ok)
            cli_fail(o->report, "internal_error", "cannot write the answer to standard output");
    }
    return ok ? exit_status_of(r->verdict) : CLI_EXIT_INTERNAL;
}

/* The diagnosis by the local engine, against the project source src. */
static int diagnose_local(const cli_diag_opts *o, cli_project_source *src,
                          const diag_request *req) {
    int status = CLI_EXIT_INTERNAL;
    bool failed;
    const char *key;
    size_t key_len;
    diag_request_project_key(req, &key, &key_len);
    const diag_project *p = cli_project_lookup(src, key, key_len, &failed);
    td_ctx *ctx = failed ? NULL : td_ctx_new();
    diag_result *r = ctx ? malloc(sizeof *r) : NULL;
    if (!failed && (!ctx || !r))
        cli_fail(o->report, "internal_error", "out of memory");
    if (r) {
        diag_run(ctx, req, p, NULL, r);
        status = print_result(o, r, NULL);
    }
    free(r);
    td_ctx_free(ctx);
    return status;
}

/* The diagnosis by the service at o->server: POST /v1/diagnose with the same request, its
 * answer printed as a local one would be. */
static int diagnose_remote(const cli_diag_opts *o, const diag_request *req) {
    json_t *body = diag_request_to_json(req);
    if (!body) {
        cli_fail(o->report, "bad_request",
                 "--server: the request cannot be sent as JSON (a value is not valid UTF-8)");
        return CLI_EXIT_USAGE;
    }
    int http = 0;
    json_t *answer = NULL;
    int status = cli_remote_post(o->report, o->server, "/v1/diagnose", body, &http, &answer);
    json_decref(body);
    if (status != CLI_EXIT_OK)
        return status;
    diag_result *r = malloc(sizeof *r);
    if (http != 200) {
        status = cli_remote_failure(o->report, o->server, http, answer);
    } else if (!r) {
        cli_fail(o->report, "internal_error", "out of memory");
        status = CLI_EXIT_INTERNAL;
    } else if (!diag_result_from_json(answer, req, r)) {
        cli_fail(o->report, "internal_error", "--server %s: the answer is not a diagnosis",
                 o->server);
        status = CLI_EXIT_INTERNAL;
    } else {
        status = print_result(o, r, answer); /* --json: the service's document as it is */
    }
    free(r);
    json_decref(answer);
    return status;
}

/* The flags, then the project store (a bad --db or --project is said before standard input is
 * read), then the token. */
static int diagnose_one(const cli_diag_opts *o) {
    diag_request req;
    if (!request_from_options(o, &req))
        return CLI_EXIT_USAGE;
    cli_project_source src;
    memset(&src, 0, sizeof src);
    int status = CLI_EXIT_USAGE;
    char *token = NULL;
    size_t token_len = 0;
    char err[256];
    if (!o->server && !cli_project_source_open(o, &src, &status)) {
        /* status set */
    } else if (!read_token(o, &token, &token_len)) {
        status = CLI_EXIT_USAGE;
    } else {
        req.has_token = token && token_len > 0;
        req.token = token;
        req.token_len = token_len;
        if (!diag_request_validate(&req, err, sizeof err)) {
            cli_fail(o->report, "bad_request", "bad request: %s", err);
            status = CLI_EXIT_USAGE;
        } else {
            status = o->server ? diagnose_remote(o, &req) : diagnose_local(o, &src, &req);
        }
    }
    free(token);
    cli_project_source_free(&src);
    return status;
}

static int diagnose_run(int argc, char **argv, cli_report *report) {
    cli_diag_opts o;
    if (!parse_options(argc, argv, &o, report)) {
        fprintf(stderr, "(see tokendoctor diagnose --help)\n");
        return CLI_EXIT_USAGE;
    }
    if (o.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (o.batch) {
        report->json = false; /* the answer is JSON lines: a failure is said on stderr only */
        return cli_diagnose_batch(&o);
    }
    return diagnose_one(&o);
}

int cli_diagnose(int argc, char **argv) {
    return cli_run_reported(argc, argv, diagnose_run);
}

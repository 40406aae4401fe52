/* cmd_diagnose.c -- `tokendoctor diagnose`: what the platform answers to a join, and the fix.
 *
 * Design
 * ------
 * Two modes share one engine (diag_run) and one project source:
 *
 *  - single: the join is described by flags, the token is an argument ("-" = standard input,
 *    "" or --no-token = no token). The answer is printed for a person (verdict first, then the
 *    fix, the checks, hints, warnings) or, with --json, as the diagnosis JSON. The exit status
 *    is the verdict (0 joinable, 1 rejected, 2 unverifiable), 64 for bad usage or a bad
 *    request (the message names the flag or field), 70 for an internal error -- CI preflight
 *    scripts depend on these.
 *
 *  - batch (--batch FILE|-): JSON lines in, each a request object as the HTTP body with an
 *    optional "id"; one compact JSON line out per input line, in order, "id" echoed (null when
 *    absent). A bad line gets {"id":..., "error":{"code":"bad_request","message":...}} and the
 *    next line is still diagnosed. Lines are streamed: one bounded line buffer, one td_ctx and
 *    one heap-allocated diag_result are reused, so memory stays flat on millions of lines; a
 *    line longer than BATCH_LINE_MAX is answered with an error and skipped, never buffered.
 *    --summary prints only id, verdict, cause, code, hints, warnings, expires_at (details are
 *    not even formatted). Blank lines are ignored. Exit status 0 when every line was processed
 *    (whatever the verdicts, bad lines included), 64 for bad usage, 70 when input, output or
 *    the project store fails (the lines affected still get an error line).
 *
 * Projects come from --project FILE (one configuration or an array, matched by exact App ID;
 * parsed and validated once, looked up by binary search) or from --db PATH (tdb_project_get).
 * Without either, the default database is used when it exists (the same file as `serve`),
 * otherwise the project is unknown.
 */
#include "tdcli.h"
#include "tddb.h"
#include "tddiag.h"

#include <stdlib.h>
#include <string.h>

#define PROJECT_FILE_MAX (64u << 20) /* a project file larger than this is refused */
#define BATCH_LINE_MAX (1u << 20)    /* longest batch line accepted */

/* ---- Projects -------------------------------------------------------------------------- */

/* Where configurations come from: a sorted array loaded from --project, or a database. */
typedef struct {
    diag_project *list; /* sorted by app_id */
    size_t count;
    tdb *db;
    /* one-entry cache for the database, keyed by App ID (batch lines often repeat it) */
    bool cached;
    bool cached_found;
    diag_project cache;
} project_source;

static int project_cmp(const void *a, const void *b) {
    return strcmp(((const diag_project *)a)->app_id, ((const diag_project *)b)->app_id);
}

/* Loads --project FILE: one configuration or an array. false (message printed) on error. */
static bool load_project_file(const char *path, project_source *src) {
    size_t len;
    char *text = cli_read_file(path, PROJECT_FILE_MAX, &len);
    if (!text)
        return false;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!doc) {
        cli_error("--project %s: invalid JSON at line %d: %s", path, jerr.line, jerr.text);
        return false;
    }
    size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
    src->list = calloc(n ? n : 1, sizeof *src->list);
    if (!src->list) {
        json_decref(doc);
        cli_error("out of memory loading %s", path);
        return false;
    }
    char err[256];
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_array(doc) ? json_array_get(doc, i) : doc;
        if (!diag_project_from_json(item, &src->list[i], err, sizeof err)) {
            if (json_is_array(doc))
                cli_error("--project %s: [%zu].%s", path, i, err);
            else
                cli_error("--project %s: %s", path, err);
            json_decref(doc);
            return false;
        }
    }
    json_decref(doc);
    src->count = n;
    qsort(src->list, n, sizeof *src->list, project_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(src->list[i - 1].app_id, src->list[i].app_id) == 0) {
            cli_error("--project %s: App ID %s is configured twice", path, src->list[i].app_id);
            return false;
        }
    return true;
}

/* Opens an existing database; never creates one. *missing tells a missing file from a broken
 * one (message printed only when report_missing or the file exists). */
static bool open_db(const char *path, const char *key_file, project_source *src,
                    bool report_missing, bool *missing) {
    char err[512];
    src->db = tdb_open_existing(path, key_file, missing, err, sizeof err);
    if (!src->db && (report_missing || !*missing))
        cli_error("--db: %s", err);
    return src->db != NULL;
}

/* The configuration of app_id (exact match), or NULL when unknown. *failed is set on a
 * storage error (message printed). */
static const diag_project *project_lookup(project_source *src, const char *app_id, size_t len,
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
    if (src->cached && strcmp(src->cache.app_id, key) == 0)
        return src->cached_found ? &src->cache : NULL;
    tdb_status st = tdb_project_get(src->db, key, &src->cache);
    if (st == TDB_NOT_FOUND) {
        memset(&src->cache, 0, sizeof src->cache);
        memcpy(src->cache.app_id, key, sizeof key);
        src->cached = true;
        src->cached_found = false;
        return NULL;
    }
    if (st != TDB_OK) {
        cli_error("database %s: %s", tdb_path(src->db), tdb_errmsg(src->db));
        src->cached = false;
        *failed = true;
        return NULL;
    }
    src->cached = true;
    src->cached_found = true;
    return &src->cache;
}

static void project_source_free(project_source *src) {
    free(src->list);
    if (src->db)
        tdb_close(src->db);
}

/* ---- Options --------------------------------------------------------------------------- */

typedef struct {
    const char *app_id, *service, *channel, *uid, *account, *role, *platform, *at;
    const char *project_file, *db_path, *key_file, *batch, *token_arg;
    bool json, no_token, summary, help;
    bool any_join_flag; /* a flag that describes a single join (not allowed with --batch) */
} options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: tokendoctor diagnose --app-id ID [--service rtc|rtm] [--channel NAME]\n"
            "                            [--uid N | --account S] [--role publisher|subscriber]\n"
            "                            [--platform P] [--at UNIX]\n"
            "                            [--project FILE | --db PATH [--key-file PATH]]\n"
            "                            [--json] [TOKEN | - | --no-token]\n"
            "       tokendoctor diagnose --batch FILE|- [--summary]\n"
            "                            [--project FILE | --db PATH [--key-file PATH]]\n"
            "\n"
            "Says what the platform answers when this client joins (rtc) or logs in (rtm) with\n"
            "this token, why, and how to fix it.\n"
            "\n"
            "  TOKEN            the token exactly as the client passes it (quotes and spaces\n"
            "                   included); '-' reads it from standard input; '' or --no-token\n"
            "                   (or no TOKEN) diagnoses a join without a token\n"
            "  --service        rtc (join a channel, default) or rtm (log in)\n"
            "  --uid, --account the join's uid (0..4294967295, default 0 = any) or user account\n"
            "  --platform       native (default), objc, web, or android, windows, linux, unity,\n"
            "                   electron, flutter, react-native, cocos, ios, macos\n"
            "  --at             the Unix time at which to judge expiry (default: now)\n"
            "  --project FILE   the project configuration JSON: one object or an array, matched\n"
            "                   by exact App ID (no match: project unknown)\n");
    cli_usage_store_options(out, 19,
                            "read the configuration from this database (never created);\n"
                            "                   without --project or --db, the default database\n"
                            "                   is used when it exists");
    fprintf(
        out,
        "  --json           print the diagnosis JSON instead of text\n"
        "  --batch FILE|-   JSON lines in (each a request object with an optional \"id\"), one\n"
        "                   JSON line out per input line, in order; a bad line gets an\n"
        "                   {\"id\",\"error\"} line and processing goes on\n"
        "  --summary        with --batch: only id, verdict, cause, code, hints, warnings,\n"
        "                   expires_at per line\n"
        "\n"
        "exit status: 0 joinable, 1 rejected, 2 unverifiable, 64 bad usage or bad request,\n"
        "70 internal error; --batch: 0 when every line was processed, 64 bad usage,\n"
        "70 input/output error\n");
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
    OPT_PROJECT,
    OPT_DB,
    OPT_KEY_FILE,
    OPT_BATCH,
    OPT_NO_TOKEN,
    OPT_SUMMARY,
};

static const struct option diagnose_options[] = {
    {"app-id", required_argument, NULL, OPT_APP_ID},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"uid", required_argument, NULL, OPT_UID},
    {"account", required_argument, NULL, OPT_ACCOUNT},
    {"role", required_argument, NULL, OPT_ROLE},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"at", required_argument, NULL, OPT_AT},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"db", required_argument, NULL, OPT_DB},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"no-token", no_argument, NULL, OPT_NO_TOKEN},
    {"summary", no_argument, NULL, OPT_SUMMARY},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* Parses the command line; false (message printed) on bad usage. */
static bool parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    /* Where each valued option goes, in the order of its val (OPT_APP_ID .. OPT_BATCH). */
    const char **const slots[] = {&o->app_id,       &o->service, &o->channel,  &o->uid,
                                  &o->account,      &o->role,    &o->platform, &o->at,
                                  &o->project_file, &o->db_path, &o->key_file, &o->batch};
    cli_opts p;
    cli_opts_init(&p, "diagnose", argc, argv, diagnose_options);
    p.slots = slots;
    p.nslots = (int)(sizeof slots / sizeof slots[0]);
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
        case CLI_OPT_ARG:
            if (o->token_arg) {
                cli_error("diagnose: only one TOKEN argument is accepted (got a second one)");
                return false;
            }
            o->token_arg = p.value;
            break;
        default:             /* a valued option, already stored in its slot */
            if (c <= OPT_AT) /* the flags that describe a single join */
                o->any_join_flag = true;
        }
    }
    if (o->project_file && o->db_path) {
        cli_error("--project and --db: give one or the other");
        return false;
    }
    if (o->project_file && o->key_file) {
        cli_error("--key-file: only with a database (--db or the default one), not --project");
        return false;
    }
    if (o->batch && (o->any_join_flag || o->token_arg)) {
        cli_error("--batch: the requests come from the batch input; join flags and TOKEN are "
                  "not accepted with it");
        return false;
    }
    if (o->summary && !o->batch) {
        cli_error("--summary: only with --batch");
        return false;
    }
    if (o->no_token && o->token_arg) {
        cli_error("--no-token: a TOKEN argument was given too");
        return false;
    }
    return true;
}

/* Opens the project source the options name (or the default database when it exists). A
 * missing --db file is an error, not an empty database: diagnosing must never create one.
 * *status receives the exit status to use on failure. */
static bool open_projects(const options *o, project_source *src, int *status) {
    memset(src, 0, sizeof *src);
    *status = CLI_EXIT_USAGE;
    if (o->project_file)
        return load_project_file(o->project_file, src);
    bool missing = false;
    if (o->db_path) {
        if (open_db(o->db_path, o->key_file, src, true, &missing))
            return true;
        *status = missing ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
        return false;
    }
    /* The default database is used when it exists; without it every project is unknown. */
    if (open_db(tdb_default_path(), o->key_file, src, false, &missing) || missing)
        return true;
    *status = CLI_EXIT_INTERNAL;
    return false;
}

/* ---- Single diagnosis ------------------------------------------------------------------- */

/* Fills req from the flags; false (message printed, exit 64) on a bad value. token is the
 * token text (owned by the caller) or NULL. */
static bool request_from_options(const options *o, const char *token, size_t token_len,
                                 diag_request *req) {
    memset(req, 0, sizeof *req);
    if (!o->app_id) {
        cli_error("--app-id: required (the App ID the client initialises with)");
        return false;
    }
    req->app_id = o->app_id;
    req->app_id_len = strlen(o->app_id);
    if (token && token_len > 0) {
        req->has_token = true;
        req->token = token;
        req->token_len = token_len;
    }
    if (o->service && !diag_service_parse(o->service, &req->service)) {
        cli_error("--service: must be rtc or rtm");
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
            cli_error("--uid: must be an integer in 0..4294967295");
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
        cli_error("--role: must be publisher or subscriber");
        return false;
    }
    if (o->platform && !diag_platform_parse(o->platform, &req->platform)) {
        cli_error("--platform: must be native, objc, web or an alias (android, windows, linux, "
                  "unity, electron, flutter, react-native, cocos, ios, macos)");
        return false;
    }
    req->at = cli_now();
    if (o->at && !cli_parse_i64(o->at, &req->at)) {
        cli_error("--at: must be a Unix time in seconds");
        return false;
    }
    char err[256];
    if (!diag_request_validate(req, err, sizeof err)) {
        cli_error("bad request: %s", err);
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

static int diagnose_one(const options *o) {
    char *token = NULL;
    size_t token_len = 0;
    if (o->token_arg && !o->no_token) {
        token = cli_read_token_arg(o->token_arg, &token_len);
        if (!token)
            return CLI_EXIT_USAGE;
    }
    diag_request req;
    if (!request_from_options(o, token, token_len, &req)) {
        free(token);
        return CLI_EXIT_USAGE;
    }
    project_source src;
    int open_status;
    if (!open_projects(o, &src, &open_status)) {
        free(token);
        project_source_free(&src);
        return open_status;
    }
    int status = CLI_EXIT_INTERNAL;
    bool failed;
    const diag_project *p = project_lookup(&src, req.app_id, req.app_id_len, &failed);
    td_ctx *ctx = failed ? NULL : td_ctx_new();
    diag_result *r = ctx ? malloc(sizeof *r) : NULL;
    if (!failed && (!ctx || !r))
        cli_error("out of memory");
    if (r) {
        diag_run(ctx, &req, p, NULL, r);
        bool ok;
        if (o->json) {
            ok = cli_print_json(stdout, diag_result_to_json(r), false);
        } else {
            diag_result_print(stdout, r, cli_use_color(stdout));
            ok = fflush(stdout) == 0 && !ferror(stdout);
        }
        status = ok ? exit_status_of(r->verdict) : CLI_EXIT_INTERNAL;
        if (!ok)
            cli_error("cannot write the answer to standard output");
    }
    free(r);
    td_ctx_free(ctx);
    project_source_free(&src);
    free(token);
    return status;
}

/* ---- Batch ------------------------------------------------------------------------------ */

/* Reads one line (without its newline) into buf (cap bytes). Returns its length, or -1 at end
 * of input; a line that does not fit is consumed to its end and reported with *too_long. */
static long read_line(FILE *f, char *buf, size_t cap, bool *too_long) {
    *too_long = false;
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        if (n + 1 < cap)
            buf[n++] = (char)c;
        else
            *too_long = true;
    }
    if (c == EOF && n == 0 && !*too_long)
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (long)n;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* One output line is serialised into a reusable buffer and written with a single fwrite:
 * json_dumpf would issue many small writes per line. The buffer only grows (to the longest
 * line), so memory stays flat however many lines go through. */
typedef struct {
    char *buf;
    size_t cap;
} line_buf;

/* Writes doc as one compact JSON line and releases it. false on an output error. */
static bool write_line(line_buf *lb, json_t *doc) {
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t n = doc ? json_dumpb(doc, lb->buf, lb->cap, flags) : 0;
    if (n > 0 && n + 1 > lb->cap) {
        char *grown = realloc(lb->buf, n + 1);
        if (!grown) {
            json_decref(doc);
            return false;
        }
        lb->buf = grown;
        lb->cap = n + 1;
        n = json_dumpb(doc, lb->buf, lb->cap, flags);
    }
    json_decref(doc);
    if (n == 0 || n + 1 > lb->cap)
        return false;
    lb->buf[n] = '\n';
    return fwrite(lb->buf, 1, n + 1, stdout) == n + 1;
}

/* Writes {"id": id, "error": {"code": code, "message": msg}} as one line. */
static bool emit_error(line_buf *lb, json_t *id, const char *code, const char *msg) {
    json_t *line = json_object();
    json_object_set(line, "id", id ? id : json_null());
    json_t *e = diag_error_json(code, msg);
    json_object_update(line, e);
    json_decref(e);
    return write_line(lb, line);
}

static bool emit_diagnosis(line_buf *lb, json_t *id, const diag_result *r, bool summary) {
    json_t *line = json_object();
    json_object_set(line, "id", id ? id : json_null());
    json_t *d = summary ? diag_result_to_summary_json(r) : diag_result_to_json(r);
    json_object_update(line, d);
    json_decref(d);
    return write_line(lb, line);
}

static int diagnose_batch(const options *o) {
    FILE *in = strcmp(o->batch, "-") == 0 ? stdin : fopen(o->batch, "r");
    if (!in) {
        cli_error("--batch %s: cannot open", o->batch);
        return CLI_EXIT_USAGE;
    }
    project_source src;
    int open_status;
    if (!open_projects(o, &src, &open_status)) {
        if (in != stdin)
            fclose(in);
        project_source_free(&src);
        return open_status;
    }
    td_ctx *ctx = td_ctx_new();
    diag_result *r = malloc(sizeof *r);
    char *buf = malloc(BATCH_LINE_MAX + 1);
    int status = CLI_EXIT_OK;
    if (!ctx || !r || !buf) {
        cli_error("out of memory");
        status = CLI_EXIT_INTERNAL;
    }
    diag_options opts = {.skip_details = o->summary};
    line_buf lb = {NULL, 0};
    unsigned long lineno = 0;
    bool store_failed = false; /* a line could not be judged: the run ends with status 70 */
    long n;
    bool too_long;
    while (status == CLI_EXIT_OK && (n = read_line(in, buf, BATCH_LINE_MAX + 1, &too_long)) >= 0) {
        lineno++;
        bool written;
        char msg[320];
        if (too_long) {
            snprintf(msg, sizeof msg, "line %lu: longer than %u bytes", lineno, BATCH_LINE_MAX);
            written = emit_error(&lb, NULL, "bad_request", msg);
        } else if (blank(buf, (size_t)n)) {
            continue;
        } else {
            json_error_t jerr;
            json_t *obj = json_loadb(buf, (size_t)n, 0, &jerr);
            json_t *id = json_is_object(obj) ? json_object_get(obj, "id") : NULL;
            diag_request req;
            char err[256];
            bool db_failed = false;
            if (!obj) {
                snprintf(msg, sizeof msg, "line %lu: invalid JSON: %s", lineno, jerr.text);
                written = emit_error(&lb, NULL, "bad_request", msg);
            } else if (!diag_request_from_json(obj, cli_now(), &req, err, sizeof err)) {
                snprintf(msg, sizeof msg, "line %lu: %s", lineno, err);
                written = emit_error(&lb, id, "bad_request", msg);
            } else {
                const diag_project *p =
                    project_lookup(&src, req.app_id, req.app_id_len, &db_failed);
                if (db_failed) {
                    snprintf(msg, sizeof msg, "line %lu: the project store failed", lineno);
                    written = emit_error(&lb, id, "internal", msg);
                    store_failed = true;
                } else {
                    diag_run(ctx, &req, p, &opts, r);
                    written = emit_diagnosis(&lb, id, r, o->summary);
                }
            }
            json_decref(obj);
        }
        if (!written) {
            cli_error("cannot write to standard output");
            status = CLI_EXIT_INTERNAL;
        }
    }
    if (status == CLI_EXIT_OK && ferror(in)) {
        cli_error("--batch %s: read error", o->batch);
        status = CLI_EXIT_INTERNAL;
    }
    if (store_failed && status == CLI_EXIT_OK)
        status = CLI_EXIT_INTERNAL;
    if (fflush(stdout) != 0 && status == CLI_EXIT_OK) {
        cli_error("cannot write to standard output");
        status = CLI_EXIT_INTERNAL;
    }
    free(lb.buf);
    free(buf);
    free(r);
    td_ctx_free(ctx);
    project_source_free(&src);
    if (in != stdin)
        fclose(in);
    return status;
}

int cli_diagnose(int argc, char **argv) {
    options o;
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "(see tokendoctor diagnose --help)\n");
        return CLI_EXIT_USAGE;
    }
    if (o.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    return o.batch ? diagnose_batch(&o) : diagnose_one(&o);
}

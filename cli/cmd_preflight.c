/* cmd_preflight.c -- `tokendoctor preflight`: ask a token server for tokens and name its bugs.
 *
 * Design
 * ------
 * The work is preflight/'s (pf_run: the matrix, the requests, the diagnoses, the findings);
 * this file reads the command line, the project and the header file, shows a progress bar on a
 * terminal, and prints the report (text, or --json). The project comes from --project FILE
 * (the JSON of `diagnose --project`) or --db PATH, through diagnose's project source, so that a
 * preflight judges tokens against exactly what `diagnose` would.
 *
 * Exit statuses are preflight's own (a CI gate reads them): 0 every token would join, 1 a
 * finding, 2 the token server could not be reached; 64 bad usage, 70 internal error.
 *
 * The header file (an Authorization) is read here, parsed into a pf_headers and wiped, with the
 * file's text, before exit; it is never printed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnose_internal.h"
#include "tdpreflight.h"

#define PF_EXIT_FINDINGS 1
#define PF_EXIT_UNREACHABLE 2

static void usage(FILE *out) {
    fprintf(out,
            "usage: tokendoctor preflight --url TEMPLATE --app-id ID (--project FILE |\n"
            "                             --db PATH [--key-file PATH])\n"
            "                             [--service rtc|rtm] [--method GET|POST]\n"
            "                             [--body TEMPLATE] [--token-field PATH]\n"
            "                             [--roles publisher=NAME,subscriber=NAME]\n"
            "                             [--header-file FILE] [--max-requests N]\n"
            "                             [--timeout SECONDS] [--json]\n"
            "\n"
            "Asks a token server for tokens for joins that break in practice (uid 0, 2^32-1,\n"
            "numeric-looking accounts, channels with spaces, punctuation, 63 bytes, non-ASCII,\n"
            "both roles, several expiries, repeated requests a second apart), diagnoses each as\n"
            "the client would join at the time it arrived, and names the server's bugs.\n"
            "\n"
            "  --url TEMPLATE     http://HOST[:PORT]/PATH[?QUERY] with placeholders {channel},\n"
            "                     {uid}, {account}, {role}, {expire}, {service} (percent-\n"
            "                     encoded); {uid} or {account} required, {channel} for rtc.\n"
            "                     Only what the template holds is tested. http:// only: https\n"
            "                     is refused (libevent's client cannot use mbedTLS)\n"
            "  --app-id ID        the App ID the clients initialise with\n"
            "  --project FILE     the project configuration JSON (as diagnose --project)\n");
    cli_usage_store_options(out, 21, "read the project from this database (read-only)");
    fprintf(out,
            "  --service          rtc (default) or rtm\n"
            "  --method           GET (default) or POST\n"
            "  --body TEMPLATE    POST body, placeholders JSON-escaped (the template has the\n"
            "                     quotes): '{\"channel\":\"{channel}\",\"uid\":{uid}}'\n"
            "  --token-field PATH a dotted path into a JSON answer (rtcToken, data.token);\n"
            "                     default: the whole body is the token\n"
            "  --roles MAP        our roles in the server's words (default\n"
            "                     publisher=publisher,subscriber=subscriber)\n"
            "  --header-file FILE extra request headers, 'Name: value' lines (an Authorization:\n"
            "                     kept off the command line, never printed)\n"
            "  --max-requests N   at most N requests (1..%d, default %d: the whole matrix),\n"
            "                     at most %d a second\n"
            "  --timeout SECONDS  per request (1..%d, default %d)\n"
            "  --json             the report as JSON (docs/preflight.md)\n"
            "\n"
            "exit status (preflight's own): 0 every token would join, 1 a finding, 2 the\n"
            "server could not be reached (no answer at all), 64 bad usage, 70 internal error\n",
            PF_REQUESTS_MAX, PF_REQUESTS_DEFAULT, PF_RATE_PER_S, PF_TIMEOUT_MAX,
            PF_TIMEOUT_DEFAULT);
}

enum {
    OPT_URL = CLI_OPT_FIRST,
    OPT_APP_ID,
    OPT_PROJECT,
    OPT_DB,
    OPT_KEY_FILE,
    OPT_SERVICE,
    OPT_METHOD,
    OPT_BODY,
    OPT_TOKEN_FIELD,
    OPT_ROLES,
    OPT_HEADER_FILE,
    OPT_MAX_REQUESTS,
    OPT_TIMEOUT,
};

const struct option cli_preflight_options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"app-id", required_argument, NULL, OPT_APP_ID},
    {"project", required_argument, NULL, OPT_PROJECT},
    CLI_OPT_DB_ENTRY(OPT_DB),
    CLI_OPT_KEY_FILE_ENTRY(OPT_KEY_FILE),
    {"service", required_argument, NULL, OPT_SERVICE},
    {"method", required_argument, NULL, OPT_METHOD},
    {"body", required_argument, NULL, OPT_BODY},
    {"token-field", required_argument, NULL, OPT_TOKEN_FIELD},
    {"roles", required_argument, NULL, OPT_ROLES},
    {"header-file", required_argument, NULL, OPT_HEADER_FILE},
    {"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *url, *app_id, *project, *db, *key_file, *service, *method, *body, *token_field,
        *roles, *header_file, *max_requests, *timeout;
    bool json, help;
    char role_word[2][65];
} pf_opts;

/* --roles publisher=NAME,subscriber=NAME (either or both). */
static bool parse_roles(const char *text, pf_opts *o) {
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        diag_role role;
        char name[16];
        size_t k = eq ? (size_t)(eq - p) : 0, v = eq ? n - k - 1 : 0;
        if (!eq || k >= sizeof name || v == 0 || v >= sizeof o->role_word[0])
            return false;
        memcpy(name, p, k);
        name[k] = '\0';
        if (!diag_role_parse(name, &role))
            return false;
        memcpy(o->role_word[role], eq + 1, v);
        o->role_word[role][v] = '\0';
        p += n + (p[n] == ',');
    }
    return true;
}

static bool parse_options(int argc, char **argv, pf_opts *o, pf_config *c, cli_report *r) {
    memset(o, 0, sizeof *o);
    const char **const slots[] = {
        &o->url,         &o->app_id,       &o->project, &o->db,          &o->key_file,
        &o->service,     &o->method,       &o->body,    &o->token_field, &o->roles,
        &o->header_file, &o->max_requests, &o->timeout,
    };
    _Static_assert(sizeof slots / sizeof *slots == OPT_TIMEOUT - OPT_URL + 1, "one slot each");
    cli_opts p;
    cli_opts_init(&p, "preflight", argc, argv, cli_preflight_options, slots, CLI_COUNT(slots), r);
    p.nonempty = true;
    for (int k; (k = cli_opts_next(&p)) != CLI_OPT_END;) {
        if (k == CLI_OPT_HELP) {
            o->help = true;
            return true;
        }
        if (k == CLI_OPT_ERROR)
            return false;
        if (k == CLI_OPT_JSON)
            o->json = true;
        else if (k == CLI_OPT_ARG) {
            cli_fail(r, "usage", "preflight: takes no argument ('%s')", p.value);
            return false;
        }
    }
    r->json = o->json;
    pf_config_defaults(c);
    c->url = o->url;
    c->app_id = o->app_id;
    c->body = o->body;
    c->token_field = o->token_field;
    uint64_t v;
    char err[512] = "";
    if (!!o->project == !!o->db)
        snprintf(err, sizeof err, "--project FILE or --db PATH: one of them (the project)");
    else if (o->project && o->key_file)
        snprintf(err, sizeof err, "--key-file: only with --db");
    else if (o->service && !diag_service_parse(o->service, &c->service))
        snprintf(err, sizeof err, "--service: rtc or rtm");
    else if (o->method && strcasecmp(o->method, "GET") && strcasecmp(o->method, "POST"))
        snprintf(err, sizeof err, "--method: GET or POST");
    else if (o->roles && !parse_roles(o->roles, o))
        snprintf(err, sizeof err, "--roles: publisher=NAME,subscriber=NAME (1..64 bytes each)");
    else if (o->max_requests && !cli_parse_u64(o->max_requests, PF_REQUESTS_MAX, &v))
        snprintf(err, sizeof err, "--max-requests: 1..%d", PF_REQUESTS_MAX);
    else if (o->max_requests && (c->max_requests = (unsigned)v) == 0)
        snprintf(err, sizeof err, "--max-requests: 1..%d", PF_REQUESTS_MAX);
    else if (o->timeout && (!cli_parse_u64(o->timeout, PF_TIMEOUT_MAX, &v) || v == 0))
        snprintf(err, sizeof err, "--timeout: 1..%d seconds", PF_TIMEOUT_MAX);
    if (!err[0] && o->timeout)
        c->timeout_s = (unsigned)v;
    c->post = o->method && strcasecmp(o->method, "POST") == 0;
    for (int i = 0; i < 2; i++)
        if (o->role_word[i][0])
            c->role_word[i] = o->role_word[i];
    if (!err[0])
        pf_config_check(c, err, sizeof err);
    if (err[0])
        cli_fail(r, "usage", "preflight: %s", err);
    return !err[0];
}

static bool progress(size_t done, size_t total, void *arg) {
    (void)arg;
    char bar[21];
    size_t fill = total ? done * 20 / total : 20;
    for (size_t i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\rpreflight: [%s] %zu/%zu%s", bar, done, total, done == total ? "\n" : "");
    return true;
}

/* The project of c->app_id from --project or --db into *out (a copy: wiped by the caller).
 * Returns 0, or the exit status (reported). */
static int load_project(const pf_opts *o, const pf_config *c, cli_report *r, diag_project *out) {
    cli_diag_opts d = {
        .project_file = o->project, .db_path = o->db, .key_file = o->key_file, .report = r};
    cli_project_source src;
    int status = CLI_EXIT_OK;
    bool failed = false;
    const diag_project *p = NULL;
    if (cli_project_source_open(&d, &src, &status)) {
        src.report = r;
        p = cli_project_lookup(&src, c->app_id, strlen(c->app_id), &failed);
        if (p)
            *out = *p;
        else if (failed)
            status = CLI_EXIT_INTERNAL;
        else {
            cli_fail(r, "not_found", "preflight: no project configuration for App ID %s in %s",
                     c->app_id, o->project ? o->project : o->db);
            status = CLI_EXIT_USAGE;
        }
    }
    cli_project_source_free(&src);
    return p ? CLI_EXIT_OK : status;
}

/* Reads --header-file into h. */
static bool load_headers(const char *path, pf_headers *h, cli_report *r) {
    size_t len;
    char *text = cli_read_input(r, path, PF_HEADERS_BYTES + 1, &len);
    char err[256];
    bool ok = text && pf_headers_parse(text, len, h, err, sizeof err);
    if (text && !ok)
        cli_fail(r, "usage", "preflight: %s", err);
    if (text)
        explicit_bzero(text, len);
    free(text);
    return ok;
}

int cli_preflight(int argc, char **argv, cli_report *rep) {
    pf_opts o;
    pf_config c;
    if (!parse_options(argc, argv, &o, &c, rep))
        return CLI_EXIT_USAGE;
    if (o.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    diag_project project;
    pf_headers *headers = calloc(1, sizeof *headers);
    pf_report *report = malloc(sizeof *report);
    char err[512];
    int status = headers && report ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    if (status != CLI_EXIT_OK)
        cli_fail(rep, "internal_error", "out of memory");
    else if ((status = load_project(&o, &c, rep, &project)) != CLI_EXIT_OK) {
        /* reported */
    } else if (o.header_file && !load_headers(o.header_file, headers, rep)) {
        status = CLI_EXIT_USAGE;
    } else {
        c.headers = o.header_file ? headers : NULL;
        bool bar = isatty(fileno(stderr)) == 1;
        if (!pf_run(&c, &project, bar ? progress : NULL, NULL, report, err, sizeof err)) {
            cli_fail(rep, "internal_error", "preflight: %s", err);
            status = CLI_EXIT_INTERNAL;
        } else {
            status = pf_report_exit(report);
            if (o.json)
                cli_answer(rep, pf_report_to_json(report));
            else
                pf_report_print(stdout, report, cli_use_color(stdout));
        }
    }
    explicit_bzero(&project, sizeof project);
    if (headers)
        pf_headers_wipe(headers);
    free(headers);
    free(report);
    return status;
}

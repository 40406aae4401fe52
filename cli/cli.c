/* cli.c -- subcommand dispatch and the helpers every subcommand shares.
 *
 * The helpers exist so that a token, a file or a number is read the same way by every
 * subcommand: a token argument of "-" always means standard input minus one trailing newline,
 * numbers are parsed strictly (no sign, no trailing garbage, range checked), and JSON always goes
 * out through one function.
 *
 * Options are parsed by glibc's getopt_long behind cli_opts_next, which adds what getopt does
 * not do the way a script needs: our own messages ("<cmd>: --db needs a value"), no option
 * abbreviations, and positional arguments returned in order whatever POSIXLY_CORRECT says (the
 * optstring starts with '-', RETURN_IN_ORDER, so getopt never permutes argv). getopt keeps its
 * state in optind/optarg/optopt; cli_opts_init resets it with optind = 0, glibc's documented
 * full re-initialisation, so that the parser can run more than once in one process.
 *
 * Failures go to stderr for a person; under --json a script reads stdout, so a command also
 * keeps its first failure in its cli_report (one per run, passed down: no global) and ends
 * with the HTTP API's error object there when it has no answer (cli_finish). `help COMMAND`
 * runs COMMAND --help, so the two texts are one.
 */
#include "tdcli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "td_version.h" /* TD_VERSION, TD_COMMIT: generated at build time */
#include "tddiag.h"     /* diag_error_json, DIAG_JSON_FLAGS, diag_json_duplicate_key */

#define READ_BLOCK (64u << 10) /* cli_read_input reads a file in blocks of this size */

static const cli_command cli_commands[] = {
    {"decode", NULL, cli_decode, cli_decode_options, NULL, NULL, NULL,
     "decode a 006 or 007 token and show every field"},
    {"diagnose", NULL, cli_diagnose, cli_diagnose_options, NULL, NULL, NULL,
     "say what the platform answers to a join, why, and the fix"},
    {"mint", cli_mint, NULL, cli_mint_options, NULL, NULL, NULL,
     "build a 006 or 007 token (for tests and reproductions)"},
    {"project", NULL, cli_project, cli_project_options, NULL,
     "put show list history delete import export", "put import",
     "store a project's certificate configuration; show its history; import, export"},
    {"db", NULL, cli_db, cli_db_options, NULL, "backup migrate", "backup",
     "back up the database while the service runs (restore: see db --help); migrate it"},
    {"apikey", NULL, cli_apikey, cli_apikey_options, NULL, "create list revoke", NULL,
     "create, list and revoke API keys for the HTTP service"},
    {"preflight", NULL, cli_preflight, cli_preflight_options, NULL, NULL, NULL,
     "ask a token server for tokens and name its bugs (exit 0, 1, 2)"},
    {"serve", cli_serve, NULL, NULL, cli_serve_options, NULL, NULL,
     "run the HTTP service (API, web page, probes, metrics)"},
    {"version", cli_version, NULL, NULL, NULL, NULL, NULL,
     "print the version and the commit it was built from (also --version, -V)"},
    {"completion", cli_completion, NULL, NULL, NULL, "bash", NULL,
     "print the bash completion script (completion bash)"},
};

const struct option *cli_command_options(const cli_command *c, struct option *buf) {
    return c->options ? c->options : c->build ? c->build(buf) : NULL;
}

const cli_command *cli_command_list(size_t *count) {
    *count = sizeof cli_commands / sizeof cli_commands[0];
    return cli_commands;
}

static void cli_usage(FILE *out) {
    /* One usage line: the manual's NAME is the third line (packaging/gen-man.sh). */
    fprintf(out, "usage: tokendoctor <command> [options]   (tokendoctor help <command>: its "
                 "options)\n\n");
    fprintf(out, "Tells why a client cannot join a channel with its token, and how to fix it.\n\n");
    fprintf(out, "commands:\n");
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        fprintf(out, "  %-11s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(out, "\nexit status (diagnose): 0 joinable, 1 rejected, 2 unverifiable, "
                 "64 bad usage or request, 70 internal error\n");
}

void cli_print_version(FILE *out) {
    fprintf(out, "tokendoctor %s (commit %s)\n", TD_VERSION, TD_COMMIT);
}

int cli_version(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: tokendoctor version   (also tokendoctor --version, tokendoctor -V)\n\n"
               "Prints the version and the git commit the program was built from (\"unknown\"\n"
               "when it was not built from a git checkout).\n");
        return CLI_EXIT_OK;
    }
    if (argc > 1) {
        cli_error("version: takes no argument");
        return CLI_EXIT_USAGE;
    }
    cli_print_version(stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

static const cli_command *cli_command_named(const char *name) {
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        if (strcmp(name, cli_commands[i].name) == 0)
            return &cli_commands[i];
    return NULL;
}

/* Runs c on argv (its name first), with a report when it takes one. */
static int cli_command_run(const cli_command *c, int argc, char **argv) {
    return c->run ? c->run(argc, argv) : cli_run_reported(argc, argv, c->run_reported);
}

/* `tokendoctor help [COMMAND]`: the usage, or COMMAND's own --help (the same text, so the two
 * can never disagree). */
static int cli_help(int argc, char **argv) {
    if (argc == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *c = cli_command_named(argv[0]);
    if (!c || argc > 1) {
        if (c)
            cli_error("help: one command at a time (tokendoctor help %s)", argv[0]);
        else
            cli_error("help: unknown command '%s'", argv[0]);
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char help[] = "--help";
    char *args[] = {argv[0], help, NULL};
    return cli_command_run(c, 2, args);
}

int cli_main(int argc, char **argv) {
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "help") == 0)
        return cli_help(argc - 2, argv + 2);
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return cli_version(1, argv + 1);
    const cli_command *c = cli_command_named(name);
    if (c)
        return cli_command_run(c, argc - 1, argv + 1);
    cli_error("unknown command '%s'", name);
    cli_usage(stderr);
    return CLI_EXIT_USAGE;
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("tokendoctor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- Failures under --json ------------------------------------------------------------------ */

void cli_report_init(cli_report *r, int argc, char **argv) {
    memset(r, 0, sizeof *r);
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            r->json = true;
}

void cli_fail(cli_report *r, const char *code, const char *fmt, ...) {
    char msg[sizeof r->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "tokendoctor: %s\n", msg);
    if (r && !r->code[0]) {
        snprintf(r->code, sizeof r->code, "%s", code ? code : "failed");
        memcpy(r->message, msg, sizeof msg);
    }
}

bool cli_answer(cli_report *r, json_t *doc) {
    bool ok = cli_print_json(stdout, doc, false);
    if (r)
        r->answered = true; /* even half written: a second document would not mend it */
    if (!ok)
        cli_fail(r, "internal_error", "cannot write the answer to standard output");
    return ok;
}

/* The error code of a failure that kept no message, by its exit status. */
static const char *code_of_status(int status) {
    switch (status) {
    case CLI_EXIT_FAIL:
        return "not_found";
    case CLI_EXIT_USAGE:
        return "usage";
    case CLI_EXIT_INTERNAL:
        return "internal_error";
    default:
        return "failed";
    }
}

int cli_finish(cli_report *r, int status) {
    if (!r || !r->json || r->answered || status == CLI_EXIT_OK)
        return status;
    char fallback[64];
    snprintf(fallback, sizeof fallback, "failed with exit status %d", status);
    json_t *doc = diag_error_json(r->code[0] ? r->code : code_of_status(status),
                                  r->code[0] ? r->message : fallback);
    r->answered = true;
    cli_print_json(stdout, doc, false);
    fflush(stdout);
    return status;
}

json_t *cli_parse_json(cli_report *r, const char *prefix, const char *name, const char *text,
                       size_t len) {
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, DIAG_JSON_FLAGS, &jerr);
    char dup[128];
    if (!doc && diag_json_duplicate_key(&jerr, dup, sizeof dup))
        cli_fail(r, "bad_request", "%s%s: %s", prefix, name, dup);
    else if (!doc)
        cli_fail(r, "bad_request", "%s%s: invalid JSON at line %d, column %d", prefix, name,
                 jerr.line, jerr.column);
    return doc;
}

int cli_run_reported(int argc, char **argv, int (*run)(int argc, char **argv, cli_report *r)) {
    cli_report report;
    cli_report_init(&report, argc, argv);
    return cli_finish(&report, run(argc, argv, &report));
}

char *cli_read_file(const char *path, size_t max, size_t *len) {
    return cli_read_input(NULL, path, max, len);
}

char *cli_read_input(cli_report *r, const char *path, size_t max, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_fail(r, "usage", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    /* td_buf: the cap is max, growth cannot overflow; read in blocks of at most READ_BLOCK. */
    td_buf b;
    td_buf_init(&b, max);
    bool too_big = false;
    for (;;) {
        size_t want = max - b.len < READ_BLOCK ? max - b.len : READ_BLOCK;
        if (want == 0) {
            too_big = fgetc(f) != EOF; /* exactly max bytes is allowed */
            break;
        }
        char *dst = td_buf_space(&b, want);
        if (!dst)
            break; /* out of memory: b.status */
        size_t got = fread(dst, 1, want, f);
        td_buf_commit(&b, got);
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (b.status != TD_BUF_OK) {
        td_buf_free(&b);
        cli_fail(r, "internal_error", "out of memory reading %s", path);
        return NULL;
    }
    if (failed || too_big) {
        if (too_big)
            cli_fail(r, "usage", "%s: larger than %zu bytes",
                     strcmp(path, "-") ? path : "standard input", max);
        else
            cli_fail(r, "internal_error", "cannot read %s", path);
        td_buf_free(&b);
        return NULL;
    }
    return td_buf_take(&b, len); /* NUL-terminated: td_buf_space ran at least once */
}

char *cli_read_token_arg(cli_report *r, const char *arg, size_t *len) {
    if (strcmp(arg, "-") != 0) {
        *len = strlen(arg);
        char *copy = strdup(arg);
        if (!copy)
            cli_fail(r, "internal_error", "out of memory");
        return copy;
    }
    /* Tokens are at most 4 KiB; read a little more so that an oversize one is reported as
     * such by the decoder rather than silently cut. */
    char *buf = cli_read_input(r, "-", 1 << 16, len);
    if (!buf)
        return NULL;
    if (*len > 0 && buf[*len - 1] == '\n') {
        buf[--*len] = '\0';
        if (*len > 0 && buf[*len - 1] == '\r')
            buf[--*len] = '\0';
    }
    return buf;
}

bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool cli_parse_i64(const char *s, int64_t *out) {
    if (!s)
        return false;
    bool neg = *s == '-';
    uint64_t mag;
    if (!cli_parse_u64(s + neg, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag))
        return false;
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

bool cli_print_json(FILE *out, json_t *doc, bool compact) {
    if (!doc)
        return false;
    size_t flags = (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER;
    int rc = json_dumpf(doc, out, flags);
    json_decref(doc);
    if (rc != 0)
        return false;
    return fputc('\n', out) != EOF;
}

bool cli_use_color(FILE *out) {
    const char *no = getenv("NO_COLOR");
    if (no && *no)
        return false;
    return isatty(fileno(out)) == 1;
}

int64_t cli_now(void) {
    return (int64_t)time(NULL);
}

void cli_format_utc(int64_t t, char *out, size_t cap) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}

/* ---- Option parsing ------------------------------------------------------------------------ */

/* '-': positional arguments come back in order as val 1; ':': a missing value is ':' not '?'. */
#define CLI_OPTSTRING "-:h"

void cli_opts_init(cli_opts *p, const char *cmd, int argc, char **argv,
                   const struct option *longopts, const char **const *slots, int nslots,
                   cli_report *report) {
    *p = (cli_opts){.cmd = cmd,
                    .argc = argc,
                    .argv = argv,
                    .longopts = longopts,
                    .slots = slots,
                    .nslots = nslots,
                    .report = report};
    optind = 0; /* glibc: re-initialise completely (a previous parse leaves state behind) */
    opterr = 0;
}

static const struct option *cli_opts_by_val(const cli_opts *p, int val) {
    for (const struct option *o = p->longopts; o->name; o++)
        if (o->val == val)
            return o;
    return NULL;
}

/* Prints "<cmd>: unknown option 'TEXT'" with TEXT cut at '=' (a value may be a secret). */
static int cli_opts_unknown(const cli_opts *p, const char *text) {
    int n = (int)strcspn(text, "=");
    cli_fail(p->report, "usage", "%s: unknown option '%.*s'", p->cmd, n, text);
    return CLI_OPT_ERROR;
}

/* getopt_long accepts any unambiguous prefix of a long option; we accept only its full name.
 * text is the argument as written ("--name" or "--name=value"). */
static bool cli_opts_exact(const char *text, const char *name) {
    size_t n = strlen(name);
    return strncmp(text, "--", 2) == 0 && strncmp(text + 2, name, n) == 0 &&
           (text[2 + n] == '\0' || text[2 + n] == '=');
}

/* The next positional argument after "--" (getopt is not called again: it would read an
 * argument such as "-x" as an option). */
static int cli_opts_rest(cli_opts *p) {
    if (optind >= p->argc)
        return CLI_OPT_END;
    p->value = p->argv[optind++];
    return CLI_OPT_ARG;
}

/* The slot of option val c, or NULL when the caller stores it. */
static const char **cli_opts_slot(const cli_opts *p, int c) {
    int i = c - CLI_OPT_FIRST;
    return p->slots && i >= 0 && i < p->nslots ? p->slots[i] : NULL;
}

/* Stores the value of the option just read into its slot, if it has one. */
static int cli_opts_store(cli_opts *p, int c) {
    const char **slot = cli_opts_slot(p, c);
    if (!slot)
        return c;
    if (p->nonempty && !*p->value) {
        cli_fail(p->report, "usage", "%s: %s needs a value", p->cmd, p->flag);
        return CLI_OPT_ERROR;
    }
    if (*slot) {
        cli_fail(p->report, "usage", "%s: %s given twice", p->cmd, p->flag);
        return CLI_OPT_ERROR;
    }
    *slot = p->value;
    return c;
}

int cli_opts_next(cli_opts *p) {
    p->value = NULL;
    p->flag[0] = '\0';
    if (p->positional_only)
        return cli_opts_rest(p);
    int index = -1;
    int c = getopt_long(p->argc, p->argv, CLI_OPTSTRING, p->longopts, &index);
    if (c == -1) {
        p->positional_only = true; /* "--" or the end */
        return cli_opts_rest(p);
    }
    if (c == 1) {
        p->value = optarg;
        return CLI_OPT_ARG;
    }
    if (c == 'h' && index < 0)
        return CLI_OPT_HELP; /* -h */
    /* A long option, or an error. getopt sets index only on success; on an error optopt holds
     * the option's val (0 for an unknown or ambiguous long option, the character for an
     * unknown short one) and the option itself is the last argument read. */
    bool ok = c != '?' && c != ':';
    const struct option *o = ok ? &p->longopts[index] : cli_opts_by_val(p, optopt);
    if (!o) {
        if (optopt != 0) {
            cli_fail(p->report, "usage", "%s: unknown option '-%c'", p->cmd, optopt);
            return CLI_OPT_ERROR;
        }
        return cli_opts_unknown(p, p->argv[optind - 1]);
    }
    /* The option as written: before its separate value, when it took one. */
    bool separate = ok && o->has_arg != no_argument && optarg == p->argv[optind - 1];
    const char *text = p->argv[optind - (separate ? 2 : 1)];
    if (!cli_opts_exact(text, o->name))
        return cli_opts_unknown(p, text);
    snprintf(p->flag, sizeof p->flag, "--%s", o->name);
    if (c == ':') {
        cli_fail(p->report, "usage", "%s: %s needs a value", p->cmd, p->flag);
        return CLI_OPT_ERROR;
    }
    if (c == '?') { /* --name=value for an option that takes none */
        cli_fail(p->report, "usage", "%s: %s takes no value", p->cmd, p->flag);
        return CLI_OPT_ERROR;
    }
    if (c == 'h')
        return CLI_OPT_HELP;
    p->value = optarg;
    return cli_opts_store(p, c);
}

bool cli_opts_action(cli_opts *p, bool *json, bool *help, const char **pos, int *npos, int cap) {
    for (int c; (c = cli_opts_next(p)) != CLI_OPT_END;) {
        if (c == CLI_OPT_HELP) {
            *help = true;
        } else if (c == CLI_OPT_JSON) {
            *json = true;
        } else if (c == CLI_OPT_ARG && *npos < cap) {
            pos[(*npos)++] = p->value;
        } else if (c == CLI_OPT_ARG) {
            cli_fail(p->report, "usage", "%s: too many arguments", p->cmd);
            return false;
        } else if (c >= CLI_OPT_FIRST + p->nslots && c < CLI_OPT_FIRST + p->nslots + p->nflags) {
            *p->flags[c - CLI_OPT_FIRST - p->nslots] = true;
        } else if (c < CLI_OPT_FIRST || !cli_opts_slot(p, c)) {
            return false; /* CLI_OPT_ERROR (message printed); every option has a slot or flag */
        }
    }
    return true;
}

int cli_opts_action_run(cli_opts *p, void (*usage)(FILE *out), bool *json, const char **pos,
                        int *npos, int cap) {
    bool help = false;
    if (!cli_opts_action(p, json, &help, pos, npos, cap)) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    p->report->json = *json;
    return -1;
}

/* ---- The project store --------------------------------------------------------------------- */

void cli_usage_store_options(FILE *out, int width, const char *db_what) {
    int name = width - 2;
    fprintf(out, "  %-*s%s\n%*s(default: $%s if set, else %s)\n", name, "--db PATH", db_what, width,
            "", TDB_ENV_PATH, TDB_DEFAULT_PATH);
    fprintf(out, "%*s(a SQLite file, or a postgresql:// URL)\n", width, "");
    fprintf(out,
            "  %-*sthe certificate key file\n%*s(default: $%s if set, else\n%*s%s in the "
            "database's directory;\n%*srequired with a URL)\n",
            name, "--key-file PATH", width, "", TDB_ENV_KEY_FILE, width, "", TDB_KEY_FILE_NAME,
            width, "");
}

tdb *cli_store_open(cli_report *r, const char *db_path, const char *key_file, cli_store_use use,
                    int *status) {
    char err[600];
    bool missing = false;
    if (!tdb_location_check(db_path ? db_path : tdb_default_path(), err, sizeof err)) {
        cli_fail(r, "usage", "%s: %s", db_path ? "--db" : "$" TDB_ENV_PATH, err);
        *status = CLI_EXIT_USAGE;
        return NULL;
    }
    tdb *db =
        use == CLI_STORE_CREATE ? tdb_open(db_path, key_file, err, sizeof err)
        : use == CLI_STORE_WRITE
            ? tdb_open_existing(db_path, key_file, &missing, err, sizeof err)
            : tdb_open_readonly(db_path, key_file, TDB_KEY_OPTIONAL, &missing, err, sizeof err);
    if (!db) {
        cli_fail(r, missing ? "not_found" : "internal_error", "%s%s", err,
                 missing ? " (tokendoctor project put creates it)" : "");
        *status = missing ? CLI_EXIT_FAIL : CLI_EXIT_INTERNAL;
    }
    return db;
}

int cli_store_failure(cli_report *r, tdb *db, tdb_status s) {
    cli_fail(r,
             s == TDB_NOT_FOUND ? "not_found"
             : s == TDB_INVALID ? "bad_request"
                                : "internal_error",
             "%s", tdb_errmsg(db));
    switch (s) {
    case TDB_NOT_FOUND:
        return CLI_EXIT_FAIL;
    case TDB_INVALID:
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_INTERNAL;
    }
}

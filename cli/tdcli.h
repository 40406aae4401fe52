/* tdcli.h -- the `tokendoctor` command line.
 *
 * One program with subcommands (shared/spec/interfaces.md "Command line"): decode, diagnose,
 * mint, project, apikey, serve. cli_main() dispatches on argv[1]; each subcommand is one
 * function in its own file (cmd_<name>.c) taking the arguments after its name, and returns the
 * process exit status. Shared helpers for the subcommands (reading a token or a file, printing
 * JSON, parsing numbers) are declared below so that every subcommand handles input the same way.
 * `tokendoctor help COMMAND` is COMMAND --help.
 *
 * Exit statuses are a contract scripts depend on:
 *   decode    0 decoded, 1 not decodable, 64 usage
 *   diagnose  0 joinable, 1 rejected, 2 unverifiable, 64 bad usage or request, 70 internal error
 *   preflight 0 every token would join, 1 a finding, 2 server unreachable, 64 usage, 70 internal
 *   others    0 success, 1 not found / refused, 64 usage, 70 internal error (storage, I/O)
 */
#ifndef TDCLI_H
#define TDCLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tddb.h"
#include "tdserver.h" /* CLI_EXIT_*: named there, as srv_run() returns them too */

#ifdef __cplusplus
extern "C" {
#endif

/* The program: argv[0] is the program name, argv[1] the subcommand. */
int cli_main(int argc, char **argv);

/* Prints "tokendoctor: <message>" to stderr (printf-style; the format is always a literal). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Failures under --json -----------------------------------------------------------------
 *
 * With --json, standard output holds exactly one JSON document whatever happens: the answer,
 * or, when the command fails before it has one, the error object of the HTTP API,
 * {"error": {"code", "message"}}; the exit status is the same either way. A command that takes
 * --json owns a cli_report for its run and hands it to every helper that can fail (the option
 * parser through cli_opts.report, cli_read_input, cli_store_open, ...): each failure is printed
 * on stderr as cli_error prints it and the first one is kept. The command prints its answer
 * with cli_answer and returns through cli_finish, which prints the error object when the run
 * failed without an answer. A NULL report is allowed everywhere: stderr only. */
typedef struct {
    bool json;         /* --json: stdout owes one JSON document */
    bool answered;     /* the answer (cli_answer) is on stdout */
    char code[32];     /* the first failure's code ("" until one): "usage", "bad_request", ... */
    char message[512]; /* and its message (as on stderr, without the "tokendoctor: ") */
} cli_report;

/* A report for a run of argv (the subcommand's arguments): json when --json is among them before
 * a "--", so that even a usage error found before --json is read answers in JSON. The command
 * sets r->json from its parsed options once they parse. */
void cli_report_init(cli_report *r, int argc, char **argv);

/* Prints the message like cli_error and keeps it in r (the first one only) with its code, the
 * HTTP API's error code for the same failure where there is one ("bad_request", "not_found",
 * "internal_error") and "usage" for a bad command line. r may be NULL. */
void cli_fail(cli_report *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints doc as the answer (cli_print_json, indented) and marks r answered; releases doc.
 * false on an output error (reported). */
bool cli_answer(cli_report *r, json_t *doc);

/* Subcommands: argv[0] is the subcommand's name, options follow. Those that take --json and
 * fail through a report take it as r (cli_run_reported makes it and finishes the run). */
int cli_decode(int argc, char **argv, cli_report *r);
int cli_diagnose(int argc, char **argv, cli_report *r);
int cli_mint(int argc, char **argv);
int cli_project(int argc, char **argv, cli_report *r);
int cli_apikey(int argc, char **argv, cli_report *r);
int cli_db(int argc, char **argv, cli_report *r);
int cli_serve(int argc, char **argv);
int cli_preflight(int argc, char **argv, cli_report *r);
int cli_version(int argc, char **argv);
int cli_completion(int argc, char **argv);

/* One subcommand, as the usage, the completion script and the manual list it. */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);                         /* or NULL, and: */
    int (*run_reported)(int argc, char **argv, cli_report *r); /* run by cli_run_reported */
    const struct option *options; /* its getopt_long table (ends all-zero); NULL: see build */
    const struct option *(*build)(struct option *buf); /* or the table built into buf (serve);
                                                          both NULL: only --help */
    const char *actions;      /* its first argument, space-separated (project, apikey), or NULL */
    const char *file_actions; /* the actions whose argument is a file, or NULL */
    const char *summary;
} cli_command;

/* Every subcommand, in the order the usage lists them. */
const cli_command *cli_command_list(size_t *count);

/* "tokendoctor VERSION (commit COMMIT)" and a newline. */
void cli_print_version(FILE *out);

/* The options each subcommand parses with (its getopt_long table, ending with an all-zero
 * entry), so that the completion script and the manual list exactly what is accepted: a static
 * table, or (serve) one built into buf (CLI_OPTIONS_MAX entries). */
#define CLI_OPTIONS_MAX 64
extern const struct option cli_decode_options[];
extern const struct option cli_diagnose_options[];
extern const struct option cli_mint_options[];
extern const struct option cli_project_options[];
extern const struct option cli_apikey_options[];
extern const struct option cli_db_options[];
extern const struct option cli_preflight_options[];
const struct option *cli_serve_options(struct option *buf);

/* The options of c: its table, the one its build fills into buf (CLI_OPTIONS_MAX entries), or
 * NULL when it has only --help. */
const struct option *cli_command_options(const cli_command *c, struct option *buf);

/* ---- Helpers shared by the subcommands -------------------------------------------------- */

/* The exit status of a run that ends with status: with --json, no answer printed and a failure
 * (status not 0), the error object goes to stdout first -- the kept failure, or one named after
 * the status when none was kept. */
int cli_finish(cli_report *r, int status);

/* The JSON document in text (len bytes, parsed with DIAG_JSON_FLAGS: a duplicate key is
 * refused), or NULL with a bad_request reported to r: "<prefix><name>: " and the duplicate key,
 * or the position of the syntax error (never jansson's text: it may quote the input, a
 * certificate perhaps). The caller keeps text. */
json_t *cli_parse_json(cli_report *r, const char *prefix, const char *name, const char *text,
                       size_t len);

/* A subcommand's whole run with its report: cli_report_init from argv, run, then cli_finish of
 * what run returns. */
int cli_run_reported(int argc, char **argv, int (*run)(int argc, char **argv, cli_report *r));

/* Reads all of `path` ("-" = standard input) into a new NUL-terminated buffer of at most max
 * bytes; *len receives its length. NULL (with the reason reported to r) on error or when
 * larger. */
char *cli_read_input(cli_report *r, const char *path, size_t max, size_t *len);
/* The same without a report. */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* Reads a TOKEN argument: "-" reads standard input with one trailing newline ("\n" or "\r\n")
 * removed; anything else is used exactly as given. The result is a new buffer. NULL on error
 * (reported to r). */
char *cli_read_token_arg(cli_report *r, const char *arg, size_t *len);

/* Strict decimal parsing: the whole string, no sign, no spaces, within [0, max]. */
bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Strict signed decimal (for --at): optional '-', digits. */
bool cli_parse_i64(const char *s, int64_t *out);

/* Prints one JSON document followed by a newline (compact when compact is true, otherwise
 * indented) and releases the reference. false on an output error. */
bool cli_print_json(FILE *out, json_t *doc, bool compact);

/* True when colour should be used on `out`: it is a TTY and NO_COLOR is unset or empty. */
bool cli_use_color(FILE *out);

/* Current Unix time. */
int64_t cli_now(void);

/* A Unix time as "YYYY-MM-DD HH:MM:SS UTC" (the decimal number when it cannot be shown so), as
 * the project and apikey listings print their times. */
void cli_format_utc(int64_t t, char *out, size_t cap);

/* ---- Option parsing ------------------------------------------------------------------------
 *
 * Every subcommand reads its argv through one getopt_long loop (cli_opts_next), so that "--",
 * -h/--help, "--name VALUE" and "--name=VALUE", missing values, unknown options and options
 * given twice behave and read the same everywhere. A subcommand lists its options (struct
 * option; vals CLI_OPT_FIRST, CLI_OPT_FIRST + 1, ...; plus the shared entries below), says
 * where the string values go (slots), and switches on what cli_opts_next returns:
 *
 *     cli_opts p;
 *     cli_opts_init(&p, "decode", argc, argv, longopts, slots, CLI_COUNT(slots), report);
 *     for (int c; (c = cli_opts_next(&p)) != CLI_OPT_END;)
 *         switch (c) { case CLI_OPT_JSON: ...; case CLI_OPT_ARG: p.value is positional; ... }
 *
 * Options and positional arguments may be mixed in any order; positional arguments come back
 * as CLI_OPT_ARG in their order ("-" and "" included); everything after "--" is positional.
 * Option names must be given in full: getopt_long's abbreviations are refused, so that a
 * mistyped "--cert" can never be taken for "--certificate-file". */

enum {
    CLI_OPT_END = -1,    /* no more arguments */
    CLI_OPT_HELP = -2,   /* -h or --help */
    CLI_OPT_ERROR = -3,  /* unknown option, missing or unexpected value (message printed) */
    CLI_OPT_ARG = -4,    /* a positional argument, in value */
    CLI_OPT_JSON = 255,  /* --json, the same in every subcommand that has it */
    CLI_OPT_FIRST = 256, /* the first val of a subcommand's own options */
};

#define CLI_OPT_HELP_ENTRY                                                                         \
    { "help", no_argument, NULL, 'h' }
#define CLI_OPT_JSON_ENTRY                                                                         \
    { "json", no_argument, NULL, CLI_OPT_JSON }
/* --db PATH and --key-file PATH, the store's two options (cli_usage_store_options prints them,
 * cli_store_open takes their values), with the subcommand's vals for them. */
#define CLI_OPT_DB_ENTRY(val)                                                                      \
    { "db", required_argument, NULL, (val) }
#define CLI_OPT_KEY_FILE_ENTRY(val)                                                                \
    { "key-file", required_argument, NULL, (val) }

typedef struct {
    const char *cmd; /* the subcommand, for messages ("apikey") */
    int argc;
    char **argv;
    const struct option *longopts; /* ends with an all-zero entry */
    /* Optional (given to cli_opts_init): slots[val - CLI_OPT_FIRST], for val < CLI_OPT_FIRST +
     * nslots, is where the value of that option is stored by cli_opts_next itself (NULL entry:
     * the caller handles it). A value stored twice is refused ("given twice"); with nonempty, an
     * empty value too (for paths and names). */
    const char **const *slots;
    int nslots;
    bool nonempty;
    /* Optional, for cli_opts_action: flags[val - CLI_OPT_FIRST - nslots], for the options without
     * a value that follow the slotted ones, is set to true when the option is given. */
    bool *const *flags;
    int nflags;
    cli_report *report;   /* optional (given to cli_opts_init): where usage errors are kept */
    bool positional_only; /* "--" seen (or getopt finished): the rest is positional */
    const char *value;    /* the value of the option or the positional just returned */
    char flag[64];        /* the option just returned, as "--name" */
} cli_opts;

/* Starts a parse of argv with longopts; slots (nslots entries, may be NULL) and report (may be
 * NULL) as in cli_opts above. The optional fields not named here start zero. */
void cli_opts_init(cli_opts *p, const char *cmd, int argc, char **argv,
                   const struct option *longopts, const char **const *slots, int nslots,
                   cli_report *report);

/* The number of entries of an array (slots, flags), as cli_opts counts them. */
#define CLI_COUNT(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* The next option's val (its value in p->value, already stored when it has a slot), or one of
 * the CLI_OPT_ codes above. */
int cli_opts_next(cli_opts *p);

/* The whole loop of a command made of an action and its arguments (project, apikey): every
 * valued option has a slot, every other one a flag, --json and -h/--help set *json and *help,
 * positional arguments
 * go to pos (at most cap: "<cmd>: too many arguments"). false (message printed) on a usage
 * error. */
bool cli_opts_action(cli_opts *p, bool *json, bool *help, const char **pos, int *npos, int cap);

/* cli_opts_action with the answers every such command gives: on a usage error its usage to
 * stderr and 64; on --help its usage to stdout and 0; otherwise -1 to go on, with
 * p->report->json (p->report must be set) said by --json. */
int cli_opts_action_run(cli_opts *p, void (*usage)(FILE *out), bool *json, const char **pos,
                        int *npos, int cap);

/* ---- Asking a running service (--server URL, remote.c) ------------------------------------- */

#define CLI_ENV_SERVER "TOKENDOCTOR_SERVER"
#define CLI_ENV_API_KEY_FILE "TOKENDOCTOR_API_KEY_FILE"

/* The service a command asks: option (--server's value) when given, else $TOKENDOCTOR_SERVER
 * when set and not empty, else NULL (no service: the local store). */
const char *cli_server_url(const char *option);

/* POSTs body (compact JSON) to path ("/v1/diagnose") under url (http://HOST[:PORT][/PREFIX]),
 * with the API key of $TOKENDOCTOR_API_KEY_FILE when that is set. Returns 0 with *status the
 * HTTP status and *answer its JSON body (a new reference) when the service answered with JSON;
 * otherwise the exit status (reported to r): 64 for a URL not of that form (https included) or
 * an unreadable key file, 70 when the service could not be reached, did not answer within 30 s
 * or answered without JSON. */
int cli_remote_post(cli_report *r, const char *url, const char *path, json_t *body, int *status,
                    json_t **answer);

/* Reports a service's error answer (status >= 400, answer its error object) to r with the
 * service's code and message, and returns the exit status: 64 for a 4xx (a bad request, or a
 * key missing or refused), 70 otherwise. */
int cli_remote_failure(cli_report *r, const char *url, int status, json_t *answer);

/* ---- The project store, as project, apikey, diagnose and mint use it ------------------------ */

/* Prints the --db and --key-file lines of a usage text: db_what says what the database is for
 * that command; width is the column at which descriptions start. */
void cli_usage_store_options(FILE *out, int width, const char *db_what);

/* How a command uses the store. Only commands that write something new (project put, apikey
 * create) create: a read, a delete or a revoke on a mistyped path must not leave an empty
 * database behind. Commands that only read open it read-only (tdb_open_readonly, the key file
 * optional): they work on a read-only file or directory and for a user who cannot write it. */
typedef enum { CLI_STORE_CREATE, CLI_STORE_WRITE, CLI_STORE_READ } cli_store_use;

/* Opens the database of --db/--key-file (NULL = the defaults) for use. NULL with the reason
 * reported to r (may be NULL) and *status the exit status: 1 when the database does not exist,
 * 70 on any other failure. */
tdb *cli_store_open(cli_report *r, const char *db_path, const char *key_file, cli_store_use use,
                    int *status);

/* ---- project import / export (cmd_project_bulk.c) ------------------------------------------ */

/* The actor of a change made by this process: "NAME (cli)", NAME the effective user's name
 * ("uid N (cli)" when it has none), into buf. */
const char *cli_project_actor(char *buf, size_t cap);

typedef struct {
    const char *db_path, *key_file; /* NULL: the defaults */
    const char *input;              /* import: a file or "-" */
    const char *format;             /* export: NULL or "jsonl" */
    const char *certificates_for;   /* export: a key file, or NULL (fingerprints only) */
    bool json, continue_on_error, dry_run;
    cli_report *report;
} cli_bulk_args;

/* `project import` and `project export`: the exit status. */
int cli_project_import(const cli_bulk_args *a);
int cli_project_export(const cli_bulk_args *a);

/* Reports the message of a failed tdb call to r (may be NULL) and returns its exit status: 1 not
 * found, 64 invalid input, 70 storage error. */
int cli_store_failure(cli_report *r, tdb *db, tdb_status s);

#ifdef __cplusplus
}
#endif
#endif /* TDCLI_H */

/* tdcli.h -- the `tokendoctor` command line.
 *
 * One program with subcommands (shared/spec/interfaces.md "Command line"): decode, diagnose,
 * mint, project, apikey, serve. cli_main() dispatches on argv[1]; each subcommand is one
 * function in its own file (cmd_<name>.c) taking the arguments after its name, and returns the
 * process exit status. Shared helpers for the subcommands (reading a token or a file, printing
 * JSON, parsing numbers) are declared below so that every subcommand handles input the same way.
 *
 * Exit statuses are a contract scripts depend on:
 *   decode    0 decoded, 1 not decodable, 64 usage
 *   diagnose  0 joinable, 1 rejected, 2 unverifiable, 64 bad usage or request, 70 internal error
 *   others    0 success, 1 not found / refused, 64 usage, 70 internal error (storage, I/O)
 */
#ifndef TDCLI_H
#define TDCLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_UNVERIFIABLE = 2,
    CLI_EXIT_USAGE = 64,
    CLI_EXIT_INTERNAL = 70,
};

/* The program: argv[0] is the program name, argv[1] the subcommand. */
int cli_main(int argc, char **argv);

/* Subcommands: argv[0] is the subcommand's name, options follow. */
int cli_decode(int argc, char **argv);
int cli_diagnose(int argc, char **argv);
int cli_mint(int argc, char **argv);
int cli_project(int argc, char **argv);
int cli_apikey(int argc, char **argv);
int cli_serve(int argc, char **argv);

/* ---- Helpers shared by the subcommands -------------------------------------------------- */

/* Prints "tokendoctor: <message>" to stderr (printf-style; the format is always a literal). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads all of `path` ("-" = standard input) into a new NUL-terminated buffer of at most max
 * bytes; *len receives its length. NULL (with a message printed) on error or when larger. */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* Reads a TOKEN argument: "-" reads standard input with one trailing newline ("\n" or "\r\n")
 * removed; anything else is used exactly as given. The result is a new buffer. NULL on error. */
char *cli_read_token_arg(const char *arg, size_t *len);

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

#ifdef __cplusplus
}
#endif
#endif /* TDCLI_H */

/* cmd_decode.c -- `tokendoctor decode [--json] [--at UNIX|ISO-8601] [TOKEN | -]`.
 *
 * Design
 * ------
 * Reads one token (argument, "-" or, when no argument is given and standard input is not a
 * terminal, standard input), decodes it with the core library and shows it: every field for a
 * person (diag_token_print, times relative to now or --at), or exactly one JSON document with
 * --json (diag_token_to_json). A token that does not decode is exit status 1 with the reason:
 * with --json on stdout as the error object POST /v1/decode answers (diag_token_error_json: the
 * hints a diagnosis gives), on stderr otherwise. Usage errors are 64. The token itself is never
 * echoed in an error message.
 */
#include "tdcli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tddiag.h"

static void decode_usage(FILE *out) {
    fprintf(out, "usage: tokendoctor decode [--json] [--at UNIX|ISO-8601] [TOKEN | -]\n\n"
                 "Decodes a 006 or 007 token and shows every field. TOKEN \"-\" (or no TOKEN with\n"
                 "standard input redirected) reads standard input, one trailing newline removed.\n"
                 "  --json      print one JSON document (the decoded token, or an error object)\n"
                 "  --at T      judge times relative to T instead of now: Unix seconds or an\n"
                 "              ISO-8601 UTC time such as 2026-12-05T10:00:00Z\n"
                 "exit status: 0 decoded, 1 not decodable, 64 usage\n");
}

/* A token that does not decode: exit 1 and the reason with its hints -- on stderr, or with --json
 * on stdout as the same error object POST /v1/decode answers with its 422. */
static int decode_report_failure(const char *token, size_t len, td_status st, bool json) {
    json_t *doc = diag_token_error_json(token, len, st);
    if (json)
        return cli_print_json(stdout, doc, false) ? CLI_EXIT_FAIL : CLI_EXIT_INTERNAL;
    json_t *err = json_object_get(doc, "error");
    char names[256] = "";
    size_t i;
    json_t *hint;
    json_array_foreach(json_object_get(err, "hints"), i, hint) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", json_string_value(hint));
    }
    cli_error("decode: %s [%s]", json_string_value(json_object_get(err, "message")), names);
    json_decref(doc);
    return CLI_EXIT_FAIL;
}

typedef struct {
    bool json;
    bool has_at;
    int64_t at;
    const char *token_arg; /* NULL: none given */
} decode_args;

enum { OPT_AT = CLI_OPT_FIRST };

static const struct option decode_options[] = {
    {"at", required_argument, NULL, OPT_AT},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

const struct option *cli_decode_options(struct option *buf) {
    (void)buf; /* a static table */
    return decode_options;
}

/* Parses the options; returns -1 to continue, otherwise the exit status. */
static int decode_parse_args(int argc, char **argv, decode_args *a) {
    cli_opts p;
    cli_opts_init(&p, "decode", argc, argv, decode_options);
    for (int c; (c = cli_opts_next(&p)) != CLI_OPT_END;) {
        switch (c) {
        case CLI_OPT_HELP:
            decode_usage(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_JSON:
            a->json = true;
            break;
        case OPT_AT:
            if (!diag_at_parse(p.value, strlen(p.value), &a->at)) {
                cli_error("decode: --at must be %s", DIAG_AT_FORM);
                return CLI_EXIT_USAGE;
            }
            a->has_at = true;
            break;
        case CLI_OPT_ARG:
            if (a->token_arg) {
                cli_error("decode: more than one TOKEN given (quote a token that contains "
                          "spaces)");
                return CLI_EXIT_USAGE;
            }
            a->token_arg = p.value;
            break;
        default: /* CLI_OPT_ERROR: the message is printed */
            decode_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

int cli_decode(int argc, char **argv) {
    decode_args a = {0};
    int rc = decode_parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.token_arg) {
        if (isatty(STDIN_FILENO)) {
            cli_error("decode: no TOKEN given (pass it, or \"-\" to read standard input)");
            decode_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        a.token_arg = "-";
    }
    size_t len = 0;
    char *text = cli_read_token_arg(a.token_arg, &len);
    if (!text)
        return CLI_EXIT_USAGE;

    td_ctx *ctx = td_ctx_new();
    td_token *tok = malloc(sizeof *tok);
    if (!ctx || !tok) {
        cli_error("decode: out of memory");
        rc = CLI_EXIT_INTERNAL;
    } else {
        td_status st = td_decode(ctx, text, len, tok);
        if (st != TD_OK) {
            rc = decode_report_failure(text, len, st, a.json);
        } else if (a.json) {
            rc = cli_print_json(stdout, diag_token_to_json(tok), false) ? CLI_EXIT_OK
                                                                        : CLI_EXIT_INTERNAL;
        } else {
            diag_token_print(stdout, tok, a.has_at ? a.at : cli_now());
            rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
        }
    }
    free(tok);
    td_ctx_free(ctx);
    free(text);
    return rc;
}

/* cmd_decode.c -- `tokendoctor decode [--json] [--at UNIX|ISO-8601] [TOKEN | -]`.
 *
 * Design
 * ------
 * Reads one token (argument, "-" or, when no argument is given and standard input is not a
 * terminal, standard input), decodes it with the core library and shows it: every field for a
 * person (diag_token_print, times relative to now or --at), or exactly one JSON document with
 * --json (diag_token_to_json). A token that does not decode is exit status 1 with the reason:
 * with --json on stdout as the error object POST /v1/decode answers (diag_token_error_json: the
 * hints a diagnosis gives), on stderr otherwise; empty input is "the token is empty". Usage
 * errors are 64 (with --json, the error object on stdout: cli_report). The token itself is
 * never echoed in an error message.
 *
 * With --server URL (or $TOKENDOCTOR_SERVER) the service decodes it (POST /v1/decode): --json
 * prints its document, the exit status is its answer's. The text is rendered from this
 * program's own reading of the same token -- decoding is a pure function of the text -- once
 * that reading is checked to be the service's document; when the two differ (other versions)
 * the service's document is printed instead, with a note.
 */
#include "tdcli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tddiag.h"

static void decode_usage(FILE *out) {
    fprintf(out,
            "usage: tokendoctor decode [--json] [--at UNIX|ISO-8601] [--server URL] [TOKEN | -]\n\n"
            "Decodes a 006 or 007 token and shows every field. TOKEN \"-\" (or no TOKEN with\n"
            "standard input redirected) reads standard input, one trailing newline removed.\n"
            "  --json        print one JSON document (the decoded token, or an error object)\n"
            "  --at T        judge times relative to T instead of now: Unix seconds or an\n"
            "                ISO-8601 UTC time such as 2026-12-05T10:00:00Z\n"
            "  --server URL  have the service at http://HOST[:PORT][/PATH] decode it (default:\n"
            "                $%s; the API key, for --auth all, from the file\n"
            "                $%s names)\n"
            "exit status: 0 decoded, 1 not decodable, 64 usage, 70 service unreachable\n",
            CLI_ENV_SERVER, CLI_ENV_API_KEY_FILE);
}

/* A token that does not decode: exit 1 and the reason with its hints -- on stderr, or with --json
 * on stdout as the same error object POST /v1/decode answers with its 422. */
static int decode_report_failure(cli_report *r, json_t *doc, bool json) {
    if (json)
        return cli_answer(r, doc) ? CLI_EXIT_FAIL : CLI_EXIT_INTERNAL;
    json_t *err = json_object_get(doc, "error");
    char names[256] = "";
    size_t i;
    json_t *hint;
    json_array_foreach(json_object_get(err, "hints"), i, hint) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", json_string_value(hint));
    }
    const char *message = json_string_value(json_object_get(err, "message"));
    cli_error("decode: %s%s%s%s", message ? message : "the token does not decode",
              names[0] ? " [" : "", names, names[0] ? "]" : "");
    json_decref(doc);
    return CLI_EXIT_FAIL;
}

typedef struct {
    bool json;
    bool has_at;
    int64_t at;
    const char *token_arg;  /* NULL: none given */
    const char *server_arg; /* --server */
    cli_report *report;
} decode_args;

enum { OPT_AT = CLI_OPT_FIRST, OPT_SERVER };

const struct option cli_decode_options[] = {
    {"at", required_argument, NULL, OPT_AT},
    {"server", required_argument, NULL, OPT_SERVER},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* Parses the options; returns -1 to continue, otherwise the exit status. */
static int decode_parse_args(int argc, char **argv, decode_args *a) {
    const char **const slots[] = {NULL, &a->server_arg};
    cli_opts p;
    cli_opts_init(&p, "decode", argc, argv, cli_decode_options, slots, CLI_COUNT(slots), a->report);
    p.nonempty = true;
    for (int c; (c = cli_opts_next(&p)) != CLI_OPT_END;) {
        switch (c) {
        case CLI_OPT_HELP:
            decode_usage(stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_JSON:
            a->json = true;
            break;
        case OPT_AT:
            if (a->has_at) {
                cli_fail(a->report, "usage", "decode: --at given twice");
                return CLI_EXIT_USAGE;
            }
            if (!diag_at_parse(p.value, strlen(p.value), &a->at)) {
                cli_fail(a->report, "usage", "decode: --at must be %s", DIAG_AT_FORM);
                return CLI_EXIT_USAGE;
            }
            a->has_at = true;
            break;
        case OPT_SERVER: /* stored in its slot */
            break;
        case CLI_OPT_ARG:
            if (a->token_arg) {
                cli_fail(a->report, "usage",
                         "decode: more than one TOKEN given (quote a token that contains "
                         "spaces)");
                return CLI_EXIT_USAGE;
            }
            a->token_arg = p.value;
            break;
        default: /* CLI_OPT_ERROR: the message is reported */
            decode_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    a->report->json = a->json;
    return -1;
}

/* Shows a token this program decoded. */
static int decode_show(cli_report *r, const decode_args *a, const td_token *tok) {
    if (a->json)
        return cli_answer(r, diag_token_to_json(tok)) ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    diag_token_print(stdout, tok, a->has_at ? a->at : cli_now());
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

/* The token decoded by the service at url: its document (--json), or the text of this
 * program's reading when that is the same document. */
static int decode_remote(cli_report *r, const decode_args *a, const char *url, const char *text,
                         size_t len, td_ctx *ctx, td_token *tok) {
    json_t *body = json_object();
    json_t *t = json_stringn(text, len);
    if (!t) {
        json_decref(body);
        cli_fail(r, "bad_request",
                 "decode: the token is not valid UTF-8 and cannot be sent to a service");
        return CLI_EXIT_USAGE;
    }
    json_object_set_new(body, "token", t);
    int http = 0;
    json_t *answer = NULL;
    int rc = cli_remote_post(r, url, "/v1/decode", body, &http, &answer);
    json_decref(body);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (http == 422) {
        rc = decode_report_failure(r, answer, a->json); /* takes the answer */
        answer = NULL;
    } else if (http != 200) {
        rc = cli_remote_failure(r, url, http, answer);
    } else if (a->json) {
        rc = cli_answer(r, json_incref(answer)) ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    } else {
        json_t *mine = td_decode(ctx, text, len, tok) == TD_OK ? diag_token_to_json(tok) : NULL;
        if (mine && json_equal(mine, answer)) {
            rc = decode_show(r, a, tok);
        } else {
            cli_error("decode: this program reads the token differently from the service at %s "
                      "(another version?): the service's document follows",
                      url);
            rc = cli_answer(r, json_incref(answer)) ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
        }
        json_decref(mine);
    }
    json_decref(answer);
    return rc;
}

int cli_decode(int argc, char **argv, cli_report *report) {
    decode_args a = {.report = report};
    int rc = decode_parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.token_arg) {
        if (isatty(STDIN_FILENO)) {
            cli_fail(report, "usage",
                     "decode: no TOKEN given (pass it, or \"-\" to read standard input)");
            decode_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        a.token_arg = "-";
    }
    size_t len = 0;
    char *text = cli_read_token_arg(report, a.token_arg, &len);
    if (!text)
        return CLI_EXIT_USAGE;

    const char *server = cli_server_url(a.server_arg);
    td_ctx *ctx = td_ctx_new();
    td_token *tok = malloc(sizeof *tok);
    if (!ctx || !tok) {
        cli_fail(report, "internal_error", "decode: out of memory");
        rc = CLI_EXIT_INTERNAL;
    } else if (server) {
        rc = decode_remote(report, &a, server, text, len, ctx, tok);
    } else {
        td_status st = td_decode(ctx, text, len, tok);
        if (st != TD_OK)
            rc = decode_report_failure(report, diag_token_error_json(text, len, st), a.json);
        else
            rc = decode_show(report, &a, tok);
    }
    free(tok);
    td_ctx_free(ctx);
    free(text);
    return rc;
}

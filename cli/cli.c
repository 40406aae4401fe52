/* cli.c -- subcommand dispatch and the helpers every subcommand shares.
 *
 * The helpers exist so that a token, a file or a number is read the same way by every
 * subcommand: a token argument of "-" always means standard input minus one trailing newline,
 * numbers are parsed strictly (no sign, no trailing garbage, range checked), and JSON always goes
 * out through one function.
 */
#include "tdcli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef TD_VERSION
#define TD_VERSION "dev"
#endif

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

static const cli_command cli_commands[] = {
    {"decode", cli_decode, "decode a 006 or 007 token and show every field"},
    {"diagnose", cli_diagnose, "say what the platform answers to a join, why, and the fix"},
    {"mint", cli_mint, "build a 006 or 007 token (for tests and reproductions)"},
    {"project", cli_project, "store a project's certificate configuration; show its history"},
    {"apikey", cli_apikey, "create, list and revoke API keys for the HTTP service"},
    {"serve", cli_serve, "run the HTTP service (API, web page, probes, metrics)"},
};

static void cli_usage(FILE *out) {
    fprintf(out, "usage: tokendoctor <command> [options]   (tokendoctor <command> --help)\n\n");
    fprintf(out, "Tells why a client cannot join a channel with its token, and how to fix it.\n\n");
    fprintf(out, "commands:\n");
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        fprintf(out, "  %-9s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(out, "\nexit status (diagnose): 0 joinable, 1 rejected, 2 unverifiable, "
                 "64 bad usage or request, 70 internal error\n");
}

int cli_main(int argc, char **argv) {
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("tokendoctor %s\n", TD_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        if (strcmp(name, cli_commands[i].name) == 0)
            return cli_commands[i].run(argc - 1, argv + 1);
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

char *cli_read_file(const char *path, size_t max, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= max)
                break;
            cap = cap * 2 > max ? max : cap * 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool too_big = buf && n == cap && cap >= max && fgetc(f) != EOF;
    bool failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf) {
        cli_error("out of memory reading %s", path);
        return NULL;
    }
    if (failed || too_big) {
        if (too_big)
            cli_error("%s: larger than %zu bytes", strcmp(path, "-") ? path : "standard input",
                      max);
        else
            cli_error("cannot read %s", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *cli_read_token_arg(const char *arg, size_t *len) {
    if (strcmp(arg, "-") != 0) {
        *len = strlen(arg);
        return strdup(arg);
    }
    /* Tokens are at most 4 KiB; read a little more so that an oversize one is reported as
     * such by the decoder rather than silently cut. */
    char *buf = cli_read_file("-", 1 << 16, len);
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
    size_t flags = (compact ? JSON_COMPACT : JSON_INDENT(2)) |
                   JSON_PRESERVE_ORDER;
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

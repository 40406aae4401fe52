/* cmd_mint.c -- `tokendoctor mint`: build a 006 or 007 token (tests, reproductions).
 *
 *   tokendoctor mint --version 007|006 --app-id ID
 *                    (--certificate-file F | [--db PATH] [--key-file PATH])
 *                    [--service rtc|rtm] [--channel NAME] [--uid N | --account S]
 *                    [--role publisher|subscriber] [--expire SECONDS]
 *                    [--privilege-expire SECONDS] [--issue-ts UNIX] [--salt N]
 *
 * Design
 * ------
 * Options are parsed into one mint_args value and validated as a whole before anything is built,
 * so every usage error (exit 64) names its flag. The certificate comes only from a file (argv is
 * visible to every user through ps) or from the project store (--db, else the default database,
 * $TOKENDOCTOR_DB as for every command); it is never printed, and a bad certificate file is
 * reported without its content. What the token holds follows interfaces.md "mint" and is
 * decided by diag_mint (tddiag.h), shared with POST /v1/tokens; --privilege-expire defaults to
 * --expire. With --issue-ts and --salt the output is deterministic; otherwise the salt comes
 * from the core's CTR-DRBG.
 */
#include "tdcli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tddb.h"
#include "tddiag.h"
#include "tdcore.h"

typedef struct {
    const char *version;
    const char *app_id;
    const char *cert_file;
    const char *db_path;
    const char *key_file;
    const char *service;
    const char *channel;
    const char *account;
    const char *role;
    diag_mint_request rq; /* the numbers; the strings above are copied in by mint_validate */
    diag_mint_input in;   /* what diag_mint_prepare made of it */
    char uid_buf[16];
} mint_args;

static void mint_usage(FILE *out) {
    fprintf(out,
            "usage: tokendoctor mint --version 007|006 --app-id ID\n"
            "                        (--certificate-file F | [--db PATH] [--key-file PATH])\n"
            "                        [--service rtc|rtm] [--channel NAME] [--uid N | --account S]\n"
            "                        [--role publisher|subscriber] [--expire SECONDS]\n"
            "                        [--privilege-expire SECONDS] [--issue-ts UNIX] [--salt N]\n\n"
            "Builds a token and prints it alone on one line.\n"
            "  --certificate-file F  a file holding the 32-hex-character certificate (there is no\n"
            "                        option to pass it on the command line: argv shows in ps)\n");
    cli_usage_store_options(out, 24,
                            "sign with the primary certificate stored in this database\n"
                            "                        (used when there is no --certificate-file)");
    fprintf(
        out,
        "  --service             rtc (default; needs --channel) or rtm (needs --account or\n"
        "                        --uid: the user id)\n"
        "  --uid N | --account S the uid (0 or none = any uid) or the user account\n"
        "  --role                publisher (default) or subscriber (rtc; also host,\n"
        "                        audience)\n"
        "  --expire              007: token lifetime in seconds; 006: ts = issue time + expire\n"
        "                        (default 3600)\n"
        "  --privilege-expire    every privilege's value (default: --expire); 006: issue time +\n"
        "                        this, as an absolute time\n"
        "  --issue-ts, --salt    fix the issue time (default now) and salt (default random)\n");
}

/* The string options first, in the order of their slots (see mint_parse_args): those are
 * stored (and refused when given twice) by cli_opts_next. */
enum {
    OPT_VERSION = CLI_OPT_FIRST,
    OPT_APP_ID,
    OPT_CERTIFICATE_FILE,
    OPT_DB,
    OPT_KEY_FILE,
    OPT_CHANNEL,
    OPT_ACCOUNT,
    OPT_SERVICE,
    OPT_ROLE,
    OPT_UID,
    OPT_EXPIRE,
    OPT_PRIVILEGE_EXPIRE,
    OPT_ISSUE_TS,
    OPT_SALT,
};

const struct option cli_mint_options[] = {
    {"version", required_argument, NULL, OPT_VERSION},
    {"app-id", required_argument, NULL, OPT_APP_ID},
    {"certificate-file", required_argument, NULL, OPT_CERTIFICATE_FILE},
    {"db", required_argument, NULL, OPT_DB},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"account", required_argument, NULL, OPT_ACCOUNT},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"role", required_argument, NULL, OPT_ROLE},
    {"uid", required_argument, NULL, OPT_UID},
    {"expire", required_argument, NULL, OPT_EXPIRE},
    {"privilege-expire", required_argument, NULL, OPT_PRIVILEGE_EXPIRE},
    {"issue-ts", required_argument, NULL, OPT_ISSUE_TS},
    {"salt", required_argument, NULL, OPT_SALT},
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* A numeric option: given once, a whole number in 0..UINT32_MAX. */
static bool mint_number(const cli_opts *p, bool *given, uint64_t *out) {
    if (*given) {
        cli_error("mint: %s given twice", p->flag);
        return false;
    }
    *given = true;
    if (!p->value || !cli_parse_u64(p->value, UINT32_MAX, out)) {
        cli_error("mint: %s needs a whole number in 0..4294967295", p->flag);
        return false;
    }
    return true;
}

/* Stores a numeric option's value; returns false (message printed) on a usage error. The
 * string options are stored in their slots by cli_opts_next. */
static bool mint_option(mint_args *a, const cli_opts *p, int opt) {
    diag_mint_request *rq = &a->rq;
    switch (opt) {
    case OPT_UID:
        return mint_number(p, &rq->has_uid, &rq->uid);
    case OPT_EXPIRE:
        return mint_number(p, &rq->has_expire, &rq->expire);
    case OPT_PRIVILEGE_EXPIRE:
        return mint_number(p, &rq->has_privilege_expire, &rq->privilege_expire);
    case OPT_ISSUE_TS:
        return mint_number(p, &rq->has_issue_ts, &rq->issue_ts);
    case OPT_SALT:
        return mint_number(p, &rq->has_salt, &rq->salt);
    }
    return true;
}

/* Prints a diag_mint_prepare message with its leading field names as the flags that carry them
 * ("uid, account: ..." -> "--uid, --account: ..."). */
static void mint_error(const char *msg) {
    char out[512];
    size_t o = 0;
    const char *colon = strchr(msg, ':');
    bool start = true;
    for (const char *c = msg; *c && o + 3 < sizeof out; c++) {
        bool in_names = colon && c < colon;
        if (in_names && start && *c != ' ' && *c != ',') {
            out[o++] = '-';
            out[o++] = '-';
            start = false;
        }
        if (in_names && *c == ',')
            start = true;
        out[o++] = in_names && *c == '_' ? '-' : *c;
    }
    out[o] = '\0';
    cli_error("mint: %s", out);
}

/* Checks the combination of options: the command line's own (the certificate's source) here,
 * the rules of every mint request in diag_mint_prepare (shared with POST /v1/tokens). */
static bool mint_validate(mint_args *a) {
    if (!a->version || (strcmp(a->version, "007") != 0 && strcmp(a->version, "006") != 0)) {
        cli_error("mint: --version must be 007 or 006");
        return false;
    }
    if (!a->app_id || !diag_is_hex32(a->app_id, strlen(a->app_id))) {
        cli_error("mint: --app-id must be 32 hex characters");
        return false;
    }
    /* Without --certificate-file the database is used: --db, else the default one. */
    if (a->cert_file && a->db_path) {
        cli_error("mint: give one of --certificate-file F and --db PATH, not both");
        return false;
    }
    if (a->cert_file && a->key_file) {
        cli_error("mint: --key-file is used only with a database, not --certificate-file");
        return false;
    }
    diag_mint_request *rq = &a->rq;
    rq->version = a->version;
    rq->service = a->service;
    rq->role = a->role;
    rq->channel = a->channel;
    rq->channel_len = a->channel ? strlen(a->channel) : 0;
    rq->account = a->account;
    rq->account_len = a->account ? strlen(a->account) : 0;
    char err[256];
    if (!diag_mint_prepare(rq, cli_now(), &a->in, a->uid_buf, err, sizeof err)) {
        mint_error(err);
        return false;
    }
    a->in.app_id = a->app_id;
    return true;
}

/* Reads the certificate file into cert[33]; false (message printed, exit 64) when it is not
 * 32 hex characters after one trailing newline is removed. Never echoes the content. */
static bool mint_read_certificate(const char *path, char cert[TD_CERT_LEN + 1]) {
    size_t len = 0;
    char *buf = cli_read_file(path, 4096, &len);
    if (!buf)
        return false;
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    bool ok = diag_is_hex32(buf, len);
    if (ok)
        memcpy(cert, buf, TD_CERT_LEN + 1);
    cert[TD_CERT_LEN] = '\0';
    memset(buf, 0, len);
    free(buf);
    if (!ok)
        cli_error("mint: --certificate-file %s: must hold exactly 32 hex characters "
                  "(optionally followed by a newline)",
                  path);
    return ok;
}

/* The project's primary certificate from the store. Returns an exit status (0 = found). */
static int mint_db_certificate(const mint_args *a, char cert[TD_CERT_LEN + 1]) {
    const char *app_id = a->app_id;
    char err[512];
    bool missing = false;
    if (!tdb_location_check(a->db_path ? a->db_path : tdb_default_path(), err, sizeof err)) {
        cli_error("mint: %s: %s", a->db_path ? "--db" : "$" TDB_ENV_PATH, err);
        return CLI_EXIT_USAGE;
    }
    /* Minting only reads a database: a mistyped path must not leave an empty one behind, and a
     * read-only one is enough. */
    tdb *db =
        tdb_open_readonly(a->db_path, a->key_file, TDB_KEY_REQUIRED, &missing, err, sizeof err);
    if (!db && !a->db_path && missing) {
        cli_error("mint: %s (the default database: give --certificate-file F, or --db PATH)", err);
        return CLI_EXIT_FAIL;
    }
    if (!db) {
        cli_error("mint: --db: %s", err);
        return missing ? CLI_EXIT_FAIL : CLI_EXIT_INTERNAL;
    }
    diag_project *p = malloc(sizeof *p);
    int rc = CLI_EXIT_OK;
    tdb_status st = p ? tdb_project_get(db, app_id, p) : TDB_ERROR;
    if (st == TDB_NOT_FOUND) {
        cli_error("mint: --db %s: no project with App ID %s", tdb_shown_name(db), app_id);
        rc = CLI_EXIT_FAIL;
    } else if (st != TDB_OK) {
        cli_error("mint: --db %s: %s", tdb_shown_name(db), p ? tdb_errmsg(db) : "out of memory");
        rc = CLI_EXIT_INTERNAL;
    } else if (!p->primary.present) {
        cli_error("mint: project %s has no primary certificate to sign with", app_id);
        rc = CLI_EXIT_FAIL;
    } else {
        if (!p->primary.enabled)
            cli_error("mint: note: the primary certificate of %s is disabled; the platform "
                      "will not accept this token",
                      app_id);
        memcpy(cert, p->primary.certificate, TD_CERT_LEN + 1);
    }
    if (p) {
        explicit_bzero(p, sizeof *p);
        free(p);
    }
    tdb_close(db);
    return rc;
}

static int mint_parse_args(int argc, char **argv, mint_args *a) {
    const char **const slots[] = {&a->version, &a->app_id,   &a->cert_file,
                                  &a->db_path, &a->key_file, &a->channel,
                                  &a->account, &a->service,  &a->role};
    cli_opts p;
    cli_opts_init(&p, "mint", argc, argv, cli_mint_options, slots, CLI_COUNT(slots), NULL);
    for (int c; (c = cli_opts_next(&p)) != CLI_OPT_END;) {
        if (c == CLI_OPT_HELP) {
            mint_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (c == CLI_OPT_ARG) {
            cli_error("mint: unexpected argument '%s' (every input is an option)", p.value);
            return CLI_EXIT_USAGE;
        }
        if (c == CLI_OPT_ERROR || !mint_option(a, &p, c))
            return CLI_EXIT_USAGE;
    }
    if (!mint_validate(a))
        return CLI_EXIT_USAGE;
    return -1;
}

int cli_mint(int argc, char **argv) {
    mint_args a = {0};
    int rc = mint_parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;

    char cert[TD_CERT_LEN + 1];
    if (a.cert_file) {
        if (!mint_read_certificate(a.cert_file, cert))
            return CLI_EXIT_USAGE;
    } else {
        rc = mint_db_certificate(&a, cert);
        if (rc != CLI_EXIT_OK)
            return rc;
    }

    td_ctx *ctx = td_ctx_new();
    td_token *spec = malloc(sizeof *spec);
    char *out = malloc(TD_TOKEN_TEXT_MAX * 2);
    if (!ctx || !spec || !out) {
        cli_error("mint: out of memory");
        rc = CLI_EXIT_INTERNAL;
    } else if (diag_mint(ctx, &a.in, cert, spec, out, TD_TOKEN_TEXT_MAX * 2) == 0) {
        cli_error("mint: the token could not be built (inputs too long?)");
        rc = CLI_EXIT_USAGE;
    } else {
        printf("%s\n", out);
        rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    }
    explicit_bzero(cert, sizeof cert);
    free(out);
    free(spec);
    td_ctx_free(ctx);
    return rc;
}

/* cmd_serve.c -- `tokendoctor serve`: the HTTP service (server/tdserver.h).
 *
 * Every option has an environment variable as its default, so that a container or a unit file
 * can configure the service without a command line; a flag always wins over the environment.
 * This file only turns flags and variables into a srv_config (validating each value, naming
 * the flag or variable that is wrong) and hands it to srv_run().
 */
#include "tdcli.h"
#include "tddb.h"
#include "tdserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A default from tdserver.h as text, so that the help says the number the service uses. */
#define TD_STR_(x) #x
#define TD_STR(x) TD_STR_(x)

/* (clang-format would split the text at every macro) */
/* clang-format off */
#define BODY_LIMIT_HELP                                                                            \
    "largest request body; default " TD_STR(SRV_DEFAULT_BODY_LIMIT) " (larger: 413; over "         \
    TD_STR(SRV_BODY_HARD_FACTOR) "x, at least " TD_STR(SRV_BODY_HARD_MIN) " bytes: 413 before it " \
    "is read)"
#define REQUEST_TIMEOUT_HELP                                                                       \
    "longest time a whole request may take, headers and body, from its first byte (a "             \
    "connection's first request: from the connect); then the connection is closed unanswered; "    \
    "default " TD_STR(SRV_DEFAULT_REQUEST_TIMEOUT)
#define MAX_CONNECTIONS_HELP                                                                       \
    "open connections, all clients together; 1/" TD_STR(SRV_RESERVE_DIV) " of them is kept for "   \
    "clients holding at most " TD_STR(SRV_RESERVE_LIGHT_CLIENT) " (a new client gets in when the " \
    "rest is full); a connection over a cap is closed unanswered; default "                        \
    TD_STR(SRV_DEFAULT_MAX_CONNECTIONS)
/* clang-format on */
#define MAX_PER_CLIENT_HELP                                                                        \
    "open connections of one client (an IPv4 address or an IPv6 /64); more are closed "            \
    "unanswered; default " TD_STR(SRV_DEFAULT_MAX_CONNECTIONS_PER_CLIENT)

typedef struct {
    const char *flag;
    const char *env;
    const char *arg;
    const char *help;
    uint64_t min, max; /* a whole number within [min, max]; max 0: not a number */
} serve_option;

enum {
    OPT_LISTEN,
    OPT_DB,
    OPT_KEY_FILE,
    OPT_LOG_DB,
    OPT_THREADS,
    OPT_AUTH,
    OPT_BODY_LIMIT,
    OPT_BATCH_LIMIT,
    OPT_TIMEOUT,
    OPT_SHUTDOWN_TIMEOUT,
    OPT_LOG_QUEUE,
    OPT_RETENTION,
    OPT_LOG_MAX_ROWS,
    OPT_LOG_MAX_MB,
    OPT_RATE_LIMIT,
    OPT_RATE_BURST,
    OPT_ACCESS_LOG,
    OPT_PORT_FILE,
    OPT_ADMIN_KEY_FILE,
    OPT_REQUEST_TIMEOUT,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_CONNECTIONS_PER_CLIENT,
    OPT_CACHE_MB,
    OPT_COUNT
};

static const serve_option serve_options[OPT_COUNT] = {
    [OPT_LISTEN] = {"--listen", "TOKENDOCTOR_LISTEN", "ADDR:PORT",
                    "address to listen on (HOST:PORT, [IPV6]:PORT, :PORT, PORT; port 0 picks "
                    "one); default 127.0.0.1:8080, or 127.0.0.1:$PORT when PORT is set",
                    0, 0},
    [OPT_DB] = {"--db", "TOKENDOCTOR_DB", "PATH",
                "the database (created on first start): a SQLite file, or a postgresql:// URL "
                "shared by a fleet; default ./data/tokendoctor.db",
                0, 0},
    [OPT_KEY_FILE] = {"--key-file", "TOKENDOCTOR_KEY_FILE", "PATH",
                      "certificate encryption key (created on first start); default "
                      "tokendoctor.key next to the database (none for a URL: required, the "
                      "same file on every node)",
                      0, 0},
    [OPT_LOG_DB] = {"--log-db", "TOKENDOCTOR_LOG_DB", "PATH",
                    "a separate database file for the diagnosis log; default: the log is kept "
                    "in the main database (--db)",
                    0, 0},
    [OPT_THREADS] = {"--threads", "TOKENDOCTOR_THREADS", "N",
                     "worker threads, 1..256; default the number of cores", 1, 256},
    [OPT_AUTH] = {"--auth", "TOKENDOCTOR_AUTH", "admin|all",
                  "admin: API keys for the admin routes only (default); all: for every route "
                  "but /healthz, /readyz, /metrics",
                  0, 0},
    [OPT_BODY_LIMIT] = {"--body-limit", "TOKENDOCTOR_BODY_LIMIT", "BYTES", BODY_LIMIT_HELP, 1024,
                        64 * 1024 * 1024},
    [OPT_BATCH_LIMIT] = {"--batch-limit", "TOKENDOCTOR_BATCH_LIMIT", "N",
                         "most requests in one batch; default 1000 (more: 413)", 1, 100000},
    [OPT_TIMEOUT] = {"--timeout", "TOKENDOCTOR_TIMEOUT", "SECONDS",
                     "read, write and keep-alive idle timeout of a connection; default 30", 1,
                     3600},
    [OPT_SHUTDOWN_TIMEOUT] = {"--shutdown-timeout", "TOKENDOCTOR_SHUTDOWN_TIMEOUT", "SECONDS",
                              "longest wait for requests in flight on SIGTERM; default 10", 1,
                              3600},
    [OPT_LOG_QUEUE] = {"--log-queue", "TOKENDOCTOR_LOG_QUEUE", "N",
                       "diagnosis-log queue size (full: entries dropped, counted); default "
                       "16384",
                       1, 10000000},
    [OPT_RETENTION] = {"--retention-days", "TOKENDOCTOR_RETENTION_DAYS", "DAYS",
                       "days the diagnosis log is kept; default 7", 1, 36500},
    [OPT_LOG_MAX_ROWS] = {"--log-max-rows", "TOKENDOCTOR_LOG_MAX_ROWS", "N",
                          "most rows the diagnosis log keeps (the oldest are deleted first; "
                          "when that cannot keep up, new entries are dropped and counted); "
                          "default " TD_STR(TDB_LOG_DEFAULT_MAX_ROWS),
                          1, 1000000000},
    [OPT_LOG_MAX_MB] = {"--log-max-mb", "TOKENDOCTOR_LOG_MAX_MB", "MIB",
                        "most MiB the diagnosis log's database may use (the same rule); "
                        "default " TD_STR(TDB_LOG_DEFAULT_MAX_MB),
                        1, 1048576},
    [OPT_RATE_LIMIT] = {"--rate-limit", "TOKENDOCTOR_RATE_LIMIT", "N",
                        "diagnosed items a second per client address on /v1/diagnose and "
                        "/v1/diagnose/batch (a batch costs its item count; over it: 429 with "
                        "Retry-After); 0 = no limit; default " TD_STR(SRV_DEFAULT_RATE_LIMIT),
                        0, 1000000},
    [OPT_RATE_BURST] = {"--rate-burst", "TOKENDOCTOR_RATE_BURST", "N",
                        "items a client address may send at once before --rate-limit applies "
                        "(at least --batch-limit); default " TD_STR(SRV_DEFAULT_RATE_BURST),
                        1, 100000000},
    [OPT_ACCESS_LOG] = {"--access-log", "TOKENDOCTOR_ACCESS_LOG", "FILE|stderr|off",
                        "one JSON line per request (client, user agent, key name, request id, "
                        "...): to FILE (appended), stderr (default; also -) or off; service "
                        "messages always go to stderr",
                        0, 0},
    [OPT_PORT_FILE] = {"--port-file", "TOKENDOCTOR_PORT_FILE", "FILE",
                       "write the bound port to FILE once listening (useful with port 0)", 0, 0},
    [OPT_ADMIN_KEY_FILE] = {"--admin-key-file", "TOKENDOCTOR_ADMIN_KEY_FILE", "FILE",
                            "write the first start's admin key to FILE (mode 0600) instead of "
                            "printing it; default: admin-api-key beside the database when "
                            "standard output is not a terminal (printed on a terminal)",
                            0, 0},
    [OPT_REQUEST_TIMEOUT] = {"--request-timeout", "TOKENDOCTOR_REQUEST_TIMEOUT", "SECONDS",
                             REQUEST_TIMEOUT_HELP, 1, 3600},
    [OPT_MAX_CONNECTIONS] = {"--max-connections", "TOKENDOCTOR_MAX_CONNECTIONS", "N",
                             MAX_CONNECTIONS_HELP, 16, 1000000},
    [OPT_MAX_CONNECTIONS_PER_CLIENT] = {"--max-connections-per-client",
                                        "TOKENDOCTOR_MAX_CONNECTIONS_PER_CLIENT", "N",
                                        MAX_PER_CLIENT_HELP, 1, 1000000},
    [OPT_CACHE_MB] = {"--cache-mb", "TOKENDOCTOR_CACHE_MB", "MIB",
                      "most MiB the cache of project configurations (one for all workers) "
                      "uses (a project takes ~100-250 bytes; past it, projects are read from "
                      "the database again); default " TD_STR(SRV_DEFAULT_CACHE_MB),
                      1, 1048576},
};

static void serve_usage(FILE *out) {
    fprintf(out, "usage: tokendoctor serve [options]\n\n"
                 "Runs the HTTP service: the JSON API (/v1/...), its OpenAPI document\n"
                 "(/openapi.yaml), the web page (/), /healthz, /readyz and /metrics. SIGTERM or\n"
                 "SIGINT: finish requests in flight, flush the diagnosis log, exit 0. On the\n"
                 "first start (no admin API key in the database)\n"
                 "an admin key is created and shown once: printed on a terminal, otherwise\n"
                 "written to a file of mode 0600 that the message names (--admin-key-file).\n");
    fprintf(out,
            "A request's line and headers take at most %d bytes, a chunk-size line with its\n"
            "extensions at most %d before its CRLF (more: 400).\n\n",
            SRV_MAX_HEAD, SRV_CHUNK_LINE_MAX);
    fprintf(out, "options (each defaults to its environment variable):\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        const serve_option *o = &serve_options[i];
        fprintf(out, "  %s %s\n      $%s\n      %s\n", o->flag, o->arg, o->env, o->help);
    }
    fprintf(out,
            "  --no-bootstrap-key\n      $TOKENDOCTOR_NO_BOOTSTRAP_KEY=1\n"
            "      do not create an admin key on the first start\n"
            "  --probe NAME=CONFIG_FILE\n      (repeat the flag; no variable)\n"
            "      preflight a token server on a schedule (docs/preflight.md): the JSON\n"
            "      file holds url, app_id, interval... (at most %d probes; the project is\n"
            "      read from the database); GET /v1/probes (admin) shows the last reports,\n"
            "      /metrics tokendoctor_probe_*; never affects /healthz or /readyz\n"
            "  --help\n      show this text\n",
            SRV_PROBES_MAX);
    fprintf(out,
            "\nfixed limits: a request waits at most %d ms for the database's write lock (then "
            "503\nstore_busy with Retry-After); GET /v1/projects/{app_id}/diagnoses waits at most "
            "%d ms\nfor the diagnosis log to commit what is queued.\n",
            TDB_REQUEST_BUSY_MS, SRV_LOG_FLUSH_WAIT_MS);
}

static bool serve_number(const char *name, const char *v, uint64_t min, uint64_t max,
                         uint64_t *out) {
    if (!cli_parse_u64(v, max, out) || *out < min) {
        cli_error("serve: %s: must be an integer in %llu..%llu (got '%s')", name,
                  (unsigned long long)min, (unsigned long long)max, v);
        return false;
    }
    return true;
}

/* Applies one option value (from a flag or the environment) to c; name (the flag or the
 * variable) is what an error message names. */
static bool serve_apply(srv_config *c, int opt, const char *name, const char *v) {
    const serve_option *o = &serve_options[opt];
    uint64_t n = 0;
    char err[200];
    if (o->max && !serve_number(name, v, o->min, o->max, &n))
        return false;
    if ((opt == OPT_DB || opt == OPT_LOG_DB) && !tdb_location_check(v, err, sizeof err)) {
        cli_error("serve: %s: %s", name, err);
        return false;
    }
    switch (opt) {
    case OPT_LISTEN:
        c->listen = v;
        break;
    case OPT_DB:
        c->db_path = v;
        break;
    case OPT_KEY_FILE:
        c->key_file = v;
        break;
    case OPT_LOG_DB:
        c->log_db_path = v;
        break;
    case OPT_THREADS:
        c->threads = (int)n;
        break;
    case OPT_AUTH:
        if (strcmp(v, "admin") != 0 && strcmp(v, "all") != 0) {
            cli_error("serve: %s: must be admin or all (got '%s')", name, v);
            return false;
        }
        c->auth = strcmp(v, "all") == 0 ? SRV_AUTH_ALL : SRV_AUTH_ADMIN;
        break;
    case OPT_BODY_LIMIT:
        c->body_limit = (size_t)n;
        break;
    case OPT_BATCH_LIMIT:
        c->batch_limit = (size_t)n;
        break;
    case OPT_TIMEOUT:
        c->timeout_s = (int)n;
        break;
    case OPT_SHUTDOWN_TIMEOUT:
        c->shutdown_timeout_s = (int)n;
        break;
    case OPT_LOG_QUEUE:
        c->log_queue = (size_t)n;
        break;
    case OPT_RETENTION:
        c->retention_days = (int)n;
        break;
    case OPT_LOG_MAX_ROWS:
        c->log_max_rows = (int64_t)n;
        break;
    case OPT_LOG_MAX_MB:
        c->log_max_mb = (int64_t)n;
        break;
    case OPT_CACHE_MB:
        c->cache_mb = (size_t)n;
        break;
    case OPT_RATE_LIMIT:
        c->rate_limit = (unsigned)n;
        break;
    case OPT_RATE_BURST:
        c->rate_burst = (unsigned)n;
        break;
    case OPT_ACCESS_LOG:
        c->access_log = v;
        break;
    case OPT_PORT_FILE:
        c->port_file = v;
        break;
    case OPT_ADMIN_KEY_FILE:
        c->admin_key_file = v;
        break;
    case OPT_REQUEST_TIMEOUT:
        c->request_timeout_s = (int)n;
        break;
    case OPT_MAX_CONNECTIONS:
        c->max_connections = (size_t)n;
        break;
    case OPT_MAX_CONNECTIONS_PER_CLIENT:
        c->max_connections_per_client = (size_t)n;
        break;
    }
    return true;
}

/* The getopt_long table, built from serve_options so that every option is listed once: the
 * val of serve_options[i] is CLI_OPT_FIRST + i. */
enum { OPT_NO_BOOTSTRAP_KEY = CLI_OPT_FIRST + OPT_COUNT, OPT_PROBE };
_Static_assert(OPT_COUNT + 4 <= CLI_OPTIONS_MAX, "cli_serve_options fills CLI_OPTIONS_MAX entries");

static void serve_longopts(struct option *longopts) {
    for (int i = 0; i < OPT_COUNT; i++)
        longopts[i] =
            (struct option){serve_options[i].flag + 2, required_argument, NULL, CLI_OPT_FIRST + i};
    longopts[OPT_COUNT] =
        (struct option){"no-bootstrap-key", no_argument, NULL, OPT_NO_BOOTSTRAP_KEY};
    longopts[OPT_COUNT + 1] = (struct option){"probe", required_argument, NULL, OPT_PROBE};
    longopts[OPT_COUNT + 2] = (struct option)CLI_OPT_HELP_ENTRY;
    longopts[OPT_COUNT + 3] = (struct option){NULL, 0, NULL, 0};
}

const struct option *cli_serve_options(struct option *buf) {
    serve_longopts(buf);
    return buf;
}

/* What the command line says, before any environment variable is looked at. */
typedef struct {
    const char *value[OPT_COUNT]; /* NULL: not given (the last one given wins) */
    bool no_bootstrap_key;
    const char *probes[SRV_PROBES_MAX]; /* --probe NAME=FILE, repeatable */
    size_t nprobes;
} serve_flags;

/* Returns -1 to go on, otherwise the exit status (--help, a usage error). */
static int serve_parse_flags(int argc, char **argv, serve_flags *f) {
    struct option longopts[OPT_COUNT + 4];
    serve_longopts(longopts);
    cli_opts p;
    cli_opts_init(&p, "serve", argc, argv, longopts, NULL, 0, NULL);
    for (int opt; (opt = cli_opts_next(&p)) != CLI_OPT_END;) {
        switch (opt) {
        case CLI_OPT_HELP:
            serve_usage(stdout);
            return CLI_EXIT_OK;
        case OPT_NO_BOOTSTRAP_KEY:
            f->no_bootstrap_key = true;
            break;
        case OPT_PROBE:
            if (f->nprobes == SRV_PROBES_MAX) {
                cli_error("serve: --probe: at most %d probes", SRV_PROBES_MAX);
                return CLI_EXIT_USAGE;
            }
            f->probes[f->nprobes++] = p.value;
            break;
        case CLI_OPT_ARG:
            cli_error("serve: unexpected argument '%s' (tokendoctor serve --help)", p.value);
            return CLI_EXIT_USAGE;
        case CLI_OPT_ERROR:
            fprintf(stderr, "(see tokendoctor serve --help)\n");
            return CLI_EXIT_USAGE;
        default:
            f->value[opt - CLI_OPT_FIRST] = p.value;
        }
    }
    return -1;
}

/* Each option from its flag, else from its environment variable, else the default: a flag
 * always wins, and a variable a flag overrides is not even read (a bad one is no error). */
static bool serve_configure(srv_config *c, const serve_flags *f, char *listen_buf,
                            size_t listen_cap) {
    const char *port = getenv("PORT");
    if (port && *port && !f->value[OPT_LISTEN]) {
        snprintf(listen_buf, listen_cap, "127.0.0.1:%s", port);
        c->listen = listen_buf;
    }
    for (int i = 0; i < OPT_COUNT; i++) {
        const serve_option *o = &serve_options[i];
        const char *env = getenv(o->env);
        bool ok = f->value[i]   ? serve_apply(c, i, o->flag, f->value[i])
                  : env && *env ? serve_apply(c, i, o->env, env)
                                : true;
        if (!ok)
            return false;
    }
    const char *nb = getenv("TOKENDOCTOR_NO_BOOTSTRAP_KEY");
    if (f->no_bootstrap_key || (nb && *nb && strcmp(nb, "0") != 0))
        c->bootstrap_key = false;
    return true;
}

int cli_serve(int argc, char **argv) {
    serve_flags f = {0};
    int rc = serve_parse_flags(argc, argv, &f);
    if (rc >= 0)
        return rc;
    srv_config c;
    srv_config_defaults(&c);
    char listen_buf[64];
    if (!serve_configure(&c, &f, listen_buf, sizeof listen_buf))
        return CLI_EXIT_USAGE;
    c.probes = f.probes;
    c.nprobes = f.nprobes;
    return srv_run(&c);
}

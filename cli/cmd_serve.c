/* cmd_serve.c -- `tokendoctor serve`: the HTTP service (server/tdserver.h).
 *
 * Every option has an environment variable as its default, so that a container or a unit file
 * can configure the service without a command line; a flag always wins over the environment.
 * This file only turns flags and variables into a srv_config (validating each value, naming
 * the flag or variable that is wrong) and hands it to srv_run().
 */
#include "tdcli.h"
#include "tdserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *flag;
    const char *env;
    const char *arg;
    const char *help;
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
    OPT_ACCESS_LOG,
    OPT_PORT_FILE,
    OPT_COUNT
};

static const serve_option serve_options[OPT_COUNT] = {
    [OPT_LISTEN] = {"--listen", "TOKENDOCTOR_LISTEN", "ADDR:PORT",
                    "address to listen on (HOST:PORT, [IPV6]:PORT, :PORT, PORT; port 0 picks "
                    "one); default 127.0.0.1:8080, or 127.0.0.1:$PORT when PORT is set"},
    [OPT_DB] = {"--db", "TOKENDOCTOR_DB", "PATH",
                "the database (created on first start); default ./data/tokendoctor.db"},
    [OPT_KEY_FILE] = {"--key-file", "TOKENDOCTOR_KEY_FILE", "PATH",
                      "certificate encryption key (created on first start); default "
                      "tokendoctor.key next to the database"},
    [OPT_LOG_DB] = {"--log-db", "TOKENDOCTOR_LOG_DB", "PATH",
                    "a separate database file for the diagnosis log; default: the log is kept "
                    "in the main database (--db)"},
    [OPT_THREADS] = {"--threads", "TOKENDOCTOR_THREADS", "N",
                     "worker threads, 1..256; default the number of cores"},
    [OPT_AUTH] = {"--auth", "TOKENDOCTOR_AUTH", "admin|all",
                  "admin: API keys for the admin routes only (default); all: for every route "
                  "but /healthz, /readyz, /metrics"},
    [OPT_BODY_LIMIT] = {"--body-limit", "TOKENDOCTOR_BODY_LIMIT", "BYTES",
                        "largest request body; default 65536 (larger: 413)"},
    [OPT_BATCH_LIMIT] = {"--batch-limit", "TOKENDOCTOR_BATCH_LIMIT", "N",
                         "most requests in one batch; default 1000 (more: 413)"},
    [OPT_TIMEOUT] = {"--timeout", "TOKENDOCTOR_TIMEOUT", "SECONDS",
                     "read, write and keep-alive idle timeout of a connection; default 30"},
    [OPT_SHUTDOWN_TIMEOUT] = {"--shutdown-timeout", "TOKENDOCTOR_SHUTDOWN_TIMEOUT", "SECONDS",
                              "longest wait for requests in flight on SIGTERM; default 10"},
    [OPT_LOG_QUEUE] = {"--log-queue", "TOKENDOCTOR_LOG_QUEUE", "N",
                       "diagnosis-log queue size (full: entries dropped, counted); default "
                       "16384"},
    [OPT_RETENTION] = {"--retention-days", "TOKENDOCTOR_RETENTION_DAYS", "DAYS",
                       "days the diagnosis log is kept; default 7"},
    [OPT_ACCESS_LOG] = {"--access-log", "TOKENDOCTOR_ACCESS_LOG", "FILE|-|off",
                        "one JSON line per request: to FILE (appended), - = stderr (default), "
                        "or off"},
    [OPT_PORT_FILE] = {"--port-file", "TOKENDOCTOR_PORT_FILE", "FILE",
                       "write the bound port to FILE once listening (useful with port 0)"},
};

static void serve_usage(FILE *out) {
    fprintf(out, "usage: tokendoctor serve [options]\n\n"
                 "Runs the HTTP service: the JSON API (/v1/...), the web page (/), /healthz,\n"
                 "/readyz and /metrics. SIGTERM or SIGINT: finish requests in flight, flush the\n"
                 "diagnosis log, exit 0. On the first start (no admin API key in the database)\n"
                 "an admin key is created and printed once.\n\n"
                 "options (each defaults to its environment variable):\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        const serve_option *o = &serve_options[i];
        fprintf(out, "  %s %s\n      $%s\n      %s\n", o->flag, o->arg, o->env, o->help);
    }
    fprintf(out, "  --no-bootstrap-key\n      $TOKENDOCTOR_NO_BOOTSTRAP_KEY=1\n"
                 "      do not create an admin key on the first start\n"
                 "  --help\n");
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

/* Applies one option value (from a flag or the environment) to c. */
static bool serve_apply(srv_config *c, int opt, const char *name, const char *v) {
    uint64_t n;
    switch (opt) {
    case OPT_LISTEN:
        c->listen = v;
        return true;
    case OPT_DB:
        c->db_path = v;
        return true;
    case OPT_KEY_FILE:
        c->key_file = v;
        return true;
    case OPT_LOG_DB:
        c->log_db_path = v;
        return true;
    case OPT_THREADS:
        if (!serve_number(name, v, 1, 256, &n))
            return false;
        c->threads = (int)n;
        return true;
    case OPT_AUTH:
        if (strcmp(v, "admin") == 0)
            c->auth = SRV_AUTH_ADMIN;
        else if (strcmp(v, "all") == 0)
            c->auth = SRV_AUTH_ALL;
        else {
            cli_error("serve: %s: must be admin or all (got '%s')", name, v);
            return false;
        }
        return true;
    case OPT_BODY_LIMIT:
        if (!serve_number(name, v, 1024, 64 * 1024 * 1024, &n))
            return false;
        c->body_limit = (size_t)n;
        return true;
    case OPT_BATCH_LIMIT:
        if (!serve_number(name, v, 1, 100000, &n))
            return false;
        c->batch_limit = (size_t)n;
        return true;
    case OPT_TIMEOUT:
        if (!serve_number(name, v, 1, 3600, &n))
            return false;
        c->timeout_s = (int)n;
        return true;
    case OPT_SHUTDOWN_TIMEOUT:
        if (!serve_number(name, v, 1, 3600, &n))
            return false;
        c->shutdown_timeout_s = (int)n;
        return true;
    case OPT_LOG_QUEUE:
        if (!serve_number(name, v, 1, 10000000, &n))
            return false;
        c->log_queue = (size_t)n;
        return true;
    case OPT_RETENTION:
        if (!serve_number(name, v, 1, 36500, &n))
            return false;
        c->retention_days = (int)n;
        return true;
    case OPT_ACCESS_LOG:
        c->access_log = v;
        return true;
    case OPT_PORT_FILE:
        c->port_file = v;
        return true;
    }
    return false;
}

/* Environment defaults first, so that flags parsed afterwards override them. */
static bool serve_apply_env(srv_config *c, char *listen_buf, size_t listen_cap) {
    const char *port = getenv("PORT");
    if (port && *port) {
        snprintf(listen_buf, listen_cap, "127.0.0.1:%s", port);
        c->listen = listen_buf;
    }
    for (int i = 0; i < OPT_COUNT; i++) {
        const char *v = getenv(serve_options[i].env);
        if (v && *v && !serve_apply(c, i, serve_options[i].env, v))
            return false;
    }
    const char *nb = getenv("TOKENDOCTOR_NO_BOOTSTRAP_KEY");
    if (nb && *nb && strcmp(nb, "0") != 0)
        c->bootstrap_key = false;
    return true;
}

int cli_serve(int argc, char **argv) {
    srv_config c;
    srv_config_defaults(&c);
    char listen_buf[64];
    if (!serve_apply_env(&c, listen_buf, sizeof listen_buf))
        return CLI_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--no-bootstrap-key") == 0) {
            c.bootstrap_key = false;
            continue;
        }
        int opt = -1;
        const char *value = NULL;
        for (int k = 0; k < OPT_COUNT && opt < 0; k++) {
            size_t n = strlen(serve_options[k].flag);
            if (strncmp(a, serve_options[k].flag, n) != 0)
                continue;
            if (a[n] == '=') {
                opt = k;
                value = a + n + 1;
            } else if (a[n] == '\0') {
                opt = k;
                if (i + 1 >= argc) {
                    cli_error("serve: %s needs a value (%s)", a, serve_options[k].arg);
                    return CLI_EXIT_USAGE;
                }
                value = argv[++i];
            }
        }
        if (opt < 0) {
            cli_error("serve: unknown option '%s' (tokendoctor serve --help)", a);
            return CLI_EXIT_USAGE;
        }
        if (!serve_apply(&c, opt, serve_options[opt].flag, value))
            return CLI_EXIT_USAGE;
    }
    return srv_run(&c);
}

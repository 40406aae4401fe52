/* tdserver.h -- the HTTP service (`tokendoctor serve`): the JSON API of
 * docs/spec/interfaces.md "HTTP", the web page, probes and Prometheus metrics, on libevent.
 *
 * Design
 * ------
 * srv_run() owns everything for the life of the service; nothing is global. It opens one
 * listening socket and starts N worker threads; each worker has its own event_base and evhttp
 * accepting on (a dup of) that socket, its own SQLite connection, td_ctx, diagnosis result
 * buffer, project cache and API-key cache, so the request path takes no lock. Metrics are
 * per-worker counters written only by their worker and summed when /metrics is scraped.
 * Diagnoses are queued to the store's diagnosis log (tdb_log), which never blocks a request.
 *
 * The main thread only waits for SIGTERM/SIGINT. Then every worker stops accepting, answers
 * what is in flight (responses carry `Connection: close` from then on), and exits once it has
 * been quiet for a moment or the shutdown timeout has passed; the diagnosis log is flushed last
 * and srv_run returns 0.
 */
#ifndef TDSERVER_H
#define TDSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The exit statuses of the `tokendoctor` process, a contract scripts depend on (their meaning
 * per subcommand is in cli/tdcli.h). They are named here, not in the CLI's header, because
 * srv_run() returns the status of `tokendoctor serve` and the dependencies point cli -> server:
 * this is the one header both sides include. The CLI_ prefix says whose contract they are. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_UNVERIFIABLE = 2,
    CLI_EXIT_USAGE = 64,
    CLI_EXIT_INTERNAL = 70,
};

/* Which routes need `Authorization: Bearer <key>`: the admin routes only (the default), or
 * every route except /healthz, /readyz and /metrics. */
typedef enum { SRV_AUTH_ADMIN = 0, SRV_AUTH_ALL } srv_auth_mode;

#define SRV_DEFAULT_LISTEN "127.0.0.1:8080"
#define SRV_DEFAULT_BODY_LIMIT 65536
#define SRV_DEFAULT_BATCH_LIMIT 1000
#define SRV_DEFAULT_TIMEOUT 30          /* seconds: read, write and keep-alive idle */
#define SRV_DEFAULT_SHUTDOWN_TIMEOUT 10 /* seconds to finish requests in flight */
/* The rate limit per client address on the diagnosis routes (srv_ratelimit.c), in diagnosed
 * items: 100 a second sustained lets one client diagnose 360,000 items an hour, far more than
 * troubleshooting needs, and the burst lets it send two batches of the largest default size at
 * once. The burst is never less than the batch limit. */
#define SRV_DEFAULT_RATE_LIMIT 100
#define SRV_DEFAULT_RATE_BURST 2000
/* The project cache the workers share, in MiB. A project costs ~100-250 bytes there
 * (tdb_project_cache_cost_bytes; docs/performance.md, "Many projects"): 256 MiB keeps more than
 * a million projects, and a few hundred projects take what they use, not the bound. */
#define SRV_DEFAULT_CACHE_MB 256
/* The longest a request waits for the diagnosis log to commit what is queued before it reads
 * the log (GET /v1/projects/{app_id}/diagnoses): a commit takes a few milliseconds; a writer
 * held up by a lock must not hold up the worker. */
#define SRV_LOG_FLUSH_WAIT_MS 20

/* The edge's limits against slow and greedy clients (server/srv_conn.c). */
#define SRV_DEFAULT_REQUEST_TIMEOUT 10 /* seconds for a whole request: headers and body */
#define SRV_DEFAULT_MAX_CONNECTIONS 8192
#define SRV_DEFAULT_MAX_CONNECTIONS_PER_CLIENT 256 /* an IPv4 address or an IPv6 /64 */
/* 1/SRV_RESERVE_DIV of max_connections is kept for clients holding at most
 * SRV_RESERVE_LIGHT_CLIENT connections, so that a new client is served when the rest is full. */
#define SRV_RESERVE_DIV 8
#define SRV_RESERVE_LIGHT_CLIENT 4
/* Fixed: a request's line and headers; a body over SRV_BODY_HARD_FACTOR times body_limit (at
 * least SRV_BODY_HARD_MIN) is refused before it is read, the others are read and then 413. */
#define SRV_MAX_HEAD 16384
/* Fixed: the longest chunk-size line with its extensions (server/srv_framing.c); longer is 400. */
#define SRV_CHUNK_LINE_MAX 1024
#define SRV_BODY_HARD_FACTOR 16
#define SRV_BODY_HARD_MIN 1048576

typedef struct {
    const char *listen;   /* "HOST:PORT", "[V6]:PORT", ":PORT" (all interfaces) or "PORT";
                             port 0 picks a free port (see port_file) */
    const char *db_path;  /* NULL = tdb_default_path() */
    const char *key_file; /* NULL = tdb_default_key_file(db_path) */
    int threads;          /* worker threads; 0 = the number of online cores */
    srv_auth_mode auth;
    size_t body_limit;  /* bytes; larger bodies are 413 */
    size_t batch_limit; /* items of /v1/diagnose/batch; more is 413 */
    int timeout_s;      /* read/write/idle timeout of a connection */
    int shutdown_timeout_s;
    const char *log_db_path; /* diagnosis log database; NULL = the main database (db_path) */
    size_t log_queue;        /* diagnosis-log queue capacity; 0 = the store's default */
    int retention_days;      /* diagnosis-log retention; 0 = the store's default */
    int64_t log_max_rows;    /* diagnosis-log bound in rows; 0 = the store's default */
    int64_t log_max_mb;      /* diagnosis-log bound in MiB of the database; 0 = the default */
    unsigned rate_limit;     /* diagnosed items a second per client address; 0 = no limit */
    unsigned rate_burst;     /* items a client may send at once; 0 = SRV_DEFAULT_RATE_BURST */
    const char *access_log;  /* NULL or "-" = stderr, "off" = none, else a file (appended) */
    const char *port_file;   /* when set, the bound port is written there once listening */
    bool bootstrap_key;      /* create an admin key when the store has none (see below) */
    /* Where that first admin key is written (mode 0600) instead of being printed: when set,
     * always; when NULL, SRV_ADMIN_KEY_FILE_NAME beside the database, and only when standard
     * output is not a terminal -- a key printed there would end up in a journal or log file. */
    const char *admin_key_file;
    int request_timeout_s;             /* whole-request deadline (headers and body), seconds */
    size_t max_connections;            /* open connections (see SRV_RESERVE_DIV) */
    size_t max_connections_per_client; /* open connections of one client address */
    /* Probes (`--probe NAME=FILE`, server/srv_probe.c): preflights of token servers run on a
     * schedule, at most SRV_PROBES_MAX; each "NAME=FILE" as given (borrowed). */
    const char *const *probes;
    size_t nprobes;
    size_t cache_mb; /* the workers' shared project cache, MiB */
} srv_config;

#define SRV_PROBES_MAX 16
#define SRV_PROBE_NAME_MAX 32

#define SRV_ADMIN_KEY_FILE_NAME "admin-api-key"

/* Fills c with the defaults above (listen SRV_DEFAULT_LISTEN, bootstrap_key true). */
void srv_config_defaults(srv_config *c);

/* Runs the service until SIGTERM or SIGINT. Returns the process exit status: CLI_EXIT_OK after
 * a clean shutdown, CLI_EXIT_USAGE for a bad configuration (unparsable address, ...),
 * CLI_EXIT_INTERNAL when the store cannot be opened, the address cannot be bound or the port
 * file cannot be written (a message is printed to stderr). */
int srv_run(const srv_config *c);

#ifdef __cplusplus
}
#endif
#endif /* TDSERVER_H */

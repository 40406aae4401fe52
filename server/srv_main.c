/* srv_main.c -- srv_run(): set the service up, wait for a signal, shut it down in order.
 *
 * Order of start: parse the address and bind the sockets, open the store once on this thread
 * (this creates the database and key file on a first start and gives clear errors early), start
 * the diagnosis-log writer, create an admin key if there is none, create the workers (each opens
 * its own store connection), and only then start their threads -- so a failure leaves nothing
 * half-running.
 *
 * The first admin key is shown once. On a terminal it is printed; otherwise standard output is
 * a journal, a container log or a file that others read and keep, so the key is written to a
 * file of mode 0600 (--admin-key-file, by default beside the database) and the message names
 * the file instead. A key that cannot be written is revoked and the start fails: a key nobody
 * has would only be an unused credential.
 *
 * Order of stop (SIGTERM/SIGINT, caught by libevent on the main thread's own event_base, so no
 * handler touches shared state): every worker stops accepting and drains, the workers are
 * joined, then the diagnosis log is flushed and stopped -- after the last diagnosis was queued.
 */
#include "srv_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/thread.h>
#include <event2/util.h>

void srv_config_defaults(srv_config *c) {
    *c = (srv_config){
        .listen = SRV_DEFAULT_LISTEN,
        .auth = SRV_AUTH_ADMIN,
        .body_limit = SRV_DEFAULT_BODY_LIMIT,
        .batch_limit = SRV_DEFAULT_BATCH_LIMIT,
        .timeout_s = SRV_DEFAULT_TIMEOUT,
        .shutdown_timeout_s = SRV_DEFAULT_SHUTDOWN_TIMEOUT,
        .request_timeout_s = SRV_DEFAULT_REQUEST_TIMEOUT,
        .max_connections = SRV_DEFAULT_MAX_CONNECTIONS,
        .max_connections_per_client = SRV_DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        .bootstrap_key = true,
        .rate_limit = SRV_DEFAULT_RATE_LIMIT,
        .cache_mb = SRV_DEFAULT_CACHE_MB,
    };
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" (all interfaces), "localhost:PORT" or "PORT". */
static bool srv_parse_listen(const char *spec, struct sockaddr_storage *ss, int *sslen) {
    char buf[300];
    if (!spec || !*spec || strlen(spec) > 256)
        return false;
    if (strspn(spec, "0123456789") == strlen(spec))
        snprintf(buf, sizeof buf, "127.0.0.1:%s", spec);
    else if (spec[0] == ':')
        snprintf(buf, sizeof buf, "0.0.0.0%s", spec);
    else if (strncmp(spec, "localhost:", 10) == 0)
        snprintf(buf, sizeof buf, "127.0.0.1:%s", spec + 10);
    else
        snprintf(buf, sizeof buf, "%s", spec);
    const char *colon = strrchr(buf, ':');
    const char *bracket = strrchr(buf, ']');
    if (!colon || (bracket && colon < bracket) || colon[1] == '\0')
        return false; /* a port is required */
    /* evutil_parse_sockaddr_port reads the port with atoi(): "8080extra" would be 8080 */
    size_t digits = strspn(colon + 1, "0123456789");
    if (colon[1 + digits] != '\0' || digits > 5 || atoi(colon + 1) > 65535)
        return false;
    /* libevent refuses port 0; parse with port 1 and set 0 (pick a free port) afterwards. */
    bool any_port = strcmp(colon, ":0") == 0;
    if (any_port)
        buf[colon - buf + 1] = '1';
    *sslen = (int)sizeof *ss;
    memset(ss, 0, sizeof *ss);
    if (evutil_parse_sockaddr_port(buf, (struct sockaddr *)ss, sslen) != 0)
        return false;
    if (any_port) {
        if (ss->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)ss)->sin6_port = 0;
        else
            ((struct sockaddr_in *)ss)->sin_port = 0;
    }
    return true;
}

/* A listening socket carries TCP_NODELAY because Linux copies it to every connection accepted
 * from it (no setsockopt per connection): without it, an answer larger than the 16 KiB that a
 * bufferevent writes at once (e.g. a /v1/diagnose/batch answer) ends in a small segment that
 * Nagle holds until the client's delayed ACK, ~40 ms per answer (docs/performance.md). */
static int srv_socket(const struct sockaddr_storage *ss, int sslen, bool reuseport,
                      bool listening) {
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        (listening && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) ||
        bind(fd, (const struct sockaddr *)ss, (socklen_t)sslen) != 0 ||
        (listening && listen(fd, 1024) != 0)) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int srv_port_of(int fd) {
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0)
        return 0;
    return ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);
}

/* One listening socket per worker on the same address (SO_REUSEPORT), so that the kernel
 * spreads new connections evenly over the workers -- one shared socket would let whichever
 * worker wakes first accept a whole burst. A plain bind first, without SO_REUSEPORT, makes an
 * address that another process holds an error instead of silently sharing it. Port 0: the
 * first socket picks the port, the others join it. Returns 0, -2 (unparsable) or -1. */
static int srv_bind(const char *spec, int n, int *fds, int *port_out) {
    struct sockaddr_storage ss;
    int sslen;
    if (!srv_parse_listen(spec, &ss, &sslen)) {
        fprintf(stderr,
                "tokendoctor: serve: cannot parse the listen address '%s' "
                "(expected HOST:PORT, [IPV6]:PORT, :PORT or PORT)\n",
                spec);
        return -2;
    }
    in_port_t *port = ss.ss_family == AF_INET6 ? &((struct sockaddr_in6 *)&ss)->sin6_port
                                               : &((struct sockaddr_in *)&ss)->sin_port;
    if (*port != 0) {
        int probe = srv_socket(&ss, sslen, false, false);
        if (probe < 0) {
            fprintf(stderr, "tokendoctor: serve: cannot listen on %s: %s\n", spec, strerror(errno));
            return -1;
        }
        close(probe);
    }
    for (int i = 0; i < n; i++) {
        fds[i] = srv_socket(&ss, sslen, true, true);
        if (fds[i] < 0) {
            fprintf(stderr, "tokendoctor: serve: cannot listen on %s: %s\n", spec, strerror(errno));
            for (int k = 0; k < i; k++) {
                close(fds[k]);
                fds[k] = -1;
            }
            return -1;
        }
        if (i == 0) {
            *port_out = srv_port_of(fds[0]);
            *port = htons((uint16_t)*port_out);
        }
    }
    return 0;
}

/* Whoever asked for the port file waits for it to know where the service is: a service it
 * cannot find is a failed start, not a warning. false with a message on stderr. */
static bool srv_write_port_file(const char *path, int port) {
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "tokendoctor: serve: the port file path is too long\n");
        return false;
    }
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "%d\n", port) > 0;
    ok = (f && fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) == 0)
        return true;
    fprintf(stderr, "tokendoctor: serve: cannot write the port file %s: %s\n", path,
            strerror(errno));
    if (f)
        unlink(tmp);
    return false;
}

/* "HOST:PORT" as a client would use it: the listen address with the bound port, and a
 * wildcard address replaced by the loopback one. */
static const char *srv_url_host(const char *listen, int port, char *out, size_t cap) {
    const char *colon = strrchr(listen, ':');
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    if (hlen == 0 || (hlen == 7 && strncmp(listen, "0.0.0.0", 7) == 0))
        snprintf(out, cap, "127.0.0.1:%d", port);
    else if (hlen == 4 && strncmp(listen, "[::]", 4) == 0)
        snprintf(out, cap, "[::1]:%d", port);
    else
        snprintf(out, cap, "%.*s:%d", (int)hlen, listen, port);
    return out;
}

/* True when a key of role admin, not revoked, exists. */
static bool srv_has_admin_key(tdb *db, bool *failed) {
    diag_apikey_shown *keys;
    size_t n;
    *failed = tdb_apikey_list(db, &keys, &n) != TDB_OK;
    bool found = false;
    for (size_t i = 0; !*failed && i < n; i++)
        found |= strcmp(keys[i].role, tdb_role_name(TDB_ROLE_ADMIN)) == 0 && !keys[i].revoked;
    free(keys);
    return found;
}

/* Where the first admin key goes when it is not printed: the configured file, else
 * SRV_ADMIN_KEY_FILE_NAME in the database's directory -- the key file's for a PostgreSQL URL,
 * which has no directory on this node. false when the path does not fit. */
static bool srv_admin_key_path(const srv_server *s, char *out, size_t cap) {
    int n;
    const char *beside = tdb_location_is_postgres(s->db_path) ? s->key_file : s->db_path;
    const char *slash = strrchr(beside, '/');
    if (s->cfg.admin_key_file && *s->cfg.admin_key_file)
        n = snprintf(out, cap, "%s", s->cfg.admin_key_file);
    else if (slash)
        n = snprintf(out, cap, "%.*s/%s", (int)(slash - beside), beside, SRV_ADMIN_KEY_FILE_NAME);
    else
        n = snprintf(out, cap, "%s", SRV_ADMIN_KEY_FILE_NAME);
    return n >= 0 && (size_t)n < cap;
}

/* Writes key and a newline to path, mode 0600 whatever the umask, replacing the file atomically
 * (a temporary file made with O_EXCL, then renamed: never through a link someone planted).
 * false with errno set on failure. */
static bool srv_write_key_file(const char *path, const char *key) {
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    size_t len = strlen(key);
    bool ok = fchmod(fd, 0600) == 0 && write(fd, key, len) == (ssize_t)len &&
              write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return true;
    saved = ok ? errno : saved;
    unlink(tmp);
    errno = saved;
    return false;
}

/* First start: create an admin key and hand it over once (see the top of the file). false
 * with a message in err when it cannot be created or written. */
static bool srv_bootstrap_key(srv_server *s, tdb *db, int port, char *err, size_t err_cap) {
    bool failed;
    if (srv_has_admin_key(db, &failed) || failed) {
        if (failed)
            snprintf(err, err_cap, "cannot read the API keys: %s", tdb_errmsg(db));
        return !failed;
    }
    bool to_file = (s->cfg.admin_key_file && *s->cfg.admin_key_file) || !isatty(STDOUT_FILENO);
    char path[4096];
    if (to_file && !srv_admin_key_path(s, path, sizeof path)) {
        snprintf(err, err_cap, "the admin key file path is too long");
        return false;
    }
    char key[TDB_APIKEY_LEN + 1], host[320];
    int64_t id = 0;
    if (tdb_apikey_create(db, TDB_ROLE_ADMIN, "admin", key, &id) != TDB_OK &&
        tdb_apikey_create(db, TDB_ROLE_ADMIN, NULL, key, &id) != TDB_OK) {
        snprintf(err, err_cap, "cannot create the first admin key: %s", tdb_errmsg(db));
        return false;
    }
    srv_url_host(s->cfg.listen, port, host, sizeof host);
    bool ok = true;
    if (!to_file) {
        printf("tokendoctor: first start: created an admin API key. It is shown only this once;\n"
               "store it now (more keys: tokendoctor apikey create --role admin|reader):\n\n"
               "    %s\n\n"
               "    curl -H 'Authorization: Bearer %s' http://%s/v1/projects\n\n",
               key, key, host);
    } else if (srv_write_key_file(path, key)) {
        printf("tokendoctor: first start: created an admin API key and wrote it to %s\n"
               "(mode 0600; not printed, as standard output is not a terminal). Use it with\n\n"
               "    curl -H \"Authorization: Bearer $(cat '%s')\" http://%s/v1/projects\n\n"
               "(more keys: tokendoctor apikey create --role admin|reader)\n",
               path, path, host);
    } else {
        snprintf(err, err_cap, "cannot write the first admin key to %.300s: %s", path,
                 strerror(errno));
        char id_text[24];
        snprintf(id_text, sizeof id_text, "%lld", (long long)id);
        tdb_apikey_revoke(db, id_text); /* a key nobody has: an unused credential */
        ok = false;
    }
    fflush(stdout);
    explicit_bzero(key, sizeof key);
    return ok;
}

static bool srv_open_access_log(srv_server *s) {
    const char *a = s->cfg.access_log;
    s->alog_close = false;
    if (!a || strcmp(a, "-") == 0 || strcmp(a, "stderr") == 0) {
        s->alog_fd = STDERR_FILENO;
        return true;
    }
    if (strcmp(a, "off") == 0 || *a == '\0') {
        s->alog_fd = -1;
        return true;
    }
    s->alog_fd = open(a, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s->alog_fd < 0) {
        fprintf(stderr, "tokendoctor: serve: cannot open the access log %s: %s\n", a,
                strerror(errno));
        return false;
    }
    s->alog_close = true;
    return true;
}

/* The diagnosis log lives in the main database file by default: one file to back up, move and
 * share. Its commits do not disturb the workers' caches, which watch the store's configuration
 * version (moved only by configuration changes), not PRAGMA data_version. --log-db puts it in a
 * database file of its own (e.g. on another disk). */
static void srv_log_db_path(srv_server *s) {
    const char *p = s->cfg.log_db_path && *s->cfg.log_db_path ? s->cfg.log_db_path : s->db_path;
    snprintf(s->log_db_path, sizeof s->log_db_path, "%s", p);
}

/* The store, its key file, the access log and the diagnosis log. Returns CLI_EXIT_OK or the
 * exit status of the failure, with its message in err. */
static int srv_setup(srv_server *s, tdb **main_db, char *err, size_t err_cap) {
    const char *db = s->cfg.db_path ? s->cfg.db_path : tdb_default_path();
    snprintf(s->db_path, sizeof s->db_path, "%s", db);
    if (s->cfg.key_file)
        snprintf(s->key_file, sizeof s->key_file, "%s", s->cfg.key_file);
    else if (!tdb_default_key_file(s->db_path, s->key_file, sizeof s->key_file)) {
        snprintf(err, err_cap, "the key file path is too long");
        return CLI_EXIT_USAGE;
    }
    if (!srv_open_access_log(s))
        return CLI_EXIT_INTERNAL;
    srv_log_db_path(s);
    *main_db = tdb_open(s->db_path, s->key_file, err, err_cap);
    if (!*main_db)
        return CLI_EXIT_INTERNAL;
    snprintf(s->db_shown, sizeof s->db_shown, "%s%s",
             tdb_location_is_postgres(s->db_path) ? "" : "database ", tdb_shown_name(*main_db));
    tdb_log_options lo = {s->cfg.log_queue, s->cfg.retention_days, s->cfg.log_max_rows,
                          s->cfg.log_max_mb};
    s->log = tdb_log_start_opts(s->log_db_path, s->key_file, &lo, err, err_cap);
    if (!s->log)
        return CLI_EXIT_INTERNAL;
    /* The burst pays for the largest batch allowed (srv_ratelimit.c). */
    uint64_t burst = s->cfg.rate_burst ? s->cfg.rate_burst : SRV_DEFAULT_RATE_BURST;
    if (burst < s->cfg.batch_limit)
        burst = s->cfg.batch_limit;
    if (s->cfg.rate_limit && !(s->rate = srv_ratelimit_new(s->cfg.rate_limit, burst))) {
        snprintf(err, err_cap, "out of memory for the rate limit");
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}

typedef struct {
    srv_server *s;
    struct event_base *base;
    struct event *term;
    struct event *intr;
} srv_signal_ctx;

static void srv_on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    srv_signal_ctx *c = arg;
    fprintf(stderr, "tokendoctor: %s: finishing requests in flight, then exiting\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (int i = 0; i < c->s->nworkers; i++)
        srv_worker_stop_async(&c->s->workers[i]);
    /* Give the signals back their default action: a second Ctrl-C ends a drain at once. */
    event_del(c->term);
    event_del(c->intr);
    event_base_loopbreak(c->base);
}

/* Once a second on the main thread: report the diagnosis log's drops (srv_log_report). */
static void srv_on_report(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_log_report(arg, srv_now_s());
}

/* Starts the workers and waits for SIGTERM/SIGINT; returns the exit status of the run. */
static int srv_serve(srv_server *s, int port) {
    struct event_base *base = event_base_new();
    srv_signal_ctx ctx = {s, base, NULL, NULL};
    struct event *term = base ? evsignal_new(base, SIGTERM, srv_on_signal, &ctx) : NULL;
    struct event *intr = base ? evsignal_new(base, SIGINT, srv_on_signal, &ctx) : NULL;
    ctx.term = term;
    ctx.intr = intr;
    struct event *report = base ? event_new(base, -1, EV_PERSIST, srv_on_report, s) : NULL;
    struct timeval second = {1, 0};
    int rc = CLI_EXIT_OK;
    if (!term || !intr || !report || event_add(term, NULL) != 0 || event_add(intr, NULL) != 0 ||
        event_add(report, &second) != 0) {
        fprintf(stderr, "tokendoctor: serve: cannot install signal handlers\n");
        rc = CLI_EXIT_INTERNAL;
    }
    /* Before the workers start: a service nobody can find serves no request, then exits. */
    if (rc == CLI_EXIT_OK && s->cfg.port_file && !srv_write_port_file(s->cfg.port_file, port))
        rc = CLI_EXIT_INTERNAL;
    int started = 0;
    for (int i = 0; rc == CLI_EXIT_OK && i < s->nworkers; i++) {
        if (!srv_worker_start(&s->workers[i])) {
            fprintf(stderr, "tokendoctor: serve: cannot start worker thread %d\n", i);
            rc = CLI_EXIT_INTERNAL;
            break;
        }
        started++;
    }
    if (rc == CLI_EXIT_OK && !srv_probes_start(s)) {
        fprintf(stderr, "tokendoctor: serve: cannot start the probe thread\n");
        rc = CLI_EXIT_INTERNAL;
    }
    if (rc == CLI_EXIT_OK) {
        char host[320];
        fprintf(stderr, "tokendoctor: serving http://%s (%d threads, %s)\n",
                srv_url_host(s->cfg.listen, port, host, sizeof host), s->nworkers, s->db_shown);
        event_base_dispatch(base);
    } else {
        for (int i = 0; i < started; i++)
            srv_worker_stop_async(&s->workers[i]);
    }
    srv_probes_stop(s);
    for (int i = 0; i < s->nworkers; i++)
        srv_worker_join(&s->workers[i]);
    if (report)
        event_free(report);
    if (term)
        event_free(term);
    if (intr)
        event_free(intr);
    if (base)
        event_base_free(base);
    return rc;
}

/* Every connection is a descriptor, and the usual soft limit (1024) is far below what a
 * keep-alive service needs; the hard limit is what the administrator allows, so the service
 * takes it (a failure leaves the soft limit as it was). Beyond it, see srv_worker.c. */
static void srv_raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int srv_run(const srv_config *c) {
    srv_server s;
    memset(&s, 0, sizeof s);
    s.cfg = *c;
    s.alog_fd = -1;
    s.started_at = srv_now_s();
    if (s.cfg.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s.cfg.threads = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    if (s.cfg.body_limit == 0)
        s.cfg.body_limit = SRV_DEFAULT_BODY_LIMIT;
    if (s.cfg.batch_limit == 0)
        s.cfg.batch_limit = SRV_DEFAULT_BATCH_LIMIT;
    if (s.cfg.timeout_s <= 0)
        s.cfg.timeout_s = SRV_DEFAULT_TIMEOUT;
    if (s.cfg.shutdown_timeout_s <= 0)
        s.cfg.shutdown_timeout_s = SRV_DEFAULT_SHUTDOWN_TIMEOUT;
    if (s.cfg.request_timeout_s <= 0)
        s.cfg.request_timeout_s = SRV_DEFAULT_REQUEST_TIMEOUT;
    if (s.cfg.max_connections == 0)
        s.cfg.max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
    if (s.cfg.max_connections_per_client == 0)
        s.cfg.max_connections_per_client = SRV_DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
    if (!s.cfg.listen)
        s.cfg.listen = SRV_DEFAULT_LISTEN;

    signal(SIGPIPE, SIG_IGN); /* a client that hangs up is an error return, not a death */
    srv_raise_fd_limit();
    evthread_use_pthreads();

    char err[512] = "";
    tdb *main_db = NULL;
    /* The address first: a wrong or busy one must not leave a new database behind. */
    int rc = CLI_EXIT_OK, port = 0;
    s.listen_fds = malloc((size_t)s.cfg.threads * sizeof *s.listen_fds);
    int b = s.listen_fds ? srv_bind(s.cfg.listen, s.cfg.threads, s.listen_fds, &port) : -1;
    if (b != 0) {
        free(s.listen_fds);
        s.listen_fds = NULL;
        rc = b == -2 ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
    }
    if (rc == CLI_EXIT_OK && !srv_client_table_init(&s.clients, s.cfg.max_connections)) {
        snprintf(err, sizeof err, "out of memory");
        rc = CLI_EXIT_INTERNAL;
    }
    /* The probes' files before the store: a bad one must not leave a new database behind. */
    if (rc == CLI_EXIT_OK && !srv_probes_init(&s, err, sizeof err))
        rc = CLI_EXIT_USAGE;
    if (rc == CLI_EXIT_OK)
        rc = srv_setup(&s, &main_db, err, sizeof err);
    if (rc == CLI_EXIT_OK && s.cfg.bootstrap_key &&
        !srv_bootstrap_key(&s, main_db, port, err, sizeof err))
        rc = CLI_EXIT_INTERNAL;
    if (rc == CLI_EXIT_OK) {
        s.workers = calloc((size_t)s.cfg.threads, sizeof *s.workers);
        if (!s.workers) {
            snprintf(err, sizeof err, "out of memory");
            rc = CLI_EXIT_INTERNAL;
        }
    }
    for (int i = 0; rc == CLI_EXIT_OK && i < s.cfg.threads; i++) {
        s.nworkers = i + 1;
        if (!srv_worker_init(&s, &s.workers[i], i, err, sizeof err))
            rc = CLI_EXIT_INTERNAL;
    }
    if (rc == CLI_EXIT_OK)
        rc = srv_serve(&s, port);
    else if (err[0])
        fprintf(stderr, "tokendoctor: serve: %s\n", err);

    for (int i = 0; i < s.nworkers; i++)
        srv_worker_free(&s.workers[i]);
    free(s.workers);
    for (int i = 0; s.listen_fds && i < s.cfg.threads; i++)
        if (s.listen_fds[i] >= 0)
            close(s.listen_fds[i]); /* those no worker took over */
    free(s.listen_fds);
    srv_probes_free(&s);
    tdb_log_stop(s.log); /* flushes every queued diagnosis */
    srv_ratelimit_free(s.rate);
    srv_client_table_free(&s.clients); /* after the workers: their connections are closed */
    tdb_close(main_db);
    if (s.alog_close)
        close(s.alog_fd);
    if (rc == CLI_EXIT_OK)
        fprintf(stderr, "tokendoctor: stopped\n");
    return rc;
}

/* fuzz_http.c -- libFuzzer target: raw bytes on a connection to the real request handler.
 *
 * The input is what a client writes on one TCP connection: request line, headers, body, and
 * whatever follows (pipelined requests, garbage). It is the service's own code path from the
 * socket up: one worker set up by srv_worker_init (the real evhttp configuration, route table,
 * caches, store and replies of server/), listening on a loopback socket, driven by its
 * event_base in this thread. Each input goes out on a new connection, the write side is then
 * shut, and the loop runs until the service closes the connection (it always does once it has
 * read the end of the input): no sleep, no second thread, so an input costs a few syscalls and
 * what the handler does with it.
 *
 * The store is a fresh database in a temporary directory with one project (PROJECT_APP_ID) and
 * one admin API key; the three bytes "@K@" of an input are replaced by that key (it is random,
 * so a corpus could not hold it otherwise), so that seeds reach the routes that need a key. The
 * diagnosis log (a writer thread of its own) is off, as `serve` runs with none: 10 million
 * diagnoses would otherwise fill the disk; its queue is tested by the db suite.
 *
 * A connection that the service keeps open after the end of its input for longer than
 * FUZZ_HTTP_HANG_S seconds is a finding (abort): a request the service neither answers nor
 * closes is a slot a hostile client can hold. The narrow entry point is srv_worker_init; when
 * server/srv_worker.c's set-up changes, this file follows it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "srv_internal.h"

#define FUZZ_HTTP_HANG_S 5
#define PROJECT_APP_ID "0123456789abcdef0123456789abcdef"
#define KEY_MARK "@K@"

/* The process-wide set-up: libFuzzer's targets keep their state in statics (fuzz_ctx.h too). */
static srv_server fuzz_server;
static srv_worker fuzz_worker;
static struct sockaddr_in fuzz_addr;
static char fuzz_key[TDB_APIKEY_LEN + 1];
static char fuzz_dir[64];

static void fuzz_cleanup(void) {
    srv_worker_free(&fuzz_worker);
    srv_client_table_free(&fuzz_server.clients);
    char path[128];
    static const char *const files[] = {"db", "db-wal", "db-shm", "db.key"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, files[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

/* The store: one project, one admin key (into fuzz_key). */
static int fuzz_store(void) {
    char err[512];
    tdb *db = tdb_open(fuzz_server.db_path, fuzz_server.key_file, err, sizeof err);
    if (!db) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        return 1;
    }
    diag_project p;
    memset(&p, 0, sizeof p);
    strcpy(p.app_id, PROJECT_APP_ID);
    strcpy(p.primary.certificate, "fedcba9876543210fedcba9876543210"); /* a test value */
    p.primary.present = p.primary.enabled = true;
    int64_t id;
    bool ok = tdb_project_put(db, &p, "fuzz", NULL) == TDB_OK &&
              tdb_apikey_create(db, TDB_ROLE_ADMIN, "fuzz", fuzz_key, &id) == TDB_OK;
    if (!ok)
        fprintf(stderr, "fuzz_http: %s\n", tdb_errmsg(db));
    tdb_close(db);
    return ok ? 0 : 1;
}

/* A loopback listening socket on a free port, its address in fuzz_addr. */
static int fuzz_listen(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof fuzz_addr;
    memset(&fuzz_addr, 0, sizeof fuzz_addr);
    fuzz_addr.sin_family = AF_INET;
    fuzz_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&fuzz_addr, sizeof fuzz_addr) != 0 ||
        listen(fd, 64) != 0 || getsockname(fd, (struct sockaddr *)&fuzz_addr, &len) != 0)
        return -1;
    return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s", "/tmp/td_fuzz_http.XXXXXX");
    if (!mkdtemp(fuzz_dir))
        return 1;
    srv_server *s = &fuzz_server;
    srv_config_defaults(&s->cfg); /* the service's own defaults, from their one owner */
    s->cfg.threads = 1;
    s->cfg.rate_limit = 0; /* every input comes from one address: a limit would hide routes */
    snprintf(s->db_path, sizeof s->db_path, "%s/db", fuzz_dir);
    snprintf(s->log_db_path, sizeof s->log_db_path, "%s/db", fuzz_dir);
    snprintf(s->key_file, sizeof s->key_file, "%s/db.key", fuzz_dir);
    s->alog_fd = -1;
    s->log = NULL;
    s->nworkers = 1;
    s->workers = &fuzz_worker;
    static int listen_fd[1];
    s->listen_fds = listen_fd;
    char err[512];
    if (fuzz_store() != 0 || (listen_fd[0] = fuzz_listen()) < 0 ||
        !srv_client_table_init(&s->clients, s->cfg.max_connections) ||
        !srv_worker_init(s, &fuzz_worker, 0, err, sizeof err)) {
        fprintf(stderr, "fuzz_http: cannot set the worker up: %s\n", err);
        return 1;
    }
    atexit(fuzz_cleanup);
    return 0;
}

typedef struct {
    int fd;
    const unsigned char *p; /* what is left to send */
    size_t n;
    bool closed;
    struct event *ev;
} fuzz_conn;

/* Sends what the socket takes, shuts the write side once all is sent, and reads (and drops)
 * the answer until the service closes: then the loop stops. */
static void fuzz_on_socket(evutil_socket_t fd, short what, void *arg) {
    fuzz_conn *c = arg;
    if ((what & EV_WRITE) && c->n > 0) {
        ssize_t k = send(fd, c->p, c->n, MSG_NOSIGNAL);
        if (k > 0) {
            c->p += k;
            c->n -= (size_t)k;
        } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
            c->n = 0; /* the service closed first: what it answered is still read below */
        }
        if (c->n == 0) {
            shutdown(fd, SHUT_WR);
            event_del(c->ev);
            event_assign(c->ev, fuzz_worker.base, fd, EV_READ | EV_PERSIST, fuzz_on_socket, c);
            event_add(c->ev, NULL);
        }
    }
    if (what & EV_READ) {
        char buf[65536];
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
            c->closed = true;
            event_base_loopbreak(fuzz_worker.base);
        }
    }
}

static void fuzz_on_hang(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    fprintf(stderr, "fuzz_http: the service kept the connection %d s after the input ended\n",
            FUZZ_HTTP_HANG_S);
    abort();
}

/* The input with every KEY_MARK replaced by the admin key; new buffer (free()). */
static unsigned char *with_key(const unsigned char *data, size_t size, size_t *out_len) {
    size_t marks = 0, m = strlen(KEY_MARK), k = strlen(fuzz_key);
    for (size_t i = 0; i + m <= size; i++)
        if (memcmp(data + i, KEY_MARK, m) == 0)
            marks++;
    unsigned char *out = malloc(size + marks * k + 1);
    if (!out)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < size;) {
        if (i + m <= size && memcmp(data + i, KEY_MARK, m) == 0) {
            memcpy(out + o, fuzz_key, k);
            o += k;
            i += m;
        } else {
            out[o++] = data[i++];
        }
    }
    *out_len = o;
    return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    size_t len;
    unsigned char *bytes = with_key(data, size, &len);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        (connect(fd, (struct sockaddr *)&fuzz_addr, sizeof fuzz_addr) != 0 && errno != EINPROGRESS))
        abort(); /* the harness, not the service: fd or port exhausted */
    fuzz_conn c = {.fd = fd, .p = bytes, .n = len};
    c.ev = event_new(fuzz_worker.base, fd, EV_WRITE | EV_PERSIST, fuzz_on_socket, &c);
    struct event *hang = evtimer_new(fuzz_worker.base, fuzz_on_hang, NULL);
    struct timeval limit = {FUZZ_HTTP_HANG_S, 0};
    if (!c.ev || !hang || event_add(c.ev, NULL) != 0 || evtimer_add(hang, &limit) != 0)
        abort();
    if (len == 0) { /* nothing to send: only the end of input */
        shutdown(fd, SHUT_WR);
        event_del(c.ev);
        event_assign(c.ev, fuzz_worker.base, fd, EV_READ | EV_PERSIST, fuzz_on_socket, &c);
        event_add(c.ev, NULL);
    }
    while (!c.closed)
        event_base_loop(fuzz_worker.base, EVLOOP_ONCE);
    event_free(hang);
    event_free(c.ev);
    close(fd);
    free(bytes);
    return 0;
}

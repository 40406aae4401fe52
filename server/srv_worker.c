/* srv_worker.c -- one worker thread: an event_base with an evhttp accepting on the worker's
 * own listening socket, and everything a request needs, owned by this thread alone.
 *
 * With a remote store (PostgreSQL) a worker has a second thread, its store thread
 * (srv_store.c): every call that could reach the network is made there, and the request waits
 * parked while the loop serves the others; the worker's own handles then only give the
 * configuration version (published by a watcher thread, no network). A local store (SQLite) is
 * called from the loop itself.
 *
 * Every worker accepts on its own listening socket, all bound to the same address with
 * SO_REUSEPORT (srv_main.c), so the kernel spreads connections evenly over the workers and a
 * worker that stops accepting closes only its own socket.
 *
 * evhttp is configured so that every answer is ours and is JSON: all methods, even those evhttp
 * does not know, are let through to the handler (which answers 405 with Allow), and evhttp's own
 * body limit is set well above ours (16x, at least 1 MiB) so that an oversized body normally
 * reaches the handler and gets the JSON 413. What evhttp still refuses by itself (a body beyond
 * that hard limit, a request it cannot parse, an Expect it does not know) is replaced by our
 * JSON error before it is sent (srv_conn.c), which also owns the connection limits.
 *
 * Before a request reaches the routes, its framing is checked (srv_framing_fault): evhttp trusts
 * the first Content-Length and ignores conflicts, which lets a request be smuggled past a proxy
 * that frames it differently. The path routed on is the one the client sent (srv_request_path).
 *
 * Shutdown: the main thread activates stop_ev. The worker then removes its listener, marks
 * itself draining (responses carry Connection: close) and lets its loop run until no request
 * has started or completed for SRV_DRAIN_QUIET_US (1 s: a request whose bytes are still
 * arriving has that long to complete; a parked request counts as in flight), or the shutdown
 * timeout passes; then it stops its store thread and answers what is still parked
 * (srv_store_stop), and frees evhttp,
 * which closes what is left (idle keep-alive connections). evhttp does not expose its
 * connections, so "quiet" is the observable stand-in for "nothing in flight".
 *
 * Out of descriptors: when accept() fails for a reason that does not go away by itself
 * (EMFILE, ENFILE, ENOBUFS, ...), the connection stays in the kernel's queue and the listening
 * socket stays readable, so a listener left enabled would spin: libevent's default is to log a
 * warning and try again at once, which took both cores and wrote thousands of lines a second.
 * The worker's listener therefore disables itself on such an error (one line on stderr per
 * pause: at most two a second per worker) and the tick re-enables it every 500 ms
 * (SRV_ACCEPT_RETRY_TICKS; nginx waits as long); connections already open are served meanwhile,
 * and evhttp's timeout closes idle ones, which gives descriptors back.
 */
#include "srv_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#define SRV_DRAIN_QUIET_US 1000000
#define SRV_TICK_MS 100
#define SRV_ACCEPT_RETRY_TICKS 5 /* a listener paused by an accept error is retried this often */

/* The methods evhttp reads a body for (evhttp_method_may_have_body in libevent 2.1): for any
 * other (HEAD, TRACE, a method it does not know), a body the request announces stays unread in
 * the connection, where it would be taken for the next request. */
static bool srv_body_read(enum evhttp_cmd_type m) {
    return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT ||
           m == EVHTTP_REQ_DELETE || m == EVHTTP_REQ_OPTIONS || m == EVHTTP_REQ_CONNECT ||
           m == EVHTTP_REQ_PATCH;
}

/* What is wrong with the request's message framing (RFC 9112 section 6), or NULL. evhttp reads
 * the body by the first Content-Length and ignores the others, and reads a Content-Length body
 * when Transfer-Encoding is anything but "chunked": a proxy that framed the request differently
 * would see another request where evhttp sees a body, or the reverse. Such a request is refused
 * and its connection closed, so that what follows it is never read as a request. */
static const char *srv_framing_fault(struct evhttp_request *req) {
    const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    int lengths = 0, codings = 0;
    const char *length = NULL, *coding = NULL;
    for (const struct evkeyval *kv = TAILQ_FIRST(h); kv; kv = TAILQ_NEXT(kv, next)) {
        if (evutil_ascii_strcasecmp(kv->key, "Content-Length") == 0) {
            lengths++;
            length = kv->value;
        } else if (evutil_ascii_strcasecmp(kv->key, "Transfer-Encoding") == 0) {
            codings++;
            coding = kv->value;
        }
    }
    if (lengths && codings)
        return "Content-Length and Transfer-Encoding: only one of them may frame a body";
    if (codings > 1 || (coding && evutil_ascii_strcasecmp(coding, "chunked") != 0))
        return "Transfer-Encoding: only chunked is accepted";
    if (lengths > 1)
        return "Content-Length: given more than once";
    if (length &&
        (!*length || strlen(length) > 18 || strspn(length, "0123456789") != strlen(length)))
        return "Content-Length: must be a decimal number of bytes";
    return NULL;
}

/* Whether the request announces a body (evhttp_method_may_have_body's methods aside). */
static bool srv_has_body_framing(struct evhttp_request *req) {
    const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *length = evhttp_find_header(h, "Content-Length");
    return evhttp_find_header(h, "Transfer-Encoding") || (length && strcmp(length, "0") != 0);
}

/* The path to route on. evhttp_uri parses a target that starts with "//" as a network-path
 * reference ("//authority/path"): "//healthz" would have the empty path, which is the web page.
 * A target that starts with "/" is a path, all of it (origin-form); anything else (the
 * absolute-form "http://host/path" a proxy may send, "*") is taken from the parsed URI. */
static void srv_request_path(srv_req *r) {
    const char *target = evhttp_request_get_uri(r->req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    r->path = uri ? evhttp_uri_get_path(uri) : NULL;
    r->query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (target && target[0] == '/' && target[1] == '/') {
        r->path = target; /* matches no route: 404 */
        r->query = NULL;
    }
    if (!r->path || !*r->path)
        r->path = "/";
}

bool srv_open_request_stores(const srv_server *s, tdb **db, tdb **log_db, char *err,
                             size_t err_cap) {
    *db = tdb_open(s->db_path, s->key_file, err, err_cap);
    if (!*db)
        return false;
    *log_db = strcmp(s->log_db_path, s->db_path) == 0
                  ? *db
                  : tdb_open(s->log_db_path, s->key_file, err, err_cap);
    if (!*log_db)
        return false;
    /* A request never waits long for another writer's lock: see TDB_REQUEST_BUSY_MS. */
    tdb_set_busy_timeout(*db, TDB_REQUEST_BUSY_MS);
    tdb_set_busy_timeout(*log_db, TDB_REQUEST_BUSY_MS);
    return true;
}

static void srv_on_request(struct evhttp_request *req, void *arg) {
    srv_worker *w = arg;
    srv_conn_request_done(w, req);
    srv_req r;
    r.w = w;
    r.req = req;
    r.route = SRV_ROUTE_UNKNOWN;
    r.method = evhttp_request_get_command(req);
    r.app_id[0] = '\0';
    r.role = TDB_ROLE_NONE;
    r.actor[0] = '\0';
    r.status = 0;
    r.start_us = srv_now_us();
    r.log_app_id[0] = '\0';
    r.log_verdict = NULL;
    r.close = false;
    r.evcon = NULL;
    r.job = NULL;
    r.authorized = false;
    r.paid = false;
    srv_request_id(&r);
    srv_request_path(&r);
    w->last_activity_us = r.start_us;
    const char *fault = srv_framing_fault(req);
    if (fault) {
        r.close = true;
        srv_reply_error(&r, 400, "bad_request", fault);
        return;
    }
    r.close = !srv_body_read(r.method) && srv_has_body_framing(req);
    srv_handle(&r);
}

static void srv_on_refresh(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ((srv_worker *)arg)->version_fresh = false;
}

/* evconnlistener's error callback: its argument is evhttp's (the listener's user data belongs
 * to evhttp), so nothing here may need the worker; the tick does the re-enabling. */
static void srv_on_accept_error(struct evconnlistener *listener, void *http) {
    (void)http;
    int err = EVUTIL_SOCKET_ERROR();
    evconnlistener_disable(listener);
    fprintf(stderr, "tokendoctor: serve: cannot accept a connection (%s); retrying in %d ms\n",
            strerror(err), SRV_ACCEPT_RETRY_TICKS * SRV_TICK_MS);
}

static void srv_on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_worker *w = arg;
    if (w->alog_len)
        srv_alog_flush(w);
    if (!w->draining) {
        /* Enabling an enabled listener changes nothing: no need to know whether it was paused. */
        if (w->bound && ++w->ticks % SRV_ACCEPT_RETRY_TICKS == 0)
            evconnlistener_enable(evhttp_bound_socket_get_listener(w->bound));
        return;
    }
    int64_t now = srv_now_us();
    if (srv_store_parked(w))
        w->last_activity_us = now; /* a parked request is in flight: not quiet */
    if (now - w->last_activity_us >= SRV_DRAIN_QUIET_US || now >= w->drain_deadline_us)
        event_base_loopexit(w->base, NULL);
}

static void srv_on_stop(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_worker *w = arg;
    if (w->draining)
        return;
    if (w->bound) {
        evhttp_del_accept_socket(w->http, w->bound); /* closes our dup of the socket */
        w->bound = NULL;
    }
    w->draining = true;
    int64_t now = srv_now_us();
    w->drain_deadline_us = now + (int64_t)w->server->cfg.shutdown_timeout_s * 1000000;
    w->last_activity_us = now; /* a request still arriving gets SRV_DRAIN_QUIET_US to finish */
}

size_t srv_body_hard_limit(const srv_config *c) {
    size_t hard = c->body_limit * SRV_BODY_HARD_FACTOR;
    return hard < SRV_BODY_HARD_MIN ? SRV_BODY_HARD_MIN : hard;
}

static bool srv_worker_http(srv_server *s, srv_worker *w, char *err, size_t err_cap) {
    w->http = evhttp_new(w->base);
    if (!w->http) {
        snprintf(err, err_cap, "cannot create the HTTP server");
        return false;
    }
    evhttp_set_max_body_size(w->http, (ev_ssize_t)srv_body_hard_limit(&s->cfg));
    evhttp_set_max_headers_size(w->http, SRV_MAX_HEAD);
    evhttp_set_timeout(w->http, s->cfg.timeout_s);
    /* Every bit: a method evhttp does not know (a lower-case "get", "FOO") has a bit of its own
     * (1 << 15 in libevent 2.1), and would otherwise be evhttp's HTML 501. The handler answers
     * it: 405 with Allow, or 404. */
    evhttp_set_allowed_methods(w->http, (ev_uint16_t)~0u);
    evhttp_set_default_content_type(w->http, "application/json");
    evhttp_set_gencb(w->http, srv_on_request, w);
    if (!srv_conn_worker_init(w)) {
        snprintf(err, err_cap, "cannot create worker events");
        return false;
    }
    w->bound = evhttp_accept_socket_with_handle(w->http, s->listen_fds[w->index]);
    if (!w->bound) {
        snprintf(err, err_cap, "cannot accept on the listening socket");
        return false;
    }
    s->listen_fds[w->index] = -1; /* evhttp closes it from now on */
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(w->bound), srv_on_accept_error);
    return true;
}

static bool srv_worker_errors_json(srv_worker *w) {
    json_t *cat = diag_catalog_to_json();
    if (!cat)
        return false;
    w->errors_json = json_dumps(cat, JSON_COMPACT);
    json_decref(cat);
    if (!w->errors_json)
        return false;
    w->errors_len = strlen(w->errors_json);
    return true;
}

/* The seed of the worker's request ids: random, so that two workers or two runs do not make
 * the same ids; without a random source, time, process and worker (unique enough for ids). */
static uint64_t srv_request_id_seed(int index) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
        return seed;
    return (uint64_t)srv_now_us() ^ ((uint64_t)getpid() << 32) ^ ((uint64_t)index << 56);
}

bool srv_worker_init(srv_server *s, srv_worker *w, int index, char *err, size_t err_cap) {
    memset(w, 0, sizeof *w);
    w->server = s;
    w->index = index;
    w->rid_seed = srv_request_id_seed(index);
    /* The epoll changelist coalesces evhttp's per-request enable/disable of read and write
     * interest into at most one epoll_ctl per descriptor and iteration (safe here: no
     * descriptor is dup()ed). It keeps its lock: the main thread activates stop_ev. */
    struct event_config *ec = event_config_new();
    if (ec) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    /* Two priorities: 0 for refresh_ev, which must run before the requests of an iteration;
     * everything else (evhttp's events included) gets the default, 1. */
    if (w->base && event_base_priority_init(w->base, 2) != 0) {
        snprintf(err, err_cap, "cannot set event priorities");
        return false;
    }
    w->td = td_ctx_new();
    w->result = malloc(sizeof *w->result);
    td_buf_init(&w->out, SRV_REPLY_MAX);
    td_buf_space(&w->out, SRV_REPLY_FIRST_CAP); /* NULL is seen as out.p below */
    w->alog = malloc(SRV_ALOG_CAP);
    if (!w->base || !w->td || !w->result || !w->out.p || !w->alog ||
        !(w->projects = index == 0 ? tdb_project_cache_new(s->cfg.cache_mb * 1048576)
                                   : tdb_project_cache_new_sharing(s->workers[0].projects)) ||
        !srv_worker_errors_json(w)) {
        snprintf(err, err_cap, "out of memory starting worker %d", index);
        return false;
    }
    if (!srv_open_request_stores(s, &w->db, &w->log_db, err, err_cap))
        return false;
    tdb_project_cache_sync(w->projects, w->db); /* the version the caches start at */
    w->refresh_ev = evtimer_new(w->base, srv_on_refresh, w);
    if (!w->refresh_ev || event_priority_set(w->refresh_ev, 0) != 0) {
        snprintf(err, err_cap, "cannot create worker events");
        return false;
    }
    w->stop_ev = event_new(w->base, -1, 0, srv_on_stop, w);
    w->tick_ev = event_new(w->base, -1, EV_PERSIST, srv_on_tick, w);
    struct timeval tick = {0, SRV_TICK_MS * 1000};
    if (!w->stop_ev || !w->tick_ev || event_add(w->tick_ev, &tick) != 0) {
        snprintf(err, err_cap, "cannot create worker events");
        return false;
    }
    w->last_activity_us = srv_now_us();
    return srv_store_init(w, err, err_cap) && srv_worker_http(s, w, err, err_cap);
}

static void *srv_worker_main(void *arg) {
    srv_worker *w = arg;
    event_base_dispatch(w->base);
    srv_store_stop(w); /* answers what is parked, while evhttp can still write it */
    return NULL;
}

bool srv_worker_start(srv_worker *w) {
    w->started = pthread_create(&w->thread, NULL, srv_worker_main, w) == 0;
    return w->started;
}

void srv_worker_stop_async(srv_worker *w) {
    if (w->stop_ev)
        event_active(w->stop_ev, EV_READ, 0); /* thread-safe: libevent's pthread locking is on */
}

void srv_worker_join(srv_worker *w) {
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
}

void srv_worker_free(srv_worker *w) {
    srv_store_free(w); /* before evhttp_free: nothing is parked on a request it frees */
    if (w->http)
        evhttp_free(w->http); /* closes the remaining connections and the listener */
    srv_conn_worker_free(w);
    if (w->alog && w->alog_len)
        srv_alog_flush(w);
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->tick_ev)
        event_free(w->tick_ev);
    if (w->refresh_ev)
        event_free(w->refresh_ev);
    if (w->base)
        event_base_free(w->base);
    if (w->log_db && w->log_db != w->db)
        tdb_close(w->log_db);
    if (w->db)
        tdb_close(w->db);
    if (w->td)
        td_ctx_free(w->td);
    free(w->result);
    td_buf_free(&w->out);
    free(w->alog);
    free(w->errors_json);
    srv_caches_free(w);
    memset(w, 0, sizeof *w);
}

/* srv_conn.c -- connections: how many each client may hold, and how long a request may take.
 *
 * The attack this answers is slowloris: many connections, each sending a byte every few
 * seconds. evhttp's timeout only measures silence, so such a connection lived forever, and
 * enough of them took every descriptor. Three limits (srv_config, defaults in tdserver.h):
 *
 *  - a deadline for a whole request, from its first byte (for a connection's first request:
 *    from the accept) until it is handed to the handler: headers and body together. When it
 *    passes, the connection is closed without an answer (the request is not complete, so
 *    there is nothing to answer) and the close is counted;
 *  - a cap on the connections of one client: an IPv4 address, or an IPv6 /64 (the block one
 *    subscriber gets, so an attacker cannot use a fresh address per connection);
 *  - a cap on all connections, of which a reserve (an eighth) is only for clients holding at
 *    most SRV_RESERVE_LIGHT_CLIENT connections: when one client, or many, fill the rest, a new
 * client's probe is still accepted. A connection over a cap is closed at once, unanswered, and
 * counted.
 *
 * libevent 2.1 tells the application nothing between accept() and a complete request, except
 * that it asks for the connection's bufferevent (evhttp_set_bevcb) before the connection object
 * exists. So: srv_conn_bev() makes the bufferevent, holds a reference on it, and queues the
 * connection for adoption; the worker's adopt event finds the peer from the descriptor, admits
 * or closes it, and from then on evhttp_connection_set_closecb tells us when it goes. The
 * reference makes the adoption safe even if evhttp freed the connection in between (its set-up
 * failed): a bufferevent that evhttp freed has no callbacks left. The adopt event has the
 * listener's priority, so it runs in the same turn of the loop as the accept, after the
 * listener's callback and before the next poll: before any byte is read, and a refused
 * connection is closed before its descriptor ever reached epoll (the changelist cancels the
 * pending add). That keeps a refusal cheap, which matters: an attacker reconnects at once.
 * (With the adoption a turn later, the slowloris probe's worst answer was 70-150 ms instead of
 * under 10.) Bytes arriving (an evbuffer callback on the input) start the deadline of the next
 * request; the handler stops it (srv_conn_request_done).
 * The same callback hands every byte read to the framing tracker (srv_framing.c) before evhttp
 * reads it: it runs inside the read, before evhttp's read callback. The bytes stay where they are
 * unless the tracker changes them (a chunk-size line); from that byte on, the input's end is
 * replaced (srv_conn_reframe). Why not a filter bufferevent (bufferevent_filter_new) under
 * evhttp, as read in libevent 2.1.12's bufferevent_filter.c and http.c (not tried): a filter tells
 * evhttp its output is written once it is moved to the socket's bufferevent, not to the socket, and
 * evhttp then shuts the socket down -- the answer of every request that closes its connection would
 * be lost -- and a filter whose writing is enabled after the output was queued (as evhttp does)
 * does not write it until more output comes.
 *
 * The counts per client are shared by all workers (the kernel spreads one client's connections
 * over them), in a table under a mutex taken once per accept and once per close -- never per
 * request. The table (srv_client_table) is a generic counter per client key, with a fixed
 * capacity (the connection cap bounds the keys held at once) and a keyed hash, so that chosen
 * addresses cannot make its probes long.
 *
 * libevent also answers some requests itself, before the handler (a malformed request line or
 * Content-Length, an Expect it does not know, a body over its hard limit, a chunked body the
 * tracker marked malformed; see docs/api.md "Limits"), with an HTML page, and 2.1 has no hook to
 * stop it. Those answers are seen, though: bytes written to a connection whose request has not
 * reached the handler are libevent's answer. Its status is taken from its status line, and before
 * the page is written to the socket srv_replace_refusal puts our JSON error with that status in its
 * place, counted and logged like any other answer (400, not evhttp's 413, when the framing tracker
 * found the chunked body malformed).
 */
#include "srv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

_Static_assert(sizeof((srv_metrics *)0)->conn_refused / sizeof(_Atomic uint64_t) ==
                   SRV_CONN_REFUSAL_COUNT,
               "one refusal counter per cap");

/* ---- The client table ---------------------------------------------------------------------- */

void srv_client_key_of(const struct sockaddr *sa, srv_client_key *k) {
    memset(k, 0, sizeof *k);
    if (sa->sa_family == AF_INET) {
        /* as an IPv4-mapped IPv6 address: one key space for a dual-stack listener */
        k->b[10] = k->b[11] = 0xff;
        memcpy(k->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        memcpy(k->b, a, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
    }
}

static uint64_t srv_client_hash(const srv_client_table *t, const srv_client_key *k) {
    uint64_t a, b;
    memcpy(&a, k->b, 8);
    memcpy(&b, k->b + 8, 8);
    /* splitmix64's finaliser over keyed words: chosen keys do not collide on purpose */
    uint64_t z = a ^ t->seed[0];
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= (z >> 31) ^ b ^ t->seed[1];
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool srv_client_table_init(srv_client_table *t, size_t max_keys) {
    memset(t, 0, sizeof *t);
    size_t cap = 16;
    while (cap < 2 * max_keys)
        cap *= 2; /* at most half full: linear probes stay short */
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots || pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->slots);
        t->slots = NULL;
        return false;
    }
    t->mask = cap - 1;
    t->max_keys = max_keys;
    if (getrandom(t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed) {
        t->seed[0] = (uint64_t)srv_now_us();
        t->seed[1] = (uint64_t)(uintptr_t)t;
    }
    return true;
}

void srv_client_table_free(srv_client_table *t) {
    if (!t->slots)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    t->slots = NULL;
}

/* The slot of k, or the empty slot where it would go. */
static size_t srv_client_find(const srv_client_table *t, const srv_client_key *k) {
    size_t i = (size_t)srv_client_hash(t, k) & t->mask;
    while (t->slots[i].count && memcmp(&t->slots[i].key, k, sizeof *k) != 0)
        i = (i + 1) & t->mask;
    return i;
}

uint32_t srv_client_count(const srv_client_table *t, const srv_client_key *k) {
    return t->slots[srv_client_find(t, k)].count;
}

bool srv_client_add(srv_client_table *t, const srv_client_key *k) {
    size_t i = srv_client_find(t, k);
    if (!t->slots[i].count) {
        if (t->keys == t->max_keys)
            return false;
        t->slots[i].key = *k;
        t->keys++;
    }
    t->slots[i].count++;
    return true;
}

void srv_client_remove(srv_client_table *t, const srv_client_key *k) {
    size_t i = srv_client_find(t, k);
    if (!t->slots[i].count || --t->slots[i].count)
        return;
    t->keys--;
    /* backward-shift deletion: move up the entries whose probe passed the freed slot */
    for (size_t j = (i + 1) & t->mask; t->slots[j].count; j = (j + 1) & t->mask) {
        size_t home = (size_t)srv_client_hash(t, &t->slots[j].key) & t->mask;
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = t->slots[j];
            t->slots[j].count = 0;
            i = j;
        }
    }
}

/* ---- Admission ------------------------------------------------------------------------------ */

/* Counts a new connection of client k, or says which cap refuses it. */
static srv_conn_refusal srv_conn_admit(srv_server *s, const srv_client_key *k) {
    srv_client_table *t = &s->clients;
    size_t max = s->cfg.max_connections, reserve = max / SRV_RESERVE_DIV;
    srv_conn_refusal why = SRV_CONN_ADMITTED;
    pthread_mutex_lock(&t->lock);
    uint32_t held = srv_client_count(t, k);
    if (s->conns_open >= max)
        why = SRV_CONN_REFUSED_FULL;
    else if (held >= s->cfg.max_connections_per_client)
        why = SRV_CONN_REFUSED_PER_CLIENT;
    else if (s->conns_open >= max - reserve && held >= SRV_RESERVE_LIGHT_CLIENT)
        why = SRV_CONN_REFUSED_RESERVE;
    else if (!srv_client_add(t, k))
        why = SRV_CONN_REFUSED_FULL;
    else
        s->conns_open++;
    pthread_mutex_unlock(&t->lock);
    return why;
}

static void srv_conn_release(srv_server *s, const srv_client_key *k) {
    pthread_mutex_lock(&s->clients.lock);
    srv_client_remove(&s->clients, k);
    s->conns_open--;
    pthread_mutex_unlock(&s->clients.lock);
}

/* ---- One connection ---------------------------------------------------------------------- */

struct srv_conn {
    srv_worker *w;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    srv_client_key key;
    int fd;
    bool in_request;     /* a request's bytes are arriving: the deadline runs */
    bool libevent_reply; /* libevent answered the current request itself (logged once) */
    bool reframing;      /* srv_conn_reframe is rewriting the input (its own changes) */
    srv_framing framing; /* where the input is, as evhttp frames it (srv_framing.c) */
    struct evbuffer_cb_entry *in_cb, *out_cb;
    struct event *deadline;
    struct event *refusal; /* replaces libevent's page (made when first needed) */
    size_t refusal_at;     /* where that page starts in the output */
    int refusal_status;
    srv_conn *next; /* in w->conns_new until adopted */
};

static void srv_conn_free(srv_conn *c) {
    if (c->deadline)
        event_free(c->deadline);
    if (c->refusal)
        event_free(c->refusal);
    free(c);
}

/* Closes the connection now (evhttp then calls srv_conn_closed, which frees c). */
static void srv_conn_drop(srv_conn *c) {
    evhttp_connection_free(c->evcon);
}

static void srv_conn_deadline_start(srv_conn *c) {
    struct timeval tv = {c->w->server->cfg.request_timeout_s, 0};
    c->in_request = true;
    c->libevent_reply = false;
    event_add(c->deadline, &tv);
}

static void srv_conn_on_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_conn *c = arg;
    srv_count(&c->w->metrics.conn_closed[SRV_CONN_CLOSED_DEADLINE], 1);
    srv_conn_drop(c);
}

/* The input from offset off on is replaced by what the framing tracker makes of it. The bytes
 * before off stay where they are (moved out and back: an evbuffer cannot cut its end). Out of
 * memory, the input is dropped: evhttp waits for bytes that never come, until the deadline. */
static void srv_conn_reframe(srv_conn *c, struct evbuffer *in, size_t off) {
    char raw[4096], out[sizeof raw + SRV_FRAMING_SLACK];
    struct evbuffer *keep = evbuffer_new();
    c->reframing = true;
    bool ok = keep && evbuffer_remove_buffer(in, keep, off) == (int)off;
    while (ok && evbuffer_get_length(in)) {
        int n = evbuffer_remove(in, raw, sizeof raw);
        size_t len = 0;
        ok = n > 0;
        if (ok)
            srv_framing_feed(&c->framing, raw, (size_t)n, out, &len);
        ok = ok && evbuffer_add(keep, out, len) == 0;
    }
    ok = ok && evbuffer_add_buffer(in, keep) == 0;
    if (!ok) {
        evbuffer_drain(in, evbuffer_get_length(in));
        srv_framing_drop(&c->framing);
    }
    evbuffer_free(keep);
    c->reframing = false;
}

/* The n bytes just read (at the end of in) pass the framing tracker before evhttp reads them:
 * this callback runs inside the read, before evhttp's. They are followed where they are, and
 * copied only from the first byte the tracker may change (a chunk-size line) on. */
static void srv_conn_frame(srv_conn *c, struct evbuffer *in, size_t n) {
    size_t len = evbuffer_get_length(in), off = len - n;
    bool same = true;
    while (same && off < len) {
        struct evbuffer_ptr at;
        struct evbuffer_iovec v[4];
        int nv = evbuffer_ptr_set(in, &at, off, EVBUFFER_PTR_SET) == 0
                     ? evbuffer_peek(in, (ev_ssize_t)(len - off), &at, v, 4)
                     : 0;
        size_t from = off;
        for (int i = 0; nv > 0 && same && i < nv && i < 4 && off < len; i++) {
            size_t take = v[i].iov_len < len - off ? v[i].iov_len : len - off;
            size_t k = srv_framing_feed(&c->framing, v[i].iov_base, take, NULL, NULL);
            off += k;
            same = k == take;
        }
        same = same && off > from; /* no progress (empty chains): copy the rest instead */
    }
    if (off < len)
        srv_conn_reframe(c, in, off);
}

/* Bytes arrived: the first of a request starts its deadline, and all pass the framing tracker. */
static void srv_conn_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                              void *arg) {
    srv_conn *c = arg;
    if (!info->n_added || c->reframing)
        return;
    if (!c->in_request)
        srv_conn_deadline_start(c);
    if (info->n_added <= evbuffer_get_length(buf))
        srv_conn_frame(c, buf, info->n_added);
}

/* The status of the response line at the start of what was added ("HTTP/1.1 417 ..."); 0 when
 * it is not one. */
static int srv_conn_status_added(struct evbuffer *buf, const struct evbuffer_cb_info *info) {
    char line[13];
    struct evbuffer_ptr at;
    if (info->n_added < sizeof line - 1 ||
        evbuffer_ptr_set(buf, &at, info->orig_size, EVBUFFER_PTR_SET) != 0 ||
        evbuffer_copyout_from(buf, &at, line, sizeof line - 1) != (ev_ssize_t)(sizeof line - 1))
        return 0;
    line[sizeof line - 1] = '\0';
    int status = 0;
    if (strncmp(line, "HTTP/1.", 7) != 0 || sscanf(line + 8, " %3d", &status) != 1)
        return 0;
    return status;
}

static void srv_conn_on_refusal(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_conn *c = arg;
    /* evhttp says 413 for every chunked body it cannot read: the tracker knows better */
    srv_replace_refusal(c->w, c->evcon, bufferevent_get_output(c->bev), c->refusal_at,
                        c->refusal_status, c->framing.fault ? 400 : c->refusal_status);
}

/* Output while the request has not reached the handler is libevent answering by itself. Its
 * page is complete once evhttp returns, but written to the socket only when the descriptor is
 * writable, in a later iteration of the loop: the refusal event (priority 0) runs before that
 * write (priority 1) and replaces the page. */
static void srv_conn_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                               void *arg) {
    srv_conn *c = arg;
    if (!info->n_added || !c->in_request || c->libevent_reply)
        return;
    int status = srv_conn_status_added(buf, info);
    if (status < 200)
        return; /* "100 Continue", or not the start of a response */
    c->libevent_reply = true;
    event_del(c->deadline); /* the request is over: only the write timeout applies now */
    c->refusal_at = info->orig_size;
    c->refusal_status = status;
    if (!c->refusal) {
        c->refusal = event_new(bufferevent_get_base(c->bev), -1, 0, srv_conn_on_refusal, c);
        if (c->refusal && event_priority_set(c->refusal, 0) != 0) {
            event_free(c->refusal);
            c->refusal = NULL;
        }
    }
    if (c->refusal)
        event_active(c->refusal, EV_TIMEOUT, 0);
}

static void srv_conn_closed(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    srv_conn *c = arg;
    srv_worker *w = c->w;
    if (c->in_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
    if (c->out_cb)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    if (c->fd >= 0 && (size_t)c->fd < w->conn_by_fd_cap && w->conn_by_fd[c->fd] == c)
        w->conn_by_fd[c->fd] = NULL;
    srv_conn_release(w->server, &c->key);
    srv_conn_free(c);
}

/* Room for fd in the worker's descriptor index. */
static bool srv_conn_index_fit(srv_worker *w, int fd) {
    if ((size_t)fd < w->conn_by_fd_cap)
        return true;
    size_t cap = w->conn_by_fd_cap ? w->conn_by_fd_cap : 256;
    while (cap <= (size_t)fd)
        cap *= 2;
    srv_conn **p = realloc(w->conn_by_fd, cap * sizeof *p);
    if (!p)
        return false;
    memset(p + w->conn_by_fd_cap, 0, (cap - w->conn_by_fd_cap) * sizeof *p);
    w->conn_by_fd = p;
    w->conn_by_fd_cap = cap;
    return true;
}

/* Closes a connection a cap refuses. An orderly close, not a reset: an attacker that reconnects
 * whenever a connection dies learns of a reset at its next write, at once, and reconnects
 * faster (measured: 60% more connections a second with tests/server/slowloris.py). */
static void srv_conn_refuse(srv_conn *c, srv_conn_refusal why) {
    srv_count(&c->w->metrics.conn_refused[why], 1);
    struct evhttp_connection *evcon = c->evcon;
    srv_conn_free(c);
    evhttp_connection_free(evcon);
}

/* Takes over a connection evhttp has set up: admits it (or closes it) and starts watching. */
static void srv_conn_adopt(srv_conn *c) {
    srv_worker *w = c->w;
    bufferevent_data_cb readcb;
    void *evcon = NULL;
    bufferevent_getcb(c->bev, &readcb, NULL, NULL, &evcon);
    bool alive = readcb != NULL && evcon != NULL;
    bufferevent_decref(c->bev); /* evhttp's own reference keeps a live one */
    if (!alive) {
        srv_conn_free(c);
        return;
    }
    c->evcon = evcon;
    c->fd = bufferevent_getfd(c->bev);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    memset(&peer, 0, sizeof peer);
    srv_conn_refusal why = SRV_CONN_REFUSED_FULL; /* when it cannot even be looked at */
    if (c->fd >= 0 && getpeername(c->fd, (struct sockaddr *)&peer, &plen) == 0 &&
        srv_conn_index_fit(w, c->fd)) {
        srv_client_key_of((const struct sockaddr *)&peer, &c->key);
        why = srv_conn_admit(w->server, &c->key);
    }
    if (why == SRV_CONN_ADMITTED &&
        !(c->deadline = evtimer_new(bufferevent_get_base(c->bev), srv_conn_on_deadline, c))) {
        srv_conn_release(w->server, &c->key);
        why = SRV_CONN_REFUSED_FULL;
    }
    if (why != SRV_CONN_ADMITTED) {
        srv_conn_refuse(c, why);
        return;
    }
    c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), srv_conn_on_input, c);
    c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), srv_conn_on_output, c);
    evhttp_connection_set_closecb(evcon, srv_conn_closed, c);
    w->conn_by_fd[c->fd] = c;
    if (!c->in_cb || !c->out_cb) {
        srv_conn_drop(c);
        return;
    }
    srv_conn_deadline_start(c); /* the first request's deadline runs from the accept */
}

static void srv_conn_on_adopt(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_worker *w = arg;
    while (w->conns_new) {
        srv_conn *c = w->conns_new;
        w->conns_new = c->next;
        srv_conn_adopt(c);
    }
}

/* evhttp's bevcb: the bufferevent of a connection just accepted (see the top of the file). */
static struct bufferevent *srv_conn_bev(struct event_base *base, void *arg) {
    srv_worker *w = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0); /* as evhttp makes it */
    srv_conn *c = bev ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return bev; /* out of memory: served, but neither counted nor timed */
    c->w = w;
    c->bev = bev;
    c->fd = -1;
    srv_framing_init(&c->framing);
    bufferevent_incref(bev);
    c->next = w->conns_new;
    w->conns_new = c;
    event_active(w->adopt_ev, EV_TIMEOUT, 0);
    return bev;
}

bool srv_conn_worker_init(srv_worker *w) {
    w->adopt_ev = event_new(w->base, -1, 0, srv_conn_on_adopt, w);
    if (!w->adopt_ev)
        return false;
    evhttp_set_bevcb(w->http, srv_conn_bev, w);
    return true;
}

void srv_conn_worker_free(srv_worker *w) {
    /* after evhttp_free: the connections evhttp had are closed (srv_conn_closed freed theirs);
     * those not adopted yet only hold our reference */
    while (w->conns_new) {
        srv_conn *c = w->conns_new;
        w->conns_new = c->next;
        bufferevent_decref(c->bev);
        srv_conn_free(c);
    }
    if (w->adopt_ev)
        event_free(w->adopt_ev);
    w->adopt_ev = NULL;
    free(w->conn_by_fd);
    w->conn_by_fd = NULL;
    w->conn_by_fd_cap = 0;
}

void srv_conn_request_done(srv_worker *w, struct evhttp_request *req) {
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    int fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || (size_t)fd >= w->conn_by_fd_cap || !w->conn_by_fd[fd])
        return;
    srv_conn *c = w->conn_by_fd[fd];
    c->in_request = false;
    event_del(c->deadline);
}

/* ---- Metrics ------------------------------------------------------------------------------ */

void srv_conn_metrics_render(srv_server *s, td_buf *t) {
    static const char *const refused[SRV_CONN_REFUSAL_COUNT] = {
        [SRV_CONN_REFUSED_FULL] = "max_connections",
        [SRV_CONN_REFUSED_PER_CLIENT] = "max_connections_per_client",
        [SRV_CONN_REFUSED_RESERVE] = "reserve",
    };
    td_buf_addz(t, "# HELP tokendoctor_connections_refused_total Connections closed at accept "
                   "by a connection cap.\n# TYPE tokendoctor_connections_refused_total counter\n");
    for (int i = SRV_CONN_ADMITTED + 1; i < SRV_CONN_REFUSAL_COUNT; i++) {
        uint64_t n = 0;
        for (int k = 0; k < s->nworkers; k++)
            n += atomic_load_explicit(&s->workers[k].metrics.conn_refused[i], memory_order_relaxed);
        td_buf_addf(t, "tokendoctor_connections_refused_total{cap=\"%s\"} %llu\n", refused[i],
                    (unsigned long long)n);
    }
    uint64_t late = 0;
    for (int k = 0; k < s->nworkers; k++)
        late += atomic_load_explicit(&s->workers[k].metrics.conn_closed[SRV_CONN_CLOSED_DEADLINE],
                                     memory_order_relaxed);
    pthread_mutex_lock(&s->clients.lock);
    size_t open = s->conns_open;
    pthread_mutex_unlock(&s->clients.lock);
    td_buf_addf(t,
                "# HELP tokendoctor_requests_timed_out_total Connections closed because a request "
                "was not complete within the request timeout.\n"
                "# TYPE tokendoctor_requests_timed_out_total counter\n"
                "tokendoctor_requests_timed_out_total %llu\n"
                "# HELP tokendoctor_connections_open Connections open now.\n"
                "# TYPE tokendoctor_connections_open gauge\ntokendoctor_connections_open %zu\n",
                (unsigned long long)late, open);
}

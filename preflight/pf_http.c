/* pf_http.c -- one request to the token server, bounded in time and size.
 *
 * libevent's client, as cli/remote.c uses it (evhttp_connection / evhttp_make_request on an
 * event_base the caller owns), with what an untrusted server calls for: a deadline for the
 * whole exchange (a timer that cancels the request: evhttp's own timeout restarts with every
 * byte, so a server trickling bytes would otherwise hold the run), a cap on the body
 * (PF_ANSWER_MAX) and on the headers, no retries, a new connection per request
 * ("Connection: close": one answer can never be read as another's).
 *
 * The extra headers are secrets: libevent copies them into the request, and those copies are
 * wiped (explicit_bzero over the output header values) before libevent frees the request.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf_internal.h"

#define HEADERS_MAX_BYTES (16u << 10)

typedef struct {
    struct event_base *base;
    struct evhttp_request *req; /* until libevent is done with it */
    pf_answer *out;
    bool done;
} call;

void pf_wipe_request_headers(struct evhttp_request *req) {
    struct evkeyvalq *h = req ? evhttp_request_get_output_headers(req) : NULL;
    for (struct evkeyval *kv = h ? h->tqh_first : NULL; kv; kv = kv->next.tqe_next)
        explicit_bzero(kv->value, strlen(kv->value));
}

static void on_error(enum evhttp_request_error e, void *arg) {
    call *c = arg;
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        c->out->outcome = PF_OUT_TIMEOUT;
        break;
    case EVREQ_HTTP_DATA_TOO_LONG:
        c->out->outcome = PF_OUT_TOO_LARGE;
        break;
    case EVREQ_HTTP_INVALID_HEADER:
        c->out->outcome = PF_OUT_NOT_HTTP;
        break;
    default:
        c->out->outcome = PF_OUT_CLOSED;
        break;
    }
}

static void on_done(struct evhttp_request *req, void *arg) {
    call *c = arg;
    c->done = true;
    pf_wipe_request_headers(req);
    c->req = NULL;
    if (req && evhttp_request_get_response_code(req) > 0) {
        pf_answer *a = c->out;
        a->outcome = PF_OUT_ANSWERED;
        a->status = evhttp_request_get_response_code(req);
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        if (n > PF_ANSWER_MAX) {
            a->outcome = PF_OUT_TOO_LARGE;
        } else if ((a->body = malloc(n + 1)) != NULL) {
            a->body_len = (size_t)evbuffer_remove(in, a->body, n);
            a->body[a->body_len] = '\0';
        }
    } else if (c->out->outcome == PF_OUT_NOT_SENT) {
        c->out->outcome = PF_OUT_CLOSED;
    }
    event_base_loopexit(c->base, NULL);
}

/* The deadline: cancel the request (its callbacks are not called then). */
static void on_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    call *c = arg;
    if (c->done)
        return;
    if (c->req) {
        pf_wipe_request_headers(c->req);
        evhttp_cancel_request(c->req);
        c->req = NULL;
    }
    c->done = true;
    c->out->outcome = PF_OUT_TIMEOUT;
    event_base_loopexit(c->base, NULL);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_headers(struct evhttp_request *req, const pf_url *u, bool has_body,
                        const pf_headers *h) {
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    bool own_type = false;
    for (size_t i = 0; h && i < h->count; i++) {
        evhttp_add_header(out, h->name[i], h->value[i]);
        own_type = own_type || strcasecmp(h->name[i], "Content-Type") == 0;
    }
    evhttp_add_header(out, "Host", u->authority);
    evhttp_add_header(out, "User-Agent", "tokendoctor-preflight");
    evhttp_add_header(out, "Connection", "close");
    if (has_body && !own_type)
        evhttp_add_header(out, "Content-Type", "application/json");
}

void pf_http_send(struct event_base *base, const pf_url *u, bool post, const char *target,
                  const char *body, size_t body_len, const pf_headers *h, unsigned timeout_s,
                  pf_answer *out) {
    memset(out, 0, sizeof *out);
    call c = {.base = base, .out = out};
    int64_t start = now_ms();
    struct evhttp_connection *conn =
        evhttp_connection_base_new(base, NULL, u->host, (unsigned short)u->port);
    struct event *deadline = conn ? evtimer_new(base, on_deadline, &c) : NULL;
    c.req = deadline ? evhttp_request_new(on_done, &c) : NULL;
    if (c.req) {
        evhttp_connection_set_timeout(conn, (int)timeout_s);
        evhttp_connection_set_retries(conn, 0);
        evhttp_connection_set_max_body_size(conn, PF_ANSWER_MAX);
        evhttp_connection_set_max_headers_size(conn, HEADERS_MAX_BYTES);
        evhttp_request_set_error_cb(c.req, on_error);
        add_headers(c.req, u, post, h);
        if (post && body_len)
            evbuffer_add(evhttp_request_get_output_buffer(c.req), body, body_len);
        struct timeval tv = {.tv_sec = (time_t)timeout_s};
        evtimer_add(deadline, &tv);
        struct evhttp_request *req = c.req;
        /* On failure evhttp_make_request frees req itself (after wiping: see on_done). */
        if (evhttp_make_request(conn, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, target) == 0)
            event_base_dispatch(base);
        else
            c.req = NULL;
        if (out->outcome == PF_OUT_NOT_SENT)
            out->outcome = PF_OUT_CLOSED;
    } else {
        out->outcome = PF_OUT_CLOSED;
    }
    if (deadline)
        event_free(deadline);
    if (conn)
        evhttp_connection_free(conn);
    int64_t ms = now_ms() - start;
    out->elapsed_ms = ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (unsigned)ms;
}

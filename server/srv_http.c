/* srv_http.c -- replies, request bodies and the access log.
 *
 * Every response leaves through srv_reply_raw(), so that the three things each one needs happen
 * in one place: the status is counted in the metrics, one access-log line is written, and while
 * the service drains the response asks the client to close the connection. A HEAD gets the
 * GET's headers and Content-Length there, and no body. The one exception is a request evhttp
 * refused by itself, which never reaches a handler: srv_replace_refusal() counts and logs it the
 * same way and puts our JSON error in the place of evhttp's page (see srv_conn.c).
 *
 * JSON is serialised (srv_json.c) into a per-worker scratch buffer (grown on demand, never
 * shrunk) and copied once into libevent's output buffer: no allocation per response once warm.
 *
 * The access log is buffered per worker and written with one write() when nearly full or on the
 * worker's tick (100 ms), so a request costs no system call for it. It holds the time, method,
 * route template, status, latency, the App ID (only when it is a well-formed one), the verdict,
 * the name of the API key the request was authorised with (never the key), the client's address,
 * its User-Agent and the request id -- never a token or certificate, and no request text that
 * could hold one (User-Agent is a product name: no client puts a credential there). Text a
 * client chose (User-Agent, a key's name) is JSON-escaped, bytes outside printable ASCII as
 * \u00XX, so that every line stays one valid JSON object whatever was sent.
 *
 * Every answer carries X-Request-Id, also in the access line, so that a support engineer can
 * find the line of a request a user reports. A proxy's X-Request-Id is kept when it is a sane
 * token (bounded, printable, nothing to escape); otherwise the worker makes one: a bijective mix
 * (splitmix64) of a per-worker random seed plus a counter -- unique without a lock or a system
 * call, and not guessable from the previous one.
 */
#include "srv_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

int64_t srv_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t srv_now_s(void) {
    return (int64_t)time(NULL);
}

const char *srv_method_name(enum evhttp_cmd_type m) {
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "OTHER";
}

static void srv_alog_flush_if_full(srv_worker *w);

/* The longest User-Agent logged, in bytes (longer ones are cut): enough for any real one. */
#define SRV_ALOG_UA_MAX 256
/* The longest access line: the fixed text plus the longest escaped fields. */
#define SRV_ALOG_LINE_MAX                                                                          \
    (1024 + 6 * SRV_ALOG_UA_MAX + 6 * TDB_APIKEY_NAME_MAX + SRV_REQUEST_ID_MAX)

/* src (len bytes) as the inside of a JSON string into dst, which has room for 6 * len + 1
 * bytes: printable ASCII as is (", \ escaped), everything else as \u00XX. */
static void srv_escape(char *dst, const char *src, size_t len) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') {
            *dst++ = '\\';
            *dst++ = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            *dst++ = (char)c;
        } else {
            memcpy(dst, "\\u00", 4);
            dst[4] = hex[c >> 4];
            dst[5] = hex[c & 15];
            dst += 6;
        }
    }
    *dst = '\0';
}

/* A JSON string of at most max bytes of s into out (room for 6 * max + 3), or null. */
static const char *srv_json_or_null(char *out, const char *s, size_t max) {
    if (!s)
        return "null";
    size_t n = strlen(s);
    out[0] = '"';
    srv_escape(out + 1, s, n < max ? n : max);
    strcat(out, "\"");
    return out;
}

/* One JSON line. */
static void srv_access_log(srv_req *r, int64_t latency_us) {
    srv_worker *w = r->w;
    if (w->server->alog_fd < 0)
        return;
    srv_alog_flush_if_full(w);
    int64_t now_us = r->start_us + latency_us;
    int64_t secs = now_us / 1000000;
    if (secs != w->alog_secs || !w->alog_when[0]) {
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(w->alog_when, sizeof w->alog_when, "%Y-%m-%dT%H:%M:%S", &tm);
        w->alog_secs = secs;
    }
    /* app_id and verdict: a quoted string or null, quoted by the format itself */
    const char *aq = r->log_app_id[0] ? "\"" : "";
    const char *vq = r->log_verdict ? "\"" : "";
    char *peer = NULL;
    ev_uint16_t peer_port = 0;
    struct evhttp_connection *conn = r->req ? evhttp_request_get_connection(r->req) : r->evcon;
    if (conn)
        evhttp_connection_get_peer(conn, &peer, &peer_port);
    const char *ua =
        r->req ? evhttp_find_header(evhttp_request_get_input_headers(r->req), "User-Agent") : NULL;
    char ua_json[6 * SRV_ALOG_UA_MAX + 3], key_json[6 * TDB_APIKEY_NAME_MAX + 3],
        peer_json[6 * 64 + 3];
    /* latency in integer arithmetic: the same text as "%.3f" of latency_us / 1000.0 for a
     * whole number of microseconds, without the floating-point printf path */
    int n =
        snprintf(w->alog + w->alog_len, SRV_ALOG_CAP - w->alog_len,
                 "{\"time\":\"%s.%03dZ\",\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,"
                 "\"latency_ms\":%lld.%03d,\"app_id\":%s%s%s,\"verdict\":%s%s%s,\"key_name\":%s,"
                 "\"client\":%s,\"user_agent\":%s,\"request_id\":\"%s\",\"worker\":%d}\n",
                 w->alog_when, (int)((now_us / 1000) % 1000), srv_method_name(r->method),
                 srv_route_name(r->route), r->status, (long long)(latency_us / 1000),
                 (int)(latency_us % 1000), aq, r->log_app_id[0] ? r->log_app_id : "null", aq, vq,
                 r->log_verdict ? r->log_verdict : "null", vq,
                 srv_json_or_null(key_json, r->actor[0] ? r->actor : NULL, TDB_APIKEY_NAME_MAX),
                 srv_json_or_null(peer_json, peer, 64),
                 srv_json_or_null(ua_json, ua, SRV_ALOG_UA_MAX), r->request_id, w->index);
    if (n > 0 && (size_t)n < SRV_ALOG_CAP - w->alog_len)
        w->alog_len += (size_t)n;
}

/* ---- Request ids ------------------------------------------------------------------------------
 */

/* A proxy's id is kept only when it needs no escaping anywhere (header, JSON, a shell). */
static bool srv_sane_request_id(const char *id) {
    size_t n = 0;
    for (; id[n]; n++) {
        unsigned char c = (unsigned char)id[n];
        if (n == SRV_REQUEST_ID_MAX || c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '\\')
            return false;
    }
    return n > 0;
}

/* splitmix64's finaliser: a bijection of 64-bit values, so distinct counters give distinct ids. */
static uint64_t srv_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void srv_request_id(srv_req *r) {
    const char *given =
        r->req ? evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Request-Id")
               : NULL;
    if (given && srv_sane_request_id(given)) {
        snprintf(r->request_id, sizeof r->request_id, "%s", given);
        return;
    }
    srv_worker *w = r->w;
    snprintf(r->request_id, sizeof r->request_id, "%016" PRIx64,
             srv_mix64(w->rid_seed + w->rid_count++));
}

void srv_alog_flush(srv_worker *w) {
    size_t off = 0;
    while (off < w->alog_len) {
        ssize_t n = write(w->server->alog_fd, w->alog + off, w->alog_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the log is best effort: a full disk must not stop the service */
        off += (size_t)n;
    }
    w->alog_len = 0;
}

static void srv_alog_flush_if_full(srv_worker *w) {
    if (w->alog_len > SRV_ALOG_CAP - SRV_ALOG_LINE_MAX)
        srv_alog_flush(w);
}

/* evhttp knows the phrases of HTTP/1.1 (RFC 2616) only: 422 would be "Client Error". The
 * others here are for srv_replace_refusal, which writes its status line itself. */
static const char *srv_reason(int status) {
    switch (status) {
    case 409:
        return "Conflict";
    case 400:
        return "Bad Request";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 503:
        return "Service Unavailable";
    default:
        return NULL; /* evhttp's own */
    }
}

/* What the service says when evhttp refused a request by itself (see srv_replace_refusal). */
static void srv_refusal_text(const srv_worker *w, int status, const char **code, char *msg,
                             size_t cap) {
    switch (status) {
    case 413:
        *code = "payload_too_large";
        snprintf(msg, cap,
                 "request body over %zu bytes, or a chunked body whose framing is malformed",
                 srv_body_hard_limit(&w->server->cfg));
        break;
    case 417:
        *code = "expectation_failed";
        snprintf(msg, cap, "Expect: only 100-continue is supported");
        break;
    default:
        *code = "bad_request";
        snprintf(msg, cap, "the request line, a header or the body's framing is malformed");
    }
}

void srv_replace_refusal(srv_worker *w, struct evhttp_connection *evcon, struct evbuffer *out,
                         size_t at, int page_status, int status) {
    srv_req r;
    memset(&r, 0, sizeof r);
    r.w = w;
    r.route = SRV_ROUTE_UNKNOWN;
    r.method = 0; /* not known: logged as "OTHER" */
    r.status = status;
    r.start_us = srv_now_us();
    r.evcon = evcon;
    srv_request_id(&r);
    srv_metrics_record(w, r.route, status, 0);
    srv_access_log(&r, 0);

    const char *code;
    char msg[160];
    srv_refusal_text(w, status, &code, msg, sizeof msg);
    json_t *doc = diag_error_json(code, msg);
    bool ok = doc && srv_json_write(&w->out, doc);
    json_decref(doc);
    /* The page must still be all there: nothing of it written yet (see srv_conn.c). */
    char line[13] = ""; /* 12 bytes are copied: the 13th stays NUL for atoi */
    struct evbuffer_ptr p;
    bool whole = evbuffer_ptr_set(out, &p, at, EVBUFFER_PTR_SET) == 0 &&
                 evbuffer_copyout_from(out, &p, line, 12) == 12 &&
                 strncmp(line, "HTTP/1.", 7) == 0 && atoi(line + 9) == page_status;
    struct evbuffer *before = ok && whole ? evbuffer_new() : NULL;
    if (!before || evbuffer_remove_buffer(out, before, at) != (int)at) {
        evbuffer_free(before);
        return; /* evhttp's page goes out as it is */
    }
    /* what was queued before evhttp's page (a "100 Continue"), then ours instead of it */
    evbuffer_drain(out, evbuffer_get_length(out));
    evbuffer_add_buffer(out, before);
    evbuffer_free(before);
    const char *reason = srv_reason(status);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: "
                        "%zu\r\nConnection: close\r\nX-Request-Id: %s\r\n\r\n",
                        status, reason ? reason : code, w->out.len, r.request_id);
    evbuffer_add(out, w->out.p, w->out.len);
}

void srv_reply_raw(srv_req *r, int status, const char *content_type, const char *body, size_t len) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    if (r->w->draining || r->close)
        evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "X-Request-Id", r->request_id);
    struct evbuffer *buf = evhttp_request_get_output_buffer(r->req);
    if (r->method == EVHTTP_REQ_HEAD) {
        /* The GET's headers without its body. evhttp would send the body and no length: it
         * only leaves out the Content-Length it computes for a HEAD, not the body. */
        char clen[24];
        snprintf(clen, sizeof clen, "%zu", len);
        evhttp_add_header(h, "Content-Length", clen);
    } else if (len) {
        evbuffer_add(buf, body, len);
    }
    r->status = status;
    /* Counted and logged before the send: evhttp_send_reply frees a request whose connection
     * is already gone (req->evcon NULL), and the access line reads the request. */
    int64_t latency = srv_now_us() - r->start_us;
    if (latency < 0)
        latency = 0;
    srv_metrics_record(r->w, r->route, status, latency);
    srv_access_log(r, latency);
    r->w->last_activity_us = r->start_us + latency;
    evhttp_send_reply(r->req, status, srv_reason(status), buf);
}

/* Serialises doc into the worker's scratch buffer; NULL on failure. */
static const char *srv_dump(srv_worker *w, json_t *doc, size_t *len) {
    if (!srv_json_write(&w->out, doc))
        return NULL;
    *len = w->out.len;
    return w->out.p;
}

void srv_reply_json(srv_req *r, int status, json_t *doc) {
    size_t len = 0;
    const char *text = doc ? srv_dump(r->w, doc, &len) : NULL;
    json_decref(doc);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of memory\"}}";
        srv_reply_raw(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    srv_reply_raw(r, status, "application/json", text, len);
}

void srv_reply_error(srv_req *r, int status, const char *code, const char *message) {
    srv_reply_json(r, status, diag_error_json(code, message));
}

/* "application/json", "application/problem+json", with or without parameters. */
static bool srv_is_json_type(const char *ct) {
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static const char *srv_json_error_phrase(const json_error_t *e) {
    switch (json_error_code(e)) {
    case json_error_premature_end_of_input:
        return "unexpected end of input";
    case json_error_end_of_input_expected:
        return "unexpected text after the JSON value";
    case json_error_stack_overflow:
        return "nested too deeply";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "\\u0000 is not accepted in strings";
    case json_error_numeric_overflow:
        return "number out of range";
    case json_error_duplicate_key:
        return "duplicate key";
    default:
        return "invalid syntax";
    }
}

bool srv_read_json_body(srv_req *r, json_t **out) {
    *out = NULL;
    if (r->job && r->job->body) { /* resumed: the body as parsed when it was parked */
        *out = r->job->body;
        r->job->body = NULL;
        return true;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    if (ct && !srv_is_json_type(ct)) {
        srv_reply_error(r, 415, "unsupported_media_type", "Content-Type must be application/json");
        return false;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    if (len > r->w->server->cfg.body_limit) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body over %zu bytes", r->w->server->cfg.body_limit);
        srv_reply_error(r, 413, "payload_too_large", msg);
        return false;
    }
    if (len == 0) {
        srv_reply_error(r, 400, "bad_request", "body: required (a JSON object)");
        return false;
    }
    const char *text = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    json_error_t e;
    /* The message never quotes the input: it could hold a certificate. */
    json_t *doc = text ? json_loadb(text, len, DIAG_JSON_FLAGS, &e) : NULL;
    if (!doc) {
        char msg[160];
        if (diag_json_duplicate_key(&e, msg, sizeof msg)) {
            srv_reply_error(r, 400, "bad_request", msg);
        } else if (json_error_code(&e) == json_error_invalid_utf8) {
            snprintf(msg, sizeof msg, "body: invalid UTF-8 at byte %d", e.position);
            srv_reply_error(r, 400, "invalid_utf8", msg);
        } else {
            snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d: %s", e.line, e.column,
                     srv_json_error_phrase(&e));
            srv_reply_error(r, 400, "malformed_json", msg);
        }
        return false;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        srv_reply_error(r, 400, "bad_request", "body: must be a JSON object");
        return false;
    }
    *out = doc;
    return true;
}

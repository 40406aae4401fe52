/* test_edge.c -- the service's edge under a hostile client (issue 15): HTTP framing, HEAD,
 * refusals made below the handler, slow clients and connection caps, start-up checks.
 *
 * Each suite starts its own `tokendoctor serve` (tsrv.h) and talks to it with raw bytes on
 * plain sockets, because what is tested is the byte stream itself: where one response ends and
 * the next begins, whether the connection is closed, which requests are answered at all. A test
 * client that parsed leniently would hide exactly these defects.
 *
 *   edge_test TOKENDOCTOR SUITE
 *   head       HEAD answers carry the GET's headers and Content-Length, and no body
 *   framing    conflicting or malformed framing is a 400 that closes the connection; what
 *              follows it is never run as a request
 *   chunked    chunk extensions and trailers are accepted, a malformed chunked body is a 400
 *              that closes the connection; split anywhere, pipelined
 *   refusals   unknown methods and paths are JSON 4xx; libevent's own refusals are counted
 *   slow       the whole-request deadline, the per-client cap and the reserve
 *   startup    --listen with trailing text and an unwritable --port-file fail the start
 */
#include "tdserver.h" /* CLI_EXIT_* */
#include "tsrv.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bin;

static bool start_fresh(tsrv_proc *p, const char *const *extra) {
    char dir[256];
    return tsrv_make_dir(dir, sizeof dir, "tdedge") &&
           CHECK(tsrv_start(p, bin, dir, extra), "the service did not start");
}

/* ---- Reading a byte stream of responses ------------------------------------------------------ */

typedef struct {
    int status;
    long length; /* Content-Length, -1 when absent */
    bool close;  /* Connection: close */
    bool json;   /* Content-Type: application/json */
    const char *body;
    size_t next; /* offset of what follows the body (as Content-Length frames it) */
} edge_resp;

/* The value of header name in the header block [head, end), into out. */
static bool edge_header(const char *head, const char *end, const char *name, char *out,
                        size_t cap) {
    size_t n = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l + 2 < end; l = strstr(l + 2, "\r\n")) {
        const char *k = l + 2;
        if ((size_t)(end - k) > n && strncasecmp(k, name, n) == 0 && k[n] == ':') {
            const char *v = k + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            snprintf(out, cap, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

/* The response at offset off of s (len bytes); body_framed: the response has a body as long as
 * its Content-Length (false for the answer to a HEAD). false when there is none. */
static bool edge_parse(const char *s, size_t len, size_t off, bool body_framed, edge_resp *r) {
    memset(r, 0, sizeof *r);
    r->length = -1;
    if (off >= len || strncmp(s + off, "HTTP/1.", 7) != 0)
        return false;
    const char *head = s + off, *end = strstr(head, "\r\n\r\n");
    if (!end || sscanf(head + 8, " %d", &r->status) != 1)
        return false;
    char v[128];
    if (edge_header(head, end, "Content-Length", v, sizeof v))
        r->length = atol(v);
    r->close = edge_header(head, end, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0;
    r->json = edge_header(head, end, "Content-Type", v, sizeof v) &&
              strncmp(v, "application/json", 16) == 0;
    r->body = end + 4;
    r->next = (size_t)(r->body - s) + (body_framed && r->length > 0 ? (size_t)r->length : 0);
    return r->next <= len;
}

/* How many responses the stream holds (status lines at the start of a line). */
static int edge_count(const char *s) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, "HTTP/1.1 ")); p++)
        if (p == s || p[-1] == '\n' || p[-1] == '}' || p[-1] == '>')
            n++;
    return n;
}

/* Sends req on a new connection from 127.0.0.1 and reads until close or 1 s of quiet. */
static size_t edge_send(int port, const char *req, size_t len, char *out, size_t cap, bool *eof) {
    int fd = tsrv_connect_from("127.0.0.1", port, false);
    if (!CHECK(fd >= 0, "connect"))
        return 0;
    size_t n = tsrv_exchange(fd, req, len, out, cap, 1000, eof);
    close(fd);
    return n;
}

static char stream[1 << 20];

/* Sends req (a string) on a new connection; the first answer into *r (false when none). What
 * followed it is in stream, *eof whether the service closed the connection. */
static bool edge_answer(int port, const char *req, edge_resp *r, bool *eof) {
    size_t len = edge_send(port, req, strlen(req), stream, sizeof stream, eof);
    return edge_parse(stream, len, 0, true, r);
}

/* A header line over the service's header limit (16 KiB). */
#define BIG_HEADER_8 "aaaaaaaa"
#define BIG_HEADER_64                                                                              \
    BIG_HEADER_8 BIG_HEADER_8 BIG_HEADER_8 BIG_HEADER_8 BIG_HEADER_8 BIG_HEADER_8 BIG_HEADER_8     \
        BIG_HEADER_8
#define BIG_HEADER_512                                                                             \
    BIG_HEADER_64 BIG_HEADER_64 BIG_HEADER_64 BIG_HEADER_64 BIG_HEADER_64 BIG_HEADER_64            \
        BIG_HEADER_64 BIG_HEADER_64
#define BIG_HEADER_4K                                                                              \
    BIG_HEADER_512 BIG_HEADER_512 BIG_HEADER_512 BIG_HEADER_512 BIG_HEADER_512 BIG_HEADER_512      \
        BIG_HEADER_512 BIG_HEADER_512
#define BIG_HEADER BIG_HEADER_4K BIG_HEADER_4K BIG_HEADER_4K BIG_HEADER_4K BIG_HEADER_4K

/* ---- HEAD ------------------------------------------------------------------------------------ */

/* HEAD then GET of path on one connection: the HEAD's answer has the GET's status and
 * Content-Length, no body, and the GET's answer starts right after the HEAD's headers. */
static void check_head(int port, const char *path) {
    char req[512];
    int n = snprintf(req, sizeof req,
                     "HEAD %s HTTP/1.1\r\nHost: t\r\n\r\nGET %s HTTP/1.1\r\nHost: t\r\n"
                     "Connection: close\r\n\r\n",
                     path, path);
    bool eof;
    size_t len = edge_send(port, req, (size_t)n, stream, sizeof stream, &eof);
    edge_resp head, get;
    if (!CHECK(edge_parse(stream, len, 0, false, &head), "%s: an answer to HEAD", path))
        return;
    CHECK(head.status == 200 && head.length > 0, "%s: HEAD is 200 with a Content-Length (%d, %ld)",
          path, head.status, head.length);
    if (!CHECK(edge_parse(stream, len, head.next, true, &get),
               "%s: the GET's answer follows the HEAD's headers at once (no body between)", path))
        return;
    CHECK(get.status == 200 && get.length == head.length && get.next == len && eof,
          "%s: GET's Content-Length %ld is HEAD's %ld, and its body ends the stream", path,
          get.length, head.length);
}

static void suite_head(void) {
    tsrv_proc p;
    if (!start_fresh(&p, NULL))
        return;
    static const char *const paths[] = {"/healthz",      "/readyz", "/v1/errors",
                                        "/openapi.yaml", "/",       "/index.html"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        check_head(p.port, paths[i]);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* ---- Framing --------------------------------------------------------------------------------- */

#define CLOSE "Connection: close\r\n\r\n"

/* A request that GET /healthz follows on the same connection. */
#define SMUGGLED "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"

/* req (then SMUGGLED, as its body or after it): exactly one answer, a 400 that closes the
 * connection; json: it is ours (the JSON error shape). */
static void check_refused(int port, const char *what, const char *req, bool json) {
    bool eof;
    edge_resp r = {0};
    if (!CHECK(edge_answer(port, req, &r, &eof), "%s: answered", what))
        return;
    CHECK(r.status == 400, "%s: 400 (got %d)", what, r.status);
    CHECK(r.close && eof, "%s: the connection is closed", what);
    CHECK(edge_count(stream) == 1, "%s: what follows is not run as a request (%d answers)", what,
          edge_count(stream));
    if (json)
        CHECK(r.json && strstr(r.body, "\"error\":{\"code\":\"bad_request\""),
              "%s: the JSON error shape", what);
}

static void suite_framing(void) {
    tsrv_proc p;
    if (!start_fresh(&p, NULL))
        return;
    check_refused(p.port, "two Content-Length",
                  "POST /v1/decode HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  "Content-Length: 2\r\nContent-Length: 37\r\n\r\n{}" SMUGGLED,
                  true);
    check_refused(p.port, "Content-Length with a sign",
                  "POST /v1/decode HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\n{}" SMUGGLED,
                  true);
    /* evhttp reads no body here (no Content-Length, and not chunked): the bytes after the head
     * would be the next request */
    check_refused(p.port, "Transfer-Encoding other than chunked",
                  "POST /v1/decode HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n"
                  "\r\n" SMUGGLED,
                  true);
    /* de-chunked by libevent (chunked is the last coding), but gzip is not accepted */
    check_refused(p.port, "Transfer-Encoding with more than chunked",
                  "POST /v1/decode HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n"
                  "\r\n2\r\n{}\r\n0\r\n\r\n" SMUGGLED,
                  true);
    /* libevent 2.1 (Debian's security update) refuses this one itself; the page is ours */
    check_refused(p.port, "Content-Length and Transfer-Encoding",
                  "POST /v1/decode HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED,
                  true);
    /* a body after a method evhttp reads no body for: answered, then the connection closed */
    const char *head = "HEAD /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 35\r\n\r\n" SMUGGLED;
    bool eof;
    edge_send(p.port, head, strlen(head), stream, sizeof stream, &eof);
    CHECK(edge_count(stream) == 1 && eof, "HEAD with a body: one answer, then closed (%d)",
          edge_count(stream));
    /* a valid chunked body still works */
    const char *chunked =
        "POST /v1/decode HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "2\r\n{}\r\n0\r\n\r\n";
    edge_resp r = {0};
    CHECK(edge_answer(p.port, chunked, &r, &eof) && r.status == 400 && r.json &&
              strstr(r.body, "token: required"),
          "a chunked body reaches the handler");
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* ---- Chunked bodies -------------------------------------------------------------------------- */

/* A chunked POST /v1/diagnose; its one chunk of 0x41 bytes (DIAG_BODY) is a request the service
 * diagnoses: 200 with a verdict. */
#define DIAG_HEAD                                                                                  \
    "POST /v1/diagnose HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"                  \
    "Transfer-Encoding: chunked\r\n"
#define DIAG_REST "\"app_id\":\"0123456789abcdef0123456789abcdef\",\"channel\":\"c\"}      "
#define DIAG_BODY "{" DIAG_REST
_Static_assert(sizeof DIAG_BODY - 1 == 0x41, "one chunk of 0x41 bytes");

/* The answer at offset off of stream (len bytes) is a diagnosis: 200 with a verdict. */
static bool edge_diagnosed(size_t len, size_t off, edge_resp *r) {
    return edge_parse(stream, len, off, true, r) && r->status == 200 && r->json &&
           strncmp(r->body, "{\"verdict\":", 11) == 0;
}

/* req, sent at once, is answered with one diagnosis. */
static void check_diagnosed(int port, const char *what, const char *req) {
    bool eof;
    size_t len = edge_send(port, req, strlen(req), stream, sizeof stream, &eof);
    edge_resp r;
    CHECK(edge_diagnosed(len, 0, &r) && r.next == len, "%s: diagnosed (200), one answer (got %d)",
          what, r.status);
}

/* A chunked request whose chunk-size line is line_len bytes before its CRLF: "41;" and an
 * extension name as long as needed. */
static void check_size_line(int port, size_t line_len, bool accepted) {
    static char req[4096];
    char ext[2048];
    size_t name = line_len - 3; /* after "41;" */
    memset(ext, 'e', name);
    ext[name] = '\0';
    snprintf(req, sizeof req, DIAG_HEAD CLOSE "41;%s\r\n" DIAG_BODY "\r\n0\r\n\r\n" SMUGGLED, ext);
    char what[96];
    snprintf(what, sizeof what, "a chunk-size line of %zu bytes", line_len);
    if (accepted)
        check_diagnosed(port, what, req);
    else
        check_refused(port, what, req, true);
}

static void suite_chunked(void) {
    tsrv_proc p;
    if (!start_fresh(&p, NULL))
        return;
    /* RFC 9112 section 7.1.1: chunk extensions are read and ignored */
    check_diagnosed(p.port, "a chunk extension",
                    DIAG_HEAD CLOSE "41;foo=bar\r\n" DIAG_BODY "\r\n0\r\n\r\n");
    check_diagnosed(p.port, "extensions with BWS, quoted strings and no value",
                    DIAG_HEAD CLOSE "0041 ;a = \"q \\\" ;\tx=y\" ; b;c=d\t;e=\"\"\r\n" DIAG_BODY
                                    "\r\n0;last=\"yes\"\r\n\r\n");
    check_diagnosed(p.port, "trailers",
                    DIAG_HEAD CLOSE "41\r\n" DIAG_BODY "\r\n0;x=y\r\nX-Checksum: abc\r\n"
                                    "X-Folded: a\r\n b\r\n\r\n");
    /* the longest chunk-size line accepted, and one byte more */
    check_size_line(p.port, SRV_CHUNK_LINE_MAX, true);
    check_size_line(p.port, SRV_CHUNK_LINE_MAX + 1, false);

    /* malformed chunked framing: 400, closed, and what follows is never a request */
    static const struct {
        const char *what, *body;
    } bad[] = {
        {"a chunk size that is not hex", "zz\r\n"},
        {"a chunk size of 2^63", "8000000000000000\r\n"},
        {"an empty chunk-size line", "\r\n41\r\n" DIAG_BODY "\r\n0\r\n\r\n"},
        {"a size followed by a space and nothing", "41 \r\n" DIAG_BODY "\r\n0\r\n\r\n"},
        {"an extension without a name", "41;=x\r\n" DIAG_BODY "\r\n0\r\n\r\n"},
        {"an extension whose value is missing", "41;a=\r\n" DIAG_BODY "\r\n0\r\n\r\n"},
        {"an unterminated quoted string", "41;a=\"x\r\n" DIAG_BODY "\r\n0\r\n\r\n"},
        {"a CR inside the chunk-size line", "41;a\rb\r\n" DIAG_BODY "\r\n0\r\n\r\n"},
        {"chunk data not followed by CRLF", "41\r\n" DIAG_BODY "XX\r\n0\r\n\r\n"},
        {"a trailer line without a colon", "41\r\n" DIAG_BODY "\r\n0\r\nno colon\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[1024];
        snprintf(req, sizeof req, DIAG_HEAD "\r\n%s" SMUGGLED, bad[i].body);
        check_refused(p.port, bad[i].what, req, true);
    }

    /* two chunked requests in one write: both answered, in order */
    static const char pair[] = DIAG_HEAD "\r\n41;n=1\r\n" DIAG_BODY "\r\n0\r\n\r\n" DIAG_HEAD CLOSE
                                         "1;n=2\r\n{\r\n40;n=3\r\n" DIAG_REST "\r\n0\r\n\r\n";
    bool eof;
    size_t len = edge_send(p.port, pair, sizeof pair - 1, stream, sizeof stream, &eof);
    edge_resp first, second;
    CHECK(edge_diagnosed(len, 0, &first) && edge_diagnosed(len, first.next, &second) &&
              second.next == len && eof,
          "two pipelined chunked requests: two diagnoses (%d answers)", edge_count(stream));

    /* the same, one byte per write: every split of a line or a chunk is followed */
    int fd = tsrv_connect_from("127.0.0.1", p.port, false);
    int one = 1;
    bool sent = fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
    for (size_t i = 0; sent && i < sizeof pair - 1; i++) {
        sent = send(fd, pair + i, 1, MSG_NOSIGNAL) == 1;
        tsrv_sleep_ms(1);
    }
    len = sent ? tsrv_exchange(fd, NULL, 0, stream, sizeof stream, 1000, &eof) : 0;
    if (fd >= 0)
        close(fd);
    CHECK(sent && edge_diagnosed(len, 0, &first) && edge_diagnosed(len, first.next, &second) &&
              second.next == len && eof,
          "the pair one byte per write: two diagnoses (%d answers)", edge_count(stream));
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* ---- Refusals -------------------------------------------------------------------------------- */

static void check_json(int port, const char *what, const char *req, int status) {
    bool eof;
    edge_resp r = {0};
    CHECK(edge_answer(port, req, &r, &eof) && r.status == status && r.json &&
              strstr(r.body, "{\"error\":{\"code\":"),
          "%s: JSON %d (got %d)", what, status, r.status);
}

/* The counter of (route, status) in the /metrics text. */
static long metric(int port, const char *series) {
    json_t *j = NULL;
    tsrv_resp raw;
    long v = -1;
    if (tsrv_call(port, "GET", "/metrics", NULL, NULL, &j, &raw) == 200) {
        const char *at = strstr(raw.body, series);
        if (at)
            v = atol(at + strlen(series));
        else
            v = 0;
    }
    json_decref(j);
    tsrv_resp_free(&raw);
    return v;
}

static void suite_refusals(void) {
    tsrv_proc p;
    if (!start_fresh(&p, NULL))
        return;
    check_json(p.port, "a lower-case method", "get /healthz HTTP/1.1\r\nHost: t\r\n" CLOSE, 405);
    check_json(p.port, "an unknown method", "FOO /healthz HTTP/1.1\r\nHost: t\r\n" CLOSE, 405);
    check_json(p.port, "an unknown method, unknown path", "FOO /nope HTTP/1.1\r\nHost: t\r\n" CLOSE,
               404);
    check_json(p.port, "//healthz is not /healthz (nor the web page)",
               "GET //healthz HTTP/1.1\r\nHost: t\r\n" CLOSE, 404);
    check_json(p.port, "/healthz/ is not /healthz", "GET /healthz/ HTTP/1.1\r\nHost: t\r\n" CLOSE,
               404);

    /* libevent answers these itself (docs/api.md, "Limits"): the answer is still our JSON
     * error, counted and logged */
    static const struct {
        const char *req;
        int status;
        const char *code;
    } below[] = {
        {"POST /v1/decode HTTP/1.1\r\nHost: t\r\nExpect: foo\r\nContent-Length: 2\r\n\r\n{}", 417,
         "expectation_failed"},
        {"POST /v1/decode HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
         "bad_request"},
        {"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", 400, "bad_request"},
        {"POST /v1/decode HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n", 413,
         "payload_too_large"},
        {"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " BIG_HEADER "\r\n\r\n", 400, "bad_request"},
        /* fuzz_http's first finding: a request line too short for a status read past its copy */
        {"@K@\n", 400, "bad_request"},
    };
    static const char *const series[] = {
        "tokendoctor_http_requests_total{route=\"unknown\",status=\"417\"} ",
        "tokendoctor_http_requests_total{route=\"unknown\",status=\"413\"} ",
        "tokendoctor_http_requests_total{route=\"unknown\",status=\"400\"} "};
    long before[3];
    for (int k = 0; k < 3; k++)
        before[k] = metric(p.port, series[k]);
    for (size_t i = 0; i < sizeof below / sizeof below[0]; i++) {
        bool eof;
        size_t len =
            edge_send(p.port, below[i].req, strlen(below[i].req), stream, sizeof stream, &eof);
        edge_resp r;
        char shape[96];
        snprintf(shape, sizeof shape, "{\"error\":{\"code\":\"%s\"", below[i].code);
        CHECK(edge_parse(stream, len, 0, true, &r) && r.status == below[i].status && r.json &&
                  strstr(r.body, shape) && r.close && eof && r.next == len,
              "below the handler %zu: JSON %d %s, then closed (%d)", i, below[i].status,
              below[i].code, r.status);
    }
    static const long more[3] = {1, 1, 4};
    for (int k = 0; k < 3; k++)
        CHECK(metric(p.port, series[k]) == before[k] + more[k], "counted: %s", series[k]);
    char log[320];
    snprintf(log, sizeof log, "%s/access.log", p.dir);
    for (int i = 0; i < 50 && !tu_file_contains(log, "\"status\":417", 12); i++)
        tsrv_sleep_ms(50); /* the access log is flushed every 100 ms */
    CHECK(tu_file_contains(log, "\"status\":417", 12), "the 417 is in the access log");
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* ---- Slow clients and connection caps ---------------------------------------------------------
 */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Whether the service closed fd (EOF or reset) within ms. */
static bool closed_within(int fd, int ms) {
    char b[256];
    bool eof;
    for (double end = now_ms() + ms; now_ms() < end;) {
        tsrv_exchange(fd, NULL, 0, b, sizeof b, 100, &eof);
        if (eof)
            return true;
    }
    return false;
}

/* GET /healthz on a new connection from src: the time to a 200, or -1. */
static double probe_ms(int port, const char *src) {
    double t0 = now_ms();
    int fd = tsrv_connect_from(src, port, false);
    if (fd < 0)
        return -1;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char b[1024];
    bool eof;
    tsrv_exchange(fd, req, sizeof req - 1, b, sizeof b, 2000, &eof);
    close(fd);
    return strncmp(b, "HTTP/1.1 200", 12) == 0 ? now_ms() - t0 : -1;
}

enum { ATTACK = 300, PER_CLIENT = 40 };

static void suite_slow(void) {
    tsrv_proc p;
    /* max 64 connections: the reserve is 8; the attacker may hold 40 (per client) */
    const char *extra[] = {"--request-timeout",
                           "3",
                           "--max-connections",
                           "64",
                           "--max-connections-per-client",
                           "40",
                           "--threads",
                           "2",
                           NULL};
    if (!start_fresh(&p, extra))
        return;
    /* A request trickling a byte every 300 ms is never silent for long, yet is cut off once
     * the whole-request deadline (3 s: the caps below must be tested within it, as the first
     * request's deadline runs from the accept) has passed. */
    int slow = tsrv_connect_from("127.0.0.3", p.port, false);
    static const char head[] = "POST /v1/diagnose HTTP/1.1\r\nHost: t\r\nX-a: ";
    CHECK(slow >= 0 && send(slow, head, sizeof head - 1, MSG_NOSIGNAL) > 0, "slow client");
    double t0 = now_ms();
    bool cut = false;
    while (!cut && now_ms() - t0 < 8000)
        cut = send(slow, "b", 1, MSG_NOSIGNAL) != 1 || closed_within(slow, 300);
    double took = now_ms() - t0;
    CHECK(cut && took >= 2500 && took < 6000,
          "a trickling request is closed by the 3 s request deadline (after %.0f ms)", took);
    close(slow);

    /* ATTACK connections from one address, each sending part of a request: the service keeps
     * PER_CLIENT of them and closes the others at once. */
    static int fds[ATTACK];
    for (int i = 0; i < ATTACK; i++) {
        fds[i] = tsrv_connect_from("127.0.0.2", p.port, true);
        CHECK(fds[i] >= 0, "attacker connection %d", i);
    }
    tsrv_sleep_ms(500);
    int open = 0;
    for (int i = 0; i < ATTACK; i++) {
        char b[64];
        ssize_t n = send(fds[i], "P", 1, MSG_NOSIGNAL);
        bool gone = n != 1 || recv(fds[i], b, sizeof b, MSG_DONTWAIT) == 0;
        if (!gone) {
            tsrv_sleep_ms(0);
            gone = recv(fds[i], b, sizeof b, MSG_DONTWAIT) == 0 || errno == ECONNRESET;
        }
        open += !gone;
    }
    CHECK(open <= PER_CLIENT && open >= PER_CLIENT / 2,
          "one client holds at most its cap: %d of %d connections open", open, ATTACK);
    CHECK(metric(p.port,
                 "tokendoctor_connections_refused_total{cap=\"max_connections_per_client\"} ") >=
              ATTACK - PER_CLIENT,
          "the refused connections are counted");

    /* Other clients fill the unreserved part (56 of 64, with the attacker's 40): 127.0.0.4
     * takes 16 more; it now holds more than 4, so the reserve is not for it... */
    int crowd[16], extra_fd;
    for (int i = 0; i < 16; i++)
        crowd[i] = tsrv_connect_from("127.0.0.4", p.port, false);
    tsrv_sleep_ms(300);
    extra_fd = tsrv_connect_from("127.0.0.4", p.port, false);
    CHECK(extra_fd >= 0 && closed_within(extra_fd, 1000),
          "a client holding more than a few connections cannot use the reserve");
    /* ...but a new client's probes are answered, quickly, while the caps hold */
    double worst = 0;
    for (int i = 0; i < 20; i++) {
        double ms = probe_ms(p.port, "127.0.0.1");
        CHECK(ms >= 0, "probe %d answered from the reserve", i);
        worst = ms > worst ? ms : worst;
    }
    CHECK(worst < 1000, "probes answered while the caps hold (worst %.1f ms)", worst);
    close(extra_fd);
    for (int i = 0; i < 16; i++)
        close(crowd[i]);
    for (int i = 0; i < ATTACK; i++)
        close(fds[i]);
    CHECK(tsrv_stop(&p, SIGTERM) == 0, "exit 0");
}

/* ---- Start-up ---------------------------------------------------------------------------------
 */

/* `serve` with args in a fresh directory: its exit status (it must fail before listening). */
static int serve_status(const char *const *args, const char *err_needle) {
    char dir[256], db[320], outf[320], errf[320];
    if (!tsrv_make_dir(dir, sizeof dir, "tdedge"))
        return -1;
    snprintf(db, sizeof db, "%s/t.db", dir);
    snprintf(outf, sizeof outf, "%s/out.txt", dir);
    snprintf(errf, sizeof errf, "%s/err.txt", dir);
    const char *argv[16] = {bin, "serve", "--db", db, "--no-bootstrap-key"};
    int n = 5;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = tu_spawn(argv, NULL, outf, errf);
    /* a service that started anyway is stopped after a while (exit 0), so the test ends */
    int rc = -1, status;
    for (int i = 0; i < 50 && rc < 0; i++)
        if (waitpid(pid, &status, WNOHANG) == pid)
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        else
            tsrv_sleep_ms(100);
    if (rc < 0) {
        kill(pid, SIGTERM);
        rc = tu_wait(pid);
    }
    if (err_needle)
        CHECK(tu_file_contains(errf, err_needle, strlen(err_needle)), "stderr says '%s'",
              err_needle);
    return rc;
}

static void suite_startup(void) {
    const char *listen[] = {"--listen", "127.0.0.1:8080extra", NULL};
    CHECK(serve_status(listen, "cannot parse the listen address") == CLI_EXIT_USAGE,
          "--listen 127.0.0.1:8080extra: exit 64");
    const char *listen2[] = {"--listen", "127.0.0.1:99999", NULL};
    CHECK(serve_status(listen2, "cannot parse the listen address") == CLI_EXIT_USAGE,
          "--listen 127.0.0.1:99999: exit 64");
    const char *portfile[] = {"--listen", "127.0.0.1:0", "--port-file", "/nonexistent-dir/port",
                              NULL};
    CHECK(serve_status(portfile, "cannot write the port file") == CLI_EXIT_INTERNAL,
          "an unwritable --port-file: exit 70");
}

int main(int argc, char **argv) {
    const char **const args[] = {&bin};
    const tu_test suites[] = {{"head", suite_head},       {"framing", suite_framing},
                              {"chunked", suite_chunked}, {"refusals", suite_refusals},
                              {"slow", suite_slow},       {"startup", suite_startup}};
    const tsrv_suites t = {"edge_test TOKENDOCTOR SUITE", args, 1, suites,
                           (int)(sizeof suites / sizeof suites[0])};
    return tsrv_run_suites(argc, argv, &t);
}

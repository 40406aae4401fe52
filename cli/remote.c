/* remote.c -- asking a running `tokendoctor serve` instead of a local store (--server URL).
 *
 * Design
 * ------
 * A support engineer often has no copy of the database, only the service's address. With
 * --server (or $TOKENDOCTOR_SERVER) `diagnose` and `decode` send the request to the service's
 * JSON API and print its answer as they print their own: the same document with --json, the
 * same text, the same exit statuses. The request is built from the same flags, and the answer
 * is the service's, so the service's projects judge the token.
 *
 * The client is libevent's (evhttp_connection / evhttp_make_request), already linked for the
 * service: one request per run, on a private event_base that runs until the answer (or an
 * error) arrives, with a timeout, so the CLI never hangs on a service that does not answer.
 *
 * Plain http:// only. TLS would need libevent's OpenSSL bufferevents (the project's TLS library
 * is mbedTLS, which libevent 2.1 cannot use) -- a second TLS stack for a client whose usual
 * target is a service on localhost, a private network or behind a reverse proxy that a tunnel
 * reaches. An https:// URL is refused with that reason rather than sent in clear.
 *
 * The API key (for a service run with --auth all) comes from the file $TOKENDOCTOR_API_KEY_FILE
 * names, never from the command line (where `ps` would show it); it is wiped after use and never
 * printed.
 */
#include "tdcli.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "td_version.h"  /* TD_VERSION, for the User-Agent */
#include "tdpreflight.h" /* pf_authority_parse, pf_wipe_request_headers */

#define REMOTE_TIMEOUT_S 30         /* connect, send, answer: each */
#define REMOTE_BODY_MAX (64u << 20) /* largest answer read */
#define REMOTE_KEY_MAX 256          /* an API key file holds one key */

const char *cli_server_url(const char *option) {
    if (option)
        return option;
    const char *env = getenv(CLI_ENV_SERVER);
    return env && *env ? env : NULL;
}

/* The parts of http://HOST[:PORT][/PREFIX]. */
typedef struct {
    char host[256];      /* without brackets for IPv6 */
    char authority[300]; /* HOST[:PORT] as written, for the Host header */
    char prefix[512];    /* "" or "/something" without a trailing '/' */
    unsigned port;
} remote_url;

static bool parse_url(cli_report *r, const char *url, remote_url *u) {
    memset(u, 0, sizeof *u);
    const char *p = url;
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncasecmp(p, "https://", 8) == 0) {
        cli_fail(r, "usage",
                 "--server %s: https is not supported (plain http:// only; reach a TLS-only "
                 "service through a tunnel or its local address)",
                 url);
        return false;
    } else if (strstr(p, "://")) {
        cli_fail(r, "usage", "--server %s: must be http://HOST[:PORT][/PATH]", url);
        return false;
    }
    size_t auth_len = strcspn(p, "/?#");
    if (auth_len == 0 || auth_len >= sizeof u->authority) {
        cli_fail(r, "usage", "--server %s: must be http://HOST[:PORT][/PATH]", url);
        return false;
    }
    memcpy(u->authority, p, auth_len);
    if (!pf_authority_parse(u->authority, auth_len, u->host, sizeof u->host, &u->port)) {
        cli_fail(r, "usage",
                 "--server %s: must be http://HOST[:PORT][/PATH], PORT 1..65535 (IPv6: "
                 "[ADDRESS]:PORT)",
                 url);
        return false;
    }
    const char *rest = p + auth_len;
    size_t prefix_len = strcspn(rest, "?#");
    while (prefix_len > 0 && rest[prefix_len - 1] == '/')
        prefix_len--;
    if (rest[strcspn(rest, "?#")] || prefix_len >= sizeof u->prefix) {
        cli_fail(r, "usage", "--server %s: a query or fragment has no place here", url);
        return false;
    }
    memcpy(u->prefix, rest, prefix_len);
    return true;
}

/* The key of $TOKENDOCTOR_API_KEY_FILE into key (cap bytes): "" when the variable is unset.
 * false (reported) when the file cannot be read or holds no key. */
static bool read_api_key(cli_report *r, char *key, size_t cap) {
    key[0] = '\0';
    const char *path = getenv(CLI_ENV_API_KEY_FILE);
    if (!path || !*path)
        return true;
    size_t len;
    char *text = cli_read_input(r, path, REMOTE_KEY_MAX, &len);
    if (!text)
        return false;
    size_t b = 0, e = len;
    while (b < e && isspace((unsigned char)text[b]))
        b++;
    while (e > b && isspace((unsigned char)text[e - 1]))
        e--;
    bool ok = e > b && e - b < cap && memchr(text + b, '\n', e - b) == NULL;
    if (ok) {
        memcpy(key, text + b, e - b);
        key[e - b] = '\0';
    } else {
        cli_fail(r, "usage", "$%s (%s): holds no API key (one line, the key)", CLI_ENV_API_KEY_FILE,
                 path);
    }
    explicit_bzero(text, len);
    free(text);
    return ok;
}

/* What the request's callbacks learn. */
typedef struct {
    struct event_base *base;
    bool done;
    int status; /* HTTP status; 0: no answer */
    char *body;
    size_t body_len;
    const char *error; /* why there is no answer */
    int saved_errno;
} remote_call;

static void on_error(enum evhttp_request_error e, void *arg) {
    remote_call *c = arg;
    c->saved_errno = errno;
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        c->error = "no answer in time";
        break;
    case EVREQ_HTTP_EOF:
        c->error = "the connection was refused or closed";
        break;
    case EVREQ_HTTP_INVALID_HEADER:
        c->error = "the answer is not HTTP";
        break;
    case EVREQ_HTTP_DATA_TOO_LONG:
        c->error = "the answer is too long";
        break;
    default:
        c->error = "the request failed";
        break;
    }
}

static void on_done(struct evhttp_request *req, void *arg) {
    remote_call *c = arg;
    c->done = true;
    pf_wipe_request_headers(req); /* the Authorization's copy: libevent frees it after this */
    if (req && evhttp_request_get_response_code(req) > 0) {
        c->status = evhttp_request_get_response_code(req);
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        c->body_len = evbuffer_get_length(in);
        c->body = malloc(c->body_len + 1);
        if (c->body) {
            evbuffer_remove(in, c->body, c->body_len);
            c->body[c->body_len] = '\0';
        }
    } else if (!c->error) {
        c->error = "the connection was refused or closed";
    }
    event_base_loopexit(c->base, NULL);
}

/* Sends the request and runs the loop until it is answered. */
static bool remote_send(cli_report *r, const remote_url *u, const char *url, const char *path,
                        const char *key, const char *body, remote_call *c) {
    char target[1024];
    snprintf(target, sizeof target, "%s%s", u->prefix, path);
    c->base = event_base_new();
    struct evhttp_connection *conn =
        c->base ? evhttp_connection_base_new(c->base, NULL, u->host, (unsigned short)u->port)
                : NULL;
    struct evhttp_request *req = conn ? evhttp_request_new(on_done, c) : NULL;
    if (!req) {
        cli_fail(r, "internal_error", "--server %s: cannot set up the connection", url);
        if (conn)
            evhttp_connection_free(conn);
        if (c->base)
            event_base_free(c->base);
        return false;
    }
    evhttp_connection_set_timeout(conn, REMOTE_TIMEOUT_S);
    evhttp_connection_set_max_body_size(conn, REMOTE_BODY_MAX);
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char auth[REMOTE_KEY_MAX + 16];
    evhttp_add_header(h, "Host", u->authority);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Accept", "application/json");
    evhttp_add_header(h, "User-Agent", "tokendoctor/" TD_VERSION " (cli)");
    evhttp_add_header(h, "Connection", "close");
    if (key[0]) {
        snprintf(auth, sizeof auth, "Bearer %s", key);
        evhttp_add_header(h, "Authorization", auth);
        explicit_bzero(auth, sizeof auth);
    }
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    /* On failure evhttp_make_request frees req itself. */
    bool sent = evhttp_make_request(conn, req, EVHTTP_REQ_POST, target) == 0;
    if (sent)
        event_base_dispatch(c->base);
    evhttp_connection_free(conn); /* frees the headers that held the key (wiped in on_done) */
    event_base_free(c->base);
    c->base = NULL;
    if (!sent || c->status == 0) {
        if (c->saved_errno && c->error)
            cli_fail(r, "unavailable", "--server %s: %s (%s)", url, c->error,
                     strerror(c->saved_errno));
        else
            cli_fail(r, "unavailable", "--server %s: %s", url,
                     c->error ? c->error : "the request could not be sent");
        return false;
    }
    return true;
}

int cli_remote_post(cli_report *r, const char *url, const char *path, json_t *body, int *status,
                    json_t **answer) {
    *status = 0;
    *answer = NULL;
    remote_url u;
    char key[REMOTE_KEY_MAX + 1];
    if (!parse_url(r, url, &u) || !read_api_key(r, key, sizeof key))
        return CLI_EXIT_USAGE;
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    remote_call c = {0};
    bool ok = text && remote_send(r, &u, url, path, key, text, &c);
    explicit_bzero(key, sizeof key);
    if (!text)
        cli_fail(r, "internal_error", "out of memory");
    free(text);
    if (!ok) {
        free(c.body);
        return CLI_EXIT_INTERNAL;
    }
    json_error_t jerr;
    *answer = c.body ? json_loadb(c.body, c.body_len, 0, &jerr) : NULL;
    free(c.body);
    *status = c.status;
    if (!*answer) {
        cli_fail(r, "unavailable",
                 "--server %s: answered %d without a JSON body (is it a "
                 "tokendoctor service?)",
                 url, c.status);
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}

int cli_remote_failure(cli_report *r, const char *url, int status, json_t *answer) {
    json_t *e = json_object_get(answer, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *message = json_string_value(json_object_get(e, "message"));
    if (!code || !message) {
        cli_fail(r, "unavailable", "--server %s: answered %d", url, status);
        return CLI_EXIT_INTERNAL;
    }
    if (status == 401 || status == 403) {
        cli_fail(r, code,
                 "--server %s: %s (%d: the service wants an API key: put one in a file "
                 "and name it in $%s)",
                 url, message, status, CLI_ENV_API_KEY_FILE);
        return CLI_EXIT_USAGE;
    }
    cli_fail(r, code, "%s", message);
    return status >= 400 && status < 500 ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
}

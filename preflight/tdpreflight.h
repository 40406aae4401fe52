/* tdpreflight.h -- preflight a token server: ask it for tokens and say what would break.
 *
 * Design
 * ------
 * A customer's token server is asked for tokens over plain HTTP (libevent's evhttp client, one
 * request at a time on a private event_base) for a matrix of join parameters that break in
 * practice (uid 0, 2^32-1, numeric-looking accounts, channels with spaces and punctuation,
 * 63-byte and non-ASCII channels, both roles, short and over-24-hour expiries, and the same
 * request repeated more than a second apart). Each token is judged by the diagnosis engine
 * (diag_run) exactly as the client would be judged joining with those parameters at the moment
 * the answer arrived: this module derives findings from diagnoses and never re-states a rule.
 *
 * A finding is a named pattern (pf_finding) with one row in the findings catalog (pf_catalog:
 * id, title, what the client gets, the server-side fix): the text report, the JSON report and the
 * service's probe metrics all read that one table. Which diagnoses make which finding is decided
 * by three small tables in pf_analyse.c (hint, cause and warning -> finding) plus the checks only
 * several answers can show (an expiry computed once, a role that changes nothing, an expiry that
 * ignores the requested value).
 *
 * The token server is untrusted: its answer is capped (PF_ANSWER_MAX), each request has a
 * deadline, requests go to the host and port of the URL template only (placeholders are refused
 * there), at most max_requests of them, at most PF_RATE_PER_S per second. Extra headers (an
 * Authorization) are secrets: they are never printed and the copies this module holds are wiped.
 * https:// is refused with a reason: the project's TLS library is mbedTLS, which libevent 2.1's
 * evhttp cannot use (the same choice as the CLI's --server).
 *
 * Prefix pf_. Nothing here keeps global state: a run owns its event_base and its td_ctx.
 */
#ifndef TDPREFLIGHT_H
#define TDPREFLIGHT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tddiag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits ---------------------------------------------------------------------------- */

#define PF_ROWS_MAX 24              /* rows of the matrix (requests of one run) */
#define PF_REQUESTS_DEFAULT 24      /* --max-requests default: the whole matrix */
#define PF_REQUESTS_MAX PF_ROWS_MAX /* --max-requests upper bound */
#define PF_TIMEOUT_DEFAULT 10       /* --timeout default, seconds per request */
#define PF_TIMEOUT_MAX 120
#define PF_RATE_PER_S 10          /* requests started per second, at most */
#define PF_REPEAT_GAP_MS 1100     /* between the repeated requests (expiry computed once) */
#define PF_ANSWER_MAX (64u << 10) /* largest answer body read */
#define PF_TEMPLATE_MAX 4096      /* a URL or body template, bytes */
#define PF_HEADERS_MAX 32         /* extra request headers */
#define PF_HEADERS_BYTES 8192     /* the header file, bytes */
#define PF_CLOCK_SLACK 300        /* the diagnosis' issued_in_future margin, seconds */

/* ---- Findings --------------------------------------------------------------------------- */

typedef enum {
    PF_TIMEOUT = 0,
    PF_CONNECTION_CLOSED,
    PF_NOT_HTTP,
    PF_HTTP_ERROR,
    PF_ANSWER_TOO_LARGE,
    PF_NOT_JSON,
    PF_TOKEN_FIELD_MISSING,
    PF_EMPTY_ANSWER,
    PF_QUOTED,
    PF_JSON_ESCAPED,
    PF_PERCENT_ENCODED,
    PF_PLUS_LOST,
    PF_WHITESPACE,
    PF_AUTH_PREFIX,
    PF_NOT_A_TOKEN,
    PF_APP_ID_MISMATCH,
    PF_WRONG_CERTIFICATE,
    PF_SERVICE_MISSING,
    PF_CHANNEL_MISMATCH,
    PF_UID_ZERO_AS_ACCOUNT,
    PF_UID_OUT_OF_RANGE,
    PF_UID_MISMATCH,
    PF_EXPIRY_COMPUTED_ONCE,
    PF_EXPIRE_RELATIVE,
    PF_EXPIRE_IS_ROLE,
    PF_BORN_EXPIRED,
    PF_EXPIRE_ABSOLUTE,
    PF_EXPIRE_IGNORED,
    PF_CLOCK_AHEAD,
    PF_CLOCK_BEHIND,
    PF_ROLE_IGNORED,
    PF_PUBLISHER_CANNOT_PUBLISH,
    PF_REJECTED, /* any other rejection the diagnosis names */
    PF_FINDING_COUNT
} pf_finding;
_Static_assert(PF_FINDING_COUNT <= 64, "findings are bits of a uint64_t");

/* One row of the findings catalog. */
typedef struct {
    const char *id;     /* stable, e.g. "uid_zero_as_account" (JSON, metrics label) */
    const char *title;  /* the pattern, one sentence */
    const char *client; /* what a client gets */
    const char *fix;    /* what to change on the token server */
} pf_catalog_entry;

const pf_catalog_entry *pf_catalog(pf_finding f);

/* ---- Configuration ---------------------------------------------------------------------- */

/* The n bytes at p as HOST[:PORT] or [IPV6]:PORT: host (brackets removed, NUL-terminated, less
 * than host_cap bytes) and port (80 when absent, 1..65535). false on anything else. The one
 * parser of an http:// authority: preflight's URL and the CLI's --server. */
bool pf_authority_parse(const char *p, size_t n, char *host, size_t host_cap, unsigned *port);

/* Wipes the values of an outgoing libevent request's headers (an Authorization among them):
 * libevent frees its copies without clearing them. Call it once the request is answered or
 * cancelled, before libevent frees it. NULL is a no-op. The one place that does this: preflight's
 * requests and the CLI's --server. */
struct evhttp_request;
void pf_wipe_request_headers(struct evhttp_request *req);

/* Extra request headers, parsed from a header file ("Name: value" lines; blank lines and lines
 * starting with '#' skipped). The values are secrets: pf_headers_wipe clears them. */
typedef struct {
    char text[PF_HEADERS_BYTES + 1];
    size_t count;
    const char *name[PF_HEADERS_MAX], *value[PF_HEADERS_MAX]; /* into text */
} pf_headers;

/* Parses len bytes at p into h. false with a message naming the line (never its value) on a
 * line that is not a header, a name that is not an HTTP token, a header this module sets itself
 * (Host, Content-Length, Connection, Transfer-Encoding), more than PF_HEADERS_MAX headers or more
 * than PF_HEADERS_BYTES bytes. h is wiped on failure. */
bool pf_headers_parse(const char *p, size_t len, pf_headers *h, char *err, size_t cap);
void pf_headers_wipe(pf_headers *h);

typedef struct {
    const char *url;           /* template: http://HOST[:PORT]/PATH[?QUERY] with placeholders */
    bool post;                 /* POST (with body) instead of GET */
    const char *body;          /* template, POST only; NULL: an empty body */
    const char *token_field;   /* dotted path into a JSON answer; NULL: the whole body */
    const char *role_word[2];  /* indexed by diag_role: the server's words */
    const pf_headers *headers; /* NULL: none */
    const char *app_id;        /* the App ID the client initialises with (32 hex) */
    diag_service service;
    unsigned max_requests; /* 1..PF_REQUESTS_MAX */
    unsigned timeout_s;    /* per request, 1..PF_TIMEOUT_MAX */
} pf_config;

/* Fills c with the defaults: GET, role words publisher/subscriber, rtc, PF_REQUESTS_DEFAULT,
 * PF_TIMEOUT_DEFAULT; url and app_id NULL. */
void pf_config_defaults(pf_config *c);

/* Checks c: the URL template (http:// only -- https is refused with the reason --, a host and
 * port without placeholders, known placeholders, {uid} or {account} somewhere, {channel} for
 * rtc), the body (POST only), the App ID, the limits. false with a message naming the option
 * ("--url: ...") otherwise. */
bool pf_config_check(const pf_config *c, char *err, size_t cap);

/* A probe's configuration file (serve --probe NAME=FILE), a JSON object:
 *   {"url", "app_id", "service", "method", "body", "token_field",
 *    "roles": {"publisher", "subscriber"}, "header_file", "max_requests", "timeout",
 *    "interval"}
 * url and app_id required; interval in seconds (default 300, 10..86400). Strings borrow from
 * doc; headers is filled from header_file when given. false with a message naming the field. */
typedef struct {
    pf_config config;
    unsigned interval_s;
} pf_probe_config;
bool pf_probe_config_from_json(json_t *doc, pf_probe_config *out, pf_headers *headers, char *err,
                               size_t cap);

/* ---- A run ----------------------------------------------------------------------------- */

typedef enum {
    PF_OUT_NOT_SENT = 0, /* beyond max_requests */
    PF_OUT_ANSWERED,     /* an HTTP answer (any status) */
    PF_OUT_TIMEOUT,
    PF_OUT_CLOSED, /* refused, reset or closed without an answer */
    PF_OUT_TOO_LARGE,
    PF_OUT_NOT_HTTP,
} pf_outcome;
const char *pf_outcome_name(pf_outcome o);

/* One request of the matrix and what came of it. */
typedef struct {
    const char *label; /* "uid 0", "channel with spaces", ... */
    char channel[64];  /* rtc: the join's channel (at most 63 bytes) */
    size_t channel_len;
    bool by_account;
    uint32_t uid;
    char account[64];
    diag_role role;
    uint32_t expire;     /* the {expire} sent (0: the template has none) */
    bool sdk_refuses;    /* the channel is one the SDK refuses: the diagnosis is not a finding */
    unsigned min_gap_ms; /* at least this long after the previous request */

    pf_outcome outcome;
    int status; /* HTTP status when answered */
    int64_t received_at;
    unsigned elapsed_ms;
    bool diagnosed;
    diag_verdict verdict;
    diag_cause cause;
    const diag_code *code; /* the platform's error (native), NULL when none */
    uint32_t hints, warnings;
    bool has_times; /* a decoded token: issue and expiry */
    bool v006;
    int64_t issue_ts; /* 007 issue_ts; 006 ts - 86400 (what the vendor builders set) */
    int64_t expires_at;
    uint32_t privileges; /* rtc: bit n for privilege n (1..4) of the matched service */
    uint64_t findings;   /* bits (1u << pf_finding) */
} pf_row;

typedef struct {
    char url[PF_TEMPLATE_MAX + 1]; /* the template as given */
    char app_id[TD_CERT_LEN + 1];
    diag_service service;
    bool cohost_auth; /* the project's: roles are checked only then */
    bool has_expire, has_role;
    int64_t started_at;
    unsigned duration_ms;
    size_t nrows; /* planned */
    size_t sent;
    pf_row rows[PF_ROWS_MAX];
    bool reached; /* at least one answer: HTTP, too large or not HTTP */
    bool has_clock_offset;
    int64_t clock_offset; /* median 007 issue_ts - received_at, seconds */
    uint64_t findings;
    uint32_t rows_of[PF_FINDING_COUNT]; /* bit i: rows[i] shows the finding */
} pf_report;

/* Called after each request (done of total), from the run's thread; false stops the run there
 * (the rows not sent stay PF_OUT_NOT_SENT). */
typedef bool (*pf_progress_fn)(size_t done, size_t total, void *arg);

/* Runs the preflight of c (checked with pf_config_check) against project, the configuration of
 * c->app_id (NULL: refused). report is filled (the caller owns it; it is large: allocate it).
 * false with a message only when the run could not start (out of memory, no event base); an
 * unreachable server is a report with reached false. */
bool pf_run(const pf_config *c, const diag_project *project, pf_progress_fn progress, void *arg,
            pf_report *report, char *err, size_t cap);

/* The exit status of a report: 0 every token would join, 1 a finding, 2 the server could not be
 * reached (no request was answered). */
int pf_report_exit(const pf_report *r);

/* The report as JSON (docs/preflight.md): new reference, NULL when out of memory. */
json_t *pf_report_to_json(const pf_report *r);

/* The report for a person: findings first (pattern, what the client gets, the requests that
 * show it, the fix), then the requests, the clock offset. color: ANSI colours. */
void pf_report_print(FILE *out, const pf_report *r, bool color);

#ifdef __cplusplus
}
#endif
#endif /* TDPREFLIGHT_H */

/* tsrv.h -- helpers for the HTTP service's integration tests: start and stop `tokendoctor serve`
 * as a child process on an ephemeral loopback port with its own temporary database, and a
 * minimal blocking HTTP/1.1 client on plain sockets (keep-alive, Content-Length bodies), and the
 * main() of a test program made of suites (tsrv_run_suites), so that every such program takes
 * its arguments, names its suites and cleans its directories the same way.
 *
 * The client is deliberately small and strict: it parses exactly what the service sends, so a
 * malformed response is a test failure rather than something a lenient library would hide.
 */
#ifndef TSRV_H
#define TSRV_H

#include "testutil.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- The service as a child process ----------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char dir[256]; /* its temporary directory: database, key file, logs */
    char db[320];
    char admin_key[96];       /* made on the first start ("" when none was) */
    char admin_key_file[320]; /* the file the first start named for it ("" when printed) */
    char out[320];            /* this run's stdout file */
    char err[320];            /* this run's stderr file */
} tsrv_proc;

/* Starts `BIN serve --listen 127.0.0.1:0 --db DIR/t.db ...` plus extra (NULL-terminated, may
 * be NULL) with stdout/stderr in DIR/out-N.txt / DIR/err-N.txt and the access log in
 * DIR/access.log; waits until it listens. dir: an existing directory (a restart reuses it).
 * A first start's admin key is read from the file its message names (stdout is not a
 * terminal), or from stdout when it was printed there. */
bool tsrv_start(tsrv_proc *p, const char *bin, const char *dir, const char *const *extra);

/* The same with stdout going to stdout_path instead (e.g. a pseudo-terminal's device). */
bool tsrv_start_out(tsrv_proc *p, const char *bin, const char *dir, const char *const *extra,
                    const char *stdout_path);

/* Sleeps ms milliseconds. */
void tsrv_sleep_ms(int ms);

/* Sends sig and waits for the exit; returns the exit status (-1 when killed by a signal). */
int tsrv_stop(tsrv_proc *p, int sig);

/* Waits until the service's stderr contains needle (polling, up to timeout_s as a safety net
 * against a hung service); false when it did not appear or the service exited first. */
bool tsrv_wait_stderr(const tsrv_proc *p, const char *needle, int timeout_s);

/* ---- HTTP client ---------------------------------------------------------------------------- */

#define TSRV_HEAD_MAX 16384 /* the most a response's status line and headers may take */

typedef struct {
    int status;
    char headers[8192]; /* raw header block, lines separated by \r\n */
    char *body;         /* NUL-terminated, malloc'ed */
    size_t body_len;
    bool close; /* the server said Connection: close */
} tsrv_resp;

/* A connection; what a read took past the end of a response (the start of the next one, when the
 * server answered pipelined requests at once) waits in rest for the next read. */
typedef struct {
    int fd;
    int port;
    size_t rest_len;
    char rest[TSRV_HEAD_MAX];
} tsrv_conn;

bool tsrv_connect(tsrv_conn *c, int port);
void tsrv_close(tsrv_conn *c);

/* Sends one request on c (connecting first when c->fd < 0) and reads the response. extra_headers:
 * "Name: value\r\n" lines or NULL. content_type NULL = none sent. false on any I/O or parse error
 * (c is then closed). */
bool tsrv_request(tsrv_conn *c, const char *method, const char *path, const char *extra_headers,
                  const char *content_type, const char *body, size_t body_len, tsrv_resp *out);
/* Reads one response on c for a request the caller wrote to c->fd by hand (e.g. in parts);
 * false on any I/O or parse error (c is then closed). */
bool tsrv_read_reply(tsrv_conn *c, tsrv_resp *out);
void tsrv_resp_free(tsrv_resp *r);

/* The value of a response header (case-insensitive name) into out; false when absent. */
bool tsrv_header(const tsrv_resp *r, const char *name, char *out, size_t cap);

/* One-shot helpers on a new connection: JSON body (application/json), optional bearer key.
 * Returns the status (-1 on I/O error); *json receives the parsed body (NULL when not JSON). */
int tsrv_call(int port, const char *method, const char *path, const char *key, const char *body,
              json_t **json, tsrv_resp *raw);

/* ---- Raw exchanges ------------------------------------------------------------------------ */

/* A connection to 127.0.0.1:port from the loopback address src ("127.0.0.2": all of 127/8 is
 * loopback, so a test can be several clients); nonblocking when asked. -1 on failure. */
int tsrv_connect_from(const char *src, int port, bool nonblocking);

/* Writes req (len bytes) to fd as given, then reads until the service closes the connection or
 * nothing arrives for quiet_ms; the bytes read are in out (NUL-terminated, at most cap - 1),
 * their count returned. *eof tells whether the service closed. */
size_t tsrv_exchange(int fd, const void *req, size_t len, char *out, size_t cap, int quiet_ms,
                     bool *eof);

/* Every response body seen by tsrv_call is appended here, for the secrecy checks. */
extern char *tsrv_transcript;
extern size_t tsrv_transcript_len;

/* ---- The service's database, read directly ----------------------------------------------------
 */

/* One integer from a query (e.g. a count) on the database file at path, opened read-only; -1 on
 * error. What a test asserts about what was stored, without asking the service. */
long long tsrv_sql_count(const char *path, const char *sql);

/* ---- A test program made of suites -------------------------------------------------------- */

typedef struct {
    const char *usage;        /* the program's arguments: "test_edge TOKENDOCTOR SUITE" */
    const char **const *args; /* where argv[1..nargs] go before a suite runs (the binary, ...) */
    int nargs;                /* the last argument, after them, names the suite */
    const tu_test *suites;    /* by the names ctest gives */
    int nsuites;
} tsrv_suites;

/* The main() of such a program: ignores SIGPIPE, stores the arguments, runs the suite named
 * last, frees tsrv_transcript, removes the directories of tsrv_make_dir (kept and named on
 * stderr when a check failed) and returns tu_report(suite name). 2 (message on stderr) for a
 * wrong argument count or an unknown suite. */
int tsrv_run_suites(int argc, char **argv, const tsrv_suites *t);

/* A fresh temporary directory (tu_mkdtemp with prefix, a failed check when it cannot be made),
 * remembered for tsrv_run_suites to remove when the suite passed (at most 8 are). */
bool tsrv_make_dir(char *dir, size_t cap, const char *prefix);

#endif /* TSRV_H */

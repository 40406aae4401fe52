/* srv_internal.h -- what the server's files share: the server and worker structures, the route
 * table, metrics, caches and the reply helpers. Private to server/.
 *
 * Ownership: srv_run() (srv_main.c) creates one srv_server on its stack frame; it owns the
 * workers (srv_worker.c), the diagnosis log and the listening socket. A worker owns everything
 * a request touches. Only the metrics of other workers are read across threads, with relaxed
 * atomic loads (each counter has exactly one writer), and a parked request's job passes to the
 * worker's store thread and back under its queue's lock (srv_store.c).
 */
#ifndef SRV_INTERNAL_H
#define SRV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "tdcore.h"
#include "tddb.h"
#include "tddiag.h"
#include "tdserver.h"

/* ---- Routes ------------------------------------------------------------------------------ */

/* The key of the route table (srv_routes, srv_routes.c), one row per value before
 * SRV_ROUTE_UNKNOWN; also the index of the per-route metrics. */
typedef enum {
    SRV_ROUTE_DIAGNOSE = 0,
    SRV_ROUTE_BATCH,
    SRV_ROUTE_DECODE,
    SRV_ROUTE_ERRORS,
    SRV_ROUTE_PROJECTS,
    SRV_ROUTE_IMPORT,
    SRV_ROUTE_PROJECT,
    SRV_ROUTE_HISTORY,
    SRV_ROUTE_DIAGNOSES,
    SRV_ROUTE_TOKENS,
    SRV_ROUTE_HEALTHZ,
    SRV_ROUTE_READYZ,
    SRV_ROUTE_METRICS,
    SRV_ROUTE_OPENAPI,
    SRV_ROUTE_ASSETS,
    SRV_ROUTE_PROBES,
    SRV_ROUTE_UNKNOWN, /* 404 */
    SRV_ROUTE_COUNT
} srv_route;

/* The route's template, its row's path, as shown in metrics and the access log
 * ("/v1/projects/{app_id}"; the web page's files are "/"; "unknown" for a path no route has):
 * never a space, so that it is a plain Prometheus label value. */
const char *srv_route_name(srv_route r);

/* The OpenAPI document (docs/openapi.yaml), embedded at build time by server/embed_doc.cmake
 * into a generated file: static, read-only bytes that live as long as the process. */
void srv_openapi_doc(const char **body, size_t *len);

/* ---- Metrics ------------------------------------------------------------------------------ */

/* The statuses the service answers with; anything else is counted as "other". */
#define SRV_STATUS_COUNT 18
/* Latency histogram upper bounds in microseconds (+Inf implied). */
#define SRV_BUCKET_COUNT 12

typedef struct {
    _Atomic uint64_t requests[SRV_ROUTE_COUNT][SRV_STATUS_COUNT];
    _Atomic uint64_t
        latency[SRV_ROUTE_COUNT][SRV_BUCKET_COUNT + 1]; /* per bucket, not cumulative */
    _Atomic uint64_t latency_sum_us[SRV_ROUTE_COUNT];
    _Atomic uint64_t diagnoses[3][DIAG_CAUSE_COUNT]; /* [verdict][cause] */
    _Atomic uint64_t cache_hits;
    _Atomic uint64_t cache_misses;
    _Atomic uint64_t conn_refused[4]; /* [srv_conn_refusal] */
    _Atomic uint64_t conn_closed[1];  /* [SRV_CONN_CLOSED_*] */
} srv_metrics;

/* One writer per counter: a relaxed load + store is enough and costs a plain add. */
static inline void srv_count(_Atomic uint64_t *c, uint64_t n) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* ---- Rate limit (srv_ratelimit.c) ---------------------------------------------------------- */

/* Token buckets per client address, shared by the workers (thread-safe). */
typedef struct srv_ratelimit srv_ratelimit;
/* per_s items a second, at most burst at once (both > 0). NULL when out of memory. */
srv_ratelimit *srv_ratelimit_new(uint64_t per_s, uint64_t burst);
void srv_ratelimit_free(srv_ratelimit *rl); /* NULL is a no-op */
struct sockaddr;
/* Takes cost items from the bucket of sa's address at now_us: true when it could pay, else
 * false with the seconds until it could in *retry_after_s. An address of another family (or
 * none) is not limited. */
bool srv_ratelimit_take(srv_ratelimit *rl, const struct sockaddr *sa, uint64_t cost, int64_t now_us,
                        int *retry_after_s);

/* ---- Caches -------------------------------------------------------------------------------- */

/* Verified API keys by SHA-256 of the presented key (roles, including "none" for a wrong key,
 * so that a client retrying a bad key does not cost a query per request). */
#define SRV_KEY_CACHE_SIZE 64
#define SRV_KEY_CACHE_TTL 10 /* seconds; any change to the database also empties it */

typedef struct {
    bool used;
    unsigned char hash[32];
    tdb_role role;
    int64_t verified_at;
    char name[TDB_APIKEY_NAME_MAX + 1];
} srv_key_slot;

typedef struct {
    srv_key_slot slots[SRV_KEY_CACHE_SIZE];
    size_t next; /* round-robin replacement */
} srv_key_cache;

/* ---- Connections (srv_conn.c) ------------------------------------------------------------ */

/* Whom a connection belongs to: an IPv4 address (as IPv4-mapped IPv6) or an IPv6 /64. */
typedef struct {
    unsigned char b[16];
} srv_client_key;

void srv_client_key_of(const struct sockaddr *sa, srv_client_key *k);

/* A count per client key, for at most max_keys keys at once: a fixed open-addressing table with
 * a keyed hash. Not locked by itself: its user holds `lock` around every call. */
typedef struct {
    pthread_mutex_t lock;
    struct srv_client_slot {
        srv_client_key key;
        uint32_t count; /* 0: empty slot */
    } * slots;
    size_t mask; /* slots - 1 (a power of two) */
    size_t keys, max_keys;
    uint64_t seed[2];
} srv_client_table;

bool srv_client_table_init(srv_client_table *t, size_t max_keys);
void srv_client_table_free(srv_client_table *t);
uint32_t srv_client_count(const srv_client_table *t, const srv_client_key *k);
/* count(k) + 1; false when k is new and max_keys keys are held. */
bool srv_client_add(srv_client_table *t, const srv_client_key *k);
void srv_client_remove(srv_client_table *t, const srv_client_key *k); /* count(k) - 1 */

typedef enum {
    SRV_CONN_ADMITTED = 0,
    SRV_CONN_REFUSED_FULL,       /* max_connections */
    SRV_CONN_REFUSED_PER_CLIENT, /* max_connections_per_client */
    SRV_CONN_REFUSED_RESERVE,    /* the reserve is for light clients */
    SRV_CONN_REFUSAL_COUNT
} srv_conn_refusal;
enum { SRV_CONN_CLOSED_DEADLINE = 0 };

typedef struct srv_conn srv_conn;

/* ---- Request framing (srv_framing.c) ---------------------------------------------------- */

enum { SRV_FRAMING_HDR_OTHER = 0, SRV_FRAMING_HDR_LENGTH, SRV_FRAMING_HDR_CODING };

/* Where a connection's byte stream is, as evhttp frames it. No bytes are held: about 120
 * bytes of state whatever the client sends. */
typedef struct {
    unsigned char state, at, hpos, header, last;
    bool cap_over, length_bad, chunked, colon, cr;
    bool fault; /* a malformed chunked body: evhttp's refusal of it is a 400 */
    char method[8];
    size_t method_len;
    char cap[24]; /* a header's name, then a Content-Length or Transfer-Encoding value */
    size_t cap_len, line_len, line_no;
    int lengths, codings; /* Content-Length and Transfer-Encoding headers seen */
    uint64_t length;      /* the Content-Length's value */
    uint64_t size;        /* the chunk size being read */
    int digits;
    uint64_t left; /* bytes of the body or chunk still to come */
} srv_framing;

/* The most bytes srv_framing_feed writes beyond its input's length. */
#define SRV_FRAMING_SLACK 32

void srv_framing_init(srv_framing *f);
/* Every later byte is dropped (the input could not be rewritten). */
void srv_framing_drop(srv_framing *f);

/* Follows the n bytes of in. With out (room for n + SRV_FRAMING_SLACK bytes): writes there what
 * evhttp is to read instead, sets *out_len, and returns n. Without out (NULL): stops at the
 * first byte whose output might differ from the input, and returns how many bytes it followed
 * (all of them pass unchanged). Never fails: bytes it cannot follow pass unchanged from then on
 * (see srv_framing.c). */
size_t srv_framing_feed(srv_framing *f, const char *in, size_t n, char *out, size_t *out_len);

/* ---- Server and workers ---------------------------------------------------------------------- */

typedef struct srv_server srv_server;
typedef struct srv_store srv_store;
typedef struct srv_probe srv_probe;
typedef struct srv_probes srv_probes;

/* The most a worker's reply buffer holds. Far above any answer to a body the service accepts
 * (a batch item is a few KiB per request line); only a defect reaches it, and then the answer is
 * the 500 instead of the worker's memory growing without bound. */
#define SRV_REPLY_MAX ((size_t)256 * 1024 * 1024)
/* Allocated when a worker starts, so that ordinary answers never grow the buffer. */
#define SRV_REPLY_FIRST_CAP 65536

/* srv_json.c: compact JSON of v (json_dumpb) into b (reset first). false when b cannot take it
 * (b->status says why). */
bool srv_json_write(td_buf *b, const json_t *v);
/* The same appended at b->len (b->len unchanged on failure). */
bool srv_json_append(td_buf *b, const json_t *v);

typedef struct {
    srv_server *server;
    int index;
    pthread_t thread;
    bool started;

    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev; /* activated by the main thread on SIGTERM/SIGINT */
    struct event *tick_ev; /* periodic: flush the access log, retry a paused listener, watch
                              the drain */
    unsigned ticks;
    bool draining;
    int64_t drain_deadline_us;
    int64_t last_activity_us;

    tdb *db;
    tdb *log_db; /* the diagnosis log's database; == db unless --log-db */
    /* The store thread (srv_store.c) when the store is remote (PostgreSQL), else NULL: then
     * db and log_db only give the configuration version on this thread (no network). */
    srv_store *store;
    bool version_fresh;       /* the configuration version was checked in this iteration */
    struct event *refresh_ev; /* priority 0, next iteration: version_fresh = false */
    td_ctx *td;
    diag_result *result; /* reused by every diagnosis of this worker */
    /* Project configurations, keyed by the configuration version (db_cache.c). */
    tdb_project_cache *projects;
    srv_key_cache keys;

    td_buf out;        /* JSON serialisation scratch (cap SRV_REPLY_MAX) */
    char *errors_json; /* GET /v1/errors, rendered once */
    size_t errors_len;

    char *alog; /* access-log buffer, flushed when nearly full and on every tick */
    size_t alog_len;
    int64_t alog_secs;  /* the second alog_when holds (gmtime+strftime once a second, not per
                           request: they were ~2% of the service's CPU) */
    char alog_when[32]; /* "YYYY-MM-DDTHH:MM:SS" of alog_secs */

    uint64_t rid_seed;  /* random at start: request ids of workers and runs do not collide */
    uint64_t rid_count; /* requests given an id of ours so far */

    srv_metrics metrics;

    /* srv_conn.c */
    struct event *adopt_ev; /* adopts the connections in conns_new */
    srv_conn *conns_new;    /* accepted, not adopted yet */
    srv_conn **conn_by_fd;  /* this worker's connections by descriptor */
    size_t conn_by_fd_cap;
} srv_worker;

struct srv_server {
    srv_config cfg;
    char db_path[4096];
    char db_shown[4200];    /* "database PATH", or 'database "D" on HOST' (never a URL) */
    char log_db_path[4096]; /* the diagnosis log's database: db_path unless --log-db */
    char key_file[4096];
    int *listen_fds; /* one per worker; -1 once a worker's evhttp owns it */
    int alog_fd;     /* -1 = access log off */
    bool alog_close;
    tdb_log *log;
    srv_ratelimit *rate; /* NULL: no rate limit */
    /* The diagnosis log's drops as last reported on stderr (srv_log_report). */
    uint64_t reported_drops;
    tdb_fault reported_fault;
    int64_t reported_at;
    int nworkers;
    srv_worker *workers;
    int64_t started_at;
    srv_client_table clients; /* open connections per client, all workers (srv_conn.c) */
    size_t conns_open;        /* under clients.lock */
    srv_probes *probes;       /* NULL without --probe (srv_probe.c) */
};

/* srv_worker.c */
/* The body size beyond which evhttp refuses a request itself, before reading it: far above
 * body_limit, so that an oversized body normally gets the handler's 413. */
size_t srv_body_hard_limit(const srv_config *c);
bool srv_worker_init(srv_server *s, srv_worker *w, int index, char *err, size_t err_cap);
bool srv_worker_start(srv_worker *w);
void srv_worker_stop_async(srv_worker *w); /* from the main thread */
void srv_worker_join(srv_worker *w);
void srv_worker_free(srv_worker *w);
/* Opens the store (s->db_path) and the diagnosis log's (the same handle unless --log-db names
 * another) as a request's calls use them: the request threads' short busy timeout. The worker's
 * and its store thread's. false with the message in err (a handle opened stays in *db). */
bool srv_open_request_stores(const srv_server *s, tdb **db, tdb **log_db, char *err,
                             size_t err_cap);

/* srv_conn.c: after evhttp_new, connections are watched (see srv_conn.c); false on failure. */
bool srv_conn_worker_init(srv_worker *w);
/* After evhttp_free. */
void srv_conn_worker_free(srv_worker *w);
/* The request is complete and in the handler: its deadline stops. */
void srv_conn_request_done(srv_worker *w, struct evhttp_request *req);
/* The connection metrics, appended to t. */
void srv_conn_metrics_render(srv_server *s, td_buf *t);

/* ---- One request as the handlers see it ------------------------------------------------------ */

/* A request id taken from a client (a proxy's X-Request-Id) has at most this many characters. */
#define SRV_REQUEST_ID_MAX 128

typedef struct {
    srv_worker *w;
    struct evhttp_request *req;
    srv_route route;
    enum evhttp_cmd_type method;
    const char *path;
    const char *query;
    char app_id[TD_CERT_LEN + 1]; /* from the path, when the route has one */
    tdb_role role;                /* of the presented key, TDB_ROLE_NONE without one */
    char actor[TDB_APIKEY_NAME_MAX + 1];
    int status;
    int64_t start_us;
    /* for the access log */
    char log_app_id[TD_CERT_LEN + 1];
    const char *log_verdict;
    char request_id[SRV_REQUEST_ID_MAX + 1]; /* answered as X-Request-Id, logged */
    bool close; /* the answer closes the connection (the request's framing is not trusted) */
    struct evhttp_connection *evcon; /* set only when req is NULL (srv_replace_refusal) */
    /* A parked request runs again once its store job is back (srv_store.c): */
    struct srv_job *job; /* the job this run resumes, or NULL */
    bool authorized;     /* role and actor are settled: not checked again */
    bool paid;           /* the rate limit was paid: not charged again */
} srv_req;

/* srv_http.c: replies. Each sends the response and records its status. */
void srv_reply_json(srv_req *r, int status, json_t *doc); /* steals doc */
void srv_reply_raw(srv_req *r, int status, const char *content_type, const char *body, size_t len);
void srv_reply_error(srv_req *r, int status, const char *code, const char *message);
/* Parses the body as a JSON object into *out; on failure replies (400/413/415) and returns
 * false. */
bool srv_read_json_body(srv_req *r, json_t **out);
/* The method's name as HTTP spells it ("GET"); "OTHER" for one libevent does not name. */
const char *srv_method_name(enum evhttp_cmd_type m);
/* Current time. */
int64_t srv_now_us(void);
int64_t srv_now_s(void);

/* Sets r->request_id: the request's X-Request-Id when it is a sane token (1 to
 * SRV_REQUEST_ID_MAX printable ASCII characters, no space, quote or backslash), else a new one
 * (16 hex digits, unique per worker and run). */
void srv_request_id(srv_req *r);

/* evhttp refused a request by itself, before the handler, and its HTML page (page_status) is
 * queued in out from offset at, not sent yet (srv_conn.c): the refusal is counted in the metrics
 * (route "unknown") and logged like an answer of ours with status (page_status, unless the
 * service knows the cause better), and the page is replaced by our JSON error with that status
 * and Connection: close. */
void srv_replace_refusal(srv_worker *w, struct evhttp_connection *evcon, struct evbuffer *out,
                         size_t at, int page_status, int status);

#define SRV_ALOG_CAP 32768
void srv_alog_flush(srv_worker *w);

/* srv_routes.c */
void srv_handle(srv_req *r);

/* srv_ratelimit.c: takes cost items from the client's bucket; when it cannot pay, replies 429
 * with Retry-After and returns false. */
bool srv_rate_admit(srv_req *r, size_t cost);

/* srv_cache.c */
/* Frees the worker's caches, wiping the projects' certificates and the key hashes. */
void srv_caches_free(srv_worker *w);
/* How srv_project_lookup went. */
typedef enum {
    SRV_LOOKUP_OK,        /* the project, or NULL for an App ID without one */
    SRV_LOOKUP_FAILED,    /* the store did not answer */
    SRV_LOOKUP_NOT_CACHED /* a remote store, and the cache does not hold it: park the request */
} srv_lookup;
/* The project of app_id (len bytes) or NULL (*how says why). fill: the fill job the request
 * resumes (its App IDs are answered from it), or NULL. On a remote store the loop never reads
 * the store here: what neither fill nor the shared cache holds is SRV_LOOKUP_NOT_CACHED. */
const diag_project *srv_project_lookup(srv_worker *w, const struct srv_job *fill,
                                       const char *app_id, size_t len, srv_lookup *how);
/* Whether srv_project_lookup of app_id (32 hex characters) would not need the store now. */
bool srv_project_at_hand(srv_worker *w, const struct srv_job *fill, const char *app_id);
/* Why the last lookup failed: the fill job's message, or the store's. */
const char *srv_lookup_error(srv_worker *w, const struct srv_job *fill);
/* Empties the caches when the configuration version moved (once per loop iteration). */
void srv_cache_check_version(srv_worker *w);
/* This worker changed the configuration: the next check asks again at once, even within the
 * same loop iteration (the change moved the version). */
void srv_cache_changed(srv_worker *w);
/* Role of a presented key (via the key cache). */
tdb_role srv_key_verify(srv_worker *w, const char *key, size_t len, char *name_out,
                        size_t name_cap);
/* The key cache alone: true with the role and name when it knows the key. */
bool srv_key_cached(srv_worker *w, const char *key, size_t len, tdb_role *role, char *name_out,
                    size_t name_cap);
/* Remembers a verified key (not TDB_ROLE_ERROR). */
void srv_key_remember(srv_worker *w, const char *key, size_t len, tdb_role role, const char *name);

/* ---- The store thread (srv_store.c) ---------------------------------------------------------- */

/* The most requests one worker holds parked on its store thread (queued, running, or back and
 * not answered yet); more are answered 503 store_busy with Retry-After (docs/api.md "Limits"). */
#define SRV_STORE_QUEUE_MAX 256
/* A job that waited this long in the queue is failed without a call (503 store_unavailable):
 * today's bound of one call on a request thread (statement timeout 2 s + margin 1 s). */
#define SRV_STORE_WAIT_MS 3000

/* The answer a store call makes off the loop; the loop sends it (srv_reply_answer). */
typedef struct {
    int status;       /* 0: none yet */
    json_t *doc;      /* the document to answer (owned), or NULL with code and message */
    const char *code; /* an error's code (static text) */
    char message[320];
    bool retry_after; /* with Retry-After (a transient store failure) */
    bool changed;     /* the configuration changed: srv_cache_changed */
} srv_answer;

/* The handles of the thread that runs a store call. */
typedef struct {
    tdb *db;
    tdb *log_db;
    tdb_log *log;
} srv_store_ctx;

typedef enum {
    SRV_JOB_FILL, /* read App IDs into the shared project cache, then run the route again */
    SRV_JOB_KEY,  /* verify an API key, then run the route again */
    SRV_JOB_CALL  /* run the route's store call (fn), then send its answer */
} srv_job_kind;

/* One App ID of a fill job, as the store answered it. */
typedef struct {
    char app_id[TD_CERT_LEN + 1];
    tdb_status st;    /* TDB_OK (project, or none when unknown), else the read failed */
    bool has_project; /* project is the configuration (else the App ID is unknown) */
    diag_project project;
} srv_fill_item;

typedef struct srv_job srv_job;
typedef void (*srv_store_fn)(const srv_store_ctx *c, srv_job *j);

/* A parked request: what its handler needs to go on, and what the store answered. Made and
 * freed on the worker's thread; between srv_store_park and its return to the loop, only the
 * store thread touches it. */
struct srv_job {
    srv_job *next;
    srv_job_kind kind;
    srv_req r;    /* the request as parked (r.req: kept by evhttp until answered) */
    json_t *body; /* its parsed body, owned */
    int64_t parked_us;
    /* SRV_JOB_FILL */
    srv_fill_item *items;
    size_t nitems, items_cap;
    /* SRV_JOB_KEY: the key (wiped when freed) and its role */
    char *key;
    size_t key_len;
    tdb_role role;
    char name[TDB_APIKEY_NAME_MAX + 1];
    /* SRV_JOB_CALL: the call and its arguments, set by the route */
    srv_store_fn fn;
    int limit;
    char after[TD_CERT_LEN + 1];
    bool dry_run, continue_on_error;
    diag_project project; /* wiped when freed */
    char *text;           /* an import's body (wiped when freed) */
    size_t text_len;
    /* what came back (FILL, KEY) */
    bool failed;
    tdb_fault fault;
    char message[320];
    srv_answer answer; /* CALL */
};

/* Starts the worker's store thread when its store is remote; false with a message. */
bool srv_store_init(srv_worker *w, char *err, size_t err_cap);
/* Whether the worker hands its store calls to a store thread. */
bool srv_store_remote(const srv_worker *w);
/* Requests parked now. */
size_t srv_store_parked(const srv_worker *w);
/* On the worker's thread once its loop has stopped: stops the store thread (queued jobs fail
 * at once, a running call within its bound), answers every parked request, and lets the loop
 * write those answers. */
void srv_store_stop(srv_worker *w);
/* Frees what srv_store_init made (stopping first). */
void srv_store_free(srv_worker *w);
/* A new job for r (NULL when out of memory). */
srv_job *srv_job_new(srv_req *r, srv_job_kind kind);
void srv_job_free(srv_job *j);
/* Adds app_id (32 hex characters) to a fill job, once; false when out of memory. */
bool srv_job_add_app_id(srv_job *j, const char *app_id);
/* Parks r on the store thread with j (taken). Replies itself when it cannot (503 store_busy
 * beyond SRV_STORE_QUEUE_MAX, 503 store_unavailable once stopped, 500 out of memory). */
void srv_store_park(srv_req *r, srv_job *j);
/* Runs j's call: parked on the store thread when remote, else at once here; either way r is
 * answered (srv_reply_answer) once it is done. j is taken. */
void srv_store_call(srv_req *r, srv_job *j);

/* srv_routes.c: a parked request is back (its job in r->job): runs it again, or sends its
 * call's answer. */
void srv_resume(srv_req *r);
/* Sends a store call's answer (and does what it asks: srv_cache_changed). */
void srv_reply_answer(srv_req *r, srv_answer *a);
/* Answer helpers for store calls (any thread). */
void srv_answer_doc(srv_answer *a, int status, json_t *doc);
void srv_answer_error(srv_answer *a, int status, const char *code, const char *message);
/* A store failure of fault f: 503 store_busy or store_unavailable (with Retry-After when
 * transient), 500 otherwise; the message is "what: errmsg" (errmsg alone when what is NULL). */
void srv_answer_fault(srv_answer *a, tdb_fault f, const char *what, const char *errmsg);
/* The failure of a call on db (its last fault and message). */
void srv_answer_db_error(srv_answer *a, tdb *db, const char *what);
/* Adds Retry-After (SRV_BUSY_RETRY_AFTER seconds) to r's answer: the store was busy or could not
 * be reached, which lasts moments. */
void srv_add_retry_after(srv_req *r);

/* srv_metrics.c */
void srv_metrics_record(srv_worker *w, srv_route route, int status, int64_t latency_us);
/* The Prometheus text of all workers together; new buffer (free()), length in *len. */
char *srv_metrics_render(srv_server *s, size_t *len);
/* At most one line on stderr every SRV_LOG_REPORT_INTERVAL_S when the diagnosis log dropped
 * entries or its writes fail (called once a second by the main thread). */
#define SRV_LOG_REPORT_INTERVAL_S 10
void srv_log_report(srv_server *s, int64_t now_s);

/* srv_probe.c: `--probe NAME=FILE`. init reads and checks every probe's file (false with a
 * message: a usage error); start runs them on their own thread; stop joins it; free releases
 * everything (stopping first). srv_probes_json is GET /v1/probes' document (new reference);
 * srv_probes_metrics_render appends the tokendoctor_probe_* series. All are no-ops without
 * probes. */
bool srv_probes_init(srv_server *s, char *err, size_t cap);
bool srv_probes_start(srv_server *s);
void srv_probes_stop(srv_server *s);
void srv_probes_free(srv_server *s);
json_t *srv_probes_json(srv_server *s);
void srv_probes_metrics_render(srv_server *s, td_buf *t);

/* srv_mint.c: POST /v1/tokens. Fills out (token text) or err (a message naming the field);
 * returns the HTTP status (200, 400, 404, 409, 500). */
int srv_mint(srv_worker *w, const srv_job *fill, json_t *body, json_t **out, char *err,
             size_t err_cap, const char **err_code);

#endif /* SRV_INTERNAL_H */

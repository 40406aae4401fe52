/* srv_routes.c -- the HTTP API of docs/spec/interfaces.md: the route table, authorisation and
 * one handler per route.
 *
 * Everything the service knows about a route is one row of srv_routes (at the end of the file,
 * after the handlers it names): its path template, which is also its name in the metrics and
 * the access log; the methods it answers, from which Allow and the 405's message are made; who
 * may call it; and its handler. Adding a route is an enum value (srv_internal.h), one row and
 * one handler; tests/api/check.mjs reads the rows' templates to require that docs/openapi.yaml
 * documents each.
 *
 * A request goes through the same steps in the same order, so that answers never depend on
 * what exists: match the path (404), check the method (405 with Allow), authorise (401/403 --
 * before anything is looked up, so a 401 never tells whether a project exists), then the
 * handler, which validates its input (400/413/415) and answers.
 *
 * Roles: without `--auth all`, the diagnosis routes and /v1/errors are open; with it they take
 * any valid key. The web page's static files and the OpenAPI document are always open (they
 * hold no data, and a browser or an API tool cannot attach a key to them); the API calls the
 * page makes are authorised like any other. Reading projects, their history and their diagnoses
 * takes a reader or admin key; changing a project or minting a token takes an admin key (a
 * reader gets 403). The probes and /metrics are always open.
 */
#include "srv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#ifdef SRV_HAVE_ASSETS
#include "srv_assets.h"
#endif

/* ---- Matching ------------------------------------------------------------------------------ */

/* Who may call a route (srv_authorize). */
typedef enum {
    SRV_ACCESS_PROBE, /* anyone, whatever --auth says */
    SRV_ACCESS_OPEN,  /* anyone; with --auth all, any valid key */
    SRV_ACCESS_READ,  /* a reader or admin key */
    SRV_ACCESS_WRITE  /* an admin key */
} srv_access;

/* The segment in the place of {app_id}, into r->app_id when it is an App ID (else r->app_id
 * stays empty and the handler answers 404, or 400 to a PUT). */
static void srv_take_app_id(srv_req *r, const char *seg, size_t len) {
    r->app_id[0] = '\0';
    if (!diag_is_hex32(seg, len))
        return;
    memcpy(r->app_id, seg, TD_CERT_LEN);
    r->app_id[TD_CERT_LEN] = '\0';
    /* Logged even when the rest of the path then matches no route: the 404 of
     * /v1/projects/<id>/typo still says which project it was about. */
    memcpy(r->log_app_id, r->app_id, sizeof r->app_id);
}

/* Whether path is an instance of pattern: the same bytes, except that "{app_id}" stands for one
 * non-empty segment (taken by srv_take_app_id) and a final "*" for any rest. */
static bool srv_path_match(srv_req *r, const char *pattern, const char *path) {
    static const char param[] = "{app_id}";
    while (*pattern) {
        if (strcmp(pattern, "*") == 0)
            return true;
        if (strncmp(pattern, param, sizeof param - 1) == 0) {
            size_t seg = strcspn(path, "/");
            if (seg == 0)
                return false;
            srv_take_app_id(r, path, seg);
            pattern += sizeof param - 1;
            path += seg;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *path == '\0';
}

/* ---- Authorisation ----------------------------------------------------------------------------
 */

/* The key of "Authorization: Bearer <key>", or NULL. */
static const char *srv_bearer(srv_req *r, size_t *len) {
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    if (!h)
        return NULL;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    *len = n;
    return n ? h : NULL;
}

static void srv_reply_unauthorized(srv_req *r, const char *message) {
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
                      "Bearer realm=\"tokendoctor\"");
    srv_reply_error(r, 401, "unauthorized", message);
}

static void srv_reply_fault(srv_req *r, tdb_fault f, const char *what, const char *errmsg);

/* The store could not check a key (its fault and message): 503 whatever the fault (as a
 * diagnosis whose project could not be read), store_busy when it was busy, else
 * store_unavailable -- the client should retry, the key is not known to be wrong. */
static void srv_reply_key_check_failed(srv_req *r, tdb_fault f, const char *errmsg) {
    if (f == TDB_FAULT_BUSY || f == TDB_FAULT_UNAVAILABLE) {
        srv_reply_fault(r, f, "cannot check the API key", errmsg);
        return;
    }
    char msg[320];
    snprintf(msg, sizeof msg, "cannot check the API key: %s", errmsg);
    srv_reply_error(r, 503, "store_unavailable", msg);
}

/* The role of the presented key into r (role, actor): from the key job r resumes, the key
 * cache, or the store -- which, when remote, is asked by the store thread: r is parked and
 * false returned (answered later). */
static bool srv_key_role(srv_req *r, const char *key, size_t len) {
    srv_worker *w = r->w;
    const srv_job *j = r->job && r->job->kind == SRV_JOB_KEY ? r->job : NULL;
    if (j) {
        r->role = j->role;
        snprintf(r->actor, sizeof r->actor, "%s", j->name);
        if (r->role == TDB_ROLE_ERROR) {
            r->role = TDB_ROLE_NONE;
            r->actor[0] = '\0';
            srv_reply_key_check_failed(r, j->fault, j->message);
            return false;
        }
        return true;
    }
    if (!srv_store_remote(w)) {
        r->role = srv_key_verify(w, key, len, r->actor, sizeof r->actor);
        if (r->role == TDB_ROLE_ERROR) { /* the key may be valid: not a 401 */
            r->role = TDB_ROLE_NONE;
            srv_reply_key_check_failed(r, tdb_last_fault(w->db), tdb_errmsg(w->db));
            return false;
        }
        return true;
    }
    if (srv_key_cached(w, key, len, &r->role, r->actor, sizeof r->actor))
        return true;
    srv_job *k = srv_job_new(r, SRV_JOB_KEY);
    if (k && (k->key = malloc(len)) != NULL) {
        memcpy(k->key, key, len);
        k->key_len = len;
    } else {
        srv_job_free(k);
        k = NULL;
    }
    srv_store_park(r, k);
    return false;
}

/* Authorises r for a route that needs `need`; replies 401/403 and returns false when
 * refused (false too when r was parked to check its key). */
static bool srv_authorize(srv_req *r, srv_access need) {
    if (r->authorized || need == SRV_ACCESS_PROBE)
        return true;
    if (need == SRV_ACCESS_OPEN && r->w->server->cfg.auth != SRV_AUTH_ALL)
        return true;
    size_t len = 0;
    const char *key = srv_bearer(r, &len);
    if (!key) {
        srv_reply_unauthorized(r, "an API key is required: send Authorization: Bearer <key>");
        return false;
    }
    srv_cache_check_version(r->w);
    if (!srv_key_role(r, key, len))
        return false;
    if (r->role == TDB_ROLE_NONE) {
        srv_reply_unauthorized(r, "the API key is not valid (wrong or revoked)");
        return false;
    }
    if (need == SRV_ACCESS_WRITE && r->role != TDB_ROLE_ADMIN) {
        srv_reply_error(r, 403, "forbidden", "this route needs an admin key; the key is a reader");
        return false;
    }
    r->authorized = true;
    return true;
}

/* ---- Diagnoses ------------------------------------------------------------------------------- */

static void srv_copy_trunc(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void srv_copy_str(char *dst, size_t cap, const char *src) {
    srv_copy_trunc(dst, cap, src, strlen(src));
}

static void srv_log_diagnosis(srv_worker *w, const diag_request *q, const diag_result *res,
                              int64_t now) {
    if (!w->server->log)
        return;
    tdb_log_entry e;
    e.at = now;
    srv_copy_trunc(e.app_id, sizeof e.app_id, q->app_id, q->app_id_len);
    srv_copy_str(e.verdict, sizeof e.verdict, diag_verdict_name(res->verdict));
    srv_copy_str(e.cause, sizeof e.cause, diag_cause_name(res->cause));
    const diag_code *code = diag_result_code(res);
    e.code = code ? code->code : 0;
    srv_copy_str(e.platform, sizeof e.platform, diag_platform_name(res->platform));
    e.token_fingerprint[0] = '\0';
    if (q->has_token && q->token_len > 0)
        td_fingerprint(q->token, q->token_len, e.token_fingerprint);
    e.channel[0] = '\0';
    if (q->has_channel)
        srv_copy_trunc(e.channel, sizeof e.channel, q->channel, q->channel_len);
    if (q->has_account)
        srv_copy_trunc(e.uid, sizeof e.uid, q->account, q->account_len);
    else if (q->has_uid)
        snprintf(e.uid, sizeof e.uid, "%u", q->uid);
    else
        e.uid[0] = '\0';
    tdb_log_push(w->server->log, &e); /* a full queue drops and counts: never wait here */
}

/* The fill job r resumes (its App IDs are answered from it), or NULL. */
static const srv_job *srv_fill_of(const srv_req *r) {
    return r->job && r->job->kind == SRV_JOB_FILL ? r->job : NULL;
}

/* A remote store: app_id (len bytes) into *j, a new fill job, unless it cannot be stored or a
 * lookup would find it without the store (the request's fill job, the shared cache). */
static void srv_need_app_id(srv_req *r, const srv_job *fill, const char *app_id, size_t len,
                            srv_job **j, bool *oom) {
    if (*oom || !diag_is_hex32(app_id, len) || srv_project_at_hand(r->w, fill, app_id))
        return;
    if (!*j)
        *j = srv_job_new(r, SRV_JOB_FILL);
    if (!*j || !srv_job_add_app_id(*j, app_id))
        *oom = true;
}

/* The same for the App ID a diagnosis request object reads (one the engine refuses reads none:
 * its 400 comes from the run). */
static void srv_need_project(srv_req *r, const srv_job *fill, json_t *item, int64_t now,
                             srv_job **j, bool *oom) {
    diag_request q;
    char err[256];
    if (*oom || !json_is_object(item) || !diag_request_from_json(item, now, &q, err, sizeof err))
        return;
    const char *key;
    size_t len;
    diag_request_project_key(&q, &key, &len);
    srv_need_app_id(r, fill, key, len, j, oom);
}

/* Parks r with its fill job j and body (both taken); out of memory while making j (oom), the
 * park answers 500 (srv_store_park with no job). */
static void srv_park_fill(srv_req *r, srv_job *j, bool oom, json_t *body) {
    if (oom) {
        srv_job_free(j);
        j = NULL;
        json_decref(body);
    } else {
        j->body = body;
    }
    srv_store_park(r, j);
}

/* The App IDs of the request (items: the batch's array; else body is the one request) that
 * neither fill nor the shared cache holds, into *j (a new fill job). */
static void srv_need_projects(srv_req *r, const srv_job *fill, json_t *body, json_t *items,
                              int64_t now, srv_job **j, bool *oom) {
    if (!items) {
        srv_need_project(r, fill, body, now, j, oom);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) srv_need_project(r, fill, item, now, j, oom);
}

/* A remote store and an App ID the request needs that neither its fill job nor the shared cache
 * holds: parks r with one fill job for all of them (body taken) and returns true. A resumed
 * request parks again only when the cache lost, meanwhile, an App ID it held at the first look
 * (evicted by another worker): the new job then reads every App ID the cache does not hold,
 * those of the old job included, so that the run after it finds them all. */
static bool srv_park_for_projects(srv_req *r, json_t *body, json_t *items, int64_t now) {
    if (!srv_store_remote(r->w))
        return false;
    const srv_job *fill = srv_fill_of(r);
    srv_job *j = NULL;
    bool oom = false;
    srv_need_projects(r, fill, body, items, now, &j, &oom);
    if (fill && j && !oom) {
        srv_job_free(j);
        j = NULL;
        srv_need_projects(r, NULL, body, items, now, &j, &oom);
    }
    if (!j && !oom)
        return false;
    srv_park_fill(r, j, oom, body);
    return true;
}

/* Diagnoses one request object into w->result: true (status 200), or false with an error
 * object in *error and the status it would have alone (400 bad request, 503 store
 * unavailable), or status 0 (no error object, nothing run or logged) when the store is remote
 * and neither the request's fill job nor the shared cache holds its project. */
static bool srv_diagnose_one(srv_req *r, json_t *item, int64_t now, int *status, json_t **error) {
    srv_worker *w = r->w;
    diag_request q;
    char err[256];
    if (!json_is_object(item)) {
        *status = 400;
        *error = diag_error_json("bad_request", "request: must be a JSON object");
        return false;
    }
    if (!diag_request_from_json(item, now, &q, err, sizeof err)) {
        *status = 400;
        *error = diag_error_json("bad_request", err);
        return false;
    }
    const char *key;
    size_t key_len;
    diag_request_project_key(&q, &key, &key_len);
    srv_lookup how;
    const diag_project *p = srv_project_lookup(w, srv_fill_of(r), key, key_len, &how);
    if (how == SRV_LOOKUP_NOT_CACHED) {
        *status = 0; /* to be parked (srv_route_diagnose); nothing was run or logged */
        return false;
    }
    if (how == SRV_LOOKUP_FAILED) {
        *status = 503;
        *error = diag_error_json("store_unavailable", "the project store did not answer; retry");
        return false;
    }
    diag_run(w->td, &q, p, NULL, w->result);
    srv_count(&w->metrics.diagnoses[w->result->verdict][w->result->cause], 1);
    srv_log_diagnosis(w, &q, w->result, now);
    *status = 200;
    return true;
}

/* The diagnosis in w->result appended to w->out as JSON, written directly (no jansson tree:
 * building, dumping and freeing one was a third of the service's CPU per request). */
static bool srv_append_result(srv_worker *w) {
    return diag_result_json_append(&w->out, w->result);
}

static void srv_reply_oom(srv_req *r) {
    srv_reply_json(r, 500, NULL); /* NULL: the fixed out-of-memory answer */
}

static void srv_route_diagnose(srv_req *r) {
    json_t *body;
    if (!srv_rate_admit(r, 1) || !srv_read_json_body(r, &body))
        return;
    srv_cache_check_version(r->w);
    int64_t now = srv_now_s();
    int status;
    json_t *error = NULL;
    bool ok = srv_diagnose_one(r, body, now, &status, &error);
    if (!ok && status == 0) {
        if (srv_park_for_projects(r, body, NULL, now))
            return; /* parsed again only on a miss: a hit parses once */
        /* Another worker's fill put it in the cache between the two looks: run it. */
        ok = srv_diagnose_one(r, body, now, &status, &error);
        if (!ok && status == 0) {
            status = 503;
            error = diag_error_json("store_busy", "the project left the cache meanwhile; retry");
        }
    }
    json_decref(body);
    if (!ok) {
        if (status == 503)
            srv_add_retry_after(r); /* the project store did not answer in time */
        srv_reply_json(r, status, error);
        return;
    }
    const diag_result *res = r->w->result;
    r->log_verdict = diag_verdict_name(res->verdict);
    if (diag_is_hex32(res->app_id, res->app_id_len))
        memcpy(r->log_app_id, res->app_id, sizeof r->log_app_id); /* 32 characters + NUL */
    td_buf_reset(&r->w->out);
    if (!srv_append_result(r->w)) {
        srv_reply_oom(r);
        return;
    }
    srv_reply_raw(r, 200, "application/json", r->w->out.p, r->w->out.len);
}

/* One batch item, written by the one writer of batch items that `diagnose --batch` uses too:
 * {"id", "status": "diagnosed", ...the diagnosis} or {"id", "status", "error"} -- "invalid" for
 * the request's fault (400 alone), "failed" when the store did not answer (503 alone). */
static bool srv_append_batch_item(srv_req *r, json_t *item, int64_t now) {
    td_buf *out = &r->w->out;
    int status;
    json_t *error = NULL;
    json_t *id = json_is_object(item) ? json_object_get(item, "id") : NULL;
    if (srv_diagnose_one(r, item, now, &status, &error))
        return diag_batch_item_add(out, id, r->w->result, false);
    if (status == 0) /* held at the look before the run, evicted by another worker since */
        return diag_batch_error_add(out, id, DIAG_ITEM_FAILED, "store_busy",
                                    "the project left the cache meanwhile; retry");
    json_t *e = json_object_get(error, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *message = json_string_value(json_object_get(e, "message"));
    bool ok = code && message &&
              diag_batch_error_add(out, id, status == 503 ? DIAG_ITEM_FAILED : DIAG_ITEM_INVALID,
                                   code, message);
    json_decref(error);
    return ok;
}

static void srv_route_batch(srv_req *r) {
    json_t *body;
    if (!srv_read_json_body(r, &body))
        return;
    json_t *reqs = json_object_get(body, "requests");
    if (!reqs) {
        json_decref(body);
        srv_reply_error(r, 400, "bad_request", "requests: required (an array of requests)");
        return;
    }
    if (!json_is_array(reqs)) {
        json_decref(body);
        srv_reply_error(r, 400, "bad_request", "requests: must be an array");
        return;
    }
    size_t limit = r->w->server->cfg.batch_limit;
    if (json_array_size(reqs) > limit) {
        char msg[96];
        snprintf(msg, sizeof msg, "requests: at most %zu items per batch (got %zu)", limit,
                 json_array_size(reqs));
        json_decref(body);
        srv_reply_error(r, 413, "batch_too_large", msg);
        return;
    }
    if (!srv_rate_admit(r, json_array_size(reqs))) { /* items, not requests, fill the log */
        json_decref(body);
        return;
    }
    srv_cache_check_version(r->w);
    int64_t now = srv_now_s();
    if (srv_park_for_projects(r, body, reqs, now))
        return;
    td_buf *out = &r->w->out;
    td_buf_reset(out);
    bool ok = td_buf_addz(out, "{\"results\":[");
    size_t i;
    json_t *item;
    json_array_foreach(reqs, i, item) {
        ok = ok && (i == 0 || td_buf_addc(out, ',')) && srv_append_batch_item(r, item, now);
    }
    ok = ok && td_buf_addz(out, "]}");
    json_decref(body);
    if (!ok) {
        srv_reply_oom(r);
        return;
    }
    srv_reply_raw(r, 200, "application/json", out->p, out->len);
}

/* 200 with the decoded token, written directly into the reply buffer (no tree). */
static void srv_reply_token(srv_req *r, const td_token *tok) {
    td_buf *out = &r->w->out;
    td_buf_reset(out);
    if (!diag_token_json_append(out, tok)) {
        srv_reply_oom(r);
        return;
    }
    srv_reply_raw(r, 200, "application/json", out->p, out->len);
}

/* 422 for a token that does not decode, with the hints a diagnosis gives. */
static void srv_reply_undecodable(srv_req *r, const char *token, size_t len, td_status st) {
    srv_reply_json(r, 422, diag_token_error_json(token, len, st));
}

static void srv_route_decode(srv_req *r) {
    json_t *body;
    if (!srv_read_json_body(r, &body))
        return;
    json_t *tok = json_object_get(body, "token");
    if (!tok || !json_is_string(tok)) {
        json_decref(body);
        srv_reply_error(r, 400, "bad_request", tok ? "token: must be a string" : "token: required");
        return;
    }
    const char *text = json_string_value(tok);
    size_t len = json_string_length(tok);
    if (len > TD_TOKEN_TEXT_MAX) {
        json_decref(body);
        srv_reply_error(r, 400, "bad_request", "token: longer than 4096 bytes");
        return;
    }
    td_status st = td_decode(r->w->td, text, len, &r->w->result->token);
    if (st == TD_OK)
        srv_reply_token(r, &r->w->result->token);
    else
        srv_reply_undecodable(r, text, len, st);
    json_decref(body);
}

/* ---- Projects ----------------------------------------------------------------------------------
 *
 * Every route below that reads or writes the store does it in a store call (srv_store_fn): the
 * handler checks its input on the loop and puts what the call needs in a job; the call runs
 * against the handles it is given -- the worker's own in place for a local store, the store
 * thread's for a remote one (srv_store_call, srv_store.c) -- and makes the answer
 * (srv_answer), which the loop sends (srv_reply_answer). A call touches neither the request
 * nor the worker. */

/* Seconds a client is told to wait when the store is busy: the lock holder is another
 * process's transaction or the diagnosis log's batch, which last milliseconds. */
#define SRV_BUSY_RETRY_AFTER "1"

void srv_add_retry_after(srv_req *r) {
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After",
                      SRV_BUSY_RETRY_AFTER);
}

void srv_answer_doc(srv_answer *a, int status, json_t *doc) {
    a->status = status;
    json_decref(a->doc);
    a->doc = doc; /* NULL (out of memory): the fixed 500 */
}

void srv_answer_error(srv_answer *a, int status, const char *code, const char *message) {
    json_decref(a->doc);
    a->doc = NULL;
    a->status = status;
    a->code = code;
    snprintf(a->message, sizeof a->message, "%s", message);
}

/* A failure of fault f (message errmsg): 503 store_busy with Retry-After when the store is busy
 * (a request waits at most TDB_REQUEST_BUSY_MS for a lock), 503 store_unavailable with
 * Retry-After when it cannot be reached (PostgreSQL down or the session lost: transient), 503
 * store_unavailable when the disk is full or the file is gone (nothing is written; /readyz says
 * why), 500 otherwise. */
void srv_answer_fault(srv_answer *a, tdb_fault f, const char *what, const char *errmsg) {
    char msg[320];
    snprintf(msg, sizeof msg, "%s%s%s", what ? what : "", what ? ": " : "", errmsg);
    a->retry_after = f == TDB_FAULT_BUSY || f == TDB_FAULT_UNAVAILABLE;
    if (f == TDB_FAULT_BUSY)
        srv_answer_error(a, 503, "store_busy", msg);
    else if (f == TDB_FAULT_UNAVAILABLE || f == TDB_FAULT_FULL || f == TDB_FAULT_GONE)
        srv_answer_error(a, 503, "store_unavailable", msg);
    else
        srv_answer_error(a, 500, "internal_error", msg);
}

void srv_answer_db_error(srv_answer *a, tdb *db, const char *what) {
    srv_answer_fault(a, tdb_last_fault(db), what, tdb_errmsg(db));
}

static void srv_answer_store_error(srv_answer *a, tdb *db) {
    srv_answer_db_error(a, db, "the store failed");
}

void srv_reply_answer(srv_req *r, srv_answer *a) {
    if (a->changed)
        srv_cache_changed(r->w);
    if (a->retry_after)
        srv_add_retry_after(r);
    if (a->status == 204) {
        srv_reply_raw(r, 204, NULL, NULL, 0);
    } else if (a->doc || !a->code) {
        json_t *doc = a->doc;
        a->doc = NULL;
        srv_reply_json(r, doc ? a->status : 500, doc);
    } else {
        srv_reply_error(r, a->status, a->code, a->message);
    }
}

static void srv_reply_fault(srv_req *r, tdb_fault f, const char *what, const char *errmsg) {
    srv_answer a = {0};
    srv_answer_fault(&a, f, what, errmsg);
    srv_reply_answer(r, &a);
}

static void srv_reply_no_project(srv_req *r) {
    srv_reply_error(r, 404, "not_found", "no project with this App ID");
}

static void srv_answer_no_project(srv_answer *a) {
    srv_answer_error(a, 404, "not_found", "no project with this App ID");
}

/* The actor a change is recorded under: the key's name, or "api" without keys. */
static const char *srv_job_actor(const srv_job *j) {
    return j->r.actor[0] ? j->r.actor : "api";
}

/* A store call for r (fn, the arguments set by the caller), or NULL when out of memory. */
static srv_job *srv_call_new(srv_req *r, srv_store_fn fn) {
    srv_job *j = srv_job_new(r, SRV_JOB_CALL);
    if (j)
        j->fn = fn;
    return j;
}

/* GET /v1/projects: one page, ordered by App ID (?limit=1..TDB_PAGE_MAX, default
 * SRV_PAGE_DEFAULT; ?after=APP_ID). "next" is the App ID to pass as after for the next page, null
 * on the last: a client that reads only "projects" sees the first page, as it saw everything
 * while there were fewer projects than the default. */
#define SRV_PAGE_DEFAULT 1000

static bool srv_query_limit(srv_req *r, int def, int max, int *limit);
static bool srv_query_app_id(srv_req *r, const char *name, char out[TD_CERT_LEN + 1]);

static void srv_call_projects(const srv_store_ctx *c, srv_job *j) {
    diag_project_shown *list = NULL;
    size_t count = 0;
    bool more = false;
    if (tdb_project_page(c->db, j->after, (size_t)j->limit, &list, &count, &more) != TDB_OK) {
        srv_answer_store_error(&j->answer, c->db);
        return;
    }
    json_t *next = more && count > 0 ? json_string(list[count - 1].app_id) : json_null();
    json_t *doc =
        json_pack("{s:o,s:o}", "projects", diag_project_list_to_json(list, count), "next", next);
    free(list);
    srv_answer_doc(&j->answer, 200, doc);
}

static void srv_route_projects(srv_req *r) {
    int limit;
    char after[TD_CERT_LEN + 1] = "";
    if (!srv_query_limit(r, SRV_PAGE_DEFAULT, TDB_PAGE_MAX, &limit)) {
        char msg[64];
        snprintf(msg, sizeof msg, "limit: must be an integer in 1..%d", TDB_PAGE_MAX);
        srv_reply_error(r, 400, "bad_request", msg);
        return;
    }
    if (!srv_query_app_id(r, "after", after)) {
        srv_reply_error(r, 400, "bad_request", "after: must be an App ID (32 hex characters)");
        return;
    }
    srv_job *j = srv_call_new(r, srv_call_projects);
    if (j) {
        j->limit = limit;
        memcpy(j->after, after, sizeof after);
    }
    srv_store_call(r, j);
}

/* ?NAME=true|false (absent: false) into *out; false when it is anything else. */
static bool srv_query_bool(srv_req *r, const char *name, bool *out) {
    *out = false;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (r->query && evhttp_parse_query_str(r->query, &q) != 0)
        return false;
    const char *v = evhttp_find_header(&q, name);
    bool ok = !v || strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
    *out = v && strcmp(v, "true") == 0;
    evhttp_clear_headers(&q);
    return ok;
}

static bool srv_is_import_type(const char *ct) {
    static const char *const types[] = {"application/x-ndjson", "application/jsonl",
                                        "application/json"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return true;
    }
    return false;
}

/* The import (tdb_import) of the body's copy in j->text. A completed import is 200 with the
 * summary (diag_import_summary_to_json, as `project import --json` prints it); an import that
 * stopped changed nothing: 400 for the input's fault, else the store's error. */
static void srv_call_import(const srv_store_ctx *c, srv_job *j) {
    tdb_import_options o = {.parse = diag_project_from_json,
                            .actor = srv_job_actor(j),
                            .continue_on_error = j->continue_on_error,
                            .dry_run = j->dry_run};
    FILE *f = fmemopen(j->text, j->text_len, "r");
    diag_import_summary *s = f ? malloc(sizeof *s) : NULL;
    if (!s) {
        srv_answer_error(&j->answer, 500, "internal_error", "out of memory");
    } else {
        tdb_status st = tdb_import(c->db, f, &o, s);
        if (st == TDB_OK && !o.dry_run && s->created + s->replaced > 0)
            j->answer.changed = true;
        if (st == TDB_INVALID || st == TDB_DECRYPT)
            srv_answer_error(&j->answer, 400, "bad_request", tdb_errmsg(c->db));
        else if (st != TDB_OK)
            srv_answer_store_error(&j->answer, c->db);
        else
            srv_answer_doc(&j->answer, 200, diag_import_summary_to_json(s));
    }
    free(s);
    if (f)
        fclose(f);
}

/* POST /v1/projects:import: JSON lines (or a JSON array) of configurations, the rules of
 * `project import` (tdb_import): all-or-nothing unless ?continue_on_error=true, ?dry_run=true.
 * evhttp reads a body whole before the handler runs, so the route cannot stream; its limit is
 * SRV_IMPORT_BODY_FACTOR x --body-limit (512 KiB by default, some 2,000 configurations with
 * certificates), below evhttp's hard limit so that an oversized import still gets the JSON 413.
 * Larger sets go in several requests, or through `tokendoctor project import` on the host. The
 * import holds the store's handle for its time (a few thousand configurations a second): the
 * worker's loop with a local store, its store thread with a remote one. */
#define SRV_IMPORT_BODY_FACTOR 8

static void srv_route_import(srv_req *r) {
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    bool continue_on_error, dry_run;
    if (ct && !srv_is_import_type(ct)) {
        srv_reply_error(r, 415, "unsupported_media_type",
                        "Content-Type must be application/x-ndjson (JSON lines) or "
                        "application/json");
        return;
    }
    if (!srv_query_bool(r, "continue_on_error", &continue_on_error) ||
        !srv_query_bool(r, "dry_run", &dry_run)) {
        srv_reply_error(r, 400, "bad_request", "continue_on_error, dry_run: must be true or false");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    size_t limit = r->w->server->cfg.body_limit * SRV_IMPORT_BODY_FACTOR;
    if (len > limit) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "request body over %zu bytes: import in several requests, or with tokendoctor "
                 "project import",
                 limit);
        srv_reply_error(r, 413, "payload_too_large", msg);
        return;
    }
    if (!len) {
        srv_reply_error(r, 400, "bad_request", "body: required (JSON lines of configurations)");
        return;
    }
    /* The call reads its own copy: the request's buffer is evhttp's, on this thread. */
    char *text = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
    srv_job *j = text ? srv_call_new(r, srv_call_import) : NULL;
    if (j && (j->text = malloc(len)) != NULL) {
        memcpy(j->text, text, len);
        j->text_len = len;
        j->continue_on_error = continue_on_error;
        j->dry_run = dry_run;
    } else {
        srv_job_free(j);
        j = NULL;
    }
    if (text)
        explicit_bzero(text, len); /* certificates */
    srv_store_call(r, j);
}

static void srv_call_project_get(const srv_store_ctx *c, srv_job *j) {
    diag_project_shown shown;
    tdb_status st = tdb_project_show(c->db, j->r.app_id, &shown);
    if (st == TDB_NOT_FOUND)
        srv_answer_no_project(&j->answer);
    else if (st != TDB_OK)
        srv_answer_store_error(&j->answer, c->db);
    else
        srv_answer_doc(&j->answer, 200, diag_project_shown_to_json(&shown));
}

static void srv_call_project_put(const srv_store_ctx *c, srv_job *j) {
    bool created = false;
    tdb_status st = tdb_project_put(c->db, &j->project, srv_job_actor(j), &created);
    if (st == TDB_INVALID) {
        srv_answer_error(&j->answer, 400, "bad_request", tdb_errmsg(c->db));
        return;
    }
    if (st != TDB_OK) {
        srv_answer_store_error(&j->answer, c->db);
        return;
    }
    j->answer.changed = true;
    diag_project_shown shown;
    if (tdb_project_show(c->db, j->r.app_id, &shown) != TDB_OK) {
        srv_answer_store_error(&j->answer, c->db);
        return;
    }
    srv_answer_doc(&j->answer, created ? 201 : 200, diag_project_shown_to_json(&shown));
}

static void srv_project_put(srv_req *r) {
    json_t *body;
    if (!srv_read_json_body(r, &body))
        return;
    if (!json_object_get(body, "app_id"))
        json_object_set_new(body, "app_id", json_string(r->app_id));
    srv_job *j = srv_call_new(r, srv_call_project_put);
    diag_project scratch;
    diag_project *p = j ? &j->project : &scratch;
    char err[256];
    bool ok = diag_project_from_json(body, p, err, sizeof err);
    json_decref(body);
    if (!ok || strcmp(p->app_id, r->app_id) != 0) {
        srv_job_free(j);
        explicit_bzero(&scratch, sizeof scratch);
        srv_reply_error(r, 400, "bad_request",
                        ok ? "app_id: differs from the App ID in the path" : err);
        return;
    }
    explicit_bzero(&scratch, sizeof scratch);
    srv_store_call(r, j);
}

static void srv_call_project_delete(const srv_store_ctx *c, srv_job *j) {
    tdb_status st = tdb_project_delete(c->db, j->r.app_id, srv_job_actor(j));
    if (st == TDB_NOT_FOUND) {
        srv_answer_no_project(&j->answer);
        return;
    }
    if (st != TDB_OK) {
        srv_answer_store_error(&j->answer, c->db);
        return;
    }
    j->answer.changed = true;
    j->answer.status = 204;
}

static void srv_route_project(srv_req *r) {
    if (!r->app_id[0]) {
        if (r->method == EVHTTP_REQ_PUT)
            srv_reply_error(r, 400, "bad_request", "app_id: must be 32 hex characters");
        else
            srv_reply_no_project(r);
        return;
    }
    switch (r->method) {
    case EVHTTP_REQ_PUT:
        srv_project_put(r);
        break;
    case EVHTTP_REQ_DELETE:
        srv_store_call(r, srv_call_new(r, srv_call_project_delete));
        break;
    default:
        srv_store_call(r, srv_call_new(r, srv_call_project_get));
    }
}

static void srv_call_history(const srv_store_ctx *c, srv_job *j) {
    diag_project_change *log = NULL;
    size_t count = 0;
    tdb_status st = tdb_project_history(c->db, j->r.app_id, &log, &count);
    if (st == TDB_NOT_FOUND)
        srv_answer_error(&j->answer, 404, "not_found", "no configuration history for this App ID");
    else if (st != TDB_OK)
        srv_answer_store_error(&j->answer, c->db);
    else
        srv_answer_doc(&j->answer, 200,
                       json_pack("{s:s,s:o}", "app_id", j->r.app_id, "history",
                                 diag_project_history_to_json(log, count)));
    free(log);
}

static void srv_route_history(srv_req *r) {
    if (!r->app_id[0]) {
        srv_reply_error(r, 404, "not_found", "no configuration history for this App ID");
        return;
    }
    srv_store_call(r, srv_call_new(r, srv_call_history));
}

/* ?limit=N, 1..max, default def. */
static bool srv_query_limit(srv_req *r, int def, int max, int *limit) {
    *limit = def;
    if (!r->query || !*r->query)
        return true;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(r->query, &q) != 0)
        return false;
    const char *v = evhttp_find_header(&q, "limit");
    bool ok = true;
    if (v) {
        char *end;
        long n = strtol(v, &end, 10);
        ok = *v >= '0' && *v <= '9' && *end == '\0' && n >= 1 && n <= max;
        *limit = (int)n;
    }
    evhttp_clear_headers(&q);
    return ok;
}

/* ?NAME=APP_ID (absent: out stays as it is) into out; false when it is not 32 hex characters. */
static bool srv_query_app_id(srv_req *r, const char *name, char out[TD_CERT_LEN + 1]) {
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (r->query && evhttp_parse_query_str(r->query, &q) != 0)
        return false;
    const char *v = evhttp_find_header(&q, name);
    bool ok = !v || diag_is_hex32(v, strlen(v));
    if (v && ok)
        memcpy(out, v, TD_CERT_LEN + 1);
    evhttp_clear_headers(&q);
    return ok;
}

static void srv_call_diagnoses(const srv_store_ctx *c, srv_job *j) {
    /* Read your own diagnoses -- but never wait long for the writer (it may be waiting for a
     * lock): what it has not committed by then is left out. */
    if (c->log)
        tdb_log_flush_for(c->log, SRV_LOG_FLUSH_WAIT_MS);
    tdb_log_entry *list;
    size_t n;
    if (tdb_diagnoses_recent(c->log_db, j->r.app_id, j->limit, &list, &n) != TDB_OK) {
        srv_answer_db_error(&j->answer, c->log_db, "the diagnosis log failed");
        return;
    }
    json_t *doc = diag_log_list_to_json(list, n);
    free(list);
    srv_answer_doc(&j->answer, 200,
                   json_pack("{s:s,s:o}", "app_id", j->r.app_id, "diagnoses", doc));
}

static void srv_route_diagnoses(srv_req *r) {
    /* A path that cannot name an App ID is 404 first, whatever the query: as for the project
     * and its history. */
    if (!r->app_id[0]) {
        srv_reply_error(r, 404, "not_found", "no diagnoses for this App ID");
        return;
    }
    int limit;
    if (!srv_query_limit(r, 100, 1000, &limit)) {
        srv_reply_error(r, 400, "bad_request", "limit: must be an integer in 1..1000");
        return;
    }
    srv_job *j = srv_call_new(r, srv_call_diagnoses);
    if (j)
        j->limit = limit;
    srv_store_call(r, j);
}

static void srv_route_tokens(srv_req *r) {
    json_t *body;
    if (!srv_read_json_body(r, &body))
        return;
    srv_cache_check_version(r->w);
    json_t *app = json_object_get(body, "app_id");
    if (json_is_string(app) && diag_is_hex32(json_string_value(app), json_string_length(app)))
        srv_copy_trunc(r->log_app_id, sizeof r->log_app_id, json_string_value(app), TD_CERT_LEN);
    if (srv_store_remote(r->w) && !srv_fill_of(r) && json_is_string(app)) {
        srv_job *j = NULL;
        bool oom = false;
        srv_need_app_id(r, NULL, json_string_value(app), json_string_length(app), &j, &oom);
        if (j || oom) {
            srv_park_fill(r, j, oom, body);
            return;
        }
    }
    json_t *out;
    char err[256];
    const char *code;
    int status = srv_mint(r->w, srv_fill_of(r), body, &out, err, sizeof err, &code);
    json_decref(body);
    if (status == 200)
        srv_reply_json(r, 200, out);
    else
        srv_reply_error(r, status, code, err);
}

/* ---- Probes, metrics, catalog, web page -------------------------------------------------------
 */

static void srv_route_healthz(srv_req *r) {
    static const char ok[] = "{\"status\":\"ok\"}";
    srv_reply_raw(r, 200, "application/json", ok, sizeof ok - 1);
}

/* The diagnosis log's state as /readyz details it. */
static json_t *srv_log_detail(const tdb_log_stats *st, const tdb_log_health *h) {
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I}", "dropped", (json_int_t)st->dropped,
                     "dropped_at_bound", (json_int_t)h->dropped_bound, "dropped_write_failed",
                     (json_int_t)h->dropped_failed, "dropped_queue_full",
                     (json_int_t)h->dropped_queue, "recovered", (json_int_t)h->recovered,
                     "at_bound", h->at_bound, "max_rows", (json_int_t)h->max_rows, "max_mb",
                     (json_int_t)h->max_mb);
}

/* Ready: the log runs, the store answers with the current schema (on PostgreSQL: as its
 * watcher last saw it, and a lost session is reconnected: a store call), the log writes. */
static void srv_call_readyz(const srv_store_ctx *c, srv_job *j) {
    char reason[256];
    srv_answer *a = &j->answer;
    if (!c->log) {
        srv_answer_error(a, 503, "not_ready", "the diagnosis log is not running");
        return;
    }
    if (!tdb_ready(c->db, reason, sizeof reason) || !tdb_ready(c->log_db, reason, sizeof reason)) {
        srv_answer_error(a, 503, "not_ready", reason);
        return;
    }
    tdb_log_stats st;
    tdb_log_health h;
    tdb_log_snapshot(c->log, &st, &h);
    if (h.fault == TDB_FAULT_UNAVAILABLE) { /* nothing lost yet: the queue is kept */
        snprintf(reason, sizeof reason,
                 "the diagnosis log cannot write: %s (%zu entries queued until it is back)",
                 tdb_fault_text(h.fault), st.depth);
        srv_answer_error(a, 503, "not_ready", reason);
        return;
    }
    if (h.fault != TDB_FAULT_NONE) {
        snprintf(reason, sizeof reason,
                 "the diagnosis log cannot write: %s (%llu entries not logged so far)",
                 tdb_fault_text(h.fault), (unsigned long long)h.dropped_failed);
        srv_answer_error(a, 503, "not_ready", reason);
        return;
    }
    srv_answer_doc(a, 200,
                   json_pack("{s:s,s:i,s:o}", "status", "ready", "schema_version",
                             tdb_schema_version(c->db), "diagnosis_log", srv_log_detail(&st, &h)));
}

static void srv_route_readyz(srv_req *r) {
    srv_store_call(r, srv_call_new(r, srv_call_readyz));
}

static void srv_route_metrics(srv_req *r) {
    size_t len;
    char *text = srv_metrics_render(r->w->server, &len);
    if (!text) {
        srv_reply_error(r, 500, "internal_error", "out of memory");
        return;
    }
    srv_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* The document that describes this service, as it was built (docs/openapi.yaml). */
static void srv_route_openapi(srv_req *r) {
    const char *body;
    size_t len;
    srv_openapi_doc(&body, &len);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Cache-Control", "no-cache");
    srv_reply_raw(r, 200, "application/yaml", body, len);
}

static void srv_route_errors(srv_req *r) {
    srv_reply_raw(r, 200, "application/json", r->w->errors_json, r->w->errors_len);
}

/* The last report of every probe (serve --probe): admin only, as it names the token
 * servers and what is wrong with them. */
static void srv_route_probes(srv_req *r) {
    srv_reply_json(r, 200, srv_probes_json(r->w->server));
}

static void srv_route_assets(srv_req *r) {
#ifdef SRV_HAVE_ASSETS
    const char *body, *type;
    size_t len;
    const char *path = strcmp(r->path, "/index.html") == 0 ? "/" : r->path;
    if (srv_asset_lookup(path, &body, &len, &type)) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
        evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'");
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        evhttp_add_header(h, "X-Frame-Options", "DENY");
        evhttp_add_header(h, "Referrer-Policy", "no-referrer");
        evhttp_add_header(h, "Cache-Control",
                          strcmp(path, "/") == 0 ? "no-cache" : "public, max-age=300");
        srv_reply_raw(r, 200, type, body, len);
        return;
    }
#endif
    srv_reply_error(r, 404, "not_found", "no such page");
}

/* ---- The route table ---------------------------------------------------------------------- */

#define GET_HEAD (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)
#define POST EVHTTP_REQ_POST
#define PUT_DELETE (EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE)

typedef struct {
    /* The path template, matched by srv_path_match; it is also the route's name in the metrics
     * and the access log, so it never holds a space (a plain Prometheus label value). */
    const char *path;
    unsigned methods;  /* EVHTTP_REQ_* bits; any other method is 405 */
    srv_access access; /* of the methods not in write */
    unsigned write;    /* the methods that change something: they need an admin key */
    void (*handler)(srv_req *r);
    const char *also[2]; /* more patterns answered by the route, or NULL */
} srv_route_row;

/* One row per route, in the order of the enum (who may call what: see the top of the file). */
static const srv_route_row srv_routes[] = {
    [SRV_ROUTE_DIAGNOSE] =
        {"/v1/diagnose", POST, SRV_ACCESS_OPEN, 0, srv_route_diagnose, {NULL, NULL}},
    [SRV_ROUTE_BATCH] =
        {"/v1/diagnose/batch", POST, SRV_ACCESS_OPEN, 0, srv_route_batch, {NULL, NULL}},
    [SRV_ROUTE_DECODE] = {"/v1/decode", POST, SRV_ACCESS_OPEN, 0, srv_route_decode, {NULL, NULL}},
    [SRV_ROUTE_ERRORS] =
        {"/v1/errors", GET_HEAD, SRV_ACCESS_OPEN, 0, srv_route_errors, {NULL, NULL}},
    [SRV_ROUTE_PROJECTS] =
        {"/v1/projects", GET_HEAD, SRV_ACCESS_READ, 0, srv_route_projects, {NULL, NULL}},
    [SRV_ROUTE_IMPORT] =
        {"/v1/projects:import", POST, SRV_ACCESS_WRITE, POST, srv_route_import, {NULL, NULL}},
    [SRV_ROUTE_PROJECT] = {"/v1/projects/{app_id}",
                           GET_HEAD | PUT_DELETE,
                           SRV_ACCESS_READ,
                           PUT_DELETE,
                           srv_route_project,
                           {NULL, NULL}},
    [SRV_ROUTE_HISTORY] = {"/v1/projects/{app_id}/history",
                           GET_HEAD,
                           SRV_ACCESS_READ,
                           0,
                           srv_route_history,
                           {NULL, NULL}},
    [SRV_ROUTE_DIAGNOSES] = {"/v1/projects/{app_id}/diagnoses",
                             GET_HEAD,
                             SRV_ACCESS_READ,
                             0,
                             srv_route_diagnoses,
                             {NULL, NULL}},
    [SRV_ROUTE_TOKENS] = {"/v1/tokens", POST, SRV_ACCESS_WRITE, 0, srv_route_tokens, {NULL, NULL}},
    [SRV_ROUTE_HEALTHZ] =
        {"/healthz", GET_HEAD, SRV_ACCESS_PROBE, 0, srv_route_healthz, {NULL, NULL}},
    [SRV_ROUTE_READYZ] = {"/readyz", GET_HEAD, SRV_ACCESS_PROBE, 0, srv_route_readyz, {NULL, NULL}},
    [SRV_ROUTE_METRICS] =
        {"/metrics", GET_HEAD, SRV_ACCESS_PROBE, 0, srv_route_metrics, {NULL, NULL}},
    [SRV_ROUTE_OPENAPI] =
        {"/openapi.yaml", GET_HEAD, SRV_ACCESS_PROBE, 0, srv_route_openapi, {NULL, NULL}},
    [SRV_ROUTE_ASSETS] =
        {"/", GET_HEAD, SRV_ACCESS_PROBE, 0, srv_route_assets, {"/index.html", "/assets/*"}},
    [SRV_ROUTE_PROBES] =
        {"/v1/probes", GET_HEAD, SRV_ACCESS_WRITE, 0, srv_route_probes, {NULL, NULL}},
};
_Static_assert(sizeof srv_routes / sizeof srv_routes[0] == SRV_ROUTE_UNKNOWN, "one row per route");

const char *srv_route_name(srv_route r) {
    return r < SRV_ROUTE_UNKNOWN ? srv_routes[r].path : "unknown";
}

/* ---- Dispatch ----------------------------------------------------------------------------- */

static srv_route srv_match(srv_req *r) {
    for (srv_route i = 0; i < SRV_ROUTE_UNKNOWN; i++) {
        const srv_route_row *row = &srv_routes[i];
        if (srv_path_match(r, row->path, r->path))
            return i;
        for (size_t k = 0; k < sizeof row->also / sizeof row->also[0] && row->also[k]; k++)
            if (srv_path_match(r, row->also[k], r->path))
                return i;
    }
    return SRV_ROUTE_UNKNOWN;
}

/* The methods of a row as Allow lists them ("GET, HEAD, PUT, DELETE"), into buf. */
static const char *srv_allow(const srv_route_row *row, char *buf, size_t cap) {
    static const enum evhttp_cmd_type order[] = {
        EVHTTP_REQ_GET,   EVHTTP_REQ_HEAD,    EVHTTP_REQ_POST,
        EVHTTP_REQ_PUT,   EVHTTP_REQ_DELETE,  EVHTTP_REQ_OPTIONS,
        EVHTTP_REQ_TRACE, EVHTTP_REQ_CONNECT, EVHTTP_REQ_PATCH};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!(row->methods & order[i]))
            continue;
        int n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", srv_method_name(order[i]));
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    return buf;
}

void srv_resume(srv_req *r) {
    if (r->job->kind == SRV_JOB_CALL)
        srv_reply_answer(r, &r->job->answer);
    else
        srv_handle(r); /* again: the lookup or key check it parked for is answered now */
}

void srv_handle(srv_req *r) {
    r->route = srv_match(r);
    if (r->route == SRV_ROUTE_UNKNOWN) {
        srv_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    const srv_route_row *row = &srv_routes[r->route];
    if (!(row->methods & r->method)) {
        char allow[64], msg[sizeof allow + 48]; /* the allowed list always fits */
        srv_allow(row, allow, sizeof allow);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
        snprintf(msg, sizeof msg, "method not allowed here; allowed: %s", allow);
        srv_reply_error(r, 405, "method_not_allowed", msg);
        return;
    }
    if (!srv_authorize(r, (row->write & r->method) ? SRV_ACCESS_WRITE : row->access))
        return;
    row->handler(r);
}

/* srv_store.c -- the store thread: a worker's calls to a remote store, off its event loop.
 *
 * What. When the store is PostgreSQL (tdb_is_remote), every call that can reach the network
 * is made by a thread beside the worker, never by the worker's event loop (issue 18: "nothing
 * blocks an event loop on the network"). A handler that needs such a call parks its request:
 * it puts a job (srv_job: a copy of the srv_req, the parsed body, and what to do) on the store
 * thread's queue and returns without answering. The store thread makes the call and puts the
 * job on the done list, then wakes the worker's loop (event_active on wake_ev, an event of the
 * worker's base: libevent's pthread locking is on, srv_main.c). The loop then takes the job
 * back and answers (srv_resume): every evhttp call stays on the loop's thread. Three kinds:
 *
 *  - fill: the App IDs of a diagnosis, a batch (all its missing App IDs in one job) or a token
 *    that the worker does not know to be cached are read into the shared project cache
 *    (db_cache.c; unknown App IDs are kept too). The loop then runs the route again: the
 *    lookups of that run take the job's answers (srv_project_lookup), so it never asks the
 *    store itself, and a failed read is the route's usual 503 store_unavailable;
 *  - key: an API key the key cache does not hold is verified; the loop keeps the answer in
 *    its key cache and runs the route again;
 *  - call: an admin or read route's store work (srv_store_fn: projects, import, a project,
 *    history, diagnoses, readyz), run against the store thread's handles; it builds the
 *    answer (status and document, or an error), and the loop sends it and does what follows
 *    (srv_cache_changed after a write).
 *
 * Why a thread per worker and not a pool: each worker's jobs stay in order on one connection,
 * the queue and its wake-up have one producer and one consumer, and a stalled call holds up
 * one worker's parked requests, never the loop. It costs a connection and its watcher's per
 * worker, less the worker's own connection, given back once the thread runs (docs/deployment.md:
 * 3 x threads + 2 a node). A shared pool would save connections
 * but needs a lock every worker contends on and a way back to each worker anyway, and one
 * stalled call would hold up every worker's misses.
 *
 * A hit without asking. On a remote store the loop looks only into the shared cache
 * (tdb_project_cache_peek, which never reads the store): what it does not hold parks. A route
 * first collects every App ID it will need that neither the cache nor its fill job holds, and
 * parks once for all of them; the run after the fill takes them from the job. An App ID the
 * cache held at that look can still be evicted by another worker before the lookup a moment
 * later: a single diagnosis then parks (nothing was run or logged yet), a batch item answers
 * "failed" with store_busy and a token 503 store_busy -- both rare, and retried by the client --
 * and a resumed request that finds such a loss at its first look parks again, its new job
 * reading every App ID the cache does not hold. The loop never waits on the network.
 *
 * SQLite stays synchronous: a local file is not the network, a hit costs no call either way,
 * and a handoff per miss would cost the million-project benchmark some 10 us per request.
 * Without a remote store there is no store thread, and srv_store_call runs the call in place.
 *
 * Ownership and threads. srv_store belongs to its worker: made by srv_store_init (worker
 * set-up), stopped by srv_store_stop on the worker's thread once its loop ends, freed by
 * srv_store_free. The store thread owns its handles: db (and log_db when --log-db names
 * another store), opened for it, used by no other thread (tdb handles are not thread-safe;
 * the worker's own handles then only give the configuration version, which on PostgreSQL a
 * watcher thread publishes without the network), and a handle of its own on the shared project
 * cache. queue and done are under lock; parked and wake_ev belong to the
 * loop. A job belongs to the loop until parked, to the store thread until it is on done, then
 * to the loop again, which frees it.
 *
 * Bounds. The store thread's calls keep the request threads' bounds (busy timeout
 * TDB_REQUEST_BUSY_MS, hence a statement timeout of 2 s and at most 3 s waited for an answer,
 * and no connection attempt while the store's watcher cannot reach the server). A job that
 * waited SRV_STORE_WAIT_MS in the queue is failed without a call, so a stalled server does not
 * make the queue's later jobs wait call after call; each parked request is answered within
 * about that bound (503 store_unavailable with Retry-After when its job failed). At most
 * SRV_STORE_QUEUE_MAX requests are parked per worker; more are 503 store_busy with
 * Retry-After.
 *
 * A parked request's connection. The request stays on its connection until the loop answers
 * it (evhttp frees it then, or with its connection). libevent 2.1.12's evhttp_handle_request
 * turns the connection's reading off before it calls the handler, and evhttp turns it on again
 * only when the answer is sent (evhttp_write_buffer: then without a read callback, to notice a
 * close), so while a request is parked its connection reads nothing: no pipelined bytes
 * (evhttp_read_cb would exit the process on bytes read in EVCON_WRITING, the state of a
 * request not answered yet), and no end of file either. A client that closes meanwhile is
 * seen once the answer is sent: the write fails (or the close is read) and evhttp frees the
 * connection and the request then. The request is therefore never detached from a live
 * connection (evhttp_connection_incoming_fail sets req->evcon = NULL only on a read's end of
 * file or timeout); were it detached, evhttp_send_reply would free it, and srv_reply_raw
 * counts and logs an answer before sending it, so nothing reads the request afterwards.
 * srv_conn.c's deadline is not running (srv_conn_request_done stopped it when the handler got
 * the request), and its connection state is freed by evhttp's close callback only.
 *
 * Shutdown. While requests are parked the worker does not count as quiet (srv_on_tick). When
 * its loop ends, srv_store_stop stops the thread (queued jobs fail at once: 503
 * store_unavailable; a running call ends within its bound), answers every job that came
 * back, and runs the loop a little longer so that the answers are written before evhttp_free.
 */
#include "srv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct srv_store {
    srv_worker *w;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool lock_made;
    /* under lock */
    srv_job *queue, *queue_tail;
    srv_job *done, *done_tail;
    bool stop;
    /* the store thread's */
    tdb *db, *log_db;
    tdb_project_cache *projects;
    /* the loop's */
    struct event *wake_ev;
    size_t parked;
    bool stopped;
};

/* ---- Jobs --------------------------------------------------------------------------------- */

srv_job *srv_job_new(srv_req *r, srv_job_kind kind) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    j->r = *r;
    j->r.job = NULL; /* the job r may be resuming is freed when that run returns */
    j->parked_us = srv_now_us();
    return j;
}

void srv_job_free(srv_job *j) {
    if (!j)
        return;
    json_decref(j->body);
    json_decref(j->answer.doc);
    if (j->items) {
        explicit_bzero(j->items, j->items_cap * sizeof *j->items); /* certificates */
        free(j->items);
    }
    if (j->key) {
        explicit_bzero(j->key, j->key_len);
        free(j->key);
    }
    if (j->text) {
        explicit_bzero(j->text, j->text_len);
        free(j->text);
    }
    explicit_bzero(j, sizeof *j); /* the project, the name */
    free(j);
}

bool srv_job_add_app_id(srv_job *j, const char *app_id) {
    for (size_t i = 0; i < j->nitems; i++)
        if (memcmp(j->items[i].app_id, app_id, TD_CERT_LEN) == 0)
            return true;
    if (j->nitems == j->items_cap) {
        size_t cap = j->items_cap ? 2 * j->items_cap : 4;
        srv_fill_item *p = calloc(cap, sizeof *p);
        if (!p)
            return false;
        if (j->items) {
            memcpy(p, j->items, j->nitems * sizeof *p);
            explicit_bzero(j->items, j->items_cap * sizeof *j->items);
            free(j->items);
        }
        j->items = p;
        j->items_cap = cap;
    }
    srv_fill_item *it = &j->items[j->nitems++];
    memcpy(it->app_id, app_id, TD_CERT_LEN);
    it->app_id[TD_CERT_LEN] = '\0';
    return true;
}

/* ---- The store thread -------------------------------------------------------------------- */

/* Appends j to the list head..tail (the queue or done; under the lock). */
static void srv_job_append(srv_job **head, srv_job **tail, srv_job *j) {
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void srv_job_fail(srv_job *j, tdb_fault fault, const char *message) {
    j->failed = true;
    j->fault = fault;
    snprintf(j->message, sizeof j->message, "%s", message);
    for (size_t i = 0; i < j->nitems; i++)
        j->items[i].st = TDB_ERROR;
    if (j->kind == SRV_JOB_KEY)
        j->role = TDB_ROLE_ERROR;
    if (j->kind == SRV_JOB_CALL)
        srv_answer_fault(&j->answer, fault, NULL, message);
}

/* A fill or key check that failed on db: its fault and message, for the run that resumes. */
static void srv_job_failed_on(srv_job *j, tdb *db) {
    j->failed = true;
    j->fault = tdb_last_fault(db);
    snprintf(j->message, sizeof j->message, "%s", tdb_errmsg(db));
}

/* No sync of the store thread's cache handle here: only the workers' loops empty the shared
 * cache when the version moves (a read from the store is never older than their version), so
 * this thread never empties it under a loop that has not seen the new version yet. */
static void srv_store_fill(srv_store *s, srv_job *j) {
    for (size_t i = 0; i < j->nitems; i++) {
        srv_fill_item *it = &j->items[i];
        const diag_project *p;
        bool hit = false;
        it->st = tdb_project_cache_get(s->projects, s->db, it->app_id, &p, &hit);
        if (it->st != TDB_OK) {
            /* The rest fail with it, without a call each: a batch's thousand App IDs must not
             * wait for a stalled server a thousand times. */
            srv_job_failed_on(j, s->db);
            for (size_t k = i + 1; k < j->nitems; k++)
                j->items[k].st = TDB_ERROR;
            return;
        }
        it->has_project = p != NULL;
        if (p)
            it->project = *p;
    }
}

static void srv_store_run(srv_store *s, srv_job *j) {
    srv_store_ctx c = {s->db, s->log_db, s->w->server->log};
    switch (j->kind) {
    case SRV_JOB_FILL:
        srv_store_fill(s, j);
        break;
    case SRV_JOB_KEY:
        j->role = tdb_apikey_verify(s->db, j->key, j->key_len, j->name, sizeof j->name);
        if (j->role == TDB_ROLE_ERROR)
            srv_job_failed_on(j, s->db);
        break;
    case SRV_JOB_CALL:
        j->fn(&c, j);
        break;
    }
}

static void *srv_store_main(void *arg) {
    srv_store *s = arg;
    /* The one sync starts the handle's version watcher: from then on a call made while the
     * server cannot be reached fails at once instead of trying to connect (db_pg.c). */
    tdb_project_cache_sync(s->projects, s->db);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queue && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        srv_job *j = s->queue;
        if (!j)
            break; /* stopped, and nothing left */
        s->queue = j->next;
        if (!s->queue)
            s->queue_tail = NULL;
        bool stop = s->stop;
        pthread_mutex_unlock(&s->lock);

        int64_t waited_ms = (srv_now_us() - j->parked_us) / 1000;
        if (stop)
            srv_job_fail(j, TDB_FAULT_UNAVAILABLE, "the service is shutting down; retry");
        else if (waited_ms >= SRV_STORE_WAIT_MS)
            srv_job_fail(j, TDB_FAULT_UNAVAILABLE,
                         "the store did not answer in time (the request waited for earlier "
                         "ones); retry");
        else
            srv_store_run(s, j);

        pthread_mutex_lock(&s->lock);
        srv_job_append(&s->done, &s->done_tail, j);
        event_active(s->wake_ev, EV_READ, 0); /* thread-safe: libevent's locking is on */
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- Back on the loop --------------------------------------------------------------------- */

static void srv_store_answer(srv_store *s, srv_job *j) {
    srv_worker *w = s->w;
    s->parked--;
    if (j->kind == SRV_JOB_KEY)
        srv_key_remember(w, j->key, j->key_len, j->role, j->name);
    srv_req r = j->r;
    r.job = j;
    w->last_activity_us = srv_now_us();
    srv_resume(&r);
    srv_job_free(j);
}

/* Answers every job that is back; true when there was one. */
static bool srv_store_answer_all(srv_store *s) {
    pthread_mutex_lock(&s->lock);
    srv_job *j = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    bool any = j != NULL;
    while (j) {
        srv_job *next = j->next;
        srv_store_answer(s, j);
        j = next;
    }
    return any;
}

static void srv_store_on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    srv_store_answer_all(arg);
}

/* ---- Parking ------------------------------------------------------------------------------ */

void srv_store_park(srv_req *r, srv_job *j) {
    srv_store *s = r->w->store;
    if (!j) {
        srv_reply_json(r, 500, NULL); /* out of memory */
        return;
    }
    if (s->stopped) {
        srv_job_free(j);
        srv_add_retry_after(r);
        srv_reply_error(r, 503, "store_unavailable", "the service is shutting down; retry");
        return;
    }
    if (s->parked >= SRV_STORE_QUEUE_MAX) {
        srv_job_free(j);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%d requests of this worker are waiting for the store already; retry",
                 SRV_STORE_QUEUE_MAX);
        srv_add_retry_after(r);
        srv_reply_error(r, 503, "store_busy", msg);
        return;
    }
    j->parked_us = srv_now_us();
    s->parked++;
    pthread_mutex_lock(&s->lock);
    srv_job_append(&s->queue, &s->queue_tail, j);
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void srv_store_call(srv_req *r, srv_job *j) {
    if (j && r->w->store) {
        srv_store_park(r, j);
        return;
    }
    if (!j) {
        srv_reply_json(r, 500, NULL);
        return;
    }
    srv_worker *w = r->w;
    srv_store_ctx c = {w->db, w->log_db, w->server->log};
    j->fn(&c, j);
    srv_reply_answer(r, &j->answer);
    srv_job_free(j);
}

/* ---- Life ---------------------------------------------------------------------------------- */

bool srv_store_remote(const srv_worker *w) {
    return w->store != NULL;
}

size_t srv_store_parked(const srv_worker *w) {
    return w->store ? w->store->parked : 0;
}

bool srv_store_init(srv_worker *w, char *err, size_t err_cap) {
    srv_server *sv = w->server;
    if (!tdb_is_remote(w->db) && !tdb_is_remote(w->log_db))
        return true;
    srv_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_cap, "out of memory starting worker %d", w->index);
        return false;
    }
    w->store = s;
    s->w = w;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        snprintf(err, err_cap, "cannot start the store thread of worker %d", w->index);
        return false;
    }
    if (pthread_cond_init(&s->cond, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        snprintf(err, err_cap, "cannot start the store thread of worker %d", w->index);
        return false;
    }
    s->lock_made = true;
    if (!srv_open_request_stores(sv, &s->db, &s->log_db, err, err_cap))
        return false;
    s->projects = tdb_project_cache_new_sharing(w->projects);
    s->wake_ev = event_new(w->base, -1, 0, srv_store_on_wake, s);
    if (!s->projects || !s->wake_ev) {
        snprintf(err, err_cap, "out of memory starting worker %d", w->index);
        return false;
    }
    s->started = pthread_create(&s->thread, NULL, srv_store_main, s) == 0;
    if (!s->started) {
        snprintf(err, err_cap, "cannot start the store thread of worker %d", w->index);
        return false;
    }
    /* From here on the worker's own handles only give the configuration version (their
     * watcher's): their connections would sit idle. */
    tdb_release_connection(w->db);
    tdb_release_connection(w->log_db);
    return true;
}

/* Tells the store thread to stop and waits for it: the call it is in ends within its bound,
 * and every job still queued is put on done, failed. */
static void srv_store_join(srv_store *s) {
    if (!s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void srv_store_stop(srv_worker *w) {
    srv_store *s = w->store;
    if (!s || s->stopped)
        return;
    s->stopped = true; /* from now on a request that would park is answered at once */
    srv_store_join(s);
    /* Every job is on done now: answer them, and let the loop write the answers (draining:
     * each closes its connection once written). */
    if (srv_store_answer_all(s) && w->base) {
        struct timeval flush = {0, 200000};
        event_base_loopexit(w->base, &flush);
        event_base_dispatch(w->base);
    }
}

void srv_store_free(srv_worker *w) {
    srv_store *s = w->store;
    if (!s)
        return;
    srv_store_join(s); /* when not stopped on the worker's thread (set-up failed, or no loop) */
    for (srv_job *j = s->queue, *next; j; j = next) {
        next = j->next;
        srv_job_free(j);
    }
    for (srv_job *j = s->done, *next; j; j = next) {
        next = j->next;
        srv_job_free(j);
    }
    if (s->wake_ev)
        event_free(s->wake_ev);
    tdb_project_cache_free(s->projects);
    if (s->log_db && s->log_db != s->db)
        tdb_close(s->log_db);
    if (s->db)
        tdb_close(s->db);
    if (s->lock_made) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
    }
    free(s);
    w->store = NULL;
}

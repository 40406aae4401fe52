/* diagnose_batch.c -- `tokendoctor diagnose --batch`: JSON lines in, one answer line out per line.
 *
 * Design
 * ------
 * --batch FILE|-: JSON lines in, each a request object as the HTTP body with an optional "id";
 * one compact JSON line out per input line, in order, "id" echoed (null when absent). A bad line
 * gets {"id":..., "error":{"code":"bad_request","message":...}} and the next line is still
 * diagnosed. Every answer line carries "status" ("diagnosed", "invalid" or "failed"), written by
 * the same function as the HTTP batch's items (diag_batch_item_add), so a script tells a
 * platform error from a bad line without guessing. Lines are streamed in chunks through a bounded
 * ring and diagnosed on --threads workers (default: one per online core), each with its own td_ctx
 * and diag_result; a writer emits the chunks strictly in input order, so the output is byte for
 * byte that of one thread, and memory stays flat on millions of lines (see "The pipeline" below). A
 * line longer than BATCH_LINE_MAX is answered with an error and skipped, never buffered. --summary
 * prints only id, verdict, cause, code, hints, warnings, expires_at (details are not even
 * formatted). Answer lines, full or summary, are written directly, not built as JSON values. One
 * output line per input line, blank ones included (an invalid line saying so: a script pairs lines
 * by position); a UTF-8 byte order mark before the first line is skipped (editors on Windows write
 * one). Exit status 0 when every line was processed (whatever the verdicts, bad lines included), 1
 * when --fail-on names a verdict (or "invalid") that a line got, 64 for bad usage, 70 when input,
 * output or the project store fails (the lines affected still get an error line); 70 wins over 1.
 *
 * The pipeline. Input is cut into chunks of whole lines (at most CHUNK_LINES lines or about
 * CHUNK_BYTES bytes; line numbers kept). A chunk is the unit of work: one thread diagnoses every
 * line of it into the chunk's own output buffer, exactly as the sequential loop would, so a chunk's
 * output does not depend on which thread made it.
 *
 * With --threads 1 one thread reads a chunk, diagnoses it and writes it, in turn. With N > 1
 * the calling thread reads, N workers diagnose and one writer thread writes chunks strictly in
 * the order they were read. Chunks live in a ring of 2N + 2 slots: the reader may not refill a
 * slot before the writer has written what was in it, so at most that many chunks are in flight
 * and memory stays flat however long the input is (each slot's buffers only grow to the
 * largest chunk seen). Every worker has its own td_ctx, diag_result and project source (a
 * --project list is shared read-only; a database handle is one per worker, as tdb handles
 * are used by one thread at a time). A worker reads the database for a chunk in one read
 * snapshot (tdb_read_begin): a configuration changed during the run applies from the next
 * chunk, and never to half of one.
 *
 * The command line and the project source are cmd_diagnose.c's (diagnose_internal.h).
 */
#include "diagnose_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_LINES 512
#define CHUNK_BYTES (128u << 10)
#define READ_BLOCK (256u << 10)

/* ---- Reading lines -------------------------------------------------------------------- */

/* Reads the input with read(2) into one buffer large enough for the longest accepted line plus
 * a read block; lines are handed out in place. A longer line is skipped to its end and reported
 * as too long, never buffered. */
typedef struct {
    int fd;
    char *buf;
    size_t cap, pos, len;
    bool eof, failed;
    unsigned long lineno; /* of the last line returned */
} line_reader;

static bool reader_init(line_reader *r, FILE *in) {
    memset(r, 0, sizeof *r);
    r->fd = fileno(in);
    r->cap = BATCH_LINE_MAX + 1 + READ_BLOCK;
    r->buf = malloc(r->cap);
    return r->buf != NULL;
}

/* Moves the unread bytes to the front and reads more after them. */
static void reader_fill(line_reader *r) {
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    while (r->len < r->cap) {
        ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (got > 0) {
            r->len += (size_t)got;
            return;
        }
        if (got < 0 && errno == EINTR)
            continue;
        r->failed = got < 0;
        r->eof = true;
        return;
    }
}

/* Drops input up to and including the next newline (the rest of a line too long to keep). */
static void reader_skip_line(line_reader *r) {
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            r->pos = (size_t)(nl - r->buf) + 1;
            return;
        }
        r->pos = r->len = 0;
        if (r->eof)
            return;
        reader_fill(r);
    }
}

/* The next line (without its newline and one trailing '\r', the first without a byte order
 * mark), valid until the next call; false at end of input. A line longer than BATCH_LINE_MAX
 * bytes comes back with *too_long and no text. */
static bool reader_next(line_reader *r, const char **line, size_t *len, bool *too_long) {
    *too_long = false;
    for (;;) {
        char *start = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        char *nl = memchr(start, '\n', avail);
        size_t n;
        if (nl) {
            n = (size_t)(nl - start);
            r->pos += n + 1;
        } else if (avail > BATCH_LINE_MAX) {
            reader_skip_line(r);
            n = avail; /* only its length matters: it is too long */
        } else if (r->eof) {
            if (avail == 0)
                return false;
            n = avail; /* the last line has no newline */
            r->pos = r->len;
        } else {
            reader_fill(r);
            continue;
        }
        r->lineno++;
        if (n > BATCH_LINE_MAX) {
            *too_long = true;
            *line = NULL;
            *len = 0;
            return true;
        }
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (r->lineno == 1 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
            start += 3; /* a UTF-8 byte order mark: not part of the first line's JSON */
            n -= 3;
        }
        *line = start;
        *len = n;
        return true;
    }
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* ---- Chunks ----------------------------------------------------------------------------- */

typedef struct {
    size_t off, len; /* in the chunk's input buffer */
    unsigned long lineno;
    bool too_long;
} batch_line;

typedef struct {
    td_buf in; /* the lines' bytes, back to back */
    batch_line lines[CHUNK_LINES];
    size_t nlines;
    td_buf out;        /* the answers, one line each */
    bool store_failed; /* a line could not be judged: the run ends with status 70 */
    bool no_memory;    /* an answer could not be made: the run ends with status 70 */
    unsigned seen;     /* the verdicts answered (1u << diag_verdict) and FAIL_ON_INVALID */
    bool done;         /* threaded: diagnosed, waiting for the writer (under the mutex) */
} batch_chunk;

/* No cap of their own beyond what memory allows, as before td_buf: a chunk holds at most
 * CHUNK_LINES lines of at most BATCH_LINE_MAX bytes, and each answer is bounded by its line. */
static void chunk_init(batch_chunk *c) {
    td_buf_init(&c->in, SIZE_MAX);
    td_buf_init(&c->out, SIZE_MAX);
}

static void chunk_free(batch_chunk *c) {
    td_buf_free(&c->in);
    td_buf_free(&c->out);
}

/* Fills c with the next lines of input (blank ones too: each gets its answer). false when there
 * were none. */
static bool chunk_fill(batch_chunk *c, line_reader *r) {
    td_buf_reset(&c->in);
    td_buf_reset(&c->out);
    c->nlines = 0;
    c->store_failed = c->no_memory = false;
    c->seen = 0;
    const char *text;
    size_t n;
    bool too_long;
    while (c->nlines < CHUNK_LINES && c->in.len < CHUNK_BYTES &&
           reader_next(r, &text, &n, &too_long)) {
        size_t off = c->in.len;
        if (!td_buf_add(&c->in, text, n)) { /* the line is lost: the run ends with status 70 */
            c->no_memory = true;
            break;
        }
        c->lines[c->nlines++] = (batch_line){off, n, r->lineno, too_long};
    }
    return c->nlines > 0 || c->no_memory;
}

/* Ends the answer line the batch item writer just appended (ok), or drops it whole (the writers
 * leave out.len where it was when out of memory): never half a line. */
static bool out_newline(batch_chunk *c, bool ok, size_t start) {
    if (ok && td_buf_addc(&c->out, '\n'))
        return true;
    td_buf_truncate(&c->out, start);
    return false;
}

/* A line that was not diagnosed: {"id", "status", "error": {"code", "message"}}, the request's
 * fault (invalid) or not (failed). */
static bool out_error(batch_chunk *c, json_t *id, diag_item_status st, const char *code,
                      const char *msg) {
    size_t start = c->out.len;
    if (st == DIAG_ITEM_INVALID)
        c->seen |= FAIL_ON_INVALID;
    bool ok = diag_batch_error_add(&c->out, id, st, code, msg);
    return out_newline(c, ok, start);
}

/* A diagnosed line: {"id", "status": "diagnosed", ...the diagnosis or its summary}, written
 * directly (no jansson tree) by the writer the HTTP batch uses too. */
static bool out_answer(batch_chunk *c, json_t *id, const diag_result *r, bool summary) {
    size_t start = c->out.len;
    c->seen |= 1u << r->verdict;
    bool ok = diag_batch_item_add(&c->out, id, r, summary);
    return out_newline(c, ok, start);
}

/* ---- Diagnosing a chunk ------------------------------------------------------------------- */

/* What one diagnosing thread owns. */
typedef struct {
    bool summary;
    diag_options opts;
    cli_project_source *src; /* own_src, or the caller's for the first worker */
    cli_project_source own_src;
    td_ctx *ctx;
    diag_result *r;
    pthread_t thread;
    struct batch_pipe *pipe;
} batch_worker;

/* Answers one line into c. false when the answer could not be made (out of memory). */
static bool diagnose_line(batch_worker *w, batch_chunk *c, const batch_line *l) {
    char msg[320];
    const char *text = c->in.p + l->off;
    if (l->too_long) {
        snprintf(msg, sizeof msg, "line %lu: longer than %u bytes", l->lineno, BATCH_LINE_MAX);
        return out_error(c, NULL, DIAG_ITEM_INVALID, "bad_request", msg);
    }
    if (blank(text, l->len)) {
        snprintf(msg, sizeof msg, "line %lu: empty (each line must be one JSON object)", l->lineno);
        return out_error(c, NULL, DIAG_ITEM_INVALID, "bad_request", msg);
    }
    json_error_t jerr;
    json_t *obj = json_loadb(text, l->len, DIAG_JSON_FLAGS, &jerr);
    json_t *id = json_is_object(obj) ? json_object_get(obj, "id") : NULL;
    diag_request req;
    char err[256];
    bool ok;
    if (!obj && diag_json_duplicate_key(&jerr, err, sizeof err)) {
        snprintf(msg, sizeof msg, "line %lu: %s", l->lineno, err);
        ok = out_error(c, NULL, DIAG_ITEM_INVALID, "bad_request", msg);
    } else if (!obj && json_error_code(&jerr) == json_error_invalid_utf8) {
        /* As the HTTP API says of a body: not "invalid JSON", which sends one looking for a
         * missing brace. */
        snprintf(msg, sizeof msg, "line %lu: not valid UTF-8 (JSON text is UTF-8)", l->lineno);
        ok = out_error(c, NULL, DIAG_ITEM_INVALID, "invalid_utf8", msg);
    } else if (!obj) {
        /* Not jerr.text: it may quote the input ("near '...'"), a token perhaps. */
        snprintf(msg, sizeof msg,
                 "line %lu: invalid JSON at column %d (each line must be one JSON object)",
                 l->lineno, jerr.column);
        ok = out_error(c, NULL, DIAG_ITEM_INVALID, "bad_request", msg);
    } else if (!diag_request_from_json(obj, cli_now(), &req, err, sizeof err)) {
        snprintf(msg, sizeof msg, "line %lu: %s", l->lineno, err);
        ok = out_error(c, id, DIAG_ITEM_INVALID, "bad_request", msg);
    } else {
        bool db_failed;
        const char *key;
        size_t key_len;
        diag_request_project_key(&req, &key, &key_len);
        const diag_project *p = cli_project_lookup(w->src, key, key_len, &db_failed);
        if (db_failed) {
            snprintf(msg, sizeof msg, "line %lu: the project store failed", l->lineno);
            ok = out_error(c, id, DIAG_ITEM_FAILED, "store_unavailable", msg);
            c->store_failed = true;
        } else {
            diag_run(w->ctx, &req, p, &w->opts, w->r);
            ok = out_answer(c, id, w->r, w->summary);
        }
    }
    json_decref(obj);
    return ok;
}

/* A chunk is judged against one read snapshot of the database: its lines read the store in one
 * read transaction, not one each (SQLite's locks were a third of a miss), and its configuration
 * version is that snapshot's, so a change committed during the chunk applies from the next
 * chunk -- as the per-chunk version check always had it -- and no chunk mixes the configurations
 * of before and after a change. Without a snapshot (it could not begin) each read takes its own
 * transaction, as before. */
static void diagnose_chunk(batch_worker *w, batch_chunk *c) {
    bool snapshot = w->src->db && tdb_read_begin(w->src->db);
    cli_project_source_sync(w->src); /* a configuration changed meanwhile applies from here */
    for (size_t i = 0; i < c->nlines && !c->no_memory; i++)
        if (!diagnose_line(w, c, &c->lines[i]))
            c->no_memory = true;
    if (snapshot)
        tdb_read_end(w->src->db);
}

/* Prepares a worker; the first one (shared) uses the caller's project source, the others open
 * their own database handle or share the --project list. false (message printed) on failure. */
static bool worker_init(batch_worker *w, const cli_diag_opts *o, cli_project_source *main_src,
                        bool shared) {
    memset(w, 0, sizeof *w);
    w->summary = o->summary;
    w->opts.skip_details = o->summary;
    w->src = main_src;
    if (!shared) {
        w->src = &w->own_src;
        w->own_src.list = main_src->list;
        w->own_src.count = main_src->count;
        if (main_src->db) {
            bool missing = false;
            if (!cli_project_source_open_db(NULL, tdb_path(main_src->db), o->key_file, &w->own_src,
                                            true, &missing))
                return false;
        }
    }
    w->ctx = td_ctx_new();
    w->r = malloc(sizeof *w->r);
    if (!w->ctx || !w->r) {
        cli_error("out of memory");
        return false;
    }
    return true;
}

static void worker_free(batch_worker *w) {
    if (w->src == &w->own_src) /* the list belongs to the caller's source */
        cli_project_source_close_db(&w->own_src);
    td_ctx_free(w->ctx);
    free(w->r);
}

/* ---- Writing ------------------------------------------------------------------------------ */

/* What the run has seen so far, for its exit status. */
typedef struct {
    bool write_failed, store_failed, internal_error; /* internal: out of memory, thread setup */
    unsigned seen; /* the verdicts answered and FAIL_ON_INVALID, for --fail-on */
} batch_outcome;

/* Writes a diagnosed chunk. false on an output error (message printed). */
static bool chunk_write(batch_chunk *c, batch_outcome *res) {
    res->store_failed |= c->store_failed;
    res->seen |= c->seen;
    if (c->no_memory && !res->internal_error) {
        cli_error("out of memory: some batch lines were not answered");
        res->internal_error = true;
    }
    if (c->out.len > 0 && fwrite(c->out.p, 1, c->out.len, stdout) != c->out.len) {
        cli_error("cannot write to standard output");
        res->write_failed = true;
        return false;
    }
    return true;
}

/* ---- Sequential run (--threads 1) -------------------------------------------------------- */

static void batch_sequential(const cli_diag_opts *o, cli_project_source *src, line_reader *rd,
                             batch_outcome *res) {
    batch_worker w;
    batch_chunk c;
    chunk_init(&c);
    if (worker_init(&w, o, src, true)) {
        while (chunk_fill(&c, rd)) {
            diagnose_chunk(&w, &c);
            if (!chunk_write(&c, res))
                break;
        }
    } else {
        res->internal_error = true;
    }
    worker_free(&w);
    chunk_free(&c);
}

/* ---- Threaded run ------------------------------------------------------------------------- */

/* Chunk seq lives in slots[seq % nslots]. The reader fills seq == filled once the writer has
 * written seq - nslots; workers take taken < filled in turn; the writer writes written when
 * its slot is done. All counters and done flags are guarded by mu. */
typedef struct batch_pipe {
    pthread_mutex_t mu;
    pthread_cond_t slot_free; /* the writer wrote a chunk */
    pthread_cond_t work;      /* a chunk was filled, or input ended, or stop */
    pthread_cond_t done;      /* a chunk was diagnosed, or input ended, or stop */
    batch_chunk *slots;
    size_t nslots;
    unsigned long filled, taken, written;
    bool input_done;   /* no chunk after `filled` */
    bool stop;         /* output failed: everyone ends */
    batch_outcome res; /* the writer's, read after it is joined */
} batch_pipe;

static void *worker_main(void *arg) {
    batch_worker *w = arg;
    batch_pipe *p = w->pipe;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->taken == p->filled && !p->input_done)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop || p->taken == p->filled)
            break;
        batch_chunk *c = &p->slots[p->taken++ % p->nslots];
        pthread_mutex_unlock(&p->mu);
        diagnose_chunk(w, c);
        pthread_mutex_lock(&p->mu);
        c->done = true;
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *writer_main(void *arg) {
    batch_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        batch_chunk *c = &p->slots[p->written % p->nslots];
        while (!p->stop && !(p->written < p->filled && c->done) &&
               !(p->input_done && p->written == p->filled))
            pthread_cond_wait(&p->done, &p->mu);
        if (p->stop || p->written == p->filled)
            break;
        pthread_mutex_unlock(&p->mu);
        bool ok = chunk_write(c, &p->res);
        pthread_mutex_lock(&p->mu);
        c->done = false;
        p->written++;
        if (!ok) {
            p->stop = true;
            pthread_cond_broadcast(&p->work);
        }
        pthread_cond_signal(&p->slot_free);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The reader: fills slots in order until the input ends or the writer stops. */
static void pipe_read(batch_pipe *p, line_reader *rd) {
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->filled - p->written >= p->nslots)
            pthread_cond_wait(&p->slot_free, &p->mu);
        bool stop = p->stop;
        unsigned long seq = p->filled;
        pthread_mutex_unlock(&p->mu);
        /* slot seq is the reader's alone until `filled` moves past it */
        bool more = !stop && chunk_fill(&p->slots[seq % p->nslots], rd);
        pthread_mutex_lock(&p->mu);
        if (more) {
            p->filled++;
            pthread_cond_signal(&p->work);
        } else {
            p->input_done = true;
            pthread_cond_broadcast(&p->work);
            pthread_cond_broadcast(&p->done);
        }
        pthread_mutex_unlock(&p->mu);
        if (!more)
            return;
    }
}

/* Runs the pipeline with nthreads workers. false when no thread could be started (nothing was
 * read: the caller runs sequentially instead). */
static bool batch_threaded(const cli_diag_opts *o, cli_project_source *src, line_reader *rd,
                           int nthreads, batch_outcome *res) {
    batch_pipe p;
    memset(&p, 0, sizeof p);
    p.nslots = 2 * (size_t)nthreads + 2;
    p.slots = calloc(p.nslots, sizeof *p.slots);
    batch_worker *w = calloc((size_t)nthreads, sizeof *w);
    if (!p.slots || !w) {
        free(p.slots);
        free(w);
        return false;
    }
    for (size_t i = 0; i < p.nslots; i++)
        chunk_init(&p.slots[i]);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.slot_free, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.done, NULL);
    json_object_seed(0); /* before any thread makes a JSON object: the seed is set once */

    int started = 0;
    bool init_failed = false;
    pthread_t writer;
    bool writer_started = pthread_create(&writer, NULL, writer_main, &p) == 0;
    for (int i = 0; writer_started && i < nthreads; i++) {
        if (!worker_init(&w[i], o, src, i == 0)) {
            worker_free(&w[i]);
            init_failed = true;
            break;
        }
        w[i].pipe = &p;
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
            worker_free(&w[i]);
            break;
        }
        started++;
    }
    bool ran = started > 0 && !init_failed;
    if (!ran) { /* end the threads that did start without reading anything */
        pthread_mutex_lock(&p.mu);
        p.input_done = true;
        pthread_cond_broadcast(&p.work);
        pthread_cond_broadcast(&p.done);
        pthread_mutex_unlock(&p.mu);
    } else {
        pipe_read(&p, rd);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].thread, NULL);
        worker_free(&w[i]);
    }
    if (writer_started)
        pthread_join(writer, NULL);
    *res = p.res;
    if (init_failed)
        res->internal_error = true; /* message printed by worker_init */
    for (size_t i = 0; i < p.nslots; i++)
        chunk_free(&p.slots[i]);
    pthread_cond_destroy(&p.done);
    pthread_cond_destroy(&p.work);
    pthread_cond_destroy(&p.slot_free);
    pthread_mutex_destroy(&p.mu);
    free(p.slots);
    free(w);
    return ran || init_failed;
}

/* --threads, or the number of online cores. */
static int batch_threads(const cli_diag_opts *o) {
    if (o->threads)
        return (int)o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : (int)n;
}

int cli_diagnose_batch(const cli_diag_opts *o) {
    FILE *in = strcmp(o->batch, "-") == 0 ? stdin : fopen(o->batch, "r");
    if (!in) {
        cli_fail(o->report, "usage", "--batch %s: cannot open: %s", o->batch, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    cli_project_source src;
    line_reader rd = {.buf = NULL};
    batch_outcome res = {0};
    int status = CLI_EXIT_OK, open_status;
    if (!cli_project_source_open(o, &src, &open_status)) {
        status = open_status; /* reported */
    } else if (!reader_init(&rd, in)) {
        cli_error("out of memory");
        status = CLI_EXIT_INTERNAL;
    } else {
        int nthreads = batch_threads(o);
        if (nthreads == 1 || !batch_threaded(o, &src, &rd, nthreads, &res))
            batch_sequential(o, &src, &rd, &res);
        if (res.write_failed || res.internal_error) {
            status = CLI_EXIT_INTERNAL;
        } else if (rd.failed) {
            cli_error("--batch %s: read error", o->batch);
            status = CLI_EXIT_INTERNAL;
        } else if (res.store_failed) {
            status = CLI_EXIT_INTERNAL;
        } else if (res.seen & o->fail_on) {
            status = CLI_EXIT_FAIL; /* every line answered; a verdict --fail-on names was seen */
        }
        if (fflush(stdout) != 0 && status == CLI_EXIT_OK) {
            cli_error("cannot write to standard output");
            status = CLI_EXIT_INTERNAL;
        }
    }
    free(rd.buf);
    cli_project_source_free(&src);
    if (in != stdin)
        fclose(in);
    return status;
}

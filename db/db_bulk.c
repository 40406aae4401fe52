/* db_bulk.c -- many projects at once: import from a stream, export, the list (whole, or a page
 * at a time), and an online backup of the whole file.
 *
 * Design
 * ------
 * Import. The input is read one configuration at a time (a line of JSON lines, or one item of a
 * JSON array found by tracking strings and brackets), into one buffer capped at
 * TDB_IMPORT_LINE_MAX and wiped after each: memory stays flat whatever the input's size, and
 * jansson still parses and judges every item. Each configuration goes through the caller's
 * parser (diag_project_from_json, the one `project put` and PUT /v1/projects use) and then
 * tdbi_project_put_with, the body of tdb_project_put, so that a bulk import retires, prunes and
 * logs exactly as single puts do. What makes it fast is the transaction: one for the whole
 * import (all-or-nothing), or one per TDB_IMPORT_BATCH configurations with continue_on_error,
 * each configuration then in a SAVEPOINT so that a failure undoes only itself. A configuration
 * identical to the stored one is not written (no change-log entry): reading the stored one first
 * costs one indexed lookup, and a re-import of an unchanged export then changes nothing.
 *
 * Export writes certificates only sealed for a key file the caller names, in the store's own
 * at-rest format (nonce || AES-256-GCM ciphertext || tag, the App ID as additional data, as hex):
 * the same bytes a database using that key file would hold, which its import opens with
 * tdbi_open_sealed. Without that key file, only fingerprints leave the store -- and an import
 * refuses such a line, since a fingerprint cannot be turned back into a certificate. The line
 * shape is written and read here only, so export and import cannot drift apart.
 *
 * The import's reading, parsing and counting are the same for every store: tdbi_import_with
 * takes the store's write transaction (db->ops) and its savepoints (tdbi_bulk_ops: SQLite's below,
 * PostgreSQL's in db_pg_bulk.c); so do export's lines (tdbi_export_one).
 *
 * Backup copies the file with SQLite's backup API while holding one read transaction on the
 * source connection: every step reads the same snapshot (no restart when another connection
 * writes), and in WAL mode a reader does not stop writers, so the service keeps serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"
#include "db_sqlite.h"

#define SEALED_CERT_LEN (TD_CERT_LEN + TDBI_SEALED_OVERHEAD)
#define SEALED_HEX_LEN (2 * SEALED_CERT_LEN)
#define PROGRESS_EVERY 4096 /* configurations between two progress callbacks */
#define BACKUP_BUSY_SLEEP_MS 10
/* An import writes App IDs in no particular order, so its inserts touch pages all over the
 * tables and indexes: with SQLite's default page cache (2 MiB) a million of them spent a third
 * of their time reading pages back. The import's connection gets IMPORT_CACHE_KIB of cache
 * (negative: KiB) while it runs, then SQLite's default again. */
#define IMPORT_CACHE_KIB -65536

/* ---- Reading configurations one at a time ------------------------------------------------- */

typedef enum { REC_ONE, REC_END, REC_TOO_LONG, REC_BAD } rec_result;

typedef struct {
    FILE *in;
    td_buf rec;        /* the configuration being read (secret: it may hold certificates) */
    uint64_t line;     /* the line being read, 1-based */
    uint64_t bytes;    /* bytes read so far */
    int format;        /* 0 not known yet, 'l' JSON lines, '[' a JSON array */
    bool array_closed; /* its ']' was read */
    bool need_item;    /* array: a ',' was read, an item must follow */
    const char *why;   /* REC_BAD: what is wrong with the framing */
} reader;

static int rd_getc(reader *r) {
    int c = getc_unlocked(r->in);
    if (c != EOF) {
        r->bytes++;
        if (c == '\n')
            r->line++;
    }
    return c;
}

static bool is_space(int c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int skip_space(reader *r) {
    int c;
    while ((c = rd_getc(r)) != EOF && is_space(c)) {
    }
    return c;
}

/* Appends c unless the record is already too long (then it only counts). */
static void rec_add(reader *r, int c) {
    if (r->rec.status == TD_BUF_OK)
        td_buf_addc(&r->rec, (char)c);
}

static rec_result rec_done(reader *r) {
    return r->rec.status == TD_BUF_OK ? REC_ONE : REC_TOO_LONG;
}

/* A line of JSON lines whose first byte c was read. */
static rec_result read_line(reader *r, int c) {
    for (; c != EOF && c != '\n'; c = rd_getc(r))
        rec_add(r, c);
    return rec_done(r);
}

/* An item of the array whose first byte c was read: up to the ',' or ']' outside any string and
 * bracket, which is consumed. */
static rec_result read_item(reader *r, int c) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (; c != EOF; c = rd_getc(r)) {
        if (!in_string && depth == 0 && (c == ',' || c == ']')) {
            r->array_closed = c == ']';
            r->need_item = c == ',';
            return rec_done(r);
        }
        rec_add(r, c);
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    r->why = "the array does not end (no ']')";
    return REC_BAD;
}

/* The next configuration into r->rec; *start is the line it starts on. */
static rec_result next_record(reader *r, uint64_t *start) {
    td_buf_reset(&r->rec); /* secret: wiped */
    int c = skip_space(r);
    *start = r->line;
    if (r->format == 0) {
        if (c == EOF)
            return REC_END; /* an empty input holds no configuration */
        r->format = c == '[' ? '[' : 'l';
        if (c == '[')
            c = skip_space(r);
        *start = r->line;
        if (c == ']' && r->format == '[') {
            r->array_closed = true;
            c = skip_space(r);
        }
    }
    if (r->format == 'l')
        return c == EOF ? REC_END : read_line(r, c);
    if (r->array_closed) {
        r->why = "text after the array's ']'";
        return c == EOF ? REC_END : REC_BAD;
    }
    if (c == EOF || c == ']' || c == ',') {
        r->why = c == EOF ? "the array does not end (no ']')" : "an array item is missing";
        return REC_BAD;
    }
    return read_item(r, c);
}

/* ---- Certificates as export writes them -------------------------------------------------------
 * A certificate is {"sealed_certificate": HEX, "fingerprint", ...} or, without certificates,
 * {"fingerprint", ...}. Import turns the first into the put shape ("certificate": the plain
 * text) and refuses the second. */

static const char FINGERPRINTS_ONLY[] =
    "certificates exported as fingerprints only cannot be imported; export them with "
    "`tokendoctor project export --certificates-for KEYFILE`, KEYFILE being the key file of the "
    "database you import into";

/* Opens the sealed certificate of c (an object with "sealed_certificate") into plain (33
 * bytes, NUL-terminated). */
static tdb_status open_sealed_json(tdb *db, const char *app_id, json_t *c, const char *what,
                                   char plain[TD_CERT_LEN + 1], char *err, size_t err_cap) {
    json_t *hex = json_object_get(c, "sealed_certificate");
    const char *h = json_string_value(hex);
    unsigned char sealed[SEALED_CERT_LEN];
    bool ok = h && json_string_length(hex) == SEALED_HEX_LEN;
    for (size_t i = 0; ok && i < SEALED_CERT_LEN; i++) {
        int hi = td_hex_digit(h[2 * i]), lo = td_hex_digit(h[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        sealed[i] = (unsigned char)(ok ? hi << 4 | lo : 0);
    }
    if (!ok) {
        snprintf(err, err_cap, "%s.sealed_certificate: must be %d hex characters", what,
                 SEALED_HEX_LEN);
        return TDB_INVALID;
    }
    if (!tdbi_open_sealed(db, app_id, sealed, sizeof sealed, (unsigned char *)plain)) {
        snprintf(err, err_cap,
                 "%s.sealed_certificate: does not open with the key file %s (exported for "
                 "another key file, or for another App ID)",
                 what, db->key_name);
        return TDB_DECRYPT;
    }
    plain[TD_CERT_LEN] = '\0';
    const char *fp = json_string_value(json_object_get(c, "fingerprint"));
    char mine[DIAG_FINGERPRINT_LEN + 1];
    td_fingerprint(plain, TD_CERT_LEN, mine);
    if (fp && strcmp(fp, mine) != 0) {
        snprintf(err, err_cap, "%s.fingerprint: does not match its sealed certificate", what);
        return TDB_INVALID;
    }
    return TDB_OK;
}

/* A certificate object c in export's shape: *replace receives the plain certificate as a new
 * string, which the caller puts in c's place (a retired one) or under c's "certificate"
 * (primary, secondary). NULL when c is anything else, left for the parser to judge. */
static tdb_status open_cert_json(tdb *db, const char *app_id, json_t *c, const char *what,
                                 json_t **replace, char *err, size_t err_cap) {
    *replace = NULL;
    if (!json_is_object(c) || json_object_get(c, "certificate"))
        return TDB_OK;
    if (!json_object_get(c, "sealed_certificate")) {
        if (!json_object_get(c, "fingerprint"))
            return TDB_OK;
        snprintf(err, err_cap, "%s: %s", what, FINGERPRINTS_ONLY);
        return TDB_INVALID;
    }
    if (!app_id) {
        snprintf(err, err_cap, "app_id: must be 32 hex characters");
        return TDB_INVALID;
    }
    char plain[TD_CERT_LEN + 1];
    tdb_status st = open_sealed_json(db, app_id, c, what, plain, err, err_cap);
    if (st == TDB_OK)
        *replace = json_stringn(plain, TD_CERT_LEN);
    explicit_bzero(plain, sizeof plain);
    if (st == TDB_OK && !*replace) {
        snprintf(err, err_cap, "out of memory");
        st = TDB_ERROR;
    }
    return st;
}

/* Every certificate of obj in the put shape. */
static tdb_status open_certs_json(tdb *db, json_t *obj, char *err, size_t err_cap) {
    json_t *id = json_object_get(obj, "app_id");
    const char *app_id =
        json_is_string(id) && json_string_length(id) == TD_CERT_LEN ? json_string_value(id) : NULL;
    static const char *const slots[] = {"primary", "secondary"};
    tdb_status st = TDB_OK;
    for (size_t i = 0; i < 2 && st == TDB_OK; i++) {
        json_t *c = json_object_get(obj, slots[i]), *plain;
        st = open_cert_json(db, app_id, c, slots[i], &plain, err, err_cap);
        if (plain) {
            json_object_set_new(c, "certificate", plain);
            json_object_del(c, "sealed_certificate");
            json_object_del(c, "fingerprint");
        }
    }
    json_t *retired = json_object_get(obj, "retired_certificates");
    for (size_t i = 0; st == TDB_OK && i < json_array_size(retired); i++) {
        char what[48];
        snprintf(what, sizeof what, "retired_certificates[%zu]", i);
        json_t *plain;
        st = open_cert_json(db, app_id, json_array_get(retired, i), what, &plain, err, err_cap);
        if (plain)
            json_array_set_new(retired, i, plain);
    }
    return st;
}

/* Wipes every string of v (the certificates a configuration held) before jansson frees it. */
static void wipe_strings(json_t *v) {
    if (json_is_string(v)) {
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            wipe_strings(json_array_get(v, i));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item) {
            wipe_strings(item);
        }
    }
}

/* ---- Importing ------------------------------------------------------------------------------ */

typedef enum { PUT_CREATED, PUT_REPLACED, PUT_UNCHANGED } put_outcome;

typedef struct {
    diag_project p, old;
} import_work;

static bool same_cert(const diag_cert *a, const diag_cert *b) {
    return a->present == b->present &&
           (!a->present ||
            (a->enabled == b->enabled && memcmp(a->certificate, b->certificate, TD_CERT_LEN) == 0));
}

/* Whether putting p over old would change nothing: the same fields and certificates, and every
 * retired certificate p names already kept (a put adds retired certificates, never drops one). */
static bool same_as_stored(const diag_project *p, const diag_project *old) {
    if (strcmp(p->name, old->name) != 0 || p->no_certificate != old->no_certificate ||
        p->cohost_auth != old->cohost_auth || !same_cert(&p->primary, &old->primary) ||
        !same_cert(&p->secondary, &old->secondary))
        return false;
    for (size_t i = 0; i < p->retired_count; i++) {
        bool kept = false;
        for (size_t j = 0; j < old->retired_count && !kept; j++)
            kept = memcmp(p->retired[i], old->retired[j], TD_CERT_LEN) == 0;
        if (!kept)
            return false;
    }
    return true;
}

/* Parses one configuration's text into w->p (the caller's parser, after opening sealed
 * certificates). TDB_INVALID / TDB_DECRYPT with the message in err. */
static tdb_status parse_record(tdb *db, const tdb_import_options *o, const reader *r,
                               uint64_t start, import_work *w, char *err, size_t err_cap) {
    json_error_t jerr;
    json_t *obj = json_loadb(r->rec.p ? r->rec.p : "", r->rec.len, JSON_REJECT_DUPLICATES, &jerr);
    tdb_status st = TDB_OK;
    if (!obj) {
        /* jerr.text may quote the input ("near '...'"), which may hold a certificate. */
        snprintf(err, err_cap, "invalid JSON at line %llu, column %d",
                 (unsigned long long)(start + (uint64_t)(jerr.line > 0 ? jerr.line - 1 : 0)),
                 jerr.column);
        st = TDB_INVALID;
    } else if (!json_is_object(obj)) {
        snprintf(err, err_cap, "must be a JSON object (a project configuration)");
        st = TDB_INVALID;
    }
    if (st == TDB_OK)
        st = open_certs_json(db, obj, err, err_cap);
    if (st == TDB_OK && !o->parse(obj, &w->p, err, err_cap))
        st = TDB_INVALID;
    wipe_strings(obj);
    json_decref(obj);
    return st;
}

/* Puts w->p unless it is unchanged. TDB_ERROR is a storage failure (message in db). */
static tdb_status put_record(tdb *db, const tdbi_bulk_ops *b, const tdb_import_options *o,
                             import_work *w, int64_t now, put_outcome *out) {
    tdb_status st = tdb_project_get(db, w->p.app_id, &w->old);
    if (st == TDB_OK && same_as_stored(&w->p, &w->old)) {
        *out = PUT_UNCHANGED;
        return TDB_OK;
    }
    if (st != TDB_OK && st != TDB_NOT_FOUND && st != TDB_DECRYPT)
        return st;
    /* A stored project whose certificates do not decrypt: the put says so (TDB_DECRYPT). */
    bool created = false;
    bool savepoint = o->continue_on_error;
    if (savepoint && !b->exec(db, "SAVEPOINT import_one"))
        return TDB_ERROR;
    st = tdbi_project_put_with(db, &w->p, o->actor, now, &created);
    if (savepoint && st != TDB_OK && st != TDB_ERROR)
        b->undo_savepoint(db, "ROLLBACK TO import_one");
    if (savepoint && st != TDB_ERROR && !b->exec(db, "RELEASE import_one"))
        st = TDB_ERROR;
    *out = created ? PUT_CREATED : PUT_REPLACED;
    return st;
}

static void count_failure(const tdb_import_options *o, diag_import_summary *s, uint64_t line,
                          const char *message) {
    s->failed++;
    if (s->error_count < DIAG_IMPORT_ERRORS_MAX) {
        diag_import_error *e = &s->errors[s->error_count++];
        e->line = line;
        snprintf(e->message, sizeof e->message, "%s", message);
    }
    if (o->on_error)
        o->on_error(o->arg, line, message);
}

/* One configuration: parsed, put, counted. TDB_OK also for a failure that continue_on_error
 * counts; otherwise the import stops (message in db, "line N: ..."). */
static tdb_status import_record(tdb *db, const tdbi_bulk_ops *b, const tdb_import_options *o,
                                reader *r, rec_result rr, uint64_t start, import_work *w,
                                int64_t now, diag_import_summary *s) {
    char err[DIAG_IMPORT_MESSAGE_MAX] = "";
    tdb_status st;
    if (rr == REC_TOO_LONG) {
        snprintf(err, sizeof err, "longer than %u bytes", TDB_IMPORT_LINE_MAX);
        st = TDB_INVALID;
    } else {
        st = parse_record(db, o, r, start, w, err, sizeof err);
    }
    put_outcome outcome = PUT_UNCHANGED;
    if (st == TDB_OK) {
        st = put_record(db, b, o, w, now, &outcome);
        if (st != TDB_OK)
            snprintf(err, sizeof err, "%s", tdb_errmsg(db));
    }
    explicit_bzero(&w->p, sizeof w->p);
    explicit_bzero(&w->old, sizeof w->old);
    if (st == TDB_OK) {
        uint64_t *n = outcome == PUT_CREATED    ? &s->created
                      : outcome == PUT_REPLACED ? &s->replaced
                                                : &s->unchanged;
        (*n)++;
        return TDB_OK;
    }
    if (st != TDB_ERROR)
        count_failure(o, s, start, err);
    if (st != TDB_ERROR && o->continue_on_error)
        return TDB_OK;
    tdb_fault fault = db->fault; /* of the failed call (busy, disk full, ...): kept */
    tdbi_fail(db, "line %llu: %s", (unsigned long long)start, err);
    if (st == TDB_ERROR)
        db->fault = fault;
    return st;
}

/* Sets the connection's page cache size (PRAGMA cache_size: pages, or KiB when negative) and
 * returns the one it had. Only a hint: a failure changes nothing and is not an error. */
static int64_t set_cache_size(tdb *db, int64_t size) {
    int64_t had = size;
    sqlite3_stmt *st = tdbi_prepare(db, "PRAGMA cache_size", "reading the cache size");
    if (st && sqlite3_step(st) == SQLITE_ROW)
        had = sqlite3_column_int64(st, 0);
    tdbi_finalize(db, st);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = %lld", (long long)size);
    tdbi_exec(db, sql);
    return had;
}

/* Ends the transaction of a batch and begins the next (continue_on_error). */
static bool next_batch(tdb *db) {
    return db->ops->write_commit(db) && db->ops->write_begin(db);
}

/* SQLite's side of an import: kept statements and a larger page cache while it runs. */
static void sqlite_undo_savepoint(tdb *db, const char *sql) {
    sqlite3_exec(db->sql, sql, NULL, NULL, NULL); /* keeps the message of the failure */
}

static int64_t sqlite_start(tdb *db) {
    tdbi_keep_statements(db, true);
    return set_cache_size(db, IMPORT_CACHE_KIB);
}

static void sqlite_finish(tdb *db, int64_t state) {
    tdbi_keep_statements(db, false);
    set_cache_size(db, state);
}

static const tdbi_bulk_ops sqlite_bulk = {
    .exec = tdbi_exec,
    .undo_savepoint = sqlite_undo_savepoint,
    .start = sqlite_start,
    .finish = sqlite_finish,
};

tdb_status tdbsq_import(tdb *db, FILE *in, const tdb_import_options *o,
                        diag_import_summary *summary) {
    return tdbi_import_with(db, &sqlite_bulk, in, o, summary);
}

tdb_status tdbi_import_with(tdb *db, const tdbi_bulk_ops *b, FILE *in, const tdb_import_options *o,
                            diag_import_summary *summary) {
    memset(summary, 0, sizeof *summary);
    summary->dry_run = o->dry_run;
    import_work *w = calloc(1, sizeof *w);
    if (!w) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    reader r = {.in = in, .line = 1};
    td_buf_init_secret(&r.rec, TDB_IMPORT_LINE_MAX);
    bool batching = o->continue_on_error && !o->dry_run;
    int64_t now = (int64_t)time(NULL);
    uint64_t done = 0;
    int64_t state = b->start ? b->start(db) : 0;
    tdb_status st = db->ops->write_begin(db) ? TDB_OK : TDB_ERROR;
    while (st == TDB_OK) {
        uint64_t start;
        rec_result rr = next_record(&r, &start);
        if (rr == REC_END)
            break;
        if (rr == REC_BAD) {
            /* The framing is lost: nothing after this point can be read reliably. */
            tdbi_fail(db, "line %llu: %s", (unsigned long long)r.line, r.why);
            st = TDB_INVALID;
            break;
        }
        st = import_record(db, b, o, &r, rr, start, w, now, summary);
        done++;
        if (st == TDB_OK && batching && done % TDB_IMPORT_BATCH == 0 && !next_batch(db))
            st = TDB_ERROR;
        if (o->progress && done % PROGRESS_EVERY == 0)
            o->progress(o->arg, done, r.bytes);
    }
    if (st == TDB_OK && ferror(in)) {
        tdbi_fail(db, "line %llu: cannot read the input", (unsigned long long)r.line);
        st = TDB_ERROR;
    }
    if (st == TDB_OK && !o->dry_run && !db->ops->write_commit(db))
        st = TDB_ERROR;
    if (st != TDB_OK || o->dry_run)
        db->ops->write_rollback(db);
    if (b->finish)
        b->finish(db, state);
    if (o->progress)
        o->progress(o->arg, done, r.bytes);
    td_buf_free(&r.rec);
    explicit_bzero(w, sizeof *w);
    free(w);
    return st;
}

/* ---- Exporting ------------------------------------------------------------------------------ */

/* The certificate cert of app_id sealed for gcm's key, as hex (SEALED_HEX_LEN + 1 bytes). */
static bool seal_hex(tdb *db, mbedtls_gcm_context *gcm, const char *app_id, const char *cert,
                     char out[SEALED_HEX_LEN + 1]) {
    unsigned char sealed[SEALED_CERT_LEN];
    if (!tdbi_seal_with(db, gcm, app_id, cert, TD_CERT_LEN, sealed)) {
        tdbi_fail(db, "cannot encrypt a certificate of project %s", app_id);
        return false;
    }
    td_hex(sealed, sizeof sealed, out);
    return true;
}

/* One certificate as export writes it: {"fingerprint", ["sealed_certificate",] ["enabled"]}.
 * cert is the plain certificate when sealing (gcm set), else NULL. */
static json_t *cert_json(tdb *db, mbedtls_gcm_context *gcm, const char *app_id, const char *fp,
                         const char *cert, int enabled) {
    json_t *c = json_pack("{s:s}", "fingerprint", fp);
    char hex[SEALED_HEX_LEN + 1];
    if (c && gcm && cert) {
        if (!seal_hex(db, gcm, app_id, cert, hex) ||
            json_object_set_new(c, "sealed_certificate", json_string(hex)) != 0) {
            json_decref(c);
            return NULL;
        }
    }
    if (c && enabled >= 0 && json_object_set_new(c, "enabled", json_boolean(enabled)) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* A current certificate slot: null when absent. */
static json_t *slot_json(tdb *db, mbedtls_gcm_context *gcm, const char *app_id,
                         const diag_cert_shown *s, const diag_cert *plain) {
    if (!s->present)
        return json_null();
    return cert_json(db, gcm, app_id, s->fingerprint, plain ? plain->certificate : NULL,
                     s->enabled);
}

/* The export line of a project: shown always; p (plain certificates) only when sealing. */
static json_t *export_line(tdb *db, mbedtls_gcm_context *gcm, const diag_project_shown *shown,
                           const diag_project *p) {
    const char *id = shown->app_id;
    json_t *retired = json_array();
    for (size_t i = 0; retired && i < shown->retired_count; i++) {
        json_t *c = cert_json(db, gcm, id, shown->retired[i], p ? p->retired[i] : NULL, -1);
        if (json_array_append_new(retired, c) != 0) {
            json_decref(retired);
            retired = NULL;
        }
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:b,s:b,s:o}", "app_id", id, "name", shown->name, "primary",
                     slot_json(db, gcm, id, &shown->primary, p ? &p->primary : NULL), "secondary",
                     slot_json(db, gcm, id, &shown->secondary, p ? &p->secondary : NULL),
                     "no_certificate", shown->no_certificate, "cohost_auth", shown->cohost_auth,
                     "retired_certificates", retired);
}

tdb_status tdbi_export_one(tdb *db, mbedtls_gcm_context *gcm, const char *app_id, FILE *out,
                           diag_project *p, diag_project_shown *shown) {
    tdb_status st = gcm ? tdb_project_get(db, app_id, p) : tdb_project_show(db, app_id, shown);
    if (st == TDB_OK && gcm)
        diag_project_show(p, shown);
    json_t *line = st == TDB_OK ? export_line(db, gcm, shown, gcm ? p : NULL) : NULL;
    explicit_bzero(p, sizeof *p);
    if (st == TDB_OK && !line) {
        tdbi_fail(db, "cannot write project %s (out of memory, or encryption failed)", app_id);
        st = TDB_ERROR;
    }
    if (st == TDB_OK && (json_dumpf(line, out, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
                         fputc('\n', out) == EOF)) {
        tdbi_fail(db, "cannot write the export: %s", strerror(errno));
        st = TDB_ERROR;
    }
    json_decref(line);
    return st;
}

tdb_status tdbi_load_export_key(tdb *db, const char *key_file, mbedtls_gcm_context *gcm) {
    unsigned char key[TDBI_KEY_LEN];
    char err[sizeof db->err];
    int found = tdbi_read_key_file(key_file, key, err, sizeof err);
    tdb_status st = TDB_OK;
    if (found <= 0) {
        if (found == 0)
            tdbi_fail(db,
                      "key file %s not found (--certificates-for names the key file of the "
                      "database that will import the export)",
                      key_file);
        else
            tdbi_fail(db, "%s", err);
        st = TDB_INVALID;
    } else if (mbedtls_gcm_setkey(gcm, MBEDTLS_CIPHER_ID_AES, key, 8 * TDBI_KEY_LEN) != 0) {
        tdbi_fail(db, "cannot set up AES-256-GCM");
        st = TDB_ERROR;
    } else if (!db->has_key) {
        tdbi_fail(db, "the key file of %s is needed to export its certificates", db->name);
        st = TDB_DECRYPT;
    }
    explicit_bzero(key, sizeof key);
    return st;
}

struct tdbi_export_ctx {
    FILE *out;
    mbedtls_gcm_context gcm;
    bool sealed; /* --certificates-for: certificates sealed for gcm */
    uint64_t *count;
    diag_project p;
    diag_project_shown shown;
};

tdb_status tdbi_export_id(tdb *db, tdbi_export_ctx *x, const char *app_id) {
    tdb_status st =
        tdbi_export_one(db, x->sealed ? &x->gcm : NULL, app_id, x->out, &x->p, &x->shown);
    if (st == TDB_OK)
        (*x->count)++;
    return st;
}

tdb_status tdbi_export_with(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count,
                            tdb_status (*walk)(tdb *db, tdbi_export_ctx *x)) {
    *count = 0;
    /* Two configurations: too big for a worker thread's stack. */
    tdbi_export_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    x->out = out;
    x->count = count;
    x->sealed = cert_key_file != NULL;
    mbedtls_gcm_init(&x->gcm);
    tdb_status st = cert_key_file ? tdbi_load_export_key(db, cert_key_file, &x->gcm) : TDB_OK;
    if (st == TDB_OK)
        st = walk(db, x);
    if (st == TDB_OK && fflush(out) != 0) {
        tdbi_fail(db, "cannot write the export: %s", strerror(errno));
        st = TDB_ERROR;
    }
    mbedtls_gcm_free(&x->gcm);
    explicit_bzero(x, sizeof *x);
    free(x);
    return st;
}

/* SQLite's walk: one read transaction, so that the export is one snapshot whatever others
 * write meanwhile. The reads of each project are the same statements every time: kept. */
static tdb_status sqlite_export_walk(tdb *db, tdbi_export_ctx *x) {
    tdb_status st = TDB_OK;
    tdbi_keep_statements(db, true);
    sqlite3_stmt *ids = NULL;
    if (!tdbi_exec(db, "BEGIN"))
        st = TDB_ERROR;
    if (st == TDB_OK && !(ids = tdbi_prepare(db, "SELECT app_id FROM projects ORDER BY app_id",
                                             "listing projects")))
        st = TDB_ERROR;
    int rc = SQLITE_DONE;
    while (st == TDB_OK && (rc = sqlite3_step(ids)) == SQLITE_ROW) {
        char app_id[TD_CERT_LEN + 1];
        tdbi_set_text(app_id, sizeof app_id, sqlite3_column_text(ids, 0));
        st = tdbi_export_id(db, x, app_id);
    }
    if (st == TDB_OK && rc != SQLITE_DONE)
        st = tdbi_sql_fail(db, "listing projects");
    tdbi_finalize(db, ids);
    tdbi_rollback(db); /* a read transaction: nothing to keep */
    tdbi_keep_statements(db, false);
    return st;
}

tdb_status tdbsq_export(tdb *db, FILE *out, const char *cert_key_file, uint64_t *count) {
    return tdbi_export_with(db, out, cert_key_file, count, sqlite_export_walk);
}

/* ---- The list, whole or a page at a time ----------------------------------------------------- */

static void read_app_id(sqlite3_stmt *st, void *item) {
    tdbi_set_text(item, TD_CERT_LEN + 1, sqlite3_column_text(st, 0));
}

tdb_status tdbsq_project_ids(tdb *db, const char *after, size_t limit,
                             char (**ids)[TD_CERT_LEN + 1], size_t *n) {
    sqlite3_stmt *st =
        tdbi_prepare(db, "SELECT app_id FROM projects WHERE app_id > ?1 ORDER BY app_id LIMIT ?2",
                     "listing projects");
    if (!st)
        return TDB_ERROR;
    sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    void *rows = NULL;
    tdb_status status =
        tdbi_read_rows(db, st, TD_CERT_LEN + 1, read_app_id, "listing projects", &rows, n);
    *ids = rows;
    return status;
}

/* ---- Backup ---------------------------------------------------------------------------------- */

/* Copies db into the new database file `to` in steps, all reading one snapshot. */
static tdb_status backup_into(tdb *db, sqlite3 *to) {
    sqlite3_backup *b = sqlite3_backup_init(to, "main", db->sql, "main");
    if (!b) {
        tdbi_fail(db, "cannot start the backup: %s", sqlite3_errmsg(to));
        return TDB_ERROR;
    }
    int rc;
    while ((rc = sqlite3_backup_step(b, TDB_BACKUP_STEP_PAGES)) == SQLITE_OK || rc == SQLITE_BUSY ||
           rc == SQLITE_LOCKED)
        if (rc != SQLITE_OK)
            sqlite3_sleep(BACKUP_BUSY_SLEEP_MS);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        tdbi_fail(db, "backup failed: %s", sqlite3_errstr(rc));
        return TDB_ERROR;
    }
    return TDB_OK;
}

tdb_status tdbsq_compact(tdb *db) {
    if (tdb_file_gone(db)) {
        tdbi_fail(db, "%s: the database file was deleted or replaced while in use", db->name);
        return TDB_ERROR;
    }
    return tdbi_exec(db, "VACUUM") ? TDB_OK : TDB_ERROR;
}

tdb_status tdbsq_backup(tdb *db, const char *dest_path) {
    struct stat sb;
    if (lstat(dest_path, &sb) == 0) {
        tdbi_fail(db, "%s: exists (a backup is written to a new file)", dest_path);
        return TDB_INVALID;
    }
    if (errno != ENOENT) {
        tdbi_fail(db, "%s: %s", dest_path, strerror(errno));
        return TDB_INVALID;
    }
    size_t cap = strlen(dest_path) + 32;
    char *tmp = malloc(cap);
    if (!tmp) {
        tdbi_fail(db, "out of memory");
        return TDB_ERROR;
    }
    snprintf(tmp, cap, "%s.tmp%ld", dest_path, (long)getpid());
    sqlite3 *to = NULL;
    tdb_status st = TDB_OK;
    /* Mode 0600, as the database's directory is 0700: the copy holds the API keys' hashes and
     * the sealed certificates. An empty file is an empty database to SQLite. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) != 0) {
        tdbi_fail(db, "cannot create %s: %s", tmp, strerror(errno));
        st = TDB_INVALID;
    }
    if (st == TDB_OK && sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        tdbi_fail(db, "cannot open %s: %s", tmp, to ? sqlite3_errmsg(to) : "out of memory");
        st = TDB_ERROR;
    }
    /* The read transaction that every step reads: one snapshot. */
    if (st == TDB_OK && !tdbi_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master"))
        st = TDB_ERROR;
    if (st == TDB_OK)
        st = backup_into(db, to);
    tdbi_rollback(db);
    if (to && sqlite3_close(to) != SQLITE_OK && st == TDB_OK) {
        tdbi_fail(db, "cannot write %s", tmp);
        st = TDB_ERROR;
    }
    /* link, not rename: a file that appeared at dest_path meanwhile is never replaced. */
    if (st == TDB_OK && link(tmp, dest_path) != 0) {
        tdbi_fail(db, "cannot create %s: %s", dest_path, strerror(errno));
        st = TDB_INVALID;
    }
    if (fd >= 0)
        unlink(tmp); /* made here; dest_path is its link when the copy succeeded */
    free(tmp);
    return st;
}

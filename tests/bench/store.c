/* store.c -- the project cache's miss path measured alone: tdb_project_get (the row, the retired
 * certificates, every certificate decrypted) over the App IDs of a file, in the file's order.
 *
 * Design
 * ------
 * `make bench` (run.sh, phase "many projects") builds it against the release libraries and runs
 * it on the database it loaded, with the App IDs shuffled so that SQLite's page cache helps no
 * more than it would for requests spread over every project. Nothing is cached above the store:
 * each call is what a cache miss of the service or of `diagnose --batch` pays. A second pass
 * reads the same App IDs through a tdb_project_cache large enough for all of them (misses, then
 * hits), so that the report can set a hit beside a miss, and says what the cache then holds: the
 * bytes a project costs there, measured. The reads are timed three ways: each in its own read
 * transaction on the read-only connection `diagnose --db` opens (read_us), SNAPSHOT_READS to a
 * read snapshot on it as a batch reads a chunk (snapshot_read_us), and each in its own on a
 * read-write connection as the service's workers open it (rw_read_us: no memory map). It
 * prints one line of JSON, the record run.sh keeps:
 *
 *   store DB KEY IDS [MAX]   -> {"reads":N,"read_us":...,"snapshot_read_us":...,"rw_read_us":...,
 *                                "cache_miss_us":...,"cache_hit_us":...,
 *                                "cache_bytes_per_project":...}
 *
 * Times are CPU time of this process (user + system), which other tenants of a shared machine
 * disturb much less than wall time. The database is opened read-only with its key, as
 * `diagnose --db` opens it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tddb.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The App IDs of path, one per line (32 hex characters), at most max; NULL when unreadable. */
static char (*read_ids(const char *path, size_t max, size_t *count))[TD_CERT_LEN + 1] {
    FILE *f = fopen(path, "r");
    char(*ids)[TD_CERT_LEN + 1] = f ? malloc(max * sizeof *ids) : NULL;
    char line[128];
    size_t n = 0;
    while (ids && n < max && fgets(line, sizeof line, f))
        if (strlen(line) >= TD_CERT_LEN) {
            memcpy(ids[n], line, TD_CERT_LEN);
            ids[n++][TD_CERT_LEN] = '\0';
        }
    if (f)
        fclose(f);
    *count = n;
    return ids;
}

/* Reads per snapshot when reading as `diagnose --batch` does: its CHUNK_LINES. */
#define SNAPSHOT_READS 512

/* Microseconds per tdb_project_get over ids, each in its own read transaction, or (snapshot)
 * SNAPSHOT_READS of them in one (tdb_read_begin); negative when a read failed. */
static double time_reads(tdb *db, char (*ids)[TD_CERT_LEN + 1], size_t n, diag_project *p,
                         bool snapshot) {
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (snapshot && i % SNAPSHOT_READS == 0 && (i == 0 || (tdb_read_end(db), true)) &&
            !tdb_read_begin(db)) {
            fprintf(stderr, "store: %s\n", tdb_errmsg(db));
            return -1;
        }
        if (tdb_project_get(db, ids[i], p) != TDB_OK) {
            fprintf(stderr, "store: %s\n", tdb_errmsg(db));
            return -1;
        }
    }
    if (snapshot)
        tdb_read_end(db);
    return (now_s() - t0) * 1e6 / (double)n;
}

/* Microseconds per tdb_project_cache_get over ids; negative when a lookup failed. */
static double time_cache(tdb *db, tdb_project_cache *c, char (*ids)[TD_CERT_LEN + 1], size_t n) {
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        const diag_project *p;
        if (tdb_project_cache_get(c, db, ids[i], &p, NULL) != TDB_OK || !p) {
            fprintf(stderr, "store: %s\n", p ? tdb_errmsg(db) : "project not found");
            return -1;
        }
    }
    return (now_s() - t0) * 1e6 / (double)n;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: store DB KEY IDS [MAX]\n");
        return 64;
    }
    size_t max = argc > 4 ? strtoul(argv[4], NULL, 10) : 200000, n = 0;
    char err[512] = "";
    tdb *db = tdb_open_readonly(argv[1], argv[2], TDB_KEY_REQUIRED, NULL, err, sizeof err);
    char(*ids)[TD_CERT_LEN + 1] = db ? read_ids(argv[3], max, &n) : NULL;
    diag_project *p = malloc(sizeof *p);
    tdb_project_cache *c = tdb_project_cache_new((size_t)1 << 30);
    bool ok = db && ids && n > 0 && p && c;
    if (!ok)
        fprintf(stderr, "store: %s\n", db ? "cannot read the App IDs" : err);
    /* A first pass warms SQLite's page cache as a running service would have it. */
    double warm = ok ? time_reads(db, ids, n, p, false) : -1;
    double read = warm >= 0 ? time_reads(db, ids, n, p, false) : -1;
    double snap = read >= 0 ? time_reads(db, ids, n, p, true) : -1;
    /* The service's workers read through a read-write connection (tdb_open), which does not
     * map the file (db_open.c, READ_MMAP_BYTES). */
    tdb *rw = snap >= 0 ? tdb_open(argv[1], argv[2], err, sizeof err) : NULL;
    if (snap >= 0 && !rw)
        fprintf(stderr, "store: %s\n", err);
    double rw_warm = rw ? time_reads(rw, ids, n, p, false) : -1;
    double rw_read = rw_warm >= 0 ? time_reads(rw, ids, n, p, false) : -1;
    double miss = rw_read >= 0 ? time_cache(db, c, ids, n) : -1;
    double hit = miss >= 0 ? time_cache(db, c, ids, n) : -1;
    ok = hit >= 0;
    if (ok)
        printf("{\"reads\":%zu,\"cold_read_us\":%.2f,\"read_us\":%.2f,\"snapshot_read_us\":%.2f,"
               "\"rw_read_us\":%.2f,\"cache_miss_us\":%.2f,\"cache_hit_us\":%.3f,"
               "\"cache_bytes_per_project\":%.1f}\n",
               n, warm, read, snap, rw_read, miss, hit,
               (double)tdb_project_cache_bytes(c) / (double)tdb_project_cache_count(c));
    tdb_project_cache_free(c);
    if (p)
        explicit_bzero(p, sizeof *p);
    free(p);
    free(ids);
    tdb_close(rw);
    tdb_close(db);
    return ok ? 0 : 1;
}

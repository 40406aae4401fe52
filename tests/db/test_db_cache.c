/* test_db_cache.c -- the project cache (db/db_cache.c) against a real store.
 *
 * What the service and `diagnose` rely on, from the contract in db/tddb.h: a second lookup is a
 * hit and returns the same reading, unknown App IDs are remembered, a sync empties the cache only
 * when the configuration version moved (a change made through another connection included), the
 * cache is bounded (emptied at three quarters of its slots), and a failed read is not kept.
 */
#include "tddb.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* A 32-character hex string from a prefix and a number (App IDs and certificates). */
static void make_hex(char tag, int n, char out[TD_CERT_LEN + 1]) {
    snprintf(out, TD_CERT_LEN + 1, "%c%031x", tag == 'a' ? 'a' : 'c', (unsigned)n);
}

static void make_project(diag_project *p, int app, int cert) {
    memset(p, 0, sizeof *p);
    make_hex('a', app, p->app_id);
    snprintf(p->name, sizeof p->name, "project %d", app);
    p->primary.present = true;
    p->primary.enabled = true;
    make_hex('c', cert, p->primary.certificate);
}

/* Looks app up in c; returns the project (NULL: unknown) and whether it was a hit. */
static const diag_project *get(tdb_project_cache *c, tdb *db, int app, bool *hit) {
    char id[TD_CERT_LEN + 1];
    make_hex('a', app, id);
    const diag_project *p = (const diag_project *)1;
    EXPECT(tdb_project_cache_get(c, db, id, &p, hit) == TDB_OK);
    return p;
}

static void test_sizes(void) {
    EXPECT(tdb_project_cache_new(0) == NULL);
    EXPECT(tdb_project_cache_new(2) == NULL);
    EXPECT(tdb_project_cache_new(12) == NULL);
    tdb_project_cache *c = tdb_project_cache_new(8);
    EXPECT(c != NULL);
    tdb_project_cache_free(c);
    tdb_project_cache_free(NULL);
}

static void test_hits_versions_bound(const char *dir) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    tdb *db = tdb_open(path, NULL, err, sizeof err);
    tdb *other = db ? tdb_open(path, NULL, err, sizeof err) : NULL;
    CHECK(db && other, "%s", err);
    if (!db || !other)
        return;
    diag_project p;
    make_project(&p, 1, 1);
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);

    tdb_project_cache *c = tdb_project_cache_new(8);
    EXPECT(tdb_project_cache_sync(c, db)); /* the first sync empties */
    EXPECT(!tdb_project_cache_sync(c, db));
    bool hit = true;
    const diag_project *got = get(c, db, 1, &hit);
    EXPECT(!hit && got && strcmp(got->primary.certificate, p.primary.certificate) == 0);
    EXPECT(get(c, db, 1, &hit) == got && hit);
    EXPECT(get(c, db, 2, &hit) == NULL && !hit); /* unknown ... */
    EXPECT(get(c, db, 2, &hit) == NULL && hit);  /* ... and remembered */

    /* A change through another connection moves the version: the next sync empties. */
    make_project(&p, 1, 7);
    EXPECT(tdb_project_put(other, &p, "test", NULL) == TDB_OK);
    EXPECT(tdb_project_cache_sync(c, db));
    got = get(c, db, 1, &hit);
    EXPECT(!hit && got && strcmp(got->primary.certificate, p.primary.certificate) == 0);
    EXPECT(!tdb_project_cache_sync(c, db));

    /* Bounded: 8 slots hold 6 App IDs; the 7th empties the cache. */
    for (int app = 2; app <= 6; app++)
        get(c, db, app, &hit);
    EXPECT(get(c, db, 1, &hit) != NULL && hit);
    EXPECT(get(c, db, 7, &hit) == NULL && !hit);
    EXPECT(get(c, db, 1, &hit) != NULL && !hit);

    tdb_project_cache_free(c);
    tdb_close(other);
    tdb_close(db);
}

/* A read that fails (no key file: the certificates cannot be decrypted) is reported and not
 * kept: the next lookup reads again. */
static void test_failed_read(const char *dir) {
    char path[512], nokey[512], err[512];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    snprintf(nokey, sizeof nokey, "%s/no-such.key", dir);
    tdb *db = tdb_open_readonly(path, nokey, TDB_KEY_OPTIONAL, NULL, err, sizeof err);
    CHECK(db != NULL, "%s", err);
    if (!db)
        return;
    tdb_project_cache *c = tdb_project_cache_new(8);
    char id[TD_CERT_LEN + 1];
    make_hex('a', 1, id);
    const diag_project *p = (const diag_project *)1;
    bool hit = true;
    EXPECT(tdb_project_cache_get(c, db, id, &p, &hit) == TDB_DECRYPT && p == NULL && !hit);
    EXPECT(tdb_project_cache_get(c, db, id, &p, &hit) == TDB_DECRYPT && !hit);
    tdb_project_cache_free(c);
    tdb_close(db);
}

int main(void) {
    char dir[256];
    if (!tu_mkdtemp(dir, sizeof dir, "tddb-cache")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    test_sizes();
    test_hits_versions_bound(dir);
    test_failed_read(dir);
    tu_rmtree(dir);
    return tu_report("db_cache");
}

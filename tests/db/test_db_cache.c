/* test_db_cache.c -- the project cache (db/db_cache.c) against a real store.
 *
 * What the service and `diagnose` rely on, from the contract in db/tddb.h: a second lookup is a
 * hit and returns the same reading, unknown App IDs are remembered, a sync empties the cache only
 * when the configuration version moved (a change made through another connection included), the
 * cache is bounded in bytes (evicting, and every answer still the store's), a configuration it
 * packs comes back the same (every field, 64 retired certificates, the longest name), a scan
 * over many more projects than it holds keeps few of its misses while a hot set still gets in, the
 * configuration it handed out is wiped when it is emptied, a failed read is not kept, and two
 * handles sharing the entries (the service's workers) see each other's reads once and a change
 * made elsewhere after either syncs.
 *
 * With --pg (the ctest variant db_cache_pg) the same on PostgreSQL: each database name is a
 * fresh PostgreSQL database (tdbtest.h), and a change through another connection reaches a
 * connection's version through its watcher, so the sync after one waits for it (settle).
 */
#include "tddb.h"
#include "tdbtest.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --pg: the PostgreSQL database of each name this run used (made on first use, dropped at the
 * end), as test_db's sandboxes. */
static struct {
    tdbt_sandbox box[8];
    const char *name[8];
    int n;
} pg_dbs;

/* The location of the database `name`: a file in dir, or (--pg) its PostgreSQL database. */
static void location(const char *dir, const char *name, char *out, size_t cap) {
    if (!tdbt_pg()) {
        snprintf(out, cap, "%s/%s", dir, name);
        return;
    }
    int i = 0;
    while (i < pg_dbs.n && strcmp(pg_dbs.name[i], name) != 0)
        i++;
    if (i == pg_dbs.n) {
        if (i == (int)(sizeof pg_dbs.box / sizeof pg_dbs.box[0])) {
            fprintf(stderr, "too many databases\n");
            exit(2);
        }
        tdbt_sandbox_init(&pg_dbs.box[i], "tddb-cache-pg", "");
        pg_dbs.name[pg_dbs.n++] = name;
    }
    snprintf(out, cap, "%s", pg_dbs.box[i].db);
}

/* Lets a change made through another connection reach this one's configuration version: at
 * once on SQLite; on PostgreSQL within the watcher's poll (a notification is faster). */
static void settle(void) {
    if (tdbt_pg())
        usleep(300 * 1000);
}

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
    size_t min = tdb_project_cache_min_bytes();
    EXPECT(min > 0 && min < 4096);
    EXPECT(tdb_project_cache_new(0) == NULL);
    EXPECT(tdb_project_cache_new(min - 1) == NULL);
    tdb_project_cache *c = tdb_project_cache_new(min);
    EXPECT(c != NULL && tdb_project_cache_bytes(c) <= min && tdb_project_cache_count(c) == 0);
    tdb_project_cache_free(c);
    tdb_project_cache_free(NULL);
    /* What a project costs: the packed entry and its share of the table, far below the
     * diag_project (~2.4 KB) it unpacks to. */
    diag_project p;
    make_project(&p, 1, 1);
    EXPECT(tdb_project_cache_cost_bytes(&p) < 160);
    EXPECT(tdb_project_cache_cost_bytes(NULL) < tdb_project_cache_cost_bytes(&p));
}

/* Every field of a and b that the engine reads. */
static bool same_project(const diag_project *a, const diag_project *b) {
    bool same = strcmp(a->app_id, b->app_id) == 0 && strcmp(a->name, b->name) == 0 &&
                a->no_certificate == b->no_certificate && a->cohost_auth == b->cohost_auth &&
                a->retired_count == b->retired_count;
    const diag_cert *ca[2] = {&a->primary, &a->secondary}, *cb[2] = {&b->primary, &b->secondary};
    for (int i = 0; i < 2; i++)
        same = same && ca[i]->present == cb[i]->present && ca[i]->enabled == cb[i]->enabled &&
               (!ca[i]->present || strcmp(ca[i]->certificate, cb[i]->certificate) == 0);
    for (size_t i = 0; same && i < a->retired_count; i++)
        same = strcmp(a->retired[i], b->retired[i]) == 0;
    return same;
}

static void test_hits_versions_bound(const char *dir) {
    char path[512], err[512];
    location(dir, "cache.db", path, sizeof path);
    tdb *db = tdb_open(path, NULL, err, sizeof err);
    tdb *other = db ? tdb_open(path, NULL, err, sizeof err) : NULL;
    CHECK(db && other, "%s", err);
    if (!db || !other)
        return;
    diag_project p;
    make_project(&p, 1, 1);
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);

    tdb_project_cache *c = tdb_project_cache_new(1 << 20);
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
    settle();
    EXPECT(tdb_project_cache_sync(c, db));
    got = get(c, db, 1, &hit);
    EXPECT(!hit && got && strcmp(got->primary.certificate, p.primary.certificate) == 0);
    EXPECT(!tdb_project_cache_sync(c, db));

    /* What was handed out holds certificates: emptying the cache wipes it. */
    EXPECT(get(c, db, 1, &hit) == got && got->primary.certificate[0] != '\0');
    make_project(&p, 1, 8);
    EXPECT(tdb_project_put(other, &p, "test", NULL) == TDB_OK);
    settle();
    EXPECT(tdb_project_cache_sync(c, db));
    EXPECT(got->primary.certificate[0] == '\0' && got->app_id[0] == '\0');
    EXPECT(tdb_project_cache_count(c) == 0);

    tdb_project_cache_free(c);
    tdb_close(other);
    tdb_close(db);
}

/* A connection to the database NAME in dir (created); NULL, reported, when it cannot open. */
static tdb *open_db(const char *dir, const char *name) {
    char path[512], err[512];
    location(dir, name, path, sizeof path);
    tdb *db = tdb_open(path, NULL, err, sizeof err);
    CHECK(db != NULL, "%s: %s", name, err);
    return db;
}

/* Everything a configuration can hold comes back from the packed entry as the store read it. */
static void test_packing(const char *dir) {
    tdb *db = open_db(dir, "pack.db");
    if (!db)
        return;
    diag_project p, stored;
    make_project(&p, 1, 1);
    memset(p.name, 'n', DIAG_NAME_MAX);
    p.name[DIAG_NAME_MAX] = '\0';
    p.secondary.present = true; /* disabled */
    make_hex('c', 2, p.secondary.certificate);
    p.cohost_auth = true;
    p.retired_count = DIAG_RETIRED_MAX;
    for (int i = 0; i < DIAG_RETIRED_MAX; i++)
        make_hex('c', 100 + i, p.retired[i]);
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    make_project(&p, 2, 3);
    p.primary.enabled = false;
    p.name[0] = '\0';
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    tdb_project_cache *c = tdb_project_cache_new(1 << 20);
    for (int app = 1; app <= 2; app++) {
        char id[TD_CERT_LEN + 1];
        make_hex('a', app, id);
        EXPECT(tdb_project_get(db, id, &stored) == TDB_OK);
        bool hit;
        const diag_project *got = get(c, db, app, &hit); /* the miss: the store's own reading */
        EXPECT(got && !hit && same_project(got, &stored));
        got = get(c, db, app, &hit); /* the hit: unpacked */
        CHECK(got && hit && same_project(got, &stored), "project %d unpacked differs", app);
    }
    EXPECT(stored.primary.enabled == false && stored.name[0] == '\0');
    tdb_project_cache_free(c);
    tdb_close(db);
}

/* Puts projects 1..n into db, with app % 4 retired certificates when retired; *last is the last
 * one put. */
static void put_projects(tdb *db, int n, bool retired, diag_project *last) {
    for (int app = 1; app <= n; app++) {
        make_project(last, app, app);
        last->retired_count = retired ? (size_t)(app % 4) : 0;
        for (size_t i = 0; i < last->retired_count; i++)
            make_hex('c', 1000 * app + (int)i, last->retired[i]);
        EXPECT(tdb_project_put(db, last, "test", NULL) == TDB_OK);
    }
}

/* A new cache for db that holds about entries projects like p (its bound into *bound), synced. */
static tdb_project_cache *cache_of(tdb *db, const diag_project *p, size_t entries, size_t *bound) {
    *bound = tdb_project_cache_min_bytes() + entries * tdb_project_cache_cost_bytes(p);
    tdb_project_cache *c = tdb_project_cache_new(*bound);
    tdb_project_cache_sync(c, db);
    return c;
}

/* Bounded in bytes: 300 projects through a cache that holds about 40 never pass the bound,
 * evict (misses come back), and every answer -- hit or miss, in any order -- is the store's. */
static void test_eviction(const char *dir) {
    tdb *db = open_db(dir, "evict.db");
    if (!db)
        return;
    enum { N = 300 };
    diag_project p, stored;
    put_projects(db, N, true, &p);
    size_t bound;
    tdb_project_cache *c = cache_of(db, &p, 40, &bound);
    size_t hits = 0, wrong = 0, over = 0;
    unsigned x = 12345;
    for (int k = 0; k < 20 * N; k++) {
        x = x * 1103515245u + 12345u;
        /* Half the lookups on 20 busy projects, the rest over all of them and unknown ones. */
        int app = (x >> 16) % 2 ? 1 + (int)((x >> 8) % 20) : 1 + (int)((x >> 4) % (N + 50));
        bool hit;
        const diag_project *got = get(c, db, app, &hit);
        char id[TD_CERT_LEN + 1];
        make_hex('a', app, id);
        tdb_status st = tdb_project_get(db, id, &stored);
        wrong += st == TDB_OK ? !got || !same_project(got, &stored) : got != NULL;
        hits += hit;
        over += tdb_project_cache_bytes(c) > bound;
    }
    CHECK(wrong == 0 && over == 0, "%zu wrong answers, %zu lookups over the bound", wrong, over);
    CHECK(tdb_project_cache_count(c) > 10 && tdb_project_cache_count(c) < N, "%zu App IDs held",
          tdb_project_cache_count(c));
    CHECK(hits > 20 * N / 10 && hits < 20 * N, "%zu hits of %d", hits, 20 * N);
    /* A bound that no entry fits: nothing kept, every answer still right. */
    tdb_project_cache_free(c);
    c = tdb_project_cache_new(tdb_project_cache_min_bytes());
    bool hit = true;
    EXPECT(get(c, db, 1, &hit) != NULL && !hit && get(c, db, 1, &hit) != NULL && !hit);
    EXPECT(tdb_project_cache_count(c) == 0);
    tdb_project_cache_free(c);
    tdb_close(db);
}

/* Admission: once the cache evicts and lookups mostly miss (a scan over many more projects than
 * it holds), about one miss in sixteen is kept; when a hot set arrives after the scan, it is
 * soon held whole and every lookup hits again. */
static void test_admission(const char *dir) {
    tdb *db = open_db(dir, "admit.db");
    if (!db)
        return;
    enum { N = 400, HOT = 20 };
    diag_project p;
    put_projects(db, N, false, &p);
    size_t bound;
    tdb_project_cache *c = cache_of(db, &p, 40, &bound);
    /* The scan: every project in turn, eight times; a miss is kept when the cache then holds
     * it. Its last 1,200 lookups are past the first windows, the cache long full. */
    size_t misses = 0, kept = 0, early_kept = 0;
    for (int k = 0; k < 8 * N; k++) {
        bool hit;
        EXPECT(get(c, db, 1 + k % N, &hit) != NULL);
        char id[TD_CERT_LEN + 1];
        make_hex('a', 1 + k % N, id);
        bool held = tdb_project_cache_peek(c, id, NULL);
        if (k < 30)
            early_kept += held;
        if (k >= 8 * N - 1200 && !hit) {
            misses++;
            kept += held;
        }
    }
    CHECK(early_kept == 30, "%zu of the first 30 misses kept (the cache was not full)", early_kept);
    CHECK(misses > 1000 && kept * 16 > misses / 2 && kept * 16 < misses * 2,
          "%zu of %zu misses kept during the scan (about one in 16 expected)", kept, misses);
    /* A change empties the cache, and with it the admission's state: the next misses are all
     * kept again (30 fit without an eviction). */
    make_project(&p, N, N + 1);
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    settle();
    EXPECT(tdb_project_cache_sync(c, db) && tdb_project_cache_count(c) == 0);
    size_t kept_after = 0;
    for (int app = 100; app < 130; app++) {
        char id[TD_CERT_LEN + 1];
        make_hex('a', app, id);
        bool hit;
        EXPECT(get(c, db, app, &hit) != NULL && !hit);
        kept_after += tdb_project_cache_peek(c, id, NULL);
    }
    CHECK(kept_after == 30, "%zu of 30 misses kept after the cache was emptied", kept_after);
    /* The hot set: 20 projects in turn. */
    size_t hits = 0;
    for (int k = 0; k < 3000; k++) {
        bool hit;
        EXPECT(get(c, db, 1 + k % HOT, &hit) != NULL);
        hits += k >= 2800 && hit;
    }
    CHECK(hits == 200, "%zu of the hot set's last 200 lookups hit", hits);
    tdb_project_cache_free(c);
    tdb_close(db);
}

/* Two handles on one pool, each with its own connection, as two workers of the service. */
static void test_sharing(const char *dir) {
    tdb *db1 = open_db(dir, "share.db");
    tdb *db2 = db1 ? open_db(dir, "share.db") : NULL;
    tdb *writer = db2 ? open_db(dir, "share.db") : NULL;
    if (!writer) {
        tdb_close(db2);
        tdb_close(db1);
        return;
    }
    diag_project p;
    make_project(&p, 1, 1);
    EXPECT(tdb_project_put(writer, &p, "test", NULL) == TDB_OK);
    tdb_project_cache *a = tdb_project_cache_new(1 << 20);
    tdb_project_cache *b = tdb_project_cache_new_sharing(a);
    EXPECT(a && b && tdb_project_cache_sync(a, db1) && tdb_project_cache_sync(b, db2));
    bool hit;
    /* peek answers only what the pool holds, and never reads (the service's event loops on a
     * remote store): before the read nothing, after it the project through either handle, and
     * an unknown App ID once looked up is held too (as "no project"). */
    char id1[TD_CERT_LEN + 1], id2[TD_CERT_LEN + 1];
    make_hex('a', 1, id1);
    make_hex('a', 2, id2);
    const diag_project *peeked = (const diag_project *)1;
    EXPECT(!tdb_project_cache_peek(b, id1, &peeked) && !tdb_project_cache_peek(a, id1, NULL));
    EXPECT(tdb_project_cache_count(a) == 0);
    const diag_project *got = get(a, db1, 1, &hit);
    EXPECT(got && !hit);
    EXPECT(tdb_project_cache_peek(b, id1, &peeked) && peeked &&
           strcmp(peeked->primary.certificate, p.primary.certificate) == 0);
    EXPECT(!tdb_project_cache_peek(b, id2, NULL));
    EXPECT(get(b, db2, 2, &hit) == NULL && !hit);
    peeked = (const diag_project *)1;
    EXPECT(tdb_project_cache_peek(a, id2, &peeked) && peeked == NULL);
    got = get(b, db2, 1, &hit); /* read once, by a: b hits */
    EXPECT(got && hit && strcmp(got->primary.certificate, p.primary.certificate) == 0);
    EXPECT(tdb_project_cache_count(a) == 2 && tdb_project_cache_count(b) == 2);
    /* A change elsewhere: a syncs and empties; b's sync says the version moved, b reads anew. */
    make_project(&p, 1, 9);
    EXPECT(tdb_project_put(writer, &p, "test", NULL) == TDB_OK);
    settle();
    EXPECT(tdb_project_cache_sync(a, db1) && tdb_project_cache_count(b) == 0);
    EXPECT(tdb_project_cache_sync(b, db2));
    got = get(b, db2, 1, &hit);
    EXPECT(got && !hit && strcmp(got->primary.certificate, p.primary.certificate) == 0);
    got = get(a, db1, 1, &hit);
    EXPECT(got && hit && strcmp(got->primary.certificate, p.primary.certificate) == 0);
    tdb_project_cache_free(a); /* b keeps the entries */
    got = get(b, db2, 1, &hit);
    EXPECT(got && hit);
    tdb_project_cache_free(b);
    tdb_close(writer);
    tdb_close(db2);
    tdb_close(db1);
}

/* A read that fails (no key file: the certificates cannot be decrypted) is reported and not
 * kept: the next lookup reads again. */
static void test_failed_read(const char *dir) {
    char path[512], nokey[512], err[512];
    location(dir, "cache.db", path, sizeof path);
    snprintf(nokey, sizeof nokey, "%s/no-such.key", dir);
    tdb *db = tdb_open_readonly(path, nokey, TDB_KEY_OPTIONAL, NULL, err, sizeof err);
    CHECK(db != NULL, "%s", err);
    if (!db)
        return;
    tdb_project_cache *c = tdb_project_cache_new(1 << 20);
    char id[TD_CERT_LEN + 1];
    make_hex('a', 1, id);
    const diag_project *p = (const diag_project *)1;
    bool hit = true;
    EXPECT(tdb_project_cache_get(c, db, id, &p, &hit) == TDB_DECRYPT && p == NULL && !hit);
    EXPECT(tdb_project_cache_get(c, db, id, &p, &hit) == TDB_DECRYPT && !hit);
    tdb_project_cache_free(c);
    tdb_close(db);
}

/* The store finds a project whatever the case of the App ID asked for; the cache must hand it
 * out with its own spelling, or the engine takes the project as the join's (it says "project
 * unknown, configured in another case"). Failed on the merge of the shared cache: entries
 * unpacked with the App ID asked for. */
static void test_other_case(const char *dir) {
    char path[512], err[512];
    location(dir, "case.db", path, sizeof path);
    tdb *db = tdb_open(path, NULL, err, sizeof err);
    CHECK(db != NULL, "%s", err);
    if (!db)
        return;
    diag_project p;
    make_project(&p, 0xabc, 1); /* a000...abc: lower case */
    EXPECT(tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    char upper[TD_CERT_LEN + 1];
    for (size_t i = 0; i <= TD_CERT_LEN; i++)
        upper[i] =
            (char)(p.app_id[i] >= 'a' && p.app_id[i] <= 'f' ? p.app_id[i] - 32 : p.app_id[i]);
    tdb_project_cache *c = tdb_project_cache_new(1 << 20);
    for (int round = 0; round < 2; round++) { /* a miss, then what a second lookup finds */
        const diag_project *got = NULL;
        bool hit = true;
        EXPECT(tdb_project_cache_get(c, db, upper, &got, &hit) == TDB_OK);
        EXPECT(got && strcmp(got->app_id, p.app_id) == 0);
    }
    const diag_project *got = NULL;
    EXPECT(tdb_project_cache_get(c, db, p.app_id, &got, NULL) == TDB_OK && got &&
           strcmp(got->app_id, p.app_id) == 0);
    tdb_project_cache_free(c);
    tdb_close(db);
}

int main(int argc, char **argv) {
    char dir[256], key[300];
    bool pg = tdbt_use_pg(&argc, argv);
    if (!tu_mkdtemp(dir, sizeof dir, "tddb-cache")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    /* A URL has no default key file: one for every database of the run. */
    snprintf(key, sizeof key, "%s/tokendoctor.key", dir);
    if (pg)
        setenv(TDB_ENV_KEY_FILE, key, 1);
    test_sizes();
    test_hits_versions_bound(dir);
    test_packing(dir);
    test_eviction(dir);
    test_admission(dir);
    test_sharing(dir);
    test_failed_read(dir);
    test_other_case(dir);
    for (int i = 0; i < pg_dbs.n; i++)
        tdbt_sandbox_free(&pg_dbs.box[i]);
    tu_rmtree(dir);
    return tu_report(pg ? "db_cache_pg" : "db_cache");
}

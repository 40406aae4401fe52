/* db_cache.c -- a cache of project configurations, keyed by the store's configuration version.
 *
 * Design
 * ------
 * Reading a configuration costs a SQL query (and takes SQLite's process-wide locks, which stop
 * threads from scaling), while the diagnoses of a service or of a batch cycle through a few App
 * IDs. So each thread that diagnoses keeps one cache next to its own tdb: the service one per
 * worker, `diagnose` one per thread. A cache belongs to one thread and takes no lock.
 *
 * Validity comes from tdb_config_version, which every change of a project or an API key moves
 * in its own transaction, whoever makes it, and which the diagnosis log does not move: the
 * cache remembers the version it was filled at, and tdb_project_cache_sync empties it when the
 * version moved (or cannot be read). How often to sync is the owner's choice -- the service
 * once per event-loop iteration, a batch once per chunk -- since the check, though cheap, is a
 * statement step.
 *
 * Open addressing with linear probing over a power-of-two table of small slots, keyed by the
 * 32-character App ID (FNV-1a). Unknown App IDs are remembered too: a diagnosis of an unknown
 * project must not cost a query every time. A known project's configuration is allocated when
 * it is read (a hit allocates nothing). When three quarters of the slots are used the cache is
 * emptied: a bound on memory without an eviction policy, and refilling costs one query per App
 * ID. A configuration holds the project's certificates, so every one that leaves the cache --
 * emptied, failed to read, or freed with the cache -- is wiped with explicit_bzero (which the
 * compiler may not drop as a dead store) before it is freed.
 */
#include "db_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    bool used;
    char app_id[TD_CERT_LEN + 1];
    diag_project *project; /* NULL: known to be unknown; owned by the cache */
} cache_slot;

struct tdb_project_cache {
    cache_slot *slots;
    size_t cap;       /* a power of two */
    size_t used;      /* slots in use */
    uint64_t version; /* tdb_config_version() the entries were read at; 0: none yet */
};

tdb_project_cache *tdb_project_cache_new(size_t cap) {
    if (cap < 4 || (cap & (cap - 1)) != 0)
        return NULL;
    tdb_project_cache *c = calloc(1, sizeof *c);
    if (c && !(c->slots = calloc(cap, sizeof *c->slots))) {
        free(c);
        return NULL;
    }
    if (c)
        c->cap = cap;
    return c;
}

/* Frees a configuration after wiping its certificates. */
static void project_free(diag_project *p) {
    if (!p)
        return;
    explicit_bzero(p, sizeof *p);
    free(p);
}

static void cache_clear(tdb_project_cache *c) {
    if (c->used == 0)
        return;
    for (size_t i = 0; i < c->cap; i++) {
        project_free(c->slots[i].project);
        c->slots[i].project = NULL;
        c->slots[i].used = false;
    }
    c->used = 0;
}

void tdb_project_cache_free(tdb_project_cache *c) {
    if (!c)
        return;
    cache_clear(c);
    free(c->slots);
    free(c);
}

bool tdb_project_cache_sync(tdb_project_cache *c, tdb *db) {
    uint64_t v = tdb_config_version(db); /* 0 is an error: emptied, and asked again next time */
    if (v != 0 && v == c->version)
        return false;
    c->version = v;
    cache_clear(c);
    return true;
}

static size_t home_slot(const tdb_project_cache *c, const char *app_id) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < TD_CERT_LEN; i++) {
        h ^= (unsigned char)app_id[i];
        h *= 16777619u;
    }
    return h & (c->cap - 1);
}

tdb_status tdb_project_cache_get(tdb_project_cache *c, tdb *db, const char *app_id,
                                 const diag_project **out, bool *hit) {
    size_t mask = c->cap - 1;
    size_t i = home_slot(c, app_id);
    *out = NULL;
    for (; c->slots[i].used; i = (i + 1) & mask)
        if (memcmp(c->slots[i].app_id, app_id, TD_CERT_LEN) == 0) {
            if (hit)
                *hit = true;
            *out = c->slots[i].project;
            return TDB_OK;
        }
    if (hit)
        *hit = false;
    if (c->used + 1 > c->cap / 4 * 3) {
        cache_clear(c);
        i = home_slot(c, app_id);
    }
    cache_slot *slot = &c->slots[i];
    memcpy(slot->app_id, app_id, TD_CERT_LEN);
    slot->app_id[TD_CERT_LEN] = '\0';
    diag_project *p = malloc(sizeof *p);
    tdb_status st = TDB_ERROR;
    if (p)
        st = tdb_project_get(db, slot->app_id, p);
    else
        tdbi_fail(db, "out of memory reading project %s", slot->app_id);
    if (st != TDB_OK) {
        project_free(p); /* a failed read may have filled part of it */
        p = NULL;
    }
    if (st != TDB_OK && st != TDB_NOT_FOUND)
        return st; /* not cached: the next lookup tries again */
    slot->used = true;
    slot->project = p;
    c->used++;
    *out = p;
    return TDB_OK;
}

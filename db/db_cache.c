/* db_cache.c -- a cache of project configurations, keyed by the store's configuration version,
 * bounded in bytes.
 *
 * Design
 * ------
 * Reading a configuration costs a SQL query (~10 us of CPU, docs/performance.md "Many
 * projects"), while the diagnoses of a service or of a batch cycle through the App IDs of the
 * projects that are busy -- a few, or a million. So each thread that diagnoses keeps a cache
 * next to its own tdb: `diagnose` one per thread, the service one per worker.
 *
 * The service's workers share the entries (tdb_project_cache_new_sharing): with a million
 * projects, caches of their own would hold every project once per worker and each would have to
 * read it once. A handle (tdb_project_cache) is one thread's: its tdb's version as last synced
 * and the configuration it unpacked last. The entries are a pool behind one mutex, held only to
 * find, unpack or insert an entry (well under a microsecond), never across a read from the
 * store: a miss reads with the pool unlocked and inserts only if no handle emptied the pool
 * meanwhile (its generation), so a configuration read before a change never survives the
 * emptying that change causes. A private cache is a pool with one handle; its mutex is never
 * contended.
 *
 * Validity comes from tdb_config_version, which every change of a project or an API key moves
 * in its own transaction, whoever makes it, and which the diagnosis log does not move: the
 * pool remembers the newest version it was emptied at, and tdb_project_cache_sync empties it when
 * a handle's tdb shows a newer one (or cannot read it). How often to sync is the owner's choice --
 * the service once per event-loop iteration, a batch once per chunk -- since the check, though
 * cheap, is a statement step.
 *
 * Size. A diag_project is ~2.4 KB, nearly all of it room for 64 retired certificates that few
 * projects have; a million of them would be gigabytes. An entry is therefore packed: the App ID,
 * the flags, each certificate present and the name, back to back in one allocation of ~100-200
 * bytes (what tdb_project_cache_cost_bytes says and docs/performance.md measures). A lookup
 * unpacks the entry into the one diag_project the cache owns, which the caller reads until its
 * next call -- the contract this cache always had, so its users did not change. Unknown App IDs
 * are remembered too (an entry without a configuration): a diagnosis of an unknown project must
 * not cost a query every time.
 *
 * The bound is in bytes, what an operator sizes memory in: the table plus every entry with
 * malloc's overhead. The table is open addressing with linear probing over a power of two of
 * slots (hash and pointer), keyed by the 32-character App ID (FNV-1a); it doubles at three
 * quarters while the bound allows, and when a new entry would pass the bound, entries chosen at
 * random leave until it fits (backward-shift deletion keeps the probe runs intact). Random
 * eviction needs no list and no per-hit write, and under a skewed load the busy projects come
 * back at once.
 *
 * Admission. Under lookups spread evenly over many more projects than the cache holds (a batch
 * over a million projects), nearly every lookup misses, and keeping each miss means evicting an
 * entry that was as likely to come back -- the hit rate is the same whichever entries are held --
 * for a wipe, a free and a malloc in memory no CPU cache holds (~0.7 us of a ~16 us request,
 * docs/performance.md "Admission"). So once the pool has had to evict, and while fewer than one
 * lookup in ADMIT_LOW_HITS of the last ADMIT_WINDOW hit, a miss is kept only one time in
 * ADMIT_ONE_IN. A project that keeps missing still gets in (the more often it misses, the
 * sooner), and as soon as a window sees hits again every miss is kept: a hot set that arrives
 * after a scan fills the cache within a few windows (test `admission`). A skewed load hits far
 * more than that, so the rule never applies to it.
 *
 * An entry holds the project's certificates, so every one that leaves the cache -- evicted,
 * emptied, or freed with the cache -- is wiped with explicit_bzero (which the compiler may not
 * drop as a dead store) before it is freed, and so is the unpacked configuration.
 */
#include "db_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum {
    E_FOUND = 1 << 0, /* a stored project; without it, an App ID known to be unknown */
    E_PRIMARY = 1 << 1,
    E_PRIMARY_ON = 1 << 2,
    E_SECONDARY = 1 << 3,
    E_SECONDARY_ON = 1 << 4,
    E_NO_CERTIFICATE = 1 << 5,
    E_COHOST = 1 << 6,
};

_Static_assert(DIAG_RETIRED_MAX <= 255 && DIAG_NAME_MAX <= 255,
               "an entry counts retired certificates and the name's bytes in one byte each");

/* A packed configuration: data holds the primary and secondary certificates (when present),
 * the retired ones (most recent last) and the name, TD_CERT_LEN bytes per certificate. */
typedef struct {
    uint32_t size; /* of the allocation, for the wipe */
    uint8_t flags;
    uint8_t retired_count;
    uint8_t name_len;
    char app_id[TD_CERT_LEN];
    char data[];
} cache_entry;

typedef struct {
    uint32_t hash;
    cache_entry *entry; /* NULL: free slot */
} cache_slot;

/* The entries, shared by every handle made from the first; the fields below lock are under it. */
typedef struct {
    atomic_size_t refs; /* handles */
    pthread_mutex_t lock;
    cache_slot *slots;
    size_t cap;       /* a power of two */
    size_t used;      /* slots in use */
    size_t bytes;     /* the table and every entry, malloc's overhead included */
    size_t max_bytes; /* the bound */
    uint64_t rng;     /* xorshift state choosing what to evict */
    uint64_t version; /* the newest tdb_config_version() it was emptied at; 0: none, or error */
    uint64_t emptied; /* times emptied: a miss inserts only if this did not move meanwhile */
    bool evicted;     /* made room by evicting since it was last emptied */
    bool few_hits;    /* the last window of lookups hit less than one in ADMIT_LOW_HITS */
    uint32_t window_lookups, window_hits;
    uint32_t admit_tick; /* misses while few_hits: every ADMIT_ONE_IN-th is kept */
} cache_pool;

enum { ADMIT_WINDOW = 1024, ADMIT_LOW_HITS = 4, ADMIT_ONE_IN = 16 };

struct tdb_project_cache {
    cache_pool *pool;
    uint64_t seen;        /* the version of this handle's last sync; 0: none yet, or error */
    diag_project current; /* the configuration of this handle's last lookup, unpacked */
};

#define FIRST_CAP 16

/* What an allocation of n bytes costs in glibc's malloc: a size word, rounded to 16. */
static size_t malloc_cost(size_t n) {
    return (n + sizeof(size_t) + 15) & ~(size_t)15;
}

size_t tdb_project_cache_min_bytes(void) {
    return malloc_cost(sizeof(cache_pool)) + malloc_cost(FIRST_CAP * sizeof(cache_slot));
}

static tdb_project_cache *handle_new(cache_pool *pool) {
    tdb_project_cache *c = pool ? calloc(1, sizeof *c) : NULL;
    if (c) {
        c->pool = pool;
        atomic_fetch_add(&pool->refs, 1);
    }
    return c;
}

tdb_project_cache *tdb_project_cache_new(size_t max_bytes) {
    if (max_bytes < tdb_project_cache_min_bytes())
        return NULL;
    cache_pool *pool = calloc(1, sizeof *pool);
    bool ok = pool && (pool->slots = calloc(FIRST_CAP, sizeof *pool->slots)) != NULL &&
              pthread_mutex_init(&pool->lock, NULL) == 0;
    tdb_project_cache *c = ok ? handle_new(pool) : NULL;
    if (!c && pool) {
        if (ok)
            pthread_mutex_destroy(&pool->lock);
        free(pool->slots);
        free(pool);
        return NULL;
    }
    if (c) {
        pool->cap = FIRST_CAP;
        pool->bytes = tdb_project_cache_min_bytes();
        pool->max_bytes = max_bytes;
        pool->rng = 0x9e3779b97f4a7c15u;
    }
    return c;
}

tdb_project_cache *tdb_project_cache_new_sharing(tdb_project_cache *other) {
    return handle_new(other->pool);
}

size_t tdb_project_cache_bytes(tdb_project_cache *c) {
    pthread_mutex_lock(&c->pool->lock);
    size_t bytes = c->pool->bytes;
    pthread_mutex_unlock(&c->pool->lock);
    return bytes;
}

size_t tdb_project_cache_count(tdb_project_cache *c) {
    pthread_mutex_lock(&c->pool->lock);
    size_t used = c->pool->used;
    pthread_mutex_unlock(&c->pool->lock);
    return used;
}

static size_t entry_size(const diag_project *p) {
    size_t certs = (p->primary.present ? 1 : 0) + (p->secondary.present ? 1 : 0) + p->retired_count;
    return sizeof(cache_entry) + certs * TD_CERT_LEN + strlen(p->name);
}

size_t tdb_project_cache_cost_bytes(const diag_project *p) {
    /* The entry, and its slot in a table between 3/8 and 3/4 full: ~2 slots. */
    return malloc_cost(p ? entry_size(p) : sizeof(cache_entry)) + 2 * sizeof(cache_slot);
}

/* Wipes and frees an entry. */
static void entry_free(cache_entry *e) {
    if (!e)
        return;
    explicit_bzero(e, e->size);
    free(e);
}

/* Under the lock. */
static void pool_clear(cache_pool *pool) {
    pool->emptied++;
    pool->evicted = false;
    if (pool->used == 0)
        return;
    for (size_t i = 0; i < pool->cap; i++) {
        if (pool->slots[i].entry)
            pool->bytes -= malloc_cost(pool->slots[i].entry->size);
        entry_free(pool->slots[i].entry);
        pool->slots[i].entry = NULL;
    }
    pool->used = 0;
}

void tdb_project_cache_free(tdb_project_cache *c) {
    if (!c)
        return;
    cache_pool *pool = c->pool;
    explicit_bzero(c, sizeof *c);
    free(c);
    if (atomic_fetch_sub(&pool->refs, 1) != 1)
        return;
    pool_clear(pool); /* the last handle: nobody else can reach the pool */
    pthread_mutex_destroy(&pool->lock);
    free(pool->slots);
    free(pool);
}

bool tdb_project_cache_sync(tdb_project_cache *c, tdb *db) {
    uint64_t v = tdb_config_version(db); /* 0 is an error: emptied, and asked again next time */
    if (v != 0 && v == c->seen)
        return false;
    c->seen = v;
    explicit_bzero(&c->current, sizeof c->current);
    cache_pool *pool = c->pool;
    pthread_mutex_lock(&pool->lock);
    /* A handle behind another (it read the version earlier) must not empty what the other
     * filled at the newer version: entries only ever get newer than the version it saw. */
    if (v == 0 || v > pool->version || pool->version == 0) {
        pool->version = v;
        pool_clear(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return true;
}

static uint32_t hash_app_id(const char *app_id) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < TD_CERT_LEN; i++) {
        h ^= (unsigned char)app_id[i];
        h *= 16777619u;
    }
    return h;
}

/* The slot of app_id, or the free slot where it would go. */
static size_t find_slot(const cache_pool *pool, const char *app_id, uint32_t h) {
    size_t mask = pool->cap - 1, i = h & mask;
    for (; pool->slots[i].entry; i = (i + 1) & mask)
        if (pool->slots[i].hash == h &&
            memcmp(pool->slots[i].entry->app_id, app_id, TD_CERT_LEN) == 0)
            break;
    return i;
}

/* Empties slot i, moving back the entries of its probe run that would no longer be found. */
static void remove_slot(cache_pool *pool, size_t i) {
    size_t mask = pool->cap - 1;
    pool->bytes -= malloc_cost(pool->slots[i].entry->size);
    entry_free(pool->slots[i].entry);
    pool->slots[i].entry = NULL;
    pool->used--;
    for (size_t j = (i + 1) & mask; pool->slots[j].entry; j = (j + 1) & mask) {
        size_t home = pool->slots[j].hash & mask;
        /* The entry at j stays when its home is cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            pool->slots[i] = pool->slots[j];
            pool->slots[j].entry = NULL;
            i = j;
        }
    }
}

/* Removes one entry chosen at random (the first used slot from a random one). */
static void evict_one(cache_pool *pool) {
    pool->rng ^= pool->rng << 13;
    pool->rng ^= pool->rng >> 7;
    pool->rng ^= pool->rng << 17;
    size_t mask = pool->cap - 1, i = (size_t)pool->rng & mask;
    while (!pool->slots[i].entry)
        i = (i + 1) & mask;
    remove_slot(pool, i);
}

/* Doubles the table when the bound allows it; false when it cannot grow (then entries are
 * evicted instead). */
static bool grow(cache_pool *pool) {
    size_t cap = pool->cap * 2;
    size_t more =
        malloc_cost(cap * sizeof(cache_slot)) - malloc_cost(pool->cap * sizeof(cache_slot));
    if (pool->bytes + more > pool->max_bytes)
        return false;
    cache_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < pool->cap; i++) {
        if (!pool->slots[i].entry)
            continue;
        size_t j = pool->slots[i].hash & (cap - 1);
        while (slots[j].entry)
            j = (j + 1) & (cap - 1);
        slots[j] = pool->slots[i];
    }
    free(pool->slots);
    pool->slots = slots;
    pool->cap = cap;
    pool->bytes += more;
    return true;
}

/* Makes room for one more entry of cost bytes; false when it can never fit. */
static bool make_room(cache_pool *pool, size_t cost) {
    if (cost > pool->max_bytes - tdb_project_cache_min_bytes())
        return false;
    size_t used_before = pool->used;
    if (pool->used + 1 > pool->cap / 4 * 3 && !grow(pool))
        while (pool->used + 1 > pool->cap / 4 * 3)
            evict_one(pool);
    while (pool->used > 0 && pool->bytes + cost > pool->max_bytes)
        evict_one(pool);
    pool->evicted = pool->evicted || pool->used < used_before;
    return pool->bytes + cost <= pool->max_bytes;
}

/* The packed copy of p (NULL: an unknown App ID); NULL when out of memory. */
static cache_entry *pack(const char *app_id, const diag_project *p) {
    size_t size = p ? entry_size(p) : sizeof(cache_entry);
    cache_entry *e = malloc(size);
    if (!e)
        return NULL;
    *e = (cache_entry){.size = (uint32_t)size};
    memcpy(e->app_id, app_id, TD_CERT_LEN);
    if (!p)
        return e;
    char *d = e->data;
    e->flags = E_FOUND | (p->primary.present ? E_PRIMARY : 0) |
               (p->primary.enabled ? E_PRIMARY_ON : 0) | (p->secondary.present ? E_SECONDARY : 0) |
               (p->secondary.enabled ? E_SECONDARY_ON : 0) |
               (p->no_certificate ? E_NO_CERTIFICATE : 0) | (p->cohost_auth ? E_COHOST : 0);
    if (p->primary.present)
        d = (char *)memcpy(d, p->primary.certificate, TD_CERT_LEN) + TD_CERT_LEN;
    if (p->secondary.present)
        d = (char *)memcpy(d, p->secondary.certificate, TD_CERT_LEN) + TD_CERT_LEN;
    e->retired_count = (uint8_t)p->retired_count;
    for (size_t i = 0; i < p->retired_count; i++)
        d = (char *)memcpy(d, p->retired[i], TD_CERT_LEN) + TD_CERT_LEN;
    e->name_len = (uint8_t)strlen(p->name);
    memcpy(d, p->name, e->name_len);
    return e;
}

/* Copies a certificate of TD_CERT_LEN bytes at *d into out (NUL-terminated) and moves *d on. */
static void take_cert(const char **d, char out[TD_CERT_LEN + 1]) {
    memcpy(out, *d, TD_CERT_LEN);
    out[TD_CERT_LEN] = '\0';
    *d += TD_CERT_LEN;
}

/* The configuration e packs, in c->current (NULL for an unknown App ID). */
static const diag_project *unpack(tdb_project_cache *c, const cache_entry *e) {
    if (!(e->flags & E_FOUND))
        return NULL;
    diag_project *p = &c->current;
    const char *d = e->data;
    memcpy(p->app_id, e->app_id, TD_CERT_LEN);
    p->app_id[TD_CERT_LEN] = '\0';
    diag_cert *certs[2] = {&p->primary, &p->secondary};
    static const uint8_t present[2] = {E_PRIMARY, E_SECONDARY},
                         on[2] = {E_PRIMARY_ON, E_SECONDARY_ON};
    for (int i = 0; i < 2; i++) {
        certs[i]->present = e->flags & present[i];
        certs[i]->enabled = e->flags & on[i];
        if (certs[i]->present)
            take_cert(&d, certs[i]->certificate);
        else
            explicit_bzero(certs[i]->certificate, sizeof certs[i]->certificate);
    }
    p->no_certificate = e->flags & E_NO_CERTIFICATE;
    p->cohost_auth = e->flags & E_COHOST;
    p->retired_count = e->retired_count;
    for (size_t i = 0; i < p->retired_count; i++)
        take_cert(&d, p->retired[i]);
    memcpy(p->name, d, e->name_len);
    p->name[e->name_len] = '\0';
    return p;
}

/* Keeps e for app_id unless the pool was emptied since the lookup that missed (emptied_at) or
 * another handle kept it meanwhile; true when kept (the pool owns e). */
static bool keep(cache_pool *pool, cache_entry *e, uint32_t h, uint64_t emptied_at) {
    pthread_mutex_lock(&pool->lock);
    bool kept = pool->emptied == emptied_at && !pool->slots[find_slot(pool, e->app_id, h)].entry &&
                make_room(pool, malloc_cost(e->size));
    if (kept) {
        pool->slots[find_slot(pool, e->app_id, h)] = (cache_slot){.hash = h, .entry = e};
        pool->used++;
        pool->bytes += malloc_cost(e->size);
    }
    pthread_mutex_unlock(&pool->lock);
    return kept;
}

/* Under the lock: counts a lookup (hit or not) in the current window, and turns the window
 * when it is full. */
static void count_lookup(cache_pool *pool, bool hit) {
    pool->window_hits += hit;
    if (++pool->window_lookups < ADMIT_WINDOW)
        return;
    pool->few_hits = pool->window_hits < ADMIT_WINDOW / ADMIT_LOW_HITS;
    pool->window_lookups = pool->window_hits = 0;
}

/* Under the lock, after a miss: whether to keep what the store gives (the design comment's
 * "Admission"). */
static bool admits(cache_pool *pool) {
    return !pool->evicted || !pool->few_hits || pool->admit_tick++ % ADMIT_ONE_IN == 0;
}

/* Whether the pool holds app_id (hash h), unpacked into *out when out is not NULL; *emptied_at
 * (when not NULL) is the pool's generation at that moment, and *admit whether a miss would be
 * kept. */
static bool find_locked(tdb_project_cache *c, const char *app_id, uint32_t h,
                        const diag_project **out, uint64_t *emptied_at, bool *admit) {
    cache_pool *pool = c->pool;
    pthread_mutex_lock(&pool->lock);
    cache_entry *found = pool->slots[find_slot(pool, app_id, h)].entry;
    /* A get counts, and a peek that answers: a peek that misses is followed by a get (the
     * service on a remote store parks for one), and a peek without out only asks. */
    if (admit || (out && found))
        count_lookup(pool, found != NULL);
    if (found && out)
        *out = unpack(c, found);
    if (emptied_at)
        *emptied_at = pool->emptied;
    if (admit)
        *admit = !found && admits(pool);
    pthread_mutex_unlock(&pool->lock);
    return found != NULL;
}

bool tdb_project_cache_peek(tdb_project_cache *c, const char *app_id, const diag_project **out) {
    return find_locked(c, app_id, hash_app_id(app_id), out, NULL, NULL);
}

tdb_status tdb_project_cache_get(tdb_project_cache *c, tdb *db, const char *app_id,
                                 const diag_project **out, bool *hit) {
    cache_pool *pool = c->pool;
    uint32_t h = hash_app_id(app_id);
    uint64_t emptied_at;
    bool admit;
    bool found = find_locked(c, app_id, h, out, &emptied_at, &admit);
    if (hit)
        *hit = found;
    if (found)
        return TDB_OK;
    *out = NULL;
    char id[TD_CERT_LEN + 1];
    memcpy(id, app_id, TD_CERT_LEN);
    id[TD_CERT_LEN] = '\0';
    tdb_status st = tdb_project_get(db, id, &c->current); /* wipes c->current on failure */
    if (st != TDB_OK && st != TDB_NOT_FOUND)
        return st; /* not cached: the next lookup tries again */
    const diag_project *p = st == TDB_OK ? &c->current : NULL;
    /* An entry is keyed by the App ID asked for and unpacks with that App ID, so a project the
     * store found under another case (tdb_project_get ignores case) is not kept: the engine must
     * see its own spelling to say the App IDs differ. Such lookups are rare and read again. */
    bool same_spelling = !p || memcmp(p->app_id, id, TD_CERT_LEN) == 0;
    cache_entry *e = same_spelling && admit ? pack(id, p) : NULL;
    if (e && !keep(pool, e, h, emptied_at))
        entry_free(e); /* out of memory, larger than the bound, or stale: read again next time */
    *out = p;
    return TDB_OK;
}

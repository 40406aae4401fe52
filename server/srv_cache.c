/* srv_cache.c -- per-worker caches of project configurations and verified API keys.
 *
 * Both caches belong to one worker, so they take no lock. They are only correct while the
 * configuration (projects, API keys) is unchanged, so every request that uses them first asks
 * the store for its configuration version (srv_cache_check_version, tdb_config_version): a
 * counter that every configuration change moves in its own transaction, whoever makes it --
 * another worker, the CLI, a second service on the same file -- and then both caches are
 * emptied. The diagnosis log, written to the same database many times a second, does not move
 * it, so the caches stay warm under load. The routes that write mark the check due again
 * (srv_cache_changed), so that a worker reads its own write at once. Two services sharing one
 * database therefore never disagree.
 *
 * The check is cheap (kept statements; PRAGMA data_version first, the counter only when that
 * moved) but is still made once per event-loop iteration at most: a request handled in an
 * iteration was sent after that iteration's epoll_wait returned, hence after every commit the
 * check can miss.
 *
 * The project cache is db's tdb_project_cache (db_cache.c), the one `diagnose` uses per thread
 * too: it holds the version it was filled at (so its sync tells this file when to empty the key
 * cache as well), remembers unknown App IDs, is bounded in bytes (--cache-mb), and wipes every
 * configuration that leaves it. The workers share its entries (one handle each, made in
 * srv_worker_init), so a project is read from the store and held once for the whole service. Only
 * the App ID's form (32 hex characters: anything else cannot be stored) and the hit/miss metrics
 * are the service's. With a remote store the loop never reads the store itself: a miss is
 * parked and filled by the worker's store thread (srv_store.c), and the run that resumes the
 * request takes the fill's answers (the fill argument of srv_project_lookup); a key the key
 * cache does not hold is verified there too.
 *
 * The key cache maps the SHA-256 of a presented key to its role, compared in constant time; it
 * also remembers wrong keys, and forgets everything after SRV_KEY_CACHE_TTL seconds so that a
 * key revoked elsewhere is refused soon even if the version check were to miss it. A check that
 * failed (TDB_ROLE_ERROR: the store did not answer) is not remembered: it says nothing of the
 * key, and remembering it would refuse a valid key for SRV_KEY_CACHE_TTL after the store is
 * back. Every slot that is emptied is wiped (explicit_bzero).
 */
#include "srv_internal.h"

#include <stdlib.h>
#include <string.h>

static void srv_key_cache_clear(srv_key_cache *c) {
    explicit_bzero(c, sizeof *c);
}

void srv_caches_free(srv_worker *w) {
    tdb_project_cache_free(w->projects); /* wipes the certificates */
    w->projects = NULL;
    srv_key_cache_clear(&w->keys);
}

void srv_cache_check_version(srv_worker *w) {
    /* Once per event-loop iteration: the check runs after epoll returned, so it sees every
     * commit that finished before any request handled in this iteration was sent; under load
     * one query then serves every request of the iteration. */
    if (w->version_fresh)
        return;
    w->version_fresh = true;
    static const struct timeval next_iteration = {0, 0};
    event_add(w->refresh_ev, &next_iteration);
    /* A version that cannot be read empties the caches too (and the next check asks again). */
    if (tdb_project_cache_sync(w->projects, w->db))
        srv_key_cache_clear(&w->keys);
}

void srv_cache_changed(srv_worker *w) {
    w->version_fresh = false;
}

/* The item of app_id in a fill job, or NULL. */
static const srv_fill_item *srv_fill_find(const srv_job *fill, const char *app_id) {
    for (size_t i = 0; fill && i < fill->nitems; i++)
        if (memcmp(fill->items[i].app_id, app_id, TD_CERT_LEN) == 0)
            return &fill->items[i];
    return NULL;
}

const diag_project *srv_project_lookup(srv_worker *w, const srv_job *fill, const char *app_id,
                                       size_t len, srv_lookup *how) {
    *how = SRV_LOOKUP_OK;
    if (!diag_is_hex32(app_id, len))
        return NULL; /* cannot be stored: malformed App IDs are diagnosed without a project */
    /* A resumed request takes what its fill job read: even when the shared cache could not keep
     * it (or was emptied since), this thread never asks the store itself. */
    const srv_fill_item *it = srv_fill_find(fill, app_id);
    if (it) {
        srv_count(&w->metrics.cache_misses, 1);
        *how = it->st == TDB_OK ? SRV_LOOKUP_OK : SRV_LOOKUP_FAILED;
        return it->has_project ? &it->project : NULL;
    }
    const diag_project *p = NULL;
    if (srv_store_remote(w)) {
        /* Only what the cache holds: the network is the store thread's. */
        if (tdb_project_cache_peek(w->projects, app_id, &p)) {
            srv_count(&w->metrics.cache_hits, 1);
            return p;
        }
        *how = SRV_LOOKUP_NOT_CACHED; /* counted as a miss when its fill comes back */
        return NULL;
    }
    bool hit;
    tdb_status st = tdb_project_cache_get(w->projects, w->db, app_id, &p, &hit);
    srv_count(hit ? &w->metrics.cache_hits : &w->metrics.cache_misses, 1);
    if (st != TDB_OK)
        *how = SRV_LOOKUP_FAILED; /* not cached: the next request tries again */
    return p;
}

bool srv_project_at_hand(srv_worker *w, const srv_job *fill, const char *app_id) {
    return !srv_store_remote(w) || srv_fill_find(fill, app_id) ||
           tdb_project_cache_peek(w->projects, app_id, NULL);
}

const char *srv_lookup_error(srv_worker *w, const srv_job *fill) {
    return fill && fill->failed ? fill->message : tdb_errmsg(w->db);
}

bool srv_key_cached(srv_worker *w, const char *key, size_t len, tdb_role *role, char *name_out,
                    size_t name_cap) {
    unsigned char hash[32];
    td_sha256(key, len, hash);
    int64_t now = srv_now_s();
    srv_key_cache *c = &w->keys;
    bool found = false;
    for (size_t i = 0; i < SRV_KEY_CACHE_SIZE; i++) {
        srv_key_slot *s = &c->slots[i];
        if (!s->used || !td_ct_equal(s->hash, hash, sizeof hash))
            continue;
        if (now - s->verified_at >= SRV_KEY_CACHE_TTL || now < s->verified_at) {
            explicit_bzero(s, sizeof *s); /* used = false */
            break;
        }
        snprintf(name_out, name_cap, "%s", s->name);
        *role = s->role;
        found = true;
        break;
    }
    explicit_bzero(hash, sizeof hash);
    return found;
}

void srv_key_remember(srv_worker *w, const char *key, size_t len, tdb_role role, const char *name) {
    if (role == TDB_ROLE_ERROR)
        return; /* not kept: the next request asks the store again */
    srv_key_cache *c = &w->keys;
    srv_key_slot *s = &c->slots[c->next];
    c->next = (c->next + 1) % SRV_KEY_CACHE_SIZE;
    s->used = true;
    td_sha256(key, len, s->hash);
    s->role = role;
    s->verified_at = srv_now_s();
    snprintf(s->name, sizeof s->name, "%s", name);
}

tdb_role srv_key_verify(srv_worker *w, const char *key, size_t len, char *name_out,
                        size_t name_cap) {
    tdb_role role;
    if (srv_key_cached(w, key, len, &role, name_out, name_cap))
        return role;
    char name[TDB_APIKEY_NAME_MAX + 1] = "";
    role = tdb_apikey_verify(w->db, key, len, name, sizeof name);
    if (role == TDB_ROLE_ERROR) {
        name_out[0] = '\0';
        return role; /* not kept: the next request asks the store again */
    }
    srv_key_remember(w, key, len, role, name);
    snprintf(name_out, name_cap, "%s", name);
    return role;
}

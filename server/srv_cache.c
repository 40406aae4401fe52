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
 * The project cache is open addressing with linear probing keyed by the 32-character App ID; it
 * remembers unknown App IDs too (a diagnosis of an unknown project must not cost a query every
 * time). Slots are small; a known project's configuration is allocated when it is cached and
 * freed when the cache is emptied -- which happens when three quarters of the slots are used,
 * bounding memory without an eviction policy. A configuration holds the project's certificates,
 * so it is wiped (explicit_bzero, which the compiler may not drop as a dead store) before it is
 * freed, as is every key-cache slot that is emptied.
 *
 * The key cache maps the SHA-256 of a presented key to its role, compared in constant time; it
 * also remembers wrong keys, and forgets everything after SRV_KEY_CACHE_TTL seconds so that a
 * key revoked elsewhere is refused soon even if the version check were to miss it.
 */
#include "srv_internal.h"

#include <stdlib.h>
#include <string.h>

bool srv_project_cache_init(srv_project_cache *c, size_t cap) {
    c->slots = calloc(cap, sizeof *c->slots);
    c->cap = cap;
    c->used = 0;
    return c->slots != NULL;
}

/* Frees a configuration after wiping its certificates. */
static void srv_project_free(diag_project *p) {
    if (!p)
        return;
    explicit_bzero(p, sizeof *p);
    free(p);
}

static void srv_project_cache_clear(srv_project_cache *c) {
    if (c->used == 0)
        return;
    for (size_t i = 0; i < c->cap; i++) {
        srv_project_free(c->slots[i].project);
        c->slots[i].project = NULL;
        c->slots[i].used = false;
    }
    c->used = 0;
}

static void srv_key_cache_clear(srv_key_cache *c) {
    explicit_bzero(c, sizeof *c);
}

void srv_caches_free(srv_worker *w) {
    srv_project_cache *c = &w->projects;
    if (c->slots)
        srv_project_cache_clear(c);
    free(c->slots);
    c->slots = NULL;
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
    /* 0 is an error: the caches are emptied (and the next check asks again). */
    uint64_t c = tdb_config_version(w->db);
    if (c != 0 && c == w->config_version)
        return;
    w->config_version = c;
    srv_project_cache_clear(&w->projects);
    srv_key_cache_clear(&w->keys);
}

void srv_cache_changed(srv_worker *w) {
    w->version_fresh = false;
}

static uint32_t srv_hash_app_id(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < TD_CERT_LEN; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

const diag_project *srv_project_lookup(srv_worker *w, const char *app_id, size_t len,
                                       bool *failed) {
    *failed = false;
    if (!diag_is_hex32(app_id, len))
        return NULL; /* cannot be stored: malformed App IDs are diagnosed without a project */
    srv_project_cache *c = &w->projects;
    size_t mask = c->cap - 1;
    size_t i = srv_hash_app_id(app_id) & mask;
    while (c->slots[i].used) {
        if (memcmp(c->slots[i].app_id, app_id, TD_CERT_LEN) == 0) {
            srv_count(&w->metrics.cache_hits, 1);
            return c->slots[i].project;
        }
        i = (i + 1) & mask;
    }
    srv_count(&w->metrics.cache_misses, 1);
    if (c->used + 1 > c->cap / 4 * 3) {
        srv_project_cache_clear(c);
        i = srv_hash_app_id(app_id) & mask;
    }
    srv_project_slot *slot = &c->slots[i];
    memcpy(slot->app_id, app_id, TD_CERT_LEN);
    slot->app_id[TD_CERT_LEN] = '\0';
    diag_project *p = malloc(sizeof *p);
    tdb_status st = p ? tdb_project_get(w->db, slot->app_id, p) : TDB_ERROR;
    if (st != TDB_OK) {
        srv_project_free(p); /* a failed read may have filled part of it */
        p = NULL;
    }
    if (st != TDB_OK && st != TDB_NOT_FOUND) {
        *failed = true; /* not cached: the next request tries again */
        return NULL;
    }
    slot->used = true;
    slot->project = p;
    c->used++;
    return p;
}

tdb_role srv_key_verify(srv_worker *w, const char *key, size_t len, char *name_out,
                        size_t name_cap) {
    unsigned char hash[32];
    td_sha256(key, len, hash);
    int64_t now = srv_now_s();
    srv_key_cache *c = &w->keys;
    for (size_t i = 0; i < SRV_KEY_CACHE_SIZE; i++) {
        srv_key_slot *s = &c->slots[i];
        if (!s->used || !td_ct_equal(s->hash, hash, sizeof hash))
            continue;
        if (now - s->verified_at >= SRV_KEY_CACHE_TTL || now < s->verified_at) {
            explicit_bzero(s, sizeof *s); /* used = false */
            break;
        }
        snprintf(name_out, name_cap, "%s", s->name);
        return s->role;
    }
    char name[TDB_APIKEY_NAME_MAX + 1] = "";
    tdb_role role = tdb_apikey_verify(w->db, key, len, name, sizeof name);
    srv_key_slot *s = &c->slots[c->next];
    c->next = (c->next + 1) % SRV_KEY_CACHE_SIZE;
    s->used = true;
    memcpy(s->hash, hash, sizeof hash);
    s->role = role;
    s->verified_at = now;
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(name_out, name_cap, "%s", name);
    return role;
}

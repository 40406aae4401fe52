/* srv_ratelimit.c -- a rate limit per client address on the open diagnosis routes.
 *
 * Design
 * ------
 * The diagnosis routes need no key, and every diagnosed item is a row in the diagnosis log, so
 * they are what an anonymous client can use to load the service and fill its disk. Each client
 * address gets a token bucket: it holds at most `burst` items and refills at `rate` items a
 * second; a request costs the number of items it diagnoses (1 for /v1/diagnose, the array's
 * length for a batch), because items, not requests, are what fill the log. A request the bucket
 * cannot pay for is refused whole with 429 and Retry-After (the seconds until it could be paid),
 * and takes nothing. The burst is at least the batch limit, so that the largest batch allowed
 * can always be paid for by a client that waits.
 *
 * Keyed by address: an IPv4 address, or the /64 prefix of an IPv6 one (a single host commonly
 * holds a whole /64, so its addresses are one client). Behind a reverse proxy every client has
 * the proxy's address: there, turn the limit off (--rate-limit 0) and limit at the proxy.
 *
 * Shared by all workers, not one per worker: SO_REUSEPORT spreads one client's connections over
 * the workers by a hash of the connection, so per-worker buckets would let a client have
 * `threads` times the rate, depending on how its connections happened to land. The table is
 * split into SHARDS, each with its own mutex held for a few arithmetic operations, so the
 * workers rarely meet on a lock.
 *
 * Bounded memory: a fixed table (SHARDS x SLOTS buckets, 2 MiB), allocated at start. An address
 * is looked for among PROBE slots from its hash (seeded at random per run, so that nobody can
 * aim many addresses at one place); a new address takes the empty slot, else the slot of the
 * bucket that holds most tokens once refilled -- a full bucket carries no information, so
 * forgetting it costs nothing. An attacker with more addresses than slots can make buckets be
 * forgotten early; the diagnosis log's own bound (db_log.c) still holds.
 *
 * Tokens are kept in micro-items (integers): no floating point rounding on the request path.
 */
#include "srv_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/http.h>

#define SHARDS 16
#define SLOTS 4096 /* per shard: 65,536 client addresses tracked at once */
#define PROBE 8    /* slots an address may occupy */
#define MICRO 1000000

typedef struct {
    unsigned char key[16]; /* all zero: unused */
    int64_t tokens;        /* micro-items */
    int64_t updated_us;
} bucket;

typedef struct {
    pthread_mutex_t lock;
    bucket slots[SLOTS];
} shard;

struct srv_ratelimit {
    int64_t per_s; /* items a second: micro-items a microsecond */
    int64_t burst; /* micro-items */
    uint64_t seed;
    shard shards[SHARDS];
};

srv_ratelimit *srv_ratelimit_new(uint64_t per_s, uint64_t burst) {
    srv_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->per_s = (int64_t)per_s;
    rl->burst = (int64_t)burst * MICRO;
    if (getrandom(&rl->seed, sizeof rl->seed, GRND_NONBLOCK) != (ssize_t)sizeof rl->seed)
        rl->seed = (uint64_t)srv_now_us() * 0x9e3779b97f4a7c15u;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].lock, NULL);
    return rl;
}

void srv_ratelimit_free(srv_ratelimit *rl) {
    if (!rl)
        return;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_destroy(&rl->shards[i].lock);
    free(rl);
}

/* The client's key: 4 bytes of IPv4 (also an IPv4-mapped IPv6 address) or the first 8 of IPv6,
 * after a tag byte so that the two cannot collide and no key is all zero. false when there is
 * no address to key by. */
static bool client_key(const struct sockaddr *sa, unsigned char key[16]) {
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            key[0] = 4;
            memcpy(key + 1, a + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a, 8);
        }
        return true;
    }
    return false;
}

static uint64_t key_hash(const srv_ratelimit *rl, const unsigned char key[16]) {
    uint64_t h = rl->seed ^ 0xcbf29ce484222325u; /* FNV-1a over a random start */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 0x100000001b3u;
    return h ^ (h >> 29);
}

/* Adds what the bucket earned since it was last updated: per_s items a second is per_s
 * micro-items a microsecond. The time is capped at a full refill, so that nothing overflows. */
static void refill(const srv_ratelimit *rl, bucket *b, int64_t now_us) {
    int64_t elapsed = now_us - b->updated_us, full_us = rl->burst / rl->per_s + 1;
    if (elapsed > full_us)
        elapsed = full_us;
    if (elapsed > 0)
        b->tokens = b->tokens + elapsed * rl->per_s < rl->burst ? b->tokens + elapsed * rl->per_s
                                                                : rl->burst;
    b->updated_us = now_us;
}

/* The bucket of key in s (lock held): found, or a slot taken over for it (full). */
static bucket *find_bucket(const srv_ratelimit *rl, shard *s, uint64_t h, const unsigned char *key,
                           int64_t now_us) {
    bucket *victim = NULL;
    for (int i = 0; i < PROBE; i++) {
        bucket *b = &s->slots[(h + (uint64_t)i) % SLOTS];
        if (memcmp(b->key, key, 16) == 0)
            return b;
        if (b->key[0] == 0) {
            if (!victim || victim->key[0] != 0)
                victim = b;
            continue;
        }
        refill(rl, b, now_us);
        if (!victim || (victim->key[0] != 0 && b->tokens > victim->tokens))
            victim = b;
    }
    memcpy(victim->key, key, 16);
    victim->tokens = rl->burst;
    victim->updated_us = now_us;
    return victim;
}

bool srv_ratelimit_take(srv_ratelimit *rl, const struct sockaddr *sa, uint64_t cost, int64_t now_us,
                        int *retry_after_s) {
    unsigned char key[16];
    if (!rl || rl->per_s == 0 || !client_key(sa, key))
        return true;
    uint64_t h = key_hash(rl, key);
    shard *s = &rl->shards[h % SHARDS];
    int64_t burst_items = rl->burst / MICRO; /* >= the batch limit: see srv_run */
    int64_t need = (cost < (uint64_t)burst_items ? (int64_t)cost : burst_items) * MICRO;
    pthread_mutex_lock(&s->lock);
    bucket *b = find_bucket(rl, s, h / SHARDS, key, now_us);
    refill(rl, b, now_us);
    bool ok = b->tokens >= need;
    if (ok)
        b->tokens -= need;
    int64_t missing = need - b->tokens;
    pthread_mutex_unlock(&s->lock);
    if (!ok)
        *retry_after_s = (int)((missing + rl->per_s * MICRO - 1) / (rl->per_s * MICRO));
    return ok;
}

bool srv_rate_admit(srv_req *r, size_t cost) {
    srv_ratelimit *rl = r->w->server->rate;
    if (!rl || r->paid) /* a resumed request paid when it first ran */
        return true;
    struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
    const struct sockaddr *sa = conn ? evhttp_connection_get_addr(conn) : NULL;
    int retry = 0;
    if (srv_ratelimit_take(rl, sa, cost, srv_now_us(), &retry)) {
        r->paid = true;
        return true;
    }
    char value[16], msg[160];
    snprintf(value, sizeof value, "%d", retry);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", value);
    snprintf(msg, sizeof msg,
             "too many diagnoses from this address: %zu item%s refused; retry in %d s", cost,
             cost == 1 ? "" : "s", retry);
    srv_reply_error(r, 429, "rate_limited", msg);
    return false;
}

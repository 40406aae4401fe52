/* client_table_test.c -- the per-client connection counts (srv_client_table, server/srv_conn.c)
 * against a plain array that does the same by linear search.
 *
 * The table is open addressing with backward-shift deletion, the kind of code whose mistakes
 * (an entry stranded behind an emptied slot, a count moved to the wrong key) only show after
 * many mixed operations on a crowded table. So: a small table (64 keys, 128 slots) driven near
 * full by a seeded random mix of adds and removes over few distinct keys, checking every count
 * after every step, plus the key derivation (IPv4, IPv4-mapped IPv6, an IPv6 /64).
 */
#include "srv_internal.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

enum { KEYS = 64, DISTINCT = 96, STEPS = 200000 };

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static srv_client_key key_n(int n) {
    srv_client_key k;
    memset(&k, 0, sizeof k);
    k.b[15] = (unsigned char)n;
    k.b[3] = (unsigned char)(n * 7);
    return k;
}

static void check_model(void) {
    srv_client_table t;
    if (!CHECK(srv_client_table_init(&t, KEYS), "init"))
        return;
    uint32_t model[DISTINCT] = {0};
    size_t held = 0;
    int bad = 0;
    for (int step = 0; step < STEPS && bad < 5; step++) {
        int n = (int)(next_rand() % DISTINCT);
        srv_client_key k = key_n(n);
        if (next_rand() % 2) {
            bool fits = model[n] > 0 || held < KEYS;
            bool added = srv_client_add(&t, &k);
            if (!CHECK(added == fits, "step %d: add of key %d %s", step, n,
                       fits ? "fits" : "is refused (table full)"))
                bad++;
            if (added && model[n]++ == 0)
                held++;
        } else if (model[n] > 0) {
            srv_client_remove(&t, &k);
            if (--model[n] == 0)
                held--;
        }
        for (int i = 0; i < DISTINCT; i++) {
            srv_client_key ki = key_n(i);
            if (srv_client_count(&t, &ki) != model[i]) {
                CHECK(false, "step %d: key %d counts %u, expected %u", step, i,
                      srv_client_count(&t, &ki), model[i]);
                bad++;
                break;
            }
        }
    }
    CHECK(t.keys == held, "keys held: %zu, expected %zu", t.keys, held);
    srv_client_table_free(&t);
}

static void check_keys(void) {
    struct sockaddr_in a4 = {0}, b4 = {0};
    struct sockaddr_in6 a6 = {0}, b6 = {0}, m6 = {0};
    a4.sin_family = b4.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", &a4.sin_addr);
    inet_pton(AF_INET, "192.0.2.8", &b4.sin_addr);
    a6.sin6_family = b6.sin6_family = m6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8:1:2::1", &a6.sin6_addr);
    inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b6.sin6_addr);
    inet_pton(AF_INET6, "::ffff:192.0.2.7", &m6.sin6_addr);
    srv_client_key ka4, kb4, ka6, kb6, km6;
    srv_client_key_of((struct sockaddr *)&a4, &ka4);
    srv_client_key_of((struct sockaddr *)&b4, &kb4);
    srv_client_key_of((struct sockaddr *)&a6, &ka6);
    srv_client_key_of((struct sockaddr *)&b6, &kb6);
    srv_client_key_of((struct sockaddr *)&m6, &km6);
    CHECK(memcmp(&ka4, &kb4, sizeof ka4) != 0, "two IPv4 addresses are two clients");
    CHECK(memcmp(&ka4, &km6, sizeof ka4) == 0, "an IPv4-mapped IPv6 address is the IPv4 client");
    CHECK(memcmp(&ka6, &kb6, sizeof ka6) == 0, "two addresses of one IPv6 /64 are one client");
}

int main(void) {
    check_model();
    check_keys();
    return tu_report("client_table");
}

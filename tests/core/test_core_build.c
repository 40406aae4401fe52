/* test_core_build.c -- building tokens of every service type and reading them back, the name
 * tables, the derived expiry times and the small crypto helpers.
 *
 * A token built by td_build007 with all ten service types (rtm2 permissions included) must
 * decode to the same fields and verify; builds that cannot be represented must return 0; salts
 * must stay in 1..99999999; the fingerprint must be SHA-256's (checked against a known value).
 */
#include <string.h>

#include "testutil.h"
#include "tdcore.h"

static td_token spec, tok;

static td_str S(const char *s) {
    return (td_str){s, strlen(s)};
}

static bool str_eq(td_str a, const char *b) {
    return a.len == strlen(b) && memcmp(a.ptr, b, a.len) == 0;
}

static void add_service(uint16_t type, const char *a, const char *b, uint16_t priv_id,
                        uint32_t value) {
    td_service *s = &spec.services[spec.service_count++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->known = true;
    s->a = S(a);
    s->b = S(b);
    s->first_privilege = spec.privilege_total;
    s->first_permission = spec.permission_total;
    if (priv_id) {
        /* Two privileges out of order: the builder sorts them. */
        spec.privileges[spec.privilege_total++] = (td_privilege){(uint16_t)(priv_id + 1), 7};
        spec.privileges[spec.privilege_total++] = (td_privilege){priv_id, value};
        s->privilege_count = 2;
    }
}

static void test_all_services(td_ctx *ctx) {
    static const char *res[] = {"ch1", "ch2", "bob@example.com", "g1"};
    const char *cert = "0123456789abcdef0123456789abcdef";
    memset(&spec, 0, sizeof spec);
    spec.app_id = S("970CA35de60c44645bbae8a215061b33");
    spec.issue_ts = 1700000000;
    spec.expire = 3600;
    spec.salt = 777;
    add_service(TD_SVC_RTC, "room 😀", "42", 1, 600);
    add_service(TD_SVC_RTM, "alice", "", 1, 600);
    add_service(TD_SVC_STREAMING, "live", "acc", 1, 60);
    add_service(TD_SVC_FPA, "", "", 1, 60);
    add_service(TD_SVC_CHAT, "u1", "", 1, 60);
    add_service(TD_SVC_FCDN, "cdn", "acc2", 1, 60);
    add_service(TD_SVC_APAAS, "room-uuid", "user-uuid", 1, 60);
    spec.services[spec.service_count - 1].role = -1;
    add_service(TD_SVC_RTM2, "bob", "", 1, 60);
    td_service *rtm2 = &spec.services[spec.service_count - 1];
    for (int i = 0; i < 4; i++)
        spec.resources[i] = S(res[i]);
    spec.resource_total = 4;
    spec.permissions[0] = (td_permission){0, 0, 0, 2}; /* message_channels read ch1 ch2 */
    spec.permissions[1] = (td_permission){0, 1, 0, 1}; /* message_channels write ch1 */
    spec.permissions[2] = (td_permission){4, 1, 2, 1}; /* users write bob@ */
    spec.permissions[3] = (td_permission){2, 0, 3, 1}; /* group_channels read g1 */
    spec.permission_total = 4;
    rtm2->permission_count = 4;
    add_service(TD_SVC_CONVOAI, "", "", 0, 0);
    add_service(TD_SVC_STT, "", "", 0, 0);

    char out[TD_TOKEN_TEXT_MAX + 1];
    size_t len = td_build007(ctx, &spec, cert, 32, out, sizeof out);
    CHECK(len > 0 && len == strlen(out) && memcmp(out, "007", 3) == 0, "build all services");
    td_status st = td_decode(ctx, out, len, &tok);
    CHECK(st == TD_OK, "decode built token: %s", td_status_name(st));
    if (st != TD_OK)
        return;
    CHECK(td_verify007(ctx, &tok, cert, 32), "built token verifies");
    CHECK(!td_verify006(ctx, &tok, cert, 32, "", 0, "", 0), "007 is not a 006");
    CHECK(tok.service_count == 10, "10 services");
    CHECK(tok.issue_ts == 1700000000 && tok.expire == 3600 && tok.salt == 777, "header");
    CHECK(str_eq(tok.app_id, "970CA35de60c44645bbae8a215061b33"), "app id");
    for (uint16_t i = 0; i < tok.service_count && i < 10; i++) {
        const td_service *a = &spec.services[i], *b = &tok.services[i];
        CHECK(a->type == b->type && b->known, "service %u type", i);
        CHECK(a->privilege_count == b->privilege_count, "service %u privilege count", i);
        if (b->privilege_count == 2) {
            const td_privilege *p = &tok.privileges[b->first_privilege];
            CHECK(p[0].id < p[1].id, "service %u privileges sorted", i);
        }
    }
    CHECK(str_eq(tok.services[0].a, "room 😀") && str_eq(tok.services[0].b, "42"), "rtc");
    CHECK(str_eq(tok.services[5].b, "acc2"), "fcdn account");
    CHECK(tok.services[6].role == -1 && str_eq(tok.services[6].b, "user-uuid"), "apaas");
    const td_service *r = &tok.services[7];
    CHECK(str_eq(r->a, "bob") && r->permission_count == 4, "rtm2 user and permissions");
    if (r->permission_count == 4) {
        const td_permission *p = &tok.permissions[r->first_permission];
        CHECK(p[0].resource_type == 0 && p[0].permission_type == 0 && p[0].resource_count == 2,
              "perm 0");
        CHECK(str_eq(tok.resources[p[0].first_resource + 1], "ch2"), "perm 0 resource 1");
        CHECK(p[1].resource_type == 0 && p[1].permission_type == 1, "perm 1");
        CHECK(p[2].resource_type == 4 && str_eq(tok.resources[p[2].first_resource], res[2]),
              "perm 2");
        CHECK(p[3].resource_type == 2 && str_eq(tok.resources[p[3].first_resource], "g1"),
              "perm 3");
    }

    /* Invalid builds return 0. */
    spec.services[3].type = 99;
    CHECK(td_build007(ctx, &spec, cert, 32, out, sizeof out) == 0, "unknown type not built");
    spec.services[3].type = TD_SVC_FPA;
    CHECK(td_build007(ctx, &spec, cert, 32, out, 20) == 0, "output too small");
    spec.services[3].first_privilege = TD_PRIVILEGES_MAX - 1;
    CHECK(td_build007(ctx, &spec, cert, 32, out, sizeof out) == 0, "privileges outside the pool");
    spec.services[3].first_privilege = 6;
    rtm2->first_permission = TD_PERMISSIONS_MAX - 1;
    CHECK(td_build007(ctx, &spec, cert, 32, out, sizeof out) == 0, "permissions outside the pool");
    rtm2->first_permission = 0;
    spec.permissions[2].first_resource = TD_RESOURCES_MAX;
    CHECK(td_build007(ctx, &spec, cert, 32, out, sizeof out) == 0, "resources outside the pool");
    spec.permissions[2].first_resource = 2;
    CHECK(td_build007(ctx, &spec, cert, 32, out, sizeof out) > 0, "rebuilt after the pool cases");
    static char huge[70000];
    memset(huge, 'x', sizeof huge);
    spec.services[0].a = (td_str){huge, sizeof huge};
    CHECK(td_build007(ctx, &spec, cert, 32, out, sizeof out) == 0, "string over 65535");
}

static void test_build006(td_ctx *ctx) {
    const char *cert = "0123456789abcdef0123456789abcdef";
    memset(&spec, 0, sizeof spec);
    spec.app_id = S("970CA35de60c44645bbae8a215061b33");
    spec.salt = 5;
    spec.ts = 1700086400;
    spec.privileges[0] = (td_privilege){1000, 1700000000};
    spec.privileges[1] = (td_privilege){1, 0};
    spec.privilege_total = 2;
    spec.privilege_count_006 = 2;
    char out[TD_TOKEN_TEXT_MAX + 1];
    size_t len = td_build006(ctx, &spec, cert, 32, "chan", 4, "", 0, out, sizeof out);
    CHECK(len > 35 && memcmp(out, "006970CA35de", 12) == 0, "build 006");
    td_status st = td_decode(ctx, out, len, &tok);
    CHECK(st == TD_OK, "decode 006: %s", td_status_name(st));
    if (st == TD_OK) {
        CHECK(td_verify006(ctx, &tok, cert, 32, "chan", 4, "", 0), "006 verifies");
        CHECK(!td_verify006(ctx, &tok, cert, 32, "chan", 4, "0", 1), "006 uid \"0\" differs");
        CHECK(!td_verify007(ctx, &tok, cert, 32), "006 is not a 007");
        CHECK(tok.crc_channel == td_crc32("chan", 4) && tok.crc_uid == 0, "crcs");
        CHECK(tok.privilege_count_006 == 2 && tok.privileges[0].id == 1 &&
                  tok.privileges[1].id == 1000,
              "006 privileges sorted");
        CHECK(td_token_expiry(&tok) == 1700086400, "006 expiry = ts");
        CHECK(td_privilege_expiry(&tok, 0) == 1700086400, "006 privilege 0 = ts");
        CHECK(td_privilege_expiry(&tok, 1700000000) == 1700000000, "006 privilege value");
        CHECK(td_privilege_expiry(&tok, 1800000000) == 1700086400, "006 privilege capped");
    }
    spec.first_privilege_006 = TD_PRIVILEGES_MAX - 1;
    CHECK(td_build006(ctx, &spec, cert, 32, "c", 1, "", 0, out, sizeof out) == 0,
          "006 privileges outside the pool");
    spec.first_privilege_006 = 0;
    spec.app_id = S("970CA35de60c44645bbae8a215061b3 ");
    CHECK(td_build006(ctx, &spec, cert, 32, "c", 1, "", 0, out, sizeof out) == 0,
          "006 app id with a space");
    spec.app_id = S("short");
    CHECK(td_build006(ctx, &spec, cert, 32, "c", 1, "", 0, out, sizeof out) == 0,
          "006 needs a 32-char app id");
}

static void test_expiry(void) {
    memset(&tok, 0, sizeof tok);
    memcpy(tok.version, "007", 4);
    tok.issue_ts = 1000;
    tok.expire = 600;
    CHECK(td_token_expiry(&tok) == 1600, "007 expire 600");
    tok.expire = 0;
    CHECK(td_token_expiry(&tok) == 87400, "007 expire 0 = 24 h");
    tok.expire = 86401;
    CHECK(td_token_expiry(&tok) == 87400, "007 expire capped at 24 h");
    tok.expire = 86400;
    CHECK(td_token_expiry(&tok) == 87400, "007 expire 86400");
    tok.expire = 600;
    CHECK(td_privilege_expiry(&tok, 60) == 1060, "007 privilege 60");
    CHECK(td_privilege_expiry(&tok, 0) == 1600, "007 privilege 0");
    CHECK(td_privilege_expiry(&tok, 4000) == 1600, "007 privilege capped");
    tok.issue_ts = 4294967295u;
    tok.expire = 4294967295u;
    CHECK(td_token_expiry(&tok) == 4294967295LL + 86400, "no overflow");
}

static void test_names(void) {
    const char *services[] = {"unknown", "rtc",   "rtm",  "streaming", "fpa", "chat",
                              "fcdn",    "apaas", "rtm2", "convoai",   "stt", "unknown"};
    for (uint16_t i = 0; i < 12; i++)
        CHECK(strcmp(td_service_name(i), services[i]) == 0, "service name %u", i);
    CHECK(strcmp(td_privilege_name(1, 4), "publish_data_stream") == 0, "rtc 4");
    CHECK(td_privilege_name(1, 5) == NULL && td_privilege_name(1, 0) == NULL, "rtc unnamed");
    CHECK(strcmp(td_privilege_name(8, 1), "login") == 0, "rtm2 login");
    CHECK(strcmp(td_privilege_name(7, 3), "app") == 0, "apaas app");
    CHECK(strcmp(td_privilege_name(6, 2), "play") == 0, "fcdn play");
    CHECK(strcmp(td_privilege_name(3, 1), "publish_mix_stream") == 0, "streaming 1");
    CHECK(td_privilege_name(9, 1) == NULL && td_privilege_name(10, 1) == NULL, "none defined");
    CHECK(strcmp(td_privilege_name(0, 101), "administrate_channel") == 0, "006 101");
    CHECK(strcmp(td_privilege_name(0, 1000), "rtm_login") == 0, "006 1000");
    CHECK(td_privilege_name(0, 5) == NULL, "006 unnamed");
    CHECK(strcmp(td_rtm2_resource_name(4), "users") == 0 && td_rtm2_resource_name(5) == NULL,
          "rtm2 resources");
    CHECK(strcmp(td_rtm2_permission_name(1), "write") == 0 && td_rtm2_permission_name(2) == NULL,
          "rtm2 permissions");
    CHECK(strcmp(td_status_name(TD_ERR_LEGACY_VERSION), "legacy_version") == 0, "status");
    CHECK(strcmp(td_status_name(TD_OK), "ok") == 0, "ok");
}

static void test_helpers(td_ctx *ctx) {
    char fp[9], hex[9];
    td_fingerprint("abc", 3, fp); /* SHA-256("abc") = ba7816bf... */
    CHECK(strcmp(fp, "ba7816bf") == 0, "fingerprint %s", fp);
    unsigned char b[4] = {0x00, 0x0f, 0xa0, 0xff};
    td_hex(b, 4, hex);
    CHECK(strcmp(hex, "000fa0ff") == 0, "hex %s", hex);
    CHECK(td_ct_equal("abcd", "abcd", 4) && !td_ct_equal("abcd", "abce", 4) &&
              !td_ct_equal("xbcd", "abcd", 4) && td_ct_equal("", "", 0),
          "ct_equal");
    CHECK(td_crc32("", 0) == 0 && td_crc32("123456789", 9) == 0xCBF43926u, "crc32");
    bool in_range = true, varied = false;
    uint32_t first = td_random_salt(ctx);
    for (int i = 0; i < 2000; i++) {
        uint32_t s = td_random_salt(ctx);
        in_range &= s >= 1 && s <= 99999999;
        varied |= s != first;
    }
    CHECK(in_range && varied, "salts in 1..99999999 and not constant");
    unsigned char r1[32] = {0}, r2[32] = {0};
    CHECK(td_random_bytes(ctx, r1, 32) && td_random_bytes(ctx, r2, 32) && memcmp(r1, r2, 32),
          "random bytes");
}

int main(void) {
    td_ctx *ctx = tu_ctx();
    test_all_services(ctx);
    test_build006(ctx);
    test_expiry();
    test_names();
    test_helpers(ctx);
    td_ctx_free(ctx);
    return tu_report("core_build");
}

/* test_core_json.c -- the decoded-token JSON (diagnostics/token_json.c) against literal
 * expectations: every field name and value of interfaces.md "Decoded token" for a 007 token with
 * an rtm2 service (permissions), an unnamed privilege (name null), an apaas role and an unknown
 * service ({"type", "name": "unknown"} only), and for a 006 token; plus the human printer's
 * relative times ("in 3 h 12 min", "expired 2 days ago").
 */
#include <jansson.h>
#include <string.h>

#include "testutil.h"
#include "tdcore.h"
#include "tddiag.h"

static td_token tok;

typedef struct {
    char b[4096];
    size_t n;
} buf;

static void put16(buf *b, unsigned v) {
    b->b[b->n++] = (char)(v & 0xff);
    b->b[b->n++] = (char)((v >> 8) & 0xff);
}
static void put32(buf *b, uint32_t v) {
    for (int i = 0; i < 4; i++)
        b->b[b->n++] = (char)((v >> (8 * i)) & 0xff);
}
static void putstr(buf *b, const char *s) {
    size_t len = strlen(s);
    put16(b, (unsigned)len);
    memcpy(b->b + b->n, s, len);
    b->n += len;
}

static void expect_json(json_t *got, const char *expect, const char *what) {
    json_error_t err;
    json_t *want = json_loads(expect, 0, &err);
    CHECK(want != NULL, "%s: bad expectation: %s", what, err.text);
    char *text = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(want && got && json_equal(got, want), "%s: got %s", what, text ? text : "NULL");
    free(text);
    json_decref(want);
}

static void test_007(void) {
    buf c = {.n = 0};
    put16(&c, 32);
    for (int i = 0; i < 32; i++)
        c.b[c.n++] = (char)i;
    putstr(&c, "970CA35de60c44645bbae8a215061b33");
    put32(&c, 1700000000);
    put32(&c, 0); /* 0: 24 h */
    put32(&c, 12345);
    put16(&c, 4);
    put16(&c, TD_SVC_RTC);
    put16(&c, 2);
    put16(&c, 1);
    put32(&c, 600);
    put16(&c, 9); /* no name */
    put32(&c, 0);
    putstr(&c, "room");
    putstr(&c, "");
    put16(&c, TD_SVC_APAAS);
    put16(&c, 0);
    putstr(&c, "r-uuid");
    putstr(&c, "u-uuid");
    put16(&c, 0xffff); /* role -1 */
    put16(&c, TD_SVC_RTM2);
    put16(&c, 1);
    put16(&c, 1);
    put32(&c, 100000); /* beyond the token's expiry: capped */
    putstr(&c, "alice");
    put16(&c, 2); /* two resource types */
    put16(&c, 0); /* message_channels */
    put16(&c, 1); /* one permission */
    put16(&c, 0); /* read */
    put16(&c, 2);
    putstr(&c, "ch1");
    putstr(&c, "ch2");
    put16(&c, 9); /* unnamed resource type */
    put16(&c, 1);
    put16(&c, 7); /* unnamed permission type */
    put16(&c, 0);
    put16(&c, 300); /* unknown service */
    put32(&c, 0xdeadbeef);
    td_status st = td_parse007_content(c.b, c.n, &tok);
    CHECK(st == TD_OK, "parse: %s", td_status_name(st));
    json_t *doc = diag_token_to_json(&tok);
    expect_json(
        doc,
        "{\"version\":\"007\",\"app_id\":\"970CA35de60c44645bbae8a215061b33\","
        "\"issue_ts\":1700000000,\"expire\":0,\"salt\":12345,"
        "\"signature\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
        "\"services\":["
        "{\"type\":1,\"name\":\"rtc\",\"channel\":\"room\",\"uid\":\"\",\"privileges\":["
        "{\"id\":1,\"name\":\"join_channel\",\"expire\":600,\"expires_at\":1700000600},"
        "{\"id\":9,\"name\":null,\"expire\":0,\"expires_at\":1700086400}]},"
        "{\"type\":7,\"name\":\"apaas\",\"room_uuid\":\"r-uuid\",\"user_uuid\":\"u-uuid\","
        "\"role\":-1,\"privileges\":[]},"
        "{\"type\":8,\"name\":\"rtm2\",\"user_id\":\"alice\",\"privileges\":["
        "{\"id\":1,\"name\":\"login\",\"expire\":100000,\"expires_at\":1700086400}],"
        "\"permissions\":["
        "{\"resource_type\":0,\"resource_type_name\":\"message_channels\","
        "\"permission_type\":0,\"permission_type_name\":\"read\",\"resources\":[\"ch1\",\"ch2\"]},"
        "{\"resource_type\":9,\"resource_type_name\":null,\"permission_type\":7,"
        "\"permission_type_name\":null,\"resources\":[]}]},"
        "{\"type\":300,\"name\":\"unknown\"}],"
        "\"expires_at\":1700086400}",
        "007 JSON");
    json_decref(doc);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    diag_token_print(f, &tok, 1700000000 - 3 * 3600 - 12 * 60);
    fclose(f);
    CHECK(strstr(text, "2023-11-14T22:13:20Z") != NULL, "ISO-8601 issue time: %s", text);
    CHECK(strstr(text, "2023-11-14T22:23:20Z (in 3 h 22 min)") != NULL, "relative future: %s",
          text);
    CHECK(strstr(text, "9 (unnamed)") && strstr(text, "type 300 unknown") &&
              strstr(text, "\"ch1\" \"ch2\"") && strstr(text, "role       -1"),
          "every field printed: %s", text);
    free(text);
    text = NULL;
    f = open_memstream(&text, &len);
    diag_token_print(f, &tok, 1700086400 + 2 * 86400 + 5);
    fclose(f);
    CHECK(strstr(text, "(expired 2 days ago)") != NULL, "relative past: %s", text);
    free(text);
}

static void test_006(td_ctx *ctx) {
    static td_token spec;
    memset(&spec, 0, sizeof spec);
    spec.app_id = (td_str){"970CA35de60c44645bbae8a215061b33", 32};
    spec.salt = 1;
    spec.ts = 1700086400;
    spec.privileges[0] = (td_privilege){1, 1700003600};
    spec.privileges[1] = (td_privilege){101, 0};
    spec.privileges[2] = (td_privilege){5, 1800000000};
    spec.privilege_total = spec.privilege_count_006 = 3;
    char text[1024];
    size_t n = td_build006(ctx, &spec, "0123456789abcdef0123456789abcdef", 32, "c", 1, "", 0, text,
                           sizeof text);
    CHECK(n > 0 && td_decode(ctx, text, n, &tok) == TD_OK, "006 round trip");
    json_t *doc = diag_token_to_json(&tok);
    json_t *sig = json_object_get(doc, "signature");
    CHECK(json_is_string(sig) && strlen(json_string_value(sig)) == 64, "006 signature hex");
    json_object_del(doc, "signature");
    expect_json(doc,
                "{\"version\":\"006\",\"app_id\":\"970CA35de60c44645bbae8a215061b33\","
                "\"crc_channel\":112844655,\"crc_uid\":0,\"salt\":1,\"ts\":1700086400,"
                "\"privileges\":["
                "{\"id\":1,\"name\":\"join_channel\",\"expire\":1700003600,"
                "\"expires_at\":1700003600},"
                "{\"id\":5,\"name\":null,\"expire\":1800000000,\"expires_at\":1700086400},"
                "{\"id\":101,\"name\":\"administrate_channel\",\"expire\":0,"
                "\"expires_at\":1700086400}],"
                "\"expires_at\":1700086400}",
                "006 JSON");
    json_decref(doc);
}

int main(void) {
    td_ctx *ctx = tu_ctx();
    test_007();
    test_006(ctx);
    td_ctx_free(ctx);
    return tu_report("core_json");
}

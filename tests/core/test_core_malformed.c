/* test_core_malformed.c -- every way a token can be malformed gets the documented error kind.
 *
 * Version first (empty, short, legacy, unknown prefixes), then the 4 KiB limit, base64 (bad
 * characters, padding, length), zlib (data errors, incomplete streams, a 1 MiB zip bomb), and
 * the structure (counts and lengths larger than the content, pools overflowing, unknown service
 * types). Every prefix of every vector token must fail as truncated/corrupted; every prefix of
 * every 007 content as truncated. A deterministic mutation loop at the end feeds damaged tokens
 * for the sanitizers to watch. Run under ASan+UBSan by `make test`.
 */
#include <jansson.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"
#include "tdcore.h"

static td_token tok; /* large: keep it off the stack */

static td_status dec(td_ctx *ctx, const char *text, size_t len) {
    return td_decode(ctx, text, len, &tok);
}

static td_status decs(td_ctx *ctx, const char *text) {
    return dec(ctx, text, strlen(text));
}

#define EXPECT_STATUS(got, want, what)                                                             \
    CHECK((got) == (want), "%s: got %s, want %s", what, td_status_name(got), td_status_name(want))

/* ---- Content construction helpers --------------------------------------------------------- */

typedef struct {
    unsigned char b[1 << 17];
    size_t n;
} buf;

static void put16(buf *b, unsigned v) {
    b->b[b->n++] = (unsigned char)(v & 0xff);
    b->b[b->n++] = (unsigned char)((v >> 8) & 0xff);
}
static void put32(buf *b, uint32_t v) {
    for (int i = 0; i < 4; i++)
        b->b[b->n++] = (unsigned char)((v >> (8 * i)) & 0xff);
}
static void putstr(buf *b, const char *s, size_t len) {
    put16(b, (unsigned)len);
    memcpy(b->b + b->n, s, len);
    b->n += len;
}

static void hmac(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char *out) {
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, klen, msg, mlen, out);
}

/* content = string(signature over info with cert) + info. */
static void sign_content(const buf *info, uint32_t ts, uint32_t salt, const char *cert,
                         buf *content) {
    unsigned char tsb[4] = {ts & 0xff, (ts >> 8) & 0xff, (ts >> 16) & 0xff, ts >> 24};
    unsigned char sb[4] = {salt & 0xff, (salt >> 8) & 0xff, (salt >> 16) & 0xff, salt >> 24};
    unsigned char k1[32], k2[32], sig[32];
    hmac(tsb, 4, cert, 32, k1);
    hmac(sb, 4, k1, 32, k2);
    hmac(k2, 32, info->b, info->n, sig);
    content->n = 0;
    putstr(content, (const char *)sig, 32);
    memcpy(content->b + content->n, info->b, info->n);
    content->n += info->n;
}

/* "007" + base64(deflate(content)) into text; returns its length. */
static size_t to_token(const unsigned char *content, size_t len, char *text, size_t cap) {
    static unsigned char packed[1 << 18];
    uLongf plen = sizeof packed;
    if (compress2(packed, &plen, content, len, Z_DEFAULT_COMPRESSION) != Z_OK)
        return 0;
    size_t olen = 0;
    memcpy(text, "007", 3);
    if (mbedtls_base64_encode((unsigned char *)text + 3, cap - 3, &olen, packed, plen) != 0)
        return 0;
    return 3 + olen;
}

/* "006" + app id + base64(string(signature) crc_channel crc_uid string(m)); returns its length.
 * The signature is 32 zero bytes: these tokens are for the decoder only. */
static size_t to_token006(const buf *m, char *text, size_t cap) {
    static buf content;
    static const char zeros[32];
    content.n = 0;
    putstr(&content, zeros, sizeof zeros);
    put32(&content, 1);
    put32(&content, 2);
    putstr(&content, (const char *)m->b, m->n);
    size_t olen = 0;
    memcpy(text, "006970CA35de60c44645bbae8a215061b33", 35);
    if (mbedtls_base64_encode((unsigned char *)text + 35, cap - 35, &olen, content.b, content.n))
        return 0;
    return 35 + olen;
}

static void info_header(buf *info, uint16_t services) {
    info->n = 0;
    putstr(info, "0123456789abcdef0123456789abcdef", 32);
    put32(info, 1700000000);
    put32(info, 3600);
    put32(info, 42);
    put16(info, services);
}

/* One rtm2 service without privileges, user "alice": what follows is its permissions. */
static void rtm2_header(buf *info) {
    info_header(info, 1);
    put16(info, TD_SVC_RTM2);
    put16(info, 0);
    putstr(info, "alice", 5);
}

static const char cert[] = "fedcba9876543210fedcba9876543210";

/* An rtc service with one privilege, joinChannel (1) until expire, for channel and uid. */
static void put_rtc(buf *info, uint32_t expire, const char *channel, const char *uid) {
    put16(info, TD_SVC_RTC);
    put16(info, 1);
    put16(info, 1);
    put32(info, expire);
    putstr(info, channel, strlen(channel));
    putstr(info, uid, strlen(uid));
}

/* info signed with cert (the issue time and salt info_header writes) into content, then the
 * content parsed into tok. */
static td_status parse_signed(const buf *info, buf *content) {
    sign_content(info, 1700000000, 42, cert, content);
    return td_parse007_content((char *)content->b, content->n, &tok);
}

/* info signed the same way into content, then made a 007 token in text: its length. */
static size_t signed_token(const buf *info, buf *content, char *text, size_t cap) {
    sign_content(info, 1700000000, 42, cert, content);
    return to_token(content->b, content->n, text, cap);
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_versions(td_ctx *ctx) {
    EXPECT_STATUS(dec(ctx, "", 0), TD_ERR_UNSUPPORTED_VERSION, "empty");
    EXPECT_STATUS(decs(ctx, "0"), TD_ERR_UNSUPPORTED_VERSION, "\"0\"");
    EXPECT_STATUS(decs(ctx, "00"), TD_ERR_UNSUPPORTED_VERSION, "\"00\"");
    EXPECT_STATUS(dec(ctx, NULL, 0), TD_ERR_UNSUPPORTED_VERSION, "NULL");
    const char *legacy[] = {"001", "002abc", "003eJxTYA==", "004!!", "005eJxTYPh/sST69Q"};
    for (size_t i = 0; i < sizeof legacy / sizeof *legacy; i++)
        EXPECT_STATUS(decs(ctx, legacy[i]), TD_ERR_LEGACY_VERSION, legacy[i]);
    const char *unsupported[] = {"000abc",    "008eJxTYA==", "abc",          "hello",
                                 "undefined", "null",        " 007eJxTYA==", "\"007eJxTYA==\"",
                                 "7eJxTYA==", "006"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported - 1; i++)
        EXPECT_STATUS(decs(ctx, unsupported[i]), TD_ERR_UNSUPPORTED_VERSION, unsupported[i]);
    EXPECT_STATUS(decs(ctx, "007"), TD_ERR_TRUNCATED, "\"007\" alone");
    EXPECT_STATUS(decs(ctx, "006"), TD_ERR_TRUNCATED, "\"006\" alone");
    EXPECT_STATUS(decs(ctx, "0065276bcb86"), TD_ERR_TRUNCATED, "006 shorter than the app id");
    EXPECT_STATUS(decs(ctx, "006339a78472ed0d024aa5d77d25907"), TD_ERR_TRUNCATED, "006 + 31 chars");
    EXPECT_STATUS(decs(ctx, "006339a78472ed0d024aa5d77d25907aa"), TD_ERR_TRUNCATED,
                  "006 + 32 chars, no content");
    EXPECT_STATUS(decs(ctx, "006339a78472ed0d024aa5d77d25907aaIACw"), TD_ERR_TRUNCATED,
                  "006 content ends early");
}

static void test_lengths_and_base64(td_ctx *ctx) {
    static char big[TD_TOKEN_TEXT_MAX + 2];
    memcpy(big, "007", 3);
    memset(big + 3, 'A', sizeof big - 3);
    EXPECT_STATUS(dec(ctx, big, TD_TOKEN_TEXT_MAX + 1), TD_ERR_CORRUPTED, "4 KiB + 1");
    /* Exactly 4096 bytes passes the limit: 4093 base64 chars is a bad length. */
    EXPECT_STATUS(dec(ctx, big, TD_TOKEN_TEXT_MAX), TD_ERR_TRUNCATED, "4 KiB exactly");
    memcpy(big, "005", 3);
    EXPECT_STATUS(dec(ctx, big, TD_TOKEN_TEXT_MAX + 1), TD_ERR_LEGACY_VERSION,
                  "4 KiB + 1 legacy: version first");
    memcpy(big, "006", 3);
    EXPECT_STATUS(dec(ctx, big, TD_TOKEN_TEXT_MAX + 1), TD_ERR_CORRUPTED, "006 4 KiB + 1");

    EXPECT_STATUS(decs(ctx, "007!!!notbase64***"), TD_ERR_NOT_BASE64, "bad chars");
    EXPECT_STATUS(decs(ctx, "007eJxT YA=="), TD_ERR_NOT_BASE64, "inner space");
    EXPECT_STATUS(decs(ctx, "007eJxTYA==\n"), TD_ERR_NOT_BASE64, "trailing newline");
    EXPECT_STATUS(decs(ctx, "007eJx-TYA_"), TD_ERR_NOT_BASE64, "url-safe alphabet");
    EXPECT_STATUS(decs(ctx, "007eJxT\xc3\xa9YA="), TD_ERR_NOT_BASE64, "non-ASCII");
    EXPECT_STATUS(dec(ctx, "007eJx\0TYA==", 11), TD_ERR_NOT_BASE64, "NUL byte");
    EXPECT_STATUS(decs(ctx, "007eJxTY=A"), TD_ERR_TRUNCATED, "length first when all in set");
    EXPECT_STATUS(decs(ctx, "007eJ=TYA=="), TD_ERR_NOT_BASE64, "padding inside");
    EXPECT_STATUS(decs(ctx, "007eJxTYA=A"), TD_ERR_NOT_BASE64, "padding then data");
    EXPECT_STATUS(decs(ctx, "007eJxT===="), TD_ERR_NOT_BASE64, "too much padding");
    EXPECT_STATUS(decs(ctx, "007eJxTY"), TD_ERR_TRUNCATED, "zlib stream incomplete");
    EXPECT_STATUS(decs(ctx, "007eJxTYA"), TD_ERR_TRUNCATED, "length % 4 == 1");
    EXPECT_STATUS(decs(ctx, "006339a78472ed0d024aa5d77d25907aaIACw1o7h!"), TD_ERR_NOT_BASE64,
                  "006 bad char");
    EXPECT_STATUS(decs(ctx, "007AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), TD_ERR_CORRUPTED,
                  "zlib bad header");
    /* The whole alphabet is in the set (a bad length, not a bad character) ... */
    EXPECT_STATUS(decs(ctx, "007AZaz09+/="), TD_ERR_TRUNCATED, "alphabet");
    /* ... and its neighbours are not, wherever they sit. */
    EXPECT_STATUS(decs(ctx, "007-"), TD_ERR_NOT_BASE64, "'-' outside the alphabet");
    EXPECT_STATUS(decs(ctx, "007_"), TD_ERR_NOT_BASE64, "'_' outside the alphabet");
    EXPECT_STATUS(decs(ctx, "007 "), TD_ERR_NOT_BASE64, "' ' outside the alphabet");
}

static void test_zlib(td_ctx *ctx) {
    static char text[1 << 16];
    /* A zip bomb: 1 MiB of zeros deflates to about 1 KiB. */
    static unsigned char zeros[1 << 20];
    size_t len = to_token(zeros, sizeof zeros, text, sizeof text);
    CHECK(len > 0 && len <= TD_TOKEN_TEXT_MAX, "zip bomb fits in a token (%zu)", len);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_CORRUPTED, "zip bomb");
    /* Exactly TD_CONTENT_MAX + 1 bytes of content is still too large. */
    len = to_token(zeros, TD_CONTENT_MAX + 1, text, sizeof text);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_CORRUPTED, "content of TD_CONTENT_MAX + 1");
    /* Flip the adler32 checksum: data error. */
    buf info, content;
    info_header(&info, 0);
    sign_content(&info, 1700000000, 42, cert, &content);
    static unsigned char packed[4096];
    uLongf plen = sizeof packed;
    compress2(packed, &plen, content.b, content.n, Z_DEFAULT_COMPRESSION);
    packed[plen - 1] ^= 1;
    size_t olen;
    memcpy(text, "007", 3);
    mbedtls_base64_encode((unsigned char *)text + 3, sizeof text - 3, &olen, packed, plen);
    EXPECT_STATUS(dec(ctx, text, 3 + olen), TD_ERR_CORRUPTED, "bad adler32");
    /* The unmodified one decodes, has no services and verifies. */
    packed[plen - 1] ^= 1;
    mbedtls_base64_encode((unsigned char *)text + 3, sizeof text - 3, &olen, packed, plen);
    td_status st = dec(ctx, text, 3 + olen);
    EXPECT_STATUS(st, TD_OK, "no services");
    CHECK(st == TD_OK && tok.service_count == 0 && td_verify007(ctx, &tok, cert, 32),
          "empty service list verifies");
}

static void test_structure(td_ctx *ctx) {
    static char text[1 << 16];
    buf info, content;

    /* A service count larger than the content. */
    info_header(&info, 1000);
    put_rtc(&info, 60, "chan", "7");
    size_t len = signed_token(&info, &content, text, sizeof text);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_TRUNCATED, "service count > content");

    /* 65535 services announced, none present. */
    info_header(&info, 65535);
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_TRUNCATED, "65535 services, none present");

    /* More services than TD_SERVICES_MAX, all present: corrupted. */
    info_header(&info, TD_SERVICES_MAX + 1);
    for (int i = 0; i < TD_SERVICES_MAX + 1; i++) {
        put16(&info, TD_SVC_FPA);
        put16(&info, 0);
    }
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_CORRUPTED,
                  "more than TD_SERVICES_MAX services");
    /* Exactly TD_SERVICES_MAX is fine. */
    info_header(&info, TD_SERVICES_MAX);
    for (int i = 0; i < TD_SERVICES_MAX; i++) {
        put16(&info, TD_SVC_FPA);
        put16(&info, 0);
    }
    EXPECT_STATUS(parse_signed(&info, &content), TD_OK, "TD_SERVICES_MAX services");

    /* A string longer than the content: app id, then channel. */
    info.n = 0;
    put16(&info, 60000);
    memcpy(info.b + info.n, "abc", 3);
    info.n += 3;
    sign_content(&info, 0, 0, cert, &content);
    EXPECT_STATUS(td_parse007_content((char *)content.b, content.n, &tok), TD_ERR_TRUNCATED,
                  "app id length > content");
    info_header(&info, 1);
    put16(&info, TD_SVC_RTC);
    put16(&info, 0);
    put16(&info, 500);
    memcpy(info.b + info.n, "chan", 4);
    info.n += 4;
    len = signed_token(&info, &content, text, sizeof text);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_TRUNCATED, "channel length > content");

    /* Signature string longer than the content. */
    content.n = 0;
    put16(&content, 33);
    memset(content.b + 2, 7, 20);
    content.n = 22;
    EXPECT_STATUS(td_parse007_content((char *)content.b, content.n, &tok), TD_ERR_TRUNCATED,
                  "signature length > content");
    EXPECT_STATUS(td_parse007_content("", 0, &tok), TD_ERR_TRUNCATED, "empty content");
    EXPECT_STATUS(td_parse007_content((char *)content.b, TD_CONTENT_MAX + 1, &tok),
                  TD_ERR_CORRUPTED, "content over TD_CONTENT_MAX");

    /* A privilege count larger than the content. */
    info_header(&info, 1);
    put16(&info, TD_SVC_RTM);
    put16(&info, 5000);
    put16(&info, 1);
    put32(&info, 60);
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_TRUNCATED, "privilege count > content");

    /* More privileges than the pool keeps, all present. */
    info_header(&info, 2);
    for (int s = 0; s < 2; s++) {
        put16(&info, TD_SVC_FPA);
        put16(&info, 200);
        for (int i = 0; i < 200; i++) {
            put16(&info, (unsigned)i);
            put32(&info, 1);
        }
    }
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_CORRUPTED,
                  "more than TD_PRIVILEGES_MAX privileges");

    /* rtm2 with a resource count larger than the content; then too many permissions. */
    rtm2_header(&info);
    put16(&info, 1);
    put16(&info, 0); /* resource type */
    put16(&info, 1); /* permissions */
    put16(&info, 0); /* read */
    put16(&info, 9000);
    putstr(&info, "ch1", 3);
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_TRUNCATED, "rtm2 resource count > content");
    rtm2_header(&info);
    put16(&info, 1);
    put16(&info, 0);
    put16(&info, TD_PERMISSIONS_MAX + 1);
    for (int i = 0; i < TD_PERMISSIONS_MAX + 1; i++) {
        put16(&info, 0);
        put16(&info, 0);
    }
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_CORRUPTED,
                  "more than TD_PERMISSIONS_MAX permissions");
    /* Content ending right after the rtm2 user id. */
    rtm2_header(&info);
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_TRUNCATED, "rtm2 without permissions");
    /* apaas without its role. */
    info_header(&info, 1);
    put16(&info, TD_SVC_APAAS);
    put16(&info, 0);
    putstr(&info, "room", 4);
    putstr(&info, "user", 4);
    put16(&info, 2);
    sign_content(&info, 1700000000, 42, cert, &content);
    EXPECT_STATUS(td_parse007_content((char *)content.b, content.n - 2, &tok), TD_ERR_TRUNCATED,
                  "apaas without role");
    /* With it, and a negative role. */
    content.b[content.n - 1] = 0xff;
    content.b[content.n - 2] = 0xfe;
    td_status st = td_parse007_content((char *)content.b, content.n, &tok);
    CHECK(st == TD_OK && tok.services[0].role == -2, "apaas role -2");

    /* rtm2 resources beyond the pool, all present: corrupted. */
    rtm2_header(&info);
    put16(&info, 1);
    put16(&info, 0);
    put16(&info, 2);
    for (int k = 0; k < 2; k++) {
        put16(&info, (unsigned)k);
        put16(&info, TD_RESOURCES_MAX / 2 + 1);
        for (int i = 0; i < TD_RESOURCES_MAX / 2 + 1; i++)
            putstr(&info, "r", 1);
    }
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_CORRUPTED,
                  "more than TD_RESOURCES_MAX resources");
    /* A resource string running past the content. */
    rtm2_header(&info);
    put16(&info, 1);
    put16(&info, 0);
    put16(&info, 1);
    put16(&info, 0);
    put16(&info, 2);
    putstr(&info, "ch1", 3);
    put16(&info, 40);
    memcpy(info.b + info.n, "ch2", 3);
    info.n += 3;
    EXPECT_STATUS(parse_signed(&info, &content), TD_ERR_TRUNCATED,
                  "rtm2 resource length > content");

    /* 006: m ending inside its ts, then m's privilege count larger than m. */
    buf m;
    m.n = 0;
    put32(&m, 42);
    put16(&m, 7);
    len = to_token006(&m, text, sizeof text);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_TRUNCATED, "006 m without ts");
    m.n = 0;
    put32(&m, 42);
    put32(&m, 1700000000);
    put16(&m, 3);
    put16(&m, 1);
    put32(&m, 0);
    len = to_token006(&m, text, sizeof text);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_TRUNCATED, "006 privilege count > m");
    /* 006: more privileges than the pool keeps, all present. */
    m.n = 0;
    put32(&m, 42);
    put32(&m, 1700000000);
    put16(&m, TD_PRIVILEGES_MAX + 1);
    for (int i = 0; i < TD_PRIVILEGES_MAX + 1; i++) {
        put16(&m, (unsigned)i);
        put32(&m, 0);
    }
    len = to_token006(&m, text, sizeof text);
    CHECK(len > 0 && len <= TD_TOKEN_TEXT_MAX, "006 pool overflow token fits (%zu)", len);
    EXPECT_STATUS(dec(ctx, text, len), TD_ERR_CORRUPTED, "006 more than TD_PRIVILEGES_MAX");
    /* Exactly TD_PRIVILEGES_MAX is fine, and every one is kept. */
    m.n = 0;
    put32(&m, 42);
    put32(&m, 1700000000);
    put16(&m, TD_PRIVILEGES_MAX);
    for (int i = 0; i < TD_PRIVILEGES_MAX; i++) {
        put16(&m, (unsigned)i);
        put32(&m, (uint32_t)i + 7);
    }
    len = to_token006(&m, text, sizeof text);
    st = dec(ctx, text, len);
    EXPECT_STATUS(st, TD_OK, "006 TD_PRIVILEGES_MAX privileges");
    CHECK(st == TD_OK && tok.privilege_count_006 == TD_PRIVILEGES_MAX &&
              tok.privileges[TD_PRIVILEGES_MAX - 1].id == TD_PRIVILEGES_MAX - 1 &&
              tok.privileges[TD_PRIVILEGES_MAX - 1].value == TD_PRIVILEGES_MAX + 6,
          "006 privileges kept");
}

static void test_unknown_service(td_ctx *ctx) {
    static char text[1 << 16];
    buf info, content;
    info_header(&info, 3);
    put_rtc(&info, 600, "chan", "");
    put16(&info, 77); /* unknown: layout unknown, reading stops here */
    memcpy(info.b + info.n, "\x05\x00whatever follows \xff\xfe", 21);
    info.n += 21;
    size_t len = signed_token(&info, &content, text, sizeof text);
    td_status st = dec(ctx, text, len);
    EXPECT_STATUS(st, TD_OK, "unknown service type");
    CHECK(st == TD_OK && tok.service_count == 2 && tok.services[0].known &&
              !tok.services[1].known && tok.services[1].type == 77 &&
              tok.services[1].privilege_count == 0,
          "unknown service kept as the last one");
    CHECK(st == TD_OK && td_verify007(ctx, &tok, cert, 32),
          "signature covers the unknown service's bytes");
    CHECK(strcmp(td_service_name(77), "unknown") == 0, "unknown name");
    /* Flip a byte inside the unread part: still decodes, no longer verifies. */
    content.b[content.n - 3] ^= 0x10;
    len = to_token(content.b, content.n, text, sizeof text);
    st = dec(ctx, text, len);
    CHECK(st == TD_OK && !td_verify007(ctx, &tok, cert, 32), "unread bytes are signed");
}

/* Every prefix of every vector token fails as truncated or corrupted, never crashes; every
 * prefix of every 007 content fails as truncated. */
static void test_prefixes(td_ctx *ctx, const char *dir) {
    tu_lines l;
    if (!tu_lines_open(&l, dir, "tokens.jsonl"))
        return;
    static char content[TD_CONTENT_MAX];
    static td_token part;
    while (tu_lines_next(&l)) {
        const char *text = tu_str(l.line, "token");
        const char *id = tu_str(l.line, "id");
        size_t n = text ? strlen(text) : 0;
        for (size_t k = 0; k < n; k++) {
            td_status st = dec(ctx, text, k);
            bool ok = k < 3 ? st == TD_ERR_UNSUPPORTED_VERSION
                            : st == TD_ERR_TRUNCATED || st == TD_ERR_CORRUPTED;
            CHECK(ok, "%s: prefix of %zu chars: %s", id, k, td_status_name(st));
        }
        if (n && dec(ctx, text, n) == TD_OK && strcmp(tok.version, "007") == 0) {
            size_t clen = tok.content_len;
            memcpy(content, tok.content, clen);
            for (size_t k = 0; k < clen; k++) {
                td_status st = td_parse007_content(content, k, &part);
                CHECK(st == TD_ERR_TRUNCATED, "%s: content prefix of %zu bytes: %s", id, k,
                      td_status_name(st));
            }
        }
    }
    CHECK(l.n >= 200, "read %d tokens (the contract has 200)", l.n);
}

/* Deterministic mutations of a real token: no crash, no sanitizer report, a status in range. */
static void test_mutations(td_ctx *ctx) {
    const char *base =
        "007eJxTYNi0Wv7o0alr4wofm2Xwy31/bD/FJv84v2HGjtA14Su6JB0VGAws0tJMLJPM0szNjcyMj"
        "cwNzZJNjA3MLJNNjBMtko2TDlcYZzUEMjIs9+RiZmJgZGBhYGSwYWBgYGIAAWYGkBwLmM3DUJSf"
        "n6vwYf6MBgUTIy4GQyMTUyMLAyNLQ5A+iC4Whqj8w6sBryomCA==";
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    char text[512];
    size_t n = strlen(base);
    uint32_t seed = 12345;
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(text, base, n);
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = 3 + (seed >> 8) % (n - 3);
            text[pos] = alphabet[(seed >> 20) % 65];
        }
        td_status st = dec(ctx, text, n);
        CHECK(st >= TD_OK && st <= TD_ERR_CORRUPTED, "mutation %d: status %d", iter, (int)st);
        if (st == TD_OK) {
            ok++;
            (void)td_verify007(ctx, &tok, cert, 32);
        }
    }
    printf("mutations: %d of 20000 still decoded\n", ok);
}

int main(int argc, char **argv) {
    const char *vectors = tu_vectors_dir(argc, argv);
    td_ctx *ctx = tu_ctx();
    test_versions(ctx);
    test_lengths_and_base64(ctx);
    test_zlib(ctx);
    test_structure(ctx);
    test_unknown_service(ctx);
    test_prefixes(ctx, vectors);
    test_mutations(ctx);
    td_ctx_free(ctx);
    return tu_report("core_malformed");
}

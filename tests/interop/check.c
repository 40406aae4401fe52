/* check.c -- the C half of the interop test: tokendoctor's core against the vendor npm libraries.
 *
 *   interop_check check FILE.jsonl...       every line's token must decode to exactly its
 *                                           "expect", verify with its certificate and fail with
 *                                           each of its wrong certificates (and, for 006, with
 *                                           another channel or uid); a "tampered" token must
 *                                           decode and fail to verify, a "tampered_any" one
 *                                           must fail to decode or fail to verify.
 *   interop_check mint SEED COUNT OUT.jsonl mint COUNT random tokens with td_build007 /
 *                                           td_build006, check each one as above (round trip),
 *                                           and write them in the same JSON shape for verify.js.
 *
 * Design
 * ------
 * The JSON line format is the `expect` shape of shared/vectors/tokens.jsonl, so this checker
 * runs unchanged over the shared vectors, over gen.js's library-built tokens and over its own
 * minted ones: one comparison path (check_line) for all three. Every comparison of a decoded
 * field says which field of which line differed; certificates are never printed (the test data is
 * random, but the rule "secrets never in output" holds here too).
 *
 * Random inputs come from a seeded splitmix64 so a failing mint run is replayed from its seed.
 * A case's strings live in one arena (case_arena) that the td_token spec slices point into; the
 * arena and the two large td_token values are allocated once in main and reused.
 */
#include "tdcore.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- Reporting ------------------------------------------------------------------------------ */

typedef struct {
    const char *id; /* the line's id, for messages */
    int errors;     /* mismatches found in the current line */
} case_report;

/* Reports one mismatch of the current line (the first few only: one broken field tends to break
 * many). Never given a certificate: messages name fields, sizes and numbers. */
__attribute__((format(printf, 2, 3))) static void fail(case_report *rep, const char *fmt, ...) {
    if (rep->errors < 5) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "FAIL %s: ", rep->id);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    rep->errors++;
}

/* ---- Comparing a decoded token with its expectation ---------------------------------------- */

static void expect_uint(case_report *rep, json_t *obj, const char *key, unsigned long long got) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        fail(rep, "expectation has no integer %s", key);
        return;
    }
    if ((unsigned long long)json_integer_value(v) != got)
        fail(rep, "%s: want %lld, got %llu", key, (long long)json_integer_value(v), got);
}

static void expect_bytes(case_report *rep, json_t *obj, const char *key, td_str got) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        fail(rep, "expectation has no string %s", key);
        return;
    }
    size_t len = json_string_length(v);
    if (len != got.len || (len > 0 && memcmp(json_string_value(v), got.ptr, len) != 0))
        fail(rep, "%s differs (want %zu bytes, got %zu bytes)", key, len, got.len);
}

/* privileges: a JSON object {"id": value}; the token's slice must hold exactly those ids, in
 * ascending order (the order every builder writes them). */
static void expect_privileges(case_report *rep, json_t *obj, const td_token *tok, uint16_t first,
                              uint16_t count) {
    json_t *want = json_object_get(obj, "privileges");
    if (!json_is_object(want)) {
        fail(rep, "expectation has no privileges object");
        return;
    }
    if ((size_t)first + count > tok->privilege_total || tok->privilege_total > TD_PRIVILEGES_MAX) {
        fail(rep, "privileges slice out of the pool (first %u, count %u, total %u)", first, count,
             tok->privilege_total);
        return;
    }
    if (json_object_size(want) != count) {
        fail(rep, "privileges count: want %zu, got %u", json_object_size(want), count);
        return;
    }
    for (uint16_t i = 0; i < count; i++) {
        const td_privilege *p = &tok->privileges[first + i];
        char key[8];
        snprintf(key, sizeof key, "%u", (unsigned)p->id);
        json_t *v = json_object_get(want, key);
        if (i > 0 && tok->privileges[first + i - 1].id >= p->id) {
            fail(rep, "privileges not ascending at id %u (previous %u)", p->id,
                 tok->privileges[first + i - 1].id);
        } else if (!json_is_integer(v)) {
            fail(rep, "privileges: unexpected id %u (value %u)", p->id, p->value);
        } else if ((unsigned long long)json_integer_value(v) != p->value) {
            fail(rep, "privilege %s: want %lld, got %u", key, (long long)json_integer_value(v),
                 p->value);
        }
    }
}

/* An rtm2 list (what: "resources", "permissions"): the slice [first, first + count) lies within
 * its pool of total entries (at most max), and want is an array of count elements. False, with
 * the failure said, when not: the elements cannot be compared then. */
static bool expect_slice(case_report *rep, const char *what, json_t *want, size_t first,
                         unsigned count, size_t total, size_t max) {
    if (first + count > total || total > max) {
        fail(rep, "rtm2 %s slice out of the pool", what);
        return false;
    }
    if (!json_is_array(want) || json_array_size(want) != count) {
        fail(rep, "rtm2 %s count: want %zu, got %u", what, json_array_size(want), count);
        return false;
    }
    return true;
}

static void expect_resources(case_report *rep, json_t *want, const td_token *tok,
                             const td_permission *perm) {
    if (!expect_slice(rep, "resources", want, perm->first_resource, perm->resource_count,
                      tok->resource_total, TD_RESOURCES_MAX))
        return;
    for (uint16_t k = 0; k < perm->resource_count; k++) {
        json_t *holder = json_pack("{sO}", "r", json_array_get(want, k));
        expect_bytes(rep, holder, "r", tok->resources[perm->first_resource + k]);
        json_decref(holder);
    }
}

static void expect_permissions(case_report *rep, json_t *svc_want, const td_token *tok,
                               const td_service *svc) {
    json_t *want = json_object_get(svc_want, "permissions");
    if (!expect_slice(rep, "permissions", want, svc->first_permission, svc->permission_count,
                      tok->permission_total, TD_PERMISSIONS_MAX))
        return;
    for (uint16_t j = 0; j < svc->permission_count; j++) {
        const td_permission *perm = &tok->permissions[svc->first_permission + j];
        json_t *w = json_array_get(want, j);
        expect_uint(rep, w, "resource_type", perm->resource_type);
        expect_uint(rep, w, "permission_type", perm->permission_type);
        expect_resources(rep, json_object_get(w, "resources"), tok, perm);
    }
}

/* The fields after the privileges map, per service type (token-formats.md's table): the names of
 * the two strings (td_service a and b; NULL: none), whether an int16 role follows (apaas) and
 * whether the rtm2 permissions do. What is compared and what a minted line expects both come
 * from this row; fpa, convoai and stt have nothing after the privileges, so no row. */
static const struct {
    uint16_t type;
    const char *a, *b;
    bool role, permissions;
} service_fields[] = {
    {TD_SVC_RTC, "channel", "uid", false, false},
    {TD_SVC_RTM, "user_id", NULL, false, false},
    {TD_SVC_CHAT, "user_id", NULL, false, false},
    {TD_SVC_STREAMING, "channel", "account", false, false},
    {TD_SVC_FCDN, "channel", "account", false, false},
    {TD_SVC_APAAS, "room_uuid", "user_uuid", true, false},
    {TD_SVC_RTM2, "user_id", NULL, false, true},
};

/* The row of a service type; NULL when it has no fields of its own. */
static int service_fields_row(uint16_t type) {
    for (size_t i = 0; i < sizeof service_fields / sizeof service_fields[0]; i++)
        if (service_fields[i].type == type)
            return (int)i;
    return -1;
}

static void expect_service_fields(case_report *rep, json_t *w, const td_token *tok,
                                  const td_service *svc) {
    int row = service_fields_row(svc->type);
    if (row < 0)
        return;
    if (service_fields[row].a)
        expect_bytes(rep, w, service_fields[row].a, svc->a);
    if (service_fields[row].b)
        expect_bytes(rep, w, service_fields[row].b, svc->b);
    if (service_fields[row].role) {
        json_t *role = json_object_get(w, "role");
        if (!json_is_integer(role) || json_integer_value(role) != svc->role)
            fail(rep, "role: want %lld, got %d", (long long)json_integer_value(role), svc->role);
    }
    if (service_fields[row].permissions)
        expect_permissions(rep, w, tok, svc);
}

static void expect_service(case_report *rep, json_t *w, const td_token *tok, size_t index) {
    const td_service *svc = &tok->services[index];
    expect_uint(rep, w, "type", svc->type);
    bool want_unknown = json_is_true(json_object_get(w, "unknown"));
    if (want_unknown != !svc->known) {
        fail(rep, "service %zu (type %u): want %s, got %s", index, svc->type,
             want_unknown ? "unknown" : "known", svc->known ? "known" : "unknown");
        return;
    }
    if (want_unknown) {
        if (index + 1 != tok->service_count)
            fail(rep, "an unknown service is not the last one reported");
        return;
    }
    expect_privileges(rep, w, tok, svc->first_privilege, svc->privilege_count);
    expect_service_fields(rep, w, tok, svc);
}

static void expect_007(case_report *rep, json_t *want, const td_token *tok) {
    expect_bytes(rep, want, "app_id", tok->app_id);
    expect_uint(rep, want, "issue_ts", tok->issue_ts);
    expect_uint(rep, want, "expire", tok->expire);
    expect_uint(rep, want, "salt", tok->salt);
    json_t *services = json_object_get(want, "services");
    if (tok->service_count > TD_SERVICES_MAX || !json_is_array(services) ||
        json_array_size(services) != tok->service_count) {
        fail(rep, "services count: want %zu, got %u", json_array_size(services),
             tok->service_count);
        return;
    }
    for (size_t i = 0; i < tok->service_count; i++)
        expect_service(rep, json_array_get(services, i), tok, i);
}

static void expect_006(case_report *rep, json_t *want, const td_token *tok) {
    expect_bytes(rep, want, "app_id", tok->app_id);
    expect_uint(rep, want, "salt", tok->salt);
    expect_uint(rep, want, "ts", tok->ts);
    expect_uint(rep, want, "crc_channel", tok->crc_channel);
    expect_uint(rep, want, "crc_uid", tok->crc_uid);
    expect_privileges(rep, want, tok, tok->first_privilege_006, tok->privilege_count_006);
}

/* ---- Verification ---------------------------------------------------------------------------- */

/* Channel and uid text that a 006 signature covers ("signed"), empty for 007. */
typedef struct {
    const char *channel;
    size_t channel_len;
    const char *uid;
    size_t uid_len;
} signed_text;

static signed_text signed_text_of(json_t *line) {
    json_t *s = json_object_get(line, "signed");
    json_t *ch = json_object_get(s, "channel");
    json_t *uid = json_object_get(s, "uid");
    signed_text st = {"", 0, "", 0};
    if (json_is_string(ch)) {
        st.channel = json_string_value(ch);
        st.channel_len = json_string_length(ch);
    }
    if (json_is_string(uid)) {
        st.uid = json_string_value(uid);
        st.uid_len = json_string_length(uid);
    }
    return st;
}

static bool verify_token(td_ctx *ctx, const td_token *tok, const char *cert, size_t cert_len,
                         const signed_text *st) {
    if (strcmp(tok->version, "006") == 0) {
        return td_verify006(ctx, tok, cert, cert_len, st->channel, st->channel_len, st->uid,
                            st->uid_len);
    }
    return td_verify007(ctx, tok, cert, cert_len);
}

static void check_wrong_certs(case_report *rep, td_ctx *ctx, json_t *line, const td_token *tok,
                              const signed_text *st) {
    json_t *wrong = json_object_get(line, "wrong_certificates");
    size_t i;
    json_t *c;
    json_array_foreach(wrong, i, c) {
        if (verify_token(ctx, tok, json_string_value(c), json_string_length(c), st))
            fail(rep, "wrong certificate #%zu verifies", i);
    }
}

/* 006: the signature covers the channel and uid text, so a different one must not verify. */
static void check_other_join(case_report *rep, td_ctx *ctx, const td_token *tok, const char *cert,
                             size_t cert_len, const signed_text *st) {
    char other[1024];
    if (st->channel_len + 1 > sizeof other)
        return;
    memcpy(other, st->channel, st->channel_len);
    other[st->channel_len] = 'x';
    if (td_verify006(ctx, tok, cert, cert_len, other, st->channel_len + 1, st->uid, st->uid_len))
        fail(rep, "006 verifies for another channel");
    if (td_verify006(ctx, tok, cert, cert_len, st->channel, st->channel_len, "1", 1) &&
        !(st->uid_len == 1 && st->uid[0] == '1'))
        fail(rep, "006 verifies for another uid");
}

/* A tampered token of the line, under field: "tampered" (one bit of a signed field flipped)
 * must decode and must not verify; "tampered_any" (one bit flipped anywhere under the
 * signature) may fail to decode (any kind), but a token that decodes must not verify. */
static void check_tampered(case_report *rep, td_ctx *ctx, json_t *line, const char *field,
                           td_token *tok, const char *cert, size_t cert_len,
                           const signed_text *st) {
    json_t *t = json_object_get(line, field);
    if (!json_is_string(t))
        return;
    bool any = strcmp(field, "tampered_any") == 0;
    td_status s = td_decode(ctx, json_string_value(t), json_string_length(t), tok);
    if (s != TD_OK && !any)
        fail(rep, "tampered token does not decode: %s", td_status_name(s));
    else if (s == TD_OK && verify_token(ctx, tok, cert, cert_len, st))
        fail(rep, any ? "token with a flipped bit under the signature still verifies"
                      : "tampered token (one bit of a signed field) still verifies");
}

/* One line: decode, compare, verify right and wrong. tok is scratch space owned by the caller.
 * Returns the number of mismatches. */
static int check_line(td_ctx *ctx, json_t *line, td_token *tok) {
    json_t *id = json_object_get(line, "id");
    case_report rep = {json_is_string(id) ? json_string_value(id) : "?", 0};
    json_t *token = json_object_get(line, "token");
    json_t *cert = json_object_get(line, "certificate");
    json_t *want = json_object_get(line, "expect");
    if (!json_is_string(token) || !json_is_string(cert) || !json_is_object(want)) {
        fail(&rep, "line lacks token, certificate or expect");
        return rep.errors;
    }
    td_status s = td_decode(ctx, json_string_value(token), json_string_length(token), tok);
    if (s != TD_OK) {
        fail(&rep, "decode failed: %s", td_status_name(s));
        return rep.errors;
    }
    json_t *version = json_object_get(want, "version");
    if (!json_is_string(version) || strcmp(json_string_value(version), tok->version) != 0) {
        fail(&rep, "version differs: got %s", tok->version);
        return rep.errors;
    }
    if (tok->signature.len != TD_SIGNATURE_LEN)
        fail(&rep, "signature length: want %d, got %zu", TD_SIGNATURE_LEN, tok->signature.len);
    bool v006 = strcmp(tok->version, "006") == 0;
    if (v006)
        expect_006(&rep, want, tok);
    else
        expect_007(&rep, want, tok);
    signed_text st = signed_text_of(line);
    const char *c = json_string_value(cert);
    size_t clen = json_string_length(cert);
    if (!verify_token(ctx, tok, c, clen, &st))
        fail(&rep, "does not verify with its certificate");
    check_wrong_certs(&rep, ctx, line, tok, &st);
    if (v006)
        check_other_join(&rep, ctx, tok, c, clen, &st);
    check_tampered(&rep, ctx, line, "tampered", tok, c, clen, &st);
    check_tampered(&rep, ctx, line, "tampered_any", tok, c, clen, &st);
    return rep.errors;
}

/* ---- Counting ------------------------------------------------------------------------------ */

typedef struct {
    long passed;
    long failed;
} tally;

static void count(tally *t, int errors) {
    if (errors == 0)
        t->passed++;
    else
        t->failed++;
}

static bool check_file(td_ctx *ctx, const char *path, td_token *tok, tally *t) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "interop_check: cannot open %s\n", path);
        return false;
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&buf, &cap, f)) > 0) {
        lineno++;
        json_error_t err;
        json_t *line = json_loadb(buf, (size_t)n, JSON_ALLOW_NUL, &err);
        if (line == NULL) {
            fprintf(stderr, "FAIL %s:%ld: bad JSON: %s\n", path, lineno, err.text);
            t->failed++;
            continue;
        }
        count(t, check_line(ctx, line, tok));
        json_decref(line);
    }
    free(buf);
    fclose(f);
    return true;
}

/* ---- Random inputs for minting -------------------------------------------------------------- */

typedef struct {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform-enough integer in [lo, hi] (test inputs, not cryptography). */
static uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi) {
    return lo + rng_next(r) % (hi - lo + 1);
}

static bool rng_chance(rng *r, unsigned percent) {
    return rng_range(r, 0, 99) < percent;
}

/* The strings of one minted case: the spec's td_str slices point in here. The text budget keeps
 * every minted 007 token well under TD_TOKEN_TEXT_MAX even when nothing compresses (random
 * unicode): once it is spent, further strings are empty. */
#define ARENA_TEXT_BUDGET 1800

typedef struct {
    char buf[ARENA_TEXT_BUDGET + 64];
    size_t used;
} case_arena;

static td_str arena_hex32(case_arena *a, rng *r) {
    static const char digits[] = "0123456789abcdefABCDEF";
    bool mixed = rng_chance(r, 20);
    char *p = a->buf + a->used;
    for (int i = 0; i < 32; i++)
        p[i] = digits[rng_range(r, 0, mixed ? 21 : 15)];
    a->used += 32;
    return (td_str){p, 32};
}

/* Appends one code point as UTF-8 (valid: no surrogates), so the JSON written for node is exact. */
static size_t put_utf8(char *p, uint32_t cp) {
    if (cp < 0x80) {
        p[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (char)(0xc0 | (cp >> 6));
        p[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (char)(0xe0 | (cp >> 12));
        p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        p[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    p[0] = (char)(0xf0 | (cp >> 18));
    p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    p[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static uint32_t random_code_point(rng *r, bool ascii) {
    static const uint32_t pools[][2] = {{0x20, 0x7e},     {0xa0, 0xff},       {0x391, 0x3c9},
                                        {0x4e00, 0x9fff}, {0x1f300, 0x1f64f}, {0x00, 0x1f}};
    size_t k = ascii ? 0 : (size_t)rng_range(r, 0, sizeof pools / sizeof pools[0] - 1);
    return (uint32_t)rng_range(r, pools[k][0], pools[k][1]);
}

/* Random text of up to max_chars code points: empty, decimal, ASCII or mixed unicode (with NUL). */
static td_str arena_text(case_arena *a, rng *r, unsigned max_chars) {
    char *p = a->buf + a->used;
    size_t len = 0;
    unsigned kind = (unsigned)rng_range(r, 0, 9);
    if (kind == 0 || a->used + 4 * (size_t)max_chars + 12 > ARENA_TEXT_BUDGET)
        return (td_str){p, 0};
    if (kind <= 2) {
        len = (size_t)snprintf(p, 12, "%u", (unsigned)rng_range(r, 1, 0xffffffffu));
    } else {
        unsigned n = (unsigned)rng_range(r, 1, max_chars);
        bool ascii = kind <= 5;
        for (unsigned i = 0; i < n; i++)
            len += put_utf8(p + len, random_code_point(r, ascii));
    }
    a->used += len;
    return (td_str){p, len};
}

static uint32_t random_u32_edge(rng *r, uint32_t lo, uint32_t hi) {
    unsigned k = (unsigned)rng_range(r, 0, 19);
    if (k == 0)
        return 0xffffffffu;
    if (k == 1)
        return (uint32_t)rng_range(r, 1, 0xffffffffu);
    return (uint32_t)rng_range(r, lo, hi);
}

/* Appends count privileges with ascending ids drawn from ids[] (plus, sometimes, an unnamed one).
 */
static uint16_t add_privileges(td_token *spec, rng *r, const uint16_t *ids, size_t nids,
                               bool absolute) {
    uint16_t first = spec->privilege_total;
    for (size_t i = 0; i < nids; i++) {
        if (rng_chance(r, 70) && spec->privilege_total < TD_PRIVILEGES_MAX) {
            td_privilege *p = &spec->privileges[spec->privilege_total++];
            p->id = ids[i];
            p->value = absolute ? random_u32_edge(r, 1600000000u, 1900000000u)
                                : (rng_chance(r, 20) ? 0 : random_u32_edge(r, 1, 7 * 86400));
        }
    }
    if (rng_chance(r, 10) && spec->privilege_total < TD_PRIVILEGES_MAX) {
        td_privilege *p = &spec->privileges[spec->privilege_total++];
        p->id = (uint16_t)rng_range(r, 2000, 65535); /* above every named id: keeps the order */
        p->value = (uint32_t)rng_range(r, 0, 0xffffffffu);
    }
    return first;
}

static void add_rtm2_permissions(td_token *spec, case_arena *a, rng *r, td_service *svc) {
    svc->first_permission = spec->permission_total;
    svc->permission_count = 0;
    for (uint16_t rt = 0; rt <= 5; rt++) {
        for (uint16_t pt = 0; pt <= 1; pt++) {
            if (!rng_chance(r, 25) || spec->permission_total >= TD_PERMISSIONS_MAX)
                continue;
            td_permission *perm = &spec->permissions[spec->permission_total++];
            perm->resource_type = rt == 5 ? 9 : rt; /* 9: a resource type without a name */
            perm->permission_type = pt;
            perm->first_resource = spec->resource_total;
            perm->resource_count = (uint16_t)rng_range(r, 0, 3);
            for (uint16_t k = 0; k < perm->resource_count; k++)
                spec->resources[spec->resource_total++] = arena_text(a, r, 12);
            svc->permission_count++;
        }
    }
}

static const uint16_t named_ids[11][4] = {
    {0}, {1, 2, 3, 4}, {1}, {1, 2}, {1}, {1, 2}, {1, 2}, {1, 2, 3}, {1}, {0}, {0},
};
static const size_t named_count[11] = {0, 4, 1, 2, 1, 2, 2, 3, 1, 0, 0};

static void random_service(td_token *spec, case_arena *a, rng *r, uint16_t type) {
    td_service *svc = &spec->services[spec->service_count++];
    memset(svc, 0, sizeof *svc);
    svc->type = type;
    svc->known = true;
    svc->first_privilege = add_privileges(spec, r, named_ids[type], named_count[type], false);
    svc->privilege_count = (uint16_t)(spec->privilege_total - svc->first_privilege);
    switch (type) {
    case TD_SVC_RTC:
    case TD_SVC_STREAMING:
    case TD_SVC_FCDN:
        svc->a = arena_text(a, r, 48);
        svc->b = arena_text(a, r, 24);
        break;
    case TD_SVC_RTM:
    case TD_SVC_CHAT:
        svc->a = arena_text(a, r, 24);
        break;
    case TD_SVC_APAAS:
        svc->a = arena_text(a, r, 24);
        svc->b = arena_text(a, r, 24);
        svc->role = (int16_t)(rng_range(r, 0, 65535) - 32768);
        break;
    case TD_SVC_RTM2:
        svc->a = arena_text(a, r, 24);
        add_rtm2_permissions(spec, a, r, svc);
        break;
    default:
        break;
    }
}

static void random_spec007(td_token *spec, case_arena *a, rng *r) {
    memset(spec, 0, offsetof(td_token, content));
    memcpy(spec->version, "007", 4);
    spec->app_id = arena_hex32(a, r);
    spec->issue_ts = random_u32_edge(r, 1600000000u, 1900000000u);
    spec->expire = rng_chance(r, 5) ? 0 : random_u32_edge(r, 1, 30 * 86400);
    spec->salt = (uint32_t)rng_range(r, 1, 99999999);
    unsigned n = (unsigned)rng_range(r, 1, rng_chance(r, 90) ? 3 : 12);
    uint16_t types[16];
    for (unsigned i = 0; i < n; i++)
        types[i] = (uint16_t)rng_range(r, 1, 10);
    for (unsigned i = 1; i < n; i++) { /* builders sort services by type */
        for (unsigned j = i; j > 0 && types[j - 1] > types[j]; j--) {
            uint16_t t = types[j];
            types[j] = types[j - 1];
            types[j - 1] = t;
        }
    }
    for (unsigned i = 0; i < n; i++)
        random_service(spec, a, r, types[i]);
}

static void random_spec006(td_token *spec, case_arena *a, rng *r, td_str *channel, td_str *uid) {
    static const uint16_t ids006[] = {1, 2, 3, 4, 101, 1000};
    memset(spec, 0, offsetof(td_token, content));
    memcpy(spec->version, "006", 4);
    spec->app_id = arena_hex32(a, r);
    spec->salt = (uint32_t)rng_range(r, 1, 99999999);
    spec->ts = random_u32_edge(r, 1600000000u, 1900000000u);
    spec->first_privilege_006 = add_privileges(spec, r, ids006, 6, true);
    spec->privilege_count_006 = spec->privilege_total;
    *channel = arena_text(a, r, 48);
    *uid = rng_chance(r, 20) ? (td_str){"", 0} : arena_text(a, r, 24);
}

/* ---- Writing a minted case as a JSON line ------------------------------------------------- */

static json_t *json_bytes(td_str s) {
    return json_stringn(s.ptr, s.len);
}

static json_t *privileges_json(const td_token *spec, uint16_t first, uint16_t count) {
    json_t *o = json_object();
    for (uint16_t i = 0; i < count; i++) {
        char key[8];
        snprintf(key, sizeof key, "%u", (unsigned)spec->privileges[first + i].id);
        json_object_set_new(o, key, json_integer(spec->privileges[first + i].value));
    }
    return o;
}

static json_t *permissions_json(const td_token *spec, const td_service *svc) {
    json_t *arr = json_array();
    for (uint16_t j = 0; j < svc->permission_count; j++) {
        const td_permission *p = &spec->permissions[svc->first_permission + j];
        json_t *res = json_array();
        for (uint16_t k = 0; k < p->resource_count; k++)
            json_array_append_new(res, json_bytes(spec->resources[p->first_resource + k]));
        json_array_append_new(arr,
                              json_pack("{sisiso}", "resource_type", p->resource_type,
                                        "permission_type", p->permission_type, "resources", res));
    }
    return arr;
}

static json_t *service_json(const td_token *spec, const td_service *svc) {
    json_t *o = json_pack("{siso}", "type", svc->type, "privileges",
                          privileges_json(spec, svc->first_privilege, svc->privilege_count));
    int row = service_fields_row(svc->type);
    if (row >= 0 && service_fields[row].a)
        json_object_set_new(o, service_fields[row].a, json_bytes(svc->a));
    if (row >= 0 && service_fields[row].b)
        json_object_set_new(o, service_fields[row].b, json_bytes(svc->b));
    if (row >= 0 && service_fields[row].role)
        json_object_set_new(o, "role", json_integer(svc->role));
    if (row >= 0 && service_fields[row].permissions)
        json_object_set_new(o, "permissions", permissions_json(spec, svc));
    return o;
}

static json_t *expect_json(const td_token *spec) {
    if (strcmp(spec->version, "006") == 0) {
        return json_pack(
            "{sssosIsIsIsIso}", "version", "006", "app_id", json_bytes(spec->app_id), "salt",
            (json_int_t)spec->salt, "ts", (json_int_t)spec->ts, "crc_channel",
            (json_int_t)spec->crc_channel, "crc_uid", (json_int_t)spec->crc_uid, "privileges",
            privileges_json(spec, spec->first_privilege_006, spec->privilege_count_006));
    }
    json_t *services = json_array();
    for (uint16_t i = 0; i < spec->service_count; i++)
        json_array_append_new(services, service_json(spec, &spec->services[i]));
    return json_pack("{sssosIsIsIso}", "version", "007", "app_id", json_bytes(spec->app_id),
                     "issue_ts", (json_int_t)spec->issue_ts, "expire", (json_int_t)spec->expire,
                     "salt", (json_int_t)spec->salt, "services", services);
}

/* A certificate that differs from cert: the case of one letter flipped, or one digit changed. */
static void other_cert(const char *cert, char *out) {
    memcpy(out, cert, 32);
    out[32] = '\0';
    for (int i = 0; i < 32; i++) {
        char c = out[i];
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
            out[i] = (char)(c ^ 0x20);
            return;
        }
    }
    out[0] = out[0] == '0' ? '1' : '0';
}

/* ---- Minting ------------------------------------------------------------------------------- */

typedef struct {
    td_ctx *ctx;
    td_token *spec;
    td_token *scratch;
    case_arena *arena;
    FILE *out;
} mint_env;

/* Mints one random token, checks it round-trips through our own decoder, writes its line.
 * Returns the number of mismatches. */
static int mint_one(mint_env *env, rng *r, const char *id) {
    td_token *spec = env->spec;
    case_arena *a = env->arena;
    a->used = 0;
    td_str cert = arena_hex32(a, r);
    char cert_text[33], wrong[33];
    memcpy(cert_text, cert.ptr, 32);
    cert_text[32] = '\0';
    other_cert(cert_text, wrong);
    char token[TD_TOKEN_TEXT_MAX + 1];
    size_t n;
    td_str channel = {"", 0}, uid = {"", 0};
    bool v006 = rng_chance(r, 30);
    if (v006) {
        random_spec006(spec, a, r, &channel, &uid);
        n = td_build006(env->ctx, spec, cert.ptr, cert.len, channel.ptr, channel.len, uid.ptr,
                        uid.len, token, sizeof token);
        spec->crc_channel = td_crc32(channel.ptr, channel.len);
        spec->crc_uid = td_crc32(uid.ptr, uid.len);
    } else {
        random_spec007(spec, a, r);
        n = td_build007(env->ctx, spec, cert.ptr, cert.len, token, sizeof token);
    }
    if (n == 0) {
        fprintf(stderr, "FAIL %s: td_build%s returned 0\n", id, spec->version);
        return 1;
    }
    json_t *line = json_pack("{sssssssss[ss]so}", "id", id, "builder", "tokendoctor", "token",
                             token, "certificate", cert_text, "wrong_certificates", wrong,
                             "0123456789abcdef0123456789abcdef", "expect", expect_json(spec));
    if (v006) {
        json_object_set_new(
            line, "signed",
            json_pack("{soso}", "channel", json_bytes(channel), "uid", json_bytes(uid)));
    }
    int errors = check_line(env->ctx, line, env->scratch);
    char *text = json_dumps(line, JSON_COMPACT);
    fprintf(env->out, "%s\n", text);
    free(text);
    json_decref(line);
    return errors;
}

static bool mint_file(td_ctx *ctx, uint64_t seed, long n, const char *path, td_token *spec,
                      td_token *scratch, tally *t) {
    FILE *out = fopen(path, "w");
    case_arena *arena = malloc(sizeof *arena);
    if (out == NULL || arena == NULL) {
        fprintf(stderr, "interop_check: cannot write %s\n", path);
        if (out != NULL)
            fclose(out);
        free(arena);
        return false;
    }
    mint_env env = {ctx, spec, scratch, arena, out};
    rng r = {seed};
    for (long i = 0; i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "mint-%llu-%ld", (unsigned long long)seed, i);
        count(t, mint_one(&env, &r, id));
    }
    free(arena);
    return fclose(out) == 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static int usage(void) {
    fprintf(stderr, "usage: interop_check check FILE.jsonl...\n"
                    "       interop_check mint SEED COUNT OUT.jsonl\n");
    return 64;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "mint") != 0) ||
        (strcmp(argv[1], "mint") == 0 && argc != 5))
        return usage();
    td_ctx *ctx = td_ctx_new();
    td_token *tok = malloc(sizeof *tok);
    td_token *spec = malloc(sizeof *spec);
    if (ctx == NULL || tok == NULL || spec == NULL) {
        fprintf(stderr, "interop_check: out of memory\n");
        return 70;
    }
    tally t = {0, 0};
    bool ok = true;
    const char *what = argv[1];
    if (strcmp(what, "check") == 0) {
        for (int i = 2; i < argc; i++)
            ok = check_file(ctx, argv[i], tok, &t) && ok;
    } else {
        ok = mint_file(ctx, strtoull(argv[2], NULL, 10), strtol(argv[3], NULL, 10), argv[4], spec,
                       tok, &t);
    }
    printf("%s: %ld passed, %ld failed\n", what, t.passed, t.failed);
    free(spec);
    free(tok);
    td_ctx_free(ctx);
    return ok && t.failed == 0 ? 0 : 1;
}

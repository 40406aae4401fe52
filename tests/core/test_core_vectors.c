/* test_core_vectors.c -- the shared vectors through the core library.
 *
 * tokens.jsonl (the contract's) and generated/tokens.jsonl (built by the vendor's libraries,
 * tests/vectors/generate.sh): every token decodes to exactly its `expect` (compared field by field,
 * and every field of `expect` must be one this test knows how to compare, so a vector field we
 * ignore fails the test), verifies with its certificate (006: with the `signed` channel and uid),
 * does not verify with a wrong certificate, and stops verifying when any bit of the signature or of
 * the signed bytes is flipped.
 *
 * mint-exact.jsonl: every line is rebuilt byte for byte by td_build007 / td_build006.
 */
#include <jansson.h>
#include <mbedtls/base64.h>
#include <string.h>

#include "testutil.h"
#include "tdcore.h"

static bool str_eq(td_str s, const char *expect) {
    return expect && s.len == strlen(expect) && memcmp(s.ptr, expect, s.len) == 0;
}

/* Compares a privileges map {"id": value} with privileges[first, first + count). */
static void compare_privileges(const char *id, json_t *expect, const td_token *t, uint16_t first,
                               uint16_t count) {
    CHECK(json_is_object(expect), "%s: privileges not an object", id);
    CHECK(json_object_size(expect) == count, "%s: %zu privileges expected, got %u", id,
          json_object_size(expect), count);
    for (uint16_t i = 0; i < count; i++) {
        char key[8];
        snprintf(key, sizeof key, "%u", t->privileges[first + i].id);
        json_t *v = json_object_get(expect, key);
        CHECK(json_is_integer(v) &&
                  (uint32_t)json_integer_value(v) == t->privileges[first + i].value,
              "%s: privilege %s = %u", id, key, t->privileges[first + i].value);
    }
}

static void compare_permissions(const char *id, json_t *expect, const td_token *t,
                                const td_service *s) {
    CHECK(json_is_array(expect) && json_array_size(expect) == s->permission_count,
          "%s: permission count %u", id, s->permission_count);
    if (!json_is_array(expect) || json_array_size(expect) != s->permission_count)
        return;
    for (uint16_t i = 0; i < s->permission_count; i++) {
        const td_permission *p = &t->permissions[s->first_permission + i];
        json_t *e = json_array_get(expect, i);
        json_t *res = json_object_get(e, "resources");
        CHECK(json_integer_value(json_object_get(e, "resource_type")) == p->resource_type,
              "%s: permission %u resource_type", id, i);
        CHECK(json_integer_value(json_object_get(e, "permission_type")) == p->permission_type,
              "%s: permission %u permission_type", id, i);
        CHECK(json_array_size(res) == p->resource_count, "%s: permission %u resource count", id, i);
        for (uint16_t k = 0; k < p->resource_count && k < json_array_size(res); k++)
            CHECK(str_eq(t->resources[p->first_resource + k],
                         json_string_value(json_array_get(res, k))),
                  "%s: permission %u resource %u", id, i, k);
    }
}

static void compare_service(const char *id, json_t *e, const td_token *t, const td_service *s) {
    const char *key;
    json_t *v;
    CHECK(s->known, "%s: service %u unknown", id, s->type);
    json_object_foreach(e, key, v) {
        if (strcmp(key, "type") == 0)
            CHECK(json_integer_value(v) == s->type, "%s: service type %u", id, s->type);
        else if (strcmp(key, "privileges") == 0)
            compare_privileges(id, v, t, s->first_privilege, s->privilege_count);
        else if (strcmp(key, "channel") == 0 || strcmp(key, "room_uuid") == 0 ||
                 strcmp(key, "user_id") == 0)
            CHECK(str_eq(s->a, json_string_value(v)), "%s: %s", id, key);
        else if (strcmp(key, "uid") == 0 || strcmp(key, "account") == 0 ||
                 strcmp(key, "user_uuid") == 0)
            CHECK(str_eq(s->b, json_string_value(v)), "%s: %s", id, key);
        else if (strcmp(key, "role") == 0)
            CHECK(json_integer_value(v) == s->role, "%s: role %d", id, s->role);
        else if (strcmp(key, "permissions") == 0)
            compare_permissions(id, v, t, s);
        else
            CHECK(false, "%s: service field %s not compared by this test", id, key);
    }
}

/* The decoded value of the integer field key of an expect (false: key names none). */
static bool token_number(const td_token *t, const char *key, int64_t *out) {
    const struct {
        const char *key;
        int64_t value;
    } fields[] = {
        {"issue_ts", t->issue_ts},       {"expire", t->expire},   {"salt", t->salt}, {"ts", t->ts},
        {"crc_channel", t->crc_channel}, {"crc_uid", t->crc_uid},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(key, fields[i].key) == 0) {
            *out = fields[i].value;
            return true;
        }
    return false;
}

static void compare_token(const char *id, json_t *expect, const td_token *t) {
    const char *key;
    json_t *v;
    int64_t n;
    json_object_foreach(expect, key, v) {
        if (strcmp(key, "version") == 0)
            CHECK(strcmp(t->version, json_string_value(v)) == 0, "%s: version", id);
        else if (strcmp(key, "app_id") == 0)
            CHECK(str_eq(t->app_id, json_string_value(v)), "%s: app_id", id);
        else if (token_number(t, key, &n))
            CHECK(json_integer_value(v) == n, "%s: %s", id, key);
        else if (strcmp(key, "privileges") == 0)
            compare_privileges(id, v, t, t->first_privilege_006, t->privilege_count_006);
        else if (strcmp(key, "services") == 0) {
            CHECK(json_array_size(v) == t->service_count, "%s: %zu services expected, got %u", id,
                  json_array_size(v), t->service_count);
            for (size_t i = 0; i < json_array_size(v) && i < t->service_count; i++)
                compare_service(id, json_array_get(v, i), t, &t->services[i]);
        } else
            CHECK(false, "%s: field %s not compared by this test", id, key);
    }
}

/* Re-encodes modified 006 content as token text and decodes it into *out. */
static td_status decode006_modified(td_ctx *ctx, const td_token *orig, const unsigned char *content,
                                    size_t len, td_token *out) {
    char text[TD_TOKEN_TEXT_MAX + 1];
    size_t olen = 0;
    memcpy(text, "006", 3);
    memcpy(text + 3, orig->app_id.ptr, TD_CERT_LEN);
    if (mbedtls_base64_encode((unsigned char *)text + 35, sizeof text - 35, &olen, content, len))
        return TD_ERR_CORRUPTED;
    return td_decode(ctx, text, 35 + olen, out);
}

static bool verify_any(td_ctx *ctx, const td_token *t, const char *cert, json_t *line) {
    if (strcmp(t->version, "007") == 0)
        return td_verify007(ctx, t, cert, strlen(cert));
    json_t *sig = json_object_get(line, "signed");
    const char *ch = json_string_value(json_object_get(sig, "channel"));
    const char *uid = json_string_value(json_object_get(sig, "uid"));
    return td_verify006(ctx, t, cert, strlen(cert), ch, strlen(ch), uid, strlen(uid));
}

/* Flips one bit in each of many positions of the signature and of the signed bytes. */
static void check_bit_flips(td_ctx *ctx, const char *id, const td_token *t, const char *cert,
                            json_t *line) {
    static td_token mod;
    unsigned char content[TD_CONTENT_MAX];
    size_t len = t->content_len;
    memcpy(content, t->content, len);
    size_t sig_off = (size_t)(t->signature.ptr - t->content);
    size_t signed_off = (size_t)(t->signed_part.ptr - t->content);
    size_t positions = 0, rejected = 0;
    for (size_t pos = 0; pos < len; pos++) {
        bool in_sig = pos >= sig_off && pos < sig_off + t->signature.len;
        bool in_signed = pos >= signed_off && pos < signed_off + t->signed_part.len;
        if (!in_sig && !in_signed)
            continue;
        unsigned char bit = (unsigned char)(1u << (pos % 8));
        content[pos] ^= bit;
        td_status st = strcmp(t->version, "007") == 0
                           ? td_parse007_content((const char *)content, len, &mod)
                           : decode006_modified(ctx, t, content, len, &mod);
        positions++;
        if (st != TD_OK || !verify_any(ctx, &mod, cert, line))
            rejected++;
        else
            CHECK(false, "%s: flipped bit at byte %zu still verifies", id, pos);
        content[pos] ^= bit;
    }
    CHECK(positions > 32 && positions == rejected, "%s: %zu of %zu flips rejected", id, rejected,
          positions);
}

/* The tokens of one file (the contract's, or the ones tests/vectors/generate.sh built with the
 * vendor's libraries); at least min of them. */
static void test_tokens(td_ctx *ctx, const char *dir, const char *file, int min) {
    tu_lines l;
    if (!tu_lines_open(&l, dir, file))
        return;
    static td_token tok;
    while (tu_lines_next(&l)) {
        json_t *o = l.line;
        const char *id = tu_str(o, "id");
        const char *text = tu_str(o, "token");
        const char *cert = tu_str(o, "certificate");
        td_status st = td_decode(ctx, text, strlen(text), &tok);
        CHECK(st == TD_OK, "%s: decode: %s", id, td_status_name(st));
        if (st == TD_OK) {
            compare_token(id, json_object_get(o, "expect"), &tok);
            CHECK(verify_any(ctx, &tok, cert, o), "%s: does not verify with its certificate", id);
            char wrong[33];
            memcpy(wrong, cert, 33);
            wrong[31] = wrong[31] == '0' ? '1' : '0';
            CHECK(!verify_any(ctx, &tok, wrong, o), "%s: verifies with a wrong certificate", id);
            CHECK(!verify_any(ctx, &tok, cert + 1, o), "%s: verifies with a 31-char certificate",
                  id);
            if (strcmp(tok.version, "006") == 0) {
                json_t *sig = json_object_get(o, "signed");
                const char *ch = tu_str(sig, "channel");
                const char *uid = tu_str(sig, "uid");
                CHECK(!td_verify006(ctx, &tok, cert, 32, ch, strlen(ch), "9", 1) || !*uid,
                      "%s: verifies with another uid", id);
                CHECK(!td_verify006(ctx, &tok, cert, 32, "x", 1, uid, strlen(uid)),
                      "%s: verifies with another channel", id);
                CHECK(tok.crc_channel == td_crc32(ch, strlen(ch)), "%s: crc_channel", id);
                CHECK(tok.crc_uid == td_crc32(uid, strlen(uid)), "%s: crc_uid", id);
            }
            check_bit_flips(ctx, id, &tok, cert, o);
        }
    }
    CHECK(l.n >= min, "%s: expected at least %d token vectors, read %d", file, min, l.n);
}

/* Fills spec from one mint-exact line; slices point into the JSON's strings. */
static void spec_from_json(json_t *o, td_token *spec) {
    memset(spec, 0, sizeof *spec);
    const char *app_id = json_string_value(json_object_get(o, "app_id"));
    spec->app_id.ptr = app_id;
    spec->app_id.len = strlen(app_id);
    spec->issue_ts = (uint32_t)json_integer_value(json_object_get(o, "issue_ts"));
    spec->expire = (uint32_t)json_integer_value(json_object_get(o, "expire"));
    spec->salt = (uint32_t)json_integer_value(json_object_get(o, "salt"));
    spec->ts = (uint32_t)json_integer_value(json_object_get(o, "ts"));
    json_t *services = json_object_get(o, "services");
    const char *key;
    json_t *v;
    if (!services) {
        json_object_foreach(json_object_get(o, "privileges"), key, v) {
            td_privilege *p = &spec->privileges[spec->privilege_total++];
            p->id = (uint16_t)atoi(key);
            p->value = (uint32_t)json_integer_value(v);
        }
        spec->privilege_count_006 = spec->privilege_total;
        return;
    }
    for (size_t i = 0; i < json_array_size(services); i++) {
        json_t *s = json_array_get(services, i);
        td_service *svc = &spec->services[spec->service_count++];
        svc->type = (uint16_t)json_integer_value(json_object_get(s, "type"));
        svc->known = true;
        svc->first_privilege = spec->privilege_total;
        json_object_foreach(json_object_get(s, "privileges"), key, v) {
            td_privilege *p = &spec->privileges[spec->privilege_total++];
            p->id = (uint16_t)atoi(key);
            p->value = (uint32_t)json_integer_value(v);
            svc->privilege_count++;
        }
        const char *a = json_string_value(json_object_get(s, "channel"));
        if (!a)
            a = json_string_value(json_object_get(s, "user_id"));
        const char *b = json_string_value(json_object_get(s, "uid"));
        svc->a = (td_str){a ? a : "", a ? strlen(a) : 0};
        svc->b = (td_str){b ? b : "", b ? strlen(b) : 0};
    }
}

static void test_mint_exact(td_ctx *ctx, const char *dir) {
    tu_lines l;
    if (!tu_lines_open(&l, dir, "mint-exact.jsonl"))
        return;
    static td_token spec;
    char out[TD_TOKEN_TEXT_MAX * 4];
    while (tu_lines_next(&l)) {
        json_t *o = l.line;
        const char *cert = tu_str(o, "certificate");
        const char *expect = tu_str(o, "token");
        const char *version = tu_str(o, "version");
        spec_from_json(o, &spec);
        size_t len;
        if (strcmp(version, "007") == 0) {
            len = td_build007(ctx, &spec, cert, strlen(cert), out, sizeof out);
        } else {
            const char *ch = tu_str(o, "channel");
            const char *uid = tu_str(o, "uid");
            len = td_build006(ctx, &spec, cert, strlen(cert), ch, strlen(ch), uid, strlen(uid), out,
                              sizeof out);
        }
        CHECK(len == strlen(expect) && strcmp(out, expect) == 0, "mint-exact line %d (%s): got %s",
              l.n, tu_str(o, "note"), len ? out : "(nothing)");
    }
    CHECK(l.n >= 12, "expected the 12 mint-exact lines of the contract (or more), read %d", l.n);
}

int main(int argc, char **argv) {
    const char *vectors = tu_vectors_dir(argc, argv);
    td_ctx *ctx = tu_ctx();
    test_tokens(ctx, vectors, "tokens.jsonl", 200);
    test_tokens(ctx, vectors, "generated/tokens.jsonl", 400);
    test_mint_exact(ctx, vectors);
    td_ctx_free(ctx);
    return tu_report("core_vectors");
}

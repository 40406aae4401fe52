/* oracle_json.c -- the JSON documents of a diagnosis and of a decoded token, built as jansson
 * trees: the oracle the direct writers are compared with, byte for byte, by
 * tests/server/render_json_test.c, tests/core/test_core_json.c, tests/diagnostics/test_rules.c
 * (batch items) and the fuzz targets.
 *
 * Design
 * ------
 * Production writes these documents once, straight into a td_buf (diagnostics/render.c,
 * token_json.c); the tree builders that used to sit next to the writers live here now, so that
 * the service and the CLI have one implementation and the tests still have a second, written
 * differently: here every string goes through jansson (json_stringn validates UTF-8, the
 * dumper escapes), there through the writers' own escaper. The two agree only if both are right.
 * Client bytes that are not valid UTF-8 (and NUL) follow the one rule of docs/style.md ("Text
 * from outside": U+FFFD in JSON), re-implemented here by json_text over jansson's own UTF-8 check,
 * for the diagnosis and the token alike; it uses core's td_utf8_len only to find where an invalid
 * byte ends.
 *
 * Field order is the documents' order; a key whose json_pack fails on a NULL string (a catalog
 * row without a name for the platform) is left out, as the writers leave it out.
 */
#include "oracle_json.h"

#include "diag_internal.h"

#include <stdlib.h>
#include <string.h>

static json_t *json_text(const char *ptr, size_t len);

/* ---- The diagnosis ---------------------------------------------------------------------- */

/* A code's number, or null where the platform names the error without one. */
static json_t *code_or_null(const diag_code *c) {
    return c && c->name && c->code ? json_integer(c->code) : json_null();
}

static json_t *error_json(const diag_result *r) {
    if (r->verdict != DIAG_REJECTED)
        return json_null();
    const diag_catalog_entry *e = diag_result_entry(r);
    const diag_code *c = &e->code[r->platform];
    json_t *also = json_array();
    for (size_t i = 0; i < 2; i++) {
        const diag_code *a = &e->also[r->platform][i];
        if (a->name)
            json_array_append_new(
                also, json_pack("{s:o, s:s}", "code", code_or_null(a), "name", a->name));
    }
    return json_pack("{s:o, s:s, s:s, s:o, s:s, s:s, s:s}", "code", code_or_null(c), "name",
                     c->name, "platform", diag_platform_name(r->platform), "also", also, "title",
                     e->title, "reason", e->reason, "solution", diag_result_solution(r));
}

/* The names of the hints (or warnings) whose bits are set, in enum order. */
static json_t *names_json(uint32_t bits, bool hints) {
    json_t *a = json_array();
    for (int i = 0; i < (hints ? DIAG_HINT_COUNT : DIAG_WARN_COUNT); i++)
        if (bits & (1u << i))
            json_array_append_new(a, json_string(hints ? diag_hint_name((diag_hint)i)
                                                       : diag_warning_name((diag_warning)i)));
    return a;
}

static json_t *hints_json(uint32_t bits) {
    return names_json(bits, true);
}

static json_t *warnings_json(uint32_t bits) {
    return names_json(bits, false);
}

static json_t *repaired_json(const diag_result *r) {
    if (!r->has_repaired)
        return json_null();
    return json_pack("{s:o, s:s, s:s}", "token",
                     json_text(r->repaired_token, strlen(r->repaired_token)), "verdict",
                     diag_verdict_name(r->repaired_verdict), "cause",
                     diag_cause_name(r->repaired_cause));
}

static json_t *checks_json(const diag_result *r) {
    json_t *a = json_array();
    for (int i = 0; i < DIAG_CHECK_COUNT; i++) {
        const diag_check *c = &r->checks[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "id", c->id ? c->id : "", "status",
                                           diag_check_status_name(c->status), "detail",
                                           json_text(c->detail, strlen(c->detail))));
    }
    return a;
}

static const char *signed_with_name(diag_signed_with s) {
    switch (s) {
    case DIAG_SIGNED_PRIMARY:
        return "primary";
    case DIAG_SIGNED_SECONDARY:
        return "secondary";
    case DIAG_SIGNED_NONE:
        break;
    }
    return NULL;
}

static json_t *project_json(const diag_result *r) {
    const char *sw = signed_with_name(r->signed_with);
    return json_pack("{s:o, s:b, s:o, s:o, s:o}", "app_id", json_text(r->app_id, r->app_id_len),
                     "known", r->project_known, "certificate_mode",
                     r->certificate_mode ? json_string(r->certificate_mode) : json_null(),
                     "no_certificate",
                     r->project_known ? json_boolean(r->no_certificate) : json_null(),
                     "signed_with", sw ? json_string(sw) : json_null());
}

static json_t *sdk_version_json(const diag_result *r) {
    return r->has_sdk_version ? json_string(r->sdk_version) : json_null();
}

json_t *oracle_result_to_json(const diag_result *r) {
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(diag_verdict_name(r->verdict)));
    json_object_set_new(o, "cause", json_string(diag_cause_name(r->cause)));
    json_object_set_new(o, "error", error_json(r));
    json_object_set_new(o, "hints", hints_json(r->hints));
    json_object_set_new(o, "warnings", warnings_json(r->warnings));
    json_object_set_new(o, "repaired", repaired_json(r));
    json_object_set_new(o, "checks", checks_json(r));
    json_object_set_new(o, "expires_at", r->has_expiry ? json_integer(r->expires_at) : json_null());
    json_object_set_new(o, "expires_in",
                        r->has_expiry ? json_integer(r->expires_at - r->at) : json_null());
    json_object_set_new(o, "token",
                        r->token_decoded ? oracle_token_to_json(&r->token) : json_null());
    json_object_set_new(o, "project", project_json(r));
    json_object_set_new(o, "at", json_integer(r->at));
    json_object_set_new(o, "sdk_version", sdk_version_json(r));
    return o;
}

json_t *oracle_result_to_summary_json(const diag_result *r) {
    const diag_code *c = diag_result_code(r);
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(diag_verdict_name(r->verdict)));
    json_object_set_new(o, "cause", json_string(diag_cause_name(r->cause)));
    json_object_set_new(o, "code", code_or_null(c));
    json_object_set_new(o, "hints", hints_json(r->hints));
    json_object_set_new(o, "warnings", warnings_json(r->warnings));
    json_object_set_new(o, "expires_at", r->has_expiry ? json_integer(r->expires_at) : json_null());
    json_object_set_new(o, "sdk_version", sdk_version_json(r));
    return o;
}

/* ---- The decoded token -------------------------------------------------------------------- */

/* A JSON string of arbitrary bytes: as is when valid UTF-8 without NUL, else with every
 * invalid byte and NUL replaced by U+FFFD. Never NULL unless out of memory. */
static json_t *json_text(const char *ptr, size_t len) {
    if (len == 0)
        return json_string("");
    json_t *s = memchr(ptr, '\0', len) ? NULL : json_stringn(ptr, len);
    if (s)
        return s;
    char *clean = malloc(3 * len + 1);
    if (!clean)
        return NULL;
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)ptr;
    for (size_t i = 0; i < len;) {
        size_t k = td_utf8_len(p + i, len - i);
        if (k == 0 || p[i] == '\0') {
            memcpy(clean + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        } else {
            memcpy(clean + n, p + i, k);
            n += k;
            i += k;
        }
    }
    s = json_stringn(clean, n);
    free(clean);
    return s ? s : json_string("");
}

static json_t *json_str(td_str s) {
    return json_text(s.ptr, s.len);
}

static json_t *json_name(const char *name) {
    return name ? json_string(name) : json_null();
}

static json_t *privileges_json(const td_token *tok, uint16_t service_type, uint16_t first,
                               uint16_t count) {
    json_t *arr = json_array();
    for (uint16_t i = 0; i < count && (size_t)first + i < TD_PRIVILEGES_MAX; i++) {
        const td_privilege *p = &tok->privileges[first + i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(p->id));
        json_object_set_new(o, "name", json_name(td_privilege_name(service_type, p->id)));
        json_object_set_new(o, "expire", json_integer(p->value));
        json_object_set_new(o, "expires_at", json_integer(td_privilege_expiry(tok, p->value)));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *permissions_json(const td_token *tok, const td_service *svc) {
    json_t *arr = json_array();
    for (uint16_t i = 0; i < svc->permission_count; i++) {
        size_t at = (size_t)svc->first_permission + i;
        if (at >= TD_PERMISSIONS_MAX)
            break;
        const td_permission *p = &tok->permissions[at];
        json_t *o = json_object();
        json_t *res = json_array();
        json_object_set_new(o, "resource_type", json_integer(p->resource_type));
        json_object_set_new(o, "resource_type_name",
                            json_name(td_rtm2_resource_name(p->resource_type)));
        json_object_set_new(o, "permission_type", json_integer(p->permission_type));
        json_object_set_new(o, "permission_type_name",
                            json_name(td_rtm2_permission_name(p->permission_type)));
        for (uint16_t k = 0; k < p->resource_count; k++) {
            size_t r = (size_t)p->first_resource + k;
            if (r >= TD_RESOURCES_MAX)
                break;
            json_array_append_new(res, json_str(tok->resources[r]));
        }
        json_object_set_new(o, "resources", res);
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The per-type fields after the privileges, under the spec's names (token-formats.md). */
static void service_fields_json(json_t *o, const td_service *s) {
    switch (s->type) {
    case TD_SVC_RTC:
        json_object_set_new(o, "channel", json_str(s->a));
        json_object_set_new(o, "uid", json_str(s->b));
        break;
    case TD_SVC_STREAMING:
    case TD_SVC_FCDN:
        json_object_set_new(o, "channel", json_str(s->a));
        json_object_set_new(o, "account", json_str(s->b));
        break;
    case TD_SVC_RTM:
    case TD_SVC_CHAT:
    case TD_SVC_RTM2:
        json_object_set_new(o, "user_id", json_str(s->a));
        break;
    case TD_SVC_APAAS:
        json_object_set_new(o, "room_uuid", json_str(s->a));
        json_object_set_new(o, "user_uuid", json_str(s->b));
        json_object_set_new(o, "role", json_integer(s->role));
        break;
    default:
        break;
    }
}

static json_t *service_json(const td_token *tok, const td_service *s) {
    json_t *o = json_object();
    json_object_set_new(o, "type", json_integer(s->type));
    if (!s->known) {
        json_object_set_new(o, "name", json_string("unknown"));
        return o;
    }
    json_object_set_new(o, "name", json_string(td_service_name(s->type)));
    service_fields_json(o, s);
    json_object_set_new(o, "privileges",
                        privileges_json(tok, s->type, s->first_privilege, s->privilege_count));
    if (s->type == TD_SVC_RTM2)
        json_object_set_new(o, "permissions", permissions_json(tok, s));
    return o;
}

static json_t *signature_json(td_str sig) {
    char hex[2 * 512 + 1];
    size_t n = sig.len > 512 ? 512 : sig.len; /* a signature is 32 bytes; cap what we show */
    td_hex((const unsigned char *)sig.ptr, n, hex);
    return json_string(hex);
}

json_t *oracle_token_to_json(const td_token *tok) {
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool v6 = td_is_006(tok);
    json_object_set_new(o, "version", json_string(v6 ? "006" : "007"));
    json_object_set_new(o, "app_id", json_str(tok->app_id));
    if (v6) {
        json_object_set_new(o, "signature", signature_json(tok->signature));
        json_object_set_new(o, "crc_channel", json_integer(tok->crc_channel));
        json_object_set_new(o, "crc_uid", json_integer(tok->crc_uid));
        json_object_set_new(o, "salt", json_integer(tok->salt));
        json_object_set_new(o, "ts", json_integer(tok->ts));
        json_object_set_new(
            o, "privileges",
            privileges_json(tok, 0, tok->first_privilege_006, tok->privilege_count_006));
    } else {
        json_object_set_new(o, "issue_ts", json_integer(tok->issue_ts));
        json_object_set_new(o, "expire", json_integer(tok->expire));
        json_object_set_new(o, "salt", json_integer(tok->salt));
        json_object_set_new(o, "signature", signature_json(tok->signature));
        json_t *services = json_array();
        for (uint16_t i = 0; i < tok->service_count && i < TD_SERVICES_MAX; i++)
            json_array_append_new(services, service_json(tok, &tok->services[i]));
        json_object_set_new(o, "services", services);
    }
    json_object_set_new(o, "expires_at", json_integer(td_token_expiry(tok)));
    return o;
}

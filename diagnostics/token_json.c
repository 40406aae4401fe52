/* token_json.c -- a decoded token for machines (JSON) and for people (text).
 *
 * Design
 * ------
 * diag_token_json_write renders the "Decoded token" shape of docs/spec/interfaces.md with the
 * spec's field names, in wire order, plus derived times as extra fields (`expires_at` on the
 * token and on every privilege, each already capped as diagnosis.md "Expiry" says), straight
 * into a td_buf; diag_token_to_json parses those bytes back for callers that need a tree. Strings
 * in a token are untrusted bytes: each invalid UTF-8 byte (and NUL) is written as U+FFFD
 * (diag_jw_text, core's one rule), so the output is always valid JSON and never silently drops a
 * field.
 *
 * diag_token_print shows every field for a person at a terminal: names next to numbers, times as
 * ISO-8601 UTC plus a phrase relative to `now` ("in 3 h 12 min", "expired 2 days ago"). Token
 * strings are printed quoted with control characters and invalid bytes escaped, so a crafted
 * token cannot drive the terminal.
 */
#include "diag_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The fields after a service's privileges map, by type (token-formats.md's table): the names of
 * its two strings (td_service a and b; NULL: none), a note for an empty b, and whether an int16
 * role follows. The JSON and the text both show a service from this one row; a type without a
 * row has no fields of its own. */
typedef struct {
    uint16_t type;
    const char *a, *b;
    const char *empty_b; /* the text's note when b is empty, or NULL */
    bool role;
} service_layout;

static const service_layout service_layouts[] = {
    {TD_SVC_RTC, "channel", "uid", "(empty: any uid)", false},
    {TD_SVC_STREAMING, "channel", "account", NULL, false},
    {TD_SVC_FCDN, "channel", "account", NULL, false},
    {TD_SVC_RTM, "user_id", NULL, NULL, false},
    {TD_SVC_CHAT, "user_id", NULL, NULL, false},
    {TD_SVC_RTM2, "user_id", NULL, NULL, false},
    {TD_SVC_APAAS, "room_uuid", "user_uuid", NULL, true},
};

static const service_layout *service_layout_of(uint16_t type) {
    for (size_t i = 0; i < sizeof service_layouts / sizeof service_layouts[0]; i++)
        if (service_layouts[i].type == type)
            return &service_layouts[i];
    return NULL;
}

/* ---- JSON, written directly ------------------------------------------------------------
 * The decoded-token object, appended to a td_buf (inside a diagnosis, or alone:
 * diag_token_json_append); diag_token_to_json parses these bytes back. A NULL name is written as
 * null, and the key is left out where the oracle's json_string(NULL) would have made
 * json_object_set_new fail; tests compare both byte for byte (tests/common/oracle_json.c). */

static void jw_name(td_buf *w, const char *name) {
    if (name)
        diag_jw_str(w, name);
    else
        DIAG_JW_LIT(w, "null");
}

static void jw_str(td_buf *w, td_str s) {
    diag_jw_text(w, s.ptr, s.len);
}

/* A member after the first: ,"name": (name is plain ASCII: the spec's field names), then its
 * value -- a token string, a number, or a name (null when there is none). */
static void jw_member(td_buf *w, const char *name) {
    DIAG_JW_LIT(w, ",\"");
    td_buf_addz(w, name);
    DIAG_JW_LIT(w, "\":");
}

static void jw_text_member(td_buf *w, const char *name, td_str s) {
    jw_member(w, name);
    jw_str(w, s);
}

static void jw_int_member(td_buf *w, const char *name, long long n) {
    jw_member(w, name);
    td_buf_addint(w, n);
}

static void jw_name_member(td_buf *w, const char *name, const char *value) {
    jw_member(w, name);
    jw_name(w, value);
}

static void privileges_write(td_buf *w, const td_token *tok, uint16_t service_type, uint16_t first,
                             uint16_t count) {
    DIAG_JW_LIT(w, "[");
    for (uint16_t i = 0; i < count && (size_t)first + i < TD_PRIVILEGES_MAX; i++) {
        const td_privilege *p = &tok->privileges[first + i];
        td_buf_addz(w, i ? ",{\"id\":" : "{\"id\":");
        td_buf_addint(w, p->id);
        jw_name_member(w, "name", td_privilege_name(service_type, p->id));
        jw_int_member(w, "expire", p->value);
        jw_int_member(w, "expires_at", td_privilege_expiry(tok, p->value));
        DIAG_JW_LIT(w, "}");
    }
    DIAG_JW_LIT(w, "]");
}

static void permissions_write(td_buf *w, const td_token *tok, const td_service *svc) {
    DIAG_JW_LIT(w, "[");
    for (uint16_t i = 0; i < svc->permission_count; i++) {
        size_t at = (size_t)svc->first_permission + i;
        if (at >= TD_PERMISSIONS_MAX)
            break;
        const td_permission *p = &tok->permissions[at];
        td_buf_addz(w, i ? ",{\"resource_type\":" : "{\"resource_type\":");
        td_buf_addint(w, p->resource_type);
        jw_name_member(w, "resource_type_name", td_rtm2_resource_name(p->resource_type));
        jw_int_member(w, "permission_type", p->permission_type);
        jw_name_member(w, "permission_type_name", td_rtm2_permission_name(p->permission_type));
        DIAG_JW_LIT(w, ",\"resources\":[");
        for (uint16_t k = 0; k < p->resource_count; k++) {
            size_t r = (size_t)p->first_resource + k;
            if (r >= TD_RESOURCES_MAX)
                break;
            if (k)
                DIAG_JW_LIT(w, ",");
            jw_str(w, tok->resources[r]);
        }
        DIAG_JW_LIT(w, "]}");
    }
    DIAG_JW_LIT(w, "]");
}

static void service_fields_write(td_buf *w, const td_service *s) {
    const service_layout *l = service_layout_of(s->type);
    if (l && l->a)
        jw_text_member(w, l->a, s->a);
    if (l && l->b)
        jw_text_member(w, l->b, s->b);
    if (l && l->role)
        jw_int_member(w, "role", s->role);
}

static void service_write(td_buf *w, const td_token *tok, const td_service *s) {
    DIAG_JW_LIT(w, "{\"type\":");
    td_buf_addint(w, s->type);
    if (!s->known) {
        DIAG_JW_LIT(w, ",\"name\":\"unknown\"}");
        return;
    }
    const char *name = td_service_name(s->type);
    if (name) {
        DIAG_JW_LIT(w, ",\"name\":");
        diag_jw_str(w, name);
    }
    service_fields_write(w, s);
    DIAG_JW_LIT(w, ",\"privileges\":");
    privileges_write(w, tok, s->type, s->first_privilege, s->privilege_count);
    if (s->type == TD_SVC_RTM2) {
        DIAG_JW_LIT(w, ",\"permissions\":");
        permissions_write(w, tok, s);
    }
    DIAG_JW_LIT(w, "}");
}

static void signature_write(td_buf *w, td_str sig) {
    char hex[2 * 512 + 1];
    size_t n = sig.len > 512 ? 512 : sig.len;
    td_hex((const unsigned char *)sig.ptr, n, hex);
    diag_jw_strn(w, hex, 2 * n);
}

void diag_token_json_write(td_buf *w, const td_token *tok) {
    bool v6 = td_is_006(tok);
    td_buf_addz(w, v6 ? "{\"version\":\"006\",\"app_id\":" : "{\"version\":\"007\",\"app_id\":");
    jw_str(w, tok->app_id);
    if (v6) {
        DIAG_JW_LIT(w, ",\"signature\":");
        signature_write(w, tok->signature);
        jw_int_member(w, "crc_channel", tok->crc_channel);
        jw_int_member(w, "crc_uid", tok->crc_uid);
        jw_int_member(w, "salt", tok->salt);
        jw_int_member(w, "ts", tok->ts);
        DIAG_JW_LIT(w, ",\"privileges\":");
        privileges_write(w, tok, 0, tok->first_privilege_006, tok->privilege_count_006);
    } else {
        jw_int_member(w, "issue_ts", tok->issue_ts);
        jw_int_member(w, "expire", tok->expire);
        jw_int_member(w, "salt", tok->salt);
        DIAG_JW_LIT(w, ",\"signature\":");
        signature_write(w, tok->signature);
        DIAG_JW_LIT(w, ",\"services\":[");
        for (uint16_t i = 0; i < tok->service_count && i < TD_SERVICES_MAX; i++) {
            if (i)
                DIAG_JW_LIT(w, ",");
            service_write(w, tok, &tok->services[i]);
        }
        DIAG_JW_LIT(w, "]");
    }
    jw_int_member(w, "expires_at", td_token_expiry(tok));
    DIAG_JW_LIT(w, "}");
}

bool diag_token_json_append(td_buf *b, const td_token *tok) {
    size_t start = b->len;
    diag_token_json_write(b, tok);
    if (b->status == TD_BUF_OK)
        return true;
    td_buf_truncate(b, start);
    return false;
}

json_t *diag_token_to_json(const td_token *tok) {
    td_buf b;
    td_buf_init(&b, DIAG_DOC_MAX);
    return diag_jw_tree(&b, diag_token_json_append(&b, tok));
}

/* ---- Text ------------------------------------------------------------------------------- */

/* "2023-11-14T22:13:20Z" */
static void iso8601(int64_t t, char out[32]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "@%lld", (long long)t);
}

/* A duration for a person: "45 s", "12 min", "3 h 12 min", "1 day 4 h", "12 days". */
static void duration(int64_t d, char *out, size_t cap) {
    if (d < 60)
        snprintf(out, cap, "%lld s", (long long)d);
    else if (d < 3600)
        snprintf(out, cap, "%lld min", (long long)(d / 60));
    else if (d < 86400) {
        long long h = d / 3600, m = (d % 3600) / 60;
        if (m)
            snprintf(out, cap, "%lld h %lld min", h, m);
        else
            snprintf(out, cap, "%lld h", h);
    } else {
        long long days = d / 86400, h = (d % 86400) / 3600;
        const char *unit = days == 1 ? "day" : "days";
        if (days < 7 && h)
            snprintf(out, cap, "%lld %s %lld h", days, unit, h);
        else
            snprintf(out, cap, "%lld %s", days, unit);
    }
}

/* A time as ISO-8601 UTC plus where it stands against now. An expiry reads
 * "2023-11-14T23:13:20Z (in 3 h 12 min)" / "(expired 2 days ago)"; any other time (the issue
 * time) "(in 5 min: in the future)" / "(2 days ago)". */
static void print_when(FILE *out, int64_t t, int64_t now, bool expiry) {
    char iso[32], d[64];
    iso8601(t, iso);
    if (t == now) {
        fprintf(out, "%s (%s)", iso, expiry ? "expired just now" : "now");
        return;
    }
    duration(t > now ? t - now : now - t, d, sizeof d);
    if (t > now)
        fprintf(out, "%s (in %s%s)", iso, d, expiry ? "" : ": in the future");
    else
        fprintf(out, "%s (%s%s ago)", iso, expiry ? "expired " : "", d);
}

/* Token bytes, double-quoted, each unit as td_text_show_unit shows it to a person; a '"' inside
 * as \". */
static void print_quoted(FILE *out, td_str s) {
    fputc('"', out);
    for (size_t i = 0; i < s.len;) {
        char unit[TD_TEXT_SHOWN_MAX];
        size_t used = 1;
        if (s.ptr[i] == '"')
            fputs("\\\"", out);
        else
            fwrite(unit, 1, td_text_show_unit(s.ptr + i, s.len - i, unit, &used), out);
        i += used;
    }
    fputc('"', out);
}

static void print_privileges(FILE *out, const td_token *tok, uint16_t service_type, uint16_t first,
                             uint16_t count, int64_t now, const char *indent) {
    bool v6 = td_is_006(tok);
    fprintf(out, "%sprivileges:%s\n", indent, count ? "" : " none");
    for (uint16_t i = 0; i < count && (size_t)first + i < TD_PRIVILEGES_MAX; i++) {
        const td_privilege *p = &tok->privileges[first + i];
        const char *name = td_privilege_name(service_type, p->id);
        char label[48];
        snprintf(label, sizeof label, "%u %s", p->id, name ? name : "(unnamed)");
        fprintf(out, "%s  %-26s ", indent, label);
        if (p->value == 0)
            fprintf(out, "0 (no limit of its own) -> ");
        else if (v6)
            fprintf(out, "%u -> ", p->value);
        else
            fprintf(out, "%u s -> ", p->value);
        int64_t capped = td_privilege_expiry(tok, p->value);
        int64_t own = v6 ? (int64_t)p->value : (int64_t)tok->issue_ts + p->value;
        print_when(out, capped, now, true);
        if (p->value != 0 && own > capped)
            fprintf(out, ", capped at the token's expiry");
        fputc('\n', out);
    }
}

static void print_permissions(FILE *out, const td_token *tok, const td_service *s) {
    fprintf(out, "      permissions:%s\n", s->permission_count ? "" : " none");
    for (uint16_t i = 0; i < s->permission_count; i++) {
        size_t at = (size_t)s->first_permission + i;
        if (at >= TD_PERMISSIONS_MAX)
            break;
        const td_permission *p = &tok->permissions[at];
        const char *rn = td_rtm2_resource_name(p->resource_type);
        const char *pn = td_rtm2_permission_name(p->permission_type);
        fprintf(out, "        %u %s / %u %s:", p->resource_type, rn ? rn : "(unnamed)",
                p->permission_type, pn ? pn : "(unnamed)");
        for (uint16_t k = 0; k < p->resource_count; k++) {
            size_t r = (size_t)p->first_resource + k;
            if (r >= TD_RESOURCES_MAX)
                break;
            fputc(' ', out);
            print_quoted(out, tok->resources[r]);
        }
        fputc('\n', out);
    }
}

static void print_field(FILE *out, const char *name, td_str value, const char *note) {
    fprintf(out, "      %-10s ", name);
    print_quoted(out, value);
    if (note && value.len == 0)
        fprintf(out, " %s", note);
    fputc('\n', out);
}

static void print_service(FILE *out, const td_token *tok, uint16_t index, const td_service *s,
                          int64_t now) {
    fprintf(out, "  [%u] type %u %s\n", index + 1, s->type,
            s->known ? td_service_name(s->type) : "unknown (layout not known: not read further)");
    if (!s->known)
        return;
    const service_layout *l = service_layout_of(s->type);
    if (l && l->a)
        print_field(out, l->a, s->a, NULL);
    if (l && l->b)
        print_field(out, l->b, s->b, l->empty_b);
    if (l && l->role)
        fprintf(out, "      %-10s %d\n", "role", s->role);
    print_privileges(out, tok, s->type, s->first_privilege, s->privilege_count, now, "      ");
    if (s->type == TD_SVC_RTM2)
        print_permissions(out, tok, s);
}

void diag_token_print(FILE *out, const td_token *tok, int64_t now) {
    bool v6 = td_is_006(tok);
    char sig[2 * 64 + 1];
    size_t sig_len = tok->signature.len > 64 ? 64 : tok->signature.len;
    td_hex((const unsigned char *)tok->signature.ptr, sig_len, sig);

    fprintf(out, "version     %s (%s)\n", v6 ? "006" : "007", v6 ? "AccessToken" : "AccessToken2");
    fprintf(out, "app_id      ");
    print_quoted(out, tok->app_id);
    fputc('\n', out);
    if (v6) {
        fprintf(out, "expires     ts %u -> ", tok->ts);
        print_when(out, tok->ts, now, true);
        fputc('\n', out);
        fprintf(out, "salt        %u\n", tok->salt);
        fprintf(out, "crc_channel %u\n", tok->crc_channel);
        fprintf(out, "crc_uid     %u%s\n", tok->crc_uid, tok->crc_uid == 0 ? " (any uid)" : "");
        fprintf(out, "signature   %s%s\n", sig, tok->signature.len > 64 ? "..." : "");
        print_privileges(out, tok, 0, tok->first_privilege_006, tok->privilege_count_006, now, "");
        return;
    }
    fprintf(out, "issued      %u = ", tok->issue_ts);
    print_when(out, tok->issue_ts, now, false);
    fputc('\n', out);
    fprintf(out, "expire      %u s%s -> ", tok->expire,
            tok->expire == 0                ? " (0: 24 h)"
            : tok->expire > TD_LIFETIME_MAX ? " (cut to 24 h)"
                                            : "");
    print_when(out, td_token_expiry(tok), now, true);
    fputc('\n', out);
    fprintf(out, "salt        %u\n", tok->salt);
    fprintf(out, "signature   %s%s\n", sig, tok->signature.len > 64 ? "..." : "");
    fprintf(out, "services    %u\n", tok->service_count);
    for (uint16_t i = 0; i < tok->service_count && i < TD_SERVICES_MAX; i++)
        print_service(out, tok, i, &tok->services[i], now);
}

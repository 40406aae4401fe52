/* render.c -- a diagnosis as JSON (machines) and as text (a person at a terminal).
 *
 * Design
 * ------
 * Rendering is separate from diag_run so that the engine stays pure and allocation-free; the
 * CLI and the HTTP service call the same functions here and therefore say exactly the same
 * thing. The JSON is the "Diagnosis" shape of interfaces.md; fields are added in a fixed order
 * so that output is stable for diffs and scripts.
 *
 * The text form puts the verdict first, on one line ("REJECTED — 110 ERR_INVALID_TOKEN: uid
 * mismatch"), then the fix, then every check with a mark (✓ ✗ ! –), hints, warnings and the
 * repaired token's verdict: the order a support engineer reads in. Colour is only an emphasis
 * (the marks carry the meaning without it) and is off unless the caller asks for it.
 *
 * The JSON is written once, straight into a td_buf (diag_result_json_append: the HTTP service's
 * hot path has no tree to build, dump and free); diag_result_to_json, for callers that need a
 * tree, parses those bytes back. The tree-built twin the tests compare the bytes with is
 * tests/common/oracle_json.c.
 *
 * Nothing rendered here contains a certificate: check details already use fingerprints, and
 * the project block says only which certificate signed the token.
 */
#include "diag_internal.h"

#include <string.h>

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

/* ---- JSON, written directly --------------------------------------------------------------
 * diag_result_json_append writes the document without a tree: the HTTP service renders one per
 * request, and building, dumping and freeing ~100 jansson nodes was about a third of its CPU
 * time. It is the only writer: diag_result_to_json parses its bytes back. The tests compare it
 * byte for byte with a tree-built oracle (tests/common/oracle_json.c, over the public scenarios
 * and mutated requests in tests/server/render_json_test); a field added here is added there.
 * Where the oracle's json_pack fails on a NULL string (a catalog row without a name for the
 * platform) it leaves the key out; so does this. */

static void code_write(td_buf *w, const diag_code *c) {
    if (c->code)
        td_buf_addint(w, c->code);
    else
        DIAG_JW_LIT(w, "null");
}

static void error_write(td_buf *w, const diag_result *r) {
    const diag_catalog_entry *e = diag_result_entry(r);
    const diag_code *c = &e->code[r->platform];
    const char *platform = diag_platform_name(r->platform);
    if (!c->name || !platform || !e->title || !e->reason || !e->solution)
        return;
    DIAG_JW_LIT(w, ",\"error\":{\"code\":");
    code_write(w, c);
    DIAG_JW_LIT(w, ",\"name\":");
    diag_jw_str(w, c->name);
    DIAG_JW_LIT(w, ",\"platform\":");
    diag_jw_str(w, platform);
    DIAG_JW_LIT(w, ",\"also\":[");
    bool first = true;
    for (size_t i = 0; i < 2; i++) {
        const diag_code *a = &e->also[r->platform][i];
        if (!a->name)
            continue;
        td_buf_addz(w, first ? "{\"code\":" : ",{\"code\":");
        code_write(w, a);
        DIAG_JW_LIT(w, ",\"name\":");
        diag_jw_str(w, a->name);
        DIAG_JW_LIT(w, "}");
        first = false;
    }
    DIAG_JW_LIT(w, "],\"title\":");
    diag_jw_str(w, e->title);
    DIAG_JW_LIT(w, ",\"reason\":");
    diag_jw_str(w, e->reason);
    DIAG_JW_LIT(w, ",\"solution\":");
    diag_jw_str(w, diag_result_solution(r));
    DIAG_JW_LIT(w, "}");
}

static void names_write(td_buf *w, uint32_t bits, int count, const char *(*name)(int)) {
    DIAG_JW_LIT(w, "[");
    bool first = true;
    for (int i = 0; i < count; i++)
        if (bits & (1u << i)) {
            if (!first)
                DIAG_JW_LIT(w, ",");
            diag_jw_str(w, name(i));
            first = false;
        }
    DIAG_JW_LIT(w, "]");
}

static const char *hint_name_of(int i) {
    return diag_hint_name((diag_hint)i);
}

static const char *warning_name_of(int i) {
    return diag_warning_name((diag_warning)i);
}

static void checks_write(td_buf *w, const diag_result *r) {
    DIAG_JW_LIT(w, ",\"checks\":[");
    for (int i = 0; i < DIAG_CHECK_COUNT; i++) {
        const diag_check *c = &r->checks[i];
        td_buf_addz(w, i ? ",{\"id\":" : "{\"id\":");
        diag_jw_str(w, c->id ? c->id : "");
        DIAG_JW_LIT(w, ",\"status\":");
        diag_jw_str(w, diag_check_status_name(c->status));
        DIAG_JW_LIT(w, ",\"detail\":");
        diag_jw_text(w, c->detail, strlen(c->detail));
        DIAG_JW_LIT(w, "}");
    }
    DIAG_JW_LIT(w, "]");
}

static void int_or_null(td_buf *w, bool has, int64_t v) {
    if (has)
        td_buf_addint(w, v);
    else
        DIAG_JW_LIT(w, "null");
}

static void str_or_null(td_buf *w, const char *s) {
    if (s)
        diag_jw_str(w, s);
    else
        DIAG_JW_LIT(w, "null");
}

static void project_write(td_buf *w, const diag_result *r) {
    DIAG_JW_LIT(w, ",\"project\":{\"app_id\":");
    diag_jw_text(w, r->app_id, r->app_id_len);
    td_buf_addz(w, r->project_known ? ",\"known\":true" : ",\"known\":false");
    DIAG_JW_LIT(w, ",\"certificate_mode\":");
    str_or_null(w, r->certificate_mode);
    DIAG_JW_LIT(w, ",\"no_certificate\":");
    if (r->project_known)
        td_buf_addz(w, r->no_certificate ? "true" : "false");
    else
        DIAG_JW_LIT(w, "null");
    DIAG_JW_LIT(w, ",\"signed_with\":");
    str_or_null(w, signed_with_name(r->signed_with));
    DIAG_JW_LIT(w, "}");
}

static void sdk_version_write(td_buf *w, const diag_result *r) {
    DIAG_JW_LIT(w, ",\"sdk_version\":");
    if (r->has_sdk_version)
        diag_jw_str(w, r->sdk_version);
    else
        DIAG_JW_LIT(w, "null");
}

/* Ends a document begun at start: on failure the bytes written since are dropped (the status
 * stays set, for the caller to tell out-of-memory from over-cap). */
static bool jw_end(td_buf *w, size_t start) {
    if (w->status == TD_BUF_OK)
        return true;
    td_buf_truncate(w, start);
    return false;
}

static void result_write(td_buf *w, const diag_result *r) {
    DIAG_JW_LIT(w, "{\"verdict\":");
    diag_jw_str(w, diag_verdict_name(r->verdict));
    DIAG_JW_LIT(w, ",\"cause\":");
    diag_jw_str(w, diag_cause_name(r->cause));
    if (r->verdict == DIAG_REJECTED)
        error_write(w, r);
    else
        DIAG_JW_LIT(w, ",\"error\":null");
    DIAG_JW_LIT(w, ",\"hints\":");
    names_write(w, r->hints, DIAG_HINT_COUNT, hint_name_of);
    DIAG_JW_LIT(w, ",\"warnings\":");
    names_write(w, r->warnings, DIAG_WARN_COUNT, warning_name_of);
    if (r->has_repaired) {
        DIAG_JW_LIT(w, ",\"repaired\":{\"token\":");
        diag_jw_text(w, r->repaired_token, strlen(r->repaired_token));
        DIAG_JW_LIT(w, ",\"verdict\":");
        diag_jw_str(w, diag_verdict_name(r->repaired_verdict));
        DIAG_JW_LIT(w, ",\"cause\":");
        diag_jw_str(w, diag_cause_name(r->repaired_cause));
        DIAG_JW_LIT(w, "}");
    } else {
        DIAG_JW_LIT(w, ",\"repaired\":null");
    }
    checks_write(w, r);
    DIAG_JW_LIT(w, ",\"expires_at\":");
    int_or_null(w, r->has_expiry, r->expires_at);
    DIAG_JW_LIT(w, ",\"expires_in\":");
    int_or_null(w, r->has_expiry, r->expires_at - r->at);
    DIAG_JW_LIT(w, ",\"token\":");
    if (r->token_decoded)
        diag_token_json_write(w, &r->token);
    else
        DIAG_JW_LIT(w, "null");
    project_write(w, r);
    DIAG_JW_LIT(w, ",\"at\":");
    td_buf_addint(w, r->at);
    sdk_version_write(w, r);
    DIAG_JW_LIT(w, "}");
}

static void summary_write(td_buf *w, const diag_result *r) {
    const diag_code *c = diag_result_code(r);
    DIAG_JW_LIT(w, "{\"verdict\":");
    diag_jw_str(w, diag_verdict_name(r->verdict));
    DIAG_JW_LIT(w, ",\"cause\":");
    diag_jw_str(w, diag_cause_name(r->cause));
    DIAG_JW_LIT(w, ",\"code\":");
    int_or_null(w, c && c->name && c->code, c ? c->code : 0);
    DIAG_JW_LIT(w, ",\"hints\":");
    names_write(w, r->hints, DIAG_HINT_COUNT, hint_name_of);
    DIAG_JW_LIT(w, ",\"warnings\":");
    names_write(w, r->warnings, DIAG_WARN_COUNT, warning_name_of);
    DIAG_JW_LIT(w, ",\"expires_at\":");
    int_or_null(w, r->has_expiry, r->expires_at);
    sdk_version_write(w, r);
    DIAG_JW_LIT(w, "}");
}

bool diag_result_json_append(td_buf *b, const diag_result *r) {
    size_t start = b->len;
    result_write(b, r);
    return jw_end(b, start);
}

bool diag_result_summary_append(td_buf *b, const diag_result *r) {
    size_t start = b->len;
    summary_write(b, r);
    return jw_end(b, start);
}

/* The trees: the writers' bytes parsed back (diag_jw_tree), so each document is written once. */
json_t *diag_result_to_json(const diag_result *r) {
    td_buf b;
    td_buf_init(&b, DIAG_DOC_MAX);
    return diag_jw_tree(&b, diag_result_json_append(&b, r));
}

json_t *diag_result_to_summary_json(const diag_result *r) {
    td_buf b;
    td_buf_init(&b, DIAG_DOC_MAX);
    return diag_jw_tree(&b, diag_result_summary_append(&b, r));
}

json_t *diag_error_json(const char *code, const char *message) {
    return json_pack("{s:{s:s, s:o}}", "error", "code", code ? code : "internal", "message",
                     diag_json_text(message ? message : "", message ? strlen(message) : 0));
}

/* ---- Batch items --------------------------------------------------------------------------
 * Written here, once, for `diagnose --batch` and POST /v1/diagnose/batch alike. The members of
 * the diagnosis follow "id" and "status": the diagnosis writer's own '{' is overwritten by the
 * ',' after them, so its bytes are those the tree {"id", "status", ...diagnosis} dumps to. */

static const char *const item_status_names[] = {
    [DIAG_ITEM_DIAGNOSED] = "diagnosed",
    [DIAG_ITEM_INVALID] = "invalid",
    [DIAG_ITEM_FAILED] = "failed",
};
_Static_assert(sizeof item_status_names / sizeof item_status_names[0] == DIAG_ITEM_FAILED + 1,
               "one name per item status");

const char *diag_item_status_name(diag_item_status s) {
    return (unsigned)s <= DIAG_ITEM_FAILED ? item_status_names[s] : "failed";
}

static void item_head(td_buf *w, json_t *id, diag_item_status st) {
    DIAG_JW_LIT(w, "{\"id\":");
    diag_jw_json(w, id);
    DIAG_JW_LIT(w, ",\"status\":");
    diag_jw_str(w, diag_item_status_name(st));
}

bool diag_batch_item_add(td_buf *b, json_t *id, const diag_result *r, bool summary) {
    size_t start = b->len;
    item_head(b, id, DIAG_ITEM_DIAGNOSED);
    size_t brace = b->len;
    if (summary)
        summary_write(b, r);
    else
        result_write(b, r);
    if (!jw_end(b, start))
        return false;
    b->p[brace] = ','; /* the document's '{' */
    return true;
}

bool diag_batch_error_add(td_buf *b, json_t *id, diag_item_status st, const char *code,
                          const char *message) {
    size_t start = b->len;
    item_head(b, id, st);
    DIAG_JW_LIT(b, ",\"error\":{\"code\":");
    diag_jw_str(b, code ? code : "internal");
    DIAG_JW_LIT(b, ",\"message\":");
    diag_jw_text(b, message ? message : "", message ? strlen(message) : 0);
    DIAG_JW_LIT(b, "}}");
    return jw_end(b, start);
}

/* ---- Reading a diagnosis back ------------------------------------------------------------
 * For a diagnosis made elsewhere (the CLI's --server): the document's names back to this
 * module's values, so that the text is printed by the one printer below. */

/* The index i < count whose name(i) is the string v, or -1. */
static int name_index(json_t *v, int count, const char *(*name)(int)) {
    const char *s = json_string_value(v);
    for (int i = 0; s && i < count; i++)
        if (strcmp(s, name(i)) == 0)
            return i;
    return -1;
}

static const char *verdict_name_of(int i) {
    return diag_verdict_name((diag_verdict)i);
}

static const char *cause_name_of(int i) {
    return diag_cause_name((diag_cause)i);
}

static const char *check_status_name_of(int i) {
    return diag_check_status_name((diag_check_status)i);
}

static uint32_t name_bits(json_t *a, int count, const char *(*name)(int)) {
    uint32_t bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        int k = name_index(v, count, name);
        if (k >= 0)
            bits |= 1u << k;
    }
    return bits;
}

static void checks_read(json_t *a, diag_result *out) {
    for (int i = 0; i < DIAG_CHECK_COUNT; i++) {
        json_t *c = json_array_get(a, (size_t)i);
        diag_check *k = &out->checks[i];
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *detail = json_string_value(json_object_get(c, "detail"));
        int st = name_index(json_object_get(c, "status"), DIAG_SKIP + 1, check_status_name_of);
        k->id = id ? id : "";
        k->status = st >= 0 ? (diag_check_status)st : DIAG_SKIP;
        snprintf(k->detail, sizeof k->detail, "%s", detail ? detail : "");
    }
}

static void repaired_read(json_t *rep, diag_result *out) {
    const char *token = json_string_value(json_object_get(rep, "token"));
    int v = name_index(json_object_get(rep, "verdict"), DIAG_UNVERIFIABLE + 1, verdict_name_of);
    int c = name_index(json_object_get(rep, "cause"), DIAG_CAUSE_COUNT, cause_name_of);
    out->has_repaired = token && v >= 0 && c >= 0 && strlen(token) <= TD_TOKEN_TEXT_MAX;
    if (!out->has_repaired)
        return;
    memcpy(out->repaired_token, token, strlen(token) + 1);
    out->repaired_verdict = (diag_verdict)v;
    out->repaired_cause = (diag_cause)c;
}

bool diag_result_from_json(json_t *doc, const diag_request *req, diag_result *out) {
    memset(out, 0, sizeof *out);
    int v = name_index(json_object_get(doc, "verdict"), DIAG_UNVERIFIABLE + 1, verdict_name_of);
    int c = name_index(json_object_get(doc, "cause"), DIAG_CAUSE_COUNT, cause_name_of);
    if (v < 0 || c < 0)
        return false;
    out->verdict = (diag_verdict)v;
    out->cause = (diag_cause)c;
    out->client = req->client;
    out->platform = diag_client_platform(req->client);
    out->service = req->service;
    out->role = req->role;
    out->table = diag_table_of(req->service, req->has_sdk_version ? &req->sdk_version : NULL);
    out->hints = name_bits(json_object_get(doc, "hints"), DIAG_HINT_COUNT, hint_name_of);
    out->warnings = name_bits(json_object_get(doc, "warnings"), DIAG_WARN_COUNT, warning_name_of);
    checks_read(json_object_get(doc, "checks"), out);
    repaired_read(json_object_get(doc, "repaired"), out);
    json_t *exp = json_object_get(doc, "expires_at");
    out->has_expiry = json_is_integer(exp);
    out->expires_at = out->has_expiry ? json_integer_value(exp) : 0;
    out->at = json_is_integer(json_object_get(doc, "at"))
                  ? json_integer_value(json_object_get(doc, "at"))
                  : req->at;
    const char *sdk = json_string_value(json_object_get(doc, "sdk_version"));
    out->has_sdk_version = sdk && strlen(sdk) <= DIAG_SDK_TEXT_MAX;
    if (out->has_sdk_version)
        memcpy(out->sdk_version, sdk, strlen(sdk) + 1);
    json_t *project = json_object_get(doc, "project");
    out->project_known = json_is_true(json_object_get(project, "known"));
    out->no_certificate = json_is_true(json_object_get(project, "no_certificate"));
    size_t n = req->app_id_len > DIAG_APP_ID_KEEP ? DIAG_APP_ID_KEEP : req->app_id_len;
    if (n)
        memcpy(out->app_id, req->app_id, n);
    out->app_id_len = n;
    return true;
}

/* ---- Text ------------------------------------------------------------------------------- */

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_DIM "\033[2m"

static const char *col(bool color, const char *code) {
    return color ? code : "";
}

/* Prints s wrapped at about 96 columns, each line after the first indented by indent. */
static void print_wrapped(FILE *out, const char *s, int indent) {
    const int width = 96;
    int column = indent;
    while (*s) {
        const char *sp = strchr(s, ' ');
        size_t word = sp ? (size_t)(sp - s) : strlen(s);
        if (column > indent && column + (int)word + 1 > width) {
            fprintf(out, "\n%*s", indent, "");
            column = indent;
        } else if (column > indent) {
            fputc(' ', out);
            column++;
        }
        fwrite(s, 1, word, out);
        column += (int)word;
        s += word;
        while (*s == ' ')
            s++;
    }
    fputc('\n', out);
}

/* "110 ERR_INVALID_TOKEN", or the name alone where the platform gives no number. */
static void print_code(FILE *out, const diag_code *c) {
    if (c->code)
        fprintf(out, "%d ", c->code);
    fputs(c->name ? c->name : "", out);
}

static void print_headline(FILE *out, const diag_result *r, bool color) {
    const diag_catalog_entry *e = diag_result_entry(r);
    bool rtc = r->service == DIAG_SERVICE_RTC;
    switch (r->verdict) {
    case DIAG_REJECTED:
        fprintf(out, "%s%sREJECTED%s \xe2\x80\x94 ", col(color, C_BOLD), col(color, C_RED),
                col(color, C_RESET));
        print_code(out, &e->code[r->platform]);
        fprintf(out, ": %s\n", e->title);
        break;
    case DIAG_JOINABLE:
        fprintf(out, "%s%sJOINABLE%s \xe2\x80\x94 %s\n", col(color, C_BOLD), col(color, C_GREEN),
                col(color, C_RESET),
                r->cause == DIAG_CAUSE_OK_APP_ID_ONLY ? "no token needed (App ID only)"
                : rtc                                 ? "the platform accepts this token"
                                                      : "RTM accepts this login");
        break;
    case DIAG_UNVERIFIABLE:
        fprintf(out, "%s%sUNVERIFIABLE%s \xe2\x80\x94 project unknown: %s\n", col(color, C_BOLD),
                col(color, C_YELLOW), col(color, C_RESET),
                "no configuration for this App ID; every other check passed");
        break;
    }
}

static void print_checks(FILE *out, const diag_result *r, bool color) {
    fprintf(out, "\nChecks:\n");
    for (int i = 0; i < DIAG_CHECK_COUNT; i++) {
        const diag_check *c = &r->checks[i];
        const char *mark = "\xe2\x9c\x93", *tone = C_GREEN; /* ✓ */
        if (c->status == DIAG_FAIL)
            mark = "\xe2\x9c\x97", tone = C_RED; /* ✗ */
        else if (c->status == DIAG_WARN)
            mark = "!", tone = C_YELLOW;
        else if (c->status == DIAG_SKIP)
            mark = "\xe2\x80\x93", tone = C_DIM; /* – */
        fprintf(out, "  %s%s%s %-16s %s\n", col(color, tone), mark, col(color, C_RESET),
                c->id ? c->id : "", c->detail[0] ? c->detail : diag_check_status_name(c->status));
    }
}

static void print_expiry(FILE *out, const diag_result *r) {
    if (!r->has_expiry)
        return;
    char iso[48];
    diag_utc_time(iso, sizeof iso, r->expires_at);
    long long left = (long long)(r->expires_at - r->at);
    if (left > 0)
        fprintf(out, "\nExpires: %s (in %lld s)\n", iso, left);
    else
        fprintf(out, "\nExpired: %s (%lld s ago)\n", iso, -left);
}

/* "Code: 5 LOGIN_ERR_INVALID_TOKEN (web, RTM SDK 1.x); also reported as 2 ...". */
static void print_code_line(FILE *out, const diag_result *r, const diag_catalog_entry *e) {
    const char *sdk = diag_table_sdk(r->table);
    fputs("Code: ", out);
    print_code(out, &e->code[r->platform]);
    fprintf(out, " (%s%s%s)", diag_platform_name(r->platform), sdk ? ", RTM SDK " : "",
            sdk ? sdk : "");
    for (size_t i = 0; i < 2; i++)
        if (e->also[r->platform][i].name) {
            fputs("; also reported as ", out);
            print_code(out, &e->also[r->platform][i]);
        }
    fputc('\n', out);
}

void diag_result_print(FILE *out, const diag_result *r, bool color) {
    const diag_catalog_entry *e = diag_result_entry(r);
    print_headline(out, r, color);
    if (r->verdict == DIAG_REJECTED) {
        fprintf(out, "\n%sFix:%s ", col(color, C_BOLD), col(color, C_RESET));
        print_wrapped(out, diag_result_solution(r), 5);
        fprintf(out, "%sWhy:%s ", col(color, C_BOLD), col(color, C_RESET));
        print_wrapped(out, e->reason, 5);
        print_code_line(out, r, e);
    } else if (r->verdict == DIAG_UNVERIFIABLE) {
        fprintf(out, "\n%sFix:%s ", col(color, C_BOLD), col(color, C_RESET));
        print_wrapped(out, e->solution, 5);
    }
    print_checks(out, r, color);
    if (r->hints) {
        fprintf(out, "\nHints:\n");
        for (int i = 0; i < DIAG_HINT_COUNT; i++)
            if (r->hints & (1u << i))
                fprintf(out, "  %s: %s\n", diag_hint_name((diag_hint)i),
                        diag_hint_text((diag_hint)i));
    }
    if (r->warnings) {
        fprintf(out, "\n%sWarnings:%s\n", col(color, C_YELLOW), col(color, C_RESET));
        for (int i = 0; i < DIAG_WARN_COUNT; i++)
            if (r->warnings & (1u << i))
                fprintf(out, "  ! %s: %s\n", diag_warning_name((diag_warning)i),
                        diag_warning_text((diag_warning)i));
    }
    if (r->has_repaired) {
        char q[TD_TOKEN_TEXT_MAX + 16];
        fprintf(out, "\nRepaired token: %s\n",
                diag_quote(q, sizeof q, r->repaired_token, strlen(r->repaired_token),
                           TD_TOKEN_TEXT_MAX));
        const diag_catalog_entry *re = diag_catalog(r->table, r->repaired_cause);
        if (r->repaired_verdict == DIAG_REJECTED && re) {
            fputs("  with it: REJECTED \xe2\x80\x94 ", out);
            print_code(out, &re->code[r->platform]);
            fprintf(out, ": %s\n", re->title);
        } else {
            fprintf(out, "  with it: %s (%s)\n",
                    r->repaired_verdict == DIAG_JOINABLE ? "JOINABLE" : "UNVERIFIABLE",
                    diag_cause_name(r->repaired_cause));
        }
    }
    print_expiry(out, r);
}

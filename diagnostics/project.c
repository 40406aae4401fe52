/* project.c -- a project's certificate configuration, parsed from a front end's JSON.
 *
 * Design
 * ------
 * The configuration (interfaces.md "Project configuration") is parsed strictly: every
 * certificate must be 32 hex characters, flags must be booleans, and each error message names
 * the field ("secondary.certificate: must be 32 hex characters") but never the value, because
 * the value may be a certificate. `enabled` defaults to true when a certificate is given
 * without it, the flags default to false, `primary`/`secondary` may be null or absent.
 *
 * Because every field has a default, a misspelt one would silently change the meaning
 * ("primay" leaves no certificate at all: mode none, every token "not expected"; "enable":
 * false leaves the certificate enabled). So a field that is not one of the configuration's, at
 * the top or inside primary/secondary, is refused, with the closest known name when one is
 * close (known_field). A diagnosis request, by contrast, ignores unknown fields: clients send
 * an "id", and nothing there has a default that a typo would silently keep.
 *
 * The model itself, and the configuration shown back (fingerprints, never a certificate), are
 * the project library's (project/tdproject.h); this file is the input side, next to the
 * diagnosis request's parser, so that every input's messages are written in one module.
 */
#include "diag_internal.h"

#include <ctype.h>
#include <string.h>

/* The fields of a configuration and of a certificate object (interfaces.md). */
static const char *const project_fields[] = {
    "app_id",
    "name",
    "primary",
    "secondary",
    "no_certificate",
    "cohost_auth",
    "retired_certificates",
    NULL,
};
static const char *const cert_fields[] = {"certificate", "enabled", NULL};

#define FIELD_CMP_MAX 64 /* longer keys are never close to a known name */

/* The key as compared: lower case, without '_' and '-' ("appId", "App-ID" and "app_id" are the
 * same). Returns its length; 0 when it is too long to compare. */
static size_t fold(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_' || s[i] == '-')
            continue;
        if (o == FIELD_CMP_MAX)
            return 0;
        out[o++] = (char)tolower((unsigned char)s[i]);
    }
    return o;
}

/* The optimal-string-alignment distance (edits: insert, delete, substitute, swap two neighbours)
 * between a and b, each at most FIELD_CMP_MAX bytes. */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
    size_t d[FIELD_CMP_MAX + 1][FIELD_CMP_MAX + 1];
    for (size_t i = 0; i <= na; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[na][nb];
}

/* The known name the key most likely meant, or NULL: the same name but for case and '_'/'-', a
 * few edits away (at most 2, and fewer than half its length), or the start of a name
 * ("retired" for retired_certificates, "cert" for certificate). */
static const char *closest_field(const char *key, size_t n, const char *const *known) {
    char k[FIELD_CMP_MAX], f[FIELD_CMP_MAX];
    size_t nk = fold(key, n, k);
    if (nk == 0)
        return NULL;
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; known[i]; i++) {
        size_t nf = fold(known[i], strlen(known[i]), f);
        size_t d = edit_distance(k, nk, f, nf);
        if (d * 2 >= nk)
            d = 3; /* "ab" is 2 edits from anything short: no suggestion */
        if (nk >= 4 && nk < nf && memcmp(k, f, nk) == 0)
            d = d < 2 ? d : 2; /* a prefix */
        if (d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    return best;
}

/* A key as a message shows it: as it is when it is a plain name, otherwise quoted and cut. */
static void show_key(char *out, size_t cap, const char *key, size_t n) {
    bool plain = n > 0 && n <= 40;
    for (size_t i = 0; i < n && plain; i++)
        plain = isalnum((unsigned char)key[i]) || key[i] == '_' || key[i] == '-' || key[i] == '.';
    if (plain)
        snprintf(out, cap, "%s", key);
    else
        diag_quote(out, cap, key, n, 40);
}

/* Refuses a key of obj that is not in known: "<prefix><key>: unknown field (did you mean X?)".
 * The key is shown (show_key), except when it is 32 hex characters, which may be a certificate. */
static bool known_fields(json_t *obj, const char *prefix, const char *const *known, char *err,
                         size_t cap) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t n = strlen(key);
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (found)
            continue;
        if (diag_is_hex32(key, n))
            return diag_fail(err, cap,
                             "%s<32 hex characters>: unknown field (a certificate is a value, "
                             "not a field name)",
                             prefix);
        char shown[96];
        show_key(shown, sizeof shown, key, n);
        const char *near = closest_field(key, n, known);
        if (near)
            return diag_fail(err, cap, "%s%s: unknown field (did you mean %s?)", prefix, shown,
                             near);
        char list[160] = "";
        for (size_t i = 0; known[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     known[i]);
        return diag_fail(err, cap, "%s%s: unknown field (known: %s)", prefix, shown, list);
    }
    return true;
}

static bool get_flag(json_t *obj, const char *key, const char *prefix, bool dflt, bool *out,
                     char *err, size_t cap) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return true;
    }
    if (!json_is_boolean(v))
        return diag_fail(err, cap, "%s%s: must be true or false", prefix, key);
    *out = json_is_true(v);
    return true;
}

static bool parse_cert(json_t *obj, const char *key, diag_cert *out, char *err, size_t cap) {
    memset(out, 0, sizeof *out);
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_object(v))
        return diag_fail(err, cap, "%s: must be an object {\"certificate\", \"enabled\"} or null",
                         key);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s.", key);
    if (!known_fields(v, prefix, cert_fields, err, cap))
        return false;
    json_t *c = json_object_get(v, "certificate");
    if (!json_is_string(c) || !diag_is_hex32(json_string_value(c), json_string_length(c)))
        return diag_fail(err, cap, "%s.certificate: must be 32 hex characters", key);
    if (!get_flag(v, "enabled", prefix, true, &out->enabled, err, cap))
        return false;
    out->present = true;
    memcpy(out->certificate, json_string_value(c), TD_CERT_LEN);
    out->certificate[TD_CERT_LEN] = '\0';
    return true;
}

bool diag_project_from_json(json_t *obj, diag_project *out, char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return diag_fail(err, err_cap, "project: must be a JSON object");
    if (!known_fields(obj, "", project_fields, err, err_cap))
        return false;
    json_t *id = json_object_get(obj, "app_id");
    if (!json_is_string(id) || !diag_is_hex32(json_string_value(id), json_string_length(id)))
        return diag_fail(err, err_cap, "app_id: must be 32 hex characters");
    memcpy(out->app_id, json_string_value(id), TD_CERT_LEN);

    json_t *name = json_object_get(obj, "name");
    if (name && !json_is_null(name)) {
        if (!json_is_string(name) || json_string_length(name) > DIAG_NAME_MAX ||
            strlen(json_string_value(name)) != json_string_length(name))
            return diag_fail(err, err_cap, "name: must be a string of at most %d bytes",
                             DIAG_NAME_MAX);
        memcpy(out->name, json_string_value(name), json_string_length(name));
    }
    if (!parse_cert(obj, "primary", &out->primary, err, err_cap) ||
        !parse_cert(obj, "secondary", &out->secondary, err, err_cap) ||
        !get_flag(obj, "no_certificate", "", false, &out->no_certificate, err, err_cap) ||
        !get_flag(obj, "cohost_auth", "", false, &out->cohost_auth, err, err_cap))
        return false;

    json_t *retired = json_object_get(obj, "retired_certificates");
    if (retired && !json_is_null(retired)) {
        if (!json_is_array(retired))
            return diag_fail(err, err_cap, "retired_certificates: must be an array");
        if (json_array_size(retired) > DIAG_RETIRED_MAX)
            return diag_fail(err, err_cap, "retired_certificates: at most %d entries",
                             DIAG_RETIRED_MAX);
        for (size_t i = 0; i < json_array_size(retired); i++) {
            json_t *c = json_array_get(retired, i);
            if (!json_is_string(c) || !diag_is_hex32(json_string_value(c), json_string_length(c)))
                return diag_fail(err, err_cap,
                                 "retired_certificates[%zu]: must be 32 hex characters", i);
            /* A certificate that is the primary or secondary is current, not retired (the store
             * un-retires it the same way), so a file and the database judge alike. */
            if (diag_project_is_current(out, json_string_value(c)))
                continue;
            memcpy(out->retired[out->retired_count], json_string_value(c), TD_CERT_LEN);
            out->retired[out->retired_count++][TD_CERT_LEN] = '\0';
        }
    }
    return true;
}

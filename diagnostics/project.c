/* project.c -- a project's certificate configuration: parsed from JSON, shown as JSON.
 *
 * Design
 * ------
 * The configuration (interfaces.md "Project configuration") is parsed strictly: every
 * certificate must be 32 hex characters, flags must be booleans, and each error message names
 * the field ("secondary.certificate: must be 32 hex characters") but never the value, because
 * the value may be a certificate. `enabled` defaults to true when a certificate is given
 * without it, the flags default to false, `primary`/`secondary` may be null or absent.
 *
 * Shown back, a configuration never contains a certificate: each is replaced by its fingerprint
 * (first 8 hex of SHA-256, td_fingerprint), retired ones included.
 */
#include "diag_internal.h"

#include <string.h>

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
    json_t *c = json_object_get(v, "certificate");
    if (!json_is_string(c) || !diag_is_hex32(json_string_value(c), json_string_length(c)))
        return diag_fail(err, cap, "%s.certificate: must be 32 hex characters", key);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s.", key);
    if (!get_flag(v, "enabled", prefix, true, &out->enabled, err, cap))
        return false;
    out->present = true;
    memcpy(out->certificate, json_string_value(c), TD_CERT_LEN);
    out->certificate[TD_CERT_LEN] = '\0';
    return true;
}

static bool is_current(const diag_project *p, const char *cert) {
    return (p->primary.present && memcmp(p->primary.certificate, cert, TD_CERT_LEN) == 0) ||
           (p->secondary.present && memcmp(p->secondary.certificate, cert, TD_CERT_LEN) == 0);
}

bool diag_project_from_json(json_t *obj, diag_project *out, char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return diag_fail(err, err_cap, "project: must be a JSON object");
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
            if (is_current(out, json_string_value(c)))
                continue;
            memcpy(out->retired[out->retired_count], json_string_value(c), TD_CERT_LEN);
            out->retired[out->retired_count++][TD_CERT_LEN] = '\0';
        }
    }
    return true;
}

const char *diag_certificate_mode(const diag_project *p) {
    bool primary = p->primary.present && p->primary.enabled;
    bool secondary = p->secondary.present && p->secondary.enabled;
    if (primary && secondary)
        return "both";
    if (primary)
        return "primary";
    if (secondary)
        return "secondary";
    return "none";
}

static json_t *cert_json(const diag_cert *c) {
    if (!c->present)
        return json_null();
    char fp[9];
    td_fingerprint(c->certificate, strlen(c->certificate), fp);
    return json_pack("{s:s, s:b}", "fingerprint", fp, "enabled", c->enabled);
}

json_t *diag_project_to_json(const diag_project *p) {
    json_t *retired = json_array();
    for (size_t i = 0; i < p->retired_count && i < DIAG_RETIRED_MAX; i++) {
        char fp[9];
        td_fingerprint(p->retired[i], strlen(p->retired[i]), fp);
        json_array_append_new(retired, json_string(fp));
    }
    json_t *name = p->name[0] ? diag_json_text(p->name, strlen(p->name)) : json_null();
    return json_pack("{s:s, s:o, s:o, s:o, s:b, s:b, s:s, s:o}", "app_id", p->app_id, "name", name,
                     "primary", cert_json(&p->primary), "secondary", cert_json(&p->secondary),
                     "no_certificate", p->no_certificate, "cohost_auth", p->cohost_auth,
                     "certificate_mode", diag_certificate_mode(p), "retired_certificates", retired);
}

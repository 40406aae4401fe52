/* project.c -- the project model: the certificate-mode rule, the configuration as shown, the
 * change log's snapshots and changes, and their JSON.
 *
 * Design
 * ------
 * Everything a person or a program is shown of a project is built from a diag_project_shown,
 * which holds fingerprints, never certificates: the store can fill one from what it keeps in
 * clear (the log's fingerprints) when it has no key file, and a configuration read from a file
 * is turned into one before it is rendered. So there is one renderer per document, whichever
 * way the facts were obtained.
 *
 * The log stores its snapshots as the JSON written here, and reads them back with
 * diag_project_snapshot_from_json; `changes` is a function of the two snapshots
 * (diag_project_changes_to_json), computed when it is written and when it is shown, so the stored
 * and the shown list cannot disagree. Key order is insertion order (jansson keeps it), which is
 * what makes the documents byte-stable. The store's two other lists, API keys and the diagnosis
 * log, are rendered here too, from the structs it returns (diag_apikey_shown, diag_log_entry).
 */
#include "tdproject.h"

#include <stdio.h>
#include <string.h>

/* The one certificate-mode rule, over whichever form of the configuration. */
static const char *mode_of(bool primary, bool secondary) {
    if (primary && secondary)
        return "both";
    if (primary)
        return "primary";
    if (secondary)
        return "secondary";
    return "none";
}

const char *diag_certificate_mode(const diag_project *p) {
    return mode_of(p->primary.present && p->primary.enabled,
                   p->secondary.present && p->secondary.enabled);
}

const char *diag_project_shown_mode(const diag_project_shown *s) {
    return mode_of(s->primary.present && s->primary.enabled,
                   s->secondary.present && s->secondary.enabled);
}

bool diag_project_is_current(const diag_project *p, const char *cert) {
    return (p->primary.present && memcmp(p->primary.certificate, cert, TD_CERT_LEN) == 0) ||
           (p->secondary.present && memcmp(p->secondary.certificate, cert, TD_CERT_LEN) == 0);
}

static void show_cert(const diag_cert *c, diag_cert_shown *out) {
    memset(out, 0, sizeof *out);
    if (!c->present)
        return;
    out->present = true;
    out->enabled = c->enabled;
    td_fingerprint(c->certificate, strlen(c->certificate), out->fingerprint);
}

void diag_project_show(const diag_project *p, diag_project_shown *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->app_id, sizeof out->app_id, "%s", p->app_id);
    snprintf(out->name, sizeof out->name, "%s", p->name);
    show_cert(&p->primary, &out->primary);
    show_cert(&p->secondary, &out->secondary);
    out->no_certificate = p->no_certificate;
    out->cohost_auth = p->cohost_auth;
    for (size_t i = 0; i < p->retired_count && i < DIAG_RETIRED_MAX; i++)
        td_fingerprint(p->retired[i], strlen(p->retired[i]), out->retired[out->retired_count++]);
}

/* ---- JSON -------------------------------------------------------------------------------- */

/* A new array of one(list, i) for each i < count; NULL (nothing leaked) when an item cannot be
 * made: every list this file renders. */
static json_t *array_of(const void *list, size_t count, json_t *(*one)(const void *, size_t)) {
    json_t *doc = json_array();
    for (size_t i = 0; i < count && doc; i++)
        if (json_array_append_new(doc, one(list, i)) != 0) {
            json_decref(doc);
            doc = NULL;
        }
    return doc;
}

static json_t *cert_json(const diag_cert_shown *c) {
    if (!c->present)
        return json_null();
    return json_pack("{s:s, s:b}", "fingerprint", c->fingerprint, "enabled", c->enabled);
}

static json_t *fingerprint_json(const void *fps, size_t i) {
    return json_string(((const char(*)[DIAG_FINGERPRINT_LEN + 1]) fps)[i]);
}

static json_t *fingerprints_json(const char (*fps)[DIAG_FINGERPRINT_LEN + 1], size_t count) {
    return array_of(fps, count, fingerprint_json);
}

json_t *diag_project_shown_to_json(const diag_project_shown *s) {
    json_t *name = s->name[0] ? json_string(s->name) : json_null();
    json_t *doc =
        json_pack("{s:s, s:o, s:o, s:o, s:b, s:b, s:s, s:o}", "app_id", s->app_id, "name", name,
                  "primary", cert_json(&s->primary), "secondary", cert_json(&s->secondary),
                  "no_certificate", s->no_certificate, "cohost_auth", s->cohost_auth,
                  "certificate_mode", diag_project_shown_mode(s), "retired_certificates",
                  fingerprints_json(s->retired, s->retired_count));
    if (doc && s->has_times &&
        (json_object_set_new(doc, "created_at", json_integer(s->created_at)) != 0 ||
         json_object_set_new(doc, "updated_at", json_integer(s->updated_at)) != 0)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *diag_project_to_json(const diag_project *p) {
    diag_project_shown s;
    diag_project_show(p, &s);
    return diag_project_shown_to_json(&s);
}

static json_t *shown_json(const void *list, size_t i) {
    return diag_project_shown_to_json((const diag_project_shown *)list + i);
}

json_t *diag_project_list_to_json(const diag_project_shown *list, size_t count) {
    return array_of(list, count, shown_json);
}

/* ---- The change log ------------------------------------------------------------------------ */

static const char *const action_names[DIAG_PROJECT_ACTION_COUNT] = {
    [DIAG_PROJECT_CREATE] = "create",
    [DIAG_PROJECT_REPLACE] = "replace",
    [DIAG_PROJECT_DELETE] = "delete",
};
_Static_assert(sizeof action_names / sizeof action_names[0] == DIAG_PROJECT_ACTION_COUNT,
               "one name per action");

const char *diag_project_action_name(diag_project_action a) {
    return (unsigned)a < DIAG_PROJECT_ACTION_COUNT ? action_names[a] : "unknown";
}

bool diag_project_action_parse(const char *name, diag_project_action *out) {
    for (int i = 0; name && i < DIAG_PROJECT_ACTION_COUNT; i++)
        if (strcmp(name, action_names[i]) == 0) {
            *out = (diag_project_action)i;
            return true;
        }
    return false;
}

json_t *diag_project_snapshot_to_json(const diag_project_shown *s) {
    if (!s)
        return json_null();
    return json_pack("{s:s, s:s, s:b, s:b, s:o, s:o, s:o}", "name", s->name, "mode",
                     diag_project_shown_mode(s), "no_certificate", s->no_certificate, "cohost_auth",
                     s->cohost_auth, "primary", cert_json(&s->primary), "secondary",
                     cert_json(&s->secondary), "retired_certificates",
                     fingerprints_json(s->retired, s->retired_count));
}

/* A fingerprint as the log holds it: 8 characters (copied into out). */
static bool read_fingerprint(json_t *v, char out[DIAG_FINGERPRINT_LEN + 1]) {
    if (!json_is_string(v) || json_string_length(v) != DIAG_FINGERPRINT_LEN)
        return false;
    memcpy(out, json_string_value(v), DIAG_FINGERPRINT_LEN + 1);
    return true;
}

static bool read_cert(json_t *v, diag_cert_shown *out) {
    memset(out, 0, sizeof *out);
    if (!v || json_is_null(v))
        return true;
    out->present = true;
    out->enabled = json_is_true(json_object_get(v, "enabled"));
    return read_fingerprint(json_object_get(v, "fingerprint"), out->fingerprint);
}

bool diag_project_snapshot_from_json(json_t *snap, diag_project_shown *out) {
    memset(out, 0, sizeof *out);
    json_t *name = json_object_get(snap, "name");
    json_t *retired = json_object_get(snap, "retired_certificates");
    if (!json_is_object(snap) || !json_is_string(name) ||
        json_string_length(name) > DIAG_NAME_MAX || !json_is_array(retired) ||
        json_array_size(retired) > DIAG_RETIRED_MAX)
        return false;
    memcpy(out->name, json_string_value(name), json_string_length(name));
    out->no_certificate = json_is_true(json_object_get(snap, "no_certificate"));
    out->cohost_auth = json_is_true(json_object_get(snap, "cohost_auth"));
    if (!read_cert(json_object_get(snap, "primary"), &out->primary) ||
        !read_cert(json_object_get(snap, "secondary"), &out->secondary))
        return false;
    for (size_t i = 0; i < json_array_size(retired); i++)
        if (!read_fingerprint(json_array_get(retired, i), out->retired[out->retired_count++]))
            return false;
    return true;
}

/* snap[key] or snap[key][sub]; null when absent. Borrowed. */
static json_t *snapshot_field(json_t *snap, const char *key, const char *sub) {
    json_t *v = json_object_get(snap, key);
    if (v && sub)
        v = json_object_get(v, sub);
    return v ? v : json_null();
}

/* The fields a change lists, in the order it lists them. */
static const struct {
    const char *field, *key, *sub;
} change_fields[] = {
    {"mode", "mode", NULL},
    {"primary.fingerprint", "primary", "fingerprint"},
    {"primary.enabled", "primary", "enabled"},
    {"secondary.fingerprint", "secondary", "fingerprint"},
    {"secondary.enabled", "secondary", "enabled"},
    {"no_certificate", "no_certificate", NULL},
    {"cohost_auth", "cohost_auth", NULL},
    {"name", "name", NULL},
    {"retired_certificates", "retired_certificates", NULL},
};

static json_t *diff_snapshots(json_t *before, json_t *after) {
    json_t *changes = json_array();
    for (size_t i = 0; i < sizeof change_fields / sizeof change_fields[0] && changes; i++) {
        json_t *from = snapshot_field(before, change_fields[i].key, change_fields[i].sub);
        json_t *to = snapshot_field(after, change_fields[i].key, change_fields[i].sub);
        /* Created or deleted: "no retired certificates" is not a change worth a line. */
        bool both_empty = (json_is_null(from) || json_array_size(from) == 0) &&
                          (json_is_null(to) || json_array_size(to) == 0) &&
                          (json_is_array(from) || json_is_array(to));
        if (!json_equal(from, to) && !both_empty &&
            json_array_append_new(changes,
                                  json_pack("{s:s, s:O, s:O}", "field", change_fields[i].field,
                                            "from", from, "to", to)) != 0) {
            json_decref(changes);
            changes = NULL;
        }
    }
    return changes;
}

json_t *diag_project_changes_to_json(const diag_project_shown *before,
                                     const diag_project_shown *after) {
    json_t *b = diag_project_snapshot_to_json(before);
    json_t *a = diag_project_snapshot_to_json(after);
    json_t *changes = b && a ? diff_snapshots(b, a) : NULL;
    json_decref(b);
    json_decref(a);
    return changes;
}

static json_t *change_json(const diag_project_change *c) {
    const diag_project_shown *before = c->has_before ? &c->before : NULL;
    const diag_project_shown *after = c->has_after ? &c->after : NULL;
    return json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)c->id, "at",
                     (json_int_t)c->at, "actor", c->actor, "action",
                     diag_project_action_name(c->action), "before",
                     diag_project_snapshot_to_json(before), "after",
                     diag_project_snapshot_to_json(after), "changes",
                     diag_project_changes_to_json(before, after), "retired",
                     fingerprints_json(c->retired, c->retired_count));
}

static json_t *change_item_json(const void *log, size_t i) {
    return change_json((const diag_project_change *)log + i);
}

json_t *diag_project_history_to_json(const diag_project_change *log, size_t count) {
    return array_of(log, count, change_item_json);
}

/* ---- API keys and the diagnosis log -----------------------------------------------------------
 * The store returns their rows as structs and builds no documents (as for projects), so that
 * `apikey list --json` and the service write them with these renderers, and the store needs no
 * JSON library for these reads. An absent time, code, fingerprint, channel or uid is null. */

static json_t *time_or_null(bool set, int64_t t) {
    return set ? json_integer((json_int_t)t) : json_null();
}

static json_t *text_or_null(const char *s) {
    return s[0] ? json_string(s) : json_null();
}

static json_t *apikey_json(const void *list, size_t i) {
    const diag_apikey_shown *k = (const diag_apikey_shown *)list + i;
    return json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}", "id", (json_int_t)k->id, "name", k->name,
                     "role", k->role, "created_at", (json_int_t)k->created_at, "revoked_at",
                     time_or_null(k->revoked, k->revoked_at), "last_used_at",
                     time_or_null(k->used, k->last_used_at));
}

json_t *diag_apikey_list_to_json(const diag_apikey_shown *keys, size_t count) {
    return array_of(keys, count, apikey_json);
}

static json_t *log_entry_json(const void *list, size_t i) {
    const diag_log_entry *e = (const diag_log_entry *)list + i;
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "at", (json_int_t)e->at,
                     "app_id", e->app_id, "verdict", e->verdict, "cause", e->cause, "code",
                     e->code ? json_integer(e->code) : json_null(), "platform", e->platform,
                     "token_fingerprint", text_or_null(e->token_fingerprint), "channel",
                     text_or_null(e->channel), "uid", text_or_null(e->uid));
}

json_t *diag_log_list_to_json(const diag_log_entry *list, size_t count) {
    return array_of(list, count, log_entry_json);
}

/* ---- A bulk import's summary --------------------------------------------------------------- */

json_t *diag_import_summary_to_json(const diag_import_summary *s) {
    json_t *errors = json_array();
    for (size_t i = 0; errors && i < s->error_count; i++) {
        if (json_array_append_new(errors,
                                  json_pack("{s:I,s:s}", "line", (json_int_t)s->errors[i].line,
                                            "message", s->errors[i].message)) != 0) {
            json_decref(errors);
            errors = NULL;
        }
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:b,s:o}", "created", (json_int_t)s->created, "replaced",
                     (json_int_t)s->replaced, "unchanged", (json_int_t)s->unchanged, "failed",
                     (json_int_t)s->failed, "dry_run", s->dry_run, "errors", errors);
}

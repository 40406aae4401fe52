/* test_project.c -- the project library (project/tdproject.h) on its own.
 *
 * The expected documents are docs/api.md's examples (PUT /v1/projects/{app_id} and the history),
 * whose certificates and fingerprints were computed independently (SHA-256 of the certificate);
 * the certificate-mode rule is diagnosis.md's. What cannot come from the docs is checked as an
 * invariant: a stored snapshot reads back into what writes it again, byte for byte, and no
 * output ever holds a certificate.
 */
#include <stdlib.h>
#include <string.h>

#include "tdproject.h"
#include "testutil.h"

#define APP_ID "6282c79000df1c033ce3999c60bd78e7"
#define CERT "90633ac91c7b87d1a0d0f2b86a07c2af"
#define CERT_FP "6a91b199"
#define RETIRED "5be9988328089bc9b41e1ff1e4c4f6f0"
#define RETIRED_FP "b0dfe92c"

/* docs/api.md "PUT /v1/projects/{app_id}": the configuration put there. */
static void demo(diag_project *p) {
    memset(p, 0, sizeof *p);
    strcpy(p->app_id, APP_ID);
    strcpy(p->name, "demo");
    p->primary.present = true;
    p->primary.enabled = true;
    strcpy(p->primary.certificate, CERT);
    p->retired_count = 1;
    strcpy(p->retired[0], RETIRED);
}

/* The compact text of doc (consumed); "" when NULL. The caller frees it. */
static char *dump(json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text ? text : strdup("");
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_shown_document(void) {
    diag_project p;
    demo(&p);
    diag_project_shown s;
    diag_project_show(&p, &s);
    s.has_times = true;
    s.created_at = s.updated_at = 1795366139;
    char *text = dump(diag_project_shown_to_json(&s));
    CHECK(strcmp(text, "{\"app_id\":\"" APP_ID "\",\"name\":\"demo\",\"primary\":{\"fingerprint\":"
                       "\"" CERT_FP "\",\"enabled\":true},\"secondary\":null,\"no_certificate\":"
                       "false,\"cohost_auth\":false,\"certificate_mode\":\"primary\","
                       "\"retired_certificates\":[\"" RETIRED_FP "\"],\"created_at\":1795366139,"
                       "\"updated_at\":1795366139}") == 0,
          "%s", text);
    free(text);
    /* The primary is current; a retired certificate is not. */
    EXPECT(diag_project_is_current(&p, CERT) && !diag_project_is_current(&p, RETIRED));
    /* A configuration from a file: no times, a name-less project shows null. */
    p.name[0] = '\0';
    text = dump(diag_project_to_json(&p));
    CHECK(strstr(text, "\"name\":null") && !strstr(text, "created_at"), "%s", text);
    CHECK(!strstr(text, CERT) && !strstr(text, RETIRED), "%s", text);
    free(text);
    text = dump(diag_project_list_to_json(&s, 1));
    CHECK(starts_with(text, "[{\"app_id\":\"" APP_ID "\",\"name\":\"demo\""), "%s", text);
    free(text);
}

static void test_certificate_mode(void) {
    static const struct {
        bool primary, primary_on, secondary, secondary_on;
        const char *mode;
    } rows[] = {
        {false, false, false, false, "none"},    {true, true, false, false, "primary"},
        {false, false, true, true, "secondary"}, {true, true, true, true, "both"},
        {true, false, true, true, "secondary"},  {true, true, true, false, "primary"},
        {true, false, true, false, "none"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        diag_project p;
        demo(&p);
        p.primary.present = rows[i].primary;
        p.primary.enabled = rows[i].primary_on;
        p.secondary = p.primary;
        p.secondary.present = rows[i].secondary;
        p.secondary.enabled = rows[i].secondary_on;
        diag_project_shown s;
        diag_project_show(&p, &s);
        CHECK(strcmp(diag_certificate_mode(&p), rows[i].mode) == 0, "row %zu", i);
        CHECK(strcmp(diag_project_shown_mode(&s), rows[i].mode) == 0, "row %zu", i);
    }
}

/* docs/api.md "GET /v1/projects/{app_id}/history": the entry of a create. */
static void test_history(void) {
    diag_project p;
    demo(&p);
    p.retired_count = 0;
    diag_project_change c;
    memset(&c, 0, sizeof c);
    c.id = 1;
    c.at = 1795365291;
    strcpy(c.actor, "admin");
    c.action = DIAG_PROJECT_CREATE;
    c.has_after = true;
    diag_project_show(&p, &c.after);
    char *text = dump(diag_project_history_to_json(&c, 1));
    CHECK(starts_with(text,
                      "[{\"id\":1,\"at\":1795365291,\"actor\":\"admin\",\"action\":\"create\","
                      "\"before\":null,\"after\":{\"name\":\"demo\",\"mode\":\"primary\","
                      "\"no_certificate\":false,\"cohost_auth\":false,\"primary\":{"
                      "\"fingerprint\":\"" CERT_FP "\",\"enabled\":true},\"secondary\":null,"),
          "%s", text);
    CHECK(strstr(text, "\"changes\":[{\"field\":\"mode\",\"from\":null,\"to\":\"primary\"},{"
                       "\"field\":\"primary.fingerprint\",\"from\":null,\"to\":\"" CERT_FP "\"}"),
          "%s", text);
    /* "No retired certificates" on either side is not a change. */
    CHECK(!strstr(text, "\"field\":\"retired_certificates\""), "%s", text);
    CHECK(strstr(text, "\"retired\":[]}]"), "%s", text);
    free(text);

    /* A replace that retires the primary: the change names it by fingerprint only. */
    diag_project_change r = c;
    r.id = 2;
    r.action = DIAG_PROJECT_REPLACE;
    r.has_before = true;
    r.before = c.after;
    r.after.primary.present = false;
    r.after.retired_count = 1;
    strcpy(r.after.retired[0], CERT_FP);
    r.retired_count = 1;
    strcpy(r.retired[0], CERT_FP);
    text = dump(diag_project_history_to_json(&r, 1));
    CHECK(strstr(text, "{\"field\":\"mode\",\"from\":\"primary\",\"to\":\"none\"}") &&
              strstr(text,
                     "{\"field\":\"retired_certificates\",\"from\":[],\"to\":[\"" CERT_FP "\"]}") &&
              strstr(text, "\"retired\":[\"" CERT_FP "\"]}]") && !strstr(text, CERT),
          "%s", text);
    free(text);

    diag_project_action a;
    EXPECT(diag_project_action_parse("delete", &a) && a == DIAG_PROJECT_DELETE);
    EXPECT(!diag_project_action_parse("remove", &a));
    EXPECT(strcmp(diag_project_action_name(DIAG_PROJECT_REPLACE), "replace") == 0);
}

/* The log stores diag_project_snapshot_to_json and reads it back: the same bytes again. */
static void test_snapshot_round_trip(void) {
    diag_project p;
    demo(&p);
    p.secondary = p.primary;
    p.secondary.enabled = false;
    p.cohost_auth = true;
    diag_project_shown s, back;
    diag_project_show(&p, &s);
    json_t *snap = diag_project_snapshot_to_json(&s);
    CHECK(diag_project_snapshot_from_json(snap, &back), "snapshot reads back");
    char *a = dump(snap), *b = dump(diag_project_snapshot_to_json(&back));
    CHECK(strcmp(a, b) == 0, "%s\n%s", a, b);
    free(a);
    free(b);
    /* What is not a snapshot is refused, not half read. */
    static const char *const bad[] = {
        "[]",
        "{\"name\":\"x\"}",
        "{\"name\":1,\"retired_certificates\":[]}",
        "{\"name\":\"x\",\"retired_certificates\":[\"abc\"]}",
        "{\"name\":\"x\",\"retired_certificates\":[],\"primary\":{\"fingerprint\":\"123456789\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = json_loads(bad[i], 0, NULL);
        CHECK(v && !diag_project_snapshot_from_json(v, &back), "%s", bad[i]);
        json_decref(v);
    }
    json_t *none = diag_project_snapshot_to_json(NULL); /* created: no "before" */
    EXPECT(json_is_null(none));
    json_decref(none);
}

int main(void) {
    test_shown_document();
    test_certificate_mode();
    test_history();
    test_snapshot_round_trip();
    return tu_report("project_model");
}

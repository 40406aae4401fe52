/* scenario_check.c -- see scenario_check.h. */
#include "scenario_check.h"

#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scenario files and the cases the repository's copy holds: a copy with fewer is broken
 * (a shared copy may hold more). */
static const struct {
    const char *name;
    size_t min_cases;
} scenario_files[] = {
    {"v2/scenarios.jsonl", 620},
    {"v2/sdk.jsonl", 199},
    {"generated/scenarios.jsonl", 3000}, /* made by tests/vectors/generate.sh */
};

static bool mismatch(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool mismatch(char *why, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* "what: expected E, got G" with both values as JSON ("(none)" for an absent value). */
static bool differs(char *why, size_t cap, const char *what, json_t *e, json_t *g) {
    char *es = e ? json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *gs = g ? json_dumps(g, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    mismatch(why, cap, "%s: expected %s, got %s", what, es ? es : "(none)", gs ? gs : "(none)");
    free(es);
    free(gs);
    return false;
}

static bool is_scenario(json_t *sc) {
    json_t *project = json_object_get(sc, "project");
    return json_is_string(json_object_get(sc, "id")) &&
           json_is_object(json_object_get(sc, "request")) &&
           json_is_object(json_object_get(sc, "expect")) &&
           (json_is_null(project) || json_is_object(project));
}

json_t *scenario_load(const char *vectors_dir) {
    json_t *all = json_array();
    for (size_t f = 0; all && f < sizeof scenario_files / sizeof scenario_files[0]; f++) {
        const char *name = scenario_files[f].name;
        json_t *lines = tu_load_jsonl(vectors_dir, name); /* a failed check that says why */
        size_t i, n = json_array_size(lines);
        json_t *sc;
        bool ok = lines != NULL;
        if (ok && n < scenario_files[f].min_cases) {
            fprintf(stderr, "%s/%s: %zu scenarios, fewer than the %zu of the contract\n",
                    vectors_dir, name, n, scenario_files[f].min_cases);
            ok = false;
        }
        json_array_foreach(lines, i, sc) {
            if (ok && !is_scenario(sc)) {
                fprintf(stderr, "%s/%s: line %zu is not a scenario\n", vectors_dir, name, i + 1);
                ok = false;
            }
        }
        if (!ok || json_array_extend(all, lines) != 0) {
            json_decref(all);
            all = NULL;
        }
        json_decref(lines);
    }
    return all;
}

bool scenario_is_bad_request(json_t *scenario) {
    return json_is_true(json_object_get(json_object_get(scenario, "expect"), "bad_request"));
}

const char *scenario_bad_field(json_t *scenario) {
    const char *mutation = json_string_value(json_object_get(scenario, "mutation"));
    return mutation && strcmp(mutation, "bad_sdk_version") == 0 ? "sdk_version" : NULL;
}

/* Every element of the JSON array a is in the array b. */
static bool contained_in(json_t *a, json_t *b) {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(b) && !found; j++)
            found = json_equal(v, json_array_get(b, j));
        if (!found)
            return false;
    }
    return true;
}

/* Two JSON arrays of strings hold the same set. */
static bool same_set(json_t *a, json_t *b) {
    return json_is_array(a) && json_is_array(b) && contained_in(a, b) && contained_in(b, a);
}

static json_t *null_if_absent(json_t *v) {
    return v ? v : json_null();
}

/* An error object answering a request: {"error": {"code": "<string>", ...}} (a diagnosis's
 * error has a numeric or null code). */
static bool is_refusal(json_t *got) {
    return json_is_string(json_object_get(json_object_get(got, "error"), "code"));
}

/* The message starts with "FIELD:" as the validators say it, after the "line N: " a batch line's
 * error puts first (`diagnose --batch` names the input line). */
static bool names_field(const char *msg, const char *field) {
    if (strncmp(msg, "line ", 5) == 0 && msg[5] >= '0' && msg[5] <= '9') {
        const char *p = msg + 5 + strspn(msg + 5, "0123456789");
        if (strncmp(p, ": ", 2) == 0)
            msg = p + 2;
    }
    size_t n = strlen(field);
    return strncmp(msg, field, n) == 0 && msg[n] == ':';
}

/* A bad_request scenario: got must refuse it, naming the field. */
static bool refusal_matches(json_t *scenario, json_t *got, char *why, size_t cap) {
    if (json_object_get(got, "verdict"))
        return mismatch(why, cap, "expected a bad request, got a diagnosis (%s/%s)",
                        json_string_value(json_object_get(got, "verdict")),
                        json_string_value(json_object_get(got, "cause")));
    json_t *err = json_object_get(got, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (!code || strcmp(code, "bad_request") != 0)
        return mismatch(why, cap, "expected a bad request, got %s",
                        code ? code : "an answer without an error code");
    if (!msg || !*msg)
        return mismatch(why, cap, "error.message: missing or empty");
    const char *field = scenario_bad_field(scenario);
    if (field && !names_field(msg, field))
        return mismatch(why, cap, "error.message: expected '%s: ...', got '%s'", field, msg);
    return true;
}

/* The code and the error object: the summary's top-level code, or the full shape's error (null
 * unless rejected; a rejection's error always named, its code null only where the platform
 * reports no number). */
static bool code_matches(json_t *expect, json_t *got, char *why, size_t cap) {
    json_t *want = null_if_absent(json_object_get(expect, "code"));
    json_t *code = json_object_get(got, "code");
    if (code) /* the --summary shape */
        return json_equal(want, code) || differs(why, cap, "code", want, code);
    json_t *err = json_object_get(got, "error");
    const char *verdict = json_string_value(json_object_get(expect, "verdict"));
    if (!verdict || strcmp(verdict, "rejected") != 0)
        return json_is_null(err) || differs(why, cap, "error (not rejected)", json_null(), err);
    if (!json_is_object(err))
        return mismatch(why, cap, "error: expected an object (rejected), got %s",
                        err ? "null" : "none");
    code = json_object_get(err, "code");
    if (!code || !json_equal(want, code))
        return differs(why, cap, "error.code", want, code);
    const char *name = json_string_value(json_object_get(err, "name"));
    if (!name || !*name)
        return mismatch(why, cap, "error.name: missing or empty (always set, code %s)",
                        json_is_null(code) ? "null" : "given");
    return true;
}

bool scenario_matches(json_t *scenario, json_t *got, char *why, size_t cap) {
    if (!json_is_object(got))
        return mismatch(why, cap, "not a JSON object");
    if (scenario_is_bad_request(scenario))
        return refusal_matches(scenario, got, why, cap);
    if (is_refusal(got))
        return mismatch(
            why, cap, "refused: %s: %s",
            json_string_value(json_object_get(json_object_get(got, "error"), "code")),
            json_string_value(json_object_get(json_object_get(got, "error"), "message")));
    json_t *expect = json_object_get(scenario, "expect");
    const char *fields[] = {"verdict", "cause", "expires_at"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = null_if_absent(json_object_get(expect, fields[i]));
        json_t *g = json_object_get(got, fields[i]);
        if (!g || !json_equal(e, g))
            return differs(why, cap, fields[i], e, g);
    }
    if (!code_matches(expect, got, why, cap))
        return false;
    const char *sets[] = {"hints", "warnings"};
    for (size_t i = 0; i < 2; i++)
        if (!same_set(json_object_get(expect, sets[i]), json_object_get(got, sets[i])))
            return differs(why, cap, sets[i], json_object_get(expect, sets[i]),
                           json_object_get(got, sets[i]));
    /* the echo: the version judged by, as given */
    json_t *sdk =
        null_if_absent(json_object_get(json_object_get(scenario, "request"), "sdk_version"));
    json_t *echo = json_object_get(got, "sdk_version");
    if (!echo || !json_equal(sdk, echo))
        return differs(why, cap, "sdk_version (the echo)", sdk, echo);
    json_t *er = json_object_get(expect, "repaired");
    json_t *gr = json_object_get(got, "repaired");
    if (json_object_get(got, "code")) { /* the --summary shape has no repair */
        if (gr)
            return differs(why, cap, "repaired (not in a summary)", NULL, gr);
    } else if (er) {
        const char *rf[] = {"token", "verdict", "cause"};
        if (!json_is_object(gr))
            return differs(why, cap, "repaired", er, gr);
        for (size_t i = 0; i < 3; i++)
            if (!json_equal(json_object_get(er, rf[i]), json_object_get(gr, rf[i])))
                return differs(why, cap, "repaired", er, gr);
    } else if (!gr || !json_is_null(gr)) {
        return differs(why, cap, "repaired", json_null(), gr);
    }
    return true;
}

json_t *scenario_projects(json_t *scenarios) {
    json_t *projects = json_array();
    json_t *by_app = json_object();
    size_t i;
    json_t *sc;
    json_array_foreach(scenarios, i, sc) {
        json_t *project = json_object_get(sc, "project");
        const char *app = json_string_value(json_object_get(project, "app_id"));
        if (!projects || !by_app || !json_is_object(project) || !app)
            continue;
        json_t *seen = json_object_get(by_app, app);
        if (seen && !json_equal(seen, project)) {
            fprintf(stderr, "scenario %s: App ID %s configured differently before\n",
                    json_string_value(json_object_get(sc, "id")), app);
            json_decref(projects);
            projects = NULL;
        } else if (!seen && (json_object_set(by_app, app, project) != 0 ||
                             json_array_append(projects, project) != 0)) {
            json_decref(projects);
            projects = NULL;
        }
    }
    json_decref(by_app);
    return projects;
}

bool scenario_write_batch(json_t *scenarios, const char *batch_path, const char *projects_path) {
    FILE *b = fopen(batch_path, "w");
    json_t *projects = scenario_projects(scenarios);
    bool ok = b && projects;
    size_t i;
    json_t *sc;
    json_array_foreach(scenarios, i, sc) {
        if (!ok)
            break;
        json_t *req = json_deep_copy(json_object_get(sc, "request"));
        ok = req && json_object_set(req, "id", json_object_get(sc, "id")) == 0;
        char *line = ok ? json_dumps(req, JSON_COMPACT) : NULL;
        ok = line && fprintf(b, "%s\n", line) > 0;
        free(line);
        json_decref(req);
    }
    if (b)
        ok = fclose(b) == 0 && ok;
    ok = ok && json_dump_file(projects, projects_path, JSON_INDENT(1)) == 0;
    json_decref(projects);
    return ok;
}

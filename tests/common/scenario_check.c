/* scenario_check.c -- see scenario_check.h. */
#include "scenario_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool mismatch(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool mismatch(char *why, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* Two JSON arrays of strings hold the same set. */
static bool same_set(json_t *a, json_t *b) {
    if (!json_is_array(a) || !json_is_array(b))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(b) && !found; j++)
            found = json_equal(v, json_array_get(b, j));
        if (!found)
            return false;
    }
    json_array_foreach(b, i, v) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(a) && !found; j++)
            found = json_equal(v, json_array_get(a, j));
        if (!found)
            return false;
    }
    return true;
}

static json_t *null_if_absent(json_t *v) {
    return v ? v : json_null();
}

bool scenario_matches(json_t *expect, json_t *got, char *why, size_t cap) {
    if (!json_is_object(got))
        return mismatch(why, cap, "not a JSON object");
    const char *fields[] = {"verdict", "cause", "expires_at"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = null_if_absent(json_object_get(expect, fields[i]));
        json_t *g = null_if_absent(json_object_get(got, fields[i]));
        if (!json_equal(e, g)) {
            char *es = json_dumps(e, JSON_ENCODE_ANY), *gs = json_dumps(g, JSON_ENCODE_ANY);
            mismatch(why, cap, "%s: expected %s, got %s", fields[i], es, gs);
            free(es);
            free(gs);
            return false;
        }
    }
    json_t *code = json_object_get(got, "code");
    if (!code) {
        json_t *err = json_object_get(got, "error");
        code = json_is_object(err) ? json_object_get(err, "code") : json_null();
    }
    if (!json_equal(null_if_absent(json_object_get(expect, "code")), null_if_absent(code)))
        return mismatch(why, cap, "code: expected %lld, got %lld",
                        (long long)json_integer_value(json_object_get(expect, "code")),
                        (long long)json_integer_value(code));
    const char *sets[] = {"hints", "warnings"};
    for (size_t i = 0; i < 2; i++)
        if (!same_set(json_object_get(expect, sets[i]), json_object_get(got, sets[i]))) {
            char *es = json_dumps(json_object_get(expect, sets[i]), JSON_ENCODE_ANY);
            char *gs = json_dumps(null_if_absent(json_object_get(got, sets[i])), JSON_ENCODE_ANY);
            mismatch(why, cap, "%s: expected %s, got %s", sets[i], es, gs);
            free(es);
            free(gs);
            return false;
        }
    json_t *er = json_object_get(expect, "repaired");
    json_t *gr = null_if_absent(json_object_get(got, "repaired"));
    if (er) {
        const char *rf[] = {"token", "verdict", "cause"};
        if (!json_is_object(gr))
            return mismatch(why, cap, "repaired: expected an object, got none");
        for (size_t i = 0; i < 3; i++)
            if (!json_equal(json_object_get(er, rf[i]), json_object_get(gr, rf[i])))
                return mismatch(why, cap, "repaired.%s differs", rf[i]);
    } else if (!json_is_null(gr)) {
        return mismatch(why, cap, "repaired: expected none, got one");
    }
    return true;
}

bool scenario_write_batch(json_t *scenarios, const char *batch_path, const char *projects_path) {
    FILE *b = fopen(batch_path, "w");
    json_t *projects = json_array();
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
        json_t *project = json_object_get(sc, "project");
        if (ok && !json_is_null(project))
            ok = json_array_append(projects, project) == 0;
    }
    if (b)
        ok = fclose(b) == 0 && ok;
    ok = ok && json_dump_file(projects, projects_path, JSON_INDENT(1)) == 0;
    json_decref(projects);
    return ok;
}

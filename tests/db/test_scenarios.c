/* test_scenarios.c -- a configuration read back from the store gives the same diagnosis as the
 * configuration itself, on every public scenario (shared/vectors/scenarios.jsonl).
 *
 *  1. Library: each scenario's project is put into a fresh-for-it entry of one database
 *     (delete, then put) and read back with tdb_project_get; diag_run on the original and on
 *     the stored configuration must render the same JSON.
 *  2. Command line: every project goes in with `project put` (one file, an array), then
 *     `diagnose --batch --db` and `diagnose --batch --project` over all requests must print
 *     the same lines.
 *
 * Usage: test_scenarios SHARED_DIR PATH/TO/tokendoctor
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tddb.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static json_t *load_scenarios(const char *shared) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/scenarios.jsonl", shared);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *s = json_loads(line, 0, &jerr);
        if (s) {
            json_array_append_new(all, s);
        }
    }
    free(line);
    fclose(f);
    return all;
}

static json_t *diagnose_json(td_ctx *ctx, json_t *request, const diag_project *p) {
    diag_request req;
    char err[256];
    if (!diag_request_from_json(request, 0, &req, err, sizeof err)) {
        return json_pack("{s:s}", "bad_request", err);
    }
    diag_result *r = malloc(sizeof *r);
    diag_run(ctx, &req, p, NULL, r);
    json_t *out = diag_result_to_json(r);
    free(r);
    return out;
}

static void library_round_trip(json_t *scenarios, const char *dir) {
    char db_path[600];
    snprintf(db_path, sizeof db_path, "%s/lib.db", dir);
    char err[600];
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    CHECK(db != NULL, "%s", err);
    td_ctx *ctx = td_ctx_new();
    if (!db || !ctx) {
        exit(1);
    }
    diag_project *orig = malloc(sizeof *orig), *stored = malloc(sizeof *stored);
    size_t i, compared = 0;
    json_t *s;
    json_array_foreach(scenarios, i, s) {
        const char *id = json_string_value(json_object_get(s, "id"));
        json_t *project = json_object_get(s, "project");
        if (!json_is_object(project)) {
            continue;
        }
        if (!diag_project_from_json(project, orig, err, sizeof err)) {
            CHECK(false, "%s: project does not parse: %s", id, err);
            continue;
        }
        tdb_status st = tdb_project_delete(db, orig->app_id, "test");
        CHECK(st == TDB_OK || st == TDB_NOT_FOUND, "%s: delete: %s", id, tdb_errmsg(db));
        CHECK(tdb_project_put(db, orig, "test", NULL) == TDB_OK, "%s: put: %s", id, tdb_errmsg(db));
        CHECK(tdb_project_get(db, orig->app_id, stored) == TDB_OK, "%s: get: %s", id,
              tdb_errmsg(db));
        json_t *request = json_object_get(s, "request");
        json_t *a = diagnose_json(ctx, request, orig), *b = diagnose_json(ctx, request, stored);
        CHECK(a && b && json_equal(a, b), "%s: stored configuration diagnoses differently", id);
        json_decref(a);
        json_decref(b);
        compared++;
    }
    CHECK(compared > 300, "only %zu scenarios with a project", compared);
    printf("library: %zu scenarios round-tripped\n", compared);
    free(orig);
    free(stored);
    td_ctx_free(ctx);
    tdb_close(db);
}

static bool write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    return f && fclose(f) == 0 && ok;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
            }
            buf = grown;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
    }
    return buf;
}

static int run(const char *cmd) {
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void cli_agreement(json_t *scenarios, const char *dir, const char *td) {
    char projects[600], batch[600], db[600], out_db[600], out_file[600], cmd[4096];
    snprintf(projects, sizeof projects, "%s/projects.json", dir);
    snprintf(batch, sizeof batch, "%s/batch.jsonl", dir);
    snprintf(db, sizeof db, "%s/cli.db", dir);
    snprintf(out_db, sizeof out_db, "%s/out-db.jsonl", dir);
    snprintf(out_file, sizeof out_file, "%s/out-file.jsonl", dir);

    json_t *list = json_array();
    FILE *f = fopen(batch, "w");
    size_t i;
    json_t *s;
    json_array_foreach(scenarios, i, s) {
        json_t *project = json_object_get(s, "project");
        if (json_is_object(project)) {
            json_array_append(list, project);
        }
        json_t *req = json_deep_copy(json_object_get(s, "request"));
        json_object_set(req, "id", json_object_get(s, "id"));
        char *line = json_dumps(req, JSON_COMPACT);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(req);
    }
    fclose(f);
    char *text = json_dumps(list, JSON_INDENT(1));
    CHECK(write_text(projects, text), "cannot write %s", projects);
    free(text);
    json_decref(list);

    snprintf(cmd, sizeof cmd, "'%s' project put --file '%s' --db '%s' --json >/dev/null", td,
             projects, db);
    CHECK(run(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s' diagnose --batch '%s' --db '%s' >'%s'", td, batch, db, out_db);
    CHECK(run(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s' diagnose --batch '%s' --project '%s' >'%s'", td, batch,
             projects, out_file);
    CHECK(run(cmd) == 0, "%s", cmd);
    char *a = read_text(out_db), *b = read_text(out_file);
    CHECK(a && b && strlen(a) > 0, "no diagnosis output");
    if (a && b) {
        /* Line by line, to name the first scenario that differs. */
        char *sa = NULL, *sb = NULL;
        char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb);
        size_t n = 0;
        while (la && lb) {
            CHECK(strcmp(la, lb) == 0, "line %zu differs:\n  --db      %s\n  --project %s", n + 1,
                  la, lb);
            la = strtok_r(NULL, "\n", &sa);
            lb = strtok_r(NULL, "\n", &sb);
            n++;
        }
        CHECK(!la && !lb, "different line counts");
        CHECK(n == json_array_size(scenarios), "%zu lines for %zu scenarios", n,
              json_array_size(scenarios));
        printf("cli: %zu diagnoses agree between --db and --project\n", n);
    }
    free(a);
    free(b);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_scenarios SHARED_DIR PATH/TO/tokendoctor\n");
        return 2;
    }
    unsetenv(TDB_ENV_PATH);
    unsetenv(TDB_ENV_KEY_FILE);
    char dir[] = "/tmp/tddb-scenarios-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    json_t *scenarios = load_scenarios(argv[1]);
    CHECK(json_array_size(scenarios) >= 400, "%zu scenarios", json_array_size(scenarios));
    library_round_trip(scenarios, dir);
    cli_agreement(scenarios, dir, argv[2]);
    json_decref(scenarios);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", dir);
    }
    printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}

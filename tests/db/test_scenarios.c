/* test_scenarios.c -- a configuration read back from the store gives the same diagnosis as the
 * configuration itself, on every public scenario (v2/scenarios.jsonl and v2/sdk.jsonl).
 *
 *  1. Library: each scenario's project is put into a fresh-for-it entry of one database
 *     (delete, then put) and read back with tdb_project_get; diag_run on the original and on
 *     the stored configuration must render the same JSON.
 *  2. Command line: every project goes in with `project put` (one file, an array), then
 *     `diagnose --batch --db` and `diagnose --batch --project` over all requests must print
 *     the same lines (bad requests: the same error lines).
 *
 * Usage: test_scenarios VECTORS_DIR PATH/TO/tokendoctor
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scenario_check.h"
#include "tddb.h"
#include "tddiag.h"
#include "testutil.h"

static json_t *diagnose_json(td_ctx *ctx, json_t *request, const diag_project *p) {
    diag_request req;
    char err[256];
    if (!diag_request_from_json(request, 0, &req, err, sizeof err))
        return json_pack("{s:s}", "bad_request", err);
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
    if (!db || !ctx)
        exit(1);
    diag_project *orig = malloc(sizeof *orig), *stored = malloc(sizeof *stored);
    size_t i, compared = 0;
    json_t *s;
    json_array_foreach(scenarios, i, s) {
        const char *id = json_string_value(json_object_get(s, "id"));
        json_t *project = json_object_get(s, "project");
        if (!json_is_object(project))
            continue;
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

/* Runs the tokendoctor at argv[0] with standard output into out_path; its exit status (its
 * standard error is kept in DIR/stderr.txt and shown when it fails). */
static int run(const char *const *argv, const char *dir, const char *out_path) {
    char err_path[600];
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    int status = tu_wait(tu_spawn(argv, NULL, out_path, err_path));
    if (status != 0) {
        char *err = tu_read_file(err_path, NULL);
        fprintf(stderr, "%s %s: exit %d: %s\n", argv[0], argv[1], status, err ? err : "");
        free(err);
    }
    return status;
}

static void cli_agreement(json_t *scenarios, const char *dir, const char *td) {
    char projects[600], batch[600], db[600], out_db[600], out_file[600];
    snprintf(projects, sizeof projects, "%s/projects.json", dir);
    snprintf(batch, sizeof batch, "%s/batch.jsonl", dir);
    snprintf(db, sizeof db, "%s/cli.db", dir);
    snprintf(out_db, sizeof out_db, "%s/out-db.jsonl", dir);
    snprintf(out_file, sizeof out_file, "%s/out-file.jsonl", dir);

    CHECK(scenario_write_batch(scenarios, batch, projects), "cannot write %s or %s", batch,
          projects);

    const char *put[] = {td, "project", "put", "--file", projects, "--db", db, "--json", NULL};
    CHECK(run(put, dir, "/dev/null") == 0, "project put --file %s", projects);
    const char *by_db[] = {td, "diagnose", "--batch", batch, "--db", db, NULL};
    CHECK(run(by_db, dir, out_db) == 0, "diagnose --batch --db");
    const char *by_file[] = {td, "diagnose", "--batch", batch, "--project", projects, NULL};
    CHECK(run(by_file, dir, out_file) == 0, "diagnose --batch --project");
    char *a = tu_read_file(out_db, NULL), *b = tu_read_file(out_file, NULL);
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
        fprintf(stderr, "usage: test_scenarios VECTORS_DIR PATH/TO/tokendoctor\n");
        return 2;
    }
    unsetenv(TDB_ENV_PATH);
    unsetenv(TDB_ENV_KEY_FILE);
    json_t *scenarios = scenario_load(argv[1]);
    if (!scenarios)
        return 2;
    char dir[256];
    if (!tu_mkdtemp(dir, sizeof dir, "tddb-scenarios")) {
        perror("mkdtemp");
        return 2;
    }
    library_round_trip(scenarios, dir);
    cli_agreement(scenarios, dir, argv[2]);
    json_decref(scenarios);
    if (!tu_rmtree(dir))
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return tu_report("db_scenarios");
}

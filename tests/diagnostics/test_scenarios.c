/* test_scenarios.c -- every public scenario (v2/scenarios.jsonl and v2/sdk.jsonl) through the
 * library.
 *
 * Each scenario's request is parsed with diag_request_from_json. A bad_request scenario must be
 * refused there, with a message naming the field. Any other is diagnosed: its project (when not
 * null) parsed with diag_project_from_json and passed when its App ID is the request's project
 * key (diag_request_project_key), as a lookup by App ID would -- some scenarios use a malformed
 * App ID with a project on file --, the diagnosis run with diag_run, rendered with
 * diag_result_to_json and compared with `expect` and the sdk_version echo (scenario_check.c).
 * Each scenario is also run with skip_details, which must not change the outcome.
 *
 * usage: test_scenarios VECTORS_DIR
 */
#include "scenario_check.h"
#include "tddiag.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scenario's project when a lookup by the request's project key finds it, else NULL. */
static const diag_project *lookup(json_t *sc, const diag_request *req, diag_project *proj,
                                  bool *bad) {
    json_t *pj = json_object_get(sc, "project");
    char err[256];
    *bad = false;
    if (json_is_null(pj))
        return NULL;
    if (!diag_project_from_json(pj, proj, err, sizeof err)) {
        printf("FAIL %s: project rejected: %s\n", json_string_value(json_object_get(sc, "id")),
               err);
        *bad = true;
        return NULL;
    }
    const char *key;
    size_t key_len;
    diag_request_project_key(req, &key, &key_len);
    return strlen(proj->app_id) == key_len && memcmp(proj->app_id, key, key_len) == 0 ? proj : NULL;
}

/* One scenario that is not a bad request: true when both paths give its expect. */
static bool run_one(td_ctx *ctx, json_t *sc, const diag_request *req, const diag_project *pp,
                    diag_result *r, diag_result *fast) {
    const char *id = json_string_value(json_object_get(sc, "id"));
    char why[512];
    diag_run(ctx, req, pp, NULL, r);
    json_t *got = diag_result_to_json(r);
    bool ok = scenario_matches(sc, got, why, sizeof why);
    if (!ok)
        printf("FAIL %s (%s, %s): %s\n", id, json_string_value(json_object_get(sc, "mutation")),
               json_string_value(json_object_get(sc, "version")), why);
    json_decref(got);
    /* The fast path must agree: its summary on everything but the repair (the summary has no
     * "repaired"), the repair on the result itself. */
    diag_options opts = {.skip_details = true};
    diag_run(ctx, req, pp, &opts, fast);
    json_t *got_fast = diag_result_to_summary_json(fast);
    if (ok && !scenario_matches(sc, got_fast, why, sizeof why)) {
        printf("FAIL %s (skip_details): %s\n", id, why);
        ok = false;
    }
    json_decref(got_fast);
    if (ok && (fast->has_repaired != r->has_repaired ||
               (r->has_repaired && (strcmp(fast->repaired_token, r->repaired_token) != 0 ||
                                    fast->repaired_verdict != r->repaired_verdict ||
                                    fast->repaired_cause != r->repaired_cause)))) {
        printf("FAIL %s (skip_details): the repair differs\n", id);
        ok = false;
    }
    for (int i = 0; ok && i < DIAG_CHECK_COUNT; i++)
        if (fast->checks[i].detail[0] != '\0') {
            printf("FAIL %s: skip_details produced a detail (%s)\n", id, fast->checks[i].id);
            ok = false;
        }
    return ok;
}

int main(int argc, char **argv) {
    const char *vectors = tu_vectors_dir(argc, argv);
    json_t *scenarios = scenario_load(vectors);
    if (!scenarios)
        return 2;
    td_ctx *ctx = td_ctx_new();
    diag_result *r = malloc(sizeof *r);
    diag_result *fast = malloc(sizeof *fast);
    if (!ctx || !r || !fast)
        return 2;
    int total = 0, failed = 0, refused = 0;
    size_t index;
    json_t *sc;
    json_array_foreach(scenarios, index, sc) {
        total++;
        const char *id = json_string_value(json_object_get(sc, "id"));
        char err[256], why[512];
        diag_request req;
        if (!diag_request_from_json(json_object_get(sc, "request"), 0, &req, err, sizeof err)) {
            /* judged as the front ends answer a bad request */
            json_t *answer = diag_error_json("bad_request", err);
            bool ok = scenario_matches(sc, answer, why, sizeof why);
            json_decref(answer);
            if (!ok)
                printf("FAIL %s: %s\n", id, why);
            failed += !ok;
            refused += ok;
            continue;
        }
        if (scenario_is_bad_request(sc)) {
            printf("FAIL %s: a bad request (%s) was accepted\n", id,
                   json_string_value(json_object_get(sc, "mutation")));
            failed++;
            continue;
        }
        diag_project proj;
        bool bad_project;
        const diag_project *pp = lookup(sc, &req, &proj, &bad_project);
        failed += bad_project || !run_one(ctx, sc, &req, pp, r, fast);
    }
    json_decref(scenarios);
    free(r);
    free(fast);
    td_ctx_free(ctx);
    printf("%d/%d scenarios pass (%d refused as bad requests)\n", total - failed, total, refused);
    return failed == 0 ? 0 : 1;
}

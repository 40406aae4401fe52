/* test_scenarios.c -- every line of shared/vectors/scenarios.jsonl through the library.
 *
 * Each scenario's request is parsed with diag_request_from_json, its project (when not null)
 * with diag_project_from_json, the diagnosis run with diag_run and rendered with
 * diag_result_to_json, and the rendering compared with `expect` (scenario_check.c). The project
 * is passed only when its App ID is exactly the request's, as a lookup by App ID would (some
 * scenarios use a malformed App ID with a project on file). Each scenario is also run with
 * skip_details, which must not change the outcome.
 *
 * usage: test_scenarios SHARED_DIR
 */
#include "scenario_check.h"
#include "tddiag.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SHARED_DIR\n", argv[0]);
        return 2;
    }
    json_t *scenarios = tu_load_jsonl(argv[1], "vectors/scenarios.jsonl");
    if (!scenarios)
        return 2;
    td_ctx *ctx = td_ctx_new();
    diag_result *r = malloc(sizeof *r);
    diag_result *fast = malloc(sizeof *fast);
    if (!ctx || !r || !fast)
        return 2;
    int total = 0, failed = 0;
    size_t index;
    json_t *sc;
    json_array_foreach(scenarios, index, sc) {
        total++;
        const char *id = json_string_value(json_object_get(sc, "id"));
        char err[256], why[512];
        diag_request req;
        if (!diag_request_from_json(json_object_get(sc, "request"), 0, &req, err, sizeof err)) {
            printf("FAIL %s: request rejected: %s\n", id, err);
            failed++;
            continue;
        }
        diag_project proj, *pp = NULL;
        json_t *pj = json_object_get(sc, "project");
        if (!json_is_null(pj)) {
            if (!diag_project_from_json(pj, &proj, err, sizeof err)) {
                printf("FAIL %s: project rejected: %s\n", id, err);
                failed++;
                continue;
            }
            if (strlen(proj.app_id) == req.app_id_len &&
                memcmp(proj.app_id, req.app_id, req.app_id_len) == 0)
                pp = &proj;
        }
        diag_run(ctx, &req, pp, NULL, r);
        json_t *got = diag_result_to_json(r);
        json_t *expect = json_object_get(sc, "expect");
        bool ok = scenario_matches(expect, got, why, sizeof why);
        if (!ok)
            printf("FAIL %s (%s, %s): %s\n", id, json_string_value(json_object_get(sc, "mutation")),
                   json_string_value(json_object_get(sc, "version")), why);
        /* The fast path must agree: its summary on everything but the repair (the summary has
         * no "repaired"), the repair on the result itself. */
        diag_options opts = {.skip_details = true};
        diag_run(ctx, &req, pp, &opts, fast);
        json_t *got_fast = diag_result_to_summary_json(fast);
        json_t *expect_fast = json_copy(expect);
        json_object_del(expect_fast, "repaired");
        if (ok && !scenario_matches(expect_fast, got_fast, why, sizeof why)) {
            printf("FAIL %s (skip_details): %s\n", id, why);
            ok = false;
        }
        json_decref(expect_fast);
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
        failed += !ok;
        json_decref(got);
        json_decref(got_fast);
    }
    json_decref(scenarios);
    free(r);
    free(fast);
    td_ctx_free(ctx);
    printf("%d/%d scenarios pass\n", total - failed, total);
    return failed == 0 && total == 400 ? 0 : 1;
}

/* test_noalloc.c -- diag_run performs no heap allocation (issue 6 depends on it).
 *
 * The test is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc so that every call
 * from the statically linked modules (tddiag, tdcore) goes through the counters below. It runs
 * every public scenario (v2/scenarios.jsonl and v2/sdk.jsonl: all causes, hints, repairs, both
 * versions, every SDK rule) that is not a bad request through diag_run, with and without
 * details, and asserts that the counters did not move during any call. (Allocations inside shared
 * libraries -- zlib, mbedTLS -- are not seen here; core keeps their state in the td_ctx for that
 * reason.)
 *
 * usage: test_noalloc VECTORS_DIR
 */
#include "alloc_count.h"
#include "scenario_check.h"
#include "tddiag.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The targets of -Wl,--wrap: every allocation of the static modules, counted. */
TU_COUNTING_ALLOCATORS(__wrap_, __real_)

int main(int argc, char **argv) {
    const char *vectors = tu_vectors_dir(argc, argv);
    json_t *scenarios = scenario_load(vectors);
    td_ctx *ctx = td_ctx_new();
    diag_result *r = malloc(sizeof *r);
    if (!scenarios || !ctx || !r)
        return 2;
    int runs = 0, bad = 0;
    size_t index;
    json_t *sc;
    json_array_foreach(scenarios, index, sc) {
        diag_request req;
        diag_project proj;
        char err[256];
        if (scenario_is_bad_request(sc))
            continue; /* refused before any diagnosis (test_scenarios checks that) */
        if (!diag_request_from_json(json_object_get(sc, "request"), 0, &req, err, sizeof err)) {
            printf("FAIL %s: request refused: %s\n", json_string_value(json_object_get(sc, "id")),
                   err);
            return 1;
        }
        json_t *pj = json_object_get(sc, "project");
        bool known = !json_is_null(pj) && diag_project_from_json(pj, &proj, err, sizeof err);
        for (int details = 0; details < 2; details++) {
            diag_options o = {.skip_details = !details};
            unsigned long before = allocations;
            diag_run(ctx, &req, known ? &proj : NULL, &o, r);
            runs++;
            if (allocations != before) {
                bad++;
                printf("FAIL %s: diag_run allocated %lu times\n",
                       json_string_value(json_object_get(sc, "id")), allocations - before);
            }
        }
    }
    json_decref(scenarios);
    free(r);
    td_ctx_free(ctx);
    /* The counters must work, or this test proves nothing. */
    unsigned long before = allocations;
    void *volatile probe = malloc(16); /* volatile: keep the compiler from eliding the pair */
    free(probe);
    if (allocations == before) {
        printf("FAIL the allocation counter does not count\n");
        return 1;
    }
    printf("%d/%d diag_run calls without allocation\n", runs - bad, runs);
    return bad ? 1 : 0;
}

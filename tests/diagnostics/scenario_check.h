/* scenario_check.h -- compares a diagnosis (as JSON) with a scenario's `expect`.
 *
 * Shared by the library test (test_scenarios) and the CLI batch test (test_batch) so that both
 * judge exactly the same fields: verdict, cause, code (for the request's platform; null when
 * none), hints and warnings as sets, expires_at, and repaired {token, verdict, cause} when the
 * scenario has one (and absent/null otherwise). A diagnosis may be the full shape (code in
 * error.code) or the --summary shape (code at the top).
 */
#ifndef SCENARIO_CHECK_H
#define SCENARIO_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns true when got matches expect; otherwise false with a description in why. */
bool scenario_matches(json_t *expect, json_t *got, char *why, size_t why_cap);

#endif

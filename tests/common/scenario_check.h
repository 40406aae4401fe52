/* scenario_check.h -- compares a diagnosis (as JSON) with a scenario's `expect`.
 *
 * Shared by every test that runs the public scenarios -- the library (diagnostics/
 * test_scenarios), the CLI batch (test_cli_diagnose) and the HTTP service (server_test) -- so
 * that all judge exactly the same fields: verdict, cause, code (for the request's platform; null
 * when none), hints and warnings as sets, expires_at, and repaired {token, verdict, cause} when the
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

/* Writes the scenarios as `diagnose --batch` input: every request, with the scenario's id, one
 * JSON line each into batch_path, and every project that is not null into one JSON array at
 * projects_path (for --project, or `project put --file`). false when a file cannot be written. */
bool scenario_write_batch(json_t *scenarios, const char *batch_path, const char *projects_path);

#endif

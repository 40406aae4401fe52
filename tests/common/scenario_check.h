/* scenario_check.h -- the public scenarios, and the one judge of an answer to them.
 *
 * The scenarios are the contract's v2 vectors (docs/spec/diagnosis.md "Scenarios"):
 * v2/scenarios.jsonl and v2/sdk.jsonl under a vectors directory (tests/vectors, the repository's
 * copy, or a shared copy with extra cases). Each line holds an id, a mutation, a version, the
 * request, the project (null when unknown) and `expect`: either a diagnosis -- verdict, cause,
 * code (for the request's platform; null when none), hints and warnings as sets, expires_at, and
 * repaired {token, verdict, cause} where one applies -- or {"bad_request": true}: the request
 * must be refused.
 *
 * Shared by every test that runs them -- the library (diagnostics/test_scenarios), the CLI
 * (test_cli_diagnose: batch and single), the store (db/test_scenarios) and the HTTP service
 * (server_test) -- so that all judge exactly the same fields.
 */
#ifndef SCENARIO_CHECK_H
#define SCENARIO_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Every scenario of v2/scenarios.jsonl then v2/sdk.jsonl under vectors_dir, in file order, as
 * one array. NULL, with the reason on stderr, when a file cannot be read, a line is not a
 * scenario (string id, request and expect objects, project an object or null) or a file holds
 * fewer cases than the repository's copy (620 and 199): missing vectors fail a test, never skip
 * it. */
json_t *scenario_load(const char *vectors_dir);

/* True when the scenario's expect is {"bad_request": true}. */
bool scenario_is_bad_request(json_t *scenario);

/* The field a refused scenario's error message must start with ("sdk_version" for the
 * bad_sdk_version mutation), or NULL when the vectors do not say which. */
const char *scenario_bad_field(json_t *scenario);

/* Judges got, the answer to the scenario's request, against its expect. An answer is one of:
 *  - the full diagnosis of interfaces.md: the code is error.code, and error is null unless the
 *    verdict is rejected; a rejection's error always has a name, also where its code is null
 *    (web channel_name_invalid: INVALID_PARAMS);
 *  - the --summary shape: the code at the top;
 *  - an error object {"error": {"code": "bad_request", "message": "..."}} (a batch line with
 *    its "id", or an HTTP 400 body), right only for a bad_request scenario; its message starts
 *    with the field scenario_bad_field names ("sdk_version: ..."; a batch line's after its
 *    "line N: ").
 * A diagnosis must echo the request's sdk_version: the string as given, or null when the
 * request has none. Returns true when got is right; otherwise false with a description in why. */
bool scenario_matches(json_t *scenario, json_t *got, char *why, size_t why_cap);

/* The projects of the scenarios, one per App ID, in first-seen order (the scenarios of sdk.jsonl
 * repeat those of scenarios.jsonl). New reference; NULL when two scenarios configure one App ID
 * differently (then no single store can hold them all). */
json_t *scenario_projects(json_t *scenarios);

/* Writes the scenarios as `diagnose --batch` input: every request, with the scenario's id, one
 * JSON line each into batch_path, and scenario_projects() as one JSON array at projects_path (for
 * --project, or `project put --file`). false when a file cannot be written. */
bool scenario_write_batch(json_t *scenarios, const char *batch_path, const char *projects_path);

#endif

/* oracle_json.h -- the diagnosis, its --summary subset and the decoded token as jansson trees:
 * the test oracle of the direct writers (diag_result_json_append, diag_result_summary_append,
 * the token writer behind diag_token_to_json). See oracle_json.c.
 */
#ifndef TD_ORACLE_JSON_H
#define TD_ORACLE_JSON_H

#include <jansson.h>

#include "tddiag.h"

/* The "Diagnosis" document of docs/spec/interfaces.md, built node by node. New reference. */
json_t *oracle_result_to_json(const diag_result *r);
/* The --summary subset: verdict, cause, code, hints, warnings, expires_at, sdk_version. */
json_t *oracle_result_to_summary_json(const diag_result *r);
/* The "Decoded token" object (with the derived expires_at times). New reference. */
json_t *oracle_token_to_json(const td_token *tok);

#endif /* TD_ORACLE_JSON_H */

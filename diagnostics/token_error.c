/* token_error.c -- the answer for token text that does not decode.
 *
 * `decode --json` and POST /v1/decode (422) give the same error object, with the same hints a
 * diagnosis would give for token_malformed, so that a support engineer hears the same reason
 * from every front end: {"error": {"code": "token_malformed", "message": "...", "hints": [...]}}.
 * Empty text is "the token is empty", without hints: the decoder calls it an unknown version,
 * which is true but sends the reader looking at a prefix that is not there.
 */
#include "tddiag.h"

json_t *diag_token_error_json(const char *token, size_t len, td_status st) {
    if (len == 0) { /* nothing to read a version from: say so, not "unknown version" */
        json_t *doc = diag_error_json("token_malformed", "the token is empty");
        json_object_set_new(json_object_get(doc, "error"), "hints", json_array());
        return doc;
    }
    uint32_t mask = diag_token_hints(token, len, st);
    json_t *hints = json_array();
    const char *first = NULL;
    for (int h = 0; h < DIAG_HINT_COUNT; h++) {
        if (!(mask & (1u << h)))
            continue;
        if (!first)
            first = diag_hint_text((diag_hint)h);
        json_array_append_new(hints, json_string(diag_hint_name((diag_hint)h)));
    }
    json_t *doc = diag_error_json("token_malformed", first ? first : "the token does not decode");
    json_object_set_new(json_object_get(doc, "error"), "hints", hints);
    return doc;
}

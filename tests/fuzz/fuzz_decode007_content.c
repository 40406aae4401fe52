/* fuzz_decode007_content.c -- libFuzzer target: arbitrary bytes as inflated 007 content.
 *
 * Base64 and zlib stand between td_decode and the 007 structure parser and make most mutations
 * die early; td_parse007_content feeds the parser directly (every count, length and service
 * layout), then verifies and renders what it parsed. Seeds: the inflated contents of the vector
 * tokens (fuzz_seed_content).
 */
#include <jansson.h>
#include <stdlib.h>

#include "fuzz_ctx.h"
#include "oracle_json.h"
#include "tdcore.h"
#include "tddiag.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static const char cert[] = "0123456789abcdef0123456789abcdef";
    td_status st = td_parse007_content((const char *)data, size, &fuzz_tok);
    if (st > TD_ERR_CORRUPTED)
        abort();
    if (st != TD_OK)
        return 0;
    (void)td_verify007(fuzz_ctx, &fuzz_tok, cert, 32);
    json_t *doc = oracle_token_to_json(&fuzz_tok);
    if (!doc)
        abort();
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        abort(); /* every string must have been made valid UTF-8 */
    free(text);
    json_decref(doc);
    return 0;
}

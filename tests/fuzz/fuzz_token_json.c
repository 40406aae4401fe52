/* fuzz_token_json.c -- libFuzzer target: decode, then render as JSON and as text.
 *
 * Input starting with "00" is token text (td_decode); anything else is raw 007 content, so the
 * renderers see both versions and every shape the parser accepts: binary and invalid UTF-8
 * strings, unknown services, rtm2 permissions, extreme times. The tree-built oracle must always
 * serialise (jansson refuses invalid UTF-8, so a NULL here is a renderer bug), the direct writer
 * must give exactly its bytes, and they must parse back; the text printer writes to /dev/null.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CTX_OWN_INITIALIZE
#include "fuzz_ctx.h"
#include "oracle_json.h"
#include "tdcore.h"
#include "tddiag.h"

static FILE *fuzz_null;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_null = fopen("/dev/null", "w");
    return fuzz_ctx_init() == 0 && fuzz_null ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    td_status st;
    if (size >= 2 && data[0] == '0' && data[1] == '0')
        st = td_decode(fuzz_ctx, (const char *)data, size, &fuzz_tok);
    else
        st = td_parse007_content((const char *)data, size, &fuzz_tok);
    if (st != TD_OK)
        return 0;
    json_t *doc = oracle_token_to_json(&fuzz_tok);
    if (!doc)
        abort();
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        abort();
    td_buf buf;
    td_buf_init(&buf, 1 << 24);
    if (!diag_token_json_append(&buf, &fuzz_tok) || buf.len != strlen(text) ||
        memcmp(buf.p, text, buf.len) != 0)
        abort(); /* the writer must give the oracle's bytes */
    td_buf_free(&buf);
    json_t *back = diag_token_to_json(&fuzz_tok); /* the writer's bytes parse back */
    if (!back)
        abort();
    json_decref(back);
    free(text);
    json_decref(doc);
    diag_token_print(fuzz_null, &fuzz_tok, 1700000000);
    return 0;
}

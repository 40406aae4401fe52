/* fuzz_decode.c -- libFuzzer target: arbitrary bytes as token text.
 *
 * Everything a client can send goes through td_decode; a decoded token is then verified as both
 * versions (with and without channel/uid text) and rebuilt with td_build007 / td_build006 from
 * its own fields, which drives the builders with odd but well-formed specs. The properties checked
 * besides "no crash, no sanitizer report": a status is always one of the documented kinds, and
 * a rebuilt token that fits TD_TOKEN_TEXT_MAX decodes again and verifies with the certificate
 * (and channel/uid) it was built with. The td_ctx is created once (libFuzzer's init hook), as a
 * server thread would keep it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_ctx.h"
#include "tdcore.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static const char cert[] = "0123456789abcdef0123456789abcdef";
    static char out[TD_TOKEN_TEXT_MAX * 8];
    td_status st = td_decode(fuzz_ctx, (const char *)data, size, &fuzz_tok);
    if (st > TD_ERR_CORRUPTED)
        abort();
    if (st != TD_OK)
        return 0;
    (void)td_verify007(fuzz_ctx, &fuzz_tok, cert, 32);
    (void)td_verify006(fuzz_ctx, &fuzz_tok, cert, 32, "chan", 4, "", 0);
    (void)td_token_expiry(&fuzz_tok);
    static td_token again;
    if (strcmp(fuzz_tok.version, "007") == 0) {
        size_t n = td_build007(fuzz_ctx, &fuzz_tok, cert, 32, out, sizeof out);
        if (n > 0 && n != strlen(out))
            abort();
        if (n > 0 && n <= TD_TOKEN_TEXT_MAX &&
            (td_decode(fuzz_ctx, out, n, &again) != TD_OK ||
             !td_verify007(fuzz_ctx, &again, cert, 32)))
            abort();
    } else {
        size_t n = td_build006(fuzz_ctx, &fuzz_tok, cert, 32, "chan", 4, "7", 1, out, sizeof out);
        if (n > 0 && n != strlen(out))
            abort();
        if (n > 0 && n <= TD_TOKEN_TEXT_MAX &&
            (td_decode(fuzz_ctx, out, n, &again) != TD_OK ||
             !td_verify006(fuzz_ctx, &again, cert, 32, "chan", 4, "7", 1)))
            abort();
    }
    return 0;
}

/* fuzz_seed_content.c -- turns token lines (stdin) into files of inflated 007 content in DIR,
 * seeds for fuzz_decode007_content. Lines that do not decode as 007 are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdcore.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR < tokens\n", argv[0]);
        return 2;
    }
    td_ctx *ctx = td_ctx_new();
    td_token *tok = malloc(sizeof *tok);
    static char line[1 << 16];
    int n = 0;
    while (ctx && tok && fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\r\n");
        if (td_decode(ctx, line, len, tok) != TD_OK || strcmp(tok->version, "007") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/content_%04d", argv[1], n++);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(tok->content, 1, tok->content_len, f) != tok->content_len) {
            perror(path);
            return 1;
        }
        fclose(f);
    }
    free(tok);
    td_ctx_free(ctx);
    printf("%d content seeds\n", n);
    return 0;
}

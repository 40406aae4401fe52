/* srv_json.c -- the worker's reply buffer, and jansson documents dumped into it.
 *
 * Diagnoses, the hot path, never come here as a tree: diag_result_json_append() writes them
 * straight into the buffer (see diagnostics/render.c and docs/performance.md). Every other
 * document the service answers with (projects, the catalog, errors, a decoded token, batch
 * error items) is small or rare, so it is built with jansson and dumped with json_dumpb into the
 * buffer's free space, growing it and dumping again in the rare case it did not fit.
 */
#include "srv_internal.h"

#include <stdlib.h>
#include <string.h>

#define SRV_JSON_FLAGS                                                                             \
    (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) /* ids may be scalars */

static bool srv_buf_reserve(srv_buf *b, size_t more) {
    if (b->len + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

bool srv_buf_append(srv_buf *b, const char *s, size_t n) {
    if (!srv_buf_reserve(b, n))
        return false;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

bool srv_json_append(srv_buf *b, const json_t *v) {
    if (!srv_buf_reserve(b, 1024))
        return false;
    size_t need = json_dumpb(v, b->p + b->len, b->cap - b->len, SRV_JSON_FLAGS);
    if (need == 0)
        return false; /* not serialisable (never for documents built here) */
    if (need > b->cap - b->len) {
        if (!srv_buf_reserve(b, need))
            return false;
        need = json_dumpb(v, b->p + b->len, b->cap - b->len, SRV_JSON_FLAGS);
        if (need == 0)
            return false;
    }
    b->len += need;
    return true;
}

bool srv_json_write(srv_buf *b, const json_t *v) {
    b->len = 0;
    return srv_json_append(b, v);
}

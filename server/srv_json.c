/* srv_json.c -- the worker's reply buffer, and jansson documents dumped into it.
 *
 * Diagnoses, the hot path, never come here as a tree: diag_result_json_append() writes them
 * straight into the buffer (see diagnostics/render.c and docs/performance.md). Every other
 * document the service answers with (projects, the catalog, errors, a decoded token, batch
 * error items) is small or rare, so it is built with jansson and dumped with json_dumpb into the
 * buffer's free space, growing it and dumping again in the rare case it did not fit. The buffer
 * is core's td_buf: its cap (SRV_REPLY_MAX) bounds what one answer may take.
 */
#include "srv_internal.h"

#define SRV_JSON_FLAGS                                                                             \
    (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) /* ids may be scalars */

/* json_dumpb into all the free space (at least 1 KiB), which is grown and dumped into again in
 * the rare case the document did not fit. */
bool srv_json_append(td_buf *b, const json_t *v) {
    char *o = td_buf_space(b, 1024);
    if (!o)
        return false;
    size_t room = b->cap - b->len - 1; /* td_buf keeps one byte for its NUL */
    size_t need = json_dumpb(v, o, room, SRV_JSON_FLAGS);
    if (need == 0)
        return false; /* not serialisable (never for documents built here) */
    if (need > room) {
        o = td_buf_space(b, need);
        if (!o)
            return false;
        need = json_dumpb(v, o, need, SRV_JSON_FLAGS);
        if (need == 0)
            return false;
    }
    td_buf_commit(b, need);
    return true;
}

bool srv_json_write(td_buf *b, const json_t *v) {
    td_buf_reset(b);
    return srv_json_append(b, v);
}

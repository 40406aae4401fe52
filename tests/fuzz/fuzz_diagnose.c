/* fuzz_diagnose.c -- libFuzzer target: a request as a client sends it, diagnosed end to end.
 *
 * The input is the JSON body of POST /v1/diagnose (one line of `diagnose --batch`). It is parsed
 * and validated (diag_request_from_json), diagnosed against a project that has the request's own
 * App ID (its project key: trimmed when that makes it 32 hex characters) -- so the certificate
 * rules run, not only "project unknown" -- in one of four
 * certificate set-ups chosen by the input's length, and rendered every way the front ends do.
 * One input in eight gets the project with its App ID's letters in the other case, as the store
 * finds it whatever the case (the diagnosis then names it in its details).
 * Two invariants beyond "no crash": the hand-written diagnosis writer must produce exactly the
 * bytes of jansson's dump of the tree, and the tree must serialise at all.
 */
#include <ctype.h>
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
static diag_result *fuzz_result;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_null = fopen("/dev/null", "w");
    fuzz_result = malloc(sizeof *fuzz_result);
    return fuzz_ctx_init() == 0 && fuzz_null && fuzz_result ? 0 : 1;
}

/* A test project for app_id (not a real certificate: fixed test values). */
static void fuzz_project(diag_project *p, const char *app_id, size_t len, size_t variant) {
    memset(p, 0, sizeof *p);
    memcpy(p->app_id, app_id, len);
    strcpy(p->primary.certificate, "0123456789abcdef0123456789abcdef");
    strcpy(p->secondary.certificate, "fedcba9876543210fedcba9876543210");
    p->primary.present = true;
    p->primary.enabled = variant != 1;
    p->secondary.present = variant >= 2;
    p->secondary.enabled = variant == 3;
    p->no_certificate = variant == 1;
    p->cohost_auth = variant & 1;
    strcpy(p->retired[0], "00112233445566778899aabbccddeeff");
    p->retired_count = 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    json_t *obj = json_loadb((const char *)data, size, 0, NULL);
    if (!obj)
        return 0;
    diag_request req;
    char err[256];
    if (json_is_object(obj) && diag_request_from_json(obj, 1700000000, &req, err, sizeof err)) {
        diag_project project;
        const diag_project *known = NULL;
        const char *key; /* the App ID a front end looks the project up by */
        size_t key_len;
        diag_request_project_key(&req, &key, &key_len);
        if (key_len == TD_CERT_LEN) {
            fuzz_project(&project, key, key_len, size % 4);
            for (size_t i = 0; size % 8 >= 7 && i < key_len; i++)
                project.app_id[i] ^= (char)(isalpha((unsigned char)project.app_id[i]) ? 0x20 : 0);
            known = &project;
        }
        diag_run(fuzz_ctx, &req, known, NULL, fuzz_result);

        json_t *tree = oracle_result_to_json(fuzz_result);
        char *dumped = tree ? json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (!dumped)
            abort(); /* the tree must always serialise */
        td_buf buf;
        td_buf_init(&buf, 1 << 24);
        if (!diag_result_json_append(&buf, fuzz_result))
            abort();
        if (buf.len != strlen(dumped) || memcmp(buf.p, dumped, buf.len) != 0)
            abort(); /* the fast writer must give jansson's bytes */
        free(dumped);
        json_decref(tree);
        json_t *summary = oracle_result_to_summary_json(fuzz_result);
        dumped = summary ? json_dumps(summary, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        td_buf_reset(&buf);
        if (!dumped || !diag_result_summary_append(&buf, fuzz_result) ||
            buf.len != strlen(dumped) || memcmp(buf.p, dumped, buf.len) != 0)
            abort(); /* the summary writer too */
        td_buf_free(&buf);
        free(dumped);
        json_decref(summary);
        diag_result_print(fuzz_null, fuzz_result, true);
    }
    json_decref(obj);
    return 0;
}

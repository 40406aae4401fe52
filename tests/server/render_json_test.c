/* render_json_test.c -- diag_result_json_append (the one JSON writer of a diagnosis: the HTTP
 * service, batch diagnose, and diag_result_to_json, which parses its bytes) writes exactly the
 * bytes of json_dumpb(oracle_result_to_json(r), JSON_COMPACT), the tree built node by node in
 * tests/common/oracle_json.c; so does diag_result_summary_append for
 * oracle_result_to_summary_json (batch --summary).
 *
 * usage: render_json_test VECTORS_DIR [REQUESTS.jsonl PROJECTS.json]
 * Cases: the public scenarios (v2/scenarios.jsonl and v2/sdk.jsonl, bad requests aside); each of
 * them again with client bytes that need care in JSON
 * (invalid UTF-8, NUL, control characters, quotes, backslashes, U+2028) put into the channel,
 * the account, the App ID and the token -- so that check details, repaired tokens, the project's
 * App ID and decoded token strings take every escaping path; and, when given, a generated set
 * (tests/diffcheck/gen.js writes one: node gen.js DIR SEED COUNT). The writer appends, so it
 * also starts from a non-empty, too-small buffer to exercise growth, and once more into a buffer
 * whose cap is one byte short, which must refuse the document whole.
 */
#include "oracle_json.h"
#include "scenario_check.h"
#include "tddiag.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    td_ctx *ctx;
    diag_result *r;
    int cases;
    int differ;
} rj_state;

typedef bool (*rj_writer)(td_buf *, const diag_result *);

/* A document one byte over the buffer's cap is refused whole: false, TD_BUF_TOOBIG, and the
 * bytes before it untouched. */
static void rj_over_cap(rj_state *st, const char *label, size_t doc_len, rj_writer write) {
    td_buf b;
    td_buf_init(&b, 3 + doc_len - 1);
    td_buf_addz(&b, "abc");
    bool ok = write(&b, st->r);
    CHECK(!ok && b.status == TD_BUF_TOOBIG && b.len == 3 && memcmp(b.p, "abc", 4) == 0,
          "%s: over the cap: ok %d, status %d, len %zu", label, ok, (int)b.status, b.len);
    td_buf_free(&b);
}

/* Compares what write appends with tree dumped compactly (tree is released); prints the first
 * differences. */
static void rj_same(rj_state *st, const char *label, json_t *tree, rj_writer write) {
    char *want = tree ? json_dumps(tree, JSON_COMPACT) : NULL;
    json_decref(tree);
    if (!want) {
        CHECK(false, "out of memory");
        return;
    }
    /* start from a short prefix in a small buffer: the writer must append and grow */
    td_buf b;
    td_buf_init(&b, 1 << 24);
    td_buf_addz(&b, "abc");
    bool ok = write(&b, st->r);
    const char *buf = b.p;
    size_t len = b.len;
    st->cases++;
    size_t wl = strlen(want);
    bool same = ok && len == 3 + wl && memcmp(buf, "abc", 3) == 0 && memcmp(buf + 3, want, wl) == 0;
    if (!same && ++st->differ <= 5) {
        size_t at = 0;
        while (at < wl && at + 3 < len && buf[3 + at] == want[at])
            at++;
        size_t from = at > 40 ? at - 40 : 0;
        int dn = (int)(len - 3 - from < 160 ? len - 3 - from : 160);
        fprintf(stderr, "%s: differs at byte %zu\n  tree:   %.160s\n  direct: %.*s\n", label, at,
                want + from, dn, buf + 3 + from);
    }
    rj_over_cap(st, label, wl, write);
    free(want);
    td_buf_free(&b);
}

/* Diagnoses q against p and compares both direct writers with their trees: the whole document
 * and the --summary subset. */
static void rj_compare(rj_state *st, const diag_request *q, const diag_project *p,
                       const char *label) {
    diag_run(st->ctx, q, p, NULL, st->r);
    rj_same(st, label, oracle_result_to_json(st->r), diag_result_json_append);
    rj_same(st, label, oracle_result_to_summary_json(st->r), diag_result_summary_append);
}

/* Byte strings a client can send that JSON output must escape or replace. */
static const char *const nasty[] = {
    "\xff",     "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf",         "\x01",
    "\x1f\x7f", "\"",   "\\",       "\n\t\r\b\f",   "\xe2\x80\xa8",     "\xf0\x9f\x98\x80", "a\0b",
    " ",        "%20",  "'",
};
#define NASTY_COUNT (sizeof nasty / sizeof nasty[0])

static size_t nasty_len(size_t k) {
    return k == 13 ? 3 : strlen(nasty[k]); /* "a\0b" holds a NUL */
}

/* buf = a[0..n) with nasty[k] inserted at pos (clamped). */
static size_t splice(char *buf, size_t cap, const char *a, size_t n, size_t pos, size_t k) {
    size_t m = nasty_len(k);
    if (pos > n)
        pos = n;
    if (n + m > cap)
        return 0;
    memcpy(buf, a, pos);
    memcpy(buf + pos, nasty[k], m);
    memcpy(buf + pos + m, a + pos, n - pos);
    return n + m;
}

static void rj_mutations(rj_state *st, const diag_request *q0, const diag_project *p,
                         const char *id, unsigned *seed) {
    char field[TD_TOKEN_TEXT_MAX + 64], label[96];
    for (int which = 0; which < 4; which++)
        for (size_t k = 0; k < NASTY_COUNT; k++) {
            diag_request q = *q0;
            *seed = *seed * 1103515245u + 12345u;
            size_t pos;
            switch (which) {
            case 0:
                if (!q.has_channel)
                    continue;
                pos = q.channel_len ? (*seed >> 8) % (q.channel_len + 1) : 0;
                q.channel_len = splice(field, sizeof field, q.channel, q.channel_len, pos, k);
                q.channel = field;
                break;
            case 1:
                q.has_account = true;
                q.has_uid = false;
                pos = q.account_len ? (*seed >> 8) % (q.account_len + 1) : 0;
                q.account_len = splice(field, sizeof field, q.account ? q.account : "",
                                       q.account ? q.account_len : 0, pos, k);
                q.account = field;
                break;
            case 2:
                pos = (*seed >> 8) % (q.app_id_len + 1);
                q.app_id_len = splice(field, sizeof field, q.app_id, q.app_id_len, pos, k);
                q.app_id = field;
                break;
            default:
                if (!q.has_token)
                    continue;
                /* at the ends (whitespace and quotes are repaired) or inside */
                pos = k % 3 == 0 ? 0 : k % 3 == 1 ? q.token_len : (*seed >> 8) % (q.token_len + 1);
                q.token_len = splice(field, sizeof field, q.token, q.token_len, pos, k);
                q.token = field;
                break;
            }
            char err[256];
            if (!diag_request_validate(&q, err, sizeof err))
                continue;
            snprintf(label, sizeof label, "%s mutation %d/%zu", id, which, k);
            rj_compare(st, &q, p, label);
        }
}

static void rj_scenarios(rj_state *st, const char *vectors) {
    json_t *scenarios = scenario_load(vectors);
    if (!CHECK(scenarios != NULL, "cannot read the scenarios"))
        return;
    unsigned seed = 1;
    int before = st->cases;
    size_t i;
    json_t *sc;
    json_array_foreach(scenarios, i, sc) {
        const char *id = json_string_value(json_object_get(sc, "id"));
        char err[256];
        diag_request q;
        diag_project proj, *pp = NULL;
        if (scenario_is_bad_request(sc))
            continue; /* refused: nothing to render */
        if (!CHECK(diag_request_from_json(json_object_get(sc, "request"), 0, &q, err, sizeof err),
                   "%s: %s", id, err))
            continue;
        json_t *pj = json_object_get(sc, "project");
        if (!json_is_null(pj) && diag_project_from_json(pj, &proj, err, sizeof err))
            pp = &proj;
        rj_compare(st, &q, pp, id);
        rj_mutations(st, &q, pp, id, &seed);
    }
    printf("scenarios and their mutations: %d cases\n", st->cases - before);
    json_decref(scenarios);
}

/* A generated set: one request per line, projects in one array (diag_run needs the project of
 * the request's App ID). */
static void rj_generated(rj_state *st, const char *requests, const char *projects) {
    json_error_t je;
    json_t *plist = json_load_file(projects, 0, &je);
    if (!CHECK(json_is_array(plist), "%s: %s", projects, je.text))
        return;
    size_t np = json_array_size(plist);
    diag_project *ps = calloc(np ? np : 1, sizeof *ps);
    for (size_t i = 0; ps && i < np; i++) {
        char err[256];
        CHECK(diag_project_from_json(json_array_get(plist, i), &ps[i], err, sizeof err), "%s", err);
    }
    FILE *f = fopen(requests, "r");
    CHECK(f != NULL, "cannot open %s", requests);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    int before = st->cases, lineno = 0;
    while (f && ps && (n = getline(&line, &lcap, f)) > 0) {
        lineno++;
        json_t *req = json_loadb(line, (size_t)n, 0, &je);
        char err[256], label[64];
        diag_request q;
        if (req && diag_request_from_json(req, 0, &q, err, sizeof err)) {
            const diag_project *pp = NULL;
            for (size_t i = 0; i < np && !pp; i++)
                if (strlen(ps[i].app_id) == q.app_id_len &&
                    memcmp(ps[i].app_id, q.app_id, q.app_id_len) == 0)
                    pp = &ps[i];
            snprintf(label, sizeof label, "%s line %d", requests, lineno);
            rj_compare(st, &q, pp, label);
        }
        json_decref(req);
    }
    printf("generated: %d cases\n", st->cases - before);
    free(line);
    if (f)
        fclose(f);
    free(ps);
    json_decref(plist);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s VECTORS_DIR [REQUESTS.jsonl PROJECTS.json]\n", argv[0]);
        return 2;
    }
    rj_state st = {.ctx = td_ctx_new(), .r = malloc(sizeof(diag_result))};
    if (!st.ctx || !st.r)
        return 2;
    rj_scenarios(&st, argv[1]);
    if (argc == 4)
        rj_generated(&st, argv[2], argv[3]);
    CHECK(st.differ == 0, "%d of %d renderings differ", st.differ, st.cases);
    td_ctx_free(st.ctx);
    free(st.r);
    return tu_report("render_json");
}

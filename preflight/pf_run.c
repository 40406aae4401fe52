/* pf_run.c -- the matrix, the run, and the findings derived from the diagnoses.
 *
 * The matrix is one list (build_matrix) of the join parameters that break token servers in
 * practice, cut to what the template can express: a uid row only when the template has {uid},
 * a role row only with {role}, expiry rows only with {expire}, channel rows only for rtc. The
 * same request is repeated at the end, each more than a second after the previous one, so that
 * an expiry computed once shows as two tokens issued at different times that expire together.
 *
 * Each answer is diagnosed (diag_run) as the client would join with the row's parameters at the
 * second the answer arrived. A finding comes from that diagnosis through three tables -- a hint
 * that names the mechanism first (hint_findings, in priority order), else the cause
 * (cause_findings), plus the warnings that matter on a server (warning_findings) -- or from the
 * checks only several answers can make (cross_checks). A row whose channel the SDK itself
 * refuses (non-ASCII) shows only what the server did with it (a hang, a closed connection), not
 * the diagnosis.
 *
 * Requests are sequential, at most PF_RATE_PER_S a second, at most max_requests; the run owns
 * its event_base, its td_ctx and the diag_result scratch (large: a decoded token).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf_internal.h"

/* ---- The matrix --------------------------------------------------------------------------- */

#define BASE_UID 42
#define BASE_ACCOUNT "pf-user"
#define BASE_CHANNEL "pf-basic"
#define DEFAULT_EXPIRE 3600
#define SHORT_EXPIRE 120
#define LONG_EXPIRE 172800

static pf_row *add_row(pf_row *rows, size_t *n, const pf_row *base, const char *label) {
    pf_row *r = &rows[(*n)++];
    *r = *base;
    r->label = label;
    return r;
}

static void set_channel(pf_row *r, const char *text) {
    r->channel_len = strlen(text);
    memcpy(r->channel, text, r->channel_len + 1);
}

/* The rows for the placeholders ph of service s; returns how many (at most PF_ROWS_MAX). */
static size_t build_matrix(unsigned ph, diag_service s, pf_row *rows) {
    bool rtc = s == DIAG_SERVICE_RTC;
    bool uid = ph & 1u << PF_PH_UID, account = ph & 1u << PF_PH_ACCOUNT;
    pf_row base = {.by_account = !uid, .uid = BASE_UID, .role = DIAG_ROLE_PUBLISHER};
    memcpy(base.account, BASE_ACCOUNT, sizeof BASE_ACCOUNT);
    if (rtc)
        set_channel(&base, BASE_CHANNEL);
    base.expire = ph & 1u << PF_PH_EXPIRE ? DEFAULT_EXPIRE : 0;
    size_t n = 0;
    add_row(rows, &n, &base, uid ? "small uid" : "user account");
    if (uid) {
        add_row(rows, &n, &base, "uid 0")->uid = 0;
        add_row(rows, &n, &base, "uid 4294967295")->uid = UINT32_MAX;
    }
    if (account && uid)
        add_row(rows, &n, &base, "user account")->by_account = true;
    if (account) {
        pf_row *r = add_row(rows, &n, &base, "numeric-looking account");
        r->by_account = true;
        memcpy(r->account, "12345", 6);
    }
    if (rtc) {
        set_channel(add_row(rows, &n, &base, "channel with spaces"), "pf channel with spaces");
        set_channel(add_row(rows, &n, &base, "channel with punctuation"),
                    "pf!#$%&()+-:;<=.>?@[]^_{}|~,");
        set_channel(add_row(rows, &n, &base, "63-byte channel"),
                    "pf-63-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        pf_row *r = add_row(rows, &n, &base, "non-ASCII channel");
        set_channel(r, "pf-caf\xc3\xa9-\xe9\xa2\x91\xe9\x81\x93");
        r->sdk_refuses = true;
    }
    if (rtc && ph & 1u << PF_PH_ROLE)
        add_row(rows, &n, &base, "subscriber")->role = DIAG_ROLE_SUBSCRIBER;
    if (ph & 1u << PF_PH_EXPIRE) {
        add_row(rows, &n, &base, "short expiry")->expire = SHORT_EXPIRE;
        add_row(rows, &n, &base, "expiry over 24 h")->expire = LONG_EXPIRE;
    }
    add_row(rows, &n, &base, "repeat, 1 s later")->min_gap_ms = PF_REPEAT_GAP_MS;
    add_row(rows, &n, &base, "repeat, 2 s later")->min_gap_ms = PF_REPEAT_GAP_MS;
    _Static_assert(14 <= PF_ROWS_MAX, "the matrix fits");
    return n;
}

/* ---- Findings of one answer --------------------------------------------------------------- */

/* A hint that names the mechanism wins over its cause; first match in this order. */
static const struct {
    diag_hint hint;
    pf_finding finding;
} hint_findings[] = {
    {DIAG_HINT_QUOTED, PF_QUOTED},
    {DIAG_HINT_JSON_ESCAPED, PF_JSON_ESCAPED},
    {DIAG_HINT_PERCENT_ENCODED, PF_PERCENT_ENCODED},
    {DIAG_HINT_URL_DECODED, PF_PLUS_LOST},
    {DIAG_HINT_AUTH_PREFIX, PF_AUTH_PREFIX},
    {DIAG_HINT_WHITESPACE, PF_WHITESPACE},
    {DIAG_HINT_TOKEN_UID_ZERO_TEXT, PF_UID_ZERO_AS_ACCOUNT},
    {DIAG_HINT_TOKEN_UID_OUT_OF_RANGE, PF_UID_OUT_OF_RANGE},
    {DIAG_HINT_EXPIRED_AT_ISSUE, PF_EXPIRY_COMPUTED_ONCE},
    {DIAG_HINT_PRIVILEGE_EXPIRE_LOOKS_RELATIVE, PF_EXPIRE_RELATIVE},
    {DIAG_HINT_PRIVILEGE_EXPIRE_IS_ROLE, PF_EXPIRE_IS_ROLE},
};

/* The finding of a rejection by its cause; PF_FINDING_COUNT: none. */
static const pf_finding cause_findings[] = {
    [DIAG_CAUSE_APP_ID_MALFORMED] = PF_REJECTED,
    [DIAG_CAUSE_CHANNEL_NAME_INVALID] = PF_REJECTED,
    [DIAG_CAUSE_TOKEN_REQUIRED] = PF_EMPTY_ANSWER,
    [DIAG_CAUSE_TOKEN_NOT_EXPECTED] = PF_REJECTED,
    [DIAG_CAUSE_TOKEN_MALFORMED] = PF_NOT_A_TOKEN,
    [DIAG_CAUSE_TOKEN_VERSION_UNSUPPORTED] = PF_REJECTED,
    [DIAG_CAUSE_APP_ID_MISMATCH] = PF_APP_ID_MISMATCH,
    [DIAG_CAUSE_SERVICE_MISSING] = PF_SERVICE_MISSING,
    [DIAG_CAUSE_CHANNEL_MISMATCH] = PF_CHANNEL_MISMATCH,
    [DIAG_CAUSE_UID_MISMATCH] = PF_UID_MISMATCH,
    [DIAG_CAUSE_SIGNATURE_INVALID] = PF_WRONG_CERTIFICATE,
    [DIAG_CAUSE_TOKEN_EXPIRED] = PF_BORN_EXPIRED,
    [DIAG_CAUSE_PRIVILEGE_EXPIRED] = PF_BORN_EXPIRED,
    [DIAG_CAUSE_OK] = PF_FINDING_COUNT,
    [DIAG_CAUSE_OK_APP_ID_ONLY] = PF_FINDING_COUNT,
    [DIAG_CAUSE_PROJECT_UNKNOWN] = PF_FINDING_COUNT,
};
_Static_assert(sizeof cause_findings / sizeof cause_findings[0] == DIAG_CAUSE_COUNT,
               "one entry per cause");

/* Warnings that say something about the server (lifetime_over_24h is what was asked for,
 * expires_soon what the short expiry row asks for). */
static const struct {
    diag_warning warning;
    pf_finding finding;
} warning_findings[] = {
    {DIAG_WARN_ISSUED_IN_FUTURE, PF_CLOCK_AHEAD},
    {DIAG_WARN_EXPIRE_LOOKS_ABSOLUTE, PF_EXPIRE_ABSOLUTE},
    {DIAG_WARN_PUBLISH_PRIVILEGE_MISSING, PF_PUBLISHER_CANNOT_PUBLISH},
};

static const pf_finding outcome_findings[] = {
    [PF_OUT_NOT_SENT] = PF_FINDING_COUNT,
    [PF_OUT_ANSWERED] = PF_FINDING_COUNT,
    [PF_OUT_TIMEOUT] = PF_TIMEOUT,
    [PF_OUT_CLOSED] = PF_CONNECTION_CLOSED,
    [PF_OUT_TOO_LARGE] = PF_ANSWER_TOO_LARGE,
    [PF_OUT_NOT_HTTP] = PF_NOT_HTTP,
};

#define BIT(f) ((uint64_t)1 << (f))

/* The rtc privileges (bit n for privilege n, 1..4) of the token the join matched. */
static uint32_t rtc_privileges(const pf_row *row, const td_token *t) {
    uint32_t bits = 0;
    if (td_is_006(t)) {
        for (uint16_t i = 0; i < t->privilege_count_006; i++) {
            uint16_t id = t->privileges[t->first_privilege_006 + i].id;
            bits |= id >= 1 && id <= 4 ? 1u << id : 0;
        }
        return bits;
    }
    for (uint16_t s = 0; s < t->service_count; s++) {
        const td_service *sv = &t->services[s];
        if (sv->type != 1 || sv->a.len != row->channel_len ||
            memcmp(sv->a.ptr, row->channel, row->channel_len) != 0)
            continue;
        for (uint16_t i = 0; i < sv->privilege_count; i++) {
            uint16_t id = t->privileges[sv->first_privilege + i].id;
            bits |= id >= 1 && id <= 4 ? 1u << id : 0;
        }
    }
    return bits;
}

/* Keeps what the report needs of the diagnosis in row, and its findings. */
static void take_diagnosis(pf_row *row, const diag_result *res) {
    row->diagnosed = true;
    row->verdict = res->verdict;
    row->cause = res->cause;
    row->code = diag_result_code(res);
    row->hints = res->hints;
    row->warnings = res->warnings;
    if (res->token_decoded) {
        const td_token *t = &res->token;
        row->has_times = true;
        row->v006 = td_is_006(t);
        row->issue_ts = row->v006 ? (int64_t)t->ts - TD_LIFETIME_MAX : (int64_t)t->issue_ts;
        row->expires_at = res->has_expiry ? res->expires_at : td_token_expiry(t);
        row->privileges = rtc_privileges(row, t);
    }
    if (row->sdk_refuses)
        return;
    if (res->verdict == DIAG_REJECTED) {
        pf_finding f = cause_findings[res->cause];
        for (size_t i = 0; i < sizeof hint_findings / sizeof *hint_findings; i++)
            if (res->hints & 1u << hint_findings[i].hint) {
                f = hint_findings[i].finding;
                break;
            }
        row->findings |= f < PF_FINDING_COUNT ? BIT(f) : 0;
    }
    for (size_t i = 0; i < sizeof warning_findings / sizeof *warning_findings; i++)
        if (res->warnings & 1u << warning_findings[i].warning)
            row->findings |= BIT(warning_findings[i].finding);
}

/* The token in an answer body: the whole body, or the string at the dotted path field. */
static pf_finding extract_token(const char *field, const char *body, size_t len, char **tok,
                                size_t *tok_len, json_t **doc) {
    if (!field) {
        *tok = (char *)body;
        *tok_len = len;
        return PF_FINDING_COUNT;
    }
    if (!(*doc = json_loadb(body, len, 0, NULL)))
        return PF_NOT_JSON;
    json_t *v = *doc;
    for (const char *p = field; v && *p;) {
        size_t n = strcspn(p, ".");
        char key[256];
        if (n >= sizeof key)
            return PF_TOKEN_FIELD_MISSING;
        memcpy(key, p, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        p += n + (p[n] == '.');
    }
    if (!json_is_string(v))
        return PF_TOKEN_FIELD_MISSING;
    *tok = (char *)json_string_value(v);
    *tok_len = json_string_length(v);
    return PF_FINDING_COUNT;
}

/* Judges an answer: transport, the token's place in it, then the diagnosis. */
static void analyse(const pf_config *c, const diag_project *project, td_ctx *ctx, diag_result *res,
                    pf_row *row, const pf_answer *a) {
    row->outcome = a->outcome;
    row->status = a->status;
    row->elapsed_ms = a->elapsed_ms;
    pf_finding f = outcome_findings[a->outcome];
    if (f == PF_FINDING_COUNT && (a->status < 200 || a->status > 299))
        f = row->sdk_refuses ? PF_FINDING_COUNT : PF_HTTP_ERROR;
    if (f != PF_FINDING_COUNT || a->outcome != PF_OUT_ANSWERED || a->status < 200 ||
        a->status > 299) {
        row->findings |= f < PF_FINDING_COUNT ? BIT(f) : 0;
        return;
    }
    char *tok = NULL;
    size_t tok_len = 0;
    json_t *doc = NULL;
    f = extract_token(c->token_field, a->body ? a->body : "", a->body_len, &tok, &tok_len, &doc);
    if (f == PF_FINDING_COUNT && tok_len == 0)
        f = PF_EMPTY_ANSWER;
    diag_request req = {
        .has_token = true,
        .token = tok,
        .token_len = tok_len,
        .app_id = c->app_id,
        .app_id_len = strlen(c->app_id),
        .service = c->service,
        .has_channel = c->service == DIAG_SERVICE_RTC,
        .channel = row->channel,
        .channel_len = row->channel_len,
        .has_uid = !row->by_account,
        .uid = row->uid,
        .has_account = row->by_account,
        .account = row->account,
        .account_len = strlen(row->account),
        .role = row->role,
        .client = DIAG_CLIENT_NATIVE,
        .at = row->received_at,
    };
    char err[256];
    if (f == PF_FINDING_COUNT && !diag_request_validate(&req, err, sizeof err))
        f = PF_NOT_A_TOKEN; /* the only field from the server: the token (too long) */
    if (f == PF_FINDING_COUNT) {
        diag_run(ctx, &req, project, NULL, res);
        take_diagnosis(row, res);
    } else if (!row->sdk_refuses) {
        row->findings |= BIT(f);
    }
    json_decref(doc);
}

/* ---- Checks across answers ---------------------------------------------------------------- */

static bool plain(const pf_row *r) {
    return r->has_times && !r->findings && !r->sdk_refuses;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median 007 issue_ts - received_at, and clock_behind beyond the diagnosis' slack. */
static void clock_offset(pf_report *r) {
    int64_t d[PF_ROWS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].has_times && !r->rows[i].v006)
            d[n++] = r->rows[i].issue_ts - r->rows[i].received_at;
    if (!n)
        return;
    qsort(d, n, sizeof *d, cmp_i64);
    r->has_clock_offset = true;
    r->clock_offset = d[n / 2];
    if (r->clock_offset < -PF_CLOCK_SLACK)
        for (size_t i = 0; i < r->nrows; i++)
            if (r->rows[i].has_times && !r->rows[i].v006)
                r->rows[i].findings |= BIT(PF_CLOCK_BEHIND);
}

static void cross_checks(pf_report *r) {
    const uint64_t explained = BIT(PF_EXPIRE_RELATIVE) | BIT(PF_EXPIRE_IS_ROLE);
    pf_row *base = &r->rows[0];
    for (size_t i = 1; i < r->nrows; i++) {
        pf_row *x = &r->rows[i];
        /* Tokens issued at different times that expire at the same moment, whatever expiry
         * was asked (unless a constant expiry is already explained). */
        if (base->has_times && x->has_times && !((base->findings | x->findings) & explained) &&
            x->received_at != base->received_at && x->expires_at == base->expires_at &&
            x->issue_ts != base->issue_ts) {
            x->findings |= BIT(PF_EXPIRY_COMPUTED_ONCE);
            base->findings |= BIT(PF_EXPIRY_COMPUTED_ONCE);
        }
        /* Co-host authentication: an audience token must not carry publish privileges. */
        if (r->cohost_auth && x->role == DIAG_ROLE_SUBSCRIBER && plain(base) && x->has_times &&
            (x->privileges & (1u << 2 | 1u << 3 | 1u << 4)) && x->privileges == base->privileges) {
            x->findings |= BIT(PF_ROLE_IGNORED);
            base->findings |= BIT(PF_ROLE_IGNORED);
        }
    }
    /* The lifetime asked for (cut to 24 h), against issue to expiry; 006's issue time is
     * estimated (ts - 24 h), so a few seconds of slack there. */
    for (size_t i = 0; r->has_expire && i < r->nrows; i++) {
        pf_row *x = &r->rows[i];
        int64_t want = x->expire > TD_LIFETIME_MAX ? TD_LIFETIME_MAX : x->expire;
        int64_t got = x->expires_at - x->issue_ts, slack = x->v006 ? 5 : 0;
        if (plain(x) && (got - want > slack || want - got > slack))
            x->findings |= BIT(PF_EXPIRE_IGNORED);
    }
    clock_offset(r);
    for (size_t i = 0; i < r->nrows; i++)
        for (int f = 0; f < PF_FINDING_COUNT; f++)
            if (r->rows[i].findings & BIT(f)) {
                r->findings |= BIT(f);
                r->rows_of[f] |= 1u << i;
            }
}

/* ---- The run ------------------------------------------------------------------------------ */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The row's placeholder values, into the scratch text. */
static void row_values(const pf_config *c, const pf_row *row, char uid[16], char expire[16],
                       pf_values *v) {
    memset(v, 0, sizeof *v);
    snprintf(uid, 16, "%u", row->uid);
    snprintf(expire, 16, "%u", row->expire ? row->expire : DEFAULT_EXPIRE);
    const char *values[PF_PH_COUNT] = {
        [PF_PH_CHANNEL] = row->channel,
        [PF_PH_UID] = row->by_account ? "" : uid,
        [PF_PH_ACCOUNT] = row->by_account ? row->account : "",
        [PF_PH_ROLE] = c->role_word[row->role],
        [PF_PH_EXPIRE] = expire,
        [PF_PH_SERVICE] = c->service == DIAG_SERVICE_RTC ? "rtc" : "rtm",
    };
    for (int i = 0; i < PF_PH_COUNT; i++) {
        v->value[i] = values[i];
        v->len[i] = strlen(values[i]);
    }
}

/* Sends row's request and judges the answer. */
static void run_row(const pf_config *c, const pf_url *u, const diag_project *project,
                    struct event_base *base, td_ctx *ctx, diag_result *res, pf_row *row) {
    char uid[16], expire[16];
    pf_values v;
    row_values(c, row, uid, expire, &v);
    td_buf target, body;
    td_buf_init(&target, 2 * PF_TEMPLATE_MAX);
    td_buf_init(&body, 2 * PF_TEMPLATE_MAX);
    bool ok = (u->path[0] == '/' || td_buf_addc(&target, '/')) &&
              pf_template_expand(&target, u->path, &v, true) && td_buf_addc(&target, '\0') &&
              (!c->body || pf_template_expand(&body, c->body, &v, false));
    pf_answer a = {.outcome = PF_OUT_CLOSED};
    if (ok)
        pf_http_send(base, u, c->post, target.p, body.p, body.len, c->headers, c->timeout_s, &a);
    row->received_at = (int64_t)time(NULL);
    analyse(c, project, ctx, res, row, &a);
    free(a.body);
    td_buf_free(&body);
    td_buf_free(&target);
}

bool pf_run(const pf_config *c, const diag_project *project, pf_progress_fn progress, void *arg,
            pf_report *r, char *err, size_t cap) {
    memset(r, 0, sizeof *r);
    pf_url u;
    if (!pf_url_split(c->url, &u, err, cap))
        return false;
    if (!project) {
        snprintf(err, cap, "--app-id %s: no project configuration", c->app_id);
        return false;
    }
    unsigned ph = pf_template_placeholders(c->url) | pf_template_placeholders(c->body);
    snprintf(r->url, sizeof r->url, "%s", c->url);
    snprintf(r->app_id, sizeof r->app_id, "%s", c->app_id);
    r->service = c->service;
    r->cohost_auth = project->cohost_auth;
    r->has_expire = ph & 1u << PF_PH_EXPIRE;
    r->has_role = ph & 1u << PF_PH_ROLE;
    r->nrows = build_matrix(ph, c->service, r->rows);
    r->started_at = (int64_t)time(NULL);
    struct event_base *base = event_base_new();
    td_ctx *ctx = base ? td_ctx_new() : NULL;
    diag_result *res = ctx ? malloc(sizeof *res) : NULL;
    bool ok = res != NULL;
    if (!ok)
        snprintf(err, cap, "cannot start: out of memory");
    int64_t start = mono_ms(), last = start - 1000;
    for (size_t i = 0; ok && i < r->nrows && i < c->max_requests; i++) {
        unsigned gap = 1000 / PF_RATE_PER_S;
        if (r->rows[i].min_gap_ms > gap)
            gap = r->rows[i].min_gap_ms;
        sleep_ms(last + gap - mono_ms());
        last = mono_ms();
        run_row(c, &u, project, base, ctx, res, &r->rows[i]);
        r->sent++;
        r->reached = r->reached || r->rows[i].outcome == PF_OUT_ANSWERED ||
                     r->rows[i].outcome == PF_OUT_TOO_LARGE ||
                     r->rows[i].outcome == PF_OUT_NOT_HTTP;
        if (progress &&
            !progress(i + 1, r->nrows < c->max_requests ? r->nrows : c->max_requests, arg))
            break;
    }
    if (ok)
        cross_checks(r);
    int64_t ms = mono_ms() - start;
    r->duration_ms = ms < 0 ? 0 : (unsigned)ms;
    if (res)
        explicit_bzero(res, sizeof *res);
    free(res);
    td_ctx_free(ctx);
    if (base)
        event_base_free(base);
    return ok;
}

int pf_report_exit(const pf_report *r) {
    return !r->reached ? 2 : r->findings ? 1 : 0;
}

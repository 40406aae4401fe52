/* srv_mint.c -- POST /v1/tokens: build a token for a stored project with its primary
 * certificate, with the inputs and defaults of `tokendoctor mint` (interfaces.md):
 *   version "007"|"006" (default "007"), app_id (required), service rtc|rtm (default rtc),
 *   channel (required for rtc), uid | account, role publisher|subscriber (default publisher),
 *   expire (default 3600), privilege_expire (default: expire), issue_ts (default now),
 *   salt (default random, 1..99999999).
 * This file reads and checks the request; the token itself is built by diag_mint (tddiag.h),
 * as for `tokendoctor mint`.
 *
 * The answer carries the token and the certificate's fingerprint, never the certificate.
 */
#include "srv_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *version;
    diag_service service;
    const char *channel;
    size_t channel_len;
    bool has_uid, has_account;
    uint64_t uid;
    const char *account;
    size_t account_len;
    diag_role role;
    uint64_t expire, privilege_expire, issue_ts, salt;
    bool has_salt;
} srv_mint_input;

/* Optional unsigned integer field in [0, max]. */
static bool srv_opt_uint(json_t *body, const char *field, uint64_t max, bool *present,
                         uint64_t *out, char *err, size_t cap) {
    json_t *v = json_object_get(body, field);
    *present = v != NULL && !json_is_null(v);
    if (!*present)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        snprintf(err, cap, "%s: must be an integer in 0..%llu", field, (unsigned long long)max);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Optional string field; *s NULL when absent. */
static bool srv_opt_string(json_t *body, const char *field, const char **s, size_t *len, char *err,
                           size_t cap) {
    json_t *v = json_object_get(body, field);
    *s = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        snprintf(err, cap, "%s: must be a string", field);
        return false;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return true;
}

static bool srv_mint_parse(json_t *body, srv_mint_input *in, char *err, size_t cap) {
    memset(in, 0, sizeof *in);
    const char *s;
    size_t len;
    if (!srv_opt_string(body, "version", &s, &len, err, cap))
        return false;
    in->version = s ? s : "007";
    if (strcmp(in->version, "007") != 0 && strcmp(in->version, "006") != 0) {
        snprintf(err, cap, "version: must be \"007\" or \"006\"");
        return false;
    }
    if (!srv_opt_string(body, "service", &s, &len, err, cap))
        return false;
    if (s && strcmp(s, "rtm") == 0)
        in->service = DIAG_SERVICE_RTM;
    else if (s && strcmp(s, "rtc") != 0) {
        snprintf(err, cap, "service: must be \"rtc\" or \"rtm\"");
        return false;
    }
    if (!srv_opt_string(body, "role", &s, &len, err, cap))
        return false;
    if (s && strcmp(s, "subscriber") == 0)
        in->role = DIAG_ROLE_SUBSCRIBER;
    else if (s && strcmp(s, "publisher") != 0) {
        snprintf(err, cap, "role: must be \"publisher\" or \"subscriber\"");
        return false;
    }
    if (!srv_opt_string(body, "channel", &in->channel, &in->channel_len, err, cap) ||
        !srv_opt_string(body, "account", &in->account, &in->account_len, err, cap))
        return false;
    in->has_account = in->account != NULL;
    if (in->has_account && in->account_len > DIAG_ACCOUNT_MAX) {
        snprintf(err, cap, "account: longer than %d bytes", DIAG_ACCOUNT_MAX);
        return false;
    }
    if (in->service == DIAG_SERVICE_RTC && (!in->channel || in->channel_len == 0)) {
        snprintf(err, cap, "channel: required for rtc");
        return false;
    }
    if (in->channel && in->channel_len > 65535) {
        snprintf(err, cap, "channel: too long");
        return false;
    }
    bool present;
    if (!srv_opt_uint(body, "uid", UINT32_MAX, &in->has_uid, &in->uid, err, cap))
        return false;
    if (in->has_uid && in->has_account) {
        snprintf(err, cap, "uid, account: give one of them, not both");
        return false;
    }
    in->expire = 3600;
    if (!srv_opt_uint(body, "expire", UINT32_MAX, &present, &in->expire, err, cap))
        return false;
    in->privilege_expire = in->expire;
    if (!srv_opt_uint(body, "privilege_expire", UINT32_MAX, &present, &in->privilege_expire, err,
                      cap))
        return false;
    in->issue_ts = (uint64_t)srv_now_s();
    if (!srv_opt_uint(body, "issue_ts", UINT32_MAX, &present, &in->issue_ts, err, cap))
        return false;
    if (!srv_opt_uint(body, "salt", UINT32_MAX, &in->has_salt, &in->salt, err, cap))
        return false;
    if (strcmp(in->version, "006") == 0 && (in->issue_ts + in->expire > UINT32_MAX ||
                                            in->issue_ts + in->privilege_expire > UINT32_MAX)) {
        snprintf(err, cap, "expire: issue_ts + expire must fit in 32 bits for 006");
        return false;
    }
    return true;
}

int srv_mint(srv_worker *w, json_t *body, json_t **out, char *err, size_t err_cap,
             const char **err_code) {
    *out = NULL;
    *err_code = "bad_request";
    json_t *app = json_object_get(body, "app_id");
    if (!app) {
        snprintf(err, err_cap, "app_id: required");
        return 400;
    }
    if (!json_is_string(app) || !diag_is_hex32(json_string_value(app), json_string_length(app))) {
        snprintf(err, err_cap, "app_id: must be 32 hex characters");
        return 400;
    }
    srv_mint_input in;
    if (!srv_mint_parse(body, &in, err, err_cap))
        return 400;

    bool failed;
    const diag_project *p = srv_project_lookup(w, json_string_value(app), TD_CERT_LEN, &failed);
    if (failed) {
        *err_code = "internal_error";
        snprintf(err, err_cap, "the store did not answer: %s", tdb_errmsg(w->db));
        return 500;
    }
    if (!p) {
        *err_code = "not_found";
        snprintf(err, err_cap, "no project with this App ID");
        return 404;
    }
    if (!p->primary.present) {
        *err_code = "no_certificate";
        snprintf(err, err_cap, "the project has no primary certificate to sign with");
        return 409;
    }

    char uid_text[16];
    const char *uid = "";
    size_t uid_len = 0;
    if (in.has_account) {
        uid = in.account;
        uid_len = in.account_len;
    } else if (in.has_uid && in.uid != 0) {
        uid_len = (size_t)snprintf(uid_text, sizeof uid_text, "%llu", (unsigned long long)in.uid);
        uid = uid_text;
    }

    diag_mint_input mi = {
        .v006 = strcmp(in.version, "006") == 0,
        .service = in.service,
        .subscriber = in.role == DIAG_ROLE_SUBSCRIBER,
        .app_id = p->app_id,
        .channel = in.channel,
        .channel_len = in.channel_len,
        .uid = uid,
        .uid_len = uid_len,
        .issue_ts = (uint32_t)in.issue_ts,
        .expire = (uint32_t)in.expire,
        .privilege_expire = (uint32_t)in.privilege_expire,
        .has_salt = in.has_salt,
        .salt = (uint32_t)in.salt,
    };
    td_token *spec = &w->result->token; /* scratch: the result buffer is free between requests */
    char token[TD_TOKEN_TEXT_MAX + 1];
    const char *cert = p->primary.certificate;
    size_t len = diag_mint(w->td, &mi, cert, spec, token, sizeof token);
    if (len == 0) {
        *err_code = "bad_request";
        snprintf(err, err_cap, "the token cannot be built from these inputs (too long?)");
        return 400;
    }
    char fp[9];
    td_fingerprint(cert, TD_CERT_LEN, fp);
    *out = json_pack("{s:s%,s:s,s:s,s:s,s:I,s:I}", "token", token, len, "version", in.version,
                     "app_id", p->app_id, "certificate_fingerprint", fp, "issue_ts",
                     (json_int_t)in.issue_ts, "expires_at", (json_int_t)td_token_expiry(spec));
    if (!*out) {
        *err_code = "internal_error";
        snprintf(err, err_cap, "out of memory");
        return 500;
    }
    return 200;
}

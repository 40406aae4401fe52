/* srv_mint.c -- POST /v1/tokens: build a token for a stored project with its primary
 * certificate, with the inputs and defaults of `tokendoctor mint` (interfaces.md):
 *   version "007"|"006" (default "007"), app_id (required), service rtc|rtm (default rtc),
 *   channel (required for rtc), uid | account, role publisher|subscriber (default publisher),
 *   expire (default 3600), privilege_expire (default: expire), issue_ts (default now),
 *   salt (default random, 1..99999999).
 * This file reads the body's fields by type; their defaults and rules are diag_mint_prepare's
 * and the token is built by diag_mint (tddiag.h), both shared with `tokendoctor mint`, so the two
 * accept and refuse the same inputs.
 *
 * The answer carries the token and the certificate's fingerprint, never the certificate.
 */
#include "srv_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Optional non-negative integer field; the range is diag_mint_prepare's to judge. */
static bool srv_opt_uint(json_t *body, const char *field, bool *present, uint64_t *out, char *err,
                         size_t cap) {
    json_t *v = json_object_get(body, field);
    *present = v != NULL && !json_is_null(v);
    if (!*present)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, cap, "%s: must be an integer in 0..4294967295", field);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Optional string field without NUL bytes; *s NULL when absent. */
static bool srv_opt_string(json_t *body, const char *field, const char **s, size_t *len, char *err,
                           size_t cap) {
    json_t *v = json_object_get(body, field);
    *s = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, cap, "%s: must be a string", field);
        return false;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return true;
}

/* The body's fields, read by type; the rules are diag_mint_prepare's, shared with the CLI. */
static bool srv_mint_read(json_t *body, diag_mint_request *rq, char *err, size_t cap) {
    memset(rq, 0, sizeof *rq);
    size_t unused;
    return srv_opt_string(body, "version", &rq->version, &unused, err, cap) &&
           srv_opt_string(body, "service", &rq->service, &unused, err, cap) &&
           srv_opt_string(body, "role", &rq->role, &unused, err, cap) &&
           srv_opt_string(body, "channel", &rq->channel, &rq->channel_len, err, cap) &&
           srv_opt_string(body, "account", &rq->account, &rq->account_len, err, cap) &&
           srv_opt_uint(body, "uid", &rq->has_uid, &rq->uid, err, cap) &&
           srv_opt_uint(body, "expire", &rq->has_expire, &rq->expire, err, cap) &&
           srv_opt_uint(body, "privilege_expire", &rq->has_privilege_expire, &rq->privilege_expire,
                        err, cap) &&
           srv_opt_uint(body, "issue_ts", &rq->has_issue_ts, &rq->issue_ts, err, cap) &&
           srv_opt_uint(body, "salt", &rq->has_salt, &rq->salt, err, cap);
}

int srv_mint(srv_worker *w, const srv_job *fill, json_t *body, json_t **out, char *err,
             size_t err_cap, const char **err_code) {
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
    diag_mint_request rq;
    diag_mint_input mi;
    char uid_buf[16];
    if (!srv_mint_read(body, &rq, err, err_cap) ||
        !diag_mint_prepare(&rq, srv_now_s(), &mi, uid_buf, err, err_cap))
        return 400;

    srv_lookup how;
    const diag_project *p = srv_project_lookup(w, fill, json_string_value(app), TD_CERT_LEN, &how);
    if (how == SRV_LOOKUP_NOT_CACHED) {
        /* Held when the route looked, evicted by another worker since: rare; retry. */
        *err_code = "store_busy";
        snprintf(err, err_cap, "the project left the cache meanwhile; retry");
        return 503;
    }
    if (how == SRV_LOOKUP_FAILED) {
        *err_code = "internal_error";
        snprintf(err, err_cap, "the store did not answer: %s", srv_lookup_error(w, fill));
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

    mi.app_id = p->app_id;
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
    *out = json_pack("{s:s%,s:s,s:s,s:s,s:I,s:I}", "token", token, len, "version",
                     mi.v006 ? "006" : "007", "app_id", p->app_id, "certificate_fingerprint", fp,
                     "issue_ts", (json_int_t)mi.issue_ts, "expires_at",
                     (json_int_t)td_token_expiry(spec));
    if (!*out) {
        *err_code = "internal_error";
        snprintf(err, err_cap, "out of memory");
        return 500;
    }
    return 200;
}

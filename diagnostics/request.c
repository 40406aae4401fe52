/* request.c -- a diagnosis request: validation and parsing from JSON.
 *
 * Design
 * ------
 * A request is bad (HTTP 400, CLI exit 64) only for what diagnosis.md "Inputs" says: uid and
 * account together, a uid out of range, no app_id, no channel for rtc -- plus the limits every
 * front end needs (an account over 255 bytes, a token over TD_TOKEN_TEXT_MAX) and wrong JSON
 * types. A present but malformed App ID (even "") is NOT bad: it is diagnosed
 * (app_id_malformed), since that is what a support engineer needs to hear.
 *
 * Every message starts with the name of the offending field ("uid: must be an integer in
 * 0..4294967295") so that the CLI, the HTTP service and batch lines all say the same thing.
 * Messages never echo the value (it may be large or binary), only its constraint.
 *
 * Parsing borrows: the strings in the diag_request point into the jansson object.
 */
#include "diag_internal.h"

#include <string.h>

bool diag_request_validate(const diag_request *req, char *err, size_t err_cap) {
    if (!req->app_id)
        return diag_fail(err, err_cap, "app_id: required");
    if (req->has_uid && req->has_account)
        return diag_fail(err, err_cap, "uid, account: give either uid or account, not both");
    if (req->has_account && req->account_len > DIAG_ACCOUNT_MAX)
        return diag_fail(err, err_cap, "account: longer than %d bytes", DIAG_ACCOUNT_MAX);
    if (req->service == DIAG_SERVICE_RTC && (!req->has_channel || req->channel_len == 0))
        return diag_fail(err, err_cap, "channel: required (non-empty) for service rtc");
    if (req->has_token && req->token_len > TD_TOKEN_TEXT_MAX)
        return diag_fail(err, err_cap, "token: longer than %d bytes", TD_TOKEN_TEXT_MAX);
    if ((unsigned)req->platform > DIAG_PLATFORM_WEB)
        return diag_fail(err, err_cap, "platform: unknown");
    if ((unsigned)req->service > DIAG_SERVICE_RTM)
        return diag_fail(err, err_cap, "service: must be rtc or rtm");
    if ((unsigned)req->role > DIAG_ROLE_SUBSCRIBER)
        return diag_fail(err, err_cap, "role: must be publisher or subscriber");
    return true;
}

/* A string field: absent or null leaves *present false; a non-string is an error. */
static bool get_string(json_t *obj, const char *key, bool *present, const char **p, size_t *n,
                       char *err, size_t cap) {
    json_t *v = json_object_get(obj, key);
    *present = false;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return diag_fail(err, cap, "%s: must be a string", key);
    *present = true;
    *p = json_string_value(v);
    *n = json_string_length(v);
    return true;
}

/* An enum-like string field parsed by parse(); absent or null keeps the default. */
static bool get_choice(json_t *obj, const char *key, const char *allowed,
                       bool (*parse)(const char *, void *), void *out, char *err, size_t cap) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        !parse(json_string_value(v), out))
        return diag_fail(err, cap, "%s: must be one of %s", key, allowed);
    return true;
}

static bool parse_platform(const char *s, void *out) {
    return diag_platform_parse(s, out);
}
static bool parse_service(const char *s, void *out) {
    return diag_service_parse(s, out);
}
static bool parse_role(const char *s, void *out) {
    return diag_role_parse(s, out);
}

bool diag_request_from_json(json_t *obj, int64_t now, diag_request *req, char *err,
                            size_t err_cap) {
    memset(req, 0, sizeof *req);
    req->at = now;
    if (!json_is_object(obj))
        return diag_fail(err, err_cap, "request: must be a JSON object");

    bool present;
    if (!get_string(obj, "app_id", &present, &req->app_id, &req->app_id_len, err, err_cap))
        return false;
    if (!present)
        return diag_fail(err, err_cap, "app_id: required");
    if (!get_string(obj, "token", &req->has_token, &req->token, &req->token_len, err, err_cap))
        return false;
    if (!get_string(obj, "channel", &req->has_channel, &req->channel, &req->channel_len, err,
                    err_cap))
        return false;
    if (!get_string(obj, "account", &req->has_account, &req->account, &req->account_len, err,
                    err_cap))
        return false;

    json_t *uid = json_object_get(obj, "uid");
    if (uid && !json_is_null(uid)) {
        if (!json_is_integer(uid) || json_integer_value(uid) < 0 ||
            json_integer_value(uid) > (json_int_t)UINT32_MAX)
            return diag_fail(err, err_cap, "uid: must be an integer in 0..4294967295");
        req->has_uid = true;
        req->uid = (uint32_t)json_integer_value(uid);
    }
    json_t *at = json_object_get(obj, "at");
    if (at && !json_is_null(at)) {
        if (!json_is_integer(at))
            return diag_fail(err, err_cap, "at: must be an integer (Unix time in seconds)");
        req->at = (int64_t)json_integer_value(at);
    }
    if (!get_choice(obj, "service", "rtc, rtm", parse_service, &req->service, err, err_cap) ||
        !get_choice(obj, "role", "publisher, subscriber", parse_role, &req->role, err, err_cap) ||
        !get_choice(obj, "platform",
                    "native, objc, web, android, windows, linux, unity, electron, flutter, "
                    "react-native, cocos, ios, macos",
                    parse_platform, &req->platform, err, err_cap))
        return false;
    return diag_request_validate(req, err, err_cap);
}
